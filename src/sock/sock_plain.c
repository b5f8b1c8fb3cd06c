/*
 * Plain TCP behind the socket seam: non-blocking sendmsg/recvmsg, the
 * contract's error mapping in one place, and the listen/accept/connect that
 * produce plain sockets (a TLS socket is made from one of these).
 */
#include "sock/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* EWOULDBLOCK is EAGAIN on Linux but not by any standard: fold it here, once. */
static ssize_t plain_result(ssize_t n)
{
	if (n >= 0)
		return n;
	if (errno == EWOULDBLOCK)
		return -EAGAIN;
	return -errno;
}

static ssize_t plain_readv(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
	ssize_t n;

	do {
		n = recvmsg(sock->fd, &msg, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return plain_result(n);
}

static ssize_t plain_writev(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
	ssize_t n;

	do {
		n = sendmsg(sock->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return plain_result(n);
}

/* Plain TCP has nothing to negotiate. */
static int plain_handshake(struct unvmf_sock *sock)
{
	return UNVMF_SOCK_WANT_NONE;
}

static void plain_close(struct unvmf_sock *sock)
{
	if (sock->fd >= 0)
		close(sock->fd);
	free(sock);
}

static const struct unvmf_sock_ops g_plain_ops = {
    .name = "plain",
    .readv = plain_readv,
    .writev = plain_writev,
    .handshake = plain_handshake,
    .close = plain_close,
};

static int plain_alloc(int fd, struct unvmf_sock **out)
{
	struct unvmf_sock *sock = calloc(1, sizeof(*sock));

	if (!sock)
		return -ENOMEM;
	sock->ops = &g_plain_ops;
	sock->fd = fd;
	*out = sock;
	return 0;
}

int unvmf_sock_plain_create(int fd, struct unvmf_sock **out)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return plain_alloc(fd, out);
}

/*
 * Wraps an fd this file created with SOCK_NONBLOCK (no fcntl: an accept costs
 * one system call); on failure the fd is closed, so callers own one thing
 * either way.
 */
static int plain_adopt(int fd, struct unvmf_sock **out)
{
	int rc = plain_alloc(fd, out);

	if (rc)
		close(fd);
	return rc;
}

static int plain_resolve(const char *traddr, const char *trsvcid, bool ipv6, bool passive,
                         struct addrinfo **res)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};

	hints.ai_family = ipv6 ? AF_INET6 : AF_INET;
	/* A listener binds a literal address; a host may name its target. */
	if (passive)
		hints.ai_flags |= AI_PASSIVE | AI_NUMERICHOST;
	return getaddrinfo(traddr, trsvcid, &hints, res) == 0 ? 0 : -EINVAL;
}

int unvmf_sock_listen(const char *traddr, const char *trsvcid, bool ipv6, int backlog,
                      struct unvmf_sock **out)
{
	struct addrinfo *res;
	int fd, rc, one = 1;

	rc = plain_resolve(traddr, trsvcid, ipv6, true, &res);
	if (rc)
		return rc;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out_free_addr;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ipv6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
		rc = -errno;
		close(fd);
		goto out_free_addr;
	}
	rc = plain_adopt(fd, out);
out_free_addr:
	freeaddrinfo(res);
	return rc;
}

int unvmf_sock_accept(struct unvmf_sock *listener, struct unvmf_sock **out)
{
	int fd;

	do {
		fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return (int)plain_result(-1);
	return plain_adopt(fd, out);
}

static uint64_t plain_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits for a non-blocking connect to finish; 0 or -errno (-ETIMEDOUT). */
static int plain_connect_wait(struct unvmf_sock *sock, int timeout_ms)
{
	uint64_t deadline = plain_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	socklen_t len = sizeof(int);
	int soerr = 0;

	for (;;) {
		uint64_t now = plain_now_ms();
		int rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		rc = unvmf_sock_poll(sock, false, true, (int)(deadline - now) + 1);
		if (rc < 0)
			return rc;
		if (rc > 0)
			break;
	}
	if (getsockopt(sock->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -errno;
	return -soerr;
}

int unvmf_sock_connect(const char *traddr, const char *trsvcid, bool ipv6, int timeout_ms,
                       struct unvmf_sock **out)
{
	struct unvmf_sock *sock = NULL;
	struct addrinfo *res;
	int fd, rc;

	rc = plain_resolve(traddr, trsvcid, ipv6, false, &res);
	if (rc)
		return -EHOSTUNREACH;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out_free_addr;
	}
	rc = plain_adopt(fd, &sock);
	if (rc)
		goto out_free_addr;
	unvmf_sock_set_nodelay(sock, true);
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
		rc = errno == EINPROGRESS ? plain_connect_wait(sock, timeout_ms) : -errno;
		if (rc)
			goto out_close;
	}
	*out = sock;
	sock = NULL;
out_close:
	unvmf_sock_close(sock);
out_free_addr:
	freeaddrinfo(res);
	return rc;
}
