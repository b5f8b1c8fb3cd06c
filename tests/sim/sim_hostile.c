/*
 * The hostile host (sim_hostile.h): episodes of misbehaviour against the
 * target, each checked for the answer the protocol gives it. Like the other
 * hosts it never waits: every step of an episode is a phase that the next
 * poll moves on once its event or response has arrived.
 *
 * The target's counters are read directly (same process): an episode
 * records which of capsules_beyond_queue, the RNR_RETRY_EXC_ERR completions
 * and connect_timeouts moved while it ran. The well-behaved hosts never move
 * them, so what moved is the hostile host's doing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_hostile.h"
#include "nvmf/nvmf_internal.h"
#include "transport/rdma/rdma_internal.h"
#include "unvmf/nvmf_spec.h"
#include "util/common.h"

_Static_assert(SIM_HA_NUM == SIM_HOSTILE_ACTIONS, "sim.h sizes the action table");
_Static_assert(SIM_HO_NUM == SIM_HOSTILE_OUTCOMES, "sim.h sizes the outcome table");

#define HQ_SLOTS 64			/* command buffers and response receives per queue */
#define HQ_CAPSULE (64u + 16384u)	/* room for a capsule longer than the target takes */
#define HQ_MAX 8			/* queues an episode may hold (NO_CONNECT's flood) */
#define HQ_ADMIN_QSIZE 16
#define EP_BOUND 400			/* steps an action may take to show its outcome */
#define EP_SETUP_BOUND 1500		/* steps a setup step (CM, Connect, CC.EN) may take */
#define HOSTILE_ADDR "sim:evil"
#define HOSTILE_HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:ba0ba0ba-0000-0000-0000-000000000666"
#define HOSTILE_TAIL 0x6b

enum hq_cm { HQ_OFF, HQ_RESOLVING, HQ_CONNECTING, HQ_ESTABLISHED };

/* One queue of the hostile host: its own CQ, QP and buffers. */
struct sim_hq {
	struct sim_hostile *x;
	uint16_t qid, qsize;
	enum hq_cm cm;
	bool ended;		/* CM DISCONNECTED / REJECTED, or an error completion */
	uint32_t recvs_initial;	/* receives posted at creation; reposted only if repost */
	bool repost;
	struct rdma_prov_id *id;
	struct rdma_prov_cq *cq;
	struct rdma_prov_qp *qp;
	uint8_t *cmds, *rsps, *data;
	struct rdma_prov_mr *cmd_mr, *rsp_mr, *data_mr;
	bool done[HQ_SLOTS];
	uint16_t status[HQ_SLOTS];	/* SCT << 8 | SC */
	uint32_t cdw0[HQ_SLOTS];
};

enum ep_phase {
	EP_IDLE,
	EP_ADMIN_CM,
	EP_ADMIN_FC,
	EP_ENABLE,
	EP_READY,
	EP_IO_CM,
	EP_IO_FC,
	EP_ACT,
	EP_OBSERVE,
};

struct sim_episode {
	enum sim_hostile_action action;
	enum ep_phase phase;
	uint64_t phase_since;
	uint64_t next_start;
	uint16_t cntlid;
	uint32_t nbare;		/* NO_CONNECT: bare connections */
	uint32_t sent;		/* commands of the action */
	uint32_t nblocks, sgl_len;
	bool probing;		/* the follow-up command that shows the qpair still serves */
	uint64_t base[3];	/* target counters when the action started */
	char detail[160];
};

static const char *const g_action_names[SIM_HA_NUM] = {
    [SIM_HA_SGL_LONGER] = "sgl_longer_than_data",
    [SIM_HA_SGL_SHORTER] = "sgl_shorter_than_data",
    [SIM_HA_BAD_KEY] = "bad_rkey",
    [SIM_HA_BAD_OFFSET] = "address_past_mr",
    [SIM_HA_CAPSULE_FLOOD] = "capsules_beyond_queue",
    [SIM_HA_NO_RECV] = "no_receives_for_responses",
    [SIM_HA_SHORT_CAPSULE] = "short_capsule",
    [SIM_HA_BIG_CAPSULE] = "oversized_capsule",
    [SIM_HA_NO_CONNECT] = "connect_never_sent",
    [SIM_HA_DUP_QID] = "duplicate_qid",
    [SIM_HA_AER_FLOOD] = "aer_flood",
    [SIM_HA_ABORT_FLOOD] = "abort_flood",
};

static const char *const g_outcome_names[SIM_HO_NUM] = {
    [SIM_HO_OK] = "ok",
    [SIM_HO_STATUS] = "command_status",
    [SIM_HO_QP_ENDED] = "qpair_ended",
    [SIM_HO_WRONG] = "WRONG",
    [SIM_HO_HANG] = "HANG",
};

const char *sim_hostile_action_name(enum sim_hostile_action a)
{
	return a < SIM_HA_NUM ? g_action_names[a] : "?";
}

const char *sim_hostile_outcome_name(enum sim_hostile_outcome o)
{
	return o < SIM_HO_NUM ? g_outcome_names[o] : "?";
}

