/* Host qpair: request slots, submission, completion, failure, synchronous execution. */
#include "host/host_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

uint64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int host_qpair_alloc(struct unvmf_host_ctrlr *ctrlr, uint16_t qid, uint16_t qsize,
		     struct unvmf_host_qpair **out)
{
	struct unvmf_host_qpair *qp;

	if (qsize < 2)
		return -EINVAL;
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return -ENOMEM;
	qp->ctrlr = ctrlr;
	qp->qid = qid;
	qp->qsize = qsize;
	/* An SQ of n entries holds at most n - 1 commands. */
	qp->nreqs = (uint16_t)(qsize - 1);
	qp->reqs = calloc(qp->nreqs, sizeof(*qp->reqs));
	qp->free_stack = calloc(qp->nreqs, sizeof(*qp->free_stack));
	if (!qp->reqs || !qp->free_stack)
		goto err_free;
	/* Lowest cid on top so the first commands use cid 0, 1, … */
	for (uint16_t i = 0; i < qp->nreqs; i++)
		qp->free_stack[i] = (uint16_t)(qp->nreqs - 1 - i);
	qp->nfree = qp->nreqs;
	qp->ops = &g_host_tcp_ops;
	*out = qp;
	return 0;

err_free:
	free(qp->reqs);
	free(qp->free_stack);
	free(qp);
	return -ENOMEM;
}

void host_qpair_free(struct unvmf_host_qpair *qp)
{
	if (!qp)
		return;
	if (qp->tctx) {
		if (!qp->failed_rc)
			host_qpair_fail(qp, -ECONNABORTED);
		qp->ops->destroy(qp);
		qp->tctx = NULL;
	}
	free(qp->reqs);
	free(qp->free_stack);
	free(qp);
}

struct host_req *host_req_get(struct unvmf_host_qpair *qp)
{
	struct host_req *req;

	if (qp->nfree == 0)
		return NULL;
	req = &qp->reqs[qp->free_stack[--qp->nfree]];
	UNVMF_ASSERT(req->state == HOST_REQ_FREE);
	req->state = HOST_REQ_ACTIVE;
	req->xfer_error_sc = 0;
	qp->outstanding++;
	return req;
}

void host_req_put(struct unvmf_host_qpair *qp, struct host_req *req)
{
	UNVMF_ASSERT(req->state == HOST_REQ_ACTIVE);
	req->state = HOST_REQ_FREE;
	qp->free_stack[qp->nfree++] = (uint16_t)(req - qp->reqs);
	qp->outstanding--;
}

void host_qpair_complete(struct unvmf_host_qpair *qp, struct host_req *req,
			 const struct nvme_cqe *cqe)
{
	unvmf_host_cb cb = req->cb;
	void *cb_arg = req->cb_arg;
	struct nvme_cqe cpl = *cqe;

	if (req->xfer_error_sc && host_cqe_ok(&cpl)) {
		cpl.status.raw = 0;
		cpl.status.s.sct = NVME_SCT_GENERIC;
		cpl.status.s.sc = (uint8_t)req->xfer_error_sc;
	}
	cpl.cid = req->sqe.cid;
	/* Freed before the callback so it can resubmit into this slot. */
	host_req_put(qp, req);
	qp->poll_completions++;
	if (cb)
		cb(cb_arg, &cpl);
}

void host_qpair_fail(struct unvmf_host_qpair *qp, int rc)
{
	struct nvme_cqe cqe;

	if (!qp->failed_rc)
		qp->failed_rc = rc < 0 ? rc : -EIO;
	/* The transport lets go first, so a callback resubmitting finds the qpair failed. */
	if (qp->tctx)
		qp->ops->shutdown(qp);
	memset(&cqe, 0, sizeof(cqe));
	cqe.sqid = qp->qid;
	cqe.status.s.sct = NVME_SCT_GENERIC;
	cqe.status.s.sc = NVME_SC_ABORTED_SQ_DELETION;
	cqe.status.s.dnr = 0;
	for (uint16_t i = 0; i < qp->nreqs; i++) {
		if (qp->reqs[i].state == HOST_REQ_ACTIVE)
			host_qpair_complete(qp, &qp->reqs[i], &cqe);
	}
}

