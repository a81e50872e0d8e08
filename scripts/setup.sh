#!/usr/bin/env bash
# Installs every Debian package omni needs (idempotent: only what is missing),
# then configures and builds into build/. Works on a fresh Debian 12 machine
# as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(grep -v '^#' scripts/debian-packages.txt | grep -v '^$' | tr '\n' ' ')
if [ -n "${OMNI_EXTRA_PACKAGES:-}" ]; then packages="$packages $OMNI_EXTRA_PACKAGES"; fi
missing=()
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The dashboard's npm packages (ECharts; playwright-core for its browser test).
# Not fatal: without them the server still builds and runs, and the browser
# test reports itself skipped.
scripts/setup-ui.sh || echo "setup: the dashboard's npm packages are not installed (see above)" >&2

jobs=${OMNI_JOBS:-2}
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release ${OMNI_CMAKE_ARGS:-} >&2
fi
cmake --build build -j "$jobs" >&2
