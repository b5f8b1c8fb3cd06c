/*
 * NVMe/TCP TLS keys and the TLS socket: the interchange format and the
 * identity (util/tls_psk.c), the derivations against libnvme's known
 * answers, and handshakes over a socketpair (sock/sock_tls.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sock/sock_tls.h"
#include "util/tls_psk.h"

/* libnvme's test/psk.c vectors (configured key, interchange text, version 1 identities). */
static const uint8_t g_key32[32] = {
    0x55, 0x12, 0xDB, 0xB6, 0x73, 0x7D, 0x01, 0x06, 0xF6, 0x59, 0x75, 0xB7, 0x73, 0xDF, 0xB0, 0x11,
    0xFF, 0xC3, 0x44, 0xBC, 0xF4, 0x42, 0xE2, 0xDD, 0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03};
#define KEY32_01 "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define KEY32_00 "NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define KEY48_02                                                                                   \
	"NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/"                             \
	"w0S89ELi3W2LxIcLXVsDn8kXZQ==:"
#define HOSTNQN "nqn.psk-test-host"
#define SUBNQN "nqn.psk-test-subsys"

static void key48(uint8_t *k)
{
	memcpy(k, g_key32, 32);
	memcpy(k + 32, g_key32 + 16, 16);
}

static void test_interchange_parse_known(void **state)
{
	struct unvmf_psk_key k;
	uint8_t k48[48];

	(void)state;
	assert_int_equal(unvmf_psk_interchange_parse(KEY32_01, &k), 0);
	assert_int_equal(k.len, 32);
	assert_int_equal(k.hash, UNVMF_PSK_HASH_SHA256);
	assert_memory_equal(k.key, g_key32, 32);
	/* A key file ends with a newline. */
	assert_int_equal(unvmf_psk_interchange_parse(KEY32_00 "\n", &k), 0);
	assert_int_equal(k.hash, UNVMF_PSK_HASH_NONE);
	assert_int_equal(unvmf_psk_interchange_parse(KEY48_02, &k), 0);
	key48(k48);
	assert_int_equal(k.len, 48);
	assert_int_equal(k.hash, UNVMF_PSK_HASH_SHA384);
	assert_memory_equal(k.key, k48, 48);
}

static void test_interchange_format_roundtrip(void **state)
{
	struct unvmf_psk_key k = {.len = 32, .hash = UNVMF_PSK_HASH_SHA256};
	char buf[UNVMF_PSK_INTERCHANGE_BUF];

	(void)state;
	memcpy(k.key, g_key32, 32);
	assert_int_equal(unvmf_psk_interchange_format(&k, buf, sizeof(buf)), 0);
	assert_string_equal(buf, KEY32_01);
	k.len = 48;
	k.hash = UNVMF_PSK_HASH_SHA384;
	key48(k.key);
	assert_int_equal(unvmf_psk_interchange_format(&k, buf, sizeof(buf)), 0);
	assert_string_equal(buf, KEY48_02);
	assert_int_equal(unvmf_psk_interchange_format(&k, buf, 20), -ENOSPC);
}

static void test_interchange_parse_rejects(void **state)
{
	struct unvmf_psk_key k;
	char bad[sizeof(KEY32_01)];

	(void)state;
	/* One base64 character changed: the CRC-32 no longer matches. */
	memcpy(bad, KEY32_01, sizeof(bad));
	bad[20] = bad[20] == 'A' ? 'B' : 'A';
	assert_int_equal(unvmf_psk_interchange_parse(bad, &k), -EINVAL);
	/* A 48-byte key cannot claim SHA-256, nor a 32-byte one SHA-384. */
	assert_int_equal(
	    unvmf_psk_interchange_parse("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/"
	                                "DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:",
	                                &k),
	    -EINVAL);
	assert_int_equal(
	    unvmf_psk_interchange_parse(
	        "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:", &k),
	    -EINVAL);
	assert_int_equal(unvmf_psk_interchange_parse("NVMeTLSkey-1:03:VRLbtnN9AQb2WXW3c9+wEf/"
	                                             "DRLz0QuLdbYvEhwtdWwNf9LrZ:",
	                                             &k),
	                 -EINVAL);
	assert_int_equal(unvmf_psk_interchange_parse("NVMeTLSkey-2:01:VRLbtnN9AQb2WXW3c9+wEf/"
	                                             "DRLz0QuLdbYvEhwtdWwNf9LrZ:",
	                                             &k),
	                 -EINVAL);
	/* Missing the final colon, and a truncated base64. */
	assert_int_equal(
	    unvmf_psk_interchange_parse(
	        "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ", &k),
	    -EINVAL);
	assert_int_equal(unvmf_psk_interchange_parse("NVMeTLSkey-1:01:VRLb:", &k), -EINVAL);
	assert_int_equal(unvmf_psk_interchange_parse("", &k), -EINVAL);
}

