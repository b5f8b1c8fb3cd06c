/*
 * Adding a transport whose per-poll-group part fails: the target undoes it
 * (every group that got one drops it before the transport is freed), reports
 * the error, leaves no fabric object behind and can take the same slot again.
 * The poll groups fail for real: RDMA's num_cqe below max_srq_depth passes
 * the transport's own checks and is refused by each group's CQ/SRQ set-up.
 * A partial failure too: with the descriptor limit one above the lowest free
 * descriptor, TCP's first poll group gets its epoll fd and the second cannot,
 * so one group holds the transport when the add fails.
 * Runs under ASan in Debug builds, which sees a group touching a freed transport.
 */
#include <sys/resource.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rdma_test_env.h"
#include "nvmf/nvmf_internal.h"

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
	rte_opts_queue_sizes(&bad, 256, 64);
	assert_int_not_equal(rte_start(&e, &bad, cpumask, 7), 0);
	assert_int_equal(g_tgt.num_transports, 0);
	assert_null(unvmf_tgt_find_transport(NVMF_TRTYPE_RDMA));

	/* The slot the failed transport had is free again, and the new one works. */
	rte_opts_default(&r.opts);
	rte_opts_sim_node(&r.opts, &e);
	atomic_store(&e.ready, 0);
	e.rc = 0;
	unvmf_thread_send_msg(unvmf_reactor_thread(0), readd_msg, &r);
	assert_int_equal(wait_ready(&e), 0);
	assert_int_equal(g_tgt.num_transports, 1);
	for (unsigned i = 0; i < g_tgt.num_groups; i++)
		assert_non_null(g_tgt.groups[i]->tgroups[0]);
	assert_int_equal(rte_stop(&e), 0);
}

/* ---- TCP: the second of two poll groups fails (EMFILE) ---- */

struct tcp_case {
	atomic_int stage; /* 0 running, 1 add done, 2 readd done, 3 stopped, -1 error */
	int add_rc, readd_rc;
	unsigned groups_holding_after_fail;
	struct rlimit saved;
	struct unvmf_transport_opts opts;
};

static void tcp_readd_done(void *arg, int rc)
{
	struct tcp_case *t = arg;

	t->readd_rc = rc;
	atomic_store(&t->stage, 2);
}

static void tcp_add_done(void *arg, int rc)
{
	struct tcp_case *t = arg;

	setrlimit(RLIMIT_NOFILE, &t->saved);
	t->add_rc = rc;
	/* Runs after the undo walk: no group may still hold the failed transport. */
	for (unsigned i = 0; i < g_tgt.num_groups; i++)
		t->groups_holding_after_fail += g_tgt.groups[i]->tgroups[0] != NULL;
	atomic_store(&t->stage, 1);
	rc = unvmf_tgt_add_transport(&t->opts, tcp_readd_done, t);
	if (rc)
		tcp_readd_done(t, rc);
}

static void tcp_groups_done(void *arg, int rc)
{
	struct tcp_case *t = arg;
	struct rlimit lim;
	int lowest;

	if (rc)
		goto fail;
	/* The next descriptor is the lowest free one: allow exactly that one more. */
	lowest = dup(0);
	if (lowest < 0)
		goto fail;
	close(lowest);
	getrlimit(RLIMIT_NOFILE, &t->saved);
	lim = t->saved;
	lim.rlim_cur = (rlim_t)lowest + 1;
	if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
		goto fail;
	rc = unvmf_tgt_add_transport(&t->opts, tcp_add_done, t);
	if (rc) {
		setrlimit(RLIMIT_NOFILE, &t->saved);
		goto fail;
	}
	return;
fail:
	atomic_store(&t->stage, -1);
}

static void tcp_start_msg(void *arg)
{
	struct unvmf_tgt_opts topts = {0};

	if (unvmf_tgt_init(&topts) || unvmf_tgt_create_poll_groups(tcp_groups_done, arg))
		atomic_store(&((struct tcp_case *)arg)->stage, -1);
}

static void tcp_shutdown_done(void *arg)
{
	unvmf_tgt_fini();
	atomic_store(&((struct tcp_case *)arg)->stage, 3);
}

static void tcp_stop_msg(void *arg)
{
	unvmf_tgt_shutdown(tcp_shutdown_done, arg);
}

static void wait_stage(struct tcp_case *t, int want)
{
	for (uint64_t t0 = rte_now_ms(); atomic_load(&t->stage) < want;) {
		assert_int_not_equal(atomic_load(&t->stage), -1);
		assert_true(rte_now_ms() - t0 < RTE_TIMEOUT_MS);
		usleep(1000);
	}
}

static void test_second_group_fails_tcp(void **state)
{
	struct unvmf_reactor_opts ropts = {.cpumask = 0x3, .pin_threads = false};
	struct tcp_case t = {0};

	unvmf_transport_ops_find(NVMF_TRTYPE_TCP)->opts_init(&t.opts);
	t.opts.trtype = NVMF_TRTYPE_TCP;
	t.opts.num_shared_buffers = 64;
	assert_int_equal(unvmf_reactors_init(&ropts), 0);
	assert_int_equal(unvmf_reactors_start_background(), 0);
	unvmf_thread_send_msg(unvmf_reactor_thread(0), tcp_start_msg, &t);
	wait_stage(&t, 2);
	assert_int_not_equal(t.add_rc, 0);
	assert_int_equal(t.groups_holding_after_fail, 0);
	assert_int_equal(t.readd_rc, 0);
	assert_int_equal(g_tgt.num_transports, 1);
	unvmf_thread_send_msg(unvmf_reactor_thread(0), tcp_stop_msg, &t);
	wait_stage(&t, 3);
	unvmf_reactors_stop();
	unvmf_reactors_join();
	unvmf_reactors_fini();
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
	    cmocka_unit_test(test_second_group_fails_tcp),
	};

	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
