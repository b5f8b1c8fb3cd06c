/*
 * Hosts at the provider seam (see sim_host.h). Nothing here waits: every
 * exchange (CM, Fabrics Connect, CC.EN, I/O) is a state that the next poll
 * moves on when its event or response has arrived.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_host.h"
#include "unvmf/nvmf_spec.h"
#include "util/common.h"

#define SIM_HOSTNQN_FMT "nqn.2014-08.org.nvmexpress:uuid:5151a000-0000-0000-0000-%012u"
#define SIM_WRID_SEND 0x100000u

static void qp_set_state(struct sim_qp *q, enum sim_qstate s)
{
	q->state = s;
	q->state_since = q->h->w->step;
}

int sim_host_init(struct sim_host *h, struct sim_world *w, uint32_t index,
		  struct rdma_sim_node *node)
{
	struct rdma_prov_device *dev;
	int rc;

	h->index = index;
	h->w = w;
	h->node = node;
	h->prov = rdma_provider_get("sim");
	h->state = SIM_H_DOWN;
	rc = h->prov->ctx_open(node, &h->ctx);
	if (rc)
		return rc;
	rc = h->prov->channel_create(h->ctx, &h->ch);
	if (rc)
		return rc;
	if (h->prov->ctx_get_devices(h->ctx, &dev, 1) != 1)
		return -ENODEV;
	return h->prov->pd_alloc(dev, &h->pd);
}

void sim_host_fini(struct sim_host *h)
{
	if (h->pd)
		h->prov->pd_free(h->pd);
	if (h->ch)
		h->prov->channel_destroy(h->ch);
	if (h->ctx)
		h->prov->ctx_close(h->ctx);
}

/* ---------------- the namespace shadow ---------------- */

static uint32_t pattern_word(uint32_t nsid, uint32_t tag, uint32_t lba, uint32_t i)
{
	return (tag * 2654435761u) ^ (lba * 40503u) ^ (i * 0x9e3779b9u) ^ (nsid << 28);
}

static void pattern_fill(uint8_t *buf, uint32_t nsid, uint32_t lba, uint32_t n, uint32_t tag)
{
	for (uint32_t b = 0; b < n; b++)
		for (uint32_t i = 0; i < 128; i++) {
			uint32_t v = pattern_word(nsid, tag, lba + b, i);

			memcpy(buf + (size_t)b * 512 + i * 4, &v, 4);
		}
}

static struct sim_ns *ns_of(struct sim_world *w, uint32_t nsid)
{
	return &w->ns[(nsid - 1) % w->num_ns];
}

/*
 * Which write a block-aligned word (the first of a 512-byte block) came
 * from, for the report: pattern_word is invertible in lba (40503 is odd).
 */
static void ns_identify(struct sim_world *w, const uint8_t *block, char *out, size_t len)
{
	uint32_t word, inv = 40503u;

	memcpy(&word, block, 4);
	if (word == 0) {
		snprintf(out, len, "zeroes");
		return;
	}
	/* Newton's iteration for the inverse of 40503 modulo 2^32. */
	for (int i = 0; i < 5; i++)
		inv *= 2u - 40503u * inv;
	for (uint32_t n = 1; n <= w->num_ns; n++)
		for (uint32_t t = 1; t <= w->next_tag; t++) {
			uint32_t lba = (word ^ (t * 2654435761u) ^ (n << 28)) * inv, second;

			if (lba >= ns_of(w, n)->num_blocks)
				continue;
			memcpy(&second, block + 4, 4);
			if (second != pattern_word(n, t, lba, 1))
				continue;
			snprintf(out, len, "namespace %u block %u of write tag %u", n, lba, t);
			return;
		}
	snprintf(out, len, "0x%08x, no write's pattern", word);
}

/* Every byte of a read: the last acknowledged write's pattern, or zeroes if never written. */
static void ns_verify(struct sim_world *w, uint32_t nsid, const uint8_t *buf, uint32_t lba,
		      uint32_t n)
{
	struct sim_ns *ns = ns_of(w, nsid);

	for (uint32_t b = 0; b < n; b++) {
		uint32_t tag = ns->tag[lba + b];

		if (tag == SIM_TAG_FENCED)
			continue;
		for (uint32_t i = 0; i < 128; i++) {
			uint32_t v, want = tag ? pattern_word(nsid, tag, lba + b, i) : 0;

			memcpy(&v, buf + (size_t)b * 512 + i * 4, 4);
			if (v != want) {
				char got[80];

				ns_identify(w, buf + (size_t)b * 512, got, sizeof(got));
				if (!w->corruptions++)
					snprintf(w->corruption, sizeof(w->corruption),
						 "namespace %u block %u read back wrong at step %lu "
						 "(expected %s%u, holds %s)",
						 nsid, lba + b, (unsigned long)w->step,
						 tag ? "write tag " : "zeroes, tag ", tag, got);
				break;
			}
		}
	}
}

