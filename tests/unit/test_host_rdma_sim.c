/*
 * Host library over NVMe/RDMA on the sim provider, against a scripted
 * controller written directly on the provider seam (the fake sits at the
 * seam; the host library is the real one). The peer accepts or rejects with
 * NVMe/RDMA private data, receives capsules, moves data with RDMA READ and
 * WRITE against the host's keyed SGLs (or takes it from the capsule) and
 * answers over a RAM namespace. It runs inside the host's progress hook, so
 * both ends share the test thread as sim requires, and it records what it
 * saw on the wire. Covers: private data both ways, reject status, crqsize,
 * no-data / in-capsule / keyed / last-segment SGLs, per-I/O and cached
 * registrations, WC errors, remote access errors and CM disconnects failing
 * the qpair with every command aborted, and leak-free teardown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/rdma/host_rdma_conn.h"
#include "rdma_sim.h"
#include "proto/trid.h"
#include "unvmf/host.h"

#define PEER_ADDR "sim:1"
#define PEER_PORT 4420
#define PEER_MAXC 6
#define PEER_NRECV 32
#define PEER_ICD 4096u /* advertised: IOCCSZ = (64 + 4096) / 16 */
#define PEER_CAP (64u + PEER_ICD)
#define PEER_MDTS 4 /* 4 KiB << 4 = 64 KiB */
#define PEER_DATA_MAX (64u * 1024u)
#define PEER_BLOCK 512u
#define PEER_BLOCKS 2048u
#define PEER_MAX_DESC 16
#define PEER_CNTLID 0x21
#define TEST_NQN "nqn.2016-06.io.unvmf:rdma-host-test"
#define MAX_POLLS 200000

struct peer_slot {
	uint8_t cap[PEER_CAP];
	struct nvme_cqe rsp;
	uint8_t data[PEER_DATA_MAX];
};

struct peer_cmd {
	struct nvme_sqe sqe;
	uint32_t len;
	int dir; /* 0 none, 1 to controller, 2 from controller */
	uint32_t ndesc;
	struct nvme_sgl_desc desc[PEER_MAX_DESC];
	uint32_t reads_left;
};

struct peer_conn {
	bool used;
	bool closing;
	struct rdma_prov_id *id;
	struct rdma_prov_qp *qp;
	uint16_t qid;
	struct peer_slot *slots;
	struct peer_cmd cmds[PEER_NRECV];
};

struct peer_seen {
	uint32_t cmds;
	uint8_t sgl_type; /* SGL1 of the last command */
	uint8_t sgl_subtype;
	uint32_t ndesc;       /* keyed descriptors of the last command */
	uint32_t icd_len;     /* in-capsule data of the last command */
	uint32_t capsule_len; /* bytes of the last capsule */
	uint32_t reqs;        /* CONNECT_REQUESTs */
	struct nvmf_rdma_request_private_data req[8];
	uint8_t initiator_depth; /* RDMA READs the peer may have outstanding to the host */
	uint32_t wc_errors;
	uint32_t disconnects;
	uint32_t held; /* commands not answered (hold_responses) */
};

struct peer {
	const struct rdma_provider *P;
	struct rdma_sim_fabric *f;
	struct rdma_sim_node *tn, *hn;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_channel *ch;
	struct rdma_prov_id *lid;
	struct rdma_prov_device *dev;
	struct rdma_prov_pd *pd;
	struct rdma_prov_cq *cq;
	struct peer_slot *arena; /* PEER_MAXC * PEER_NRECV slots under one MR */
	struct rdma_prov_mr *mr;
	struct peer_conn conns[PEER_MAXC];
	uint8_t disk[PEER_BLOCKS * PEER_BLOCK];
	uint64_t cc;
	/* Knobs. */
	uint16_t crqsize;    /* accept private data; 0 = PEER_NRECV */
	uint16_t reject_sts; /* reject connects with this NVMe/RDMA status */
	bool bad_rkey;       /* the next RDMA access by the peer uses a wrong rkey */
	bool hold_responses; /* execute I/O but never answer */
	struct peer_seen seen;
};

static const struct rdma_provider *P;

enum { PEER_WR_RECV = 1, PEER_WR_SEND, PEER_WR_READ, PEER_WR_WRITE };

static uint64_t peer_wrid(uint32_t ci, uint32_t kind, uint32_t slot)
{
	return (uint64_t)ci << 24 | (uint64_t)kind << 16 | slot;
}

static struct rdma_prov_sge peer_sge(struct peer *p, void *addr, uint32_t len)
{
	return (struct rdma_prov_sge){
	    .addr = (uint64_t)(uintptr_t)addr, .length = len, .lkey = P->mr_lkey(p->mr)};
}

static void peer_post_recv(struct peer *p, uint32_t ci, uint32_t slot)
{
	struct peer_conn *c = &p->conns[ci];
	struct rdma_prov_sge sge = peer_sge(p, c->slots[slot].cap, PEER_CAP);
	struct rdma_prov_recv_wr wr = {.wr_id = peer_wrid(ci, PEER_WR_RECV, slot),
	                               .sg_list = &sge,
	                               .num_sge = 1},
	                         *bad;

	assert_int_equal(P->qp_post_recv(c->qp, &wr, &bad), 0);
}

