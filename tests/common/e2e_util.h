#pragma once
/* Small synchronous wrappers over the host library's async I/O, for tests. */
#include <stdint.h>
#include <sys/uio.h>

#include "unvmf/host.h"

struct e2e_io {
	int done;
	struct nvme_cqe cqe;
};

/* Polls qpair until io completes or timeout_ms passes; returns the NVMe status raw (0 ok), -errno. */
int e2e_wait(struct unvmf_host_qpair *qpair, struct e2e_io *io, int timeout_ms);
void e2e_io_cb(void *arg, const struct nvme_cqe *cqe);
int e2e_read(struct unvmf_host_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nblocks, void *buf,
	     size_t len);
int e2e_write(struct unvmf_host_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nblocks,
	      const void *buf, size_t len);
/* Runs a raw command; returns (sct << 8 | sc) of the completion, or -errno. */
int e2e_cmd(struct unvmf_host_qpair *qp, const struct nvme_sqe *sqe, void *buf, size_t len);
#define E2E_STATUS(sct, sc) (((sct) << 8) | (sc))
