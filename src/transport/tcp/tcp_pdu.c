/*
 * NVMe/TCP header rules (NVMe/TCP Transport Specification 1.0, sections 3.3
 * and 3.6), controller side. No I/O here: see tcp_pdu.h.
 */
#include "transport/tcp/tcp_pdu.h"
#include "util/common.h"
#include "util/crc32c.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define CH_OFF(field) offsetof(struct nvme_tcp_common_pdu_hdr, field)
/* We advertise CPDA 0: host PDU data is dword aligned. */
#define TCP_CPDA_ALIGN 4u

static int pdu_reject(struct tcp_pdu_error *err, uint16_t fes, uint32_t fei)
{
	err->fes = fes;
	err->fei = fei;
	return -EPROTO;
}

/* PDUs without digests or PDO (ICReq, H2CTermReq): fixed or bounded PLEN. */
static int ch_check_plain(const struct nvme_tcp_common_pdu_hdr *ch, uint32_t hlen,
                          uint32_t plen_max, struct tcp_pdu_layout *lay, struct tcp_pdu_error *err)
{
	if (ch->flags & (NVME_TCP_CH_FLAGS_HDGSTF | NVME_TCP_CH_FLAGS_DDGSTF))
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
	if (ch->plen < hlen || ch->plen > plen_max)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
	lay->hdr_len = hlen;
	lay->data_off = hlen;
	lay->data_len = ch->plen - hlen;
	lay->ddgst_len = 0;
	return 0;
}

int tcp_pdu_ch_check(const struct nvme_tcp_common_pdu_hdr *ch, const struct tcp_pdu_params *p,
                     struct tcp_pdu_layout *lay, struct tcp_pdu_error *err)
{
	uint32_t hlen, max_data, hdr_len, ddgst_len;

	memset(lay, 0, sizeof(*lay));
	switch (ch->pdu_type) {
	case NVME_TCP_PDU_TYPE_IC_REQ:
		if (p->ic_done)
			return pdu_reject(err, NVME_TCP_FES_PDU_SEQUENCE_ERROR, CH_OFF(pdu_type));
		if (ch->hlen != sizeof(struct nvme_tcp_ic_req))
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(hlen));
		if (ch->pdo != 0)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(pdo));
		return ch_check_plain(ch, sizeof(struct nvme_tcp_ic_req),
		                      sizeof(struct nvme_tcp_ic_req), lay, err);
	case NVME_TCP_PDU_TYPE_H2C_TERM_REQ:
		/* A host may give up at any point, even before its ICReq. */
		if (ch->hlen != sizeof(struct nvme_tcp_term_req_hdr))
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(hlen));
		return ch_check_plain(ch, sizeof(struct nvme_tcp_term_req_hdr),
		                      TCP_TERM_REQ_PLEN_MAX, lay, err);
	case NVME_TCP_PDU_TYPE_CAPSULE_CMD:
		hlen = sizeof(struct nvme_tcp_cmd);
		max_data = p->icd_max;
		break;
	case NVME_TCP_PDU_TYPE_H2C_DATA:
		hlen = sizeof(struct nvme_tcp_h2c_data_hdr);
		max_data = p->maxh2cdata;
		break;
	default:
		/* Unknown, or a controller-to-host type a host must never send. */
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(pdu_type));
	}
	if (!p->ic_done)
		return pdu_reject(err, NVME_TCP_FES_PDU_SEQUENCE_ERROR, CH_OFF(pdu_type));
	if (ch->hlen != hlen)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(hlen));
	if (!!(ch->flags & NVME_TCP_CH_FLAGS_HDGSTF) != p->hdgst)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
	hdr_len = hlen + (p->hdgst ? TCP_DGST_LEN : 0);
	if (ch->plen < hdr_len)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
	lay->hdr_len = hdr_len;
	if (ch->plen == hdr_len) {
		/* No data: PDO and DDGSTF have nothing to describe. H2CData must carry data. */
		if (ch->pdu_type == NVME_TCP_PDU_TYPE_H2C_DATA)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
		if (ch->flags & NVME_TCP_CH_FLAGS_DDGSTF)
			return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
		lay->data_off = hdr_len;
		return 0;
	}
	if (!!(ch->flags & NVME_TCP_CH_FLAGS_DDGSTF) != p->ddgst)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(flags));
	ddgst_len = p->ddgst ? TCP_DGST_LEN : 0;
	if (ch->pdo < hdr_len || ch->pdo % TCP_CPDA_ALIGN)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(pdo));
	if (ch->plen <= (uint32_t)ch->pdo + ddgst_len)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD, CH_OFF(plen));
	lay->data_off = ch->pdo;
	lay->data_len = ch->plen - ch->pdo - ddgst_len;
	lay->ddgst_len = ddgst_len;
	if (lay->data_len > max_data)
		return pdu_reject(err, NVME_TCP_FES_DATA_TRANSFER_LIMIT_EXCEEDED, CH_OFF(plen));
	return 0;
}

