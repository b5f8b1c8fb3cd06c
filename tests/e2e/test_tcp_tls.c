/*
 * NVMe/TCP over TLS 1.3 (PSK) between our host and our target over loopback:
 * a key in the keyring, a host entry with "psk", a listener with
 * secure_channel; Identify, verified I/O with both digests, discovery's
 * TREQ/TSAS, the refusals (clear-text host, wrong key, unknown host, a
 * Connect naming another host than the PSK identity), save_config, and a
 * recording proxy showing no NVMe/TCP byte crosses the wire in the clear.
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
#include <unistd.h>

#include "fault_proxy.h"
#include "sock/sock_tls.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "tool_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:tls"
#define HOSTNQN "nqn.2024-11.io.unvmf:host-tls"
#define HOST_OTHER "nqn.2024-11.io.unvmf:host-other"
#define SERIAL "TLSSERIAL0123"
/* libnvme's test key; KEY_B has the same bytes with another retained hash: another TLS PSK. */
#define KEY_A "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"
#define KEY_B "NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"

static struct tgt_proc g_tp;
static struct rpc_conn g_c;
static char g_key_a[64], g_key_b[64], g_key_open[64];
static char g_trid[256], g_disc_trid[256];

static int key_file(char *path, size_t len, const char *tag, const char *key, mode_t mode)
{
	int fd;

	snprintf(path, len, "/tmp/unvmf-tls-%s-%d", tag, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, strlen(key)) != (ssize_t)strlen(key) ||
	    write(fd, "\n", 1) != 1)
		return -1;
	close(fd);
	return chmod(path, mode);
}

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x3", NULL};

	(void)state;
	if (!unvmf_sock_tls_available())
		return 0;
	if (key_file(g_key_a, sizeof(g_key_a), "a", KEY_A, 0600) ||
	    key_file(g_key_b, sizeof(g_key_b), "b", KEY_B, 0600) ||
	    key_file(g_key_open, sizeof(g_key_open), "open", KEY_A, 0644))
		return -1;
	if (tgt_proc_start_config(
	        &g_tp, args,
	        "{\"subsystems\": [\n"
	        " {\"subsystem\": \"keyring\", \"config\": [\n"
	        "  {\"method\": \"keyring_file_add_key\", \"params\": {\"name\": \"key0\", "
	        "\"path\": \"%s\"}}]},\n"
	        " {\"subsystem\": \"bdev\", \"config\": [\n"
	        "  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", "
	        "\"num_blocks\": 16384, \"block_size\": 512}}]},\n"
	        " {\"subsystem\": \"nvmf\", \"config\": [\n"
	        "  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\"}},\n"
	        "  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", "
	        "\"serial_number\": \"%s\", \"allow_any_host\": false}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", "
	        "\"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"%s\", "
	        "\"host\": \"%s\", \"psk\": \"key0\"}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"%s\", "
	        "\"host\": \"%s\"}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", "
	        "\"secure_channel\": true, \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": "
	        "\"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
	        g_key_a, SUBNQN, SERIAL, SUBNQN, SUBNQN, HOSTNQN, SUBNQN, HOST_OTHER, SUBNQN))
		return -1;
	if (rpc_conn_open(&g_c, g_tp.rpc_sock))
		return -1;
	snprintf(g_trid, sizeof(g_trid),
	         "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s", g_tp.port, SUBNQN);
	snprintf(g_disc_trid, sizeof(g_disc_trid),
	         "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s", g_tp.port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (!unvmf_sock_tls_available())
		return 0;
	rpc_conn_close(&g_c);
	unlink(g_key_a);
	unlink(g_key_b);
	unlink(g_key_open);
	return tgt_proc_finish(&g_tp, 20);
}

static int test_setup(void **state)
{
	(void)state;
	if (!unvmf_sock_tls_available())
		skip();
	return 0;
}

/* A TCP transport counter summed over poll groups ("a.b" for a member of an object). */
static long long tcp_stat(const char *path)
{
	json_t *resp = rpc_call(&g_c, "nvmf_get_stats", NULL), *g;
	const char *dot = strchr(path, '.');
	long long sum = 0;
	char outer[64];
	size_t i;

	assert_non_null(resp);
	assert_int_equal(rpc_resp_code(resp), 0);
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "poll_groups"), i, g)
	{
		json_t *t = json_array_get(json_object_get(g, "transports"), 0);

		if (dot) {
			snprintf(outer, sizeof(outer), "%.*s", (int)(dot - path), path);
			t = json_object_get(t, outer);
		}
		assert_non_null(json_object_get(t, dot ? dot + 1 : path));
		sum += json_integer_value(json_object_get(t, dot ? dot + 1 : path));
	}
	json_decref(resp);
	return sum;
}

