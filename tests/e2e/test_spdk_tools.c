/*
 * SPDK's own initiator against unvmf: spdk_nvme_perf (SPDK v25.09, unchanged)
 * runs a short random-read job against unvmf-tgt's default target over TCP,
 * once without a Host NQN in -r (it then sends an empty one, which a
 * subsystem that allows any host accepts) and once with hostnqn:. Each run
 * must finish with IOPS > 0 and no error. Needs an SPDK build: UNVMF_SPDK_DIR,
 * or /var/tmp/spdk-ref/spdk (shared/spdk/tools/build-spdk.sh); skipped with a
 * message without one. SPDK runs with --no-huge (no system changes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tgt_proc.h"

#define DEFAULT_NQN "nqn.2024-11.io.unvmf:default"
#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:7d1c2b3a-4e5f-4a6b-8c9d-0e1f2a3b4c5d"

static char g_spdk[512];

static bool spdk_found(void)
{
	const char *dir = getenv("UNVMF_SPDK_DIR") ?: "/var/tmp/spdk-ref/spdk";
	char perf[600];

	snprintf(g_spdk, sizeof(g_spdk), "%s", dir);
	snprintf(perf, sizeof(perf), "%s/build/bin/spdk_nvme_perf", g_spdk);
	return access(perf, X_OK) == 0;
}

/* Runs spdk_nvme_perf; exit status, output in out. */
static int run_perf(const char *port, const char *trid_extra, char *out, size_t outlen)
{
	char cmd[2048];
	size_t n;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd),
	         "LD_LIBRARY_PATH=%s/build/lib:$(pkg-config --variable=libdir libdpdk 2>/dev/null "
	         "|| echo /usr/lib/x86_64-linux-gnu) timeout 60 %s/build/bin/spdk_nvme_perf "
	         "--no-huge -s 1024 -q 8 -o 4096 -w randread -t 2 -r 'trtype:TCP adrfam:IPv4 "
	         "traddr:127.0.0.1 trsvcid:%s subnqn:" DEFAULT_NQN "%s%s' 2>&1",
	         g_spdk, g_spdk, port, trid_extra ? " " : "", trid_extra ? trid_extra : "");
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The IOPS of perf's "Total" line, or -1. */
static double total_iops(const char *out)
{
	const char *t = strstr(out, "\nTotal");
	double iops;

	if (!t || !(t = strchr(t, ':')) || sscanf(t + 1, "%lf", &iops) != 1)
		return -1;
	return iops;
}

static bool log_has(const struct tgt_proc *tp, const char *what)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(tp->log_path, "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return found;
}

static void perf_against_default_target(const char *trid_extra)
{
	static char out[65536];
	struct tgt_proc tp;
	double iops;
	int rc;

	if (!spdk_found()) {
		printf(
		    "skipped: no SPDK build (set UNVMF_SPDK_DIR, or build /var/tmp/spdk-ref/spdk "
		    "with shared/spdk/tools/build-spdk.sh) to run spdk_nvme_perf against unvmf\n");
		skip();
	}
	assert_int_equal(tgt_proc_start_or_dump(&tp, NULL), 0);
	rc = run_perf(tp.port, trid_extra, out, sizeof(out));
	iops = total_iops(out);
	printf("spdk_nvme_perf %s: exit %d, %.0f IOPS\n", trid_extra ? trid_extra : "(no hostnqn)",
	       rc, iops);
	if (rc != 0 || iops <= 0 || strcasestr(out, "error") || strcasestr(out, "fail")) {
		fprintf(stderr, "%s\n", out);
		tgt_proc_dump_log(&tp);
		fail();
	}
	/* An empty Host NQN is accepted, and logged, only when perf sends one. */
	assert_int_equal(log_has(&tp, "empty host NQN"), trid_extra == NULL);
	assert_int_equal(tgt_proc_finish(&tp, 20), 0);
}

static void test_perf_without_hostnqn(void **state)
{
	perf_against_default_target(NULL);
}

static void test_perf_with_hostnqn(void **state)
{
	perf_against_default_target("hostnqn:" HOSTNQN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perf_without_hostnqn),
	    cmocka_unit_test(test_perf_with_hostnqn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
