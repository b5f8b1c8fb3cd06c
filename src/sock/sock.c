/*
 * The socket seam's calls that do not depend on the implementation: the
 * dispatch to the ops, options, readiness waits and write batches.
 */
#include "sock/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

void unvmf_sock_close(struct unvmf_sock *sock)
{
	if (sock)
		sock->ops->close(sock);
}

int unvmf_sock_fd(const struct unvmf_sock *sock)
{
	return sock->fd;
}

ssize_t unvmf_sock_recv(struct unvmf_sock *sock, void *buf, size_t len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};

	return sock->ops->readv(sock, &iov, 1);
}

ssize_t unvmf_sock_readv(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt)
{
	return sock->ops->readv(sock, iov, iovcnt);
}

ssize_t unvmf_sock_send(struct unvmf_sock *sock, const void *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

	return sock->ops->writev(sock, &iov, 1);
}

ssize_t unvmf_sock_writev(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt)
{
	return sock->ops->writev(sock, iov, iovcnt);
}

int unvmf_sock_handshake(struct unvmf_sock *sock)
{
	return sock->ops->handshake(sock);
}

bool unvmf_sock_pending(struct unvmf_sock *sock)
{
	return sock->ops->pending ? sock->ops->pending(sock) : false;
}

const char *unvmf_sock_kind(const struct unvmf_sock *sock)
{
	return sock->ops->name;
}

int unvmf_sock_poll(struct unvmf_sock *sock, bool want_read, bool want_write, int timeout_ms)
{
	struct pollfd pfd = {.fd = sock->fd};
	int rc;

	if (want_read)
		pfd.events |= POLLIN;
	if (want_write)
		pfd.events |= POLLOUT;
	do {
		rc = poll(&pfd, 1, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc > 0 ? 1 : 0;
}

int unvmf_sock_shutdown(struct unvmf_sock *sock, bool also_read)
{
	return shutdown(sock->fd, also_read ? SHUT_RDWR : SHUT_WR) == 0 ? 0 : -errno;
}

static int sock_setopt(struct unvmf_sock *sock, int level, int name, const void *val, socklen_t len)
{
	return setsockopt(sock->fd, level, name, val, len) == 0 ? 0 : -errno;
}

int unvmf_sock_set_nodelay(struct unvmf_sock *sock, bool on)
{
	int val = on ? 1 : 0;

	return sock_setopt(sock, IPPROTO_TCP, TCP_NODELAY, &val, sizeof(val));
}

int unvmf_sock_set_priority(struct unvmf_sock *sock, int priority)
{
	return sock_setopt(sock, SOL_SOCKET, SO_PRIORITY, &priority, sizeof(priority));
}

int unvmf_sock_set_user_timeout(struct unvmf_sock *sock, unsigned ms)
{
	return sock_setopt(sock, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

int unvmf_sock_set_abort_on_close(struct unvmf_sock *sock)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	return sock_setopt(sock, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

void unvmf_sock_batch_reset(struct unvmf_sock_batch *batch)
{
	batch->cnt = 0;
	batch->bytes = 0;
}

bool unvmf_sock_batch_add(struct unvmf_sock_batch *batch, const void *base, size_t len,
                          size_t *skip)
{
	if (*skip >= len) {
		*skip -= len;
		return true;
	}
	if (batch->cnt == UNVMF_SOCK_BATCH_IOV_MAX)
		return false;
	batch->iov[batch->cnt].iov_base = (uint8_t *)base + *skip;
	batch->iov[batch->cnt].iov_len = len - *skip;
	batch->bytes += len - *skip;
	batch->cnt++;
	*skip = 0;
	return true;
}

ssize_t unvmf_sock_batch_write(struct unvmf_sock *sock, const struct unvmf_sock_batch *batch)
{
	return sock->ops->writev(sock, batch->iov, batch->cnt);
}
