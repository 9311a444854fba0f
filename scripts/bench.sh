#!/usr/bin/env bash
# Speed and memory of FaceTwin against the PyTorch reference (scripts/facetwin_torch.py), both
# measured in the same run on this machine. docs/PERFORMANCE.md explains each row.
#   scripts/bench.sh [--steps 20] [--rounds 3] [--embed-pairs 30] [--train-epochs 2] [--verify-runs 7] [--quick]
#   scripts/bench.sh --photos-only     only the photo rows (FaceTwin alone; no PyTorch needed)
#   scripts/bench.sh --resnet-only     only the rows of dlib's face ResNet (FaceTwin, libdlib, the wheel, PyTorch)
#     --steps N         training steps per round of the step benchmark (facetwin-bench, bench-torch.py)
#     --rounds N        rounds of the step benchmark, alternating FaceTwin and PyTorch
#     --embed-pairs N   turns each side in the embeddings benchmark alternated turn by turn
#     --train-epochs E  epochs of the reference training run whose peak RSS is measured
#     --default-epochs E  epochs of the default recipe's training run (50: a whole run)
#     --verify-runs N   timed cold verifies per side (median), after one warm-up each
#     --quick           --steps 5 --rounds 1 --embed-pairs 8 --verify-runs 3 (later options override)
#     --photo-runs N    timed enrolls of 100 photos (median), after one warm-up (default 3)
# Builds facetwin-bench and facetwin in release and uses a Python with torch (CPU build), numpy,
# pillow and safetensors: $BENCH_PYTHON, else .venv-bench/ (created on first use). Then, with
# FaceTwin and PyTorch back to back each time so that both see the same machine load:
#   - step rounds: a training step of the reference recipe on random images, embeddings/s at
#     batch 64, single-image latency (alternating rounds);
#   - embeddings/s at batch 64 with both engines loaded side by side, taking turns of a few
#     batches (scripts/bench-embed-pairs.py), the ratio taken per pair of turns: on a shared
#     machine each pair of turns sees the same second, where the rounds do not;
#   - a training run of the reference recipe on ORL (s5,s6,s7 held out), E epochs: peak RSS and
#     wall seconds of each whole process. E = 2 reaches FaceTwin's peak (the second epoch's
#     best-epoch snapshot is taken while the first one's is still held); the wall seconds are
#     informational, since FaceTwin also validates after every epoch and writes the model;
#   - a cold verify, process start to answer: the model trained above, photos 1-5 of s5,s6,s7
#     enrolled, `facetwin verify --claim s5 s5/8.pgm` against scripts/bench-verify-torch.py
#     doing the same with torch; both must give the same verdict and distance;
#   - photos (FaceTwin alone): 100 photos composed by scripts/compose-photos.py (640x480 JPEG,
#     one ORL face of s1-s10 each, scaled 0.5-3x, rotated up to 15 degrees); face detection +
#     alignment per photo (`facetwin detect --json`'s per-photo time, decoding excluded), and
#     `facetwin enroll --folder` of all 100 with --detect always, process start to gallery
#     written, with a default-recipe model (1 epoch: the weights do not change the time);
#   - dlib's face-recognition ResNet (models/, scripts/fetch-models.sh), ms a 150x150 chip at
#     batch 1 and 32: FaceTwin's engine and Debian's libdlib through Sources/CDlibNet compiled -O2
#     (OpenBLAS at 2 threads) alternated in one process (`facetwin-bench --resnet`), the dlib-bin
#     wheel from PyPI that face_recognition users get (scripts/bench-dlib-wheel.py:
#     $DLIB_WHEEL_PYTHON, else .venv-dlib-bench/, created on first use) and PyTorch
#     (scripts/bench-resnet-torch.py, 2 threads), with the ratios and their targets;
#   - a cold verify with dlib's ResNet on a 640x480 photo against 3 templates, `facetwin verify`
#     against face_recognition (scripts/bench-verify-fr.py: $FR_PYTHON, else .venv-fr-bench/);
# and prints each side's median and the ratio FaceTwin / PyTorch, the step's GFLOP/s as a share
# of a nominal peak (cores x 32 FLOP/cycle x /proc/cpuinfo's MHz) and of a large SGEMM, and the
# product's speed targets, each with this run's figure and whether it is met.
# ORL: $ORL_DIR, else data/orl. TORCH_REFERENCE: the script run for the PyTorch training row
# (default scripts/facetwin_torch.py). Temporary files go to a mktemp directory, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=20; ROUNDS=3; EMBED_PAIRS=30; EPOCHS=2; VERIFY_RUNS=7; DEFAULT_EPOCHS=50; PHOTO_RUNS=3; PHOTOS_ONLY=0; RESNET_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --embed-pairs) EMBED_PAIRS=$2; shift 2 ;;
    --train-epochs) EPOCHS=$2; shift 2 ;;
    --default-epochs) DEFAULT_EPOCHS=$2; shift 2 ;;
    --verify-runs) VERIFY_RUNS=$2; shift 2 ;;
    --quick) STEPS=5; ROUNDS=1; EMBED_PAIRS=8; VERIFY_RUNS=3; PHOTO_RUNS=1; shift ;;
    --photo-runs) PHOTO_RUNS=$2; shift 2 ;;
    --photos-only) PHOTOS_ONLY=1; shift ;;
    --resnet-only) RESNET_ONLY=1; shift ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
  esac
