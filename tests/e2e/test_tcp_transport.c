/*
 * NVMe/TCP target transport end to end: digests under queue depth across
 * reactors (host library), and raw-socket protocol checks the host library
 * never exercises (R2T flow bytes, an H2CData nobody asked for, HPDA
 * alignment of C2HData, a host H2CTermReq). Digest errors, bad H2CData and
 * oversized PDUs are hostile actions of test_tcp_hostile.c.
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
#include "tgt_proc.h"
#include "unvmf/host.h"
#include "unvmf/nvme_tcp_spec.h"
#include "unvmf/nvmf_spec.h"
#include "util/crc32c.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x3", "-s", "64", NULL};

	return tgt_proc_start_or_dump(&g_tp, args);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 20);
}

struct io_slot {
	struct e2e_io io;
	uint8_t *buf;
	uint32_t len;
	uint64_t lba;
};

static void pattern(uint8_t *b, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static void run_qd(struct unvmf_host_qpair *qp, struct io_slot *s, int n, bool write)
{
	int done = 0;

	for (int i = 0; i < n; i++) {
		struct iovec iov = {.iov_base = s[i].buf, .iov_len = s[i].len};

		memset(&s[i].io, 0, sizeof(s[i].io));
		if (write)
			assert_int_equal(unvmf_host_write(qp, 1, s[i].lba, s[i].len / 512, &iov, 1,
			                                  e2e_io_cb, &s[i].io),
			                 0);
		else
			assert_int_equal(unvmf_host_read(qp, 1, s[i].lba, s[i].len / 512, &iov, 1,
			                                 e2e_io_cb, &s[i].io),
			                 0);
	}
	for (int spins = 0; done < n && spins < 10000000; spins++) {
		assert_true(unvmf_host_qpair_poll(qp, 0) >= 0);
		done = 0;
		for (int i = 0; i < n; i++)
			done += s[i].io.done;
	}
	assert_int_equal(done, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(s[i].io.cqe.status.raw & 0xfffe, 0);
}

static void digests_at_depth(bool hd, bool dd)
{
	static const uint32_t sizes[] = {512, 4096, 8192, 12800, 65536, 131072, 1024, 32768};
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp[2];
	struct unvmf_trid trid;
	struct unvmf_host_error err;
	struct io_slot s[48];

	unvmf_host_opts_init(&opts);
	opts.header_digest = hd;
	opts.data_digest = dd;
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), 0);
	for (int q = 0; q < 2; q++)
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 64, &qp[q], NULL), 0);
	for (int q = 0; q < 2; q++) {
		for (int i = 0; i < 48; i++) {
			s[i].len = sizes[i % 8];
			s[i].lba = (uint64_t)(q * 48 + i) * 256;
			s[i].buf = malloc(s[i].len);
			pattern(s[i].buf, s[i].len, (uint32_t)(q * 100 + i + hd * 7 + dd * 13));
		}
		run_qd(qp[q], s, 48, true);
		for (int i = 0; i < 48; i++)
			memset(s[i].buf, 0xee, s[i].len);
		run_qd(qp[q], s, 48, false);
		for (int i = 0; i < 48; i++) {
			uint8_t *want = malloc(s[i].len);

			pattern(want, s[i].len, (uint32_t)(q * 100 + i + hd * 7 + dd * 13));
			assert_memory_equal(want, s[i].buf, s[i].len);
			free(want);
			free(s[i].buf);
		}
	}
	for (int q = 0; q < 2; q++)
		unvmf_host_qpair_destroy(qp[q]);
	unvmf_host_disconnect(ctrlr);
}

static void test_digests_at_depth(void **state)
{
	digests_at_depth(false, false);
	digests_at_depth(true, false);
	digests_at_depth(false, true);
	digests_at_depth(true, true);
}

/* ---- raw socket ---- */

/* A connection that sent ICReq with the digests and HPDA given; asserts. */
static void raw_icreq_hpda(struct raw_tcp_host *h, bool hd, bool dd, uint8_t hpda)
{
	assert_int_equal(raw_tcp_host_dial(h, g_tp.port), 0);
	assert_int_equal(raw_tcp_host_icreq(h, hd, dd, hpda), 0);
}

static void raw_send(struct raw_tcp_host *h, const void *buf, size_t len)
{
	assert_int_equal(raw_tcp_host_send(h, buf, len), 0);
}

static struct nvme_cqe read_rsp(struct raw_tcp_host *h)
{
	struct nvme_cqe cqe;

	assert_int_equal(raw_tcp_host_recv_rsp(h, &cqe), 0);
	return cqe;
}

/* A C2HTermReq with fes/fei, then the target's close. */
static void expect_term(struct raw_tcp_host *h, uint16_t fes, uint32_t fei)
{
	struct raw_tcp_end end;

	assert_int_equal(raw_tcp_host_wait_end(h, 5000, NULL, NULL, &end), 0);
	assert_true(end.term_req);
	assert_int_equal(end.other_pdus, 0);
	assert_int_equal(end.fes, fes);
	assert_int_equal(end.fei, fei);
}