enum sim_hostile_outcome sim_hostile_expected(enum sim_hostile_action a)
{
	switch (a) {
	case SIM_HA_SGL_LONGER:
	case SIM_HA_ABORT_FLOOD:
		return SIM_HO_OK;
	case SIM_HA_SGL_SHORTER:
	case SIM_HA_DUP_QID:
	case SIM_HA_AER_FLOOD:
		return SIM_HO_STATUS;
	default:
		return SIM_HO_QP_ENDED;
	}
}

/* ---------------- the target's counters ---------------- */

static void target_counters(uint64_t out[3])
{
	struct rdma_transport *rt;

	out[0] = out[1] = out[2] = 0;
	if (g_tgt.num_transports == 0)
		return;
	rt = UNVMF_CONTAINER_OF(g_tgt.transports[0], struct rdma_transport, base);
	for (unsigned i = 0; i < g_tgt.num_groups; i++) {
		struct unvmf_poll_group *pg = g_tgt.groups[i];
		struct unvmf_transport_poll_group *tg = pg ? pg->tgroups[rt->base.slot] : NULL;

		if (!pg)
			continue;
		out[2] += pg->stats.connect_timeouts;
		if (!tg)
			continue;
		out[0] += rdma_group_from(tg)->stats.capsules_beyond_queue;
		out[1] += rdma_group_from(tg)->wc.by_status[RDMA_PROV_WC_RNR_RETRY_EXC_ERR];
	}
}

/* ---------------- one queue ---------------- */

static void hq_post_recv(struct sim_hq *q, uint32_t i)
{
	const struct rdma_provider *p = q->x->prov;
	struct rdma_prov_sge sge = {.addr = (uint64_t)(uintptr_t)(q->rsps + (size_t)i * 16),
				    .length = 16,
				    .lkey = p->mr_lkey(q->rsp_mr)};
	struct rdma_prov_recv_wr wr = {.wr_id = i, .sg_list = &sge, .num_sge = 1}, *bad;

	p->qp_post_recv(q->qp, &wr, &bad);
}

static void hq_free(struct sim_hq *q)
{
	const struct rdma_provider *p = q->x->prov;
	struct sim_hostile *x = q->x;

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
	memset(q, 0, sizeof(*q));
	q->x = x;
}

/* Starts a connection for qid; recvs response receives are posted (reposted if repost). */
static struct sim_hq *hq_begin(struct sim_hostile *x, uint16_t qid, uint16_t qsize,
			       uint32_t recvs, bool repost)
{
	struct sim_hq *q;

	if (x->num_qs == HQ_MAX)
		return NULL;
	q = &x->qs[x->num_qs++];
	q->x = x;
	q->qid = qid;
	q->qsize = qsize;
	q->recvs_initial = UNVMF_MIN(recvs, HQ_SLOTS);
	q->repost = repost;
	q->cmds = calloc(HQ_SLOTS, HQ_CAPSULE);
	q->rsps = calloc(HQ_SLOTS, 16);
	q->data = calloc(HQ_SLOTS, x->w->max_io);
	if (!q->cmds || !q->rsps || !q->data)
		return NULL;
	q->cm = HQ_RESOLVING;
	if (x->prov->cm_resolve(x->ch, HOSTILE_ADDR, "sim:tgt", SIM_PORT, 1000, q, &q->id)) {
		q->ended = true;
		q->id = NULL;
	}
	return q;
}

static int hq_route_resolved(struct sim_hq *q)
{
	struct sim_hostile *x = q->x;
	const struct rdma_provider *p = x->prov;
	struct rdma_prov_device *dev = p->id_get_device(q->id);
	struct rdma_prov_qp_init init = {0};
	struct rdma_prov_conn_param param = {0};
	struct nvmf_rdma_request_private_data pd = {0};
	int rc;

	if ((rc = p->cq_create(dev, 4 * HQ_SLOTS + 16, false, &q->cq)) ||
	    (rc = p->mr_reg(x->pd, q->cmds, (size_t)HQ_SLOTS * HQ_CAPSULE, 0, &q->cmd_mr)) ||
	    (rc = p->mr_reg(x->pd, q->rsps, (size_t)HQ_SLOTS * 16, RDMA_PROV_ACCESS_LOCAL_WRITE,
			    &q->rsp_mr)) ||
	    (rc = p->mr_reg(x->pd, q->data, (size_t)HQ_SLOTS * x->w->max_io,
			    RDMA_PROV_ACCESS_LOCAL_WRITE | RDMA_PROV_ACCESS_REMOTE_READ |
				RDMA_PROV_ACCESS_REMOTE_WRITE,
			    &q->data_mr)))
		return rc;
	init.pd = x->pd;
	init.send_cq = q->cq;
	init.recv_cq = q->cq;
	init.max_send_wr = 2 * HQ_SLOTS;
	init.max_recv_wr = HQ_SLOTS;
	init.max_send_sge = 1;
	init.max_recv_sge = 1;
	init.max_dest_rd_atomic = 4;
	init.user_ctx = q;
	rc = p->qp_create(q->id, &init, &q->qp);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < q->recvs_initial; i++)
		hq_post_recv(q, i);
	pd.qid = q->qid;
	pd.hrqsize = q->qsize;
	pd.hsqsize = (uint16_t)(q->qsize - 1);
	pd.cntlid = q->qid ? q->x->ep->cntlid : NVMF_CNTLID_DYNAMIC;
	memcpy(param.private_data, &pd, sizeof(pd));
	param.private_data_len = sizeof(pd);
	param.responder_resources = 4;
	param.retry_count = 6;
	param.rnr_retry_count = 6;
	q->cm = HQ_CONNECTING;
	return p->cm_connect(q->id, &param);
}

