/*
 * sim QPs: creation, posting, execution of send WRs against the peer, the
 * error/flush model and completions landing in CQs. What is modelled is
 * listed in provider.h.
 */
#include <errno.h>
#include <string.h>

#include "provider_sim_internal.h"
#include "util/log.h"

#define SIM_RETRY_FOREVER 7

/* Outcomes of executing a send WR besides a WC status. */
enum sim_exec_result {
	SIM_EXEC_RNR = -1,		/* no receive posted at the peer */
	SIM_EXEC_NO_ANSWER = -2,	/* the peer did not respond: transport retry */
};

static struct sim_slot *wq_slot(struct sim_wq *wq, uint64_t idx)
{
	return &wq->slots[idx % wq->cap];
}

static struct rdma_prov_sge *wq_sges(struct sim_wq *wq, uint64_t idx)
{
	return &wq->sges[(idx % wq->cap) * wq->max_sge];
}

static enum rdma_prov_wc_opcode wc_opcode_of(enum rdma_prov_wr_opcode op)
{
	switch (op) {
	case RDMA_PROV_WR_RDMA_WRITE:
		return RDMA_PROV_WC_RDMA_WRITE;
	case RDMA_PROV_WR_RDMA_READ:
		return RDMA_PROV_WC_RDMA_READ;
	case RDMA_PROV_WR_RECV:
		return RDMA_PROV_WC_RECV;
	default:
		return RDMA_PROV_WC_SEND;
	}
}

/* The slot at wq->exec is done: its completion lands in order after the previous one. */
static void wq_complete(struct rdma_prov_qp *qp, struct sim_wq *wq, enum rdma_prov_wc_status status,
			uint32_t byte_len, uint32_t flags, uint32_t inv_rkey)
{
	struct rdma_sim_fabric *f = qp->fabric;
	struct sim_slot *s = wq_slot(wq, wq->exec);
	uint64_t ready;

	s->wc = (struct rdma_prov_wc){
		.wr_id = s->wr_id,
		.status = status,
		.opcode = status == RDMA_PROV_WC_SUCCESS ? wc_opcode_of(s->opcode)
							 : RDMA_PROV_WC_UNKNOWN,
		.byte_len = status == RDMA_PROV_WC_SUCCESS ? byte_len : 0,
		.qp_num = qp->qpn,
		.flags = status == RDMA_PROV_WC_SUCCESS ? flags : 0,
		.invalidated_rkey = status == RDMA_PROV_WC_SUCCESS ? inv_rkey : 0,
	};
	wq->exec++;
	if (status == RDMA_PROV_WC_SUCCESS && !s->signaled) {
		s->state = SIM_SLOT_NO_CQE;
		return;
	}
	ready = f->now;
	if (status != RDMA_PROV_WC_WR_FLUSH_ERR)
		ready += sim_rand_upto(f, f->opts.cqe_delay_max);
	s->state = SIM_SLOT_DONE;
	s->ready = UNVMF_MAX(ready, wq->last_ready);
	wq->last_ready = s->ready;
}

int rdma_sim_fail_inflight(struct rdma_prov_qp *qp, enum rdma_prov_wc_status status)
{
	SIM_LOCKED();
	struct sim_wq *wq = &qp->sq;
	uint64_t i;

	if (status == RDMA_PROV_WC_SUCCESS || status >= RDMA_PROV_WC_STATUS_COUNT)
		return -EINVAL;
	for (i = wq->deliver; i < wq->exec; i++)
		if (wq_slot(wq, i)->state == SIM_SLOT_DONE)
			break;
	if (i == wq->exec)
		return -ENOENT;
	for (uint64_t j = i; j < wq->exec; j++) {
		struct sim_slot *s = wq_slot(wq, j);

		if (s->state != SIM_SLOT_DONE)
			continue;
		s->wc.status = j == i ? status : RDMA_PROV_WC_WR_FLUSH_ERR;
		s->wc.opcode = RDMA_PROV_WC_UNKNOWN;
		s->wc.byte_len = 0;
		s->wc.flags = 0;
		s->ready = qp->fabric->now;
	}
	wq->last_ready = qp->fabric->now;
	sim_qp_set_err(qp);
	return 0;
}

