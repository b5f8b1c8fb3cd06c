/*
 * The TCP request state machine. Every state change goes through
 * tcp_req_set_state(), which also moves the request between the lists its
 * state implies (free list, pending-buffer FIFO) and keeps per-state counts
 * that tcp_conn_try_free() checks.
 *
 *   FREE -> NEW                       CapsuleCmd header accepted
 *   NEW -> NEED_BUFFER                data by R2T/C2HData, no buffers yet
 *   NEW|NEED_BUFFER -> TRANSFERRING_HOST_TO_CONTROLLER   buffers in hand, R2T sent
 *   NEW|NEED_BUFFER|TRANSFERRING_HOST_TO_CONTROLLER -> READY_TO_EXECUTE -> EXECUTING
 *   any of the above -> EXECUTING     completed early with a status (bad SGL, digest)
 *   EXECUTING -> EXECUTED -> TRANSFERRING_CONTROLLER_TO_HOST   core done, PDUs queued
 *   TRANSFERRING_CONTROLLER_TO_HOST -> COMPLETED -> FREE        last byte in the kernel
 *
 * Drain (teardown): EXECUTING waits for the core's req_complete, which then
 * frees it; every other state is freed at once (its PDUs were dropped first).
 */
#include "transport/tcp/tcp_internal.h"
#include "util/common.h"
#include "util/crc32c.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

static const char *const g_req_state_names[TCP_REQ_NUM_STATES] = {
    [TCP_REQ_FREE] = "FREE",
    [TCP_REQ_NEW] = "NEW",
    [TCP_REQ_NEED_BUFFER] = "NEED_BUFFER",
    [TCP_REQ_TRANSFERRING_HOST_TO_CONTROLLER] = "TRANSFERRING_HOST_TO_CONTROLLER",
    [TCP_REQ_READY_TO_EXECUTE] = "READY_TO_EXECUTE",
    [TCP_REQ_EXECUTING] = "EXECUTING",
    [TCP_REQ_EXECUTED] = "EXECUTED",
    [TCP_REQ_TRANSFERRING_CONTROLLER_TO_HOST] = "TRANSFERRING_CONTROLLER_TO_HOST",
    [TCP_REQ_COMPLETED] = "COMPLETED",
};

const char *tcp_req_state_str(enum tcp_req_state state)
{
	return state < TCP_REQ_NUM_STATES ? g_req_state_names[state] : "?";
}

enum tcp_req_queue tcp_req_queue_for_state(enum tcp_req_state state)
{
	switch (state) {
	case TCP_REQ_FREE:
		return TCP_REQ_QUEUE_FREE;
	case TCP_REQ_NEED_BUFFER:
		return TCP_REQ_QUEUE_PENDING_BUF;
	default:
		return TCP_REQ_QUEUE_NONE;
	}
}

static void req_unlink(struct tcp_req *req)
{
	struct tcp_conn *conn = req->conn;

	switch (req->queue) {
	case TCP_REQ_QUEUE_FREE:
		TAILQ_REMOVE(&conn->free_reqs, req, link);
		break;
	case TCP_REQ_QUEUE_PENDING_BUF:
		TAILQ_REMOVE(&conn->group->pending_buf, req, link);
		conn->group->stats.pending_buf_current--;
		break;
	case TCP_REQ_QUEUE_NONE:
		break;
	}
	req->queue = TCP_REQ_QUEUE_NONE;
}

static void req_link(struct tcp_req *req, enum tcp_req_queue queue)
{
	struct tcp_conn *conn = req->conn;

	switch (queue) {
	case TCP_REQ_QUEUE_FREE:
		TAILQ_INSERT_HEAD(&conn->free_reqs, req, link);
		break;
	case TCP_REQ_QUEUE_PENDING_BUF:
		TAILQ_INSERT_TAIL(&conn->group->pending_buf, req, link);
		conn->group->stats.pending_buf_current++;
		conn->group->stats.pending_buf_total++;
		break;
	case TCP_REQ_QUEUE_NONE:
		break;
	}
	req->queue = queue;
}

