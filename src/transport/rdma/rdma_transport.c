/*
 * NVMe/RDMA transport: the ops table, devices and the registered
 * buffer pool, listeners, and the reactor-0 poller that takes CM events and
 * device async events.
 * Thread: reactor 0 (create, destroy, listen, stop_listen, the CM poller).
 */
#include "transport/rdma/rdma_internal.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RDMA_CM_PERIOD_US 1000
#define RDMA_CM_EVENTS_PER_POLL 64

struct rdma_device *rdma_transport_device(struct rdma_transport *rt, struct rdma_prov_device *dev)
{
	for (uint32_t i = 0; i < rt->num_devs; i++) {
		if (rt->devs[i].dev == dev)
			return &rt->devs[i];
	}
	return NULL;
}

const char *rdma_wrid_type_name(enum rdma_wrid_type type)
{
	switch (type) {
	case RDMA_WRID_RECV:
		return "RECV";
	case RDMA_WRID_SEND:
		return "SEND";
	case RDMA_WRID_READ:
		return "RDMA_READ";
	case RDMA_WRID_WRITE:
		return "RDMA_WRITE";
	default:
		return "?";
	}
}

int rdma_transport_poll_async(struct rdma_transport *rt)
{
	int work = 0;

	for (uint32_t i = 0; i < rt->num_devs; i++) {
		struct rdma_prov_async_event ev;

		while (rt->prov->device_get_async_event(rt->devs[i].dev, &ev) == 0) {
			if (ev.type == RDMA_PROV_ASYNC_DEVICE_FATAL ||
			    ev.type == RDMA_PROV_ASYNC_CQ_ERR ||
			    ev.type == RDMA_PROV_ASYNC_PORT_ERR)
				rdma_transport_device_event(rt, &rt->devs[i], &ev);
			else
				rdma_conn_handle_async(rt, &ev);
			work = 1;
		}
	}
	return work;
}

static int rdma_cm_poll(void *arg)
{
	struct rdma_transport *rt = arg;
	int work = 0;

	for (int i = 0; i < RDMA_CM_EVENTS_PER_POLL; i++) {
		struct rdma_prov_cm_event ev;

		if (rt->prov->cm_get_event(rt->ch, &ev) != 0)
			break;
		work = 1;
		LOG_DEBUG("RDMA: CM event %s status %d", rdma_prov_cm_event_name(ev.type),
		          ev.status);
		if (ev.type == RDMA_PROV_CM_EVENT_CONNECT_REQUEST)
			rdma_conn_handle_request(rt, &ev);
		else
			rdma_conn_handle_event(rt, &ev);
	}
	work |= rdma_transport_poll_async(rt);
	return work;
}

static void rdma_devices_fini(struct rdma_transport *rt)
{
	for (uint32_t i = 0; i < rt->num_devs; i++) {
		struct rdma_device *d = &rt->devs[i];
		if (d->pool_mr)
			rt->prov->mr_dereg(d->pool_mr);
		if (d->pd)
			rt->prov->pd_free(d->pd);
	}
	rt->num_devs = 0;
}

static int rdma_devices_init(struct rdma_transport *rt)
{
	struct rdma_prov_device *devs[RDMA_MAX_DEVICES];
	size_t pool_len = rt->pool.buf_size * rt->pool.num_buffers;
	int n, rc;

	n = rt->prov->ctx_get_devices(rt->ctx, devs, RDMA_MAX_DEVICES);
	if (n <= 0) {
		LOG_ERR("RDMA: no RDMA device");
		return n < 0 ? n : -ENODEV;
	}
	n = UNVMF_MIN(n, RDMA_MAX_DEVICES);
	for (int i = 0; i < n; i++) {
		struct rdma_device *d = &rt->devs[rt->num_devs++];

		d->dev = devs[i];
		rc = rt->prov->device_query(d->dev, &d->attr);
		if (rc)
			return rc;
		rc = rt->prov->pd_alloc(d->dev, &d->pd);
		if (rc)
			return rc;
		/* Data buffers are only touched by our own READs (written) and WRITEs (read). */
		rc = rt->prov->mr_reg(d->pd, rt->pool.base, pool_len, RDMA_PROV_ACCESS_LOCAL_WRITE,
		                      &d->pool_mr);
		if (rc)
			return rc;
		LOG_INFO(
		    "RDMA: device %s: max_qp_wr %u, max_cqe %u, max_srq_wr %u, max_qp_rd_atom %u",
		    d->attr.name, d->attr.max_qp_wr, d->attr.max_cqe, d->attr.max_srq_wr,
		    d->attr.max_qp_rd_atom);
	}
	return 0;
}