static void wq_flush(struct rdma_prov_qp *qp, struct sim_wq *wq)
{
	/* A silenced QP keeps its WRs: nothing executes them, nothing reports them. */
	if (qp->no_flush)
		return;
	while (wq->exec < wq->tail)
		wq_complete(qp, wq, RDMA_PROV_WC_WR_FLUSH_ERR, 0, 0, 0);
}

void sim_qp_set_err(struct rdma_prov_qp *qp)
{
	if (qp->state == RDMA_PROV_QPS_ERR)
		return;
	qp->state = RDMA_PROV_QPS_ERR;
	wq_flush(qp, &qp->sq);
	wq_flush(qp, &qp->rq);
	if (qp->srq != NULL && !qp->no_last_wqe)
		sim_async_push(qp->pd->dev, &(struct rdma_prov_async_event){
			.type = RDMA_PROV_ASYNC_QP_LAST_WQE_REACHED, .qp = qp, .qp_ctx = qp->user_ctx});
}

int rdma_sim_qp_silence(struct rdma_prov_qp *qp, bool flushes, bool last_wqe)
{
	SIM_LOCKED();
	if (!qp)
		return -EINVAL;
	qp->no_flush = !flushes;
	qp->no_last_wqe = !last_wqe;
	return 0;
}

static void qp_async(struct rdma_prov_qp *qp, enum rdma_prov_async_event_type type)
{
	sim_async_push(qp->pd->dev, &(struct rdma_prov_async_event){
					    .type = type, .qp = qp, .qp_ctx = qp->user_ctx});
}

/* --- create / destroy --- */

/* 0 = as many as allowed. */
static uint8_t rd_clamp(uint8_t want, uint8_t limit)
{
	return want == 0 ? limit : UNVMF_MIN(want, limit);
}

int sim_qp_create(struct rdma_prov_id *id, const struct rdma_prov_qp_init *init,
		  struct rdma_prov_qp **out)
{
	struct rdma_sim_fabric *f = id->ctx->fabric;
	struct rdma_prov_device *dev = id->ctx->node->dev;
	struct rdma_prov_device_attr attr;
	struct rdma_prov_qp *qp;
	bool passive;
	int rc;