static void ns_release(struct sim_ns *ns, uint32_t lba, uint32_t n)
{
	for (uint32_t b = 0; b < n; b++)
		ns->busy[lba + b] = 0;
}

static bool ns_claim(struct sim_ns *ns, uint32_t lba, uint32_t n, bool write)
{
	for (uint32_t b = 0; b < n; b++)
		if (ns->busy[lba + b] || (write && ns->tag[lba + b] == SIM_TAG_FENCED))
			return false;
	for (uint32_t b = 0; b < n; b++)
		ns->busy[lba + b] = 1;
	return true;
}

/*
 * A write whose outcome the host does not know (failed, or in flight when
 * the controller went away) may still land later, from the target's old
 * qpair: its blocks are never verified nor written again in this seed.
 */
static void ns_fence(struct sim_ns *ns, uint32_t lba, uint32_t n)
{
	for (uint32_t b = 0; b < n; b++)
		ns->tag[lba + b] = SIM_TAG_FENCED;
}

/*
 * What the host buffer holds past a read's data when its SGL is longer: no
 * byte there may change (the target must send only what the command read).
 */
#define SIM_TAIL_POISON 0xd5

static void tail_verify(struct sim_world *w, const struct sim_slot *s, const uint8_t *buf)
{
	for (uint32_t off = s->nblocks * 512; off < s->sgl_len; off += 512) {
		char got[80];

		if (buf[off] == SIM_TAIL_POISON && !memcmp(buf + off, buf + off + 1, 511))
			continue;
		ns_identify(w, buf + off, got, sizeof(got));
		if (!w->corruptions++)
			snprintf(w->corruption, sizeof(w->corruption),
				 "namespace %u read of %u blocks at %u with a %u-byte SGL: the target "
				 "wrote past the data at byte %u (holds %s)",
				 s->nsid, s->nblocks, s->lba, s->sgl_len, off, got);
		return;
	}
}

/* ---------------- one queue ---------------- */

static void qp_post_recv(struct sim_qp *q, uint32_t i)
{
	struct rdma_prov_sge sge = {.addr = (uint64_t)(uintptr_t)(q->rsps + (size_t)i * 16),
				    .length = 16,
				    .lkey = q->h->prov->mr_lkey(q->rsp_mr)};
	struct rdma_prov_recv_wr wr = {.wr_id = i, .sg_list = &sge, .num_sge = 1}, *bad;

	q->h->prov->qp_post_recv(q->qp, &wr, &bad);
}

static void slot_inv_release(struct sim_qp *q, struct sim_slot *s)
{
	if (s->inv_mr)
		q->h->prov->mr_dereg(s->inv_mr);
	s->inv_mr = NULL;
}

static void slot_abandon(struct sim_qp *q, struct sim_slot *s)
{
	struct sim_ns *ns = ns_of(q->h->w, s->nsid ? s->nsid : 1);

	slot_inv_release(q, s);
	if (s->kind == SIM_CMD_WRITE)
		ns_fence(ns, s->lba, s->nblocks);
	if (s->kind == SIM_CMD_WRITE || s->kind == SIM_CMD_READ)
		ns_release(ns, s->lba, s->nblocks);
	s->busy = false;
}

static void qp_free(struct sim_qp *q)
{
	const struct rdma_provider *p = q->h->prov;

	for (uint32_t i = 0; q->slots && i < q->qsize; i++)
		if (q->slots[i].busy)
			slot_abandon(q, &q->slots[i]);
	if (q->id)
		p->cm_disconnect(q->id);
	if (q->qp) {
		p->qp_modify_err(q->qp);
		p->qp_destroy(q->qp);
	}
	if (q->cq)
		p->cq_destroy(q->cq);
	if (q->id)
		p->id_destroy(q->id);
	if (q->cmd_mr)
		p->mr_dereg(q->cmd_mr);
	if (q->rsp_mr)
		p->mr_dereg(q->rsp_mr);
	if (q->data_mr)
		p->mr_dereg(q->data_mr);
	free(q->cmds);
	free(q->rsps);
	free(q->data);
	free(q->slots);
	{
		struct sim_host *h = q->h;

		memset(q, 0, sizeof(*q));
		q->h = h;
	}
}

