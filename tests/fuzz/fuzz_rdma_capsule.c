/*
 * NVMe/RDMA command capsules as a hostile host sends them: the received
 * bytes go through rdma_capsule_parse() (command, SGL1, in-capsule data, a
 * Last Segment descriptor list) exactly as the transport's receive path hands
 * them over (rdma_env.c), then, for a transfer through host memory, through
 * the buffer carve and rdma_capsule_plan() that cut it into RDMA READ/WRITE
 * pieces.
 *
 * Input: byte 0 picks the limits (max_sgl 1..16), the rest is the received
 * capsule (64-byte command and its in-capsule data).
 *
 * Checked beyond the sanitizers: a parsed in-capsule range lies inside the
 * capsule; the plan covers the transfer exactly, each piece inside one data
 * buffer and one descriptor.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "transport/rdma/rdma_internal.h"
#include "util/buf_pool.h"

#define FUZZ_IO_UNIT 4096u
#define FUZZ_MAX_IO (FUZZ_IO_UNIT * UNVMF_MAX_IOV)

static struct unvmf_buf_pool g_pool;
static struct unvmf_buf_cache g_cache;
static bool g_ready;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_rdma_capsule: %s\n", what);
		abort();
	}
}

static void check_plan(const struct rdma_req *req)
{
	struct rdma_seg segs[RDMA_MAX_SEGS];
	uint32_t n = rdma_capsule_plan(req, segs, RDMA_MAX_SEGS);
	uint64_t total = 0;

	for (uint32_t i = 0; i < n; i++) {
		bool inside = false;

		check(segs[i].len > 0, "empty piece");
		for (int b = 0; b < req->core.iovcnt; b++) {
			uint64_t lo = (uint64_t)(uintptr_t)req->core.iov[b].iov_base;

			if (segs[i].local >= lo &&
			    segs[i].local + segs[i].len <= lo + req->core.iov[b].iov_len)
				inside = true;
		}
		check(inside, "piece outside every data buffer");
		total += segs[i].len;
	}
	check(total == req->core.length, "plan does not cover the transfer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdma_capsule_limits lim = {.max_io_size = FUZZ_MAX_IO};
	struct rdma_req *req;
	uint8_t *capsule;
	uint32_t len;
	int rc;

	if (size < 1 || size > 64 + 65536)
		return 0;
	if (!g_ready) {
		check(unvmf_buf_pool_init(&g_pool, UNVMF_MAX_IOV, FUZZ_IO_UNIT, 4096) == 0, "pool");
		check(unvmf_buf_cache_init(&g_cache, &g_pool, UNVMF_MAX_IOV) == 0, "cache");
		g_ready = true;
	}
	lim.max_sgl = 1u + data[0] % RDMA_MAX_SGL_DESCRIPTORS;
	len = (uint32_t)size - 1;
	/* The receive buffer, exactly as long as what arrived. */
	capsule = malloc(len ? len : 1);
	req = calloc(1, sizeof(*req));
	check(capsule && req, "no memory");
	memcpy(capsule, data + 1, len);
	rc = rdma_capsule_parse(req, capsule, len, &lim);
	if (rc == 0 && req->in_capsule) {
		check(req->core.length <= len - RDMA_CAPSULE_CMD_SIZE, "in-capsule length");
		if (req->core.iovcnt)
			check((uint8_t *)req->core.iov[0].iov_base >=
			              capsule + RDMA_CAPSULE_CMD_SIZE &&
			          (uint8_t *)req->core.iov[0].iov_base + req->core.iov[0].iov_len <=
			              capsule + len,
			      "in-capsule range outside the capsule");
	} else if (rc == 0 && req->core.length) {
		int n;

		check(req->core.length <= lim.max_io_size, "length over max_io_size");
		n = unvmf_buf_cache_carve(&g_cache, req->core.length, FUZZ_IO_UNIT, req->bufs,
		                          req->core.iov, UNVMF_MAX_IOV);
		check(n > 0, "carve");
		req->num_bufs = (uint32_t)n;
		req->core.iovcnt = n;
		check_plan(req);
		unvmf_buf_cache_put(&g_cache, req->bufs, req->num_bufs);
	}
	free(req);
	free(capsule);
	return 0;
}
