/* Host-side NVMe/TCP PDU building and checking (src/host/tcp/host_tcp_pdu.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "host/tcp/host_tcp_pdu.h"
#include "util/crc32c.h"

static const struct host_tcp_params g_plain = {.cpda_align = 4};
static const struct host_tcp_params g_digests = {.hdgst = true, .ddgst = true, .cpda_align = 4};

static void test_icreq(void **state)
{
	struct nvme_tcp_ic_req ic;

	(void)state;
	memset(&ic, 0xff, sizeof(ic));
	host_tcp_icreq_build(&ic, true, false);
	assert_int_equal(ic.common.pdu_type, NVME_TCP_PDU_TYPE_IC_REQ);
	assert_int_equal(ic.common.hlen, 128);
	assert_int_equal(ic.common.plen, 128);
	assert_int_equal(ic.common.pdo, 0);
	assert_int_equal(ic.pfv, 0);
	assert_int_equal(ic.hpda, 0);
	assert_int_equal(ic.maxr2t, 0);
	assert_int_equal(ic.dgst, NVME_TCP_DIGEST_HEADER);
}

static void icresp_make(struct nvme_tcp_ic_resp *ic, uint8_t cpda, bool hd, bool dd, uint32_t maxh2c)
{
	memset(ic, 0, sizeof(*ic));
	ic->common.pdu_type = NVME_TCP_PDU_TYPE_IC_RESP;
	ic->common.hlen = 128;
	ic->common.plen = 128;
	ic->cpda = cpda;
	ic->dgst = (uint8_t)((hd ? NVME_TCP_DIGEST_HEADER : 0) | (dd ? NVME_TCP_DIGEST_DATA : 0));
	ic->maxh2cdata = maxh2c;
}

static void test_icresp_check(void **state)
{
	struct nvme_tcp_ic_resp ic;
	struct host_tcp_params p;
	uint32_t maxh2c = 0;
	uint16_t fes;

	(void)state;
	icresp_make(&ic, 3, true, false, 131072);
	assert_int_equal(host_tcp_icresp_check(&ic, true, true, &p, &maxh2c, &fes), 0);
	assert_true(p.hdgst);
	assert_false(p.ddgst);
	assert_int_equal(p.cpda_align, 16);
	assert_int_equal(maxh2c, 131072);
	/* A digest we did not ask for. */
	icresp_make(&ic, 0, false, true, 131072);
	assert_int_equal(host_tcp_icresp_check(&ic, true, false, &p, &maxh2c, &fes), -EPROTO);
	/* MAXH2CDATA below 4 KiB, wrong PFV, wrong type. */
	icresp_make(&ic, 0, false, false, 2048);
	assert_int_equal(host_tcp_icresp_check(&ic, false, false, &p, &maxh2c, &fes), -EPROTO);
	assert_int_equal(fes, NVME_TCP_FES_INVALID_HEADER_FIELD);
	icresp_make(&ic, 0, false, false, 8192);
	ic.pfv = 1;
	assert_int_equal(host_tcp_icresp_check(&ic, false, false, &p, &maxh2c, &fes), -EPROTO);
	icresp_make(&ic, 0, false, false, 8192);
	ic.common.pdu_type = NVME_TCP_PDU_TYPE_C2H_TERM_REQ;
	assert_int_equal(host_tcp_icresp_check(&ic, false, false, &p, &maxh2c, &fes), -EPROTO);
}

static void test_capsule_no_data(void **state)
{
	uint8_t buf[HOST_TCP_HDR_MAX];
	const struct nvme_tcp_cmd *cmd = (const void *)buf;
	struct nvme_sqe sqe;
	uint32_t n;

	(void)state;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_FLUSH;
	sqe.cid = 17;
	n = host_tcp_capsule_build(buf, &sqe, 0, &g_plain);
	assert_int_equal(n, 72);
	assert_int_equal(cmd->common.pdu_type, NVME_TCP_PDU_TYPE_CAPSULE_CMD);
	assert_int_equal(cmd->common.hlen, 72);
	assert_int_equal(cmd->common.plen, 72);
	assert_int_equal(cmd->common.pdo, 0);
	assert_int_equal(cmd->common.flags, 0);
	assert_int_equal(cmd->ccsqe.cid, 17);
}

static void test_capsule_in_capsule_data_digests(void **state)
{
	uint8_t buf[HOST_TCP_HDR_MAX];
	const struct nvme_tcp_cmd *cmd = (const void *)buf;
	struct host_tcp_params p = g_digests;
	struct nvme_sqe sqe;
	uint32_t n, crc;

	(void)state;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_WRITE;
	n = host_tcp_capsule_build(buf, &sqe, 4096, &p);
	/* 72 header + 4 digest = 76, data at 76 (4-byte alignment). */
	assert_int_equal(n, 76);
	assert_int_equal(cmd->common.pdo, 76);
	assert_int_equal(cmd->common.plen, 76 + 4096 + 4);
	assert_int_equal(cmd->common.flags, NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF);
	memcpy(&crc, buf + 72, 4);
	assert_int_equal(crc, unvmf_crc32c(buf, 72));
	assert_true(host_tcp_hdgst_ok(buf, 72));
	buf[10] ^= 1;
	assert_false(host_tcp_hdgst_ok(buf, 72));

	/* CPDA 31: data aligned to 128 bytes, pad zeroed. */
	p.cpda_align = 128;
	memset(buf, 0xee, sizeof(buf));
	n = host_tcp_capsule_build(buf, &sqe, 512, &p);
	assert_int_equal(n, 128);
	assert_int_equal(cmd->common.pdo, 128);
	assert_int_equal(cmd->common.plen, 128 + 512 + 4);
	for (int i = 76; i < 128; i++)
		assert_int_equal(buf[i], 0);
}