static int qp_begin(struct sim_host *h, struct sim_qp *q, uint16_t qid, uint16_t qsize)
{
	struct sim_world *w = h->w;

	q->h = h;
	q->qid = qid;
	q->qsize = qsize;
	q->cmds = calloc(qsize, SIM_CAPSULE_BYTES);
	q->rsps = calloc(qsize, 16);
	q->data = calloc(qsize, w->max_io);
	q->slots = calloc(qsize, sizeof(*q->slots));
	if (!q->cmds || !q->rsps || !q->data || !q->slots)
		return -ENOMEM;
	qp_set_state(q, SIM_Q_RESOLVING);
	return h->prov->cm_resolve(h->ch, h->index == 0 ? "sim:h0" : h->index == 1 ? "sim:h1"
					   : h->index == 2 ? "sim:h2" : "sim:h3",
				   "sim:tgt", SIM_PORT, 1000, q, &q->id);
}

static int qp_route_resolved(struct sim_qp *q)
{
	struct sim_host *h = q->h;
	const struct rdma_provider *p = h->prov;
	struct rdma_prov_device *dev = p->id_get_device(q->id);
	struct rdma_prov_qp_init init = {0};
	struct rdma_prov_conn_param param = {0};
	struct nvmf_rdma_request_private_data pd = {0};
	int rc;

	if ((rc = p->cq_create(dev, q->qsize * 4u + 8, false, &q->cq)) ||
	    (rc = p->mr_reg(h->pd, q->cmds, (size_t)q->qsize * SIM_CAPSULE_BYTES, 0, &q->cmd_mr)) ||
	    (rc = p->mr_reg(h->pd, q->rsps, (size_t)q->qsize * 16, RDMA_PROV_ACCESS_LOCAL_WRITE,
			    &q->rsp_mr)) ||
	    (rc = p->mr_reg(h->pd, q->data, (size_t)q->qsize * h->w->max_io,
			    RDMA_PROV_ACCESS_LOCAL_WRITE | RDMA_PROV_ACCESS_REMOTE_READ |
				RDMA_PROV_ACCESS_REMOTE_WRITE,
			    &q->data_mr)))
		return rc;
	init.pd = h->pd;
	init.send_cq = q->cq;
	init.recv_cq = q->cq;
	init.max_send_wr = q->qsize;
	init.max_recv_wr = q->qsize;
	init.max_send_sge = 1;
	init.max_recv_sge = 1;
	init.max_dest_rd_atomic = h->read_depth;
	init.user_ctx = q;
	rc = p->qp_create(q->id, &init, &q->qp);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < q->qsize; i++)
		qp_post_recv(q, i);
	pd.qid = q->qid;
	pd.hrqsize = q->qsize;
	pd.hsqsize = (uint16_t)(q->qsize - 1);
	pd.cntlid = q->qid ? h->cntlid : NVMF_CNTLID_DYNAMIC;
	memcpy(param.private_data, &pd, sizeof(pd));
	param.private_data_len = sizeof(pd);
	param.responder_resources = h->read_depth;
	param.retry_count = 6;
	param.rnr_retry_count = 6;
	qp_set_state(q, SIM_Q_CONNECTING);
	return p->cm_connect(q->id, &param);
}

static int slot_find(struct sim_qp *q)
{
	for (uint32_t i = 0; i < q->qsize; i++)
		if (!q->slots[i].busy)
			return (int)i;
	return -1;
}

enum sim_sgl { SIM_SGL_KEYED, SIM_SGL_KEYED_INV, SIM_SGL_MULTI, SIM_SGL_ICD };

static int qp_submit(struct sim_qp *q, uint16_t cid, const struct nvme_sqe *sqe, uint32_t len,
		     enum sim_sgl mode)
{
	const struct rdma_provider *p = q->h->prov;
	uint8_t *capsule = q->cmds + (size_t)cid * SIM_CAPSULE_BYTES;
	struct nvme_sqe *cmd = (struct nvme_sqe *)capsule;
	uint8_t *buf = q->data + (size_t)cid * q->h->w->max_io;
	uint32_t clen = 64, rkey = p->mr_rkey(q->data_mr);
	struct rdma_prov_sge sge;
	struct rdma_prov_send_wr wr = {0}, *bad;