static void test_crc32_base64(void **state)
{
	uint8_t out[8];

	(void)state;
	/* The CRC-32 check value of "123456789". */
	assert_int_equal(unvmf_crc32_ieee("123456789", 9), 0xcbf43926u);
	assert_int_equal(unvmf_base64_decode("Zm9vYg==", 8, out, sizeof(out)), 4);
	assert_memory_equal(out, "foob", 4);
	assert_int_equal(unvmf_base64_decode("Zm9v*mFy", 8, out, sizeof(out)), -EINVAL);
	assert_int_equal(unvmf_base64_decode("Zm=vYmFy", 8, out, sizeof(out)), -EINVAL);
	assert_int_equal(unvmf_base64_decode("Zm9", 3, out, sizeof(out)), -EINVAL);
}

static void test_key_file_permissions(void **state)
{
	char path[] = "/tmp/unvmf-psk-XXXXXX";
	struct unvmf_psk_key k;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, KEY32_01 "\n", strlen(KEY32_01) + 1),
	                 (ssize_t)strlen(KEY32_01) + 1);
	close(fd);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(unvmf_psk_file_load(path, &k), 0);
	assert_memory_equal(k.key, g_key32, 32);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(unvmf_psk_file_load(path, &k), -EACCES);
	unlink(path);
	assert_int_equal(unvmf_psk_file_load(path, &k), -ENOENT);
}

static void test_identity_build_parse(void **state)
{
	struct unvmf_psk_identity id = {.version = 0, .hash = UNVMF_PSK_HASH_SHA256}, back;
	char buf[UNVMF_PSK_IDENTITY_BUF];
	const char *v1 = "NVMe1R02 " HOSTNQN " " SUBNQN " abc+/=";

	(void)state;
	strcpy(id.hostnqn, HOSTNQN);
	strcpy(id.subnqn, SUBNQN);
	assert_int_equal(unvmf_psk_identity_build(&id, buf, sizeof(buf)),
	                 (int)strlen("NVMe0R01 " HOSTNQN " " SUBNQN));
	assert_string_equal(buf, "NVMe0R01 " HOSTNQN " " SUBNQN);
	/* On the wire the identity is not NUL-terminated: parse by length. */
	assert_int_equal(unvmf_psk_identity_parse(buf, strlen(buf), &back), 0);
	assert_int_equal(back.version, 0);
	assert_int_equal(back.hash, UNVMF_PSK_HASH_SHA256);
	assert_string_equal(back.hostnqn, HOSTNQN);
	assert_string_equal(back.subnqn, SUBNQN);
	assert_int_equal(unvmf_psk_identity_parse(v1, strlen(v1), &back), 0);
	assert_int_equal(back.version, 1);
	assert_int_equal(back.hash, UNVMF_PSK_HASH_SHA384);
	assert_string_equal(back.digest, "abc+/=");
	/* Malformed ones. */
	assert_int_equal(unvmf_psk_identity_parse("NVMe0R03 a b", 12, &back), -EINVAL);
	assert_int_equal(unvmf_psk_identity_parse("NVMe2R01 a b", 12, &back), -EINVAL);
	assert_int_equal(unvmf_psk_identity_parse("NVMe0R01 a", 10, &back), -EINVAL);
	assert_int_equal(unvmf_psk_identity_parse("NVMe0R01 a b c", 14, &back), -EINVAL);
	assert_int_equal(unvmf_psk_identity_parse("NVMe1R01 a b", 12, &back), -EINVAL);
	assert_int_equal(unvmf_psk_identity_parse("NVMe0R01  b", 11, &back), -EINVAL);
	id.version = 1;
	strcpy(id.digest, "xyz");
	assert_int_equal(unvmf_psk_identity_build(&id, buf, 16), -ENOSPC);
}

static void skip_without_tls(void)
{
	if (!unvmf_sock_tls_available())
		skip();
}