bool tcp_pdu_hdgst_ok(const void *hdr, uint32_t hlen)
{
	uint32_t want = unvmf_crc32c(hdr, hlen), got;

	memcpy(&got, (const uint8_t *)hdr + hlen, sizeof(got));
	return want == got;
}

int tcp_pdu_icreq_check(const struct nvme_tcp_ic_req *ic, struct tcp_pdu_error *err)
{
	if (ic->pfv != 0)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                  offsetof(struct nvme_tcp_ic_req, pfv));
	if (ic->hpda > TCP_HPDA_MAX)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                  offsetof(struct nvme_tcp_ic_req, hpda));
	return 0;
}

int tcp_pdu_h2c_check(const struct nvme_tcp_h2c_data_hdr *h2c, const struct tcp_pdu_layout *lay,
                      const struct tcp_h2c_expect *exp, uint32_t maxh2cdata,
                      struct tcp_pdu_error *err)
{
	if (!exp->active)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                  offsetof(struct nvme_tcp_h2c_data_hdr, ttag));
	if (h2c->cccid != exp->cccid)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                  offsetof(struct nvme_tcp_h2c_data_hdr, cccid));
	if (h2c->datal != lay->data_len)
		return pdu_reject(err, NVME_TCP_FES_INVALID_HEADER_FIELD,
		                  offsetof(struct nvme_tcp_h2c_data_hdr, datal));
	if (h2c->datal > maxh2cdata)
		return pdu_reject(err, NVME_TCP_FES_DATA_TRANSFER_LIMIT_EXCEEDED,
		                  offsetof(struct nvme_tcp_h2c_data_hdr, datal));
	if (h2c->datao != exp->next)
		return pdu_reject(err, NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE,
		                  offsetof(struct nvme_tcp_h2c_data_hdr, datao));
	if (h2c->datal > exp->end - exp->next)
		return pdu_reject(err, NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE,
		                  offsetof(struct nvme_tcp_h2c_data_hdr, datal));
	return 0;
}

static int sgl_reject(uint8_t *sct, uint8_t *sc, uint8_t code)
{
	*sct = NVME_SCT_GENERIC;
	*sc = code;
	return -EINVAL;
}

