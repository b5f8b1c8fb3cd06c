#pragma once
/*
 * The NVMe/RDMA request state machine (docs/RDMA-STATE-MACHINE.md). This
 * file knows states, queues and WR counts; posting WRs, buffers and the core
 * are reached through struct rdma_req_env so that the state machine can be
 * unit-tested and model-checked on its own.
 *
 * Owner: the qpair's poll-group thread. Nothing here locks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "nvmf/nvmf.h"

enum rdma_req_state {
	RDMA_REQ_FREE,
	RDMA_REQ_NEW,
	RDMA_REQ_NEED_BUFFER,
	RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING,
	RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER,
	RDMA_REQ_READY_TO_EXECUTE,
	RDMA_REQ_EXECUTING,
	RDMA_REQ_EXECUTED,
	RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING,
	RDMA_REQ_READY_TO_COMPLETE,
	RDMA_REQ_COMPLETING,
	RDMA_REQ_COMPLETED,
	RDMA_REQ_NUM_STATES,
};

enum rdma_queue_kind {
	RDMA_QUEUE_NONE,
	RDMA_QUEUE_FREE,
	RDMA_QUEUE_PENDING_BUFFER,
	RDMA_QUEUE_PENDING_READ,
	RDMA_QUEUE_PENDING_SEND,
	RDMA_QUEUE_NUM,
};

/* What a request's WRs are, for per-kind counts. */
enum rdma_wr_kind {
	RDMA_WR_READ,
	RDMA_WR_WRITE,
	RDMA_WR_SEND,
	RDMA_WR_NUM_KINDS,
};

#define RDMA_MAX_SGL_DESCRIPTORS 16

/* What env->post_response returns besides a count; never confused with one another. */
#define RDMA_POST_NO_ROOM (-EAGAIN)
#define RDMA_POST_FAILED (-EIO)

struct rdma_req;
TAILQ_HEAD(rdma_req_list, rdma_req);

struct rdma_req_queue {
	struct rdma_req_list head;
	uint32_t len;
};

struct rdma_keyed_sgl {
	uint64_t addr;
	uint32_t len;
	uint32_t key;
};

struct rdma_req {
	struct unvmf_req core;
	struct rdma_req_set *set;
	enum rdma_req_state state;
	enum rdma_queue_kind queue;	/* the one queue it is linked on, or NONE */
	TAILQ_ENTRY(rdma_req) link;
	uint16_t index;

	/* The receive holding the capsule, from NEW until the response is sent. */
	void *recv;
	/* Remote data: keyed SGL descriptors of the command. */
	struct rdma_keyed_sgl sgl[RDMA_MAX_SGL_DESCRIPTORS];
	uint32_t num_sgl;
	bool in_capsule;		/* data came in the capsule: no buffers, no READs */
	bool invalidate;		/* answer with SEND_WITH_INV of inval_rkey */
	uint32_t inval_rkey;
	/* Data buffers from the pool (io_unit_size each). */
	void *bufs[UNVMF_MAX_IOV];
	uint32_t num_bufs;
	/* RDMA READs: total needed, posted so far, and how many are in flight. */
	uint32_t reads_total;
	uint32_t reads_posted;
	/* WRs naming this request that the NIC holds (posted, completion not reaped). */
	uint32_t wr_outstanding[RDMA_WR_NUM_KINDS];
	/* Lifetime counters for stats and tests. */
	uint64_t generation;
};

/*
 * Events a request reacts to, also the (state, event) coverage of the
 * simulator. The QP_ERR_BY_* events name the cause of the qpair's error; a
 * request records it in the state it is in when it meets the error (the drain
 * visits every waiting request; a request whose own step runs first records it
 * there).
 */
enum rdma_req_event {
	RDMA_EV_PROCESS,		/* the poll retried it at the head of its pending queue */
	RDMA_EV_READ_DONE,
	RDMA_EV_WRITE_DONE,
	RDMA_EV_SEND_DONE,
	RDMA_EV_WC_ERROR,		/* one of its WRs completed in error */
	RDMA_EV_FLUSH,			/* one of its WRs was flushed */
	RDMA_EV_EXEC_DONE,
	RDMA_EV_QP_ERR_BY_WC_ERROR,	/* some WR of the qpair completed in error */
	RDMA_EV_QP_ERR_BY_FLUSH,	/* the QP was found in ERR: a flush or LAST_WQE_REACHED came first */
	RDMA_EV_QP_ERR_BY_CM,		/* CM DISCONNECTED / DEVICE_REMOVAL / ... */
	RDMA_EV_QP_ERR_BY_ASYNC,	/* QP_FATAL / QP_REQ_ERR / QP_ACCESS_ERR */
	RDMA_EV_QP_ERR_BY_INJECT,	/* operator fault injection (nvmf_rdma_inject_fault) */
	RDMA_EV_QP_ERR_BY_CORE,		/* the core disconnected it (keep-alive, RPC, admin queue, shutdown) */
	RDMA_EV_QP_ERR_BY_LOCAL,	/* the transport itself: a post failed, a bad capsule, accept */
	RDMA_EV_NUM_EVENTS,
};
#define RDMA_EV_QP_ERR_FIRST RDMA_EV_QP_ERR_BY_WC_ERROR

