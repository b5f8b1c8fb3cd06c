#pragma once
/*
 * The controller's own PDU rules, on top of what both ends share
 * (proto/nvme_tcp_pdu.h): H2CData against the R2T it answers, and the SGL of
 * a command. Pure functions, unit-tested alone (tests/unit/test_tcp_pdu.c).
 */
#include <stdbool.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"
#include "unvmf/nvme_tcp_spec.h"
#include "nvmf/nvmf.h"
#include "proto/nvme_tcp_pdu.h"

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
 * H2CData against the request its TTAG names: CCCID, in-order DATAO inside the
 * outstanding R2T, DATAL matching PLEN and within MAXH2CDATA.
 */
int tcp_pdu_h2c_check(const struct nvme_tcp_h2c_data_hdr *h2c,
                      const struct nvme_tcp_pdu_layout *lay, const struct tcp_h2c_expect *exp,
                      uint32_t maxh2cdata, struct nvme_tcp_pdu_error *err);
/*
 * The SGL of a command carried with icd_len bytes of in-capsule data. On a bad
 * descriptor returns -EINVAL with the NVMe status to complete the command with
 * (the PDU itself was well formed: the connection lives on).
 */
int tcp_pdu_sgl_parse(const struct nvme_sqe *cmd, enum unvmf_xfer xfer, uint32_t icd_len,
                      uint32_t icd_max, uint32_t max_io_size, struct tcp_sgl *sgl, uint8_t *sct,
                      uint8_t *sc);
