#pragma once
/*
 * NVMe/TCP transport PDU formats (NVMe/TCP Transport Specification 1.0,
 * section 3.6). Little-endian x86 only, as in nvme_spec.h. Every PDU header
 * field is naturally aligned, so no packing is needed.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"

#define NVME_TCP_PFV_1_0 0
#define NVME_TCP_DIGEST_LEN 4
/* Largest PDU header is ICReq/ICResp (128 bytes), plus a header digest. */
#define NVME_TCP_PDU_MAX_HDR_LEN (128 + NVME_TCP_DIGEST_LEN)
/* CPDA/HPDA are 0's based dword counts: alignment = (x + 1) * 4 bytes. */
#define NVME_TCP_CPDA_MAX 31
#define NVME_TCP_HPDA_MAX 31
/*
 * TermReq PLEN is at most 152: a 24-byte header plus up to 128 bytes of the
 * offending PDU header. NVME_TCP_TERM_REQ_ERROR_DATA_MAX_SIZE keeps the
 * SPDK-style name but, like the spec, bounds the whole PDU.
 */
#define NVME_TCP_TERM_REQ_PDU_MAX_LEN 152
#define NVME_TCP_TERM_REQ_ERROR_DATA_MAX_LEN (NVME_TCP_TERM_REQ_PDU_MAX_LEN - 24)
#define NVME_TCP_TERM_REQ_ERROR_DATA_MAX_SIZE NVME_TCP_TERM_REQ_PDU_MAX_LEN

enum nvme_tcp_pdu_type {
	NVME_TCP_PDU_TYPE_IC_REQ = 0x00,
	NVME_TCP_PDU_TYPE_IC_RESP = 0x01,
	NVME_TCP_PDU_TYPE_H2C_TERM_REQ = 0x02,
	NVME_TCP_PDU_TYPE_C2H_TERM_REQ = 0x03,
	NVME_TCP_PDU_TYPE_CAPSULE_CMD = 0x04,
	NVME_TCP_PDU_TYPE_CAPSULE_RESP = 0x05,
	NVME_TCP_PDU_TYPE_H2C_DATA = 0x06,
	NVME_TCP_PDU_TYPE_C2H_DATA = 0x07,
	NVME_TCP_PDU_TYPE_R2T = 0x09,
};

/* Common header FLAGS; bits 2+ are PDU-type specific. */
#define NVME_TCP_CH_FLAGS_HDGSTF (1u << 0)
#define NVME_TCP_CH_FLAGS_DDGSTF (1u << 1)
#define NVME_TCP_H2C_DATA_FLAGS_LAST_PDU (1u << 2)
#define NVME_TCP_C2H_DATA_FLAGS_LAST_PDU (1u << 2)
/* SUCCESS is only valid together with LAST_PDU; no CapsuleResp follows. */
#define NVME_TCP_C2H_DATA_FLAGS_SUCCESS (1u << 3)

/* ICReq/ICResp DGST field. */
#define NVME_TCP_DIGEST_HEADER (1u << 0)
#define NVME_TCP_DIGEST_DATA (1u << 1)

/* Fatal Error Status for H2C/C2H termination requests (3.6.2.4). */
enum nvme_tcp_fes {
	NVME_TCP_FES_INVALID_HEADER_FIELD = 0x01,
	NVME_TCP_FES_PDU_SEQUENCE_ERROR = 0x02,
	NVME_TCP_FES_HDGST_ERROR = 0x03,
	NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE = 0x04,
	NVME_TCP_FES_DATA_TRANSFER_LIMIT_EXCEEDED = 0x05, /* R2T limit exceeded */
	NVME_TCP_FES_UNSUPPORTED_PARAMETER = 0x06,
};

struct nvme_tcp_common_pdu_hdr {
	uint8_t pdu_type;
	uint8_t flags;
	uint8_t hlen;  /* header length, digest excluded */
	uint8_t pdo;   /* data offset from PDU start, 0 if no data */
	uint32_t plen; /* whole PDU including digests */
};
static_assert(sizeof(struct nvme_tcp_common_pdu_hdr) == 8, "tcp ch size");
static_assert(offsetof(struct nvme_tcp_common_pdu_hdr, plen) == 4, "tcp ch plen");

struct nvme_tcp_ic_req {
	struct nvme_tcp_common_pdu_hdr common;
	uint16_t pfv;
	uint8_t hpda;
	uint8_t dgst;    /* NVME_TCP_DIGEST_* */
	uint32_t maxr2t; /* 0's based */
	uint8_t rsvd16[112];
};
static_assert(sizeof(struct nvme_tcp_ic_req) == 128, "tcp icreq size");
static_assert(offsetof(struct nvme_tcp_ic_req, pfv) == 8, "icreq pfv");
static_assert(offsetof(struct nvme_tcp_ic_req, hpda) == 10, "icreq hpda");
static_assert(offsetof(struct nvme_tcp_ic_req, dgst) == 11, "icreq dgst");
static_assert(offsetof(struct nvme_tcp_ic_req, maxr2t) == 12, "icreq maxr2t");

