/*
 * The NVMe-oF core against a hostile host's commands: Fabrics Connect,
 * Property Get/Set, every admin command (Identify, Get Log Page offsets and
 * lengths, Set/Get Features, Keep Alive, AER, Abort, ...) and I/O commands,
 * with their data, handed to the core as any transport does (unvmf_req_exec
 * with the transfer direction the opcode names and the length the SGL would
 * give) through tests/common/nvmf_loop: one target, one subsystem with a
 * 1 MiB malloc namespace, on a manual reactor and a virtual clock.
 *
 * Input: byte 0 = how far the queues are brought first (0: a bare queue, no
 * Connect; 1: an enabled controller on the admin queue; 2: and I/O queue 1),
 * then records of
 *     [flags: bit 0 = the I/O queue][data length: 2 bytes LE, <= 16 KiB]
 *     [64-byte SQE][the data, when the opcode moves it host to controller]
 * Controller-to-host data lands in a buffer of exactly that length, so a
 * byte written past it is an ASan report. Each command gets up to 64 reactor
 * steps (64 ms of virtual time) to complete; then both queues close.
 *
 * Checked beyond the sanitizers: every command completes (by the time its
 * queue is closed at the latest) and every queue is let go of.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvmf_loop.h"

#define FUZZ_MAX_CMDS 64
#define FUZZ_MAX_DATA 16384u
#define FUZZ_CMD_STEPS 64
#define FUZZ_DRAIN_STEPS 2000

static struct nvmf_loop g_loop;
static bool g_started;

struct fuzz_cmd {
	struct nvmf_loop_req *req;
	void *buf;
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_nvmf_cmd: %s\n", what);
		abort();
	}
}

static bool all_done(struct fuzz_cmd *cmds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!nvmf_loop_req_done(cmds[i].req, NULL))
			return false;
	}
	return true;
}

static void queues_open(uint8_t level)
{
	uint16_t cntlid = 0;

	if (level == 0) {
		check(nvmf_loop_qpair_open(&g_loop, &g_loop.admin) == 0, "open admin queue");
		return;
	}
	if (nvmf_loop_ctrlr_open(&g_loop, &g_loop.admin, &cntlid) != 0 || level == 1)
		return;
	nvmf_loop_io_open(&g_loop, &g_loop.io, 1, cntlid);
}

static void queues_close(void)
{
	if (g_loop.io.added || g_loop.io.finished)
		check(nvmf_loop_qpair_close(&g_loop.io) == 0, "I/O queue not let go of");
	if (g_loop.admin.added || g_loop.admin.finished)
		check(nvmf_loop_qpair_close(&g_loop.admin) == 0, "admin queue not let go of");
	memset(&g_loop.admin, 0, sizeof(g_loop.admin));
	memset(&g_loop.io, 0, sizeof(g_loop.io));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_cmd cmds[FUZZ_MAX_CMDS];
	unsigned n = 0;
	size_t off = 1;

	if (size < 1)
		return 0;
	if (!g_started) {
		struct nvmf_loop_opts opts;

		nvmf_loop_opts_init(&opts);
		check(nvmf_loop_start(&g_loop, &opts) == 0, "target start");
		g_started = true;
	}
	queues_open(data[0] % 3);
	while (n < FUZZ_MAX_CMDS && size - off >= 3 + sizeof(struct nvme_sqe)) {
		struct nvmf_loop_qpair *lq = (data[off] & 1) ? &g_loop.io : &g_loop.admin;
		uint32_t len =
		    ((uint32_t)data[off + 1] | (uint32_t)data[off + 2] << 8) % (FUZZ_MAX_DATA + 1);
		struct nvme_sqe sqe;
		enum unvmf_xfer xfer;

		memcpy(&sqe, data + off + 3, sizeof(sqe));
		off += 3 + sizeof(sqe);
		xfer = unvmf_cmd_xfer(&sqe);
		if (xfer == UNVMF_XFER_NONE)
			len = 0;
		if (!lq->added || lq->finished)
			continue;
		cmds[n].buf = len ? malloc(len) : NULL;
		if (len && xfer == UNVMF_XFER_HOST_TO_CONTROLLER) {
			size_t have = size - off < len ? size - off : len;

			memcpy(cmds[n].buf, data + off, have);
			memset((uint8_t *)cmds[n].buf + have, 0, len - have);
			off += have;
		} else if (len) {
			memset(cmds[n].buf, 0xa5, len);
		}
		cmds[n].req = nvmf_loop_submit(lq, &sqe, cmds[n].buf, len, xfer);
		check(cmds[n].req != NULL, "no memory");
		for (unsigned s = 0; s < FUZZ_CMD_STEPS && !nvmf_loop_req_done(cmds[n].req, NULL);
		     s++)
			nvmf_loop_step();
		n++;
	}
	queues_close();
	for (unsigned s = 0; s < FUZZ_DRAIN_STEPS && !all_done(cmds, n); s++)
		nvmf_loop_step();
	check(all_done(cmds, n), "a command never completed");
	check(atomic_load(&g_tgt.live_qpairs) == 0, "a queue was never freed");
	for (unsigned i = 0; i < n; i++) {
		nvmf_loop_req_free(cmds[i].req);
		free(cmds[i].buf);
	}
	return 0;
}
