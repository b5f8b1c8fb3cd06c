/* NVMe/TCP host sender: batches the queued PDUs of many requests into one socket write. */
#include "host/tcp/host_tcp_conn.h"
#include "util/common.h"

#include <errno.h>

/* Appends the unsent part of treq's PDU whole; false (batch unchanged) when it does not fit. */
static bool host_tcp_send_gather(const struct host_tcp_req *treq, struct unvmf_sock_batch *batch)
{
	int cnt = batch->cnt;
	size_t bytes = batch->bytes, skip = treq->pdu_sent;

	for (int i = 0; i < treq->iovcnt; i++) {
		if (!unvmf_sock_batch_add(batch, treq->iov[i].iov_base, treq->iov[i].iov_len,
		                          &skip)) {
			batch->cnt = cnt;
			batch->bytes = bytes;
			return false;
		}
	}
	return true;
}

int host_tcp_send_flush(struct unvmf_host_qpair *qp)
{
	struct host_tcp_conn *c = host_tcp_conn_of(qp);
	struct unvmf_sock_batch batch;

	while (!TAILQ_EMPTY(&c->send_queue)) {
		struct host_tcp_req *treq, *next;
		size_t left;
		ssize_t w;

		unvmf_sock_batch_reset(&batch);
		/* Each request contributes its current PDU once; the next is built when it is out.
		 */
		TAILQ_FOREACH(treq, &c->send_queue, link)
		{
			if (!host_tcp_send_gather(treq, &batch))
				break;
		}
		w = unvmf_sock_batch_write(c->sock, &batch);
		if (w == -EAGAIN)
			return 0;
		if (w < 0)
			return (int)w;
		left = (size_t)w;
		for (treq = TAILQ_FIRST(&c->send_queue); treq && left > 0; treq = next) {
			uint32_t take =
			    (uint32_t)UNVMF_MIN(left, (size_t)(treq->pdu_len - treq->pdu_sent));

			next = TAILQ_NEXT(treq, link);
			treq->pdu_sent += take;
			left -= take;
			if (treq->pdu_sent == treq->pdu_len)
				host_tcp_req_pdu_sent(qp, treq);
		}
		if ((size_t)w < batch.bytes)
			return 0;
	}
	return 0;
}
