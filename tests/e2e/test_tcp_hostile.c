/*
 * Hostile hosts over NVMe/TCP, end to end: raw connections (raw_tcp_host)
 * each do one thing a well-behaved host never does, and each must end only
 * the offending command (with the right status) or the offending connection
 * (with the right C2HTermReq, or a close for a deadline), while a bystander
 * controller of the host library does verified I/O throughout: every write
 * is read back byte-exact between and during the hostile actions.
 *
 * The last test prints a coverage report: each hostile action, whether it was
 * reached and its outcome, and the bystander's I/O count and latencies
 * (measured and printed, not asserted: the machine may be loaded). It fails
 * when an action was not reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"
#include "raw_tcp_host.h"
#include "tcp_bystander_env.h"
#include "unvmf/host.h"
#include "unvmf/nvme_tcp_spec.h"
#include "unvmf/nvmf_spec.h"
#include "util/crc32c.h"

#define SUBNQN "nqn.2024-11.io.unvmf:hostile"
#define HOST_BYSTANDER "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000b0"
#define HOST_EVIL "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-0000000000e0"
#define BLOCK 4096u
#define ICREQ_TIMEOUT_MS 400
#define CONNECT_TIMEOUT_MS 400
/* Generous: every ending comes within a fraction of this on any machine. */
#define END_BOUND_MS 15000
/* The bystander's blocks: past every block the hostile hosts touch. */
#define BY_LBA0 512u
#define BY_BLOCKS 64u

static struct tcp_bystander_env g_env;

/* ---- the coverage report ---- */

enum hostile_action {
	ACT_SGL_LONGER,
	ACT_SGL_SHORTER,
	ACT_BEYOND_QUEUE,
	ACT_SHORT_PDU,
	ACT_OVERSIZED_PDU,
	ACT_BAD_HDGST,
	ACT_BAD_DDGST,
	ACT_NO_ICREQ,
	ACT_NO_CONNECT,
	ACT_DUP_QID,
	ACT_AER_FLOOD,
	ACT_ABORT_FLOOD,
	ACT_H2C_UNKNOWN_TAG,
	ACT_H2C_OUT_OF_RANGE,
	ACT_COUNT
};

static struct {
	const char *what;
	bool reached;
	char outcome[192];
} g_act[ACT_COUNT] = {
    [ACT_SGL_LONGER] = {.what = "read, SGL longer than the data"},
    [ACT_SGL_SHORTER] = {.what = "read, SGL shorter than the data"},
    [ACT_BEYOND_QUEUE] = {.what = "capsules beyond the queue size"},
    [ACT_SHORT_PDU] = {.what = "PDU shorter than its header"},
    [ACT_OVERSIZED_PDU] = {.what = "PDU beyond the in-capsule limit"},
    [ACT_BAD_HDGST] = {.what = "bad header digest"},
    [ACT_BAD_DDGST] = {.what = "bad data digest"},
    [ACT_NO_ICREQ] = {.what = "ICReq never sent"},
    [ACT_NO_CONNECT] = {.what = "Fabrics Connect never sent"},
    [ACT_DUP_QID] = {.what = "I/O qid connected twice"},
    [ACT_AER_FLOOD] = {.what = "flood of AERs"},
    [ACT_ABORT_FLOOD] = {.what = "flood of Aborts"},
    [ACT_H2C_UNKNOWN_TAG] = {.what = "H2CData for an unknown TTAG"},
    [ACT_H2C_OUT_OF_RANGE] = {.what = "H2CData out of its R2T's range"},
};

/* Called last in each action's test: only an action that met every check is reached. */
static void action_reached(enum hostile_action a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g_act[a].outcome, sizeof(g_act[a].outcome), fmt, ap);
	va_end(ap);
	g_act[a].reached = true;
}

/* ---- the bystander ---- */

static struct {
	uint64_t ios, max_us, sum_us;
	uint32_t next;
} g_by;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void by_account(uint64_t t0)
{
	uint64_t us = now_us() - t0;

	g_by.ios++;
	g_by.sum_us += us;
	if (us > g_by.max_us)
		g_by.max_us = us;
}