/*
 * libnvme's version 1 identities: the digest is an HMAC keyed with the
 * retained PSK, so it checks the HostNQN derivation (RFC 8446 HkdfLabel) and
 * the digest itself.
 */
static void test_digest_known_answer(void **state)
{
	struct unvmf_psk_key k;
	uint8_t retained[48];
	char digest[80];

	(void)state;
	skip_without_tls();
	assert_int_equal(unvmf_psk_interchange_parse(KEY32_01, &k), 0);
	assert_int_equal(unvmf_tls_psk_retained(&k, HOSTNQN, retained), 0);
	assert_int_equal(unvmf_tls_psk_digest(UNVMF_PSK_HASH_SHA256, retained, 32, HOSTNQN, SUBNQN,
	                                      digest, sizeof(digest)),
	                 0);
	assert_string_equal(digest, "iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=");
	assert_int_equal(unvmf_psk_interchange_parse(KEY48_02, &k), 0);
	assert_int_equal(unvmf_tls_psk_retained(&k, HOSTNQN, retained), 0);
	assert_int_equal(unvmf_tls_psk_digest(UNVMF_PSK_HASH_SHA384, retained, 48, HOSTNQN, SUBNQN,
	                                      digest, sizeof(digest)),
	                 0);
	assert_string_equal(digest,
	                    "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a");
	/* Hash 00: the configured PSK is the retained PSK. */
	assert_int_equal(unvmf_psk_interchange_parse(KEY32_00, &k), 0);
	assert_int_equal(unvmf_tls_psk_retained(&k, HOSTNQN, retained), 0);
	assert_memory_equal(retained, g_key32, 32);
}

static void test_tls_psk_for_identity(void **state)
{
	struct unvmf_psk_identity id;
	struct unvmf_psk_key k, other;
	uint8_t a[48], b[48];
	size_t alen, blen;
	const char *v0 = "NVMe0R01 " HOSTNQN " " SUBNQN;
	const char *v0b = "NVMe0R01 " HOSTNQN " nqn.other";

	(void)state;
	skip_without_tls();
	assert_int_equal(unvmf_psk_interchange_parse(KEY32_01, &k), 0);
	assert_int_equal(unvmf_psk_identity_parse(v0, strlen(v0), &id), 0);
	assert_int_equal(unvmf_tls_psk_for_identity(&k, &id, v0, a, &alen), 0);
	assert_int_equal(alen, 32);
	assert_int_equal(unvmf_tls_psk_for_identity(&k, &id, v0, b, &blen), 0);
	assert_memory_equal(a, b, 32);
	/* The identity is the context: another subsystem, another TLS PSK. */
	assert_int_equal(unvmf_psk_identity_parse(v0b, strlen(v0b), &id), 0);
	assert_int_equal(unvmf_tls_psk_for_identity(&k, &id, v0b, b, &blen), 0);
	assert_memory_not_equal(a, b, 32);
	/* And another retained hash, another TLS PSK. */
	assert_int_equal(unvmf_psk_interchange_parse(KEY32_00, &other), 0);
	assert_int_equal(unvmf_psk_identity_parse(v0, strlen(v0), &id), 0);
	assert_int_equal(unvmf_tls_psk_for_identity(&other, &id, v0, b, &blen), 0);
	assert_memory_not_equal(a, b, 32);
	/* A 32-byte key does not serve a SHA-384 identity. */
	assert_int_equal(unvmf_psk_identity_parse("NVMe0R02 a b", 12, &id), 0);
	assert_int_equal(unvmf_tls_psk_for_identity(&k, &id, "NVMe0R02 a b", b, &blen), -ENOKEY);
}

/* ---- handshakes over a socketpair ---- */

struct server_keys {
	struct unvmf_psk_key key;
	int lookups;
	char hostnqn[UNVMF_PSK_NQN_BUF];
};

static int lookup_cb(void *arg, const struct unvmf_psk_identity *id, struct unvmf_psk_key *key)
{
	struct server_keys *s = arg;

	s->lookups++;
	if (strcmp(id->hostnqn, s->hostnqn) != 0)
		return -ENOKEY;
	*key = s->key;
	return 0;
}

struct tls_pair {
	struct unvmf_sock *c;
	struct unvmf_sock *s;
	int crc;
	int src;
};

/*
 * Drives both handshakes until both finish or fail. A side that fails is
 * closed, as the target and host do: the other then sees its alert or close.
 */
