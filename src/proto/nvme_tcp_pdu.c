/*
 * NVMe/TCP header rules and builders shared by target and host. No I/O
 * here: see nvme_tcp_pdu.h.
 */
#include "proto/nvme_tcp_pdu.h"
#include "util/common.h"
#include "util/crc32c.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#define CH_OFF(field) offsetof(struct nvme_tcp_common_pdu_hdr, field)

/* What a PDU type may carry after its header. */
enum pdu_data {
	PDU_DATA_NONE,
	PDU_DATA_OPTIONAL,
	PDU_DATA_REQUIRED,
};

/* When a PDU type is allowed, and what it looks like. */
enum pdu_kind {
	PDU_KIND_IC,   /* first and once; no digests, no PDO, fixed PLEN */
	PDU_KIND_TERM, /* at any time, even before the IC exchange; no digests, bounded PLEN */
	PDU_KIND_IO,   /* after the IC exchange; digests as negotiated */
};

struct pdu_rule {
	bool known;
	enum nvme_tcp_role receiver;
	enum pdu_kind kind;
	enum pdu_data data;
	uint8_t hlen;
	uint8_t plen_max; /* IC and TERM kinds */
};

static const struct pdu_rule g_pdu_rules[] = {
    [NVME_TCP_PDU_TYPE_IC_REQ] = {true, NVME_TCP_ROLE_CONTROLLER, PDU_KIND_IC, PDU_DATA_NONE,
                                  sizeof(struct nvme_tcp_ic_req), sizeof(struct nvme_tcp_ic_req)},
    [NVME_TCP_PDU_TYPE_IC_RESP] = {true, NVME_TCP_ROLE_HOST, PDU_KIND_IC, PDU_DATA_NONE,
                                   sizeof(struct nvme_tcp_ic_resp),
                                   sizeof(struct nvme_tcp_ic_resp)},
    [NVME_TCP_PDU_TYPE_H2C_TERM_REQ] = {true, NVME_TCP_ROLE_CONTROLLER, PDU_KIND_TERM,
                                        PDU_DATA_OPTIONAL, sizeof(struct nvme_tcp_term_req_hdr),
                                        NVME_TCP_PDU_TERM_PLEN_MAX},
    [NVME_TCP_PDU_TYPE_C2H_TERM_REQ] = {true, NVME_TCP_ROLE_HOST, PDU_KIND_TERM, PDU_DATA_OPTIONAL,
                                        sizeof(struct nvme_tcp_term_req_hdr),
                                        NVME_TCP_PDU_TERM_PLEN_MAX},
    [NVME_TCP_PDU_TYPE_CAPSULE_CMD] = {true, NVME_TCP_ROLE_CONTROLLER, PDU_KIND_IO,
                                       PDU_DATA_OPTIONAL, sizeof(struct nvme_tcp_cmd), 0},
    [NVME_TCP_PDU_TYPE_CAPSULE_RESP] = {true, NVME_TCP_ROLE_HOST, PDU_KIND_IO, PDU_DATA_NONE,
                                        sizeof(struct nvme_tcp_rsp), 0},
    [NVME_TCP_PDU_TYPE_H2C_DATA] = {true, NVME_TCP_ROLE_CONTROLLER, PDU_KIND_IO, PDU_DATA_REQUIRED,
                                    sizeof(struct nvme_tcp_h2c_data_hdr), 0},
    [NVME_TCP_PDU_TYPE_C2H_DATA] = {true, NVME_TCP_ROLE_HOST, PDU_KIND_IO, PDU_DATA_REQUIRED,
                                    sizeof(struct nvme_tcp_c2h_data_hdr), 0},
    [NVME_TCP_PDU_TYPE_R2T] = {true, NVME_TCP_ROLE_HOST, PDU_KIND_IO, PDU_DATA_NONE,
                               sizeof(struct nvme_tcp_r2t_hdr), 0},
};

static int pdu_reject(struct nvme_tcp_pdu_error *err, uint16_t fes, uint32_t fei)
{
	err->fes = fes;
	err->fei = fei;
	return -EPROTO;
}

