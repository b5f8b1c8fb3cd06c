# Helpers for scenario functions running inside an interop guest (bash, root, PID 1's child).
# The host runner's /rig/$NAME.cmd exports RIG_DIR BIN SCENARIO QUICK NAME, sources this file and
# the scenario file, then calls rig_guest_run with the scenario's function for this guest.
#
# Results, all in /rig (the run directory on the host):
#   /rig/$NAME/failures   one line per failed check (absent or empty: the guest passed)
#   /rig/$NAME/figures    key=value lines, printed on the scenario's summary line
#   /rig/flags/<name>     sequencing between A, B and the host; content = time it was set
#   /rig/$NAME/exit       written by stage2 when the scenario script returned (B's "done")

RIG=${RIG:-/rig}
SUBNQN=nqn.2024-11.io.unvmf:default
TGT_IP=192.0.2.1
TGT_PORT=4420
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:7c2a0b6e-0000-4000-8000-00000000000b
HOSTID=7c2a0b6e-0000-4000-8000-00000000000b
RPC_SOCK=/tmp/unvmf.sock
mkdir -p "$RIG/flags" "$RIG/$NAME"

now() { date +%s.%N | cut -c1-14; }
say() { echo "[$(now)] $*"; }
# Seconds from $1 to $2 (decimal), one digit after the point.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Guest clocks under TCG drift from the host's (0.3 s in a minute on a loaded machine), so times
# that cross machines are kept in "rig time" (the host's clock): the host stamps every write on
# the /rig share with its own mtime, and a guest samples its offset once a second into
# /rig/$NAME/clock.log ("guest_time offset").  Flags hold rig time.
clock_sample() {
	local t0 t1 m
	t0=$(date +%s.%N)
	echo >"$RIG/$NAME/clock.probe"
	t1=$(date +%s.%N)
	m=$(stat -c %.9Y "$RIG/$NAME/clock.probe")
	awk -v a="$t0" -v b="$t1" -v m="$m" 'BEGIN { g = (a + b) / 2; printf "%.3f %.3f\n", g, m - g }'
}
clock_watch_start() {
	[ "$NAME" = host ] && return 0
	( while :; do clock_sample; sleep 1; done ) >>"$RIG/$NAME/clock.log" 2>/dev/null &
	CLOCK_WATCH_PID=$!
}
clock_watch_stop() { [ -n "${CLOCK_WATCH_PID:-}" ] && kill "$CLOCK_WATCH_PID" 2>/dev/null; return 0; }
# Latest offset rig time - guest time (0 on the host itself).
clock_offset() { tail -n1 "$RIG/$NAME/clock.log" 2>/dev/null | awk '{ print $2 } END { if (!NR) print 0 }'; }
rig_now() { awk -v g="$(date +%s.%N)" -v o="$(clock_offset)" 'BEGIN { printf "%.3f", g + o }'; }
# Rig time $1 on this machine's clock, with the offset sampled nearest to it.
to_local_time() {
	[ -n "$1" ] || return 0
	if [ ! -s "$RIG/$NAME/clock.log" ]; then
		echo "$1"
		return 0
	fi
	awk -v h="$1" '{ d = $1 + $2 - h; if (d < 0) d = -d; if (!n++ || d < best) { best = d; o = $2 } }
		END { printf "%.3f", h - o }' "$RIG/$NAME/clock.log"
}