/*
 * Sends capsule slot (cid % HQ_SLOTS) of clen bytes: sqe with a keyed SGL of
 * sgl_len bytes at the slot's data buffer (address + addr_off, key ^ key_xor),
 * or none when sgl_len is 0.
 */
static int hq_send(struct sim_hq *q, uint16_t cid, const void *sqe, uint32_t sgl_len,
		   uint64_t addr_off, uint32_t key_xor, uint32_t clen)
{
	const struct rdma_provider *p = q->x->prov;
	uint32_t slot = cid % HQ_SLOTS;
	uint8_t *capsule = q->cmds + (size_t)slot * HQ_CAPSULE;
	struct nvme_sqe *cmd = (struct nvme_sqe *)capsule;
	struct rdma_prov_sge sge;
	struct rdma_prov_send_wr wr = {0}, *bad;

	memcpy(cmd, sqe, sizeof(*cmd));
	cmd->cid = cid;
	cmd->psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	memset(&cmd->dptr, 0, sizeof(cmd->dptr));
	if (sgl_len) {
		cmd->dptr.sgl1.keyed.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK;
		cmd->dptr.sgl1.keyed.subtype = NVME_SGL_SUBTYPE_ADDRESS;
		cmd->dptr.sgl1.keyed.address =
		    (uint64_t)(uintptr_t)(q->data + (size_t)slot * q->x->w->max_io) + addr_off;
		cmd->dptr.sgl1.keyed.length = sgl_len;
		cmd->dptr.sgl1.keyed.key = p->mr_rkey(q->data_mr) ^ key_xor;
	}
	q->done[slot] = false;
	sge = (struct rdma_prov_sge){
	    .addr = (uint64_t)(uintptr_t)capsule, .length = clen, .lkey = p->mr_lkey(q->cmd_mr)};
	wr.wr_id = cid;
	wr.opcode = RDMA_PROV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.signaled = true;
	return p->qp_post_send(q->qp, &wr, &bad);
}

static int hq_cmd(struct sim_hq *q, uint16_t cid, const void *sqe, uint32_t sgl_len)
{
	return hq_send(q, cid, sqe, sgl_len, 0, 0, 64);
}

static int hq_fabric_connect(struct sim_hq *q, uint16_t cid)
{
	struct sim_hostile *x = q->x;
	struct nvmf_connect_cmd cmd = {0};
	struct nvmf_connect_data d = {0};

	for (int i = 0; i < 16; i++)
		d.hostid[i] = (uint8_t)(0xb0 + i);
	d.cntlid = q->qid ? x->ep->cntlid : NVMF_CNTLID_DYNAMIC;
	unvmf_strlcpy(d.subnqn, SIM_SUBNQN, sizeof(d.subnqn));
	unvmf_strlcpy(d.hostnqn, HOSTILE_HOSTNQN, sizeof(d.hostnqn));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.qid = q->qid;
	cmd.sqsize = (uint16_t)(q->qsize - 1);
	/* Long enough for any episode: it sends no Keep Alive of its own. */
	cmd.kato = q->qid ? 0 : 60000;
	memcpy(q->data + (size_t)(cid % HQ_SLOTS) * x->w->max_io, &d, sizeof(d));
	return hq_cmd(q, cid, &cmd, sizeof(d));
}

static int hq_prop(struct sim_hq *q, uint16_t cid, bool set, uint32_t ofst, uint64_t value)
{
	struct nvmf_property_set_cmd cmd = {0};

	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = set ? NVMF_FCTYPE_PROPERTY_SET : NVMF_FCTYPE_PROPERTY_GET;
	cmd.ofst = ofst;
	cmd.value = value;
	return hq_cmd(q, cid, &cmd, 0);
}

static int hq_simple(struct sim_hq *q, uint16_t cid, uint8_t opc, uint32_t nsid, uint32_t cdw10)
{
	struct nvme_sqe sqe = {0};

	sqe.opc = opc;
	sqe.nsid = nsid;
	sqe.cdw10 = cdw10;
	return hq_cmd(q, cid, &sqe, 0);
}

static void hq_poll(struct sim_hq *q)
{
	const struct rdma_provider *p = q->x->prov;
	struct rdma_prov_wc wc[16];
	int n;

	if (!q->cq)
		return;
	while ((n = p->cq_poll(q->cq, wc, 16)) > 0) {
		for (int i = 0; i < n; i++) {
			struct nvme_cqe cqe;
			uint32_t r = (uint32_t)wc[i].wr_id, slot;

			if (wc[i].status != RDMA_PROV_WC_SUCCESS) {
				q->ended = true;
				continue;
			}
			if (wc[i].opcode != RDMA_PROV_WC_RECV || r >= HQ_SLOTS)
				continue;
			memcpy(&cqe, q->rsps + (size_t)r * 16, sizeof(cqe));
			if (q->repost)
				hq_post_recv(q, r);
			slot = cqe.cid % HQ_SLOTS;
			q->done[slot] = true;
			q->status[slot] =
			    (uint16_t)(cqe.status.s.sct << 8 | cqe.status.s.sc);
			q->cdw0[slot] = cqe.cdw0;
		}
	}
}