/* Counters move on the target's threads: wait a little for them. */
static long long wait_tcp_stat(const char *path, long long want)
{
	long long v = 0;

	for (int i = 0; i < 300; i++) {
		v = tcp_stat(path);
		if (v >= want)
			break;
		usleep(10000);
	}
	return v;
}

static json_int_t int_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		fail_msg("JSON field %s missing or not an integer", key);
	return json_integer_value(v);
}

static void test_tls_identify(void **state)
{
	const char *args[] = {"-r",         g_trid,  "--hostnqn", HOSTNQN,
	                      "--psk-path", g_key_a, "--json",    NULL};
	long long hs0 = tcp_stat("tls_handshakes");
	json_t *j;

	(void)state;
	j = tool_run_json("unvmf-identify", args, 30);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "controller"), "serial_number")),
	    SERIAL);
	json_decref(j);
	/* Admin queue and the I/O queue identify opens: one handshake each at least. */
	assert_true(wait_tcp_stat("tls_handshakes", hs0 + 1) >= hs0 + 1);
}

static void perf_verify(const char *io_size, const char *depth)
{
	const char *args[] = {"-r",
	                      g_trid,
	                      "-q",
	                      depth,
	                      "-o",
	                      io_size,
	                      "-w",
	                      "randwrite",
	                      "-t",
	                      "1",
	                      "-P",
	                      "2",
	                      "--verify",
	                      "--header-digest",
	                      "--data-digest",
	                      "--hostnqn",
	                      HOSTNQN,
	                      "--psk-path",
	                      g_key_a,
	                      "--json",
	                      NULL};
	json_t *j = tool_run_json("unvmf-perf", args, 120);

	assert_non_null(j);
	assert_true(int_field(j, "writes") > 0);
	assert_int_equal(int_field(j, "verify_errors"), 0);
	assert_int_equal(int_field(j, "verified_blocks"),
	                 int_field(j, "verify_region_bytes") / 512);
	assert_int_equal(int_field(j, "io_errors"), 0);
	json_decref(j);
}

/* Digests inside TLS; 128 KiB I/Os span many TLS records and several H2C/C2H PDUs. */
static void test_tls_perf_verify_digests(void **state)
{
	long long ddgst0 = tcp_stat("ddgst_errors"), hdgst0 = tcp_stat("hdgst_errors");

	(void)state;
	perf_verify("4096", "16");
	perf_verify("131072", "4");
	assert_int_equal(tcp_stat("ddgst_errors"), ddgst0);
	assert_int_equal(tcp_stat("hdgst_errors"), hdgst0);
}

static void expect_identify_fails(const char *hostnqn, const char *key, const char *stat)
{
	const char *with_key[] = {"-r", g_trid, "--hostnqn", hostnqn, "--psk-path", key, NULL};
	const char *clear[] = {"-r", g_trid, "--hostnqn", hostnqn, NULL};
	long long before = tcp_stat(stat);
	char *out = NULL, *err = NULL;

	assert_int_equal(tool_run("unvmf-identify", key ? with_key : clear, 30, &out, &err), 1);
	free(out);
	free(err);
	assert_true(wait_tcp_stat(stat, before + 1) >= before + 1);
}

static void test_tls_clear_text_host_refused(void **state)
{
	(void)state;
	expect_identify_fails(HOSTNQN, NULL, "conns_ended.tls_clear_text");
}

static void test_tls_wrong_key_refused(void **state)
{
	(void)state;
	expect_identify_fails(HOSTNQN, g_key_b, "conns_ended.tls_key_mismatch");
}

/* HOST_OTHER may connect, but its host entry has no PSK: no TLS for it. */
static void test_tls_host_without_key_refused(void **state)
{
	(void)state;
	expect_identify_fails(HOST_OTHER, g_key_a, "conns_ended.tls_unknown_key");
}

/* A handshake as HOSTNQN does not let the host Connect as HOST_OTHER. */
static void test_tls_connect_as_other_host_refused(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err = {0};
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	long long refused0 = tcp_stat("tls_connect_refused");

	(void)state;
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	unvmf_host_opts_init(&opts);
	strcpy(opts.hostnqn, HOST_OTHER);
	strcpy(opts.tls_psk, KEY_A);
	snprintf(opts.tls_psk_identity, sizeof(opts.tls_psk_identity), "NVMe0R01 %s %s", HOSTNQN,
	         SUBNQN);
	opts.connect_timeout_ms = 3000;
	assert_int_not_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), 0);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_CONNECT);
	assert_true(err.has_cqe);
	assert_int_equal(err.cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(err.cqe.status.s.sc, NVMF_SC_INVALID_HOST);
	assert_true(wait_tcp_stat("tls_connect_refused", refused0 + 1) >= refused0 + 1);
	/* The same identity with its own host NQN connects. */
	strcpy(opts.hostnqn, HOSTNQN);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), 0);
	unvmf_host_disconnect(ctrlr);
}