/* One verified write + read of a block with a pattern of its own; asserts on any failure. */
static void bystander_io(void)
{
	static uint8_t want[BLOCK], got[BLOCK];
	uint32_t seq = g_by.next++;
	uint64_t lba = BY_LBA0 + seq % BY_BLOCKS, t0;

	for (uint32_t i = 0; i < BLOCK; i++)
		want[i] = (uint8_t)(seq * 131u + i * 7u + 1u);
	t0 = now_us();
	assert_int_equal(e2e_write(g_env.by_qp, 1, lba, 1, want, BLOCK), 0);
	by_account(t0);
	memset(got, 0, sizeof(got));
	t0 = now_us();
	assert_int_equal(e2e_read(g_env.by_qp, 1, lba, 1, got, BLOCK), 0);
	by_account(t0);
	assert_memory_equal(want, got, BLOCK);
}

static void bystander_idle(void *arg)
{
	(void)arg;
	bystander_io();
}

static void bystander_burst(void)
{
	for (int i = 0; i < 4; i++)
		bystander_io();
}

/* ---- raw hosts ---- */

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

/* An enabled admin queue of HOST_EVIL with sqsize entries. */
static void raw_admin(struct raw_tcp_host *h, uint16_t sqsize)
{
	struct nvme_cqe cqe;

	assert_int_equal(raw_tcp_host_open(h, g_env.tp.port), 0);
	assert_int_equal(raw_tcp_host_connect_cqe(h, 0, sqsize, 30000, NVMF_CNTLID_DYNAMIC, SUBNQN,
	                                          HOST_EVIL, &cqe),
	                 0);
	assert_int_equal(cqe.status.raw >> 1, 0);
	assert_int_equal(raw_tcp_host_enable(h), 0);
}

/* I/O queue qid of admin's controller on a new connection. */
static void raw_io(struct raw_tcp_host *io, const struct raw_tcp_host *admin, uint16_t qid)
{
	assert_int_equal(raw_tcp_host_open(io, g_env.tp.port), 0);
	io->cntlid = admin->cntlid;
	assert_int_equal(raw_tcp_host_connect(io, qid, 16, SUBNQN, HOST_EVIL), 0);
}

/*
 * Waits until the target closes h, the bystander working meanwhile; with
 * fes >= 0 a C2HTermReq with that FES and FEI must have come first.
 */
static void expect_end(struct raw_tcp_host *h, int fes, uint32_t fei, struct raw_tcp_end *end)
{
	assert_int_equal(raw_tcp_host_wait_end(h, END_BOUND_MS, bystander_idle, NULL, end), 0);
	if (fes >= 0) {
		assert_true(end->term_req);
		assert_int_equal(end->fes, fes);
		assert_int_equal(end->fei, fei);
	}
	raw_tcp_host_close(h);
}

/* HOST_EVIL's enabled admin queue and its I/O queue 1. */
static void evil_open(struct raw_tcp_host *a, struct raw_tcp_host *io)
{
	raw_admin(a, 32);
	raw_io(io, a, 1);
}

static void evil_close(struct raw_tcp_host *a, struct raw_tcp_host *io)
{
	raw_tcp_host_close(io);
	raw_tcp_host_close(a);
}

/* A read of nblocks at LBA 0 described by an SGL of sgl_len bytes; what came back. */
static struct raw_tcp_result evil_read(struct raw_tcp_host *io, uint32_t nblocks, uint32_t sgl_len)
{
	static uint8_t buf[2 * BLOCK];
	struct raw_tcp_result r;
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_READ;
	sqe.nsid = 1;
	sqe.cdw12 = nblocks - 1;
	assert_int_equal(raw_tcp_host_exec_c2h(io, &sqe, sgl_len, buf, sizeof(buf), &r), 0);
	return r;
}

/* ---- the hostile actions ---- */

/* Success, and exactly the data on the wire: nothing past it. */
static void test_sgl_longer(void **state)
{
	struct raw_tcp_host a, io;
	struct raw_tcp_result r;

	(void)state;
	evil_open(&a, &io);
	r = evil_read(&io, 1, 2 * BLOCK);
	assert_int_equal(r.cqe.status.raw >> 1, 0);
	assert_int_equal(r.c2h_bytes, BLOCK);
	assert_int_equal(r.c2h_max_end, BLOCK);
	bystander_burst();
	evil_close(&a, &io);
	action_reached(ACT_SGL_LONGER, "success, %u bytes in %d C2HData (SGL %u)", r.c2h_bytes,
	               r.c2h_pdus, 2 * BLOCK);
}

