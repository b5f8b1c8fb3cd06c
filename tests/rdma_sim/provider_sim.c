/* sim provider: contexts and the ops table (the rest is in provider_sim_*.c). */
#include <errno.h>
#include <pthread.h>

#include "provider_sim_internal.h"

int sim_ctx_open(void *arg, struct rdma_prov_ctx **out)
{
	struct rdma_sim_node *node = arg;
	struct rdma_prov_ctx *ctx;

	if (node == NULL)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return -ENOMEM;
	ctx->fabric = node->fabric;
	ctx->node = node;
	TAILQ_INSERT_TAIL(&node->fabric->ctxs, ctx, link);
	node->fabric->counts.ctxs++;
	*out = ctx;
	return 0;
}

int sim_ctx_close(struct rdma_prov_ctx *ctx)
{
	if (ctx->nobjs)
		return -EBUSY;
	TAILQ_REMOVE(&ctx->fabric->ctxs, ctx, link);
	ctx->fabric->counts.ctxs--;
	free(ctx);
	return 0;
}

int sim_ctx_get_devices(struct rdma_prov_ctx *ctx, struct rdma_prov_device **devs, uint32_t max)
{
	if (ctx->node->device_failed)
		return 0;
	if (max > 0)
		devs[0] = ctx->node->dev;
	return 1;
}

/* The fabric lock around every op (see SIM_LOCKED in provider_sim_internal.h). */
static pthread_mutex_t g_sim_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void sim_lock(void)
{
	pthread_mutex_lock(&g_sim_lock);
}

void sim_unlock(void)
{
	pthread_mutex_unlock(&g_sim_lock);
}

void rdma_sim_lock(void)
{
	sim_lock();
}

void rdma_sim_unlock(void)
{
	sim_unlock();
}

static int locked_ctx_open(void *arg, struct rdma_prov_ctx **out)
{
	SIM_LOCKED();
	return sim_ctx_open(arg, out);
}

static int locked_ctx_close(struct rdma_prov_ctx *ctx)
{
	SIM_LOCKED();
	return sim_ctx_close(ctx);
}

static int locked_ctx_get_devices(struct rdma_prov_ctx *ctx, struct rdma_prov_device **devs, uint32_t max)
{
	SIM_LOCKED();
	return sim_ctx_get_devices(ctx, devs, max);
}

static int locked_channel_create(struct rdma_prov_ctx *ctx, struct rdma_prov_channel **out)
{
	SIM_LOCKED();
	return sim_channel_create(ctx, out);
}

static int locked_channel_destroy(struct rdma_prov_channel *ch)
{
	SIM_LOCKED();
	return sim_channel_destroy(ch);
}

static int locked_channel_fd(struct rdma_prov_channel *ch)
{
	SIM_LOCKED();
	return sim_channel_fd(ch);
}

static int locked_cm_get_event(struct rdma_prov_channel *ch, struct rdma_prov_cm_event *ev)
{
	SIM_LOCKED();
	return sim_cm_get_event(ch, ev);
}

static int locked_cm_listen(struct rdma_prov_channel *ch, const char *addr, uint16_t port, int backlog, void *id_ctx, struct rdma_prov_id **out)
{
	SIM_LOCKED();
	return sim_cm_listen(ch, addr, port, backlog, id_ctx, out);
}

static int locked_cm_resolve(struct rdma_prov_channel *ch, const char *src_addr, const char *dst_addr, uint16_t port, int timeout_ms, void *id_ctx, struct rdma_prov_id **out)
{
	SIM_LOCKED();
	return sim_cm_resolve(ch, src_addr, dst_addr, port, timeout_ms, id_ctx, out);
}

static int locked_cm_connect(struct rdma_prov_id *id, const struct rdma_prov_conn_param *param)
{
	SIM_LOCKED();
	return sim_cm_connect(id, param);
}

static int locked_cm_accept(struct rdma_prov_id *id, struct rdma_prov_qp *qp, const struct rdma_prov_conn_param *param)
{
	SIM_LOCKED();
	return sim_cm_accept(id, qp, param);
}

static int locked_cm_reject(struct rdma_prov_id *id, const void *private_data, uint8_t len)
{
	SIM_LOCKED();
	return sim_cm_reject(id, private_data, len);
}

