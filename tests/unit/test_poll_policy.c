/*
 * The reactor's adaptive idle policy (reactor/poll_policy.h) driven with
 * made-up times: no clock, no threads, no timed assertion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reactor/poll_policy.h"

/* Busy polling never sleeps, whatever the iterations find. */
static void test_busy_poll_never_sleeps(void **state)
{
	struct unvmf_poll_policy p;

	(void)state;
	unvmf_poll_policy_init(&p, true, 100);
	for (uint64_t t = 0; t < 10000000; t += 1000000)
		assert_int_equal(unvmf_poll_policy_next(&p, false, t), UNVMF_POLL_AGAIN);
	assert_int_equal(p.state, UNVMF_POLL_ACTIVE);
}

/* After work the loop keeps polling for spin_us of empty iterations, then sleeps. */
static void test_spin_window_then_sleep(void **state)
{
	struct unvmf_poll_policy p;

	(void)state;
	unvmf_poll_policy_init(&p, false, 100);
	assert_int_equal(unvmf_poll_policy_next(&p, true, 0), UNVMF_POLL_AGAIN);
	assert_int_equal(p.state, UNVMF_POLL_ACTIVE);
	/* The window opens at the first empty iteration (t = 1000). */
	assert_int_equal(unvmf_poll_policy_next(&p, false, 1000), UNVMF_POLL_AGAIN);
	assert_int_equal(p.state, UNVMF_POLL_SPINNING);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 1050), UNVMF_POLL_AGAIN);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 1099), UNVMF_POLL_AGAIN);
	assert_int_equal(p.state, UNVMF_POLL_SPINNING);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 1100), UNVMF_POLL_SLEEP);
	assert_int_equal(p.state, UNVMF_POLL_SLEEPING);
	assert_int_equal(p.transitions[UNVMF_POLL_SPINNING], 1);
	assert_int_equal(p.transitions[UNVMF_POLL_SLEEPING], 1);
}

/* Work inside the window starts a new one: a QD1 stream never sleeps between commands. */
static void test_work_in_window_restarts_it(void **state)
{
	struct unvmf_poll_policy p;

	(void)state;
	unvmf_poll_policy_init(&p, false, 100);
	unvmf_poll_policy_next(&p, true, 0);
	for (uint64_t t = 0; t < 100000; t += 80) {
		assert_int_equal(unvmf_poll_policy_next(&p, false, t), UNVMF_POLL_AGAIN);
		assert_int_equal(unvmf_poll_policy_next(&p, false, t + 79), UNVMF_POLL_AGAIN);
		assert_int_equal(unvmf_poll_policy_next(&p, true, 0), UNVMF_POLL_AGAIN);
	}
	assert_int_equal(p.transitions[UNVMF_POLL_SLEEPING], 0);
}

/* A wakeup that finds nothing (a timer poller) goes back to sleep without a new window. */
static void test_empty_wakeup_sleeps_at_once(void **state)
{
	struct unvmf_poll_policy p;

	(void)state;
	unvmf_poll_policy_init(&p, false, 100);
	unvmf_poll_policy_next(&p, false, 0);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 200), UNVMF_POLL_SLEEP);
	/* Woken 1 ms later by a timer with nothing to do. */
	assert_int_equal(unvmf_poll_policy_next(&p, false, 1200), UNVMF_POLL_SLEEP);
	assert_int_equal(p.state, UNVMF_POLL_SLEEPING);
	/* Woken by a socket: the iteration did work, so the window opens again. */
	assert_int_equal(unvmf_poll_policy_next(&p, true, 0), UNVMF_POLL_AGAIN);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 2000), UNVMF_POLL_AGAIN);
	assert_int_equal(p.state, UNVMF_POLL_SPINNING);
	assert_int_equal(p.transitions[UNVMF_POLL_ACTIVE], 1);
}

/* spin_us 0 is the old behaviour: sleep at the first iteration that finds nothing. */
static void test_no_spin_sleeps_at_first_idle(void **state)
{
	struct unvmf_poll_policy p;

	(void)state;
	unvmf_poll_policy_init(&p, false, 0);
	assert_int_equal(unvmf_poll_policy_next(&p, true, 0), UNVMF_POLL_AGAIN);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 5), UNVMF_POLL_SLEEP);
	assert_int_equal(p.transitions[UNVMF_POLL_SPINNING], 0);
}

/* A clock that goes backwards keeps the loop polling rather than sleeping on a bogus window. */
static void test_clock_backwards_stays_in_window(void **state)
{
	struct unvmf_poll_policy p;

	(void)state;
	unvmf_poll_policy_init(&p, false, 100);
	unvmf_poll_policy_next(&p, false, 5000);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 10), UNVMF_POLL_AGAIN);
	assert_int_equal(unvmf_poll_policy_next(&p, false, 5100), UNVMF_POLL_SLEEP);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(unvmf_poll_state_str(UNVMF_POLL_ACTIVE), "active");
	assert_string_equal(unvmf_poll_state_str(UNVMF_POLL_SPINNING), "spinning");
	assert_string_equal(unvmf_poll_state_str(UNVMF_POLL_SLEEPING), "sleeping");
	assert_string_equal(unvmf_poll_state_str(UNVMF_POLL_NUM_STATES), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_busy_poll_never_sleeps),
	    cmocka_unit_test(test_spin_window_then_sleep),
	    cmocka_unit_test(test_work_in_window_restarts_it),
	    cmocka_unit_test(test_empty_wakeup_sleeps_at_once),
	    cmocka_unit_test(test_no_spin_sleeps_at_first_idle),
	    cmocka_unit_test(test_clock_backwards_stays_in_window),
	    cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
