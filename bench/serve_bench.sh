#!/usr/bin/env bash
# Load test of `omni serve` with wrk over loopback (issue 6 targets on the
# 2-core machine, load generator included: >= 10,000 GET/s with p99 < 10 ms;
# >= 50,000 events/s through batched POSTs, durable).
#
#   bench/serve_bench.sh [--omni BIN] [--customers N] [--events N] [--duration S]
#                        [--connections C] [--batch E] [--soak SECONDS [--soak-wrap N]]
#
# 1. Demo data (omni demo generate), imported, resolved and profiled.
# 2. GET /v1/customers/{member_card:...} over real identifiers of the data
#    (round-robin); with --get-suffix '/recommendations?k=10' the
#    recommendation route instead (a model, MODEL=itemknn:k=100,shrink=10 by
#    default, and basket rules are trained first).
# 3. POST /v1/events, --batch events per request, every event new; the
#    events/s counted by wrk are checked against the rows in SQLite after the
#    run (durable = committed before the 2xx).
# 4. --soak S: GETs and POSTs together for S seconds, the server's RSS
#    sampled every 60 s (start after warm-up, end). Every stored event costs
#    the store's dedupe index 20-40 bytes (more while its hash table doubles),
#    so with all-new events memory grows with the store by design;
#    --soak-wrap N makes each POST connection repeat its first N batches
#    (idempotent retries) so a flat line means no leak in the serving path.
# Prints RESULT lines and writes them to bench/out/serve_bench.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
OMNI=${OMNI:-build/apps/omni/omni}
CUSTOMERS=20000
EVENTS=400000
DURATION=20
CONNECTIONS=32
POST_CONNECTIONS=8
BATCH=500
SOAK=0
SOAK_WRAP=0
GET_SUFFIX=""
while [ $# -gt 0 ]; do
  case "$1" in
    --omni) OMNI=$2; shift 2 ;;
    --customers) CUSTOMERS=$2; shift 2 ;;
    --events) EVENTS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --post-connections) POST_CONNECTIONS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --soak) SOAK=$2; shift 2 ;;
    --soak-wrap) SOAK_WRAP=$2; shift 2 ;;
    --get-suffix) GET_SUFFIX=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is not installed (Debian package wrk)" >&2; exit 1; }
[ -x "$OMNI" ] || { echo "no omni binary at $OMNI (build it, or pass --omni)" >&2; exit 1; }
mkdir -p bench/out
OUT=bench/out/serve_bench.txt
WORK=$(mktemp -d "${TMPDIR:-/tmp}/omni-serve-bench.XXXXXX")
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "$*" | tee -a "$OUT" >&2; }
: >"$OUT"
log "# omni serve bench $(date -u +%FT%TZ) on $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

DATA=$WORK/data
"$OMNI" demo generate --out "$WORK/events.jsonl" --customers "$CUSTOMERS" --events "$EVENTS" --seed 11 >/dev/null 2>&1
"$OMNI" --data "$DATA" import "$WORK/events.jsonl" >/dev/null 2>&1
"$OMNI" --data "$DATA" import "$WORK/events.catalogue.csv" --as catalogue >/dev/null 2>&1 || true
"$OMNI" --data "$DATA" profiles build >/dev/null 2>&1
# The recommendation routes serve the newest trained model (and basket rules).
case "$GET_SUFFIX" in
  */recommendations*)
    "$OMNI" --data "$DATA" train "${MODEL:-itemknn:k=100,shrink=10}" >/dev/null 2>&1
    "$OMNI" --data "$DATA" train fbt:support=0.0005,confidence=0.1 >/dev/null 2>&1
    log "trained ${MODEL:-itemknn:k=100,shrink=10} and fbt for the recommendation GETs" ;;
esac
READ_KEY=$("$OMNI" --data "$DATA" serve keys create --scope read --name bench-read 2>/dev/null)
INGEST_KEY=$("$OMNI" --data "$DATA" serve keys create --scope ingest --name bench-ingest 2>/dev/null)
sqlite3 "$DATA/omni.db" "SELECT 'member_card:' || value FROM identifiers WHERE type = 'member_card' AND customer_key IS NOT NULL LIMIT 5000" \
  >"$WORK/ids.txt" 2>/dev/null ||
  sqlite3 "$DATA/omni.db" "SELECT 'member_card:' || value FROM identifiers WHERE type = 'member_card' LIMIT 5000" >"$WORK/ids.txt"
log "data: $EVENTS demo events, $CUSTOMERS customers; $(wc -l <"$WORK/ids.txt") member cards for GETs"

"$OMNI" --data "$DATA" --log-level warn serve --listen 127.0.0.1:0 --port-file "$WORK/port" --rate-limit 0 \
  --threads $((CONNECTIONS + POST_CONNECTIONS + 8)) 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
