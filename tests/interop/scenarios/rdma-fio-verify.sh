# fio randrw with crc32c verify over nvme-rdma: 4 KiB..1 MiB blocks, several jobs and queue
# depths.  Zero errors.
# A failure seen here that is not the target's: Debian 6.1's rdma_rxe on the *host* can fail a
# fast registration ("rxe_reg_fast_mr: mr->lkey = ... not free" in B's dmesg) and then hold that
# host queue silently until the host's 30 s I/O timeout (every outstanding command "I/O n QID 1
# timeout", error recovery).  Run 20261203-053612 hit it at 3 x qd32: the target held none of
# those commands (latency histogram: every command but the two AERs under 262 ms; a response
# posted and acknowledged for every command received; no WC error; empty pending queues; the
# admin queue answered keep-alives throughout).  It also hit rdma-fault-inject at 2 x qd4, so
# lowering the depth does not avoid it; the scenario stays strict and the failure line names the
# host's rxe warning (host_check_no_recovery).
SC_NEEDS=rdma
SC_TIMEOUT=330
SC_QUICK_TIMEOUT=120

sc_target() {
	tgt_start_config RDMA || return 1
	tgt_finish 300
	target_check_no_ka_timeout_during_io
	target_check_no_wc_errors
}

sc_host() {
	host_prepare rdma || return 1
	host_connect rdma --keep-alive-tmo=5 || return 1
	if [ "$QUICK" = 1 ]; then
		fio_verify qd8 30 --numjobs=3 --iodepth=8
	else
		fio_verify qd1 30 --numjobs=3 --iodepth=1
		fio_verify qd32 60 --numjobs=3 --iodepth=32
	fi
	flag_set io-done
	host_check_no_recovery
	host_disconnect
}