/* Connect through R2T/H2CData, byte by byte as the spec lays them out. */
static void test_raw_r2t_connect(void **state)
{
	uint8_t b[2048];
	struct nvme_tcp_r2t_hdr r2t;
	struct nvme_tcp_h2c_data_hdr *h2c = (struct nvme_tcp_h2c_data_hdr *)b;
	struct nvmf_connect_cmd cmd;
	struct nvmf_connect_data d;
	struct nvme_cqe cqe;
	struct raw_tcp_host h;

	raw_icreq_hpda(&h, false, false, 0);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.cid = 0x55;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.sqsize = 31;
	cmd.kato = 10000;
	raw_tcp_host_sgl((struct nvme_sqe *)&cmd, false, sizeof(d));
	assert_int_equal(raw_tcp_host_send_capsule(&h, (struct nvme_sqe *)&cmd, NULL, 0), 0);
	assert_int_equal(raw_tcp_host_recv_pdu(&h, &r2t, sizeof(r2t)), (int)sizeof(r2t));
	assert_int_equal(r2t.common.pdu_type, NVME_TCP_PDU_TYPE_R2T);
	assert_int_equal(r2t.cccid, 0x55);
	assert_int_equal(r2t.r2to, 0);
	assert_int_equal(r2t.r2tl, 1024);

	/* Split in two H2CData PDUs, the second sent in two writes. */
	memset(b, 0, sizeof(b));
	h2c->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_DATA;
	h2c->common.hlen = sizeof(*h2c);
	h2c->common.pdo = sizeof(*h2c);
	h2c->common.plen = sizeof(*h2c) + 512;
	h2c->cccid = 0x55;
	h2c->ttag = r2t.ttag;
	h2c->datao = 0;
	h2c->datal = 512;
	memset(&d, 0, sizeof(d));
	d.cntlid = 0xffff;
	d.hostid[0] = 1;
	strcpy(d.subnqn, SUBNQN);
	strcpy(d.hostnqn, HOSTNQN);
	memcpy(b + sizeof(*h2c), &d, 512);
	raw_send(&h, b, sizeof(*h2c) + 512);
	h2c->datao = 512;
	h2c->common.flags = NVME_TCP_H2C_DATA_FLAGS_LAST_PDU;
	memcpy(b + sizeof(*h2c), (uint8_t *)&d + 512, 512);
	raw_send(&h, b, 30);
	usleep(20000);
	raw_send(&h, b + 30, sizeof(*h2c) + 512 - 30);
	cqe = read_rsp(&h);
	assert_int_equal(cqe.cid, 0x55);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);

	/* An H2CData nobody asked for: TTAG is the bad field. */
	h2c->common.flags = 0;
	h2c->datao = 0;
	raw_send(&h, b, sizeof(*h2c) + 512);
	expect_term(&h, NVME_TCP_FES_INVALID_HEADER_FIELD,
	            offsetof(struct nvme_tcp_h2c_data_hdr, ttag));
	raw_tcp_host_close(&h);
}

/* Brings the admin queue of h (no digests) to CSTS.RDY. */
static void raw_admin_enable(struct raw_tcp_host *h)
{
	assert_int_equal(raw_tcp_host_connect(h, 0, 32, SUBNQN, HOSTNQN), 0);
	assert_int_equal(raw_tcp_host_enable(h), 0);
}

/*
 * An I/O queue whose ICReq asked HPDA 7: every C2HData must put its data at a
 * PDO that is a multiple of (7 + 1) * 4 = 32 bytes, padding zeroed, and the
 * data read back must be what was written (digests checked when on).
 */
