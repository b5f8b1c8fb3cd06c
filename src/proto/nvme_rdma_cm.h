#pragma once
/*
 * NVMe/RDMA CM private data (NVMe/RDMA transport binding, 3.2): what the
 * host puts in its connect request and what the controller answers in its
 * accept or reject. Host and target both build and parse it here, so they
 * share one reading of the wire format; the CM, its events and the policy
 * (queue depths, which status to reject with) stay with the callers.
 */
#include <stddef.h>
#include <stdint.h>

#include "unvmf/nvmf_spec.h"

/* The only record format defined so far. */
#define NVME_RDMA_CM_RECFMT 0

/* hrqsize is one-based, hsqsize zero-based (like the Connect command's SQSIZE). */
void nvme_rdma_cm_req_build(struct nvmf_rdma_request_private_data *pd, uint16_t qid,
                            uint16_t hrqsize, uint16_t hsqsize, uint16_t cntlid);
/*
 * Reads and checks the private data of a connect request: 0 with *pd filled,
 * else the NVMe/RDMA CM status to reject it with (NVMF_RDMA_CM_INVALID_LENGTH,
 * NVMF_RDMA_CM_INVALID_RECFMT, NVMF_RDMA_CM_INVALID_HRQSIZE).
 */
uint16_t nvme_rdma_cm_req_parse(const void *data, size_t len,
                                struct nvmf_rdma_request_private_data *pd);

void nvme_rdma_cm_accept_build(struct nvmf_rdma_accept_private_data *pd, uint16_t crqsize);
/*
 * crqsize of an accept: 0 with *crqsize 0 when the accept carries no NVMe/RDMA
 * private data (shorter than the record), -EPROTO for an unknown RECFMT.
 */
int nvme_rdma_cm_accept_parse(const void *data, size_t len, uint16_t *crqsize);

void nvme_rdma_cm_reject_build(struct nvmf_rdma_reject_private_data *rej, uint16_t sts);
/* Status of a reject's private data; 0 when it is too short or of an unknown RECFMT. */
uint16_t nvme_rdma_cm_reject_parse(const void *data, size_t len);

/* The specification's name of an NVMe/RDMA CM status. */
const char *nvme_rdma_cm_status_str(uint16_t sts);
