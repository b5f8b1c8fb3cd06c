/* nvmf_create_transport and nvmf_get_transports. */
#include "rpc/rpc.h"
#include "nvmf/nvmf.h"
#include "nvmf/transport.h"
#include "util/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The options every transport shares; the rest go to the transport's own decoder. */
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
};

#define TP(name, type, min, max)                                                                   \
	UNVMF_RPC_ROW(#name, type, false, struct transport_params, name, min, max)

static const struct unvmf_rpc_param g_transport_spec[] = {
    UNVMF_RPC_ROW("trtype", UNVMF_RPC_STRING, true, struct transport_params, trtype, 0, 16),
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
};

static bool common_param(const char *name)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_transport_spec); i++) {
		if (strcmp(g_transport_spec[i].name, name) == 0)
			return true;
	}
	return false;
}

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
}

/* "TCP or RDMA": the registered transports, for messages. */
static void transport_names(char *buf, size_t len)
{
	const struct unvmf_transport_ops *ops;
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; (ops = unvmf_transport_ops_get(i)) && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " or " : "", ops->name);
}

/* The registered transport other than ops whose own parameter name is, and its entry. */
static const struct unvmf_transport_ops *param_owner(const struct unvmf_transport_ops *ops,
                                                     const char *name,
                                                     const struct unvmf_json_param **param)
{
	const struct unvmf_transport_ops *o;

	for (unsigned i = 0; (o = unvmf_transport_ops_get(i)); i++) {
		if (o != ops && o->opts_accepts && (*param = o->opts_accepts(name)) != NULL)
			return o;
	}
	return NULL;
}

/*
 * Splits params: the common options go to *common, the transport's own to
 * *specific for its decoder. SPDK's shared parameters unvmf has no option
 * for are checked by the core's table, and another transport's parameter is
 * accepted only with a neutral value (rpc.py sends every transport's
 * defaults), else refused naming the transport it belongs to. 0 or -EINVAL
 * with err.
 */
static int transport_params_split(const struct unvmf_transport_ops *ops, json_t *params,
                                  json_t **common, json_t **specific, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	*common = json_object();
	*specific = json_object();
	if (!*common || !*specific) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_object_foreach(params, key, v)
	{
		const struct unvmf_transport_ops *owner;
		const struct unvmf_json_param *param;

		if (common_param(key)) {
			json_object_set(*common, key, v);
			continue;
		}
		if (ops->opts_accepts && ops->opts_accepts(key)) {
			json_object_set(*specific, key, v);
			continue;
		}
		param = unvmf_transport_common_param(key);
		if (param) {
			if (!json_is_null(v) &&
			    unvmf_json_param_accept(param, UNVMF_TRANSPORT_PARAMS_METHOD, v, err,
			                            errlen))
				return -EINVAL;
			continue;
		}
		owner = param_owner(ops, key, &param);
		if (owner) {
			if (unvmf_transport_param_accept_foreign(param, owner->name, v, err,
			                                         errlen))
				return -EINVAL;
			continue;
		}
		snprintf(err, errlen, "unknown parameter '%s'", key);
		return -EINVAL;
	}
	return 0;
}

static void create_transport_done(void *arg, int rc)
{
	struct unvmf_rpc_request *req = arg;

	if (rc)
		unvmf_rpc_send_error(req, rc, "cannot create the transport: %s", strerror(-rc));
	else
		unvmf_rpc_send_bool(req, true);
}

/*
 * Checks and applies the common parameters onto opts (already at the
 * transport's defaults). Replies and returns non-zero on a refusal.
 */
static int create_transport_common(struct unvmf_rpc_request *req, json_t *common,
                                   struct unvmf_transport_opts *opts)
{
	struct transport_params p = {0};
	uint64_t present;

	if (unvmf_rpc_decode_or_reply(req, common, g_transport_spec,
	                              UNVMF_ARRAY_SIZE(g_transport_spec), &p, &present))
		return -EINVAL;
	if (has(present, "buf_cache_size") && p.buf_cache_size != UINT32_MAX &&
	    p.buf_cache_size > (1u << 20)) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "invalid parameter 'buf_cache_size': %u is out of range [0, %u] "
		    "(or 4294967295 for the default)",
		    p.buf_cache_size, 1u << 20);
		return -EINVAL;
	}
	transport_apply(opts, &p, present);
	return 0;
}

