#pragma once
/*
 * The NVMe-oF core: target, subsystems, namespaces, controllers, qpairs and
 * requests, independent of any transport.
 *
 * Threads and ownership:
 * - The control plane (subsystems, namespaces, hosts, listeners, transports)
 *   is changed on reactor 0 (RPC, config, startup). Controllers are created by
 *   Connect on poll-group threads. Both take g_tgt.lock; the I/O path never
 *   does.
 * - A qpair lives on one poll group for its whole life and is only touched on
 *   that thread. Other threads ask for its disconnect with
 *   unvmf_qpair_disconnect_async(), which finds it by id on its own thread,
 *   so a message can never name a freed qpair.
 * - A controller is shared by its qpairs and refcounted (one ref per
 *   connected qpair, under g_tgt.lock); the last qpair to leave frees it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "unvmf/nvme_spec.h"
#include "unvmf/nvmf_spec.h"
#include "bdev/bdev.h"
#include "util/common.h"
#include "proto/trid.h"

#define UNVMF_MAX_IOV 32
#define UNVMF_MAX_NAMESPACES 1024
#define UNVMF_MAX_AER 4
#define UNVMF_MAX_POLL_GROUPS 64
#define UNVMF_DEFAULT_SUBSYS_NQN "nqn.2024-11.io.unvmf:default"
#define UNVMF_SN_LEN 20
#define UNVMF_MN_LEN 40

struct unvmf_transport;
struct unvmf_transport_poll_group;
struct unvmf_poll_group;
struct unvmf_ctrlr;
struct unvmf_subsystem;
struct unvmf_qpair;

enum unvmf_xfer {
	UNVMF_XFER_NONE,
	UNVMF_XFER_HOST_TO_CONTROLLER,
	UNVMF_XFER_CONTROLLER_TO_HOST,
};

/*
 * The transport-independent part of a request; each transport embeds it in
 * its own request. The transport fills cmd, length, xfer and iov (data
 * buffers it owns, already holding the data for writes), then calls
 * unvmf_req_exec(). The core fills rsp and calls the transport's req_complete
 * exactly once.
 */
struct unvmf_req {
	struct unvmf_qpair *qpair;
	struct nvme_sqe cmd;
	struct nvme_cqe rsp;
	enum unvmf_xfer xfer;
	uint32_t length;
	struct iovec iov[UNVMF_MAX_IOV];
	int iovcnt;
	/* Core-private below. */
	struct unvmf_bdev_io bdev_io;
	struct unvmf_ns *ns;
	uint64_t start_us;
	uint32_t dsm_next;		/* Dataset Management: next range to submit */
	TAILQ_ENTRY(unvmf_req) link;	/* on the AER list or the core's outstanding list */
	bool aborted;
};

enum unvmf_qpair_state {
	UNVMF_QPAIR_UNCONNECTED,	/* transport-level connection, no Fabrics Connect yet */
	UNVMF_QPAIR_ACTIVE,		/* connected to a controller */
	UNVMF_QPAIR_DISCONNECTING,	/* teardown started; no new commands */
};

struct unvmf_qpair_stats {
	uint64_t requests;
	uint64_t read_bytes;
	uint64_t written_bytes;
	uint64_t errors;		/* completions with a non-success status */
};

struct unvmf_qpair {
	struct unvmf_transport *transport;
	struct unvmf_poll_group *group;
	struct unvmf_ctrlr *ctrlr;
	enum unvmf_qpair_state state;
	uint64_t id;			/* unique for the target's lifetime */
	uint16_t qid;
	uint16_t sq_size;		/* entries (1-based) */
	uint16_t sqhd;
	bool sq_flow_control_disabled;
	struct unvmf_trid peer;
	struct unvmf_trid local;
	char disconnect_reason[64];
	struct unvmf_qpair_stats stats;
	TAILQ_ENTRY(unvmf_qpair) group_link;
};

struct unvmf_ns {
	uint32_t nsid;
	struct unvmf_bdev *bdev;
	uint8_t uuid[16];
	uint8_t nguid[16];
	uint8_t eui64[8];
	bool has_nguid;
	bool has_eui64;
	/*
	 * Removal stores NULL in the subsystem's table, then visits every poll
	 * group and waits for its bdev channel to drain before releasing: a
	 * lookup and its submit happen within one poller call, so no atomic
	 * is needed on the I/O path.
	 */
	bool removing;
};

struct unvmf_host_entry {
	char nqn[UNVMF_NQN_BUF];
	TAILQ_ENTRY(unvmf_host_entry) link;
};

struct unvmf_listener {
	struct unvmf_trid trid;
	TAILQ_ENTRY(unvmf_listener) link;
};

enum unvmf_subsystem_type {
	UNVMF_SUBSYSTEM_NVME,
	UNVMF_SUBSYSTEM_DISCOVERY,
};

