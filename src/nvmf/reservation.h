#pragma once
/*
 * Persistent reservations of one namespace (NVMe base, Reservations): the
 * registrants (by host identifier), the reservation and its holder, and the
 * optional file that keeps them through a restart (PTPL).
 *
 * Locking: mu guards everything but io_type, which mirrors rtype for the I/O
 * path. A command on a namespace without a reservation costs one relaxed
 * load of io_type; only when it is non-zero does the I/O path take mu.
 * Reservation commands run on the issuing qpair's thread and take mu; the
 * notices they cause go to the controllers under g_tgt.lock after mu is
 * dropped (mu is never taken under g_tgt.lock).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Registrants a namespace keeps; a Register beyond it fails (Internal Error). */
#define UNVMF_RESV_MAX_REGISTRANTS 64

enum unvmf_resv_type {
	UNVMF_RESV_NONE = 0,
	UNVMF_RESV_WRITE_EXCLUSIVE = 1,
	UNVMF_RESV_EXCLUSIVE_ACCESS = 2,
	UNVMF_RESV_WRITE_EXCLUSIVE_REG_ONLY = 3,
	UNVMF_RESV_EXCLUSIVE_ACCESS_REG_ONLY = 4,
	UNVMF_RESV_WRITE_EXCLUSIVE_ALL_REGS = 5,
	UNVMF_RESV_EXCLUSIVE_ACCESS_ALL_REGS = 6,
};

/* Reservation Notification log page types. */
enum unvmf_resv_notice {
	UNVMF_RESV_NOTICE_REGISTRATION_PREEMPTED = 1,
	UNVMF_RESV_NOTICE_RESERVATION_RELEASED = 2,
	UNVMF_RESV_NOTICE_RESERVATION_PREEMPTED = 3,
};

struct unvmf_resv_registrant {
	uint8_t hostid[16];
	uint64_t rkey;
};

struct unvmf_resv {
	_Atomic uint8_t io_type; /* rtype, for the I/O path's unlocked look */
	pthread_mutex_t mu;
	uint32_t gen;       /* Reservation Report's generation */
	uint8_t rtype;      /* enum unvmf_resv_type */
	uint8_t holder[16]; /* types 1-4: the holder's host identifier */
	bool ptpl;          /* persist through power loss activated */
	char *ptpl_file;    /* NULL: PTPL not supported on this namespace */
	unsigned num_regs;
	struct unvmf_resv_registrant regs[UNVMF_RESV_MAX_REGISTRANTS];
};

struct unvmf_ns;
struct unvmf_req;

/*
 * ptpl_file may be NULL. With a file that exists, its registrants and
 * reservation are loaded (a file that cannot be parsed fails with -EINVAL).
 */
int unvmf_resv_init(struct unvmf_resv *resv, const char *ptpl_file);
void unvmf_resv_fini(struct unvmf_resv *resv);

/* Reservation Register, Acquire, Release and Report (req's thread). */
void unvmf_resv_exec(struct unvmf_req *req);

/*
 * The I/O path's look: false (one relaxed load, no lock) while the namespace
 * has no reservation; only then is unvmf_resv_io_conflict worth asking.
 */
static inline bool unvmf_resv_held(struct unvmf_resv *resv)
{
	return atomic_load_explicit(&resv->io_type, memory_order_relaxed) != 0;
}
/* True when req (a read or write command group I/O on req->ns) conflicts with the reservation. */
bool unvmf_resv_io_conflict(struct unvmf_req *req, bool write);

/* Reservation Persistence feature (Get): PTPL state of the namespace in bit 0. */
uint32_t unvmf_resv_ptpl_state(struct unvmf_resv *resv);
