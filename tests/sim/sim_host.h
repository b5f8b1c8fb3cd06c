#pragma once
/*
 * A host played at the provider seam, event-driven: sim_host_poll() never
 * waits, it reacts to what the fabric delivered since the last call. Each
 * host is one controller (admin queue + I/O queues); any failure of any of
 * its queues tears the whole controller down and, after a pause, it
 * connects again (a new controller), like the Linux host's reconnect.
 *
 * The namespace shadows (struct sim_ns, one per namespace) are shared by all
 * hosts: a block is busy while any command covers it, and its tag says which
 * write last landed there (0 never written: reads back as zeroes,
 * SIM_TAG_FENCED unknown for good). Tags are unique across namespaces and
 * the pattern names the namespace too, so a block that reads back another
 * namespace's data, stale data or zeroes is told apart.
 */
#include <stdbool.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"
#include "sim.h"
#include "rdma_sim.h"

#define SIM_TAG_FENCED 0xffffffffu
#define SIM_SUBNQN "nqn.2024-11.io.unvmf:default"
#define SIM_PORT 4420
#define SIM_CAPSULE_BYTES (64u + 4096u)
#define SIM_MAX_NS 3

struct sim_ns {
	uint32_t nsid;
	uint32_t num_blocks;
	uint32_t *tag;
	uint8_t *busy;
};

enum sim_qstate {
	SIM_Q_OFF,
	SIM_Q_RESOLVING,
	SIM_Q_CONNECTING,
	SIM_Q_FCONNECT,		/* Fabrics Connect sent */
	SIM_Q_ENABLING,		/* admin: Property Set CC.EN sent */
	SIM_Q_WAIT_RDY,		/* admin: Property Get CSTS sent */
	SIM_Q_READY,
};

enum sim_cmd_kind {
	SIM_CMD_CONNECT,
	SIM_CMD_PROP,
	SIM_CMD_WRITE,
	SIM_CMD_READ,
	SIM_CMD_FLUSH,
	SIM_CMD_KEEPALIVE,
	SIM_CMD_IDENTIFY,
	SIM_CMD_BAD_SGL,	/* a read described as in-capsule data: must be refused */
};

struct sim_slot {
	bool busy;
	enum sim_cmd_kind kind;
	uint32_t nsid, lba, nblocks, tag;
	/* Read whose SGL is longer than its data: bytes [nblocks * 512, sgl_len) must stay as filled. */
	uint32_t sgl_len;
	uint64_t issued;
	/* Invalidate-Key SGL: an MR of its own that the response must invalidate. */
	struct rdma_prov_mr *inv_mr;
};

struct sim_qp {
	struct sim_host *h;
	uint16_t qid;
	uint16_t qsize;
	enum sim_qstate state;
	uint64_t state_since;
	struct rdma_prov_id *id;
	struct rdma_prov_cq *cq;
	struct rdma_prov_qp *qp;
	uint8_t *cmds;
	uint8_t *rsps;		/* qsize CQEs of 16 bytes */
	uint8_t *data;		/* qsize slots of max_io bytes */
	struct rdma_prov_mr *cmd_mr, *rsp_mr, *data_mr;
	struct sim_slot *slots;
	uint32_t inflight;
	/* Responses received: the n-th must carry SQHD n mod qsize (Connect starts at 0). */
	uint32_t responses;
};

enum sim_hstate {
	SIM_H_DOWN,
	SIM_H_CONNECTING,
	SIM_H_UP,
};

struct sim_host {
	uint32_t index;
	struct sim_world *w;
	struct rdma_sim_node *node;
	const struct rdma_provider *prov;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_channel *ch;
	struct rdma_prov_pd *pd;
	enum sim_hstate state;
	uint16_t cntlid;
	uint32_t num_ioq;
	uint16_t qsize;
	uint8_t read_depth;
	/* Workload profile: percent of reads among data commands, percent of max-size I/Os. */
	uint8_t read_pct;
	uint8_t big_pct;
	/* Namespaces it does I/O to (bit nsid - 1); its first one gets most of it. */
	uint8_t ns_mask;
	struct sim_qp qps[1 + SIM_MAX_IOQ];	/* [0] admin */
	uint64_t reconnect_at;
	uint64_t last_ka;
	bool ka_stopped;
	bool cut;
	uint64_t cut_until;
	uint64_t rng;
	uint64_t failures;
	uint64_t connects;
};

/* What hosts share: the fabric, the clock, the namespace and the figures. */
struct sim_world {
	struct rdma_sim_fabric *fabric;
	uint64_t step;
	uint32_t max_io;
	uint32_t icd;
	uint32_t kato_ms;
	uint32_t ka_every;		/* steps between keep-alives */
	uint32_t cmd_timeout;		/* steps before a host gives a command up */
	bool quiesce;			/* no new I/O: the end phase */
	struct sim_ns ns[SIM_MAX_NS];
	uint32_t num_ns;
	uint32_t next_tag;
	uint64_t corruptions;
	char corruption[200];
	struct sim_stats *stats;
	bool verbose;
};

int sim_host_init(struct sim_host *h, struct sim_world *w, uint32_t index,
		  struct rdma_sim_node *node);
/* Tears everything down at once (disconnect, free); the host ends DOWN. */
void sim_host_close(struct sim_host *h);
void sim_host_fini(struct sim_host *h);
/* Reacts to CM events and completions, moves connections on, submits I/O. */
void sim_host_poll(struct sim_host *h);
/* The host's QP of queue qp (admin 0), or NULL when not connected. */
struct rdma_prov_qp *sim_host_qp(struct sim_host *h, uint32_t qp);
struct rdma_prov_id *sim_host_id(struct sim_host *h, uint32_t qp);
/* Submits a read of [lba, lba+n) of nsid on a ready I/O queue for the end check; false if none free. */
bool sim_host_submit_read(struct sim_host *h, uint32_t nsid, uint32_t lba, uint32_t n);
bool sim_host_idle(const struct sim_host *h);
