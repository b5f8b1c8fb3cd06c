/*
 * Compare and fused Compare and Write (src/nvmf/io.c, fused.c,
 * range_lock.c) on an I/O queue of the in-process target: the exact status
 * of each outcome, pairing by submission order whatever the execution order,
 * the lone and failed halves, teardown, and a plain write to the range
 * waiting for the pair that holds it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nvmf_loop.h"

#define ST(sct, sc) NVMF_LOOP_STATUS(sct, sc)
#define OK ST(NVME_SCT_GENERIC, NVME_SC_SUCCESS)
#define CMP_FAIL ST(NVME_SCT_MEDIA_ERROR, NVME_SC_COMPARE_FAILURE)
#define FAILED_FUSED ST(NVME_SCT_GENERIC, NVME_SC_ABORTED_FAILED_FUSED)
#define MISSING_FUSED ST(NVME_SCT_GENERIC, NVME_SC_ABORTED_MISSING_FUSED)
#define BS 512u
#define H2C UNVMF_XFER_HOST_TO_CONTROLLER
#define C2H UNVMF_XFER_CONTROLLER_TO_HOST

static int setup(void **state)
{
	return nvmf_loop_fixture_open(state, NVMF_LOOP_IO);
}

static struct nvme_sqe rw_sqe(uint8_t opc, uint64_t slba, uint32_t nlb, uint8_t fuse)
{
	struct nvme_sqe sqe = {
	    .opc = opc,
	    .fuse = fuse,
	    .nsid = 1,
	    .cdw10 = (uint32_t)slba,
	    .cdw11 = (uint32_t)(slba >> 32),
	    .cdw12 = nlb - 1,
	};

	return sqe;
}

static void fill(uint8_t *b, size_t len, uint8_t v)
{
	memset(b, v, len);
}

static int io(struct nvmf_loop *f, uint8_t opc, uint64_t slba, uint32_t nlb, void *buf)
{
	struct nvme_sqe sqe = rw_sqe(opc, slba, nlb, NVME_FUSE_NORMAL);

	return nvmf_loop_exec(&f->io, &sqe, buf, nlb * BS, opc == NVME_OPC_READ ? C2H : H2C, NULL);
}

/* Steps until r completes; its status as nvmf_loop_exec returns it, or -1. */
static int wait_req(struct nvmf_loop_req *r)
{
	struct nvme_cqe cqe;

	for (unsigned i = 0; i < 1000 && !nvmf_loop_req_done(r, NULL); i++)
		nvmf_loop_step();
	if (!nvmf_loop_req_done(r, &cqe))
		return -1;
	return ST(cqe.status.s.sct, cqe.status.s.sc);
}

static void steps(unsigned n)
{
	while (n--)
		nvmf_loop_step();
}

/* Runs a fused pair in submission order and returns both statuses. */
static void cw(struct nvmf_loop *f, struct nvme_sqe *a, void *abuf, struct nvme_sqe *b, void *bbuf,
               int *sa, int *sb)
{
	struct nvmf_loop_req *r1 = nvmf_loop_arrive(&f->io, a, abuf, (a->cdw12 + 1) * BS, H2C);
	struct nvmf_loop_req *r2 = nvmf_loop_arrive(&f->io, b, bbuf, (b->cdw12 + 1) * BS, H2C);

	nvmf_loop_req_exec(r1);
	nvmf_loop_req_exec(r2);
	*sa = wait_req(r1);
	*sb = wait_req(r2);
	nvmf_loop_req_free(r1);
	nvmf_loop_req_free(r2);
}

