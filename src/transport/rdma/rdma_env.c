/*
 * The state machine's services (struct rdma_req_env) for one qpair: capsule
 * parsing, data buffers, RDMA READ batches under the negotiated read depth,
 * responses (RDMA WRITEs + SEND / SEND with Invalidate), receives.
 *
 * Every send WR is signaled, so each one is answered by exactly one
 * completion and rdma_req.wr_outstanding counts what the NIC holds exactly.
 * Thread: the qpair's poll group.
 */
#include "transport/rdma/rdma_internal.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct rdma_req_ext *ext_of(struct rdma_qpair *rq, struct rdma_req *req)
{
	return &rq->ext[req->index];
}

static uint32_t sq_room(const struct rdma_qpair *rq)
{
	return rq->sq_depth - rq->sq_used;
}

static int env_parse(void *ctx, struct rdma_req *req)
{
	struct rdma_qpair *rq = ctx;
	struct rdma_recv *recv = req->recv;
	const struct unvmf_transport_opts *o = &rq->rt->base.opts;
	struct rdma_capsule_limits lim = {.max_io_size = o->max_io_size,
	                                  .max_sgl = RDMA_MAX_SGL_DESCRIPTORS};
	int rc;

	req->core.qpair = &rq->qpair;
	rc = rdma_capsule_parse(req, recv->buf, recv->byte_len, &lim);
	if (rc < 0) {
		LOG_ERR("qpair %lu: capsule of %u bytes is too short", (unsigned long)rq->qpair.id,
		        recv->byte_len);
		return rc;
	}
	/* Receives are parsed in submission order: the core pairs fused commands from here. */
	if (rc == 0)
		unvmf_req_fused_arrive(&req->core);
	if (rc > 0)
		LOG_INFO("qpair %lu: cid %u opc 0x%02x: bad SGL (sc 0x%02x)",
		         (unsigned long)rq->qpair.id, req->core.cmd.cid, req->core.cmd.opc,
		         req->core.rsp.status.s.sc);
	return rc;
}

void rdma_env_ownership_violation(struct rdma_qpair *rq, const char *what)
{
	char why[64];

	if (!rq->group->stats.ownership_violations++ && !rq->group->stats.invariant_violations)
		unvmf_strlcpy(rq->group->first_violation, what, sizeof(rq->group->first_violation));
	LOG_ERR("qpair %lu (qid %u, cntlid %u): ownership violation: %s",
	        (unsigned long)rq->qpair.id, rq->qid,
	        rq->qpair.ctrlr ? rq->qpair.ctrlr->cntlid : 0xffff, what);
	snprintf(why, sizeof(why), "ownership: %s", what);
	rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, why);
}

void rdma_env_invariant_violation(struct rdma_group *rg, struct rdma_qpair *rq, const char *what)
{
	char why[64];

	if (!rg->stats.ownership_violations && !rg->stats.invariant_violations)
		unvmf_strlcpy(rg->first_violation, what, sizeof(rg->first_violation));
	rg->stats.invariant_violations++;
	if (!rq) {
		LOG_ERR("RDMA poll group: invariant violation: %s", what);
		return;
	}
	LOG_ERR("qpair %lu (qid %u, cntlid %u): invariant violation: %s",
	        (unsigned long)rq->qpair.id, rq->qid,
	        rq->qpair.ctrlr ? rq->qpair.ctrlr->cntlid : 0xffff, what);
	snprintf(why, sizeof(why), "invariant: %s", what);
	rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, why);
}

static void env_invariant(void *ctx, const char *what)
{
	struct rdma_qpair *rq = ctx;

	rdma_env_invariant_violation(rq->group, rq, what);
}

/*
 * Every buffer a request gets is claimed under a lease no other request
 * ever had: a buffer the cache hands out while someone holds it fails here,
 * not as another host's data on the wire.
 */
