#pragma once
/*
 * sim provider internals, shared by provider_sim*.c. One thread owns the
 * whole fabric (see rdma_sim.h). Objects are linked on per-type fabric lists
 * in creation order, so every walk is deterministic.
 */
#include <sys/queue.h>

#include "rdma_sim.h"
#include "util/common.h"

#define SIM_ADDR_MAX 56

/* A send or receive work-queue entry. */
enum sim_slot_state {
	SIM_SLOT_POSTED,	/* waiting to execute (send) / to be consumed (receive) */
	SIM_SLOT_DONE,		/* completion computed, lands in the CQ at .ready */
	SIM_SLOT_IN_CQ,		/* completion in the CQ, not polled */
	SIM_SLOT_NO_CQE,	/* unsignaled success, or a dropped completion: retired at next poll */
};

struct sim_slot {
	uint64_t wr_id;
	enum rdma_prov_wr_opcode opcode;
	enum sim_slot_state state;
	bool signaled;
	bool fault_checked;
	bool fault_after;	/* QP to ERR once this WR completed */
	uint32_t num_sge;
	uint64_t remote_addr;
	uint32_t rkey;
	uint32_t invalidate_rkey;
	uint64_t ready;		/* POSTED: eligible step; DONE: CQ landing step */
	uint32_t retries;
	uint32_t rnr_retries;
	struct rdma_prov_wc wc;
	/* READ/WRITE executed, bytes not moved yet (provider_sim_data.c). */
	bool data_pending;
	bool data_again;	/* moves them once more at its completion (a retransmission) */
	uint64_t data_at;
};

/*
 * A ring of slots indexed by ever-growing counters:
 * head <= deliver <= exec <= tail. [head, deliver) completion in CQ or
 * retired-without-completion (freed when polled past), [deliver, exec)
 * completion pending, [exec, tail) posted.
 */
struct sim_wq {
	struct sim_slot *slots;
	struct rdma_prov_sge *sges;	/* cap * max_sge */
	uint32_t cap;
	uint32_t max_sge;
	uint64_t head, deliver, exec, tail;
	uint64_t last_ready;		/* completions of one queue land in order */
};

struct sim_cqe {
	struct rdma_prov_wc wc;
	struct rdma_prov_qp *qp;
	bool sq;
	uint64_t idx;			/* index in that work queue */
};

enum sim_id_state {
	SIM_ID_IDLE,
	SIM_ID_LISTEN,
	SIM_ID_RESOLVING,
	SIM_ID_ROUTE_RESOLVED,
	SIM_ID_CONNECTING,
	SIM_ID_REQ_RECEIVED,
	SIM_ID_ACCEPTED,
	SIM_ID_ESTABLISHED,
	SIM_ID_REJECTED,
	SIM_ID_FAILED,
};

struct rdma_sim_node {
	TAILQ_ENTRY(rdma_sim_node) link;
	struct rdma_sim_fabric *fabric;
	char addr[SIM_ADDR_MAX];
	bool alive;
	bool device_failed;
	bool cq_poll_fails; /* silent device failure: polling its CQs returns -EIO */
	struct rdma_prov_device *dev;
};

struct sim_async {
	TAILQ_ENTRY(sim_async) link;
	struct rdma_prov_async_event ev;
};

struct rdma_prov_device {
	struct rdma_sim_node *node;
	TAILQ_HEAD(, sim_async) events;
	int efd;
};

struct rdma_prov_ctx {
	TAILQ_ENTRY(rdma_prov_ctx) link;
	struct rdma_sim_fabric *fabric;
	struct rdma_sim_node *node;
	uint32_t nobjs;			/* channels created from it and alive */
};

struct sim_cm_ev {
	TAILQ_ENTRY(sim_cm_ev) link;
	uint64_t time;
	uint64_t seq;
	struct rdma_prov_channel *ch;
	struct rdma_prov_cm_event ev;
};

TAILQ_HEAD(sim_cm_ev_list, sim_cm_ev);

struct rdma_prov_channel {
	TAILQ_ENTRY(rdma_prov_channel) link;
	struct rdma_prov_ctx *ctx;
	struct sim_cm_ev_list ready;
	int efd;
	uint32_t nids;
};