	memcpy(cmd, sqe, sizeof(*cmd));
	cmd->cid = cid;
	cmd->psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	memset(&cmd->dptr, 0, sizeof(cmd->dptr));
	if (len == 0) {
		/* no data */
	} else if (mode == SIM_SGL_ICD) {
		cmd->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
		cmd->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
		cmd->dptr.sgl1.unkeyed.length = len;
		memcpy(capsule + 64, buf, len);
		clen += len;
	} else if (mode == SIM_SGL_MULTI) {
		struct nvme_sgl_desc *list = (struct nvme_sgl_desc *)(capsule + 64);
		uint32_t n = len >= 4 * 512 ? 4 : 1, off = 0;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t piece = i + 1 < n ? (len / n) & ~511u : len - off;

			memset(&list[i], 0, sizeof(list[i]));
			list[i].keyed.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK;
			list[i].keyed.subtype = NVME_SGL_SUBTYPE_ADDRESS;
			list[i].keyed.address = (uint64_t)(uintptr_t)(buf + off);
			list[i].keyed.length = piece;
			list[i].keyed.key = rkey;
			off += piece;
		}
		cmd->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_LAST_SEGMENT;
		cmd->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
		cmd->dptr.sgl1.unkeyed.length = n * 16;
		clen += n * 16;
	} else {
		if (mode == SIM_SGL_KEYED_INV) {
			int rc = p->mr_reg(q->h->pd, buf, len,
					   RDMA_PROV_ACCESS_LOCAL_WRITE | RDMA_PROV_ACCESS_REMOTE_READ |
					       RDMA_PROV_ACCESS_REMOTE_WRITE,
					   &q->slots[cid].inv_mr);

			if (rc) {
				q->slots[cid].inv_mr = NULL;
				mode = SIM_SGL_KEYED;
			} else {
				rkey = p->mr_rkey(q->slots[cid].inv_mr);
			}
		}
		cmd->dptr.sgl1.keyed.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK;
		cmd->dptr.sgl1.keyed.subtype = mode == SIM_SGL_KEYED_INV
						       ? NVME_SGL_SUBTYPE_INVALIDATE_KEY
						       : NVME_SGL_SUBTYPE_ADDRESS;
		cmd->dptr.sgl1.keyed.address = (uint64_t)(uintptr_t)buf;
		cmd->dptr.sgl1.keyed.length = len;
		cmd->dptr.sgl1.keyed.key = rkey;
	}
	sge = (struct rdma_prov_sge){.addr = (uint64_t)(uintptr_t)capsule, .length = clen,
				     .lkey = p->mr_lkey(q->cmd_mr)};
	wr.wr_id = SIM_WRID_SEND + cid;
	wr.opcode = RDMA_PROV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.signaled = true;
	q->slots[cid].busy = true;
	q->slots[cid].issued = q->h->w->step;
	q->inflight++;
	return p->qp_post_send(q->qp, &wr, &bad);
}

static int qp_fabric_connect(struct sim_qp *q)
{
	struct sim_host *h = q->h;
	struct nvmf_connect_cmd cmd = {0};
	struct nvmf_connect_data d = {0};
	int cid = slot_find(q);

	for (int i = 0; i < 16; i++)
		d.hostid[i] = (uint8_t)(0x21 * (i + 1) + h->index);
	d.cntlid = q->qid ? h->cntlid : NVMF_CNTLID_DYNAMIC;
	unvmf_strlcpy(d.subnqn, SIM_SUBNQN, sizeof(d.subnqn));
	snprintf(d.hostnqn, sizeof(d.hostnqn), SIM_HOSTNQN_FMT, h->index);
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.qid = q->qid;
	cmd.sqsize = (uint16_t)(q->qsize - 1);
	cmd.kato = q->qid ? 0 : h->w->kato_ms;
	memcpy(q->data + (size_t)cid * h->w->max_io, &d, sizeof(d));
	q->slots[cid].kind = SIM_CMD_CONNECT;
	qp_set_state(q, SIM_Q_FCONNECT);
	return qp_submit(q, (uint16_t)cid, (struct nvme_sqe *)&cmd, sizeof(d), SIM_SGL_KEYED);
}

