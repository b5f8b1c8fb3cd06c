/* The socket seam (src/sock): its contract over a socketpair and a loopback listener. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "sock/sock.h"

struct pair {
	struct unvmf_sock *a;
	struct unvmf_sock *b;
};

static void pair_open(struct pair *p)
{
	int fds[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(unvmf_sock_plain_create(fds[0], &p->a), 0);
	assert_int_equal(unvmf_sock_plain_create(fds[1], &p->b), 0);
}

static void pair_close(struct pair *p)
{
	unvmf_sock_close(p->a);
	unvmf_sock_close(p->b);
}

static void test_read_empty_is_eagain(void **state)
{
	struct pair p;
	uint8_t buf[16];
	struct iovec iov[2] = {{buf, 8}, {buf + 8, 8}};

	(void)state;
	pair_open(&p);
	/* Non-blocking although the fd was created blocking: the call returns at once. */
	assert_int_equal(unvmf_sock_recv(p.a, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(unvmf_sock_readv(p.a, iov, 2), -EAGAIN);
	assert_int_equal(unvmf_sock_handshake(p.a), UNVMF_SOCK_WANT_NONE);
	assert_int_equal(unvmf_sock_poll(p.a, true, false, 0), 0);
	assert_int_equal(unvmf_sock_poll(p.a, false, true, 0), 1);
	pair_close(&p);
}

static void test_writev_readv_roundtrip(void **state)
{
	struct pair p;
	uint8_t out[10] = "abcdefghij", in[10] = {0};
	struct iovec wiov[3] = {{out, 3}, {out + 3, 0}, {out + 3, 7}};
	struct iovec riov[2] = {{in, 4}, {in + 4, 6}};

	(void)state;
	pair_open(&p);
	assert_int_equal(unvmf_sock_writev(p.a, wiov, 3), 10);
	assert_int_equal(unvmf_sock_poll(p.b, true, false, 1000), 1);
	assert_int_equal(unvmf_sock_readv(p.b, riov, 2), 10);
	assert_memory_equal(in, out, 10);
	pair_close(&p);
}

/* A full socket takes part of a write, then nothing: -EAGAIN, never a block. */
static void test_partial_write_then_eagain(void **state)
{
	struct pair p;
	size_t len = 1u << 22, took = 0, drained = 0;
	uint8_t *big = malloc(len), *sink = malloc(len);
	int sndbuf = 4096;
	ssize_t n;

	(void)state;
	assert_non_null(big);
	assert_non_null(sink);
	for (size_t i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 7);
	pair_open(&p);
	setsockopt(unvmf_sock_fd(p.a), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	n = unvmf_sock_send(p.a, big, len);
	assert_true(n > 0 && (size_t)n < len);
	took = (size_t)n;
	while ((n = unvmf_sock_send(p.a, big + took, len - took)) > 0)
		took += (size_t)n;
	assert_int_equal(n, -EAGAIN);
	assert_true(took < len);
	while (drained < took) {
		n = unvmf_sock_recv(p.b, sink + drained, len - drained);
		assert_true(n > 0);
		drained += (size_t)n;
	}
	assert_int_equal(drained, took);
	assert_memory_equal(sink, big, took);
	pair_close(&p);
	free(big);
	free(sink);
}

static void test_peer_close(void **state)
{
	struct pair p;
	uint8_t buf[4] = {1, 2, 3, 4};
	ssize_t n;

	(void)state;
	pair_open(&p);
	assert_int_equal(unvmf_sock_send(p.b, buf, 4), 4);
	assert_int_equal(unvmf_sock_shutdown(p.b, false), 0);
	/* Data before the FIN first, then 0. */
	assert_int_equal(unvmf_sock_recv(p.a, buf, sizeof(buf)), 4);
	assert_int_equal(unvmf_sock_recv(p.a, buf, sizeof(buf)), 0);
	unvmf_sock_close(p.b);
	p.b = NULL;
	/* Writing to a closed peer is an error value, not SIGPIPE (which would end this test). */
	n = unvmf_sock_send(p.a, buf, sizeof(buf));
	assert_int_equal(n, -EPIPE);
	pair_close(&p);
}

static void test_batch_limits(void **state)
{
	static uint8_t bytes[UNVMF_SOCK_BATCH_IOV_MAX + 8];
	struct unvmf_sock_batch batch;
	size_t skip = 0;

	(void)state;
	unvmf_sock_batch_reset(&batch);
	for (int i = 0; i < UNVMF_SOCK_BATCH_IOV_MAX; i++)
		assert_true(unvmf_sock_batch_add(&batch, &bytes[i], 1, &skip));
	assert_int_equal(batch.cnt, UNVMF_SOCK_BATCH_IOV_MAX);
	assert_int_equal(batch.bytes, UNVMF_SOCK_BATCH_IOV_MAX);
	/* Full: nothing appended, skip untouched. */
	skip = 0;
	assert_false(unvmf_sock_batch_add(&batch, bytes, 4, &skip));
	assert_int_equal(batch.cnt, UNVMF_SOCK_BATCH_IOV_MAX);
	/* A range the skip covers needs no slot, even in a full batch. */
	skip = 6;
	assert_true(unvmf_sock_batch_add(&batch, bytes, 4, &skip));
	assert_int_equal(skip, 2);

	/* Skip eats whole ranges, then starts inside one. */
	unvmf_sock_batch_reset(&batch);
	skip = 5;
	assert_true(unvmf_sock_batch_add(&batch, bytes, 3, &skip));
	assert_true(unvmf_sock_batch_add(&batch, bytes + 10, 4, &skip));
	assert_true(unvmf_sock_batch_add(&batch, bytes + 20, 0, &skip));
	assert_true(unvmf_sock_batch_add(&batch, bytes + 30, 2, &skip));
	assert_int_equal(skip, 0);
	assert_int_equal(batch.cnt, 2);
	assert_ptr_equal(batch.iov[0].iov_base, bytes + 12);
	assert_int_equal(batch.iov[0].iov_len, 2);
	assert_ptr_equal(batch.iov[1].iov_base, bytes + 30);
	assert_int_equal(batch.bytes, 4);
}

/* One write carries the whole batch, in order. */
static void test_batch_write(void **state)
{
	struct unvmf_sock_batch batch;
	uint8_t src[UNVMF_SOCK_BATCH_IOV_MAX], dst[UNVMF_SOCK_BATCH_IOV_MAX];
	size_t skip = 0;
	struct pair p;

	(void)state;
	for (int i = 0; i < UNVMF_SOCK_BATCH_IOV_MAX; i++)
		src[i] = (uint8_t)i;
	unvmf_sock_batch_reset(&batch);
	for (int i = 0; i < UNVMF_SOCK_BATCH_IOV_MAX; i++)
		assert_true(unvmf_sock_batch_add(&batch, &src[i], 1, &skip));
	pair_open(&p);
	assert_int_equal(unvmf_sock_batch_write(p.a, &batch), UNVMF_SOCK_BATCH_IOV_MAX);
	assert_int_equal(unvmf_sock_recv(p.b, dst, sizeof(dst)), UNVMF_SOCK_BATCH_IOV_MAX);
	assert_memory_equal(dst, src, sizeof(src));
	pair_close(&p);
}

static void test_listen_accept_connect(void **state)
{
	struct unvmf_sock *l, *c, *s;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char port[16];
	uint8_t buf[3];

	(void)state;
	assert_int_equal(unvmf_sock_listen("127.0.0.1", "0", false, 8, &l), 0);
	assert_int_equal(getsockname(unvmf_sock_fd(l), (struct sockaddr *)&ss, &len), 0);
	snprintf(port, sizeof(port), "%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	assert_int_equal(unvmf_sock_accept(l, &s), -EAGAIN);
	assert_int_equal(unvmf_sock_connect("127.0.0.1", port, false, 2000, &c), 0);
	assert_int_equal(unvmf_sock_poll(l, true, false, 2000), 1);
	assert_int_equal(unvmf_sock_accept(l, &s), 0);
	assert_int_equal(unvmf_sock_set_nodelay(s, true), 0);
	assert_int_equal(unvmf_sock_set_priority(s, 1), 0);
	assert_int_equal(unvmf_sock_set_user_timeout(s, 5000), 0);
	assert_int_equal(unvmf_sock_send(c, "xyz", 3), 3);
	assert_int_equal(unvmf_sock_poll(s, true, false, 2000), 1);
	assert_int_equal(unvmf_sock_recv(s, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "xyz", 3);
	/* An abortive close reaches the peer as a reset, not an orderly end. */
	assert_int_equal(unvmf_sock_set_abort_on_close(s), 0);
	unvmf_sock_close(s);
	assert_int_equal(unvmf_sock_poll(c, true, false, 2000), 1);
	assert_int_equal(unvmf_sock_recv(c, buf, sizeof(buf)), -ECONNRESET);
	unvmf_sock_close(c);
	unvmf_sock_close(l);
	/* Nobody listens there any more. */
	assert_int_equal(unvmf_sock_connect("127.0.0.1", port, false, 2000, &c), -ECONNREFUSED);
	assert_int_equal(unvmf_sock_listen("not-an-address", "4420", false, 8, &l), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_empty_is_eagain),
	    cmocka_unit_test(test_writev_readv_roundtrip),
	    cmocka_unit_test(test_partial_write_then_eagain),
	    cmocka_unit_test(test_peer_close),
	    cmocka_unit_test(test_batch_limits),
	    cmocka_unit_test(test_batch_write),
	    cmocka_unit_test(test_listen_accept_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