static void peer_connect_request(struct peer *p, const struct rdma_prov_cm_event *ev)
{
	struct nvmf_rdma_accept_private_data acc = {0};
	struct rdma_prov_conn_param ap = {0};
	struct rdma_prov_qp_init qi;
	struct peer_conn *c = NULL;
	uint32_t ci;

	if (p->seen.reqs < 8)
		memcpy(&p->seen.req[p->seen.reqs], ev->param.private_data, sizeof(p->seen.req[0]));
	p->seen.reqs++;
	p->seen.initiator_depth = ev->param.initiator_depth;
	if (p->reject_sts) {
		struct nvmf_rdma_reject_private_data rej = {.recfmt = 0, .sts = p->reject_sts};

		assert_int_equal(P->cm_reject(ev->id, &rej, sizeof(rej)), 0);
		assert_int_equal(P->id_destroy(ev->id), 0);
		return;
	}
	for (ci = 0; ci < PEER_MAXC; ci++) {
		if (!p->conns[ci].used) {
			c = &p->conns[ci];
			break;
		}
	}
	if (!c) {
		/* cmocka's asserts are not noreturn; say so to the compiler too. */
		fail_msg("no free connection slot in the scripted peer");
		return;
	}
	memset(c->cmds, 0, sizeof(c->cmds));
	c->used = true;
	c->closing = false;
	c->id = ev->id;
	c->slots = &p->arena[ci * PEER_NRECV];
	qi = (struct rdma_prov_qp_init){.pd = p->pd,
	                                .send_cq = p->cq,
	                                .recv_cq = p->cq,
	                                .max_send_wr = 1024,
	                                .max_recv_wr = PEER_NRECV,
	                                .max_send_sge = 1,
	                                .max_recv_sge = 1,
	                                .retry_cnt = 3,
	                                .rnr_retry = 3,
	                                .user_ctx = c};
	assert_int_equal(P->qp_create(c->id, &qi, &c->qp), 0);
	for (uint32_t i = 0; i < PEER_NRECV; i++)
		peer_post_recv(p, ci, i);
	acc.crqsize = p->crqsize ? p->crqsize : PEER_NRECV;
	memcpy(ap.private_data, &acc, sizeof(acc));
	ap.private_data_len = sizeof(acc);
	ap.initiator_depth = 16;
	assert_int_equal(P->cm_accept(c->id, c->qp, &ap), 0);
}

/* RDMA WRITEs of data (reads) then the response SEND, in one chain. */
static void peer_respond(struct peer *p, uint32_t ci, uint32_t slot, const struct nvme_cqe *cqe,
                         uint32_t data_len)
{
	struct peer_conn *c = &p->conns[ci];
	struct peer_cmd *cmd = &c->cmds[slot];
	struct peer_slot *s = &c->slots[slot];
	struct rdma_prov_send_wr wrs[PEER_MAX_DESC + 1], *bad;
	struct rdma_prov_sge sges[PEER_MAX_DESC + 1];
	uint32_t n = 0, off = 0;

	s->rsp = *cqe;
	for (uint32_t i = 0; i < cmd->ndesc && off < data_len; i++) {
		uint32_t len = (uint32_t)cmd->desc[i].keyed.length;

		if (len > data_len - off)
			len = data_len - off;
		sges[n] = peer_sge(p, s->data + off, len);
		wrs[n] = (struct rdma_prov_send_wr){.wr_id = peer_wrid(ci, PEER_WR_WRITE, slot),
		                                    .opcode = RDMA_PROV_WR_RDMA_WRITE,
		                                    .sg_list = &sges[n],
		                                    .num_sge = 1,
		                                    .remote_addr = cmd->desc[i].keyed.address,
		                                    .rkey = (uint32_t)cmd->desc[i].keyed.key ^
		                                            (p->bad_rkey ? 0x55u : 0u)};
		p->bad_rkey = false;
		off += len;
		n++;
	}
	sges[n] = peer_sge(p, &s->rsp, sizeof(s->rsp));
	wrs[n] = (struct rdma_prov_send_wr){.wr_id = peer_wrid(ci, PEER_WR_SEND, slot),
	                                    .opcode = RDMA_PROV_WR_SEND,
	                                    .sg_list = &sges[n],
	                                    .num_sge = 1,
	                                    .signaled = true};
	for (uint32_t i = 0; i < n; i++)
		wrs[i].next = &wrs[i + 1];
	assert_int_equal(P->qp_post_send(c->qp, &wrs[0], &bad), 0);
}

static void peer_id_ctrl(struct nvme_id_ctrl *id)
{
	memset(id, 0, sizeof(*id));
	id->mdts = PEER_MDTS;
	id->cntlid = PEER_CNTLID;
	id->sgls = (1u << 0) | (1u << 2); /* SGLs, keyed SGL data block */
	id->ioccsz = PEER_CAP / 16;
	id->iorcsz = 1;
	strcpy(id->subnqn, TEST_NQN);
}

