/* NVMe/TCP host connection lifecycle: socket, ICReq/ICResp, poll, wait, failure, destroy. */
#include "host/tcp/host_tcp_conn.h"
#include "sock/sock_tls.h"
#include "util/tls_psk.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HOST_TCP_RBUF_SIZE (128u * 1024u)

/* Milliseconds left until deadline_ns, at least 1 so a poll never spins; -ETIMEDOUT past it. */
static int host_tcp_ms_left(uint64_t deadline_ns)
{
	uint64_t now = host_now_ns();

	if (now >= deadline_ns)
		return -ETIMEDOUT;
	return (int)((deadline_ns - now) / 1000000ull) + 1;
}

/* Plain TCP needs no handshake; a TLS socket negotiates here, within the connect deadline. */
static int host_tcp_sock_handshake(struct unvmf_sock *sock, uint64_t deadline_ns)
{
	for (;;) {
		int want = unvmf_sock_handshake(sock), ms, rc;

		if (want <= 0)
			return want;
		ms = host_tcp_ms_left(deadline_ns);
		if (ms < 0)
			return ms;
		rc = unvmf_sock_poll(sock, want == UNVMF_SOCK_WANT_READ,
		                     want == UNVMF_SOCK_WANT_WRITE, ms);
		if (rc < 0)
			return rc;
	}
}

/*
 * Makes plain a TLS client with the controller's PSK: the identity given, or
 * NVMe0R<hh> <hostnqn> <subnqn>. On failure plain is still the caller's.
 */
static int host_tcp_tls_wrap(const struct unvmf_host_ctrlr *ctrlr, struct unvmf_sock **sock)
{
	struct unvmf_psk_identity id = {.version = 0};
	char identity[UNVMF_PSK_IDENTITY_BUF];
	struct unvmf_psk_key key;
	struct unvmf_sock *tls;
	int rc;

	rc = unvmf_psk_interchange_parse(ctrlr->opts.tls_psk, &key);
	if (rc)
		return rc;
	if (ctrlr->opts.tls_psk_identity[0]) {
		rc = unvmf_strlcpy(identity, ctrlr->opts.tls_psk_identity, sizeof(identity))
		         ? -EINVAL
		         : 0;
	} else {
		id.hash = unvmf_psk_cipher_hash(&key);
		unvmf_strlcpy(id.hostnqn, ctrlr->hostnqn, sizeof(id.hostnqn));
		unvmf_strlcpy(id.subnqn,
		              ctrlr->trid.subnqn[0] ? ctrlr->trid.subnqn : NVMF_DISCOVERY_NQN,
		              sizeof(id.subnqn));
		rc = unvmf_psk_identity_build(&id, identity, sizeof(identity));
		rc = rc < 0 ? rc : 0;
	}
	if (rc == 0)
		rc = unvmf_sock_tls_client(*sock, identity, &key, &tls);
	memset(&key, 0, sizeof(key));
	if (rc)
		return rc;
	*sock = tls;
	return 0;
}

static int host_tcp_socket_connect(const struct unvmf_host_ctrlr *ctrlr,
                                   const struct unvmf_trid *trid, uint64_t deadline_ns,
                                   struct unvmf_sock **out, enum unvmf_host_connect_stage *stage)
{
	int ms = host_tcp_ms_left(deadline_ns), rc;

	*stage = UNVMF_HOST_STAGE_SOCKET;
	if (ms < 0)
		return ms;
	rc = unvmf_sock_connect(trid->traddr, trid->trsvcid, trid->adrfam == NVMF_ADRFAM_IPV6, ms,
	                        out);
	if (rc)
		return rc;
	if (ctrlr->opts.tls_psk[0]) {
		*stage = UNVMF_HOST_STAGE_TLS;
		rc = host_tcp_tls_wrap(ctrlr, out);
		if (rc)
			goto out_close;
	}
	rc = host_tcp_sock_handshake(*out, deadline_ns);
	if (rc)
		goto out_close;
	return 0;

out_close:
	unvmf_sock_close(*out);
	*out = NULL;
	return rc;
}

