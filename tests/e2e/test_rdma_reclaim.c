/*
 * The bounded reclaim: a NIC that stops reporting back must not keep a
 * qpair (and the target's shutdown) forever. The sim NIC is made silent in
 * three ways: the QP's flushes never arrive, LAST_WQE_REACHED never
 * arrives, and the whole device dies without flushing (poll_cq fails too).
 * Each time the qpair is destroyed within reclaim_timeout_ms (at once for
 * the dead device), its WRs accounted as reaped and counted, a bystander on
 * another device path keeps working, and the target stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rdma_test_env.h"
#include "transport/rdma/rdma_opts.h"

static struct rte g_e;
static struct rte_host g_h;
static struct rte_qp g_admin, g_victim;

static uint64_t target_qpair_id(uint16_t qid)
{
	json_t *st = rte_stats();
	json_t *q = rte_qpair_stats(st, g_h.cntlid, qid);
	uint64_t id = q ? (uint64_t)json_integer_value(json_object_get(q, "id")) : 0;

	json_decref(st);
	return id;
}

/* Steps until the target destroyed n qpairs, within max_ms; the stats then, or NULL. */
static json_t *wait_destroyed(uint64_t n, uint64_t max_ms)
{
	for (uint64_t t0 = rte_now_ms(); rte_now_ms() - t0 < max_ms;) {
		json_t *st = rte_stats();

		if (rte_stat_sum(st, "qpairs_destroyed") >= n)
			return st;
		json_decref(st);
		rte_pump(&g_h);
		usleep(200);
	}
	return NULL;
}

static void bench_start(bool no_srq, uint32_t reclaim_ms)
{
	struct unvmf_transport_opts o;

	rte_opts_default(&o);
	rte_opts_no_srq(&o, no_srq);
	unvmf_rdma_opts(&o)->reclaim_timeout_ms = reclaim_ms;
	assert_int_equal(rte_start(&g_e, &o, 0x1, 41), 0);
	assert_int_equal(rte_host_init(&g_h, &g_e), 0);
	assert_int_equal(rte_ctrlr_connect(&g_h, &g_admin), 0);
	assert_int_equal(rte_io_connect(&g_h, &g_victim, 1, 16, 4), 0);
}

static void bench_stop(void)
{
	uint64_t t0 = rte_now_ms();

	rte_qp_close(&g_victim);
	rte_qp_close(&g_admin);
	rte_host_fini(&g_h);
	assert_int_equal(rte_stop(&g_e), 0);
	/* Shutdown is bounded too: nothing waits for a silent NIC. */
	assert_true(rte_now_ms() - t0 < RTE_TIMEOUT_MS);
}

/* The admin queue still answers (the victim was an I/O qpair of the same controller). */
static void admin_works(void)
{
	struct nvme_sqe ka = {.opc = NVME_OPC_KEEP_ALIVE};
	struct nvme_cqe cqe;

	assert_int_equal(rte_qp_exec(&g_admin, &ka, NULL, 0, false, RTE_SGL_KEYED, &cqe), 0);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
}

/* Own receive queue, flushes never come: its 16 receives stay with the NIC. */
static void test_flushes_never_arrive(void **state)
{
	json_t *st;
	uint64_t t0;

	bench_start(true, 300);
	assert_int_equal(rdma_sim_qp_silence(rdma_sim_qp_peer(g_victim.qp), false, false), 0);
	t0 = rte_now_ms();
	assert_int_equal(rte_inject(target_qpair_id(1), "disconnect"), 0);
	st = wait_destroyed(1, RTE_TIMEOUT_MS);
	assert_non_null(st);
	assert_true(rte_now_ms() - t0 >= 300);
	assert_int_equal(rte_stat_sum(st, "qpairs_reclaimed"), 1);
	assert_true(rte_stat_sum(st, "wrs_reclaimed") >= 16);
	json_decref(st);
	admin_works();
	bench_stop();
}

/* SRQ, the flushes come but LAST_WQE_REACHED never does. */
static void test_last_wqe_never_arrives(void **state)
{
	json_t *st;

	bench_start(false, 300);
	assert_int_equal(rdma_sim_qp_silence(rdma_sim_qp_peer(g_victim.qp), true, false), 0);
	assert_int_equal(rte_inject(target_qpair_id(1), "disconnect"), 0);
	st = wait_destroyed(1, RTE_TIMEOUT_MS);
	assert_non_null(st);
	assert_int_equal(rte_stat_sum(st, "qpairs_reclaimed"), 1);
	json_decref(st);
	admin_works();
	bench_stop();
}

/*
 * The target's device dies with I/O in flight and never flushes; polling its
 * CQ fails. The bound is an hour: a dead device is reclaimed at once.
 */
static void device_dies(bool no_srq)
{
	struct nvme_sqe sqe;
	json_t *st;

	bench_start(no_srq, 3600000);
	for (uint16_t c = 0; c < 4; c++) {
		rte_pattern(rte_slot_data(&g_victim, c), 65536, c);
		rte_rw_sqe(&sqe, c & 1, c * 256u, 128);
		assert_int_equal(rte_qp_submit(&g_victim, c, &sqe, 65536, c & 1, RTE_SGL_KEYED), 0);
	}
	rte_pump(&g_h);
	rte_pump(&g_h);
	rdma_sim_node_fail_device_silent(g_e.tnode);
	st = wait_destroyed(2, RTE_TIMEOUT_MS);
	assert_non_null(st);
	assert_int_equal(rte_stat_sum(st, "qpairs_reclaimed"), 2);
	assert_true(rte_stat_sum(st, "device_errors") >= 1);
	json_decref(st);
	bench_stop();
}

static void test_device_dies_srq(void **state)
{
	device_dies(false);
}

static void test_device_dies_no_srq(void **state)
{
	device_dies(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flushes_never_arrive),
	    cmocka_unit_test(test_last_wqe_never_arrives),
	    cmocka_unit_test(test_device_dies_srq),
	    cmocka_unit_test(test_device_dies_no_srq),
	};

	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
