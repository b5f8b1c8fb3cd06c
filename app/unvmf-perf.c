/*
 * unvmf-perf: NVMe-oF I/O load generator in the manner of SPDK's perf.
 *
 * One pinned thread per core in the mask, each busy-polling its own I/O
 * qpairs; every qpair keeps DEPTH commands in flight, each command slot
 * ("task") resubmitting from its completion callback. The main thread keeps
 * the admin queue alive and prints merged results.
 *
 * --verify: each qpair owns a disjoint LBA region; writes carry a pattern
 * that encodes (lba, run seed, write generation); every read is checked
 * against the generation of the last completed write to each block. A block
 * with an I/O in flight is never chosen again until it completes.
 * Before the timed run every region is written once (generation 1), so a
 * read-only workload has something to check; after a run that wrote, every
 * region is read back once. The regions together cover at most
 * PERF_VERIFY_MAX_BYTES of the namespace (the output says when they are
 * limited), which bounds both sweeps and the per-block tables.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "unvmf/host.h"
#include "host/latency_hist.h"
#include "host/verify.h"
#include "proto/trid.h"
#include "util/common.h"
#include "util/log.h"

#define PERF_MAX_CORES 64
#define PERF_DRAIN_MS 10000
#define PERF_GEN_UNKNOWN UINT32_MAX	/* a failed write left the block undefined */
#define PERF_PICK_TRIES 16
#define PERF_VERIFY_MAX_BYTES (256ull << 20)

enum perf_pattern {
	PERF_READ,
	PERF_WRITE,
	PERF_RANDREAD,
	PERF_RANDWRITE,
	PERF_RW,
	PERF_RANDRW,
};

struct perf_args {
	struct unvmf_trid trid;
	char hostnqn[UNVMF_HOST_NQN_BUF];
	uint32_t depth;
	uint32_t io_size;
	enum perf_pattern pattern;
	const char *pattern_name;
	int read_pct;
	uint32_t seconds;
	uint64_t core_mask;
	uint32_t qpairs_per_core;
	uint32_t nsid;
	bool verify;
	bool json;
	bool hdgst;
	const char *psk_path;
	const char *psk_identity;
	bool ddgst;
};

struct perf_worker;

struct perf_task {
	struct perf_qpair *pq;
	void *buf;
	struct iovec iov;
	uint64_t lba;
	uint32_t nblocks;	/* of this I/O: g_io_blocks, or up to g_sweep_blocks in a sweep */
	bool is_read;
	uint64_t submit_ns;
	uint32_t gen;		/* write: the generation being written */
};

/* One I/O qpair and its region, owned by a worker thread. */
struct perf_qpair {
	struct perf_worker *worker;
	struct unvmf_host_qpair *qpair;
	struct perf_task *tasks;
	uint64_t region_start;
	uint64_t region_blocks;
	uint64_t seq_next;
	uint32_t *gens;		/* verify: per block of the region */
	uint8_t *inflight;	/* verify: per block of the region */
	struct perf_task **idle;	/* tasks that found no free block; retried each poll */
	uint32_t nidle;
	uint32_t outstanding;
	int failed_rc;
	uint64_t sweep_next;	/* verify sweep: next region-relative block */
	bool sweep_read;	/* verify sweep: read back (else write generation 1) */
};

struct perf_worker {
	pthread_t thread;
	unsigned core;
	struct perf_qpair *qpairs;
	uint32_t nqpairs;
	uint64_t rng;
	bool stopping;
	uint64_t reads;
	uint64_t writes;
	uint64_t bytes;
	uint64_t io_errors;
	uint64_t verify_errors;
	uint64_t verified_blocks;	/* blocks compared with their expected pattern */
	uint64_t elapsed_ns;
	struct unvmf_lat_hist hist;
};

static const struct perf_args *g_args;
static uint32_t g_block_size;
static uint32_t g_io_blocks;
/*
 * Blocks per verify-sweep I/O: the run's I/O size, raised to PERF_SWEEP_BYTES
 * (within the controller's MDTS) so that writing and reading back a region of
 * small blocks takes a few large commands instead of many small ones.
 */
