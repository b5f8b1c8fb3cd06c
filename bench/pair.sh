#!/usr/bin/env bash
# bench/pair.sh — SPDK's nvmf_tgt (A) against unvmf-tgt (B), side by side with SPDK's
# spdk_nvme_perf as the one client, through ../shared/spdk/tools/bench-pair.sh (interleaved
# rounds, targets never running at once, medians and B/A ratios in OUT/summary.md).
#
#   bench/pair.sh [--idle] [-n ROUNDS] [-t SECS] [-o OUTDIR] [-w WORKLOADS]
#
# B is the Release build of this tree (built here), `taskset -c 0 unvmf-tgt -m 0x1 -b -c CONFIG`
# with CONFIG = a null namespace shaped like spdk-tgt.sh's: subsystem nqn.2016-06.io.spdk:cnode1
# (any host), nsid 1 = Null0 (1 GiB, 512 B blocks), TCP 127.0.0.1, SPDK's TCP transport defaults.
# --idle runs B in its default mode (no -b: adaptive polling, then sleep) for the "low latency
# without burning a core" comparison; A always busy-polls (SPDK's default).
# Workloads: 4 KiB randread QD1/QD32/QD128, 4 KiB randwrite QD32, 128 KiB read QD16 and
# 128 KiB write QD16 (override with -w, bench-pair.sh's name:io_size:rw:qd:secs format).
# Env: SPDK_TOOLS (default /work/shared/spdk/tools or ../shared/spdk/tools), SPDK_DIR (see
# spdk-common.sh), BUILD_DIR (default build-release), A_PORT/B_PORT (4420/4421).
# Needs SPDK built by build-spdk.sh; the integrator runs it on a quiet machine.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPDK_TOOLS=${SPDK_TOOLS:-}
if [[ -z $SPDK_TOOLS ]]; then
	for d in /work/shared/spdk/tools "$REPO/../shared/spdk/tools"; do
		[[ -x $d/bench-pair.sh ]] && { SPDK_TOOLS=$(cd "$d" && pwd); break; }
	done
fi
[[ -n $SPDK_TOOLS && -x $SPDK_TOOLS/bench-pair.sh ]] || {
	echo "pair.sh: bench-pair.sh not found; set SPDK_TOOLS" >&2
	exit 2
}
BUILD_DIR=${BUILD_DIR:-$REPO/build-release}
A_PORT=${A_PORT:-4420}
B_PORT=${B_PORT:-4421}
NQN=nqn.2016-06.io.spdk:cnode1
MODE=busy
ROUNDS=3
SECS=10
OUT=""
WORKLOADS=${WORKLOADS:-"4k-randread-qd1:4096:randread:1:- 4k-randread-qd32:4096:randread:32:- 4k-randread-qd128:4096:randread:128:- 4k-randwrite-qd32:4096:randwrite:32:- 128k-read-qd16:131072:read:16:- 128k-write-qd16:131072:write:16:-"}

while (($#)); do
	case $1 in
	--idle) MODE=idle ;;
	-n) ROUNDS=$2; shift ;;
	-t) SECS=$2; shift ;;
	-o) OUT=$2; shift ;;
	-w) WORKLOADS=$2; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "pair.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
OUT=${OUT:-/var/tmp/unvmf-pair-$MODE-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
ninja -C "$BUILD_DIR" unvmf-tgt > /dev/null

CONFIG=$OUT/unvmf-null.json
"$REPO/bench/pair_config.sh" "$NQN" "$B_PORT" > "$CONFIG"

BUSY=-b
[[ $MODE == idle ]] && BUSY=""
B_CMD="taskset -c 0 $BUILD_DIR/bin/unvmf-tgt -m 0x1 $BUSY -c $CONFIG --no-rpc -L warn"
{
	echo "commit $(git -C "$REPO" rev-parse --short HEAD 2> /dev/null || echo unknown)$(git -C "$REPO" diff --quiet 2> /dev/null || echo ' (dirty)')"
	echo "machine $(uname -srm), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "unvmf mode $MODE: $B_CMD"
} | tee "$OUT/setup.txt"

# spdk_nvme_perf sends an empty Host NQN unless the transport ID names one; both targets allow
# any host, so naming one changes nothing but the log lines.
export PERF_TRID_EXTRA=${PERF_TRID_EXTRA:-hostnqn:nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001}
export WORKLOADS NQN NSID=1
exec "$SPDK_TOOLS/bench-pair.sh" -n "$ROUNDS" -t "$SECS" -o "$OUT" \
	--a-name spdk --a-port "$A_PORT" \
	--b-name "unvmf-$MODE" --b-port "$B_PORT" --b-fg "$B_CMD"
