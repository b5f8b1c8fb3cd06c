/*
 * unvmf-perf's run controls against a live unvmf-tgt: --number-ios,
 * --warmup, several -r, --histogram (JSON and CSV), --progress, and what it
 * does when its target goes away (stop at once with a reason; with
 * --continue-on-error stop once no qpair is left), instead of running on
 * until -t ends.
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
#include <time.h>
#include <unistd.h>

#include "tgt_proc.h"
#include "tool_proc.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"

static struct tgt_proc g_tp;
static char g_trid[256];

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x1", "-s", "64", NULL};

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

static json_int_t int_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("JSON field %s missing or not an integer", key);
	return json_integer_value(v);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_number_ios_exact(void **state)
{
	const char *args[] = {"-r", g_trid,   "-q",           "8",   "-o",     "4096",
	                      "-w", "randrw", "--number-ios", "777", "--json", NULL};
	json_t *j, *t;

	(void)state;
	/* No -t: the count alone ends the run, with exactly that many measured I/Os. */
	j = tool_run_json("unvmf-perf", args, 60);
	assert_non_null(j);
	assert_int_equal(int_field(j, "reads") + int_field(j, "writes"), 777);
	t = json_array_get(json_object_get(j, "targets"), 0);
	assert_non_null(t);
	assert_int_equal(int_field(t, "ios"), 777);
	json_decref(j);
}

static void test_warmup_not_measured(void **state)
{
	const char *args[] = {"-r",       g_trid, "-q", "4",        "-o", "4096",   "-w",
	                      "randread", "-t",   "1",  "--warmup", "2",  "--json", NULL};
	double start = now_s(), wall;
	json_t *j;

	(void)state;
	j = tool_run_json("unvmf-perf", args, 60);
	wall = now_s() - start;
	assert_non_null(j);
	assert_int_equal(int_field(j, "warmup_s"), 2);
	assert_true(int_field(j, "reads") > 0);
	/* The run took warm-up plus -t, but only -t is measured. */
	assert_true(wall >= 3.0);
	assert_true(json_real_value(json_object_get(j, "time_s")) < 2.0);
	json_decref(j);
}

static void test_two_targets(void **state)
{
	const char *args[] = {"-r",   g_trid, "-r",       g_trid, "-q", "4",      "-o",
	                      "4096", "-w",   "randread", "-t",   "1",  "--json", NULL};
	json_t *j, *targets;

	(void)state;
	j = tool_run_json("unvmf-perf", args, 60);
	assert_non_null(j);
	targets = json_object_get(j, "targets");
	assert_int_equal(json_array_size(targets), 2);
	/* Two controllers, each with its own qpair, both driven. */
	assert_true(int_field(json_array_get(targets, 0), "ios") > 0);
	assert_true(int_field(json_array_get(targets, 1), "ios") > 0);
	assert_int_equal(int_field(json_array_get(targets, 0), "ios") +
	                     int_field(json_array_get(targets, 1), "ios"),
	                 int_field(j, "reads"));
	json_decref(j);
}

static void test_histogram_files(void **state)
{
	char json_path[64], csv_path[64], line[128];
	const char *args[] = {"-r",     g_trid,     "-q",           "4",   "-o",          "4096",
	                      "-w",     "randread", "--number-ios", "500", "--histogram", json_path,
	                      "--json", NULL};
	json_t *j, *h, *b;
	json_int_t sum = 0;
	unsigned long long lo, hi, count, csv_sum = 0;
	size_t i;
	FILE *f;

	(void)state;
	snprintf(json_path, sizeof(json_path), "/tmp/unvmf-hist-%d.json", (int)getpid());
	snprintf(csv_path, sizeof(csv_path), "/tmp/unvmf-hist-%d.csv", (int)getpid());
	j = tool_run_json("unvmf-perf", args, 60);
	assert_non_null(j);
	h = json_load_file(json_path, 0, NULL);
	assert_non_null(h);
	assert_string_equal(json_string_value(json_object_get(h, "unit")), "ns");
	assert_int_equal(int_field(h, "count"), 500);
	json_array_foreach(json_object_get(h, "buckets"), i, b)
	{
		assert_true(int_field(b, "lo") <= int_field(b, "hi"));
		sum += int_field(b, "count");
	}
	assert_int_equal(sum, 500);
	json_decref(h);
	json_decref(j);
	unlink(json_path);

	args[11] = csv_path;
	j = tool_run_json("unvmf-perf", args, 60);
	assert_non_null(j);
	f = fopen(csv_path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "lo_ns,hi_ns,count\n");
	while (fscanf(f, "%llu,%llu,%llu\n", &lo, &hi, &count) == 3) {
		assert_true(lo <= hi);
		csv_sum += count;
	}
	fclose(f);
	assert_int_equal(csv_sum, 500);
	json_decref(j);
	unlink(csv_path);
}