static void peer_execute(struct peer *p, uint32_t ci, uint32_t slot)
{
	struct peer_conn *c = &p->conns[ci];
	struct peer_cmd *cmd = &c->cmds[slot];
	struct peer_slot *s = &c->slots[slot];
	const struct nvme_sqe *sqe = &cmd->sqe;
	struct nvme_cqe cqe = {.cid = sqe->cid, .sqid = c->qid};
	uint32_t out = 0;

	if (sqe->opc == NVME_OPC_FABRICS) {
		const struct nvmf_capsule_cmd *fc = (const void *)sqe;

		if (fc->fctype == NVMF_FCTYPE_CONNECT) {
			const struct nvmf_connect_cmd *cc = (const void *)sqe;

			c->qid = cc->qid;
			cqe.sqid = c->qid;
			cqe.cdw0 = PEER_CNTLID;
		} else if (fc->fctype == NVMF_FCTYPE_PROPERTY_GET) {
			const struct nvmf_property_get_cmd *pg = (const void *)sqe;
			uint64_t v = 0;

			if (pg->ofst == NVME_REG_CAP)
				v = 127 | (1ull << 16) | (1ull << 24);
			else if (pg->ofst == NVME_REG_VS)
				v = 0x10300;
			else if (pg->ofst == NVME_REG_CC)
				v = p->cc;
			else if (pg->ofst == NVME_REG_CSTS)
				v = (p->cc & 1) | ((p->cc >> 14 & 3) ? 2u << 2 : 0);
			cqe.cdw0 = (uint32_t)v;
			cqe.cdw1 = (uint32_t)(v >> 32);
		} else if (fc->fctype == NVMF_FCTYPE_PROPERTY_SET) {
			const struct nvmf_property_set_cmd *ps = (const void *)sqe;

			if (ps->ofst == NVME_REG_CC)
				p->cc = ps->value;
		}
	} else if (c->qid == 0) {
		switch (sqe->opc) {
		case NVME_OPC_IDENTIFY:
			memset(s->data, 0, 4096);
			if ((sqe->cdw10 & 0xff) == NVME_IDENTIFY_CTRLR)
				peer_id_ctrl((struct nvme_id_ctrl *)s->data);
			out = 4096;
			break;
		case NVME_OPC_SET_FEATURES:
			cqe.cdw0 = 3u | 3u << 16;
			break;
		case NVME_OPC_KEEP_ALIVE:
			break;
		default:
			cqe.status.s.sc = NVME_SC_INVALID_OPCODE;
		}
	} else {
		uint64_t lba = sqe->cdw10 | (uint64_t)sqe->cdw11 << 32;
		uint32_t nlb = (sqe->cdw12 & 0xffff) + 1;

		switch (sqe->opc) {
		case NVME_OPC_READ:
		case NVME_OPC_WRITE:
			if (lba + nlb > PEER_BLOCKS || nlb * PEER_BLOCK != cmd->len) {
				cqe.status.s.sc = NVME_SC_INVALID_FIELD;
				break;
			}
			if (sqe->opc == NVME_OPC_READ) {
				memcpy(s->data, p->disk + lba * PEER_BLOCK, cmd->len);
				out = cmd->len;
			} else {
				memcpy(p->disk + lba * PEER_BLOCK, s->data, cmd->len);
			}
			break;
		case NVME_OPC_FLUSH:
			break;
		default:
			cqe.status.s.sc = NVME_SC_INVALID_OPCODE;
		}
		if (p->hold_responses) {
			p->seen.held++;
			return;
		}
	}
	if (out > cmd->len)
		out = cmd->len;
	peer_respond(p, ci, slot, &cqe, out);
}

static void peer_capsule(struct peer *p, uint32_t ci, uint32_t slot, uint32_t byte_len)
{
	struct peer_conn *c = &p->conns[ci];
	struct peer_cmd *cmd = &c->cmds[slot];
	struct peer_slot *s = &c->slots[slot];
	const struct nvme_sgl_desc *sgl;
	uint8_t opc_dir;

	assert_true(byte_len >= sizeof(struct nvme_sqe));
	memset(cmd, 0, sizeof(*cmd));
	memcpy(&cmd->sqe, s->cap, sizeof(cmd->sqe));
	sgl = &cmd->sqe.dptr.sgl1;
	assert_int_equal(cmd->sqe.psdt, NVME_PSDT_SGL_MPTR_CONTIG);
	p->seen.cmds++;
	p->seen.sgl_type = sgl->generic.type;
	p->seen.sgl_subtype = sgl->generic.subtype;
	p->seen.capsule_len = byte_len;
	p->seen.icd_len = 0;
	p->seen.ndesc = 0;
	opc_dir = cmd->sqe.opc == NVME_OPC_FABRICS ? ((struct nvmf_capsule_cmd *)&cmd->sqe)->fctype
	                                           : cmd->sqe.opc;
	cmd->dir = opc_dir & 3;
	if (sgl->generic.type == NVME_SGL_TYPE_DATA_BLOCK) {
		assert_int_equal(sgl->generic.subtype, NVME_SGL_SUBTYPE_OFFSET);
		assert_true(64 + sgl->unkeyed.address + sgl->unkeyed.length <= byte_len);
		cmd->len = sgl->unkeyed.length;
		p->seen.icd_len = cmd->len;
		memcpy(s->data, s->cap + 64 + sgl->unkeyed.address, cmd->len);
		peer_execute(p, ci, slot);
		return;
	}
	if (sgl->generic.type == NVME_SGL_TYPE_LAST_SEGMENT) {
		assert_int_equal(sgl->generic.subtype, NVME_SGL_SUBTYPE_OFFSET);
		cmd->ndesc = sgl->unkeyed.length / 16;
		assert_true(cmd->ndesc <= PEER_MAX_DESC);
		assert_true(64 + sgl->unkeyed.address + sgl->unkeyed.length <= byte_len);
		memcpy(cmd->desc, s->cap + 64 + sgl->unkeyed.address, cmd->ndesc * 16);
	} else {
		assert_int_equal(sgl->generic.type, NVME_SGL_TYPE_KEYED_DATA_BLOCK);
		assert_int_equal(byte_len, sizeof(struct nvme_sqe));
		cmd->ndesc = 1;
		cmd->desc[0] = *sgl;
	}
	for (uint32_t i = 0; i < cmd->ndesc; i++) {
		assert_int_equal(cmd->desc[i].keyed.type, NVME_SGL_TYPE_KEYED_DATA_BLOCK);
		assert_int_equal(cmd->desc[i].keyed.subtype, NVME_SGL_SUBTYPE_ADDRESS);
		cmd->len += (uint32_t)cmd->desc[i].keyed.length;
	}
	p->seen.ndesc = cmd->len ? cmd->ndesc : 0;
	assert_true(cmd->len <= PEER_DATA_MAX);
	if (cmd->dir != 1 || cmd->len == 0) {
		peer_execute(p, ci, slot);
		return;
	}
	/* Fetch the write data: one RDMA READ per descriptor. */
	{
		struct rdma_prov_send_wr wrs[PEER_MAX_DESC], *bad;
		struct rdma_prov_sge sges[PEER_MAX_DESC];
		uint32_t off = 0;

		for (uint32_t i = 0; i < cmd->ndesc; i++) {
			uint32_t len = (uint32_t)cmd->desc[i].keyed.length;

			sges[i] = peer_sge(p, s->data + off, len);
			wrs[i] = (struct rdma_prov_send_wr){
			    .next = i + 1 < cmd->ndesc ? &wrs[i + 1] : NULL,
			    .wr_id = peer_wrid(ci, PEER_WR_READ, slot),
			    .opcode = RDMA_PROV_WR_RDMA_READ,
			    .sg_list = &sges[i],
			    .num_sge = 1,
			    .signaled = true,
			    .remote_addr = cmd->desc[i].keyed.address,
			    .rkey = (uint32_t)cmd->desc[i].keyed.key ^ (p->bad_rkey ? 0x55u : 0u)};
			p->bad_rkey = false;
			off += len;
		}
		cmd->reads_left = cmd->ndesc;
		assert_int_equal(P->qp_post_send(c->qp, &wrs[0], &bad), 0);
	}
}

