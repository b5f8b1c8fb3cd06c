/*
 * RDMA poll group: one CQ per device shared by every QP of the group, one
 * SRQ per device (unless no_srq), the buffer cache, and the poll that
 * dispatches completions by wr_id (pointer | type, see rdma_internal.h).
 *
 * One poll: reap completions (each goes to its receive or request), bind
 * waiting receives, retry pending queues, drive qpairs in error toward
 * destruction, then (debug builds) check every invariant of
 * docs/RDMA-STATE-MACHINE.md.
 * Thread: the group's reactor.
 */
#include "transport/rdma/rdma_internal.h"
#include "reactor/reactor.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

struct rdma_gdev *rdma_group_gdev(struct rdma_group *rg, struct rdma_device *dev)
{
	for (uint32_t i = 0; i < rg->rt->num_devs; i++) {
		if (rg->gdevs[i].dev == dev)
			return &rg->gdevs[i];
	}
	return NULL;
}

static int gdev_srq_init(struct rdma_gdev *gd, uint32_t depth)
{
	struct rdma_transport *rt = gd->group->rt;
	const struct rdma_provider *prov = rt->prov;
	struct rdma_prov_recv_wr *bad = NULL;
	uint32_t csize = rt->capsule_size;
	int rc;

	rc = prov->srq_create(gd->dev->pd, depth, 1, &gd->srq);
	if (rc)
		return rc;
	gd->num_recvs = depth;
	gd->recvs = calloc(depth, sizeof(*gd->recvs));
	gd->recv_bufs = calloc(depth, csize);
	if (!gd->recvs || !gd->recv_bufs)
		return -ENOMEM;
	rc = prov->mr_reg(gd->dev->pd, gd->recv_bufs, (size_t)depth * csize,
	                  RDMA_PROV_ACCESS_LOCAL_WRITE, &gd->recv_mr);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < depth; i++) {
		struct rdma_recv *r = &gd->recvs[i];

		r->buf = gd->recv_bufs + (size_t)i * csize;
		r->gdev = gd;
		r->sge = (struct rdma_prov_sge){.addr = (uint64_t)(uintptr_t)r->buf,
		                                .length = csize,
		                                .lkey = prov->mr_lkey(gd->recv_mr)};
		r->wr =
		    (struct rdma_prov_recv_wr){.wr_id = rdma_wrid(r, RDMA_WRID_RECV),
		                               .next = i + 1 < depth ? &gd->recvs[i + 1].wr : NULL,
		                               .sg_list = &r->sge,
		                               .num_sge = 1};
	}
	rc = prov->srq_post_recv(gd->srq, &gd->recvs[0].wr, &bad);
	for (uint32_t i = 0; i < depth; i++) {
		if (rc && &gd->recvs[i].wr == bad)
			break;
		gd->recvs[i].posted = true;
		gd->recvs_posted++;
	}
	/* SRQ receives complete on this CQ too. */
	gd->cq_reserved += depth;
	return rc;
}

static void gdev_fini(struct rdma_gdev *gd)
{
	const struct rdma_provider *prov = gd->group->rt->prov;

	if (gd->srq) {
		int rc = prov->srq_destroy(gd->srq);

		if (rc)
			LOG_ERR("poll group: SRQ destroy: %s", strerror(-rc));
	}
	if (gd->recv_mr)
		prov->mr_dereg(gd->recv_mr);
	free(gd->recvs);
	free(gd->recv_bufs);
	if (gd->cq) {
		if (gd->cq_fd >= 0)
			unvmf_thread_remove_wake_fd(gd->cq_fd);
		prov->cq_destroy(gd->cq);
	}
	memset(gd, 0, sizeof(*gd));
}

static int gdev_init(struct rdma_group *rg, struct rdma_gdev *gd, struct rdma_device *dev)
{
	const struct unvmf_transport_opts *o = &rg->rt->base.opts;
	const struct rdma_provider *prov = rg->rt->prov;
	int rc;

	gd->group = rg;
	gd->dev = dev;
	gd->cq_fd = -1;
	gd->cq_size = UNVMF_MIN(unvmf_rdma_opts_const(o)->num_cqe, dev->attr.max_cqe);
	rc = prov->cq_create(dev->dev, gd->cq_size, true, &gd->cq);
	if (rc)
		return rc;
	gd->cq_fd = prov->cq_fd(gd->cq);
	if (gd->cq_fd >= 0 && unvmf_thread_add_wake_fd(gd->cq_fd) != 0)
		gd->cq_fd = -1;
	prov->cq_arm(gd->cq);
	if (!unvmf_rdma_opts_const(o)->no_srq) {
		uint32_t depth =
		    UNVMF_MIN(unvmf_rdma_opts_const(o)->max_srq_depth, dev->attr.max_srq_wr);

		if (depth >= gd->cq_size) {
			LOG_ERR("RDMA: num_cqe %u cannot hold an SRQ of %u", gd->cq_size, depth);
			return -EINVAL;
		}
		rc = gdev_srq_init(gd, depth);
		if (rc)
			return rc;
	}
	return 0;
}

