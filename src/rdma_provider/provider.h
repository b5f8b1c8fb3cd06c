#pragma once
/*
 * The RDMA provider seam: a small, verbs-shaped interface that the NVMe/RDMA
 * transport (target) and the RDMA host library are written against, with two
 * implementations chosen by name:
 *
 *   "verbs"  libibverbs + librdmacm (real HCAs, Soft-RoCE)      provider_verbs.c
 *   "sim"    in-process RC fabric, deterministic, with faults    provider_sim*.c
 *
 * The code above the seam is identical on both.
 *
 * Handles are opaque. Every call returns 0 / a count >= 0, or a negative errno.
 *
 * Threading. A provider context (rdma_prov_ctx) and everything created from
 * it (channels, ids, devices' PDs/CQs/SRQs/QPs/MRs) is used by ONE thread at a
 * time; the provider takes no locks. The transport may hand a QP/CQ to a poll
 * group thread as long as the context is never used concurrently from two
 * threads (verbs itself would allow more; sim does not, and sim is the one we
 * test against). For sim, the whole fabric (all nodes, both ends) is one
 * thread's.
 *
 * Ownership.
 *  - A CONNECT_REQUEST event hands the receiver a new id; the receiver owns
 *    it and must destroy it (after reject, after a failed accept, or at the
 *    end of the connection).
 *  - A QP is created on an id (qp_create) and is owned by the caller. The
 *    provider never moves it to ERR behind the caller's back on CM events
 *    (see "Passive-side QPs" below): on DISCONNECTED, REJECTED,
 *    DEVICE_REMOVAL or an error completion the caller does qp_modify_err,
 *    reaps every flush completion, then qp_destroy, then id_destroy.
 *    qp_destroy must precede id_destroy of its id (-EBUSY otherwise).
 *  - CQs, SRQs, MRs, PDs: created and destroyed by the caller; destroy in
 *    reverse order of dependence (QPs before their CQs/SRQ, MRs before PD).
 *    Destroying something still in use returns -EBUSY and changes nothing.
 *
 * When a work request is "held by the NIC". From a successful post until
 * its completion has been POLLED from the CQ (or, for an unsignaled send WR
 * that completed successfully, until a later completion of the same send
 * queue has been polled) the NIC owns the WR and everything it names: its
 * buffers, the request behind wr_id. A WR that completes in error or is
 * flushed ALWAYS produces a completion, signaled or not. A QP in ERR flushes
 * every send WR not yet executed and every receive posted on the QP's own
 * receive queue; receives posted to an SRQ are not flushed (they stay on the
 * SRQ), and a QP attached to an SRQ reports LAST_WQE_REACHED when it enters
 * ERR. Posting to a QP in ERR succeeds and the WR completes with
 * WR_FLUSH_ERR (verbs behaviour on mlx5/rxe), so the transport's "every post
 * is answered by exactly one completion (if signaled or failed)" rule holds.
 *
 * Work completions. wr_id, status and qp_num are always valid. opcode,
 * byte_len, flags and invalidated_rkey are valid only when status is
 * SUCCESS (verbs leaves them undefined otherwise; sim sets opcode to
 * RDMA_PROV_WC_UNKNOWN on errors so that code relying on it fails in tests).
 *
 * CM events are copied out (private data included) and acknowledged inside
 * cm_get_event: there is no separate ack, nothing to free, and id_destroy can
 * never block on an unacknowledged event.
 *
 * Passive-side QPs (docs vm-rig.md section 9). On the passive side qp_create
 * makes the QP itself on the id's device (not rdma_create_qp), moves it
 * INIT -> RTR -> RTS from rdma_init_qp_attr, and at RTR -> RTS sets
 * retry_cnt, timeout and rnr_retry from rdma_prov_qp_init: that is the only
 * way to get finite retries (WC status RETRY_EXC_ERR / RNR_RETRY_EXC_ERR) on
 * Soft-RoCE. max_rd_atomic / max_dest_rd_atomic are clamped to the REQ's
 * initiator_depth / responder_resources and the device limits. cm_accept
 * then names the QP by number. RDMA CM does not know the QP: it never moves
 * it to ERR, hence the ownership rule above.
 * Active-side QPs are attached to the id (rdma_create_qp): RDMA CM moves them
 * to RTS when the REP arrives, and their retry_cnt / rnr_retry come from
 * cm_connect's conn param (the REQ); the ack timeout comes from qp_init.
 * On cm_disconnect RDMA CM moves an attached QP to ERR; callers must not rely
 * on that (sim models it too).
 *
 * Pollable fds: the CM channel, each device's async events and each CQ (if
 * created with a completion fd) expose an fd that becomes readable when
 * there may be something to get; the get/poll calls are non-blocking and
 * return -EAGAIN / 0 when there is nothing. Register the fds as reactor wake
 * fds; always drain until empty after a wake-up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rdma_prov_ctx;
struct rdma_prov_channel;
struct rdma_prov_id;
struct rdma_prov_device;
struct rdma_prov_pd;
struct rdma_prov_mr;
struct rdma_prov_cq;
struct rdma_prov_srq;
struct rdma_prov_qp;

/* ibv_wc_status numbering (provider_verbs.c static_asserts it). */
enum rdma_prov_wc_status {
	RDMA_PROV_WC_SUCCESS = 0,
	RDMA_PROV_WC_LOC_LEN_ERR = 1,
	RDMA_PROV_WC_LOC_QP_OP_ERR = 2,
	RDMA_PROV_WC_LOC_EEC_OP_ERR = 3,
	RDMA_PROV_WC_LOC_PROT_ERR = 4,
	RDMA_PROV_WC_WR_FLUSH_ERR = 5,
	RDMA_PROV_WC_MW_BIND_ERR = 6,
	RDMA_PROV_WC_BAD_RESP_ERR = 7,
	RDMA_PROV_WC_LOC_ACCESS_ERR = 8,
	RDMA_PROV_WC_REM_INV_REQ_ERR = 9,
	RDMA_PROV_WC_REM_ACCESS_ERR = 10,
	RDMA_PROV_WC_REM_OP_ERR = 11,
	RDMA_PROV_WC_RETRY_EXC_ERR = 12,
	RDMA_PROV_WC_RNR_RETRY_EXC_ERR = 13,
	RDMA_PROV_WC_LOC_RDD_VIOL_ERR = 14,
	RDMA_PROV_WC_REM_INV_RD_REQ_ERR = 15,
	RDMA_PROV_WC_REM_ABORT_ERR = 16,
	RDMA_PROV_WC_INV_EECN_ERR = 17,
	RDMA_PROV_WC_INV_EEC_STATE_ERR = 18,
	RDMA_PROV_WC_FATAL_ERR = 19,
	RDMA_PROV_WC_RESP_TIMEOUT_ERR = 20,
	RDMA_PROV_WC_GENERAL_ERR = 21,
	RDMA_PROV_WC_STATUS_COUNT
};
/* "RETRY_EXC_ERR" etc.; "UNKNOWN" for values outside the enum. */
const char *rdma_prov_wc_status_name(enum rdma_prov_wc_status status);

