#!/usr/bin/env bash
# Builds and runs Examples/VerifyApp, a package that depends on FaceTwin as another program
# would (by path here): it enrolls photos 1 and 2 of ORL's s5 into a temporary gallery and
# verifies photo 3 of s5, then photo 1 of s8, each claiming s5. With the pretrained ResNet when
# models/ has it (s5 must match, s8 must not), else with a twin trained here for a few epochs
# (each answer must be a verdict, exit 0 or 1: a short training run may get a pair wrong).
#   scripts/example.sh [--facetwin PATH] [--epochs E]
#     --facetwin PATH  the facetwin that trains the twin (default: build the release one)
#     --epochs E       the twin's epochs (default 5)
# ORL: $ORL_DIR, else data/orl. The pretrained model: $FACETWIN_MODELS_DIR, else models/.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=""; EPOCHS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --facetwin) BIN=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    *) echo "example: unknown option $1" >&2; exit 2 ;;
  esac
done
ORL=${ORL_DIR:-data/orl}
PRETRAINED=${FACETWIN_MODELS_DIR:-models}/dlib-resnet.safetensors

echo "example: building Examples/VerifyApp (release)" >&2
swift build -c release --package-path Examples/VerifyApp >&2
APP="$(swift build -c release --package-path Examples/VerifyApp --show-bin-path)/VerifyApp"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -f "$PRETRAINED" ]; then
  MODEL=$PRETRAINED; strict=1
else
  if [ -z "$BIN" ]; then
    swift build -c release --product facetwin >&2
    BIN="$(swift build -c release --show-bin-path)/facetwin"
  fi
  echo "example: no $PRETRAINED (scripts/fetch-models.sh): training a twin for $EPOCHS epochs" >&2
  MODEL="$work/twin.safetensors"; strict=0
  "$BIN" train --data "$ORL" --holdout s5,s6,s7 --epochs "$EPOCHS" --seed 0 --out "$MODEL" --quiet >/dev/null
fi

# Runs VerifyApp and checks its exit status: $1 is the status expected in strict mode.
run() {
  local expected=$1; shift
  local rc=0
  echo "example: VerifyApp $(basename "$MODEL") $*" >&2
  "$APP" "$MODEL" "$@" || rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then echo "example: VerifyApp failed (exit $rc)" >&2; exit 1; fi
  if [ "$strict" = 1 ] && [ "$rc" != "$expected" ]; then
    echo "example: expected exit $expected from the pretrained model, got $rc" >&2; exit 1
  fi
}
run 0 s5 "$ORL/s5/1.pgm" "$ORL/s5/2.pgm" "$ORL/s5/3.pgm"
run 1 s5 "$ORL/s5/1.pgm" "$ORL/s5/2.pgm" "$ORL/s8/1.pgm"
echo "example: VerifyApp built against FaceTwin and answered" >&2
