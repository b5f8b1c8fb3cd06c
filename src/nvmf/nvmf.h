#pragma once
/*
 * The NVMe-oF core: target, subsystems, namespaces, controllers, qpairs and
 * requests, independent of any transport.
 *
 * Threads and ownership:
 * - The control plane (subsystems, namespaces, hosts, listeners, transports)
 *   is changed on reactor 0 (RPC, config, startup). Controllers are created by
 *   Connect on poll-group threads. Both take the target lock (g_tgt.lock in
 *   nvmf_internal.h); the I/O path never does.
 * - A qpair lives on one poll group for its whole life and is only touched on
 *   that thread. Other threads ask for its disconnect with
 *   unvmf_qpair_disconnect_async(), which finds it by id on its own thread,
 *   so a message can never name a freed qpair.
 * - A controller is shared by its qpairs and refcounted (one ref per
 *   connected qpair, under the target lock); the last qpair to leave frees it.
 *
 * The control plane sees subsystems, controllers and poll groups only as
 * handles: it changes them through the setters below and reads them through
 * getters that return copies or visitors that are handed copies. A visitor
 * runs with the target lock held unless its comment says otherwise, so it
 * must not call back into this API; the copies it is given are valid only
 * for the call.
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
struct unvmf_ns;
struct unvmf_thread;
struct unvmf_range_lock;

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
	/*
	 * Controller-to-host bytes the command produced. At completion the core
	 * trims length and iov to it (0 on an error status), so a transport sends
	 * exactly this much whatever the host's SGL offered: the rest of the
	 * buffer may hold an earlier user's data and never leaves the target.
	 */
	uint32_t c2h_len;
	TAILQ_ENTRY(unvmf_req) link;	/* on the AER list or the core's outstanding list */
	bool aborted;
	/*
	 * Fused operations (fused.c). fused_state is set when the transport
	 * reports the command's arrival in submission order
	 * (unvmf_req_fused_arrive) and cleared at completion; fused_partner
	 * links the two halves until the pair runs.
	 */
	uint8_t fused_state;
	bool fused_ready; /* executed by the transport, held for its partner */
	struct unvmf_req *fused_partner;
	LIST_ENTRY(unvmf_req) fused_link; /* on its qpair's held list while fused_ready */
	/* Write ordering against Compare and Write (range_lock.c). */
	uint8_t range_state;
	LIST_ENTRY(unvmf_req) range_link;
	uint64_t range_slba;
	uint64_t range_nlb;
	struct unvmf_range_lock *range_lock; /* the fused pair's lock, on both halves */
	void *cmp_buf;                       /* Compare: the media's data, freed at completion */
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
	/* Limits (nvmf/limits.c): 0 = no Fabrics Connect deadline armed. */
	uint64_t connect_deadline_us;
	bool host_counted; /* counted in its host's qpairs (released at departure) */
	/* Fused operations (fused.c), qpair thread only. */
	struct unvmf_req *fused_first;     /* a FIRST whose successor has not arrived */
	LIST_HEAD(, unvmf_req) fused_held; /* halves held for their partner */
	/* DH-HMAC-CHAP (auth.c), qpair thread only: NULL when the host has no secret. */
	struct unvmf_qpair_auth *auth;
};

enum unvmf_subsystem_type {
	UNVMF_SUBSYSTEM_NVME,
	UNVMF_SUBSYSTEM_DISCOVERY,
};

struct unvmf_latency_hist {
	/* Log2 buckets of microseconds: bucket i counts latencies in [2^(i-1), 2^i). */
	uint64_t buckets[32];
	uint64_t count;
	uint64_t sum_us;
};

/*
 * Error completions by status, first come first slotted: a target produces a
 * few dozen distinct statuses at most, so a small table keeps the count exact
 * without a 2048-entry (SCT x SC) array per group; the rest go to "other".
 */
