#!/usr/bin/env bash
# Profile build throughput: `omni profiles build` against the same RFM computed
# with pandas groupby (bench/profile_reference.py), same data, same machine,
# same run, with peak memory (/usr/bin/time -v).
#
#   bench/profile_bench.sh [online-retail] [demo10m] [demo1m]
#   env: OMNI=build/apps/omni/omni  WORK=/tmp/omni-profile-bench  RUNS=2  KEEP=1 (keep WORK)
#
# What each side does, exactly:
#  omni   `omni --data D profiles build` on a store that already holds the
#         events, with identity resolution up to date (the first build, which
#         resolves identities from scratch, is reported separately): reads
#         every event from SQLite, attributes it to its customer, computes the
#         whole profile (RFM + scores + groups, per-channel RFM, channel mix,
#         O2O flags, category / brand affinity, browse-without-buy and cart
#         abandonment windows, consent, BG/NBD + Gamma-Gamma fit and CLV) and
#         replaces the profiles table in one transaction.
#  pandas given the customer of every event precomputed by omni (the CSV that
#         `profiles build --export-events` writes), only the RFM: read the CSV,
#         keep purchases and refunds, groupby customer for last purchase,
#         distinct orders and purchases minus refunds, quintile scores with
#         rank(method="min"), named group. Two inputs:
#           all-events  the same events omni reads (every type), and
#           purchases   a purchases-and-refunds-only extract (less to read).
#         The script also checks that pandas and omni agree customer by customer.
# omni reads the events from the columnar snapshot (DATA_DIR/columns/events.col, store/event_columns.h),
# which the import appends to; a store imported by an older omni gets it built at the first build.
# Ratios are pandas time / omni time, wall clock and CPU (user + sys). Runs are repeated RUNS times;
# the fastest of each is reported (the machine may be shared).
set -euo pipefail

