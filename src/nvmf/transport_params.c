/*
 * What every transport's options share: SPDK's common transport parameters
 * unvmf has no option for, and another transport's parameters. The decoder
 * itself is util/json_params.c.
 */
#include "nvmf/transport.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#define NO_VFIOUSER "a VFIOUSER option; unvmf has no vfio-user transport"

/*
 * SPDK's shared transport parameters with no unvmf option, and the
 * VFIOUSER ones rpc.py sends with every transport. The options unvmf has
 * (queue depths, sizes, buffers) are the RPC layer's common table.
 */
static const struct unvmf_json_param g_common_params[] = {
    UNVMF_JSON_PARAM_COMPAT("dif_insert_or_strip", BOOL, NEUTRAL, "false",
                            "protection information is not supported"),
    UNVMF_JSON_PARAM_COMPAT("zcopy", BOOL, NEUTRAL, "false",
                            "zero-copy bdev buffers are not supported"),
    UNVMF_JSON_PARAM_COMPAT("masked_oncs", STRING, NEUTRAL, "0|\"\"|[]",
                            "masking optional NVM commands is not supported"),
    UNVMF_JSON_PARAM_COMPAT("masked_fuses", STRING, NEUTRAL, "0|\"\"|[]",
                            "masking fused operations is not supported"),
    UNVMF_JSON_PARAM_COMPAT("acceptor_poll_rate", UINT, IGNORED, NULL,
                            "unvmf accepts on readiness, not by polling"),
    UNVMF_JSON_PARAM_COMPAT("data_wr_pool_size", UINT, IGNORED, NULL,
                            "unvmf sizes its own work requests"),
    UNVMF_JSON_PARAM_COMPAT("disable_command_passthru", BOOL, IGNORED, NULL,
                            "unvmf has no command passthru to disable"),
    UNVMF_JSON_PARAM_COMPAT("kas", UINT, IGNORED, NULL,
                            "unvmf reports its own keep-alive granularity"),
    UNVMF_JSON_PARAM_COMPAT("min_kato", UINT, IGNORED, NULL,
                            "unvmf uses the host's keep-alive timeout"),
    UNVMF_JSON_PARAM_COMPAT("iobuf_small_cache_size", UINT, IGNORED, NULL,
                            "unvmf's per-group cache is buf_cache_size"),
    UNVMF_JSON_PARAM_COMPAT("iobuf_large_cache_size", UINT, IGNORED, NULL,
                            "unvmf's per-group cache is buf_cache_size"),
    UNVMF_JSON_PARAM_COMPAT("disable_mappable_bar0", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_JSON_PARAM_COMPAT("disable_adaptive_irq", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_JSON_PARAM_COMPAT("disable_shadow_doorbells", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_JSON_PARAM_COMPAT("disable_compare", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_JSON_PARAM_COMPAT("enable_intr_mode_sq_spreading", BOOL, NEUTRAL, "false", NO_VFIOUSER),
};

const struct unvmf_json_param *unvmf_transport_common_param(const char *name)
{
	return unvmf_json_param_find(g_common_params, UNVMF_ARRAY_SIZE(g_common_params), name);
}

int unvmf_transport_param_accept_foreign(const struct unvmf_json_param *p, const char *owner,
                                         const json_t *v, char *err, size_t err_len)
{
	if (json_is_null(v) || unvmf_json_value_in(v, p->neutral)) {
		unvmf_json_param_log_once(p, UNVMF_TRANSPORT_PARAMS_METHOD, p->name,
		                          "another transport's default");
		return 0;
	}
	snprintf(err, err_len, "invalid parameter '%s': applies to %s only", p->name, owner);
	return -EINVAL;
}
