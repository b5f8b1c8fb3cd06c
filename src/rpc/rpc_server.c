/*
 * The JSON-RPC server: a UNIX stream socket on reactor 0, non-blocking, served
 * by one poller (the listen and client fds wake the reactor when idle).
 *
 * Per client, requests run one at a time in arrival order: while one is
 * pending (an asynchronous method), later ones stay in the receive buffer, so
 * replies leave in request order. A client that sends garbage or a request
 * over UNVMF_RPC_MAX_REQUEST gets one error reply and is closed; others are
 * unaffected. A client that disconnects while its request is pending is freed
 * when that request completes (the request still points at it).
 */
#include "rpc/rpc.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RPC_MAX_CLIENTS 64
#define RPC_READ_CHUNK 65536
/* Stop reading a client whose replies pile up unread. */
#define RPC_TX_HIGH_WATER (4u << 20)
#define RPC_CLOSE_LINGER_US 2000000

enum rpc_client_state {
	RPC_CLIENT_OPEN,
	RPC_CLIENT_CLOSING,  /* error sent: flush, then close */
	RPC_CLIENT_ORPHANED, /* fd closed, a request still pending; freed on its completion */
};

struct rpc_client {
	int fd;
	enum rpc_client_state state;
	char *rx;
	size_t rx_len, rx_cap;
	char *tx;
	size_t tx_off, tx_len, tx_cap;
	bool pending;    /* a request is executing */
	bool processing; /* inside client_process (synchronous completions must not recurse) */
	bool wake;       /* fd registered as a wake fd */
	bool peer_closed;
	uint64_t close_deadline_us;
	TAILQ_ENTRY(rpc_client) link;
};

static struct {
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct unvmf_poller *poller;
	struct unvmf_poller *timer;
	TAILQ_HEAD(, rpc_client) clients;
	unsigned num_clients;
	bool running;
} g_srv = {.listen_fd = -1};

static void client_process(struct rpc_client *c);

static void client_set_wake(struct rpc_client *c, bool on)
{
	if (c->wake == on)
		return;
	if (on) {
		if (unvmf_thread_add_wake_fd(c->fd) == 0)
			c->wake = true;
	} else {
		unvmf_thread_remove_wake_fd(c->fd);
		c->wake = false;
	}
}

static void client_free(struct rpc_client *c)
{
	free(c->rx);
	free(c->tx);
	free(c);
}

static void client_close(struct rpc_client *c)
{
	client_set_wake(c, false);
	close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&g_srv.clients, c, link);
	g_srv.num_clients--;
	if (c->pending) {
		c->state = RPC_CLIENT_ORPHANED;
		return;
	}
	client_free(c);
}

static int buf_reserve(char **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	char *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*buf, ncap);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

static void client_queue_response(struct rpc_client *c, json_t *response)
{
	size_t n = json_dumpb(response, NULL, 0, JSON_COMPACT);

	if (c->state != RPC_CLIENT_OPEN && c->state != RPC_CLIENT_CLOSING)
		return;
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	if (n == 0 || buf_reserve(&c->tx, &c->tx_cap, c->tx_len + n + 1)) {
		LOG_ERR("rpc: no memory for a response; closing the client");
		c->state = RPC_CLIENT_CLOSING;
		c->close_deadline_us = unvmf_now_us();
		return;
	}
	json_dumpb(response, c->tx + c->tx_len, n, JSON_COMPACT);
	c->tx_len += n;
	/* A newline after each reply helps line-oriented readers; JSON parsers skip it. */
	c->tx[c->tx_len++] = '\n';
}

/* Returns > 0 if it wrote, 0 if nothing to do or blocked, < 0 if the peer is gone. */
static int client_flush(struct rpc_client *c)
{
	int wrote = 0;

	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return wrote;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->tx_off += (size_t)n;
		wrote = 1;
	}
	c->tx_off = c->tx_len = 0;
	return wrote;
}

