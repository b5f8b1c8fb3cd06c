/*
 * The core's qpair limits as RDMA transport options: nvmf_create_transport
 * takes them beside RDMA's own (one call, either order), refuses a bad one
 * by name with nothing applied, dumps them back; and a configured
 * rnr_retry_count of 7 ("forever") never reaches the target's own QPs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "transport/rdma/rdma_internal.h"

static void test_limits_defaults(void **state)
{
	struct unvmf_transport_opts o;

	(void)state;
	unvmf_rdma_transport_ops.opts_init(&o);
	assert_int_equal(o.limits.connect_timeout_ms, 10000);
	assert_int_equal(o.limits.max_qpairs_per_host, 1024);
	assert_int_equal(o.limits.max_qpairs_per_group, 4096);
	assert_int_equal(o.limits.max_kato_ms, 600000);
	assert_true(unvmf_rdma_transport_ops.opts_accepts("connect_timeout_ms"));
	assert_true(unvmf_rdma_transport_ops.opts_accepts("max_qpairs_per_host"));
	assert_true(unvmf_rdma_transport_ops.opts_accepts("max_qpairs_per_group"));
	assert_true(unvmf_rdma_transport_ops.opts_accepts("max_kato_ms"));
	assert_false(unvmf_rdma_transport_ops.opts_accepts("icreq_timeout_ms"));
}

static void test_limits_decode_and_dump(void **state)
{
	struct unvmf_transport_opts o;
	json_t *p =
	    json_pack("{s:i, s:i, s:i, s:i, s:i}", "num_cqe", 2048, "connect_timeout_ms", 300,
	              "max_qpairs_per_host", 7, "max_qpairs_per_group", 0, "max_kato_ms", 30000);
	json_t *d = json_object();
	char err[128] = "";

	(void)state;
	unvmf_rdma_transport_ops.opts_init(&o);
	assert_int_equal(unvmf_rdma_transport_ops.opts_decode(&o, p, err, sizeof(err)), 0);
	assert_int_equal(unvmf_rdma_opts(&o)->num_cqe, 2048);
	assert_int_equal(o.limits.connect_timeout_ms, 300);
	assert_int_equal(o.limits.max_qpairs_per_host, 7);
	assert_int_equal(o.limits.max_qpairs_per_group, 0);
	assert_int_equal(o.limits.max_kato_ms, 30000);
	unvmf_rdma_transport_ops.opts_dump(&o, d);
	assert_int_equal(json_integer_value(json_object_get(d, "num_cqe")), 2048);
	assert_int_equal(json_integer_value(json_object_get(d, "connect_timeout_ms")), 300);
	assert_int_equal(json_integer_value(json_object_get(d, "max_qpairs_per_host")), 7);
	assert_int_equal(json_integer_value(json_object_get(d, "max_kato_ms")), 30000);
	json_decref(p);
	json_decref(d);
}

/* A bad limit beside a good RDMA option, and the reverse: refused by name, nothing applied. */
static void test_limits_bad_value_changes_nothing(void **state)
{
	struct unvmf_transport_opts o;
	json_t *p1 = json_pack("{s:i, s:i}", "num_cqe", 2048, "connect_timeout_ms", 3600001);
	json_t *p2 = json_pack("{s:i, s:i}", "connect_timeout_ms", 300, "ack_timeout", 32);
	char err[128] = "";

	(void)state;
	unvmf_rdma_transport_ops.opts_init(&o);
	assert_int_equal(unvmf_rdma_transport_ops.opts_decode(&o, p1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "connect_timeout_ms"));
	assert_int_equal(unvmf_rdma_transport_ops.opts_decode(&o, p2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ack_timeout"));
	assert_int_equal(unvmf_rdma_opts(&o)->num_cqe, 16384);
	assert_int_equal(o.limits.connect_timeout_ms, 10000);
	json_decref(p1);
	json_decref(p2);
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
