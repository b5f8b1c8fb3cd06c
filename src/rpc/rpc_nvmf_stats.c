/*
 * Methods that read per-thread state: nvmf_get_stats, nvmf_subsystem_get_qpairs
 * and the fault-injection methods. Poll-group counters and qpair lists belong
 * to their reactor and are read only there: one message visits each reactor in
 * turn (unvmf_for_each_thread), each appending to the reply being built, so
 * the I/O path needs no atomics and no lock.
 */
#include "rpc/rpc.h"
#include "nvmf/nvmf.h"
/* Fault injection below still reads the target's struct and qpair lists. */
#include "reactor/reactor.h"
#include "nvmf/transport.h"
#include "util/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static json_t *latency_json(const struct unvmf_latency_hist *h)
{
	json_t *buckets = json_array();

	for (unsigned i = 0; buckets && i < UNVMF_ARRAY_SIZE(h->buckets); i++) {
		if (h->buckets[i])
			json_array_append_new(buckets,
			                      json_pack("{s:I, s:I}", "lt_us", (json_int_t)1 << i,
			                                "count", (json_int_t)h->buckets[i]));
	}
	return json_pack("{s:I, s:I, s:I, s:o*}", "count", (json_int_t)h->count, "sum_us",
	                 (json_int_t)h->sum_us, "avg_us",
	                 (json_int_t)(h->count ? h->sum_us / h->count : 0), "buckets", buckets);
}

static int transport_stats_append(struct unvmf_transport_poll_group *tg, void *arg)
{
	json_t *t = json_object();

	if (!t)
		return 0;
	json_object_set_new(t, "trtype", json_string(unvmf_trtype_str(tg->transport->ops->trtype)));
	if (tg->transport->ops->poll_group_dump_stats)
		tg->transport->ops->poll_group_dump_stats(tg, t);
	json_array_append_new(arg, t);
	return 0;
}

/* Error completions as {"SCT/SC": count}, hex like the spec's tables ("0/80"). */
static json_t *errors_by_status_json(const struct unvmf_poll_group_stats *s)
{
	json_t *o = json_object();
	char key[16];

	for (unsigned i = 0; o && i < UNVMF_STATUS_SLOTS && s->errors_by_status[i].count; i++) {
		snprintf(key, sizeof(key), "%x/%02x", s->errors_by_status[i].status >> 8,
		         s->errors_by_status[i].status & 0xff);
		json_object_set_new(o, key, json_integer((json_int_t)s->errors_by_status[i].count));
	}
	if (o && s->errors_by_status_other)
		json_object_set_new(o, "other", json_integer((json_int_t)s->errors_by_status_other));
	return o;
}

static json_t *group_stats_json(struct unvmf_poll_group *group)
{
	struct unvmf_poll_group_info info;
	const struct unvmf_poll_group_stats *s = &info.stats;
	uint64_t iterations = 0, busy = 0, sleeps = 0;
	json_t *transports = json_array();
	char name[48];

	unvmf_poll_group_get_info(group, &info);
	if (transports)
		unvmf_poll_group_foreach_transport_group(group, transport_stats_append, transports);
	unvmf_thread_get_stats(info.thread, &iterations, &busy, &sleeps);
	snprintf(name, sizeof(name), "nvmf_tgt_poll_group_%u", info.index);
	return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*, s:I, s:I, "
	                 "s:o*, s:{s:I, s:I, s:I}, s:o*}",
	                 "name", name, "thread", (int)info.index, "qpairs",
	                 (json_int_t)s->qpairs_total, "current_qpairs",
	                 (json_int_t)s->qpairs_current, "current_admin_qpairs",
	                 (json_int_t)s->admin_qpairs_current, "current_io_qpairs",
	                 (json_int_t)s->io_qpairs_current, "completed_nvme_io",
	                 (json_int_t)s->requests_completed, "bytes_read", (json_int_t)s->read_bytes,
	                 "bytes_written", (json_int_t)s->written_bytes, "errors",
	                 (json_int_t)s->errors, "errors_by_status", errors_by_status_json(s),
	                 "keep_alive_expiries", (json_int_t)s->keep_alive_expiries,
	                 "pending_bdev_io", (json_int_t)info.pending_bdev_io,
	                 "latency", latency_json(&s->latency), "reactor", "iterations",
	                 (json_int_t)iterations, "busy_iterations", (json_int_t)busy, "sleeps",
	                 (json_int_t)sleeps, "transports", transports);
}