static void client_fail(struct rpc_client *c, int code, const char *message)
{
	json_t *resp = unvmf_rpc_error_response(NULL, code, message);

	LOG_NOTICE("rpc: client fd %d: %s; closing it", c->fd, message);
	if (resp) {
		client_queue_response(c, resp);
		json_decref(resp);
	}
	c->state = RPC_CLIENT_CLOSING;
	c->close_deadline_us = unvmf_now_us() + RPC_CLOSE_LINGER_US;
	c->rx_len = 0;
}

static void client_request_done(void *ctx, json_t *response, int code, const char *message)
{
	struct rpc_client *c = ctx;

	c->pending = false;
	if (c->state == RPC_CLIENT_ORPHANED) {
		client_free(c);
		return;
	}
	if (response)
		client_queue_response(c, response);
	if (!c->processing)
		client_process(c);
}

static void client_process(struct rpc_client *c)
{
	c->processing = true;
	while (c->state == RPC_CLIENT_OPEN && !c->pending && c->rx_len > 0 &&
	       c->tx_len - c->tx_off < RPC_TX_HIGH_WATER) {
		char err[256];
		size_t used;
		json_t *msg;
		enum unvmf_rpc_frame_result r = unvmf_rpc_frame_next(
		    c->rx, c->rx_len, UNVMF_RPC_MAX_REQUEST, &msg, &used, err, sizeof(err));

		if (r == UNVMF_RPC_FRAME_PARSE_ERROR || r == UNVMF_RPC_FRAME_TOO_LARGE) {
			client_fail(c, UNVMF_RPC_PARSE_ERROR, err);
			break;
		}
		memmove(c->rx, c->rx + used, c->rx_len - used);
		c->rx_len -= used;
		if (r == UNVMF_RPC_FRAME_NEED_MORE)
			break;
		c->pending = true;
		unvmf_rpc_execute(msg, client_request_done, c);
		json_decref(msg);
	}
	c->processing = false;
}

static bool client_wants_input(const struct rpc_client *c)
{
	return c->state == RPC_CLIENT_OPEN && !c->peer_closed &&
	       c->rx_len <= UNVMF_RPC_MAX_REQUEST && c->tx_len - c->tx_off < RPC_TX_HIGH_WATER;
}