#define UNVMF_STATUS_SLOTS 32
struct unvmf_status_count {
	uint16_t status; /* SCT << 8 | SC */
	uint64_t count;
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
	struct unvmf_status_count errors_by_status[UNVMF_STATUS_SLOTS];
	uint64_t errors_by_status_other; /* statuses beyond the table */
	uint64_t keep_alive_expiries;    /* controllers ended by their keep-alive timer */
	/* Limits (nvmf/limits.c): qpairs ended or refused for not earning their place. */
	uint64_t connect_timeouts;            /* no Fabrics Connect before the deadline */
	uint64_t connect_refused_host_limit;  /* the host held max_qpairs_per_host */
	uint64_t connect_refused_group_limit; /* the poll group held max_qpairs_per_group */
	uint64_t connect_refused_kato;        /* KATO above max_kato_ms */
	uint64_t kato_zero_reclaims;          /* KATO 0 controllers reclaimed as idle */
	/* DH-HMAC-CHAP (auth.c): transactions that ended, by outcome. */
	uint64_t auth_successes;
	uint64_t auth_failures; /* refused: wrong secret, unusable hash/group, bad message, host's
	                           failure2 */
	uint64_t
	    auth_timeouts; /* no complete transaction in time (also counted in auth_failures) */
	struct unvmf_latency_hist latency;
};

/*
 * What a host must earn before the target spends on it, enforced by the core
 * for every transport. They travel in the transport options (each transport
 * decodes them with unvmf_qpair_limits_decode under the same names), so an
 * operator sets them with nvmf_create_transport. 0 turns a limit off.
 */
struct unvmf_qpair_limits {
	uint32_t connect_timeout_ms;   /* transport ready (ICResp, RDMA established) to Connect */
	uint32_t max_qpairs_per_host;  /* connected qpairs of one host NQN, target-wide */
	uint32_t max_qpairs_per_group; /* connected qpairs on one poll group */
	/*
	 * Largest KATO a Connect may ask for; also how long a controller whose
	 * host asked KATO 0 (keep-alive disabled) may stay idle before it is
	 * reclaimed (see unvmf_ctrlr_set_kato).
	 */
	uint32_t max_kato_ms;
};

struct unvmf_tgt_opts {
	uint32_t max_subsystems;
	uint32_t discovery_filter;	/* reserved: match_any */
};

/* ---- target lifecycle (reactor 0) ---- */
int unvmf_tgt_init(const struct unvmf_tgt_opts *opts);
/* Creates one poll group on every reactor; done(arg) on reactor 0 when all exist. */
int unvmf_tgt_create_poll_groups(void (*done)(void *arg, int rc), void *arg);
/* Disconnects every qpair, destroys groups, transports and subsystems; then done(arg). */
void unvmf_tgt_shutdown(void (*done)(void *arg), void *arg);
/* True once shutdown began: transports refuse new connections. Any thread. */
bool unvmf_tgt_is_shutting_down(void);
void unvmf_tgt_fini(void);

/* ---- target settings (reactor 0) ---- */
/* -EINVAL for 0, -EBUSY when fewer than the subsystems that exist now. */
int unvmf_tgt_set_max_subsystems(uint32_t max_subsystems);
uint32_t unvmf_tgt_get_max_subsystems(void);

