/* Host NVM I/O commands built on the raw qpair submission. */
#include "host/host_internal.h"

#include <errno.h>
#include <string.h>

static void io_sqe_rw(struct nvme_sqe *sqe, uint8_t opc, uint32_t nsid, uint64_t lba,
		      uint32_t nblocks)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opc = opc;
	sqe->nsid = nsid;
	sqe->cdw10 = (uint32_t)lba;
	sqe->cdw11 = (uint32_t)(lba >> 32);
	sqe->cdw12 = (nblocks - 1) & 0xffff;
}

int unvmf_host_read(struct unvmf_host_qpair *qpair, uint32_t nsid, uint64_t lba, uint32_t nblocks,
		    const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg)
{
	struct nvme_sqe sqe;

	if (nblocks == 0 || nblocks > 65536)
		return -EINVAL;
	io_sqe_rw(&sqe, NVME_OPC_READ, nsid, lba, nblocks);
	return host_qpair_submit(qpair, &sqe, iov, iovcnt, UNVMF_HOST_DIR_FROM_CTRLR, cb, cb_arg);
}

int unvmf_host_write(struct unvmf_host_qpair *qpair, uint32_t nsid, uint64_t lba, uint32_t nblocks,
		     const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg)
{
	struct nvme_sqe sqe;

	if (nblocks == 0 || nblocks > 65536)
		return -EINVAL;
	io_sqe_rw(&sqe, NVME_OPC_WRITE, nsid, lba, nblocks);
	return host_qpair_submit(qpair, &sqe, iov, iovcnt, UNVMF_HOST_DIR_TO_CTRLR, cb, cb_arg);
}

int unvmf_host_flush(struct unvmf_host_qpair *qpair, uint32_t nsid, unvmf_host_cb cb, void *cb_arg)
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_FLUSH;
	sqe.nsid = nsid;
	return host_qpair_submit(qpair, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE, cb, cb_arg);
}

int unvmf_host_write_zeroes(struct unvmf_host_qpair *qpair, uint32_t nsid, uint64_t lba,
			    uint32_t nblocks, unvmf_host_cb cb, void *cb_arg)
{
	struct nvme_sqe sqe;

	if (nblocks == 0 || nblocks > 65536)
		return -EINVAL;
	io_sqe_rw(&sqe, NVME_OPC_WRITE_ZEROES, nsid, lba, nblocks);
	return host_qpair_submit(qpair, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE, cb, cb_arg);
}

int unvmf_host_dsm(struct unvmf_host_qpair *qpair, uint32_t nsid, uint32_t nr_ranges,
		   const struct iovec *iov, int iovcnt, unvmf_host_cb cb, void *cb_arg)
{
	struct nvme_sqe sqe;

	if (nr_ranges == 0 || nr_ranges > 256)
		return -EINVAL;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_DATASET_MANAGEMENT;
	sqe.nsid = nsid;
	sqe.cdw10 = nr_ranges - 1;
	sqe.cdw11 = 1u << 2;	/* AD: deallocate */
	return host_qpair_submit(qpair, &sqe, iov, iovcnt, UNVMF_HOST_DIR_TO_CTRLR, cb, cb_arg);
}
