#pragma once
/*
 * When an idle reactor may sleep. A pure state machine, no clock of its own:
 * the loop feeds it each iteration's outcome and the time, and it answers
 * whether to poll again or sleep in epoll_wait (tests/unit/test_poll_policy.c
 * drives it with made-up times).
 *
 *   ACTIVE   the last iteration did work: poll again
 *   SPINNING iterations found nothing since window_start_us, still inside
 *            the spin window: poll again (the next command of a QD1 stream
 *            arrives within a round trip, sooner than a sleep and a wakeup
 *            would take)
 *   SLEEPING the window is over: sleep until an fd, a message or a timer
 *
 *   ACTIVE --no work--> SPINNING --no work, window over--> SLEEPING
 *   any --work--> ACTIVE;  SLEEPING --no work--> SLEEPING
 *
 * The window opens at the first empty iteration after work, so the loop
 * reads the clock only on empty iterations, never on busy ones.
 *
 * Busy polling never leaves ACTIVE. A wakeup is not work: a timer poller
 * that finds nothing to do sends the loop back to sleep at once, so an idle
 * target does not spin a window after every timer tick. Only work (a poller
 * returning > 0, a message) opens a new window.
 */
#include <stdbool.h>
#include <stdint.h>

enum unvmf_poll_state {
	UNVMF_POLL_ACTIVE,
	UNVMF_POLL_SPINNING,
	UNVMF_POLL_SLEEPING,
	UNVMF_POLL_NUM_STATES,
};

enum unvmf_poll_action {
	UNVMF_POLL_AGAIN,
	UNVMF_POLL_SLEEP,
};

/* Default spin window of the default (non busy-polling) mode. */
#define UNVMF_POLL_SPIN_US_DEFAULT 200u

struct unvmf_poll_policy {
	enum unvmf_poll_state state;
	bool busy_poll;
	uint64_t spin_us;         /* 0: sleep as soon as an iteration finds nothing */
	uint64_t window_start_us; /* first empty iteration after the last work */
	uint64_t transitions[UNVMF_POLL_NUM_STATES]; /* entries into each state */
};

void unvmf_poll_policy_init(struct unvmf_poll_policy *p, bool busy_poll, uint64_t spin_us);
/*
 * One iteration ended having done work or not: what the loop does next.
 * now_us is read only when did_work is false (callers may pass 0 otherwise).
 */
enum unvmf_poll_action unvmf_poll_policy_next(struct unvmf_poll_policy *p, bool did_work,
                                              uint64_t now_us);
const char *unvmf_poll_state_str(enum unvmf_poll_state state);
