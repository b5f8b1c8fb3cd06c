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
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
#define PERF_GEN_UNKNOWN UINT32_MAX /* a failed write left the block undefined */
#define PERF_PICK_TRIES 16
#define PERF_VERIFY_MAX_BYTES (256ull << 20)
#define PERF_MAX_TARGETS 16

enum perf_pattern {
	PERF_READ,
	PERF_WRITE,
	PERF_RANDREAD,
	PERF_RANDWRITE,
	PERF_RW,
	PERF_RANDRW,
};

struct perf_args {
	struct unvmf_trid trids[PERF_MAX_TARGETS];
	const char *trid_strs[PERF_MAX_TARGETS];
	uint32_t ntargets;
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
	const char *dhchap_key;       /* key files, as spdk_nvme_perf's --dhchap-key */
	const char *dhchap_ctrlr_key;
	const char *dhchap_digests;   /* comma-separated names offered */
	const char *dhchap_dhgroups;
	bool ddgst;
	bool progress; /* a line per second (default: when stdout is a terminal) */
	bool continue_on_error;
	uint32_t warmup_s;
	uint64_t number_ios;   /* 0: no limit */
	const char *histogram; /* latency histogram file (.csv: CSV, else JSON) */
};

/* One -r: its controller and the namespace every qpair of it works on. */
struct perf_target {
	unsigned index;
	struct unvmf_host_ctrlr *ctrlr;
	uint32_t nsid;
	uint32_t block_size;
	uint32_t io_blocks;
	/*
	 * Blocks per verify-sweep I/O: the run's I/O size, raised to PERF_SWEEP_BYTES
	 * (within the controller's MDTS) so that writing and reading back a region of
	 * small blocks takes a few large commands instead of many small ones.
	 */
	uint32_t sweep_blocks;
	uint64_t ns_blocks;
	uint64_t region_blocks; /* per qpair */
	uint32_t nqpairs;
	bool admin_failed;
};

struct perf_worker;

struct perf_task {
	struct perf_qpair *pq;
	void *buf;
	struct iovec iov;
	uint64_t lba;
	uint32_t nblocks; /* of this I/O: g_io_blocks, or up to g_sweep_blocks in a sweep */
	bool is_read;
	uint64_t submit_ns;
	uint32_t gen;  /* write: the generation being written */
	bool measured; /* submitted after the warm-up: counts in the results */
};

/* One I/O qpair and its region, owned by a worker thread. */
struct perf_qpair {
	struct perf_worker *worker;
	struct perf_target *tgt;
	struct unvmf_host_qpair *qpair;
	struct perf_task *tasks;
	uint64_t region_start;
	uint64_t region_blocks;
	uint64_t seq_next;
	uint32_t *gens;          /* verify: per block of the region */
	uint8_t *inflight;       /* verify: per block of the region */
	struct perf_task **idle; /* tasks that found no free block; retried each poll */
	uint32_t nidle;
	uint32_t outstanding;
	int failed_rc;
	uint64_t sweep_next; /* verify sweep: next region-relative block */
	bool sweep_read;     /* verify sweep: read back (else write generation 1) */
	/* Measured results of this qpair, for the per-target report. */
	uint64_t ios;
	uint64_t bytes;
	uint64_t io_errors;
	uint64_t lat_sum_ns;
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
	uint64_t verified_blocks; /* blocks compared with their expected pattern */
	uint64_t elapsed_ns;
	struct unvmf_lat_hist hist;
	bool warm; /* still in the warm-up: nothing counts yet */
	bool done;
	/*
	 * Warm-up included and never reset: the progress line's source. The
	 * worker stores them (relaxed) every few hundred polls; the main thread
	 * loads them, so neither needs a lock and the I/O path no atomic RMW.
	 */
	uint64_t live_ios;
	uint64_t live_bytes;
	uint64_t live_errors;
	uint64_t live_lat_ns;
	struct {
		uint64_t ios, bytes, errors, lat_ns;
	} pub;
};

static const struct perf_args *g_args;
#define PERF_SWEEP_BYTES (128u * 1024)
static uint64_t g_seed;
static atomic_bool g_stop;
static uint64_t g_warmup_end_ns;
static uint64_t g_deadline_ns;
/* --number-ios: measured I/Os handed out so far, across the workers. */
static atomic_uint_fast64_t g_ios_submitted;
static atomic_uint g_workers_running;
/* Why the run stopped early (the first reason wins), printed with the results. */
static atomic_flag g_stop_reason_set = ATOMIC_FLAG_INIT;
static char g_stop_reason[256];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Ends the run for a failure (without --continue-on-error): every worker
 * drains and the results say why. Any thread.
 */
