#pragma once
/*
 * NVMe/TCP target transport: objects shared by its files.
 *
 *   tcp_transport.c  ops table, listeners, accept poller (reactor 0)
 *   tcp_group.c      poll group: epoll, buffer cache, pending-buffer FIFO, stats
 *   tcp_conn.c       connection lifecycle: create, start, teardown, deferred free
 *   tcp_recv.c       PDU receive state machine (socket -> headers, data)
 *   tcp_send.c       outgoing PDU queue, batched writes, partial writes
 *   tcp_req.c        request state machine (the only writer of tcp_req.state)
 *   tcp_tls.c        TLS: the server handshake before the first PDU, PSK lookup,
 *                    Connect against the TLS identity
 *   tcp_pdu.c        controller-only PDU rules (H2CData vs R2T, SGL); the rest is
 *                    shared with the host in proto/nvme_tcp_pdu.c
 *
 * Ownership: a connection, its requests and its PDUs belong to the poll group
 * thread that tcp_group_add() ran on; before that, to reactor 0 (accept), where
 * nothing but its creation and, on a failed hand-over, its free happen.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "nvmf/nvmf_internal.h"
#include "transport/tcp/tcp_opts.h"
#include "transport/tcp/tcp_pdu.h"
#include "nvmf/transport.h"
#include "sock/sock.h"
#include "util/buf_pool.h"

#define TCP_RECV_BUF_SIZE (64u * 1024)
#define TCP_MAXH2CDATA (128u * 1024)
/* Largest C2HData PDU we send; a longer read goes out as several. */
#define TCP_C2H_PDU_MAX (128u * 1024)
/*
 * In-capsule data accepted on the admin queue and before Connect: hosts send
 * Fabrics and admin data in-capsule up to 8 KiB without reading IOCCSZ (Linux
 * NVME_TCP_ADMIN_CCSZ), whatever in_capsule_data_size is for I/O queues.
 */
#define TCP_ADMIN_ICD_SIZE 8192u
/* How long a C2HTermReq may take to leave before the socket is closed anyway. */
#define TCP_TERM_FLUSH_US 1000000u
/* How often a group looks for connections past their ICReq or Connect deadline. */
#define TCP_DEADLINE_SWEEP_US 100000u
/* Receiving straight into request buffers pays off from this many bytes. */
#define TCP_DIRECT_RECV_MIN 4096u
/* A read into the receive buffer while H2CData is expected (see recv_buf_want). */
#define TCP_RECV_H2C_PEEK 1024u

struct tcp_conn;
struct tcp_group;

struct tcp_listener {
	struct unvmf_trid trid;
	struct unvmf_sock *sock;
	unsigned refs; /* subsystems listening on this address */
	bool secure;   /* TLS required: every accepted socket becomes a TLS server */
	TAILQ_ENTRY(tcp_listener) link;
};

/* Reactor 0 owns listeners and the accept poller; the pool is shared by all groups. */
struct tcp_transport {
	struct unvmf_transport base;
	struct unvmf_buf_pool pool;
	struct unvmf_poller *accept_poller;
	TAILQ_HEAD(, tcp_listener) listeners;
	uint32_t num_c2h_pdus; /* per request: max_io_size / TCP_C2H_PDU_MAX rounded up */
};

enum tcp_req_state {
	TCP_REQ_FREE,
	TCP_REQ_NEW,         /* capsule header taken; in-capsule data may still arrive */
	TCP_REQ_NEED_BUFFER, /* on the group's FIFO until the cache has buffers */
	TCP_REQ_TRANSFERRING_HOST_TO_CONTROLLER, /* R2T issued; H2CData arriving */
	TCP_REQ_READY_TO_EXECUTE,
	TCP_REQ_EXECUTING, /* the core owns it until req_complete */
	TCP_REQ_EXECUTED,
	TCP_REQ_TRANSFERRING_CONTROLLER_TO_HOST, /* C2HData/CapsuleResp queued or in writev */
	TCP_REQ_COMPLETED,                       /* every byte handed to the kernel */
	TCP_REQ_NUM_STATES,
};

