#pragma once
/*
 * Shared between reactor.c (loop and lifecycle), poller.c and msg.c. Nothing
 * here is API: other modules go through reactor.h.
 */
#include "reactor/poll_policy.h"
#include "reactor/reactor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

enum poller_state {
	/* Registered during an iteration: skipped until the iteration ends. */
	POLLER_STATE_STARTING,
	POLLER_STATE_ACTIVE,
	/* Unregistered during an iteration: freed once the iteration ends. */
	POLLER_STATE_UNREGISTERED,
};

struct unvmf_poller {
	TAILQ_ENTRY(unvmf_poller) link;
	struct unvmf_thread *thread;
	unvmf_poller_fn fn;
	void *arg;
	uint64_t period_us;
	uint64_t next_run_us;
	enum poller_state state;
	/* Set while the poller keeps returning < 0, so the error is logged once. */
	bool failing;
	char name[32];
};

TAILQ_HEAD(poller_list, unvmf_poller);

struct reactor_msg {
	STAILQ_ENTRY(reactor_msg) link;
	unvmf_msg_fn fn;
	void *arg;
};

STAILQ_HEAD(reactor_msg_list, reactor_msg);

/*
 * One per reactor. Every field without a lock or an _Atomic is touched by the
 * owning thread only (or by the lifecycle functions while no loop runs).
 */
struct unvmf_thread {
	unsigned index;
	unsigned core;
	bool busy_poll;
	struct unvmf_poll_policy policy; /* when the loop may sleep */
	int epoll_fd;
	/* Wakes the loop for messages and stop; readable until the loop reads it. */
	int event_fd;

	pthread_mutex_t msg_lock;
	struct reactor_msg_list msgs; /* under msg_lock */
	/*
	 * Messages on msgs, written under msg_lock and read without it so that an
	 * iteration with nothing queued (nearly all of them) takes no lock.
	 */
	atomic_uint msgs_queued;
	/*
	 * Set just before epoll_wait. Senders write event_fd only when it is set;
	 * both sides order it against the queue through msg_lock (see reactor_sleep).
	 */
	atomic_bool sleeping;
	atomic_bool running;

	struct poller_list pollers;       /* period 0 */
	struct poller_list timed_pollers; /* period > 0 */
	/* Earliest next_run_us among timed pollers (may be stale-early, never late). */
	uint64_t next_timer_us;
	bool in_iteration;
	bool reap_needed;
	unsigned wake_fd_count;

	pthread_t pthread;
	bool has_pthread;

	/* Written by the owner with relaxed stores so other threads may read them. */
	_Atomic uint64_t stat_iterations;
	_Atomic uint64_t stat_busy;
	_Atomic uint64_t stat_sleeps;
};

/* True once unvmf_reactors_stop() ran; new messages are refused from then on. */
bool reactor_stopping(void);
/* Makes event_fd readable so a sleeping loop returns from epoll_wait. Async-signal-safe. */
void reactor_thread_kick(struct unvmf_thread *thread);

/* Runs the messages queued so far (not those they send); returns how many ran. */
int reactor_msgs_run(struct unvmf_thread *thread);
bool reactor_msgs_pending(struct unvmf_thread *thread);
/* Frees queued messages without running them; returns how many there were. */
unsigned reactor_msgs_discard(struct unvmf_thread *thread);

int reactor_pollers_run(struct unvmf_thread *thread);
int reactor_timed_pollers_run(struct unvmf_thread *thread, uint64_t now);
/* Frees pollers unregistered during the iteration and activates new ones. */
void reactor_pollers_reap(struct unvmf_thread *thread);
/* Frees what is left at fini; returns how many pollers were still registered. */
unsigned reactor_pollers_release(struct unvmf_thread *thread);
