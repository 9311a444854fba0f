#!/usr/bin/env python3
"""Embeddings at batch 64, FaceTwin against the PyTorch reference, alternated turn by turn.

A shared machine's speed can change by 1.5x and more from one second to the next, so two rates
measured half a minute apart can differ by that much for reasons neither engine controls. Here both engines stay loaded in their own processes and
take turns, the other one idle (blocked on a pipe, or asleep), so each pair of turns sees the
same second of the machine and the ratio is taken pair by pair. Before that, each side runs
`--steps` training steps (after `--warmup`), as in the rounds of scripts/bench.sh
(facetwin-bench, bench-torch.py), whose embeddings are timed after their steps: PyTorch's
inference can run faster in a process after training steps than before them, so both sides
here start from the same state as there. A turn is
`--burst` batches back to back; its first batch is not counted (it runs after the other engine
has had the caches), so each side is timed in its sustained state, as in a loop of its own. The
order within a pair alternates, and each side rests `--gap` seconds before its turn, so that
neither side's worker threads are still spinning while the other runs.

    python scripts/bench-embed-pairs.py FACETWIN_BENCH [--pairs 30] [--burst 4] [--steps 10]
        [--warmup 3] [--batch 64] [--threads 2] [--gap 0.05]

FACETWIN_BENCH is the release facetwin-bench binary (run with --serve-embed). Prints one JSON
object: each side's embeddings/s (median over its counted batches), the median, quartiles and
range of the per-pair ratio (FaceTwin's rate / PyTorch's, each turn's counted batches
averaged), and the pair count.
"""
import argparse, json, statistics, sys, time
import torch

from serve_embed import ServeEmbed
import facetwin_torch as ref

ap = argparse.ArgumentParser()
ap.add_argument("facetwin_bench")
ap.add_argument("--pairs", type=int, default=30); ap.add_argument("--burst", type=int, default=4)
ap.add_argument("--steps", type=int, default=10); ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--batch", type=int, default=64); ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--gap", type=float, default=0.05)
a = ap.parse_args()
if a.burst < 2 or a.pairs < 2:
    sys.exit("bench-embed-pairs: --burst and --pairs need at least 2")

torch.set_num_threads(a.threads)
torch.manual_seed(0)
# The training steps of bench-torch.py (the reference batch of 32 pairs), then the same network in
# evaluation, as there.
net = ref.Net()
opt = torch.optim.Adam(net.parameters(), lr=5e-4)
x1, x2 = torch.rand(32, 1, 100, 100), torch.rand(32, 1, 100, 100)
label = (torch.arange(32) % 2).float()[:, None]
for _ in range(a.warmup + a.steps):
    opt.zero_grad()
    loss = ref.contrastive(net.forward_once(x1), net.forward_once(x2), label); loss.backward(); opt.step()
net.eval()
xb = torch.rand(a.batch, 1, 100, 100)

server = ServeEmbed([a.facetwin_bench, "--embed-batch", str(a.batch), "--warmup", str(a.warmup), "--steps", str(a.steps)],
                    lambda message: sys.exit(f"bench-embed-pairs: {message}"))


def torch_turn(n):
    times = []
    with torch.no_grad():
        for _ in range(n):
            t0 = time.perf_counter(); net.forward_once(xb); times.append(time.perf_counter() - t0)
    return times


torch_turn(a.warmup)

ft, tt, ratios = [], [], []
for p in range(a.pairs):
    turn = {}
    for side in (("torch", "facetwin") if p % 2 == 0 else ("facetwin", "torch")):
        time.sleep(a.gap)
        turn[side] = (torch_turn if side == "torch" else server.turn)(a.burst)[1:]
    ft += turn["facetwin"]; tt += turn["torch"]
    ratios.append(statistics.fmean(turn["torch"]) / statistics.fmean(turn["facetwin"]))
server.close()

q1, q2, q3 = statistics.quantiles(ratios, n=4)
print(json.dumps({"facetwin_embed_per_s": a.batch / statistics.median(ft), "torch_embed_per_s": a.batch / statistics.median(tt),
                  "ratio_median": q2, "ratio_q1": q1, "ratio_q3": q3, "ratio_min": min(ratios), "ratio_max": max(ratios),
                  "pairs": a.pairs, "batch": a.batch, "torch": torch.__version__, "threads": a.threads}, sort_keys=True))