static struct sim_hq *hq_of_id(struct sim_hostile *x, const struct rdma_prov_id *id)
{
	for (uint32_t i = 0; i < x->num_qs; i++)
		if (x->qs[i].id && x->qs[i].id == id)
			return &x->qs[i];
	return NULL;
}

static void hostile_cm_events(struct sim_hostile *x)
{
	struct rdma_prov_cm_event ev;

	while (x->prov->cm_get_event(x->ch, &ev) == 0) {
		struct sim_hq *q = hq_of_id(x, ev.id);

		if (!q)
			continue;
		switch (ev.type) {
		case RDMA_PROV_CM_EVENT_ROUTE_RESOLVED:
			if (q->cm != HQ_RESOLVING || hq_route_resolved(q) != 0)
				q->ended = true;
			break;
		case RDMA_PROV_CM_EVENT_ESTABLISHED:
			if (q->cm == HQ_CONNECTING)
				q->cm = HQ_ESTABLISHED;
			break;
		default:
			q->ended = true;
			break;
		}
	}
}

/* ---------------- episodes ---------------- */

static void ep_phase(struct sim_hostile *x, enum ep_phase ph)
{
	x->ep->phase = ph;
	x->ep->phase_since = x->w->step;
}

static void ep_close_all(struct sim_hostile *x)
{
	for (uint32_t i = 0; i < x->num_qs; i++)
		hq_free(&x->qs[i]);
	x->num_qs = 0;
}

static void ep_finish(struct sim_hostile *x, enum sim_hostile_outcome o)
{
	struct sim_episode *ep = x->ep;
	uint64_t now[3];
	unsigned causes = 0;

	target_counters(now);
	for (unsigned c = 0; c < 3; c++) {
		if (now[c] != ep->base[c]) {
			causes |= 1u << c;
			x->w->stats->hostile_cause[ep->action][c]++;
		}
	}
	/* An ended qpair must have been ended for the reason the action gave. */
	if (o == SIM_HO_QP_ENDED &&
	    ((ep->action == SIM_HA_NO_RECV && !(causes & SIM_HC_RNR)) ||
	     (ep->action == SIM_HA_NO_CONNECT && now[2] - ep->base[2] != ep->nbare))) {
		snprintf(ep->detail, sizeof(ep->detail),
			 "the qpair ended, but the counters moved by %lu/%lu/%lu "
			 "(beyond_queue/rnr/connect_timeouts)",
			 (unsigned long)(now[0] - ep->base[0]), (unsigned long)(now[1] - ep->base[1]),
			 (unsigned long)(now[2] - ep->base[2]));
		o = SIM_HO_WRONG;
	}
	x->w->stats->hostile[ep->action][o]++;
	if (o != sim_hostile_expected(ep->action) && !x->failure[0])
		snprintf(x->failure, sizeof(x->failure),
			 "hostile %s at step %lu: %s, expected %s%s%s", sim_hostile_action_name(ep->action),
			 (unsigned long)x->w->step, sim_hostile_outcome_name(o),
			 sim_hostile_outcome_name(sim_hostile_expected(ep->action)),
			 ep->detail[0] ? ": " : "", ep->detail);
	if (x->w->verbose)
		fprintf(stderr, "sim: step %lu hostile %s -> %s %s\n", (unsigned long)x->w->step,
			sim_hostile_action_name(ep->action), sim_hostile_outcome_name(o), ep->detail);
	ep_close_all(x);
	ep->phase = EP_IDLE;
	ep->next_start = x->w->step + sim_range(&x->rng, 5, 60);
}

/* The action's own setup failed (not what is under test): the seed says so. */
static void ep_setup_failed(struct sim_hostile *x, const char *what)
{
	snprintf(x->ep->detail, sizeof(x->ep->detail), "setup: %s", what);
	ep_finish(x, SIM_HO_WRONG);
}

static void ep_start(struct sim_hostile *x)
{
	struct sim_episode *ep = x->ep;

	memset(ep, 0, sizeof(*ep));
	ep->action = (enum sim_hostile_action)sim_range(&x->rng, 0, SIM_HA_NUM - 1);
	if (ep->action == SIM_HA_NO_CONNECT) {
		ep->nbare = sim_range(&x->rng, 1, HQ_MAX);
		for (uint32_t i = 0; i < ep->nbare; i++)
			hq_begin(x, (uint16_t)(i ? 1 : 0), x->max_qsize, HQ_SLOTS, true);
		target_counters(ep->base);
		ep_phase(x, EP_OBSERVE);
		return;
	}
	if (!hq_begin(x, 0, HQ_ADMIN_QSIZE, HQ_SLOTS, true)) {
		ep_setup_failed(x, "admin queue");
		return;
	}
	ep_phase(x, EP_ADMIN_CM);
}

