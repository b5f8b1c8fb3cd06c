#include "host/latency_hist.h"

#include <string.h>

#define SUB (1ull << LAT_HIST_SUB_BITS)
#define HALF (1ull << (LAT_HIST_SUB_BITS - 1))

void unvmf_lat_hist_init(struct unvmf_lat_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint32_t unvmf_lat_hist_bucket(uint64_t value)
{
	unsigned msb, shift;

	if (value < SUB)
		return (uint32_t)value;
	msb = 63u - (unsigned)__builtin_clzll(value);
	shift = msb - LAT_HIST_SUB_BITS + 1;
	/* value >> shift is in [HALF, SUB): the linear position inside this octave. */
	return (uint32_t)(shift * HALF + (value >> shift));
}

void unvmf_lat_hist_bucket_range(uint32_t bucket, uint64_t *lo, uint64_t *hi)
{
	uint64_t shift, sub;

	if (bucket < SUB) {
		*lo = *hi = bucket;
		return;
	}
	shift = (bucket >> (LAT_HIST_SUB_BITS - 1)) - 1;
	sub = bucket - shift * HALF;
	*lo = sub << shift;
	*hi = ((sub + 1) << shift) - 1;
}

void unvmf_lat_hist_record(struct unvmf_lat_hist *h, uint64_t value)
{
	h->buckets[unvmf_lat_hist_bucket(value)]++;
	h->count++;
	h->sum += value;
	if (value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
}

void unvmf_lat_hist_merge(struct unvmf_lat_hist *dst, const struct unvmf_lat_hist *src)
{
	for (uint32_t i = 0; i < LAT_HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t unvmf_lat_hist_percentile(const struct unvmf_lat_hist *h, double pct)
{
	uint64_t target, seen = 0, lo, hi;

	if (h->count == 0)
		return 0;
	if (pct <= 0)
		return h->min;
	if (pct >= 100)
		return h->max;
	/* The rank of the sample at pct, 1-based, rounded up; the slack absorbs 0.999 * 1000 = 999.0000001. */
	{
		double rank = pct / 100.0 * (double)h->count - 1e-9;

		target = (uint64_t)rank;
		if ((double)target < rank)
			target++;
	}
	if (target == 0)
		target = 1;
	for (uint32_t i = 0; i < LAT_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= target) {
			unvmf_lat_hist_bucket_range(i, &lo, &hi);
			if (hi > h->max)
				hi = h->max;
			if (hi < h->min)
				hi = h->min;
			return hi;
		}
	}
	return h->max;
}

double unvmf_lat_hist_mean(const struct unvmf_lat_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
