/*
 * Reservation commands (NVMe base, Reservations) on an I/O qpair: the
 * command dwords built from named fields, the key payload sent as given.
 */
#include "host/host_internal.h"

#include <errno.h>
#include <string.h>

static int host_resv_submit(struct unvmf_host_qpair *qpair, uint8_t opc, uint32_t nsid,
                            uint32_t cdw10, uint32_t cdw11, void *buf, uint32_t len,
                            enum unvmf_host_dir dir, unvmf_host_cb cb, void *cb_arg)
{
	struct nvme_sqe sqe;
	struct iovec iov = {.iov_base = buf, .iov_len = len};

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = opc;
	sqe.nsid = nsid;
	sqe.cdw10 = cdw10;
	sqe.cdw11 = cdw11;
	return host_qpair_submit(qpair, &sqe, &iov, 1, dir, cb, cb_arg);
}

int unvmf_host_resv_register(struct unvmf_host_qpair *qpair, uint32_t nsid, uint8_t rrega,
                             bool iekey, uint8_t cptpl, uint64_t keys[2], unvmf_host_cb cb,
                             void *cb_arg)
{
	uint32_t cdw10 = (rrega & 7u) | (iekey ? 1u << 3 : 0) | ((uint32_t)(cptpl & 3) << 30);

	return host_resv_submit(qpair, NVME_OPC_RESERVATION_REGISTER, nsid, cdw10, 0, keys, 16,
	                        UNVMF_HOST_DIR_TO_CTRLR, cb, cb_arg);
}

int unvmf_host_resv_acquire(struct unvmf_host_qpair *qpair, uint32_t nsid, uint8_t racqa,
                            uint8_t rtype, uint64_t keys[2], unvmf_host_cb cb, void *cb_arg)
{
	uint32_t cdw10 = (racqa & 7u) | ((uint32_t)rtype << 8);

	return host_resv_submit(qpair, NVME_OPC_RESERVATION_ACQUIRE, nsid, cdw10, 0, keys, 16,
	                        UNVMF_HOST_DIR_TO_CTRLR, cb, cb_arg);
}

int unvmf_host_resv_release(struct unvmf_host_qpair *qpair, uint32_t nsid, uint8_t rrela,
                            uint8_t rtype, uint64_t *crkey, unvmf_host_cb cb, void *cb_arg)
{
	uint32_t cdw10 = (rrela & 7u) | ((uint32_t)rtype << 8);

	return host_resv_submit(qpair, NVME_OPC_RESERVATION_RELEASE, nsid, cdw10, 0, crkey, 8,
	                        UNVMF_HOST_DIR_TO_CTRLR, cb, cb_arg);
}

int unvmf_host_resv_report(struct unvmf_host_qpair *qpair, uint32_t nsid, bool eds, void *buf,
                           uint32_t len, unvmf_host_cb cb, void *cb_arg)
{
	if (len < 4 || len % 4)
		return -EINVAL;
	return host_resv_submit(qpair, NVME_OPC_RESERVATION_REPORT, nsid, len / 4 - 1,
	                        eds ? 1u : 0u, buf, len, UNVMF_HOST_DIR_FROM_CTRLR, cb, cb_arg);
}