static bool ep_needs_io(enum sim_hostile_action a)
{
	return a != SIM_HA_AER_FLOOD && a != SIM_HA_ABORT_FLOOD;
}

/* The I/O queue: the hostile ones post only the receive their Connect needs. */
static void ep_io_begin(struct sim_hostile *x)
{
	enum sim_hostile_action a = x->ep->action;
	bool starve = a == SIM_HA_NO_RECV || a == SIM_HA_CAPSULE_FLOOD;

	if (!hq_begin(x, 1, x->max_qsize, starve ? 1 : HQ_SLOTS, !starve)) {
		ep_setup_failed(x, "I/O queue");
		return;
	}
	ep_phase(x, EP_IO_CM);
}

static uint32_t ep_lba(struct sim_hostile *x, uint32_t n)
{
	return sim_range(&x->rng, 0, x->w->ns[0].num_blocks - n);
}

static void ep_act(struct sim_hostile *x)
{
	struct sim_episode *ep = x->ep;
	struct sim_hq *adm = &x->qs[0], *io = x->num_qs > 1 ? &x->qs[1] : NULL;
	uint32_t max_blocks = x->w->max_io / 512;
	struct nvme_sqe sqe = {0};

	target_counters(ep->base);
	switch (ep->action) {
	case SIM_HA_SGL_LONGER:
		ep->nblocks = sim_range(&x->rng, 1, max_blocks - 1);
		ep->sgl_len = sim_range(&x->rng, ep->nblocks + 1, max_blocks) * 512;
		memset(io->data, HOSTILE_TAIL, x->w->max_io);
		sqe.opc = 0x02;
		sqe.nsid = 1;
		sqe.cdw10 = ep_lba(x, ep->nblocks);
		sqe.cdw12 = ep->nblocks - 1;
		hq_cmd(io, 0, &sqe, ep->sgl_len);
		break;
	case SIM_HA_SGL_SHORTER:
		ep->nblocks = sim_range(&x->rng, 2, max_blocks);
		sqe.opc = 0x02;
		sqe.nsid = 1;
		sqe.cdw10 = ep_lba(x, ep->nblocks);
		sqe.cdw12 = ep->nblocks - 1;
		hq_cmd(io, 0, &sqe, sim_range(&x->rng, 1, ep->nblocks - 1) * 512);
		break;
	case SIM_HA_BAD_KEY:
		/* A write: were it ever executed, the bystanders' end check would see it. */
		ep->nblocks = sim_range(&x->rng, 1, max_blocks);
		sqe.opc = 0x01;
		sqe.nsid = 1;
		sqe.cdw10 = ep_lba(x, ep->nblocks);
		sqe.cdw12 = ep->nblocks - 1;
		hq_send(io, 0, &sqe, ep->nblocks * 512, 0, 0x5a5a0000u | sim_range(&x->rng, 1, 255),
			64);
		break;
	case SIM_HA_BAD_OFFSET:
		ep->nblocks = sim_range(&x->rng, 1, max_blocks);
		sqe.opc = 0x02;
		sqe.nsid = 1;
		sqe.cdw10 = ep_lba(x, ep->nblocks);
		sqe.cdw12 = ep->nblocks - 1;
		/* The last slot's buffer ends where the MR does: this runs past it. */
		hq_send(io, HQ_SLOTS - 1, &sqe, ep->nblocks * 512,
			x->w->max_io - 256 + sim_range(&x->rng, 0, 1) * 4096, 0, 64);
		break;
	case SIM_HA_CAPSULE_FLOOD:
		ep->sent = 2 * io->qsize + 2;
		for (uint32_t i = 0; i < ep->sent && i < 2 * HQ_SLOTS; i++)
			hq_simple(io, (uint16_t)i, 0x00, 1, 0);
		break;
	case SIM_HA_NO_RECV:
		ep->sent = sim_range(&x->rng, 1, io->qsize);
		for (uint32_t i = 0; i < ep->sent; i++)
			hq_simple(io, (uint16_t)i, 0x00, 1, 0);
		break;
	case SIM_HA_SHORT_CAPSULE:
		sqe.opc = 0x00;
		sqe.nsid = 1;
		hq_send(io, 0, &sqe, 0, 0, 0, sim_range(&x->rng, 1, 63));
		break;
	case SIM_HA_BIG_CAPSULE:
		sqe.opc = 0x00;
		sqe.nsid = 1;
		hq_send(io, 0, &sqe, 0, 0, 0,
			UNVMF_MIN(HQ_CAPSULE, x->capsule_size + sim_range(&x->rng, 1, 4096)));
		break;
	case SIM_HA_DUP_QID:
		if (!hq_begin(x, 1, x->max_qsize, HQ_SLOTS, true)) {
			ep_setup_failed(x, "second I/O queue");
			return;
		}
		break;
	case SIM_HA_AER_FLOOD:
		ep->sent = UNVMF_MAX_AER + sim_range(&x->rng, 1, HQ_ADMIN_QSIZE - UNVMF_MAX_AER - 2);
		for (uint32_t i = 0; i < ep->sent; i++)
			hq_simple(adm, (uint16_t)(10 + i), 0x0c, 0, 0);
		break;
	case SIM_HA_ABORT_FLOOD:
		ep->sent = HQ_ADMIN_QSIZE - 2;
		for (uint32_t i = 0; i < ep->sent; i++)
			hq_simple(adm, (uint16_t)(10 + i), 0x08, 0,
				  sim_range(&x->rng, 0, 1) | sim_range(&x->rng, 0, 0xffff) << 16);
		break;
	case SIM_HA_NO_CONNECT:
	case SIM_HA_NUM:
		break;
	}
	ep_phase(x, EP_OBSERVE);
}

