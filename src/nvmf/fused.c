/*
 * Fused operations (NVMe base 3.4.2): a FIRST and the SECOND right after it
 * in the same submission queue run as one. The only pair the NVM command set
 * defines is Compare (FIRST) + Write (SECOND); io.c runs it.
 *
 * Adjacency is a property of submission order, which only the transport
 * sees: a transport executes commands when their data is in, so a Write
 * whose data came in the capsule may reach unvmf_req_exec before the Compare
 * that precedes it. The transport therefore reports each command's arrival
 * in submission order (unvmf_req_fused_arrive, on the qpair's thread, as the
 * capsule is accepted), which pairs a FIRST with its successor or marks the
 * lone half; unvmf_req_exec then holds a half on qpair->fused_held until its
 * partner is executed too, and starts the pair in order. A transport that
 * never reports arrivals gets Invalid Field for every fused command, as
 * before fused support.
 *
 * Failures: a lone half completes with Aborted due to Missing Fused Command;
 * a half whose partner completed first (bad SGL, digest error, its own
 * invalid field) with Aborted due to Failed Fused Command; a half held when
 * the queue goes with Aborted due to SQ Deletion.
 */
#include "nvmf/nvmf_internal.h"
#include "util/log.h"

static void fused_fail(struct unvmf_req *req, uint8_t sc)
{
	unvmf_req_set_status(req, NVME_SCT_GENERIC, sc);
	unvmf_req_complete(req);
}

void unvmf_req_fused_arrive(struct unvmf_req *req)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_req *first = qpair->fused_first;

	req->fused_partner = NULL;
	req->fused_ready = false;
	qpair->fused_first = NULL;
	if (first) {
		if (req->cmd.fuse == NVME_FUSE_SECOND) {
			first->fused_partner = req;
			req->fused_partner = first;
			first->fused_state = UNVMF_FUSED_PAIRED;
			req->fused_state = UNVMF_FUSED_PAIRED;
			return;
		}
		first->fused_state = UNVMF_FUSED_MISSING;
		if (first->fused_ready) {
			LIST_REMOVE(first, fused_link);
			first->fused_ready = false;
			fused_fail(first, NVME_SC_ABORTED_MISSING_FUSED);
		}
	}
	switch (req->cmd.fuse) {
	case NVME_FUSE_FIRST:
		req->fused_state = UNVMF_FUSED_WAIT_SECOND;
		qpair->fused_first = req;
		return;
	case NVME_FUSE_SECOND:
		req->fused_state = UNVMF_FUSED_MISSING;
		return;
	default:
		req->fused_state = UNVMF_FUSED_ARRIVED;
		return;
	}
}

void unvmf_fused_exec(struct unvmf_req *req)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_req *partner = req->fused_partner;
	struct unvmf_req *first, *second;

	switch (req->fused_state) {
	case UNVMF_FUSED_MISSING:
		fused_fail(req, NVME_SC_ABORTED_MISSING_FUSED);
		return;
	case UNVMF_FUSED_PARTNER_FAILED:
		fused_fail(req, NVME_SC_ABORTED_FAILED_FUSED);
		return;
	case UNVMF_FUSED_WAIT_SECOND:
	case UNVMF_FUSED_PAIRED:
		break;
	default:
		/* Arrival not reported by the transport, or FUSE 3 (reserved). */
		fused_fail(req, NVME_SC_INVALID_FIELD);
		return;
	}
	if (qpair->qid == 0) {
		/* No admin command may be fused. */
		fused_fail(req, NVME_SC_INVALID_FIELD);
		return;
	}
	if (!partner || !partner->fused_ready) {
		req->fused_ready = true;
		LIST_INSERT_HEAD(&qpair->fused_held, req, fused_link);
		return;
	}
	LIST_REMOVE(partner, fused_link);
	partner->fused_ready = false;
	first = req->cmd.fuse == NVME_FUSE_FIRST ? req : partner;
	second = req->cmd.fuse == NVME_FUSE_FIRST ? partner : req;
	first->fused_partner = NULL;
	second->fused_partner = NULL;
	first->fused_state = UNVMF_FUSED_RUNNING;
	second->fused_state = UNVMF_FUSED_RUNNING;
	unvmf_io_fused_exec(first, second);
}

void unvmf_fused_complete(struct unvmf_req *req)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_req *partner = req->fused_partner;

	if (qpair->fused_first == req)
		qpair->fused_first = NULL;
	if (req->fused_ready) {
		LIST_REMOVE(req, fused_link);
		req->fused_ready = false;
	}
	req->fused_partner = NULL;
	req->fused_state = UNVMF_FUSED_NONE;
	if (!partner)
		return;
	partner->fused_partner = NULL;
	partner->fused_state = UNVMF_FUSED_PARTNER_FAILED;
	if (partner->fused_ready) {
		LIST_REMOVE(partner, fused_link);
		partner->fused_ready = false;
		fused_fail(partner, NVME_SC_ABORTED_FAILED_FUSED);
	}
}

void unvmf_fused_qpair_teardown(struct unvmf_qpair *qpair)
{
	struct unvmf_req *req;

	qpair->fused_first = NULL;
	while ((req = LIST_FIRST(&qpair->fused_held))) {
		LIST_REMOVE(req, fused_link);
		req->fused_ready = false;
		/* Its partner, if held too, completes from here as Failed Fused. */
		fused_fail(req, NVME_SC_ABORTED_SQ_DELETION);
	}
}
