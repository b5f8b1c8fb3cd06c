/* nvmf_create_transport and nvmf_get_transports. */
#include "rpc/rpc.h"
#include "nvmf/nvmf.h"
#include "nvmf/nvmf_internal.h"
#include "nvmf/transport.h"
#include "util/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct transport_params {
	const char *trtype;
	const char *tgt_name;
	uint32_t max_queue_depth;
	uint32_t max_aq_depth;
	uint32_t max_io_qpairs_per_ctrlr;
	uint32_t max_qpairs_per_ctrlr; /* SPDK's older name: I/O queues + 1 */
	uint32_t in_capsule_data_size;
	uint32_t max_io_size;
	uint32_t io_unit_size;
	uint32_t num_shared_buffers;
	uint32_t buf_cache_size;
	uint32_t abort_timeout_sec;
	bool dif_insert_or_strip;
	bool zcopy;
	/* TCP */
	bool c2h_success;
	uint32_t sock_priority;
	/* RDMA */
	uint32_t max_srq_depth;
	bool no_srq;
	uint32_t num_cqe;
	int32_t acceptor_backlog;
	uint32_t ack_timeout;
	uint8_t retry_count;
	uint8_t rnr_retry_count;
	uint32_t max_read_depth;
	const char *provider;
};

#define TP(name, type, min, max)                                                                   \
	{                                                                                          \
#name, type, false, UNVMF_RPC_FIELD(struct transport_params, name), min, max       \
	}

enum { TP_GENERIC, TP_TCP, TP_RDMA };

static const struct unvmf_rpc_param g_transport_spec[] = {
    {"trtype", UNVMF_RPC_STRING, true, UNVMF_RPC_FIELD(struct transport_params, trtype), 0, 16},
    TP(tgt_name, UNVMF_RPC_STRING, 0, 0),
    TP(max_queue_depth, UNVMF_RPC_UINT, 2, 65535),
    TP(max_aq_depth, UNVMF_RPC_UINT, 2, 4096),
    TP(max_io_qpairs_per_ctrlr, UNVMF_RPC_UINT, 1, 65535),
    TP(max_qpairs_per_ctrlr, UNVMF_RPC_UINT, 2, 65536),
    TP(in_capsule_data_size, UNVMF_RPC_UINT, 0, 1u << 20),
    TP(max_io_size, UNVMF_RPC_UINT, 512, 1u << 24),
    TP(io_unit_size, UNVMF_RPC_UINT, 512, 1u << 24),
    TP(num_shared_buffers, UNVMF_RPC_UINT, 1, 1u << 20),
    TP(buf_cache_size, UNVMF_RPC_UINT, 0, 0), /* SPDK writes UINT32_MAX for "automatic" */
    TP(abort_timeout_sec, UNVMF_RPC_UINT, 0, 3600),
    TP(dif_insert_or_strip, UNVMF_RPC_BOOL, 0, 0),
    TP(zcopy, UNVMF_RPC_BOOL, 0, 0),
    TP(c2h_success, UNVMF_RPC_BOOL, 0, 0),
    TP(sock_priority, UNVMF_RPC_UINT, 0, 6),
    TP(max_srq_depth, UNVMF_RPC_UINT, 1, 65535),
    TP(no_srq, UNVMF_RPC_BOOL, 0, 0),
    TP(num_cqe, UNVMF_RPC_UINT, 1, 1u << 22),
    TP(acceptor_backlog, UNVMF_RPC_INT, 0, 65535),
    TP(ack_timeout, UNVMF_RPC_UINT, 0, 0), /* TCP: ms; RDMA: 0..31 exponent */
    TP(retry_count, UNVMF_RPC_UINT, 0, 7),
    TP(rnr_retry_count, UNVMF_RPC_UINT, 0, 7),
    TP(max_read_depth, UNVMF_RPC_UINT, 1, 256),
    TP(provider, UNVMF_RPC_STRING, 0, 16),
};

/* Which transport each option belongs to, in g_transport_spec order. */
static const unsigned char g_transport_scope[] = {
    TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC,
    TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC, TP_GENERIC,
    TP_TCP,     TP_TCP,     TP_RDMA,    TP_RDMA,    TP_RDMA,    TP_RDMA,    TP_GENERIC,
    TP_RDMA,    TP_RDMA,    TP_RDMA,    TP_RDMA,
};
_Static_assert(sizeof(g_transport_scope) == UNVMF_ARRAY_SIZE(g_transport_spec),
               "one scope per transport option");

static bool has(uint64_t present, const char *name)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_transport_spec); i++) {
		if (strcmp(g_transport_spec[i].name, name) == 0)
			return present & (1ull << i);
	}
	return false;
}

