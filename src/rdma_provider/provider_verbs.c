/*
 * verbs provider: libibverbs + librdmacm. Passive-side QPs follow
 * docs vm-rig.md section 9 (own QP, INIT/RTR/RTS by hand, retry settings at
 * RTR->RTS, accept by qp_num); active-side QPs are attached to the cm id.
 * Every fd (CM channel, async, completion channel) is non-blocking.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <rdma/rdma_cma.h>
#include <string.h>

#include "rdma_provider/provider.h"
#include "util/common.h"
#include "util/log.h"

#define VERBS_MAX_DEVICES 16
#define VERBS_POST_BATCH 16
#define VERBS_POLL_BATCH 32

static_assert(sizeof(struct rdma_prov_sge) == sizeof(struct ibv_sge), "sge layout");
static_assert(offsetof(struct rdma_prov_sge, addr) == offsetof(struct ibv_sge, addr), "sge");
static_assert(offsetof(struct rdma_prov_sge, length) == offsetof(struct ibv_sge, length), "sge");
static_assert(offsetof(struct rdma_prov_sge, lkey) == offsetof(struct ibv_sge, lkey), "sge");
static_assert(RDMA_PROV_WC_LOC_PROT_ERR == (int)IBV_WC_LOC_PROT_ERR, "wc status");
static_assert(RDMA_PROV_WC_WR_FLUSH_ERR == (int)IBV_WC_WR_FLUSH_ERR, "wc status");
static_assert(RDMA_PROV_WC_REM_ACCESS_ERR == (int)IBV_WC_REM_ACCESS_ERR, "wc status");
static_assert(RDMA_PROV_WC_RETRY_EXC_ERR == (int)IBV_WC_RETRY_EXC_ERR, "wc status");
static_assert(RDMA_PROV_WC_RNR_RETRY_EXC_ERR == (int)IBV_WC_RNR_RETRY_EXC_ERR, "wc status");
static_assert(RDMA_PROV_WC_GENERAL_ERR == (int)IBV_WC_GENERAL_ERR, "wc status");
static_assert(RDMA_PROV_QPS_ERR == (int)IBV_QPS_ERR, "qp state");
static_assert(RDMA_PROV_QPS_RTS == (int)IBV_QPS_RTS, "qp state");

struct rdma_prov_device {
	struct rdma_prov_ctx *ctx;
	struct ibv_context *verbs;
	struct ibv_device_attr attr;
};

struct rdma_prov_ctx {
	struct ibv_context **list;	/* rdma_get_devices(); NULL when none */
	struct rdma_prov_device devs[VERBS_MAX_DEVICES];
	uint32_t ndevs;
	uint32_t nobjs;			/* channels alive */
};

struct rdma_prov_channel {
	struct rdma_prov_ctx *ctx;
	struct rdma_event_channel *ch;
	uint32_t nids;
};

struct rdma_prov_id {
	struct rdma_prov_channel *ch;
	struct rdma_cm_id *cm;
	void *user_ctx;
	struct rdma_prov_qp *qp;
	bool passive;
	uint8_t req_initiator_depth;	/* passive: from the REQ, as RDMA CM shows it */
	uint8_t req_responder_resources;
};

struct rdma_prov_pd {
	struct rdma_prov_device *dev;
	struct ibv_pd *pd;
};

struct rdma_prov_mr {
	struct ibv_mr *mr;
};

struct rdma_prov_cq {
	struct rdma_prov_device *dev;
	struct ibv_cq *cq;
	struct ibv_comp_channel *cc;
	unsigned int unacked;
};

struct rdma_prov_srq {
	struct ibv_srq *srq;
};

struct rdma_prov_qp {
	struct ibv_qp *qp;
	struct rdma_prov_id *id;
	bool attached;
	uint8_t resp_res;		/* passive: what accept may announce */
	uint8_t init_depth;
	void *user_ctx;
};

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* A negative errno from a verbs/rdmacm failure, with ENODEV for "no RDMA stack". */
static int verbs_err(const char *what, int err)
{
	if (err == 0)
		err = EIO;
	if (err == ENOENT || err == ENOSYS)
		err = ENODEV;
	LOG_ERR("rdma verbs: %s failed: %s%s", what, strerror(err),
		err == ENODEV ? " (no RDMA device)" : "");
	return -err;
}

static struct rdma_prov_device *ctx_dev(struct rdma_prov_ctx *ctx, struct ibv_context *verbs)
{
	struct rdma_prov_device *dev;

	if (verbs == NULL)
		return NULL;
	for (uint32_t i = 0; i < ctx->ndevs; i++)
		if (ctx->devs[i].verbs == verbs)
			return &ctx->devs[i];
	if (ctx->ndevs == VERBS_MAX_DEVICES)
		return NULL;
	dev = &ctx->devs[ctx->ndevs];
	dev->ctx = ctx;
	dev->verbs = verbs;
	if (ibv_query_device(verbs, &dev->attr) != 0 || set_nonblock(verbs->async_fd) != 0) {
		LOG_ERR("rdma verbs: cannot set up device %s", ibv_get_device_name(verbs->device));
		return NULL;
	}
	ctx->ndevs++;
	return dev;
}

