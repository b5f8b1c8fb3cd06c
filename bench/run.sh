#!/usr/bin/env bash
# Loopback benchmark: unvmf-perf against unvmf-tgt (release build), target
# busy-polling on core 0, host on core 1, null namespace. Each workload runs
# ROUNDS times, interleaved, so drift on this machine hits all of them alike.
# Writes bench/results/<date>.md and prints it.
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
OUT=bench/results/$(date -u +%Y%m%d-%H%M%S).md
RAW=$(mktemp -d)
trap 'kill $TGT 2>/dev/null || true; rm -rf "$RAW"' EXIT

taskset -c 0 $BIN/unvmf-tgt -m 0x1 -b --null -s 1024 -p $PORT --no-rpc -L error >"$RAW/tgt.log" 2>&1 &
TGT=$!
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
	sleep 0.1
done

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
kill -INT $TGT; wait $TGT || true

python3 - "$RAW" "$ROUNDS" "$SECS" >"$OUT" <<'PY'
import json, sys, statistics, platform, os
raw, rounds, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
names = ["4k-randread-qd1", "4k-randread-qd32", "4k-randread-qd128", "128k-read-qd16"]
print("# unvmf loopback benchmark\n")
print(f"NVMe/TCP over 127.0.0.1, null namespace, target busy-polling on core 0, unvmf-perf on core 1;"
      f" {rounds} interleaved rounds of {secs} s each. Median of rounds.\n")
print("| workload | IOPS | MiB/s | mean µs | p50 µs | p99 µs | p99.9 µs | rounds (IOPS) |")
print("|---|---|---|---|---|---|---|---|")
for n in names:
    runs = [json.load(open(f"{raw}/{n}.{r}.json")) for r in range(1, rounds + 1)]
    iops = [x["iops"] for x in runs]
    m = runs[sorted(range(len(runs)), key=lambda i: iops[i])[len(runs) // 2]]
    lat = m["latency_us"]
    print(f"| {n} | {m['iops']:.0f} | {m['mibps']:.1f} | {lat['avg']:.1f} | {lat['p50']:.1f} | "
          f"{lat['p99']:.1f} | {lat['p99_9']:.1f} | {', '.join(f'{v:.0f}' for v in iops)} |")
print(f"\nMachine: {os.cpu_count()} cores, {platform.platform()}.")
PY
cat "$OUT"
