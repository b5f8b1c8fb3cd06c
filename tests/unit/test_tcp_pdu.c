/*
 * NVMe/TCP PDU rules from the controller's side: the shared checks and
 * builders (src/proto/nvme_tcp_pdu.c) in the controller role, every header a
 * host may send, good and bad, and the exact bytes of every header a
 * controller builds; then the controller's own rules (src/transport/tcp/
 * tcp_pdu.c: H2CData against its R2T, the SGL).
 * Offsets are spelled as numbers from the NVMe/TCP specification so a wrong
 * struct layout fails here too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "transport/tcp/tcp_pdu.h"
#include "util/crc32c.h"

#define FES_INVALID NVME_TCP_FES_INVALID_HEADER_FIELD
#define FES_SEQ NVME_TCP_FES_PDU_SEQUENCE_ERROR
#define FES_LIMIT NVME_TCP_FES_DATA_TRANSFER_LIMIT_EXCEEDED
#define FES_RANGE NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE

static struct nvme_tcp_pdu_params params(bool ic_done, bool hdgst, bool ddgst)
{
	struct nvme_tcp_pdu_params p = {
	    .role = NVME_TCP_ROLE_CONTROLLER,
	    .ic_done = ic_done,
	    .hdgst = hdgst,
	    .ddgst = ddgst,
	    .tx_align = 4,
	    .icd_max = 8192,
	    .maxh2cdata = 131072,
	};

	return p;
}

static void ch_set(void *buf, uint8_t type, uint8_t flags, uint8_t hlen, uint8_t pdo, uint32_t plen)
{
	uint8_t *b = buf;

	b[0] = type;
	b[1] = flags;
	b[2] = hlen;
	b[3] = pdo;
	memcpy(b + 4, &plen, 4);
}

static void expect_reject(const void *buf, const struct nvme_tcp_pdu_params *p, uint16_t fes,
                          uint32_t fei)
{
	struct nvme_tcp_pdu_layout lay;
	struct nvme_tcp_pdu_error err = {0};

	assert_int_equal(nvme_tcp_pdu_ch_check(buf, p, &lay, &err), -EPROTO);
	assert_int_equal(err.fes, fes);
	assert_int_equal(err.fei, fei);
}

static void expect_ok(const void *buf, const struct nvme_tcp_pdu_params *p, uint32_t hdr_len,
                      uint32_t data_off, uint32_t data_len, uint32_t ddgst_len)
{
	struct nvme_tcp_pdu_layout lay;
	struct nvme_tcp_pdu_error err = {0};

	assert_int_equal(nvme_tcp_pdu_ch_check(buf, p, &lay, &err), 0);
	assert_int_equal(lay.hdr_len, hdr_len);
	assert_int_equal(lay.data_off, data_off);
	assert_int_equal(lay.data_len, data_len);
	assert_int_equal(lay.ddgst_len, ddgst_len);
}

static void test_icreq(void **state)
{
	struct nvme_tcp_pdu_params before = params(false, false, false);
	struct nvme_tcp_pdu_params after = params(true, false, false);
	uint8_t buf[128] = {0};
	struct nvme_tcp_pdu_error err;

	ch_set(buf, NVME_TCP_PDU_TYPE_IC_REQ, 0, 128, 0, 128);
	expect_ok(buf, &before, 128, 128, 0, 0);
	assert_int_equal(nvme_tcp_pdu_icreq_check((const void *)buf, &err), 0);
	buf[10] = 31; /* HPDA at its maximum */
	buf[11] = NVME_TCP_DIGEST_HEADER | NVME_TCP_DIGEST_DATA;
	assert_int_equal(nvme_tcp_pdu_icreq_check((const void *)buf, &err), 0);

	/* Exactly once. */
	expect_reject(buf, &after, FES_SEQ, 0);
	/* HLEN, PDO, PLEN, FLAGS of the common header. */
	buf[2] = 100;
	expect_reject(buf, &before, FES_INVALID, 2);
	buf[2] = 128;
	buf[3] = 4;
	expect_reject(buf, &before, FES_INVALID, 3);
	buf[3] = 0;
	ch_set(buf, NVME_TCP_PDU_TYPE_IC_REQ, 0, 128, 0, 132);
	expect_reject(buf, &before, FES_INVALID, 4);
	ch_set(buf, NVME_TCP_PDU_TYPE_IC_REQ, NVME_TCP_CH_FLAGS_HDGSTF, 128, 0, 128);
	expect_reject(buf, &before, FES_INVALID, 1);

	/* PFV other than 0, HPDA above 31. */
	ch_set(buf, NVME_TCP_PDU_TYPE_IC_REQ, 0, 128, 0, 128);
	buf[8] = 1;
	assert_int_equal(nvme_tcp_pdu_icreq_check((const void *)buf, &err), -EPROTO);
	assert_int_equal(err.fes, FES_INVALID);
	assert_int_equal(err.fei, 8);
	buf[8] = 0;
	buf[10] = 32;
	assert_int_equal(nvme_tcp_pdu_icreq_check((const void *)buf, &err), -EPROTO);
	assert_int_equal(err.fes, FES_INVALID);
	assert_int_equal(err.fei, 10);
}