int tcp_pdu_sgl_parse(const struct nvme_sqe *cmd, enum unvmf_xfer xfer, uint32_t icd_len,
                      uint32_t icd_max, uint32_t max_io_size, struct tcp_sgl *sgl, uint8_t *sct,
                      uint8_t *sc)
{
	uint32_t len = cmd->dptr.sgl1.unkeyed.length;
	uint8_t type = cmd->dptr.sgl1.unkeyed.type;
	uint8_t subtype = cmd->dptr.sgl1.unkeyed.subtype;
	uint64_t offset;

	memset(sgl, 0, sizeof(*sgl));
	/* Without a direction there is nothing to move, whatever the descriptor says. */
	if (xfer == UNVMF_XFER_NONE || len == 0)
		return 0;
	if (type == NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK && subtype == NVME_SGL_SUBTYPE_TRANSPORT) {
		if (len > max_io_size)
			return sgl_reject(sct, sc, NVME_SC_DATA_SGL_LENGTH_INVALID);
		/* Data was sent in the capsule although the SGL says it comes by R2T. */
		if (icd_len != 0)
			return sgl_reject(sct, sc, NVME_SC_DATA_SGL_LENGTH_INVALID);
		sgl->kind = TCP_SGL_TRANSPORT;
		sgl->length = len;
		return 0;
	}
	if (type == NVME_SGL_TYPE_DATA_BLOCK && subtype == NVME_SGL_SUBTYPE_OFFSET) {
		/* In-capsule data only ever flows host to controller. */
		if (xfer != UNVMF_XFER_HOST_TO_CONTROLLER)
			return sgl_reject(sct, sc, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
		offset = cmd->dptr.sgl1.unkeyed.address;
		if (offset > icd_max)
			return sgl_reject(sct, sc, NVME_SC_INVALID_SGL_OFFSET);
		if (len > icd_max - offset || offset + len != icd_len)
			return sgl_reject(sct, sc, NVME_SC_DATA_SGL_LENGTH_INVALID);
		sgl->kind = TCP_SGL_IN_CAPSULE;
		sgl->offset = (uint32_t)offset;
		sgl->length = len;
		return 0;
	}
	return sgl_reject(sct, sc, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
}

/* Sets HDGSTF and appends the header digest; returns hlen plus the digest. */
static uint32_t pdu_hdgst_finish(void *buf, uint32_t hlen, const struct tcp_pdu_params *p)
{
	uint32_t crc;

	if (!p->hdgst)
		return hlen;
	crc = unvmf_crc32c(buf, hlen);
	memcpy((uint8_t *)buf + hlen, &crc, sizeof(crc));
	return hlen + TCP_DGST_LEN;
}

uint32_t tcp_pdu_icresp_build(void *buf, bool hdgst, bool ddgst, uint32_t maxh2cdata)
{
	struct nvme_tcp_ic_resp *ic = buf;

	memset(ic, 0, sizeof(*ic));
	ic->common.pdu_type = NVME_TCP_PDU_TYPE_IC_RESP;
	ic->common.hlen = sizeof(*ic);
	ic->common.plen = sizeof(*ic);
	ic->pfv = 0;
	ic->cpda = 0;
	ic->dgst =
	    (uint8_t)((hdgst ? NVME_TCP_DIGEST_HEADER : 0) | (ddgst ? NVME_TCP_DIGEST_DATA : 0));
	ic->maxh2cdata = maxh2cdata;
	return sizeof(*ic);
}

uint32_t tcp_pdu_r2t_build(void *buf, const struct tcp_pdu_params *p, uint16_t cccid, uint16_t ttag,
                           uint32_t r2to, uint32_t r2tl)
{
	struct nvme_tcp_r2t_hdr *r2t = buf;

	memset(r2t, 0, sizeof(*r2t));
	r2t->common.pdu_type = NVME_TCP_PDU_TYPE_R2T;
	r2t->common.hlen = sizeof(*r2t);
	r2t->common.flags = p->hdgst ? NVME_TCP_CH_FLAGS_HDGSTF : 0;
	r2t->common.plen = sizeof(*r2t) + (p->hdgst ? TCP_DGST_LEN : 0);
	r2t->cccid = cccid;
	r2t->ttag = ttag;
	r2t->r2to = r2to;
	r2t->r2tl = r2tl;
	return pdu_hdgst_finish(buf, sizeof(*r2t), p);
}

uint32_t tcp_pdu_rsp_build(void *buf, const struct tcp_pdu_params *p, const struct nvme_cqe *cqe)
{
	struct nvme_tcp_rsp *rsp = buf;

	memset(rsp, 0, sizeof(*rsp));
	rsp->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_RESP;
	rsp->common.hlen = sizeof(*rsp);
	rsp->common.flags = p->hdgst ? NVME_TCP_CH_FLAGS_HDGSTF : 0;
	rsp->common.plen = sizeof(*rsp) + (p->hdgst ? TCP_DGST_LEN : 0);
	rsp->rccqe = *cqe;
	return pdu_hdgst_finish(buf, sizeof(*rsp), p);
}

uint32_t tcp_pdu_c2h_build(void *buf, const struct tcp_pdu_params *p, uint16_t cccid,
                           uint32_t datao, uint32_t datal, bool last, bool success)
{
	struct nvme_tcp_c2h_data_hdr *c2h = buf;
	uint32_t hdr_len = sizeof(*c2h) + (p->hdgst ? TCP_DGST_LEN : 0);
	uint32_t align = p->hpda_align ? p->hpda_align : 4u;
	/* HPDA alignments are dword multiples, not powers of two (HPDA 2: 12 bytes). */
	uint32_t pdo = UNVMF_DIV_ROUND_UP(hdr_len, align) * align;
	uint8_t flags = 0;

	memset(buf, 0, pdo);
	if (p->hdgst)
		flags |= NVME_TCP_CH_FLAGS_HDGSTF;
	if (p->ddgst)
		flags |= NVME_TCP_CH_FLAGS_DDGSTF;
	if (last)
		flags |= NVME_TCP_C2H_DATA_FLAGS_LAST_PDU;
	/* SUCCESS is only meaningful on the last PDU of the command. */
	if (last && success)
		flags |= NVME_TCP_C2H_DATA_FLAGS_SUCCESS;
	c2h->common.pdu_type = NVME_TCP_PDU_TYPE_C2H_DATA;
	c2h->common.hlen = sizeof(*c2h);
	c2h->common.flags = flags;
	c2h->common.pdo = (uint8_t)pdo;
	c2h->common.plen = pdo + datal + (p->ddgst ? TCP_DGST_LEN : 0);
	c2h->cccid = cccid;
	c2h->datao = datao;
	c2h->datal = datal;
	pdu_hdgst_finish(buf, sizeof(*c2h), p);
	return pdo;
}

uint32_t tcp_pdu_term_req_build(void *buf, uint16_t fes, uint32_t fei, const void *bad_hdr,
                                uint32_t bad_len)
{
	struct nvme_tcp_term_req_hdr *term = buf;

	bad_len = UNVMF_MIN(bad_len, TCP_TERM_REQ_DATA_MAX);
	memset(term, 0, sizeof(*term));
	term->common.pdu_type = NVME_TCP_PDU_TYPE_C2H_TERM_REQ;
	term->common.hlen = sizeof(*term);
	term->common.plen = (uint32_t)sizeof(*term) + bad_len;
	term->fes = fes;
	memcpy(&term->fei, &fei, sizeof(fei));
	if (bad_len)
		memcpy((uint8_t *)buf + sizeof(*term), bad_hdr, bad_len);
	return (uint32_t)sizeof(*term) + bad_len;
}
