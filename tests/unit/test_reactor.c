/*
 * Reactor: pollers, timers, messages, for_each_thread, sleeping and stopping.
 * Reactors run on background pthreads; checks made on a reactor thread are
 * recorded in atomics and asserted on the test thread (cmocka's asserts
 * longjmp and must stay on the thread that runs the test). Timing bounds are
 * deliberately loose: the machine may be loaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "reactor/reactor.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Polls cond for up to 5 s; a hang shows up as a failed assert, not a ctest timeout. */
#define WAIT_UNTIL(cond)                                                                           \
	do {                                                                                       \
		unsigned waited_ms_ = 0;                                                           \
		while (!(cond) && waited_ms_ < 5000) {                                             \
			sleep_ms(1);                                                               \
			waited_ms_++;                                                              \
		}                                                                                  \
		assert_true(cond);                                                                 \
	} while (0)

static int reactors_start(bool busy_poll)
{
	struct unvmf_reactor_opts opts = {.cpumask = 0x3, .busy_poll = busy_poll};

	if (unvmf_reactors_init(&opts))
		return -1;
	if (unvmf_reactors_start_background()) {
		unvmf_reactors_fini();
		return -1;
	}
	return 0;
}

static int setup_idle(void **state)
{
	return reactors_start(false);
}

static int setup_busy(void **state)
{
	return reactors_start(true);
}

static int teardown(void **state)
{
	unvmf_reactors_stop();
	unvmf_reactors_join();
	unvmf_reactors_fini();
	return 0;
}

/* Runs fn(arg) on reactor index and waits for it: pollers may only be touched by their owner. */
struct call {
	void (*fn)(void *arg);
	void *arg;
	atomic_bool done;
};

static void call_trampoline(void *arg)
{
	struct call *call = arg;

	call->fn(call->arg);
	atomic_store(&call->done, true);
}

static void run_on(unsigned index, void (*fn)(void *arg), void *arg)
{
	struct call call = {.fn = fn, .arg = arg};

	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(index), call_trampoline, &call),
	                 0);
	WAIT_UNTIL(atomic_load(&call.done));
}

static void nothing(void *arg)
{
}

/* ---- timed pollers ---- */

struct counting_poller {
	struct unvmf_poller *poller;
	uint64_t period_us;
	int rc;
	atomic_uint calls;
	/* Self-unregistration after this many calls; 0 = never. */
	unsigned stop_after;
};

static int counting_poll(void *arg)
{
	struct counting_poller *cp = arg;
	unsigned calls = atomic_fetch_add(&cp->calls, 1) + 1;

	if (cp->stop_after && calls == cp->stop_after)
		unvmf_poller_unregister(&cp->poller);
	return cp->rc;
}

static void counting_register(void *arg)
{
	struct counting_poller *cp = arg;

	cp->poller = unvmf_poller_register(counting_poll, cp, cp->period_us, "counting");
}

