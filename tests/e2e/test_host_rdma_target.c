/*
 * The host library (unvmf_host_*) over NVMe/RDMA against the real target
 * transport, both in this process over the sim fabric: the target on reactor
 * threads (rdma_test_env.h), the host on the test thread stepping the fabric
 * from its progress hook. Identify, read/write verify from 512 B to the
 * target's max I/O through in-capsule, keyed and last-segment SGLs, with and
 * without the registration cache, deep queues and several qpairs, and
 * host-side failures (CM disconnect, QP to ERR mid-traffic) that abort the
 * qpair's commands while the controller and a new qpair keep working.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>

#include "rdma_test_env.h"
#include "transport/rdma/rdma_opts.h"
#include "host/rdma/host_rdma_conn.h"
#include "unvmf/host.h"

#define MAX_POLLS 2000000

static struct rte g_e;

static void progress(void *arg)
{
	struct rte *e = arg;

	rdma_sim_fabric_step(e->fabric);
	/* The target's reactors need CPU to answer; the host would spin the fabric otherwise. */
	sched_yield();
}

static void start(bool no_srq)
{
	struct unvmf_transport_opts o;

	rte_opts_default(&o);
	rte_opts_no_srq(&o, no_srq);
	assert_int_equal(rte_start(&g_e, &o, 0x3, 7), 0);
}

static void stop(void)
{
	assert_int_equal(rte_stop(&g_e), 0);
}

static void connect_ctrlr(struct unvmf_host_ctrlr **ctrlr, bool mr_cache)
{
	struct unvmf_host_opts o;
	struct unvmf_host_error err;
	struct unvmf_trid t;
	int rc;

	assert_int_equal(
	    unvmf_trid_parse(&t, "trtype:RDMA traddr:sim:tgt trsvcid:4420 subnqn:" RTE_SUBNQN), 0);
	unvmf_host_opts_init(&o);
	strcpy(o.rdma_provider, "sim");
	o.rdma_provider_arg = g_e.hnode;
	o.rdma_progress = progress;
	o.rdma_progress_arg = &g_e;
	o.rdma_mr_cache = mr_cache;
	o.kato_ms = 0;
	o.io_queue_size = 64;
	o.connect_timeout_ms = RTE_TIMEOUT_MS;
	o.admin_timeout_ms = RTE_TIMEOUT_MS;
	rc = unvmf_host_connect(&t, &o, ctrlr, &err);
	if (rc)
		fail_msg("connect: %d stage %d reject sts %u", rc, err.stage, err.rdma_reject_sts);
}

struct io_wait {
	int done;
	int errors;
	int aborted;
};

static void io_done(void *arg, const struct nvme_cqe *cqe)
{
	struct io_wait *w = arg;

	w->done++;
	if (cqe->status.raw) {
		w->errors++;
		if (cqe->status.s.sc == NVME_SC_ABORTED_SQ_DELETION)
			w->aborted++;
	}
}

static int wait_n(struct unvmf_host_qpair *q, struct io_wait *w, int n)
{
	for (int i = 0; i < MAX_POLLS && w->done < n; i++) {
		int rc = unvmf_host_qpair_poll(q, 0);

		if (rc < 0)
			return rc;
	}
	return w->done >= n ? 0 : -ETIMEDOUT;
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 13 + i * 7 + (i >> 9));
}

/* Write len bytes at lba from nseg iovecs, read them back through nseg other iovecs. */
static void rw_verify(struct unvmf_host_qpair *q, uint64_t lba, uint32_t len, int nseg,
                      uint32_t seed)
{
	uint8_t *wbuf = malloc(len), *rbuf = malloc(len);
	struct iovec wiov[8], riov[8];
	struct io_wait w = {0};
	uint32_t off = 0, step = len / (uint32_t)nseg;

	fill(wbuf, len, seed);
	memset(rbuf, 0xee, len);
	for (int i = 0; i < nseg; i++) {
		uint32_t l = i + 1 < nseg ? step : len - off;

		wiov[i] = (struct iovec){wbuf + off, l};
		riov[i] = (struct iovec){rbuf + off, l};
		off += l;
	}
	assert_int_equal(unvmf_host_write(q, 1, lba, len / 512, wiov, nseg, io_done, &w), 0);
	assert_int_equal(wait_n(q, &w, 1), 0);
	assert_int_equal(unvmf_host_read(q, 1, lba, len / 512, riov, nseg, io_done, &w), 0);
	assert_int_equal(wait_n(q, &w, 2), 0);
	assert_int_equal(w.errors, 0);
	assert_memory_equal(rbuf, wbuf, len);
	free(wbuf);
	free(rbuf);
}