static void test_type_and_sequence(void **state)
{
	struct nvme_tcp_pdu_params before = params(false, false, false);
	struct nvme_tcp_pdu_params after = params(true, false, false);
	static const uint8_t c2h_types[] = {
	    NVME_TCP_PDU_TYPE_IC_RESP,
	    NVME_TCP_PDU_TYPE_C2H_TERM_REQ,
	    NVME_TCP_PDU_TYPE_CAPSULE_RESP,
	    NVME_TCP_PDU_TYPE_C2H_DATA,
	    NVME_TCP_PDU_TYPE_R2T,
	    0x08,
	    0x0a,
	    0x33,
	    0xff,
	};
	uint8_t buf[128] = {0};

	/* Commands and data before the ICReq are out of sequence. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 0, 72);
	expect_reject(buf, &before, FES_SEQ, 0);
	expect_ok(buf, &after, 72, 72, 0, 0);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_DATA, 0, 24, 24, 28);
	expect_reject(buf, &before, FES_SEQ, 0);
	/* Unknown types and controller-to-host types: the type field is bad. */
	for (unsigned i = 0; i < sizeof(c2h_types); i++) {
		ch_set(buf, c2h_types[i], 0, 24, 0, 24);
		expect_reject(buf, &before, FES_INVALID, 0);
		expect_reject(buf, &after, FES_INVALID, 0);
	}
}

static void test_capsule_cmd(void **state)
{
	struct nvme_tcp_pdu_params p = params(true, false, false);
	struct nvme_tcp_pdu_params ph = params(true, true, false);
	struct nvme_tcp_pdu_params phd = params(true, true, true);
	uint8_t buf[128] = {0};
	const uint8_t H = NVME_TCP_CH_FLAGS_HDGSTF, D = NVME_TCP_CH_FLAGS_DDGSTF;

	/* Without data: PLEN is the header (and its digest). */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 0, 72);
	expect_ok(buf, &p, 72, 72, 0, 0);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, H, 72, 0, 76);
	expect_ok(buf, &ph, 76, 76, 0, 0);
	/* With in-capsule data at PDO, and its digest after it. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 72, 72 + 4096);
	expect_ok(buf, &p, 72, 72, 4096, 0);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, H | D, 72, 76, 76 + 4096 + 4);
	expect_ok(buf, &phd, 76, 76, 4096, 4);
	/* Padding the host chose: PDO beyond the header, dword aligned. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 128, 128 + 512);
	expect_ok(buf, &p, 72, 128, 512, 0);
	/* Exactly the in-capsule limit, then one dword more. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 72, 72 + 8192);
	expect_ok(buf, &p, 72, 72, 8192, 0);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 72, 72 + 8196);
	expect_reject(buf, &p, FES_LIMIT, 4);

	/* HLEN. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 71, 0, 72);
	expect_reject(buf, &p, FES_INVALID, 2);
	/* Header digest flag must match the negotiation, both ways. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, H, 72, 0, 76);
	expect_reject(buf, &p, FES_INVALID, 1);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 0, 72);
	expect_reject(buf, &ph, FES_INVALID, 1);
	/* PLEN shorter than the header with its digest. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, H, 72, 0, 72);
	expect_reject(buf, &ph, FES_INVALID, 4);
	/* Data digest flag: without data, or against the negotiation. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, D, 72, 0, 72);
	expect_reject(buf, &p, FES_INVALID, 1);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, H, 72, 76, 76 + 512 + 4);
	expect_reject(buf, &phd, FES_INVALID, 1);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, D, 72, 72, 72 + 512 + 4);
	expect_reject(buf, &p, FES_INVALID, 1);
	/* PDO inside the header, inside the header digest, or not dword aligned. */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 64, 72 + 512);
	expect_reject(buf, &p, FES_INVALID, 3);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, H, 72, 72, 76 + 512);
	expect_reject(buf, &ph, FES_INVALID, 3);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 74, 74 + 512);
	expect_reject(buf, &p, FES_INVALID, 3);
	/* PDO at or past the end of the PDU (no room for data, or for the digest). */
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, 0, 72, 80, 76);
	expect_reject(buf, &p, FES_INVALID, 4);
	ch_set(buf, NVME_TCP_PDU_TYPE_CAPSULE_CMD, H | D, 72, 76, 80);
	expect_reject(buf, &phd, FES_INVALID, 4);
}

