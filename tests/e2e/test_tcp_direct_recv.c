/*
 * Large writes land straight in the request's buffers: the H2CData payload
 * of a 128 KiB write is read from the socket into the data buffers, not
 * through the connection's receive buffer and a copy (counted by
 * nvmf_get_stats as bytes_rx_direct and bytes_rx_copied), and the data
 * reads back intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define IO_SIZE (128u * 1024)
#define WRITES 16

static struct tgt_proc g_tp;
static struct rpc_conn g_c;

/* Sum over poll groups of the TCP transport's counter name. */
static long long tcp_stat(const char *name)
{
	json_t *resp = rpc_call(&g_c, "nvmf_get_stats", NULL);
	json_t *groups, *g;
	long long sum = 0;
	size_t i;

	assert_non_null(resp);
	assert_int_equal(rpc_resp_code(resp), 0);
	groups = json_object_get(json_object_get(resp, "result"), "poll_groups");
	json_array_foreach(groups, i, g)
	{
		json_t *t = json_array_get(json_object_get(g, "transports"), 0);

		assert_non_null(json_object_get(t, name));
		sum += json_integer_value(json_object_get(t, name));
	}
	json_decref(resp);
	return sum;
}

static void test_large_writes_skip_the_receive_buffer(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_opts o;
	struct unvmf_trid trid;
	uint8_t *wbuf = malloc(IO_SIZE), *rbuf = malloc(IO_SIZE);
	long long direct0, copied0, direct, copied;

	assert_non_null(wbuf);
	assert_non_null(rbuf);
	unvmf_host_opts_init(&o);
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &o, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 16, &qp, NULL), 0);
	direct0 = tcp_stat("bytes_rx_direct");
	copied0 = tcp_stat("bytes_rx_copied");
	for (int i = 0; i < WRITES; i++) {
		for (uint32_t k = 0; k < IO_SIZE; k++)
			wbuf[k] = (uint8_t)(k * 7 + i);
		assert_int_equal(
		    e2e_write(qp, 1, (uint64_t)i * (IO_SIZE / 512), IO_SIZE / 512, wbuf, IO_SIZE),
		    0);
		memset(rbuf, 0, IO_SIZE);
		assert_int_equal(
		    e2e_read(qp, 1, (uint64_t)i * (IO_SIZE / 512), IO_SIZE / 512, rbuf, IO_SIZE),
		    0);
		assert_memory_equal(rbuf, wbuf, IO_SIZE);
	}
	direct = tcp_stat("bytes_rx_direct") - direct0;
	copied = tcp_stat("bytes_rx_copied") - copied0;
	print_message("128 KiB writes: %lld bytes direct, %lld copied\n", direct, copied);
	/*
	 * A payload's first KiB rides in with its header, and a tail shorter than
	 * the direct-read threshold (4 KiB) goes through the buffer: at most 5 KiB
	 * per write (plus the two Connects' data) is copied, instead of up to the
	 * whole 64 KiB receive buffer's worth.
	 */
	assert_true(direct >= (long long)WRITES * (IO_SIZE - 5 * 1024));
	assert_true(copied <= (long long)WRITES * 5 * 1024 + 2 * 1024);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	free(wbuf);
	free(rbuf);
}

static int group_setup(void **state)
{
	if (tgt_proc_start_or_dump(&g_tp, NULL))
		return -1;
	return rpc_conn_open(&g_c, g_tp.rpc_sock);
}

static int group_teardown(void **state)
{
	rpc_conn_close(&g_c);
	return tgt_proc_finish(&g_tp, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_large_writes_skip_the_receive_buffer),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
