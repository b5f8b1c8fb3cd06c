/*
 * Compare and Write is atomic against every other write to its range on this
 * target: while a fused pair holds [slba, slba + nlb) of a namespace, no
 * other write, Write Zeroes or deallocate touching the range runs, on any
 * poll group.
 *
 * Why a lock and not a message round: a namespace is shared by qpairs on
 * every poll group, and a write never leaves its qpair's thread. Routing
 * each namespace's writes to one thread would cost every write a hop; asking
 * each poll group by message to drain would cost every Compare and Write a
 * round trip through all reactors and per-group state. Instead:
 *
 * - Fast path (no lock on the namespace, the common case): a write bumps its
 *   own poll group's slot in ns->fast_writes (one writer per slot, padded to
 *   a cache line), issues a full fence and reads ns->range_locks. Zero: it
 *   goes ahead, nothing shared was written.
 * - A locker inserts its range under range_mu and raises range_locks, then
 *   waits (a poller on its thread) until every fast slot reads zero and no
 *   write counted the slow way overlaps. The fence on both sides (Dekker):
 *   a write either saw the lock or the locker sees the write's slot.
 * - While any lock exists, writes take range_mu: one overlapping a held or
 *   pending range waits on ns->blocked (the release sends each back to its
 *   own thread to run again); the others are listed on ns->writes.
 *
 * So writes cost a fence while no Compare and Write is active on their
 * namespace and a mutex while one is; reads are never involved (the
 * guarantee is between writers). Locks on overlapping ranges queue: a
 * locker that finds an overlap retries from its poller.
 */
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>

int unvmf_ns_range_init(struct unvmf_ns *ns)
{
	ns->fast_writes = aligned_alloc(64, UNVMF_MAX_POLL_GROUPS * sizeof(*ns->fast_writes));
	if (!ns->fast_writes)
		return -ENOMEM;
	for (unsigned i = 0; i < UNVMF_MAX_POLL_GROUPS; i++)
		atomic_init(&ns->fast_writes[i].n, 0);
	pthread_mutex_init(&ns->range_mu, NULL);
	atomic_init(&ns->range_locks, 0);
	atomic_init(&ns->range_users, 0);
	LIST_INIT(&ns->ranges);
	LIST_INIT(&ns->writes);
	LIST_INIT(&ns->blocked);
	return 0;
}

void unvmf_ns_range_fini(struct unvmf_ns *ns)
{
	if (!ns->fast_writes)
		return;
	pthread_mutex_destroy(&ns->range_mu);
	free(ns->fast_writes);
	ns->fast_writes = NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

static bool range_locked(struct unvmf_ns *ns, uint64_t slba, uint64_t nlb)
{
	struct unvmf_range_lock *lk;

	LIST_FOREACH(lk, &ns->ranges, link)
	{
		if (ranges_overlap(slba, nlb, lk->slba, lk->nlb))
			return true;
	}
	return false;
}

static void slot_add(_Atomic uint32_t *n, int d)
{
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + (uint32_t)d,
	                      memory_order_release);
}

