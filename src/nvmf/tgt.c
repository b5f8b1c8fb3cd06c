/*
 * The target object: transports, poll groups, qpair placement and shutdown.
 * Control-plane entry points run on reactor 0.
 */
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "nvmf/transport.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

struct unvmf_tgt g_tgt;

/*
 * One transport is added at a time: a failed one leaves the last slot of the
 * table, which must be its own. Each walk visits the reactors in order and
 * messages between two threads keep their order, so a later walk never
 * overtakes the undo walk of a failed add.
 */
static bool g_transport_adding;

struct unvmf_transport *unvmf_tgt_find_transport(enum nvmf_trtype trtype)
{
	for (unsigned i = 0; i < g_tgt.num_transports; i++) {
		if (g_tgt.transports[i]->ops->trtype == trtype)
			return g_tgt.transports[i];
	}
	return NULL;
}

int unvmf_tgt_init(const struct unvmf_tgt_opts *opts)
{
	int rc;

	memset(&g_tgt, 0, sizeof(g_tgt));
	g_transport_adding = false;
	pthread_mutex_init(&g_tgt.lock, NULL);
	TAILQ_INIT(&g_tgt.subsystems);
	TAILQ_INIT(&g_tgt.referrals);
	g_tgt.opts = *opts;
	if (g_tgt.opts.max_subsystems == 0)
		g_tgt.opts.max_subsystems = 1024;
	atomic_init(&g_tgt.next_qpair_id, 1);
	atomic_init(&g_tgt.live_qpairs, 0);
	rc = unvmf_subsystem_create(NVMF_DISCOVERY_NQN, UNVMF_SUBSYSTEM_DISCOVERY, 0,
				    &g_tgt.discovery);
	if (rc)
		return rc;
	g_tgt.discovery->allow_any_host = true;
	return 0;
}

/* ---- target settings and the configuration it holds (reactor 0) ---- */

