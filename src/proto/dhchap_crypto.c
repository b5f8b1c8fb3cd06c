/*
 * DH-HMAC-CHAP crypto through OpenSSL 3: HMAC (EVP_MAC), digests (EVP_Digest),
 * the RFC 7919 ffdhe groups (EVP_PKEY "DH" with a named group) and RAND_bytes.
 */
#include "proto/dhchap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

struct unvmf_dhchap_dh {
	EVP_PKEY *pkey;
	size_t len;
};

bool unvmf_dhchap_supported(void)
{
	return true;
}

int unvmf_dhchap_random(void *buf, size_t len)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

static const char *hash_md_name(uint8_t hash)
{
	switch (hash) {
	case NVME_AUTH_HASH_SHA256:
		return "SHA256";
	case NVME_AUTH_HASH_SHA384:
		return "SHA384";
	case NVME_AUTH_HASH_SHA512:
		return "SHA512";
	default:
		return NULL;
	}
}

/* An HMAC context keyed for hash; NULL on failure. */
static EVP_MAC_CTX *hmac_start(uint8_t hash, const uint8_t *key, size_t key_len)
{
	const char *md = hash_md_name(hash);
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	EVP_MAC *mac;

	if (!md)
		return NULL;
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (!ctx)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, key_len, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int hmac_finish(EVP_MAC_CTX *ctx, uint8_t *out, size_t *out_len)
{
	size_t n = 0;
	int ok = EVP_MAC_final(ctx, out, &n, UNVMF_DHCHAP_HASH_MAX) == 1;

	EVP_MAC_CTX_free(ctx);
	if (out_len)
		*out_len = n;
	return ok ? 0 : -EIO;
}

int unvmf_dhchap_transform(const struct unvmf_dhchap_key *key, const char *nqn, uint8_t *out,
                           size_t *out_len)
{
	static const char suffix[] = "NVMe-over-Fabrics";
	EVP_MAC_CTX *ctx;

	if (key->hash == NVME_AUTH_HASH_NONE) {
		memcpy(out, key->key, key->len);
		*out_len = key->len;
		return 0;
	}
	ctx = hmac_start(key->hash, key->key, key->len);
	if (!ctx)
		return -EINVAL;
	if (EVP_MAC_update(ctx, (const uint8_t *)nqn, strlen(nqn)) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)suffix, sizeof(suffix) - 1) != 1) {
		EVP_MAC_CTX_free(ctx);
		return -EIO;
	}
	return hmac_finish(ctx, out, out_len);
}

/* HMAC(H(sess), challenge): the challenge a DH exchange augments. */
static int augment_challenge(uint8_t hash, const uint8_t *sess, size_t sess_len,
                             const uint8_t *challenge, uint8_t *out)
{
	uint8_t hkey[UNVMF_DHCHAP_HASH_MAX];
	unsigned int hkey_len = 0;
	size_t hl = unvmf_dhchap_hash_len(hash);
	EVP_MAC_CTX *ctx;
	int rc;

	if (EVP_Digest(sess, sess_len, hkey, &hkey_len, EVP_get_digestbyname(hash_md_name(hash)),
	               NULL) != 1)
		return -EIO;
	ctx = hmac_start(hash, hkey, hkey_len);
	memset(hkey, 0, sizeof(hkey));
	if (!ctx)
		return -EIO;
	if (EVP_MAC_update(ctx, challenge, hl) != 1) {
		EVP_MAC_CTX_free(ctx);
		return -EIO;
	}
	rc = hmac_finish(ctx, out, NULL);
	return rc;
}

