/* NVMe/RDMA host requests: capsule and SGL layout, submit, completion dispatch, drain. */
#include "host/rdma/host_rdma_conn.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

void host_rdma_hreq_set_state(struct host_rdma_conn *c, struct host_rdma_hreq *hr,
                              enum host_rdma_hreq_state state)
{
	UNVMF_ASSERT(c->state_count[hr->state] > 0);
	c->state_count[hr->state]--;
	c->state_count[state]++;
	hr->state = state;
}

uint32_t host_rdma_conn_wrs_held(const struct host_rdma_conn *c)
{
	return c->state_count[HOST_RDMA_HREQ_AWAIT_BOTH] +
	       c->state_count[HOST_RDMA_HREQ_AWAIT_SEND] +
	       c->state_count[HOST_RDMA_HREQ_SEND_FLUSHING] + c->recvs_posted;
}

static uint8_t *host_rdma_capsule(struct host_rdma_conn *c, uint16_t cid)
{
	return c->capsules + (size_t)cid * c->capsule_size;
}

int host_rdma_recv_post(struct host_rdma_conn *c, uint32_t idx)
{
	struct rdma_prov_sge sge = {
	    .addr = (uint64_t)(uintptr_t)&c->rsps[idx],
	    .length = sizeof(struct nvme_cqe),
	    .lkey = c->prov->mr_lkey(c->rsp_mr),
	};
	struct rdma_prov_recv_wr wr = {
	    .wr_id = host_rdma_wrid(HOST_RDMA_WRID_RECV, idx), .sg_list = &sge, .num_sge = 1};
	struct rdma_prov_recv_wr *bad = NULL;
	int rc = c->prov->qp_post_recv(c->qp, &wr, &bad);

	if (rc == 0)
		c->recvs_posted++;
	return rc;
}

static void host_rdma_hreq_release_mrs(struct host_rdma_conn *c, struct host_rdma_hreq *hr)
{
	for (uint8_t i = 0; i < hr->nmrs; i++)
		host_rdma_mr_put(&c->mrc, &hr->mrs[i]);
	hr->nmrs = 0;
}

static void sgl_keyed(struct nvme_sgl_desc *d, uint64_t addr, uint32_t len, uint32_t key)
{
	memset(d, 0, sizeof(*d));
	d->keyed.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK;
	d->keyed.subtype = NVME_SGL_SUBTYPE_ADDRESS;
	d->keyed.address = addr;
	d->keyed.length = len;
	d->keyed.key = key;
}

static void sgl_offset(struct nvme_sgl_desc *d, enum nvme_sgl_type type, uint32_t len)
{
	memset(d, 0, sizeof(*d));
	d->unkeyed.type = type;
	d->unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	d->unkeyed.address = 0;
	d->unkeyed.length = len;
}

/* Copies write data behind the SQE; returns the capsule length. */
static uint32_t host_rdma_layout_in_capsule(struct host_rdma_conn *c, struct host_req *req,
                                            uint8_t *cap)
{
	uint8_t *p = cap + sizeof(struct nvme_sqe);

	for (int i = 0; i < req->iovcnt; i++) {
		memcpy(p, req->iov[i].iov_base, req->iov[i].iov_len);
		p += req->iov[i].iov_len;
	}
	sgl_offset(&req->sqe.dptr.sgl1, NVME_SGL_TYPE_DATA_BLOCK, req->len);
	return (uint32_t)sizeof(struct nvme_sqe) + req->len;
}

/*
 * Registers the iovecs and writes keyed descriptors (one per iovec, split at
 * the 24-bit length) into SGL1 or, for several, behind the SQE. Returns the
 * capsule length or a negative errno (registrations released).
 */
static int host_rdma_layout_keyed(struct host_rdma_conn *c, struct host_req *req,
                                  struct host_rdma_hreq *hr, uint8_t *cap)
{
	struct nvme_sgl_desc *list = (struct nvme_sgl_desc *)(cap + sizeof(struct nvme_sqe));
	uint32_t max_list = c->icd_max / sizeof(struct nvme_sgl_desc);
	struct nvme_sgl_desc one = {0};
	uint32_t ndesc = 0;
	int rc;