static bool tail_intact(const struct sim_hostile *x)
{
	const uint8_t *buf = x->qs[1].data;

	for (uint32_t i = x->ep->nblocks * 512; i < x->ep->sgl_len; i++)
		if (buf[i] != HOSTILE_TAIL)
			return false;
	return true;
}

/*
 * After a command that failed alone (or succeeded), a Flush on the same queue
 * must still succeed: the qpair serves on. Returns true once decided.
 */
static bool ep_probe(struct sim_hostile *x, struct sim_hq *q, enum sim_hostile_outcome o)
{
	struct sim_episode *ep = x->ep;
	uint16_t cid = HQ_SLOTS - 2;

	if (!ep->probing) {
		ep->probing = true;
		if (q->qid)
			hq_simple(q, cid, 0x00, 1, 0);
		else
			hq_simple(q, cid, 0x18, 0, 0); /* Keep Alive */
		return false;
	}
	if (q->ended) {
		snprintf(ep->detail, sizeof(ep->detail), "the qpair ended after the command");
		ep_finish(x, SIM_HO_WRONG);
		return true;
	}
	if (!q->done[cid])
		return false;
	if (q->status[cid]) {
		snprintf(ep->detail, sizeof(ep->detail), "the follow-up command failed: 0x%x",
			 q->status[cid]);
		ep_finish(x, SIM_HO_WRONG);
		return true;
	}
	ep_finish(x, o);
	return true;
}

/* Steps the current action may take: bare connections wait for the Connect deadline. */
static uint64_t ep_bound(const struct sim_hostile *x)
{
	return x->ep->action == SIM_HA_NO_CONNECT ? x->connect_timeout_ms + EP_BOUND : EP_BOUND;
}

static void ep_observe(struct sim_hostile *x)
{
	struct sim_episode *ep = x->ep;
	struct sim_hq *adm = &x->qs[0], *io = x->num_qs > 1 ? &x->qs[1] : NULL;
	uint32_t n = 0;

	switch (ep->action) {
	case SIM_HA_SGL_LONGER:
		if (io->ended)
			break;
		if (ep->probing || io->done[0]) {
			if (!ep->probing && (io->status[0] || !tail_intact(x))) {
				snprintf(ep->detail, sizeof(ep->detail),
					 "status 0x%x, bytes past the data %s", io->status[0],
					 tail_intact(x) ? "untouched" : "WRITTEN");
				ep_finish(x, SIM_HO_WRONG);
				return;
			}
			ep_probe(x, io, SIM_HO_OK);
			return;
		}
		break;
	case SIM_HA_SGL_SHORTER:
		if (io->ended)
			break;
		if (ep->probing || io->done[0]) {
			if (!ep->probing && io->status[0] != NVME_SC_DATA_SGL_LENGTH_INVALID) {
				snprintf(ep->detail, sizeof(ep->detail),
					 "status 0x%x, not DATA_SGL_LENGTH_INVALID", io->status[0]);
				ep_finish(x, SIM_HO_WRONG);
				return;
			}
			ep_probe(x, io, SIM_HO_STATUS);
			return;
		}
		break;
	case SIM_HA_BAD_KEY:
	case SIM_HA_BAD_OFFSET:
	case SIM_HA_SHORT_CAPSULE:
	case SIM_HA_BIG_CAPSULE:
		n = ep->action == SIM_HA_BAD_OFFSET ? HQ_SLOTS - 1 : 0;
		if (!io->ended && io->done[n]) {
			snprintf(ep->detail, sizeof(ep->detail), "a response arrived (status 0x%x)",
				 io->status[n]);
			ep_finish(x, SIM_HO_WRONG);
			return;
		}
		break;
	case SIM_HA_CAPSULE_FLOOD:
	case SIM_HA_NO_RECV: {
		uint64_t now[3];

		/*
		 * Decided by the target's counters, which move in the poll that ends the
		 * qpair. Without SRQ the target's own receive queue is the flow control:
		 * the flood stalls at the NIC and the host's SENDs exhaust their RNR
		 * retries first; that ends the qpair too, with nothing for the target
		 * to count.
		 */
		target_counters(now);
		if (now[0] != ep->base[0] || now[1] != ep->base[1] ||
		    (x->no_srq && ep->action == SIM_HA_CAPSULE_FLOOD && io->ended)) {
			ep_finish(x, SIM_HO_QP_ENDED);
			return;
		}
		if (x->w->step - ep->phase_since > ep_bound(x))
			ep_finish(x, SIM_HO_HANG);
		return;
	}
	case SIM_HA_NO_CONNECT:
		for (uint32_t i = 0; i < x->num_qs; i++)
			n += x->qs[i].ended;
		if (n == x->num_qs) {
			ep_finish(x, SIM_HO_QP_ENDED);
			return;
		}
		break;
	case SIM_HA_DUP_QID: {
		struct sim_hq *dup = &x->qs[2];

		if (ep->probing) {
			ep_probe(x, io, SIM_HO_STATUS);
			return;
		}
		if (dup->cm == HQ_ESTABLISHED && !ep->sent) {
			ep->sent = 1;
			hq_fabric_connect(dup, 0);
		}
		if (dup->ended && !ep->sent) {
			ep_setup_failed(x, "the second connection of qid 1");
			return;
		}
		if (ep->sent && dup->done[0]) {
			if (!dup->status[0]) {
				snprintf(ep->detail, sizeof(ep->detail),
					 "the second Connect of qid 1 succeeded");
				ep_finish(x, SIM_HO_WRONG);
				return;
			}
			ep_probe(x, io, SIM_HO_STATUS);
			return;
		}
		break;
	}
	case SIM_HA_AER_FLOOD:
		if (adm->ended)
			break;
		if (ep->probing) {
			ep_probe(x, adm, SIM_HO_STATUS);
			return;
		}
		/* AERL + 1 wait for events; every one beyond gets the limit status now. */
		for (uint32_t i = 0; i < ep->sent; i++) {
			uint32_t s = (10 + i) % HQ_SLOTS;

			if (adm->done[s] &&
			    adm->status[s] != (NVME_SCT_COMMAND_SPECIFIC << 8 |
					       NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED)) {
				snprintf(ep->detail, sizeof(ep->detail), "an AER completed with 0x%x",
					 adm->status[s]);
				ep_finish(x, SIM_HO_WRONG);
				return;
			}
			n += adm->done[s];
		}
		if (n == ep->sent - UNVMF_MAX_AER)
			ep_probe(x, adm, SIM_HO_STATUS);
		return;
	case SIM_HA_ABORT_FLOOD:
		if (adm->ended)
			break;
		if (ep->probing) {
			ep_probe(x, adm, SIM_HO_OK);
			return;
		}
		for (uint32_t i = 0; i < ep->sent; i++)
			n += adm->done[(10 + i) % HQ_SLOTS];
		if (n == ep->sent)
			ep_probe(x, adm, SIM_HO_OK);
		return;
	case SIM_HA_NUM:
		break;
	}
	if ((io && io->ended) || adm->ended) {
		ep_finish(x, SIM_HO_QP_ENDED);
		return;
	}
	if (x->w->step - ep->phase_since > ep_bound(x))
		ep_finish(x, SIM_HO_HANG);
}