static void perf_stop_on_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void perf_stop_on_error(const char *fmt, ...)
{
	va_list ap;

	if (!atomic_flag_test_and_set(&g_stop_reason_set)) {
		va_start(ap, fmt);
		vsnprintf(g_stop_reason, sizeof(g_stop_reason), fmt, ap);
		va_end(ap);
	}
	atomic_store(&g_stop, true);
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
	fprintf(
	    stderr,
	    "usage: %s -r TRID [-r TRID...] -q DEPTH -o IO_SIZE -w PATTERN -t SECONDS [options]\n"
	    "  -r TRID            'trtype:TCP adrfam:IPv4 traddr:ADDR trsvcid:PORT subnqn:NQN';\n"
	    "                     several -r: one controller each, every core drives them all\n"
	    "  -q DEPTH           commands in flight per qpair\n"
	    "  -o IO_SIZE         bytes per I/O (multiple of the block size)\n"
	    "  -w PATTERN         read|write|randread|randwrite|rw|randrw\n"
	    "  -M READ_PCT        read percentage for rw/randrw (default 50)\n"
	    "  -t SECONDS         run time (optional with --number-ios)\n"
	    "  -c CORE_MASK       hex mask of cores, one thread each (default 0x1)\n"
	    "  -P NUM             I/O qpairs per core (default 1)\n"
	    "  --nsid N           namespace (default: first active)\n"
	    "  --verify           write a pattern over the regions first, check every read\n"
	    "                     against the last write, read back after writes (at most\n"
	    "                     256 MiB of the namespace is used)\n"
	    "  --json             print results as one JSON object\n"
	    "  --hostnqn NQN      host NQN\n"
	    "  --header-digest / --data-digest   enable NVMe/TCP digests\n"
	    "  --progress         a line per second (IOPS, MiB/s, mean latency, errors); the\n"
	    "                     default when stdout is a terminal (to stderr with --json)\n"
	    "  --warmup SEC       run SEC seconds of I/O before measuring\n"
	    "  --number-ios N     stop after N measured I/Os (with -t: whichever comes first)\n"
	    "  --continue-on-error  keep going after I/O errors and failed qpairs (the run\n"
	    "                     stops when no qpair is left); default: stop at the first\n"
	    "  --histogram FILE   write the latency histogram (FILE.csv: CSV, else JSON;\n"
	    "                     bench/plot_hist.py draws it)\n"
	    "  --psk-path FILE    NVMe/TCP over TLS 1.3 with the PSK in FILE (interchange\n"
	    "                     format, mode 0600)\n"
	    "  --psk-identity ID  PSK identity (default NVMe0R<hh> <hostnqn> <subnqn>)\n"
	    "  --dhchap-key FILE  DH-HMAC-CHAP with the host secret in FILE (DHHC-1, 0600)\n"
	    "  --dhchap-ctrlr-key FILE  authenticate the controller too, with its secret\n"
	    "  --dhchap-digests LIST, --dhchap-dhgroups LIST  offer only these (sha256,...;\n"
	    "                     null,ffdhe2048,...; default all)\n",
	    prog);
}

