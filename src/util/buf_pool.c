#include "util/buf_pool.h"
#include "util/common.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int unvmf_buf_pool_init(struct unvmf_buf_pool *pool, uint32_t num_buffers, size_t buf_size,
                        size_t align)
{
	size_t stride = UNVMF_ALIGN_UP(buf_size, align);
	size_t total = stride * num_buffers;

	memset(pool, 0, sizeof(*pool));
	if (num_buffers == 0 || buf_size == 0)
		return -EINVAL;
	pool->base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pool->base == MAP_FAILED) {
		pool->base = NULL;
		return -ENOMEM;
	}
	pool->free = calloc(num_buffers, sizeof(void *));
	pool->owner = calloc(num_buffers, sizeof(*pool->owner));
	if (!pool->free || !pool->owner)
		goto err_unmap;
	pool->buf_size = stride;
	pool->num_buffers = num_buffers;
	for (uint32_t i = 0; i < num_buffers; i++)
		pool->free[i] = (char *)pool->base + (size_t)i * stride;
	pool->num_free = num_buffers;
	pthread_mutex_init(&pool->lock, NULL);
	return 0;

err_unmap:
	free(pool->free);
	free(pool->owner);
	pool->free = NULL;
	pool->owner = NULL;
	munmap(pool->base, total);
	pool->base = NULL;
	return -ENOMEM;
}

void unvmf_buf_pool_fini(struct unvmf_buf_pool *pool)
{
	if (!pool->base)
		return;
	UNVMF_ASSERT(pool->num_free == pool->num_buffers);
	munmap(pool->base, pool->buf_size * pool->num_buffers);
	free(pool->free);
	free(pool->owner);
	pthread_mutex_destroy(&pool->lock);
	pool->base = NULL;
}

