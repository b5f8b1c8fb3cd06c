/*
 * SPDK's own initiator against unvmf: spdk_nvme_perf (SPDK v25.09, unchanged)
 * runs a short random-read job against unvmf-tgt's default target over TCP,
 * once without a Host NQN in -r (it then sends an empty one, which a
 * subsystem that allows any host accepts) and once with hostnqn:. Each run
 * must finish with IOPS > 0 and no error. SPDK's nvmf_tgt loads what
 * unvmf's save_config writes. Needs an SPDK build: UNVMF_SPDK_DIR,
 * or /var/tmp/spdk-ref/spdk (shared/spdk/tools/build-spdk.sh); skipped with a
 * message without one. SPDK runs with --no-huge (no system changes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_rpc_client.h"
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

static void skip_without_spdk(void)
{
	if (!spdk_found()) {
		printf(
		    "skipped: no SPDK build (set UNVMF_SPDK_DIR, or build /var/tmp/spdk-ref/spdk "
		    "with shared/spdk/tools/build-spdk.sh)\n");
		skip();
	}
}

/* Starts SPDK's nvmf_tgt on config with its RPC socket at sock; its pid. */
static pid_t nvmf_tgt_start(const char *config, const char *sock, const char *log)
{
	char cmd[2048];
	pid_t pid = fork();

	if (pid == 0) {
		snprintf(
		    cmd, sizeof(cmd),
		    "LD_LIBRARY_PATH=%s/build/lib:$(pkg-config --variable=libdir libdpdk "
		    "2>/dev/null || echo /usr/lib/x86_64-linux-gnu) exec %s/build/bin/nvmf_tgt "
		    "--no-huge -s 1024 --no-pci -r %s -c %s >%s 2>&1",
		    g_spdk, g_spdk, sock, config, log);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * unvmf's save_config (TCP transport, malloc and aio bdevs, a subsystem with
 * a host, namespaces with nguid/eui64, a listener, an any-host subsystem, a
 * referral) loads into SPDK's nvmf_tgt: same bdevs, subsystems, namespaces.
 */
static void test_nvmf_tgt_loads_unvmf_save_config(void **state)
{
	char img[64], cfg[128], sock[108], log[128];
	struct tgt_proc tp;
	struct rpc_conn c;
	json_t *saved, *r, *s1 = NULL, *sub;
	size_t i;
	int fd, status;
	pid_t pid;

	skip_without_spdk();
	snprintf(img, sizeof(img), "/tmp/unvmf-spdk-tools-%d.img", getpid());
	fd = open(img, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16 << 20), 0);
	close(fd);
	assert_int_equal(
	    tgt_proc_start_config(
	        &tp, NULL,
	        "{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": ["
	        "{\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"Malloc0\", "
	        "\"num_blocks\": 16384, \"block_size\": 512}},"
	        "{\"method\": \"bdev_aio_create\", \"params\": {\"name\": \"Aio0\", \"filename\": "
	        "\"%s\", \"block_size\": 512}}]},"
	        "{\"subsystem\": \"nvmf\", \"config\": ["
	        "{\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\", "
	        "\"io_unit_size\": 16384, \"max_io_qpairs_per_ctrlr\": 8}},"
	        "{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": "
	        "\"nqn.2016-06.io.spdk:cnode1\", \"serial_number\": \"SPDK001\"}},"
	        "{\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": "
	        "\"nqn.2016-06.io.spdk:cnode1\", \"host\": \"" HOSTNQN "\"}},"
	        "{\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": "
	        "\"nqn.2016-06.io.spdk:cnode1\", \"namespace\": {\"bdev_name\": \"Malloc0\"}}},"
	        "{\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": "
	        "\"nqn.2016-06.io.spdk:cnode1\", \"namespace\": {\"bdev_name\": \"Aio0\", "
	        "\"nsid\": 3, \"nguid\": \"0123456789abcdef0123456789abcdef\", \"eui64\": "
	        "\"0123456789abcdef\"}}},"
	        "{\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": "
	        "\"nqn.2016-06.io.spdk:cnode1\", \"listen_address\": {\"trtype\": \"TCP\", "
	        "\"traddr\": \"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}},"
	        "{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": "
	        "\"nqn.2016-06.io.spdk:cnode2\", \"allow_any_host\": true}},"
	        "{\"method\": \"nvmf_discovery_add_referral\", \"params\": {\"address\": "
	        "{\"trtype\": \"TCP\", \"traddr\": \"127.0.0.2\", \"trsvcid\": \"4420\"}}}]}]}",
	        img),
	    0);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	r = rpc_call(&c, "save_config", NULL);
	assert_int_equal(rpc_resp_code(r), 0);
	saved = json_incref(json_object_get(r, "result"));
	json_decref(r);
	rpc_conn_close(&c);
	assert_int_equal(tgt_proc_finish(&tp, 20), 0);

	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-spdk-tools-%d.json", getpid());
	snprintf(sock, sizeof(sock), "/tmp/unvmf-spdk-tools-%d.sock", getpid());
	snprintf(log, sizeof(log), "/tmp/unvmf-spdk-tools-%d.log", getpid());
	assert_int_equal(json_dump_file(saved, cfg, JSON_INDENT(2)), 0);
	json_decref(saved);
	unlink(sock);
	pid = nvmf_tgt_start(cfg, sock, log);
	assert_true(pid > 0);
	/* The socket appears once the config has loaded; a refused config ends the process. */
	for (int t = 0; t < 600 && access(sock, F_OK) && waitpid(pid, &status, WNOHANG) == 0; t++)
		usleep(50000);
	if (access(sock, F_OK) || rpc_conn_open(&c, sock)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fprintf(stderr, "SPDK's nvmf_tgt did not come up on unvmf's save_config; see %s\n",
		        log);
		fail();
	}
	r = rpc_call(&c, "bdev_get_bdevs", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 2);
	json_decref(r);
	r = rpc_call(&c, "nvmf_get_subsystems", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 3);
	json_array_foreach(json_object_get(r, "result"), i, sub)
	{
		if (strcmp(json_string_value(json_object_get(sub, "nqn")),
		           "nqn.2016-06.io.spdk:cnode1") == 0)
			s1 = sub;
	}
	assert_non_null(s1);
	assert_int_equal(json_array_size(json_object_get(s1, "namespaces")), 2);
	assert_int_equal(json_array_size(json_object_get(s1, "hosts")), 1);
	assert_int_equal(json_array_size(json_object_get(s1, "listen_addresses")), 1);
	json_decref(r);
	r = rpc_call(&c, "nvmf_discovery_get_referrals", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 1);
	json_decref(r);
	rpc_conn_close(&c);
	kill(pid, SIGINT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(cfg);
	unlink(log);
	unlink(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_perf_without_hostnqn),
	    cmocka_unit_test(test_perf_with_hostnqn),
	    cmocka_unit_test(test_nvmf_tgt_loads_unvmf_save_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
