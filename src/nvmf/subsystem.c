/*
 * Subsystems: namespaces, allowed hosts, listeners. Reactor 0 changes them
 * under g_tgt.lock; the I/O path only reads subsys->ns[] without the lock
 * (see struct unvmf_ns for why that is safe).
 */
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "nvmf/transport.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

static struct unvmf_subsystem *subsystem_alloc(const char *nqn, enum unvmf_subsystem_type type,
                                               uint32_t max_namespaces)
{
	struct unvmf_subsystem *subsys = calloc(1, sizeof(*subsys));

	if (!subsys)
		return NULL;
	if (max_namespaces) {
		subsys->ns = calloc(max_namespaces, sizeof(*subsys->ns));
		if (!subsys->ns) {
			free(subsys);
			return NULL;
		}
	}
	unvmf_strlcpy(subsys->nqn, nqn, sizeof(subsys->nqn));
	subsys->type = type;
	subsys->max_namespaces = max_namespaces;
	subsys->min_cntlid = UNVMF_CNTLID_MIN;
	subsys->max_cntlid = UNVMF_CNTLID_MAX;
	subsys->next_cntlid = UNVMF_CNTLID_MIN;
	strcpy(subsys->serial, "UNVMF00000000000000");
	strcpy(subsys->model, "unvmf Controller");
	TAILQ_INIT(&subsys->hosts);
	TAILQ_INIT(&subsys->listeners);
	TAILQ_INIT(&subsys->ctrlrs);
	return subsys;
}

/* Links a fully set-up NVM subsystem into the target; frees it on failure. */
static int subsystem_publish(struct unvmf_subsystem *subsys)
{
	pthread_mutex_lock(&g_tgt.lock);
	if (unvmf_subsystem_find(subsys->nqn)) {
		pthread_mutex_unlock(&g_tgt.lock);
		free(subsys->ns);
		free(subsys);
		return -EEXIST;
	}
	if (g_tgt.num_subsystems >= g_tgt.opts.max_subsystems) {
		pthread_mutex_unlock(&g_tgt.lock);
		free(subsys->ns);
		free(subsys);
		return -ENOSPC;
	}
	TAILQ_INSERT_TAIL(&g_tgt.subsystems, subsys, link);
	g_tgt.num_subsystems++;
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
	return 0;
}

int unvmf_subsystem_create(const char *nqn, enum unvmf_subsystem_type type, uint32_t max_namespaces,
                           struct unvmf_subsystem **out)
{
	struct unvmf_subsystem *subsys;
	int rc;

	if (!unvmf_nqn_valid(nqn))
		return -EINVAL;
	if (type == UNVMF_SUBSYSTEM_NVME && strcmp(nqn, NVMF_DISCOVERY_NQN) == 0)
		return -EINVAL;
	if (max_namespaces == 0)
		max_namespaces = type == UNVMF_SUBSYSTEM_NVME ? 32 : 0;
	if (max_namespaces > UNVMF_MAX_NAMESPACES)
		return -EINVAL;
	subsys = subsystem_alloc(nqn, type, max_namespaces);
	if (!subsys)
		return -ENOMEM;
	if (type == UNVMF_SUBSYSTEM_DISCOVERY) {
		*out = subsys;
		return 0;
	}
	rc = subsystem_publish(subsys);
	if (rc)
		return rc;
	*out = subsys;
	return 0;
}

void unvmf_subsystem_opts_init(struct unvmf_subsystem_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->min_cntlid = UNVMF_CNTLID_MIN;
	opts->max_cntlid = UNVMF_CNTLID_MAX;
}

int unvmf_subsystem_create_nvme(const char *nqn, const struct unvmf_subsystem_opts *opts,
                                struct unvmf_subsystem **out)
{
	uint32_t max_namespaces = opts->max_namespaces ? opts->max_namespaces : 32;
	struct unvmf_subsystem *subsys;
	int rc;

