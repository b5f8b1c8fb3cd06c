/*
 * NVMe/TCP PDU rules from the host's side: the shared checks and builders
 * (src/proto/nvme_tcp_pdu.c) in the host role: ICReq/ICResp, the PDUs a host
 * builds, and every header a controller may send us.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "proto/nvme_tcp_pdu.h"
#include "util/crc32c.h"

#define HDR_BUF 256

static const struct nvme_tcp_pdu_params g_plain = {
    .role = NVME_TCP_ROLE_HOST, .ic_done = true, .tx_align = 4};
static const struct nvme_tcp_pdu_params g_digests = {
    .role = NVME_TCP_ROLE_HOST, .ic_done = true, .hdgst = true, .ddgst = true, .tx_align = 4};

static void test_icreq(void **state)
{
	struct nvme_tcp_ic_req ic;

	(void)state;
	memset(&ic, 0xff, sizeof(ic));
	assert_int_equal(nvme_tcp_pdu_icreq_build(&ic, true, false), 128);
	assert_int_equal(ic.common.pdu_type, NVME_TCP_PDU_TYPE_IC_REQ);
	assert_int_equal(ic.common.hlen, 128);
	assert_int_equal(ic.common.plen, 128);
	assert_int_equal(ic.common.pdo, 0);
	assert_int_equal(ic.pfv, 0);
	assert_int_equal(ic.hpda, 0);
	assert_int_equal(ic.maxr2t, 0);
	assert_int_equal(ic.dgst, NVME_TCP_DIGEST_HEADER);
}

static void icresp_make(struct nvme_tcp_ic_resp *ic, uint8_t cpda, bool hd, bool dd,
                        uint32_t maxh2c)
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
	struct nvme_tcp_pdu_params p = {.role = NVME_TCP_ROLE_HOST};
	struct nvme_tcp_pdu_error err;

	(void)state;
	icresp_make(&ic, 3, true, false, 131072);
	assert_int_equal(nvme_tcp_pdu_icresp_check(&ic, true, true, &p, &err), 0);
	assert_true(p.ic_done);
	assert_true(p.hdgst);
	assert_false(p.ddgst);
	assert_int_equal(p.tx_align, 16);
	assert_int_equal(p.maxh2cdata, 131072);
	/* A digest we did not ask for. */
	icresp_make(&ic, 0, false, true, 131072);
	assert_int_equal(nvme_tcp_pdu_icresp_check(&ic, true, false, &p, &err), -EPROTO);
	assert_int_equal(err.fei, 11);
	/* MAXH2CDATA below 4 KiB, wrong PFV, wrong type. */
	icresp_make(&ic, 0, false, false, 2048);
	assert_int_equal(nvme_tcp_pdu_icresp_check(&ic, false, false, &p, &err), -EPROTO);
	assert_int_equal(err.fes, NVME_TCP_FES_INVALID_HEADER_FIELD);
	assert_int_equal(err.fei, 12);
	icresp_make(&ic, 0, false, false, 8192);
	ic.pfv = 1;
	assert_int_equal(nvme_tcp_pdu_icresp_check(&ic, false, false, &p, &err), -EPROTO);
	assert_int_equal(err.fei, 8);
	icresp_make(&ic, 32, false, false, 8192);
	assert_int_equal(nvme_tcp_pdu_icresp_check(&ic, false, false, &p, &err), -EPROTO);
	assert_int_equal(err.fei, 10);
	icresp_make(&ic, 0, false, false, 8192);
	ic.common.pdu_type = NVME_TCP_PDU_TYPE_C2H_TERM_REQ;
	assert_int_equal(nvme_tcp_pdu_icresp_check(&ic, false, false, &p, &err), -EPROTO);
	assert_int_equal(err.fei, 0);
}

