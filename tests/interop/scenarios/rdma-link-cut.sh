# Link cut during fio verify over nvme-rdma with a finite target retry count: B's link is cut
# for 20 s (QEMU set_link, a silent black hole) and restored.  The target's QPs to the host run
# out of RC retries (retry_count 3, ack_timeout 17: about 2 s), so the target must see
# IBV_WC_RETRY_EXC_ERR ("transport retry counter exceeded") and flushes, count them in
# nvmf_get_stats, log them once per qpair, tear those qpairs down, stay up and keep serving an
# uncut connection (unvmf-perf over rxe0 inside A); the host reconnects after the restore and
# fio verify finishes with no error.
SC_NEEDS=rdma
SC_TIMEOUT=240
SC_QUICK_TIMEOUT=200
CUT_AT=15
CUT_FOR=20
KATO=5
TRANSPORT_OPTS='"retry_count": 3, "ack_timeout": 17'

sc_target() {
	tgt_start_config RDMA "$TRANSPORT_OPTS" || return 1
	flag_wait io-running 120 "$RIG/B/exit" && tgt_local_perf_start RDMA $((CUT_AT + CUT_FOR + 10))
	[ -n "${PERF_PID:-}" ] && tgt_local_perf_check
	tgt_finish 200
	target_check_link_cut
	target_check_retry_exceeded
}

sc_host() {
	local runtime=75
	[ "$QUICK" = 1 ] && runtime=55
	host_prepare rdma || return 1
	host_connect rdma --keep-alive-tmo=$KATO --reconnect-delay=2 --ctrl-loss-tmo=120 || return 1
	host_link_cut_fio "$runtime"
	host_disconnect
}

sc_control() { control_link_cut B "$CUT_AT" "$CUT_FOR"; }
