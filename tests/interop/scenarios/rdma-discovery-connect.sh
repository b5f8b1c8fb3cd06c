# Discovery, identity, connect/disconnect over nvme-rdma (Soft-RoCE rxe0 in both guests).
SC_NEEDS=rdma
SC_TIMEOUT=240
SC_QUICK_TIMEOUT=200

sc_target() {
	tgt_start_config RDMA || return 1
	tgt_finish 200
	target_check_ctrl_lifecycle 2
}

sc_host() {
	host_prepare rdma || return 1
	host_identity_checks rdma
	check "discovery log: rdma_qptype connected" grep -q 'rdma_qptype: *connected' "$RIG/B/discover.txt"
}
