/* util/: CRC32C vectors, the buffer pool and caches, string helpers; trid and NQN parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "proto/trid.h"
#include "util/buf_pool.h"
#include "util/common.h"
#include "util/crc32c.h"

static void test_crc32c_vectors(void **state)
{
	uint8_t zeros[32] = {0}, ones[32], inc[32];
	struct iovec iov[3];

	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	/* RFC 3720 B.4 test vectors. */
	assert_int_equal(unvmf_crc32c(zeros, 32), 0x8a9136aa);
	assert_int_equal(unvmf_crc32c(ones, 32), 0x62a8ab43);
	assert_int_equal(unvmf_crc32c(inc, 32), 0x46dd794e);
	assert_int_equal(unvmf_crc32c("123456789", 9), 0xe3069283);
	/* Scattered buffers give the same digest, and len bounds what is read. */
	iov[0] = (struct iovec){inc, 5};
	iov[1] = (struct iovec){inc + 5, 20};
	iov[2] = (struct iovec){inc + 25, 100};
	assert_int_equal(unvmf_crc32c_iov(iov, 3, 32), 0x46dd794e);
}

static void test_buf_pool_conservation(void **state)
{
	struct unvmf_buf_pool pool;
	struct unvmf_buf_cache a, b;
	void *bufs[64];
	void *more[64];

	assert_int_equal(unvmf_buf_pool_init(&pool, 64, 4096, 4096), 0);
	assert_int_equal(unvmf_buf_cache_init(&a, &pool, 16), 0);
	assert_int_equal(unvmf_buf_cache_init(&b, &pool, 16), 0);
	/* Caches prefill half their size. */
	assert_int_equal(unvmf_buf_pool_available(&pool), 64 - 8 - 8);
	assert_int_equal(unvmf_buf_cache_get(&a, bufs, 40), 0);
	for (int i = 0; i < 40; i++) {
		assert_true((uintptr_t)bufs[i] % 4096 == 0);
		memset(bufs[i], i, 4096);	/* ASan: each is a whole, distinct buffer */
	}
	/*
	 * What b can have is the pool plus its own cache: a's cache keeps its
	 * spares (the price of lock-free caches). All or nothing past that.
	 */
	uint32_t reachable = 64 - 40 - a.count;

	assert_int_equal(unvmf_buf_pool_available(&pool) + b.count, reachable);
	assert_int_equal(unvmf_buf_cache_get(&b, more, reachable + 1), -ENOMEM);
	assert_int_equal(b.outstanding, 0);
	assert_int_equal(unvmf_buf_pool_available(&pool) + b.count, reachable);
	assert_int_equal(unvmf_buf_cache_get(&b, more, reachable), 0);
	assert_int_equal(unvmf_buf_cache_get(&b, more + reachable, 1), -ENOMEM);
	unvmf_buf_cache_put(&a, bufs, 40);
	unvmf_buf_cache_put(&b, more, reachable);
	unvmf_buf_cache_fini(&a);
	unvmf_buf_cache_fini(&b);
	assert_int_equal(unvmf_buf_pool_available(&pool), 64);
	unvmf_buf_pool_fini(&pool);
}

static void test_strings(void **state)
{
	char small[4];
	char pad[8];

	assert_int_equal(unvmf_strlcpy(small, "abc", sizeof(small)), 0);
	assert_string_equal(small, "abc");
	assert_int_equal(unvmf_strlcpy(small, "abcd", sizeof(small)), -1);
	assert_string_equal(small, "abc");
	unvmf_str_pad(pad, sizeof(pad), "ab");
	assert_memory_equal(pad, "ab      ", 8);
}

