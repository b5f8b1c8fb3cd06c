/*
 * JSON config files: a target built from a config plus RPCs saves a config
 * that, loaded again, recreates the same state; bad files stop start-up with
 * the file, method and reason named and a non-zero exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "test_rpc_client.h"
#include "tgt_proc.h"

#define NQN1 "nqn.2016-06.io.spdk:cnode1"
#define NQN2 "nqn.2016-06.io.spdk:cnode2"
#define HOST1 "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define HOST2 "nqn.2014-08.org.nvmexpress:uuid:66666666-2222-3333-4444-555555555555"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static json_t *call_ok(struct rpc_conn *c, const char *method, json_t *params)
{
	json_t *resp = rpc_call(c, method, params);
	json_t *r;

	assert_non_null(resp);
	if (rpc_resp_code(resp))
		fail_msg("%s: %s", method, rpc_resp_message(resp));
	r = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return r;
}

struct snapshot {
	json_t *subsystems, *bdevs, *transports, *referrals;
};

static void snapshot_take(struct rpc_conn *c, struct snapshot *s)
{
	s->subsystems = call_ok(c, "nvmf_get_subsystems", NULL);
	s->bdevs = call_ok(c, "bdev_get_bdevs", NULL);
	s->transports = call_ok(c, "nvmf_get_transports", NULL);
	s->referrals = call_ok(c, "nvmf_discovery_get_referrals", NULL);
}

static void snapshot_assert_equal(struct snapshot *a, struct snapshot *b)
{
	json_t *pa[] = {a->subsystems, a->bdevs, a->transports, a->referrals};
	json_t *pb[] = {b->subsystems, b->bdevs, b->transports, b->referrals};

	for (int i = 0; i < 4; i++) {
		if (!json_equal(pa[i], pb[i])) {
			char *x = json_dumps(pa[i], JSON_INDENT(1)),
			     *y = json_dumps(pb[i], JSON_INDENT(1));

			fprintf(stderr, "before:\n%s\nafter:\n%s\n", x, y);
			free(x);
			free(y);
			fail_msg("state %d differs after reload", i);
		}
		json_decref(pa[i]);
		json_decref(pb[i]);
	}
}

static void test_config_round_trip(void **state)
{
	struct tgt_proc tp;
	struct rpc_conn c;
	char cfg[128], saved[128], file[] = "/tmp/unvmf-rpc-cfg-file-XXXXXX", text[4096], port2[16];
	const char *args[] = {"-c", cfg, "-r", NULL, NULL};
	struct snapshot before, after;
	json_t *conf;
	int fd = mkstemp(file);
	int rc;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 << 20), 0);
	close(fd);
	tgt_proc_prepare(&tp);
	args[3] = tp.rpc_sock;
	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-rpc-cfg-%d.json", getpid());
	snprintf(saved, sizeof(saved), "/tmp/unvmf-rpc-saved-%d.json", getpid());
	snprintf(port2, sizeof(port2), "%d", tgt_proc_free_port());
	/* nvmf before bdev in the file: the loader still creates bdevs first, as SPDK does. */
	snprintf(text, sizeof(text),
	         "{\"subsystems\": ["
	         "{\"subsystem\": \"nvmf\", \"config\": ["
	         " {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\","
	         "  \"max_queue_depth\": 64, \"in_capsule_data_size\": 8192,"
	         "  \"max_io_qpairs_per_ctrlr\": 15, \"c2h_success\": false}},"
	         " {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\","
	         "  \"allow_any_host\": true, \"serial_number\": \"SN0001\"}},"
	         " {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\","
	         "  \"namespace\": {\"bdev_name\": \"Malloc0\"}}},"
	         " {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\","
	         "  \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\","
	         "  \"traddr\": \"127.0.0.1\", \"trsvcid\": \"%s\"}}}]},"
	         "{\"subsystem\": \"sock\", \"config\": [{\"method\": \"sock_impl_set_options\","
	         " \"params\": {\"impl_name\": \"posix\"}}]},"
	         "{\"subsystem\": \"bdev\", \"config\": ["
	         " {\"method\": \"bdev_set_options\", \"params\": {}},"
	         " {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"Malloc0\","
	         "  \"num_blocks\": 16384, \"block_size\": 512}}]},"
	         "{\"subsystem\": \"scheduler\", \"config\": null}]}",
	         NQN1, NQN1, NQN1, tp.port);
	write_file(cfg, text);
	rc = tgt_proc_exec(&tp, args, true);
	if (rc)
		tgt_proc_dump_log(&tp);
	assert_int_equal(rc, 0);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	json_decref(call_ok(&c, "framework_wait_init", NULL));

	/* Widen the state through RPC. */
	json_decref(call_ok(
	    &c, "bdev_malloc_create",
	    json_pack("{s:s, s:i, s:i}", "name", "M2", "num_blocks", 1024, "block_size", 4096)));
	json_decref(call_ok(
	    &c, "bdev_null_create",
	    json_pack("{s:s, s:i, s:i}", "name", "N1", "num_blocks", 1 << 20, "block_size", 512)));
	json_decref(call_ok(
	    &c, "bdev_uring_create",
	    json_pack("{s:s, s:s, s:i}", "filename", file, "name", "U1", "block_size", 4096)));
	json_decref(
	    call_ok(&c, "nvmf_set_max_subsystems", json_pack("{s:i}", "max_subsystems", 16)));
	json_decref(call_ok(&c, "nvmf_create_subsystem",
	                    json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "nqn", NQN2,
	                              "serial_number", "SN0002", "model_number", "Model Two",
	                              "max_namespaces", 16, "min_cntlid", 10, "max_cntlid", 20)));
	json_decref(call_ok(&c, "nvmf_subsystem_add_host",
	                    json_pack("{s:s, s:s}", "nqn", NQN2, "host", HOST1)));
	json_decref(call_ok(&c, "nvmf_subsystem_add_host",
	                    json_pack("{s:s, s:s}", "nqn", NQN2, "host", HOST2)));
	json_decref(
	    call_ok(&c, "nvmf_subsystem_add_ns",
	            json_pack("{s:s, s:{s:s, s:i, s:s, s:s}}", "nqn", NQN2, "namespace",
	                      "bdev_name", "M2", "nsid", 7, "nguid",
	                      "000102030405060708090A0B0C0D0E0F", "eui64", "1122334455667788")));
	json_decref(
	    call_ok(&c, "nvmf_subsystem_add_ns",
	            json_pack("{s:s, s:{s:s}}", "nqn", NQN2, "namespace", "bdev_name", "N1")));
	json_decref(
	    call_ok(&c, "nvmf_subsystem_add_ns",
	            json_pack("{s:s, s:{s:s}}", "nqn", NQN1, "namespace", "bdev_name", "U1")));
	json_decref(call_ok(&c, "nvmf_subsystem_add_listener",
	                    json_pack("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN2, "listen_address",
	                              "trtype", "TCP", "traddr", "127.0.0.1", "trsvcid", port2)));
	json_decref(call_ok(&c, "nvmf_subsystem_add_listener",
	                    json_pack("{s:s, s:{s:s, s:s, s:s}}", "nqn",
	                              "nqn.2014-08.org.nvmexpress.discovery", "listen_address",
	                              "trtype", "TCP", "traddr", "127.0.0.1", "trsvcid", port2)));
	json_decref(call_ok(&c, "nvmf_discovery_add_referral",
	                    json_pack("{s:{s:s, s:s, s:s}, s:s}", "address", "trtype", "TCP",
	                              "traddr", "127.0.0.9", "trsvcid", "4420", "subnqn", NQN2)));
	snapshot_take(&c, &before);
	/* The options from the file are in effect. */
	json_t *t0 = json_array_get(before.transports, 0);

	assert_int_equal(json_integer_value(json_object_get(t0, "max_queue_depth")), 64);
	assert_false(json_is_true(json_object_get(t0, "c2h_success")));
	conf = call_ok(&c, "save_config", NULL);
	assert_int_equal(json_dump_file(conf, saved, JSON_INDENT(2)), 0);
	json_decref(conf);
	rpc_conn_close(&c);
	rc = tgt_proc_stop(&tp, 20);
	if (rc)
		tgt_proc_dump_log(&tp);
	assert_int_equal(rc, 0);

	/* Restart from the saved file alone. */
	snprintf(cfg, sizeof(cfg), "%s", saved);
	rc = tgt_proc_exec(&tp, args, true);
	if (rc)
		tgt_proc_dump_log(&tp);
	assert_int_equal(rc, 0);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	json_decref(call_ok(&c, "framework_wait_init", NULL));
	snapshot_take(&c, &after);
	snapshot_assert_equal(&before, &after);
	/* And saving again gives the same file. */
	conf = call_ok(&c, "save_config", NULL);
	json_t *first = json_load_file(saved, 0, NULL);

	assert_true(json_equal(conf, first));
	json_decref(conf);
	json_decref(first);
	rpc_conn_close(&c);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);
	unlink(saved);
	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-rpc-cfg-%d.json", getpid());
	unlink(cfg);
	unlink(file);
}

