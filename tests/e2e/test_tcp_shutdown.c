/*
 * SIGTERM or SIGINT with connections open and I/O queued: the target drains
 * and exits 0 with no sanitizer report, and every host connection sees the
 * close (its qpair fails; queued commands are called back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"

static struct tgt_proc tp_sigint;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Polls until the connection reports its failure (bounded: 10 s) and returns
 * the errno; a connection the target left open fails the test.
 */
static int poll_until_failed(struct unvmf_host_qpair *qp)
{
	uint64_t end = now_ms() + 10000;
	int rc;

	while ((rc = unvmf_host_qpair_poll(qp, 0)) >= 0) {
		if (now_ms() > end)
			fail_msg("qpair %u still connected 10 s after the target exited",
				 unvmf_host_qpair_qid(qp));
		usleep(1000);
	}
	/* Sticky: every later poll says the same. */
	assert_int_equal(unvmf_host_qpair_poll(qp, 0), rc);
	return rc;
}

/* The same for a controller's admin queue. */
static int admin_poll_until_failed(struct unvmf_host_ctrlr *ctrlr)
{
	uint64_t end = now_ms() + 10000;
	int rc;

	while ((rc = unvmf_host_admin_poll(ctrlr)) >= 0) {
		if (now_ms() > end)
			fail_msg("admin queue still connected 10 s after the target exited");
		usleep(1000);
	}
	return rc;
}

static int stop_checked(struct tgt_proc *tp, int sig)
{
	int rc = tgt_proc_stop_signal(tp, sig, 20);

	if (rc != 0 || tgt_proc_log_has_sanitizer_report(tp))
		tgt_proc_dump_log(tp);
	assert_int_equal(rc, 0);
	assert_false(tgt_proc_log_has_sanitizer_report(tp));
	return rc;
}

static void test_shutdown_with_connections(void **state)
{
	const char *args[] = {"-m", "0x3", NULL};
	struct tgt_proc tp;
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlrs[4];
	struct unvmf_host_qpair *qps[8];
	static uint8_t buf[8][16384];
	struct e2e_io ios[8];
	struct unvmf_trid trid;
	int rc;

	assert_int_equal(tgt_proc_start(&tp, args), 0);
	tgt_proc_trid(&tp, SUBNQN, &trid);
	unvmf_host_opts_init(&opts);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlrs[i], NULL), 0);
		for (int q = 0; q < 2; q++)
			assert_int_equal(unvmf_host_qpair_create(ctrlrs[i], 0, &qps[i * 2 + q], NULL),
					 0);
	}
	for (int i = 0; i < 8; i++) {
		struct iovec iov = {.iov_base = buf[i], .iov_len = sizeof(buf[i])};

		memset(&ios[i], 0, sizeof(ios[i]));
		assert_int_equal(unvmf_host_write(qps[i], 1, (uint64_t)i * 32, 32, &iov, 1,
						  e2e_io_cb, &ios[i]), 0);
		unvmf_host_qpair_poll(qps[i], 0);
	}
	stop_checked(&tp, SIGTERM);
	/* The host sees every connection end, and each write got its callback. */
	for (int i = 0; i < 8; i++) {
		rc = poll_until_failed(qps[i]);
		assert_true(rc == -ECONNRESET || rc == -EPIPE);
		assert_int_equal(ios[i].done, 1);
		assert_int_equal(unvmf_host_qpair_outstanding(qps[i]), 0);
		unvmf_host_qpair_destroy(qps[i]);
	}
	for (int i = 0; i < 4; i++) {
		rc = admin_poll_until_failed(ctrlrs[i]);
		assert_true(rc == -ECONNRESET || rc == -EPIPE);
		unvmf_host_disconnect(ctrlrs[i]);
	}
}

/* Ctrl-C (SIGINT) with a controller connected and a verified write done. */
static void test_sigint_with_connection(void **state)
{
	const char *args[] = {"-m", "0x3", NULL};
	static uint8_t buf[8192], back[8192];
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	int rc;

	(void)state;
	assert_int_equal(tgt_proc_start(&tp_sigint, args), 0);
	tgt_proc_trid(&tp_sigint, SUBNQN, &trid);
	unvmf_host_opts_init(&opts);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(e2e_write(qp, 1, 64, 16, buf, sizeof(buf)), 0);
	assert_int_equal(e2e_read(qp, 1, 64, 16, back, sizeof(back)), 0);
	assert_memory_equal(buf, back, sizeof(buf));

	stop_checked(&tp_sigint, SIGINT);
	rc = poll_until_failed(qp);
	assert_true(rc == -ECONNRESET || rc == -EPIPE);
	rc = admin_poll_until_failed(ctrlr);
	assert_true(rc == -ECONNRESET || rc == -EPIPE);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shutdown_with_connections),
		cmocka_unit_test(test_sigint_with_connection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
