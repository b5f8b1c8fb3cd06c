#pragma once
/*
 * What only the core (src/nvmf) and its plugins, the transports, may see: the
 * layouts of the target, subsystems, namespaces, controllers and poll groups,
 * the target lock, and the functions the core's files call on each other.
 * Everything else (the control plane: src/rpc, the app) goes through nvmf.h.
 *
 * Locking: g_tgt.lock guards the subsystem list, each subsystem's hosts,
 * listeners, namespace table and controller list, controller refs and qpair
 * slots, and the referrals. Reactor 0 is the only thread that adds to or
 * removes from the subsystem list, so code on reactor 0 may walk it without
 * the lock; every other reader takes it.
 */
#include "nvmf/nvmf.h"
#include "nvmf/reservation.h"

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
	/* Compare and Write against other writes to its range (range_lock.c). */
	pthread_mutex_t range_mu;
	_Atomic uint32_t range_locks;              /* locks in ranges; writes look here first */
	_Atomic uint32_t range_users; /* locks from acquire to release: removal waits for 0 */
	LIST_HEAD(, unvmf_range_lock) ranges;      /* under range_mu */
	LIST_HEAD(, unvmf_req) writes;             /* writes counted the slow way, under range_mu */
	LIST_HEAD(, unvmf_req) blocked;            /* writes waiting for a lock, under range_mu */
	struct unvmf_ns_group_writes *fast_writes; /* [UNVMF_MAX_POLL_GROUPS], by group index */
	struct unvmf_resv resv;                    /* persistent reservations (reservation.c) */
};

/* Writes one poll group has in flight on a namespace unseen by range_mu; one writer. */
struct unvmf_ns_group_writes {
	_Alignas(64) _Atomic uint32_t n;
};

/*
 * A Compare and Write's hold on [slba, slba + nlb) of ns. Lives in the
 * allocation of the fused pair's compare buffer; owner thread only, except
 * link and the fields range_mu guards.
 */
struct unvmf_range_lock {
	struct unvmf_ns *ns;
	uint64_t slba;
	uint64_t nlb;
	struct unvmf_req *first;                   /* the Compare */
	struct unvmf_req *second;                  /* the Write */
	void (*held)(struct unvmf_range_lock *lk); /* on the owner's thread once held */
	struct unvmf_poller *poller;
	bool inserted; /* in ns->ranges */
	bool failed;   /* could not wait for the range: held() must fail the pair */
	bool active;   /* between acquire and release */
	LIST_ENTRY(unvmf_range_lock) link;
};

struct unvmf_host_entry {
	char nqn[UNVMF_NQN_BUF];
	char psk[UNVMF_KEY_NAME_BUF]; /* keyring name of its TLS PSK; empty: none */
	char dhchap_key[UNVMF_KEY_NAME_BUF];       /* keyring name of its DH-HMAC-CHAP secret */
	char dhchap_ctrlr_key[UNVMF_KEY_NAME_BUF]; /* the controller's secret (bidirectional) */
	TAILQ_ENTRY(unvmf_host_entry) link;
};

struct unvmf_listener {
	struct unvmf_trid trid;
	bool secure_channel;
	TAILQ_ENTRY(unvmf_listener) link;
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
	struct unvmf_ns **ns; /* [max_namespaces]; entry nsid-1; read lock-free on the I/O path */
	TAILQ_HEAD(, unvmf_host_entry) hosts;
	TAILQ_HEAD(, unvmf_listener) listeners;
	TAILQ_HEAD(, unvmf_ctrlr) ctrlrs;
	TAILQ_ENTRY(unvmf_subsystem) link;
	bool deleting;
};

struct unvmf_aer_event {
	uint32_t cdw0;
};

#define UNVMF_QUEUE_ERROR_RING                                                                     \
	4 /* error records staged per qid until the admin thread collects them */

/* One error completion as its qpair's thread saw it; the admin thread numbers it. */
struct unvmf_error_record {
	uint16_t cid;
	uint16_t status;    /* CQE status field, phase tag clear */
	uint16_t param_loc; /* byte << 0 | bit << 8 of the field in error, 0xffff if none */
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
	_Atomic uint64_t read_cmds;   /* successful Read commands */
	_Atomic uint64_t write_cmds;  /* successful Write commands */
	_Atomic uint64_t read_units;  /* 512-byte units read */
	_Atomic uint64_t write_units; /* 512-byte units written */
	_Atomic uint32_t err_head;    /* producer's next slot */
	_Atomic uint32_t err_tail;    /* consumer's next slot */
	_Atomic uint64_t err_dropped; /* errors that found the ring full */
	uint64_t err_dropped_seen;    /* consumer only */
	struct unvmf_error_record errors[UNVMF_QUEUE_ERROR_RING];
};