struct unvmf_transport_poll_group *rdma_group_create(struct unvmf_transport *transport,
                                                     struct unvmf_poll_group *pg)
{
	struct rdma_transport *rt = (struct rdma_transport *)transport;
	struct rdma_group *rg = calloc(1, sizeof(*rg));
	int rc;

	if (!rg)
		return NULL;
	rg->rt = rt;
	rg->base.transport = transport;
	rg->base.group = pg;
	TAILQ_INIT(&rg->qpairs);
	if (unvmf_buf_cache_init(&rg->cache, &rt->pool, transport->opts.buf_cache_size) != 0)
		goto err_free;
	/* Leases of different groups never meet: each group has its own high bits. */
	rg->lease_base = (atomic_fetch_add(&rt->lease_groups, 1) + 1) << 40;
	for (uint32_t i = 0; i < rt->num_devs; i++) {
		rc = gdev_init(rg, &rg->gdevs[i], &rt->devs[i]);
		if (rc) {
			LOG_ERR("RDMA: poll group resources on %s: %s", rt->devs[i].attr.name,
			        strerror(-rc));
			goto err_fini;
		}
	}
	return &rg->base;

err_fini:
	for (uint32_t i = 0; i < rt->num_devs; i++)
		if (rg->gdevs[i].group)
			gdev_fini(&rg->gdevs[i]);
	unvmf_buf_cache_fini(&rg->cache);
err_free:
	free(rg);
	return NULL;
}

void rdma_group_destroy(struct unvmf_transport_poll_group *tgroup)
{
	struct rdma_group *rg = rdma_group_from(tgroup);

	/* The core drains every qpair before it destroys groups. */
	if (!TAILQ_EMPTY(&rg->qpairs)) {
		LOG_ERR("RDMA poll group: %lu qpairs still alive at destroy; leaking them",
		        (unsigned long)rg->stats.qpairs_current);
		return;
	}
	for (uint32_t i = 0; i < rg->rt->num_devs; i++)
		gdev_fini(&rg->gdevs[i]);
	unvmf_buf_cache_fini(&rg->cache);
	free(rg);
}

int rdma_group_add(struct unvmf_transport_poll_group *tgroup, struct unvmf_qpair *qpair)
{
	return rdma_qpair_start(rdma_group_from(tgroup), rdma_qpair_from(qpair));
}

static struct rdma_qpair *qpair_by_num(struct rdma_group *rg, uint32_t qp_num)
{
	struct rdma_qpair *rq;

	TAILQ_FOREACH(rq, &rg->qpairs, link)
	{
		if (rq->qp_num == qp_num && rq->qp)
			return rq;
	}
	return NULL;
}

static void wc_log(struct rdma_qpair *rq, const struct rdma_prov_wc *wc, enum rdma_wrid_type type,
                   const struct rdma_req *req)
{
	enum rdma_prov_qp_state st = RDMA_PROV_QPS_ERR;

	if (rq->wc_error_logged)
		return;
	/* Once per qpair: the rest are counted (a QP in ERR flushes everything it holds). */
	rq->wc_error_logged = true;
	if (rq->qp)
		rq->rt->prov->qp_query_state(rq->qp, &st);
	LOG_ERR("qpair %lu (qid %u, cntlid %u, host %s): WC error on %s: %s (%d), vendor_err "
	        "0x%x, QP %s; request %d cid %d in %s",
	        (unsigned long)rq->qpair.id, rq->qid,
	        rq->qpair.ctrlr ? rq->qpair.ctrlr->cntlid : 0xffff,
	        rq->qpair.ctrlr ? rq->qpair.ctrlr->hostnqn : "-", rdma_wrid_type_name(type),
	        rdma_prov_wc_status_name(wc->status), wc->status, wc->vendor_err,
	        rdma_prov_qp_state_name(st), req ? req->index : -1, req ? req->core.cmd.cid : -1,
	        req ? rdma_req_state_name(req->state) : "-");
}