enum rdma_prov_wc_opcode {
	RDMA_PROV_WC_SEND,
	RDMA_PROV_WC_RDMA_WRITE,
	RDMA_PROV_WC_RDMA_READ,
	RDMA_PROV_WC_RECV,
	RDMA_PROV_WC_UNKNOWN,	/* error completions (see the header comment) */
};

#define RDMA_PROV_WC_FLAG_WITH_INV (1u << 0)	/* RECV of a SEND_WITH_INV: invalidated_rkey set */

struct rdma_prov_wc {
	uint64_t wr_id;
	enum rdma_prov_wc_status status;
	enum rdma_prov_wc_opcode opcode;
	uint32_t byte_len;		/* RECV: bytes received; RDMA_READ: bytes read */
	uint32_t qp_num;
	uint32_t flags;			/* RDMA_PROV_WC_FLAG_* */
	uint32_t invalidated_rkey;
	uint32_t vendor_err;
};

/* Layout-identical to struct ibv_sge (static_asserted in provider_verbs.c). */
struct rdma_prov_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};

enum rdma_prov_wr_opcode {
	RDMA_PROV_WR_SEND,
	RDMA_PROV_WR_SEND_WITH_INV,
	RDMA_PROV_WR_RDMA_WRITE,
	RDMA_PROV_WR_RDMA_READ,
	RDMA_PROV_WR_RECV,	/* only for fault matching / outstanding-WR reports */
	RDMA_PROV_WR_ANY,	/* only for fault matching */
};
const char *rdma_prov_wr_opcode_name(enum rdma_prov_wr_opcode opcode);