static int verbs_ctx_open(void *arg, struct rdma_prov_ctx **out)
{
	struct rdma_prov_ctx *ctx = calloc(1, sizeof(*ctx));
	int n = 0;

	if (ctx == NULL)
		return -ENOMEM;
	ctx->list = rdma_get_devices(&n);
	for (int i = 0; ctx->list != NULL && i < n; i++)
		ctx_dev(ctx, ctx->list[i]);
	if (ctx->ndevs == 0)
		LOG_WARN("rdma verbs: no RDMA devices found");
	*out = ctx;
	return 0;
}

static int verbs_ctx_close(struct rdma_prov_ctx *ctx)
{
	if (ctx->nobjs)
		return -EBUSY;
	if (ctx->list != NULL)
		rdma_free_devices(ctx->list);
	free(ctx);
	return 0;
}

static int verbs_ctx_get_devices(struct rdma_prov_ctx *ctx, struct rdma_prov_device **devs,
				 uint32_t max)
{
	for (uint32_t i = 0; i < ctx->ndevs && i < max; i++)
		devs[i] = &ctx->devs[i];
	return (int)ctx->ndevs;
}

/* --- CM --- */

static int verbs_channel_create(struct rdma_prov_ctx *ctx, struct rdma_prov_channel **out)
{
	struct rdma_prov_channel *ch;
	int rc;

	if (ctx->ndevs == 0) {
		LOG_ERR("rdma verbs: cannot create a CM channel: no RDMA device");
		return -ENODEV;
	}
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return -ENOMEM;
	ch->ch = rdma_create_event_channel();
	if (ch->ch == NULL) {
		rc = verbs_err("rdma_create_event_channel", errno);
		goto err_free;
	}
	rc = set_nonblock(ch->ch->fd);
	if (rc)
		goto err_destroy;
	ch->ctx = ctx;
	ctx->nobjs++;
	*out = ch;
	return 0;

err_destroy:
	rdma_destroy_event_channel(ch->ch);
err_free:
	free(ch);
	return rc;
}

static int verbs_channel_destroy(struct rdma_prov_channel *ch)
{
	if (ch->nids)
		return -EBUSY;
	rdma_destroy_event_channel(ch->ch);
	ch->ctx->nobjs--;
	free(ch);
	return 0;
}

static int verbs_channel_fd(struct rdma_prov_channel *ch)
{
	return ch->ch->fd;
}

static int id_wrap(struct rdma_prov_channel *ch, struct rdma_cm_id *cm, void *user_ctx,
		   struct rdma_prov_id **out)
{
	struct rdma_prov_id *id = calloc(1, sizeof(*id));

	if (id == NULL)
		return -ENOMEM;
	id->ch = ch;
	id->cm = cm;
	id->user_ctx = user_ctx;
	cm->context = id;
	ch->nids++;
	*out = id;
	return 0;
}

static int id_create(struct rdma_prov_channel *ch, void *user_ctx, struct rdma_prov_id **out)
{
	struct rdma_cm_id *cm;
	int rc;

	if (rdma_create_id(ch->ch, &cm, NULL, RDMA_PS_TCP) != 0)
		return verbs_err("rdma_create_id", errno);
	rc = id_wrap(ch, cm, user_ctx, out);
	if (rc)
		rdma_destroy_id(cm);
	return rc;
}

static void id_unwrap(struct rdma_prov_id *id)
{
	id->ch->nids--;
	free(id);
}

static int parse_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return 0;
	}
	return -EINVAL;
}

static void param_from_cm(struct rdma_prov_conn_param *p, const struct rdma_conn_param *c)
{
	uint8_t len = c->private_data_len;

	memset(p, 0, sizeof(*p));
	if (len > RDMA_PROV_PRIVATE_DATA_MAX)
		len = RDMA_PROV_PRIVATE_DATA_MAX;
	if (c->private_data != NULL && len)
		memcpy(p->private_data, c->private_data, len);
	p->private_data_len = len;
	p->responder_resources = c->responder_resources;
	p->initiator_depth = c->initiator_depth;
	p->retry_count = c->retry_count;
	p->rnr_retry_count = c->rnr_retry_count;
	p->srq = c->srq;
	p->qp_num = c->qp_num;
}

static enum rdma_prov_cm_event_type cm_type(enum rdma_cm_event_type t)
{
	switch (t) {
	case RDMA_CM_EVENT_ROUTE_RESOLVED: return RDMA_PROV_CM_EVENT_ROUTE_RESOLVED;
	case RDMA_CM_EVENT_ADDR_ERROR: return RDMA_PROV_CM_EVENT_ADDR_ERROR;
	case RDMA_CM_EVENT_ROUTE_ERROR: return RDMA_PROV_CM_EVENT_ROUTE_ERROR;
	case RDMA_CM_EVENT_CONNECT_REQUEST: return RDMA_PROV_CM_EVENT_CONNECT_REQUEST;
	case RDMA_CM_EVENT_CONNECT_ERROR: return RDMA_PROV_CM_EVENT_CONNECT_ERROR;
	case RDMA_CM_EVENT_UNREACHABLE: return RDMA_PROV_CM_EVENT_UNREACHABLE;
	case RDMA_CM_EVENT_REJECTED: return RDMA_PROV_CM_EVENT_REJECTED;
	case RDMA_CM_EVENT_ESTABLISHED: return RDMA_PROV_CM_EVENT_ESTABLISHED;
	case RDMA_CM_EVENT_DISCONNECTED: return RDMA_PROV_CM_EVENT_DISCONNECTED;
	case RDMA_CM_EVENT_DEVICE_REMOVAL: return RDMA_PROV_CM_EVENT_DEVICE_REMOVAL;
	case RDMA_CM_EVENT_ADDR_CHANGE: return RDMA_PROV_CM_EVENT_ADDR_CHANGE;
	case RDMA_CM_EVENT_TIMEWAIT_EXIT: return RDMA_PROV_CM_EVENT_TIMEWAIT_EXIT;
	default: return RDMA_PROV_CM_EVENT_OTHER;
	}
}