static int buffers_claim(struct rdma_qpair *rq, struct rdma_req *req, struct rdma_req_ext *ext,
                         uint32_t n)
{
	struct unvmf_buf_pool *pool = &rq->rt->pool;
	struct rdma_group *rg = rq->group;

	ext->lease = rg->lease_base | (++rg->lease_seq & ((1ull << 40) - 1));
	for (uint32_t i = 0; i < n; i++) {
		if (unvmf_buf_claim(pool, req->bufs[i], ext->lease) == 0)
			continue;
		/* bufs[i] is someone else's: give back only what we claimed. */
		for (uint32_t k = 0; k < i; k++)
			unvmf_buf_release(pool, req->bufs[k], ext->lease);
		unvmf_buf_cache_put(&rg->cache, req->bufs, i);
		if (n > i + 1)
			unvmf_buf_cache_put(&rg->cache, &req->bufs[i + 1], n - i - 1);
		/* The copy we got was a phantom: its owner gives the buffer back, not us. */
		rg->cache.outstanding--;
		ext->lease = 0;
		rdma_env_ownership_violation(rq,
		                             "the pool handed out a buffer another request holds");
		return -EFAULT;
	}
	return 0;
}

static int env_get_buffers(void *ctx, struct rdma_req *req)
{
	struct rdma_qpair *rq = ctx;
	struct rdma_req_ext *ext = ext_of(rq, req);
	int n = unvmf_buf_cache_carve(&rq->group->cache, req->core.length,
	                              rq->rt->base.opts.io_unit_size, req->bufs, req->core.iov,
	                              UNVMF_MAX_IOV);
	int rc;

	if (n < 0)
		return n == -ENOMEM ? -EAGAIN : n;
	rc = buffers_claim(rq, req, ext, (uint32_t)n);
	if (rc)
		return rc;
	req->num_bufs = (uint32_t)n;
	req->core.iovcnt = n;
	ext->num_segs = rdma_capsule_plan(req, ext->segs, RDMA_MAX_SEGS);
	req->reads_total = req->core.xfer == UNVMF_XFER_HOST_TO_CONTROLLER ? ext->num_segs : 0;
	req->reads_posted = 0;
	return 0;
}

static void env_put_buffers(void *ctx, struct rdma_req *req)
{
	struct rdma_qpair *rq = ctx;
	struct rdma_req_ext *ext = ext_of(rq, req);
	uint32_t kept = 0;

	for (uint32_t i = 0; i < req->num_bufs; i++) {
		if (unvmf_buf_release(&rq->rt->pool, req->bufs[i], ext->lease) == 0) {
			req->bufs[kept++] = req->bufs[i];
			continue;
		}
		/* Not ours (any more): the pool must not get it back from us. */
		rdma_env_ownership_violation(rq, "a request gave back a buffer it does not hold");
	}
	unvmf_buf_cache_put(&rq->group->cache, req->bufs, kept);
	/* What we did not give back is not ours to give: stop counting it as handed out. */
	rq->group->cache.outstanding -= req->num_bufs - kept;
	ext->lease = 0;
	req->num_bufs = 0;
	req->core.iovcnt = 0;
}

/* Every piece of a READ/WRITE names memory of a buffer the request holds. */
static bool segs_owned(struct rdma_qpair *rq, const struct rdma_req_ext *ext, uint32_t first,
                       uint32_t n)
{
	for (uint32_t i = first; i < first + n; i++)
		if (!unvmf_buf_owned(&rq->rt->pool, ext->segs[i].local, ext->segs[i].len,
		                     ext->lease)) {
			rdma_env_ownership_violation(
			    rq, "a READ/WRITE names a buffer its request does not hold");
			return false;
		}
	return true;
}

static uint32_t env_read_credits(void *ctx)
{
	struct rdma_qpair *rq = ctx;
	uint32_t credits = rq->read_depth - rq->reads_inflight;

	return UNVMF_MIN(credits, sq_room(rq));
}

static void wr_fill(struct rdma_prov_send_wr *wr, struct rdma_prov_sge *sge, uint64_t wr_id,
                    enum rdma_prov_wr_opcode opcode)
{
	memset(wr, 0, sizeof(*wr));
	wr->wr_id = wr_id;
	wr->opcode = opcode;
	wr->sg_list = sge;
	wr->num_sge = 1;
	wr->signaled = true;
}

