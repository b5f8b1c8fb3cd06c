/*
 * Every RPC method against a running unvmf-tgt: success, and failures for
 * missing / wrong-typed / out-of-range parameters and domain errors (exists,
 * not found, in use), checking that a failed request changed nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define DEFAULT_NQN "nqn.2024-11.io.unvmf:default"
#define NQN1 "nqn.2016-06.io.spdk:cnode1"
#define NQN2 "nqn.2016-06.io.spdk:cnode2"
#define HOST1 "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define HOST2 "nqn.2014-08.org.nvmexpress:uuid:66666666-2222-3333-4444-555555555555"

static struct tgt_proc g_tp;
static struct rpc_conn g_c;

static json_t *ok_(const char *method, json_t *params, int line)
{
	json_t *resp = rpc_call(&g_c, method, params);
	json_t *result;

	if (!resp) {
		tgt_proc_dump_log(&g_tp);
		fail_msg("line %d: %s: no response", line, method);
	}
	if (rpc_resp_code(resp))
		fail_msg("line %d: %s: error %d: %s", line, method, rpc_resp_code(resp),
		         rpc_resp_message(resp));
	result = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return result;
}
#define OK(m, p) ok_((m), (p), __LINE__)
#define OK_DROP(m, p) json_decref(ok_((m), (p), __LINE__))

static void fails_(const char *method, json_t *params, int code, const char *part, int line)
{
	json_t *resp = rpc_call(&g_c, method, params);

	if (!resp)
		fail_msg("line %d: %s: no response", line, method);
	if (rpc_resp_code(resp) != code || !rpc_resp_message(resp) ||
	    (part && !strstr(rpc_resp_message(resp), part)))
		fail_msg("line %d: %s: want code %d with '%s', got %d '%s'", line, method, code,
		         part ? part : "", rpc_resp_code(resp),
		         rpc_resp_message(resp) ? rpc_resp_message(resp) : "(result)");
	json_decref(resp);
}
#define FAILS(m, p, code, part) fails_((m), (p), (code), (part), __LINE__)

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
	return NULL;
}

static json_t *get_subsystem(const char *nqn)
{
	json_t *list = OK("nvmf_get_subsystems", NULL);
	json_t *s = json_incref(find_by(list, "nqn", nqn));

	json_decref(list);
	return s;
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

static void test_framework_methods(void **state)
{
	json_t *r = OK("rpc_get_methods", NULL);
	const char *expect[] = {"rpc_get_methods",
	                        "unvmf_get_version",
	                        "spdk_get_version",
	                        "framework_wait_init",
	                        "save_config",
	                        "bdev_malloc_create",
	                        "bdev_null_create",
	                        "bdev_uring_create",
	                        "bdev_aio_create",
	                        "bdev_get_bdevs",
	                        "bdev_malloc_delete",
	                        "bdev_null_delete",
	                        "bdev_uring_delete",
	                        "bdev_aio_delete",
	                        "nvmf_create_transport",
	                        "nvmf_get_transports",
	                        "nvmf_create_subsystem",
	                        "nvmf_delete_subsystem",
	                        "nvmf_get_subsystems",
	                        "nvmf_subsystem_add_listener",
	                        "nvmf_subsystem_remove_listener",
	                        "nvmf_subsystem_add_ns",
	                        "nvmf_subsystem_remove_ns",
	                        "nvmf_subsystem_add_host",
	                        "nvmf_subsystem_remove_host",
	                        "nvmf_subsystem_allow_any_host",
	                        "nvmf_subsystem_get_controllers",
	                        "nvmf_subsystem_get_qpairs",
	                        "nvmf_get_stats",
	                        "nvmf_set_max_subsystems",
	                        "nvmf_discovery_add_referral",
	                        "nvmf_discovery_remove_referral",
	                        "nvmf_discovery_get_referrals",
	                        "nvmf_tcp_inject_fault",
	                        "nvmf_rdma_inject_fault"};

	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		bool found = false;
		size_t k;
		json_t *e;

		json_array_foreach(r, k, e) found |= strcmp(json_string_value(e), expect[i]) == 0;
		if (!found)
			fail_msg("rpc_get_methods lacks %s", expect[i]);
	}
	json_decref(r);
	r = OK("rpc_get_methods", RPC_P("{s:b}", "current", 1));
	json_decref(r);
	FAILS("rpc_get_methods", RPC_P("{s:i}", "current", 1), -32602, "'current'");

	r = OK("unvmf_get_version", NULL);
	assert_non_null(strstr(json_string_value(json_object_get(r, "version")), "unvmf"));
	assert_true(json_is_integer(json_object_get(json_object_get(r, "fields"), "major")));
	json_decref(r);
	r = OK("spdk_get_version", NULL);
	assert_non_null(json_object_get(r, "fields"));
	json_decref(r);
	FAILS("spdk_get_version", RPC_P("{s:i}", "x", 1), -32602, "unknown parameter 'x'");
	r = OK("framework_wait_init", NULL);
	assert_true(json_is_true(r));
	json_decref(r);
	FAILS("no_such_method", NULL, -32601, "no_such_method");
}

static void test_bdev_methods(void **state)
{
	char path[] = "/tmp/unvmf-rpc-uring-XXXXXX";
	int fd = mkstemp(path);
	json_t *r, *b;

	/* malloc */
	r = OK("bdev_malloc_create",
	       RPC_P("{s:s, s:i, s:i, s:s}", "name", "M1", "num_blocks", 2048, "block_size", 512,
	             "uuid", "12345678-1234-1234-1234-123456789abc"));
	assert_string_equal(json_string_value(r), "M1");
	json_decref(r);
	r = OK("bdev_malloc_create", RPC_P("{s:i, s:i}", "num_blocks", 256, "block_size", 4096));
	assert_non_null(strstr(json_string_value(r), "Malloc"));
	OK_DROP("bdev_malloc_delete", RPC_P("{s:s}", "name", json_string_value(r)));
	json_decref(r);
	FAILS("bdev_malloc_create",
	      RPC_P("{s:s, s:i, s:i}", "name", "M1", "num_blocks", 8, "block_size", 512), -17,
	      "already exists");
	FAILS("bdev_malloc_create", RPC_P("{s:s, s:i}", "name", "M9", "block_size", 512), -32602,
	      "'num_blocks'");
	FAILS("bdev_malloc_create",
	      RPC_P("{s:s, s:s, s:i}", "name", "M9", "num_blocks", "8", "block_size", 512), -32602,
	      "'num_blocks': expected an unsigned integer");
	FAILS("bdev_malloc_create",
	      RPC_P("{s:s, s:i, s:i}", "name", "M9", "num_blocks", 8, "block_size", 1000), -32602,
	      "'block_size'");
	FAILS("bdev_malloc_create",
	      RPC_P("{s:s, s:i, s:i}", "name", "M9", "num_blocks", 0, "block_size", 512), -32602,
	      "'num_blocks'");
	FAILS("bdev_malloc_create",
	      RPC_P("{s:s, s:i, s:i, s:s}", "name", "M9", "num_blocks", 8, "block_size", 512,
	            "uuid", "nope"),
	      -32602, "'uuid'");
	/* null */
	r = OK("bdev_null_create",
	       RPC_P("{s:s, s:i, s:i}", "name", "N1", "num_blocks", 1 << 20, "block_size", 4096));
	json_decref(r);
	FAILS("bdev_null_create", RPC_P("{s:i, s:i}", "num_blocks", 8, "block_size", 512), -32602,
	      "'name'");
	/* uring and its aio alias, on a 4 MiB file */
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 << 20), 0);
	close(fd);
	r = OK("bdev_uring_create", RPC_P("{s:s, s:s}", "filename", path, "name", "U1"));
	json_decref(r);
	r = OK("bdev_aio_create",
	       RPC_P("{s:s, s:s, s:i}", "filename", path, "name", "A1", "block_size", 4096));
	json_decref(r);
	FAILS("bdev_uring_create",
	      RPC_P("{s:s, s:s}", "filename", "/nonexistent/unvmf-file", "name", "U2"), -2,
	      "/nonexistent/unvmf-file");
	FAILS("bdev_uring_create", RPC_P("{s:s}", "filename", path), -32602, "'name'");
	/* get */
	r = OK("bdev_get_bdevs", NULL);
	b = find_by(r, "name", "M1");
	assert_non_null(b);
	assert_int_equal(json_integer_value(json_object_get(b, "num_blocks")), 2048);
	assert_int_equal(json_integer_value(json_object_get(b, "block_size")), 512);
	assert_string_equal(json_string_value(json_object_get(b, "uuid")),
	                    "12345678-1234-1234-1234-123456789abc");
	assert_string_equal(json_string_value(json_object_get(b, "product_name")), "Malloc disk");
	assert_false(json_is_true(json_object_get(b, "claimed")));
	b = find_by(r, "name", "U1");
	assert_int_equal(json_integer_value(json_object_get(b, "num_blocks")), 8192);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(b, "driver_specific"), "uring"), "filename")),
	    path);
	json_decref(r);
	r = OK("bdev_get_bdevs", RPC_P("{s:s}", "name", "N1"));
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
	FAILS("bdev_get_bdevs", RPC_P("{s:s}", "name", "nope"), -19, "nope");
	/* delete */
	FAILS("bdev_null_delete", RPC_P("{s:s}", "name", "M1"), -22, "malloc");
	FAILS("bdev_malloc_delete", RPC_P("{s:s}", "name", "nope"), -19, "does not exist");
	FAILS("bdev_malloc_delete", NULL, -32602, "'name'");
	OK_DROP("bdev_aio_delete", RPC_P("{s:s}", "name", "A1"));
	OK_DROP("bdev_uring_delete", RPC_P("{s:s}", "name", "U1"));
	FAILS("bdev_uring_delete", RPC_P("{s:s}", "name", "U1"), -19, NULL);
	/* In use by a namespace: refused, and still there. */
	FAILS("bdev_malloc_delete", RPC_P("{s:s}", "name", "Malloc0"), -16, "in use");
	r = OK("bdev_get_bdevs", RPC_P("{s:s}", "name", "Malloc0"));
	assert_true(json_is_true(json_object_get(json_array_get(r, 0), "claimed")));
	json_decref(r);
	unlink(path);
}