/* DATA_SGL_LENGTH_INVALID, and the queue serves on. */
static void test_sgl_shorter(void **state)
{
	struct raw_tcp_host a, io;
	struct raw_tcp_result r;

	(void)state;
	evil_open(&a, &io);
	r = evil_read(&io, 2, BLOCK);
	assert_int_equal(r.cqe.status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(r.cqe.status.s.sc, NVME_SC_DATA_SGL_LENGTH_INVALID);
	assert_int_equal(r.c2h_bytes, 0);
	bystander_burst();
	r = evil_read(&io, 1, BLOCK);
	assert_int_equal(r.cqe.status.raw >> 1, 0);
	evil_close(&a, &io);
	action_reached(ACT_SGL_SHORTER, "DATA_SGL_LENGTH_INVALID, no data; the next read succeeds");
}

/*
 * An admin queue of 2 entries: two AERs stay outstanding, so a third command
 * is beyond the queue size: C2HTermReq PDU sequence error, counted.
 */
static void test_beyond_queue(void **state)
{
	long long over0 = stat_get("tcp.sq_overflows");
	struct raw_tcp_host a;
	struct raw_tcp_end end;
	struct nvme_sqe sqe;

	(void)state;
	raw_admin(&a, 2);
	for (uint16_t cid = 100; cid < 103; cid++) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opc = NVME_OPC_ASYNC_EVENT_REQUEST;
		sqe.cid = cid;
		assert_int_equal(raw_tcp_host_send_capsule(&a, &sqe, NULL, 0), 0);
	}
	expect_end(&a, NVME_TCP_FES_PDU_SEQUENCE_ERROR, 0, &end);
	assert_int_equal(wait_stat("tcp.sq_overflows", over0 + 1), over0 + 1);
	action_reached(ACT_BEYOND_QUEUE, "C2HTermReq PDU sequence error, closed; sq_overflows +1");
}

/*
 * On a new connection past ICReq, the header of a CapsuleCmd whose common
 * header says plen and pdo (what follows is never sent): the target must end
 * the connection with a C2HTermReq of fes at PLEN.
 */
static void bad_capsule_header(uint32_t plen, uint8_t pdo, uint32_t send_len, uint16_t fes)
{
	struct nvme_tcp_cmd cmd;
	struct raw_tcp_host h;
	struct raw_tcp_end end;

	assert_int_equal(raw_tcp_host_open(&h, g_env.tp.port), 0);
	memset(&cmd, 0, sizeof(cmd));
	cmd.common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd.common.hlen = sizeof(cmd);
	cmd.common.pdo = pdo;
	cmd.common.plen = plen;
	cmd.ccsqe.opc = NVME_OPC_WRITE;
	raw_tcp_host_sgl(&cmd.ccsqe, true, plen > sizeof(cmd) ? plen - (uint32_t)sizeof(cmd) : 0);
	assert_int_equal(raw_tcp_host_send(&h, &cmd, send_len), 0);
	expect_end(&h, fes, offsetof(struct nvme_tcp_common_pdu_hdr, plen), &end);
}

/* A CapsuleCmd whose PLEN is shorter than its header: Invalid Header Field at PLEN. */
static void test_short_pdu(void **state)
{
	(void)state;
	bad_capsule_header(40, 0, 40, NVME_TCP_FES_INVALID_HEADER_FIELD);
	action_reached(ACT_SHORT_PDU, "C2HTermReq invalid header field (PLEN), closed");
}

/* A CapsuleCmd announcing 1 MiB of in-capsule data: Data Transfer Limit Exceeded at PLEN. */
static void test_oversized_pdu(void **state)
{
	(void)state;
	bad_capsule_header(sizeof(struct nvme_tcp_cmd) + (1u << 20), sizeof(struct nvme_tcp_cmd),
	                   sizeof(struct nvme_tcp_cmd), NVME_TCP_FES_DATA_TRANSFER_LIMIT_EXCEEDED);
	action_reached(ACT_OVERSIZED_PDU, "C2HTermReq data transfer limit exceeded (PLEN), closed");
}