	if (id->qp != NULL || (id->state != SIM_ID_ROUTE_RESOLVED && id->state != SIM_ID_REQ_RECEIVED))
		return -EINVAL;
	if (init->pd == NULL || init->send_cq == NULL || init->recv_cq == NULL ||
	    init->pd->dev != dev || init->send_cq->dev != dev || init->recv_cq->dev != dev ||
	    (init->srq != NULL && init->srq->pd->dev != dev))
		return -EINVAL;
	sim_device_query(dev, &attr);
	if (init->max_send_wr == 0 || init->max_send_wr > attr.max_qp_wr ||
	    init->max_send_sge > attr.max_sge || init->max_recv_sge > attr.max_sge ||
	    (init->srq == NULL && (init->max_recv_wr == 0 || init->max_recv_wr > attr.max_qp_wr)))
		return -EINVAL;
	if (dev->node->device_failed)
		return -EIO;
	passive = id->state == SIM_ID_REQ_RECEIVED;
	qp = calloc(1, sizeof(*qp));
	if (qp == NULL)
		return -ENOMEM;
	rc = sim_wq_init(&qp->sq, init->max_send_wr, init->max_send_sge);
	if (rc)
		goto err_free_qp;
	/* With an SRQ the receive ring only holds consumed receives until polled. */
	if (init->srq != NULL)
		rc = sim_wq_init(&qp->rq, init->srq->wq.cap * 2, init->srq->wq.max_sge);
	else
		rc = sim_wq_init(&qp->rq, init->max_recv_wr, init->max_recv_sge);
	if (rc)
		goto err_fini_sq;
	qp->fabric = f;
	qp->id = id;
	qp->pd = init->pd;
	qp->send_cq = init->send_cq;
	qp->recv_cq = init->recv_cq;
	qp->srq = init->srq;
	qp->qpn = f->next_qpn++;
	qp->max_send_sge = init->max_send_sge;
	qp->max_recv_sge = init->max_recv_sge;
	qp->timeout = init->timeout;
	qp->user_ctx = init->user_ctx;
	qp->max_rd_atomic = rd_clamp(init->max_rd_atomic, attr.max_qp_init_rd_atom);
	qp->max_dest_rd_atomic = rd_clamp(init->max_dest_rd_atomic, attr.max_qp_rd_atom);
	if (passive) {
		/* Own QP, moved to RTS now with our retry settings (vm-rig.md section 9). */
		qp->state = RDMA_PROV_QPS_RTS;
		qp->retry_cnt = UNVMF_MIN(init->retry_cnt, SIM_RETRY_FOREVER);
		qp->rnr_retry = UNVMF_MIN(init->rnr_retry, SIM_RETRY_FOREVER);
		qp->max_rd_atomic = UNVMF_MIN(qp->max_rd_atomic, id->req.initiator_depth);
		qp->max_dest_rd_atomic = UNVMF_MIN(qp->max_dest_rd_atomic, id->req.responder_resources);
	} else {
		/* Attached: RTS when the REP arrives, retries from the connect param. */
		qp->state = RDMA_PROV_QPS_INIT;
		qp->attached = true;
	}
	init->pd->refs++;
	init->send_cq->refs++;
	init->recv_cq->refs++;
	if (init->srq != NULL)
		init->srq->refs++;
	id->qp = qp;
	TAILQ_INSERT_TAIL(&f->qps, qp, link);
	f->counts.qps++;
	*out = qp;
	return 0;

err_fini_sq:
	sim_wq_fini(&qp->sq);
err_free_qp:
	free(qp);
	return rc;
}

void sim_qp_free(struct rdma_prov_qp *qp)
{
	struct rdma_sim_fabric *f = qp->fabric;

	/* Bytes the NIC still owed either side move now, while both memories exist. */
	sim_data_land_all(qp);
	if (qp->peer != NULL)
		sim_data_land_all(qp->peer);

	sim_cq_purge_qp(qp->send_cq, qp);
	sim_cq_purge_qp(qp->recv_cq, qp);
	qp->send_cq->refs--;
	qp->recv_cq->refs--;
	qp->pd->refs--;
	if (qp->srq != NULL)
		qp->srq->refs--;
	if (qp->peer != NULL && qp->peer->peer == qp)
		qp->peer->peer = NULL;
	if (qp->id != NULL)
		qp->id->qp = NULL;
	TAILQ_REMOVE(&f->qps, qp, link);
	f->counts.qps--;
	sim_wq_fini(&qp->sq);
	sim_wq_fini(&qp->rq);
	free(qp);
}

int sim_qp_destroy(struct rdma_prov_qp *qp)
{
	sim_qp_free(qp);
	return 0;
}

/* --- post --- */

int sim_qp_post_send(struct rdma_prov_qp *qp, struct rdma_prov_send_wr *wr,
		     struct rdma_prov_send_wr **bad_wr)
{
	struct rdma_sim_fabric *f = qp->fabric;
	struct sim_wq *wq = &qp->sq;