static void wc_recv(struct rdma_group *rg, const struct rdma_prov_wc *wc, struct rdma_recv *recv)
{
	struct rdma_qpair *rq;

	if (!recv->posted) {
		/* Its buffer may be bound to a request: do not let this capsule near it. */
		if (!rg->stats.ownership_violations++)
			unvmf_strlcpy(rg->first_violation, "completion of a receive that is not posted",
			              sizeof(rg->first_violation));
		LOG_ERR("RDMA poll group: completion of a receive that is not posted (wr_id 0x%lx)",
		        (unsigned long)wc->wr_id);
		return;
	}
	recv->posted = false;
	if (recv->gdev) {
		rq = qpair_by_num(rg, wc->qp_num);
		if (unvmf_likely(recv->gdev->recvs_posted > 0))
			recv->gdev->recvs_posted--;
		else
			rdma_env_invariant_violation(rg, NULL,
			                             "SRQ receives posted went below zero");
	} else {
		rq = recv->qpair;
		if (unvmf_likely(rq->recvs_posted > 0))
			rq->recvs_posted--;
		else
			rdma_env_invariant_violation(rg, rq, "receives posted went below zero");
	}
	rdma_wc_count(&rg->wc, RDMA_WRID_RECV, wc->status);
	if (!rq) {
		/* SRQ receive of a qpair already gone: back to the SRQ. */
		recv->qpair = NULL;
		rdma_env_recv_release(NULL, recv);
		return;
	}
	rdma_wc_count(&rq->wc, RDMA_WRID_RECV, wc->status);
	if (wc->status != RDMA_PROV_WC_SUCCESS) {
		if (wc->status != RDMA_PROV_WC_WR_FLUSH_ERR)
			wc_log(rq, wc, RDMA_WRID_RECV, NULL);
		rdma_qpair_set_error(rq,
		                     wc->status == RDMA_PROV_WC_WR_FLUSH_ERR ? RDMA_EV_QP_ERR_BY_FLUSH
		                                                             : RDMA_EV_QP_ERR_BY_WC_ERROR,
		                     "receive completed in error");
		rdma_env_recv_release(rq, recv);
		return;
	}
	rg->stats.recvs++;
	recv->byte_len = wc->byte_len;
	rdma_env_recv(rq, recv);
}

static void wc_send_side(struct rdma_group *rg, const struct rdma_prov_wc *wc,
                         struct rdma_req_ext *ext, enum rdma_wrid_type type)
{
	static const enum rdma_wr_kind kind_of[RDMA_WRID_NUM_TYPES] = {
	    [RDMA_WRID_SEND] = RDMA_WR_SEND,
	    [RDMA_WRID_READ] = RDMA_WR_READ,
	    [RDMA_WRID_WRITE] = RDMA_WR_WRITE,
	};
	struct rdma_qpair *rq = ext->rq;
	struct rdma_req *req = ext->req;

	/*
	 * Only the command that posted it may be charged: a completion of an
	 * earlier command of the slot, a duplicate, or one of a kind the request
	 * has none of out would free buffers the NIC still uses. Such a
	 * completion answers no WR we count: it changes no count.
	 */
	if (rdma_wrid_gen(wc->wr_id) != (uint16_t)req->generation ||
	    req->wr_outstanding[kind_of[type]] == 0 || rq->sq_used == 0 ||
	    (type == RDMA_WRID_READ && rq->reads_inflight == 0)) {
		char what[96];

		snprintf(what, sizeof(what),
		         "%s completion for request %u of generation %u, which is "
		         "at %u with %u of that kind out",
		         rdma_wrid_type_name(type), req->index, rdma_wrid_gen(wc->wr_id),
		         (unsigned)(uint16_t)req->generation, req->wr_outstanding[kind_of[type]]);
		rdma_env_ownership_violation(rq, what);
		return;
	}
	rq->sq_used--;
	if (type == RDMA_WRID_READ)
		rq->reads_inflight--;
	rdma_wc_count(&rg->wc, type, wc->status);
	rdma_wc_count(&rq->wc, type, wc->status);
	if (wc->status != RDMA_PROV_WC_SUCCESS && wc->status != RDMA_PROV_WC_WR_FLUSH_ERR)
		wc_log(rq, wc, type, req);
	rdma_req_wr_done(req, kind_of[type], wc->status);
}