static uint32_t g_sweep_blocks;
#define PERF_SWEEP_BYTES (128u * 1024)
static uint64_t g_seed;
static atomic_bool g_stop;
static uint64_t g_deadline_ns;
static uint64_t g_ns_blocks;
static uint64_t g_region_blocks;	/* per qpair */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s -r TRID -q DEPTH -o IO_SIZE -w PATTERN -t SECONDS [options]\n"
		"  -r TRID            'trtype:TCP adrfam:IPv4 traddr:ADDR trsvcid:PORT subnqn:NQN'\n"
		"  -q DEPTH           commands in flight per qpair\n"
		"  -o IO_SIZE         bytes per I/O (multiple of the block size)\n"
		"  -w PATTERN         read|write|randread|randwrite|rw|randrw\n"
		"  -M READ_PCT        read percentage for rw/randrw (default 50)\n"
		"  -t SECONDS         run time\n"
		"  -c CORE_MASK       hex mask of cores, one thread each (default 0x1)\n"
		"  -P NUM             I/O qpairs per core (default 1)\n"
		"  --nsid N           namespace (default: first active)\n"
		"  --verify           write a pattern over the regions first, check every read\n"
		"                     against the last write, read back after writes (at most\n"
		"                     256 MiB of the namespace is used)\n"
		"  --json             print results as one JSON object\n"
		"  --hostnqn NQN      host NQN\n"
		"  --header-digest / --data-digest   enable NVMe/TCP digests\n"
		"  --psk-path FILE    NVMe/TCP over TLS 1.3 with the PSK in FILE (interchange\n"
		"                     format, mode 0600)\n"
		"  --psk-identity ID  PSK identity (default NVMe0R<hh> <hostnqn> <subnqn>)\n",
		prog);
}