void tcp_req_set_state(struct tcp_req *req, enum tcp_req_state state)
{
	struct tcp_conn *conn = req->conn;
	enum tcp_req_queue queue = tcp_req_queue_for_state(state);

	UNVMF_ASSERT(conn->state_count[req->state] > 0);
	LOG_DEBUG("qpair %lu: req %u cid %u: %s -> %s", (unsigned long)conn->qpair.id, req->ttag,
	          req->core.cmd.cid, tcp_req_state_str(req->state), tcp_req_state_str(state));
	conn->state_count[req->state]--;
	conn->state_count[state]++;
	if (req->queue != queue) {
		req_unlink(req);
		req_link(req, queue);
	}
	req->state = state;
}

struct tcp_req *tcp_req_get(struct tcp_conn *conn)
{
	struct tcp_req *req = TAILQ_FIRST(&conn->free_reqs);

	if (!req || conn->num_reqs - conn->state_count[TCP_REQ_FREE] >= tcp_conn_depth(conn))
		return NULL;
	memset(&req->sgl, 0, sizeof(req->sgl));
	req->core.length = 0;
	req->core.iovcnt = 0;
	req->core.xfer = UNVMF_XFER_NONE;
	req->num_bufs = 0;
	req->h2c_next = 0;
	req->r2t_end = 0;
	req->r2t_active = false;
	req->r2t_deferred = false;
	req->ddgst_error = false;
	req->has_status = false;
	req->pdus_queued = 0;
	tcp_req_set_state(req, TCP_REQ_NEW);
	return req;
}

/* Returns the data buffers and the request to the free list. */
static void req_release(struct tcp_req *req)
{
	struct tcp_conn *conn = req->conn;

	UNVMF_ASSERT(req->pdus_queued == 0);
	if (req->num_bufs) {
		unvmf_buf_cache_put(&conn->group->cache, req->bufs, req->num_bufs);
		req->num_bufs = 0;
	}
	req->core.iovcnt = 0;
	tcp_req_set_state(req, TCP_REQ_FREE);
}

/* Hands the request to the core; it may complete (and be reused) before this returns. */
static void req_fail(struct tcp_req *req, uint8_t sct, uint8_t sc);

static void req_execute(struct tcp_req *req)
{
	if (tcp_tls_connect_refused(req)) {
		req_fail(req, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST);
		return;
	}
	tcp_req_set_state(req, TCP_REQ_READY_TO_EXECUTE);
	tcp_req_set_state(req, TCP_REQ_EXECUTING);
	unvmf_req_exec(&req->core);
}

static void req_fail(struct tcp_req *req, uint8_t sct, uint8_t sc)
{
	tcp_req_set_state(req, TCP_REQ_EXECUTING);
	unvmf_req_complete_status(&req->core, sct, sc);
}

static int req_buffers_get(struct tcp_req *req)
{
	struct tcp_conn *conn = req->conn;
	int n = unvmf_buf_cache_carve(&conn->group->cache, req->core.length,
	                              conn->tt->base.opts.io_unit_size, req->bufs, req->core.iov,
	                              UNVMF_MAX_IOV);

	/* The transport's options check keeps max_io_size within UNVMF_MAX_IOV units. */
	UNVMF_ASSERT(n != -EINVAL);
	if (n < 0)
		return -ENOMEM;
	req->num_bufs = (uint32_t)n;
	req->core.iovcnt = n;
	return 0;
}

static void req_send_r2t(struct tcp_req *req)
{
	struct tcp_conn *conn = req->conn;
	struct tcp_pdu_out *pdu = &req->r2t_pdu;
	uint32_t r2tl;

	/* Only a host that sent data before our R2T left can get here: wait for it. */
	if (pdu->queued) {
		req->r2t_deferred = true;
		return;
	}
	r2tl = UNVMF_MIN(req->core.length - req->h2c_next, conn->params.maxh2cdata);
	req->r2t_end = req->h2c_next + r2tl;
	pdu->hdr_len = nvme_tcp_pdu_r2t_build(pdu->hdr, &conn->params, req->core.cmd.cid, req->ttag,
	                                      req->h2c_next, r2tl);
	pdu->data_len = 0;
	pdu->ddgst_len = 0;
	req->r2t_active = true;
	tcp_conn_queue_pdu(conn, pdu);
}

