#!/usr/bin/env bash
# libFuzzer run of the parsers: builds the *_fuzz targets with clang,
# AddressSanitizer and libFuzzer in build-fuzz/ (separate from the normal
# build), seeds a corpus with valid events, and runs each target for SECONDS.
# Exit 1 when a target finds a crash, a leak or a sanitizer report; the input
# that triggered it is left in build-fuzz/artifacts/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 30 s, jsonl_format_fuzz)
# scripts/test.sh runs the short CI run when clang is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(jsonl_format_fuzz)
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ is not installed (Debian package clang); skipped" >&2
  exit 0
fi
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DOMNI_FUZZ=ON -DOMNI_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "${OMNI_JOBS:-2}" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  bin=$(find build-fuzz/src -type f -name "$t" -perm -u+x | head -1)
  corpus=build-fuzz/corpus/$t
  mkdir -p "$corpus" build-fuzz/artifacts
  # Seeds: a full event, a minimal one, a consent event and a few bad ones,
  # so mutation starts from the structure the parser expects.
  printf '%s\n' '{"event_id":"pos-88123-3","ts":"2026-03-01T10:15:02+08:00","channel":"store","type":"purchase","identities":{"member_card":"M0042","phone":"+86 138 0000 0000"},"item_id":"SKU-991","quantity":2,"price":59.0,"currency":"CNY","order_id":"R-88123","store_id":"SH-07","campaign_id":"spring-sms","properties":{"coupon":"SPRING10"}}' >"$corpus/seed-full"
  printf '%s\n' '{"event_id":"w1","ts":1700000000123,"channel":"web","type":"view","identities":{"cookie_id":"c1","email":"Wei.Li@163.com"},"item_id":42}' >"$corpus/seed-min"
  printf '%s\n' '{"event_id":"c1","ts":"2026-03-01 10:15:02","channel":"app","type":"consent","identities":{"customer_id":7},"properties":{"channel":"sms","granted":false}}' >"$corpus/seed-consent"
  printf '%s\n%s\n' '{"event_id":"x","ts":"bad","channel":"?","type":"view","identities":{}}' '[1,2' >"$corpus/seed-bad"
  echo "fuzz: $t for ${seconds}s" >&2
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ \
      -max_len=8192 "$corpus" 2>build-fuzz/$t.log; then
    status=1
    echo "fuzz: $t FOUND A PROBLEM; see build-fuzz/$t.log and build-fuzz/artifacts/" >&2
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" build-fuzz/$t.log >&2 || true
done
exit $status
