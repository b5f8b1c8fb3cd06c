/*
 * Declarative decoding of named parameters: every caller lists what it
 * takes, and one function checks presence, type and range before the caller
 * changes anything, naming the parameter in the error.
 */
#include "util/json_params.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct unvmf_json_param *unvmf_json_param_find(const struct unvmf_json_param *spec,
                                                     size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(spec[i].name, name) == 0)
			return &spec[i];
	}
	return NULL;
}

const char *unvmf_json_type_name(const json_t *v)
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

static const char *param_type_name(enum unvmf_json_type type)
{
	switch (type) {
	case UNVMF_JSON_STRING:
		return "a string";
	case UNVMF_JSON_BOOL:
		return "a boolean";
	case UNVMF_JSON_UINT:
		return "an unsigned integer";
	case UNVMF_JSON_INT:
		return "an integer";
	case UNVMF_JSON_OBJECT:
		return "an object";
	}
	return "?";
}

static uint64_t param_field_max(size_t size)
{
	return size >= 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

static void param_store_uint(void *field, size_t size, uint64_t v)
{
	switch (size) {
	case 1:
		*(uint8_t *)field = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)field = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)field = (uint32_t)v;
		break;
	default:
		*(uint64_t *)field = v;
		break;
	}
}

static int param_decode_one(const struct unvmf_json_param *p, const json_t *v, void *out, char *err,
                            size_t errlen)
{
	void *field = (char *)out + p->offset;

	switch (p->type) {
	case UNVMF_JSON_STRING:
		if (!json_is_string(v))
			goto wrong_type;
		if (p->max && json_string_length(v) > p->max) {
			snprintf(err, errlen, "invalid parameter '%s': longer than %lu characters",
			         p->name, (unsigned long)p->max);
			return -EINVAL;
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, errlen, "invalid parameter '%s': contains a NUL character",
			         p->name);
			return -EINVAL;
		}
		*(const char **)field = json_string_value(v);
		return 0;
	case UNVMF_JSON_BOOL:
		if (!json_is_boolean(v))
			goto wrong_type;
		*(bool *)field = json_is_true(v);
		return 0;
	case UNVMF_JSON_UINT: {
		uint64_t max = p->max ? p->max : param_field_max(p->size);
		json_int_t i;

		if (!json_is_integer(v))
			goto wrong_type;
		i = json_integer_value(v);
		if (i < 0 || (uint64_t)i < p->min || (uint64_t)i > max) {
			snprintf(err, errlen,
			         "invalid parameter '%s': %lld is out of range [%llu, %llu]",
			         p->name, (long long)i, (unsigned long long)p->min,
			         (unsigned long long)max);
			return -EINVAL;
		}
		param_store_uint(field, p->size, (uint64_t)i);
		return 0;
	}
	case UNVMF_JSON_INT: {
		int64_t max = p->max ? (int64_t)p->max : INT32_MAX;
		json_int_t i;

		if (!json_is_integer(v))
			goto wrong_type;
		i = json_integer_value(v);
		if (i < -max || i > max) {
			snprintf(err, errlen, "invalid parameter '%s': %lld is out of range",
			         p->name, (long long)i);
			return -EINVAL;
		}
		*(int32_t *)field = (int32_t)i;
		return 0;
	}
	case UNVMF_JSON_OBJECT:
		if (!json_is_object(v))
			goto wrong_type;
		*(const json_t **)field = v;
		return 0;
	}
	snprintf(err, errlen, "parameter '%s': bad decoder type", p->name);
	return -EINVAL;

wrong_type:
	snprintf(err, errlen, "invalid parameter '%s': expected %s, got %s", p->name,
	         param_type_name(p->type), unvmf_json_type_name(v));
	return -EINVAL;
}

int unvmf_json_params_decode(const char *method, const json_t *params,
                             const struct unvmf_json_param *spec, size_t count, void *out,
                             uint64_t *present, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	uint64_t found = 0;

	if (count > 64) {
		snprintf(err, errlen, "too many parameters in one table (%zu)", count);
		return -EINVAL;
	}
	if (params && !json_is_object(params)) {
		snprintf(err, errlen, "params must be an object, got %s",
		         unvmf_json_type_name(params));
		return -EINVAL;
	}
	if (params) {
		json_object_foreach((json_t *)params, key, v)
		{
			if (!unvmf_json_param_find(spec, count, key)) {
				snprintf(err, errlen, "unknown parameter '%s'", key);
				return -EINVAL;
			}
		}
	}
	for (size_t i = 0; i < count; i++) {
		v = params ? json_object_get(params, spec[i].name) : NULL;
		if (!v || json_is_null(v)) {
			if (spec[i].required) {
				snprintf(err, errlen, "missing required parameter '%s'",
				         spec[i].name);
				return -EINVAL;
			}
			continue;
		}
		if (spec[i].kind != UNVMF_JSON_PARAM_OPTION) {
			if (unvmf_json_param_accept(&spec[i], method, v, err, errlen))
				return -EINVAL;
			continue;
		}
		if (param_decode_one(&spec[i], v, out, err, errlen))
			return -EINVAL;
		found |= 1ull << i;
	}
	if (present)
		*present = found;
	return 0;
}

bool unvmf_json_value_in(const json_t *v, const char *values)
{
	char buf[160];

	for (const char *s = values; s && *s;) {
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
 * Rows already logged: the tables are const, so the once-only log keeps its
 * own list, sized for every compat row of the RPC layer and the transports.
 */
static const void *g_logged[256];
static unsigned g_num_logged;

void unvmf_json_param_log_once(const void *row, const char *method, const char *name,
                               const char *why)
{
	for (unsigned i = 0; i < g_num_logged; i++) {
		if (g_logged[i] == row)
			return;
	}
	if (g_num_logged < UNVMF_ARRAY_SIZE(g_logged))
		g_logged[g_num_logged++] = row;
	LOG_INFO("%s: accepting SPDK parameter '%s' with no effect (%s)", method, name, why);
}

int unvmf_json_param_accept(const struct unvmf_json_param *p, const char *method, const json_t *v,
                            char *err, size_t errlen)
{
	if (p->kind == UNVMF_JSON_PARAM_NEUTRAL) {
		if (!unvmf_json_value_in(v, p->neutral)) {
			char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			snprintf(err, errlen,
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
		struct unvmf_json_param typed = *p;

		/* Any value, but of the parameter's type and range. */
		typed.offset = 0;
		typed.size = p->type == UNVMF_JSON_UINT ? 4 : sizeof(field.scratch);
		if (param_decode_one(&typed, v, &field, err, errlen))
			return -EINVAL;
	}
	unvmf_json_param_log_once(p, method, p->name, p->why ? p->why : "no such option in unvmf");
	return 0;
}