int sim_hostile_init(struct sim_hostile *x, struct sim_world *w, struct rdma_sim_node *node,
		     uint64_t seed, uint16_t max_qsize, uint32_t capsule_size, bool no_srq,
		     uint32_t connect_timeout_ms)
{
	struct rdma_prov_device *dev;
	int rc;

	memset(x, 0, sizeof(*x));
	x->w = w;
	x->node = node;
	x->rng = seed ^ 0x6b6b6b6b6b6b6b6bull;
	x->max_qsize = (uint16_t)UNVMF_MIN(max_qsize, HQ_SLOTS / 2);
	x->capsule_size = capsule_size;
	x->no_srq = no_srq;
	/* One step is one virtual millisecond (sim_run.c). */
	x->connect_timeout_ms = connect_timeout_ms;
	x->prov = rdma_provider_get("sim");
	x->qs = calloc(HQ_MAX, sizeof(*x->qs));
	x->ep = calloc(1, sizeof(*x->ep));
	if (!x->qs || !x->ep)
		return -ENOMEM;
	for (uint32_t i = 0; i < HQ_MAX; i++)
		x->qs[i].x = x;
	x->ep->next_start = sim_range(&x->rng, 20, 100);
	rc = x->prov->ctx_open(node, &x->ctx);
	if (rc)
		return rc;
	rc = x->prov->channel_create(x->ctx, &x->ch);
	if (rc)
		return rc;
	if (x->prov->ctx_get_devices(x->ctx, &dev, 1) != 1)
		return -ENODEV;
	return x->prov->pd_alloc(dev, &x->pd);
}

