/*
 * NVMe/TCP transport: the ops table, listeners and the accept poller.
 * Everything here runs on reactor 0 (create, destroy, listen, stop_listen and
 * the accept poller), so listeners need no lock.
 */
#include "transport/tcp/tcp_internal.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"
#include "sock/sock_tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TCP_ACCEPT_PERIOD_US 1000
#define TCP_ACCEPTS_PER_POLL 32
#define TCP_LISTEN_BACKLOG 512

static int tcp_accept_poll(void *arg);

static int tcp_create(const struct unvmf_transport_opts *opts, struct unvmf_transport **out)
{
	struct tcp_transport *tt;
	int rc;

	rc = tcp_opts_check(opts);
	if (rc)
		return rc;
	tt = calloc(1, sizeof(*tt));
	if (!tt)
		return -ENOMEM;
	tt->base.opts = *opts;
	TAILQ_INIT(&tt->listeners);
	tt->num_c2h_pdus = UNVMF_DIV_ROUND_UP(opts->max_io_size, TCP_C2H_PDU_MAX);
	rc = unvmf_buf_pool_init(&tt->pool, opts->num_shared_buffers, opts->io_unit_size, 4096);
	if (rc)
		goto err_free;
	tt->accept_poller =
	    unvmf_poller_register(tcp_accept_poll, tt, TCP_ACCEPT_PERIOD_US, "tcp_accept");
	if (!tt->accept_poller) {
		rc = -ENOMEM;
		goto err_fini_pool;
	}
	LOG_NOTICE("TCP transport: queue depth %u (admin %u), in-capsule %u, max I/O %u, "
	           "%u buffers of %u bytes",
	           opts->max_queue_depth, opts->max_aq_depth, opts->in_capsule_data_size,
	           opts->max_io_size, opts->num_shared_buffers, opts->io_unit_size);
	*out = &tt->base;
	return 0;

err_fini_pool:
	unvmf_buf_pool_fini(&tt->pool);
err_free:
	free(tt);
	return rc;
}

static void tcp_destroy(struct unvmf_transport *transport)
{
	struct tcp_transport *tt = (struct tcp_transport *)transport;
	struct tcp_listener *l;

	while ((l = TAILQ_FIRST(&tt->listeners))) {
		TAILQ_REMOVE(&tt->listeners, l, link);
		unvmf_sock_close(l->sock);
		free(l);
	}
	unvmf_poller_unregister(&tt->accept_poller);
	unvmf_buf_pool_fini(&tt->pool);
	free(tt);
}

static struct tcp_listener *tcp_listener_find(struct tcp_transport *tt,
                                              const struct unvmf_trid *trid)
{
	struct tcp_listener *l;

	TAILQ_FOREACH(l, &tt->listeners, link)
	{
		if (unvmf_trid_same_addr(&l->trid, trid))
			return l;
	}
	return NULL;
}

static int tcp_listen_ext(struct unvmf_transport *transport, const struct unvmf_trid *trid,
                          const struct unvmf_listen_opts *opts)
{
	struct tcp_transport *tt = (struct tcp_transport *)transport;
	struct tcp_listener *l;
	struct unvmf_sock *sock;
	int rc;

	if (trid->trtype != NVMF_TRTYPE_TCP ||
	    (trid->adrfam != NVMF_ADRFAM_IPV4 && trid->adrfam != NVMF_ADRFAM_IPV6))
		return -EINVAL;
	if (opts->secure_channel && !unvmf_sock_tls_available()) {
		LOG_ERR("TCP: %s:%s: secure_channel needs TLS, which this build lacks (UNVMF_TLS)",
		        trid->traddr, trid->trsvcid);
		return -EOPNOTSUPP;
	}
	l = tcp_listener_find(tt, trid);
	if (l) {
		/* One socket, one rule: TLS is required at an address or it is not. */
		if (l->secure != opts->secure_channel) {
			LOG_ERR("TCP: %s:%s already listens %s a secure channel", trid->traddr,
			        trid->trsvcid, l->secure ? "with" : "without");
			return -EINVAL;
		}
		l->refs++;
		return 0;
	}
	/* An IPv6 listener leaves the IPv4 port to its own listener. */
	rc = unvmf_sock_listen(trid->traddr, trid->trsvcid, trid->adrfam == NVMF_ADRFAM_IPV6,
	                       TCP_LISTEN_BACKLOG, &sock);
	if (rc) {
		LOG_ERR("TCP: cannot listen on %s:%s: %s", trid->traddr, trid->trsvcid,
		        strerror(-rc));
		return rc;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		unvmf_sock_close(sock);
		return -ENOMEM;
	}
	l->trid = *trid;
	l->trid.subnqn[0] = '\0';
	l->sock = sock;
	l->refs = 1;
	l->secure = opts->secure_channel;
	TAILQ_INSERT_TAIL(&tt->listeners, l, link);
	LOG_INFO("TCP: listening on %s %s:%s%s", unvmf_adrfam_str(trid->adrfam), trid->traddr,
	         trid->trsvcid, l->secure ? " (TLS 1.3 required)" : "");
	return 0;
}

