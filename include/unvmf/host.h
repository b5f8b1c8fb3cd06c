#pragma once
/*
 * unvmf host (initiator) library: connect to an NVMe-oF controller, run
 * admin commands synchronously, and run I/O asynchronously on qpairs.
 *
 * Threads and ownership:
 * - A controller and its admin queue belong to the thread that connected it:
 *   every unvmf_host_admin_* / identify / get_log / features / property call
 *   and unvmf_host_admin_poll() run there.
 * - An I/O qpair belongs to one thread at a time (the one that polls it).
 *   unvmf_host_qpair_create() and _destroy() may run on any thread; they only
 *   read the controller's immutable connect-time data and take a short lock for
 *   the qid bitmap. All I/O qpairs must be destroyed before the controller.
 * - Completion callbacks run inside unvmf_host_qpair_poll() / admin calls on the
 *   owning thread. A callback may submit new commands on the same qpair.
 *
 * Errors: functions return 0 or a negative errno. A command that reached the
 * controller and completed with a non-zero NVMe status gives -EREMOTEIO, with
 * the completion queue entry copied out so callers can read the exact status.
 * Transport failures give -ECONNRESET / -EPROTO / -ETIMEDOUT etc.
 *
 * Memory: each qpair preallocates one request slot per queue entry (cid =
 * slot index); submission never allocates.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "unvmf/nvme_spec.h"
#include "unvmf/nvmf_spec.h"

struct unvmf_trid;
struct unvmf_host_ctrlr;
struct unvmf_host_qpair;

/* Maximum iovecs per command (copied into the request slot at submit). */
#define UNVMF_HOST_MAX_IOV 32
#define UNVMF_HOST_NQN_BUF 224
/* An interchange-format PSK ("NVMeTLSkey-1:01:<base64>:", 48-byte keys included) and NUL. */
#define UNVMF_HOST_TLS_PSK_BUF 128
/* "NVMe1R02 <hostnqn> <subnqn> <digest>" and NUL. */
#define UNVMF_HOST_TLS_IDENTITY_BUF 544
/* A DH-HMAC-CHAP secret ("DHHC-1:03:<base64 of 68 bytes>:") and NUL. */
#define UNVMF_HOST_DHCHAP_SECRET_BUF 128

struct unvmf_host_opts {
	/* Empty: taken from trid->hostnqn, else nqn.2014-08.org.nvmexpress:uuid:<random uuid>. */
	char hostnqn[UNVMF_HOST_NQN_BUF];
	uint8_t hostid[16];		/* all zero: the uuid of a generated NQN, else random */
	uint32_t kato_ms;		/* Keep Alive Timeout sent in Connect; 0 = none */
	uint16_t num_io_queues;		/* requested in Set Features Number of Queues */
	uint16_t io_queue_size;		/* default size for unvmf_host_qpair_create(qsize = 0) */
	uint16_t admin_queue_size;
	bool header_digest;
	bool data_digest;
	uint32_t connect_timeout_ms;	/* TCP connect + ICReq + Connect + CSTS.RDY, each bounded by it */
	uint32_t admin_timeout_ms;	/* default timeout of synchronous admin commands */
	/*
	 * Ask the controller to disable SQ flow control on I/O queues (Connect
	 * CATTR bit 2), which lets an NVMe/TCP target skip the CapsuleResp of a
	 * successful read (C2HData SUCCESS flag). Default on.
	 */
	bool disable_sq_flow_control;
	/* Send queue sizes as asked even past CAP.MQES (negative tests only). */
	bool exact_queue_size;

	/*
	 * NVMe/TCP over TLS 1.3 (PSK). tls_psk: the configured PSK in the
	 * interchange format, as `nvme gen-tls-key` prints it (empty: plain
	 * TCP). tls_psk_identity: the PSK identity to offer; empty = "NVMe0R<hh>
	 * <hostnqn> <subnqn>" with hh by key length (01: 32 bytes, 02: 48). A
	 * "NVMe1R" identity must carry the right PSK digest. Every queue of the
	 * controller handshakes with it; -EOPNOTSUPP in a build without TLS.
	 */
	char tls_psk[UNVMF_HOST_TLS_PSK_BUF];
	char tls_psk_identity[UNVMF_HOST_TLS_IDENTITY_BUF];

