/*
 * DH-HMAC-CHAP between our host and our target over TCP loopback: keys in the
 * keyring (keyring_file_add_key of DHHC-1 files), host entries with
 * dhchap_key / dhchap_ctrlr_key. The null group and ffdhe2048, SHA-256 and
 * SHA-512, unidirectional and bidirectional; the refusals (wrong host secret:
 * failure1, counted and logged; wrong controller secret: the host refuses;
 * a queue that skips authentication gets Authentication Required; a host
 * without a secret), re-authentication, and rotation with
 * nvmf_subsystem_set_keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e_util.h"
#include "proto/dhchap.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "tool_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-12.io.unvmf:auth"
#define HOSTNQN "nqn.2024-12.io.unvmf:host-auth"
#define HOST_ROT "nqn.2024-12.io.unvmf:host-rotate"
#define SERIAL "AUTHSERIAL0123"
/* Bytes 0..31 (hash 01), 1..32 (01), 64..127 (03), 65..128 (03), 100..147 (00). */
#define KEY_A "DHHC-1:01:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:"
#define KEY_B "DHHC-1:01:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAl7OaH:"
#define KEY_C                                                                                      \
	"DHHC-1:03:"                                                                               \
	"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+"     \
	"fx/Gj1o=:"
#define KEY_D                                                                                      \
	"DHHC-1:03:"                                                                               \
	"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/"     \
	"gCpwuY8=:"
#define KEY_E "DHHC-1:00:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTvGwQfg==:"

static struct tgt_proc g_tp;
static struct rpc_conn g_c;
static char g_file_a[64], g_file_c[64], g_file_e[64], g_file_b[64];

static int key_file(char *path, size_t len, const char *tag, const char *key)
{
	int fd;

	snprintf(path, len, "/tmp/unvmf-dhchap-%s-%d", tag, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, strlen(key)) != (ssize_t)strlen(key) ||
	    write(fd, "\n", 1) != 1)
		return -1;
	close(fd);
	return 0;
}

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x3", NULL};

	(void)state;
	if (!unvmf_dhchap_supported())
		return 0;
	if (key_file(g_file_a, sizeof(g_file_a), "a", KEY_A) ||
	    key_file(g_file_b, sizeof(g_file_b), "b", KEY_B) ||
	    key_file(g_file_c, sizeof(g_file_c), "c", KEY_C) ||
	    key_file(g_file_e, sizeof(g_file_e), "e", KEY_E))
		return -1;
	if (tgt_proc_start_config(
	        &g_tp, args,
	        "{\"subsystems\": [\n"
	        " {\"subsystem\": \"keyring\", \"config\": [\n"
	        "  {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"key0\", "
	        "\"path\": \"%s\"}},\n"
	        "  {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"ckey0\", "
	        "\"path\": \"%s\"}},\n"
	        "  {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"key1\", "
	        "\"path\": \"%s\"}}]},\n"
	        " {\"subsystem\": \"bdev\", \"config\": [\n"
	        "  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", "
	        "\"num_blocks\": 2048, \"block_size\": 512}}]},\n"
	        " {\"subsystem\": \"nvmf\", \"config\": [\n"
	        "  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\"}},\n"
	        "  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", "
	        "\"serial_number\": \"%s\", \"allow_any_host\": false}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", "
	        "\"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"%s\", "
	        "\"host\": \"%s\", \"dhchap_key\": \"key0\", \"dhchap_ctrlr_key\": \"ckey0\"}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"%s\", "
	        "\"host\": \"%s\", \"dhchap_key\": \"key0\"}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", "
	        "\"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": "
	        "\"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
	        g_file_a, g_file_c, g_file_e, SUBNQN, SERIAL, SUBNQN, SUBNQN, HOSTNQN, SUBNQN,
	        HOST_ROT, SUBNQN))
		return -1;
	return rpc_conn_open(&g_c, g_tp.rpc_sock);
}

static int group_teardown(void **state)
{
	(void)state;
	if (!unvmf_dhchap_supported())
		return 0;
	rpc_conn_close(&g_c);
	unlink(g_file_a);
	unlink(g_file_b);
	unlink(g_file_c);
	unlink(g_file_e);
	return tgt_proc_finish(&g_tp, 20);
}

/* Skips the calling test (cmocka counts a skip in a setup function as an error). */
static void require_feature(void)
{
	if (!unvmf_dhchap_supported())
		skip();
}

