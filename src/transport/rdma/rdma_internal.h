#pragma once
/*
 * NVMe/RDMA target transport: objects shared by its files.
 *
 *   rdma_transport.c  ops table, listeners, the CM + async-event poller (reactor 0)
 *   rdma_opts.c       its own options: defaults, checks, JSON decode/dump, discovery entry
 *   rdma_conn.c       CONNECT_REQUEST checks, accept/reject private data, freeing a connection
 *   rdma_qpair.c      qpair lifecycle on its poll group: resources, accept, error, drain, destroy
 *   rdma_env.c        the state machine's env: parse, buffers, READs, responses, receives
 *   rdma_capsule.c    pure capsule/SGL parsing and transfer planning (unit-tested alone)
 *   rdma_poller.c     poll group: shared CQ, SRQ, WC dispatch by wr_id, debug invariants
 *   rdma_reclaim.c    the bounded reclaim of a qpair the NIC stopped answering; device failure
 *   rdma_stats.c      WC error counters and poll_group_dump_stats
 *   rdma_req.c        the request state machine (docs/RDMA-STATE-MACHINE.md)
 *
 * Threads and ownership.
 *  - Reactor 0 owns the transport, its listeners, the CM channel and the
 *    device async events, and the CM id of every connection: it creates the
 *    rdma_qpair on CONNECT_REQUEST and is the only thread that frees it (after
 *    id_destroy), so the id's context pointer it reads on every CM / async
 *    event is never dangling.
 *  - The poll group that the core picked owns everything else of the qpair
 *    from poll_group_add on: QP, requests, receives, buffers. It tells reactor
 *    0 to destroy the id and free the memory only after qp_destroy and
 *    unvmf_qpair_fini (rdma_conn_release).
 *  - Reactor 0 forwards CM and async events to the group by (group, qpair id)
 *    messages; a message that arrives after the qpair is gone finds nothing.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "nvmf/nvmf_internal.h"
#include "rdma_provider/provider.h"
#include "transport/rdma/rdma_opts.h"
#include "transport/rdma/rdma_req.h"
#include "nvmf/transport.h"
#include "util/buf_pool.h"

#define RDMA_MAX_DEVICES 4
#define RDMA_WC_BATCH 32
/* One READ/WRITE per (local buffer x remote descriptor) piece. */
#define RDMA_MAX_SEGS (UNVMF_MAX_IOV + RDMA_MAX_SGL_DESCRIPTORS)
#define RDMA_CAPSULE_CMD_SIZE 64u
/* The most RNR retries a response SEND gets (7 would be forever): rdma_opts_response_rnr_retry. */
#define RDMA_RESPONSE_RNR_RETRY_MAX 6u
/* How often a qpair without Fabrics Connect yet checks its deadline. */
#define RDMA_CONNECT_CHECK_US (10u * 1000)

/*
 * wr_id = generation << 48 | pointer | type. Receives and request extensions
 * are 8-byte aligned, so the low 3 bits name what the pointer is (0 is never
 * a type); user-space pointers fit in 48 bits (checked when the qpair is
 * set up). A request's WRs carry the low 16 bits of its generation, so a
 * completion that arrives after the slot moved on to its next command is
 * told apart from the completions of that command (receives carry 0).
 */
enum rdma_wrid_type {
	RDMA_WRID_RECV = 1,
	RDMA_WRID_SEND = 2,
	RDMA_WRID_READ = 3,
	RDMA_WRID_WRITE = 4,
	RDMA_WRID_NUM_TYPES,
};
#define RDMA_WRID_TYPE_MASK 7ull
#define RDMA_WRID_GEN_SHIFT 48
#define RDMA_WRID_PTR_MASK (((1ull << RDMA_WRID_GEN_SHIFT) - 1) & ~RDMA_WRID_TYPE_MASK)

/* One piece of a transfer: local [local, local+len) <-> remote [remote, remote+len) of rkey. */
struct rdma_seg {
	uint64_t local;
	uint64_t remote;
	uint32_t len;
	uint32_t rkey;
};

/* Error completions, counted as operators read them (the seed's req_cqe_error etc.). */
struct rdma_wc_counters {
	uint64_t completions;
	uint64_t by_status[RDMA_PROV_WC_STATUS_COUNT];
	/* Error (non-success) completions by what the WR was: [enum rdma_wrid_type]. */
	uint64_t errors_by_opcode[RDMA_WRID_NUM_TYPES];
	uint64_t req_cqe_error;        /* send-queue WRs (SEND/READ/WRITE) failed, not flushed */
	uint64_t req_cqe_flush_error;  /* send-queue WRs flushed */
	uint64_t resp_cqe_error;       /* receives failed */
	uint64_t resp_cqe_flush_error; /* receives flushed */
};

