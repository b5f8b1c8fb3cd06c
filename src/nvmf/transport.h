#pragma once
/*
 * The seam between the core and a transport (tcp, rdma). A transport owns its
 * connections, its requests and their data buffers; the core never allocates
 * for it. Every op runs on the thread documented beside it.
 */
#include <stdbool.h>
#include <stdint.h>

#include "nvmf/nvmf.h"

struct json_t;

struct unvmf_transport_opts {
	enum nvmf_trtype trtype;
	uint32_t max_queue_depth;	/* I/O queue entries */
	uint32_t max_aq_depth;		/* admin queue entries */
	uint32_t max_io_qpairs_per_ctrlr;
	uint32_t in_capsule_data_size;
	uint32_t max_io_size;
	uint32_t io_unit_size;
	uint32_t num_shared_buffers;
	uint32_t buf_cache_size;
	uint32_t abort_timeout_sec;
	bool busy_poll;
	struct {
		bool c2h_success;	/* skip CapsuleResp after a successful read */
		uint32_t sock_priority;
		uint32_t ack_timeout_ms;	/* TCP_USER_TIMEOUT; 0 = the kernel's */
	} tcp;
	struct {
		uint32_t max_srq_depth;
		bool no_srq;
		uint32_t num_cqe;
		int32_t acceptor_backlog;
		uint8_t ack_timeout;	/* 4.096 us << n per try; 0 = infinite */
		uint8_t retry_count;	/* 0..7; 7 = forever on Soft-RoCE */
		uint8_t rnr_retry_count;
		uint32_t max_read_depth;	/* RDMA READs outstanding per qpair we ask for */
		const char *provider;	/* "verbs" or "sim" */
		void *provider_ctx;	/* sim: the struct rdma_sim_node * the target runs on */
	} rdma;
};

struct unvmf_transport_ops {
	const char *name;		/* "TCP", "RDMA" */
	enum nvmf_trtype trtype;
	void (*opts_init)(struct unvmf_transport_opts *opts);
	/* Reactor 0. */
	int (*create)(const struct unvmf_transport_opts *opts, struct unvmf_transport **out);
	void (*destroy)(struct unvmf_transport *transport);
	int (*listen)(struct unvmf_transport *transport, const struct unvmf_trid *trid);
	void (*stop_listen)(struct unvmf_transport *transport, const struct unvmf_trid *trid);
	/* On each poll group's thread. */
	struct unvmf_transport_poll_group *(*poll_group_create)(struct unvmf_transport *transport,
								 struct unvmf_poll_group *group);
	void (*poll_group_destroy)(struct unvmf_transport_poll_group *tgroup);
	/* Returns > 0 when it did work. */
	int (*poll_group_poll)(struct unvmf_transport_poll_group *tgroup);
	/* Takes a new connection onto this group (group's thread). */
	int (*poll_group_add)(struct unvmf_transport_poll_group *tgroup, struct unvmf_qpair *qpair);
	/* The core is done with req: send data/response, or just release it if the qpair is going. */
	void (*req_complete)(struct unvmf_req *req);
	/* Starts teardown; the transport calls unvmf_qpair_fini() when it has let go of everything. */
	void (*qpair_disconnect)(struct unvmf_qpair *qpair);
	/* Abort of a command by cid (Abort admin command): 0 if aborted, -ENOENT if not found. */
	int (*qpair_abort_request)(struct unvmf_qpair *qpair, uint16_t cid);
	/* Transport-specific counters for nvmf_get_stats (jansson object to fill). */
	void (*poll_group_dump_stats)(struct unvmf_transport_poll_group *tgroup, void *json_obj);
	/* Fills the transport-specific Identify Controller fields (ioccsz, msdbd, sgls). */
	void (*cdata_init)(struct unvmf_transport *transport, struct nvme_id_ctrl *cdata);
	/* Runtime fault injection (--enable-fault-injection). */
	int (*inject_fault)(struct unvmf_qpair *qpair, const char *kind);
	/*
	 * Optional, reactor 0: arms a one-shot fault on the transport for the next
	 * qpair that matches (qpair_id 0, cntlid / qid -1 = any), e.g. "the next
	 * request to reach a state". 0, -EINVAL (err names the parameter), -EBUSY;
	 * -EOPNOTSUPP when kind is not a transport-level fault.
	 */
	int (*inject_fault_arm)(struct unvmf_transport *transport, const char *kind,
				uint64_t qpair_id, int32_t cntlid, int32_t qid, char *err,
				size_t err_len);
};

struct unvmf_transport {
	const struct unvmf_transport_ops *ops;
	struct unvmf_transport_opts opts;
	unsigned slot;			/* index into poll group tgroups[] */
};

struct unvmf_transport_poll_group {
	struct unvmf_transport *transport;
	struct unvmf_poll_group *group;
};

/* The options every transport shares, at SPDK's defaults; transports then set their own. */
void unvmf_transport_opts_defaults(struct unvmf_transport_opts *opts, enum nvmf_trtype trtype);

/* Registered transport implementations. */
const struct unvmf_transport_ops *unvmf_transport_ops_find(enum nvmf_trtype trtype);
void unvmf_transport_register(const struct unvmf_transport_ops *ops);

/* Target-level: creates the transport and its per-group parts on every poll group. */
int unvmf_tgt_add_transport(const struct unvmf_transport_opts *opts,
			    void (*done)(void *arg, int rc), void *arg);
struct unvmf_transport *unvmf_tgt_find_transport(enum nvmf_trtype trtype);
