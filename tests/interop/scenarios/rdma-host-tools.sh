# unvmf's own host tools over real RDMA (Soft-RoCE), both directions of interop:
#  1. guest A: unvmf-identify (discovery log, then the controller) and unvmf-perf --verify over
#     trtype:RDMA against unvmf-tgt on A's own rxe0 address;
#  2. guest B runs the Linux kernel's NVMe-oF target (nvmet + nvmet-rdma, a memory-backed
#     null_blk namespace, a port on B's rxe0 address) and guest A runs the same tools against it.
# Asserted: both discovery logs list the NVM subsystem over rdma, identify shows each target's
# identity (unvmf's serial/model; Linux's model), unvmf-perf ends with no I/O or verify error.
SC_NEEDS=rdma
SC_TIMEOUT=240
SC_QUICK_TIMEOUT=240
PERF_S=15
KNQN=nqn.2014-08.org.example:rig-null
B_IP=192.0.2.2

# tools_run LABEL ADDR SUBNQN NSID: identify (discovery, controller) and perf --verify.
tools_run() {
	local label=$1 tr="trtype:RDMA adrfam:IPv4 traddr:$2 trsvcid:$TGT_PORT" d=$RIG/A rc
	"$BIN/unvmf-identify" -r "$tr" --hostnqn "$HOSTNQN" >"$d/$label-discovery.txt" 2>&1
	check "$label: unvmf-identify discovery exit 0" test $? -eq 0
	check "$label: discovery log lists $3 over RDMA" \
		awk -v n="$3" '/^Transport Type:/ { t = $3 } $0 ~ "Subsystem NQN: *" n { if (t ~ /RDMA|rdma/) ok = 1 }
			END { exit !ok }' "$d/$label-discovery.txt"
	figure "${label}_discovery_records" "$(sed -n 's/^Number of Records: *//p' "$d/$label-discovery.txt")"
	"$BIN/unvmf-identify" -r "$tr subnqn:$3" --hostnqn "$HOSTNQN" >"$d/$label-identify.txt" 2>&1
	check "$label: unvmf-identify controller exit 0" test $? -eq 0
	figure "${label}_model" "$(sed -n 's/^Model Number: *//p' "$d/$label-identify.txt" | tr ' ' '_')"
	"$BIN/unvmf-perf" -r "$tr subnqn:$3" --hostnqn "$HOSTNQN" --nsid "$4" -q 8 -o 65536 \
		-w randrw --verify -t "$PERF_S" >"$d/$label-perf.txt" 2>&1
	rc=$?
	figure "${label}_perf_iops" "$(awk '$1 == "Total" { printf "%d", $2 }' "$d/$label-perf.txt")"
	check "$label: unvmf-perf --verify exit 0, no I/O or verify errors" \
		test $rc -eq 0 -a -n "$(grep -E 'I/O errors 0 verify errors 0' "$d/$label-perf.txt")"
}

sc_target() {
	tgt_start_config RDMA || return 1
	tools_run unvmf "$TGT_IP" "$SUBNQN" 2
	check "unvmf-identify shows unvmf's serial number" \
		grep -qE '^Serial Number: +UNVMF[0-9]+' "$RIG/A/unvmf-identify.txt"
	check "unvmf-identify shows unvmf's model" grep -qE '^Model Number: +unvmf' "$RIG/A/unvmf-identify.txt"
	flag_set self-done
	if flag_wait nvmet-ready 90 "$RIG/B/exit"; then
		tools_run nvmet "$B_IP" "$KNQN" 1
		check "unvmf-identify shows the kernel target's model (Linux)" \
			grep -qE '^Model Number: +Linux' "$RIG/A/nvmet-identify.txt"
	else
		fail "the kernel target in B never became ready"
	fi
	flag_set nvmet-done
	tgt_finish 120
	check "no keep-alive timeout" test "$(tgt_log_count 'keep-alive timeout')" -eq 0
}

sc_host() {
	local C=/sys/kernel/config/nvmet
	flag_wait self-done 150 "$RIG/A/exit" || { fail "A never finished its own part"; return 1; }
	modprobe null_blk nr_devices=1 gb=1 bs=4096 memory_backed=1 &&
		modprobe -a nvmet nvmet-rdma || { fail "modprobe null_blk nvmet nvmet-rdma"; return 1; }
	{
		mkdir "$C/subsystems/$KNQN" && echo 1 >"$C/subsystems/$KNQN/attr_allow_any_host" &&
		mkdir "$C/subsystems/$KNQN/namespaces/1" &&
		echo -n /dev/nullb0 >"$C/subsystems/$KNQN/namespaces/1/device_path" &&
		echo 1 >"$C/subsystems/$KNQN/namespaces/1/enable" &&
		mkdir "$C/ports/1" && echo ipv4 >"$C/ports/1/addr_adrfam" &&
		echo rdma >"$C/ports/1/addr_trtype" && echo "$B_IP" >"$C/ports/1/addr_traddr" &&
		echo "$TGT_PORT" >"$C/ports/1/addr_trsvcid" &&
		ln -s "$C/subsystems/$KNQN" "$C/ports/1/subsystems/$KNQN"
	} || { fail "nvmet configfs setup"; return 1; }
	flag_set nvmet-ready
	flag_wait nvmet-done 150 "$RIG/A/exit" || fail "A never finished against nvmet"
	figure nvmet_ctrl_errors "$(dmesg | grep -ciE 'nvmet.*(error|fatal)')"
	dmesg | grep -E 'nvmet|rxe' >"$RIG/B/dmesg-nvmet.txt"
	rm -f "$C/ports/1/subsystems/$KNQN"
	rmdir "$C/ports/1" "$C/subsystems/$KNQN/namespaces/1" "$C/subsystems/$KNQN" 2>/dev/null
	return 0
}
