/*
 * PDU receive state machine. One socket read fills conn->rbuf with as many PDUs as
 * the socket holds; headers are gathered into conn->hdr (they may straddle
 * reads), data is copied straight into its destination (the request's
 * in-capsule buffer or data buffers). When a large payload is still to come
 * and nothing is buffered, the socket is read directly into the request's
 * buffers instead; while R2Ts are outstanding, reads into rbuf are kept
 * short so that H2CData payloads take that direct path (recv_buf_want).
 *
 *   CH -> PSH -> [PAD] -> [DATA] -> [DDGST] -> CH        (STOPPED once draining)
 *
 * Any header rule broken ends in tcp_conn_terminate(): C2HTermReq, close.
 */
#include "transport/tcp/tcp_internal.h"
#include "util/common.h"
#include "util/crc32c.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#define RECV_CALLS_PER_POLL 4

static const struct nvme_tcp_common_pdu_hdr *recv_ch(const struct tcp_conn *conn)
{
	return (const struct nvme_tcp_common_pdu_hdr *)conn->hdr;
}

static void recv_terminate(struct tcp_conn *conn, const struct nvme_tcp_pdu_error *err)
{
	tcp_conn_terminate(conn, err->fes, err->fei, conn->hdr,
	                   UNVMF_MIN(conn->hdr_have, NVME_TCP_PDU_TERM_DATA_MAX));
}

static void recv_reset(struct tcp_conn *conn)
{
	conn->rstate = TCP_RECV_CH;
	conn->hdr_have = 0;
	conn->cur_req = NULL;
	conn->dst_iov = NULL;
	conn->dst_iovcnt = 0;
}

/* The PDU is whole: hand it on. The receive state is reset first: the handlers may tear down. */
static void recv_pdu_done(struct tcp_conn *conn)
{
	uint8_t type = recv_ch(conn)->pdu_type;
	struct tcp_req *req = conn->cur_req;

	if (conn->group)
		conn->group->stats.pdus_rx++;
	if (type == NVME_TCP_PDU_TYPE_H2C_DATA)
		req->h2c_next += conn->lay.data_len;
	recv_reset(conn);
	if (type == NVME_TCP_PDU_TYPE_CAPSULE_CMD)
		tcp_req_capsule_done(req);
	else if (type == NVME_TCP_PDU_TYPE_H2C_DATA)
		tcp_req_h2c_done(req);
}

static void recv_payload_start(struct tcp_conn *conn)
{
	if (conn->lay.data_len == 0) {
		recv_pdu_done(conn);
		return;
	}
	conn->pad_left = conn->lay.data_off - conn->lay.hdr_len;
	conn->data_done = 0;
	conn->crc = UNVMF_CRC32C_INIT;
	conn->ddgst_have = 0;
	conn->rstate = conn->pad_left ? TCP_RECV_PAD : TCP_RECV_DATA;
}

static void recv_icreq(struct tcp_conn *conn)
{
	const struct nvme_tcp_ic_req *ic = (const struct nvme_tcp_ic_req *)conn->hdr;
	struct nvme_tcp_pdu_error err;
	struct tcp_pdu_out *pdu = &conn->icresp_pdu;

	if (nvme_tcp_pdu_icreq_check(ic, &err) != 0) {
		recv_terminate(conn, &err);
		return;
	}
	/* We support both digests: the host's wish is the outcome. */
	conn->params.hdgst = !!(ic->dgst & NVME_TCP_DIGEST_HEADER);
	conn->params.ddgst = !!(ic->dgst & NVME_TCP_DIGEST_DATA);
	conn->params.tx_align = (ic->hpda + 1u) * 4u;
	conn->params.ic_done = true;
	conn->state = TCP_CONN_RUNNING;
	pdu->hdr_len = nvme_tcp_pdu_icresp_build(pdu->hdr, conn->params.hdgst, conn->params.ddgst,
	                                         conn->params.maxh2cdata);
	pdu->data_len = 0;
	pdu->ddgst_len = 0;
	tcp_conn_queue_pdu(conn, pdu);
	conn->icreq_deadline_us = 0;
	unvmf_qpair_connect_deadline_arm(&conn->qpair);
	LOG_DEBUG("qpair %lu: ICReq hpda %u dgst %#x maxr2t %u", (unsigned long)conn->qpair.id,
	          ic->hpda, ic->dgst, ic->maxr2t);
	recv_payload_start(conn);
}