URL=http://127.0.0.1:$PORT
# RSS, and its parts: anonymous (heap: what a leak grows) and file-backed
# (SQLite's memory-mapped database pages, reclaimable page cache).
rss_mb() {
  awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2}
       END {printf "%.1f (anon %.1f, file %.1f)", r / 1024, a / 1024, f / 1024}' "/proc/$SERVER_PID/status"
}

# Warm-up: the connection pool, the event index (first POST loads it).
wrk -t1 -c4 -d2s -s bench/serve_get.lua "$URL" -- "$WORK/ids.txt" "$READ_KEY" "$GET_SUFFIX" >/dev/null
wrk -t1 -c1 -d1s -s bench/serve_post.lua "$URL" -- "$INGEST_KEY" 10 warm >/dev/null

if [ "$SOAK" -gt 0 ]; then
  RSS0=$(rss_mb)
  log "soak: ${SOAK}s of GETs (c=$CONNECTIONS) and ${BATCH}-event POSTs (c=2, wrap $SOAK_WRAP) together; RSS at start ${RSS0} MB"
  wrk -t1 -c"$CONNECTIONS" -d"${SOAK}s" -s bench/serve_get.lua "$URL" -- "$WORK/ids.txt" "$READ_KEY" "$GET_SUFFIX" \
    >"$WORK/soak_get.txt" &
  G=$!
  wrk -t1 -c2 -d"${SOAK}s" --timeout 10s -s bench/serve_post.lua "$URL" -- "$INGEST_KEY" "$BATCH" soak "$SOAK_WRAP" \
    >"$WORK/soak_post.txt" &
  P=$!
  for ((t = 60; t <= SOAK; t += 60)); do
    sleep 60
    log "soak: t=${t}s RSS $(rss_mb) MB"
  done
  wait $G $P
  log "soak GET  $(grep RESULT "$WORK/soak_get.txt")"
  log "soak POST $(grep RESULT "$WORK/soak_post.txt")"
  log "soak: RSS start ${RSS0} MB, end $(rss_mb) MB; stored events $(sqlite3 "$DATA/omni.db" 'SELECT count(*) FROM events')"
  exit 0
fi

# GET: two wrk threads, one per core, beside the server.
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/serve_get.lua "$URL" -- "$WORK/ids.txt" "$READ_KEY" \
  "$GET_SUFFIX" >"$WORK/get.txt"
log "GET /v1/customers/{id}${GET_SUFFIX} c=$CONNECTIONS: $(grep RESULT "$WORK/get.txt")"
# The HTTP layer's own cost (parse, key check, rate limit, metrics, JSON
# error): the recommendations route answers 503 until it is wired.
if [ -z "$GET_SUFFIX" ]; then
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/serve_get.lua "$URL" -- "$WORK/ids.txt" "$READ_KEY" \
    "/recommendations?k=10" >"$WORK/floor.txt"
  log "GET /v1/customers/{id}/recommendations (503 until wired: HTTP+auth+metrics floor) c=$CONNECTIONS: $(grep RESULT "$WORK/floor.txt")"
fi

# POST: batches of $BATCH new events; durable = counted in SQLite after.
BEFORE=$(sqlite3 "$DATA/omni.db" "SELECT count(*) FROM events")
RUN=$(date +%s)
wrk -t1 -c"$POST_CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency -s bench/serve_post.lua "$URL" -- \
  "$INGEST_KEY" "$BATCH" "$RUN" >"$WORK/post.txt"
AFTER=$(sqlite3 "$DATA/omni.db" "SELECT count(*) FROM events")
POST_RESULT=$(grep RESULT "$WORK/post.txt")
POST_RPS=$(echo "$POST_RESULT" | sed -n 's/.*req_per_s=\([0-9.]*\).*/\1/p')
POST_SECS=$(echo "$POST_RESULT" | sed -n 's/.*duration_s=\([0-9.]*\).*/\1/p')
log "POST /v1/events ${BATCH}/request c=$POST_CONNECTIONS: $POST_RESULT events_per_s=$(awk "BEGIN {printf \"%.0f\", $POST_RPS * $BATCH}")"
log "POST stored: $((AFTER - BEFORE)) new events in SQLite = $(awk "BEGIN {printf \"%.0f\", ($AFTER - $BEFORE) / $POST_SECS}") durable events/s (requests cut by the end of the run may add up to $POST_CONNECTIONS x $BATCH)"
curl -s "$URL/metrics" | grep -E '^omni_event_commits_total|^omni_event_commit_requests_(sum|count)' | tee -a "$OUT" >&2
log "load after: $(cut -d' ' -f1-3 /proc/loadavg); server RSS $(rss_mb) MB"