static int locked_cm_disconnect(struct rdma_prov_id *id)
{
	SIM_LOCKED();
	return sim_cm_disconnect(id);
}

static int locked_id_destroy(struct rdma_prov_id *id)
{
	SIM_LOCKED();
	return sim_id_destroy(id);
}

static void locked_id_set_ctx(struct rdma_prov_id *id, void *id_ctx)
{
	SIM_LOCKED();
	sim_id_set_ctx(id, id_ctx);
}

static void *locked_id_get_ctx(struct rdma_prov_id *id)
{
	SIM_LOCKED();
	return sim_id_get_ctx(id);
}

static struct rdma_prov_device *locked_id_get_device(struct rdma_prov_id *id)
{
	SIM_LOCKED();
	return sim_id_get_device(id);
}

static int locked_device_query(struct rdma_prov_device *dev, struct rdma_prov_device_attr *attr)
{
	SIM_LOCKED();
	return sim_device_query(dev, attr);
}

static int locked_device_async_fd(struct rdma_prov_device *dev)
{
	SIM_LOCKED();
	return sim_device_async_fd(dev);
}

static int locked_device_get_async_event(struct rdma_prov_device *dev, struct rdma_prov_async_event *ev)
{
	SIM_LOCKED();
	return sim_device_get_async_event(dev, ev);
}

static int locked_pd_alloc(struct rdma_prov_device *dev, struct rdma_prov_pd **out)
{
	SIM_LOCKED();
	return sim_pd_alloc(dev, out);
}

static int locked_pd_free(struct rdma_prov_pd *pd)
{
	SIM_LOCKED();
	return sim_pd_free(pd);
}

static int locked_mr_reg(struct rdma_prov_pd *pd, void *addr, size_t len, uint32_t access, struct rdma_prov_mr **out)
{
	SIM_LOCKED();
	return sim_mr_reg(pd, addr, len, access, out);
}

static int locked_mr_dereg(struct rdma_prov_mr *mr)
{
	SIM_LOCKED();
	return sim_mr_dereg(mr);
}

static uint32_t locked_mr_lkey(const struct rdma_prov_mr *mr)
{
	SIM_LOCKED();
	return sim_mr_lkey(mr);
}

static uint32_t locked_mr_rkey(const struct rdma_prov_mr *mr)
{
	SIM_LOCKED();
	return sim_mr_rkey(mr);
}

static int locked_cq_create(struct rdma_prov_device *dev, uint32_t cqe, bool with_fd, struct rdma_prov_cq **out)
{
	SIM_LOCKED();
	return sim_cq_create(dev, cqe, with_fd, out);
}

static int locked_cq_destroy(struct rdma_prov_cq *cq)
{
	SIM_LOCKED();
	return sim_cq_destroy(cq);
}

static int locked_cq_poll(struct rdma_prov_cq *cq, struct rdma_prov_wc *wc, int max)
{
	SIM_LOCKED();
	return sim_cq_poll(cq, wc, max);
}

static int locked_cq_fd(struct rdma_prov_cq *cq)
{
	SIM_LOCKED();
	return sim_cq_fd(cq);
}

static int locked_cq_arm(struct rdma_prov_cq *cq)
{
	SIM_LOCKED();
	return sim_cq_arm(cq);
}

static int locked_srq_create(struct rdma_prov_pd *pd, uint32_t max_wr, uint32_t max_sge, struct rdma_prov_srq **out)
{
	SIM_LOCKED();
	return sim_srq_create(pd, max_wr, max_sge, out);
}

static int locked_srq_destroy(struct rdma_prov_srq *srq)
{
	SIM_LOCKED();
	return sim_srq_destroy(srq);
}

static int locked_srq_post_recv(struct rdma_prov_srq *srq, struct rdma_prov_recv_wr *wr, struct rdma_prov_recv_wr **bad_wr)
{
	SIM_LOCKED();
	return sim_srq_post_recv(srq, wr, bad_wr);
}

static int locked_qp_create(struct rdma_prov_id *id, const struct rdma_prov_qp_init *init, struct rdma_prov_qp **out)
{
	SIM_LOCKED();
	return sim_qp_create(id, init, out);
}

