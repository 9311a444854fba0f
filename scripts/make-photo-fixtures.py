#!/usr/bin/env python3
"""Writes the PNG/JPEG decoder fixtures and what Pillow decodes them to.

    .venv-bench/bin/python scripts/make-photo-fixtures.py [ORL_DIR]

Into Tests/FaceTwinTests/Fixtures/codecs/:
  <name>.png/.jpg/.webp     small images made from ORL faces (a few KB each)
  <name>.L                  Pillow's exif_transpose(open(f)).convert("L"), raw bytes
  <name>.RGB                ... .convert("RGB"), raw interleaved bytes (colour fixtures)
  manifest.json             one entry per fixture: file, size after orientation,
                            whether it is colour, EXIF orientation, whether the
                            format is lossless (PNG, lossless WebP), sha256 of .L,
                            and "expect": "pillow" (compare with Pillow) or
                            "rounded16" (16-bit: .L holds round(v*255/65535), which
                            FaceTwin uses and Pillow does not; see ImageDecoder).
The ORL face s1/1 also goes out as face_s1_1.png and face_s1_1_q95.jpg, so a test can
embed the same face as PGM (ORL's own file), PNG and JPEG.
"""
import hashlib
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "data", "orl")
OUT = os.path.join(ROOT, "Tests", "FaceTwinTests", "Fixtures", "codecs")


def orl(identity, n):
    return Image.open(os.path.join(ORL, f"s{identity}", f"{n}.pgm")).convert("L")


def colour_face():
    """A 46x56 colour image from three ORL faces (one per channel) plus a tint gradient."""
    r, g, b = (np.asarray(orl(i, 1).resize((46, 56), Image.BILINEAR), dtype=np.int32) for i in (1, 2, 3))
    ramp = np.linspace(0, 60, 46, dtype=np.int32)[None, :]
    rgb = np.stack([np.clip(r + ramp, 0, 255), g, np.clip(b - ramp, 0, 255)], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png16(samples, colour_type):
    """A 16-bit PNG (Pillow cannot write 16-bit RGB) from a (h, w[, 3]) uint16 array."""
    h, w = samples.shape[:2]
    rows = samples.reshape(h, -1).astype(">u2").tobytes()
    stride = len(rows) // h
    raw = b"".join(b"\x00" + rows[y * stride:(y + 1) * stride] for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def exif_with_orientation(value):
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    face = orl(1, 1)                       # 92x112 gray
    colour = colour_face()                 # 46x56 RGB
    small = face.resize((46, 56), Image.BILINEAR)
    files = {}

    def save(name, image, **kw):
        buf = io.BytesIO()
        image.save(buf, **kw)
        files[name] = buf.getvalue()

    save("face_s1_1.png", face, format="PNG")
    save("face_s1_1_q95.jpg", face, format="JPEG", quality=95)
    save("colour.png", colour, format="PNG")
    save("colour_q90.jpg", colour, format="JPEG", quality=90)          # 4:2:0 chroma
    save("colour_q95_444.jpg", colour, format="JPEG", quality=95, subsampling=0)
    save("colour_progressive.jpg", colour, format="JPEG", quality=90, progressive=True)
    save("colour_cmyk.jpg", colour.convert("CMYK"), format="JPEG", quality=95)
    save("colour_rgba.png", Image.merge("RGBA", (*colour.split(), small)), format="PNG")
    save("colour_palette.png", colour.quantize(64), format="PNG")
    save("colour_palette_trns.png", colour.quantize(64), format="PNG", transparency=0)  # palette + tRNS
    save("gray_alpha.png", Image.merge("LA", (small, colour.getchannel("G"))), format="PNG")
    save("colour_exif6_png.png", colour, format="PNG", exif=exif_with_orientation(6))  # eXIf chunk
    # WebP (Pillow's libwebp): lossless must match exactly, lossy is libwebp's own decoding.
    save("colour_lossless.webp", colour, format="WEBP", lossless=True)
    save("colour_q80.webp", colour, format="WEBP", quality=80)
    save("face_s1_1_q90.webp", face, format="WEBP", quality=90)
    save("colour_rgba_lossy.webp", Image.merge("RGBA", (*colour.split(), small)), format="WEBP", quality=85)
    save("colour_exif8_webp.webp", colour, format="WEBP", lossless=True, exif=exif_with_orientation(8))
    save("bilevel_1bit.png", small.convert("1"), format="PNG")
    for o in (3, 6, 8):
        save(f"colour_exif{o}.jpg", colour, format="JPEG", quality=95, exif=exif_with_orientation(o))
    save("face_exif6.jpg", small, format="JPEG", quality=95, exif=exif_with_orientation(6))
    rng = np.random.default_rng(7)
    g16 = (np.asarray(small, dtype=np.uint32) * 257 + rng.integers(0, 257, (56, 46))).astype(np.uint16)
    rgb16 = (np.asarray(colour, dtype=np.uint32) * 257 + rng.integers(0, 257, (56, 46, 3))).astype(np.uint16)
    files["gray16.png"] = png16(g16, 0)
    files["rgb16.png"] = png16(rgb16, 2)

    cases = []
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        stem = os.path.splitext(name)[0]
        im = Image.open(io.BytesIO(data))
        orientation = im.getexif().get(0x0112, 1)
        im = ImageOps.exif_transpose(im)
        colour_file = im.mode not in ("L", "LA", "1", "I;16", "I")
        expect = "pillow"
        if name == "gray16.png":
            gray = ((g16.astype(np.uint64) * 255 + 32767) // 65535).astype(np.uint8)
            rgb = None
            expect = "rounded16"
        elif name == "rgb16.png":
            rgb = ((rgb16.astype(np.uint64) * 255 + 32767) // 65535).astype(np.uint8)
            r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
            gray = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)
            expect = "rounded16"
        else:
            gray = np.asarray(im.convert("L"))
            rgb = np.asarray(im.convert("RGB")) if colour_file else None
        with open(os.path.join(OUT, stem + ".L"), "wb") as f:
            f.write(gray.tobytes())
        if rgb is not None:
            with open(os.path.join(OUT, stem + ".RGB"), "wb") as f:
                f.write(rgb.tobytes())
        cases.append({
            "file": name, "width": int(gray.shape[1]), "height": int(gray.shape[0]),
            "color": rgb is not None, "orientation": int(orientation),
            "format": {".jpg": "JPEG", ".png": "PNG", ".webp": "WebP"}[os.path.splitext(name)[1]],
            "lossless": name.endswith(".png") or name.endswith("lossless.webp") or name.endswith("exif8_webp.webp"),
            "expect": expect,
            "sha256L": hashlib.sha256(gray.tobytes()).hexdigest(),
        })
    import PIL
    manifest = {"pillow": PIL.__version__, "libjpeg": "libjpeg-turbo (Pillow wheel)", "cases": cases}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} fixtures to {OUT}")


if __name__ == "__main__":
    main()
