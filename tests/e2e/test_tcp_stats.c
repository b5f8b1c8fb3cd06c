/*
 * TCP transport counters seen through nvmf_get_stats: a corrupted data
 * digest is counted and fails only that command; a corrupted header digest
 * sends C2HTermReq (counted by reason) and ends the connection as a protocol
 * error; every other way a connection ends is counted by reason (host close,
 * reset, keep-alive timeout, listener and host removal by RPC); the latency
 * histogram and the transport's completions cover every I/O done; the core
 * counts errors by status and keep-alive expiries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"
#include "fault_proxy.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:77777777-2222-3333-4444-555555555555"

static struct tgt_proc g_tp;
static struct rpc_conn g_c;

/* Sum over poll groups of the TCP transport's counter at path ("a" or "a.b"). */
static long long tcp_stat(const char *path)
{
	json_t *resp = rpc_call(&g_c, "nvmf_get_stats", NULL);
	json_t *groups, *g;
	char outer[64];
	const char *dot = strchr(path, '.');
	long long sum = 0;
	size_t i;

	assert_non_null(resp);
	assert_int_equal(rpc_resp_code(resp), 0);
	groups = json_object_get(json_object_get(resp, "result"), "poll_groups");
	json_array_foreach(groups, i, g)
	{
		json_t *t = json_array_get(json_object_get(g, "transports"), 0);

		assert_string_equal(json_string_value(json_object_get(t, "trtype")), "TCP");
		if (dot) {
			snprintf(outer, sizeof(outer), "%.*s", (int)(dot - path), path);
			t = json_object_get(t, outer);
			assert_non_null(t);
			sum += json_integer_value(json_object_get(t, dot + 1));
		} else {
			assert_non_null(json_object_get(t, path));
			sum += json_integer_value(json_object_get(t, path));
		}
	}
	json_decref(resp);
	return sum;
}

/*
 * Sum over poll groups of a core counter: "completed_nvme_io", or "a.b" for
 * member b of the group's object a ("latency.count", "errors_by_status.0/80").
 */
static long long group_stat(const char *path)
{
	json_t *resp = rpc_call(&g_c, "nvmf_get_stats", NULL);
	json_t *g;
	const char *dot = strchr(path, '.');
	char outer[64];
	long long sum = 0;
	size_t i;

	assert_int_equal(rpc_resp_code(resp), 0);
	if (dot)
		snprintf(outer, sizeof(outer), "%.*s", (int)(dot - path), path);
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "poll_groups"), i, g)
	{
		json_t *obj = dot ? json_object_get(g, outer) : g;

		assert_non_null(obj);
		sum += json_integer_value(json_object_get(obj, dot ? dot + 1 : path));
	}
	json_decref(resp);
	return sum;
}

static int connect_to(int port, bool digests, uint32_t kato_ms, struct unvmf_host_ctrlr **ctrlr,
                      struct unvmf_host_qpair **qp)
{
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	int rc;

	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	snprintf(trid.trsvcid, sizeof(trid.trsvcid), "%d", port);
	unvmf_host_opts_init(&opts);
	strcpy(opts.hostnqn, HOSTNQN);
	opts.header_digest = digests;
	opts.data_digest = digests;
	opts.kato_ms = kato_ms;
	opts.connect_timeout_ms = 3000;
	opts.admin_timeout_ms = 3000;
	rc = unvmf_host_connect(&trid, &opts, ctrlr, NULL);
	if (rc)
		return rc;
	rc = unvmf_host_qpair_create(*ctrlr, 16, qp, NULL);
	if (rc) {
		unvmf_host_disconnect(*ctrlr);
		*ctrlr = NULL;
	}
	return rc;
}

/* Polls until counter path reaches want (connections end asynchronously). */
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

