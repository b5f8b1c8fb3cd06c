/*
 * Persistent reservations over NVMe/TCP: two hosts with different host
 * identifiers (host A and host B) on unvmf-tgt's RAM namespace, driven by the
 * host library with raw reservation commands. Access per reservation type,
 * preempt and abort with its notice (log page 80h and the AER), release and
 * clear, the report, and PTPL across a target restart. Every test leaves the
 * namespace with no registrants (a Clear at its end).
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
#include "tgt_proc.h"
#include "unvmf/host.h"

#define NQN "nqn.2026-12.io.unvmf:resv"
#define BS 512u
#define KEY_A 0xaaaa0000aaaa0001ull
#define KEY_B 0xbbbb0000bbbb0002ull

enum { RTYPE_WE = 1, RTYPE_EA = 2, RTYPE_WERO = 3, RTYPE_EARO = 4, RTYPE_WEAR = 5, RTYPE_EAAR = 6 };

static struct tgt_proc g_tp;
static char g_ptpl[128];

struct host {
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp;
	uint8_t hostid[16];
};

static int tgt_start(void)
{
	const char *args[] = {"-m", "0x1", NULL};

	return tgt_proc_start_config(
	    &g_tp, args,
	    "{\"subsystems\": [\n"
	    " {\"subsystem\": \"bdev\", \"config\": [\n"
	    "  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", \"num_blocks\": "
	    "2048, \"block_size\": 512}}]},\n"
	    " {\"subsystem\": \"nvmf\", \"config\": [\n"
	    "  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\"}},\n"
	    "  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", "
	    "\"allow_any_host\": true}},\n"
	    "  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", "
	    "\"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1, \"ptpl_file\": \"%s\"}}},\n"
	    "  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", "
	    "\"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": "
	    "\"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
	    NQN, NQN, g_ptpl, NQN);
}

static int group_setup(void **state)
{
	snprintf(g_ptpl, sizeof(g_ptpl), "/tmp/unvmf-resv-ptpl-%d.json", (int)getpid());
	unlink(g_ptpl);
	return tgt_start();
}

static int group_teardown(void **state)
{
	int rc = tgt_proc_finish(&g_tp, 20);

	unlink(g_ptpl);
	return rc;
}

static void host_connect(struct host *h, uint8_t id)
{
	struct unvmf_host_opts o;
	struct unvmf_trid trid;

	memset(h, 0, sizeof(*h));
	unvmf_host_opts_init(&o);
	snprintf(o.hostnqn, sizeof(o.hostnqn), "nqn.2026-12.io.unvmf:resv-host-%u", id);
	memset(o.hostid, id, sizeof(o.hostid));
	memcpy(h->hostid, o.hostid, 16);
	o.num_io_queues = 1;
	tgt_proc_trid(&g_tp, NQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &o, &h->ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(h->ctrlr, 0, &h->qp, NULL), 0);
}

static void host_disconnect(struct host *h)
{
	unvmf_host_qpair_destroy(h->qp);
	unvmf_host_disconnect(h->ctrlr);
}

/* Runs a reservation command the host library submitted (0 or -errno from submit). */
static int resv_wait(struct host *h, int rc, struct e2e_io *io)
{
	if (rc)
		return rc;
	return e2e_wait(h->qp, io, 10000);
}

/* Register action (0 register, 1 unregister, 2 replace), IEKEY, CPTPL. */
static int reg(struct host *h, uint32_t rrega, bool iekey, uint32_t cptpl, uint64_t crkey,
               uint64_t nrkey)
{
	uint64_t keys[2] = {crkey, nrkey};
	struct e2e_io io = {0};

	return resv_wait(h,
	                 unvmf_host_resv_register(h->qp, 1, (uint8_t)rrega, iekey, (uint8_t)cptpl,
	                                          keys, e2e_io_cb, &io),
	                 &io);
}

/* Acquire action (0 acquire, 1 preempt, 2 preempt and abort). */
static int acquire(struct host *h, uint32_t racqa, uint32_t rtype, uint64_t crkey, uint64_t prkey)
{
	uint64_t keys[2] = {crkey, prkey};
	struct e2e_io io = {0};

	return resv_wait(
	    h,
	    unvmf_host_resv_acquire(h->qp, 1, (uint8_t)racqa, (uint8_t)rtype, keys, e2e_io_cb, &io),
	    &io);
}

