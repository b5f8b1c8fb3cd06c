/*
 * Every JSON-RPC method's parameter decoding and handling, against a live
 * target (fuzz_rpc_env.h): the input is a sequence of calls, each naming a
 * method of the target's table by index (so every method is reached without
 * the fuzzer having to spell its name) with fuzzed params, run in order so
 * that later calls act on what earlier ones created (a transport, a
 * subsystem, a namespace, a listener).
 *
 * Input: records of [method index: 1 byte][params length: 2 bytes LE]
 * [params: JSON text]. Params that are not valid JSON are sent as a JSON
 * string (the envelope check must refuse them).
 *
 * Checked beyond the sanitizers: every call is answered and the target
 * shuts down cleanly afterwards (nothing leaked: LeakSanitizer runs too).
 */
#include "fuzz.h"
#include "fuzz_rpc_env.h"

#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"

#define FUZZ_MAX_CALLS 16

static size_t method_count(void)
{
	size_t n = 0;

	while (unvmf_rpc_method_name(n))
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, count;

	if (size > 65536)
		return 0;
	fuzz_rpc_begin();
	count = method_count();
	for (int i = 0; i < FUZZ_MAX_CALLS && count && size - off >= 3; i++) {
		const char *method = unvmf_rpc_method_name(data[off] % count);
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		json_t *params;

		off += 3;
		if (len > size - off)
			len = size - off;
		params = json_loadb((const char *)data + off, len, JSON_DECODE_ANY, NULL);
		if (!params)
			params = json_stringn((const char *)data + off, len);
		off += len;
		fuzz_rpc_call(method, params);
		json_decref(params);
	}
	fuzz_rpc_end();
	return 0;
}
