#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite.
# Tests that use ORL read the copy in data/orl ($ORL_DIR overrides). Tests of dlib's ResNet read
# models/ ($FACETWIN_MODELS_DIR overrides; scripts/fetch-models.sh fills it) and are skipped,
# saying so, without it. A throwaway PostgreSQL 15 server (scripts/postgres-test-server.sh, on a
# unix socket in a temporary folder, stopped at exit) holds the PostgreSQL gallery's tests
# ($FACETWIN_TEST_POSTGRES); FACETWIN_TEST_POSTGRES=none runs without it, and those tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
scripts/format.sh --check
# The converted model needs a built facetwin: build the debug one the tests use, then convert.
swift build --product facetwin
scripts/fetch-models.sh --facetwin .build/debug/facetwin || echo "test: going on without the pretrained model" >&2
scripts/fetch-test-tools.sh || echo "test: going on without schemathesis" >&2
if [ "${FACETWIN_TEST_POSTGRES:-}" = "none" ]; then
  unset FACETWIN_TEST_POSTGRES
elif [ -z "${FACETWIN_TEST_POSTGRES:-}" ]; then
  eval "$(scripts/postgres-test-server.sh start)"
  trap 'scripts/postgres-test-server.sh stop "$FACETWIN_TEST_POSTGRES_DIR"' EXIT
fi
swift test "$@"