	for (int i = 0; i < req->iovcnt; i++) {
		uint64_t addr = (uint64_t)(uintptr_t)req->iov[i].iov_base;
		size_t left = req->iov[i].iov_len;
		uint32_t rkey;

		if (left == 0)
			continue;
		rc = host_rdma_mr_get(&c->mrc, req->iov[i].iov_base, left, &hr->mrs[hr->nmrs]);
		if (rc)
			goto err_release;
		rkey = c->prov->mr_rkey(hr->mrs[hr->nmrs].mr);
		hr->nmrs++;
		while (left > 0) {
			uint32_t len = (uint32_t)UNVMF_MIN(left, (size_t)HOST_RDMA_KEYED_LEN_MAX);

			/* The first descriptor waits in `one` until we know whether a list is
			 * needed. */
			if (ndesc == 0) {
				sgl_keyed(&one, addr, len, rkey);
			} else {
				if (ndesc + 1 > max_list) {
					rc = -EINVAL;
					goto err_release;
				}
				if (ndesc == 1)
					list[0] = one;
				sgl_keyed(&list[ndesc], addr, len, rkey);
			}
			ndesc++;
			addr += len;
			left -= len;
		}
	}
	if (ndesc <= 1) {
		req->sqe.dptr.sgl1 = one;
		return (int)sizeof(struct nvme_sqe);
	}
	sgl_offset(&req->sqe.dptr.sgl1, NVME_SGL_TYPE_LAST_SEGMENT,
	           ndesc * (uint32_t)sizeof(struct nvme_sgl_desc));
	return (int)(sizeof(struct nvme_sqe) + ndesc * sizeof(struct nvme_sgl_desc));

err_release:
	if (rc == -EINVAL)
		LOG_ERR("qpair: %d iovecs need more keyed SGL descriptors than the %u bytes "
		        "of in-capsule space hold",
		        req->iovcnt, c->icd_max);
	host_rdma_hreq_release_mrs(c, hr);
	return rc;
}

int host_rdma_req_submit(struct unvmf_host_qpair *qp, struct host_req *req)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	uint16_t cid = req->sqe.cid;
	struct host_rdma_hreq *hr = &c->hreqs[cid];
	uint8_t *cap = host_rdma_capsule(c, cid);
	struct rdma_prov_sge sge;
	struct rdma_prov_send_wr wr, *bad = NULL;
	int len, rc;

	if (c->state != HOST_RDMA_CONN_LIVE)
		return -ENXIO;
	/* A slot is handed out again only after its SEND completion was polled. */
	UNVMF_ASSERT(hr->state == HOST_RDMA_HREQ_FREE && hr->nmrs == 0);
	req->sqe.psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	if (req->len == 0) {
		sgl_keyed(&req->sqe.dptr.sgl1, 0, 0, 0);
		len = (int)sizeof(struct nvme_sqe);
	} else if (req->dir == UNVMF_HOST_DIR_TO_CTRLR && req->len <= c->icd_max) {
		len = (int)host_rdma_layout_in_capsule(c, req, cap);
	} else {
		len = host_rdma_layout_keyed(c, req, hr, cap);
		if (len < 0)
			return len;
	}
	memcpy(cap, &req->sqe, sizeof(req->sqe));

	sge = (struct rdma_prov_sge){.addr = (uint64_t)(uintptr_t)cap,
	                             .length = (uint32_t)len,
	                             .lkey = c->prov->mr_lkey(c->capsule_mr)};
	wr = (struct rdma_prov_send_wr){.wr_id = host_rdma_wrid(HOST_RDMA_WRID_SEND, cid),
	                                .opcode = RDMA_PROV_WR_SEND,
	                                .sg_list = &sge,
	                                .num_sge = 1,
	                                .signaled = true};
	rc = c->prov->qp_post_send(c->qp, &wr, &bad);
	if (rc) {
		LOG_ERR("qpair %u: posting capsule cid %u failed: %s", qp->qid, cid, strerror(-rc));
		host_rdma_hreq_release_mrs(c, hr);
		return rc;
	}
	host_rdma_hreq_set_state(c, hr, HOST_RDMA_HREQ_AWAIT_BOTH);
	return 0;
}

