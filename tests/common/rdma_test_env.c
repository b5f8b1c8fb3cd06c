#include "rdma_test_env.h"

#include "app/tgt_app.h"
#include "nvmf/nvmf_internal.h"
#include "rdma_sim.h"
#include "reactor/reactor.h"
#include "rpc/rpc.h"
#include "transport/rdma/rdma_opts.h"

const char *g_rte_rpc_path;

uint64_t rte_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------- target ---------------- */

void rte_listen_done(void *arg, int rc)
{
	struct rte *e = arg;
	struct unvmf_trid trid = {.trtype = NVMF_TRTYPE_RDMA, .adrfam = NVMF_ADRFAM_IPV4};

	if (!rc) {
		unvmf_strlcpy(trid.traddr, "sim:tgt", sizeof(trid.traddr));
		snprintf(trid.trsvcid, sizeof(trid.trsvcid), "%d", RTE_PORT);
		rc = unvmf_subsystem_add_listener(unvmf_subsystem_find(RTE_SUBNQN), &trid);
	}
	e->rc = rc;
	atomic_store(&e->ready, rc ? -1 : 1);
}

static void rte_groups_done(void *arg, int rc)
{
	struct rte *e = arg;
	struct unvmf_subsystem *subsys;
	struct unvmf_bdev *bdev;

	if (rc)
		goto fail;
	rc = unvmf_bdev_malloc_create("Malloc0", RTE_NS_BLOCKS, 512, NULL, &bdev);
	if (rc)
		goto fail;
	rc = unvmf_subsystem_create(RTE_SUBNQN, UNVMF_SUBSYSTEM_NVME, 32, &subsys);
	if (rc)
		goto fail;
	unvmf_subsystem_set_sn(subsys, "UNVMF000000000001");
	unvmf_subsystem_allow_any_host(subsys, true);
	rc = unvmf_subsystem_add_ns(subsys, bdev, 1, NULL, NULL, NULL);
	if (rc < 0)
		goto fail;
	rc = unvmf_tgt_add_transport(&e->opts, rte_listen_done, e);
	if (rc)
		goto fail;
	return;
fail:
	e->rc = rc;
	atomic_store(&e->ready, -1);
}

static void rte_start_msg(void *arg)
{
	struct rte *e = arg;
	struct unvmf_tgt_opts topts = {0};
	int rc = unvmf_tgt_init(&topts);

	if (!rc && g_rte_rpc_path) {
		g_tgt.fault_injection = true;
		unvmf_rpc_register_nvmf_stats_methods(); /* -EEXIST after the first bench: fine */
		unlink(g_rte_rpc_path);
		rc = unvmf_rpc_server_start(g_rte_rpc_path);
	}
	if (!rc)
		rc = unvmf_tgt_create_poll_groups(rte_groups_done, e);
	if (rc) {
		e->rc = rc;
		atomic_store(&e->ready, -1);
	}
}

void rte_opts_default(struct unvmf_transport_opts *o)
{
	unvmf_transport_ops_find(NVMF_TRTYPE_RDMA)->opts_init(o);
	o->num_shared_buffers = 1024;
	unvmf_rdma_opts(o)->max_srq_depth = 256;
	unvmf_rdma_opts(o)->num_cqe = 8192;
	unvmf_rdma_opts(o)->provider = "sim";
}

void rte_opts_no_srq(struct unvmf_transport_opts *o, bool no_srq)
{
	unvmf_rdma_opts(o)->no_srq = no_srq;
}

void rte_opts_queue_sizes(struct unvmf_transport_opts *o, uint32_t max_srq_depth, uint32_t num_cqe)
{
	unvmf_rdma_opts(o)->max_srq_depth = max_srq_depth;
	unvmf_rdma_opts(o)->num_cqe = num_cqe;
}

void rte_opts_sim_node(struct unvmf_transport_opts *o, const struct rte *e)
{
	unvmf_rdma_opts_set_provider(o, "sim", e->tnode);
}

