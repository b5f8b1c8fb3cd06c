/*
 * Controllers: Fabrics Connect, Property Get/Set, keep-alive, lifetime.
 * Connect runs on the connecting qpair's thread under g_tgt.lock; the
 * controller's own state (CC, AER, logs) belongs to its admin qpair's thread.
 */
#include "nvmf/auth.h"
#include "proto/nvme_auth.h"
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "nvmf/transport.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

#define DISCOVERY_KATO_MS 120000
#define CAP_TIMEOUT_500MS 30	/* CAP.TO: 15 s for CSTS.RDY to follow CC.EN */

static const char *const g_refusal_names[UNVMF_CONNECT_REFUSED_COUNT] = {
    [UNVMF_CONNECT_REFUSED_ALREADY_CONNECTED] = "already_connected",
    [UNVMF_CONNECT_REFUSED_DATA_TOO_SHORT] = "data_too_short",
    [UNVMF_CONNECT_REFUSED_RECORD_FORMAT] = "record_format",
    [UNVMF_CONNECT_REFUSED_INVALID_SUBNQN] = "invalid_subnqn",
    [UNVMF_CONNECT_REFUSED_INVALID_HOSTNQN] = "invalid_hostnqn",
    [UNVMF_CONNECT_REFUSED_UNKNOWN_SUBSYSTEM] = "unknown_subsystem",
    [UNVMF_CONNECT_REFUSED_NO_LISTENER] = "no_listener",
    [UNVMF_CONNECT_REFUSED_HOST_NOT_ALLOWED] = "host_not_allowed",
    [UNVMF_CONNECT_REFUSED_EMPTY_HOSTNQN] = "empty_hostnqn",
    [UNVMF_CONNECT_REFUSED_STATIC_CNTLID] = "static_cntlid",
    [UNVMF_CONNECT_REFUSED_INVALID_SQSIZE] = "invalid_sqsize",
    [UNVMF_CONNECT_REFUSED_NO_RESOURCES] = "no_resources",
    [UNVMF_CONNECT_REFUSED_UNKNOWN_CONTROLLER] = "unknown_controller",
    [UNVMF_CONNECT_REFUSED_CONTROLLER_NOT_ENABLED] = "controller_not_enabled",
    [UNVMF_CONNECT_REFUSED_QUEUE_ENTRY_SIZE] = "queue_entry_size",
    [UNVMF_CONNECT_REFUSED_INVALID_QID] = "invalid_qid",
    [UNVMF_CONNECT_REFUSED_QID_IN_USE] = "qid_in_use",
};

static const char *const g_refusal_texts[UNVMF_CONNECT_REFUSED_COUNT] = {
    [UNVMF_CONNECT_REFUSED_ALREADY_CONNECTED] = "the queue is already connected",
    [UNVMF_CONNECT_REFUSED_DATA_TOO_SHORT] = "the Connect data is shorter than 1024 bytes",
    [UNVMF_CONNECT_REFUSED_RECORD_FORMAT] = "unknown record format",
    [UNVMF_CONNECT_REFUSED_INVALID_SUBNQN] = "the subsystem NQN is too long",
    [UNVMF_CONNECT_REFUSED_INVALID_HOSTNQN] = "the host NQN is not a valid NQN",
    [UNVMF_CONNECT_REFUSED_UNKNOWN_SUBSYSTEM] = "no such subsystem",
    [UNVMF_CONNECT_REFUSED_NO_LISTENER] = "the subsystem does not listen on this address",
    [UNVMF_CONNECT_REFUSED_HOST_NOT_ALLOWED] = "the host is not on the subsystem's host list",
    [UNVMF_CONNECT_REFUSED_EMPTY_HOSTNQN] =
        "empty host NQN, and the subsystem allows only the hosts on its list",
    [UNVMF_CONNECT_REFUSED_STATIC_CNTLID] = "only the dynamic controller model is offered",
    [UNVMF_CONNECT_REFUSED_INVALID_SQSIZE] = "the queue size is 0 or above the maximum",
    [UNVMF_CONNECT_REFUSED_NO_RESOURCES] = "no memory or controller ID for a new controller",
    [UNVMF_CONNECT_REFUSED_UNKNOWN_CONTROLLER] =
        "no live controller of this host with that controller ID",
    [UNVMF_CONNECT_REFUSED_CONTROLLER_NOT_ENABLED] = "the controller is not enabled",
    [UNVMF_CONNECT_REFUSED_QUEUE_ENTRY_SIZE] = "CC.IOSQES/IOCQES are not 6/4",
    [UNVMF_CONNECT_REFUSED_INVALID_QID] = "the queue ID is beyond the queues granted",
    [UNVMF_CONNECT_REFUSED_QID_IN_USE] = "the queue ID is already connected",
};

