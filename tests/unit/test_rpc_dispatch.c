/* rpc dispatch: JSON-RPC 2.0 envelope checks, error codes, notifications, async completion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "rpc/rpc.h"
#include "util/common.h"

static struct unvmf_rpc_request *g_parked;
static int g_handler_calls;

static void t_echo(struct unvmf_rpc_request *req, json_t *params)
{
	g_handler_calls++;
	unvmf_rpc_send_result(req, json_incref(params));
}

static void t_fail(struct unvmf_rpc_request *req, json_t *params)
{
	g_handler_calls++;
	unvmf_rpc_send_error(req, -EEXIST, "thing %d already exists", 7);
}

/* A domain error that happens to be -EPERM must not read as "invalid state" (-1). */
static void t_eperm(struct unvmf_rpc_request *req, json_t *params)
{
	g_handler_calls++;
	unvmf_rpc_send_error(req, -EPERM, "not permitted");
}

static void t_state(struct unvmf_rpc_request *req, json_t *params)
{
	g_handler_calls++;
	unvmf_rpc_send_invalid_state(req, "not now");
}

static void t_park(struct unvmf_rpc_request *req, json_t *params)
{
	g_handler_calls++;
	g_parked = req;
}

static const struct unvmf_rpc_method g_test_methods[] = {
    {"t_echo", t_echo},   {"t_fail", t_fail}, {"t_eperm", t_eperm},
    {"t_state", t_state}, {"t_park", t_park},
};

struct outcome {
	int calls;
	int code;
	char message[256];
	json_t *response;
};

static void done(void *ctx, json_t *response, int code, const char *message)
{
	struct outcome *o = ctx;

	o->calls++;
	o->code = code;
	snprintf(o->message, sizeof(o->message), "%s", message ? message : "");
	o->response = response ? json_incref(response) : NULL;
}

static struct outcome run(const char *text)
{
	struct outcome o = {0};
	json_t *msg = json_loads(text, JSON_DECODE_ANY, NULL);

	assert_non_null(msg);
	unvmf_rpc_execute(msg, done, &o);
	json_decref(msg);
	return o;
}

static int setup(void **state)
{
	unvmf_rpc_methods_reset();
	assert_int_equal(
	    unvmf_rpc_register_methods(g_test_methods, UNVMF_ARRAY_SIZE(g_test_methods)), 0);
	g_handler_calls = 0;
	g_parked = NULL;
	return 0;
}

static void expect_error(const char *text, int code, json_t *id, const char *msg_part)
{
	struct outcome o = run(text);
	json_t *err;

	assert_int_equal(o.calls, 1);
	assert_int_equal(o.code, code);
	assert_non_null(o.response);
	err = json_object_get(o.response, "error");
	assert_int_equal(json_integer_value(json_object_get(err, "code")), code);
	assert_string_equal(json_string_value(json_object_get(o.response, "jsonrpc")), "2.0");
	assert_true(json_equal(json_object_get(o.response, "id"), id));
	assert_null(json_object_get(o.response, "result"));
	if (!strstr(json_string_value(json_object_get(err, "message")), msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", text, o.message, msg_part);
	json_decref(o.response);
}

static void test_envelope_errors(void **state)
{
	json_t *null = json_null(), *id7 = json_integer(7), *ids = json_string("x");

	expect_error("[{\"jsonrpc\":\"2.0\",\"method\":\"t_echo\",\"id\":1}]", -32600, null,
	             "batch");
	expect_error("42", -32600, null, "JSON object");
	expect_error("{\"method\":\"t_echo\",\"id\":7}", -32600, id7, "jsonrpc");
	expect_error("{\"jsonrpc\":\"1.0\",\"method\":\"t_echo\",\"id\":7}", -32600, id7,
	             "jsonrpc");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":7}", -32600, id7, "method");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":\"x\"}", -32600, ids, "method");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"t_echo\",\"id\":{}}", -32600, null, "id");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"t_echo\",\"id\":7,\"params\":[1]}", -32602,
	             id7, "named");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"t_echo\",\"id\":7,\"params\":\"a\"}",
	             -32600, id7, "params");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":7}", -32601, id7, "nope");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"t_fail\",\"id\":7}", -EEXIST, id7,
	             "thing 7 already exists");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"t_eperm\",\"id\":7}", -EACCES, id7,
	             "not permitted");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"t_state\",\"id\":7}",
	             UNVMF_RPC_INVALID_STATE, id7, "not now");
	/* None of the malformed ones reached a handler; only t_fail, t_eperm and t_state did. */
	assert_int_equal(g_handler_calls, 3);
	json_decref(id7);
	json_decref(ids);
}

