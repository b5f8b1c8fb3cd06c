/*
 * NVMe/TCP host receiver: reads the socket into a staging buffer (or straight
 * into the request's buffers for large C2HData payloads), parses PDUs and
 * dispatches them to the request state machine.
 */
#include "host/tcp/host_tcp_conn.h"
#include "util/common.h"
#include "util/crc32c.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

/* Payload left at or above this goes straight into the request's buffers. */
#define HOST_TCP_RECV_DIRECT_MIN 8192u

static struct host_tcp_req *host_tcp_recv_req_lookup(struct unvmf_host_qpair *qp, uint16_t cid)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);

	if (cid >= qp->nreqs || c->treqs[cid].state == HOST_TCP_REQ_FREE)
		return NULL;
	return &c->treqs[cid];
}

static int host_tcp_recv_capsule_resp(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	const struct nvme_tcp_rsp *rsp = (const struct nvme_tcp_rsp *)c->rhdr;
	struct host_tcp_req *treq = host_tcp_recv_req_lookup(qp, rsp->rccqe.cid);

	if (!treq || treq->state == HOST_TCP_REQ_SEND_THEN_COMPLETE)
		return host_tcp_conn_fail(
		    qp, NVME_TCP_FES_INVALID_HEADER_FIELD,
		    offsetof(struct nvme_tcp_rsp, rccqe) + offsetof(struct nvme_cqe, cid), -EPROTO);
	host_tcp_req_response(qp, treq, &rsp->rccqe);
	return 0;
}

static int host_tcp_recv_r2t(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	const struct nvme_tcp_r2t_hdr *r2t = (const struct nvme_tcp_r2t_hdr *)c->rhdr;
	struct host_tcp_req *treq = host_tcp_recv_req_lookup(qp, r2t->cccid);
	struct host_req *req;

	if (!treq)
		return host_tcp_conn_fail(qp, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                          offsetof(struct nvme_tcp_r2t_hdr, cccid), -EPROTO);
	req = &qp->reqs[r2t->cccid];
	/* MAXR2T 0: one R2T at a time, and only after all earlier data went out. */
	if (treq->state != HOST_TCP_REQ_AWAIT_CTRLR || req->dir != UNVMF_HOST_DIR_TO_CTRLR)
		return host_tcp_conn_fail(qp, NVME_TCP_FES_PDU_SEQUENCE_ERROR, 0, -EPROTO);
	if (r2t->r2tl == 0 || r2t->r2to != treq->h2c_end || r2t->r2tl > req->len ||
	    r2t->r2to > req->len - r2t->r2tl)
		return host_tcp_conn_fail(qp, NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE,
		                          offsetof(struct nvme_tcp_r2t_hdr, r2to), -EPROTO);
	host_tcp_req_start_h2c(qp, treq, r2t->ttag, r2t->r2to, r2t->r2tl);
	return 0;
}

static int host_tcp_recv_c2h_start(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	const struct nvme_tcp_c2h_data_hdr *c2h = (const struct nvme_tcp_c2h_data_hdr *)c->rhdr;
	struct host_tcp_req *treq = host_tcp_recv_req_lookup(qp, c2h->cccid);
	uint32_t payload = c->rlay.data_len;
	struct host_req *req;

	if (!treq)
		return host_tcp_conn_fail(qp, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                          offsetof(struct nvme_tcp_c2h_data_hdr, cccid), -EPROTO);
	req = &qp->reqs[c2h->cccid];
	if (treq->state != HOST_TCP_REQ_AWAIT_CTRLR || req->dir != UNVMF_HOST_DIR_FROM_CTRLR)
		return host_tcp_conn_fail(qp, NVME_TCP_FES_PDU_SEQUENCE_ERROR, 0, -EPROTO);
	if (c2h->datal != payload)
		return host_tcp_conn_fail(qp, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                          offsetof(struct nvme_tcp_c2h_data_hdr, datal), -EPROTO);
	if (c2h->datao != treq->c2h_next || c2h->datal > req->len - c2h->datao)
		return host_tcp_conn_fail(qp, NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE,
		                          offsetof(struct nvme_tcp_c2h_data_hdr, datao), -EPROTO);
	if ((c2h->common.flags & NVME_TCP_C2H_DATA_FLAGS_SUCCESS) &&
	    !(c2h->common.flags & NVME_TCP_C2H_DATA_FLAGS_LAST_PDU))
		return host_tcp_conn_fail(qp, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                          offsetof(struct nvme_tcp_common_pdu_hdr, flags), -EPROTO);
	c->rreq = treq;
	c->rdata_off = c2h->datao;
	c->rdata_left = c2h->datal;
	c->rcrc = UNVMF_CRC32C_INIT;
	c->rstate = HOST_TCP_RECV_DATA;
	return 0;
}