/* Connect refusals since start, by reason; any poll group's thread adds. */
static _Atomic uint64_t g_refusals[UNVMF_CONNECT_REFUSED_COUNT];

uint64_t unvmf_tgt_connect_refusals(enum unvmf_connect_refusal reason, const char **name)
{
	*name = g_refusal_names[reason];
	return atomic_load_explicit(&g_refusals[reason], memory_order_relaxed);
}

/*
 * Every refused Connect ends here: counted by reason, and logged with who
 * asked for what and the status the host sees, so an operator can tell a
 * misconfigured host list from a broken host. data is NULL before it was
 * read; the NQNs in it are not terminated until checked.
 */
static void connect_refuse(struct unvmf_req *req, enum unvmf_connect_refusal reason,
			   const struct nvmf_connect_data *data, uint8_t sct, uint8_t sc, bool iattr,
			   uint16_t ipo)
{
	const struct nvmf_connect_cmd *cmd = (const struct nvmf_connect_cmd *)&req->cmd;
	struct nvmf_connect_rsp *rsp = (struct nvmf_connect_rsp *)&req->rsp;
	bool invalid_param = sct == NVME_SCT_COMMAND_SPECIFIC && sc == NVMF_SC_INVALID_PARAM;

	atomic_fetch_add_explicit(&g_refusals[reason], 1, memory_order_relaxed);
	LOG_NOTICE("qpair %lu: Connect refused (qid %u): host NQN '%.*s', subsystem NQN '%.*s': "
		   "SCT %u SC 0x%02x IATTR %u IPO %u: %s (%s)",
		   (unsigned long)req->qpair->id, cmd->qid, data ? NVMF_NQN_MAX_LEN : 0,
		   data ? data->hostnqn : "", data ? NVMF_NQN_MAX_LEN : 0,
		   data ? data->subnqn : "", sct, sc, invalid_param && iattr,
		   invalid_param ? ipo : 0, g_refusal_texts[reason], g_refusal_names[reason]);
	memset(&req->rsp, 0, sizeof(req->rsp));
	if (invalid_param) {
		rsp->status_code_specific.invalid.iattr = iattr ? 1 : 0;
		rsp->status_code_specific.invalid.ipo = ipo;
	}
	unvmf_req_set_status(req, sct, sc);
	unvmf_req_complete(req);
}

static void connect_refuse_param(struct unvmf_req *req, enum unvmf_connect_refusal reason,
				 const struct nvmf_connect_data *data, bool in_data, uint16_t offset)
{
	connect_refuse(req, reason, data, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_PARAM, in_data,
		       offset);
}

static void connect_refuse_status(struct unvmf_req *req, enum unvmf_connect_refusal reason,
				  const struct nvmf_connect_data *data, uint8_t sct, uint8_t sc)
{
	connect_refuse(req, reason, data, sct, sc, false, 0);
}

/* Property Get/Set: an invalid field, or a status. */
static void connect_invalid_param(struct unvmf_req *req, bool in_data, uint16_t offset)
{
	struct nvmf_connect_rsp *rsp = (struct nvmf_connect_rsp *)&req->rsp;

	memset(&req->rsp, 0, sizeof(req->rsp));
	rsp->status_code_specific.invalid.iattr = in_data ? 1 : 0;
	rsp->status_code_specific.invalid.ipo = offset;
	unvmf_req_set_status(req, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_PARAM);
	unvmf_req_complete(req);
}

static void connect_fail(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	unvmf_req_complete_status(req, sct, sc);
}

void unvmf_ctrlr_get_locked(struct unvmf_ctrlr *ctrlr)
{
	ctrlr->refs++;
}

static void ctrlr_free(struct unvmf_ctrlr *ctrlr)
{
	LOG_NOTICE("controller %u (host %s, subsystem %s) destroyed", ctrlr->cntlid,
		   ctrlr->hostnqn, ctrlr->subsys->nqn);
	free(ctrlr->qpairs);
	free(ctrlr->qlog);
	free(ctrlr);
}

void unvmf_ctrlr_put_locked(struct unvmf_ctrlr *ctrlr)
{
	UNVMF_ASSERT(ctrlr->refs > 0);
	if (--ctrlr->refs == 0) {
		TAILQ_REMOVE(&ctrlr->subsys->ctrlrs, ctrlr, link);
		ctrlr_free(ctrlr);
	}
}

void unvmf_ctrlr_put(struct unvmf_ctrlr *ctrlr)
{
	pthread_mutex_lock(&g_tgt.lock);
	unvmf_ctrlr_put_locked(ctrlr);
	pthread_mutex_unlock(&g_tgt.lock);
}