static int locked_qp_destroy(struct rdma_prov_qp *qp)
{
	SIM_LOCKED();
	return sim_qp_destroy(qp);
}

static int locked_qp_post_send(struct rdma_prov_qp *qp, struct rdma_prov_send_wr *wr, struct rdma_prov_send_wr **bad_wr)
{
	SIM_LOCKED();
	return sim_qp_post_send(qp, wr, bad_wr);
}

static int locked_qp_post_recv(struct rdma_prov_qp *qp, struct rdma_prov_recv_wr *wr, struct rdma_prov_recv_wr **bad_wr)
{
	SIM_LOCKED();
	return sim_qp_post_recv(qp, wr, bad_wr);
}

static int locked_qp_modify_err(struct rdma_prov_qp *qp)
{
	SIM_LOCKED();
	return sim_qp_modify_err(qp);
}

static int locked_qp_query_state(struct rdma_prov_qp *qp, enum rdma_prov_qp_state *state)
{
	SIM_LOCKED();
	return sim_qp_query_state(qp, state);
}

static uint32_t locked_qp_num(const struct rdma_prov_qp *qp)
{
	SIM_LOCKED();
	return sim_qp_num(qp);
}

static void *locked_qp_get_ctx(const struct rdma_prov_qp *qp)
{
	SIM_LOCKED();
	return sim_qp_get_ctx(qp);
}
const struct rdma_provider rdma_provider_sim = {
	.name = "sim",
	.ctx_open = locked_ctx_open,
	.ctx_close = locked_ctx_close,
	.ctx_get_devices = locked_ctx_get_devices,
	.channel_create = locked_channel_create,
	.channel_destroy = locked_channel_destroy,
	.channel_fd = locked_channel_fd,
	.cm_get_event = locked_cm_get_event,
	.cm_listen = locked_cm_listen,
	.cm_resolve = locked_cm_resolve,
	.cm_connect = locked_cm_connect,
	.cm_accept = locked_cm_accept,
	.cm_reject = locked_cm_reject,
	.cm_disconnect = locked_cm_disconnect,
	.id_destroy = locked_id_destroy,
	.id_set_ctx = locked_id_set_ctx,
	.id_get_ctx = locked_id_get_ctx,
	.id_get_device = locked_id_get_device,
	.device_query = locked_device_query,
	.device_async_fd = locked_device_async_fd,
	.device_get_async_event = locked_device_get_async_event,
	.pd_alloc = locked_pd_alloc,
	.pd_free = locked_pd_free,
	.mr_reg = locked_mr_reg,
	.mr_dereg = locked_mr_dereg,
	.mr_lkey = locked_mr_lkey,
	.mr_rkey = locked_mr_rkey,
	.cq_create = locked_cq_create,
	.cq_destroy = locked_cq_destroy,
	.cq_poll = locked_cq_poll,
	.cq_fd = locked_cq_fd,
	.cq_arm = locked_cq_arm,
	.srq_create = locked_srq_create,
	.srq_destroy = locked_srq_destroy,
	.srq_post_recv = locked_srq_post_recv,
	.qp_create = locked_qp_create,
	.qp_destroy = locked_qp_destroy,
	.qp_post_send = locked_qp_post_send,
	.qp_post_recv = locked_qp_post_recv,
	.qp_modify_err = locked_qp_modify_err,
	.qp_query_state = locked_qp_query_state,
	.qp_num = locked_qp_num,
	.qp_get_ctx = locked_qp_get_ctx,
	.qp_outstanding = rdma_sim_qp_outstanding,
};

/*
 * Registration by constructor rather than by an init call: tests and the sim
 * campaign ask rdma_provider_get("sim") before anything else of the sim (to
 * get the ops they then drive), and unvmf-tgt built with UNVMF_SIM names no
 * sim symbol at all. This file holds the lock every sim call takes, so any
 * program that uses the sim links it; unvmf-tgt links the whole archive.
 */
__attribute__((constructor)) static void sim_provider_register(void)
{
	int rc = rdma_provider_register(&rdma_provider_sim);

	if (rc)
		fprintf(stderr, "rdma_sim: cannot register the sim provider: %d\n", rc);
}