	for (; wr != NULL; wr = wr->next) {
		struct sim_slot *s;
		int rc = 0;

		if (qp->state != RDMA_PROV_QPS_RTS && qp->state != RDMA_PROV_QPS_ERR)
			rc = -EINVAL;
		else if (wr->opcode > RDMA_PROV_WR_RDMA_READ || wr->num_sge > wq->max_sge)
			rc = -EINVAL;
		else if (wq->tail - wq->head == wq->cap)
			rc = -ENOMEM;
		else if (sim_fault_match(f, qp, wr->opcode, wr->wr_id, true) != NULL)
			rc = -ENOMEM;	/* as a provider out of WQE memory would say */
		if (rc) {
			*bad_wr = wr;
			return rc;
		}
		sim_data_check_post(qp->pd, wr->opcode, wr->wr_id, wr->sg_list, wr->num_sge);
		s = wq_slot(wq, wq->tail);
		*s = (struct sim_slot){
			.wr_id = wr->wr_id,
			.opcode = wr->opcode,
			.state = SIM_SLOT_POSTED,
			.signaled = wr->signaled,
			.num_sge = wr->num_sge,
			.remote_addr = wr->remote_addr,
			.rkey = wr->rkey,
			.invalidate_rkey = wr->invalidate_rkey,
			.ready = f->now + 1 + sim_rand_upto(f, f->opts.exec_delay_max),
		};
		if (wr->num_sge)
			memcpy(wq_sges(wq, wq->tail), wr->sg_list, wr->num_sge * sizeof(*wr->sg_list));
		wq->tail++;
		/* verbs: a post to a QP in ERR succeeds and is flushed. */
		if (qp->state == RDMA_PROV_QPS_ERR)
			wq_flush(qp, wq);
	}
	return 0;
}

int sim_qp_post_recv(struct rdma_prov_qp *qp, struct rdma_prov_recv_wr *wr,
		     struct rdma_prov_recv_wr **bad_wr)
{
	struct sim_wq *wq = &qp->rq;

	for (; wr != NULL; wr = wr->next) {
		int rc = 0;

		if (qp->srq != NULL || qp->state == RDMA_PROV_QPS_RESET || wr->num_sge > wq->max_sge)
			rc = -EINVAL;
		else if (wq->tail - wq->head == wq->cap)
			rc = -ENOMEM;
		if (rc) {
			*bad_wr = wr;
			return rc;
		}
		sim_data_check_post(qp->pd, RDMA_PROV_WR_RECV, wr->wr_id, wr->sg_list, wr->num_sge);
		*wq_slot(wq, wq->tail) = (struct sim_slot){
			.wr_id = wr->wr_id,
			.opcode = RDMA_PROV_WR_RECV,
			.state = SIM_SLOT_POSTED,
			.signaled = true,
			.num_sge = wr->num_sge,
		};
		if (wr->num_sge)
			memcpy(wq_sges(wq, wq->tail), wr->sg_list, wr->num_sge * sizeof(*wr->sg_list));
		wq->tail++;
		if (qp->state == RDMA_PROV_QPS_ERR)
			wq_flush(qp, wq);
	}
	return 0;
}

int sim_qp_modify_err(struct rdma_prov_qp *qp)
{
	sim_qp_set_err(qp);
	return 0;
}

int sim_qp_query_state(struct rdma_prov_qp *qp, enum rdma_prov_qp_state *state)
{
	*state = qp->state;
	return 0;
}

uint32_t sim_qp_num(const struct rdma_prov_qp *qp)
{
	return qp->qpn;
}

void *sim_qp_get_ctx(const struct rdma_prov_qp *qp)
{
	return qp->user_ctx;
}

/* --- memory checks and copies --- */

static uint64_t sges_len(const struct rdma_prov_sge *sg, uint32_t n)
{
	uint64_t len = 0;

	for (uint32_t i = 0; i < n; i++)
		len += sg[i].length;
	return len;
}

static bool mr_covers(const struct rdma_prov_mr *mr, uint64_t addr, uint64_t len)
{
	return mr != NULL && !mr->invalidated && addr >= mr->addr && len <= mr->len &&
	       addr - mr->addr <= mr->len - len;
}

/* Local SGEs: lkeys of this PD, in bounds, LOCAL_WRITE where the NIC writes. */
static bool sges_ok(struct rdma_prov_pd *pd, const struct rdma_prov_sge *sg, uint32_t n,
		    bool write)
{
	for (uint32_t i = 0; i < n; i++) {
		struct rdma_prov_mr *mr = sim_mr_find(pd, sg[i].lkey, false);

		if (!mr_covers(mr, sg[i].addr, sg[i].length) ||
		    (write && !(mr->access & RDMA_PROV_ACCESS_LOCAL_WRITE)))
			return false;
	}
	return true;
}

