/*
 * Reactor lifecycle and loop. Pollers live in poller.c, messages in msg.c.
 *
 * An iteration runs the queued messages, every untimed poller and the due
 * timed pollers. Unless busy polling, the loop sleeps in epoll_wait once
 * iterations have found nothing to do for the spin window (poll_policy.h);
 * the epoll set holds event_fd (messages, stop) and the wake fds, which only
 * wake the loop: pollers drain them.
 */
#include "reactor/reactor_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define REACTOR_MAX 64

static struct {
	struct unvmf_thread *threads;
	unsigned count;
	bool pin_threads;
	/* A loop was started (run or background); init/fini must pair around it. */
	bool started;
} g_reactors;

/* Lock-free, so setting it from a signal handler is safe. */
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "unvmf_reactors_stop must stay async-signal-safe");
static atomic_bool g_stop;
static _Thread_local struct unvmf_thread *t_current;

bool reactor_stopping(void)
{
	return atomic_load(&g_stop);
}

/* Simulation time: when set, unvmf_now_us() returns it and only the simulator moves it. */
static atomic_bool g_virtual_clock;
static _Atomic uint64_t g_virtual_now_us;

void unvmf_clock_set_virtual(bool on, uint64_t start_us)
{
	atomic_store(&g_virtual_now_us, start_us);
	atomic_store(&g_virtual_clock, on);
}

void unvmf_clock_advance(uint64_t us)
{
	atomic_fetch_add(&g_virtual_now_us, us);
}

