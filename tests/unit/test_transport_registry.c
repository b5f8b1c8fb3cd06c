/*
 * The transport seam without a built-in transport: a transport defined here
 * registers itself, decodes and dumps its own options, and fills its own
 * discovery entries, and the core and the RPC layer use it by name without a
 * line of theirs naming it. TCP is registered beside it to check that a
 * parameter given to the wrong transport is refused naming its owner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "nvmf/nvmf_internal.h"
#include "nvmf/transport.h"
#include "rpc/rpc.h"
#include "transport/tcp/tcp_opts.h"
#include "util/common.h"

/* ---- the test's own transport: "LOOP", on the spec's intra-host trtype ---- */

struct loop_opts {
	uint32_t ring_size;
	bool zero_copy;
	const char *label;
};

#define LOOP_PARAM(n, t, lo, hi) UNVMF_JSON_OPTION(#n, struct loop_opts, n, t, lo, hi)

static const struct unvmf_json_param g_loop_params[] = {
    LOOP_PARAM(ring_size, UINT, 8, 4096),
    LOOP_PARAM(zero_copy, BOOL, 0, 0),
    LOOP_PARAM(label, STRING, 0, 8),
};

static struct loop_opts *loop_opts(struct unvmf_transport_opts *o)
{
	return (struct loop_opts *)o->specific.bytes;
}

static void loop_opts_init(struct unvmf_transport_opts *o)
{
	unvmf_transport_opts_defaults(o, NVMF_TRTYPE_INTRA_HOST);
	loop_opts(o)->ring_size = 64;
	loop_opts(o)->zero_copy = false;
	loop_opts(o)->label = "none";
}

static const struct unvmf_json_param *loop_opts_accepts(const char *name)
{
	return unvmf_json_param_find(g_loop_params, UNVMF_ARRAY_SIZE(g_loop_params), name);
}

static int loop_opts_decode(struct unvmf_transport_opts *o, const json_t *params, char *err,
                            size_t err_len)
{
	return unvmf_json_params_decode(UNVMF_TRANSPORT_PARAMS_METHOD, params, g_loop_params,
	                                UNVMF_ARRAY_SIZE(g_loop_params), loop_opts(o), NULL, err,
	                                err_len);
}

static void loop_opts_dump(const struct unvmf_transport_opts *o, json_t *j)
{
	const struct loop_opts *l = (const struct loop_opts *)o->specific.bytes;

	json_object_set_new(j, "ring_size", json_integer(l->ring_size));
	json_object_set_new(j, "zero_copy", json_boolean(l->zero_copy));
}

static void loop_listener_discover(const struct unvmf_trid *trid,
                                   struct nvmf_discovery_log_entry *e)
{
	e->tsas.raw[0] = 0x5a;
	e->tsas.raw[1] = (uint8_t)strlen(trid->traddr);
}

static const struct unvmf_transport_ops g_loop_ops = {
    .name = "LOOP",
    .trtype = NVMF_TRTYPE_INTRA_HOST,
    .opts_init = loop_opts_init,
    .opts_accepts = loop_opts_accepts,
    .opts_decode = loop_opts_decode,
    .opts_dump = loop_opts_dump,
    .listener_discover = loop_listener_discover,
};

/* A second table claiming the same trtype under another name. */
static const struct unvmf_transport_ops g_loop_twin_ops = {
    .name = "LOOP2",
    .trtype = NVMF_TRTYPE_INTRA_HOST,
};

static int setup(void **state)
{
	struct unvmf_tgt_opts topts = {0};

	assert_int_equal(unvmf_transport_register(&g_loop_ops), 0);
	assert_int_equal(unvmf_transport_register(&unvmf_tcp_transport_ops), 0);
	assert_int_equal(unvmf_tgt_init(&topts), 0);
	unvmf_rpc_methods_reset();
	unvmf_rpc_register_nvmf_transport_methods();
	return 0;
}

static int teardown(void **state)
{
	unvmf_tgt_fini();
	return 0;
}

