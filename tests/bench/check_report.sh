#!/usr/bin/env bash
# bench/report.py on made-up unvmf-perf --json results (no benchmark runs here):
# the median is taken, the reference figures from the brief are labelled as
# such with the right ratios, and a target that did not exit 0 fails the report.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
RAW=$(mktemp -d)
trap 'rm -rf "$RAW"' EXIT

# perf_json NAME ROUND IOPS MIBPS MEAN_US
perf_json() {
	cat >"$RAW/$1.$2.json" <<JSON
{"workload": "x", "iops": $3, "mibps": $4, "io_errors": 0,
 "latency_us": {"avg": $5, "min": 1.0, "max": 90.0, "p50": 10.0, "p99": 40.0, "p99_9": 80.0}}
JSON
}
for r in 1 2 3; do
	perf_json 4k-randread-qd32 $r 400000 1562.5 80.0
	perf_json 4k-randread-qd128 $r 650000 2539.1 196.0
done
# QD1: medians 60000 IOPS and 16.0 µs (round 2); rounds 1 and 3 are the outliers.
perf_json 4k-randread-qd1 1 10000 39.1 99.0
perf_json 4k-randread-qd1 2 60000 234.4 16.0
perf_json 4k-randread-qd1 3 90000 351.6 11.0
# 128 KiB: 5722.1 MiB/s = 6000.05 MB/s.
for r in 1 2 3; do perf_json 128k-read-qd16 $r 45777 5722.1 350.0; done

fail() { echo "FAIL: $*"; echo "---- report ----"; cat "$RAW/report.md"; exit 1; }
want() { grep -qF -- "$1" "$RAW/report.md" || fail "missing: $1"; }

python3 "$REPO/bench/report.py" "$RAW" 3 10 0 >"$RAW/report.md" || fail "exit $? with target status 0"
want "| 4k-randread-qd1 | 60000 |"
want "not measured here"
want "| 4k-randread-qd1 | IOPS | 60000 | ~50000 | 1.20 | 60000 | yes |"
want "| 4k-randread-qd1 | mean µs (lower is better) | 16.0 | ~20 | 0.80 | 16.7 | yes |"
want "| 4k-randread-qd32 | IOPS | 400000 | ~500000 | 0.80 | 600000 | no |"
want "| 4k-randread-qd128 | IOPS | 650000 | ~500000 | 1.30 | 600000 | yes |"
want "| 128k-read-qd16 | MB/s | 6000 | ~5000 | 1.20 | 6000 | yes |"
want "Target exit status after the runs: 0."

rc=0
python3 "$REPO/bench/report.py" "$RAW" 3 10 134 >"$RAW/report.md" || rc=$?
[ $rc -eq 1 ] || fail "target status 134: report exit $rc, expected 1"
want "Target exit status after the runs: 134 (NOT a clean shutdown"
echo "bench report: ok"
