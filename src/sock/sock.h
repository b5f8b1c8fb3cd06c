#pragma once
/*
 * The socket seam of NVMe/TCP, shared by the target transport and the host
 * library: every byte either side reads or writes passes through a struct
 * unvmf_sock, so the stream can be plain TCP (sock_plain.c) or TLS
 * (sock_tls.c, sock_tls.h) behind the same calls.
 *
 * One contract for every implementation, kept here so callers test one set
 * of values:
 *   - sockets are non-blocking; nothing here ever waits except
 *     unvmf_sock_poll() and the connect timeout;
 *   - reads return the bytes read (> 0), 0 when the peer closed its side
 *     (FIN), -EAGAIN when nothing is there now, or another -errno;
 *   - writes return the bytes the kernel took (> 0, maybe fewer than asked),
 *     -EAGAIN when it took none, or -errno (-EPIPE, -ECONNRESET, ...);
 *     a write never raises SIGPIPE; after -EAGAIN the caller offers the
 *     same unsent bytes first again (TLS must re-send what it staged);
 *   - EINTR is retried inside and never returned;
 *   - bytes an implementation already took off the descriptor but has not
 *     returned yet (TLS records) are reported by unvmf_sock_pending(): the
 *     descriptor will not become readable for them.
 * A socket belongs to one thread at a time (the connection's owner).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct unvmf_sock;

/* Handshake progress: what the socket must become before unvmf_sock_handshake() is called again. */
enum unvmf_sock_want {
	UNVMF_SOCK_WANT_NONE = 0, /* handshake complete: the stream carries application data */
	UNVMF_SOCK_WANT_READ = 1,
	UNVMF_SOCK_WANT_WRITE = 2,
};

/*
 * What an implementation provides. readv/writev follow the contract above;
 * handshake returns an enum unvmf_sock_want or -errno; pending (optional)
 * says whether readable bytes wait inside the implementation; close releases
 * the descriptor and the object.
 */
struct unvmf_sock_ops {
	const char *name;
	ssize_t (*readv)(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt);
	ssize_t (*writev)(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt);
	int (*handshake)(struct unvmf_sock *sock);
	bool (*pending)(struct unvmf_sock *sock);
	void (*close)(struct unvmf_sock *sock);
};

/* An implementation embeds this first in its own object. */
struct unvmf_sock {
	const struct unvmf_sock_ops *ops;
	int fd;
};

/* Most iovecs one batched write takes: bounded well below IOV_MAX (1024). */
#define UNVMF_SOCK_BATCH_IOV_MAX 256

/*
 * A batch of byte ranges for one write: callers append the unsent parts of
 * their queued PDUs, write once, then retire what the kernel took.
 */
struct unvmf_sock_batch {
	struct iovec iov[UNVMF_SOCK_BATCH_IOV_MAX];
	int cnt;
	size_t bytes;
};

/* Plain TCP around a connected, listening or accepted fd (made non-blocking here). */
int unvmf_sock_plain_create(int fd, struct unvmf_sock **out);

/*
 * A listening TCP socket on traddr:trsvcid (numeric host and port), IPv6 only
 * when ipv6 (the IPv4 port stays free for its own listener), SO_REUSEADDR.
 */
int unvmf_sock_listen(const char *traddr, const char *trsvcid, bool ipv6, int backlog,
                      struct unvmf_sock **out);
/* The next pending connection of a listener: 0, -EAGAIN when none waits, or -errno. */
int unvmf_sock_accept(struct unvmf_sock *listener, struct unvmf_sock **out);
/* Connects to traddr:trsvcid, waiting at most timeout_ms. TCP_NODELAY is set. */
int unvmf_sock_connect(const char *traddr, const char *trsvcid, bool ipv6, int timeout_ms,
                       struct unvmf_sock **out);

/* Closes and frees sock; NULL is allowed. */
void unvmf_sock_close(struct unvmf_sock *sock);
/* The descriptor, for epoll/poll registration only: all I/O goes through the calls here. */
int unvmf_sock_fd(const struct unvmf_sock *sock);

ssize_t unvmf_sock_recv(struct unvmf_sock *sock, void *buf, size_t len);
ssize_t unvmf_sock_readv(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt);
ssize_t unvmf_sock_send(struct unvmf_sock *sock, const void *buf, size_t len);
ssize_t unvmf_sock_writev(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt);
/* Advances the handshake: an enum unvmf_sock_want (NONE when done) or -errno. */
int unvmf_sock_handshake(struct unvmf_sock *sock);
/* Whether a read would return bytes that no readiness event will announce. */
bool unvmf_sock_pending(struct unvmf_sock *sock);
/* The implementation's name ("plain", "tls"). */
const char *unvmf_sock_kind(const struct unvmf_sock *sock);
/*
 * Waits up to timeout_ms (-1: forever) for sock to become readable (want_read)
 * or writable (want_write): 1 when it is, 0 on timeout, or -errno.
 */
int unvmf_sock_poll(struct unvmf_sock *sock, bool want_read, bool want_write, int timeout_ms);

/* Stops sending (FIN after what is queued) or, with also_read, both directions. */
int unvmf_sock_shutdown(struct unvmf_sock *sock, bool also_read);

/* Options; each returns 0 or -errno. */
int unvmf_sock_set_nodelay(struct unvmf_sock *sock, bool on);
int unvmf_sock_set_priority(struct unvmf_sock *sock, int priority);
/* TCP_USER_TIMEOUT: how long sent data may stay unacknowledged before the kernel gives up. */
int unvmf_sock_set_user_timeout(struct unvmf_sock *sock, unsigned ms);
/* Close with RST instead of FIN (SO_LINGER 0), as a dying peer would. */
int unvmf_sock_set_abort_on_close(struct unvmf_sock *sock);

void unvmf_sock_batch_reset(struct unvmf_sock_batch *batch);
/*
 * Appends [base + *skip, base + len) unless *skip covers it (then takes len
 * off *skip). Returns false, appending nothing, when the batch is full.
 */
bool unvmf_sock_batch_add(struct unvmf_sock_batch *batch, const void *base, size_t len,
                          size_t *skip);
/* One write of the whole batch: as unvmf_sock_writev(). */
ssize_t unvmf_sock_batch_write(struct unvmf_sock *sock, const struct unvmf_sock_batch *batch);
