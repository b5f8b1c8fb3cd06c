/*
 * unvmf_buf_cache_carve (util/buf_pool.c), the buffer carving both targets
 * use: how a length is cut into io_unit_size iovecs, the max_iov bound, and
 * that a take the pool cannot satisfy leaves every buffer where it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util/buf_pool.h"

#define UNIT 4096u
#define MAX_IOV 32u

struct fixture {
	struct unvmf_buf_pool pool;
	struct unvmf_buf_cache cache;
	void *bufs[MAX_IOV + 1];
	struct iovec iov[MAX_IOV + 1];
};

static struct fixture g_f;

static void fixture_init(uint32_t num_buffers, uint32_t cache_size)
{
	memset(&g_f, 0, sizeof(g_f));
	assert_int_equal(unvmf_buf_pool_init(&g_f.pool, num_buffers, UNIT, UNIT), 0);
	assert_int_equal(unvmf_buf_cache_init(&g_f.cache, &g_f.pool, cache_size), 0);
}

static void fixture_fini(void)
{
	unvmf_buf_cache_fini(&g_f.cache);
	assert_int_equal(unvmf_buf_pool_available(&g_f.pool), g_f.pool.num_buffers);
	unvmf_buf_pool_fini(&g_f.pool);
}

/* Buffers the cache and pool hold between them. */
static uint32_t held(void)
{
	return unvmf_buf_pool_available(&g_f.pool) + g_f.cache.count;
}

/* Every entry is its own buffer, unit bytes but the last, and they add up to length. */
static void check_carved(int n, uint32_t length)
{
	uint64_t total = 0;

	assert_int_equal(n, (length + UNIT - 1) / UNIT);
	for (int i = 0; i < n; i++) {
		assert_ptr_equal(g_f.iov[i].iov_base, g_f.bufs[i]);
		if (i + 1 < n)
			assert_int_equal(g_f.iov[i].iov_len, UNIT);
		else
			assert_true(g_f.iov[i].iov_len > 0 && g_f.iov[i].iov_len <= UNIT);
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(g_f.bufs[i], g_f.bufs[j]);
		/* The whole entry is writable: ASan would catch a carve past a buffer. */
		memset(g_f.iov[i].iov_base, 0xa5, g_f.iov[i].iov_len);
		total += g_f.iov[i].iov_len;
	}
	assert_int_equal(total, length);
	assert_true(g_f.cache.outstanding >= (uint64_t)n);
}

static int carve(uint32_t length)
{
	return unvmf_buf_cache_carve(&g_f.cache, length, UNIT, g_f.bufs, g_f.iov, MAX_IOV);
}

static void test_carve_not_a_multiple(void **state)
{
	static const uint32_t lengths[] = {1, UNIT - 1, UNIT + 1, 2 * UNIT + 1808, 5 * UNIT - 512};

	fixture_init(64, 16);
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		int n = carve(lengths[i]);

		check_carved(n, lengths[i]);
		assert_int_equal(g_f.iov[n - 1].iov_len, (lengths[i] - 1) % UNIT + 1);
		unvmf_buf_cache_put(&g_f.cache, g_f.bufs, (uint32_t)n);
	}
	fixture_fini();
}

static void test_carve_exact_units(void **state)
{
	int n;

	fixture_init(64, 16);
	n = carve(UNIT);
	assert_int_equal(n, 1);
	check_carved(n, UNIT);
	assert_int_equal(g_f.iov[0].iov_len, UNIT);
	unvmf_buf_cache_put(&g_f.cache, g_f.bufs, 1);

	n = carve(3 * UNIT);
	check_carved(n, 3 * UNIT);
	assert_int_equal(g_f.iov[2].iov_len, UNIT);
	unvmf_buf_cache_put(&g_f.cache, g_f.bufs, 3);

	/* Nothing to move: nothing taken. */
	assert_int_equal(carve(0), 0);
	assert_int_equal(g_f.cache.outstanding, 0);
	fixture_fini();
}

static void test_carve_max_io_size(void **state)
{
	uint32_t before;
	int n;

	fixture_init(64, 16);
	n = carve(MAX_IOV * UNIT);
	assert_int_equal(n, MAX_IOV);
	check_carved(n, MAX_IOV * UNIT);
	unvmf_buf_cache_put(&g_f.cache, g_f.bufs, MAX_IOV);

	/* One byte more needs one entry more than the caller has room for. */
	before = held();
	assert_int_equal(carve(MAX_IOV * UNIT + 1), -EINVAL);
	assert_int_equal(held(), before);
	assert_int_equal(g_f.cache.outstanding, 0);
	assert_int_equal(unvmf_buf_cache_carve(&g_f.cache, UNIT, 0, g_f.bufs, g_f.iov, MAX_IOV),
	                 -EINVAL);
	fixture_fini();
}

static void test_carve_exhausted_takes_nothing(void **state)
{
	void *first[6];
	int n;

	/* 8 buffers; the cache starts with 2 of them, the pool keeps 6. */
	fixture_init(8, 4);
	n = carve(6 * UNIT);
	assert_int_equal(n, 6);
	check_carved(n, 6 * UNIT);
	memcpy(first, g_f.bufs, sizeof(first));
	assert_int_equal(held(), 2);

	/* 3 wanted, 2 there: the pool's part of the take goes back, the cache keeps its own. */
	memset(g_f.bufs, 0, sizeof(g_f.bufs));
	memset(g_f.iov, 0, sizeof(g_f.iov));
	assert_int_equal(carve(2 * UNIT + 1), -ENOMEM);
	assert_int_equal(held(), 2);
	assert_int_equal(g_f.cache.outstanding, 6);
	assert_null(g_f.bufs[0]);
	assert_null(g_f.iov[0].iov_base);

	/* What is there can still be had, all of it. */
	n = carve(2 * UNIT);
	check_carved(n, 2 * UNIT);
	assert_int_equal(held(), 0);
	assert_int_equal(carve(1), -ENOMEM);
	unvmf_buf_cache_put(&g_f.cache, g_f.bufs, 2);
	unvmf_buf_cache_put(&g_f.cache, first, 6);
	assert_int_equal(held(), 8);
	fixture_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_carve_not_a_multiple),
	    cmocka_unit_test(test_carve_exact_units),
	    cmocka_unit_test(test_carve_max_io_size),
	    cmocka_unit_test(test_carve_exhausted_takes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
