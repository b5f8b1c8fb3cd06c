#pragma once
/*
 * Reactor: one event loop per core of a cpumask. Each loop owns a thread, runs
 * its pollers, fires its timed pollers and executes messages sent to it from
 * any thread. When iterations have found no work for spin_us and busy polling
 * is off, the loop sleeps in epoll_wait until the next timed poller is due, a
 * message arrives, or one of its wake fds becomes readable.
 *
 * Threading contract: pollers and wake fds belong to the thread that
 * registered them and must be unregistered on that thread. Messages are the
 * only cross-thread primitive; unvmf_thread_send_msg is safe from any thread
 * (including non-reactor threads such as tests' main thread).
 */
#include <stdbool.h>
#include <stdint.h>

struct unvmf_thread;
struct unvmf_poller;

/* Return > 0 when the call did work (the loop stays busy), 0 when idle, < 0 on error (logged, treated as idle). */
typedef int (*unvmf_poller_fn)(void *arg);
typedef void (*unvmf_msg_fn)(void *arg);

struct unvmf_reactor_opts {
	uint64_t cpumask;	/* bit i = run a reactor on core i; 0 means core 0 only */
	bool busy_poll;		/* never sleep */
	bool pin_threads;	/* set CPU affinity (tests turn it off) */
	/*
	 * Without busy_poll: how long a loop keeps polling after its last work
	 * before it sleeps (reactor/poll_policy.h); 0 sleeps at the first idle
	 * iteration.
	 */
	uint32_t spin_us;
};

/* Creates the reactors; none runs yet. */
int unvmf_reactors_init(const struct unvmf_reactor_opts *opts);
/*
 * Runs reactor 0 on the calling thread and the others on new pthreads; returns
 * after unvmf_reactors_stop() once every reactor has left its loop.
 */
int unvmf_reactors_run(void);
/* Starts every reactor on its own pthread (for tests and libraries); returns at once. */
int unvmf_reactors_start_background(void);
/* Waits for the background reactors to leave their loops after unvmf_reactors_stop(). */
void unvmf_reactors_join(void);
/* Asks every loop to exit. Async-signal-safe (writes an eventfd). */
void unvmf_reactors_stop(void);
/* Frees the reactors; every poller and wake fd must have been unregistered. */
void unvmf_reactors_fini(void);

unsigned unvmf_reactor_count(void);
struct unvmf_thread *unvmf_reactor_thread(unsigned index);
/* The reactor running the caller, or NULL on a non-reactor thread. */
struct unvmf_thread *unvmf_thread_get(void);
unsigned unvmf_thread_index(const struct unvmf_thread *thread);
unsigned unvmf_thread_core(const struct unvmf_thread *thread);
bool unvmf_thread_is_busy_poll(const struct unvmf_thread *thread);
/*
 * Loop counters since init: iterations, iterations that did work (a message or
 * a poller returning > 0), and epoll_wait sleeps. Readable from any thread; the
 * three values are not a consistent snapshot while the loop runs.
 */
void unvmf_thread_get_stats(const struct unvmf_thread *thread, uint64_t *iterations, uint64_t *busy,
			    uint64_t *sleeps);

/* Runs fn(arg) on thread's loop, in send order per sender. Returns -ENOMEM, or -ESHUTDOWN after stop. */
int unvmf_thread_send_msg(struct unvmf_thread *thread, unvmf_msg_fn fn, void *arg);
/*
 * Runs fn(arg) on every reactor in index order, one hop at a time by message;
 * when all ran it, done(arg) (may be NULL) runs on the caller's reactor thread.
 * -EINVAL from a non-reactor thread. If the reactors stop midway, the walk is
 * abandoned and done never runs.
 */
int unvmf_for_each_thread(unvmf_msg_fn fn, void *arg, unvmf_msg_fn done);

/* period_us 0: every loop iteration; otherwise at most once per period (a timer). */
struct unvmf_poller *unvmf_poller_register(unvmf_poller_fn fn, void *arg, uint64_t period_us,
					   const char *name);
/* Safe from within the poller's own callback. Sets *poller to NULL. */
void unvmf_poller_unregister(struct unvmf_poller **poller);

/* A readable fd that must wake this thread from idle sleep (its pollers then drain it). */
int unvmf_thread_add_wake_fd(int fd);
void unvmf_thread_remove_wake_fd(int fd);

/* Monotonic microseconds, cheap. */
uint64_t unvmf_now_us(void);

/*
 * Deterministic simulation (tests/sim): no reactor threads; the caller's
 * thread steps each reactor's loop itself, and time is virtual.
 * manual_begin after unvmf_reactors_init; step runs one iteration of
 * reactor `index` on the calling thread (unvmf_thread_get() answers that
 * reactor meanwhile); manual_end runs the remaining messages.
 */
int unvmf_reactors_manual_begin(void);
bool unvmf_reactor_step(unsigned index);
void unvmf_reactors_manual_end(void);
void unvmf_clock_set_virtual(bool on, uint64_t start_us);
void unvmf_clock_advance(uint64_t us);
