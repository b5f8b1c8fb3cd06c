/*
 * NVMe/RDMA command capsules (NVMe-oF RDMA transport binding): which SGL
 * forms a command may carry, and how a transfer is cut into RDMA READ/WRITE
 * pieces. Pure functions on a request and a buffer; no NIC, no core.
 *
 * Accepted SGL1 forms:
 *  - Keyed SGL Data Block, subtype Address or Invalidate Key: data at the
 *    host, moved by RDMA READ/WRITE; Invalidate Key asks for the response to
 *    be a SEND with Invalidate of that key.
 *  - SGL Data Block, subtype Offset: in-capsule data (host to controller),
 *    at that offset after the 64-byte command.
 *  - Last Segment, subtype Offset: a list of Keyed SGL Data Blocks in the
 *    capsule (up to msdbd); pieces are transferred in list order.
 */
#include "transport/rdma/rdma_internal.h"

#include <errno.h>
#include <string.h>

static int reject(struct rdma_req *req, uint8_t sc)
{
	unvmf_req_set_status(&req->core, NVME_SCT_GENERIC, sc);
	return 1;
}

static int parse_keyed(struct rdma_req *req, const struct nvme_sgl_desc *d)
{
	struct rdma_keyed_sgl *s;

	if (d->keyed.subtype != NVME_SGL_SUBTYPE_ADDRESS &&
	    d->keyed.subtype != NVME_SGL_SUBTYPE_INVALIDATE_KEY)
		return reject(req, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	if (d->keyed.length == 0)
		return 0;
	if (req->num_sgl >= RDMA_MAX_SGL_DESCRIPTORS)
		return reject(req, NVME_SC_INVALID_NUM_SGL_DESCRIPTORS);
	s = &req->sgl[req->num_sgl++];
	s->addr = d->keyed.address;
	s->len = (uint32_t)d->keyed.length;
	s->key = (uint32_t)d->keyed.key;
	if (d->keyed.subtype == NVME_SGL_SUBTYPE_INVALIDATE_KEY) {
		/* One SEND can invalidate one key: two different ones cannot be honoured. */
		if (req->invalidate && req->inval_rkey != s->key)
			return reject(req, NVME_SC_INVALID_FIELD);
		req->invalidate = true;
		req->inval_rkey = s->key;
	}
	return 0;
}

static int parse_keyed_total(struct rdma_req *req, const struct rdma_capsule_limits *lim)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < req->num_sgl; i++)
		total += req->sgl[i].len;
	if (total > lim->max_io_size)
		return reject(req, NVME_SC_DATA_SGL_LENGTH_INVALID);
	req->core.length = (uint32_t)total;
	return 0;
}

int rdma_capsule_parse(struct rdma_req *req, uint8_t *buf, uint32_t len,
                       const struct rdma_capsule_limits *lim)
{
	const struct nvme_sgl_desc *sgl;
	uint32_t icd_len;
	int rc;

	if (len < RDMA_CAPSULE_CMD_SIZE)
		return -EPROTO;
	memcpy(&req->core.cmd, buf, sizeof(req->core.cmd));
	req->core.xfer = unvmf_cmd_xfer(&req->core.cmd);
	req->core.length = 0;
	req->core.iovcnt = 0;
	req->num_sgl = 0;
	req->in_capsule = false;
	req->invalidate = false;
	req->inval_rkey = 0;
	if (req->core.xfer == UNVMF_XFER_NONE)
		return 0;
	icd_len = len - RDMA_CAPSULE_CMD_SIZE;
	sgl = &req->core.cmd.dptr.sgl1;
	switch (sgl->generic.type) {
	case NVME_SGL_TYPE_KEYED_DATA_BLOCK:
		rc = parse_keyed(req, sgl);
		if (rc)
			return rc;
		rc = parse_keyed_total(req, lim);
		break;
	case NVME_SGL_TYPE_DATA_BLOCK: {
		uint64_t off = sgl->unkeyed.address;
		uint32_t dlen = sgl->unkeyed.length;

		if (sgl->unkeyed.subtype != NVME_SGL_SUBTYPE_OFFSET)
			return reject(req, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
		if (req->core.xfer != UNVMF_XFER_HOST_TO_CONTROLLER)
			return reject(req, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
		if (off > icd_len)
			return reject(req, NVME_SC_INVALID_SGL_OFFSET);
		if (dlen > icd_len - off || dlen > lim->max_io_size)
			return reject(req, NVME_SC_DATA_SGL_LENGTH_INVALID);
		req->in_capsule = true;
		req->core.length = dlen;
		if (dlen) {
			req->core.iov[0].iov_base = buf + RDMA_CAPSULE_CMD_SIZE + off;
			req->core.iov[0].iov_len = dlen;
			req->core.iovcnt = 1;
		}
		rc = 0;
		break;
	}
	case NVME_SGL_TYPE_LAST_SEGMENT: {
		uint64_t off = sgl->unkeyed.address;
		uint32_t slen = sgl->unkeyed.length;
		const struct nvme_sgl_desc *list;
		uint32_t n;

		if (sgl->unkeyed.subtype != NVME_SGL_SUBTYPE_OFFSET)
			return reject(req, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
		if (slen == 0 || slen % sizeof(*list))
			return reject(req, NVME_SC_INVALID_SGL_SEG_DESCRIPTOR);
		n = slen / (uint32_t)sizeof(*list);
		if (n > lim->max_sgl || n > RDMA_MAX_SGL_DESCRIPTORS)
			return reject(req, NVME_SC_INVALID_NUM_SGL_DESCRIPTORS);
		if (off > icd_len || slen > icd_len - off)
			return reject(req, NVME_SC_INVALID_SGL_OFFSET);
		list = (const struct nvme_sgl_desc *)(buf + RDMA_CAPSULE_CMD_SIZE + off);
		for (uint32_t i = 0; i < n; i++) {
			struct nvme_sgl_desc d;

			memcpy(&d, &list[i], sizeof(d));
			if (d.generic.type != NVME_SGL_TYPE_KEYED_DATA_BLOCK)
				return reject(req, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
			rc = parse_keyed(req, &d);
			if (rc)
				return rc;
		}
		rc = parse_keyed_total(req, lim);
		break;
	}
	default:
		return reject(req, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	}
	if (rc)
		return rc;
	/* A data command that moves nothing runs as one without data (the core checks lengths). */
	if (req->core.length == 0 && !req->in_capsule)
		req->core.xfer = UNVMF_XFER_NONE;
	return 0;
}

uint32_t rdma_capsule_plan(const struct rdma_req *req, struct rdma_seg *segs, uint32_t max)
{
	uint32_t n = 0, d = 0, b = 0;
	uint32_t d_off = 0, b_off = 0;

	while (d < req->num_sgl && b < (uint32_t)req->core.iovcnt && n < max) {
		const struct rdma_keyed_sgl *s = &req->sgl[d];
		const struct iovec *iov = &req->core.iov[b];
		uint32_t len = UNVMF_MIN(s->len - d_off, (uint32_t)iov->iov_len - b_off);

		segs[n].local = (uint64_t)(uintptr_t)iov->iov_base + b_off;
		segs[n].remote = s->addr + d_off;
		segs[n].rkey = s->key;
		segs[n].len = len;
		n++;
		d_off += len;
		b_off += len;
		if (d_off == s->len) {
			d++;
			d_off = 0;
		}
		if (b_off == iov->iov_len) {
			b++;
			b_off = 0;
		}
	}
	return n;
}
