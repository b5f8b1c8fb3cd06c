/*
 * DH-HMAC-CHAP computations (proto/dhchap*.c) against answers computed
 * outside this code: secrets built with Python's base64 and zlib.crc32, the
 * transformed keys and responses with the openssl CLI (`openssl dgst -sha256
 * -mac HMAC -macopt hexkey:...` over the bytes the spec concatenates), and
 * an ffdhe exchange whose two sides must agree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/dhchap.h"

#define HOSTNQN "nqn.2024-12.io.unvmf:host-auth"
#define SUBNQN "nqn.2024-12.io.unvmf:auth"
/* bytes 0..31 with hash 01; bytes 64..127 with hash 03; bytes 100..147 untransformed. */
#define SECRET_A "DHHC-1:01:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:"
#define SECRET_C                                                                                   \
	"DHHC-1:03:"                                                                               \
	"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+"     \
	"fx/Gj1o=:"
#define SECRET_E                                                                                   \
	"DHHC-1:00:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTvGwQfg==:"

static void hex_to(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
}

static void test_secret_parse(void **state)
{
	struct unvmf_dhchap_key k;
	char text[UNVMF_DHCHAP_SECRET_BUF];

	(void)state;
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_A "\n", &k), 0);
	assert_int_equal(k.len, 32);
	assert_int_equal(k.hash, 1);
	for (int i = 0; i < 32; i++)
		assert_int_equal(k.key[i], i);
	assert_int_equal(unvmf_dhchap_secret_format(&k, text, sizeof(text)), 0);
	assert_string_equal(text, SECRET_A);
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_C, &k), 0);
	assert_int_equal(k.len, 64);
	assert_int_equal(k.hash, 3);
	assert_int_equal(k.key[0], 64);
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_E, &k), 0);
	assert_int_equal(k.len, 48);
	assert_int_equal(k.hash, 0);
}

static void test_secret_refused(void **state)
{
	struct unvmf_dhchap_key k;
	char bad[UNVMF_DHCHAP_SECRET_BUF];

	(void)state;
	/* One bit of the CRC-32 changed. */
	snprintf(bad, sizeof(bad), "%s", SECRET_A);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'R' ? 'S' : 'R';
	assert_int_equal(unvmf_dhchap_secret_parse(bad, &k), -EINVAL);
	/* A hash id above 03. */
	snprintf(bad, sizeof(bad), "DHHC-1:04:%s", SECRET_A + 10);
	assert_int_equal(unvmf_dhchap_secret_parse(bad, &k), -EINVAL);
	assert_int_equal(unvmf_dhchap_secret_parse("DHHC-1:01:AAECAwQFBgc=:", &k), -EINVAL);
	assert_int_equal(unvmf_dhchap_secret_parse("NVMeTLSkey-1:01:AAAA:", &k), -EINVAL);
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_A "x", &k), -EINVAL);
}

static void test_transform(void **state)
{
	uint8_t out[UNVMF_DHCHAP_KEY_MAX], want[64];
	struct unvmf_dhchap_key k;
	size_t len;

	(void)state;
	if (!unvmf_dhchap_supported())
		skip();
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_A, &k), 0);
	assert_int_equal(unvmf_dhchap_transform(&k, HOSTNQN, out, &len), 0);
	hex_to("c765d99b76e92c33076abd16eb0bed745e1c09ecec5cb28198a8322764c9c0c2", want, 32);
	assert_int_equal(len, 32);
	assert_memory_equal(out, want, 32);
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_C, &k), 0);
	assert_int_equal(unvmf_dhchap_transform(&k, SUBNQN, out, &len), 0);
	hex_to(
	    "8009db1c9dca5f3f275ff022725f76d069285403fd496c885c586086b9d6101fddd6bc7e3f3b2d35bd67"
	    "9bf99acd88eb9cc432551dec7e964627301ad6ee0f00",
	    want, 64);
	assert_int_equal(len, 64);
	assert_memory_equal(out, want, 64);
	/* 00: the secret as it is. */
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_E, &k), 0);
	assert_int_equal(unvmf_dhchap_transform(&k, HOSTNQN, out, &len), 0);
	assert_int_equal(len, 48);
	assert_memory_equal(out, k.key, 48);
}