/* Qpairs that did not earn their place (nvmf/limits.c), as the group's "limits" object. */
static json_t *group_limits_add(json_t *g, struct unvmf_poll_group *group)
{
	struct unvmf_poll_group_info info;
	const struct unvmf_poll_group_stats *s = &info.stats;

	if (!g)
		return NULL;
	unvmf_poll_group_get_info(group, &info);
	json_object_set_new(g, "limits",
	                    json_pack("{s:I, s:I, s:I, s:I, s:I}", "connect_timeouts",
	                              (json_int_t)s->connect_timeouts, "connect_refused_host_limit",
	                              (json_int_t)s->connect_refused_host_limit,
	                              "connect_refused_group_limit",
	                              (json_int_t)s->connect_refused_group_limit,
	                              "connect_refused_kato", (json_int_t)s->connect_refused_kato,
	                              "kato_zero_reclaims", (json_int_t)s->kato_zero_reclaims));
	json_object_set_new(g, "auth",
	                    json_pack("{s:I, s:I, s:I}", "successes", (json_int_t)s->auth_successes,
	                              "failures", (json_int_t)s->auth_failures, "timeouts",
	                              (json_int_t)s->auth_timeouts));
	return g;
}

/* ---- walks over every poll group ---- */

struct group_walk {
	struct unvmf_rpc_request *req;
	json_t *list;
	/* get_qpairs */
	struct unvmf_subsystem *subsys;
	/* inject_fault */
	struct unvmf_transport *transport;
	const char *fault;
	struct unvmf_qpair_match match;
	struct unvmf_inject_result res;
};

static void stats_on_group(void *arg)
{
	struct group_walk *w = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();

	if (group && w->list)
		json_array_append_new(w->list, group_limits_add(group_stats_json(group), group));
}

/* Refused Fabrics Connects by reason, since start (the target's, not a poll group's). */
static json_t *connect_refusals_json(void)
{
	json_t *o = json_object();
	const char *name;

	for (unsigned r = 0; o && r < UNVMF_CONNECT_REFUSED_COUNT; r++) {
		uint64_t n = unvmf_tgt_connect_refusals((enum unvmf_connect_refusal)r, &name);

		json_object_set_new(o, name, json_integer((json_int_t)n));
	}
	return o;
}

static void stats_done(void *arg)
{
	struct group_walk *w = arg;

	unvmf_rpc_send_result(w->req, json_pack("{s:i, s:o*, s:o*}", "tick_rate", 1000000,
	                                        "poll_groups", w->list, "connect_refusals",
	                                        connect_refusals_json()));
	free(w);
}

static void rpc_nvmf_get_stats(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    {.name = "tgt_name", .type = UNVMF_RPC_STRING, .size = sizeof(const char *)},
	};
	const char *tgt_name = NULL;
	struct group_walk *w;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &tgt_name, NULL))
		return;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->list = json_array())) {
		free(w);
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	w->req = req;
	rc = unvmf_for_each_thread(stats_on_group, w, stats_done);
	if (rc) {
		json_decref(w->list);
		free(w);
		unvmf_rpc_send_error(req, rc, "cannot visit the poll groups: %s", strerror(-rc));
	}
}

static const char *qpair_state_str(enum unvmf_qpair_state state)
{
	switch (state) {
	case UNVMF_QPAIR_UNCONNECTED:
		return "uninitialized";
	case UNVMF_QPAIR_ACTIVE:
		return "active";
	case UNVMF_QPAIR_DISCONNECTING:
		return "deactivating";
	}
	return "unknown";
}

struct qpairs_walk {
	json_t *list;
	char thread[48];
};