static void raw_hpda_read(bool hd, bool dd)
{
	enum { LEN = 4096, LBA = 4096 };
	static uint8_t want[LEN], got[LEN], b[256 + LEN + 4];
	struct raw_tcp_host a, h;
	uint32_t received = 0, pdus = 0;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;

	raw_icreq_hpda(&a, false, false, 0);
	raw_admin_enable(&a);
	raw_icreq_hpda(&h, hd, dd, 7);
	h.cntlid = a.cntlid;
	assert_int_equal(raw_tcp_host_connect(&h, 1, 32, SUBNQN, HOSTNQN), 0);
	for (uint32_t i = 0; i < LEN; i++)
		want[i] = (uint8_t)(i * 7 + hd * 3 + dd * 5 + 1);

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_WRITE;
	sqe.cid = 2;
	sqe.nsid = 1;
	sqe.cdw10 = LBA;
	sqe.cdw12 = LEN / 512 - 1;
	raw_tcp_host_sgl(&sqe, true, LEN);
	assert_int_equal(raw_tcp_host_send_capsule(&h, &sqe, want, LEN), 0);
	cqe = read_rsp(&h);
	assert_int_equal(cqe.cid, 2);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);

	sqe.opc = NVME_OPC_READ;
	sqe.cid = 3;
	raw_tcp_host_sgl(&sqe, false, LEN);
	assert_int_equal(raw_tcp_host_send_capsule(&h, &sqe, NULL, 0), 0);
	for (;;) {
		struct nvme_tcp_common_pdu_hdr *ch = (struct nvme_tcp_common_pdu_hdr *)b;
		struct nvme_tcp_c2h_data_hdr *c2h = (struct nvme_tcp_c2h_data_hdr *)b;
		int plen = raw_tcp_host_recv_pdu(&h, b, sizeof(b));
		uint32_t crc;

		assert_true(plen > 0);
		if (ch->pdu_type == NVME_TCP_PDU_TYPE_CAPSULE_RESP) {
			cqe = ((struct nvme_tcp_rsp *)b)->rccqe;
			break;
		}
		assert_int_equal(ch->pdu_type, NVME_TCP_PDU_TYPE_C2H_DATA);
		assert_int_equal(ch->hlen, sizeof(*c2h));
		assert_int_equal(ch->pdo % 32, 0);
		assert_true(ch->pdo >= sizeof(*c2h) + (hd ? 4u : 0u));
		assert_int_equal(!!(ch->flags & NVME_TCP_CH_FLAGS_HDGSTF), hd);
		assert_int_equal(!!(ch->flags & NVME_TCP_CH_FLAGS_DDGSTF), dd);
		assert_int_equal(c2h->cccid, 3);
		assert_int_equal(c2h->datao, received);
		assert_true(c2h->datal > 0 && received + c2h->datal <= LEN);
		assert_int_equal(plen, ch->pdo + c2h->datal + (dd ? 4u : 0u));
		if (hd) {
			memcpy(&crc, b + sizeof(*c2h), 4);
			assert_int_equal(crc, unvmf_crc32c(b, sizeof(*c2h)));
		}
		for (uint32_t i = sizeof(*c2h) + (hd ? 4u : 0u); i < ch->pdo; i++)
			assert_int_equal(b[i], 0);
		if (dd) {
			memcpy(&crc, b + ch->pdo + c2h->datal, 4);
			assert_int_equal(crc, unvmf_crc32c(b + ch->pdo, c2h->datal));
		}
		memcpy(got + received, b + ch->pdo, c2h->datal);
		received += c2h->datal;
		pdus++;
		/* SUCCESS on the last C2HData stands in for the CapsuleResp. */
		if (ch->flags & NVME_TCP_C2H_DATA_FLAGS_SUCCESS) {
			assert_true(ch->flags & NVME_TCP_C2H_DATA_FLAGS_LAST_PDU);
			memset(&cqe, 0, sizeof(cqe));
			cqe.cid = c2h->cccid;
			break;
		}
	}
	assert_int_equal(cqe.cid, 3);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_true(pdus >= 1);
	assert_int_equal(received, LEN);
	assert_memory_equal(want, got, LEN);
	raw_tcp_host_close(&h);
	raw_tcp_host_close(&a);
}

static void test_raw_hpda_c2h_alignment(void **state)
{
	raw_hpda_read(false, false);
	raw_hpda_read(true, true);
}

/*
 * A host's H2CTermReq: the target closes that connection without answering
 * (no C2HTermReq to a terminating host) and the controller's other connection
 * goes on working.
 */
static void test_raw_h2c_term_req_closes_only_it(void **state)
{
	uint8_t b[sizeof(struct nvme_tcp_term_req_hdr) + 8];
	struct nvme_tcp_term_req_hdr *t = (struct nvme_tcp_term_req_hdr *)b;
	struct raw_tcp_host a, h;
	struct raw_tcp_end end;
	uint64_t csts = 0;

	raw_icreq_hpda(&a, false, false, 0);
	raw_admin_enable(&a);
	raw_icreq_hpda(&h, false, false, 0);
	h.cntlid = a.cntlid;
	assert_int_equal(raw_tcp_host_connect(&h, 1, 32, SUBNQN, HOSTNQN), 0);

	memset(b, 0, sizeof(b));
	t->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_TERM_REQ;
	t->common.hlen = sizeof(*t);
	t->common.plen = sizeof(b);
	t->fes = NVME_TCP_FES_INVALID_HEADER_FIELD;
	t->fei[0] = 2;
	raw_send(&h, b, sizeof(b));
	assert_int_equal(raw_tcp_host_wait_end(&h, 5000, NULL, NULL, &end), 0);
	assert_false(end.term_req);
	assert_int_equal(end.other_pdus, 0);
	raw_tcp_host_close(&h);

	/* The admin queue of the same controller still answers. */
	assert_int_equal(raw_tcp_host_property(&a, false, NVME_REG_CSTS, 0, &csts), 0);
	assert_true(csts & 1);
	raw_tcp_host_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digests_at_depth),
	    cmocka_unit_test(test_raw_r2t_connect),
	    cmocka_unit_test(test_raw_hpda_c2h_alignment),
	    cmocka_unit_test(test_raw_h2c_term_req_closes_only_it),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
