/*
 * unvmf-rpc takes rpc.py's command lines: each of the 50 command lines of the
 * rpc.py corpora (fixtures/spdk: SPDK v25.09 and master, with the exact
 * requests rpc.py sent for them) runs as "unvmf-rpc -s SOCK ARGS" against a
 * small recording JSON-RPC server on a UNIX socket in this process, and the
 * requests unvmf-rpc sends are compared with rpc.py's by the rule below.
 * Methods unvmf does not have are refused by unvmf-rpc, naming the method.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The rule. For one command line, rpc.py sent requests P[] and unvmf-rpc
 * sent U[]:
 *  1. same number of requests, same methods, same order (rpc.py's
 *     client-side save_config included: framework_get_subsystems, then
 *     framework_get_config per subsystem);
 *  2. every parameter U sends (members of nested objects one by one) is in
 *     P with an equal value (same JSON type too);
 *  3. every parameter P sends that U leaves out has a value that means to
 *     unvmf-tgt what its absence means: one of the (name, value) pairs
 *     below. rpc.py sends these argparse defaults whatever the command line
 *     says; anything the command line asked for (a flag, an option, a
 *     positional argument) is not in this list and so must be sent.
 */
static const struct {
	const char *param; /* last component of the (dotted) name */
	const char *value; /* JSON */
	const char *why;
} g_absent_means[] = {
    {"c2h_success", "true", "transports send C2H success by default"},
    {"zcopy", "false", "no zero copy is the default"},
    {"dif_insert_or_strip", "false", "no DIF insert/strip is the default"},
    {"no_srq", "false", "RDMA uses an SRQ by default"},
    {"no_wr_batching", "false", "RDMA batches work requests by default"},
    {"disable_mappable_bar0", "false", "vfio-user default (not a transport unvmf has)"},
    {"disable_adaptive_irq", "false", "vfio-user default (not a transport unvmf has)"},
    {"disable_shadow_doorbells", "false", "vfio-user default (not a transport unvmf has)"},
    {"disable_command_passthru", "false", "no passthru is the default"},
    {"md_interleave", "false", "no metadata is the default"},
    {"dif_is_head_of_md", "false", "no protection information is the default"},
    {"readonly", "false", "file bdevs are writable by default"},
    {"fallocate", "false", "no preallocation is the default"},
    {"nowait", "false", "no effect on unvmf's io_uring bdevs"},
    {"allow_any_host", "false", "a new subsystem allows only its host list"},
    {"ana_reporting", "false", "no ANA reporting is the default"},
    {"enable_nssr", "false", "no NVM subsystem reset is the default"},
    {"passthrough", "false", "no passthrough is the default"},
    {"hide_metadata", "false", "no metadata is the default"},
    {"no_auto_visible", "false", "namespaces are visible to every host by default"},
    {"secure_channel", "false", "plain TCP is the default"},
    {"current", "false", "rpc_get_methods lists every method by default"},
    {"include_aliases", "false", "aliases are not listed by default"},
    {"per_channel", "false", "bdev_get_iostat sums the channels by default"},
    {"with_batches", "false", "one call per object is the default"},
};

struct recorder {
	char path[108];
	int listen_fd;
	pthread_t thread;
	pthread_mutex_t lock;
	json_t *requests; /* every request received since the last take */
};

static struct recorder g_rec;
static char g_bindir[512];

/* What the recording server answers: enough for rpc.py's client-side save_config. */
static json_t *recorder_result(const char *method)
{
	if (method && strcmp(method, "framework_get_subsystems") == 0)
		return json_pack("[{s:s, s:[]}, {s:s, s:[s]}]", "subsystem", "bdev", "depends_on",
		                 "subsystem", "nvmf", "depends_on", "bdev");
	if (method && strcmp(method, "framework_get_config") == 0)
		return json_array();
	return json_true();
}

static void recorder_serve(int fd)
{
	char *buf = malloc(1 << 20);
	size_t len = 0;

	while (buf) {
		ssize_t n = recv(fd, buf + len, (1 << 20) - len, 0);
		json_error_t jerr;
		json_t *req;

		if (n <= 0)
			break;
		len += (size_t)n;
		while (len && (req = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr)) != NULL) {
			size_t used = (size_t)jerr.position;
			json_t *reply = json_pack(
			    "{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", json_object_get(req, "id"),
			    "result",
			    recorder_result(json_string_value(json_object_get(req, "method"))));
			char *text = json_dumps(reply, JSON_COMPACT);

			pthread_mutex_lock(&g_rec.lock);
			json_array_append_new(g_rec.requests, req);
			pthread_mutex_unlock(&g_rec.lock);
			if (text && send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
				len = 0;
			free(text);
			json_decref(reply);
			memmove(buf, buf + used, len - used);
			len -= used;
			while (len && (buf[0] == '\n' || buf[0] == ' '))
				memmove(buf, buf + 1, --len);
		}
	}
	free(buf);
	close(fd);
}