/* Returns > 0 if it did work. May close (free) c. */
static int client_poll(struct rpc_client *c)
{
	int work = 0;
	int rc;

	if (client_wants_input(c)) {
		ssize_t n;

		if (buf_reserve(&c->rx, &c->rx_cap, c->rx_len + RPC_READ_CHUNK)) {
			client_fail(c, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		} else {
			n = recv(c->fd, c->rx + c->rx_len, RPC_READ_CHUNK, MSG_DONTWAIT);
			if (n > 0) {
				c->rx_len += (size_t)n;
				work = 1;
			} else if (n == 0 ||
			           (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				c->peer_closed = true;
				work = 1;
			}
		}
	}
	if (c->state == RPC_CLIENT_OPEN)
		client_process(c);
	rc = client_flush(c);
	if (rc < 0) {
		client_close(c);
		return 1;
	}
	work |= rc;
	if (c->state == RPC_CLIENT_CLOSING &&
	    (c->tx_len == 0 || unvmf_now_us() >= c->close_deadline_us)) {
		client_close(c);
		return 1;
	}
	/*
	 * The peer half-closed: answer what it sent, then close. Not pending
	 * means every complete request already ran; what is left is a fragment.
	 */
	if (c->peer_closed && !c->pending && c->tx_len == 0) {
		client_close(c);
		return 1;
	}
	/* Level-triggered wake: an fd we are not reading must not keep the reactor awake. */
	client_set_wake(c, client_wants_input(c));
	return work;
}

static int server_accept(void)
{
	int work = 0;

	for (;;) {
		int fd = accept4(g_srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct rpc_client *c;

		if (fd < 0)
			return work;
		work = 1;
		if (g_srv.num_clients >= RPC_MAX_CLIENTS) {
			LOG_WARN("rpc: %u clients already; refusing another", g_srv.num_clients);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = RPC_CLIENT_OPEN;
		TAILQ_INSERT_TAIL(&g_srv.clients, c, link);
		g_srv.num_clients++;
		client_set_wake(c, true);
	}
}

static int server_poll(void *arg)
{
	struct rpc_client *c, *tmp;
	int work = server_accept();

	TAILQ_FOREACH_SAFE(c, &g_srv.clients, link, tmp)
	work |= client_poll(c);
	return work;
}

/* Clients blocked on output or lingering after an error are not woken by their fd. */
static int server_timer(void *arg)
{
	struct rpc_client *c, *tmp;
	int work = 0;

	TAILQ_FOREACH_SAFE(c, &g_srv.clients, link, tmp)
	{
		if (c->tx_len || c->state == RPC_CLIENT_CLOSING || c->peer_closed)
			work |= client_poll(c);
	}
	return work;
}

/* Whether a target already serves path (a stale file from a crash does not count). */
static bool server_path_live(const struct sockaddr_un *sa)
{
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live = probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0;

	if (probe >= 0)
		close(probe);
	return live;
}

/*
 * The socket is bound and listening under a private name, then renamed onto
 * path: a client that sees the file can connect at once (a bind on path
 * itself leaves a window in which connects are refused), and the rename
 * replaces a stale file in one step.
 */
static int server_bind(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX}, tmp = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (server_path_live(&sa))
		return -EADDRINUSE;
	if (snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%d.tmp", path, (int)getpid()) >=
	    (int)sizeof(tmp.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(tmp.sun_path);
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) != 0)
		goto err_close;
	if (listen(fd, 16) != 0 || rename(tmp.sun_path, path) != 0)
		goto err_unlink;
	return fd;

err_unlink:
	rc = -errno;
	unlink(tmp.sun_path);
	close(fd);
	return rc;
err_close:
	rc = -errno;
	close(fd);
	return rc;
}

int unvmf_rpc_server_start(const char *path)
{
	int fd, rc;

	if (g_srv.running)
		return -EALREADY;
	fd = server_bind(path);
	if (fd < 0)
		return fd;
	g_srv.listen_fd = fd;
	unvmf_strlcpy(g_srv.path, path, sizeof(g_srv.path));
	TAILQ_INIT(&g_srv.clients);
	g_srv.num_clients = 0;
	g_srv.poller = unvmf_poller_register(server_poll, NULL, 0, "rpc_server");
	g_srv.timer = unvmf_poller_register(server_timer, NULL, 10000, "rpc_server_timer");
	if (!g_srv.poller || !g_srv.timer) {
		rc = -ENOMEM;
		goto err_pollers;
	}
	rc = unvmf_thread_add_wake_fd(fd);
	if (rc)
		goto err_pollers;
	g_srv.running = true;
	LOG_NOTICE("rpc: listening on %s", path);
	return 0;

err_pollers:
	if (g_srv.poller)
		unvmf_poller_unregister(&g_srv.poller);
	if (g_srv.timer)
		unvmf_poller_unregister(&g_srv.timer);
	close(fd);
	unlink(path);
	g_srv.listen_fd = -1;
	return rc;
}

void unvmf_rpc_server_stop(void)
{
	struct rpc_client *c, *tmp;

	if (!g_srv.running)
		return;
	g_srv.running = false;
	TAILQ_FOREACH_SAFE(c, &g_srv.clients, link, tmp)
	{
		client_flush(c);
		client_close(c);
	}
	unvmf_poller_unregister(&g_srv.poller);
	unvmf_poller_unregister(&g_srv.timer);
	unvmf_thread_remove_wake_fd(g_srv.listen_fd);
	close(g_srv.listen_fd);
	g_srv.listen_fd = -1;
	unlink(g_srv.path);
}
