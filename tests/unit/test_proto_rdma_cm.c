/*
 * NVMe/RDMA CM private data (proto/nvme_rdma_cm.c), the one reading of the
 * wire format that host and target share: byte layout of what is built,
 * round trips, and every way a received record is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "proto/nvme_rdma_cm.h"

/* A CM hands over more than the record (padding up to the REQ/REP private data size). */
static uint8_t g_wire[196];

static uint16_t le16_at(const void *p, size_t off)
{
	const uint8_t *b = p;

	return (uint16_t)(b[off] | b[off + 1] << 8);
}

static void test_req_build_layout(void **state)
{
	struct nvmf_rdma_request_private_data pd;
	static const uint8_t zero[sizeof(pd.reserved)];

	memset(&pd, 0xff, sizeof(pd));
	nvme_rdma_cm_req_build(&pd, 3, 128, 127, 0x1234);
	assert_int_equal(le16_at(&pd, 0), 0);
	assert_int_equal(le16_at(&pd, 2), 3);
	assert_int_equal(le16_at(&pd, 4), 128);
	assert_int_equal(le16_at(&pd, 6), 127);
	assert_int_equal(le16_at(&pd, 8), 0x1234);
	assert_memory_equal(pd.reserved, zero, sizeof(zero));
}

static void test_req_parse(void **state)
{
	struct nvmf_rdma_request_private_data pd, got;

	nvme_rdma_cm_req_build(&pd, 0, 32, 31, 0xffff);
	memset(g_wire, 0xee, sizeof(g_wire));
	memcpy(g_wire, &pd, sizeof(pd));
	assert_int_equal(nvme_rdma_cm_req_parse(g_wire, sizeof(g_wire), &got), 0);
	assert_int_equal(got.qid, 0);
	assert_int_equal(got.hrqsize, 32);
	assert_int_equal(got.hsqsize, 31);
	assert_int_equal(got.cntlid, 0xffff);
	assert_int_equal(nvme_rdma_cm_req_parse(g_wire, sizeof(pd), &got), 0);

	assert_int_equal(nvme_rdma_cm_req_parse(g_wire, sizeof(pd) - 1, &got),
	                 NVMF_RDMA_CM_INVALID_LENGTH);
	assert_int_equal(nvme_rdma_cm_req_parse(g_wire, 0, &got), NVMF_RDMA_CM_INVALID_LENGTH);

	g_wire[1] = 1; /* RECFMT 0x100 */
	assert_int_equal(nvme_rdma_cm_req_parse(g_wire, sizeof(g_wire), &got),
	                 NVMF_RDMA_CM_INVALID_RECFMT);
	g_wire[1] = 0;

	nvme_rdma_cm_req_build(&pd, 1, 0, 31, 1);
	memcpy(g_wire, &pd, sizeof(pd));
	assert_int_equal(nvme_rdma_cm_req_parse(g_wire, sizeof(g_wire), &got),
	                 NVMF_RDMA_CM_INVALID_HRQSIZE);
	/* hsqsize is zero-based: 0 is a one-entry queue, not an error. */
	nvme_rdma_cm_req_build(&pd, 1, 1, 0, 1);
	memcpy(g_wire, &pd, sizeof(pd));
	assert_int_equal(nvme_rdma_cm_req_parse(g_wire, sizeof(g_wire), &got), 0);
}

static void test_accept(void **state)
{
	struct nvmf_rdma_accept_private_data acc;
	uint16_t crq = 1;

	memset(&acc, 0xff, sizeof(acc));
	nvme_rdma_cm_accept_build(&acc, 77);
	assert_int_equal(le16_at(&acc, 0), 0);
	assert_int_equal(le16_at(&acc, 2), 77);
	for (size_t i = 0; i < sizeof(acc.reserved); i++)
		assert_int_equal(acc.reserved[i], 0);

	memset(g_wire, 0, sizeof(g_wire));
	memcpy(g_wire, &acc, sizeof(acc));
	assert_int_equal(nvme_rdma_cm_accept_parse(g_wire, sizeof(g_wire), &crq), 0);
	assert_int_equal(crq, 77);
	/* No NVMe/RDMA record in the REP: no crqsize, not an error. */
	crq = 1;
	assert_int_equal(nvme_rdma_cm_accept_parse(g_wire, 0, &crq), 0);
	assert_int_equal(crq, 0);
	crq = 1;
	assert_int_equal(nvme_rdma_cm_accept_parse(g_wire, sizeof(acc) - 1, &crq), 0);
	assert_int_equal(crq, 0);
	g_wire[0] = 1;
	crq = 1;
	assert_int_equal(nvme_rdma_cm_accept_parse(g_wire, sizeof(g_wire), &crq), -EPROTO);
	assert_int_equal(crq, 0);
}

static void test_reject(void **state)
{
	struct nvmf_rdma_reject_private_data rej;

	memset(&rej, 0xff, sizeof(rej));
	nvme_rdma_cm_reject_build(&rej, NVMF_RDMA_CM_INVALID_IRD);
	assert_int_equal(le16_at(&rej, 0), 0);
	assert_int_equal(le16_at(&rej, 2), NVMF_RDMA_CM_INVALID_IRD);

	memset(g_wire, 0, sizeof(g_wire));
	memcpy(g_wire, &rej, sizeof(rej));
	assert_int_equal(nvme_rdma_cm_reject_parse(g_wire, 148), NVMF_RDMA_CM_INVALID_IRD);
	assert_int_equal(nvme_rdma_cm_reject_parse(g_wire, sizeof(rej)), NVMF_RDMA_CM_INVALID_IRD);
	assert_int_equal(nvme_rdma_cm_reject_parse(g_wire, sizeof(rej) - 1), 0);
	g_wire[0] = 2;
	assert_int_equal(nvme_rdma_cm_reject_parse(g_wire, 148), 0);
}

static void test_status_names(void **state)
{
	static const struct {
		uint16_t sts;
		const char *name;
	} names[] = {
	    {NVMF_RDMA_CM_INVALID_LENGTH, "Invalid Private Data Length"},
	    {NVMF_RDMA_CM_INVALID_RECFMT, "Invalid RECFMT"},
	    {NVMF_RDMA_CM_INVALID_QID, "Invalid QID"},
	    {NVMF_RDMA_CM_INVALID_HSQSIZE, "Invalid HSQSIZE"},
	    {NVMF_RDMA_CM_INVALID_HRQSIZE, "Invalid HRQSIZE"},
	    {NVMF_RDMA_CM_NO_RESOURCES, "No Resources"},
	    {NVMF_RDMA_CM_INVALID_IRD, "Invalid IRD"},
	    {NVMF_RDMA_CM_INVALID_ORD, "Invalid ORD"},
	    {0, "Unknown NVMe/RDMA CM Status"},
	    {0x99, "Unknown NVMe/RDMA CM Status"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(nvme_rdma_cm_status_str(names[i].sts), names[i].name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_req_build_layout), cmocka_unit_test(test_req_parse),
	    cmocka_unit_test(test_accept),           cmocka_unit_test(test_reject),
	    cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
