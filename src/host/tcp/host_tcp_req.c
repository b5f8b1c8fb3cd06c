/* NVMe/TCP host request state machine and submission. */
#include "host/tcp/host_tcp_conn.h"
#include "util/common.h"
#include "util/crc32c.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

/* The admin queue and Fabrics commands may always carry 8 KiB in the capsule (NVMe/TCP). */
#define HOST_TCP_ADMIN_IN_CAPSULE_MAX 8192u

static bool host_tcp_state_on_send_queue(enum host_tcp_req_state s)
{
	return s == HOST_TCP_REQ_SEND_CAPSULE || s == HOST_TCP_REQ_SEND_H2C ||
	       s == HOST_TCP_REQ_SEND_THEN_COMPLETE;
}

void host_tcp_req_set_state(struct host_tcp_conn *c, struct host_tcp_req *treq,
                            enum host_tcp_req_state state)
{
	bool was_queued = host_tcp_state_on_send_queue(treq->state);
	bool queued = host_tcp_state_on_send_queue(state);

	if (was_queued && !queued)
		TAILQ_REMOVE(&c->send_queue, treq, link);
	else if (!was_queued && queued)
		TAILQ_INSERT_TAIL(&c->send_queue, treq, link);
	UNVMF_ASSERT(c->state_count[treq->state] > 0 || treq->state == HOST_TCP_REQ_FREE);
	c->state_count[treq->state]--;
	c->state_count[state]++;
	treq->state = state;
}

int host_tcp_req_slice(const struct host_req *req, uint32_t off, uint32_t len, struct iovec *iov,
                       int max)
{
	int n = 0;

	for (int i = 0; i < req->iovcnt && len > 0; i++) {
		size_t seg = req->iov[i].iov_len;

		if (off >= seg) {
			off -= (uint32_t)seg;
			continue;
		}
		if (n == max)
			return -1;
		iov[n].iov_base = (uint8_t *)req->iov[i].iov_base + off;
		iov[n].iov_len = UNVMF_MIN(seg - off, (size_t)len);
		len -= (uint32_t)iov[n].iov_len;
		off = 0;
		n++;
	}
	return n;
}

/* Lays out the PDU in treq->hdr (hdr_len bytes) followed by data [off, off + len). */
static void host_tcp_req_pdu_layout(struct host_tcp_conn *c, struct host_req *req,
                                    struct host_tcp_req *treq, uint32_t hdr_len, uint32_t off,
                                    uint32_t len)
{
	int n;

	treq->iov[0].iov_base = treq->hdr;
	treq->iov[0].iov_len = hdr_len;
	n = len ? host_tcp_req_slice(req, off, len, &treq->iov[1], UNVMF_HOST_MAX_IOV) : 0;
	/* Slices of a range never outnumber the request's own iovecs. */
	UNVMF_ASSERT(n >= 0);
	treq->iovcnt = 1 + n;
	treq->pdu_len = hdr_len + len;
	if (len && c->p.ddgst) {
		treq->ddgst = unvmf_crc32c_iov(&treq->iov[1], n, len);
		treq->iov[treq->iovcnt].iov_base = &treq->ddgst;
		treq->iov[treq->iovcnt].iov_len = sizeof(treq->ddgst);
		treq->iovcnt++;
		treq->pdu_len += sizeof(treq->ddgst);
	}
	treq->pdu_sent = 0;
}

static void host_tcp_sgl_set(struct nvme_sqe *sqe, bool in_capsule, uint32_t len)
{
	sqe->psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	memset(&sqe->dptr, 0, sizeof(sqe->dptr));
	if (in_capsule) {
		sqe->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
		sqe->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	} else {
		sqe->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK;
		sqe->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_TRANSPORT;
	}
	sqe->dptr.sgl1.unkeyed.length = len;
}

