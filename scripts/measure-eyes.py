#!/usr/bin/env python3
"""Measures where dlib's landmark eyes sit in ORL's crops and in dlib's detector box: the
constants of FaceAligner (orlLeftEye/orlRightEye, and boxLeftEye/boxRightEye, the fallback for
a face without landmarks).

Each crop of data/orl (92x112) is scaled 3x onto a mid-grey canvas (dlib's detector needs faces
of about 80 px and some room around them), `facetwin detect --json` finds the face and its eyes,
and the eyes are mapped back to the crop. Prints the mean and standard deviation of each eye's
x and y as fractions of the crop and of the detector box, over the crops where one face was found.

  scripts/measure-eyes.py [--orl data/orl] [--facetwin .build/release/facetwin] [--identities s1,s2]

Needs Pillow.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image

SCALE, MARGIN = 3, 60


def stats(values):
    n = len(values)
    mean = sum(values) / n
    sd = (sum((v - mean) ** 2 for v in values) / max(1, n - 1)) ** 0.5
    return mean, sd


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orl", default=os.path.join(root, "data/orl"))
    ap.add_argument("--facetwin", default=os.path.join(root, ".build/release/facetwin"))
    ap.add_argument("--identities", help="comma-separated (default: every identity folder)")
    args = ap.parse_args()
    ids = args.identities.split(",") if args.identities else sorted(
        (d for d in os.listdir(args.orl) if os.path.isdir(os.path.join(args.orl, d))), key=lambda s: (len(s), s))
    sizes = {}
    with tempfile.TemporaryDirectory() as work:
        photos = os.path.join(work, "in")
        for ident in ids:
            os.makedirs(os.path.join(photos, ident))
            for name in os.listdir(os.path.join(args.orl, ident)):
                if not name.endswith(".pgm"):
                    continue
                crop = Image.open(os.path.join(args.orl, ident, name)).convert("L")
                w, h = crop.size
                big = crop.resize((w * SCALE, h * SCALE), Image.Resampling.BILINEAR)
                canvas = Image.new("L", (w * SCALE + 2 * MARGIN, h * SCALE + 2 * MARGIN), 128)
                canvas.paste(big, (MARGIN, MARGIN))
                canvas.save(os.path.join(photos, ident, name))
                sizes[os.path.join(ident, name)] = (w, h)
        p = subprocess.run([args.facetwin, "detect", "--in", photos, "--out", os.path.join(work, "out"),
                            "--faces", "all", "--json"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"measure-eyes: facetwin detect failed: {p.stderr.strip()}")
        doc = json.loads(p.stdout)
    crop = {k: [] for k in ("lx", "ly", "rx", "ry")}
    box = {k: [] for k in ("lx", "ly", "rx", "ry")}
    used = 0
    for photo in doc["photos"]:
        faces = photo["faces"]
        if len(faces) != 1 or not faces[0].get("leftEye"):
            continue
        used += 1
        f = faces[0]
        b = f["box"]
        w, h = sizes[os.path.join(os.path.basename(os.path.dirname(photo["path"])), os.path.basename(photo["path"]))]
        for side, eye in (("l", f["leftEye"]), ("r", f["rightEye"])):
            crop[side + "x"].append((eye["x"] - MARGIN) / SCALE / w)
            crop[side + "y"].append((eye["y"] - MARGIN) / SCALE / h)
            box[side + "x"].append((eye["x"] - b["x"]) / b["width"])
            box[side + "y"].append((eye["y"] - b["y"]) / b["height"])
    print(f"crops: {len(doc['photos'])}, with exactly one face found: {used}")
    for name, table in (("in the crop", crop), ("in the detector box", box)):
        parts = [f"{k} {m:.3f} (sd {sd:.3f})" for k, (m, sd) in ((k, stats(v)) for k, v in table.items())]
        print(f"eyes {name} (fractions of its width and height; l = the eye on the image's left): " + ", ".join(parts))


if __name__ == "__main__":
    main()
