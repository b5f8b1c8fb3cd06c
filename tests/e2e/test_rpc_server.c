/*
 * The JSON-RPC server on its socket: garbage and oversize requests close only
 * the offending client; pipelined requests are answered in order (also behind
 * asynchronous methods); many clients at once; requests split into tiny
 * writes; notifications; a client leaving with a request pending.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_rpc_client.h"
#include "tgt_proc.h"

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	return tgt_proc_start_or_dump(&g_tp, NULL);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 20);
}

static struct rpc_conn open_conn(void)
{
	struct rpc_conn c;

	assert_int_equal(rpc_conn_open(&c, g_tp.rpc_sock), 0);
	return c;
}

/* The server still answers a fresh client. */
static void assert_server_healthy(void)
{
	struct rpc_conn c = open_conn();
	json_t *r = rpc_call(&c, "spdk_get_version", NULL);

	assert_non_null(r);
	assert_int_equal(rpc_resp_code(r), 0);
	json_decref(r);
	rpc_conn_close(&c);
}

static void expect_error_then_close(const char *garbage, int code)
{
	struct rpc_conn c = open_conn(), other = open_conn();
	bool eof;
	json_t *r;

	rpc_send_str(&c, garbage);
	r = rpc_recv(&c, 5000, &eof);
	assert_non_null(r);
	assert_int_equal(rpc_resp_code(r), code);
	assert_true(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	assert_true(rpc_wait_closed(&c, 5000));
	rpc_conn_close(&c);
	/* A client connected all along is unaffected. */
	r = rpc_call(&other, "framework_wait_init", NULL);
	assert_int_equal(rpc_resp_code(r), 0);
	json_decref(r);
	rpc_conn_close(&other);
}

static void test_garbage_closes_that_client(void **state)
{
	expect_error_then_close("this is not json\n", -32700);
	expect_error_then_close("{\"jsonrpc\": \"2.0\", \"method\" \"x\", \"id\": 1, \"pad\": "
	                        "\"...........\"",
	                        -32700);
	expect_error_then_close("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":1,\"id\":2}", -32700);
	expect_error_then_close("\x01\x02\x03", -32700);
	assert_server_healthy();
}

static void test_invalid_requests_keep_the_connection(void **state)
{
	struct rpc_conn c = open_conn();
	static const struct {
		const char *text;
		int code;
	} cases[] = {
	    {"[]", -32600},
	    {"[{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\",\"id\":1}]", -32600},
	    {"{\"method\":\"spdk_get_version\",\"id\":1}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"method\":[],\"id\":1}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\",\"id\":[1]}", -32600},
	    {"{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\",\"id\":1,\"params\":[1]}",
	     -32602},
	    {"{\"jsonrpc\":\"2.0\",\"method\":\"nope_nope\",\"id\":1}", -32601},
	    {"{\"jsonrpc\":\"2.0\",\"method\":\"nvmf_create_subsystem\",\"id\":1,\"params\":{}}",
	     -32602},
	    {"{\"jsonrpc\":\"2.0\",\"method\":\"nvmf_create_subsystem\",\"id\":1,"
	     "\"params\":{\"nqn\":7}}",
	     -32602},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r;

		rpc_send_str(&c, cases[i].text);
		r = rpc_recv(&c, 5000, NULL);
		if (!r || rpc_resp_code(r) != cases[i].code)
			fail_msg("%s: want %d, got %d", cases[i].text, cases[i].code,
			         r ? rpc_resp_code(r) : 0);
		assert_non_null(rpc_resp_message(r));
		json_decref(r);
	}
	/* Still open and serving. */
	json_t *r = rpc_call(&c, "spdk_get_version", NULL);

	assert_int_equal(rpc_resp_code(r), 0);
	json_decref(r);
	rpc_conn_close(&c);
}

static void test_oversize_request(void **state)
{
	struct rpc_conn c = open_conn();
	size_t n = 1200 * 1024;
	char *big = malloc(n + 128);
	json_t *r;
	bool eof;

	strcpy(
	    big,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\",\"id\":1,\"params\":{\"x\":\"");
	memset(big + strlen(big), 'a', n);
	big[n] = '\0';
	/* The server may close before all of it went out: the send error is expected. */
	rpc_send_raw(&c, big, n);
	r = rpc_recv(&c, 5000, &eof);
	assert_non_null(r);
	assert_int_equal(rpc_resp_code(r), -32700);
	assert_non_null(strstr(rpc_resp_message(r), "larger than"));
	json_decref(r);
	assert_true(rpc_wait_closed(&c, 5000));
	rpc_conn_close(&c);
	free(big);
	/* Just under the limit is served. */
	c = open_conn();
	n = 1000 * 1024;
	big = malloc(n + 128);
	strcpy(
	    big,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"bdev_get_bdevs\",\"id\":9,\"params\":{\"name\":\"");
	memset(big + strlen(big), 'b', n);
	strcpy(big + n, "\"}}");
	assert_int_equal(rpc_send_raw(&c, big, strlen(big)), 0);
	r = rpc_recv(&c, 5000, NULL);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
	assert_int_equal(rpc_resp_code(r), -19); /* served: no bdev has that name */
	json_decref(r);
	rpc_conn_close(&c);
	free(big);
	assert_server_healthy();
}

static void test_pipelined_in_order(void **state)
{
	struct rpc_conn c = open_conn();
	const char *methods[] = {"spdk_get_version",      "nvmf_get_stats",        "bdev_get_bdevs",
	                         "nvmf_create_subsystem", "nvmf_delete_subsystem", "nope",
	                         "nvmf_get_subsystems"};
	char *all = calloc(1, 200 * 256);
	int n = 0;

	for (int i = 0; i < 200; i++) {
		const char *m = methods[i % 7];
		char one[256];

		if (strcmp(m, "nvmf_create_subsystem") == 0 ||
		    strcmp(m, "nvmf_delete_subsystem") == 0)
			snprintf(
			    one, sizeof(one),
			    "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":%d,\"params\":{\"nqn\":"
			    "\"nqn.2016-06.io.spdk:pipe%d\"}}",
			    m, i, i / 7);
		else
			snprintf(one, sizeof(one),
			         "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":%d}", m, i);
		strcat(all, one);
		/* A notification in between gets no reply. */
		if (i % 50 == 0)
			strcat(all, "{\"jsonrpc\":\"2.0\",\"method\":\"framework_wait_init\"}");
	}
	assert_int_equal(rpc_send_str(&c, all), 0);
	for (int i = 0; i < 200; i++) {
		json_t *r = rpc_recv(&c, 10000, NULL);

		assert_non_null(r);
		if (json_integer_value(json_object_get(r, "id")) != i)
			fail_msg("reply %d has id %lld", i,
			         (long long)json_integer_value(json_object_get(r, "id")));
		/* create and delete of the same subsystem both succeed, in order. */
		if (i % 7 == 5)
			assert_int_equal(rpc_resp_code(r), -32601);
		else
			assert_int_equal(rpc_resp_code(r), 0);
		json_decref(r);
		n++;
	}
	assert_int_equal(n, 200);
	free(all);
	rpc_conn_close(&c);
}

static void test_many_clients_interleaved(void **state)
{
	enum { NCLIENTS = 16, ROUNDS = 20 };
	struct rpc_conn c[NCLIENTS];
	const char *half = "{\"jsonrpc\":\"2.0\",\"method\":\"nvmf_get_st";

	for (int i = 0; i < NCLIENTS; i++)
		c[i] = open_conn();
	/* Client 0 sends half a request: it must not hold up anybody. */
	rpc_send_str(&c[0], half);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 1; i < NCLIENTS; i++) {
			char req[128];

			snprintf(
			    req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":%d}",
			    (round + i) % 2 ? "nvmf_get_stats" : "bdev_get_bdevs", round * 100 + i);
			assert_int_equal(rpc_send_str(&c[i], req), 0);
		}
		for (int i = 1; i < NCLIENTS; i++) {
			json_t *r = rpc_recv(&c[i], 10000, NULL);

			assert_non_null(r);
			assert_int_equal(json_integer_value(json_object_get(r, "id")),
			                 round * 100 + i);
			assert_int_equal(rpc_resp_code(r), 0);
			json_decref(r);
		}
	}
	rpc_send_str(&c[0], "s\",\"id\":77}");
	json_t *r = rpc_recv(&c[0], 5000, NULL);

	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 77);
	json_decref(r);
	for (int i = 0; i < NCLIENTS; i++)
		rpc_conn_close(&c[i]);
}

