# fio randrw with crc32c verify over nvme-rdma: 4 KiB..1 MiB blocks, several jobs and queue
# depths.  Zero errors.
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
