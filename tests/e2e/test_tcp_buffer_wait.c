/*
 * NVMe/TCP requests waiting for data buffers (NEED_BUFFER): a target whose
 * shared pool holds two 128 KiB writes' worth of buffers, and hosts that keep
 * many such writes in flight on several connections, so most requests queue
 * on the poll group's pending-buffer FIFO. Then connections die while
 * requests wait there. The debug build checks the transport's invariants
 * (tcp_group_check) after every poll, so a request left on the FIFO, a
 * miscounted gauge or a buffer not returned aborts the target; the test sees
 * that as a dead target or a non-zero exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define NQN "nqn.2024-11.io.unvmf:bufwait"
#define IO_SIZE (128u * 1024)
#define BLOCK 4096u
#define DEPTH 8
#define QPAIRS 3

static struct tgt_proc g_tp;
struct qp_load {
	struct unvmf_host_qpair *qp;
	uint8_t *bufs[DEPTH];
	struct e2e_io io[DEPTH];
	struct iovec iov[DEPTH];
};

static void fill(uint8_t *b, unsigned qp, unsigned slot, unsigned round)
{
	for (uint32_t i = 0; i < IO_SIZE; i += 4) {
		uint32_t v = (qp << 24) ^ (slot << 16) ^ (round << 8) ^ i;

		memcpy(b + i, &v, 4);
	}
}

static uint64_t slot_lba(unsigned qp, unsigned slot)
{
	return ((uint64_t)qp * DEPTH + slot) * (IO_SIZE / BLOCK);
}

/* Submits DEPTH writes of IO_SIZE on l's qpair, all at once. */
static void submit_writes(struct qp_load *l, unsigned qpi, unsigned round)
{
	for (unsigned s = 0; s < DEPTH; s++) {
		fill(l->bufs[s], qpi, s, round);
		l->iov[s] = (struct iovec){l->bufs[s], IO_SIZE};
		memset(&l->io[s], 0, sizeof(l->io[s]));
		assert_int_equal(unvmf_host_write(l->qp, 1, slot_lba(qpi, s), IO_SIZE / BLOCK,
						  &l->iov[s], 1, e2e_io_cb, &l->io[s]),
				 0);
	}
}

static void wait_writes(struct qp_load *l)
{
	for (unsigned s = 0; s < DEPTH; s++)
		assert_int_equal(e2e_wait(l->qp, &l->io[s], 20000), 0);
}

static void verify(struct unvmf_host_qpair *qp, unsigned qpi, unsigned round)
{
	uint8_t *want = malloc(IO_SIZE), *got = malloc(IO_SIZE);

	for (unsigned s = 0; s < DEPTH; s++) {
		fill(want, qpi, s, round);
		assert_int_equal(e2e_read(qp, 1, slot_lba(qpi, s), IO_SIZE / BLOCK, got, IO_SIZE), 0);
		assert_memory_equal(want, got, IO_SIZE);
	}
	free(want);
	free(got);
}

static int64_t tcp_stat(const char *key)
{
	struct rpc_conn c;
	json_t *resp, *groups, *g, *t;
	size_t i, j;
	int64_t sum = 0;

	assert_int_equal(rpc_conn_open(&c, g_tp.rpc_sock), 0);
	resp = rpc_call(&c, "nvmf_get_stats", NULL);
	assert_non_null(resp);
	groups = json_object_get(json_object_get(resp, "result"), "poll_groups");
	assert_true(json_is_array(groups));
	json_array_foreach(groups, i, g)
	{
		json_array_foreach(json_object_get(g, "transports"), j, t)
		{
			if (strcmp(json_string_value(json_object_get(t, "trtype")), "TCP") == 0)
				sum += json_integer_value(json_object_get(t, key));
		}
	}
	json_decref(resp);
	rpc_conn_close(&c);
	return sum;
}