static void peer_close(struct peer *p, struct peer_conn *c)
{
	if (!c->closing) {
		c->closing = true;
		P->qp_modify_err(c->qp);
	}
}

/* Runs the controller: CM events, then completions; frees closed connections once reaped. */
static void peer_service(struct peer *p)
{
	struct rdma_prov_cm_event ev;
	struct rdma_prov_wc wc[32];
	int n;

	while (P->cm_get_event(p->ch, &ev) == 0) {
		if (ev.type == RDMA_PROV_CM_EVENT_CONNECT_REQUEST) {
			peer_connect_request(p, &ev);
		} else if (ev.type == RDMA_PROV_CM_EVENT_DISCONNECTED) {
			struct peer_conn *c = NULL;

			p->seen.disconnects++;
			for (uint32_t i = 0; i < PEER_MAXC; i++)
				if (p->conns[i].used && p->conns[i].id == ev.id)
					c = &p->conns[i];
			if (c) {
				P->cm_disconnect(c->id);
				peer_close(p, c);
			}
		}
	}
	while ((n = P->cq_poll(p->cq, wc, 32)) > 0) {
		for (int i = 0; i < n; i++) {
			uint32_t ci = (uint32_t)(wc[i].wr_id >> 24),
			         kind = (wc[i].wr_id >> 16) & 0xff;
			uint32_t slot = wc[i].wr_id & 0xffff;
			struct peer_conn *c = &p->conns[ci];

			if (wc[i].status != RDMA_PROV_WC_SUCCESS) {
				if (wc[i].status != RDMA_PROV_WC_WR_FLUSH_ERR)
					p->seen.wc_errors++;
				peer_close(p, c);
				continue;
			}
			if (c->closing)
				continue;
			if (kind == PEER_WR_RECV)
				peer_capsule(p, ci, slot, wc[i].byte_len);
			else if (kind == PEER_WR_READ && --c->cmds[slot].reads_left == 0)
				peer_execute(p, ci, slot);
			else if (kind == PEER_WR_SEND)
				peer_post_recv(p, ci, slot);
		}
	}
	for (uint32_t i = 0; i < PEER_MAXC; i++) {
		struct peer_conn *c = &p->conns[i];

		if (c->used && c->closing && rdma_sim_qp_outstanding(c->qp, NULL, 0) == 0) {
			assert_int_equal(P->qp_destroy(c->qp), 0);
			assert_int_equal(P->id_destroy(c->id), 0);
			c->used = false;
		}
	}
}

static void peer_progress(void *arg)
{
	struct peer *p = arg;

	rdma_sim_fabric_step(p->f);
	peer_service(p);
}

static struct peer *peer_start(uint64_t seed)
{
	struct rdma_sim_fabric_opts fo;
	struct peer *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->P = P;
	rdma_sim_fabric_opts_init(&fo);
	fo.seed = seed;
	fo.exec_delay_max = 2;
	fo.cqe_delay_max = 2;
	fo.cm_delay_max = 2;
	assert_int_equal(rdma_sim_fabric_create(&fo, &p->f), 0);
	assert_int_equal(rdma_sim_node_create(p->f, PEER_ADDR, &p->tn), 0);
	assert_int_equal(rdma_sim_node_create(p->f, "sim:2", &p->hn), 0);
	assert_int_equal(P->ctx_open(p->tn, &p->ctx), 0);
	assert_int_equal(P->channel_create(p->ctx, &p->ch), 0);
	assert_int_equal(P->cm_listen(p->ch, PEER_ADDR, PEER_PORT, 16, p, &p->lid), 0);
	assert_int_equal(P->ctx_get_devices(p->ctx, &p->dev, 1), 1);
	assert_int_equal(P->pd_alloc(p->dev, &p->pd), 0);
	assert_int_equal(P->cq_create(p->dev, 8192, false, &p->cq), 0);
	p->arena = calloc(PEER_MAXC * PEER_NRECV, sizeof(*p->arena));
	assert_non_null(p->arena);
	assert_int_equal(P->mr_reg(p->pd, p->arena, PEER_MAXC * PEER_NRECV * sizeof(*p->arena),
	                           RDMA_PROV_ACCESS_LOCAL_WRITE, &p->mr),
	                 0);
	for (uint32_t i = 0; i < sizeof(p->disk); i++)
		p->disk[i] = (uint8_t)(i * 7 + 3);
	return p;
}

/* Everything of both ends must be gone: the host cleaned up after itself. */
static void peer_stop(struct peer *p)
{
	struct rdma_sim_counts cnt;

	for (uint32_t i = 0; i < PEER_MAXC; i++)
		if (p->conns[i].used)
			peer_close(p, &p->conns[i]);
	for (int i = 0; i < 1000; i++) {
		bool busy = false;

		peer_progress(p);
		for (uint32_t c = 0; c < PEER_MAXC; c++)
			busy |= p->conns[c].used;
		if (!busy && rdma_sim_fabric_idle(p->f))
			break;
	}
	for (uint32_t i = 0; i < PEER_MAXC; i++)
		assert_false(p->conns[i].used);
	assert_int_equal(P->mr_dereg(p->mr), 0);
	assert_int_equal(P->cq_destroy(p->cq), 0);
	assert_int_equal(P->pd_free(p->pd), 0);
	assert_int_equal(P->id_destroy(p->lid), 0);
	assert_int_equal(P->channel_destroy(p->ch), 0);
	assert_int_equal(P->ctx_close(p->ctx), 0);
	rdma_sim_fabric_counts(p->f, &cnt);
	assert_int_equal(rdma_sim_counts_total(&cnt), 0);
	assert_int_equal(rdma_sim_fabric_destroy(p->f), 0);
	free(p->arena);
	free(p);
}

