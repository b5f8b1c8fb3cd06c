/*
 * Live resize over NVMe/TCP: bdev_null_resize (SPDK's method: name, new_size
 * in MiB) grows a namespace under a connected host, which gets a Namespace
 * Attribute Changed notice (once it enabled it with Set Features Async Event
 * Configuration), finds the NSID in the Changed Namespace List and the new
 * NSZE in Identify Namespace; I/O past the old end then succeeds. Refusals:
 * shrinking, an unknown bdev, a bdev of another type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define DEFAULT_NQN "nqn.2024-11.io.unvmf:default"
#define NSID 5

static struct tgt_proc g_tp;
static struct rpc_conn g_c;

static int call(const char *method, json_t *params)
{
	json_t *resp = rpc_call(&g_c, method, params);
	int code;

	assert_non_null(resp);
	code = rpc_resp_code(resp);
	json_decref(resp);
	return code;
}

static int group_setup(void **state)
{
	if (tgt_proc_start_or_dump(&g_tp, NULL))
		return -1;
	return rpc_conn_open(&g_c, g_tp.rpc_sock);
}

static int group_teardown(void **state)
{
	rpc_conn_close(&g_c);
	return tgt_proc_finish(&g_tp, 20);
}

static void aer_cb(void *arg, const struct nvme_cqe *cqe)
{
	struct e2e_io *io = arg;

	io->cqe = *cqe;
	io->done = 1;
}

static int wait_aer(struct unvmf_host_ctrlr *ctrlr, struct e2e_io *io, int ms)
{
	for (int i = 0; i < ms / 10 && !io->done; i++) {
		unvmf_host_admin_poll(ctrlr);
		usleep(10000);
	}
	return io->done ? 0 : -1;
}

static void test_null_resize_notifies(void **state)
{
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	struct e2e_io io = {0};
	struct nvme_id_ns ns;
	static uint32_t changed[1024];
	static uint8_t buf[4096];

	/* 8 MiB of 512-byte blocks. */
	assert_int_equal(
	    call("bdev_null_create", json_pack("{s:s, s:i, s:i}", "name", "Grow", "num_blocks",
	                                       16384, "block_size", 512)),
	    0);
	assert_int_equal(call("nvmf_subsystem_add_ns",
	                      json_pack("{s:s, s:{s:s, s:i}}", "nqn", DEFAULT_NQN, "namespace",
	                                "bdev_name", "Grow", "nsid", NSID)),
	                 0);
	tgt_proc_trid(&g_tp, DEFAULT_NQN, &trid);
	unvmf_host_opts_init(&opts);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, NSID, &ns), 0);
	assert_int_equal(ns.nsze, 16384);
	assert_int_equal(e2e_read(qp, NSID, 16384, 8, buf, sizeof(buf)),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));

	/* Notices off (the default): a resize raises no event. */
	assert_int_equal(unvmf_host_aer_submit(ctrlr, aer_cb, &io), 0);
	assert_int_equal(
	    call("bdev_null_resize", json_pack("{s:s, s:i}", "name", "Grow", "new_size", 12)), 0);
	assert_int_equal(wait_aer(ctrlr, &io, 300), -1);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, NSID, &ns), 0);
	assert_int_equal(ns.nsze, 12 * 2048);
	assert_int_equal(ns.ncap, 12 * 2048);
	/* The list holds the NSID all the same; reading it empties it. */
	memset(changed, 0, sizeof(changed));
	assert_int_equal(
	    unvmf_host_get_log_page(ctrlr, 0x04, 0xffffffff, 0, changed, sizeof(changed)), 0);
	assert_int_equal(changed[0], NSID);
	assert_int_equal(changed[1], 0);

	/* Notices on: the outstanding AER completes with the notice. */
	assert_int_equal(unvmf_host_set_features(ctrlr, 0x0b, 1u << 8, 0, NULL, 0, NULL), 0);
	assert_int_equal(
	    call("bdev_null_resize", json_pack("{s:s, s:i}", "name", "Grow", "new_size", 16)), 0);
	assert_int_equal(wait_aer(ctrlr, &io, 5000), 0);
	assert_int_equal(io.cqe.status.raw & 0xfffe, 0);
	assert_int_equal(io.cqe.cdw0 & 0x7, 2);             /* notice */
	assert_int_equal((io.cqe.cdw0 >> 8) & 0xff, 0);     /* namespace attribute changed */
	assert_int_equal((io.cqe.cdw0 >> 16) & 0xff, 0x04); /* changed namespace list */
	memset(changed, 0, sizeof(changed));
	assert_int_equal(
	    unvmf_host_get_log_page(ctrlr, 0x04, 0xffffffff, 0, changed, sizeof(changed)), 0);
	assert_int_equal(changed[0], NSID);
	assert_int_equal(changed[1], 0);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, NSID, &ns), 0);
	assert_int_equal(ns.nsze, 16 * 2048);
	/* Past the old end is addressable now. */
	assert_int_equal(e2e_write(qp, NSID, 16 * 2048 - 8, 8, buf, sizeof(buf)), 0);
	assert_int_equal(e2e_read(qp, NSID, 16 * 2048 - 8, 8, buf, sizeof(buf)), 0);
	assert_int_equal(e2e_read(qp, NSID, 16 * 2048, 1, buf, 512),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));

	/* Refusals: shrinking, the same size is a no-op, unknown bdev, not a null bdev. */
	assert_int_not_equal(
	    call("bdev_null_resize", json_pack("{s:s, s:i}", "name", "Grow", "new_size", 8)), 0);
	assert_int_equal(
	    call("bdev_null_resize", json_pack("{s:s, s:i}", "name", "Grow", "new_size", 16)), 0);
	assert_int_not_equal(
	    call("bdev_null_resize", json_pack("{s:s, s:i}", "name", "Nope", "new_size", 16)), 0);
	assert_int_equal(
	    call("bdev_malloc_create", json_pack("{s:s, s:i, s:i}", "name", "Ram", "num_blocks",
	                                         2048, "block_size", 512)),
	    0);
	assert_int_not_equal(
	    call("bdev_null_resize", json_pack("{s:s, s:i}", "name", "Ram", "new_size", 16)), 0);
	assert_int_not_equal(call("bdev_null_resize", json_pack("{s:s}", "name", "Grow")), 0);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, NSID, &ns), 0);
	assert_int_equal(ns.nsze, 16 * 2048);

	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	assert_int_equal(call("nvmf_subsystem_remove_ns",
	                      json_pack("{s:s, s:i}", "nqn", DEFAULT_NQN, "nsid", NSID)),
	                 0);
	assert_int_equal(call("bdev_malloc_delete", json_pack("{s:s}", "name", "Ram")), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_null_resize_notifies),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