struct unvmf_subsystem {
	char nqn[UNVMF_NQN_BUF];
	enum unvmf_subsystem_type type;
	char serial[UNVMF_SN_LEN + 1];
	char model[UNVMF_MN_LEN + 1];
	bool allow_any_host;
	uint32_t max_namespaces;
	uint16_t min_cntlid;
	uint16_t max_cntlid;
	uint16_t next_cntlid;
	bool ana_reporting;
	struct unvmf_ns **ns;		/* [max_namespaces]; entry nsid-1; read lock-free on the I/O path */
	TAILQ_HEAD(, unvmf_host_entry) hosts;
	TAILQ_HEAD(, unvmf_listener) listeners;
	TAILQ_HEAD(, unvmf_ctrlr) ctrlrs;
	TAILQ_ENTRY(unvmf_subsystem) link;
	bool deleting;
};

struct unvmf_aer_event {
	uint32_t cdw0;
};

#define UNVMF_QUEUE_ERROR_RING 4	/* error records staged per qid until the admin thread collects them */

/* One error completion as its qpair's thread saw it; the admin thread numbers it. */
struct unvmf_error_record {
	uint16_t cid;
	uint16_t status;		/* CQE status field, phase tag clear */
	uint16_t param_loc;		/* byte << 0 | bit << 8 of the field in error, 0xffff if none */
	uint32_t nsid;
	uint64_t lba;
};

/*
 * A controller's counters and error staging for one qid. Written only by the
 * thread of the qpair connected on that qid (a later qpair on the same qid
 * connects only after the earlier one's unvmf_qpair_fini, and both sides hold
 * g_tgt.lock there, so the writers are ordered), read by the admin thread.
 * One writer: counters are relaxed load + store (plain moves, no locked
 * instruction), the error ring is single-producer/single-consumer.
 */
struct unvmf_ctrlr_queue_log {
	_Atomic uint64_t read_cmds;	/* successful Read commands */
	_Atomic uint64_t write_cmds;	/* successful Write commands */
	_Atomic uint64_t read_units;	/* 512-byte units read */
	_Atomic uint64_t write_units;	/* 512-byte units written */
	_Atomic uint32_t err_head;	/* producer's next slot */
	_Atomic uint32_t err_tail;	/* consumer's next slot */
	_Atomic uint64_t err_dropped;	/* errors that found the ring full */
	uint64_t err_dropped_seen;	/* consumer only */
	struct unvmf_error_record errors[UNVMF_QUEUE_ERROR_RING];
};

struct unvmf_ctrlr {
	struct unvmf_subsystem *subsys;
	uint16_t cntlid;
	char hostnqn[UNVMF_NQN_BUF];
	uint8_t hostid[16];
	struct unvmf_trid listen_trid;	/* the address the admin queue connected to */
	struct unvmf_trid host_trid;	/* the host's address */
	unsigned refs;			/* connected qpairs; under g_tgt.lock */
	struct unvmf_qpair *admin_qpair;	/* admin thread only */
	struct unvmf_poll_group *admin_group;
	uint64_t admin_qpair_id;
	uint16_t num_io_queues;		/* granted by Set Features Number of Queues; under g_tgt.lock */
	uint16_t max_qid;		/* the transport's limit */
	bool io_queue_created;		/* since the last enable; under g_tgt.lock */
	struct {
		struct unvmf_poll_group *group;
		uint64_t id;
	} *qpairs;			/* [max_qid + 1] by qid, under g_tgt.lock */
	struct unvmf_ctrlr_queue_log *qlog;	/* [max_qid + 1] by qid, see its comment */
	unsigned num_aborts;		/* Abort commands in flight, admin thread only */
	union nvme_cc_register cc;
	union nvme_csts_register csts;
	uint32_t kato_ms;
	_Atomic uint64_t last_keepalive_us;
	struct unvmf_poller *ka_poller;
	uint32_t aec;			/* async event configuration */
	/* Volatile Write Cache WCE; set on the admin thread, read by every I/O thread. */
	_Atomic bool vwc_enabled;
	bool failed;			/* fatal: every qpair is being disconnected */
	/* AER: outstanding requests and queued events, admin thread only. */
	struct unvmf_req *aer[UNVMF_MAX_AER];
	unsigned num_aer;
	struct unvmf_aer_event events[16];
	unsigned num_events;
	bool ns_changed_masked;		/* an NS-attr event is outstanding until the log is read */
	uint32_t changed_ns[1024];	/* changed namespace list (0xffffffff in [0] on overflow) */
	unsigned num_changed_ns;
	/* Error Information log, admin thread only: collected from qlog, oldest first. */
	uint64_t err_count;
	struct nvme_error_log_entry errors[16];
	unsigned num_errors;
	TAILQ_ENTRY(unvmf_ctrlr) link;
};

