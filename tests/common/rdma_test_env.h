#pragma once
/*
 * In-process NVMe/RDMA test bench over the sim fabric, shared by the RDMA
 * end-to-end tests (tests/e2e/test_rdma_*.c and others):
 *
 *  - the target: reactors on background threads, one 64 MiB RAM namespace in
 *    nqn.2024-11.io.unvmf:default, the RDMA transport on node "sim:tgt"
 *    listening on port 4420;
 *  - a host played at the provider seam on the test's thread (node
 *    "sim:host"): CM connect with NVMe-oF private data, capsules with keyed
 *    SGLs (plain, with invalidate, as a last-segment list) or in-capsule
 *    data, responses on its receive queue. The test thread also steps the
 *    fabric; the sim serializes every entry point with its fabric lock.
 *
 * RDMA-only, and alone in its file, so that a build without the RDMA
 * transport can leave rdma_test_env.c out of the test-common library. Every use of the RDMA
 * fields of struct unvmf_transport_opts by the tests goes through the
 * rte_opts_* functions here.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nvmf/nvmf.h"
#include "nvmf/transport.h"
#include "app/tgt_app.h"
#include "rdma_sim.h"
#include "reactor/reactor.h"
#include "util/log.h"

#define RTE_SUBNQN UNVMF_DEFAULT_SUBSYS_NQN
#define RTE_HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define RTE_NS_BLOCKS (64ull * 1024 * 1024 / 512)
#define RTE_PORT 4420
#define RTE_MAX_IO 131072u
#define RTE_TIMEOUT_MS 10000
/* Host capsule buffers: command + in-capsule data (the target's default 4 KiB). */
#define RTE_CAPSULE_BYTES (64u + 4096u)


/*
 * When set before rte_start: the target also serves JSON-RPC (the stats and
 * fault-injection methods) on this UNIX socket, with fault injection enabled,
 * as unvmf-tgt --enable-fault-injection would.
 */
extern const char *g_rte_rpc_path;

struct rte {
	struct rdma_sim_fabric *fabric;
	struct rdma_sim_node *tnode, *hnode;
	struct unvmf_transport_opts opts;
	atomic_int ready;
	atomic_int stopped;
	int rc;
};

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t rte_now_ms(void);

/*
 * The completion of unvmf_tgt_add_transport in rte_start: adds the sim listener
 * (sim:tgt, RTE_PORT) to RTE_SUBNQN and marks e (the arg) ready or failed.
 */
void rte_listen_done(void *arg, int rc);

/* The RDMA transport's defaults with the bench's pool and queue sizes on the sim provider. */
void rte_opts_default(struct unvmf_transport_opts *o);

/* Whether the RDMA transport uses per-qpair receive queues instead of a shared one. */
void rte_opts_no_srq(struct unvmf_transport_opts *o, bool no_srq);

/* The RDMA transport's SRQ depth and CQ size. */
void rte_opts_queue_sizes(struct unvmf_transport_opts *o, uint32_t max_srq_depth, uint32_t num_cqe);

/* Points opts at e's sim target node (what rte_start does to the opts it is given). */
void rte_opts_sim_node(struct unvmf_transport_opts *o, const struct rte *e);

/* Starts the target with opts (provider_ctx is set here); 0 or -errno. */
int rte_start(struct rte *e, const struct unvmf_transport_opts *opts, uint64_t cpumask,
              uint64_t seed);

/*
 * Shuts the target down (stepping the fabric so that flushes and CM events
 * flow), then checks the fabric holds no object any more. Returns the
 * number of objects left (0 = clean) or -ETIMEDOUT.
 */
int rte_stop(struct rte *e);

enum rte_sgl {
	RTE_SGL_KEYED,     /* one keyed data block */
	RTE_SGL_KEYED_INV, /* keyed, Invalidate Key: a fresh MR the response invalidates */
	RTE_SGL_MULTI,     /* last-segment list of up to 4 keyed blocks, in the capsule */
	RTE_SGL_ICD,       /* in-capsule data (writes only) */
};

struct rte_slot {
	bool busy;
	bool done;
	struct nvme_cqe cqe;
	uint32_t inv_rkey; /* RTE_SGL_KEYED_INV: the rkey to see invalidated */
	bool invalidated;
	struct rdma_prov_mr *inv_mr;
};

struct rte_host {
	struct rte *e;
	const struct rdma_provider *prov;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_channel *ch;
	struct rdma_prov_pd *pd;
	uint8_t hostid[16];
	uint16_t cntlid;
};