	if (!unvmf_nqn_valid(nqn) || strcmp(nqn, NVMF_DISCOVERY_NQN) == 0)
		return -EINVAL;
	if (opts->serial && !unvmf_subsystem_serial_valid(opts->serial))
		return -EINVAL;
	if (opts->model && !unvmf_subsystem_model_valid(opts->model))
		return -EINVAL;
	if (max_namespaces > UNVMF_MAX_NAMESPACES)
		return -EINVAL;
	if (opts->min_cntlid < UNVMF_CNTLID_MIN || opts->max_cntlid > UNVMF_CNTLID_MAX ||
	    opts->min_cntlid > opts->max_cntlid)
		return -ERANGE;
	if (opts->ana_reporting)
		return -EOPNOTSUPP;
	subsys = subsystem_alloc(nqn, UNVMF_SUBSYSTEM_NVME, max_namespaces);
	if (!subsys)
		return -ENOMEM;
	if (opts->serial)
		strcpy(subsys->serial, opts->serial);
	if (opts->model)
		strcpy(subsys->model, opts->model);
	subsys->allow_any_host = opts->allow_any_host;
	subsys->min_cntlid = opts->min_cntlid;
	subsys->max_cntlid = opts->max_cntlid;
	subsys->next_cntlid = opts->min_cntlid;
	rc = subsystem_publish(subsys);
	if (rc)
		return rc;
	*out = subsys;
	return 0;
}

struct unvmf_subsystem *unvmf_subsystem_find(const char *nqn)
{
	struct unvmf_subsystem *subsys;

	if (g_tgt.discovery && strcmp(nqn, NVMF_DISCOVERY_NQN) == 0)
		return g_tgt.discovery;
	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link) {
		if (strcmp(subsys->nqn, nqn) == 0)
			return subsys;
	}
	return NULL;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++) {
		if (*s < 0x20 || *s > 0x7e)
			return false;
	}
	return true;
}

bool unvmf_subsystem_serial_valid(const char *sn)
{
	return sn[0] && strlen(sn) <= UNVMF_SN_LEN && printable_ascii(sn);
}

bool unvmf_subsystem_model_valid(const char *mn)
{
	return mn[0] && strlen(mn) <= UNVMF_MN_LEN && printable_ascii(mn);
}

int unvmf_subsystem_set_sn(struct unvmf_subsystem *subsys, const char *sn)
{
	if (!unvmf_subsystem_serial_valid(sn))
		return -EINVAL;
	strcpy(subsys->serial, sn);
	return 0;
}

int unvmf_subsystem_set_mn(struct unvmf_subsystem *subsys, const char *mn)
{
	if (!unvmf_subsystem_model_valid(mn))
		return -EINVAL;
	strcpy(subsys->model, mn);
	return 0;
}

static void subsystem_free(struct unvmf_subsystem *subsys)
{
	struct unvmf_host_entry *h, *htmp;
	struct unvmf_listener *l, *ltmp;

	for (uint32_t i = 0; i < subsys->max_namespaces; i++) {
		struct unvmf_ns *ns = subsys->ns[i];

		if (ns) {
			unvmf_bdev_release(ns->bdev);
			unvmf_ns_range_fini(ns);
			unvmf_resv_fini(&ns->resv);
			free(ns);
		}
	}
	TAILQ_FOREACH_SAFE(h, &subsys->hosts, link, htmp)
		free(h);
	TAILQ_FOREACH_SAFE(l, &subsys->listeners, link, ltmp) {
		struct unvmf_transport *t = unvmf_tgt_find_transport(l->trid.trtype);

		if (t)
			t->ops->stop_listen(t, &l->trid);
		free(l);
	}
	free(subsys->ns);
	free(subsys);
}

struct subsys_delete_ctx {
	struct unvmf_subsystem *subsys;
	void (*done)(void *arg, int rc);
	void *arg;
	struct unvmf_poller *poller;
};

static int subsystem_delete_poll(void *arg)
{
	struct subsys_delete_ctx *ctx = arg;
	bool empty;

	pthread_mutex_lock(&g_tgt.lock);
	empty = TAILQ_EMPTY(&ctx->subsys->ctrlrs);
	pthread_mutex_unlock(&g_tgt.lock);
	if (!empty)
		return 0;
	unvmf_poller_unregister(&ctx->poller);
	/*
	 * Namespaces may still have channels on poll groups that served them;
	 * those hold no I/O now (every controller is gone) and are dropped
	 * lazily when the group is destroyed, so only the bdev claims go here.
	 */
	subsystem_free(ctx->subsys);
	if (ctx->done)
		ctx->done(ctx->arg, 0);
	free(ctx);
	return 1;
}