static void counting_unregister(void *arg)
{
	struct counting_poller *cp = arg;

	unvmf_poller_unregister(&cp->poller);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Timing checks wait for the event instead of assuming a schedule, and bound
 * counts by the time that really passed: a loaded machine slows them down
 * but cannot make them fail.
 */
static void test_timed_poller_fires_at_period(void **state)
{
	struct counting_poller cp = {.period_us = 1000, .rc = 1};
	uint64_t t0 = now_ms(), elapsed;
	unsigned calls;

	run_on(1, counting_register, &cp);
	assert_non_null(cp.poller);
	WAIT_UNTIL(atomic_load(&cp.calls) >= 3);
	run_on(1, counting_unregister, &cp);
	elapsed = now_ms() - t0;
	assert_null(cp.poller);
	calls = atomic_load(&cp.calls);
	/* At most one firing per period (plus the first, due at once). */
	assert_true(calls <= elapsed + 2);
}

static void test_idle_timer_sleeps_between_firings(void **state)
{
	struct counting_poller cp = {.period_us = 5000, .rc = 0};
	uint64_t it0, it1, sl0, sl1;

	uint64_t t0 = now_ms(), elapsed;

	run_on(0, counting_register, &cp);
	unvmf_thread_get_stats(unvmf_reactor_thread(0), &it0, NULL, &sl0);
	WAIT_UNTIL(atomic_load(&cp.calls) >= 3);
	unvmf_thread_get_stats(unvmf_reactor_thread(0), &it1, NULL, &sl1);
	run_on(0, counting_unregister, &cp);
	elapsed = now_ms() - t0;
	/* Spinning to the deadline would show tens of thousands of iterations. */
	assert_true(sl1 - sl0 >= 2);
	assert_true(it1 - it0 < 100 + 10 * elapsed);
}

static void test_failing_poller_counts_as_idle(void **state)
{
	struct counting_poller cp = {.period_us = 0, .rc = -EIO};
	uint64_t it0, it1, busy0, busy1, sleeps;

	uint64_t sleeps0;

	run_on(1, counting_register, &cp);
	unvmf_thread_get_stats(unvmf_reactor_thread(1), &it0, &busy0, &sleeps0);
	WAIT_UNTIL(atomic_load(&cp.calls) >= 1);
	(void)sleeps0;
	sleep_ms(30);
	unvmf_thread_get_stats(unvmf_reactor_thread(1), &it1, &busy1, &sleeps);
	run_on(1, counting_unregister, &cp);
	assert_true(atomic_load(&cp.calls) >= 1);
	/* The iteration of the run_on message is the only busy one in the window. */
	assert_true(busy1 - busy0 <= 2);
	/* An untimed poller counted as busy would spin the loop through thousands of iterations. */
	assert_true(it1 - it0 <= 5);
	assert_true(sleeps >= 1);
}

/* ---- unregistration during an iteration ---- */

static void test_unregister_inside_callback(void **state)
{
	struct counting_poller untimed = {.period_us = 0, .rc = 1, .stop_after = 3};
	struct counting_poller timed = {.period_us = 500, .rc = 1, .stop_after = 2};

	run_on(1, counting_register, &untimed);
	run_on(1, counting_register, &timed);
	WAIT_UNTIL(atomic_load(&untimed.calls) >= 3 && atomic_load(&timed.calls) >= 2);
	sleep_ms(20);
	/* Orders our reads of the poller pointers after the reactor's writes. */
	run_on(1, nothing, NULL);
	assert_int_equal(atomic_load(&untimed.calls), 3);
	assert_int_equal(atomic_load(&timed.calls), 2);
	assert_null(untimed.poller);
	assert_null(timed.poller);
}

struct sibling_ctx {
	struct unvmf_poller *first;
	struct unvmf_poller *second;
	struct unvmf_poller *late;
	atomic_uint first_calls;
	atomic_uint second_calls;
	/* first_calls as seen by late's first call. */
	atomic_uint late_saw;
	atomic_bool late_done;
};

static int late_poll(void *arg)
{
	struct sibling_ctx *ctx = arg;

	atomic_store(&ctx->late_saw, atomic_load(&ctx->first_calls));
	atomic_store(&ctx->late_done, true);
	unvmf_poller_unregister(&ctx->late);
	return 1;
}

static int second_poll(void *arg)
{
	struct sibling_ctx *ctx = arg;

	atomic_fetch_add(&ctx->second_calls, 1);
	return 1;
}

/* Removes its sibling (later in the list), then itself, while the list is being walked. */
static int first_poll(void *arg)
{
	struct sibling_ctx *ctx = arg;
	unsigned calls = atomic_fetch_add(&ctx->first_calls, 1) + 1;

	if (calls == 1) {
		unvmf_poller_unregister(&ctx->second);
		ctx->late = unvmf_poller_register(late_poll, ctx, 0, "late");
	}
	if (calls == 2)
		unvmf_poller_unregister(&ctx->first);
	return 1;
}

static void sibling_register(void *arg)
{
	struct sibling_ctx *ctx = arg;

	ctx->first = unvmf_poller_register(first_poll, ctx, 0, "first");
	ctx->second = unvmf_poller_register(second_poll, ctx, 0, "second");
}

static void test_unregister_sibling_and_register_during_iteration(void **state)
{
	struct sibling_ctx ctx = {0};

	run_on(0, sibling_register, &ctx);
	WAIT_UNTIL(atomic_load(&ctx.late_done) && atomic_load(&ctx.first_calls) >= 2);
	sleep_ms(10);
	run_on(0, nothing, NULL);
	assert_int_equal(atomic_load(&ctx.second_calls), 0);
	assert_int_equal(atomic_load(&ctx.first_calls), 2);
	/* late started on the iteration after its registration, after first's second call. */
	assert_int_equal(atomic_load(&ctx.late_saw), 2);
	assert_null(ctx.first);
	assert_null(ctx.second);
	assert_null(ctx.late);
}

static int test_poll_never_called(void *arg)
{
	return -EIO;
}

static void test_register_outside_reactor_fails(void **state)
{
	int fd = eventfd(0, EFD_NONBLOCK);

	assert_null(unvmf_poller_register(test_poll_never_called, NULL, 0, "nope"));
	assert_int_equal(unvmf_thread_add_wake_fd(fd), -EINVAL);
	assert_null(unvmf_thread_get());
	assert_int_equal(unvmf_for_each_thread(call_trampoline, NULL, NULL), -EINVAL);
	assert_int_equal(unvmf_thread_send_msg(NULL, call_trampoline, NULL), -EINVAL);
	close(fd);
}

/* ---- messages ---- */

#define MSG_SENDERS 4
#define MSGS_PER_SENDER 500

/* Touched only by the receiving reactor, so plain fields; read after a run_on barrier. */
static struct {
	unsigned next_seq[2][MSG_SENDERS];
	unsigned received[2];
	atomic_uint out_of_order;
	atomic_uint wrong_thread;
	atomic_uint total;
} g_msgs;

static uintptr_t msg_encode(unsigned receiver, unsigned sender, unsigned seq)
{
	return ((uintptr_t)receiver << 24) | ((uintptr_t)sender << 16) | seq;
}

static void ordered_msg(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	unsigned receiver = (v >> 24) & 0xff, sender = (v >> 16) & 0xff, seq = v & 0xffff;
	struct unvmf_thread *self = unvmf_thread_get();

	if (!self || unvmf_thread_index(self) != receiver) {
		atomic_fetch_add(&g_msgs.wrong_thread, 1);
		return;
	}
	if (g_msgs.next_seq[receiver][sender] != seq)
		atomic_fetch_add(&g_msgs.out_of_order, 1);
	g_msgs.next_seq[receiver][sender] = seq + 1;
	g_msgs.received[receiver]++;
	atomic_fetch_add(&g_msgs.total, 1);
}

static void send_burst_from_reactor(void *arg)
{
	unsigned seq;

	for (seq = 0; seq < MSGS_PER_SENDER; seq++) {
		if (unvmf_thread_send_msg(unvmf_reactor_thread(1), ordered_msg,
		                          (void *)msg_encode(1, 0, seq)))
			atomic_fetch_add(&g_msgs.out_of_order, 1);
	}
}

static void test_message_order_from_one_sender(void **state)
{
	memset(&g_msgs, 0, sizeof(g_msgs));
	/* Reactor 0 sends to reactor 1 while reactor 1 drains concurrently. */
	run_on(0, send_burst_from_reactor, NULL);
	WAIT_UNTIL(atomic_load(&g_msgs.total) == MSGS_PER_SENDER);
	run_on(1, nothing, NULL);
	assert_int_equal(atomic_load(&g_msgs.out_of_order), 0);
	assert_int_equal(atomic_load(&g_msgs.wrong_thread), 0);
	assert_int_equal(g_msgs.received[1], MSGS_PER_SENDER);
}

static void *sender_main(void *arg)
{
	unsigned sender = (unsigned)(uintptr_t)arg, seq, r;

	for (seq = 0; seq < MSGS_PER_SENDER; seq++) {
		for (r = 0; r < 2; r++) {
			if (unvmf_thread_send_msg(unvmf_reactor_thread(r), ordered_msg,
			                          (void *)msg_encode(r, sender, seq)))
				atomic_fetch_add(&g_msgs.out_of_order, 1);
		}
		/* Give the receivers a chance to fall asleep between messages. */
		if (seq % 64 == 0)
			sleep_ms(1);
	}
	return NULL;
}

static void test_messages_from_non_reactor_threads(void **state)
{
	pthread_t senders[MSG_SENDERS];
	unsigned i;

	memset(&g_msgs, 0, sizeof(g_msgs));
	for (i = 0; i < MSG_SENDERS; i++)
		assert_int_equal(
		    pthread_create(&senders[i], NULL, sender_main, (void *)(uintptr_t)i), 0);
	for (i = 0; i < MSG_SENDERS; i++)
		pthread_join(senders[i], NULL);
	WAIT_UNTIL(atomic_load(&g_msgs.total) == 2 * MSG_SENDERS * MSGS_PER_SENDER);
	run_on(0, nothing, NULL);
	run_on(1, nothing, NULL);
	assert_int_equal(atomic_load(&g_msgs.out_of_order), 0);
	assert_int_equal(atomic_load(&g_msgs.wrong_thread), 0);
	assert_int_equal(g_msgs.received[0], MSG_SENDERS * MSGS_PER_SENDER);
	assert_int_equal(g_msgs.received[1], MSG_SENDERS * MSGS_PER_SENDER);
}

/* ---- for_each_thread ---- */

struct walk {
	unsigned visits[8];
	atomic_uint nvisits;
	int start_rc;
	int done_thread;
	unsigned visits_at_done;
	atomic_bool done;
};

static void walk_visit(void *arg)
{
	struct walk *w = arg;
	struct unvmf_thread *self = unvmf_thread_get();

	unsigned n = atomic_fetch_add(&w->nvisits, 1);

	if (n < 8)
		w->visits[n] = self ? unvmf_thread_index(self) : 99;
}

static void walk_done(void *arg)
{
	struct walk *w = arg;
	struct unvmf_thread *self = unvmf_thread_get();

	w->done_thread = self ? (int)unvmf_thread_index(self) : -1;
	w->visits_at_done = atomic_load(&w->nvisits);
	atomic_store(&w->done, true);
}

static void walk_start(void *arg)
{
	struct walk *w = arg;

	w->start_rc = unvmf_for_each_thread(walk_visit, w, walk_done);
}

static void test_for_each_thread_visits_all_then_done_on_origin(void **state)
{
	struct walk w = {.done_thread = -1};

	run_on(1, walk_start, &w);
	assert_int_equal(w.start_rc, 0);
	WAIT_UNTIL(atomic_load(&w.done));
	assert_int_equal(atomic_load(&w.nvisits), 2);
	assert_int_equal(w.visits_at_done, 2);
	assert_int_equal(w.visits[0], 0);
	assert_int_equal(w.visits[1], 1);
	assert_int_equal(w.done_thread, 1);
}

static void walk_start_no_done(void *arg)
{
	struct walk *w = arg;

	w->start_rc = unvmf_for_each_thread(walk_visit, w, NULL);
}

static void test_for_each_thread_without_done(void **state)
{
	struct walk w = {0};

	run_on(0, walk_start_no_done, &w);
	assert_int_equal(w.start_rc, 0);
	/* The walk ends on reactor 1; a message there afterwards orders us behind it. */
	WAIT_UNTIL((run_on(1, nothing, NULL), atomic_load(&w.nvisits) == 2));
	assert_int_equal(w.visits[0], 0);
	assert_int_equal(w.visits[1], 1);
}

/* ---- sleeping ---- */

static void test_idle_thread_sleeps(void **state)
{
	uint64_t it[2], busy[2], sleeps[2];
	unsigned i;

	for (i = 0; i < 2; i++)
		WAIT_UNTIL((unvmf_thread_get_stats(unvmf_reactor_thread(i), NULL, NULL, &sleeps[i]),
			    sleeps[i] >= 1));
	sleep_ms(100);
	for (i = 0; i < 2; i++) {
		unvmf_thread_get_stats(unvmf_reactor_thread(i), &it[i], &busy[i], &sleeps[i]);
		assert_true(sleeps[i] >= 1);
		assert_true(busy[i] <= 2);
		/* No timer, no message: the loop should block in epoll_wait, not spin. */
		assert_true(it[i] < 100);
	}
}

static void test_busy_poll_never_sleeps(void **state)
{
	uint64_t it, sleeps;
	unsigned i;

	sleep_ms(50);
	for (i = 0; i < 2; i++) {
		assert_true(unvmf_thread_is_busy_poll(unvmf_reactor_thread(i)));
		unvmf_thread_get_stats(unvmf_reactor_thread(i), &it, NULL, &sleeps);
		assert_int_equal(sleeps, 0);
		assert_true(it > 100);
	}
}

struct wake_ctx {
	int fd;
	int add_rc;
	struct unvmf_poller *poller;
	atomic_ullong seen;
};

static int wake_poll(void *arg)
{
	struct wake_ctx *ctx = arg;
	uint64_t value;

	if (read(ctx->fd, &value, sizeof(value)) != sizeof(value))
		return 0;
	atomic_fetch_add(&ctx->seen, value);
	return 1;
}

static void wake_register(void *arg)
{
	struct wake_ctx *ctx = arg;

	ctx->poller = unvmf_poller_register(wake_poll, ctx, 0, "wake");
	ctx->add_rc = unvmf_thread_add_wake_fd(ctx->fd);
}

static void wake_unregister(void *arg)
{
	struct wake_ctx *ctx = arg;

	unvmf_thread_remove_wake_fd(ctx->fd);
	unvmf_poller_unregister(&ctx->poller);
}

static void test_wake_fd_wakes_sleeping_thread(void **state)
{
	struct wake_ctx ctx = {.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
	uint64_t value = 42, it0, it1, it2;

	assert_true(ctx.fd >= 0);
	run_on(1, wake_register, &ctx);
	assert_int_equal(ctx.add_rc, 0);
	sleep_ms(10);
	/* No timer, no message, empty fd: a frozen iteration count means the loop is asleep. */
	unvmf_thread_get_stats(unvmf_reactor_thread(1), &it0, NULL, NULL);
	sleep_ms(10);
	unvmf_thread_get_stats(unvmf_reactor_thread(1), &it1, NULL, NULL);
	assert_true(it1 == it0);
	assert_int_equal(write(ctx.fd, &value, sizeof(value)), sizeof(value));
	/* epoll_wait has timeout -1 here: only the wake fd can end this sleep. */
	WAIT_UNTIL(atomic_load(&ctx.seen) == 42);
	unvmf_thread_get_stats(unvmf_reactor_thread(1), &it2, NULL, NULL);
	assert_true(it2 > it1);
	run_on(1, wake_unregister, &ctx);
	close(ctx.fd);
}

/* ---- stopping ---- */

static void *stopper_main(void *arg)
{
	sleep_ms(20);
	unvmf_reactors_stop();
	return NULL;
}

static void test_stop_from_another_thread(void **state)
{
	pthread_t stopper;

	assert_int_equal(pthread_create(&stopper, NULL, stopper_main, NULL), 0);
	unvmf_reactors_join();
	pthread_join(stopper, NULL);
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(0), nothing, NULL), -ESHUTDOWN);
}