static void test_h2c_data_header(void **state)
{
	struct nvme_tcp_pdu_params p = params(true, false, false);
	struct nvme_tcp_pdu_params pd = params(true, false, true);
	uint8_t buf[64] = {0};

	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_DATA, NVME_TCP_H2C_DATA_FLAGS_LAST_PDU, 24, 24,
	       24 + 4096);
	expect_ok(buf, &p, 24, 24, 4096, 0);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_DATA, NVME_TCP_CH_FLAGS_DDGSTF, 24, 24, 24 + 4096 + 4);
	expect_ok(buf, &pd, 24, 24, 4096, 4);
	/* H2CData without data. */
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_DATA, 0, 24, 0, 24);
	expect_reject(buf, &p, FES_INVALID, 4);
	/* More than MAXH2CDATA. */
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_DATA, 0, 24, 24, 24 + 131072 + 4);
	expect_reject(buf, &p, FES_LIMIT, 4);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_DATA, 0, 20, 24, 24 + 4096);
	expect_reject(buf, &p, FES_INVALID, 2);
}

static void h2c_fill(struct nvme_tcp_h2c_data_hdr *h, uint16_t cccid, uint16_t ttag, uint32_t datao,
                     uint32_t datal)
{
	memset(h, 0, sizeof(*h));
	ch_set(h, NVME_TCP_PDU_TYPE_H2C_DATA, 0, 24, 24, 24 + datal);
	h->cccid = cccid;
	h->ttag = ttag;
	h->datao = datao;
	h->datal = datal;
}

static void expect_h2c(const struct nvme_tcp_h2c_data_hdr *h, const struct tcp_h2c_expect *exp,
                       uint32_t lay_len, int rc, uint16_t fes, uint32_t fei)
{
	struct nvme_tcp_pdu_layout lay = {.hdr_len = 24, .data_off = 24, .data_len = lay_len};
	struct nvme_tcp_pdu_error err = {0};

	assert_int_equal(tcp_pdu_h2c_check(h, &lay, exp, 131072, &err), rc);
	if (rc) {
		assert_int_equal(err.fes, fes);
		assert_int_equal(err.fei, fei);
	}
}

static void test_h2c_against_r2t(void **state)
{
	struct tcp_h2c_expect exp = {.active = true, .cccid = 7, .next = 8192, .end = 16384};
	struct tcp_h2c_expect none = {.active = false};
	struct nvme_tcp_h2c_data_hdr h;

	h2c_fill(&h, 7, 3, 8192, 4096);
	expect_h2c(&h, &exp, 4096, 0, 0, 0);
	h2c_fill(&h, 7, 3, 8192, 8192);
	expect_h2c(&h, &exp, 8192, 0, 0, 0);
	/* No R2T outstanding under that TTAG. */
	expect_h2c(&h, &none, 8192, -EPROTO, FES_INVALID, 10);
	/* Another command's CCCID. */
	h2c_fill(&h, 8, 3, 8192, 4096);
	expect_h2c(&h, &exp, 4096, -EPROTO, FES_INVALID, 8);
	/* DATAL disagreeing with PLEN. */
	h2c_fill(&h, 7, 3, 8192, 4096);
	expect_h2c(&h, &exp, 4092, -EPROTO, FES_INVALID, 16);
	/* Out of order, before, or past the R2T. */
	h2c_fill(&h, 7, 3, 12288, 4096);
	expect_h2c(&h, &exp, 4096, -EPROTO, FES_RANGE, 12);
	h2c_fill(&h, 7, 3, 4096, 4096);
	expect_h2c(&h, &exp, 4096, -EPROTO, FES_RANGE, 12);
	h2c_fill(&h, 7, 3, 8192, 8196);
	expect_h2c(&h, &exp, 8196, -EPROTO, FES_RANGE, 16);
}