/* Release action (0 release, 1 clear). */
static int release(struct host *h, uint32_t rrela, uint32_t rtype, uint64_t crkey)
{
	struct e2e_io io = {0};

	return resv_wait(h,
	                 unvmf_host_resv_release(h->qp, 1, (uint8_t)rrela, (uint8_t)rtype, &crkey,
	                                         e2e_io_cb, &io),
	                 &io);
}

static int report(struct host *h, bool eds, uint8_t *buf, uint32_t len)
{
	struct e2e_io io = {0};

	memset(buf, 0xee, len);
	return resv_wait(h, unvmf_host_resv_report(h->qp, 1, eds, buf, len, e2e_io_cb, &io), &io);
}

static int wr(struct host *h)
{
	static uint8_t buf[BS];

	memset(buf, 0x5a, sizeof(buf));
	return e2e_write(h->qp, 1, 7, 1, buf, sizeof(buf));
}

static int rd(struct host *h)
{
	static uint8_t buf[BS];

	return e2e_read(h->qp, 1, 7, 1, buf, sizeof(buf));
}

#define CONFLICT E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_RESERVATION_CONFLICT)

static void two_hosts(struct host *a, struct host *b)
{
	host_connect(a, 0xa1);
	host_connect(b, 0xb2);
}

/* A clears everything (A must be registered with KEY_A). */
static void clear_and_disconnect(struct host *a, struct host *b)
{
	assert_int_equal(release(a, 1, 0, KEY_A), 0);
	host_disconnect(a);
	host_disconnect(b);
}

static void test_identify(void **state)
{
	struct host a;
	struct nvme_id_ns ns;
	const struct nvme_id_ctrl *cd;

	host_connect(&a, 0xa1);
	cd = unvmf_host_ctrlr_data(a.ctrlr);
	assert_true(cd->oncs & NVME_ONCS_RESERVATIONS);
	assert_true(cd->ctratt & 1);
	assert_int_equal(unvmf_host_identify_ns(a.ctrlr, 1, &ns), 0);
	/* Every type, IEKEY, and PTPL (the namespace has a state file). */
	assert_int_equal(ns.rescap, 0xff);
	host_disconnect(&a);
}

static void test_write_exclusive(void **state)
{
	struct host a, b;

	two_hosts(&a, &b);
	assert_int_equal(reg(&a, 0, false, 0, 0, KEY_A), 0);
	/* Registering again with the same key succeeds, with another conflicts. */
	assert_int_equal(reg(&a, 0, false, 0, 0, KEY_A), 0);
	assert_int_equal(reg(&a, 0, false, 0, 0, KEY_B), CONFLICT);
	assert_int_equal(acquire(&a, 0, RTYPE_WE, KEY_A, 0), 0);
	/* A wrong current key, and acquiring another type while holding, conflict. */
	assert_int_equal(acquire(&a, 0, RTYPE_WE, KEY_B, 0), CONFLICT);
	assert_int_equal(acquire(&a, 0, RTYPE_EA, KEY_A, 0), CONFLICT);
	assert_int_equal(wr(&a), 0);
	assert_int_equal(wr(&b), CONFLICT);
	assert_int_equal(rd(&b), 0);
	/* Registered, B still may not write: only the holder writes under type 1. */
	assert_int_equal(reg(&b, 0, false, 0, 0, KEY_B), 0);
	assert_int_equal(wr(&b), CONFLICT);
	assert_int_equal(acquire(&b, 0, RTYPE_WE, KEY_B, 0), CONFLICT);
	/* Write Zeroes and a fused Compare and Write are writes too. */
	{
		struct nvme_sqe sqe = {0};

		sqe.opc = NVME_OPC_WRITE_ZEROES;
		sqe.nsid = 1;
		sqe.cdw10 = 7;
		assert_int_equal(e2e_cmd(b.qp, &sqe, NULL, 0), CONFLICT);
	}
	clear_and_disconnect(&a, &b);
}

static void test_exclusive_access(void **state)
{
	struct host a, b;

	two_hosts(&a, &b);
	assert_int_equal(reg(&a, 0, false, 0, 0, KEY_A), 0);
	assert_int_equal(acquire(&a, 0, RTYPE_EA, KEY_A, 0), 0);
	assert_int_equal(rd(&a), 0);
	assert_int_equal(wr(&a), 0);
	assert_int_equal(rd(&b), CONFLICT);
	assert_int_equal(wr(&b), CONFLICT);
	/* Exclusive Access: registering gives B nothing. */
	assert_int_equal(reg(&b, 0, false, 0, 0, KEY_B), 0);
	assert_int_equal(rd(&b), CONFLICT);
	clear_and_disconnect(&a, &b);
}

