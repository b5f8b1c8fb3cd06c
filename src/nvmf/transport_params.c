/*
 * Table-driven decoding of a transport's own JSON parameters. The transports
 * cannot use the RPC layer's decoder (they sit below it), so this one speaks
 * the same messages for the types transport options use.
 */
#include "nvmf/transport.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct unvmf_transport_param *
unvmf_transport_param_find(const struct unvmf_transport_param *spec, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(spec[i].name, name) == 0)
			return &spec[i];
	}
	return NULL;
}

static const char *param_type_name(enum unvmf_transport_param_type type)
{
	switch (type) {
	case UNVMF_TRANSPORT_PARAM_UINT:
		return "an unsigned integer";
	case UNVMF_TRANSPORT_PARAM_INT:
		return "an integer";
	case UNVMF_TRANSPORT_PARAM_BOOL:
		return "a boolean";
	case UNVMF_TRANSPORT_PARAM_STRING:
		return "a string";
	}
	return "?";
}

static const char *json_kind_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

static int param_store_uint(const struct unvmf_transport_param *p, void *field, json_int_t i,
                            char *err, size_t err_len)
{
	uint64_t max = p->max ? p->max : (1ull << (p->size * 8)) - 1;

	if (i < 0 || (uint64_t)i < p->min || (uint64_t)i > max) {
		snprintf(err, err_len, "invalid parameter '%s': %lld is out of range [%llu, %llu]",
		         p->name, (long long)i, (unsigned long long)p->min,
		         (unsigned long long)max);
		return -EINVAL;
	}
	switch (p->size) {
	case 1:
		*(uint8_t *)field = (uint8_t)i;
		return 0;
	case 2:
		*(uint16_t *)field = (uint16_t)i;
		return 0;
	case 4:
		*(uint32_t *)field = (uint32_t)i;
		return 0;
	}
	snprintf(err, err_len, "parameter '%s': bad field size %zu", p->name, p->size);
	return -EINVAL;
}

static int param_decode_one(const struct unvmf_transport_param *p, const json_t *v, void *out,
                            char *err, size_t err_len)
{
	void *field = (char *)out + p->offset;

	switch (p->type) {
	case UNVMF_TRANSPORT_PARAM_UINT:
		if (!json_is_integer(v))
			break;
		return param_store_uint(p, field, json_integer_value(v), err, err_len);
	case UNVMF_TRANSPORT_PARAM_INT: {
		int64_t max = p->max ? (int64_t)p->max : INT32_MAX;
		json_int_t i;

		if (!json_is_integer(v))
			break;
		i = json_integer_value(v);
		if (i < -max || i > max) {
			snprintf(err, err_len, "invalid parameter '%s': %lld is out of range",
			         p->name, (long long)i);
			return -EINVAL;
		}
		*(int32_t *)field = (int32_t)i;
		return 0;
	}
	case UNVMF_TRANSPORT_PARAM_BOOL:
		if (!json_is_boolean(v))
			break;
		*(bool *)field = json_is_true(v);
		return 0;
	case UNVMF_TRANSPORT_PARAM_STRING:
		if (!json_is_string(v))
			break;
		if (p->max && json_string_length(v) > p->max) {
			snprintf(err, err_len, "invalid parameter '%s': longer than %lu characters",
			         p->name, (unsigned long)p->max);
			return -EINVAL;
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, err_len, "invalid parameter '%s': contains a NUL character",
			         p->name);
			return -EINVAL;
		}
		*(const char **)field = json_string_value(v);
		return 0;
	}
	snprintf(err, err_len, "invalid parameter '%s': expected %s, got %s", p->name,
	         param_type_name(p->type), json_kind_name(v));
	return -EINVAL;
}

int unvmf_transport_params_decode(const json_t *params, const struct unvmf_transport_param *spec,
                                  size_t count, void *out, uint64_t *present, char *err,
                                  size_t err_len)
{
	uint64_t found = 0;
	const char *key;
	json_t *v;

	if (count > 64) {
		snprintf(err, err_len, "too many transport parameters (%zu)", count);
		return -EINVAL;
	}
	if (params && !json_is_object(params)) {
		snprintf(err, err_len, "params must be an object, got %s", json_kind_name(params));
		return -EINVAL;
	}
	json_object_foreach((json_t *)params, key, v)
	{
		const struct unvmf_transport_param *p =
		    unvmf_transport_param_find(spec, count, key);

		if (!p) {
			snprintf(err, err_len, "unknown parameter '%s'", key);
			return -EINVAL;
		}
		if (json_is_null(v))
			continue;
		if (p->kind != UNVMF_TRANSPORT_PARAM_OPTION) {
			if (unvmf_transport_param_accept(p, v, err, err_len))
				return -EINVAL;
			continue;
		}
		if (param_decode_one(p, v, out, err, err_len))
			return -EINVAL;
		found |= 1ull << (p - spec);
	}
	if (present)
		*present = found;
	return 0;
}

#define NO_VFIOUSER "a VFIOUSER option; unvmf has no vfio-user transport"

/*
 * SPDK's shared transport parameters with no unvmf option, and the
 * VFIOUSER ones rpc.py sends with every transport. The options unvmf has
 * (queue depths, sizes, buffers) are the RPC layer's common table.
 */
