/*
 * Volatile Write Cache disabled (Set Features VWC, WCE=0): every write and
 * Write Zeroes reaches the backend's FLUSH before it completes, and only
 * then. The target runs in this process (rdma_test_env.h, host library over
 * the sim fabric) so the test can see what the core submits to the bdev: the
 * namespace's RAM bdev gets a counting ops table in front of its own and is
 * marked as having a volatile cache. The core path is the transport's seam's
 * other side, so what holds here holds for TCP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>

#include "rdma_test_env.h"
#include "e2e_util.h"
#include "unvmf/host.h"

#include "transport/rdma/rdma_opts.h"

static struct rte g_e;
static const struct unvmf_bdev_ops *g_inner;
static struct unvmf_bdev_ops g_counting;
static atomic_uint g_submits[8];	/* by enum unvmf_bdev_io_type */
static atomic_int g_last_type = -1;

static void counting_submit(struct unvmf_bdev *bdev, void *ch_ctx, struct unvmf_bdev_io *io)
{
	atomic_fetch_add(&g_submits[io->type], 1);
	atomic_store(&g_last_type, (int)io->type);
	g_inner->submit(bdev, ch_ctx, io);
}

static void progress(void *arg)
{
	rdma_sim_fabric_step(((struct rte *)arg)->fabric);
	sched_yield();
}

static struct unvmf_host_ctrlr *connect_ctrlr(void)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_opts o;
	struct unvmf_trid t;

	assert_int_equal(
	    unvmf_trid_parse(&t, "trtype:RDMA traddr:sim:tgt trsvcid:4420 subnqn:" RTE_SUBNQN), 0);
	unvmf_host_opts_init(&o);
	strcpy(o.rdma_provider, "sim");
	o.rdma_provider_arg = g_e.hnode;
	o.rdma_progress = progress;
	o.rdma_progress_arg = &g_e;
	o.kato_ms = 0;
	o.connect_timeout_ms = RTE_TIMEOUT_MS;
	o.admin_timeout_ms = RTE_TIMEOUT_MS;
	assert_int_equal(unvmf_host_connect(&t, &o, &ctrlr, NULL), 0);
	return ctrlr;
}

static unsigned submits(enum unvmf_bdev_io_type type)
{
	return atomic_load(&g_submits[type]);
}

static void write_and_check(struct unvmf_host_qpair *qp, uint64_t lba, unsigned want_flushes)
{
	uint8_t buf[4096];
	unsigned flushes = submits(UNVMF_BDEV_IO_FLUSH), writes = submits(UNVMF_BDEV_IO_WRITE);

	memset(buf, (int)lba, sizeof(buf));
	assert_int_equal(e2e_write(qp, 1, lba, 8, buf, sizeof(buf)), 0);
	assert_int_equal(submits(UNVMF_BDEV_IO_WRITE), writes + 1);
	assert_int_equal(submits(UNVMF_BDEV_IO_FLUSH), flushes + want_flushes);
	/* The flush came after the write, before its completion reached us. */
	assert_int_equal(atomic_load(&g_last_type),
			 want_flushes ? UNVMF_BDEV_IO_FLUSH : UNVMF_BDEV_IO_WRITE);
}

static void test_wce0_flushes_writes(void **state)
{
	struct unvmf_transport_opts o;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_bdev *bdev;
	struct e2e_io io = {0};
	uint32_t dw0 = 0;

	rte_opts_default(&o);
	assert_int_equal(rte_start(&g_e, &o, 0x3, 11), 0);
	/*
	 * No channel is open before the host connects; the sim's fabric lock
	 * orders these stores before the target's first submit.
	 */
	bdev = unvmf_bdev_find("Malloc0");
	assert_non_null(bdev);
	g_inner = bdev->ops;
	g_counting = *g_inner;
	g_counting.submit = counting_submit;
	bdev->ops = &g_counting;
	bdev->volatile_cache = true;

	ctrlr = connect_ctrlr();
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	/* WCE=1 (default): writes are cached, Flush is the host's business. */
	write_and_check(qp, 0, 0);
	assert_int_equal(unvmf_host_set_features(ctrlr, NVME_FEAT_VOLATILE_WRITE_CACHE, 0, 0, NULL, 0,
						 NULL), 0);
	assert_int_equal(unvmf_host_get_features(ctrlr, NVME_FEAT_VOLATILE_WRITE_CACHE, 0, NULL, 0,
						 &dw0), 0);
	assert_int_equal(dw0, 0);
	write_and_check(qp, 8, 1);
	write_and_check(qp, 16, 1);
	{
		unsigned flushes = submits(UNVMF_BDEV_IO_FLUSH);

		assert_int_equal(unvmf_host_write_zeroes(qp, 1, 24, 8, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, RTE_TIMEOUT_MS), 0);
		assert_int_equal(submits(UNVMF_BDEV_IO_FLUSH), flushes + 1);
	}
	/* Reads are untouched. */
	{
		uint8_t buf[4096];
		unsigned flushes = submits(UNVMF_BDEV_IO_FLUSH);

		assert_int_equal(e2e_read(qp, 1, 8, 8, buf, sizeof(buf)), 0);
		assert_int_equal(buf[0], 8);
		assert_int_equal(submits(UNVMF_BDEV_IO_FLUSH), flushes);
	}
	/* A backend without a volatile cache is durable at once: no flush. */
	bdev->volatile_cache = false;
	write_and_check(qp, 32, 0);
	bdev->volatile_cache = true;
	/* Back to WCE=1. */
	assert_int_equal(unvmf_host_set_features(ctrlr, NVME_FEAT_VOLATILE_WRITE_CACHE, 1, 0, NULL, 0,
						 NULL), 0);
	write_and_check(qp, 40, 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	assert_int_equal(rte_stop(&g_e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wce0_flushes_writes),
	};

	unvmf_log_set_level(UNVMF_LOG_WARN);
	/* RDMA alone: the target's TCP objects would collide with the host library's. */
	unvmf_transport_register(&unvmf_rdma_transport_ops);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
