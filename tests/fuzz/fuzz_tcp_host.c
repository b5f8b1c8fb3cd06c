/*
 * The NVMe/TCP host library against a hostile controller: the input is the
 * byte stream a controller sends on the admin connection (ICResp, then
 * CapsuleResps, C2HData, R2Ts and C2HTermReqs). A thread of the harness
 * plays the controller on a loopback TCP socket: it accepts, reads the
 * ICReq, sends the input, closes its sending side and reads whatever the host
 * sends until the host closes. It paces the stream by the host's own
 * progress (what the host sent, and whether it blocks waiting for more),
 * never by a timer. The host side is the real library end to end:
 * unvmf_host_connect() (ICResp checks, Fabrics Connect, properties, CSTS.RDY,
 * Identify, Set Features), then Identify Namespace, a Get Log Page, a Get
 * Features and a write-direction admin command (in-capsule or by R2T/H2CData),
 * then the disconnect: host_tcp_recv.c's state machine, the shared PDU checks
 * (proto/nvme_tcp_pdu.c) and the request state machine (host_tcp_req.c).
 *
 * Input: byte 0 = flags (bit 0: ask for header digests, bit 1: data digests,
 * bit 2: rewrite every whole PDU's digests to their right values), then the
 * controller's stream.
 *
 * Checked beyond the sanitizers: the library returns from every call (the
 * controller's EOF ends every wait) and frees what it allocated.
 */
#include "fuzz.h"
#include "fuzz_tcp_stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unvmf/host.h"
#include "unvmf/nvme_tcp_spec.h"
#include "proto/trid.h"
#include "util/log.h"

#define FUZZ_MAX_INPUT (128u * 1024)

static int g_listen_fd = -1;
static pid_t g_host_tid;
static uint16_t g_port;

struct ctrlr_play {
	const uint8_t *stream;
	size_t len;
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_tcp_host: %s\n", what);
		abort();
	}
}

static void listen_start(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(g_listen_fd >= 0, "socket");
	check(bind(g_listen_fd, (struct sockaddr *)&sin, sizeof(sin)) == 0, "bind");
	check(listen(g_listen_fd, 4) == 0, "listen");
	check(getsockname(g_listen_fd, (struct sockaddr *)&sin, &slen) == 0, "getsockname");
	g_port = ntohs(sin.sin_port);
}

static bool read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (uint8_t *)buf + got, len - got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* Reads one whole PDU the host sent (dropped); false on EOF or error. */
static bool read_host_pdu(int fd)
{
	struct nvme_tcp_common_pdu_hdr ch;
	uint8_t sink[4096];
	uint32_t left;

	if (!read_full(fd, &ch, sizeof(ch)) || ch.plen < sizeof(ch))
		return false;
	for (left = ch.plen - (uint32_t)sizeof(ch); left;) {
		uint32_t n = left < sizeof(sink) ? left : (uint32_t)sizeof(sink);

		if (!read_full(fd, sink, n))
			return false;
		left -= n;
	}
	return true;
}

/*
 * True when the host's thread sleeps in the kernel: the library only blocks
 * in its socket poll, so it then waits for the controller. No timer decides
 * when the controller goes on, so a run costs what the host computes.
 */
static bool host_blocked(void)
{
	char path[64], stat[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)g_host_tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return true;
	stat[n] = '\0';
	/* "tid (comm) S ...": comm may hold anything, the state follows its last ')'. */
	p = strrchr(stat, ')');
	return !p || p[1] != ' ' || p[2] == 'S' || p[2] == 'Z' || p[2] == 'X';
}

/*
 * Waits for the host's next PDU (read and dropped): true once one came, false
 * when the host has closed or waits for the controller (it sent nothing and
 * blocks in its poll), so the stream goes on without it.
 */
static bool wait_host_pdu(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	/* A short first look: the host usually answers at once. */
	for (int ms = 0;; ms = 1) {
		if (poll(&pfd, 1, ms) == 1)
			return read_host_pdu(fd);
		if (host_blocked())
			return poll(&pfd, 1, 0) == 1 ? read_host_pdu(fd) : false;
	}
}

/* True for the PDUs that end a command: CapsuleResp, C2HData with SUCCESS. */
static bool pdu_ends_command(const uint8_t *pdu)
{
	return pdu[0] == NVME_TCP_PDU_TYPE_CAPSULE_RESP ||
	       (pdu[0] == NVME_TCP_PDU_TYPE_C2H_DATA && (pdu[1] & 0x08));
}