	/*
	 * DH-HMAC-CHAP in-band authentication, run on every queue whose Connect
	 * response asks for it (AUTHREQ.ATR). dhchap_key: the host's secret as
	 * `nvme gen-dhchap-key` prints it ("DHHC-1:..."); empty: a controller
	 * that asks is refused (-EACCES). dhchap_ctrlr_key (needs dhchap_key):
	 * the controller's secret; the host then authenticates the controller
	 * too (bidirectional) and refuses a wrong one (-EKEYREJECTED).
	 * dhchap_digests / dhchap_dhgroups: what the host offers, bit = hash id
	 * (1 SHA-256, 2 SHA-384, 3 SHA-512) / DH group id (0 null, 1 ffdhe2048
	 * ... 5 ffdhe8192); 0 = all. The controller chooses among them.
	 */
	char dhchap_key[UNVMF_HOST_DHCHAP_SECRET_BUF];
	char dhchap_ctrlr_key[UNVMF_HOST_DHCHAP_SECRET_BUF];
	uint32_t dhchap_digests;
	uint32_t dhchap_dhgroups;
	/* Leave I/O queues unauthenticated even when asked (negative tests only). */
	bool dhchap_skip_io_queues;

	/*
	 * NVMe/RDMA (trid trtype RDMA). rdma_provider names the provider seam
	 * implementation, "verbs" or "sim"; empty = env UNVMF_RDMA_PROVIDER, else
	 * "verbs". rdma_provider_arg is handed to the provider's ctx_open (sim: the
	 * struct rdma_sim_node * the host acts as; verbs: unused).
	 */
	char rdma_provider[16];
	void *rdma_provider_arg;
	/*
	 * Called instead of sleeping whenever the library waits on the RDMA fabric
	 * (connect, synchronous admin commands, teardown) and at the start of every
	 * unvmf_host_qpair_poll(). sim moves only when stepped, so with "sim" this
	 * is required: it steps the fabric (and runs the target). It runs on the
	 * thread of the qpair being polled. Optional with "verbs".
	 */
	void (*rdma_progress)(void *arg);
	void *rdma_progress_arg;
	/*
	 * Cache data-buffer registrations per qpair by address range: each buffer
	 * is registered once and reused zero-copy. Only for callers whose data
	 * buffers stay mapped at the same address until the qpair is destroyed
	 * (unvmf-perf); a freed and re-mapped range would keep the old pages. Off:
	 * every I/O registers its buffers and deregisters them when it completes.
	 */
	bool rdma_mr_cache;
	/* RC transport retry count sent in the CM REQ; 0 = 7 (as the Linux host). */
	uint8_t rdma_retry_count;
};

/* Fills defaults: kato 10 s, 4 I/O queues of 128, admin queue 32, no digests, 5 s timeouts. */
void unvmf_host_opts_init(struct unvmf_host_opts *opts);
/*
 * Sets opts->tls_psk from a key file holding an interchange-format PSK (mode
 * 0600, as spdk_nvme_perf's --psk-path); identity (NULL: the default) sets
 * tls_psk_identity. -EACCES for a file others may read, -EINVAL for a
 * malformed key or identity, -EOPNOTSUPP without TLS in this build.
 */
int unvmf_host_opts_set_psk_file(struct unvmf_host_opts *opts, const char *path,
                                 const char *identity);

/*
 * Sets opts->dhchap_key (and dhchap_ctrlr_key unless ctrlr_key_path is NULL)
 * from key files holding DHHC-1 secrets (mode 0600, as spdk_nvme_perf's
 * --dhchap-key / --dhchap-ctrlr-key). -EACCES for a file others may read,
 * -EINVAL for a malformed secret, -EOPNOTSUPP without OpenSSL in this build.
 */
int unvmf_host_opts_set_dhchap_files(struct unvmf_host_opts *opts, const char *key_path,
                                     const char *ctrlr_key_path);

/*
 * Restricts what the host offers: comma-separated names, as SPDK's
 * ("sha256,sha384,sha512"; "null,ffdhe2048,...,ffdhe8192"); NULL leaves one
 * as it is. -EINVAL for an unknown name.
 */
int unvmf_host_opts_set_dhchap_lists(struct unvmf_host_opts *opts, const char *digests,
                                     const char *dhgroups);