/* Chains are NULL-terminated through next; the caller owns the WR structs (copied at post). */
struct rdma_prov_send_wr {
	struct rdma_prov_send_wr *next;
	uint64_t wr_id;
	enum rdma_prov_wr_opcode opcode;
	struct rdma_prov_sge *sg_list;
	uint32_t num_sge;
	bool signaled;
	uint64_t remote_addr;		/* RDMA_WRITE / RDMA_READ */
	uint32_t rkey;			/* RDMA_WRITE / RDMA_READ */
	uint32_t invalidate_rkey;	/* SEND_WITH_INV: the peer's rkey to invalidate */
};

struct rdma_prov_recv_wr {
	struct rdma_prov_recv_wr *next;
	uint64_t wr_id;
	struct rdma_prov_sge *sg_list;
	uint32_t num_sge;
};

/* ibv_qp_state numbering: "ibv_state 6" in logs is ERR. */
enum rdma_prov_qp_state {
	RDMA_PROV_QPS_RESET = 0,
	RDMA_PROV_QPS_INIT = 1,
	RDMA_PROV_QPS_RTR = 2,
	RDMA_PROV_QPS_RTS = 3,
	RDMA_PROV_QPS_SQD = 4,
	RDMA_PROV_QPS_SQE = 5,
	RDMA_PROV_QPS_ERR = 6,
};
const char *rdma_prov_qp_state_name(enum rdma_prov_qp_state state);

/* MR access flags. Local read is always allowed. */
#define RDMA_PROV_ACCESS_LOCAL_WRITE (1u << 0)
#define RDMA_PROV_ACCESS_REMOTE_WRITE (1u << 1)
#define RDMA_PROV_ACCESS_REMOTE_READ (1u << 2)

struct rdma_prov_qp_init {
	struct rdma_prov_pd *pd;
	struct rdma_prov_cq *send_cq;
	struct rdma_prov_cq *recv_cq;
	struct rdma_prov_srq *srq;	/* NULL: the QP has its own receive queue */
	uint32_t max_send_wr;
	uint32_t max_recv_wr;		/* ignored with an SRQ */
	uint32_t max_send_sge;
	uint32_t max_recv_sge;
	/* 0 = as many as the REQ (passive) and the device allow; else clamped to those. */
	uint8_t max_rd_atomic;		/* RDMA READs we may have outstanding */
	uint8_t max_dest_rd_atomic;	/* RDMA READs the peer may have outstanding */
	/* Passive side only (set at RTR->RTS); 7 = forever on Soft-RoCE and in sim. */
	uint8_t retry_cnt;
	uint8_t rnr_retry;
	/* Both sides: 4.096 us << timeout per try; 0 = provider default. */
	uint8_t timeout;
	void *user_ctx;			/* returned by rdma_prov_qp_get_ctx and in async events */
};

#define RDMA_PROV_PRIVATE_DATA_MAX 196

struct rdma_prov_conn_param {
	uint8_t private_data[RDMA_PROV_PRIVATE_DATA_MAX];
	uint8_t private_data_len;
	uint8_t responder_resources;
	uint8_t initiator_depth;
	uint8_t retry_count;		/* connect: our QP's retry_cnt and the REQ's */
	uint8_t rnr_retry_count;	/* connect: our QP's rnr_retry; accept: the peer's (REP) */
	bool srq;
	uint32_t qp_num;		/* filled by the provider */
};

enum rdma_prov_cm_event_type {
	RDMA_PROV_CM_EVENT_ROUTE_RESOLVED,	/* active: create PD/CQ/QP on id's device, then connect */
	RDMA_PROV_CM_EVENT_ADDR_ERROR,
	RDMA_PROV_CM_EVENT_ROUTE_ERROR,
	RDMA_PROV_CM_EVENT_CONNECT_REQUEST,	/* passive: id is new and the receiver's */
	RDMA_PROV_CM_EVENT_CONNECT_ERROR,
	RDMA_PROV_CM_EVENT_UNREACHABLE,
	RDMA_PROV_CM_EVENT_REJECTED,		/* status: IB CM reject reason (28 = consumer) */
	RDMA_PROV_CM_EVENT_ESTABLISHED,		/* active: param carries the REP private data */
	RDMA_PROV_CM_EVENT_DISCONNECTED,
	RDMA_PROV_CM_EVENT_DEVICE_REMOVAL,
	RDMA_PROV_CM_EVENT_ADDR_CHANGE,
	RDMA_PROV_CM_EVENT_TIMEWAIT_EXIT,
	RDMA_PROV_CM_EVENT_OTHER,		/* anything else librdmacm reports */
};
const char *rdma_prov_cm_event_name(enum rdma_prov_cm_event_type type);

