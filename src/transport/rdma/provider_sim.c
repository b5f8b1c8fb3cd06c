/* sim provider: contexts and the ops table (the rest is in provider_sim_*.c). */
#include <errno.h>

#include "transport/rdma/provider_sim_internal.h"

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

const struct rdma_provider rdma_provider_sim = {
	.name = "sim",
	.ctx_open = sim_ctx_open,
	.ctx_close = sim_ctx_close,
	.ctx_get_devices = sim_ctx_get_devices,
	.channel_create = sim_channel_create,
	.channel_destroy = sim_channel_destroy,
	.channel_fd = sim_channel_fd,
	.cm_get_event = sim_cm_get_event,
	.cm_listen = sim_cm_listen,
	.cm_resolve = sim_cm_resolve,
	.cm_connect = sim_cm_connect,
	.cm_accept = sim_cm_accept,
	.cm_reject = sim_cm_reject,
	.cm_disconnect = sim_cm_disconnect,
	.id_destroy = sim_id_destroy,
	.id_set_ctx = sim_id_set_ctx,
	.id_get_ctx = sim_id_get_ctx,
	.id_get_device = sim_id_get_device,
	.device_query = sim_device_query,
	.device_async_fd = sim_device_async_fd,
	.device_get_async_event = sim_device_get_async_event,
	.pd_alloc = sim_pd_alloc,
	.pd_free = sim_pd_free,
	.mr_reg = sim_mr_reg,
	.mr_dereg = sim_mr_dereg,
	.mr_lkey = sim_mr_lkey,
	.mr_rkey = sim_mr_rkey,
	.cq_create = sim_cq_create,
	.cq_destroy = sim_cq_destroy,
	.cq_poll = sim_cq_poll,
	.cq_fd = sim_cq_fd,
	.cq_arm = sim_cq_arm,
	.srq_create = sim_srq_create,
	.srq_destroy = sim_srq_destroy,
	.srq_post_recv = sim_srq_post_recv,
	.qp_create = sim_qp_create,
	.qp_destroy = sim_qp_destroy,
	.qp_post_send = sim_qp_post_send,
	.qp_post_recv = sim_qp_post_recv,
	.qp_modify_err = sim_qp_modify_err,
	.qp_query_state = sim_qp_query_state,
	.qp_num = sim_qp_num,
	.qp_get_ctx = sim_qp_get_ctx,
};
