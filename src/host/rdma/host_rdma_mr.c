/* NVMe/RDMA host: registrations of caller data buffers, cached by address range or per I/O. */
#include "host/rdma/host_rdma_conn.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define HOST_RDMA_MR_ACCESS                                                                        \
	(RDMA_PROV_ACCESS_LOCAL_WRITE | RDMA_PROV_ACCESS_REMOTE_READ |                             \
	 RDMA_PROV_ACCESS_REMOTE_WRITE)

int host_rdma_mr_cache_init(struct host_rdma_mr_cache *mc, const struct rdma_provider *prov,
                            struct rdma_prov_pd *pd, bool enabled, uint32_t cap)
{
	memset(mc, 0, sizeof(*mc));
	mc->prov = prov;
	mc->pd = pd;
	mc->enabled = enabled && cap > 0;
	if (!mc->enabled)
		return 0;
	mc->entries = calloc(cap, sizeof(*mc->entries));
	if (!mc->entries)
		return -ENOMEM;
	mc->cap = cap;
	return 0;
}

void host_rdma_mr_cache_fini(struct host_rdma_mr_cache *mc)
{
	for (uint32_t i = 0; i < mc->n; i++) {
		UNVMF_ASSERT(mc->entries[i].refs == 0);
		if (mc->entries[i].mr)
			mc->prov->mr_dereg(mc->entries[i].mr);
	}
	free(mc->entries);
	mc->entries = NULL;
	mc->n = 0;
}

static int mr_register(struct host_rdma_mr_cache *mc, void *addr, size_t len,
                       struct rdma_prov_mr **out)
{
	int rc = mc->prov->mr_reg(mc->pd, addr, len, HOST_RDMA_MR_ACCESS, out);

	if (rc)
		LOG_ERR("rdma host: registering %zu bytes at %p failed: %s", len, addr,
		        strerror(-rc));
	else
		mc->regs++;
	return rc;
}

/* The slot a new entry goes to: a free one, else the least recently used unheld one, else -1. */
static int32_t mr_cache_victim(struct host_rdma_mr_cache *mc)
{
	int32_t victim = -1;

	if (mc->n < mc->cap)
		return (int32_t)mc->n++;
	for (uint32_t i = 0; i < mc->n; i++) {
		if (mc->entries[i].refs)
			continue;
		if (victim < 0 || mc->entries[i].last_use < mc->entries[victim].last_use)
			victim = (int32_t)i;
	}
	if (victim >= 0 && mc->entries[victim].mr) {
		mc->prov->mr_dereg(mc->entries[victim].mr);
		mc->entries[victim].mr = NULL;
	}
	return victim;
}

int host_rdma_mr_get(struct host_rdma_mr_cache *mc, void *addr, size_t len,
                     struct host_rdma_mr_ref *ref)
{
	uintptr_t start = (uintptr_t)addr, end = start + len;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct host_rdma_mr_cache_entry *e;
	int32_t idx;
	int rc;

	ref->cache_idx = -1;
	if (!mc->enabled)
		return mr_register(mc, addr, len, &ref->mr);
	for (uint32_t i = 0; i < mc->n; i++) {
		e = &mc->entries[i];
		if (e->mr && e->start <= start && end <= e->end) {
			e->refs++;
			e->last_use = ++mc->clock;
			ref->mr = e->mr;
			ref->cache_idx = (int32_t)i;
			mc->hits++;
			return 0;
		}
	}
	idx = mr_cache_victim(mc);
	if (idx < 0)
		return mr_register(mc, addr, len, &ref->mr);
	e = &mc->entries[idx];
	/* Whole pages: the pages holding the buffer are mapped, so this cannot fail where len would
	 * not. */
	e->start = start & ~(page - 1);
	e->end = UNVMF_ALIGN_UP(end, page);
	rc = mr_register(mc, (void *)e->start, e->end - e->start, &e->mr);
	if (rc) {
		e->mr = NULL;
		e->refs = 0;
		e->last_use = 0;
		return rc;
	}
	e->refs = 1;
	e->last_use = ++mc->clock;
	ref->mr = e->mr;
	ref->cache_idx = idx;
	return 0;
}

void host_rdma_mr_put(struct host_rdma_mr_cache *mc, struct host_rdma_mr_ref *ref)
{
	if (!ref->mr)
		return;
	if (ref->cache_idx >= 0) {
		UNVMF_ASSERT(mc->entries[ref->cache_idx].refs > 0);
		mc->entries[ref->cache_idx].refs--;
	} else {
		mc->prov->mr_dereg(ref->mr);
	}
	ref->mr = NULL;
	ref->cache_idx = -1;
}
