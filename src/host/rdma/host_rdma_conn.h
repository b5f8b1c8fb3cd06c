#pragma once
/*
 * NVMe/RDMA host connection: one RDMA CM id, PD, CQ and RC QP per qpair, all
 * from the qpair's own provider context (src/rdma_provider/provider.h), so
 * the qpair's owning thread is the only one touching them. Files:
 *   host_rdma_cm.c   provider choice, resolve/connect with the NVMe-oF private
 *                    data, wait, teardown (the transport ops table lives here)
 *   host_rdma_req.c  capsules and SGLs, submit, completion dispatch, failure
 *   host_rdma_mr.c   registrations of the caller's data buffers
 *
 * Data placement, chosen per command at submit:
 *   - no data: keyed SGL data block of length 0 (key 0);
 *   - writes up to icd_max on I/O queues: copied behind the SQE in the slot's
 *     registered capsule, data block SGL with offset subtype;
 *   - everything else: the caller's iovecs are registered (host_rdma_mr.c) and
 *     described by keyed SGL data blocks (subtype address: we never ask for
 *     remote invalidation, which plain MRs do not support on real HCAs). One
 *     descriptor goes in SGL1; several go into the capsule behind the SQE,
 *     named by a last-segment descriptor (offset subtype), which needs them
 *     to fit in icd_max.
 */
#include <stdbool.h>
#include <stdint.h>

#include "host/host_internal.h"
#include "rdma_provider/provider.h"

/* Largest in-capsule data we lay out per slot, whatever IOCCSZ allows. */
#define HOST_RDMA_ICD_MAX 8192u
/* Keyed SGL data block lengths are 24 bits. */
#define HOST_RDMA_KEYED_LEN_MAX 0xffffffu
#define HOST_RDMA_WC_BATCH 32
#define HOST_RDMA_TEARDOWN_MS 2000u

/* A registration a request holds on its data. */
struct host_rdma_mr_ref {
	struct rdma_prov_mr *mr;
	int32_t cache_idx; /* -1: registered for this request alone */
};

struct host_rdma_mr_cache_entry {
	uintptr_t start;
	uintptr_t end;
	struct rdma_prov_mr *mr;
	uint32_t refs; /* requests holding it; evictable at 0 */
	uint64_t last_use;
};

/*
 * Registrations of caller buffers for one PD. Disabled: every get registers
 * and every put deregisters. Enabled: ranges are registered page-aligned
 * once, found again by containment, and evicted least-recently-used among
 * entries nobody holds; when every entry is held, the request gets a private
 * registration as if disabled.
 */
struct host_rdma_mr_cache {
	const struct rdma_provider *prov;
	struct rdma_prov_pd *pd;
	bool enabled;
	uint32_t n;
	uint32_t cap;
	uint64_t clock;
	struct host_rdma_mr_cache_entry *entries;
	/* Counters for tests and logs. */
	uint64_t hits;
	uint64_t regs;
};

int host_rdma_mr_cache_init(struct host_rdma_mr_cache *mc, const struct rdma_provider *prov,
                            struct rdma_prov_pd *pd, bool enabled, uint32_t cap);
/* Deregisters every entry; all refs must have been put. */
void host_rdma_mr_cache_fini(struct host_rdma_mr_cache *mc);
/* A registration covering [addr, addr + len) with local write, remote read and write. */
int host_rdma_mr_get(struct host_rdma_mr_cache *mc, void *addr, size_t len,
                     struct host_rdma_mr_ref *ref);
void host_rdma_mr_put(struct host_rdma_mr_cache *mc, struct host_rdma_mr_ref *ref);

/*
 * Per-request transport state, indexed by cid. A slot's capsule buffer
 * belongs to the NIC from the SEND post until that SEND's completion is
 * polled, so a request completes to the qpair layer only once both its
 * SEND completion and its response have been seen, in either order:
 *   FREE -> AWAIT_BOTH                 submit posted the capsule SEND
 *   AWAIT_BOTH -> AWAIT_RESPONSE       SEND completion (any status)
 *   AWAIT_BOTH -> AWAIT_SEND           response first: CQE kept
 *   AWAIT_RESPONSE -> FREE             response: request completed
 *   AWAIT_SEND -> FREE                 SEND completion: kept CQE completed
 * Drain (connection failed, QP in ERR; the qpair layer aborts the slots):
 *   AWAIT_RESPONSE -> FREE             nothing of ours left on the NIC
 *   AWAIT_BOTH / AWAIT_SEND -> SEND_FLUSHING
 *   SEND_FLUSHING -> FREE              the SEND's (flush) completion polled
 * Data registrations are released on the response or at drain.
 */