void unvmf_ctrlr_disconnect_all_locked(struct unvmf_ctrlr *ctrlr, const char *reason)
{
	if (!ctrlr->failed)
		LOG_NOTICE("controller %u (host %s): disconnecting all queues: %s", ctrlr->cntlid,
			   ctrlr->hostnqn, reason);
	ctrlr->failed = true;
	for (unsigned qid = 0; qid <= ctrlr->max_qid; qid++) {
		if (ctrlr->qpairs[qid].group)
			unvmf_qpair_disconnect_async(ctrlr->qpairs[qid].group, ctrlr->qpairs[qid].id,
						     reason);
	}
}

static uint16_t subsystem_alloc_cntlid_locked(struct unvmf_subsystem *subsys)
{
	uint32_t range = (uint32_t)subsys->max_cntlid - subsys->min_cntlid + 1;

	for (uint32_t tries = 0; tries < range; tries++) {
		uint16_t id = subsys->next_cntlid;
		struct unvmf_ctrlr *c;
		bool used = false;

		subsys->next_cntlid = id >= subsys->max_cntlid ? subsys->min_cntlid : id + 1;
		TAILQ_FOREACH(c, &subsys->ctrlrs, link) {
			if (c->cntlid == id) {
				used = true;
				break;
			}
		}
		if (!used)
			return id;
	}
	return 0xffff;
}

/* Moves while the host lives: the last Keep Alive plus the reads and writes of every queue. */
static uint64_t ctrlr_activity(struct unvmf_ctrlr *ctrlr)
{
	uint64_t sum = atomic_load(&ctrlr->last_keepalive_us);

	for (unsigned q = 0; q <= ctrlr->max_qid; q++)
		sum += atomic_load_explicit(&ctrlr->qlog[q].read_cmds, memory_order_relaxed) +
		       atomic_load_explicit(&ctrlr->qlog[q].write_cmds, memory_order_relaxed);
	return sum;
}

/* KATO 0: true (logged, counted) when the controller sat idle for idle_reclaim_ms. */
static bool idle_reclaim_due(struct unvmf_ctrlr *ctrlr, uint64_t now)
{
	uint64_t activity = ctrlr_activity(ctrlr);

	if (activity != ctrlr->idle_activity) {
		ctrlr->idle_activity = activity;
		ctrlr->idle_since_us = now;
		return false;
	}
	if (now - ctrlr->idle_since_us <= (uint64_t)ctrlr->idle_reclaim_ms * 1000)
		return false;
	LOG_ERR("controller %u (host %s, subsystem %s, peer %s:%s): KATO 0 and idle for %u ms "
	        "(max_kato_ms): reclaimed",
	        ctrlr->cntlid, ctrlr->hostnqn, ctrlr->subsys->nqn, ctrlr->host_trid.traddr,
	        ctrlr->host_trid.trsvcid, ctrlr->idle_reclaim_ms);
	if (ctrlr->admin_group)
		ctrlr->admin_group->stats.kato_zero_reclaims++;
	return true;
}

static int keepalive_poll(void *arg)
{
	struct unvmf_ctrlr *ctrlr = arg;
	uint64_t last = atomic_load(&ctrlr->last_keepalive_us), now = unvmf_now_us();
	const char *why;

	/* A host that shut the controller down or left sends no more keep-alives. */
	if (ctrlr->failed || !ctrlr->admin_qpair ||
	    ctrlr->admin_qpair->state != UNVMF_QPAIR_ACTIVE ||
	    ctrlr->csts.bits.shst == NVME_SHST_COMPLETE)
		return 0;
	if (ctrlr->kato_ms == 0) {
		if (!ctrlr->idle_reclaim_ms || !idle_reclaim_due(ctrlr, now))
			return 0;
		why = "idle controller reclaimed";
	} else {
		if (now - last <= (uint64_t)ctrlr->kato_ms * 1000)
			return 0;
		LOG_ERR("controller %u (host %s, subsystem %s, peer %s:%s): keep-alive timeout "
		        "(%u ms) expired",
		        ctrlr->cntlid, ctrlr->hostnqn, ctrlr->subsys->nqn, ctrlr->host_trid.traddr,
		        ctrlr->host_trid.trsvcid, ctrlr->kato_ms);
		if (ctrlr->admin_group)
			ctrlr->admin_group->stats.keep_alive_expiries++;
		why = "keep-alive timeout";
	}
	pthread_mutex_lock(&g_tgt.lock);
	unvmf_ctrlr_disconnect_all_locked(ctrlr, why);
	pthread_mutex_unlock(&g_tgt.lock);
	return 1;
}

