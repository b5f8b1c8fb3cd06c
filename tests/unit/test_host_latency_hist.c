/* Latency histogram: bucket geometry, percentiles, merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "host/latency_hist.h"

static void test_buckets_contiguous_and_bounded(void **state)
{
	uint64_t prev_hi = 0, lo, hi;

	(void)state;
	for (uint32_t b = 0; b < LAT_HIST_BUCKETS; b++) {
		unvmf_lat_hist_bucket_range(b, &lo, &hi);
		if (b > 0)
			assert_int_equal(lo, prev_hi + 1);
		assert_true(hi >= lo);
		/* Width under 1/128 of the value once past the exact range. */
		if (lo >= 256)
			assert_true((hi - lo + 1) * 128 <= lo);
		assert_int_equal(unvmf_lat_hist_bucket(lo), b);
		assert_int_equal(unvmf_lat_hist_bucket(hi), b);
		prev_hi = hi;
	}
	assert_int_equal(prev_hi, UINT64_MAX);
}

static void test_percentiles_uniform(void **state)
{
	struct unvmf_lat_hist *h = malloc(sizeof(*h));
	uint64_t p50, p99, p999;

	(void)state;
	unvmf_lat_hist_init(h);
	for (uint64_t v = 1; v <= 100000; v++)
		unvmf_lat_hist_record(h, v * 10);
	p50 = unvmf_lat_hist_percentile(h, 50);
	p99 = unvmf_lat_hist_percentile(h, 99);
	p999 = unvmf_lat_hist_percentile(h, 99.9);
	/* Exact answers 500000, 990000, 999000; bucket upper bound within 1/128 above. */
	assert_true(p50 >= 500000 && p50 <= 500000 + 500000 / 128 + 1);
	assert_true(p99 >= 990000 && p99 <= 990000 + 990000 / 128 + 1);
	assert_true(p999 >= 999000 && p999 <= 1000000);
	assert_int_equal(unvmf_lat_hist_percentile(h, 100), 1000000);
	assert_int_equal(unvmf_lat_hist_percentile(h, 0), 10);
	assert_int_equal(h->min, 10);
	assert_int_equal(h->max, 1000000);
	assert_true(unvmf_lat_hist_mean(h) > 500004.9 && unvmf_lat_hist_mean(h) < 500005.1);
	free(h);
}

static void test_percentile_small_and_empty(void **state)
{
	struct unvmf_lat_hist *h = malloc(sizeof(*h));

	(void)state;
	unvmf_lat_hist_init(h);
	assert_int_equal(unvmf_lat_hist_percentile(h, 99), 0);
	unvmf_lat_hist_record(h, 7);
	unvmf_lat_hist_record(h, 9);
	assert_int_equal(unvmf_lat_hist_percentile(h, 50), 7);
	assert_int_equal(unvmf_lat_hist_percentile(h, 51), 9);
	/* One outlier in 1000: p99 stays low, p99.9 does not reach it, max does. */
	unvmf_lat_hist_init(h);
	for (int i = 0; i < 999; i++)
		unvmf_lat_hist_record(h, 100);
	unvmf_lat_hist_record(h, 1000000);
	assert_int_equal(unvmf_lat_hist_percentile(h, 99), 100);
	assert_int_equal(unvmf_lat_hist_percentile(h, 99.9), 100);
	assert_true(unvmf_lat_hist_percentile(h, 99.95) >= 1000000);
	free(h);
}

static void test_merge(void **state)
{
	struct unvmf_lat_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	(void)state;
	unvmf_lat_hist_init(a);
	unvmf_lat_hist_init(b);
	for (int i = 0; i < 100; i++)
		unvmf_lat_hist_record(a, 1000);
	for (int i = 0; i < 100; i++)
		unvmf_lat_hist_record(b, 3000);
	unvmf_lat_hist_merge(a, b);
	assert_int_equal(a->count, 200);
	assert_int_equal(a->min, 1000);
	assert_int_equal(a->max, 3000);
	assert_true(unvmf_lat_hist_percentile(a, 50) >= 1000 && unvmf_lat_hist_percentile(a, 50) < 1010);
	assert_true(unvmf_lat_hist_percentile(a, 51) >= 3000);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_contiguous_and_bounded),
		cmocka_unit_test(test_percentiles_uniform),
		cmocka_unit_test(test_percentile_small_and_empty),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