/* Buffers are in core.iov: fetch the host's data, or execute. */
static void req_buffers_ready(struct tcp_req *req)
{
	if (req->core.xfer == UNVMF_XFER_HOST_TO_CONTROLLER) {
		tcp_req_set_state(req, TCP_REQ_TRANSFERRING_HOST_TO_CONTROLLER);
		req_send_r2t(req);
		return;
	}
	req_execute(req);
}

void tcp_req_capsule_done(struct tcp_req *req)
{
	struct tcp_group *group = req->conn->group;

	/* Capsules complete in submission order: the core pairs fused commands from here. */
	unvmf_req_fused_arrive(&req->core);
	if (req->has_status) {
		req_fail(req, req->sct, req->sc);
		return;
	}
	/*
	 * A data digest error is a non-fatal transport error: the command fails
	 * with Transient Transport Error and the connection lives on (NVMe/TCP
	 * 1.0, 3.5 "Digest Error handling"; only header digest errors are fatal).
	 */
	if (req->ddgst_error) {
		req_fail(req, NVME_SCT_GENERIC, NVME_SC_TRANSIENT_TRANSPORT_ERROR);
		return;
	}
	switch (req->sgl.kind) {
	case TCP_SGL_NONE:
		req->core.length = 0;
		req->core.iovcnt = 0;
		req_execute(req);
		return;
	case TCP_SGL_IN_CAPSULE:
		req->core.length = req->sgl.length;
		req->core.iov[0].iov_base = req->icd + req->sgl.offset;
		req->core.iov[0].iov_len = req->sgl.length;
		req->core.iovcnt = 1;
		req_execute(req);
		return;
	case TCP_SGL_TRANSPORT:
		req->core.length = req->sgl.length;
		/* FIFO: nobody overtakes a request already waiting. */
		if (!TAILQ_EMPTY(&group->pending_buf) || req_buffers_get(req) != 0) {
			tcp_req_set_state(req, TCP_REQ_NEED_BUFFER);
			return;
		}
		req_buffers_ready(req);
		return;
	}
}

int tcp_req_retry_buffers(struct tcp_req *req)
{
	UNVMF_ASSERT(req->state == TCP_REQ_NEED_BUFFER);
	if (req_buffers_get(req) != 0)
		return -ENOMEM;
	req_buffers_ready(req);
	return 0;
}

void tcp_req_h2c_done(struct tcp_req *req)
{
	if (req->h2c_next < req->r2t_end)
		return;
	req->r2t_active = false;
	if (req->h2c_next < req->core.length) {
		req_send_r2t(req);
		return;
	}
	if (req->ddgst_error) {
		req_fail(req, NVME_SCT_GENERIC, NVME_SC_TRANSIENT_TRANSPORT_ERROR);
		return;
	}
	req_execute(req);
}

/* CRC32C of bytes [off, off + len) of an iovec array. */
static uint32_t iov_range_crc(const struct iovec *iov, int iovcnt, uint32_t off, uint32_t len)
{
	uint32_t crc = UNVMF_CRC32C_INIT;

	for (int i = 0; i < iovcnt && len; i++) {
		uint32_t n;

		if (off >= iov[i].iov_len) {
			off -= (uint32_t)iov[i].iov_len;
			continue;
		}
		n = UNVMF_MIN(len, (uint32_t)iov[i].iov_len - off);
		crc = unvmf_crc32c_update(crc, (const uint8_t *)iov[i].iov_base + off, n);
		len -= n;
		off = 0;
	}
	return unvmf_crc32c_final(crc);
}