static void test_compare(void **state)
{
	struct nvmf_loop *f = *state;
	uint8_t *data = f->buf, *cmp = f->buf + 4096;
	struct nvme_sqe sqe;

	fill(data, 4 * BS, 0x5a);
	assert_int_equal(io(f, NVME_OPC_WRITE, 100, 4, data), OK);
	memcpy(cmp, data, 4 * BS);
	assert_int_equal(io(f, NVME_OPC_COMPARE, 100, 4, cmp), OK);
	/* One byte off in the last block. */
	cmp[4 * BS - 1] ^= 1;
	assert_int_equal(io(f, NVME_OPC_COMPARE, 100, 4, cmp), CMP_FAIL);
	assert_int_equal(io(f, NVME_OPC_COMPARE, 2047, 2, cmp),
	                 ST(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	sqe = rw_sqe(NVME_OPC_COMPARE, 100, 4, 0);
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, cmp, 3 * BS, H2C, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, cmp, 4 * BS, C2H, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
}

static void test_compare_and_write(void **state)
{
	struct nvmf_loop *f = *state;
	uint8_t *old = f->buf, *new = f->buf + 4096, *rd = f->buf + 8192;
	struct nvme_sqe a = rw_sqe(NVME_OPC_COMPARE, 8, 2, NVME_FUSE_FIRST);
	struct nvme_sqe b = rw_sqe(NVME_OPC_WRITE, 8, 2, NVME_FUSE_SECOND);
	int sa, sb;

	fill(old, 2 * BS, 0x11);
	fill(new, 2 * BS, 0x22);
	assert_int_equal(io(f, NVME_OPC_WRITE, 8, 2, old), OK);
	cw(f, &a, old, &b, new, &sa, &sb);
	assert_int_equal(sa, OK);
	assert_int_equal(sb, OK);
	assert_int_equal(io(f, NVME_OPC_READ, 8, 2, rd), OK);
	assert_memory_equal(rd, new, 2 * BS);
	/* The media now holds new: comparing with old fails and the Write is not done. */
	fill(new + 4 * BS, 2 * BS, 0x33);
	cw(f, &a, old, &b, new + 4 * BS, &sa, &sb);
	assert_int_equal(sa, CMP_FAIL);
	assert_int_equal(sb, FAILED_FUSED);
	assert_int_equal(io(f, NVME_OPC_READ, 8, 2, rd), OK);
	assert_memory_equal(rd, new, 2 * BS);
}

static void test_pair_by_submission_order(void **state)
{
	struct nvmf_loop *f = *state;
	uint8_t *old = f->buf, *new = f->buf + 4096, *rd = f->buf + 8192;
	struct nvme_sqe a = rw_sqe(NVME_OPC_COMPARE, 30, 1, NVME_FUSE_FIRST);
	struct nvme_sqe b = rw_sqe(NVME_OPC_WRITE, 30, 1, NVME_FUSE_SECOND);
	struct nvmf_loop_req *r1, *r2;

	fill(old, BS, 0x44);
	fill(new, BS, 0x55);
	assert_int_equal(io(f, NVME_OPC_WRITE, 30, 1, old), OK);
	r1 = nvmf_loop_arrive(&f->io, &a, old, BS, H2C);
	r2 = nvmf_loop_arrive(&f->io, &b, new, BS, H2C);
	/* The Write's data came first (in the capsule, say): it waits for its Compare. */
	nvmf_loop_req_exec(r2);
	steps(10);
	assert_false(nvmf_loop_req_done(r2, NULL));
	nvmf_loop_req_exec(r1);
	assert_int_equal(wait_req(r1), OK);
	assert_int_equal(wait_req(r2), OK);
	nvmf_loop_req_free(r1);
	nvmf_loop_req_free(r2);
	assert_int_equal(io(f, NVME_OPC_READ, 30, 1, rd), OK);
	assert_memory_equal(rd, new, BS);
}

static void test_missing_halves(void **state)
{
	struct nvmf_loop *f = *state;
	uint8_t *buf = f->buf, *rd = f->buf + 8192;
	struct nvme_sqe a = rw_sqe(NVME_OPC_COMPARE, 40, 1, NVME_FUSE_FIRST);
	struct nvme_sqe b = rw_sqe(NVME_OPC_WRITE, 40, 1, NVME_FUSE_SECOND);
	struct nvme_sqe rdq = rw_sqe(NVME_OPC_READ, 40, 1, NVME_FUSE_NORMAL);
	struct nvmf_loop_req *r1, *r2;

	/* A SECOND with no FIRST before it. */
	assert_int_equal(nvmf_loop_exec(&f->io, &b, buf, BS, H2C, NULL), MISSING_FUSED);
	/* A FIRST executed and held, then a plain command arrives: the FIRST is alone. */
	r1 = nvmf_loop_arrive(&f->io, &a, buf, BS, H2C);
	nvmf_loop_req_exec(r1);
	steps(5);
	assert_false(nvmf_loop_req_done(r1, NULL));
	assert_int_equal(nvmf_loop_exec(&f->io, &rdq, rd, BS, C2H, NULL), OK);
	assert_int_equal(wait_req(r1), MISSING_FUSED);
	nvmf_loop_req_free(r1);
	/* A FIRST not yet executed when its successor turns out not to be a SECOND. */
	r1 = nvmf_loop_arrive(&f->io, &a, buf, BS, H2C);
	r2 = nvmf_loop_arrive(&f->io, &rdq, rd, BS, C2H);
	nvmf_loop_req_exec(r2);
	assert_int_equal(wait_req(r2), OK);
	nvmf_loop_req_exec(r1);
	assert_int_equal(wait_req(r1), MISSING_FUSED);
	nvmf_loop_req_free(r1);
	nvmf_loop_req_free(r2);
	/* Two FIRSTs in a row: the first one is alone, the second pairs with what follows. */
	r1 = nvmf_loop_arrive(&f->io, &a, buf, BS, H2C);
	r2 = nvmf_loop_arrive(&f->io, &a, buf, BS, H2C);
	nvmf_loop_req_exec(r1);
	assert_int_equal(wait_req(r1), MISSING_FUSED);
	nvmf_loop_req_free(r1);
	r1 = nvmf_loop_arrive(&f->io, &b, buf, BS, H2C);
	nvmf_loop_req_exec(r2);
	nvmf_loop_req_exec(r1);
	assert_int_equal(wait_req(r2), OK);
	assert_int_equal(wait_req(r1), OK);
	nvmf_loop_req_free(r1);
	nvmf_loop_req_free(r2);
}

static void test_invalid_pairs(void **state)
{
	struct nvmf_loop *f = *state;
	uint8_t *old = f->buf, *new = f->buf + 4096, *rd = f->buf + 8192;
	struct nvme_sqe a = rw_sqe(NVME_OPC_COMPARE, 50, 2, NVME_FUSE_FIRST);
	struct nvme_sqe b = rw_sqe(NVME_OPC_WRITE, 51, 2, NVME_FUSE_SECOND);
	struct nvmf_loop_req *r1, *r2;
	int sa, sb;

	fill(old, 4 * BS, 0x66);
	fill(new, 4 * BS, 0x77);
	assert_int_equal(io(f, NVME_OPC_WRITE, 50, 3, old), OK);
	/* Different LBA ranges. */
	cw(f, &a, old, &b, new, &sa, &sb);
	assert_int_equal(sa, ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	assert_int_equal(sb, FAILED_FUSED);
	/* Different lengths. */
	b = rw_sqe(NVME_OPC_WRITE, 50, 1, NVME_FUSE_SECOND);
	cw(f, &a, old, &b, new, &sa, &sb);
	assert_int_equal(sa, ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	assert_int_equal(sb, FAILED_FUSED);
	/* Only Compare then Write may be fused. */
	a = rw_sqe(NVME_OPC_WRITE, 50, 2, NVME_FUSE_FIRST);
	b = rw_sqe(NVME_OPC_WRITE, 50, 2, NVME_FUSE_SECOND);
	cw(f, &a, new, &b, new, &sa, &sb);
	assert_int_equal(sa, ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	assert_int_equal(sb, FAILED_FUSED);
	/* The Compare out of range. */
	a = rw_sqe(NVME_OPC_COMPARE, 2047, 2, NVME_FUSE_FIRST);
	b = rw_sqe(NVME_OPC_WRITE, 2047, 2, NVME_FUSE_SECOND);
	cw(f, &a, old, &b, new, &sa, &sb);
	assert_int_equal(sa, ST(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	assert_int_equal(sb, FAILED_FUSED);
	/* The Write's data shorter than its range: the Write fails, the Compare with it. */
	a = rw_sqe(NVME_OPC_COMPARE, 50, 2, NVME_FUSE_FIRST);
	b = rw_sqe(NVME_OPC_WRITE, 50, 2, NVME_FUSE_SECOND);
	r1 = nvmf_loop_arrive(&f->io, &a, old, 2 * BS, H2C);
	r2 = nvmf_loop_arrive(&f->io, &b, new, BS, H2C);
	nvmf_loop_req_exec(r1);
	nvmf_loop_req_exec(r2);
	assert_int_equal(wait_req(r1), FAILED_FUSED);
	assert_int_equal(wait_req(r2), ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	nvmf_loop_req_free(r1);
	nvmf_loop_req_free(r2);
	/* Nothing was written. */
	assert_int_equal(io(f, NVME_OPC_READ, 50, 3, rd), OK);
	assert_memory_equal(rd, old, 3 * BS);
	/* No fused command on the admin queue. */
	a.nsid = 0;
	assert_int_equal(nvmf_loop_exec(&f->admin, &a, old, 2 * BS, H2C, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
}

static void test_write_waits_for_pair(void **state)
{
	struct nvmf_loop *f = *state;
	uint8_t *old = f->buf, *new = f->buf + 2048, *plain = f->buf + 4096, *rd = f->buf + 8192;
	struct nvme_sqe a = rw_sqe(NVME_OPC_COMPARE, 60, 4, NVME_FUSE_FIRST);
	struct nvme_sqe b = rw_sqe(NVME_OPC_WRITE, 60, 4, NVME_FUSE_SECOND);
	struct nvme_sqe w = rw_sqe(NVME_OPC_WRITE, 62, 4, NVME_FUSE_NORMAL);
	struct nvmf_loop_req *r1, *r2, *r3;

	fill(old, 4 * BS, 0x81);
	fill(new, 4 * BS, 0x82);
	fill(plain, 4 * BS, 0x83);
	assert_int_equal(io(f, NVME_OPC_WRITE, 60, 4, old), OK);
	r1 = nvmf_loop_arrive(&f->io, &a, old, 4 * BS, H2C);
	r2 = nvmf_loop_arrive(&f->io, &b, new, 4 * BS, H2C);
	r3 = nvmf_loop_arrive(&f->io, &w, plain, 4 * BS, H2C);
	/* The pair holds 60..63 while its Compare reads; the write of 62..65 waits. */
	nvmf_loop_req_exec(r1);
	nvmf_loop_req_exec(r2);
	nvmf_loop_req_exec(r3);
	assert_int_equal(wait_req(r3), OK);
	assert_int_equal(wait_req(r1), OK);
	assert_int_equal(wait_req(r2), OK);
	nvmf_loop_req_free(r1);
	nvmf_loop_req_free(r2);
	nvmf_loop_req_free(r3);
	/* Ordered after the pair: its data is on 62..65, the pair's on 60..61. */
	assert_int_equal(io(f, NVME_OPC_READ, 60, 6, rd), OK);
	assert_memory_equal(rd, new, 2 * BS);
	assert_memory_equal(rd + 2 * BS, plain, 4 * BS);
}

static void test_teardown_with_held_half(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *q = nvmf_loop_qpair_spare(f);
	struct nvme_sqe a = rw_sqe(NVME_OPC_COMPARE, 70, 1, NVME_FUSE_FIRST);
	struct nvme_sqe b = rw_sqe(NVME_OPC_WRITE, 70, 1, NVME_FUSE_SECOND);
	struct nvmf_loop_req *r1, *r2;

	assert_non_null(q);
	assert_int_equal(nvmf_loop_io_open(f, q, 2, f->cntlid), 0);
	r1 = nvmf_loop_arrive(q, &a, f->buf, BS, H2C);
	r2 = nvmf_loop_arrive(q, &b, f->buf, BS, H2C);
	nvmf_loop_req_exec(r1);
	steps(5);
	assert_false(nvmf_loop_req_done(r1, NULL));
	/* The Write's data never comes: the queue goes, the held Compare with it. */
	assert_int_equal(nvmf_loop_qpair_close(q), 0);
	assert_int_equal(wait_req(r1), ST(NVME_SCT_GENERIC, NVME_SC_ABORTED_SQ_DELETION));
	assert_false(nvmf_loop_req_done(r2, NULL));
	nvmf_loop_req_free(r1);
	nvmf_loop_req_free(r2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_compare, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_compare_and_write, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_pair_by_submission_order, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_missing_halves, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_invalid_pairs, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_write_waits_for_pair, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_teardown_with_held_half, setup,
	                                    nvmf_loop_fixture_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