static void test_h2c_term_req(void **state)
{
	struct nvme_tcp_pdu_params before = params(false, true, true);
	uint8_t buf[32] = {0};

	/* Allowed at any time, never with digests, PLEN 24..152. */
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_TERM_REQ, 0, 24, 0, 24);
	expect_ok(buf, &before, 24, 24, 0, 0);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_TERM_REQ, 0, 24, 0, 152);
	expect_ok(buf, &before, 24, 24, 128, 0);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_TERM_REQ, 0, 24, 0, 153);
	expect_reject(buf, &before, FES_INVALID, 4);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_TERM_REQ, 0, 24, 0, 20);
	expect_reject(buf, &before, FES_INVALID, 4);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_TERM_REQ, NVME_TCP_CH_FLAGS_HDGSTF, 24, 0, 28);
	expect_reject(buf, &before, FES_INVALID, 1);
	ch_set(buf, NVME_TCP_PDU_TYPE_H2C_TERM_REQ, 0, 32, 0, 32);
	expect_reject(buf, &before, FES_INVALID, 2);
}

static void test_header_digest(void **state)
{
	/* The CRC32C check value (RFC 3720 B.4): digests are the standard Castagnoli CRC. */
	uint8_t buf[16] = "123456789";
	uint32_t want = 0xe3069283;
	struct nvme_tcp_pdu_params p = params(true, true, false);
	uint8_t r2t[NVME_TCP_PDU_HDR_MAX];

	memcpy(buf + 9, &want, 4);
	assert_true(nvme_tcp_pdu_hdgst_ok(buf, 9));
	buf[0] ^= 1;
	assert_false(nvme_tcp_pdu_hdgst_ok(buf, 9));
	buf[0] ^= 1;
	buf[12] ^= 0x80;
	assert_false(nvme_tcp_pdu_hdgst_ok(buf, 9));

	/* What we build with HDGST passes the check; one flipped bit does not. */
	assert_int_equal(nvme_tcp_pdu_r2t_build(r2t, &p, 1, 2, 0, 4096), 28);
	assert_true(nvme_tcp_pdu_hdgst_ok(r2t, 24));
	r2t[13] ^= 4;
	assert_false(nvme_tcp_pdu_hdgst_ok(r2t, 24));
}

static void sqe_sgl(struct nvme_sqe *cmd, uint8_t type, uint8_t subtype, uint64_t addr,
                    uint32_t len)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->dptr.sgl1.unkeyed.type = type & 0xf;
	cmd->dptr.sgl1.unkeyed.subtype = subtype & 0xf;
	cmd->dptr.sgl1.unkeyed.address = addr;
	cmd->dptr.sgl1.unkeyed.length = len;
}

static void expect_sgl_status(const struct nvme_sqe *cmd, enum unvmf_xfer xfer, uint32_t icd_len,
                              uint8_t want_sc)
{
	struct tcp_sgl sgl;
	uint8_t sct = 0xff, sc = 0xff;

	assert_int_equal(tcp_pdu_sgl_parse(cmd, xfer, icd_len, 8192, 131072, &sgl, &sct, &sc),
	                 -EINVAL);
	assert_int_equal(sct, NVME_SCT_GENERIC);
	assert_int_equal(sc, want_sc);
}