uint32_t unvmf_buf_pool_available(struct unvmf_buf_pool *pool)
{
	uint32_t n;

	pthread_mutex_lock(&pool->lock);
	n = pool->num_free;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

static uint32_t pool_take(struct unvmf_buf_pool *pool, void **bufs, uint32_t n, uint32_t min)
{
	uint32_t got = 0;

	pthread_mutex_lock(&pool->lock);
	if (pool->num_free >= min) {
		got = UNVMF_MIN(n, pool->num_free);
		pool->num_free -= got;
		memcpy(bufs, &pool->free[pool->num_free], got * sizeof(void *));
	}
	pthread_mutex_unlock(&pool->lock);
	return got;
}

static void pool_give(struct unvmf_buf_pool *pool, void **bufs, uint32_t n)
{
	pthread_mutex_lock(&pool->lock);
	UNVMF_ASSERT(pool->num_free + n <= pool->num_buffers);
	memcpy(&pool->free[pool->num_free], bufs, n * sizeof(void *));
	pool->num_free += n;
	pthread_mutex_unlock(&pool->lock);
}

int unvmf_buf_cache_init(struct unvmf_buf_cache *cache, struct unvmf_buf_pool *pool, uint32_t size)
{
	memset(cache, 0, sizeof(*cache));
	cache->pool = pool;
	cache->size = size;
	if (size) {
		cache->bufs = calloc(size, sizeof(void *));
		if (!cache->bufs)
			return -ENOMEM;
		cache->count = pool_take(pool, cache->bufs, size / 2, 0);
	}
	return 0;
}

void unvmf_buf_cache_fini(struct unvmf_buf_cache *cache)
{
	if (!cache->pool)
		return;
	UNVMF_ASSERT(cache->outstanding == 0);
	if (cache->count)
		pool_give(cache->pool, cache->bufs, cache->count);
	free(cache->bufs);
	memset(cache, 0, sizeof(*cache));
}

int unvmf_buf_cache_get(struct unvmf_buf_cache *cache, void **bufs, uint32_t n)
{
	if (cache->count >= n) {
		cache->count -= n;
		memcpy(bufs, &cache->bufs[cache->count], n * sizeof(void *));
		cache->outstanding += n;
		return 0;
	}
	/* Take the shortfall from the pool and top the cache up in the same lock hold. */
	uint32_t need = n - cache->count;
	uint32_t room = cache->size - cache->count;
	void *tmp[256];
	uint32_t want = UNVMF_MIN(need + room / 2, (uint32_t)UNVMF_ARRAY_SIZE(tmp));

	if (need > UNVMF_ARRAY_SIZE(tmp))
		return -ENOMEM;
	uint32_t got = pool_take(cache->pool, tmp, want, need);

	if (got < need) {
		if (got)
			pool_give(cache->pool, tmp, got);
		return -ENOMEM;
	}
	if (cache->count)
		memcpy(bufs, &cache->bufs[0], cache->count * sizeof(void *));
	memcpy(&bufs[cache->count], tmp, need * sizeof(void *));
	cache->count = got - need;
	if (cache->count)
		memcpy(cache->bufs, &tmp[need], cache->count * sizeof(void *));
	cache->outstanding += n;
	return 0;
}

void unvmf_buf_cache_put(struct unvmf_buf_cache *cache, void **bufs, uint32_t n)
{
	UNVMF_ASSERT(cache->outstanding >= n);
	cache->outstanding -= n;
	for (uint32_t i = 0; i < n; i++) {
		if (cache->count < cache->size)
			cache->bufs[cache->count++] = bufs[i];
		else
			pool_give(cache->pool, &bufs[i], 1);
	}
}

int unvmf_buf_cache_carve(struct unvmf_buf_cache *cache, uint32_t length, uint32_t unit,
                          void **bufs, struct iovec *iov, uint32_t max_iov)
{
	uint32_t n, left = length;

	if (unit == 0)
		return -EINVAL;
	n = UNVMF_DIV_ROUND_UP(length, unit);
	if (n > max_iov)
		return -EINVAL;
	if (unvmf_buf_cache_get(cache, bufs, n) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = UNVMF_MIN(left, unit);
		left -= (uint32_t)iov[i].iov_len;
	}
	return (int)n;
}

/* Index of the buffer holding addr, or num_buffers if none does. */
static uint32_t buf_index(const struct unvmf_buf_pool *pool, uint64_t addr)
{
	uint64_t base = (uint64_t)(uintptr_t)pool->base;

	if (addr < base || addr - base >= (uint64_t)pool->buf_size * pool->num_buffers)
		return pool->num_buffers;
	return (uint32_t)((addr - base) / pool->buf_size);
}

int unvmf_buf_claim(struct unvmf_buf_pool *pool, void *buf, uint64_t lease)
{
	uint32_t i = buf_index(pool, (uint64_t)(uintptr_t)buf);
	uint64_t none = 0;

	if (i == pool->num_buffers || lease == 0)
		return -EINVAL;
	if (!atomic_compare_exchange_strong_explicit(&pool->owner[i], &none, lease,
						     memory_order_relaxed, memory_order_relaxed))
		return -EBUSY;
	return 0;
}

int unvmf_buf_release(struct unvmf_buf_pool *pool, void *buf, uint64_t lease)
{
	uint32_t i = buf_index(pool, (uint64_t)(uintptr_t)buf);
	uint64_t held = lease;

	if (i == pool->num_buffers || lease == 0)
		return -EINVAL;
	if (!atomic_compare_exchange_strong_explicit(&pool->owner[i], &held, 0,
						     memory_order_relaxed, memory_order_relaxed))
		return -EPERM;
	return 0;
}

bool unvmf_buf_owned(const struct unvmf_buf_pool *pool, uint64_t addr, uint32_t len,
		     uint64_t lease)
{
	uint32_t i = buf_index(pool, addr);

	if (i == pool->num_buffers || len == 0 || lease == 0 ||
	    buf_index(pool, addr + len - 1) != i)
		return false;
	return atomic_load_explicit(&pool->owner[i], memory_order_relaxed) == lease;
}
