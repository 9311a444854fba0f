#!/usr/bin/env bash
# Speed of FaceTwin against the PyTorch reference, measured in the same run on this machine.
#   scripts/bench.sh [--steps 20] [--rounds 3]
# Builds facetwin-bench in release, makes a virtual environment with a CPU build of torch
# (.venv-bench/, reused), then alternates FaceTwin and PyTorch rounds so that both see the same
# machine load, and prints each side's median and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=20; ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
  esac
done
REF=${TORCH_REFERENCE:-../shared/bench/torch_reference.py}
[ -f "$REF" ] || { echo "bench: PyTorch reference not found at $REF (set TORCH_REFERENCE)" >&2; exit 1; }

scripts/setup.sh --no-build
swift build -c release --product facetwin-bench >&2
BENCH="$(swift build -c release --show-bin-path)/facetwin-bench"

PY=${BENCH_PYTHON:-.venv-bench/bin/python}
if ! "$PY" -c "import torch, numpy, PIL" 2>/dev/null; then
  echo "bench: creating .venv-bench with torch (CPU build), numpy, pillow" >&2
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --upgrade pip >&2
  .venv-bench/bin/pip install -q "torch==2.13.0+cpu" numpy pillow >&2 || .venv-bench/bin/pip install -q torch numpy pillow >&2
  PY=.venv-bench/bin/python
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "bench: $ROUNDS rounds of $STEPS steps each side; load average now: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq 1 "$ROUNDS"); do
  "$BENCH" --steps "$STEPS" >> "$out/facetwin.jsonl"
  TORCH_REFERENCE="$REF" "$PY" scripts/bench_torch.py --steps "$STEPS" >> "$out/torch.jsonl"
  echo "bench: round $r/$ROUNDS done" >&2
done

python3 - "$out/facetwin.jsonl" "$out/torch.jsonl" <<'PY'
import json, statistics, sys
ft = [json.loads(l) for l in open(sys.argv[1])]
pt = [json.loads(l) for l in open(sys.argv[2])]
med = lambda rows, k: statistics.median(r[k] for r in rows)
print(f"{'':28}{'FaceTwin':>12}{'PyTorch':>12}{'ratio':>10}")
rows = [("training step (ms)", "ms_per_step", "lower"), ("pairs/s", "pairs_per_s", "higher"),
        ("embeddings/s (batch 64)", "embed_per_s", "higher"), ("latency, 1 image (ms)", "latency_ms", "lower")]
for name, key, better in rows:
    a, b = med(ft, key), med(pt, key)
    print(f"{name:28}{a:12.1f}{b:12.1f}{a / b:9.2f}x")
print(f"FaceTwin step: {med(ft, 'gflop_per_step'):.1f} GFLOP at {med(ft, 'gflops'):.1f} GFLOP/s "
      f"(ratio = FaceTwin / PyTorch; PyTorch {pt[0]['torch']}, {pt[0]['threads']} threads)")
PY
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