/* The CM channel and the devices' async fds wake reactor 0 from idle sleep. */
static void rdma_wake_fds(struct rdma_transport *rt, bool add)
{
	int fd = rt->prov->channel_fd(rt->ch);

	if (fd >= 0)
		add ? (void)unvmf_thread_add_wake_fd(fd) : unvmf_thread_remove_wake_fd(fd);
	for (uint32_t i = 0; i < rt->num_devs; i++) {
		fd = rt->prov->device_async_fd(rt->devs[i].dev);
		if (fd >= 0)
			add ? (void)unvmf_thread_add_wake_fd(fd) : unvmf_thread_remove_wake_fd(fd);
	}
}

static void rdma_destroy(struct unvmf_transport *transport);

static int rdma_create(const struct unvmf_transport_opts *opts, struct unvmf_transport **out)
{
	const struct unvmf_rdma_opts *ro;
	struct rdma_transport *rt;
	int rc;

	rc = rdma_opts_check(opts);
	if (rc)
		return rc;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->base.opts = *opts;
	TAILQ_INIT(&rt->listeners);
	TAILQ_INIT(&rt->conns);
	atomic_init(&rt->trap.state, -1);
	rt->capsule_size = RDMA_CAPSULE_CMD_SIZE + opts->in_capsule_data_size;
	ro = rdma_transport_opts(rt);
	rt->prov = rdma_provider_get(ro->provider ? ro->provider : "verbs");
	if (!rt->prov) {
		LOG_ERR("RDMA: unknown provider '%s'", ro->provider);
		free(rt);
		return -EINVAL;
	}
	rc = rt->prov->ctx_open(ro->provider_ctx, &rt->ctx);
	if (rc) {
		LOG_ERR("RDMA: provider %s: cannot open: %s", rt->prov->name, strerror(-rc));
		free(rt);
		return rc;
	}
	rc = rt->prov->channel_create(rt->ctx, &rt->ch);
	if (rc)
		goto err_destroy;
	rc = unvmf_buf_pool_init(&rt->pool, opts->num_shared_buffers, opts->io_unit_size, 4096);
	if (rc)
		goto err_destroy;
	rc = rdma_devices_init(rt);
	if (rc)
		goto err_destroy;
	rt->cm_poller = unvmf_poller_register(rdma_cm_poll, rt, RDMA_CM_PERIOD_US, "rdma_cm");
	if (!rt->cm_poller) {
		rc = -ENOMEM;
		goto err_destroy;
	}
	rdma_wake_fds(rt, true);
	LOG_NOTICE("RDMA transport (%s): queue depth %u (admin %u), in-capsule %u, max I/O %u, "
	           "%u buffers of %u, %s, read depth %u, ack_timeout %u retry %u rnr_retry %u",
	           rt->prov->name, opts->max_queue_depth, opts->max_aq_depth,
	           opts->in_capsule_data_size, opts->max_io_size, opts->num_shared_buffers,
	           opts->io_unit_size, ro->no_srq ? "per-QP receive queues" : "SRQ per poll group",
	           ro->max_read_depth, ro->ack_timeout, ro->retry_count, ro->rnr_retry_count);
	*out = &rt->base;
	return 0;

err_destroy:
	rdma_destroy(&rt->base);
	return rc;
}

static void rdma_destroy(struct unvmf_transport *transport)
{
	struct rdma_transport *rt = (struct rdma_transport *)transport;
	struct rdma_listener *l;
	struct rdma_qpair *rq;

	while ((rq = TAILQ_FIRST(&rt->conns))) {
		LOG_ERR("qpair %lu: connection still open when the transport goes",
		        (unsigned long)rq->qpair.id);
		rdma_conn_free(rq);
	}
	while ((l = TAILQ_FIRST(&rt->listeners))) {
		TAILQ_REMOVE(&rt->listeners, l, link);
		rt->prov->id_destroy(l->id);
		free(l);
	}
	if (rt->cm_poller) {
		rdma_wake_fds(rt, false);
		unvmf_poller_unregister(&rt->cm_poller);
	}
	rdma_devices_fini(rt);
	unvmf_buf_pool_fini(&rt->pool);
	if (rt->ch)
		rt->prov->channel_destroy(rt->ch);
	if (rt->ctx) {
		int rc = rt->prov->ctx_close(rt->ctx);

		if (rc)
			LOG_ERR("RDMA: provider context still in use at close: %s", strerror(-rc));
	}
	free(rt);
}

