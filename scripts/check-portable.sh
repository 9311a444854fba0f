#!/usr/bin/env bash
# The release binary on a CPU without AVX2: `facetwin compare` of ORL crops run natively and
# under `qemu-x86_64 -cpu Westmere` (Debian's qemu-user, installed if missing; the emulated CPU
# has SSE4.2 but no AVX, so any AVX2/FMA instruction the binary ran there would stop it with
# SIGILL), with a twin trained here for a few epochs and, when models/ has it, the pretrained
# ResNet. Each pair must give the same verdict both ways, and distances within 1e-4.
# Debian's OpenBLAS chooses its kernels at run time by its own CPU check, which picks its Haswell
# kernels under this emulation (`openblas_get_corename()` says Haswell under `-cpu Westmere`, while
# CPUID there shows no AVX), so the emulated runs name its core: OPENBLAS_CORETYPE=Nehalem.
#   scripts/check-portable.sh [--facetwin PATH] [--cpu MODEL] [--epochs E]
#     --facetwin PATH  the binary to check (default: build the release one)
#     --cpu MODEL      the emulated CPU (default Westmere; `qemu-x86_64 -cpu help` lists them)
#     --epochs E       epochs of the twin trained for the check (default 3)
# ORL: $ORL_DIR, else data/orl. The pretrained model: $FACETWIN_MODELS_DIR, else models/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=""; CPU=Westmere; EPOCHS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --facetwin) BIN=$2; shift 2 ;;
    --cpu) CPU=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    *) echo "check-portable: unknown option $1" >&2; exit 2 ;;
  esac
done
ORL=${ORL_DIR:-data/orl}
MODELS=${FACETWIN_MODELS_DIR:-models}

if ! command -v qemu-x86_64 >/dev/null; then
  echo "check-portable: installing qemu-user" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-user >/dev/null; } ||
    { echo "check-portable: cannot install qemu-user (Debian's package)" >&2; exit 1; }
fi
if [ -z "$BIN" ]; then
  swift build -c release --product facetwin >&2
  BIN="$(swift build -c release --show-bin-path)/facetwin"
fi
[ -x "$BIN" ] || { echo "check-portable: no facetwin at $BIN" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "check-portable: training a twin on $ORL for $EPOCHS epochs (s5,s6,s7 held out)" >&2
"$BIN" train --data "$ORL" --holdout s5,s6,s7 --epochs "$EPOCHS" --seed 0 --out "$work/twin.safetensors" --quiet >/dev/null

models=("$work/twin.safetensors")
if [ -f "$MODELS/dlib-resnet.safetensors" ]; then
  models+=("$MODELS/dlib-resnet.safetensors")
else
  echo "check-portable: no $MODELS/dlib-resnet.safetensors (scripts/fetch-models.sh): the twin only" >&2
fi
pairs=("$ORL/s5/1.pgm $ORL/s5/2.pgm" "$ORL/s5/1.pgm $ORL/s6/1.pgm")

# Runs `facetwin compare` (native or under qemu) and writes its JSON answer, or fails.
compare() {
  local out=$1; shift
  local rc=0
  "$@" --json > "$out" 2> "$out.err" || rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
    echo "check-portable: $* failed (exit $rc): $(tail -n 3 "$out.err")" >&2
    return 1
  fi
}

failed=0
n=0
for model in "${models[@]}"; do
  for pair in "${pairs[@]}"; do
    n=$((n + 1))
    read -r a b <<< "$pair"
    compare "$work/native$n.json" "$BIN" compare "$a" "$b" --model "$model"
    start=$(date +%s.%N)
    compare "$work/qemu$n.json" env OPENBLAS_CORETYPE=Nehalem qemu-x86_64 -cpu "$CPU" "$BIN" compare "$a" "$b" --model "$model"
    end=$(date +%s.%N)
    python3 - "$work/native$n.json" "$work/qemu$n.json" "$(basename "$model")" "$CPU" "$start" "$end" <<'PY' || failed=1
import json, os, sys
native, emulated = (json.load(open(p)) for p in sys.argv[1:3])
model, cpu, seconds = sys.argv[3], sys.argv[4], float(sys.argv[6]) - float(sys.argv[5])
pair = " ".join("/".join(native[k].split("/")[-2:]) for k in ("image1", "image2"))
verdict = lambda r: "MATCH" if r["match"] else "NO MATCH"
diff = abs(native["distance"] - emulated["distance"])
ok = native["match"] == emulated["match"] and diff <= 1e-4
print(f"{model:26} {pair:22} native {verdict(native):8} {native['distance']:.6f}   "
      f"{cpu} (qemu, {seconds:.1f} s) {verdict(emulated):8} {emulated['distance']:.6f}   "
      f"difference {diff:.1e}  {'ok' if ok else 'DIFFERENT'}")
sys.exit(0 if ok else 1)
PY
  done
done
if [ "$failed" != 0 ]; then
  echo "check-portable: the emulated run disagrees with the native one" >&2
  exit 1
fi
echo "check-portable: $n comparisons on $CPU (no AVX) agree with the native run"
