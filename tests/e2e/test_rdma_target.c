/*
 * NVMe/RDMA target end to end over the sim fabric, host played at the
 * provider seam (rdma_test_env.h): CM private data, identify, read/write
 * verify from 512 B to max_io_size with every SGL form, RDMA READ depth 1
 * (a large write needs many READ batches), SRQ and per-QP receive queues,
 * many qpairs, CM rejects, and the error counters in the stats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "rdma_test_env.h"

static struct rte g_e;
static struct rte_host g_h;
static struct rte_qp g_admin;

static void start(bool no_srq, uint64_t cpumask)
{
	struct unvmf_transport_opts o;

	rte_opts_default(&o);
	unvmf_rdma_opts(&o)->no_srq = no_srq;
	assert_int_equal(rte_start(&g_e, &o, cpumask, 42), 0);
	assert_int_equal(rte_host_init(&g_h, &g_e), 0);
	assert_int_equal(rte_ctrlr_connect(&g_h, &g_admin), 0);
}

static void stop(void)
{
	rte_qp_close(&g_admin);
	rte_host_fini(&g_h);
	assert_int_equal(rte_stop(&g_e), 0);
}

static void identify_ctrlr(struct rte_qp *admin, struct nvme_id_ctrl *cd)
{
	struct nvme_sqe sqe = {.opc = NVME_OPC_IDENTIFY, .cdw10 = 1};
	struct nvme_cqe cqe;

	assert_int_equal(rte_qp_exec(admin, &sqe, cd, sizeof(*cd), false, RTE_SGL_KEYED, &cqe), 0);
}

static void test_connect_identify(void **state)
{
	struct nvme_id_ctrl cd;
	struct nvme_id_ns ns;
	struct nvme_sqe sqe = {.opc = NVME_OPC_IDENTIFY, .nsid = 1, .cdw10 = 0};
	struct nvme_cqe cqe;

	start(false, 0x1);
	assert_int_equal(g_admin.crqsize, 32);
	identify_ctrlr(&g_admin, &cd);
	assert_memory_equal(cd.subnqn, RTE_SUBNQN, sizeof(RTE_SUBNQN));
	assert_int_equal(cd.cntlid, g_h.cntlid);
	assert_int_equal(cd.ioccsz, (64 + 4096) / 16);
	assert_int_equal(cd.msdbd, 16);
	assert_true(cd.sgls & NVME_SGLS_KEYED);
	assert_int_equal(
	    rte_qp_exec(&g_admin, &sqe, &ns, sizeof(ns), false, RTE_SGL_KEYED_INV, &cqe), 0);
	assert_int_equal(ns.nsze, RTE_NS_BLOCKS);
	/* The response came as SEND with Invalidate of the key we asked for. */
	assert_true(g_admin.slots[0].invalidated);
	stop();
}

static void rw_verify(struct rte_qp *q, enum rte_sgl wmode, enum rte_sgl rmode, uint64_t lba0)
{
	static const uint32_t sizes[] = {512, 4096, 8192, 12288, 65536, 131072};
	uint8_t *want = malloc(RTE_MAX_IO), *got = malloc(RTE_MAX_IO);

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t len = sizes[i];
		uint64_t lba = lba0 + i * 512;
		struct nvme_sqe sqe;
		struct nvme_cqe cqe;
		enum rte_sgl w = wmode == RTE_SGL_ICD && len > 4096 ? RTE_SGL_KEYED : wmode;

		rte_pattern(want, len, (uint32_t)(lba + wmode * 13 + rmode));
		rte_rw_sqe(&sqe, true, lba, len / 512);
		assert_int_equal(rte_qp_exec(q, &sqe, want, len, true, w, &cqe), 0);
		memset(got, 0xee, len);
		rte_rw_sqe(&sqe, false, lba, len / 512);
		assert_int_equal(rte_qp_exec(q, &sqe, got, len, false, rmode, &cqe), 0);
		assert_memory_equal(want, got, len);
	}
	free(want);
	free(got);
}

static void read_write_all_forms(bool no_srq)
{
	struct rte_qp q;

	start(no_srq, 0x1);
	/* Read depth 1: a 128 KiB write is 16 READs of io_unit_size, posted one at a time. */
	assert_int_equal(rte_io_connect(&g_h, &q, 1, 32, 1), 0);
	rw_verify(&q, RTE_SGL_KEYED, RTE_SGL_KEYED, 0);
	rw_verify(&q, RTE_SGL_ICD, RTE_SGL_KEYED_INV, 10000);
	rw_verify(&q, RTE_SGL_MULTI, RTE_SGL_MULTI, 20000);
	rw_verify(&q, RTE_SGL_KEYED_INV, RTE_SGL_MULTI, 30000);
	{
		json_t *st = rte_stats();
		json_t *qs = rte_qpair_stats(st, g_h.cntlid, 1);

		/* 4 passes x (1+1+1+2+8+16 READs of io_unit_size, 4 KiB in-capsule: none). */
		assert_non_null(qs);
		assert_int_equal(json_integer_value(json_object_get(qs, "read_depth")), 1);
		assert_true(rte_stat_sum(st, "reads_posted") >= 3 * 29);
		assert_int_equal(rte_stat_sum(st, "req_cqe_error"), 0);
		assert_int_equal(rte_stat_sum(st, "req_cqe_flush_error"), 0);
		/* A write of 16 READs at depth 1 went back to PENDING_READ between batches. */
		assert_true(rte_state_saw(st, "TRANSFERRING_HOST_TO_CONTROLLER", "READ_DONE"));
		json_decref(st);
	}
	rte_qp_close(&q);
	stop();
}