static void host_opts_sim(struct unvmf_host_opts *o, struct peer *p)
{
	unvmf_host_opts_init(o);
	strcpy(o->rdma_provider, "sim");
	o->rdma_provider_arg = p->hn;
	o->rdma_progress = peer_progress;
	o->rdma_progress_arg = p;
	o->kato_ms = 0;
	o->io_queue_size = 16;
	o->rdma_retry_count = 3;
}

static void trid_sim(struct unvmf_trid *t)
{
	assert_int_equal(unvmf_trid_parse(t, "trtype:RDMA traddr:" PEER_ADDR " trsvcid:4420 "
	                                     "subnqn:" TEST_NQN),
	                 0);
	assert_int_equal(t->trtype, NVMF_TRTYPE_RDMA);
}

struct io_wait {
	int done;
	struct nvme_cqe cqe[64];
};

static void io_done(void *arg, const struct nvme_cqe *cqe)
{
	struct io_wait *w = arg;

	if (w->done < 64)
		w->cqe[w->done] = *cqe;
	w->done++;
}

static int wait_n(struct unvmf_host_qpair *q, struct io_wait *w, int n)
{
	for (int i = 0; i < MAX_POLLS && w->done < n; i++) {
		int rc = unvmf_host_qpair_poll(q, 0);

		if (rc < 0)
			return rc;
	}
	return w->done >= n ? 0 : -ETIMEDOUT;
}

static void connect_both(struct peer *p, struct unvmf_host_ctrlr **ctrlr,
                         struct unvmf_host_qpair **q, bool mr_cache)
{
	struct unvmf_host_opts o;
	struct unvmf_host_error err;
	struct unvmf_trid t;

	host_opts_sim(&o, p);
	o.rdma_mr_cache = mr_cache;
	trid_sim(&t);
	assert_int_equal(unvmf_host_connect(&t, &o, ctrlr, &err), 0);
	assert_int_equal(unvmf_host_qpair_create(*ctrlr, 0, q, &err), 0);
}

/* --- tests --- */

static void test_reject_event_status(void **state)
{
	struct rdma_prov_cm_event ev = {0};
	struct nvmf_rdma_reject_private_data rej = {.recfmt = 0,
	                                            .sts = NVMF_RDMA_CM_INVALID_HRQSIZE};

	ev.type = RDMA_PROV_CM_EVENT_REJECTED;
	ev.status = 28;
	memcpy(ev.param.private_data, &rej, sizeof(rej));
	ev.param.private_data_len = 148;
	assert_int_equal(host_rdma_reject_sts(&ev), NVMF_RDMA_CM_INVALID_HRQSIZE);
	ev.status = 8; /* no listener: no NVMe/RDMA status */
	assert_int_equal(host_rdma_reject_sts(&ev), 0);
	assert_string_equal(unvmf_host_rdma_cm_status_str(NVMF_RDMA_CM_INVALID_HSQSIZE),
	                    "Invalid HSQSIZE");
	assert_string_equal(unvmf_host_rdma_cm_status_str(0x99), "Unknown NVMe/RDMA CM Status");
}

static void test_connect_private_data_and_identify(void **state)
{
	struct peer *p = peer_start(1);
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	struct nvme_id_ctrl cd;

	connect_both(p, &ctrlr, &q, false);
	/* Admin queue: qid 0, 32 entries, dynamic cntlid. */
	assert_int_equal(p->seen.reqs, 2);
	assert_int_equal(p->seen.req[0].recfmt, 0);
	assert_int_equal(p->seen.req[0].qid, 0);
	assert_int_equal(p->seen.req[0].hrqsize, 32);
	assert_int_equal(p->seen.req[0].hsqsize, 31);
	assert_int_equal(p->seen.req[0].cntlid, 0xffff);
	/* I/O queue: the next qid, its size, the controller's cntlid. */
	assert_int_equal(p->seen.req[1].qid, 1);
	assert_int_equal(p->seen.req[1].hrqsize, 16);
	assert_int_equal(p->seen.req[1].hsqsize, 15);
	assert_int_equal(p->seen.req[1].cntlid, PEER_CNTLID);
	assert_true(p->seen.initiator_depth > 0);
	/* The I/O Connect's 1 KiB of data went in the capsule (IOCCSZ allows 4 KiB). */
	assert_int_equal(unvmf_host_ctrlr_cntlid(ctrlr), PEER_CNTLID);
	assert_int_equal(unvmf_host_ctrlr_in_capsule_size(ctrlr), PEER_ICD);
	assert_int_equal(unvmf_host_ctrlr_max_xfer(ctrlr), 4096u << PEER_MDTS);

	/* Admin data comes back by RDMA WRITE into a keyed SGL. */
	memset(&cd, 0, sizeof(cd));
	assert_int_equal(unvmf_host_identify_ctrlr(ctrlr, &cd), 0);
	assert_int_equal(p->seen.sgl_type, NVME_SGL_TYPE_KEYED_DATA_BLOCK);
	assert_int_equal(p->seen.sgl_subtype, NVME_SGL_SUBTYPE_ADDRESS);
	assert_int_equal(p->seen.ndesc, 1);
	assert_string_equal(cd.subnqn, TEST_NQN);
	assert_int_equal(cd.cntlid, PEER_CNTLID);

	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	assert_true(p->seen.disconnects >= 2);
	peer_stop(p);
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 31 + (i >> 9));
}

