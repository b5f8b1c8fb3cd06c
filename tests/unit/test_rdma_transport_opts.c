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
#include <string.h>

#include "transport/rdma/rdma_internal.h"

static void test_defaults(void **state)
{
	struct unvmf_transport_opts o;

	unvmf_rdma_transport_ops.opts_init(&o);
	assert_int_equal(o.trtype, NVMF_TRTYPE_RDMA);
	assert_int_equal(o.io_unit_size, 8192);
	assert_int_equal(o.in_capsule_data_size, 4096);
	assert_int_equal(o.max_io_size, 131072);
	assert_int_equal(o.max_queue_depth, 128);
	assert_int_equal(o.rdma.max_srq_depth, 4096);
	assert_false(o.rdma.no_srq);
	/* 7 is "forever" on Soft-RoCE and in the sim: never a default. */
	assert_true(o.rdma.retry_count < 7);
	assert_true(o.rdma.rnr_retry_count < 7);
	assert_true(o.rdma.ack_timeout > 0 && o.rdma.ack_timeout < 31);
	assert_true(o.rdma.max_read_depth >= 1);
	assert_string_equal(o.rdma.provider, "verbs");
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
	o->rdma.retry_count = 8;
}

static void m_read_depth(struct unvmf_transport_opts *o)
{
	o->rdma.max_read_depth = 0;
}

static void m_srq(struct unvmf_transport_opts *o)
{
	o->rdma.max_srq_depth = 1;
}

static void m_provider(struct unvmf_transport_opts *o)
{
	o->rdma.provider = "nope";
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
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_cdata),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
