/* rpc framing: splitting a byte stream into JSON requests, partial input, garbage, size limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"

static enum unvmf_rpc_frame_result frame(const char *s, size_t limit, json_t **out, size_t *used)
{
	char err[256];

	return unvmf_rpc_frame_next(s, strlen(s), limit, out, used, err, sizeof(err));
}

static void test_frame_pipelined(void **state)
{
	const char *s = "  {\"a\":1}\n{\"b\":[1,2,{\"c\":\"}\"}]}{\"d\":3}";
	size_t off = 0, used;
	const char *keys[] = {"a", "b", "d"};
	json_t *v;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(unvmf_rpc_frame_next(s + off, strlen(s + off), 1024, &v, &used,
		                                      (char[64]){0}, 64),
		                 UNVMF_RPC_FRAME_OK);
		assert_non_null(json_object_get(v, keys[i]));
		json_decref(v);
		off += used;
	}
	assert_int_equal(off, strlen(s));
	assert_int_equal(frame("", 1024, &v, &used), UNVMF_RPC_FRAME_NEED_MORE);
	assert_int_equal(frame(" \r\n\t", 1024, &v, &used), UNVMF_RPC_FRAME_NEED_MORE);
	assert_int_equal(used, 4);
}

static void test_frame_partial_every_prefix(void **state)
{
	const char *s =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"s\":\"h\\u00e9\\\"}\"},\"id\":7}";
	char buf[256];
	json_t *v;
	size_t used;

	/* Every strict prefix waits for more; the whole parses. */
	for (size_t n = 1; n < strlen(s); n++) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		assert_int_equal(frame(buf, 1024, &v, &used), UNVMF_RPC_FRAME_NEED_MORE);
		assert_null(v);
	}
	assert_int_equal(frame(s, 1024, &v, &used), UNVMF_RPC_FRAME_OK);
	assert_int_equal(json_integer_value(json_object_get(v, "id")), 7);
	json_decref(v);
}

static void test_frame_utf8_split(void **state)
{
	/* "é" in UTF-8 cut after its first byte: not an error yet. */
	const char s[] = "{\"k\":\"\xc3";
	json_t *v;
	size_t used;

	assert_int_equal(frame(s, 1024, &v, &used), UNVMF_RPC_FRAME_NEED_MORE);
	assert_int_equal(frame("{\"k\":\"\xc3\xa9\"}", 1024, &v, &used), UNVMF_RPC_FRAME_OK);
	json_decref(v);
}

static void test_frame_garbage(void **state)
{
	const char *bad[] = {"hello", "{\"a\" 1}", "{\"a\":1,}", "]", "{\"a\":tru }", "\x01",
	                     "{\"a\":1,\"a\":2}", "42", "{\"a\":[1,2}]}",
	                     /* Unfinished, but broken well before its end. */
	                     "{\"a\" 1, \"b\": \"still typing"};
	json_t *v;
	size_t used;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(frame(bad[i], 1024, &v, &used), UNVMF_RPC_FRAME_PARSE_ERROR);
		assert_null(v);
	}
}

static void test_frame_too_large(void **state)
{
	size_t n = 5000;
	char *s = malloc(n + 16);
	json_t *v;
	size_t used;

	/* An unfinished value longer than the limit. */
	strcpy(s, "{\"x\":\"");
	memset(s + 6, 'a', n);
	s[6 + n] = '\0';
	assert_int_equal(frame(s, 4096, &v, &used), UNVMF_RPC_FRAME_TOO_LARGE);
	/* A complete one too. */
	strcpy(s + 6 + n, "\"}");
	assert_int_equal(frame(s, 4096, &v, &used), UNVMF_RPC_FRAME_TOO_LARGE);
	assert_null(v);
	/* Within the limit it is fine. */
	assert_int_equal(frame(s, 8192, &v, &used), UNVMF_RPC_FRAME_OK);
	json_decref(v);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_pipelined),
	    cmocka_unit_test(test_frame_partial_every_prefix),
	    cmocka_unit_test(test_frame_utf8_split),
	    cmocka_unit_test(test_frame_garbage),
	    cmocka_unit_test(test_frame_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