static void test_progress_lines(void **state)
{
	const char *args[] = {"-r", g_trid,     "-q", "4", "-o",         "4096",
	                      "-w", "randread", "-t", "3", "--progress", NULL};
	const char *jargs[] = {"-r",       g_trid, "-q", "4",          "-o",     "4096", "-w",
	                       "randread", "-t",   "2",  "--progress", "--json", NULL};
	char *out = NULL, *err = NULL, *p;
	unsigned lines = 0;
	json_t *j;

	(void)state;
	assert_int_equal(tool_run_expect("unvmf-perf", args, 60, 0, &out, NULL), 0);
	for (p = out; (p = strstr(p, "] IOPS ")) != NULL; p++)
		lines++;
	/* A line a second: at least two in a three-second run, then the table. */
	assert_true(lines >= 2);
	assert_non_null(strstr(out, "MiB/s"));
	assert_non_null(strstr(out, "lat(us)"));
	assert_non_null(strstr(out, "Total"));
	free(out);
	/* With --json the lines go to stderr and stdout stays one JSON value. */
	assert_int_equal(tool_run_expect("unvmf-perf", jargs, 60, 0, &out, &err), 0);
	assert_non_null(strstr(err, "] IOPS "));
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	json_decref(j);
	free(out);
	free(err);
}

/* A target of its own, killed under load: perf must end long before -t. */
static void perf_target_gone(bool continue_on_error)
{
	static const char *const targs[] = {"-m", "0x1", "-s", "64", "--no-rpc", NULL};
	struct tgt_proc tp;
	struct tool_proc perf;
	char trid[256], *err;
	/* --progress: its first line says I/O runs. */
	const char *args[] = {"-r", trid,         "-q",
	                      "4",  "-o",         "4096",
	                      "-w", "randread",   "-t",
	                      "60", "--progress", continue_on_error ? "--continue-on-error" : NULL,
	                      NULL};
	bool running = false;
	char *out;
	double start;
	int status;

	assert_int_equal(tgt_proc_start_or_dump(&tp, targs), 0);
	snprintf(trid, sizeof(trid), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s",
	         tp.port, SUBNQN);
	assert_int_equal(tool_proc_spawn(&perf, "unvmf-perf", args), 0);
	/* Kill the target once I/O runs, not before the connect. */
	for (int i = 0; i < 300 && !running; i++) {
		out = tool_proc_stdout(&perf);
		running = strstr(out, "] IOPS ") != NULL;
		free(out);
		if (!running)
			usleep(100000);
	}
	assert_true(running);
	start = now_s();
	tgt_proc_stop_signal(&tp, SIGKILL, 10);
	status = tool_proc_wait(&perf, 30);
	err = tool_proc_stderr(&perf);
	if (status != 1 || now_s() - start > 20)
		fail_msg("unvmf-perf: status %d after %.1f s; stderr:\n%s", status, now_s() - start,
		         err);
	assert_non_null(strstr(err, "failed"));
	if (!continue_on_error && !strstr(err, "stopped early"))
		fail_msg("no reason for the early stop; stderr:\n%s", err);
	free(err);
	tool_proc_cleanup(&perf);
	unlink(tp.config_path);
}

static void test_target_gone_stops(void **state)
{
	(void)state;
	perf_target_gone(false);
}

static void test_target_gone_continue_on_error_stops_when_nothing_left(void **state)
{
	(void)state;
	perf_target_gone(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_number_ios_exact),
	    cmocka_unit_test(test_warmup_not_measured),
	    cmocka_unit_test(test_two_targets),
	    cmocka_unit_test(test_histogram_files),
	    cmocka_unit_test(test_progress_lines),
	    cmocka_unit_test(test_target_gone_stops),
	    cmocka_unit_test(test_target_gone_continue_on_error_stops_when_nothing_left),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
