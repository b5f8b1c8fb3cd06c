/*
 * SPDK's initiator against unvmf-tgt with DH-HMAC-CHAP: spdk_nvme_perf
 * (v25.09) --dhchap-key / --dhchap-ctrlr-key (key files), unidirectional,
 * bidirectional, and a wrong host secret refused (counted by the target).
 * Runs when UNVMF_SPDK_DIR names a built SPDK tree (build/bin/spdk_nvme_perf);
 * skipped with a message otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/dhchap.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"

#define SUBNQN "nqn.2024-12.io.unvmf:spdk-auth"
#define HOSTNQN "nqn.2024-12.io.unvmf:spdk-host"
#define KEY_A "DHHC-1:01:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:"
#define KEY_B "DHHC-1:01:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAl7OaH:"
#define KEY_C                                                                                      \
	"DHHC-1:03:"                                                                               \
	"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+"     \
	"fx/Gj1o=:"

static struct tgt_proc g_tp;
static struct rpc_conn g_c;
static const char *g_spdk;
static char g_file_a[64], g_file_b[64], g_file_c[64];

static int key_file(char *path, size_t len, const char *tag, const char *key)
{
	int fd;

	snprintf(path, len, "/tmp/unvmf-spdk-dhchap-%s-%d", tag, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, strlen(key)) != (ssize_t)strlen(key))
		return -1;
	close(fd);
	return 0;
}

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x3", NULL};
	char perf[1024];

	(void)state;
	g_spdk = getenv("UNVMF_SPDK_DIR");
	if (g_spdk) {
		snprintf(perf, sizeof(perf), "%s/build/bin/spdk_nvme_perf", g_spdk);
		if (access(perf, X_OK) != 0)
			g_spdk = NULL;
	}
	if (!g_spdk || !unvmf_dhchap_supported())
		return 0;
	if (key_file(g_file_a, sizeof(g_file_a), "a", KEY_A) ||
	    key_file(g_file_b, sizeof(g_file_b), "b", KEY_B) ||
	    key_file(g_file_c, sizeof(g_file_c), "c", KEY_C))
		return -1;
	if (tgt_proc_start_config(
	        &g_tp, args,
	        "{\"subsystems\": [\n"
	        " {\"subsystem\": \"keyring\", \"config\": [\n"
	        "  {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"key0\", "
	        "\"path\": \"%s\"}},\n"
	        "  {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"ckey0\", "
	        "\"path\": \"%s\"}}]},\n"
	        " {\"subsystem\": \"bdev\", \"config\": [\n"
	        "  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", "
	        "\"num_blocks\": 2048, \"block_size\": 512}}]},\n"
	        " {\"subsystem\": \"nvmf\", \"config\": [\n"
	        "  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\"}},\n"
	        "  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", "
	        "\"allow_any_host\": false}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", "
	        "\"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"%s\", "
	        "\"host\": \"%s\", \"dhchap_key\": \"key0\", \"dhchap_ctrlr_key\": \"ckey0\"}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", "
	        "\"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": "
	        "\"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
	        g_file_a, g_file_c, SUBNQN, SUBNQN, SUBNQN, HOSTNQN, SUBNQN))
		return -1;
	return rpc_conn_open(&g_c, g_tp.rpc_sock);
}

static int group_teardown(void **state)
{
	(void)state;
	if (!g_spdk || !unvmf_dhchap_supported())
		return 0;
	rpc_conn_close(&g_c);
	unlink(g_file_a);
	unlink(g_file_b);
	unlink(g_file_c);
	return tgt_proc_finish(&g_tp, 20);
}

/* Skips the calling test (cmocka counts a skip in a setup function as an error). */
static void require_feature(void)
{
	if (!g_spdk) {
		printf(
		    "skipped: set UNVMF_SPDK_DIR to a built SPDK tree (build/bin/spdk_nvme_perf) "
		    "to run SPDK's initiator with DH-HMAC-CHAP against unvmf\n");
		skip();
	}
	if (!unvmf_dhchap_supported())
		skip();
}

static long long auth_stat(const char *name)
{
	json_t *resp = rpc_call(&g_c, "nvmf_get_stats", NULL), *g;
	long long sum = 0;
	size_t i;

	assert_non_null(resp);
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "poll_groups"), i, g)
	    sum += json_integer_value(json_object_get(json_object_get(g, "auth"), name));
	json_decref(resp);
	return sum;
}

/* spdk_nvme_perf for a second of 4 KiB random reads; 0 when it ran I/O. */
static int spdk_perf(const char *key, const char *ckey)
{
	char cmd[4096];
	int rc;

	snprintf(cmd, sizeof(cmd),
	         "LD_LIBRARY_PATH=%s/build/lib:$(pkg-config --variable=libdir libdpdk 2>/dev/null) "
	         "timeout 60 %s/build/bin/spdk_nvme_perf --no-huge -s 512 -q 4 -o 4096 -w randread "
	         "-t 1 -r 'trtype:tcp adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s "
	         "hostnqn:%s' --dhchap-key %s %s %s >/tmp/unvmf-spdk-dhchap-%d.log 2>&1",
	         g_spdk, g_spdk, g_tp.port, SUBNQN, HOSTNQN, key, ckey ? "--dhchap-ctrlr-key" : "",
	         ckey ? ckey : "", (int)getpid());
	rc = system(cmd);
	/* spdk_nvme_perf exits 0 when no controller attached too: a run has its "Total" line. */
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 0) {
		snprintf(cmd, sizeof(cmd), "grep -q '^Total ' /tmp/unvmf-spdk-dhchap-%d.log",
		         (int)getpid());
		rc = system(cmd);
	}
	snprintf(cmd, sizeof(cmd), "tail -n 15 /tmp/unvmf-spdk-dhchap-%d.log", (int)getpid());
	if (system(cmd) != 0)
		return -1;
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_spdk_perf_unidirectional(void **state)
{
	long long ok0;

	(void)state;
	require_feature();
	ok0 = auth_stat("successes");
	assert_int_equal(spdk_perf(g_file_a, NULL), 0);
	assert_true(auth_stat("successes") >= ok0 + 2);
}

static void test_spdk_perf_bidirectional(void **state)
{
	long long ok0;

	(void)state;
	require_feature();
	ok0 = auth_stat("successes");
	assert_int_equal(spdk_perf(g_file_a, g_file_c), 0);
	assert_true(auth_stat("successes") >= ok0 + 2);
}

static void test_spdk_perf_wrong_key_refused(void **state)
{
	long long fail0;

	(void)state;
	require_feature();
	fail0 = auth_stat("failures");
	assert_int_not_equal(spdk_perf(g_file_b, NULL), 0);
	assert_true(auth_stat("failures") >= fail0 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spdk_perf_unidirectional),
	    cmocka_unit_test(test_spdk_perf_bidirectional),
	    cmocka_unit_test(test_spdk_perf_wrong_key_refused),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
