/*
 * TCP poll group: one per reactor thread. Its epoll fd is a wake fd of the
 * reactor, so an idle reactor sleeps until a socket needs us. One poll:
 * service ready sockets, retry requests waiting for buffers, write what the
 * connections queued, then free connections whose drain is over.
 */
#include "transport/tcp/tcp_internal.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define GROUP_EVENTS_MAX 64

static struct tcp_group *tcp_group_from(struct unvmf_transport_poll_group *tgroup)
{
	return (struct tcp_group *)((char *)tgroup - offsetof(struct tcp_group, base));
}

/*
 * A connection must earn its place: ICReq within icreq_timeout_ms of the
 * accept, then Fabrics Connect within the core's connect_timeout_ms
 * (unvmf_qpair_connect_deadline_check logs and counts that one).
 */
static int group_sweep_deadlines(void *arg)
{
	struct tcp_group *group = arg;
	uint64_t now = unvmf_now_us();
	struct tcp_conn *conn;
	int work = 0;

	TAILQ_FOREACH(conn, &group->conns, link)
	{
		if (conn->state == TCP_CONN_AWAIT_ICREQ) {
			if (!conn->icreq_deadline_us || now < conn->icreq_deadline_us)
				continue;
			LOG_WARN(
			    "qpair %lu (peer %s:%s): no ICReq within %u ms (icreq_timeout_ms): "
			    "closing",
			    (unsigned long)conn->qpair.id, conn->qpair.peer.traddr,
			    conn->qpair.peer.trsvcid,
			    tcp_transport_opts(group->tt)->icreq_timeout_ms);
			conn->icreq_deadline_us = 0;
			tcp_conn_teardown(conn, TCP_END_ICREQ_TIMEOUT, "ICReq timeout");
			work = 1;
		} else if (conn->state == TCP_CONN_RUNNING) {
			/* Teardown leaves conn on group->conns: the walk goes on safely. */
			if (unvmf_qpair_connect_deadline_check(&conn->qpair, now))
				work = 1;
		}
	}
	return work;
}

struct unvmf_transport_poll_group *tcp_group_create(struct unvmf_transport *transport,
                                                    struct unvmf_poll_group *pg)
{
	struct tcp_transport *tt = (struct tcp_transport *)transport;
	struct tcp_group *group = calloc(1, sizeof(*group));

	if (!group)
		return NULL;
	group->tt = tt;
	group->base.transport = transport;
	group->base.group = pg;
	TAILQ_INIT(&group->conns);
	TAILQ_INIT(&group->send_list);
	TAILQ_INIT(&group->draining);
	TAILQ_INIT(&group->recv_again);
	TAILQ_INIT(&group->pending_buf);
	group->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (group->epfd < 0)
		goto err_free;
	if (unvmf_buf_cache_init(&group->cache, &tt->pool, transport->opts.buf_cache_size) != 0)
		goto err_close_epoll;
	if (unvmf_thread_add_wake_fd(group->epfd) != 0)
		goto err_fini_cache;
	group->deadline_poller = unvmf_poller_register(group_sweep_deadlines, group,
	                                               TCP_DEADLINE_SWEEP_US, "tcp_deadlines");
	if (!group->deadline_poller)
		goto err_remove_wake_fd;
	return &group->base;

err_remove_wake_fd:
	unvmf_thread_remove_wake_fd(group->epfd);
err_fini_cache:
	unvmf_buf_cache_fini(&group->cache);
err_close_epoll:
	close(group->epfd);
err_free:
	free(group);
	return NULL;
}

void tcp_group_destroy(struct unvmf_transport_poll_group *tgroup)
{
	struct tcp_group *group = tcp_group_from(tgroup);
	struct tcp_conn *conn, *tmp;

	/* The core drains every qpair first; anything left is torn down without waiting. */
	TAILQ_FOREACH_SAFE(conn, &group->conns, link, tmp)
	{
		LOG_ERR("qpair %lu: still open when its poll group goes",
		        (unsigned long)conn->qpair.id);
		tcp_conn_teardown(conn, TCP_END_TARGET_SHUTDOWN, "poll group destroyed");
		conn->drain_deadline_us = 0;
		if (!tcp_conn_try_free(conn))
			LOG_ERR("qpair %lu: the core still owns requests; leaking it",
			        (unsigned long)conn->qpair.id);
	}
	unvmf_poller_unregister(&group->deadline_poller);
	unvmf_thread_remove_wake_fd(group->epfd);
	close(group->epfd);
	unvmf_buf_cache_fini(&group->cache);
	free(group);
}

