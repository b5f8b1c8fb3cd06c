/*
 * unvmf-rpc, the CLI: a full setup built only through it (malloc and null
 * bdevs, two subsystems, allowed hosts, TCP listeners), I/O through it with
 * unvmf-perf, save_config, restart from the file and the same state; errors
 * come back with the server's message and a non-zero exit.
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
#include <sys/wait.h>

#include "tgt_proc.h"
#include "tool_proc.h"

#define NQN1 "nqn.2016-06.io.spdk:cnode1"
#define NQN2 "nqn.2016-06.io.spdk:cnode2"
#define NQN3 "nqn.2016-06.io.spdk:cnode3"
#define HOST1 "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"

static struct tgt_proc g_tp;
static char g_bindir[512];

/* Runs a shell command line; returns the exit status, output (stdout+stderr) in out. */
static int sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (out) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define RPC "%s/unvmf-rpc -s %s "
#define RPC_ARGS g_bindir, g_tp.rpc_sock

static void rpc_ok(const char *args)
{
	char out[65536];
	int rc = sh(out, sizeof(out), RPC "%s", RPC_ARGS, args);

	if (rc != 0)
		fail_msg("unvmf-rpc %s: exit %d: %s", args, rc, out);
}

static void start_target(const char *config)
{
	const char *args[] = {"-c", config, "-r", g_tp.rpc_sock, NULL};
	int rc = tgt_proc_exec(&g_tp, args, false);

	if (rc)
		tgt_proc_dump_log(&g_tp);
	assert_int_equal(rc, 0);
	/* The socket is up before the config ran: wait for start-up as an operator's script would.
	 */
	rpc_ok("framework_wait_init");
}

