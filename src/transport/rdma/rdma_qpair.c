/*
 * The qpair on its poll group: resources, QP creation and accept, error,
 * drain and destroy.
 *
 * Error is one-way: rdma_qpair_set_error() moves the QP to ERR (the NIC then
 * flushes every WR it holds) and disconnects the CM id; from the next group
 * poll on, rdma_qpair_progress_error() runs the per-state drain actions of
 * docs/RDMA-STATE-MACHINE.md and destroys the qpair only when every request
 * is FREE with no WR on the NIC, every own receive has flushed and, with an
 * SRQ, LAST_WQE_REACHED has arrived, or, when the NIC owes something past
 * reclaim_timeout_ms, once the reclaim (rdma_reclaim.c) has taken it back.
 * Nothing is freed from inside a completion callback or a state-machine step.
 * Thread: the qpair's poll group (rdma_qpair_disconnect of a qpair that never
 * reached a group runs on reactor 0).
 */
#include "transport/rdma/rdma_internal.h"
#include "proto/nvme_rdma_cm.h"
#include "reactor/reactor.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint32_t qpair_cq_need(const struct rdma_qpair *rq, const struct rdma_gdev *gd)
{
	return rq->sq_depth + (gd->srq ? 0 : rq->num_reqs);
}

static void qpair_free_resources(struct rdma_qpair *rq)
{
	const struct rdma_provider *prov = rq->rt->prov;

	if (rq->recv_mr)
		prov->mr_dereg(rq->recv_mr);
	if (rq->rsp_mr)
		prov->mr_dereg(rq->rsp_mr);
	rq->recv_mr = NULL;
	rq->rsp_mr = NULL;
	free(rq->recv_bufs);
	free(rq->recvs);
	free(rq->rsps);
	free(rq->ext);
	rq->recv_bufs = NULL;
	rq->recvs = NULL;
	rq->rsps = NULL;
	rq->ext = NULL;
	if (rq->set.reqs)
		rdma_req_set_fini(&rq->set);
}

static int qpair_alloc(struct rdma_qpair *rq)
{
	const struct rdma_provider *prov = rq->rt->prov;
	uint32_t csize = rq->rt->capsule_size;
	int rc;

	rdma_env_init(rq);
	rc = rdma_req_set_init(&rq->set, rq->num_reqs, &rq->env);
	if (rc)
		return rc;
	rq->set.coverage = rq->coverage;
	rq->set.trap = &rq->rt->trap.state;
	rq->ext = calloc(rq->num_reqs, sizeof(*rq->ext));
	rq->rsps = calloc(rq->num_reqs, sizeof(*rq->rsps));
	if (!rq->ext || !rq->rsps)
		return -ENOMEM;
	/* wr_ids carry the generation above the pointer (rdma_wrid_req). */
	if ((uint64_t)(uintptr_t)(rq->ext + rq->num_reqs) > RDMA_WRID_PTR_MASK)
		return -ENOMEM;
	rc = prov->mr_reg(rq->dev->pd, rq->rsps, rq->num_reqs * sizeof(*rq->rsps), 0, &rq->rsp_mr);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < rq->num_reqs; i++) {
		rq->ext[i].req = &rq->set.reqs[i];
		rq->ext[i].rq = rq;
		rq->ext[i].rsp = &rq->rsps[i];
		rq->set.reqs[i].core.qpair = &rq->qpair;
	}
	if (rq->gdev->srq)
		return 0;
	rq->recvs = calloc(rq->num_reqs, sizeof(*rq->recvs));
	rq->recv_bufs = calloc(rq->num_reqs, csize);
	if (!rq->recvs || !rq->recv_bufs)
		return -ENOMEM;
	rc = prov->mr_reg(rq->dev->pd, rq->recv_bufs, (size_t)rq->num_reqs * csize,
	                  RDMA_PROV_ACCESS_LOCAL_WRITE, &rq->recv_mr);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < rq->num_reqs; i++) {
		struct rdma_recv *r = &rq->recvs[i];

		r->buf = rq->recv_bufs + (size_t)i * csize;
		r->qpair = rq;
		r->sge = (struct rdma_prov_sge){.addr = (uint64_t)(uintptr_t)r->buf,
		                                .length = csize,
		                                .lkey = prov->mr_lkey(rq->recv_mr)};
		r->wr = (struct rdma_prov_recv_wr){
		    .wr_id = rdma_wrid(r, RDMA_WRID_RECV), .sg_list = &r->sge, .num_sge = 1};
	}
	return 0;
}