static void host_rdma_hreq_finish(struct unvmf_host_qpair *qp, struct host_rdma_hreq *hr,
                                  const struct nvme_cqe *cqe)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	uint16_t cid = (uint16_t)(hr - c->hreqs);

	host_rdma_hreq_set_state(c, hr, HOST_RDMA_HREQ_FREE);
	host_qpair_complete(qp, &qp->reqs[cid], cqe);
}

static int host_rdma_send_done(struct unvmf_host_qpair *qp, const struct rdma_prov_wc *wc)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	uint32_t cid = (uint32_t)wc->wr_id;
	struct host_rdma_hreq *hr;

	if (cid >= c->nslots) {
		LOG_ERR("qpair %u: SEND completion for unknown slot %u", qp->qid, cid);
		return -EPROTO;
	}
	hr = &c->hreqs[cid];
	switch (hr->state) {
	case HOST_RDMA_HREQ_AWAIT_BOTH:
		host_rdma_hreq_set_state(c, hr, HOST_RDMA_HREQ_AWAIT_RESPONSE);
		break;
	case HOST_RDMA_HREQ_AWAIT_SEND:
		host_rdma_hreq_finish(qp, hr, &hr->early_cqe);
		break;
	case HOST_RDMA_HREQ_SEND_FLUSHING:
		host_rdma_hreq_set_state(c, hr, HOST_RDMA_HREQ_FREE);
		break;
	case HOST_RDMA_HREQ_FREE:
	case HOST_RDMA_HREQ_AWAIT_RESPONSE:
	case HOST_RDMA_HREQ_NUM_STATES:
		/* Every SEND we post is signaled once: a second completion is a provider bug. */
		UNVMF_ASSERT(0);
		return -EPROTO;
	}
	return 0;
}

static int host_rdma_recv_done(struct unvmf_host_qpair *qp, const struct rdma_prov_wc *wc)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	uint32_t idx = (uint32_t)wc->wr_id;
	struct host_rdma_hreq *hr;
	struct nvme_cqe cqe;
	int rc;

	UNVMF_ASSERT(idx < c->nrecvs);
	if (wc->byte_len != sizeof(cqe)) {
		LOG_ERR("qpair %u: response of %u bytes (expected %zu)", qp->qid, wc->byte_len,
		        sizeof(cqe));
		return -EPROTO;
	}
	if (wc->flags & RDMA_PROV_WC_FLAG_WITH_INV) {
		/* We never offer an rkey for invalidation (host_rdma_conn.h). */
		LOG_ERR("qpair %u: controller invalidated rkey 0x%x we did not offer", qp->qid,
		        wc->invalidated_rkey);
		return -EPROTO;
	}
	cqe = c->rsps[idx];
	if (c->state == HOST_RDMA_CONN_LIVE) {
		rc = host_rdma_recv_post(c, idx);
		if (rc) {
			LOG_ERR("qpair %u: reposting receive %u failed: %s", qp->qid, idx,
			        strerror(-rc));
			return rc;
		}
	}
	if (cqe.cid >= c->nslots || (c->hreqs[cqe.cid].state != HOST_RDMA_HREQ_AWAIT_BOTH &&
	                             c->hreqs[cqe.cid].state != HOST_RDMA_HREQ_AWAIT_RESPONSE)) {
		LOG_ERR("qpair %u: response for cid %u that is not outstanding", qp->qid, cqe.cid);
		return -EPROTO;
	}
	hr = &c->hreqs[cqe.cid];
	/* The controller answers after its last RDMA access to our buffers. */
	host_rdma_hreq_release_mrs(c, hr);
	if (hr->state == HOST_RDMA_HREQ_AWAIT_BOTH) {
		hr->early_cqe = cqe;
		host_rdma_hreq_set_state(c, hr, HOST_RDMA_HREQ_AWAIT_SEND);
		return 0;
	}
	host_rdma_hreq_finish(qp, hr, &cqe);
	return 0;
}

