#!/usr/bin/env bash
# bench/cost.sh — per-I/O CPU cost of an NVMe/TCP target under SPDK's spdk_nvme_perf, in
# measures that do not depend on how loaded the machine is:
#   - user-space instructions per I/O (valgrind callgrind: exact counts, no PMU needed), with
#     the cost of empty poll iterations taken out;
#   - system calls per I/O by name (perf stat on syscall tracepoints, a native run), failed
#     (EAGAIN) receives and sends counted apart.
#
#   bench/cost.sh --target unvmf|spdk [--idle] [-t SECS] [-T CG_SECS] [-o OUTDIR] [-w WORKLOADS]
#                 [--no-callgrind] [--no-syscalls]
#
# Target on core 0 (taskset), client on core 1; unvmf-tgt is this tree's Release build with
# bench/pair_config.sh's null namespace, busy polling (-b) unless --idle; SPDK is nvmf_tgt set up
# like ../shared/spdk/tools/spdk-tgt.sh (null bdev nsid 1, TCP defaults). Workloads are
# name:io_size:rw:qd (default: 4 KiB randread QD1 and QD128, 4 KiB randwrite QD32, 128 KiB
# read and write QD16).
#
# Instructions: the target runs under callgrind. Its counters are zeroed before and dumped after
# each workload; the I/O count is the number of calls of the core's command entry point
# (unvmf_req_exec / spdk_nvmf_request_exec) and the poll count that of the poll group's poller
# (poll_group_poll / nvmf_tcp_poll_group_poll, one per reactor iteration). A busy-polling target also spins between I/Os, more
# when the client is slow, so the cost of one empty poll with a connection open is measured
# first (the client is stopped with SIGSTOP while connected) and
#     net instructions/IO = (Ir - polls * Ir_per_empty_poll) / IOs
# is reported next to the raw Ir/IO and the polls per I/O. That subtraction drowns when the
# target spins thousands of times per I/O (a slow client on a loaded machine), so the main
# figure is the work instructions per I/O: the inclusive cost of the handlers a poll calls only
# when there is work, receive + bdev completion + send:
#   unvmf: tcp_conn_recv + io_bdev_done + tcp_conn_flush
#   SPDK:  nvmf_tcp_sock_cb + spdk_bdev_io_complete + _sock_flush (posix; also called on
#          polls with nothing queued, a few instructions each: SPDK's figure is a little high)
# Syscalls: perf stat on the target while the client runs natively for SECS; per-I/O figures
# divide by the client's I/O count (IOPS x SECS). epoll_wait of a spinning target is per poll,
# not per I/O: it is shown apart.
# Writes OUT/cost.tsv (one row per workload and measure) and OUT/cost.md.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SPDK_TOOLS=${SPDK_TOOLS:-/work/shared/spdk/tools}
[[ -r $SPDK_TOOLS/spdk-common.sh ]] || SPDK_TOOLS=$REPO/../shared/spdk/tools
HUGE=${HUGE:-0}
# shellcheck source=/dev/null
source "$SPDK_TOOLS/spdk-common.sh"
BUILD_DIR=${BUILD_DIR:-$REPO/build-release}
TARGET=""
MODE=busy
SECS=5
CG_SECS=10
OUT=""
DO_CG=1
DO_SC=1
PORT=${PORT:-44520}
NQN=nqn.2016-06.io.spdk:cnode1
WORKLOADS=${WORKLOADS:-"4k-randread-qd1:4096:randread:1 4k-randread-qd128:4096:randread:128 4k-randwrite-qd32:4096:randwrite:32 128k-read-qd16:131072:read:16 128k-write-qd16:131072:write:16"}
while (($#)); do
	case $1 in
	--target) TARGET=$2; shift ;;
	--idle) MODE=idle ;;
	-t) SECS=$2; shift ;;
	-T) CG_SECS=$2; shift ;;
	-o) OUT=$2; shift ;;
	-w) WORKLOADS=$2; shift ;;
	--no-callgrind) DO_CG=0 ;;
	--no-syscalls) DO_SC=0 ;;
	-h | --help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "cost.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[[ $TARGET == unvmf || $TARGET == spdk ]] || { echo "cost.sh: --target unvmf|spdk" >&2; exit 2; }