static int parse_pattern(const char *s, enum perf_pattern *p)
{
	static const struct {
		const char *name;
		enum perf_pattern p;
	} names[] = {
		{"read", PERF_READ}, {"write", PERF_WRITE}, {"randread", PERF_RANDREAD},
		{"randwrite", PERF_RANDWRITE}, {"rw", PERF_RW}, {"randrw", PERF_RANDRW},
	};

	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*p = names[i].p;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct perf_args *a)
{
	static const struct option longopts[] = {
		{"verify", no_argument, NULL, 'V'},
		{"json", no_argument, NULL, 'j'},
		{"nsid", required_argument, NULL, 'n'},
		{"hostnqn", required_argument, NULL, 'H'},
		{"header-digest", no_argument, NULL, 'g'},
		{"data-digest", no_argument, NULL, 'G'},
		{"psk-path", required_argument, NULL, 'k'},
		{"psk-identity", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_r = false, have_q = false, have_o = false, have_w = false, have_t = false;
	uint32_t v;
	char *end;
	int opt;

	memset(a, 0, sizeof(*a));
	a->read_pct = -1;
	a->core_mask = 1;
	a->qpairs_per_core = 1;
	while ((opt = getopt_long(argc, argv, "r:q:o:w:M:t:c:P:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (unvmf_trid_parse(&a->trid, optarg)) {
				fprintf(stderr, "invalid transport ID: '%s'\n", optarg);
				return -EINVAL;
			}
			have_r = true;
			break;
		case 'q':
			if (parse_u32(optarg, 1, 65535, &a->depth))
				return -EINVAL;
			have_q = true;
			break;
		case 'o':
			if (parse_u32(optarg, 512, 16u << 20, &a->io_size))
				return -EINVAL;
			have_o = true;
			break;
		case 'w':
			if (parse_pattern(optarg, &a->pattern))
				return -EINVAL;
			a->pattern_name = optarg;
			have_w = true;
			break;
		case 'M':
			if (parse_u32(optarg, 0, 100, &v))
				return -EINVAL;
			a->read_pct = (int)v;
			break;
		case 't':
			if (parse_u32(optarg, 1, 86400, &a->seconds))
				return -EINVAL;
			have_t = true;
			break;
		case 'c':
			errno = 0;
			a->core_mask = strtoull(optarg, &end, 16);
			if (errno || *end || a->core_mask == 0)
				return -EINVAL;
			break;
		case 'P':
			if (parse_u32(optarg, 1, 256, &a->qpairs_per_core))
				return -EINVAL;
			break;
		case 'n':
			if (parse_u32(optarg, 1, 0xfffffffe, &a->nsid))
				return -EINVAL;
			break;
		case 'H':
			if (unvmf_strlcpy(a->hostnqn, optarg, sizeof(a->hostnqn)) ||
			    !unvmf_nqn_valid(optarg))
				return -EINVAL;
			break;
		case 'V':
			a->verify = true;
			break;
		case 'j':
			a->json = true;
			break;
		case 'g':
			a->hdgst = true;
			break;
		case 'G':
			a->ddgst = true;
			break;
		case 'k':
			a->psk_path = optarg;
			break;
		case 'I':
			a->psk_identity = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!have_r || !have_q || !have_o || !have_w || !have_t || optind != argc ||
	    (a->psk_identity && !a->psk_path))
		return -EINVAL;
	if (!a->trid.subnqn[0]) {
		fprintf(stderr, "-r needs subnqn:NQN\n");
		return -EINVAL;
	}
	if (a->read_pct < 0) {
		a->read_pct = a->pattern == PERF_RW || a->pattern == PERF_RANDRW ? 50 :
			      (a->pattern == PERF_READ || a->pattern == PERF_RANDREAD) ? 100 : 0;
	} else if (a->pattern != PERF_RW && a->pattern != PERF_RANDRW) {
		fprintf(stderr, "-M applies to rw/randrw only\n");
		return -EINVAL;
	}
	return 0;
}

static bool pattern_random(enum perf_pattern p)
{
	return p == PERF_RANDREAD || p == PERF_RANDWRITE || p == PERF_RANDRW;
}

static void perf_sigint(int sig)
{
	(void)sig;
	atomic_store(&g_stop, true);
}

static void task_complete(void *arg, const struct nvme_cqe *cqe);

static bool task_range_free(const struct perf_qpair *pq, uint64_t rel)
{
	for (uint32_t i = 0; i < g_io_blocks; i++) {
		if (pq->inflight[rel + i])
			return false;
	}
	return true;
}

/* Picks the region-relative start block of the next I/O; false when none is free now. */
static bool task_pick(struct perf_qpair *pq, uint64_t *rel)
{
	uint64_t slots = pq->region_blocks / g_io_blocks;

	for (int tries = 0; tries < PERF_PICK_TRIES; tries++) {
		uint64_t r;

		if (pattern_random(g_args->pattern)) {
			r = (rng_next(&pq->worker->rng) % slots) * g_io_blocks;
		} else {
			r = pq->seq_next;
			pq->seq_next += g_io_blocks;
			if (pq->seq_next + g_io_blocks > pq->region_blocks)
				pq->seq_next = 0;
		}
		if (!g_args->verify || task_range_free(pq, r)) {
			*rel = r;
			return true;
		}
	}
	return false;
}

static int task_submit(struct perf_task *t)
{
	struct perf_qpair *pq = t->pq;
	struct perf_worker *w = pq->worker;
	uint64_t rel;
	int rc;

	if (!task_pick(pq, &rel))
		return -EBUSY;
	t->lba = pq->region_start + rel;
	t->nblocks = g_io_blocks;
	t->iov.iov_len = (size_t)g_io_blocks * g_block_size;
	t->is_read = (int)(rng_next(&w->rng) % 100) < g_args->read_pct;
	if (g_args->verify) {
		for (uint32_t i = 0; i < g_io_blocks; i++)
			pq->inflight[rel + i] = 1;
		if (!t->is_read) {
			/* One generation per I/O: every block gets it; each block's table entry
			 * may lag but a write always moves all of them to t->gen. */
			uint32_t g = 0;

			for (uint32_t i = 0; i < g_io_blocks; i++)
				g = UNVMF_MAX(g, pq->gens[rel + i] == PERF_GEN_UNKNOWN ? 0 :
								      pq->gens[rel + i]);
			t->gen = g + 1;
			for (uint32_t i = 0; i < g_io_blocks; i++)
				unvmf_verify_fill((uint8_t *)t->buf + (size_t)i * g_block_size,
						  g_block_size, t->lba + i, g_seed, t->gen);
		}
	}
	t->submit_ns = now_ns();
	if (t->is_read)
		rc = unvmf_host_read(pq->qpair, g_args->nsid, t->lba, g_io_blocks, &t->iov, 1,
				     task_complete, t);
	else
		rc = unvmf_host_write(pq->qpair, g_args->nsid, t->lba, g_io_blocks, &t->iov, 1,
				      task_complete, t);
	if (rc) {
		if (g_args->verify) {
			for (uint32_t i = 0; i < g_io_blocks; i++)
				pq->inflight[rel + i] = 0;
		}
		return rc;
	}
	pq->outstanding++;
	return 0;
}

static void task_verify_read(struct perf_task *t)
{
	struct perf_qpair *pq = t->pq;
	uint64_t rel = t->lba - pq->region_start;

	for (uint32_t i = 0; i < t->nblocks; i++) {
		uint32_t gen = pq->gens[rel + i];
		struct unvmf_verify_result res;

		if (gen == 0 || gen == PERF_GEN_UNKNOWN)
			continue;
		pq->worker->verified_blocks++;
		if (unvmf_verify_check((uint8_t *)t->buf + (size_t)i * g_block_size, g_block_size,
				       t->lba + i, g_seed, gen, &res))
			continue;
		pq->worker->verify_errors++;
		if (pq->worker->verify_errors <= 20) {
			fprintf(stderr,
				"verify error: lba %llu byte %u: expected (lba %llu seed 0x%llx gen %u), "
				"got %s(lba %llu seed 0x%llx gen %u)\n",
				(unsigned long long)(t->lba + i), res.offset,
				(unsigned long long)res.expected.lba,
				(unsigned long long)res.expected.seed, res.expected.gen,
				res.got_valid ? "" : "unrecognised data ",
				(unsigned long long)res.got.lba, (unsigned long long)res.got.seed,
				res.got.gen);
		}
	}
}

static void task_complete(void *arg, const struct nvme_cqe *cqe)
{
	struct perf_task *t = arg;
	struct perf_qpair *pq = t->pq;
	struct perf_worker *w = pq->worker;
	uint64_t rel = t->lba - pq->region_start;
	bool ok = cqe->status.s.sct == 0 && cqe->status.s.sc == 0;

	pq->outstanding--;
	unvmf_lat_hist_record(&w->hist, now_ns() - t->submit_ns);
	if (!ok) {
		w->io_errors++;
		if (w->io_errors <= 20)
			fprintf(stderr, "I/O error: %s lba %llu: sct 0x%x sc 0x%x (%s)\n",
				t->is_read ? "read" : "write", (unsigned long long)t->lba,
				cqe->status.s.sct, cqe->status.s.sc,
				unvmf_host_status_str(cqe->status.s.sct, cqe->status.s.sc));
	} else if (t->is_read) {
		w->reads++;
		w->bytes += g_args->io_size;
	} else {
		w->writes++;
		w->bytes += g_args->io_size;
	}
	if (g_args->verify) {
		if (t->is_read && ok)
			task_verify_read(t);
		for (uint32_t i = 0; i < g_io_blocks; i++) {
			if (!t->is_read)
				pq->gens[rel + i] = ok ? t->gen : PERF_GEN_UNKNOWN;
			pq->inflight[rel + i] = 0;
		}
	}
	if (w->stopping || !ok)
		return;
	if (task_submit(t))
		pq->idle[pq->nidle++] = t;
}

static void worker_fill_idle(struct perf_qpair *pq)
{
	while (pq->nidle > 0) {
		struct perf_task *t = pq->idle[--pq->nidle];

		if (task_submit(t)) {
			pq->idle[pq->nidle++] = t;
			return;
		}
	}
}

static void *worker_main(void *arg)
{
	struct perf_worker *w = arg;
	cpu_set_t set;
	uint64_t start, iter = 0;

	CPU_ZERO(&set);
	CPU_SET(w->core, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "warning: could not pin to core %u\n", w->core);
	start = now_ns();
	for (uint32_t q = 0; q < w->nqpairs; q++) {
		for (uint32_t i = 0; i < g_args->depth; i++) {
			struct perf_qpair *pq = &w->qpairs[q];

			if (task_submit(&pq->tasks[i]))
				pq->idle[pq->nidle++] = &pq->tasks[i];
		}
	}
	for (;;) {
		bool busy = false;

		for (uint32_t q = 0; q < w->nqpairs; q++) {
			struct perf_qpair *pq = &w->qpairs[q];
			int rc;

			if (pq->failed_rc)
				continue;
			rc = unvmf_host_qpair_poll(pq->qpair, 0);
			if (rc < 0) {
				pq->failed_rc = rc;
				w->io_errors++;
				fprintf(stderr, "qpair %u failed: %s\n", unvmf_host_qpair_qid(pq->qpair),
					strerror(-rc));
				continue;
			}
			if (pq->outstanding)
				busy = true;
			if (!w->stopping && pq->nidle)
				worker_fill_idle(pq);
		}
		if ((++iter & 0xff) == 0 && !w->stopping &&
		    (atomic_load(&g_stop) || now_ns() >= g_deadline_ns)) {
			w->stopping = true;
			w->elapsed_ns = now_ns() - start;
		}
		if (w->stopping && !busy)
			break;
		if (w->stopping && now_ns() > g_deadline_ns + PERF_DRAIN_MS * 1000000ull) {
			fprintf(stderr, "core %u: commands still outstanding after drain\n", w->core);
			w->io_errors++;
			break;
		}
	}
	if (!w->elapsed_ns)
		w->elapsed_ns = now_ns() - start;
	return NULL;
}

/*
 * Verify sweeps: each qpair's region once, in order, DEPTH I/Os in flight per
 * qpair, all qpairs polled by the calling thread (the main thread, before the
 * workers start or after they are joined, so each qpair has one poller).
 * Writes put generation 1 everywhere (precondition); reads check every block
 * against its last generation. Nothing here counts towards IOPS or latency.
 */
static void sweep_complete(void *arg, const struct nvme_cqe *cqe);

/* 0 when submitted, 1 when the region is done, -errno on failure. */
static int sweep_submit(struct perf_task *t)
{
	struct perf_qpair *pq = t->pq;
	uint64_t rel = pq->sweep_next;
	int rc;

	if (atomic_load(&g_stop) || rel >= pq->region_blocks)
		return 1;
	t->nblocks = (uint32_t)UNVMF_MIN((uint64_t)g_sweep_blocks, pq->region_blocks - rel);
	t->iov.iov_len = (size_t)t->nblocks * g_block_size;
	pq->sweep_next += t->nblocks;
	t->lba = pq->region_start + rel;
	t->is_read = pq->sweep_read;
	if (!t->is_read) {
		t->gen = 1;
		for (uint32_t i = 0; i < t->nblocks; i++)
			unvmf_verify_fill((uint8_t *)t->buf + (size_t)i * g_block_size, g_block_size,
					  t->lba + i, g_seed, t->gen);
		rc = unvmf_host_write(pq->qpair, g_args->nsid, t->lba, t->nblocks, &t->iov, 1,
				      sweep_complete, t);
	} else {
		rc = unvmf_host_read(pq->qpair, g_args->nsid, t->lba, t->nblocks, &t->iov, 1,
				     sweep_complete, t);
	}
	if (rc)
		return rc;
	pq->outstanding++;
	return 0;
}

static void sweep_complete(void *arg, const struct nvme_cqe *cqe)
{
	struct perf_task *t = arg;
	struct perf_qpair *pq = t->pq;
	struct perf_worker *w = pq->worker;
	uint64_t rel = t->lba - pq->region_start;
	bool ok = cqe->status.s.sct == 0 && cqe->status.s.sc == 0;

	pq->outstanding--;
	if (!ok) {
		w->io_errors++;
		if (w->io_errors <= 20)
			fprintf(stderr, "I/O error: verify %s lba %llu: sct 0x%x sc 0x%x (%s)\n",
				t->is_read ? "read-back" : "precondition", (unsigned long long)t->lba,
				cqe->status.s.sct, cqe->status.s.sc,
				unvmf_host_status_str(cqe->status.s.sct, cqe->status.s.sc));
	} else if (t->is_read) {
		task_verify_read(t);
	}
	if (!t->is_read) {
		for (uint32_t i = 0; i < t->nblocks; i++)
			pq->gens[rel + i] = ok ? t->gen : PERF_GEN_UNKNOWN;
	}
	if (ok && sweep_submit(t) < 0)
		w->io_errors++;
}

/* Runs one sweep over every qpair; keeps the admin queue alive meanwhile. */
static void sweep_regions(struct unvmf_host_ctrlr *ctrlr, struct perf_worker *workers,
			  uint32_t nworkers, bool is_read)
{
	uint64_t last_progress = now_ns(), last_admin = 0;
	bool busy = true;

	for (uint32_t i = 0; i < nworkers; i++) {
		for (uint32_t q = 0; q < workers[i].nqpairs; q++) {
			struct perf_qpair *pq = &workers[i].qpairs[q];

			if (pq->failed_rc)
				continue;
			pq->sweep_next = 0;
			pq->sweep_read = is_read;
			for (uint32_t k = 0; k < g_args->depth; k++) {
				int rc = sweep_submit(&pq->tasks[k]);

				if (rc < 0)
					workers[i].io_errors++;
				if (rc)
					break;
			}
		}
	}
	while (busy) {
		uint64_t now = now_ns();

		busy = false;
		for (uint32_t i = 0; i < nworkers; i++) {
			for (uint32_t q = 0; q < workers[i].nqpairs; q++) {
				struct perf_qpair *pq = &workers[i].qpairs[q];
				int rc;

				if (pq->failed_rc || !pq->outstanding)
					continue;
				rc = unvmf_host_qpair_poll(pq->qpair, 0);
				if (rc < 0) {
					pq->failed_rc = rc;
					workers[i].io_errors++;
					fprintf(stderr, "qpair %u failed during the verify sweep: %s\n",
						unvmf_host_qpair_qid(pq->qpair), strerror(-rc));
					continue;
				}
				if (rc > 0)
					last_progress = now;
				busy = true;
			}
		}
		if (now - last_admin > 100000000ull) {
			last_admin = now;
			if (unvmf_host_admin_poll(ctrlr) < 0) {
				fprintf(stderr, "admin queue failed during the verify sweep\n");
				workers[0].io_errors++;
				return;
			}
		}
		if (busy && now - last_progress > PERF_DRAIN_MS * 1000000ull) {
			fprintf(stderr, "verify sweep: no completion for %u ms\n", PERF_DRAIN_MS);
			workers[0].io_errors++;
			return;
		}
	}
}

/*
 * Task buffers are reused by index: task i of a qpair is resubmitted from its
 * own callback, so a task's buffer has one I/O at a time.
 */
static int qpair_setup(struct perf_qpair *pq, struct perf_worker *w, uint64_t start,
		       uint64_t blocks)
{
	pq->worker = w;
	pq->region_start = start;
	pq->region_blocks = blocks;
	pq->tasks = calloc(g_args->depth, sizeof(*pq->tasks));
	pq->idle = calloc(g_args->depth, sizeof(*pq->idle));
	if (!pq->tasks || !pq->idle)
		return -ENOMEM;
	for (uint32_t i = 0; i < g_args->depth; i++) {
		struct perf_task *t = &pq->tasks[i];

		size_t len = UNVMF_MAX((size_t)g_args->io_size, (size_t)g_sweep_blocks * g_block_size);

		if (posix_memalign(&t->buf, 4096, len))
			return -ENOMEM;
		if (getrandom(t->buf, UNVMF_MIN(g_args->io_size, 256u), 0) < 0)
			memset(t->buf, 0xa5, g_args->io_size);
		t->pq = pq;
		t->iov.iov_base = t->buf;
		t->iov.iov_len = g_args->io_size;
	}
	if (g_args->verify) {
		pq->gens = calloc(blocks, sizeof(*pq->gens));
		pq->inflight = calloc(blocks, 1);
		if (!pq->gens || !pq->inflight)
			return -ENOMEM;
	}
	return 0;
}

static void qpair_teardown(struct perf_qpair *pq)
{
	unvmf_host_qpair_destroy(pq->qpair);
	if (pq->tasks) {
		for (uint32_t i = 0; i < g_args->depth; i++)
			free(pq->tasks[i].buf);
	}
	free(pq->tasks);
	free(pq->idle);
	free(pq->gens);
	free(pq->inflight);
}

static int ns_select(struct unvmf_host_ctrlr *ctrlr, struct perf_args *a, uint64_t *nblocks)
{
	struct nvme_id_ns *nd = calloc(1, sizeof(*nd));
	uint32_t *list = calloc(1024, sizeof(uint32_t));
	int rc = -ENOMEM;

	if (!nd || !list)
		goto out_free;
	if (!a->nsid) {
		rc = unvmf_host_identify_active_ns_list(ctrlr, 0, list);
		if (rc)
			goto out_free;
		if (!list[0]) {
			fprintf(stderr, "controller has no active namespace\n");
			rc = -ENODEV;
			goto out_free;
		}
		a->nsid = list[0];
	}
	rc = unvmf_host_identify_ns(ctrlr, a->nsid, nd);
	if (rc)
		goto out_free;
	if (nd->nsze == 0) {
		fprintf(stderr, "namespace %u is not active\n", a->nsid);
		rc = -ENODEV;
		goto out_free;
	}
	g_block_size = 1u << nd->lbaf[nd->flbas & 0xf].lbads;
	*nblocks = nd->nsze;
out_free:
	free(nd);
	free(list);
	return rc;
}

static uint64_t workers_io_errors(const struct perf_worker *workers, uint32_t nworkers)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < nworkers; i++)
		n += workers[i].io_errors;
	return n;
}

static json_t *hist_json(const struct unvmf_lat_hist *h)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "avg", unvmf_lat_hist_mean(h) / 1000.0,
			 "min", h->count ? (double)h->min / 1000.0 : 0.0, "max",
			 (double)h->max / 1000.0, "p50",
			 (double)unvmf_lat_hist_percentile(h, 50) / 1000.0, "p99",
			 (double)unvmf_lat_hist_percentile(h, 99) / 1000.0, "p99_9",
			 (double)unvmf_lat_hist_percentile(h, 99.9) / 1000.0);
}

