/*
 * The NVMe/TCP target's receive path against a hostile host: the input is
 * the byte stream a host sends on one connection (ICReq, CapsuleCmds with
 * in-capsule data, H2CData, H2CTermReq, with or without digests). It enters
 * through a socketpair and the socket seam (src/sock), so everything runs as
 * in production: tcp_recv.c's state machine and the header/SGL/H2C checks
 * (proto/nvme_tcp_pdu.c, tcp_pdu.c), the request state machine (tcp_req.c,
 * R2Ts, buffers), the core behind it (Connect to a subsystem with a malloc
 * namespace, admin and I/O commands) and the responses going out
 * (tcp_send.c), on a manual reactor and a virtual clock. The harness reads
 * and drops the responses; a host cannot answer an R2T adaptively, but TTAGs
 * are request slots (0, 1, ...) so the fuzzer finds them.
 *
 * Input: byte 0 = flags (bit 0: rewrite every whole PDU's header and data
 * digests to their right values before sending, so the fuzzer gets past
 * the digest checks), then the stream. After the last byte the harness steps
 * until the target has been quiet for a while, then closes its end.
 *
 * Checked beyond the sanitizers (and the transport's own debug invariants,
 * tcp_check.c): the connection is freed once the host has gone.
 */
#include "fuzz.h"
#include "fuzz_tcp_stream.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nvmf_loop.h"
#include "transport/tcp/tcp_internal.h"
#include "transport/tcp/tcp_opts.h"

#define FUZZ_MAX_INPUT (128u * 1024)
#define FUZZ_QUIET_STEPS 6
#define FUZZ_MAX_STEPS 4000
#define FUZZ_FREE_STEPS 4000

static struct nvmf_loop g_loop;
static struct tcp_transport *g_tt;
static struct unvmf_trid g_listen;
static bool g_started;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_tcp_target: %s\n", what);
		abort();
	}
}

static void done_rc(void *arg, int rc)
{
	*(int *)arg = rc ? rc : 1;
}

static void target_start(void)
{
	struct nvmf_loop_opts opts;
	struct unvmf_transport_opts topts;
	int done = 0;

	nvmf_loop_opts_init(&opts);
	check(nvmf_loop_start(&g_loop, &opts) == 0, "target start");
	check(unvmf_transport_register(&unvmf_tcp_transport_ops) == 0, "register TCP");
	unvmf_tcp_transport_ops.opts_init(&topts);
	/*
	 * Enough buffers for a full queue of the largest I/O, and no more (a fast
	 * reset). Queues of 8: a connection's request slots and in-capsule areas
	 * then fit ASan's size-class allocator instead of an mmap and page
	 * faults per input (6x the rate), and a capsule beyond the queue size
	 * is a few PDUs away.
	 */
	topts.num_shared_buffers = 512;
	topts.max_queue_depth = 8;
	topts.max_aq_depth = 8;
	check(unvmf_tgt_add_transport(&topts, done_rc, &done) == 0, "add TCP transport");
	for (int i = 0; i < 1000 && !done; i++)
		nvmf_loop_step();
	check(done == 1, "TCP transport created");
	g_tt = (struct tcp_transport *)unvmf_tgt_find_transport(NVMF_TRTYPE_TCP);
	/* Port 0: a real listener (Connect checks the address) that can collide with nothing. */
	memset(&g_listen, 0, sizeof(g_listen));
	g_listen.trtype = NVMF_TRTYPE_TCP;
	g_listen.adrfam = NVMF_ADRFAM_IPV4;
	snprintf(g_listen.traddr, sizeof(g_listen.traddr), "127.0.0.1");
	snprintf(g_listen.trsvcid, sizeof(g_listen.trsvcid), "0");
	check(unvmf_subsystem_add_listener(g_loop.subsys, &g_listen) == 0, "listener");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unvmf_sock *sock;
	struct tcp_conn *conn;
	uint8_t *stream;
	size_t len;
	int fds[2];
	unsigned quiet = 0;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	if (!g_started) {
		target_start();
		g_started = true;
	}
	len = size - 1;
	stream = malloc(len ? len : 1);
	check(stream != NULL, "no memory");
	memcpy(stream, data + 1, len);
	if (data[0] & 1)
		fuzz_tcp_fix_digests(stream, len);

	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
	check(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0, "non-blocking");
	check(unvmf_sock_plain_create(fds[0], &sock) == 0, "sock");
	conn = tcp_conn_create(g_tt, sock, &g_listen);
	check(conn != NULL, "connection");
	/* As the accept poller does: from here the connection is the core's. */
	unvmf_tgt_new_qpair(&conn->qpair);
	fuzz_fd_write_all(fds[1], stream, len, nvmf_loop_step);
	for (int i = 0; i < FUZZ_MAX_STEPS && quiet < FUZZ_QUIET_STEPS; i++) {
		nvmf_loop_step();
		quiet = fuzz_fd_drain(fds[1]) ? 0 : quiet + 1;
	}
	close(fds[1]);
	for (int i = 0; i < FUZZ_FREE_STEPS && atomic_load(&g_tgt.live_qpairs); i++)
		nvmf_loop_step();
	check(atomic_load(&g_tgt.live_qpairs) == 0, "connection never freed after the host left");
	free(stream);
	return 0;
}
