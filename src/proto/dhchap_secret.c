/* DH-HMAC-CHAP secrets in the DHHC-1 representation, and the names of ids. */
#include "proto/dhchap.h"
#include "util/tls_psk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DHHC_PREFIX "DHHC-1:"

int unvmf_dhchap_secret_parse(const char *text, struct unvmf_dhchap_key *out)
{
	uint8_t raw[UNVMF_DHCHAP_KEY_MAX + 4 + 4];
	const char *b64, *end;
	size_t len, keylen;
	unsigned hash;
	uint32_t crc;
	int n;

	len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
	               text[len - 1] == '\t'))
		len--;
	if (len < sizeof(DHHC_PREFIX) - 1 + 4 || memcmp(text, DHHC_PREFIX, sizeof(DHHC_PREFIX) - 1))
		return -EINVAL;
	text += sizeof(DHHC_PREFIX) - 1;
	len -= sizeof(DHHC_PREFIX) - 1;
	if (text[0] < '0' || text[0] > '9' || text[1] < '0' || text[1] > '9' || text[2] != ':')
		return -EINVAL;
	hash = (unsigned)(text[0] - '0') * 10 + (unsigned)(text[1] - '0');
	if (hash > NVME_AUTH_HASH_SHA512)
		return -EINVAL;
	b64 = text + 3;
	end = text + len;
	if (end <= b64 || end[-1] != ':')
		return -EINVAL;
	n = unvmf_base64_decode(b64, (size_t)(end - 1 - b64), raw, sizeof(raw));
	if (n < 0)
		return -EINVAL;
	keylen = (size_t)n - 4;
	if (n < 4 || (keylen != 32 && keylen != 48 && keylen != 64))
		goto out_invalid;
	crc = (uint32_t)raw[keylen] | (uint32_t)raw[keylen + 1] << 8 |
	      (uint32_t)raw[keylen + 2] << 16 | (uint32_t)raw[keylen + 3] << 24;
	if (crc != unvmf_crc32_ieee(raw, keylen))
		goto out_invalid;
	memcpy(out->key, raw, keylen);
	out->len = keylen;
	out->hash = (uint8_t)hash;
	memset(raw, 0, sizeof(raw));
	return 0;
out_invalid:
	memset(raw, 0, sizeof(raw));
	return -EINVAL;
}

int unvmf_dhchap_secret_format(const struct unvmf_dhchap_key *key, char *buf, size_t len)
{
	uint8_t raw[UNVMF_DHCHAP_KEY_MAX + 4];
	uint32_t crc;
	int n, m;

	if ((key->len != 32 && key->len != 48 && key->len != 64) || key->hash > 3)
		return -EINVAL;
	memcpy(raw, key->key, key->len);
	crc = unvmf_crc32_ieee(key->key, key->len);
	for (int i = 0; i < 4; i++)
		raw[key->len + (size_t)i] = (uint8_t)(crc >> (8 * i));
	n = snprintf(buf, len, DHHC_PREFIX "%02u:", (unsigned)key->hash);
	if (n < 0 || (size_t)n >= len)
		goto out_nospc;
	m = unvmf_base64_encode(raw, key->len + 4, buf + n, len - (size_t)n);
	if (m < 0 || (size_t)(n + m) + 2 > len)
		goto out_nospc;
	buf[n + m] = ':';
	buf[n + m + 1] = '\0';
	memset(raw, 0, sizeof(raw));
	return 0;
out_nospc:
	memset(raw, 0, sizeof(raw));
	return -ENOSPC;
}

int unvmf_dhchap_file_load(const char *path, struct unvmf_dhchap_key *out)
{
	char text[UNVMF_DHCHAP_SECRET_BUF + 1];
	struct stat st;
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out_close;
	}
	/* A secret others can read is not secret any more; SPDK's keyring refuses it too. */
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		rc = -EACCES;
		goto out_close;
	}
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		rc = -errno;
		goto out_close;
	}
	text[n] = '\0';
	rc = unvmf_dhchap_secret_parse(text, out);
	memset(text, 0, sizeof(text));
out_close:
	close(fd);
	return rc;
}

static const char *const g_hash_names[NVME_AUTH_HASH_COUNT] = {NULL, "sha256", "sha384", "sha512"};
static const char *const g_dhgroup_names[NVME_AUTH_DHGROUP_COUNT] = {
    "null", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192"};
static const size_t g_dhgroup_len[NVME_AUTH_DHGROUP_COUNT] = {0, 256, 384, 512, 768, 1024};

size_t unvmf_dhchap_hash_len(uint8_t hash)
{
	switch (hash) {
	case NVME_AUTH_HASH_SHA256:
		return 32;
	case NVME_AUTH_HASH_SHA384:
		return 48;
	case NVME_AUTH_HASH_SHA512:
		return 64;
	default:
		return 0;
	}
}

const char *unvmf_dhchap_hash_name(uint8_t hash)
{
	return hash < NVME_AUTH_HASH_COUNT ? g_hash_names[hash] : NULL;
}

int unvmf_dhchap_hash_by_name(const char *name)
{
	for (int i = 1; i < NVME_AUTH_HASH_COUNT; i++) {
		if (strcmp(name, g_hash_names[i]) == 0)
			return i;
	}
	return -EINVAL;
}

size_t unvmf_dhchap_dhgroup_len(uint8_t group)
{
	return group < NVME_AUTH_DHGROUP_COUNT ? g_dhgroup_len[group] : 0;
}

const char *unvmf_dhchap_dhgroup_name(uint8_t group)
{
	return group < NVME_AUTH_DHGROUP_COUNT ? g_dhgroup_names[group] : NULL;
}

int unvmf_dhchap_dhgroup_by_name(const char *name)
{
	for (int i = 0; i < NVME_AUTH_DHGROUP_COUNT; i++) {
		if (strcmp(name, g_dhgroup_names[i]) == 0)
			return i;
	}
	return -EINVAL;
}

const char *unvmf_dhchap_failure_name(uint8_t rescode_exp)
{
	switch (rescode_exp) {
	case NVME_AUTH_FAIL_FAILED:
		return "failed";
	case NVME_AUTH_FAIL_PROTOCOL_UNUSABLE:
		return "protocol_unusable";
	case NVME_AUTH_FAIL_CONCAT_MISMATCH:
		return "concat_mismatch";
	case NVME_AUTH_FAIL_HASH_UNUSABLE:
		return "hash_unusable";
	case NVME_AUTH_FAIL_DHGROUP_UNUSABLE:
		return "dhgroup_unusable";
	case NVME_AUTH_FAIL_INCORRECT_PAYLOAD:
		return "incorrect_payload";
	case NVME_AUTH_FAIL_INCORRECT_MESSAGE:
		return "incorrect_message";
	default:
		return "unknown";
	}
}