static int qpair_append(const struct unvmf_qpair_info *q, void *arg)
{
	struct qpairs_walk *qw = arg;

	json_array_append_new(
	    qw->list,
	    json_pack("{s:i, s:i, s:s, s:s, s:I, s:i, s:o, s:o, s:{s:I, s:I, s:I, s:I}}", "cntlid",
	              q->cntlid, "qid", q->qid, "state", qpair_state_str(q->state), "thread",
	              qw->thread, "qpair_id", (json_int_t)q->id, "sq_size", q->sq_size,
	              "listen_address", unvmf_rpc_trid_json(&q->local), "peer_address",
	              unvmf_rpc_trid_json(&q->peer), "stats", "requests",
	              (json_int_t)q->stats.requests, "bytes_read", (json_int_t)q->stats.read_bytes,
	              "bytes_written", (json_int_t)q->stats.written_bytes, "errors",
	              (json_int_t)q->stats.errors));
	return 0;
}

static void qpairs_on_group(void *arg)
{
	struct group_walk *w = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();
	struct unvmf_poll_group_info info;
	struct qpairs_walk qw = {.list = w->list};

	if (!group || !w->list)
		return;
	unvmf_poll_group_get_info(group, &info);
	snprintf(qw.thread, sizeof(qw.thread), "nvmf_tgt_poll_group_%u", info.index);
	unvmf_poll_group_foreach_qpair(group, w->subsys, qpair_append, &qw);
}

static void list_done(void *arg)
{
	struct group_walk *w = arg;

	unvmf_rpc_send_result(w->req, w->list);
	free(w);
}

struct qpairs_params {
	const char *nqn;
	const char *tgt_name;
};

static void rpc_nvmf_subsystem_get_qpairs(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct qpairs_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct qpairs_params, tgt_name, 0, 0),
	};
	struct qpairs_params p = {0};
	struct unvmf_subsystem *subsys;
	struct group_walk *w;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	subsys = unvmf_subsystem_find(p.nqn);
	if (!subsys) {
		unvmf_rpc_send_error(req, -ENODEV, "subsystem %s does not exist", p.nqn);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->list = json_array())) {
		free(w);
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	w->req = req;
	w->subsys = subsys;
	rc = unvmf_for_each_thread(qpairs_on_group, w, list_done);
	if (rc) {
		json_decref(w->list);
		free(w);
		unvmf_rpc_send_error(req, rc, "cannot visit the poll groups: %s", strerror(-rc));
	}
}

/* ---- fault injection ---- */

struct inject_params {
	const char *fault;
	uint64_t qpair_id;
	uint16_t cntlid;
	uint16_t qid;
};

enum { INJECT_QPAIR_ID = 1u << 1, INJECT_CNTLID = 1u << 2, INJECT_QID = 1u << 3 };

static void inject_on_group(void *arg)
{
	struct group_walk *w = arg;
	struct unvmf_poll_group *group = unvmf_poll_group_current();

	if (group)
		unvmf_poll_group_inject_fault(group, w->transport, &w->match, w->fault, &w->res);
}

static void inject_done(void *arg)
{
	struct group_walk *w = arg;

	if (w->res.matched == 0)
		unvmf_rpc_send_error(w->req, -ENOENT, "no qpair matches");
	else if (w->res.injected == 0)
		unvmf_rpc_send_error(w->req, w->res.first_error,
		                     "fault '%s' refused by the transport: %s", w->fault,
		                     strerror(-w->res.first_error));
	else
		unvmf_rpc_send_result(w->req,
		                      json_pack("{s:i, s:i}", "injected", w->res.injected, "failed",
		                                w->res.matched - w->res.injected));
	free(w);
}

/*
 * SPDK names the method after the transport ("nvmf_tcp_inject_fault"): the
 * transport is the one registered under that name, NULL if none is.
 */