/* Writes (send_dir) or reads all len bytes before deadline_ns: the ICReq exchange is synchronous.
 */
static int host_tcp_io_full(struct unvmf_sock *sock, void *buf, size_t len, bool send_dir,
                            uint64_t deadline_ns)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n =
		    send_dir ? unvmf_sock_send(sock, p, len) : unvmf_sock_recv(sock, p, len);
		int ms, rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (n != -EAGAIN)
			return (int)n;
		ms = host_tcp_ms_left(deadline_ns);
		if (ms < 0)
			return ms;
		rc = unvmf_sock_poll(sock, !send_dir, send_dir, ms);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Sends ICReq and reads ICResp, or the C2HTermReq the controller answers with instead. */
static int host_tcp_icreq_exchange(struct unvmf_host_qpair *qp, struct host_tcp_conn *c,
                                   uint64_t deadline_ns, struct unvmf_host_error *err)
{
	uint8_t buf[sizeof(struct nvme_tcp_ic_resp)];
	const struct nvme_tcp_common_pdu_hdr *ch = (const void *)buf;
	struct nvme_tcp_pdu_error perr;
	int rc;

	nvme_tcp_pdu_icreq_build(buf, qp->header_digest, qp->data_digest);
	rc = host_tcp_io_full(c->sock, buf, sizeof(struct nvme_tcp_ic_req), true, deadline_ns);
	if (rc)
		return rc;
	rc = host_tcp_io_full(c->sock, buf, sizeof(*ch), false, deadline_ns);
	if (rc)
		return rc;
	if (ch->pdu_type == NVME_TCP_PDU_TYPE_C2H_TERM_REQ) {
		const struct nvme_tcp_term_req_hdr *term = (const void *)buf;

		rc = host_tcp_io_full(c->sock, buf + sizeof(*ch), sizeof(*term) - sizeof(*ch),
		                      false, deadline_ns);
		if (rc)
			return rc;
		qp->term_fes = term->fes;
		memcpy(&qp->term_fei, term->fei, sizeof(qp->term_fei));
		LOG_ERR("qpair %u: ICReq rejected with C2HTermReq FES 0x%x (%s)", qp->qid,
		        qp->term_fes, unvmf_host_fes_str(qp->term_fes));
		if (err) {
			err->term_fes = qp->term_fes;
			err->term_fei = qp->term_fei;
		}
		return -ECONNABORTED;
	}
	if (ch->pdu_type != NVME_TCP_PDU_TYPE_IC_RESP || ch->plen != sizeof(buf))
		return -EPROTO;
	rc = host_tcp_io_full(c->sock, buf + sizeof(*ch), sizeof(buf) - sizeof(*ch), false,
	                      deadline_ns);
	if (rc)
		return rc;
	rc = nvme_tcp_pdu_icresp_check((const struct nvme_tcp_ic_resp *)buf, qp->header_digest,
	                               qp->data_digest, &c->p, &perr);
	if (rc)
		LOG_ERR("qpair %u: invalid ICResp (FES 0x%x, FEI %u)", qp->qid, perr.fes, perr.fei);
	return rc;
}

static void host_tcp_conn_free(struct host_tcp_conn *c)
{
	unvmf_sock_close(c->sock);
	free(c->treqs);
	free(c->rbuf);
	free(c);
}

