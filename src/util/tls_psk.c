/*
 * NVMe/TCP TLS PSK interchange format, key files and PSK identities
 * (NVMe/TCP Transport Specification 1.0, TLS PSK interchange and identity;
 * TP8018 for the version 1 identity).
 */
#include "util/tls_psk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PSK_PREFIX "NVMeTLSkey-1:"

uint32_t unvmf_crc32_ieee(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t crc = 0xffffffffu;

	/* Bitwise: a key is 48 bytes, a table would cost more than it saves. */
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static const char g_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int unvmf_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_len)
{
	size_t need = (len + 2) / 3 * 4, o = 0;

	if (out_len < need + 1)
		return -ENOSPC;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i;

		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		out[o++] = g_b64[(v >> 18) & 63];
		out[o++] = g_b64[(v >> 12) & 63];
		out[o++] = n > 1 ? g_b64[(v >> 6) & 63] : '=';
		out[o++] = n > 2 ? g_b64[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(g_b64, c) : NULL;

	return p ? (int)(p - g_b64) : -1;
}

int unvmf_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len)
{
	size_t o = 0;

	if (in_len % 4)
		return -EINVAL;
	for (size_t i = 0; i < in_len; i += 4) {
		int v[4], pad = 0;
		uint32_t w;

		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == in_len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* Padding only at the very end. */
			if (pad)
				return -EINVAL;
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		if (o + 3 - (size_t)pad > out_len)
			return -ENOSPC;
		out[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)w;
	}
	return (int)o;
}

static size_t psk_len_of(enum unvmf_psk_hash hash)
{
	return hash == UNVMF_PSK_HASH_SHA384 ? 48 : 32;
}

int unvmf_psk_interchange_parse(const char *text, struct unvmf_psk_key *out)
{
	uint8_t raw[UNVMF_PSK_MAX_LEN + 4];
	size_t len = strlen(text), plen = strlen(PSK_PREFIX);
	const char *b64;
	unsigned hash;
	uint32_t crc;
	int n;

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
	               text[len - 1] == '\t'))
		len--;
	/* PREFIX hh ':' base64 ':' */
	if (len < plen + 4 || strncmp(text, PSK_PREFIX, plen) != 0 || text[plen + 2] != ':' ||
	    text[len - 1] != ':')
		return -EINVAL;
	if (text[plen] < '0' || text[plen] > '9' || text[plen + 1] < '0' || text[plen + 1] > '9')
		return -EINVAL;
	hash = (unsigned)(text[plen] - '0') * 10u + (unsigned)(text[plen + 1] - '0');
	if (hash > UNVMF_PSK_HASH_SHA384)
		return -EINVAL;
	b64 = text + plen + 3;
	n = unvmf_base64_decode(b64, (size_t)(text + len - 1 - b64), raw, sizeof(raw));
	if (n != 32 + 4 && n != 48 + 4)
		return -EINVAL;
	/* A transformed key has the length of its hash; an untransformed one, 32 or 48. */
	if (hash != UNVMF_PSK_HASH_NONE && (size_t)n - 4 != psk_len_of(hash))
		return -EINVAL;
	crc = (uint32_t)raw[n - 4] | (uint32_t)raw[n - 3] << 8 | (uint32_t)raw[n - 2] << 16 |
	      (uint32_t)raw[n - 1] << 24;
	if (crc != unvmf_crc32_ieee(raw, (size_t)n - 4))
		return -EINVAL;
	memcpy(out->key, raw, (size_t)n - 4);
	out->len = (size_t)n - 4;
	out->hash = (enum unvmf_psk_hash)hash;
	memset(raw, 0, sizeof(raw));
	return 0;
}

int unvmf_psk_interchange_format(const struct unvmf_psk_key *key, char *buf, size_t len)
{
	uint8_t raw[UNVMF_PSK_MAX_LEN + 4];
	uint32_t crc;
	int n, rc;

	if ((key->len != 32 && key->len != 48) || key->hash > UNVMF_PSK_HASH_SHA384)
		return -EINVAL;
	memcpy(raw, key->key, key->len);
	crc = unvmf_crc32_ieee(key->key, key->len);
	for (int i = 0; i < 4; i++)
		raw[key->len + (size_t)i] = (uint8_t)(crc >> (8 * i));
	n = snprintf(buf, len, PSK_PREFIX "%02u:", (unsigned)key->hash);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	rc = unvmf_base64_encode(raw, key->len + 4, buf + n, len - (size_t)n);
	memset(raw, 0, sizeof(raw));
	if (rc < 0)
		return rc;
	if ((size_t)n + (size_t)rc + 2 > len)
		return -ENOSPC;
	buf[n + rc] = ':';
	buf[n + rc + 1] = '\0';
	return 0;
}

int unvmf_psk_file_load(const char *path, struct unvmf_psk_key *out)
{
	char text[UNVMF_PSK_INTERCHANGE_BUF + 1];
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
	/* A key others can read is not secret any more; SPDK's keyring refuses it too. */
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
	rc = unvmf_psk_interchange_parse(text, out);
	memset(text, 0, sizeof(text));
out_close:
	close(fd);
	return rc;
}

enum unvmf_psk_hash unvmf_psk_cipher_hash(const struct unvmf_psk_key *key)
{
	return key->len == 48 ? UNVMF_PSK_HASH_SHA384 : UNVMF_PSK_HASH_SHA256;
}

int unvmf_psk_identity_build(const struct unvmf_psk_identity *id, char *buf, size_t len)
{
	int n;

	if (id->hash != UNVMF_PSK_HASH_SHA256 && id->hash != UNVMF_PSK_HASH_SHA384)
		return -EINVAL;
	if (id->version == 0)
		n = snprintf(buf, len, "NVMe0R%02u %s %s", (unsigned)id->hash, id->hostnqn,
		             id->subnqn);
	else if (id->version == 1)
		n = snprintf(buf, len, "NVMe1R%02u %s %s %s", (unsigned)id->hash, id->hostnqn,
		             id->subnqn, id->digest);
	else
		return -EINVAL;
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* Copies the space-free word at *p (up to end) into dst; false if empty or too long. */
static bool identity_word(const char **p, const char *end, char *dst, size_t dst_len)
{
	const char *s = *p;
	size_t n = 0;

	while (s + n < end && s[n] != ' ' && s[n] != '\0')
		n++;
	if (n == 0 || n >= dst_len)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*p = s + n;
	return true;
}

int unvmf_psk_identity_parse(const char *text, size_t len, struct unvmf_psk_identity *out)
{
	const char *p = text, *end = text + len;

	memset(out, 0, sizeof(*out));
	/* "NVMe" v "R" hh ' ' */
	if (len < 10 || memcmp(p, "NVMe", 4) != 0 || (p[4] != '0' && p[4] != '1') || p[5] != 'R' ||
	    p[6] != '0' || (p[7] != '1' && p[7] != '2') || p[8] != ' ')
		return -EINVAL;
	out->version = (unsigned)(p[4] - '0');
	out->hash = (enum unvmf_psk_hash)(p[7] - '0');
	p += 9;
	if (!identity_word(&p, end, out->hostnqn, sizeof(out->hostnqn)) || p >= end || *p++ != ' ')
		return -EINVAL;
	if (!identity_word(&p, end, out->subnqn, sizeof(out->subnqn)))
		return -EINVAL;
	if (out->version == 0)
		return p == end ? 0 : -EINVAL;
	if (p >= end || *p++ != ' ' || !identity_word(&p, end, out->digest, sizeof(out->digest)))
		return -EINVAL;
	return p == end ? 0 : -EINVAL;
}
