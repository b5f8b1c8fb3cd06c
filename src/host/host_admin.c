/* Host admin commands: the generic synchronous command and its helpers. */
#include "host/host_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

#define HOST_DISCOVERY_LOG_RETRIES 10
#define HOST_GET_LOG_CHUNK 4096u

int unvmf_host_admin_cmd(struct unvmf_host_ctrlr *ctrlr, const struct nvme_sqe *sqe, void *buf,
			 uint32_t len, enum unvmf_host_dir dir, struct nvme_cqe *cqe,
			 uint32_t timeout_ms)
{
	return host_qpair_exec(ctrlr->admin, sqe, buf, len, dir, cqe,
			       timeout_ms ? timeout_ms : ctrlr->opts.admin_timeout_ms);
}

static void admin_keep_alive_done(void *arg, const struct nvme_cqe *cqe)
{
	struct unvmf_host_ctrlr *ctrlr = arg;

	ctrlr->keep_alive_inflight = false;
	if (!host_cqe_ok(cqe))
		LOG_WARN("controller %s cntlid %u: keep alive failed: %s", ctrlr->trid.subnqn,
			 ctrlr->cntlid,
			 unvmf_host_status_str(cqe->status.s.sct, cqe->status.s.sc));
}

int unvmf_host_admin_poll(struct unvmf_host_ctrlr *ctrlr)
{
	uint64_t now = host_now_ns();

	if (ctrlr->opts.kato_ms && !ctrlr->keep_alive_inflight &&
	    now - ctrlr->last_keep_alive_ns >= (uint64_t)ctrlr->opts.kato_ms * 500000ull) {
		struct nvme_sqe sqe;

		memset(&sqe, 0, sizeof(sqe));
		sqe.opc = NVME_OPC_KEEP_ALIVE;
		if (host_qpair_submit(ctrlr->admin, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE,
				      admin_keep_alive_done, ctrlr) == 0) {
			ctrlr->keep_alive_inflight = true;
			ctrlr->last_keep_alive_ns = now;
		}
	}
	return unvmf_host_qpair_poll(ctrlr->admin, 0);
}

int unvmf_host_identify_ctrlr(struct unvmf_host_ctrlr *ctrlr, struct nvme_id_ctrl *cdata)
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_IDENTIFY;
	sqe.cdw10 = NVME_IDENTIFY_CTRLR;
	return unvmf_host_admin_cmd(ctrlr, &sqe, cdata, sizeof(*cdata), UNVMF_HOST_DIR_FROM_CTRLR,
				    NULL, 0);
}

int unvmf_host_identify_ns(struct unvmf_host_ctrlr *ctrlr, uint32_t nsid, struct nvme_id_ns *nsdata)
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_IDENTIFY;
	sqe.nsid = nsid;
	sqe.cdw10 = NVME_IDENTIFY_NS;
	return unvmf_host_admin_cmd(ctrlr, &sqe, nsdata, sizeof(*nsdata), UNVMF_HOST_DIR_FROM_CTRLR,
				    NULL, 0);
}

int unvmf_host_identify_active_ns_list(struct unvmf_host_ctrlr *ctrlr, uint32_t start_nsid,
				       uint32_t list[1024])
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_IDENTIFY;
	sqe.nsid = start_nsid;
	sqe.cdw10 = NVME_IDENTIFY_ACTIVE_NS_LIST;
	return unvmf_host_admin_cmd(ctrlr, &sqe, list, 4096, UNVMF_HOST_DIR_FROM_CTRLR, NULL, 0);
}

int unvmf_host_identify_ns_id_desc(struct unvmf_host_ctrlr *ctrlr, uint32_t nsid, void *buf4k)
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_IDENTIFY;
	sqe.nsid = nsid;
	sqe.cdw10 = NVME_IDENTIFY_NS_ID_DESCRIPTOR_LIST;
	return unvmf_host_admin_cmd(ctrlr, &sqe, buf4k, 4096, UNVMF_HOST_DIR_FROM_CTRLR, NULL, 0);
}

int unvmf_host_get_log_page(struct unvmf_host_ctrlr *ctrlr, uint8_t lid, uint32_t nsid,
			    uint64_t offset, void *buf, uint32_t len)
{
	struct nvme_sqe sqe;
	uint32_t numd;

	if (len == 0 || len % 4 || offset % 4)
		return -EINVAL;
	numd = len / 4 - 1;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_GET_LOG_PAGE;
	sqe.nsid = nsid;
	sqe.cdw10 = lid | ((numd & 0xffff) << 16);
	sqe.cdw11 = numd >> 16;
	sqe.cdw12 = (uint32_t)offset;
	sqe.cdw13 = (uint32_t)(offset >> 32);
	return unvmf_host_admin_cmd(ctrlr, &sqe, buf, len, UNVMF_HOST_DIR_FROM_CTRLR, NULL, 0);
}