/* Copies len bytes from one scatter list to another (memmove: loopback may overlap). */
static void sg_copy(const struct rdma_prov_sge *dst, uint32_t ndst, const struct rdma_prov_sge *src,
		    uint32_t nsrc, uint64_t len)
{
	uint32_t di = 0, si = 0;
	uint64_t doff = 0, soff = 0;

	while (len > 0 && di < ndst && si < nsrc) {
		uint64_t n = UNVMF_MIN(dst[di].length - doff, src[si].length - soff);

		n = UNVMF_MIN(n, len);
		memmove((void *)(uintptr_t)(dst[di].addr + doff),
			(const void *)(uintptr_t)(src[si].addr + soff), n);
		len -= n;
		doff += n;
		soff += n;
		if (doff == dst[di].length) {
			di++;
			doff = 0;
		}
		if (soff == src[si].length) {
			si++;
			soff = 0;
		}
	}
}

uint64_t sim_sges_len(const struct rdma_prov_sge *sg, uint32_t n)
{
	return sges_len(sg, n);
}

bool sim_mr_covers(const struct rdma_prov_mr *mr, uint64_t addr, uint64_t len)
{
	return mr_covers(mr, addr, len);
}

bool sim_sges_ok(struct rdma_prov_pd *pd, const struct rdma_prov_sge *sg, uint32_t n, bool write)
{
	return sges_ok(pd, sg, n, write);
}

void sim_sg_copy(const struct rdma_prov_sge *dst, uint32_t ndst, const struct rdma_prov_sge *src,
		 uint32_t nsrc, uint64_t len)
{
	sg_copy(dst, ndst, src, nsrc, len);
}

static bool peer_answers(const struct rdma_prov_qp *qp, const struct rdma_prov_qp *peer)
{
	const struct rdma_sim_node *me = qp->pd->dev->node, *them;

	if (peer == NULL)
		return false;
	them = peer->pd->dev->node;
	return me->alive && them->alive && !them->device_failed && !peer->fatal &&
	       (peer->state == RDMA_PROV_QPS_RTR || peer->state == RDMA_PROV_QPS_RTS);
}

/* --- execution --- */

/* The receive a SEND would consume at peer: on its RQ or its SRQ. */
static struct sim_slot *recv_peek(struct rdma_prov_qp *peer, struct rdma_prov_sge **sges)
{
	struct sim_wq *wq = peer->srq != NULL ? &peer->srq->wq : &peer->rq;

	if (wq->exec == wq->tail)
		return NULL;
	/* An SRQ receive needs room in the QP's ring of consumed receives. */
	if (peer->srq != NULL && peer->rq.tail - peer->rq.head == peer->rq.cap)
		return NULL;
	*sges = wq_sges(wq, wq->exec);
	return wq_slot(wq, wq->exec);
}

/* Moves the peeked receive to the slot at peer->rq.exec (from the SRQ if any). */
static void recv_take(struct rdma_prov_qp *peer)
{
	struct sim_wq *srq_wq;

	if (peer->srq == NULL)
		return;
	srq_wq = &peer->srq->wq;
	*wq_slot(&peer->rq, peer->rq.tail) = *wq_slot(srq_wq, srq_wq->exec);
	memcpy(wq_sges(&peer->rq, peer->rq.tail), wq_sges(srq_wq, srq_wq->exec),
	       srq_wq->max_sge * sizeof(struct rdma_prov_sge));
	peer->rq.tail++;
	srq_wq->exec++;
	srq_wq->head = srq_wq->exec;
}

static int exec_send(struct rdma_prov_qp *qp, struct sim_slot *s, struct rdma_prov_sge *sg,
		     struct rdma_prov_qp *peer, uint32_t *byte_len)
{
	struct rdma_sim_fabric *f = qp->fabric;
	uint64_t len = sges_len(sg, s->num_sge);
	struct rdma_prov_mr *inv = NULL;
	struct rdma_prov_sge *rsg;
	struct sim_slot *r = recv_peek(peer, &rsg);
	bool err_after = false;

