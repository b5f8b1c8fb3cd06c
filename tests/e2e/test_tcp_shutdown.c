/* SIGTERM with connections open and I/O queued: the target drains and exits 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "e2e_util.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"

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
	rc = tgt_proc_stop(&tp, 20);
	if (rc != 0)
		tgt_proc_dump_log(&tp);
	assert_int_equal(rc, 0);
	/* The host sees its connections end; nothing hangs. */
	for (int i = 0; i < 8; i++) {
		for (int k = 0; k < 100 && unvmf_host_qpair_poll(qps[i], 0) >= 0; k++)
			;
		unvmf_host_qpair_destroy(qps[i]);
	}
	for (int i = 0; i < 4; i++)
		unvmf_host_disconnect(ctrlrs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shutdown_with_connections),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