int unvmf_tgt_set_max_subsystems(uint32_t max_subsystems)
{
	int rc = 0;

	if (max_subsystems == 0)
		return -EINVAL;
	pthread_mutex_lock(&g_tgt.lock);
	if (max_subsystems < g_tgt.num_subsystems)
		rc = -EBUSY;
	else
		g_tgt.opts.max_subsystems = max_subsystems;
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

uint32_t unvmf_tgt_get_max_subsystems(void)
{
	uint32_t max;

	pthread_mutex_lock(&g_tgt.lock);
	max = g_tgt.opts.max_subsystems;
	pthread_mutex_unlock(&g_tgt.lock);
	return max;
}

unsigned unvmf_tgt_num_subsystems(void)
{
	unsigned n;

	pthread_mutex_lock(&g_tgt.lock);
	n = g_tgt.num_subsystems;
	pthread_mutex_unlock(&g_tgt.lock);
	return n;
}

int unvmf_tgt_foreach_subsystem(int (*fn)(struct unvmf_subsystem *subsys, void *arg), void *arg)
{
	struct unvmf_subsystem *subsys;
	int rc;

	if (g_tgt.discovery) {
		rc = fn(g_tgt.discovery, arg);
		if (rc)
			return rc;
	}
	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link)
	{
		rc = fn(subsys, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int unvmf_tgt_foreach_referral(int (*fn)(const struct unvmf_trid *trid, bool secure_channel,
                                         void *arg),
                               void *arg)
{
	const struct unvmf_referral *r;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(r, &g_tgt.referrals, link)
	{
		rc = fn(&r->trid, r->secure_channel, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

/* ---- poll groups ---- */

static int poll_group_poll(void *arg)
{
	struct unvmf_poll_group *group = arg;
	int busy = 0;

	for (unsigned i = 0; i < g_tgt.num_transports; i++) {
		struct unvmf_transport_poll_group *tg = group->tgroups[i];

		if (tg) {
			int rc = tg->transport->ops->poll_group_poll(tg);

			if (rc > 0)
				busy += rc;
		}
	}
	return busy;
}

struct group_create_ctx {
	void (*done)(void *arg, int rc);
	void *arg;
	int rc;
};

static void poll_group_create_on_thread(void *arg)
{
	struct group_create_ctx *ctx = arg;
	struct unvmf_thread *thread = unvmf_thread_get();
	unsigned index = unvmf_thread_index(thread);
	struct unvmf_poll_group *group = calloc(1, sizeof(*group));

	if (!group) {
		ctx->rc = -ENOMEM;
		return;
	}
	group->index = index;
	group->thread = thread;
	TAILQ_INIT(&group->qpairs);
	group->poller = unvmf_poller_register(poll_group_poll, group, 0, "nvmf_poll_group");
	if (!group->poller) {
		free(group);
		ctx->rc = -ENOMEM;
		return;
	}
	g_tgt.groups[index] = group;
}

static void poll_group_create_done(void *arg)
{
	struct group_create_ctx *ctx = arg;

	g_tgt.num_groups = unvmf_reactor_count();
	ctx->done(ctx->arg, ctx->rc);
	free(ctx);
}

int unvmf_tgt_create_poll_groups(void (*done)(void *arg, int rc), void *arg)
{
	struct group_create_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	if (!ctx)
		return -ENOMEM;
	ctx->done = done;
	ctx->arg = arg;
	rc = unvmf_for_each_thread(poll_group_create_on_thread, ctx, poll_group_create_done);
	if (rc)
		free(ctx);
	return rc;
}

struct unvmf_poll_group *unvmf_poll_group_current(void)
{
	struct unvmf_thread *thread = unvmf_thread_get();

	return thread ? g_tgt.groups[unvmf_thread_index(thread)] : NULL;
}

struct unvmf_bdev_channel *unvmf_poll_group_channel(struct unvmf_poll_group *group,
						    struct unvmf_bdev *bdev)
{
	struct unvmf_pg_bdev_ch **pp = &group->channels;

	for (struct unvmf_pg_bdev_ch *c = *pp; c; pp = &c->next, c = c->next) {
		if (c->bdev == bdev) {
			/* Move to front: a group usually serves a few hot namespaces. */
			*pp = c->next;
			c->next = group->channels;
			group->channels = c;
			return c->ch;
		}
	}
	struct unvmf_pg_bdev_ch *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ch = unvmf_bdev_channel_get(bdev);
	if (!c->ch) {
		free(c);
		return NULL;
	}
	c->bdev = bdev;
	c->next = group->channels;
	group->channels = c;
	return c->ch;
}

bool unvmf_poll_group_release_channel(struct unvmf_poll_group *group, struct unvmf_bdev *bdev)
{
	for (struct unvmf_pg_bdev_ch **pp = &group->channels; *pp; pp = &(*pp)->next) {
		struct unvmf_pg_bdev_ch *c = *pp;

		if (c->bdev != bdev)
			continue;
		if (unvmf_bdev_channel_outstanding(c->ch) > 0)
			return false;
		*pp = c->next;
		unvmf_bdev_channel_put(c->ch);
		free(c);
		return true;
	}
	return true;
}

/* ---- reading a poll group (its own thread) ---- */

int unvmf_poll_group_foreach_qpair(struct unvmf_poll_group *group,
                                   const struct unvmf_subsystem *subsys,
                                   int (*fn)(const struct unvmf_qpair_info *qpair, void *arg),
                                   void *arg)
{
	const struct unvmf_qpair *q;
	struct unvmf_qpair_info info;
	int rc;

	TAILQ_FOREACH(q, &group->qpairs, group_link)
	{
		/* The qpair holds a reference on its controller: ctrlr is alive here. */
		if (subsys && (!q->ctrlr || q->ctrlr->subsys != subsys))
			continue;
		memset(&info, 0, sizeof(info));
		info.id = q->id;
		info.cntlid = q->ctrlr ? q->ctrlr->cntlid : 0;
		info.qid = q->qid;
		info.sq_size = q->sq_size;
		info.state = q->state;
		info.local = q->local;
		info.peer = q->peer;
		info.stats = q->stats;
		rc = fn(&info, arg);
		if (rc)
			return rc;
	}
	return 0;
}

void unvmf_poll_group_get_info(struct unvmf_poll_group *group, struct unvmf_poll_group_info *info)
{
	memset(info, 0, sizeof(*info));
	info->index = group->index;
	info->thread = group->thread;
	info->stats = group->stats;
	for (const struct unvmf_pg_bdev_ch *c = group->channels; c; c = c->next)
		info->pending_bdev_io += unvmf_bdev_channel_outstanding(c->ch);
}

int unvmf_poll_group_foreach_transport_group(struct unvmf_poll_group *group,
                                             int (*fn)(struct unvmf_transport_poll_group *tgroup,
                                                       void *arg),
                                             void *arg)
{
	int rc;

	/* Slots are filled on this thread as transports are added, so no lock. */
	for (unsigned i = 0; i < UNVMF_ARRAY_SIZE(group->tgroups); i++) {
		if (!group->tgroups[i])
			continue;
		rc = fn(group->tgroups[i], arg);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- transports ---- */

struct transport_add_ctx {
	struct unvmf_transport *transport;
	void (*done)(void *arg, int rc);
	void *arg;
	int rc;
};

static void transport_group_create(void *arg)
{
	struct transport_add_ctx *ctx = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();
	struct unvmf_transport_poll_group *tg;

	if (!group)
		return;
	tg = ctx->transport->ops->poll_group_create(ctx->transport, group);
	if (!tg) {
		ctx->rc = -ENOMEM;
		return;
	}
	tg->transport = ctx->transport;
	tg->group = group;
	group->tgroups[ctx->transport->slot] = tg;
}

static void transport_group_destroy(void *arg)
{
	struct transport_add_ctx *ctx = arg;
	struct unvmf_transport *transport = ctx->transport;
	struct unvmf_poll_group *group = unvmf_poll_group_current();
	struct unvmf_transport_poll_group *tg;

	if (!group)
		return;
	tg = group->tgroups[transport->slot];
	/* The slot may already belong to a transport created after this one failed. */
	if (tg && tg->transport == transport) {
		transport->ops->poll_group_destroy(tg);
		group->tgroups[transport->slot] = NULL;
	}
}

static void transport_add_finish(void *arg)
{
	struct transport_add_ctx *ctx = arg;

	g_transport_adding = false;
	ctx->done(ctx->arg, ctx->rc);
	free(ctx);
}

/* Runs once every group has dropped the failed transport: nothing refers to it any more. */
static void transport_add_undone(void *arg)
{
	struct transport_add_ctx *ctx = arg;

	ctx->transport->ops->destroy(ctx->transport);
	transport_add_finish(ctx);
}

static void transport_add_done(void *arg)
{
	struct transport_add_ctx *ctx = arg;
	int rc;

	if (!ctx->rc) {
		transport_add_finish(ctx);
		return;
	}
	/*
	 * Undo: no half-created transport stays behind. It leaves the table at
	 * once (no poller or RPC sees it again); the groups that were created
	 * still point at it, so it is freed only after the walk that destroys them.
	 */
	LOG_ERR("transport %s: a poll group could not be created: %s", ctx->transport->ops->name,
		strerror(-ctx->rc));
	g_tgt.num_transports--;
	g_tgt.transports[g_tgt.num_transports] = NULL;
	rc = unvmf_for_each_thread(transport_group_destroy, ctx, transport_add_undone);
	if (rc) {
		/* Shutting down or out of memory: leak the transport rather than free it under its groups. */
		LOG_ERR("transport %s: cannot visit the poll groups to undo it: %s; leaking it",
			ctx->transport->ops->name, strerror(-rc));
		transport_add_finish(ctx);
	}
}

int unvmf_tgt_add_transport(const struct unvmf_transport_opts *opts,
			    void (*done)(void *arg, int rc), void *arg)
{
	const struct unvmf_transport_ops *ops = unvmf_transport_ops_find(opts->trtype);
	struct transport_add_ctx *ctx;
	struct unvmf_transport *transport;
	int rc;

	if (!ops)
		return -EPROTONOSUPPORT;
	if (unvmf_tgt_find_transport(opts->trtype))
		return -EEXIST;
	if (g_transport_adding)
		return -EBUSY;
	if (g_tgt.num_transports >= UNVMF_ARRAY_SIZE(g_tgt.transports))
		return -ENOSPC;
	rc = ops->create(opts, &transport);
	if (rc)
		return rc;
	transport->ops = ops;
	transport->opts = *opts;
	transport->slot = g_tgt.num_transports;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		ops->destroy(transport);
		return -ENOMEM;
	}
	ctx->transport = transport;
	ctx->done = done;
	ctx->arg = arg;
	g_tgt.transports[g_tgt.num_transports++] = transport;
	g_transport_adding = true;
	rc = unvmf_for_each_thread(transport_group_create, ctx, transport_add_done);
	if (rc) {
		g_transport_adding = false;
		g_tgt.num_transports--;
		ops->destroy(transport);
		free(ctx);
	}
	return rc;
}

/* ---- qpair placement ---- */

static void poll_group_add_qpair(void *arg)
{
	struct unvmf_qpair *qpair = arg;
	struct unvmf_poll_group *group = qpair->group;
	struct unvmf_transport_poll_group *tg = group->tgroups[qpair->transport->slot];

	TAILQ_INSERT_TAIL(&group->qpairs, qpair, group_link);
	group->stats.qpairs_current++;
	group->stats.qpairs_total++;
	/* On failure the transport has already called unvmf_qpair_fini(). */
	if (!tg || qpair->transport->ops->poll_group_add(tg, qpair) != 0)
		LOG_ERR("qpair %lu: poll group %u refused it", (unsigned long)qpair->id,
			group->index);
}

void unvmf_qpair_init(struct unvmf_qpair *qpair, struct unvmf_transport *transport)
{
	memset(qpair, 0, sizeof(*qpair));
	qpair->transport = transport;
	qpair->state = UNVMF_QPAIR_UNCONNECTED;
	qpair->id = atomic_fetch_add(&g_tgt.next_qpair_id, 1);
	atomic_fetch_add(&g_tgt.live_qpairs, 1);
}

void unvmf_tgt_new_qpair(struct unvmf_qpair *qpair)
{
	/* Round robin is enough: connections are long-lived and similar. */
	unsigned index = __atomic_fetch_add(&g_tgt.next_group, 1, __ATOMIC_RELAXED) %
			 g_tgt.num_groups;

	qpair->group = g_tgt.groups[index];
	if (unvmf_thread_send_msg(qpair->group->thread, poll_group_add_qpair, qpair) != 0) {
		/* Shutting down: hand it straight back to its transport to close. */
		LOG_WARN("qpair %lu: no poll group accepts it (shutting down)",
			 (unsigned long)qpair->id);
		qpair->state = UNVMF_QPAIR_DISCONNECTING;
		qpair->transport->ops->qpair_disconnect(qpair);
	}
}

void unvmf_qpair_teardown_begin(struct unvmf_qpair *qpair)
{
	qpair->state = UNVMF_QPAIR_DISCONNECTING;
	unvmf_fused_qpair_teardown(qpair);
	if (qpair->ctrlr && qpair->qid == 0) {
		/*
		 * The admin queue is going (host disconnect, shutdown, error): its
		 * keep-alive timer must not fire while the transport drains it.
		 */
		unvmf_poller_unregister(&qpair->ctrlr->ka_poller);
		unvmf_ctrlr_aer_abort_all(qpair->ctrlr);
	}
}

void unvmf_qpair_fini(struct unvmf_qpair *qpair)
{
	struct unvmf_poll_group *group = qpair->group;

	if (qpair->ctrlr)
		unvmf_ctrlr_qpair_gone(qpair);
	if (group) {
		struct unvmf_qpair *q;

		TAILQ_FOREACH(q, &group->qpairs, group_link) {
			if (q == qpair)
				break;
		}
		if (q) {
			TAILQ_REMOVE(&group->qpairs, qpair, group_link);
			group->stats.qpairs_current--;
		}
	}
	atomic_fetch_sub(&g_tgt.live_qpairs, 1);
}

bool unvmf_qpair_is_admin(const struct unvmf_qpair *qpair)
{
	return qpair->qid == 0;
}

void unvmf_qpair_disconnect(struct unvmf_qpair *qpair, const char *reason)
{
	if (qpair->state == UNVMF_QPAIR_DISCONNECTING)
		return;
	if (reason && !qpair->disconnect_reason[0])
		unvmf_strlcpy(qpair->disconnect_reason, reason, sizeof(qpair->disconnect_reason));
	LOG_INFO("qpair %lu (qid %u, cntlid %u): disconnecting: %s", (unsigned long)qpair->id,
		 qpair->qid, qpair->ctrlr ? qpair->ctrlr->cntlid : 0xffff,
		 reason ? reason : "requested");
	qpair->transport->ops->qpair_disconnect(qpair);
}

struct disconnect_msg {
	struct unvmf_poll_group *group;
	uint64_t qpair_id;
	char reason[64];
};

static void qpair_disconnect_msg(void *arg)
{
	struct disconnect_msg *msg = arg;
	struct unvmf_qpair *qpair;

	TAILQ_FOREACH(qpair, &msg->group->qpairs, group_link) {
		if (qpair->id == msg->qpair_id) {
			unvmf_qpair_disconnect(qpair, msg->reason);
			break;
		}
	}
	free(msg);
}

void unvmf_qpair_disconnect_async(struct unvmf_poll_group *group, uint64_t qpair_id,
				  const char *reason)
{
	struct disconnect_msg *msg = calloc(1, sizeof(*msg));

	if (!msg) {
		LOG_ERR("qpair %lu: no memory to request its disconnect", (unsigned long)qpair_id);
		return;
	}
	msg->group = group;
	msg->qpair_id = qpair_id;
	unvmf_strlcpy(msg->reason, reason ? reason : "", sizeof(msg->reason));
	if (unvmf_thread_send_msg(group->thread, qpair_disconnect_msg, msg) != 0)
		free(msg);
}

/* ---- shutdown ---- */

struct shutdown_ctx {
	void (*done)(void *arg);
	void *arg;
	struct unvmf_poller *poller;
	uint64_t start_us;
	uint64_t last_log_us;
};

static void shutdown_disconnect_group(void *arg)
{
	struct unvmf_poll_group *group = unvmf_poll_group_current();
	struct unvmf_qpair *qpair, *tmp;

	if (!group)
		return;
	TAILQ_FOREACH_SAFE(qpair, &group->qpairs, group_link, tmp)
		unvmf_qpair_disconnect(qpair, "target shutdown");
}

static void shutdown_destroy_group(void *arg)
{
	struct unvmf_poll_group *group = unvmf_poll_group_current();

	if (!group)
		return;
	for (unsigned i = 0; i < g_tgt.num_transports; i++) {
		if (group->tgroups[i]) {
			g_tgt.transports[i]->ops->poll_group_destroy(group->tgroups[i]);
			group->tgroups[i] = NULL;
		}
	}
	while (group->channels) {
		struct unvmf_pg_bdev_ch *c = group->channels;

		group->channels = c->next;
		unvmf_bdev_channel_put(c->ch);
		free(c);
	}
	unvmf_poller_unregister(&group->poller);
	g_tgt.groups[group->index] = NULL;
	free(group);
}

static void shutdown_groups_destroyed(void *arg)
{
	struct shutdown_ctx *ctx = arg;

	for (unsigned i = 0; i < g_tgt.num_transports; i++)
		g_tgt.transports[i]->ops->destroy(g_tgt.transports[i]);
	g_tgt.num_transports = 0;
	g_tgt.num_groups = 0;
	ctx->done(ctx->arg);
	free(ctx);
}

static int shutdown_wait_qpairs(void *arg)
{
	struct shutdown_ctx *ctx = arg;
	unsigned live = atomic_load(&g_tgt.live_qpairs);
	uint64_t now = unvmf_now_us();

	if (live > 0) {
		if (now - ctx->last_log_us > 2000000) {
			LOG_NOTICE("shutdown: waiting for %u qpair(s) to drain", live);
			ctx->last_log_us = now;
		}
		return 0;
	}
	unvmf_poller_unregister(&ctx->poller);
	/* for_each_thread's done runs after every group is gone. */
	if (unvmf_for_each_thread(shutdown_destroy_group, ctx, shutdown_groups_destroyed) != 0)
		shutdown_groups_destroyed(ctx);
	return 1;
}

static void shutdown_stop_listening(void)
{
	struct unvmf_subsystem *subsys;
	struct unvmf_listener *l, *tmp;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link) {
		TAILQ_FOREACH_SAFE(l, &subsys->listeners, link, tmp) {
			struct unvmf_transport *t = unvmf_tgt_find_transport(l->trid.trtype);

			if (t)
				t->ops->stop_listen(t, &l->trid);
			TAILQ_REMOVE(&subsys->listeners, l, link);
			free(l);
		}
	}
	pthread_mutex_unlock(&g_tgt.lock);
}

void unvmf_tgt_shutdown(void (*done)(void *arg), void *arg)
{
	struct shutdown_ctx *ctx = calloc(1, sizeof(*ctx));

	g_tgt.shutting_down = true;
	if (!ctx) {
		LOG_ERR("shutdown: out of memory");
		done(arg);
		return;
	}
	ctx->done = done;
	ctx->arg = arg;
	ctx->start_us = unvmf_now_us();
	ctx->last_log_us = ctx->start_us;
	shutdown_stop_listening();
	unvmf_for_each_thread(shutdown_disconnect_group, NULL, NULL);
	ctx->poller = unvmf_poller_register(shutdown_wait_qpairs, ctx, 1000, "tgt_shutdown");
}

bool unvmf_tgt_is_shutting_down(void)
{
	/* Written once on reactor 0, read by transports on their groups' threads. */
	return __atomic_load_n(&g_tgt.shutting_down, __ATOMIC_RELAXED);
}

void unvmf_tgt_fini(void)
{
	struct unvmf_subsystem *subsys, *tmp;
	struct unvmf_referral *r, *rtmp;

	TAILQ_FOREACH_SAFE(subsys, &g_tgt.subsystems, link, tmp)
		unvmf_subsystem_delete(subsys, NULL, NULL);
	if (g_tgt.discovery)
		unvmf_subsystem_delete(g_tgt.discovery, NULL, NULL);
	g_tgt.discovery = NULL;
	TAILQ_FOREACH_SAFE(r, &g_tgt.referrals, link, rtmp) {
		TAILQ_REMOVE(&g_tgt.referrals, r, link);
		free(r);
	}
	unvmf_keyring_wipe();
	pthread_mutex_destroy(&g_tgt.lock);
}