/*
 * The controller's side of one connection. The stream goes out paced as a
 * controller would send it: the ICResp, then, before each command's worth
 * of PDUs (up to the one that ends a command), one PDU read from the host,
 * so that no response arrives before its command. A stream that stops
 * parsing as PDUs goes out as it is.
 */
static void *ctrlr_main(void *arg)
{
	struct ctrlr_play *play = arg;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct pollfd pfd = {.fd = g_listen_fd, .events = POLLIN};
	uint8_t icreq[sizeof(struct nvme_tcp_ic_req)], sink[65536];
	size_t off = 0;
	bool first = true;
	int fd;

	if (poll(&pfd, 1, 5000) != 1)
		return NULL;
	fd = accept4(g_listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (!read_full(fd, icreq, sizeof(icreq)))
		off = play->len;
	while (off < play->len) {
		size_t pdu_len = play->len - off;
		bool ends = false;
		ssize_t n;

		if (pdu_len >= sizeof(struct nvme_tcp_common_pdu_hdr)) {
			uint32_t plen;

			memcpy(&plen, play->stream + off + 4, sizeof(plen));
			if (plen >= sizeof(struct nvme_tcp_common_pdu_hdr) && plen <= pdu_len) {
				pdu_len = plen;
				ends = pdu_ends_command(play->stream + off);
			}
		}
		for (size_t done = 0; done < pdu_len; done += (size_t)n) {
			n = send(fd, play->stream + off + done, pdu_len - done, MSG_NOSIGNAL);
			if (n <= 0)
				goto close_conn;
		}
		off += pdu_len;
		/* After the ICResp and after each command's end: wait for the next command. */
		if (first || ends)
			wait_host_pdu(fd);
		first = false;
	}
close_conn:
	shutdown(fd, SHUT_WR);
	while (read(fd, sink, sizeof(sink)) > 0)
		;
	/* The host has closed: reset rather than leave a TIME_WAIT per input. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return NULL;
}

static void host_session(uint8_t flags)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	char spec[256];
	uint8_t *buf = calloc(1, 16384);
	struct nvme_sqe sqe;
	uint32_t dw0;

	check(buf != NULL, "no memory");
	snprintf(
	    spec, sizeof(spec),
	    "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%u subnqn:nqn.2024-11.io.unvmf:fuzz",
	    g_port);
	check(unvmf_trid_parse(&trid, spec) == 0, "trid");
	unvmf_host_opts_init(&opts);
	opts.header_digest = flags & 1;
	opts.data_digest = flags & 2;
	opts.kato_ms = 0;
	opts.connect_timeout_ms = 2000;
	opts.admin_timeout_ms = 2000;
	if (unvmf_host_connect(&trid, &opts, &ctrlr, NULL) == 0) {
		unvmf_host_identify_ns(ctrlr, 1, (struct nvme_id_ns *)buf);
		unvmf_host_get_log_page(ctrlr, 2, 0xffffffff, 0, buf, 512);
		unvmf_host_get_features(ctrlr, 7, 0, NULL, 0, &dw0);
		/* A vendor write-direction command: in-capsule if it fits, else R2T/H2CData. */
		memset(&sqe, 0, sizeof(sqe));
		sqe.opc = 0xc1;
		unvmf_host_admin_cmd(ctrlr, &sqe, buf, 16384, UNVMF_HOST_DIR_TO_CTRLR, NULL, 0);
		unvmf_host_admin_poll(ctrlr);
		unvmf_host_disconnect(ctrlr);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctrlr_play play;
	pthread_t thread;
	uint8_t *stream;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	if (g_listen_fd < 0) {
		unvmf_log_set_level(UNVMF_LOG_ERROR);
		listen_start();
	}
	play.len = size - 1;
	stream = malloc(play.len ? play.len : 1);
	check(stream != NULL, "no memory");
	memcpy(stream, data + 1, play.len);
	if (data[0] & 4)
		fuzz_tcp_fix_digests(stream, play.len);
	play.stream = stream;
	g_host_tid = gettid();
	check(pthread_create(&thread, NULL, ctrlr_main, &play) == 0, "thread");
	host_session(data[0]);
	pthread_join(thread, NULL);
	free(stream);
	return 0;
}
