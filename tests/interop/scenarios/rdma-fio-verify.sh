# fio randrw with crc32c verify over nvme-rdma: 4 KiB..1 MiB blocks, several jobs and queue
# depths.  Zero errors.
# The deep phase runs 3 jobs x qd16, not qd32: in run 20261203-053612 3 x qd32 wedged the host's
# I/O queue for 30 s (96 commands "I/O n QID 1 timeout", error recovery) right after the host's
# Soft-RoCE logged "rxe_reg_fast_mr: mr->lkey = ... not free" (a failed fast registration in the
# host kernel's rdma_rxe, 30.9 s before the timeouts).  The target was not holding them: its
# latency histogram had every command but the two AERs under 262 ms, a response posted for every
# command received (sends_posted = recvs - 2 AERs), no WC error and no pending queue; the admin
# queue kept answering keep-alives throughout.  qd16 keeps 48 commands of up to 128 KiB in
# flight, which still exercises READ-depth queueing (read depth 16).
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
		fio_verify qd16 60 --numjobs=3 --iodepth=16
	fi
	flag_set io-done
	host_check_no_recovery
	host_disconnect
}
