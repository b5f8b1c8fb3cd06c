/*
 * NVM I/O commands: validation to the spec's status codes, then the bdev.
 * Runs on the qpair's thread; no allocation, no lock.
 */
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Every I/O completion passes here: a write lets go of its range first. */
static void io_complete(struct unvmf_req *req)
{
	if (req->range_state != UNVMF_RANGE_NONE)
		unvmf_range_write_end(req);
	unvmf_req_complete(req);
}

static void io_done(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	unvmf_req_set_status(req, sct, sc);
	io_complete(req);
}

static void io_status_from_errno(struct unvmf_req *req, int status)
{
	switch (status) {
	case 0:
		io_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
		return;
	case -ERANGE:
		io_done(req, NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE);
		return;
	case -EIO:
		io_done(req, NVME_SCT_MEDIA_ERROR,
		        req->cmd.opc == NVME_OPC_READ || req->cmd.opc == NVME_OPC_COMPARE
		            ? NVME_SC_UNRECOVERED_READ_ERROR
		            : NVME_SC_WRITE_FAULT);
		return;
	case -ENOMEM:
	case -EAGAIN:
		/* Retryable: no DNR. */
		unvmf_req_set_status(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		req->rsp.status.s.dnr = 0;
		io_complete(req);
		return;
	default:
		io_done(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
}

static void io_write_flushed(struct unvmf_bdev_io *bio, int status)
{
	io_status_from_errno(UNVMF_CONTAINER_OF(bio, struct unvmf_req, bdev_io), status);
}

/*
 * With the volatile write cache disabled (Set Features VWC, WCE=0) a write
 * completes only once it is durable (NVMe base 5.21.1.6): on a backend with
 * a cache FLUSH drains (uring: the page cache), flush before answering.
 * Backends without one (RAM, null) are as durable as they get at once. With
 * WCE=1 (the default) durability waits for the host's Flush, as on a drive.
 */
static bool io_write_needs_flush(struct unvmf_req *req)
{
	return req->ns->bdev->volatile_cache &&
	       !atomic_load_explicit(&req->qpair->ctrlr->vwc_enabled, memory_order_relaxed);
}

static void io_bdev_done(struct unvmf_bdev_io *bio, int status)
{
	struct unvmf_req *req = UNVMF_CONTAINER_OF(bio, struct unvmf_req, bdev_io);

	if (status == 0) {
		struct unvmf_qpair *qpair = req->qpair;
		struct unvmf_ctrlr_queue_log *qlog = &qpair->ctrlr->qlog[qpair->qid];
		uint64_t bytes = bio->num_blocks * req->ns->bdev->block_size;

		if (bio->type == UNVMF_BDEV_IO_READ) {
			unvmf_req_set_c2h_len(req, (uint32_t)bytes);
			qpair->stats.read_bytes += bytes;
			if (qpair->group)
				qpair->group->stats.read_bytes += bytes;
			unvmf_counter_add(&qlog->read_cmds, 1);
			unvmf_counter_add(&qlog->read_units, bytes / 512);
		} else if (bio->type == UNVMF_BDEV_IO_WRITE) {
			qpair->stats.written_bytes += bytes;
			if (qpair->group)
				qpair->group->stats.written_bytes += bytes;
			unvmf_counter_add(&qlog->write_cmds, 1);
			unvmf_counter_add(&qlog->write_units, bytes / 512);
		}
		if ((bio->type == UNVMF_BDEV_IO_WRITE || bio->type == UNVMF_BDEV_IO_WRITE_ZEROES) &&
		    io_write_needs_flush(req)) {
			struct unvmf_bdev_channel *ch =
				unvmf_poll_group_channel(qpair->group, req->ns->bdev);

			if (unvmf_unlikely(!ch)) {
				io_status_from_errno(req, -ENOMEM);
				return;
			}
			/* The write's iovecs stay as they are: the transport still owns them. */
			bio->type = UNVMF_BDEV_IO_FLUSH;
			bio->offset_blocks = 0;
			bio->num_blocks = 0;
			bio->iov = NULL;
			bio->iovcnt = 0;
			bio->cb = io_write_flushed;
			unvmf_bdev_submit(ch, bio);
			return;
		}
	}
	io_status_from_errno(req, status);
}

static void io_submit(struct unvmf_req *req, enum unvmf_bdev_io_type type, uint64_t slba,
		      uint64_t nlb, unvmf_bdev_io_cb cb)
{
	struct unvmf_bdev_channel *ch = unvmf_poll_group_channel(req->qpair->group, req->ns->bdev);
	struct unvmf_bdev_io *bio = &req->bdev_io;

	if (unvmf_unlikely(!ch)) {
		cb(bio, -ENOMEM);
		return;
	}
	bio->type = type;
	bio->offset_blocks = slba;
	bio->num_blocks = nlb;
	bio->iov = req->iov;
	bio->iovcnt = req->iovcnt;
	bio->cb = cb;
	unvmf_bdev_submit(ch, bio);
}

static bool lba_range_ok(const struct unvmf_bdev *bdev, uint64_t slba, uint64_t nlb)
{
	uint64_t n = unvmf_bdev_num_blocks(bdev);

	return slba < n && nlb <= n - slba;
}

static void io_rw(struct unvmf_req *req, bool write)
{
	struct unvmf_bdev *bdev = req->ns->bdev;
	uint64_t slba = req->cmd.cdw10 | ((uint64_t)req->cmd.cdw11 << 32);
	uint64_t nlb = (uint64_t)(req->cmd.cdw12 & 0xffff) + 1;
	uint64_t len = nlb * bdev->block_size;

	if (unvmf_unlikely(!lba_range_ok(bdev, slba, nlb))) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE);
		return;
	}
	if (unvmf_unlikely(req->length < len)) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID);
		return;
	}
	if (unvmf_unlikely(req->xfer != (write ? UNVMF_XFER_HOST_TO_CONTROLLER :
						   UNVMF_XFER_CONTROLLER_TO_HOST))) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	/* A longer SGL than NLB needs is allowed: trim the iovecs to the transfer. */
	unvmf_req_trim(req, (uint32_t)len);
	if (write && !unvmf_range_write_begin(req, slba, nlb))
		return;
	io_submit(req, write ? UNVMF_BDEV_IO_WRITE : UNVMF_BDEV_IO_READ, slba, nlb, io_bdev_done);
}

