#!/bin/sh
# Soak: the sim campaign on both cores. N_SEEDS_OR_SECONDS: "100000" runs that
# many seeds, "600s" runs for 600 seconds. Writes the full report to $REPORT
# (default sim-soak-report.txt), prints its summary (seeds, steps, faults by
# kind, pairs covered/possible/total, fail_wr matrix gaps, failures) and exits
# non-zero if any seed failed.
set -eu
arg=${1:?usage: soak.sh N_SEEDS | SECONDSs}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${UNVMF_SIM:-$here/build/tests/unvmf-sim}
report=${REPORT:-sim-soak-report.txt}
first=${FIRST:-1}
jobs=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
rc=0
case $arg in
*s) "$bin" --first "$first" --time "${arg%s}" --jobs "$jobs" --report "$report" 2>/dev/null || rc=$? ;;
*) "$bin" --first "$first" --seeds "$arg" --jobs "$jobs" --report "$report" 2>/dev/null || rc=$? ;;
esac
echo "== soak summary ($report) =="
sed -n -e '/^seeds run:/p' -e '/^steps:/p' -e '/^wall time:/p' -e '/^I\/Os completed:/p' \
	-e '/^host reconnects:/p' -e '/^failures:/p' "$report"
sed -n '/^## faults injected/,/^$/p' "$report"
sed -n -e '/^pairs covered\/possible\/total:/p' -e '/^## possible pairs not reached:/p' \
	-e '/^## pairs reached that are listed impossible:/p' \
	-e '/^cells of the SEND..RECV rows never fired:/p' "$report"
sed -n '/^## failures/,$p' "$report"
exit "$rc"
