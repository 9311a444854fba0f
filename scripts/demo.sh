#!/usr/bin/env bash
# The whole job on ORL, from a fresh clone: install and build, train the default recipe on
# data/orl with s5,s6,s7 held out, evaluate on those unseen identities, then enroll them into a
# gallery and verify and identify probes that were not enrolled. Then the same with dlib's
# pretrained ResNet (fetched once by scripts/setup.sh; skipped, saying so, when it is not here):
# zero-shot on all 40 ORL people, calibrated on s1-s20, and a gallery of s21-s25.
#   scripts/demo.sh               (EPOCHS=50 by default; EPOCHS=5 for a quick look)
# Everything the demo writes goes to runs/demo/ (OUT=DIR elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-50}
OUT=${OUT:-runs/demo}

scripts/setup.sh
BIN="$(swift build -c release --show-bin-path)/facetwin"

D=data/orl
[ -f "$D/s40/10.pgm" ] || { echo "demo: $D is incomplete (scripts/fetch-orl.sh --verify checks it, --refetch restores it)" >&2; exit 1; }

rm -rf "$OUT" && mkdir -p "$OUT"
M="$OUT/model.safetensors"
G="$OUT/gallery.sqlite"

step() { echo; echo "== $*"; }

step "train: default recipe, $EPOCHS epochs, identities s5,s6,s7 held out"
"$BIN" train --data "$D" --holdout s5,s6,s7 --epochs "$EPOCHS" --seed 0 --out "$M"

step "the model file"
"$BIN" info --model "$M"

step "evaluate on the held-out identities (all their pairs); report in $OUT/report"
"$BIN" evaluate --model "$M" --data "$D" --identities s5,s6,s7 --report "$OUT/report"

step "enroll photos 1-5 of each held-out person"
for s in s5 s6 s7; do
  "$BIN" enroll --gallery "$G" --model "$M" --name "$s" "$D/$s"/{1,2,3,4,5}.pgm
done
"$BIN" gallery list --gallery "$G"

# verify exits 0 for a match and 1 for no match, so the script goes on either way.
step "verify: photo 8 of s5 claiming to be s5 (a genuine claim)"
"$BIN" verify --gallery "$G" --claim s5 "$D/s5/8.pgm" || true
step "verify: photo 9 of s6 claiming to be s5 (an impostor)"
"$BIN" verify --gallery "$G" --claim s5 "$D/s6/9.pgm" || true

step "identify: photo 10 of s7"
"$BIN" identify --gallery "$G" "$D/s7/10.pgm" --top 3 || true
step "identify: photo 10 of s1 (a person who was never enrolled)"
"$BIN" identify --gallery "$G" "$D/s1/10.pgm" --top 3 || true

P=models/dlib-resnet.safetensors
if [ ! -f "$P" ]; then
  echo
  echo "demo: $P is not here (scripts/fetch-models.sh fetches it once, with network): the pretrained part is skipped"
  exit 0
fi
PC="$OUT/dlib-calibrated.safetensors"
PG="$OUT/gallery-dlib.sqlite"

step "pretrained: dlib's ResNet run by FaceTwin, zero-shot on all 40 ORL people (no training on them here)"
"$BIN" info --model "$P"
"$BIN" evaluate --model "$P" --data "$D" --bootstrap 200 --identification --gallery-images 5

step "calibrate it on s1-s20 at the EER (stores the threshold and the error rates of every distance)"
"$BIN" calibrate --model "$P" --data "$D" --identities "$(echo s{1..20} | tr ' ' ,)" --eer --out "$PC"

step "enroll photos 1-5 of s21-s25 (each photo: face found, 5 landmarks, dlib's 150x150 chip)"
for s in s21 s22 s23 s24 s25; do
  "$BIN" enroll --gallery "$PG" --model "$PC" --name "$s" "$D/$s"/{1,2,3,4,5}.pgm
done
step "verify: photo 8 of s21 claiming to be s21, then photo 9 of s22 claiming to be s21"
"$BIN" verify --gallery "$PG" --claim s21 "$D/s21/8.pgm" || true
"$BIN" verify --gallery "$PG" --claim s21 "$D/s22/9.pgm" || true
step "identify: photo 10 of s25, then photo 10 of s30 (never enrolled)"
"$BIN" identify --gallery "$PG" "$D/s25/10.pgm" --top 3 || true
"$BIN" identify --gallery "$PG" "$D/s30/10.pgm" --top 3 || true
