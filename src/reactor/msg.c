/*
 * Messages: the only way to run code on another reactor. Control plane only,
 * so a malloc'd node and a mutex-protected FIFO per thread are enough; the
 * lock also gives per-sender ordering for free. The loop looks at an atomic
 * count first and takes the lock only when something is queued.
 */
#include "reactor/reactor_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

int unvmf_thread_send_msg(struct unvmf_thread *thread, unvmf_msg_fn fn, void *arg)
{
	struct reactor_msg *msg;

	if (!thread || !fn)
		return -EINVAL;
	if (reactor_stopping())
		return -ESHUTDOWN;
	msg = malloc(sizeof(*msg));
	if (!msg)
		return -ENOMEM;
	msg->fn = fn;
	msg->arg = arg;
	pthread_mutex_lock(&thread->msg_lock);
	/*
	 * Checked again under the lock: a loop takes msg_lock for its final drain
	 * only after it saw the stop flag, so a message accepted here is either
	 * drained by it or refused, never stranded in the queue.
	 */
	if (reactor_stopping()) {
		pthread_mutex_unlock(&thread->msg_lock);
		free(msg);
		return -ESHUTDOWN;
	}
	STAILQ_INSERT_TAIL(&thread->msgs, msg, link);
	atomic_fetch_add(&thread->msgs_queued, 1);
	pthread_mutex_unlock(&thread->msg_lock);
	/* Pairs with reactor_sleep(): see the comment there. */
	if (atomic_load(&thread->sleeping))
		reactor_thread_kick(thread);
	return 0;
}

bool reactor_msgs_pending(struct unvmf_thread *thread)
{
	bool pending;

	pthread_mutex_lock(&thread->msg_lock);
	pending = !STAILQ_EMPTY(&thread->msgs);
	pthread_mutex_unlock(&thread->msg_lock);
	return pending;
}

int reactor_msgs_run(struct unvmf_thread *thread)
{
	struct reactor_msg_list batch = STAILQ_HEAD_INITIALIZER(batch);
	struct reactor_msg *msg;
	int ran = 0;

	/*
	 * Take the batch and run it unlocked: handlers send messages (to this
	 * thread too), and those wait for the next iteration so a chatty
	 * exchange cannot starve the pollers. A message queued after the
	 * unlocked look is seen by the next iteration (or reactor_sleep's check).
	 */
	if (atomic_load_explicit(&thread->msgs_queued, memory_order_acquire) == 0)
		return 0;
	pthread_mutex_lock(&thread->msg_lock);
	STAILQ_CONCAT(&batch, &thread->msgs);
	atomic_store_explicit(&thread->msgs_queued, 0, memory_order_relaxed);
	pthread_mutex_unlock(&thread->msg_lock);
	while ((msg = STAILQ_FIRST(&batch))) {
		unvmf_msg_fn fn = msg->fn;
		void *arg = msg->arg;

		STAILQ_REMOVE_HEAD(&batch, link);
		free(msg);
		fn(arg);
		ran++;
	}
	return ran;
}

unsigned reactor_msgs_discard(struct unvmf_thread *thread)
{
	struct reactor_msg *msg;
	unsigned n = 0;

	pthread_mutex_lock(&thread->msg_lock);
	while ((msg = STAILQ_FIRST(&thread->msgs))) {
		STAILQ_REMOVE_HEAD(&thread->msgs, link);
		free(msg);
		n++;
	}
	atomic_store_explicit(&thread->msgs_queued, 0, memory_order_relaxed);
	pthread_mutex_unlock(&thread->msg_lock);
	return n;
}

/* Travels with the hop messages; freed by the last hop (or by done). */
struct for_each_ctx {
	unvmf_msg_fn fn;
	void *arg;
	unvmf_msg_fn done;
	struct unvmf_thread *origin;
	unsigned next;
};

static void for_each_done(void *arg)
{
	struct for_each_ctx *ctx = arg;

	ctx->done(ctx->arg);
	free(ctx);
}

static void for_each_hop(void *arg)
{
	struct for_each_ctx *ctx = arg;
	struct unvmf_thread *target;
	unvmf_msg_fn step;
	int rc;

	ctx->fn(ctx->arg);
	ctx->next++;
	if (ctx->next < unvmf_reactor_count()) {
		target = unvmf_reactor_thread(ctx->next);
		step = for_each_hop;
	} else if (ctx->done) {
		target = ctx->origin;
		step = for_each_done;
	} else {
		free(ctx);
		return;
	}
	rc = unvmf_thread_send_msg(target, step, ctx);
	if (rc) {
		/* Only shutdown or ENOMEM gets here: the walk cannot finish, done is dropped. */
		LOG_ERR("for_each_thread: cannot reach reactor %u: %s; the walk is abandoned",
		        unvmf_thread_index(target), strerror(-rc));
		free(ctx);
	}
}

int unvmf_for_each_thread(unvmf_msg_fn fn, void *arg, unvmf_msg_fn done)
{
	struct unvmf_thread *origin = unvmf_thread_get();
	struct for_each_ctx *ctx;
	int rc;

	/* done needs a loop to come back to. */
	if (!origin || !fn)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->fn = fn;
	ctx->arg = arg;
	ctx->done = done;
	ctx->origin = origin;
	rc = unvmf_thread_send_msg(unvmf_reactor_thread(0), for_each_hop, ctx);
	if (rc)
		free(ctx);
	return rc;
}