uint64_t unvmf_now_us(void)
{
	struct timespec ts;

	if (unvmf_unlikely(atomic_load_explicit(&g_virtual_clock, memory_order_relaxed)))
		return atomic_load(&g_virtual_now_us);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void reactor_thread_kick(struct unvmf_thread *thread)
{
	uint64_t one = 1;
	ssize_t rc;

	/* EAGAIN means the counter is saturated, i.e. already readable: nothing lost. */
	rc = write(thread->event_fd, &one, sizeof(one));
	(void)rc;
}

static void event_fd_drain(struct unvmf_thread *thread)
{
	uint64_t value;
	ssize_t rc;

	/* Non-blocking; one read resets the counter, EAGAIN means a racing reader got it. */
	rc = read(thread->event_fd, &value, sizeof(value));
	(void)rc;
}

/* Relaxed load+store, not an RMW: only the owner writes, others just read. */
static void stat_inc(_Atomic uint64_t *counter)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

static bool reactor_iterate(struct unvmf_thread *thread)
{
	int busy;

	thread->in_iteration = true;
	busy = reactor_msgs_run(thread);
	busy += reactor_pollers_run(thread);
	if (thread->next_timer_us != UINT64_MAX) {
		uint64_t now = unvmf_now_us();

		if (now >= thread->next_timer_us)
			busy += reactor_timed_pollers_run(thread, now);
	}
	thread->in_iteration = false;
	reactor_pollers_reap(thread);
	stat_inc(&thread->stat_iterations);
	if (busy)
		stat_inc(&thread->stat_busy);
	return busy > 0;
}

/* Milliseconds until the next timed poller: -1 for none, 0 if one is due. */
static int reactor_sleep_timeout_ms(struct unvmf_thread *thread)
{
	uint64_t now, ms;

	if (thread->next_timer_us == UINT64_MAX)
		return -1;
	now = unvmf_now_us();
	if (now >= thread->next_timer_us)
		return 0;
	/* Rounded up so the loop never wakes before the deadline and spins. */
	ms = UNVMF_DIV_ROUND_UP(thread->next_timer_us - now, 1000);
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void reactor_sleep(struct unvmf_thread *thread)
{
	struct epoll_event events[16];
	int timeout = reactor_sleep_timeout_ms(thread);
	int n, i;

	if (timeout == 0)
		return;
	/*
	 * Dekker-style handshake with unvmf_thread_send_msg, ordered by msg_lock:
	 * we publish sleeping, then look at the queue; a sender queues, then
	 * reads sleeping. Either we see its message or it sees us asleep and
	 * writes event_fd, so no message waits for the timeout.
	 */
	atomic_store(&thread->sleeping, true);
	if (reactor_msgs_pending(thread) || reactor_stopping()) {
		atomic_store(&thread->sleeping, false);
		return;
	}
	/* Counted on entry so a loop blocked for good still shows it went to sleep. */
	stat_inc(&thread->stat_sleeps);
	n = epoll_wait(thread->epoll_fd, events, (int)UNVMF_ARRAY_SIZE(events), timeout);
	atomic_store(&thread->sleeping, false);
	if (n < 0) {
		if (errno != EINTR)
			LOG_ERR("reactor %u: epoll_wait: %s", thread->index, strerror(errno));
		return;
	}
	for (i = 0; i < n; i++) {
		if (events[i].data.fd == thread->event_fd)
			event_fd_drain(thread);
	}
}

static void reactor_loop(struct unvmf_thread *thread)
{
	t_current = thread;
	atomic_store(&thread->running, true);
	while (!reactor_stopping()) {
		bool busy = reactor_iterate(thread);

		/* The clock is read only when the iteration found nothing. */
		if (!thread->busy_poll &&
		    unvmf_poll_policy_next(&thread->policy, busy, busy ? 0 : unvmf_now_us()) ==
		        UNVMF_POLL_SLEEP)
			reactor_sleep(thread);
	}
	/*
	 * Messages accepted before stop must run: their senders were told 0 and
	 * may be waiting on them to free memory. Those they send now get -ESHUTDOWN,
	 * so this terminates.
	 */
	while (reactor_msgs_run(thread) > 0)
		;
	atomic_store(&thread->running, false);
	t_current = NULL;
}

int unvmf_reactors_manual_begin(void)
{
	if (g_reactors.count == 0)
		return -EINVAL;
	for (unsigned i = 0; i < g_reactors.count; i++)
		atomic_store(&g_reactors.threads[i].running, true);
	t_current = &g_reactors.threads[0];
	return 0;
}

bool unvmf_reactor_step(unsigned index)
{
	struct unvmf_thread *thread = &g_reactors.threads[index];
	bool busy;

	t_current = thread;
	busy = reactor_iterate(thread);
	t_current = &g_reactors.threads[0];
	return busy;
}

void unvmf_reactors_manual_end(void)
{
	for (unsigned i = 0; i < g_reactors.count; i++) {
		struct unvmf_thread *thread = &g_reactors.threads[i];

		t_current = thread;
		while (reactor_msgs_run(thread) > 0)
			;
		atomic_store(&thread->running, false);
	}
	t_current = NULL;
}

static void reactor_pin(struct unvmf_thread *thread)
{
	cpu_set_t set;
	int rc;

	CPU_ZERO(&set);
	CPU_SET(thread->core, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	/* Unpinned still works, only slower: not worth failing the start. */
	if (rc)
		LOG_WARN("reactor %u: cannot pin to core %u: %s", thread->index, thread->core,
		         strerror(rc));
}

static void *reactor_thread_main(void *arg)
{
	struct unvmf_thread *thread = arg;
	char name[16];

	snprintf(name, sizeof(name), "reactor_%u", thread->index);
	pthread_setname_np(pthread_self(), name);
	if (g_reactors.pin_threads)
		reactor_pin(thread);
	reactor_loop(thread);
	return NULL;
}

static int reactor_thread_init(struct unvmf_thread *thread, unsigned index, unsigned core,
                               bool busy_poll, uint32_t spin_us)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	thread->index = index;
	thread->core = core;
	thread->busy_poll = busy_poll;
	unvmf_poll_policy_init(&thread->policy, busy_poll, spin_us);
	STAILQ_INIT(&thread->msgs);
	TAILQ_INIT(&thread->pollers);
	TAILQ_INIT(&thread->timed_pollers);
	thread->next_timer_us = UINT64_MAX;
	thread->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (thread->epoll_fd < 0)
		return -errno;
	thread->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (thread->event_fd < 0) {
		rc = -errno;
		goto close_epoll_fd;
	}
	ev.data.fd = thread->event_fd;
	if (epoll_ctl(thread->epoll_fd, EPOLL_CTL_ADD, thread->event_fd, &ev)) {
		rc = -errno;
		goto close_event_fd;
	}
	rc = pthread_mutex_init(&thread->msg_lock, NULL);
	if (rc) {
		rc = -rc;
		goto close_event_fd;
	}
	return 0;

close_event_fd:
	close(thread->event_fd);
close_epoll_fd:
	close(thread->epoll_fd);
	return rc;
}

static void reactor_thread_fini(struct unvmf_thread *thread)
{
	unsigned n;

	n = reactor_msgs_discard(thread);
	if (n)
		LOG_WARN("reactor %u: %u message(s) never ran", thread->index, n);
	n = reactor_pollers_release(thread);
	if (n)
		LOG_ERR("reactor %u: %u poller(s) still registered at fini", thread->index, n);
#ifdef UNVMF_DEBUG
	if (thread->wake_fd_count)
		LOG_ERR("reactor %u: %u wake fd(s) still registered at fini", thread->index,
		        thread->wake_fd_count);
#endif
	pthread_mutex_destroy(&thread->msg_lock);
	close(thread->event_fd);
	close(thread->epoll_fd);
}

/* With pinning, a core outside our affinity would fail later in a worker thread: refuse it now. */
static int reactor_check_cores(uint64_t mask)
{
	cpu_set_t allowed;
	unsigned core;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return -errno;
	for (core = 0; core < REACTOR_MAX; core++) {
		if ((mask & (1ull << core)) && !CPU_ISSET(core, &allowed)) {
			LOG_ERR("reactor: core %u is not available to this process", core);
			return -EINVAL;
		}
	}
	return 0;
}

int unvmf_reactors_init(const struct unvmf_reactor_opts *opts)
{
	uint64_t mask = opts->cpumask ? opts->cpumask : 1;
	unsigned count = (unsigned)__builtin_popcountll(mask);
	struct unvmf_thread *threads;
	unsigned core, i = 0;
	int rc;

	if (g_reactors.threads)
		return -EALREADY;
	if (opts->pin_threads) {
		rc = reactor_check_cores(mask);
		if (rc)
			return rc;
	}
	threads = calloc(count, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	for (core = 0; core < REACTOR_MAX; core++) {
		if (!(mask & (1ull << core)))
			continue;
		rc = reactor_thread_init(&threads[i], i, core, opts->busy_poll, opts->spin_us);
		if (rc) {
			LOG_ERR("reactor %u (core %u): %s", i, core, strerror(-rc));
			goto fini_threads;
		}
		i++;
	}
	atomic_store(&g_stop, false);
	g_reactors.pin_threads = opts->pin_threads;
	g_reactors.started = false;
	g_reactors.count = count;
	g_reactors.threads = threads;
	return 0;

fini_threads:
	while (i-- > 0)
		reactor_thread_fini(&threads[i]);
	free(threads);
	return rc;
}

/* Starts reactors first..count-1 on pthreads; on failure stops and joins those started. */
static int reactors_spawn(unsigned first)
{
	unsigned i;
	int rc;

	if (!g_reactors.threads || g_reactors.started)
		return -EINVAL;
	g_reactors.started = true;
	for (i = first; i < g_reactors.count; i++) {
		struct unvmf_thread *thread = &g_reactors.threads[i];

		rc = pthread_create(&thread->pthread, NULL, reactor_thread_main, thread);
		if (rc) {
			LOG_ERR("reactor %u: pthread_create: %s", i, strerror(rc));
			goto stop_started;
		}
		thread->has_pthread = true;
	}
	return 0;

stop_started:
	unvmf_reactors_stop();
	unvmf_reactors_join();
	return -rc;
}

int unvmf_reactors_run(void)
{
	cpu_set_t saved;
	bool restore;
	int rc;

	rc = reactors_spawn(1);
	if (rc)
		return rc;
	/* The caller's thread outlives the loop: give it its affinity back afterwards. */
	restore = g_reactors.pin_threads &&
	          pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
	if (g_reactors.pin_threads)
		reactor_pin(&g_reactors.threads[0]);
	reactor_loop(&g_reactors.threads[0]);
	if (restore)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	unvmf_reactors_join();
	return 0;
}

int unvmf_reactors_start_background(void)
{
	return reactors_spawn(0);
}

void unvmf_reactors_join(void)
{
	unsigned i;

	for (i = 0; i < g_reactors.count; i++) {
		struct unvmf_thread *thread = &g_reactors.threads[i];

		if (thread->has_pthread) {
			pthread_join(thread->pthread, NULL);
			thread->has_pthread = false;
		}
	}
}

void unvmf_reactors_stop(void)
{
	unsigned i;

	atomic_store(&g_stop, true);
	for (i = 0; i < g_reactors.count; i++)
		reactor_thread_kick(&g_reactors.threads[i]);
}

void unvmf_reactors_fini(void)
{
	struct unvmf_thread *threads = g_reactors.threads;
	unsigned i;

	if (!threads)
		return;
	/* Freeing under a running loop would be a use-after-free; stopping first is the lesser
	 * evil. */
	if (g_reactors.started && !reactor_stopping()) {
		LOG_ERR("reactor: fini while the loops run; stopping them");
		unvmf_reactors_stop();
	}
	unvmf_reactors_join();
	for (i = 0; i < g_reactors.count; i++)
		reactor_thread_fini(&threads[i]);
	memset(&g_reactors, 0, sizeof(g_reactors));
	free(threads);
}

unsigned unvmf_reactor_count(void)
{
	return g_reactors.count;
}

struct unvmf_thread *unvmf_reactor_thread(unsigned index)
{
	return index < g_reactors.count ? &g_reactors.threads[index] : NULL;
}

struct unvmf_thread *unvmf_thread_get(void)
{
	return t_current;
}

unsigned unvmf_thread_index(const struct unvmf_thread *thread)
{
	return thread->index;
}

unsigned unvmf_thread_core(const struct unvmf_thread *thread)
{
	return thread->core;
}

bool unvmf_thread_is_busy_poll(const struct unvmf_thread *thread)
{
	return thread->busy_poll;
}

void unvmf_thread_get_stats(const struct unvmf_thread *thread, uint64_t *iterations, uint64_t *busy,
                            uint64_t *sleeps)
{
	if (iterations)
		*iterations = atomic_load_explicit(&thread->stat_iterations, memory_order_relaxed);
	if (busy)
		*busy = atomic_load_explicit(&thread->stat_busy, memory_order_relaxed);
	if (sleeps)
		*sleeps = atomic_load_explicit(&thread->stat_sleeps, memory_order_relaxed);
}

int unvmf_thread_add_wake_fd(int fd)
{
	struct unvmf_thread *thread = t_current;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	if (!thread)
		return -EINVAL;
	/* Level-triggered: an fd its poller has not drained keeps the loop awake, by design. */
	if (epoll_ctl(thread->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	thread->wake_fd_count++;
	return 0;
}

void unvmf_thread_remove_wake_fd(int fd)
{
	struct unvmf_thread *thread = t_current;

	if (!thread) {
		LOG_ERR("wake fd %d: removal outside a reactor thread", fd);
		return;
	}
	if (epoll_ctl(thread->epoll_fd, EPOLL_CTL_DEL, fd, NULL)) {
		LOG_ERR("reactor %u: wake fd %d: %s", thread->index, fd, strerror(errno));
		return;
	}
	thread->wake_fd_count--;
}