int unvmf_dhchap_response(enum unvmf_dhchap_role role, const struct unvmf_dhchap_key *key,
                          uint8_t hash, const uint8_t *challenge, const uint8_t *sess,
                          size_t sess_len, uint32_t seqnum, uint16_t tid, const char *hostnqn,
                          const char *subnqn, uint8_t *out)
{
	bool host = role == UNVMF_DHCHAP_ROLE_HOST;
	const char *first = host ? hostnqn : subnqn, *second = host ? subnqn : hostnqn;
	const char *label = host ? "HostHost" : "Controller";
	uint8_t tkey[UNVMF_DHCHAP_KEY_MAX], aug[UNVMF_DHCHAP_HASH_MAX];
	uint8_t b[7] = {(uint8_t)seqnum,
	                (uint8_t)(seqnum >> 8),
	                (uint8_t)(seqnum >> 16),
	                (uint8_t)(seqnum >> 24),
	                (uint8_t)tid,
	                (uint8_t)(tid >> 8),
	                0 /* SC_C: no secure channel concatenation */};
	size_t hl = unvmf_dhchap_hash_len(hash), tkey_len;
	const uint8_t zero = 0;
	EVP_MAC_CTX *ctx;
	int rc;

	if (!hl)
		return -EINVAL;
	rc = unvmf_dhchap_transform(key, first, tkey, &tkey_len);
	if (rc)
		return rc;
	if (sess_len) {
		rc = augment_challenge(hash, sess, sess_len, challenge, aug);
		if (rc)
			goto out_wipe;
		challenge = aug;
	}
	ctx = hmac_start(hash, tkey, tkey_len);
	if (!ctx) {
		rc = -EIO;
		goto out_wipe;
	}
	if (EVP_MAC_update(ctx, challenge, hl) != 1 || EVP_MAC_update(ctx, b, sizeof(b)) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)label, strlen(label)) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)first, strlen(first)) != 1 ||
	    EVP_MAC_update(ctx, &zero, 1) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)second, strlen(second)) != 1) {
		EVP_MAC_CTX_free(ctx);
		rc = -EIO;
		goto out_wipe;
	}
	rc = hmac_finish(ctx, out, NULL);
out_wipe:
	memset(tkey, 0, sizeof(tkey));
	memset(aug, 0, sizeof(aug));
	return rc;
}

int unvmf_dhchap_dh_generate(uint8_t group, struct unvmf_dhchap_dh **out, uint8_t *pub)
{
	const char *name = unvmf_dhchap_dhgroup_name(group);
	size_t len = unvmf_dhchap_dhgroup_len(group);
	struct unvmf_dhchap_dh *dh;
	OSSL_PARAM params[2];
	EVP_PKEY_CTX *ctx;
	BIGNUM *bn = NULL;
	int rc = -EIO;

	if (!name || !len)
		return -EINVAL;
	dh = calloc(1, sizeof(*dh));
	if (!dh)
		return -ENOMEM;
	dh->len = len;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!ctx)
		goto out_free;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, params) != 1 ||
	    EVP_PKEY_generate(ctx, &dh->pkey) != 1)
		goto out_ctx;
	if (EVP_PKEY_get_bn_param(dh->pkey, OSSL_PKEY_PARAM_PUB_KEY, &bn) != 1 ||
	    BN_bn2binpad(bn, pub, (int)len) != (int)len)
		goto out_ctx;
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	*out = dh;
	return 0;
out_ctx:
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
out_free:
	unvmf_dhchap_dh_free(dh);
	return rc;
}

/* The peer's public value as a key of dh's group. */
static EVP_PKEY *peer_key(const struct unvmf_dhchap_dh *dh, const uint8_t *peer, size_t len)
{
	char group[32];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *bn;

	if (EVP_PKEY_get_utf8_string_param(dh->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                   sizeof(group), NULL) != 1)
		return NULL;
	bn = BN_bin2bn(peer, (int)len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn || !bld ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, bn) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	return key;
}

int unvmf_dhchap_dh_derive(struct unvmf_dhchap_dh *dh, const uint8_t *peer, size_t peer_len,
                           uint8_t *secret)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk;
	size_t n = dh->len;
	int rc = -EINVAL;

	if (peer_len != dh->len)
		return -EINVAL;
	pk = peer_key(dh, peer, peer_len);
	if (!pk)
		return -EINVAL;
	ctx = EVP_PKEY_CTX_new(dh->pkey, NULL);
	/* The public key check (1 < y < p - 1) runs in set_peer; the secret keeps its leading
	 * zeros. */
	if (!ctx || EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_CTX_set_dh_pad(ctx, 1) != 1 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, pk, 1) != 1)
		goto out;
	if (EVP_PKEY_derive(ctx, secret, &n) != 1 || n != dh->len) {
		rc = -EIO;
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rc;
}

void unvmf_dhchap_dh_free(struct unvmf_dhchap_dh *dh)
{
	if (!dh)
		return;
	EVP_PKEY_free(dh->pkey);
	free(dh);
}
