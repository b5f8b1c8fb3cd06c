/*
 * SPDK drop-in: the exact requests SPDK's rpc.py (v25.09 and master) sends
 * for 50 common command lines, replayed against a live unvmf-tgt, and a
 * real SPDK v25.09 save_config loaded with -c (fixtures/spdk, recorded
 * from SPDK itself). Every reply must be a result, or one of the refusals
 * listed below with the reason unvmf refuses it. With an SPDK checkout
 * (UNVMF_SPDK_DIR, else /var/tmp/spdk-ref/spdk: v25.09; UNVMF_SPDK_MASTER_DIR:
 * master), rpc.py itself, unchanged, sets up a target with a file-backed
 * namespace, a host writes to it, rpc.py saves the config, the target
 * restarts from that file and the host reads the data back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "util/common.h"

/*
 * The refusals the corpora must get: rpc.py's command line, what the error
 * message must contain (the parameter, or the reason), and why unvmf
 * refuses. Every other request must succeed.
 */
static const struct {
	const char *command;
	const char *message;
	const char *why;
} g_expected_refusals[] = {
    {"rpc.py nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192", "already exists",
     "a second TCP transport (SPDK refuses it too)"},
    {"rpc.py nvmf_create_transport -t RDMA -n 4096 -b 32", "RDMA",
     "a second RDMA transport, or none when the machine has no RDMA device"},
    {"rpc.py nvmf_create_transport -t RDMA -u 8192 -i 131072 -c 8192", "RDMA",
     "the machine has no RDMA device (CI) - accepted where there is one"},
    {"rpc.py nvmf_create_subsystem nqn.2016-06.io.spdk:cnode2", "ana_reporting",
     "unvmf has no ANA groups to report"},
    {"rpc.py nvmf_subsystem_add_listener nqn.2016-06.io.spdk:cnode1 -t rdma", "RDMA",
     "192.168.100.8 is not an address of this machine (and maybe no RDMA transport)"},
    {"rpc.py nvmf_subsystem_listener_set_ana_state", "ana_state",
     "only 'optimized' can be set: unvmf has no ANA groups"},
};

static char g_img[64];
static char g_port[2][16];

static const char *fixture_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("UNVMF_TEST_FIXTURES");

	snprintf(buf, len, "%s/spdk/%s", dir ? dir : "tests/e2e/fixtures", name);
	return buf;
}

static int make_image(char *path, size_t len, const char *tag)
{
	int fd;

	snprintf(path, len, "/tmp/unvmf-dropin-%s-%d.img", tag, getpid());
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, 64 << 20)) {
		close(fd);
		return -errno;
	}
	return close(fd);
}

/* Points the request at this machine: a scratch file for /dev/vdb, free ports for 4420/4421. */
static void request_localize(json_t *params)
{
	json_t *v = json_object_get(params, "filename");
	json_t *la = json_object_get(params, "listen_address");

	if (json_is_string(v) && strcmp(json_string_value(v), "/dev/vdb") == 0)
		json_object_set_new(params, "filename", json_string(g_img));
	v = json_object_get(la, "trsvcid");
	if (json_is_string(v) && strcmp(json_string_value(v), "4420") == 0)
		json_object_set_new(la, "trsvcid", json_string(g_port[0]));
	else if (json_is_string(v) && strcmp(json_string_value(v), "4421") == 0)
		json_object_set_new(la, "trsvcid", json_string(g_port[1]));
}

/* Starts a target with an empty config (what a fresh SPDK nvmf_tgt has), args "-c F -r S". */
static int empty_target(struct tgt_proc *tp, const char **args, char *cfg, size_t len)
{
	json_t *root = json_pack("{s:[]}", "subsystems");

	snprintf(cfg, len, "/tmp/unvmf-dropin-empty-%d.json", getpid());
	if (json_dump_file(root, cfg, 0))
		return -EIO;
	json_decref(root);
	args[3] = tp->rpc_sock;
	if (tgt_proc_exec(tp, args, false))
		return -1;
	for (int i = 0; i < 250 && access(tp->rpc_sock, F_OK); i++)
		usleep(20000);
	return access(tp->rpc_sock, F_OK);
}