/* An auth counter of nvmf_get_stats summed over poll groups. */
static long long auth_stat(const char *name)
{
	json_t *resp = rpc_call(&g_c, "nvmf_get_stats", NULL), *g;
	long long sum = 0;
	size_t i;

	assert_non_null(resp);
	assert_int_equal(rpc_resp_code(resp), 0);
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "poll_groups"), i, g)
	{
		json_t *v = json_object_get(json_object_get(g, "auth"), name);

		assert_true(json_is_integer(v));
		sum += json_integer_value(v);
	}
	json_decref(resp);
	return sum;
}

static long long wait_auth_stat(const char *name, long long want)
{
	long long v = 0;

	for (int i = 0; i < 300; i++) {
		v = auth_stat(name);
		if (v >= want)
			break;
		usleep(10000);
	}
	return v;
}

static bool log_contains(const char *what)
{
	static char buf[1 << 20];
	FILE *f;
	size_t n;

	for (int i = 0; i < 100; i++) {
		f = fopen(g_tp.log_path, "r");
		if (!f)
			return false;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		if (strstr(buf, what))
			return true;
		usleep(20000);
	}
	return false;
}

static void opts_make(struct unvmf_host_opts *opts, const char *hostnqn, const char *key,
                      const char *ckey, const char *digests, const char *dhgroups)
{
	unvmf_host_opts_init(opts);
	strcpy(opts->hostnqn, hostnqn);
	opts->connect_timeout_ms = 5000;
	if (key)
		strcpy(opts->dhchap_key, key);
	if (ckey)
		strcpy(opts->dhchap_ctrlr_key, ckey);
	assert_int_equal(unvmf_host_opts_set_dhchap_lists(opts, digests, dhgroups), 0);
}

static int connect_with(const struct unvmf_host_opts *opts, struct unvmf_host_ctrlr **ctrlr,
                        struct unvmf_host_error *err)
{
	struct unvmf_trid trid;

	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	memset(err, 0, sizeof(*err));
	return unvmf_host_connect(&trid, opts, ctrlr, err);
}

/* Connects, writes and reads back a block on an authenticated I/O queue. */
static void expect_authenticated_io(const char *key, const char *ckey, const char *digest,
                                    const char *group)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts opts;
	uint8_t out[512], in[512];
	long long ok0 = auth_stat("successes");

	opts_make(&opts, HOSTNQN, key, ckey, digest, group);
	assert_int_equal(connect_with(&opts, &ctrlr, &err), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, &err), 0);
	memset(out, 0x3c, sizeof(out));
	assert_int_equal(e2e_write(qp, 1, 7, 1, out, sizeof(out)), 0);
	assert_int_equal(e2e_read(qp, 1, 7, 1, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(in));
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	/* The admin queue and the I/O queue each authenticated. */
	assert_true(wait_auth_stat("successes", ok0 + 2) >= ok0 + 2);
}

static void test_null_sha256_unidirectional(void **state)
{
	(void)state;
	require_feature();
	expect_authenticated_io(KEY_A, NULL, "sha256", "null");
}

static void test_ffdhe2048_sha512_unidirectional(void **state)
{
	(void)state;
	require_feature();
	expect_authenticated_io(KEY_A, NULL, "sha512", "ffdhe2048");
}

static void test_ffdhe2048_sha256_bidirectional(void **state)
{
	(void)state;
	require_feature();
	expect_authenticated_io(KEY_A, KEY_C, "sha256", "ffdhe2048");
}

static void test_null_sha512_bidirectional(void **state)
{
	(void)state;
	require_feature();
	expect_authenticated_io(KEY_A, KEY_C, "sha512", "null");
}

static void test_wrong_host_key_refused(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts opts;
	long long fail0;

	(void)state;
	require_feature();
	fail0 = auth_stat("failures");
	opts_make(&opts, HOSTNQN, KEY_B, NULL, NULL, "null");
	assert_int_equal(connect_with(&opts, &ctrlr, &err), -EACCES);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_AUTH);
	assert_int_equal(err.auth_failure, NVME_AUTH_FAIL_FAILED);
	assert_int_equal(wait_auth_stat("failures", fail0 + 1), fail0 + 1);
	assert_true(log_contains("authentication of host " HOSTNQN " to " SUBNQN
	                         " refused: failed (wrong host secret"));
}

static void test_wrong_ctrlr_key_detected(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts opts;
	long long fail0;

	(void)state;
	require_feature();
	fail0 = auth_stat("failures");
	opts_make(&opts, HOSTNQN, KEY_A, KEY_D, "sha256", "ffdhe2048");
	assert_int_equal(connect_with(&opts, &ctrlr, &err), -EKEYREJECTED);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_AUTH);
	/* The host's failure2 reaches the target, which logs and counts it. */
	assert_true(wait_auth_stat("failures", fail0 + 1) >= fail0 + 1);
	assert_true(log_contains("host " HOSTNQN " ended authentication to " SUBNQN));
}

