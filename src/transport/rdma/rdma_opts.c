/*
 * RDMA transport options: defaults, the checks create() applies, and their
 * JSON form (SPDK's parameter names) for nvmf_create_transport,
 * nvmf_get_transports and save_config.
 */
#include "transport/rdma/rdma_opts.h"
#include "transport/rdma/rdma_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct unvmf_rdma_opts) <= sizeof(union unvmf_transport_opts_specific),
               "the RDMA options fit in the transport-specific part");

struct unvmf_rdma_opts *unvmf_rdma_opts(struct unvmf_transport_opts *opts)
{
	return (struct unvmf_rdma_opts *)opts->specific.bytes;
}

const struct unvmf_rdma_opts *unvmf_rdma_opts_const(const struct unvmf_transport_opts *opts)
{
	return (const struct unvmf_rdma_opts *)opts->specific.bytes;
}

void unvmf_rdma_opts_set_provider(struct unvmf_transport_opts *opts, const char *provider,
                                  void *provider_ctx)
{
	struct unvmf_rdma_opts *r = unvmf_rdma_opts(opts);

	r->provider = provider;
	r->provider_ctx = provider_ctx;
}

/*
 * Defaults follow SPDK's where it has one. The three retry parameters are
 * what the seed's operators are told to tune: how long a dead peer takes to
 * surface as RETRY_EXC_ERR (ack_timeout: 4.096 us << 16 = 268 ms per try,
 * retry_count 6 tries -> about 2 s) and how often a host without posted
 * receives is retried (rnr_retry_count 6). 7 means "retry forever" on
 * Soft-RoCE and in the sim, so a broken link would never be reported and
 * its qpair never reclaimed: the defaults are finite on purpose. Raise them
 * on lossy fabrics to trade failover time for fewer spurious disconnects.
 *
 * num_cqe bounds the per-group CQ; every qpair reserves its send-queue depth
 * (and, without SRQ, its receive-queue depth) in it so that the CQ can never
 * overflow; a qpair that does not fit is rejected (NO_RESOURCES).
 *
 * The core's limits (connect_timeout_ms, max_qpairs_per_host, ...) keep the
 * core's defaults (unvmf_transport_opts_defaults) and share this namespace.
 */
void rdma_opts_init(struct unvmf_transport_opts *o)
{
	struct unvmf_rdma_opts *r;

	unvmf_transport_opts_defaults(o, NVMF_TRTYPE_RDMA);
	o->num_shared_buffers = 4095;
	o->buf_cache_size = 32;
	r = unvmf_rdma_opts(o);
	r->max_srq_depth = 4096;
	r->no_srq = false;
	r->num_cqe = 16384;
	r->acceptor_backlog = 100;
	r->ack_timeout = 16;
	r->retry_count = 6;
	r->rnr_retry_count = 6;
	r->max_read_depth = 16;
	r->reclaim_timeout_ms = 5000;
	r->provider = "verbs";
	r->provider_ctx = NULL;
}

int rdma_opts_check(const struct unvmf_transport_opts *o)
{
	const struct unvmf_rdma_opts *r = unvmf_rdma_opts_const(o);
	int rc;

	rc = unvmf_transport_opts_check_common(o, "RDMA");
	if (rc)
		return rc;
	if (r->max_read_depth < 1 || r->max_read_depth > 255 || r->retry_count > 7 ||
	    r->rnr_retry_count > 7 || r->ack_timeout > 31) {
		LOG_ERR("RDMA: max_read_depth 1..255, retry counts 0..7, ack_timeout 0..31");
		return -EINVAL;
	}
	if (!r->no_srq && (r->max_srq_depth < 2 || r->max_srq_depth > 65535)) {
		LOG_ERR("RDMA: max_srq_depth must be 2..65535");
		return -EINVAL;
	}
	if (r->reclaim_timeout_ms < 1 || r->reclaim_timeout_ms > 3600000) {
		LOG_ERR("RDMA: reclaim_timeout_ms must be 1..3600000");
		return -EINVAL;
	}
	if (r->retry_count == 7)
		LOG_WARN("RDMA: a retry count of 7 retries forever: a dead link is never reported");
	if (r->rnr_retry_count > RDMA_RESPONSE_RNR_RETRY_MAX)
		LOG_WARN("RDMA: rnr_retry_count %u retries forever; responses use %u so that a "
		         "host that posts no receives cannot hold its requests forever",
		         r->rnr_retry_count, RDMA_RESPONSE_RNR_RETRY_MAX);
	return 0;
}