int host_rdma_wc_process(struct unvmf_host_qpair *qp, const struct rdma_prov_wc *wc, int n)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);
	int ret = 0;

	for (int i = 0; i < n; i++) {
		uint64_t kind = wc[i].wr_id >> 32;
		int rc = 0;

		if (kind == HOST_RDMA_WRID_RECV) {
			UNVMF_ASSERT(c->recvs_posted > 0);
			c->recvs_posted--;
		}
		if (wc[i].status != RDMA_PROV_WC_SUCCESS) {
			bool flush = wc[i].status == RDMA_PROV_WC_WR_FLUSH_ERR;
			bool *logged = flush ? &c->wc_flush_logged : &c->wc_error_logged;

			if ((unsigned)wc[i].status < RDMA_PROV_WC_STATUS_COUNT)
				c->wc_errors[wc[i].status]++;
			/*
			 * A flush may be polled before the error that caused it (another
			 * queue), so the first of each is logged; our own teardown's
			 * flushes are not news.
			 */
			if (!*logged && (!flush || c->state == HOST_RDMA_CONN_LIVE)) {
				LOG_ERR("qpair %u: work completion error %s (vendor 0x%x) on %s "
				        "wr 0x%llx",
				        qp->qid, rdma_prov_wc_status_name(wc[i].status),
				        wc[i].vendor_err,
				        kind == HOST_RDMA_WRID_RECV ? "RECV" : "SEND",
				        (unsigned long long)wc[i].wr_id);
				*logged = true;
			}
			if (kind == HOST_RDMA_WRID_SEND)
				rc = host_rdma_send_done(qp, &wc[i]);
			if (ret == 0)
				ret = -ECONNRESET;
			if (rc && ret == 0)
				ret = rc;
			continue;
		}
		if (kind == HOST_RDMA_WRID_SEND)
			rc = host_rdma_send_done(qp, &wc[i]);
		else if (c->state == HOST_RDMA_CONN_LIVE && ret == 0)
			rc = host_rdma_recv_done(qp, &wc[i]);
		if (rc && ret == 0)
			ret = rc;
	}
	return ret;
}

void host_rdma_conn_drain(struct unvmf_host_qpair *qp)
{
	struct host_rdma_conn *c = host_rdma_conn_of(qp);

	if (c->state == HOST_RDMA_CONN_DRAINING)
		return;
	c->state = HOST_RDMA_CONN_DRAINING;
	if (c->qp) {
		int rc = c->prov->qp_modify_err(c->qp);

		if (rc)
			LOG_WARN("qpair %u: moving QP to ERR failed: %s", qp->qid, strerror(-rc));
	}
	/* With the QP in ERR the controller can no longer touch our buffers. */
	for (uint16_t i = 0; i < c->nslots; i++) {
		struct host_rdma_hreq *hr = &c->hreqs[i];

		host_rdma_hreq_release_mrs(c, hr);
		switch (hr->state) {
		case HOST_RDMA_HREQ_AWAIT_RESPONSE:
			host_rdma_hreq_set_state(c, hr, HOST_RDMA_HREQ_FREE);
			break;
		case HOST_RDMA_HREQ_AWAIT_BOTH:
		case HOST_RDMA_HREQ_AWAIT_SEND:
			host_rdma_hreq_set_state(c, hr, HOST_RDMA_HREQ_SEND_FLUSHING);
			break;
		case HOST_RDMA_HREQ_FREE:
		case HOST_RDMA_HREQ_SEND_FLUSHING:
		case HOST_RDMA_HREQ_NUM_STATES:
			break;
		}
	}
}
