/*
 * Pollers: functions a reactor calls every iteration (period 0) or at most
 * once per period (timed). A poller is owned by the thread that registered it.
 *
 * Unregistering during an iteration only marks the poller; the loop frees it
 * after the iteration, so the list walk never touches freed memory whether the
 * poller removed itself or a sibling removed it (Redis's deferred deletion).
 */
#include "reactor/reactor_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

struct unvmf_poller *unvmf_poller_register(unvmf_poller_fn fn, void *arg, uint64_t period_us,
                                           const char *name)
{
	struct unvmf_thread *thread = unvmf_thread_get();
	struct unvmf_poller *poller;

	if (!thread) {
		LOG_ERR("poller %s: registration outside a reactor thread", name ? name : "?");
		return NULL;
	}
	poller = calloc(1, sizeof(*poller));
	if (!poller)
		return NULL;
	poller->thread = thread;
	poller->fn = fn;
	poller->arg = arg;
	poller->period_us = period_us;
	/* Truncation is harmless: the name only labels log lines. */
	(void)unvmf_strlcpy(poller->name, name ? name : "?", sizeof(poller->name));
	/* Mid-iteration, whether it ran now would depend on its position in the list. */
	if (thread->in_iteration) {
		poller->state = POLLER_STATE_STARTING;
		thread->reap_needed = true;
	} else {
		poller->state = POLLER_STATE_ACTIVE;
	}
	if (period_us) {
		poller->next_run_us = unvmf_now_us() + period_us;
		TAILQ_INSERT_TAIL(&thread->timed_pollers, poller, link);
		if (poller->state == POLLER_STATE_ACTIVE)
			thread->next_timer_us =
			    UNVMF_MIN(thread->next_timer_us, poller->next_run_us);
	} else {
		TAILQ_INSERT_TAIL(&thread->pollers, poller, link);
	}
	return poller;
}

static struct poller_list *poller_list_of(struct unvmf_poller *poller)
{
	return poller->period_us ? &poller->thread->timed_pollers : &poller->thread->pollers;
}

void unvmf_poller_unregister(struct unvmf_poller **pollerp)
{
	struct unvmf_poller *poller = *pollerp;
	struct unvmf_thread *thread;

	if (!poller)
		return;
	*pollerp = NULL;
	thread = poller->thread;
	/* The lists have no lock: only the owner may touch them while its loop runs. */
	UNVMF_ASSERT(unvmf_thread_get() == thread || !atomic_load(&thread->running));
	UNVMF_ASSERT(poller->state != POLLER_STATE_UNREGISTERED);
	if (poller->state == POLLER_STATE_UNREGISTERED)
		return;
	if (thread->in_iteration) {
		poller->state = POLLER_STATE_UNREGISTERED;
		thread->reap_needed = true;
		return;
	}
	TAILQ_REMOVE(poller_list_of(poller), poller, link);
	free(poller);
}

/* 1 if the poller did work. Errors count as idle: a failing poller must not keep the loop awake. */
static int poller_call(struct unvmf_poller *poller)
{
	int rc = poller->fn(poller->arg);

	/* poller may be UNREGISTERED now, but it is not freed before the reap. */
	if (rc < 0) {
		if (!poller->failing)
			LOG_ERR("poller %s on reactor %u: %s", poller->name, poller->thread->index,
			        strerror(-rc));
		poller->failing = true;
		return 0;
	}
	poller->failing = false;
	return rc > 0;
}

int reactor_pollers_run(struct unvmf_thread *thread)
{
	struct unvmf_poller *poller;
	int busy = 0;

	TAILQ_FOREACH(poller, &thread->pollers, link)
	{
		if (poller->state == POLLER_STATE_ACTIVE)
			busy += poller_call(poller);
	}
	return busy;
}

int reactor_timed_pollers_run(struct unvmf_thread *thread, uint64_t now)
{
	struct unvmf_poller *poller;
	uint64_t next = UINT64_MAX;
	int busy = 0;

	TAILQ_FOREACH(poller, &thread->timed_pollers, link)
	{
		if (poller->state != POLLER_STATE_ACTIVE)
			continue;
		if (poller->next_run_us <= now) {
			busy += poller_call(poller);
			/* From now, not from the missed deadline: a late loop must not fire a
			 * burst. */
			poller->next_run_us = now + poller->period_us;
		}
		if (poller->state == POLLER_STATE_ACTIVE)
			next = UNVMF_MIN(next, poller->next_run_us);
	}
	thread->next_timer_us = next;
	return busy;
}

static void poller_list_reap(struct unvmf_thread *thread, struct poller_list *list)
{
	struct unvmf_poller *poller, *next;

	/* glibc's sys/queue.h has no TAILQ_FOREACH_SAFE. */
	for (poller = TAILQ_FIRST(list); poller; poller = next) {
		next = TAILQ_NEXT(poller, link);
		switch (poller->state) {
		case POLLER_STATE_UNREGISTERED:
			TAILQ_REMOVE(list, poller, link);
			free(poller);
			break;
		case POLLER_STATE_STARTING:
			poller->state = POLLER_STATE_ACTIVE;
			if (poller->period_us)
				thread->next_timer_us =
				    UNVMF_MIN(thread->next_timer_us, poller->next_run_us);
			break;
		case POLLER_STATE_ACTIVE:
			break;
		}
	}
}

void reactor_pollers_reap(struct unvmf_thread *thread)
{
	UNVMF_ASSERT(!thread->in_iteration);
	if (!thread->reap_needed)
		return;
	thread->reap_needed = false;
	poller_list_reap(thread, &thread->pollers);
	poller_list_reap(thread, &thread->timed_pollers);
}

static unsigned poller_list_release(struct unvmf_thread *thread, struct poller_list *list)
{
	struct unvmf_poller *poller;
	unsigned leaked = 0;

	while ((poller = TAILQ_FIRST(list))) {
		TAILQ_REMOVE(list, poller, link);
		if (poller->state != POLLER_STATE_UNREGISTERED) {
			leaked++;
#ifdef UNVMF_DEBUG
			LOG_ERR("reactor %u: poller %s still registered at fini", thread->index,
			        poller->name);
#endif
		}
		free(poller);
	}
	return leaked;
}

unsigned reactor_pollers_release(struct unvmf_thread *thread)
{
	return poller_list_release(thread, &thread->pollers) +
	       poller_list_release(thread, &thread->timed_pollers);
}
