/* Host controller: connect/enable sequence, I/O qpair lifecycle, keep alive. */
#include "host/host_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define HOST_ADMIN_QID 0
#define HOST_DYNAMIC_CNTLID 0xffff
#define HOST_SHUTDOWN_WAIT_MS 2000

void unvmf_host_opts_init(struct unvmf_host_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->kato_ms = 10000;
	opts->num_io_queues = 4;
	opts->io_queue_size = 128;
	opts->admin_queue_size = 32;
	opts->connect_timeout_ms = 5000;
	opts->admin_timeout_ms = 5000;
	opts->disable_sq_flow_control = true;
}

/* The transport of a trid; NULL when the host library has none for it. */
static const struct host_transport_ops *ctrlr_transport_ops(enum nvmf_trtype trtype)
{
	switch (trtype) {
	case NVMF_TRTYPE_TCP:
		return &g_host_tcp_ops;
#if UNVMF_WITH_RDMA
	case NVMF_TRTYPE_RDMA:
		return &g_host_rdma_ops;
#endif
	default:
		return NULL;
	}
}

static int ctrlr_identity_init(struct unvmf_host_ctrlr *ctrlr, const struct unvmf_trid *trid,
			       const struct unvmf_host_opts *opts)
{
	static const uint8_t zero[16];
	uint8_t u[16];

	if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
		return -EIO;
	/* RFC 4122 version 4, variant 1. */
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	if (opts->hostnqn[0]) {
		unvmf_strlcpy(ctrlr->hostnqn, opts->hostnqn, sizeof(ctrlr->hostnqn));
	} else if (trid->hostnqn[0]) {
		unvmf_strlcpy(ctrlr->hostnqn, trid->hostnqn, sizeof(ctrlr->hostnqn));
	} else {
		snprintf(ctrlr->hostnqn, sizeof(ctrlr->hostnqn),
			 "nqn.2014-08.org.nvmexpress:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-"
			 "%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			 u[12], u[13], u[14], u[15]);
	}
	if (memcmp(opts->hostid, zero, sizeof(zero)) != 0)
		memcpy(ctrlr->hostid, opts->hostid, sizeof(ctrlr->hostid));
	else
		memcpy(ctrlr->hostid, u, sizeof(ctrlr->hostid));
	return 0;
}

static void ctrlr_err_set(struct unvmf_host_error *err, enum unvmf_host_connect_stage stage,
			  int rc, const struct nvme_cqe *cqe)
{
	if (!err)
		return;
	err->stage = stage;
	err->rc = rc;
	err->has_cqe = cqe != NULL && rc == -EREMOTEIO;
	if (err->has_cqe)
		err->cqe = *cqe;
}

static int ctrlr_admin_exec_staged(struct unvmf_host_ctrlr *ctrlr, const struct nvme_sqe *sqe,
				   void *buf, uint32_t len, enum unvmf_host_dir dir,
				   enum unvmf_host_connect_stage stage,
				   struct unvmf_host_error *err, uint32_t *dw0)
{
	struct nvme_cqe cqe;
	int rc;

	memset(&cqe, 0, sizeof(cqe));
	rc = host_qpair_exec(ctrlr->admin, sqe, buf, len, dir, &cqe, ctrlr->opts.admin_timeout_ms);
	if (rc) {
		ctrlr_err_set(err, stage, rc, &cqe);
		return rc;
	}
	if (dw0)
		*dw0 = cqe.cdw0;
	return 0;
}

static int ctrlr_enable(struct unvmf_host_ctrlr *ctrlr, struct unvmf_host_error *err)
{
	uint64_t cc = 0, csts = 0, vs = 0, deadline;
	int rc;

	rc = unvmf_host_property_get(ctrlr, NVME_REG_CAP, true, &ctrlr->cap);
	if (!rc)
		rc = unvmf_host_property_get(ctrlr, NVME_REG_VS, false, &vs);
	if (!rc)
		rc = unvmf_host_property_get(ctrlr, NVME_REG_CC, false, &cc);
	if (rc)
		goto err_property;
	ctrlr->vs = (uint32_t)vs;
	/* IOSQES 6 (64 B), IOCQES 4 (16 B), NVM command set, MPS = 4 KiB, EN. */
	cc &= ~0xffffffull;
	cc |= (6ull << 16) | (4ull << 20) | 1ull;
	rc = unvmf_host_property_set(ctrlr, NVME_REG_CC, false, cc);
	if (rc)
		goto err_property;
	deadline = host_now_ns() + (uint64_t)ctrlr->opts.connect_timeout_ms * 1000000ull;
	for (;;) {
		rc = unvmf_host_property_get(ctrlr, NVME_REG_CSTS, false, &csts);
		if (rc)
			goto err_property;
		if (csts & 1)
			return 0;
		if (csts & 2) {
			LOG_ERR("controller %s: CSTS.CFS set while enabling", ctrlr->trid.subnqn);
			ctrlr_err_set(err, UNVMF_HOST_STAGE_READY, -EIO, NULL);
			return -EIO;
		}
		if (host_now_ns() >= deadline) {
			ctrlr_err_set(err, UNVMF_HOST_STAGE_READY, -ETIMEDOUT, NULL);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}

err_property:
	if (err) {
		err->stage = UNVMF_HOST_STAGE_PROPERTY;
		err->rc = rc;
		err->has_cqe = false;
	}
	return rc;
}

static int ctrlr_set_num_queues(struct unvmf_host_ctrlr *ctrlr, struct unvmf_host_error *err)
{
	struct nvme_sqe sqe;
	uint32_t n = ctrlr->opts.num_io_queues ? ctrlr->opts.num_io_queues : 1;
	uint32_t dw0 = 0;
	int rc;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_SET_FEATURES;
	sqe.cdw10 = NVME_FEAT_NUMBER_OF_QUEUES;
	sqe.cdw11 = ((n - 1) << 16) | (n - 1);
	rc = ctrlr_admin_exec_staged(ctrlr, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE,
				     UNVMF_HOST_STAGE_FEATURES, err, &dw0);
	if (rc)
		return rc;
	ctrlr->num_io_queues = (uint16_t)(UNVMF_MIN(dw0 & 0xffff, dw0 >> 16) + 1);
	return 0;
}

static void ctrlr_derive_limits(struct unvmf_host_ctrlr *ctrlr)
{
	uint32_t mpsmin = 1u << (12 + ((ctrlr->cap >> 48) & 0xf));

	if (ctrlr->cdata.ioccsz >= 4)
		ctrlr->in_capsule_size = ctrlr->cdata.ioccsz * 16u - 64u;
	ctrlr->max_xfer = ctrlr->cdata.mdts ? mpsmin << ctrlr->cdata.mdts : 0;
}

int unvmf_host_connect(const struct unvmf_trid *trid, const struct unvmf_host_opts *opts,
		       struct unvmf_host_ctrlr **out, struct unvmf_host_error *err)
{
	struct unvmf_host_opts defaults;
	struct unvmf_host_ctrlr *ctrlr;
	struct nvme_sqe sqe;
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!opts) {
		unvmf_host_opts_init(&defaults);
		opts = &defaults;
	}
	if (!ctrlr_transport_ops(trid->trtype))
		return -EPROTONOSUPPORT;
	ctrlr = calloc(1, sizeof(*ctrlr));
	if (!ctrlr)
		return -ENOMEM;
	ctrlr->trid = *trid;
	if (!ctrlr->trid.subnqn[0])
		unvmf_strlcpy(ctrlr->trid.subnqn, NVMF_DISCOVERY_NQN, sizeof(ctrlr->trid.subnqn));
	ctrlr->discovery = strcmp(ctrlr->trid.subnqn, NVMF_DISCOVERY_NQN) == 0;
	ctrlr->opts = *opts;
	if (!ctrlr->opts.admin_queue_size)
		ctrlr->opts.admin_queue_size = 32;
	if (!ctrlr->opts.admin_timeout_ms)
		ctrlr->opts.admin_timeout_ms = 5000;
	if (!ctrlr->opts.connect_timeout_ms)
		ctrlr->opts.connect_timeout_ms = 5000;
	pthread_mutex_init(&ctrlr->qid_lock, NULL);
	rc = ctrlr_identity_init(ctrlr, trid, opts);
	if (rc)
		goto err_free_ctrlr;

	rc = host_qpair_alloc(ctrlr, HOST_ADMIN_QID, ctrlr->opts.admin_queue_size, &ctrlr->admin);
	if (rc)
		goto err_free_ctrlr;
	ctrlr->admin->ops = ctrlr_transport_ops(trid->trtype);
	ctrlr->admin->header_digest = opts->header_digest;
	ctrlr->admin->data_digest = opts->data_digest;
	rc = ctrlr->admin->ops->connect(ctrlr->admin, &ctrlr->trid, ctrlr->opts.connect_timeout_ms,
					err);
	if (rc)
		goto err_free_admin;
	rc = host_qpair_fabric_connect(ctrlr->admin, HOST_DYNAMIC_CNTLID, ctrlr->opts.kato_ms,
				       ctrlr->opts.connect_timeout_ms, &ctrlr->cntlid, err);
	if (rc)
		goto err_free_admin;
	rc = ctrlr_enable(ctrlr, err);
	if (rc)
		goto err_free_admin;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_IDENTIFY;
	sqe.cdw10 = NVME_IDENTIFY_CTRLR;
	rc = ctrlr_admin_exec_staged(ctrlr, &sqe, &ctrlr->cdata, sizeof(ctrlr->cdata),
				     UNVMF_HOST_DIR_FROM_CTRLR, UNVMF_HOST_STAGE_IDENTIFY, err,
				     NULL);
	if (rc)
		goto err_free_admin;
	ctrlr_derive_limits(ctrlr);
	if (!ctrlr->discovery) {
		rc = ctrlr_set_num_queues(ctrlr, err);
		if (rc)
			goto err_free_admin;
	}
	ctrlr->last_keep_alive_ns = host_now_ns();
	*out = ctrlr;
	return 0;

err_free_admin:
	if (err && ctrlr->admin->term_fes) {
		err->term_fes = ctrlr->admin->term_fes;
		err->term_fei = ctrlr->admin->term_fei;
	}
	host_qpair_free(ctrlr->admin);
err_free_ctrlr:
	if (err && !err->rc)
		err->rc = rc;
	pthread_mutex_destroy(&ctrlr->qid_lock);
	free(ctrlr);
	return rc;
}

static void ctrlr_shutdown(struct unvmf_host_ctrlr *ctrlr)
{
	uint64_t cc, csts, deadline;

	if (ctrlr->admin->failed_rc)
		return;
	if (unvmf_host_property_get(ctrlr, NVME_REG_CC, false, &cc))
		return;
	cc = (cc & ~(3ull << 14)) | (1ull << 14);
	if (unvmf_host_property_set(ctrlr, NVME_REG_CC, false, cc))
		return;
	deadline = host_now_ns() + HOST_SHUTDOWN_WAIT_MS * 1000000ull;
	while (host_now_ns() < deadline) {
		if (unvmf_host_property_get(ctrlr, NVME_REG_CSTS, false, &csts))
			return;
		if (((csts >> 2) & 3) == 2)
			return;
		usleep(1000);
	}
	LOG_WARN("controller %s cntlid %u: shutdown not complete after %u ms",
		 ctrlr->trid.subnqn, ctrlr->cntlid, HOST_SHUTDOWN_WAIT_MS);
}

void unvmf_host_disconnect(struct unvmf_host_ctrlr *ctrlr)
{
	if (!ctrlr)
		return;
	if (ctrlr->io_qpairs)
		LOG_ERR("controller %s: disconnect with %u I/O qpairs still open",
			ctrlr->trid.subnqn, ctrlr->io_qpairs);
	ctrlr_shutdown(ctrlr);
	host_qpair_free(ctrlr->admin);
	pthread_mutex_destroy(&ctrlr->qid_lock);
	free(ctrlr);
}

static uint16_t ctrlr_qid_alloc(struct unvmf_host_ctrlr *ctrlr)
{
	uint16_t qid = 0;

	pthread_mutex_lock(&ctrlr->qid_lock);
	for (uint32_t q = 1; q <= ctrlr->num_io_queues; q++) {
		if (!(ctrlr->qid_used[q / 8] & (1u << (q % 8)))) {
			ctrlr->qid_used[q / 8] |= (uint8_t)(1u << (q % 8));
			ctrlr->io_qpairs++;
			qid = (uint16_t)q;
			break;
		}
	}
	pthread_mutex_unlock(&ctrlr->qid_lock);
	return qid;
}

static void ctrlr_qid_free(struct unvmf_host_ctrlr *ctrlr, uint16_t qid)
{
	pthread_mutex_lock(&ctrlr->qid_lock);
	ctrlr->qid_used[qid / 8] &= (uint8_t)~(1u << (qid % 8));
	ctrlr->io_qpairs--;
	pthread_mutex_unlock(&ctrlr->qid_lock);
}

int unvmf_host_qpair_create(struct unvmf_host_ctrlr *ctrlr, uint16_t qsize,
			    struct unvmf_host_qpair **out, struct unvmf_host_error *err)
{
	struct unvmf_host_qpair *qp;
	uint32_t mqes = (uint32_t)(ctrlr->cap & 0xffff) + 1;
	uint16_t qid;
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	if (ctrlr->discovery)
		return -ENOTSUP;
	if (qsize == 0)
		qsize = ctrlr->opts.io_queue_size ? ctrlr->opts.io_queue_size : 128;
	if (qsize > mqes && !ctrlr->opts.exact_queue_size)
		qsize = (uint16_t)mqes;
	qid = ctrlr_qid_alloc(ctrlr);
	if (!qid)
		return -EBUSY;
	rc = host_qpair_alloc(ctrlr, qid, qsize, &qp);
	if (rc)
		goto err_free_qid;
	qp->ops = ctrlr_transport_ops(ctrlr->trid.trtype);
	qp->header_digest = ctrlr->opts.header_digest;
	qp->data_digest = ctrlr->opts.data_digest;
	qp->in_capsule_max = ctrlr->in_capsule_size;
	rc = qp->ops->connect(qp, &ctrlr->trid, ctrlr->opts.connect_timeout_ms, err);
	if (rc)
		goto err_free_qpair;
	rc = host_qpair_fabric_connect(qp, ctrlr->cntlid, 0, ctrlr->opts.connect_timeout_ms, NULL,
				       err);
	if (rc)
		goto err_free_qpair;
	*out = qp;
	return 0;

err_free_qpair:
	if (err && qp->term_fes) {
		err->term_fes = qp->term_fes;
		err->term_fei = qp->term_fei;
	}
	host_qpair_free(qp);
err_free_qid:
	ctrlr_qid_free(ctrlr, qid);
	return rc;
}

void unvmf_host_qpair_destroy(struct unvmf_host_qpair *qpair)
{
	struct unvmf_host_ctrlr *ctrlr;
	uint16_t qid;

	if (!qpair)
		return;
	ctrlr = qpair->ctrlr;
	qid = qpair->qid;
	host_qpair_free(qpair);
	ctrlr_qid_free(ctrlr, qid);
}

uint16_t unvmf_host_qpair_qid(const struct unvmf_host_qpair *qpair)
{
	return qpair->qid;
}

uint32_t unvmf_host_qpair_outstanding(const struct unvmf_host_qpair *qpair)
{
	return qpair->outstanding;
}

uint16_t unvmf_host_qpair_term_fes(const struct unvmf_host_qpair *qpair)
{
	return qpair->term_fes;
}

const struct nvme_id_ctrl *unvmf_host_ctrlr_data(const struct unvmf_host_ctrlr *ctrlr)
{
	return &ctrlr->cdata;
}

uint16_t unvmf_host_ctrlr_cntlid(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->cntlid;
}

uint64_t unvmf_host_ctrlr_cap(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->cap;
}

uint32_t unvmf_host_ctrlr_vs(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->vs;
}

const char *unvmf_host_ctrlr_hostnqn(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->hostnqn;
}

const char *unvmf_host_ctrlr_subnqn(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->trid.subnqn;
}

uint16_t unvmf_host_ctrlr_num_io_queues(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->num_io_queues;
}

uint32_t unvmf_host_ctrlr_in_capsule_size(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->in_capsule_size;
}

uint32_t unvmf_host_ctrlr_max_xfer(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->max_xfer;
}

bool unvmf_host_ctrlr_is_discovery(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->discovery;
}

uint16_t unvmf_host_ctrlr_term_fes(const struct unvmf_host_ctrlr *ctrlr)
{
	return ctrlr->admin->term_fes;
}