/* Writes then reads back len bytes at lba through iovecs cut in nseg pieces. */
static void rw_verify(struct peer *p, struct unvmf_host_qpair *q, uint64_t lba, uint32_t len,
                      int nseg, uint32_t seed)
{
	uint8_t *wbuf = malloc(len), *rbuf = malloc(len);
	struct iovec wiov[8], riov[8];
	struct io_wait w = {0};
	uint32_t off = 0;

	assert_true(nseg >= 1 && nseg <= 8);
	fill(wbuf, len, seed);
	memset(rbuf, 0, len);
	for (int i = 0; i < nseg; i++) {
		uint32_t l = i + 1 < nseg ? len / (uint32_t)nseg : len - off;

		wiov[i] = (struct iovec){wbuf + off, l};
		riov[i] = (struct iovec){rbuf + off, l};
		off += l;
	}
	assert_int_equal(unvmf_host_write(q, 1, lba, len / PEER_BLOCK, wiov, nseg, io_done, &w), 0);
	assert_int_equal(wait_n(q, &w, 1), 0);
	assert_int_equal(w.cqe[0].status.raw, 0);
	assert_memory_equal(p->disk + lba * PEER_BLOCK, wbuf, len);
	assert_int_equal(unvmf_host_read(q, 1, lba, len / PEER_BLOCK, riov, nseg, io_done, &w), 0);
	assert_int_equal(wait_n(q, &w, 2), 0);
	assert_int_equal(w.cqe[1].status.raw, 0);
	assert_memory_equal(rbuf, wbuf, len);
	free(wbuf);
	free(rbuf);
}

static void test_io_sgl_kinds(void **state)
{
	struct peer *p = peer_start(2);
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	struct io_wait w = {0};
	struct rdma_sim_counts base, now;

	connect_both(p, &ctrlr, &q, false);
	rdma_sim_fabric_counts(p->f, &base);

	/* Small write: in-capsule data block (offset subtype), read back keyed. */
	rw_verify(p, q, 0, 512, 1, 1);
	assert_int_equal(p->seen.sgl_type, NVME_SGL_TYPE_KEYED_DATA_BLOCK);
	rw_verify(p, q, 8, 4096, 1, 2);
	/* The write of rw_verify was the one before the read: check it by redoing it. */
	{
		uint8_t buf[4096];
		struct iovec iov = {buf, sizeof(buf)};

		fill(buf, sizeof(buf), 9);
		assert_int_equal(unvmf_host_write(q, 1, 16, 8, &iov, 1, io_done, &w), 0);
		assert_int_equal(wait_n(q, &w, 1), 0);
		assert_int_equal(p->seen.sgl_type, NVME_SGL_TYPE_DATA_BLOCK);
		assert_int_equal(p->seen.sgl_subtype, NVME_SGL_SUBTYPE_OFFSET);
		assert_int_equal(p->seen.icd_len, 4096);
		assert_int_equal(p->seen.capsule_len, 64 + 4096);
		assert_memory_equal(p->disk + 16 * PEER_BLOCK, buf, sizeof(buf));
	}
	/* Past the in-capsule size: keyed, the peer RDMA READs it. */
	rw_verify(p, q, 100, 16384, 1, 3);
	assert_int_equal(p->seen.ndesc, 1);
	rw_verify(p, q, 200, 65536, 1, 4);
	/* Several iovecs: a last-segment descriptor naming keyed descriptors in the capsule. */
	rw_verify(p, q, 400, 3 * 8192, 3, 5);
	assert_int_equal(p->seen.sgl_type, NVME_SGL_TYPE_LAST_SEGMENT);
	assert_int_equal(p->seen.ndesc, 3);
	assert_int_equal(p->seen.capsule_len, 64 + 3 * 16);
	/* No data: keyed SGL of length 0. */
	assert_int_equal(unvmf_host_flush(q, 1, io_done, &w), 0);
	assert_int_equal(wait_n(q, &w, 2), 0);
	assert_int_equal(w.cqe[1].status.raw, 0);
	assert_int_equal(p->seen.sgl_type, NVME_SGL_TYPE_KEYED_DATA_BLOCK);
	assert_int_equal(p->seen.ndesc, 0);

	/* Per-I/O registrations were all released at completion. */
	rdma_sim_fabric_counts(p->f, &now);
	assert_int_equal(now.mrs, base.mrs);

	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	peer_stop(p);
}

static void test_many_outstanding_reordered(void **state)
{
	struct peer *p = peer_start(3);
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	static uint8_t bufs[15][4096];
	struct iovec iov[15];
	struct io_wait w = {0};

	connect_both(p, &ctrlr, &q, true);
	rdma_sim_fabric_set_delays(p->f, 6, 6);
	for (int round = 0; round < 4; round++) {
		int base = w.done;

		for (int i = 0; i < 15; i++) {
			iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
			assert_int_equal(
			    unvmf_host_read(q, 1, (uint64_t)i * 8, 8, &iov[i], 1, io_done, &w), 0);
		}
		/* 16 entries: 15 commands outstanding, the next waits for a slot. */
		assert_int_equal(unvmf_host_qpair_outstanding(q), 15);
		assert_int_equal(unvmf_host_read(q, 1, 0, 8, &iov[0], 1, io_done, &w), -EAGAIN);
		assert_int_equal(wait_n(q, &w, base + 15), 0);
		for (int i = 0; i < 15; i++)
			assert_memory_equal(bufs[i], p->disk + (size_t)i * 8 * PEER_BLOCK, 4096);
	}
	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	peer_stop(p);
}