/* A provider device: PD and the pool's registration. Reactor 0 creates; read-only after. */
struct rdma_device {
	struct rdma_prov_device *dev;
	struct rdma_prov_device_attr attr;
	struct rdma_prov_pd *pd;
	struct rdma_prov_mr *pool_mr;
};

struct rdma_listener {
	struct unvmf_trid trid;
	struct rdma_prov_id *id;
	unsigned refs;
	TAILQ_ENTRY(rdma_listener) link;
};

struct rdma_qpair;

/*
 * The operator's one-shot trap (nvmf_rdma_inject_fault "qp_error_in_state:"):
 * the first request of a matching qpair, on any poll group, that moves into
 * state fails its qpair; whoever swaps state back to -1 fires it. Reactor 0
 * writes the filter before it publishes state (release).
 */
struct rdma_fault_trap {
	_Atomic int state; /* enum rdma_req_state, or -1 when disarmed */
	uint64_t qpair_id; /* 0 = any */
	int32_t cntlid;    /* -1 = any */
	int32_t qid;       /* -1 = any */
};

struct rdma_transport {
	struct unvmf_transport base;
	const struct rdma_provider *prov;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_channel *ch;
	struct rdma_device devs[RDMA_MAX_DEVICES];
	uint32_t num_devs;
	struct unvmf_buf_pool pool;
	struct unvmf_poller *cm_poller;
	TAILQ_HEAD(, rdma_listener) listeners;
	TAILQ_HEAD(, rdma_qpair) conns; /* reactor 0: every rdma_qpair not yet freed */
	uint32_t capsule_size;          /* receive buffer: command + in-capsule data */
	struct rdma_fault_trap trap;
	uint64_t connects;              /* CONNECT_REQUESTs seen */
	uint64_t rejects;
	_Atomic uint64_t lease_groups;  /* poll groups that took a lease range */
};

/* A receive buffer: on the SRQ / the QP's RQ, or bound to a request. */
struct rdma_recv {
	struct rdma_prov_recv_wr wr;
	struct rdma_prov_sge sge;
	uint8_t *buf;
	uint32_t byte_len;
	bool posted;                 /* the NIC holds it */
	struct rdma_gdev *gdev;      /* SRQ receives */
	struct rdma_qpair *qpair;    /* own-RQ receives: owner; SRQ: the qpair it was consumed by */
	TAILQ_ENTRY(rdma_recv) link; /* qpair->incoming while no request is free */
};

/* Transport-side parts of a request that rdma_req does not carry (indexed like set.reqs). */
struct rdma_req_ext {
	struct rdma_req *req;
	struct rdma_qpair *rq;
	struct nvme_cqe *rsp; /* registered; what the response SEND carries */
	struct rdma_seg segs[RDMA_MAX_SEGS];
	uint32_t num_segs;
	/* The lease its pool buffers are claimed under (0 = holds none); see unvmf_buf_claim. */
	uint64_t lease;
};

/* A poll group's resources on one device. */
struct rdma_gdev {
	struct rdma_group *group;
	struct rdma_device *dev;
	struct rdma_prov_cq *cq;
	int cq_fd;
	uint32_t cq_size;
	uint32_t cq_reserved;      /* CQEs the QPs and the SRQ on this CQ can have outstanding */
	struct rdma_prov_srq *srq; /* NULL with no_srq */
	struct rdma_recv *recvs;
	uint8_t *recv_bufs;
	struct rdma_prov_mr *recv_mr;
	uint32_t num_recvs;
	uint32_t recvs_posted;
	bool failed; /* polling its CQ failed: every qpair on it was put in error */
};

struct rdma_group_stats {
	uint64_t qpairs_current;
	uint64_t qpairs_total;
	uint64_t polls;
	uint64_t recvs;
	uint64_t sends_posted;
	uint64_t reads_posted;
	uint64_t writes_posted;
	uint64_t recv_no_free_request; /* receives that waited for a request */
	uint64_t faults_fired;         /* operator traps that fired on this group */
	uint64_t qpairs_destroyed;
	uint64_t ownership_violations; /* buffer / WR / receive owner checks that failed */
	/* Hostile hosts: qpairs ended for what their host did. */
	uint64_t capsules_beyond_queue; /* more capsules than the queue size outstanding */
	uint64_t invariant_violations; /* counts that would have gone below zero */
	uint64_t qpairs_reclaimed;     /* destroyed by the reclaim bound, the NIC silent */
	uint64_t wrs_reclaimed;        /* WRs those qpairs held, accounted as reaped */
	uint64_t device_errors;        /* device-wide failures that drained every qpair on it */
};

