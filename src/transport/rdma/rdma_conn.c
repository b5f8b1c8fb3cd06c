/*
 * Connections as reactor 0 sees them: CONNECT_REQUEST checks with the
 * NVMe-oF RDMA private data, rejects, CM and async events forwarded to the
 * owning poll group, and the final free after the group let go.
 *
 * Thread: reactor 0, except rdma_conn_release (the group's thread) and
 * rdma_conn_reject (whoever owns the id at that moment).
 */
#include "proto/nvme_rdma_cm.h"
#include "reactor/reactor.h"
#include "transport/rdma/rdma_internal.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void rdma_conn_reject(struct rdma_transport *rt, struct rdma_prov_id *id, uint16_t sts)
{
	struct nvmf_rdma_reject_private_data rej;
	int rc;

	nvme_rdma_cm_reject_build(&rej, sts);
	rc = rt->prov->cm_reject(id, &rej, sizeof(rej));
	rt->rejects++;
	if (rc)
		LOG_WARN("RDMA: reject (status %u) failed: %s", sts, strerror(-rc));
}

static void reject_and_destroy(struct rdma_transport *rt, struct rdma_prov_id *id, uint16_t sts,
                               const char *why)
{
	LOG_WARN("RDMA: rejecting a connection: %s (status %u)", why, sts);
	rdma_conn_reject(rt, id, sts);
	rt->prov->id_destroy(id);
}

static struct rdma_listener *listener_of(struct rdma_transport *rt, struct rdma_prov_id *id)
{
	struct rdma_listener *l;

	TAILQ_FOREACH(l, &rt->listeners, link)
	{
		if (l->id == id)
			return l;
	}
	return NULL;
}

void rdma_conn_handle_request(struct rdma_transport *rt, const struct rdma_prov_cm_event *ev)
{
	const struct unvmf_transport_opts *o = &rt->base.opts;
	struct nvmf_rdma_request_private_data pd;
	struct rdma_listener *l = listener_of(rt, ev->listen_id);
	struct rdma_device *dev;
	struct rdma_qpair *rq;
	uint32_t max_depth, num_reqs, read_depth;
	uint16_t sts;

	rt->connects++;
	sts = nvme_rdma_cm_req_parse(ev->param.private_data, ev->param.private_data_len, &pd);
	if (sts) {
		reject_and_destroy(rt, ev->id, sts, nvme_rdma_cm_status_str(sts));
		return;
	}
	max_depth = pd.qid == 0 ? o->max_aq_depth : o->max_queue_depth;
	/* One request per command the host may have outstanding, each answered by one SEND. */
	num_reqs = UNVMF_MIN((uint32_t)pd.hsqsize + 1, (uint32_t)pd.hrqsize);
	num_reqs = UNVMF_MIN(num_reqs, max_depth);
	if (num_reqs < 1) {
		reject_and_destroy(rt, ev->id, NVMF_RDMA_CM_INVALID_HSQSIZE, "hsqsize");
		return;
	}
	/* On the passive side the event shows the host's responder resources as our initiator
	 * depth. */
	read_depth = UNVMF_MIN(unvmf_rdma_opts_const(o)->max_read_depth,
	                       (uint32_t)ev->param.initiator_depth);
	if (read_depth == 0) {
		reject_and_destroy(rt, ev->id, NVMF_RDMA_CM_INVALID_IRD,
		                   "the host accepts no RDMA READs");
		return;
	}
	dev = rdma_transport_device(rt, rt->prov->id_get_device(ev->id));
	if (!dev || !l) {
		reject_and_destroy(rt, ev->id, NVMF_RDMA_CM_NO_RESOURCES,
		                   "unknown device/listener");
		return;
	}
	rq = calloc(1, sizeof(*rq));
	if (!rq) {
		reject_and_destroy(rt, ev->id, NVMF_RDMA_CM_NO_RESOURCES, "no memory");
		return;
	}
	/* From here the core counts it: every exit goes through unvmf_qpair_fini(). */
	unvmf_qpair_init(&rq->qpair, &rt->base);
	rq->rt = rt;
	rq->id = ev->id;
	rq->dev = dev;
	rq->qid = pd.qid;
	rq->num_reqs = num_reqs;
	rq->read_depth = read_depth;
	rq->state = RDMA_QPAIR_NEW;
	rq->qpair.local = l->trid;
	rq->qpair.local.subnqn[0] = '\0';
	rq->qpair.local.hostnqn[0] = '\0';
	rq->qpair.peer.trtype = NVMF_TRTYPE_RDMA;
	rq->qpair.peer.adrfam = l->trid.adrfam;
	unvmf_strlcpy(rq->qpair.peer.traddr, "rdma-cm", sizeof(rq->qpair.peer.traddr));
	rt->prov->id_set_ctx(ev->id, rq);
	TAILQ_INSERT_TAIL(&rt->conns, rq, conn_link);
	LOG_INFO("qpair %lu: RDMA connect request qid %u hsqsize %u hrqsize %u -> %u requests, "
	         "read depth %u",
	         (unsigned long)rq->qpair.id, pd.qid, pd.hsqsize, pd.hrqsize, num_reqs, read_depth);
	/* The core may hand it straight back (shutdown): rq may be gone after this. */
	unvmf_tgt_new_qpair(&rq->qpair);
}

