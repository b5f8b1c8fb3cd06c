/* unvmf-perf verify pattern: encode, check, and what a mismatch reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "host/verify.h"

#define BS 4096

static void test_roundtrip(void **state)
{
	uint8_t *blk = malloc(BS);
	struct unvmf_verify_result res;

	(void)state;
	unvmf_verify_fill(blk, BS, 1234, 0xfeed, 7);
	assert_true(unvmf_verify_check(blk, BS, 1234, 0xfeed, 7, &res));
	assert_true(res.ok);
	unvmf_verify_fill(blk, 512, 0, 1, 1);
	assert_true(unvmf_verify_check(blk, 512, 0, 1, 1, &res));
	free(blk);
}

static void test_stale_generation_reported(void **state)
{
	uint8_t *blk = malloc(BS);
	struct unvmf_verify_result res;

	(void)state;
	unvmf_verify_fill(blk, BS, 99, 42, 3);
	assert_false(unvmf_verify_check(blk, BS, 99, 42, 4, &res));
	assert_false(res.ok);
	assert_true(res.got_valid);
	assert_int_equal(res.got.gen, 3);
	assert_int_equal(res.expected.gen, 4);
	assert_int_equal(res.got.lba, 99);
	free(blk);
}

static void test_wrong_lba_and_seed(void **state)
{
	uint8_t *blk = malloc(BS);
	struct unvmf_verify_result res;

	(void)state;
	unvmf_verify_fill(blk, BS, 100, 42, 1);
	assert_false(unvmf_verify_check(blk, BS, 101, 42, 1, &res));
	assert_int_equal(res.got.lba, 100);
	assert_false(unvmf_verify_check(blk, BS, 100, 43, 1, &res));
	assert_int_equal(res.got.seed, 42);
	free(blk);
}

static void test_body_corruption(void **state)
{
	uint8_t *blk = malloc(BS);
	struct unvmf_verify_result res;

	(void)state;
	unvmf_verify_fill(blk, BS, 5, 6, 7);
	blk[3000] ^= 0x10;
	assert_false(unvmf_verify_check(blk, BS, 5, 6, 7, &res));
	assert_int_equal(res.offset, 3000);
	assert_true(res.got_valid);
	/* Zeroed block: header does not decode. */
	memset(blk, 0, BS);
	assert_false(unvmf_verify_check(blk, BS, 5, 6, 7, &res));
	assert_false(res.got_valid);
	assert_int_equal(res.offset, 0);
	free(blk);
}

static void test_distinct_bodies(void **state)
{
	uint8_t *a = malloc(BS), *b = malloc(BS);

	(void)state;
	unvmf_verify_fill(a, BS, 1, 2, 3);
	unvmf_verify_fill(b, BS, 1, 2, 4);
	assert_memory_not_equal(a + 64, b + 64, BS - 64);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_stale_generation_reported),
		cmocka_unit_test(test_wrong_lba_and_seed),
		cmocka_unit_test(test_body_corruption),
		cmocka_unit_test(test_distinct_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