bool unvmf_range_write_begin(struct unvmf_req *req, uint64_t slba, uint64_t nlb)
{
	struct unvmf_ns *ns = req->ns;
	_Atomic uint32_t *slot = &ns->fast_writes[req->qpair->group->index].n;

	slot_add(slot, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (unvmf_likely(atomic_load_explicit(&ns->range_locks, memory_order_relaxed) == 0)) {
		req->range_state = UNVMF_RANGE_FAST;
		return true;
	}
	slot_add(slot, -1);
	req->range_slba = slba;
	req->range_nlb = nlb;
	pthread_mutex_lock(&ns->range_mu);
	if (range_locked(ns, slba, nlb)) {
		req->range_state = UNVMF_RANGE_BLOCKED;
		LIST_INSERT_HEAD(&ns->blocked, req, range_link);
		pthread_mutex_unlock(&ns->range_mu);
		return false;
	}
	req->range_state = UNVMF_RANGE_SLOW;
	LIST_INSERT_HEAD(&ns->writes, req, range_link);
	pthread_mutex_unlock(&ns->range_mu);
	return true;
}

void unvmf_range_write_end(struct unvmf_req *req)
{
	struct unvmf_ns *ns = req->ns;

	switch (req->range_state) {
	case UNVMF_RANGE_FAST:
		slot_add(&ns->fast_writes[req->qpair->group->index].n, -1);
		break;
	case UNVMF_RANGE_SLOW:
		pthread_mutex_lock(&ns->range_mu);
		LIST_REMOVE(req, range_link);
		pthread_mutex_unlock(&ns->range_mu);
		break;
	case UNVMF_RANGE_NONE:
	case UNVMF_RANGE_BLOCKED:
		break;
	}
	req->range_state = UNVMF_RANGE_NONE;
}

/* Inserts lk if nothing overlaps it; true once it is in ns->ranges. */
static bool lock_try_insert(struct unvmf_range_lock *lk)
{
	struct unvmf_ns *ns = lk->ns;

	if (lk->inserted)
		return true;
	pthread_mutex_lock(&ns->range_mu);
	if (!range_locked(ns, lk->slba, lk->nlb)) {
		LIST_INSERT_HEAD(&ns->ranges, lk, link);
		atomic_fetch_add_explicit(&ns->range_locks, 1, memory_order_seq_cst);
		lk->inserted = true;
	}
	pthread_mutex_unlock(&ns->range_mu);
	return lk->inserted;
}

/* True when no write that could overlap lk is still running. */
static bool lock_drained(struct unvmf_range_lock *lk)
{
	struct unvmf_ns *ns = lk->ns;
	struct unvmf_req *w;
	bool busy = false;

	/* Pairs with the fence in unvmf_range_write_begin. */
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < UNVMF_MAX_POLL_GROUPS; i++) {
		if (atomic_load_explicit(&ns->fast_writes[i].n, memory_order_acquire))
			return false;
	}
	pthread_mutex_lock(&ns->range_mu);
	LIST_FOREACH(w, &ns->writes, range_link)
	{
		if (ranges_overlap(w->range_slba, w->range_nlb, lk->slba, lk->nlb)) {
			busy = true;
			break;
		}
	}
	pthread_mutex_unlock(&ns->range_mu);
	return !busy;
}

static int lock_poll(void *arg)
{
	struct unvmf_range_lock *lk = arg;

	if (!lock_try_insert(lk) || !lock_drained(lk))
		return 1; /* busy: keep the reactor awake while the writes drain */
	unvmf_poller_unregister(&lk->poller);
	lk->held(lk);
	return 1;
}

void unvmf_range_lock_acquire(struct unvmf_range_lock *lk)
{
	lk->inserted = false;
	lk->failed = false;
	lk->poller = NULL;
	lk->active = true;
	atomic_fetch_add_explicit(&lk->ns->range_users, 1, memory_order_relaxed);
	if (lock_try_insert(lk) && lock_drained(lk)) {
		lk->held(lk);
		return;
	}
	lk->poller = unvmf_poller_register(lock_poll, lk, 0, "range_lock");
	if (!lk->poller) {
		/* Without a poller the wait cannot go on: hold nothing, fail the pair. */
		unvmf_range_lock_release(lk);
		lk->failed = true;
		lk->held(lk);
	}
}

static void blocked_write_resume(void *arg)
{
	struct unvmf_req *req = arg;

	req->range_state = UNVMF_RANGE_NONE;
	unvmf_io_exec(req);
}

void unvmf_range_lock_release(struct unvmf_range_lock *lk)
{
	struct unvmf_ns *ns = lk->ns;
	LIST_HEAD(, unvmf_req) resume = LIST_HEAD_INITIALIZER(resume);
	struct unvmf_req *req;

	if (!lk->active)
		return;
	lk->active = false;
	if (!lk->inserted)
		goto out_user;
	pthread_mutex_lock(&ns->range_mu);
	LIST_REMOVE(lk, link);
	lk->inserted = false;
	atomic_fetch_sub_explicit(&ns->range_locks, 1, memory_order_seq_cst);
	/* Every blocked write runs again: those still overlapping another lock block again. */
	while ((req = LIST_FIRST(&ns->blocked))) {
		LIST_REMOVE(req, range_link);
		LIST_INSERT_HEAD(&resume, req, range_link);
	}
	pthread_mutex_unlock(&ns->range_mu);
	while ((req = LIST_FIRST(&resume))) {
		LIST_REMOVE(req, range_link);
		/* Fails only once the reactors stop, after every qpair drained. */
		if (unvmf_thread_send_msg(req->qpair->group->thread, blocked_write_resume, req))
			LOG_ERR("qpair %lu: cannot resume a write held by Compare and Write",
			        (unsigned long)req->qpair->id);
	}
out_user:
	/* Last touch of ns: namespace removal may free it once this reads 0. */
	atomic_fetch_sub_explicit(&ns->range_users, 1, memory_order_release);
}