/* An event for a qpair, by (group, qpair id): the group finds nothing if it is gone. */
struct group_event_msg {
	unsigned slot;
	uint64_t qpair_id;
	bool last_wqe;
	enum rdma_req_event cause;
	char why[48];
};

static void group_event_on_group(void *arg)
{
	struct group_event_msg *m = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();

	if (group && group->tgroups[m->slot])
		rdma_qpair_group_event(rdma_group_from(group->tgroups[m->slot]), m->qpair_id,
		                       m->last_wqe, m->cause, m->why);
	free(m);
}

static void group_event_send(struct rdma_transport *rt, struct rdma_qpair *rq, bool last_wqe,
                             enum rdma_req_event cause, const char *why)
{
	struct group_event_msg *m = calloc(1, sizeof(*m));

	if (!m) {
		LOG_ERR("qpair %lu: no memory to forward %s", (unsigned long)rq->qpair.id, why);
		return;
	}
	m->slot = rt->base.slot;
	m->qpair_id = rq->qpair.id;
	m->last_wqe = last_wqe;
	m->cause = cause;
	unvmf_strlcpy(m->why, why, sizeof(m->why));
	if (unvmf_thread_send_msg(rq->qpair.group->thread, group_event_on_group, m) != 0)
		free(m);
}

void rdma_conn_handle_event(struct rdma_transport *rt, const struct rdma_prov_cm_event *ev)
{
	struct rdma_qpair *rq;

	if (listener_of(rt, ev->id)) {
		LOG_WARN("RDMA: listener event %s", rdma_prov_cm_event_name(ev->type));
		return;
	}
	rq = rt->prov->id_get_ctx(ev->id);
	if (!rq)
		return;
	switch (ev->type) {
	case RDMA_PROV_CM_EVENT_ESTABLISHED:
		LOG_DEBUG("qpair %lu: established", (unsigned long)rq->qpair.id);
		break;
	case RDMA_PROV_CM_EVENT_DISCONNECTED:
	case RDMA_PROV_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_PROV_CM_EVENT_CONNECT_ERROR:
	case RDMA_PROV_CM_EVENT_UNREACHABLE:
	case RDMA_PROV_CM_EVENT_REJECTED: {
		char why[48];

		snprintf(why, sizeof(why), "CM %s", rdma_prov_cm_event_name(ev->type));
		if (rq->qpair.group)
			group_event_send(rt, rq, false, RDMA_EV_QP_ERR_BY_CM, why);
		break;
	}
	default:
		break;
	}
}

void rdma_conn_handle_async(struct rdma_transport *rt, const struct rdma_prov_async_event *ev)
{
	struct rdma_qpair *rq = ev->qp_ctx;

	switch (ev->type) {
	case RDMA_PROV_ASYNC_QP_LAST_WQE_REACHED:
		if (!rq || !rq->qpair.group)
			return;
		group_event_send(rt, rq, true, RDMA_EV_QP_ERR_BY_FLUSH, "LAST_WQE_REACHED");
		return;
	case RDMA_PROV_ASYNC_QP_FATAL:
	case RDMA_PROV_ASYNC_QP_REQ_ERR:
	case RDMA_PROV_ASYNC_QP_ACCESS_ERR:
		if (!rq || !rq->qpair.group)
			return;
		LOG_ERR("qpair %lu: async event %s", (unsigned long)rq->qpair.id,
		        rdma_prov_async_event_name(ev->type));
		group_event_send(rt, rq, false, RDMA_EV_QP_ERR_BY_ASYNC,
		                 rdma_prov_async_event_name(ev->type));
		return;
	case RDMA_PROV_ASYNC_COMM_EST:
		return;
	default:
		LOG_WARN("RDMA: async event %s", rdma_prov_async_event_name(ev->type));
		return;
	}
}

void rdma_conn_free(struct rdma_qpair *rq)
{
	struct rdma_transport *rt = rq->rt;

	/* Events already queued for its QP name rq: take them while rq still exists. */
	rdma_transport_poll_async(rt);
	TAILQ_REMOVE(&rt->conns, rq, conn_link);
	if (rq->id) {
		rt->prov->id_set_ctx(rq->id, NULL);
		rt->prov->id_destroy(rq->id);
	}
	free(rq);
}

static void conn_free_msg(void *arg)
{
	rdma_conn_free(arg);
}

void rdma_conn_release(struct rdma_qpair *rq)
{
	/* Reactors stopped: nobody else can touch it any more. */
	if (unvmf_thread_send_msg(unvmf_reactor_thread(0), conn_free_msg, rq) != 0)
		rdma_conn_free(rq);
}
