/*
 * What a host must earn before the target spends on it, for every transport:
 * a deadline for Fabrics Connect once the transport is ready for it, a bound
 * on the KATO a Connect may ask for, and at most so many connected qpairs per
 * host NQN (target-wide) and per poll group. Each refusal or expiry is logged
 * with who (peer address, host NQN) and why, and counted on the poll group
 * (nvmf_get_stats).
 *
 * Defaults, chosen for an operator who has never heard of them:
 * - connect_timeout_ms 10 s: hosts send Connect right after the transport
 *   handshake (Linux sends ICReq and Connect back to back), so 10 s is slack
 *   for a loaded host, while a connection that never connects is gone soon.
 * - max_qpairs_per_host 1024: eight controllers at the full 128 queues each,
 *   or sixteen at 64; every TCP qpair preallocates its requests and their
 *   in-capsule buffers (about 1 MiB at the default depth), so one host NQN
 *   can pin about 1 GiB and no more.
 * - max_qpairs_per_group 4096: beyond what one reactor serves well, yet far
 *   below what exhausts memory on a storage server.
 * - max_kato_ms 600 s: above what hosts configure (Linux defaults to 5 s),
 *   and the same bound reclaims KATO 0 controllers (ctrlr.c): after 10 minutes
 *   without a Keep Alive or I/O, the Linux host's default ctrl_loss_tmo.
 *
 * The per-host counts live in a small hash table under g_tgt.lock; an entry
 * exists only while its host holds a qpair.
 */
#include "nvmf/nvmf_internal.h"
#include "nvmf/transport.h"
#include "reactor/reactor.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define HOST_BUCKETS 64

struct host_usage {
	char nqn[UNVMF_NQN_BUF];
	uint32_t qpairs;
	struct host_usage *next;
};

static struct host_usage *g_hosts[HOST_BUCKETS];

void unvmf_qpair_limits_defaults(struct unvmf_qpair_limits *limits)
{
	limits->connect_timeout_ms = 10000;
	limits->max_qpairs_per_host = 1024;
	limits->max_qpairs_per_group = 4096;
	limits->max_kato_ms = 600000;
}

#define LIMIT(n, hi) UNVMF_JSON_OPTION(#n, struct unvmf_qpair_limits, n, UINT, 0, hi)

static const struct unvmf_json_param g_limit_params[] = {
    LIMIT(connect_timeout_ms, 3600000),
    LIMIT(max_qpairs_per_host, 1u << 20),
    LIMIT(max_qpairs_per_group, 1u << 20),
    LIMIT(max_kato_ms, 0),
};

const struct unvmf_json_param *unvmf_qpair_limits_accepts(const char *name)
{
	return unvmf_json_param_find(g_limit_params, UNVMF_ARRAY_SIZE(g_limit_params), name);
}

int unvmf_qpair_limits_decode(struct unvmf_qpair_limits *limits, const json_t *params, char *err,
                              size_t err_len)
{
	struct unvmf_qpair_limits l = *limits;
	int rc;

	rc = unvmf_json_params_decode(UNVMF_TRANSPORT_PARAMS_METHOD, params, g_limit_params,
	                              UNVMF_ARRAY_SIZE(g_limit_params), &l, NULL, err, err_len);
	if (rc)
		return rc;
	*limits = l;
	return 0;
}

void unvmf_qpair_limits_dump(const struct unvmf_qpair_limits *limits, json_t *obj)
{
	json_object_set_new(obj, "connect_timeout_ms", json_integer(limits->connect_timeout_ms));
	json_object_set_new(obj, "max_qpairs_per_host", json_integer(limits->max_qpairs_per_host));
	json_object_set_new(obj, "max_qpairs_per_group",
	                    json_integer(limits->max_qpairs_per_group));
	json_object_set_new(obj, "max_kato_ms", json_integer(limits->max_kato_ms));
}

/* ---- Connect deadline ---- */

void unvmf_qpair_connect_deadline_arm(struct unvmf_qpair *qpair)
{
	uint32_t ms = qpair->transport->opts.limits.connect_timeout_ms;

	qpair->connect_deadline_us = ms ? unvmf_now_us() + (uint64_t)ms * 1000 : 0;
}

bool unvmf_qpair_connect_deadline_check(struct unvmf_qpair *qpair, uint64_t now_us)
{
	if (!qpair->connect_deadline_us || qpair->state != UNVMF_QPAIR_UNCONNECTED ||
	    now_us < qpair->connect_deadline_us)
		return false;
	qpair->connect_deadline_us = 0;
	LOG_WARN("qpair %lu (peer %s:%s): no Fabrics Connect within %u ms (connect_timeout_ms): "
	         "closing",
	         (unsigned long)qpair->id, qpair->peer.traddr, qpair->peer.trsvcid,
	         qpair->transport->opts.limits.connect_timeout_ms);
	if (qpair->group)
		qpair->group->stats.connect_timeouts++;
	unvmf_qpair_disconnect(qpair, "connect timeout");
	return true;
}

/* ---- per-host and per-group qpairs ---- */

static unsigned host_bucket(const char *nqn)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *nqn; nqn++)
		h = (h ^ (uint8_t)*nqn) * 16777619u;
	return h % HOST_BUCKETS;
}

