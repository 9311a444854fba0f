#!/usr/bin/env python3
"""Composes test photos for face detection from held-out ORL faces.

Each photo is a colour canvas (default 640x480) with a procedural background (value noise at
several octaves, a gradient, a few blurred blobs and stripes), and 0, 1 or 2 ORL face crops
pasted on it: scaled 0.5-3x, rotated up to +-15 degrees, lightly tinted, with soft edges.
A manifest (manifest.json) records, for every face, the source crop and the affine map from
crop coordinates (x, y in pixels of the 92x112 crop) to photo coordinates, so a scorer can
place any crop point (the eyes, the crop's corners) in the photo.

Output layout (OUT/):
  ppm/<identity>/<photo>.ppm   one folder per identity of the (single) face; two-face photos
                               and no-face photos go to ppm/multi/ and ppm/none/
  jpeg/... and png/...         the same photos as JPEG and PNG; about a third carry an EXIF
                               orientation (3, 6 or 8) with the pixels stored rotated, so a
                               reader that honours EXIF sees the same upright photo
  manifest.json

  scripts/compose-photos.py --orl data/orl --out /tmp/photos            # 100 photos, s36-s40
  scripts/compose-photos.py --orl data/orl --out F --count 4 --size 160x120 --seed 7 --no-extra

Deterministic for a given --seed. Needs numpy and Pillow.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image, ImageFilter

# Where the exif_transpose of a stored image gives the upright one: stored = upright.transpose(T).
EXIF_STORE = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def value_noise(rng, h, w, cells):
    """Smooth noise: a random grid of cells x cells upsampled bicubically to h x w, in [0, 1]."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    img = Image.fromarray((grid * 255).astype(np.uint8), "L").resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255


def background(rng, w, h):
    out = np.zeros((h, w, 3), np.float32)
    base = rng.random(3) * 0.8 + 0.1
    for c in range(3):
        layer = np.zeros((h, w), np.float32)
        amp = 1.0
        for cells in (3, 8, 24, 80):
            layer += amp * (value_noise(rng, h, w, cells) - 0.5)
            amp *= 0.55
        out[:, :, c] = base[c] + 0.45 * layer
    # A linear gradient in a random direction.
    ang = rng.random() * 2 * math.pi
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)
    out += (g[:, :, None] - 0.5) * (rng.random(3) * 0.5 - 0.25)
    img = Image.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8), "RGB")
    # Blobs and stripes: edges and corners a detector could mistake for something.
    arr = np.asarray(img, dtype=np.float32)
    for _ in range(rng.integers(3, 8)):
        cx, cy = rng.random() * w, rng.random() * h
        rx, ry = 10 + rng.random() * w / 5, 10 + rng.random() * h / 5
        mask = (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) <= 1
        arr[mask] = arr[mask] * 0.4 + rng.random(3) * 255 * 0.6
    if rng.random() < 0.5:
        period = 8 + rng.random() * 30
        stripes = (np.sin((xx * np.cos(ang) + yy * np.sin(ang)) / period * 2 * math.pi) > 0)
        arr[stripes] *= 0.8
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img.filter(ImageFilter.GaussianBlur(0.7))


