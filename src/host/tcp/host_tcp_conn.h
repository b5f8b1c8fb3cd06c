#pragma once
/*
 * NVMe/TCP host connection: one TCP socket per qpair, owned by the qpair's
 * thread. Files: host_tcp_connect.c (socket, ICReq/ICResp, wait, destroy),
 * host_tcp_req.c (request state machine, submit), host_tcp_send.c (batched writes),
 * host_tcp_recv.c (receive state machine and PDU dispatch).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "host/host_internal.h"
#include "proto/nvme_tcp_pdu.h"
#include "sock/sock.h"

/* A received header is kept up to PDO (at most 255 bytes); one we send fits too. */
#define HOST_TCP_HDR_MAX 256

/*
 * Per-request transport state. Membership of conn->send_queue follows the
 * state and is changed only by host_tcp_req_set_state():
 *   FREE -> SEND_CAPSULE            submit
 *   SEND_CAPSULE -> AWAIT_CTRLR     capsule (and in-capsule data) fully written
 *   AWAIT_CTRLR -> SEND_H2C         R2T accepted
 *   SEND_H2C -> AWAIT_CTRLR         last H2CData PDU of the R2T written
 *   SEND_* -> SEND_THEN_COMPLETE    response arrived while a PDU of ours is still
 *                                   partly in the socket: finish it, send no more
 *   AWAIT_CTRLR / SEND_THEN_COMPLETE -> FREE   completion handed to the qpair
 *   any -> FREE                     connection failed (drain: dropped, the qpair
 *                                   layer calls every slot back as aborted)
 */
enum host_tcp_req_state {
	HOST_TCP_REQ_FREE = 0,
	HOST_TCP_REQ_SEND_CAPSULE,
	HOST_TCP_REQ_AWAIT_CTRLR,
	HOST_TCP_REQ_SEND_H2C,
	HOST_TCP_REQ_SEND_THEN_COMPLETE,
	HOST_TCP_REQ_NUM_STATES,
};

struct host_tcp_req {
	enum host_tcp_req_state state;
	TAILQ_ENTRY(host_tcp_req) link; /* on send_queue iff state is SEND_* */
	/* The PDU being written: iov[0] is hdr, then data slices, then ddgst. */
	uint8_t hdr[HOST_TCP_HDR_MAX];
	struct iovec iov[UNVMF_HOST_MAX_IOV + 2];
	int iovcnt;
	uint32_t pdu_len;
	uint32_t pdu_sent;
	uint32_t ddgst;
	/* The current R2T window [h2c_next, h2c_end) and its tag. */
	uint32_t h2c_next;
	uint32_t h2c_end;
	uint16_t ttag;
	uint32_t c2h_next;         /* next DATAO expected from the controller */
	struct nvme_cqe early_cqe; /* kept for SEND_THEN_COMPLETE */
};

enum host_tcp_recv_state {
	HOST_TCP_RECV_CH = 0, /* common header (8 bytes) */
	HOST_TCP_RECV_HDR,    /* rest of header, digest, padding up to PDO */
	HOST_TCP_RECV_DATA,   /* C2HData payload into the request */
	HOST_TCP_RECV_DDGST,  /* data digest */
	HOST_TCP_RECV_ERROR,  /* connection failed; nothing more is parsed */
};

struct host_tcp_conn {
	struct unvmf_sock *sock;
	struct nvme_tcp_pdu_params p; /* role HOST; what ICResp settled */
	struct host_tcp_req *treqs;   /* indexed by cid */
	TAILQ_HEAD(, host_tcp_req) send_queue;
	uint32_t state_count[HOST_TCP_REQ_NUM_STATES];

	enum host_tcp_recv_state rstate;
	uint8_t *rbuf;
	uint32_t rbuf_cap;
	uint32_t rpos;
	uint32_t rlen;
	uint8_t rhdr[HOST_TCP_HDR_MAX];
	uint32_t rhdr_got;
	uint32_t rhdr_total; /* header bytes up to PDO: rlay.data_off */
	struct nvme_tcp_pdu_layout rlay;
	struct host_tcp_req *rreq; /* C2HData destination while in HOST_TCP_RECV_DATA/DDGST */
	uint32_t rdata_off;        /* byte offset into the request's data */
	uint32_t rdata_left;
	uint32_t rcrc;
	uint8_t rddgst[4];
	uint32_t rddgst_got;
};

static inline struct host_tcp_conn *host_tcp_conn_of(struct unvmf_host_qpair *qp)
{
	return qp->tctx;
}

void host_tcp_req_set_state(struct host_tcp_conn *c, struct host_tcp_req *treq,
                            enum host_tcp_req_state state);
/* Called by the sender when treq's current PDU is fully in the socket. */
void host_tcp_req_pdu_sent(struct unvmf_host_qpair *qp, struct host_tcp_req *treq);
/* A CapsuleResp for treq (state checked by the caller). */
void host_tcp_req_response(struct unvmf_host_qpair *qp, struct host_tcp_req *treq,
                           const struct nvme_cqe *cqe);
/* Starts H2CData transfers for an accepted R2T. */
void host_tcp_req_start_h2c(struct unvmf_host_qpair *qp, struct host_tcp_req *treq, uint16_t ttag,
                            uint32_t r2to, uint32_t r2tl);
/* Drops every request (connection gone); the qpair layer completes the slots. */
void host_tcp_req_drain_all(struct unvmf_host_qpair *qp);
/* Transport op: lays out the capsule and queues it (sent by the next poll). */
int host_tcp_req_submit(struct unvmf_host_qpair *qp, struct host_req *req);
/* Builds iov slices of req's data [off, off + len) into iov; returns the count. */
int host_tcp_req_slice(const struct host_req *req, uint32_t off, uint32_t len, struct iovec *iov,
                       int max);

int host_tcp_send_flush(struct unvmf_host_qpair *qp);
int host_tcp_recv_poll(struct unvmf_host_qpair *qp);
/*
 * Fails the connection: best-effort H2CTermReq (fes != 0, only when no PDU is
 * half written), socket shut down, requests drained. Returns rc.
 */
int host_tcp_conn_fail(struct unvmf_host_qpair *qp, uint16_t fes, uint32_t fei, int rc);