static int tcp_listen(struct unvmf_transport *transport, const struct unvmf_trid *trid)
{
	static const struct unvmf_listen_opts plain;

	return tcp_listen_ext(transport, trid, &plain);
}

static void tcp_stop_listen(struct unvmf_transport *transport, const struct unvmf_trid *trid)
{
	struct tcp_transport *tt = (struct tcp_transport *)transport;
	struct tcp_listener *l = tcp_listener_find(tt, trid);

	if (!l || --l->refs > 0)
		return;
	TAILQ_REMOVE(&tt->listeners, l, link);
	unvmf_sock_close(l->sock);
	LOG_INFO("TCP: stopped listening on %s:%s", l->trid.traddr, l->trid.trsvcid);
	free(l);
}

static void tcp_sock_setup(struct tcp_transport *tt, struct unvmf_sock *sock)
{
	const struct unvmf_tcp_opts *to = tcp_transport_opts(tt);

	unvmf_sock_set_nodelay(sock, true);
	if (to->sock_priority)
		unvmf_sock_set_priority(sock, (int)to->sock_priority);
	/* SPDK's ack_timeout: how long sent data may stay unacknowledged before the kernel gives
	 * up. */
	if (to->ack_timeout_ms)
		unvmf_sock_set_user_timeout(sock, to->ack_timeout_ms);
}

static int tcp_accept_poll(void *arg)
{
	struct tcp_transport *tt = arg;
	struct tcp_listener *l;
	int work = 0;

	TAILQ_FOREACH(l, &tt->listeners, link)
	{
		for (int i = 0; i < TCP_ACCEPTS_PER_POLL; i++) {
			struct unvmf_sock *sock;
			struct tcp_conn *conn;
			int rc = unvmf_sock_accept(l->sock, &sock);

			if (rc) {
				if (rc != -EAGAIN && rc != -ECONNABORTED)
					LOG_ERR("TCP: accept on %s:%s: %s", l->trid.traddr,
					        l->trid.trsvcid, strerror(-rc));
				break;
			}
			tcp_sock_setup(tt, sock);
			if (l->secure) {
				rc = tcp_tls_accept(&sock);
				if (rc) {
					LOG_ERR("TCP: %s:%s: cannot set up TLS: %s", l->trid.traddr,
					        l->trid.trsvcid, strerror(-rc));
					unvmf_sock_close(sock);
					continue;
				}
			}
			conn = tcp_conn_create(tt, sock, &l->trid);
			if (!conn) {
				LOG_ERR("TCP: no memory for a new connection");
				unvmf_sock_close(sock);
				continue;
			}
			conn->tls = l->secure;
			conn->tls_handshaking = l->secure;
			work = 1;
			/* The core may hand it back at once (shutdown): conn is not ours after
			 * this. */
			unvmf_tgt_new_qpair(&conn->qpair);
		}
	}
	return work;
}

static void tcp_poll_group_dump_stats(struct unvmf_transport_poll_group *tgroup, void *json_obj)
{
	tcp_group_dump_stats(tgroup, json_obj);
}

const struct unvmf_transport_ops unvmf_tcp_transport_ops = {
    .name = "TCP",
    .trtype = NVMF_TRTYPE_TCP,
    .opts_init = tcp_opts_init,
    .opts_accepts = tcp_opts_accepts,
    .opts_decode = tcp_opts_decode,
    .opts_dump = tcp_opts_dump,
    .listener_discover = tcp_listener_discover,
    .create = tcp_create,
    .destroy = tcp_destroy,
    .listen = tcp_listen,
    .listen_ext = tcp_listen_ext,
    .stop_listen = tcp_stop_listen,
    .poll_group_create = tcp_group_create,
    .poll_group_destroy = tcp_group_destroy,
    .poll_group_poll = tcp_group_poll,
    .poll_group_add = tcp_group_add,
    .req_complete = tcp_req_complete,
    .qpair_disconnect = tcp_conn_qpair_disconnect,
    .qpair_abort_request = tcp_conn_abort_request,
    .poll_group_dump_stats = tcp_poll_group_dump_stats,
    .cdata_init = NULL,
    .inject_fault = tcp_conn_inject_fault,
};
