#!/usr/bin/env bash
# Puts the ORL face database (40 identities x 10 PGM images) in data/orl.
#   ORL_MIRROR=DIR scripts/fetch-orl.sh   copy from a local copy (CI: ../shared/data/orl)
#   scripts/fetch-orl.sh                  download the public archive
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=data/orl
URL="${ORL_URL:-https://www.cl.cam.ac.uk/Research/DTG/attarchive/pub/data/att_faces.zip}"

count_images() { find "$1" -mindepth 2 -maxdepth 2 -iname '*.pgm' 2>/dev/null | wc -l; }

if [ -d "$DEST" ] && [ "$(count_images "$DEST")" -ge 400 ]; then
  echo "fetch-orl: $DEST already holds $(count_images "$DEST") images" >&2
  exit 0
fi
mkdir -p data
tmp=$(mktemp -d data/.orl-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${ORL_MIRROR:-}" ]; then
  [ -d "$ORL_MIRROR" ] || { echo "fetch-orl: ORL_MIRROR=$ORL_MIRROR is not a directory" >&2; exit 1; }
  cp -R "$ORL_MIRROR"/. "$tmp"/
else
  command -v curl >/dev/null || { echo "fetch-orl: curl is needed to download ORL (or set ORL_MIRROR to a local copy)" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "fetch-orl: unzip is needed (apt-get install unzip)" >&2; exit 1; }
  echo "fetch-orl: downloading $URL" >&2
  if ! curl -fsSL --retry 2 --connect-timeout 20 -o "$tmp/orl.zip" "$URL"; then
    echo "fetch-orl: could not download $URL; set ORL_MIRROR to a local copy of the ORL folders (s1..s40)" >&2
    exit 1
  fi
  unzip -q "$tmp/orl.zip" -d "$tmp/unz" || { echo "fetch-orl: $URL is not a valid zip archive" >&2; exit 1; }
  src=$(dirname "$(find "$tmp/unz" -type d -name s1 | head -1)")
  [ -n "$src" ] && [ -d "$src/s1" ] || { echo "fetch-orl: the archive has no s1..s40 folders" >&2; exit 1; }
  mkdir "$tmp/orl" && cp -R "$src"/. "$tmp/orl"/ && rm -rf "$tmp/unz" "$tmp/orl.zip" && mv "$tmp/orl"/* "$tmp"/ && rmdir "$tmp/orl"
fi

n=$(count_images "$tmp")
[ "$n" -ge 400 ] || { echo "fetch-orl: expected 400 PGM images in s1..s40, found $n" >&2; exit 1; }
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "fetch-orl: $DEST ready ($n images)" >&2