static int qpair_post_recvs(struct rdma_qpair *rq)
{
	struct rdma_prov_recv_wr *bad = NULL;
	int rc;

	for (uint32_t i = 0; i < rq->num_reqs; i++)
		rq->recvs[i].wr.next = i + 1 < rq->num_reqs ? &rq->recvs[i + 1].wr : NULL;
	rc = rq->rt->prov->qp_post_recv(rq->qp, &rq->recvs[0].wr, &bad);
	/* Those before bad are posted either way; they flush with the QP. */
	for (uint32_t i = 0; i < rq->num_reqs; i++) {
		if (rc && &rq->recvs[i].wr == bad)
			break;
		rq->recvs[i].posted = true;
		rq->recvs_posted++;
	}
	return rc;
}

static int qpair_accept(struct rdma_qpair *rq)
{
	const struct unvmf_transport_opts *o = &rq->rt->base.opts;
	struct rdma_prov_conn_param param = {0};
	struct nvmf_rdma_accept_private_data pd;

	nvme_rdma_cm_accept_build(&pd, (uint16_t)rq->num_reqs);
	memcpy(param.private_data, &pd, sizeof(pd));
	param.private_data_len = sizeof(pd);
	/* The host never READs from us; we READ up to read_depth at a time. */
	param.responder_resources = 0;
	param.initiator_depth = (uint8_t)rq->read_depth;
	param.retry_count = unvmf_rdma_opts_const(o)->retry_count;
	param.rnr_retry_count = unvmf_rdma_opts_const(o)->rnr_retry_count;
	param.srq = rq->gdev->srq != NULL;
	return rq->rt->prov->cm_accept(rq->id, rq->qp, &param);
}

/*
 * From the accept on, the qpair holds its CQ entries, requests and receives:
 * a host that never sends Fabrics Connect (or never even completes the CM
 * handshake) is disconnected at the core's connect deadline, which logs and
 * counts it (connect_timeouts). The poller goes once the qpair is connected.
 */
static int qpair_connect_deadline_poll(void *arg)
{
	struct rdma_qpair *rq = arg;

	if (rq->qpair.state != UNVMF_QPAIR_UNCONNECTED || rq->state != RDMA_QPAIR_ACTIVE) {
		unvmf_poller_unregister(&rq->connect_poller);
		return 0;
	}
	if (!unvmf_qpair_connect_deadline_check(&rq->qpair, unvmf_now_us()))
		return 0;
	unvmf_poller_unregister(&rq->connect_poller);
	return 1;
}

static void qpair_connect_deadline_start(struct rdma_qpair *rq)
{
	unvmf_qpair_connect_deadline_arm(&rq->qpair);
	if (!rq->qpair.connect_deadline_us)
		return;
	rq->connect_poller = unvmf_poller_register(qpair_connect_deadline_poll, rq,
	                                           RDMA_CONNECT_CHECK_US, "rdma_connect");
	if (!rq->connect_poller)
		LOG_ERR("qpair %lu: no poller for its connect deadline: it is not enforced",
		        (unsigned long)rq->qpair.id);
}