#define APPLY(field)                                                                               \
	do {                                                                                       \
		if (has(present, #field))                                                          \
			opts->field = p->field;                                                    \
	} while (0)
#define APPLY_TO(sub, field)                                                                       \
	do {                                                                                       \
		if (has(present, #field))                                                          \
			opts->sub.field = p->field;                                                \
	} while (0)

static void transport_apply(struct unvmf_transport_opts *opts, const struct transport_params *p,
                            uint64_t present)
{
	APPLY(max_queue_depth);
	APPLY(max_aq_depth);
	if (has(present, "max_qpairs_per_ctrlr"))
		opts->max_io_qpairs_per_ctrlr = p->max_qpairs_per_ctrlr - 1;
	APPLY(max_io_qpairs_per_ctrlr);
	APPLY(in_capsule_data_size);
	APPLY(max_io_size);
	APPLY(io_unit_size);
	APPLY(num_shared_buffers);
	/* SPDK's UINT32_MAX means "let the transport choose": our default. */
	if (has(present, "buf_cache_size") && p->buf_cache_size != UINT32_MAX)
		opts->buf_cache_size = p->buf_cache_size;
	APPLY(abort_timeout_sec);
	APPLY_TO(tcp, c2h_success);
	APPLY_TO(tcp, sock_priority);
	APPLY_TO(rdma, max_srq_depth);
	APPLY_TO(rdma, no_srq);
	APPLY_TO(rdma, num_cqe);
	APPLY_TO(rdma, acceptor_backlog);
	/*
	 * Both transports take SPDK's ack_timeout. TCP: milliseconds. RDMA: the
	 * IB exponent; 0 (SPDK's default, IB's "wait forever") keeps ours.
	 */
	if (has(present, "ack_timeout") && opts->trtype == NVMF_TRTYPE_TCP)
		opts->tcp.ack_timeout_ms = p->ack_timeout;
	if (has(present, "ack_timeout") && opts->trtype == NVMF_TRTYPE_RDMA && p->ack_timeout)
		opts->rdma.ack_timeout = (uint8_t)p->ack_timeout;
	APPLY_TO(rdma, retry_count);
	APPLY_TO(rdma, rnr_retry_count);
	APPLY_TO(rdma, max_read_depth);
	if (has(present, "provider"))
		opts->rdma.provider = strcmp(p->provider, "sim") == 0 ? "sim" : "verbs";
}

static void create_transport_done(void *arg, int rc)
{
	struct unvmf_rpc_request *req = arg;

	if (rc)
		unvmf_rpc_send_error(req, rc, "cannot create the transport: %s", strerror(-rc));
	else
		unvmf_rpc_send_bool(req, true);
}

static void rpc_nvmf_create_transport(struct unvmf_rpc_request *req, json_t *params)
{
	struct transport_params p = {0};
	const struct unvmf_transport_ops *ops;
	struct unvmf_transport_opts opts;
	enum nvmf_trtype trtype;
	uint64_t present;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, g_transport_spec,
	                              UNVMF_ARRAY_SIZE(g_transport_spec), &p, &present))
		return;
	if (unvmf_trtype_parse(p.trtype, &trtype)) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "invalid parameter 'trtype': unknown transport '%s' (TCP or RDMA)", p.trtype);
		return;
	}
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_transport_spec); i++) {
		unsigned scope = g_transport_scope[i];

		if (!(present & (1ull << i)) || scope == TP_GENERIC)
			continue;
		if ((scope == TP_TCP) != (trtype == NVMF_TRTYPE_TCP)) {
			unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
			                     "invalid parameter '%s': applies to %s only",
			                     g_transport_spec[i].name,
			                     scope == TP_TCP ? "TCP" : "RDMA");
			return;
		}
	}
	if (has(present, "buf_cache_size") && p.buf_cache_size != UINT32_MAX &&
	    p.buf_cache_size > (1u << 20)) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "invalid parameter 'buf_cache_size': %u is out of range [0, %u] "
		    "(or 4294967295 for the default)",
		    p.buf_cache_size, 1u << 20);
		return;
	}
	if (has(present, "ack_timeout") &&
	    (trtype == NVMF_TRTYPE_RDMA ? p.ack_timeout > 31 : p.ack_timeout > 3600000)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'ack_timeout': %u is out of range [0, %u]",
		                     p.ack_timeout, trtype == NVMF_TRTYPE_RDMA ? 31u : 3600000u);
		return;
	}
	if (p.dif_insert_or_strip || p.zcopy) {
		unvmf_rpc_send_error(req, -EOPNOTSUPP, "%s is not supported",
		                     p.zcopy ? "zcopy" : "dif_insert_or_strip");
		return;
	}
	if (has(present, "provider") && strcmp(p.provider, "verbs") != 0 &&
	    strcmp(p.provider, "sim") != 0) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'provider': '%s' (verbs or sim)",
		                     p.provider);
		return;
	}
	ops = unvmf_transport_ops_find(trtype);
	if (!ops) {
		unvmf_rpc_send_error(req, -EPROTONOSUPPORT,
		                     "transport %s is not available in this build",
		                     unvmf_trtype_str(trtype));
		return;
	}
	if (unvmf_tgt_find_transport(trtype)) {
		unvmf_rpc_send_error(req, -EEXIST, "transport %s already exists",
		                     unvmf_trtype_str(trtype));
		return;
	}
	memset(&opts, 0, sizeof(opts));
	ops->opts_init(&opts);
	opts.trtype = trtype;
	transport_apply(&opts, &p, present);
	if (opts.io_unit_size > opts.max_io_size) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameters: io_unit_size %u is above max_io_size %u",
		                     opts.io_unit_size, opts.max_io_size);
		return;
	}
	rc = unvmf_tgt_add_transport(&opts, create_transport_done, req);
	if (rc)
		unvmf_rpc_send_error(req, rc, "cannot create transport %s: %s",
		                     unvmf_trtype_str(trtype), strerror(-rc));
}

