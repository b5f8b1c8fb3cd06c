/*
 * The core's NVM I/O commands (src/nvmf/io.c) on an I/O queue of the
 * in-process target (tests/common/nvmf_loop), a 2048-block malloc namespace
 * of 512-byte blocks behind it: data through Write and Read, Write Zeroes,
 * Flush and Dataset Management, and the exact status of every refusal (LBA
 * range, NLB against the transfer length, direction, namespace, opcode).
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
#define BLOCKS 2048u
#define BS 512u

static int setup(void **state)
{
	return nvmf_loop_fixture_open(state, NVMF_LOOP_IO);
}

static struct nvme_sqe rw_sqe(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	struct nvme_sqe sqe = {
	    .opc = opc,
	    .nsid = nsid,
	    .cdw10 = (uint32_t)slba,
	    .cdw11 = (uint32_t)(slba >> 32),
	    .cdw12 = nlb - 1,
	};

	return sqe;
}

static int io_write(struct nvmf_loop *f, uint64_t slba, uint32_t nlb, uint32_t len)
{
	struct nvme_sqe sqe = rw_sqe(NVME_OPC_WRITE, 1, slba, nlb);

	return nvmf_loop_exec(&f->io, &sqe, f->buf, len, UNVMF_XFER_HOST_TO_CONTROLLER, NULL);
}

static int io_read(struct nvmf_loop *f, uint64_t slba, uint32_t nlb, uint32_t len)
{
	struct nvme_sqe sqe = rw_sqe(NVME_OPC_READ, 1, slba, nlb);

	memset((f->buf + 8192), 0xee, 8192);
	return nvmf_loop_exec(&f->io, &sqe, (f->buf + 8192), len, UNVMF_XFER_CONTROLLER_TO_HOST,
	                      NULL);
}

static void pattern(uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static void test_write_then_read(void **state)
{
	struct nvmf_loop *f = *state;
	uint64_t rd_units, wr_units;

	pattern(f->buf, 8 * BS, 3);
	assert_int_equal(io_write(f, 100, 8, 8 * BS), OK);
	assert_int_equal(io_read(f, 100, 8, 8 * BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf, 8 * BS);
	/* A part of it, from the middle. */
	assert_int_equal(io_read(f, 103, 2, 2 * BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf + 3 * BS, 2 * BS);
	assert_int_equal((f->buf + 8192)[2 * BS], 0xee);
	/* The last block of the namespace. */
	assert_int_equal(io_write(f, BLOCKS - 1, 1, BS), OK);
	assert_int_equal(io_read(f, BLOCKS - 1, 1, BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf, BS);
	/* The queue's counters: 2 writes, 3 reads, in 512-byte units. */
	rd_units = atomic_load(&f->io.qpair.ctrlr->qlog[1].read_units);
	wr_units = atomic_load(&f->io.qpair.ctrlr->qlog[1].write_units);
	assert_int_equal(rd_units, 8 + 2 + 1);
	assert_int_equal(wr_units, 8 + 1);
	assert_int_equal(atomic_load(&f->io.qpair.ctrlr->qlog[1].read_cmds), 3);
	assert_int_equal(atomic_load(&f->io.qpair.ctrlr->qlog[1].write_cmds), 2);
	assert_int_equal(f->io.qpair.stats.written_bytes, 9 * BS);
}

static void test_lba_out_of_range(void **state)
{
	struct nvmf_loop *f = *state;
	const int oor = ST(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE);

	pattern(f->buf, 2 * BS, 9);
	/* Starts inside, ends one past the last block. */
	assert_int_equal(io_write(f, BLOCKS - 1, 2, 2 * BS), oor);
	assert_int_equal(io_read(f, BLOCKS - 1, 2, 2 * BS), oor);
	/* Starts at the end. */
	assert_int_equal(io_read(f, BLOCKS, 1, BS), oor);
	/* SLBA with high bits set (no wrap-around of slba + nlb). */
	assert_int_equal(io_read(f, 0xffffffffffffffffull, 1, BS), oor);
	assert_int_equal(io_write(f, 0x100000000ull, 1, BS), oor);
	/* Nothing was written by the refused write: the last block is still zero. */
	assert_int_equal(io_read(f, BLOCKS - 1, 1, BS), OK);
	for (unsigned i = 0; i < BS; i++)
		assert_int_equal((f->buf + 8192)[i], 0);
}

static void test_nlb_against_transfer_length(void **state)
{
	struct nvmf_loop *f = *state;
	const int sgl = ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID);

	pattern(f->buf, 8192, 1);
	/* NLB needs 4 blocks, the transfer carries 3 (or 4 less a byte). */
	assert_int_equal(io_write(f, 0, 4, 3 * BS), sgl);
	assert_int_equal(io_write(f, 0, 4, 4 * BS - 1), sgl);
	assert_int_equal(io_read(f, 0, 4, 3 * BS), sgl);
	/* A longer transfer than NLB needs is trimmed: only NLB blocks move. */
	assert_int_equal(io_write(f, 10, 2, 4 * BS), OK);
	assert_int_equal(io_read(f, 10, 4, 4 * BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf, 2 * BS);
	for (unsigned i = 2 * BS; i < 4 * BS; i++)
		assert_int_equal((f->buf + 8192)[i], 0);
	assert_int_equal(io_read(f, 10, 1, 4 * BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf, BS);
	/* A read with a longer buffer leaves the rest of the buffer alone. */
	assert_int_equal((f->buf + 8192)[BS], 0xee);
}

static void test_direction_namespace_opcode(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_sqe sqe;

	/* A write whose data would flow to the host. */
	sqe = rw_sqe(NVME_OPC_WRITE, 1, 0, 1);
	assert_int_equal(
	    nvmf_loop_exec(&f->io, &sqe, f->buf, BS, UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	/* Inactive, zero and out-of-range namespaces. */
	sqe = rw_sqe(NVME_OPC_READ, 2, 0, 1);
	assert_int_equal(
	    nvmf_loop_exec(&f->io, &sqe, (f->buf + 8192), BS, UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	sqe = rw_sqe(NVME_OPC_READ, 0, 0, 1);
	assert_int_equal(
	    nvmf_loop_exec(&f->io, &sqe, (f->buf + 8192), BS, UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	sqe = rw_sqe(NVME_OPC_READ, 0xffffffff, 0, 1);
	assert_int_equal(
	    nvmf_loop_exec(&f->io, &sqe, (f->buf + 8192), BS, UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	/* Write Uncorrectable (0x04) is not supported (Compare and fused: test_nvmf_fused.c). */
	sqe = rw_sqe(0x04, 1, 0, 1);
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, NULL, 0, UNVMF_XFER_NONE, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE));
	/* FUSE 3 is reserved. */
	sqe = rw_sqe(NVME_OPC_READ, 1, 0, 1);
	sqe.fuse = 3;
	assert_int_equal(
	    nvmf_loop_exec(&f->io, &sqe, (f->buf + 8192), BS, UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
}

static void test_write_zeroes_and_flush(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_sqe sqe;

	pattern(f->buf, 8 * BS, 5);
	assert_int_equal(io_write(f, 200, 8, 8 * BS), OK);
	/* Zero blocks 202..204. */
	sqe = rw_sqe(NVME_OPC_WRITE_ZEROES, 1, 202, 3);
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, NULL, 0, UNVMF_XFER_NONE, NULL), OK);
	assert_int_equal(io_read(f, 200, 8, 8 * BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf, 2 * BS);
	for (unsigned i = 2 * BS; i < 5 * BS; i++)
		assert_int_equal((f->buf + 8192)[i], 0);
	assert_memory_equal((f->buf + 8192) + 5 * BS, f->buf + 5 * BS, 3 * BS);
	/* Past the end: refused, nothing zeroed. */
	sqe = rw_sqe(NVME_OPC_WRITE_ZEROES, 1, BLOCKS - 2, 3);
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, NULL, 0, UNVMF_XFER_NONE, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	/* Flush of the namespace, and of every namespace (NSID FFFFFFFFh is not one). */
	sqe = rw_sqe(NVME_OPC_FLUSH, 1, 0, 1);
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, NULL, 0, UNVMF_XFER_NONE, NULL), OK);
	sqe.nsid = 2;
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, NULL, 0, UNVMF_XFER_NONE, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
}

static void test_dataset_management(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_dsm_range ranges[2];
	struct nvme_sqe sqe = {.opc = NVME_OPC_DATASET_MANAGEMENT, .nsid = 1};

	pattern(f->buf, 4 * BS, 11);
	assert_int_equal(io_write(f, 300, 4, 4 * BS), OK);
	memset(ranges, 0, sizeof(ranges));
	ranges[0].starting_lba = 301;
	ranges[0].length = 2;
	ranges[1].starting_lba = BLOCKS - 1;
	ranges[1].length = 2;
	/* Two ranges, the second past the end: refused before either is touched. */
	sqe.cdw10 = 1;
	sqe.cdw11 = NVME_DSM_ATTR_DEALLOCATE;
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, ranges, sizeof(ranges),
	                                UNVMF_XFER_HOST_TO_CONTROLLER, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	assert_int_equal(io_read(f, 300, 4, 4 * BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf, 4 * BS);
	/* NR says 2 ranges, the buffer holds 1. */
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, ranges, sizeof(ranges[0]),
	                                UNVMF_XFER_HOST_TO_CONTROLLER, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	/* The first range alone: deallocated blocks of a malloc bdev read as zero. */
	sqe.cdw10 = 0;
	assert_int_equal(nvmf_loop_exec(&f->io, &sqe, ranges, sizeof(ranges[0]),
	                                UNVMF_XFER_HOST_TO_CONTROLLER, NULL),
	                 OK);
	assert_int_equal(io_read(f, 300, 4, 4 * BS), OK);
	assert_memory_equal((f->buf + 8192), f->buf, BS);
	for (unsigned i = BS; i < 3 * BS; i++)
		assert_int_equal((f->buf + 8192)[i], 0);
	assert_memory_equal((f->buf + 8192) + 3 * BS, f->buf + 3 * BS, BS);
}

static void test_io_before_connect_and_on_admin_queue(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_sqe sqe = rw_sqe(NVME_OPC_READ, 1, 0, 1);
	struct nvmf_loop_qpair *raw = nvmf_loop_qpair_spare(f);

	/* A queue that has not sent Connect: Command Sequence Error. */
	assert_int_equal(nvmf_loop_qpair_open(f, raw), 0);
	assert_int_equal(
	    nvmf_loop_exec(raw, &sqe, (f->buf + 8192), BS, UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR));
	assert_int_equal(nvmf_loop_qpair_close(raw), 0);
	/* Read's opcode (02h) on the admin queue is Get Log Page: of log 00h, which does not exist.
	 */
	assert_int_equal(nvmf_loop_exec(&f->admin, &sqe, (f->buf + 8192), BS,
	                                UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVME_SC_INVALID_LOG_PAGE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_then_read, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_lba_out_of_range, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_nlb_against_transfer_length, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_direction_namespace_opcode, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_write_zeroes_and_flush, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_dataset_management, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_io_before_connect_and_on_admin_queue, setup,
	                                    nvmf_loop_fixture_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