static void *recorder_main(void *arg)
{
	for (;;) {
		int fd = accept(g_rec.listen_fd, NULL, NULL);

		if (fd < 0)
			return NULL; /* the listen socket was shut down */
		recorder_serve(fd);
	}
	return arg;
}

static int recorder_start(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(g_rec.path, sizeof(g_rec.path), "/tmp/unvmf-rpcpy-rec-%d.sock", getpid());
	unlink(g_rec.path);
	strcpy(sa.sun_path, g_rec.path);
	g_rec.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g_rec.listen_fd < 0 || bind(g_rec.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(g_rec.listen_fd, 16))
		return -errno;
	pthread_mutex_init(&g_rec.lock, NULL);
	g_rec.requests = json_array();
	return pthread_create(&g_rec.thread, NULL, recorder_main, NULL) ? -1 : 0;
}

static void recorder_stop(void)
{
	shutdown(g_rec.listen_fd, SHUT_RDWR);
	pthread_join(g_rec.thread, NULL);
	close(g_rec.listen_fd);
	unlink(g_rec.path);
	json_decref(g_rec.requests);
}

/* The requests recorded since the last call. */
static json_t *recorder_take(void)
{
	json_t *r;

	pthread_mutex_lock(&g_rec.lock);
	r = g_rec.requests;
	g_rec.requests = json_array();
	pthread_mutex_unlock(&g_rec.lock);
	return r;
}

/* Runs unvmf-rpc with args (a shell word list); its exit status, output in out. */
static int unvmf_rpc(char *out, size_t outlen, const char *args)
{
	char cmd[4096];
	size_t n;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s/unvmf-rpc -s %s %s 2>&1", g_bindir, g_rec.path, args);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static bool absent_means_same(const char *name, const json_t *v)
{
	const char *last = strrchr(name, '.');

	last = last ? last + 1 : name;
	for (size_t i = 0; i < sizeof(g_absent_means) / sizeof(g_absent_means[0]); i++) {
		json_t *want = json_loads(g_absent_means[i].value, JSON_DECODE_ANY, NULL);
		bool same = strcmp(g_absent_means[i].param, last) == 0 && json_equal(want, v);

		json_decref(want);
		if (same)
			return true;
	}
	return false;
}

/* Rules 2 and 3 on one pair of params objects; prints each violation; the number found. */
static int params_compare(const char *cmd, const char *prefix, json_t *py, json_t *u)
{
	const char *key;
	json_t *v;
	int bad = 0;

	json_object_foreach(u, key, v)
	{
		json_t *pv = json_object_get(py, key);
		char name[256];

		snprintf(name, sizeof(name), "%s%s", prefix, key);
		if (json_is_object(v) && json_is_object(pv)) {
			char sub[300];

			snprintf(sub, sizeof(sub), "%s.", name);
			bad += params_compare(cmd, sub, pv, v);
		} else if (!pv || !json_equal(pv, v)) {
			char *a = json_dumps(v, JSON_ENCODE_ANY),
			     *b = json_dumps(pv, JSON_ENCODE_ANY);

			fprintf(stderr, "%s: unvmf-rpc sends %s=%s, rpc.py %s\n", cmd, name, a,
			        pv ? b : "does not send it");
			free(a);
			free(b);
			bad++;
		}
	}
	json_object_foreach(py, key, v)
	{
		char name[256];

		snprintf(name, sizeof(name), "%s%s", prefix, key);
		if (json_object_get(u, key))
			continue;
		if (json_is_object(v)) {
			char sub[300];
			json_t *empty = json_object();

			snprintf(sub, sizeof(sub), "%s.", name);
			bad += params_compare(cmd, sub, v, empty);
			json_decref(empty);
		} else if (!absent_means_same(name, v)) {
			char *a = json_dumps(v, JSON_ENCODE_ANY);

			fprintf(stderr, "%s: rpc.py sends %s=%s, unvmf-rpc leaves it out\n", cmd,
			        name, a);
			free(a);
			bad++;
		}
	}
	return bad;
}

static int requests_compare(const char *cmd, json_t *py, json_t *u)
{
	json_t *p, *empty = json_object();
	size_t i;
	int bad = 0;

	if (json_array_size(py) != json_array_size(u)) {
		fprintf(stderr, "%s: rpc.py sent %zu requests, unvmf-rpc %zu\n", cmd,
		        json_array_size(py), json_array_size(u));
		json_decref(empty);
		return 1;
	}
	json_array_foreach(py, i, p)
	{
		json_t *q = json_array_get(u, i);
		const char *pm = json_string_value(json_object_get(p, "method"));
		const char *um = json_string_value(json_object_get(q, "method"));
		json_t *pp = json_object_get(p, "params"), *up = json_object_get(q, "params");

		if (!pm || !um || strcmp(pm, um) != 0) {
			fprintf(stderr, "%s: rpc.py calls %s, unvmf-rpc %s\n", cmd, pm, um);
			bad++;
			continue;
		}
		bad += params_compare(cmd, "", pp ? pp : empty, up ? up : empty);
	}
	json_decref(empty);
	return bad;
}

static const char *fixture_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("UNVMF_TEST_FIXTURES");

	snprintf(buf, len, "%s/spdk/%s", dir ? dir : "tests/e2e/fixtures", name);
	return buf;
}

