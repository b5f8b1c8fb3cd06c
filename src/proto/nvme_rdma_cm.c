#include "proto/nvme_rdma_cm.h"

#include <errno.h>
#include <string.h>

void nvme_rdma_cm_req_build(struct nvmf_rdma_request_private_data *pd, uint16_t qid,
                            uint16_t hrqsize, uint16_t hsqsize, uint16_t cntlid)
{
	memset(pd, 0, sizeof(*pd));
	pd->recfmt = NVME_RDMA_CM_RECFMT;
	pd->qid = qid;
	pd->hrqsize = hrqsize;
	pd->hsqsize = hsqsize;
	pd->cntlid = cntlid;
}

uint16_t nvme_rdma_cm_req_parse(const void *data, size_t len,
                                struct nvmf_rdma_request_private_data *pd)
{
	if (len < sizeof(*pd))
		return NVMF_RDMA_CM_INVALID_LENGTH;
	memcpy(pd, data, sizeof(*pd));
	if (pd->recfmt != NVME_RDMA_CM_RECFMT)
		return NVMF_RDMA_CM_INVALID_RECFMT;
	if (pd->hrqsize == 0)
		return NVMF_RDMA_CM_INVALID_HRQSIZE;
	return 0;
}

void nvme_rdma_cm_accept_build(struct nvmf_rdma_accept_private_data *pd, uint16_t crqsize)
{
	memset(pd, 0, sizeof(*pd));
	pd->recfmt = NVME_RDMA_CM_RECFMT;
	pd->crqsize = crqsize;
}

int nvme_rdma_cm_accept_parse(const void *data, size_t len, uint16_t *crqsize)
{
	struct nvmf_rdma_accept_private_data acc;

	*crqsize = 0;
	/* The CM may pad or drop a REP's private data: only a full record is ours. */
	if (len < sizeof(acc))
		return 0;
	memcpy(&acc, data, sizeof(acc));
	if (acc.recfmt != NVME_RDMA_CM_RECFMT)
		return -EPROTO;
	*crqsize = acc.crqsize;
	return 0;
}

void nvme_rdma_cm_reject_build(struct nvmf_rdma_reject_private_data *rej, uint16_t sts)
{
	memset(rej, 0, sizeof(*rej));
	rej->recfmt = NVME_RDMA_CM_RECFMT;
	rej->sts = sts;
}

uint16_t nvme_rdma_cm_reject_parse(const void *data, size_t len)
{
	struct nvmf_rdma_reject_private_data rej;

	if (len < sizeof(rej))
		return 0;
	memcpy(&rej, data, sizeof(rej));
	return rej.recfmt == NVME_RDMA_CM_RECFMT ? rej.sts : 0;
}

const char *nvme_rdma_cm_status_str(uint16_t sts)
{
	switch (sts) {
	case NVMF_RDMA_CM_INVALID_LENGTH:
		return "Invalid Private Data Length";
	case NVMF_RDMA_CM_INVALID_RECFMT:
		return "Invalid RECFMT";
	case NVMF_RDMA_CM_INVALID_QID:
		return "Invalid QID";
	case NVMF_RDMA_CM_INVALID_HSQSIZE:
		return "Invalid HSQSIZE";
	case NVMF_RDMA_CM_INVALID_HRQSIZE:
		return "Invalid HRQSIZE";
	case NVMF_RDMA_CM_NO_RESOURCES:
		return "No Resources";
	case NVMF_RDMA_CM_INVALID_IRD:
		return "Invalid IRD";
	case NVMF_RDMA_CM_INVALID_ORD:
		return "Invalid ORD";
	default:
		return "Unknown NVMe/RDMA CM Status";
	}
}