static atomic_int g_run_thread_index;
static pthread_t g_run_caller;
static atomic_bool g_run_on_caller;

static void note_run_thread(void *arg)
{
	struct unvmf_thread *self = unvmf_thread_get();

	atomic_store(&g_run_thread_index, self ? (int)unvmf_thread_index(self) : -1);
	atomic_store(&g_run_on_caller, pthread_equal(pthread_self(), g_run_caller) != 0);
}

static void test_run_uses_caller_for_reactor_zero(void **state)
{
	struct unvmf_reactor_opts opts = {.cpumask = 0x3};
	pthread_t stopper;

	atomic_store(&g_run_thread_index, -2);
	g_run_caller = pthread_self();
	assert_int_equal(unvmf_reactors_init(&opts), 0);
	assert_int_equal(unvmf_reactors_init(&opts), -EALREADY);
	assert_int_equal(unvmf_reactor_count(), 2);
	assert_int_equal(unvmf_thread_core(unvmf_reactor_thread(1)), 1);
	assert_null(unvmf_reactor_thread(2));
	/* Queued before the loop exists: must run once it does. */
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(0), note_run_thread, NULL), 0);
	assert_int_equal(pthread_create(&stopper, NULL, stopper_main, NULL), 0);
	assert_int_equal(unvmf_reactors_run(), 0);
	pthread_join(stopper, NULL);
	assert_int_equal(atomic_load(&g_run_thread_index), 0);
	assert_true(atomic_load(&g_run_on_caller));
	assert_null(unvmf_thread_get());
	unvmf_reactors_fini();
}