struct rdma_group {
	struct unvmf_transport_poll_group base;
	struct rdma_transport *rt;
	struct rdma_gdev gdevs[RDMA_MAX_DEVICES];
	struct unvmf_buf_cache cache;
	uint64_t lease_base; /* unique high bits of this group's buffer leases */
	uint64_t lease_seq;
	char first_violation[96]; /* what the first failed ownership or invariant check saw */
	TAILQ_HEAD(, rdma_qpair) qpairs;
	struct rdma_group_stats stats;
	struct rdma_wc_counters wc;
	/* (state, event) pairs seen by destroyed qpairs' requests (rdma_req_record). */
	uint64_t coverage[RDMA_REQ_NUM_STATES];
};

enum rdma_qpair_state {
	RDMA_QPAIR_NEW,    /* reactor 0 created it; not on a group yet */
	RDMA_QPAIR_ACTIVE, /* QP created and accepted; serving */
	RDMA_QPAIR_ERROR,  /* QP in ERR: draining, nothing new starts */
	RDMA_QPAIR_GONE,   /* QP destroyed, unvmf_qpair_fini done; reactor 0 frees it */
};

struct rdma_qpair {
	struct unvmf_qpair qpair;
	struct rdma_transport *rt;
	/* Reactor 0 (CM side). */
	struct rdma_prov_id *id;
	struct rdma_device *dev;
	TAILQ_ENTRY(rdma_qpair) conn_link;
	/* From the CONNECT_REQUEST (immutable after). */
	uint16_t qid;
	uint32_t num_reqs;   /* min(hsqsize + 1, our max depth) */
	uint32_t read_depth; /* min(max_read_depth, the host's initiator depth) */
	/* The group's thread. */
	struct rdma_group *group;
	struct rdma_gdev *gdev;
	struct rdma_prov_qp *qp;
	uint32_t qp_num;
	enum rdma_qpair_state state;
	bool drain_started; /* teardown_begin + set_drain ran */
	bool last_wqe;      /* SRQ: LAST_WQE_REACHED arrived */
	uint64_t error_us;  /* when it entered ERROR (the reclaim deadline counts from here) */
	bool nic_dead;      /* its device failed: nothing more will come back, reclaim now */
	bool reclaimed;     /* QP destroyed by the reclaim; outstanding WRs accounted as reaped */
	bool wc_error_logged;
	bool id_disconnected;
	char error_reason[64];
	struct rdma_req_set set;
	struct rdma_req_env env;
	struct rdma_req_ext *ext;
	struct nvme_cqe *rsps;
	struct rdma_prov_mr *rsp_mr;
	/* Own receive queue (no_srq). */
	struct rdma_recv *recvs;
	uint8_t *recv_bufs;
	struct rdma_prov_mr *recv_mr;
	uint32_t recvs_posted;
	uint32_t sq_depth;
	uint32_t sq_used; /* send WRs posted whose completion is not reaped */
	uint32_t reads_inflight;
	uint32_t cq_reserved;
	TAILQ_HEAD(, rdma_recv) incoming; /* SRQ receives waiting for a free request */
	uint32_t incoming_len;
	struct unvmf_poller *connect_poller; /* until Fabrics Connect: its deadline */
	struct rdma_wc_counters wc;
	uint64_t coverage[RDMA_REQ_NUM_STATES];
	/* Scratch for building one chain (copied by the provider at post). */
	struct rdma_prov_send_wr wrs[RDMA_MAX_SEGS + 1];
	struct rdma_prov_sge sges[RDMA_MAX_SEGS + 1];
	TAILQ_ENTRY(rdma_qpair) link; /* group->qpairs */
};

static inline struct rdma_qpair *rdma_qpair_from(struct unvmf_qpair *qpair)
{
	return UNVMF_CONTAINER_OF(qpair, struct rdma_qpair, qpair);
}

static inline struct rdma_group *rdma_group_from(struct unvmf_transport_poll_group *tg)
{
	return UNVMF_CONTAINER_OF(tg, struct rdma_group, base);
}

