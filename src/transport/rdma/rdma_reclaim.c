/*
 * The bounded reclaim: a qpair in error waits for its NIC to give back every
 * WR (flush completions), its own receives and, with an SRQ,
 * LAST_WQE_REACHED. A NIC that stops producing completions (a dead HCA, a
 * removed device, a provider bug) would keep the qpair, and with it the
 * target's shutdown, forever. Past reclaim_timeout_ms after the error (at
 * once when the device is known dead) the QP is destroyed, which ends the
 * NIC's use of our memory and drops its completions from the CQ, and every
 * WR it held is accounted as reaped. Requests the core still executes are
 * not the NIC's: the qpair waits for them as before.
 *
 * Device-wide failures (DEVICE_FATAL, CQ_ERR, PORT_ERR, a failing poll_cq)
 * put every qpair on the device in error.
 * Thread: the qpair's poll group, except rdma_transport_device_event (reactor 0).
 */
#include "transport/rdma/rdma_internal.h"
#include "reactor/reactor.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint32_t qpair_executing(const struct rdma_qpair *rq)
{
	return rq->set.state_count[RDMA_REQ_EXECUTING];
}

/* Whether the NIC still holds anything of rq, by our counts or (sim) by its own list. */
static bool qpair_nic_owes(struct rdma_qpair *rq)
{
	struct rdma_prov_wr_info info[4];

	if (rq->sq_used || rq->recvs_posted || (rq->gdev->srq && !rq->last_wqe))
		return true;
	return rq->rt->prov->qp_outstanding && rq->qp &&
	       rq->rt->prov->qp_outstanding(rq->qp, info, 4) > 0;
}

/* Every WR the NIC held for rq counts as reaped; returns how many there were. */
static uint64_t qpair_account_reaped(struct rdma_qpair *rq)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < rq->num_reqs; i++) {
		struct rdma_req *req = &rq->set.reqs[i];

		for (unsigned k = 0; k < RDMA_WR_NUM_KINDS; k++) {
			n += req->wr_outstanding[k];
			req->wr_outstanding[k] = 0;
		}
	}
	rq->sq_used = 0;
	rq->reads_inflight = 0;
	/* Own receives: the NIC holds none any more (never reposted on a qpair in error). */
	for (uint32_t i = 0; rq->recvs && i < rq->num_reqs; i++) {
		if (rq->recvs[i].posted) {
			rq->recvs[i].posted = false;
			n++;
		}
	}
	rq->recvs_posted = 0;
	rq->last_wqe = true;
	return n;
}

bool rdma_qpair_reclaim(struct rdma_qpair *rq, uint64_t now_us)
{
	const struct unvmf_rdma_opts *o = rdma_transport_opts(rq->rt);
	uint64_t bound_us = (uint64_t)o->reclaim_timeout_ms * 1000;
	struct rdma_group *rg = rq->group;
	uint32_t sends = rq->sq_used, recvs = rq->recvs_posted;
	bool last_wqe = rq->last_wqe;
	uint64_t n;
	int rc;

	if (rq->reclaimed || (!rq->nic_dead && now_us - rq->error_us < bound_us))
		return false;
	/* Only the core is late (a request still EXECUTING): the NIC owes nothing to reclaim. */
	if (!rq->nic_dead && !qpair_nic_owes(rq))
		return false;
	rq->reclaimed = true;
	rc = rq->rt->prov->qp_destroy(rq->qp);
	if (rc)
		LOG_ERR("qpair %lu: qp_destroy: %s", (unsigned long)rq->qpair.id, strerror(-rc));
	rq->qp = NULL;
	n = qpair_account_reaped(rq);
	rg->stats.qpairs_reclaimed++;
	rg->stats.wrs_reclaimed += n;
	LOG_WARN("qpair %lu (qid %u, cntlid %u): reclaimed %s: the NIC still held %u send WRs "
	         "and %u receives%s; accounted as reaped (%u commands still in the core)",
	         (unsigned long)rq->qpair.id, rq->qid,
	         rq->qpair.ctrlr ? rq->qpair.ctrlr->cntlid : 0xffff,
	         rq->nic_dead ? "at once (its device failed)" : "after the reclaim bound", sends,
	         recvs, rq->gdev->srq && !last_wqe ? ", no LAST_WQE_REACHED" : "",
	         qpair_executing(rq));
	/* Requests that waited for their WRs go on to FREE; their buffers are ours again. */
	for (uint32_t i = 0; i < rq->num_reqs; i++)
		if (rq->set.reqs[i].state != RDMA_REQ_FREE)
			rdma_req_process(&rq->set.reqs[i]);
	return true;
}

