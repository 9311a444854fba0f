#!/usr/bin/env python3
"""dlib's face ResNet in PyTorch (scripts/facetwin_torch.py's DlibResNet, loaded from FaceTwin's
converted model file): ms a chip at batch 1 and 32, eval mode, no gradients, 2 threads by default.
One JSON line per batch size, for the ResNet rows of bench.sh beside `facetwin-bench --resnet`.

    python scripts/bench-resnet-torch.py models/dlib-resnet.safetensors [--threads 2] [--runs 7]
"""
import argparse, json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from facetwin_torch import DlibResNet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--chips", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with safe_open(a.model, "pt") as f:
        architecture = json.loads(f.metadata()["architecture"])
    net = DlibResNet(architecture).eval()
    state = {k: v for k, v in load_file(a.model).items() if not k.startswith(("landmarks.", "detector."))}
    net.load_state_dict(state)
    torch.manual_seed(0)
    chips = torch.rand(a.chips, 3, 150, 150)
    for batch in [int(b) for b in a.batches.split(",")]:
        def run():
            with torch.no_grad():
                for start in range(0, a.chips, batch):
                    net(chips[start:start + batch])
        for _ in range(a.warmup):
            run()
        times = []
        for _ in range(a.runs):
            t = time.perf_counter()
            run()
            times.append(1000 * (time.perf_counter() - t) / a.chips)
        times.sort()
        print(json.dumps({"engine": f"torch {torch.__version__}", "batch": batch, "threads": a.threads,
                          "ms_per_chip_median": round(times[len(times) // 2], 2),
                          "runs_ms_per_chip": [round(t, 2) for t in times]}))


if __name__ == "__main__":
    main()