json_t *unvmf_rpc_transport_json(const struct unvmf_transport *t)
{
	const struct unvmf_transport_opts *o = &t->opts;
	json_t *j = json_pack(
	    "{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "trtype",
	    unvmf_trtype_str(t->ops->trtype), "max_queue_depth", (int)o->max_queue_depth,
	    "max_aq_depth", (int)o->max_aq_depth, "max_io_qpairs_per_ctrlr",
	    (int)o->max_io_qpairs_per_ctrlr, "in_capsule_data_size", (int)o->in_capsule_data_size,
	    "max_io_size", (int)o->max_io_size, "io_unit_size", (int)o->io_unit_size,
	    "num_shared_buffers", (int)o->num_shared_buffers, "buf_cache_size",
	    (int)o->buf_cache_size, "abort_timeout_sec", (int)o->abort_timeout_sec);

	if (!j)
		return NULL;
	if (t->ops->trtype == NVMF_TRTYPE_TCP) {
		json_object_set_new(j, "c2h_success", json_boolean(o->tcp.c2h_success));
		json_object_set_new(j, "sock_priority", json_integer(o->tcp.sock_priority));
		json_object_set_new(j, "ack_timeout", json_integer(o->tcp.ack_timeout_ms));
	} else if (t->ops->trtype == NVMF_TRTYPE_RDMA) {
		json_object_set_new(j, "max_srq_depth", json_integer(o->rdma.max_srq_depth));
		json_object_set_new(j, "no_srq", json_boolean(o->rdma.no_srq));
		json_object_set_new(j, "num_cqe", json_integer(o->rdma.num_cqe));
		json_object_set_new(j, "acceptor_backlog", json_integer(o->rdma.acceptor_backlog));
		json_object_set_new(j, "ack_timeout", json_integer(o->rdma.ack_timeout));
		json_object_set_new(j, "retry_count", json_integer(o->rdma.retry_count));
		json_object_set_new(j, "rnr_retry_count", json_integer(o->rdma.rnr_retry_count));
		json_object_set_new(j, "max_read_depth", json_integer(o->rdma.max_read_depth));
		if (o->rdma.provider)
			json_object_set_new(j, "provider", json_string(o->rdma.provider));
	}
	return j;
}

struct get_transports_params {
	const char *trtype;
	const char *tgt_name;
};

static void rpc_nvmf_get_transports(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    {"trtype", UNVMF_RPC_STRING, false,
	     UNVMF_RPC_FIELD(struct get_transports_params, trtype), 0, 16},
	    {"tgt_name", UNVMF_RPC_STRING, false,
	     UNVMF_RPC_FIELD(struct get_transports_params, tgt_name), 0, 0},
	};
	struct get_transports_params p = {0};
	enum nvmf_trtype trtype = 0;
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (p.trtype && unvmf_trtype_parse(p.trtype, &trtype)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'trtype': unknown transport '%s'",
		                     p.trtype);
		return;
	}
	if (p.trtype && !unvmf_tgt_find_transport(trtype)) {
		unvmf_rpc_send_error(req, -ENODEV, "transport %s does not exist",
		                     unvmf_trtype_str(trtype));
		return;
	}
	list = json_array();
	for (unsigned i = 0; list && i < g_tgt.num_transports; i++) {
		if (!p.trtype || g_tgt.transports[i]->ops->trtype == trtype)
			json_array_append_new(list, unvmf_rpc_transport_json(g_tgt.transports[i]));
	}
	unvmf_rpc_send_result(req, list);
}

static const struct unvmf_rpc_method g_transport_methods[] = {
    {"nvmf_create_transport", rpc_nvmf_create_transport},
    {"nvmf_get_transports", rpc_nvmf_get_transports},
};

void unvmf_rpc_register_nvmf_transport_methods(void)
{
	unvmf_rpc_register_methods(g_transport_methods, UNVMF_ARRAY_SIZE(g_transport_methods));
}