static int admin_get_log_chunked(struct unvmf_host_ctrlr *ctrlr, uint8_t lid, uint64_t offset,
				 uint8_t *buf, uint32_t len)
{
	uint32_t max = ctrlr->max_xfer ? UNVMF_MIN(ctrlr->max_xfer, 65536u) : 65536u;

	while (len > 0) {
		uint32_t n = UNVMF_MIN(len, max);
		int rc = unvmf_host_get_log_page(ctrlr, lid, 0, offset, buf, n);

		if (rc)
			return rc;
		buf += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int unvmf_host_get_discovery_log(struct unvmf_host_ctrlr *ctrlr,
				 struct nvmf_discovery_log_header **log, uint32_t *len)
{
	struct nvmf_discovery_log_header hdr, again;
	uint8_t *buf = NULL;
	int rc;

	for (int attempt = 0; attempt < HOST_DISCOVERY_LOG_RETRIES; attempt++) {
		uint64_t numrec;
		uint32_t size;

		rc = unvmf_host_get_log_page(ctrlr, NVME_LOG_DISCOVERY, 0, 0, &hdr, sizeof(hdr));
		if (rc)
			goto err_free;
		numrec = hdr.numrec;
		if (numrec > 4096) {
			rc = -EPROTO;
			goto err_free;
		}
		size = (uint32_t)(sizeof(hdr) + numrec * sizeof(struct nvmf_discovery_log_entry));
		free(buf);
		buf = calloc(1, size);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, &hdr, sizeof(hdr));
		if (numrec) {
			rc = admin_get_log_chunked(ctrlr, NVME_LOG_DISCOVERY, sizeof(hdr),
						   buf + sizeof(hdr), size - (uint32_t)sizeof(hdr));
			if (rc)
				goto err_free;
		}
		rc = unvmf_host_get_log_page(ctrlr, NVME_LOG_DISCOVERY, 0, 0, &again,
					     sizeof(again));
		if (rc)
			goto err_free;
		if (again.genctr == hdr.genctr && again.numrec == hdr.numrec) {
			*log = (struct nvmf_discovery_log_header *)buf;
			*len = size;
			return 0;
		}
	}
	rc = -EAGAIN;
err_free:
	free(buf);
	return rc;
}

int unvmf_host_get_features(struct unvmf_host_ctrlr *ctrlr, uint8_t fid, uint32_t cdw11,
			    void *buf, uint32_t len, uint32_t *dw0)
{
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	int rc;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_GET_FEATURES;
	sqe.cdw10 = fid;
	sqe.cdw11 = cdw11;
	rc = unvmf_host_admin_cmd(ctrlr, &sqe, buf, len, UNVMF_HOST_DIR_FROM_CTRLR, &cqe, 0);
	if (rc == 0 && dw0)
		*dw0 = cqe.cdw0;
	return rc;
}

int unvmf_host_set_features(struct unvmf_host_ctrlr *ctrlr, uint8_t fid, uint32_t cdw11,
			    uint32_t cdw12, void *buf, uint32_t len, uint32_t *dw0)
{
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	int rc;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_SET_FEATURES;
	sqe.cdw10 = fid;
	sqe.cdw11 = cdw11;
	sqe.cdw12 = cdw12;
	rc = unvmf_host_admin_cmd(ctrlr, &sqe, buf, len, UNVMF_HOST_DIR_TO_CTRLR, &cqe, 0);
	if (rc == 0 && dw0)
		*dw0 = cqe.cdw0;
	return rc;
}

int unvmf_host_keep_alive(struct unvmf_host_ctrlr *ctrlr)
{
	struct nvme_sqe sqe;
	int rc;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_KEEP_ALIVE;
	rc = unvmf_host_admin_cmd(ctrlr, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE, NULL, 0);
	if (rc == 0)
		ctrlr->last_keep_alive_ns = host_now_ns();
	return rc;
}

int unvmf_host_abort(struct unvmf_host_ctrlr *ctrlr, uint16_t sqid, uint16_t cid, uint32_t *dw0)
{
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	int rc;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_ABORT;
	sqe.cdw10 = sqid | ((uint32_t)cid << 16);
	rc = unvmf_host_admin_cmd(ctrlr, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE, &cqe, 0);
	if (rc == 0 && dw0)
		*dw0 = cqe.cdw0;
	return rc;
}

int unvmf_host_aer_submit(struct unvmf_host_ctrlr *ctrlr, unvmf_host_cb cb, void *cb_arg)
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_ASYNC_EVENT_REQUEST;
	return host_qpair_submit(ctrlr->admin, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE, cb, cb_arg);
}