OUT=${OUT:-/var/tmp/unvmf-cost-$TARGET-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PERF_MEM=$(spdk_mem_args)
TRID="trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$NQN ns:1 hostnqn:nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001"
TSV=$OUT/cost.tsv
[[ -f $TSV ]] || echo -e "target\tmode\tworkload\tmeasure\tvalue" > "$TSV"
SOCK=/var/tmp/unvmf-cost-$PORT.sock
TGT_PID=""
CLIENT_PID=""
cleanup() {
	[[ -n $CLIENT_PID ]] && { kill -CONT "$CLIENT_PID" 2> /dev/null; kill -INT "$CLIENT_PID" 2> /dev/null; }
	[[ -n $TGT_PID ]] && stop_pid "$TGT_PID"
	TGT_PID="" CLIENT_PID=""
}
trap cleanup EXIT
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$TARGET" "$MODE" "$1" "$2" "$3" >> "$TSV"; }

if [[ $TARGET == unvmf ]]; then
	cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
	ninja -C "$BUILD_DIR" unvmf-tgt > /dev/null
	"$REPO/bench/pair_config.sh" "$NQN" "$PORT" > "$OUT/unvmf.json"
	POLL_FN=poll_group_poll EXEC_FN=unvmf_req_exec
	WORK_FNS=tcp_conn_recv,io_bdev_done,tcp_conn_flush
else
	POLL_FN=nvmf_tcp_poll_group_poll EXEC_FN=spdk_nvmf_request_exec
	WORK_FNS=nvmf_tcp_sock_cb,spdk_bdev_io_complete,_sock_flush
fi

# start_target [wrapper...]: starts the target (under the wrapper, e.g. valgrind) on core 0.
start_target() {
	local log=$OUT/target.log busy=-b
	[[ $MODE == idle ]] && busy=""
	if [[ $TARGET == unvmf ]]; then
		# shellcheck disable=SC2086
		setsid taskset -c 0 "$@" "$BUILD_DIR/bin/unvmf-tgt" -m 0x1 $busy -c "$OUT/unvmf.json" \
			--no-rpc -L warn >> "$log" 2>&1 < /dev/null &
		TGT_PID=$!
	else
		rm -f "$SOCK"
		# shellcheck disable=SC2086
		setsid taskset -c 0 "$@" "$SPDK_DIR/build/bin/nvmf_tgt" -m 0x1 --no-pci -r "$SOCK" \
			$PERF_MEM >> "$log" 2>&1 < /dev/null &
		TGT_PID=$!
		local rpc=("$SPDK_DIR/scripts/rpc.py" -s "$SOCK" -t 300) i
		for ((i = 0; i < 600; i++)); do
			[[ -S $SOCK ]] && "${rpc[@]}" spdk_get_version > /dev/null 2>&1 && break
			sleep 0.5
		done
		"${rpc[@]}" framework_wait_init > /dev/null
		"${rpc[@]}" nvmf_create_transport -t TCP > /dev/null
		"${rpc[@]}" bdev_null_create Null0 1024 512 > /dev/null
		"${rpc[@]}" nvmf_create_subsystem "$NQN" -a -s SPDK00000000000001 -d SPDK_anchor -m 32 > /dev/null
		"${rpc[@]}" nvmf_subsystem_add_ns -n 1 "$NQN" Null0 > /dev/null
		"${rpc[@]}" nvmf_subsystem_add_listener "$NQN" -t tcp -f ipv4 -a 127.0.0.1 -s "$PORT" > /dev/null
	fi
	wait_port "$PORT" 300 || { echo "cost.sh: target not listening (see $log)" >&2; exit 1; }
}

# client NAME IO RW QD SECS LOG: spdk_nvme_perf on core 1.
client() {
	# shellcheck disable=SC2086
	taskset -c 1 "$SPDK_DIR/build/bin/spdk_nvme_perf" -c 0x2 $PERF_MEM -q "$4" -o "$2" -w "$3" -t "$5" \
		-r "$TRID" > "$6" 2>&1
}
client_ios() { # LOG SECS -> I/O count from the Total line
	awk -v t="$2" '/^Total +:/ { sub(/.*:/, ""); printf "%.0f\n", $1 * t }' "$1" | tail -1
}

# Every syscall (raw_syscalls) and, by name, those of the I/O path; a failed call (EAGAIN)
# of the first three is counted apart.
STAT_EVENTS="-e raw_syscalls:sys_enter"
for sc in recvmsg readv sendmsg; do
	STAT_EVENTS+=" -e syscalls:sys_enter_$sc -e syscalls:sys_exit_$sc --filter ret<0"
done
for sc in writev read recvfrom sendto epoll_wait epoll_ctl accept accept4; do
	STAT_EVENTS+=" -e syscalls:sys_enter_$sc"
done

if ((DO_SC)); then
	echo "== syscalls ($TARGET, $MODE, ${SECS}s per workload)"
	start_target
	sleep 1
	for w in $WORKLOADS; do
		IFS=: read -r name io rw qd <<< "$w"
		# In-kernel counters (perf stat on syscall tracepoints): nothing is lost however loaded
		# the machine is, unlike perf trace's event stream.
		perf stat -x, -o "$OUT/stat-$name.csv" -p "$TGT_PID" $STAT_EVENTS -- \
			bash -c "$(declare -f client); SPDK_DIR=$SPDK_DIR PERF_MEM='$PERF_MEM' TRID='$TRID' client $name $io $rw $qd $SECS $OUT/perf-sc-$name.log"
		ios=$(client_ios "$OUT/perf-sc-$name.log" "$SECS")
		row "$name" ios_native "$ios"
		python3 - "$OUT/stat-$name.csv" "$ios" > "$OUT/sc-$name.tsv" << 'PY'
import sys
counts, ios = {}, float(sys.argv[2])
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) < 3 or not f[0].replace(".", "").isdigit():
        continue
    ev = f[2]
    if ev == "raw_syscalls:sys_enter":
        counts["all"] = float(f[0])
    elif ev.startswith("syscalls:sys_enter_"):
        counts[ev[len("syscalls:sys_enter_"):]] = float(f[0])
    elif ev.startswith("syscalls:sys_exit_"):
        counts[ev[len("syscalls:sys_exit_"):] + "_eagain"] = float(f[0])