static int qp_prop(struct sim_qp *q, bool set, uint32_t ofst, uint64_t value)
{
	struct nvmf_property_set_cmd cmd = {0};
	int cid = slot_find(q);

	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = set ? NVMF_FCTYPE_PROPERTY_SET : NVMF_FCTYPE_PROPERTY_GET;
	cmd.ofst = ofst;
	cmd.value = value;
	q->slots[cid].kind = SIM_CMD_PROP;
	return qp_submit(q, (uint16_t)cid, (struct nvme_sqe *)&cmd, 0, SIM_SGL_KEYED);
}

/* ---------------- the controller ---------------- */

static void host_fail(struct sim_host *h, const char *why)
{
	if (h->w->verbose)
		fprintf(stderr, "sim: step %lu host %u fails: %s\n", (unsigned long)h->w->step,
			h->index, why);
	h->failures++;
	sim_host_close(h);
	h->reconnect_at = h->w->step + 20 + sim_range(&h->rng, 0, 200);
}

void sim_host_close(struct sim_host *h)
{
	for (uint32_t i = 0; i <= SIM_MAX_IOQ; i++)
		if (h->qps[i].state != SIM_Q_OFF || h->qps[i].slots)
			qp_free(&h->qps[i]);
	h->state = SIM_H_DOWN;
	h->cntlid = 0;
}

static void host_connect(struct sim_host *h)
{
	h->state = SIM_H_CONNECTING;
	h->connects++;
	h->ka_stopped = false;
	h->last_ka = h->w->step;
	if (h->connects > 1)
		h->w->stats->reconnects++;
	h->qps[0].h = h;
	if (qp_begin(h, &h->qps[0], 0, 16) != 0)
		host_fail(h, "admin resolve");
}

static void host_admin_ready(struct sim_host *h)
{
	h->state = SIM_H_UP;
	for (uint32_t i = 1; i <= h->num_ioq; i++) {
		h->qps[i].h = h;
		if (qp_begin(h, &h->qps[i], (uint16_t)i, h->qsize) != 0) {
			host_fail(h, "I/O resolve");
			return;
		}
	}
}

