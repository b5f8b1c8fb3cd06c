# fio randrw with crc32c verify over nvme-tcp: 4 KiB..1 MiB blocks, several jobs and queue
# depths, without and with header+data digests.  Zero errors.
SC_TIMEOUT=330
SC_QUICK_TIMEOUT=120

sc_target() {
	tgt_start -a "$TGT_IP" -p "$TGT_PORT" -s 256 || return 1
	tgt_finish 300
	target_check_no_ka_timeout_during_io
	check "no data digest errors on the target" \
		test "$(tgt_log_count 'data digest error')" -eq 0
}

sc_host() {
	host_prepare tcp || return 1
	host_connect tcp --keep-alive-tmo=5 || return 1
	if [ "$QUICK" = 1 ]; then
		fio_verify qd8 30 --numjobs=3 --iodepth=8
		flag_set io-done
		host_check_no_recovery
		host_disconnect
		return 0
	fi
	fio_verify qd1 30 --numjobs=3 --iodepth=1
	fio_verify qd32 60 --numjobs=3 --iodepth=32
	host_check_no_recovery
	host_disconnect || return 1
	host_connect tcp --keep-alive-tmo=5 --hdr-digest --data-digest || return 1
	fio_verify digest_qd8 60 --numjobs=3 --iodepth=8
	flag_set io-done
	host_check_no_recovery
	host_disconnect
}