/* Header digests negotiated, a CapsuleCmd with a wrong one: HDGST error, counted. */
static void test_bad_hdgst(void **state)
{
	long long errs0 = stat_get("tcp.hdgst_errors");
	uint8_t b[sizeof(struct nvme_tcp_cmd) + 4];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	struct raw_tcp_host h;
	struct raw_tcp_end end;
	uint32_t crc;

	(void)state;
	assert_int_equal(raw_tcp_host_dial(&h, g_env.tp.port), 0);
	assert_int_equal(raw_tcp_host_icreq(&h, true, false, 0), 0);
	memset(b, 0, sizeof(b));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.flags = NVME_TCP_CH_FLAGS_HDGSTF;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.plen = sizeof(b);
	cmd->ccsqe.opc = NVME_OPC_KEEP_ALIVE;
	crc = unvmf_crc32c(b, sizeof(*cmd)) ^ 1u;
	memcpy(b + sizeof(*cmd), &crc, sizeof(crc));
	assert_int_equal(raw_tcp_host_send(&h, b, sizeof(b)), 0);
	expect_end(&h, NVME_TCP_FES_HDGST_ERROR, 0, &end);
	assert_int_equal(stat_get("tcp.hdgst_errors"), errs0 + 1);
	action_reached(ACT_BAD_HDGST, "C2HTermReq header digest error, closed; hdgst_errors +1");
}

/*
 * Data digests negotiated, a Connect whose in-capsule data has a wrong one:
 * that command fails with Transient Transport Error and the connection lives
 * on (only header digest errors are fatal): the same Connect, right, succeeds.
 */
static void test_bad_ddgst(void **state)
{
	long long errs0 = stat_get("tcp.ddgst_errors");
	uint8_t b[sizeof(struct nvme_tcp_cmd) + sizeof(struct nvmf_connect_data) + 4];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	struct nvmf_connect_cmd *cc = (struct nvmf_connect_cmd *)&cmd->ccsqe;
	struct nvmf_connect_data *d = (struct nvmf_connect_data *)(b + sizeof(*cmd));
	struct raw_tcp_host h;
	struct nvme_cqe cqe;
	uint32_t crc;

	(void)state;
	assert_int_equal(raw_tcp_host_dial(&h, g_env.tp.port), 0);
	assert_int_equal(raw_tcp_host_icreq(&h, false, true, 0), 0);
	memset(b, 0, sizeof(b));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.flags = NVME_TCP_CH_FLAGS_DDGSTF;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.pdo = sizeof(*cmd);
	cmd->common.plen = sizeof(b);
	cc->opcode = NVME_OPC_FABRICS;
	cc->cid = 7;
	cc->fctype = NVMF_FCTYPE_CONNECT;
	cc->sqsize = 31;
	cc->kato = 30000;
	raw_tcp_host_sgl(&cmd->ccsqe, true, sizeof(*d));
	d->cntlid = NVMF_CNTLID_DYNAMIC;
	strcpy(d->subnqn, SUBNQN);
	strcpy(d->hostnqn, HOST_EVIL);
	crc = unvmf_crc32c(d, sizeof(*d)) ^ 0x100u;
	memcpy(b + sizeof(*cmd) + sizeof(*d), &crc, sizeof(crc));
	assert_int_equal(raw_tcp_host_send(&h, b, sizeof(b)), 0);
	assert_int_equal(raw_tcp_host_recv_rsp(&h, &cqe), 0);
	assert_int_equal(cqe.cid, 7);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(cqe.status.s.sc, NVME_SC_TRANSIENT_TRANSPORT_ERROR);
	assert_int_equal(stat_get("tcp.ddgst_errors"), errs0 + 1);
	bystander_burst();
	assert_int_equal(raw_tcp_host_connect(&h, 0, 32, SUBNQN, HOST_EVIL), 0);
	raw_tcp_host_close(&h);
	action_reached(ACT_BAD_DDGST, "TRANSIENT_TRANSPORT_ERROR for that Connect; the next "
	                              "Connect on the connection succeeds; ddgst_errors +1");
}

/* A TCP connection that never sends ICReq: closed after icreq_timeout_ms, counted. */
static void test_no_icreq(void **state)
{
	long long ended0 = stat_get("tcp.conns_ended.icreq_timeout");
	struct raw_tcp_host h;
	struct raw_tcp_end end;
	uint64_t t0 = now_us();

	(void)state;
	assert_int_equal(raw_tcp_host_dial(&h, g_env.tp.port), 0);
	expect_end(&h, -1, 0, &end);
	assert_false(end.term_req);
	assert_int_equal(end.other_pdus, 0);
	assert_int_equal(wait_stat("tcp.conns_ended.icreq_timeout", ended0 + 1), ended0 + 1);
	action_reached(ACT_NO_ICREQ,
	               "closed after %llu ms (icreq_timeout_ms %d); "
	               "conns_ended.icreq_timeout +1",
	               (unsigned long long)(now_us() - t0) / 1000, ICREQ_TIMEOUT_MS);
}