void sim_hostile_poll(struct sim_hostile *x)
{
	struct sim_episode *ep = x->ep;
	struct sim_hq *adm = &x->qs[0], *io = &x->qs[1];

	if (x->stopped)
		return;
	if (ep->phase == EP_IDLE) {
		if (x->w->step >= ep->next_start)
			ep_start(x);
		return;
	}
	hostile_cm_events(x);
	for (uint32_t i = 0; i < x->num_qs; i++)
		hq_poll(&x->qs[i]);
	if (ep->phase != EP_OBSERVE && x->w->step - ep->phase_since > EP_SETUP_BOUND) {
		ep_setup_failed(x, "a setup step never finished");
		return;
	}
	switch (ep->phase) {
	case EP_IDLE:
		break;
	case EP_ADMIN_CM:
		if (adm->ended)
			ep_setup_failed(x, "admin connection");
		else if (adm->cm == HQ_ESTABLISHED && !hq_fabric_connect(adm, 0))
			ep_phase(x, EP_ADMIN_FC);
		break;
	case EP_ADMIN_FC:
		if (adm->ended || (adm->done[0] && adm->status[0]))
			ep_setup_failed(x, "admin Fabrics Connect");
		else if (adm->done[0]) {
			ep->cntlid = (uint16_t)adm->cdw0[0];
			hq_prop(adm, 1, true, 0x14, (6u << 16) | (4u << 20) | 1u);
			ep_phase(x, EP_ENABLE);
		}
		break;
	case EP_ENABLE:
	case EP_READY:
		if (adm->ended || (adm->done[1] && adm->status[1]))
			ep_setup_failed(x, "CC.EN");
		else if (adm->done[1]) {
			if (ep->phase == EP_ENABLE || !(adm->cdw0[1] & 1)) {
				hq_prop(adm, 1, false, 0x1c, 0);
				ep_phase(x, EP_READY);
			} else if (ep_needs_io(ep->action)) {
				ep_io_begin(x);
			} else {
				ep_act(x);
			}
		}
		break;
	case EP_IO_CM:
		if (io->ended)
			ep_setup_failed(x, "I/O connection");
		else if (io->cm == HQ_ESTABLISHED && !hq_fabric_connect(io, 0))
			ep_phase(x, EP_IO_FC);
		break;
	case EP_IO_FC:
		if (io->ended || (io->done[0] && io->status[0]))
			ep_setup_failed(x, "I/O Fabrics Connect");
		else if (io->done[0])
			ep_act(x);
		break;
	case EP_ACT:
		ep_act(x);
		break;
	case EP_OBSERVE:
		ep_observe(x);
		break;
	}
}

void sim_hostile_stop(struct sim_hostile *x)
{
	/* An action still waiting past its bound hangs; one still within it is not counted. */
	if (x->ep->phase == EP_OBSERVE && x->w->step - x->ep->phase_since > ep_bound(x))
		ep_finish(x, SIM_HO_HANG);
	ep_close_all(x);
	x->stopped = true;
}

void sim_hostile_fini(struct sim_hostile *x)
{
	if (x->qs)
		ep_close_all(x);
	if (x->pd)
		x->prov->pd_free(x->pd);
	if (x->ch)
		x->prov->channel_destroy(x->ch);
	if (x->ctx)
		x->prov->ctx_close(x->ctx);
	free(x->qs);
	free(x->ep);
	x->qs = NULL;
	x->ep = NULL;
}

/* ---------------- the campaign's side ---------------- */

void sim_hostile_stats_merge(struct sim_stats *to, const struct sim_stats *from)
{
	for (unsigned a = 0; a < SIM_HA_NUM; a++) {
		for (unsigned o = 0; o < SIM_HO_NUM; o++)
			to->hostile[a][o] += from->hostile[a][o];
		for (unsigned c = 0; c < SIM_HOSTILE_CAUSES; c++)
			to->hostile_cause[a][c] += from->hostile_cause[a][c];
	}
}

unsigned sim_hostile_unreached(const struct sim_stats *t, FILE *f)
{
	unsigned n = 0;

	for (unsigned a = 0; a < SIM_HA_NUM; a++) {
		if (t->hostile[a][sim_hostile_expected(a)])
			continue;
		n++;
		if (f)
			fprintf(f, "  hostile %s never reached %s\n", sim_hostile_action_name(a),
				sim_hostile_outcome_name(sim_hostile_expected(a)));
	}
	/* The flood must also have been stopped by the queue-size bound itself at least once. */
	if (!t->hostile_cause[SIM_HA_CAPSULE_FLOOD][0]) {
		n++;
		if (f)
			fprintf(f, "  hostile %s never moved capsules_beyond_queue\n",
				sim_hostile_action_name(SIM_HA_CAPSULE_FLOOD));
	}
	return n;
}

void sim_hostile_report(FILE *f, const struct sim_stats *t)
{
	static const char *const causes[SIM_HOSTILE_CAUSES] = {"beyond_queue", "rnr_exceeded",
							       "connect_timeout"};

	fprintf(f, "\n## hostile actions x outcome (expected outcome marked *)\n");
	fprintf(f, "  %-26s", "action");
	for (unsigned o = 0; o < SIM_HO_NUM; o++)
		fprintf(f, " %15s", sim_hostile_outcome_name(o));
	fprintf(f, "   target counters that moved\n");
	for (unsigned a = 0; a < SIM_HA_NUM; a++) {
		fprintf(f, "  %-26s", sim_hostile_action_name(a));
		for (unsigned o = 0; o < SIM_HO_NUM; o++)
			fprintf(f, " %14" PRIu64 "%s", t->hostile[a][o],
				o == (unsigned)sim_hostile_expected(a) ? "*" : " ");
		fprintf(f, "  ");
		for (unsigned c = 0; c < SIM_HOSTILE_CAUSES; c++)
			if (t->hostile_cause[a][c])
				fprintf(f, " %s:%" PRIu64, causes[c], t->hostile_cause[a][c]);
		fprintf(f, "\n");
	}
	fprintf(f, "hostile actions never reaching their expected outcome: %u\n",
		sim_hostile_unreached(t, NULL));
	sim_hostile_unreached(t, f);
}
