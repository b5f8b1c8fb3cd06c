# Reference for rdma-ns-isolation: the same load against the Linux kernel's target (nvmet +
# nvmet-rdma in guest A, memory-backed null_blk namespaces 1-3) instead of unvmf-tgt: the kernel
# host's fio crc32c verify on namespace 1 beside unvmf-perf --verify (128 KiB on namespace 2, 4 KiB
# on namespace 3) inside A.  A failure here as well as in rdma-ns-isolation is not unvmf-tgt's
# (the guests' Soft-RoCE, the kernel host, or unvmf's host library under unvmf-perf).
SC_NEEDS=rdma
SC_TIMEOUT=360
SC_QUICK_TIMEOUT=360
ISO_SECS=60

nvmet_start_rdma() {
	local C=/sys/kernel/config/nvmet ns
	modprobe null_blk nr_devices=3 gb=1 bs=4096 memory_backed=1 &&
		modprobe -a nvmet nvmet-rdma || { fail "modprobe null_blk nvmet nvmet-rdma"; return 1; }
	{
		mkdir "$C/subsystems/$SUBNQN" && echo 1 >"$C/subsystems/$SUBNQN/attr_allow_any_host" &&
		for ns in 1 2 3; do
			mkdir "$C/subsystems/$SUBNQN/namespaces/$ns" &&
			echo -n "/dev/nullb$((ns - 1))" >"$C/subsystems/$SUBNQN/namespaces/$ns/device_path" &&
			echo 1 >"$C/subsystems/$SUBNQN/namespaces/$ns/enable" || return 1
		done &&
		mkdir "$C/ports/1" && echo ipv4 >"$C/ports/1/addr_adrfam" &&
		echo rdma >"$C/ports/1/addr_trtype" && echo "$TGT_IP" >"$C/ports/1/addr_traddr" &&
		echo "$TGT_PORT" >"$C/ports/1/addr_trsvcid" &&
		ln -s "$C/subsystems/$SUBNQN" "$C/ports/1/subsystems/$SUBNQN"
	} || { fail "nvmet configfs setup"; return 1; }
	flag_set tgt-ready
}

sc_target() {
	local tr="trtype:RDMA adrfam:IPv4 traddr:$TGT_IP trsvcid:$TGT_PORT subnqn:$SUBNQN" big small rc
	nvmet_start_rdma || return 1
	flag_wait io-running 120 "$RIG/B/exit" || { fail "the kernel host never started I/O"; return 1; }
	"$BIN/unvmf-perf" -r "$tr" --nsid 2 -q 4 -o 131072 -w randrw -M 30 \
		--verify -t "$ISO_SECS" >"$RIG/A/perf-big.txt" 2>&1 &
	big=$!
	"$BIN/unvmf-perf" -r "$tr" --nsid 3 -q 16 -o 4096 -w randrw -M 90 \
		--verify -t "$ISO_SECS" >"$RIG/A/perf-small.txt" 2>&1 &
	small=$!
	wait $big
	rc=$?
	check "unvmf-perf 128 KiB on namespace 2: exit 0, no I/O or verify errors" \
		test $rc -eq 0 -a -n "$(grep -E 'I/O errors 0 verify errors 0' "$RIG/A/perf-big.txt")"
	wait $small
	rc=$?
	check "unvmf-perf 4 KiB on namespace 3: exit 0, no I/O or verify errors" \
		test $rc -eq 0 -a -n "$(grep -E 'I/O errors 0 verify errors 0' "$RIG/A/perf-small.txt")"
	figure perf_128k_iops "$(awk '$1 == "Total" { printf "%d", $2 }' "$RIG/A/perf-big.txt")"
	figure perf_4k_iops "$(awk '$1 == "Total" { printf "%d", $2 }' "$RIG/A/perf-small.txt")"
	while [ ! -f "$RIG/B/exit" ] && [ $SECONDS -lt 280 ]; do sleep 0.5; done
	figure nvmet_errors "$(dmesg | grep -ciE 'nvmet.*(error|fatal)')"
	dmesg | grep -E 'nvmet|rxe' >"$RIG/A/dmesg-nvmet.txt"
	return 0
}

sc_host() { ns_isolation_host rdma "$ISO_SECS"; }
