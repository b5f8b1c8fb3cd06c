/*
 * The controller's Error Information log: every command completed with an
 * error is staged on its qid's ring by the qpair's own thread (no lock, no
 * allocation), and the admin thread collects the rings when the host reads a
 * log that reports errors. The admin thread assigns Error Count, so the
 * numbers are unique and increase in the order the admin thread saw them.
 */
#include "nvmf/nvmf_internal.h"

#include <string.h>

/* Where in the SQE the field the status complains about lives (byte | bit << 8). */
static uint16_t error_param_loc(const struct nvme_sqe *cmd, uint8_t sct, uint8_t sc, bool io)
{
	if (sct != NVME_SCT_GENERIC)
		return 0xffff;
	switch (sc) {
	case NVME_SC_INVALID_OPCODE:
		return offsetof(struct nvme_sqe, opc);
	case NVME_SC_INVALID_NAMESPACE_OR_FORMAT:
		return offsetof(struct nvme_sqe, nsid);
	case NVME_SC_LBA_OUT_OF_RANGE:
		/* SLBA (CDW10) for Read/Write/Write Zeroes; DSM ranges live in the data. */
		return io && cmd->opc != NVME_OPC_DATASET_MANAGEMENT
		           ? offsetof(struct nvme_sqe, cdw10)
		           : 0xffff;
	default:
		return 0xffff;
	}
}

static bool error_has_lba(const struct nvme_sqe *cmd, uint8_t sct, uint8_t sc)
{
	bool lba_cmd = cmd->opc == NVME_OPC_READ || cmd->opc == NVME_OPC_WRITE ||
	               cmd->opc == NVME_OPC_WRITE_ZEROES;

	return lba_cmd && (sct == NVME_SCT_MEDIA_ERROR ||
	                   (sct == NVME_SCT_GENERIC && sc == NVME_SC_LBA_OUT_OF_RANGE));
}

bool unvmf_ctrlr_error_post(struct unvmf_ctrlr *ctrlr, const struct unvmf_req *req)
{
	const struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_ctrlr_queue_log *q = &ctrlr->qlog[qpair->qid];
	uint32_t head = atomic_load_explicit(&q->err_head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&q->err_tail, memory_order_acquire);
	uint8_t sct = req->rsp.status.s.sct, sc = req->rsp.status.s.sc;
	struct unvmf_error_record *rec;

	if (head - tail >= UNVMF_QUEUE_ERROR_RING) {
		/* Counted, so Error Count still says how many errors there were. */
		unvmf_counter_add(&q->err_dropped, 1);
		return false;
	}
	rec = &q->errors[head % UNVMF_QUEUE_ERROR_RING];
	rec->cid = req->cmd.cid;
	rec->status = req->rsp.status.raw & 0xfffe;
	rec->param_loc = error_param_loc(&req->cmd, sct, sc, qpair->qid != 0);
	rec->nsid = req->cmd.nsid;
	rec->lba = error_has_lba(&req->cmd, sct, sc)
	               ? (req->cmd.cdw10 | ((uint64_t)req->cmd.cdw11 << 32))
	               : 0;
	/* Publishes the record: pairs with the acquire in errors_collect. */
	atomic_store_explicit(&q->err_head, head + 1, memory_order_release);
	return true;
}

static void errors_push(struct unvmf_ctrlr *ctrlr, uint16_t sqid,
                        const struct unvmf_error_record *rec)
{
	struct nvme_error_log_entry *e;

	if (ctrlr->num_errors == UNVMF_ARRAY_SIZE(ctrlr->errors)) {
		memmove(&ctrlr->errors[0], &ctrlr->errors[1],
		        (ctrlr->num_errors - 1) * sizeof(ctrlr->errors[0]));
		ctrlr->num_errors--;
	}
	e = &ctrlr->errors[ctrlr->num_errors++];
	memset(e, 0, sizeof(*e));
	e->error_count = ++ctrlr->err_count;
	e->sqid = sqid;
	e->cid = rec->cid;
	e->status = rec->status;
	e->error_location = rec->param_loc;
	e->lba = rec->lba;
	e->nsid = rec->nsid;
	e->trtype = (uint8_t)ctrlr->listen_trid.trtype;
}

void unvmf_ctrlr_errors_collect(struct unvmf_ctrlr *ctrlr)
{
	for (unsigned qid = 0; qid <= ctrlr->max_qid; qid++) {
		struct unvmf_ctrlr_queue_log *q = &ctrlr->qlog[qid];
		uint32_t tail = atomic_load_explicit(&q->err_tail, memory_order_relaxed);
		uint32_t head = atomic_load_explicit(&q->err_head, memory_order_acquire);
		uint64_t dropped;

		while (tail != head) {
			errors_push(ctrlr, (uint16_t)qid,
			            &q->errors[tail % UNVMF_QUEUE_ERROR_RING]);
			tail++;
		}
		/* Frees the slots: pairs with the acquire in error_post. */
		atomic_store_explicit(&q->err_tail, tail, memory_order_release);
		/* Errors that found the ring full came after the ones it held. */
		dropped = atomic_load_explicit(&q->err_dropped, memory_order_relaxed);
		ctrlr->err_count += dropped - q->err_dropped_seen;
		q->err_dropped_seen = dropped;
	}
}
