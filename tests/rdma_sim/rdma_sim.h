#pragma once
/*
 * The simulated RDMA provider: an in-process fabric behind the provider seam
 * (rdma_provider/provider.h), for tests, the sim campaign (tests/sim) and an
 * explicit UNVMF_SIM build of unvmf-tgt; no product library links it.
 * Linking it registers the provider under the name "sim".
 */
#include <stdbool.h>
#include <stdint.h>

#include "rdma_provider/provider.h"

/* The ops table, registered as "sim" when the program starts (provider_sim.c). */
extern const struct rdma_provider rdma_provider_sim;

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
	uint32_t exec_delay_max; /* steps; 0 = next step */
	uint32_t cqe_delay_max;
	uint32_t cm_delay_max;
	uint32_t rnr_delay;     /* steps between RNR retries (>= 1) */
	uint32_t timeout_steps; /* steps per transport retry (>= 1) */
	/*
	 * Virtual microseconds one step stands for. When set, a QP with an ack
	 * timeout t > 0 waits 4.096 us x 2^t per transport retry (IB's local ACK
	 * timeout), rounded up to whole steps; 0, or t == 0, = timeout_steps.
	 */
	uint32_t step_us;
	uint32_t timewait_steps;
	uint32_t connect_timeout_steps; /* UNREACHABLE / CONNECT_ERROR after this */
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
/* RNR NAKs so far: SENDs that found no receive posted at their peer (each retry counts). */
uint64_t rdma_sim_fabric_rnr_naks(const struct rdma_sim_fabric *fabric);
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
	RDMA_SIM_FAULT_QP_ERR_BEFORE, /* QP to ERR just before the matching WR executes */
	RDMA_SIM_FAULT_QP_ERR_AFTER,  /* ... just after it completed successfully */
	RDMA_SIM_FAULT_FAIL_WR,       /* the matching WR completes with status; QP to ERR */
	RDMA_SIM_FAULT_POST_FAIL,     /* post_send refuses the matching send WR with -ENOMEM */
};

struct rdma_sim_fault {
	enum rdma_sim_fault_kind kind;
	uint32_t qp_num; /* 0: any QP */
	/*
	 * SEND..RDMA_READ match send WRs when they execute (POST_FAIL: when
	 * they are posted), RECV matches receives when a SEND consumes them,
	 * ANY matches both.
	 */
	enum rdma_prov_wr_opcode opcode;
	uint32_t nth; /* 1-based count of matches since armed; 0 = use wr_match */
	bool (*wr_match)(uint64_t wr_id, void *arg);
	void *match_arg;
	enum rdma_prov_wc_status status; /* FAIL_WR */
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
/*
 * A device that dies without flushing: as rdma_sim_node_fail_device, but no
 * QP of the node ever flushes a WR or reports LAST_WQE_REACHED, and polling
 * any CQ of the node returns -EIO from now on.
 */
void rdma_sim_node_fail_device_silent(struct rdma_sim_node *node);
/*
 * A NIC that stops reporting: once qp is in ERR, no flush completion
 * (flushes false: its WRs stay held until it is destroyed) and/or no
 * LAST_WQE_REACHED (last_wqe false). -EINVAL for NULL.
 */
int rdma_sim_qp_silence(struct rdma_prov_qp *qp, bool flushes, bool last_wqe);

/* --- inspection --- */
/* The sim's qp_outstanding op (see provider.h), callable directly. */
int rdma_sim_qp_outstanding(struct rdma_prov_qp *qp, struct rdma_prov_wr_info *out, int max);
/* Receives still posted on the SRQ. */
int rdma_sim_srq_outstanding(struct rdma_prov_srq *srq, uint64_t *wr_ids, int max);
struct rdma_prov_qp *rdma_sim_qp_by_num(struct rdma_sim_fabric *fabric, uint32_t qp_num);
/* The QP on the other end, if connected and alive. */
struct rdma_prov_qp *rdma_sim_qp_peer(struct rdma_prov_qp *qp);
struct rdma_sim_fabric *rdma_sim_qp_fabric(struct rdma_prov_qp *qp);