static void test_byte_by_byte(void **state)
{
	struct rpc_conn c = open_conn();
	const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"bdev_get_bdevs\",\"id\":\"é\","
	                  "\"params\":{\"name\":\"Malloc0\"}}";
	json_t *r;

	for (size_t i = 0; req[i]; i++) {
		assert_int_equal(rpc_send_raw(&c, req + i, 1), 0);
		usleep(200);
	}
	r = rpc_recv(&c, 5000, NULL);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "é");
	assert_int_equal(rpc_resp_code(r), 0);
	json_decref(r);
	rpc_conn_close(&c);
}

static void test_client_leaves_with_request_pending(void **state)
{
	for (int i = 0; i < 20; i++) {
		struct rpc_conn c = open_conn();

		/* nvmf_get_stats completes after visiting every reactor; the client is gone by
		 * then. */
		rpc_send_str(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"nvmf_get_stats\",\"id\":1}"
		                 "{\"jsonrpc\":\"2.0\",\"method\":\"nvmf_get_stats\",\"id\":2}");
		rpc_conn_close(&c);
	}
	/* Half-close: the replies to what was sent still come back, then EOF. */
	struct rpc_conn h = open_conn();

	rpc_send_str(&h, "{\"jsonrpc\":\"2.0\",\"method\":\"nvmf_get_stats\",\"id\":5}");
	shutdown(h.fd, SHUT_WR);
	json_t *r = rpc_recv(&h, 5000, NULL);

	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	json_decref(r);
	assert_true(rpc_wait_closed(&h, 5000));
	rpc_conn_close(&h);
	assert_server_healthy();
}

static void test_socket_in_use(void **state)
{
	/* A second target on the same socket path refuses to start; the first keeps serving. */
	struct tgt_proc second;
	const char *args[] = {"-p", NULL, "-r", g_tp.rpc_sock, NULL};
	char port[16];
	int status;

	tgt_proc_prepare(&second);
	snprintf(port, sizeof(port), "%s", second.port);
	args[1] = port;
	assert_int_equal(tgt_proc_exec(&second, args, true), -ECHILD);
	(void)status;
	assert_server_healthy();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_garbage_closes_that_client),
	    cmocka_unit_test(test_invalid_requests_keep_the_connection),
	    cmocka_unit_test(test_oversize_request),
	    cmocka_unit_test(test_pipelined_in_order),
	    cmocka_unit_test(test_many_clients_interleaved),
	    cmocka_unit_test(test_byte_by_byte),
	    cmocka_unit_test(test_client_leaves_with_request_pending),
	    cmocka_unit_test(test_socket_in_use),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