/* ICReq but never Connect: closed after connect_timeout_ms, counted by the transport and core. */
static void test_no_connect(void **state)
{
	long long ended0 = stat_get("tcp.conns_ended.connect_timeout");
	long long core0 = stat_get("limits.connect_timeouts");
	struct raw_tcp_host h;
	struct raw_tcp_end end;
	uint64_t t0 = now_us();

	(void)state;
	assert_int_equal(raw_tcp_host_open(&h, g_env.tp.port), 0);
	expect_end(&h, -1, 0, &end);
	assert_false(end.term_req);
	assert_int_equal(wait_stat("tcp.conns_ended.connect_timeout", ended0 + 1), ended0 + 1);
	assert_int_equal(stat_get("limits.connect_timeouts"), core0 + 1);
	action_reached(ACT_NO_CONNECT,
	               "closed after %llu ms (connect_timeout_ms %d); "
	               "connect_timeouts +1",
	               (unsigned long long)(now_us() - t0) / 1000, CONNECT_TIMEOUT_MS);
}

/* A second Connect of a connected qid: refused with Invalid Parameter at QID; the first serves on.
 */
static void test_dup_qid(void **state)
{
	struct raw_tcp_host a, io, dup;
	struct raw_tcp_result r;
	struct nvme_cqe cqe;

	(void)state;
	evil_open(&a, &io);
	assert_int_equal(raw_tcp_host_open(&dup, g_env.tp.port), 0);
	assert_int_equal(
	    raw_tcp_host_connect_cqe(&dup, 1, 16, 0, a.cntlid, SUBNQN, HOST_EVIL, &cqe), 0);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(cqe.status.s.sc, NVMF_SC_INVALID_PARAM);
	assert_int_equal(cqe.cdw0 >> 16, offsetof(struct nvmf_connect_cmd, qid));
	raw_tcp_host_close(&dup);
	bystander_burst();
	r = evil_read(&io, 1, BLOCK);
	assert_int_equal(r.cqe.status.raw >> 1, 0);
	evil_close(&a, &io);
	action_reached(ACT_DUP_QID,
	               "second Connect INVALID_PARAM (IPO qid); the first queue reads on");
}

/*
 * Sends n capsules then a Keep Alive (cid 0xff00) and reads the completions
 * that come for them (nrsp, the Keep Alive's included) into cqes.
 */
static void flood(struct raw_tcp_host *a, const struct nvme_sqe *sqes, unsigned n, unsigned nrsp,
                  struct nvme_cqe *cqes)
{
	struct nvme_sqe ka = {.opc = NVME_OPC_KEEP_ALIVE, .cid = 0xff00};

	for (unsigned i = 0; i < n; i++)
		assert_int_equal(raw_tcp_host_send_capsule(a, &sqes[i], NULL, 0), 0);
	assert_int_equal(raw_tcp_host_send_capsule(a, &ka, NULL, 0), 0);
	for (unsigned i = 0; i < nrsp; i++)
		assert_int_equal(raw_tcp_host_recv_rsp(a, &cqes[i]), 0);
}

/*
 * More AERs than AERL + 1: the first AERL + 1 stay outstanding, the excess
 * fail with the AER limit status at once, and a Keep Alive behind them succeeds.
 */
