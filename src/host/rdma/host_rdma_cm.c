/* NVMe/RDMA host connection lifecycle: provider, CM connect with private data, poll, wait,
 * teardown. */
#include "host/rdma/host_rdma_conn.h"
#include "proto/nvme_rdma_cm.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define HOST_RDMA_RETRY_COUNT 7
#define HOST_RDMA_RNR_RETRY_COUNT 7
#define HOST_RDMA_ADMIN_CNTLID 0xffff
#define HOST_RDMA_CM_CHECK_NS 1000000ull
#define HOST_RDMA_MR_CACHE_MIN 16u
/* IB CM reject reason of a consumer (NVMe/RDMA) reject, which carries our private data. */
#define HOST_RDMA_CM_REJ_CONSUMER_DEFINED 28

const char *unvmf_host_rdma_cm_status_str(uint16_t sts)
{
	return nvme_rdma_cm_status_str(sts);
}

uint16_t host_rdma_reject_sts(const struct rdma_prov_cm_event *ev)
{
	/* Only a consumer reject carries the controller's NVMe/RDMA private data. */
	if (ev->status != HOST_RDMA_CM_REJ_CONSUMER_DEFINED)
		return 0;
	return nvme_rdma_cm_reject_parse(ev->param.private_data, ev->param.private_data_len);
}

static const struct rdma_provider *host_rdma_provider_choose(const struct unvmf_host_opts *opts)
{
	const char *name =
	    opts->rdma_provider[0] ? opts->rdma_provider : getenv("UNVMF_RDMA_PROVIDER");

	return rdma_provider_get(name && name[0] ? name : "verbs");
}

static void host_rdma_error_set(struct unvmf_host_error *err, enum unvmf_host_connect_stage stage,
                                int rc)
{
	if (!err)
		return;
	err->stage = stage;
	err->rc = rc;
}

/* Lets the fabric move: the caller's progress hook (sim), else sleep on fd up to timeout_ms. */
static void host_rdma_conn_block(struct host_rdma_conn *c, int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (c->progress) {
		c->progress(c->progress_arg);
		return;
	}
	if (fd >= 0)
		poll(&pfd, 1, timeout_ms);
}

static int host_rdma_cm_wait_event(struct host_rdma_conn *c, uint64_t deadline_ns,
                                   struct rdma_prov_cm_event *ev)
{
	for (;;) {
		uint64_t now;
		int rc = c->prov->cm_get_event(c->ch, ev);

		if (rc != -EAGAIN)
			return rc;
		now = host_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		host_rdma_conn_block(c, c->prov->channel_fd(c->ch),
		                     (int)UNVMF_MIN((deadline_ns - now) / 1000000ull + 1, 100));
	}
}

/* Polls the CQ into the completion handlers until the NIC holds nothing of ours, or deadline. */
static void host_rdma_conn_reap(struct unvmf_host_qpair *qp, uint64_t deadline_ns)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	struct rdma_prov_wc wc[HOST_RDMA_WC_BATCH];

	if (c->stash_n) {
		host_rdma_wc_process(qp, c->stash, c->stash_n);
		c->stash_n = 0;
	}
	while (c->cq && host_rdma_conn_wrs_held(c) > 0) {
		int n = c->prov->cq_poll(c->cq, wc, HOST_RDMA_WC_BATCH);

		if (n > 0) {
			host_rdma_wc_process(qp, wc, n);
			continue;
		}
		if (host_now_ns() >= deadline_ns) {
			LOG_WARN("qpair %u: %u work requests not flushed after %u ms; destroying "
			         "the QP anyway",
			         qp->qid, host_rdma_conn_wrs_held(c), HOST_RDMA_TEARDOWN_MS);
			return;
		}
		host_rdma_conn_block(c, c->prov->cq_fd(c->cq), 1);
	}
}

/* Frees everything; the QP must be in ERR and reaped (or never have held WRs). */
static void host_rdma_conn_free(struct host_rdma_conn *c)
{
	const struct rdma_provider *p = c->prov;

	if (c->qp)
		p->qp_destroy(c->qp);
	if (c->id)
		p->id_destroy(c->id);
	if (c->pd)
		host_rdma_mr_cache_fini(&c->mrc);
	if (c->capsule_mr)
		p->mr_dereg(c->capsule_mr);
	if (c->rsp_mr)
		p->mr_dereg(c->rsp_mr);
	if (c->cq)
		p->cq_destroy(c->cq);
	if (c->pd)
		p->pd_free(c->pd);
	if (c->ch)
		p->channel_destroy(c->ch);
	if (c->ctx)
		p->ctx_close(c->ctx);
	free(c->capsules);
	free(c->rsps);
	free(c->hreqs);
	free(c);
}