static int expected_refusal(const char *command)
{
	for (size_t i = 0; i < sizeof(g_expected_refusals) / sizeof(g_expected_refusals[0]); i++) {
		if (strncmp(command, g_expected_refusals[i].command,
		            strlen(g_expected_refusals[i].command)) == 0)
			return (int)i;
	}
	return -1;
}

static void replay(const char *corpus)
{
	struct tgt_proc tp;
	struct rpc_conn c;
	char path[512], empty[128], *line = NULL;
	const char *args[] = {"-c", empty, "-r", NULL, NULL};
	size_t cap = 0;
	unsigned commands = 0, refused = 0;
	FILE *f;

	assert_int_equal(make_image(g_img, sizeof(g_img), "replay"), 0);
	snprintf(g_port[0], sizeof(g_port[0]), "%d", tgt_proc_free_port());
	snprintf(g_port[1], sizeof(g_port[1]), "%d", tgt_proc_free_port());
	tgt_proc_prepare(&tp);
	assert_int_equal(empty_target(&tp, args, empty, sizeof(empty)), 0);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	f = fopen(fixture_path(corpus, path, sizeof(path)), "r");
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_t *entry = json_loads(line, 0, NULL), *reqs, *r;
		const char *command = json_string_value(json_object_get(entry, "command"));
		int expect = expected_refusal(command);
		bool any_error = false;
		size_t i;

		assert_non_null(entry);
		reqs = json_object_get(entry, "requests");
		commands++;
		json_array_foreach(reqs, i, r)
		{
			const char *method = json_string_value(json_object_get(r, "method"));
			json_t *params = json_deep_copy(json_object_get(r, "params"));
			json_t *resp;

			if (params)
				request_localize(params);
			resp = rpc_call(&c, method, params);
			assert_non_null(resp);
			if (rpc_resp_code(resp)) {
				const char *msg = rpc_resp_message(resp);

				any_error = true;
				if (expect < 0 ||
				    !strstr(msg, g_expected_refusals[expect].message)) {
					fprintf(stderr, "%s: %s: unexpected error %d '%s'\n",
					        corpus, command, rpc_resp_code(resp), msg);
					fail();
				}
				printf("refused as expected: %s: %s (%s)\n", command, msg,
				       g_expected_refusals[expect].why);
			}
			json_decref(resp);
		}
		/* Where an RDMA device exists the RDMA refusals do not happen. */
		if (!any_error && expect >= 0 && !strstr(command, "RDMA") &&
		    !strstr(command, "rdma")) {
			fprintf(stderr, "%s: %s: accepted, expected a refusal (%s)\n", corpus,
			        command, g_expected_refusals[expect].why);
			fail();
		}
		refused += any_error;
		json_decref(entry);
	}
	free(line);
	fclose(f);
	printf("%s: %u command lines, %u refused as expected\n", corpus, commands, refused);
	rpc_conn_close(&c);
	/* The corpus ends with spdk_kill_instance SIGTERM: the target exits by itself, cleanly. */
	assert_int_equal(tgt_proc_stop_signal(&tp, 0, 20), 0);
	unlink(g_img);
}

static void test_replay_v25_09(void **state)
{
	replay("rpc.py-v25.09.requests.jsonl");
}

static void test_replay_master(void **state)
{
	replay("rpc.py-master-3230130e6a.requests.jsonl");
}

static json_t *config_entry(json_t *root, const char *subsystem, const char *method, int nth)
{
	json_t *sub, *e;
	size_t i, j;

	json_array_foreach(json_object_get(root, "subsystems"), i, sub)
	{
		if (strcmp(json_string_value(json_object_get(sub, "subsystem")), subsystem) != 0)
			continue;
		json_array_foreach(json_object_get(sub, "config"), j, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "method")), method) == 0 &&
			    nth-- == 0)
				return json_object_get(e, "params");
		}
	}
	return NULL;
}

