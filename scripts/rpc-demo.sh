#!/usr/bin/env bash
# The control plane end to end, only through unvmf-rpc: starts a fresh
# unvmf-tgt with an empty config, builds 2 malloc bdevs, a null bdev, 2
# subsystems (one open to any host, one to an allowed host only), a TCP
# listener and a discovery referral; runs unvmf-perf --verify on both; prints
# nvmf_get_stats; saves the config, restarts from it and diffs
# nvmf_get_subsystems, bdev_get_bdevs, nvmf_get_transports and
# nvmf_discovery_get_referrals before and after. Exit 0 only if all of it
# worked and nothing differs.
#
# Binaries: $UNVMF_BIN_DIR, else build-release/bin. PORT picks the TCP port
# (default: a free one); KEEP=1 keeps the work directory; RPC_DEMO_TAMPER=1
# adds a bdev after the restart, so the comparison must fail (exit 1).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${UNVMF_BIN_DIR:-$here/build-release/bin}
for b in unvmf-tgt unvmf-rpc unvmf-perf; do
	[ -x "$BIN/$b" ] || { echo "rpc-demo: $BIN/$b not built" >&2; exit 2; }
done

W=$(mktemp -d /tmp/unvmf-rpc-demo.XXXXXX)
SOCK=$W/rpc.sock
TGT_PID=
NQN1=nqn.2016-06.io.spdk:cnode1
NQN2=nqn.2016-06.io.spdk:cnode2
HOST1=nqn.2014-08.org.nvmexpress:uuid:1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a

cleanup() {
	if [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; then
		kill -KILL "$TGT_PID" 2>/dev/null || true
		wait "$TGT_PID" 2>/dev/null || true
	fi
	[ "${KEEP:-0}" = 1 ] && echo "rpc-demo: work directory $W" || rm -rf "$W"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
rpc() { "$BIN/unvmf-rpc" -s "$SOCK" "$@"; }
# Shows the command, then runs it.
rpcv() {
	echo "\$ unvmf-rpc $*"
	rpc "$@"
}

free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "rpc-demo: no free port found" >&2
	exit 2
}
PORT=${PORT:-$(free_port)}

# start_target CONFIG LOG: runs unvmf-tgt on CONFIG and waits until start-up completed.
start_target() {
	"$BIN/unvmf-tgt" -c "$1" -r "$SOCK" >"$2" 2>&1 &
	TGT_PID=$!
	for _ in $(seq 1 500); do
		[ -S "$SOCK" ] && break
		kill -0 "$TGT_PID" 2>/dev/null || { cat "$2" >&2; echo "rpc-demo: unvmf-tgt exited" >&2; exit 1; }
		sleep 0.02
	done
	[ -S "$SOCK" ] || { echo "rpc-demo: no RPC socket after 10 s" >&2; exit 1; }
	rpc framework_wait_init >/dev/null
}

stop_target() {
	local rc=0
	kill -TERM "$TGT_PID"
	wait "$TGT_PID" || rc=$?
	TGT_PID=
	[ "$rc" = 0 ] || { echo "rpc-demo: unvmf-tgt exited with $rc" >&2; exit 1; }
}

snapshot() {
	rpc nvmf_get_subsystems >"$W/$1.subsystems.json"
	rpc bdev_get_bdevs >"$W/$1.bdevs.json"
	rpc nvmf_get_transports >"$W/$1.transports.json"
	rpc nvmf_discovery_get_referrals >"$W/$1.referrals.json"
}

perf() {
	local nqn=$1
	shift
	"$BIN/unvmf-perf" -r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$PORT subnqn:$nqn" "$@"
}

step "start unvmf-tgt ($BIN) with an empty config, RPC on $SOCK"
echo '{"subsystems": []}' >"$W/empty.json"
start_target "$W/empty.json" "$W/tgt1.log"

step "build the setup through unvmf-rpc"
rpcv nvmf_create_transport -t tcp -q 128 -c 4096
rpcv bdev_malloc_create -b Malloc0 64 512
rpcv bdev_malloc_create -b Malloc1 32 4096
rpcv bdev_null_create Null0 128 512
rpcv nvmf_create_subsystem "$NQN1" -a -s SPDK00000000000001 -d "unvmf demo"
rpcv nvmf_create_subsystem "$NQN2" -s SPDK00000000000002 -m 8
rpcv nvmf_subsystem_add_ns "$NQN1" Malloc0
rpcv nvmf_subsystem_add_ns "$NQN1" Null0 -n 2
rpcv nvmf_subsystem_add_ns "$NQN2" Malloc1
rpcv nvmf_subsystem_add_host "$NQN2" "$HOST1"
rpcv nvmf_subsystem_add_listener "$NQN1" -t tcp -a 127.0.0.1 -s "$PORT"
rpcv nvmf_subsystem_add_listener "$NQN2" -t tcp -a 127.0.0.1 -s "$PORT"
rpcv nvmf_subsystem_add_listener nqn.2014-08.org.nvmexpress.discovery -t tcp -a 127.0.0.1 -s "$PORT"
rpcv nvmf_discovery_add_referral -t tcp -a 127.0.0.2 -s 4420

step "I/O with --verify on both subsystems"
perf "$NQN1" -q 16 -o 4096 -w randrw -t 1 --verify --nsid 1
perf "$NQN2" -q 16 -o 4096 -w randrw -t 1 --verify --hostnqn "$HOST1"
if perf "$NQN2" -q 1 -o 4096 -w read -t 1 >"$W/denied.log" 2>&1; then
	echo "rpc-demo: a host that is not allowed got into $NQN2" >&2
	exit 1
fi
echo "(a host not on $NQN2's list is refused, as it should be)"

step "nvmf_get_stats"
rpc nvmf_get_stats

step "save_config, restart from it"
snapshot before
rpc save_config >"$W/saved.json"
stop_target
start_target "$W/saved.json" "$W/tgt2.log"
# The negative control of the check below (ctest runs it): state the file does not have.
[ "${RPC_DEMO_TAMPER:-0}" = 1 ] && rpc bdev_null_create Tamper0 8 512 >/dev/null
snapshot after

step "compare the state before and after the restart"
status=0
for what in subsystems bdevs transports referrals; do
	if diff -u "$W/before.$what.json" "$W/after.$what.json"; then
		echo "$what: same"
	else
		echo "rpc-demo: $what differ after the restart" >&2
		status=1
	fi
done
perf "$NQN1" -q 8 -o 4096 -w randread -t 1 --nsid 2 >/dev/null
stop_target
[ "$status" = 0 ] && echo "rpc-demo: OK"
exit "$status"
