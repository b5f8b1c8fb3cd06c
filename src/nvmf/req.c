/*
 * Request dispatch and completion: the one path every command takes through
 * the core, whatever the transport.
 */
#include "nvmf/auth.h"
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "nvmf/transport.h"
#include "util/log.h"

#include <string.h>

enum unvmf_xfer unvmf_cmd_xfer(const struct nvme_sqe *cmd)
{
	unsigned dir;

	if (cmd->opc == NVME_OPC_FABRICS)
		dir = ((const struct nvmf_capsule_cmd *)cmd)->fctype & 0x3;
	else
		dir = cmd->opc & 0x3;
	switch (dir) {
	case NVME_DATA_HOST_TO_CONTROLLER:
		return UNVMF_XFER_HOST_TO_CONTROLLER;
	case NVME_DATA_CONTROLLER_TO_HOST:
		return UNVMF_XFER_CONTROLLER_TO_HOST;
	default:
		/* Bidirectional commands are not supported; the command handler rejects them. */
		return UNVMF_XFER_NONE;
	}
}

void unvmf_latency_hist_add(struct unvmf_latency_hist *hist, uint64_t us)
{
	unsigned bucket = us ? 64 - (unsigned)__builtin_clzll(us) : 0;

	if (bucket >= UNVMF_ARRAY_SIZE(hist->buckets))
		bucket = UNVMF_ARRAY_SIZE(hist->buckets) - 1;
	hist->buckets[bucket]++;
	hist->count++;
	hist->sum_us += us;
}

void unvmf_req_set_c2h_len(struct unvmf_req *req, uint32_t len)
{
	req->c2h_len = UNVMF_MIN(len, req->length);
}

void unvmf_req_trim(struct unvmf_req *req, uint32_t len)
{
	uint32_t left = len;

	if (req->length <= len)
		return;
	for (int i = 0; i < req->iovcnt; i++) {
		if (left == 0) {
			req->iovcnt = i;
			break;
		}
		if (req->iov[i].iov_len > left)
			req->iov[i].iov_len = left;
		left -= (uint32_t)req->iov[i].iov_len;
	}
	req->length = len;
}

static void group_status_count(struct unvmf_poll_group_stats *st, uint8_t sct, uint8_t sc)
{
	uint16_t status = (uint16_t)(sct << 8 | sc);

	for (unsigned i = 0; i < UNVMF_STATUS_SLOTS; i++) {
		struct unvmf_status_count *c = &st->errors_by_status[i];

		if (c->count == 0)
			c->status = status;
		if (c->status == status) {
			c->count++;
			return;
		}
	}
	st->errors_by_status_other++;
}

void unvmf_req_complete(struct unvmf_req *req)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_poll_group *group = qpair->group;
	bool ok = req->rsp.status.s.sct == NVME_SCT_GENERIC &&
		  req->rsp.status.s.sc == NVME_SC_SUCCESS;

	if (req->xfer == UNVMF_XFER_CONTROLLER_TO_HOST)
		unvmf_req_trim(req, ok ? req->c2h_len : 0);
	req->rsp.cid = req->cmd.cid;
	req->rsp.sqid = qpair->qid;
	/* SQ head: with flow control on, report how far we consumed. */
	if (qpair->sq_size) {
		qpair->sqhd++;
		if (qpair->sqhd >= qpair->sq_size)
			qpair->sqhd = 0;
	}
	req->rsp.sqhd = qpair->sq_flow_control_disabled ? 0xffff : qpair->sqhd;
	if (unvmf_unlikely(req->fused_state != UNVMF_FUSED_NONE))
		unvmf_fused_complete(req);
	qpair->stats.requests++;
	if (unvmf_unlikely(!ok)) {
		qpair->stats.errors++;
		/* M: the Error Information log holds more about this command. */
		if (qpair->ctrlr && unvmf_ctrlr_error_post(qpair->ctrlr, req))
			req->rsp.status.s.m = 1;
	}
	if (group) {
		group->stats.requests_completed++;
		if (unvmf_unlikely(!ok)) {
			group->stats.errors++;
			group_status_count(&group->stats, req->rsp.status.s.sct,
			                   req->rsp.status.s.sc);
		}
		if (req->start_us)
			unvmf_latency_hist_add(&group->stats.latency,
					       unvmf_now_us() - req->start_us);
	}
	qpair->transport->ops->req_complete(req);
}

void unvmf_req_complete_status(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	memset(&req->rsp, 0, sizeof(req->rsp));
	unvmf_req_set_status(req, sct, sc);
	unvmf_req_complete(req);
}

void unvmf_req_reject(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	req->ns = NULL;
	req->aborted = false;
	req->c2h_len = 0;
	req->start_us = 0;
	unvmf_req_complete_status(req, sct, sc);
}

void unvmf_req_exec(struct unvmf_req *req)
{
	struct unvmf_qpair *qpair = req->qpair;

	memset(&req->rsp, 0, sizeof(req->rsp));
	req->ns = NULL;
	req->aborted = false;
	req->c2h_len = 0;
	req->start_us = unvmf_now_us();

	if (unvmf_unlikely(qpair->state == UNVMF_QPAIR_DISCONNECTING)) {
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_ABORTED_SQ_DELETION);
		return;
	}
	if (unvmf_unlikely(req->cmd.opc == NVME_OPC_FABRICS)) {
		unvmf_ctrlr_exec_fabrics(req);
		return;
	}
	if (unvmf_unlikely(qpair->state != UNVMF_QPAIR_ACTIVE)) {
		/* Anything but Fabrics before Connect is a sequence error (NVMe-oF 3.3). */
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
		return;
	}
	if (unvmf_unlikely(qpair->auth != NULL) && !unvmf_auth_qpair_allows(qpair)) {
		unvmf_req_complete_status(req, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_AUTH_REQUIRED);
		return;
	}
	if (unvmf_unlikely(req->cmd.fuse != 0)) {
		unvmf_fused_exec(req);
		return;
	}
	if (qpair->qid == 0)
		unvmf_ctrlr_exec_admin(req);
	else
		unvmf_io_exec(req);
}