struct rdma_prov_cm_event {
	enum rdma_prov_cm_event_type type;
	struct rdma_prov_id *id;
	struct rdma_prov_id *listen_id;		/* CONNECT_REQUEST only */
	int status;
	struct rdma_prov_conn_param param;	/* CONNECT_REQUEST, ESTABLISHED, REJECTED */
};

enum rdma_prov_async_event_type {
	RDMA_PROV_ASYNC_QP_FATAL,
	RDMA_PROV_ASYNC_QP_REQ_ERR,
	RDMA_PROV_ASYNC_QP_ACCESS_ERR,
	RDMA_PROV_ASYNC_COMM_EST,
	RDMA_PROV_ASYNC_QP_LAST_WQE_REACHED,
	RDMA_PROV_ASYNC_SQ_DRAINED,
	RDMA_PROV_ASYNC_CQ_ERR,
	RDMA_PROV_ASYNC_SRQ_ERR,
	RDMA_PROV_ASYNC_SRQ_LIMIT_REACHED,
	RDMA_PROV_ASYNC_PORT_ACTIVE,
	RDMA_PROV_ASYNC_PORT_ERR,
	RDMA_PROV_ASYNC_DEVICE_FATAL,
	RDMA_PROV_ASYNC_OTHER,
};
const char *rdma_prov_async_event_name(enum rdma_prov_async_event_type type);

struct rdma_prov_async_event {
	enum rdma_prov_async_event_type type;
	struct rdma_prov_qp *qp;	/* QP events */
	void *qp_ctx;			/* that QP's user_ctx */
	struct rdma_prov_srq *srq;	/* SRQ events */
	struct rdma_prov_cq *cq;	/* CQ events */
	uint32_t port_num;		/* port events */
};

struct rdma_prov_device_attr {
	char name[64];
	uint32_t max_qp_wr;
	uint32_t max_sge;
	uint32_t max_cqe;
	uint32_t max_srq_wr;
	uint8_t max_qp_rd_atom;
	uint8_t max_qp_init_rd_atom;
};

/*
 * The ops table: the transport keeps `const struct rdma_provider *prov` and
 * calls prov->qp_post_send(...). Objects of one provider are never passed to
 * another's ops.
 */
struct rdma_provider {
	const char *name;

	/* arg: verbs ignores it; sim takes the struct rdma_sim_node * to act as. */
	int (*ctx_open)(void *arg, struct rdma_prov_ctx **out);
	/* Every object created from ctx must be gone (-EBUSY otherwise). */
	int (*ctx_close)(struct rdma_prov_ctx *ctx);
	/* Devices present now (may be 0). Handles live as long as ctx. */
	int (*ctx_get_devices)(struct rdma_prov_ctx *ctx, struct rdma_prov_device **devs,
			       uint32_t max);

	/* --- CM --- */
	int (*channel_create)(struct rdma_prov_ctx *ctx, struct rdma_prov_channel **out);
	int (*channel_destroy)(struct rdma_prov_channel *ch);	/* -EBUSY while ids remain */
	int (*channel_fd)(struct rdma_prov_channel *ch);
	/* Non-blocking: 0 with *ev filled, -EAGAIN when empty. */
	int (*cm_get_event)(struct rdma_prov_channel *ch, struct rdma_prov_cm_event *ev);

