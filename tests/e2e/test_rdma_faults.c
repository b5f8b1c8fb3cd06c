/*
 * The qpair in error, end to end over the sim fabric: for each request state
 * a request can wait in, the victim qpair's QP goes to ERR while a request is
 * there (the fabric is stepped only by this thread, so the target holds still
 * while we look at it), and we check that the qpair drains and is destroyed,
 * that the state saw the expected event (the drain map in the stats), that a
 * qpair of the same controller and another controller on the same poll group
 * keep working, and that nothing leaks (fabric objects, buffers, ASan).
 *
 * test_rdma_seed_3463 is the scenario of SPDK issue #3463 (the seed): a write
 * whose READs are split in batches by the read depth, another write waiting
 * for READ credits, and a READ completing with "transport retry counter
 * exceeded" (RETRY_EXC_ERR), which puts the QP in ERR and flushes the rest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rdma_test_env.h"
#include "rpc/rpc.h"
#include "test_rpc_client.h"

static struct rte g_e;
static struct rte_host g_ha, g_hb; /* victim controller's host, bystander's */
static struct rte_qp g_aa, g_ab;   /* their admin queues */
static struct rte_qp g_va, g_vb;   /* victim I/O qpair, bystander I/O qpair */

static void bench_start(struct unvmf_transport_opts *o, uint8_t victim_read_depth, uint64_t seed)
{
	assert_int_equal(rte_start(&g_e, o, 0x1, seed), 0);
	assert_int_equal(rte_host_init(&g_ha, &g_e), 0);
	assert_int_equal(rte_host_init(&g_hb, &g_e), 0);
	g_hb.hostid[0] = 0x99;
	assert_int_equal(rte_ctrlr_connect(&g_ha, &g_aa), 0);
	assert_int_equal(rte_ctrlr_connect(&g_hb, &g_ab), 0);
	assert_int_not_equal(g_ha.cntlid, g_hb.cntlid);
	assert_int_equal(rte_io_connect(&g_ha, &g_va, 1, 16, victim_read_depth), 0);
	assert_int_equal(rte_io_connect(&g_hb, &g_vb, 1, 16, 4), 0);
}

static void bench_opts(struct unvmf_transport_opts *o)
{
	rte_opts_default(o);
}

static void bench_stop(void)
{
	rte_qp_close(&g_vb);
	rte_qp_close(&g_ab);
	if (g_va.h)
		rte_qp_close(&g_va);
	if (g_aa.h)
		rte_qp_close(&g_aa);
	rte_host_fini(&g_ha);
	rte_host_fini(&g_hb);
	assert_int_equal(rte_stop(&g_e), 0);
}

static uint64_t target_qpair_id(uint16_t cntlid, uint16_t qid)
{
	json_t *st = rte_stats();
	json_t *q = rte_qpair_stats(st, cntlid, qid);
	uint64_t id = q ? (uint64_t)json_integer_value(json_object_get(q, "id")) : 0;

	json_decref(st);
	return id;
}

struct want {
	const char *state;
	uint64_t min;
};

/*
 * Steps the fabric one step at a time until the target qpair (cntlid, qid)
 * has at least min requests in each wanted state; the target is given time to
 * react between steps and cannot move without them.
 */
static bool step_until(uint16_t cntlid, uint16_t qid, const struct want *w, int nw, int max_steps)
{
	for (int step = 0; step <= max_steps; step++) {
		/* Generous: a loaded machine must not let us step past the window. */
		for (int tries = 0; tries < 500; tries++) {
			json_t *st = rte_stats();
			json_t *q = rte_qpair_stats(st, cntlid, qid);
			bool ok = q != NULL;

			for (int i = 0; ok && i < nw; i++)
				ok = rte_qpair_in_state(q, w[i].state) >= w[i].min;
			json_decref(st);
			if (ok)
				return true;
			usleep(1000);
		}
		rte_pump(&g_ha);
	}
	return false;
}

/* Steps until the target has destroyed n qpairs in all; returns the stats then. */
static json_t *wait_destroyed(uint64_t n)
{
	for (uint64_t t0 = rte_now_ms(); rte_now_ms() - t0 < RTE_TIMEOUT_MS;) {
		json_t *st = rte_stats();

		if (rte_stat_sum(st, "qpairs_destroyed") >= n)
			return st;
		json_decref(st);
		rte_pump(&g_ha);
		if (g_va.qp)
			rte_qp_poll(&g_va);
		usleep(100);
	}
	fail_msg("the target did not destroy the qpair in error");
	return NULL;
}

