/*
 * sim connection manager. Connection state changes when the call is made;
 * only the events travel, arriving on the receiver's channel a seeded
 * number of steps later (always in the order they were sent to one
 * channel at one step). Private data is padded with zeros to the IB CM
 * sizes, as RDMA CM delivers it: REQ 56, REP 196, REJ 148 bytes.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "provider_sim_internal.h"
#include "util/log.h"

#define SIM_REQ_PDATA 56
#define SIM_REP_PDATA 196
#define SIM_REJ_PDATA 148
#define SIM_REJ_INVALID_SERVICE_ID 8	/* no listener on that port */
#define SIM_REJ_CONSUMER_DEFINED 28

void sim_cm_schedule(struct rdma_sim_fabric *f, struct rdma_prov_channel *ch, uint64_t delay,
		     const struct rdma_prov_cm_event *ev)
{
	struct sim_cm_ev *e = calloc(1, sizeof(*e)), *it;

	if (e == NULL) {
		LOG_ERR("rdma sim: dropping CM event %s (no memory)",
			rdma_prov_cm_event_name(ev->type));
		return;
	}
	e->time = f->now + delay + sim_rand_upto(f, f->opts.cm_delay_max);
	e->seq = f->cm_seq++;
	e->ch = ch;
	e->ev = *ev;
	TAILQ_FOREACH_REVERSE(it, &f->cm_sched, sim_cm_ev_list, link)
		if (it->time <= e->time)
			break;
	if (it != NULL)
		TAILQ_INSERT_AFTER(&f->cm_sched, it, e, link);
	else
		TAILQ_INSERT_HEAD(&f->cm_sched, e, link);
}

int sim_cm_step(struct rdma_sim_fabric *f)
{
	struct sim_cm_ev *e;
	int n = 0;

	while ((e = TAILQ_FIRST(&f->cm_sched)) != NULL && e->time <= f->now) {
		TAILQ_REMOVE(&f->cm_sched, e, link);
		if (e->ev.type == RDMA_PROV_CM_EVENT_ESTABLISHED)
			e->ev.id->est_delivered = true;
		/* The route (and the id's device) exists once the event says so. */
		if (e->ev.type == RDMA_PROV_CM_EVENT_ROUTE_RESOLVED &&
		    e->ev.id->state == SIM_ID_RESOLVING)
			e->ev.id->state = SIM_ID_ROUTE_RESOLVED;
		TAILQ_INSERT_TAIL(&e->ch->ready, e, link);
		sim_efd_signal(e->ch->efd);
		n++;
	}
	return n;
}

static void pdata_set(struct rdma_prov_conn_param *p, const void *data, uint8_t len, uint8_t size)
{
	memset(p->private_data, 0, sizeof(p->private_data));
	if (len)
		memcpy(p->private_data, data, len);
	p->private_data_len = size;
}

/* --- channel --- */

int sim_channel_create(struct rdma_prov_ctx *ctx, struct rdma_prov_channel **out)
{
	struct rdma_sim_fabric *f = ctx->fabric;
	struct rdma_prov_channel *ch = calloc(1, sizeof(*ch));

	if (ch == NULL)
		return -ENOMEM;
	ch->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ch->efd < 0) {
		free(ch);
		return -errno;
	}
	ch->ctx = ctx;
	TAILQ_INIT(&ch->ready);
	ctx->nobjs++;
	TAILQ_INSERT_TAIL(&f->channels, ch, link);
	f->counts.channels++;
	*out = ch;
	return 0;
}

void sim_channel_free(struct rdma_prov_channel *ch)
{
	struct rdma_sim_fabric *f = ch->ctx->fabric;
	struct sim_cm_ev *e, *tmp;

	TAILQ_FOREACH_SAFE(e, &f->cm_sched, link, tmp) {
		if (e->ch == ch) {
			TAILQ_REMOVE(&f->cm_sched, e, link);
			free(e);
		}
	}
	while ((e = TAILQ_FIRST(&ch->ready)) != NULL) {
		TAILQ_REMOVE(&ch->ready, e, link);
		free(e);
	}
	close(ch->efd);
	ch->ctx->nobjs--;
	TAILQ_REMOVE(&f->channels, ch, link);
	f->counts.channels--;
	free(ch);
}

int sim_channel_destroy(struct rdma_prov_channel *ch)
{
	if (ch->nids)
		return -EBUSY;
	sim_channel_free(ch);
	return 0;
}

int sim_channel_fd(struct rdma_prov_channel *ch)
{
	return ch->efd;
}