static void recv_capsule(struct tcp_conn *conn)
{
	const struct nvme_tcp_cmd *cmd = (const struct nvme_tcp_cmd *)conn->hdr;
	struct tcp_req *req = tcp_req_get(conn);
	uint32_t max_io = conn->tt->base.opts.max_io_size;

	if (!req) {
		/*
		 * More commands outstanding than the queue has entries: the host
		 * broke SQ flow control. Queueing them would let it grow our
		 * memory without bound, so the connection ends as a protocol error.
		 */
		struct nvme_tcp_pdu_error err = {.fes = NVME_TCP_FES_PDU_SEQUENCE_ERROR, .fei = 0};

		LOG_ERR("qpair %lu (qid %u, host %s, peer %s:%s): capsule cid %u beyond the queue "
		        "size %u: ending the connection",
		        (unsigned long)conn->qpair.id, conn->qpair.qid,
		        conn->qpair.ctrlr ? conn->qpair.ctrlr->hostnqn : "-",
		        conn->qpair.peer.traddr, conn->qpair.peer.trsvcid, cmd->ccsqe.cid,
		        tcp_conn_depth(conn));
		if (conn->group)
			conn->group->stats.sq_overflows++;
		recv_terminate(conn, &err);
		return;
	}
	req->core.cmd = cmd->ccsqe;
	req->core.xfer = unvmf_cmd_xfer(&req->core.cmd);
	if (tcp_pdu_sgl_parse(&req->core.cmd, req->core.xfer, conn->lay.data_len,
	                      conn->params.icd_max, max_io, &req->sgl, &req->sct, &req->sc) != 0)
		req->has_status = true;
	conn->cur_req = req;
	if (conn->lay.data_len && req->sgl.kind == TCP_SGL_IN_CAPSULE) {
		conn->dst_single.iov_base = req->icd;
		conn->dst_single.iov_len = conn->lay.data_len;
		conn->dst_iov = &conn->dst_single;
		conn->dst_iovcnt = 1;
		conn->dst_base = 0;
	}
	recv_payload_start(conn);
}

static void recv_h2c(struct tcp_conn *conn)
{
	const struct nvme_tcp_h2c_data_hdr *h2c = (const struct nvme_tcp_h2c_data_hdr *)conn->hdr;
	struct tcp_h2c_expect exp = {.active = false};
	struct tcp_req *req = NULL;
	struct nvme_tcp_pdu_error err;

	if (h2c->ttag < conn->num_reqs) {
		req = &conn->reqs[h2c->ttag];
		if (req->state == TCP_REQ_TRANSFERRING_HOST_TO_CONTROLLER && req->r2t_active) {
			exp.active = true;
			exp.cccid = req->core.cmd.cid;
			exp.next = req->h2c_next;
			exp.end = req->r2t_end;
		}
	}
	if (tcp_pdu_h2c_check(h2c, &conn->lay, &exp, conn->params.maxh2cdata, &err) != 0) {
		recv_terminate(conn, &err);
		return;
	}
	conn->cur_req = req;
	conn->dst_iov = req->core.iov;
	conn->dst_iovcnt = req->core.iovcnt;
	conn->dst_base = h2c->datao;
	recv_payload_start(conn);
}

static void recv_h2c_term(struct tcp_conn *conn)
{
	const struct nvme_tcp_term_req_hdr *term = (const struct nvme_tcp_term_req_hdr *)conn->hdr;
	uint32_t fei;

	memcpy(&fei, term->fei, sizeof(fei));
	if (conn->group) {
		conn->group->stats.term_received++;
		conn->group->stats.term_received_fes[term->fes < 8 ? term->fes : 0]++;
	}
	LOG_WARN("qpair %lu (peer %s:%s): host sent H2CTermReq FES %u FEI %u",
	         (unsigned long)conn->qpair.id, conn->qpair.peer.traddr, conn->qpair.peer.trsvcid,
	         term->fes, fei);
	tcp_conn_teardown(conn, TCP_END_H2C_TERM_REQ, "host terminated the connection");
}

static void recv_ch_done(struct tcp_conn *conn)
{
	struct nvme_tcp_pdu_error err;

	/* Admin queue and anything before Connect may carry the larger admin capsule. */
	conn->params.icd_max =
	    conn->qpair.qid == 0 ? conn->icd_size : conn->tt->base.opts.in_capsule_data_size;
	if (nvme_tcp_pdu_ch_check(recv_ch(conn), &conn->params, &conn->lay, &err) != 0) {
		recv_terminate(conn, &err);
		return;
	}
	conn->rstate = TCP_RECV_PSH;
}