static void rpc_nvmf_create_transport(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param trtype_spec[] = {
	    UNVMF_RPC_ROW("trtype", UNVMF_RPC_STRING, true, struct transport_params, trtype, 0, 16),
	};
	struct transport_params p = {0};
	const struct unvmf_transport_ops *ops;
	struct unvmf_transport_opts opts;
	json_t *common = NULL, *specific = NULL, *only_trtype;
	char err[256], names[64];
	int rc;

	if (params && !json_is_object(params)) {
		unvmf_rpc_decode_or_reply(req, params, trtype_spec, 1, &p, NULL);
		return;
	}
	/* trtype alone first: it says whose parameters the others are. */
	only_trtype = json_pack("{s:O?}", "trtype", json_object_get(params, "trtype"));
	rc = unvmf_rpc_decode_or_reply(req, only_trtype, trtype_spec, 1, &p, NULL);
	/* p.trtype stays valid: params holds the same string. */
	json_decref(only_trtype);
	if (rc)
		return;
	ops = unvmf_transport_ops_find_by_name(p.trtype);
	if (!ops) {
		transport_names(names, sizeof(names));
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'trtype': unknown transport '%s' (%s)",
		                     p.trtype, names);
		return;
	}
	memset(&opts, 0, sizeof(opts));
	ops->opts_init(&opts);
	opts.trtype = ops->trtype;
	rc = transport_params_split(ops, params, &common, &specific, err, sizeof(err));
	if (rc) {
		unvmf_rpc_send_error(req, rc == -EINVAL ? UNVMF_RPC_INVALID_PARAMS : rc, "%s", err);
		goto out_decref;
	}
	if (create_transport_common(req, common, &opts))
		goto out_decref;
	if (json_object_size(specific)) {
		rc = ops->opts_decode ? ops->opts_decode(&opts, specific, err, sizeof(err))
		                      : -EINVAL;
		if (rc) {
			unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "%s", err);
			goto out_decref;
		}
	}
	if (unvmf_tgt_find_transport(ops->trtype)) {
		unvmf_rpc_send_error(req, -EEXIST, "transport %s already exists", ops->name);
		goto out_decref;
	}
	if (opts.io_unit_size > opts.max_io_size) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameters: io_unit_size %u is above max_io_size %u",
		                     opts.io_unit_size, opts.max_io_size);
		goto out_decref;
	}
	rc = unvmf_tgt_add_transport(&opts, create_transport_done, req);
	if (rc)
		unvmf_rpc_send_error(req, rc, "cannot create transport %s: %s", ops->name,
		                     strerror(-rc));
out_decref:
	json_decref(common);
	json_decref(specific);
}

json_t *unvmf_rpc_transport_json(const struct unvmf_transport *t)
{
	const struct unvmf_transport_opts *o = &t->opts;
	json_t *j = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "trtype",
	                      t->ops->name, "max_queue_depth", (int)o->max_queue_depth,
	                      "max_aq_depth", (int)o->max_aq_depth, "max_io_qpairs_per_ctrlr",
	                      (int)o->max_io_qpairs_per_ctrlr, "in_capsule_data_size",
	                      (int)o->in_capsule_data_size, "max_io_size", (int)o->max_io_size,
	                      "io_unit_size", (int)o->io_unit_size, "num_shared_buffers",
	                      (int)o->num_shared_buffers, "buf_cache_size", (int)o->buf_cache_size,
	                      "abort_timeout_sec", (int)o->abort_timeout_sec);

	if (j && t->ops->opts_dump)
		t->ops->opts_dump(o, j);
	return j;
}

struct get_transports_params {
	const char *trtype;
	const char *tgt_name;
};

static void rpc_nvmf_get_transports(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("trtype", UNVMF_RPC_STRING, false, struct get_transports_params, trtype,
	                  0, 16),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct get_transports_params,
	                  tgt_name, 0, 0),
	};
	struct get_transports_params p = {0};
	const struct unvmf_transport_ops *ops = NULL;
	struct unvmf_transport *t;
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (p.trtype) {
		ops = unvmf_transport_ops_find_by_name(p.trtype);
		if (!ops) {
			unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
			                     "invalid parameter 'trtype': unknown transport '%s'",
			                     p.trtype);
			return;
		}
		if (!unvmf_tgt_find_transport(ops->trtype)) {
			unvmf_rpc_send_error(req, -ENODEV, "transport %s does not exist",
			                     ops->name);
			return;
		}
	}
	list = json_array();
	for (unsigned i = 0; list && (t = unvmf_tgt_transport_get(i)); i++) {
		if (!ops || t->ops == ops)
			json_array_append_new(list, unvmf_rpc_transport_json(t));
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