/* The one list a request is on; tcp_req_set_state() moves it. */
enum tcp_req_queue {
	TCP_REQ_QUEUE_NONE,
	TCP_REQ_QUEUE_FREE,        /* conn->free_reqs */
	TCP_REQ_QUEUE_PENDING_BUF, /* group->pending_buf */
};

/*
 * One outgoing PDU: header bytes here, data as a range of the request's
 * buffers (never copied), data digest after it. Owned by its request (or by
 * the connection for ICResp/C2HTermReq); on conn->sendq while queued.
 */
struct tcp_pdu_out {
	TAILQ_ENTRY(tcp_pdu_out) link;
	struct tcp_req *req;
	bool queued;
	uint32_t hdr_len;
	uint32_t data_off; /* into req->core.iov */
	uint32_t data_len;
	uint32_t ddgst_len;
	uint32_t ddgst;
	uint32_t sent; /* bytes of this PDU already written */
	uint8_t hdr[NVME_TCP_PDU_HDR_MAX] __attribute__((aligned(8)));
};

struct tcp_req {
	struct unvmf_req core;
	struct tcp_conn *conn;
	enum tcp_req_state state;
	enum tcp_req_queue queue;
	TAILQ_ENTRY(tcp_req) link; /* on the list named by queue */
	uint16_t ttag;             /* index in conn->reqs */
	struct tcp_sgl sgl;
	uint8_t *icd;              /* in-capsule data buffer, conn->icd_size bytes */
	void *bufs[UNVMF_MAX_IOV]; /* pool buffers behind core.iov */
	uint32_t num_bufs;
	/* Host to controller. */
	uint32_t h2c_next; /* next DATAO expected */
	uint32_t r2t_end;  /* end of the outstanding R2T */
	bool r2t_active;
	bool r2t_deferred; /* next R2T waits for the previous one to leave */
	bool ddgst_error;  /* a data digest failed: complete with transient error */
	bool has_status;   /* complete with sct/sc instead of executing */
	uint8_t sct;
	uint8_t sc;
	unsigned pdus_queued; /* PDUs of this request still on the send queue */
	struct tcp_pdu_out r2t_pdu;
	struct tcp_pdu_out rsp_pdu;
	struct tcp_pdu_out *c2h_pdus; /* [transport->num_c2h_pdus] */
};

enum tcp_conn_state {
	TCP_CONN_AWAIT_ICREQ, /* (after the TLS handshake on a secure listener) */
	TCP_CONN_RUNNING,
	TCP_CONN_DRAINING, /* no more reads; waiting for the core and the term req */
};

enum tcp_recv_state {
	TCP_RECV_CH,  /* the 8-byte common header */
	TCP_RECV_PSH, /* rest of the header and its digest */
	TCP_RECV_PAD, /* up to PDO */
	TCP_RECV_DATA,
	TCP_RECV_DDGST,
	TCP_RECV_STOPPED,
};