static int host_tcp_connect(struct unvmf_host_qpair *qp, const struct unvmf_trid *trid,
                            uint32_t timeout_ms, struct unvmf_host_error *err)
{
	uint64_t deadline = host_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	enum unvmf_host_connect_stage stage;
	struct host_tcp_conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	TAILQ_INIT(&c->send_queue);
	c->p.role = NVME_TCP_ROLE_HOST;
	c->treqs = calloc(qp->nreqs, sizeof(*c->treqs));
	c->rbuf_cap = HOST_TCP_RBUF_SIZE;
	c->rbuf = malloc(c->rbuf_cap);
	if (!c->treqs || !c->rbuf) {
		rc = -ENOMEM;
		goto err_free_conn;
	}
	c->state_count[HOST_TCP_REQ_FREE] = qp->nreqs;
	rc = host_tcp_socket_connect(qp->ctrlr, trid, deadline, &c->sock, &stage);
	if (rc) {
		if (err) {
			err->stage = stage;
			err->rc = rc;
		}
		LOG_ERR("qpair %u: %s to %s:%s failed: %s", qp->qid,
		        stage == UNVMF_HOST_STAGE_TLS ? "TLS handshake" : "TCP connect",
		        trid->traddr, trid->trsvcid, strerror(-rc));
		goto err_free_conn;
	}
	rc = host_tcp_icreq_exchange(qp, c, deadline, err);
	if (rc) {
		if (err) {
			err->stage = UNVMF_HOST_STAGE_ICREQ;
			err->rc = rc;
		}
		goto err_free_conn;
	}
	qp->tctx = c;
	return 0;

err_free_conn:
	host_tcp_conn_free(c);
	return rc;
}

int host_tcp_conn_fail(struct unvmf_host_qpair *qp, uint16_t fes, uint32_t fei, int rc)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	struct host_tcp_req *head = TAILQ_FIRST(&c->send_queue);

	if (c->rstate == HOST_TCP_RECV_ERROR)
		return rc;
	/* A TermReq in the middle of a half-written PDU would be garbage to the controller. */
	if (fes && (!head || head->pdu_sent == 0)) {
		uint8_t buf[sizeof(struct nvme_tcp_term_req_hdr) + 128];
		uint32_t len =
		    nvme_tcp_pdu_term_req_build(buf, &c->p, fes, fei, c->rhdr, c->rhdr_got);

		LOG_ERR("qpair %u: sending H2CTermReq FES 0x%x (%s) FEI 0x%x", qp->qid, fes,
		        unvmf_host_fes_str(fes), fei);
		ssize_t n = unvmf_sock_send(c->sock, buf, len);

		if (n < 0)
			LOG_DEBUG("qpair %u: H2CTermReq not sent: %s", qp->qid, strerror((int)-n));
	}
	unvmf_sock_shutdown(c->sock, true);
	c->rstate = HOST_TCP_RECV_ERROR;
	c->rreq = NULL;
	host_tcp_req_drain_all(qp);
	return rc;
}

static int host_tcp_poll(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	int rc;

	if (c->rstate == HOST_TCP_RECV_ERROR)
		return -EPROTO;
	rc = host_tcp_send_flush(qp);
	if (rc)
		return host_tcp_conn_fail(qp, 0, 0, rc);
	rc = host_tcp_recv_poll(qp);
	if (rc)
		return rc;
	/* Completions may have queued new commands or H2C data: push them out now. */
	if (!TAILQ_EMPTY(&c->send_queue)) {
		rc = host_tcp_send_flush(qp);
		if (rc)
			return host_tcp_conn_fail(qp, 0, 0, rc);
	}
	return 0;
}

static void host_tcp_shutdown(struct unvmf_host_qpair *qp)
{
	host_tcp_conn_fail(qp, 0, 0, 0);
}

static void host_tcp_wait(struct unvmf_host_qpair *qp, int timeout_ms)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);

	if (c->rpos < c->rlen || unvmf_sock_pending(c->sock))
		return;
	unvmf_sock_poll(c->sock, true, !TAILQ_EMPTY(&c->send_queue), timeout_ms);
}

static void host_tcp_destroy(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);

	if (c->rstate != HOST_TCP_RECV_ERROR)
		host_tcp_req_drain_all(qp);
	host_tcp_conn_free(c);
}

const struct host_transport_ops g_host_tcp_ops = {
    .name = "TCP",
    .trtype = NVMF_TRTYPE_TCP,
    .connect = host_tcp_connect,
    .submit = host_tcp_req_submit,
    .poll = host_tcp_poll,
    .shutdown = host_tcp_shutdown,
    .wait = host_tcp_wait,
    .destroy = host_tcp_destroy,
};