static void bystanders_work(void)
{
	uint8_t *w = malloc(65536), *r = malloc(65536);
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	struct nvme_id_ctrl cd;
	struct nvme_sqe id = {.opc = NVME_OPC_IDENTIFY, .cdw10 = 1};

	rte_pattern(w, 65536, 77);
	rte_rw_sqe(&sqe, true, 50000, 128);
	assert_int_equal(rte_qp_exec(&g_vb, &sqe, w, 65536, true, RTE_SGL_KEYED, &cqe), 0);
	rte_rw_sqe(&sqe, false, 50000, 128);
	assert_int_equal(rte_qp_exec(&g_vb, &sqe, r, 65536, false, RTE_SGL_MULTI, &cqe), 0);
	assert_memory_equal(w, r, 65536);
	/* The victim's own controller: its admin queue was not touched. */
	if (g_aa.h && !g_aa.failed)
		assert_int_equal(
		    rte_qp_exec(&g_aa, &id, &cd, sizeof(cd), false, RTE_SGL_KEYED, &cqe), 0);
	free(w);
	free(r);
}

static void submit_rw(struct rte_qp *q, uint16_t cid, bool write, uint64_t lba, uint32_t len,
                      enum rte_sgl mode)
{
	struct nvme_sqe sqe;

	if (write)
		rte_pattern(rte_slot_data(q, cid), len, (uint32_t)lba);
	rte_rw_sqe(&sqe, write, lba, len / 512);
	assert_int_equal(rte_qp_submit(q, cid, &sqe, len, write, mode), 0);
}

static void victim_gone(void)
{
	rte_qp_close(&g_va);
}

static void test_qp_error_need_buffer(void **state)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"NEED_BUFFER", 1}};
	json_t *st;

	bench_opts(&o);
	/* 40 buffers of 8 KiB: two 128 KiB writes hold 32, the third waits. */
	o.num_shared_buffers = 40;
	o.buf_cache_size = 4;
	bench_start(&o, 1, 1);
	for (uint16_t c = 0; c < 3; c++)
		submit_rw(&g_va, c, true, c * 256u, RTE_MAX_IO, RTE_SGL_KEYED);
	assert_true(step_until(g_ha.cntlid, 1, w, 1, 50));
	assert_int_equal(rte_inject(target_qpair_id(g_ha.cntlid, 1), "qp_error"), 0);
	st = wait_destroyed(1);
	assert_true(rte_state_saw(st, "NEED_BUFFER", "QP_ERR_BY_FLUSH"));
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

static void test_qp_error_pending_read(void **state)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"DATA_TRANSFER_TO_CONTROLLER_PENDING", 2},
	                         {"TRANSFERRING_HOST_TO_CONTROLLER", 1}};
	json_t *st;

	bench_opts(&o);
	bench_start(&o, 2, 2);
	for (uint16_t c = 0; c < 3; c++)
		submit_rw(&g_va, c, true, c * 256u, RTE_MAX_IO,
		          c == 1 ? RTE_SGL_MULTI : RTE_SGL_KEYED);
	assert_true(step_until(g_ha.cntlid, 1, w, 2, 50));
	assert_int_equal(rte_inject(target_qpair_id(g_ha.cntlid, 1), "qp_error"), 0);
	st = wait_destroyed(1);
	assert_true(rte_state_saw(st, "DATA_TRANSFER_TO_CONTROLLER_PENDING", "QP_ERR_BY_FLUSH"));
	/* The READs in flight were flushed, and the request waited for them. */
	assert_true(rte_state_saw(st, "TRANSFERRING_HOST_TO_CONTROLLER", "FLUSH"));
	assert_true(rte_stat_sum(st, "req_cqe_flush_error") >= 1);
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

/*
 * The operator's version of the seed: "qp_error_in_state:TRANSFERRING_HOST_TO_CONTROLLER"
 * arms the qpair, and the QP goes to ERR the first time a write is caught
 * fetching its data in batches. Unknown states are refused.
 */