static void test_identify(void **state)
{
	struct unvmf_host_ctrlr *ctrlr;
	struct nvme_id_ctrl cd;
	struct nvme_id_ns ns;

	start(false);
	connect_ctrlr(&ctrlr, false);
	assert_int_equal(unvmf_host_identify_ctrlr(ctrlr, &cd), 0);
	assert_string_equal(cd.subnqn, RTE_SUBNQN);
	assert_true(unvmf_host_ctrlr_in_capsule_size(ctrlr) >= 4096);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, 1, &ns), 0);
	assert_int_equal(ns.nsze, RTE_NS_BLOCKS);
	unvmf_host_disconnect(ctrlr);
	stop();
}

static void run_rw_sizes(bool no_srq, bool mr_cache)
{
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	struct unvmf_host_error err;
	static const uint32_t sizes[] = {512, 1024, 4096, 4608, 8192, 16384, 65536, RTE_MAX_IO};

	start(no_srq);
	connect_ctrlr(&ctrlr, mr_cache);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &q, &err), 0);
	for (uint32_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (unvmf_host_ctrlr_max_xfer(ctrlr) && sizes[i] > unvmf_host_ctrlr_max_xfer(ctrlr))
			continue;
		rw_verify(q, (uint64_t)i * 1024, sizes[i], 1, i);
		/* Several iovecs: a last-segment list of keyed descriptors (or in-capsule). */
		if (sizes[i] >= 4096)
			rw_verify(q, (uint64_t)i * 1024 + 512, sizes[i], 4, i + 100);
	}
	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	stop();
}

static void test_rw_srq(void **state)
{
	run_rw_sizes(false, false);
}

static void test_rw_no_srq_mr_cache(void **state)
{
	run_rw_sizes(true, true);
}

/* Four qpairs, each 63 commands deep, random-ish LBAs; every read checks its own write. */
static void test_deep_many_qpairs(void **state)
{
	enum { NQ = 4, DEPTH = 63, BS = 4096 };
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q[NQ];
	struct unvmf_host_error err;
	static uint8_t wbuf[NQ][DEPTH][BS], rbuf[NQ][DEPTH][BS];
	struct io_wait w[NQ] = {0};

	start(false);
	connect_ctrlr(&ctrlr, true);
	for (int i = 0; i < NQ; i++)
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &q[i], &err), 0);
	for (int i = 0; i < NQ; i++) {
		for (int k = 0; k < DEPTH; k++) {
			struct iovec iov = {wbuf[i][k], BS};

			fill(wbuf[i][k], BS, (uint32_t)(i * 1000 + k));
			assert_int_equal(unvmf_host_write(q[i], 1, (uint64_t)(i * DEPTH + k) * 8, 8,
			                                  &iov, 1, io_done, &w[i]),
			                 0);
		}
	}
	for (int i = 0; i < NQ; i++)
		assert_int_equal(wait_n(q[i], &w[i], DEPTH), 0);
	for (int i = 0; i < NQ; i++) {
		for (int k = 0; k < DEPTH; k++) {
			struct iovec iov = {rbuf[i][k], BS};

			assert_int_equal(unvmf_host_read(q[i], 1, (uint64_t)(i * DEPTH + k) * 8, 8,
			                                 &iov, 1, io_done, &w[i]),
			                 0);
		}
	}
	for (int i = 0; i < NQ; i++) {
		assert_int_equal(wait_n(q[i], &w[i], 2 * DEPTH), 0);
		assert_int_equal(w[i].errors, 0);
		assert_memory_equal(rbuf[i], wbuf[i], sizeof(rbuf[i]));
	}
	for (int i = 0; i < NQ; i++)
		unvmf_host_qpair_destroy(q[i]);
	unvmf_host_disconnect(ctrlr);
	stop();
}