/* The most data one PDU of this type may bring us. */
static uint32_t pdu_data_max(uint8_t type, const struct nvme_tcp_pdu_params *p)
{
	switch (type) {
	case NVME_TCP_PDU_TYPE_CAPSULE_CMD:
		return p->icd_max;
	case NVME_TCP_PDU_TYPE_H2C_DATA:
		return p->maxh2cdata;
	default:
		/* C2HData: its length is checked against the command it answers. */
		return UINT32_MAX;
	}
}

/* IC and TermReq PDUs: no digests, no PDO, PLEN within the type's bound. */
static int ch_check_plain(const struct nvme_tcp_common_pdu_hdr *ch, const struct pdu_rule *rule,
                          struct nvme_tcp_pdu_layout *lay, struct nvme_tcp_pdu_error *err)
{
	if (ch->flags & (NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF))
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
	if (ch->plen < rule->hlen || ch->plen > rule->plen_max)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
	lay->hdr_len = rule->hlen;
	lay->data_off = rule->hlen;
	lay->data_len = ch->plen - rule->hlen;
	lay->ddgst_len = 0;
	return 0;
}

/* Command, response and data PDUs: digests as negotiated, data at a valid PDO. */
static int ch_check_io(const struct nvme_tcp_common_pdu_hdr *ch, const struct pdu_rule *rule,
                       const struct nvme_tcp_pdu_params *p, struct nvme_tcp_pdu_layout *lay,
                       struct nvme_tcp_pdu_error *err)
{
	uint32_t hdr_len = rule->hlen + (p->hdgst ? NVME_TCP_PDU_DGST_LEN : 0), ddgst_len;

	if (!!(ch->flags & NVME_TCP_CH_FLAGS_HDGSTF) != p->hdgst)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
	if (ch->plen < hdr_len || (rule->data == PDU_DATA_NONE && ch->plen != hdr_len))
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
	lay->hdr_len = hdr_len;
	if (ch->plen == hdr_len) {
		/* No data: PDO and DDGSTF have nothing to describe. */
		if (rule->data == PDU_DATA_REQUIRED)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
		if (ch->flags & NVME_TCP_CH_FLAGS_DDGSTF)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
		lay->data_off = hdr_len;
		return 0;
	}
	if (!!(ch->flags & NVME_TCP_CH_FLAGS_DDGSTF) != p->ddgst)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
	ddgst_len = p->ddgst ? NVME_TCP_PDU_DGST_LEN : 0;
	if (ch->pdo < hdr_len || ch->pdo % NVME_TCP_PDU_RX_ALIGN)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(pdo));
	if (ch->plen <= (uint32_t)ch->pdo + ddgst_len)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
	lay->data_off = ch->pdo;
	lay->data_len = ch->plen - ch->pdo - ddgst_len;
	lay->ddgst_len = ddgst_len;
	if (lay->data_len > pdu_data_max(ch->pdu_type, p))
		return pdu_reject(err, NVME_TCP_FES_DATA_TRANSFER_LIMIT_EXCEEDED, CH_OFF(plen));
	return 0;
}

int nvme_tcp_pdu_ch_check(const struct nvme_tcp_common_pdu_hdr *ch,
                          const struct nvme_tcp_pdu_params *p, struct nvme_tcp_pdu_layout *lay,
                          struct nvme_tcp_pdu_error *err)
{
	const struct pdu_rule *rule;

