/* Manual stepping and the virtual clock: what the deterministic simulator relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reactor/reactor.h"

static int g_untimed, g_timed, g_msgs;

static int untimed(void *arg)
{
	g_untimed++;
	return 0;
}

static int timed(void *arg)
{
	g_timed++;
	return 1;
}

static void msg(void *arg)
{
	g_msgs += (int)(intptr_t)arg;
}

static void test_manual_steps_and_virtual_time(void **state)
{
	struct unvmf_reactor_opts opts = {.cpumask = 0x3};
	struct unvmf_poller *p0, *p1;

	unvmf_clock_set_virtual(true, 1000000);
	assert_int_equal(unvmf_reactors_init(&opts), 0);
	assert_int_equal(unvmf_reactors_manual_begin(), 0);
	assert_ptr_equal(unvmf_thread_get(), unvmf_reactor_thread(0));
	p0 = unvmf_poller_register(untimed, NULL, 0, "untimed");
	p1 = unvmf_poller_register(timed, NULL, 1000, "timed");
	assert_non_null(p0);
	assert_non_null(p1);
	unvmf_reactor_step(0);
	unvmf_reactor_step(0);
	assert_int_equal(g_untimed, 2);
	/* Virtual time has not moved: the 1 ms timer must not have fired twice. */
	int before = g_timed;

	unvmf_reactor_step(0);
	assert_int_equal(g_timed, before);
	unvmf_clock_advance(1000);
	unvmf_reactor_step(0);
	assert_int_equal(g_timed, before + 1);
	/* Messages to reactor 1 run only when reactor 1 is stepped. */
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(1), msg, (void *)5), 0);
	unvmf_reactor_step(0);
	assert_int_equal(g_msgs, 0);
	unvmf_reactor_step(1);
	assert_int_equal(g_msgs, 5);
	assert_int_equal(unvmf_now_us(), 1001000);
	unvmf_poller_unregister(&p0);
	unvmf_poller_unregister(&p1);
	unvmf_reactors_manual_end();
	unvmf_reactors_fini();
	unvmf_clock_set_virtual(false, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manual_steps_and_virtual_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