/* Posts the chain wrs[0..n); returns how many the provider took. */
static uint32_t post_chain(struct rdma_qpair *rq, uint32_t n, int *rc_out)
{
	struct rdma_prov_send_wr *bad = NULL;
	uint32_t posted = n;
	int rc;

	for (uint32_t i = 0; i + 1 < n; i++)
		rq->wrs[i].next = &rq->wrs[i + 1];
	rq->wrs[n - 1].next = NULL;
	rc = rq->rt->prov->qp_post_send(rq->qp, rq->wrs, &bad);
	if (rc) {
		posted = bad ? (uint32_t)(bad - rq->wrs) : 0;
		LOG_ERR("qpair %lu: post_send of %u WRs failed after %u: %s",
		        (unsigned long)rq->qpair.id, n, posted, strerror(-rc));
	}
	rq->sq_used += posted;
	*rc_out = rc;
	return posted;
}

static int env_post_reads(void *ctx, struct rdma_req *req, uint32_t n)
{
	struct rdma_qpair *rq = ctx;
	struct rdma_req_ext *ext = ext_of(rq, req);
	uint32_t lkey = rq->rt->prov->mr_lkey(rq->dev->pool_mr);
	uint32_t posted;
	int rc;

	UNVMF_ASSERT(req->reads_posted + n <= ext->num_segs);
	if (!segs_owned(rq, ext, req->reads_posted, n))
		return -EFAULT;
	for (uint32_t i = 0; i < n; i++) {
		const struct rdma_seg *s = &ext->segs[req->reads_posted + i];

		rq->sges[i] =
		    (struct rdma_prov_sge){.addr = s->local, .length = s->len, .lkey = lkey};
		wr_fill(&rq->wrs[i], &rq->sges[i], rdma_wrid_req(ext, RDMA_WRID_READ),
		        RDMA_PROV_WR_RDMA_READ);
		rq->wrs[i].remote_addr = s->remote;
		rq->wrs[i].rkey = s->rkey;
	}
	posted = post_chain(rq, n, &rc);
	rq->reads_inflight += posted;
	rq->group->stats.reads_posted += posted;
	if (rc && posted > 0) {
		/* The ones before the failure are the NIC's: the request waits for them. */
		rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, "posting RDMA READs failed");
	}
	return posted > 0 ? (int)posted : (rc ? rc : -EIO);
}

static bool env_send_room(void *ctx, uint32_t n)
{
	return sq_room(ctx) >= n;
}

/*
 * The pieces that carry the command's data: core.length is what the core
 * left of the transfer (a read trims it to NLB when the SGL is longer). The
 * rest of the buffers holds whatever their previous owners left there, and
 * must not leave the target. *last_len: the length of the last piece.
 */
static uint32_t write_pieces(const struct rdma_req_ext *ext, uint32_t length, uint32_t *last_len)
{
	uint32_t n = 0;

	*last_len = 0;
	while (n < ext->num_segs && length > 0) {
		*last_len = UNVMF_MIN(length, ext->segs[n].len);
		length -= *last_len;
		n++;
	}
	return n;
}

static int env_post_response(void *ctx, struct rdma_req *req)
{
	struct rdma_qpair *rq = ctx;
	struct rdma_req_ext *ext = ext_of(rq, req);
	const struct rdma_provider *prov = rq->rt->prov;
	uint32_t writes = 0, last_len = 0, n, posted;
	int rc;

	if (req->core.xfer == UNVMF_XFER_CONTROLLER_TO_HOST && req->num_bufs > 0 &&
	    req->core.rsp.status.raw == 0)
		writes = write_pieces(ext, req->core.length, &last_len);
	if (sq_room(rq) < writes + 1)
		return RDMA_POST_NO_ROOM;
	if (writes && !segs_owned(rq, ext, 0, writes))
		return RDMA_POST_FAILED;
	if (writes) {
		uint32_t lkey = prov->mr_lkey(rq->dev->pool_mr);

		for (uint32_t i = 0; i < writes; i++) {
			const struct rdma_seg *s = &ext->segs[i];

			rq->sges[i] =
			    (struct rdma_prov_sge){.addr = s->local,
			                           .length = i + 1 < writes ? s->len : last_len,
			                           .lkey = lkey};
			wr_fill(&rq->wrs[i], &rq->sges[i], rdma_wrid_req(ext, RDMA_WRID_WRITE),
			        RDMA_PROV_WR_RDMA_WRITE);
			rq->wrs[i].remote_addr = s->remote;
			rq->wrs[i].rkey = s->rkey;
		}
	}
	*ext->rsp = req->core.rsp;
	rq->sges[writes] = (struct rdma_prov_sge){.addr = (uint64_t)(uintptr_t)ext->rsp,
	                                          .length = sizeof(*ext->rsp),
	                                          .lkey = prov->mr_lkey(rq->rsp_mr)};
	wr_fill(&rq->wrs[writes], &rq->sges[writes], rdma_wrid_req(ext, RDMA_WRID_SEND),
	        req->invalidate ? RDMA_PROV_WR_SEND_WITH_INV : RDMA_PROV_WR_SEND);
	rq->wrs[writes].invalidate_rkey = req->invalidate ? req->inval_rkey : 0;
	n = writes + 1;
	posted = post_chain(rq, n, &rc);
	rq->group->stats.writes_posted += UNVMF_MIN(posted, writes);
	if (posted == n) {
		rq->group->stats.sends_posted++;
		return (int)writes;
	}
	/*
	 * Part of the chain is the NIC's: account for it here so its completions
	 * find counts to decrement; the state machine then waits in COMPLETING.
	 */
	req->wr_outstanding[RDMA_WR_WRITE] += posted;
	rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, "posting the response failed");
	/* Whatever the provider said (even -EAGAIN): this is not "no room, wait". */
	return RDMA_POST_FAILED;
}

