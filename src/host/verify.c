#include "host/verify.h"

#include <string.h>

static uint32_t verify_check_word(uint64_t lba, uint64_t seed, uint32_t gen)
{
	uint64_t x = lba * 0x9e3779b97f4a7c15ull ^ seed ^ ((uint64_t)gen << 17);

	return (uint32_t)(x ^ (x >> 32));
}

/* splitmix64: cheap, and any (lba, seed, gen) gives a distinct stream. */
static uint64_t verify_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void verify_header_make(struct unvmf_verify_header *h, uint64_t lba, uint64_t seed,
			       uint32_t gen)
{
	h->magic = UNVMF_VERIFY_MAGIC;
	h->lba = lba;
	h->seed = seed;
	h->gen = gen;
	h->check = verify_check_word(lba, seed, gen);
}

static uint64_t verify_body_seed(uint64_t lba, uint64_t seed, uint32_t gen)
{
	return seed ^ (lba * 0xd6e8feb86659fd93ull) ^ ((uint64_t)gen * 0xa0761d6478bd642full);
}

void unvmf_verify_fill(void *block, uint32_t block_size, uint64_t lba, uint64_t seed, uint32_t gen)
{
	struct unvmf_verify_header h;
	uint64_t state = verify_body_seed(lba, seed, gen);
	uint8_t *p = block;

	verify_header_make(&h, lba, seed, gen);
	memcpy(p, &h, sizeof(h));
	for (uint32_t off = sizeof(h); off + 8 <= block_size; off += 8) {
		uint64_t v = verify_next(&state);

		memcpy(p + off, &v, 8);
	}
}

bool unvmf_verify_check(const void *block, uint32_t block_size, uint64_t lba, uint64_t seed,
			uint32_t gen, struct unvmf_verify_result *res)
{
	const uint8_t *p = block;
	uint64_t state = verify_body_seed(lba, seed, gen);

	memset(res, 0, sizeof(*res));
	verify_header_make(&res->expected, lba, seed, gen);
	memcpy(&res->got, p, sizeof(res->got));
	res->got_valid = res->got.magic == UNVMF_VERIFY_MAGIC &&
			 res->got.check == verify_check_word(res->got.lba, res->got.seed, res->got.gen);
	if (memcmp(&res->expected, &res->got, sizeof(res->got)) != 0) {
		for (uint32_t i = 0; i < sizeof(res->got); i++) {
			if (((const uint8_t *)&res->expected)[i] != p[i]) {
				res->offset = i;
				break;
			}
		}
		return false;
	}
	for (uint32_t off = sizeof(res->got); off + 8 <= block_size; off += 8) {
		uint64_t v = verify_next(&state);

		if (memcmp(p + off, &v, 8) != 0) {
			for (uint32_t i = 0; i < 8; i++) {
				if (p[off + i] != ((const uint8_t *)&v)[i]) {
					res->offset = off + i;
					break;
				}
			}
			return false;
		}
	}
	res->ok = true;
	return true;
}
