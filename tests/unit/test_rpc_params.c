/* rpc parameter decoding: types, ranges, required/unknown members, trids, hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rpc/rpc.h"
#include "util/common.h"

struct p {
	const char *name;
	bool flag;
	uint8_t small;
	uint16_t mid;
	uint32_t u32;
	uint64_t u64;
	int32_t i;
	json_t *obj;
};

static const struct unvmf_rpc_param g_spec[] = {
    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct p, name, 0, 8),
    UNVMF_RPC_ROW("flag", UNVMF_RPC_BOOL, false, struct p, flag, 0, 0),
    UNVMF_RPC_ROW("small", UNVMF_RPC_UINT, false, struct p, small, 0, 0),
    UNVMF_RPC_ROW("mid", UNVMF_RPC_UINT, false, struct p, mid, 10, 20),
    UNVMF_RPC_ROW("u32", UNVMF_RPC_UINT, false, struct p, u32, 0, 0),
    UNVMF_RPC_ROW("u64", UNVMF_RPC_UINT, false, struct p, u64, 0, 0),
    UNVMF_RPC_ROW("i", UNVMF_RPC_INT, false, struct p, i, 0, 100),
    UNVMF_RPC_ROW("obj", UNVMF_RPC_OBJECT, false, struct p, obj, 0, 0),
};

static int decode(const char *json, struct p *out, uint64_t *present, char *err)
{
	json_t *j = json_loads(json, JSON_ALLOW_NUL, NULL);
	int rc;

	assert_non_null(j);
	memset(out, 0, sizeof(*out));
	rc = unvmf_json_params_decode(NULL, j, g_spec, UNVMF_ARRAY_SIZE(g_spec), out, present, err,
	                              256);
	json_decref(j);
	return rc;
}

static void test_decode_ok(void **state)
{
	json_t *j = json_loads("{\"name\":\"abc\",\"flag\":true,\"small\":255,\"mid\":15,"
	                       "\"u32\":4294967295,\"u64\":18446744073709551,\"i\":-5,\"obj\":{}}",
	                       0, NULL);
	struct p p = {0};
	uint64_t present = 0;
	char err[256];

	assert_int_equal(unvmf_json_params_decode(NULL, j, g_spec, UNVMF_ARRAY_SIZE(g_spec), &p,
	                                          &present, err, sizeof(err)),
	                 0);
	assert_string_equal(p.name, "abc");
	assert_true(p.flag);
	assert_int_equal(p.small, 255);
	assert_int_equal(p.mid, 15);
	assert_int_equal(p.u32, 4294967295u);
	assert_int_equal(p.u64, 18446744073709551ull);
	assert_int_equal(p.i, -5);
	assert_true(json_is_object(p.obj));
	assert_int_equal(present, 0xff);
	json_decref(j);
}

static void test_decode_errors_name_the_parameter(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
	    {"{}", "missing required parameter 'name'"},
	    {"{\"name\":null}", "missing required parameter 'name'"},
	    {"{\"name\":\"a\",\"bogus\":1}", "unknown parameter 'bogus'"},
	    {"{\"name\":5}", "invalid parameter 'name': expected a string, got an integer"},
	    {"{\"name\":\"123456789\"}", "invalid parameter 'name': longer than 8"},
	    {"{\"name\":\"a\",\"flag\":1}", "invalid parameter 'flag': expected a boolean"},
	    {"{\"name\":\"a\",\"small\":256}", "invalid parameter 'small': 256 is out of range"},
	    {"{\"name\":\"a\",\"small\":-1}", "invalid parameter 'small': -1 is out of range"},
	    {"{\"name\":\"a\",\"mid\":9}", "invalid parameter 'mid': 9 is out of range [10, 20]"},
	    {"{\"name\":\"a\",\"mid\":21}", "invalid parameter 'mid'"},
	    {"{\"name\":\"a\",\"u32\":4294967296}", "invalid parameter 'u32'"},
	    {"{\"name\":\"a\",\"u32\":1.5}", "expected an unsigned integer, got a real number"},
	    {"{\"name\":\"a\",\"u32\":\"7\"}", "expected an unsigned integer, got a string"},
	    {"{\"name\":\"a\",\"i\":101}", "invalid parameter 'i'"},
	    {"{\"name\":\"a\",\"obj\":[]}",
	     "invalid parameter 'obj': expected an object, got an array"},
	    {"{\"name\":\"a\\u0000b\"}", "contains a NUL"},
	};
	struct p p;
	char err[256];

	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		assert_int_not_equal(decode(cases[i].json, &p, NULL, err), 0);
		if (!strstr(err, cases[i].msg))
			fail_msg("%s: got '%s', want '%s'", cases[i].json, err, cases[i].msg);
	}
	/* Not an object at all. */
	json_t *arr = json_array();

	assert_int_not_equal(unvmf_json_params_decode(NULL, arr, g_spec, UNVMF_ARRAY_SIZE(g_spec),
	                                              &p, NULL, err, sizeof(err)),
	                     0);
	assert_non_null(strstr(err, "params must be an object"));
	json_decref(arr);
}

