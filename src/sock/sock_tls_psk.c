/*
 * NVMe/TCP TLS key derivation with OpenSSL: retained PSK, PSK digest and TLS
 * PSK (NVMe/TCP 1.0 section 3.6.1.3 and TP8018). HKDF-Expand-Label is RFC
 * 8446's, with the HkdfLabel lengths encoded (as SPDK and current libnvme do;
 * libnvme's --compat mode, which leaves them out, is not supported).
 */
#include "sock/sock_tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

bool unvmf_sock_tls_available(void)
{
	return true;
}

static const EVP_MD *psk_md(enum unvmf_psk_hash hash)
{
	switch (hash) {
	case UNVMF_PSK_HASH_SHA256:
		return EVP_sha256();
	case UNVMF_PSK_HASH_SHA384:
		return EVP_sha384();
	default:
		return NULL;
	}
}

/*
 * out = HKDF-Expand-Label(HKDF-Extract(0, key), label, ctx, out_len): the
 * extract with an empty salt is the extract with HashLen zeros.
 */
static int psk_hkdf_label(const EVP_MD *md, const uint8_t *key, size_t key_len, const char *label,
                          const char *ctx, size_t ctx_len, uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t label_len = strlen(label), pos = 0;
	EVP_PKEY_CTX *pctx;
	int rc = -EINVAL;

	if (6 + label_len > 255 || ctx_len > 255 || out_len > 0xffff)
		return -EINVAL;
	info[pos++] = (uint8_t)(out_len >> 8);
	info[pos++] = (uint8_t)out_len;
	info[pos++] = (uint8_t)(6 + label_len);
	memcpy(info + pos, "tls13 ", 6);
	pos += 6;
	memcpy(info + pos, label, label_len);
	pos += label_len;
	info[pos++] = (uint8_t)ctx_len;
	memcpy(info + pos, ctx, ctx_len);
	pos += ctx_len;

	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	if (!pctx)
		return -ENOMEM;
	if (EVP_PKEY_derive_init(pctx) != 1 ||
	    EVP_PKEY_CTX_hkdf_mode(pctx, EVP_PKEY_HKDEF_MODE_EXTRACT_AND_EXPAND) != 1 ||
	    EVP_PKEY_CTX_set_hkdf_md(pctx, md) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_salt(pctx, (const unsigned char *)"", 0) != 1 ||
	    EVP_PKEY_CTX_set1_hkdf_key(pctx, key, (int)key_len) != 1 ||
	    EVP_PKEY_CTX_add1_hkdf_info(pctx, info, (int)pos) != 1)
		goto out_free;
	if (EVP_PKEY_derive(pctx, out, &out_len) != 1)
		goto out_free;
	rc = 0;
out_free:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

int unvmf_tls_psk_retained(const struct unvmf_psk_key *configured, const char *hostnqn,
                           uint8_t *out)
{
	if (configured->hash == UNVMF_PSK_HASH_NONE) {
		memcpy(out, configured->key, configured->len);
		return 0;
	}
	return psk_hkdf_label(psk_md(configured->hash), configured->key, configured->len, "HostNQN",
	                      hostnqn, strlen(hostnqn), out, configured->len);
}

int unvmf_tls_psk_digest(enum unvmf_psk_hash hash, const uint8_t *retained, size_t len,
                         const char *hostnqn, const char *subnqn, char *out, size_t out_len)
{
	char msg[2 * UNVMF_PSK_NQN_BUF + 32];
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	const EVP_MD *md = psk_md(hash);
	int n;

	if (!md)
		return -EINVAL;
	n = snprintf(msg, sizeof(msg), "%s %s NVMe-over-Fabrics", hostnqn, subnqn);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -EINVAL;
	if (!HMAC(md, retained, (int)len, (const uint8_t *)msg, (size_t)n, mac, &mac_len))
		return -EINVAL;
	n = unvmf_base64_encode(mac, mac_len, out, out_len);
	return n < 0 ? n : 0;
}

int unvmf_tls_psk_for_identity(const struct unvmf_psk_key *configured,
                               const struct unvmf_psk_identity *id, const char *identity,
                               uint8_t *out, size_t *out_len)
{
	uint8_t retained[UNVMF_PSK_MAX_LEN];
	char ctx[80];
	const char *c = identity;
	size_t c_len = strlen(identity);
	int rc;

	/* The cipher suite's hash fixes the key length: 32 bytes for SHA-256, 48 for SHA-384. */
	if (unvmf_psk_cipher_hash(configured) != id->hash)
		return -ENOKEY;
	rc = unvmf_tls_psk_retained(configured, id->hostnqn, retained);
	if (rc)
		goto out_wipe;
	if (id->version == 1) {
		char digest[sizeof(id->digest)];

		rc = unvmf_tls_psk_digest(id->hash, retained, configured->len, id->hostnqn,
		                          id->subnqn, digest, sizeof(digest));
		if (rc)
			goto out_wipe;
		if (strcmp(digest, id->digest) != 0) {
			rc = -ENOKEY;
			goto out_wipe;
		}
		c_len = (size_t)snprintf(ctx, sizeof(ctx), "%02u %s", (unsigned)id->hash, digest);
		if (c_len >= sizeof(ctx)) {
			rc = -EINVAL;
			goto out_wipe;
		}
		c = ctx;
	}
	rc = psk_hkdf_label(psk_md(id->hash), retained, configured->len, "nvme-tls-psk", c, c_len,
	                    out, configured->len);
	if (rc == 0)
		*out_len = configured->len;
out_wipe:
	OPENSSL_cleanse(retained, sizeof(retained));
	return rc;
}
