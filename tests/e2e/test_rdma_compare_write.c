/*
 * Compare and fused Compare and Write over NVMe/RDMA: the host library against
 * the real RDMA transport in this process over the sim fabric
 * (rdma_test_env.h). The pair's data comes in the capsule (512 B) or by RDMA
 * READ (8 KiB, keyed SGL), so the transport executes the halves whenever their
 * data is in; the core pairs them by arrival (unvmf_req_fused_arrive from the
 * transport's parse). Statuses as the host sees them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>

#include "rdma_test_env.h"
#include "transport/rdma/rdma_opts.h"
#include "unvmf/host.h"

#define MAX_POLLS 2000000
#define ST(sct, sc) (((sct) << 8) | (sc))

static struct rte g_e;

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

struct done {
	int n;
	int st[4];
};

static void cb(void *arg, const struct nvme_cqe *cqe)
{
	struct done *d = arg;

	d->st[d->n++] = ST(cqe->status.s.sct, cqe->status.s.sc);
}

static void wait_n(struct unvmf_host_qpair *q, struct done *d, int n)
{
	for (int i = 0; i < MAX_POLLS && d->n < n; i++)
		assert_true(unvmf_host_qpair_poll(q, 0) >= 0);
	assert_int_equal(d->n, n);
}

static void submit(struct unvmf_host_qpair *q, uint8_t opc, uint8_t fuse, uint64_t lba,
                   uint32_t nlb, void *buf, struct done *d)
{
	struct nvme_sqe sqe = {0};
	struct iovec iov = {.iov_base = buf, .iov_len = (size_t)nlb * 512};

	sqe.opc = opc;
	sqe.fuse = fuse;
	sqe.nsid = 1;
	sqe.cdw10 = (uint32_t)lba;
	sqe.cdw11 = (uint32_t)(lba >> 32);
	sqe.cdw12 = nlb - 1;
	assert_int_equal(unvmf_host_submit_cmd(q, &sqe, &iov, 1, cb, d), 0);
}

/* A pair; st[0] the Compare's status, st[1] the Write's (completion order may differ). */
static void cw(struct unvmf_host_qpair *q, uint64_t lba, uint32_t nlb, void *cmp, void *wr, int *sc,
               int *sw)
{
	struct done dc = {0}, dw = {0};

	submit(q, NVME_OPC_COMPARE, NVME_FUSE_FIRST, lba, nlb, cmp, &dc);
	submit(q, NVME_OPC_WRITE, NVME_FUSE_SECOND, lba, nlb, wr, &dw);
	wait_n(q, &dc, 1);
	wait_n(q, &dw, 1);
	*sc = dc.st[0];
	*sw = dw.st[0];
}

static void test_compare_and_write_rdma(void **state)
{
	struct unvmf_transport_opts o;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q = NULL;
	static uint8_t old[8192], new[8192], rd[8192];
	struct done d = {0};
	int sc, sw;

	rte_opts_default(&o);
	assert_int_equal(rte_start(&g_e, &o, 0x3, 11), 0);
	ctrlr = connect_ctrlr();
	assert_true(unvmf_host_ctrlr_data(ctrlr)->fuses & NVME_FUSES_COMPARE_AND_WRITE);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &q, NULL), 0);
	memset(old, 0x3c, sizeof(old));
	memset(new, 0xc3, sizeof(new));
	submit(q, NVME_OPC_WRITE, 0, 64, 16, old, &d);
	wait_n(q, &d, 1);
	assert_int_equal(d.st[0], 0);
	/* By RDMA READ (8 KiB), then in the capsule (512 B). */
	cw(q, 64, 16, old, new, &sc, &sw);
	assert_int_equal(sc, 0);
	assert_int_equal(sw, 0);
	cw(q, 64, 16, old, new, &sc, &sw);
	assert_int_equal(sc, ST(NVME_SCT_MEDIA_ERROR, NVME_SC_COMPARE_FAILURE));
	assert_int_equal(sw, ST(NVME_SCT_GENERIC, NVME_SC_ABORTED_FAILED_FUSED));
	cw(q, 64, 1, new, old, &sc, &sw);
	assert_int_equal(sc, 0);
	assert_int_equal(sw, 0);
	memset(&d, 0, sizeof(d));
	submit(q, NVME_OPC_READ, 0, 64, 16, rd, &d);
	wait_n(q, &d, 1);
	assert_int_equal(d.st[0], 0);
	assert_memory_equal(rd, old, 512);
	assert_memory_equal(rd + 512, new + 512, sizeof(rd) - 512);
	/* A lone SECOND. */
	memset(&d, 0, sizeof(d));
	submit(q, NVME_OPC_WRITE, NVME_FUSE_SECOND, 64, 1, new, &d);
	wait_n(q, &d, 1);
	assert_int_equal(d.st[0], ST(NVME_SCT_GENERIC, NVME_SC_ABORTED_MISSING_FUSED));
	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	assert_int_equal(rte_stop(&g_e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compare_and_write_rdma),
	};

	unvmf_log_set_level(UNVMF_LOG_WARN);
	/* RDMA alone, as the other in-process RDMA benches register it. */
	unvmf_transport_register(&unvmf_rdma_transport_ops);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