int tcp_group_epoll_update(struct tcp_conn *conn)
{
	struct epoll_event ev = {.data.ptr = conn};
	bool want;
	int op;

	if (!conn->group || !conn->sock)
		return 0;
	if (conn->state == TCP_CONN_DRAINING) {
		/* No more reads; only a term request still leaving needs the socket. */
		want = conn->want_pollout;
		ev.events = EPOLLOUT;
	} else {
		want = true;
		ev.events = EPOLLIN | EPOLLRDHUP | (conn->want_pollout ? EPOLLOUT : 0);
	}
	if (!want) {
		if (conn->in_epoll) {
			epoll_ctl(conn->group->epfd, EPOLL_CTL_DEL, unvmf_sock_fd(conn->sock),
			          NULL);
			conn->in_epoll = false;
		}
		return 0;
	}
	op = conn->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(conn->group->epfd, op, unvmf_sock_fd(conn->sock), &ev) != 0)
		return -errno;
	conn->in_epoll = true;
	return 0;
}

int tcp_group_add(struct unvmf_transport_poll_group *tgroup, struct unvmf_qpair *qpair)
{
	struct tcp_group *group = tcp_group_from(tgroup);
	struct tcp_conn *conn = tcp_conn_from_qpair(qpair);
	int rc;

	conn->group = group;
	TAILQ_INSERT_TAIL(&group->conns, conn, link);
	group->stats.conns_current++;
	group->stats.conns_total++;
	LOG_INFO("qpair %lu: connection from %s:%s on poll group %u", (unsigned long)qpair->id,
	         qpair->peer.traddr, qpair->peer.trsvcid, tgroup->group ? tgroup->group->index : 0);
	/* Arrived after shutdown disconnected this group's qpairs: it would never be asked. */
	if (unvmf_tgt_is_shutting_down()) {
		tcp_conn_teardown(conn, TCP_END_TARGET_SHUTDOWN, "target shutting down");
		return 0;
	}
	rc = tcp_group_epoll_update(conn);
	if (rc) {
		LOG_ERR("qpair %lu: epoll: %s", (unsigned long)qpair->id, strerror(-rc));
		tcp_conn_teardown(conn, TCP_END_SOCKET_ERROR, "cannot poll the socket");
	}
	return 0;
}

static enum tcp_end_reason send_error_reason(int rc)
{
	return rc == -ECONNRESET || rc == -EPIPE ? TCP_END_HOST_RESET : TCP_END_SOCKET_ERROR;
}