static const struct unvmf_transport_param g_common_params[] = {
    UNVMF_TRANSPORT_PARAM_COMPAT("dif_insert_or_strip", BOOL, NEUTRAL, "false",
                                 "protection information is not supported"),
    UNVMF_TRANSPORT_PARAM_COMPAT("zcopy", BOOL, NEUTRAL, "false",
                                 "zero-copy bdev buffers are not supported"),
    UNVMF_TRANSPORT_PARAM_COMPAT("masked_oncs", STRING, NEUTRAL, "0|\"\"|[]",
                                 "masking optional NVM commands is not supported"),
    UNVMF_TRANSPORT_PARAM_COMPAT("masked_fuses", STRING, NEUTRAL, "0|\"\"|[]",
                                 "masking fused operations is not supported"),
    UNVMF_TRANSPORT_PARAM_COMPAT("acceptor_poll_rate", UINT, IGNORED, NULL,
                                 "unvmf accepts on readiness, not by polling"),
    UNVMF_TRANSPORT_PARAM_COMPAT("data_wr_pool_size", UINT, IGNORED, NULL,
                                 "unvmf sizes its own work requests"),
    UNVMF_TRANSPORT_PARAM_COMPAT("disable_command_passthru", BOOL, IGNORED, NULL,
                                 "unvmf has no command passthru to disable"),
    UNVMF_TRANSPORT_PARAM_COMPAT("kas", UINT, IGNORED, NULL,
                                 "unvmf reports its own keep-alive granularity"),
    UNVMF_TRANSPORT_PARAM_COMPAT("min_kato", UINT, IGNORED, NULL,
                                 "unvmf uses the host's keep-alive timeout"),
    UNVMF_TRANSPORT_PARAM_COMPAT("iobuf_small_cache_size", UINT, IGNORED, NULL,
                                 "unvmf's per-group cache is buf_cache_size"),
    UNVMF_TRANSPORT_PARAM_COMPAT("iobuf_large_cache_size", UINT, IGNORED, NULL,
                                 "unvmf's per-group cache is buf_cache_size"),
    UNVMF_TRANSPORT_PARAM_COMPAT("disable_mappable_bar0", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_TRANSPORT_PARAM_COMPAT("disable_adaptive_irq", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_TRANSPORT_PARAM_COMPAT("disable_shadow_doorbells", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_TRANSPORT_PARAM_COMPAT("disable_compare", BOOL, NEUTRAL, "false", NO_VFIOUSER),
    UNVMF_TRANSPORT_PARAM_COMPAT("enable_intr_mode_sq_spreading", BOOL, NEUTRAL, "false",
                                 NO_VFIOUSER),
};

const struct unvmf_transport_param *unvmf_transport_common_param(const char *name)
{
	return unvmf_transport_param_find(g_common_params, UNVMF_ARRAY_SIZE(g_common_params), name);
}

static bool param_value_neutral(const struct unvmf_transport_param *p, const json_t *v)
{
	char buf[64];

	for (const char *s = p->neutral; s && *s;) {
		const char *bar = strchr(s, '|');
		size_t len = bar ? (size_t)(bar - s) : strlen(s);
		json_t *n;
		bool eq;

		snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
		n = json_loads(buf, JSON_DECODE_ANY, NULL);
		eq = n && json_equal(n, v);
		json_decref(n);
		if (eq)
			return true;
		s = bar ? bar + 1 : NULL;
	}
	return false;
}

/*
 * Entries already logged: the tables are const, so the once-only log keeps
 * its own list. Reactor 0 only (the RPC layer and config loading).
 */
static const struct unvmf_transport_param *g_logged[64];
static unsigned g_num_logged;

static void param_log_once(const struct unvmf_transport_param *p, const char *what)
{
	for (unsigned i = 0; i < g_num_logged; i++) {
		if (g_logged[i] == p)
			return;
	}
	if (g_num_logged < UNVMF_ARRAY_SIZE(g_logged))
		g_logged[g_num_logged++] = p;
	LOG_INFO("nvmf_create_transport: accepting SPDK parameter '%s' with no effect (%s)",
	         p->name, what);
}

int unvmf_transport_param_accept(const struct unvmf_transport_param *p, const json_t *v, char *err,
                                 size_t err_len)
{
	if (p->kind == UNVMF_TRANSPORT_PARAM_NEUTRAL) {
		if (!param_value_neutral(p, v)) {
			char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			snprintf(err, err_len,
			         "invalid parameter '%s': %s is not supported (%s); unvmf accepts "
			         "only %s",
			         p->name, text ? text : "this value", p->why, p->neutral);
			free(text);
			return -EINVAL;
		}
	} else {
		struct {
			uint64_t scratch;
		} field;
		struct unvmf_transport_param typed = *p;

		/* Any value, but of the parameter's type and range. */
		typed.offset = 0;
		typed.size = p->type == UNVMF_TRANSPORT_PARAM_UINT ? 4 : sizeof(field.scratch);
		if (param_decode_one(&typed, v, &field, err, err_len))
			return -EINVAL;
	}
	param_log_once(p, p->why ? p->why : "no such option in unvmf");
	return 0;
}

int unvmf_transport_param_accept_foreign(const struct unvmf_transport_param *p, const char *owner,
                                         const json_t *v, char *err, size_t err_len)
{
	if (json_is_null(v) || param_value_neutral(p, v)) {
		param_log_once(p, "another transport's default");
		return 0;
	}
	snprintf(err, err_len, "invalid parameter '%s': applies to %s only", p->name, owner);
	return -EINVAL;
}
