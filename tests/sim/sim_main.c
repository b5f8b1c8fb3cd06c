/*
 * unvmf-sim: the seeded fault-simulation campaign (tests/sim/sim.h).
 *
 *   unvmf-sim --seed S [--faults F]     one seed in this process (replay)
 *   unvmf-sim --first S --seeds N       N seeds, each in a forked child
 *   unvmf-sim --time SECONDS            seeds until time is up
 *   --jobs J  children at once   --report FILE  the campaign report
 *   --shrink  with --seed: drop faults while it still fails, print the minimal line
 *   --expect-failure=REGEX  exit 0 only if some seed failed with a reason matching
 *                 REGEX (the negative control; stops at the first such seed)
 *   --require-coverage  fail unless every possible (state, event) pair was reached
 *                 and every fail_wr opcode x status cell fired
 *   --sgl-beyond-data  hosts also send reads whose SGL is longer than the data
 *                 (the bytes past the data must arrive untouched)
 *   --hostile     one more host misbehaves on purpose, no faults (sim_hostile.h);
 *                 with --require-coverage: every hostile action reached its outcome
 *
 * A failing seed prints one line that replays it; a run that dies on an
 * assertion or a signal prints it too (from the child's signal handler,
 * with write(2), and again from the parent that saw the child die).
 */
#include <errno.h>
#include <regex.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) && __has_include(<sanitizer/lsan_interface.h>)
#include <sanitizer/lsan_interface.h>
#define SIM_LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define SIM_LEAK_CHECK() 0
#endif

#include "sim.h"
#include "sim_hostile.h"
#include "rdma_sim.h"

static char g_self[512];
static bool g_quiet;	/* the shrinker: do not show every failing attempt's log */
static char g_replay[4096];	/* written before each seed: the handler only writes it */

static void replay_format(uint64_t seed, const struct sim_schedule *s, char *buf, size_t len)
{
	char faults[3000];

	if (sim_schedule_format(s, faults, sizeof(faults)))
		snprintf(faults, sizeof(faults), "?");
	snprintf(buf, len, "REPLAY: %s%s%s --seed %" PRIu64 " --faults '%s'\n", g_self,
		 g_sim_sgl_beyond_data ? " --sgl-beyond-data" : "",
		 g_sim_hostile ? " --hostile" : "", seed, faults);
}

