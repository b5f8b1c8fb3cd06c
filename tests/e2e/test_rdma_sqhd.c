/*
 * Every response the RDMA target sends goes through the core's completion,
 * also those of commands the transport refuses itself: a bad SGL (a read
 * described as in-capsule data) and an Abort of a command still waiting for
 * data buffers. Each such response must move SQHD on by one like any other,
 * be counted as an error and land in the Error Information log; before, the
 * transport built them by hand and repeated the last SQHD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rdma_test_env.h"

static struct rte g_e;
static struct rte_host g_h;
static struct rte_qp g_admin, g_io;

#define IO_QSIZE 16
#define ADMIN_QSIZE 16

static uint64_t qpair_in_state(uint16_t qid, const char *state)
{
	json_t *st = rte_stats();
	uint64_t n = rte_qpair_in_state(rte_qpair_stats(st, g_h.cntlid, qid), state);

	json_decref(st);
	return n;
}

/* Steps the fabric until the I/O qpair has a request in state (the target cannot move alone). */
static bool step_until_in(const char *state)
{
	for (int step = 0; step < 200; step++) {
		for (int tries = 0; tries < 50; tries++) {
			if (qpair_in_state(1, state) > 0)
				return true;
			usleep(1000);
		}
		rte_pump(&g_h);
	}
	return false;
}

static uint16_t next_sqhd(uint16_t sqhd, uint16_t qsize)
{
	return (uint16_t)((sqhd + 1) % qsize);
}

/* Runs one command on q as cid and returns its response. */
static struct nvme_cqe run(struct rte_qp *q, uint16_t cid, const struct nvme_sqe *sqe, uint32_t len,
                           bool host_to_ctrl, enum rte_sgl mode)
{
	struct nvme_cqe cqe;

	assert_int_equal(rte_qp_submit(q, cid, sqe, len, host_to_ctrl, mode), 0);
	assert_int_equal(rte_qp_wait(q, cid, &cqe), 0);
	return cqe;
}

static void test_sqhd_on_every_response(void **state)
{
	struct unvmf_transport_opts o;
	struct nvme_sqe sqe, abort_sqe = {.opc = NVME_OPC_ABORT};
	struct nvme_sqe kalive = {.opc = NVME_OPC_KEEP_ALIVE};
	struct nvme_cqe cqe, io_cqe[3];
	struct nvme_error_log_entry *log;
	uint16_t io_sqhd, admin_sqhd, seen = 0;
	bool abort_logged = false, sgl_logged = false;

	rte_opts_default(&o);
	/* 40 buffers of 8 KiB: two 128 KiB writes hold 32, the third waits for buffers. */
	o.num_shared_buffers = 40;
	o.buf_cache_size = 4;
	assert_int_equal(rte_start(&g_e, &o, 0x1, 11), 0);
	assert_int_equal(rte_host_init(&g_h, &g_e), 0);
	assert_int_equal(rte_ctrlr_connect(&g_h, &g_admin), 0);
	assert_int_equal(rte_io_connect(&g_h, &g_io, 1, IO_QSIZE, 4), 0);

	/* Where each queue's head is now (the Connect and the enable took some). */
	cqe = run(&g_admin, 1, &kalive, 0, false, RTE_SGL_KEYED);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	admin_sqhd = cqe.sqhd;
	rte_rw_sqe(&sqe, false, 0, 8);
	cqe = run(&g_io, 5, &sqe, 4096, false, RTE_SGL_KEYED);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	io_sqhd = cqe.sqhd;
	assert_int_equal(io_sqhd, 2); /* Connect 1, this read 2 */

	/* Bad SGL: a read whose data is said to be in the capsule. */
	rte_rw_sqe(&sqe, false, 0, 1);
	cqe = run(&g_io, 3, &sqe, 512, false, RTE_SGL_ICD);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(cqe.status.s.sc, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	assert_int_equal(cqe.status.s.m, 1); /* the Error Information log has it */
	assert_int_equal(cqe.cid, 3);
	assert_int_equal(cqe.sqid, 1);
	io_sqhd = next_sqhd(io_sqhd, IO_QSIZE);
	assert_int_equal(cqe.sqhd, io_sqhd);

	/* Abort of a write waiting for buffers: cid 2 never gets any. */
	for (uint16_t c = 0; c < 3; c++) {
		rte_pattern(rte_slot_data(&g_io, c), RTE_MAX_IO, c);
		rte_rw_sqe(&sqe, true, c * 256u, RTE_MAX_IO / 512);
		assert_int_equal(rte_qp_submit(&g_io, c, &sqe, RTE_MAX_IO, true, RTE_SGL_KEYED), 0);
	}
	assert_true(step_until_in("NEED_BUFFER"));
	abort_sqe.cdw10 = 1u | (2u << 16); /* sqid 1, cid 2 */
	cqe = run(&g_admin, 2, &abort_sqe, 0, false, RTE_SGL_KEYED);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0 & 1, 0); /* aborted */
	admin_sqhd = next_sqhd(admin_sqhd, ADMIN_QSIZE);
	assert_int_equal(cqe.sqhd, admin_sqhd);
	for (uint16_t c = 0; c < 3; c++)
		assert_int_equal(rte_qp_wait(&g_io, c, &io_cqe[c]), 0);
	assert_int_equal(io_cqe[0].status.raw & 0xfffe, 0);
	assert_int_equal(io_cqe[1].status.raw & 0xfffe, 0);
	assert_int_equal(io_cqe[2].status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(io_cqe[2].status.s.sc, NVME_SC_ABORTED_BY_REQUEST);
	assert_int_equal(io_cqe[2].cid, 2);
	/* The three came back in some order: together they took the next three heads. */
	for (uint16_t c = 0; c < 3; c++) {
		uint16_t k = (uint16_t)((io_cqe[c].sqhd + IO_QSIZE - io_sqhd) % IO_QSIZE);

		assert_true(k >= 1 && k <= 3);
		assert_int_equal(seen & (1u << k), 0);
		seen |= (uint16_t)(1u << k);
	}
	io_sqhd = (uint16_t)((io_sqhd + 3) % IO_QSIZE);
	rte_rw_sqe(&sqe, false, 0, 8);
	cqe = run(&g_io, 4, &sqe, 4096, false, RTE_SGL_KEYED);
	assert_int_equal(cqe.sqhd, next_sqhd(io_sqhd, IO_QSIZE));

	/* Both refusals are in the Error Information log of queue 1 and in the error counts. */
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_GET_LOG_PAGE;
	sqe.cdw10 = 0x01 | ((uint32_t)(sizeof(*log) * 8 / 4 - 1) << 16);
	cqe = run(&g_admin, 3, &sqe, sizeof(*log) * 8, false, RTE_SGL_KEYED);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	log = (struct nvme_error_log_entry *)rte_slot_data(&g_admin, 3);
	for (int i = 0; i < 8 && log[i].error_count; i++) {
		if (log[i].sqid != 1)
			continue;
		abort_logged |=
		    log[i].cid == 2 && ((log[i].status >> 1) & 0xff) == NVME_SC_ABORTED_BY_REQUEST;
		sgl_logged |= log[i].cid == 3 &&
		              ((log[i].status >> 1) & 0xff) == NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID;
	}
	assert_true(abort_logged);
	assert_true(sgl_logged);

	rte_qp_close(&g_io);
	rte_qp_close(&g_admin);
	rte_host_fini(&g_h);
	assert_int_equal(rte_stop(&g_e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sqhd_on_every_response),
	};

	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_transports_register_all();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
