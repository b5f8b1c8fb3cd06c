/*
 * Outgoing PDUs: one FIFO per connection, written in batches of as many PDUs
 * as fit in one unvmf_sock_batch (one system call each). Data is never copied: iovecs
 * point into the request's buffers, which stay with the request until its
 * last PDU is fully handed to the kernel (tcp_req_pdu_sent).
 */
#include "transport/tcp/tcp_internal.h"
#include "util/common.h"

#include <errno.h>

static uint32_t pdu_total(const struct tcp_pdu_out *pdu)
{
	return pdu->hdr_len + pdu->data_len + pdu->ddgst_len;
}

void tcp_conn_queue_pdu(struct tcp_conn *conn, struct tcp_pdu_out *pdu)
{
	struct tcp_group *group = conn->group;

	UNVMF_ASSERT(!pdu->queued);
	pdu->sent = 0;
	pdu->queued = true;
	TAILQ_INSERT_TAIL(&conn->sendq, pdu, link);
	if (pdu->req)
		pdu->req->pdus_queued++;
	/* Waiting for EPOLLOUT, or inside tcp_conn_flush: it is picked up without the list. */
	if (group && !conn->in_send_list && !conn->want_pollout && !conn->flushing &&
	    conn->state != TCP_CONN_DRAINING) {
		TAILQ_INSERT_TAIL(&group->send_list, conn, send_link);
		conn->in_send_list = true;
	}
}

/* Appends the unsent part of pdu to batch; false when the batch filled up first. */
static bool pdu_batch_fill(struct tcp_pdu_out *pdu, struct unvmf_sock_batch *batch)
{
	size_t skip = pdu->sent;

	if (!unvmf_sock_batch_add(batch, pdu->hdr, pdu->hdr_len, &skip))
		return false;
	if (pdu->data_len) {
		const struct unvmf_req *core = &pdu->req->core;
		uint32_t off = pdu->data_off, left = pdu->data_len;

		for (int i = 0; i < core->iovcnt && left; i++) {
			uint32_t ilen = (uint32_t)core->iov[i].iov_len, take;

			if (off >= ilen) {
				off -= ilen;
				continue;
			}
			take = UNVMF_MIN(left, ilen - off);
			if (!unvmf_sock_batch_add(batch, (uint8_t *)core->iov[i].iov_base + off,
			                          take, &skip))
				return false;
			left -= take;
			off = 0;
		}
	}
	if (pdu->ddgst_len)
		return unvmf_sock_batch_add(batch, &pdu->ddgst, pdu->ddgst_len, &skip);
	return true;
}

/* Retires the PDUs the kernel took whole and advances the one it took in part. */
static void sendq_advance(struct tcp_conn *conn, size_t written)
{
	struct tcp_pdu_out *pdu;

	while (written && (pdu = TAILQ_FIRST(&conn->sendq))) {
		uint32_t left = pdu_total(pdu) - pdu->sent;

		if (written < left) {
			pdu->sent += (uint32_t)written;
			return;
		}
		written -= left;
		TAILQ_REMOVE(&conn->sendq, pdu, link);
		pdu->queued = false;
		pdu->sent = 0;
		if (conn->group)
			conn->group->stats.pdus_tx++;
		if (pdu->req)
			tcp_req_pdu_sent(pdu->req, pdu);
	}
}

int tcp_conn_flush(struct tcp_conn *conn)
{
	struct unvmf_sock_batch batch;
	int rc = 0;

	conn->flushing = true;
	while (!TAILQ_EMPTY(&conn->sendq)) {
		struct tcp_pdu_out *pdu;
		ssize_t n;

		unvmf_sock_batch_reset(&batch);
		TAILQ_FOREACH(pdu, &conn->sendq, link)
		{
			if (!pdu_batch_fill(pdu, &batch))
				break;
		}
		n = unvmf_sock_batch_write(conn->sock, &batch);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		if (conn->group)
			conn->group->stats.bytes_tx += (uint64_t)n;
		sendq_advance(conn, (size_t)n);
		if ((size_t)n < batch.bytes)
			break;
	}
	if (!TAILQ_EMPTY(&conn->sendq) && !conn->want_pollout) {
		/* The socket is full: EPOLLOUT brings us back. */
		conn->want_pollout = true;
		if (conn->group)
			conn->group->stats.send_eagain++;
		rc = tcp_group_epoll_update(conn);
	} else if (TAILQ_EMPTY(&conn->sendq) && conn->want_pollout) {
		conn->want_pollout = false;
		rc = tcp_group_epoll_update(conn);
	}
out:
	conn->flushing = false;
	return rc;
}

bool tcp_conn_sendq_drop(struct tcp_conn *conn)
{
	struct tcp_pdu_out *pdu;
	bool clean = true;

	while ((pdu = TAILQ_FIRST(&conn->sendq))) {
		if (pdu->sent)
			clean = false;
		TAILQ_REMOVE(&conn->sendq, pdu, link);
		pdu->queued = false;
		pdu->sent = 0;
		if (pdu->req) {
			UNVMF_ASSERT(pdu->req->pdus_queued > 0);
			pdu->req->pdus_queued--;
		}
	}
	return clean;
}
