#pragma once
/*
 * Host library internals: the request slot, the qpair, the controller and the
 * transport seam. The admin/IO layer (ctrlr.c, admin.c, qpair.c, io.c) never
 * looks inside a transport; a transport (tcp_*.c) only sees the request slots
 * and reports completions through host_qpair_complete().
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "unvmf/host.h"
#include "proto/trid.h"

/*
 * A request slot. Owned by its qpair; FREE slots sit on the free stack,
 * ACTIVE slots are owned by the transport until host_qpair_complete().
 */
enum host_req_state {
	HOST_REQ_FREE = 0,
	HOST_REQ_ACTIVE,
};

struct host_req {
	struct nvme_sqe sqe;		/* cid == slot index */
	struct iovec iov[UNVMF_HOST_MAX_IOV];
	int iovcnt;
	uint32_t len;			/* bytes described by iov */
	enum unvmf_host_dir dir;
	enum host_req_state state;
	unvmf_host_cb cb;
	void *cb_arg;
	/* Set by the transport when data arrived damaged (data digest): overrides a success CQE. */
	uint16_t xfer_error_sc;
};

struct unvmf_host_qpair;

/*
 * A transport. Every op runs on the qpair's owning thread. The transport keeps
 * its per-request state in its own array indexed by cid.
 */
struct host_transport_ops {
	const char *name;
	enum nvmf_trtype trtype;
	/* Opens the connection and runs transport initialization; blocking, bounded. */
	int (*connect)(struct unvmf_host_qpair *qp, const struct unvmf_trid *trid,
		       uint32_t timeout_ms, struct unvmf_host_error *err);
	/* Takes an ACTIVE slot (sqe, iov, dir filled); fills the SGL and queues it for sending. */
	int (*submit)(struct unvmf_host_qpair *qp, struct host_req *req);
	/*
	 * Sends and receives without blocking, calling host_qpair_complete() for
	 * finished requests. Returns >= 0, or a negative errno once the connection
	 * failed; it then owns none of the ACTIVE slots any more.
	 */
	int (*poll)(struct unvmf_host_qpair *qp);
	/* Stops the connection and drops every request; idempotent. */
	void (*shutdown)(struct unvmf_host_qpair *qp);
	/* Blocks until the connection has something to do or timeout_ms passed. */
	void (*wait)(struct unvmf_host_qpair *qp, int timeout_ms);
	/* Closes and frees the transport state; no slot is referenced afterwards. */
	void (*destroy)(struct unvmf_host_qpair *qp);
};

extern const struct host_transport_ops g_host_tcp_ops;
extern const struct host_transport_ops g_host_rdma_ops;
/* The transport of a trtype (host_transport.c); NULL when the library has none for it. */
const struct host_transport_ops *host_transport_find(enum nvmf_trtype trtype);

struct unvmf_host_qpair {
	struct unvmf_host_ctrlr *ctrlr;
	const struct host_transport_ops *ops;
	void *tctx;			/* transport's connection state */
	uint16_t qid;
	uint16_t qsize;			/* entries; nreqs = qsize - 1 */
	uint16_t nreqs;
	uint16_t nfree;
	uint16_t *free_stack;
	struct host_req *reqs;
	uint32_t outstanding;
	uint32_t in_capsule_max;	/* largest data sent inside the command capsule */
	bool header_digest;
	bool data_digest;
	int failed_rc;			/* 0 while healthy, the errno it failed with after */
	uint16_t term_fes;
	uint32_t term_fei;
	/* Completions counted for unvmf_host_qpair_poll's return value, and its limit (0 = none). */
	uint32_t poll_completions;
	uint32_t poll_max;
};

struct unvmf_host_ctrlr {
	struct unvmf_trid trid;
	struct unvmf_host_opts opts;
	char hostnqn[UNVMF_HOST_NQN_BUF];
	uint8_t hostid[16];
	struct unvmf_host_qpair *admin;
	uint16_t cntlid;
	bool discovery;
	uint64_t cap;
	uint32_t vs;
	struct nvme_id_ctrl cdata;
	uint16_t num_io_queues;
	uint32_t in_capsule_size;
	uint32_t max_xfer;
	uint64_t last_keep_alive_ns;
	bool keep_alive_inflight;
	pthread_mutex_t qid_lock;	/* qid_used only; never on the I/O path */
	uint8_t qid_used[8192];		/* bitmap of I/O qids in use */
	uint32_t io_qpairs;
	bool auth_required; /* the admin queue's Connect asked for DH-HMAC-CHAP */
};

uint64_t host_now_ns(void);

/* qpair.c: slots and completion. */
int host_qpair_alloc(struct unvmf_host_ctrlr *ctrlr, uint16_t qid, uint16_t qsize,
		     struct unvmf_host_qpair **out);
void host_qpair_free(struct unvmf_host_qpair *qp);
struct host_req *host_req_get(struct unvmf_host_qpair *qp);
void host_req_put(struct unvmf_host_qpair *qp, struct host_req *req);
/* Frees the slot, then calls its callback with cqe (cid/status as given). */
void host_qpair_complete(struct unvmf_host_qpair *qp, struct host_req *req,
			 const struct nvme_cqe *cqe);
/* Marks the qpair failed with rc and completes every ACTIVE slot as aborted. */
void host_qpair_fail(struct unvmf_host_qpair *qp, int rc);
/* Submits with a prepared slot; frees it on failure. */
int host_qpair_submit(struct unvmf_host_qpair *qp, const struct nvme_sqe *sqe,
		      const struct iovec *iov, int iovcnt, enum unvmf_host_dir dir,
		      unvmf_host_cb cb, void *cb_arg);
/*
 * Submits and waits: polls (blocking in transport wait between polls) until
 * the command completes or timeout; a timeout fails the qpair (-ETIMEDOUT),
 * so no slot is left pointing at the caller's stack.
 */
int host_qpair_exec(struct unvmf_host_qpair *qp, const struct nvme_sqe *sqe, void *buf,
		    uint32_t len, enum unvmf_host_dir dir, struct nvme_cqe *cqe,
		    uint32_t timeout_ms);
/* host_auth.c: the DH-HMAC-CHAP transaction on a connected qp (host side). */
int host_qpair_authenticate(struct unvmf_host_qpair *qp, uint32_t timeout_ms,
                            struct unvmf_host_error *err);
/* Connects qp with Fabrics Connect (qid, sqsize, kato); fills *cntlid on success. */
int host_qpair_fabric_connect(struct unvmf_host_qpair *qp, uint16_t cntlid, uint32_t kato_ms,
			      uint32_t timeout_ms, uint16_t *cntlid_out,
			      struct unvmf_host_error *err);

/*
 * Lowers the number of commands a qpair may have outstanding (a transport
 * learning the controller's queue size at connect, e.g. NVMe/RDMA crqsize).
 * Only before the first submit: every slot must be free.
 */
static inline void host_qpair_limit_depth(struct unvmf_host_qpair *qp, uint16_t nreqs)
{
	if (nreqs == 0 || nreqs >= qp->nreqs || qp->nfree != qp->nreqs)
		return;
	qp->nreqs = nreqs;
	for (uint16_t i = 0; i < nreqs; i++)
		qp->free_stack[i] = (uint16_t)(nreqs - 1 - i);
	qp->nfree = nreqs;
}

/* True when the status in cqe is success. */
static inline bool host_cqe_ok(const struct nvme_cqe *cqe)
{
	return cqe->status.s.sct == 0 && cqe->status.s.sc == 0;
}
