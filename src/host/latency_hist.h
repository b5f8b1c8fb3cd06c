#pragma once
/*
 * Log-linear latency histogram (nanoseconds) for unvmf-perf.
 *
 * Values below 2^LAT_HIST_SUB_BITS land in exact buckets; above that, each
 * power-of-two range is split into 2^(LAT_HIST_SUB_BITS-1) equal buckets, so
 * a bucket's width is under 1/128 of its value. Fixed size, no allocation:
 * one per thread, recorded on the I/O path, merged at the end.
 * Not thread-safe: one owner thread per histogram.
 */
#include <stdint.h>

#define LAT_HIST_SUB_BITS 8
#define LAT_HIST_BUCKETS (((64 - LAT_HIST_SUB_BITS) << (LAT_HIST_SUB_BITS - 1)) + (1u << LAT_HIST_SUB_BITS))

struct unvmf_lat_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;
	uint64_t max;
	uint64_t buckets[LAT_HIST_BUCKETS];
};

void unvmf_lat_hist_init(struct unvmf_lat_hist *h);
void unvmf_lat_hist_record(struct unvmf_lat_hist *h, uint64_t value);
/* Adds every sample of src into dst. */
void unvmf_lat_hist_merge(struct unvmf_lat_hist *dst, const struct unvmf_lat_hist *src);
/*
 * Smallest bucket upper bound at or below which pct percent of samples fall,
 * clamped to [min, max] of the samples; 0 for an empty histogram.
 */
uint64_t unvmf_lat_hist_percentile(const struct unvmf_lat_hist *h, double pct);
/* Mean of the samples (exact), 0 when empty. */
double unvmf_lat_hist_mean(const struct unvmf_lat_hist *h);
/* Bucket index of a value and the value range [lo, hi] a bucket covers. */
uint32_t unvmf_lat_hist_bucket(uint64_t value);
void unvmf_lat_hist_bucket_range(uint32_t bucket, uint64_t *lo, uint64_t *hi);