static void test_tls_discovery_log(void **state)
{
	const char *args[] = {"-r",         g_disc_trid, "--hostnqn", HOSTNQN,
	                      "--psk-path", g_key_a,     "--json",    NULL};
	json_t *j, *e;
	size_t i;
	int seen = 0;

	(void)state;
	j = tool_run_json("unvmf-identify", args, 30);
	assert_non_null(j);
	json_array_foreach(json_object_get(json_object_get(j, "discovery"), "entries"), i, e)
	{
		/* Both the NVM subsystem and the current discovery entry are at the TLS address. */
		assert_int_equal(int_field(e, "treq") & 3, NVMF_TREQ_SECURE_CHANNEL_REQUIRED);
		assert_int_equal(int_field(e, "tcp_sectype"), NVMF_TCP_SECTYPE_TLS13);
		seen++;
	}
	assert_int_equal(seen, 2);
	json_decref(j);
}

static bool has_bytes(const uint8_t *hay, size_t len, const void *needle, size_t nlen)
{
	return len >= nlen && memmem(hay, len, needle, nlen) != NULL;
}

/* Everything on the wire is TLS records: no ICReq, no capsule, no Identify data in the clear. */
static void test_tls_nothing_in_clear_on_the_wire(void **state)
{
	struct fault_plan plan = {.kind = FAULT_NONE, .record = true, .seed = 7};
	/* An ICReq's common header: type 0, flags 0, HLEN 128, PDO 0, PLEN 128. */
	static const uint8_t icreq[8] = {0x00, 0x00, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00};
	static const uint8_t icresp[8] = {0x01, 0x00, 0x80, 0x00, 0x80, 0x00, 0x00, 0x00};
	struct fault_proxy *proxy;
	char trid[256], port[16];
	int proxy_port;
	json_t *j;

	(void)state;
	assert_int_equal(fault_proxy_start(&plan, atoi(g_tp.port), &proxy_port, &proxy), 0);
	snprintf(port, sizeof(port), "%d", proxy_port);
	snprintf(trid, sizeof(trid), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s",
	         port, SUBNQN);
	const char *args[] = {"-r",         trid,    "--hostnqn", HOSTNQN,
	                      "--psk-path", g_key_a, "--json",    NULL};

	j = tool_run_json("unvmf-identify", args, 30);
	assert_non_null(j);
	json_decref(j);
	fault_proxy_join(proxy);
	assert_true(fault_proxy_num_conns(proxy) >= 1);
	for (unsigned c = 0; c < fault_proxy_num_conns(proxy); c++) {
		const uint8_t *h2c, *c2h;
		size_t nh = fault_proxy_recorded(proxy, c, FAULT_HOST_TO_TARGET, &h2c);
		size_t nc = fault_proxy_recorded(proxy, c, FAULT_TARGET_TO_HOST, &c2h);

		/* Each direction opens with a TLS handshake record (0x16, version 0x03 0x0x). */
		assert_true(nh > 200 && nc > 100);
		assert_int_equal(h2c[0], 0x16);
		assert_int_equal(h2c[1], 0x03);
		assert_int_equal(c2h[0], 0x16);
		assert_false(has_bytes(h2c, nh, icreq, sizeof(icreq)));
		assert_false(has_bytes(c2h, nc, icresp, sizeof(icresp)));
		/* The serial number crossed (Identify Controller) but never readable. */
		assert_false(has_bytes(c2h, nc, SERIAL, strlen(SERIAL)));
	}
	fault_proxy_stop(proxy);
}