/* PD, CQ, QP, capsules and responses on the resolved id; every receive posted. */
static int host_rdma_conn_resources(struct unvmf_host_qpair *qp, struct host_rdma_conn *c)
{
	const struct rdma_provider *p = c->prov;
	struct rdma_prov_device_attr attr;
	struct rdma_prov_qp_init qi;
	size_t capsules_len;
	int rc;

	c->dev = p->id_get_device(c->id);
	if (!c->dev)
		return -ENODEV;
	rc = p->device_query(c->dev, &attr);
	if (rc)
		return rc;
	rc = p->pd_alloc(c->dev, &c->pd);
	if (rc)
		return rc;
	rc = host_rdma_mr_cache_init(&c->mrc, p, c->pd, qp->ctrlr->opts.rdma_mr_cache,
	                             UNVMF_MAX(2u * c->nslots, HOST_RDMA_MR_CACHE_MIN));
	if (rc)
		return rc;
	rc = p->cq_create(c->dev, (uint32_t)c->nslots + c->nrecvs + 1, true, &c->cq);
	if (rc)
		return rc;
	qi = (struct rdma_prov_qp_init){
	    .pd = c->pd,
	    .send_cq = c->cq,
	    .recv_cq = c->cq,
	    .max_send_wr = (uint32_t)c->nslots + 1,
	    .max_recv_wr = c->nrecvs,
	    .max_send_sge = 1,
	    .max_recv_sge = 1,
	    /* We issue no RDMA READs; the controller reads our write data. */
	    .max_rd_atomic = 1,
	    .max_dest_rd_atomic = 0,
	    .user_ctx = qp,
	};
	rc = p->qp_create(c->id, &qi, &c->qp);
	if (rc)
		return rc;

	capsules_len = (size_t)c->nslots * c->capsule_size;
	if (posix_memalign((void **)&c->capsules, 64, capsules_len) ||
	    posix_memalign((void **)&c->rsps, 64, (size_t)c->nrecvs * sizeof(*c->rsps)))
		return -ENOMEM;
	memset(c->capsules, 0, capsules_len);
	memset(c->rsps, 0, (size_t)c->nrecvs * sizeof(*c->rsps));
	rc = p->mr_reg(c->pd, c->capsules, capsules_len, 0, &c->capsule_mr);
	if (rc)
		return rc;
	rc = p->mr_reg(c->pd, c->rsps, (size_t)c->nrecvs * sizeof(*c->rsps),
	               RDMA_PROV_ACCESS_LOCAL_WRITE, &c->rsp_mr);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < c->nrecvs; i++) {
		rc = host_rdma_recv_post(c, i);
		if (rc)
			return rc;
	}
	return 0;
}

/* Sends the REQ with our private data and waits for the controller's answer. */
static int host_rdma_cm_establish(struct unvmf_host_qpair *qp, struct host_rdma_conn *c,
                                  uint64_t deadline, struct unvmf_host_error *err)
{
	const struct unvmf_host_opts *o = &qp->ctrlr->opts;
	struct nvmf_rdma_request_private_data req;
	struct rdma_prov_conn_param cp = {0};
	struct rdma_prov_device_attr attr;
	struct rdma_prov_cm_event ev;
	uint16_t sts;
	int rc;

	rc = c->prov->device_query(c->dev, &attr);
	if (rc)
		return rc;
	nvme_rdma_cm_req_build(&req, qp->qid, qp->qsize, (uint16_t)(qp->qsize - 1),
	                       qp->qid == 0 ? HOST_RDMA_ADMIN_CNTLID : qp->ctrlr->cntlid);
	memcpy(cp.private_data, &req, sizeof(req));
	cp.private_data_len = sizeof(req);
	cp.responder_resources = (uint8_t)UNVMF_MIN(attr.max_qp_rd_atom, 255u);
	cp.initiator_depth = 0;
	cp.retry_count = o->rdma_retry_count ? o->rdma_retry_count : HOST_RDMA_RETRY_COUNT;
	cp.rnr_retry_count = HOST_RDMA_RNR_RETRY_COUNT;
	rc = c->prov->cm_connect(c->id, &cp);
	if (rc)
		return rc;
	rc = host_rdma_cm_wait_event(c, deadline, &ev);
	if (rc)
		return rc;
	switch (ev.type) {
	case RDMA_PROV_CM_EVENT_ESTABLISHED:
		c->established = true;
		rc = nvme_rdma_cm_accept_parse(ev.param.private_data, ev.param.private_data_len,
		                               &c->crqsize);
		if (rc) {
			LOG_ERR("qpair %u: accept private data has an unknown RECFMT", qp->qid);
			return rc;
		}
		return 0;
	case RDMA_PROV_CM_EVENT_REJECTED:
		sts = host_rdma_reject_sts(&ev);
		if (err)
			err->rdma_reject_sts = sts;
		if (sts)
			LOG_ERR("qpair %u: controller rejected the connection: %s (0x%x)", qp->qid,
			        unvmf_host_rdma_cm_status_str(sts), sts);
		else
			LOG_ERR("qpair %u: connection rejected (CM reason %d)", qp->qid, ev.status);
		return -ECONNREFUSED;
	case RDMA_PROV_CM_EVENT_UNREACHABLE:
		return -EHOSTUNREACH;
	default:
		LOG_ERR("qpair %u: unexpected CM event %s while connecting", qp->qid,
		        rdma_prov_cm_event_name(ev.type));
		return -ECONNABORTED;
	}
}