static void test_sgl(void **state)
{
	const enum unvmf_xfer W = UNVMF_XFER_HOST_TO_CONTROLLER, R = UNVMF_XFER_CONTROLLER_TO_HOST;
	struct nvme_sqe cmd;
	struct tcp_sgl sgl;
	uint8_t sct, sc;

	/* Transport data block: data by R2T or C2HData. */
	sqe_sgl(&cmd, NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK, NVME_SGL_SUBTYPE_TRANSPORT, 0, 131072);
	assert_int_equal(tcp_pdu_sgl_parse(&cmd, R, 0, 8192, 131072, &sgl, &sct, &sc), 0);
	assert_int_equal(sgl.kind, TCP_SGL_TRANSPORT);
	assert_int_equal(sgl.length, 131072);
	sqe_sgl(&cmd, NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK, NVME_SGL_SUBTYPE_TRANSPORT, 0, 131073);
	expect_sgl_status(&cmd, R, 0, NVME_SC_DATA_SGL_LENGTH_INVALID);
	sqe_sgl(&cmd, NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK, NVME_SGL_SUBTYPE_TRANSPORT, 0, 4096);
	expect_sgl_status(&cmd, W, 4096, NVME_SC_DATA_SGL_LENGTH_INVALID);

	/* In-capsule data block: offset + length must be exactly the capsule's data. */
	sqe_sgl(&cmd, NVME_SGL_TYPE_DATA_BLOCK, NVME_SGL_SUBTYPE_OFFSET, 0, 4096);
	assert_int_equal(tcp_pdu_sgl_parse(&cmd, W, 4096, 8192, 131072, &sgl, &sct, &sc), 0);
	assert_int_equal(sgl.kind, TCP_SGL_IN_CAPSULE);
	assert_int_equal(sgl.offset, 0);
	assert_int_equal(sgl.length, 4096);
	sqe_sgl(&cmd, NVME_SGL_TYPE_DATA_BLOCK, NVME_SGL_SUBTYPE_OFFSET, 512, 1024);
	assert_int_equal(tcp_pdu_sgl_parse(&cmd, W, 1536, 8192, 131072, &sgl, &sct, &sc), 0);
	assert_int_equal(sgl.offset, 512);
	sqe_sgl(&cmd, NVME_SGL_TYPE_DATA_BLOCK, NVME_SGL_SUBTYPE_OFFSET, 0, 4096);
	expect_sgl_status(&cmd, W, 4092, NVME_SC_DATA_SGL_LENGTH_INVALID);
	expect_sgl_status(&cmd, W, 8192, NVME_SC_DATA_SGL_LENGTH_INVALID);
	expect_sgl_status(&cmd, W, 0, NVME_SC_DATA_SGL_LENGTH_INVALID);
	sqe_sgl(&cmd, NVME_SGL_TYPE_DATA_BLOCK, NVME_SGL_SUBTYPE_OFFSET, 0, 8196);
	expect_sgl_status(&cmd, W, 8196, NVME_SC_DATA_SGL_LENGTH_INVALID);
	sqe_sgl(&cmd, NVME_SGL_TYPE_DATA_BLOCK, NVME_SGL_SUBTYPE_OFFSET, 8200, 4);
	expect_sgl_status(&cmd, W, 8204, NVME_SC_INVALID_SGL_OFFSET);
	/* In-capsule data never carries a read. */
	sqe_sgl(&cmd, NVME_SGL_TYPE_DATA_BLOCK, NVME_SGL_SUBTYPE_OFFSET, 0, 4096);
	expect_sgl_status(&cmd, R, 0, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);

	/* Other types and subtypes. */
	sqe_sgl(&cmd, NVME_SGL_TYPE_KEYED_DATA_BLOCK, 0, 0, 4096);
	expect_sgl_status(&cmd, R, 0, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	sqe_sgl(&cmd, NVME_SGL_TYPE_DATA_BLOCK, NVME_SGL_SUBTYPE_ADDRESS, 0, 4096);
	expect_sgl_status(&cmd, W, 4096, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	sqe_sgl(&cmd, NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK, NVME_SGL_SUBTYPE_OFFSET, 0, 4096);
	expect_sgl_status(&cmd, R, 0, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	sqe_sgl(&cmd, NVME_SGL_TYPE_LAST_SEGMENT, 0, 0, 4096);
	expect_sgl_status(&cmd, W, 0, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);

	/* Nothing to move: no direction, or zero length, whatever the descriptor. */
	sqe_sgl(&cmd, NVME_SGL_TYPE_KEYED_DATA_BLOCK, 0, 0, 4096);
	assert_int_equal(tcp_pdu_sgl_parse(&cmd, UNVMF_XFER_NONE, 0, 8192, 131072, &sgl, &sct, &sc),
	                 0);
	assert_int_equal(sgl.kind, TCP_SGL_NONE);
	sqe_sgl(&cmd, NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK, NVME_SGL_SUBTYPE_TRANSPORT, 0, 0);
	assert_int_equal(tcp_pdu_sgl_parse(&cmd, R, 0, 8192, 131072, &sgl, &sct, &sc), 0);
	assert_int_equal(sgl.kind, TCP_SGL_NONE);
}

static uint32_t le32_at(const uint8_t *b, unsigned off)
{
	uint32_t v;

	memcpy(&v, b + off, 4);
	return v;
}

static uint16_t le16_at(const uint8_t *b, unsigned off)
{
	uint16_t v;

	memcpy(&v, b + off, 2);
	return v;
}

static void test_build_icresp(void **state)
{
	uint8_t b[NVME_TCP_PDU_HDR_MAX];

	memset(b, 0xaa, sizeof(b));
	assert_int_equal(nvme_tcp_pdu_icresp_build(b, true, false, 131072), 128);
	assert_int_equal(b[0], NVME_TCP_PDU_TYPE_IC_RESP);
	assert_int_equal(b[1], 0);
	assert_int_equal(b[2], 128);
	assert_int_equal(b[3], 0);
	assert_int_equal(le32_at(b, 4), 128);
	assert_int_equal(le16_at(b, 8), 0); /* PFV */
	assert_int_equal(b[10], 0);         /* CPDA */
	assert_int_equal(b[11], NVME_TCP_DIGEST_HEADER);
	assert_int_equal(le32_at(b, 12), 131072);
	for (int i = 16; i < 128; i++)
		assert_int_equal(b[i], 0);
	nvme_tcp_pdu_icresp_build(b, false, true, 4096);
	assert_int_equal(b[11], NVME_TCP_DIGEST_DATA);
	assert_int_equal(le32_at(b, 12), 4096);
}

static void test_build_r2t(void **state)
{
	struct nvme_tcp_pdu_params p = params(true, false, false);
	struct nvme_tcp_pdu_params ph = params(true, true, false);
	uint8_t b[NVME_TCP_PDU_HDR_MAX];

	memset(b, 0xaa, sizeof(b));
	assert_int_equal(nvme_tcp_pdu_r2t_build(b, &p, 0x1234, 5, 65536, 32768), 24);
	assert_int_equal(b[0], NVME_TCP_PDU_TYPE_R2T);
	assert_int_equal(b[1], 0);
	assert_int_equal(b[2], 24);
	assert_int_equal(b[3], 0);
	assert_int_equal(le32_at(b, 4), 24);
	assert_int_equal(le16_at(b, 8), 0x1234);
	assert_int_equal(le16_at(b, 10), 5);
	assert_int_equal(le32_at(b, 12), 65536);
	assert_int_equal(le32_at(b, 16), 32768);
	assert_int_equal(le32_at(b, 20), 0);

	assert_int_equal(nvme_tcp_pdu_r2t_build(b, &ph, 0x1234, 5, 65536, 32768), 28);
	assert_int_equal(b[1], NVME_TCP_CH_FLAGS_HDGSTF);
	assert_int_equal(le32_at(b, 4), 28);
	assert_int_equal(le32_at(b, 24), unvmf_crc32c(b, 24));
}

static void test_build_rsp(void **state)
{
	struct nvme_tcp_pdu_params ph = params(true, true, false);
	struct nvme_cqe cqe = {.cdw0 = 0xdeadbeef, .sqhd = 3, .sqid = 1, .cid = 77};
	uint8_t b[NVME_TCP_PDU_HDR_MAX];

	cqe.status.raw = 0x1234;
	assert_int_equal(nvme_tcp_pdu_rsp_build(b, &ph, &cqe), 28);
	assert_int_equal(b[0], NVME_TCP_PDU_TYPE_CAPSULE_RESP);
	assert_int_equal(b[1], NVME_TCP_CH_FLAGS_HDGSTF);
	assert_int_equal(b[2], 24);
	assert_int_equal(b[3], 0);
	assert_int_equal(le32_at(b, 4), 28);
	assert_memory_equal(b + 8, &cqe, 16);
	assert_int_equal(le32_at(b, 24), unvmf_crc32c(b, 24));
}

static void test_build_c2h(void **state)
{
	struct nvme_tcp_pdu_params p = params(true, false, false);
	struct nvme_tcp_pdu_params phd = params(true, true, true);
	uint8_t b[NVME_TCP_PDU_HDR_MAX];

	/* No digests, HPDA 0: data right after the 24-byte header. */
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(nvme_tcp_pdu_c2h_build(b, &p, 9, 4096, 8192, false, true), 24);
	assert_int_equal(b[0], NVME_TCP_PDU_TYPE_C2H_DATA);
	assert_int_equal(b[1], 0); /* SUCCESS never without LAST_PDU */
	assert_int_equal(b[2], 24);
	assert_int_equal(b[3], 24);
	assert_int_equal(le32_at(b, 4), 24 + 8192);
	assert_int_equal(le16_at(b, 8), 9);
	assert_int_equal(le32_at(b, 12), 4096);
	assert_int_equal(le32_at(b, 16), 8192);

	nvme_tcp_pdu_c2h_build(b, &p, 9, 0, 512, true, false);
	assert_int_equal(b[1], NVME_TCP_C2H_DATA_FLAGS_LAST_PDU);
	nvme_tcp_pdu_c2h_build(b, &p, 9, 0, 512, true, true);
	assert_int_equal(b[1], NVME_TCP_C2H_DATA_FLAGS_LAST_PDU | NVME_TCP_C2H_DATA_FLAGS_SUCCESS);

	/* Both digests and HPDA 7 (32-byte data alignment): header 28, padded to 32. */
	phd.tx_align = 32;
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(nvme_tcp_pdu_c2h_build(b, &phd, 9, 0, 4096, true, false), 32);
	assert_int_equal(b[1], NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF |
	                           NVME_TCP_C2H_DATA_FLAGS_LAST_PDU);
	assert_int_equal(b[3], 32);
	assert_int_equal(le32_at(b, 4), 32 + 4096 + 4);
	assert_int_equal(le32_at(b, 24), unvmf_crc32c(b, 24));
	assert_int_equal(le32_at(b, 28), 0); /* padding zeroed */
	/* HPDA 2: 12-byte alignment, not a power of two. */
	phd.tx_align = 12;
	assert_int_equal(nvme_tcp_pdu_c2h_build(b, &phd, 9, 0, 4096, true, false), 36);
	assert_int_equal(b[3], 36);
	assert_int_equal(le32_at(b, 4), 36 + 4096 + 4);
	p.tx_align = 12;
	assert_int_equal(nvme_tcp_pdu_c2h_build(b, &p, 9, 0, 4096, true, false), 24);
	/* HPDA 31: 128-byte alignment, the largest header we ever build. */
	phd.tx_align = 128;
	assert_int_equal(nvme_tcp_pdu_c2h_build(b, &phd, 9, 0, 4096, true, false), 128);
	assert_int_equal(b[3], 128);
}

static void test_build_term_req(void **state)
{
	struct nvme_tcp_pdu_params p = params(true, false, false);
	uint8_t bad[200], b[NVME_TCP_PDU_HDR_MAX];

	for (unsigned i = 0; i < sizeof(bad); i++)
		bad[i] = (uint8_t)i;
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(nvme_tcp_pdu_term_req_build(b, &p, NVME_TCP_FES_INVALID_HEADER_FIELD,
	                                             0x0a0b0c0d, bad, 72),
	                 24 + 72);
	assert_int_equal(b[0], NVME_TCP_PDU_TYPE_C2H_TERM_REQ);
	assert_int_equal(b[1], 0);
	assert_int_equal(b[2], 24);
	assert_int_equal(b[3], 0);
	assert_int_equal(le32_at(b, 4), 24 + 72);
	assert_int_equal(le16_at(b, 8), NVME_TCP_FES_INVALID_HEADER_FIELD);
	assert_int_equal(le32_at(b, 10), 0x0a0b0c0d); /* FEI at its unaligned offset */
	for (int i = 14; i < 24; i++)
		assert_int_equal(b[i], 0);
	assert_memory_equal(b + 24, bad, 72);
	/* The offending header is cut at 128 bytes: PLEN never exceeds 152. */
	assert_int_equal(nvme_tcp_pdu_term_req_build(b, &p, NVME_TCP_FES_HDGST_ERROR, 0, bad, 200),
	                 152);
	assert_int_equal(le32_at(b, 4), 152);
	assert_memory_equal(b + 24, bad, 128);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_icreq),           cmocka_unit_test(test_type_and_sequence),
	    cmocka_unit_test(test_capsule_cmd),     cmocka_unit_test(test_h2c_data_header),
	    cmocka_unit_test(test_h2c_against_r2t), cmocka_unit_test(test_h2c_term_req),
	    cmocka_unit_test(test_header_digest),   cmocka_unit_test(test_sgl),
	    cmocka_unit_test(test_build_icresp),    cmocka_unit_test(test_build_r2t),
	    cmocka_unit_test(test_build_rsp),       cmocka_unit_test(test_build_c2h),
	    cmocka_unit_test(test_build_term_req),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