int rdma_qpair_start(struct rdma_group *rg, struct rdma_qpair *rq)
{
	const struct rdma_provider *prov = rq->rt->prov;
	const struct unvmf_transport_opts *o = &rq->rt->base.opts;
	struct rdma_prov_qp_init init = {0};
	uint16_t sts = NVMF_RDMA_CM_NO_RESOURCES;
	uint32_t need;
	int rc;

	rq->group = rg;
	rq->gdev = rdma_group_gdev(rg, rq->dev);
	TAILQ_INIT(&rq->incoming);
	if (!rq->gdev) {
		rc = -ENODEV;
		goto err_reject;
	}
	/* Room for every request's response plus the WRITEs/READs of a full-size transfer. */
	rq->sq_depth = UNVMF_MIN(2 * rq->num_reqs + RDMA_MAX_SEGS + 1, rq->dev->attr.max_qp_wr);
	need = qpair_cq_need(rq, rq->gdev);
	if (rq->gdev->cq_reserved + need > rq->gdev->cq_size) {
		LOG_ERR("qpair %lu: the poll group's CQ (%u entries, %u reserved) cannot take %u "
		        "more; raise num_cqe",
		        (unsigned long)rq->qpair.id, rq->gdev->cq_size, rq->gdev->cq_reserved,
		        need);
		rc = -ENOSPC;
		goto err_reject;
	}
	if (unvmf_tgt_is_shutting_down()) {
		rc = -ESHUTDOWN;
		goto err_reject;
	}
	rc = qpair_alloc(rq);
	if (rc)
		goto err_free;
	init.pd = rq->dev->pd;
	init.send_cq = rq->gdev->cq;
	init.recv_cq = rq->gdev->cq;
	init.srq = rq->gdev->srq;
	init.max_send_wr = rq->sq_depth;
	init.max_recv_wr = rq->num_reqs;
	init.max_send_sge = 1;
	init.max_recv_sge = 1;
	init.max_rd_atomic = (uint8_t)rq->read_depth;
	init.max_dest_rd_atomic = 0;
	init.retry_cnt = unvmf_rdma_opts_const(o)->retry_count;
	init.rnr_retry = rdma_opts_response_rnr_retry(unvmf_rdma_opts_const(o));
	init.timeout = unvmf_rdma_opts_const(o)->ack_timeout;
	init.user_ctx = rq;
	rc = prov->qp_create(rq->id, &init, &rq->qp);
	if (rc) {
		LOG_ERR("qpair %lu: cannot create the QP: %s", (unsigned long)rq->qpair.id,
		        strerror(-rc));
		goto err_free;
	}
	rq->qp_num = prov->qp_num(rq->qp);
	rq->cq_reserved = need;
	rq->gdev->cq_reserved += need;
	TAILQ_INSERT_TAIL(&rg->qpairs, rq, link);
	rg->stats.qpairs_current++;
	rg->stats.qpairs_total++;
	rq->state = RDMA_QPAIR_ACTIVE;
	if (!rq->gdev->srq) {
		rc = qpair_post_recvs(rq);
		if (rc) {
			rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, "cannot post receives");
			rdma_conn_reject(rq->rt, rq->id, NVMF_RDMA_CM_NO_RESOURCES);
			return 0;
		}
	}
	rc = qpair_accept(rq);
	if (rc) {
		LOG_ERR("qpair %lu: accept failed: %s", (unsigned long)rq->qpair.id, strerror(-rc));
		rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, "accept failed");
		return 0;
	}
	qpair_connect_deadline_start(rq);
	LOG_INFO("qpair %lu: RDMA qid %u accepted on poll group %u: %u requests, read depth %u, "
	         "%s",
	         (unsigned long)rq->qpair.id, rq->qid, rg->base.group ? rg->base.group->index : 0,
	         rq->num_reqs, rq->read_depth, rq->gdev->srq ? "SRQ" : "own receive queue");
	return 0;

err_free:
	qpair_free_resources(rq);
err_reject:
	rdma_conn_reject(rq->rt, rq->id, sts);
	rq->state = RDMA_QPAIR_GONE;
	unvmf_qpair_fini(&rq->qpair);
	rdma_conn_release(rq);
	return rc;
}

void rdma_qpair_set_error(struct rdma_qpair *rq, enum rdma_req_event cause, const char *why)
{
	const struct rdma_provider *prov = rq->rt->prov;
	int rc;

	if (rq->state != RDMA_QPAIR_ACTIVE)
		return;
	rq->state = RDMA_QPAIR_ERROR;
	/* The first cause wins: what the drain records for every waiting request. */
	rq->set.err_event = cause;
	rq->error_us = unvmf_now_us();
	unvmf_strlcpy(rq->error_reason, why, sizeof(rq->error_reason));
	if (!rq->qpair.disconnect_reason[0])
		unvmf_strlcpy(rq->qpair.disconnect_reason, why,
		              sizeof(rq->qpair.disconnect_reason));
	LOG_NOTICE("qpair %lu (qid %u, cntlid %u, host %s): entering error: %s",
	           (unsigned long)rq->qpair.id, rq->qid,
	           rq->qpair.ctrlr ? rq->qpair.ctrlr->cntlid : 0xffff,
	           rq->qpair.ctrlr ? rq->qpair.ctrlr->hostnqn : "-", why);
	rc = prov->qp_modify_err(rq->qp);
	if (rc) {
		/* No flush will come for a QP that is not in ERR: the reclaim destroys it. */
		LOG_ERR("qpair %lu: cannot move the QP to ERR (%s): reclaiming it",
		        (unsigned long)rq->qpair.id, strerror(-rc));
		rq->nic_dead = true;
	}
	prov->cm_disconnect(rq->id);
}

