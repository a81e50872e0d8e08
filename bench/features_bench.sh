#!/usr/bin/env bash
# Feature building throughput: `omni features build` against the same feature
# table computed with pandas (bench/features_reference.py), same data, same
# machine, same run; the two tables are compared cell by cell.
#
#   bench/features_bench.sh [online-retail] [demo2m] [demo10m]
#   env: OMNI=build/apps/omni/omni  WORK=/tmp/omni-features-bench  RUNS=2  PANDAS_RUNS=1
#
# What each side does, exactly:
#  omni   `omni --data D --format json features build --cutoff C1,C2 --horizon H --out F.csv` on a
#         store that holds the events, One-ID resolved: reads every event from the columnar snapshot
#         (DATA_DIR/columns/events.col, kept by the import; built from SQLite when missing), attributes it
#         to its customer, builds every feature of docs/features.md at both cutoffs (BG/NBD fitted
#         per cutoff included) and writes the CSV.
#  pandas given every event of a resolved customer with its customer key and item category
#         precomputed by omni (`features build --export-events`), reads that CSV and computes the
#         same features at both cutoffs, all but the two BG/NBD columns (Debian has no BG/NBD for
#         Python); its own read + compute time, measured inside the script.
# Ratios are pandas / omni, wall clock and CPU (user + sys), end to end; "compute" is the CPU after
# the events are in memory (omni: Finish, both cutoffs, BG/NBD fits included; pandas: everything
# after read_csv). The fastest of the runs counts (the
# machine may be shared: say so when reporting).
set -euo pipefail