/* Runs unvmf-tgt -c on text; asserts a non-zero exit and that its output contains want. */
static void expect_bad_config(const char *text, const char *want_fmt)
{
	char cfg[128], log[128], sock[128], want[512], out[16384];
	const char *bindir = getenv("UNVMF_BIN_DIR");
	char path[512];
	int status = 0;
	pid_t pid;
	FILE *f;
	size_t n;

	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-rpc-bad-%d.json", getpid());
	snprintf(log, sizeof(log), "/tmp/unvmf-rpc-bad-%d.log", getpid());
	snprintf(sock, sizeof(sock), "/tmp/unvmf-rpc-bad-%d.sock", getpid());
	snprintf(path, sizeof(path), "%s/unvmf-tgt", bindir ? bindir : "build/bin");
	if (text)
		write_file(cfg, text);
	else
		unlink(cfg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execl(path, path, "-c", cfg, "-r", sock, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 2000 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (kill(pid, 0) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("unvmf-tgt did not exit on a bad config");
	}
	f = fopen(log, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	snprintf(want, sizeof(want), want_fmt, cfg);
	if (!strstr(out, want))
		fail_msg("output lacks '%s':\n%s", want, out);
	/* A start-up that failed leaves no socket behind. */
	assert_int_not_equal(access(sock, F_OK), 0);
	unlink(cfg);
	unlink(log);
}

static void test_bad_config_files(void **state)
{
	expect_bad_config(NULL, "%s: unable to open");
	expect_bad_config("{\"subsystems\": [", "%s: ");
	expect_bad_config("{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": [}]}", "%s: ");
	expect_bad_config("{\"foo\": []}", "%s: not a JSON config");
	expect_bad_config("{\"subsystems\": [{\"config\": []}]}", "%s: subsystems[0]");
	expect_bad_config(
	    "{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": [{\"params\": {}}]}]}",
	    "%s: subsystem bdev: entry 0 needs a \"method\"");
	expect_bad_config("{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": "
	                  "[{\"method\": \"bdev_foo_create\"}]}]}",
	                  "%s: method bdev_foo_create: unknown method");
	expect_bad_config("{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": "
	                  "[{\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M\","
	                  " \"num_blocks\": 8, \"block_size\": 1000}}]}]}",
	                  "%s: method bdev_malloc_create: invalid parameter 'block_size'");
	expect_bad_config("{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": "
	                  "[{\"method\": \"bdev_malloc_create\", \"params\": [1]}]}]}",
	                  "%s: method bdev_malloc_create: \"params\" must be an object");
	expect_bad_config("{\"subsystems\": [{\"subsystem\": \"nvmf\", \"config\": ["
	                  "{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"" NQN1
	                  "\"}},"
	                  "{\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"" NQN1
	                  "\", \"namespace\": {\"bdev_name\": \"nope\"}}}]}]}",
	                  "%s: method nvmf_subsystem_add_ns: bdev nope does not exist");
	expect_bad_config(
	    "{\"subsystems\": [{\"subsystem\": \"nvmf\", \"config\": ["
	    "{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"" NQN1 "\"}},"
	    "{\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"" NQN1
	    "\", \"listen_address\": {\"trtype\": \"TCP\", \"traddr\": \"127.0.0.1\","
	    " \"trsvcid\": \"1\"}}}]}]}",
	    "%s: method nvmf_subsystem_add_listener: transport TCP does not exist");
}

static json_t *find_by(json_t *list, const char *key, const char *value)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e)
	{
		if (json_is_string(json_object_get(e, key)) &&
		    strcmp(json_string_value(json_object_get(e, key)), value) == 0)
			return e;
	}
	fail_msg("no entry with %s = %s", key, value);
	return NULL;
}

static json_t *load_spdk_fixture(void)
{
	const char *dir = getenv("UNVMF_TEST_FIXTURES");
	char path[512];
	json_t *root;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/spdk_save_config.json", dir);
	root = json_load_file(path, 0, NULL);
	assert_non_null(root);
	return root;
}

/* The config entry of method in SPDK subsystem sub whose params.key is value (or the first). */
static json_t *fixture_entry(json_t *root, const char *sub, const char *method, int nth)
{
	size_t i, j;
	json_t *s, *e;

	json_array_foreach(json_object_get(root, "subsystems"), i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "subsystem")), sub) != 0)
			continue;
		json_array_foreach(json_object_get(s, "config"), j, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "method")), method) == 0 &&
			    nth-- == 0)
				return e;
		}
	}
	fail_msg("fixture has no %s in %s", method, sub);
	return NULL;
}

