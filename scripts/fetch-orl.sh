#!/usr/bin/env bash
# The ORL face database ships in data/orl (40 identities x 10 PGM images and its README). This
# script checks that copy, or replaces it with a fresh download.
#   scripts/fetch-orl.sh [--verify]   check data/orl against data/orl.sha256 (every file, nothing extra)
#   scripts/fetch-orl.sh --refetch    download the public archive again, check it, replace data/orl
#   ORL_MIRROR=DIR scripts/fetch-orl.sh --refetch   take the s1..s40 folders from a local copy instead
# ORL_URL overrides the archive's address. Exit 0 when data/orl matches the checksums, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=data/orl
SUMS=data/orl.sha256
URL="${ORL_URL:-https://www.cl.cam.ac.uk/Research/DTG/attarchive/pub/data/att_faces.zip}"

MODE=verify
case "${1:-}" in
  ""|--verify) MODE=verify ;;
  --refetch) MODE=refetch ;;
  -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "fetch-orl: unknown option $1 (--verify or --refetch)" >&2; exit 2 ;;
esac

# Checks directory $1 against the checksum list: every listed file with its hash, and no other
# files (the list names README and s1/1.pgm ... s40/10.pgm, relative to the directory).
verify() {
  local dir=$1 sums
  sums="$(pwd)/$SUMS"
  [ -d "$dir" ] || { echo "fetch-orl: $dir does not exist" >&2; return 1; }
  if ! (cd "$dir" && sha256sum --check --quiet --strict "$sums"); then
    echo "fetch-orl: $dir does not match $SUMS" >&2
    return 1
  fi
  local extra
  extra=$(cd "$dir" && find . -type f | sed 's|^\./||' | sort | comm -23 - <(awk '{print $2}' "$sums" | sort))
  if [ -n "$extra" ]; then
    echo "fetch-orl: $dir holds files that are not in $SUMS: $(echo "$extra" | head -3 | tr '\n' ' ')" >&2
    return 1
  fi
  echo "fetch-orl: $dir matches $SUMS ($(wc -l < "$sums") files)" >&2
}

if [ "$MODE" = verify ]; then
  verify "$DEST"
  exit
fi

tmp=$(mktemp -d data/.orl-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/orl"
if [ -n "${ORL_MIRROR:-}" ]; then
  [ -d "$ORL_MIRROR/s1" ] || { echo "fetch-orl: ORL_MIRROR=$ORL_MIRROR has no s1..s40 folders" >&2; exit 1; }
  src=$ORL_MIRROR
else
  command -v curl >/dev/null || { echo "fetch-orl: curl is needed to download ORL (or set ORL_MIRROR to a local copy)" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "fetch-orl: unzip is needed (apt-get install unzip)" >&2; exit 1; }
  echo "fetch-orl: downloading $URL" >&2
  if ! curl -fsSL --retry 2 --connect-timeout 20 -o "$tmp/orl.zip" "$URL"; then
    echo "fetch-orl: could not download $URL; set ORL_MIRROR to a local copy of the ORL folders (s1..s40)" >&2
    exit 1
  fi
  unzip -q "$tmp/orl.zip" -d "$tmp/unz" || { echo "fetch-orl: $URL is not a valid zip archive" >&2; exit 1; }
  s1=$(find "$tmp/unz" -type d -name s1 | head -1)
  [ -n "$s1" ] || { echo "fetch-orl: the archive has no s1..s40 folders" >&2; exit 1; }
  src=$(dirname "$s1")
fi
for i in $(seq 1 40); do
  [ -d "$src/s$i" ] || { echo "fetch-orl: $src has no s$i folder" >&2; exit 1; }
  mkdir "$tmp/orl/s$i"
  cp "$src/s$i"/*.pgm "$tmp/orl/s$i/"
done
# The database's README asks users to credit the Olivetti Research Laboratory; keep it with the
# images (the current copy's, if the source has none).
if [ -f "$src/README" ]; then cp "$src/README" "$tmp/orl/"
elif [ -f "$DEST/README" ]; then cp "$DEST/README" "$tmp/orl/"; fi

verify "$tmp/orl" || exit 1
rm -rf "$DEST"
mv "$tmp/orl" "$DEST"
echo "fetch-orl: $DEST replaced with a checked copy" >&2
