/*
 * Limits a host must earn, over TCP on loopback, each with its counter in
 * nvmf_get_stats: a Connect asking a KATO above max_kato_ms is refused, and
 * a KATO 0 controller left idle is reclaimed after max_kato_ms; a host
 * beyond max_qpairs_per_host and a poll group beyond max_qpairs_per_group
 * get Controller Busy. A bystander host keeps doing I/O through all of it.
 * (The ICReq and Connect deadlines and capsules beyond the queue size are
 * hostile actions of test_tcp_hostile.c.)
 *
 * The target runs one reactor so the per-group limit counts every qpair.
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
#include "raw_tcp_host.h"
#include "tcp_bystander_env.h"
#include "unvmf/host.h"
#include "unvmf/nvmf_spec.h"

#define SUBNQN "nqn.2024-11.io.unvmf:limits"
#define HOST_BYSTANDER "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000000b"
#define HOST_A "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000000a"
#define HOST_C "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000000c"
#define ICREQ_TIMEOUT_MS 400
#define CONNECT_TIMEOUT_MS 400
#define MAX_KATO_MS 4000
/* Raw admin queues send no Keep Alive: each test ends well within this. */
#define RAW_KATO_MS MAX_KATO_MS
#define MAX_QPAIRS_PER_HOST 3
#define MAX_QPAIRS_PER_GROUP 6
/* Generous: the limits fire within a fraction of this on any machine. */
#define CLOSE_BOUND_MS 15000

static struct tcp_bystander_env g_env;

/* ---- the bystander: a host library controller doing I/O throughout ---- */