/* Whether the NIC may still hold anything of this QP (beyond what our counts say). */
static bool qpair_nic_idle(struct rdma_qpair *rq)
{
	if (rq->recvs_posted > 0 || rq->sq_used > 0)
		return false;
	/* Some HCAs never report it: the reclaim bound (rdma_reclaim.c) ends the wait. */
	if (rq->gdev->srq && !rq->last_wqe)
		return false;
	/*
	 * SRQ receives this QP consumed whose completion has not landed yet are
	 * invisible to our counts; a provider that lists what the NIC holds can
	 * tell (a real HCA completes them before LAST_WQE_REACHED).
	 */
	if (rq->rt->prov->qp_outstanding && rq->qp) {
		struct rdma_prov_wr_info info[4];

		if (rq->rt->prov->qp_outstanding(rq->qp, info, 4) > 0)
			return false;
	}
	return true;
}

static void qpair_destroy(struct rdma_qpair *rq)
{
	struct rdma_group *rg = rq->group;
	int rc;

	/* A reclaimed qpair's QP is gone already. */
	if (rq->qp) {
		rc = rq->rt->prov->qp_destroy(rq->qp);
		if (rc)
			LOG_ERR("qpair %lu: qp_destroy: %s", (unsigned long)rq->qpair.id,
			        strerror(-rc));
	}
	rq->qp = NULL;
	unvmf_poller_unregister(&rq->connect_poller);
	rq->gdev->cq_reserved -= rq->cq_reserved;
	TAILQ_REMOVE(&rg->qpairs, rq, link);
	rg->stats.qpairs_current--;
	rg->stats.qpairs_destroyed++;
	for (unsigned i = 0; i < RDMA_REQ_NUM_STATES; i++)
		rg->coverage[i] |= rq->coverage[i];
	qpair_free_resources(rq);
	rq->state = RDMA_QPAIR_GONE;
	LOG_INFO("qpair %lu: destroyed (%s); req_cqe_error %lu, req_cqe_flush_error %lu",
	         (unsigned long)rq->qpair.id, rq->error_reason, (unsigned long)rq->wc.req_cqe_error,
	         (unsigned long)rq->wc.req_cqe_flush_error);
	unvmf_qpair_fini(&rq->qpair);
	rdma_conn_release(rq);
}

bool rdma_qpair_progress_error(struct rdma_qpair *rq)
{
	if (rq->state != RDMA_QPAIR_ERROR)
		return false;
	if (!rq->drain_started) {
		rq->drain_started = true;
		rdma_env_bind_incoming(rq);
		rdma_req_set_drain(&rq->set);
		/* Parked requests (AERs) come back through req_complete and drain there. */
		unvmf_qpair_teardown_begin(&rq->qpair);
	}
	if (rdma_req_set_drained(&rq->set) && (rq->reclaimed || qpair_nic_idle(rq))) {
		qpair_destroy(rq);
		return true;
	}
	/* The NIC owes us something past the bound: take it back (requests in the core wait). */
	if (!rq->reclaimed && rdma_qpair_reclaim(rq, unvmf_now_us()) &&
	    rdma_req_set_drained(&rq->set)) {
		qpair_destroy(rq);
		return true;
	}
	return false;
}

void rdma_qpair_disconnect(struct unvmf_qpair *qpair)
{
	struct rdma_qpair *rq = rdma_qpair_from(qpair);

	if (rq->state == RDMA_QPAIR_NEW) {
		/* Never reached a group (shutting down): reactor 0 still owns all of it. */
		rdma_conn_reject(rq->rt, rq->id, NVMF_RDMA_CM_NO_RESOURCES);
		rq->state = RDMA_QPAIR_GONE;
		unvmf_qpair_fini(&rq->qpair);
		rdma_conn_free(rq);
		return;
	}
	rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_CORE,
	                     qpair->disconnect_reason[0] ? qpair->disconnect_reason
	                                                 : "disconnect requested");
}

void rdma_qpair_group_event(struct rdma_group *rg, uint64_t qpair_id, bool last_wqe,
                            enum rdma_req_event cause, const char *why)
{
	struct rdma_qpair *rq;