int sim_cm_get_event(struct rdma_prov_channel *ch, struct rdma_prov_cm_event *ev)
{
	struct sim_cm_ev *e = TAILQ_FIRST(&ch->ready);

	if (e == NULL) {
		sim_efd_drain(ch->efd);
		return -EAGAIN;
	}
	TAILQ_REMOVE(&ch->ready, e, link);
	*ev = e->ev;
	if (ev->type == RDMA_PROV_CM_EVENT_CONNECT_REQUEST)
		ev->id->req_unretrieved = false;
	free(e);
	if (TAILQ_EMPTY(&ch->ready))
		sim_efd_drain(ch->efd);
	return 0;
}

/* --- ids --- */

static int id_alloc(struct rdma_prov_channel *ch, enum sim_id_state state, void *user_ctx,
		    struct rdma_prov_id **out)
{
	struct rdma_sim_fabric *f = ch->ctx->fabric;
	struct rdma_prov_id *id = calloc(1, sizeof(*id));

	if (id == NULL)
		return -ENOMEM;
	id->ctx = ch->ctx;
	id->ch = ch;
	id->state = state;
	id->user_ctx = user_ctx;
	ch->nids++;
	TAILQ_INSERT_TAIL(&f->ids, id, link);
	f->counts.ids++;
	*out = id;
	return 0;
}

/* Drops events naming id that nobody retrieved yet. */
static void id_purge_events(struct rdma_prov_id *id)
{
	struct rdma_sim_fabric *f = id->ctx->fabric;
	struct rdma_prov_channel *ch;
	struct sim_cm_ev *e, *tmp;

	TAILQ_FOREACH_SAFE(e, &f->cm_sched, link, tmp) {
		if (e->ev.id == id || e->ev.listen_id == id) {
			TAILQ_REMOVE(&f->cm_sched, e, link);
			free(e);
		}
	}
	TAILQ_FOREACH(ch, &f->channels, link) {
		TAILQ_FOREACH_SAFE(e, &ch->ready, link, tmp) {
			if (e->ev.id == id || e->ev.listen_id == id) {
				TAILQ_REMOVE(&ch->ready, e, link);
				free(e);
			}
		}
	}
}

static void id_schedule(struct rdma_prov_id *id, uint64_t delay, enum rdma_prov_cm_event_type type,
			int status, const struct rdma_prov_conn_param *param)
{
	struct rdma_prov_cm_event ev = {.type = type, .id = id, .status = status};

	if (param != NULL)
		ev.param = *param;
	sim_cm_schedule(id->ctx->fabric, id->ch, delay, &ev);
}

static void id_disconnect_one(struct rdma_prov_id *id)
{
	struct rdma_sim_fabric *f = id->ctx->fabric;

	if (id->disconnected)
		return;
	id->disconnected = true;
	id_schedule(id, 0, RDMA_PROV_CM_EVENT_DISCONNECTED, 0, NULL);
	id_schedule(id, f->opts.timewait_steps, RDMA_PROV_CM_EVENT_TIMEWAIT_EXIT, 0, NULL);
}

static bool id_connected(const struct rdma_prov_id *id)
{
	return id->state == SIM_ID_ESTABLISHED || id->state == SIM_ID_ACCEPTED;
}

/* The passive child leaves its listener's backlog. */
static void id_unlisten(struct rdma_prov_id *id)
{
	if (id->listen != NULL) {
		id->listen->pending_reqs--;
		id->listen = NULL;
	}
}

void sim_id_free(struct rdma_prov_id *id)
{
	struct rdma_sim_fabric *f = id->ctx->fabric;
	struct rdma_prov_id *other, *tmp;

	if (id->state == SIM_ID_LISTEN) {
		/* Requests nobody has seen yet die with their listener. */
		TAILQ_FOREACH_SAFE(other, &f->ids, link, tmp) {
			if (other->listen != id)
				continue;
			other->listen = NULL;
			if (other->req_unretrieved) {
				if (other->peer != NULL) {
					other->peer->peer = NULL;
					other->peer->state = SIM_ID_REJECTED;
					id_schedule(other->peer, 0, RDMA_PROV_CM_EVENT_REJECTED,
						    SIM_REJ_INVALID_SERVICE_ID, NULL);
					other->peer = NULL;
				}
				sim_id_free(other);
			}
		}
	}
	id_unlisten(id);
	if (id->peer != NULL) {
		if (id_connected(id) && !id->disconnected)
			id_disconnect_one(id->peer);
		else if (id->state == SIM_ID_REQ_RECEIVED) {
			/* Destroying an unanswered request rejects it (IB CM sends a REJ). */
			id->peer->state = SIM_ID_REJECTED;
			id_schedule(id->peer, 0, RDMA_PROV_CM_EVENT_REJECTED,
				    SIM_REJ_CONSUMER_DEFINED, NULL);
		}
		if (id->peer->peer == id)
			id->peer->peer = NULL;
	}
	if (id->qp != NULL)
		id->qp->id = NULL;
	id_purge_events(id);
	id->ch->nids--;
	TAILQ_REMOVE(&f->ids, id, link);
	f->counts.ids--;
	free(id);
}