static void test_h2c_build(void **state)
{
	uint8_t buf[HOST_TCP_HDR_MAX];
	const struct nvme_tcp_h2c_data_hdr *h = (const void *)buf;
	uint32_t n;

	(void)state;
	n = host_tcp_h2c_build(buf, 5, 0x77, 8192, 4096, true, &g_plain);
	assert_int_equal(n, 24);
	assert_int_equal(h->common.pdu_type, NVME_TCP_PDU_TYPE_H2C_DATA);
	assert_int_equal(h->common.hlen, 24);
	assert_int_equal(h->common.pdo, 24);
	assert_int_equal(h->common.plen, 24 + 4096);
	assert_int_equal(h->common.flags, NVME_TCP_H2C_DATA_FLAGS_LAST_PDU);
	assert_int_equal(h->cccid, 5);
	assert_int_equal(h->ttag, 0x77);
	assert_int_equal(h->datao, 8192);
	assert_int_equal(h->datal, 4096);
	n = host_tcp_h2c_build(buf, 5, 0x77, 0, 4096, false, &g_digests);
	assert_int_equal(n, 28);
	assert_int_equal(h->common.plen, 28 + 4096 + 4);
	assert_int_equal(h->common.flags, NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF);
}

static void test_term_req_build(void **state)
{
	uint8_t buf[24 + 128], bad[200];
	const struct nvme_tcp_term_req_hdr *t = (const void *)buf;
	uint32_t fei, n;

	(void)state;
	memset(bad, 0xab, sizeof(bad));
	n = host_tcp_term_req_build(buf, NVME_TCP_FES_PDU_SEQUENCE_ERROR, 0x1234, bad, sizeof(bad));
	assert_int_equal(n, 24 + 128);
	assert_int_equal(t->common.pdu_type, NVME_TCP_PDU_TYPE_H2C_TERM_REQ);
	assert_int_equal(t->common.hlen, 24);
	assert_int_equal(t->common.plen, 152);
	assert_int_equal(t->fes, NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	memcpy(&fei, t->fei, 4);
	assert_int_equal(fei, 0x1234);
	assert_int_equal(buf[24], 0xab);
}

static struct nvme_tcp_common_pdu_hdr ch_make(uint8_t type, uint8_t flags, uint8_t hlen, uint8_t pdo,
					      uint32_t plen)
{
	struct nvme_tcp_common_pdu_hdr ch = {.pdu_type = type, .flags = flags, .hlen = hlen, .pdo = pdo, .plen = plen};

	return ch;
}

static void test_ch_check(void **state)
{
	struct nvme_tcp_common_pdu_hdr ch;
	uint32_t total = 0, fei = 0;
	uint16_t fes = 0;

	(void)state;
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_RESP, 0, 24, 0, 24);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), 0);
	assert_int_equal(total, 24);
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_RESP, NVME_TCP_CH_FLAGS_HDGSTF, 24, 0, 28);
	assert_int_equal(host_tcp_ch_check(&ch, &g_digests, &total, &fes, &fei), 0);
	assert_int_equal(total, 28);
	/* Digest negotiated but flag missing. */
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_RESP, 0, 24, 0, 24);
	assert_int_equal(host_tcp_ch_check(&ch, &g_digests, &total, &fes, &fei), -EPROTO);
	assert_int_equal(fes, NVME_TCP_FES_INVALID_HEADER_FIELD);
	assert_int_equal(fei, 1);
	/* Host-to-controller type sent to the host. */
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 0, 72);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), -EPROTO);
	assert_int_equal(fei, 0);
	/* Wrong HLEN, wrong PLEN. */
	ch = ch_make(NVME_TCP_PDU_TYPE_R2T, 0, 20, 0, 24);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), -EPROTO);
	assert_int_equal(fei, 2);
	ch = ch_make(NVME_TCP_PDU_TYPE_R2T, 0, 24, 0, 100);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), -EPROTO);
	assert_int_equal(fei, 4);
	/* C2HData: header up to PDO, digest flags must match, PDO past header. */
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, NVME_TCP_C2H_DATA_FLAGS_LAST_PDU, 24, 24, 24 + 4096);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), 0);
	assert_int_equal(total, 24);
	assert_int_equal(host_tcp_payload_len(&ch, total, &g_plain), 4096);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF, 24,
		     32, 32 + 512 + 4);
	assert_int_equal(host_tcp_ch_check(&ch, &g_digests, &total, &fes, &fei), 0);
	assert_int_equal(total, 32);
	assert_int_equal(host_tcp_payload_len(&ch, total, &g_digests), 512);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, NVME_TCP_CH_FLAGS_HDGSTF, 24, 28, 28 + 512);
	assert_int_equal(host_tcp_ch_check(&ch, &g_digests, &total, &fes, &fei), -EPROTO);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, 0, 24, 16, 24 + 512);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), -EPROTO);
	assert_int_equal(fei, 3);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, 0, 24, 24, 24);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), -EPROTO);
	/* TermReq: no digest even when negotiated, at most 128 bytes of data. */
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_TERM_REQ, 0, 24, 0, 24 + 72);
	assert_int_equal(host_tcp_ch_check(&ch, &g_digests, &total, &fes, &fei), 0);
	assert_int_equal(total, 24);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_TERM_REQ, 0, 24, 0, 24 + 129);
	assert_int_equal(host_tcp_ch_check(&ch, &g_plain, &total, &fes, &fei), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icreq),
		cmocka_unit_test(test_icresp_check),
		cmocka_unit_test(test_capsule_no_data),
		cmocka_unit_test(test_capsule_in_capsule_data_digests),
		cmocka_unit_test(test_h2c_build),
		cmocka_unit_test(test_term_req_build),
		cmocka_unit_test(test_ch_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
