#!/usr/bin/env bash
# Installs the Python tools the server's tests drive into a virtual environment in the cache
# (${XDG_CACHE_HOME:-~/.cache}/facetwin/venv-serve-tests): schemathesis, which generates
# requests from docs/openapi.yaml against a live `facetwin serve` (ServerProcessTests). Without
# network and without the cached environment it says so in one line and the tests that need
# it are skipped, saying so.
set -uo pipefail
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/facetwin"
VENV="$CACHE/venv-serve-tests"
SCHEMATHESIS=4.32.5
say() { echo "fetch-test-tools: $*" >&2; }

if "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS"; then exit 0; fi
mkdir -p "$CACHE" || { say "cannot create the cache $CACHE"; exit 1; }
if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null 2>&1
  python3 -m venv "$VENV" >/dev/null 2>&1 || { say "cannot make a Python venv in $VENV"; exit 1; }
fi
if ! "$VENV/bin/pip" install --quiet --timeout 30 --retries 2 "schemathesis==$SCHEMATHESIS" >/dev/null 2>&1; then
  say "cannot install schemathesis $SCHEMATHESIS (no network?): the schemathesis test will be skipped"
  exit 1
fi