static void test_trid_parse(void **state)
{
	struct unvmf_trid t;

	assert_int_equal(unvmf_trid_parse(&t, "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 "
					     "subnqn:nqn.2024-11.io.unvmf:default"), 0);
	assert_int_equal(t.trtype, NVMF_TRTYPE_TCP);
	assert_int_equal(t.adrfam, NVMF_ADRFAM_IPV4);
	assert_string_equal(t.traddr, "127.0.0.1");
	assert_string_equal(t.trsvcid, "4420");
	assert_string_equal(t.subnqn, "nqn.2024-11.io.unvmf:default");
	assert_int_equal(unvmf_trid_parse(&t, "trtype=rdma traddr=::1 trsvcid=4421"), 0);
	assert_int_equal(t.trtype, NVMF_TRTYPE_RDMA);
	assert_int_equal(t.adrfam, NVMF_ADRFAM_IPV6);
	assert_int_equal(unvmf_trid_parse(&t, "trtype:FOO traddr:1.2.3.4"), -EINVAL);
	assert_int_equal(unvmf_trid_parse(&t, "trtype:TCP"), -EINVAL);
	assert_int_equal(unvmf_trid_parse(&t, "bogus traddr:1.2.3.4"), -EINVAL);
	assert_int_equal(unvmf_trid_parse(&t, "color:blue traddr:1.2.3.4"), -EINVAL);
}

static void test_nqn_valid(void **state)
{
	char longnqn[300];

	assert_true(unvmf_nqn_valid("nqn.2024-11.io.unvmf:default"));
	assert_true(unvmf_nqn_valid(NVMF_DISCOVERY_NQN));
	assert_true(unvmf_nqn_valid("nqn.2014-08.org.nvmexpress:uuid:7c2a0b6e-0000-4000-8000-00000000000b"));
	assert_false(unvmf_nqn_valid("nqn.2014-08.org.nvmexpress:uuid:not-a-uuid"));
	assert_false(unvmf_nqn_valid("iqn.2024-11.io.unvmf:x"));
	assert_false(unvmf_nqn_valid("nqn.24-11.io.x"));
	assert_false(unvmf_nqn_valid("nqn.2024-11"));
	assert_false(unvmf_nqn_valid(""));
	memset(longnqn, 'a', sizeof(longnqn));
	memcpy(longnqn, "nqn.2024-11.io.x:", 17);
	longnqn[224] = '\0';
	assert_false(unvmf_nqn_valid(longnqn));
	longnqn[223] = '\0';
	assert_true(unvmf_nqn_valid(longnqn));
}

/* One owner per buffer: a second claim, a release by a non-owner, a foreign range all fail. */
static void test_buf_ownership(void **state)
{
	struct unvmf_buf_pool pool;
	struct unvmf_buf_cache c;
	void *bufs[2];
	uint64_t a0, a1;

	(void)state;
	assert_int_equal(unvmf_buf_pool_init(&pool, 8, 4096, 4096), 0);
	assert_int_equal(unvmf_buf_cache_init(&c, &pool, 0), 0);
	assert_int_equal(unvmf_buf_cache_get(&c, bufs, 2), 0);
	a0 = (uint64_t)(uintptr_t)bufs[0];
	a1 = (uint64_t)(uintptr_t)bufs[1];
	assert_int_equal(unvmf_buf_claim(&pool, bufs[0], 7), 0);
	assert_int_equal(unvmf_buf_claim(&pool, bufs[0], 9), -EBUSY);
	assert_int_equal(unvmf_buf_claim(&pool, bufs[1], 9), 0);
	assert_true(unvmf_buf_owned(&pool, a0, 4096, 7));
	assert_true(unvmf_buf_owned(&pool, a0 + 100, 10, 7));
	assert_false(unvmf_buf_owned(&pool, a0, 4096, 9));
	assert_false(unvmf_buf_owned(&pool, a1, 4096, 7));
	/* A range that runs into the next buffer is not inside one buffer. */
	assert_false(unvmf_buf_owned(&pool, a0 + 4000, 200, 7));
	assert_false(unvmf_buf_owned(&pool, (uint64_t)(uintptr_t)&pool, 8, 7));
	assert_int_equal(unvmf_buf_release(&pool, bufs[0], 9), -EPERM);
	assert_int_equal(unvmf_buf_release(&pool, bufs[0], 7), 0);
	assert_int_equal(unvmf_buf_release(&pool, bufs[0], 7), -EPERM);
	assert_false(unvmf_buf_owned(&pool, a0, 4096, 7));
	assert_int_equal(unvmf_buf_release(&pool, bufs[1], 9), 0);
	unvmf_buf_cache_put(&c, bufs, 2);
	unvmf_buf_cache_fini(&c);
	unvmf_buf_pool_fini(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_buf_pool_conservation),
		cmocka_unit_test(test_buf_ownership),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_trid_parse),
		cmocka_unit_test(test_nqn_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