int unvmf_subsystem_delete(struct unvmf_subsystem *subsys, void (*done)(void *arg, int rc),
			   void *arg)
{
	struct unvmf_ctrlr *ctrlr;
	/* Allocated up front: once unlinked, the deletion must be able to finish. */
	struct subsys_delete_ctx *ctx = calloc(1, sizeof(*ctx));
	bool has_ctrlrs;

	if (!ctx)
		return -ENOMEM;
	pthread_mutex_lock(&g_tgt.lock);
	if (subsys->deleting) {
		pthread_mutex_unlock(&g_tgt.lock);
		free(ctx);
		return -EBUSY;
	}
	subsys->deleting = true;
	if (subsys->type == UNVMF_SUBSYSTEM_NVME) {
		TAILQ_REMOVE(&g_tgt.subsystems, subsys, link);
		g_tgt.num_subsystems--;
	}
	unvmf_discovery_changed_locked();
	has_ctrlrs = !TAILQ_EMPTY(&subsys->ctrlrs);
	TAILQ_FOREACH(ctrlr, &subsys->ctrlrs, link)
		unvmf_ctrlr_disconnect_all_locked(ctrlr, "subsystem deleted");
	pthread_mutex_unlock(&g_tgt.lock);

	if (!has_ctrlrs) {
		free(ctx);
		subsystem_free(subsys);
		if (done)
			done(arg, 0);
		return 0;
	}
	ctx->subsys = subsys;
	ctx->done = done;
	ctx->arg = arg;
	ctx->poller = unvmf_poller_register(subsystem_delete_poll, ctx, 1000, "subsys_delete");
	if (!ctx->poller) {
		/* No poller to wait with: leak the subsystem rather than free it under its controllers. */
		LOG_ERR("subsystem %s: cannot wait for its controllers; left allocated", subsys->nqn);
		free(ctx);
	}
	return 0;
}

/* ---- namespaces ---- */

/*
 * A bdev grew (control-plane thread, see unvmf_bdev_resize): every namespace
 * on it changed its Identify Namespace data, so each controller of its
 * subsystem lists it in the Changed Namespace List and, if the host enabled
 * it, gets a Namespace Attribute Changed event.
 */
static void subsystem_bdev_resized(struct unvmf_bdev *bdev)
{
	struct unvmf_subsystem *subsys;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link)
	{
		for (uint32_t i = 0; i < subsys->max_namespaces; i++) {
			const struct unvmf_ns *ns = subsys->ns[i];

			if (ns && ns->bdev == bdev)
				unvmf_subsystem_ns_changed_locked(subsys, ns->nsid);
		}
	}
	pthread_mutex_unlock(&g_tgt.lock);
}

int unvmf_subsystem_add_ns(struct unvmf_subsystem *subsys, struct unvmf_bdev *bdev, uint32_t nsid,
			   const uint8_t *uuid, const uint8_t *nguid, const uint8_t *eui64)
{
	return unvmf_subsystem_add_ns_ptpl(subsys, bdev, nsid, uuid, nguid, eui64, NULL);
}

int unvmf_subsystem_add_ns_ptpl(struct unvmf_subsystem *subsys, struct unvmf_bdev *bdev,
                                uint32_t nsid, const uint8_t *uuid, const uint8_t *nguid,
                                const uint8_t *eui64, const char *ptpl_file)
{
	struct unvmf_ns *ns;
	int rc;

	if (subsys->type != UNVMF_SUBSYSTEM_NVME)
		return -EINVAL;
	if (nsid > subsys->max_namespaces || nsid == 0xffffffff)
		return -EINVAL;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	rc = unvmf_ns_range_init(ns);
	if (rc) {
		free(ns);
		return rc;
	}
	rc = unvmf_resv_init(&ns->resv, ptpl_file);
	if (rc) {
		unvmf_ns_range_fini(ns);
		free(ns);
		return rc;
	}
	unvmf_bdev_set_resize_listener(subsystem_bdev_resized);
	pthread_mutex_lock(&g_tgt.lock);
	if (nsid == 0) {
		for (uint32_t i = 0; i < subsys->max_namespaces; i++) {
			if (!subsys->ns[i]) {
				nsid = i + 1;
				break;
			}
		}
		if (nsid == 0) {
			rc = -ENOSPC;
			goto err_unlock;
		}
	} else if (subsys->ns[nsid - 1]) {
		rc = -EEXIST;
		goto err_unlock;
	}
	rc = unvmf_bdev_claim(bdev);
	if (rc)
		goto err_unlock;
	ns->nsid = nsid;
	ns->bdev = bdev;
	memcpy(ns->uuid, uuid ? uuid : bdev->uuid, 16);
	if (nguid) {
		memcpy(ns->nguid, nguid, 16);
		ns->has_nguid = true;
	}
	if (eui64) {
		memcpy(ns->eui64, eui64, 8);
		ns->has_eui64 = true;
	}
	__atomic_store_n(&subsys->ns[nsid - 1], ns, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g_tgt.lock);
	unvmf_subsystem_ns_changed(subsys, nsid);
	LOG_NOTICE("subsystem %s: namespace %u added (bdev %s)", subsys->nqn, nsid, bdev->name);
	return (int)nsid;

err_unlock:
	pthread_mutex_unlock(&g_tgt.lock);
	unvmf_ns_range_fini(ns);
	unvmf_resv_fini(&ns->resv);
	free(ns);
	return rc;
}

