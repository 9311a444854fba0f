#!/usr/bin/env bash
# The FaceTwin library's API documentation: DocC over what `import FaceTwin` gives (the symbols the
# `FaceTwin` module re-exports from its layer modules, scripts/symbol-graphs.sh --umbrella), with
# Sources/FaceTwin/FaceTwin.docc as its catalog and Examples/VerifyApp as its getting-started
# article: a static site in .build/docs (or --out DIR; open DIR/documentation/facetwin/index.html
# through a web server, or host the folder). A link that does not resolve fails the script.
#   scripts/docs.sh [--out DIR] [--no-build]
# --no-build: document the release build as it is (scripts/test.sh checks the links of the build it
# tests this way).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.build/docs
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "docs: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$BUILD" = 0 ] || swift build -c release --product facetwin >&2
graphs=$(mktemp -d)
trap 'rm -rf "$graphs"' EXIT
scripts/symbol-graphs.sh "$graphs" --umbrella
docc convert Sources/FaceTwin/FaceTwin.docc --additional-symbol-graph-dir "$graphs" --output-path "$OUT" \
  --fallback-display-name FaceTwin --fallback-bundle-identifier FaceTwin --transform-for-static-hosting \
  --warnings-as-errors >&2
echo "docs: $OUT/documentation/facetwin/index.html" >&2