	if (r == NULL)
		return SIM_EXEC_RNR;
	if (!r->fault_checked) {
		struct sim_fault *sf = sim_fault_match(f, peer, RDMA_PROV_WR_RECV, r->wr_id, false);

		r->fault_checked = true;
		if (sf != NULL && sf->f.kind == RDMA_SIM_FAULT_QP_ERR_BEFORE) {
			sim_qp_set_err(peer);
			return SIM_EXEC_NO_ANSWER;
		}
		if (sf != NULL && sf->f.kind == RDMA_SIM_FAULT_FAIL_WR) {
			recv_take(peer);
			wq_complete(peer, &peer->rq, sf->f.status, 0, 0, 0);
			sim_qp_set_err(peer);
			return SIM_EXEC_NO_ANSWER;
		}
		err_after = sf != NULL;
	}
	if (s->opcode == RDMA_PROV_WR_SEND_WITH_INV) {
		inv = sim_mr_find(peer->pd, s->invalidate_rkey, true);
		if (inv == NULL) {
			qp_async(peer, RDMA_PROV_ASYNC_QP_REQ_ERR);
			sim_qp_set_err(peer);
			return RDMA_PROV_WC_REM_INV_REQ_ERR;
		}
	}
	recv_take(peer);
	if (len > sges_len(rsg, r->num_sge)) {
		wq_complete(peer, &peer->rq, RDMA_PROV_WC_LOC_LEN_ERR, 0, 0, 0);
		sim_qp_set_err(peer);
		return RDMA_PROV_WC_REM_INV_REQ_ERR;
	}
	if (!sges_ok(peer->pd, rsg, r->num_sge, true)) {
		wq_complete(peer, &peer->rq, RDMA_PROV_WC_LOC_PROT_ERR, 0, 0, 0);
		sim_qp_set_err(peer);
		return RDMA_PROV_WC_REM_OP_ERR;
	}
	sg_copy(rsg, r->num_sge, sg, s->num_sge, len);
	if (inv != NULL)
		inv->invalidated = true;
	wq_complete(peer, &peer->rq, RDMA_PROV_WC_SUCCESS, (uint32_t)len,
		    inv != NULL ? RDMA_PROV_WC_FLAG_WITH_INV : 0, inv != NULL ? inv->rkey : 0);
	/* A passive QP hearing from its peer before ESTABLISHED was handed out. */
	if (!peer->attached && !peer->comm_est_sent && peer->id != NULL &&
	    !peer->id->est_delivered) {
		peer->comm_est_sent = true;
		qp_async(peer, RDMA_PROV_ASYNC_COMM_EST);
	}
	if (err_after)
		sim_qp_set_err(peer);
	*byte_len = (uint32_t)len;
	return RDMA_PROV_WC_SUCCESS;
}

static int exec_rdma(struct rdma_prov_qp *qp, struct sim_slot *s, struct rdma_prov_sge *sg,
		     struct rdma_prov_qp *peer, uint32_t *byte_len)
{
	bool read = s->opcode == RDMA_PROV_WR_RDMA_READ;
	uint64_t len = sges_len(sg, s->num_sge);
	struct rdma_prov_mr *mr = sim_mr_find(peer->pd, s->rkey, true);
	struct rdma_prov_sge remote = {.addr = s->remote_addr, .length = (uint32_t)len};

	if (!mr_covers(mr, s->remote_addr, len) ||
	    !(mr->access & (read ? RDMA_PROV_ACCESS_REMOTE_READ : RDMA_PROV_ACCESS_REMOTE_WRITE))) {
		qp_async(peer, RDMA_PROV_ASYNC_QP_ACCESS_ERR);
		sim_qp_set_err(peer);
		return RDMA_PROV_WC_REM_ACCESS_ERR;
	}
	if (qp->fabric->opts.late_data_max)
		sim_data_defer(qp, s);
	else if (read)
		sg_copy(sg, s->num_sge, &remote, 1, len);
	else
		sg_copy(&remote, 1, sg, s->num_sge, len);
	*byte_len = (uint32_t)len;
	return RDMA_PROV_WC_SUCCESS;
}