static void test_registrants_only(void **state)
{
	static const uint32_t types[] = {RTYPE_WERO, RTYPE_EARO, RTYPE_WEAR, RTYPE_EAAR};
	struct host a, b;

	two_hosts(&a, &b);
	for (size_t i = 0; i < 4; i++) {
		uint32_t t = types[i];
		bool reads_open = t == RTYPE_WERO || t == RTYPE_WEAR;

		assert_int_equal(reg(&a, 0, false, 0, 0, KEY_A), 0);
		assert_int_equal(acquire(&a, 0, t, KEY_A, 0), 0);
		assert_int_equal(wr(&b), CONFLICT);
		assert_int_equal(rd(&b), reads_open ? 0 : CONFLICT);
		assert_int_equal(reg(&b, 0, false, 0, 0, KEY_B), 0);
		assert_int_equal(wr(&b), 0);
		assert_int_equal(rd(&b), 0);
		/* All-registrants types: B holds it too, so acquiring the same type succeeds. */
		assert_int_equal(acquire(&b, 0, t, KEY_B, 0), t >= RTYPE_WEAR ? 0 : CONFLICT);
		assert_int_equal(release(&a, 1, 0, KEY_A), 0);
		/* Cleared: no reservation, B (unregistered now) writes again. */
		assert_int_equal(wr(&b), 0);
	}
	host_disconnect(&a);
	host_disconnect(&b);
}

struct aer_state {
	int done;
	uint32_t cdw0;
};

static void aer_cb(void *arg, const struct nvme_cqe *cqe)
{
	struct aer_state *s = arg;

	s->cdw0 = cqe->cdw0;
	s->done++;
}

