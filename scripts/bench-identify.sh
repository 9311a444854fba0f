#!/usr/bin/env bash
# Identification at scale: synthetic 128-D templates (two an identity), nothing asserted, figures printed.
#   scripts/bench-identify.sh [--sizes 1000,10000,100000,1000000] [--probes 1000] [--load-size 100000] [--runs 5]
#   1. in process (facetwin-bench --identify): per size, the index's build time and size, RSS, identify
#      p50/p99 (top 5) and the GEMV's share of it;
#   2. --load-size templates in an SQLite gallery bound to models/dlib-resnet.safetensors
#      ($FACETWIN_MODEL), copied into PostgreSQL with `facetwin gallery copy` (timed): from each,
#      open + read the index + first identify in process (facetwin-bench --load-gallery), and a whole
#      cold `facetwin identify` of an ORL photo (process start to answer, median of --runs).
# PostgreSQL: $FACETWIN_BENCH_POSTGRES (a server URL), else a throwaway server
# (scripts/postgres-test-server.sh) stopped at exit. Builds facetwin and facetwin-bench in release.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=1000,10000,100000,1000000
PROBES=1000
LOAD=100000
RUNS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES="$2"; shift 2 ;;
    --probes) PROBES="$2"; shift 2 ;;
    --load-size) LOAD="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) echo "bench-identify: unknown option $1" >&2; exit 2 ;;
  esac
done
MODEL="${FACETWIN_MODEL:-models/dlib-resnet.safetensors}"
[ -f "$MODEL" ] || { echo "bench-identify: no model at $MODEL (scripts/fetch-models.sh, or set FACETWIN_MODEL)" >&2; exit 2; }
PROBE=data/orl/s1/1.pgm

swift build -c release --product facetwin-bench >&2
swift build -c release --product facetwin >&2
BIN="$(swift build -c release --show-bin-path)"

echo "== in process: index build, identify latency (top 5, min score), GEMV alone"
"$BIN/facetwin-bench" --identify --sizes "$SIZES" --probes "$PROBES"

work=$(mktemp -d /tmp/facetwin-bench-identify.XXXXXX)
server_dir=""
cleanup() {
  if [ -n "$server_dir" ]; then scripts/postgres-test-server.sh stop "$server_dir"; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${FACETWIN_BENCH_POSTGRES:-}" ]; then
  server="$FACETWIN_BENCH_POSTGRES"
else
  eval "$(scripts/postgres-test-server.sh start)"
  server="$FACETWIN_TEST_POSTGRES"
  server_dir="$FACETWIN_TEST_POSTGRES_DIR"
fi
db="ft_bench_$$"
psql -q "$server" -c "CREATE DATABASE $db" >/dev/null
pg="${server%/*}/$db"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
echo "== $LOAD templates: make (SQLite), copy into PostgreSQL"
"$BIN/facetwin-bench" --make-gallery "$LOAD" --model "$MODEL" --out "$work/g.sqlite"
t=$(date +%s%N)
"$BIN/facetwin" gallery copy "$work/g.sqlite" "$pg"
echo "{\"copy_sqlite_to_postgres_ms\": $(ms "$t")}"

echo "== open + read the index + first identify, in process (median of $RUNS)"
"$BIN/facetwin-bench" --load-gallery "$work/g.sqlite" --runs "$RUNS"
"$BIN/facetwin-bench" --load-gallery "$pg" --runs "$RUNS"

echo "== cold facetwin identify of $PROBE (process start to answer; median of $RUNS)"
for g in "$work/g.sqlite" "$pg"; do
  times=()
  for _ in $(seq "$RUNS"); do
    t=$(date +%s%N)
    "$BIN/facetwin" identify --gallery "$g" "$PROBE" >/dev/null || [ $? -eq 1 ]
    times+=("$(ms "$t")")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  kind=sqlite; case "$g" in postgres*) kind=postgres ;; esac
  echo "{\"gallery\": \"$kind\", \"templates\": $LOAD, \"cold_identify_ms_median\": $median, \"runs_ms\": \"${times[*]}\"}"
done
# And without the gallery: the same command's fixed cost (model load, detection, embedding).
times=()
for _ in $(seq "$RUNS"); do
  t=$(date +%s%N)
  "$BIN/facetwin" embed --model "$MODEL" "$PROBE" >/dev/null
  times+=("$(ms "$t")")
done
echo "{\"cold_embed_ms_median\": $(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")}"
psql -q "$server" -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
