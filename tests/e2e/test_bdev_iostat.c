/*
 * bdev_get_iostat: SPDK's reply shape from the bdevs' own counters. A host
 * writes, reads, deallocates and flushes known amounts on a malloc namespace
 * over TCP (two I/O queues, so two reactors' channels may count) and the
 * counters must say exactly that; a bdev without I/O stays at zero; the
 * counts survive the namespace's removal (its channels close); name, names,
 * per_channel and reset_mode are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "util/common.h"

#define NQN "nqn.2016-06.io.spdk:iostat"

static struct tgt_proc g_tp;
static struct rpc_conn g_rpc;

static int setup(void **state)
{
	if (tgt_proc_start_config(
	        &g_tp, NULL,
	        "{\"subsystems\": [{\"subsystem\": \"bdev\", \"config\": ["
	        "{\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"Malloc0\", "
	        "\"num_blocks\": 8192, \"block_size\": 512}},"
	        "{\"method\": \"bdev_null_create\", \"params\": {\"name\": \"Null0\", "
	        "\"num_blocks\": 8192, \"block_size\": 4096}}]},"
	        "{\"subsystem\": \"nvmf\", \"config\": ["
	        "{\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\"}},"
	        "{\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"" NQN "\", "
	        "\"allow_any_host\": true}},"
	        "{\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"" NQN "\", "
	        "\"namespace\": {\"bdev_name\": \"Malloc0\", \"nsid\": 1}}},"
	        "{\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"" NQN "\", "
	        "\"namespace\": {\"bdev_name\": \"Null0\", \"nsid\": 2}}},"
	        "{\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"" NQN "\", "
	        "\"listen_address\": {\"trtype\": \"TCP\", \"traddr\": \"127.0.0.1\", "
	        "\"trsvcid\": \"@PORT@\"}}}]}]}"))
		return -1;
	return rpc_conn_open(&g_rpc, g_tp.rpc_sock) ? -1 : 0;
}

static int teardown(void **state)
{
	rpc_conn_close(&g_rpc);
	return tgt_proc_finish(&g_tp, 20);
}

/* The iostat entry of bdev name (a new reference), from a call with params. */
static json_t *iostat_of(const char *name, json_t *params)
{
	json_t *resp = rpc_call(&g_rpc, "bdev_get_iostat", params), *b, *found = NULL;
	size_t i;

	assert_int_equal(rpc_resp_code(resp), 0);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(resp, "result"), "tick_rate")),
	    1000000);
	assert_true(json_integer_value(json_object_get(json_object_get(resp, "result"), "ticks")) >
	            0);
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "bdevs"), i, b)
	{
		if (strcmp(json_string_value(json_object_get(b, "name")), name) == 0)
			found = json_incref(b);
	}
	json_decref(resp);
	assert_non_null(found);
	return found;
}

static long long field(json_t *b, const char *key)
{
	json_t *v = json_object_get(b, key);

	assert_true(json_is_integer(v));
	return (long long)json_integer_value(v);
}

static void dsm_one_range(struct unvmf_host_qpair *qp, uint64_t lba, uint32_t nblocks)
{
	struct {
		uint32_t attr, nlb;
		uint64_t slba;
	} range = {0, nblocks, lba};
	struct iovec iov = {&range, sizeof(range)};
	struct e2e_io io = {0};

	assert_int_equal(unvmf_host_dsm(qp, 1, 1, &iov, 1, e2e_io_cb, &io), 0);
	assert_int_equal(e2e_wait(qp, &io, 5000), 0);
}

static void flush_ns1(struct unvmf_host_qpair *qp)
{
	struct e2e_io io = {0};

	assert_int_equal(unvmf_host_flush(qp, 1, e2e_io_cb, &io), 0);
	assert_int_equal(e2e_wait(qp, &io, 5000), 0);
}