struct tcp_conn {
	struct unvmf_qpair qpair;
	struct tcp_transport *tt;
	struct tcp_group *group; /* NULL until tcp_group_add() */
	struct unvmf_sock *sock; /* NULL once closed */
	enum tcp_conn_state state;
	bool tls;             /* the socket is TLS: Connect must match its identity */
	bool tls_handshaking; /* no PDU is read before the handshake completes */
	bool recv_again;      /* on group->recv_again: the socket holds bytes epoll cannot see */
	struct nvme_tcp_pdu_params params;
	/* Receive. */
	enum tcp_recv_state rstate;
	uint8_t *rbuf;
	uint32_t rbuf_len;
	uint32_t rbuf_off;
	uint8_t hdr[NVME_TCP_PDU_HDR_MAX] __attribute__((aligned(8)));
	uint32_t hdr_have;
	struct nvme_tcp_pdu_layout lay;
	uint32_t pad_left;
	uint32_t data_done;
	const struct iovec *dst_iov; /* NULL: the data is read and dropped */
	int dst_iovcnt;
	uint32_t dst_base; /* data byte 0 lands at this offset of dst_iov */
	struct iovec dst_single;
	uint32_t crc;
	uint8_t ddgst[NVME_TCP_PDU_DGST_LEN];
	uint32_t ddgst_have;
	struct tcp_req *cur_req;
	/* Send. */
	uint32_t rsp_skipped; /* C2HData SUCCESS in a row since the last CapsuleResp */
	TAILQ_HEAD(, tcp_pdu_out) sendq;
	bool in_send_list;
	bool flushing; /* inside tcp_conn_flush: new PDUs join its loop */
	bool want_pollout;
	bool in_epoll;
	struct tcp_pdu_out icresp_pdu;
	struct tcp_pdu_out term_pdu;
	/* Requests, preallocated: no malloc per command. */
	struct tcp_req *reqs;
	uint32_t num_reqs;
	uint8_t *icd_mem;
	uint32_t icd_size;
	struct tcp_pdu_out *c2h_mem;
	TAILQ_HEAD(, tcp_req) free_reqs;
	uint32_t state_count[TCP_REQ_NUM_STATES];
	/* Teardown. */
	uint64_t icreq_deadline_us; /* 0: none (see icreq_timeout_ms) */
	bool term_wanted;           /* term_pdu holds a C2HTermReq to send before closing */
	uint64_t drain_deadline_us;
	TAILQ_ENTRY(tcp_conn) link;       /* group->conns */
	TAILQ_ENTRY(tcp_conn) send_link;  /* group->send_list */
	TAILQ_ENTRY(tcp_conn) drain_link; /* group->draining */
	TAILQ_ENTRY(tcp_conn) again_link; /* group->recv_again */
};

/*
 * Why a connection ended, counted once per connection on its group. The
 * core's requests (keep-alive timeout, RPC removals, ...) arrive as the
 * qpair's disconnect_reason and are sorted by tcp_end_reason_of_core().
 */
enum tcp_end_reason {
	TCP_END_HOST_CLOSE,         /* orderly close (FIN) by the host */
	TCP_END_HOST_RESET,         /* ECONNRESET / EPIPE: the peer or a middlebox reset it */
	TCP_END_SOCKET_ERROR,       /* any other socket or epoll error */
	TCP_END_H2C_TERM_REQ,       /* the host sent H2CTermReq */
	TCP_END_PROTOCOL_ERROR,     /* we sent C2HTermReq (by FES in c2h_term_sent) */
	TCP_END_KEEP_ALIVE_TIMEOUT, /* the controller's keep-alive timer fired */
	TCP_END_HOST_REMOVED,       /* nvmf_subsystem_remove_host */
	TCP_END_LISTENER_REMOVED,   /* nvmf_subsystem_remove_listener */
	TCP_END_SUBSYSTEM_DELETED,  /* nvmf_delete_subsystem */
	TCP_END_CONTROLLER_GONE,    /* its admin queue went, or a controller reset */
	TCP_END_TARGET_SHUTDOWN,
	TCP_END_FAULT_INJECTED,
	TCP_END_ICREQ_TIMEOUT,   /* no ICReq within icreq_timeout_ms of the accept */
	TCP_END_CONNECT_TIMEOUT, /* no Fabrics Connect within connect_timeout_ms of ICResp */
	TCP_END_REQUESTED,       /* another disconnect the core asked for */
	/* TLS listeners. */
	TCP_END_TLS_CLEAR_TEXT,   /* the host spoke NVMe/TCP in the clear (an ICReq, not TLS) */
	TCP_END_TLS_UNKNOWN_KEY,  /* no PSK for the identity the host offered */
	TCP_END_TLS_KEY_MISMATCH, /* host and target PSKs differ */
	TCP_END_TLS_HANDSHAKE,    /* any other TLS handshake failure */
	TCP_END_NUM_REASONS,
};