static void test_cli_full_setup_io_save_restart(void **state)
{
	char empty[128], saved[128], a[512], out[65536], before_s[65536], before_b[65536];
	char before_t[8192], before_r[8192], port2[16];
	char trid[256];
	json_t *stats, *g;
	long long done_io = 0;
	size_t i;

	snprintf(g_bindir, sizeof(g_bindir), "%s", getenv("UNVMF_BIN_DIR") ?: "build/bin");
	tgt_proc_prepare(&g_tp);
	snprintf(empty, sizeof(empty), "/tmp/unvmf-rpc-cli-empty-%d.json", getpid());
	snprintf(saved, sizeof(saved), "/tmp/unvmf-rpc-cli-saved-%d.json", getpid());
	FILE *f = fopen(empty, "w");

	fputs("{\"subsystems\": []}", f);
	fclose(f);
	start_target(empty);

	rpc_ok("nvmf_create_transport -t tcp -q 64 -c 4096");
	rpc_ok("bdev_malloc_create -b Malloc0 32 512");
	rpc_ok("bdev_malloc_create -b Malloc1 16 4096");
	rpc_ok("bdev_null_create Null0 64 512");
	rpc_ok("nvmf_create_subsystem " NQN1 " -a -s SN0001 -d 'Model One'");
	rpc_ok("nvmf_create_subsystem " NQN2 " -s SN0002 -m 8");
	rpc_ok("nvmf_subsystem_add_ns " NQN1 " Malloc0");
	rpc_ok("nvmf_subsystem_add_ns " NQN1 " Null0 -n 3");
	rpc_ok("nvmf_subsystem_add_ns " NQN2 " Malloc1");
	rpc_ok("nvmf_subsystem_add_host " NQN2 " " HOST1);
	snprintf(a, sizeof(a), "nvmf_subsystem_add_listener " NQN1 " -t tcp -a 127.0.0.1 -s %s",
	         g_tp.port);
	rpc_ok(a);
	snprintf(a, sizeof(a),
	         "nvmf_subsystem_add_listener " NQN2 " -t TCP -f ipv4 -a 127.0.0.1 -s %s",
	         g_tp.port);
	rpc_ok(a);
	rpc_ok("nvmf_discovery_add_referral -t tcp -a 127.0.0.5 -s 4420");
	/* rpc.py master's spelling, then v25.09's. */
	rpc_ok("nvmf_subsystem_allow_any_host " NQN2 " --allow-any-host");
	rpc_ok("nvmf_subsystem_allow_any_host " NQN2 " -d");
	/* Digits stay strings where the parameter is a string (port, serial number, name). */
	snprintf(port2, sizeof(port2), "%d", tgt_proc_free_port());
	snprintf(a, sizeof(a),
	         "nvmf_subsystem_add_listener --nqn " NQN2 " --listen_address.trtype TCP"
	         " --listen_address.traddr 127.0.0.1 --listen_address.trsvcid %s",
	         port2);
	rpc_ok(a);
	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_get_subsystems --nqn " NQN2, RPC_ARGS), 0);
	snprintf(a, sizeof(a), "\"trsvcid\": \"%s\"", port2);
	assert_non_null(strstr(out, a));
	snprintf(a, sizeof(a),
	         "nvmf_subsystem_remove_listener --nqn " NQN2 " --listen_address.trtype tcp"
	         " --listen_address.traddr 127.0.0.1 --listen_address.trsvcid %s",
	         port2);
	rpc_ok(a);
	rpc_ok("nvmf_create_subsystem --nqn " NQN3 " --serial_number 123 --max_namespaces 4");
	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_get_subsystems --nqn " NQN3, RPC_ARGS), 0);
	assert_non_null(strstr(out, "\"serial_number\": \"123\""));
	assert_non_null(strstr(out, "\"max_namespaces\": 4"));
	rpc_ok("bdev_null_create --name 42 --num_blocks 8 --block_size 512");
	rpc_ok("nvmf_subsystem_add_ns --nqn " NQN3 " --namespace.bdev_name 42 --namespace.nsid 2");
	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_get_subsystems --nqn " NQN3, RPC_ARGS), 0);
	assert_non_null(strstr(out, "\"bdev_name\": \"42\""));
	/* A JSON-quoted value works too; a number where a number belongs is still one. */
	rpc_ok("nvmf_subsystem_remove_ns --nqn '\"" NQN3 "\"' --nsid 2");
	rpc_ok("nvmf_delete_subsystem " NQN3);
	rpc_ok("bdev_null_delete --name 42");

	/* I/O on both subsystems (the second only for its allowed host). */
	snprintf(trid, sizeof(trid), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s",
	         g_tp.port, NQN1);
	{
		const char *args[] = {"-r", trid, "-q", "8", "-o", "4096", "-w", "randrw", "-t", "1",
		                      "--verify", NULL};

		assert_int_equal(tool_run_expect("unvmf-perf", args, 60, 0, NULL, NULL), 0);
	}
	snprintf(trid, sizeof(trid), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s",
	         g_tp.port, NQN2);
	{
		const char *allowed[] = {"-r", trid, "-q", "8", "-o", "4096", "-w", "randwrite",
		                         "-t", "1", "--hostnqn", HOST1, NULL};
		const char *refused[] = {
		    "-r", trid, "-q", "8", "-o", "4096", "-w", "read", "-t", "1", "--hostnqn",
		    "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000009", NULL};

		assert_int_equal(tool_run_expect("unvmf-perf", allowed, 60, 0, NULL, NULL), 0);
		assert_int_not_equal(tool_run("unvmf-perf", refused, 60, NULL, NULL), 0);
	}

	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_get_stats", RPC_ARGS), 0);
	stats = json_loads(out, 0, NULL);
	assert_non_null(stats);
	json_array_foreach(json_object_get(stats, "poll_groups"), i, g) done_io +=
	    json_integer_value(json_object_get(g, "completed_nvme_io"));
	assert_true(done_io > 100);
	json_decref(stats);

	assert_int_equal(sh(before_s, sizeof(before_s), RPC "nvmf_get_subsystems", RPC_ARGS), 0);
	assert_int_equal(sh(before_b, sizeof(before_b), RPC "bdev_get_bdevs", RPC_ARGS), 0);
	assert_int_equal(sh(before_t, sizeof(before_t), RPC "nvmf_get_transports", RPC_ARGS), 0);
	assert_int_equal(
	    sh(before_r, sizeof(before_r), RPC "nvmf_discovery_get_referrals", RPC_ARGS), 0);
	assert_non_null(strstr(before_r, "127.0.0.5"));
	assert_non_null(strstr(before_t, "\"max_queue_depth\": 64"));
	assert_int_equal(sh(NULL, 0, RPC "save_config > %s", RPC_ARGS, saved), 0);
	assert_int_equal(tgt_proc_stop(&g_tp, 20), 0);

	start_target(saved);
	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_get_subsystems", RPC_ARGS), 0);
	assert_string_equal(out, before_s);
	assert_int_equal(sh(out, sizeof(out), RPC "bdev_get_bdevs", RPC_ARGS), 0);
	/* Claims are part of the state: same namespaces, same claims. */
	assert_string_equal(out, before_b);
	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_get_transports", RPC_ARGS), 0);
	assert_string_equal(out, before_t);
	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_discovery_get_referrals", RPC_ARGS), 0);
	assert_string_equal(out, before_r);
	/* The restarted target serves I/O from the saved state. */
	snprintf(trid, sizeof(trid), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s",
	         g_tp.port, NQN1);
	{
		const char *args[] = {"-r", trid, "-q", "4", "-o", "4096", "-w", "randread", "-t", "1",
		                      "--nsid", "3", NULL};

		assert_int_equal(tool_run_expect("unvmf-perf", args, 60, 0, NULL, NULL), 0);
	}
	unlink(saved);
	unlink(empty);
}