static void test_capsule_no_data(void **state)
{
	uint8_t buf[HDR_BUF];
	const struct nvme_tcp_cmd *cmd = (const void *)buf;
	struct nvme_sqe sqe;
	uint32_t n;

	(void)state;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_FLUSH;
	sqe.cid = 17;
	n = nvme_tcp_pdu_capsule_build(buf, &g_plain, &sqe, 0);
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
	uint8_t buf[HDR_BUF];
	const struct nvme_tcp_cmd *cmd = (const void *)buf;
	struct nvme_tcp_pdu_params p = g_digests;
	struct nvme_sqe sqe;
	uint32_t n, crc;

	(void)state;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_WRITE;
	n = nvme_tcp_pdu_capsule_build(buf, &p, &sqe, 4096);
	/* 72 header + 4 digest = 76, data at 76 (4-byte alignment). */
	assert_int_equal(n, 76);
	assert_int_equal(cmd->common.pdo, 76);
	assert_int_equal(cmd->common.plen, 76 + 4096 + 4);
	assert_int_equal(cmd->common.flags, NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF);
	memcpy(&crc, buf + 72, 4);
	assert_int_equal(crc, unvmf_crc32c(buf, 72));
	assert_true(nvme_tcp_pdu_hdgst_ok(buf, 72));
	buf[10] ^= 1;
	assert_false(nvme_tcp_pdu_hdgst_ok(buf, 72));

	/* CPDA 31: data aligned to 128 bytes, pad zeroed. */
	p.tx_align = 128;
	memset(buf, 0xee, sizeof(buf));
	n = nvme_tcp_pdu_capsule_build(buf, &p, &sqe, 512);
	assert_int_equal(n, 128);
	assert_int_equal(cmd->common.pdo, 128);
	assert_int_equal(cmd->common.plen, 128 + 512 + 4);
	for (int i = 76; i < 128; i++)
		assert_int_equal(buf[i], 0);
}

static void test_h2c_build(void **state)
{
	uint8_t buf[HDR_BUF];
	const struct nvme_tcp_h2c_data_hdr *h = (const void *)buf;
	uint32_t n;

	(void)state;
	n = nvme_tcp_pdu_h2c_build(buf, &g_plain, 5, 0x77, 8192, 4096, true);
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
	n = nvme_tcp_pdu_h2c_build(buf, &g_digests, 5, 0x77, 0, 4096, false);
	assert_int_equal(n, 28);
	assert_int_equal(h->common.plen, 28 + 4096 + 4);
	assert_int_equal(h->common.flags, NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF);
}

/* CPDA 4: 20-byte alignment, not a power of two; data starts at the next multiple of 20. */
static void test_h2c_build_odd_cpda(void **state)
{
	struct nvme_tcp_pdu_params p = g_digests;
	uint8_t buf[HDR_BUF];
	const struct nvme_tcp_h2c_data_hdr *h = (const void *)buf;

	(void)state;
	p.tx_align = 20;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(nvme_tcp_pdu_h2c_build(buf, &p, 5, 0x77, 0, 4096, true), 40);
	assert_int_equal(h->common.pdo, 40);
	assert_int_equal(h->common.plen, 40 + 4096 + 4);
	for (int i = 28; i < 40; i++)
		assert_int_equal(buf[i], 0);
}

