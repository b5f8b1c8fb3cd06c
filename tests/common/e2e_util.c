#include "e2e_util.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void e2e_io_cb(void *arg, const struct nvme_cqe *cqe)
{
	struct e2e_io *io = arg;

	io->cqe = *cqe;
	io->done = 1;
}

int e2e_wait(struct unvmf_host_qpair *qpair, struct e2e_io *io, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (!io->done) {
		int rc = unvmf_host_qpair_poll(qpair, 0);

		if (rc < 0 && !io->done)
			return rc;
		if (now_ms() > end)
			return -ETIMEDOUT;
	}
	return E2E_STATUS(io->cqe.status.s.sct, io->cqe.status.s.sc);
}

int e2e_read(struct unvmf_host_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nblocks, void *buf,
	     size_t len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct e2e_io io = {0};
	int rc = unvmf_host_read(qp, nsid, lba, nblocks, &iov, 1, e2e_io_cb, &io);

	return rc ? rc : e2e_wait(qp, &io, 10000);
}

int e2e_write(struct unvmf_host_qpair *qp, uint32_t nsid, uint64_t lba, uint32_t nblocks,
	      const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct e2e_io io = {0};
	int rc = unvmf_host_write(qp, nsid, lba, nblocks, &iov, 1, e2e_io_cb, &io);

	return rc ? rc : e2e_wait(qp, &io, 10000);
}

int e2e_cmd(struct unvmf_host_qpair *qp, const struct nvme_sqe *sqe, void *buf, size_t len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct e2e_io io = {0};
	int rc = unvmf_host_submit_cmd(qp, sqe, &iov, buf ? 1 : 0, e2e_io_cb, &io);

	return rc ? rc : e2e_wait(qp, &io, 10000);
}
