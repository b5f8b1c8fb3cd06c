/*
 * The reactor's adaptive idle policy (see poll_policy.h): every state change
 * goes through policy_set_state(), which counts entries per state.
 */
#include "reactor/poll_policy.h"

static void policy_set_state(struct unvmf_poll_policy *p, enum unvmf_poll_state state)
{
	if (p->state != state) {
		p->state = state;
		p->transitions[state]++;
	}
}

void unvmf_poll_policy_init(struct unvmf_poll_policy *p, bool busy_poll, uint64_t spin_us)
{
	*p = (struct unvmf_poll_policy){
	    .state = UNVMF_POLL_ACTIVE,
	    .busy_poll = busy_poll,
	    .spin_us = spin_us,
	};
}

enum unvmf_poll_action unvmf_poll_policy_next(struct unvmf_poll_policy *p, bool did_work,
                                              uint64_t now_us)
{
	if (p->busy_poll)
		return UNVMF_POLL_AGAIN;
	if (did_work) {
		policy_set_state(p, UNVMF_POLL_ACTIVE);
		return UNVMF_POLL_AGAIN;
	}
	switch (p->state) {
	case UNVMF_POLL_ACTIVE:
		if (p->spin_us == 0) {
			policy_set_state(p, UNVMF_POLL_SLEEPING);
			return UNVMF_POLL_SLEEP;
		}
		p->window_start_us = now_us;
		policy_set_state(p, UNVMF_POLL_SPINNING);
		return UNVMF_POLL_AGAIN;
	case UNVMF_POLL_SPINNING:
		/* A clock that went backwards (virtual time reset) counts as inside the window. */
		if (now_us >= p->window_start_us && now_us - p->window_start_us >= p->spin_us) {
			policy_set_state(p, UNVMF_POLL_SLEEPING);
			return UNVMF_POLL_SLEEP;
		}
		return UNVMF_POLL_AGAIN;
	case UNVMF_POLL_SLEEPING:
	default:
		/* Woken for nothing (a timer, a stray event): no new window. */
		return UNVMF_POLL_SLEEP;
	}
}

const char *unvmf_poll_state_str(enum unvmf_poll_state state)
{
	switch (state) {
	case UNVMF_POLL_ACTIVE:
		return "active";
	case UNVMF_POLL_SPINNING:
		return "spinning";
	case UNVMF_POLL_SLEEPING:
		return "sleeping";
	default:
		return "?";
	}
}