/* Steps a transport retry waits: the QP's ack timeout, or the fabric's fixed period. */
static uint64_t retry_period(const struct rdma_prov_qp *qp)
{
	const struct rdma_sim_fabric *f = qp->fabric;
	uint64_t ns;

	if (f->opts.step_us == 0 || qp->timeout == 0)
		return f->opts.timeout_steps;
	ns = 4096ull << UNVMF_MIN(qp->timeout, 31);
	return UNVMF_MAX(1, UNVMF_DIV_ROUND_UP(ns, (uint64_t)f->opts.step_us * 1000));
}

static int exec_retry(struct rdma_prov_qp *qp, struct sim_slot *s, bool rnr)
{
	struct rdma_sim_fabric *f = qp->fabric;

	if (rnr) {
		if (qp->rnr_retry != SIM_RETRY_FOREVER && s->rnr_retries >= qp->rnr_retry) {
			wq_complete(qp, &qp->sq, RDMA_PROV_WC_RNR_RETRY_EXC_ERR, 0, 0, 0);
			sim_qp_set_err(qp);
			return 1;
		}
		s->rnr_retries++;
		f->rnr_naks++;
		s->ready = f->now + f->opts.rnr_delay;
		return 0;
	}
	if (qp->retry_cnt != SIM_RETRY_FOREVER && s->retries > qp->retry_cnt) {
		wq_complete(qp, &qp->sq, RDMA_PROV_WC_RETRY_EXC_ERR, 0, 0, 0);
		sim_qp_set_err(qp);
		return 1;
	}
	s->retries++;
	s->ready = f->now + retry_period(qp);
	return 0;
}

/* READs of qp awaiting their response: executed, completion not landed yet. */
static uint32_t reads_unanswered(const struct rdma_prov_qp *qp)
{
	uint32_t n = 0;

	for (uint64_t i = qp->sq.deliver; i < qp->sq.exec; i++) {
		const struct sim_slot *s = &qp->sq.slots[i % qp->sq.cap];

		n += s->opcode == RDMA_PROV_WR_RDMA_READ && s->state == SIM_SLOT_DONE &&
		     s->wc.status == RDMA_PROV_WC_SUCCESS;
	}
	return n;
}

