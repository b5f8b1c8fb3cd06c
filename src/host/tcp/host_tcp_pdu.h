#pragma once
/*
 * NVMe/TCP PDU building and checking for the host side. Pure functions over
 * byte buffers: no socket, no request state, so they are unit-tested alone.
 */
#include <stdbool.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"
#include "unvmf/nvme_tcp_spec.h"

/* Header, header digest and padding of one outgoing PDU fit in this. */
#define HOST_TCP_HDR_MAX 256

struct host_tcp_params {
	bool hdgst;
	bool ddgst;
	uint32_t cpda_align;	/* bytes: (CPDA + 1) * 4 from ICResp */
};

/* Builds an ICReq (128 bytes) asking for the given digests, HPDA 0, MAXR2T 0 (one R2T per command). */
void host_tcp_icreq_build(void *buf, bool hdgst, bool ddgst);
/*
 * Checks a received ICResp against what we asked for. Fills the negotiated
 * parameters and maxh2cdata. Returns 0, or a negative errno with *fes set to
 * the FES to report.
 */
int host_tcp_icresp_check(const void *buf, bool hdgst, bool ddgst, struct host_tcp_params *p,
			  uint32_t *maxh2cdata, uint16_t *fes);
/*
 * Builds a CapsuleCmd header for sqe with data_len bytes of in-capsule data
 * (0 for none): common header, SQE, header digest and padding up to PDO.
 * Returns the bytes to send before the data (<= HOST_TCP_HDR_MAX).
 */
uint32_t host_tcp_capsule_build(uint8_t *buf, const struct nvme_sqe *sqe, uint32_t data_len,
				const struct host_tcp_params *p);
/* Builds an H2CData header (+ digest + padding); returns the bytes before the data. */
uint32_t host_tcp_h2c_build(uint8_t *buf, uint16_t cccid, uint16_t ttag, uint32_t datao,
			    uint32_t datal, bool last, const struct host_tcp_params *p);
/* Builds an H2CTermReq carrying up to 128 bytes of the offending header; returns its length. */
uint32_t host_tcp_term_req_build(uint8_t *buf, uint16_t fes, uint32_t fei, const void *bad_hdr,
				 uint32_t bad_len);

/*
 * Checks the common header of a PDU received by the host. Returns 0 and the
 * number of header bytes to receive in total (hlen + digest + padding up to
 * PDO when there is data), or -EPROTO with *fes and *fei set.
 */
int host_tcp_ch_check(const struct nvme_tcp_common_pdu_hdr *ch, const struct host_tcp_params *p,
		      uint32_t *hdr_total, uint16_t *fes, uint32_t *fei);
/* Header digest over hlen bytes at buf, compared with the 4 bytes that follow. */
bool host_tcp_hdgst_ok(const uint8_t *buf, uint32_t hlen);
/* Payload bytes carried by a PDU whose header check passed (plen - header - data digest). */
uint32_t host_tcp_payload_len(const struct nvme_tcp_common_pdu_hdr *ch, uint32_t hdr_total,
			      const struct host_tcp_params *p);