struct unvmf_ctrlr {
	struct unvmf_subsystem *subsys;
	uint16_t cntlid;
	char hostnqn[UNVMF_NQN_BUF];
	uint8_t hostid[16];
	struct unvmf_trid listen_trid;   /* the address the admin queue connected to */
	struct unvmf_trid host_trid;     /* the host's address */
	unsigned refs;                   /* connected qpairs; under g_tgt.lock */
	struct unvmf_qpair *admin_qpair; /* admin thread only */
	struct unvmf_poll_group *admin_group;
	uint64_t admin_qpair_id;
	uint16_t num_io_queues; /* granted by Set Features Number of Queues; under g_tgt.lock */
	uint16_t max_qid;       /* the transport's limit */
	bool io_queue_created;  /* since the last enable; under g_tgt.lock */
	struct {
		struct unvmf_poll_group *group;
		uint64_t id;
	} * qpairs;                         /* [max_qid + 1] by qid, under g_tgt.lock */
	struct unvmf_ctrlr_queue_log *qlog; /* [max_qid + 1] by qid, see its comment */
	unsigned num_aborts;                /* Abort commands in flight, admin thread only */
	union nvme_cc_register cc;
	union nvme_csts_register csts;
	uint32_t kato_ms;
	_Atomic uint64_t last_keepalive_us;
	struct unvmf_poller *ka_poller;
	/* KATO 0: reclaimed after this long without Keep Alive or I/O (0 = never). */
	uint32_t idle_reclaim_ms;
	uint64_t idle_activity; /* Keep Alive time + I/O counts at the last look */
	uint64_t idle_since_us;
	uint32_t aec; /* async event configuration */
	/* Volatile Write Cache WCE; set on the admin thread, read by every I/O thread. */
	_Atomic bool vwc_enabled;
	bool failed; /* fatal: every qpair is being disconnected */
	/* AER: outstanding requests and queued events, admin thread only. */
	struct unvmf_req *aer[UNVMF_MAX_AER];
	unsigned num_aer;
	struct unvmf_aer_event events[16];
	unsigned num_events;
	bool ns_changed_masked;    /* an NS-attr event is outstanding until the log is read */
	bool discovery_changed_masked; /* the same for a Discovery Log Page Change */
	uint32_t changed_ns[1024]; /* changed namespace list (0xffffffff in [0] on overflow) */
	unsigned num_changed_ns;
	/* Reservation Notification log (reservation.c's notices), admin thread only. */
	struct {
		uint64_t count;
		uint32_t nsid;
		uint8_t type;
	} resv_log[16];
	unsigned num_resv_log;
	uint64_t resv_log_count; /* the last entry's Log Page Count */
	uint8_t resv_mask;       /* Reservation Notification Mask, bits 1-3 */
	bool resv_masked;        /* a reservation AER is outstanding until the log is read */
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

/* One per reactor thread: the qpairs it polls, its bdev channels and counters. */
struct unvmf_poll_group {
	unsigned index;
	struct unvmf_thread *thread;
	struct unvmf_poller *poller;
	struct unvmf_transport_poll_group *tgroups[4]; /* indexed by transport slot */
	TAILQ_HEAD(, unvmf_qpair) qpairs;
	struct unvmf_pg_bdev_ch *channels;
	struct unvmf_poll_group_stats stats;
};

struct unvmf_referral {
	struct unvmf_trid trid;
	bool secure_channel;
	TAILQ_ENTRY(unvmf_referral) link;
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
	atomic_uint live_qpairs; /* qpairs between new_qpair and fini */
	/* DH-HMAC-CHAP hashes and groups the target may select (bit = id); under lock. */
	uint32_t dhchap_digests;
	uint32_t dhchap_dhgroups;
};

extern struct unvmf_tgt g_tgt;

/* ---- inside the core ---- */
struct unvmf_bdev_channel *unvmf_poll_group_channel(struct unvmf_poll_group *group,
                                                    struct unvmf_bdev *bdev);
/* Releases the group's channel on bdev once it has nothing outstanding; true if released. */
bool unvmf_poll_group_release_channel(struct unvmf_poll_group *group, struct unvmf_bdev *bdev);
/* Keep Alive Timeout from Connect or Set Features, rounded up to KAS (100 ms). */
void unvmf_ctrlr_set_kato(struct unvmf_ctrlr *ctrlr, uint32_t kato_ms);
void unvmf_ctrlr_exec_admin(struct unvmf_req *req);
void unvmf_ctrlr_exec_fabrics(struct unvmf_req *req);
void unvmf_io_exec(struct unvmf_req *req);
void unvmf_discovery_log(const char *hostnqn, const struct unvmf_trid *local, void *buf,
                         uint64_t offset, uint32_t length);
void unvmf_ctrlr_qpair_gone(struct unvmf_qpair *qpair);
/* unvmf_subsystem_ns_changed with g_tgt.lock held. */
void unvmf_subsystem_ns_changed_locked(struct unvmf_subsystem *subsys, uint32_t nsid);
/*
 * Under g_tgt.lock, after anything the discovery log shows changed
 * (subsystems, listeners, hosts, referrals): a new generation counter and a
 * Discovery Log Page Change notice to every discovery controller that asked.
 */
void unvmf_discovery_changed_locked(void);
void unvmf_ctrlr_aer_abort_all(struct unvmf_ctrlr *ctrlr);
/* Under g_tgt.lock: a Reservation Notification (enum unvmf_resv_notice) for ctrlr's host. */
void unvmf_ctrlr_resv_notice_locked(struct unvmf_ctrlr *ctrlr, uint8_t type, uint32_t nsid);
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
/*
 * Limits at Connect (limits.c), under g_tgt.lock, after the subsystem and
 * host checks: whether qpair may take one more place for hostnqn. On refusal
 * it drops g_tgt.lock, logs who and why, counts it and completes req with the
 * status; returns true.
 */
bool unvmf_limits_connect_refused(struct unvmf_req *req, const char *hostnqn);
/* Under g_tgt.lock: qpair of hostnqn connected / departs (per-host count). */
void unvmf_limits_host_attach_locked(struct unvmf_qpair *qpair, const char *hostnqn);
void unvmf_limits_host_detach_locked(struct unvmf_qpair *qpair, const char *hostnqn);
/* tls_keys.c: forgets every key, wiping it (target shutdown). */
void unvmf_keyring_wipe(void);

/* ---- fused operations (fused.c) ---- */
/* The pair's ordering role, set at arrival (see unvmf_req_fused_arrive). */
enum unvmf_fused_state {
	UNVMF_FUSED_NONE,           /* the transport has not reported the arrival */
	UNVMF_FUSED_ARRIVED,        /* not fused (or reserved FUSE 3) */
	UNVMF_FUSED_WAIT_SECOND,    /* a FIRST; its successor has not arrived */
	UNVMF_FUSED_PAIRED,         /* a FIRST or SECOND with its partner */
	UNVMF_FUSED_MISSING,        /* a half whose partner never came */
	UNVMF_FUSED_PARTNER_FAILED, /* its partner completed before the pair ran */
	UNVMF_FUSED_RUNNING,        /* the pair runs (io.c) */
};
/* From unvmf_req_exec for cmd.fuse != 0: holds a half until both can run. */
void unvmf_fused_exec(struct unvmf_req *req);
/* From unvmf_req_complete: tells an unexecuted partner that its pair is off. */
void unvmf_fused_complete(struct unvmf_req *req);
/* From unvmf_qpair_teardown_begin: completes the halves held for partners. */
void unvmf_fused_qpair_teardown(struct unvmf_qpair *qpair);
/* io.c: runs a pair, both halves on the same qpair (FIRST Compare, SECOND Write). */
void unvmf_io_fused_exec(struct unvmf_req *first, struct unvmf_req *second);

/* ---- write ordering against Compare and Write (range_lock.c) ---- */
enum unvmf_range_state {
	UNVMF_RANGE_NONE,
	UNVMF_RANGE_FAST,    /* counted in ns->fast_writes[group] */
	UNVMF_RANGE_SLOW,    /* on ns->writes */
	UNVMF_RANGE_BLOCKED, /* on ns->blocked, resumed by unvmf_io_exec after the lock goes */
};
int unvmf_ns_range_init(struct unvmf_ns *ns);
void unvmf_ns_range_fini(struct unvmf_ns *ns);
/*
 * Before a write of [slba, slba + nlb) on req->ns (req's thread): true to
 * submit now, false when it waits for a Compare and Write holding an
 * overlapping range (the core runs it again later on its thread).
 */
bool unvmf_range_write_begin(struct unvmf_req *req, uint64_t slba, uint64_t nlb);
/* After the write's bdev I/O completed (req's thread). */
void unvmf_range_write_end(struct unvmf_req *req);
/* Takes lk (set up by the caller) on the owner's thread; lk->held runs once it holds. */
void unvmf_range_lock_acquire(struct unvmf_range_lock *lk);
void unvmf_range_lock_release(struct unvmf_range_lock *lk);

void unvmf_latency_hist_add(struct unvmf_latency_hist *hist, uint64_t us);