/*
 * The RNR retry count of the target's own QPs (its responses): 7 means
 * forever to the NIC, and a host that never posts a receive would then keep
 * its requests, its SRQ receives and its send queue until it disconnects.
 * The host's side (the count the REP tells it) stays what was configured.
 */
uint8_t rdma_opts_response_rnr_retry(const struct unvmf_rdma_opts *r)
{
	return (uint8_t)UNVMF_MIN(r->rnr_retry_count, RDMA_RESPONSE_RNR_RETRY_MAX);
}

/* What nvmf_create_transport takes for RDMA, with SPDK's names and our ranges. */
struct rdma_opts_params {
	uint32_t max_srq_depth;
	bool no_srq;
	uint32_t num_cqe;
	int32_t acceptor_backlog;
	uint32_t ack_timeout;
	uint8_t retry_count;
	uint8_t rnr_retry_count;
	uint32_t max_read_depth;
	uint32_t reclaim_timeout_ms;
	const char *provider;
};

#define RP(n, t, lo, hi) UNVMF_JSON_OPTION(#n, struct rdma_opts_params, n, t, lo, hi)

static const struct unvmf_json_param g_rdma_params[] = {
    RP(max_srq_depth, UINT, 1, 65535),
    /* rpc.py sends no_srq=false and no_wr_batching=false with every transport. */
    {.name = "no_srq",
     .type = UNVMF_JSON_BOOL,
     .offset = offsetof(struct rdma_opts_params, no_srq),
     .size = sizeof(bool),
     .neutral = "false"},
    RP(num_cqe, UINT, 1, 1u << 22),
    RP(acceptor_backlog, INT, 0, 65535),
    RP(ack_timeout, UINT, 0, 31),
    RP(retry_count, UINT, 0, 7),
    RP(rnr_retry_count, UINT, 0, 7),
    RP(max_read_depth, UINT, 1, 256),
    RP(reclaim_timeout_ms, UINT, 1, 3600000),
    RP(provider, STRING, 0, 16),
    UNVMF_JSON_PARAM_COMPAT("no_wr_batching", BOOL, IGNORED, "false",
                            "unvmf chains work requests as it sees fit"),
};

static bool rdma_param_given(uint64_t present, const char *name)
{
	const struct unvmf_json_param *p =
	    unvmf_json_param_find(g_rdma_params, UNVMF_ARRAY_SIZE(g_rdma_params), name);

	return p && (present & (1ull << (p - g_rdma_params)));
}

const struct unvmf_json_param *rdma_opts_accepts(const char *name)
{
	const struct unvmf_json_param *p =
	    unvmf_json_param_find(g_rdma_params, UNVMF_ARRAY_SIZE(g_rdma_params), name);

	return p ? p : unvmf_qpair_limits_accepts(name);
}

/* Own parameters into p, the core's limits into *limits; nothing is applied on error. */
static int rdma_params_split_decode(const json_t *params, struct rdma_opts_params *p,
                                    uint64_t *present, struct unvmf_qpair_limits *limits, char *err,
                                    size_t err_len)
{
	json_t *own = json_object(), *core = json_object();
	const char *key;
	json_t *v;
	int rc = -ENOMEM;

	if (!own || !core)
		goto out_free;
	/* Each table refuses the other's names: split first, as TCP does. */
	json_object_foreach((json_t *)params, key, v)
	    json_object_set(unvmf_qpair_limits_accepts(key) ? core : own, key, v);
	rc = unvmf_json_params_decode(UNVMF_TRANSPORT_PARAMS_METHOD, own, g_rdma_params,
	                              UNVMF_ARRAY_SIZE(g_rdma_params), p, present, err, err_len);
	if (rc == 0)
		rc = unvmf_qpair_limits_decode(limits, core, err, err_len);
out_free:
	json_decref(own);
	json_decref(core);
	return rc;
}

