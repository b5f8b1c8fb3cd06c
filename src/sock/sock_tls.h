#pragma once
/*
 * NVMe/TCP over TLS 1.3 with pre-shared keys (NVMe/TCP Transport
 * Specification 1.0, section 3.6; TP8018), behind the socket seam.
 *
 * Only TLS 1.3, only PSK authentication (no certificates), cipher suites
 * TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384; the key exchange is
 * psk_dhe_ke, and a server also accepts psk_ke. No session tickets.
 *
 * Keys: a configured PSK (interchange format, util/tls_psk.h) becomes the
 * retained PSK (HKDF-Expand-Label "HostNQN" with the host NQN, unless its
 * hash is 00), and the retained PSK becomes the TLS PSK of one identity
 * (HKDF-Expand-Label "nvme-tls-psk" with the identity, or "<hh> <digest>"
 * for a version 1 identity). Both sides derive; the key never crosses.
 *
 * A TLS socket wraps a connected plain one (taking its descriptor) and needs
 * unvmf_sock_handshake() until it returns UNVMF_SOCK_WANT_NONE before any
 * read or write. Handshake failures come back as:
 *   -EPROTONOSUPPORT  (server) the peer's first bytes were not a TLS record:
 *                     a host speaking NVMe/TCP in the clear;
 *   -ENOKEY           (server) no key for the identity the client offered,
 *                     or the identity was malformed;
 *   -EKEYREJECTED     the two sides' PSKs differ (binder or Finished check);
 *   -ECONNRESET       the peer closed during the handshake;
 *   -ECONNABORTED     any other TLS failure (logged with OpenSSL's reason).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sock/sock.h"
#include "util/tls_psk.h"

/* Whether this build has TLS (OpenSSL); without it the calls below return -EOPNOTSUPP. */
bool unvmf_sock_tls_available(void);

/* ---- key derivation (sock_tls_psk.c) ---- */
/* The retained PSK of configured for hostnqn; out holds configured->len bytes. */
int unvmf_tls_psk_retained(const struct unvmf_psk_key *configured, const char *hostnqn,
                           uint8_t *out);
/* Base64 PSK digest of a version 1 identity (TP8018): HMAC(retained, "<host> <subsys>
 * NVMe-over-Fabrics"). */
int unvmf_tls_psk_digest(enum unvmf_psk_hash hash, const uint8_t *retained, size_t len,
                         const char *hostnqn, const char *subnqn, char *out, size_t out_len);
/*
 * The TLS PSK for identity id (its text is identity) from configured: checks
 * that the key suits the identity's hash and, for version 1, the digest.
 * out holds UNVMF_PSK_MAX_LEN bytes; *out_len is set. -ENOKEY on mismatch.
 */
int unvmf_tls_psk_for_identity(const struct unvmf_psk_key *configured,
                               const struct unvmf_psk_identity *id, const char *identity,
                               uint8_t *out, size_t *out_len);

/* ---- sockets (sock_tls.c) ---- */
/*
 * A TLS client over plain (taken on success, still the caller's on failure)
 * offering identity with the TLS PSK derived from configured.
 */
int unvmf_sock_tls_client(struct unvmf_sock *plain, const char *identity,
                          const struct unvmf_psk_key *configured, struct unvmf_sock **out);

/*
 * Finds the configured PSK for the identity a client offers: 0 and *key, or
 * -ENOKEY. Runs inside unvmf_sock_handshake(), on the socket's thread.
 */
typedef int (*unvmf_tls_psk_lookup_fn)(void *arg, const struct unvmf_psk_identity *id,
                                       struct unvmf_psk_key *key);
/* A TLS server over an accepted plain socket (taken on success). */
int unvmf_sock_tls_server(struct unvmf_sock *plain, unvmf_tls_psk_lookup_fn lookup, void *arg,
                          struct unvmf_sock **out);
/* The identity the handshake used (server or client), NULL before it completes or on plain TCP. */
const struct unvmf_psk_identity *unvmf_sock_tls_identity(const struct unvmf_sock *sock);