static void io_write_zeroes(struct unvmf_req *req)
{
	struct unvmf_bdev *bdev = req->ns->bdev;
	uint64_t slba = req->cmd.cdw10 | ((uint64_t)req->cmd.cdw11 << 32);
	uint64_t nlb = (uint64_t)(req->cmd.cdw12 & 0xffff) + 1;

	if (!lba_range_ok(bdev, slba, nlb)) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE);
		return;
	}
	req->iovcnt = 0;
	if (!unvmf_range_write_begin(req, slba, nlb))
		return;
	io_submit(req, UNVMF_BDEV_IO_WRITE_ZEROES, slba, nlb, io_bdev_done);
}

static void io_flush(struct unvmf_req *req)
{
	req->iovcnt = 0;
	io_submit(req, UNVMF_BDEV_IO_FLUSH, 0, 0, io_bdev_done);
}

/* DSM ranges are submitted one after the other from the request's own data buffer. */
static const struct nvme_dsm_range *dsm_range(struct unvmf_req *req, uint32_t i,
					      struct nvme_dsm_range *tmp)
{
	size_t off = (size_t)i * sizeof(*tmp), base = 0;
	uint8_t *dst = (uint8_t *)tmp;
	size_t need = sizeof(*tmp);

	for (int k = 0; k < req->iovcnt && need; k++) {
		size_t len = req->iov[k].iov_len;

		if (off < base + len) {
			size_t n = UNVMF_MIN(need, base + len - off);

			memcpy(dst, (uint8_t *)req->iov[k].iov_base + (off - base), n);
			dst += n;
			off += n;
			need -= n;
		}
		base += len;
	}
	return tmp;
}

static void io_dsm_next(struct unvmf_req *req);

static void io_dsm_range_done(struct unvmf_bdev_io *bio, int status)
{
	struct unvmf_req *req = UNVMF_CONTAINER_OF(bio, struct unvmf_req, bdev_io);

	if (status) {
		io_status_from_errno(req, status);
		return;
	}
	io_dsm_next(req);
}

