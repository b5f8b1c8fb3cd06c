/*
 * The core's qpair limits as TCP transport options (limits_opts_check.h),
 * beside TCP's own ICReq deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "limits_opts_check.h"
#include "transport/tcp/tcp_opts.h"

static uint32_t tcp_icreq_timeout(const struct unvmf_transport_opts *o)
{
	return unvmf_tcp_opts_const(o)->icreq_timeout_ms;
}

static const struct limits_opts_case g_tcp = {
    .ops = &unvmf_tcp_transport_ops,
    .own = "icreq_timeout_ms",
    .own_default = 10000,
    .own_value = 250,
    .own_get = tcp_icreq_timeout,
    .own_bad = "icreq_timeout_ms",
    .own_bad_value = 3600001,
    .foreign = "max_qpairs",
};

static void test_defaults(void **state)
{
	(void)state;
	limits_opts_check_defaults(&g_tcp);
}

static void test_decode_and_dump(void **state)
{
	(void)state;
	limits_opts_check_decode_dump(&g_tcp);
}

static void test_bad_value_changes_nothing(void **state)
{
	(void)state;
	limits_opts_check_bad_value(&g_tcp);
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