/* Where a failed connect stopped; with the NVMe status / TCP FES that stopped it. */
enum unvmf_host_connect_stage {
	UNVMF_HOST_STAGE_NONE = 0,
	UNVMF_HOST_STAGE_SOCKET,   /* resolve / TCP connect */
	UNVMF_HOST_STAGE_ICREQ,    /* transport initialization (ICReq/ICResp) */
	UNVMF_HOST_STAGE_CONNECT,  /* Fabrics Connect */
	UNVMF_HOST_STAGE_PROPERTY, /* Property Get CAP/VS, Property Set CC */
	UNVMF_HOST_STAGE_READY,    /* waiting for CSTS.RDY */
	UNVMF_HOST_STAGE_IDENTIFY, /* Identify Controller */
	UNVMF_HOST_STAGE_FEATURES, /* Set Features Number of Queues */
	UNVMF_HOST_STAGE_RDMA_CM,  /* RDMA CM connect: REQ/REP private data, reject */
	UNVMF_HOST_STAGE_TLS,      /* TLS handshake (rc: -ENOKEY, -EKEYREJECTED, ...) */
	UNVMF_HOST_STAGE_AUTH,     /* DH-HMAC-CHAP (rc: -EACCES refused, -EKEYREJECTED, ...) */
};

struct unvmf_host_error {
	enum unvmf_host_connect_stage stage;
	int rc;				/* the negative errno returned */
	bool has_cqe;			/* cqe holds the controller's completion */
	struct nvme_cqe cqe;		/* failed Connect: dw0 carries IATTR/IPO for Invalid Parameter */
	uint16_t term_fes;		/* C2HTermReq FES seen from the target, 0 if none */
	uint32_t term_fei;
	/* NVMe/RDMA CM reject status (enum nvmf_rdma_cm_status) the controller sent, 0 if none. */
	uint16_t rdma_reject_sts;
	/* DH-HMAC-CHAP: the failure explanation (rescode_exp) the controller sent, 0 if none. */
	uint8_t auth_failure;
};

/*
 * Connects the admin queue and brings the controller to ready: ICReq/ICResp,
 * Connect (qid 0), Property Get CAP and VS, Property Set CC.EN=1, wait for
 * CSTS.RDY, Identify Controller, Set Features Number of Queues (skipped on a
 * discovery controller). err (optional) says where and why it failed.
 */
int unvmf_host_connect(const struct unvmf_trid *trid, const struct unvmf_host_opts *opts,
		       struct unvmf_host_ctrlr **out, struct unvmf_host_error *err);
/* Sets CC.SHN normal shutdown (bounded wait), closes and frees. NULL is a no-op. */
void unvmf_host_disconnect(struct unvmf_host_ctrlr *ctrlr);

/*
 * Re-authenticates the admin queue with DH-HMAC-CHAP (the host starts a new
 * transaction with the options' secrets). -EOPNOTSUPP when the controller did
 * not ask for authentication at Connect; errors as the connect's.
 */
int unvmf_host_ctrlr_reauthenticate(struct unvmf_host_ctrlr *ctrlr, struct unvmf_host_error *err);

/* Connect-time facts. Pointers stay valid until disconnect. */
const struct nvme_id_ctrl *unvmf_host_ctrlr_data(const struct unvmf_host_ctrlr *ctrlr);
uint16_t unvmf_host_ctrlr_cntlid(const struct unvmf_host_ctrlr *ctrlr);
uint64_t unvmf_host_ctrlr_cap(const struct unvmf_host_ctrlr *ctrlr);
uint32_t unvmf_host_ctrlr_vs(const struct unvmf_host_ctrlr *ctrlr);
const char *unvmf_host_ctrlr_hostnqn(const struct unvmf_host_ctrlr *ctrlr);
const char *unvmf_host_ctrlr_subnqn(const struct unvmf_host_ctrlr *ctrlr);
/* I/O queues granted by Set Features Number of Queues (min of NSQA, NCQA, 0's based + 1). */
uint16_t unvmf_host_ctrlr_num_io_queues(const struct unvmf_host_ctrlr *ctrlr);
/* Largest in-capsule data on I/O queues, (IOCCSZ * 16 - 64) bytes. */
uint32_t unvmf_host_ctrlr_in_capsule_size(const struct unvmf_host_ctrlr *ctrlr);
/* MDTS in bytes (from CAP.MPSMIN), 0 = no limit. */
uint32_t unvmf_host_ctrlr_max_xfer(const struct unvmf_host_ctrlr *ctrlr);
bool unvmf_host_ctrlr_is_discovery(const struct unvmf_host_ctrlr *ctrlr);
/* The transport FES of a C2HTermReq that failed the admin queue (0 if none). */
uint16_t unvmf_host_ctrlr_term_fes(const struct unvmf_host_ctrlr *ctrlr);