static void test_aer_flood(void **state)
{
	enum { N = 12 };
	static uint8_t id[BLOCK];
	struct nvme_sqe sqes[N];
	struct nvme_cqe cqes[N + 1];
	struct raw_tcp_host a;
	struct raw_tcp_result r;
	struct nvme_sqe sqe;
	unsigned limit = 0, ka = 0, allowed;

	(void)state;
	raw_admin(&a, 32);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_IDENTIFY;
	sqe.cdw10 = 1;
	assert_int_equal(raw_tcp_host_exec_c2h(&a, &sqe, BLOCK, id, sizeof(id), &r), 0);
	assert_int_equal(r.cqe.status.raw >> 1, 0);
	allowed = id[259] + 1u; /* AERL, 0's based */
	assert_true(allowed < N);
	memset(sqes, 0, sizeof(sqes));
	for (unsigned i = 0; i < N; i++) {
		sqes[i].opc = NVME_OPC_ASYNC_EVENT_REQUEST;
		sqes[i].cid = (uint16_t)(0x200 + i);
	}
	flood(&a, sqes, N, N - allowed + 1, cqes);
	for (unsigned i = 0; i < N - allowed + 1; i++) {
		if (cqes[i].cid == 0xff00) {
			assert_int_equal(cqes[i].status.raw >> 1, 0);
			ka++;
			continue;
		}
		assert_true(cqes[i].cid >= 0x200 + allowed && cqes[i].cid < 0x200 + N);
		assert_int_equal(cqes[i].status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
		assert_int_equal(cqes[i].status.s.sc, NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED);
		limit++;
	}
	assert_int_equal(ka, 1);
	assert_int_equal(limit, N - allowed);
	bystander_burst();
	raw_tcp_host_close(&a);
	action_reached(ACT_AER_FLOOD,
	               "%u AERs: %u held (AERL + 1), %u ASYNC_EVENT_REQUEST_LIMIT_"
	               "EXCEEDED; Keep Alive succeeds",
	               N, allowed, limit);
}

/* A queue nearly full of Aborts of commands never sent: all complete, none aborted. */
static void test_abort_flood(void **state)
{
	enum { N = 24 };
	struct nvme_sqe sqes[N];
	struct nvme_cqe cqes[N + 1];
	struct raw_tcp_host a;
	unsigned aborts = 0;

	(void)state;
	raw_admin(&a, 32);
	memset(sqes, 0, sizeof(sqes));
	for (unsigned i = 0; i < N; i++) {
		sqes[i].opc = NVME_OPC_ABORT;
		sqes[i].cid = (uint16_t)(0x300 + i);
		sqes[i].cdw10 = (uint32_t)(0x7000 + i) << 16; /* CID, SQID 0 */
	}
	flood(&a, sqes, N, N + 1, cqes);
	for (unsigned i = 0; i <= N; i++) {
		assert_int_equal(cqes[i].status.raw >> 1, 0);
		if (cqes[i].cid != 0xff00) {
			assert_int_equal(cqes[i].cdw0 & 1, 1); /* not aborted */
			aborts++;
		}
	}
	assert_int_equal(aborts, N);
	bystander_burst();
	raw_tcp_host_close(&a);
	action_reached(ACT_ABORT_FLOOD,
	               "%u Aborts of unknown commands all complete (none "
	               "aborted); Keep Alive succeeds",
	               aborts);
}

/* A 4-block write by R2T on a new I/O queue; *r2t the target's R2T. */
static void write_to_r2t(struct raw_tcp_host *a, struct raw_tcp_host *io,
                         struct nvme_tcp_r2t_hdr *r2t)
{
	struct nvme_sqe sqe;

	evil_open(a, io);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_WRITE;
	sqe.cid = 0x41;
	sqe.nsid = 1;
	sqe.cdw12 = 3;
	raw_tcp_host_sgl(&sqe, false, 4 * BLOCK);
	assert_int_equal(raw_tcp_host_send_capsule(io, &sqe, NULL, 0), 0);
	assert_int_equal(raw_tcp_host_recv_pdu(io, r2t, sizeof(*r2t)), (int)sizeof(*r2t));
	assert_int_equal(r2t->common.pdu_type, NVME_TCP_PDU_TYPE_R2T);
	assert_int_equal(r2t->cccid, 0x41);
	assert_int_equal(r2t->r2to, 0);
	assert_int_equal(r2t->r2tl, 4 * BLOCK);
}

static void send_h2c(struct raw_tcp_host *io, uint16_t ttag, uint32_t datao, uint32_t datal)
{
	static uint8_t b[sizeof(struct nvme_tcp_h2c_data_hdr) + BLOCK];
	struct nvme_tcp_h2c_data_hdr *h2c = (struct nvme_tcp_h2c_data_hdr *)b;

	assert_true(datal <= BLOCK);
	memset(b, 0x3c, sizeof(b));
	memset(h2c, 0, sizeof(*h2c));
	h2c->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_DATA;
	h2c->common.hlen = sizeof(*h2c);
	h2c->common.pdo = sizeof(*h2c);
	h2c->common.plen = sizeof(*h2c) + datal;
	h2c->cccid = 0x41;
	h2c->ttag = ttag;
	h2c->datao = datao;
	h2c->datal = datal;
	assert_int_equal(raw_tcp_host_send(io, b, h2c->common.plen), 0);
}

/* H2CData naming a TTAG the target never gave: Invalid Header Field at TTAG. */
static void test_h2c_unknown_tag(void **state)
{
	struct raw_tcp_host a, io;
	struct nvme_tcp_r2t_hdr r2t;
	struct raw_tcp_end end;

	(void)state;
	write_to_r2t(&a, &io, &r2t);
	send_h2c(&io, (uint16_t)(r2t.ttag + 5), 0, BLOCK);
	expect_end(&io, NVME_TCP_FES_INVALID_HEADER_FIELD,
	           offsetof(struct nvme_tcp_h2c_data_hdr, ttag), &end);
	/* Only that connection ended: the controller's admin queue answers. */
	assert_int_equal(raw_tcp_host_property(&a, false, NVME_REG_CSTS, 0, NULL), 0);
	raw_tcp_host_close(&a);
	action_reached(ACT_H2C_UNKNOWN_TAG, "C2HTermReq invalid header field (TTAG), that queue "
	                                    "closed; the admin queue answers");
}

/* H2CData past its R2T's window: Data Transfer Out of Range at DATAO. */
static void test_h2c_out_of_range(void **state)
{
	struct raw_tcp_host a, io;
	struct nvme_tcp_r2t_hdr r2t;
	struct raw_tcp_end end;

	(void)state;
	write_to_r2t(&a, &io, &r2t);
	send_h2c(&io, r2t.ttag, r2t.r2tl, BLOCK);
	expect_end(&io, NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE,
	           offsetof(struct nvme_tcp_h2c_data_hdr, datao), &end);
	assert_int_equal(raw_tcp_host_property(&a, false, NVME_REG_CSTS, 0, NULL), 0);
	raw_tcp_host_close(&a);
	action_reached(ACT_H2C_OUT_OF_RANGE, "C2HTermReq data transfer out of range (DATAO), that "
	                                     "queue closed; the admin queue answers");
}

/* ---- the report ---- */

static void test_report(void **state)
{
	unsigned missing = 0;

	(void)state;
	bystander_burst();
	printf("hostile-host coverage (TCP):\n");
	for (int a = 0; a < ACT_COUNT; a++) {
		printf("  %-34s %-11s %s\n", g_act[a].what,
		       g_act[a].reached ? "reached" : "NOT REACHED",
		       g_act[a].reached ? g_act[a].outcome : "");
		missing += !g_act[a].reached;
	}
	printf("bystander: %llu verified I/Os (write + read back), mean latency %llu us, "
	       "max %llu us\n",
	       (unsigned long long)g_by.ios,
	       (unsigned long long)(g_by.ios ? g_by.sum_us / g_by.ios : 0),
	       (unsigned long long)g_by.max_us);
	fflush(stdout);
	assert_true(g_by.ios > 0);
	assert_int_equal(missing, 0);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	char opts[128];

	snprintf(opts, sizeof(opts), ", \"icreq_timeout_ms\": %d, \"connect_timeout_ms\": %d",
	         ICREQ_TIMEOUT_MS, CONNECT_TIMEOUT_MS);
	*state = &g_env;
	return tcp_bystander_env_start(&g_env, SUBNQN, opts, HOST_BYSTANDER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sgl_longer),      cmocka_unit_test(test_sgl_shorter),
	    cmocka_unit_test(test_beyond_queue),    cmocka_unit_test(test_short_pdu),
	    cmocka_unit_test(test_oversized_pdu),   cmocka_unit_test(test_bad_hdgst),
	    cmocka_unit_test(test_bad_ddgst),       cmocka_unit_test(test_no_icreq),
	    cmocka_unit_test(test_no_connect),      cmocka_unit_test(test_dup_qid),
	    cmocka_unit_test(test_aer_flood),       cmocka_unit_test(test_abort_flood),
	    cmocka_unit_test(test_h2c_unknown_tag), cmocka_unit_test(test_h2c_out_of_range),
	    cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, group_setup, tcp_bystander_env_teardown);
}