static void test_inject_qp_error_in_state(void **state)
{
	struct unvmf_transport_opts o;
	json_t *st;

	bench_opts(&o);
	bench_start(&o, 1, 7);
	assert_int_not_equal(rte_inject(target_qpair_id(g_ha.cntlid, 1), "qp_error_in_state:NOPE"),
			     0);
	assert_int_equal(rte_inject(target_qpair_id(g_ha.cntlid, 1),
				    "qp_error_in_state:TRANSFERRING_HOST_TO_CONTROLLER"),
			 0);
	for (uint16_t c = 0; c < 3; c++)
		submit_rw(&g_va, c, true, c * 256u, RTE_MAX_IO, RTE_SGL_KEYED);
	st = wait_destroyed(1);
	assert_true(rte_state_saw(st, "TRANSFERRING_HOST_TO_CONTROLLER", "QP_ERR_BY_INJECT"));
	assert_int_equal(rte_stat_sum(st, "faults_fired"), 1);
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

static void test_qp_error_executing(void **state)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"EXECUTING", 1}};
	struct nvme_sqe aer = {.opc = NVME_OPC_ASYNC_EVENT_REQUEST};
	json_t *st;

	bench_opts(&o);
	bench_start(&o, 4, 3);
	/* An Async Event Request waits in the core (EXECUTING) until an event or the end. */
	assert_int_equal(rte_qp_submit(&g_aa, 3, &aer, 0, false, RTE_SGL_KEYED), 0);
	assert_true(step_until(g_ha.cntlid, 0, w, 1, 50));
	assert_int_equal(rte_inject(target_qpair_id(g_ha.cntlid, 0), "qp_error"), 0);
	st = wait_destroyed(1);
	assert_true(rte_state_saw(st, "EXECUTING", "QP_ERR_BY_FLUSH"));
	assert_true(rte_state_saw(st, "EXECUTING", "EXEC_DONE"));
	json_decref(st);
	rte_qp_close(&g_aa);
	victim_gone();
	bystanders_work();
	bench_stop();
}

static void test_qp_error_completing(void **state)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"COMPLETING", 2}};
	json_t *st;

	bench_opts(&o);
	bench_start(&o, 4, 4);
	submit_rw(&g_va, 0, false, 0, RTE_MAX_IO, RTE_SGL_KEYED);
	submit_rw(&g_va, 1, false, 256, 4096, RTE_SGL_KEYED_INV);
	assert_true(step_until(g_ha.cntlid, 1, w, 1, 50));
	assert_int_equal(rte_inject(target_qpair_id(g_ha.cntlid, 1), "qp_error"), 0);
	st = wait_destroyed(1);
	/* The WRITEs and SENDs were the NIC's: flushed, reaped, then released. */
	assert_true(rte_state_saw(st, "COMPLETING", "FLUSH"));
	assert_true(rte_stat_sum(st, "req_cqe_flush_error") >= 2);
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

/*
 * A completion the NIC reports twice (a late duplicate) names a request that
 * has none of that kind out, or that moved on to its next command: the
 * transport must not charge it (that would free buffers the NIC still
 * uses), count an ownership violation and fail only that qpair.
 */
static void test_duplicate_completion(void **state)
{
	struct unvmf_transport_opts o;
	struct rdma_prov_qp *tqp;
	json_t *st;

	bench_opts(&o);
	bench_start(&o, 4, 5);
	tqp = rdma_sim_qp_peer(g_va.qp);
	assert_non_null(tqp);
	assert_int_equal(rdma_sim_dup_next_cqe(tqp), 0);
	submit_rw(&g_va, 0, false, 0, 8192, RTE_SGL_KEYED);
	st = wait_destroyed(1);
	assert_int_equal(rte_stat_sum(st, "ownership_violations"), 1);
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

static void test_qp_error_pending_send(void **state)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"DATA_TRANSFER_TO_HOST_PENDING", 1}, {"READY_TO_COMPLETE", 1}};
	struct nvme_sqe flush = {.opc = 0x00, .nsid = 1};
	json_t *st;

	bench_opts(&o);
	/* 4 KiB units: a 128 KiB read is 32 WRITEs + SEND; the 81-entry send queue takes two. */
	o.io_unit_size = 4096;
	bench_start(&o, 4, 5);
	for (uint16_t c = 0; c < 4; c++)
		submit_rw(&g_va, c, false, c * 256u, RTE_MAX_IO, RTE_SGL_KEYED);
	assert_int_equal(rte_qp_submit(&g_va, 4, &flush, 0, false, RTE_SGL_KEYED), 0);
	submit_rw(&g_va, 5, true, 4096, 512, RTE_SGL_ICD);
	assert_true(step_until(g_ha.cntlid, 1, w, 2, 50));
	assert_int_equal(rte_inject(target_qpair_id(g_ha.cntlid, 1), "qp_error"), 0);
	st = wait_destroyed(1);
	assert_true(rte_state_saw(st, "DATA_TRANSFER_TO_HOST_PENDING", "QP_ERR_BY_FLUSH"));
	assert_true(rte_state_saw(st, "READY_TO_COMPLETE", "QP_ERR_BY_FLUSH"));
	assert_true(rte_state_saw(st, "COMPLETING", "FLUSH"));
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