static void test_responses(void **state)
{
	uint8_t c1[32], c2[64], sess[256], out[64], want[64];
	struct unvmf_dhchap_key a, c;

	(void)state;
	if (!unvmf_dhchap_supported())
		skip();
	memset(c1, 0xa5, sizeof(c1));
	memset(c2, 0x5a, sizeof(c2));
	memset(sess, 0x11, sizeof(sess));
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_A, &a), 0);
	assert_int_equal(unvmf_dhchap_secret_parse(SECRET_C, &c), 0);
	/* R1, null group. */
	assert_int_equal(unvmf_dhchap_response(UNVMF_DHCHAP_ROLE_HOST, &a, NVME_AUTH_HASH_SHA256,
	                                       c1, NULL, 0, 0x01020304, 0x0506, HOSTNQN, SUBNQN,
	                                       out),
	                 0);
	hex_to("150bf068dea3f290180c625bc3c7c56117d1c5010366f7fee4d50d97bcfb311b", want, 32);
	assert_memory_equal(out, want, 32);
	/* R1 over the challenge augmented by a session key. */
	assert_int_equal(unvmf_dhchap_response(UNVMF_DHCHAP_ROLE_HOST, &a, NVME_AUTH_HASH_SHA256,
	                                       c1, sess, sizeof(sess), 0x01020304, 0x0506, HOSTNQN,
	                                       SUBNQN, out),
	                 0);
	hex_to("6342dc84694d081e957e0ddd2f0bc75e15de1484c5fb5fee6c30603d421bf4b9", want, 32);
	assert_memory_equal(out, want, 32);
	/* R2, SHA-512: the NQNs in the other order, transformed by the subsystem NQN. */
	assert_int_equal(unvmf_dhchap_response(UNVMF_DHCHAP_ROLE_CTRLR, &c, NVME_AUTH_HASH_SHA512,
	                                       c2, NULL, 0, 7, 0x0506, HOSTNQN, SUBNQN, out),
	                 0);
	hex_to(
	    "697986874743b0cc1f8feb06662f7070ace8e9c6a4c339cbd7e8deef1f68bb2513ed8b223886766e2329"
	    "aeb837a046bd424e381d9087ff22c76a636b2d0f6d04",
	    want, 64);
	assert_memory_equal(out, want, 64);
}

static void test_ffdhe_agree(void **state)
{
	static uint8_t pa[UNVMF_DHCHAP_DH_MAX], pb[UNVMF_DHCHAP_DH_MAX];
	static uint8_t sa[UNVMF_DHCHAP_DH_MAX], sb[UNVMF_DHCHAP_DH_MAX];
	struct unvmf_dhchap_dh *a, *b;

	(void)state;
	if (!unvmf_dhchap_supported())
		skip();
	for (uint8_t g = NVME_AUTH_DHGROUP_2048; g <= NVME_AUTH_DHGROUP_3072; g++) {
		size_t len = unvmf_dhchap_dhgroup_len(g);

		assert_int_equal(unvmf_dhchap_dh_generate(g, &a, pa), 0);
		assert_int_equal(unvmf_dhchap_dh_generate(g, &b, pb), 0);
		assert_int_equal(unvmf_dhchap_dh_derive(a, pb, len, sa), 0);
		assert_int_equal(unvmf_dhchap_dh_derive(b, pa, len, sb), 0);
		assert_memory_equal(sa, sb, len);
		/* 1 and p - 1 are not public values of the group. */
		memset(pb, 0, len);
		pb[len - 1] = 1;
		assert_int_equal(unvmf_dhchap_dh_derive(a, pb, len, sa), -EINVAL);
		assert_int_equal(unvmf_dhchap_dh_derive(a, pa, len - 1, sa), -EINVAL);
		unvmf_dhchap_dh_free(a);
		unvmf_dhchap_dh_free(b);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(unvmf_dhchap_hash_by_name("sha384"), 2);
	assert_int_equal(unvmf_dhchap_dhgroup_by_name("null"), 0);
	assert_int_equal(unvmf_dhchap_dhgroup_by_name("ffdhe8192"), 5);
	assert_int_equal(unvmf_dhchap_dhgroup_by_name("ffdhe1024"), -EINVAL);
	assert_int_equal(unvmf_dhchap_dhgroup_len(NVME_AUTH_DHGROUP_6144), 768);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_parse), cmocka_unit_test(test_secret_refused),
	    cmocka_unit_test(test_transform),    cmocka_unit_test(test_responses),
	    cmocka_unit_test(test_ffdhe_agree),  cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