/* A response arrived for slot cid of q (wc: its receive completion). */
static void qp_response(struct sim_qp *q, const struct nvme_cqe *cqe, const struct rdma_prov_wc *wc)
{
	struct sim_host *h = q->h;
	struct sim_world *w = h->w;
	struct sim_slot *s;
	uint16_t sts = cqe->status.raw & 0xfffe;

	if (cqe->cid >= q->qsize || !q->slots[cqe->cid].busy) {
		host_fail(h, "response for an unknown command");
		return;
	}
	s = &q->slots[cqe->cid];
	/*
	 * Every response, whatever path produced it (executed, bad SGL, aborted),
	 * moves SQHD by one: responses on one QP arrive in the order the target
	 * completed them. A failed Connect leaves no queue to have a head.
	 */
	q->responses++;
	if (!(s->kind == SIM_CMD_CONNECT && sts) && cqe->sqhd != q->responses % q->qsize) {
		if (!w->corruptions++)
			snprintf(w->corruption, sizeof(w->corruption),
				 "qid %u cid %u: response %u carries SQHD %u, expected %u",
				 q->qid, cqe->cid, q->responses, cqe->sqhd,
				 q->responses % q->qsize);
	}
	/* Invalidate Key: the target must answer with SEND_WITH_INV of exactly this rkey. */
	if (s->inv_mr) {
		uint32_t rkey = h->prov->mr_rkey(s->inv_mr);

		if (!(wc->flags & RDMA_PROV_WC_FLAG_WITH_INV) || wc->invalidated_rkey != rkey) {
			if (!w->corruptions++)
				snprintf(w->corruption, sizeof(w->corruption),
					 "cid %u: response to an Invalidate-Key command did not "
					 "invalidate rkey 0x%x (flags 0x%x rkey 0x%x)",
					 cqe->cid, rkey, wc->flags, wc->invalidated_rkey);
		}
		slot_inv_release(q, s);
	}
	s->busy = false;
	q->inflight--;
	switch (s->kind) {
	case SIM_CMD_CONNECT:
		if (sts) {
			if (w->verbose)
				fprintf(stderr, "sim: qid %u connect status 0x%x\n", q->qid, sts);
			host_fail(h, "Fabrics Connect failed");
			return;
		}
		if (q->qid == 0) {
			h->cntlid = (uint16_t)cqe->cdw0;
			qp_set_state(q, SIM_Q_ENABLING);
			qp_prop(q, true, 0x14, (6u << 16) | (4u << 20) | 1u);
		} else {
			qp_set_state(q, SIM_Q_READY);
		}
		break;
	case SIM_CMD_PROP:
		if (sts) {
			host_fail(h, "property command failed");
			return;
		}
		if (q->state == SIM_Q_ENABLING || (q->state == SIM_Q_WAIT_RDY && !(cqe->cdw0 & 1))) {
			qp_set_state(q, SIM_Q_WAIT_RDY);
			qp_prop(q, false, 0x1c, 0);
		} else if (q->state == SIM_Q_WAIT_RDY) {
			qp_set_state(q, SIM_Q_READY);
			host_admin_ready(h);
		}
		break;
	case SIM_CMD_WRITE:
		w->stats->ios++;
		if (sts) {
			ns_fence(ns_of(w, s->nsid), s->lba, s->nblocks);
		} else {
			w->stats->ios_ok++;
			for (uint32_t b = 0; b < s->nblocks; b++)
				ns_of(w, s->nsid)->tag[s->lba + b] = s->tag;
		}
		ns_release(ns_of(w, s->nsid), s->lba, s->nblocks);
		break;
	case SIM_CMD_BAD_SGL:
		w->stats->ios++;
		if (cqe->status.s.sct != NVME_SCT_GENERIC ||
		    cqe->status.s.sc != NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID) {
			if (!w->corruptions++)
				snprintf(w->corruption, sizeof(w->corruption),
					 "qid %u cid %u: a read with in-capsule data was answered "
					 "with status 0x%x, not SGL Descriptor Type Invalid",
					 q->qid, cqe->cid, sts);
		}
		break;
	case SIM_CMD_READ:
		w->stats->ios++;
		if (!sts) {
			w->stats->ios_ok++;
			ns_verify(w, s->nsid, q->data + (size_t)cqe->cid * w->max_io, s->lba,
				  s->nblocks);
			tail_verify(w, s, q->data + (size_t)cqe->cid * w->max_io);
		}
		ns_release(ns_of(w, s->nsid), s->lba, s->nblocks);
		break;
	default:
		w->stats->ios++;
		break;
	}
}

static void qp_poll(struct sim_qp *q)
{
	struct sim_host *h = q->h;
	struct rdma_prov_wc wc[16];
	int n;

	if (!q->cq)
		return;
	n = h->prov->cq_poll(q->cq, wc, 16);
	for (int i = 0; i < n; i++) {
		struct nvme_cqe cqe;
		uint32_t r;

		if (wc[i].status != RDMA_PROV_WC_SUCCESS) {
			if (wc[i].status < 32)
				h->w->stats->wc_error_status[wc[i].status]++;
			host_fail(h, rdma_prov_wc_status_name(wc[i].status));
			return;
		}
		if (wc[i].opcode != RDMA_PROV_WC_RECV)
			continue;
		r = (uint32_t)wc[i].wr_id;
		memcpy(&cqe, q->rsps + (size_t)r * 16, sizeof(cqe));
		qp_post_recv(q, r);
		qp_response(q, &cqe, &wc[i]);
		if (h->state == SIM_H_DOWN)
			return;
	}
}

static struct sim_qp *qp_of_id(struct sim_host *h, struct rdma_prov_id *id)
{
	for (uint32_t i = 0; i <= SIM_MAX_IOQ; i++)
		if (h->qps[i].id && h->qps[i].id == id)
			return &h->qps[i];
	return NULL;
}

static void host_cm_events(struct sim_host *h)
{
	struct rdma_prov_cm_event ev;

	while (h->prov->cm_get_event(h->ch, &ev) == 0) {
		struct sim_qp *q = qp_of_id(h, ev.id);

		if (!q)
			continue;
		switch (ev.type) {
		case RDMA_PROV_CM_EVENT_ROUTE_RESOLVED:
			if (q->state != SIM_Q_RESOLVING || qp_route_resolved(q) != 0)
				host_fail(h, "route resolved / connect");
			break;
		case RDMA_PROV_CM_EVENT_ESTABLISHED:
			if (q->state != SIM_Q_CONNECTING || qp_fabric_connect(q) != 0)
				host_fail(h, "established / fabrics connect");
			break;
		default:
			host_fail(h, rdma_prov_cm_event_name(ev.type));
			break;
		}
		if (h->state == SIM_H_DOWN)
			return;
	}
}