/* SPDK #3463: QP to ERR while one write transfers in READ batches and another waits for credits. */
static void seed_3463(uint64_t seed, enum rdma_sim_fault_kind kind)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"DATA_TRANSFER_TO_CONTROLLER_PENDING", 1},
	                         {"TRANSFERRING_HOST_TO_CONTROLLER", 1}};
	struct rdma_sim_fault f = {.kind = kind,
	                           .opcode = RDMA_PROV_WR_RDMA_READ,
	                           .nth = 3,
	                           .status = RDMA_PROV_WC_RETRY_EXC_ERR};
	json_t *st;
	int fid;

	bench_opts(&o);
	/* Odd seeds: per-QP receive queues (their receives flush too). */
	rte_opts_no_srq(&o, seed % 2);
	/* Read depth 2: each 128 KiB write is 16 READs in 8 batches. */
	bench_start(&o, 2, seed);
	f.qp_num = rte_target_qpn(&g_va);
	assert_int_not_equal(f.qp_num, 0);
	fid = rdma_sim_fault_add(g_e.fabric, &f);
	assert_true(fid > 0);
	submit_rw(&g_va, 0, true, 0, RTE_MAX_IO, RTE_SGL_KEYED);
	submit_rw(&g_va, 1, true, 256, RTE_MAX_IO, RTE_SGL_MULTI);
	assert_true(step_until(g_ha.cntlid, 1, w, 2, 50));
	st = wait_destroyed(1);
	assert_int_equal(rdma_sim_fault_fired(g_e.fabric, fid), 1);
	if (kind == RDMA_SIM_FAULT_FAIL_WR) {
		/* The seed's log line and counters: one RETRY_EXC_ERR, the rest flushed. */
		assert_int_equal(rte_wc_status(st, "RETRY_EXC_ERR"), 1);
		assert_int_equal(rte_stat_sum(st, "req_cqe_error"), 1);
		assert_true(rte_state_saw(st, "TRANSFERRING_HOST_TO_CONTROLLER", "WC_ERROR"));
	} else {
		assert_int_equal(rte_stat_sum(st, "req_cqe_error"), 0);
		assert_true(rte_state_saw(st, "TRANSFERRING_HOST_TO_CONTROLLER", "FLUSH"));
	}
	/* READ 4 of the batch was flushed behind the failed one. */
	assert_true(rte_stat_sum(st, "req_cqe_flush_error") >= 1);
	assert_true(rte_state_saw(st, "DATA_TRANSFER_TO_CONTROLLER_PENDING",
	                          kind == RDMA_SIM_FAULT_FAIL_WR ? "QP_ERR_BY_WC_ERROR"
	                                                         : "QP_ERR_BY_FLUSH"));
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

static void test_rdma_seed_3463(void **state)
{
	for (uint64_t seed = 1; seed <= 4; seed++) {
		seed_3463(seed, RDMA_SIM_FAULT_FAIL_WR);
		seed_3463(seed + 100, RDMA_SIM_FAULT_QP_ERR_BEFORE);
	}
}

/* A CM DISCONNECTED from the host side with commands in flight. */
static void test_cm_disconnect_in_flight(void **state)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"TRANSFERRING_HOST_TO_CONTROLLER", 1}};
	json_t *st;

	bench_opts(&o);
	bench_start(&o, 1, 6);
	submit_rw(&g_va, 0, true, 0, RTE_MAX_IO, RTE_SGL_KEYED);
	submit_rw(&g_va, 1, false, 512, 8192, RTE_SGL_KEYED);
	assert_true(step_until(g_ha.cntlid, 1, w, 1, 50));
	assert_int_equal(rdma_sim_inject_disconnect(g_va.id, true), 0);
	st = wait_destroyed(1);
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