int rte_start(struct rte *e, const struct unvmf_transport_opts *opts, uint64_t cpumask,
              uint64_t seed)
{
	struct unvmf_reactor_opts ropts = {.cpumask = cpumask, .pin_threads = false};
	struct rdma_sim_fabric_opts fo;
	int rc;

	memset(e, 0, sizeof(*e));
	rdma_sim_fabric_opts_init(&fo);
	fo.seed = seed;
	rc = rdma_sim_fabric_create(&fo, &e->fabric);
	if (rc)
		return rc;
	if (rdma_sim_node_create(e->fabric, "sim:tgt", &e->tnode) ||
	    rdma_sim_node_create(e->fabric, "sim:host", &e->hnode))
		return -ENOMEM;
	e->opts = *opts;
	rte_opts_sim_node(&e->opts, e);
	rc = unvmf_reactors_init(&ropts);
	if (rc)
		return rc;
	rc = unvmf_reactors_start_background();
	if (rc)
		return rc;
	unvmf_thread_send_msg(unvmf_reactor_thread(0), rte_start_msg, e);
	for (uint64_t t0 = rte_now_ms(); atomic_load(&e->ready) == 0;) {
		if (rte_now_ms() - t0 > RTE_TIMEOUT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return atomic_load(&e->ready) == 1 ? 0 : (e->rc ? e->rc : -EIO);
}

static void rte_shutdown_done(void *arg)
{
	struct rte *e = arg;

	unvmf_tgt_fini();
	unvmf_bdev_delete_all();
	atomic_store(&e->stopped, 1);
}

static void rte_stop_msg(void *arg)
{
	if (g_rte_rpc_path)
		unvmf_rpc_server_stop();
	unvmf_tgt_shutdown(rte_shutdown_done, arg);
}

int rte_stop(struct rte *e)
{
	int left;

	unvmf_thread_send_msg(unvmf_reactor_thread(0), rte_stop_msg, e);
	for (uint64_t t0 = rte_now_ms(); !atomic_load(&e->stopped);) {
		if (rte_now_ms() - t0 > RTE_TIMEOUT_MS)
			return -ETIMEDOUT;
		rdma_sim_fabric_step(e->fabric);
		usleep(100);
	}
	unvmf_reactors_stop();
	unvmf_reactors_join();
	unvmf_reactors_fini();
	left = rdma_sim_fabric_destroy(e->fabric);
	e->fabric = NULL;
	return left;
}

/* ---------------- host at the seam ---------------- */

void rte_pump(struct rte_host *h)
{
	rdma_sim_fabric_step(h->e->fabric);
}

int rte_host_init(struct rte_host *h, struct rte *e)
{
	struct rdma_prov_device *dev;
	int rc;

	memset(h, 0, sizeof(*h));
	h->e = e;
	h->prov = rdma_provider_get("sim");
	for (int i = 0; i < 16; i++)
		h->hostid[i] = (uint8_t)(0x11 * (i + 1));
	h->cntlid = NVMF_CNTLID_DYNAMIC;
	rc = h->prov->ctx_open(e->hnode, &h->ctx);
	if (rc)
		return rc;
	rc = h->prov->channel_create(h->ctx, &h->ch);
	if (rc)
		return rc;
	if (h->prov->ctx_get_devices(h->ctx, &dev, 1) != 1)
		return -ENODEV;
	return h->prov->pd_alloc(dev, &h->pd);
}

void rte_host_fini(struct rte_host *h)
{
	h->prov->pd_free(h->pd);
	h->prov->channel_destroy(h->ch);
	h->prov->ctx_close(h->ctx);
}

/* Waits for a CM event of id on the host channel (stepping the fabric); others are dropped. */
static int rte_cm_wait(struct rte_host *h, struct rdma_prov_id *id, struct rdma_prov_cm_event *ev)
{
	for (uint64_t t0 = rte_now_ms(); rte_now_ms() - t0 < RTE_TIMEOUT_MS;) {
		if (h->prov->cm_get_event(h->ch, ev) == 0) {
			if (ev->id == id)
				return 0;
			continue;
		}
		rte_pump(h);
		usleep(50);
	}
	return -ETIMEDOUT;
}

static void rte_qp_post_recv(struct rte_qp *q, uint32_t i)
{
	static __thread struct rdma_prov_sge sge;
	struct rdma_prov_recv_wr wr = {.wr_id = i, .sg_list = &sge, .num_sge = 1}, *bad;

	sge = (struct rdma_prov_sge){.addr = (uint64_t)(uintptr_t)&q->rsps[i],
	                             .length = sizeof(q->rsps[i]),
	                             .lkey = q->h->prov->mr_lkey(q->rsp_mr)};
	q->h->prov->qp_post_recv(q->qp, &wr, &bad);
}

void rte_qp_free(struct rte_qp *q)
{
	const struct rdma_provider *p = q->h->prov;

	if (q->qp) {
		p->qp_modify_err(q->qp);
		p->qp_destroy(q->qp);
	}
	if (q->cq)
		p->cq_destroy(q->cq);
	if (q->id)
		p->id_destroy(q->id);
	for (uint32_t i = 0; q->slots && i < q->qsize; i++)
		if (q->slots[i].inv_mr)
			p->mr_dereg(q->slots[i].inv_mr);
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
	memset(q, 0, sizeof(*q));
}

int rte_qp_connect(struct rte_host *h, struct rte_qp *q, uint16_t qid, uint16_t qsize,
                   uint8_t resp_res)
{
	const struct rdma_provider *p = h->prov;
	struct rdma_prov_cm_event ev;
	struct rdma_prov_conn_param param = {0};
	struct nvmf_rdma_request_private_data pd = {0};
	struct rdma_prov_qp_init init = {0};
	struct rdma_prov_device *dev;
	int rc;

	memset(q, 0, sizeof(*q));
	q->h = h;
	q->qid = qid;
	q->qsize = qsize;
	q->cmds = calloc(qsize, RTE_CAPSULE_BYTES);
	q->rsps = calloc(qsize, sizeof(*q->rsps));
	q->data = calloc(qsize, RTE_MAX_IO);
	q->slots = calloc(qsize, sizeof(*q->slots));
	if (!q->cmds || !q->rsps || !q->data || !q->slots)
		return -ENOMEM;
	rc = p->cm_resolve(h->ch, "sim:host", "sim:tgt", RTE_PORT, 1000, q, &q->id);
	if (rc)
		return rc;
	rc = rte_cm_wait(h, q->id, &ev);
	if (rc || ev.type != RDMA_PROV_CM_EVENT_ROUTE_RESOLVED)
		return rc ? rc : -EHOSTUNREACH;
	dev = p->id_get_device(q->id);
	if ((rc = p->cq_create(dev, qsize * 4u + 8, false, &q->cq)) ||
	    (rc = p->mr_reg(h->pd, q->cmds, (size_t)qsize * RTE_CAPSULE_BYTES, 0, &q->cmd_mr)) ||
	    (rc = p->mr_reg(h->pd, q->rsps, qsize * sizeof(*q->rsps), RDMA_PROV_ACCESS_LOCAL_WRITE,
	                    &q->rsp_mr)) ||
	    (rc = p->mr_reg(h->pd, q->data, (size_t)qsize * RTE_MAX_IO,
	                    RDMA_PROV_ACCESS_LOCAL_WRITE | RDMA_PROV_ACCESS_REMOTE_READ |
	                        RDMA_PROV_ACCESS_REMOTE_WRITE,
	                    &q->data_mr)))
		return rc;
	init.pd = h->pd;
	init.send_cq = q->cq;
	init.recv_cq = q->cq;
	init.max_send_wr = qsize;
	init.max_recv_wr = qsize;
	init.max_send_sge = 1;
	init.max_recv_sge = 1;
	init.max_dest_rd_atomic = resp_res;
	init.user_ctx = q;
	rc = p->qp_create(q->id, &init, &q->qp);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < qsize; i++)
		rte_qp_post_recv(q, i);
	pd.recfmt = 0;
	pd.qid = qid;
	pd.hrqsize = qsize;
	pd.hsqsize = (uint16_t)(qsize - 1);
	pd.cntlid = h->cntlid;
	memcpy(param.private_data, &pd, sizeof(pd));
	param.private_data_len = sizeof(pd);
	param.responder_resources = resp_res;
	param.initiator_depth = 0;
	param.retry_count = 6;
	param.rnr_retry_count = 6;
	rc = p->cm_connect(q->id, &param);
	if (rc)
		return rc;
	rc = rte_cm_wait(h, q->id, &ev);
	if (rc)
		return rc;
	if (ev.type == RDMA_PROV_CM_EVENT_REJECTED) {
		struct nvmf_rdma_reject_private_data rej = {0};

		memcpy(&rej, ev.param.private_data,
		       UNVMF_MIN(sizeof(rej), ev.param.private_data_len));
		q->reject_sts = rej.sts;
		return -ECONNREFUSED;
	}
	if (ev.type != RDMA_PROV_CM_EVENT_ESTABLISHED)
		return -ECONNRESET;
	{
		struct nvmf_rdma_accept_private_data acc;

		memcpy(&acc, ev.param.private_data, sizeof(acc));
		q->crqsize = acc.crqsize;
	}
	return 0;
}

int rte_qp_poll(struct rte_qp *q)
{
	struct rdma_prov_wc wc[16];
	int n = q->h->prov->cq_poll(q->cq, wc, 16);

	for (int i = 0; i < n; i++) {
		if (wc[i].status != RDMA_PROV_WC_SUCCESS) {
			q->failed = true;
			q->send_errors++;
			continue;
		}
		if (wc[i].opcode != RDMA_PROV_WC_RECV)
			continue;
		{
			uint32_t r = (uint32_t)wc[i].wr_id;
			struct nvme_cqe cqe = q->rsps[r];
			struct rte_slot *s;

			rte_qp_post_recv(q, r);
			if (cqe.cid >= q->qsize)
				continue;
			s = &q->slots[cqe.cid];
			s->cqe = cqe;
			s->done = true;
			if (wc[i].flags & RDMA_PROV_WC_FLAG_WITH_INV)
				s->invalidated = wc[i].invalidated_rkey == s->inv_rkey;
		}
	}
	return n;
}

uint8_t *rte_slot_data(struct rte_qp *q, uint16_t cid)
{
	return q->data + (size_t)cid * RTE_MAX_IO;
}

int rte_qp_submit(struct rte_qp *q, uint16_t cid, const struct nvme_sqe *sqe, uint32_t len,
                  bool host_to_ctrl, enum rte_sgl mode)
{
	const struct rdma_provider *p = q->h->prov;
	uint8_t *capsule = q->cmds + (size_t)cid * RTE_CAPSULE_BYTES;
	struct nvme_sqe *cmd = (struct nvme_sqe *)capsule;
	uint8_t *buf = rte_slot_data(q, cid);
	uint32_t clen = 64, rkey = p->mr_rkey(q->data_mr);
	struct rte_slot *s = &q->slots[cid];
	struct rdma_prov_sge sge;
	struct rdma_prov_send_wr wr = {0}, *bad;

	if (s->busy)
		return -EBUSY;
	memset(s, 0, sizeof(*s));
	s->busy = true;
	memcpy(cmd, sqe, sizeof(*cmd));
	cmd->cid = cid;
	cmd->psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	memset(&cmd->dptr, 0, sizeof(cmd->dptr));
	if (len == 0) {
		/* no data */
	} else if (mode == RTE_SGL_ICD) {
		cmd->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
		cmd->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
		cmd->dptr.sgl1.unkeyed.address = 0;
		cmd->dptr.sgl1.unkeyed.length = len;
		memcpy(capsule + 64, buf, len);
		clen += len;
	} else if (mode == RTE_SGL_MULTI) {
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
		cmd->dptr.sgl1.unkeyed.address = 0;
		cmd->dptr.sgl1.unkeyed.length = n * 16;
		clen += n * 16;
	} else {
		if (mode == RTE_SGL_KEYED_INV) {
			int rc =
			    p->mr_reg(q->h->pd, buf, len,
			              RDMA_PROV_ACCESS_LOCAL_WRITE | RDMA_PROV_ACCESS_REMOTE_READ |
			                  RDMA_PROV_ACCESS_REMOTE_WRITE,
			              &s->inv_mr);

			if (rc)
				return rc;
			rkey = s->inv_rkey = p->mr_rkey(s->inv_mr);
		}
		cmd->dptr.sgl1.keyed.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK;
		cmd->dptr.sgl1.keyed.subtype = mode == RTE_SGL_KEYED_INV
		                                   ? NVME_SGL_SUBTYPE_INVALIDATE_KEY
		                                   : NVME_SGL_SUBTYPE_ADDRESS;
		cmd->dptr.sgl1.keyed.address = (uint64_t)(uintptr_t)buf;
		cmd->dptr.sgl1.keyed.length = len;
		cmd->dptr.sgl1.keyed.key = rkey;
	}
	(void)host_to_ctrl;
	sge = (struct rdma_prov_sge){
	    .addr = (uint64_t)(uintptr_t)capsule, .length = clen, .lkey = p->mr_lkey(q->cmd_mr)};
	wr.wr_id = 0x100000u + cid;
	wr.opcode = RDMA_PROV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.signaled = true;
	return p->qp_post_send(q->qp, &wr, &bad);
}

int rte_qp_wait(struct rte_qp *q, uint16_t cid, struct nvme_cqe *cqe)
{
	struct rte_slot *s = &q->slots[cid];

	for (uint64_t t0 = rte_now_ms(); !s->done;) {
		if (rte_now_ms() - t0 > RTE_TIMEOUT_MS)
			return -ETIMEDOUT;
		if (q->failed)
			return -ECONNRESET;
		rte_pump(q->h);
		rte_qp_poll(q);
	}
	s->busy = false;
	if (s->inv_mr) {
		q->h->prov->mr_dereg(s->inv_mr);
		s->inv_mr = NULL;
	}
	if (cqe)
		*cqe = s->cqe;
	return 0;
}

int rte_qp_exec(struct rte_qp *q, const struct nvme_sqe *sqe, void *data, uint32_t len,
                bool host_to_ctrl, enum rte_sgl mode, struct nvme_cqe *cqe)
{
	uint16_t cid = 0;
	int rc;

	if (host_to_ctrl && len)
		memcpy(rte_slot_data(q, cid), data, len);
	rc = rte_qp_submit(q, cid, sqe, len, host_to_ctrl, mode);
	if (rc)
		return rc;
	rc = rte_qp_wait(q, cid, cqe);
	if (rc)
		return rc;
	if (!host_to_ctrl && len)
		memcpy(data, rte_slot_data(q, cid), len);
	return cqe->status.raw & 0xfffe ? -EREMOTEIO : 0;
}

static int rte_fabric_connect(struct rte_qp *q, uint16_t *cntlid)
{
	struct nvmf_connect_data *d = calloc(1, sizeof(*d));
	struct nvmf_connect_cmd cmd = {0};
	struct nvme_cqe cqe;
	int rc;

	memcpy(d->hostid, q->h->hostid, 16);
	d->cntlid = q->h->cntlid;
	unvmf_strlcpy(d->subnqn, RTE_SUBNQN, sizeof(d->subnqn));
	unvmf_strlcpy(d->hostnqn, RTE_HOSTNQN, sizeof(d->hostnqn));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.qid = q->qid;
	cmd.sqsize = (uint16_t)(q->qsize - 1);
	cmd.kato = q->qid ? 0 : 30000;
	rc = rte_qp_exec(q, (struct nvme_sqe *)&cmd, d, sizeof(*d), true, RTE_SGL_KEYED, &cqe);
	free(d);
	if (!rc && cntlid)
		*cntlid = (uint16_t)cqe.cdw0;
	return rc;
}

static int rte_prop(struct rte_qp *q, bool set, uint32_t ofst, uint64_t *value)
{
	struct nvmf_property_set_cmd cmd = {0};
	struct nvme_cqe cqe;
	int rc;

	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = set ? NVMF_FCTYPE_PROPERTY_SET : NVMF_FCTYPE_PROPERTY_GET;
	cmd.ofst = ofst;
	if (set)
		cmd.value = *value;
	rc = rte_qp_exec(q, (struct nvme_sqe *)&cmd, NULL, 0, false, RTE_SGL_KEYED, &cqe);
	if (!rc && !set)
		*value = cqe.cdw0;
	return rc;
}

int rte_ctrlr_connect(struct rte_host *h, struct rte_qp *admin)
{
	uint64_t v = (6u << 16) | (4u << 20) | 1u; /* IOSQES 6, IOCQES 4, EN */
	int rc;

	rc = rte_qp_connect(h, admin, 0, 32, 16);
	if (rc)
		return rc;
	rc = rte_fabric_connect(admin, &h->cntlid);
	if (rc)
		return rc;
	rc = rte_prop(admin, true, 0x14, &v);
	if (rc)
		return rc;
	for (uint64_t t0 = rte_now_ms(); rte_now_ms() - t0 < RTE_TIMEOUT_MS;) {
		rc = rte_prop(admin, false, 0x1c, &v);
		if (rc)
			return rc;
		if (v & 1)
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

int rte_io_connect(struct rte_host *h, struct rte_qp *q, uint16_t qid, uint16_t qsize,
                   uint8_t resp_res)
{
	int rc = rte_qp_connect(h, q, qid, qsize, resp_res);

	return rc ? rc : rte_fabric_connect(q, NULL);
}

void rte_rw_sqe(struct nvme_sqe *sqe, bool write, uint64_t lba, uint32_t nblocks)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opc = write ? 0x01 : 0x02;
	sqe->nsid = 1;
	sqe->cdw10 = (uint32_t)lba;
	sqe->cdw11 = (uint32_t)(lba >> 32);
	sqe->cdw12 = nblocks - 1;
}

void rte_pattern(uint8_t *b, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

void rte_qp_close(struct rte_qp *q)
{
	if (q->id)
		q->h->prov->cm_disconnect(q->id);
	rte_qp_free(q);
}

/* ---------------- target inspection ---------------- */

struct rte_stats_ctx {
	pthread_mutex_t lock;
	json_t *groups;
	atomic_int left;
};

static void rte_stats_on_thread(void *arg)
{
	struct rte_stats_ctx *c = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();
	struct unvmf_transport *t = unvmf_tgt_find_transport(NVMF_TRTYPE_RDMA);

	if (group && t && group->tgroups[t->slot]) {
		json_t *o = json_object();

		t->ops->poll_group_dump_stats(group->tgroups[t->slot], o);
		pthread_mutex_lock(&c->lock);
		json_array_append_new(c->groups, o);
		pthread_mutex_unlock(&c->lock);
	}
	atomic_fetch_sub(&c->left, 1);
}

json_t *rte_stats(void)
{
	struct rte_stats_ctx c = {.groups = json_array()};
	unsigned n = unvmf_reactor_count();

	pthread_mutex_init(&c.lock, NULL);
	atomic_store(&c.left, (int)n);
	for (unsigned i = 0; i < n; i++)
		unvmf_thread_send_msg(unvmf_reactor_thread(i), rte_stats_on_thread, &c);
	while (atomic_load(&c.left) > 0)
		usleep(100);
	pthread_mutex_destroy(&c.lock);
	return c.groups;
}

uint64_t rte_stat_sum(json_t *groups, const char *key)
{
	uint64_t sum = 0;
	size_t i;
	json_t *g;

	json_array_foreach(groups, i, g) sum +=
	    (uint64_t)json_integer_value(json_object_get(g, key));
	return sum;
}

uint64_t rte_wc_status(json_t *groups, const char *status)
{
	uint64_t sum = 0;
	size_t i;
	json_t *g;

	json_array_foreach(groups, i, g) sum += (uint64_t)json_integer_value(
	    json_object_get(json_object_get(json_object_get(g, "wc"), "errors_by_status"), status));
	return sum;
}

bool rte_state_saw(json_t *groups, const char *state, const char *event)
{
	size_t i, j;
	json_t *g, *ev;

	json_array_foreach(groups, i, g)
	{
		json_array_foreach(json_object_get(json_object_get(g, "state_events"), state), j,
		                   ev)
		{
			if (strcmp(json_string_value(ev), event) == 0)
				return true;
		}
	}
	return false;
}

json_t *rte_qpair_stats(json_t *groups, uint16_t cntlid, uint16_t qid)
{
	size_t i, j;
	json_t *g, *q;

	json_array_foreach(groups, i, g)
	{
		json_array_foreach(json_object_get(g, "qpairs"), j, q)
		{
			if (json_integer_value(json_object_get(q, "cntlid")) == cntlid &&
			    json_integer_value(json_object_get(q, "qid")) == qid)
				return q;
		}
	}
	return NULL;
}

uint64_t rte_qpair_in_state(json_t *q, const char *state)
{
	return q ? (uint64_t)json_integer_value(
	               json_object_get(json_object_get(q, "requests_by_state"), state))
	         : 0;
}

struct rte_inject {
	uint64_t qpair_id;
	const char *kind;
	atomic_int left;
	atomic_int rc;
};

static void rte_inject_on_thread(void *arg)
{
	struct rte_inject *c = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();
	struct unvmf_qpair *q;

	if (group) {
		TAILQ_FOREACH(q, &group->qpairs, group_link)
		{
			if (q->id == c->qpair_id)
				atomic_store(&c->rc, q->transport->ops->inject_fault(q, c->kind));
		}
	}
	atomic_fetch_sub(&c->left, 1);
}

int rte_inject(uint64_t qpair_id, const char *kind)
{
	struct rte_inject c = {.qpair_id = qpair_id, .kind = kind};
	unsigned n = unvmf_reactor_count();

	atomic_store(&c.rc, -ENOENT);
	atomic_store(&c.left, (int)n);
	for (unsigned i = 0; i < n; i++)
		unvmf_thread_send_msg(unvmf_reactor_thread(i), rte_inject_on_thread, &c);
	while (atomic_load(&c.left) > 0)
		usleep(100);
	return atomic_load(&c.rc);
}

uint32_t rte_target_qpn(struct rte_qp *q)
{
	struct rdma_prov_qp *peer = rdma_sim_qp_peer(q->qp);

	return peer ? q->h->prov->qp_num(peer) : 0;
}