static void on_fatal(int sig)
{
	ssize_t rc = write(2, g_replay, strlen(g_replay));

	(void)rc;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void schedule_of(uint64_t seed, struct sim_schedule *s)
{
	/* The same topology draw as sim_run_seed, for the step count only. */
	uint64_t rng = seed * 0x2545f4914f6cdd1dull + 1;
	uint32_t hosts = sim_range(&rng, 1, SIM_MAX_HOSTS), steps = sim_range(&rng, 600, 2000);

	sim_schedule_generate(seed, steps, hosts, s);
	/* --hostile runs without faults: what a bystander sees is the hostile host's doing. */
	if (g_sim_hostile)
		s->num = 0;
}

/*
 * What a dead child printed that says why: the invariant's own message (the
 * last ERROR line before "invariant violated") and the assertion, or the
 * sanitizer's report line. Appended to why.
 */
static void why_from_output(const char *out, char *why, size_t why_len)
{
	const char *inv = strstr(out, "unvmf: invariant violated:"), *err = NULL, *line;
	size_t len = strlen(why);

	if (inv) {
		for (line = out; line && line < inv; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
			if (!strncmp(line, "[", 1) && strstr(line, "] ERROR ") &&
			    strstr(line, "] ERROR ") < strchr(line, '\n'))
				err = strstr(line, "] ERROR ") + 8;
		if (err)
			len += (size_t)snprintf(why + len, len < why_len ? why_len - len : 0, ": %.*s",
						(int)(strchr(err, '\n') - err), err);
		if (len < why_len)
			snprintf(why + len, why_len - len, ": %.*s", (int)strcspn(inv + 7, "\n"),
				 inv + 7);
		return;
	}
	if ((line = strstr(out, "ERROR: AddressSanitizer")) || (line = strstr(out, "runtime error:")))
		snprintf(why + len, len < why_len ? why_len - len : 0, ": %.*s",
			 (int)strcspn(line, "\n"), line);
}

/* Reads what the child wrote to fd; shows the tail on our stderr. Caller frees. */
static char *output_take(int fd, bool show)
{
	off_t end = lseek(fd, 0, SEEK_END);
	size_t n = end > 0 ? (size_t)end : 0, tail = n > 16384 ? n - 16384 : 0;
	char *buf = calloc(1, n + 1);

	if (!buf || (n && pread(fd, buf, n, 0) != (ssize_t)n)) {
		free(buf);
		return NULL;
	}
	if (show && n && write(2, buf + tail, n - tail) < 0)
		n = 0;
	return buf;
}

/* Runs one seed in a child; 0 = passed, 1 = failed (why filled). */
static int run_forked(uint64_t seed, const struct sim_schedule *s, struct sim_stats *slot,
		      char *why, size_t why_len)
{
	int status, out = memfd_create("unvmf-sim-seed", MFD_CLOEXEC);
	pid_t pid = fork();
	char *text;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct sim_result res;

		/* Its log goes to the parent, which shows it only if the seed fails. */
		if (out >= 0)
			dup2(out, 2);

		replay_format(seed, s, g_replay, sizeof(g_replay));
		signal(SIGABRT, on_fatal);
		signal(SIGSEGV, on_fatal);
		signal(SIGBUS, on_fatal);
		g_rdma_req_coverage = slot->coverage;
		slot->seeds++;
		sim_run_seed(seed, s, slot, &res, false);
		/* _exit skips LeakSanitizer's exit check: every seed runs it here. */
		if (!res.failed && SIM_LEAK_CHECK()) {
			res.failed = true;
			snprintf(res.why, sizeof(res.why), "end: memory leaked (LeakSanitizer report above)");
		}
		if (res.failed) {
			slot->failures++;
			snprintf((char *)(slot + 1), SIM_WHY_LEN, "%s", res.why);
		}
		_exit(res.failed ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0) {
		if (out >= 0)
			close(out);
		return -errno;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out >= 0)
			close(out);
		return 0;
	}
	text = out >= 0 ? output_take(out, !g_quiet) : NULL;
	if (out >= 0)
		close(out);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
		snprintf(why, why_len, "%s", (char *)(slot + 1));
	} else {
		if (!slot->failures)
			slot->failures++;
		if (WIFSIGNALED(status))
			snprintf(why, why_len, "died: %s", strsignal(WTERMSIG(status)));
		else
			snprintf(why, why_len, "exit status %d (assertion / sanitizer)",
				 WEXITSTATUS(status));
		if (text)
			why_from_output(text, why, why_len);
	}
	free(text);
	return 1;
}

static void stats_merge(struct sim_stats *to, const struct sim_stats *from)
{
	to->seeds += from->seeds;
	to->steps += from->steps;
	to->ios += from->ios;
	to->ios_ok += from->ios_ok;
	to->reconnects += from->reconnects;
	to->failures += from->failures;
	for (unsigned k = 0; k < SIM_FAULT_NUM_KINDS; k++)
		to->faults_by_kind[k] += from->faults_by_kind[k];
	to->faults_fired += from->faults_fired;
	for (unsigned k = 0; k < 32; k++)
		to->wc_error_status[k] += from->wc_error_status[k];
	for (unsigned o = 0; o < 8; o++)
		for (unsigned k = 0; k < 32; k++)
			to->fail_wr_fired[o][k] += from->fail_wr_fired[o][k];
	for (unsigned s = 0; s < RDMA_REQ_NUM_STATES; s++)
		to->coverage[s] |= from->coverage[s];
	sim_hostile_stats_merge(to, from);
}

static bool state_waits(unsigned s)
{
	return s == RDMA_REQ_NEED_BUFFER || s == RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING ||
	       s == RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER || s == RDMA_REQ_EXECUTING ||
	       s == RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING || s == RDMA_REQ_READY_TO_COMPLETE ||
	       s == RDMA_REQ_COMPLETING;
}