static int parse_pattern(const char *s, enum perf_pattern *p)
{
	static const struct {
		const char *name;
		enum perf_pattern p;
	} names[] = {
	    {"read", PERF_READ},           {"write", PERF_WRITE}, {"randread", PERF_RANDREAD},
	    {"randwrite", PERF_RANDWRITE}, {"rw", PERF_RW},       {"randrw", PERF_RANDRW},
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
	    {"progress", no_argument, NULL, 'p'},
	    {"warmup", required_argument, NULL, 'W'},
	    {"number-ios", required_argument, NULL, 'N'},
	    {"continue-on-error", no_argument, NULL, 'E'},
	    {"histogram", required_argument, NULL, 'S'},
	    {"psk-path", required_argument, NULL, 'k'},
	    {"psk-identity", required_argument, NULL, 'I'},
	    {"dhchap-key", required_argument, NULL, 0x100},
	    {"dhchap-ctrlr-key", required_argument, NULL, 0x101},
	    {"dhchap-digests", required_argument, NULL, 0x102},
	    {"dhchap-dhgroups", required_argument, NULL, 0x103},
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
			if (a->ntargets == PERF_MAX_TARGETS) {
				fprintf(stderr, "at most %u -r\n", PERF_MAX_TARGETS);
				return -EINVAL;
			}
			if (unvmf_trid_parse(&a->trids[a->ntargets], optarg)) {
				fprintf(stderr, "invalid transport ID: '%s'\n", optarg);
				return -EINVAL;
			}
			if (!a->trids[a->ntargets].subnqn[0]) {
				fprintf(stderr, "-r needs subnqn:NQN\n");
				return -EINVAL;
			}
			a->trid_strs[a->ntargets++] = optarg;
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
		case 0x100:
			a->dhchap_key = optarg;
			break;
		case 0x101:
			a->dhchap_ctrlr_key = optarg;
			break;
		case 0x102:
			a->dhchap_digests = optarg;
			break;
		case 0x103:
			a->dhchap_dhgroups = optarg;
			break;
		case 'p':
			a->progress = true;
			break;
		case 'W':
			if (parse_u32(optarg, 0, 3600, &a->warmup_s))
				return -EINVAL;
			break;
		case 'N':
			errno = 0;
			a->number_ios = strtoull(optarg, &end, 0);
			if (errno || *end || a->number_ios == 0)
				return -EINVAL;
			break;
		case 'E':
			a->continue_on_error = true;
			break;
		case 'S':
			a->histogram = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!have_t && a->number_ios)
		a->seconds = 0; /* until the I/Os are done */
	else if (!have_t)
		return -EINVAL;
	if (!have_r || !have_q || !have_o || !have_w || optind != argc ||
	    (a->psk_identity && !a->psk_path) ||
	    (a->dhchap_ctrlr_key && !a->dhchap_key))
		return -EINVAL;
	if (isatty(STDOUT_FILENO))
		a->progress = true;
	if (a->read_pct < 0) {
		a->read_pct = a->pattern == PERF_RW || a->pattern == PERF_RANDRW         ? 50
		              : (a->pattern == PERF_READ || a->pattern == PERF_RANDREAD) ? 100
		                                                                         : 0;
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
	for (uint32_t i = 0; i < pq->tgt->io_blocks; i++) {
		if (pq->inflight[rel + i])
			return false;
	}
	return true;
}

/* Picks the region-relative start block of the next I/O; false when none is free now. */
static bool task_pick(struct perf_qpair *pq, uint64_t *rel)
{
	uint64_t slots = pq->region_blocks / pq->tgt->io_blocks;

	for (int tries = 0; tries < PERF_PICK_TRIES; tries++) {
		uint64_t r;

		if (pattern_random(g_args->pattern)) {
			r = (rng_next(&pq->worker->rng) % slots) * pq->tgt->io_blocks;
		} else {
			r = pq->seq_next;
			pq->seq_next += pq->tgt->io_blocks;
			if (pq->seq_next + pq->tgt->io_blocks > pq->region_blocks)
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

	t->measured = !w->warm;
	/* The quota is taken before the pick so that a refused pick gives it back. */
	if (t->measured && g_args->number_ios &&
	    atomic_fetch_add(&g_ios_submitted, 1) >= g_args->number_ios)
		return -EDQUOT;
	if (!task_pick(pq, &rel)) {
		if (t->measured && g_args->number_ios)
			atomic_fetch_sub(&g_ios_submitted, 1);
		return -EBUSY;
	}
	t->lba = pq->region_start + rel;
	t->nblocks = pq->tgt->io_blocks;
	t->iov.iov_len = (size_t)pq->tgt->io_blocks * pq->tgt->block_size;
	t->is_read = (int)(rng_next(&w->rng) % 100) < g_args->read_pct;
	if (g_args->verify) {
		for (uint32_t i = 0; i < pq->tgt->io_blocks; i++)
			pq->inflight[rel + i] = 1;
		if (!t->is_read) {
			/* One generation per I/O: every block gets it; each block's table entry
			 * may lag but a write always moves all of them to t->gen. */
			uint32_t g = 0;

			for (uint32_t i = 0; i < pq->tgt->io_blocks; i++)
				g = UNVMF_MAX(g, pq->gens[rel + i] == PERF_GEN_UNKNOWN
				                     ? 0
				                     : pq->gens[rel + i]);
			t->gen = g + 1;
			for (uint32_t i = 0; i < pq->tgt->io_blocks; i++)
				unvmf_verify_fill((uint8_t *)t->buf +
				                      (size_t)i * pq->tgt->block_size,
				                  pq->tgt->block_size, t->lba + i, g_seed, t->gen);
		}
	}
	t->submit_ns = now_ns();
	if (t->is_read)
		rc = unvmf_host_read(pq->qpair, pq->tgt->nsid, t->lba, pq->tgt->io_blocks, &t->iov,
		                     1, task_complete, t);
	else
		rc = unvmf_host_write(pq->qpair, pq->tgt->nsid, t->lba, pq->tgt->io_blocks, &t->iov,
		                      1, task_complete, t);
	if (rc) {
		if (g_args->verify) {
			for (uint32_t i = 0; i < pq->tgt->io_blocks; i++)
				pq->inflight[rel + i] = 0;
		}
		if (t->measured && g_args->number_ios)
			atomic_fetch_sub(&g_ios_submitted, 1);
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
		if (unvmf_verify_check((uint8_t *)t->buf + (size_t)i * pq->tgt->block_size,
		                       pq->tgt->block_size, t->lba + i, g_seed, gen, &res))
			continue;
		pq->worker->verify_errors++;
		if (pq->worker->verify_errors <= 20) {
			fprintf(stderr,
			        "verify error: lba %llu byte %u: expected (lba %llu seed 0x%llx "
			        "gen %u), "
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

	uint64_t lat = now_ns() - t->submit_ns;

	pq->outstanding--;
	w->live_ios++;
	w->live_lat_ns += lat;
	if (ok)
		w->live_bytes += g_args->io_size;
	if (t->measured) {
		unvmf_lat_hist_record(&w->hist, lat);
		pq->lat_sum_ns += lat;
	}
	if (!ok) {
		w->io_errors++;
		w->live_errors++;
		pq->io_errors++;
		if (w->io_errors <= 20)
			fprintf(stderr, "I/O error: target %u %s lba %llu: sct 0x%x sc 0x%x (%s)\n",
			        pq->tgt->index, t->is_read ? "read" : "write",
			        (unsigned long long)t->lba, cqe->status.s.sct, cqe->status.s.sc,
			        unvmf_host_status_str(cqe->status.s.sct, cqe->status.s.sc));
		if (!g_args->continue_on_error)
			perf_stop_on_error(
			    "I/O error on target %u (%s)", pq->tgt->index,
			    unvmf_host_status_str(cqe->status.s.sct, cqe->status.s.sc));
	} else if (t->measured) {
		if (t->is_read)
			w->reads++;
		else
			w->writes++;
		w->bytes += g_args->io_size;
		pq->ios++;
		pq->bytes += g_args->io_size;
	}
	if (g_args->verify) {
		if (t->is_read && ok)
			task_verify_read(t);
		for (uint32_t i = 0; i < pq->tgt->io_blocks; i++) {
			if (!t->is_read)
				pq->gens[rel + i] = ok ? t->gen : PERF_GEN_UNKNOWN;
			pq->inflight[rel + i] = 0;
		}
	}
	/* With --continue-on-error a failed command's slot goes on working. */
	if (w->stopping || (!ok && !g_args->continue_on_error))
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
	w->warm = g_args->warmup_s > 0;
	for (uint32_t q = 0; q < w->nqpairs; q++) {
		for (uint32_t i = 0; i < g_args->depth; i++) {
			struct perf_qpair *pq = &w->qpairs[q];

			if (task_submit(&pq->tasks[i]))
				pq->idle[pq->nidle++] = &pq->tasks[i];
		}
	}
	for (;;) {
		bool busy = false, alive = false;

		for (uint32_t q = 0; q < w->nqpairs; q++) {
			struct perf_qpair *pq = &w->qpairs[q];
			int rc;

			if (pq->failed_rc)
				continue;
			rc = unvmf_host_qpair_poll(pq->qpair, 0);
			if (rc < 0) {
				pq->failed_rc = rc;
				w->io_errors++;
				w->live_errors++;
				pq->io_errors++;
				fprintf(stderr, "target %u: qpair %u failed: %s\n", pq->tgt->index,
				        unvmf_host_qpair_qid(pq->qpair), strerror(-rc));
				if (!g_args->continue_on_error)
					perf_stop_on_error(
					    "target %u (%s): qpair %u failed: %s", pq->tgt->index,
					    g_args->trid_strs[pq->tgt->index],
					    unvmf_host_qpair_qid(pq->qpair), strerror(-rc));
				continue;
			}
			alive = true;
			if (pq->outstanding)
				busy = true;
			if (!w->stopping && pq->nidle)
				worker_fill_idle(pq);
		}
		if ((++iter & 0xff) == 0) {
			uint64_t now = now_ns();

			__atomic_store_n(&w->pub.ios, w->live_ios, __ATOMIC_RELAXED);
			__atomic_store_n(&w->pub.bytes, w->live_bytes, __ATOMIC_RELAXED);
			__atomic_store_n(&w->pub.errors, w->live_errors, __ATOMIC_RELAXED);
			__atomic_store_n(&w->pub.lat_ns, w->live_lat_ns, __ATOMIC_RELAXED);
			if (w->warm && now >= g_warmup_end_ns) {
				/* Completions of warm-up commands still in flight do not count. */
				w->warm = false;
				start = now;
			}
			if (!w->stopping &&
			    (atomic_load(&g_stop) || now >= g_deadline_ns ||
			     (g_args->number_ios && !busy &&
			      atomic_load(&g_ios_submitted) >= g_args->number_ios))) {
				w->stopping = true;
				/* A run by count ends when the last I/O completes, not when it is
				 * sent. */
				if (!g_args->number_ios || now >= g_deadline_ns ||
				    atomic_load(&g_stop))
					w->elapsed_ns = now - start;
			}
		}
		if (!alive && !w->stopping) {
			/* --continue-on-error, every qpair of this core failed: nothing left to do.
			 */
			w->stopping = true;
			w->elapsed_ns = now_ns() - start;
		}
		if (w->stopping && !busy)
			break;
		if (w->stopping && now_ns() > g_deadline_ns + PERF_DRAIN_MS * 1000000ull) {
			fprintf(stderr, "core %u: commands still outstanding after drain\n",
			        w->core);
			w->io_errors++;
			break;
		}
	}
	if (!w->elapsed_ns)
		w->elapsed_ns = now_ns() - start;
	__atomic_store_n(&w->pub.ios, w->live_ios, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.bytes, w->live_bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.errors, w->live_errors, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.lat_ns, w->live_lat_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&w->done, true, __ATOMIC_RELEASE);
	atomic_fetch_sub(&g_workers_running, 1);
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
	t->nblocks = (uint32_t)UNVMF_MIN((uint64_t)pq->tgt->sweep_blocks, pq->region_blocks - rel);
	t->iov.iov_len = (size_t)t->nblocks * pq->tgt->block_size;
	pq->sweep_next += t->nblocks;
	t->lba = pq->region_start + rel;
	t->is_read = pq->sweep_read;
	if (!t->is_read) {
		t->gen = 1;
		for (uint32_t i = 0; i < t->nblocks; i++)
			unvmf_verify_fill((uint8_t *)t->buf + (size_t)i * pq->tgt->block_size,
			                  pq->tgt->block_size, t->lba + i, g_seed, t->gen);
		rc = unvmf_host_write(pq->qpair, pq->tgt->nsid, t->lba, t->nblocks, &t->iov, 1,
		                      sweep_complete, t);
	} else {
		rc = unvmf_host_read(pq->qpair, pq->tgt->nsid, t->lba, t->nblocks, &t->iov, 1,
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
			        t->is_read ? "read-back" : "precondition",
			        (unsigned long long)t->lba, cqe->status.s.sct, cqe->status.s.sc,
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
static void sweep_regions(struct perf_target *targets, uint32_t ntargets,
                          struct perf_worker *workers, uint32_t nworkers, bool is_read)
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
					fprintf(stderr,
					        "qpair %u failed during the verify sweep: %s\n",
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
			for (uint32_t k = 0; k < ntargets; k++) {
				if (unvmf_host_admin_poll(targets[k].ctrlr) < 0) {
					fprintf(stderr,
					        "target %u: admin queue failed during the verify "
					        "sweep\n",
					        k);
					workers[0].io_errors++;
					return;
				}
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
static int qpair_setup(struct perf_qpair *pq, struct perf_worker *w, struct perf_target *tg,
                       uint64_t start, uint64_t blocks)
{
	pq->worker = w;
	pq->tgt = tg;
	pq->region_start = start;
	pq->region_blocks = blocks;
	pq->tasks = calloc(g_args->depth, sizeof(*pq->tasks));
	pq->idle = calloc(g_args->depth, sizeof(*pq->idle));
	if (!pq->tasks || !pq->idle)
		return -ENOMEM;
	for (uint32_t i = 0; i < g_args->depth; i++) {
		struct perf_task *t = &pq->tasks[i];

		size_t len = UNVMF_MAX((size_t)g_args->io_size,
		                       (size_t)pq->tgt->sweep_blocks * pq->tgt->block_size);

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

static int ns_select(struct perf_target *tg, uint32_t nsid)
{
	struct nvme_id_ns *nd = calloc(1, sizeof(*nd));
	uint32_t *list = calloc(1024, sizeof(uint32_t));
	int rc = -ENOMEM;

	if (!nd || !list)
		goto out_free;
	tg->nsid = nsid;
	if (!tg->nsid) {
		rc = unvmf_host_identify_active_ns_list(tg->ctrlr, 0, list);
		if (rc)
			goto out_free;
		if (!list[0]) {
			fprintf(stderr, "target %u: controller has no active namespace\n",
			        tg->index);
			rc = -ENODEV;
			goto out_free;
		}
		tg->nsid = list[0];
	}
	rc = unvmf_host_identify_ns(tg->ctrlr, tg->nsid, nd);
	if (rc)
		goto out_free;
	if (nd->nsze == 0) {
		fprintf(stderr, "target %u: namespace %u is not active\n", tg->index, tg->nsid);
		rc = -ENODEV;
		goto out_free;
	}
	tg->block_size = 1u << nd->lbaf[nd->flbas & 0xf].lbads;
	tg->ns_blocks = nd->nsze;
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

/* Per-target sums over the qpairs of every worker. */
struct target_result {
	uint64_t ios, bytes, io_errors, lat_sum_ns;
};

static void target_results(const struct perf_worker *workers, uint32_t nworkers,
                           struct target_result *res, uint32_t ntargets)
{
	memset(res, 0, sizeof(*res) * ntargets);
	for (uint32_t i = 0; i < nworkers; i++) {
		for (uint32_t q = 0; q < workers[i].nqpairs; q++) {
			const struct perf_qpair *pq = &workers[i].qpairs[q];
			struct target_result *r = &res[pq->tgt->index];

			r->ios += pq->ios;
			r->bytes += pq->bytes;
			r->io_errors += pq->io_errors;
			r->lat_sum_ns += pq->lat_sum_ns;
		}
	}
}

/*
 * --histogram: the merged measured latencies, one row per non-empty bucket
 * of struct unvmf_lat_hist (bounds in ns, inclusive). JSON unless the name
 * ends in .csv; bench/plot_hist.py reads both.
 */
static int histogram_write(const char *path, const struct unvmf_lat_hist *h)
{
	size_t len = strlen(path);
	bool csv = len > 4 && strcasecmp(path + len - 4, ".csv") == 0;
	FILE *f = fopen(path, "w");
	bool first = true;

	if (!f) {
		fprintf(stderr, "--histogram %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (csv)
		fprintf(f, "lo_ns,hi_ns,count\n");
	else
		fprintf(f,
		        "{\"unit\": \"ns\", \"count\": %llu, \"min\": %llu, \"max\": %llu, "
		        "\"mean\": %.1f, \"buckets\": [",
		        (unsigned long long)h->count, (unsigned long long)(h->count ? h->min : 0),
		        (unsigned long long)h->max, unvmf_lat_hist_mean(h));
	for (uint32_t b = 0; b < LAT_HIST_BUCKETS; b++) {
		uint64_t lo, hi;

		if (!h->buckets[b])
			continue;
		unvmf_lat_hist_bucket_range(b, &lo, &hi);
		if (csv)
			fprintf(f, "%llu,%llu,%llu\n", (unsigned long long)lo,
			        (unsigned long long)hi, (unsigned long long)h->buckets[b]);
		else
			fprintf(f, "%s\n  {\"lo\": %llu, \"hi\": %llu, \"count\": %llu}",
			        first ? "" : ",", (unsigned long long)lo, (unsigned long long)hi,
			        (unsigned long long)h->buckets[b]);
		first = false;
	}
	if (!csv)
		fprintf(f, "\n]}\n");
	if (fclose(f)) {
		fprintf(stderr, "--histogram %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

static int report(const struct perf_target *targets, uint32_t ntargets, struct perf_worker *workers,
                  uint32_t nworkers)
{
	struct unvmf_lat_hist *total = malloc(sizeof(*total));
	struct target_result tres[PERF_MAX_TARGETS];
	uint64_t ios = 0, bytes = 0, io_err = 0, ver_err = 0, reads = 0, writes = 0, elapsed = 1;
	uint64_t verified = 0;
	uint64_t region_bytes = 0;
	bool limited = false;
	json_t *out, *threads = json_array(), *jtargets = json_array();
	double iops, mibps, secs;
	int status;

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
	target_results(workers, nworkers, tres, ntargets);
	for (uint32_t k = 0; k < ntargets; k++) {
		const struct perf_target *tg = &targets[k];

		if (g_args->verify) {
			region_bytes += tg->region_blocks * tg->nqpairs * tg->block_size;
			limited |= tg->region_blocks * tg->nqpairs < tg->ns_blocks;
		}
		json_array_append_new(
		    jtargets, json_pack("{s:s, s:s, s:i, s:f, s:f, s:I, s:I, s:f}", "trid",
		                        g_args->trid_strs[k], "subnqn", g_args->trids[k].subnqn,
		                        "nsid", (int)tg->nsid, "iops", (double)tres[k].ios / secs,
		                        "mibps", (double)tres[k].bytes / secs / 1048576.0, "ios",
		                        (json_int_t)tres[k].ios, "io_errors",
		                        (json_int_t)tres[k].io_errors, "latency_avg_us",
		                        tres[k].ios ? (double)tres[k].lat_sum_ns /
		                                          (double)tres[k].ios / 1000.0
		                                    : 0.0));
	}
	if (g_args->json) {
		char *s;

		out = json_pack(
		    "{s:s, s:i, s:i, s:i, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:o, s:o, s:b, "
		    "s:o, s:i}",
		    "workload", g_args->pattern_name, "io_size", (int)g_args->io_size,
		    "queue_depth", (int)g_args->depth, "read_pct", g_args->read_pct, "time_s", secs,
		    "iops", iops, "mibps", mibps, "reads", (json_int_t)reads, "writes",
		    (json_int_t)writes, "io_errors", (json_int_t)io_err, "verify_errors",
		    (json_int_t)ver_err, "latency_us", hist_json(total), "threads", threads,
		    "verify", g_args->verify, "targets", jtargets, "warmup_s",
		    (int)g_args->warmup_s);
		if (g_args->verify) {
			json_object_set_new(out, "verified_blocks",
			                    json_integer((json_int_t)verified));
			json_object_set_new(out, "verify_region_bytes",
			                    json_integer((json_int_t)region_bytes));
			json_object_set_new(out, "verify_region_limited", json_boolean(limited));
		}
		if (g_stop_reason[0])
			json_object_set_new(out, "stopped", json_string(g_stop_reason));
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
			double ws =
			    (double)(workers[i].elapsed_ns ? workers[i].elapsed_ns : 1) / 1e9;

			printf("NSID %-4u core %-14u %12.2f %10.2f %12.2f %12.2f %12.2f %12.2f "
			       "%12.2f %12.2f\n",
			       targets[0].nsid, workers[i].core,
			       (double)(workers[i].reads + workers[i].writes) / ws,
			       (double)workers[i].bytes / ws / 1048576.0,
			       unvmf_lat_hist_mean(h) / 1000.0,
			       h->count ? (double)h->min / 1000.0 : 0.0, (double)h->max / 1000.0,
			       (double)unvmf_lat_hist_percentile(h, 50) / 1000.0,
			       (double)unvmf_lat_hist_percentile(h, 99) / 1000.0,
			       (double)unvmf_lat_hist_percentile(h, 99.9) / 1000.0);
		}
		for (uint32_t k = 0; ntargets > 1 && k < ntargets; k++)
			printf("target %-2u NSID %-13u %12.2f %10.2f %12.2f   %s\n", k,
			       targets[k].nsid, (double)tres[k].ios / secs,
			       (double)tres[k].bytes / secs / 1048576.0,
			       tres[k].ios
			           ? (double)tres[k].lat_sum_ns / (double)tres[k].ios / 1000.0
			           : 0.0,
			       g_args->trids[k].subnqn);
		printf("%-28s %12.2f %10.2f %12.2f %12.2f %12.2f %12.2f %12.2f %12.2f\n", "Total",
		       iops, mibps, unvmf_lat_hist_mean(total) / 1000.0,
		       total->count ? (double)total->min / 1000.0 : 0.0,
		       (double)total->max / 1000.0,
		       (double)unvmf_lat_hist_percentile(total, 50) / 1000.0,
		       (double)unvmf_lat_hist_percentile(total, 99) / 1000.0,
		       (double)unvmf_lat_hist_percentile(total, 99.9) / 1000.0);
		printf("reads %llu writes %llu I/O errors %llu", (unsigned long long)reads,
		       (unsigned long long)writes, (unsigned long long)io_err);
		if (g_args->verify)
			printf(" verify errors %llu", (unsigned long long)ver_err);
		printf("\n");
		if (g_args->verify && ntargets == 1)
			printf(
			    "verified %llu blocks over %llu MiB at LBA 0..%llu%s\n",
			    (unsigned long long)verified, (unsigned long long)(region_bytes >> 20),
			    (unsigned long long)(targets[0].region_blocks * targets[0].nqpairs - 1),
			    limited ? " (verify limits the workload to this part of the namespace)"
			            : "");
		else if (g_args->verify)
			printf("verified %llu blocks over %llu MiB on %u targets%s\n",
			       (unsigned long long)verified,
			       (unsigned long long)(region_bytes >> 20), ntargets,
			       limited ? " (verify limits the workload to part of the namespaces)"
			               : "");
		json_decref(threads);
		json_decref(jtargets);
	}
	if (g_stop_reason[0])
		fprintf(stderr, "unvmf-perf: stopped early: %s%s\n", g_stop_reason,
		        g_args->continue_on_error ? "" : " (--continue-on-error keeps going)");
	status = io_err || ver_err ? 1 : 0;
	if (g_args->verify && !verified) {
		fprintf(stderr, "--verify checked no block\n");
		status = 1;
	}
	if (g_args->histogram && histogram_write(g_args->histogram, total))
		status = 1;
	free(total);
	return status;
}

/* The progress line: what completed in the last interval, warm-up included (and marked). */
struct progress {
	uint64_t start_ns, last_ns;
	uint64_t ios, bytes, errors, lat_ns;
};

static void progress_print(struct progress *p, const struct perf_worker *workers, uint32_t nworkers,
                           uint64_t now)
{
	uint64_t ios = 0, bytes = 0, errors = 0, lat = 0;
	double dt = (double)(now - p->last_ns) / 1e9;
	FILE *f = g_args->json ? stderr : stdout;

	for (uint32_t i = 0; i < nworkers; i++) {
		ios += __atomic_load_n(&workers[i].pub.ios, __ATOMIC_RELAXED);
		bytes += __atomic_load_n(&workers[i].pub.bytes, __ATOMIC_RELAXED);
		errors += __atomic_load_n(&workers[i].pub.errors, __ATOMIC_RELAXED);
		lat += __atomic_load_n(&workers[i].pub.lat_ns, __ATOMIC_RELAXED);
	}
	fprintf(f, "[%6.1f s]%s IOPS %11.1f  MiB/s %9.2f  lat(us) %9.2f  errors %llu\n",
	        (double)(now - p->start_ns) / 1e9, now < g_warmup_end_ns ? " warm-up" : "",
	        (double)(ios - p->ios) / dt, (double)(bytes - p->bytes) / dt / 1048576.0,
	        ios > p->ios ? (double)(lat - p->lat_ns) / (double)(ios - p->ios) / 1000.0 : 0.0,
	        (unsigned long long)errors);
	fflush(f);
	p->last_ns = now;
	p->ios = ios;
	p->bytes = bytes;
	p->errors = errors;
	p->lat_ns = lat;
}

/* Connects one -r and sizes its regions; 0 or -errno (printed). */
static int target_setup(struct perf_target *tg, const struct unvmf_host_opts *opts,
                        struct perf_args *args, uint32_t nqpairs)
{
	const struct unvmf_trid *trid = &args->trids[tg->index];
	struct unvmf_host_error err;
	uint64_t region;
	int rc;

	rc = unvmf_host_connect(trid, opts, &tg->ctrlr, &err);
	if (rc) {
		fprintf(stderr, "connect to %s failed: %s", trid->subnqn, strerror(-rc));
		if (err.has_cqe)
			fprintf(stderr, " (%s)",
			        unvmf_host_status_str(err.cqe.status.s.sct, err.cqe.status.s.sc));
		fprintf(stderr, "\n");
		return rc;
	}
	rc = ns_select(tg, args->nsid);
	if (rc)
		return rc;
	if (args->io_size % tg->block_size) {
		fprintf(stderr, "target %u: I/O size %u is not a multiple of the block size %u\n",
		        tg->index, args->io_size, tg->block_size);
		return -EINVAL;
	}
	tg->io_blocks = args->io_size / tg->block_size;
	tg->sweep_blocks = tg->io_blocks;
	if (args->verify) {
		uint32_t mdts = unvmf_host_ctrlr_max_xfer(tg->ctrlr);
		uint32_t sweep = UNVMF_MIN(PERF_SWEEP_BYTES, mdts ? mdts : args->io_size);

		tg->sweep_blocks = UNVMF_MAX(tg->io_blocks, sweep / tg->block_size);
		if (tg->block_size < UNVMF_VERIFY_MIN_BLOCK)
			return -EINVAL;
	}
	region = tg->ns_blocks;
	if (args->verify) {
		/* Enough for each qpair's 2 * DEPTH distinct I/Os even past the cap. */
		uint64_t cap =
		    UNVMF_MAX(PERF_VERIFY_MAX_BYTES, 2ull * args->depth * args->io_size * nqpairs) /
		    tg->block_size;

		region = UNVMF_MIN(region, cap);
	}
	region /= nqpairs;
	region -= region % tg->io_blocks;
	if (region < (uint64_t)tg->io_blocks * (args->verify ? 2u * args->depth : 1u)) {
		fprintf(stderr, "target %u: namespace too small for %u qpairs of depth %u\n",
		        tg->index, nqpairs, args->depth);
		return -ENOSPC;
	}
	tg->region_blocks = region;
	if (unvmf_host_ctrlr_num_io_queues(tg->ctrlr) < nqpairs) {
		fprintf(stderr, "target %u: controller granted %u I/O queues, %u needed\n",
		        tg->index, unvmf_host_ctrlr_num_io_queues(tg->ctrlr), nqpairs);
		return -ENOSPC;
	}
	return 0;
}

/*
 * The admin queues stay on the main thread: keep-alive while the workers run,
 * and the progress line. Returns when the time is up, a signal or a failure
 * stopped the run, or every worker has finished (--number-ios, or no qpair left).
 */
static void main_loop(struct perf_target *targets, uint32_t ntargets, struct perf_worker *workers,
                      uint32_t nworkers)
{
	struct progress p = {0};
	uint32_t admin_alive = ntargets;

	p.start_ns = p.last_ns = now_ns();
	while (!atomic_load(&g_stop) && now_ns() < g_deadline_ns &&
	       atomic_load(&g_workers_running) > 0) {
		uint64_t now;

		for (uint32_t k = 0; k < ntargets; k++) {
			struct perf_target *tg = &targets[k];

			if (tg->admin_failed || unvmf_host_admin_poll(tg->ctrlr) >= 0)
				continue;
			tg->admin_failed = true;
			admin_alive--;
			fprintf(stderr, "target %u: admin queue failed\n", k);
			if (!g_args->continue_on_error || admin_alive == 0)
				perf_stop_on_error("target %u (%s): admin queue failed", k,
				                   g_args->trid_strs[k]);
		}
		now = now_ns();
		if (g_args->progress && now - p.last_ns >= 1000000000ull)
			progress_print(&p, workers, nworkers, now);
		usleep(10000);
	}
}

int main(int argc, char **argv)
{
	static struct perf_args args;
	static struct perf_target targets[PERF_MAX_TARGETS];
	struct perf_worker *workers = NULL;
	struct unvmf_host_opts opts;
	struct unvmf_host_error err;
	struct sigaction sa = {.sa_handler = perf_sigint};
	uint32_t nworkers = 0, nqpairs;
	uint32_t started = 0;
	int rc, status = 1;

	if (parse_args(argc, argv, &args)) {
		usage(argv[0]);
		return 1;
	}
	g_args = &args;
	for (unsigned c = 0; c < PERF_MAX_CORES; c++)
		nworkers += (args.core_mask >> c) & 1;
	/* Per target: every core drives P qpairs of each. */
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
	if (args.dhchap_key) {
		rc = unvmf_host_opts_set_dhchap_files(&opts, args.dhchap_key, args.dhchap_ctrlr_key);
		if (rc) {
			fprintf(stderr, "DH-HMAC-CHAP keys from %s%s%s: %s\n", args.dhchap_key,
			        args.dhchap_ctrlr_key ? ", " : "",
			        args.dhchap_ctrlr_key ? args.dhchap_ctrlr_key : "", strerror(-rc));
			return 1;
		}
	}
	if (unvmf_host_opts_set_dhchap_lists(&opts, args.dhchap_digests, args.dhchap_dhgroups)) {
		fprintf(stderr, "--dhchap-digests / --dhchap-dhgroups: unknown name\n");
		return 1;
	}
	/* Task buffers live until after their qpair is destroyed: RDMA may register them once. */
	opts.rdma_mr_cache = true;
	for (uint32_t k = 0; k < args.ntargets; k++) {
		targets[k].index = k;
		targets[k].nqpairs = nqpairs;
		if (target_setup(&targets[k], &opts, &args, nqpairs))
			goto out_disconnect;
	}

	workers = calloc(nworkers, sizeof(*workers));
	if (!workers)
		goto out_disconnect;
	for (unsigned c = 0, wi = 0; c < PERF_MAX_CORES; c++) {
		struct perf_worker *w;

		if (!((args.core_mask >> c) & 1))
			continue;
		w = &workers[wi];
		w->core = c;
		w->rng = g_seed ^ ((uint64_t)(c + 1) * 0x9e3779b97f4a7c15ull);
		if (!w->rng)
			w->rng = 1;
		unvmf_lat_hist_init(&w->hist);
		w->qpairs =
		    calloc((size_t)args.qpairs_per_core * args.ntargets, sizeof(*w->qpairs));
		if (!w->qpairs)
			goto out_free_workers;
		for (uint32_t k = 0; k < args.ntargets; k++) {
			for (uint32_t q = 0; q < args.qpairs_per_core; q++) {
				struct perf_qpair *pq = &w->qpairs[w->nqpairs];
				uint64_t qi = (uint64_t)wi * args.qpairs_per_core + q;

				rc = unvmf_host_qpair_create(
				    targets[k].ctrlr, (uint16_t)(args.depth + 1), &pq->qpair, &err);
				if (rc) {
					fprintf(stderr, "target %u: I/O qpair create failed: %s\n",
					        k, strerror(-rc));
					goto out_free_workers;
				}
				w->nqpairs++;
				if (qpair_setup(pq, w, &targets[k], qi * targets[k].region_blocks,
				                targets[k].region_blocks))
					goto out_free_workers;
			}
		}
		wi++;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (args.verify) {
		sweep_regions(targets, args.ntargets, workers, nworkers, false);
		/* An undefined region or a stuck qpair makes the run meaningless. */
		if (workers_io_errors(workers, nworkers)) {
			fprintf(stderr, "verify precondition failed; no timed run\n");
			report(targets, args.ntargets, workers, nworkers);
			status = 1;
			goto out_free_workers;
		}
	}
	g_warmup_end_ns = now_ns() + (uint64_t)args.warmup_s * 1000000000ull;
	g_deadline_ns = args.seconds ? g_warmup_end_ns + (uint64_t)args.seconds * 1000000000ull
	                             : UINT64_MAX / 2;
	atomic_store(&g_workers_running, nworkers);
	for (started = 0; started < nworkers; started++) {
		if (pthread_create(&workers[started].thread, NULL, worker_main,
		                   &workers[started])) {
			atomic_fetch_sub(&g_workers_running, nworkers - started);
			perf_stop_on_error("cannot start a worker thread");
			break;
		}
	}
	main_loop(targets, args.ntargets, workers, nworkers);
	for (uint32_t i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	if (started < nworkers)
		goto out_free_workers;
	if (args.verify && args.read_pct < 100 && !atomic_load(&g_stop) &&
	    !workers_io_errors(workers, nworkers))
		sweep_regions(targets, args.ntargets, workers, nworkers, true);
	status = report(targets, args.ntargets, workers, nworkers);

out_free_workers:
	for (uint32_t i = 0; workers && i < nworkers; i++) {
		for (uint32_t q = 0; q < workers[i].nqpairs; q++)
			qpair_teardown(&workers[i].qpairs[q]);
		free(workers[i].qpairs);
	}
	free(workers);
out_disconnect:
	for (uint32_t k = 0; k < args.ntargets; k++)
		unvmf_host_disconnect(targets[k].ctrlr);
	return status;
}