	memset(lay, 0, sizeof(*lay));
	rule = ch->pdu_type < UNVMF_ARRAY_SIZE(g_pdu_rules) ? &g_pdu_rules[ch->pdu_type] : NULL;
	/* Unknown, or a type only the other end may receive. */
	if (!rule || !rule->known || rule->receiver != p->role)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(pdu_type));
	switch (rule->kind) {
	case PDU_KIND_IC:
		if (p->ic_done)
			return pdu_reject(err, NVME_TCP_FES_PDU_SEQUENCE_ERROR, CH_OFF(pdu_type));
		if (ch->hlen != rule->hlen)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(hlen));
		if (ch->pdo != 0)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(pdo));
		return ch_check_plain(ch, rule, lay, err);
	case PDU_KIND_TERM:
		if (ch->hlen != rule->hlen)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(hlen));
		return ch_check_plain(ch, rule, lay, err);
	case PDU_KIND_IO:
		break;
	}
	if (!p->ic_done)
		return pdu_reject(err, NVME_TCP_FES_PDU_SEQUENCE_ERROR, CH_OFF(pdu_type));
	if (ch->hlen != rule->hlen)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(hlen));
	return ch_check_io(ch, rule, p, lay, err);
}

bool nvme_tcp_pdu_hdgst_ok(const void *hdr, uint32_t hlen)
{
	uint32_t want = unvmf_crc32c(hdr, hlen), got;

	memcpy(&got, (const uint8_t *)hdr + hlen, sizeof(got));
	return want == got;
}

static uint8_t pdu_dgst_bits(bool hdgst, bool ddgst)
{
	return (uint8_t)((hdgst ? NVME_TCP_DIGEST_HEADER : 0) | (ddgst ? NVME_TCP_DIGEST_DATA : 0));
}

/* ICReq and ICResp: 128 bytes, zero but for the common header (PFV 0, PDA 0). */
static void pdu_ic_start(void *buf, uint8_t type)
{
	struct nvme_tcp_common_pdu_hdr *ch = buf;

	static_assert(sizeof(struct nvme_tcp_ic_req) == sizeof(struct nvme_tcp_ic_resp),
	              "IC PDUs share their length");
	memset(buf, 0, sizeof(struct nvme_tcp_ic_req));
	ch->pdu_type = type;
	ch->hlen = sizeof(struct nvme_tcp_ic_req);
	ch->plen = sizeof(struct nvme_tcp_ic_req);
}

uint32_t nvme_tcp_pdu_icreq_build(void *buf, bool hdgst, bool ddgst)
{
	struct nvme_tcp_ic_req *ic = buf;

	pdu_ic_start(buf, NVME_TCP_PDU_TYPE_IC_REQ);
	ic->dgst = pdu_dgst_bits(hdgst, ddgst);
	/* MAXR2T 0: one R2T outstanding per command. */
	return sizeof(*ic);
}

int nvme_tcp_pdu_icreq_check(const struct nvme_tcp_ic_req *ic, struct nvme_tcp_pdu_error *err)
{
	if (ic->pfv != 0)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                  offsetof(struct nvme_tcp_ic_req, pfv));
	if (ic->hpda > NVME_TCP_PDU_PDA_MAX)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                  offsetof(struct nvme_tcp_ic_req, hpda));
	return 0;
}

uint32_t nvme_tcp_pdu_icresp_build(void *buf, bool hdgst, bool ddgst, uint32_t maxh2cdata)
{
	struct nvme_tcp_ic_resp *ic = buf;

	pdu_ic_start(buf, NVME_TCP_PDU_TYPE_IC_RESP);
	ic->dgst = pdu_dgst_bits(hdgst, ddgst);
	ic->maxh2cdata = maxh2cdata;
	return sizeof(*ic);
}

int nvme_tcp_pdu_icresp_check(const struct nvme_tcp_ic_resp *ic, bool hdgst, bool ddgst,
                              struct nvme_tcp_pdu_params *p, struct nvme_tcp_pdu_error *err)
{
	const uint16_t bad = NVME_TCP_FES_INVALID_HEADER_FIELD;

