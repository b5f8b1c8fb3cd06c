#pragma once
/*
 * NVMe/TCP PDUs as the controller sees them: checks of every header a host
 * may send, and builders of every header we send. Pure functions over byte
 * buffers (no socket, no connection, no request), so every rule here is
 * unit-tested alone (tests/unit/test_tcp_pdu.c).
 *
 * Errors come back as the FES and FEI a C2HTermReq must carry: FEI is the
 * byte offset, within the offending PDU header, of the field found bad.
 */
#include <stdbool.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"
#include "unvmf/nvme_tcp_spec.h"
#include "nvmf/nvmf.h"

#define TCP_DGST_LEN 4u
/* C2HTermReq carries at most 128 header bytes of the bad PDU: plen <= 152. */
#define TCP_TERM_REQ_DATA_MAX 128u
#define TCP_TERM_REQ_PLEN_MAX 152u
#define TCP_COMMON_HDR_LEN 8u
/* Largest header we build or receive: C2HTermReq (152), or C2HData padded to HPDA 31 (128). */
#define TCP_PDU_HDR_MAX 160u
#define TCP_HPDA_MAX 31u
#define TCP_MAXH2CDATA_MIN 4096u

/* What the ICReq/ICResp exchange settled, and the limits the checks enforce. */
struct tcp_pdu_params {
	bool ic_done; /* ICReq accepted: every other PDU is now allowed */
	bool hdgst;
	bool ddgst;
	uint32_t hpda_align; /* bytes; the host's alignment for data in our PDUs */
	uint32_t icd_max;    /* in-capsule data a CapsuleCmd may carry */
	uint32_t maxh2cdata; /* data an H2CData PDU may carry */
};

/* Where the parts of one received PDU lie, from its common header. */
struct tcp_pdu_layout {
	uint32_t hdr_len;  /* hlen + header digest: bytes to read before the header is whole */
	uint32_t data_off; /* PDO when there is data */
	uint32_t data_len;
	uint32_t ddgst_len;
};

struct tcp_pdu_error {
	uint16_t fes;
	uint32_t fei;
};

/* The data pointer of a command, once the SGL passed its checks. */
enum tcp_sgl_kind {
	TCP_SGL_NONE,       /* no data */
	TCP_SGL_IN_CAPSULE, /* data block, offset subtype: the data rides in the capsule */
	TCP_SGL_TRANSPORT,  /* transport data block: R2T/H2CData or C2HData */
};

struct tcp_sgl {
	enum tcp_sgl_kind kind;
	uint32_t offset; /* IN_CAPSULE: offset into the in-capsule data */
	uint32_t length;
};

/* What a request awaiting data expects of the next H2CData PDU naming its ttag. */
struct tcp_h2c_expect {
	bool active; /* false: no R2T outstanding under that ttag */
	uint16_t cccid;
	uint32_t next; /* next DATAO: data comes in order */
	uint32_t end;  /* end of the outstanding R2T */
};

/*
 * Checks the 8-byte common header of a PDU received from a host: type valid
 * now (ICReq first and once), HLEN for the type, digest flags as negotiated,
 * PDO and PLEN consistent, data within the type's limit. Fills lay.
 * Returns 0 or -EPROTO with err set.
 */
int tcp_pdu_ch_check(const struct nvme_tcp_common_pdu_hdr *ch, const struct tcp_pdu_params *p,
                     struct tcp_pdu_layout *lay, struct tcp_pdu_error *err);
/* True when the 4 bytes after hlen header bytes are their CRC32C. */
bool tcp_pdu_hdgst_ok(const void *hdr, uint32_t hlen);
/* ICReq fields: PFV 0, HPDA <= 31. Returns 0 or -EPROTO with err set. */
int tcp_pdu_icreq_check(const struct nvme_tcp_ic_req *ic, struct tcp_pdu_error *err);
/*
 * H2CData against the request its TTAG names: CCCID, in-order DATAO inside the
 * outstanding R2T, DATAL matching PLEN and within MAXH2CDATA.
 */
int tcp_pdu_h2c_check(const struct nvme_tcp_h2c_data_hdr *h2c, const struct tcp_pdu_layout *lay,
                      const struct tcp_h2c_expect *exp, uint32_t maxh2cdata,
                      struct tcp_pdu_error *err);
/*
 * The SGL of a command carried with icd_len bytes of in-capsule data. On a bad
 * descriptor returns -EINVAL with the NVMe status to complete the command with
 * (the PDU itself was well formed: the connection lives on).
 */
int tcp_pdu_sgl_parse(const struct nvme_sqe *cmd, enum unvmf_xfer xfer, uint32_t icd_len,
                      uint32_t icd_max, uint32_t max_io_size, struct tcp_sgl *sgl, uint8_t *sct,
                      uint8_t *sc);

/* Builders: each returns the header bytes written to buf (<= TCP_PDU_HDR_MAX). */
uint32_t tcp_pdu_icresp_build(void *buf, bool hdgst, bool ddgst, uint32_t maxh2cdata);
uint32_t tcp_pdu_r2t_build(void *buf, const struct tcp_pdu_params *p, uint16_t cccid, uint16_t ttag,
                           uint32_t r2to, uint32_t r2tl);
/* CapsuleResp carrying cqe. */
uint32_t tcp_pdu_rsp_build(void *buf, const struct tcp_pdu_params *p, const struct nvme_cqe *cqe);
/*
 * C2HData header for datal bytes at datao, padded so the data starts at a
 * multiple of the host's HPDA; PLEN counts the data digest when negotiated
 * (the caller sends the digest after the data).
 */
uint32_t tcp_pdu_c2h_build(void *buf, const struct tcp_pdu_params *p, uint16_t cccid,
                           uint32_t datao, uint32_t datal, bool last, bool success);
/* C2HTermReq with up to 128 bytes of the offending header. */
uint32_t tcp_pdu_term_req_build(void *buf, uint16_t fes, uint32_t fei, const void *bad_hdr,
                                uint32_t bad_len);
