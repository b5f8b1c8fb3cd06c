#include "proto/trid.h"
#include "util/common.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

/*
 * The names the NVMe over Fabrics spec gives its TRTYPE and ADRFAM codes
 * (discovery log entries, SPDK's trid strings). These are the wire's values,
 * shared by host and target, not implementations: which transport serves a
 * trtype is the target's registry's and the host's transport list's to say,
 * and neither is reachable from here (the host tools parse trids without the
 * target core). What this table does decide is which names a trid string may
 * use: the IP-addressed fabrics; FC and intra-host are printed, not parsed.
 */
struct spec_name {
	unsigned code;
	const char *name;
	bool parsed; /* accepted in trid strings and RPC trids */
};

static const struct spec_name g_trtype_names[] = {
    {NVMF_TRTYPE_RDMA, "RDMA", true},
    {NVMF_TRTYPE_FC, "FC", false},
    {NVMF_TRTYPE_TCP, "TCP", true},
    {NVMF_TRTYPE_INTRA_HOST, "INTRA_HOST", false},
};

static const struct spec_name g_adrfam_names[] = {
    {NVMF_ADRFAM_IPV4, "IPv4", true},
    {NVMF_ADRFAM_IPV6, "IPv6", true},
    {NVMF_ADRFAM_IB, "IB", false},
    {NVMF_ADRFAM_FC, "FC", false},
    {NVMF_ADRFAM_INTRA_HOST, "INTRA_HOST", false},
};

static const char *spec_name_str(const struct spec_name *t, size_t n, unsigned code)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].code == code)
			return t[i].name;
	}
	return "UNKNOWN";
}

static int spec_name_parse(const struct spec_name *t, size_t n, const char *s, unsigned *out)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].parsed && strcasecmp(t[i].name, s) == 0) {
			*out = t[i].code;
			return 0;
		}
	}
	return -EINVAL;
}

const char *unvmf_trtype_str(enum nvmf_trtype trtype)
{
	return spec_name_str(g_trtype_names, UNVMF_ARRAY_SIZE(g_trtype_names), trtype);
}

int unvmf_trtype_parse(const char *s, enum nvmf_trtype *out)
{
	unsigned code;

	if (spec_name_parse(g_trtype_names, UNVMF_ARRAY_SIZE(g_trtype_names), s, &code))
		return -EINVAL;
	*out = (enum nvmf_trtype)code;
	return 0;
}

const char *unvmf_adrfam_str(enum nvmf_adrfam adrfam)
{
	return spec_name_str(g_adrfam_names, UNVMF_ARRAY_SIZE(g_adrfam_names), adrfam);
}

int unvmf_adrfam_parse(const char *s, enum nvmf_adrfam *out)
{
	unsigned code;

	if (spec_name_parse(g_adrfam_names, UNVMF_ARRAY_SIZE(g_adrfam_names), s, &code))
		return -EINVAL;
	*out = (enum nvmf_adrfam)code;
	return 0;
}

static int trid_set(struct unvmf_trid *trid, const char *key, const char *val)
{
	if (strcasecmp(key, "trtype") == 0)
		return unvmf_trtype_parse(val, &trid->trtype);
	if (strcasecmp(key, "adrfam") == 0)
		return unvmf_adrfam_parse(val, &trid->adrfam);
	if (strcasecmp(key, "traddr") == 0)
		return unvmf_strlcpy(trid->traddr, val, sizeof(trid->traddr)) ? -EINVAL : 0;
	if (strcasecmp(key, "trsvcid") == 0)
		return unvmf_strlcpy(trid->trsvcid, val, sizeof(trid->trsvcid)) ? -EINVAL : 0;
	if (strcasecmp(key, "subnqn") == 0)
		return unvmf_strlcpy(trid->subnqn, val, sizeof(trid->subnqn)) ? -EINVAL : 0;
	if (strcasecmp(key, "hostnqn") == 0)
		return unvmf_strlcpy(trid->hostnqn, val, sizeof(trid->hostnqn)) ? -EINVAL : 0;
	return -EINVAL;
}

int unvmf_trid_parse(struct unvmf_trid *trid, const char *str)
{
	char buf[1024];
	char *save = NULL;

	memset(trid, 0, sizeof(*trid));
	/* SPDK's tools default to TCP when the string names no trtype. */
	trid->trtype = NVMF_TRTYPE_TCP;
	trid->adrfam = NVMF_ADRFAM_IPV4;
	strcpy(trid->trsvcid, "4420");
	if (unvmf_strlcpy(buf, str, sizeof(buf)))
		return -EINVAL;
	for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *sep = strpbrk(tok, ":=");

		if (!sep)
			return -EINVAL;
		*sep = '\0';
		if (trid_set(trid, tok, sep + 1))
			return -EINVAL;
	}
	if (trid->traddr[0] == '\0')
		return -EINVAL;
	if (strchr(trid->traddr, ':') && trid->adrfam == NVMF_ADRFAM_IPV4)
		trid->adrfam = NVMF_ADRFAM_IPV6;
	return 0;
}

bool unvmf_trid_same_addr(const struct unvmf_trid *a, const struct unvmf_trid *b)
{
	return a->trtype == b->trtype && a->adrfam == b->adrfam &&
	       strcmp(a->traddr, b->traddr) == 0 && strcmp(a->trsvcid, b->trsvcid) == 0;
}

static bool nqn_uuid_form(const char *s)
{
	static const char prefix[] = "nqn.2014-08.org.nvmexpress:uuid:";
	const char *u = s + sizeof(prefix) - 1;

	if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		return false;
	if (strlen(u) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
			return false;
	}
	return true;
}

bool unvmf_nqn_valid(const char *nqn)
{
	size_t len = strnlen(nqn, NVMF_NQN_MAX_LEN + 1);

	if (len < NVMF_NQN_MIN_LEN || len > NVMF_NQN_MAX_LEN)
		return false;
	if (strcmp(nqn, NVMF_DISCOVERY_NQN) == 0)
		return true;
	if (strncmp(nqn, "nqn.2014-08.org.nvmexpress:uuid:", 32) == 0)
		return nqn_uuid_form(nqn);
	/* "nqn.yyyy-mm.reverse.domain[:anything]" */
	if (strncmp(nqn, "nqn.", 4) != 0 || len < 12)
		return false;
	for (int i = 4; i < 11; i++) {
		if (i == 8 ? nqn[i] != '-' : !isdigit((unsigned char)nqn[i]))
			return false;
	}
	if (nqn[11] != '.' || !isalnum((unsigned char)nqn[12]))
		return false;
	return true;
}
