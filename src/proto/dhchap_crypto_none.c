/*
 * A build without OpenSSL (UNVMF_TLS=OFF): DH-HMAC-CHAP is not available and
 * every computation says so. Secrets still parse, so configuration errors are
 * reported the same way.
 */
#include "proto/dhchap.h"

#include <errno.h>

bool unvmf_dhchap_supported(void)
{
	return false;
}

int unvmf_dhchap_random(void *buf, size_t len)
{
	(void)buf;
	(void)len;
	return -EOPNOTSUPP;
}

int unvmf_dhchap_transform(const struct unvmf_dhchap_key *key, const char *nqn, uint8_t *out,
                           size_t *out_len)
{
	(void)key;
	(void)nqn;
	(void)out;
	(void)out_len;
	return -EOPNOTSUPP;
}

int unvmf_dhchap_response(enum unvmf_dhchap_role role, const struct unvmf_dhchap_key *key,
                          uint8_t hash, const uint8_t *challenge, const uint8_t *sess,
                          size_t sess_len, uint32_t seqnum, uint16_t tid, const char *hostnqn,
                          const char *subnqn, uint8_t *out)
{
	(void)role, (void)key, (void)hash, (void)challenge, (void)sess, (void)sess_len;
	(void)seqnum, (void)tid, (void)hostnqn, (void)subnqn, (void)out;
	return -EOPNOTSUPP;
}

int unvmf_dhchap_dh_generate(uint8_t group, struct unvmf_dhchap_dh **out, uint8_t *pub)
{
	(void)group, (void)out, (void)pub;
	return -EOPNOTSUPP;
}

int unvmf_dhchap_dh_derive(struct unvmf_dhchap_dh *dh, const uint8_t *peer, size_t peer_len,
                           uint8_t *secret)
{
	(void)dh, (void)peer, (void)peer_len, (void)secret;
	return -EOPNOTSUPP;
}

void unvmf_dhchap_dh_free(struct unvmf_dhchap_dh *dh)
{
	(void)dh;
}
