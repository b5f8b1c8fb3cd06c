/*
 * sim: when the NIC touches memory, and who may own it meanwhile.
 *
 * Late data (opts.late_data_max > 0). A real NIC reads the local source of
 * an RDMA WRITE and writes the local destination of an RDMA READ at any time
 * between the post and the completion, and a retransmission does it again
 * (Soft-RoCE on Linux 6.12 runs its requester and completer from a
 * workqueue: the copy happens well after ibv_post_send returned). Here an
 * executed READ/WRITE moves its bytes at a seeded later step, again at its
 * completion when it "retransmits" (opts.retransmit_pct), and in any case
 * before its completion lands. A WRITE's bytes land at the peer before the
 * next WR of its QP executes (RC order), so the response SEND that follows
 * still finds the data in place; a READ's bytes land only by its own
 * completion. A consumer that reuses memory between the post and the reaped
 * completion sees its bytes changed (or its new bytes sent) under it.
 *
 * Ownership (opts.strict_ownership). A buffer a posted WR writes (READ
 * destination, receive) must not be named by any other WR the NIC holds,
 * on any QP or SRQ of the PD; a buffer a WRITE/SEND reads must not be the
 * destination of another WR the NIC holds. "Holds" runs from the post until
 * the completion is polled. The first violation is kept as text
 * (rdma_sim_fabric_violation) for the caller to fail on.
 */
#include <stdio.h>
#include <string.h>

#include "provider_sim_internal.h"

static struct sim_slot *slot_at(struct sim_wq *wq, uint64_t idx)
{
	return &wq->slots[idx % wq->cap];
}

static struct rdma_prov_sge *sges_at(struct sim_wq *wq, uint64_t idx)
{
	return &wq->sges[(idx % wq->cap) * wq->max_sge];
}

void sim_data_defer(struct rdma_prov_qp *qp, struct sim_slot *s)
{
	struct rdma_sim_fabric *f = qp->fabric;

	s->data_pending = true;
	s->data_at = f->now + sim_rand_upto(f, f->opts.late_data_max);
	s->data_again = sim_rand_upto(f, 99) < f->opts.retransmit_pct;
}

/* Moves the bytes of the READ/WRITE at idx now: the peer's MR is checked again. */
static void slot_land(struct rdma_prov_qp *qp, uint64_t idx)
{
	struct sim_slot *s = slot_at(&qp->sq, idx);
	struct rdma_prov_sge *sg = sges_at(&qp->sq, idx);
	bool read = s->opcode == RDMA_PROV_WR_RDMA_READ;
	uint64_t len = sim_sges_len(sg, s->num_sge);
	struct rdma_prov_sge remote = {.addr = s->remote_addr, .length = (uint32_t)len};
	struct rdma_prov_mr *mr;

	s->data_pending = false;
	if (qp->peer == NULL)
		return;
	mr = sim_mr_find(qp->peer->pd, s->rkey, true);
	/* The peer let go of the memory (deregistered, invalidated): nothing to land in. */
	if (!sim_mr_covers(mr, s->remote_addr, len) || !sim_sges_ok(qp->pd, sg, s->num_sge, read))
		return;
	if (read)
		sim_sg_copy(sg, s->num_sge, &remote, 1, len);
	else
		sim_sg_copy(&remote, 1, sg, s->num_sge, len);
}

static bool slot_has_data(const struct sim_slot *s)
{
	return s->data_pending || s->data_again;
}

/* Last landing of idx (its completion is about to land, or its peer goes). */
static void slot_land_final(struct rdma_prov_qp *qp, uint64_t idx)
{
	struct sim_slot *s = slot_at(&qp->sq, idx);

	if (!slot_has_data(s))
		return;
	/* A WR that ended in error moved nothing we promise anything about. */
	if (s->wc.status == RDMA_PROV_WC_SUCCESS)
		slot_land(qp, idx);
	s->data_pending = false;
	s->data_again = false;
}

void sim_data_step(struct rdma_prov_qp *qp)
{
	struct rdma_sim_fabric *f = qp->fabric;

	for (uint64_t i = qp->sq.deliver; i < qp->sq.exec; i++) {
		struct sim_slot *s = slot_at(&qp->sq, i);

		if (s->data_pending && s->data_at <= f->now && s->wc.status == RDMA_PROV_WC_SUCCESS)
			slot_land(qp, i);
	}
}

void sim_data_fence(struct rdma_prov_qp *qp)
{
	for (uint64_t i = qp->sq.deliver; i < qp->sq.exec; i++)
		if (slot_at(&qp->sq, i)->opcode == RDMA_PROV_WR_RDMA_WRITE)
			slot_land_final(qp, i);
}

void sim_data_deliver(struct rdma_prov_qp *qp, uint64_t idx)
{
	slot_land_final(qp, idx);
}

void sim_data_land_all(struct rdma_prov_qp *qp)
{
	for (uint64_t i = qp->sq.deliver; i < qp->sq.exec; i++)
		slot_land_final(qp, i);
}

/* --- ownership --- */