static void test_mr_cache_keeps_registrations(void **state)
{
	struct peer *p = peer_start(4);
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	struct rdma_sim_counts base, now;
	uint8_t *buf = aligned_alloc(4096, 16384);
	struct iovec iov = {buf, 16384};
	struct io_wait w = {0};

	connect_both(p, &ctrlr, &q, true);
	rdma_sim_fabric_counts(p->f, &base);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(unvmf_host_read(q, 1, 32, 32, &iov, 1, io_done, &w), 0);
		assert_int_equal(wait_n(q, &w, i + 1), 0);
		assert_int_equal(w.cqe[i].status.raw, 0);
	}
	/* One registration, kept and reused by all five reads. */
	rdma_sim_fabric_counts(p->f, &now);
	assert_int_equal(now.mrs, base.mrs + 1);
	assert_int_equal(((struct host_rdma_conn *)q->tctx)->mrc.regs, 1);
	assert_int_equal(((struct host_rdma_conn *)q->tctx)->mrc.hits, 4);
	/* A sub-range of a cached buffer is found too. */
	iov = (struct iovec){buf + 4096, 4096};
	assert_int_equal(unvmf_host_read(q, 1, 32, 8, &iov, 1, io_done, &w), 0);
	assert_int_equal(wait_n(q, &w, 6), 0);
	assert_int_equal(((struct host_rdma_conn *)q->tctx)->mrc.regs, 1);
	assert_memory_equal(buf + 4096, p->disk + 32 * PEER_BLOCK, 4096);
	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	peer_stop(p);
	free(buf);
}

static void test_crqsize_limits_depth(void **state)
{
	struct peer *p = peer_start(5);
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	uint8_t buf[512];
	struct iovec iov = {buf, sizeof(buf)};
	struct io_wait w = {0};

	p->crqsize = 4;
	connect_both(p, &ctrlr, &q, false);
	for (int i = 0; i < 4; i++)
		assert_int_equal(unvmf_host_read(q, 1, 0, 1, &iov, 1, io_done, &w), 0);
	assert_int_equal(unvmf_host_read(q, 1, 0, 1, &iov, 1, io_done, &w), -EAGAIN);
	assert_int_equal(wait_n(q, &w, 4), 0);
	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	peer_stop(p);
}

static void test_reject_status(void **state)
{
	struct peer *p = peer_start(6);
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q = NULL;
	struct unvmf_host_opts o;
	struct unvmf_host_error err;
	struct unvmf_trid t;

	host_opts_sim(&o, p);
	trid_sim(&t);
	assert_int_equal(unvmf_host_connect(&t, &o, &ctrlr, &err), 0);
	p->reject_sts = NVMF_RDMA_CM_INVALID_HSQSIZE;
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &q, &err), -ECONNREFUSED);
	assert_null(q);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_RDMA_CM);
	assert_int_equal(err.rc, -ECONNREFUSED);
	assert_int_equal(err.rdma_reject_sts, NVMF_RDMA_CM_INVALID_HSQSIZE);
	/* The qid went back: a later qpair gets qid 1 again. */
	p->reject_sts = 0;
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &q, &err), 0);
	assert_int_equal(unvmf_host_qpair_qid(q), 1);
	unvmf_host_qpair_destroy(q);
	unvmf_host_disconnect(ctrlr);
	peer_stop(p);
}

static void test_connect_errors(void **state)
{
	struct peer *p = peer_start(7);
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_opts o;
	struct unvmf_host_error err;
	struct unvmf_trid t;

	trid_sim(&t);
	host_opts_sim(&o, p);
	strcpy(o.rdma_provider, "nope");
	assert_int_equal(unvmf_host_connect(&t, &o, &ctrlr, &err), -EPROTONOSUPPORT);
	host_opts_sim(&o, p);
	o.rdma_progress = NULL;
	assert_int_equal(unvmf_host_connect(&t, &o, &ctrlr, &err), -EINVAL);
	/* No such node: address resolution fails. */
	host_opts_sim(&o, p);
	strcpy(t.traddr, "sim:9");
	assert_int_equal(unvmf_host_connect(&t, &o, &ctrlr, &err), -EHOSTUNREACH);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_SOCKET);
	/* No listener on the port: rejected without an NVMe/RDMA status. */
	trid_sim(&t);
	strcpy(t.trsvcid, "4421");
	assert_int_equal(unvmf_host_connect(&t, &o, &ctrlr, &err), -ECONNREFUSED);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_RDMA_CM);
	assert_int_equal(err.rdma_reject_sts, 0);
	assert_null(ctrlr);
	peer_stop(p);
}

struct fail_case {
	const char *name;
	int kind; /* 0 host SEND fails, 1 peer RDMA access with a bad rkey, 2 CM disconnect */
};

/*
 * With commands outstanding, the connection fails; every command is called
 * back with Command Aborted due to SQ Deletion, the qpair reports the error
 * from then on, refuses submissions, and tears down without leaking.
 */
