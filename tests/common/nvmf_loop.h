#pragma once
/*
 * The NVMe-oF core driven in process, for unit tests of src/nvmf: one manual
 * reactor on a virtual clock (the test thread is the poll group's thread), a
 * target with one subsystem whose namespace 1 is a malloc bdev, and an
 * in-process transport (trtype INTRA_HOST) implementing the transport seam of
 * nvmf/transport.h. A test builds a command in memory, hands it to the core
 * with unvmf_req_exec as a transport would, and steps the reactor until the
 * core calls req_complete; no socket, no NIC.
 *
 * One environment per process at a time (the core keeps its target in g_tgt).
 */
#include <stdbool.h>
#include <stdint.h>

#include "nvmf/nvmf_internal.h"
#include "nvmf/transport.h"

#define NVMF_LOOP_SUBNQN "nqn.2024-11.io.unvmf:loop"
#define NVMF_LOOP_HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:0c0c0c0c-1111-2222-3333-444444444444"
#define NVMF_LOOP_SERIAL "UNVMFLOOP0000001"
#define NVMF_LOOP_MAX_NS 8

struct nvmf_loop_opts {
	uint64_t ns_blocks; /* namespace 1 (malloc bdev "Loop0") */
	uint32_t block_size;
	uint32_t max_io_qpairs; /* max_io_qpairs_per_ctrlr of the transport */
	uint32_t max_io_size;
};

/* The defaults: 2048 blocks of 512 bytes, 4 I/O queues, 128 KiB max I/O. */
void nvmf_loop_opts_init(struct nvmf_loop_opts *opts);

/* One connection as the in-process transport holds it. */
struct nvmf_loop_qpair {
	struct unvmf_qpair qpair;
	bool added;    /* poll_group_add ran */
	bool finished; /* the transport let go: unvmf_qpair_fini ran */
	unsigned completions;
};

#define NVMF_LOOP_SPARE_QPAIRS 16

struct nvmf_loop {
	struct unvmf_transport *transport;
	struct unvmf_subsystem *subsys;
	struct unvmf_bdev *bdev;
	struct unvmf_trid listen; /* the subsystem's listener: qpairs arrive on it */
	/*
	 * Every queue lives here (nvmf_loop_fixture_open's admin and io, the
	 * others from nvmf_loop_qpair_spare), so the core never holds one in
	 * memory a test has left: a failed assertion leaves the test by
	 * longjmp, and nvmf_loop_stop disconnects whatever is still open.
	 */
	struct nvmf_loop_qpair admin;
	struct nvmf_loop_qpair io; /* qid 1 */
	uint16_t cntlid;
	struct nvmf_loop_qpair spare[NVMF_LOOP_SPARE_QPAIRS];
	unsigned num_spare;
	/* Scratch data buffer for the tests' commands. */
	_Alignas(8) uint8_t buf[16384];
};

/* Starts reactors, target, transport, bdev, subsystem (allow any host) and listener. */
int nvmf_loop_start(struct nvmf_loop *loop, const struct nvmf_loop_opts *opts);
/* Shuts the target down (every qpair first), frees bdevs and reactors. 0 or -ETIMEDOUT. */
int nvmf_loop_stop(struct nvmf_loop *loop);
/* Steps the reactor and the virtual clock (1 ms) once. */
void nvmf_loop_step(void);

/* A queue of loop's own, not yet opened (NULL when all are handed out). */
struct nvmf_loop_qpair *nvmf_loop_qpair_spare(struct nvmf_loop *loop);
/* A new connection on loop's listener, placed on the poll group; 0 or -ETIMEDOUT. */
int nvmf_loop_qpair_open(struct nvmf_loop *loop, struct nvmf_loop_qpair *lq);
/* Disconnects lq (if still connected) and waits until the core has let go of it. */
int nvmf_loop_qpair_close(struct nvmf_loop_qpair *lq);

/*
 * Runs sqe on lq as its transport would: buf/len is the data buffer (one
 * iovec; len 0 = none), xfer the direction. Steps until the core completes
 * it and returns (sct << 8) | sc of the completion, or -ETIMEDOUT; *cqe
 * (optional) gets the whole completion.
 */
int nvmf_loop_exec(struct nvmf_loop_qpair *lq, const struct nvme_sqe *sqe, void *buf, uint32_t len,
                   enum unvmf_xfer xfer, struct nvme_cqe *cqe);

/*
 * The same without the wait: the command is handed to the core and the
 * request returned (NULL: no memory). The core may hold it for long (an
 * Asynchronous Event Request until its queue closes): free it only once
 * nvmf_loop_req_done says so.
 */
struct nvmf_loop_req;
struct nvmf_loop_req *nvmf_loop_submit(struct nvmf_loop_qpair *lq, const struct nvme_sqe *sqe,
                                       void *buf, uint32_t len, enum unvmf_xfer xfer);
/*
 * The two halves of nvmf_loop_submit, for tests of submission order against
 * execution order (fused commands): the capsule arrives (in the order of
 * these calls), then the transport executes it whenever the test says.
 */
struct nvmf_loop_req *nvmf_loop_arrive(struct nvmf_loop_qpair *lq, const struct nvme_sqe *sqe,
                                       void *buf, uint32_t len, enum unvmf_xfer xfer);
void nvmf_loop_req_exec(struct nvmf_loop_req *r);
/* True once the core completed r; *cqe (optional) then gets the completion. */
bool nvmf_loop_req_done(const struct nvmf_loop_req *r, struct nvme_cqe *cqe);
void nvmf_loop_req_free(struct nvmf_loop_req *r);

/*
 * Fabrics Connect of lq as queue qid (sqsize entries, 0's based as on the wire)
 * to subnqn as hostnqn, cntlid 0xffff for the admin queue; the status as
 * nvmf_loop_exec, *cntlid (optional) the controller's id.
 */
int nvmf_loop_connect(struct nvmf_loop_qpair *lq, uint16_t qid, uint16_t sqsize, const char *subnqn,
                      const char *hostnqn, uint16_t cntlid_in, uint16_t *cntlid);
/* Property Set of CC (4 bytes). */
int nvmf_loop_set_cc(struct nvmf_loop_qpair *lq, uint32_t cc);
/*
 * An enabled controller: lq opened, connected as admin queue of
 * NVMF_LOOP_SUBNQN as NVMF_LOOP_HOSTNQN, CC.EN = 1 with 64/16-byte queue
 * entries; 0 or the failing step's status.
 */
int nvmf_loop_ctrlr_open(struct nvmf_loop *loop, struct nvmf_loop_qpair *admin, uint16_t *cntlid);
/* An I/O queue qid of controller cntlid; 0 or the failing step's status. */
int nvmf_loop_io_open(struct nvmf_loop *loop, struct nvmf_loop_qpair *io, uint16_t qid,
                      uint16_t cntlid);

#define NVMF_LOOP_STATUS(sct, sc) (((sct) << 8) | (sc))

enum nvmf_loop_level {
	NVMF_LOOP_TARGET, /* the target alone */
	NVMF_LOOP_CTRLR,  /* and an enabled controller on loop->admin */
	NVMF_LOOP_IO,     /* and its I/O queue 1 on loop->io */
};

/* A cmocka setup: a struct nvmf_loop started up to level in *state; 0 or -1. */
int nvmf_loop_fixture_open(void **state, enum nvmf_loop_level level);
/* The matching teardown: stops the target (closing every queue) and frees it. */
int nvmf_loop_fixture_close(void **state);
