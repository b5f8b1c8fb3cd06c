/*
 * The core's qpair limits as transport options (TCP's decoder): defaults an
 * operator can live with, the names decoded beside the transport's own,
 * a bad value refused by name with the options left as they were, and the
 * dump carrying them back (nvmf_get_transports, save_config).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "nvmf/transport.h"
#include "transport/tcp/tcp_opts.h"

static void test_defaults(void **state)
{
	struct unvmf_transport_opts o;

	(void)state;
	unvmf_tcp_transport_ops.opts_init(&o);
	assert_int_equal(o.limits.connect_timeout_ms, 10000);
	assert_int_equal(o.limits.max_qpairs_per_host, 1024);
	assert_int_equal(o.limits.max_qpairs_per_group, 4096);
	assert_int_equal(o.limits.max_kato_ms, 600000);
	assert_int_equal(unvmf_tcp_opts(&o)->icreq_timeout_ms, 10000);
	assert_true(unvmf_tcp_transport_ops.opts_accepts("connect_timeout_ms"));
	assert_true(unvmf_tcp_transport_ops.opts_accepts("icreq_timeout_ms"));
	assert_false(unvmf_tcp_transport_ops.opts_accepts("max_qpairs"));
}

static void test_decode_and_dump(void **state)
{
	struct unvmf_transport_opts o;
	json_t *p = json_pack("{s:i, s:i, s:i, s:i, s:i, s:b}", "icreq_timeout_ms", 250,
	                      "connect_timeout_ms", 300, "max_qpairs_per_host", 7,
	                      "max_qpairs_per_group", 0, "max_kato_ms", 30000, "c2h_success", 0);
	json_t *d = json_object();
	char err[128] = "";

	(void)state;
	unvmf_tcp_transport_ops.opts_init(&o);
	assert_int_equal(unvmf_tcp_transport_ops.opts_decode(&o, p, err, sizeof(err)), 0);
	assert_int_equal(unvmf_tcp_opts(&o)->icreq_timeout_ms, 250);
	assert_false(unvmf_tcp_opts(&o)->c2h_success);
	assert_int_equal(o.limits.connect_timeout_ms, 300);
	assert_int_equal(o.limits.max_qpairs_per_host, 7);
	assert_int_equal(o.limits.max_qpairs_per_group, 0);
	assert_int_equal(o.limits.max_kato_ms, 30000);
	unvmf_tcp_transport_ops.opts_dump(&o, d);
	assert_int_equal(json_integer_value(json_object_get(d, "icreq_timeout_ms")), 250);
	assert_int_equal(json_integer_value(json_object_get(d, "connect_timeout_ms")), 300);
	assert_int_equal(json_integer_value(json_object_get(d, "max_qpairs_per_host")), 7);
	assert_int_equal(json_integer_value(json_object_get(d, "max_qpairs_per_group")), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "max_kato_ms")), 30000);
	json_decref(p);
	json_decref(d);
}

/* One bad value among good ones: refused by name, nothing of the call applied. */
static void test_bad_value_changes_nothing(void **state)
{
	struct unvmf_transport_opts o;
	json_t *p = json_pack("{s:i, s:i}", "icreq_timeout_ms", 250, "connect_timeout_ms", 3600001);
	char err[128] = "";

	(void)state;
	unvmf_tcp_transport_ops.opts_init(&o);
	assert_int_equal(unvmf_tcp_transport_ops.opts_decode(&o, p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "connect_timeout_ms"));
	assert_int_equal(unvmf_tcp_opts(&o)->icreq_timeout_ms, 10000);
	assert_int_equal(o.limits.connect_timeout_ms, 10000);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_decode_and_dump),
	    cmocka_unit_test(test_bad_value_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