static int host_tcp_recv_term_req(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	const struct nvme_tcp_term_req_hdr *term = (const struct nvme_tcp_term_req_hdr *)c->rhdr;

	qp->term_fes = term->fes;
	memcpy(&qp->term_fei, term->fei, sizeof(qp->term_fei));
	LOG_ERR("qpair %u: controller terminated the connection: FES 0x%x (%s), FEI 0x%x", qp->qid,
	        qp->term_fes, unvmf_host_fes_str(qp->term_fes), qp->term_fei);
	return host_tcp_conn_fail(qp, 0, 0, -ECONNABORTED);
}

/* The whole header (and digest/padding) is in c->rhdr. */
static int host_tcp_recv_header_done(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	const struct nvme_tcp_common_pdu_hdr *ch = (const struct nvme_tcp_common_pdu_hdr *)c->rhdr;

	if ((ch->flags & NVME_TCP_CH_FLAGS_HDGSTF) && !nvme_tcp_pdu_hdgst_ok(c->rhdr, ch->hlen))
		return host_tcp_conn_fail(qp, NVME_TCP_FES_HDGST_ERROR, 0, -EPROTO);
	int rc;

	c->rstate = HOST_TCP_RECV_CH;
	switch (ch->pdu_type) {
	case NVME_TCP_PDU_TYPE_CAPSULE_RESP:
		rc = host_tcp_recv_capsule_resp(qp);
		break;
	case NVME_TCP_PDU_TYPE_R2T:
		rc = host_tcp_recv_r2t(qp);
		break;
	case NVME_TCP_PDU_TYPE_C2H_DATA:
		rc = host_tcp_recv_c2h_start(qp);
		break;
	case NVME_TCP_PDU_TYPE_C2H_TERM_REQ:
		/* Its optional data (our offending header) is not needed: the connection ends. */
		rc = host_tcp_recv_term_req(qp);
		break;
	default:
		rc = host_tcp_conn_fail(qp, NVME_TCP_FES_INVALID_HEADER_FIELD, 0, -EPROTO);
		break;
	}
	/* Kept until dispatch so an H2CTermReq can quote the offending header. */
	c->rhdr_got = 0;
	return rc;
}

static void host_tcp_recv_c2h_done(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	const struct nvme_tcp_c2h_data_hdr *c2h = (const struct nvme_tcp_c2h_data_hdr *)c->rhdr;
	struct host_tcp_req *treq = c->rreq;

	treq->c2h_next = c->rdata_off;
	c->rreq = NULL;
	c->rstate = HOST_TCP_RECV_CH;
	if (c2h->common.flags & NVME_TCP_C2H_DATA_FLAGS_SUCCESS) {
		struct nvme_cqe cqe;

		/* SUCCESS: the controller sends no CapsuleResp for this command. */
		memset(&cqe, 0, sizeof(cqe));
		cqe.cid = c2h->cccid;
		cqe.sqid = qp->qid;
		host_tcp_req_response(qp, treq, &cqe);
	}
}

static int host_tcp_recv_ddgst_check(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	uint32_t got;

	memcpy(&got, c->rddgst, sizeof(got));
	if (got != unvmf_crc32c_final(c->rcrc)) {
		struct host_req *req = &qp->reqs[c->rreq - c->treqs];

		LOG_ERR("qpair %u: data digest error on C2HData for cid %u", qp->qid, req->sqe.cid);
		req->xfer_error_sc = NVME_SC_DATA_TRANSFER_ERROR;
	}
	return 0;
}

/* C2HData payload bytes into the request at rdata_off. */
static void host_tcp_recv_payload(struct unvmf_host_qpair *qp, const uint8_t *src, uint32_t n)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	struct iovec iov[UNVMF_HOST_MAX_IOV];
	const uint8_t *start = src;
	int cnt;

	cnt = host_tcp_req_slice(&qp->reqs[c->rreq - c->treqs], c->rdata_off, n, iov,
	                         UNVMF_HOST_MAX_IOV);
	for (int i = 0; i < cnt; i++) {
		memcpy(iov[i].iov_base, src, iov[i].iov_len);
		src += iov[i].iov_len;
	}
	if (c->p.ddgst)
		c->rcrc = unvmf_crc32c_update(c->rcrc, start, n);
	c->rdata_off += n;
}

