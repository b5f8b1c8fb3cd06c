/*
 * NVM I/O commands: validation to the spec's status codes, then the bdev.
 * Runs on the qpair's thread; no allocation, no lock.
 */
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

static void io_done(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	unvmf_req_set_status(req, sct, sc);
	unvmf_req_complete(req);
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
		io_done(req, NVME_SCT_MEDIA_ERROR, req->cmd.opc == NVME_OPC_READ ?
							   NVME_SC_UNRECOVERED_READ_ERROR :
							   NVME_SC_WRITE_FAULT);
		return;
	case -ENOMEM:
	case -EAGAIN:
		/* Retryable: no DNR. */
		unvmf_req_set_status(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		req->rsp.status.s.dnr = 0;
		unvmf_req_complete(req);
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
		io_status_from_errno(req, -ENOMEM);
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
	return slba < bdev->num_blocks && nlb <= bdev->num_blocks - slba;
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
	req->dsm_next = 0;
	io_dsm_next(req);
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
	switch (req->cmd.opc) {
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
	default:
		io_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return;
	}
}
