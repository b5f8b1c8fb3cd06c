#pragma once
/* Transport IDs: "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:NQN". */
#include <stdbool.h>
#include <stdint.h>

#include "unvmf/nvmf_spec.h"

#define UNVMF_TRADDR_MAX 64
#define UNVMF_TRSVCID_MAX 32
#define UNVMF_NQN_BUF (NVMF_NQN_MAX_LEN + 1)

struct unvmf_trid {
	enum nvmf_trtype trtype;
	enum nvmf_adrfam adrfam;
	char traddr[UNVMF_TRADDR_MAX];
	char trsvcid[UNVMF_TRSVCID_MAX];
	char subnqn[UNVMF_NQN_BUF];	/* empty when not given */
	char hostnqn[UNVMF_NQN_BUF];	/* host tools only; empty when not given */
};

/* Parses the SPDK-style string; unknown keys or bad values give -EINVAL. */
int unvmf_trid_parse(struct unvmf_trid *trid, const char *str);
/* Same address (trtype, adrfam, traddr, trsvcid); subnqn ignored. */
bool unvmf_trid_same_addr(const struct unvmf_trid *a, const struct unvmf_trid *b);
const char *unvmf_trtype_str(enum nvmf_trtype trtype);
int unvmf_trtype_parse(const char *s, enum nvmf_trtype *out);
const char *unvmf_adrfam_str(enum nvmf_adrfam adrfam);
int unvmf_adrfam_parse(const char *s, enum nvmf_adrfam *out);
/* NQN syntax per NVMe base spec 4.5 (length, "nqn." prefix and date/domain, or UUID form). */
bool unvmf_nqn_valid(const char *nqn);
