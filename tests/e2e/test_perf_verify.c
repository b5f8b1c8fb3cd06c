/*
 * unvmf-perf --verify against a live unvmf-tgt: a read-only workload checks
 * blocks (the regions are preconditioned first), a write-only one is read
 * back in full, and a second host overwriting the region is caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgt_proc.h"
#include "tool_proc.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"

static struct tgt_proc g_tp;
static char g_trid[256];

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x1", NULL};

	(void)state;
	if (tgt_proc_start_or_dump(&g_tp, args))
		return -1;
	snprintf(g_trid, sizeof(g_trid),
		 "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s", g_tp.port, SUBNQN);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return tgt_proc_finish(&g_tp, 20);
}

static json_int_t json_int_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("JSON field %s missing or not an integer", key);
	return json_integer_value(v);
}

static void test_verify_randread_checks_blocks(void **state)
{
	const char *args[] = {"-r", g_trid, "-q", "8", "-o", "4096", "-w", "randread", "-t", "1",
			      "--verify", NULL};
	const char *jargs[] = {"-r", g_trid, "-q", "8", "-o", "4096", "-w", "randread", "-t", "1",
			       "--verify", "--json", NULL};
	unsigned long long verified = 0;
	char *out = NULL;
	const char *line;
	json_t *j;

	(void)state;
	assert_int_equal(tool_run_expect("unvmf-perf", args, 120, 0, &out, NULL), 0);
	/* The interop rig greps for this line: it stays. */
	assert_non_null(strstr(out, "I/O errors 0 verify errors 0"));
	line = strstr(out, "verified ");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "verified %llu blocks", &verified), 1);
	assert_true(verified > 0);
	free(out);

	j = tool_run_json("unvmf-perf", jargs, 120);
	assert_non_null(j);
	assert_true(json_int_field(j, "reads") > 0);
	assert_int_equal(json_int_field(j, "writes"), 0);
	/* Every read checks each of its 8 blocks: the precondition gave them all a pattern. */
	assert_int_equal(json_int_field(j, "verified_blocks"), json_int_field(j, "reads") * 8);
	assert_int_equal(json_int_field(j, "verify_errors"), 0);
	assert_int_equal(json_int_field(j, "io_errors"), 0);
	/* 64 MiB namespace, under the verify cap: all of it. */
	assert_int_equal(json_int_field(j, "verify_region_bytes"), 64 << 20);
	assert_false(json_is_true(json_object_get(j, "verify_region_limited")));
	json_decref(j);
}

/* A write-only run has no reads of its own: the read-back after it checks every block. */
static void test_verify_randwrite_reads_back(void **state)
{
	const char *args[] = {"-r", g_trid, "-q", "8", "-o", "4096", "-w", "randwrite", "-t", "1",
			      "-P", "2", "--verify", "--json", NULL};
	json_t *j;

	(void)state;
	j = tool_run_json("unvmf-perf", args, 120);
	assert_non_null(j);
	assert_true(json_int_field(j, "writes") > 0);
	assert_int_equal(json_int_field(j, "reads"), 0);
	assert_int_equal(json_int_field(j, "verified_blocks"),
			 json_int_field(j, "verify_region_bytes") / 512);
	assert_int_equal(json_int_field(j, "verify_errors"), 0);
	json_decref(j);
}

/*
 * Another host writes other data over the same blocks while a --verify
 * read-only run checks them: the verifier must see it and fail the run.
 */
static void test_verify_catches_foreign_writes(void **state)
{
	const char *wargs[] = {"-r", g_trid, "-q", "4", "-o", "4096", "-w", "randwrite", "-t", "60",
			       NULL};
	const char *rargs[] = {"-r", g_trid, "-q", "8", "-o", "4096", "-w", "randread", "-t", "2",
			       "--verify", NULL};
	unsigned long long nerr = 0;
	struct tool_proc writer;
	char *out = NULL, *err = NULL, *wout;
	const char *p;
	int rc;

	(void)state;
	assert_int_equal(tool_proc_spawn(&writer, "unvmf-perf", wargs), 0);
	usleep(500000);
	rc = tool_run_expect("unvmf-perf", rargs, 120, 1, &out, &err);
	kill(writer.pid, SIGINT);
	assert_int_equal(tool_proc_wait(&writer, 30), 0);
	wout = tool_proc_stdout(&writer);
	assert_non_null(wout);
	/* The writer really wrote during the run (otherwise this test proves nothing). */
	assert_null(strstr(wout, "writes 0 "));
	free(wout);
	tool_proc_cleanup(&writer);

	assert_int_equal(rc, 0);
	assert_non_null(err);
	p = strstr(out, "verify errors ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "verify errors %llu", &nerr), 1);
	assert_true(nerr > 0);
	assert_non_null(strstr(err, "verify error: lba "));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_randread_checks_blocks),
		cmocka_unit_test(test_verify_randwrite_reads_back),
		cmocka_unit_test(test_verify_catches_foreign_writes),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
