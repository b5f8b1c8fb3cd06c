#pragma once
/*
 * NVMe/TCP PDUs as both ends speak them (NVMe/TCP Transport Specification
 * 1.0, sections 3.3 and 3.6): the common-header rules, digests, and a builder
 * and a check for every PDU type. The target (src/transport/tcp) and the host
 * (src/host/tcp) use the same code; a role in the parameters says which PDU
 * types a side may receive. Pure functions over byte buffers: no socket, no
 * connection, no request (tests/unit/test_tcp_pdu.c, test_host_tcp_pdu.c).
 *
 * Errors come back as the FES and FEI a TermReq must carry: FEI is the byte
 * offset, within the offending PDU header, of the field found bad.
 */
#include <stdbool.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"
#include "unvmf/nvme_tcp_spec.h"

#define NVME_TCP_PDU_DGST_LEN 4u
#define NVME_TCP_PDU_CH_LEN 8u
/* A TermReq carries at most 128 header bytes of the bad PDU: plen <= 152. */
#define NVME_TCP_PDU_TERM_DATA_MAX 128u
#define NVME_TCP_PDU_TERM_PLEN_MAX 152u
/* Largest header either side builds: a TermReq (152), or a data PDU padded to PDA 31 (128). */
#define NVME_TCP_PDU_HDR_MAX 160u
#define NVME_TCP_PDU_PDA_MAX 31u
#define NVME_TCP_PDU_MAXH2CDATA_MIN 4096u
/* Both of our ends announce PDA 0 (host HPDA, controller CPDA): received data is dword aligned. */
#define NVME_TCP_PDU_RX_ALIGN 4u

/* Which end we are: decides the PDU types we may receive and the TermReq we send. */
enum nvme_tcp_role {
	NVME_TCP_ROLE_CONTROLLER,
	NVME_TCP_ROLE_HOST,
};

/* What the ICReq/ICResp exchange settled, and the limits the checks enforce. */
struct nvme_tcp_pdu_params {
	enum nvme_tcp_role role;
	bool ic_done; /* exchange over: every other PDU is now allowed */
	bool hdgst;
	bool ddgst;
	uint32_t tx_align;   /* bytes, (peer's PDA + 1) * 4: data alignment in PDUs we send */
	uint32_t icd_max;    /* controller: in-capsule data a CapsuleCmd may carry */
	uint32_t maxh2cdata; /* data an H2CData PDU may carry */
};

/* Where the parts of one received PDU lie, from its common header. */
struct nvme_tcp_pdu_layout {
	uint32_t hdr_len;  /* hlen + header digest: bytes to read before the header is whole */
	uint32_t data_off; /* PDO when there is data, else hdr_len */
	uint32_t data_len;
	uint32_t ddgst_len;
};

struct nvme_tcp_pdu_error {
	uint16_t fes;
	uint32_t fei;
};

/*
 * Checks the 8-byte common header of a received PDU: type one the peer may
 * send us and valid now (ICReq/ICResp first and once), HLEN for the type,
 * digest flags as negotiated (never on IC and TermReq PDUs), PDO and PLEN
 * consistent, data within the type's limit. Fills lay. Returns 0 or -EPROTO
 * with err set.
 */
int nvme_tcp_pdu_ch_check(const struct nvme_tcp_common_pdu_hdr *ch,
                          const struct nvme_tcp_pdu_params *p, struct nvme_tcp_pdu_layout *lay,
                          struct nvme_tcp_pdu_error *err);
/* True when the 4 bytes after hlen header bytes are their CRC32C. */
bool nvme_tcp_pdu_hdgst_ok(const void *hdr, uint32_t hlen);

/* ICReq (128 bytes) asking for the given digests, HPDA 0, MAXR2T 0 (one R2T per command). */
uint32_t nvme_tcp_pdu_icreq_build(void *buf, bool hdgst, bool ddgst);
/* ICReq fields: PFV 0, HPDA <= 31. Returns 0 or -EPROTO with err set. */
int nvme_tcp_pdu_icreq_check(const struct nvme_tcp_ic_req *ic, struct nvme_tcp_pdu_error *err);
/* ICResp granting the digests, CPDA 0. */
uint32_t nvme_tcp_pdu_icresp_build(void *buf, bool hdgst, bool ddgst, uint32_t maxh2cdata);
/*
 * A whole ICResp against the ICReq that asked for hdgst/ddgst: a controller
 * may refuse a digest, never grant one not asked for. On success fills the
 * negotiated digests, tx_align and maxh2cdata of p and sets ic_done.
 */
int nvme_tcp_pdu_icresp_check(const struct nvme_tcp_ic_resp *ic, bool hdgst, bool ddgst,
                              struct nvme_tcp_pdu_params *p, struct nvme_tcp_pdu_error *err);

/*
 * Builders: each writes the header, its digest and the padding up to PDO to
 * buf and returns the bytes to send before the data (<= NVME_TCP_PDU_HDR_MAX).
 * PLEN counts the data and its digest when there is data (the caller sends
 * both after the header).
 */
uint32_t nvme_tcp_pdu_capsule_build(void *buf, const struct nvme_tcp_pdu_params *p,
                                    const struct nvme_sqe *sqe, uint32_t icd_len);
uint32_t nvme_tcp_pdu_rsp_build(void *buf, const struct nvme_tcp_pdu_params *p,
                                const struct nvme_cqe *cqe);
uint32_t nvme_tcp_pdu_r2t_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t cccid,
                                uint16_t ttag, uint32_t r2to, uint32_t r2tl);
uint32_t nvme_tcp_pdu_h2c_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t cccid,
                                uint16_t ttag, uint32_t datao, uint32_t datal, bool last);
/* SUCCESS is set only with LAST: it is meaningful on the last PDU of a command alone. */
uint32_t nvme_tcp_pdu_c2h_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t cccid,
                                uint32_t datao, uint32_t datal, bool last, bool success);
/* The TermReq p->role sends (C2H from a controller, H2C from a host) with <= 128 bad bytes. */
uint32_t nvme_tcp_pdu_term_req_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t fes,
                                     uint32_t fei, const void *bad_hdr, uint32_t bad_len);
