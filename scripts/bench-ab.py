#!/usr/bin/env python3
"""Embeddings at batch 64 of two FaceTwin builds or setups, A against B, turn by turn.

Each side is a command that starts a release facetwin-bench (the script adds --serve-embed,
--steps and --embed-batch), for example two builds of the engine, or the same binary on both
cores against `taskset -c 1` of it. Both stay loaded and take turns of --burst batches (the
first batch of a turn not counted, the order alternating, each side resting --gap seconds
before its turn), and the ratio is taken pair by pair, so both sides of a ratio see the same
second of the machine, whose speed on a shared host changes from one second to the next.

    python3 scripts/bench-ab.py A_COMMAND B_COMMAND [--pairs 40] [--burst 4] [--steps 2]
        [--batch 64] [--gap 0.05] [--per-pair]

    python3 scripts/bench-ab.py /tmp/old/.build/release/facetwin-bench .build/release/facetwin-bench
    python3 scripts/bench-ab.py .build/release/facetwin-bench "taskset -c 1 .build/release/facetwin-bench"

Prints each side's median ms per batch and the median, quartiles and range of B's rate / A's
rate per pair of turns (above 1: B is faster); --per-pair also prints every pair. Needs only
the Python standard library and scripts/serve_embed.py. Exit 2 if a side does not start or ends early.
"""
import argparse, shlex, statistics, sys, time

from serve_embed import ServeEmbed

ap = argparse.ArgumentParser(description="Embeddings of two facetwin-bench setups, alternated turn by turn.")
ap.add_argument("a", help="command for side A (a facetwin-bench binary, optionally behind taskset etc.)")
ap.add_argument("b", help="command for side B")
ap.add_argument("--pairs", type=int, default=40); ap.add_argument("--burst", type=int, default=4)
ap.add_argument("--steps", type=int, default=2, help="training steps each side runs before serving")
ap.add_argument("--batch", type=int, default=64); ap.add_argument("--gap", type=float, default=0.05)
ap.add_argument("--per-pair", action="store_true", help="print each pair of turns")
args = ap.parse_args()
if args.burst < 2 or args.pairs < 2:
    ap.error("--burst and --pairs need at least 2")


def fail(message):
    print(f"bench-ab: {message}", file=sys.stderr)
    sys.exit(2)


def start(name, command):
    argv = shlex.split(command) + ["--steps", str(args.steps), "--embed-batch", str(args.batch)]
    return ServeEmbed(argv, lambda message: fail(f"side {name}: {message}"))


def turn(side):
    return statistics.fmean(t * 1e3 for t in side.turn(args.burst)[1:])


sides = {"A": start("A", args.a), "B": start("B", args.b)}
ms = {"A": [], "B": []}
ratios = []
for i in range(args.pairs):
    for name in ("A", "B") if i % 2 == 0 else ("B", "A"):
        time.sleep(args.gap)
        ms[name].append(turn(sides[name]))
    ratios.append(ms["A"][-1] / ms["B"][-1])
    if args.per_pair:
        print(f"pair {i + 1:3d}: A {ms['A'][-1]:6.1f} ms  B {ms['B'][-1]:6.1f} ms  B/A rate {ratios[-1]:.3f}")
for side in sides.values():
    side.close()
q1, q2, q3 = statistics.quantiles(ratios, n=4)
print(f"A: {args.a}\nB: {args.b}")
print(f"ms per batch of {args.batch}, median of {args.pairs} turns: A {statistics.median(ms['A']):.1f}, "
      f"B {statistics.median(ms['B']):.1f}; B's rate / A's per pair: median {q2:.3f}, quartiles {q1:.3f}-{q3:.3f}, "
      f"range {min(ratios):.3f}-{max(ratios):.3f}")