struct ns_remove_ctx {
	struct unvmf_subsystem *subsys;
	/* Copied: the subsystem may be deleted while its namespace drains. */
	char nqn[UNVMF_NQN_BUF];
	struct unvmf_ns *ns;
	void (*done)(void *arg, int rc);
	void *arg;
	struct unvmf_poller *poller;
	unsigned next_group;
	bool group_pending;
};

static void ns_drain_on_group(void *arg);

/*
 * Visits poll groups one by one; each releases its channel for the bdev once
 * the channel holds no I/O (that group's in-flight commands on the namespace).
 */
static int ns_remove_poll(void *arg)
{
	struct ns_remove_ctx *ctx = arg;

	if (ctx->group_pending)
		return 0;
	while (ctx->next_group < g_tgt.num_groups && !g_tgt.groups[ctx->next_group])
		ctx->next_group++;
	if (ctx->next_group < g_tgt.num_groups) {
		ctx->group_pending = true;
		if (unvmf_thread_send_msg(g_tgt.groups[ctx->next_group]->thread, ns_drain_on_group,
					  ctx) != 0)
			ctx->group_pending = false;
		return 1;
	}
	/* A Compare and Write may still wait for its range without I/O on a channel. */
	if (atomic_load_explicit(&ctx->ns->range_users, memory_order_acquire))
		return 0;
	unvmf_poller_unregister(&ctx->poller);
	unvmf_bdev_release(ctx->ns->bdev);
	LOG_NOTICE("subsystem %s: namespace %u removed", ctx->nqn, ctx->ns->nsid);
	unvmf_ns_range_fini(ctx->ns);
	unvmf_resv_fini(&ctx->ns->resv);
	free(ctx->ns);
	if (ctx->done)
		ctx->done(ctx->arg, 0);
	free(ctx);
	return 1;
}

struct ns_drain_group {
	struct ns_remove_ctx *ctx;
	struct unvmf_poll_group *group;
	struct unvmf_poller *poller;
};

static void ns_drain_group_done(void *arg)
{
	struct ns_remove_ctx *ctx = arg;

	ctx->next_group++;
	ctx->group_pending = false;
}

static int ns_drain_group_poll(void *arg)
{
	struct ns_drain_group *dg = arg;

	if (!unvmf_poll_group_release_channel(dg->group, dg->ctx->ns->bdev))
		return 0;
	unvmf_poller_unregister(&dg->poller);
	unvmf_thread_send_msg(unvmf_reactor_thread(0), ns_drain_group_done, dg->ctx);
	free(dg);
	return 1;
}

static void ns_drain_on_group(void *arg)
{
	struct ns_remove_ctx *ctx = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();
	struct ns_drain_group *dg;

	if (!group || unvmf_poll_group_release_channel(group, ctx->ns->bdev)) {
		unvmf_thread_send_msg(unvmf_reactor_thread(0), ns_drain_group_done, ctx);
		return;
	}
	dg = calloc(1, sizeof(*dg));
	if (!dg) {
		LOG_ERR("namespace %u: no memory to wait for its I/O; retrying", ctx->ns->nsid);
		unvmf_thread_send_msg(unvmf_reactor_thread(0), ns_drain_group_done, ctx);
		return;
	}
	dg->ctx = ctx;
	dg->group = group;
	dg->poller = unvmf_poller_register(ns_drain_group_poll, dg, 100, "ns_drain");
}

