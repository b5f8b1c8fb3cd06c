# fio verify over nvme-rdma against a target that grants an RDMA READ depth of 2 and splits
# data into 8 KiB io units: every 128 KiB command (the host splits 1 MiB writes by MDTS) needs
# 16 RDMA READs, issued 2 at a time, so requests wait for READ depth (the seed's case).  The
# queue depth stays low enough that queueing behind the READs remains far below the host's
# 30 s I/O timeout: a timeout (host error recovery) fails the scenario.
SC_NEEDS=rdma
SC_TIMEOUT=300
SC_QUICK_TIMEOUT=150
TRANSPORT_OPTS='"max_read_depth": 2, "io_unit_size": 8192'

sc_target() {
	tgt_start_config RDMA "$TRANSPORT_OPTS" || return 1
	tgt_finish 260
	target_check_no_ka_timeout_during_io
	target_check_no_wc_errors
}

sc_host() {
	host_prepare rdma || return 1
	host_connect rdma --keep-alive-tmo=5 || return 1
	# Large blocks only, so that nearly every write needs several READ batches.
	fio_verify bigwrites $([ "$QUICK" = 1 ] && echo 30 || echo 60) --numjobs=2 --iodepth=4 \
		--bssplit=64k/30:128k/30:512k/20:1m/20
	flag_set io-done
	host_check_no_recovery
	host_disconnect
}