static void test_transport_methods(void **state)
{
	json_t *r = OK("nvmf_get_transports", NULL);
	json_t *t = find_by(r, "trtype", "TCP");

	assert_non_null(t);
	assert_true(json_integer_value(json_object_get(t, "max_queue_depth")) > 0);
	assert_non_null(json_object_get(t, "c2h_success"));
	json_decref(r);
	r = OK("nvmf_get_transports", RPC_P("{s:s}", "trtype", "tcp"));
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
	FAILS("nvmf_get_transports", RPC_P("{s:s}", "trtype", "XYZ"), -32602, "'trtype'");
	FAILS("nvmf_create_transport", RPC_P("{s:s}", "trtype", "TCP"), -17, "already exists");
	FAILS("nvmf_create_transport", NULL, -32602, "'trtype'");
	FAILS("nvmf_create_transport", RPC_P("{s:s}", "trtype", "FOO"), -32602, "FOO");
	/* SPDK's ack_timeout is both transports' (TCP: ms, RDMA: the IB exponent). */
	FAILS("nvmf_create_transport", RPC_P("{s:s, s:i}", "trtype", "RDMA", "ack_timeout", 32),
	      -32602, "'ack_timeout': 32 is out of range [0, 31]");
	FAILS("nvmf_create_transport", RPC_P("{s:s, s:i}", "trtype", "TCP", "ack_timeout", 3600001),
	      -32602, "'ack_timeout': 3600001 is out of range");
	FAILS("nvmf_create_transport",
	      RPC_P("{s:s, s:i}", "trtype", "TCP", "buf_cache_size", (1 << 20) + 1), -32602,
	      "'buf_cache_size'");
	/* SPDK-only knobs: neutral values pass the checks, others are refused by name. */
	FAILS("nvmf_create_transport",
	      RPC_P("{s:s, s:i, s:b}", "trtype", "TCP", "data_wr_pool_size", 64, "zcopy", 0), -17,
	      "already exists");
	FAILS("nvmf_create_transport", RPC_P("{s:s, s:i}", "trtype", "RDMA", "sock_priority", 1),
	      -32602, "'sock_priority': applies to TCP only");
	FAILS("nvmf_create_transport", RPC_P("{s:s, s:i}", "trtype", "TCP", "max_queue_depth", 1),
	      -32602, "'max_queue_depth'");
	FAILS("nvmf_create_transport", RPC_P("{s:s, s:i}", "trtype", "RDMA", "retry_count", 8),
	      -32602, "'retry_count'");
	FAILS("nvmf_create_transport", RPC_P("{s:s, s:b}", "trtype", "TCP", "zcopy", 1), -32602,
	      "invalid parameter 'zcopy'");
}

