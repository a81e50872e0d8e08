#!/usr/bin/env bash
# Ingest throughput: `omni import` against the Python/pandas import a user would otherwise write
# (bench/ingest_reference.py), same files, same machine, same run. Reports events/s, CPU seconds,
# peak memory and the ratios.
#   bash bench/ingest_bench.sh [EVENTS]        (default 2,000,000 generated events)
#   env: OMNI=build/apps/omni/omni  RUNS=3
# Each input is imported RUNS times by each side, omni and the reference taking turns, and the
# fastest run of each side is reported (its CPU seconds beside it), so a change in a shared
# machine's load falls on both. Uses ../shared/data/online-retail when present. Results:
# bench/out/ingest.json and a table.
#
# Measured 2026-11-23 on the shared 2-core machine (commit 65cf37a; `RUNS=N bash bench/ingest_bench.sh
# 1000000`; the machine's load moved the reference by +-40% between windows, so three windows):
#                      omni ev/s  ref ev/s  wall ratio  omni CPU s  ref CPU s  CPU ratio  load
#   RUNS=3, JSONL        358,796    54,556       6.58        2.99      18.18       6.08   ~2.5 (at 4fa88f2)
#   RUNS=3, JSONL        251,963    41,835       6.02        3.38      23.83       7.05   2.1-3.4
#   RUNS=5, JSONL        388,186    38,710      10.03        4.99      25.78       5.17   1.6-2.0
#   RUNS=3, JSONL        576,061    50,706      11.36        3.25      19.64       6.04   1.3-2.0
#   RUNS=3, Online Ret.  365,404    95,142       3.84        1.68       5.59       3.33   ~2.5 (at 4fa88f2)
#   RUNS=3, Online Ret.  490,414    68,970       7.11        2.03       7.73       3.81   2.1-3.4
#   RUNS=5, Online Ret.  333,688    72,340       4.61        1.69       6.65       3.93   2.2-2.8
#   RUNS=3, Online Ret.  624,970    82,574       7.57        1.59       6.47       4.07   1.3-2.0
# Issue 2's target (>= 300k events/s JSONL and >= 10x the reference): JSONL events/s met in every
# window, the 10x wall ratio in the two quietest (the CPU ratio is 5-7x: omni runs on two threads);
# Online Retail reaches 3.8-7.6x wall, 3.3-4.1x CPU (omni ~3 us of CPU per line: SQLite's insert of
# an 18-column row, two BLAKE2b per line for the derived event id and its dedupe key, the CSV
# parse; the reference's pandas part is vectorised).
#
# Later (commit 728fb87: SipHash event keys, small batches at both ends, 32 KiB pages, fewer binds
# and catalogue upserts, one dedupe probe per event), same command, RUNS=3, two windows:
#                      omni ev/s  ref ev/s  wall ratio  omni CPU s  ref CPU s  CPU ratio  load
#   JSONL                724,863    53,535      13.54        2.71      18.58       6.86   1.3-2.0
#   JSONL                551,206    43,781      12.59        3.55      22.77       6.41   1.2-1.9
#   Online Retail        634,178    96,609       6.56        1.50       5.52       3.68   1.3-1.5
#   Online Retail        506,249    64,601       7.84        2.02       8.23       4.07   1.2-1.9
# Instructions (valgrind callgrind, the full Online Retail file): 8.20 G -> 7.27 G, the store
# writer's thread 3.77 G -> 3.36 G; CPU per thread in one window, before -> after: parsing
# 0.86-1.02 -> 0.61-0.67 s, writer 0.72-0.85 -> 0.64-0.79 s. JSONL now meets 10x; Online Retail
# does not (~6.5-8x): its two threads each spend ~0.6 s of CPU, about half of it SQLite's insert
# of 18-column rows and BLAKE2b of each line (the id's record hash, which must not change).
set -euo pipefail
cd "$(dirname "$0")/.."
OMNI_EXTRA_PACKAGES="python3-pandas time" bash scripts/setup.sh
events=${1:-2000000}
runs=${RUNS:-3}
omni=$(readlink -f "${OMNI:-build/apps/omni/omni}")
[ -x "$omni" ] || { echo "no omni binary at $omni (set OMNI=...)" >&2; exit 2; }
out=$PWD/bench/out
work=$(mktemp -d -t omni-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

peak_mib() { awk -F: '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$1"; }
cpu_s() { awk -F: '/User time|System time/ {s += $2} END {printf "%.3f", s}' "$1"; }

run_omni() {  # name file format
  local name=$1 file=$2 fmt=$3
  rm -rf "$work/data-$name"
  /usr/bin/time -v "$omni" --data "$work/data-$name" --format json import "$file" --as "$fmt" \
    >"$work/$name.omni.json" 2>"$work/$name.omni.time"
  echo "$(cat "$work/$name.omni.json")" "$(peak_mib "$work/$name.omni.time")" "$(cpu_s "$work/$name.omni.time")"
}

echo "generating $events demo events..." >&2
"$omni" --data "$work/gen" demo generate --out "$work/events.jsonl" --events "$events" \
  --customers $((events / 25)) >/dev/null

# best NAME FILE FORMAT REFKIND: RUNS alternating runs; prints the fastest omni run's line and
# the fastest reference run's JSON, tab-separated.
best() {
  local name=$1 file=$2 fmt=$3 kind=$4 o r best_o="" best_r=""
  for ((i = 1; i <= runs; i++)); do
    echo "$name: run $i of $runs (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    o=$(run_omni "$name" "$file" "$fmt")
    r=$(/usr/bin/python3 bench/ingest_reference.py "$kind" "$file" "$work/ref-$name.db")
    best_o=$(/usr/bin/python3 -c 'import json,sys
a, b = sys.argv[1], sys.argv[2]
sec = lambda s: json.loads(s.rsplit(" ", 2)[0])["seconds"]
print(b if not a or sec(b) < sec(a) else a)' "$best_o" "$o")
    best_r=$(/usr/bin/python3 -c 'import json,sys
a, b = sys.argv[1], sys.argv[2]
print(b if not a or json.loads(b)["seconds"] < json.loads(a)["seconds"] else a)' "$best_r" "$r")
  done
  printf '%s\t%s\n' "$best_o" "$best_r"
}

IFS=$'\t' read -r omni_jsonl ref_jsonl < <(best jsonl "$work/events.jsonl" jsonl jsonl)

retail=../shared/data/online-retail/online_retail.csv.gz
omni_retail="" ref_retail=""
if [ -f "$retail" ]; then
  zcat "$retail" >"$work/online_retail.csv"
  IFS=$'\t' read -r omni_retail ref_retail < <(best retail "$work/online_retail.csv" online-retail online-retail)
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$omni_jsonl" "$ref_jsonl" "$omni_retail" "$ref_retail" "$out/ingest.json" "$runs" "$load_after" <<'PY'
import json, sys
def omni(s):
    if not s: return None
    text, rss, cpu = s.rsplit(" ", 2)
    d = json.loads(text); d["peak_rss_mib"] = float(rss); d["cpu_seconds"] = float(cpu); return d
rows = []
for name, o, r in (("jsonl (demo events)", omni(sys.argv[1]), json.loads(sys.argv[2])),
                   ("online-retail csv", omni(sys.argv[3]), json.loads(sys.argv[4]) if sys.argv[4] else None)):
    if not o: continue
    rows.append({"input": name, "records": o["records"],
                 "omni_records_per_s": round(o["records_per_second"]), "omni_peak_mib": o["peak_rss_mib"],
                 "omni_accepted": o["accepted"], "omni_duplicates": o["duplicates"], "omni_rejected": o["rejected"],
                 "reference_records_per_s": r["records_per_second"], "reference_peak_mib": r["peak_rss_mib"],
                 "reference_accepted": r["accepted"], "reference_rejected": r["rejected"],
                 "omni_cpu_s": o["cpu_seconds"], "reference_cpu_s": r["cpu_seconds"],
                 "ratio": round(o["records_per_second"] / r["records_per_second"], 2),
                 "cpu_ratio": round(r["cpu_seconds"] / o["cpu_seconds"], 2)})
json.dump({"runs": int(sys.argv[6]), "load_after": sys.argv[7], "rows": rows}, open(sys.argv[5], "w"), indent=1)
print(f"fastest of {sys.argv[6]} alternating runs per side; load average at the end: {sys.argv[7]}")
print(f"{'input':22} {'records':>9} {'omni rec/s':>11} {'omni cpu s':>10} {'omni MiB':>9} {'ref rec/s':>10} "
      f"{'ref cpu s':>9} {'ref MiB':>8} {'ratio':>6} {'cpu ratio':>9}")
for r in rows:
    print(f"{r['input']:22} {r['records']:>9} {r['omni_records_per_s']:>11} {r['omni_cpu_s']:>10} {r['omni_peak_mib']:>9} "
          f"{r['reference_records_per_s']:>10} {r['reference_cpu_s']:>9} {r['reference_peak_mib']:>8} {r['ratio']:>6} "
          f"{r['cpu_ratio']:>9}")
PY
