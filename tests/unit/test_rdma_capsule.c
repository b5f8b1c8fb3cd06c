/*
 * NVMe/RDMA capsule parsing and transfer planning (rdma_capsule.c): every SGL
 * form the target accepts, every one it refuses with a status, and how a
 * transfer is cut into one READ/WRITE per (buffer x descriptor) piece.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "transport/rdma/rdma_internal.h"

static const struct rdma_capsule_limits g_lim = {.max_io_size = 131072, .max_sgl = 16};
static uint8_t g_buf[64 + 4096];
static struct rdma_req g_req;

static struct nvme_sqe *cmd_init(uint8_t opc)
{
	struct nvme_sqe *cmd = (struct nvme_sqe *)g_buf;

	memset(g_buf, 0, sizeof(g_buf));
	memset(&g_req, 0, sizeof(g_req));
	cmd->opc = opc;
	cmd->cid = 7;
	cmd->nsid = 1;
	return cmd;
}

static void keyed(struct nvme_sgl_desc *d, uint64_t addr, uint32_t len, uint32_t key, bool inv)
{
	memset(d, 0, sizeof(*d));
	d->keyed.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK;
	d->keyed.subtype = inv ? NVME_SGL_SUBTYPE_INVALIDATE_KEY : NVME_SGL_SUBTYPE_ADDRESS;
	d->keyed.address = addr;
	d->keyed.length = len;
	d->keyed.key = key;
}

static int parse(uint32_t len)
{
	return rdma_capsule_parse(&g_req, g_buf, len, &g_lim);
}

static void expect_status(uint32_t len, uint8_t sc)
{
	assert_int_equal(parse(len), 1);
	assert_int_equal(g_req.core.rsp.status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(g_req.core.rsp.status.s.sc, sc);
	assert_int_equal(g_req.core.rsp.status.s.dnr, 1);
}

static void test_short_capsule(void **state)
{
	cmd_init(0x01);
	assert_int_equal(parse(63), -EPROTO);
}

static void test_no_data(void **state)
{
	cmd_init(0x00); /* Flush */
	assert_int_equal(parse(64), 0);
	assert_int_equal(g_req.core.xfer, UNVMF_XFER_NONE);
	assert_int_equal(g_req.core.cmd.cid, 7);
}

static void test_keyed(void **state)
{
	struct nvme_sqe *cmd = cmd_init(0x02); /* Read */

	keyed(&cmd->dptr.sgl1, 0x1000, 8192, 0xabcd, false);
	assert_int_equal(parse(64), 0);
	assert_int_equal(g_req.core.xfer, UNVMF_XFER_CONTROLLER_TO_HOST);
	assert_int_equal(g_req.core.length, 8192);
	assert_int_equal(g_req.num_sgl, 1);
	assert_int_equal(g_req.sgl[0].addr, 0x1000);
	assert_int_equal(g_req.sgl[0].key, 0xabcd);
	assert_false(g_req.invalidate);
	assert_false(g_req.in_capsule);

	cmd = cmd_init(0x01);
	keyed(&cmd->dptr.sgl1, 0x2000, 512, 0x77, true);
	assert_int_equal(parse(64), 0);
	assert_true(g_req.invalidate);
	assert_int_equal(g_req.inval_rkey, 0x77);

	/* A write that moves nothing runs as a command without data. */
	cmd = cmd_init(0x01);
	keyed(&cmd->dptr.sgl1, 0x2000, 0, 0x77, false);
	assert_int_equal(parse(64), 0);
	assert_int_equal(g_req.core.xfer, UNVMF_XFER_NONE);
}

