#pragma once
/*
 * Data-verification pattern for unvmf-perf --verify.
 *
 * Every block written carries (lba, per-run seed, write generation) in a
 * header and a pseudo-random body derived from the same three values, so a
 * read can be checked against the last completed write to that block and a
 * mismatch can say which write (if any) the data came from.
 * Generation 0 means "not written in this run": nothing to check.
 */
#include <stdbool.h>
#include <stdint.h>

#define UNVMF_VERIFY_MAGIC 0x756e766d66766679ull	/* "unvmfvfy" */
#define UNVMF_VERIFY_MIN_BLOCK 32

struct unvmf_verify_header {
	uint64_t magic;
	uint64_t lba;
	uint64_t seed;
	uint32_t gen;
	uint32_t check;		/* folds the three fields, catches torn headers */
};

struct unvmf_verify_result {
	bool ok;
	uint32_t offset;	/* first differing byte within the block */
	struct unvmf_verify_header expected;
	struct unvmf_verify_header got;	/* what the block's header decodes to */
	bool got_valid;		/* got carries our magic and a matching check word */
};

/* Fills one block (block_size >= UNVMF_VERIFY_MIN_BLOCK, multiple of 8). */
void unvmf_verify_fill(void *block, uint32_t block_size, uint64_t lba, uint64_t seed, uint32_t gen);
/* Compares one block with the pattern for (lba, seed, gen); true when it matches. */
bool unvmf_verify_check(const void *block, uint32_t block_size, uint64_t lba, uint64_t seed,
			uint32_t gen, struct unvmf_verify_result *res);