/*
 * A QP-fatal async event on the victim's target QP with a write fetching its
 * data: the QP stops dead (no completion), so only the event can tell the
 * transport; the qpair drains (it moves the QP to ERR, reaps the flushes) and
 * is destroyed, its requests recording QP_ERR_BY_ASYNC, while the bystander
 * qpair on the same poll group, SRQ and CQ keeps working.
 */
static void test_async_qp_fatal(void **state)
{
	struct unvmf_transport_opts o;
	const struct want w[] = {{"TRANSFERRING_HOST_TO_CONTROLLER", 1}};
	struct rdma_prov_qp *tqp;
	json_t *st;

	bench_opts(&o);
	bench_start(&o, 1, 21);
	submit_rw(&g_va, 0, true, 0, RTE_MAX_IO, RTE_SGL_KEYED);
	submit_rw(&g_va, 1, true, 512, RTE_MAX_IO, RTE_SGL_KEYED);
	assert_true(step_until(g_ha.cntlid, 1, w, 1, 50));
	tqp = rdma_sim_qp_by_num(g_e.fabric, rte_target_qpn(&g_va));
	assert_non_null(tqp);
	assert_int_equal(rdma_sim_inject_async(tqp, RDMA_PROV_ASYNC_QP_FATAL), 0);
	assert_int_equal(rdma_sim_inject_async(tqp, RDMA_PROV_ASYNC_QP_FATAL), -EALREADY);
	st = wait_destroyed(1);
	assert_true(rte_state_saw(st, "TRANSFERRING_HOST_TO_CONTROLLER", "QP_ERR_BY_ASYNC"));
	assert_true(rte_state_saw(st, "DATA_TRANSFER_TO_CONTROLLER_PENDING", "QP_ERR_BY_ASYNC"));
	/* Nothing failed on the wire: the flushes came only after the transport moved it to ERR. */
	assert_int_equal(rte_stat_sum(st, "req_cqe_error"), 0);
	assert_int_equal(rte_stat_sum(st, "qpairs_current"), 3);
	json_decref(st);
	victim_gone();
	bystanders_work();
	bench_stop();
}

static json_t *rpc_inject(struct rpc_conn *c, json_t *params)
{
	json_t *resp = rpc_call(c, "nvmf_rdma_inject_fault", params);

	assert_non_null(resp);
	return resp;
}

/*
 * nvmf_rdma_inject_fault over JSON-RPC, "the next qpair to reach a request
 * state": armed for a qpair that does not exist yet (the victim controller's
 * qid 2), on READY_TO_EXECUTE, a state a request only passes through within
 * one poll. The victim's qid 1 and the other controller keep working; the
 * first command on the new qid 2 fails it at the transition, the fault
 * disarms, stats count it. FREE and unknown states are refused with an error
 * naming the parameter; a second arm while one is pending is refused.
 */