static void io_dsm_next(struct unvmf_req *req)
{
	uint32_t nr = (req->cmd.cdw10 & 0xff) + 1;
	struct nvme_dsm_range tmp;
	struct unvmf_bdev_channel *ch;

	while (req->dsm_next < nr) {
		const struct nvme_dsm_range *r = dsm_range(req, req->dsm_next++, &tmp);

		if (r->length == 0)
			continue;
		ch = unvmf_poll_group_channel(req->qpair->group, req->ns->bdev);
		if (!ch) {
			io_status_from_errno(req, -ENOMEM);
			return;
		}
		req->bdev_io.type = UNVMF_BDEV_IO_UNMAP;
		req->bdev_io.offset_blocks = r->starting_lba;
		req->bdev_io.num_blocks = r->length;
		req->bdev_io.iov = NULL;
		req->bdev_io.iovcnt = 0;
		req->bdev_io.cb = io_dsm_range_done;
		unvmf_bdev_submit(ch, &req->bdev_io);
		return;
	}
	io_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static void io_dsm(struct unvmf_req *req)
{
	struct unvmf_bdev *bdev = req->ns->bdev;
	uint32_t nr = (req->cmd.cdw10 & 0xff) + 1;
	struct nvme_dsm_range tmp;

	if (req->xfer != UNVMF_XFER_HOST_TO_CONTROLLER ||
	    req->length < nr * sizeof(struct nvme_dsm_range)) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID);
		return;
	}
	if (!(req->cmd.cdw11 & NVME_DSM_ATTR_DEALLOCATE)) {
		/* Integral-read/write hints only: advisory, nothing to do. */
		io_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
		return;
	}
	/* Check every range before touching any, so a bad one changes nothing. */
	for (uint32_t i = 0; i < nr; i++) {
		const struct nvme_dsm_range *r = dsm_range(req, i, &tmp);

		if (r->length && !lba_range_ok(bdev, r->starting_lba, r->length)) {
			io_done(req, NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE);
			return;
		}
	}
	/* Ordered against Compare and Write as one write of the whole namespace. */
	if (!unvmf_range_write_begin(req, 0, UINT64_MAX))
		return;
	req->dsm_next = 0;
	io_dsm_next(req);
}

/* ---- Compare, and Compare and Write (the fused pair fused.c starts) ---- */

/*
 * The media's copy of a Compare's range. Compare is the guard of a cluster
 * lock (a few blocks at a time), not a bulk data path, so its buffer is one
 * allocation per command; a Compare and Write's range lock lives in it too.
 */
struct io_cmp {
	struct unvmf_range_lock lk;
	struct iovec iov;
	uint8_t data[];
};

/* Validates a Compare (or the Write of a pair) the way io_rw does; 0 or the status to send. */
static int io_cmp_check(struct unvmf_req *req, uint64_t *slba, uint64_t *nlb)
{
	struct unvmf_bdev *bdev = req->ns->bdev;
	uint64_t len;

	*slba = req->cmd.cdw10 | ((uint64_t)req->cmd.cdw11 << 32);
	*nlb = (uint64_t)(req->cmd.cdw12 & 0xffff) + 1;
	len = *nlb * bdev->block_size;
	if (!lba_range_ok(bdev, *slba, *nlb))
		return NVME_SC_LBA_OUT_OF_RANGE;
	if (req->length < len)
		return NVME_SC_DATA_SGL_LENGTH_INVALID;
	if (req->xfer != UNVMF_XFER_HOST_TO_CONTROLLER)
		return NVME_SC_INVALID_FIELD;
	unvmf_req_trim(req, (uint32_t)len);
	return 0;
}

static struct io_cmp *io_cmp_alloc(struct unvmf_req *req, uint64_t nlb)
{
	size_t len = nlb * req->ns->bdev->block_size;
	struct io_cmp *c = malloc(sizeof(*c) + len);

	if (!c)
		return NULL;
	c->iov.iov_base = c->data;
	c->iov.iov_len = len;
	req->cmp_buf = c;
	return c;
}

static void io_cmp_free(struct unvmf_req *req)
{
	free(req->cmp_buf);
	req->cmp_buf = NULL;
	req->range_lock = NULL;
}

/* True when the host's data (req->iov) equals the media's (c->data). */
static bool io_cmp_equal(const struct unvmf_req *req, const struct io_cmp *c)
{
	size_t off = 0;

	for (int i = 0; i < req->iovcnt; i++) {
		size_t n = UNVMF_MIN(req->iov[i].iov_len, c->iov.iov_len - off);

		if (memcmp(req->iov[i].iov_base, c->data + off, n) != 0)
			return false;
		off += n;
	}
	return off == c->iov.iov_len;
}

