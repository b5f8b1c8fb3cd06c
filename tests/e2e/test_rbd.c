/*
 * The Ceph RBD backend against a real single-node cluster
 * (tests/ceph/ceph-cluster.sh, Debian's ceph packages): a cluster registered
 * by RPC, an image as a namespace, host writes found byte for byte in the
 * image by Ceph's own `rbd export`, bytes put in by `rbd import` read back
 * by the host, a live resize seen by the host, save_config naming the
 * cluster before its bdev, and the refusals (a cluster in use, a pool or
 * image that does not exist). Skipped, saying so, where the ceph packages
 * are not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define NQN "nqn.2024-11.io.unvmf:default"
#define NSID 7
#define BS 4096

static struct tgt_proc g_tp;
static struct rpc_conn g_c;
static char g_dir[256], g_conf[300], g_script[512];
static bool g_have_ceph;

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static json_t *call(const char *method, json_t *params, int want_code)
{
	json_t *resp = rpc_call(&g_c, method, params);

	assert_non_null(resp);
	if (rpc_resp_code(resp) != want_code)
		fail_msg("%s: code %d (%s), wanted %d", method, rpc_resp_code(resp),
		         rpc_resp_message(resp) ? rpc_resp_message(resp) : "", want_code);
	return resp;
}

static void ok(const char *method, json_t *params)
{
	json_decref(call(method, params, 0));
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static void connect_ns(struct unvmf_host_ctrlr **ctrlr, struct unvmf_host_qpair **qp)
{
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;

	tgt_proc_trid(&g_tp, NQN, &trid);
	unvmf_host_opts_init(&opts);
	assert_int_equal(unvmf_host_connect(&trid, &opts, ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(*ctrlr, 16, qp, NULL), 0);
}

/* Host writes land in the image; image bytes reach the host. */
static void test_rbd_data_both_ways(void **state)
{
	static uint8_t w[64 * 1024], r[64 * 1024], img[64 * 1024];
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	char path[400];
	FILE *f;

	if (!g_have_ceph)
		skip();
	connect_ns(&ctrlr, &qp);
	fill(w, sizeof(w), 1);
	/* 16 blocks at block 100, as one multi-object write. */
	assert_int_equal(e2e_write(qp, NSID, 100, 16, w, sizeof(w)), 0);
	assert_int_equal(e2e_read(qp, NSID, 100, 16, r, sizeof(r)), 0);
	assert_memory_equal(w, r, sizeof(w));
	/* Flushed through librbd: Ceph's own export holds the bytes. */
	snprintf(path, sizeof(path), "%s/export.img", g_dir);
	assert_int_equal(sh("timeout 120 rbd -c %s export rbd/img0 %s >/dev/null 2>&1", g_conf,
	                    path),
	                 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 100L * BS, SEEK_SET), 0);
	assert_int_equal(fread(img, 1, sizeof(img), f), sizeof(img));
	fclose(f);
	assert_memory_equal(w, img, sizeof(img));

	/* The other way: a second image filled by `rbd import`, read by the host. */
	fill(img, sizeof(img), 9);
	snprintf(path, sizeof(path), "%s/import.img", g_dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < 16; i++) /* 1 MiB: the pattern at every 64 KiB */
		assert_int_equal(fwrite(img, 1, sizeof(img), f), sizeof(img));
	fclose(f);
	assert_int_equal(sh("timeout 120 rbd -c %s import %s rbd/img1 >/dev/null 2>&1", g_conf,
	                    path),
	                 0);
	ok("bdev_rbd_create", json_pack("{s:s, s:s, s:s, s:i, s:s}", "name", "rbd1", "pool_name",
	                                "rbd", "rbd_name", "img1", "block_size", BS,
	                                "cluster_name", "c1"));
	ok("nvmf_subsystem_add_ns", json_pack("{s:s, s:{s:s, s:i}}", "nqn", NQN, "namespace",
	                                      "bdev_name", "rbd1", "nsid", NSID + 1));
	memset(r, 0, sizeof(r));
	assert_int_equal(e2e_read(qp, NSID + 1, 48, 16, r, sizeof(r)), 0);
	assert_memory_equal(img, r, sizeof(r));
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	ok("nvmf_subsystem_remove_ns", json_pack("{s:s, s:i}", "nqn", NQN, "nsid", NSID + 1));
	ok("bdev_rbd_delete", json_pack("{s:s}", "name", "rbd1"));
}