struct nvme_tcp_ic_resp {
	struct nvme_tcp_common_pdu_hdr common;
	uint16_t pfv;
	uint8_t cpda;
	uint8_t dgst;        /* NVME_TCP_DIGEST_* */
	uint32_t maxh2cdata; /* bytes, multiple of 4, at least 4096 */
	uint8_t rsvd16[112];
};
static_assert(sizeof(struct nvme_tcp_ic_resp) == 128, "tcp icresp size");
static_assert(offsetof(struct nvme_tcp_ic_resp, cpda) == 10, "icresp cpda");
static_assert(offsetof(struct nvme_tcp_ic_resp, dgst) == 11, "icresp dgst");
static_assert(offsetof(struct nvme_tcp_ic_resp, maxh2cdata) == 12, "icresp maxh2cdata");

/*
 * H2CTermReq / C2HTermReq header. FEI sits at the unaligned offset 10, so it
 * is kept as bytes (little-endian) rather than packing the struct.
 */
struct nvme_tcp_term_req_hdr {
	struct nvme_tcp_common_pdu_hdr common;
	uint16_t fes;
	uint8_t fei[4];
	uint8_t rsvd14[10];
};
static_assert(sizeof(struct nvme_tcp_term_req_hdr) == 24, "tcp term req size");
static_assert(offsetof(struct nvme_tcp_term_req_hdr, fes) == 8, "term req fes");
static_assert(offsetof(struct nvme_tcp_term_req_hdr, fei) == 10, "term req fei");

struct nvme_tcp_cmd {
	struct nvme_tcp_common_pdu_hdr common;
	struct nvme_sqe ccsqe;
	/* In-capsule data and digests follow. */
};
static_assert(sizeof(struct nvme_tcp_cmd) == 72, "tcp cmd size");
static_assert(offsetof(struct nvme_tcp_cmd, ccsqe) == 8, "tcp cmd sqe");

struct nvme_tcp_rsp {
	struct nvme_tcp_common_pdu_hdr common;
	struct nvme_cqe rccqe;
};
static_assert(sizeof(struct nvme_tcp_rsp) == 24, "tcp rsp size");
static_assert(offsetof(struct nvme_tcp_rsp, rccqe) == 8, "tcp rsp cqe");

struct nvme_tcp_h2c_data_hdr {
	struct nvme_tcp_common_pdu_hdr common;
	uint16_t cccid;
	uint16_t ttag;
	uint32_t datao;
	uint32_t datal;
	uint8_t rsvd20[4];
};
static_assert(sizeof(struct nvme_tcp_h2c_data_hdr) == 24, "tcp h2c data size");
static_assert(offsetof(struct nvme_tcp_h2c_data_hdr, ttag) == 10, "h2c ttag");
static_assert(offsetof(struct nvme_tcp_h2c_data_hdr, datao) == 12, "h2c datao");
static_assert(offsetof(struct nvme_tcp_h2c_data_hdr, datal) == 16, "h2c datal");

struct nvme_tcp_c2h_data_hdr {
	struct nvme_tcp_common_pdu_hdr common;
	uint16_t cccid;
	uint16_t rsvd10;
	uint32_t datao;
	uint32_t datal;
	uint8_t rsvd20[4];
};
static_assert(sizeof(struct nvme_tcp_c2h_data_hdr) == 24, "tcp c2h data size");
static_assert(offsetof(struct nvme_tcp_c2h_data_hdr, datao) == 12, "c2h datao");
static_assert(offsetof(struct nvme_tcp_c2h_data_hdr, datal) == 16, "c2h datal");

struct nvme_tcp_r2t_hdr {
	struct nvme_tcp_common_pdu_hdr common;
	uint16_t cccid;
	uint16_t ttag;
	uint32_t r2to;
	uint32_t r2tl;
	uint8_t rsvd20[4];
};
static_assert(sizeof(struct nvme_tcp_r2t_hdr) == 24, "tcp r2t size");
static_assert(offsetof(struct nvme_tcp_r2t_hdr, ttag) == 10, "r2t ttag");
static_assert(offsetof(struct nvme_tcp_r2t_hdr, r2to) == 12, "r2t r2to");
static_assert(offsetof(struct nvme_tcp_r2t_hdr, r2tl) == 16, "r2t r2tl");