static struct rdma_listener *listener_find(struct rdma_transport *rt, const struct unvmf_trid *trid)
{
	struct rdma_listener *l;

	TAILQ_FOREACH(l, &rt->listeners, link)
	{
		if (unvmf_trid_same_addr(&l->trid, trid))
			return l;
	}
	return NULL;
}

static int rdma_listen(struct unvmf_transport *transport, const struct unvmf_trid *trid)
{
	struct rdma_transport *rt = (struct rdma_transport *)transport;
	struct rdma_listener *l;
	char *end;
	unsigned long port;
	int rc;

	/* The RDMA CM resolves IP addresses (RoCE, or IPoIB on InfiniBand). */
	if (trid->trtype != NVMF_TRTYPE_RDMA ||
	    (trid->adrfam != NVMF_ADRFAM_IPV4 && trid->adrfam != NVMF_ADRFAM_IPV6))
		return -EINVAL;
	port = strtoul(trid->trsvcid, &end, 10);
	if (!trid->trsvcid[0] || *end || port > 65535)
		return -EINVAL;
	l = listener_find(rt, trid);
	if (l) {
		l->refs++;
		return 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->trid = *trid;
	l->trid.subnqn[0] = '\0';
	l->trid.hostnqn[0] = '\0';
	l->refs = 1;
	rc = rt->prov->cm_listen(rt->ch, trid->traddr, (uint16_t)port,
	                         rdma_transport_opts(rt)->acceptor_backlog, l, &l->id);
	if (rc) {
		LOG_ERR("RDMA: cannot listen on %s:%s: %s", trid->traddr, trid->trsvcid,
		        strerror(-rc));
		free(l);
		return rc;
	}
	TAILQ_INSERT_TAIL(&rt->listeners, l, link);
	LOG_INFO("RDMA: listening on %s:%s", trid->traddr, trid->trsvcid);
	return 0;
}

static void rdma_stop_listen(struct unvmf_transport *transport, const struct unvmf_trid *trid)
{
	struct rdma_transport *rt = (struct rdma_transport *)transport;
	struct rdma_listener *l = listener_find(rt, trid);

	if (!l || --l->refs > 0)
		return;
	TAILQ_REMOVE(&rt->listeners, l, link);
	rt->prov->id_destroy(l->id);
	LOG_INFO("RDMA: stopped listening on %s:%s", l->trid.traddr, l->trid.trsvcid);
	free(l);
}

static void rdma_cdata_init(struct unvmf_transport *transport, struct nvme_id_ctrl *cd)
{
	/* Keyed SGLs (with a last-segment list of up to msdbd) and offset data blocks. */
	cd->sgls = NVME_SGLS_SUPPORTED | NVME_SGLS_KEYED | NVME_SGLS_ADDRESS_AS_OFFSET;
	cd->msdbd = RDMA_MAX_SGL_DESCRIPTORS;
}

const struct unvmf_transport_ops unvmf_rdma_transport_ops = {
    .name = "RDMA",
    .trtype = NVMF_TRTYPE_RDMA,
    .opts_init = rdma_opts_init,
    .opts_accepts = rdma_opts_accepts,
    .opts_decode = rdma_opts_decode,
    .opts_dump = rdma_opts_dump,
    .listener_discover = rdma_listener_discover,
    .create = rdma_create,
    .destroy = rdma_destroy,
    .listen = rdma_listen,
    .stop_listen = rdma_stop_listen,
    .poll_group_create = rdma_group_create,
    .poll_group_destroy = rdma_group_destroy,
    .poll_group_poll = rdma_group_poll,
    .poll_group_add = rdma_group_add,
    .req_complete = rdma_env_req_complete,
    .qpair_disconnect = rdma_qpair_disconnect,
    .qpair_abort_request = rdma_qpair_abort_request,
    .poll_group_dump_stats = rdma_group_dump_stats,
    .cdata_init = rdma_cdata_init,
    .inject_fault = rdma_qpair_inject_fault,
    .inject_fault_arm = rdma_transport_inject_fault_arm,
};