/*
 * A host qpair fails with commands outstanding (CM disconnect, or its QP to
 * ERR after the Nth response): everything outstanding is aborted, the
 * qpair reports the error, and a new qpair on the same controller works.
 */
static void run_host_failure(int kind, uint32_t nth)
{
	enum { N = 16, BS = 16384 };
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	struct unvmf_host_error err;
	static uint8_t bufs[N][BS];
	struct io_wait w = {0};
	int rc = 0, submitted = 0;

	start(false);
	connect_ctrlr(&ctrlr, false);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &q, &err), 0);
	if (kind == 1) {
		struct rdma_sim_fault f = {.kind = RDMA_SIM_FAULT_QP_ERR_AFTER,
		                           .opcode = RDMA_PROV_WR_RECV,
		                           .nth = nth,
		                           .qp_num = rdma_provider_get("sim")->qp_num(
		                               ((struct host_rdma_conn *)q->tctx)->qp)};

		assert_true(rdma_sim_fault_add(g_e.fabric, &f) > 0);
	}
	for (int i = 0; i < N; i++) {
		struct iovec iov = {bufs[i], BS};

		if (i % 2)
			rc = unvmf_host_write(q, 1, (uint64_t)i * 32, BS / 512, &iov, 1, io_done,
			                      &w);
		else
			rc =
			    unvmf_host_read(q, 1, (uint64_t)i * 32, BS / 512, &iov, 1, io_done, &w);
		assert_int_equal(rc, 0);
		submitted++;
	}
	if (kind == 0)
		assert_int_equal(
		    rdma_sim_inject_disconnect(((struct host_rdma_conn *)q->tctx)->id, true), 0);
	rc = 0;
	for (int i = 0; i < MAX_POLLS && rc >= 0 && w.done < submitted; i++)
		rc = unvmf_host_qpair_poll(q, 0);
	/* Everything completed, successfully or aborted, and the qpair is failed. */
	assert_int_equal(w.done, submitted);
	if (rc >= 0) {
		for (int i = 0; i < MAX_POLLS && rc >= 0; i++)
			rc = unvmf_host_qpair_poll(q, 0);
	}
	assert_int_equal(rc, -ECONNRESET);
	/* A disconnect may land after the controller answered everything. */
	if (kind == 1)
		assert_true(w.aborted >= 1);
	assert_int_equal(w.errors, w.aborted);
	assert_int_equal(unvmf_host_qpair_outstanding(q), 0);
	unvmf_host_qpair_destroy(q);

	/*
	 * The target tears the old qid down on its reactor, asynchronously: a
	 * Connect of the same qid may still find it in use for a moment.
	 */
	for (uint64_t t0 = rte_now_ms();;) {
		rc = unvmf_host_qpair_create(ctrlr, 0, &q, &err);
		if (rc != -EREMOTEIO || rte_now_ms() - t0 > 2000)
			break;
		for (int i = 0; i < 100; i++)
			progress(&g_e);
	}
	assert_int_equal(rc, 0);
	rw_verify(q, 5000, 65536, 2, 77);
	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	stop();
}

static void test_host_disconnect_midstream(void **state)
{
	run_host_failure(0, 0);
}

static void test_host_qp_err_midstream(void **state)
{
	for (uint32_t nth = 1; nth <= 9; nth += 4)
		run_host_failure(1, nth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identify),
	    cmocka_unit_test(test_rw_srq),
	    cmocka_unit_test(test_rw_no_srq_mr_cache),
	    cmocka_unit_test(test_deep_many_qpairs),
	    cmocka_unit_test(test_host_disconnect_midstream),
	    cmocka_unit_test(test_host_qp_err_midstream),
	};

	unvmf_log_set_level(UNVMF_LOG_WARN);
	/*
	 * RDMA alone: the target's TCP objects are not linked in, whose global
	 * tcp_req_* names collide with the host library's NVMe/TCP ones.
	 */
	unvmf_transport_register(&unvmf_rdma_transport_ops);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
