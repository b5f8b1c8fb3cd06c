# Discovery, identity, connect/disconnect over nvme-tcp, with and without header+data digests.
SC_TIMEOUT=240
SC_QUICK_TIMEOUT=200

sc_target() {
	tgt_start -a "$TGT_IP" -p "$TGT_PORT" -s 256 || return 1
	tgt_finish 200
	target_check_ctrl_lifecycle 3
	check "no data digest errors on the target" \
		test "$(tgt_log_count 'data digest error')" -eq 0
}

sc_host() {
	host_prepare tcp || return 1
	host_identity_checks tcp
	# The kernel host refuses the queue unless the target's ICResp grants what it asked
	# ("data digest mismatch host: ... ctrl: ..."), so a live controller proves both digests.
	host_connect tcp --hdr-digest --data-digest || return 1
	check "controller live with header and data digests" \
		grep -qx live /sys/class/nvme/nvme0/state
	fio_verify digest 8 --numjobs=2 --iodepth=4
	host_check_no_recovery
	host_disconnect
}