/* Why a Fabrics Connect was refused (each is counted and logged at notice). */
enum unvmf_connect_refusal {
	UNVMF_CONNECT_REFUSED_ALREADY_CONNECTED,
	UNVMF_CONNECT_REFUSED_DATA_TOO_SHORT,
	UNVMF_CONNECT_REFUSED_RECORD_FORMAT,
	UNVMF_CONNECT_REFUSED_INVALID_SUBNQN,
	UNVMF_CONNECT_REFUSED_INVALID_HOSTNQN,
	UNVMF_CONNECT_REFUSED_UNKNOWN_SUBSYSTEM,
	UNVMF_CONNECT_REFUSED_NO_LISTENER,
	UNVMF_CONNECT_REFUSED_HOST_NOT_ALLOWED,
	UNVMF_CONNECT_REFUSED_EMPTY_HOSTNQN,
	UNVMF_CONNECT_REFUSED_STATIC_CNTLID,
	UNVMF_CONNECT_REFUSED_INVALID_SQSIZE,
	UNVMF_CONNECT_REFUSED_NO_RESOURCES,
	UNVMF_CONNECT_REFUSED_UNKNOWN_CONTROLLER,
	UNVMF_CONNECT_REFUSED_CONTROLLER_NOT_ENABLED,
	UNVMF_CONNECT_REFUSED_QUEUE_ENTRY_SIZE,
	UNVMF_CONNECT_REFUSED_INVALID_QID,
	UNVMF_CONNECT_REFUSED_QID_IN_USE,
	UNVMF_CONNECT_REFUSED_COUNT,
};
/* Refusals of reason so far (any thread) and the reason's name ("host_not_allowed"). */
uint64_t unvmf_tgt_connect_refusals(enum unvmf_connect_refusal reason, const char **name);
/* NVM subsystems (the discovery subsystem is not counted). */
unsigned unvmf_tgt_num_subsystems(void);

/* ---- subsystems (reactor 0, takes the target lock) ---- */
int unvmf_subsystem_create(const char *nqn, enum unvmf_subsystem_type type,
			   uint32_t max_namespaces, struct unvmf_subsystem **out);

#define UNVMF_CNTLID_MIN 1
#define UNVMF_CNTLID_MAX 0xffef

/* What an NVM subsystem is created with; unvmf_subsystem_opts_init() gives the defaults. */
struct unvmf_subsystem_opts {
	const char *serial; /* NULL: the default; else 1..UNVMF_SN_LEN printable ASCII */
	const char *model;  /* NULL: the default; else 1..UNVMF_MN_LEN printable ASCII */
	bool allow_any_host;
	bool ana_reporting;      /* refused: there are no ANA groups to report */
	uint32_t max_namespaces; /* 0: the default (32); at most UNVMF_MAX_NAMESPACES */
	uint16_t min_cntlid;     /* controller IDs handed out, within */
	uint16_t max_cntlid;     /* [UNVMF_CNTLID_MIN, UNVMF_CNTLID_MAX] */
};
void unvmf_subsystem_opts_init(struct unvmf_subsystem_opts *opts);
/*
 * Creates an NVM subsystem with every option applied before any host can see
 * it. -EINVAL: bad NQN (or the discovery NQN), serial, model or
 * max_namespaces; -ERANGE: bad cntlid range; -EOPNOTSUPP: ana_reporting;
 * -EEXIST: the NQN exists; -ENOSPC: the target has max_subsystems already.
 */
int unvmf_subsystem_create_nvme(const char *nqn, const struct unvmf_subsystem_opts *opts,
                                struct unvmf_subsystem **out);
/* Disconnects live controllers first, then frees; done(arg, rc) later on reactor 0. */
int unvmf_subsystem_delete(struct unvmf_subsystem *subsys, void (*done)(void *arg, int rc),
			   void *arg);
/* Reactor 0 (the only thread that changes the list), or under the target lock. */
struct unvmf_subsystem *unvmf_subsystem_find(const char *nqn);
/* 1..UNVMF_SN_LEN (UNVMF_MN_LEN) printable ASCII characters. */
bool unvmf_subsystem_serial_valid(const char *sn);
bool unvmf_subsystem_model_valid(const char *mn);
int unvmf_subsystem_set_sn(struct unvmf_subsystem *subsys, const char *sn);
int unvmf_subsystem_set_mn(struct unvmf_subsystem *subsys, const char *mn);
/* nsid 0 = first free. Returns the nsid or negative errno. */
int unvmf_subsystem_add_ns(struct unvmf_subsystem *subsys, struct unvmf_bdev *bdev, uint32_t nsid,
			   const uint8_t *uuid, const uint8_t *nguid, const uint8_t *eui64);
/*
 * The same with a file for the namespace's reservation state (PTPL, SPDK's
 * ptpl_file; NULL: none): loaded here when it exists, rewritten on each change.
 */