static void test_registry(void **state)
{
	assert_ptr_equal(unvmf_transport_ops_find_by_name("loop"), &g_loop_ops);
	assert_ptr_equal(unvmf_transport_ops_find_by_name("Loop"), &g_loop_ops);
	assert_ptr_equal(unvmf_transport_ops_find(NVMF_TRTYPE_INTRA_HOST), &g_loop_ops);
	assert_null(unvmf_transport_ops_find_by_name("LOOP2"));
	assert_string_equal(unvmf_transport_trtype_name(NVMF_TRTYPE_INTRA_HOST), "LOOP");
	/* A trtype nothing registered keeps the spec's name. */
	assert_string_equal(unvmf_transport_trtype_name(NVMF_TRTYPE_FC), "FC");
	/* Registering again is harmless; a second owner of the trtype is refused. */
	assert_int_equal(unvmf_transport_register(&g_loop_ops), 0);
	assert_int_equal(unvmf_transport_register(&g_loop_twin_ops), -EEXIST);
	assert_ptr_equal(unvmf_transport_ops_get(0), &g_loop_ops);
	assert_ptr_equal(unvmf_transport_ops_get(1), &unvmf_tcp_transport_ops);
	assert_null(unvmf_transport_ops_get(2));
}

static void test_decode(void **state)
{
	struct unvmf_transport_opts o;
	char err[256];
	json_t *p;

	g_loop_ops.opts_init(&o);
	p = json_pack("{s:i, s:b}", "ring_size", 512, "zero_copy", 1);
	assert_int_equal(g_loop_ops.opts_decode(&o, p, err, sizeof(err)), 0);
	json_decref(p);
	assert_int_equal(loop_opts(&o)->ring_size, 512);
	assert_true(loop_opts(&o)->zero_copy);
	/* The options travel with the common ones when opts are copied. */
	{
		struct unvmf_transport_opts copy = o;

		assert_int_equal(loop_opts(&copy)->ring_size, 512);
	}

	p = json_pack("{s:i}", "ring_size", 4);
	assert_int_equal(g_loop_ops.opts_decode(&o, p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "invalid parameter 'ring_size': 4 is out of range [8, 4096]");
	json_decref(p);
	p = json_pack("{s:s}", "zero_copy", "yes");
	assert_int_equal(g_loop_ops.opts_decode(&o, p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "invalid parameter 'zero_copy': expected a boolean, got a string");
	json_decref(p);
	p = json_pack("{s:s}", "label", "much-too-long");
	assert_int_equal(g_loop_ops.opts_decode(&o, p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "invalid parameter 'label': longer than 8 characters");
	json_decref(p);
	p = json_pack("{s:i}", "mystery", 1);
	assert_int_equal(g_loop_ops.opts_decode(&o, p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown parameter 'mystery'");
	json_decref(p);
}

struct outcome {
	int code;
	char message[256];
};

static void rpc_done(void *ctx, json_t *response, int code, const char *message)
{
	struct outcome *out = ctx;

	out->code = code;
	unvmf_strlcpy(out->message, message ? message : "", sizeof(out->message));
}

static struct outcome create_transport(json_t *params)
{
	struct outcome out = {.code = 1};

	unvmf_rpc_call("nvmf_create_transport", params, rpc_done, &out);
	json_decref(params);
	return out;
}

/* The RPC layer hands a transport's own parameters to it and names misplaced ones. */
static void test_rpc_create_refusals(void **state)
{
	struct outcome r;

	r = create_transport(json_pack("{s:s, s:i}", "trtype", "loop", "ring_size", 9999));
	assert_int_equal(r.code, UNVMF_RPC_INVALID_PARAMS);
	assert_string_equal(r.message,
	                    "invalid parameter 'ring_size': 9999 is out of range [8, 4096]");
	r = create_transport(json_pack("{s:s, s:i}", "trtype", "LOOP", "sock_priority", 1));
	assert_int_equal(r.code, UNVMF_RPC_INVALID_PARAMS);
	assert_string_equal(r.message, "invalid parameter 'sock_priority': applies to TCP only");
	r = create_transport(json_pack("{s:s, s:i}", "trtype", "TCP", "ring_size", 64));
	assert_int_equal(r.code, UNVMF_RPC_INVALID_PARAMS);
	assert_string_equal(r.message, "invalid parameter 'ring_size': applies to LOOP only");
	r = create_transport(json_pack("{s:s, s:i}", "trtype", "LOOP", "bogus", 1));
	assert_int_equal(r.code, UNVMF_RPC_INVALID_PARAMS);
	assert_string_equal(r.message, "unknown parameter 'bogus'");
	/* The common parameters are still checked by the RPC layer. */
	r = create_transport(json_pack("{s:s, s:i}", "trtype", "LOOP", "max_queue_depth", 1));
	assert_int_equal(r.code, UNVMF_RPC_INVALID_PARAMS);
	assert_non_null(strstr(r.message, "'max_queue_depth'"));
	/* The list of transports in the message comes from the registry. */
	r = create_transport(json_pack("{s:s}", "trtype", "FOO"));
	assert_int_equal(r.code, UNVMF_RPC_INVALID_PARAMS);
	assert_string_equal(r.message,
	                    "invalid parameter 'trtype': unknown transport 'FOO' (LOOP or TCP)");
}

/* nvmf_get_transports / save_config: common options plus the transport's own dump. */
static void test_dump(void **state)
{
	struct unvmf_transport t = {.ops = &g_loop_ops};
	json_t *j;

	g_loop_ops.opts_init(&t.opts);
	loop_opts(&t.opts)->ring_size = 128;
	j = unvmf_rpc_transport_json(&t);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "trtype")), "LOOP");
	assert_int_equal(json_integer_value(json_object_get(j, "max_queue_depth")), 128);
	assert_int_equal(json_integer_value(json_object_get(j, "ring_size")), 128);
	assert_true(json_is_false(json_object_get(j, "zero_copy")));
	assert_null(json_object_get(j, "c2h_success"));
	json_decref(j);
}

/* The discovery log asks the transport of each entry's trtype for its TSAS. */
static void test_discovery_entry(void **state)
{
	struct unvmf_trid loop = {.trtype = NVMF_TRTYPE_INTRA_HOST,
	                          .adrfam = NVMF_ADRFAM_INTRA_HOST};
	struct unvmf_trid tcp = {.trtype = NVMF_TRTYPE_TCP, .adrfam = NVMF_ADRFAM_IPV4};
	struct unvmf_trid fc = {.trtype = NVMF_TRTYPE_FC, .adrfam = NVMF_ADRFAM_FC};
	struct unvmf_trid local = {.trtype = NVMF_TRTYPE_TCP, .adrfam = NVMF_ADRFAM_IPV4};
	struct {
		struct nvmf_discovery_log_header hdr;
		struct nvmf_discovery_log_entry e[4];
	} log;
	unsigned seen = 0;

	strcpy(loop.traddr, "host-1");
	strcpy(loop.trsvcid, "1");
	strcpy(tcp.traddr, "10.0.0.1");
	strcpy(tcp.trsvcid, "4420");
	strcpy(fc.traddr, "nn-0x1");
	strcpy(fc.trsvcid, "none");
	strcpy(local.traddr, "127.0.0.1");
	strcpy(local.trsvcid, "4420");
	assert_int_equal(unvmf_tgt_add_referral(&loop, false), 0);
	assert_int_equal(unvmf_tgt_add_referral(&tcp, false), 0);
	assert_int_equal(unvmf_tgt_add_referral(&fc, false), 0);
	memset(&log, 0, sizeof(log));
	unvmf_discovery_log("nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001",
	                    &local, &log, 0, sizeof(log));
	for (unsigned i = 0; i < log.hdr.numrec && i < 4; i++) {
		const struct nvmf_discovery_log_entry *e = &log.e[i];

		if (e->trtype == NVMF_TRTYPE_INTRA_HOST) {
			assert_int_equal(e->tsas.raw[0], 0x5a);
			assert_int_equal(e->tsas.raw[1], strlen("host-1"));
			seen |= 1;
		} else if (e->trtype == NVMF_TRTYPE_FC) {
			/* No FC transport here: nobody fills its TSAS. */
			assert_int_equal(e->tsas.raw[0], 0);
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_rpc_create_refusals),
	    cmocka_unit_test(test_dump),
	    cmocka_unit_test(test_discovery_entry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
