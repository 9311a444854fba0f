#!/usr/bin/env bash
# Installs what FaceTwin needs on Debian/Ubuntu, builds it in release and fetches the pretrained
# model (scripts/fetch-models.sh: dlib's face-recognition ResNet into models/, converted with the
# built facetwin; without network and without the cached archive it says so and setup goes on).
#   scripts/setup.sh            install + release build + models
#   scripts/setup.sh --no-build install + models (converted when a facetwin is built already)
set -euo pipefail
cd "$(dirname "$0")/.."

# libjpeg-dev is libjpeg-turbo (Debian: libjpeg62-turbo-dev, Ubuntu: libjpeg-turbo8-dev); libpng-dev is libpng 1.6.
# libdlib-dev: face detection (HOG) and landmarks; libdlib-data: the 68-point landmark model.
PACKAGES=(libopenblas-dev libnetpbm-dev libjpeg-dev libpng-dev libsqlite3-dev pkg-config libdlib-dev libdlib-data)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }

if [ "${1:-}" != "--no-build" ]; then
  echo "setup: building facetwin (release)" >&2
  swift build -c release --product facetwin
  echo "setup: built $(swift build -c release --show-bin-path)/facetwin" >&2
fi

# With --no-build the conversion waits for a built facetwin (scripts/test.sh converts after its build).
FETCH=()
[ "${1:-}" = "--no-build" ] && FETCH=(--if-built)
scripts/fetch-models.sh "${FETCH[@]}" || echo "setup: going on without the pretrained model (scripts/fetch-models.sh fetches it)" >&2