int unvmf_subsystem_add_ns_ptpl(struct unvmf_subsystem *subsys, struct unvmf_bdev *bdev,
                                uint32_t nsid, const uint8_t *uuid, const uint8_t *nguid,
                                const uint8_t *eui64, const char *ptpl_file);
/*
 * Waits for in-flight I/O on the namespace, then releases it; done later on
 * reactor 0. -EINVAL for an nsid outside 1..max_namespaces, -ENOENT when no
 * namespace is attached at nsid.
 */
int unvmf_subsystem_remove_ns(struct unvmf_subsystem *subsys, uint32_t nsid,
			      void (*done)(void *arg, int rc), void *arg);
int unvmf_subsystem_add_host(struct unvmf_subsystem *subsys, const char *hostnqn);
/* Also disconnects that host's controllers. */
int unvmf_subsystem_remove_host(struct unvmf_subsystem *subsys, const char *hostnqn);
void unvmf_subsystem_allow_any_host(struct unvmf_subsystem *subsys, bool allow);
bool unvmf_subsystem_host_allowed(struct unvmf_subsystem *subsys, const char *hostnqn);
/* Starts the transport listening (refcounted per address) and records it. */
int unvmf_subsystem_add_listener(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid);
/* How a listener is set up; zeroed = unvmf_subsystem_add_listener(). */
struct unvmf_listen_opts {
	/*
	 * A secure channel is required at this address (NVMe/TCP: TLS 1.3 with
	 * PSK; hosts in the clear are refused). -EOPNOTSUPP from a transport (or
	 * a build) without one; -EINVAL when another subsystem listens on the
	 * same address with the other setting.
	 */
	bool secure_channel;
};
int unvmf_subsystem_add_listener_ext(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid,
                                     const struct unvmf_listen_opts *opts);
/* Whether subsys listens on trid's address with a secure channel required. */
bool unvmf_subsystem_listener_secure(struct unvmf_subsystem *subsys,
                                     const struct unvmf_trid *trid);
/* Also disconnects qpairs that arrived through that listener. */
int unvmf_subsystem_remove_listener(struct unvmf_subsystem *subsys,
				    const struct unvmf_trid *trid);
bool unvmf_subsystem_has_listener(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid);
/* Raises a namespace-attribute-changed event on every controller of subsys. */
void unvmf_subsystem_ns_changed(struct unvmf_subsystem *subsys, uint32_t nsid);

int unvmf_tgt_add_referral(const struct unvmf_trid *trid, bool secure);

/* ---- TLS pre-shared keys (tls_keys.c; reactor 0 changes, any thread reads) ---- */
struct unvmf_psk_key;
#define UNVMF_KEY_NAME_BUF 128
#define UNVMF_KEY_PATH_BUF 1024
#define UNVMF_KEYRING_MAX 64
/*
 * Names a configured PSK (keyring_file_add_key: read from path by the
 * caller). -EEXIST: the name is taken; -ENAMETOOLONG; -ENOSPC: the keyring
 * holds UNVMF_KEYRING_MAX keys.
 */
int unvmf_keyring_add(const char *name, const char *path, const struct unvmf_psk_key *key);
/* -ENOENT: no such key; -EBUSY: a host entry still uses it. */
int unvmf_keyring_remove(const char *name);
/* Keys in the order added, under the target lock (names and paths only, never the key). */
int unvmf_keyring_foreach(int (*fn)(const char *name, const char *path, void *arg), void *arg);
/*
 * Gives hostnqn's entry in subsys the named PSK (NULL or "": none): TLS
 * connections of that host to subsys use it. -ENOENT: no such host entry;
 * -ENOKEY: no such key.
 */
int unvmf_subsystem_set_host_psk(struct unvmf_subsystem *subsys, const char *hostnqn,
                                 const char *key_name);
/* The PSK name of hostnqn's entry: 0, or -ENOENT when it has none (or there is no entry). */
int unvmf_subsystem_get_host_psk(struct unvmf_subsystem *subsys, const char *hostnqn, char *name,
                                 size_t name_len);