static void recv_psh_done(struct tcp_conn *conn)
{
	const struct nvme_tcp_common_pdu_hdr *ch = recv_ch(conn);

	if (conn->lay.hdr_len > ch->hlen && !nvme_tcp_pdu_hdgst_ok(conn->hdr, ch->hlen)) {
		struct nvme_tcp_pdu_error err = {.fes = NVME_TCP_FES_HDGST_ERROR, .fei = 0};

		if (conn->group)
			conn->group->stats.hdgst_errors++;
		recv_terminate(conn, &err);
		return;
	}
	switch (ch->pdu_type) {
	case NVME_TCP_PDU_TYPE_IC_REQ:
		recv_icreq(conn);
		return;
	case NVME_TCP_PDU_TYPE_CAPSULE_CMD:
		recv_capsule(conn);
		return;
	case NVME_TCP_PDU_TYPE_H2C_DATA:
		recv_h2c(conn);
		return;
	case NVME_TCP_PDU_TYPE_H2C_TERM_REQ:
		recv_h2c_term(conn);
		return;
	default:
		/* nvme_tcp_pdu_ch_check admits no other type. */
		UNVMF_ASSERT(false);
		return;
	}
}

static void recv_ddgst_done(struct tcp_conn *conn)
{
	uint32_t got;

	memcpy(&got, conn->ddgst, sizeof(got));
	if (got != unvmf_crc32c_final(conn->crc)) {
		if (conn->group)
			conn->group->stats.ddgst_errors++;
		LOG_WARN("qpair %lu: data digest error (PDU type %u, cid %u)",
		         (unsigned long)conn->qpair.id, recv_ch(conn)->pdu_type,
		         conn->cur_req ? conn->cur_req->core.cmd.cid : 0xffff);
		if (conn->cur_req)
			conn->cur_req->ddgst_error = true;
	}
	recv_pdu_done(conn);
}

static void recv_data_done(struct tcp_conn *conn)
{
	if (conn->lay.ddgst_len) {
		conn->rstate = TCP_RECV_DDGST;
		return;
	}
	recv_pdu_done(conn);
}

/* Up to max iovecs covering [off, off + len) of iov; returns the count. */
static int iov_slice(const struct iovec *iov, int iovcnt, uint32_t off, uint32_t len,
                     struct iovec *out, int max)
{
	int n = 0;

