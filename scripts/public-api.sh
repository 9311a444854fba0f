#!/usr/bin/env bash
# Counts the library's public API, over the FaceTwin* library modules (the service and PostgreSQL
# products, FaceTwinServer and FaceTwinPostgres, left out):
#   scripts/public-api.sh [--grep COMMIT] [--list]
# Default: symbol graphs of the release build's modules (`swift symbolgraph-extract`, minimum
# access level public, synthesized members skipped; build first, e.g. swift build -c release
# --product facetwin): declarations = symbols, types = classes, structs, enums, protocols and
# type aliases; a symbol re-exported by several modules is counted once (by its identifier).
# --grep COMMIT: source lines of that commit that declare with the `public` keyword (types:
# `public` class, struct, enum, protocol, actor or typealias), for commits without a build.
# --list: also print each public type (symbol graphs) or line (grep).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=symbols; COMMIT=""; LIST=0
while [ $# -gt 0 ]; do
  case "$1" in
    --grep) MODE=grep; COMMIT=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    *) echo "public-api: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ "$MODE" = grep ]; then
  files=$(git ls-tree -r --name-only "$COMMIT" Sources | grep -E '^Sources/FaceTwin[A-Za-z]*/.*\.swift$' \
    | grep -Ev '^Sources/FaceTwin(Server|Postgres)/')
  decl='^[[:space:]]*((@[A-Za-z_]+(\([^)]*\))?|final|static|class|override|nonisolated|convenience|required|mutating|indirect)[[:space:]]+)*public[[:space:]]'
  type='^[[:space:]]*((@[A-Za-z_]+(\([^)]*\))?|final|indirect)[[:space:]]+)*public[[:space:]]+((final|indirect)[[:space:]]+)?(class|struct|enum|protocol|actor|typealias)[[:space:]]'
  lines=$(for f in $files; do git show "$COMMIT:$f" | grep -E "$decl" | sed "s|^|$f: |" || true; done)
  echo "$COMMIT: $(printf '%s\n' "$lines" | grep -c . ) public declarations, $(printf '%s\n' "$lines" | sed 's/^[^:]*: //' | grep -cE "$type") public types (grep, $(echo "$files" | wc -l) files)"
  [ "$LIST" = 1 ] && printf '%s\n' "$lines"
  exit 0
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
scripts/symbol-graphs.sh "$out"
python3 - "$out" "$LIST" <<'PY'
import json, os, sys
out, show = sys.argv[1], sys.argv[2] == "1"
symbols, types = {}, {}
for name in sorted(os.listdir(out)):
    # Only each module's own graph: the `Module@Other` graphs hold extensions of other modules' types.
    if "@" in name or not name.endswith(".symbols.json"):
        continue
    for s in json.load(open(os.path.join(out, name)))["symbols"]:
        symbols[s["identifier"]["precise"]] = s
        if s["kind"]["identifier"] in ("swift.class", "swift.struct", "swift.enum", "swift.protocol", "swift.typealias"):
            types[s["identifier"]["precise"]] = ".".join(s["pathComponents"])
print(f"{len(symbols)} public declarations, {len(types)} public types (symbol graphs)")
if show:
    for t in sorted(types.values()):
        print(t)
PY
