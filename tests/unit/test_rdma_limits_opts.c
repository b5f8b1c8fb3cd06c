/*
 * The core's qpair limits as RDMA transport options (limits_opts_check.h):
 * nvmf_create_transport takes them beside RDMA's own (one call, either
 * order), refuses a bad one by name with nothing applied, dumps them back;
 * and a configured
 * rnr_retry_count of 7 ("forever") never reaches the target's own QPs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "limits_opts_check.h"
#include "transport/rdma/rdma_internal.h"

static uint32_t rdma_num_cqe(const struct unvmf_transport_opts *o)
{
	return unvmf_rdma_opts_const(o)->num_cqe;
}

static const struct limits_opts_case g_rdma = {
    .ops = &unvmf_rdma_transport_ops,
    .own = "num_cqe",
    .own_default = 16384,
    .own_value = 2048,
    .own_get = rdma_num_cqe,
    .own_bad = "ack_timeout",
    .own_bad_value = 32,
    .foreign = "icreq_timeout_ms",
};

static void test_limits_defaults(void **state)
{
	(void)state;
	limits_opts_check_defaults(&g_rdma);
}

static void test_limits_decode_and_dump(void **state)
{
	(void)state;
	limits_opts_check_decode_dump(&g_rdma);
}

static void test_limits_bad_value_changes_nothing(void **state)
{
	(void)state;
	limits_opts_check_bad_value(&g_rdma);
}

/* rnr_retry_count 7 is accepted (SPDK configs carry it) but responses retry a bounded number. */
static void test_response_rnr_retry_bounded(void **state)
{
	struct unvmf_transport_opts o;
	json_t *p = json_pack("{s:i}", "rnr_retry_count", 7);
	char err[128] = "";

	(void)state;
	unvmf_rdma_transport_ops.opts_init(&o);
	assert_int_equal(rdma_opts_response_rnr_retry(unvmf_rdma_opts(&o)), 6);
	assert_int_equal(unvmf_rdma_transport_ops.opts_decode(&o, p, err, sizeof(err)), 0);
	assert_int_equal(unvmf_rdma_opts(&o)->rnr_retry_count, 7);
	assert_int_equal(rdma_opts_response_rnr_retry(unvmf_rdma_opts(&o)), 6);
	unvmf_rdma_opts(&o)->rnr_retry_count = 2;
	assert_int_equal(rdma_opts_response_rnr_retry(unvmf_rdma_opts(&o)), 2);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits_defaults),
	    cmocka_unit_test(test_limits_decode_and_dump),
	    cmocka_unit_test(test_limits_bad_value_changes_nothing),
	    cmocka_unit_test(test_response_rnr_retry_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