static int gdev_poll(struct rdma_group *rg, struct rdma_gdev *gd)
{
	struct rdma_prov_wc wcs[RDMA_WC_BATCH];
	int total = 0, n;

	if (gd->failed)
		return 0;
	do {
		n = rg->rt->prov->cq_poll(gd->cq, wcs, RDMA_WC_BATCH);
		if (n < 0) {
			rdma_gdev_fail(rg, gd, n);
			break;
		}
		for (int i = 0; i < n; i++) {
			const struct rdma_prov_wc *wc = &wcs[i];
			enum rdma_wrid_type type =
			    (enum rdma_wrid_type)(wc->wr_id & RDMA_WRID_TYPE_MASK);
			void *ptr = (void *)(uintptr_t)(wc->wr_id & RDMA_WRID_PTR_MASK);

			switch (type) {
			case RDMA_WRID_RECV:
				wc_recv(rg, wc, ptr);
				break;
			case RDMA_WRID_SEND:
			case RDMA_WRID_READ:
			case RDMA_WRID_WRITE:
				wc_send_side(rg, wc, ptr, type);
				break;
			default:
				LOG_ERR("RDMA poll group: completion with unknown wr_id 0x%lx",
				        (unsigned long)wc->wr_id);
				break;
			}
		}
		total += n > 0 ? n : 0;
	} while (n == RDMA_WC_BATCH);
	return total;
}

int rdma_group_poll(struct unvmf_transport_poll_group *tgroup)
{
	struct rdma_group *rg = rdma_group_from(tgroup);
	struct rdma_qpair *rq, *tmp;
	int work = 0;

	rg->stats.polls++;
	for (uint32_t i = 0; i < rg->rt->num_devs; i++) {
		struct rdma_gdev *gd = &rg->gdevs[i];
		int n = gdev_poll(rg, gd);

		if (n == 0 && !gd->failed) {
			/* Arm, then look once more: a completion between the two would not wake us.
			 */
			rg->rt->prov->cq_arm(gd->cq);
			n = gdev_poll(rg, gd);
		}
		work += n;
	}
	TAILQ_FOREACH_SAFE(rq, &rg->qpairs, link, tmp)
	{
		if (rq->state == RDMA_QPAIR_ACTIVE) {
			if (rq->incoming_len)
				rdma_env_bind_incoming(rq);
			work += rdma_req_set_process_pending(&rq->set);
			/* Buffers may come back to the pool from other groups: keep looking. */
			if (rq->set.queues[RDMA_QUEUE_PENDING_BUFFER].len)
				work++;
		}
		/* Destroyed, or waiting for its reclaim deadline: nothing else would wake us. */
		if (rq->state == RDMA_QPAIR_ERROR) {
			rdma_qpair_progress_error(rq);
			work++;
		}
	}
	/* The full sweeps: debug builds, and Release builds with UNVMF_INVARIANTS=ON. */
#if defined(UNVMF_DEBUG) || defined(UNVMF_INVARIANTS)
	UNVMF_ASSERT(rdma_group_check(rg) == 0);
#endif
	return work;
}

/*
 * With a provider that can list the WRs the NIC holds for this QP (the sim):
 * every send WR must name a request of this qpair that is not FREE or
 * COMPLETED, and each request's per-kind counts must be exactly what the NIC
 * holds for it.
 */