/*
 * The configured PSK of hostnqn for subnqn, for a TLS handshake (any thread):
 * the key of hostnqn's entry in that subsystem; for the discovery NQN, the
 * key of the first subsystem entry of hostnqn that has one. -ENOKEY if none.
 */
int unvmf_tgt_tls_psk_find(const char *subnqn, const char *hostnqn, struct unvmf_psk_key *key);

/* ---- DH-HMAC-CHAP secrets (tls_keys.c, auth.c) ---- */
struct unvmf_dhchap_key;
/* Names a DH-HMAC-CHAP secret (a key file holding "DHHC-1:..."); errors as unvmf_keyring_add. */
int unvmf_keyring_add_dhchap(const char *name, const char *path,
                             const struct unvmf_dhchap_key *key);
/*
 * Gives hostnqn's entry in subsys its DH-HMAC-CHAP secrets by keyring name
 * (NULL or "": none): key authenticates the host, ctrlr_key (needs key) the
 * controller when the host asks. Queues connected later, and every
 * re-authentication, use the new ones. -ENOENT: no such host entry; -ENOKEY:
 * no such DH-HMAC-CHAP key; -EINVAL: a controller key without a host key.
 */
int unvmf_subsystem_set_host_dhchap(struct unvmf_subsystem *subsys, const char *hostnqn,
                                    const char *key, const char *ctrlr_key);
/* Hosts with their PSK and DH-HMAC-CHAP key names ("" for none), under the target lock. */
int unvmf_subsystem_foreach_host_keys(struct unvmf_subsystem *subsys,
                                      int (*fn)(const char *hostnqn, const char *psk,
                                                const char *key, const char *ctrlr_key, void *arg),
                                      void *arg);
/*
 * The secrets of hostnqn in subnqn (any thread): -ENOKEY when the host has no
 * DH-HMAC-CHAP key there; *has_ckey says whether ckey was filled.
 */
int unvmf_tgt_dhchap_keys_find(const char *subnqn, const char *hostnqn,
                               struct unvmf_dhchap_key *key, struct unvmf_dhchap_key *ckey,
                               bool *has_ckey);
/* Bitmasks (bit = hash id / DH group id) the target may select; 0 leaves one unchanged. */
void unvmf_tgt_set_dhchap_allowed(uint32_t digests, uint32_t dhgroups);
void unvmf_tgt_get_dhchap_allowed(uint32_t *digests, uint32_t *dhgroups);
int unvmf_tgt_remove_referral(const struct unvmf_trid *trid);

/* ---- reading the configuration (reactor 0) ---- */

/* Fixed when the subsystem is created: read without the lock. */
enum unvmf_subsystem_type unvmf_subsystem_get_type(const struct unvmf_subsystem *subsys);
uint32_t unvmf_subsystem_get_max_namespaces(const struct unvmf_subsystem *subsys);
/* Whether nsid is attached now (under the target lock). */
bool unvmf_subsystem_has_ns(struct unvmf_subsystem *subsys, uint32_t nsid);

struct unvmf_subsystem_info {
	char nqn[UNVMF_NQN_BUF];
	enum unvmf_subsystem_type type;
	char serial[UNVMF_SN_LEN + 1];
	char model[UNVMF_MN_LEN + 1];
	bool allow_any_host;
	bool ana_reporting;
	uint32_t max_namespaces;
	uint16_t min_cntlid;
	uint16_t max_cntlid;
};
/* A copy taken under the target lock. */
void unvmf_subsystem_get_info(struct unvmf_subsystem *subsys, struct unvmf_subsystem_info *info);

/*
 * Calls fn on the discovery subsystem, then on every NVM subsystem in
 * creation order; stops at and returns fn's first non-zero value. Reactor 0
 * only, without the lock (reactor 0 is the only thread that changes the list),
 * so fn may call the getters and visitors below but must not create or delete
 * subsystems.
 */