struct tcp_group_stats {
	uint64_t conns_current;
	uint64_t conns_total;
	uint64_t pdus_rx;
	uint64_t pdus_tx;
	uint64_t bytes_rx;
	uint64_t bytes_rx_direct; /* read straight into request buffers */
	uint64_t bytes_rx_copied; /* PDU data copied out of the receive buffer */
	uint64_t bytes_tx;
	uint64_t hdgst_errors;
	uint64_t ddgst_errors;
	uint64_t term_sent[8];               /* C2HTermReq by FES (index 0: other) */
	uint64_t term_received;              /* H2CTermReq */
	uint64_t term_received_fes[8];       /* H2CTermReq by FES (index 0: other) */
	uint64_t ended[TCP_END_NUM_REASONS]; /* connections ended, by reason */
	uint64_t reqs_completed;             /* commands answered (response or C2H SUCCESS) */
	uint64_t pending_buf_current;
	uint64_t pending_buf_total;
	uint64_t send_eagain;
	uint64_t sq_overflows;        /* a capsule beyond the queue size (ended the connection) */
	uint64_t tls_handshakes;      /* TLS handshakes completed */
	uint64_t tls_connect_refused; /* Connect naming another host or subsystem than the PSK */
};

struct tcp_group {
	struct unvmf_transport_poll_group base;
	struct tcp_transport *tt;
	int epfd;
	struct unvmf_buf_cache cache;
	TAILQ_HEAD(, tcp_conn) conns;
	TAILQ_HEAD(, tcp_conn) send_list; /* connections with PDUs to write */
	TAILQ_HEAD(, tcp_conn) draining;
	TAILQ_HEAD(, tcp_conn) recv_again;    /* TLS: decrypted bytes wait in the socket */
	TAILQ_HEAD(, tcp_req) pending_buf;    /* NEED_BUFFER, oldest first */
	struct unvmf_poller *deadline_poller; /* ICReq and Connect deadlines */
	struct tcp_group_stats stats;
};

static inline struct tcp_conn *tcp_conn_from_qpair(struct unvmf_qpair *qpair)
{
	return (struct tcp_conn *)((char *)qpair - offsetof(struct tcp_conn, qpair));
}

static inline struct tcp_req *tcp_req_from_core(struct unvmf_req *req)
{
	return (struct tcp_req *)((char *)req - offsetof(struct tcp_req, core));
}

/* The transport's own options, as created (read-only after create). */
static inline const struct unvmf_tcp_opts *tcp_transport_opts(const struct tcp_transport *tt)
{
	return unvmf_tcp_opts_const(&tt->base.opts);
}

/* tcp_opts.c */
void tcp_opts_init(struct unvmf_transport_opts *o);
int tcp_opts_check(const struct unvmf_transport_opts *o);
const struct unvmf_json_param *tcp_opts_accepts(const char *name);
int tcp_opts_decode(struct unvmf_transport_opts *opts, const struct json_t *params, char *err,
                    size_t err_len);
void tcp_opts_dump(const struct unvmf_transport_opts *opts, struct json_t *obj);
void tcp_listener_discover(const struct unvmf_trid *trid, struct nvmf_discovery_log_entry *e);

/* tcp_group.c */
struct unvmf_transport_poll_group *tcp_group_create(struct unvmf_transport *transport,
                                                    struct unvmf_poll_group *group);
void tcp_group_destroy(struct unvmf_transport_poll_group *tgroup);
int tcp_group_poll(struct unvmf_transport_poll_group *tgroup);
int tcp_group_add(struct unvmf_transport_poll_group *tgroup, struct unvmf_qpair *qpair);
void tcp_group_dump_stats(struct unvmf_transport_poll_group *tgroup, void *json_obj);
/* Epoll interest of conn: EPOLLIN always while reading, EPOLLOUT while want_pollout. */
int tcp_group_epoll_update(struct tcp_conn *conn);

/* tcp_conn.c */
/* Takes sock: on failure the caller still owns it. */
struct tcp_conn *tcp_conn_create(struct tcp_transport *tt, struct unvmf_sock *sock,
                                 const struct unvmf_trid *listen_trid);