static void test_success_and_ids(void **state)
{
	struct outcome o = run("{\"jsonrpc\":\"2.0\",\"method\":\"t_echo\",\"id\":\"abc\","
	                       "\"params\":{\"k\":1}}");

	assert_int_equal(o.code, 0);
	assert_string_equal(json_string_value(json_object_get(o.response, "id")), "abc");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(o.response, "result"), "k")), 1);
	assert_null(json_object_get(o.response, "error"));
	json_decref(o.response);

	/* No params: the handler sees an empty object. A null id is answered with a null id. */
	o = run("{\"jsonrpc\":\"2.0\",\"method\":\"t_echo\",\"id\":null}");
	assert_non_null(o.response);
	assert_true(json_is_null(json_object_get(o.response, "id")));
	assert_int_equal(json_object_size(json_object_get(o.response, "result")), 0);
	json_decref(o.response);
}

static void test_notification(void **state)
{
	struct outcome o = run("{\"jsonrpc\":\"2.0\",\"method\":\"t_echo\"}");

	assert_int_equal(o.calls, 1);
	assert_int_equal(g_handler_calls, 1);
	assert_null(o.response);
	/* An invalid notification is still answered (JSON-RPC: invalid request). */
	o = run("{\"jsonrpc\":\"2.0\",\"method\":3}");
	assert_non_null(o.response);
	json_decref(o.response);
}

static void test_async_and_orphan(void **state)
{
	struct outcome o = {0};
	json_t *msg = json_loads("{\"jsonrpc\":\"2.0\",\"method\":\"t_park\",\"id\":1}", 0, NULL);

	unvmf_rpc_execute(msg, done, &o);

	assert_int_equal(o.calls, 0);
	assert_non_null(g_parked);
	assert_string_equal(unvmf_rpc_request_method(g_parked), "t_park");
	unvmf_rpc_send_bool(g_parked, true);
	assert_int_equal(o.calls, 1);
	assert_true(json_is_true(json_object_get(o.response, "result")));
	json_decref(o.response);

	memset(&o, 0, sizeof(o));
	unvmf_rpc_execute(msg, done, &o);
	json_decref(msg);
	unvmf_rpc_request_orphan(g_parked);
	unvmf_rpc_send_error(g_parked, -EIO, "late");
	assert_int_equal(o.calls, 0);
}

static void test_call_without_envelope(void **state)
{
	struct outcome o = {0};
	json_t *arr = json_array();

	unvmf_rpc_call("t_echo", NULL, done, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.code, 0);
	json_decref(o.response);
	memset(&o, 0, sizeof(o));
	unvmf_rpc_call("t_echo", arr, done, &o);
	assert_int_equal(o.code, -32602);
	json_decref(o.response);
	memset(&o, 0, sizeof(o));
	unvmf_rpc_call("missing", NULL, done, &o);
	assert_int_equal(o.code, -32601);
	json_decref(o.response);
	json_decref(arr);
}

static void test_registry(void **state)
{
	assert_int_equal(unvmf_rpc_register_methods(g_test_methods, 1), -EEXIST);
	assert_string_equal(unvmf_rpc_method_name(0), "t_echo");
	assert_null(unvmf_rpc_method_name(UNVMF_ARRAY_SIZE(g_test_methods)));
	/* The real table: every group registers without clashes, SPDK names present. */
	unvmf_rpc_methods_install();
	assert_non_null(unvmf_rpc_method_find("nvmf_subsystem_add_listener"));
	assert_non_null(unvmf_rpc_method_find("spdk_get_version"));
	assert_non_null(unvmf_rpc_method_find("bdev_aio_delete"));
	assert_null(unvmf_rpc_method_find("t_echo"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_envelope_errors, setup),
	    cmocka_unit_test_setup(test_success_and_ids, setup),
	    cmocka_unit_test_setup(test_notification, setup),
	    cmocka_unit_test_setup(test_async_and_orphan, setup),
	    cmocka_unit_test_setup(test_call_without_envelope, setup),
	    cmocka_unit_test_setup(test_registry, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
