# Runtime fault injection against a live kernel-host qpair over nvme-tcp: unvmf-tgt runs with
# --enable-fault-injection; while fio verify runs, nvmf_tcp_inject_fault "reset" (TCP RST) and
# then "close" (FIN) hit the host's I/O qpair.  Each time the target must tear that connection
# down and stay up, the host must recover and reconnect (a new I/O queue), and fio verify must end
# with no error.
SC_TIMEOUT=240
SC_QUICK_TIMEOUT=240
FIO_RUNTIME=60
FAULTS="reset close"

sc_target() {
	local fault id new n=0 recovered=0
	tgt_config_write TCP "" "$RIG/A/tgt.json"
	tgt_start -c "$RIG/A/tgt.json" --enable-fault-injection || return 1
	flag_wait io-running 120 "$RIG/B/exit" || { fail "I/O never started"; tgt_finish 60; return 1; }
	for fault in $FAULTS; do
		sleep 5
		id=$(tgt_last_io_qpair)
		[ -n "$id" ] || { fail "no I/O qpair connected"; break; }
		fault_inject tcp "$fault" --qpair-id "$id" || continue
		n=$((n + 1))
		if ! new=$(tgt_wait_new_io_qpair "$id" 40); then
			fail "no new I/O queue within 40 s after $fault of qpair $id"
			continue
		fi
		recovered=$((recovered + 1))
		# From the target's log: the fault to the new I/O queue (a guest under TCG is too slow
		# at starting processes for the scenario's own clock to measure this).
		figure "reconnected_${fault}_s" "$(elapsed "$(tgt_log_time "qpair $id \(qid 1\): fault injected")" \
			"$(tgt_log_time "I/O queue 1 connected \(qpair $new,")")"
		check "qpair $id closed after $fault" grep -qE "qpair $id \(qid 1.*closing: fault injected: $fault" "$TGT_LOG"
	done
	figure injected "$n"
	figure recovered "$recovered"
	flag_set faults-done
	tgt_finish 200 || return 1
	check "every injected fault tore its qpair down and the host came back" test "$recovered" -eq 2
	figure tgt_ctrl_created "$(tgt_log_count 'controller [0-9]+ created')"
}

sc_host() {
	host_prepare tcp || return 1
	host_connect tcp --keep-alive-tmo=5 --reconnect-delay=1 --ctrl-loss-tmo=600 || return 1
	(sleep 3; flag_set io-running) &
	fio_verify faults "$FIO_RUNTIME" --numjobs=2 --iodepth=8
	figure reconnects "$(dmesg | grep -c 'Successfully reconnected')"
	figure fio_max_lat_s "$(fio_max_latency "$RIG/B/fio-faults.txt")"
	dmesg | grep -E 'nvme' >"$RIG/B/dmesg-nvme.txt"
	check "host reconnected after each fault" test "$(dmesg | grep -c 'Successfully reconnected')" -ge 2
	host_disconnect
}