static atomic_int g_send_after_stop_rc;
static atomic_uint g_pending_ran;

static void count_pending(void *arg)
{
	atomic_fetch_add(&g_pending_ran, 1);
}

static void stop_then_send(void *arg)
{
	unsigned i;

	/* Queued before stop: the loop must still run these before it exits. */
	for (i = 0; i < 10; i++)
		unvmf_thread_send_msg(unvmf_reactor_thread(1), count_pending, NULL);
	unvmf_reactors_stop();
	atomic_store(&g_send_after_stop_rc,
	             unvmf_thread_send_msg(unvmf_reactor_thread(1), count_pending, NULL));
}

static void test_send_after_stop_is_refused(void **state)
{
	atomic_store(&g_send_after_stop_rc, 1);
	atomic_store(&g_pending_ran, 0);
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(0), stop_then_send, NULL), 0);
	unvmf_reactors_join();
	assert_int_equal(atomic_load(&g_send_after_stop_rc), -ESHUTDOWN);
	assert_int_equal(atomic_load(&g_pending_ran), 10);
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(1), nothing, NULL), -ESHUTDOWN);
	assert_int_equal(unvmf_for_each_thread(nothing, NULL, NULL), -EINVAL);
}

static struct unvmf_poller *g_leftover;

static int idle_poll(void *arg)
{
	return 0;
}