static void pair_handshake(struct tls_pair *p)
{
	p->crc = p->src = 1;
	for (int i = 0; i < 100 && (p->crc > 0 || p->src > 0); i++) {
		if (p->crc > 0) {
			p->crc = unvmf_sock_handshake(p->c);
			if (p->crc < 0) {
				unvmf_sock_close(p->c);
				p->c = NULL;
			}
		}
		if (p->src > 0) {
			p->src = unvmf_sock_handshake(p->s);
			if (p->src < 0) {
				unvmf_sock_close(p->s);
				p->s = NULL;
			}
		}
	}
}

static int pair_open(struct tls_pair *p, const char *client_key, const char *identity,
                     struct server_keys *sk)
{
	struct unvmf_sock *a, *b;
	struct unvmf_psk_key ck;
	int fds[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(unvmf_sock_plain_create(fds[0], &a), 0);
	assert_int_equal(unvmf_sock_plain_create(fds[1], &b), 0);
	assert_int_equal(unvmf_psk_interchange_parse(client_key, &ck), 0);
	assert_int_equal(unvmf_sock_tls_client(a, identity, &ck, &p->c), 0);
	assert_int_equal(unvmf_sock_tls_server(b, lookup_cb, sk, &p->s), 0);
	pair_handshake(p);
	return 0;
}

static void pair_close(struct tls_pair *p)
{
	unvmf_sock_close(p->c);
	unvmf_sock_close(p->s);
}

static void server_keys_init(struct server_keys *sk, const char *key)
{
	memset(sk, 0, sizeof(*sk));
	assert_int_equal(unvmf_psk_interchange_parse(key, &sk->key), 0);
	strcpy(sk->hostnqn, HOSTNQN);
}

static void test_tls_handshake_and_data(void **state)
{
	struct server_keys sk;
	struct tls_pair p;
	static uint8_t out[300000], in[300000];
	size_t sent = 0, got = 0;
	const struct unvmf_psk_identity *id;

	(void)state;
	skip_without_tls();
	server_keys_init(&sk, KEY32_01);
	pair_open(&p, KEY32_01, "NVMe0R01 " HOSTNQN " " SUBNQN, &sk);
	assert_int_equal(p.crc, UNVMF_SOCK_WANT_NONE);
	assert_int_equal(p.src, UNVMF_SOCK_WANT_NONE);
	assert_int_equal(sk.lookups, 1);
	id = unvmf_sock_tls_identity(p.s);
	assert_non_null(id);
	assert_string_equal(id->hostnqn, HOSTNQN);
	assert_string_equal(id->subnqn, SUBNQN);
	assert_string_equal(unvmf_sock_kind(p.s), "tls");
	/* More than the socket buffers hold: writes hit EAGAIN and must retry the same bytes. */
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	while (got < sizeof(in)) {
		if (sent < sizeof(out)) {
			struct iovec iov[2] = {{out + sent, (sizeof(out) - sent) / 2},
			                       {out + sent + (sizeof(out) - sent) / 2,
			                        sizeof(out) - sent - (sizeof(out) - sent) / 2}};
			ssize_t n = unvmf_sock_writev(p.c, iov, 2);

			assert_true(n > 0 || n == -EAGAIN);
			if (n > 0)
				sent += (size_t)n;
		}
		/* Small reads leave decrypted bytes inside the socket: pending says so. */
		ssize_t r = unvmf_sock_recv(p.s, in + got,
		                            (sizeof(in) - got < 1000 ? sizeof(in) - got : 1000));

		assert_true(r > 0 || r == -EAGAIN);
		if (r > 0)
			got += (size_t)r;
	}
	assert_memory_equal(in, out, sizeof(out));
	assert_false(unvmf_sock_pending(p.s));
	assert_int_equal(unvmf_sock_recv(p.s, in, 10), -EAGAIN);
	/* Close: the reader sees 0. */
	unvmf_sock_close(p.c);
	p.c = NULL;
	assert_int_equal(unvmf_sock_recv(p.s, in, 10), 0);
	pair_close(&p);
}

static void test_tls_pending_after_small_read(void **state)
{
	struct server_keys sk;
	struct tls_pair p;
	uint8_t buf[4096] = {1, 2, 3}, in[4096];

	(void)state;
	skip_without_tls();
	server_keys_init(&sk, KEY48_02);
	pair_open(&p, KEY48_02, "NVMe0R02 " HOSTNQN " " SUBNQN, &sk);
	assert_int_equal(p.src, UNVMF_SOCK_WANT_NONE);
	assert_int_equal(unvmf_sock_send(p.c, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(unvmf_sock_recv(p.s, in, 100), 100);
	/* The rest of the record is inside OpenSSL, not in the descriptor. */
	assert_true(unvmf_sock_pending(p.s));
	assert_int_equal(unvmf_sock_poll(p.s, true, false, 0), 0);
	assert_int_equal(unvmf_sock_recv(p.s, in + 100, sizeof(in)), (ssize_t)sizeof(in) - 100);
	assert_memory_equal(in, buf, sizeof(buf));
	assert_false(unvmf_sock_pending(p.s));
	pair_close(&p);
}

static void test_tls_version1_identity(void **state)
{
	struct server_keys sk;
	struct tls_pair p;
	char identity[UNVMF_PSK_IDENTITY_BUF];

	(void)state;
	skip_without_tls();
	server_keys_init(&sk, KEY32_01);
	snprintf(identity, sizeof(identity), "NVMe1R01 %s %s %s", HOSTNQN, SUBNQN,
	         "iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU=");
	pair_open(&p, KEY32_01, identity, &sk);
	assert_int_equal(p.crc, UNVMF_SOCK_WANT_NONE);
	assert_int_equal(p.src, UNVMF_SOCK_WANT_NONE);
	assert_int_equal(unvmf_sock_tls_identity(p.s)->version, 1);
	pair_close(&p);
}

static void test_tls_wrong_key_rejected(void **state)
{
	struct server_keys sk;
	struct tls_pair p;

	(void)state;
	skip_without_tls();
	/* Same bytes, other retained hash: a different TLS PSK on each side. */
	server_keys_init(&sk, KEY32_00);
	pair_open(&p, KEY32_01, "NVMe0R01 " HOSTNQN " " SUBNQN, &sk);
	assert_int_equal(p.src, -EKEYREJECTED);
	assert_true(p.crc < 0);
	pair_close(&p);
}

static void test_tls_unknown_identity(void **state)
{
	struct server_keys sk;
	struct tls_pair p;

	(void)state;
	skip_without_tls();
	server_keys_init(&sk, KEY32_01);
	strcpy(sk.hostnqn, "nqn.someone-else");
	pair_open(&p, KEY32_01, "NVMe0R01 " HOSTNQN " " SUBNQN, &sk);
	assert_int_equal(p.src, -ENOKEY);
	assert_true(p.crc < 0);
	pair_close(&p);
}

static void test_tls_server_refuses_clear_text(void **state)
{
	struct server_keys sk;
	struct unvmf_sock *a, *b, *s;
	/* The first bytes of an ICReq: type 0, flags 0, hlen 128. */
	const uint8_t icreq[8] = {0x00, 0x00, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00};
	int fds[2];

	(void)state;
	skip_without_tls();
	server_keys_init(&sk, KEY32_01);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(unvmf_sock_plain_create(fds[0], &a), 0);
	assert_int_equal(unvmf_sock_plain_create(fds[1], &b), 0);
	assert_int_equal(unvmf_sock_tls_server(b, lookup_cb, &sk, &s), 0);
	assert_int_equal(unvmf_sock_handshake(s), UNVMF_SOCK_WANT_READ);
	assert_int_equal(unvmf_sock_send(a, icreq, sizeof(icreq)), (ssize_t)sizeof(icreq));
	assert_int_equal(unvmf_sock_handshake(s), -EPROTONOSUPPORT);
	assert_int_equal(sk.lookups, 0);
	unvmf_sock_close(a);
	unvmf_sock_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_interchange_parse_known),
	    cmocka_unit_test(test_interchange_format_roundtrip),
	    cmocka_unit_test(test_interchange_parse_rejects),
	    cmocka_unit_test(test_crc32_base64),
	    cmocka_unit_test(test_key_file_permissions),
	    cmocka_unit_test(test_identity_build_parse),
	    cmocka_unit_test(test_digest_known_answer),
	    cmocka_unit_test(test_tls_psk_for_identity),
	    cmocka_unit_test(test_tls_handshake_and_data),
	    cmocka_unit_test(test_tls_pending_after_small_read),
	    cmocka_unit_test(test_tls_version1_identity),
	    cmocka_unit_test(test_tls_wrong_key_rejected),
	    cmocka_unit_test(test_tls_unknown_identity),
	    cmocka_unit_test(test_tls_server_refuses_clear_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
