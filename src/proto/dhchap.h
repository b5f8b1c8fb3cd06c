#pragma once
/*
 * DH-HMAC-CHAP, the parts host and controller compute alike: the secret
 * representation ("DHHC-1:<XX>:<base64 of key || CRC-32>:", as `nvme
 * gen-dhchap-key` prints it), the transformation of a secret by its hash and
 * NQN, the responses, the challenge augmented by a Diffie-Hellman session key,
 * and the ffdhe key exchange. The crypto is OpenSSL's (dhchap_crypto.c); a
 * build without it (UNVMF_TLS=OFF) answers -EOPNOTSUPP (dhchap_crypto_none.c).
 */
#include "proto/nvme_auth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNVMF_DHCHAP_KEY_MAX 64  /* secrets are 32, 48 or 64 bytes */
#define UNVMF_DHCHAP_HASH_MAX 64 /* SHA-512 */
#define UNVMF_DHCHAP_DH_MAX 1024 /* ffdhe8192 values */
#define UNVMF_DHCHAP_SECRET_BUF 128

/* A configured secret: key bytes and the hash <XX> that transforms it (0: used as is). */
struct unvmf_dhchap_key {
	uint8_t key[UNVMF_DHCHAP_KEY_MAX];
	size_t len;
	uint8_t hash;
};

/*
 * Parses a DHHC-1 secret; trailing whitespace is ignored. -EINVAL: not the
 * format, XX above 03, a key length other than 32/48/64, or a CRC-32 mismatch.
 */
int unvmf_dhchap_secret_parse(const char *text, struct unvmf_dhchap_key *out);
/* The DHHC-1 string of key; 0 or -ENOSPC / -EINVAL. */
int unvmf_dhchap_secret_format(const struct unvmf_dhchap_key *key, char *buf, size_t len);
/* Reads a key file holding a DHHC-1 secret: -EACCES unless 0600 (as SPDK's keyring), -errno,
 * -EINVAL. */
int unvmf_dhchap_file_load(const char *path, struct unvmf_dhchap_key *out);

/* Digest length of a hash id (32/48/64), 0 if unknown. */
size_t unvmf_dhchap_hash_len(uint8_t hash);
/* "sha256"/"sha384"/"sha512" (SPDK's names), NULL if unknown. */
const char *unvmf_dhchap_hash_name(uint8_t hash);
/* Hash id of a name, or -EINVAL. */
int unvmf_dhchap_hash_by_name(const char *name);
/* DH value length of a group in bytes (0 for the null group), 0 if unknown. */
size_t unvmf_dhchap_dhgroup_len(uint8_t group);
/* "null", "ffdhe2048", ... "ffdhe8192" (SPDK's names), NULL if unknown. */
const char *unvmf_dhchap_dhgroup_name(uint8_t group);
/* Group id of a name, or -EINVAL. */
int unvmf_dhchap_dhgroup_by_name(const char *name);
/* "failed", "hash_unusable", ...: names of failure explanations for logs and stats. */
const char *unvmf_dhchap_failure_name(uint8_t rescode_exp);

/* Whether this build has the crypto (OpenSSL). */
bool unvmf_dhchap_supported(void);
/* Cryptographically random bytes; 0 or -EIO. */
int unvmf_dhchap_random(void *buf, size_t len);
/*
 * The key an HMAC of responses uses: the secret as is (XX 00), else
 * HMAC-<XX>(secret, nqn || "NVMe-over-Fabrics"). out holds
 * UNVMF_DHCHAP_KEY_MAX bytes; *out_len is set.
 */
int unvmf_dhchap_transform(const struct unvmf_dhchap_key *key, const char *nqn, uint8_t *out,
                           size_t *out_len);

/* Who computes a response: the host (R1, over C1) or the controller (R2, over C2). */
enum unvmf_dhchap_role {
	UNVMF_DHCHAP_ROLE_HOST,
	UNVMF_DHCHAP_ROLE_CTRLR,
};

/*
 * A response of hash's length into out:
 *   host:  HMAC(K', C' || S || T_ID || SC_C || "HostHost" || hostnqn || 0 || subnqn)
 *   ctrlr: HMAC(K', C' || S || T_ID || 0 || "Controller" || subnqn || 0 || hostnqn)
 * K' is the transformed key (by hostnqn for the host's, subnqn for the
 * controller's); C' is the challenge, or HMAC(H(session key), challenge) when
 * a DH exchange gave a session key (sess_len > 0).
 */
int unvmf_dhchap_response(enum unvmf_dhchap_role role, const struct unvmf_dhchap_key *key,
                          uint8_t hash, const uint8_t *challenge, const uint8_t *sess,
                          size_t sess_len, uint32_t seqnum, uint16_t tid, const char *hostnqn,
                          const char *subnqn, uint8_t *out);

/* One side's ephemeral ffdhe key pair. */
struct unvmf_dhchap_dh;
/* Generates a key pair in group; pub receives the public value, unvmf_dhchap_dhgroup_len bytes. */
int unvmf_dhchap_dh_generate(uint8_t group, struct unvmf_dhchap_dh **out, uint8_t *pub);
/*
 * The shared secret with the peer's public value (peer_len must be the group's
 * length), padded to that length, into secret. -EINVAL for a value outside the
 * group (OpenSSL's public key check).
 */
int unvmf_dhchap_dh_derive(struct unvmf_dhchap_dh *dh, const uint8_t *peer, size_t peer_len,
                           uint8_t *secret);
void unvmf_dhchap_dh_free(struct unvmf_dhchap_dh *dh);