OMNI=${OMNI:-build/apps/omni/omni}
WORK=${WORK:-/tmp/omni-features-bench}
RUNS=${RUNS:-2}
PANDAS_RUNS=${PANDAS_RUNS:-1}
PY=/usr/bin/python3  # Debian's python3 with pandas (the first python3 on PATH may lack it)
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED_DATA=${SHARED_DATA:-$REPO/../shared/data}
OMNI=$(readlink -f "$OMNI" || echo "$OMNI")
[[ -x "$OMNI" ]] || { echo "no omni binary at $OMNI (set OMNI=...)" >&2; exit 2; }
CASES=("$@")
[[ ${#CASES[@]} -gt 0 ]] || CASES=(online-retail demo2m)
mkdir -p "$WORK" "$REPO/bench/out"

wall() {  # seconds from a /usr/bin/time -v report
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"
}
cpu() { awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {print u + s}' "$1"; }
peak_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }
field() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }

prepare() {  # prepare CASE DATA_DIR: import + resolve once
  local name=$1 data=$2
  [[ -f "$data/.ready" ]] && return 0
  rm -rf "$data"
  case "$name" in
    online-retail)
      local src="$SHARED_DATA/online-retail/online_retail.csv.gz"
      [[ -f "$src" ]] || { echo "skip online-retail: no $src" >&2; return 1; }
      "$OMNI" --data "$data" import "$src" --as online-retail >/dev/null 2>&1
      ;;
    demo*)
      local events=${name#demo}
      events=${events/m/000000}
      local gen="$WORK/$name-gen/events.jsonl"
      mkdir -p "$(dirname "$gen")"
      "$OMNI" demo generate --out "$gen" --customers $((events / 20)) --events "$events" >/dev/null 2>&1
      "$OMNI" --data "$data" import "${gen%.jsonl}.catalogue.csv" --as catalogue >/dev/null 2>&1
      "$OMNI" --data "$data" import "$gen" >/dev/null 2>&1
      ;;
  esac
  "$OMNI" --data "$data" customers resolve >/dev/null 2>&1
  touch "$data/.ready"
}

report="$REPO/bench/out/features_bench.md"
{
  echo "# features_bench $(date -u +%FT%TZ) on $(nproc) cores (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "| data | events | rows | cols | positives | omni wall s | omni CPU s | omni events/s | omni rows/s | omni peak MB | pandas wall s | pandas CPU s | wall ratio | CPU ratio | compute CPU s omni / pandas (ratio) | tables agree |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$report.head"
: >"$report.rows"

for name in "${CASES[@]}"; do
  case "$name" in
    online-retail) cutoffs=2011-06-01,2011-09-01; horizon=90 ;;
    demo*) cutoffs=2025-07-01,2025-10-01; horizon=30 ;;
    *) echo "unknown case $name" >&2; continue ;;
  esac
  data="$WORK/$name"
  echo "== $name: preparing the store" >&2
  prepare "$name" "$data" || continue
  out="$WORK/$name.omni.csv"
  best_w="" best_c="" best_f=""
  for run in $(seq "$RUNS"); do
    f="$WORK/$name.omni.$run"
    /usr/bin/time -v -o "$f.time" "$OMNI" --data "$data" --format json features build --cutoff "$cutoffs" \
      --horizon "${horizon}d" --out "$out" >"$f.json" 2>"$f.err"
    w=$(wall "$f.time")
    if [[ -z "$best_w" ]] || awk -v a="$w" -v b="$best_w" 'BEGIN {exit !(a < b)}'; then best_w=$w; best_f=$f; fi
    echo "   omni run $run: $w s wall, $(cpu "$f.time") s CPU" >&2
  done
  best_c=$(cpu "$best_f.time")
  events=$(field "$best_f.json" 'd["events_read"]')
  rows=$(field "$best_f.json" 'd["rows"]')
  cols=$(field "$best_f.json" 'len(d["columns"])')
  positives=$(field "$best_f.json" 'd["positives"]')
  # The events for pandas (not timed), then pandas, the fastest of PANDAS_RUNS.
  "$OMNI" --data "$data" features build --cutoff "$cutoffs" --horizon "${horizon}d" --out "$WORK/$name.check.csv" \
    --export-events "$WORK/$name.events.csv" >/dev/null 2>&1
  oc=$(field "$best_f.json" 'round(d["seconds"]["cpu_compute"], 3)')
  pw="" pc="" agree="" pcc=""
  for run in $(seq "$PANDAS_RUNS"); do
    p="$WORK/$name.pandas.$run.json"
    $PY "$HERE/features_reference.py" "$WORK/$name.events.csv" --cutoff "$cutoffs" --horizon-days "$horizon" \
      --compare "$out" >"$p"
    w=$(field "$p" 'round(d["wall_seconds"], 2)')
    echo "   pandas run $run: $w s wall, $(field "$p" 'round(d["cpu_seconds"], 2)') s CPU; agree: $(field "$p" 'd["agree"]')" >&2
    if [[ -z "$pw" ]] || awk -v a="$w" -v b="$pw" 'BEGIN {exit !(a < b)}'; then
      pw=$w
      pc=$(field "$p" 'round(d["cpu_seconds"], 2)')
      pcc=$(field "$p" 'round(d["cpu_seconds"] - d["read_cpu_seconds"], 2)')
      agree=$(field "$p" '"yes (%d columns, %d cells)" % (d["columns_compared"], d["cells_compared"]) if d["agree"] else "NO: " + str(d["mismatching_columns"])[:300] + " only-omni=%d only-pandas=%d" % (d["rows_only_in_omni"], d["rows_only_in_pandas"])')
    fi
  done
  awk -v n="$name" -v e="$events" -v r="$rows" -v k="$cols" -v pos="$positives" -v w="$best_w" -v c="$best_c" \
    -v m="$(peak_mb "$best_f.time")" -v pw="$pw" -v pc="$pc" -v ag="$agree" -v oc="$oc" -v pcc="$pcc" 'BEGIN {
      printf "| %s | %d | %d | %d | %d | %.2f | %.2f | %.0f | %.0f | %s | %.2f | %.2f | %.1fx | %.1fx | %.2f / %.2f (%.0fx) | %s |\n",
        n, e, r, k, pos, w, c, e / w, r / w, m, pw, pc, pw / w, pc / c, oc, pcc, pcc / oc, ag }' >>"$report.rows"
done
cat "$report.head" "$report.rows" >"$report"
rm -f "$report.head" "$report.rows"
cat "$report"