int unvmf_tgt_foreach_subsystem(int (*fn)(struct unvmf_subsystem *subsys, void *arg), void *arg);

struct unvmf_ns_info {
	uint32_t nsid;
	const char *bdev_name; /* valid during the visit only */
	uint8_t uuid[16];
	uint8_t nguid[16];
	uint8_t eui64[8];
	bool has_nguid;
	bool has_eui64;
};
/* Namespaces by ascending nsid, under the target lock; stops at fn's first non-zero value. */
int unvmf_subsystem_foreach_ns(struct unvmf_subsystem *subsys,
                               int (*fn)(const struct unvmf_ns_info *ns, void *arg), void *arg);
/* Allowed hosts in the order added, under the target lock. */
int unvmf_subsystem_foreach_host(struct unvmf_subsystem *subsys,
                                 int (*fn)(const char *hostnqn, void *arg), void *arg);
/* Hosts with the keyring name of their PSK ("" for none), under the target lock. */
int unvmf_subsystem_foreach_host_psk(struct unvmf_subsystem *subsys,
                                     int (*fn)(const char *hostnqn, const char *psk, void *arg),
                                     void *arg);
/* Listeners with their options, under the target lock. */
int unvmf_subsystem_foreach_listener_opts(struct unvmf_subsystem *subsys,
                                          int (*fn)(const struct unvmf_trid *trid,
                                                    const struct unvmf_listen_opts *opts,
                                                    void *arg),
                                          void *arg);
/* Listeners in the order added, under the target lock. */
int unvmf_subsystem_foreach_listener(struct unvmf_subsystem *subsys,
                                     int (*fn)(const struct unvmf_trid *trid, void *arg),
                                     void *arg);
/* Referrals in the order added, under the target lock. */
int unvmf_tgt_foreach_referral(int (*fn)(const struct unvmf_trid *trid, bool secure_channel,
                                         void *arg),
                               void *arg);

struct unvmf_ctrlr_info {
	uint16_t cntlid;
	char hostnqn[UNVMF_NQN_BUF];
	uint8_t hostid[16];
	struct unvmf_trid listen_trid; /* the address the admin queue connected to */
	struct unvmf_trid host_trid;
	uint32_t kato_ms;
	unsigned num_io_qpairs; /* I/O qpairs connected now */
};
/*
 * Live controllers of subsys, under the target lock (Connect on poll-group
 * threads adds them under it too); stops at fn's first non-zero value.
 */
int unvmf_subsystem_foreach_ctrlr(struct unvmf_subsystem *subsys,
                                  int (*fn)(const struct unvmf_ctrlr_info *ctrlr, void *arg),
                                  void *arg);

/* ---- reading a poll group (on the group's own thread, no lock) ---- */

struct unvmf_qpair_info {
	uint64_t id;
	uint16_t cntlid; /* 0 before Fabrics Connect */
	uint16_t qid;
	uint16_t sq_size;
	enum unvmf_qpair_state state;
	struct unvmf_trid local;
	struct unvmf_trid peer;
	struct unvmf_qpair_stats stats;
};
/*
 * The group's qpairs connected to a controller of subsys (every qpair when
 * subsys is NULL). The group's thread only: its qpair list is that thread's,
 * and a connected qpair holds a reference on its controller, so no lock is
 * taken; stops at fn's first non-zero value.
 */
int unvmf_poll_group_foreach_qpair(struct unvmf_poll_group *group,
                                   const struct unvmf_subsystem *subsys,
                                   int (*fn)(const struct unvmf_qpair_info *qpair, void *arg),
                                   void *arg);

struct unvmf_poll_group_info {
	unsigned index; /* the reactor's index */
	struct unvmf_thread *thread;
	struct unvmf_poll_group_stats stats;
	uint64_t pending_bdev_io; /* in the bdevs' channels of this group */
};
/* A copy of the group's counters; on the group's thread. */
void unvmf_poll_group_get_info(struct unvmf_poll_group *group, struct unvmf_poll_group_info *info);
/* The group's part of each transport (struct in nvmf/transport.h), by transport slot. */
int unvmf_poll_group_foreach_transport_group(struct unvmf_poll_group *group,
                                             int (*fn)(struct unvmf_transport_poll_group *tgroup,
                                                       void *arg),
                                             void *arg);

