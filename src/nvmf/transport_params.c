/*
 * Table-driven decoding of a transport's own JSON parameters. The transports
 * cannot use the RPC layer's decoder (they sit below it), so this one speaks
 * the same messages for the types transport options use.
 */
#include "nvmf/transport.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
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
		if (param_decode_one(p, v, out, err, err_len))
			return -EINVAL;
		found |= 1ull << (p - spec);
	}
	if (present)
		*present = found;
	return 0;
}