struct rdma_prov_id {
	TAILQ_ENTRY(rdma_prov_id) link;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_channel *ch;
	enum sim_id_state state;
	void *user_ctx;
	uint16_t port;
	int backlog;
	uint32_t pending_reqs;		/* listen: children not accepted/rejected yet */
	struct rdma_prov_id *listen;	/* child: its listener until accepted/rejected */
	bool req_unretrieved;		/* child: CONNECT_REQUEST not yet handed out */
	struct rdma_sim_node *dst;	/* active */
	struct rdma_prov_id *peer;
	struct rdma_prov_qp *qp;
	struct rdma_prov_conn_param req;	/* child: the REQ as the passive side sees it */
	bool disconnected;		/* DISCONNECTED scheduled/delivered */
	bool est_delivered;
};

struct rdma_prov_pd {
	TAILQ_ENTRY(rdma_prov_pd) link;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_device *dev;
	uint32_t refs;			/* MRs, SRQs, QPs */
};

struct rdma_prov_mr {
	TAILQ_ENTRY(rdma_prov_mr) link;
	struct rdma_prov_pd *pd;
	uint64_t addr;
	uint64_t len;
	uint32_t access;
	uint32_t lkey, rkey;
	bool invalidated;
};

struct rdma_prov_cq {
	TAILQ_ENTRY(rdma_prov_cq) link;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_device *dev;
	struct sim_cqe *ring;
	uint32_t cap, head, count;
	uint32_t refs;			/* QPs */
	int efd;
	bool armed;
};

struct rdma_prov_srq {
	TAILQ_ENTRY(rdma_prov_srq) link;
	struct rdma_prov_pd *pd;
	struct sim_wq wq;		/* head == exec: a consumed receive leaves the SRQ */
	uint32_t refs;			/* QPs */
};

struct rdma_prov_qp {
	TAILQ_ENTRY(rdma_prov_qp) link;
	struct rdma_sim_fabric *fabric;
	struct rdma_prov_id *id;
	struct rdma_prov_pd *pd;
	struct rdma_prov_cq *send_cq, *recv_cq;
	struct rdma_prov_srq *srq;
	uint32_t qpn;
	enum rdma_prov_qp_state state;
	bool attached;			/* active side: RDMA CM owns the state changes */
	bool fatal;			/* QP_FATAL raised: stopped until moved to ERR */
	bool comm_est_sent;
	struct sim_wq sq, rq;
	uint32_t max_send_sge, max_recv_sge;
	uint8_t retry_cnt, rnr_retry, timeout;
	uint8_t max_rd_atomic, max_dest_rd_atomic;
	void *user_ctx;
	struct rdma_prov_qp *peer;
	bool dup_next_cqe;		/* rdma_sim_dup_next_cqe: the next send completion lands twice */
	bool no_flush;			/* rdma_sim_qp_silence: in ERR, its WRs are never flushed */
	bool no_last_wqe;		/* rdma_sim_qp_silence: no LAST_WQE_REACHED */
};

struct sim_fault {
	TAILQ_ENTRY(sim_fault) link;
	int id;
	struct rdma_sim_fault f;
	uint32_t seen;
	bool fired;
};

struct rdma_sim_fabric {
	struct rdma_sim_fabric_opts opts;
	uint64_t rng;
	uint64_t now;
	uint64_t cm_seq;
	uint32_t next_qpn;
	uint32_t next_key;
	int next_fault_id;
	struct rdma_sim_counts counts;
	TAILQ_HEAD(, rdma_sim_node) nodes;
	TAILQ_HEAD(, rdma_prov_ctx) ctxs;
	TAILQ_HEAD(, rdma_prov_channel) channels;
	TAILQ_HEAD(, rdma_prov_id) ids;
	TAILQ_HEAD(, rdma_prov_pd) pds;
	TAILQ_HEAD(, rdma_prov_mr) mrs;
	TAILQ_HEAD(, rdma_prov_cq) cqs;
	TAILQ_HEAD(, rdma_prov_srq) srqs;
	TAILQ_HEAD(, rdma_prov_qp) qps;
	struct sim_cm_ev_list cm_sched;	/* sorted by (time, seq) */
	TAILQ_HEAD(, sim_fault) faults;
	struct rdma_prov_qp **order;		/* scratch for the per-step QP order */
	uint32_t order_cap;
	char violation[256];			/* first ownership violation (strict_ownership) */
	uint64_t rnr_naks;			/* SENDs that found no receive posted (each try) */
};