static void io_cmp_submit_read(struct unvmf_req *req, struct io_cmp *c, uint64_t slba, uint64_t nlb,
                               unvmf_bdev_io_cb cb)
{
	struct unvmf_bdev_channel *ch = unvmf_poll_group_channel(req->qpair->group, req->ns->bdev);
	struct unvmf_bdev_io *bio = &req->bdev_io;

	if (unvmf_unlikely(!ch)) {
		cb(bio, -ENOMEM);
		return;
	}
	bio->type = UNVMF_BDEV_IO_READ;
	bio->offset_blocks = slba;
	bio->num_blocks = nlb;
	bio->iov = &c->iov;
	bio->iovcnt = 1;
	bio->cb = cb;
	unvmf_bdev_submit(ch, bio);
}

static void io_compare_read_done(struct unvmf_bdev_io *bio, int status)
{
	struct unvmf_req *req = UNVMF_CONTAINER_OF(bio, struct unvmf_req, bdev_io);
	bool equal = status == 0 && io_cmp_equal(req, req->cmp_buf);

	io_cmp_free(req);
	if (status) {
		io_status_from_errno(req, status);
		return;
	}
	if (!equal) {
		io_done(req, NVME_SCT_MEDIA_ERROR, NVME_SC_COMPARE_FAILURE);
		return;
	}
	io_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static void io_compare(struct unvmf_req *req)
{
	uint64_t slba, nlb;
	struct io_cmp *c;
	int sc = io_cmp_check(req, &slba, &nlb);

	if (sc) {
		io_done(req, NVME_SCT_GENERIC, (uint8_t)sc);
		return;
	}
	c = io_cmp_alloc(req, nlb);
	if (!c) {
		io_status_from_errno(req, -ENOMEM);
		return;
	}
	io_cmp_submit_read(req, c, slba, nlb, io_compare_read_done);
}

/* The pair ends before the Write ran: first gets its status, second Failed Fused. */
static void io_fused_fail(struct unvmf_req *first, struct unvmf_req *second, uint8_t sct,
                          uint8_t sc)
{
	struct io_cmp *c = first->cmp_buf;

	if (c)
		unvmf_range_lock_release(&c->lk);
	io_cmp_free(first);
	io_done(first, sct, sc);
	io_done(second, NVME_SCT_GENERIC, NVME_SC_ABORTED_FAILED_FUSED);
}

static void io_fused_write_done(struct unvmf_bdev_io *bio, int status)
{
	struct unvmf_req *second = UNVMF_CONTAINER_OF(bio, struct unvmf_req, bdev_io);
	struct unvmf_req *first = second->range_lock->first;

	/* The Write reached the bdev: later writes to the range may run. */
	unvmf_range_lock_release(second->range_lock);
	second->range_lock = NULL;
	io_cmp_free(first);
	io_done(first, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
	io_bdev_done(bio, status);
}

static void io_fused_compare_done(struct unvmf_bdev_io *bio, int status)
{
	struct unvmf_req *first = UNVMF_CONTAINER_OF(bio, struct unvmf_req, bdev_io);
	struct io_cmp *c = first->cmp_buf;
	struct unvmf_req *second = c->lk.second;

	if (status == -EIO) {
		io_fused_fail(first, second, NVME_SCT_MEDIA_ERROR, NVME_SC_UNRECOVERED_READ_ERROR);
		return;
	}
	if (status) {
		io_fused_fail(first, second, NVME_SCT_GENERIC,
		              status == -ERANGE ? NVME_SC_LBA_OUT_OF_RANGE
		                                : NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	if (!io_cmp_equal(first, c)) {
		io_fused_fail(first, second, NVME_SCT_MEDIA_ERROR, NVME_SC_COMPARE_FAILURE);
		return;
	}
	second->range_lock = &c->lk;
	io_submit(second, UNVMF_BDEV_IO_WRITE, c->lk.slba, c->lk.nlb, io_fused_write_done);
}

static void io_fused_locked(struct unvmf_range_lock *lk)
{
	if (lk->failed) {
		io_fused_fail(lk->first, lk->second, NVME_SCT_GENERIC,
		              NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	io_cmp_submit_read(lk->first, lk->first->cmp_buf, lk->slba, lk->nlb, io_fused_compare_done);
}

void unvmf_io_fused_exec(struct unvmf_req *first, struct unvmf_req *second)
{
	struct unvmf_subsystem *subsys = first->qpair->ctrlr->subsys;
	uint32_t nsid = first->cmd.nsid;
	uint64_t slba, nlb, slba2, nlb2;
	struct io_cmp *c;
	int sc;

	first->cmp_buf = NULL;
	if (first->cmd.opc != NVME_OPC_COMPARE || second->cmd.opc != NVME_OPC_WRITE ||
	    second->cmd.nsid != nsid) {
		/* Compare then Write is the only fused operation of the NVM command set. */
		io_fused_fail(first, second, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	if (subsys->type != UNVMF_SUBSYSTEM_NVME || nsid == 0 || nsid > subsys->max_namespaces)
		first->ns = NULL;
	else
		first->ns = __atomic_load_n(&subsys->ns[nsid - 1], __ATOMIC_ACQUIRE);
	second->ns = first->ns;
	if (!first->ns) {
		io_fused_fail(first, second, NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	if (unvmf_resv_held(&first->ns->resv) && unvmf_resv_io_conflict(first, true)) {
		io_fused_fail(first, second, NVME_SCT_GENERIC, NVME_SC_RESERVATION_CONFLICT);
		return;
	}
	sc = io_cmp_check(first, &slba, &nlb);
	if (sc) {
		io_fused_fail(first, second, NVME_SCT_GENERIC, (uint8_t)sc);
		return;
	}
	sc = io_cmp_check(second, &slba2, &nlb2);
	if (!sc && (slba2 != slba || nlb2 != nlb)) {
		/* Both halves must name the same LBA range: the pair is in error. */
		io_fused_fail(first, second, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	if (sc) {
		/* The Write is in error: it fails with its status, the Compare as Failed Fused. */
		io_done(second, NVME_SCT_GENERIC, (uint8_t)sc);
		io_done(first, NVME_SCT_GENERIC, NVME_SC_ABORTED_FAILED_FUSED);
		return;
	}
	c = io_cmp_alloc(first, nlb);
	if (!c) {
		io_fused_fail(first, second, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	c->lk.ns = first->ns;
	c->lk.slba = slba;
	c->lk.nlb = nlb;
	c->lk.first = first;
	c->lk.second = second;
	c->lk.held = io_fused_locked;
	first->range_lock = &c->lk;
	unvmf_range_lock_acquire(&c->lk);
}

/* The read and write command groups of the reservation access table; others pass. */
static bool io_resv_conflict(struct unvmf_req *req)
{
	if (unvmf_likely(!unvmf_resv_held(&req->ns->resv)))
		return false;
	switch (req->cmd.opc) {
	case NVME_OPC_READ:
	case NVME_OPC_COMPARE:
		return unvmf_resv_io_conflict(req, false);
	case NVME_OPC_WRITE:
	case NVME_OPC_WRITE_ZEROES:
	case NVME_OPC_DATASET_MANAGEMENT:
		return unvmf_resv_io_conflict(req, true);
	default:
		return false;
	}
}

void unvmf_io_exec(struct unvmf_req *req)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	struct unvmf_subsystem *subsys = ctrlr->subsys;
	uint32_t nsid = req->cmd.nsid;

	if (unvmf_unlikely(subsys->type != UNVMF_SUBSYSTEM_NVME)) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return;
	}
	if (unvmf_unlikely(nsid == 0 || nsid > subsys->max_namespaces))
		req->ns = NULL;
	else
		req->ns = __atomic_load_n(&subsys->ns[nsid - 1], __ATOMIC_ACQUIRE);
	if (unvmf_unlikely(!req->ns)) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	if (unvmf_unlikely(io_resv_conflict(req))) {
		io_done(req, NVME_SCT_GENERIC, NVME_SC_RESERVATION_CONFLICT);
		return;
	}
	switch (req->cmd.opc) {
	case NVME_OPC_RESERVATION_REGISTER:
	case NVME_OPC_RESERVATION_REPORT:
	case NVME_OPC_RESERVATION_ACQUIRE:
	case NVME_OPC_RESERVATION_RELEASE:
		unvmf_resv_exec(req);
		return;
	case NVME_OPC_READ:
		io_rw(req, false);
		return;
	case NVME_OPC_WRITE:
		io_rw(req, true);
		return;
	case NVME_OPC_FLUSH:
		io_flush(req);
		return;
	case NVME_OPC_WRITE_ZEROES:
		io_write_zeroes(req);
		return;
	case NVME_OPC_DATASET_MANAGEMENT:
		io_dsm(req);
		return;
	case NVME_OPC_COMPARE:
		io_compare(req);
		return;
	default:
		io_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return;
	}
}