flag_set() { rig_now >"$RIG/flags/$1.tmp" && mv "$RIG/flags/$1.tmp" "$RIG/flags/$1"; say "flag $1"; }
# Time flag $1 was set, on this machine's clock.
flag_time() { local t; t=$(cat "$RIG/flags/$1" 2>/dev/null) && to_local_time "$t"; }
# flag_wait NAME SECONDS [ABORT-FILE]: 0 when the flag is set, 1 on timeout or when ABORT-FILE
# appears first (the other guest's scenario ended).
flag_wait() {
	local deadline=$((SECONDS + $2))
	while [ ! -f "$RIG/flags/$1" ]; do
		if [ -n "${3:-}" ] && [ -f "$3" ]; then
			say "flag $1: gave up, $3 exists"
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			say "flag $1: not set within $2 s"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

fail() { say "FAIL: $*"; echo "$*" >>"$RIG/$NAME/failures"; }
figure() { say "figure $1=$2"; echo "$1=$2" >>"$RIG/$NAME/figures"; }
# check DESCRIPTION CMD...: runs CMD; a non-zero status is a failed check.
check() {
	local what=$1
	shift
	if "$@"; then say "ok: $what"; return 0; fi
	fail "$what"
	return 1
}

rig_guest_run() {
	: >"$RIG/$NAME/failures"
	clock_watch_start
	say "scenario $SCENARIO on $NAME: $1"
	"$1"
	local rc=$?
	clock_watch_stop
	# A failed check already explains a non-zero status; otherwise record it.
	[ $rc -eq 0 ] || [ -s "$RIG/$NAME/failures" ] || fail "$1 returned $rc"
	say "scenario $SCENARIO on $NAME: done"
}

# ---- target side (guest A) -------------------------------------------------------------------

TGT_LOG=$RIG/A/tgt.log
TGT_PID=

# tgt_config_write TRTYPE EXTRA FILE: a JSON config (SPDK layout) for one transport: namespace 1
# (256 MiB RAM, for the kernel host) and namespace 2 (64 MiB RAM, for unvmf-perf inside guest A)
# in $SUBNQN, listening on $TGT_IP:$TGT_PORT.  EXTRA: more nvmf_create_transport params, e.g.
# '"max_read_depth": 2'.  TGT_NS3=1 adds namespace 3 (32 MiB RAM, a second unvmf-perf).
tgt_config_write() {
	local trtype=$1 extra=${2:-} file=$3 bdev3="" ns3=""
	[ -n "$extra" ] && extra=", $extra"
	if [ "${TGT_NS3:-0}" = 1 ]; then
		bdev3=',
    { "method": "bdev_malloc_create",
      "params": { "name": "Malloc2", "num_blocks": 65536, "block_size": 512 } }'
		ns3='
    { "method": "nvmf_subsystem_add_ns",
      "params": { "nqn": "'$SUBNQN'", "namespace": { "nsid": 3, "bdev_name": "Malloc2" } } },'
	fi
	cat >"$file" <<JSON
{ "subsystems": [
  { "subsystem": "bdev", "config": [
    { "method": "bdev_malloc_create",
      "params": { "name": "Malloc0", "num_blocks": 524288, "block_size": 512 } },
    { "method": "bdev_malloc_create",
      "params": { "name": "Malloc1", "num_blocks": 131072, "block_size": 512 } }$bdev3 ] },
  { "subsystem": "nvmf", "config": [
    { "method": "nvmf_create_transport", "params": { "trtype": "$trtype"$extra } },
    { "method": "nvmf_create_subsystem",
      "params": { "nqn": "$SUBNQN", "allow_any_host": true,
                  "serial_number": "UNVMF000000000001", "model_number": "unvmf Controller" } },
    { "method": "nvmf_subsystem_add_ns",
      "params": { "nqn": "$SUBNQN", "namespace": { "nsid": 1, "bdev_name": "Malloc0" } } },
    { "method": "nvmf_subsystem_add_ns",
      "params": { "nqn": "$SUBNQN", "namespace": { "nsid": 2, "bdev_name": "Malloc1" } } },$ns3
    { "method": "nvmf_subsystem_add_listener",
      "params": { "nqn": "$SUBNQN",
                  "listen_address": { "trtype": "$trtype", "adrfam": "IPv4",
                                      "traddr": "$TGT_IP", "trsvcid": "$TGT_PORT" } } } ] } ] }
JSON
}

# tgt_start_config TRTYPE [EXTRA]: unvmf-tgt with tgt_config_write's configuration.
tgt_start_config() {
	tgt_config_write "$1" "${2:-}" "$RIG/A/tgt.json"
	tgt_start -c "$RIG/A/tgt.json"
}

# tgt_start ARGS...: starts unvmf-tgt in the background with ARGS (plus the RPC socket and
# info logging), waits until it listens, sets flag tgt-ready.  The default configuration when
# no -c is given: -a $TGT_IP -p $TGT_PORT -s 256.
tgt_start() {
	local deadline=$((SECONDS + 60))
	say "starting: $BIN/unvmf-tgt $* -r $RPC_SOCK -L info"
	"$BIN/unvmf-tgt" "$@" -r "$RPC_SOCK" -L info >"$TGT_LOG" 2>&1 &
	TGT_PID=$!
	TGT_START=$(now)
	until grep -q "listening on" "$TGT_LOG" 2>/dev/null; do
		if ! kill -0 "$TGT_PID" 2>/dev/null; then
			wait "$TGT_PID"
			fail "unvmf-tgt exited ($?) before listening: $(grep -m1 -iE 'error|not' "$TGT_LOG")"
			TGT_PID=
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			fail "unvmf-tgt not listening after 60 s"
			return 1
		fi
		sleep 0.2
	done
	say "unvmf-tgt pid $TGT_PID listening"
	flag_set tgt-ready
}

tgt_alive() { [ -n "$TGT_PID" ] && kill -0 "$TGT_PID" 2>/dev/null; }

# Runs an RPC if unvmf-rpc is built; prints the JSON answer.
tgt_rpc() {
	[ -x "$BIN/unvmf-rpc" ] || return 2
	"$BIN/unvmf-rpc" -s "$RPC_SOCK" "$@"
}

# Waits for guest B's scenario to end (or SECONDS), then checks the target is still up, stops it
# with SIGTERM and checks a clean exit without sanitizer reports.
tgt_finish() {
	local deadline=$((SECONDS + $1)) rc up
	while [ ! -f "$RIG/B/exit" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
	[ -f "$RIG/B/exit" ] || fail "host guest did not finish within $1 s"
	if ! tgt_alive; then
		fail "unvmf-tgt died during the scenario"
		wait "$TGT_PID" 2>/dev/null
		figure tgt_exit $?
		return 1
	fi
	up=$(elapsed "$TGT_START" "$(now)")
	figure tgt_uptime_s "$up"
	tgt_rpc nvmf_get_stats >"$RIG/A/stats.json" 2>&1 || rm -f "$RIG/A/stats.json"
	kill -TERM "$TGT_PID"
	deadline=$((SECONDS + 30))
	while kill -0 "$TGT_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	if kill -0 "$TGT_PID" 2>/dev/null; then
		fail "unvmf-tgt ignored SIGTERM for 30 s"
		kill -KILL "$TGT_PID"
	fi
	wait "$TGT_PID"
	rc=$?
	[ $rc -eq 0 ] || fail "unvmf-tgt exit status $rc"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TGT_LOG"; then
		fail "sanitizer report in tgt.log: $(grep -m1 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$TGT_LOG")"
	fi
	return 0
}

# tgt_local_perf_start TRTYPE SECONDS: unvmf-perf inside guest A against its own address on
# namespace 2 (the kernel host uses namespace 1): a connection the link cut does not touch.
tgt_local_perf_start() {
	"$BIN/unvmf-perf" -r "trtype:$1 adrfam:IPv4 traddr:$TGT_IP trsvcid:$TGT_PORT subnqn:$SUBNQN" \
		--nsid 2 -q 4 -o 4096 -w randrw --verify -t "$2" >"$RIG/A/perf.txt" 2>&1 &
	PERF_PID=$!
}
# Checks unvmf-perf ran to its end with no I/O or verify error; figure local_perf_iops.
tgt_local_perf_check() {
	wait "$PERF_PID"
	local rc=$?
	figure local_perf_iops "$(awk '$1 == "Total" { printf "%d", $2 }' "$RIG/A/perf.txt")"
	check "unvmf-perf on an uncut connection: exit 0, no I/O or verify errors" \
		test $rc -eq 0 -a -n "$(grep -E 'I/O errors 0 verify errors 0' "$RIG/A/perf.txt")"
}

# Epoch time (from the target's "[sec.usec] LEVEL ..." log prefix) of the first line matching $1.
tgt_log_time() { grep -m1 -E "$1" "$TGT_LOG" | sed -n 's/^\[\([0-9.]*\)\].*/\1/p'; }
tgt_log_count() { grep -cE "$1" "$TGT_LOG"; }
# tgt_log_count_before REGEX TIME: matching lines logged before TIME (this machine's clock).
tgt_log_count_before() {
	grep -E "$1" "$TGT_LOG" | sed -n 's/^\[\([0-9.]*\)\].*/\1/p' | awk -v t="$2" '$1 < t { n++ } END { print n + 0 }'
}
# No keep-alive timeout while the host did I/O (up to flag io-done, which the host sets).
target_check_no_ka_timeout_during_io() {
	local t
	t=$(flag_time io-done)
	[ -n "$t" ] || { fail "host never set io-done"; return 1; }
	check "no keep-alive timeout during I/O" \
		test "$(tgt_log_count_before 'keep-alive timeout' "$t")" -eq 0
}

# ---- host side (guest B) ---------------------------------------------------------------------

# Waits for the target, then loads the kernel host module for $1 (tcp or rdma).
host_prepare() {
	flag_wait tgt-ready 90 "$RIG/A/exit" || { fail "target never became ready"; return 1; }
	modprobe "nvme-$1" || { fail "modprobe nvme-$1"; return 1; }
}

host_discover() {
	nvme discover -t "$1" -a "$TGT_IP" -s "$TGT_PORT" --hostnqn="$HOSTNQN" --hostid="$HOSTID"
}

# The block device of namespace $1 of controller nvme0 (nothing if there is none yet).  The
# disk name does not say the NSID: since Linux 6.8 the host scans namespaces asynchronously and
# names them (nvme0nK, K = the next free instance) in the order their Identify completes, so on
# 6.12 /dev/nvme0n1 may be namespace 2 or 3.  Only the disk's nsid attribute tells.
host_ns_dev() {
	local d
	for d in /sys/block/nvme0n*; do
		[ "$(cat "$d/nsid" 2>/dev/null)" = "$1" ] && { echo "/dev/${d##*/}"; return 0; }
	done
	return 0
}

# host_connect TRTYPE [nvme connect options...]: connects and waits for the block device of
# namespace 1 (the kernel host's; unvmf-perf inside A uses 2 and 3); sets HOST_DEV to it.
host_connect() {
	local trtype=$1 deadline=$((SECONDS + 30))
	shift
	say "nvme connect -t $trtype $*"
	nvme connect -t "$trtype" -a "$TGT_IP" -s "$TGT_PORT" -n "$SUBNQN" \
		--hostnqn="$HOSTNQN" --hostid="$HOSTID" "$@" || { fail "nvme connect -t $trtype $*"; return 1; }
	HOST_DEV=
	until [ -n "$HOST_DEV" ] && [ -b "$HOST_DEV" ]; do
		[ $SECONDS -ge $deadline ] && { fail "no block device for namespace 1 30 s after connect"; return 1; }
		sleep 0.2
		HOST_DEV=$(host_ns_dev 1)
	done
	say "namespace 1 is $HOST_DEV ($(for d in /sys/block/nvme0n*; do echo -n "${d##*/}=nsid$(cat "$d/nsid") "; done))"
	[ "$HOST_DEV" = /dev/nvme0n1 ] || figure host_ns1_dev "${HOST_DEV#/dev/}"
}

host_disconnect() {
	local deadline=$((SECONDS + 30))
	nvme disconnect -n "$SUBNQN" || { fail "nvme disconnect"; return 1; }
	while [ -e "${HOST_DEV:-/dev/nvme0n1}" ] || [ -e /sys/class/nvme/nvme0 ]; do
		[ $SECONDS -ge $deadline ] && { fail "nvme0 still present 30 s after disconnect"; return 1; }
		sleep 0.2
	done
	say "disconnected"
}

# Samples /sys/class/nvme/nvme0/state every 0.2 s into /rig/B/state.log ("time state" on change).
host_state_watch_start() {
	(
		last=
		while :; do
			s=$(cat /sys/class/nvme/nvme0/state 2>/dev/null || echo absent)
			[ "$s" != "$last" ] && echo "$(now) $s" && last=$s
			sleep 0.2
		done
	) >>"$RIG/B/state.log" &
	STATE_WATCH_PID=$!
}
host_state_watch_stop() { kill "$STATE_WATCH_PID" 2>/dev/null; wait "$STATE_WATCH_PID" 2>/dev/null; return 0; }
# First time after epoch $2 at which the controller state was $1.
host_state_time_after() { awk -v s="$1" -v t="$2" '$2 == s && $1 >= t { print $1; exit }' "$RIG/B/state.log"; }

# fio_verify LABEL RUNTIME [fio options...]: randrw with crc32c verify of every write on
# $HOST_DEV (namespace 1); block sizes 4k..1m, several jobs.  Records IOPS and errors as
# figures; the output is in /rig/B/fio-LABEL.txt.
fio_verify() {
	local label=$1 runtime=$2 out=$RIG/B/fio-$1.txt rc
	shift 2
	say "fio $label: ${runtime}s $*"
	fio --name="$label" --filename="$HOST_DEV" --ioengine=libaio --direct=1 \
		--rw=randrw --rwmixread=50 --bssplit=4k/40:16k/20:64k/20:256k/10:1m/10 \
		--numjobs=3 --iodepth=8 --offset_increment=80m --size=80m \
		--time_based --runtime="$runtime" \
		--verify=crc32c --verify_backlog=32 --verify_fatal=1 --do_verify=1 \
		--group_reporting "$@" >"$out" 2>&1
	rc=$?
	say "fio $label: exit $rc"
	fio_figures "$label" "$out"
	if [ $rc -ne 0 ] || ! grep -q 'err= 0' "$out"; then
		fail "fio $label: exit $rc, $(grep -m1 -oE 'err=[ 0-9]+' "$out" || echo 'no err= line'): $(grep -m1 -iE 'verify|error' "$out")"
		return 1
	fi
}

# Longest run of seconds in which all jobs together moved no data (fio bw logs, 1 s averages).
fio_longest_stall() {
	cat "$@" 2>/dev/null | awk -F', *' '
		{ s = int($1 / 1000); bw[s] += $2; if (s > max) max = s }
		END { for (i = 1; i <= max; i++) { if (bw[i] == 0) { run++; if (run > best) best = run }
		                                    else run = 0 }
		      print best + 0 }'
}

# Longest completion latency in a fio report, in seconds (the I/O held across a cut).
fio_max_latency() {
	sed -nE 's/^ +lat \((nsec|usec|msec)\): .*max=([0-9.]+)([kK]?),.*/\1 \2 \3/p' "$1" | awk '
		{ v = $2 * ($3 != "" ? 1000 : 1)
		  v /= ($1 == "nsec" ? 1e9 : $1 == "usec" ? 1e6 : 1e3); if (v > m) m = v }
		END { printf "%.1f", m }'
}

# The kernel host needed no error recovery (an I/O or keep-alive timeout that the host retried
# would leave fio's verify clean and hide a stall).
host_check_no_recovery() {
	local l r
	l=$(dmesg | grep -m1 -E 'nvme.*(timeout|error recovery|Reconnecting)')
	# A failed fast registration in the host's own Soft-RoCE wedges its queue (see
	# scenarios/rdma-fio-verify.sh): name it, so the failure is not read as the target's.
	r=$(dmesg | grep -m1 'rxe_reg_fast_mr.*not free')
	[ -n "$r" ] && figure host_rxe_fastreg_failures "$(dmesg | grep -c 'rxe_reg_fast_mr.*not free')"
	check "no error recovery on the host${l:+: $l}${l:+${r:+ (after host rdma_rxe: $r)}}" test -z "$l"
}

fio_figures() {
	local r w
	r=$(grep -m1 -E '^ +read: IOPS=' "$2" | sed -E 's/.*IOPS=([^,]*),.*/\1/')
	w=$(grep -m1 -E '^ +write: IOPS=' "$2" | sed -E 's/.*IOPS=([^,]*),.*/\1/')
	figure "${1}_read_iops" "${r:-?}"
	figure "${1}_write_iops" "${w:-?}"
}

# ---- steps shared by the discovery/connect scenarios -------------------------------------------

# Target: at least $1 controllers were created, each was destroyed, and each destruction followed
# a disconnect (not a keep-alive timeout).
target_check_ctrl_lifecycle() {
	local created destroyed ka
	created=$(tgt_log_count 'controller [0-9]+ created')
	destroyed=$(tgt_log_count 'controller [0-9]+ \(.*\) destroyed')
	ka=$(tgt_log_count 'keep-alive timeout')
	figure ctrl_created "$created"
	figure ctrl_destroyed "$destroyed"
	check "target created >= $1 controllers (discovery + connects)" test "$created" -ge "$1"
	check "every controller destroyed" test "$created" -eq "$destroyed"
	check "no keep-alive timeout" test "$ka" -eq 0
}

# Host: discovery log, connect, nvme list / id-ctrl identity, a short verify, disconnect.
host_identity_checks() {
	local tr=$1 d=$RIG/B
	host_discover "$tr" >"$d/discover.txt" 2>&1 || fail "nvme discover -t $tr: $(head -1 "$d/discover.txt")"
	figure discovery_records "$(sed -n 's/.*Number of Records \([0-9]*\).*/\1/p' "$d/discover.txt")"
	check "discovery log: current discovery subsystem record" \
		grep -q 'subtype: current discovery subsystem' "$d/discover.txt"
	check "discovery log: NVM subsystem $SUBNQN at $TGT_IP:$TGT_PORT over $tr" \
		awk -v n="$SUBNQN" -v a="$TGT_IP" -v p="$TGT_PORT" -v t="$tr" '
			/^=====Discovery Log Entry/ { if (ok) exit 0; ty = sub_ = ad = sv = tt = 0 }
			/^trtype: *'"$tr"'/ { tt = 1 }
			/^subtype: *nvme subsystem/ { ty = 1 }
			$1 == "subnqn:" && $2 == n { sub_ = 1 }
			$1 == "traddr:" && $2 == a { ad = 1 }
			$1 == "trsvcid:" && $2 == p { sv = 1 }
			{ ok = tt && ty && sub_ && ad && sv }
			END { exit !ok }' "$d/discover.txt"
	host_connect "$tr" --keep-alive-tmo=5 || return 1
	nvme list >"$d/list.txt" 2>&1
	nvme id-ctrl /dev/nvme0 >"$d/id-ctrl.txt" 2>&1
	nvme id-ns "$HOST_DEV" >"$d/id-ns.txt" 2>&1
	figure sn "$(awk '$1 == "sn" { print $3 }' "$d/id-ctrl.txt")"
	check "nvme list shows the unvmf namespace" grep -qE "^$HOST_DEV .* UNVMF[0-9]+ +unvmf" "$d/list.txt"
	check "id-ctrl sn is unvmf's" grep -qE '^sn +: UNVMF[0-9]+' "$d/id-ctrl.txt"
	check "id-ctrl mn is unvmf's" grep -qE '^mn +: unvmf' "$d/id-ctrl.txt"
	check "id-ctrl subnqn is $SUBNQN" grep -qE "^subnqn +: $SUBNQN\$" "$d/id-ctrl.txt"
	check "transport is $tr" grep -qx "$tr" /sys/class/nvme/nvme0/transport
	fio_verify plain 8 --numjobs=2 --iodepth=4
	host_check_no_recovery
	host_disconnect
}

# ---- steps shared by the link-cut scenarios ----------------------------------------------------

# Host machine (sc_control): after flag io-running, waits $2 s, cuts guest $1's link (both
# directions; the guest sees no carrier change) for $3 s, restores it.  Flags cut and restored.
control_link_cut() {
	flag_wait io-running 150 "$RIG/B/exit" || { fail "I/O never started"; return 1; }
	sleep "$2"
	flag_set cut
	vm_monitor "$1" 'set_link n0 off' || fail "monitor: set_link off"
	sleep "$3"
	flag_set restored
	vm_monitor "$1" 'set_link n0 on' || fail "monitor: set_link on"
}

# Host guest: fio verify for $1 s with the controller state sampled; after the run, figures
# relative to the cut: when the host noticed (state leaves live), when it was live again after
# the restore, and how long fio made no progress.
host_link_cut_fio() {
	local t_cut t_rest t_down t_live
	host_state_watch_start
	(sleep 3; flag_set io-running) &
	fio_verify cut "$1" --numjobs=3 --iodepth=8 \
		--write_bw_log="$RIG/B/bw" --log_avg_msec=1000
	host_state_watch_stop
	t_cut=$(flag_time cut)
	t_rest=$(flag_time restored)
	[ -n "$t_cut" ] && [ -n "$t_rest" ] || { fail "the link was never cut and restored"; return 1; }
	t_down=$(awk -v t="$t_cut" '$1 >= t && $2 != "live" { print $1; exit }' "$RIG/B/state.log")
	t_live=$(host_state_time_after live "$t_rest")
	if [ -n "$t_down" ]; then figure host_detect_s "$(elapsed "$t_cut" "$t_down")"
	else fail "host never left state live during the cut"; fi
	if [ -n "$t_live" ]; then figure host_live_after_restore_s "$(elapsed "$t_rest" "$t_live")"
	else fail "host not live again after the restore"; fi
	figure fio_stall_s "$(fio_longest_stall "$RIG/B"/bw_bw.*.log)"
	figure fio_max_lat_s "$(fio_max_latency "$RIG/B/fio-cut.txt")"
	figure reconnect_attempts "$(dmesg | grep -c 'Reconnecting in')"
	dmesg | grep -E 'nvme|rxe' >"$RIG/B/dmesg-nvme.txt"
	return 0
}

# Target guest: the keep-alive timeout fired during the cut (figure: seconds after the cut), a new
# controller was created after the restore, and the target is still up (tgt_finish checked).
target_check_link_cut() {
	local t_cut t_rest t_ka t_new
	t_cut=$(flag_time cut)
	t_rest=$(flag_time restored)
	[ -n "$t_cut" ] || { fail "no cut happened"; return 1; }
	t_ka=$(tgt_log_time 'keep-alive timeout')
	if [ -n "$t_ka" ]; then figure tgt_ka_timeout_after_cut_s "$(elapsed "$t_cut" "$t_ka")"
	else fail "target logged no keep-alive timeout"; fi
	t_new=$(grep -E 'controller [0-9]+ created' "$TGT_LOG" | sed -n 's/^\[\([0-9.]*\)\].*/\1/p' |
		awk -v t="$t_rest" '$1 >= t { print; exit }')
	if [ -n "$t_new" ]; then figure tgt_new_ctrl_after_restore_s "$(elapsed "$t_rest" "$t_new")"
	else fail "no new controller after the restore"; fi
	figure tgt_ctrl_created "$(tgt_log_count 'controller [0-9]+ created')"
}

# ---- RDMA work-completion errors ---------------------------------------------------------------

# stats_rdma_wc_status STATUS: the RDMA transport's completions with that status (e.g.
# RETRY_EXC_ERR), summed over poll groups, from the nvmf_get_stats reply saved at the end.
stats_rdma_wc_status() {
	jq --arg st "$1" '[.poll_groups[].transports[] | select(.trtype == "RDMA")
		| .wc.errors_by_status[$st] // 0] | add // 0' "$RIG/A/stats.json" 2>/dev/null
}

# The statuses a link cut produces, as enum names or ibv_wc_status_str() texts.
WC_RETRY_EXC='RETRY_EXC_ERR|transport retry counter exceeded'
WC_FLUSH='WR_FLUSH_ERR|Work Request Flushed Error'

target_check_no_wc_errors() {
	check "no work-completion errors logged" \
		test "$(grep -ciE "$WC_RETRY_EXC|$WC_FLUSH|WC error" "$TGT_LOG")" -eq 0
}

# After an RDMA link cut: the target logged IBV_WC_RETRY_EXC_ERR at most once per qpair, and
# nvmf_get_stats counts retry-exceeded and flushed completions (when unvmf-rpc exists).
target_check_retry_exceeded() {
	local t_cut t_retry n per_qp retry flush
	t_cut=$(flag_time cut)
	t_retry=$(tgt_log_time "$WC_RETRY_EXC")
	n=$(grep -ciE "$WC_RETRY_EXC" "$TGT_LOG")
	figure tgt_retry_exc_logs "$n"
	if [ -n "$t_retry" ]; then figure tgt_retry_exc_after_cut_s "$(elapsed "$t_cut" "$t_retry")"
	else fail "target logged no IBV_WC_RETRY_EXC_ERR"; fi
	per_qp=$(grep -iE "$WC_RETRY_EXC" "$TGT_LOG" | grep -oE 'qpair [0-9]+' | sort | uniq -d | head -1)
	check "retry-exceeded logged at most once per qpair" test -z "$per_qp"
	if [ ! -x "$BIN/unvmf-rpc" ]; then
		say "no unvmf-rpc: nvmf_get_stats not checked"
		return 0
	fi
	check "nvmf_get_stats answered" test -s "$RIG/A/stats.json" || return 0
	retry=$(stats_rdma_wc_status RETRY_EXC_ERR)
	flush=$(stats_rdma_wc_status WR_FLUSH_ERR)
	figure stats_retry_exceeded "$retry"
	figure stats_flushed "$flush"
	check "nvmf_get_stats counts retry-exceeded completions" test "${retry:-0}" -ge 1
	check "nvmf_get_stats counts flushed completions" test "${flush:-0}" -ge 1
}

# ---- stats sampling, cuts from inside guest A, fault injection ---------------------------------

# tgt_wait_io_qpair_in STATE SECONDS [MIN_ID] [MIN_COUNT]: waits until an ACTIVE I/O qpair
# (qid >= 1, id >= MIN_ID) has at least MIN_COUNT (default 1) requests in STATE; prints that
# qpair's id and requests_by_state.  1 on timeout.  One RPC and one jq per sample, so that a cut
# can follow the sample closely.
tgt_wait_io_qpair_in() {
	local deadline=$((SECONDS + $2)) q
	while [ $SECONDS -lt $deadline ]; do
		q=$(tgt_rpc nvmf_get_stats 2>/dev/null | jq -c --arg st "$1" --argjson min "${3:-0}" \
			--argjson n "${4:-1}" '.poll_groups[].transports[] | select(.trtype == "RDMA")
			| .qpairs[] | select(.qid >= 1 and .state == "ACTIVE" and .id >= $min
			                     and (.requests_by_state[$st] // 0) >= $n)
			| {id, requests_by_state}' 2>/dev/null | head -1)
		[ -n "$q" ] && { echo "$q"; return 0; }
		sleep 0.05
	done
	return 1
}

# A cut made by guest A itself, so it can be timed to what the target is doing at that instant:
# every frame in and out of eth0 dropped, a silent black hole like set_link off (no carrier
# change, rxe0 stays ACTIVE).  Egress is dropped by netem (loss 100%), which reports the frame as
# sent: a qdisc or filter drop returns NET_XMIT_DROP, and rdma_rxe then re-sends the packet
# forever instead of waiting for the ACK, so its retry count never runs out (a first run with a
# clsact egress drop never saw RETRY_EXC_ERR).  Ingress: a clsact matchall drop.
# The qdiscs are set up once (netem at 0% loss, an empty clsact) so that a cut or a restore is
# one tc process.
guest_cut_prepare() {
	modprobe -a sch_netem sch_ingress cls_matchall act_gact &&
		tc qdisc add dev eth0 root netem loss 0% && tc qdisc add dev eth0 clsact
}
guest_cut() {
	printf '%s\n' 'qdisc change dev eth0 root netem loss 100%' \
		'filter add dev eth0 ingress pref 1 matchall action drop' | tc -batch -
}
guest_restore() {
	printf '%s\n' 'filter del dev eth0 ingress pref 1' \
		'qdisc change dev eth0 root netem loss 0%' | tc -batch -
}

# stats_state_events STATE: the events requests in STATE have seen (comma separated), from the
# saved nvmf_get_stats reply.
stats_state_events() {
	jq -r --arg st "$1" '[.poll_groups[].transports[] | select(.trtype == "RDMA")
		| .state_events[$st] // [] | .[]] | unique | join(",")' "$RIG/A/stats.json" 2>/dev/null
}

# fault_inject TRTYPE KIND [--qid N ...]: one nvmf_<tcp|rdma>_inject_fault; checks it hit a qpair.
fault_inject() {
	local tr=$1 kind=$2 out n
	shift 2
	out=$(tgt_rpc "nvmf_${tr}_inject_fault" --fault "$kind" "$@" 2>&1)
	say "inject $tr $kind $*: $out"
	n=$(echo "$out" | jq -r '.injected // 0' 2>/dev/null)
	check "nvmf_${tr}_inject_fault $kind injected into >= 1 qpair ($out)" test "${n:-0}" -ge 1
}

# Host guest: waits until controller nvme0 is live again with its I/O queue (after recovery).
host_wait_live() {
	local deadline=$((SECONDS + $1))
	until grep -qx live /sys/class/nvme/nvme0/state 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
	return 0
}

# tgt_wait_gone QPAIR_ID SECONDS: waits until the target logs that qpair's destruction.
tgt_wait_gone() {
	local deadline=$((SECONDS + $2))
	until grep -qE "qpair $1: destroyed|qpair $1 .*destroyed" "$TGT_LOG"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
	return 0
}

# The qpair id of the newest I/O queue 1 the target connected (any transport), or nothing.
tgt_last_io_qpair() { grep -oE 'I/O queue 1 connected \(qpair [0-9]+' "$TGT_LOG" | tail -1 | grep -oE '[0-9]+$'; }
# tgt_wait_new_io_qpair AFTER_ID SECONDS: waits for an I/O queue 1 with a qpair id above AFTER_ID.
tgt_wait_new_io_qpair() {
	local deadline=$((SECONDS + $2)) id
	while :; do
		id=$(tgt_last_io_qpair)
		[ -n "$id" ] && [ "$id" -gt "$1" ] && { echo "$id"; return 0; }
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.2
	done
}

# ---- namespace isolation: the kernel host's data beside unvmf-perf's on other namespaces -------

# Target guest: while the kernel host runs fio verify on namespace 1, two unvmf-perf --verify
# runs over the same transport inside A: 128 KiB randrw (the target's largest I/O, 70 % writes:
# 16 pool buffers of 8 KiB, fetched by several RDMA READs) on namespace 2 and 4 KiB randrw (90 %
# reads) on namespace 3.  Passes when both report no I/O or verify error and the target logged no buffer
# ownership violation.  A block of one namespace read back by another host is what fio's
# "bad magic header" or unvmf-perf's verify error would show.
ns_isolation_target() {
	local tr=$1 secs=$2 rc_big rc_small
	TGT_NS3=1 tgt_start_config "$tr" || return 1
	flag_wait io-running 120 "$RIG/B/exit" || { fail "the kernel host never started I/O"; return 1; }
	"$BIN/unvmf-perf" -r "trtype:$tr adrfam:IPv4 traddr:$TGT_IP trsvcid:$TGT_PORT subnqn:$SUBNQN" \
		--nsid 2 -q 4 -o 131072 -w randrw -M 30 --verify -t "$secs" >"$RIG/A/perf-big.txt" 2>&1 &
	local big=$!
	"$BIN/unvmf-perf" -r "trtype:$tr adrfam:IPv4 traddr:$TGT_IP trsvcid:$TGT_PORT subnqn:$SUBNQN" \
		--nsid 3 -q 16 -o 4096 -w randrw -M 90 --verify -t "$secs" >"$RIG/A/perf-small.txt" 2>&1 &
	local small=$!
	wait $big
	rc_big=$?
	wait $small
	rc_small=$?
	figure perf_128k_iops "$(awk '$1 == "Total" { printf "%d", $2 }' "$RIG/A/perf-big.txt")"
	figure perf_4k_iops "$(awk '$1 == "Total" { printf "%d", $2 }' "$RIG/A/perf-small.txt")"
	check "unvmf-perf 128 KiB on namespace 2: exit 0, no I/O or verify errors" \
		test $rc_big -eq 0 -a -n "$(grep -E 'I/O errors 0 verify errors 0' "$RIG/A/perf-big.txt")"
	check "unvmf-perf 4 KiB on namespace 3: exit 0, no I/O or verify errors" \
		test $rc_small -eq 0 -a -n "$(grep -E 'I/O errors 0 verify errors 0' "$RIG/A/perf-small.txt")"
	tgt_finish 200
	target_check_no_ka_timeout_during_io
	check "no buffer ownership violation in the target log" \
		test "$(tgt_log_count 'ownership violation')" -eq 0
	if [ "$tr" = RDMA ]; then target_check_no_wc_errors; fi
	return 0
}

# Host guest: fio crc32c verify (header magic, offset and length checked) on namespace 1 for
# $2 s: random block sizes 4 KiB..1 MiB, two jobs at depth 8 and one at depth 32.
ns_isolation_host() {
	local tr=$1 secs=$2 out=$RIG/B/fio-iso.txt rc
	host_prepare "$tr" || return 1
	host_connect "$tr" --keep-alive-tmo=5 || return 1
	(sleep 2; flag_set io-running) &
	say "fio iso: ${secs}s"
	fio --filename="$HOST_DEV" --ioengine=libaio --direct=1 --rw=randrw --rwmixread=50 \
		--bsrange=4k-1m --verify=crc32c --verify_backlog=32 --verify_fatal=1 --do_verify=1 \
		--verify_state_save=0 --time_based --runtime="$secs" --group_reporting \
		--name=qd8 --numjobs=2 --iodepth=8 --size=80m --offset_increment=80m \
		--name=qd32 --numjobs=1 --iodepth=32 --size=80m --offset=160m >"$out" 2>&1
	rc=$?
	say "fio iso: exit $rc"
	flag_set io-done
	fio_figures iso "$out"
	if [ $rc -ne 0 ] || ! grep -q 'err= 0' "$out" || grep -q 'err= [1-9]' "$out"; then
		fail "fio iso: exit $rc, $(grep -m1 -oE 'err=[ 0-9]+' "$out" || echo 'no err= line'): $(grep -m1 -iE 'verify|bad' "$out")"
	fi
	host_check_no_recovery
	host_disconnect
}