	TAILQ_FOREACH(rq, &rg->qpairs, link)
	{
		if (rq->qpair.id != qpair_id)
			continue;
		if (last_wqe) {
			rq->last_wqe = true;
			/* An idle QP the fabric put in ERR has no WR to flush: this is the only sign. */
			rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_FLUSH, "QP in error (last WQE reached)");
			return;
		}
		rdma_qpair_set_error(rq, cause, why);
		return;
	}
}

int rdma_qpair_inject_fault(struct unvmf_qpair *qpair, const char *kind)
{
	struct rdma_qpair *rq = rdma_qpair_from(qpair);

	if (rq->state != RDMA_QPAIR_ACTIVE)
		return -EALREADY;
	if (strcmp(kind, "qp_error") == 0) {
		/* Only the QP: the transport finds out from the flushes, as after a link failure.
		 */
		return rq->rt->prov->qp_modify_err(rq->qp);
	}
	if (strcmp(kind, "disconnect") == 0) {
		rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_INJECT, "fault injection: disconnect");
		return 0;
	}
	/* This very qpair, from now on: the transport's trap with its id as the filter. */
	if (strncmp(kind, "qp_error_in_state:", 18) == 0)
		return rdma_transport_arm_trap(rq->rt, kind, qpair->id, -1, -1, NULL, 0);
	return -EINVAL;
}

int rdma_transport_inject_fault_arm(struct unvmf_transport *transport, const char *kind,
                                    uint64_t qpair_id, int32_t cntlid, int32_t qid, char *err,
                                    size_t err_len)
{
	if (strncmp(kind, "qp_error_in_state:", 18) != 0)
		return -EOPNOTSUPP;
	return rdma_transport_arm_trap(UNVMF_CONTAINER_OF(transport, struct rdma_transport, base),
	                               kind, qpair_id, cntlid, qid, err, err_len);
}

int rdma_transport_arm_trap(struct rdma_transport *rt, const char *kind, uint64_t qpair_id,
                            int32_t cntlid, int32_t qid, char *err, size_t err_len)
{
	static const char prefix[] = "qp_error_in_state:";
	int want = -1, none = -1;

	if (strncmp(kind, prefix, sizeof(prefix) - 1) != 0) {
		if (err)
			snprintf(err, err_len, "parameter 'fault': unknown fault '%s'", kind);
		return -EINVAL;
	}
	for (int st = 0; st < RDMA_REQ_NUM_STATES; st++)
		if (strcmp(kind + sizeof(prefix) - 1, rdma_req_state_name(st)) == 0)
			want = st;
	/* A request that moves into FREE has let go of everything: nothing left to fail. */
	if (want < 0 || want == RDMA_REQ_FREE) {
		if (err)
			snprintf(err, err_len,
			         "parameter 'fault': '%s' is not a request state a request can fail "
			         "in (NEW ... COMPLETED, not FREE)",
			         kind + sizeof(prefix) - 1);
		return -EINVAL;
	}
	if (atomic_load(&rt->trap.state) != -1) {
		if (err)
			snprintf(err, err_len, "parameter 'fault': a qp_error_in_state trap is already "
			                       "armed and has not fired yet");
		return -EBUSY;
	}
	rt->trap.qpair_id = qpair_id;
	rt->trap.cntlid = cntlid;
	rt->trap.qid = qid;
	if (!atomic_compare_exchange_strong_explicit(&rt->trap.state, &none, want,
	                                             memory_order_release, memory_order_relaxed))
		return -EBUSY;
	LOG_WARN("RDMA: fault armed: the next request to reach %s on qpair %lu, cntlid %d, qid %d "
	         "(0 / -1 = any) fails its qpair",
	         rdma_req_state_name(want), (unsigned long)qpair_id, cntlid, qid);
	return 0;
}

int rdma_qpair_abort_request(struct unvmf_qpair *qpair, uint16_t cid)
{
	struct rdma_qpair *rq = rdma_qpair_from(qpair);

	/* Only a command that has not started can be withdrawn without confusing the host. */
	for (uint32_t i = 0; i < rq->num_reqs && rq->set.reqs; i++) {
		struct rdma_req *req = &rq->set.reqs[i];

		if (req->state != RDMA_REQ_NEED_BUFFER || req->core.cmd.cid != cid)
			continue;
		/* Through the core's completion: SQHD moves on, the error is counted and logged. */
		rdma_req_reject(req, NVME_SCT_GENERIC, NVME_SC_ABORTED_BY_REQUEST);
		return 0;
	}
	return -ENOENT;
}
