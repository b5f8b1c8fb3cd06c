#pragma once
/*
 * NVMe/TCP TLS pre-shared keys, the parts that need no cryptography library:
 * the PSK interchange format ("NVMeTLSkey-1:<hh>:<base64 of key || CRC-32>:",
 * as `nvme gen-tls-key` prints it), key files, and the TLS PSK identity
 * ("NVMe0R<hh> <hostnqn> <subnqn>", or "NVMe1R<hh> <hostnqn> <subnqn>
 * <digest>" for TP8018). The derivations (HKDF) live with the TLS socket in
 * src/sock/sock_tls_psk.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Configured PSKs are 32 (SHA-256) or 48 (SHA-384) bytes. */
#define UNVMF_PSK_MAX_LEN 48
/* Longest interchange string (48-byte key) with its NUL, rounded up. */
#define UNVMF_PSK_INTERCHANGE_BUF 128
/* "NVMe1R02 " + two NQNs of up to 223 bytes + spaces + a 64-character digest + NUL. */
#define UNVMF_PSK_IDENTITY_BUF 544
#define UNVMF_PSK_NQN_BUF 224

/* Hash identifiers of the interchange format and of the identity (<hh>). */
enum unvmf_psk_hash {
	UNVMF_PSK_HASH_NONE = 0,   /* interchange only: the configured PSK is the retained PSK */
	UNVMF_PSK_HASH_SHA256 = 1, /* identity: TLS_AES_128_GCM_SHA256 */
	UNVMF_PSK_HASH_SHA384 = 2, /* identity: TLS_AES_256_GCM_SHA384 */
};

/* A configured PSK as the interchange format carries it. */
struct unvmf_psk_key {
	uint8_t key[UNVMF_PSK_MAX_LEN];
	size_t len;               /* 32 or 48 */
	enum unvmf_psk_hash hash; /* how the retained PSK is derived from it */
};

/* What a TLS PSK identity says. */
struct unvmf_psk_identity {
	unsigned version;         /* 0: NVMe0R (no digest); 1: NVMe1R (TP8018, with digest) */
	enum unvmf_psk_hash hash; /* the cipher suite's hash: 1 or 2 */
	char hostnqn[UNVMF_PSK_NQN_BUF];
	char subnqn[UNVMF_PSK_NQN_BUF];
	char digest[72]; /* version 1 only: base64 of the PSK digest */
};

/* IEEE 802.3 CRC-32 (zlib's), as the interchange format uses. */
uint32_t unvmf_crc32_ieee(const void *buf, size_t len);
/* RFC 4648 base64 with padding; returns the characters written (NUL added) or -ENOSPC. */
int unvmf_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_len);
/* Returns the bytes decoded or -EINVAL (bad character, padding or length) / -ENOSPC. */
int unvmf_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len);

/*
 * Parses an interchange-format PSK; trailing whitespace (a newline in a file)
 * is ignored. -EINVAL: not the format, a hash other than 00/01/02, a key
 * length that does not fit the hash, or a CRC-32 mismatch.
 */
int unvmf_psk_interchange_parse(const char *text, struct unvmf_psk_key *out);
/* The interchange string of key; 0 or -ENOSPC / -EINVAL. */
int unvmf_psk_interchange_format(const struct unvmf_psk_key *key, char *buf, size_t len);
/*
 * Reads and parses the key file at path. The file must not be readable or
 * writable by group or others (0600, as SPDK's keyring requires): -EACCES
 * otherwise. -errno of open/read, or -EINVAL from the parser.
 */
int unvmf_psk_file_load(const char *path, struct unvmf_psk_key *out);

/* The cipher suite hash a configured key of this length uses (the identity's <hh>). */
enum unvmf_psk_hash unvmf_psk_cipher_hash(const struct unvmf_psk_key *key);
/* Builds an identity; digest is used for version 1 only. Length written, or -ENOSPC / -EINVAL. */
int unvmf_psk_identity_build(const struct unvmf_psk_identity *id, char *buf, size_t len);
/* Parses an identity of len bytes (not NUL-terminated on the wire); -EINVAL if malformed. */
int unvmf_psk_identity_parse(const char *text, size_t len, struct unvmf_psk_identity *out);
