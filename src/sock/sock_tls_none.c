/*
 * A build without OpenSSL (UNVMF_TLS=OFF): TLS is not available, and every
 * call that would need it says so with -EOPNOTSUPP.
 */
#include "sock/sock_tls.h"

#include <errno.h>

bool unvmf_sock_tls_available(void)
{
	return false;
}

int unvmf_tls_psk_retained(const struct unvmf_psk_key *configured, const char *hostnqn,
                           uint8_t *out)
{
	return -EOPNOTSUPP;
}

int unvmf_tls_psk_digest(enum unvmf_psk_hash hash, const uint8_t *retained, size_t len,
                         const char *hostnqn, const char *subnqn, char *out, size_t out_len)
{
	return -EOPNOTSUPP;
}

int unvmf_tls_psk_for_identity(const struct unvmf_psk_key *configured,
                               const struct unvmf_psk_identity *id, const char *identity,
                               uint8_t *out, size_t *out_len)
{
	return -EOPNOTSUPP;
}

int unvmf_sock_tls_client(struct unvmf_sock *plain, const char *identity,
                          const struct unvmf_psk_key *configured, struct unvmf_sock **out)
{
	return -EOPNOTSUPP;
}

int unvmf_sock_tls_server(struct unvmf_sock *plain, unvmf_tls_psk_lookup_fn lookup, void *arg,
                          struct unvmf_sock **out)
{
	return -EOPNOTSUPP;
}

const struct unvmf_psk_identity *unvmf_sock_tls_identity(const struct unvmf_sock *sock)
{
	return NULL;
}