static void replay_corpus(const char *corpus)
{
	char path[512], out[65536], *line = NULL;
	size_t cap = 0;
	unsigned commands = 0;
	int bad = 0;
	FILE *f = fopen(fixture_path(corpus, path, sizeof(path)), "r");

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_t *entry = json_loads(line, 0, NULL), *sent;
		const char *command = json_string_value(json_object_get(entry, "command"));
		int rc;

		assert_non_null(command);
		assert_int_equal(strncmp(command, "rpc.py ", 7), 0);
		json_decref(recorder_take());
		rc = unvmf_rpc(out, sizeof(out), command + 7);
		if (rc != 0) {
			fprintf(stderr, "%s: unvmf-rpc exit %d: %s\n", command, rc, out);
			bad++;
		}
		sent = recorder_take();
		bad += requests_compare(command, json_object_get(entry, "requests"), sent);
		json_decref(sent);
		json_decref(entry);
		commands++;
	}
	free(line);
	fclose(f);
	printf("%s: %u command lines, %d differences\n", corpus, commands, bad);
	assert_true(commands >= 50);
	assert_int_equal(bad, 0);
}

static void test_rpcpy_v25_09_command_lines(void **state)
{
	replay_corpus("rpc.py-v25.09.requests.jsonl");
}

static void test_rpcpy_master_command_lines(void **state)
{
	replay_corpus("rpc.py-master-3230130e6a.requests.jsonl");
}

/* The rule itself: a dropped flag, a changed value or an extra parameter is caught. */
static void test_rule_catches_differences(void **state)
{
	json_t *py = json_loads("[{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": "
	                        "\"n\", \"allow_any_host\": true, \"ana_reporting\": false}}]",
	                        0, NULL);
	json_t *same = json_loads("[{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": "
	                          "\"n\", \"allow_any_host\": true}}]",
	                          0, NULL);
	json_t *dropped = json_loads(
	    "[{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"n\"}}]", 0, NULL);
	json_t *changed = json_loads("[{\"method\": \"nvmf_create_subsystem\", \"params\": "
	                             "{\"nqn\": \"n\", \"allow_any_host\": \"true\"}}]",
	                             0, NULL);
	json_t *extra = json_loads("[{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": "
	                           "\"n\", \"allow_any_host\": true, \"max_namespaces\": 8}}]",
	                           0, NULL);

	assert_int_equal(requests_compare("same", py, same), 0);
	assert_int_equal(requests_compare("dropped flag", py, dropped), 1);
	assert_int_equal(requests_compare("string for bool", py, changed), 1);
	assert_int_equal(requests_compare("extra parameter", py, extra), 1);
	json_decref(py);
	json_decref(same);
	json_decref(dropped);
	json_decref(changed);
	json_decref(extra);
}

