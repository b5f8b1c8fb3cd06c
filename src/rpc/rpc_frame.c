/*
 * Splitting a byte stream into JSON requests. Requests are not delimited on
 * the wire (as with SPDK): a request is an object or array, and it ends where
 * its outermost bracket closes. A small scanner (strings and escapes aware)
 * finds that end; jansson then parses exactly that span. An unfinished value
 * waits for more bytes, except when jansson already fails well before the end
 * of what arrived (that cannot be a prefix of valid JSON).
 */
#include "rpc/rpc.h"

#include <stdio.h>

/* A valid prefix can only fail to parse within this many bytes of its end. */
#define FRAME_TAIL_SLACK 8

static bool frame_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Returns the length of the value starting at buf[0] ('{' or '['), or 0 if it is unfinished. */
static size_t frame_scan(const char *buf, size_t len)
{
	size_t depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return 0;
}

enum unvmf_rpc_frame_result unvmf_rpc_frame_next(const char *buf, size_t len, size_t limit,
                                                 json_t **out, size_t *consumed, char *err,
                                                 size_t errlen)
{
	json_error_t jerr;
	size_t start = 0, n;
	json_t *value;

	*out = NULL;
	*consumed = 0;
	while (start < len && frame_is_blank(buf[start]))
		start++;
	*consumed = start;
	if (start == len)
		return UNVMF_RPC_FRAME_NEED_MORE;
	if (buf[start] != '{' && buf[start] != '[') {
		snprintf(err, errlen, "parse error: a request must be a JSON object");
		return UNVMF_RPC_FRAME_PARSE_ERROR;
	}
	n = frame_scan(buf + start, len - start);
	if (n == 0) {
		/* Unfinished: garbage already visible inside it fails now, not at the limit. */
		value = json_loadb(buf + start, len - start, JSON_DISABLE_EOF_CHECK, &jerr);
		json_decref(value);
		if (!value && json_error_code(&jerr) != json_error_premature_end_of_input &&
		    (size_t)jerr.position + FRAME_TAIL_SLACK < len - start) {
			snprintf(err, errlen, "parse error: %s (at byte %d)", jerr.text,
			         jerr.position);
			return UNVMF_RPC_FRAME_PARSE_ERROR;
		}
		if (len - start > limit) {
			snprintf(err, errlen, "request larger than %zu bytes", limit);
			return UNVMF_RPC_FRAME_TOO_LARGE;
		}
		return UNVMF_RPC_FRAME_NEED_MORE;
	}
	if (n > limit) {
		snprintf(err, errlen, "request larger than %zu bytes", limit);
		return UNVMF_RPC_FRAME_TOO_LARGE;
	}
	value = json_loadb(buf + start, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!value) {
		snprintf(err, errlen, "parse error: %s (at byte %d)", jerr.text, jerr.position);
		return UNVMF_RPC_FRAME_PARSE_ERROR;
	}
	*out = value;
	*consumed = start + n;
	return UNVMF_RPC_FRAME_OK;
}