#define VERBS_ROUTE_TIMEOUT_MS 2000

/* Translates one librdmacm event; 1 if it was consumed internally (ADDR_RESOLVED). */
static int cm_translate(struct rdma_prov_channel *ch, struct rdma_cm_event *e,
			struct rdma_prov_cm_event *ev)
{
	struct rdma_prov_id *id = e->id->context, *child;

	memset(ev, 0, sizeof(*ev));
	ev->status = e->status;
	if (e->event == RDMA_CM_EVENT_ADDR_RESOLVED) {
		if (rdma_resolve_route(e->id, VERBS_ROUTE_TIMEOUT_MS) == 0)
			return 1;
		ev->type = RDMA_PROV_CM_EVENT_ROUTE_ERROR;
		ev->status = -errno;
		ev->id = id;
		return 0;
	}
	ev->type = cm_type(e->event);
	if (e->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
		struct rdma_prov_id *lid = e->listen_id->context;

		if (id_wrap(ch, e->id, lid->user_ctx, &child) != 0) {
			LOG_ERR("rdma verbs: no memory for a connection request; rejecting");
			rdma_reject(e->id, NULL, 0);
			return -ENOMEM;	/* the caller destroys the new id after the ack */
		}
		child->passive = true;
		child->req_initiator_depth = e->param.conn.initiator_depth;
		child->req_responder_resources = e->param.conn.responder_resources;
		ev->id = child;
		ev->listen_id = lid;
	} else {
		ev->id = id;
	}
	if (e->event == RDMA_CM_EVENT_CONNECT_REQUEST || e->event == RDMA_CM_EVENT_ESTABLISHED ||
	    e->event == RDMA_CM_EVENT_REJECTED)
		param_from_cm(&ev->param, &e->param.conn);
	return 0;
}

