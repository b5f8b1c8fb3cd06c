/*
 * TLS 1.3 (PSK only) behind the socket seam, with OpenSSL.
 *
 * The descriptor stays non-blocking and OpenSSL reaches it through a small
 * BIO of our own (send with MSG_NOSIGNAL: a dead peer never raises SIGPIPE).
 * Reads fill the caller's iovecs from as many records as are there. Writes
 * copy the caller's bytes into one staging buffer and hand that to
 * SSL_write_ex: after a WANT_WRITE, OpenSSL needs the very same bytes again,
 * and the seam's callers retry with the same bytes first (their unsent queue
 * head), so the staged copy is what is retried and the caller is told
 * -EAGAIN until OpenSSL took it.
 */
#include "sock/sock_tls.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TLS_WBUF_SIZE (64u * 1024u)
/* First byte of a TLS handshake record. */
#define TLS_RECORD_HANDSHAKE 0x16

struct tls_sock {
	struct unvmf_sock base;
	SSL *ssl;
	bool server;
	bool peeked; /* server: the first byte was checked to be TLS */
	bool done;   /* handshake complete */
	int fail_rc; /* why the handshake failed (the callbacks' verdicts) */
	uint8_t *wbuf;
	size_t wpending; /* staged bytes OpenSSL still has to take (0: none) */
	/* Client: what it offers. Server: the lookup, then what the client used. */
	char identity[UNVMF_PSK_IDENTITY_BUF];
	struct unvmf_psk_identity id;
	bool has_id;
	uint8_t psk[UNVMF_PSK_MAX_LEN];
	size_t psk_len;
	unvmf_tls_psk_lookup_fn lookup;
	void *lookup_arg;
};

static pthread_once_t g_tls_once = PTHREAD_ONCE_INIT;
static SSL_CTX *g_client_ctx;
static SSL_CTX *g_server_ctx;
static BIO_METHOD *g_bio_method;
static int g_ex_index = -1;

static struct tls_sock *tls_of(struct unvmf_sock *sock)
{
	return (struct tls_sock *)sock;
}

/* ---- the BIO: non-blocking recv/send on the descriptor ---- */

static int tls_bio_write(BIO *b, const char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = send(fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int tls_bio_read(BIO *b, char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = recv(fd, buf, (size_t)len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)n;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* ---- PSK callbacks ---- */

static const SSL_CIPHER *tls_cipher_of(SSL *ssl, enum unvmf_psk_hash hash)
{
	static const unsigned char aes128[] = {0x13, 0x01}, aes256[] = {0x13, 0x02};

	return SSL_CIPHER_find(ssl, hash == UNVMF_PSK_HASH_SHA384 ? aes256 : aes128);
}

static SSL_SESSION *tls_psk_session(SSL *ssl, const uint8_t *psk, size_t len,
                                    enum unvmf_psk_hash hash)
{
	const SSL_CIPHER *cipher = tls_cipher_of(ssl, hash);
	SSL_SESSION *sess = SSL_SESSION_new();

	if (!sess || !cipher || SSL_SESSION_set1_master_key(sess, psk, len) != 1 ||
	    SSL_SESSION_set_cipher(sess, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) != 1) {
		SSL_SESSION_free(sess);
		return NULL;
	}
	return sess;
}

static int tls_client_psk_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                             SSL_SESSION **sess)
{
	struct tls_sock *ts = SSL_get_ex_data(ssl, g_ex_index);
	const SSL_CIPHER *cipher = tls_cipher_of(ssl, ts->id.hash);

	*sess = NULL;
	/* After a HelloRetryRequest, md is the negotiated hash: only a PSK of that hash fits. */
	if (md && cipher && md != SSL_CIPHER_get_handshake_digest(cipher))
		return 1;
	*sess = tls_psk_session(ssl, ts->psk, ts->psk_len, ts->id.hash);
	if (!*sess)
		return 0;
	*id = (const unsigned char *)ts->identity;
	*idlen = strlen(ts->identity);
	return 1;
}

static int tls_server_psk_cb(SSL *ssl, const unsigned char *identity, size_t identity_len,
                             SSL_SESSION **sess)
{
	struct tls_sock *ts = SSL_get_ex_data(ssl, g_ex_index);
	struct unvmf_psk_key key;
	int rc;

	*sess = NULL;
	if (identity_len >= sizeof(ts->identity) ||
	    unvmf_psk_identity_parse((const char *)identity, identity_len, &ts->id) != 0) {
		LOG_WARN("TLS: malformed PSK identity (%zu bytes) from the client", identity_len);
		ts->fail_rc = -ENOKEY;
		return 1;
	}
	memcpy(ts->identity, identity, identity_len);
	ts->identity[identity_len] = '\0';
	rc = ts->lookup(ts->lookup_arg, &ts->id, &key);
	if (rc == 0)
		rc = unvmf_tls_psk_for_identity(&key, &ts->id, ts->identity, ts->psk, &ts->psk_len);
	OPENSSL_cleanse(&key, sizeof(key));
	if (rc) {
		LOG_WARN("TLS: no usable PSK for identity '%s'", ts->identity);
		ts->fail_rc = -ENOKEY;
		/* No session: the handshake goes on without a PSK and fails (no certificate). */
		return 1;
	}
	*sess = tls_psk_session(ssl, ts->psk, ts->psk_len, ts->id.hash);
	OPENSSL_cleanse(ts->psk, sizeof(ts->psk));
	if (!*sess)
		return 0;
	ts->has_id = true;
	return 1;
}

/* ---- contexts, made once ---- */

static SSL_CTX *tls_ctx_new(const SSL_METHOD *method, bool server)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384") != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* A peer that just closes the TCP stream ends it like close_notify would: read 0. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (server) {
		/* psk_ke (no DHE) is allowed by the specification; DHE is preferred when offered.
		 */
		SSL_CTX_set_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_psk_find_session_callback(ctx, tls_server_psk_cb);
	} else {
		SSL_CTX_set_psk_use_session_callback(ctx, tls_client_psk_cb);
	}
	return ctx;
}