static void leave_poller(void *arg)
{
	g_leftover = unvmf_poller_register(idle_poll, NULL, 1000, "leftover");
}

/* fini must release what callers left behind (ASan checks the leak side). */
static void test_fini_releases_leftovers(void **state)
{
	struct unvmf_reactor_opts opts = {.cpumask = 0x3};

	assert_int_equal(unvmf_reactors_init(&opts), 0);
	/* Never started: these messages can only be discarded. */
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(0), nothing, NULL), 0);
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(1), nothing, NULL), 0);
	unvmf_reactors_fini();

	assert_int_equal(unvmf_reactors_init(&opts), 0);
	assert_int_equal(unvmf_reactors_start_background(), 0);
	assert_int_equal(unvmf_reactors_start_background(), -EINVAL);
	run_on(1, leave_poller, NULL);
	assert_non_null(g_leftover);
	unvmf_reactors_stop();
	unvmf_reactors_join();
	unvmf_reactors_fini();
	g_leftover = NULL;
	assert_int_equal(unvmf_reactor_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_timed_poller_fires_at_period, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_idle_timer_sleeps_between_firings, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_failing_poller_counts_as_idle, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unregister_inside_callback, setup_idle, teardown),
	    cmocka_unit_test_setup_teardown(test_unregister_sibling_and_register_during_iteration,
	                                    setup_idle, teardown),
	    cmocka_unit_test_setup_teardown(test_register_outside_reactor_fails, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_message_order_from_one_sender, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_messages_from_non_reactor_threads, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_for_each_thread_visits_all_then_done_on_origin,
	                                    setup_idle, teardown),
	    cmocka_unit_test_setup_teardown(test_for_each_thread_without_done, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_idle_thread_sleeps, setup_idle, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_poll_never_sleeps, setup_busy, teardown),
	    cmocka_unit_test_setup_teardown(test_wake_fd_wakes_sleeping_thread, setup_idle,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_stop_from_another_thread, setup_idle, teardown),
	    cmocka_unit_test_setup_teardown(test_send_after_stop_is_refused, setup_idle, teardown),
	    cmocka_unit_test(test_run_uses_caller_for_reactor_zero),
	    cmocka_unit_test(test_fini_releases_leftovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