/* Starts unvmf-tgt -c on root (listener ports moved to tp's); 0 or the exit status. */
static int start_with_config(struct tgt_proc *tp, json_t *root, const char *cfg)
{
	const char *args[] = {"-c", cfg, "-r", tp->rpc_sock, NULL};
	json_t *p;

	for (int i = 0; (p = config_entry(root, "nvmf", "nvmf_subsystem_add_listener", i)); i++)
		json_object_set_new(json_object_get(p, "listen_address"), "trsvcid",
		                    json_string(tp->port));
	if (json_dump_file(root, cfg, JSON_INDENT(2)))
		return -EIO;
	return tgt_proc_exec(tp, args, true);
}

/* The config rpc.py's save_config builds: framework_get_subsystems, then each one's config. */
static json_t *rpc_py_save_config(struct rpc_conn *c)
{
	json_t *subs = rpc_call(c, "framework_get_subsystems", NULL);
	json_t *out = json_pack("{s:[]}", "subsystems"), *s;
	size_t i;

	assert_int_equal(rpc_resp_code(subs), 0);
	json_array_foreach(json_object_get(subs, "result"), i, s)
	{
		const char *name = json_string_value(json_object_get(s, "subsystem"));
		json_t *cfg = rpc_call(c, "framework_get_config",
		                       json_pack("{s:s, s:b}", "name", name, "with_batches", 0));

		assert_int_equal(rpc_resp_code(cfg), 0);
		json_array_append_new(json_object_get(out, "subsystems"),
		                      json_pack("{s:s, s:O}", "subsystem", name, "config",
		                                json_object_get(cfg, "result")));
		json_decref(cfg);
	}
	json_decref(subs);
	return out;
}

static void check_fixture_state(struct rpc_conn *c)
{
	json_t *r = rpc_call(c, "bdev_get_bdevs", NULL), *subs, *l;

	assert_int_equal(json_array_size(json_object_get(r, "result")), 3);
	json_decref(r);
	r = rpc_call(c, "nvmf_get_subsystems", NULL);
	subs = json_object_get(r, "result");
	assert_int_equal(json_array_size(subs), 3); /* discovery, cnode1, cnode2 */
	json_decref(r);
	r = rpc_call(c, "nvmf_subsystem_get_listeners",
	             json_pack("{s:s}", "nqn", "nqn.2016-06.io.spdk:cnode1"));
	l = json_object_get(r, "result");
	assert_int_equal(json_array_size(l), 1);
	json_decref(r);
	r = rpc_call(c, "nvmf_discovery_get_referrals", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 1);
	json_decref(r);
}

/*
 * SPDK v25.09's own save_config (every section: keyring, iobuf, sock, vmd,
 * accel, bdev, nbd, scheduler, nvmf) loads; what rpc.py's save_config then
 * builds from unvmf loads again.
 */
static void test_spdk_save_config_v25_09(void **state)
{
	struct tgt_proc tp;
	struct rpc_conn c;
	char path[512], cfg[128], img[64];
	json_t *root, *p, *saved;

	assert_int_equal(make_image(img, sizeof(img), "aio"), 0);
	root = json_load_file(fixture_path("save_config-v25.09.json", path, sizeof(path)), 0, NULL);
	assert_non_null(root);
	p = config_entry(root, "bdev", "bdev_aio_create", 0);
	assert_string_equal(json_string_value(json_object_get(p, "filename")), "/var/tmp/aio0.img");
	json_object_set_new(p, "filename", json_string(img));
	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-dropin-%d.json", getpid());

	tgt_proc_prepare(&tp);
	if (start_with_config(&tp, root, cfg)) {
		tgt_proc_dump_log(&tp);
		fail();
	}
	json_decref(root);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	json_decref(rpc_call(&c, "framework_wait_init", NULL));
	check_fixture_state(&c);
	saved = rpc_py_save_config(&c);
	rpc_conn_close(&c);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);

	tgt_proc_prepare(&tp);
	assert_int_equal(start_with_config(&tp, saved, cfg), 0);
	json_decref(saved);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	json_decref(rpc_call(&c, "framework_wait_init", NULL));
	check_fixture_state(&c);
	rpc_conn_close(&c);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);
	unlink(cfg);
	unlink(img);
}

