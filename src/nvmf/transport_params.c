/*
 * What every transport's options share: SPDK's common transport parameters
 * unvmf has no option for, another transport's parameters, and the checks of
 * the common options. The decoder itself is util/json_params.c.
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

int unvmf_transport_opts_check_common(const struct unvmf_transport_opts *o, const char *name)
{
	if (o->max_queue_depth < 2 || o->max_queue_depth > 65535 || o->max_aq_depth < 2 ||
	    o->max_aq_depth > 65535) {
		LOG_ERR("%s: queue depths must be 2..65535", name);
		return -EINVAL;
	}
	if (o->io_unit_size < 512 || o->max_io_size < o->io_unit_size ||
	    UNVMF_DIV_ROUND_UP(o->max_io_size, o->io_unit_size) > UNVMF_MAX_IOV) {
		LOG_ERR("%s: max_io_size %u needs at most %u buffers of io_unit_size %u", name,
		        o->max_io_size, UNVMF_MAX_IOV, o->io_unit_size);
		return -EINVAL;
	}
	/* One request must fit, or it would wait for buffers forever. */
	if (o->num_shared_buffers < UNVMF_DIV_ROUND_UP(o->max_io_size, o->io_unit_size)) {
		LOG_ERR("%s: num_shared_buffers %u cannot hold one max_io_size transfer", name,
		        o->num_shared_buffers);
		return -EINVAL;
	}
	/* IOCCSZ counts 16-byte units. */
	if (o->in_capsule_data_size % 16 || o->in_capsule_data_size > 1024 * 1024) {
		LOG_ERR("%s: in_capsule_data_size must be a multiple of 16, at most 1 MiB", name);
		return -EINVAL;
	}
	return 0;
}