static void test_decode_trid(void **state)
{
	struct unvmf_trid t;
	char err[256];
	json_t *j =
	    json_loads("{\"trtype\":\"tcp\",\"traddr\":\"::1\",\"trsvcid\":\"4420\"}", 0, NULL);
	json_t *back;

	assert_int_equal(unvmf_rpc_decode_trid(j, "listen_address", &t, err, sizeof(err)), 0);
	assert_int_equal(t.trtype, NVMF_TRTYPE_TCP);
	assert_int_equal(t.adrfam, NVMF_ADRFAM_IPV6);
	assert_string_equal(t.traddr, "::1");
	back = unvmf_rpc_trid_json(&t);
	assert_string_equal(json_string_value(json_object_get(back, "trtype")), "TCP");
	assert_string_equal(json_string_value(json_object_get(back, "adrfam")),
	                    unvmf_adrfam_str(NVMF_ADRFAM_IPV6));
	json_decref(back);
	json_decref(j);

	j = json_loads("{\"trtype\":\"TCP\",\"traddr\":\"1.2.3.4\",\"trsvcid\":4420}", 0, NULL);
	assert_int_not_equal(unvmf_rpc_decode_trid(j, "listen_address", &t, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "listen_address: invalid parameter 'trsvcid'"));
	json_decref(j);
	j = json_loads("{\"trtype\":\"FC\",\"traddr\":\"1.2.3.4\",\"trsvcid\":\"1\"}", 0, NULL);
	assert_int_not_equal(unvmf_rpc_decode_trid(j, "address", &t, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "'trtype'"));
	json_decref(j);
	j = json_loads(
	    "{\"trtype\":\"TCP\",\"adrfam\":\"ib\",\"traddr\":\"1.2.3.4\",\"trsvcid\":\"1\"}", 0,
	    NULL);
	assert_int_not_equal(unvmf_rpc_decode_trid(j, "address", &t, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "'adrfam'"));
	json_decref(j);
	j = json_loads("{\"trtype\":\"TCP\",\"traddr\":\"1.2.3.4\"}", 0, NULL);
	assert_int_not_equal(unvmf_rpc_decode_trid(j, "address", &t, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "missing required parameter 'trsvcid'"));
	json_decref(j);
}

static void test_hex(void **state)
{
	uint8_t b[8];
	char s[17];

	assert_int_equal(unvmf_rpc_parse_hex("0011-2233-4455-66aF", b, 8), 0);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[7], 0xaf);
	unvmf_rpc_format_hex(b, 8, s);
	assert_string_equal(s, "00112233445566AF");
	assert_int_not_equal(unvmf_rpc_parse_hex("00112233445566", b, 8), 0);
	assert_int_not_equal(unvmf_rpc_parse_hex("00112233445566AF00", b, 8), 0);
	assert_int_not_equal(unvmf_rpc_parse_hex("0011223344556x6A", b, 8), 0);
	assert_int_not_equal(unvmf_rpc_parse_hex("00112233445566A", b, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_ok),
	    cmocka_unit_test(test_decode_errors_name_the_parameter),
	    cmocka_unit_test(test_decode_trid),
	    cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