int sim_id_destroy(struct rdma_prov_id *id)
{
	if (id->qp != NULL)
		return -EBUSY;
	sim_id_free(id);
	return 0;
}

void sim_id_set_ctx(struct rdma_prov_id *id, void *id_ctx)
{
	id->user_ctx = id_ctx;
}

void *sim_id_get_ctx(struct rdma_prov_id *id)
{
	return id->user_ctx;
}

struct rdma_prov_device *sim_id_get_device(struct rdma_prov_id *id)
{
	if (id->state == SIM_ID_IDLE || id->state == SIM_ID_RESOLVING)
		return NULL;
	return id->ctx->node->dev;
}

/* --- passive --- */

int sim_cm_listen(struct rdma_prov_channel *ch, const char *addr, uint16_t port, int backlog,
		  void *id_ctx, struct rdma_prov_id **out)
{
	struct rdma_sim_node *node = ch->ctx->node;
	struct rdma_prov_id *id;
	int rc;

	if (node->device_failed)
		return -ENODEV;
	if (addr == NULL || strcmp(addr, node->addr) != 0)
		return -EADDRNOTAVAIL;
	TAILQ_FOREACH(id, &ch->ctx->fabric->ids, link)
		if (id->state == SIM_ID_LISTEN && id->ctx->node == node && id->port == port)
			return -EADDRINUSE;
	rc = id_alloc(ch, SIM_ID_LISTEN, id_ctx, &id);
	if (rc)
		return rc;
	id->port = port;
	id->backlog = backlog > 0 ? backlog : 1;
	*out = id;
	return 0;
}

int sim_cm_accept(struct rdma_prov_id *id, struct rdma_prov_qp *qp,
		  const struct rdma_prov_conn_param *param)
{
	struct rdma_sim_fabric *f = id->ctx->fabric;
	struct rdma_prov_id *active = id->peer;
	struct rdma_prov_conn_param rep = {0};

	if (id->state != SIM_ID_REQ_RECEIVED || qp == NULL || qp->id != id ||
	    qp->state != RDMA_PROV_QPS_RTS || param->private_data_len > SIM_REP_PDATA)
		return -EINVAL;
	id_unlisten(id);
	if (active == NULL || active->qp == NULL || !active->ctx->node->alive ||
	    !id->ctx->node->alive) {
		/* No RTU will ever come back. */
		id->state = SIM_ID_FAILED;
		id_schedule(id, f->opts.connect_timeout_steps, RDMA_PROV_CM_EVENT_CONNECT_ERROR,
			    -ETIMEDOUT, NULL);
		return 0;
	}
	qp->peer = active->qp;
	active->qp->peer = qp;
	active->qp->state = RDMA_PROV_QPS_RTS;
	active->state = SIM_ID_ESTABLISHED;
	id->state = SIM_ID_ACCEPTED;
	pdata_set(&rep, param->private_data, param->private_data_len, SIM_REP_PDATA);
	rep.responder_resources = UNVMF_MIN(param->responder_resources, qp->max_dest_rd_atomic);
	rep.initiator_depth = UNVMF_MIN(param->initiator_depth, qp->max_rd_atomic);
	rep.rnr_retry_count = param->rnr_retry_count;
	rep.qp_num = qp->qpn;
	id_schedule(active, 0, RDMA_PROV_CM_EVENT_ESTABLISHED, 0, &rep);
	/* The RTU follows the REP. */
	id_schedule(id, 1, RDMA_PROV_CM_EVENT_ESTABLISHED, 0, NULL);
	return 0;
}

int sim_cm_reject(struct rdma_prov_id *id, const void *private_data, uint8_t len)
{
	struct rdma_prov_conn_param rej = {0};

	if (id->state != SIM_ID_REQ_RECEIVED || len > SIM_REJ_PDATA)
		return -EINVAL;
	id_unlisten(id);
	id->state = SIM_ID_REJECTED;
	if (id->peer != NULL) {
		pdata_set(&rej, private_data, len, SIM_REJ_PDATA);
		id->peer->state = SIM_ID_REJECTED;
		id_schedule(id->peer, 0, RDMA_PROV_CM_EVENT_REJECTED, SIM_REJ_CONSUMER_DEFINED, &rej);
		id->peer->peer = NULL;
		id->peer = NULL;
	}
	return 0;
}

/* --- active --- */