	/* Passive: bind addr:port and listen; -ENODEV if no RDMA device has addr. */
	int (*cm_listen)(struct rdma_prov_channel *ch, const char *addr, uint16_t port,
			 int backlog, void *id_ctx, struct rdma_prov_id **out);
	/* Active: resolve addr then route; ROUTE_RESOLVED or ADDR/ROUTE_ERROR follows. */
	int (*cm_resolve)(struct rdma_prov_channel *ch, const char *src_addr, const char *dst_addr,
			  uint16_t port, int timeout_ms, void *id_ctx, struct rdma_prov_id **out);
	/* Active, after qp_create on id: ESTABLISHED / REJECTED / UNREACHABLE / CONNECT_ERROR. */
	int (*cm_connect)(struct rdma_prov_id *id, const struct rdma_prov_conn_param *param);
	/* Passive, qp from qp_create on this id: ESTABLISHED or CONNECT_ERROR follows. */
	int (*cm_accept)(struct rdma_prov_id *id, struct rdma_prov_qp *qp,
			 const struct rdma_prov_conn_param *param);
	int (*cm_reject)(struct rdma_prov_id *id, const void *private_data, uint8_t len);
	/* DISCONNECTED (then TIMEWAIT_EXIT) follows on both sides; idempotent. */
	int (*cm_disconnect)(struct rdma_prov_id *id);
	int (*id_destroy)(struct rdma_prov_id *id);	/* -EBUSY while it has a QP */
	void (*id_set_ctx)(struct rdma_prov_id *id, void *id_ctx);
	void *(*id_get_ctx)(struct rdma_prov_id *id);
	/* The device the id is bound to (NULL before ROUTE_RESOLVED / for a wildcard listen). */
	struct rdma_prov_device *(*id_get_device)(struct rdma_prov_id *id);

	/* --- device --- */
	int (*device_query)(struct rdma_prov_device *dev, struct rdma_prov_device_attr *attr);
	int (*device_async_fd)(struct rdma_prov_device *dev);
	/* Non-blocking: 0 with *ev filled, -EAGAIN when empty. */
	int (*device_get_async_event)(struct rdma_prov_device *dev,
				      struct rdma_prov_async_event *ev);

	int (*pd_alloc)(struct rdma_prov_device *dev, struct rdma_prov_pd **out);
	int (*pd_free)(struct rdma_prov_pd *pd);
	int (*mr_reg)(struct rdma_prov_pd *pd, void *addr, size_t len, uint32_t access,
		      struct rdma_prov_mr **out);
	int (*mr_dereg)(struct rdma_prov_mr *mr);
	uint32_t (*mr_lkey)(const struct rdma_prov_mr *mr);
	uint32_t (*mr_rkey)(const struct rdma_prov_mr *mr);

	/* with_fd: create a completion fd; arm it with cq_arm after draining. */
	int (*cq_create)(struct rdma_prov_device *dev, uint32_t cqe, bool with_fd,
			 struct rdma_prov_cq **out);
	int (*cq_destroy)(struct rdma_prov_cq *cq);
	/* Up to max completions into wc; returns how many (0 = none). */
	int (*cq_poll)(struct rdma_prov_cq *cq, struct rdma_prov_wc *wc, int max);
	int (*cq_fd)(struct rdma_prov_cq *cq);	/* -1 without with_fd */
	/* Consume pending fd notifications and re-arm; then poll until empty. */
	int (*cq_arm)(struct rdma_prov_cq *cq);

	int (*srq_create)(struct rdma_prov_pd *pd, uint32_t max_wr, uint32_t max_sge,
			  struct rdma_prov_srq **out);
	int (*srq_destroy)(struct rdma_prov_srq *srq);
	int (*srq_post_recv)(struct rdma_prov_srq *srq, struct rdma_prov_recv_wr *wr,
			     struct rdma_prov_recv_wr **bad_wr);

	int (*qp_create)(struct rdma_prov_id *id, const struct rdma_prov_qp_init *init,
			 struct rdma_prov_qp **out);
	int (*qp_destroy)(struct rdma_prov_qp *qp);
	/* On error *bad_wr names the first WR not posted; the ones before it were. */
	int (*qp_post_send)(struct rdma_prov_qp *qp, struct rdma_prov_send_wr *wr,
			    struct rdma_prov_send_wr **bad_wr);
	int (*qp_post_recv)(struct rdma_prov_qp *qp, struct rdma_prov_recv_wr *wr,
			    struct rdma_prov_recv_wr **bad_wr);
	int (*qp_modify_err)(struct rdma_prov_qp *qp);
	int (*qp_query_state)(struct rdma_prov_qp *qp, enum rdma_prov_qp_state *state);
	uint32_t (*qp_num)(const struct rdma_prov_qp *qp);
	void *(*qp_get_ctx)(const struct rdma_prov_qp *qp);
};