/* Tries the oldest posted send WR: 1 if it completed (any status), 0 if it waits. */
static int exec_head(struct rdma_prov_qp *qp)
{
	struct rdma_sim_fabric *f = qp->fabric;
	struct sim_slot *s = wq_slot(&qp->sq, qp->sq.exec);
	struct rdma_prov_sge *sg = wq_sges(&qp->sq, qp->sq.exec);
	bool read = s->opcode == RDMA_PROV_WR_RDMA_READ;
	uint32_t byte_len = 0;
	int rc;

	if (s->ready > f->now)
		return 0;
	/* The negotiated READ depth: a further READ waits for a response, in order. */
	if (read && qp->max_rd_atomic && reads_unanswered(qp) >= qp->max_rd_atomic)
		return 0;
	/* The NIC reads (or, for READ, validates) local memory before anything goes out. */
	if (!sges_ok(qp->pd, sg, s->num_sge, read)) {
		wq_complete(qp, &qp->sq, RDMA_PROV_WC_LOC_PROT_ERR, 0, 0, 0);
		sim_qp_set_err(qp);
		return 1;
	}
	if (!s->fault_checked) {
		struct sim_fault *sf = sim_fault_match(f, qp, s->opcode, s->wr_id, false);

		s->fault_checked = true;
		if (sf != NULL) {
			LOG_DEBUG("rdma sim: fault %d on qp 0x%x wr_id 0x%llx", sf->id, qp->qpn,
				  (unsigned long long)s->wr_id);
			switch (sf->f.kind) {
			case RDMA_SIM_FAULT_QP_ERR_BEFORE:
				sim_qp_set_err(qp);
				return 1;
			case RDMA_SIM_FAULT_FAIL_WR:
				wq_complete(qp, &qp->sq, sf->f.status, 0, 0, 0);
				sim_qp_set_err(qp);
				return 1;
			case RDMA_SIM_FAULT_QP_ERR_AFTER:
				s->fault_after = true;
				break;
			case RDMA_SIM_FAULT_POST_FAIL:
				break;	/* matched at post only */
			}
		}
	}
	/* RC order: what earlier WRITEs put at the peer is there before this WR acts. */
	sim_data_fence(qp);
	if (!peer_answers(qp, qp->peer))
		return exec_retry(qp, s, false);
	if (s->opcode == RDMA_PROV_WR_SEND || s->opcode == RDMA_PROV_WR_SEND_WITH_INV) {
		rc = exec_send(qp, s, sg, qp->peer, &byte_len);
		if (rc == SIM_EXEC_RNR || rc == SIM_EXEC_NO_ANSWER)
			return exec_retry(qp, s, rc == SIM_EXEC_RNR);
	} else {
		rc = exec_rdma(qp, s, sg, qp->peer, &byte_len);
	}
	if (s->opcode != RDMA_PROV_WR_RDMA_READ)
		byte_len = 0;
	wq_complete(qp, &qp->sq, (enum rdma_prov_wc_status)rc, byte_len, 0, 0);
	if (rc != RDMA_PROV_WC_SUCCESS || s->fault_after)
		sim_qp_set_err(qp);
	return 1;
}

int sim_qp_step_exec(struct rdma_prov_qp *qp)
{
	int work = 0;

	while (qp->state == RDMA_PROV_QPS_RTS && !qp->fatal && qp->sq.exec < qp->sq.tail &&
	       exec_head(qp))
		work++;
	return work;
}

static int wq_deliver(struct rdma_prov_qp *qp, struct sim_wq *wq, struct rdma_prov_cq *cq, bool sq)
{
	struct rdma_sim_fabric *f = qp->fabric;
	int n = 0;

	while (wq->deliver < wq->exec) {
		struct sim_slot *s = wq_slot(wq, wq->deliver);

		if (s->state == SIM_SLOT_DONE && s->ready > f->now)
			break;
		if (sq)
			sim_data_deliver(qp, wq->deliver);
		if (s->state == SIM_SLOT_DONE) {
			if (cq->count == cq->cap) {
				LOG_ERR("rdma sim: CQ overrun on qp 0x%x, completion dropped",
					qp->qpn);
				sim_async_push(cq->dev, &(struct rdma_prov_async_event){
					.type = RDMA_PROV_ASYNC_CQ_ERR, .cq = cq});
				s->state = SIM_SLOT_NO_CQE;
			} else {
				sim_cq_push(cq, &(struct sim_cqe){
					.wc = s->wc, .qp = qp, .sq = sq, .idx = wq->deliver});
				s->state = SIM_SLOT_IN_CQ;
				n++;
				if (sq && qp->dup_next_cqe && cq->count < cq->cap) {
					qp->dup_next_cqe = false;
					sim_cq_push(cq, &(struct sim_cqe){
						.wc = s->wc, .qp = qp, .sq = sq, .idx = wq->deliver});
					n++;
				}
			}
		}
		wq->deliver++;
	}
	return n;
}

int sim_qp_step_deliver(struct rdma_prov_qp *qp)
{
	return wq_deliver(qp, &qp->sq, qp->send_cq, true) +
	       wq_deliver(qp, &qp->rq, qp->recv_cq, false);
}

bool sim_qp_busy(const struct rdma_prov_qp *qp)
{
	return (qp->state == RDMA_PROV_QPS_RTS && !qp->fatal && qp->sq.exec < qp->sq.tail) ||
	       qp->sq.deliver < qp->sq.exec || qp->rq.deliver < qp->rq.exec;
}