	if (ic->common.pdu_type != NVME_TCP_PDU_TYPE_IC_RESP)
		return pdu_reject(err, bad, CH_OFF(pdu_type));
	if (ic->common.hlen != sizeof(*ic))
		return pdu_reject(err, bad, CH_OFF(hlen));
	if (ic->common.plen != sizeof(*ic))
		return pdu_reject(err, bad, CH_OFF(plen));
	if (ic->pfv != 0)
		return pdu_reject(err, bad, offsetof(struct nvme_tcp_ic_resp, pfv));
	if (ic->cpda > NVME_TCP_PDU_PDA_MAX)
		return pdu_reject(err, bad, offsetof(struct nvme_tcp_ic_resp, cpda));
	if (((ic->dgst & NVME_TCP_DIGEST_HEADER) && !hdgst) ||
	    ((ic->dgst & NVME_TCP_DIGEST_DATA) && !ddgst))
		return pdu_reject(err, bad, offsetof(struct nvme_tcp_ic_resp, dgst));
	if (ic->maxh2cdata < NVME_TCP_PDU_MAXH2CDATA_MIN || ic->maxh2cdata % 4)
		return pdu_reject(err, bad, offsetof(struct nvme_tcp_ic_resp, maxh2cdata));
	p->hdgst = !!(ic->dgst & NVME_TCP_DIGEST_HEADER);
	p->ddgst = !!(ic->dgst & NVME_TCP_DIGEST_DATA);
	p->tx_align = (ic->cpda + 1u) * 4u;
	p->maxh2cdata = ic->maxh2cdata;
	p->ic_done = true;
	return 0;
}

/*
 * Completes a header of hlen bytes whose type fields are set: digest flags,
 * PDO (padding zeroed) and PLEN for data_len bytes of data, then the header
 * digest. Returns the bytes before the data.
 */
static uint32_t pdu_header_finish(void *buf, uint32_t hlen, uint32_t data_len,
                                  const struct nvme_tcp_pdu_params *p)
{
	struct nvme_tcp_common_pdu_hdr *ch = buf;
	uint32_t off = hlen + (p->hdgst ? NVME_TCP_PDU_DGST_LEN : 0);

	ch->hlen = (uint8_t)hlen;
	if (p->hdgst)
		ch->flags |= NVME_TCP_CH_FLAGS_HDGSTF;
	if (data_len) {
		uint32_t align = p->tx_align ? p->tx_align : NVME_TCP_PDU_RX_ALIGN;
		/* PDA alignments are dword multiples, not powers of two (PDA 2: 12 bytes). */
		uint32_t pdo = UNVMF_DIV_ROUND_UP(off, align) * align;

		if (p->ddgst)
			ch->flags |= NVME_TCP_CH_FLAGS_DDGSTF;
		memset((uint8_t *)buf + off, 0, pdo - off);
		ch->pdo = (uint8_t)pdo;
		ch->plen = pdo + data_len + (p->ddgst ? NVME_TCP_PDU_DGST_LEN : 0);
		off = pdo;
	} else {
		ch->pdo = 0;
		ch->plen = off;
	}
	if (p->hdgst) {
		uint32_t crc = unvmf_crc32c(buf, hlen);

		memcpy((uint8_t *)buf + hlen, &crc, sizeof(crc));
	}
	return off;
}

uint32_t nvme_tcp_pdu_capsule_build(void *buf, const struct nvme_tcp_pdu_params *p,
                                    const struct nvme_sqe *sqe, uint32_t icd_len)
{
	struct nvme_tcp_cmd *cmd = buf;

	memset(cmd, 0, sizeof(*cmd));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->ccsqe = *sqe;
	return pdu_header_finish(buf, sizeof(*cmd), icd_len, p);
}

uint32_t nvme_tcp_pdu_rsp_build(void *buf, const struct nvme_tcp_pdu_params *p,
                                const struct nvme_cqe *cqe)
{
	struct nvme_tcp_rsp *rsp = buf;

	memset(rsp, 0, sizeof(*rsp));
	rsp->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_RESP;
	rsp->rccqe = *cqe;
	return pdu_header_finish(buf, sizeof(*rsp), 0, p);
}

