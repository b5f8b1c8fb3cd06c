/*
 * RDMA transport options: the defaults operators get (finite retries, so a
 * dead link surfaces as RETRY_EXC_ERR instead of hanging forever) and the
 * option checks create() applies before it touches a provider.
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

static void test_defaults(void **state)
{
	const struct unvmf_rdma_opts *r;
	struct unvmf_transport_opts o;

	unvmf_rdma_transport_ops.opts_init(&o);
	assert_int_equal(o.trtype, NVMF_TRTYPE_RDMA);
	assert_int_equal(o.io_unit_size, 8192);
	assert_int_equal(o.in_capsule_data_size, 4096);
	assert_int_equal(o.max_io_size, 131072);
	assert_int_equal(o.max_queue_depth, 128);
	r = unvmf_rdma_opts(&o);
	assert_int_equal(r->max_srq_depth, 4096);
	assert_false(r->no_srq);
	/* 7 is "forever" on Soft-RoCE and in the sim: never a default. */
	assert_true(r->retry_count < 7);
	assert_true(r->rnr_retry_count < 7);
	assert_true(r->ack_timeout > 0 && r->ack_timeout < 31);
	assert_true(r->max_read_depth >= 1);
	assert_string_equal(r->provider, "verbs");
	assert_null(r->provider_ctx);
	/* One full-size transfer fits in the buffers and in the iovec. */
	assert_true(o.num_shared_buffers >= o.max_io_size / o.io_unit_size);
	assert_true(o.max_io_size / o.io_unit_size <= UNVMF_MAX_IOV);
}

static void expect_refused(void (*mutate)(struct unvmf_transport_opts *))
{
	struct unvmf_transport_opts o;
	struct unvmf_transport *t = NULL;

	unvmf_rdma_transport_ops.opts_init(&o);
	mutate(&o);
	assert_int_equal(unvmf_rdma_transport_ops.create(&o, &t), -EINVAL);
	assert_null(t);
}

static void m_io_unit(struct unvmf_transport_opts *o)
{
	o->io_unit_size = 2048; /* 131072 / 2048 = 64 buffers > UNVMF_MAX_IOV */
}

static void m_buffers(struct unvmf_transport_opts *o)
{
	o->num_shared_buffers = 8;
}

static void m_icd(struct unvmf_transport_opts *o)
{
	o->in_capsule_data_size = 100;
}

static void m_retry(struct unvmf_transport_opts *o)
{
	unvmf_rdma_opts(o)->retry_count = 8;
}

static void m_read_depth(struct unvmf_transport_opts *o)
{
	unvmf_rdma_opts(o)->max_read_depth = 0;
}

static void m_srq(struct unvmf_transport_opts *o)
{
	unvmf_rdma_opts(o)->max_srq_depth = 1;
}

static void m_provider(struct unvmf_transport_opts *o)
{
	unvmf_rdma_opts_set_provider(o, "nope", NULL);
}

static void test_refused(void **state)
{
	expect_refused(m_io_unit);
	expect_refused(m_buffers);
	expect_refused(m_icd);
	expect_refused(m_retry);
	expect_refused(m_read_depth);
	expect_refused(m_srq);
	expect_refused(m_provider);
}

static int decode(struct unvmf_transport_opts *o, json_t *params, char *err, size_t len)
{
	int rc = unvmf_rdma_transport_ops.opts_decode(o, params, err, len);

	json_decref(params);
	return rc;
}

/* nvmf_create_transport's RDMA parameters: SPDK's names, our ranges, messages naming them. */
static void test_decode(void **state)
{
	struct unvmf_transport_opts o;
	char err[256];

	unvmf_rdma_transport_ops.opts_init(&o);
	assert_int_equal(decode(&o,
	                        json_pack("{s:b, s:i, s:i, s:i, s:s}", "no_srq", 1, "num_cqe", 4096,
	                                  "retry_count", 3, "ack_timeout", 0, "provider", "sim"),
	                        err, sizeof(err)),
	                 0);
	assert_true(unvmf_rdma_opts(&o)->no_srq);
	assert_int_equal(unvmf_rdma_opts(&o)->num_cqe, 4096);
	assert_int_equal(unvmf_rdma_opts(&o)->retry_count, 3);
	/* SPDK's default 0 ("wait forever" on IB) keeps our finite default. */
	assert_int_equal(unvmf_rdma_opts(&o)->ack_timeout, 16);
	assert_string_equal(unvmf_rdma_opts(&o)->provider, "sim");
	assert_int_equal(decode(&o, json_pack("{s:i}", "ack_timeout", 20), err, sizeof(err)), 0);
	assert_int_equal(unvmf_rdma_opts(&o)->ack_timeout, 20);

	assert_int_equal(decode(&o, json_pack("{s:i}", "ack_timeout", 32), err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "invalid parameter 'ack_timeout': 32 is out of range [0, 31]");
	assert_int_equal(decode(&o, json_pack("{s:s}", "provider", "efa"), err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "invalid parameter 'provider': 'efa' (verbs or sim)");
	assert_int_equal(decode(&o, json_pack("{s:i}", "sock_priority", 1), err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "unknown parameter 'sock_priority'");
	assert_true(unvmf_rdma_transport_ops.opts_accepts("max_read_depth"));
	assert_false(unvmf_rdma_transport_ops.opts_accepts("c2h_success"));
}

static void test_dump(void **state)
{
	struct unvmf_transport_opts o;
	json_t *j = json_object();

	unvmf_rdma_transport_ops.opts_init(&o);
	unvmf_rdma_opts_set_provider(&o, "sim", &o);
	unvmf_rdma_transport_ops.opts_dump(&o, j);
	assert_int_equal(json_integer_value(json_object_get(j, "max_srq_depth")), 4096);
	assert_int_equal(json_integer_value(json_object_get(j, "ack_timeout")), 16);
	assert_string_equal(json_string_value(json_object_get(j, "provider")), "sim");
	/* The provider's context is a pointer, not configuration. */
	assert_null(json_object_get(j, "provider_ctx"));
	json_decref(j);
}

static void test_cdata(void **state)
{
	struct nvme_id_ctrl cd;

	memset(&cd, 0, sizeof(cd));
	unvmf_rdma_transport_ops.cdata_init(NULL, &cd);
	assert_int_equal(cd.msdbd, RDMA_MAX_SGL_DESCRIPTORS);
	assert_true(cd.sgls & NVME_SGLS_KEYED);
	assert_true(cd.sgls & NVME_SGLS_ADDRESS_AS_OFFSET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults), cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_decode),   cmocka_unit_test(test_dump),
	    cmocka_unit_test(test_cdata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