/* Services the state machine needs from its qpair; all return 0 or negative errno. */
struct rdma_req_env {
	void *ctx;
	/* Parses the capsule in req->recv into req->core and the SGL; may complete it with a status. */
	int (*parse)(void *ctx, struct rdma_req *req);
	/* Takes buffers for req->core.length: 0, -EAGAIN when the pool is empty. */
	int (*get_buffers)(void *ctx, struct rdma_req *req);
	void (*put_buffers)(void *ctx, struct rdma_req *req);
	/* READ credits left on the qpair (the host's granted depth minus READs in flight). */
	uint32_t (*read_credits)(void *ctx);
	/* Posts up to n of req's remaining READs; returns how many were posted (>0) or negative. */
	int (*post_reads)(void *ctx, struct rdma_req *req, uint32_t n);
	/* Room in the send queue for n WRs. */
	bool (*send_room)(void *ctx, uint32_t n);
	/*
	 * Posts WRITEs (for reads) and the response SEND: the number of WRITEs
	 * (the whole chain was posted), RDMA_POST_NO_ROOM (nothing was posted:
	 * wait for send-queue room) or RDMA_POST_FAILED (the provider refused
	 * the chain or part of it: the qpair is in error, and what the provider
	 * took is already counted in req->wr_outstanding).
	 */
	int (*post_response)(void *ctx, struct rdma_req *req);
	/* Hands req->core to the core (unvmf_req_exec). */
	void (*execute)(void *ctx, struct rdma_req *req);
	/*
	 * Completes req (in EXECUTING) through the core without executing it
	 * (unvmf_req_reject): SQHD, stats and the error log as for any
	 * completion; the core answers through rdma_req_exec_done.
	 */
	void (*reject)(void *ctx, struct rdma_req *req, uint8_t sct, uint8_t sc);
	/* Gives the receive back (repost to the QP or SRQ). */
	void (*release_recv)(void *ctx, struct rdma_req *req);
	/* The qpair is in error: drain instead of progressing. */
	bool (*in_error)(void *ctx);
	/* Puts the qpair in error; cause is one of the RDMA_EV_QP_ERR_BY_* events. */
	void (*fail)(void *ctx, enum rdma_req_event cause, const char *why);
	/*
	 * A request just moved into the state *set->trap names (operator fault
	 * injection, checked at the transition itself). May put the qpair in error.
	 */
	void (*trapped)(void *ctx, struct rdma_req *req);
	/*
	 * A count that must never go below zero was about to (a queue length, a
	 * state count, a request's WRs of one kind): it was left as it was, and
	 * the qpair must go to error. Checked in every build (one compare).
	 */
	void (*invariant)(void *ctx, const char *what);
};

/* Every request of one qpair, and its queues. */
struct rdma_req_set {
	struct rdma_req *reqs;
	uint32_t num_reqs;
	struct rdma_req_queue queues[RDMA_QUEUE_NUM];	/* [NONE] is unused */
	uint32_t state_count[RDMA_REQ_NUM_STATES];
	const struct rdma_req_env *env;
	/* (state, event) pairs seen, for the coverage report of the simulator. */
	uint64_t *coverage;
	/* Why the qpair is in error (a QP_ERR_BY_* event), set by env->fail's owner. */
	enum rdma_req_event err_event;
	/* Armed state of the operator's fault trap (-1 = none), shared by the transport; may be NULL. */
	_Atomic int *trap;
	/* Counts that would have gone below zero (env->invariant was told each time). */
	uint32_t invariant_violations;
};


extern const enum rdma_queue_kind rdma_state_queue[RDMA_REQ_NUM_STATES];
/* Bit t of rdma_req_moves[s]: the move s -> t is one the state machine makes. */
extern const uint32_t rdma_req_moves[RDMA_REQ_NUM_STATES];
/*
 * Process-wide (state, event) coverage: when set (the simulator does), every
 * request set records into it as well as into its own set->coverage.
 * Bit e of g_rdma_req_coverage[s] = event e seen in state s.
 */
extern uint64_t *g_rdma_req_coverage;
const char *rdma_req_state_name(enum rdma_req_state state);
const char *rdma_req_event_name(enum rdma_req_event event);
const char *rdma_queue_name(enum rdma_queue_kind queue);

int rdma_req_set_init(struct rdma_req_set *set, uint32_t num_reqs, const struct rdma_req_env *env);
void rdma_req_set_fini(struct rdma_req_set *set);

/* The one function that changes req->state: unlinks, then links where the new state says. */
void rdma_req_move(struct rdma_req *req, enum rdma_req_state state);

/* A receive arrived for this qpair: binds it to a free request. NULL if none is free. */
struct rdma_req *rdma_req_bind(struct rdma_req_set *set, void *recv);
/* Runs req forward until it waits for something. */
void rdma_req_process(struct rdma_req *req);
/* Reacts to a completion of one of req's WRs (status 0 = success). */
void rdma_req_wr_done(struct rdma_req *req, enum rdma_wr_kind kind, int wc_status);
/* The core finished req->core. */
void rdma_req_exec_done(struct rdma_req *req);
/*
 * Answers req with (sct, sc) without executing it (a bad SGL, no buffers, an
 * Abort of a command that has not started): it goes through the core's
 * completion like an executed command. req must not hold WRs or wait on the
 * NIC (NEW, NEED_BUFFER).
 */
void rdma_req_reject(struct rdma_req *req, uint8_t sct, uint8_t sc);
/* Retries the heads of the pending queues (credits, buffers or send room came back). */
int rdma_req_set_process_pending(struct rdma_req_set *set);
/* The qpair entered error: drives every request as far as its drain action allows. */
void rdma_req_set_drain(struct rdma_req_set *set);
/* True when every request is FREE and the NIC holds none of their WRs. */
bool rdma_req_set_drained(const struct rdma_req_set *set);
/* Debug: asserts invariants 1-3 of docs/RDMA-STATE-MACHINE.md; returns 0 or -EFAULT (and logs). */
int rdma_req_set_check(const struct rdma_req_set *set);
void rdma_req_record(struct rdma_req *req, enum rdma_req_event event);