struct rte_qp {
	struct rte_host *h;
	struct rdma_prov_id *id;
	struct rdma_prov_cq *cq;
	struct rdma_prov_qp *qp;
	uint16_t qid;
	uint16_t qsize;
	uint32_t icd; /* in-capsule bytes the target takes */
	uint32_t crqsize;
	uint16_t reject_sts;   /* a rejected connect's NVMe-oF status */
	uint8_t *cmds;         /* qsize capsules */
	struct nvme_cqe *rsps; /* qsize receive buffers */
	uint8_t *data;         /* qsize slots of RTE_MAX_IO */
	struct rdma_prov_mr *cmd_mr, *rsp_mr, *data_mr;
	struct rte_slot *slots;
	bool failed; /* a WC error or DISCONNECTED */
	uint32_t send_errors;
};

/* One step of the sim fabric (the host side has no thread of its own). */
void rte_pump(struct rte_host *h);

/* Opens the host node "sim:host" of e's fabric: context, CM channel, PD; 0 or -errno. */
int rte_host_init(struct rte_host *h, struct rte *e);

/* Releases what rte_host_init opened (every qp closed first). */
void rte_host_fini(struct rte_host *h);

/* Destroys the host qp and its buffers and MRs, without a CM disconnect. */
void rte_qp_free(struct rte_qp *q);

/*
 * RDMA CM connect with the NVMe-oF private data. resp_res is what the host
 * grants the target as RDMA READ depth. Returns 0, -ECONNREFUSED (reject,
 * q->reject_sts set) or another -errno.
 */
int rte_qp_connect(struct rte_host *h, struct rte_qp *q, uint16_t qid, uint16_t qsize,
                   uint8_t resp_res);

/* Reaps the host CQ: responses complete slots; errors mark the qp failed. */
int rte_qp_poll(struct rte_qp *q);

/* Slot cid's data buffer (RTE_MAX_IO bytes). */
uint8_t *rte_slot_data(struct rte_qp *q, uint16_t cid);

/*
 * Sends sqe as command cid with len bytes of data in slot cid's buffer
 * (host_to_ctrl: already filled there) described as mode says.
 */
int rte_qp_submit(struct rte_qp *q, uint16_t cid, const struct nvme_sqe *sqe, uint32_t len,
                  bool host_to_ctrl, enum rte_sgl mode);

/* Waits for cid's response; 0 with *cqe, -ETIMEDOUT, or -ECONNRESET if the qp failed. */
int rte_qp_wait(struct rte_qp *q, uint16_t cid, struct nvme_cqe *cqe);

/* rte_qp_submit with cid 0 and rte_qp_wait, data copied to/from slot 0's buffer. */
int rte_qp_exec(struct rte_qp *q, const struct nvme_sqe *sqe, void *data, uint32_t len,
                bool host_to_ctrl, enum rte_sgl mode, struct nvme_cqe *cqe);

/* Admin queue: CM connect, Fabrics Connect, CC.EN = 1, wait for CSTS.RDY. */
int rte_ctrlr_connect(struct rte_host *h, struct rte_qp *admin);

/* I/O queue: CM connect granting read depth resp_res, then Fabrics Connect. */
int rte_io_connect(struct rte_host *h, struct rte_qp *q, uint16_t qid, uint16_t qsize,
                   uint8_t resp_res);

/* A Read or Write of nblocks at lba on namespace 1 (512-byte blocks). */
void rte_rw_sqe(struct nvme_sqe *sqe, bool write, uint64_t lba, uint32_t nblocks);

/* Fills b with a pattern derived from seed (same seed, same bytes). */
void rte_pattern(uint8_t *b, uint32_t len, uint32_t seed);

/* The CM disconnect of a host qp, then its teardown. */
void rte_qp_close(struct rte_qp *q);

/* Every poll group's RDMA stats (an array; json_decref it). */
json_t *rte_stats(void);

/* The sum of an integer counter over the poll groups of rte_stats. */
uint64_t rte_stat_sum(json_t *groups, const char *key);

/* The sum over the poll groups of the WC errors with status (wc.errors_by_status). */
uint64_t rte_wc_status(json_t *groups, const char *status);

/* Whether some request saw event in state (the drain map of state_events). */
bool rte_state_saw(json_t *groups, const char *state, const char *event);

/* The target-side stats object of the qpair (cntlid, qid), or NULL; borrowed from groups. */
json_t *rte_qpair_stats(json_t *groups, uint16_t cntlid, uint16_t qid);

/* The number of the qpair's requests in state (0 when q is NULL). */
uint64_t rte_qpair_in_state(json_t *q, const char *state);

/* The operator's fault injection (nvmf_rdma_inject_fault) on one target qpair. */
int rte_inject(uint64_t qpair_id, const char *kind);

/* The target QP number behind a host qp (for sim faults). */
uint32_t rte_target_qpn(struct rte_qp *q);