static void run_failure(struct fail_case *fc, uint64_t seed)
{
	struct peer *p = peer_start(seed);
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *q;
	static uint8_t bufs[8][8192];
	struct iovec iov[8];
	struct io_wait w = {0};
	int rc = 0, fault_id = 0;

	connect_both(p, &ctrlr, &q, fc->kind == 1);
	if (fc->kind == 0) {
		struct rdma_sim_fault f = {.kind = RDMA_SIM_FAULT_FAIL_WR,
		                           .opcode = RDMA_PROV_WR_SEND,
		                           .nth = 4,
		                           .status = RDMA_PROV_WC_RETRY_EXC_ERR,
		                           .qp_num =
		                               P->qp_num(((struct host_rdma_conn *)q->tctx)->qp)};

		fault_id = rdma_sim_fault_add(p->f, &f);
		assert_true(fault_id > 0);
	} else if (fc->kind == 1) {
		p->bad_rkey = true;
	} else {
		p->hold_responses = true;
	}
	for (int i = 0; i < 8; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		if (i % 2)
			assert_int_equal(
			    unvmf_host_write(q, 1, (uint64_t)i * 16, 16, &iov[i], 1, io_done, &w),
			    0);
		else
			assert_int_equal(
			    unvmf_host_read(q, 1, (uint64_t)i * 16, 16, &iov[i], 1, io_done, &w),
			    0);
	}
	if (fc->kind == 2) {
		struct host_rdma_conn *c = q->tctx;

		for (int i = 0; i < 2000 && p->seen.held < 8; i++)
			assert_true(unvmf_host_qpair_poll(q, 0) >= 0);
		assert_int_equal(p->seen.held, 8);
		assert_int_equal(rdma_sim_inject_disconnect(c->id, true), 0);
	}
	for (int i = 0; i < MAX_POLLS && rc >= 0; i++)
		rc = unvmf_host_qpair_poll(q, 0);
	assert_int_equal(rc, -ECONNRESET);
	assert_int_equal(w.done, 8);
	for (int i = 0; i < 8; i++) {
		/* Those the controller answered before the failure are fine; the rest aborted. */
		if (w.cqe[i].status.raw != 0) {
			assert_int_equal(w.cqe[i].status.s.sct, NVME_SCT_GENERIC);
			assert_int_equal(w.cqe[i].status.s.sc, NVME_SC_ABORTED_SQ_DELETION);
		}
	}
	if (fc->kind == 2)
		for (int i = 0; i < 8; i++)
			assert_int_equal(w.cqe[i].status.s.sc, NVME_SC_ABORTED_SQ_DELETION);
	assert_int_equal(unvmf_host_qpair_outstanding(q), 0);
	assert_int_equal(unvmf_host_qpair_poll(q, 0), -ECONNRESET);
	assert_int_equal(unvmf_host_read(q, 1, 0, 16, &iov[0], 1, io_done, &w), -ENXIO);
	{
		struct host_rdma_conn *c = q->tctx;

		/*
		 * A peer-side error reaches us as flushes; our own failed SEND may still
		 * sit in the CQ behind the flushes (reaped at destroy).
		 */
		if (fc->kind == 0)
			assert_int_equal(rdma_sim_fault_fired(p->f, fault_id), 1);
		if (fc->kind == 1)
			assert_true(c->wc_errors[RDMA_PROV_WC_WR_FLUSH_ERR] >= 1);
	}
	unvmf_host_qpair_destroy(q);
	/* The peer's own error completion may still be on its way. */
	for (int i = 0; i < 1000 && fc->kind == 1 && p->seen.wc_errors == 0; i++)
		peer_progress(p);
	if (fc->kind == 1)
		assert_true(p->seen.wc_errors >= 1);
	/* The admin queue on its own connection is unaffected. */
	{
		struct nvme_id_ctrl cd;

		assert_int_equal(unvmf_host_identify_ctrlr(ctrlr, &cd), 0);
	}
	unvmf_host_disconnect(ctrlr);
	peer_stop(p);
}

static void test_fail_send_error(void **state)
{
	struct fail_case fc = {"send RETRY_EXC_ERR", 0};

	for (uint64_t seed = 10; seed < 16; seed++)
		run_failure(&fc, seed);
}

static void test_fail_remote_access(void **state)
{
	struct fail_case fc = {"peer bad rkey", 1};

	for (uint64_t seed = 20; seed < 26; seed++)
		run_failure(&fc, seed);
}

static void test_fail_disconnect(void **state)
{
	struct fail_case fc = {"CM disconnect", 2};

	for (uint64_t seed = 30; seed < 36; seed++)
		run_failure(&fc, seed);
}

/* The host's QP goes to ERR in the middle of traffic (after its Nth RECV). */
static void test_fail_qp_err_midstream(void **state)
{
	for (uint32_t nth = 1; nth <= 12; nth++) {
		struct peer *p = peer_start(40 + nth);
		struct unvmf_host_ctrlr *ctrlr;
		struct unvmf_host_qpair *q;
		static uint8_t buf[4][4096];
		struct iovec iov[4];
		struct io_wait w = {0};
		struct rdma_sim_fault f = {
		    .kind = RDMA_SIM_FAULT_QP_ERR_AFTER, .opcode = RDMA_PROV_WR_RECV, .nth = nth};
		int rc = 0, submitted = 0;

		connect_both(p, &ctrlr, &q, false);
		f.qp_num = P->qp_num(((struct host_rdma_conn *)q->tctx)->qp);
		assert_true(rdma_sim_fault_add(p->f, &f) > 0);
		for (int i = 0; i < MAX_POLLS && rc >= 0; i++) {
			for (int k = 0; k < 4 && submitted - w.done < 4; k++) {
				iov[k] = (struct iovec){buf[k], sizeof(buf[k])};
				if (unvmf_host_write(q, 1, (uint64_t)k * 8, 8, &iov[k], 1, io_done,
				                     &w) == 0)
					submitted++;
			}
			rc = unvmf_host_qpair_poll(q, 0);
		}
		assert_int_equal(rc, -ECONNRESET);
		assert_int_equal(w.done, submitted);
		assert_int_equal(unvmf_host_qpair_outstanding(q), 0);
		unvmf_host_qpair_destroy(q);
		unvmf_host_disconnect(ctrlr);
		peer_stop(p);
	}
}

static int setup(void **state)
{
	P = rdma_provider_get("sim");
	return P ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reject_event_status),
	    cmocka_unit_test(test_connect_private_data_and_identify),
	    cmocka_unit_test(test_io_sgl_kinds),
	    cmocka_unit_test(test_many_outstanding_reordered),
	    cmocka_unit_test(test_mr_cache_keeps_registrations),
	    cmocka_unit_test(test_crqsize_limits_depth),
	    cmocka_unit_test(test_reject_status),
	    cmocka_unit_test(test_connect_errors),
	    cmocka_unit_test(test_fail_send_error),
	    cmocka_unit_test(test_fail_remote_access),
	    cmocka_unit_test(test_fail_disconnect),
	    cmocka_unit_test(test_fail_qp_err_midstream),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