static void test_cli_errors_and_help(void **state)
{
	char out[65536];

	/* Server errors: exit 1 with the message. */
	assert_int_equal(sh(out, sizeof(out), RPC "nvmf_create_subsystem " NQN1, RPC_ARGS), 1);
	assert_non_null(strstr(out, "already exists"));
	assert_int_equal(sh(out, sizeof(out), RPC "bdev_malloc_delete Malloc0", RPC_ARGS), 1);
	assert_non_null(strstr(out, "in use"));
	assert_int_equal(
	    sh(out, sizeof(out), RPC "nvmf_subsystem_add_ns " NQN1 " Malloc0 --bogus 1", RPC_ARGS),
	    1);
	assert_non_null(strstr(out, "unknown parameter 'bogus'"));
	assert_int_equal(sh(out, sizeof(out), RPC "no_such_method", RPC_ARGS), 1);
	assert_non_null(strstr(out, "Method not found"));
	/* Usage errors: exit 2 before anything is sent. */
	assert_int_equal(sh(out, sizeof(out), RPC "bdev_malloc_create -b X", RPC_ARGS), 2);
	assert_non_null(strstr(out, "missing argument"));
	assert_int_equal(sh(out, sizeof(out), RPC "bdev_malloc_create -b X ten 512", RPC_ARGS), 2);
	assert_int_equal(
	    sh(out, sizeof(out), RPC "nvmf_subsystem_remove_ns " NQN1 " 1 2", RPC_ARGS), 2);
	assert_int_equal(sh(out, sizeof(out),
	                    "%s/unvmf-rpc -s /tmp/unvmf-no-such.sock "
	                    "spdk_get_version",
	                    g_bindir),
	                 2);
	assert_non_null(strstr(out, "cannot connect"));
	/* Help lists the methods. */
	assert_int_equal(sh(out, sizeof(out), "%s/unvmf-rpc -h", g_bindir), 0);
	assert_non_null(strstr(out, "nvmf_subsystem_add_listener"));
	assert_non_null(strstr(out, "raw"));
	assert_int_equal(sh(out, sizeof(out), "%s/unvmf-rpc nvmf_subsystem_add_ns -h", g_bindir),
	                 0);
	assert_non_null(strstr(out, "BDEV_NAME"));
	/* raw */
	assert_int_equal(
	    sh(out, sizeof(out), RPC "raw '{\"method\": \"spdk_get_version\"}'", RPC_ARGS), 0);
	assert_non_null(strstr(out, "\"result\""));
	assert_int_equal(sh(out, sizeof(out),
	                    RPC "raw '{\"method\": \"nvmf_delete_subsystem\", \"params\": "
	                        "{\"nqn\": \"" NQN2 "\"}}'",
	                    RPC_ARGS),
	                 0);
	assert_int_equal(sh(out, sizeof(out), RPC "raw '{\"method\": \"nope\"}'", RPC_ARGS), 1);
	assert_int_equal(sh(out, sizeof(out), RPC "raw 'not json'", RPC_ARGS), 2);
	assert_int_equal(tgt_proc_stop(&g_tp, 20), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cli_full_setup_io_save_restart),
	    cmocka_unit_test(test_cli_errors_and_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