static struct host_usage *host_find_locked(const char *nqn)
{
	struct host_usage *h;

	for (h = g_hosts[host_bucket(nqn)]; h; h = h->next) {
		if (strcmp(h->nqn, nqn) == 0)
			return h;
	}
	return NULL;
}

void unvmf_limits_host_attach_locked(struct unvmf_qpair *qpair, const char *hostnqn)
{
	struct host_usage *h = host_find_locked(hostnqn);

	if (!h) {
		unsigned b = host_bucket(hostnqn);

		h = calloc(1, sizeof(*h));
		if (!h) {
			/* The qpair is connected already; it just goes uncounted. */
			LOG_ERR("qpair %lu: no memory to count host %s's qpairs",
			        (unsigned long)qpair->id, hostnqn);
			return;
		}
		unvmf_strlcpy(h->nqn, hostnqn, sizeof(h->nqn));
		h->next = g_hosts[b];
		g_hosts[b] = h;
	}
	h->qpairs++;
	qpair->host_counted = true;
}

void unvmf_limits_host_detach_locked(struct unvmf_qpair *qpair, const char *hostnqn)
{
	struct host_usage **pp, *h;

	if (!qpair->host_counted)
		return;
	qpair->host_counted = false;
	for (pp = &g_hosts[host_bucket(hostnqn)]; (h = *pp); pp = &h->next) {
		if (strcmp(h->nqn, hostnqn) != 0)
			continue;
		UNVMF_ASSERT(h->qpairs > 0);
		if (--h->qpairs == 0) {
			*pp = h->next;
			free(h);
		}
		return;
	}
	UNVMF_ASSERT(false);
}

static void refuse(struct unvmf_req *req, uint64_t *counter, uint8_t sct, uint8_t sc,
                   uint16_t kato_ipo)
{
	if (counter)
		(*counter)++;
	pthread_mutex_unlock(&g_tgt.lock);
	if (sc == NVMF_SC_INVALID_PARAM) {
		struct nvmf_connect_rsp *rsp = (struct nvmf_connect_rsp *)&req->rsp;

		memset(&req->rsp, 0, sizeof(req->rsp));
		rsp->status_code_specific.invalid.ipo = kato_ipo;
		unvmf_req_set_status(req, sct, sc);
		unvmf_req_complete(req);
		return;
	}
	unvmf_req_complete_status(req, sct, sc);
}

bool unvmf_limits_connect_refused(struct unvmf_req *req, const char *hostnqn)
{
	const struct nvmf_connect_cmd *cmd = (const struct nvmf_connect_cmd *)&req->cmd;
	struct unvmf_qpair *qpair = req->qpair;
	const struct unvmf_qpair_limits *lim = &qpair->transport->opts.limits;
	struct unvmf_poll_group *group = qpair->group;
	struct unvmf_poll_group_stats *st = group ? &group->stats : NULL;
	const struct host_usage *h;

	if (cmd->qid == 0 && lim->max_kato_ms && cmd->kato > lim->max_kato_ms) {
		LOG_ERR("qpair %lu (host %s, peer %s:%s): Connect refused: KATO %u ms above "
		        "max_kato_ms %u",
		        (unsigned long)qpair->id, hostnqn, qpair->peer.traddr, qpair->peer.trsvcid,
		        cmd->kato, lim->max_kato_ms);
		refuse(req, st ? &st->connect_refused_kato : NULL, NVME_SCT_COMMAND_SPECIFIC,
		       NVMF_SC_INVALID_PARAM, offsetof(struct nvmf_connect_cmd, kato));
		return true;
	}
	h = host_find_locked(hostnqn);
	if (lim->max_qpairs_per_host && h && h->qpairs >= lim->max_qpairs_per_host) {
		LOG_ERR(
		    "qpair %lu (host %s, peer %s:%s): Connect refused: the host holds %u qpairs "
		    "(max_qpairs_per_host %u)",
		    (unsigned long)qpair->id, hostnqn, qpair->peer.traddr, qpair->peer.trsvcid,
		    h->qpairs, lim->max_qpairs_per_host);
		refuse(req, st ? &st->connect_refused_host_limit : NULL, NVME_SCT_COMMAND_SPECIFIC,
		       NVMF_SC_CONTROLLER_BUSY, 0);
		return true;
	}
	/* The group's counters belong to this thread: Connect runs on the qpair's group. */
	if (st && lim->max_qpairs_per_group &&
	    st->admin_qpairs_current + st->io_qpairs_current >= lim->max_qpairs_per_group) {
		LOG_ERR("qpair %lu (host %s, peer %s:%s): Connect refused: poll group %u holds %lu "
		        "qpairs (max_qpairs_per_group %u)",
		        (unsigned long)qpair->id, hostnqn, qpair->peer.traddr, qpair->peer.trsvcid,
		        group->index,
		        (unsigned long)(st->admin_qpairs_current + st->io_qpairs_current),
		        lim->max_qpairs_per_group);
		refuse(req, &st->connect_refused_group_limit, NVME_SCT_COMMAND_SPECIFIC,
		       NVMF_SC_CONTROLLER_BUSY, 0);
		return true;
	}
	return false;
}
