#!/usr/bin/env bash
# Installs what the tests need, then runs the whole test suite on a release build.
# Tests that use ORL read the copy in data/orl ($ORL_DIR overrides). Tests of dlib's ResNet read
# models/ ($FACETWIN_MODELS_DIR overrides; scripts/fetch-models.sh fills it) and are skipped,
# saying so, without it. A throwaway PostgreSQL 15 server (scripts/postgres-test-server.sh, on a
# unix socket in a temporary folder, stopped at exit) holds the PostgreSQL gallery's tests
# ($FACETWIN_TEST_POSTGRES); FACETWIN_TEST_POSTGRES=none runs without it, and those tests skip.
# The tests run optimised, built by the release configuration with testability
# (-enable-testing, for `@testable import`) and the test-only write-point hook
# (-D FACETWIN_TEST_HOOKS, Sources/FaceTwinSupport/WritePoint.swift): they train real networks,
# and the package carries no optimisation flags of its own. The build refuses a target that imports
# another of the package's targets without depending on it (--explicit-target-dependency-import-check),
# so the layering of docs/DESIGN.md holds even in an incremental build. Arguments go to `swift test`
# (e.g. --filter GoldenTests).
# Before the suite: the release binary under an emulated CPU without AVX2
# (scripts/check-portable.sh), the example package that depends on FaceTwin
# (scripts/example.sh), and the API documentation, whose every link must resolve (scripts/docs.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build
scripts/format.sh --check
TESTING=(-c release -Xswiftc -enable-testing -Xswiftc -DFACETWIN_TEST_HOOKS --explicit-target-dependency-import-check error)
swift build "${TESTING[@]}" --build-tests
BIN="$(swift build "${TESTING[@]}" --show-bin-path)/facetwin"
scripts/fetch-models.sh --facetwin "$BIN" || echo "test: going on without the pretrained model" >&2
scripts/fetch-test-tools.sh || echo "test: going on without schemathesis or chromium" >&2
scripts/check-portable.sh --facetwin "$BIN"
scripts/example.sh --facetwin "$BIN"
if command -v docc >/dev/null; then
  docs=$(mktemp -d)
  scripts/docs.sh --no-build --out "$docs"
  rm -rf "$docs"
else
  echo "test: API documentation not checked: no docc in the Swift toolchain" >&2
fi
if [ "${FACETWIN_TEST_POSTGRES:-}" = "none" ]; then
  unset FACETWIN_TEST_POSTGRES
elif [ -z "${FACETWIN_TEST_POSTGRES:-}" ]; then
  eval "$(scripts/postgres-test-server.sh start)"
  trap 'scripts/postgres-test-server.sh stop "$FACETWIN_TEST_POSTGRES_DIR"' EXIT
fi
# The tests were built above (--build-tests); run them without planning the build again.
swift test "${TESTING[@]}" --skip-build "$@"