static void test_preempt_and_abort(void **state)
{
	struct host a, b;
	struct aer_state aer = {0};
	uint8_t log[64];
	uint64_t count;
	uint8_t rep[64 + 2 * 64];
	uint32_t nsid;

	two_hosts(&a, &b);
	assert_int_equal(unvmf_host_aer_submit(a.ctrlr, aer_cb, &aer), 0);
	assert_int_equal(reg(&a, 0, false, 0, 0, KEY_A), 0);
	assert_int_equal(reg(&b, 0, false, 0, 0, KEY_B), 0);
	assert_int_equal(acquire(&a, 0, RTYPE_WE, KEY_A, 0), 0);
	assert_int_equal(wr(&b), CONFLICT);
	/* Preempting a key nobody has conflicts; a zero key is invalid against a holder. */
	assert_int_equal(acquire(&b, 2, RTYPE_WE, KEY_B, 0x1234), CONFLICT);
	assert_int_equal(acquire(&b, 2, RTYPE_WE, KEY_B, 0),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	assert_int_equal(acquire(&b, 2, RTYPE_EA, KEY_B, KEY_A), 0);
	/* B holds Exclusive Access; A is no longer registered. */
	assert_int_equal(wr(&b), 0);
	assert_int_equal(wr(&a), CONFLICT);
	assert_int_equal(rd(&a), CONFLICT);
	assert_int_equal(release(&a, 0, RTYPE_WE, KEY_A), CONFLICT);
	for (int i = 0; i < 200 && !aer.done; i++) {
		unvmf_host_admin_poll(a.ctrlr);
		usleep(10000);
	}
	assert_int_equal(aer.done, 1);
	/* I/O command specific (6), info 0, log page 80h. */
	assert_int_equal(aer.cdw0 & 7, NVME_AER_TYPE_IO);
	assert_int_equal((aer.cdw0 >> 8) & 0xff, 0);
	assert_int_equal((aer.cdw0 >> 16) & 0xff, NVME_LOG_RESERVATION_NOTIFICATION);
	assert_int_equal(unvmf_host_get_log_page(a.ctrlr, NVME_LOG_RESERVATION_NOTIFICATION, 0, 0,
	                                         log, sizeof(log)),
	                 0);
	memcpy(&count, log, 8);
	memcpy(&nsid, log + 12, 4);
	assert_true(count >= 1);
	assert_int_equal(log[8], 1); /* Registration Preempted */
	assert_int_equal(log[9], 0); /* nothing more */
	assert_int_equal(nsid, 1);
	/* Read: the log is empty now. */
	assert_int_equal(unvmf_host_get_log_page(a.ctrlr, NVME_LOG_RESERVATION_NOTIFICATION, 0, 0,
	                                         log, sizeof(log)),
	                 0);
	assert_int_equal(log[8], 0);
	/* The report: B alone, holding type 2. */
	assert_int_equal(report(&b, true, rep, sizeof(rep)), 0);
	assert_int_equal(rep[4], RTYPE_EA);
	assert_int_equal(rep[5] | rep[6] << 8, 1);
	assert_memory_equal(rep + 64 + 16, b.hostid, 16);
	assert_int_equal(rep[64 + 2], 1);
	assert_int_equal(release(&b, 1, 0, KEY_B), 0);
	host_disconnect(&a);
	host_disconnect(&b);
}

static void test_release_and_clear(void **state)
{
	struct host a, b;
	uint8_t log[64], rep[64];
	uint32_t dw0 = 0;

	two_hosts(&a, &b);
	assert_int_equal(reg(&a, 0, false, 0, 0, KEY_A), 0);
	assert_int_equal(reg(&b, 0, false, 0, 0, KEY_B), 0);
	assert_int_equal(acquire(&a, 0, RTYPE_EARO, KEY_A, 0), 0);
	assert_int_equal(rd(&b), 0);
	/* Release needs the type held; a non-holder's release does nothing. */
	assert_int_equal(release(&a, 0, RTYPE_WE, KEY_A),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	assert_int_equal(release(&b, 0, RTYPE_EARO, KEY_B), 0);
	assert_int_equal(report(&a, true, rep, sizeof(rep)), 0);
	assert_int_equal(rep[4], RTYPE_EARO);
	assert_int_equal(release(&a, 0, RTYPE_EARO, KEY_A), 0);
	assert_int_equal(report(&a, true, rep, sizeof(rep)), 0);
	assert_int_equal(rep[4], 0);
	assert_int_equal(rep[5], 2);
	/* B, a registrant of a registrants-only reservation, hears it went. */
	assert_int_equal(unvmf_host_get_log_page(b.ctrlr, NVME_LOG_RESERVATION_NOTIFICATION, 0, 0,
	                                         log, sizeof(log)),
	                 0);
	assert_int_equal(log[8], 2); /* Reservation Released */
	/* Masked in the notification mask, a clear leaves B's log empty. */
	assert_int_equal(unvmf_host_set_features(b.ctrlr, NVME_FEAT_RESERVATION_NOTIFICATION_MASK,
	                                         1u << 3, 0, NULL, 0, &dw0),
	                 0);
	assert_int_equal(release(&a, 1, 0, KEY_A), 0);
	assert_int_equal(report(&a, true, rep, sizeof(rep)), 0);
	assert_int_equal(rep[5], 0);
	usleep(100000);
	assert_int_equal(unvmf_host_get_log_page(b.ctrlr, NVME_LOG_RESERVATION_NOTIFICATION, 0, 0,
	                                         log, sizeof(log)),
	                 0);
	assert_int_equal(log[8], 0);
	/* Unregistered by the clear: B's key is gone. */
	assert_int_equal(release(&b, 0, RTYPE_EARO, KEY_B), CONFLICT);
	host_disconnect(&a);
	host_disconnect(&b);
}

static void test_report(void **state)
{
	struct host a, b;
	uint8_t rep[64 + 3 * 64];
	uint32_t gen0, gen1;
	uint64_t key;

	two_hosts(&a, &b);
	/* The 64-bit host identifier format cannot carry a fabrics host's identifier. */
	assert_int_equal(report(&a, false, rep, 64),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_HOSTID_INCONSISTENT_FORMAT));
	assert_int_equal(report(&a, true, rep, sizeof(rep)), 0);
	memcpy(&gen0, rep, 4);
	assert_int_equal(rep[5], 0);
	assert_int_equal(reg(&a, 0, false, 0, 0, KEY_B), 0);
	/* Replace with the wrong current key conflicts; with IEKEY it is ignored. */
	assert_int_equal(reg(&a, 2, false, 0, KEY_A, KEY_A), CONFLICT);
	assert_int_equal(reg(&a, 2, true, 0, 0, KEY_A), 0);
	assert_int_equal(reg(&b, 0, false, 0, 0, KEY_B), 0);
	assert_int_equal(acquire(&b, 0, RTYPE_WERO, KEY_B, 0), 0);
	assert_int_equal(report(&a, true, rep, sizeof(rep)), 0);
	memcpy(&gen1, rep, 4);
	assert_int_equal(gen1, gen0 + 3);
	assert_int_equal(rep[4], RTYPE_WERO);
	assert_int_equal(rep[5] | rep[6] << 8, 2);
	/* Registrants in registration order: A then B (B holds). */
	assert_int_equal(rep[64] | rep[65] << 8, 0xffff);
	assert_int_equal(rep[64 + 2], 0);
	memcpy(&key, rep + 64 + 8, 8);
	assert_true(key == KEY_A);
	assert_memory_equal(rep + 64 + 16, a.hostid, 16);
	assert_int_equal(rep[128 + 2], 1);
	memcpy(&key, rep + 128 + 8, 8);
	assert_true(key == KEY_B);
	assert_memory_equal(rep + 128 + 16, b.hostid, 16);
	/* A short buffer gets the header alone. */
	assert_int_equal(report(&a, true, rep, 64), 0);
	assert_int_equal(rep[5], 2);
	/* B unregisters: a registrants-only reservation goes with its holder. */
	assert_int_equal(reg(&b, 1, false, 0, KEY_B, 0), 0);
	assert_int_equal(report(&a, true, rep, sizeof(rep)), 0);
	assert_int_equal(rep[4], 0);
	assert_int_equal(rep[5], 1);
	clear_and_disconnect(&a, &b);
}

/* Get Features Reservation Persistence on namespace 1: PTPL in bit 0. */
static uint32_t ptpl_state(struct host *h)
{
	struct nvme_sqe sqe = {0};
	struct nvme_cqe cqe = {0};

	sqe.opc = NVME_OPC_GET_FEATURES;
	sqe.nsid = 1;
	sqe.cdw10 = NVME_FEAT_RESERVATION_PERSISTENCE;
	assert_int_equal(
	    unvmf_host_admin_cmd(h->ctrlr, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE, &cqe, 0), 0);
	return cqe.cdw0;
}

static void test_ptpl_restart(void **state)
{
	struct host a, b;
	uint8_t rep[64 + 64];

	host_connect(&a, 0xa1);
	/* CPTPL 11b: persist. */
	assert_int_equal(reg(&a, 0, false, 3, 0, KEY_A), 0);
	assert_int_equal(acquire(&a, 0, RTYPE_WE, KEY_A, 0), 0);
	assert_int_equal(ptpl_state(&a), 1);
	host_disconnect(&a);
	assert_int_equal(tgt_proc_stop(&g_tp, 20), 0);
	assert_int_equal(tgt_start(), 0);

	two_hosts(&a, &b);
	assert_int_equal(wr(&b), CONFLICT);
	assert_int_equal(rd(&b), 0);
	assert_int_equal(wr(&a), 0);
	assert_int_equal(report(&b, true, rep, sizeof(rep)), 0);
	assert_int_equal(rep[4], RTYPE_WE);
	assert_int_equal(rep[5], 1);
	assert_int_equal(rep[9], 1); /* PTPLS */
	assert_memory_equal(rep + 64 + 16, a.hostid, 16);
	/* CPTPL 10b: stop persisting; after the next restart nothing is left. */
	assert_int_equal(reg(&a, 2, false, 2, KEY_A, KEY_A), 0);
	host_disconnect(&a);
	host_disconnect(&b);
	assert_int_equal(tgt_proc_stop(&g_tp, 20), 0);
	assert_int_equal(tgt_start(), 0);
	two_hosts(&a, &b);
	assert_int_equal(wr(&b), 0);
	assert_int_equal(report(&b, true, rep, sizeof(rep)), 0);
	assert_int_equal(rep[5], 0);
	assert_int_equal(rep[9], 0);
	assert_int_equal(ptpl_state(&a), 0);
	host_disconnect(&a);
	host_disconnect(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identify),
	    cmocka_unit_test(test_write_exclusive),
	    cmocka_unit_test(test_exclusive_access),
	    cmocka_unit_test(test_registrants_only),
	    cmocka_unit_test(test_preempt_and_abort),
	    cmocka_unit_test(test_release_and_clear),
	    cmocka_unit_test(test_report),
	    cmocka_unit_test(test_ptpl_restart),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