static void connect_load(struct unvmf_host_ctrlr **ctrlr, struct qp_load *l, unsigned n)
{
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;

	tgt_proc_trid(&g_tp, NQN, &trid);
	unvmf_host_opts_init(&opts);
	assert_int_equal(unvmf_host_connect(&trid, &opts, ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_ctrlr_max_xfer(*ctrlr), IO_SIZE);
	for (unsigned q = 0; q < n; q++) {
		assert_int_equal(unvmf_host_qpair_create(*ctrlr, DEPTH * 2, &l[q].qp, NULL), 0);
		for (unsigned s = 0; s < DEPTH; s++)
			if (!l[q].bufs[s])
				l[q].bufs[s] = malloc(IO_SIZE);
	}
}

static void free_load(struct qp_load *l, unsigned n)
{
	for (unsigned q = 0; q < n; q++)
		for (unsigned s = 0; s < DEPTH; s++)
			free(l[q].bufs[s]);
}

/* Every write waits its turn for buffers and lands intact. */
static void test_writes_wait_for_buffers(void **state)
{
	struct unvmf_host_ctrlr *ctrlr;
	struct qp_load l[QPAIRS] = {0};
	int64_t waited0 = tcp_stat("pending_buffer_total");

	connect_load(&ctrlr, l, QPAIRS);
	for (unsigned round = 1; round <= 3; round++) {
		for (unsigned q = 0; q < QPAIRS; q++)
			submit_writes(&l[q], q, round);
		for (unsigned q = 0; q < QPAIRS; q++)
			wait_writes(&l[q]);
		for (unsigned q = 0; q < QPAIRS; q++)
			verify(l[q].qp, q, round);
	}
	/* 24 writes of 16 buffers each against a 32-buffer pool: most of them had to wait. */
	assert_true(tcp_stat("pending_buffer_total") - waited0 >= DEPTH);
	assert_int_equal(tcp_stat("pending_buffer_current"), 0);
	for (unsigned q = 0; q < QPAIRS; q++)
		unvmf_host_qpair_destroy(l[q].qp);
	unvmf_host_disconnect(ctrlr);
	free_load(l, QPAIRS);
}

/*
 * Connections vanish while their requests wait for buffers or hold them; the
 * survivor's writes still get buffers and land.
 */
static void test_connection_dies_while_waiting(void **state)
{
	struct unvmf_host_ctrlr *ctrlr, *victim;
	struct qp_load l[QPAIRS] = {0}, v[2] = {0};
	int64_t waited0 = tcp_stat("pending_buffer_total");

	connect_load(&ctrlr, l, 1);
	for (unsigned round = 1; round <= 4; round++) {
		connect_load(&victim, v, 2);
		submit_writes(&v[0], 1, round);
		submit_writes(&v[1], 2, round);
		submit_writes(&l[0], 0, round);
		/* Let the target take the capsules in, so the victims' requests wait or transfer. */
		for (int i = 0; i < 20; i++) {
			unvmf_host_qpair_poll(v[0].qp, 0);
			unvmf_host_qpair_poll(v[1].qp, 0);
			usleep(1000);
		}
		/* Gone without a word: the sockets close with requests on the target's FIFO. */
		unvmf_host_qpair_destroy(v[0].qp);
		unvmf_host_qpair_destroy(v[1].qp);
		unvmf_host_disconnect(victim);
		wait_writes(&l[0]);
		verify(l[0].qp, 0, round);
		assert_true(tgt_proc_alive(&g_tp));
	}
	assert_true(tcp_stat("pending_buffer_total") > waited0);
	/* Every waiting request of the dead connections left the FIFO. */
	for (int i = 0; i < 100 && tcp_stat("pending_buffer_current") != 0; i++)
		usleep(10000);
	assert_int_equal(tcp_stat("pending_buffer_current"), 0);
	unvmf_host_qpair_destroy(l[0].qp);
	unvmf_host_disconnect(ctrlr);
	free_load(l, 1);
	free_load(v, 2);
}

static int group_setup(void **state)
{
	const char *args[] = {"-m", "0x3", NULL};

	/* 32 buffers of 8 KiB and no per-group cache: two 128 KiB writes hold the whole pool. */
	return tgt_proc_start_config(&g_tp, args,
		"{\"subsystems\": [\n"
		" {\"subsystem\": \"bdev\", \"config\": [\n"
		"  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", \"num_blocks\": 8192, \"block_size\": 4096}}]},\n"
		" {\"subsystem\": \"nvmf\", \"config\": [\n"
		"  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\", \"max_io_size\": %u, \"io_unit_size\": 8192, \"num_shared_buffers\": 32, \"buf_cache_size\": 0, \"in_capsule_data_size\": 4096}},\n"
		"  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", \"allow_any_host\": true}},\n"
		"  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", \"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
		"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
		IO_SIZE, NQN, NQN, NQN);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_wait_for_buffers),
		cmocka_unit_test(test_connection_dies_while_waiting),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