static void test_data_digest_error(void **state)
{
	static uint8_t buf[65536];
	struct fault_plan plan = {.kind = FAULT_CORRUPT, .dir = FAULT_HOST_TO_TARGET, .seed = 3};
	struct fault_proxy *proxy;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	long long ddgst0 = tcp_stat("ddgst_errors"),
	          proto0 = tcp_stat("conns_ended.protocol_error");
	int port, st;

	/*
	 * The I/O connection (the second) carries ICReq and the Connect capsule
	 * (under 1.5 KB), then the 64 KiB write: byte 20000 is in its data.
	 */
	plan.conn_index = 1;
	plan.offset = 20000;
	assert_int_equal(fault_proxy_start(&plan, atoi(g_tp.port), &port, &proxy), 0);
	assert_int_equal(connect_to(port, true, 0, &ctrlr, &qp), 0);
	memset(buf, 0x5a, sizeof(buf));
	st = e2e_write(qp, 1, 0, 128, buf, sizeof(buf));
	assert_true(fault_proxy_fired(proxy));
	/* The command fails (a transient transport error), the connection stays. */
	assert_int_not_equal(st, 0);
	assert_int_equal(e2e_write(qp, 1, 0, 128, buf, sizeof(buf)), 0);
	assert_int_equal(tcp_stat("ddgst_errors"), ddgst0 + 1);
	assert_int_equal(tcp_stat("conns_ended.protocol_error"), proto0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	fault_proxy_stop(proxy);
}

static void test_header_digest_error(void **state)
{
	struct fault_plan plan = {.kind = FAULT_CORRUPT, .dir = FAULT_HOST_TO_TARGET, .seed = 4};
	struct fault_proxy *proxy;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	long long hdgst0 = tcp_stat("hdgst_errors"), term0 = tcp_stat("c2h_term_sent.hdgst_error"),
	          proto0 = tcp_stat("conns_ended.protocol_error");
	int port;

	/* Admin connection: ICReq is 128 bytes, then the Connect capsule's header: byte 140. */
	plan.conn_index = 0;
	plan.offset = 140;
	assert_int_equal(fault_proxy_start(&plan, atoi(g_tp.port), &port, &proxy), 0);
	assert_int_not_equal(connect_to(port, true, 0, &ctrlr, &qp), 0);
	assert_true(fault_proxy_fired(proxy));
	assert_int_equal(wait_tcp_stat("conns_ended.protocol_error", proto0 + 1), proto0 + 1);
	assert_int_equal(tcp_stat("hdgst_errors"), hdgst0 + 1);
	assert_int_equal(tcp_stat("c2h_term_sent.hdgst_error"), term0 + 1);
	fault_proxy_stop(proxy);
}

static void test_ends_by_reason(void **state)
{
	static uint8_t buf[4096];
	struct fault_plan reset = {.kind = FAULT_RESET, .dir = FAULT_HOST_TO_TARGET, .seed = 5};
	struct fault_proxy *proxy;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	long long closed0 = tcp_stat("conns_ended.host_close");
	long long reset0 = tcp_stat("conns_ended.host_reset");
	long long ka0 = tcp_stat("conns_ended.keep_alive_timeout");
	long long kax0 = group_stat("keep_alive_expiries");
	long long lis0 = tcp_stat("conns_ended.listener_removed");
	long long host0 = tcp_stat("conns_ended.host_removed");
	long long io0 = group_stat("completed_nvme_io"), done0 = tcp_stat("requests_completed");
	json_t *resp;
	int port;

	/* Orderly: admin and I/O connections both close. */
	assert_int_equal(connect_to(atoi(g_tp.port), false, 0, &ctrlr, &qp), 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(e2e_write(qp, 1, (uint64_t)i * 8, 8, buf, sizeof(buf)), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	assert_int_equal(wait_tcp_stat("conns_ended.host_close", closed0 + 2), closed0 + 2);
	/* Every I/O is in the histogram and in the transport's completions. */
	assert_true(group_stat("completed_nvme_io") >= io0 + 32);
	assert_true(group_stat("latency.count") >= group_stat("completed_nvme_io"));
	assert_true(tcp_stat("requests_completed") >= done0 + 32);

	/* A reset on the I/O connection once it carried a few KiB. */
	reset.conn_index = 1;
	reset.offset = 8192;
	assert_int_equal(fault_proxy_start(&reset, atoi(g_tp.port), &port, &proxy), 0);
	assert_int_equal(connect_to(port, false, 0, &ctrlr, &qp), 0);
	for (int i = 0; i < 8 && e2e_write(qp, 1, 0, 8, buf, sizeof(buf)) == 0; i++)
		;
	assert_true(fault_proxy_fired(proxy));
	assert_true(wait_tcp_stat("conns_ended.host_reset", reset0 + 1) >= reset0 + 1);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	fault_proxy_stop(proxy);

	/* Keep-alive: a host that goes quiet past its KATO loses both queues. */
	assert_int_equal(connect_to(atoi(g_tp.port), false, 1000, &ctrlr, &qp), 0);
	assert_int_equal(wait_tcp_stat("conns_ended.keep_alive_timeout", ka0 + 2), ka0 + 2);
	/* One controller expired, whatever number of queues it took with it. */
	assert_int_equal(group_stat("keep_alive_expiries"), kax0 + 1);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);

	/* Removing the host by RPC ends its connections... */
	resp = rpc_call(&g_c, "nvmf_subsystem_allow_any_host",
	                json_pack("{s:s, s:b}", "nqn", SUBNQN, "allow_any_host", 0));
	assert_int_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
	resp = rpc_call(&g_c, "nvmf_subsystem_add_host",
	                json_pack("{s:s, s:s}", "nqn", SUBNQN, "host", HOSTNQN));
	assert_int_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
	assert_int_equal(connect_to(atoi(g_tp.port), false, 0, &ctrlr, &qp), 0);
	resp = rpc_call(&g_c, "nvmf_subsystem_remove_host",
	                json_pack("{s:s, s:s}", "nqn", SUBNQN, "host", HOSTNQN));
	assert_int_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
	assert_int_equal(wait_tcp_stat("conns_ended.host_removed", host0 + 2), host0 + 2);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	resp = rpc_call(&g_c, "nvmf_subsystem_allow_any_host",
	                json_pack("{s:s, s:b}", "nqn", SUBNQN, "allow_any_host", 1));
	json_decref(resp);

	/* ...and so does removing the listener they came in through. */
	assert_int_equal(connect_to(atoi(g_tp.port), false, 0, &ctrlr, &qp), 0);
	resp = rpc_call(&g_c, "nvmf_subsystem_remove_listener",
	                json_pack("{s:s, s:{s:s, s:s, s:s}}", "nqn", SUBNQN, "listen_address",
	                          "trtype", "TCP", "traddr", "127.0.0.1", "trsvcid", g_tp.port));
	assert_int_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
	assert_int_equal(wait_tcp_stat("conns_ended.listener_removed", lis0 + 2), lis0 + 2);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

/* Each error status is counted under its own SCT/SC, apart from the others. */
static void test_errors_by_status(void **state)
{
	static uint8_t buf[4096];
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	long long range0 = group_stat("errors_by_status.0/80"), nsid0 = group_stat("errors_by_status.0/0b");
	long long err0 = group_stat("errors");

	(void)state;
	assert_int_equal(connect_to(atoi(g_tp.port), false, 0, &ctrlr, &qp), 0);
	/* Past the end of namespace 1: LBA Out of Range (0/80), three times. */
	for (int i = 0; i < 3; i++)
		assert_int_not_equal(e2e_read(qp, 1, UINT64_C(1) << 40, 8, buf, sizeof(buf)), 0);
	/* A namespace that does not exist: Invalid Namespace or Format (0/0b). */
	assert_int_not_equal(e2e_read(qp, 77, 0, 8, buf, sizeof(buf)), 0);
	assert_int_equal(e2e_read(qp, 1, 0, 8, buf, sizeof(buf)), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	assert_int_equal(group_stat("errors_by_status.0/80"), range0 + 3);
	assert_int_equal(group_stat("errors_by_status.0/0b"), nsid0 + 1);
	assert_int_equal(group_stat("errors"), err0 + 4);
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
	return tgt_proc_finish(&g_tp, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_digest_error),
	    cmocka_unit_test(test_header_digest_error),
	    cmocka_unit_test(test_errors_by_status),
	    /* Last: it removes the listener. */
	    cmocka_unit_test(test_ends_by_reason),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
