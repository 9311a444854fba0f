#!/usr/bin/env bash
# Symbol graphs of the release build's FaceTwin library modules, for scripts/public-api.sh and
# scripts/docs.sh (build first: swift build -c release --product facetwin).
#   scripts/symbol-graphs.sh OUT_DIR [--umbrella]
# Default: one graph per library module (FaceTwinServer and FaceTwinPostgres left out), minimum
# access level public, synthesized members skipped. --umbrella: only the `FaceTwin` module's
# graph, with the symbols it re-exports from those modules (what `import FaceTwin` gives).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/symbol-graphs.sh OUT_DIR [--umbrella]}
UMBRELLA=${2:-}
BIN=$(swift build -c release --show-bin-path)
mkdir -p "$OUT"
modules=$(ls Sources | grep -E '^FaceTwin[A-Za-z]*$' | grep -Ev '^FaceTwin(Server|Postgres)$')
# The C modules the Swift modules import: the package's own and its dependencies' (their module
# maps as the build wrote them, and system-library targets' own, such as GRDB's SQLite).
includes=()
for d in Sources/C*/include; do includes+=(-Xcc "-I$PWD/$d"); done
for m in "$BIN"/*.build/module.modulemap .build/checkouts/*/Sources/*/module.modulemap; do
  [ -f "$m" ] && includes+=(-Xcc "-fmodule-map-file=$PWD/${m#$PWD/}")
done
extract() {
  swift symbolgraph-extract -module-name "$1" -I "$BIN/Modules" -I "$BIN" "${includes[@]}" \
    -target x86_64-unknown-linux-gnu -minimum-access-level public -skip-synthesized-members -output-dir "$OUT" "${@:2}" >/dev/null
}
if [ "$UMBRELLA" = --umbrella ]; then
  extract FaceTwin -experimental-allowed-reexported-modules="$(echo "$modules" | grep -v '^FaceTwin$' | paste -sd, -)"
else
  for m in $modules; do extract "$m"; done
fi