/* Runs SPDK's rpc.py against sock; its exit status. */
static int rpc_py(const char *spdk, const char *sock, const char *cmdline)
{
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), "PYTHONPATH=%s/python python3 %s/scripts/rpc.py -s %s %s", spdk,
	         spdk, sock, cmdline);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "failed (%d): %s\n", rc, cmd);
	return rc;
}

#define RT_HOST "nqn.2014-08.org.nvmexpress:uuid:5b1ab1e0-7c3a-4d6e-9f10-2a4b6c8d0e12"
#define RT_BLOCKS 16

/* Connects as RT_HOST to cnode1 on tp and writes (or reads and compares) nsid 2, the aio one. */
static void aio_namespace_io(const struct tgt_proc *tp, bool write)
{
	static uint8_t data[RT_BLOCKS * 512], back[RT_BLOCKS * 512];
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 512);
	tgt_proc_trid(tp, "nqn.2016-06.io.spdk:cnode1", &trid);
	unvmf_host_opts_init(&opts);
	unvmf_strlcpy(opts.hostnqn, RT_HOST, sizeof(opts.hostnqn));
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	if (write)
		assert_int_equal(e2e_write(qp, 2, 8, RT_BLOCKS, data, sizeof(data)), 0);
	assert_int_equal(e2e_read(qp, 2, 8, RT_BLOCKS, back, sizeof(back)), 0);
	assert_memory_equal(back, data, sizeof(data));
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

/* The file itself holds what the host wrote (LBA 8 on, 512-byte blocks). */
static void aio_file_check(const char *img)
{
	static uint8_t back[RT_BLOCKS * 512];
	int fd = open(img, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 8 * 512), (ssize_t)sizeof(back));
	close(fd);
	for (size_t i = 0; i < sizeof(back); i++)
		assert_int_equal(back[i], (uint8_t)(i * 7 + i / 512));
}

/*
 * rpc.py itself from the SPDK tree spdk: a full setup, a host writes to the
 * file-backed namespace, rpc.py's save_config, a restart from that file and
 * the host reads the data back. allow_any_host is that release's spelling of
 * nvmf_subsystem_allow_any_host's enable flag.
 */