def face_layer(crop, scale, angle_deg, tint):
    """The crop scaled and rotated (expand) as RGBA with a feathered alpha, plus the 2x3 affine
    from crop pixel coordinates to the layer's pixel coordinates."""
    w0, h0 = crop.size
    sw, sh = max(8, round(w0 * scale)), max(8, round(h0 * scale))
    scaled = crop.resize((sw, sh), Image.Resampling.BICUBIC)
    rgb = np.asarray(scaled, np.float32)[:, :, None] * np.asarray(tint, np.float32)[None, None, :]
    rgba = np.zeros((sh, sw, 4), np.uint8)
    rgba[:, :, :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    # Feathered edge: alpha ramps over ~4% of the size, so the crop's border is not a hard step.
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    ramp = max(2.0, 0.04 * min(sw, sh))
    d = np.minimum(np.minimum(xx + 0.5, sw - xx - 0.5), np.minimum(yy + 0.5, sh - yy - 0.5))
    rgba[:, :, 3] = (np.clip(d / ramp, 0, 1) * 255).astype(np.uint8)
    layer = Image.fromarray(rgba, "RGBA").rotate(angle_deg, resample=Image.Resampling.BICUBIC, expand=True)
    # PIL rotates counter-clockwise by angle about the centre; with expand the centre moves to
    # the centre of the new canvas.
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    lw, lh = layer.size
    sx, sy = sw / w0, sh / h0
    # crop (x, y) -> scaled (x*sx, y*sy) -> centred -> rotated CCW (image y down: x' = c*x + s*y, y' = -s*x + c*y)
    cxs, cys = sw / 2, sh / 2
    m = [[c * sx, s * sy, 0.0], [-s * sx, c * sy, 0.0]]
    m[0][2] = -c * cxs - s * cys + lw / 2
    m[1][2] = s * cxs - c * cys + lh / 2
    return layer, m


def corners(m, w0, h0):
    pts = [(0, 0), (w0, 0), (w0, h0), (0, h0)]
    return [(m[0][0] * x + m[0][1] * y + m[0][2], m[1][0] * x + m[1][1] * y + m[1][2]) for x, y in pts]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orl", default="data/orl")
    ap.add_argument("--out", required=True)
    ap.add_argument("--identities", default="s36,s37,s38,s39,s40")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--two", type=float, default=0.15, help="fraction of photos with two faces")
    ap.add_argument("--none", type=float, default=0.15, help="fraction of photos with no face")
    ap.add_argument("--scale", default="0.5,3", help="min,max scale of a 92x112 crop")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-extra", action="store_true", help="PPM only (no JPEG/PNG copies)")
    args = ap.parse_args()

    W, H = (int(v) for v in args.size.lower().split("x"))
    smin, smax = (float(v) for v in args.scale.split(","))
    rng = np.random.default_rng(args.seed)
    faces = []
    for ident in args.identities.split(","):
        folder = os.path.join(args.orl, ident)
        for name in sorted(os.listdir(folder), key=lambda n: (len(n), n)):
            if name.endswith(".pgm"):
                faces.append((ident, os.path.join(folder, name)))
    if not faces:
        sys.exit(f"compose-photos: no .pgm faces under {args.orl} for {args.identities}")

    n_none = round(args.count * args.none)
    n_two = round(args.count * args.two)
    kinds = ["none"] * n_none + ["two"] * n_two + ["one"] * (args.count - n_none - n_two)
    rng.shuffle(kinds)
    order = rng.permutation(len(faces))
    next_face = 0
    manifest = {"size": [W, H], "identities": args.identities.split(","), "seed": args.seed, "photos": []}

    for i, kind in enumerate(kinds):
        img = background(rng, W, H)
        placed = []
        nfaces = {"none": 0, "one": 1, "two": 2}[kind]
        boxes = []
        for _ in range(nfaces):
            ident, path = faces[order[next_face % len(faces)]]
            next_face += 1
            crop = Image.open(path).convert("L")
            w0, h0 = crop.size
            for attempt in range(200):
                # Two faces share the canvas: keep each at most ~half the height.
                top = smax if nfaces == 1 else min(smax, 0.5 * H / h0)
                top = max(smin, min(top, 0.9 * H / h0 / 1.1))
                scale = math.exp(rng.uniform(math.log(smin), math.log(top)))
                angle = rng.uniform(-15, 15)
                tint = (1.0, rng.uniform(0.8, 0.95), rng.uniform(0.65, 0.85))
                layer, m = face_layer(crop, scale, angle, tint)
                lw, lh = layer.size
                if lw >= W or lh >= H:
                    continue
                ox, oy = int(rng.integers(0, W - lw)), int(rng.integers(0, H - lh))
                box = (ox, oy, ox + lw, oy + lh)
                if any(not (box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1]) for b in boxes):
                    continue
                boxes.append(box)
                img.paste(layer, (ox, oy), layer)
                m[0][2] += ox
                m[1][2] += oy
                placed.append({
                    "identity": ident, "source": os.path.relpath(path, args.orl), "scale": round(scale, 4),
                    "angle": round(angle, 3), "crop_size": [w0, h0],
                    "affine": [[round(v, 5) for v in row] for row in m],
                    "corners": [[round(x, 2), round(y, 2)] for x, y in corners(m, w0, h0)],
                })
                break
            else:
                sys.exit("compose-photos: could not place a face; use a larger --size or smaller --scale")
        folder = placed[0]["identity"] if nfaces == 1 else ("multi" if nfaces == 2 else "none")
        stem = f"photo{i + 1:03d}"
        rel = f"{folder}/{stem}"
        orientation = [1, 1, 3, 6, 8, 1][i % 6]
        for fmt, ext in (("ppm", "ppm"), ("jpeg", "jpg"), ("png", "png")):
            if fmt != "ppm" and args.no_extra:
                continue
            os.makedirs(os.path.join(args.out, fmt, folder), exist_ok=True)
            target = os.path.join(args.out, fmt, rel + "." + ext)
            if fmt == "ppm":
                img.save(target)
                continue
            stored = img if orientation == 1 else img.transpose(EXIF_STORE[orientation])
            exif = Image.Exif()
            if orientation != 1:
                exif[0x0112] = orientation
            if fmt == "jpeg":
                stored.save(target, quality=90, exif=exif)
            else:
                stored.save(target, exif=exif)
        manifest["photos"].append({"photo": rel, "faces": placed,
                                   "exif_orientation": None if args.no_extra else orientation})

    # Self-check: EXIF-honouring readers get the upright photo back.
    if not args.no_extra:
        from PIL import ImageOps
        for p in manifest["photos"][:6]:
            a = np.asarray(Image.open(os.path.join(args.out, "ppm", p["photo"] + ".ppm")))
            b = np.asarray(ImageOps.exif_transpose(Image.open(os.path.join(args.out, "png", p["photo"] + ".png"))))
            assert a.shape == b.shape and (a == b).all(), f"EXIF round trip failed for {p['photo']}"

    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    counts = {k: kinds.count(k) for k in ("one", "two", "none")}
    print(f"compose-photos: {len(kinds)} photos ({counts['one']} one face, {counts['two']} two, "
          f"{counts['none']} none), {sum(len(p['faces']) for p in manifest['photos'])} faces -> {args.out}")


if __name__ == "__main__":
    main()