/* Parses what the staging buffer holds; returns 0 or a negative errno. */
static int host_tcp_recv_consume(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	int rc = 0;

	while (c->rpos < c->rlen && rc == 0) {
		uint32_t avail = c->rlen - c->rpos, n;
		const uint8_t *src = c->rbuf + c->rpos;

		if (qp->poll_max && qp->poll_completions >= qp->poll_max)
			break;
		switch (c->rstate) {
		case HOST_TCP_RECV_CH: {
			struct nvme_tcp_pdu_error err;

			n = UNVMF_MIN(avail, (uint32_t)sizeof(struct nvme_tcp_common_pdu_hdr) -
			                         c->rhdr_got);
			memcpy(c->rhdr + c->rhdr_got, src, n);
			c->rhdr_got += n;
			c->rpos += n;
			if (c->rhdr_got < sizeof(struct nvme_tcp_common_pdu_hdr))
				break;
			if (nvme_tcp_pdu_ch_check((const struct nvme_tcp_common_pdu_hdr *)c->rhdr,
			                          &c->p, &c->rlay, &err))
				return host_tcp_conn_fail(qp, err.fes, err.fei, -EPROTO);
			c->rhdr_total = c->rlay.data_off;
			c->rstate = HOST_TCP_RECV_HDR;
			if (c->rhdr_got == c->rhdr_total)
				rc = host_tcp_recv_header_done(qp);
			break;
		}
		case HOST_TCP_RECV_HDR:
			n = UNVMF_MIN(avail, c->rhdr_total - c->rhdr_got);
			memcpy(c->rhdr + c->rhdr_got, src, n);
			c->rhdr_got += n;
			c->rpos += n;
			if (c->rhdr_got == c->rhdr_total)
				rc = host_tcp_recv_header_done(qp);
			break;
		case HOST_TCP_RECV_DATA:
			n = UNVMF_MIN(avail, c->rdata_left);
			host_tcp_recv_payload(qp, src, n);
			c->rdata_left -= n;
			c->rpos += n;
			if (c->rdata_left == 0) {
				if (c->p.ddgst) {
					c->rddgst_got = 0;
					c->rstate = HOST_TCP_RECV_DDGST;
				} else {
					host_tcp_recv_c2h_done(qp);
				}
			}
			break;
		case HOST_TCP_RECV_DDGST:
			n = UNVMF_MIN(avail, 4 - c->rddgst_got);
			memcpy(c->rddgst + c->rddgst_got, src, n);
			c->rddgst_got += n;
			c->rpos += n;
			if (c->rddgst_got == 4) {
				rc = host_tcp_recv_ddgst_check(qp);
				host_tcp_recv_c2h_done(qp);
			}
			break;
		case HOST_TCP_RECV_ERROR:
			return -EPROTO;
		}
	}
	return rc;
}

/* Reads a large payload straight into the request's buffers; returns bytes or -errno. */
static ssize_t host_tcp_recv_direct(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	struct iovec iov[UNVMF_HOST_MAX_IOV];
	int cnt = host_tcp_req_slice(&qp->reqs[c->rreq - c->treqs], c->rdata_off, c->rdata_left,
	                             iov, UNVMF_HOST_MAX_IOV);
	ssize_t r;

	r = unvmf_sock_readv(c->sock, iov, cnt);
	if (r <= 0)
		return r == 0 ? -ECONNRESET : r;
	if (c->p.ddgst) {
		uint32_t left = (uint32_t)r;

		for (int i = 0; i < cnt && left > 0; i++) {
			uint32_t m = (uint32_t)UNVMF_MIN((size_t)left, iov[i].iov_len);

			c->rcrc = unvmf_crc32c_update(c->rcrc, iov[i].iov_base, m);
			left -= m;
		}
	}
	c->rdata_off += (uint32_t)r;
	c->rdata_left -= (uint32_t)r;
	if (c->rdata_left == 0) {
		if (c->p.ddgst) {
			c->rddgst_got = 0;
			c->rstate = HOST_TCP_RECV_DDGST;
		} else {
			host_tcp_recv_c2h_done(qp);
		}
	}
	return r;
}

int host_tcp_recv_poll(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	int rc;

	for (;;) {
		ssize_t r;

		if (c->rstate == HOST_TCP_RECV_ERROR)
			return -EPROTO;
		if (qp->poll_max && qp->poll_completions >= qp->poll_max)
			return 0;
		if (c->rpos < c->rlen) {
			rc = host_tcp_recv_consume(qp);
			if (rc)
				return rc;
			continue;
		}
		if (c->rstate == HOST_TCP_RECV_DATA && c->rdata_left >= HOST_TCP_RECV_DIRECT_MIN) {
			r = host_tcp_recv_direct(qp);
			if (r == -EAGAIN)
				return 0;
			if (r < 0)
				return host_tcp_conn_fail(qp, 0, 0, (int)r);
			continue;
		}
		r = unvmf_sock_recv(c->sock, c->rbuf, c->rbuf_cap);
		if (r == 0)
			return host_tcp_conn_fail(qp, 0, 0, -ECONNRESET);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return host_tcp_conn_fail(qp, 0, 0, (int)r);
		c->rpos = 0;
		c->rlen = (uint32_t)r;
	}
}
