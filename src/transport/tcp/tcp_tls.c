/*
 * NVMe/TCP over TLS on the target (NVMe/TCP 1.0 section 3.6): a secure
 * listener makes every accepted socket a TLS 1.3 server; the receive path
 * drives the handshake before it reads any PDU, so nothing of NVMe/TCP is
 * ever read or written in the clear there. The PSK comes from the core by
 * the identity the host offers ("NVMe0R<hh> <hostnqn> <subnqn>"), and the
 * Fabrics Connect that follows must name that same host and subsystem:
 * otherwise a host holding one key could speak for another.
 */
#include "transport/tcp/tcp_internal.h"
#include "sock/sock_tls.h"
#include "util/log.h"
#include "util/tls_psk.h"

#include <errno.h>
#include <string.h>

static int tcp_tls_psk_lookup(void *arg, const struct unvmf_psk_identity *id,
                              struct unvmf_psk_key *key)
{
	(void)arg;
	return unvmf_tgt_tls_psk_find(id->subnqn, id->hostnqn, key);
}

int tcp_tls_accept(struct unvmf_sock **sock)
{
	struct unvmf_sock *tls;
	int rc = unvmf_sock_tls_server(*sock, tcp_tls_psk_lookup, NULL, &tls);

	if (rc)
		return rc;
	*sock = tls;
	return 0;
}

static void tls_fail(struct tcp_conn *conn, int rc)
{
	enum tcp_end_reason why;
	const char *text;

	switch (rc) {
	case -EPROTONOSUPPORT:
		why = TCP_END_TLS_CLEAR_TEXT;
		text = "host sent NVMe/TCP in the clear on a TLS listener";
		break;
	case -ENOKEY:
		why = TCP_END_TLS_UNKNOWN_KEY;
		text = "TLS handshake failed: no PSK for the host's identity";
		break;
	case -EKEYREJECTED:
		why = TCP_END_TLS_KEY_MISMATCH;
		text = "TLS handshake failed: the host's PSK differs";
		break;
	case -ECONNRESET:
		why = TCP_END_HOST_RESET;
		text = "host closed the connection during the TLS handshake";
		break;
	default:
		why = TCP_END_TLS_HANDSHAKE;
		text = "TLS handshake failed";
		break;
	}
	LOG_WARN("qpair %lu (peer %s:%s, listener %s:%s): %s (%s)", (unsigned long)conn->qpair.id,
	         conn->qpair.peer.traddr, conn->qpair.peer.trsvcid, conn->qpair.local.traddr,
	         conn->qpair.local.trsvcid, text, strerror(-rc));
	tcp_conn_teardown(conn, why, text);
}

int tcp_conn_handshake(struct tcp_conn *conn)
{
	const struct unvmf_psk_identity *id;
	int rc = unvmf_sock_handshake(conn->sock);
	bool pollout = rc == UNVMF_SOCK_WANT_WRITE;

	if (rc < 0) {
		tls_fail(conn, rc);
		return 1;
	}
	if (conn->want_pollout != pollout) {
		conn->want_pollout = pollout;
		tcp_group_epoll_update(conn);
	}
	if (rc != UNVMF_SOCK_WANT_NONE)
		return 0;
	conn->tls_handshaking = false;
	if (conn->group)
		conn->group->stats.tls_handshakes++;
	id = unvmf_sock_tls_identity(conn->sock);
	LOG_INFO("qpair %lu (peer %s:%s): TLS handshake done, host %s, subsystem %s",
	         (unsigned long)conn->qpair.id, conn->qpair.peer.traddr, conn->qpair.peer.trsvcid,
	         id ? id->hostnqn : "?", id ? id->subnqn : "?");
	return 1;
}

/* Connect data is NUL-padded to 256 bytes: compare up to the first NUL. */
static bool nqn_equal(const char *wire, size_t wire_len, const char *nqn)
{
	size_t n = strnlen(wire, wire_len);

	return n == strlen(nqn) && memcmp(wire, nqn, n) == 0;
}

/* Copies the Connect data out of req's buffers; false when fewer bytes came than it has. */
static bool connect_data_copy(const struct tcp_req *req, struct nvmf_connect_data *data)
{
	uint8_t *dst = (uint8_t *)data;
	size_t need = sizeof(*data);

	for (int i = 0; i < req->core.iovcnt && need; i++) {
		size_t n = req->core.iov[i].iov_len < need ? req->core.iov[i].iov_len : need;

		memcpy(dst, req->core.iov[i].iov_base, n);
		dst += n;
		need -= n;
	}
	return need == 0;
}

bool tcp_tls_connect_refused(struct tcp_req *req)
{
	struct tcp_conn *conn = req->conn;
	const struct nvmf_capsule_cmd *cmd = (const struct nvmf_capsule_cmd *)&req->core.cmd;
	const struct unvmf_psk_identity *id;
	struct nvmf_connect_data data;

	if (!conn->tls || req->core.cmd.opc != NVME_OPC_FABRICS ||
	    cmd->fctype != NVMF_FCTYPE_CONNECT)
		return false;
	id = unvmf_sock_tls_identity(conn->sock);
	/*
	 * However the data came (in the capsule or after an R2T), it is all in
	 * req's buffers now. Too short to hold the NQNs: nothing proves who it
	 * is, so it is refused like a mismatch.
	 */
	if (!connect_data_copy(req, &data))
		memset(&data, 0, sizeof(data));
	if (id && nqn_equal(data.hostnqn, sizeof(data.hostnqn), id->hostnqn) &&
	    nqn_equal(data.subnqn, sizeof(data.subnqn), id->subnqn))
		return false;
	data.hostnqn[sizeof(data.hostnqn) - 1] = '\0';
	data.subnqn[sizeof(data.subnqn) - 1] = '\0';
	LOG_ERR("qpair %lu (peer %s:%s): Connect refused: the TLS PSK identity is host %s, "
	        "subsystem %s, the Connect names host '%s', subsystem '%s'",
	        (unsigned long)conn->qpair.id, conn->qpair.peer.traddr, conn->qpair.peer.trsvcid,
	        id ? id->hostnqn : "?", id ? id->subnqn : "?", data.hostnqn, data.subnqn);
	if (conn->group)
		conn->group->stats.tls_connect_refused++;
	return true;
}

void tcp_conn_recv_again_check(struct tcp_conn *conn)
{
	if (!conn->group || conn->recv_again || conn->state == TCP_CONN_DRAINING || !conn->sock ||
	    !unvmf_sock_pending(conn->sock))
		return;
	conn->recv_again = true;
	TAILQ_INSERT_TAIL(&conn->group->recv_again, conn, again_link);
}

void tcp_conn_recv_again_cancel(struct tcp_conn *conn)
{
	if (!conn->recv_again)
		return;
	conn->recv_again = false;
	TAILQ_REMOVE(&conn->group->recv_again, conn, again_link);
}