/* Starts teardown (idempotent). The free happens later, from the group poll. */
void tcp_conn_teardown(struct tcp_conn *conn, enum tcp_end_reason why, const char *reason);
enum tcp_end_reason tcp_end_reason_of_core(const char *reason);
const char *tcp_end_reason_name(enum tcp_end_reason why);
/* Protocol error: C2HTermReq with fes/fei and the bad header, then teardown. */
void tcp_conn_terminate(struct tcp_conn *conn, uint16_t fes, uint32_t fei, const void *bad_hdr,
                        uint32_t bad_len);
/* Frees conn if its drain is over; true when it was freed. */
bool tcp_conn_try_free(struct tcp_conn *conn);
void tcp_conn_qpair_disconnect(struct unvmf_qpair *qpair);
/* Requests allowed outstanding: sq_size once connected, every request before. */
uint32_t tcp_conn_depth(const struct tcp_conn *conn);
/* Whether the next successful read may end with C2HData SUCCESS instead of a CapsuleResp. */
bool tcp_conn_sqhd_may_skip(const struct tcp_conn *conn);

/* tcp_check.c */
/* Debug invariants of group and its connections (see the file); 0 or -EFAULT, logged. */
int tcp_group_check(const struct tcp_group *group);

/* tcp_tls.c */
/* Makes an accepted socket of a secure listener a TLS server; 0 or -errno (sock untouched). */
int tcp_tls_accept(struct unvmf_sock **sock);
/* Advances the server handshake of conn; > 0 if it did work. Ends conn on failure. */
int tcp_conn_handshake(struct tcp_conn *conn);
/*
 * Whether a Fabrics Connect of req names another host or subsystem than the
 * PSK identity of conn's TLS handshake; if so it was failed (Invalid Host).
 */
bool tcp_tls_connect_refused(struct tcp_req *req);
/* Queues conn for another receive when its socket holds bytes no epoll event announces. */
void tcp_conn_recv_again_check(struct tcp_conn *conn);
void tcp_conn_recv_again_cancel(struct tcp_conn *conn);

/* tcp_recv.c */
/* Reads and processes what the socket has; > 0 if it did work. */
int tcp_conn_recv(struct tcp_conn *conn);

/* tcp_send.c */
void tcp_conn_queue_pdu(struct tcp_conn *conn, struct tcp_pdu_out *pdu);
/* Writes as much of the send queue as the socket takes; < 0 on a socket error. */
int tcp_conn_flush(struct tcp_conn *conn);
/* Drops every queued PDU (teardown); false if one was half written. */
bool tcp_conn_sendq_drop(struct tcp_conn *conn);

/* tcp_req.c */
const char *tcp_req_state_str(enum tcp_req_state state);
/* The list a request in state belongs on. */
enum tcp_req_queue tcp_req_queue_for_state(enum tcp_req_state state);
void tcp_req_set_state(struct tcp_req *req, enum tcp_req_state state);
/* A CapsuleCmd header arrived: takes a free request. NULL when none is free. */
struct tcp_req *tcp_req_get(struct tcp_conn *conn);
/* The capsule (and its in-capsule data) is whole: run the request forward. */
void tcp_req_capsule_done(struct tcp_req *req);
/* An H2CData PDU's data is in: next R2T, or execute when all data is here. */
void tcp_req_h2c_done(struct tcp_req *req);
/* Buffers became available (group FIFO): continue a NEED_BUFFER request. Returns -ENOMEM if still
 * none. */
int tcp_req_retry_buffers(struct tcp_req *req);
/* ops->req_complete. */
void tcp_req_complete(struct unvmf_req *ureq);
/* pdu of req is fully written. */
void tcp_req_pdu_sent(struct tcp_req *req, struct tcp_pdu_out *pdu);
/* Teardown: releases req unless the core owns it (EXECUTING). */
void tcp_req_drain(struct tcp_req *req);
/* ops->qpair_abort_request: withdraws a command still waiting for buffers. */
int tcp_conn_abort_request(struct unvmf_qpair *qpair, uint16_t cid);
int tcp_conn_inject_fault(struct unvmf_qpair *qpair, const char *kind);