static void tls_init_once(void)
{
	g_bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "unvmf_sock");
	if (g_bio_method) {
		BIO_meth_set_write(g_bio_method, tls_bio_write);
		BIO_meth_set_read(g_bio_method, tls_bio_read);
		BIO_meth_set_ctrl(g_bio_method, tls_bio_ctrl);
		BIO_meth_set_create(g_bio_method, tls_bio_create);
	}
	g_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	g_client_ctx = tls_ctx_new(TLS_client_method(), false);
	g_server_ctx = tls_ctx_new(TLS_server_method(), true);
}

/* ---- the seam's operations ---- */

/* Maps a failed SSL call to the seam's values; the error queue is logged and cleared. */
static ssize_t tls_error(struct tls_sock *ts, int ret, const char *what)
{
	int err = SSL_get_error(ts->ssl, ret);
	unsigned long e;

	switch (err) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return errno ? -errno : -ECONNRESET;
	default:
		break;
	}
	e = ERR_peek_last_error();
	if (e) {
		char text[256];

		ERR_error_string_n(e, text, sizeof(text));
		LOG_INFO("TLS %s: %s", what, text);
	}
	ERR_clear_error();
	return -EPROTO;
}

static ssize_t tls_readv(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt)
{
	struct tls_sock *ts = tls_of(sock);
	size_t total = 0;

	if (!ts->done)
		return -EAGAIN;
	for (int i = 0; i < iovcnt; i++) {
		size_t off = 0;

		while (off < iov[i].iov_len) {
			size_t got = 0;
			int ret;

			ERR_clear_error();
			errno = 0;
			ret = SSL_read_ex(ts->ssl, (uint8_t *)iov[i].iov_base + off,
			                  iov[i].iov_len - off, &got);
			if (ret == 1) {
				off += got;
				total += got;
				continue;
			}
			ssize_t rc = tls_error(ts, ret, "read");

			if (total)
				return (ssize_t)total;
			return rc;
		}
	}
	return (ssize_t)total;
}