enum unvmf_host_dir {
	UNVMF_HOST_DIR_NONE = 0,
	UNVMF_HOST_DIR_TO_CTRLR,	/* write-like: buf is sent */
	UNVMF_HOST_DIR_FROM_CTRLR,	/* read-like: buf is filled */
};

/*
 * Runs one admin command to completion. The library sets cid, PSDT/SGL
 * (transport data block) and the data length; everything else in sqe is sent
 * as given. cqe (optional) receives the completion. timeout_ms 0 = default.
 * Returns 0 on success status, -EREMOTEIO on a non-zero status.
 */
int unvmf_host_admin_cmd(struct unvmf_host_ctrlr *ctrlr, const struct nvme_sqe *sqe, void *buf,
			 uint32_t len, enum unvmf_host_dir dir, struct nvme_cqe *cqe,
			 uint32_t timeout_ms);
/* Processes admin completions (AER, async keep alive) and sends keep alive at KATO/2. */
int unvmf_host_admin_poll(struct unvmf_host_ctrlr *ctrlr);

int unvmf_host_identify_ctrlr(struct unvmf_host_ctrlr *ctrlr, struct nvme_id_ctrl *cdata);
int unvmf_host_identify_ns(struct unvmf_host_ctrlr *ctrlr, uint32_t nsid, struct nvme_id_ns *nsdata);
/* 4096-byte list of active NSIDs greater than start_nsid (CNS 02h). */
int unvmf_host_identify_active_ns_list(struct unvmf_host_ctrlr *ctrlr, uint32_t start_nsid,
				       uint32_t list[1024]);
/* 4096-byte Namespace Identification Descriptor list (CNS 03h). */
int unvmf_host_identify_ns_id_desc(struct unvmf_host_ctrlr *ctrlr, uint32_t nsid, void *buf4k);
/* Get Log Page of any LID at a byte offset (dword-aligned), len bytes (multiple of 4). */
int unvmf_host_get_log_page(struct unvmf_host_ctrlr *ctrlr, uint8_t lid, uint32_t nsid,
			    uint64_t offset, void *buf, uint32_t len);
/*
 * Reads the whole discovery log consistently: header, then all entries, then
 * the header again; retries while GENCTR changed. *log is malloc'd (caller
 * frees), *len its size in bytes.
 */
int unvmf_host_get_discovery_log(struct unvmf_host_ctrlr *ctrlr,
				 struct nvmf_discovery_log_header **log, uint32_t *len);
int unvmf_host_get_features(struct unvmf_host_ctrlr *ctrlr, uint8_t fid, uint32_t cdw11,
			    void *buf, uint32_t len, uint32_t *dw0);
int unvmf_host_set_features(struct unvmf_host_ctrlr *ctrlr, uint8_t fid, uint32_t cdw11,
			    uint32_t cdw12, void *buf, uint32_t len, uint32_t *dw0);
int unvmf_host_keep_alive(struct unvmf_host_ctrlr *ctrlr);
/* Property Get/Set; size8 selects an 8-byte property (CAP). */
int unvmf_host_property_get(struct unvmf_host_ctrlr *ctrlr, uint32_t offset, bool size8,
			    uint64_t *value);
int unvmf_host_property_set(struct unvmf_host_ctrlr *ctrlr, uint32_t offset, bool size8,
			    uint64_t value);
/* Abort (admin opcode 08h) of command cid on queue sqid; *dw0 bit 0 = 1 means "not aborted". */
int unvmf_host_abort(struct unvmf_host_ctrlr *ctrlr, uint16_t sqid, uint16_t cid, uint32_t *dw0);

/* Completion callback: status in cqe->status; cqe->cid is the slot it used. */
typedef void (*unvmf_host_cb)(void *cb_arg, const struct nvme_cqe *cqe);

/*
 * Submits an Asynchronous Event Request; cb runs from unvmf_host_admin_poll()
 * (or from within a synchronous admin call) when the controller completes it.
 */
int unvmf_host_aer_submit(struct unvmf_host_ctrlr *ctrlr, unvmf_host_cb cb, void *cb_arg);

/*
 * Opens an I/O qpair: its own connection, ICReq, Connect with the next free
 * qid and the controller's cntlid. qsize 0 = opts.io_queue_size; qsize is the
 * number of entries (at most qsize - 1 commands outstanding, as SQ semantics).
 */
