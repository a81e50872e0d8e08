#!/usr/bin/env bash
# The two commands of the README:
#   ./dev.sh demo   set up (packages, build) and run the end-to-end demo on the embedded SQLite store
#   ./dev.sh test   set up and run the whole test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"
cmd=${1:-}
case "$cmd" in
  demo)
    bash scripts/setup.sh
    shift
    exec ./build/apps/omni/omni --data "${OMNI_DATA:-./omni-data}" demo "$@"
    ;;
  test)
    bash scripts/setup.sh
    exec bash scripts/test.sh
    ;;
  *)
    echo "usage: ./dev.sh demo | ./dev.sh test" >&2
    exit 2
    ;;
esac