struct unvmf_pg_bdev_ch {
	struct unvmf_bdev *bdev;
	struct unvmf_bdev_channel *ch;
	struct unvmf_pg_bdev_ch *next;
};

struct unvmf_latency_hist {
	/* Log2 buckets of microseconds: bucket i counts latencies in [2^(i-1), 2^i). */
	uint64_t buckets[32];
	uint64_t count;
	uint64_t sum_us;
};

struct unvmf_poll_group_stats {
	uint64_t qpairs_current;
	uint64_t qpairs_total;
	uint64_t admin_qpairs_current;
	uint64_t io_qpairs_current;
	uint64_t requests_completed;
	uint64_t read_bytes;
	uint64_t written_bytes;
	uint64_t errors;
	struct unvmf_latency_hist latency;
};

/* One per reactor thread: the qpairs it polls, its bdev channels and counters. */
struct unvmf_poll_group {
	unsigned index;
	struct unvmf_thread *thread;
	struct unvmf_poller *poller;
	struct unvmf_transport_poll_group *tgroups[4];	/* indexed by transport slot */
	TAILQ_HEAD(, unvmf_qpair) qpairs;
	struct unvmf_pg_bdev_ch *channels;
	struct unvmf_poll_group_stats stats;
};

struct unvmf_referral {
	struct unvmf_trid trid;
	bool secure_channel;
	TAILQ_ENTRY(unvmf_referral) link;
};

struct unvmf_tgt_opts {
	uint32_t max_subsystems;
	uint32_t discovery_filter;	/* reserved: match_any */
};

struct unvmf_tgt {
	pthread_mutex_t lock;
	struct unvmf_tgt_opts opts;
	TAILQ_HEAD(, unvmf_subsystem) subsystems;
	unsigned num_subsystems;
	struct unvmf_subsystem *discovery;
	struct unvmf_transport *transports[4];
	unsigned num_transports;
	struct unvmf_poll_group *groups[UNVMF_MAX_POLL_GROUPS];
	unsigned num_groups;
	unsigned next_group;
	atomic_uint_fast64_t next_qpair_id;
	uint64_t discovery_genctr;
	TAILQ_HEAD(, unvmf_referral) referrals;
	bool fault_injection;
	bool shutting_down;
	atomic_uint live_qpairs;		/* qpairs between new_qpair and fini */
};

extern struct unvmf_tgt g_tgt;

/* ---- target lifecycle (reactor 0) ---- */
int unvmf_tgt_init(const struct unvmf_tgt_opts *opts);
/* Creates one poll group on every reactor; done(arg) on reactor 0 when all exist. */
int unvmf_tgt_create_poll_groups(void (*done)(void *arg, int rc), void *arg);
/* Disconnects every qpair, destroys groups, transports and subsystems; then done(arg). */
void unvmf_tgt_shutdown(void (*done)(void *arg), void *arg);
void unvmf_tgt_fini(void);

/* ---- subsystems (reactor 0, takes g_tgt.lock) ---- */
int unvmf_subsystem_create(const char *nqn, enum unvmf_subsystem_type type,
			   uint32_t max_namespaces, struct unvmf_subsystem **out);
/* Disconnects live controllers first, then frees; done(arg, rc) later on reactor 0. */
int unvmf_subsystem_delete(struct unvmf_subsystem *subsys, void (*done)(void *arg, int rc),
			   void *arg);
struct unvmf_subsystem *unvmf_subsystem_find(const char *nqn);
int unvmf_subsystem_set_sn(struct unvmf_subsystem *subsys, const char *sn);
int unvmf_subsystem_set_mn(struct unvmf_subsystem *subsys, const char *mn);
/* nsid 0 = first free. Returns the nsid or negative errno. */
int unvmf_subsystem_add_ns(struct unvmf_subsystem *subsys, struct unvmf_bdev *bdev, uint32_t nsid,
			   const uint8_t *uuid, const uint8_t *nguid, const uint8_t *eui64);
/* Waits for in-flight I/O on the namespace, then releases it; done later on reactor 0. */
int unvmf_subsystem_remove_ns(struct unvmf_subsystem *subsys, uint32_t nsid,
			      void (*done)(void *arg, int rc), void *arg);
int unvmf_subsystem_add_host(struct unvmf_subsystem *subsys, const char *hostnqn);
/* Also disconnects that host's controllers. */
int unvmf_subsystem_remove_host(struct unvmf_subsystem *subsys, const char *hostnqn);
void unvmf_subsystem_allow_any_host(struct unvmf_subsystem *subsys, bool allow);
bool unvmf_subsystem_host_allowed(struct unvmf_subsystem *subsys, const char *hostnqn);
/* Starts the transport listening (refcounted per address) and records it. */
int unvmf_subsystem_add_listener(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid);
/* Also disconnects qpairs that arrived through that listener. */
int unvmf_subsystem_remove_listener(struct unvmf_subsystem *subsys,
				    const struct unvmf_trid *trid);