int host_tcp_req_submit(struct unvmf_host_qpair *qp, struct host_req *req)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	struct host_tcp_req *treq = &c->treqs[req->sqe.cid];
	uint32_t limit = qp->in_capsule_max;
	bool in_capsule;
	uint32_t hdr_len;

	UNVMF_ASSERT(treq->state == HOST_TCP_REQ_FREE);
	if (qp->qid == 0 || req->sqe.opc == NVME_OPC_FABRICS)
		limit = HOST_TCP_ADMIN_IN_CAPSULE_MAX;
	in_capsule = req->dir == UNVMF_HOST_DIR_TO_CTRLR && req->len <= limit;
	host_tcp_sgl_set(&req->sqe, in_capsule, req->len);
	hdr_len =
	    nvme_tcp_pdu_capsule_build(treq->hdr, &c->p, &req->sqe, in_capsule ? req->len : 0);
	host_tcp_req_pdu_layout(c, req, treq, hdr_len, 0, in_capsule ? req->len : 0);
	treq->h2c_next = in_capsule ? req->len : 0;
	treq->h2c_end = treq->h2c_next;
	treq->c2h_next = 0;
	host_tcp_req_set_state(c, treq, HOST_TCP_REQ_SEND_CAPSULE);
	return 0;
}

static void host_tcp_req_finish(struct unvmf_host_qpair *qp, struct host_tcp_req *treq,
                                const struct nvme_cqe *cqe)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	struct host_req *req = &qp->reqs[treq - c->treqs];

	host_tcp_req_set_state(c, treq, HOST_TCP_REQ_FREE);
	host_qpair_complete(qp, req, cqe);
}

static void host_tcp_req_h2c_next_pdu(struct unvmf_host_qpair *qp, struct host_tcp_req *treq)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	struct host_req *req = &qp->reqs[treq - c->treqs];
	uint32_t len = UNVMF_MIN(treq->h2c_end - treq->h2c_next, c->p.maxh2cdata);
	bool last = treq->h2c_next + len == treq->h2c_end;
	uint32_t hdr_len;

	hdr_len = nvme_tcp_pdu_h2c_build(treq->hdr, &c->p, req->sqe.cid, treq->ttag, treq->h2c_next,
	                                 len, last);
	host_tcp_req_pdu_layout(c, req, treq, hdr_len, treq->h2c_next, len);
	treq->h2c_next += len;
}

void host_tcp_req_pdu_sent(struct unvmf_host_qpair *qp, struct host_tcp_req *treq)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);

	switch (treq->state) {
	case HOST_TCP_REQ_SEND_CAPSULE:
		host_tcp_req_set_state(c, treq, HOST_TCP_REQ_AWAIT_CTRLR);
		break;
	case HOST_TCP_REQ_SEND_H2C:
		if (treq->h2c_next < treq->h2c_end)
			host_tcp_req_h2c_next_pdu(qp, treq);
		else
			host_tcp_req_set_state(c, treq, HOST_TCP_REQ_AWAIT_CTRLR);
		break;
	case HOST_TCP_REQ_SEND_THEN_COMPLETE:
		host_tcp_req_finish(qp, treq, &treq->early_cqe);
		break;
	case HOST_TCP_REQ_FREE:
	case HOST_TCP_REQ_AWAIT_CTRLR:
	case HOST_TCP_REQ_NUM_STATES:
		UNVMF_ASSERT(0);
		break;
	}
}

void host_tcp_req_response(struct unvmf_host_qpair *qp, struct host_tcp_req *treq,
                           const struct nvme_cqe *cqe)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);

	if (host_tcp_state_on_send_queue(treq->state) && treq->pdu_sent > 0) {
		treq->early_cqe = *cqe;
		host_tcp_req_set_state(c, treq, HOST_TCP_REQ_SEND_THEN_COMPLETE);
		return;
	}
	host_tcp_req_finish(qp, treq, cqe);
}

void host_tcp_req_start_h2c(struct unvmf_host_qpair *qp, struct host_tcp_req *treq, uint16_t ttag,
                            uint32_t r2to, uint32_t r2tl)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);

	treq->ttag = ttag;
	treq->h2c_next = r2to;
	treq->h2c_end = r2to + r2tl;
	host_tcp_req_h2c_next_pdu(qp, treq);
	host_tcp_req_set_state(c, treq, HOST_TCP_REQ_SEND_H2C);
}

void host_tcp_req_drain_all(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);

	for (uint16_t i = 0; i < qp->nreqs; i++) {
		if (c->treqs[i].state != HOST_TCP_REQ_FREE)
			host_tcp_req_set_state(c, &c->treqs[i], HOST_TCP_REQ_FREE);
	}
	UNVMF_ASSERT(TAILQ_EMPTY(&c->send_queue));
}
