#!/usr/bin/env bash
# Loopback benchmark: unvmf-perf against unvmf-tgt (release build), target
# busy-polling on core 0, host on core 1, null namespace. Each workload runs
# ROUNDS times, interleaved, so drift on this machine hits all of them alike.
# Writes bench/results/latest.md (bench/REPORT.md is the per-I/O cost and pair
# report, see bench/cost.sh and bench/pair.sh), a dated copy in
# bench/results/ (ignored) and prints it. The report sets our figures beside
# the SPDK reference figures of the project brief (not measured here).
# Fails when a run fails or the target does not exit 0 after the runs.
#   bench/run.sh [SECONDS_PER_RUN] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-release unvmf-tgt unvmf-perf >/dev/null
BIN=build-release/bin
PORT=${PORT:-44420}
NQN=nqn.2024-11.io.unvmf:default
TRID="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$NQN"
mkdir -p bench/results
OUT=bench/results/latest.md
DATED=bench/results/$(date -u +%Y%m%d-%H%M%S).md
RAW=$(mktemp -d)
TGT=
trap '[ -z "$TGT" ] || kill $TGT 2>/dev/null || true; rm -rf "$RAW"' EXIT

taskset -c 0 $BIN/unvmf-tgt -m 0x1 -b --null -s 1024 -p $PORT --no-rpc -L error >"$RAW/tgt.log" 2>&1 &
TGT=$!
up=0
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && { up=1; break; }
	kill -0 $TGT 2>/dev/null || break
	sleep 0.1
done
if [ $up -ne 1 ]; then
	echo "unvmf-tgt did not come up on port $PORT:"; cat "$RAW/tgt.log"; exit 1
fi

WORKLOADS=("4k-randread-qd1:-q 1 -o 4096 -w randread"
	   "4k-randread-qd32:-q 32 -o 4096 -w randread"
	   "4k-randread-qd128:-q 128 -o 4096 -w randread"
	   "128k-read-qd16:-q 16 -o 131072 -w read")
for r in $(seq "$ROUNDS"); do
	for w in "${WORKLOADS[@]}"; do
		name=${w%%:*}
		args=${w#*:}
		taskset -c 1 $BIN/unvmf-perf -r "$TRID" $args -t "$SECS" -c 0x2 --json \
			>"$RAW/$name.$r.json" 2>"$RAW/$name.$r.err" || {
			echo "run $name/$r failed:"; cat "$RAW/$name.$r.err"; exit 1; }
	done
done
kill -INT $TGT
TGT_RC=0
wait $TGT || TGT_RC=$?
TGT=
if [ $TGT_RC -ne 0 ]; then
	echo "unvmf-tgt exited with status $TGT_RC after the runs; its log:"
	cat "$RAW/tgt.log"
fi

RC=0
python3 bench/report.py "$RAW" "$ROUNDS" "$SECS" "$TGT_RC" >"$OUT" || RC=$?
cp "$OUT" "$DATED"
cat "$OUT"
exit $RC