/* "verbs" or "sim"; NULL for anything else. */
const struct rdma_provider *rdma_provider_get(const char *name);

/* ===================================================================== */
/* sim: the in-process fabric                                             */
/* ===================================================================== */
/*
 * A fabric holds nodes; a node has one device and an address string
 * ("sim:1"). ctx_open(node) gives a provider context acting as that node;
 * target and host are two contexts on two nodes of one fabric, in one thread.
 *
 * Progress is explicit: nothing moves until rdma_sim_fabric_step(), which
 * advances the clock by one step and does everything due by then: CM
 * deliveries, WR executions (each QP's send queue in order, QPs visited in a
 * seeded order), completions landing in CQs, retries. post_*, cq_poll and
 * cm_get_event never progress the fabric. Same seed + same sequence of
 * calls => same completions, same events, same order.
 *
 * Times (steps): a WR posted at step t becomes eligible at t + 1 + d with d
 * seeded in [0, exec_delay_max], never before the previous WR of its queue;
 * its completion lands in the CQ e steps after execution, e seeded in
 * [0, cqe_delay_max], never before the previous completion of the same queue
 * (RC order per queue; different QPs interleave freely).
 *
 * Modelled:
 *  - SEND -> next receive of the peer's RQ or SRQ (SRQ receives are consumed
 *    in posting order by whichever attached QP needs one). No receive: RNR
 *    NAK, retried every rnr_delay steps; after rnr_retry retries the sender
 *    gets RNR_RETRY_EXC_ERR (rnr_retry 7 = forever).
 *  - SEND longer than the receive's buffers: the receive completes
 *    LOC_LEN_ERR and the receiving QP goes to ERR; the sender gets
 *    REM_INV_REQ_ERR and goes to ERR.
 *  - RDMA READ/WRITE against the peer's MRs: rkey exists, not invalidated,
 *    same PD as the peer QP, access flag, bounds. A violation gives the
 *    requester REM_ACCESS_ERR and the responder QP_ACCESS_ERR (async), both
 *    QPs to ERR. Local SGEs: lkey of an MR of the QP's PD, bounds, and
 *    LOCAL_WRITE where written (RECV, READ) -> LOC_PROT_ERR.
 *  - SEND_WITH_INV invalidates the rkey on the receiver (any MR of the
 *    receiving QP's PD; a real HCA only invalidates fast-reg MRs/MWs); the
 *    receive completion carries WITH_INV + the rkey. Unknown rkey: sender
 *    REM_INV_REQ_ERR, receiver QP_REQ_ERR (async), both to ERR.
 *  - A peer that does not answer (node vanished, QP in ERR/RESET/destroyed,
 *    not yet RTR): the requester retries every ack timeout (see step_us;
 *    else timeout_steps); after
 *    retry_cnt retries the WR completes RETRY_EXC_ERR (retry_cnt 7 =
 *    forever, as on Soft-RoCE). A QP that goes to ERR does not tell its
 *    peer; the peer errors only when it next sends (or never, with 7).
 *  - ERR: flush (see the contract above); error and flush completions are
 *    generated for unsignaled WRs too. Errors come only from the fabric or
 *    faults, never from CQ overflow: an overflowing CQ raises CQ_ERR (async)
 *    and the completion is dropped.
 *  - CM: resolve (ADDR_ERROR if the node is unknown or vanished), connect
 *    (REJECTED status 8 with no listener, UNREACHABLE if the node vanished or
 *    the backlog is full), CONNECT_REQUEST with all REQ fields, accept
 *    (ESTABLISHED on both, REP private data to the active side), reject
 *    (REJECTED status 28 with private data), disconnect (DISCONNECTED on both,
 *    TIMEWAIT_EXIT timewait_steps later), passive COMM_EST when a SEND
 *    arrives before its ESTABLISHED.
 *  - RDMA READ depth: a QP executes a READ only while fewer than
 *    max_rd_atomic of its READs await their response (executed, completion
 *    not landed yet); further READs wait in order, as on a real HCA.
 *  - Async QP events on demand (rdma_sim_inject_async): QP_FATAL stops the
 *    QP (nothing executes or answers, no completion) until its owner moves it
 *    to ERR, which then flushes everything; QP_REQ_ERR / QP_ACCESS_ERR move it
 *    to ERR at once.
 * Not modelled: inline data, immediate data, atomics, MWs / fast-reg, SQD,
 * CM timeouts other than those above, multiple devices per node, ports,
 * partial packets (a WR executes atomically in one step).
 */
