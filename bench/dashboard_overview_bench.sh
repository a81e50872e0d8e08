#!/usr/bin/env bash
# The dashboard overview's cost on a large store: first request (cold), the
# same request cached, a 30-day window after it, and the 365-day window again
# after a batch of new events arrives (what live ingest costs a marketer who
# keeps the page open). Wall time from curl and the server's CPU time from
# /proc (the honest figure on a loaded machine).
#
#   bench/dashboard_overview_bench.sh [--omni BIN] [--baseline BIN] [--customers N] [--events N] [--settle S]
#
# The server counts the widest window ahead on a thread of its own as it
# starts; --settle S waits S seconds after /readyz before the first request
# (default 0: the first request waits for whatever is left of that count).
# --baseline runs the same sequence with another omni binary (e.g. one built
# from the commit before a change) on a fresh copy of the same store.
# The store (omni demo generate, import, customers resolve, profiles build) is
# built once in bench/out/dashboard-store-<events>/ and copied per run.
# Prints RESULT lines and appends them to bench/out/dashboard_overview_bench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
OMNI=$PWD/build/apps/omni/omni
BASELINE=""
CUSTOMERS=50000
EVENTS=1000000
SETTLE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --omni) OMNI=$(realpath "$2"); shift 2 ;;
    --baseline) BASELINE=$(realpath "$2"); shift 2 ;;
    --customers) CUSTOMERS=$2; shift 2 ;;
    --events) EVENTS=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT=$PWD/bench/out
STORE=$OUT/dashboard-store-$EVENTS
mkdir -p "$OUT"
if [ ! -f "$STORE/d/omni.db" ]; then
  rm -rf "$STORE"; mkdir -p "$STORE"
  "$OMNI" demo generate --out "$STORE/demo.jsonl" --customers "$CUSTOMERS" --events "$EVENTS" >/dev/null
  "$OMNI" --data "$STORE/d" import "$STORE/demo.jsonl" >/dev/null
  "$OMNI" --data "$STORE/d" customers resolve >/dev/null
  "$OMNI" --data "$STORE/d" profiles build >/dev/null
fi
# 500 events that are new to the store: the newest lines with a fresh event id.
grep -a '"event_id"' "$STORE/demo.jsonl" | tail -500 | sed 's/"event_id":"/"event_id":"bench-late-/' > "$STORE/batch.jsonl"

run() {  # run LABEL BINARY
  local label=$1 bin=$2 data=$STORE/run port
  rm -rf "$data"; cp -rL "$STORE/d" "$data"
  local key; key=$("$bin" --data "$data" --format json serve keys create --scope read,ingest --name bench 2>/dev/null |
    sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
  "$bin" --data "$data" serve --listen 127.0.0.1:0 --port-file "$STORE/port" 2>"$STORE/serve.log" &
  local pid=$!
  for _ in $(seq 240); do [ -s "$STORE/port" ] && curl -sf -o /dev/null "http://127.0.0.1:$(cat "$STORE/port")/readyz" && break; sleep 0.5; done
  port=$(cat "$STORE/port"); rm -f "$STORE/port"
  sleep "$SETTLE"
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  get() {
    local c0 c1 t; c0=$(cpu)
    t=$(curl -s -o /dev/null -w "%{http_code} %{time_total}" -H "Authorization: Bearer $key" \
      "http://127.0.0.1:$port/v1/dashboard/overview?days=$1")
    c1=$(cpu)
    echo "RESULT $label days=$1 $2: HTTP ${t% *}, wall ${t#* } s, server CPU $(( (c1 - c0) * 10 )) ms" |
      tee -a "$OUT/dashboard_overview_bench.txt"
  }
  get 365 "first (settle $SETTLE s)"; get 365 cached; get 30 "after the 365"
  curl -s -o /dev/null -H "Authorization: Bearer $key" -H "Content-Type: application/x-ndjson" \
    --data-binary @"$STORE/batch.jsonl" "http://127.0.0.1:$port/v1/events"
  get 365 "after 500 new events"; get 30 "after 500 new events"
  # A page may be answered from before the batch for a while; 11 s on, any
  # such allowance has run out and the answer is current.
  sleep 11; get 365 "11 s after the new events"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
echo "# $(date -u +%FT%TZ) $EVENTS events, $(uptime | sed 's/.*load/load/')" >> "$OUT/dashboard_overview_bench.txt"
[ -n "$BASELINE" ] && run baseline "$BASELINE"
run omni "$OMNI"