OMNI=${OMNI:-build/apps/omni/omni}
WORK=${WORK:-/tmp/omni-profile-bench}
RUNS=${RUNS:-2}
PY=/usr/bin/python3  # Debian's python3 with pandas (the first python3 on PATH may lack it)
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED_DATA=${SHARED_DATA:-$REPO/../shared/data}
OMNI=$(readlink -f "$OMNI")
[[ -x "$OMNI" ]] || { echo "no omni binary at $OMNI (set OMNI=...)" >&2; exit 2; }
CASES=("$@")
[[ ${#CASES[@]} -gt 0 ]] || CASES=(online-retail demo10m)
mkdir -p "$WORK"

# timed LOG CMD...: runs CMD under /usr/bin/time -v, stdout to LOG.out, the
# time report to LOG.time.
timed() {
  local log=$1
  shift
  /usr/bin/time -v -o "$log.time" "$@" >"$log.out" 2>"$log.err"
}
wall() {  # seconds from a /usr/bin/time -v report
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"
}
peak_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }
cpu() { awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {print u + s}' "$1"; }  # user + sys seconds
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }
best() {  # best WALL_FILE... -> the smallest wall time and its file
  local best_file="" best_s=""
  for f in "$@"; do
    local s
    s=$(wall "$f")
    if [[ -z "$best_s" ]] || awk -v a="$s" -v b="$best_s" 'BEGIN {exit !(a < b)}'; then
      best_s=$s
      best_file=$f
    fi
  done
  echo "$best_file"
}

prepare_online_retail() {
  local d=$WORK/online-retail
  if [[ ! -f $d/omni.db ]]; then
    "$OMNI" --data "$d" import "$SHARED_DATA/online-retail/online_retail.csv.gz" --as online-retail >/dev/null
  fi
  echo "$d"
}

prepare_demo() {  # prepare_demo NAME EVENTS CUSTOMERS
  local d=$WORK/$1
  if [[ ! -f $d/omni.db ]]; then
    mkdir -p "$d/demo"
    "$OMNI" demo generate --out "$d/demo/events.jsonl" --events "$2" --customers "$3" >/dev/null
    "$OMNI" --data "$d" import "$d/demo/events.catalogue.csv" --as catalogue >/dev/null
    "$OMNI" --data "$d" import "$d/demo/events.jsonl" >/dev/null
    rm -f "$d/demo/events.jsonl"  # the store holds the events now
  fi
  echo "$d"
}

run_case() {
  local name=$1 d=$2
  local out=$WORK/results/$name
  mkdir -p "$out"
  echo "== $name ($d)" >&2
  # First build: resolves what identity has not seen (all of it after a fresh
  # import) and exports the events for pandas.
  timed "$out/first" "$OMNI" --data "$d" --format json profiles build --export-events "$out/events.csv"
  local as_of_ms
  as_of_ms=$(json "$out/first.out" "d['as_of_ms']")
  # channel and type are validated names without commas, so plain awk splits them right.
  awk -F, 'NR == 1 || $5 == "purchase" || $5 == "refund"' "$out/events.csv" >"$out/purchases.csv"
  local omni_logs=() all_logs=() pur_logs=()
  for ((i = 1; i <= RUNS; i++)); do
    timed "$out/omni$i" "$OMNI" --data "$d" --format json profiles build
    omni_logs+=("$out/omni$i.time")
    timed "$out/pandas_all$i" "$PY" "$HERE/profile_reference.py" "$out/events.csv" --as-of-ms "$as_of_ms" \
      --compare "$d/omni.db"
    all_logs+=("$out/pandas_all$i.time")
    timed "$out/pandas_purchases$i" "$PY" "$HERE/profile_reference.py" "$out/purchases.csv" --as-of-ms "$as_of_ms"
    pur_logs+=("$out/pandas_purchases$i.time")
  done
  local o a p
  o=$(best "${omni_logs[@]}")
  a=$(best "${all_logs[@]}")
  p=$(best "${pur_logs[@]}")
  local o_json=${o%.time}.out a_json=${a%.time}.out p_json=${p%.time}.out
  local o_s a_s p_s
  o_s=$(wall "$o")
  a_s=$(wall "$a")
  p_s=$(wall "$p")
  python3 - "$name" "$out/first.out" "$out/first.time" "$o_json" "$o" "$a_json" "$a" "$p_json" "$p" \
    "$(wall "$out/first.time")" "$o_s" "$a_s" "$p_s" "$(peak_mb "$out/first.time")" "$(peak_mb "$o")" \
    "$(peak_mb "$a")" "$(peak_mb "$p")" "$(wc -l <"$out/events.csv")" "$(wc -l <"$out/purchases.csv")" \
    "$(cpu "$o")" "$(cpu "$a")" "$(cpu "$p")" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    <<'EOF' | tee "$out/summary.txt"
import json, sys
(name, first_out, _, omni_out, _, all_out, _, pur_out, _, first_s, omni_s, all_s, pur_s,
 first_mb, omni_mb, all_mb, pur_mb, all_rows, pur_rows, omni_cpu, all_cpu, pur_cpu, load) = sys.argv[1:]
first, omni, pa, pp = (json.load(open(f)) for f in (first_out, omni_out, all_out, pur_out))
f = float
s = omni["seconds"]
print(f"### {name}: {omni['events_read']:,} events, {omni['customers']:,} customers, {omni['buyers']:,} buyers"
      f" (load average at the end: {load})")
print(f"omni profiles build, first of this run (resolves the events identity has not seen yet: everything on a"
      f" fresh import), with --export-events: {f(first_s):.2f} s wall, peak RSS {first_mb} MB"
      f" (resolve {first['seconds']['resolve']:.2f} s)")
print(f"omni profiles build: {f(omni_s):.2f} s wall, {f(omni_cpu):.2f} s CPU, peak RSS {omni_mb} MB"
      f" (of which heap {omni['memory_mb']['rss_anonymous']:.0f} MB at the end, mapped database pages"
      f" {omni['memory_mb']['rss_file_mapped']:.0f} MB);"
      f" resolve {s['resolve']:.2f} + directory {s['directory']:.2f} + scan {s['scan']:.2f} + compute {s['compute']:.2f}"
      f" (sort {s['compute_sort']:.2f}, rfm {s['compute_rfm']:.3f}, clv {s['compute_clv']:.2f}) + write {s['write']:.2f} s;"
      f" {omni['events_read'] / f(omni_s) / 1e6:.2f} M events/s end to end")
for label, r, wall_s, cpu_s, mb, rows in (("all events", pa, all_s, all_cpu, all_mb, all_rows),
                                          ("purchases only", pp, pur_s, pur_cpu, pur_mb, pur_rows)):
    print(f"pandas RFM ({label}, {int(rows) - 1:,} rows): {f(wall_s):.2f} s wall, {f(cpu_s):.2f} s CPU"
          f" (read {r['read_seconds']:.2f} s, groupby {r['compute_seconds']:.2f} s), peak RSS {mb} MB;"
          f" pandas/omni = {f(wall_s) / f(omni_s):.2f}x wall, {f(cpu_s) / f(omni_cpu):.2f}x CPU")
k = s['compute_sort'] + s['compute_rfm']
print(f"RFM on rows already in memory: omni {k:.3f} s (sorting every activity record by customer"
      f" {s['compute_sort']:.3f} s, shared by all features, + RFM and scores {s['compute_rfm']:.3f} s)"
      f" vs pandas groupby {pp['compute_seconds']:.3f} s on the purchases = {pp['compute_seconds'] / max(1e-9, k):.1f}x"
      f" ({pa['compute_seconds']:.3f} s on all events = {pa['compute_seconds'] / max(1e-9, k):.1f}x)")
ag = pa.get("agreement", {})
if ag:
    n = ag["customers_both"]
    keys = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "group")
    print(f"agreement with omni on {n:,} buyers (omni {ag['customers_omni']:,}, pandas {ag['customers_reference']:,}): "
          + ", ".join(f"{k} {ag[k] / max(1, n):.4%}" for k in keys))
EOF
}

for c in "${CASES[@]}"; do
  case $c in
    online-retail) run_case online-retail "$(prepare_online_retail)" ;;
    demo10m) run_case demo10m "$(prepare_demo demo10m 10000000 400000)" ;;
    demo1m) run_case demo1m "$(prepare_demo demo1m 1000000 40000)" ;;
    *) echo "unknown case $c (online-retail, demo10m, demo1m)" >&2; exit 2 ;;
  esac
done
[[ -n ${KEEP:-} ]] || rm -f "$WORK"/results/*/events.csv "$WORK"/results/*/purchases.csv