static void keepalive_arm(struct unvmf_ctrlr *ctrlr)
{
	uint32_t ms = ctrlr->kato_ms ? ctrlr->kato_ms : ctrlr->idle_reclaim_ms;
	uint64_t period_us;

	if (ctrlr->ka_poller)
		unvmf_poller_unregister(&ctrlr->ka_poller);
	if (ms == 0)
		return;
	/* Check a few times per period so expiry is detected within ~kato + kato/4. */
	period_us = (uint64_t)ms * 1000 / 4;
	if (period_us < 1000)
		period_us = 1000;
	atomic_store(&ctrlr->last_keepalive_us, unvmf_now_us());
	ctrlr->idle_activity = ctrlr_activity(ctrlr);
	ctrlr->idle_since_us = unvmf_now_us();
	ctrlr->ka_poller = unvmf_poller_register(keepalive_poll, ctrlr, period_us, "keepalive");
}

/*
 * KATO 0 means keep-alive disabled (NVMe Base, Keep Alive Timer): the host
 * owes no Keep Alive and we never time it out for that. But a host that
 * vanished without a word would then hold its controller forever, so such a
 * controller is reclaimed once it has seen neither a Keep Alive nor a
 * completed read or write on any of its queues for max_kato_ms (a living
 * host reconnects). A discovery controller keeps the 2-minute KATO hosts
 * expect of it. A KATO above max_kato_ms is refused at Connect
 * (limits.c); one set later by Set Features is lowered to it.
 */
void unvmf_ctrlr_set_kato(struct unvmf_ctrlr *ctrlr, uint32_t kato_ms)
{
	uint32_t max_ms =
	    ctrlr->admin_qpair ? ctrlr->admin_qpair->transport->opts.limits.max_kato_ms : 0;

	if (kato_ms == 0 && ctrlr->subsys->type == UNVMF_SUBSYSTEM_DISCOVERY)
		kato_ms = DISCOVERY_KATO_MS;
	if (max_ms && kato_ms > max_ms) {
		LOG_WARN("controller %u (host %s): KATO %u ms lowered to max_kato_ms %u",
		         ctrlr->cntlid, ctrlr->hostnqn, kato_ms, max_ms);
		kato_ms = max_ms;
	}
	/* KAS is 100 ms: round up to it. */
	ctrlr->kato_ms = UNVMF_DIV_ROUND_UP(kato_ms, 100) * 100;
	ctrlr->idle_reclaim_ms = ctrlr->kato_ms == 0 ? max_ms : 0;
	if (ctrlr->idle_reclaim_ms)
		LOG_NOTICE("controller %u (host %s): KATO 0, keep-alive disabled; reclaimed after "
		           "%u ms idle (max_kato_ms)",
		           ctrlr->cntlid, ctrlr->hostnqn, ctrlr->idle_reclaim_ms);
	keepalive_arm(ctrlr);
}

static void ctrlr_attach_qpair_locked(struct unvmf_ctrlr *ctrlr, struct unvmf_qpair *qpair,
				      const struct nvmf_connect_cmd *cmd)
{
	uint16_t qid = cmd->qid, sqsize = cmd->sqsize;

	/* The admin queue always keeps flow control (NVMe-oF 1.1, 3.3). */
	qpair->sq_flow_control_disabled = qid != 0 && (cmd->cattr & NVMF_CATTR_DISABLE_SQ_FLOW_CONTROL);
	qpair->ctrlr = ctrlr;
	qpair->qid = qid;
	qpair->sq_size = (uint16_t)(sqsize + 1);
	qpair->sqhd = 0;
	qpair->state = UNVMF_QPAIR_ACTIVE;
	ctrlr->qpairs[qid].group = qpair->group;
	ctrlr->qpairs[qid].id = qpair->id;
	if (qid != 0)
		ctrlr->io_queue_created = true;
	unvmf_ctrlr_get_locked(ctrlr);
	unvmf_limits_host_attach_locked(qpair, ctrlr->hostnqn);
	if (qpair->group) {
		if (qid == 0)
			qpair->group->stats.admin_qpairs_current++;
		else
			qpair->group->stats.io_qpairs_current++;
	}
}

static void connect_success(struct unvmf_req *req, struct unvmf_ctrlr *ctrlr)
{
	struct nvmf_connect_rsp *rsp = (struct nvmf_connect_rsp *)&req->rsp;
	int auth = unvmf_auth_qpair_connected(req->qpair, ctrlr);

	memset(&req->rsp, 0, sizeof(req->rsp));
	rsp->status_code_specific.success.cntlid = ctrlr->cntlid;
	/* The queue then runs nothing but AUTH_Send/Receive until it is authenticated. */
	if (auth > 0)
		rsp->status_code_specific.success.authreq = NVMF_CONNECT_AUTHREQ_ATR;
	else if (auth < 0)
		unvmf_qpair_disconnect(req->qpair, "no memory for authentication");
	unvmf_req_complete(req);
}