static int report(struct perf_worker *workers, uint32_t nworkers)
{
	struct unvmf_lat_hist *total = malloc(sizeof(*total));
	uint64_t ios = 0, bytes = 0, io_err = 0, ver_err = 0, reads = 0, writes = 0, elapsed = 1;
	uint64_t verified = 0, nqpairs = 0;
	uint64_t region_bytes = 0;
	bool limited = false;
	json_t *out, *threads = json_array();
	double iops, mibps, secs;

	if (!total)
		return -ENOMEM;
	unvmf_lat_hist_init(total);
	for (uint32_t i = 0; i < nworkers; i++) {
		struct perf_worker *w = &workers[i];
		double ws = (double)(w->elapsed_ns ? w->elapsed_ns : 1) / 1e9;

		unvmf_lat_hist_merge(total, &w->hist);
		reads += w->reads;
		writes += w->writes;
		bytes += w->bytes;
		io_err += w->io_errors;
		ver_err += w->verify_errors;
		verified += w->verified_blocks;
		nqpairs += w->nqpairs;
		elapsed = UNVMF_MAX(elapsed, w->elapsed_ns);
		json_array_append_new(threads,
				      json_pack("{s:i, s:f, s:f, s:o}", "core", w->core, "iops",
						(double)(w->reads + w->writes) / ws, "mibps",
						(double)w->bytes / ws / 1048576.0, "latency_us",
						hist_json(&w->hist)));
	}
	ios = reads + writes;
	secs = (double)elapsed / 1e9;
	iops = (double)ios / secs;
	mibps = (double)bytes / secs / 1048576.0;
	if (g_args->verify) {
		region_bytes = g_region_blocks * nqpairs * g_block_size;
		limited = g_region_blocks * nqpairs < g_ns_blocks;
	}
	if (g_args->json) {
		char *s;

		out = json_pack("{s:s, s:i, s:i, s:i, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:o, s:o, s:b}",
				"workload", g_args->pattern_name, "io_size", (int)g_args->io_size,
				"queue_depth", (int)g_args->depth, "read_pct", g_args->read_pct,
				"time_s", secs, "iops", iops, "mibps", mibps, "reads",
				(json_int_t)reads, "writes", (json_int_t)writes, "io_errors",
				(json_int_t)io_err, "verify_errors", (json_int_t)ver_err,
				"latency_us", hist_json(total), "threads", threads, "verify",
				g_args->verify);
		if (g_args->verify) {
			json_object_set_new(out, "verified_blocks", json_integer((json_int_t)verified));
			json_object_set_new(out, "verify_region_bytes",
					    json_integer((json_int_t)region_bytes));
			json_object_set_new(out, "verify_region_limited", json_boolean(limited));
		}
		s = json_dumps(out, JSON_INDENT(2));
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(out);
	} else {
		printf("%-28s %12s %10s %12s %12s %12s %12s %12s %12s\n", "Device / core", "IOPS",
		       "MiB/s", "Average(us)", "min(us)", "max(us)", "p50(us)", "p99(us)",
		       "p99.9(us)");
		for (uint32_t i = 0; i < nworkers; i++) {
			const struct unvmf_lat_hist *h = &workers[i].hist;
			double ws = (double)(workers[i].elapsed_ns ? workers[i].elapsed_ns : 1) / 1e9;

			printf("NSID %-4u core %-14u %12.2f %10.2f %12.2f %12.2f %12.2f %12.2f %12.2f %12.2f\n",
			       g_args->nsid, workers[i].core,
			       (double)(workers[i].reads + workers[i].writes) / ws,
			       (double)workers[i].bytes / ws / 1048576.0, unvmf_lat_hist_mean(h) / 1000.0,
			       h->count ? (double)h->min / 1000.0 : 0.0, (double)h->max / 1000.0,
			       (double)unvmf_lat_hist_percentile(h, 50) / 1000.0,
			       (double)unvmf_lat_hist_percentile(h, 99) / 1000.0,
			       (double)unvmf_lat_hist_percentile(h, 99.9) / 1000.0);
		}
		printf("%-28s %12.2f %10.2f %12.2f %12.2f %12.2f %12.2f %12.2f %12.2f\n", "Total", iops,
		       mibps, unvmf_lat_hist_mean(total) / 1000.0,
		       total->count ? (double)total->min / 1000.0 : 0.0, (double)total->max / 1000.0,
		       (double)unvmf_lat_hist_percentile(total, 50) / 1000.0,
		       (double)unvmf_lat_hist_percentile(total, 99) / 1000.0,
		       (double)unvmf_lat_hist_percentile(total, 99.9) / 1000.0);
		printf("reads %llu writes %llu I/O errors %llu", (unsigned long long)reads,
		       (unsigned long long)writes, (unsigned long long)io_err);
		if (g_args->verify)
			printf(" verify errors %llu", (unsigned long long)ver_err);
		printf("\n");
		if (g_args->verify)
			printf("verified %llu blocks over %llu MiB at LBA 0..%llu%s\n",
			       (unsigned long long)verified,
			       (unsigned long long)(region_bytes >> 20),
			       (unsigned long long)(g_region_blocks * nqpairs - 1),
			       limited ? " (verify limits the workload to this part of the namespace)"
				       : "");
		json_decref(threads);
	}
	free(total);
	if (g_args->verify && !verified) {
		fprintf(stderr, "--verify checked no block\n");
		return 1;
	}
	return io_err || ver_err ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct perf_args args;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct perf_worker *workers = NULL;
	struct unvmf_host_opts opts;
	struct unvmf_host_error err;
	struct sigaction sa = {.sa_handler = perf_sigint};
	uint32_t nworkers = 0, nqpairs, qi = 0;
	uint64_t ns_blocks = 0, region;
	int rc, status = 1;

	if (parse_args(argc, argv, &args)) {
		usage(argv[0]);
		return 1;
	}
	g_args = &args;
	for (unsigned c = 0; c < PERF_MAX_CORES; c++)
		nworkers += (args.core_mask >> c) & 1;
	nqpairs = nworkers * args.qpairs_per_core;
	if (getrandom(&g_seed, sizeof(g_seed), 0) != sizeof(g_seed))
		g_seed = (uint64_t)now_ns();

	unvmf_host_opts_init(&opts);
	unvmf_strlcpy(opts.hostnqn, args.hostnqn, sizeof(opts.hostnqn));
	opts.num_io_queues = (uint16_t)nqpairs;
	opts.io_queue_size = (uint16_t)UNVMF_MIN(args.depth + 1u, 65535u);
	opts.header_digest = args.hdgst;
	opts.data_digest = args.ddgst;
	if (args.psk_path) {
		rc = unvmf_host_opts_set_psk_file(&opts, args.psk_path, args.psk_identity);
		if (rc) {
			fprintf(stderr, "PSK from %s: %s\n", args.psk_path, strerror(-rc));
			return 1;
		}
	}
	/* Task buffers live until after their qpair is destroyed: RDMA may register them once. */
	opts.rdma_mr_cache = true;
	rc = unvmf_host_connect(&args.trid, &opts, &ctrlr, &err);
	if (rc) {
		fprintf(stderr, "connect to %s failed: %s", args.trid.subnqn, strerror(-rc));
		if (err.has_cqe)
			fprintf(stderr, " (%s)", unvmf_host_status_str(err.cqe.status.s.sct,
								       err.cqe.status.s.sc));
		fprintf(stderr, "\n");
		return 1;
	}
	rc = ns_select(ctrlr, &args, &ns_blocks);
	if (rc)
		goto out_disconnect;
	if (args.io_size % g_block_size) {
		fprintf(stderr, "I/O size %u is not a multiple of the block size %u\n", args.io_size,
			g_block_size);
		goto out_disconnect;
	}
	g_io_blocks = args.io_size / g_block_size;
	g_sweep_blocks = g_io_blocks;
	if (args.verify) {
		uint32_t mdts = unvmf_host_ctrlr_max_xfer(ctrlr);
		uint32_t sweep = UNVMF_MIN(PERF_SWEEP_BYTES, mdts ? mdts : args.io_size);

		g_sweep_blocks = UNVMF_MAX(g_io_blocks, sweep / g_block_size);
	}
	if (args.verify && g_block_size < UNVMF_VERIFY_MIN_BLOCK)
		goto out_disconnect;
	region = ns_blocks;
	if (args.verify) {
		/* Enough for each qpair's 2 * DEPTH distinct I/Os even past the cap. */
		uint64_t cap = UNVMF_MAX(PERF_VERIFY_MAX_BYTES,
					 2ull * args.depth * args.io_size * nqpairs) / g_block_size;

		region = UNVMF_MIN(region, cap);
	}
	region /= nqpairs;
	region -= region % g_io_blocks;
	if (region < (uint64_t)g_io_blocks * (args.verify ? 2u * args.depth : 1u)) {
		fprintf(stderr, "namespace too small for %u qpairs of depth %u\n", nqpairs, args.depth);
		goto out_disconnect;
	}
	g_ns_blocks = ns_blocks;
	g_region_blocks = region;
	if (unvmf_host_ctrlr_num_io_queues(ctrlr) < nqpairs) {
		fprintf(stderr, "controller granted %u I/O queues, %u needed\n",
			unvmf_host_ctrlr_num_io_queues(ctrlr), nqpairs);
		goto out_disconnect;
	}

	workers = calloc(nworkers, sizeof(*workers));
	if (!workers)
		goto out_disconnect;
	for (unsigned c = 0, wi = 0; c < PERF_MAX_CORES; c++) {
		struct perf_worker *w;

		if (!((args.core_mask >> c) & 1))
			continue;
		w = &workers[wi++];
		w->core = c;
		w->rng = g_seed ^ ((uint64_t)(c + 1) * 0x9e3779b97f4a7c15ull);
		if (!w->rng)
			w->rng = 1;
		unvmf_lat_hist_init(&w->hist);
		w->qpairs = calloc(args.qpairs_per_core, sizeof(*w->qpairs));
		if (!w->qpairs)
			goto out_free_workers;
		for (uint32_t q = 0; q < args.qpairs_per_core; q++, qi++) {
			struct perf_qpair *pq = &w->qpairs[q];

			rc = unvmf_host_qpair_create(ctrlr, (uint16_t)(args.depth + 1), &pq->qpair, &err);
			if (rc) {
				fprintf(stderr, "I/O qpair create failed: %s\n", strerror(-rc));
				goto out_free_workers;
			}
			w->nqpairs++;
			if (qpair_setup(pq, w, (uint64_t)qi * region, region))
				goto out_free_workers;
		}
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (args.verify) {
		sweep_regions(ctrlr, workers, nworkers, false);
		/* An undefined region or a stuck qpair makes the run meaningless. */
		if (workers_io_errors(workers, nworkers)) {
			fprintf(stderr, "verify precondition failed; no timed run\n");
			report(workers, nworkers);
			status = 1;
			goto out_free_workers;
		}
	}
	g_deadline_ns = now_ns() + (uint64_t)args.seconds * 1000000000ull;
	for (uint32_t i = 0; i < nworkers; i++) {
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i])) {
			atomic_store(&g_stop, true);
			for (uint32_t j = 0; j < i; j++)
				pthread_join(workers[j].thread, NULL);
			goto out_free_workers;
		}
	}
	/* The admin queue stays on this thread: keep alive while the workers run. */
	while (!atomic_load(&g_stop) && now_ns() < g_deadline_ns) {
		if (unvmf_host_admin_poll(ctrlr) < 0) {
			fprintf(stderr, "admin queue failed\n");
			break;
		}
		usleep(10000);
	}
	for (uint32_t i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	if (args.verify && args.read_pct < 100 && !atomic_load(&g_stop))
		sweep_regions(ctrlr, workers, nworkers, true);
	status = report(workers, nworkers);

out_free_workers:
	for (uint32_t i = 0; workers && i < nworkers; i++) {
		for (uint32_t q = 0; q < workers[i].nqpairs; q++)
			qpair_teardown(&workers[i].qpairs[q]);
		free(workers[i].qpairs);
	}
	free(workers);
out_disconnect:
	unvmf_host_disconnect(ctrlr);
	return status;
}