static void test_subsystem_methods(void **state)
{
	json_t *s, *r;
	json_t *ns;

	OK_DROP("nvmf_create_subsystem",
	        RPC_P("{s:s, s:s, s:s, s:b, s:i, s:i, s:i}", "nqn", NQN1, "serial_number",
	              "SPDK00000000000001", "model_number", "Test Model", "allow_any_host", 0,
	              "max_namespaces", 8, "min_cntlid", 5, "max_cntlid", 100));
	s = get_subsystem(NQN1);
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "subtype")), "NVMe");
	assert_string_equal(json_string_value(json_object_get(s, "serial_number")),
	                    "SPDK00000000000001");
	assert_string_equal(json_string_value(json_object_get(s, "model_number")), "Test Model");
	assert_false(json_is_true(json_object_get(s, "allow_any_host")));
	assert_int_equal(json_integer_value(json_object_get(s, "max_namespaces")), 8);
	assert_int_equal(json_integer_value(json_object_get(s, "min_cntlid")), 5);
	assert_int_equal(json_integer_value(json_object_get(s, "max_cntlid")), 100);
	json_decref(s);
	r = OK("nvmf_get_subsystems", RPC_P("{s:s}", "nqn", NQN1));
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
	r = OK("nvmf_get_subsystems", NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "subtype")),
	                    "Discovery");
	json_decref(r);

	FAILS("nvmf_create_subsystem", RPC_P("{s:s}", "nqn", NQN1), -17, "already exists");
	FAILS("nvmf_create_subsystem", RPC_P("{s:s}", "nqn", "bad-nqn"), -32602, "'nqn'");
	FAILS("nvmf_create_subsystem",
	      RPC_P("{s:s}", "nqn", "nqn.2014-08.org.nvmexpress.discovery"), -32602, "'nqn'");
	FAILS("nvmf_create_subsystem", NULL, -32602, "'nqn'");
	FAILS("nvmf_create_subsystem",
	      RPC_P("{s:s, s:s}", "nqn", NQN2, "serial_number", "012345678901234567890"), -32602,
	      "'serial_number'");
	FAILS("nvmf_create_subsystem", RPC_P("{s:s, s:i}", "nqn", NQN2, "max_namespaces", 5000),
	      -32602, "'max_namespaces'");
	FAILS("nvmf_create_subsystem",
	      RPC_P("{s:s, s:i, s:i}", "nqn", NQN2, "min_cntlid", 10, "max_cntlid", 9), -32602,
	      "min_cntlid");
	FAILS("nvmf_create_subsystem", RPC_P("{s:s, s:s}", "nqn", NQN2, "allow_any_host", "yes"),
	      -32602, "'allow_any_host': expected a boolean");
	/* None of the failures left a subsystem behind. */
	s = get_subsystem(NQN2);
	assert_null(s);

	/* namespaces */
	r = OK("nvmf_subsystem_add_ns",
	       RPC_P("{s:s, s:{s:s}}", "nqn", NQN1, "namespace", "bdev_name", "M1"));
	assert_int_equal(json_integer_value(r), 1);
	json_decref(r);
	r = OK("nvmf_subsystem_add_ns",
	       RPC_P("{s:s, s:{s:s, s:i, s:s, s:s, s:s}}", "nqn", NQN1, "namespace", "bdev_name",
	             "N1", "nsid", 5, "uuid", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "nguid",
	             "00112233445566778899AABBCCDDEEFF", "eui64", "0102030405060708"));
	assert_int_equal(json_integer_value(r), 5);
	json_decref(r);
	s = get_subsystem(NQN1);
	ns = json_object_get(s, "namespaces");
	assert_int_equal(json_array_size(ns), 2);
	ns = json_array_get(ns, 1);
	assert_int_equal(json_integer_value(json_object_get(ns, "nsid")), 5);
	assert_string_equal(json_string_value(json_object_get(ns, "bdev_name")), "N1");
	assert_string_equal(json_string_value(json_object_get(ns, "uuid")),
	                    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	assert_string_equal(json_string_value(json_object_get(ns, "nguid")),
	                    "00112233445566778899AABBCCDDEEFF");
	assert_string_equal(json_string_value(json_object_get(ns, "eui64")), "0102030405060708");
	json_decref(s);
	FAILS("nvmf_subsystem_add_ns",
	      RPC_P("{s:s, s:{s:s, s:i}}", "nqn", NQN1, "namespace", "bdev_name", "M1", "nsid", 5),
	      -17, "already has namespace 5");
	FAILS("nvmf_subsystem_add_ns",
	      RPC_P("{s:s, s:{s:s, s:i}}", "nqn", NQN1, "namespace", "bdev_name", "M1", "nsid", 9),
	      -32602, "max_namespaces");
	FAILS("nvmf_subsystem_add_ns",
	      RPC_P("{s:s, s:{s:s}}", "nqn", NQN1, "namespace", "bdev_name", "nope"), -19, "nope");
	FAILS("nvmf_subsystem_add_ns",
	      RPC_P("{s:s, s:{s:s}}", "nqn", NQN2, "namespace", "bdev_name", "M1"), -19, NQN2);
	FAILS("nvmf_subsystem_add_ns", RPC_P("{s:s}", "nqn", NQN1), -32602, "'namespace'");
	FAILS("nvmf_subsystem_add_ns", RPC_P("{s:s, s:{}}", "nqn", NQN1, "namespace"), -32602,
	      "'bdev_name'");
	FAILS("nvmf_subsystem_add_ns",
	      RPC_P("{s:s, s:{s:s, s:s}}", "nqn", NQN1, "namespace", "bdev_name", "M1", "nguid",
	            "xyz"),
	      -32602, "'nguid'");
	FAILS("nvmf_subsystem_add_ns",
	      RPC_P("{s:s, s:{s:s}}", "nqn", "nqn.2014-08.org.nvmexpress.discovery", "namespace",
	            "bdev_name", "M1"),
	      -22, "discovery");
	OK_DROP("nvmf_subsystem_remove_ns", RPC_P("{s:s, s:i}", "nqn", NQN1, "nsid", 5));
	FAILS("nvmf_subsystem_remove_ns", RPC_P("{s:s, s:i}", "nqn", NQN1, "nsid", 5), -2,
	      "no namespace 5");
	FAILS("nvmf_subsystem_remove_ns", RPC_P("{s:s, s:i}", "nqn", NQN1, "nsid", 0), -32602,
	      "'nsid'");
	FAILS("nvmf_subsystem_remove_ns", RPC_P("{s:s}", "nqn", NQN1), -32602, "'nsid'");
	/* N1 is free again: deletable. */
	r = OK("bdev_get_bdevs", RPC_P("{s:s}", "name", "N1"));
	assert_false(json_is_true(json_object_get(json_array_get(r, 0), "claimed")));
	json_decref(r);

	/* hosts */
	OK_DROP("nvmf_subsystem_add_host", RPC_P("{s:s, s:s}", "nqn", NQN1, "host", HOST1));
	OK_DROP("nvmf_subsystem_add_host", RPC_P("{s:s, s:s}", "nqn", NQN1, "host", HOST2));
	FAILS("nvmf_subsystem_add_host", RPC_P("{s:s, s:s}", "nqn", NQN1, "host", HOST1), -17,
	      "already allowed");
	FAILS("nvmf_subsystem_add_host", RPC_P("{s:s, s:s}", "nqn", NQN1, "host", "not an nqn"),
	      -32602, "'host'");
	/* A PSK must be a keyring key; the host entry is not left behind without it. */
	FAILS("nvmf_subsystem_add_host",
	      RPC_P("{s:s, s:s, s:s}", "nqn", NQN1, "host", "nqn.2024-11.io.unvmf:psk-host", "psk",
	            "x"),
	      -126, "cannot use psk 'x'");
	FAILS("nvmf_subsystem_remove_host",
	      RPC_P("{s:s, s:s}", "nqn", NQN1, "host", "nqn.2024-11.io.unvmf:psk-host"), -2,
	      "not in the allowed list");
	FAILS("nvmf_subsystem_add_host",
	      RPC_P("{s:s, s:s, s:s}", "nqn", NQN1, "host", HOST1, "pskx", "x"), -32602,
	      "unknown parameter 'pskx'");
	OK_DROP("nvmf_subsystem_remove_host", RPC_P("{s:s, s:s}", "nqn", NQN1, "host", HOST2));
	FAILS("nvmf_subsystem_remove_host", RPC_P("{s:s, s:s}", "nqn", NQN1, "host", HOST2), -2,
	      "not in the allowed list");
	s = get_subsystem(NQN1);
	assert_int_equal(json_array_size(json_object_get(s, "hosts")), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(s, "hosts"), 0), "nqn")),
	                    HOST1);
	json_decref(s);
	OK_DROP("nvmf_subsystem_allow_any_host",
	        RPC_P("{s:s, s:b}", "nqn", NQN1, "allow_any_host", 1));
	s = get_subsystem(NQN1);
	assert_true(json_is_true(json_object_get(s, "allow_any_host")));
	json_decref(s);
	OK_DROP("nvmf_subsystem_allow_any_host",
	        RPC_P("{s:s, s:b}", "nqn", NQN1, "allow_any_host", 0));
	FAILS("nvmf_subsystem_allow_any_host", RPC_P("{s:s}", "nqn", NQN1), -32602,
	      "'allow_any_host'");
	FAILS("nvmf_subsystem_allow_any_host",
	      RPC_P("{s:s, s:b}", "nqn", NQN2, "allow_any_host", 1), -19, NULL);
}