static inline struct rdma_req *rdma_req_from_core(struct unvmf_req *req)
{
	return UNVMF_CONTAINER_OF(req, struct rdma_req, core);
}

/* The transport's own options, as created (read-only after create). */
static inline const struct unvmf_rdma_opts *rdma_transport_opts(const struct rdma_transport *rt)
{
	return unvmf_rdma_opts_const(&rt->base.opts);
}

/* rdma_opts.c */
void rdma_opts_init(struct unvmf_transport_opts *o);
int rdma_opts_check(const struct unvmf_transport_opts *o);
const struct unvmf_json_param *rdma_opts_accepts(const char *name);
int rdma_opts_decode(struct unvmf_transport_opts *opts, const struct json_t *params, char *err,
                     size_t err_len);
void rdma_opts_dump(const struct unvmf_transport_opts *opts, struct json_t *obj);
void rdma_listener_discover(const struct unvmf_trid *trid, struct nvmf_discovery_log_entry *e);
uint8_t rdma_opts_response_rnr_retry(const struct unvmf_rdma_opts *r);

static inline uint64_t rdma_wrid(const void *ptr, enum rdma_wrid_type type)
{
	return (uint64_t)(uintptr_t)ptr | (uint64_t)type;
}

/* A request's WR: its extension, the kind, and the generation of the command it serves. */
static inline uint64_t rdma_wrid_req(const struct rdma_req_ext *ext, enum rdma_wrid_type type)
{
	return (ext->req->generation << RDMA_WRID_GEN_SHIFT) | rdma_wrid(ext, type);
}

static inline uint16_t rdma_wrid_gen(uint64_t wr_id)
{
	return (uint16_t)(wr_id >> RDMA_WRID_GEN_SHIFT);
}

/* rdma_transport.c */
struct rdma_device *rdma_transport_device(struct rdma_transport *rt, struct rdma_prov_device *dev);
const char *rdma_wrid_type_name(enum rdma_wrid_type type);

/* rdma_conn.c (reactor 0) */
void rdma_conn_handle_request(struct rdma_transport *rt, const struct rdma_prov_cm_event *ev);
void rdma_conn_handle_event(struct rdma_transport *rt, const struct rdma_prov_cm_event *ev);
void rdma_conn_handle_async(struct rdma_transport *rt, const struct rdma_prov_async_event *ev);
void rdma_conn_reject(struct rdma_transport *rt, struct rdma_prov_id *id, uint16_t sts);
/* Group thread, after unvmf_qpair_fini: hands the id and memory back to reactor 0. */
void rdma_conn_release(struct rdma_qpair *rq);
/* Reactor 0: destroys the id and frees rq. */
void rdma_conn_free(struct rdma_qpair *rq);
int rdma_transport_poll_async(struct rdma_transport *rt);

/* rdma_qpair.c (group thread) */
int rdma_qpair_start(struct rdma_group *rg, struct rdma_qpair *rq);
/* Puts the qpair in error (idempotent): QP to ERR; the drain runs from the group poll. */
void rdma_qpair_set_error(struct rdma_qpair *rq, enum rdma_req_event cause, const char *why);
/* Group thread: an event reactor 0 forwarded for the qpair with this id (it may be gone). */
void rdma_qpair_group_event(struct rdma_group *rg, uint64_t qpair_id, bool last_wqe,
                            enum rdma_req_event cause, const char *why);
/* Drain step from the group poll; true when the qpair was destroyed (rq is gone). */
bool rdma_qpair_progress_error(struct rdma_qpair *rq);
void rdma_qpair_disconnect(struct unvmf_qpair *qpair);
int rdma_qpair_inject_fault(struct unvmf_qpair *qpair, const char *kind);
/*
 * Reactor 0: arms the transport's trap from "qp_error_in_state:STATE" for the
 * qpair with qpair_id (0 = any) of controller cntlid (-1 = any). 0, -EINVAL
 * (err says why), -EBUSY when a trap is armed already.
 */
int rdma_transport_arm_trap(struct rdma_transport *rt, const char *kind, uint64_t qpair_id,
                            int32_t cntlid, int32_t qid, char *err, size_t err_len);
/* transport op inject_fault_arm: -EOPNOTSUPP for faults that are not transport-level. */
int rdma_transport_inject_fault_arm(struct unvmf_transport *transport, const char *kind,
                                    uint64_t qpair_id, int32_t cntlid, int32_t qid, char *err,
                                    size_t err_len);