static void test_read_write_srq(void **state)
{
	read_write_all_forms(false);
}

static void test_read_write_no_srq(void **state)
{
	read_write_all_forms(true);
}

/* Many qpairs over two reactors, commands at depth on each. */
static void test_many_qpairs(void **state)
{
	enum { NQ = 16, DEPTH = 8 };
	static struct rte_qp qs[NQ];
	uint8_t *want = malloc(65536);

	start(false, 0x3);
	/* Completions delayed and interleaved across QPs (RC order within each queue). */
	rdma_sim_fabric_set_delays(g_e.fabric, 2, 3);
	for (int i = 0; i < NQ; i++)
		assert_int_equal(
		    rte_io_connect(&g_h, &qs[i], (uint16_t)(i + 1), 16, (uint8_t)(1 + i % 4)), 0);
	for (int round = 0; round < 2; round++) {
		bool write = round == 0;

		for (int i = 0; i < NQ; i++) {
			for (uint16_t c = 0; c < DEPTH; c++) {
				struct nvme_sqe sqe;
				uint32_t len = 4096u << (c % 5);
				uint64_t lba = (uint64_t)(i * DEPTH + c) * 256;

				if (write)
					rte_pattern(rte_slot_data(&qs[i], c), len, (uint32_t)lba);
				else
					memset(rte_slot_data(&qs[i], c), 0, len);
				rte_rw_sqe(&sqe, write, lba, len / 512);
				assert_int_equal(
				    rte_qp_submit(&qs[i], c, &sqe, len, write,
				                  c % 2 ? RTE_SGL_MULTI : RTE_SGL_KEYED),
				    0);
			}
		}
		for (int i = 0; i < NQ; i++) {
			for (uint16_t c = 0; c < DEPTH; c++) {
				struct nvme_cqe cqe;
				uint32_t len = 4096u << (c % 5);

				assert_int_equal(rte_qp_wait(&qs[i], c, &cqe), 0);
				assert_int_equal(cqe.status.raw & 0xfffe, 0);
				if (!write) {
					rte_pattern(want, len, (uint32_t)((i * DEPTH + c) * 256));
					assert_memory_equal(want, rte_slot_data(&qs[i], c), len);
				}
			}
		}
	}
	for (int i = 0; i < NQ; i++)
		rte_qp_close(&qs[i]);
	free(want);
	stop();
}

static void test_cm_rejects(void **state)
{
	struct rte_qp q;

	start(false, 0x1);
	/* A host that accepts no RDMA READ could never write: rejected with its reason. */
	assert_int_equal(rte_qp_connect(&g_h, &q, 1, 16, 0), -ECONNREFUSED);
	assert_int_equal(q.reject_sts, NVMF_RDMA_CM_INVALID_IRD);
	rte_qp_free(&q);
	/* A queue deeper than max_queue_depth is clamped, and crqsize says so. */
	assert_int_equal(rte_qp_connect(&g_h, &q, 1, 1024, 4), 0);
	assert_int_equal(q.crqsize, 128);
	rte_qp_close(&q);
	stop();
}

static void test_bad_sgl_status(void **state)
{
	struct rte_qp q;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint8_t *buf = calloc(1, RTE_MAX_IO);

	start(false, 0x1);
	assert_int_equal(rte_io_connect(&g_h, &q, 1, 16, 4), 0);
	/* In-capsule data for a read is refused with a status; the qpair lives on. */
	rte_rw_sqe(&sqe, false, 0, 8);
	assert_int_equal(rte_qp_exec(&q, &sqe, buf, 4096, false, RTE_SGL_ICD, &cqe), -EREMOTEIO);
	assert_int_equal(cqe.status.s.sc, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	rte_rw_sqe(&sqe, true, 0, 8);
	assert_int_equal(rte_qp_exec(&q, &sqe, buf, 4096, true, RTE_SGL_KEYED, &cqe), 0);
	rte_qp_close(&q);
	free(buf);
	stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_identify),  cmocka_unit_test(test_read_write_srq),
	    cmocka_unit_test(test_read_write_no_srq), cmocka_unit_test(test_many_qpairs),
	    cmocka_unit_test(test_cm_rejects),        cmocka_unit_test(test_bad_sgl_status),
	};

	unvmf_log_set_level(UNVMF_LOG_WARN);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
