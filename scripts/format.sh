#!/usr/bin/env bash
# Formats the Swift sources and tests with the toolchain's `swift format` and the repository's
# .swift-format configuration (4-space indentation, lines up to 130 columns).
#   scripts/format.sh           format Sources/, Tests/ and Examples/ in place
#   scripts/format.sh --check   lint only: print the findings, exit 1 if there are any
set -euo pipefail
cd "$(dirname "$0")/.."
swift format --version >/dev/null 2>&1 || { echo "format: 'swift format' is not available (Swift 6 toolchain required)" >&2; exit 2; }
case "${1:-}" in
  --check)
    findings=$(swift format lint --recursive --parallel --configuration .swift-format Sources Tests Examples 2>&1) || true
    if [ -n "$findings" ]; then
      echo "$findings"
      echo "format: $(echo "$findings" | wc -l) findings (scripts/format.sh fixes most of them)" >&2
      exit 1
    fi
    echo "format: no findings" >&2 ;;
  "")
    swift format format --in-place --recursive --parallel --configuration .swift-format Sources Tests Examples ;;
  *) echo "format: unknown option $1 (--check, or nothing to format in place)" >&2; exit 2 ;;
esac