/* ---- fault injection (reactor 0 sets the switch; the walk runs on the group's thread) ---- */
void unvmf_tgt_set_fault_injection(bool enabled);
bool unvmf_tgt_fault_injection_enabled(void);

/* Which qpairs a fault is for; -1 in a field matches any. */
struct unvmf_qpair_match {
	int64_t qpair_id;
	int32_t cntlid;
	int32_t qid;
};
struct unvmf_inject_result {
	unsigned matched;
	unsigned injected;
	int first_error; /* the first refusal of the transport, 0 if none */
};
/* Hands fault to each of the group's qpairs on transport that match; adds to res. */
void unvmf_poll_group_inject_fault(struct unvmf_poll_group *group,
                                   struct unvmf_transport *transport,
                                   const struct unvmf_qpair_match *match, const char *fault,
                                   struct unvmf_inject_result *res);

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
/* Defaults an operator can live with (see limits.c for why each). */
void unvmf_qpair_limits_defaults(struct unvmf_qpair_limits *limits);
/*
 * The transport is ready for Fabrics Connect on qpair (TCP: ICResp sent;
 * RDMA: connection established): Connect must arrive within the transport's
 * limits.connect_timeout_ms. Qpair's thread.
 */
void unvmf_qpair_connect_deadline_arm(struct unvmf_qpair *qpair);
/*
 * Called by the transport's periodic sweep (qpair's thread): a qpair still
 * unconnected past its deadline is logged, counted and disconnected with the
 * reason "connect timeout". True when it was.
 */
bool unvmf_qpair_connect_deadline_check(struct unvmf_qpair *qpair, uint64_t now_us);
/* The poll group of the calling thread, NULL on a thread without one. */
struct unvmf_poll_group *unvmf_poll_group_current(void);

/* ---- requests (called by transports, on the qpair's thread) ---- */
/* Data direction of a command (Fabrics commands by fctype). */
enum unvmf_xfer unvmf_cmd_xfer(const struct nvme_sqe *cmd);
/*
 * The command's capsule was accepted, in submission order (req->qpair and
 * req->cmd set): a transport that calls this for every command it will pass
 * to the core lets the core pair fused commands (fused.c); without it,
 * fused commands complete with Invalid Field.
 */
void unvmf_req_fused_arrive(struct unvmf_req *req);
void unvmf_req_exec(struct unvmf_req *req);
/* Completes without executing, with the given status (e.g. a bad SGL seen by the transport). */
void unvmf_req_complete_status(struct unvmf_req *req, uint8_t sct, uint8_t sc);
/*
 * A command the transport refuses before it reaches unvmf_req_exec (a bad
 * SGL, an Abort of a command still waiting for buffers): the core's
 * per-command state is reset (no latency sample from an earlier command of
 * the slot), then as unvmf_req_complete_status, so SQHD advances and the
 * error is counted and logged like any other completion.
 */
void unvmf_req_reject(struct unvmf_req *req, uint8_t sct, uint8_t sc);
/* Hands a request with its rsp filled to the transport. */
/* Records that the first len bytes of req's buffer are the command's data (capped at length). */
void unvmf_req_set_c2h_len(struct unvmf_req *req, uint32_t len);
/* Cuts length and the iovecs down to len bytes (no-op when length <= len). */
void unvmf_req_trim(struct unvmf_req *req, uint32_t len);
void unvmf_req_complete(struct unvmf_req *req);
static inline void unvmf_req_set_status(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	req->rsp.status.s.sct = sct;
	req->rsp.status.s.sc = sc;
	req->rsp.status.s.dnr = (sct != NVME_SCT_GENERIC || sc != NVME_SC_SUCCESS) ? 1 : 0;
}
