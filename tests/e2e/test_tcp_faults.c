/*
 * Seeded fault campaign over NVMe/TCP: the real host library talks to the
 * real target through a proxy that splits every PDU into random pieces and,
 * per seed, resets the connection at a random byte, corrupts a random byte
 * (with header and data digests on, so it must be caught), or stalls the
 * host's reading. After each seed: the target is alive, another connection
 * works, and every write acknowledged before the fault reads back intact.
 * At the end the target exits 0 (no leak under ASan).
 *
 * UNVMF_TCP_FAULT_SEEDS=N overrides the number of seeds; a failing seed is
 * printed with the command that replays it alone (UNVMF_TCP_FAULT_SEED=S).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"
#include "fault_proxy.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define REGION_BLOCKS 2048	/* per seed: 1 MiB of 512-byte blocks */
#define MAX_BLOCKS 128		/* 64 KiB per I/O */
#define OPS 60

static struct tgt_proc g_tp;
static unsigned g_fired[FAULT_NUM_KINDS], g_planned[FAULT_NUM_KINDS];

/* What a block must read back as: a (seed, version) pattern, or unknown. */
struct shadow {
	uint32_t version[REGION_BLOCKS];
	bool unknown[REGION_BLOCKS];
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void pattern(uint8_t *blk, uint64_t seed, uint64_t lba, uint32_t version)
{
	for (int i = 0; i < 512; i += 8) {
		uint64_t v = (seed << 40) ^ (lba << 12) ^ ((uint64_t)version << 1) ^ (uint64_t)i;

		memcpy(blk + i, &v, 8);
	}
}

static int connect_to(int port, bool digests, struct unvmf_host_ctrlr **ctrlr,
		      struct unvmf_host_qpair **qp)
{
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	int rc;

	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	snprintf(trid.trsvcid, sizeof(trid.trsvcid), "%d", port);
	unvmf_host_opts_init(&opts);
	opts.header_digest = digests;
	opts.data_digest = digests;
	opts.connect_timeout_ms = 3000;
	opts.admin_timeout_ms = 3000;
	rc = unvmf_host_connect(&trid, &opts, ctrlr, NULL);
	if (rc)
		return rc;
	rc = unvmf_host_qpair_create(*ctrlr, 16, qp, NULL);
	if (rc) {
		unvmf_host_disconnect(*ctrlr);
		*ctrlr = NULL;
	}
	return rc;
}

/* Runs one seed; returns 0 or a description of the failure in msg. */
static int run_seed(uint64_t seed, bool force_corrupt_no_digest, char *msg, size_t msglen)
{
	uint64_t rng = seed;
	struct fault_plan plan = {.seed = seed};
	struct fault_proxy *proxy;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	static struct shadow sh;
	static uint8_t buf[MAX_BLOCKS * 512], expect[512];
	uint64_t base = (seed % 60) * REGION_BLOCKS;
	bool digests;
	int port, rc, ops_done = 0;
	bool bad = false;

	memset(&sh, 0, sizeof(sh));
	plan.kind = (enum fault_kind)(rng_next(&rng) % FAULT_NUM_KINDS);
	plan.dir = (enum fault_dir)(rng_next(&rng) % 2);
	plan.offset = rng_next(&rng) % 120000;
	if (force_corrupt_no_digest)
		plan.kind = FAULT_CORRUPT;
	plan.stall_ms = 50 + rng_next(&rng) % 200;
	/* The I/O connection is the third: admin (1st) and, with a discovery, none: admin=0, io=1. */
	plan.conn_index = (unsigned)(rng_next(&rng) % 2);
	digests = !force_corrupt_no_digest && (plan.kind == FAULT_CORRUPT || rng_next(&rng) % 2);
	if (fault_proxy_start(&plan, atoi(g_tp.port), &port, &proxy)) {
		snprintf(msg, msglen, "proxy did not start");
		return -1;
	}
	rc = connect_to(port, digests, &ctrlr, &qp);
	for (int op = 0; rc == 0 && !bad && op < OPS; op++) {
		uint32_t nb = 1 + (uint32_t)(rng_next(&rng) % MAX_BLOCKS);
		uint64_t off = rng_next(&rng) % (REGION_BLOCKS - nb);
		bool write = rng_next(&rng) % 2;
		int st;

		if (write) {
			uint32_t v = (uint32_t)op + 1;

			for (uint32_t b = 0; b < nb; b++)
				pattern(buf + b * 512, seed, off + b, v);
			st = e2e_write(qp, 1, base + off, nb, buf, nb * 512);
			for (uint32_t b = 0; b < nb; b++) {
				/* Only an acknowledged write defines the block; any other outcome may or may not have landed. */
				sh.unknown[off + b] = st != 0;
				sh.version[off + b] = v;
			}
		} else {
			st = e2e_read(qp, 1, base + off, nb, buf, nb * 512);
			for (uint32_t b = 0; st == 0 && b < nb; b++) {
				if (sh.unknown[off + b] || sh.version[off + b] == 0)
					continue;
				pattern(expect, seed, off + b, sh.version[off + b]);
				if (memcmp(expect, buf + b * 512, 512) != 0) {
					snprintf(msg, msglen, "read of lba %lu (v%u) returned other data "
						 "through the proxy (fault %s)", (unsigned long)(base + off + b),
						 sh.version[off + b], fault_kind_name(plan.kind));
					bad = true;
					break;
				}
			}
		}
		if (st < 0)
			break;	/* the connection is gone: the fault hit it */
		ops_done++;
	}
	if (qp)
		unvmf_host_qpair_destroy(qp);
	if (ctrlr)
		unvmf_host_disconnect(ctrlr);
	g_planned[plan.kind]++;
	if (fault_proxy_fired(proxy))
		g_fired[plan.kind]++;
	fault_proxy_stop(proxy);
	if (bad)
		return -1;

	/* Straight to the target: it is alive and every acknowledged write is there. */
	if (!tgt_proc_alive(&g_tp)) {
		snprintf(msg, msglen, "target died (fault %s at %lu)", fault_kind_name(plan.kind),
			 (unsigned long)plan.offset);
		return -1;
	}
	if (connect_to(atoi(g_tp.port), false, &ctrlr, &qp)) {
		snprintf(msg, msglen, "target refuses a clean connection after fault %s",
			 fault_kind_name(plan.kind));
		return -1;
	}
	for (uint64_t b = 0; b < REGION_BLOCKS && !bad; b++) {
		if (sh.unknown[b] || sh.version[b] == 0)
			continue;
		if (e2e_read(qp, 1, base + b, 1, buf, 512) != 0) {
			snprintf(msg, msglen, "read back of lba %lu failed", (unsigned long)(base + b));
			bad = true;
			break;
		}
		pattern(expect, seed, b, sh.version[b]);
		if (memcmp(expect, buf, 512) != 0) {
			snprintf(msg, msglen, "acknowledged write of lba %lu (v%u) lost after fault %s",
				 (unsigned long)(base + b), sh.version[b], fault_kind_name(plan.kind));
			bad = true;
		}
	}
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	(void)ops_done;
	return bad ? -1 : 0;
}

static void test_tcp_fault_campaign(void **state)
{
	const char *one = getenv("UNVMF_TCP_FAULT_SEED");
	const char *n_env = getenv("UNVMF_TCP_FAULT_SEEDS");
	uint64_t first = one ? strtoull(one, NULL, 0) : 1;
	uint64_t n = one ? 1 : (n_env ? strtoull(n_env, NULL, 0) : 48);
	unsigned failures = 0;

	for (uint64_t s = first; s < first + n; s++) {
		char msg[256] = "";

		if (run_seed(s, false, msg, sizeof(msg)) != 0) {
			failures++;
			fprintf(stderr, "seed %lu FAILED: %s\n  replay: UNVMF_TCP_FAULT_SEED=%lu "
				"UNVMF_BIN_DIR=%s %s\n", (unsigned long)s, msg, (unsigned long)s,
				getenv("UNVMF_BIN_DIR") ? getenv("UNVMF_BIN_DIR") : "build/bin",
				"build/tests/e2e_test_tcp_faults");
		}
	}
	fprintf(stderr, "tcp fault campaign: %lu seeds, %u failed; faults fired/planned:",
		(unsigned long)n, failures);
	for (int k = 0; k < FAULT_NUM_KINDS; k++)
		fprintf(stderr, " %s %u/%u", fault_kind_name((enum fault_kind)k), g_fired[k], g_planned[k]);
	fprintf(stderr, "\n");
	assert_int_equal(failures, 0);
}

/*
 * Negative control: the same corruption with digests off reaches the data
 * unnoticed by the transport, and this campaign's checker must see it.
 */
static void test_checker_sees_undigested_corruption(void **state)
{
	unsigned caught = 0;

	for (uint64_t s = 1000; s < 1016; s++) {
		char msg[256] = "";

		caught += run_seed(s, true, msg, sizeof(msg)) != 0;
	}
	fprintf(stderr, "negative control: %u of 16 undigested corruptions caught by the checker\n",
		caught);
	assert_true(caught > 0);
}

static int group_setup(void **state)
{
	const char *args[] = {"-m", "0x3", NULL};

	return tgt_proc_start_or_dump(&g_tp, args);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_fault_campaign),
		cmocka_unit_test(test_checker_sees_undigested_corruption),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