static void connect_admin(struct unvmf_req *req, struct unvmf_subsystem *subsys,
			  const struct nvmf_connect_cmd *cmd, const struct nvmf_connect_data *data)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_transport_opts *topts = &qpair->transport->opts;
	struct unvmf_ctrlr *ctrlr;

	if (data->cntlid != 0xffff && data->cntlid != 0xfffe) {
		/* We only offer the dynamic controller model. */
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_STATIC_CNTLID, data, true,
				      offsetof(struct nvmf_connect_data, cntlid));
		return;
	}
	if (cmd->sqsize == 0 || (uint32_t)cmd->sqsize + 1 > topts->max_aq_depth) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_INVALID_SQSIZE, data, false,
				      offsetof(struct nvmf_connect_cmd, sqsize));
		return;
	}
	if (unvmf_limits_connect_refused(req, data->hostnqn))
		return;
	ctrlr = calloc(1, sizeof(*ctrlr));
	if (!ctrlr)
		goto err_busy;
	ctrlr->max_qid = (uint16_t)topts->max_io_qpairs_per_ctrlr;
	ctrlr->qpairs = calloc((size_t)ctrlr->max_qid + 1, sizeof(*ctrlr->qpairs));
	if (!ctrlr->qpairs)
		goto err_free;
	ctrlr->qlog = calloc((size_t)ctrlr->max_qid + 1, sizeof(*ctrlr->qlog));
	if (!ctrlr->qlog)
		goto err_free;
	ctrlr->cntlid = subsystem_alloc_cntlid_locked(subsys);
	if (ctrlr->cntlid == 0xffff)
		goto err_free;
	ctrlr->subsys = subsys;
	memcpy(ctrlr->hostid, data->hostid, 16);
	memcpy(ctrlr->hostnqn, data->hostnqn, NVMF_NQN_MAX_LEN);
	ctrlr->hostnqn[NVMF_NQN_MAX_LEN] = '\0';
	ctrlr->listen_trid = qpair->local;
	ctrlr->host_trid = qpair->peer;
	ctrlr->admin_qpair = qpair;
	ctrlr->admin_group = qpair->group;
	ctrlr->admin_qpair_id = qpair->id;
	ctrlr->num_io_queues = ctrlr->max_qid;
	atomic_init(&ctrlr->vwc_enabled, true);
	TAILQ_INSERT_TAIL(&subsys->ctrlrs, ctrlr, link);
	ctrlr_attach_qpair_locked(ctrlr, qpair, cmd);
	pthread_mutex_unlock(&g_tgt.lock);

	unvmf_ctrlr_set_kato(ctrlr, cmd->kato);
	LOG_NOTICE("controller %u created: host %s subsystem %s via %s %s:%s (kato %u ms)",
		   ctrlr->cntlid, ctrlr->hostnqn, subsys->nqn,
		   unvmf_trtype_str(qpair->local.trtype), qpair->local.traddr,
		   qpair->local.trsvcid, ctrlr->kato_ms);
	connect_success(req, ctrlr);
	return;

err_free:
	free(ctrlr->qpairs);
	free(ctrlr->qlog);
	free(ctrlr);
err_busy:
	pthread_mutex_unlock(&g_tgt.lock);
	connect_refuse_status(req, UNVMF_CONNECT_REFUSED_NO_RESOURCES, data, NVME_SCT_COMMAND_SPECIFIC,
		     NVMF_SC_CONTROLLER_BUSY);
}

static void connect_io(struct unvmf_req *req, struct unvmf_subsystem *subsys,
		       const struct nvmf_connect_cmd *cmd, const struct nvmf_connect_data *data)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_transport_opts *topts = &qpair->transport->opts;
	struct unvmf_ctrlr *ctrlr;

	TAILQ_FOREACH(ctrlr, &subsys->ctrlrs, link) {
		if (ctrlr->cntlid == data->cntlid)
			break;
	}
	if (!ctrlr || ctrlr->failed ||
	    strncmp(ctrlr->hostnqn, data->hostnqn, sizeof(data->hostnqn)) != 0) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_UNKNOWN_CONTROLLER, data, true,
				      offsetof(struct nvmf_connect_data, cntlid));
		return;
	}
	if (!ctrlr->cc.bits.en || ctrlr->csts.bits.shst != NVME_SHST_NORMAL) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_status(req, UNVMF_CONNECT_REFUSED_CONTROLLER_NOT_ENABLED, data, NVME_SCT_GENERIC,
			     NVME_SC_COMMAND_SEQUENCE_ERROR);
		return;
	}
	if (ctrlr->cc.bits.iosqes != 6 || ctrlr->cc.bits.iocqes != 4) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_QUEUE_ENTRY_SIZE, data, false,
				      offsetof(struct nvmf_connect_cmd, qid));
		return;
	}
	/* Beyond what Set Features Number of Queues granted (max_qid until then). */
	if (cmd->qid > ctrlr->num_io_queues) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_INVALID_QID, data, false,
				      offsetof(struct nvmf_connect_cmd, qid));
		return;
	}
	if (ctrlr->qpairs[cmd->qid].group) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_QID_IN_USE, data, false,
				      offsetof(struct nvmf_connect_cmd, qid));
		return;
	}
	if (cmd->sqsize == 0 || (uint32_t)cmd->sqsize + 1 > topts->max_queue_depth) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_INVALID_SQSIZE, data, false,
				      offsetof(struct nvmf_connect_cmd, sqsize));
		return;
	}
	if (unvmf_limits_connect_refused(req, data->hostnqn))
		return;
	ctrlr_attach_qpair_locked(ctrlr, qpair, cmd);
	pthread_mutex_unlock(&g_tgt.lock);
	LOG_INFO("controller %u: I/O queue %u connected (qpair %lu, depth %u)", ctrlr->cntlid,
		 cmd->qid, (unsigned long)qpair->id, qpair->sq_size);
	connect_success(req, ctrlr);
}

