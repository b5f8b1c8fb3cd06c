/*
 * SPDK's log_* methods on unvmf's log (util/log.h). unvmf writes one log,
 * to stderr, so SPDK's two thresholds (log level and print level) are one:
 * either setter changes it and both getters report it.
 */
#include "rpc/rpc.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>

struct log_params {
	const char *level;
	const char *flag;
	bool enabled;
};

static void rpc_log_set_level(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("level", UNVMF_RPC_STRING, true, struct log_params, level, 0, 16),
	};
	struct log_params p = {0};
	enum unvmf_log_level level;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (unvmf_log_level_parse(p.level, &level)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'level': '%s' (ERROR, WARNING, NOTICE, "
		                     "INFO or DEBUG)",
		                     p.level);
		return;
	}
	unvmf_log_set_level(level);
	LOG_NOTICE("rpc: log level set to %s", unvmf_log_level_name(level));
	unvmf_rpc_send_bool(req, true);
}

static void rpc_log_get_level(struct unvmf_rpc_request *req, json_t *params)
{
	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	unvmf_rpc_send_result(req, json_string(unvmf_log_level_name(unvmf_log_get_level())));
}

static void rpc_log_flag(struct unvmf_rpc_request *req, json_t *params, bool enable)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("flag", UNVMF_RPC_STRING, true, struct log_params, flag, 0, 64),
	};
	struct log_params p = {0};

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (unvmf_log_flag_set(p.flag, enable)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'flag': unknown flag '%s' (log_get_flags "
		                     "lists them)",
		                     p.flag);
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static void rpc_log_set_flag(struct unvmf_rpc_request *req, json_t *params)
{
	rpc_log_flag(req, params, true);
}

static void rpc_log_clear_flag(struct unvmf_rpc_request *req, json_t *params)
{
	rpc_log_flag(req, params, false);
}

static void rpc_log_get_flags(struct unvmf_rpc_request *req, json_t *params)
{
	json_t *flags;
	const char *name;
	bool on;

	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	flags = json_object();
	for (unsigned i = 0; flags && (name = unvmf_log_flag_name(i, &on)) != NULL; i++)
		json_object_set_new(flags, name, json_boolean(on));
	unvmf_rpc_send_result(req, flags);
}

static void rpc_log_enable_timestamps(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("enabled", UNVMF_RPC_BOOL, true, struct log_params, enabled, 0, 0),
	};
	struct log_params p = {0};

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	unvmf_log_set_timestamps(p.enabled);
	unvmf_rpc_send_bool(req, true);
}

static const struct unvmf_rpc_method g_log_methods[] = {
    {"log_set_level", rpc_log_set_level},
    {"log_get_level", rpc_log_get_level},
    {"log_set_print_level", rpc_log_set_level},
    {"log_get_print_level", rpc_log_get_level},
    {"log_set_flag", rpc_log_set_flag},
    {"log_clear_flag", rpc_log_clear_flag},
    {"log_get_flags", rpc_log_get_flags},
    {"log_enable_timestamps", rpc_log_enable_timestamps},
};

void unvmf_rpc_register_log_methods(void)
{
	unvmf_rpc_register_methods(g_log_methods, UNVMF_ARRAY_SIZE(g_log_methods));
}