static bool log_contains(const struct tgt_proc *tp, const char *what)
{
	char buf[65536];
	FILE *f = fopen(tp->log_path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, what) != NULL;
}

/*
 * A config in the shape SPDK's save_config writes (hand-written fixture,
 * every SPDK section and default parameter) loads and gives the state it
 * describes; the listeners' port is moved to a free one.
 */
static void test_spdk_saved_config(void **state)
{
	struct tgt_proc tp;
	struct rpc_conn c;
	char cfg[128];
	const char *args[] = {"-c", cfg, "-L", "info", "-r", NULL, NULL};
	json_t *root = load_spdk_fixture(), *bdevs, *subs, *transports, *s, *b, *t;
	int rc;

	tgt_proc_prepare(&tp);
	args[5] = tp.rpc_sock;
	for (int i = 0; i < 2; i++) {
		json_t *la = json_object_get(
		    json_object_get(fixture_entry(root, "nvmf", "nvmf_subsystem_add_listener", i),
		                    "params"),
		    "listen_address");

		json_object_set_new(la, "trsvcid", json_string(tp.port));
	}
	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-rpc-spdk-%d.json", getpid());
	assert_int_equal(json_dump_file(root, cfg, JSON_INDENT(2)), 0);
	json_decref(root);
	rc = tgt_proc_exec(&tp, args, true);
	if (rc)
		tgt_proc_dump_log(&tp);
	assert_int_equal(rc, 0);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	json_decref(call_ok(&c, "framework_wait_init", NULL));

	bdevs = call_ok(&c, "bdev_get_bdevs", NULL);
	assert_int_equal(json_array_size(bdevs), 3);
	b = find_by(bdevs, "name", "Malloc0");
	assert_int_equal(json_integer_value(json_object_get(b, "num_blocks")), 131072);
	assert_int_equal(json_integer_value(json_object_get(b, "block_size")), 512);
	assert_string_equal(json_string_value(json_object_get(b, "uuid")),
	                    "3f1c2a9e-6b4d-4e71-9a58-0c2d7e8b1f40");
	b = find_by(bdevs, "name", "Malloc1");
	assert_int_equal(json_integer_value(json_object_get(b, "block_size")), 4096);
	b = find_by(bdevs, "name", "Null0");
	assert_string_equal(json_string_value(json_object_get(b, "product_name")), "Null disk");
	json_decref(bdevs);

	subs = call_ok(&c, "nvmf_get_subsystems", NULL);
	assert_int_equal(json_array_size(subs), 3); /* discovery + 2 */
	s = find_by(subs, "nqn", NQN1);
	assert_true(json_is_true(json_object_get(s, "allow_any_host")));
	assert_string_equal(json_string_value(json_object_get(s, "serial_number")),
	                    "SPDK00000000000001");
	assert_int_equal(json_array_size(json_object_get(s, "namespaces")), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(s, "namespaces"), 1), "bdev_name")),
	                    "Null0");
	assert_int_equal(json_array_size(json_object_get(s, "listen_addresses")), 1);
	s = find_by(subs, "nqn", NQN2);
	assert_false(json_is_true(json_object_get(s, "allow_any_host")));
	assert_int_equal(json_integer_value(json_object_get(s, "max_namespaces")), 16);
	assert_int_equal(json_array_size(json_object_get(s, "hosts")), 1);
	assert_int_equal(json_array_size(json_object_get(s, "namespaces")), 1);
	json_decref(subs);

	transports = call_ok(&c, "nvmf_get_transports", NULL);
	assert_int_equal(json_array_size(transports), 1);
	t = json_array_get(transports, 0);
	assert_int_equal(json_integer_value(json_object_get(t, "max_queue_depth")), 128);
	assert_int_equal(json_integer_value(json_object_get(t, "num_shared_buffers")), 511);
	/* SPDK's "automatic" buffer cache becomes ours, not a 4 G-entry cache. */
	assert_true(json_integer_value(json_object_get(t, "buf_cache_size")) <= (1 << 20));
	assert_int_equal(json_integer_value(json_object_get(t, "ack_timeout")), 0);
	json_decref(transports);

	/* Parameters with no effect are named once in the log, at info. */
	assert_true(log_contains(
	    &tp, "bdev_malloc_create: accepting SPDK parameter 'optimal_io_boundary' with no effect"));
	rpc_conn_close(&c);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);
	unlink(cfg);
}