int unvmf_host_qpair_create(struct unvmf_host_ctrlr *ctrlr, uint16_t qsize,
			    struct unvmf_host_qpair **out, struct unvmf_host_error *err);
/*
 * Closes the connection. Outstanding commands complete with status Command
 * Aborted due to SQ Deletion before this returns.
 */
void unvmf_host_qpair_destroy(struct unvmf_host_qpair *qpair);
uint16_t unvmf_host_qpair_qid(const struct unvmf_host_qpair *qpair);
/* Commands currently outstanding (submitted, not yet called back). */
uint32_t unvmf_host_qpair_outstanding(const struct unvmf_host_qpair *qpair);
/* FES of a C2HTermReq that failed this qpair, 0 if none. */
uint16_t unvmf_host_qpair_term_fes(const struct unvmf_host_qpair *qpair);

/*
 * Makes progress without blocking: sends what is queued, receives and runs
 * completion callbacks (at most max, 0 = no limit). Returns the number of
 * completions processed, or a negative errno once the connection has failed
 * (then every outstanding command has been called back with Command Aborted
 * due to SQ Deletion, and every later call returns the same errno).
 */
int unvmf_host_qpair_poll(struct unvmf_host_qpair *qpair, uint32_t max);

/*
 * Submits an I/O. iov describes nblocks * block size bytes (the library does
 * not know the block size: the data length is the sum of iov). -EAGAIN when
 * every slot is busy, -ENXIO when the qpair failed.
 */
int unvmf_host_read(struct unvmf_host_qpair *qpair, uint32_t nsid, uint64_t lba, uint32_t nblocks,
		    const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg);
int unvmf_host_write(struct unvmf_host_qpair *qpair, uint32_t nsid, uint64_t lba, uint32_t nblocks,
		     const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg);
int unvmf_host_flush(struct unvmf_host_qpair *qpair, uint32_t nsid, unvmf_host_cb cb, void *cb_arg);
int unvmf_host_write_zeroes(struct unvmf_host_qpair *qpair, uint32_t nsid, uint64_t lba,
			    uint32_t nblocks, unvmf_host_cb cb, void *cb_arg);
/* Dataset Management with the deallocate attribute; iov holds nr ranges (16 bytes each). */
int unvmf_host_dsm(struct unvmf_host_qpair *qpair, uint32_t nsid, uint32_t nr_ranges,
		   const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg);
/*
 * Reservation commands. keys (Register: CRKEY then NRKEY; Acquire: CRKEY then
 * PRKEY; Release: CRKEY) are the little-endian payload and must stay valid
 * until cb runs; rrega/racqa/rrela, rtype and cptpl are the spec's field
 * values. Report fills buf (len: a multiple of 4) with EDS as asked.
 */
int unvmf_host_resv_register(struct unvmf_host_qpair *qpair, uint32_t nsid, uint8_t rrega,
			     bool iekey, uint8_t cptpl, uint64_t keys[2], unvmf_host_cb cb,
			     void *cb_arg);
int unvmf_host_resv_acquire(struct unvmf_host_qpair *qpair, uint32_t nsid, uint8_t racqa,
			    uint8_t rtype, uint64_t keys[2], unvmf_host_cb cb, void *cb_arg);
int unvmf_host_resv_release(struct unvmf_host_qpair *qpair, uint32_t nsid, uint8_t rrela,
			    uint8_t rtype, uint64_t *crkey, unvmf_host_cb cb, void *cb_arg);
int unvmf_host_resv_report(struct unvmf_host_qpair *qpair, uint32_t nsid, bool eds, void *buf,
			   uint32_t len, unvmf_host_cb cb, void *cb_arg);
/*
 * Sends sqe as given except cid and the data pointer (SGL set by the
 * transport); dir from the opcode's low bits (01b to controller, 10b from),
 * none when iovcnt is 0. For tests that need odd commands.
 */
int unvmf_host_submit_cmd(struct unvmf_host_qpair *qpair, const struct nvme_sqe *sqe,
			  const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg);

/* "Invalid Field in Command", "Connect Invalid Host", …; never NULL. */
const char *unvmf_host_status_str(uint8_t sct, uint8_t sc);
/* Name of a NVMe/TCP termination FES value. */
const char *unvmf_host_fes_str(uint16_t fes);
/* Name of an NVMe/RDMA CM reject status ("Invalid HSQSIZE", …); never NULL. */
const char *unvmf_host_rdma_cm_status_str(uint16_t sts);