static enum unvmf_host_dir host_dir_of_opc(uint8_t opc)
{
	switch (opc & 3) {
	case 1:
		return UNVMF_HOST_DIR_TO_CTRLR;
	case 2:
		return UNVMF_HOST_DIR_FROM_CTRLR;
	default:
		return UNVMF_HOST_DIR_NONE;
	}
}

int host_qpair_submit(struct unvmf_host_qpair *qp, const struct nvme_sqe *sqe,
		      const struct iovec *iov, int iovcnt, enum unvmf_host_dir dir,
		      unvmf_host_cb cb, void *cb_arg)
{
	struct host_req *req;
	uint32_t len = 0;
	int rc;

	if (qp->failed_rc)
		return -ENXIO;
	if (iovcnt < 0 || iovcnt > UNVMF_HOST_MAX_IOV || (iovcnt > 0 && !iov))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > UINT32_MAX - len)
			return -EINVAL;
		len += (uint32_t)iov[i].iov_len;
	}
	if (len == 0)
		dir = UNVMF_HOST_DIR_NONE;
	else if (dir == UNVMF_HOST_DIR_NONE)
		return -EINVAL;
	req = host_req_get(qp);
	if (!req)
		return -EAGAIN;
	req->sqe = *sqe;
	req->sqe.cid = (uint16_t)(req - qp->reqs);
	if (iovcnt)
		memcpy(req->iov, iov, sizeof(*iov) * (size_t)iovcnt);
	req->iovcnt = iovcnt;
	req->len = len;
	req->dir = dir;
	req->cb = cb;
	req->cb_arg = cb_arg;
	rc = qp->ops->submit(qp, req);
	if (rc) {
		host_req_put(qp, req);
		return rc;
	}
	return 0;
}

int unvmf_host_submit_cmd(struct unvmf_host_qpair *qpair, const struct nvme_sqe *sqe,
			  const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg)
{
	enum unvmf_host_dir dir = host_dir_of_opc(sqe->opc);

	if (sqe->opc == NVME_OPC_FABRICS) {
		/* Fabrics commands carry the direction in fctype's low bits. */
		dir = host_dir_of_opc(((const struct nvmf_capsule_cmd *)sqe)->fctype);
	}
	return host_qpair_submit(qpair, sqe, iov, iovcnt, dir, cb, cb_arg);
}

int unvmf_host_qpair_poll(struct unvmf_host_qpair *qpair, uint32_t max)
{
	int rc;

	if (qpair->failed_rc)
		return qpair->failed_rc;
	qpair->poll_completions = 0;
	qpair->poll_max = max;
	rc = qpair->ops->poll(qpair);
	if (rc < 0) {
		host_qpair_fail(qpair, rc);
		return qpair->failed_rc;
	}
	return (int)qpair->poll_completions;
}

struct host_exec_wait {
	bool done;
	struct nvme_cqe cqe;
};

static void host_exec_done(void *arg, const struct nvme_cqe *cqe)
{
	struct host_exec_wait *w = arg;

	w->cqe = *cqe;
	w->done = true;
}

int host_qpair_exec(struct unvmf_host_qpair *qp, const struct nvme_sqe *sqe, void *buf,
		    uint32_t len, enum unvmf_host_dir dir, struct nvme_cqe *cqe,
		    uint32_t timeout_ms)
{
	struct host_exec_wait w = {0};
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	uint64_t deadline = host_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int rc;

	rc = host_qpair_submit(qp, sqe, &iov, buf && len ? 1 : 0, dir, host_exec_done, &w);
	if (rc)
		return rc;
	while (!w.done) {
		uint64_t now;

		rc = unvmf_host_qpair_poll(qp, 0);
		if (w.done)
			break;
		if (rc < 0)
			return rc;
		now = host_now_ns();
		if (now >= deadline) {
			LOG_ERR("qpair %u: command opc 0x%02x timed out after %u ms", qp->qid,
				sqe->opc, timeout_ms);
			/* Completes w (aborted), so nothing is left pointing at it. */
			host_qpair_fail(qp, -ETIMEDOUT);
			return -ETIMEDOUT;
		}
		qp->ops->wait(qp, (int)UNVMF_MIN((deadline - now) / 1000000ull + 1, 10));
	}
	if (cqe)
		*cqe = w.cqe;
	if (qp->failed_rc)
		return qp->failed_rc;
	return host_cqe_ok(&w.cqe) ? 0 : -EREMOTEIO;
}
