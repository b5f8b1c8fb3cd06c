#!/usr/bin/env bash
# Builds the libFuzzer configuration of tests/fuzz (clang, ASan + UBSan, every
# layer instrumented; its own build directory) and runs each harness in turn,
# one process at a time under nice, seeded with its committed corpus
# (tests/fuzz/corpus/<harness>, read only: new inputs go to the build
# directory). Records per harness the executions, coverage (cov = edges,
# ft = features) and findings (crash-, leak-, timeout-, oom- files), and
# writes its rows into the table of docs/SECURITY.md between its fuzz-results
# markers (a harness's row is replaced, the other harnesses' rows are kept, so
# harnesses can be run one at a time with budgets of their own).
# Runs inside a private network namespace when it can (unshare -n): the
# listeners that inputs create bind nothing on the machine's loopback.
# Exits 1 when a harness found something (its input is in the artifacts dir).
#   bench/fuzz.sh [--time SECS | --runs N] [--build-dir DIR] [--no-record]
#                 [--only HARNESS]...
set -euo pipefail
cd "$(dirname "$0")/.."
TIME=60
RUNS=""
BUILD=build-fuzz
RECORD=1
ONLY=()
while (($#)); do
	case "$1" in
	--time) TIME=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--build-dir) BUILD=$2; shift 2 ;;
	--no-record) RECORD=0; shift ;;
	--only) ONLY+=("$2"); shift 2 ;;
	*) echo "usage: $0 [--time SECS | --runs N] [--build-dir DIR] [--no-record] [--only HARNESS]..." >&2; exit 2 ;;
	esac
done
command -v clang >/dev/null || { echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

# The build's output is shown only when it fails (a clang-only warning is an error).
mkdir -p "$BUILD"
if ! { CC=clang cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DUNVMF_FUZZ=ON &&
	nice ninja -C "$BUILD" fuzz_all; } >"$BUILD/fuzz-build.log" 2>&1; then
	grep -E -B2 -A8 'error|FAILED' "$BUILD/fuzz-build.log" | head -60 >&2
	echo "fuzz: the libFuzzer build failed; full log: $BUILD/fuzz-build.log" >&2
	exit 1
fi
BUILD=$(cd "$BUILD" && pwd)

if ((${#ONLY[@]})); then
	HARNESSES=("${ONLY[@]}")
else
	HARNESSES=()
	for f in "$BUILD"/fuzz/fuzz_*; do HARNESSES+=("$(basename "$f")"); done
fi

# A private network namespace with its own loopback, when this user may make one.
NETNS=()
if unshare -n true 2>/dev/null && command -v ip >/dev/null; then
	NETNS=(unshare -n)
fi

if [ -n "$RUNS" ]; then LIMIT=(-runs="$RUNS"); BUDGET="$RUNS executions"; else LIMIT=(-max_total_time="$TIME"); BUDGET="${TIME} s"; fi
rows=()
found=0
for h in "${HARNESSES[@]}"; do
	bin=$BUILD/fuzz/$h
	work=$BUILD/fuzz-corpus/$h
	art=$BUILD/fuzz-artifacts/$h
	log=$BUILD/fuzz-logs/$h.log
	mkdir -p "$work" "$art" "$(dirname "$log")"
	rm -f "$art"/*
	dict=()
	[ -f "tests/fuzz/$h.dict" ] && dict=(-dict="tests/fuzz/$h.dict")
	echo "fuzz: $h ($BUDGET)..."
	start=$(date +%s)
	set +e
	# A 16 MiB quarantine (256 by default) keeps freed memory hot: a use after
	# free is still caught for far more frees than one input makes, and the
	# allocator stops faulting in fresh pages on every input (3x the rate).
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:quarantine_size_mb=16 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"${NETNS[@]}" sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh \
		nice "$bin" "${LIMIT[@]}" -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 \
		-artifact_prefix="$art/" "${dict[@]}" "$work" "tests/fuzz/corpus/$h" >"$log" 2>&1
	rc=$?
	set -e
	secs=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
	findings=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
		found=1
		echo "fuzz: $h: exit $rc, $findings finding(s): $art, log $log" >&2
	fi
	rows+=("| $h | $(date -u +%Y-%m-%d) | $BUDGET | ${execs:-?} | ${rate:-?} | ${secs} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $findings |")
	echo "fuzz: $h: ${execs:-?} execs (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, findings $findings"
done

head="| harness | date | budget | execs | execs/s | seconds | cov | ft | corpus (units/size) | crashes + leaks + timeouts |
|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
stamp="On $(nproc) CPU(s), $(clang --version | head -1), one harness process at a time under nice, ASan + UBSan + LeakSanitizer"
printf '%s\n\n%s\n' "$stamp" "$head"
printf '%s\n' "${rows[@]}"
if [ "$RECORD" = 1 ]; then
	python3 - "$stamp" "$head" "${rows[@]}" <<'PY'
import re, sys
path = "docs/SECURITY.md"
stamp, head, new_rows = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(path).read()
m = re.search(r"<!-- fuzz-results:begin -->(.*?)<!-- fuzz-results:end -->", text, flags=re.S)
ncols = head.splitlines()[0].count("|")
rows = {}
for line in (m.group(1).splitlines() if m else []):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    # Rows of this table's layout only: a harness name first, not the header.
    if line.count("|") == ncols and cells[0].startswith("fuzz_"):
        rows[cells[0]] = line.strip()
for r in new_rows:
    rows[r.strip("| ").split(" |")[0].strip()] = r
block = "<!-- fuzz-results:begin -->\n%s\n\n%s\n%s\n<!-- fuzz-results:end -->" % (
    stamp, head, "\n".join(rows[k] for k in sorted(rows)))
if m:
    text = text[:m.start()] + block + text[m.end():]
open(path, "w").write(text)
PY
	echo "fuzz: results written to docs/SECURITY.md"
fi
exit $found