struct rdma_sim_fabric;
struct rdma_sim_node;

struct rdma_sim_fabric_opts {
	uint64_t seed;
	uint32_t exec_delay_max;	/* steps; 0 = next step */
	uint32_t cqe_delay_max;
	uint32_t cm_delay_max;
	uint32_t rnr_delay;		/* steps between RNR retries (>= 1) */
	uint32_t timeout_steps;		/* steps per transport retry (>= 1) */
	/*
	 * Virtual microseconds one step stands for. When set, a QP with an ack
	 * timeout t > 0 waits 4.096 us x 2^t per transport retry (IB's local ACK
	 * timeout), rounded up to whole steps; 0, or t == 0, = timeout_steps.
	 */
	uint32_t step_us;
	uint32_t timewait_steps;
	uint32_t connect_timeout_steps;	/* UNREACHABLE / CONNECT_ERROR after this */
	/*
	 * Late data (provider_sim_data.c): an executed READ/WRITE moves its bytes
	 * up to late_data_max steps later (0 = at execution), retransmit_pct of
	 * them once more at their completion; always before the completion lands,
	 * a WRITE's before the next WR of its QP executes.
	 */
	uint32_t late_data_max;
	uint32_t retransmit_pct;
	/*
	 * Posting a WR that writes memory another WR the NIC holds names (or that
	 * reads memory another held WR writes), in the same PD, is recorded as a
	 * violation (rdma_sim_fabric_violation).
	 */
	bool strict_ownership;
};
void rdma_sim_fabric_opts_init(struct rdma_sim_fabric_opts *opts);

int rdma_sim_fabric_create(const struct rdma_sim_fabric_opts *opts, struct rdma_sim_fabric **out);
/*
 * Frees the fabric and anything still alive in it. Returns the number of
 * objects (contexts, channels, ids, PDs, MRs, CQs, SRQs, QPs) that were
 * still alive: 0 means the users cleaned up after themselves.
 */
int rdma_sim_fabric_destroy(struct rdma_sim_fabric *fabric);
int rdma_sim_node_create(struct rdma_sim_fabric *fabric, const char *addr,
			 struct rdma_sim_node **out);

/* One step; returns how many things happened (0 = idle this step). */
int rdma_sim_fabric_step(struct rdma_sim_fabric *fabric);
/* Steps until nothing is scheduled or max_steps; returns steps taken. */
uint64_t rdma_sim_fabric_run_until_idle(struct rdma_sim_fabric *fabric, uint64_t max_steps);
uint64_t rdma_sim_fabric_now(const struct rdma_sim_fabric *fabric);
bool rdma_sim_fabric_idle(const struct rdma_sim_fabric *fabric);
/* Change delays on a live fabric (reorder/delay campaigns). */
void rdma_sim_fabric_set_delays(struct rdma_sim_fabric *fabric, uint32_t exec_delay_max,
				uint32_t cqe_delay_max);

struct rdma_sim_counts {
	uint32_t ctxs, channels, ids, pds, mrs, cqs, srqs, qps;
};
void rdma_sim_fabric_counts(const struct rdma_sim_fabric *fabric, struct rdma_sim_counts *out);
uint32_t rdma_sim_counts_total(const struct rdma_sim_counts *c);
/* strict_ownership: the first violation seen, or NULL. */
const char *rdma_sim_fabric_violation(const struct rdma_sim_fabric *fabric);
/*
 * A faulty NIC: the next send-queue completion of qp lands in its CQ twice
 * (same wr_id), the way a late duplicate would reach the slot's next user.
 */
int rdma_sim_dup_next_cqe(struct rdma_prov_qp *qp);

/*
 * The sim serializes every provider op and every rdma_sim_* call with one
 * process-wide recursive lock, so a target on reactor threads and a host on
 * another thread can share a fabric. Take it to make several calls atomic
 * (e.g. step, then inspect).
 */
void rdma_sim_lock(void);
void rdma_sim_unlock(void);

