#!/usr/bin/env python3
"""Writes what Pillow gives for a colour network's input, to check FaceTwin's against.

    .venv-bench/bin/python scripts/make-colour-input-fixture.py

For each colour codec fixture below, into Tests/FaceTwinTests/Fixtures/codecs/:
  <name>.rgb20x24   exif_transpose(open(f)).convert("RGB").resize((20, 24), BILINEAR),
                    raw interleaved bytes: what a --color --size 20x24 network is fed
                    (each byte / 255, the R, G and B planes one after the other).
The gray face fixture (face_s1_1.png) is included: its three channels are equal.
"""
import os

from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "FaceTwinTests", "Fixtures", "codecs")

for name in ("colour.png", "colour_q90.jpg", "colour_exif6.jpg", "face_s1_1.png"):
    image = ImageOps.exif_transpose(Image.open(os.path.join(OUT, name))).convert("RGB")
    resized = image.resize((20, 24), Image.BILINEAR)
    with open(os.path.join(OUT, os.path.splitext(name)[0] + ".rgb20x24"), "wb") as f:
        f.write(resized.tobytes())