bool unvmf_subsystem_has_listener(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid);
/* Raises a namespace-attribute-changed event on every controller of subsys. */
void unvmf_subsystem_ns_changed(struct unvmf_subsystem *subsys, uint32_t nsid);

int unvmf_tgt_add_referral(const struct unvmf_trid *trid, bool secure);
int unvmf_tgt_remove_referral(const struct unvmf_trid *trid);

/* ---- qpairs (called by transports) ---- */
void unvmf_qpair_init(struct unvmf_qpair *qpair, struct unvmf_transport *transport);
/* A new connection accepted on any thread: picks a poll group and hands it over. */
void unvmf_tgt_new_qpair(struct unvmf_qpair *qpair);
/*
 * The transport starts tearing the qpair down (qpair's thread). The core
 * completes, through req_complete, every request it parks (Async Event
 * Requests) so the transport can drain; requests in the bdev complete later.
 */
void unvmf_qpair_teardown_begin(struct unvmf_qpair *qpair);
/* The transport frees the qpair: detaches it from its controller and group (qpair's thread). */
void unvmf_qpair_fini(struct unvmf_qpair *qpair);
/* Asks the transport to tear the qpair down (qpair's thread). */
void unvmf_qpair_disconnect(struct unvmf_qpair *qpair, const char *reason);
/* From any thread, by id. */
void unvmf_qpair_disconnect_async(struct unvmf_poll_group *group, uint64_t qpair_id,
				  const char *reason);
bool unvmf_qpair_is_admin(const struct unvmf_qpair *qpair);

/* ---- requests (called by transports, on the qpair's thread) ---- */
/* Data direction of a command (Fabrics commands by fctype). */
enum unvmf_xfer unvmf_cmd_xfer(const struct nvme_sqe *cmd);
void unvmf_req_exec(struct unvmf_req *req);
/* Completes without executing, with the given status (e.g. a bad SGL seen by the transport). */
void unvmf_req_complete_status(struct unvmf_req *req, uint8_t sct, uint8_t sc);
/* Hands a request with its rsp filled to the transport. */
void unvmf_req_complete(struct unvmf_req *req);
static inline void unvmf_req_set_status(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	req->rsp.status.s.sct = sct;
	req->rsp.status.s.sc = sc;
	req->rsp.status.s.dnr = (sct != NVME_SCT_GENERIC || sc != NVME_SC_SUCCESS) ? 1 : 0;
}

/* ---- inside the core ---- */
struct unvmf_bdev_channel *unvmf_poll_group_channel(struct unvmf_poll_group *group,
						    struct unvmf_bdev *bdev);
struct unvmf_poll_group *unvmf_poll_group_current(void);
/* Releases the group's channel on bdev once nothing is outstanding; true if released. */
bool unvmf_poll_group_release_channel(struct unvmf_poll_group *group, struct unvmf_bdev *bdev);
/* Keep Alive Timeout from Connect or Set Features, rounded up to KAS (100 ms). */
void unvmf_ctrlr_set_kato(struct unvmf_ctrlr *ctrlr, uint32_t kato_ms);
void unvmf_ctrlr_exec_admin(struct unvmf_req *req);
void unvmf_ctrlr_exec_fabrics(struct unvmf_req *req);
void unvmf_io_exec(struct unvmf_req *req);
void unvmf_discovery_log(const char *hostnqn, const struct unvmf_trid *local, void *buf,
			 uint64_t offset, uint32_t length);
void unvmf_ctrlr_qpair_gone(struct unvmf_qpair *qpair);
void unvmf_ctrlr_aer_abort_all(struct unvmf_ctrlr *ctrlr);
/* Stages an error completion of req (req's thread); false if the qid's ring is full. */
bool unvmf_ctrlr_error_post(struct unvmf_ctrlr *ctrlr, const struct unvmf_req *req);
/* Moves staged errors into ctrlr->errors, numbering them (admin thread). */
void unvmf_ctrlr_errors_collect(struct unvmf_ctrlr *ctrlr);
/* Single-writer counter bump (see struct unvmf_ctrlr_queue_log). */
static inline void unvmf_counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}
/* Under g_tgt.lock: asks every qpair of ctrlr to disconnect. */
void unvmf_ctrlr_disconnect_all_locked(struct unvmf_ctrlr *ctrlr, const char *reason);
void unvmf_ctrlr_get_locked(struct unvmf_ctrlr *ctrlr);
void unvmf_ctrlr_put(struct unvmf_ctrlr *ctrlr);
void unvmf_ctrlr_put_locked(struct unvmf_ctrlr *ctrlr);
void unvmf_latency_hist_add(struct unvmf_latency_hist *hist, uint64_t us);