/* Queues C2HData PDUs for the whole read; returns true when SUCCESS replaced the CapsuleResp. */
static bool req_queue_c2h(struct tcp_req *req, bool success_ok)
{
	struct tcp_conn *conn = req->conn;
	uint32_t off = 0, i = 0;
	bool success = false;

	while (off < req->core.length) {
		struct tcp_pdu_out *pdu = &req->c2h_pdus[i++];
		uint32_t len = UNVMF_MIN(req->core.length - off, TCP_C2H_PDU_MAX);
		bool last = off + len == req->core.length;

		UNVMF_ASSERT(i <= conn->tt->num_c2h_pdus);
		success = last && success_ok;
		pdu->hdr_len = nvme_tcp_pdu_c2h_build(pdu->hdr, &conn->params, req->core.cmd.cid,
		                                      off, len, last, success);
		pdu->data_off = off;
		pdu->data_len = len;
		pdu->ddgst_len = conn->params.ddgst ? NVME_TCP_PDU_DGST_LEN : 0;
		if (conn->params.ddgst)
			pdu->ddgst = iov_range_crc(req->core.iov, req->core.iovcnt, off, len);
		tcp_conn_queue_pdu(conn, pdu);
		off += len;
	}
	return success;
}

void tcp_req_complete(struct unvmf_req *ureq)
{
	struct tcp_req *req = tcp_req_from_core(ureq);
	struct tcp_conn *conn = req->conn;
	bool ok =
	    ureq->rsp.status.s.sct == NVME_SCT_GENERIC && ureq->rsp.status.s.sc == NVME_SC_SUCCESS;
	bool skip_rsp = false;

	UNVMF_ASSERT(req->state == TCP_REQ_EXECUTING);
	if (conn->state == TCP_CONN_DRAINING) {
		req_release(req);
		return;
	}
	tcp_req_set_state(req, TCP_REQ_EXECUTED);
	if (conn->group)
		conn->group->stats.reqs_completed++;
	if (ok && ureq->xfer == UNVMF_XFER_CONTROLLER_TO_HOST && ureq->length > 0) {
		bool success_ok = tcp_transport_opts(conn->tt)->c2h_success &&
		                  ureq->rsp.cdw0 == 0 && ureq->rsp.cdw1 == 0 &&
		                  tcp_conn_sqhd_may_skip(conn);

		skip_rsp = req_queue_c2h(req, success_ok);
		if (skip_rsp)
			conn->rsp_skipped++;
	}
	if (!skip_rsp) {
		conn->rsp_skipped = 0;
		req->rsp_pdu.hdr_len =
		    nvme_tcp_pdu_rsp_build(req->rsp_pdu.hdr, &conn->params, &ureq->rsp);
		req->rsp_pdu.data_len = 0;
		req->rsp_pdu.ddgst_len = 0;
		tcp_conn_queue_pdu(conn, &req->rsp_pdu);
	}
	tcp_req_set_state(req, TCP_REQ_TRANSFERRING_CONTROLLER_TO_HOST);
}

void tcp_req_pdu_sent(struct tcp_req *req, struct tcp_pdu_out *pdu)
{
	UNVMF_ASSERT(req->pdus_queued > 0);
	req->pdus_queued--;
	if (pdu == &req->r2t_pdu && req->r2t_deferred &&
	    req->state == TCP_REQ_TRANSFERRING_HOST_TO_CONTROLLER) {
		req->r2t_deferred = false;
		req_send_r2t(req);
	}
	if (req->state == TCP_REQ_TRANSFERRING_CONTROLLER_TO_HOST && req->pdus_queued == 0) {
		tcp_req_set_state(req, TCP_REQ_COMPLETED);
		req_release(req);
	}
}

void tcp_req_drain(struct tcp_req *req)
{
	switch (req->state) {
	case TCP_REQ_FREE:
	case TCP_REQ_EXECUTING:
		/* The core calls req_complete later, which releases it. */
		return;
	default:
		req_release(req);
		return;
	}
}

int tcp_conn_abort_request(struct unvmf_qpair *qpair, uint16_t cid)
{
	struct tcp_conn *conn = tcp_conn_from_qpair(qpair);

	/* Only a command not yet started can be withdrawn without confusing the host. */
	for (uint32_t i = 0; i < conn->num_reqs; i++) {
		struct tcp_req *req = &conn->reqs[i];

		if (req->state == TCP_REQ_NEED_BUFFER && req->core.cmd.cid == cid) {
			req_fail(req, NVME_SCT_GENERIC, NVME_SC_ABORTED_BY_REQUEST);
			return 0;
		}
	}
	return -ENOENT;
}
