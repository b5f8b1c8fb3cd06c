/*
 * The JSON-RPC server's input as a hostile client of its UNIX socket sends
 * it: a byte stream cut into requests by unvmf_rpc_frame_next() (rpc_frame.c)
 * exactly as rpc_server.c does, each request then run through the envelope
 * checks and the method it names (rpc_dispatch.c and every method), against
 * a live target (fuzz_rpc_env.h). Pipelined requests run in order, as on a
 * connection; a parse error or an oversized request ends the stream as it
 * ends the connection.
 *
 * Input: the stream. Checked beyond the sanitizers: the framer's consumed
 * count stays inside the buffer and moves forward, every request is
 * answered, and the target shuts down cleanly afterwards.
 */
#include "fuzz.h"
#include "fuzz_rpc_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"

/* Small enough that inputs reach TOO_LARGE; the server uses UNVMF_RPC_MAX_REQUEST. */
#define FUZZ_FRAME_LIMIT 16384u
#define FUZZ_MAX_REQUESTS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, err[256];
	size_t off = 0;

	if (size > 4 * FUZZ_FRAME_LIMIT)
		return 0;
	/* The server's buffer holds exactly what was read: no terminating NUL. */
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	fuzz_rpc_begin();
	for (int i = 0; i < FUZZ_MAX_REQUESTS; i++) {
		json_t *msg = NULL;
		size_t consumed = 0;
		enum unvmf_rpc_frame_result r = unvmf_rpc_frame_next(
		    buf + off, size - off, FUZZ_FRAME_LIMIT, &msg, &consumed, err, sizeof(err));

		if (consumed > size - off) {
			fprintf(stderr, "fuzz_rpc_frame: consumed %zu of %zu\n", consumed,
			        size - off);
			abort();
		}
		if (r != UNVMF_RPC_FRAME_OK) {
			json_decref(msg);
			break;
		}
		if (consumed == 0) {
			fprintf(stderr, "fuzz_rpc_frame: a request consumed no byte\n");
			abort();
		}
		off += consumed;
		fuzz_rpc_run(msg);
		json_decref(msg);
	}
	fuzz_rpc_end();
	free(buf);
	return 0;
}