static int host_rdma_connect(struct unvmf_host_qpair *qp, const struct unvmf_trid *trid,
                             uint32_t timeout_ms, struct unvmf_host_error *err)
{
	const struct unvmf_host_opts *o = &qp->ctrlr->opts;
	uint64_t deadline = host_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	enum unvmf_host_connect_stage stage = UNVMF_HOST_STAGE_SOCKET;
	struct rdma_prov_cm_event ev;
	struct host_rdma_conn *c;
	char *end = NULL;
	unsigned long port;
	int rc;

	port = strtoul(trid->trsvcid, &end, 10);
	if (!trid->trsvcid[0] || *end || port == 0 || port > 65535)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->prov = host_rdma_provider_choose(o);
	if (!c->prov) {
		LOG_ERR("qpair %u: unknown RDMA provider", qp->qid);
		free(c);
		return -EPROTONOSUPPORT;
	}
	if (!strcmp(c->prov->name, "sim") && !o->rdma_progress) {
		LOG_ERR("qpair %u: the sim provider needs opts.rdma_progress", qp->qid);
		free(c);
		return -EINVAL;
	}
	c->progress = o->rdma_progress;
	c->progress_arg = o->rdma_progress_arg;
	c->nslots = qp->nreqs;
	c->nrecvs = qp->qsize;
	/* In-capsule data (and descriptor lists) only on I/O queues, as IOCCSZ speaks of those. */
	c->icd_max = qp->qid ? UNVMF_MIN(qp->in_capsule_max, HOST_RDMA_ICD_MAX) : 0;
	c->capsule_size = UNVMF_ALIGN_UP((uint32_t)sizeof(struct nvme_sqe) + c->icd_max, 64u);
	c->hreqs = calloc(c->nslots, sizeof(*c->hreqs));
	if (!c->hreqs) {
		free(c);
		return -ENOMEM;
	}
	c->state_count[HOST_RDMA_HREQ_FREE] = c->nslots;
	/* tctx is set now so that the completion handlers find the connection during teardown. */
	qp->tctx = c;

	rc = c->prov->ctx_open(o->rdma_provider_arg, &c->ctx);
	if (!rc)
		rc = c->prov->channel_create(c->ctx, &c->ch);
	if (!rc)
		rc = c->prov->cm_resolve(c->ch, NULL, trid->traddr, (uint16_t)port, (int)timeout_ms,
		                         qp, &c->id);
	if (!rc)
		rc = host_rdma_cm_wait_event(c, deadline, &ev);
	if (!rc && ev.type != RDMA_PROV_CM_EVENT_ROUTE_RESOLVED) {
		LOG_ERR("qpair %u: resolving %s port %lu: %s", qp->qid, trid->traddr, port,
		        rdma_prov_cm_event_name(ev.type));
		rc = -EHOSTUNREACH;
	}
	if (rc)
		goto err_free;
	rc = host_rdma_conn_resources(qp, c);
	if (rc) {
		LOG_ERR("qpair %u: RDMA resources: %s", qp->qid, strerror(-rc));
		goto err_free;
	}
	stage = UNVMF_HOST_STAGE_RDMA_CM;
	rc = host_rdma_cm_establish(qp, c, deadline, err);
	if (rc)
		goto err_free;
	c->state = HOST_RDMA_CONN_LIVE;
	if (c->crqsize && c->crqsize < qp->nreqs) {
		LOG_INFO("qpair %u: controller receive queue holds %u: limiting depth to it",
		         qp->qid, c->crqsize);
		host_qpair_limit_depth(qp, c->crqsize);
	}
	return 0;

err_free:
	host_rdma_error_set(err, stage, rc);
	if (rc == -ETIMEDOUT)
		LOG_ERR("qpair %u: RDMA connect to %s port %lu timed out", qp->qid, trid->traddr,
		        port);
	host_rdma_conn_drain(qp);
	host_rdma_conn_reap(qp, host_now_ns() + HOST_RDMA_TEARDOWN_MS * 1000000ull);
	host_rdma_conn_free(c);
	qp->tctx = NULL;
	return rc;
}