done
REF=${TORCH_REFERENCE:-scripts/facetwin_torch.py}
[ -f "$REF" ] || { echo "bench: PyTorch reference not found at $REF (set TORCH_REFERENCE)" >&2; exit 1; }

scripts/setup.sh --no-build

# --- dlib's face ResNet: FaceTwin's engine against dlib's own forward and PyTorch ---------------
# FaceTwin and Debian's libdlib (through CDlibNet, -O2, OpenBLAS at 2 threads) alternate run by
# run in one process (`facetwin-bench --resnet`); then the dlib-bin wheel and PyTorch (2 threads)
# on chips of the same size. Writes $out/resnet.json and $out/resnet.jsonl, or a reason to
# $out/resnet.skipped.
MODELS=${FACETWIN_MODELS_DIR:-models}
DLIB_MODEL=$MODELS/dlib_face_recognition_resnet_model_v1.dat
RESNET_MODEL=$MODELS/dlib-resnet.safetensors
resnet_rows() {
  if [ ! -f "$DLIB_MODEL" ] || [ ! -f "$RESNET_MODEL" ]; then
    skip resnet "no $DLIB_MODEL or $RESNET_MODEL (scripts/fetch-models.sh)"; return
  fi
  swift build -c release --product facetwin-bench >&2
  echo "bench: dlib's ResNet, FaceTwin and libdlib alternated, batch 1 (28 runs) and 32 (7 runs)" >&2
  "$(swift build -c release --show-bin-path)/facetwin-bench" --resnet --model "$RESNET_MODEL" --dlib "$DLIB_MODEL" \
    --batch 32 --steps 7 --warmup 2 > "$out/resnet.json" || { skip resnet "facetwin-bench --resnet failed"; return; }
  : > "$out/resnet.jsonl"
  local wheel=${DLIB_WHEEL_PYTHON:-.venv-dlib-bench/bin/python}
  if ! "$wheel" -c "import dlib, numpy" 2>/dev/null; then
    echo "bench: creating .venv-dlib-bench with the dlib-bin wheel and numpy" >&2
    { python3 -m venv .venv-dlib-bench && .venv-dlib-bench/bin/pip install -q dlib-bin numpy >&2; } ||
      { echo "bench: dlib wheel rows skipped: cannot install dlib-bin" >&2; wheel=; }
    [ -z "$wheel" ] || wheel=.venv-dlib-bench/bin/python
  fi
  if [ -n "$wheel" ]; then
    echo "bench: the dlib-bin wheel's forward, batch 1 and 32, 7 runs of 32 chips each" >&2
    "$wheel" scripts/bench-dlib-wheel.py "$DLIB_MODEL" --batches 1,32 --runs 7 --warmup 2 --chips 32 >> "$out/resnet.jsonl" ||
      echo "bench: dlib wheel rows skipped: bench-dlib-wheel.py failed" >&2
  fi
  local torch=${BENCH_PYTHON:-.venv-bench/bin/python}
  if "$torch" -c "import torch, safetensors" 2>/dev/null; then
    echo "bench: PyTorch's forward of the same network, batch 1 and 32, 7 runs of 32 chips each" >&2
    "$torch" scripts/bench-resnet-torch.py "$RESNET_MODEL" --threads 2 --batches 1,32 --runs 7 >> "$out/resnet.jsonl" ||
      echo "bench: PyTorch ResNet rows skipped: bench-resnet-torch.py failed" >&2
  else
    echo "bench: PyTorch ResNet rows skipped: no Python with torch (\$BENCH_PYTHON or .venv-bench)" >&2
  fi
}
# A cold verify with dlib's ResNet on a photo, process start to answer: `facetwin verify` against
# a gallery of 3 photos of one person, and scripts/bench-verify-fr.py doing what a face_recognition
# user does (its defaults; templates in a JSON file). Photos: 640x480 JPEGs of s1 composed by
# scripts/compose-photos.py (scale 1.5-3x, so that face_recognition's detector finds them);
# enrolled and probe photos are those where face_recognition finds exactly one face. Writes
# $out/resnet-verify.json, or a reason to $out/resnet-verify.skipped.
RESNET_VERIFY_TIMER=$(cat <<'PY'
import json, statistics, subprocess, sys, time
runs, dest, facetwin, fr_python, gallery, templates, probe = sys.argv[1:]
sides = {"facetwin": [facetwin, "verify", "--gallery", gallery, "--claim", "s1", probe],
         "face_recognition": [fr_python, "scripts/bench-verify-fr.py", "verify", templates, probe]}

def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    ms = 1000 * (time.perf_counter() - t0)
    if p.returncode not in (0, 1):
        sys.exit(f"bench: {' '.join(cmd)} failed (exit {p.returncode}): {p.stderr.strip()}")
    return ms, p.stdout

for cmd in sides.values():
    run(cmd)
times = {k: [] for k in sides}
for r in range(int(runs)):
    for k in (list(sides) if r % 2 == 0 else list(reversed(sides))):
        times[k].append(run(sides[k])[0])
answers = {"facetwin": json.loads(run(sides["facetwin"] + ["--json"])[1]),
           "face_recognition": json.loads(run(sides["face_recognition"])[1])}
json.dump({k: {"ms": statistics.median(times[k]), "runs_ms": times[k], "answer": answers[k]} for k in sides},
          open(dest, "w"))
PY
)
resnet_verify_rows() {
  local orl=${ORL_DIR:-data/orl}
  if [ ! -f "$RESNET_MODEL" ]; then skip resnet-verify "no $RESNET_MODEL (scripts/fetch-models.sh)"; return; fi
  if [ ! -f "$orl/s1/10.pgm" ]; then skip resnet-verify "no ORL data at $orl"; return; fi
  local fr=${FR_PYTHON:-.venv-fr-bench/bin/python}
  if ! "$fr" -c "import face_recognition, PIL, numpy" 2>/dev/null; then
    echo "bench: creating .venv-fr-bench with face_recognition (on the dlib-bin wheel)" >&2
    if python3 -m venv .venv-fr-bench && .venv-fr-bench/bin/pip install -q dlib-bin face_recognition_models numpy pillow click >&2 &&
      .venv-fr-bench/bin/pip install -q --no-deps face_recognition >&2; then
      fr=.venv-fr-bench/bin/python
    else
      skip resnet-verify "cannot install face_recognition"; return
    fi
  fi
  swift build -c release --product facetwin >&2
  local facetwin
  facetwin="$(swift build -c release --show-bin-path)/facetwin"
  echo "bench: cold verify with dlib's ResNet on a photo, FaceTwin and face_recognition, $VERIFY_RUNS runs each" >&2
  "$fr" scripts/compose-photos.py --orl "$orl" --out "$out/rv-photos" --identities s1 --count 10 --two 0 --none 0 \
    --scale 1.5,3 --seed 11 >&2 || { skip resnet-verify "compose-photos.py failed"; return; }
  local kept
  mapfile -t kept < <("$fr" scripts/bench-verify-fr.py enroll "$out/rv-all.json" "$out"/rv-photos/jpeg/s1/*.jpg)
  if [ "${#kept[@]}" -lt 4 ]; then skip resnet-verify "face_recognition found one face in only ${#kept[@]} of 10 photos"; return; fi
  "$fr" scripts/bench-verify-fr.py enroll "$out/rv-templates.json" "${kept[@]:0:3}" >/dev/null
  "$facetwin" enroll --gallery "$out/rv-gallery.sqlite" --model "$RESNET_MODEL" --name s1 "${kept[@]:0:3}" >/dev/null ||
    { skip resnet-verify "facetwin enroll of ${kept[*]:0:3} failed"; return; }
  python3 -c "$RESNET_VERIFY_TIMER" "$VERIFY_RUNS" "$out/resnet-verify.json" "$facetwin" "$fr" "$out/rv-gallery.sqlite" \
    "$out/rv-templates.json" "${kept[3]}" || skip resnet-verify "a verify run failed"
}
RESNET_VERIFY_TABLE=$(cat <<'PY'
import json, os, sys
out = sys.argv[1]
if os.path.exists(f"{out}/resnet-verify.skipped"):
    print(f"cold verify, dlib's ResNet, photo: skipped: {open(f'{out}/resnet-verify.skipped').read().strip()}")
    sys.exit(0)
v = json.load(open(f"{out}/resnet-verify.json"))
f, r = v["facetwin"], v["face_recognition"]
verdict = lambda a: "MATCH" if a["isMatch"] else "NO MATCH"
print(f"cold verify, dlib's ResNet, a 640x480 JPEG against 3 templates, process start to answer (median of "
      f"{len(f['runs_ms'])}): FaceTwin {f['ms']:.0f} ms, face_recognition {r['ms']:.0f} ms ({r['ms'] / f['ms']:.2f}x); "
      f"FaceTwin {verdict(f['answer'])} {f['answer']['distance']:.4f}, face_recognition {verdict(r['answer'])} "
      f"{r['answer']['distance']:.4f}")
PY
)
RESNET_TABLE=$(cat <<'PY'
import json, os, sys
out = sys.argv[1]
if os.path.exists(f"{out}/resnet.skipped"):
    print(f"dlib's ResNet: skipped: {open(f'{out}/resnet.skipped').read().strip()}")
    sys.exit(0)
ft = json.load(open(f"{out}/resnet.json"))
others = [json.loads(line) for line in open(f"{out}/resnet.jsonl")]
print(f"dlib's ResNet, ms a 150x150 chip (median; ratio = other / FaceTwin, above 1 is FaceTwin faster; "
      f"FaceTwin on {int(ft['workers'])} workers):")
targets = []
for b in (1, 32):
    mine = ft[f"resnet_batch{b}_ms_per_chip"]
    row = [f"FaceTwin {mine:.1f}", f"libdlib {ft[f'dlib_batch{b}_ms_per_chip']:.1f} ({ft[f'speedup_batch{b}']:.2f}x)"]
    targets.append((f"ResNet batch {b} >= 2x Debian's libdlib", ft[f"speedup_batch{b}"], 2))
    for r in others:
        if r["batch"] != b:
            continue
        ratio = r["ms_per_chip_median"] / mine
        if r["engine"].startswith("torch"):
            row.append(f"PyTorch {r['ms_per_chip_median']:.1f} ({ratio:.2f}x)")
            targets.append((f"ResNet batch {b} >= 1.5x PyTorch", ratio, 1.5))
        else:
            row.append(f"dlib-bin wheel {r['ms_per_chip_median']:.1f} ({ratio:.2f}x)")
            targets.append((f"ResNet batch {b} >= 5x the dlib-bin wheel", ratio, 5))
    print(f"  batch {b}: " + ", ".join(row))
for name, value, goal in targets:
    print(f"  target: {name}: {value:.2f}x, {'met' if value >= goal else 'NOT MET'}")
PY
)
if [ "$RESNET_ONLY" = 1 ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  skip() { echo "$2" > "$out/$1.skipped"; echo "bench: $1 skipped: $2" >&2; }
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  resnet_rows
  resnet_verify_rows
  python3 -c "$RESNET_TABLE" "$out"
  python3 -c "$RESNET_VERIFY_TABLE" "$out"
  echo "load average: before $before, after $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

swift build -c release --product facetwin-bench >&2
swift build -c release --product facetwin >&2
BIN_DIR="$(swift build -c release --show-bin-path)"
BENCH="$BIN_DIR/facetwin-bench"
FACETWIN="$BIN_DIR/facetwin"

PY=${BENCH_PYTHON:-.venv-bench/bin/python}
if [ "$PHOTOS_ONLY" = 1 ] && ! "$PY" -c "import numpy, PIL" 2>/dev/null; then PY=python3; fi
if [ "$PHOTOS_ONLY" = 0 ] && ! "$PY" -c "import torch, numpy, PIL, safetensors" 2>/dev/null; then
  echo "bench: creating .venv-bench with torch (CPU build), numpy, pillow, safetensors" >&2
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --upgrade pip >&2
  .venv-bench/bin/pip install -q "torch==2.13.0+cpu" numpy pillow safetensors >&2 ||
    .venv-bench/bin/pip install -q torch numpy pillow safetensors >&2
  PY=.venv-bench/bin/python
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# A measurement that could not be made leaves its reason here; the table prints it.
skip() { echo "$2" > "$out/$1.skipped"; echo "bench: $1 skipped: $2" >&2; }

cut -d' ' -f1-3 /proc/loadavg > "$out/load_before"
echo "bench: load average before: $(cat "$out/load_before")" >&2
ORL=${ORL_DIR:-data/orl}

# --- Photos: detection + alignment of a 640x480 photo, enroll of 100 photos ----------------------
# Writes $out/photos.json, or a reason to $out/photos.skipped.
PHOTO_TIMER=$(cat <<'PY'
import json, os, shutil, statistics, subprocess, sys, time
runs, dest, facetwin, model, photos, work = sys.argv[1:]
det = subprocess.run([facetwin, "detect", "--in", photos, "--out", os.path.join(work, "crops"), "--json"],
                     capture_output=True, text=True)
if det.returncode != 0:
    sys.exit(f"bench: facetwin detect failed: {det.stderr.strip()}")
doc = json.loads(det.stdout)
ms = [p["milliseconds"] for p in doc["photos"]]
found = sum(1 for p in doc["photos"] if p["status"] == "ok")
enroll_s, enrolled = [], None
for r in range(int(runs) + 1):  # the first run warms the file cache, untimed
    gallery = os.path.join(work, f"gallery{r}.sqlite")
    t0 = time.perf_counter()
    p = subprocess.run([facetwin, "enroll", "--gallery", gallery, "--model", model, "--folder", photos,
                        "--detect", "always", "--json"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench: facetwin enroll failed: {p.stderr.strip()}")
    os.remove(gallery)
    if r > 0:
        enroll_s.append(wall)
    enrolled = p.stdout
json.dump({"detect_ms_median": statistics.median(ms), "detect_ms_mean": statistics.mean(ms),
           "detect_ms_min": min(ms), "detect_ms_max": max(ms), "photos": len(ms), "faces_found": found,
           "enroll_s": statistics.median(enroll_s), "enroll_runs_s": enroll_s}, open(dest, "w"))
PY
)
photo_rows() {
  if [ ! -f "$ORL/s10/10.pgm" ]; then skip photos "no ORL data at $ORL"; return; fi
  if ! "$PY" -c "import numpy, PIL" 2>/dev/null; then skip photos "$PY has no numpy and Pillow (compose-photos.py)"; return; fi
  echo "bench: photos: composing 100 640x480 photos, detection + alignment, $PHOTO_RUNS enroll(s) of 100" >&2
  "$PY" scripts/compose-photos.py --orl "$ORL" --out "$out/photos" --identities s1,s2,s3,s4,s5,s6,s7,s8,s9,s10 \
    --count 100 --two 0 --none 0 --seed 5 >&2
  rm -rf "$out/photos/ppm" "$out/photos/png"
  "$FACETWIN" train --data "$ORL" --epochs 1 --seed 0 --out "$out/photo-model.safetensors" --quiet >/dev/null ||
    { skip photos "training the 1-epoch model failed"; return; }
  mkdir -p "$out/photo-work"
  python3 -c "$PHOTO_TIMER" "$PHOTO_RUNS" "$out/photos.json" "$FACETWIN" "$out/photo-model.safetensors" \
    "$out/photos/jpeg" "$out/photo-work" || skip photos "a photo run failed"
}
# Prints the photo rows (FaceTwin only).
PHOTO_TABLE=$(cat <<'PY'
import json, os, sys
out = sys.argv[1]
if os.path.exists(f"{out}/photos.skipped"):
    print(f"{'photos':28}  skipped: {open(f'{out}/photos.skipped').read().strip()}")
    sys.exit(0)
p = json.load(open(f"{out}/photos.json"))
print(f"{'detect + align, 640x480 (ms)':28}{p['detect_ms_median']:12.1f}{'-':>12}{'-':>10}")
print(f"{'enroll 100 photos (s)':28}{p['enroll_s']:12.1f}{'-':>12}{'-':>10}")
print(f"photos: {p['photos']} JPEG 640x480, one face each, {p['faces_found']} found; detection + alignment per photo "
      f"median {p['detect_ms_median']:.1f} ms, mean {p['detect_ms_mean']:.1f}, range {p['detect_ms_min']:.1f}-"
      f"{p['detect_ms_max']:.1f} (decoding excluded); enroll --folder --detect always of all 100, whole process: "
      f"median of {len(p['enroll_runs_s'])} run(s) {p['enroll_s']:.2f} s = {1000 * p['enroll_s'] / p['photos']:.0f} ms a photo "
      f"(runs: {', '.join(f'{v:.2f}' for v in p['enroll_runs_s'])} s)")
PY
)
if [ "$PHOTOS_ONLY" = 1 ]; then
  photo_rows
  echo "                                FaceTwin     PyTorch     ratio"
  python3 -c "$PHOTO_TABLE" "$out"
  echo "load average: before $(cat "$out/load_before"), after $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

# --- Step rounds ------------------------------------------------------------------------------
echo "bench: $ROUNDS rounds of $STEPS steps each side" >&2
for r in $(seq 1 "$ROUNDS"); do
  "$BENCH" --steps "$STEPS" >> "$out/facetwin.jsonl"
  "$PY" scripts/bench-torch.py --steps "$STEPS" >> "$out/torch.jsonl"
  echo "bench: round $r/$ROUNDS done" >&2
done

# --- Embeddings, alternated turn by turn --------------------------------------------------------
echo "bench: embeddings, $EMBED_PAIRS turns each side, alternated" >&2
"$PY" scripts/bench-embed-pairs.py "$BENCH" --pairs "$EMBED_PAIRS" > "$out/embed_pairs.json" ||
  { rm -f "$out/embed_pairs.json"; skip embed_pairs "scripts/bench-embed-pairs.py failed"; }

# --- Training run on ORL: peak RSS and wall time -----------------------------------------------
# Runs one command (output to a log file) and prints its peak RSS and wall time as JSON; exits
# with the command's status. A fresh interpreter per measurement, so RUSAGE_CHILDREN's maximum is
# that one child's (on Linux ru_maxrss is in KiB).
MEASURE=$(cat <<'PY'
import json, resource, subprocess, sys, time
with open(sys.argv[1], "wb") as log:
    t0 = time.perf_counter()
    rc = subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": rc, "rss_mib": rss, "wall_s": wall}))
sys.exit(rc)
PY
)
# Runs `measure NAME command...` and reports a failure with the end of its log.
measure() {
  local name=$1; shift
  python3 -c "$MEASURE" "$out/$name.log" "$@" > "$out/$name.json" && return 0
  echo "bench: $name failed; end of its output:" >&2
  tail -n 5 "$out/$name.log" >&2
  return 1
}

# Photos 1-5 of s5, s6 and s7 into a new gallery for the model trained above.
enroll_gallery() {
  for s in s5 s6 s7; do
    "$FACETWIN" enroll --gallery "$GALLERY" --model "$MODEL" --name "$s" "$ORL/$s"/{1,2,3,4,5}.pgm >/dev/null || return 1
  done
}
# Times `facetwin verify` and scripts/bench-verify-torch.py on the same gallery, claim and probe:
# one warm-up run each (file cache), then alternating timed runs (the order flips every run),
# then one --json run each for the exact answers. Writes JSON to its second argument.
VERIFY_TIMER=$(cat <<'PY'
import json, statistics, subprocess, sys, time
runs, dest, facetwin, py, gallery, claim, probe = sys.argv[1:]
args = ["--gallery", gallery, "--claim", claim, probe]
sides = {"facetwin": [facetwin, "verify", *args], "torch": [py, "scripts/bench-verify-torch.py", *args]}

def run(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    ms = 1000 * (time.perf_counter() - t0)
    if p.returncode not in (0, 1):  # 0 match, 1 no match
        sys.exit(f"bench: {' '.join(cmd)} failed (exit {p.returncode}): {p.stderr.strip()}")
    return ms, p.stdout

for cmd in sides.values():
    run(cmd)
times, verdicts = {k: [] for k in sides}, {k: set() for k in sides}
for r in range(int(runs)):
    for k in (list(sides) if r % 2 == 0 else list(reversed(sides))):
        ms, text = run(sides[k])
        times[k].append(ms)
        verdicts[k].add(text.split("  ")[0])  # "MATCH s5" / "NO MATCH s5"
result = {k: {"ms": statistics.median(times[k]), "runs_ms": times[k], "verdicts": sorted(verdicts[k]),
              "answer": json.loads(run(sides[k] + ["--json"])[1])} for k in sides}
json.dump(result, open(dest, "w"))
PY
)

MODEL="$out/model.safetensors"
GALLERY="$out/gallery.sqlite"
if [ ! -f "$ORL/s5/8.pgm" ]; then
  why="no ORL data at $ORL (set ORL_DIR, or run scripts/fetch-orl.sh --refetch)"
  skip train "$why"; skip verify "$why"
else
  echo "bench: training $EPOCHS epoch(s) of the reference recipe on $ORL, each side" >&2
  ft_ok=1
  measure train-facetwin "$FACETWIN" train --recipe reference --data "$ORL" --holdout s5,s6,s7 --epochs "$EPOCHS" --seed 0 \
    --out "$MODEL" || ft_ok=0
  measure train-torch "$PY" "$REF" "$ORL" --epochs "$EPOCHS" || true
  echo "bench: training $DEFAULT_EPOCHS epochs of the default recipe on $ORL, each side" >&2
  measure default-facetwin "$FACETWIN" train --data "$ORL" --holdout s5,s6,s7 --epochs "$DEFAULT_EPOCHS" --seed 0 \
    --out "$out/default.safetensors" || true
  measure default-torch "$PY" scripts/facetwin_torch.py "$ORL" --recipe default --epochs "$DEFAULT_EPOCHS" || true

  # --- Cold verify: one probe against a gallery, process start to answer ----------------------
  if [ "$ft_ok" = 0 ]; then
    skip verify "FaceTwin's training run failed, so there is no model"
  elif ! enroll_gallery; then
    skip verify "enrolling s5,s6,s7 failed"
  else
    echo "bench: cold verify, $VERIFY_RUNS runs each side" >&2
    python3 -c "$VERIFY_TIMER" "$VERIFY_RUNS" "$out/verify.json" "$FACETWIN" "$PY" "$GALLERY" s5 "$ORL/s5/8.pgm" ||
      skip verify "a verify run failed"
  fi
fi

photo_rows
resnet_rows
resnet_verify_rows

# --- Table ------------------------------------------------------------------------------------
python3 - "$out" "$EPOCHS" "$DEFAULT_EPOCHS" "$PHOTO_TABLE" <<'PY'
import json, os, statistics, subprocess, sys
out, epochs, default_epochs, photo_table = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
# The product's speed targets (order, what, this run's figure, met?), printed at the end; one
# whose figure was not measured here is left out.
targets = []
ft = [json.loads(l) for l in open(f"{out}/facetwin.jsonl")]
pt = [json.loads(l) for l in open(f"{out}/torch.jsonl")]
med = lambda rows, k: statistics.median(r[k] for r in rows)

def load(name):
    try:
        return json.load(open(f"{out}/{name}.json"))
    except FileNotFoundError:
        return None

def skipped(name):
    try:
        return open(f"{out}/{name}.skipped").read().strip()
    except FileNotFoundError:
        return None

def row(name, a, b):
    """a, b: numbers, or strings saying why there is none."""
    cell = lambda v: f"{v:12.1f}" if isinstance(v, (int, float)) else f"{v:>12}"
    ratio = f"{a / b:9.2f}x" if all(isinstance(v, (int, float)) for v in (a, b)) else f"{'-':>10}"
    print(f"{name:28}{cell(a)}{cell(b)}{ratio}")

print(f"{'':28}{'FaceTwin':>12}{'PyTorch':>12}{'ratio':>10}")
rows = [("training step (ms)", "ms_per_step", "lower"), ("pairs/s", "pairs_per_s", "higher"),
        ("embeddings/s (batch 64)", "embed_per_s", "higher"), ("latency, 1 image (ms)", "latency_ms", "lower")]
for name, key, better in rows:
    row(name, med(ft, key), med(pt, key))
    r = med(ft, key) / med(pt, key)
    if key == "ms_per_step":
        targets.append((1, "training step >= 2x PyTorch's speed (time <= 0.5x)", f"{r:.2f}x", r <= 0.5))
    if key == "embed_per_s":
        targets.append((2, "embeddings/s >= 2x PyTorch's, rounds", f"{r:.2f}x", r >= 2))
        why, ep = skipped("embed_pairs"), load("embed_pairs")
        if why or ep is None:
            print(f"{'  alternated turn by turn':28}  skipped: {why or 'not run'}")
        else:
            # The ratio is the median of the pairs' own ratios, not a ratio of the two medians.
            print(f"{'  alternated turn by turn':28}{ep['facetwin_embed_per_s']:12.1f}{ep['torch_embed_per_s']:12.1f}"
                  f"{ep['ratio_median']:9.2f}x")
            targets.append((2, "embeddings/s >= 2x PyTorch's, alternated", f"{ep['ratio_median']:.2f}x", ep["ratio_median"] >= 2))

def train_cell(run, key):
    if run is None:
        return "not run"
    return run[key] if run["rc"] == 0 else f"exit {run['rc']}"

notes = []
ep = load("embed_pairs")
if ep:
    notes.append(f"embeddings alternated: {ep['pairs']} turns each side, the ratio per pair of turns: median "
                 f"{ep['ratio_median']:.2f}x, quartiles {ep['ratio_q1']:.2f}-{ep['ratio_q3']:.2f}x, "
                 f"range {ep['ratio_min']:.2f}-{ep['ratio_max']:.2f}x (the row above it: each side's own loop, "
                 "medians of the rounds)")
why = skipped("train")
train_rows = [(f"training peak RSS (MiB)", "rss_mib"), (f"training run, {epochs} ep. (s)", "wall_s")]
if why:
    for name, _ in train_rows:
        print(f"{name:28}  skipped: {why}")
else:
    tf, tt = load("train-facetwin"), load("train-torch")
    for name, key in train_rows:
        row(name, train_cell(tf, key), train_cell(tt, key))
    if tf and tf["rc"] == 0:
        targets.append((5, "training peak RSS <= 1.5 GiB", f"{tf['rss_mib']:.1f} MiB", tf["rss_mib"] <= 1536))
    notes.append(f"training run: reference recipe on ORL, s5,s6,s7 held out, {epochs} epoch(s), whole process "
                 "(FaceTwin validates every epoch and writes the model; the reference evaluates once)")
why = skipped("train")
default_rows = [("default recipe peak RSS (MiB)", "rss_mib"), (f"default recipe, {default_epochs} ep. (s)", "wall_s")]
if not why:
    df, dt = load("default-facetwin"), load("default-torch")
    for name, key in default_rows:
        row(name, train_cell(df, key), train_cell(dt, key))
    if df and df["rc"] == 0:
        targets.append((7, f"default recipe trains {default_epochs} epochs in < 60 s", f"{df['wall_s']:.1f} s", df["wall_s"] < 60))
    notes.append(f"default recipe: ORL, s5,s6,s7 held out, {default_epochs} epochs, whole process (PyTorch: "
                 "facetwin_torch.py's run_default, the same network and batches without augmentation)")

why = skipped("verify")
if why:
    print(f"{'cold verify, 1 probe (ms)':28}  skipped: {why}")
else:
    v = load("verify")
    f, t = v["facetwin"], v["torch"]
    row("cold verify, 1 probe (ms)", f["ms"], t["ms"])
    targets.append((4, "cold verify <= 0.25 s", f"{f['ms']:.1f} ms", f["ms"] <= 250))
    fa, ta = f["answer"], t["answer"]
    verdict = lambda a: "MATCH" if a["isMatch"] else "NO MATCH"
    notes.append(f"cold verify: {os.path.basename(os.path.dirname(fa['probe']))}/{os.path.basename(fa['probe'])} "
                 f"claiming {fa['claim']}, median of {len(f['runs_ms'])} runs; FaceTwin {verdict(fa)} "
                 f"{fa['distance']:.6f}, PyTorch {verdict(ta)} {ta['distance']:.6f} (threshold {fa['threshold']:.6f})")
    # Same final answer, and every timed run of each side gave one and the same verdict.
    agree = (verdict(fa) == verdict(ta) and abs(fa["distance"] - ta["distance"]) <= 1e-4
             and len(f["verdicts"]) == 1 and f["verdicts"] == t["verdicts"])
    targets.append((6, "cold verify's verdict and distance agree with PyTorch's (1e-4)", f"{abs(fa['distance'] - ta['distance']):.1e}", agree))
    if not agree:
        notes.append(f"WARNING: FaceTwin and PyTorch disagree: verdicts {f['verdicts']} vs {t['verdicts']}, "
                     f"distances {fa['distance']:.6f} vs {ta['distance']:.6f}")

sys.stdout.flush()
subprocess.run([sys.executable, "-c", photo_table, out])

# The step's share of the machine: a nominal peak (AVX2: 2 FMA units × 8 lanes × 2 FLOP per cycle
# and core, at /proc/cpuinfo's clock, which on a VM is usually the base clock) and a large SGEMM.
cores = len(os.sched_getaffinity(0))
cpuinfo = open("/proc/cpuinfo").read().splitlines()
mhz = [float(l.split(":")[1]) for l in cpuinfo if l.startswith("cpu MHz")]
flags = next((set(l.split(":")[1].split()) for l in cpuinfo if l.startswith("flags")), set())
gflops = med(ft, "gflops")
line = f"FaceTwin step: {med(ft, 'gflop_per_step'):.1f} GFLOP at {gflops:.1f} GFLOP/s = "
if mhz and {"avx2", "fma"} <= flags:
    peak = cores * 32 * max(mhz) / 1000
    targets.append((3, "training step >= 50% of nominal peak", f"{100 * gflops / peak:.0f}%", gflops >= peak / 2))
    line += f"{100 * gflops / peak:.0f}% of nominal peak ({peak:.0f} GFLOP/s, {cores} cores × 32 × {max(mhz):.0f} MHz), "
else:
    line += "nominal peak unknown (no AVX2/FMA or no 'cpu MHz' in /proc/cpuinfo), "
if all("gemm_gflops" in r for r in ft):
    gemm = med(ft, "gemm_gflops")
    line += f"{100 * gflops / gemm:.0f}% of this machine's large-SGEMM rate ({gemm:.0f} GFLOP/s)"
else:
    line += "large-SGEMM rate not measured"
print(line)
# The fastest step of all rounds: what the engine does when the machine leaves it alone (the
# median above carries a shared machine's noise; the ratios compare medians of the same run).
best_ft, best_pt = min(r["ms_per_step_min"] for r in ft), min(r["ms_per_step_min"] for r in pt)
best_line = f"fastest step: FaceTwin {best_ft:.1f} ms ({med(ft, 'gflop_per_step') / best_ft * 1000:.1f} GFLOP/s"
if mhz and {"avx2", "fma"} <= flags:
    best_line += f", {100 * med(ft, 'gflop_per_step') / best_ft * 1000 / peak:.0f}% of nominal peak"
best_line += f"), PyTorch {best_pt:.1f} ms, ratio {best_ft / best_pt:.2f}x"
print(best_line)
# Each round's median step on each side, the large SGEMM FaceTwin's process measured in it, and
# each round's embeddings:
# a slow round shows up on both sides and in the SGEMM when the machine, not the engine, slowed.
rounds_line = ("steps per round (median ms): FaceTwin " + ", ".join(f"{r['ms_per_step']:.1f}" for r in ft)
               + "; PyTorch " + ", ".join(f"{r['ms_per_step']:.1f}" for r in pt))
if all("gemm_gflops" in r for r in ft):
    rounds_line += "; large SGEMM " + ", ".join(f"{r['gemm_gflops']:.0f}" for r in ft) + " GFLOP/s"
print(rounds_line)
print("embeddings/s per round: FaceTwin " + ", ".join(f"{r['embed_per_s']:.0f}" for r in ft)
      + "; PyTorch " + ", ".join(f"{r['embed_per_s']:.0f}" for r in pt))
for n in notes:
    print(n)
print(f"(ratio = FaceTwin / PyTorch; PyTorch {pt[0]['torch']}, {pt[0]['threads']} threads)")
load_after = " ".join(open("/proc/loadavg").read().split()[:3])
print(f"load average: before {open(f'{out}/load_before').read().strip()}, after {load_after}")
# The agreement with PyTorch checked here is only the verify's; the PyTorch-parity tests are
# `swift test --filter "Golden|TorchModel"` (scripts/make-golden.py), not run by this script.
print("targets:")
for _, name, value, ok in sorted(targets, key=lambda t: t[0]):
    print(f"  target: {name}: {value}, {'met' if ok else 'NOT MET'}")
PY
python3 -c "$RESNET_TABLE" "$out"
python3 -c "$RESNET_VERIFY_TABLE" "$out"
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