static int listen_busy_port(int *fd_out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*fd_out = fd;
	return ntohs(sa.sin_port);
}

static void test_listener_methods(void **state)
{
	char port[16], busy[16];
	int busy_fd;
	json_t *s;

	snprintf(port, sizeof(port), "%d", tgt_proc_free_port());
	snprintf(busy, sizeof(busy), "%d", listen_busy_port(&busy_fd));
	OK_DROP("nvmf_subsystem_add_listener",
	        RPC_P("{s:s, s:{s:s, s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype",
	              "tcp", "adrfam", "ipv4", "traddr", "127.0.0.1", "trsvcid", port));
	s = get_subsystem(NQN1);
	json_t *la = json_array_get(json_object_get(s, "listen_addresses"), 0);

	assert_string_equal(json_string_value(json_object_get(la, "trtype")), "TCP");
	assert_string_equal(json_string_value(json_object_get(la, "traddr")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(la, "trsvcid")), port);
	json_decref(s);
	FAILS("nvmf_subsystem_add_listener",
	      RPC_P("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP",
	            "traddr", "127.0.0.1", "trsvcid", port),
	      -17, "already listens");
	FAILS("nvmf_subsystem_add_listener",
	      RPC_P("{s:s, s:{s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP", "traddr",
	            "127.0.0.1"),
	      -32602, "listen_address: missing required parameter 'trsvcid'");
	FAILS("nvmf_subsystem_add_listener",
	      RPC_P("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "XX",
	            "traddr", "127.0.0.1", "trsvcid", port),
	      -32602, "'trtype'");
	FAILS("nvmf_subsystem_add_listener",
	      RPC_P("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "RDMA",
	            "traddr", "127.0.0.1", "trsvcid", port),
	      -93, "nvmf_create_transport");
	FAILS("nvmf_subsystem_add_listener",
	      RPC_P("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP",
	            "traddr", "127.0.0.1", "trsvcid", busy),
	      -98, "Address already in use");
	close(busy_fd);
	FAILS("nvmf_subsystem_add_listener",
	      RPC_P("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN2, "listen_address", "trtype", "TCP",
	            "traddr", "127.0.0.1", "trsvcid", port),
	      -19, NULL);
	/* The failures added nothing. */
	s = get_subsystem(NQN1);
	assert_int_equal(json_array_size(json_object_get(s, "listen_addresses")), 1);
	json_decref(s);
	OK_DROP("nvmf_subsystem_remove_listener",
	        RPC_P("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP",
	              "traddr", "127.0.0.1", "trsvcid", port));
	FAILS("nvmf_subsystem_remove_listener",
	      RPC_P("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP",
	            "traddr", "127.0.0.1", "trsvcid", port),
	      -2, "no listener");
}

