#!/usr/bin/env bash
# Installs what the server's tests drive: Debian's chromium and chromium-driver (PageTests: the
# page in headless Chromium), and schemathesis (ServerProcessTests: requests generated from
# docs/openapi.yaml against a live `facetwin serve`) in a virtual environment in the cache
# (${XDG_CACHE_HOME:-~/.cache}/facetwin/venv-serve-tests). Without network and without them it
# says so in one line and the tests that need them are skipped, saying so.
set -uo pipefail
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/facetwin"
VENV="$CACHE/venv-serve-tests"
SCHEMATHESIS=4.32.5
say() { echo "fetch-test-tools: $*" >&2; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"

if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver; } \
    >/dev/null 2>&1 || say "cannot install chromium and chromium-driver: the page test will be skipped"
fi

if "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS"; then exit 0; fi
mkdir -p "$CACHE" || { say "cannot create the cache $CACHE"; exit 1; }
if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null 2>&1
  python3 -m venv "$VENV" >/dev/null 2>&1 || { say "cannot make a Python venv in $VENV"; exit 1; }
fi
if ! "$VENV/bin/pip" install --quiet --timeout 30 --retries 2 "schemathesis==$SCHEMATHESIS" >/dev/null 2>&1; then
  say "cannot install schemathesis $SCHEMATHESIS (no network?): the schemathesis test will be skipped"
  exit 1
fi