uint32_t nvme_tcp_pdu_r2t_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t cccid,
                                uint16_t ttag, uint32_t r2to, uint32_t r2tl)
{
	struct nvme_tcp_r2t_hdr *r2t = buf;

	memset(r2t, 0, sizeof(*r2t));
	r2t->common.pdu_type = NVME_TCP_PDU_TYPE_R2T;
	r2t->cccid = cccid;
	r2t->ttag = ttag;
	r2t->r2to = r2to;
	r2t->r2tl = r2tl;
	return pdu_header_finish(buf, sizeof(*r2t), 0, p);
}

/*
 * H2CData and C2HData share their layout (CCCID, then TTAG or reserved,
 * DATAO, DATAL); ttag is 0 for C2HData, where the field is reserved.
 */
static uint32_t pdu_data_build(void *buf, const struct nvme_tcp_pdu_params *p, uint8_t type,
                               uint8_t flags, uint16_t cccid, uint16_t ttag, uint32_t datao,
                               uint32_t datal)
{
	struct nvme_tcp_h2c_data_hdr *hdr = buf;

	static_assert(offsetof(struct nvme_tcp_c2h_data_hdr, cccid) ==
	                      offsetof(struct nvme_tcp_h2c_data_hdr, cccid) &&
	                  offsetof(struct nvme_tcp_c2h_data_hdr, datao) ==
	                      offsetof(struct nvme_tcp_h2c_data_hdr, datao) &&
	                  offsetof(struct nvme_tcp_c2h_data_hdr, datal) ==
	                      offsetof(struct nvme_tcp_h2c_data_hdr, datal) &&
	                  sizeof(struct nvme_tcp_c2h_data_hdr) ==
	                      sizeof(struct nvme_tcp_h2c_data_hdr),
	              "H2CData and C2HData headers share their layout");
	memset(hdr, 0, sizeof(*hdr));
	hdr->common.pdu_type = type;
	hdr->common.flags = flags;
	hdr->cccid = cccid;
	hdr->ttag = ttag;
	hdr->datao = datao;
	hdr->datal = datal;
	return pdu_header_finish(buf, sizeof(*hdr), datal, p);
}

uint32_t nvme_tcp_pdu_h2c_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t cccid,
                                uint16_t ttag, uint32_t datao, uint32_t datal, bool last)
{
	return pdu_data_build(buf, p, NVME_TCP_PDU_TYPE_H2C_DATA,
	                      last ? NVME_TCP_H2C_DATA_FLAGS_LAST_PDU : 0, cccid, ttag, datao,
	                      datal);
}

uint32_t nvme_tcp_pdu_c2h_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t cccid,
                                uint32_t datao, uint32_t datal, bool last, bool success)
{
	uint8_t flags = 0;

	if (last)
		flags |= NVME_TCP_C2H_DATA_FLAGS_LAST_PDU;
	if (last && success)
		flags |= NVME_TCP_C2H_DATA_FLAGS_SUCCESS;
	return pdu_data_build(buf, p, NVME_TCP_PDU_TYPE_C2H_DATA, flags, cccid, 0, datao, datal);
}

uint32_t nvme_tcp_pdu_term_req_build(void *buf, const struct nvme_tcp_pdu_params *p, uint16_t fes,
                                     uint32_t fei, const void *bad_hdr, uint32_t bad_len)
{
	struct nvme_tcp_term_req_hdr *term = buf;

	bad_len = UNVMF_MIN(bad_len, NVME_TCP_PDU_TERM_DATA_MAX);
	memset(term, 0, sizeof(*term));
	term->common.pdu_type = p->role == NVME_TCP_ROLE_CONTROLLER
	                            ? NVME_TCP_PDU_TYPE_C2H_TERM_REQ
	                            : NVME_TCP_PDU_TYPE_H2C_TERM_REQ;
	term->common.hlen = sizeof(*term);
	term->common.plen = (uint32_t)sizeof(*term) + bad_len;
	term->fes = fes;
	memcpy(term->fei, &fei, sizeof(fei));
	if (bad_len)
		memcpy((uint8_t *)buf + sizeof(*term), bad_hdr, bad_len);
	return (uint32_t)sizeof(*term) + bad_len;
}
