#pragma once
/*
 * Table-driven decoding of named JSON parameters: a table lists what a
 * caller takes (type, range, the field it lands in), and one function checks
 * presence, type and range before the caller changes anything, naming the
 * parameter in the error. The RPC methods decode their parameters with it,
 * and so do the transports' options, which sit below the RPC layer.
 *
 * SPDK takes parameters unvmf has no option for, and rpc.py and SPDK's
 * save_config send them. A row can stand for such a parameter: IGNORED (a
 * tuning knob with no effect here: any value of its type) or NEUTRAL (only
 * the values that mean what unvmf does anyway); either way it is logged once,
 * at info, as having no effect.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum unvmf_json_type {
	UNVMF_JSON_STRING, /* const char * borrowed from params; max = maximum length */
	UNVMF_JSON_BOOL,   /* bool */
	UNVMF_JSON_UINT,   /* unsigned integer field of size 1/2/4/8 in [min, max] (max 0: the
	                      field's) */
	UNVMF_JSON_INT,    /* int32_t in [-(max), max] (max 0: INT32_MAX) */
	UNVMF_JSON_OBJECT, /* json_t * borrowed */
};

/* What a row does with its parameter. */
enum unvmf_json_param_kind {
	UNVMF_JSON_PARAM_OPTION = 0, /* decoded into the field at offset */
	UNVMF_JSON_PARAM_IGNORED,    /* SPDK tuning with no effect here: any value of type */
	UNVMF_JSON_PARAM_NEUTRAL,    /* only the values in neutral: the rest need a feature */
};

struct unvmf_json_param {
	const char *name;
	enum unvmf_json_type type;
	bool required;
	size_t offset;
	size_t size;
	uint64_t min;
	uint64_t max;
	enum unvmf_json_param_kind kind;
	/*
	 * JSON values separated by '|': for NEUTRAL the only values accepted;
	 * for any kind, values a caller may accept with no effect (a transport
	 * sent another transport's defaults). NULL: none.
	 */
	const char *neutral;
	const char *why; /* IGNORED and NEUTRAL: what unvmf lacks, for the log and the refusal */
};

#define UNVMF_JSON_FIELD(st, field) offsetof(st, field), sizeof(((st *)0)->field)

/* An optional row decoded into field of struct st, of type t in [lo, hi]. */
#define UNVMF_JSON_OPTION(n, st, field, t, lo, hi)                                                 \
	{                                                                                          \
		.name = (n), .type = UNVMF_JSON_##t, .offset = offsetof(st, field),                \
		.size = sizeof(((st *)0)->field), .min = (lo), .max = (hi)                         \
	}

/* A row for an SPDK parameter with no field: IGNORED or NEUTRAL. */
#define UNVMF_JSON_PARAM_COMPAT(n, t, k, neutral_values, reason)                                   \
	{                                                                                          \
		.name = (n), .type = UNVMF_JSON_##t, .kind = UNVMF_JSON_PARAM_##k,                 \
		.neutral = (neutral_values), .why = (reason)                                       \
	}

const struct unvmf_json_param *unvmf_json_param_find(const struct unvmf_json_param *spec,
                                                     size_t count, const char *name);
/*
 * Decodes params (an object, or NULL for none) against spec into out.
 * Unknown members, missing required ones, wrong types and out-of-range values
 * fail with -EINVAL and a message naming the parameter in err. A JSON null
 * counts as absent. IGNORED and NEUTRAL rows go through
 * unvmf_json_param_accept, method naming the caller in its log line (NULL
 * when spec has no such rows). Bit i of
 * *present (may be NULL; up to 64 rows) is set for each OPTION row spec[i]
 * found.
 */
int unvmf_json_params_decode(const char *method, const json_t *params,
                             const struct unvmf_json_param *spec, size_t count, void *out,
                             uint64_t *present, char *err, size_t errlen);
/* "an object", "a string", ... for messages. */
const char *unvmf_json_type_name(const json_t *v);
/* Whether v equals one of values, JSON texts separated by '|' (NULL: none). */
bool unvmf_json_value_in(const json_t *v, const char *values);
/*
 * Logs once per row for the life of the process, at info, that method
 * accepted SPDK parameter name with no effect (why). Reactor 0 only (the RPC
 * layer and config loading).
 */
void unvmf_json_param_log_once(const void *row, const char *method, const char *name,
                               const char *why);
/*
 * Checks value v (not null) of an IGNORED or NEUTRAL row and logs once that it
 * has no effect: 0, or -EINVAL with err naming the parameter.
 */
int unvmf_json_param_accept(const struct unvmf_json_param *p, const char *method, const json_t *v,
                            char *err, size_t errlen);
