#include "proto/trid.h"
#include "util/common.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

const char *unvmf_trtype_str(enum nvmf_trtype trtype)
{
	switch (trtype) {
	case NVMF_TRTYPE_RDMA:
		return "RDMA";
	case NVMF_TRTYPE_TCP:
		return "TCP";
	case NVMF_TRTYPE_FC:
		return "FC";
	case NVMF_TRTYPE_INTRA_HOST:
		return "INTRA_HOST";
	}
	return "UNKNOWN";
}

int unvmf_trtype_parse(const char *s, enum nvmf_trtype *out)
{
	if (strcasecmp(s, "TCP") == 0)
		*out = NVMF_TRTYPE_TCP;
	else if (strcasecmp(s, "RDMA") == 0)
		*out = NVMF_TRTYPE_RDMA;
	else
		return -EINVAL;
	return 0;
}

const char *unvmf_adrfam_str(enum nvmf_adrfam adrfam)
{
	switch (adrfam) {
	case NVMF_ADRFAM_IPV4:
		return "IPv4";
	case NVMF_ADRFAM_IPV6:
		return "IPv6";
	case NVMF_ADRFAM_IB:
		return "IB";
	case NVMF_ADRFAM_FC:
		return "FC";
	case NVMF_ADRFAM_INTRA_HOST:
		return "INTRA_HOST";
	}
	return "UNKNOWN";
}

int unvmf_adrfam_parse(const char *s, enum nvmf_adrfam *out)
{
	if (strcasecmp(s, "IPv4") == 0)
		*out = NVMF_ADRFAM_IPV4;
	else if (strcasecmp(s, "IPv6") == 0)
		*out = NVMF_ADRFAM_IPV6;
	else
		return -EINVAL;
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