static void env_execute(void *ctx, struct rdma_req *req)
{
	unvmf_req_exec(&req->core);
}

static void env_reject(void *ctx, struct rdma_req *req, uint8_t sct, uint8_t sc)
{
	unvmf_req_reject(&req->core, sct, sc);
}

static void env_release_recv(void *ctx, struct rdma_req *req)
{
	rdma_env_recv_release(ctx, req->recv);
}

static bool env_in_error(void *ctx)
{
	struct rdma_qpair *rq = ctx;

	return rq->state != RDMA_QPAIR_ACTIVE;
}

static void env_fail(void *ctx, enum rdma_req_event cause, const char *why)
{
	rdma_qpair_set_error(ctx, cause, why);
}

static void env_trapped(void *ctx, struct rdma_req *req)
{
	struct rdma_qpair *rq = ctx;
	struct rdma_fault_trap *trap = &rq->rt->trap;
	int want = (int)req->state;
	char why[64];

	if (rq->state != RDMA_QPAIR_ACTIVE)
		return;
	/* Pairs with the release in rdma_transport_arm_trap: the filter is published. */
	atomic_thread_fence(memory_order_acquire);
	if ((trap->qpair_id && trap->qpair_id != rq->qpair.id) ||
	    (trap->qid >= 0 && trap->qid != rq->qid) ||
	    (trap->cntlid >= 0 && (!rq->qpair.ctrlr || rq->qpair.ctrlr->cntlid != trap->cntlid)))
		return;
	/* One shot across every poll group: whoever disarms it fires it. */
	if (!atomic_compare_exchange_strong(&trap->state, &want, -1))
		return;
	rq->group->stats.faults_fired++;
	snprintf(why, sizeof(why), "fault injection: a request reached %s",
	         rdma_req_state_name(req->state));
	LOG_WARN("qpair %lu: %s (request %u cid %u)", (unsigned long)rq->qpair.id, why, req->index,
	         req->core.cmd.cid);
	rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_INJECT, why);
	rdma_req_record(req, RDMA_EV_QP_ERR_BY_INJECT);
}

void rdma_env_init(struct rdma_qpair *rq)
{
	rq->env = (struct rdma_req_env){
	    .ctx = rq,
	    .parse = env_parse,
	    .get_buffers = env_get_buffers,
	    .put_buffers = env_put_buffers,
	    .read_credits = env_read_credits,
	    .post_reads = env_post_reads,
	    .send_room = env_send_room,
	    .post_response = env_post_response,
	    .execute = env_execute,
	    .reject = env_reject,
	    .release_recv = env_release_recv,
	    .in_error = env_in_error,
	    .fail = env_fail,
	    .trapped = env_trapped,
	    .invariant = env_invariant,
	};
}

