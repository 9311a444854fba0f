#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite.
# Tests that use ORL read the copy in data/orl ($ORL_DIR overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
scripts/format.sh --check
exec swift test "$@"