int rdma_qpair_abort_request(struct unvmf_qpair *qpair, uint16_t cid);

/* rdma_reclaim.c */
/*
 * Group thread, qpair in ERROR and drained as far as the drain goes: when the
 * NIC has not given back everything (flushes, receives, LAST_WQE_REACHED)
 * within reclaim_timeout_ms of the error, or at once when its device
 * failed, destroys the QP and accounts every WR it held as reaped (logged,
 * counted), then drives its requests on. True when it reclaimed now.
 */
bool rdma_qpair_reclaim(struct rdma_qpair *rq, uint64_t now_us);
/* Group thread: polling gd's CQ failed; every qpair on it goes to error, reclaimed at once. */
void rdma_gdev_fail(struct rdma_group *rg, struct rdma_gdev *gd, int rc);
/*
 * Reactor 0: a device-wide async event (DEVICE_FATAL, CQ_ERR, PORT_ERR): every
 * qpair on dev goes to error (DEVICE_FATAL: and is reclaimed at once).
 */
void rdma_transport_device_event(struct rdma_transport *rt, struct rdma_device *dev,
                                 const struct rdma_prov_async_event *ev);
/* Group thread: the message of rdma_transport_device_event for one qpair (may be gone). */
void rdma_qpair_device_failed(struct rdma_group *rg, uint64_t qpair_id, bool dead, const char *why);

/* rdma_env.c */
void rdma_env_init(struct rdma_qpair *rq);
/* A receive completed with a capsule for rq. */
void rdma_env_recv(struct rdma_qpair *rq, struct rdma_recv *recv);
/* Binds waiting receives to requests that became free. */
void rdma_env_bind_incoming(struct rdma_qpair *rq);
/* Gives a receive back (repost to the SRQ / the QP, or drop it when the qpair is going). */
void rdma_env_recv_release(struct rdma_qpair *rq, struct rdma_recv *recv);
void rdma_env_req_complete(struct unvmf_req *req);
/*
 * An ownership check failed (a buffer, WR or receive used by a party that
 * does not hold it): counted, logged with what, and the qpair goes to error.
 */
void rdma_env_ownership_violation(struct rdma_qpair *rq, const char *what);
/*
 * A count that must never go below zero was about to (checked in every
 * build, one compare): counted, logged, and the qpair goes to error with
 * reason "invariant: what". rq may be NULL for the group's own counts.
 */
void rdma_env_invariant_violation(struct rdma_group *rg, struct rdma_qpair *rq, const char *what);

/* rdma_capsule.c (pure) */
struct rdma_capsule_limits {
	uint32_t max_io_size;
	uint32_t max_sgl; /* keyed descriptors in a last-segment list */
};
/*
 * Fills req->core.cmd/xfer/length and req->sgl/num_sgl/in_capsule/invalidate
 * (and core.iov for in-capsule data, pointing into buf) from a capsule of len
 * bytes. Returns 0; > 0 when the command is invalid (status in
 * req->core.rsp.status); -EPROTO when the capsule is too short to hold a
 * command.
 */
int rdma_capsule_parse(struct rdma_req *req, uint8_t *buf, uint32_t len,
                       const struct rdma_capsule_limits *lim);
/* Splits the transfer between req->core.iov and req->sgl into pieces; returns how many. */
uint32_t rdma_capsule_plan(const struct rdma_req *req, struct rdma_seg *segs, uint32_t max);

/* rdma_poller.c */
struct unvmf_transport_poll_group *rdma_group_create(struct unvmf_transport *transport,
                                                     struct unvmf_poll_group *group);
void rdma_group_destroy(struct unvmf_transport_poll_group *tgroup);
int rdma_group_poll(struct unvmf_transport_poll_group *tgroup);
int rdma_group_add(struct unvmf_transport_poll_group *tgroup, struct unvmf_qpair *qpair);
struct rdma_gdev *rdma_group_gdev(struct rdma_group *rg, struct rdma_device *dev);
/* Debug: invariants of every qpair of the group; 0 or -EFAULT. */
int rdma_group_check(struct rdma_group *rg);

/* rdma_stats.c */
void rdma_wc_count(struct rdma_wc_counters *c, enum rdma_wrid_type type,
                   enum rdma_prov_wc_status status);
void rdma_group_dump_stats(struct unvmf_transport_poll_group *tgroup, void *json_obj);
