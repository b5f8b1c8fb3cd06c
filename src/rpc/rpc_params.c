/*
 * Declarative decoding of named parameters: every method lists what it takes,
 * and one function checks presence, type and range before the method changes
 * anything, naming the parameter in the error.
 */
#include "rpc/rpc.h"
#include "util/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct unvmf_rpc_param *param_find(const struct unvmf_rpc_param *spec, size_t count,
                                                const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(spec[i].name, name) == 0)
			return &spec[i];
	}
	return NULL;
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

static const char *json_type_name(const json_t *v)
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

static int param_decode_one(const struct unvmf_rpc_param *p, const json_t *v, void *out, char *err,
                            size_t errlen)
{
	void *field = (char *)out + p->offset;

	switch (p->type) {
	case UNVMF_RPC_STRING:
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
	case UNVMF_RPC_BOOL:
		if (!json_is_boolean(v))
			goto wrong_type;
		*(bool *)field = json_is_true(v);
		return 0;
	case UNVMF_RPC_UINT: {
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
	case UNVMF_RPC_INT: {
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
	case UNVMF_RPC_OBJECT:
		if (!json_is_object(v))
			goto wrong_type;
		*(const json_t **)field = v;
		return 0;
	}
	snprintf(err, errlen, "parameter '%s': bad decoder type", p->name);
	return -EINVAL;

wrong_type:
	snprintf(err, errlen, "invalid parameter '%s': expected %s, got %s", p->name,
	         p->type == UNVMF_RPC_STRING ? "a string"
	         : p->type == UNVMF_RPC_BOOL ? "a boolean"
	         : p->type == UNVMF_RPC_UINT ? "an unsigned integer"
	         : p->type == UNVMF_RPC_INT  ? "an integer"
	                                     : "an object",
	         json_type_name(v));
	return -EINVAL;
}

int unvmf_rpc_decode(const json_t *params, const struct unvmf_rpc_param *spec, size_t count,
                     void *out, uint64_t *present, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	uint64_t found = 0;

	UNVMF_ASSERT(count <= 64);
	if (params && !json_is_object(params)) {
		snprintf(err, errlen, "params must be an object, got %s", json_type_name(params));
		return -EINVAL;
	}
	if (params) {
		json_object_foreach((json_t *)params, key, v)
		{
			if (!param_find(spec, count, key)) {
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
		if (param_decode_one(&spec[i], v, out, err, errlen))
			return -EINVAL;
		found |= 1ull << i;
	}
	if (present)
		*present = found;
	return 0;
}

int unvmf_rpc_decode_or_reply(struct unvmf_rpc_request *req, const json_t *params,
                              const struct unvmf_rpc_param *spec, size_t count, void *out,
                              uint64_t *present)
{
	char err[256];

	if (unvmf_rpc_decode(params, spec, count, out, present, err, sizeof(err)) == 0)
		return 0;
	unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "%s", err);
	return -EINVAL;
}

struct trid_params {
	const char *trtype;
	const char *adrfam;
	const char *traddr;
	const char *trsvcid;
};

int unvmf_rpc_decode_trid(const json_t *obj, const char *what, struct unvmf_trid *trid, char *err,
                          size_t errlen)
{
	static const struct unvmf_rpc_param spec[] = {
	    {"trtype", UNVMF_RPC_STRING, true, UNVMF_RPC_FIELD(struct trid_params, trtype), 0, 16},
	    {"adrfam", UNVMF_RPC_STRING, false, UNVMF_RPC_FIELD(struct trid_params, adrfam), 0, 16},
	    {"traddr", UNVMF_RPC_STRING, true, UNVMF_RPC_FIELD(struct trid_params, traddr), 0,
	     UNVMF_TRADDR_MAX - 1},
	    {"trsvcid", UNVMF_RPC_STRING, true, UNVMF_RPC_FIELD(struct trid_params, trsvcid), 0,
	     UNVMF_TRSVCID_MAX - 1},
	};
	struct trid_params p = {0};
	char inner[200];

	if (unvmf_rpc_decode(obj, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL, inner, sizeof(inner))) {
		snprintf(err, errlen, "%s: %s", what, inner);
		return -EINVAL;
	}
	memset(trid, 0, sizeof(*trid));
	if (unvmf_trtype_parse(p.trtype, &trid->trtype)) {
		snprintf(err, errlen, "%s: invalid parameter 'trtype': unknown transport '%s'",
		         what, p.trtype);
		return -EINVAL;
	}
	if (p.adrfam) {
		if (unvmf_adrfam_parse(p.adrfam, &trid->adrfam)) {
			snprintf(err, errlen,
			         "%s: invalid parameter 'adrfam': '%s' (expected IPv4 or IPv6)",
			         what, p.adrfam);
			return -EINVAL;
		}
	} else {
		trid->adrfam = strchr(p.traddr, ':') ? NVMF_ADRFAM_IPV6 : NVMF_ADRFAM_IPV4;
	}
	if (!p.traddr[0] || !p.trsvcid[0]) {
		snprintf(err, errlen, "%s: invalid parameter '%s': empty", what,
		         !p.traddr[0] ? "traddr" : "trsvcid");
		return -EINVAL;
	}
	unvmf_strlcpy(trid->traddr, p.traddr, sizeof(trid->traddr));
	unvmf_strlcpy(trid->trsvcid, p.trsvcid, sizeof(trid->trsvcid));
	return 0;
}

json_t *unvmf_rpc_trid_json(const struct unvmf_trid *trid)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "trtype", unvmf_trtype_str(trid->trtype), "adrfam",
	                 unvmf_adrfam_str(trid->adrfam), "traddr", trid->traddr, "trsvcid",
	                 trid->trsvcid);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int unvmf_rpc_parse_hex(const char *s, uint8_t *out, size_t len)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == '-')
			continue;
		v = hex_value(*s);
		if (v < 0 || n == len)
			return -EINVAL;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n == len && hi < 0 ? 0 : -EINVAL;
}

void unvmf_rpc_format_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}