/*
 * The fabric lock: one process-wide recursive mutex that every provider op
 * (provider_sim.c wrappers) and every public rdma_sim_* function takes, so
 * a target on reactor threads and a host on a test thread can share a
 * fabric. Deterministic only as far as the callers' interleaving is.
 */
void sim_lock(void);
void sim_unlock(void);
static inline void sim_unlock_guard(int *unused)
{
	(void)unused;
	sim_unlock();
}
#define SIM_LOCKED() \
	int sim_lock_guard_ __attribute__((cleanup(sim_unlock_guard), unused)) = (sim_lock(), 0)

/* provider_sim_fabric.c */
uint64_t sim_rand(struct rdma_sim_fabric *f);
uint32_t sim_rand_upto(struct rdma_sim_fabric *f, uint32_t max);	/* [0, max] */
void sim_efd_signal(int efd);
void sim_efd_drain(int efd);
struct rdma_sim_node *sim_node_find(struct rdma_sim_fabric *f, const char *addr);
/* at_post: POST_FAIL faults (at post_send) rather than the others (at execution). */
struct sim_fault *sim_fault_match(struct rdma_sim_fabric *f, struct rdma_prov_qp *qp,
				  enum rdma_prov_wr_opcode opcode, uint64_t wr_id, bool at_post);
void sim_async_push(struct rdma_prov_device *dev, const struct rdma_prov_async_event *ev);

/* provider_sim_cm.c */
void sim_cm_schedule(struct rdma_sim_fabric *f, struct rdma_prov_channel *ch, uint64_t delay,
		     const struct rdma_prov_cm_event *ev);
int sim_cm_step(struct rdma_sim_fabric *f);
void sim_channel_free(struct rdma_prov_channel *ch);
void sim_id_free(struct rdma_prov_id *id);

/* provider_sim_res.c */
struct rdma_prov_mr *sim_mr_find(struct rdma_prov_pd *pd, uint32_t key, bool remote);
int sim_wq_init(struct sim_wq *wq, uint32_t cap, uint32_t max_sge);
void sim_cq_push(struct rdma_prov_cq *cq, const struct sim_cqe *cqe);
void sim_cq_purge_qp(struct rdma_prov_cq *cq, const struct rdma_prov_qp *qp);

/* provider_sim_qp.c: memory checks and copies */
uint64_t sim_sges_len(const struct rdma_prov_sge *sg, uint32_t n);
bool sim_mr_covers(const struct rdma_prov_mr *mr, uint64_t addr, uint64_t len);
bool sim_sges_ok(struct rdma_prov_pd *pd, const struct rdma_prov_sge *sg, uint32_t n, bool write);
void sim_sg_copy(const struct rdma_prov_sge *dst, uint32_t ndst, const struct rdma_prov_sge *src,
		 uint32_t nsrc, uint64_t len);

/* provider_sim_data.c: late data and buffer ownership */
/* An executed READ/WRITE of qp: its bytes move later (opts.late_data_max > 0). */
void sim_data_defer(struct rdma_prov_qp *qp, struct sim_slot *s);
/* Each step: moves the bytes that are due. */
void sim_data_step(struct rdma_prov_qp *qp);
/* The next WR of qp is about to execute: every earlier WRITE's bytes are at the peer. */
void sim_data_fence(struct rdma_prov_qp *qp);
/* The completion of send-queue slot idx lands (or it retires): its bytes are in place. */
void sim_data_deliver(struct rdma_prov_qp *qp, uint64_t idx);
/* qp or its peer goes away: everything still pending moves now. */
void sim_data_land_all(struct rdma_prov_qp *qp);
/* strict_ownership: the WR being posted must not name memory another held WR writes. */
void sim_data_check_post(struct rdma_prov_pd *pd, enum rdma_prov_wr_opcode op, uint64_t wr_id,
			 const struct rdma_prov_sge *sg, uint32_t n);

/* provider_sim_qp.c */
int sim_qp_step_exec(struct rdma_prov_qp *qp);
int sim_qp_step_deliver(struct rdma_prov_qp *qp);
bool sim_qp_busy(const struct rdma_prov_qp *qp);
void sim_qp_set_err(struct rdma_prov_qp *qp);
void sim_qp_free(struct rdma_prov_qp *qp);
void sim_srq_free(struct rdma_prov_srq *srq);
void sim_cq_free(struct rdma_prov_cq *cq);
void sim_wq_fini(struct sim_wq *wq);