	for (int i = 0; i < iovcnt && len && n < max; i++) {
		uint32_t ilen = (uint32_t)iov[i].iov_len, take;

		if (off >= ilen) {
			off -= ilen;
			continue;
		}
		take = UNVMF_MIN(len, ilen - off);
		out[n].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

static void recv_data_copy(struct tcp_conn *conn, const uint8_t *src, uint32_t len)
{
	if (conn->group)
		conn->group->stats.bytes_rx_copied += len;
	if (conn->lay.ddgst_len)
		conn->crc = unvmf_crc32c_update(conn->crc, src, len);
	if (conn->dst_iov) {
		struct iovec part[UNVMF_MAX_IOV];
		int n = iov_slice(conn->dst_iov, conn->dst_iovcnt, conn->dst_base + conn->data_done,
		                  len, part, UNVMF_MAX_IOV);

		for (int i = 0; i < n; i++) {
			memcpy(part[i].iov_base, src, part[i].iov_len);
			src += part[i].iov_len;
		}
	}
	conn->data_done += len;
}

/* Consumes the buffered bytes through the state machine. */
static void recv_process(struct tcp_conn *conn)
{
	while (conn->rbuf_off < conn->rbuf_len) {
		const uint8_t *p = conn->rbuf + conn->rbuf_off;
		uint32_t avail = conn->rbuf_len - conn->rbuf_off, n;

		switch (conn->rstate) {
		case TCP_RECV_CH:
			n = UNVMF_MIN(avail, NVME_TCP_PDU_CH_LEN - conn->hdr_have);
			memcpy(conn->hdr + conn->hdr_have, p, n);
			conn->hdr_have += n;
			conn->rbuf_off += n;
			if (conn->hdr_have == NVME_TCP_PDU_CH_LEN)
				recv_ch_done(conn);
			break;
		case TCP_RECV_PSH:
			n = UNVMF_MIN(avail, conn->lay.hdr_len - conn->hdr_have);
			memcpy(conn->hdr + conn->hdr_have, p, n);
			conn->hdr_have += n;
			conn->rbuf_off += n;
			if (conn->hdr_have == conn->lay.hdr_len)
				recv_psh_done(conn);
			break;
		case TCP_RECV_PAD:
			n = UNVMF_MIN(avail, conn->pad_left);
			conn->pad_left -= n;
			conn->rbuf_off += n;
			if (conn->pad_left == 0)
				conn->rstate = TCP_RECV_DATA;
			break;
		case TCP_RECV_DATA:
			n = UNVMF_MIN(avail, conn->lay.data_len - conn->data_done);
			recv_data_copy(conn, p, n);
			conn->rbuf_off += n;
			if (conn->data_done == conn->lay.data_len)
				recv_data_done(conn);
			break;
		case TCP_RECV_DDGST:
			n = UNVMF_MIN(avail, NVME_TCP_PDU_DGST_LEN - conn->ddgst_have);
			memcpy(conn->ddgst + conn->ddgst_have, p, n);
			conn->ddgst_have += n;
			conn->rbuf_off += n;
			if (conn->ddgst_have == NVME_TCP_PDU_DGST_LEN)
				recv_ddgst_done(conn);
			break;
		case TCP_RECV_STOPPED:
			conn->rbuf_off = conn->rbuf_len;
			return;
		}
	}
}

/* Reads the rest of a large payload straight into its destination buffers. */
static ssize_t recv_direct(struct tcp_conn *conn)
{
	struct iovec part[UNVMF_MAX_IOV];
	uint32_t left = conn->lay.data_len - conn->data_done;
	int n = iov_slice(conn->dst_iov, conn->dst_iovcnt, conn->dst_base + conn->data_done, left,
	                  part, UNVMF_MAX_IOV);
	ssize_t got = unvmf_sock_readv(conn->sock, part, n);

	if (got > 0) {
		size_t rem = (size_t)got;

		for (int i = 0; i < n && rem && conn->lay.ddgst_len; i++) {
			size_t take = UNVMF_MIN(rem, part[i].iov_len);

			conn->crc = unvmf_crc32c_update(conn->crc, part[i].iov_base, take);
			rem -= take;
		}
		conn->data_done += (uint32_t)got;
		if (conn->data_done == conn->lay.data_len)
			recv_data_done(conn);
	}
	return got;
}

/*
 * How much one read into rbuf may take. While an R2T is outstanding the
 * next PDU is likely an H2CData whose payload should land straight in the
 * request's buffers (recv_direct): a full-size read would pull up to
 * TCP_RECV_BUF_SIZE of it through rbuf and cost a copy of each byte. A short
 * read still holds the H2CData header and a run of small capsules.
 */
static size_t recv_buf_want(const struct tcp_conn *conn)
{
	if (conn->state_count[TCP_REQ_TRANSFERRING_HOST_TO_CONTROLLER] > 0)
		return TCP_RECV_H2C_PEEK;
	return TCP_RECV_BUF_SIZE;
}

int tcp_conn_recv(struct tcp_conn *conn)
{
	int work = 0;

	/* A TLS listener's socket carries nothing of NVMe/TCP until the handshake is done. */
	if (conn->tls_handshaking) {
		work = tcp_conn_handshake(conn);
		if (conn->tls_handshaking || conn->state == TCP_CONN_DRAINING)
			return work;
	}

	for (int i = 0; i < RECV_CALLS_PER_POLL && conn->state != TCP_CONN_DRAINING; i++) {
		bool direct = conn->rstate == TCP_RECV_DATA && conn->dst_iov &&
		              conn->lay.data_len - conn->data_done >= TCP_DIRECT_RECV_MIN;
		size_t asked = direct ? conn->lay.data_len - conn->data_done : recv_buf_want(conn);
		ssize_t n;

		if (direct) {
			n = recv_direct(conn);
		} else {
			n = unvmf_sock_recv(conn->sock, conn->rbuf, asked);
			if (n > 0) {
				conn->rbuf_len = (uint32_t)n;
				conn->rbuf_off = 0;
			}
		}
		if (n == 0) {
			tcp_conn_teardown(conn, TCP_END_HOST_CLOSE, "host closed the connection");
			return 1;
		}
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			tcp_conn_teardown(conn,
			                  n == -ECONNRESET || n == -EPIPE ? TCP_END_HOST_RESET
			                                                  : TCP_END_SOCKET_ERROR,
			                  "receive error");
			return 1;
		}
		work = 1;
		if (conn->group) {
			conn->group->stats.bytes_rx += (uint64_t)n;
			if (direct)
				conn->group->stats.bytes_rx_direct += (uint64_t)n;
		}
		if (!direct)
			recv_process(conn);
		if ((size_t)n < asked)
			break;
	}
	tcp_conn_recv_again_check(conn);
	return work;
}