/* CM events on a live connection: anything but the disconnect of a drained one is fatal. */
static int host_rdma_cm_check(struct unvmf_host_qpair *qp, struct host_rdma_conn *c)
{
	struct rdma_prov_cm_event ev;

	while (c->prov->cm_get_event(c->ch, &ev) == 0) {
		if (ev.type == RDMA_PROV_CM_EVENT_DISCONNECTED ||
		    ev.type == RDMA_PROV_CM_EVENT_DEVICE_REMOVAL) {
			c->established = false;
			LOG_ERR("qpair %u: %s", qp->qid, rdma_prov_cm_event_name(ev.type));
			return -ECONNRESET;
		}
		if (ev.type == RDMA_PROV_CM_EVENT_TIMEWAIT_EXIT)
			continue;
		LOG_WARN("qpair %u: ignoring CM event %s", qp->qid,
		         rdma_prov_cm_event_name(ev.type));
	}
	return 0;
}

static int host_rdma_poll(struct unvmf_host_qpair *qp)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	struct rdma_prov_wc wc[HOST_RDMA_WC_BATCH];
	uint64_t now;
	int n, rc = 0;

	if (c->state != HOST_RDMA_CONN_LIVE)
		return -ECONNRESET;
	if (c->progress)
		c->progress(c->progress_arg);
	if (c->stash_n) {
		n = c->stash_n;
		c->stash_n = 0;
		rc = host_rdma_wc_process(qp, c->stash, n);
	}
	while (rc == 0 && (!qp->poll_max || qp->poll_completions < qp->poll_max)) {
		n = c->prov->cq_poll(c->cq, wc, HOST_RDMA_WC_BATCH);
		if (n <= 0) {
			rc = n;
			break;
		}
		rc = host_rdma_wc_process(qp, wc, n);
	}
	if (rc)
		return rc;
	/* The CM channel is checked at most once a millisecond (a syscall on verbs). */
	now = host_now_ns();
	if (now - c->last_cm_check_ns >= HOST_RDMA_CM_CHECK_NS) {
		c->last_cm_check_ns = now;
		return host_rdma_cm_check(qp, c);
	}
	return 0;
}

static void host_rdma_wait(struct unvmf_host_qpair *qp, int timeout_ms)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	struct pollfd pfd[2];
	int n;

	if (c->progress) {
		c->progress(c->progress_arg);
		return;
	}
	if (c->stash_n || c->state != HOST_RDMA_CONN_LIVE)
		return;
	/* Completions that landed before the arm would raise no event: take them now. */
	if (c->prov->cq_arm(c->cq) == 0) {
		n = c->prov->cq_poll(c->cq, c->stash, HOST_RDMA_WC_BATCH);
		if (n > 0) {
			c->stash_n = n;
			return;
		}
	}
	pfd[0] = (struct pollfd){.fd = c->prov->cq_fd(c->cq), .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = c->prov->channel_fd(c->ch), .events = POLLIN};
	poll(pfd, 2, timeout_ms);
}

static void host_rdma_shutdown(struct unvmf_host_qpair *qp)
{
	host_rdma_conn_drain(qp);
}

static void host_rdma_destroy(struct unvmf_host_qpair *qp)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);

	if (c->established) {
		c->prov->cm_disconnect(c->id);
		c->established = false;
	}
	host_rdma_conn_drain(qp);
	host_rdma_conn_reap(qp, host_now_ns() + HOST_RDMA_TEARDOWN_MS * 1000000ull);
	host_rdma_conn_free(c);
}

const struct host_transport_ops g_host_rdma_ops = {
    .name = "RDMA",
    .trtype = NVMF_TRTYPE_RDMA,
    .connect = host_rdma_connect,
    .submit = host_rdma_req_submit,
    .poll = host_rdma_poll,
    .shutdown = host_rdma_shutdown,
    .wait = host_rdma_wait,
    .destroy = host_rdma_destroy,
};