static void fabrics_connect(struct unvmf_req *req)
{
	const struct nvmf_connect_cmd *cmd = (const struct nvmf_connect_cmd *)&req->cmd;
	struct unvmf_qpair *qpair = req->qpair;
	struct nvmf_connect_data data;
	struct unvmf_subsystem *subsys;
	char subnqn[UNVMF_NQN_BUF];
	char hostnqn[UNVMF_NQN_BUF];

	if (qpair->state != UNVMF_QPAIR_UNCONNECTED) {
		connect_refuse_status(req, UNVMF_CONNECT_REFUSED_ALREADY_CONNECTED, NULL, NVME_SCT_GENERIC,
			     NVME_SC_COMMAND_SEQUENCE_ERROR);
		return;
	}
	if (req->length < sizeof(data)) {
		connect_refuse_status(req, UNVMF_CONNECT_REFUSED_DATA_TOO_SHORT, NULL, NVME_SCT_GENERIC,
			     NVME_SC_DATA_SGL_LENGTH_INVALID);
		return;
	}
	if (cmd->recfmt != 0) {
		connect_refuse_status(req, UNVMF_CONNECT_REFUSED_RECORD_FORMAT, NULL, NVME_SCT_COMMAND_SPECIFIC,
			     NVMF_SC_INCOMPATIBLE_FORMAT);
		return;
	}
	{
		/* The data may span transport buffers. */
		size_t off = 0;

		for (int i = 0; i < req->iovcnt && off < sizeof(data); i++) {
			size_t n = UNVMF_MIN(req->iov[i].iov_len, sizeof(data) - off);

			memcpy((char *)&data + off, req->iov[i].iov_base, n);
			off += n;
		}
	}
	if (strnlen(data.subnqn, sizeof(data.subnqn)) > NVMF_NQN_MAX_LEN) {
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_INVALID_SUBNQN, &data, true,
				      offsetof(struct nvmf_connect_data, subnqn));
		return;
	}
	if (strnlen(data.hostnqn, sizeof(data.hostnqn)) > NVMF_NQN_MAX_LEN) {
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_INVALID_HOSTNQN, &data, true,
				      offsetof(struct nvmf_connect_data, hostnqn));
		return;
	}
	memcpy(subnqn, data.subnqn, sizeof(subnqn) - 1);
	subnqn[sizeof(subnqn) - 1] = '\0';
	memcpy(hostnqn, data.hostnqn, sizeof(hostnqn) - 1);
	hostnqn[sizeof(hostnqn) - 1] = '\0';

	pthread_mutex_lock(&g_tgt.lock);
	subsys = unvmf_subsystem_find(subnqn);
	if (!subsys || subsys->deleting || g_tgt.shutting_down) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_UNKNOWN_SUBSYSTEM, &data, true,
				      offsetof(struct nvmf_connect_data, subnqn));
		return;
	}
	if (subsys->type == UNVMF_SUBSYSTEM_NVME && !unvmf_subsystem_has_listener(subsys, &qpair->local)) {
		pthread_mutex_unlock(&g_tgt.lock);
		LOG_NOTICE("qpair %lu: subsystem %s does not listen on %s:%s",
			   (unsigned long)qpair->id, subnqn, qpair->local.traddr,
			   qpair->local.trsvcid);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_NO_LISTENER, &data, true,
				      offsetof(struct nvmf_connect_data, subnqn));
		return;
	}
	/*
	 * An empty Host NQN is what SPDK's initiator (spdk_nvme_perf) sends by
	 * default; SPDK's target and Linux's accept it where any host may
	 * connect, so unvmf does too. A host list cannot name it: refused there.
	 */
	if (!hostnqn[0]) {
		if (!subsys->allow_any_host) {
			pthread_mutex_unlock(&g_tgt.lock);
			connect_refuse_status(req, UNVMF_CONNECT_REFUSED_EMPTY_HOSTNQN, &data,
				     NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST);
			return;
		}
		LOG_NOTICE("qpair %lu: Connect with an empty host NQN to %s accepted (the "
			   "subsystem allows any host)",
			   (unsigned long)qpair->id, subnqn);
	} else if (!unvmf_nqn_valid(hostnqn)) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_param(req, UNVMF_CONNECT_REFUSED_INVALID_HOSTNQN, &data, true,
				      offsetof(struct nvmf_connect_data, hostnqn));
		return;
	}
	if (!unvmf_subsystem_host_allowed(subsys, hostnqn)) {
		pthread_mutex_unlock(&g_tgt.lock);
		connect_refuse_status(req, UNVMF_CONNECT_REFUSED_HOST_NOT_ALLOWED, &data,
			     NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST);
		return;
	}
	if (cmd->qid == 0)
		connect_admin(req, subsys, cmd, &data);
	else
		connect_io(req, subsys, cmd, &data);
}