static void rpc_py_round_trip(const char *spdk, const char *allow_any_host)
{
	struct tgt_proc tp;
	char cmd[1024], saved[128], img[64], empty[128];
	const char *args[] = {"-c", empty, "-r", NULL, NULL};
	json_t *root;
	struct rpc_conn c;

	assert_int_equal(make_image(img, sizeof(img), "rpcpy"), 0);
	snprintf(saved, sizeof(saved), "/tmp/unvmf-dropin-rpcpy-%d.json", getpid());
	tgt_proc_prepare(&tp);
	assert_int_equal(empty_target(&tp, args, empty, sizeof(empty)), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, "framework_wait_init"), 0);
	assert_int_equal(
	    rpc_py(spdk, tp.rpc_sock, "nvmf_create_transport -t TCP -u 16384 -m 8 -c 8192"), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, "bdev_malloc_create -b Malloc0 64 512"), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, "bdev_null_create Null0 128 4096"), 0);
	snprintf(cmd, sizeof(cmd), "bdev_aio_create %s Aio0 512", img);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, cmd), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock,
	                        "nvmf_create_subsystem nqn.2016-06.io.spdk:cnode1 -s "
	                        "SPDK00000000000001 -d SPDK_Controller1"),
	                 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock,
	                        "nvmf_subsystem_add_host nqn.2016-06.io.spdk:cnode1 " RT_HOST),
	                 0);
	assert_int_equal(
	    rpc_py(spdk, tp.rpc_sock, "nvmf_subsystem_add_ns nqn.2016-06.io.spdk:cnode1 Malloc0"),
	    0);
	assert_int_equal(
	    rpc_py(spdk, tp.rpc_sock, "nvmf_subsystem_add_ns nqn.2016-06.io.spdk:cnode1 Aio0"), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock,
	                        "nvmf_subsystem_add_ns nqn.2016-06.io.spdk:cnode1 Null0 -n 5"),
	                 0);
	snprintf(cmd, sizeof(cmd),
	         "nvmf_subsystem_add_listener nqn.2016-06.io.spdk:cnode1 -t tcp -a 127.0.0.1 -s %s",
	         tp.port);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, cmd), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock,
	                        "nvmf_create_subsystem nqn.2016-06.io.spdk:cnode2 -s "
	                        "SPDK00000000000002"),
	                 0);
	snprintf(cmd, sizeof(cmd), "nvmf_subsystem_allow_any_host %s nqn.2016-06.io.spdk:cnode2",
	         allow_any_host);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, cmd), 0);
	assert_int_equal(
	    rpc_py(spdk, tp.rpc_sock, "nvmf_discovery_add_referral -t tcp -a 127.0.0.2 -s 4420"),
	    0);
	assert_int_equal(
	    rpc_py(spdk, tp.rpc_sock,
	           "nvmf_subsystem_get_listeners nqn.2016-06.io.spdk:cnode1 >/dev/null"),
	    0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, "bdev_get_iostat >/dev/null"), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, "log_set_print_level NOTICE"), 0);
	aio_namespace_io(&tp, true);
	snprintf(cmd, sizeof(cmd), "save_config > %s", saved);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, cmd), 0);
	assert_int_equal(rpc_py(spdk, tp.rpc_sock, "spdk_kill_instance SIGTERM"), 0);
	assert_int_equal(tgt_proc_stop_signal(&tp, 0, 20), 0);
	aio_file_check(img);

	tgt_proc_prepare(&tp);
	root = json_load_file(saved, 0, NULL);
	assert_non_null(root);
	/* Saved as rpc.py created it, so that SPDK's nvmf_tgt (no io_uring bdev) loads it too. */
	assert_non_null(config_entry(root, "bdev", "bdev_aio_create", 0));
	assert_null(config_entry(root, "bdev", "bdev_uring_create", 0));
	assert_int_equal(start_with_config(&tp, root, saved), 0);
	json_decref(root);
	assert_int_equal(rpc_conn_open(&c, tp.rpc_sock), 0);
	json_decref(rpc_call(&c, "framework_wait_init", NULL));
	check_fixture_state(&c);
	rpc_conn_close(&c);
	aio_namespace_io(&tp, false);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);
	unlink(saved);
	unlink(img);
}

/* An SPDK tree with scripts/rpc.py and python/, from env (or a default), or NULL. */
static const char *rpc_py_tree(const char *env, const char *dflt)
{
	const char *dir = getenv(env) ?: dflt;
	static char path[2][600];
	static int turn;
	char *p = path[turn++ % 2];

	if (!dir)
		return NULL;
	snprintf(p, sizeof(path[0]), "%s/scripts/rpc.py", dir);
	if (access(p, R_OK))
		return NULL;
	snprintf(p, sizeof(path[0]), "%s", dir);
	return p;
}

static void test_rpc_py_v25_09_round_trip(void **state)
{
	const char *spdk = rpc_py_tree("UNVMF_SPDK_DIR", "/var/tmp/spdk-ref/spdk");

	if (!spdk) {
		printf("skipped: set UNVMF_SPDK_DIR to an SPDK v25.09 tree (scripts/rpc.py and "
		       "python/) to run SPDK's rpc.py against unvmf\n");
		skip();
	}
	rpc_py_round_trip(spdk, "-e");
}

static void test_rpc_py_master_round_trip(void **state)
{
	const char *spdk = rpc_py_tree("UNVMF_SPDK_MASTER_DIR", NULL);

	if (!spdk) {
		printf("skipped: set UNVMF_SPDK_MASTER_DIR to an SPDK master tree (scripts/rpc.py "
		       "and python/) to run master's rpc.py against unvmf\n");
		skip();
	}
	rpc_py_round_trip(spdk, "--allow-any-host");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_v25_09),
	    cmocka_unit_test(test_replay_master),
	    cmocka_unit_test(test_spdk_save_config_v25_09),
	    cmocka_unit_test(test_rpc_py_v25_09_round_trip),
	    cmocka_unit_test(test_rpc_py_master_round_trip),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
