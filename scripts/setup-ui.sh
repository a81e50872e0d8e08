#!/usr/bin/env bash
# Installs the dashboard's npm packages (ui/package.json, exact versions from
# ui/package-lock.json) into ui/node_modules and puts Apache ECharts where the
# pages load it (ui/vendor/echarts.min.js). Idempotent: does nothing when the
# installed tree already matches the lock file.
#
# Without npm: installs Debian's nodejs + npm when it may (root or sudo;
# OMNI_UI_INSTALL_NPM=0 forbids it), else skips with a message — the server
# still serves the pages (without charts) and the dashboard browser test
# reports itself skipped. Debian's npm conflicts with NodeSource's nodejs, so
# it is only installed when no npm exists at all.
#
# OMNI_SKIP_UI=1 skips everything.
set -euo pipefail
cd "$(dirname "$0")/../ui"

if [ "${OMNI_SKIP_UI:-0}" = "1" ]; then
  echo "setup-ui: skipped (OMNI_SKIP_UI=1)" >&2
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "${OMNI_UI_INSTALL_NPM:-1}" = "1" ] && command -v apt-get >/dev/null 2>&1 &&
     { [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; }; then
    echo "setup-ui: npm is missing; installing Debian's nodejs and npm" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >&2
  else
    echo "setup-ui: npm not found: the dashboard's charts (ECharts) and its browser test (playwright-core)" \
         "are not installed; install nodejs and npm, then run scripts/setup-ui.sh" >&2
    exit 0
  fi
fi

# npm ci wipes and reinstalls node_modules; skip it when the tree npm
# recorded at the last install is as new as the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup-ui: npm ci (ui/package-lock.json)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

mkdir -p vendor
if ! cmp -s node_modules/echarts/dist/echarts.min.js vendor/echarts.min.js; then
  cp node_modules/echarts/dist/echarts.min.js vendor/echarts.min.js.tmp
  mv vendor/echarts.min.js.tmp vendor/echarts.min.js
  echo "setup-ui: ui/vendor/echarts.min.js ($(node -p 'require("./node_modules/echarts/package.json").version'))" >&2
fi
