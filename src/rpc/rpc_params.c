/*
 * Parameter helpers of the methods: decoding with a -32602 reply (the
 * decoder is util/json_params.c), transport IDs and hex identifiers.
 */
#include "rpc/rpc.h"
#include "util/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int unvmf_rpc_decode_or_reply(struct unvmf_rpc_request *req, const json_t *params,
                              const struct unvmf_rpc_param *spec, size_t count, void *out,
                              uint64_t *present)
{
	char err[256];

	if (unvmf_json_params_decode(unvmf_rpc_request_method(req), params, spec, count, out,
	                             present, err, sizeof(err)) == 0)
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
	    UNVMF_RPC_ROW("trtype", UNVMF_RPC_STRING, true, struct trid_params, trtype, 0, 16),
	    UNVMF_RPC_ROW("adrfam", UNVMF_RPC_STRING, false, struct trid_params, adrfam, 0, 16),
	    UNVMF_RPC_ROW("traddr", UNVMF_RPC_STRING, true, struct trid_params, traddr, 0,
	                  UNVMF_TRADDR_MAX - 1),
	    UNVMF_RPC_ROW("trsvcid", UNVMF_RPC_STRING, true, struct trid_params, trsvcid, 0,
	                  UNVMF_TRSVCID_MAX - 1),
	};
	struct trid_params p = {0};
	char inner[200];

	if (unvmf_json_params_decode(NULL, obj, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL, inner,
	                             sizeof(inner))) {
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
