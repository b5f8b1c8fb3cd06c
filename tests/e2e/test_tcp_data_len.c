/*
 * No byte leaves the target that the command did not produce: a host whose
 * SGL offers more room than the data gets exactly the data, over the wire,
 * even when the target's buffers last held another connection's writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"
#include "raw_tcp_host.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a"
#define STALE 0xa5
#define BIG (512u * 1024)

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	return tgt_proc_start_or_dump(&g_tp, NULL);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 20);
}

/* One tenant fills the target's data buffers with its pattern (writes by R2T). */
static void fill_pool_with_writes(void)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts o;
	struct unvmf_trid trid;
	uint8_t *buf = malloc(BIG);

	assert_non_null(buf);
	memset(buf, STALE, BIG);
	unvmf_host_opts_init(&o);
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &o, &ctrlr, &err), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	for (uint64_t lba = 1024; lba < 1024 + 4 * (BIG / 512); lba += BIG / 512 / 4)
		assert_int_equal(e2e_write(qp, 1, lba, BIG / 512 / 4, buf, BIG / 4), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	free(buf);
}

static void admin_open(struct raw_tcp_host *h)
{
	assert_int_equal(raw_tcp_host_open(h, g_tp.port), 0);
	assert_int_equal(raw_tcp_host_connect(h, 0, 32, SUBNQN, HOSTNQN), 0);
	assert_int_equal(raw_tcp_host_enable(h), 0);
}

/* Bytes of buf[from, to) that are not the host's own marker. */
static size_t changed(const uint8_t *buf, size_t from, size_t to, uint8_t marker)
{
	size_t n = 0;

	for (size_t i = from; i < to; i++)
		n += buf[i] != marker;
	return n;
}

static void test_identify_with_long_sgl(void **state)
{
	struct raw_tcp_host h;
	struct raw_tcp_result r;
	struct nvme_sqe sqe = {.opc = NVME_OPC_IDENTIFY, .cdw10 = 1};
	uint8_t *buf = malloc(8192);

	fill_pool_with_writes();
	admin_open(&h);
	memset(buf, 0x11, 8192);
	assert_int_equal(raw_tcp_host_exec_c2h(&h, &sqe, 8192, buf, 8192, &r), 0);
	assert_int_equal(r.cqe.status.raw >> 1, 0);
	assert_int_equal(r.c2h_bytes, 4096);
	assert_int_equal(r.c2h_max_end, 4096);
	assert_int_equal(changed(buf, 4096, 8192, 0x11), 0);
	raw_tcp_host_close(&h);
	free(buf);
}

static void test_log_page_shorter_than_sgl(void **state)
{
	struct raw_tcp_host h;
	struct raw_tcp_result r;
	/* SMART / Health log, 512 bytes: NUMDL = 127 (zero-based dwords). */
	struct nvme_sqe sqe = {.opc = NVME_OPC_GET_LOG_PAGE, .nsid = 0xffffffff,
	                       .cdw10 = 0x02 | (127u << 16)};
	uint8_t *buf = malloc(16384);

	fill_pool_with_writes();
	admin_open(&h);
	memset(buf, 0x22, 16384);
	assert_int_equal(raw_tcp_host_exec_c2h(&h, &sqe, 16384, buf, 16384, &r), 0);
	assert_int_equal(r.cqe.status.raw >> 1, 0);
	assert_int_equal(r.c2h_bytes, 512);
	assert_int_equal(changed(buf, 512, 16384, 0x22), 0);
	raw_tcp_host_close(&h);
	free(buf);
}

static void test_read_one_block_with_128k_sgl(void **state)
{
	struct raw_tcp_host admin, h;
	struct raw_tcp_result r;
	/* LBA 0 was never written: the namespace's zeroes, never the other tenant's 0xa5. */
	struct nvme_sqe sqe = {.opc = NVME_OPC_READ, .nsid = 1, .cdw10 = 0, .cdw12 = 0};
	uint8_t *buf = malloc(128 * 1024);

	fill_pool_with_writes();
	admin_open(&admin);
	/* Each queue is its own connection. */
	assert_int_equal(raw_tcp_host_open(&h, g_tp.port), 0);
	h.cntlid = admin.cntlid;
	assert_int_equal(raw_tcp_host_connect(&h, 1, 32, SUBNQN, HOSTNQN), 0);
	memset(buf, 0x33, 128 * 1024);
	assert_int_equal(raw_tcp_host_exec_c2h(&h, &sqe, 128 * 1024, buf, 128 * 1024, &r), 0);
	assert_int_equal(r.cqe.status.raw >> 1, 0);
	assert_int_equal(r.c2h_bytes, 512);
	assert_int_equal(changed(buf, 0, 512, 0), 0);
	assert_int_equal(changed(buf, 512, 128 * 1024, 0x33), 0);
	raw_tcp_host_close(&h);
	raw_tcp_host_close(&admin);
	free(buf);
}

static void test_error_sends_no_data(void **state)
{
	struct raw_tcp_host h;
	struct raw_tcp_result r;
	/* Identify with an unsupported CNS: an error status and not one byte of data. */
	struct nvme_sqe sqe = {.opc = NVME_OPC_IDENTIFY, .cdw10 = 0x7e};
	uint8_t *buf = malloc(8192);

	fill_pool_with_writes();
	admin_open(&h);
	assert_int_equal(raw_tcp_host_exec_c2h(&h, &sqe, 8192, buf, 8192, &r), 0);
	assert_int_not_equal(r.cqe.status.raw >> 1, 0);
	assert_int_equal(r.c2h_bytes, 0);
	raw_tcp_host_close(&h);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identify_with_long_sgl),
	    cmocka_unit_test(test_log_page_shorter_than_sgl),
	    cmocka_unit_test(test_read_one_block_with_128k_sgl),
	    cmocka_unit_test(test_error_sends_no_data),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