/* Whether [a, a+alen) and any SGE of the list overlap. */
static bool sges_overlap(uint64_t a, uint64_t alen, const struct rdma_prov_sge *sg, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a < sg[i].addr + sg[i].length && sg[i].addr < a + alen)
			return true;
	return false;
}

static bool opcode_writes_local(enum rdma_prov_wr_opcode op)
{
	return op == RDMA_PROV_WR_RDMA_READ || op == RDMA_PROV_WR_RECV;
}

static bool opcode_reads_local(enum rdma_prov_wr_opcode op)
{
	return op == RDMA_PROV_WR_RDMA_WRITE || op == RDMA_PROV_WR_SEND ||
	       op == RDMA_PROV_WR_SEND_WITH_INV;
}

/*
 * The WR of wq (from index first) that the NIC holds and that conflicts with
 * [addr, addr+len) used as op; -1 if none.
 */
static int64_t wq_conflict(struct sim_wq *wq, uint64_t first, bool recv, uint64_t addr,
                           uint64_t len, enum rdma_prov_wr_opcode op)
{
	for (uint64_t i = first; i < wq->tail; i++) {
		const struct sim_slot *s = slot_at(wq, i);
		enum rdma_prov_wr_opcode other = recv ? RDMA_PROV_WR_RECV : s->opcode;

		if (s->state == SIM_SLOT_NO_CQE)
			continue;
		if (!opcode_writes_local(op) && !opcode_writes_local(other))
			continue;
		if (sges_overlap(addr, len, sges_at(wq, i), s->num_sge))
			return (int64_t)i;
	}
	return -1;
}

static const char *op_name(enum rdma_prov_wr_opcode op)
{
	switch (op) {
	case RDMA_PROV_WR_SEND:
		return "SEND";
	case RDMA_PROV_WR_SEND_WITH_INV:
		return "SEND_WITH_INV";
	case RDMA_PROV_WR_RDMA_WRITE:
		return "RDMA_WRITE";
	case RDMA_PROV_WR_RDMA_READ:
		return "RDMA_READ";
	case RDMA_PROV_WR_RECV:
		return "RECV";
	default:
		return "?";
	}
}

static void violation_set(struct rdma_sim_fabric *f, enum rdma_prov_wr_opcode op, uint64_t wr_id,
                          uint64_t addr, enum rdma_prov_wr_opcode other, uint64_t other_id,
                          const char *where)
{
	snprintf(f->violation, sizeof(f->violation),
	         "step %lu: %s wr_id 0x%lx names bytes at 0x%lx that %s wr_id 0x%lx %s still "
	         "holds (posted, completion not polled)",
	         (unsigned long)f->now, op_name(op), (unsigned long)wr_id, (unsigned long)addr,
	         op_name(other), (unsigned long)other_id, where);
}

void sim_data_check_post(struct rdma_prov_pd *pd, enum rdma_prov_wr_opcode op, uint64_t wr_id,
                         const struct rdma_prov_sge *sg, uint32_t n)
{
	struct rdma_sim_fabric *f = pd->dev->node->fabric;
	struct rdma_prov_qp *qp;
	struct rdma_prov_srq *srq;
	int64_t hit;

	if (!f->opts.strict_ownership || f->violation[0])
		return;
	if (!opcode_writes_local(op) && !opcode_reads_local(op))
		return;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t a = sg[k].addr, len = sg[k].length;

		if (len == 0)
			continue;
		TAILQ_FOREACH(qp, &f->qps, link)
		{
			if (qp->pd != pd)
				continue;
			hit = wq_conflict(&qp->sq, qp->sq.head, false, a, len, op);
			if (hit >= 0) {
				const struct sim_slot *s = slot_at(&qp->sq, (uint64_t)hit);

				violation_set(f, op, wr_id, a, s->opcode, s->wr_id,
				              "of a send queue");
				return;
			}
			hit = wq_conflict(&qp->rq, qp->rq.head, true, a, len, op);
			if (hit >= 0) {
				violation_set(f, op, wr_id, a, RDMA_PROV_WR_RECV,
				              slot_at(&qp->rq, (uint64_t)hit)->wr_id,
				              "of a receive queue");
				return;
			}
		}
		TAILQ_FOREACH(srq, &f->srqs, link)
		{
			if (srq->pd != pd)
				continue;
			hit = wq_conflict(&srq->wq, srq->wq.exec, true, a, len, op);
			if (hit >= 0) {
				violation_set(f, op, wr_id, a, RDMA_PROV_WR_RECV,
				              slot_at(&srq->wq, (uint64_t)hit)->wr_id, "of an SRQ");
				return;
			}
		}
	}
}

const char *rdma_sim_fabric_violation(const struct rdma_sim_fabric *f)
{
	SIM_LOCKED();
	return f->violation[0] ? f->violation : NULL;
}

int rdma_sim_dup_next_cqe(struct rdma_prov_qp *qp)
{
	SIM_LOCKED();
	qp->dup_next_cqe = true;
	return 0;
}