static void test_keyed_refused(void **state)
{
	struct nvme_sqe *cmd = cmd_init(0x01);

	keyed(&cmd->dptr.sgl1, 0, 131072 + 512, 1, false);
	expect_status(64, NVME_SC_DATA_SGL_LENGTH_INVALID);

	cmd = cmd_init(0x01);
	keyed(&cmd->dptr.sgl1, 0, 512, 1, false);
	cmd->dptr.sgl1.keyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	expect_status(64, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);

	cmd = cmd_init(0x01);
	cmd->dptr.sgl1.generic.type = NVME_SGL_TYPE_BIT_BUCKET;
	expect_status(64, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
}

static void test_in_capsule(void **state)
{
	struct nvme_sqe *cmd = cmd_init(0x01);

	cmd->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
	cmd->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	cmd->dptr.sgl1.unkeyed.address = 16;
	cmd->dptr.sgl1.unkeyed.length = 512;
	assert_int_equal(parse(64 + 16 + 512), 0);
	assert_true(g_req.in_capsule);
	assert_int_equal(g_req.core.length, 512);
	assert_int_equal(g_req.core.iovcnt, 1);
	assert_ptr_equal(g_req.core.iov[0].iov_base, g_buf + 64 + 16);
	/* Longer than what arrived. */
	expect_status(64 + 16 + 511, NVME_SC_DATA_SGL_LENGTH_INVALID);
	/* Offset past the data. */
	cmd = cmd_init(0x01);
	cmd->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
	cmd->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	cmd->dptr.sgl1.unkeyed.address = 4097;
	cmd->dptr.sgl1.unkeyed.length = 0;
	expect_status(64 + 4096, NVME_SC_INVALID_SGL_OFFSET);
	/* In-capsule data for a read has nowhere to go. */
	cmd = cmd_init(0x02);
	cmd->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
	cmd->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	cmd->dptr.sgl1.unkeyed.length = 512;
	expect_status(64 + 512, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
}

static struct nvme_sqe *last_segment(uint32_t n)
{
	struct nvme_sqe *cmd = cmd_init(0x01);

	cmd->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_LAST_SEGMENT;
	cmd->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	cmd->dptr.sgl1.unkeyed.address = 0;
	cmd->dptr.sgl1.unkeyed.length = n * 16;
	return cmd;
}

static void test_last_segment(void **state)
{
	struct nvme_sgl_desc *list = (struct nvme_sgl_desc *)(g_buf + 64);
	uint32_t lens[3] = {3000, 5000, 8384};

	last_segment(3);
	for (int i = 0; i < 3; i++)
		keyed(&list[i], 0x10000 * (i + 1), lens[i], 100 + i, i == 1);
	assert_int_equal(parse(64 + 48), 0);
	assert_int_equal(g_req.num_sgl, 3);
	assert_int_equal(g_req.core.length, 16384);
	assert_int_equal(g_req.sgl[2].key, 102);
	assert_true(g_req.invalidate);
	assert_int_equal(g_req.inval_rkey, 101);

	/* Two different keys to invalidate: one SEND cannot do both. */
	last_segment(2);
	keyed(&list[0], 0, 512, 1, true);
	keyed(&list[1], 0, 512, 2, true);
	expect_status(64 + 32, NVME_SC_INVALID_FIELD);
	/* More than msdbd descriptors. */
	last_segment(17);
	for (int i = 0; i < 17; i++)
		keyed(&list[i], 0, 512, 1, false);
	expect_status(64 + 17 * 16, NVME_SC_INVALID_NUM_SGL_DESCRIPTORS);
	/* An unkeyed entry in the list. */
	last_segment(2);
	keyed(&list[0], 0, 512, 1, false);
	list[1].unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
	expect_status(64 + 32, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	/* A list length that is not whole descriptors, and one past the capsule. */
	last_segment(2);
	((struct nvme_sqe *)g_buf)->dptr.sgl1.unkeyed.length = 20;
	expect_status(64 + 32, NVME_SC_INVALID_SGL_SEG_DESCRIPTOR);
	last_segment(2);
	expect_status(64 + 16, NVME_SC_INVALID_SGL_OFFSET);
	/* Totals over max_io_size. */
	last_segment(2);
	keyed(&list[0], 0, 131072, 1, false);
	keyed(&list[1], 0, 512, 1, false);
	expect_status(64 + 32, NVME_SC_DATA_SGL_LENGTH_INVALID);
}

static void test_plan(void **state)
{
	static uint8_t b0[8192], b1[8192];
	struct rdma_seg segs[RDMA_MAX_SEGS];
	struct nvme_sgl_desc *list = (struct nvme_sgl_desc *)(g_buf + 64);
	uint32_t lens[3] = {3000, 5000, 8384};
	uint32_t n;

	last_segment(3);
	for (int i = 0; i < 3; i++)
		keyed(&list[i], 0x10000 * (i + 1), lens[i], 100 + i, false);
	assert_int_equal(parse(64 + 48), 0);
	g_req.core.iov[0] = (struct iovec){.iov_base = b0, .iov_len = 8192};
	g_req.core.iov[1] = (struct iovec){.iov_base = b1, .iov_len = 8192};
	g_req.core.iovcnt = 2;
	n = rdma_capsule_plan(&g_req, segs, RDMA_MAX_SEGS);
	/* d0|b0 3000, d1|b0 5000, d2|b0 192, d2|b1 8192: pieces never cross a buffer or a key. */
	assert_int_equal(n, 4);
	assert_int_equal(segs[0].len, 3000);
	assert_int_equal(segs[0].local, (uintptr_t)b0);
	assert_int_equal(segs[0].remote, 0x10000);
	assert_int_equal(segs[1].len, 5000);
	assert_int_equal(segs[1].local, (uintptr_t)b0 + 3000);
	assert_int_equal(segs[1].rkey, 101);
	assert_int_equal(segs[2].len, 192);
	assert_int_equal(segs[2].remote, 0x30000);
	assert_int_equal(segs[3].len, 8192);
	assert_int_equal(segs[3].local, (uintptr_t)b1);
	assert_int_equal(segs[3].remote, 0x30000 + 192);
	assert_int_equal(segs[3].rkey, 102);
	/* A full-size transfer in io_unit_size buffers: one piece per buffer. */
	{
		static uint8_t big[131072];
		struct nvme_sqe *cmd = cmd_init(0x01);

		keyed(&cmd->dptr.sgl1, 0x100000, 131072, 5, false);
		assert_int_equal(parse(64), 0);
		for (int i = 0; i < 16; i++)
			g_req.core.iov[i] =
			    (struct iovec){.iov_base = big + i * 8192, .iov_len = 8192};
		g_req.core.iovcnt = 16;
		assert_int_equal(rdma_capsule_plan(&g_req, segs, RDMA_MAX_SEGS), 16);
		assert_int_equal(segs[15].remote, 0x100000 + 15 * 8192);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_capsule), cmocka_unit_test(test_no_data),
	    cmocka_unit_test(test_keyed),         cmocka_unit_test(test_keyed_refused),
	    cmocka_unit_test(test_in_capsule),    cmocka_unit_test(test_last_segment),
	    cmocka_unit_test(test_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
