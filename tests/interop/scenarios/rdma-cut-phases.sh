# Link cuts timed to the phase large host writes are in: guest A watches its own target through
# nvmf_get_stats and cuts its link (tc: every frame dropped, a silent black hole) the moment the
# kernel host's I/O qpair has a request in the phase aimed at -- waiting for READ depth
# (DATA_TRANSFER_TO_CONTROLLER_PENDING), READs posted (TRANSFERRING_HOST_TO_CONTROLLER), EXECUTING,
# sending the response (COMPLETING) -- two rounds over the four phases.  The target grants a READ
# depth of 2 with 8 KiB io units (a 128 KiB write needs 16 READs, 2 at a time) and has short RC
# retries (retry_count 2, ack_timeout 16: about 0.8 s to IBV_WC_RETRY_EXC_ERR).  Each cut lasts
# 10 s, longer than the host's keep-alive (5 s), so the host recovers and reconnects after it.
# Asserted: every cut surfaced as RETRY_EXC_ERR on the target, nvmf_get_stats' state_events show
# the drain events (QP_ERROR, WC_ERROR or FLUSH) in each of the four phases, the target (built with
# ASan in build/bin) stays up with no sanitizer report, fio verify ends with no error.
# EXECUTING: on this rig's RAM bdev an I/O command executes within one poll, microseconds, while
# a cut takes ~0.8 s to surface, so no I/O request is ever in EXECUTING when the QP errors
# (aimed_EXECUTING stays 0: no sample ever saw one there).  The QP_ERROR that state_events shows
# in EXECUTING comes from the AER parked there on the admin qpair, drained at every controller
# teardown; the I/O path through EXECUTING under a QP error is covered by the sim e2e tests.
SC_NEEDS=rdma
SC_TIMEOUT=400
SC_QUICK_TIMEOUT=400
FIO_RUNTIME=230
CUT_FOR=10
ROUNDS=2
PHASES="DATA_TRANSFER_TO_CONTROLLER_PENDING TRANSFERRING_HOST_TO_CONTROLLER EXECUTING COMPLETING"
TRANSPORT_OPTS='"max_read_depth": 2, "io_unit_size": 8192, "retry_count": 2, "ack_timeout": 16'

sc_target() {
	local wait_s n t_cut t_end cuts=0 retry_cuts=0 min_id=0 round phase q n0 id ev ph short
	guest_cut_prepare || { fail "tc modules (sch_ingress cls_matchall act_gact)"; return 1; }
	tgt_start_config RDMA "$TRANSPORT_OPTS" || return 1
	flag_wait io-running 120 "$RIG/B/exit" || { fail "I/O never started"; tgt_finish 60; return 1; }
	t_end=$((SECONDS + FIO_RUNTIME - 3 - CUT_FOR - 15))
	for round in $(seq "$ROUNDS"); do
		for phase in $PHASES; do
			[ $SECONDS -lt $t_end ] || break 2
			# The host reconnects after each cut: wait for its new I/O qpair to be busy.
			# EXECUTING on a RAM bdev lasts microseconds (a sample rarely sees it): look
			# briefly.  COMPLETING: wait for two responses in flight, so that one is still
			# unacknowledged when the cut lands ~0.1 s after the sample.
			wait_s=25 n=1
			[ "$phase" = EXECUTING ] && wait_s=4
			[ "$phase" = COMPLETING ] && n=2
			if ! q=$(tgt_wait_io_qpair_in "$phase" "$wait_s" "$min_id" "$n"); then
				say "no request seen in $phase within $wait_s s: no cut aimed at it"
				echo "$round $phase missed" >>"$RIG/A/cuts.txt"
				continue
			fi
			n0=$(tgt_log_count "$WC_RETRY_EXC")
			t_cut=$(now)
			guest_cut || { fail "tc cut failed"; break 2; }
			cuts=$((cuts + 1))
			say "cut $cuts aimed at $phase: $q"
			echo "$round $phase $q" >>"$RIG/A/cuts.txt"
			sleep "$CUT_FOR"
			guest_restore || fail "tc restore failed"
			if [ "$(tgt_log_count "$WC_RETRY_EXC")" -gt "$n0" ]; then
				retry_cuts=$((retry_cuts + 1))
				grep -E "$WC_RETRY_EXC" "$TGT_LOG" | sed -n 's/^\[\([0-9.]*\)\].*/\1/p' |
					awk -v t="$t_cut" '$1 >= t { printf "%.2f\n", $1 - t; exit }' >>"$RIG/A/retry-delay.txt"
			fi
			id=$(echo "$q" | jq .id)
			min_id=$((id + 1))
		done
	done
	flag_set cuts-done
	figure cuts "$cuts"
	figure cuts_with_retry_exc "$retry_cuts"
	figure retry_exc_after_cut_s "$(sort -n "$RIG/A/retry-delay.txt" 2>/dev/null | sed -n '1p;$p' | paste -sd- -)"
	for phase in $PHASES; do
		short=$(echo "$phase" | sed 's/DATA_TRANSFER_TO_CONTROLLER_PENDING/READ_WAIT/;
			s/TRANSFERRING_HOST_TO_CONTROLLER/READING/')
		figure "aimed_$short" "$(grep -c " $phase {" "$RIG/A/cuts.txt" 2>/dev/null)"
	done
	tgt_finish 200 || return 1
	check "at least 6 cuts made" test "$cuts" -ge 6
	check "every cut surfaced as IBV_WC_RETRY_EXC_ERR ($retry_cuts of $cuts)" test "$retry_cuts" -eq "$cuts"
	check "nvmf_get_stats answered" test -s "$RIG/A/stats.json" || return 1
	figure stats_retry_exceeded "$(stats_rdma_wc_status RETRY_EXC_ERR)"
	figure stats_flushed "$(stats_rdma_wc_status WR_FLUSH_ERR)"
	for phase in $PHASES; do
		ev=$(stats_state_events "$phase")
		figure "events_$phase" "${ev:-none}"
		check "a drain event (QP_ERROR/WC_ERROR/FLUSH) seen in $phase" \
			grep -qE 'QP_ERROR|WC_ERROR|FLUSH' <<<"$ev"
	done
}

sc_host() {
	host_prepare rdma || return 1
	host_connect rdma --keep-alive-tmo=5 --reconnect-delay=1 --ctrl-loss-tmo=600 || return 1
	host_state_watch_start
	(sleep 3; flag_set io-running) &
	# Large blocks: every write needs several READ batches, every read a long chain of WRITEs.
	fio_verify cuts "$FIO_RUNTIME" --numjobs=2 --iodepth=4 --rwmixread=50 \
		--bssplit=128k/40:512k/30:1m/30
	host_state_watch_stop
	figure reconnects "$(dmesg | grep -c 'Successfully reconnected')"
	figure fio_max_lat_s "$(fio_max_latency "$RIG/B/fio-cuts.txt")"
	dmesg | grep -E 'nvme|rxe' >"$RIG/B/dmesg-nvme.txt"
	host_disconnect
}