/* The same fixture with one SPDK parameter set to something unvmf cannot honour. */
static void expect_fixture_refused(const char *sub, const char *method, int nth, const char *member,
                                   const char *key, json_t *value, const char *want)
{
	json_t *root = load_spdk_fixture();
	json_t *params = json_object_get(fixture_entry(root, sub, method, nth), "params");
	char *text, fmt[512];

	if (member)
		params = json_object_get(params, member);
	json_object_set_new(params, key, value);
	text = json_dumps(root, 0);
	snprintf(fmt, sizeof(fmt), "%%s: method %s: %s", method, want);
	expect_bad_config(text, fmt);
	free(text);
	json_decref(root);
}

static void test_spdk_config_unsupported_values(void **state)
{
	expect_fixture_refused("bdev", "bdev_malloc_create", 0, NULL, "md_size", json_integer(8),
	                       "invalid parameter 'md_size': 8 is not supported (metadata");
	expect_fixture_refused("bdev", "bdev_null_create", 0, NULL, "dif_type", json_integer(1),
	                       "invalid parameter 'dif_type'");
	expect_fixture_refused("nvmf", "nvmf_set_crdt", 0, NULL, "crdt1", json_integer(100),
	                       "invalid parameter 'crdt1'");
	expect_fixture_refused("nvmf", "nvmf_set_config", 0, NULL, "discovery_filter",
	                       json_string("transport"), "invalid parameter 'discovery_filter'");
	/* psk names a keyring key, and the fixture's keyring is empty. */
	expect_fixture_refused("nvmf", "nvmf_subsystem_add_host", 0, NULL, "psk",
	                       json_string("key0"), "cannot use psk 'key0'");
	expect_fixture_refused("nvmf", "nvmf_subsystem_add_ns", 0, "namespace", "no_auto_visible",
	                       json_true(), "invalid parameter 'namespace.no_auto_visible'");
	expect_fixture_refused("nvmf", "nvmf_create_transport", 0, NULL, "zcopy", json_true(),
	                       "invalid parameter 'zcopy': true is not supported");
	expect_fixture_refused("nvmf", "nvmf_create_subsystem", 0, NULL, "ana_reporting",
	                       json_true(), "ana_reporting is not supported");
	expect_fixture_refused("nvmf", "nvmf_create_subsystem", 1, NULL, "max_discard_size_kib",
	                       json_integer(64), "invalid parameter 'max_discard_size_kib'");
	/* A parameter SPDK never had is still refused. */
	expect_fixture_refused("bdev", "bdev_malloc_create", 0, NULL, "no_such_param",
	                       json_integer(1), "unknown parameter 'no_such_param'");
}

