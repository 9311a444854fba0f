#!/usr/bin/env python3
"""Checks a model file written by `facetwin import-dlib` against dlib itself: runs dlib's ResNet
from the file's tensors in numpy (float64), with the semantics the file's architecture states
(dlib's padding rule: 0 when the stride is not 1, else kernel/2; affine y = gamma x + beta per
channel; a residual add whose output takes each dimension's larger size, missing elements zero;
input (p - mean) / 256; fc.weight out x in, no bias), on the chips of
Tests/FaceTwinTests/Fixtures/dlib-chips, and prints the largest difference from the descriptors
dlib computed for them (scripts/make-dlib-chip-fixture.py). Exit 1 above --tolerance.
    python3 scripts/check-dlib-import.py [models/dlib-resnet.safetensors] [--tolerance 1e-4]
Needs numpy and Pillow.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CHIPS = os.path.join(ROOT, "Tests", "FaceTwinTests", "Fixtures", "dlib-chips")


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    if meta.get("format") != "facetwin.dlib-resnet":
        sys.exit(f"{path}: not a facetwin.dlib-resnet model file")
    tensors = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        if e["dtype"] == "F32":
            tensors[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(e["shape"]).astype(np.float64)
    return tensors, json.loads(meta["architecture"])


def conv(x, w, b, stride, pad):
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    c, k = x.shape[0], w.shape[2]
    ho, wo = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    cols = np.empty((c, k, k, ho, wo))
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = x[:, i:i + stride * ho:stride, j:j + stride * wo:stride]
    return np.tensordot(w, cols, axes=([1, 2, 3], [0, 1, 2])) + b[:, None, None]


def pool(x, k, stride, kind):
    ho, wo = (x.shape[1] - k) // stride + 1, (x.shape[2] - k) // stride + 1
    out = np.full((x.shape[0], ho, wo), -np.inf) if kind == "max" else np.zeros((x.shape[0], ho, wo))
    for i in range(k):
        for j in range(k):
            s = x[:, i:i + stride * ho:stride, j:j + stride * wo:stride]
            out = np.maximum(out, s) if kind == "max" else out + s
    return out if kind == "max" else out / (k * k)


def add(a, b):
    out = np.zeros([max(p, q) for p, q in zip(a.shape, b.shape)])
    out[:a.shape[0], :a.shape[1], :a.shape[2]] += a
    out[:b.shape[0], :b.shape[1], :b.shape[2]] += b
    return out


def affine(x, t, p):
    return x * t[p + ".weight"][:, None, None] + t[p + ".bias"][:, None, None]


def forward(t, arch, chip):
    x = (chip.transpose(2, 0, 1).astype(np.float64) - np.array(arch["input"]["mean_rgb"])[:, None, None]) \
        * arch["input"]["scale"]
    stem = arch["stem"]
    x = conv(x, t["conv1.weight"], t["conv1.bias"], stem["stride"], stem["padding"])
    x = pool(np.maximum(affine(x, t, "affine1"), 0), stem["pool"]["kernel"], stem["pool"]["stride"], "max")
    for i, block in enumerate(arch["blocks"]):
        p, s = f"blocks.{i}.", block["stride"]
        y = conv(x, t[p + "conv1.weight"], t[p + "conv1.bias"], s, 0 if s != 1 else 1)
        y = conv(np.maximum(affine(y, t, p + "affine1"), 0), t[p + "conv2.weight"], t[p + "conv2.bias"], 1, 1)
        x = np.maximum(add(affine(y, t, p + "affine2"), pool(x, 2, 2, "avg") if s == 2 else x), 0)
    return t["fc.weight"] @ x.mean(axis=(1, 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, "models", "dlib-resnet.safetensors"))
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    tensors, arch = load(args.model)
    fixture = json.load(open(os.path.join(CHIPS, "chips.json")))
    worst = 0.0
    for c in fixture["chips"]:
        chip = np.array(Image.open(os.path.join(CHIPS, c["chip"])).convert("RGB"))
        diff = float(np.abs(forward(tensors, arch, chip) - np.array(c["descriptor"])).max())
        print(f"{c['chip']}: largest difference from dlib's descriptor {diff:.2e}")
        worst = max(worst, diff)
    print(f"largest difference {worst:.2e} (tolerance {args.tolerance:g})")
    sys.exit(0 if worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
