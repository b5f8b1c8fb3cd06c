#pragma once
/*
 * The seam between the core and a transport (tcp, rdma). A transport owns its
 * connections, its requests and their data buffers; the core never allocates
 * for it. Every op runs on the thread documented beside it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvmf/nvmf.h"
#include "util/json_params.h"

struct json_t;
struct nvmf_discovery_log_entry;

/*
 * Room for a transport's own options inside unvmf_transport_opts. The core
 * copies it with the struct and never looks inside; the transport overlays its
 * own struct (static_assert that it fits), as sockaddr_storage is used (the
 * build has -fno-strict-aliasing). Kept inline rather than allocated so that
 * opts stay a plain value callers copy, with nothing to free.
 */
#define UNVMF_TRANSPORT_OPTS_SPECIFIC_SIZE 256

union unvmf_transport_opts_specific {
	uint64_t align_u64;
	void *align_ptr;
	unsigned char bytes[UNVMF_TRANSPORT_OPTS_SPECIFIC_SIZE];
};

/* The options every transport shares; the rest is in specific, owned by the transport. */
struct unvmf_transport_opts {
	enum nvmf_trtype trtype;
	uint32_t max_queue_depth; /* I/O queue entries */
	uint32_t max_aq_depth;    /* admin queue entries */
	uint32_t max_io_qpairs_per_ctrlr;
	uint32_t in_capsule_data_size;
	uint32_t max_io_size;
	uint32_t io_unit_size;
	uint32_t num_shared_buffers;
	uint32_t buf_cache_size;
	uint32_t abort_timeout_sec;
	bool busy_poll;
	struct unvmf_qpair_limits limits; /* enforced by the core (nvmf/limits.c) */
	union unvmf_transport_opts_specific specific;
};

struct unvmf_transport_ops {
	/* The trtype's name in trids, RPCs and logs; matched without regard to case. */
	const char *name;
	enum nvmf_trtype trtype;
	/* Sets every option, common and specific, to the transport's defaults. */
	void (*opts_init)(struct unvmf_transport_opts *opts);
	/*
	 * The entry of name in the transport's own JSON parameter table, or NULL.
	 * The RPC layer uses it to route a parameter, and to accept one of
	 * another transport's parameters when its value is one of the entry's
	 * neutral values (rpc.py sends other transports' defaults), refusing it
	 * by name otherwise.
	 */
	const struct unvmf_json_param *(*opts_accepts)(const char *name);
	/*
	 * Decodes the transport's own JSON parameters (an object holding only
	 * those, borrowed) into opts->specific, on top of opts_init's defaults.
	 * 0, or -EINVAL with err naming the parameter (unknown, wrong type, out of
	 * range). Strings in params are borrowed: what opts keeps must outlive
	 * them (RDMA maps its provider name to a literal). Thread that owns opts.
	 */
	int (*opts_decode)(struct unvmf_transport_opts *opts, const struct json_t *params,
	                   char *err, size_t err_len);
	/* Adds its own parameters to a JSON object (nvmf_get_transports, save_config). */
	void (*opts_dump)(const struct unvmf_transport_opts *opts, struct json_t *obj);
	/*
	 * Fills the transport-specific fields of a discovery log entry for an
	 * address of this trtype (TSAS); the common fields are already set.
	 */
	void (*listener_discover)(const struct unvmf_trid *trid,
	                          struct nvmf_discovery_log_entry *entry);
	/* Reactor 0. */
	int (*create)(const struct unvmf_transport_opts *opts, struct unvmf_transport **out);
	void (*destroy)(struct unvmf_transport *transport);
	int (*listen)(struct unvmf_transport *transport, const struct unvmf_trid *trid);
	void (*stop_listen)(struct unvmf_transport *transport, const struct unvmf_trid *trid);
	/*
	 * Optional: listen() with options (a secure channel). Without it, the
	 * core refuses a listener that asks for one.
	 */
	int (*listen_ext)(struct unvmf_transport *transport, const struct unvmf_trid *trid,
	                  const struct unvmf_listen_opts *opts);
	/* On each poll group's thread. */
	struct unvmf_transport_poll_group *(*poll_group_create)(struct unvmf_transport *transport,
	                                                        struct unvmf_poll_group *group);
	void (*poll_group_destroy)(struct unvmf_transport_poll_group *tgroup);
	/* Returns > 0 when it did work. */
	int (*poll_group_poll)(struct unvmf_transport_poll_group *tgroup);
	/* Takes a new connection onto this group (group's thread). */
	int (*poll_group_add)(struct unvmf_transport_poll_group *tgroup, struct unvmf_qpair *qpair);
	/* The core is done with req: send data/response, or just release it if the qpair is going.
	 */
	void (*req_complete)(struct unvmf_req *req);
	/* Starts teardown; the transport calls unvmf_qpair_fini() when it has let go of everything.
	 */
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
	unsigned slot; /* index into poll group tgroups[] */
};

