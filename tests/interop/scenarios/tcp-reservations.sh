# Persistent reservations from the Linux host with nvme-cli (Debian 12: nvme-cli 2.3):
# resv-register / resv-acquire / resv-report / resv-release, a second host identity (a second
# controller from guest B with another host NQN and host ID) that gets Reservation Conflict on
# writes but may read under Write Exclusive, preempt-and-abort moving the holder, and PTPL
# across a target restart (the target keeps the state in a ptpl_file).
#
# One namespace only: nvme-cli sends I/O through a controller's char device (/dev/nvme1) with
# NVME_IOCTL_IO_CMD, which the kernel allows only when the controller has one namespace.
SC_TIMEOUT=300
SC_QUICK_TIMEOUT=240

RESV_KEY_A=0x1111
RESV_KEY_B=0x2222
HOSTNQN2=nqn.2014-08.org.nvmexpress:uuid:7c2a0b6e-0000-4000-8000-0000000000b2
HOSTID2=7c2a0b6e-0000-4000-8000-0000000000b2

resv_config_write() {
	cat >"$RIG/A/tgt-resv.json" <<JSON
{ "subsystems": [
  { "subsystem": "bdev", "config": [
    { "method": "bdev_malloc_create",
      "params": { "name": "Malloc0", "num_blocks": 131072, "block_size": 512 } } ] },
  { "subsystem": "nvmf", "config": [
    { "method": "nvmf_create_transport", "params": { "trtype": "TCP" } },
    { "method": "nvmf_create_subsystem",
      "params": { "nqn": "$SUBNQN", "allow_any_host": true,
                  "serial_number": "UNVMF000000000001", "model_number": "unvmf Controller" } },
    { "method": "nvmf_subsystem_add_ns",
      "params": { "nqn": "$SUBNQN",
                  "namespace": { "nsid": 1, "bdev_name": "Malloc0",
                                 "ptpl_file": "$RIG/A/ns1-ptpl.json" } } },
    { "method": "nvmf_subsystem_add_listener",
      "params": { "nqn": "$SUBNQN",
                  "listen_address": { "trtype": "TCP", "adrfam": "IPv4",
                                      "traddr": "$TGT_IP", "trsvcid": "$TGT_PORT" } } } ] } ] }
JSON
}

sc_target() {
	rm -f "$RIG/A/ns1-ptpl.json"
	resv_config_write
	tgt_start -c "$RIG/A/tgt-resv.json" || return 1
	# The host asks for a restart once it persisted a reservation.
	if flag_wait resv-restart 150 "$RIG/B/exit"; then
		kill -TERM "$TGT_PID"
		wait "$TGT_PID"
		check "unvmf-tgt exits 0 on SIGTERM before the restart" test $? -eq 0
		check "the PTPL file holds the registrant" grep -q '"ptpl": true' "$RIG/A/ns1-ptpl.json"
		rm -f "$RIG/flags/tgt-ready"
		tgt_start -c "$RIG/A/tgt-resv.json" || return 1
		flag_set tgt-restarted
	fi
	tgt_finish 200
}

# nvme-cli on controller $1 (nvme0: host A, nvme1: host B), namespace 1.
resv() { local sub=$1 dev=$2; shift 2; nvme "$sub" "/dev/$dev" --namespace-id=1 "$@"; }
# Status of a one-block write (or read) through controller $2: prints nvme-cli's output.
io_try() {
	local opc=$1 dev=$2
	dd if=/dev/zero of=/tmp/blk bs=512 count=1 2>/dev/null
	if [ "$opc" = write ]; then
		nvme io-passthru "/dev/$dev" --namespace-id=1 --opcode=0x01 --data-len=512 --write \
			--input-file=/tmp/blk --cdw10=100 --cdw12=0 2>&1
	else
		nvme io-passthru "/dev/$dev" --namespace-id=1 --opcode=0x02 --data-len=512 --read \
			--cdw10=100 --cdw12=0 2>&1 >/dev/null
	fi
}
is_conflict() { io_try "$1" "$2" | grep -qi 'reservation conflict\|0x83\|0x4083'; }
is_ok() { ! io_try "$1" "$2" | grep -qi 'error\|conflict\|status:'; }