static int verbs_cm_get_event(struct rdma_prov_channel *ch, struct rdma_prov_cm_event *ev)
{
	for (;;) {
		struct rdma_cm_event *e;
		struct rdma_cm_id *orphan;
		int rc;

		if (rdma_get_cm_event(ch->ch, &e) != 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN
								       : verbs_err("rdma_get_cm_event", errno);
		orphan = e->id;
		rc = cm_translate(ch, e, ev);
		/* Acked at once: ids never wait on us in rdma_destroy_id. */
		rdma_ack_cm_event(e);
		if (rc == -ENOMEM)
			rdma_destroy_id(orphan);
		if (rc == 0)
			return 0;
	}
}

static int verbs_cm_listen(struct rdma_prov_channel *ch, const char *addr, uint16_t port,
			   int backlog, void *id_ctx, struct rdma_prov_id **out)
{
	struct sockaddr_storage ss;
	struct rdma_prov_id *id;
	int rc;

	rc = parse_addr(addr, port, &ss);
	if (rc)
		return rc;
	rc = id_create(ch, id_ctx, &id);
	if (rc)
		return rc;
	if (rdma_bind_addr(id->cm, (struct sockaddr *)&ss) != 0) {
		rc = verbs_err("rdma_bind_addr", errno);
		goto err_destroy;
	}
	if (rdma_listen(id->cm, backlog) != 0) {
		rc = verbs_err("rdma_listen", errno);
		goto err_destroy;
	}
	*out = id;
	return 0;

err_destroy:
	rdma_destroy_id(id->cm);
	id_unwrap(id);
	return rc;
}

static int verbs_cm_resolve(struct rdma_prov_channel *ch, const char *src_addr,
			    const char *dst_addr, uint16_t port, int timeout_ms, void *id_ctx,
			    struct rdma_prov_id **out)
{
	struct sockaddr_storage src, dst;
	struct rdma_prov_id *id;
	int rc;

	rc = parse_addr(dst_addr, port, &dst);
	if (rc == 0 && src_addr != NULL)
		rc = parse_addr(src_addr, 0, &src);
	if (rc)
		return rc;
	rc = id_create(ch, id_ctx, &id);
	if (rc)
		return rc;
	if (rdma_resolve_addr(id->cm, src_addr ? (struct sockaddr *)&src : NULL,
			      (struct sockaddr *)&dst, timeout_ms) != 0) {
		rc = verbs_err("rdma_resolve_addr", errno);
		rdma_destroy_id(id->cm);
		id_unwrap(id);
		return rc;
	}
	*out = id;
	return 0;
}

static int verbs_cm_connect(struct rdma_prov_id *id, const struct rdma_prov_conn_param *param)
{
	struct rdma_conn_param p = {
		.private_data = param->private_data,
		.private_data_len = param->private_data_len,
		.responder_resources = param->responder_resources,
		.initiator_depth = param->initiator_depth,
		.flow_control = 1,
		.retry_count = param->retry_count,
		.rnr_retry_count = param->rnr_retry_count,
		.srq = param->srq,
	};

	if (id->qp == NULL)
		return -EINVAL;
	if (rdma_connect(id->cm, &p) != 0)
		return verbs_err("rdma_connect", errno);
	return 0;
}

static int verbs_cm_accept(struct rdma_prov_id *id, struct rdma_prov_qp *qp,
			   const struct rdma_prov_conn_param *param)
{
	struct rdma_conn_param p = {
		.private_data = param->private_data,
		.private_data_len = param->private_data_len,
		.responder_resources = UNVMF_MIN(param->responder_resources, qp->resp_res),
		.initiator_depth = UNVMF_MIN(param->initiator_depth, qp->init_depth),
		.flow_control = 1,
		/* Sent in the REP: becomes the peer QP's rnr_retry (IB CM). */
		.rnr_retry_count = param->rnr_retry_count,
		.srq = qp->qp->srq != NULL,
		.qp_num = qp->qp->qp_num,
	};

	if (!id->passive || qp->id != id)
		return -EINVAL;
	if (rdma_accept(id->cm, &p) != 0)
		return verbs_err("rdma_accept", errno);
	return 0;
}

static int verbs_cm_reject(struct rdma_prov_id *id, const void *private_data, uint8_t len)
{
	if (rdma_reject(id->cm, private_data, len) != 0)
		return verbs_err("rdma_reject", errno);
	return 0;
}

static int verbs_cm_disconnect(struct rdma_prov_id *id)
{
	if (rdma_disconnect(id->cm) != 0)
		return -errno;
	return 0;
}

static int verbs_id_destroy(struct rdma_prov_id *id)
{
	if (id->qp != NULL)
		return -EBUSY;
	rdma_destroy_id(id->cm);
	id_unwrap(id);
	return 0;
}

static void verbs_id_set_ctx(struct rdma_prov_id *id, void *id_ctx)
{
	id->user_ctx = id_ctx;
}

static void *verbs_id_get_ctx(struct rdma_prov_id *id)
{
	return id->user_ctx;
}

static struct rdma_prov_device *verbs_id_get_device(struct rdma_prov_id *id)
{
	return ctx_dev(id->ch->ctx, id->cm->verbs);
}

/* --- device --- */

static int verbs_device_query(struct rdma_prov_device *dev, struct rdma_prov_device_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	snprintf(attr->name, sizeof(attr->name), "%s", ibv_get_device_name(dev->verbs->device));
	attr->max_qp_wr = (uint32_t)dev->attr.max_qp_wr;
	attr->max_sge = (uint32_t)dev->attr.max_sge;
	attr->max_cqe = (uint32_t)dev->attr.max_cqe;
	attr->max_srq_wr = (uint32_t)dev->attr.max_srq_wr;
	attr->max_qp_rd_atom = (uint8_t)UNVMF_MIN(dev->attr.max_qp_rd_atom, 255);
	attr->max_qp_init_rd_atom = (uint8_t)UNVMF_MIN(dev->attr.max_qp_init_rd_atom, 255);
	return 0;
}

static int verbs_device_async_fd(struct rdma_prov_device *dev)
{
	return dev->verbs->async_fd;
}

static enum rdma_prov_async_event_type async_type(enum ibv_event_type t)
{
	switch (t) {
	case IBV_EVENT_QP_FATAL: return RDMA_PROV_ASYNC_QP_FATAL;
	case IBV_EVENT_QP_REQ_ERR: return RDMA_PROV_ASYNC_QP_REQ_ERR;
	case IBV_EVENT_QP_ACCESS_ERR: return RDMA_PROV_ASYNC_QP_ACCESS_ERR;
	case IBV_EVENT_COMM_EST: return RDMA_PROV_ASYNC_COMM_EST;
	case IBV_EVENT_QP_LAST_WQE_REACHED: return RDMA_PROV_ASYNC_QP_LAST_WQE_REACHED;
	case IBV_EVENT_SQ_DRAINED: return RDMA_PROV_ASYNC_SQ_DRAINED;
	case IBV_EVENT_CQ_ERR: return RDMA_PROV_ASYNC_CQ_ERR;
	case IBV_EVENT_SRQ_ERR: return RDMA_PROV_ASYNC_SRQ_ERR;
	case IBV_EVENT_SRQ_LIMIT_REACHED: return RDMA_PROV_ASYNC_SRQ_LIMIT_REACHED;
	case IBV_EVENT_PORT_ACTIVE: return RDMA_PROV_ASYNC_PORT_ACTIVE;
	case IBV_EVENT_PORT_ERR: return RDMA_PROV_ASYNC_PORT_ERR;
	case IBV_EVENT_DEVICE_FATAL: return RDMA_PROV_ASYNC_DEVICE_FATAL;
	default: return RDMA_PROV_ASYNC_OTHER;
	}
}

static int verbs_device_get_async_event(struct rdma_prov_device *dev,
					struct rdma_prov_async_event *ev)
{
	struct ibv_async_event e;

	if (ibv_get_async_event(dev->verbs, &e) != 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN
							       : verbs_err("ibv_get_async_event", errno);
	memset(ev, 0, sizeof(*ev));
	ev->type = async_type(e.event_type);
	switch (ev->type) {
	case RDMA_PROV_ASYNC_QP_FATAL:
	case RDMA_PROV_ASYNC_QP_REQ_ERR:
	case RDMA_PROV_ASYNC_QP_ACCESS_ERR:
	case RDMA_PROV_ASYNC_COMM_EST:
	case RDMA_PROV_ASYNC_QP_LAST_WQE_REACHED:
	case RDMA_PROV_ASYNC_SQ_DRAINED:
		ev->qp = e.element.qp->qp_context;
		ev->qp_ctx = ev->qp != NULL ? ev->qp->user_ctx : NULL;
		break;
	case RDMA_PROV_ASYNC_CQ_ERR:
		ev->cq = e.element.cq->cq_context;
		break;
	case RDMA_PROV_ASYNC_SRQ_ERR:
	case RDMA_PROV_ASYNC_SRQ_LIMIT_REACHED:
		ev->srq = e.element.srq->srq_context;
		break;
	case RDMA_PROV_ASYNC_PORT_ACTIVE:
	case RDMA_PROV_ASYNC_PORT_ERR:
		ev->port_num = (uint32_t)e.element.port_num;
		break;
	default:
		break;
	}
	/* Acked at once: ibv_destroy_qp/cq never wait on us. */
	ibv_ack_async_event(&e);
	return 0;
}

/* --- PD, MR --- */

static int verbs_pd_alloc(struct rdma_prov_device *dev, struct rdma_prov_pd **out)
{
	struct rdma_prov_pd *pd = calloc(1, sizeof(*pd));

	if (pd == NULL)
		return -ENOMEM;
	pd->pd = ibv_alloc_pd(dev->verbs);
	if (pd->pd == NULL) {
		free(pd);
		return verbs_err("ibv_alloc_pd", errno);
	}
	pd->dev = dev;
	*out = pd;
	return 0;
}

static int verbs_pd_free(struct rdma_prov_pd *pd)
{
	int rc = ibv_dealloc_pd(pd->pd);

	if (rc)
		return -rc;
	free(pd);
	return 0;
}

static int verbs_mr_reg(struct rdma_prov_pd *pd, void *addr, size_t len, uint32_t access,
			struct rdma_prov_mr **out)
{
	struct rdma_prov_mr *mr = calloc(1, sizeof(*mr));
	int flags = 0;

	if (mr == NULL)
		return -ENOMEM;
	if (access & RDMA_PROV_ACCESS_LOCAL_WRITE)
		flags |= IBV_ACCESS_LOCAL_WRITE;
	if (access & RDMA_PROV_ACCESS_REMOTE_WRITE)
		flags |= IBV_ACCESS_REMOTE_WRITE;
	if (access & RDMA_PROV_ACCESS_REMOTE_READ)
		flags |= IBV_ACCESS_REMOTE_READ;
	mr->mr = ibv_reg_mr(pd->pd, addr, len, flags);
	if (mr->mr == NULL) {
		free(mr);
		return verbs_err("ibv_reg_mr", errno);
	}
	*out = mr;
	return 0;
}

static int verbs_mr_dereg(struct rdma_prov_mr *mr)
{
	int rc = ibv_dereg_mr(mr->mr);

	if (rc)
		return -rc;
	free(mr);
	return 0;
}

static uint32_t verbs_mr_lkey(const struct rdma_prov_mr *mr)
{
	return mr->mr->lkey;
}

static uint32_t verbs_mr_rkey(const struct rdma_prov_mr *mr)
{
	return mr->mr->rkey;
}

/* --- CQ --- */

static int verbs_cq_create(struct rdma_prov_device *dev, uint32_t cqe, bool with_fd,
			   struct rdma_prov_cq **out)
{
	struct rdma_prov_cq *cq = calloc(1, sizeof(*cq));
	int rc;

	if (cq == NULL)
		return -ENOMEM;
	if (with_fd) {
		cq->cc = ibv_create_comp_channel(dev->verbs);
		if (cq->cc == NULL) {
			rc = verbs_err("ibv_create_comp_channel", errno);
			goto err_free;
		}
		rc = set_nonblock(cq->cc->fd);
		if (rc)
			goto err_destroy_cc;
	}
	cq->cq = ibv_create_cq(dev->verbs, (int)cqe, cq, cq->cc, 0);
	if (cq->cq == NULL) {
		rc = verbs_err("ibv_create_cq", errno);
		goto err_destroy_cc;
	}
	cq->dev = dev;
	*out = cq;
	return 0;

err_destroy_cc:
	if (cq->cc != NULL)
		ibv_destroy_comp_channel(cq->cc);
err_free:
	free(cq);
	return rc;
}

static int verbs_cq_destroy(struct rdma_prov_cq *cq)
{
	int rc;

	if (cq->unacked)
		ibv_ack_cq_events(cq->cq, cq->unacked);
	cq->unacked = 0;
	rc = ibv_destroy_cq(cq->cq);
	if (rc)
		return -rc;
	if (cq->cc != NULL)
		ibv_destroy_comp_channel(cq->cc);
	free(cq);
	return 0;
}

static enum rdma_prov_wc_opcode wc_opcode(enum ibv_wc_opcode op)
{
	switch (op) {
	case IBV_WC_SEND: return RDMA_PROV_WC_SEND;
	case IBV_WC_RDMA_WRITE: return RDMA_PROV_WC_RDMA_WRITE;
	case IBV_WC_RDMA_READ: return RDMA_PROV_WC_RDMA_READ;
	case IBV_WC_RECV: return RDMA_PROV_WC_RECV;
	default: return RDMA_PROV_WC_UNKNOWN;
	}
}

static int verbs_cq_poll(struct rdma_prov_cq *cq, struct rdma_prov_wc *wc, int max)
{
	struct ibv_wc w[VERBS_POLL_BATCH];
	int total = 0;

	while (total < max) {
		int n = ibv_poll_cq(cq->cq, UNVMF_MIN(max - total, VERBS_POLL_BATCH), w);

		if (n < 0)
			return total > 0 ? total : verbs_err("ibv_poll_cq", -n);
		for (int i = 0; i < n; i++) {
			struct rdma_prov_wc *o = &wc[total + i];
			bool ok = w[i].status == IBV_WC_SUCCESS;

			*o = (struct rdma_prov_wc){
				.wr_id = w[i].wr_id,
				.status = (enum rdma_prov_wc_status)w[i].status,
				.opcode = ok ? wc_opcode(w[i].opcode) : RDMA_PROV_WC_UNKNOWN,
				.byte_len = ok ? w[i].byte_len : 0,
				.qp_num = w[i].qp_num,
				.vendor_err = w[i].vendor_err,
			};
			if (ok && (w[i].wc_flags & IBV_WC_WITH_INV)) {
				o->flags |= RDMA_PROV_WC_FLAG_WITH_INV;
				o->invalidated_rkey = w[i].invalidated_rkey;
			}
		}
		total += n;
		if (n < VERBS_POLL_BATCH)
			break;
	}
	return total;
}

static int verbs_cq_fd(struct rdma_prov_cq *cq)
{
	return cq->cc != NULL ? cq->cc->fd : -1;
}

static int verbs_cq_arm(struct rdma_prov_cq *cq)
{
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	int rc;

	if (cq->cc == NULL)
		return -EINVAL;
	while (ibv_get_cq_event(cq->cc, &ev_cq, &ev_ctx) == 0)
		cq->unacked++;
	if (cq->unacked) {
		ibv_ack_cq_events(cq->cq, cq->unacked);
		cq->unacked = 0;
	}
	rc = ibv_req_notify_cq(cq->cq, 0);
	return rc ? -rc : 0;
}

/* --- SRQ --- */

static int verbs_srq_create(struct rdma_prov_pd *pd, uint32_t max_wr, uint32_t max_sge,
			    struct rdma_prov_srq **out)
{
	struct ibv_srq_init_attr a = {.attr = {.max_wr = max_wr, .max_sge = max_sge}};
	struct rdma_prov_srq *srq = calloc(1, sizeof(*srq));

	if (srq == NULL)
		return -ENOMEM;
	a.srq_context = srq;
	srq->srq = ibv_create_srq(pd->pd, &a);
	if (srq->srq == NULL) {
		free(srq);
		return verbs_err("ibv_create_srq", errno);
	}
	*out = srq;
	return 0;
}

static int verbs_srq_destroy(struct rdma_prov_srq *srq)
{
	int rc = ibv_destroy_srq(srq->srq);

	if (rc)
		return -rc;
	free(srq);
	return 0;
}

/* Posts our chain in batches of ibv WRs; *bad names the first WR not posted. */
static int post_recv_chain(struct ibv_qp *qp, struct ibv_srq *srq, struct rdma_prov_recv_wr *wr,
			   struct rdma_prov_recv_wr **bad)
{
	while (wr != NULL) {
		struct ibv_recv_wr w[VERBS_POST_BATCH], *ibad = NULL;
		struct rdma_prov_recv_wr *ours[VERBS_POST_BATCH];
		int n = 0, rc;

		for (; wr != NULL && n < VERBS_POST_BATCH; wr = wr->next, n++) {
			ours[n] = wr;
			w[n] = (struct ibv_recv_wr){
				.wr_id = wr->wr_id,
				.sg_list = (struct ibv_sge *)wr->sg_list,
				.num_sge = (int)wr->num_sge,
			};
			if (n > 0)
				w[n - 1].next = &w[n];
		}
		rc = srq != NULL ? ibv_post_srq_recv(srq, w, &ibad) : ibv_post_recv(qp, w, &ibad);
		if (rc) {
			*bad = ibad != NULL ? ours[ibad - w] : ours[0];
			return -rc;
		}
	}
	return 0;
}

static int verbs_srq_post_recv(struct rdma_prov_srq *srq, struct rdma_prov_recv_wr *wr,
			       struct rdma_prov_recv_wr **bad_wr)
{
	return post_recv_chain(NULL, srq->srq, wr, bad_wr);
}

/* --- QP --- */

/* 0 = as many as allowed. */
static uint8_t rd_clamp(uint8_t want, uint8_t limit)
{
	return want == 0 ? limit : UNVMF_MIN(want, limit);
}

/*
 * Passive side, vm-rig.md section 9: INIT, RTR, RTS by hand so that retry_cnt,
 * timeout and rnr_retry can be set at RTR->RTS.
 */
static int qp_passive_to_rts(struct rdma_prov_id *id, struct rdma_prov_qp *qp,
			     const struct rdma_prov_qp_init *init, const struct rdma_prov_device *dev)
{
	struct ibv_qp_attr a;
	int mask, rc;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	if (rdma_init_qp_attr(id->cm, &a, &mask) != 0)
		return verbs_err("rdma_init_qp_attr(INIT)", errno);
	rc = ibv_modify_qp(qp->qp, &a, mask);
	if (rc)
		return verbs_err("ibv_modify_qp(INIT)", rc);

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	if (rdma_init_qp_attr(id->cm, &a, &mask) != 0)
		return verbs_err("rdma_init_qp_attr(RTR)", errno);
	a.max_dest_rd_atomic = rd_clamp(init->max_dest_rd_atomic,
					UNVMF_MIN(a.max_dest_rd_atomic,
						  (uint8_t)UNVMF_MIN(dev->attr.max_qp_rd_atom, 255)));
	rc = ibv_modify_qp(qp->qp, &a, mask);
	if (rc)
		return verbs_err("ibv_modify_qp(RTR)", rc);
	/* The RTS call zeroes it: keep what accept may announce. */
	qp->resp_res = a.max_dest_rd_atomic;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	if (rdma_init_qp_attr(id->cm, &a, &mask) != 0)
		return verbs_err("rdma_init_qp_attr(RTS)", errno);
	a.max_rd_atomic = rd_clamp(init->max_rd_atomic,
				   (uint8_t)UNVMF_MIN(id->req_initiator_depth,
						      UNVMF_MIN(dev->attr.max_qp_init_rd_atom, 255)));
	a.retry_cnt = UNVMF_MIN(init->retry_cnt, 7);
	a.rnr_retry = UNVMF_MIN(init->rnr_retry, 7);
	if (init->timeout)
		a.timeout = init->timeout;
	rc = ibv_modify_qp(qp->qp, &a,
			   mask | IBV_QP_MAX_QP_RD_ATOMIC | IBV_QP_RETRY_CNT | IBV_QP_TIMEOUT |
				   IBV_QP_RNR_RETRY);
	if (rc)
		return verbs_err("ibv_modify_qp(RTS)", rc);
	qp->init_depth = a.max_rd_atomic;
	return 0;
}

static int verbs_qp_create(struct rdma_prov_id *id, const struct rdma_prov_qp_init *init,
			   struct rdma_prov_qp **out)
{
	struct rdma_prov_device *dev = verbs_id_get_device(id);
	struct ibv_qp_init_attr a = {
		.send_cq = init->send_cq->cq,
		.recv_cq = init->recv_cq->cq,
		.srq = init->srq != NULL ? init->srq->srq : NULL,
		.cap = {
			.max_send_wr = init->max_send_wr,
			.max_recv_wr = init->srq != NULL ? 0 : init->max_recv_wr,
			.max_send_sge = init->max_send_sge,
			.max_recv_sge = init->max_recv_sge,
		},
		.qp_type = IBV_QPT_RC,
	};
	struct rdma_prov_qp *qp;
	int rc;

	if (id->qp != NULL || dev == NULL || init->pd->dev != dev)
		return -EINVAL;
	qp = calloc(1, sizeof(*qp));
	if (qp == NULL)
		return -ENOMEM;
	a.qp_context = qp;
	qp->id = id;
	qp->user_ctx = init->user_ctx;
	if (id->passive) {
		qp->qp = ibv_create_qp(init->pd->pd, &a);
		if (qp->qp == NULL) {
			rc = verbs_err("ibv_create_qp", errno);
			goto err_free;
		}
		rc = qp_passive_to_rts(id, qp, init, dev);
		if (rc)
			goto err_destroy;
	} else {
		if (init->timeout != 0 &&
		    rdma_set_option(id->cm, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT,
				    (void *)&init->timeout, sizeof(init->timeout)) != 0)
			LOG_WARN("rdma verbs: cannot set the ack timeout: %s", strerror(errno));
		if (rdma_create_qp(id->cm, init->pd->pd, &a) != 0) {
			rc = verbs_err("rdma_create_qp", errno);
			goto err_free;
		}
		qp->qp = id->cm->qp;
		qp->attached = true;
	}
	id->qp = qp;
	*out = qp;
	return 0;

err_destroy:
	ibv_destroy_qp(qp->qp);
err_free:
	free(qp);
	return rc;
}

static int verbs_qp_destroy(struct rdma_prov_qp *qp)
{
	int rc = 0;

	if (qp->attached && qp->id != NULL)
		rdma_destroy_qp(qp->id->cm);
	else
		rc = ibv_destroy_qp(qp->qp);
	if (rc)
		return -rc;
	if (qp->id != NULL)
		qp->id->qp = NULL;
	free(qp);
	return 0;
}

static int verbs_qp_post_send(struct rdma_prov_qp *qp, struct rdma_prov_send_wr *wr,
			      struct rdma_prov_send_wr **bad_wr)
{
	while (wr != NULL) {
		struct ibv_send_wr w[VERBS_POST_BATCH], *ibad = NULL;
		struct rdma_prov_send_wr *ours[VERBS_POST_BATCH];
		int n = 0, rc;

		for (; wr != NULL && n < VERBS_POST_BATCH; wr = wr->next, n++) {
			struct ibv_send_wr *x = &w[n];

			ours[n] = wr;
			*x = (struct ibv_send_wr){
				.wr_id = wr->wr_id,
				.sg_list = (struct ibv_sge *)wr->sg_list,
				.num_sge = (int)wr->num_sge,
				.send_flags = wr->signaled ? IBV_SEND_SIGNALED : 0,
			};
			switch (wr->opcode) {
			case RDMA_PROV_WR_SEND:
				x->opcode = IBV_WR_SEND;
				break;
			case RDMA_PROV_WR_SEND_WITH_INV:
				x->opcode = IBV_WR_SEND_WITH_INV;
				x->invalidate_rkey = wr->invalidate_rkey;
				break;
			case RDMA_PROV_WR_RDMA_WRITE:
			case RDMA_PROV_WR_RDMA_READ:
				x->opcode = wr->opcode == RDMA_PROV_WR_RDMA_WRITE ? IBV_WR_RDMA_WRITE
										  : IBV_WR_RDMA_READ;
				x->wr.rdma.remote_addr = wr->remote_addr;
				x->wr.rdma.rkey = wr->rkey;
				break;
			default:
				*bad_wr = wr;
				return -EINVAL;
			}
			if (n > 0)
				w[n - 1].next = x;
		}
		rc = ibv_post_send(qp->qp, w, &ibad);
		if (rc) {
			*bad_wr = ibad != NULL ? ours[ibad - w] : ours[0];
			return -rc;
		}
	}
	return 0;
}

static int verbs_qp_post_recv(struct rdma_prov_qp *qp, struct rdma_prov_recv_wr *wr,
			      struct rdma_prov_recv_wr **bad_wr)
{
	return post_recv_chain(qp->qp, NULL, wr, bad_wr);
}

static int verbs_qp_modify_err(struct rdma_prov_qp *qp)
{
	struct ibv_qp_attr a = {.qp_state = IBV_QPS_ERR};
	int rc = ibv_modify_qp(qp->qp, &a, IBV_QP_STATE);

	return rc ? verbs_err("ibv_modify_qp(ERR)", rc) : 0;
}

static int verbs_qp_query_state(struct rdma_prov_qp *qp, enum rdma_prov_qp_state *state)
{
	struct ibv_qp_init_attr init;
	struct ibv_qp_attr a;
	int rc = ibv_query_qp(qp->qp, &a, IBV_QP_STATE, &init);

	if (rc)
		return -rc;
	*state = (enum rdma_prov_qp_state)a.qp_state;
	return 0;
}

static uint32_t verbs_qp_num(const struct rdma_prov_qp *qp)
{
	return qp->qp->qp_num;
}

static void *verbs_qp_get_ctx(const struct rdma_prov_qp *qp)
{
	return qp->user_ctx;
}

const struct rdma_provider rdma_provider_verbs = {
	.name = "verbs",
	.ctx_open = verbs_ctx_open,
	.ctx_close = verbs_ctx_close,
	.ctx_get_devices = verbs_ctx_get_devices,
	.channel_create = verbs_channel_create,
	.channel_destroy = verbs_channel_destroy,
	.channel_fd = verbs_channel_fd,
	.cm_get_event = verbs_cm_get_event,
	.cm_listen = verbs_cm_listen,
	.cm_resolve = verbs_cm_resolve,
	.cm_connect = verbs_cm_connect,
	.cm_accept = verbs_cm_accept,
	.cm_reject = verbs_cm_reject,
	.cm_disconnect = verbs_cm_disconnect,
	.id_destroy = verbs_id_destroy,
	.id_set_ctx = verbs_id_set_ctx,
	.id_get_ctx = verbs_id_get_ctx,
	.id_get_device = verbs_id_get_device,
	.device_query = verbs_device_query,
	.device_async_fd = verbs_device_async_fd,
	.device_get_async_event = verbs_device_get_async_event,
	.pd_alloc = verbs_pd_alloc,
	.pd_free = verbs_pd_free,
	.mr_reg = verbs_mr_reg,
	.mr_dereg = verbs_mr_dereg,
	.mr_lkey = verbs_mr_lkey,
	.mr_rkey = verbs_mr_rkey,
	.cq_create = verbs_cq_create,
	.cq_destroy = verbs_cq_destroy,
	.cq_poll = verbs_cq_poll,
	.cq_fd = verbs_cq_fd,
	.cq_arm = verbs_cq_arm,
	.srq_create = verbs_srq_create,
	.srq_destroy = verbs_srq_destroy,
	.srq_post_recv = verbs_srq_post_recv,
	.qp_create = verbs_qp_create,
	.qp_destroy = verbs_qp_destroy,
	.qp_post_send = verbs_qp_post_send,
	.qp_post_recv = verbs_qp_post_recv,
	.qp_modify_err = verbs_qp_modify_err,
	.qp_query_state = verbs_qp_query_state,
	.qp_num = verbs_qp_num,
	.qp_get_ctx = verbs_qp_get_ctx,
};
