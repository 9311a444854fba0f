#!/usr/bin/env python3
"""Golden fixtures for FaceTwin's Netpbm decoding and Pillow-exact resizing.

FaceTwin's `Resize.bilinear` ports Pillow's ImagingResample so that a model
trained in Swift sees the same pixels as the PyTorch reference
(`Image.open(p).convert("L").resize((100, 100), Image.BILINEAR)`). This script
asks Pillow itself for the expected bytes and writes them, small, under
Tests/FaceTwinTests/Fixtures/data/:

  manifest.json          what each case is (source image, target size, file)
  orl_<id>_<n>.gray      Pillow's 100x100 resize of a few ORL images (raw bytes)
  synthetic_*.pgm        small deterministic P5 inputs (committed, read by FaceTwin)
  synthetic_*_WxH.gray   Pillow's resize of them to odd sizes, up, down, mixed
  *_hfirst.gray          the pre-Pillow-13 pass order (see below)
  rgb_*.ppm / .gray      a P6 colour image and Pillow's convert("L") of it

Pillow 13 (python-pillow/Pillow#9549) runs the vertical pass first when the
height shrinks by more than twice as many pixels as the width; older Pillow
always ran the horizontal pass first. Both are fixtures: the old order is made
with Pillow 13 by resizing in two calls, width first ((w, H) then (w, h)),
which is byte-identical to the old single call.

ORL is read from data/orl ($ORL_DIR overrides).

  python scripts/make-resize-fixture.py            # write fixtures
  python scripts/make-resize-fixture.py --all-orl /tmp/orl-pillow.bin
      # also write Pillow's 100x100 resize of every ORL image (s1/1 … s40/10,
      # natural order, 10000 bytes each) for the opt-in full-parity test:
      # FACETWIN_ORL_PILLOW=/tmp/orl-pillow.bin swift test --filter Data
"""
import argparse
import json
import os
import re
import sys

import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "FaceTwinTests", "Fixtures", "data")
BILINEAR = Image.Resampling.BILINEAR

ORL_CASES = [("s1", "1.pgm"), ("s17", "5.pgm"), ("s40", "10.pgm")]
# (name, width, height, target sizes): upscaling, downscaling, non-uniform,
# one dimension unchanged (Pillow skips that pass), and degenerate 1-pixel sizes.
SYNTHETIC = [
    ("synthetic_13x9", 13, 9, [(100, 100), (5, 4), (7, 20), (13, 4), (31, 9), (1, 1), (2, 17)]),
    ("synthetic_92x112", 92, 112, [(100, 100), (37, 23), (46, 56), (91, 113), (30, 112)]),
]

# Sizes for which the pre-13 order differs from Pillow 13's (vertical first).
HORIZONTAL_FIRST = {"synthetic_92x112": [(100, 100), (80, 40)]}


def natural_key(s):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def orl_dir():
    env = os.environ.get("ORL_DIR")
    return env if env else os.path.join(ROOT, "data", "orl")


def synthetic_image(w, h):
    """Deterministic, texture-rich gray pattern (no RNG, so it never drifts)."""
    px = bytes(((x * 37 + y * 91 + x * y * 13 + (x ^ y) * 7) * 2654435761 >> 7) & 0xFF
               for y in range(h) for x in range(w))
    return Image.frombytes("L", (w, h), px)


def write_pgm(path, img):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % img.size)
        f.write(img.tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all-orl", metavar="FILE", help="also write Pillow's 100x100 resize of all ORL images here")
    args = ap.parse_args()

    os.makedirs(OUT, exist_ok=True)
    cases = []

    orl = orl_dir()
    if not os.path.isdir(orl):
        sys.exit(f"ORL not found at {orl} (set ORL_DIR)")
    for ident, name in ORL_CASES:
        img = Image.open(os.path.join(orl, ident, name)).convert("L")
        out = img.resize((100, 100), BILINEAR)
        fname = f"orl_{ident}_{os.path.splitext(name)[0]}.gray"
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(out.tobytes())
        cases.append({"source": "orl", "image": f"{ident}/{name}", "width": 100, "height": 100, "file": fname})

    for name, w, h, sizes in SYNTHETIC:
        img = synthetic_image(w, h)
        write_pgm(os.path.join(OUT, name + ".pgm"), img)
        # Round trip through Pillow's own PGM reader, as the reference pipeline would.
        img = Image.open(os.path.join(OUT, name + ".pgm")).convert("L")
        for tw, th in sizes:
            fname = f"{name}_{tw}x{th}.gray"
            with open(os.path.join(OUT, fname), "wb") as f:
                f.write(img.resize((tw, th), BILINEAR).tobytes())
            cases.append({"source": "fixture", "image": name + ".pgm", "width": tw, "height": th, "file": fname})
        for tw, th in HORIZONTAL_FIRST.get(name, []):
            fname = f"{name}_{tw}x{th}_hfirst.gray"
            out = img.resize((tw, img.size[1]), BILINEAR).resize((tw, th), BILINEAR)
            with open(os.path.join(OUT, fname), "wb") as f:
                f.write(out.tobytes())
            cases.append({"source": "fixture", "image": name + ".pgm", "width": tw, "height": th, "file": fname,
                          "pillow": "before13"})

    # Colour → gray parity: a P6 image with every corner of the RGB cube plus
    # pseudo-random colours, and Pillow's convert("L") of it.
    rgb = bytearray()
    corners = [(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)]
    for i in range(16 * 8):
        if i < len(corners):
            rgb += bytes(corners[i])
        else:
            rgb += bytes(((i * k * 2654435761) >> 11) & 0xFF for k in (3, 5, 7))
    with open(os.path.join(OUT, "rgb_16x8.ppm"), "wb") as f:
        f.write(b"P6\n16 8\n255\n" + bytes(rgb))
    gray = Image.open(os.path.join(OUT, "rgb_16x8.ppm")).convert("L")
    with open(os.path.join(OUT, "rgb_16x8.gray"), "wb") as f:
        f.write(gray.tobytes())
    cases.append({"source": "convert", "image": "rgb_16x8.ppm", "width": 16, "height": 8, "file": "rgb_16x8.gray"})

    manifest = {
        "generator": "scripts/make-resize-fixture.py",
        "pillow": PIL.__version__,
        "resample": "Image.Resampling.BILINEAR",
        "cases": cases,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(cases)} cases to {OUT} ({total} bytes)")

    if args.all_orl:
        idents = sorted((d for d in os.listdir(orl) if os.path.isdir(os.path.join(orl, d))), key=natural_key)
        count = 0
        with open(args.all_orl, "wb") as f:
            for ident in idents:
                for name in sorted(os.listdir(os.path.join(orl, ident)), key=natural_key):
                    if not name.lower().endswith(".pgm"):
                        continue
                    img = Image.open(os.path.join(orl, ident, name)).convert("L")
                    f.write(img.resize((100, 100), BILINEAR).tobytes())
                    count += 1
        print(f"wrote {count} ORL resizes to {args.all_orl}")


if __name__ == "__main__":
    main()
