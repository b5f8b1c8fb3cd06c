# Link cut during fio verify over nvme-tcp: B's link is cut for 20 s (QEMU set_link, a silent
# black hole) and restored.  The target must see the keep-alive timeout, stay up, keep serving
# an uncut connection (unvmf-perf inside A) and accept the reconnect; the host must reconnect
# and fio verify must finish with no error.
SC_TIMEOUT=240
SC_QUICK_TIMEOUT=200
CUT_AT=15	# seconds of I/O before the cut
CUT_FOR=20	# seconds the link stays down
KATO=5

sc_target() {
	tgt_start_config TCP || return 1
	flag_wait io-running 120 "$RIG/B/exit" && tgt_local_perf_start TCP $((CUT_AT + CUT_FOR + 10))
	[ -n "${PERF_PID:-}" ] && tgt_local_perf_check
	tgt_finish 200
	target_check_link_cut
}

sc_host() {
	local runtime=75
	[ "$QUICK" = 1 ] && runtime=55
	host_prepare tcp || return 1
	host_connect tcp --keep-alive-tmo=$KATO --reconnect-delay=2 --ctrl-loss-tmo=120 || return 1
	host_link_cut_fio "$runtime"
	host_disconnect
}

sc_control() { control_link_cut B "$CUT_AT" "$CUT_FOR"; }
