/* NVMe/TCP host connection lifecycle: socket, ICReq/ICResp, poll, wait, failure, destroy. */
#include "host/tcp/host_tcp_conn.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_RBUF_SIZE (128u * 1024u)

static int tcp_wait_fd(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = host_now_ns();
		struct pollfd pfd = {.fd = fd, .events = events};
		int rc;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000ull) + 1);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

static int tcp_socket_connect(const struct unvmf_trid *trid, uint64_t deadline_ns, int *fd_out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	socklen_t len = sizeof(int);
	int fd, rc, one = 1, soerr = 0;

	hints.ai_family = trid->adrfam == NVMF_ADRFAM_IPV6 ? AF_INET6 : AF_INET;
	rc = getaddrinfo(trid->traddr, trid->trsvcid, &hints, &res);
	if (rc)
		return -EHOSTUNREACH;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto err_free_addr;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			goto err_close;
		}
		rc = tcp_wait_fd(fd, POLLOUT, deadline_ns);
		if (rc)
			goto err_close;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
			rc = soerr ? -soerr : -errno;
			goto err_close;
		}
	}
	freeaddrinfo(res);
	*fd_out = fd;
	return 0;

err_close:
	close(fd);
err_free_addr:
	freeaddrinfo(res);
	return rc;
}

static int tcp_io_full(int fd, void *buf, size_t len, bool send_dir, uint64_t deadline_ns)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send_dir ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)
				     : recv(fd, p, len, MSG_DONTWAIT);
		int rc;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = tcp_wait_fd(fd, send_dir ? POLLOUT : POLLIN, deadline_ns);
		if (rc)
			return rc;
	}
	return 0;
}

/* Sends ICReq and reads ICResp, or the C2HTermReq the controller answers with instead. */
static int tcp_icreq_exchange(struct unvmf_host_qpair *qp, struct tcp_conn *c, uint64_t deadline_ns,
			      struct unvmf_host_error *err)
{
	uint8_t buf[sizeof(struct nvme_tcp_ic_resp)];
	const struct nvme_tcp_common_pdu_hdr *ch = (const void *)buf;
	uint16_t fes;
	int rc;

	host_tcp_icreq_build(buf, qp->header_digest, qp->data_digest);
	rc = tcp_io_full(c->fd, buf, sizeof(struct nvme_tcp_ic_req), true, deadline_ns);
	if (rc)
		return rc;
	rc = tcp_io_full(c->fd, buf, sizeof(*ch), false, deadline_ns);
	if (rc)
		return rc;
	if (ch->pdu_type == NVME_TCP_PDU_TYPE_C2H_TERM_REQ) {
		const struct nvme_tcp_term_req_hdr *term = (const void *)buf;

		rc = tcp_io_full(c->fd, buf + sizeof(*ch), sizeof(*term) - sizeof(*ch), false,
				 deadline_ns);
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
	rc = tcp_io_full(c->fd, buf + sizeof(*ch), sizeof(buf) - sizeof(*ch), false, deadline_ns);
	if (rc)
		return rc;
	rc = host_tcp_icresp_check(buf, qp->header_digest, qp->data_digest, &c->p, &c->maxh2cdata,
				   &fes);
	if (rc)
		LOG_ERR("qpair %u: invalid ICResp (FES 0x%x)", qp->qid, fes);
	return rc;
}

static void tcp_conn_free(struct tcp_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->treqs);
	free(c->rbuf);
	free(c);
}

static int tcp_connect(struct unvmf_host_qpair *qp, const struct unvmf_trid *trid,
		       uint32_t timeout_ms, struct unvmf_host_error *err)
{
	uint64_t deadline = host_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct tcp_conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	TAILQ_INIT(&c->send_queue);
	c->treqs = calloc(qp->nreqs, sizeof(*c->treqs));
	c->rbuf_cap = TCP_RBUF_SIZE;
	c->rbuf = malloc(c->rbuf_cap);
	if (!c->treqs || !c->rbuf) {
		rc = -ENOMEM;
		goto err_free_conn;
	}
	c->state_count[TCP_REQ_FREE] = qp->nreqs;
	rc = tcp_socket_connect(trid, deadline, &c->fd);
	if (rc) {
		if (err) {
			err->stage = UNVMF_HOST_STAGE_SOCKET;
			err->rc = rc;
		}
		LOG_ERR("qpair %u: TCP connect to %s:%s failed: %s", qp->qid, trid->traddr,
			trid->trsvcid, strerror(-rc));
		goto err_free_conn;
	}
	rc = tcp_icreq_exchange(qp, c, deadline, err);
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
	tcp_conn_free(c);
	return rc;
}

int tcp_conn_fail(struct unvmf_host_qpair *qp, uint16_t fes, uint32_t fei, int rc)
{
	struct tcp_conn *c = tcp_conn_of(qp);
	struct tcp_req *head = TAILQ_FIRST(&c->send_queue);

	if (c->rstate == TCP_RECV_ERROR)
		return rc;
	/* A TermReq in the middle of a half-written PDU would be garbage to the controller. */
	if (fes && (!head || head->pdu_sent == 0)) {
		uint8_t buf[sizeof(struct nvme_tcp_term_req_hdr) + 128];
		uint32_t len = host_tcp_term_req_build(buf, fes, fei, c->rhdr, c->rhdr_got);

		LOG_ERR("qpair %u: sending H2CTermReq FES 0x%x (%s) FEI 0x%x", qp->qid, fes,
			unvmf_host_fes_str(fes), fei);
		if (send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			LOG_DEBUG("qpair %u: H2CTermReq not sent: %s", qp->qid, strerror(errno));
	}
	shutdown(c->fd, SHUT_RDWR);
	c->rstate = TCP_RECV_ERROR;
	c->rreq = NULL;
	tcp_req_drain_all(qp);
	return rc;
}

static int tcp_poll(struct unvmf_host_qpair *qp)
{
	struct tcp_conn *c = tcp_conn_of(qp);
	int rc;

	if (c->rstate == TCP_RECV_ERROR)
		return -EPROTO;
	rc = tcp_send_flush(qp);
	if (rc)
		return tcp_conn_fail(qp, 0, 0, rc);
	rc = tcp_recv_poll(qp);
	if (rc)
		return rc;
	/* Completions may have queued new commands or H2C data: push them out now. */
	if (!TAILQ_EMPTY(&c->send_queue)) {
		rc = tcp_send_flush(qp);
		if (rc)
			return tcp_conn_fail(qp, 0, 0, rc);
	}
	return 0;
}

static void tcp_shutdown(struct unvmf_host_qpair *qp)
{
	tcp_conn_fail(qp, 0, 0, 0);
}

static void tcp_wait(struct unvmf_host_qpair *qp, int timeout_ms)
{
	struct tcp_conn *c = tcp_conn_of(qp);
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	if (c->rpos < c->rlen)
		return;
	if (!TAILQ_EMPTY(&c->send_queue))
		pfd.events |= POLLOUT;
	poll(&pfd, 1, timeout_ms);
}

static void tcp_destroy(struct unvmf_host_qpair *qp)
{
	struct tcp_conn *c = tcp_conn_of(qp);

	if (c->rstate != TCP_RECV_ERROR)
		tcp_req_drain_all(qp);
	tcp_conn_free(c);
}

const struct host_transport_ops g_host_tcp_ops = {
	.name = "TCP",
	.trtype = NVMF_TRTYPE_TCP,
	.connect = tcp_connect,
	.submit = tcp_req_submit,
	.poll = tcp_poll,
	.shutdown = tcp_shutdown,
	.wait = tcp_wait,
	.destroy = tcp_destroy,
};