/* ---- properties ---- */

static uint64_t ctrlr_cap(struct unvmf_ctrlr *ctrlr, struct unvmf_qpair *qpair)
{
	union nvme_cap_register cap = {.raw = 0};

	cap.bits.mqes = (uint16_t)(qpair->transport->opts.max_queue_depth - 1);
	cap.bits.cqr = 1;
	cap.bits.to = CAP_TIMEOUT_500MS;
	cap.bits.css = 1;	/* NVM command set */
	cap.bits.mpsmin = 0;
	cap.bits.mpsmax = 0;
	return cap.raw;
}

static void ctrlr_set_cc(struct unvmf_ctrlr *ctrlr, uint32_t value)
{
	union nvme_cc_register cc = {.raw = value};

	if (cc.bits.en && !ctrlr->cc.bits.en) {
		ctrlr->csts.bits.rdy = 1;
		ctrlr->csts.bits.shst = NVME_SHST_NORMAL;
		LOG_INFO("controller %u: enabled", ctrlr->cntlid);
	} else if (!cc.bits.en && ctrlr->cc.bits.en) {
		/* Reset: the host expects I/O queues gone and the controller idle. */
		ctrlr->csts.bits.rdy = 0;
		pthread_mutex_lock(&g_tgt.lock);
		/* A reset controller takes Number of Queues again. */
		ctrlr->io_queue_created = false;
		for (unsigned qid = 1; qid <= ctrlr->max_qid; qid++) {
			if (ctrlr->qpairs[qid].group)
				unvmf_qpair_disconnect_async(ctrlr->qpairs[qid].group,
							     ctrlr->qpairs[qid].id, "controller reset");
		}
		pthread_mutex_unlock(&g_tgt.lock);
		LOG_INFO("controller %u: disabled (reset)", ctrlr->cntlid);
	}
	if (cc.bits.shn == NVME_SHN_NORMAL || cc.bits.shn == NVME_SHN_ABRUPT) {
		ctrlr->csts.bits.shst = NVME_SHST_COMPLETE;
		ctrlr->csts.bits.rdy = cc.bits.en;
		LOG_INFO("controller %u: shutdown (%s)", ctrlr->cntlid,
			 cc.bits.shn == NVME_SHN_NORMAL ? "normal" : "abrupt");
	}
	ctrlr->cc.raw = cc.raw;
}