/* Pairs no path can produce, and why (docs/RDMA-STATE-MACHINE.md, "Coverage"). */
static const char *impossible(unsigned s, unsigned e)
{
	if (s == RDMA_REQ_FREE)
		return "a FREE request holds nothing, waits for nothing and the drain skips it";
	switch (e) {
	case RDMA_EV_PROCESS:
		if (rdma_state_queue[s] != RDMA_QUEUE_PENDING_BUFFER &&
		    rdma_state_queue[s] != RDMA_QUEUE_PENDING_READ &&
		    rdma_state_queue[s] != RDMA_QUEUE_PENDING_SEND)
			return "the poll retries only the heads of the pending queues";
		return NULL;
	case RDMA_EV_READ_DONE:
		if (s != RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER)
			return "READs are outstanding only in TRANSFERRING_HOST_TO_CONTROLLER";
		return NULL;
	case RDMA_EV_WRITE_DONE:
	case RDMA_EV_SEND_DONE:
		if (s != RDMA_REQ_COMPLETING)
			return "WRITEs and the response SEND are outstanding only in COMPLETING";
		return NULL;
	case RDMA_EV_WC_ERROR:
	case RDMA_EV_FLUSH:
		if (s != RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER && s != RDMA_REQ_COMPLETING)
			return "a request holds WRs only in TRANSFERRING_HOST_TO_CONTROLLER and "
			       "COMPLETING (invariant 3)";
		return NULL;
	case RDMA_EV_EXEC_DONE:
		if (s != RDMA_REQ_EXECUTING)
			return "the core completes only requests it executes (EXECUTING)";
		return NULL;
	default:
		break;
	}
	/* QP_ERR_BY_*: every waiting state meets every cause. */
	if (state_waits(s))
		return NULL;
	/* A bdev completion during the drain moves EXECUTING to EXECUTED, which then meets it. */
	if (s == RDMA_REQ_EXECUTED)
		return NULL;
	if (e == RDMA_EV_QP_ERR_BY_INJECT)
		return NULL;	/* the operator's trap fires at the transition into any state */
	if (s == RDMA_REQ_COMPLETED)
		return "COMPLETED never consults the error (it releases and frees either way); "
		       "only the operator's trap at the transition records it";
	return "process() leaves this state before it returns and errors are entered between "
	       "steps; only the operator's trap fires at the transition itself";
}

/* Cells of the fail_wr matrix a campaign must fill (row: g_sim_matrix_ops). */
static unsigned matrix_unfilled(const struct sim_stats *t, FILE *f)
{
	unsigned unfilled = 0;

	for (unsigned r = 0; r < SIM_MATRIX_OPS; r++)
		for (unsigned k = 1; k < RDMA_PROV_WC_STATUS_COUNT; k++)
			if (!t->fail_wr_fired[g_sim_matrix_ops[r]][k]) {
				unfilled++;
				if (f)
					fprintf(f, "  fail_wr %s x %s never fired\n",
						rdma_prov_wr_opcode_name(g_sim_matrix_ops[r]),
						rdma_prov_wc_status_name(k));
			}
	return unfilled;
}

/* Pairs reached that the table calls impossible: the table (or the code) is wrong. */
static unsigned pairs_contradicted(const struct sim_stats *t, FILE *f)
{
	unsigned n = 0;

	for (unsigned s = 0; s < RDMA_REQ_NUM_STATES; s++)
		for (unsigned e = 0; e < RDMA_EV_NUM_EVENTS; e++)
			if (impossible(s, e) && (t->coverage[s] & (1ull << e))) {
				n++;
				if (f)
					fprintf(f, "  (%s, %s) reached but listed impossible: %s\n",
						rdma_req_state_name(s), rdma_req_event_name(e),
						impossible(s, e));
			}
	return n;
}

/* Possible pairs not reached; listed on f when given. */
static unsigned pairs_unreached(const struct sim_stats *t, FILE *f)
{
	unsigned n = 0;

	for (unsigned s = 0; s < RDMA_REQ_NUM_STATES; s++)
		for (unsigned e = 0; e < RDMA_EV_NUM_EVENTS; e++)
			if (!impossible(s, e) && !(t->coverage[s] & (1ull << e))) {
				n++;
				if (f)
					fprintf(f, "  (%s, %s) not reached\n", rdma_req_state_name(s),
						rdma_req_event_name(e));
			}
	return n;
}

