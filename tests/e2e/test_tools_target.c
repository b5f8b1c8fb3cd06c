/*
 * The host tools against a live unvmf-tgt in its default configuration (on a
 * free port): the start-up banner says how to reach it and its identify
 * command works as printed; unvmf-identify prints the controller, the
 * namespace and the discovery log; unvmf-perf --json gives coherent figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgt_proc.h"
#include "tool_proc.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	(void)state;
	return tgt_proc_start_or_dump(&g_tp, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return tgt_proc_finish(&g_tp, 20);
}

/*
 * The target's log once the banner's last line is in it: the listener opens
 * the port (what tgt_proc_start waits for) just before the banner is printed.
 */
static char *tgt_log_read(void)
{
	static char buf[65536];

	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(g_tp.log_path, "r");
		size_t n;

		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		if (strstr(buf, "  linux:     nvme connect "))
			break;
		usleep(10000);
	}
	return buf;
}

static void trid_str(char *buf, size_t len, const char *nqn)
{
	snprintf(buf, len, "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s", g_tp.port,
		 nqn);
}

static void expect_line(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("expected '%s' in:\n%s", line, text);
}

static void identify_ctrlr_check(const char *trid)
{
	const char *args[] = {"-r", trid, NULL};
	char *out = NULL;

	assert_int_equal(tool_run_expect("unvmf-identify", args, 60, 0, &out, NULL), 0);
	expect_line(out, "NVMe over Fabrics controller at " SUBNQN "\n");
	expect_line(out, "Serial Number:                  UNVMF000000000001\n");
	expect_line(out, "Model Number:                   unvmf Controller\n");
	expect_line(out, "Number of Namespaces:           32\n");
	/* tgt_proc_start asks for a 64 MiB malloc namespace of 512-byte blocks. */
	expect_line(out, "\nActive Namespace 1\n");
	expect_line(out, "  Size:         131072 blocks (67108864 bytes)\n");
	expect_line(out, "  Block size:   512 (LBA format 0)\n");
	free(out);
}

/* The banner of the default configuration names the subsystem, the address and working commands. */
static void test_banner_says_how_to_reach_it(void **state)
{
	char want[512], trid[256];
	const char *log = tgt_log_read(), *p, *q;

	(void)state;
	snprintf(want, sizeof(want),
		 "unvmf-tgt: serving " SUBNQN " (namespace 1: 64 MiB RAM, 512-byte blocks) on TCP "
		 "127.0.0.1:%s\n",
		 g_tp.port);
	expect_line(log, want);
	snprintf(want, sizeof(want), "nvme connect -t tcp -a 127.0.0.1 -s %s -n " SUBNQN "\n",
		 g_tp.port);
	expect_line(log, want);
	trid_str(trid, sizeof(trid), SUBNQN);
	snprintf(want, sizeof(want), "unvmf-perf -r '%s'", trid);
	expect_line(log, want);
	/* Run the identify command exactly as the banner prints it. */
	p = strstr(log, "unvmf-identify -r '");
	assert_non_null(p);
	p += strlen("unvmf-identify -r '");
	q = strchr(p, '\'');
	assert_non_null(q);
	assert_true((size_t)(q - p) < sizeof(trid));
	memcpy(trid, p, (size_t)(q - p));
	trid[q - p] = '\0';
	identify_ctrlr_check(trid);
}

static void test_identify_controller_and_namespace(void **state)
{
	char trid[256];

	(void)state;
	trid_str(trid, sizeof(trid), SUBNQN);
	identify_ctrlr_check(trid);
}

/* The discovery log lists the default subsystem on the port the target listens on. */
static void test_identify_discovery_log(void **state)
{
	const char *args[] = {"-r", NULL, NULL};
	char trid[256], want[128], *out = NULL, *entry, *next;
	bool found = false;

	(void)state;
	trid_str(trid, sizeof(trid), DISCOVERY_NQN);
	args[1] = trid;
	assert_int_equal(tool_run_expect("unvmf-identify", args, 60, 0, &out, NULL), 0);
	expect_line(out, "Discovery Log Page\n");
	snprintf(want, sizeof(want), "Transport Service Id:  %s\n", g_tp.port);
	for (entry = strstr(out, "\nDiscovery Log Entry "); entry; entry = next) {
		next = strstr(entry + 1, "\nDiscovery Log Entry ");
		if (next)
			*next++ = '\0';
		if (!strstr(entry, "Subsystem NQN:         " SUBNQN "\n"))
			continue;
		found = true;
		expect_line(entry, "Transport Type:        TCP\n");
		expect_line(entry, "Address Family:        IPv4\n");
		expect_line(entry, "Subsystem Type:        nvme\n");
		expect_line(entry, "Transport Address:     127.0.0.1\n");
		expect_line(entry, want);
	}
	if (!found)
		fail_msg("no discovery log entry for " SUBNQN ":\n%s", out);
	free(out);
}

static double lat_field(json_t *lat, const char *key)
{
	json_t *v = json_object_get(lat, key);

	if (!json_is_real(v))
		fail_msg("latency_us.%s missing or not a number", key);
	return json_real_value(v);
}

static void test_perf_json(void **state)
{
	char trid[256];
	const char *args[] = {"-r", trid, "-q", "8", "-o", "4096", "-w", "randrw", "-t", "1",
			      "--json", NULL};
	double min, p50, p99, p999, max, avg;
	json_t *j, *lat;

	(void)state;
	trid_str(trid, sizeof(trid), SUBNQN);
	j = tool_run_json("unvmf-perf", args, 60);
	assert_non_null(j);
	assert_true(json_is_object(j));
	assert_string_equal(json_string_value(json_object_get(j, "workload")), "randrw");
	assert_int_equal(json_integer_value(json_object_get(j, "io_size")), 4096);
	assert_int_equal(json_integer_value(json_object_get(j, "queue_depth")), 8);
	assert_int_equal(json_integer_value(json_object_get(j, "read_pct")), 50);
	assert_true(json_real_value(json_object_get(j, "iops")) > 0);
	assert_true(json_real_value(json_object_get(j, "mibps")) > 0);
	assert_true(json_integer_value(json_object_get(j, "reads")) > 0);
	assert_true(json_integer_value(json_object_get(j, "writes")) > 0);
	assert_true(json_is_integer(json_object_get(j, "io_errors")));
	assert_int_equal(json_integer_value(json_object_get(j, "io_errors")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "threads")), 1);
	lat = json_object_get(j, "latency_us");
	assert_true(json_is_object(lat));
	min = lat_field(lat, "min");
	p50 = lat_field(lat, "p50");
	p99 = lat_field(lat, "p99");
	p999 = lat_field(lat, "p99_9");
	max = lat_field(lat, "max");
	avg = lat_field(lat, "avg");
	if (!(min > 0 && min <= p50 && p50 <= p99 && p99 <= p999 && p999 <= max && min <= avg &&
	      avg <= max))
		fail_msg("latency figures out of order: min %f p50 %f p99 %f p99.9 %f max %f avg %f",
			 min, p50, p99, p999, max, avg);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_banner_says_how_to_reach_it),
		cmocka_unit_test(test_identify_controller_and_namespace),
		cmocka_unit_test(test_identify_discovery_log),
		cmocka_unit_test(test_perf_json),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