static void fabrics_property(struct unvmf_req *req, bool set)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_ctrlr *ctrlr = qpair->ctrlr;
	struct nvmf_property_get_rsp *rsp = (struct nvmf_property_get_rsp *)&req->rsp;
	uint32_t ofst;
	uint8_t size;

	if (qpair->state != UNVMF_QPAIR_ACTIVE || !ctrlr) {
		connect_fail(req, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
		return;
	}
	if (!unvmf_auth_qpair_allows(qpair)) {
		connect_fail(req, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_AUTH_REQUIRED);
		return;
	}
	if (qpair->qid != 0) {
		connect_fail(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	if (set) {
		const struct nvmf_property_set_cmd *cmd = (const void *)&req->cmd;

		ofst = cmd->ofst;
		size = cmd->attrib.size;
		if (ofst == NVME_REG_CC && size == 0) {
			ctrlr_set_cc(ctrlr, (uint32_t)cmd->value);
			memset(&req->rsp, 0, sizeof(req->rsp));
			unvmf_req_complete(req);
			return;
		}
		/* Everything else is read-only or absent on a fabrics controller. */
		connect_invalid_param(req, false, offsetof(struct nvmf_property_set_cmd, ofst));
		return;
	}
	const struct nvmf_property_get_cmd *cmd = (const void *)&req->cmd;
	uint64_t value;

	ofst = cmd->ofst;
	size = cmd->attrib.size;
	switch (ofst) {
	case NVME_REG_CAP:
		value = ctrlr_cap(ctrlr, qpair);
		if (size != 1)
			goto bad;
		break;
	case NVME_REG_VS:
		value = NVME_VERSION(1, 3, 0);
		if (size != 0)
			goto bad;
		break;
	case NVME_REG_CC:
		value = ctrlr->cc.raw;
		if (size != 0)
			goto bad;
		break;
	case NVME_REG_CSTS:
		value = ctrlr->csts.raw;
		if (size != 0)
			goto bad;
		break;
	default:
		goto bad;
	}
	memset(&req->rsp, 0, sizeof(req->rsp));
	rsp->value = value;
	unvmf_req_complete(req);
	return;
bad:
	connect_invalid_param(req, false, offsetof(struct nvmf_property_get_cmd, ofst));
}

void unvmf_ctrlr_exec_fabrics(struct unvmf_req *req)
{
	const struct nvmf_capsule_cmd *cmd = (const struct nvmf_capsule_cmd *)&req->cmd;

	switch (cmd->fctype) {
	case NVMF_FCTYPE_CONNECT:
		fabrics_connect(req);
		return;
	case NVMF_FCTYPE_PROPERTY_GET:
		fabrics_property(req, false);
		return;
	case NVMF_FCTYPE_PROPERTY_SET:
		fabrics_property(req, true);
		return;
	case NVMF_FCTYPE_AUTHENTICATION_SEND:
		unvmf_auth_send(req);
		return;
	case NVMF_FCTYPE_AUTHENTICATION_RECV:
		unvmf_auth_recv(req);
		return;
	case NVMF_FCTYPE_DISCONNECT:
		/* Acknowledge, then the transport sees the host close the queue. */
		if (req->qpair->state != UNVMF_QPAIR_ACTIVE) {
			connect_fail(req, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
			return;
		}
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
		return;
	default:
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
		return;
	}
}

/* ---- qpair departure ---- */

void unvmf_ctrlr_qpair_gone(struct unvmf_qpair *qpair)
{
	struct unvmf_ctrlr *ctrlr = qpair->ctrlr;

	unvmf_auth_qpair_free(qpair);
	if (qpair->qid == 0) {
		/* The admin queue defines the controller: its I/O queues go with it. */
		unvmf_poller_unregister(&ctrlr->ka_poller);
		unvmf_ctrlr_aer_abort_all(ctrlr);
		ctrlr->admin_qpair = NULL;
	}
	pthread_mutex_lock(&g_tgt.lock);
	if (ctrlr->qpairs[qpair->qid].id == qpair->id) {
		ctrlr->qpairs[qpair->qid].group = NULL;
		ctrlr->qpairs[qpair->qid].id = 0;
	}
	if (qpair->group) {
		if (qpair->qid == 0)
			qpair->group->stats.admin_qpairs_current--;
		else
			qpair->group->stats.io_qpairs_current--;
	}
	unvmf_limits_host_detach_locked(qpair, ctrlr->hostnqn);
	if (qpair->qid == 0)
		unvmf_ctrlr_disconnect_all_locked(ctrlr, "admin queue disconnected");
	qpair->ctrlr = NULL;
	unvmf_ctrlr_put_locked(ctrlr);
	pthread_mutex_unlock(&g_tgt.lock);
}

int unvmf_subsystem_foreach_ctrlr(struct unvmf_subsystem *subsys,
                                  int (*fn)(const struct unvmf_ctrlr_info *ctrlr, void *arg),
                                  void *arg)
{
	const struct unvmf_ctrlr *ctrlr;
	struct unvmf_ctrlr_info info;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(ctrlr, &subsys->ctrlrs, link)
	{
		memset(&info, 0, sizeof(info));
		info.cntlid = ctrlr->cntlid;
		memcpy(info.hostnqn, ctrlr->hostnqn, sizeof(info.hostnqn));
		memcpy(info.hostid, ctrlr->hostid, sizeof(info.hostid));
		info.listen_trid = ctrlr->listen_trid;
		info.host_trid = ctrlr->host_trid;
		info.kato_ms = ctrlr->kato_ms;
		/* qpairs[] slots are filled and emptied under the lock held here. */
		for (unsigned q = 1; ctrlr->qpairs && q <= ctrlr->max_qid; q++)
			info.num_io_qpairs += ctrlr->qpairs[q].id != 0;
		rc = fn(&info, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}
