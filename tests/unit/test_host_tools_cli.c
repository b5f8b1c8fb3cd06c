/* unvmf-identify / unvmf-perf argument handling: usage and exit codes (no target needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* Runs a tool with args through the shell; returns its exit code and stderr. */
static int run_tool(const char *tool, const char *args, char *err, size_t err_len)
{
	const char *dir = getenv("UNVMF_BIN_DIR");
	char cmd[1024];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "timeout 20 %s/%s %s 2>&1 >/dev/null", dir ? dir : "build/bin", tool,
		 args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(err, 1, err_len - 1, p);
	err[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_identify_usage(void **state)
{
	char err[4096];

	(void)state;
	assert_int_equal(run_tool("unvmf-identify", "", err, sizeof(err)), 1);
	assert_non_null(strstr(err, "usage"));
	assert_int_equal(run_tool("unvmf-identify", "-r 'trtype:TCP bogus:1'", err, sizeof(err)), 1);
	assert_non_null(strstr(err, "invalid transport ID"));
	assert_int_equal(run_tool("unvmf-identify", "-r 'trtype:TCP adrfam:IPv4'", err, sizeof(err)), 1);
	assert_int_equal(run_tool("unvmf-identify", "-r 'traddr:127.0.0.1' --hostnqn bad", err,
				  sizeof(err)),
			 1);
	assert_non_null(strstr(err, "invalid host NQN"));
}

static void test_identify_connect_failure(void **state)
{
	char err[4096];

	(void)state;
	/* Port 1 on loopback: nothing listens there. */
	assert_int_equal(run_tool("unvmf-identify", "-r 'trtype:TCP traddr:127.0.0.1 trsvcid:1'", err,
				  sizeof(err)),
			 1);
	assert_non_null(strstr(err, "failed to connect"));
}

/* The TLS options: an identity needs a key file, and a key file others can read is refused. */
static void test_psk_options(void **state)
{
	char err[4096], path[] = "/tmp/unvmf-cli-psk-XXXXXX", args[512];
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(run_tool("unvmf-identify",
				  "-r 'traddr:127.0.0.1' --psk-identity 'NVMe0R01 a b'", err,
				  sizeof(err)),
			 1);
	assert_non_null(strstr(err, "usage"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:\n", f);
	fclose(f);
	chmod(path, 0644);
	snprintf(args, sizeof(args), "-r 'traddr:127.0.0.1 trsvcid:1' --psk-path %s", path);
	assert_int_equal(run_tool("unvmf-identify", args, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "Permission denied"));
	snprintf(args, sizeof(args),
		 "-r 'traddr:127.0.0.1 trsvcid:1 subnqn:nqn.x' -q 1 -o 4096 -w read -t 1 "
		 "--psk-path %s",
		 path);
	assert_int_equal(run_tool("unvmf-perf", args, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "Permission denied"));
	unlink(path);
}

static void test_perf_usage(void **state)
{
	char err[4096];
	const char *r = "-r 'trtype:TCP traddr:127.0.0.1 trsvcid:1 subnqn:nqn.2024-11.io.unvmf:x'";
	char args[1024];

	(void)state;
	assert_int_equal(run_tool("unvmf-perf", "", err, sizeof(err)), 1);
	assert_non_null(strstr(err, "usage"));
	snprintf(args, sizeof(args), "%s -q 4 -o 4096 -w sideways -t 1", r);
	assert_int_equal(run_tool("unvmf-perf", args, err, sizeof(err)), 1);
	snprintf(args, sizeof(args), "%s -q 4 -o 4096 -w randread -M 50 -t 1", r);
	assert_int_equal(run_tool("unvmf-perf", args, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "-M applies"));
	snprintf(args, sizeof(args), "%s -q 0 -o 4096 -w read -t 1", r);
	assert_int_equal(run_tool("unvmf-perf", args, err, sizeof(err)), 1);
	snprintf(args, sizeof(args), "%s -q 4 -o 4096 -w read -t 1", r);
	assert_int_equal(run_tool("unvmf-perf", args, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "connect to"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify_usage),
		cmocka_unit_test(test_identify_connect_failure),
		cmocka_unit_test(test_perf_usage),
		cmocka_unit_test(test_psk_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