static void test_rbd_resize(void **state)
{
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	struct nvme_id_ns ns;
	json_t *resp;

	if (!g_have_ceph)
		skip();
	connect_ns(&ctrlr, &qp);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, NSID, &ns), 0);
	assert_int_equal(ns.nsze, 64ull * 1024 * 1024 / BS);
	/* Shrinking is refused, naming the parameter. */
	resp = call("bdev_rbd_resize", json_pack("{s:s, s:i}", "name", "rbd0", "new_size", 32),
	            -32602);
	assert_non_null(strstr(rpc_resp_message(resp), "new_size"));
	json_decref(resp);
	ok("bdev_rbd_resize", json_pack("{s:s, s:i}", "name", "rbd0", "new_size", 96));
	assert_int_equal(sh("timeout 60 rbd -c %s info rbd/img0 | grep -q 'size 96 MiB'", g_conf),
	                 0);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, NSID, &ns), 0);
	assert_int_equal(ns.nsze, 96ull * 1024 * 1024 / BS);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

static void test_rbd_config_and_refusals(void **state)
{
	json_t *resp, *bdevs, *c;
	size_t i;
	int cluster_at = -1, bdev_at = -1;

	if (!g_have_ceph)
		skip();
	resp = call("save_config", NULL, 0);
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "subsystems"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "subsystem")), "bdev") == 0)
			bdevs = json_object_get(c, "config");
	}
	json_array_foreach(bdevs, i, c)
	{
		const char *m = json_string_value(json_object_get(c, "method"));

		if (strcmp(m, "bdev_rbd_register_cluster") == 0)
			cluster_at = (int)i;
		if (strcmp(m, "bdev_rbd_create") == 0)
			bdev_at = (int)i;
	}
	json_decref(resp);
	assert_true(cluster_at >= 0 && bdev_at > cluster_at);

	json_decref(call("bdev_rbd_unregister_cluster", json_pack("{s:s}", "name", "c1"), -16));
	json_decref(call("bdev_rbd_create",
	                 json_pack("{s:s, s:s, s:s, s:i, s:s}", "name", "nope", "pool_name", "rbd",
	                           "rbd_name", "no-such-image", "block_size", BS, "cluster_name",
	                           "c1"),
	                 -2));
	json_decref(call("bdev_rbd_create",
	                 json_pack("{s:s, s:s, s:s, s:i, s:s}", "name", "nope", "pool_name",
	                           "no-such-pool", "rbd_name", "img0", "block_size", BS,
	                           "cluster_name", "c1"),
	                 -2));
	resp = call("bdev_rbd_get_clusters_info", json_pack("{s:s}", "name", "c1"), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "result"),
	                                                    "bdevs")),
	                 1);
	json_decref(resp);
}

static int group_setup(void **state)
{
	const char *fixtures = getenv("UNVMF_TEST_FIXTURES");
	int rc;

	snprintf(g_script, sizeof(g_script), "%s/../../ceph/ceph-cluster.sh",
	         fixtures ? fixtures : "tests/e2e/fixtures");
	snprintf(g_dir, sizeof(g_dir), "/tmp/unvmf-ceph-%d", (int)getpid());
	snprintf(g_conf, sizeof(g_conf), "%s/ceph.conf", g_dir);
	rc = sh("%s start %s rbd img0 64", g_script, g_dir);
	if (rc == 77) {
		print_message("SKIP: the ceph packages are not installed (ceph-mon ceph-mgr ceph-osd "
		              "ceph-common)\n");
		return 0;
	}
	if (rc != 0)
		return -1;
	g_have_ceph = true;
	if (tgt_proc_start_or_dump(&g_tp, NULL) || rpc_conn_open(&g_c, g_tp.rpc_sock))
		return -1;
	ok("bdev_rbd_register_cluster", json_pack("{s:s, s:s, s:s}", "name", "c1", "user_id",
	                                          "admin", "config_file", g_conf));
	ok("bdev_rbd_create", json_pack("{s:s, s:s, s:s, s:i, s:s}", "name", "rbd0", "pool_name",
	                                "rbd", "rbd_name", "img0", "block_size", BS, "cluster_name",
	                                "c1"));
	ok("nvmf_subsystem_add_ns", json_pack("{s:s, s:{s:s, s:i}}", "nqn", NQN, "namespace",
	                                      "bdev_name", "rbd0", "nsid", NSID));
	return 0;
}

static int group_teardown(void **state)
{
	int rc = 0;

	if (g_have_ceph) {
		rpc_conn_close(&g_c);
		rc = tgt_proc_finish(&g_tp, 30);
	}
	sh("%s stop %s", g_script, g_dir);
	return rc;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rbd_data_both_ways),
	    cmocka_unit_test(test_rbd_resize),
	    cmocka_unit_test(test_rbd_config_and_refusals),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
