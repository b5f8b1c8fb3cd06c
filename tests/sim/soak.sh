#!/bin/sh
# Soak: the sim campaign on both cores. N_SEEDS_OR_SECONDS: "100000" runs that
# many seeds, "600s" runs for 600 seconds. Writes the report to $REPORT
# (default sim-soak-report.txt) and exits non-zero if any seed failed.
set -eu
arg=${1:?usage: soak.sh N_SEEDS | SECONDSs}
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${UNVMF_SIM:-$here/build/tests/unvmf-sim}
report=${REPORT:-sim-soak-report.txt}
first=${FIRST:-1}
jobs=$(nproc 2>/dev/null || echo 2)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
case $arg in
*s) exec "$bin" --first "$first" --time "${arg%s}" --jobs "$jobs" --report "$report" ;;
*) exec "$bin" --first "$first" --seeds "$arg" --jobs "$jobs" --report "$report" ;;
esac