static const struct unvmf_transport_ops *inject_fault_ops(const char *method)
{
	static const char prefix[] = "nvmf_", suffix[] = "_inject_fault";
	size_t plen = sizeof(prefix) - 1, slen = sizeof(suffix) - 1;
	size_t len = method ? strlen(method) : 0;
	char name[32];

	if (len <= plen + slen || strncmp(method, prefix, plen) != 0 ||
	    strcmp(method + len - slen, suffix) != 0 || len - plen - slen >= sizeof(name))
		return NULL;
	memcpy(name, method + plen, len - plen - slen);
	name[len - plen - slen] = '\0';
	return unvmf_transport_ops_find_by_name(name);
}

static void rpc_nvmf_inject_fault(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("fault", UNVMF_RPC_STRING, true, struct inject_params, fault, 0, 64),
	    UNVMF_RPC_ROW("qpair_id", UNVMF_RPC_UINT, false, struct inject_params, qpair_id, 1, 0),
	    UNVMF_RPC_ROW("cntlid", UNVMF_RPC_UINT, false, struct inject_params, cntlid, 0, 0),
	    UNVMF_RPC_ROW("qid", UNVMF_RPC_UINT, false, struct inject_params, qid, 0, 0),
	};
	struct inject_params p = {0};
	const struct unvmf_transport_ops *ops;
	struct unvmf_transport *t;
	struct group_walk *w;
	uint64_t present;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, &present))
		return;
	if (!unvmf_tgt_fault_injection_enabled()) {
		unvmf_rpc_send_invalid_state(req, "fault injection is disabled; start unvmf-tgt "
		                                  "with --enable-fault-injection");
		return;
	}
	ops = inject_fault_ops(unvmf_rpc_request_method(req));
	if (!ops) {
		unvmf_rpc_send_error(req, -ENODEV, "%s: no such transport in this build",
		                     unvmf_rpc_request_method(req));
		return;
	}
	t = unvmf_tgt_find_transport(ops->trtype);
	if (!t) {
		unvmf_rpc_send_error(req, -ENODEV, "transport %s does not exist", ops->name);
		return;
	}
	if (!t->ops->inject_fault) {
		unvmf_rpc_send_error(req, -EOPNOTSUPP, "transport %s has no fault injection",
		                     ops->name);
		return;
	}
	/* Transport-level faults (the next qpair to reach a state) need no qpair now. */
	if (t->ops->inject_fault_arm) {
		char err[192] = "";

		rc = t->ops->inject_fault_arm(t, p.fault, (present & INJECT_QPAIR_ID) ? p.qpair_id : 0,
		                              (present & INJECT_CNTLID) ? p.cntlid : -1,
		                              (present & INJECT_QID) ? p.qid : -1, err, sizeof(err));
		if (rc != -EOPNOTSUPP) {
			if (rc)
				unvmf_rpc_send_error(req, rc == -EINVAL ? UNVMF_RPC_INVALID_PARAMS : rc,
				                     "%s", err);
			else
				unvmf_rpc_send_result(req, json_pack("{s:b, s:s}", "armed", 1, "fault",
				                                     p.fault));
			return;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	w->req = req;
	w->transport = t;
	w->fault = p.fault;
	w->match.qpair_id = (present & INJECT_QPAIR_ID) ? (int64_t)p.qpair_id : -1;
	w->match.cntlid = (present & INJECT_CNTLID) ? p.cntlid : -1;
	w->match.qid = (present & INJECT_QID) ? p.qid : -1;
	rc = unvmf_for_each_thread(inject_on_group, w, inject_done);
	if (rc) {
		free(w);
		unvmf_rpc_send_error(req, rc, "cannot visit the poll groups: %s", strerror(-rc));
	}
}

static const struct unvmf_rpc_method g_stats_methods[] = {
    {"nvmf_get_stats", rpc_nvmf_get_stats},
    {"nvmf_subsystem_get_qpairs", rpc_nvmf_subsystem_get_qpairs},
    /* SPDK's method names; the handler finds the transport by the name in the method's. */
    {"nvmf_tcp_inject_fault", rpc_nvmf_inject_fault},
    {"nvmf_rdma_inject_fault", rpc_nvmf_inject_fault},
};

void unvmf_rpc_register_nvmf_stats_methods(void)
{
	unvmf_rpc_register_methods(g_stats_methods, UNVMF_ARRAY_SIZE(g_stats_methods));
}