/* rq may be NULL for an SRQ receive whose qpair is gone. */
void rdma_env_recv_release(struct rdma_qpair *rq, struct rdma_recv *recv)
{
	struct rdma_prov_recv_wr *bad = NULL;
	const struct rdma_provider *prov;
	int rc;

	recv->wr.next = NULL;
	if (recv->posted) {
		/* Posting it twice would let two capsules land in one buffer. */
		if (rq)
			rdma_env_ownership_violation(rq, "a receive already posted was given back");
		else
			LOG_ERR("poll group: a receive already posted was given back");
		return;
	}
	if (recv->gdev) {
		struct rdma_gdev *gd = recv->gdev;

		prov = gd->group->rt->prov;

		/* SRQ receives are the group's: back to the SRQ whatever the qpair does. */
		recv->qpair = NULL;
		rc = prov->srq_post_recv(gd->srq, &recv->wr, &bad);
		if (rc) {
			LOG_ERR("poll group: SRQ repost failed: %s", strerror(-rc));
			return;
		}
		recv->posted = true;
		gd->recvs_posted++;
		return;
	}
	/* Own RQ: a qpair in error keeps it (nothing more should arrive). */
	if (rq->state != RDMA_QPAIR_ACTIVE)
		return;
	prov = rq->rt->prov;
	rc = prov->qp_post_recv(rq->qp, &recv->wr, &bad);
	if (rc) {
		rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, "reposting a receive failed");
		return;
	}
	recv->posted = true;
	rq->recvs_posted++;
}

/*
 * A capsule waits here only while every request is taken. A host may send a
 * command once it has the response of an earlier one, and a request lets go
 * of its capsule only when its response SEND has completed, so up to the
 * queue size may wait: one per request whose response is on its way. More
 * means the host ignored the queue size it asked for; parking them would let
 * one qpair hold the group's SRQ receives, so the qpair ends instead.
 */
static bool recv_beyond_queue(struct rdma_qpair *rq, struct rdma_recv *recv)
{
	char why[64];

	if (rq->incoming_len < rq->num_reqs)
		return false;
	rq->group->stats.capsules_beyond_queue++;
	LOG_ERR("qpair %lu (qid %u, host %s, peer %s:%s): protocol violation: more than %u "
	        "capsules beyond the queue size outstanding: closing",
	        (unsigned long)rq->qpair.id, rq->qid,
	        rq->qpair.ctrlr ? rq->qpair.ctrlr->hostnqn : "-", rq->qpair.peer.traddr,
	        rq->qpair.peer.trsvcid, rq->num_reqs);
	snprintf(why, sizeof(why), "protocol: capsules beyond the queue size (%u)", rq->num_reqs);
	rdma_qpair_set_error(rq, RDMA_EV_QP_ERR_BY_LOCAL, why);
	rdma_env_recv_release(rq, recv);
	return true;
}

void rdma_env_recv(struct rdma_qpair *rq, struct rdma_recv *recv)
{
	struct rdma_req *req;

	recv->qpair = rq;
	if (rq->state != RDMA_QPAIR_ACTIVE) {
		rdma_env_recv_release(rq, recv);
		return;
	}
	if (!TAILQ_EMPTY(&rq->incoming) || !(req = rdma_req_bind(&rq->set, recv))) {
		if (recv_beyond_queue(rq, recv))
			return;
		/* A response is on its way to the host: keep the order, wait for its request. */
		TAILQ_INSERT_TAIL(&rq->incoming, recv, link);
		rq->incoming_len++;
		rq->group->stats.recv_no_free_request++;
		return;
	}
	rdma_req_process(req);
}

void rdma_env_bind_incoming(struct rdma_qpair *rq)
{
	struct rdma_recv *recv;

	while ((recv = TAILQ_FIRST(&rq->incoming))) {
		struct rdma_req *req;

		if (rq->state != RDMA_QPAIR_ACTIVE) {
			TAILQ_REMOVE(&rq->incoming, recv, link);
			rq->incoming_len--;
			rdma_env_recv_release(rq, recv);
			continue;
		}
		req = rdma_req_bind(&rq->set, recv);
		if (!req)
			return;
		TAILQ_REMOVE(&rq->incoming, recv, link);
		rq->incoming_len--;
		rdma_req_process(req);
	}
}

void rdma_env_req_complete(struct unvmf_req *ureq)
{
	rdma_req_exec_done(rdma_req_from_core(ureq));
}