static void test_referral_methods(void **state)
{
	json_t *r;

	OK_DROP("nvmf_discovery_add_referral",
	        RPC_P("{s:{s:s, s:s, s:s}}", "address", "trtype", "TCP", "traddr", "127.0.0.2",
	              "trsvcid", "4430"));
	OK_DROP("nvmf_discovery_add_referral",
	        RPC_P("{s:{s:s, s:s, s:s}, s:s, s:b}", "address", "trtype", "TCP", "traddr",
	              "127.0.0.3", "trsvcid", "4430", "subnqn", NQN1, "secure_channel", 1));
	FAILS("nvmf_discovery_add_referral",
	      RPC_P("{s:{s:s, s:s, s:s}}", "address", "trtype", "TCP", "traddr", "127.0.0.2",
	            "trsvcid", "4430"),
	      -17, "already exists");
	FAILS("nvmf_discovery_add_referral", RPC_P("{s:{s:s}}", "address", "trtype", "TCP"), -32602,
	      "address: missing required parameter");
	FAILS("nvmf_discovery_add_referral", NULL, -32602, "'address'");
	r = OK("nvmf_discovery_get_referrals", NULL);
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_array_get(r, 1), "address"), "traddr")),
	                    "127.0.0.3");
	assert_true(json_is_true(json_object_get(json_array_get(r, 1), "secure_channel")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "subnqn")),
	                    NQN1);
	json_decref(r);
	OK_DROP("nvmf_discovery_remove_referral",
	        RPC_P("{s:{s:s, s:s, s:s}}", "address", "trtype", "TCP", "traddr", "127.0.0.2",
	              "trsvcid", "4430"));
	FAILS("nvmf_discovery_remove_referral",
	      RPC_P("{s:{s:s, s:s, s:s}}", "address", "trtype", "TCP", "traddr", "127.0.0.2",
	            "trsvcid", "4430"),
	      -2, "no referral");
	r = OK("nvmf_discovery_get_referrals", NULL);
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
}