host_connect_b() {
	nvme connect -t tcp -a "$TGT_IP" -s "$TGT_PORT" -n "$SUBNQN" \
		--hostnqn="$HOSTNQN2" --hostid="$HOSTID2" || { fail "second connect"; return 1; }
	local deadline=$((SECONDS + 30))
	until [ -c /dev/nvme1 ]; do
		[ $SECONDS -ge $deadline ] && { fail "no /dev/nvme1"; return 1; }
		sleep 0.2
	done
}

sc_host() {
	host_prepare tcp || return 1
	host_connect tcp || return 1
	host_connect_b || return 1
	nvme id-ctrl /dev/nvme0 | tee /tmp/idctrl | grep -E '^oncs|^ctratt'
	check "ONCS reports reservations (bit 5)" \
		test $(( $(awk '$1 == "oncs" { print $3 }' /tmp/idctrl) & 0x20 )) -ne 0
	nvme id-ns /dev/nvme0n1 | grep -E '^rescap'

	check "host A registers (CPTPL: persist)" resv resv-register nvme0 --nrkey=$RESV_KEY_A --rrega=0 --cptpl=3
	check "host B registers" resv resv-register nvme1 --nrkey=$RESV_KEY_B --rrega=0
	check "host A acquires Write Exclusive" resv resv-acquire nvme0 --crkey=$RESV_KEY_A --rtype=1 --racqa=0
	resv resv-report nvme0 --eds -o json | tee /tmp/report.json
	check "report: type 1" \
		grep -Eq '"rtype" *: *1' /tmp/report.json
	check "report without EDS: Host Identifier Inconsistent Format" \
		sh -c "! nvme resv-report /dev/nvme0 --namespace-id=1 >/dev/null 2>&1"
	check "host A writes" is_ok write nvme0
	check "host B: write is a Reservation Conflict" is_conflict write nvme1
	check "host B may read under Write Exclusive" is_ok read nvme1

	check "host B preempts and aborts host A" \
		resv resv-acquire nvme1 --crkey=$RESV_KEY_B --prkey=$RESV_KEY_A --rtype=2 --racqa=2
	check "host B writes now" is_ok write nvme1
	check "host A: read is a Reservation Conflict (Exclusive Access)" is_conflict read nvme0
	nvme get-log /dev/nvme0 --log-id=0x80 --log-len=64 | tee /tmp/resvlog
	check "host A's reservation notification log: registration preempted" \
		grep -q '0000: .. .. .. .. .. .. .. .. 01' /tmp/resvlog
	check "host B releases" resv resv-release nvme1 --crkey=$RESV_KEY_B --rtype=2 --rrela=0
	check "host A registers again" resv resv-register nvme0 --nrkey=$RESV_KEY_A --rrega=0 --cptpl=3
	check "host A acquires Write Exclusive again" resv resv-acquire nvme0 --crkey=$RESV_KEY_A --rtype=1 --racqa=0

	nvme disconnect-all
	flag_set resv-restart
	flag_wait tgt-restarted 90 "$RIG/A/exit" || { fail "target not restarted"; return 1; }
	host_connect tcp || return 1
	host_connect_b || return 1
	resv resv-report nvme0 --eds -o json | tee /tmp/report2.json
	check "after the restart: the reservation persisted (type 1)" grep -Eq '"rtype" *: *1' /tmp/report2.json
	check "after the restart: host B's write still conflicts" is_conflict write nvme1
	check "host A clears" resv resv-release nvme0 --crkey=$RESV_KEY_A --rrela=1
	check "host B writes after the clear" is_ok write nvme1
	nvme disconnect-all
}
