#!/usr/bin/env bash
# The whole test suite on an already-built tree (scripts/setup.sh builds it):
# unit and golden tests beside the code, end-to-end tests in tests/, all
# through CTest so one runner reports one closing line.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/test-tmp
cd build
ctest --output-on-failure -j "${OMNI_JOBS:-2}" --timeout 900
# A short libFuzzer run of the event parser (build-fuzz/, clang + ASan) when
# clang is installed; OMNI_FUZZ_SECONDS=0 skips it.
cd ..
if command -v clang++ >/dev/null && [ "${OMNI_FUZZ_SECONDS:-30}" != 0 ]; then
  scripts/fuzz.sh "${OMNI_FUZZ_SECONDS:-30}"
fi