static void test_tls_keyring_rpc_and_save_config(void **state)
{
	json_t *r, *subs, *sub, *entry;
	size_t i, j;
	bool key_saved = false, psk_saved = false, secure_saved = false;

	(void)state;
	r = rpc_call(&g_c, "keyring_get_keys", NULL);
	assert_int_equal(rpc_resp_code(r), 0);
	entry = json_array_get(json_object_get(r, "result"), 0);
	assert_string_equal(json_string_value(json_object_get(entry, "name")), "key0");
	assert_string_equal(json_string_value(json_object_get(entry, "path")), g_key_a);
	assert_null(json_object_get(entry, "key"));
	json_decref(r);
	/* A key others can read is refused, as SPDK's keyring does. */
	r = rpc_call(&g_c, "keyring_file_add_key",
	             RPC_P("{s:s, s:s}", "name", "key1", "path", g_key_open));
	assert_int_not_equal(rpc_resp_code(r), 0);
	assert_non_null(strstr(rpc_resp_message(r), "Invalid permissions"));
	json_decref(r);
	r = rpc_call(&g_c, "keyring_file_add_key",
	             RPC_P("{s:s, s:s}", "name", "key1", "path", "relative/key"));
	assert_non_null(strstr(rpc_resp_message(r), "Non-absolute"));
	json_decref(r);
	r = rpc_call(&g_c, "nvmf_subsystem_add_host",
	             RPC_P("{s:s, s:s, s:s}", "nqn", SUBNQN, "host", "nqn.2024-11.io.unvmf:h3",
	                   "psk", "nokey"));
	assert_int_not_equal(rpc_resp_code(r), 0);
	assert_non_null(strstr(rpc_resp_message(r), "no such key"));
	json_decref(r);
	/* In use by HOSTNQN's entry: not removable. */
	r = rpc_call(&g_c, "keyring_file_remove_key", RPC_P("{s:s}", "name", "key0"));
	assert_int_not_equal(rpc_resp_code(r), 0);
	assert_non_null(strstr(rpc_resp_message(r), "in use"));
	json_decref(r);

	r = rpc_call(&g_c, "nvmf_get_subsystems", RPC_P("{s:s}", "nqn", SUBNQN));
	entry = json_array_get(
	    json_object_get(json_array_get(json_object_get(r, "result"), 0), "hosts"), 0);
	assert_string_equal(json_string_value(json_object_get(entry, "nqn")), HOSTNQN);
	assert_string_equal(json_string_value(json_object_get(entry, "psk")), "key0");
	json_decref(r);
	/* One address, one rule: a second subsystem cannot listen there in the clear. */
	r = rpc_call(&g_c, "nvmf_create_subsystem", RPC_P("{s:s}", "nqn", SUBNQN "2"));
	assert_int_equal(rpc_resp_code(r), 0);
	json_decref(r);
	r = rpc_call(&g_c, "nvmf_subsystem_add_listener",
	             RPC_P("{s:s, s:{s:s, s:s, s:s, s:s}}", "nqn", SUBNQN "2", "listen_address",
	                   "trtype", "TCP", "adrfam", "IPv4", "traddr", "127.0.0.1", "trsvcid",
	                   g_tp.port));
	assert_int_equal(rpc_resp_code(r), -22);
	json_decref(r);
	r = rpc_call(&g_c, "nvmf_subsystem_add_listener",
	             RPC_P("{s:s, s:b, s:{s:s, s:s, s:s, s:s}}", "nqn", SUBNQN "2", "secure_channel",
	                   1, "listen_address", "trtype", "TCP", "adrfam", "IPv4", "traddr",
	                   "127.0.0.1", "trsvcid", g_tp.port));
	assert_int_equal(rpc_resp_code(r), 0);
	json_decref(r);

	r = rpc_call(&g_c, "save_config", NULL);
	assert_int_equal(rpc_resp_code(r), 0);
	subs = json_object_get(json_object_get(r, "result"), "subsystems");
	/* The keyring comes before nvmf, whose hosts name its keys. */
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(subs, 0), "subsystem")), "keyring");
	json_array_foreach(subs, i, sub)
	{
		json_array_foreach(json_object_get(sub, "config"), j, entry)
		{
			const char *m = json_string_value(json_object_get(entry, "method"));
			json_t *p = json_object_get(entry, "params");

			if (strcmp(m, "keyring_file_add_key") == 0)
				key_saved = strcmp(json_string_value(json_object_get(p, "path")),
				                   g_key_a) == 0;
			if (strcmp(m, "nvmf_subsystem_add_host") == 0 &&
			    strcmp(json_string_value(json_object_get(p, "host")), HOSTNQN) == 0)
				psk_saved = json_object_get(p, "psk") &&
				            strcmp(json_string_value(json_object_get(p, "psk")),
				                   "key0") == 0;
			if (strcmp(m, "nvmf_subsystem_add_listener") == 0)
				secure_saved = json_is_true(json_object_get(p, "secure_channel"));
		}
	}
	assert_true(key_saved);
	assert_true(psk_saved);
	assert_true(secure_saved);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_tls_identify, test_setup),
	    cmocka_unit_test_setup(test_tls_perf_verify_digests, test_setup),
	    cmocka_unit_test_setup(test_tls_clear_text_host_refused, test_setup),
	    cmocka_unit_test_setup(test_tls_wrong_key_refused, test_setup),
	    cmocka_unit_test_setup(test_tls_host_without_key_refused, test_setup),
	    cmocka_unit_test_setup(test_tls_connect_as_other_host_refused, test_setup),
	    cmocka_unit_test_setup(test_tls_discovery_log, test_setup),
	    cmocka_unit_test_setup(test_tls_nothing_in_clear_on_the_wire, test_setup),
	    cmocka_unit_test_setup(test_tls_keyring_rpc_and_save_config, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
