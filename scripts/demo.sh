#!/usr/bin/env bash
# The whole job on ORL, from a fresh clone: install and build, get ORL, train the seed recipe
# with s5,s6,s7 held out, then show what the model file holds.
#   scripts/demo.sh               (EPOCHS=50 by default; EPOCHS=5 for a quick look)
# ORL comes from $ORL_MIRROR when set, else ../shared/data/orl beside the checkout when it is
# there, else the public archive.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-50}
OUT=${OUT:-runs/demo}

scripts/setup.sh
BIN="$(swift build -c release --show-bin-path)/facetwin"

if [ -z "${ORL_MIRROR:-}" ] && [ -d ../shared/data/orl/s1 ]; then export ORL_MIRROR=../shared/data/orl; fi
scripts/fetch-orl.sh

mkdir -p "$OUT"
echo
echo "== train: seed recipe, $EPOCHS epochs, identities s5,s6,s7 held out"
"$BIN" train --data data/orl --holdout s5,s6,s7 --epochs "$EPOCHS" --seed 0 --out "$OUT/model.safetensors"
echo
echo "== the model file"
"$BIN" info --model "$OUT/model.safetensors"