static ssize_t tls_writev(struct unvmf_sock *sock, const struct iovec *iov, int iovcnt)
{
	struct tls_sock *ts = tls_of(sock);
	size_t len = 0, written = 0;
	int ret;

	if (!ts->done)
		return -EAGAIN;
	if (ts->wpending) {
		/* The caller must offer the staged bytes again, first: check it does. */
		size_t off = 0;

		for (int i = 0; i < iovcnt && off < ts->wpending; i++) {
			size_t n = iov[i].iov_len < ts->wpending - off ? iov[i].iov_len
			                                               : ts->wpending - off;

			if (memcmp(ts->wbuf + off, iov[i].iov_base, n) != 0)
				return -EBUSY;
			off += n;
		}
		if (off < ts->wpending)
			return -EBUSY;
		len = ts->wpending;
	} else {
		for (int i = 0; i < iovcnt && len < TLS_WBUF_SIZE; i++) {
			size_t n = iov[i].iov_len < TLS_WBUF_SIZE - len ? iov[i].iov_len
			                                                : TLS_WBUF_SIZE - len;

			memcpy(ts->wbuf + len, iov[i].iov_base, n);
			len += n;
		}
		if (len == 0)
			return 0;
	}
	ERR_clear_error();
	errno = 0;
	ret = SSL_write_ex(ts->ssl, ts->wbuf, len, &written);
	if (ret == 1) {
		ts->wpending = 0;
		return (ssize_t)written;
	}
	ssize_t rc = tls_error(ts, ret, "write");

	if (rc == -EAGAIN)
		ts->wpending = len;
	else if (rc == 0)
		rc = -EPIPE;
	return rc;
}

