/*
 * The checks that guard counts which must never go below zero run in every
 * build, not only under UNVMF_DEBUG: tests/sim/CMakeLists.txt builds this
 * file a second time with the transport's sources compiled without
 * UNVMF_DEBUG (e2e.rdma_invariants_nodebug), where UNVMF_ASSERT is a no-op.
 *
 * The sim NIC reports a completion twice. Charged, it would take a request's
 * WR count, the send-queue count and (for a READ) the READs in flight below
 * what the NIC holds, and in a build without the checks wrap them: the qpair
 * would then never drain. Here the duplicate is refused and counted, the
 * victim qpair goes to error and is destroyed, and a qpair of the same
 * controller keeps working.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rdma_test_env.h"

static struct rte g_e;
static struct rte_host g_h;
static struct rte_qp g_admin, g_victim, g_other;

/* Steps until the target destroyed n qpairs; returns its stats then. */
static json_t *wait_destroyed(uint64_t n)
{
	for (uint64_t t0 = rte_now_ms(); rte_now_ms() - t0 < RTE_TIMEOUT_MS;) {
		json_t *st = rte_stats();

		if (rte_stat_sum(st, "qpairs_destroyed") >= n)
			return st;
		json_decref(st);
		rte_pump(&g_h);
		if (g_victim.qp)
			rte_qp_poll(&g_victim);
		usleep(100);
	}
	fail_msg("the qpair with the duplicate completion was never destroyed");
	return NULL;
}

static void duplicate_completion(bool no_srq, bool write)
{
	struct unvmf_transport_opts o;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint8_t *w = malloc(16384), *r = malloc(16384);
	json_t *st;

	rte_opts_default(&o);
	rte_opts_no_srq(&o, no_srq);
	assert_int_equal(rte_start(&g_e, &o, 0x1, 21), 0);
	assert_int_equal(rte_host_init(&g_h, &g_e), 0);
	assert_int_equal(rte_ctrlr_connect(&g_h, &g_admin), 0);
	assert_int_equal(rte_io_connect(&g_h, &g_victim, 1, 16, 4), 0);
	assert_int_equal(rte_io_connect(&g_h, &g_other, 2, 16, 4), 0);

	/* The victim's next send-queue completion (a READ of the write, or the read's WRITE). */
	assert_int_equal(rdma_sim_dup_next_cqe(rdma_sim_qp_peer(g_victim.qp)), 0);
	rte_pattern(rte_slot_data(&g_victim, 0), 16384, 3);
	rte_rw_sqe(&sqe, write, 64, 32);
	assert_int_equal(rte_qp_submit(&g_victim, 0, &sqe, 16384, write, RTE_SGL_KEYED), 0);
	st = wait_destroyed(1);
	assert_int_equal(rte_stat_sum(st, "ownership_violations"), 1);
	assert_int_equal(rte_stat_sum(st, "invariant_violations"), 0);
	json_decref(st);
	rte_qp_close(&g_victim);

	rte_pattern(w, 16384, 9);
	rte_rw_sqe(&sqe, true, 1000, 32);
	assert_int_equal(rte_qp_exec(&g_other, &sqe, w, 16384, true, RTE_SGL_KEYED, &cqe), 0);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	rte_rw_sqe(&sqe, false, 1000, 32);
	assert_int_equal(rte_qp_exec(&g_other, &sqe, r, 16384, false, RTE_SGL_MULTI, &cqe), 0);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_memory_equal(w, r, 16384);

	rte_qp_close(&g_other);
	rte_qp_close(&g_admin);
	rte_host_fini(&g_h);
	assert_int_equal(rte_stop(&g_e), 0);
	free(w);
	free(r);
}

static void test_duplicate_read_completion_srq(void **state)
{
	duplicate_completion(false, true);
}

static void test_duplicate_write_completion_no_srq(void **state)
{
	duplicate_completion(true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duplicate_read_completion_srq),
	    cmocka_unit_test(test_duplicate_write_completion_no_srq),
	};

	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