static void test_rpc_trap_next_qpair(void **state)
{
	char path[108];
	struct unvmf_transport_opts o;
	struct rpc_conn c;
	struct rte_qp q2;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	json_t *resp, *st;

	snprintf(path, sizeof(path), "/tmp/unvmf-rdma-faults-%d.sock", (int)getpid());
	g_rte_rpc_path = path;
	bench_opts(&o);
	bench_start(&o, 4, 31);
	assert_int_equal(rpc_conn_open(&c, path), 0);

	resp = rpc_inject(&c, RPC_P("{s:s}", "fault", "qp_error_in_state:FREE"));
	assert_int_equal(rpc_resp_code(resp), UNVMF_RPC_INVALID_PARAMS);
	assert_non_null(strstr(rpc_resp_message(resp), "'fault'"));
	json_decref(resp);
	resp = rpc_inject(&c, RPC_P("{s:s}", "fault", "qp_error_in_state:NOPE"));
	assert_int_equal(rpc_resp_code(resp), UNVMF_RPC_INVALID_PARAMS);
	json_decref(resp);

	resp = rpc_inject(&c, RPC_P("{s:s, s:i, s:i}", "fault", "qp_error_in_state:READY_TO_EXECUTE",
	                            "cntlid", g_ha.cntlid, "qid", 2));
	assert_int_equal(rpc_resp_code(resp), 0);
	assert_true(json_is_true(json_object_get(json_object_get(resp, "result"), "armed")));
	json_decref(resp);
	resp = rpc_inject(&c, RPC_P("{s:s}", "fault", "qp_error_in_state:EXECUTING"));
	assert_int_equal(rpc_resp_code(resp), -EBUSY);
	json_decref(resp);

	/* Not the chosen qpairs: they pass READY_TO_EXECUTE untouched. */
	bystanders_work();
	rte_rw_sqe(&sqe, false, 0, 8);
	assert_int_equal(rte_qp_exec(&g_va, &sqe, rte_slot_data(&g_va, 0), 4096, false,
	                             RTE_SGL_KEYED, &cqe),
	                 0);
	st = rte_stats();
	assert_int_equal(rte_stat_sum(st, "faults_fired"), 0);
	json_decref(st);

	/* The next qpair that matches: it connects now. */
	assert_int_equal(rte_io_connect(&g_ha, &q2, 2, 16, 4), 0);
	rte_rw_sqe(&sqe, false, 0, 8);
	assert_int_equal(rte_qp_submit(&q2, 0, &sqe, 4096, false, RTE_SGL_KEYED), 0);
	st = wait_destroyed(1);
	assert_int_equal(rte_stat_sum(st, "faults_fired"), 1);
	assert_true(rte_state_saw(st, "READY_TO_EXECUTE", "QP_ERR_BY_INJECT"));
	assert_int_equal(rte_stat_sum(st, "qpairs_current"), 4);
	json_decref(st);
	rte_qp_close(&q2);

	/* One shot: disarmed, so a new arm is taken; the victim's qid 1 still works. */
	assert_int_equal(rte_qp_exec(&g_va, &sqe, rte_slot_data(&g_va, 0), 4096, false,
	                             RTE_SGL_KEYED, &cqe),
	                 0);
	resp = rpc_inject(&c, RPC_P("{s:s, s:i}", "fault", "qp_error_in_state:COMPLETING",
	                            "qpair_id", 999999));
	assert_int_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
	rpc_conn_close(&c);
	bystanders_work();
	bench_stop();
	g_rte_rpc_path = NULL;
	unlink(path);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random faults: each round connects a fresh victim qpair, arms one fault on
 * its target QP (QP to ERR before/after the nth WR of a kind, or the nth WR
 * failing with a random status), runs a random mix of reads (of data the
 * bystander wrote, so every read that does complete is checked) and writes,
 * and waits until the target has destroyed it. Each round ends with the
 * bystander verifying I/O; the whole run ends with a clean shutdown.
 */
static void random_faults(bool no_srq)
{
	static const enum rdma_prov_wc_status statuses[] = {
	    RDMA_PROV_WC_RETRY_EXC_ERR, RDMA_PROV_WC_RNR_RETRY_EXC_ERR, RDMA_PROV_WC_REM_ACCESS_ERR,
	    RDMA_PROV_WC_LOC_LEN_ERR,   RDMA_PROV_WC_REM_OP_ERR,        RDMA_PROV_WC_LOC_PROT_ERR,
	};
	static const enum rdma_prov_wr_opcode opcodes[] = {
	    RDMA_PROV_WR_SEND, RDMA_PROV_WR_RDMA_WRITE, RDMA_PROV_WR_RDMA_READ,
	    RDMA_PROV_WR_RECV, RDMA_PROV_WR_ANY,
	};
	enum { ROUNDS = 40, CMDS = 12 };
	struct unvmf_transport_opts o;
	uint64_t r = 0x9e3779b97f4a7c15ull, destroyed = 1;
	uint8_t *want = malloc(RTE_MAX_IO);
	json_t *st;

	bench_opts(&o);
	rte_opts_no_srq(&o, no_srq);
	bench_start(&o, 2, no_srq ? 12 : 11);
	/* Completions land late and out of step across QPs (RC order within each queue). */
	rdma_sim_fabric_set_delays(g_e.fabric, 2, 3);
	/* The victim's reads read this back: 8 regions of 128 KiB. */
	for (uint16_t k = 0; k < 8; k++) {
		submit_rw(&g_vb, k, true, k * 256u, RTE_MAX_IO, RTE_SGL_KEYED);
		assert_int_equal(rte_qp_wait(&g_vb, k, NULL), 0);
	}
	rte_qp_close(&g_va);
	st = wait_destroyed(destroyed++);
	json_decref(st);
	for (int round = 0; round < ROUNDS; round++) {
		struct rdma_sim_fault f = {0};
		bool is_read[CMDS];
		int fid;

		assert_int_equal(rte_io_connect(&g_ha, &g_va, (uint16_t)(1 + round % 4), 16,
		                                (uint8_t)(1 + rnd(&r) % 4)),
		                 0);
		f.kind = (enum rdma_sim_fault_kind)(rnd(&r) % 3);
		f.qp_num = rte_target_qpn(&g_va);
		f.opcode = opcodes[rnd(&r) % UNVMF_ARRAY_SIZE(opcodes)];
		f.nth = 1 + (uint32_t)(rnd(&r) % 24);
		f.status = statuses[rnd(&r) % UNVMF_ARRAY_SIZE(statuses)];
		fid = rdma_sim_fault_add(g_e.fabric, &f);
		assert_true(fid > 0);
		for (uint16_t c = 0; c < CMDS; c++) {
			uint32_t len = 512u << (rnd(&r) % 9);
			enum rte_sgl mode = (enum rte_sgl)(rnd(&r) % 3);

			is_read[c] = rnd(&r) % 2;
			if (is_read[c])
				submit_rw(&g_va, c, false, (c % 8) * 256u, len, mode);
			else
				submit_rw(&g_va, c, true, 100000 + c * 256u, len,
				          len <= 4096 && c % 3 == 0 ? RTE_SGL_ICD : mode);
		}
		/* Until every command is answered or the fault took the qpair down. */
		for (uint64_t t0 = rte_now_ms(); rte_now_ms() - t0 < RTE_TIMEOUT_MS;) {
			int done = 0;

			rte_pump(&g_ha);
			rte_qp_poll(&g_va);
			for (uint16_t c = 0; c < CMDS; c++)
				done += g_va.slots[c].done;
			if (done == CMDS || rdma_sim_fault_fired(g_e.fabric, fid) == 1)
				break;
		}
		/* Whatever completed, completed right. */
		for (uint16_t c = 0; c < CMDS; c++) {
			struct rte_slot *sl = &g_va.slots[c];

			if (!sl->done)
				continue;
			assert_int_equal(sl->cqe.status.raw & 0xfffe, 0);
			if (is_read[c]) {
				uint32_t len =
				    (uint32_t)((struct nvme_sqe *)(g_va.cmds +
				                                   (size_t)c * RTE_CAPSULE_BYTES))
				        ->cdw12 +
				    1;

				rte_pattern(want, len * 512, (c % 8) * 256u);
				assert_memory_equal(want, rte_slot_data(&g_va, c), len * 512);
			}
		}
		rte_qp_close(&g_va);
		st = wait_destroyed(destroyed++);
		json_decref(st);
		bystanders_work();
	}
	st = rte_stats();
	/* Every round's victim was reclaimed; the bystander and both admin queues are alive. */
	assert_int_equal(rte_stat_sum(st, "qpairs_current"), 3);
	assert_true(rte_stat_sum(st, "req_cqe_error") + rte_stat_sum(st, "req_cqe_flush_error") >
	            0);
	if (getenv("RDMA_FAULTS_VERBOSE")) {
		char *dump = json_dumps(json_object_get(json_array_get(st, 0), "state_events"), 0);

		fprintf(stderr, "state events: %s\n", dump);
		free(dump);
	}
	json_decref(st);
	free(want);
	bench_stop();
}

static void test_random_faults(void **state)
{
	random_faults(false);
}

static void test_random_faults_no_srq(void **state)
{
	random_faults(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qp_error_need_buffer),
	    cmocka_unit_test(test_qp_error_pending_read),
	    cmocka_unit_test(test_qp_error_executing),
	    cmocka_unit_test(test_qp_error_completing),
	    cmocka_unit_test(test_qp_error_pending_send),
	    cmocka_unit_test(test_rdma_seed_3463),
	    cmocka_unit_test(test_cm_disconnect_in_flight),
	    cmocka_unit_test(test_inject_qp_error_in_state),
	    cmocka_unit_test(test_async_qp_fatal),
	    cmocka_unit_test(test_duplicate_completion),
	    cmocka_unit_test(test_rpc_trap_next_qpair),
	    cmocka_unit_test(test_random_faults),
	    cmocka_unit_test(test_random_faults_no_srq),
	};

	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