int rdma_opts_decode(struct unvmf_transport_opts *opts, const json_t *params, char *err,
                     size_t err_len)
{
	struct unvmf_rdma_opts *r = unvmf_rdma_opts(opts);
	struct unvmf_qpair_limits limits = opts->limits;
	struct rdma_opts_params p = {0};
	uint64_t present;
	int rc;

	rc = rdma_params_split_decode(params, &p, &present, &limits, err, err_len);
	if (rc)
		return rc;
	/* Only the providers an operator may pick; the name must outlive params. */
	if (rdma_param_given(present, "provider") && strcmp(p.provider, "verbs") != 0 &&
	    strcmp(p.provider, "sim") != 0) {
		snprintf(err, err_len, "invalid parameter 'provider': '%s' (verbs or sim)",
		         p.provider);
		return -EINVAL;
	}
	if (rdma_param_given(present, "max_srq_depth"))
		r->max_srq_depth = p.max_srq_depth;
	if (rdma_param_given(present, "no_srq"))
		r->no_srq = p.no_srq;
	if (rdma_param_given(present, "num_cqe"))
		r->num_cqe = p.num_cqe;
	if (rdma_param_given(present, "acceptor_backlog"))
		r->acceptor_backlog = p.acceptor_backlog;
	/* SPDK's default 0 is IB's "wait forever": it keeps our finite default. */
	if (rdma_param_given(present, "ack_timeout") && p.ack_timeout)
		r->ack_timeout = (uint8_t)p.ack_timeout;
	if (rdma_param_given(present, "retry_count"))
		r->retry_count = p.retry_count;
	if (rdma_param_given(present, "rnr_retry_count"))
		r->rnr_retry_count = p.rnr_retry_count;
	if (rdma_param_given(present, "max_read_depth"))
		r->max_read_depth = p.max_read_depth;
	if (rdma_param_given(present, "reclaim_timeout_ms"))
		r->reclaim_timeout_ms = p.reclaim_timeout_ms;
	if (rdma_param_given(present, "provider"))
		r->provider = strcmp(p.provider, "sim") == 0 ? "sim" : "verbs";
	opts->limits = limits;
	return 0;
}

void rdma_opts_dump(const struct unvmf_transport_opts *opts, json_t *j)
{
	const struct unvmf_rdma_opts *r = unvmf_rdma_opts_const(opts);

	json_object_set_new(j, "max_srq_depth", json_integer(r->max_srq_depth));
	json_object_set_new(j, "no_srq", json_boolean(r->no_srq));
	json_object_set_new(j, "num_cqe", json_integer(r->num_cqe));
	json_object_set_new(j, "acceptor_backlog", json_integer(r->acceptor_backlog));
	json_object_set_new(j, "ack_timeout", json_integer(r->ack_timeout));
	json_object_set_new(j, "retry_count", json_integer(r->retry_count));
	json_object_set_new(j, "rnr_retry_count", json_integer(r->rnr_retry_count));
	json_object_set_new(j, "max_read_depth", json_integer(r->max_read_depth));
	json_object_set_new(j, "reclaim_timeout_ms", json_integer(r->reclaim_timeout_ms));
	if (r->provider)
		json_object_set_new(j, "provider", json_string(r->provider));
	unvmf_qpair_limits_dump(&opts->limits, j);
}

void rdma_listener_discover(const struct unvmf_trid *trid, struct nvmf_discovery_log_entry *e)
{
	(void)trid;
	e->tsas.rdma.rdma_qptype = NVMF_RDMA_QPTYPE_RELIABLE_CONNECTED;
	e->tsas.rdma.rdma_prtype = NVMF_RDMA_PRTYPE_NONE;
	e->tsas.rdma.rdma_cms = NVMF_RDMA_CMS_RDMA_CM;
}