static void test_counts_match_the_io(void **state)
{
	static uint8_t buf[16 * 512];
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp[2];
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	json_t *b, *resp;
	int writes = 0, reads = 0;

	b = iostat_of("Malloc0", NULL);
	assert_int_equal(field(b, "num_read_ops"), 0);
	assert_int_equal(field(b, "num_write_ops"), 0);
	assert_int_equal(field(b, "min_read_latency_ticks"), 0);
	json_decref(b);

	tgt_proc_trid(&g_tp, NQN, &trid);
	unvmf_host_opts_init(&opts);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	for (int q = 0; q < 2; q++)
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp[q], NULL), 0);
	/* 7 writes of 8 blocks and 5 reads of 16, over both queues. */
	for (int i = 0; i < 7; i++, writes++) {
		memset(buf, i + 1, 8 * 512);
		assert_int_equal(e2e_write(qp[i % 2], 1, (uint64_t)i * 8, 8, buf, 8 * 512), 0);
	}
	for (int i = 0; i < 5; i++, reads++)
		assert_int_equal(e2e_read(qp[i % 2], 1, (uint64_t)i * 16, 16, buf, 16 * 512), 0);
	dsm_one_range(qp[0], 100, 4);
	flush_ns1(qp[1]);
	/* An I/O past the end fails: an error, not a read. */
	assert_true(e2e_read(qp[0], 1, 8192 - 1, 2, buf, 2 * 512) > 0);

	b = iostat_of("Malloc0", json_pack("{s:s}", "name", "Malloc0"));
	assert_int_equal(field(b, "num_write_ops"), writes);
	assert_int_equal(field(b, "bytes_written"), writes * 8 * 512);
	assert_int_equal(field(b, "num_read_ops"), reads);
	assert_int_equal(field(b, "bytes_read"), reads * 16 * 512);
	assert_int_equal(field(b, "num_unmap_ops"), 1);
	assert_int_equal(field(b, "bytes_unmapped"), 4 * 512);
	assert_int_equal(field(b, "num_flush_ops"), 1);
	assert_true(field(b, "max_read_latency_ticks") >= field(b, "min_read_latency_ticks"));
	assert_true(field(b, "read_latency_ticks") >= field(b, "max_read_latency_ticks"));
	assert_true(field(b, "write_latency_ticks") >= field(b, "max_write_latency_ticks"));
	assert_int_equal(field(b, "num_copy_ops"), 0);
	json_decref(b);

	/* The null namespace saw nothing. */
	b = iostat_of("Null0", json_pack("{s:[s]}", "names", "Null0"));
	assert_int_equal(field(b, "num_read_ops") + field(b, "num_write_ops"), 0);
	assert_int_equal(field(b, "bytes_read") + field(b, "bytes_written"), 0);
	json_decref(b);

	for (int q = 0; q < 2; q++)
		unvmf_host_qpair_destroy(qp[q]);
	unvmf_host_disconnect(ctrlr);

	/* The namespace goes, its channels close: the counts stay with the bdev. */
	resp = rpc_call(&g_rpc, "nvmf_subsystem_remove_ns",
	                json_pack("{s:s, s:i}", "nqn", NQN, "nsid", 1));
	assert_int_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
	b = iostat_of("Malloc0", NULL);
	assert_int_equal(field(b, "num_write_ops"), writes);
	assert_int_equal(field(b, "num_read_ops"), reads);
	assert_int_equal(field(b, "bytes_read"), reads * 16 * 512);
	json_decref(b);
}

static void test_parameters(void **state)
{
	json_t *resp;

	resp = rpc_call(&g_rpc, "bdev_get_iostat", json_pack("{s:b}", "per_channel", 1));
	assert_int_equal(rpc_resp_code(resp), -32602);
	assert_non_null(strstr(rpc_resp_message(resp), "per_channel"));
	json_decref(resp);
	resp = rpc_call(&g_rpc, "bdev_get_iostat", json_pack("{s:b}", "per_channel", 0));
	assert_int_equal(rpc_resp_code(resp), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(resp, "result"), "bdevs")),
	                 2);
	json_decref(resp);
	resp = rpc_call(&g_rpc, "bdev_get_iostat", json_pack("{s:s}", "reset_mode", "all"));
	assert_int_equal(rpc_resp_code(resp), -32602);
	assert_non_null(strstr(rpc_resp_message(resp), "reset_mode"));
	json_decref(resp);
	resp = rpc_call(&g_rpc, "bdev_get_iostat", json_pack("{s:s}", "name", "Nope"));
	assert_int_equal(rpc_resp_code(resp), -ENODEV);
	json_decref(resp);
	resp = rpc_call(&g_rpc, "bdev_get_iostat", json_pack("{s:s}", "names", "Null0"));
	assert_int_equal(rpc_resp_code(resp), -32602);
	json_decref(resp);
	/* Resetting is SPDK's other method: refused with the reason. */
	resp = rpc_call(&g_rpc, "bdev_reset_iostat", NULL);
	assert_int_equal(rpc_resp_code(resp), -32601);
	assert_non_null(strstr(rpc_resp_message(resp), "resetting I/O statistics"));
	json_decref(resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_match_the_io),
	    cmocka_unit_test(test_parameters),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
