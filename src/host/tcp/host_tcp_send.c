/* NVMe/TCP host sender: batches the queued PDUs of many requests into one sendmsg. */
#include "host/tcp/host_tcp_conn.h"
#include "util/common.h"

#include <errno.h>
#include <sys/socket.h>

#define TCP_SEND_IOV_BATCH 256

/* Appends the unsent part of treq's PDU; returns the new count or -1 when it does not fit. */
static int tcp_send_gather(const struct tcp_req *treq, struct iovec *iov, int n, int max)
{
	uint32_t skip = treq->pdu_sent;

	for (int i = 0; i < treq->iovcnt; i++) {
		size_t len = treq->iov[i].iov_len;

		if (skip >= len) {
			skip -= (uint32_t)len;
			continue;
		}
		if (n == max)
			return -1;
		iov[n].iov_base = (uint8_t *)treq->iov[i].iov_base + skip;
		iov[n].iov_len = len - skip;
		skip = 0;
		n++;
	}
	return n;
}

int tcp_send_flush(struct unvmf_host_qpair *qp)
{
	struct tcp_conn *c = tcp_conn_of(qp);
	struct iovec iov[TCP_SEND_IOV_BATCH];

	while (!TAILQ_EMPTY(&c->send_queue)) {
		struct msghdr msg = {.msg_iov = iov};
		struct tcp_req *treq, *next;
		size_t wanted = 0, left;
		ssize_t w;
		int n = 0;

		/* Each request contributes its current PDU once; the next is built when it is out. */
		TAILQ_FOREACH(treq, &c->send_queue, link) {
			int m = tcp_send_gather(treq, iov, n, TCP_SEND_IOV_BATCH);

			if (m < 0)
				break;
			n = m;
			wanted += treq->pdu_len - treq->pdu_sent;
		}
		msg.msg_iovlen = (size_t)n;
		w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		left = (size_t)w;
		for (treq = TAILQ_FIRST(&c->send_queue); treq && left > 0; treq = next) {
			uint32_t take = (uint32_t)UNVMF_MIN(left, (size_t)(treq->pdu_len - treq->pdu_sent));

			next = TAILQ_NEXT(treq, link);
			treq->pdu_sent += take;
			left -= take;
			if (treq->pdu_sent == treq->pdu_len)
				host_tcp_req_pdu_sent(qp, treq);
		}
		if ((size_t)w < wanted)
			return 0;
	}
	return 0;
}