struct unvmf_transport_poll_group {
	struct unvmf_transport *transport;
	struct unvmf_poll_group *group;
};

/* The options every transport shares, at SPDK's defaults; transports then set their own. */
void unvmf_transport_opts_defaults(struct unvmf_transport_opts *opts, enum nvmf_trtype trtype);

/*
 * Registered transport implementations. Registration happens before the
 * reactors start (the application's built-in list, or a test); lookups by
 * name ignore case. unvmf_transport_ops_get walks them in registration order.
 */
int unvmf_transport_register(const struct unvmf_transport_ops *ops);
const struct unvmf_transport_ops *unvmf_transport_ops_find(enum nvmf_trtype trtype);
const struct unvmf_transport_ops *unvmf_transport_ops_find_by_name(const char *name);
const struct unvmf_transport_ops *unvmf_transport_ops_get(unsigned index);
/* The trtype's registered name, else the NVMe name of the code (log messages). */
const char *unvmf_transport_trtype_name(enum nvmf_trtype trtype);

/*
 * A transport decodes its own JSON parameters with util/json_params.h: a
 * table of fields of its options struct, with ranges, and rows for SPDK's
 * parameters it has no option for. This names the method they come with in
 * the once-only log of the latter.
 */
#define UNVMF_TRANSPORT_PARAMS_METHOD "nvmf_create_transport"

/*
 * SPDK's parameters that every transport shares (or that belong to a
 * transport unvmf does not have, such as VFIOUSER) and unvmf has no option
 * for: the entry of name, or NULL.
 */
const struct unvmf_json_param *unvmf_transport_common_param(const char *name);
/*
 * Another transport's parameter p (owner: that transport's name) sent to
 * this one: 0 when v is one of p's neutral values, else -EINVAL with err.
 */
int unvmf_transport_param_accept_foreign(const struct unvmf_json_param *p, const char *owner,
                                         const struct json_t *v, char *err, size_t err_len);

/*
 * The core's qpair limits as JSON parameters, for a transport's opts_accepts,
 * opts_decode and opts_dump: every transport speaks them under the same names.
 * decode takes only these members (the transport splits its params); it
 * writes limits only when all of them are valid.
 */
const struct unvmf_json_param *unvmf_qpair_limits_accepts(const char *name);
int unvmf_qpair_limits_decode(struct unvmf_qpair_limits *limits, const struct json_t *params,
                              char *err, size_t err_len);
void unvmf_qpair_limits_dump(const struct unvmf_qpair_limits *limits, struct json_t *obj);
/*
 * The checks every transport's opts_check makes of the common options (queue
 * depths, I/O and buffer sizes, in-capsule data size), logged under name: 0
 * or -EINVAL.
 */
int unvmf_transport_opts_check_common(const struct unvmf_transport_opts *o, const char *name);

/* Target-level: creates the transport and its per-group parts on every poll group. */
int unvmf_tgt_add_transport(const struct unvmf_transport_opts *opts,
                            void (*done)(void *arg, int rc), void *arg);
struct unvmf_transport *unvmf_tgt_find_transport(enum nvmf_trtype trtype);
/* The target's transports in creation order; NULL past the last (reactor 0). */
struct unvmf_transport *unvmf_tgt_transport_get(unsigned index);