/* rpc.py's other spellings and argparse forms mean the same to unvmf-rpc. */
static void test_argparse_forms(void **state)
{
	static const struct {
		const char *args;
		const char *params; /* what must be sent */
	} cases[] = {
	    {"nvmf_create_transport --trtype=TCP --max-queue-depth 64 -c4096",
	     "{\"trtype\": \"TCP\", \"max_queue_depth\": 64, \"in_capsule_data_size\": 4096}"},
	    {"nvmf_create_transport -t TCP --max_queue_depth 32 --in-capsule 8192",
	     "{\"trtype\": \"TCP\", \"max_queue_depth\": 32, \"in_capsule_data_size\": 8192}"},
	    {"nvmf_create_subsystem -as SN1 nqn.x --min-cntlid 5 --max_cntlid 9",
	     "{\"nqn\": \"nqn.x\", \"allow_any_host\": true, \"serial_number\": \"SN1\", "
	     "\"min_cntlid\": 5, \"max_cntlid\": 9}"},
	    {"nvmf_subsystem_allow_any_host nqn.x",
	     "{\"nqn\": \"nqn.x\", \"allow_any_host\": true}"}, /* v25.09: no flag = enable */
	    {"nvmf_subsystem_allow_any_host --no-allow-any-host nqn.x",
	     "{\"nqn\": \"nqn.x\", \"allow_any_host\": false}"},
	    {"bdev_malloc_create 0.5 4096 -b M1",
	     "{\"name\": \"M1\", \"num_blocks\": 128, \"block_size\": 4096}"},
	    {"nvmf_subsystem_add_listener nqn.x -t tcp -a 127.0.0.1 -s 4420 -- ",
	     "{\"nqn\": \"nqn.x\", \"listen_address\": {\"trtype\": \"tcp\", \"traddr\": "
	     "\"127.0.0.1\", \"trsvcid\": \"4420\"}}"},
	    {"nvmf_set_crdt -t1 10 -t2 20", "{\"crdt1\": 10, \"crdt2\": 20}"},
	    {"bdev_get_bdevs --name 42 --timeout-ms 5", "{\"name\": \"42\", \"timeout\": 5}"},
	    {"nvmf_get_subsystems --nqn nqn.y", "{\"nqn\": \"nqn.y\"}"}, /* --NAME VALUE */
	};
	char out[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *sent, *want = json_loads(cases[i].params, 0, NULL), *got;

		assert_non_null(want);
		json_decref(recorder_take());
		if (unvmf_rpc(out, sizeof(out), cases[i].args) != 0)
			fail_msg("unvmf-rpc %s: %s", cases[i].args, out);
		sent = recorder_take();
		assert_int_equal(json_array_size(sent), 1);
		got = json_object_get(json_array_get(sent, 0), "params");
		if (!json_equal(got, want)) {
			char *s = json_dumps(got, 0);

			fail_msg("unvmf-rpc %s: sent %s, want %s", cases[i].args, s,
			         cases[i].params);
		}
		json_decref(sent);
		json_decref(want);
	}
	/* Usage errors, nothing sent: a missing required argument, a bad integer, an unknown flag.
	 */
	static const char *const bad[] = {
	    "nvmf_create_transport -q 64",          "bdev_malloc_create -b M2 64",
	    "nvmf_create_subsystem nqn.x -m many",  "nvmf_subsystem_add_ns nqn.x Malloc0 -Z",
	    "nvmf_create_transport -t TCP --max 4", /* ambiguous prefix */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *sent;

		json_decref(recorder_take());
		assert_int_equal(unvmf_rpc(out, sizeof(out), bad[i]), 2);
		sent = recorder_take();
		assert_int_equal(json_array_size(sent), 0);
		json_decref(sent);
	}
}

/* rpc.py prints some results, and scripts capture them: same output. */
static void test_output_as_rpcpy(void **state)
{
	char out[4096];

	assert_int_equal(unvmf_rpc(out, sizeof(out), "nvmf_create_subsystem nqn.x"), 0);
	assert_string_equal(out, ""); /* rpc.py prints nothing */
	assert_int_equal(unvmf_rpc(out, sizeof(out), "bdev_get_bdevs"), 0);
	assert_string_equal(out, "true\n");
	assert_int_equal(unvmf_rpc(out, sizeof(out), "--dry-run nvmf_get_subsystems nqn.z"), 0);
	assert_non_null(strstr(out, "\"nqn\": \"nqn.z\""));
}

/* A method unvmf does not have is refused by name before anything is sent. */
static void test_method_unvmf_lacks(void **state)
{
	char out[4096];
	json_t *sent;

	json_decref(recorder_take());
	assert_int_equal(unvmf_rpc(out, sizeof(out), "bdev_lvol_create_lvstore Malloc0 lvs0"), 2);
	assert_non_null(strstr(out, "bdev_lvol_create_lvstore"));
	assert_non_null(strstr(out, "not a method unvmf has"));
	assert_int_equal(unvmf_rpc(out, sizeof(out), "bdev_nvme_attach_controller -b N -t tcp"), 2);
	assert_non_null(strstr(out, "bdev_nvme_attach_controller"));
	sent = recorder_take();
	assert_int_equal(json_array_size(sent), 0);
	json_decref(sent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_catches_differences),
	    cmocka_unit_test(test_rpcpy_v25_09_command_lines),
	    cmocka_unit_test(test_rpcpy_master_command_lines),
	    cmocka_unit_test(test_argparse_forms),
	    cmocka_unit_test(test_output_as_rpcpy),
	    cmocka_unit_test(test_method_unvmf_lacks),
	};
	int rc;

	snprintf(g_bindir, sizeof(g_bindir), "%s", getenv("UNVMF_BIN_DIR") ?: "build/bin");
	if (recorder_start()) {
		fprintf(stderr, "cannot start the recording server\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	recorder_stop();
	return rc;
}