int sim_cm_resolve(struct rdma_prov_channel *ch, const char *src_addr, const char *dst_addr,
		   uint16_t port, int timeout_ms, void *id_ctx, struct rdma_prov_id **out)
{
	struct rdma_sim_node *me = ch->ctx->node, *dst;
	struct rdma_prov_id *id;
	int rc;

	if (src_addr != NULL && strcmp(src_addr, me->addr) != 0)
		return -EADDRNOTAVAIL;
	if (me->device_failed)
		return -ENODEV;
	rc = id_alloc(ch, SIM_ID_RESOLVING, id_ctx, &id);
	if (rc)
		return rc;
	id->port = port;
	dst = sim_node_find(ch->ctx->fabric, dst_addr);
	if (dst == NULL || !dst->alive || !me->alive) {
		id->state = SIM_ID_FAILED;
		id_schedule(id, 0, RDMA_PROV_CM_EVENT_ADDR_ERROR, -EHOSTUNREACH, NULL);
	} else {
		id->dst = dst;
		id_schedule(id, 0, RDMA_PROV_CM_EVENT_ROUTE_RESOLVED, 0, NULL);
	}
	*out = id;
	return 0;
}

static struct rdma_prov_id *listener_find(struct rdma_sim_fabric *f, struct rdma_sim_node *node,
					  uint16_t port)
{
	struct rdma_prov_id *id;

	TAILQ_FOREACH(id, &f->ids, link)
		if (id->state == SIM_ID_LISTEN && id->ctx->node == node && id->port == port)
			return id;
	return NULL;
}

int sim_cm_connect(struct rdma_prov_id *id, const struct rdma_prov_conn_param *param)
{
	struct rdma_sim_fabric *f = id->ctx->fabric;
	struct rdma_prov_conn_param req = {0};
	struct rdma_prov_id *lid, *child;
	int rc;

	if (id->state != SIM_ID_ROUTE_RESOLVED || id->qp == NULL ||
	    param->private_data_len > SIM_REQ_PDATA)
		return -EINVAL;
	id->qp->retry_cnt = UNVMF_MIN(param->retry_count, 7);
	id->qp->rnr_retry = UNVMF_MIN(param->rnr_retry_count, 7);
	id->state = SIM_ID_CONNECTING;
	lid = listener_find(f, id->dst, id->port);
	if (!id->dst->alive || !id->ctx->node->alive || id->dst->device_failed ||
	    (lid != NULL && lid->pending_reqs >= (uint32_t)lid->backlog)) {
		id->state = SIM_ID_FAILED;
		id_schedule(id, f->opts.connect_timeout_steps, RDMA_PROV_CM_EVENT_UNREACHABLE,
			    -ETIMEDOUT, NULL);
		return 0;
	}
	if (lid == NULL) {
		id->state = SIM_ID_REJECTED;
		id_schedule(id, 0, RDMA_PROV_CM_EVENT_REJECTED, SIM_REJ_INVALID_SERVICE_ID, NULL);
		return 0;
	}
	rc = id_alloc(lid->ch, SIM_ID_REQ_RECEIVED, lid->user_ctx, &child);
	if (rc)
		return rc;
	/* As RDMA CM shows a REQ to the passive side: depths from its point of view. */
	pdata_set(&req, param->private_data, param->private_data_len, SIM_REQ_PDATA);
	req.responder_resources = param->initiator_depth;
	req.initiator_depth = param->responder_resources;
	req.retry_count = param->retry_count;
	req.rnr_retry_count = param->rnr_retry_count;
	req.srq = param->srq;
	req.qp_num = id->qp->qpn;
	child->req = req;
	child->port = lid->port;
	child->listen = lid;
	child->req_unretrieved = true;
	child->peer = id;
	id->peer = child;
	lid->pending_reqs++;
	sim_cm_schedule(f, lid->ch, 0, &(struct rdma_prov_cm_event){
		.type = RDMA_PROV_CM_EVENT_CONNECT_REQUEST,
		.id = child, .listen_id = lid, .param = req});
	return 0;
}

int sim_cm_disconnect(struct rdma_prov_id *id)
{
	if (!id_connected(id) && !id->disconnected)
		return -EINVAL;
	if (id->disconnected)
		return 0;
	/* RDMA CM moves a QP attached to the id to ERR; the passive own QP is the caller's. */
	if (id->qp != NULL && id->qp->attached)
		sim_qp_set_err(id->qp);
	id_disconnect_one(id);
	if (id->peer != NULL && id->peer->ctx->node->alive && id->ctx->node->alive)
		id_disconnect_one(id->peer);
	return 0;
}

int rdma_sim_inject_disconnect(struct rdma_prov_id *id, bool both)
{
	SIM_LOCKED();
	if (id->state == SIM_ID_LISTEN)
		return -EINVAL;
	id_disconnect_one(id);
	if (both && id->peer != NULL)
		id_disconnect_one(id->peer);
	return 0;
}