for k, v in counts.items():
    if k.endswith("_eagain"):
        continue
    print(f"syscall_{k}\t{v:.0f}\t{counts.get(k + '_eagain', 0):.0f}\t{v / ios:.4f}\t{counts.get(k + '_eagain', 0) / ios:.4f}")
PY
		while IFS=$'\t' read -r sc calls errs per_io errs_per_io; do
			row "$name" "$sc" "$per_io"
			row "$name" "${sc}_eagain" "$errs_per_io"
		done < "$OUT/sc-$name.tsv"
		echo "  $name: $ios I/Os; $(awk '{printf "%s %s/IO  ", $1, $4}' "$OUT/sc-$name.tsv")"
	done
	stop_pid "$TGT_PID"
	TGT_PID=""
fi

if ((DO_CG)); then
	echo "== instructions ($TARGET, $MODE, callgrind, ${CG_SECS}s per workload)"
	CG=$OUT/callgrind.out
	rm -f "$CG"*
	start_target valgrind --tool=callgrind --callgrind-out-file="$CG" --dump-instr=no --fair-sched=yes
	sleep 2
	# One empty poll with a connection open: the client connects, then stops. A target under
	# valgrind on a busy machine may answer Connect too late for the client: it tries again.
	for try in 1 2 3; do
		"$SPDK_DIR/build/bin/spdk_nvme_perf" -c 0x2 $PERF_MEM -q 1 -o 4096 -w randread -t 600 \
			-r "$TRID" > "$OUT/perf-cg-idle.log" 2>&1 &
		CLIENT_PID=$!
		sleep 20
		kill -0 "$CLIENT_PID" 2> /dev/null && break
		echo "cost.sh: idle client did not stay connected (try $try)" >&2
		CLIENT_PID=""
	done
	[[ -n $CLIENT_PID ]] || { echo "cost.sh: no idle client (see $OUT/perf-cg-idle.log)" >&2; exit 1; }
	kill -STOP "$CLIENT_PID"
	sleep 2
	callgrind_control -z "$TGT_PID" > /dev/null
	sleep 5
	callgrind_control --dump=w:idle "$TGT_PID" > /dev/null
	kill -CONT "$CLIENT_PID"
	kill -INT "$CLIENT_PID"
	wait "$CLIENT_PID" || true
	CLIENT_PID=""
	for w in $WORKLOADS; do
		IFS=: read -r name io rw qd <<< "$w"
		callgrind_control -z "$TGT_PID" > /dev/null
		client "$name" "$io" "$rw" "$qd" "$CG_SECS" "$OUT/perf-cg-$name.log"
		callgrind_control --dump="w:$name" "$TGT_PID" > /dev/null
	done
	sleep 1
	# Under valgrind a target may take longer to stop than stop_pid waits: the dumps are taken.
	kill -KILL "$TGT_PID" 2> /dev/null || true
	TGT_PID=""
	python3 "$REPO/bench/cost_callgrind.py" --poll "$POLL_FN" --exec "$EXEC_FN" --work "$WORK_FNS" "$CG" "$WORKLOADS" \
		> "$OUT/cg.tsv"
	while IFS=$'\t' read -r name measure value; do row "$name" "$measure" "$value"; done < "$OUT/cg.tsv"
	column -t "$OUT/cg.tsv" | sed 's/^/  /'
fi
python3 "$REPO/bench/cost_report.py" "$TSV" > "$OUT/cost.md"
cat "$OUT/cost.md"
echo "out: $OUT"
