/*
 * Adding a transport whose per-poll-group part fails: the target undoes it
 * (every group that got one drops it before the transport is freed), reports
 * the error, leaves no fabric object behind and can take the same slot again.
 * The poll groups fail for real: RDMA's num_cqe below max_srq_depth passes
 * the transport's own checks and is refused by each group's CQ/SRQ set-up.
 * Runs under ASan in Debug builds, which sees a group touching a freed transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rdma_test_env.h"

struct readd {
	struct rte *e;
	struct unvmf_transport_opts opts;
};

static void readd_msg(void *arg)
{
	struct readd *r = arg;
	int rc = unvmf_tgt_add_transport(&r->opts, rte_listen_done, r->e);

	if (rc) {
		r->e->rc = rc;
		atomic_store(&r->e->ready, -1);
	}
}

static int wait_ready(struct rte *e)
{
	for (uint64_t t0 = rte_now_ms(); atomic_load(&e->ready) == 0;) {
		if (rte_now_ms() - t0 > RTE_TIMEOUT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return atomic_load(&e->ready) == 1 ? 0 : (e->rc ? e->rc : -EIO);
}

static void run(uint64_t cpumask)
{
	struct rte e;
	struct readd r = {.e = &e};
	struct unvmf_transport_opts bad;

	rte_opts_default(&bad);
	bad.rdma.max_srq_depth = 256;
	bad.rdma.num_cqe = 64;
	assert_int_not_equal(rte_start(&e, &bad, cpumask, 7), 0);
	assert_int_equal(g_tgt.num_transports, 0);
	assert_null(unvmf_tgt_find_transport(NVMF_TRTYPE_RDMA));

	/* The slot the failed transport had is free again, and the new one works. */
	rte_opts_default(&r.opts);
	r.opts.rdma.provider_ctx = e.tnode;
	atomic_store(&e.ready, 0);
	e.rc = 0;
	unvmf_thread_send_msg(unvmf_reactor_thread(0), readd_msg, &r);
	assert_int_equal(wait_ready(&e), 0);
	assert_int_equal(g_tgt.num_transports, 1);
	for (unsigned i = 0; i < g_tgt.num_groups; i++)
		assert_non_null(g_tgt.groups[i]->tgroups[0]);
	assert_int_equal(rte_stop(&e), 0);
}

static void test_group_create_fails_one_reactor(void **state)
{
	run(0x1);
}

static void test_group_create_fails_two_reactors(void **state)
{
	run(0x3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_group_create_fails_one_reactor),
	    cmocka_unit_test(test_group_create_fails_two_reactors),
	};

	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