static void test_host_without_secret_refused(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts opts;

	(void)state;
	require_feature();
	opts_make(&opts, HOSTNQN, NULL, NULL, NULL, NULL);
	assert_int_equal(connect_with(&opts, &ctrlr, &err), -EACCES);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_AUTH);
}

/* A queue that does not authenticate runs nothing: Authentication Required. */
static void test_unauthenticated_io_queue_refused(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts opts;
	uint8_t buf[512];

	(void)state;
	require_feature();
	opts_make(&opts, HOSTNQN, KEY_A, NULL, "sha256", "null");
	opts.dhchap_skip_io_queues = true;
	assert_int_equal(connect_with(&opts, &ctrlr, &err), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, &err), 0);
	assert_int_equal(e2e_read(qp, 1, 0, 1, buf, sizeof(buf)),
	                 E2E_STATUS(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_AUTH_REQUIRED));
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

static void test_reauthentication(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts opts;
	long long ok0;

	(void)state;
	require_feature();
	ok0 = auth_stat("successes");
	opts_make(&opts, HOSTNQN, KEY_A, KEY_C, "sha384", "ffdhe2048");
	assert_int_equal(connect_with(&opts, &ctrlr, &err), 0);
	assert_int_equal(unvmf_host_ctrlr_reauthenticate(ctrlr, &err), 0);
	assert_int_equal(unvmf_host_ctrlr_reauthenticate(ctrlr, &err), 0);
	assert_true(wait_auth_stat("successes", ok0 + 3) >= ok0 + 3);
	unvmf_host_disconnect(ctrlr);
}

static void set_keys(const char *host, const char *key)
{
	json_t *resp =
	    rpc_call(&g_c, "nvmf_subsystem_set_keys",
	             json_pack("{s:s, s:s, s:s}", "nqn", SUBNQN, "host", host, "dhchap_key", key));

	assert_non_null(resp);
	assert_int_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
}

/* set_keys: the next transaction (a new queue or a re-authentication) needs the new secret. */
static void test_key_rotation(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL, *ctrlr2 = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts opts, opts_new;

	(void)state;
	require_feature();
	opts_make(&opts, HOST_ROT, KEY_A, NULL, "sha256", "null");
	opts_make(&opts_new, HOST_ROT, KEY_E, NULL, "sha256", "null");
	assert_int_equal(connect_with(&opts, &ctrlr, &err), 0);
	set_keys(HOST_ROT, "key1");
	assert_int_equal(unvmf_host_ctrlr_reauthenticate(ctrlr, &err), -EACCES);
	assert_int_equal(connect_with(&opts, &ctrlr2, &err), -EACCES);
	assert_int_equal(connect_with(&opts_new, &ctrlr2, &err), 0);
	unvmf_host_disconnect(ctrlr2);
	unvmf_host_disconnect(ctrlr);
	set_keys(HOST_ROT, "key0");
}

/* The tools' options, as spdk_nvme_perf's: key files. */
static void test_identify_with_key_files(void **state)
{
	const char *args[] = {"-r",           NULL,     "--hostnqn",          HOSTNQN,
	                      "--dhchap-key", g_file_a, "--dhchap-ctrlr-key", g_file_c,
	                      "--json",       NULL};
	const char *wrong[] = {"-r", NULL, "--hostnqn", HOSTNQN, "--dhchap-key", g_file_b, NULL};
	char trid[256], *out = NULL, *errs = NULL;
	json_t *j;

	(void)state;
	require_feature();
	snprintf(trid, sizeof(trid), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s",
	         g_tp.port, SUBNQN);
	args[1] = trid;
	wrong[1] = trid;
	j = tool_run_json("unvmf-identify", args, 60);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "controller"), "serial_number")),
	    SERIAL);
	json_decref(j);
	assert_int_equal(tool_run("unvmf-identify", wrong, 60, &out, &errs), 1);
	assert_non_null(strstr(errs, "DH-HMAC-CHAP"));
	free(out);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_null_sha256_unidirectional),
	    cmocka_unit_test(test_ffdhe2048_sha512_unidirectional),
	    cmocka_unit_test(test_ffdhe2048_sha256_bidirectional),
	    cmocka_unit_test(test_null_sha512_bidirectional),
	    cmocka_unit_test(test_wrong_host_key_refused),
	    cmocka_unit_test(test_wrong_ctrlr_key_detected),
	    cmocka_unit_test(test_host_without_secret_refused),
	    cmocka_unit_test(test_unauthenticated_io_queue_refused),
	    cmocka_unit_test(test_reauthentication),
	    cmocka_unit_test(test_key_rotation),
	    cmocka_unit_test(test_identify_with_key_files),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