static int report_write(const char *path, const struct sim_stats *t, double secs,
			const char *failures)
{
	FILE *f = fopen(path, "w");
	unsigned covered = 0, possible = 0, total = 0;

	if (!f)
		return -errno;
	fprintf(f, "# unvmf-sim campaign report\n\n");
	fprintf(f, "seeds run: %" PRIu64 "\nsteps: %" PRIu64 "\nwall time: %.1f s\n", t->seeds,
		t->steps, secs);
	fprintf(f, "I/Os completed: %" PRIu64 " (%" PRIu64 " with success status)\n", t->ios,
		t->ios_ok);
	fprintf(f, "host reconnects: %" PRIu64 "\nfailures: %" PRIu64 "\n\n", t->reconnects,
		t->failures);
	fprintf(f, "## faults injected (took effect) by kind\n");
	for (unsigned k = 0; k < SIM_FAULT_NUM_KINDS; k++)
		fprintf(f, "  %-16s %" PRIu64 "\n", sim_fault_kind_name(k), t->faults_by_kind[k]);
	fprintf(f, "\nWR-matched faults (qperr_*, fail_wr, host_fail_wr) that fired: %" PRIu64 "\n",
		t->faults_fired);
	fprintf(f, "\n## target fail_wr faults fired, by opcode x status (statuses 1..%u)\n",
		RDMA_PROV_WC_STATUS_COUNT - 1);
	for (unsigned o = RDMA_PROV_WR_SEND; o <= RDMA_PROV_WR_RECV; o++) {
		unsigned statuses = 0;

		fprintf(f, "  %-14s", rdma_prov_wr_opcode_name(o));
		for (unsigned k = 1; k < RDMA_PROV_WC_STATUS_COUNT; k++) {
			fprintf(f, " %4" PRIu64, t->fail_wr_fired[o][k]);
			statuses += t->fail_wr_fired[o][k] > 0;
		}
		fprintf(f, "   (%u of %u statuses)\n", statuses, RDMA_PROV_WC_STATUS_COUNT - 1);
	}
	fprintf(f, "cells of the SEND..RECV rows never fired: %u\n", matrix_unfilled(t, NULL));
	fprintf(f, "\n## error completions seen by hosts, by status\n");
	for (unsigned k = 1; k < RDMA_PROV_WC_STATUS_COUNT; k++)
		if (t->wc_error_status[k])
			fprintf(f, "  %-22s %" PRIu64 "\n", rdma_prov_wc_status_name(k),
				t->wc_error_status[k]);
	for (unsigned s = 0; s < RDMA_REQ_NUM_STATES; s++)
		for (unsigned e = 0; e < RDMA_EV_NUM_EVENTS; e++) {
			total++;
			if (t->coverage[s] & (1ull << e))
				covered++;
			if (!impossible(s, e))
				possible++;
		}
	fprintf(f, "\n## (state, event) coverage: %u of %u pairs reached; %u possible by design\n",
		covered, total, possible);
	fprintf(f, "pairs covered/possible/total: %u/%u/%u\n", covered, possible, total);
	for (unsigned s = 0; s < RDMA_REQ_NUM_STATES; s++)
		for (unsigned e = 0; e < RDMA_EV_NUM_EVENTS; e++) {
			bool hit = t->coverage[s] & (1ull << e);
			const char *why = impossible(s, e);

			fprintf(f, "  %-36s %-18s %s%s%s\n", rdma_req_state_name(s),
				rdma_req_event_name(e),
				hit && why ? "REACHED, LISTED IMPOSSIBLE"
				: hit	   ? "REACHED"
				: why	   ? "impossible"
					   : "NOT REACHED",
				!hit && why ? ": " : "", !hit && why ? why : "");
		}
	fprintf(f, "\n## possible pairs not reached: %u\n", pairs_unreached(t, NULL));
	pairs_unreached(t, f);
	fprintf(f, "## pairs reached that are listed impossible: %u\n", pairs_contradicted(t, NULL));
	pairs_contradicted(t, f);
	if (g_sim_hostile)
		sim_hostile_report(f, t);
	fprintf(f, "\n## failures (one replay line each)\n%s", failures[0] ? failures : "none\n");
	fclose(f);
	return 0;
}

