/*
 * Connection lifecycle. Created on reactor 0 by the accept poller, handed to
 * a poll group by the core (tcp_group_add), torn down on that group's thread.
 *
 * Teardown is two-step so nothing is freed while in use (Redis's deferred
 * free): tcp_conn_teardown() stops reading, drops queued PDUs, releases every
 * request the core does not own and queues the C2HTermReq if there is one;
 * tcp_conn_try_free(), called only from the group poll's top level, frees the
 * connection once the core has completed its last request and the term
 * request has left (or TCP_TERM_FLUSH_US passed).
 */
#include "transport/tcp/tcp_internal.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_peer_trid(struct tcp_conn *conn)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct unvmf_trid *peer = &conn->qpair.peer;

	peer->trtype = NVMF_TRTYPE_TCP;
	if (getpeername(unvmf_sock_fd(conn->sock), (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		peer->adrfam = NVMF_ADRFAM_IPV6;
		inet_ntop(AF_INET6, &sin6->sin6_addr, peer->traddr, sizeof(peer->traddr));
		snprintf(peer->trsvcid, sizeof(peer->trsvcid), "%u", ntohs(sin6->sin6_port));
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		peer->adrfam = NVMF_ADRFAM_IPV4;
		inet_ntop(AF_INET, &sin->sin_addr, peer->traddr, sizeof(peer->traddr));
		snprintf(peer->trsvcid, sizeof(peer->trsvcid), "%u", ntohs(sin->sin_port));
	}
}

static void conn_free_memory(struct tcp_conn *conn)
{
	free(conn->c2h_mem);
	free(conn->icd_mem);
	free(conn->reqs);
	free(conn->rbuf);
	free(conn);
}

static int conn_alloc_reqs(struct tcp_conn *conn)
{
	struct tcp_transport *tt = conn->tt;
	const struct unvmf_transport_opts *o = &tt->base.opts;

	conn->num_reqs = UNVMF_MAX(o->max_queue_depth, o->max_aq_depth);
	conn->icd_size = UNVMF_MAX(o->in_capsule_data_size, TCP_ADMIN_ICD_SIZE);
	conn->reqs = calloc(conn->num_reqs, sizeof(*conn->reqs));
	conn->icd_mem = malloc((size_t)conn->num_reqs * conn->icd_size);
	conn->c2h_mem = calloc((size_t)conn->num_reqs * tt->num_c2h_pdus, sizeof(*conn->c2h_mem));
	if (!conn->reqs || !conn->icd_mem || !conn->c2h_mem)
		return -ENOMEM;
	for (uint32_t i = 0; i < conn->num_reqs; i++) {
		struct tcp_req *req = &conn->reqs[i];

		req->conn = conn;
		req->core.qpair = &conn->qpair;
		req->ttag = (uint16_t)i;
		req->icd = conn->icd_mem + (size_t)i * conn->icd_size;
		req->c2h_pdus = conn->c2h_mem + (size_t)i * tt->num_c2h_pdus;
		req->r2t_pdu.req = req;
		req->rsp_pdu.req = req;
		for (uint32_t j = 0; j < tt->num_c2h_pdus; j++)
			req->c2h_pdus[j].req = req;
		req->state = TCP_REQ_FREE;
		req->queue = TCP_REQ_QUEUE_FREE;
		TAILQ_INSERT_TAIL(&conn->free_reqs, req, link);
	}
	conn->state_count[TCP_REQ_FREE] = conn->num_reqs;
	return 0;
}

struct tcp_conn *tcp_conn_create(struct tcp_transport *tt, struct unvmf_sock *sock,
                                 const struct unvmf_trid *listen_trid)
{
	struct tcp_conn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->tt = tt;
	conn->sock = sock;
	conn->state = TCP_CONN_AWAIT_ICREQ;
	conn->rstate = TCP_RECV_CH;
	TAILQ_INIT(&conn->sendq);
	TAILQ_INIT(&conn->free_reqs);
	conn->rbuf = malloc(TCP_RECV_BUF_SIZE);
	if (!conn->rbuf || conn_alloc_reqs(conn) != 0) {
		conn_free_memory(conn);
		return NULL;
	}
	/* From here the core counts it: every exit goes through unvmf_qpair_fini(). */
	unvmf_qpair_init(&conn->qpair, &tt->base);
	conn->qpair.local = *listen_trid;
	conn->qpair.local.subnqn[0] = '\0';
	conn->qpair.local.hostnqn[0] = '\0';
	conn_peer_trid(conn);
	conn->params.role = NVME_TCP_ROLE_CONTROLLER;
	conn->params.maxh2cdata = TCP_MAXH2CDATA;
	conn->params.icd_max = conn->icd_size;
	if (tcp_transport_opts(tt)->icreq_timeout_ms)
		conn->icreq_deadline_us =
		    unvmf_now_us() + (uint64_t)tcp_transport_opts(tt)->icreq_timeout_ms * 1000;
	return conn;
}

uint32_t tcp_conn_depth(const struct tcp_conn *conn)
{
	if (conn->qpair.state == UNVMF_QPAIR_ACTIVE && conn->qpair.sq_size)
		return UNVMF_MIN((uint32_t)conn->qpair.sq_size, conn->num_reqs);
	return conn->num_reqs;
}

/*
 * A CapsuleResp carries SQHD, which a host that keeps SQ flow control (the
 * default: Linux and SPDK hosts never disable it) may use to reuse its
 * submission queue slots, and NVMe/TCP allows C2HData SUCCESS in its place
 * only when the host disabled SQHD updates. With the operator's
 * c2h_success_sq_flow_control (what SPDK's target does for every read) a
 * CapsuleResp still goes out at least once per quarter of the queue: a host
 * that obeyed SQHD strictly lags at most sq_size / 4 entries, never blocks.
 */
bool tcp_conn_sqhd_may_skip(const struct tcp_conn *conn)
{
	uint32_t every;

	if (conn->qpair.sq_flow_control_disabled)
		return true;
	if (!tcp_transport_opts(conn->tt)->c2h_success_sq_flow_control ||
	    conn->qpair.qid == 0 || conn->qpair.sq_size < 4)
		return false;
	every = conn->qpair.sq_size / 4u;
	return conn->rsp_skipped + 1 < every;
}

static const char *const g_end_names[TCP_END_NUM_REASONS] = {
    [TCP_END_HOST_CLOSE] = "host_close",
    [TCP_END_HOST_RESET] = "host_reset",
    [TCP_END_SOCKET_ERROR] = "socket_error",
    [TCP_END_H2C_TERM_REQ] = "h2c_term_req",
    [TCP_END_PROTOCOL_ERROR] = "protocol_error",
    [TCP_END_KEEP_ALIVE_TIMEOUT] = "keep_alive_timeout",
    [TCP_END_HOST_REMOVED] = "host_removed",
    [TCP_END_LISTENER_REMOVED] = "listener_removed",
    [TCP_END_SUBSYSTEM_DELETED] = "subsystem_deleted",
    [TCP_END_CONTROLLER_GONE] = "controller_gone",
    [TCP_END_TARGET_SHUTDOWN] = "target_shutdown",
    [TCP_END_FAULT_INJECTED] = "fault_injected",
    [TCP_END_ICREQ_TIMEOUT] = "icreq_timeout",
    [TCP_END_CONNECT_TIMEOUT] = "connect_timeout",
    [TCP_END_REQUESTED] = "requested",
    [TCP_END_TLS_CLEAR_TEXT] = "tls_clear_text",
    [TCP_END_TLS_UNKNOWN_KEY] = "tls_unknown_key",
    [TCP_END_TLS_KEY_MISMATCH] = "tls_key_mismatch",
    [TCP_END_TLS_HANDSHAKE] = "tls_handshake_failed",
};

const char *tcp_end_reason_name(enum tcp_end_reason why)
{
	return why < TCP_END_NUM_REASONS ? g_end_names[why] : "?";
}

/*
 * The core names its reasons in text (src/nvmf: ctrlr.c, subsystem.c,
 * tgt.c); a reason not listed here still counts, as "requested".
 */
enum tcp_end_reason tcp_end_reason_of_core(const char *reason)
{
	static const struct {
		const char *text;
		enum tcp_end_reason why;
	} map[] = {
	    {"keep-alive timeout", TCP_END_KEEP_ALIVE_TIMEOUT},
	    {"idle controller reclaimed", TCP_END_KEEP_ALIVE_TIMEOUT},
	    {"connect timeout", TCP_END_CONNECT_TIMEOUT},
	    {"host removed", TCP_END_HOST_REMOVED},
	    {"listener removed", TCP_END_LISTENER_REMOVED},
	    {"subsystem deleted", TCP_END_SUBSYSTEM_DELETED},
	    {"admin queue disconnected", TCP_END_CONTROLLER_GONE},
	    {"controller reset", TCP_END_CONTROLLER_GONE},
	    {"target shutdown", TCP_END_TARGET_SHUTDOWN},
	};

	for (size_t i = 0; reason && i < UNVMF_ARRAY_SIZE(map); i++) {
		if (strcmp(reason, map[i].text) == 0)
			return map[i].why;
	}
	return TCP_END_REQUESTED;
}

void tcp_conn_teardown(struct tcp_conn *conn, enum tcp_end_reason why, const char *reason)
{
	bool clean;

	if (conn->state == TCP_CONN_DRAINING)
		return;
	if (conn->group)
		conn->group->stats.ended[why < TCP_END_NUM_REASONS ? why : TCP_END_REQUESTED]++;
	LOG_INFO("qpair %lu (qid %u, peer %s:%s): closing: %s", (unsigned long)conn->qpair.id,
	         conn->qpair.qid, conn->qpair.peer.traddr, conn->qpair.peer.trsvcid, reason);
	conn->state = TCP_CONN_DRAINING;
	conn->rstate = TCP_RECV_STOPPED;
	conn->cur_req = NULL;
	if (reason && !conn->qpair.disconnect_reason[0])
		unvmf_strlcpy(conn->qpair.disconnect_reason, reason,
		              sizeof(conn->qpair.disconnect_reason));
	if (conn->in_send_list) {
		TAILQ_REMOVE(&conn->group->send_list, conn, send_link);
		conn->in_send_list = false;
	}
	tcp_conn_recv_again_cancel(conn);
	clean = tcp_conn_sendq_drop(conn);
	conn->want_pollout = false;
	/* Parked requests (AERs) come back through req_complete and are released there. */
	unvmf_qpair_teardown_begin(&conn->qpair);
	for (uint32_t i = 0; i < conn->num_reqs; i++)
		tcp_req_drain(&conn->reqs[i]);
	/* Half a PDU already left: a term request now would be garbage to the host. */
	if (conn->term_wanted && clean && conn->sock)
		tcp_conn_queue_pdu(conn, &conn->term_pdu);
	conn->drain_deadline_us = unvmf_now_us() + TCP_TERM_FLUSH_US;
	if (conn->group) {
		TAILQ_INSERT_TAIL(&conn->group->draining, conn, drain_link);
		tcp_group_epoll_update(conn);
	}
}

void tcp_conn_terminate(struct tcp_conn *conn, uint16_t fes, uint32_t fei, const void *bad_hdr,
                        uint32_t bad_len)
{
	if (conn->state == TCP_CONN_DRAINING)
		return;
	LOG_ERR("qpair %lu (peer %s:%s): protocol error, C2HTermReq FES %u FEI %u (PDU type %u)",
	        (unsigned long)conn->qpair.id, conn->qpair.peer.traddr, conn->qpair.peer.trsvcid,
	        fes, fei, bad_len ? ((const uint8_t *)bad_hdr)[0] : 0xff);
	if (conn->group)
		conn->group->stats.term_sent[fes < 8 ? fes : 0]++;
	conn->term_pdu.hdr_len = nvme_tcp_pdu_term_req_build(conn->term_pdu.hdr, &conn->params, fes,
	                                                     fei, bad_hdr, bad_len);
	conn->term_pdu.data_len = 0;
	conn->term_pdu.ddgst_len = 0;
	conn->term_wanted = true;
	tcp_conn_teardown(conn, TCP_END_PROTOCOL_ERROR, "protocol error");
}

/* Reads what the host already sent so close() ends with FIN, not RST, and the term request arrives.
 */
static void conn_discard_input(struct tcp_conn *conn)
{
	for (int i = 0; i < 16; i++) {
		if (unvmf_sock_recv(conn->sock, conn->rbuf, TCP_RECV_BUF_SIZE) <= 0)
			return;
	}
}

bool tcp_conn_try_free(struct tcp_conn *conn)
{
	struct tcp_group *group = conn->group;

	if (conn->state != TCP_CONN_DRAINING)
		return false;
	if (conn->state_count[TCP_REQ_FREE] != conn->num_reqs)
		return false;
	if (!TAILQ_EMPTY(&conn->sendq)) {
		if (unvmf_now_us() < conn->drain_deadline_us && tcp_conn_flush(conn) == 0 &&
		    !TAILQ_EMPTY(&conn->sendq))
			return false;
		tcp_conn_sendq_drop(conn);
	}
	for (int s = TCP_REQ_FREE + 1; s < TCP_REQ_NUM_STATES; s++)
		UNVMF_ASSERT(conn->state_count[s] == 0);
	if (group) {
		conn->want_pollout = false;
		tcp_group_epoll_update(conn);
		TAILQ_REMOVE(&group->draining, conn, drain_link);
		TAILQ_REMOVE(&group->conns, conn, link);
		group->stats.conns_current--;
	}
	if (conn->sock) {
		if (conn->term_wanted) {
			unvmf_sock_shutdown(conn->sock, false);
			conn_discard_input(conn);
		}
		unvmf_sock_close(conn->sock);
		conn->sock = NULL;
	}
	LOG_DEBUG("qpair %lu: freed", (unsigned long)conn->qpair.id);
	unvmf_qpair_fini(&conn->qpair);
	conn_free_memory(conn);
	return true;
}

void tcp_conn_qpair_disconnect(struct unvmf_qpair *qpair)
{
	struct tcp_conn *conn = tcp_conn_from_qpair(qpair);

	tcp_conn_teardown(conn, tcp_end_reason_of_core(qpair->disconnect_reason),
	                  qpair->disconnect_reason[0] ? qpair->disconnect_reason
	                                              : "disconnect requested");
	/* Never handed to a group (target shutting down): nothing can be in flight. */
	if (!conn->group) {
		bool freed = tcp_conn_try_free(conn);

		UNVMF_ASSERT(freed);
		(void)freed;
	}
}

/*
 * Operator fault injection (--enable-fault-injection): "reset" aborts the
 * connection with a TCP RST as a dying peer or middlebox would; "close"
 * closes it cleanly (FIN). Both then drain like any other teardown.
 */
int tcp_conn_inject_fault(struct unvmf_qpair *qpair, const char *kind)
{
	struct tcp_conn *conn = tcp_conn_from_qpair(qpair);

	if (conn->state == TCP_CONN_DRAINING)
		return -EALREADY;
	if (strcmp(kind, "reset") == 0) {
		if (conn->sock)
			unvmf_sock_set_abort_on_close(conn->sock);
		LOG_WARN("qpair %lu (qid %u): fault injected: connection reset",
		         (unsigned long)qpair->id, qpair->qid);
		tcp_conn_teardown(conn, TCP_END_FAULT_INJECTED, "fault injected: reset");
		return 0;
	}
	if (strcmp(kind, "close") == 0) {
		LOG_WARN("qpair %lu (qid %u): fault injected: connection close",
		         (unsigned long)qpair->id, qpair->qid);
		tcp_conn_teardown(conn, TCP_END_FAULT_INJECTED, "fault injected: close");
		return 0;
	}
	return -EINVAL;
}