/* Mostly the host's first namespace, sometimes another of its mask. */
static uint32_t host_pick_ns(struct sim_host *h)
{
	uint32_t first = (uint32_t)__builtin_ctz(h->ns_mask ? h->ns_mask : 1u), nsid;

	if (sim_range(&h->rng, 0, 3) != 0)
		return first + 1;
	do
		nsid = sim_range(&h->rng, 0, SIM_MAX_NS - 1);
	while (!((h->ns_mask ? h->ns_mask : 1u) & (1u << nsid)));
	return nsid + 1;
}

static void host_submit_io(struct sim_host *h, struct sim_qp *q)
{
	struct sim_world *w = h->w;
	struct nvme_sqe sqe = {0};
	uint32_t max_blocks = w->max_io / 512, n, lba, nsid, r = sim_range(&h->rng, 0, 99);
	enum sim_sgl mode = SIM_SGL_KEYED;
	int cid = slot_find(q);
	struct sim_ns *ns;
	struct sim_slot *s;

	if (cid < 0)
		return;
	s = &q->slots[cid];
	if (r == 4) {
		/* One in a hundred: a read whose SGL says in-capsule data (writes only). */
		sqe.opc = 0x02;
		sqe.nsid = host_pick_ns(h);
		s->kind = SIM_CMD_BAD_SGL;
		s->nblocks = 0;
		qp_submit(q, (uint16_t)cid, &sqe, 512, SIM_SGL_ICD);
		return;
	}
	if (r < 5) {
		sqe.opc = 0x00;	/* flush */
		sqe.nsid = host_pick_ns(h);
		s->kind = SIM_CMD_FLUSH;
		s->nblocks = 0;
		qp_submit(q, (uint16_t)cid, &sqe, 0, mode);
		return;
	}
	if (sim_range(&h->rng, 0, 99) < h->big_pct)
		n = sim_range(&h->rng, max_blocks * 3 / 4, max_blocks);
	else if (sim_range(&h->rng, 0, 1))
		n = sim_range(&h->rng, 1, 8 < max_blocks ? 8 : max_blocks);
	else
		n = sim_range(&h->rng, 1, max_blocks);
	nsid = host_pick_ns(h);
	ns = ns_of(w, nsid);
	lba = sim_range(&h->rng, 0, ns->num_blocks - n);
	s->kind = sim_range(&h->rng, 0, 99) < h->read_pct ? SIM_CMD_READ : SIM_CMD_WRITE;
	if (!ns_claim(ns, lba, n, s->kind == SIM_CMD_WRITE))
		return;
	s->nsid = nsid;
	s->lba = lba;
	s->nblocks = n;
	sqe.opc = s->kind == SIM_CMD_WRITE ? 0x01 : 0x02;
	sqe.nsid = nsid;
	sqe.cdw10 = lba;
	sqe.cdw12 = n - 1;
	s->sgl_len = n * 512;
	/*
	 * Some reads describe a longer buffer than NLB needs (allowed; only the
	 * data may arrive), once the target's pool has been through other writes.
	 */
	if (g_sim_sgl_beyond_data && s->kind == SIM_CMD_READ && n < max_blocks && w->step > 300 &&
	    sim_range(&h->rng, 0, 3) == 0) {
		s->sgl_len = sim_range(&h->rng, n + 1, max_blocks) * 512;
		memset(q->data + (size_t)cid * w->max_io + n * 512, SIM_TAIL_POISON,
		       s->sgl_len - n * 512);
	}
	if (s->kind == SIM_CMD_WRITE) {
		s->tag = ++w->next_tag;
		pattern_fill(q->data + (size_t)cid * w->max_io, nsid, lba, n, s->tag);
		if (n * 512 <= w->icd && sim_range(&h->rng, 0, 2) == 0)
			mode = SIM_SGL_ICD;
	}
	if (mode == SIM_SGL_KEYED && sim_range(&h->rng, 0, 4) == 0)
		mode = SIM_SGL_MULTI;
	else if (mode == SIM_SGL_KEYED && sim_range(&h->rng, 0, 3) == 0)
		mode = SIM_SGL_KEYED_INV;
	qp_submit(q, (uint16_t)cid, &sqe, s->sgl_len, mode);
}