/* --- fault injection --- */
enum rdma_sim_fault_kind {
	RDMA_SIM_FAULT_QP_ERR_BEFORE,	/* QP to ERR just before the matching WR executes */
	RDMA_SIM_FAULT_QP_ERR_AFTER,	/* ... just after it completed successfully */
	RDMA_SIM_FAULT_FAIL_WR,		/* the matching WR completes with status; QP to ERR */
	RDMA_SIM_FAULT_POST_FAIL,	/* post_send refuses the matching send WR with -ENOMEM */
};

struct rdma_sim_fault {
	enum rdma_sim_fault_kind kind;
	uint32_t qp_num;		/* 0: any QP */
	/*
	 * SEND..RDMA_READ match send WRs when they execute (POST_FAIL: when
	 * they are posted), RECV matches receives when a SEND consumes them,
	 * ANY matches both.
	 */
	enum rdma_prov_wr_opcode opcode;
	uint32_t nth;			/* 1-based count of matches since armed; 0 = use wr_match */
	bool (*wr_match)(uint64_t wr_id, void *arg);
	void *match_arg;
	enum rdma_prov_wc_status status;	/* FAIL_WR */
};
/* Arms a one-shot fault; returns its id (> 0) or -errno. */
int rdma_sim_fault_add(struct rdma_sim_fabric *fabric, const struct rdma_sim_fault *fault);
/* Whether the fault fired yet (-ENOENT for an unknown id). */
int rdma_sim_fault_fired(const struct rdma_sim_fabric *fabric, int fault_id);

/*
 * Raises an async event on qp as a real HCA would: QP_FATAL (the QP stops
 * until moved to ERR), QP_REQ_ERR or QP_ACCESS_ERR (the QP goes to ERR now).
 * -EINVAL for other types, -EALREADY when the QP is in ERR already.
 */
int rdma_sim_inject_async(struct rdma_prov_qp *qp, enum rdma_prov_async_event_type type);
/*
 * The oldest send WR of qp whose completion has not landed yet completes with
 * status instead (as when its ACK never came back: RC is in order, so the
 * ones after it flush) and the QP goes to ERR; its completion lands at the
 * next step. -ENOENT when no send WR of qp is in flight.
 */
int rdma_sim_fail_inflight(struct rdma_prov_qp *qp, enum rdma_prov_wc_status status);
/* DISCONNECTED to this id now (peer unaware), or to both sides. */
int rdma_sim_inject_disconnect(struct rdma_prov_id *id, bool both);
/* The node stops (false) or resumes (true) answering and executing anything. */
void rdma_sim_node_set_alive(struct rdma_sim_node *node, bool alive);
/* Device failure: every QP of the node to ERR, DEVICE_FATAL, DEVICE_REMOVAL on its ids. */
void rdma_sim_node_fail_device(struct rdma_sim_node *node);

/* --- inspection --- */
enum rdma_sim_wr_where {
	RDMA_SIM_WR_POSTED,		/* not executed / not consumed yet */
	RDMA_SIM_WR_DONE,		/* executed, completion not in the CQ yet */
	RDMA_SIM_WR_IN_CQ,		/* completion in the CQ, not polled */
	RDMA_SIM_WR_UNSIGNALED_DONE,	/* executed OK without completion; slot held */
};
struct rdma_sim_wr_info {
	uint64_t wr_id;
	enum rdma_prov_wr_opcode opcode;	/* RECV for receive-queue entries */
	enum rdma_sim_wr_where where;
};
/*
 * WRs of this QP the NIC still holds (send queue, own receive queue, and SRQ
 * receives this QP consumed whose completion is not polled), oldest first
 * per queue, send queue first. Fills up to max; returns the total count.
 * UNSIGNALED_DONE entries are reported but not counted in the return value.
 */
int rdma_sim_qp_outstanding(struct rdma_prov_qp *qp, struct rdma_sim_wr_info *out, int max);
/* Receives still posted on the SRQ. */
int rdma_sim_srq_outstanding(struct rdma_prov_srq *srq, uint64_t *wr_ids, int max);
struct rdma_prov_qp *rdma_sim_qp_by_num(struct rdma_sim_fabric *fabric, uint32_t qp_num);
/* The QP on the other end, if connected and alive. */
struct rdma_prov_qp *rdma_sim_qp_peer(struct rdma_prov_qp *qp);
struct rdma_sim_fabric *rdma_sim_qp_fabric(struct rdma_prov_qp *qp);