static void bystander_io(void)
{
	static uint8_t buf[4096];

	memset(buf, 0xb7, sizeof(buf));
	assert_int_equal(e2e_write(g_env.by_qp, 1, 8, 1, buf, sizeof(buf)), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(e2e_read(g_env.by_qp, 1, 8, 1, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 0xb7);
	assert_int_equal(buf[4095], 0xb7);
}

/* ---- raw hosts ---- */

static void bystander_idle(void *arg)
{
	(void)arg;
	bystander_io();
}

/* A connection that sent ICReq; asserts. */
static void raw_icreq(struct raw_tcp_host *h)
{
	assert_int_equal(raw_tcp_host_open(h, g_env.tp.port), 0);
}

/* Fabrics Connect of qid (sqsize entries) for hostnqn; returns the completion. */
static struct nvme_cqe raw_fabric_connect(struct raw_tcp_host *h, const char *hostnqn, uint16_t qid,
                                          uint16_t cntlid, uint16_t sqsize, uint32_t kato)
{
	struct nvme_cqe cqe;

	assert_int_equal(
	    raw_tcp_host_connect_cqe(h, qid, sqsize, kato, cntlid, SUBNQN, hostnqn, &cqe), 0);
	return cqe;
}

/* A raw admin queue of hostnqn brought to CSTS.RDY; h->cntlid its controller. */
static void raw_admin(struct raw_tcp_host *h, const char *hostnqn, uint16_t sqsize, uint32_t kato)
{
	struct nvme_cqe cqe;

	raw_icreq(h);
	cqe = raw_fabric_connect(h, hostnqn, 0, NVMF_CNTLID_DYNAMIC, sqsize, kato);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(raw_tcp_host_enable(h), 0);
}

/* Waits until the target closes h, keeping the bystander busy meanwhile. */
static void expect_closed(struct raw_tcp_host *h)
{
	struct raw_tcp_end end;

	assert_int_equal(raw_tcp_host_wait_end(h, CLOSE_BOUND_MS, bystander_idle, NULL, &end), 0);
	raw_tcp_host_close(h);
}

/* ---- counters ---- */

static long long stat_get(const char *path)
{
	return tcp_bystander_env_stat(&g_env, path);
}

/* Polls a counter until it reaches want (connections end asynchronously); the bystander works on.
 */
static long long wait_stat(const char *path, long long want)
{
	return tcp_bystander_env_wait_stat(&g_env, path, want, bystander_io);
}

static long long connected_qpairs(void)
{
	return stat_get("current_admin_qpairs") + stat_get("current_io_qpairs");
}

/* ---- tests ---- */

static void test_kato_above_max_refused(void **state)
{
	long long refused0 = stat_get("limits.connect_refused_kato");
	struct raw_tcp_host h;
	struct nvme_cqe cqe;

	(void)state;
	raw_icreq(&h);
	cqe = raw_fabric_connect(&h, HOST_A, 0, NVMF_CNTLID_DYNAMIC, 32, MAX_KATO_MS + 1000);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(cqe.status.s.sc, NVMF_SC_INVALID_PARAM);
	assert_int_equal(cqe.status.s.dnr, 1);
	/* IPO names the KATO field of the Connect command. */
	assert_int_equal(cqe.cdw0 >> 16, offsetof(struct nvmf_connect_cmd, kato));
	assert_int_equal(stat_get("limits.connect_refused_kato"), refused0 + 1);
	raw_tcp_host_close(&h);
	bystander_io();
}

static void test_kato_zero_idle_reclaimed(void **state)
{
	long long reclaimed0 = stat_get("limits.kato_zero_reclaims");
	long long ka0 = stat_get("tcp.conns_ended.keep_alive_timeout");
	struct raw_tcp_host h;

	(void)state;
	raw_admin(&h, HOST_A, 32, 0);
	/* Keep-alive disabled, no I/O: reclaimed after MAX_KATO_MS idle. */
	expect_closed(&h);
	assert_int_equal(wait_stat("limits.kato_zero_reclaims", reclaimed0 + 1), reclaimed0 + 1);
	assert_int_equal(wait_stat("tcp.conns_ended.keep_alive_timeout", ka0 + 1), ka0 + 1);
	/* The bystander, also KATO 0 but busy, has lived through it. */
	bystander_io();
}

/* Host A's admin queue and I/O queues 1 .. MAX_QPAIRS_PER_HOST - 1, all connected. */
static void host_a_fill(struct raw_tcp_host *h)
{
	raw_admin(&h[0], HOST_A, 32, RAW_KATO_MS);
	for (int q = 1; q < MAX_QPAIRS_PER_HOST; q++) {
		struct nvme_cqe cqe;

		raw_icreq(&h[q]);
		cqe = raw_fabric_connect(&h[q], HOST_A, (uint16_t)q, h[0].cntlid, 16, 0);
		assert_int_equal(cqe.status.raw & 0xfffe, 0);
	}
}

static void assert_busy(const struct nvme_cqe *cqe)
{
	assert_int_equal(cqe->status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(cqe->status.s.sc, NVMF_SC_CONTROLLER_BUSY);
	assert_int_equal(cqe->status.s.dnr, 1);
}

/* Host A takes its MAX_QPAIRS_PER_HOST qpairs; the next Connect is Controller Busy. */
static void test_host_qpair_limit(void **state)
{
	long long refused0 = stat_get("limits.connect_refused_host_limit");
	struct raw_tcp_host h[MAX_QPAIRS_PER_HOST], extra;
	struct nvme_cqe cqe;
	bool again = false;

	(void)state;
	host_a_fill(h);
	raw_icreq(&extra);
	cqe = raw_fabric_connect(&extra, HOST_A, MAX_QPAIRS_PER_HOST, h[0].cntlid, 16, 0);
	assert_busy(&cqe);
	assert_int_equal(stat_get("limits.connect_refused_host_limit"), refused0 + 1);
	raw_tcp_host_close(&extra);
	bystander_io();

	/* The count is live: once an I/O queue goes, its place can be taken again. */
	raw_tcp_host_close(&h[1]);
	for (int i = 0; i < 500 && !again; i++) {
		raw_icreq(&extra);
		cqe = raw_fabric_connect(&extra, HOST_A, 1, h[0].cntlid, 16, 0);
		again = (cqe.status.raw & 0xfffe) == 0;
		if (!again) {
			raw_tcp_host_close(&extra);
			bystander_io();
		}
	}
	assert_true(again);
	raw_tcp_host_close(&extra);
	for (int q = 0; q < MAX_QPAIRS_PER_HOST; q++)
		raw_tcp_host_close(&h[q]);
	bystander_io();
}

/*
 * The one poll group holds the bystander's 2 qpairs; host A fills its 3, host
 * C takes one more (6): host C's next Connect finds the group full.
 */
static void test_group_qpair_limit(void **state)
{
	long long refused0 = stat_get("limits.connect_refused_group_limit");
	struct raw_tcp_host h[MAX_QPAIRS_PER_HOST], c, extra;
	struct nvme_cqe cqe;

	(void)state;
	/* Earlier tests' connections are closing: wait until only the bystander's remain. */
	for (int i = 0; i < 500 && connected_qpairs() > 2; i++)
		bystander_io();
	assert_int_equal(connected_qpairs(), 2);
	host_a_fill(h);
	raw_admin(&c, HOST_C, 32, RAW_KATO_MS);
	raw_icreq(&extra);
	cqe = raw_fabric_connect(&extra, HOST_C, 1, c.cntlid, 16, 0);
	assert_busy(&cqe);
	assert_int_equal(stat_get("limits.connect_refused_group_limit"), refused0 + 1);
	raw_tcp_host_close(&extra);
	raw_tcp_host_close(&c);
	for (int q = 0; q < MAX_QPAIRS_PER_HOST; q++)
		raw_tcp_host_close(&h[q]);
	bystander_io();
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	char opts[256];

	snprintf(opts, sizeof(opts),
	         ", \"icreq_timeout_ms\": %d, \"connect_timeout_ms\": %d, \"max_kato_ms\": %d, "
	         "\"max_qpairs_per_host\": %d, \"max_qpairs_per_group\": %d",
	         ICREQ_TIMEOUT_MS, CONNECT_TIMEOUT_MS, MAX_KATO_MS, MAX_QPAIRS_PER_HOST,
	         MAX_QPAIRS_PER_GROUP);
	*state = &g_env;
	return tcp_bystander_env_start(&g_env, SUBNQN, opts, HOST_BYSTANDER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kato_above_max_refused),
	    cmocka_unit_test(test_kato_zero_idle_reclaimed),
	    cmocka_unit_test(test_host_qpair_limit),
	    cmocka_unit_test(test_group_qpair_limit),
	};

	return cmocka_run_group_tests(tests, group_setup, tcp_bystander_env_teardown);
}
