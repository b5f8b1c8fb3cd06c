#pragma once
/*
 * Shared data-buffer pool: num_buffers fixed-size buffers in one allocation,
 * handed out through per-thread caches so the I/O path takes the pool lock
 * only to refill or drain a cache in batches. Buffers are never freed while
 * the pool lives; a buffer out of the pool is owned by exactly one request.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct unvmf_buf_pool {
	pthread_mutex_t lock;
	void *base;
	size_t buf_size;
	uint32_t num_buffers;
	void **free; /* stack of free buffers */
	uint32_t num_free;
	/*
	 * Owner tag per buffer: 0 while it is in the pool or a cache, else the
	 * lease its user took (unvmf_buf_claim). Two users of one buffer, or a
	 * user giving back what it does not hold, fail the compare.
	 */
	_Atomic uint64_t *owner;
};

struct unvmf_buf_cache {
	struct unvmf_buf_pool *pool;
	void **bufs;
	uint32_t count;
	uint32_t size;        /* capacity */
	uint64_t outstanding; /* buffers this cache handed out and not yet returned */
};

int unvmf_buf_pool_init(struct unvmf_buf_pool *pool, uint32_t num_buffers, size_t buf_size,
                        size_t align);
/* All buffers must be back (checked in debug builds). */
void unvmf_buf_pool_fini(struct unvmf_buf_pool *pool);
uint32_t unvmf_buf_pool_available(struct unvmf_buf_pool *pool);

int unvmf_buf_cache_init(struct unvmf_buf_cache *cache, struct unvmf_buf_pool *pool, uint32_t size);
/* Returns cached buffers to the pool; outstanding must be 0. */
void unvmf_buf_cache_fini(struct unvmf_buf_cache *cache);
/* Gets n buffers all-or-nothing: 0, or -ENOMEM with nothing taken. */
int unvmf_buf_cache_get(struct unvmf_buf_cache *cache, void **bufs, uint32_t n);
void unvmf_buf_cache_put(struct unvmf_buf_cache *cache, void **bufs, uint32_t n);
/*
 * Takes the buffers for a transfer of length bytes, all or nothing, and
 * describes it in iov: one entry per buffer, unit bytes each but the last,
 * which holds the remainder. bufs[i] backs iov[i]; give them back with
 * unvmf_buf_cache_put(cache, bufs, count). Returns count (0 for length 0),
 * -EINVAL when unit is 0 or the transfer needs more than max_iov buffers, or
 * -ENOMEM when the cache and pool cannot supply them all (nothing is taken).
 */
int unvmf_buf_cache_carve(struct unvmf_buf_cache *cache, uint32_t length, uint32_t unit,
                          void **bufs, struct iovec *iov, uint32_t max_iov);

/*
 * Ownership of buffers out of the pool, one compare each (always on): a user
 * claims what unvmf_buf_cache_get gave it under a lease (non-zero, never
 * reused), checks the lease before every hand-over to a device, and releases
 * it before unvmf_buf_cache_put.
 * claim: 0, or -EBUSY if buf already has an owner (it was handed out twice).
 * release: 0, or -EPERM if lease does not own buf (nothing changes).
 * owned: whether [addr, addr+len) lies in one buffer that lease owns.
 */
int unvmf_buf_claim(struct unvmf_buf_pool *pool, void *buf, uint64_t lease);
int unvmf_buf_release(struct unvmf_buf_pool *pool, void *buf, uint64_t lease);
bool unvmf_buf_owned(const struct unvmf_buf_pool *pool, uint64_t addr, uint32_t len,
		     uint64_t lease);
