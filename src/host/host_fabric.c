/* Fabrics commands on a host qpair: Connect, Property Get/Set. */
#include "host/host_internal.h"
#include "proto/nvme_auth.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

int host_qpair_fabric_connect(struct unvmf_host_qpair *qp, uint16_t cntlid, uint32_t kato_ms,
			      uint32_t timeout_ms, uint16_t *cntlid_out,
			      struct unvmf_host_error *err)
{
	struct unvmf_host_ctrlr *ctrlr = qp->ctrlr;
	struct nvmf_connect_data *data;
	struct nvmf_connect_cmd cmd;
	struct nvme_cqe cqe;
	int rc;

	/* Connect data is 1 KiB: too big for the stack frames this runs in on worker threads. */
	data = calloc(1, sizeof(*data));
	if (!data)
		return -ENOMEM;
	memcpy(data->hostid, ctrlr->hostid, sizeof(data->hostid));
	data->cntlid = cntlid;
	unvmf_strlcpy((char *)data->subnqn, ctrlr->trid.subnqn, sizeof(data->subnqn));
	unvmf_strlcpy((char *)data->hostnqn, ctrlr->hostnqn, sizeof(data->hostnqn));

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.recfmt = 0;
	cmd.qid = qp->qid;
	cmd.sqsize = (uint16_t)(qp->qsize - 1);
	cmd.kato = kato_ms;
	if (qp->qid != 0 && ctrlr->opts.disable_sq_flow_control)
		cmd.cattr = NVMF_CATTR_DISABLE_SQ_FLOW_CONTROL;

	memset(&cqe, 0, sizeof(cqe));
	rc = host_qpair_exec(qp, (const struct nvme_sqe *)&cmd, data, sizeof(*data),
			     UNVMF_HOST_DIR_TO_CTRLR, &cqe, timeout_ms);
	free(data);
	if (err) {
		err->stage = UNVMF_HOST_STAGE_CONNECT;
		err->rc = rc;
		if (rc == 0 || rc == -EREMOTEIO) {
			err->has_cqe = true;
			err->cqe = cqe;
		}
		err->term_fes = qp->term_fes;
		err->term_fei = qp->term_fei;
	}
	if (rc) {
		LOG_ERR("Connect qid %u to %s failed: %d (sct 0x%x sc 0x%x: %s)", qp->qid,
			ctrlr->trid.subnqn, rc, cqe.status.s.sct, cqe.status.s.sc,
			unvmf_host_status_str(cqe.status.s.sct, cqe.status.s.sc));
		return rc;
	}
	if (cntlid_out)
		*cntlid_out = (uint16_t)(cqe.cdw0 & 0xffff);
	if (!((cqe.cdw0 >> 16) & NVMF_CONNECT_AUTHREQ_ATR))
		return 0;
	if (qp->qid == 0)
		ctrlr->auth_required = true;
	else if (ctrlr->opts.dhchap_skip_io_queues)
		return 0;
	return host_qpair_authenticate(qp, timeout_ms, err);
}

int unvmf_host_property_get(struct unvmf_host_ctrlr *ctrlr, uint32_t offset, bool size8,
			    uint64_t *value)
{
	struct nvmf_property_get_cmd cmd;
	struct nvme_cqe cqe;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_PROPERTY_GET;
	cmd.attrib.size = size8 ? 1 : 0;
	cmd.ofst = offset;
	rc = host_qpair_exec(ctrlr->admin, (const struct nvme_sqe *)&cmd, NULL, 0,
			     UNVMF_HOST_DIR_NONE, &cqe, ctrlr->opts.admin_timeout_ms);
	if (rc)
		return rc;
	*value = size8 ? ((uint64_t)cqe.cdw1 << 32 | cqe.cdw0) : cqe.cdw0;
	return 0;
}

int unvmf_host_property_set(struct unvmf_host_ctrlr *ctrlr, uint32_t offset, bool size8,
			    uint64_t value)
{
	struct nvmf_property_set_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_PROPERTY_SET;
	cmd.attrib.size = size8 ? 1 : 0;
	cmd.ofst = offset;
	cmd.value = size8 ? value : (uint32_t)value;
	return host_qpair_exec(ctrlr->admin, (const struct nvme_sqe *)&cmd, NULL, 0,
			       UNVMF_HOST_DIR_NONE, NULL, ctrlr->opts.admin_timeout_ms);
}
