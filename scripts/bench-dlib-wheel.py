#!/usr/bin/env python3
"""dlib's face-recognition ResNet as face_recognition users run it: the `dlib-bin` wheel from PyPI,
compute_face_descriptor on aligned 150x150 chips (a fixed pattern: the time does not depend on
the pixels). Prints one JSON object per batch size:
    python bench-dlib-wheel.py MODEL.dat [--batches 1,32] [--runs 7] [--warmup 2] [--chips 32]
Batch 1 is one chip a call; a larger batch is the list overload (one dlib batch a call).
scripts/bench.sh runs it for the dlib rows.
"""
import argparse
import json
import statistics
import time

import dlib
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--chips", type=int, default=32)
    args = ap.parse_args()
    net = dlib.face_recognition_model_v1(args.model)
    batches = [int(b) for b in args.batches.split(",")]
    flat = (np.arange(max(batches) * 150 * 150 * 3, dtype=np.uint64) * 2654435761 >> 13).astype(np.uint8)
    chips = list(flat.reshape(max(batches), 150, 150, 3))
    for batch in batches:
        calls = max(1, args.chips // batch)
        times = []
        for r in range(args.warmup + args.runs):
            start = time.perf_counter()
            for _ in range(calls):
                if batch == 1:
                    net.compute_face_descriptor(chips[0])
                else:
                    net.compute_face_descriptor(chips[:batch])
            ms = (time.perf_counter() - start) * 1000 / (calls * batch)
            if r >= args.warmup:
                times.append(ms)
        median = statistics.median(times)
        print(json.dumps({"engine": f"dlib-bin wheel {dlib.__version__}", "batch": batch, "chips_per_run": calls * batch,
                          "ms_per_chip_median": round(median, 2), "chips_per_s": round(1000 / median, 1),
                          "runs_ms_per_chip": [round(t, 2) for t in times], "openblas_threads": "wheel's own"}))


if __name__ == "__main__":
    main()
