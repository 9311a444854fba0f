#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite.
# Tests that use ORL read it from $ORL_DIR, by default ../shared/data/orl beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
export ORL_DIR="${ORL_DIR:-$(cd .. && pwd)/shared/data/orl}"
exec swift test "$@"