/*
 * The RPC server runs while a long config loads: until start-up completes a
 * client may only call the startup methods, framework_wait_init answers once
 * the whole config is in effect, and then everything is callable.
 */
#define LONG_CONFIG_BDEVS 3000

static void test_wait_init_during_long_config(void **state)
{
	struct tgt_proc tp;
	struct rpc_conn c;
	char cfg[128];
	const char *args[] = {"-c", cfg, "-r", NULL, NULL};
	json_t *root = json_object(), *sub = json_object(), *list = json_array(), *r, *resp;
	bool found_create = false;
	size_t i;
	json_t *m;

	for (int k = 0; k < LONG_CONFIG_BDEVS; k++) {
		char name[32];

		snprintf(name, sizeof(name), "N%d", k);
		json_array_append_new(list, json_pack("{s:s, s:{s:s, s:i, s:i}}", "method",
		                                      "bdev_null_create", "params", "name", name,
		                                      "num_blocks", 1024, "block_size", 512));
	}
	json_object_set_new(sub, "subsystem", json_string("bdev"));
	json_object_set_new(sub, "config", list);
	json_object_set_new(root, "subsystems", json_pack("[o]", sub));
	tgt_proc_prepare(&tp);
	args[3] = tp.rpc_sock;
	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-rpc-long-%d.json", getpid());
	assert_int_equal(json_dump_file(root, cfg, 0), 0);
	json_decref(root);
	/* Wait for the socket only: it exists before the config starts running. */
	assert_int_equal(tgt_proc_exec(&tp, args, false), 0);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);

	resp = rpc_call(
	    &c, "bdev_malloc_create",
	    json_pack("{s:s, s:i, s:i}", "name", "Late", "num_blocks", 8, "block_size", 512));
	assert_non_null(resp);
	if (rpc_resp_code(resp) == 0)
		fail_msg("bdev_malloc_create ran during start-up (or the config finished "
		         "before it: raise LONG_CONFIG_BDEVS)");
	assert_int_equal(rpc_resp_code(resp), -1);
	assert_non_null(strstr(rpc_resp_message(resp), "after start-up completed"));
	json_decref(resp);
	r = call_ok(&c, "rpc_get_methods", json_pack("{s:b}", "current", 1));
	json_array_foreach(r, i, m) found_create |=
	    strcmp(json_string_value(m), "bdev_malloc_create") == 0;
	assert_false(found_create);
	assert_true(json_array_size(r) >= 2);
	json_decref(r);

	r = call_ok(&c, "framework_wait_init", NULL);
	assert_true(json_is_true(r));
	json_decref(r);
	r = call_ok(&c, "bdev_get_bdevs", NULL);
	assert_int_equal(json_array_size(r), LONG_CONFIG_BDEVS);
	json_decref(r);
	json_decref(call_ok(
	    &c, "bdev_malloc_create",
	    json_pack("{s:s, s:i, s:i}", "name", "Late", "num_blocks", 8, "block_size", 512)));
	rpc_conn_close(&c);
	assert_int_equal(tgt_proc_stop(&tp, 30), 0);
	unlink(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_round_trip),
	    cmocka_unit_test(test_bad_config_files),
	    cmocka_unit_test(test_spdk_saved_config),
	    cmocka_unit_test(test_spdk_config_unsupported_values),
	    cmocka_unit_test(test_wait_init_during_long_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