static void qpair_fail_device(struct rdma_qpair *rq, bool dead, const char *why)
{
	if (rq->state == RDMA_QPAIR_GONE || rq->state == RDMA_QPAIR_NEW)
		return;
	if (dead)
		rq->nic_dead = true;
	rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_ASYNC, why);
}

void rdma_gdev_fail(struct rdma_group *rg, struct rdma_gdev *gd, int rc)
{
	struct rdma_qpair *rq;
	char why[64];

	gd->failed = true;
	rg->stats.device_errors++;
	snprintf(why, sizeof(why), "device error: poll_cq failed (%s)", strerror(-rc));
	LOG_ERR("RDMA poll group: %s on %s: every qpair on it goes to error", why,
	        gd->dev->attr.name);
	TAILQ_FOREACH(rq, &rg->qpairs, link)
	if (rq->gdev == gd)
		qpair_fail_device(rq, true, why);
}

void rdma_qpair_device_failed(struct rdma_group *rg, uint64_t qpair_id, bool dead, const char *why)
{
	struct rdma_qpair *rq;

	TAILQ_FOREACH(rq, &rg->qpairs, link)
	if (rq->qpair.id == qpair_id) {
		if (!rq->reclaimed && dead && !rq->nic_dead)
			rg->stats.device_errors++;
		qpair_fail_device(rq, dead, why);
		return;
	}
}

struct device_event_msg {
	unsigned slot;
	uint64_t qpair_id;
	bool dead;
	char why[48];
};

static void device_event_on_group(void *arg)
{
	struct device_event_msg *m = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();

	if (group && group->tgroups[m->slot])
		rdma_qpair_device_failed(rdma_group_from(group->tgroups[m->slot]), m->qpair_id,
		                         m->dead, m->why);
	free(m);
}

void rdma_transport_device_event(struct rdma_transport *rt, struct rdma_device *dev,
                                 const struct rdma_prov_async_event *ev)
{
	/* A fatal device gives nothing back; after CQ_ERR / PORT_ERR flushes may still come. */
	bool dead = ev->type == RDMA_PROV_ASYNC_DEVICE_FATAL;
	struct rdma_qpair *rq;
	char why[48];

	snprintf(why, sizeof(why), "device %s", rdma_prov_async_event_name(ev->type));
	LOG_ERR("RDMA: %s on %s: every qpair on the device goes to error", why, dev->attr.name);
	TAILQ_FOREACH(rq, &rt->conns, conn_link)
	{
		struct device_event_msg *m;

		/* As CM events: only qpairs a group owns (its thread finds them or not). */
		if (rq->dev != dev || !rq->qpair.group)
			continue;
		m = calloc(1, sizeof(*m));
		if (!m) {
			LOG_ERR("qpair %lu: no memory to forward %s", (unsigned long)rq->qpair.id,
			        why);
			continue;
		}
		m->slot = rt->base.slot;
		m->qpair_id = rq->qpair.id;
		m->dead = dead;
		unvmf_strlcpy(m->why, why, sizeof(m->why));
		if (unvmf_thread_send_msg(rq->qpair.group->thread, device_event_on_group, m) != 0)
			free(m);
	}
}
