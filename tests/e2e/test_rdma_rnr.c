/*
 * A host that keeps its queue full sends its next capsule the moment it sees
 * a response. The target has exactly hsqsize + 1 receives for the qpair (own
 * receive queue) or a shared receive queue no deeper than that; if it
 * reposted a capsule's receive only once the response SEND's completion was
 * reaped, that capsule would find no receive and the host's NIC would get
 * RNR NAKs (and, past rnr_retry, fail the connection). The receive goes back
 * before the response is posted, so the sim fabric counts no RNR NAK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rdma_test_env.h"

#define QSIZE 16
#define COMMANDS 1500

static void full_queue(bool no_srq)
{
	struct unvmf_transport_opts o;
	struct rte e;
	struct rte_host h;
	struct rte_qp admin, q;
	struct nvme_sqe sqe;
	uint64_t rnr_before, rnr_after, sent = 0, done = 0;

	rte_opts_default(&o);
	rte_opts_no_srq(&o, no_srq);
	/* An SRQ no deeper than the queue: every receive matters, as with an own RQ. */
	rte_opts_queue_sizes(&o, QSIZE, 8192);
	assert_int_equal(rte_start(&e, &o, 0x1, 31), 0);
	assert_int_equal(rte_host_init(&h, &e), 0);
	assert_int_equal(rte_ctrlr_connect(&h, &admin), 0);
	assert_int_equal(rte_io_connect(&h, &q, 1, QSIZE, 4), 0);

	rnr_before = rdma_sim_fabric_rnr_naks(e.fabric);
	/* Small reads: the target answers within a few steps, so the queue turns over fast. */
	rte_rw_sqe(&sqe, false, 0, 1);
	for (uint16_t c = 0; c < QSIZE; c++, sent++)
		assert_int_equal(rte_qp_submit(&q, c, &sqe, 512, false, RTE_SGL_KEYED), 0);
	for (uint64_t t0 = rte_now_ms(); done < COMMANDS;) {
		assert_true(rte_now_ms() - t0 < 4 * RTE_TIMEOUT_MS);
		assert_false(q.failed);
		rte_pump(&h);
		rte_qp_poll(&q);
		for (uint16_t c = 0; c < QSIZE; c++) {
			struct nvme_cqe cqe;

			if (!q.slots[c].busy || !q.slots[c].done)
				continue;
			assert_int_equal(rte_qp_wait(&q, c, &cqe), 0);
			assert_int_equal(cqe.status.raw & 0xfffe, 0);
			done++;
			/* At once: the capsule leaves while the target may still reap its SEND. */
			if (sent < COMMANDS) {
				assert_int_equal(
				    rte_qp_submit(&q, c, &sqe, 512, false, RTE_SGL_KEYED), 0);
				sent++;
			}
		}
	}
	rnr_after = rdma_sim_fabric_rnr_naks(e.fabric);
	print_message("%s: %lu commands, %lu RNR NAKs\n", no_srq ? "own RQ" : "SRQ",
	              (unsigned long)done, (unsigned long)(rnr_after - rnr_before));
	assert_int_equal(rnr_after - rnr_before, 0);

	rte_qp_close(&q);
	rte_qp_close(&admin);
	rte_host_fini(&h);
	assert_int_equal(rte_stop(&e), 0);
}

static void test_full_queue_no_rnr_own_rq(void **state)
{
	full_queue(true);
}

static void test_full_queue_no_rnr_srq(void **state)
{
	full_queue(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_queue_no_rnr_own_rq),
	    cmocka_unit_test(test_full_queue_no_rnr_srq),
	};

	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