int unvmf_subsystem_remove_ns(struct unvmf_subsystem *subsys, uint32_t nsid,
			      void (*done)(void *arg, int rc), void *arg)
{
	struct ns_remove_ctx *ctx;
	struct unvmf_ns *ns;

	if (nsid == 0 || nsid > subsys->max_namespaces)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	pthread_mutex_lock(&g_tgt.lock);
	ns = subsys->ns[nsid - 1];
	if (!ns) {
		pthread_mutex_unlock(&g_tgt.lock);
		free(ctx);
		return -ENOENT;
	}
	ns->removing = true;
	__atomic_store_n(&subsys->ns[nsid - 1], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g_tgt.lock);
	unvmf_subsystem_ns_changed(subsys, nsid);

	ctx->subsys = subsys;
	memcpy(ctx->nqn, subsys->nqn, sizeof(ctx->nqn));
	ctx->ns = ns;
	ctx->done = done;
	ctx->arg = arg;
	ctx->poller = unvmf_poller_register(ns_remove_poll, ctx, 0, "ns_remove");
	if (!ctx->poller) {
		/* Cannot wait for I/O: keep the namespace allocated rather than free it under I/O. */
		free(ctx);
		return -ENOMEM;
	}
	return 0;
}

/* ---- hosts ---- */

bool unvmf_subsystem_host_allowed(struct unvmf_subsystem *subsys, const char *hostnqn)
{
	struct unvmf_host_entry *h;

	if (subsys->allow_any_host)
		return true;
	TAILQ_FOREACH(h, &subsys->hosts, link) {
		if (strcmp(h->nqn, hostnqn) == 0)
			return true;
	}
	return false;
}

int unvmf_subsystem_add_host(struct unvmf_subsystem *subsys, const char *hostnqn)
{
	struct unvmf_host_entry *h;

	if (!unvmf_nqn_valid(hostnqn))
		return -EINVAL;
	if (subsys->type != UNVMF_SUBSYSTEM_NVME)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	unvmf_strlcpy(h->nqn, hostnqn, sizeof(h->nqn));
	pthread_mutex_lock(&g_tgt.lock);
	struct unvmf_host_entry *e;

	TAILQ_FOREACH(e, &subsys->hosts, link) {
		if (strcmp(e->nqn, hostnqn) == 0) {
			pthread_mutex_unlock(&g_tgt.lock);
			free(h);
			return -EEXIST;
		}
	}
	TAILQ_INSERT_TAIL(&subsys->hosts, h, link);
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
	return 0;
}

int unvmf_subsystem_remove_host(struct unvmf_subsystem *subsys, const char *hostnqn)
{
	struct unvmf_host_entry *h;
	struct unvmf_ctrlr *ctrlr;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(h, &subsys->hosts, link) {
		if (strcmp(h->nqn, hostnqn) == 0)
			break;
	}
	if (!h) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOENT;
	}
	TAILQ_REMOVE(&subsys->hosts, h, link);
	free(h);
	if (!subsys->allow_any_host) {
		TAILQ_FOREACH(ctrlr, &subsys->ctrlrs, link) {
			if (strcmp(ctrlr->hostnqn, hostnqn) == 0)
				unvmf_ctrlr_disconnect_all_locked(ctrlr, "host removed");
		}
	}
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
	return 0;
}

void unvmf_subsystem_allow_any_host(struct unvmf_subsystem *subsys, bool allow)
{
	pthread_mutex_lock(&g_tgt.lock);
	subsys->allow_any_host = allow;
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
}

/* ---- listeners ---- */

bool unvmf_subsystem_has_listener(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid)
{
	struct unvmf_listener *l;

	TAILQ_FOREACH(l, &subsys->listeners, link) {
		if (unvmf_trid_same_addr(&l->trid, trid))
			return true;
	}
	return false;
}

int unvmf_subsystem_add_listener(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid)
{
	static const struct unvmf_listen_opts plain;

	return unvmf_subsystem_add_listener_ext(subsys, trid, &plain);
}

int unvmf_subsystem_add_listener_ext(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid,
                                     const struct unvmf_listen_opts *opts)
{
	struct unvmf_transport *t = unvmf_tgt_find_transport(trid->trtype);
	struct unvmf_listener *l;
	int rc;

	if (!t)
		return -EPROTONOSUPPORT;
	if (unvmf_subsystem_has_listener(subsys, trid))
		return -EEXIST;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->trid = *trid;
	l->trid.subnqn[0] = '\0';
	l->secure_channel = opts->secure_channel;
	if (t->ops->listen_ext)
		rc = t->ops->listen_ext(t, &l->trid, opts);
	else
		rc = opts->secure_channel ? -EOPNOTSUPP : t->ops->listen(t, &l->trid);
	if (rc) {
		free(l);
		return rc;
	}
	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_INSERT_TAIL(&subsys->listeners, l, link);
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
	LOG_NOTICE("subsystem %s: listening on %s %s:%s%s", subsys->nqn,
		   unvmf_trtype_str(trid->trtype), trid->traddr, trid->trsvcid,
		   opts->secure_channel ? " (secure channel required)" : "");
	return 0;
}