/* Drops faults while the seed still fails (the way re says, when given). */
static int shrink(uint64_t seed, struct sim_schedule *s, const regex_t *re)
{
	struct sim_stats *slot = mmap(NULL, sizeof(*slot) + SIM_WHY_LEN, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char why[SIM_WHY_LEN];

	g_quiet = true;
	if (run_forked(seed, s, slot, why, sizeof(why)) != 1 ||
	    (re && regexec(re, why, 0, NULL, 0))) {
		fprintf(stderr, "shrink: seed %" PRIu64 " does not fail%s\n", seed,
			re ? " that way" : "");
		return 1;
	}
	printf("shrink: seed %" PRIu64 " fails: %s\n", seed, why);
	for (uint32_t i = 0; i < s->num;) {
		struct sim_schedule t = *s;

		memmove(&t.faults[i], &t.faults[i + 1], (t.num - i - 1) * sizeof(t.faults[0]));
		t.num--;
		memset(slot, 0, sizeof(*slot) + SIM_WHY_LEN);
		if (run_forked(seed, &t, slot, why, sizeof(why)) == 1 &&
		    (!re || !regexec(re, why, 0, NULL, 0)))
			*s = t;
		else
			i++;
	}
	replay_format(seed, s, g_replay, sizeof(g_replay));
	printf("minimal %s", g_replay);
	munmap(slot, sizeof(*slot) + SIM_WHY_LEN);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = 0, first = 1, nseeds = 0;
	double time_limit = 0;
	const char *faults = NULL, *report = NULL;
	bool single = false, do_shrink = false, expect_failure = false, verbose = false;
	unsigned jobs = 1;
	struct sim_schedule sched;
	struct timespec t0, t1;
	struct sim_stats total = {0}, *slots;
	size_t slot_size = sizeof(struct sim_stats) + SIM_WHY_LEN;
	size_t fail_len = 0, fail_cap = 1 << 16;
	char *fail_text;
	uint64_t next, running = 0, failures = 0, matched = 0;
	bool require_coverage = false, expect_re_set = false;
	regex_t expect_re;
	pid_t *pids;
	uint64_t *pid_seed;

	snprintf(g_self, sizeof(g_self), "%s", argv[0]);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--seed") && v) {
			seed = strtoull(v, NULL, 0), single = true, i++;
		} else if (!strcmp(a, "--faults") && v) {
			faults = v, i++;
		} else if (!strcmp(a, "--first") && v) {
			first = strtoull(v, NULL, 0), i++;
		} else if (!strcmp(a, "--seeds") && v) {
			nseeds = strtoull(v, NULL, 0), i++;
		} else if (!strcmp(a, "--time") && v) {
			time_limit = strtod(v, NULL), i++;
		} else if (!strcmp(a, "--report") && v) {
			report = v, i++;
		} else if (!strcmp(a, "--jobs") && v) {
			jobs = (unsigned)strtoul(v, NULL, 0), i++;
		} else if (!strcmp(a, "--shrink")) {
			do_shrink = true;
		} else if (!strncmp(a, "--expect-failure=", 17)) {
			expect_failure = true;
			if (regcomp(&expect_re, a + 17, REG_EXTENDED | REG_NOSUB)) {
				fprintf(stderr, "bad regular expression %s\n", a + 17);
				return 2;
			}
			expect_re_set = true;
		} else if (!strcmp(a, "--require-coverage")) {
			require_coverage = true;
		} else if (!strcmp(a, "--sgl-beyond-data")) {
			g_sim_sgl_beyond_data = true;
		} else if (!strcmp(a, "--hostile")) {
			g_sim_hostile = true;
		} else if (!strcmp(a, "-v")) {
			verbose = true;
		} else {
			fprintf(stderr, "usage: %s --seed S [--faults F] [--shrink] [-v] | --first S "
					"--seeds N | --time SECONDS [--jobs J] [--report FILE] "
					"[--expect-failure=REGEX] [--require-coverage] [--sgl-beyond-data] "
					"[--hostile]\n",
				argv[0]);
			return 2;
		}
	}
	if (single) {
		struct sim_result res;
		struct sim_stats st = {0};

		if (faults ? sim_schedule_parse(faults, &sched) : (schedule_of(seed, &sched), 0)) {
			fprintf(stderr, "bad --faults\n");
			return 2;
		}
		if (do_shrink) {
			int rc = shrink(seed, &sched, expect_re_set ? &expect_re : NULL);

			if (expect_re_set)
				regfree(&expect_re);
			fflush(stdout);
			return rc;
		}
		replay_format(seed, &sched, g_replay, sizeof(g_replay));
		signal(SIGABRT, on_fatal);
		signal(SIGSEGV, on_fatal);
		signal(SIGBUS, on_fatal);
		g_rdma_req_coverage = st.coverage;
		sim_run_seed(seed, &sched, &st, &res, verbose);
		printf("seed %" PRIu64 ": %s%s%s (%" PRIu64 " steps, %" PRIu64 " I/Os)\n", seed,
		       res.failed ? "FAILED: " : "passed", res.failed ? res.why : "", "", st.steps,
		       st.ios);
		if (res.failed)
			fputs(g_replay, stdout);
		for (unsigned s = 0; verbose && s < RDMA_REQ_NUM_STATES; s++)
			for (unsigned e = 0; e < RDMA_EV_NUM_EVENTS; e++)
				if (st.coverage[s] & (1ull << e))
					printf("reached: %s %s\n", rdma_req_state_name(s),
					       rdma_req_event_name(e));
		return res.failed ? 1 : 0;
	}
	if (!nseeds && time_limit <= 0)
		nseeds = 100;
	if (jobs < 1)
		jobs = 1;
	slots = mmap(NULL, slot_size * jobs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	fail_text = calloc(1, fail_cap);
	pids = calloc(jobs, sizeof(*pids));
	pid_seed = calloc(jobs, sizeof(*pid_seed));
	if (slots == MAP_FAILED || !pids || !pid_seed || !fail_text)
		return 2;
	memset(slots, 0, slot_size * jobs);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	next = first;
	for (;;) {
		double el;
		bool more;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		more = nseeds ? next < first + nseeds : el < time_limit;
		/* The negative control only needs one failure. */
		if (expect_failure && matched)
			more = false;
		for (unsigned j = 0; more && j < jobs; j++) {
			struct sim_stats *slot = (struct sim_stats *)((char *)slots + slot_size * j);
			pid_t pid;

			if (pids[j])
				continue;
			schedule_of(next, &sched);
			pid = fork();
			if (pid == 0) {
				char why[SIM_WHY_LEN];
				int rc;

				/* A grandchild runs the seed: a crash there is reported here. */
				rc = run_forked(next, &sched, slot, why, sizeof(why));
				if (rc == 1) {
					replay_format(next, &sched, g_replay, sizeof(g_replay));
					snprintf((char *)(slot + 1), SIM_WHY_LEN, "%s", why);
				}
				_exit(rc == 1 ? 1 : 0);
			}
			pids[j] = pid;
			pid_seed[j] = next++;
			running++;
			more = nseeds ? next < first + nseeds : el < time_limit;
		}
		if (!running)
			break;
		{
			int status;
			pid_t pid = wait(&status);

			for (unsigned j = 0; j < jobs; j++) {
				struct sim_stats *slot = (struct sim_stats *)((char *)slots + slot_size * j);

				if (pids[j] != pid)
					continue;
				if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
					char line[4096];

					failures++;
					if (expect_re_set &&
					    !regexec(&expect_re, (char *)(slot + 1), 0, NULL, 0))
						matched++;
					schedule_of(pid_seed[j], &sched);
					replay_format(pid_seed[j], &sched, line, sizeof(line));
					printf("seed %" PRIu64 " FAILED: %s\n%s", pid_seed[j],
					       (char *)(slot + 1), line);
					fflush(stdout);
					if (fail_len + 4400 < fail_cap)
						fail_len += (size_t)snprintf(
							fail_text + fail_len, fail_cap - fail_len,
							"- seed %" PRIu64 ": %s\n  %s", pid_seed[j],
							(char *)(slot + 1), line + 8);
				}
				stats_merge(&total, slot);
				memset(slot, 0, slot_size);
				pids[j] = 0;
				running--;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		unsigned covered = 0;

		for (unsigned s = 0; s < RDMA_REQ_NUM_STATES; s++)
			covered += (unsigned)__builtin_popcountll(total.coverage[s]);
		printf("unvmf-sim: %" PRIu64 " seeds, %" PRIu64 " steps, %" PRIu64 " I/Os, %" PRIu64
		       " failures, %u (state,event) pairs, %.1f s\n",
		       total.seeds, total.steps, total.ios, failures, covered, secs);
		if (report && report_write(report, &total, secs, fail_text))
			fprintf(stderr, "cannot write %s\n", report);
	}
	free(fail_text);
	free(pids);
	free(pid_seed);
	if (expect_failure) {
		regfree(&expect_re);
		if (!matched)
			fprintf(stderr, "unvmf-sim: no seed failed the way --expect-failure says\n");
		return matched ? 0 : 1;
	}
	if (require_coverage && g_sim_hostile) {
		/* A fault-free campaign reaches few drain pairs: the hostile table is what counts. */
		unsigned missed = sim_hostile_unreached(&total, stderr);

		if (missed) {
			fprintf(stderr, "unvmf-sim: --require-coverage --hostile: %u hostile actions "
					"never reached their expected outcome\n",
				missed);
			return 1;
		}
		return failures ? 1 : 0;
	}
	if (require_coverage) {
		unsigned pairs = pairs_unreached(&total, stderr);
		unsigned cells = matrix_unfilled(&total, stderr);
		unsigned wrong = pairs_contradicted(&total, stderr);

		if (pairs || cells || wrong) {
			fprintf(stderr, "unvmf-sim: --require-coverage: %u possible pairs not reached, "
					"%u fail_wr cells never fired, %u impossible pairs reached\n",
				pairs, cells, wrong);
			return 1;
		}
	}
	return failures ? 1 : 0;
}