/* Server: a host speaking NVMe/TCP in the clear sends an ICReq (type 0), not a TLS record. */
static int tls_peek_first(struct tls_sock *ts)
{
	uint8_t b;
	ssize_t n;

	do {
		n = recv(ts->base.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? UNVMF_SOCK_WANT_READ : -errno;
	if (b != TLS_RECORD_HANDSHAKE)
		return -EPROTONOSUPPORT;
	ts->peeked = true;
	return UNVMF_SOCK_WANT_NONE;
}

/* Sorts a failed handshake into the values sock_tls.h lists. */
static int tls_handshake_error(struct tls_sock *ts, int ret)
{
	int err = SSL_get_error(ts->ssl, ret);
	unsigned long e = ERR_peek_last_error();
	int reason = e ? ERR_GET_REASON(e) : 0;
	char text[256] = "";

	if (err == SSL_ERROR_WANT_READ)
		return UNVMF_SOCK_WANT_READ;
	if (err == SSL_ERROR_WANT_WRITE)
		return UNVMF_SOCK_WANT_WRITE;
	if (e)
		ERR_error_string_n(e, text, sizeof(text));
	ERR_clear_error();
	if (ts->fail_rc)
		return ts->fail_rc;
	if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		return -ECONNRESET;
	LOG_INFO("TLS handshake (%s): %s", ts->server ? "server" : "client", text);
	if (reason == SSL_R_BINDER_DOES_NOT_VERIFY || reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR ||
	    reason == SSL_R_DIGEST_CHECK_FAILED || reason == SSL_R_TLSV1_ALERT_DECRYPTION_FAILED ||
	    reason == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC)
		return -EKEYREJECTED;
	/* The client learns of a server without its key as a handshake failure alert. */
	if (!ts->server && reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)
		return -ENOKEY;
	return -ECONNABORTED;
}

static int tls_handshake(struct unvmf_sock *sock)
{
	struct tls_sock *ts = tls_of(sock);
	int ret;

	if (ts->done)
		return UNVMF_SOCK_WANT_NONE;
	if (ts->server && !ts->peeked) {
		ret = tls_peek_first(ts);
		if (ret != UNVMF_SOCK_WANT_NONE)
			return ret;
	}
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(ts->ssl);
	if (ret == 1) {
		ts->done = true;
		if (!ts->server)
			ts->has_id = true;
		LOG_DEBUG("TLS: handshake done (%s, %s, identity '%s')", SSL_get_version(ts->ssl),
		          SSL_get_cipher_name(ts->ssl), ts->identity);
		return UNVMF_SOCK_WANT_NONE;
	}
	return tls_handshake_error(ts, ret);
}

static bool tls_pending(struct unvmf_sock *sock)
{
	struct tls_sock *ts = tls_of(sock);

	return ts->done && SSL_pending(ts->ssl) > 0;
}

static void tls_close(struct unvmf_sock *sock)
{
	struct tls_sock *ts = tls_of(sock);

	/* Best effort close_notify: the socket is non-blocking and may be dead. */
	if (ts->done && !ts->wpending) {
		ERR_clear_error();
		SSL_shutdown(ts->ssl);
		ERR_clear_error();
	}
	SSL_free(ts->ssl);
	if (sock->fd >= 0)
		close(sock->fd);
	OPENSSL_cleanse(ts->psk, sizeof(ts->psk));
	free(ts->wbuf);
	free(ts);
}

static const struct unvmf_sock_ops g_tls_ops = {
    .name = "tls",
    .readv = tls_readv,
    .writev = tls_writev,
    .handshake = tls_handshake,
    .pending = tls_pending,
    .close = tls_close,
};

/* Takes plain's descriptor into a new TLS socket; plain is freed only on success. */
static int tls_wrap(struct unvmf_sock *plain, bool server, struct tls_sock **out)
{
	struct tls_sock *ts;
	BIO *bio;

	pthread_once(&g_tls_once, tls_init_once);
	if (!g_bio_method || g_ex_index < 0 || !(server ? g_server_ctx : g_client_ctx))
		return -ENOTSUP;
	ts = calloc(1, sizeof(*ts));
	if (!ts)
		return -ENOMEM;
	ts->wbuf = malloc(TLS_WBUF_SIZE);
	ts->ssl = SSL_new(server ? g_server_ctx : g_client_ctx);
	bio = BIO_new(g_bio_method);
	if (!ts->wbuf || !ts->ssl || !bio) {
		BIO_free(bio);
		SSL_free(ts->ssl);
		free(ts->wbuf);
		free(ts);
		return -ENOMEM;
	}
	BIO_set_data(bio, (void *)(intptr_t)plain->fd);
	SSL_set_bio(ts->ssl, bio, bio);
	SSL_set_ex_data(ts->ssl, g_ex_index, ts);
	if (server)
		SSL_set_accept_state(ts->ssl);
	else
		SSL_set_connect_state(ts->ssl);
	ts->server = server;
	ts->base.ops = &g_tls_ops;
	ts->base.fd = plain->fd;
	*out = ts;
	return 0;
}

/* The plain object goes; its descriptor lives on in the TLS socket. */
static void tls_plain_release(struct unvmf_sock *plain)
{
	plain->fd = -1;
	unvmf_sock_close(plain);
}

int unvmf_sock_tls_client(struct unvmf_sock *plain, const char *identity,
                          const struct unvmf_psk_key *configured, struct unvmf_sock **out)
{
	struct tls_sock *ts;
	size_t len = strlen(identity);
	int rc;

	if (len >= sizeof(ts->identity))
		return -EINVAL;
	rc = tls_wrap(plain, false, &ts);
	if (rc)
		return rc;
	memcpy(ts->identity, identity, len + 1);
	rc = unvmf_psk_identity_parse(identity, len, &ts->id);
	/*
	 * A TLS 1.3 PSK serves only cipher suites of its hash: offer just the
	 * one the identity names, so the server cannot pick the other.
	 */
	if (rc == 0 && SSL_set_ciphersuites(ts->ssl, ts->id.hash == UNVMF_PSK_HASH_SHA384
	                                                 ? "TLS_AES_256_GCM_SHA384"
	                                                 : "TLS_AES_128_GCM_SHA256") != 1)
		rc = -EINVAL;
	if (rc == 0)
		rc = unvmf_tls_psk_for_identity(configured, &ts->id, ts->identity, ts->psk,
		                                &ts->psk_len);
	if (rc) {
		ts->base.fd = -1;
		tls_close(&ts->base);
		return rc == -ENOKEY ? -EINVAL : rc;
	}
	tls_plain_release(plain);
	*out = &ts->base;
	return 0;
}

int unvmf_sock_tls_server(struct unvmf_sock *plain, unvmf_tls_psk_lookup_fn lookup, void *arg,
                          struct unvmf_sock **out)
{
	struct tls_sock *ts;
	int rc = tls_wrap(plain, true, &ts);

	if (rc)
		return rc;
	ts->lookup = lookup;
	ts->lookup_arg = arg;
	tls_plain_release(plain);
	*out = &ts->base;
	return 0;
}

const struct unvmf_psk_identity *unvmf_sock_tls_identity(const struct unvmf_sock *sock)
{
	const struct tls_sock *ts = (const struct tls_sock *)sock;

	if (sock->ops != &g_tls_ops || !ts->done || !ts->has_id)
		return NULL;
	return &ts->id;
}