static void test_controllers_qpairs_stats(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	static uint8_t buf[8192];
	struct unvmf_trid trid;
	json_t *r, *c;
	long long done_io = 0, written = 0, lat_count = 0, tcp_done = 0;
	size_t i;
	json_t *g;

	tgt_proc_trid(&g_tp, DEFAULT_NQN, &trid);
	unvmf_host_opts_init(&opts);
	strcpy(opts.hostnqn, HOST1);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	for (int k = 0; k < 16; k++)
		assert_int_equal(e2e_write(qp, 1, (uint64_t)k * 16, 16, buf, sizeof(buf)), 0);

	r = OK("nvmf_subsystem_get_controllers", RPC_P("{s:s}", "nqn", DEFAULT_NQN));
	assert_int_equal(json_array_size(r), 1);
	c = json_array_get(r, 0);
	assert_string_equal(json_string_value(json_object_get(c, "hostnqn")), HOST1);
	assert_int_equal(json_integer_value(json_object_get(c, "num_io_qpairs")), 1);
	assert_true(json_integer_value(json_object_get(c, "cntlid")) > 0);
	json_decref(r);
	r = OK("nvmf_subsystem_get_controllers", RPC_P("{s:s}", "nqn", NQN1));
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	FAILS("nvmf_subsystem_get_controllers", RPC_P("{s:s}", "nqn", NQN2), -19, NULL);

	r = OK("nvmf_subsystem_get_qpairs", RPC_P("{s:s}", "nqn", DEFAULT_NQN));
	assert_int_equal(json_array_size(r), 2);
	json_array_foreach(r, i, c)
	{
		assert_string_equal(json_string_value(json_object_get(c, "state")), "active");
		assert_string_equal(json_string_value(json_object_get(
		                        json_object_get(c, "listen_address"), "trsvcid")),
		                    g_tp.port);
	}
	json_decref(r);
	FAILS("nvmf_subsystem_get_qpairs", RPC_P("{s:s}", "nqn", NQN2), -19, NULL);
	FAILS("nvmf_subsystem_get_qpairs", NULL, -32602, "'nqn'");

	r = OK("nvmf_get_stats", NULL);
	assert_true(json_is_integer(json_object_get(r, "tick_rate")));
	json_array_foreach(json_object_get(r, "poll_groups"), i, g)
	{
		done_io += json_integer_value(json_object_get(g, "completed_nvme_io"));
		written += json_integer_value(json_object_get(g, "bytes_written"));
		lat_count +=
		    json_integer_value(json_object_get(json_object_get(g, "latency"), "count"));
		tcp_done += json_integer_value(json_object_get(
		    json_array_get(json_object_get(g, "transports"), 0), "requests_completed"));
		assert_string_equal(
		    json_string_value(json_object_get(
		        json_array_get(json_object_get(g, "transports"), 0), "trtype")),
		    "TCP");
		assert_non_null(json_object_get(json_object_get(g, "latency"), "buckets"));
	}
	assert_true(done_io >= 16);
	assert_true(written >= 16 * 8192);
	/* Every I/O lands in the histogram and in its transport's completions (admin commands too).
	 */
	assert_true(lat_count >= done_io);
	assert_true(tcp_done >= done_io);
	json_decref(r);
	FAILS("nvmf_get_stats", RPC_P("{s:i}", "x", 1), -32602, "'x'");

	/* Fault injection is refused unless the target was started to allow it. */
	FAILS("nvmf_tcp_inject_fault", RPC_P("{s:s}", "fault", "disconnect"), -1,
	      "--enable-fault-injection");
	FAILS("nvmf_rdma_inject_fault", RPC_P("{s:s}", "fault", "qp_error"), -1,
	      "--enable-fault-injection");
	FAILS("nvmf_tcp_inject_fault", NULL, -32602, "'fault'");

	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

static void test_max_subsystems(void **state)
{
	/* default + NQN1 exist. */
	FAILS("nvmf_set_max_subsystems", RPC_P("{s:i}", "max_subsystems", 1), -16, "below");
	FAILS("nvmf_set_max_subsystems", RPC_P("{s:i}", "max_subsystems", 0), -32602,
	      "'max_subsystems'");
	FAILS("nvmf_set_max_subsystems", NULL, -32602, "'max_subsystems'");
	OK_DROP("nvmf_set_max_subsystems", RPC_P("{s:i}", "max_subsystems", 2));
	FAILS("nvmf_create_subsystem", RPC_P("{s:s}", "nqn", NQN2), -28, "maximum");
	OK_DROP("nvmf_set_max_subsystems", RPC_P("{s:i}", "max_subsystems", 1024));
}

static void test_delete_subsystem(void **state)
{
	OK_DROP("nvmf_create_subsystem", RPC_P("{s:s}", "nqn", NQN2));
	OK_DROP("nvmf_subsystem_add_ns",
	        RPC_P("{s:s, s:{s:s}}", "nqn", NQN2, "namespace", "bdev_name", "N1"));
	OK_DROP("nvmf_delete_subsystem", RPC_P("{s:s}", "nqn", NQN2));
	assert_null(get_subsystem(NQN2));
	FAILS("nvmf_delete_subsystem", RPC_P("{s:s}", "nqn", NQN2), -19, "does not exist");
	FAILS("nvmf_delete_subsystem",
	      RPC_P("{s:s}", "nqn", "nqn.2014-08.org.nvmexpress.discovery"), -22, "discovery");
	FAILS("nvmf_delete_subsystem", NULL, -32602, "'nqn'");
	/* Its namespace's bdev was released with it. */
	OK_DROP("bdev_null_delete", RPC_P("{s:s}", "name", "N1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_framework_methods),
	    cmocka_unit_test(test_bdev_methods),
	    cmocka_unit_test(test_transport_methods),
	    cmocka_unit_test(test_subsystem_methods),
	    cmocka_unit_test(test_listener_methods),
	    cmocka_unit_test(test_referral_methods),
	    cmocka_unit_test(test_controllers_qpairs_stats),
	    cmocka_unit_test(test_max_subsystems),
	    cmocka_unit_test(test_delete_subsystem),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