static void test_term_req_build(void **state)
{
	uint8_t buf[24 + 128], bad[200];
	const struct nvme_tcp_term_req_hdr *t = (const void *)buf;
	uint32_t fei, n;

	(void)state;
	memset(bad, 0xab, sizeof(bad));
	n = nvme_tcp_pdu_term_req_build(buf, &g_plain, NVME_TCP_FES_PDU_SEQUENCE_ERROR, 0x1234, bad,
	                                sizeof(bad));
	assert_int_equal(n, 24 + 128);
	assert_int_equal(t->common.pdu_type, NVME_TCP_PDU_TYPE_H2C_TERM_REQ);
	assert_int_equal(t->common.hlen, 24);
	assert_int_equal(t->common.plen, 152);
	assert_int_equal(t->fes, NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	memcpy(&fei, t->fei, 4);
	assert_int_equal(fei, 0x1234);
	assert_int_equal(buf[24], 0xab);
}

static struct nvme_tcp_common_pdu_hdr ch_make(uint8_t type, uint8_t flags, uint8_t hlen,
                                              uint8_t pdo, uint32_t plen)
{
	struct nvme_tcp_common_pdu_hdr ch = {
	    .pdu_type = type, .flags = flags, .hlen = hlen, .pdo = pdo, .plen = plen};

	return ch;
}

static void test_ch_check(void **state)
{
	struct nvme_tcp_common_pdu_hdr ch;
	struct nvme_tcp_pdu_layout lay;
	struct nvme_tcp_pdu_error err = {0};

	(void)state;
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_RESP, 0, 24, 0, 24);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), 0);
	assert_int_equal(lay.data_off, 24);
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_RESP, NVME_TCP_CH_FLAGS_HDGSTF, 24, 0, 28);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_digests, &lay, &err), 0);
	assert_int_equal(lay.data_off, 28);
	/* Digest negotiated but flag missing. */
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_RESP, 0, 24, 0, 24);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_digests, &lay, &err), -EPROTO);
	assert_int_equal(err.fes, NVME_TCP_FES_INVALID_HEADER_FIELD);
	assert_int_equal(err.fei, 1);
	/* Host-to-controller type sent to the host. */
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 0, 72);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	assert_int_equal(err.fei, 0);
	/* Wrong HLEN, wrong PLEN. */
	ch = ch_make(NVME_TCP_PDU_TYPE_R2T, 0, 20, 0, 24);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	assert_int_equal(err.fei, 2);
	ch = ch_make(NVME_TCP_PDU_TYPE_R2T, 0, 24, 0, 100);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	assert_int_equal(err.fei, 4);
	/* C2HData: header up to PDO, digest flags must match, PDO past header. */
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, NVME_TCP_C2H_DATA_FLAGS_LAST_PDU, 24, 24,
	             24 + 4096);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), 0);
	assert_int_equal(lay.data_off, 24);
	assert_int_equal(lay.data_len, 4096);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA,
	             NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF, 24, 32, 32 + 512 + 4);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_digests, &lay, &err), 0);
	assert_int_equal(lay.data_off, 32);
	assert_int_equal(lay.data_len, 512);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, NVME_TCP_CH_FLAGS_HDGSTF, 24, 28, 28 + 512);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_digests, &lay, &err), -EPROTO);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, 0, 24, 16, 24 + 512);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	assert_int_equal(err.fei, 3);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, 0, 24, 24, 24);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	/* We announce HPDA 0: data at a PDO that is no dword multiple is a bad header. */
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_DATA, 0, 24, 26, 26 + 512);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	assert_int_equal(err.fei, 3);
	/* A CapsuleResp carries no data, and no data digest flag. */
	ch = ch_make(NVME_TCP_PDU_TYPE_CAPSULE_RESP, NVME_TCP_CH_FLAGS_DDGSTF, 24, 0, 24);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_digests, &lay, &err), -EPROTO);
	/* IC and C2H types only: an ICReq or H2CTermReq is never sent to a host. */
	ch = ch_make(NVME_TCP_PDU_TYPE_IC_REQ, 0, 128, 0, 128);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	assert_int_equal(err.fei, 0);
	ch = ch_make(NVME_TCP_PDU_TYPE_H2C_TERM_REQ, 0, 24, 0, 24);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
	assert_int_equal(err.fei, 0);
	/* TermReq: no digest even when negotiated, at most 128 bytes of data. */
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_TERM_REQ, 0, 24, 0, 24 + 72);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_digests, &lay, &err), 0);
	assert_int_equal(lay.data_off, 24);
	ch = ch_make(NVME_TCP_PDU_TYPE_C2H_TERM_REQ, 0, 24, 0, 24 + 129);
	assert_int_equal(nvme_tcp_pdu_ch_check(&ch, &g_plain, &lay, &err), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_icreq),
	    cmocka_unit_test(test_icresp_check),
	    cmocka_unit_test(test_capsule_no_data),
	    cmocka_unit_test(test_capsule_in_capsule_data_digests),
	    cmocka_unit_test(test_h2c_build),
	    cmocka_unit_test(test_h2c_build_odd_cpda),
	    cmocka_unit_test(test_term_req_build),
	    cmocka_unit_test(test_ch_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