/* The ops, split by file. */
int sim_ctx_open(void *arg, struct rdma_prov_ctx **out);
int sim_ctx_close(struct rdma_prov_ctx *ctx);
int sim_ctx_get_devices(struct rdma_prov_ctx *ctx, struct rdma_prov_device **devs, uint32_t max);
int sim_channel_create(struct rdma_prov_ctx *ctx, struct rdma_prov_channel **out);
int sim_channel_destroy(struct rdma_prov_channel *ch);
int sim_channel_fd(struct rdma_prov_channel *ch);
int sim_cm_get_event(struct rdma_prov_channel *ch, struct rdma_prov_cm_event *ev);
int sim_cm_listen(struct rdma_prov_channel *ch, const char *addr, uint16_t port, int backlog,
		  void *id_ctx, struct rdma_prov_id **out);
int sim_cm_resolve(struct rdma_prov_channel *ch, const char *src_addr, const char *dst_addr,
		   uint16_t port, int timeout_ms, void *id_ctx, struct rdma_prov_id **out);
int sim_cm_connect(struct rdma_prov_id *id, const struct rdma_prov_conn_param *param);
int sim_cm_accept(struct rdma_prov_id *id, struct rdma_prov_qp *qp,
		  const struct rdma_prov_conn_param *param);
int sim_cm_reject(struct rdma_prov_id *id, const void *private_data, uint8_t len);
int sim_cm_disconnect(struct rdma_prov_id *id);
int sim_id_destroy(struct rdma_prov_id *id);
void sim_id_set_ctx(struct rdma_prov_id *id, void *id_ctx);
void *sim_id_get_ctx(struct rdma_prov_id *id);
struct rdma_prov_device *sim_id_get_device(struct rdma_prov_id *id);
int sim_device_query(struct rdma_prov_device *dev, struct rdma_prov_device_attr *attr);
int sim_device_async_fd(struct rdma_prov_device *dev);
int sim_device_get_async_event(struct rdma_prov_device *dev, struct rdma_prov_async_event *ev);
int sim_pd_alloc(struct rdma_prov_device *dev, struct rdma_prov_pd **out);
int sim_pd_free(struct rdma_prov_pd *pd);
int sim_mr_reg(struct rdma_prov_pd *pd, void *addr, size_t len, uint32_t access,
	       struct rdma_prov_mr **out);
int sim_mr_dereg(struct rdma_prov_mr *mr);
uint32_t sim_mr_lkey(const struct rdma_prov_mr *mr);
uint32_t sim_mr_rkey(const struct rdma_prov_mr *mr);
int sim_cq_create(struct rdma_prov_device *dev, uint32_t cqe, bool with_fd,
		  struct rdma_prov_cq **out);
int sim_cq_destroy(struct rdma_prov_cq *cq);
int sim_cq_poll(struct rdma_prov_cq *cq, struct rdma_prov_wc *wc, int max);
int sim_cq_fd(struct rdma_prov_cq *cq);
int sim_cq_arm(struct rdma_prov_cq *cq);
int sim_srq_create(struct rdma_prov_pd *pd, uint32_t max_wr, uint32_t max_sge,
		   struct rdma_prov_srq **out);
int sim_srq_destroy(struct rdma_prov_srq *srq);
int sim_srq_post_recv(struct rdma_prov_srq *srq, struct rdma_prov_recv_wr *wr,
		      struct rdma_prov_recv_wr **bad_wr);
int sim_qp_create(struct rdma_prov_id *id, const struct rdma_prov_qp_init *init,
		  struct rdma_prov_qp **out);
int sim_qp_destroy(struct rdma_prov_qp *qp);
int sim_qp_post_send(struct rdma_prov_qp *qp, struct rdma_prov_send_wr *wr,
		     struct rdma_prov_send_wr **bad_wr);
int sim_qp_post_recv(struct rdma_prov_qp *qp, struct rdma_prov_recv_wr *wr,
		     struct rdma_prov_recv_wr **bad_wr);
int sim_qp_modify_err(struct rdma_prov_qp *qp);
int sim_qp_query_state(struct rdma_prov_qp *qp, enum rdma_prov_qp_state *state);
uint32_t sim_qp_num(const struct rdma_prov_qp *qp);
void *sim_qp_get_ctx(const struct rdma_prov_qp *qp);