static int group_service_events(struct tcp_group *group)
{
	struct epoll_event evs[GROUP_EVENTS_MAX];
	int n = epoll_wait(group->epfd, evs, GROUP_EVENTS_MAX, 0);
	int work = 0, rc;

	for (int i = 0; i < n; i++) {
		struct tcp_conn *conn = evs[i].data.ptr;

		/* Draining connections are served from the draining list. */
		if (conn->state == TCP_CONN_DRAINING)
			continue;
		/* The handshake wants readable or writable; either event moves it on. */
		if (conn->tls_handshaking) {
			work |= tcp_conn_recv(conn);
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			work |= tcp_conn_recv(conn);
		if (conn->state != TCP_CONN_DRAINING && (evs[i].events & EPOLLOUT)) {
			work = 1;
			rc = tcp_conn_flush(conn);
			if (rc < 0)
				tcp_conn_teardown(conn, send_error_reason(rc), "send error");
		}
	}
	return work;
}

/* TLS connections whose socket still holds decrypted bytes: epoll will not report them. */
static int group_recv_again(struct tcp_group *group)
{
	TAILQ_HEAD(, tcp_conn) list = TAILQ_HEAD_INITIALIZER(list);
	struct tcp_conn *conn;
	int work = 0;

	/* Taken as a batch: a connection that queues itself again waits for the next poll. */
	TAILQ_CONCAT(&list, &group->recv_again, again_link);
	while ((conn = TAILQ_FIRST(&list))) {
		TAILQ_REMOVE(&list, conn, again_link);
		conn->recv_again = false;
		work = 1;
		tcp_conn_recv(conn);
	}
	return work;
}

static int group_retry_pending(struct tcp_group *group)
{
	struct tcp_req *req;
	int work = 0;

	while ((req = TAILQ_FIRST(&group->pending_buf))) {
		if (tcp_req_retry_buffers(req) != 0)
			break;
		work = 1;
	}
	return work;
}

static int group_flush(struct tcp_group *group)
{
	struct tcp_conn *conn;
	int work = 0, rc;

	while ((conn = TAILQ_FIRST(&group->send_list))) {
		TAILQ_REMOVE(&group->send_list, conn, send_link);
		conn->in_send_list = false;
		work = 1;
		rc = tcp_conn_flush(conn);
		if (rc < 0)
			tcp_conn_teardown(conn, send_error_reason(rc), "send error");
	}
	return work;
}

int tcp_group_poll(struct unvmf_transport_poll_group *tgroup)
{
	struct tcp_group *group = tcp_group_from(tgroup);
	struct tcp_conn *conn, *tmp;
	int work = 0;

	work |= group_service_events(group);
	work |= group_recv_again(group);
	work |= group_flush(group);
	work |= group_retry_pending(group);
	work |= group_flush(group);
	TAILQ_FOREACH_SAFE(conn, &group->draining, drain_link, tmp)
	{
		if (tcp_conn_try_free(conn))
			work = 1;
		else if (!TAILQ_EMPTY(&conn->sendq))
			work = 1; /* the term request's deadline needs us awake */
	}
	/* Buffers may come back to the shared pool from other groups: keep retrying. */
	if (!TAILQ_EMPTY(&group->pending_buf))
		work = 1;
#ifdef UNVMF_DEBUG
	UNVMF_ASSERT(tcp_group_check(group) == 0);
#endif
	return work;
}

static const char *const g_fes_names[8] = {
    "other",
    "invalid_header_field",
    "pdu_sequence_error",
    "hdgst_error",
    "data_transfer_out_of_range",
    "data_transfer_limit_exceeded",
    "unsupported_parameter",
    "other7",
};

void tcp_group_dump_stats(struct unvmf_transport_poll_group *tgroup, void *json_obj)
{
	struct tcp_group *group = tcp_group_from(tgroup);
	struct tcp_group_stats *s = &group->stats;
	json_t *obj = json_obj, *term = json_object();

	json_object_set_new(obj, "trtype", json_string("TCP"));
	json_object_set_new(obj, "conns_current", json_integer((json_int_t)s->conns_current));
	json_object_set_new(obj, "conns_total", json_integer((json_int_t)s->conns_total));
	json_object_set_new(obj, "pdus_rx", json_integer((json_int_t)s->pdus_rx));
	json_object_set_new(obj, "pdus_tx", json_integer((json_int_t)s->pdus_tx));
	json_object_set_new(obj, "bytes_rx", json_integer((json_int_t)s->bytes_rx));
	json_object_set_new(obj, "bytes_rx_direct", json_integer((json_int_t)s->bytes_rx_direct));
	json_object_set_new(obj, "bytes_rx_copied", json_integer((json_int_t)s->bytes_rx_copied));
	json_object_set_new(obj, "bytes_tx", json_integer((json_int_t)s->bytes_tx));
	json_object_set_new(obj, "hdgst_errors", json_integer((json_int_t)s->hdgst_errors));
	json_object_set_new(obj, "ddgst_errors", json_integer((json_int_t)s->ddgst_errors));
	json_object_set_new(obj, "h2c_term_received", json_integer((json_int_t)s->term_received));
	json_object_set_new(obj, "requests_completed", json_integer((json_int_t)s->reqs_completed));
	json_object_set_new(obj, "pending_buffer_current",
	                    json_integer((json_int_t)s->pending_buf_current));
	json_object_set_new(obj, "pending_buffer_total",
	                    json_integer((json_int_t)s->pending_buf_total));
	json_object_set_new(obj, "send_eagain", json_integer((json_int_t)s->send_eagain));
	json_object_set_new(obj, "sq_overflows", json_integer((json_int_t)s->sq_overflows));
	json_object_set_new(obj, "tls_handshakes", json_integer((json_int_t)s->tls_handshakes));
	json_object_set_new(obj, "tls_connect_refused",
	                    json_integer((json_int_t)s->tls_connect_refused));
	for (unsigned i = 0; i < UNVMF_ARRAY_SIZE(s->term_sent); i++) {
		if (s->term_sent[i])
			json_object_set_new(term, g_fes_names[i],
			                    json_integer((json_int_t)s->term_sent[i]));
	}
	json_object_set_new(obj, "c2h_term_sent", term);
	term = json_object();
	for (unsigned i = 0; i < UNVMF_ARRAY_SIZE(s->term_received_fes); i++) {
		if (s->term_received_fes[i])
			json_object_set_new(term, g_fes_names[i],
			                    json_integer((json_int_t)s->term_received_fes[i]));
	}
	json_object_set_new(obj, "h2c_term_received_by_reason", term);
	/* Every reason, zeros included: scripts can read a key without checking it exists. */
	term = json_object();
	for (unsigned i = 0; i < TCP_END_NUM_REASONS; i++)
		json_object_set_new(term, tcp_end_reason_name(i),
		                    json_integer((json_int_t)s->ended[i]));
	json_object_set_new(obj, "conns_ended", term);
}
