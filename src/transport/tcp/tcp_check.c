/*
 * Debug-build invariants of a TCP poll group, checked after every poll (the
 * TCP counterpart of rdma_group_check): requests are on exactly the list their
 * state names, per-state counts match the requests, a request's queued-PDU
 * count matches the send queue, and the buffers the group's cache handed out
 * are the buffers its requests hold. A violation is a bug in the transport,
 * never a condition of the wire, so the caller asserts on the result.
 */
#include "transport/tcp/tcp_internal.h"
#include "util/log.h"

#include <errno.h>

static int conn_check_lists(const struct tcp_conn *conn)
{
	uint32_t counted[TCP_REQ_NUM_STATES] = {0};
	uint32_t on_free = 0;
	const struct tcp_req *req;

	for (uint32_t i = 0; i < conn->num_reqs; i++) {
		req = &conn->reqs[i];
		if (req->state >= TCP_REQ_NUM_STATES ||
		    req->queue != tcp_req_queue_for_state(req->state)) {
			LOG_ERR("qpair %lu: req %u in %s is on list %d",
			        (unsigned long)conn->qpair.id, req->ttag,
			        tcp_req_state_str(req->state), (int)req->queue);
			return -EFAULT;
		}
		counted[req->state]++;
		if (req->state == TCP_REQ_FREE && (req->num_bufs || req->pdus_queued)) {
			LOG_ERR("qpair %lu: free req %u holds %u buffers, %u queued PDUs",
			        (unsigned long)conn->qpair.id, req->ttag, req->num_bufs,
			        req->pdus_queued);
			return -EFAULT;
		}
	}
	for (int s = 0; s < TCP_REQ_NUM_STATES; s++) {
		if (counted[s] != conn->state_count[s]) {
			LOG_ERR("qpair %lu: %u requests in %s, the count says %u",
			        (unsigned long)conn->qpair.id, counted[s],
			        tcp_req_state_str((enum tcp_req_state)s), conn->state_count[s]);
			return -EFAULT;
		}
	}
	TAILQ_FOREACH(req, &conn->free_reqs, link)
	{
		if (req->conn != conn || req->state != TCP_REQ_FREE) {
			LOG_ERR("qpair %lu: req %u in %s is linked on the free list",
			        (unsigned long)conn->qpair.id, req->ttag,
			        tcp_req_state_str(req->state));
			return -EFAULT;
		}
		on_free++;
	}
	if (on_free != conn->state_count[TCP_REQ_FREE]) {
		LOG_ERR("qpair %lu: %u requests on the free list, %u FREE",
		        (unsigned long)conn->qpair.id, on_free, conn->state_count[TCP_REQ_FREE]);
		return -EFAULT;
	}
	return 0;
}

/* Each request's pdus_queued equals the PDUs naming it on the send queue. */
static int conn_check_sendq(const struct tcp_conn *conn)
{
	const struct tcp_pdu_out *pdu;
	uint32_t queued = 0, claimed = 0;

	TAILQ_FOREACH(pdu, &conn->sendq, link)
	{
		if (!pdu->queued) {
			LOG_ERR("qpair %lu: a PDU on the send queue is not marked queued",
			        (unsigned long)conn->qpair.id);
			return -EFAULT;
		}
		if (pdu->req) {
			if (pdu->req->conn != conn || pdu->req->state == TCP_REQ_FREE) {
				LOG_ERR("qpair %lu: a queued PDU names req %u in %s",
				        (unsigned long)conn->qpair.id, pdu->req->ttag,
				        tcp_req_state_str(pdu->req->state));
				return -EFAULT;
			}
			queued++;
		}
	}
	for (uint32_t i = 0; i < conn->num_reqs; i++)
		claimed += conn->reqs[i].pdus_queued;
	if (queued != claimed) {
		LOG_ERR("qpair %lu: %u request PDUs on the send queue, requests count %u",
		        (unsigned long)conn->qpair.id, queued, claimed);
		return -EFAULT;
	}
	return 0;
}

int tcp_group_check(const struct tcp_group *group)
{
	const struct tcp_conn *conn;
	const struct tcp_req *req;
	uint64_t bufs = 0, pending = 0;

	TAILQ_FOREACH(conn, &group->conns, link)
	{
		if (conn->group != group || conn_check_lists(conn) != 0 ||
		    conn_check_sendq(conn) != 0)
			return -EFAULT;
		for (uint32_t i = 0; i < conn->num_reqs; i++)
			bufs += conn->reqs[i].num_bufs;
	}
	TAILQ_FOREACH(req, &group->pending_buf, link)
	{
		if (req->conn->group != group || req->state != TCP_REQ_NEED_BUFFER) {
			LOG_ERR("TCP poll group: req %u in %s is on the pending-buffer FIFO",
			        req->ttag, tcp_req_state_str(req->state));
			return -EFAULT;
		}
		pending++;
	}
	if (pending != group->stats.pending_buf_current) {
		LOG_ERR("TCP poll group: %lu requests wait for buffers, the gauge says %lu",
		        (unsigned long)pending, (unsigned long)group->stats.pending_buf_current);
		return -EFAULT;
	}
	if (bufs != group->cache.outstanding) {
		LOG_ERR("TCP poll group: requests hold %lu buffers, the cache handed out %lu",
		        (unsigned long)bufs, (unsigned long)group->cache.outstanding);
		return -EFAULT;
	}
	return 0;
}