enum host_rdma_hreq_state {
	HOST_RDMA_HREQ_FREE = 0,
	HOST_RDMA_HREQ_AWAIT_BOTH,
	HOST_RDMA_HREQ_AWAIT_RESPONSE,
	HOST_RDMA_HREQ_AWAIT_SEND,
	HOST_RDMA_HREQ_SEND_FLUSHING,
	HOST_RDMA_HREQ_NUM_STATES,
};

struct host_rdma_hreq {
	enum host_rdma_hreq_state state;
	uint8_t nmrs;
	struct host_rdma_mr_ref mrs[UNVMF_HOST_MAX_IOV];
	struct nvme_cqe early_cqe; /* AWAIT_SEND */
};

enum host_rdma_conn_state {
	HOST_RDMA_CONN_CONNECTING = 0,
	HOST_RDMA_CONN_LIVE,     /* ESTABLISHED: commands flow */
	HOST_RDMA_CONN_DRAINING, /* QP in ERR: only completions are reaped */
};

/* wr_id: kind in the high half, slot (SEND) or receive index (RECV) in the low. */
#define HOST_RDMA_WRID_SEND 1ull
#define HOST_RDMA_WRID_RECV 2ull
static inline uint64_t host_rdma_wrid(uint64_t kind, uint32_t idx)
{
	return kind << 32 | idx;
}

struct host_rdma_conn {
	const struct rdma_provider *prov;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_channel *ch;
	struct rdma_prov_id *id;
	struct rdma_prov_device *dev;
	struct rdma_prov_pd *pd;
	struct rdma_prov_cq *cq;
	struct rdma_prov_qp *qp;
	enum host_rdma_conn_state state;
	bool established; /* CM connected and not yet disconnected */
	void (*progress)(void *arg);
	void *progress_arg;

	/* Capsules: nslots * capsule_size bytes, one per cid, registered once. */
	uint8_t *capsules;
	struct rdma_prov_mr *capsule_mr;
	uint32_t capsule_size;
	uint32_t icd_max; /* in-capsule bytes (data or descriptors); 0 on qid 0 */
	uint16_t nslots;
	struct host_rdma_hreq *hreqs;
	uint32_t state_count[HOST_RDMA_HREQ_NUM_STATES];

	/* Response buffers: one receive per queue entry, posted before connect. */
	struct nvme_cqe *rsps;
	struct rdma_prov_mr *rsp_mr;
	uint16_t nrecvs;
	uint32_t recvs_posted; /* receives the NIC holds */

	struct host_rdma_mr_cache mrc;
	uint16_t crqsize; /* from the accept private data, 0 if none */

	/* Completions taken by wait() so that arming the CQ cannot lose them. */
	struct rdma_prov_wc stash[HOST_RDMA_WC_BATCH];
	int stash_n;
	uint64_t last_cm_check_ns;
	/* Error completions by status; the first flush and the first real error are logged. */
	uint32_t wc_errors[RDMA_PROV_WC_STATUS_COUNT];
	bool wc_flush_logged;
	bool wc_error_logged;
};

static inline struct host_rdma_conn *host_rdma_conn_of(struct unvmf_host_qpair *qp)
{
	return qp->tctx;
}

/* host_rdma_req.c */
void host_rdma_hreq_set_state(struct host_rdma_conn *c, struct host_rdma_hreq *hr,
                              enum host_rdma_hreq_state state);
int host_rdma_req_submit(struct unvmf_host_qpair *qp, struct host_req *req);
int host_rdma_recv_post(struct host_rdma_conn *c, uint32_t idx);
/*
 * Handles polled completions. Returns 0, or a negative errno once a WC error
 * or a bad response failed the connection (later completions are still
 * accounted for).
 */
int host_rdma_wc_process(struct unvmf_host_qpair *qp, const struct rdma_prov_wc *wc, int n);
/* QP to ERR, every request drained (see the state table); idempotent. */
void host_rdma_conn_drain(struct unvmf_host_qpair *qp);
/* Send WRs and receives the NIC still holds. */
uint32_t host_rdma_conn_wrs_held(const struct host_rdma_conn *c);

/* host_rdma_cm.c: NVMe/RDMA reject status of a REJECTED event; 0 when it carried none. */
uint16_t host_rdma_reject_sts(const struct rdma_prov_cm_event *ev);