static void host_submit_admin(struct sim_host *h, struct sim_qp *q, bool keepalive)
{
	struct nvme_sqe sqe = {0};
	int cid = slot_find(q);

	if (cid < 0)
		return;
	if (keepalive) {
		sqe.opc = 0x18;
		q->slots[cid].kind = SIM_CMD_KEEPALIVE;
		qp_submit(q, (uint16_t)cid, &sqe, 0, SIM_SGL_KEYED);
		return;
	}
	sqe.opc = 0x06;	/* identify controller */
	sqe.cdw10 = 1;
	q->slots[cid].kind = SIM_CMD_IDENTIFY;
	qp_submit(q, (uint16_t)cid, &sqe, 4096, SIM_SGL_KEYED);
}

bool sim_host_submit_read(struct sim_host *h, uint32_t nsid, uint32_t lba, uint32_t n)
{
	for (uint32_t i = 1; i <= h->num_ioq; i++) {
		struct sim_qp *q = &h->qps[i];
		struct nvme_sqe sqe = {0};
		int cid;

		if (q->state != SIM_Q_READY || (cid = slot_find(q)) < 0)
			continue;
		if (!ns_claim(ns_of(h->w, nsid), lba, n, false))
			return false;
		q->slots[cid].kind = SIM_CMD_READ;
		q->slots[cid].nsid = nsid;
		q->slots[cid].lba = lba;
		q->slots[cid].nblocks = n;
		q->slots[cid].sgl_len = n * 512;
		sqe.opc = 0x02;
		sqe.nsid = nsid;
		sqe.cdw10 = lba;
		sqe.cdw12 = n - 1;
		qp_submit(q, (uint16_t)cid, &sqe, n * 512, SIM_SGL_KEYED);
		return true;
	}
	return false;
}

bool sim_host_idle(const struct sim_host *h)
{
	for (uint32_t i = 0; i <= SIM_MAX_IOQ; i++)
		if (h->qps[i].inflight)
			return false;
	return true;
}

void sim_host_poll(struct sim_host *h)
{
	struct sim_world *w = h->w;

	if (h->cut) {
		if (w->step < h->cut_until)
			return;
		h->cut = false;
		rdma_sim_node_set_alive(h->node, true);
	}
	if (h->state == SIM_H_DOWN) {
		if (w->step >= h->reconnect_at)
			host_connect(h);
		return;
	}
	host_cm_events(h);
	for (uint32_t i = 0; i <= h->num_ioq && h->state != SIM_H_DOWN; i++) {
		struct sim_qp *q = &h->qps[i];

		qp_poll(q);
		if (h->state == SIM_H_DOWN)
			return;
		/* A command or a connection step that never finishes: give the controller up. */
		if (q->state != SIM_Q_OFF && q->state != SIM_Q_READY &&
		    w->step - q->state_since > w->cmd_timeout) {
			host_fail(h, "connection step timed out");
			return;
		}
		for (uint32_t c = 0; q->slots && c < q->qsize; c++)
			if (q->slots[c].busy && w->step - q->slots[c].issued > w->cmd_timeout) {
				host_fail(h, "command timed out");
				return;
			}
	}
	if (h->state != SIM_H_UP || h->qps[0].state != SIM_Q_READY)
		return;
	if (!h->ka_stopped && w->step - h->last_ka >= w->ka_every) {
		h->last_ka = w->step;
		host_submit_admin(h, &h->qps[0], true);
	}
	if (w->quiesce)
		return;
	if (sim_range(&h->rng, 0, 199) == 0)
		host_submit_admin(h, &h->qps[0], false);
	for (uint32_t i = 1; i <= h->num_ioq; i++)
		if (h->qps[i].state == SIM_Q_READY && sim_range(&h->rng, 0, 2) == 0)
			host_submit_io(h, &h->qps[i]);
}

struct rdma_prov_qp *sim_host_qp(struct sim_host *h, uint32_t qp)
{
	if (qp > h->num_ioq)
		qp = qp % (h->num_ioq + 1);
	return h->qps[qp].qp;
}

struct rdma_prov_id *sim_host_id(struct sim_host *h, uint32_t qp)
{
	if (qp > h->num_ioq)
		qp = qp % (h->num_ioq + 1);
	return h->qps[qp].state >= SIM_Q_CONNECTING ? h->qps[qp].id : NULL;
}