static int check_nic_outstanding(struct rdma_qpair *rq, uint32_t sends)
{
	static const enum rdma_wr_kind kind_of[RDMA_WRID_NUM_TYPES] = {
	    [RDMA_WRID_SEND] = RDMA_WR_SEND,
	    [RDMA_WRID_READ] = RDMA_WR_READ,
	    [RDMA_WRID_WRITE] = RDMA_WR_WRITE,
	};
	static __thread struct rdma_prov_wr_info info[2048];
	static __thread uint32_t held[1024][RDMA_WR_NUM_KINDS];
	uint32_t nsend = 0, nrecv = 0;
	int total = rq->rt->prov->qp_outstanding(rq->qp, info, (int)UNVMF_ARRAY_SIZE(info));

	if (total < 0 || total > (int)UNVMF_ARRAY_SIZE(info) || rq->num_reqs > 1024)
		return 0;
	memset(held, 0, rq->num_reqs * sizeof(held[0]));
	for (int i = 0; i < total; i++) {
		enum rdma_wrid_type type = (enum rdma_wrid_type)(info[i].wr_id & RDMA_WRID_TYPE_MASK);
		const struct rdma_req_ext *ext;
		const struct rdma_req *req;

		if (info[i].where == RDMA_PROV_WR_WHERE_UNSIGNALED_DONE)
			continue;
		if (info[i].opcode == RDMA_PROV_WR_RECV) {
			nrecv++;
			continue;
		}
		nsend++;
		ext = (const struct rdma_req_ext *)(uintptr_t)(info[i].wr_id & RDMA_WRID_PTR_MASK);
		if (type == RDMA_WRID_RECV || type >= RDMA_WRID_NUM_TYPES || ext < rq->ext ||
		    ext >= rq->ext + rq->num_reqs) {
			LOG_ERR("qpair %lu: the NIC holds send WR 0x%lx that names no request of it",
			        (unsigned long)rq->qpair.id, (unsigned long)info[i].wr_id);
			return -EFAULT;
		}
		req = ext->req;
		if (rdma_wrid_gen(info[i].wr_id) != (uint16_t)req->generation) {
			LOG_ERR(
			    "qpair %lu: the NIC holds a %s WR of request %u's generation %u; the "
			    "request is at %u",
			    (unsigned long)rq->qpair.id, rdma_wrid_type_name(type), req->index,
			    rdma_wrid_gen(info[i].wr_id), (unsigned)(uint16_t)req->generation);
			return -EFAULT;
		}
		if (req->state == RDMA_REQ_FREE || req->state == RDMA_REQ_COMPLETED) {
			LOG_ERR("qpair %lu: the NIC holds a %s WR of request %u, which is %s",
			        (unsigned long)rq->qpair.id, rdma_wrid_type_name(type), req->index,
			        rdma_req_state_name(req->state));
			return -EFAULT;
		}
		held[req->index][kind_of[type]]++;
	}
	/* SRQ receives it consumed are the group's, counted once their completion is reaped. */
	if (nsend != sends || (!rq->gdev->srq && nrecv != rq->recvs_posted)) {
		LOG_ERR("qpair %lu: the NIC holds %u send + %u receive WRs, requests account for "
		        "%u + %u",
		        (unsigned long)rq->qpair.id, nsend, nrecv, sends, rq->recvs_posted);
		return -EFAULT;
	}
	for (uint32_t i = 0; i < rq->num_reqs; i++)
		for (unsigned k = 0; k < RDMA_WR_NUM_KINDS; k++)
			if (held[i][k] != rq->set.reqs[i].wr_outstanding[k]) {
				LOG_ERR("qpair %lu: request %u counts %u WRs of kind %u, the NIC "
				        "holds %u",
				        (unsigned long)rq->qpair.id, i,
				        rq->set.reqs[i].wr_outstanding[k], k, held[i][k]);
				return -EFAULT;
			}
	return 0;
}

int rdma_group_check(struct rdma_group *rg)
{
	struct rdma_qpair *rq;
	uint64_t bufs = 0;

	TAILQ_FOREACH(rq, &rg->qpairs, link)
	{
		uint32_t wrs = 0, reads = 0;

		if (!rq->set.reqs)
			continue;
		if (rdma_req_set_check(&rq->set) != 0)
			return -EFAULT;
		for (uint32_t i = 0; i < rq->num_reqs; i++) {
			const struct rdma_req *req = &rq->set.reqs[i];

			for (unsigned k = 0; k < RDMA_WR_NUM_KINDS; k++)
				wrs += req->wr_outstanding[k];
			reads += req->wr_outstanding[RDMA_WR_READ];
			bufs += req->num_bufs;
		}
		/* The host granted read_depth: more READs in flight would overrun its responder. */
		if (rq->reads_inflight > rq->read_depth) {
			LOG_ERR("qpair %lu: %u RDMA READs in flight, the read depth is %u",
			        (unsigned long)rq->qpair.id, rq->reads_inflight, rq->read_depth);
			return -EFAULT;
		}
		if (wrs != rq->sq_used || reads != rq->reads_inflight) {
			LOG_ERR(
			    "qpair %lu: requests hold %u WRs (%u READs), the send queue %u (%u)",
			    (unsigned long)rq->qpair.id, wrs, reads, rq->sq_used,
			    rq->reads_inflight);
			return -EFAULT;
		}
		if (rq->rt->prov->qp_outstanding && rq->qp && check_nic_outstanding(rq, wrs) != 0)
			return -EFAULT;
	}
	if (bufs != rg->cache.outstanding) {
		LOG_ERR("RDMA poll group: requests hold %lu buffers, the cache handed out %lu",
		        (unsigned long)bufs, (unsigned long)rg->cache.outstanding);
		return -EFAULT;
	}
	return 0;
}