int unvmf_subsystem_remove_listener(struct unvmf_subsystem *subsys,
				    const struct unvmf_trid *trid)
{
	struct unvmf_transport *t = unvmf_tgt_find_transport(trid->trtype);
	struct unvmf_listener *l;
	struct unvmf_ctrlr *ctrlr;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(l, &subsys->listeners, link) {
		if (unvmf_trid_same_addr(&l->trid, trid))
			break;
	}
	if (!l) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOENT;
	}
	TAILQ_REMOVE(&subsys->listeners, l, link);
	/* Controllers are reached through one address in practice; drop those on this one. */
	TAILQ_FOREACH(ctrlr, &subsys->ctrlrs, link) {
		if (unvmf_trid_same_addr(&ctrlr->listen_trid, trid))
			unvmf_ctrlr_disconnect_all_locked(ctrlr, "listener removed");
	}
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
	if (t)
		t->ops->stop_listen(t, &l->trid);
	free(l);
	return 0;
}

/* ---- reading the configuration ---- */

enum unvmf_subsystem_type unvmf_subsystem_get_type(const struct unvmf_subsystem *subsys)
{
	return subsys->type;
}

uint32_t unvmf_subsystem_get_max_namespaces(const struct unvmf_subsystem *subsys)
{
	return subsys->max_namespaces;
}

bool unvmf_subsystem_has_ns(struct unvmf_subsystem *subsys, uint32_t nsid)
{
	bool has;

	if (nsid == 0 || nsid > subsys->max_namespaces)
		return false;
	pthread_mutex_lock(&g_tgt.lock);
	has = subsys->ns[nsid - 1] != NULL;
	pthread_mutex_unlock(&g_tgt.lock);
	return has;
}

void unvmf_subsystem_get_info(struct unvmf_subsystem *subsys, struct unvmf_subsystem_info *info)
{
	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&g_tgt.lock);
	memcpy(info->nqn, subsys->nqn, sizeof(info->nqn));
	info->type = subsys->type;
	memcpy(info->serial, subsys->serial, sizeof(info->serial));
	memcpy(info->model, subsys->model, sizeof(info->model));
	info->allow_any_host = subsys->allow_any_host;
	info->ana_reporting = subsys->ana_reporting;
	info->max_namespaces = subsys->max_namespaces;
	info->min_cntlid = subsys->min_cntlid;
	info->max_cntlid = subsys->max_cntlid;
	pthread_mutex_unlock(&g_tgt.lock);
}

int unvmf_subsystem_foreach_ns(struct unvmf_subsystem *subsys,
                               int (*fn)(const struct unvmf_ns_info *ns, void *arg), void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	for (uint32_t i = 0; rc == 0 && i < subsys->max_namespaces; i++) {
		const struct unvmf_ns *ns = subsys->ns[i];
		struct unvmf_ns_info info;

		if (!ns)
			continue;
		info.nsid = ns->nsid;
		info.bdev_name = ns->bdev->name;
		memcpy(info.uuid, ns->uuid, sizeof(info.uuid));
		memcpy(info.nguid, ns->nguid, sizeof(info.nguid));
		memcpy(info.eui64, ns->eui64, sizeof(info.eui64));
		info.has_nguid = ns->has_nguid;
		info.has_eui64 = ns->has_eui64;
		rc = fn(&info, arg);
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

int unvmf_subsystem_foreach_host(struct unvmf_subsystem *subsys,
                                 int (*fn)(const char *hostnqn, void *arg), void *arg)
{
	const struct unvmf_host_entry *h;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(h, &subsys->hosts, link)
	{
		rc = fn(h->nqn, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

int unvmf_subsystem_foreach_listener(struct unvmf_subsystem *subsys,
                                     int (*fn)(const struct unvmf_trid *trid, void *arg), void *arg)
{
	const struct unvmf_listener *l;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(l, &subsys->listeners, link)
	{
		rc = fn(&l->trid, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}
