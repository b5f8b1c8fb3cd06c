#include "host/tcp/host_tcp_pdu.h"
#include "util/common.h"
#include "util/crc32c.h"

#include <errno.h>
#include <string.h>

#define HOST_TCP_DGST_LEN 4u
#define HOST_TCP_TERM_DATA_MAX 128u

void host_tcp_icreq_build(void *buf, bool hdgst, bool ddgst)
{
	struct nvme_tcp_ic_req *ic = buf;

	memset(ic, 0, sizeof(*ic));
	ic->common.pdu_type = NVME_TCP_PDU_TYPE_IC_REQ;
	ic->common.hlen = sizeof(*ic);
	ic->common.plen = sizeof(*ic);
	ic->pfv = 0;
	ic->hpda = 0;
	ic->dgst = (uint8_t)((hdgst ? NVME_TCP_DIGEST_HEADER : 0) | (ddgst ? NVME_TCP_DIGEST_DATA : 0));
	ic->maxr2t = 0;
}

int host_tcp_icresp_check(const void *buf, bool hdgst, bool ddgst, struct host_tcp_params *p,
			  uint32_t *maxh2cdata, uint16_t *fes)
{
	const struct nvme_tcp_ic_resp *ic = buf;

	*fes = NVME_TCP_FES_INVALID_HEADER_FIELD;
	if (ic->common.pdu_type != NVME_TCP_PDU_TYPE_IC_RESP || ic->common.hlen != sizeof(*ic) ||
	    ic->common.plen != sizeof(*ic))
		return -EPROTO;
	if (ic->pfv != 0 || ic->cpda > 31) {
		*fes = NVME_TCP_FES_INVALID_HEADER_FIELD;
		return -EPROTO;
	}
	/* A controller may refuse a digest we asked for, never enable one we did not. */
	if ((!!(ic->dgst & NVME_TCP_DIGEST_HEADER) && !hdgst) || (!!(ic->dgst & NVME_TCP_DIGEST_DATA) && !ddgst))
		return -EPROTO;
	if (ic->maxh2cdata < 4096 || ic->maxh2cdata % 4) {
		*fes = NVME_TCP_FES_INVALID_HEADER_FIELD;
		return -EPROTO;
	}
	p->hdgst = !!(ic->dgst & NVME_TCP_DIGEST_HEADER);
	p->ddgst = !!(ic->dgst & NVME_TCP_DIGEST_DATA);
	p->cpda_align = (ic->cpda + 1u) * 4u;
	*maxh2cdata = ic->maxh2cdata;
	*fes = 0;
	return 0;
}

/* Places header digest and padding after a header of hlen bytes; returns the data offset. */
static uint32_t pdu_finish_header(uint8_t *buf, uint32_t hlen, uint32_t data_len, uint32_t ddgst_len,
				  const struct host_tcp_params *p)
{
	struct nvme_tcp_common_pdu_hdr *ch = (struct nvme_tcp_common_pdu_hdr *)buf;
	uint32_t off = hlen;

	if (p->hdgst) {
		ch->flags |= NVME_TCP_CH_FLAGS_HDGSTF;
		off += HOST_TCP_DGST_LEN;
	}
	if (data_len) {
		uint32_t pdo = UNVMF_ALIGN_UP(off, p->cpda_align ? p->cpda_align : 4u);

		if (p->ddgst)
			ch->flags |= NVME_TCP_CH_FLAGS_DDGSTF;
		memset(buf + off, 0, pdo - off);
		ch->pdo = (uint8_t)pdo;
		ch->plen = pdo + data_len + ddgst_len;
		off = pdo;
	} else {
		ch->pdo = 0;
		ch->plen = off;
	}
	if (p->hdgst) {
		uint32_t crc = unvmf_crc32c(buf, hlen);

		memcpy(buf + hlen, &crc, HOST_TCP_DGST_LEN);
	}
	return off;
}

uint32_t host_tcp_capsule_build(uint8_t *buf, const struct nvme_sqe *sqe, uint32_t data_len,
				const struct host_tcp_params *p)
{
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)buf;

	memset(cmd, 0, sizeof(*cmd));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.hlen = sizeof(*cmd);
	cmd->ccsqe = *sqe;
	return pdu_finish_header(buf, sizeof(*cmd), data_len, p->ddgst ? HOST_TCP_DGST_LEN : 0, p);
}

uint32_t host_tcp_h2c_build(uint8_t *buf, uint16_t cccid, uint16_t ttag, uint32_t datao,
			    uint32_t datal, bool last, const struct host_tcp_params *p)
{
	struct nvme_tcp_h2c_data_hdr *h2c = (struct nvme_tcp_h2c_data_hdr *)buf;

	memset(h2c, 0, sizeof(*h2c));
	h2c->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_DATA;
	h2c->common.hlen = sizeof(*h2c);
	if (last)
		h2c->common.flags |= NVME_TCP_H2C_DATA_FLAGS_LAST_PDU;
	h2c->cccid = cccid;
	h2c->ttag = ttag;
	h2c->datao = datao;
	h2c->datal = datal;
	return pdu_finish_header(buf, sizeof(*h2c), datal, p->ddgst ? HOST_TCP_DGST_LEN : 0, p);
}

uint32_t host_tcp_term_req_build(uint8_t *buf, uint16_t fes, uint32_t fei, const void *bad_hdr,
				 uint32_t bad_len)
{
	struct nvme_tcp_term_req_hdr *term = (struct nvme_tcp_term_req_hdr *)buf;

	bad_len = UNVMF_MIN(bad_len, HOST_TCP_TERM_DATA_MAX);
	memset(term, 0, sizeof(*term));
	term->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_TERM_REQ;
	term->common.hlen = sizeof(*term);
	term->common.plen = (uint32_t)sizeof(*term) + bad_len;
	term->fes = fes;
	memcpy(term->fei, &fei, sizeof(fei));
	if (bad_len)
		memcpy(buf + sizeof(*term), bad_hdr, bad_len);
	return (uint32_t)sizeof(*term) + bad_len;
}

static uint32_t pdu_expected_hlen(uint8_t type)
{
	switch (type) {
	case NVME_TCP_PDU_TYPE_CAPSULE_RESP:
		return sizeof(struct nvme_tcp_rsp);
	case NVME_TCP_PDU_TYPE_C2H_DATA:
		return sizeof(struct nvme_tcp_c2h_data_hdr);
	case NVME_TCP_PDU_TYPE_R2T:
		return sizeof(struct nvme_tcp_r2t_hdr);
	case NVME_TCP_PDU_TYPE_C2H_TERM_REQ:
		return sizeof(struct nvme_tcp_term_req_hdr);
	default:
		return 0;
	}
}

static int ch_reject(uint16_t *fes, uint32_t *fei, uint32_t offset)
{
	*fes = NVME_TCP_FES_INVALID_HEADER_FIELD;
	*fei = offset;
	return -EPROTO;
}

int host_tcp_ch_check(const struct nvme_tcp_common_pdu_hdr *ch, const struct host_tcp_params *p,
		      uint32_t *hdr_total, uint16_t *fes, uint32_t *fei)
{
	uint32_t hlen = pdu_expected_hlen(ch->pdu_type);
	bool term = ch->pdu_type == NVME_TCP_PDU_TYPE_C2H_TERM_REQ;
	bool has_hdgst = !term && p->hdgst;
	uint32_t hdr_len, ddgst_len;

	if (!hlen)
		return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, pdu_type));
	if (ch->hlen != hlen)
		return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, hlen));
	if (!!(ch->flags & NVME_TCP_CH_FLAGS_HDGSTF) != has_hdgst)
		return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, flags));
	hdr_len = hlen + (has_hdgst ? HOST_TCP_DGST_LEN : 0);
	switch (ch->pdu_type) {
	case NVME_TCP_PDU_TYPE_CAPSULE_RESP:
	case NVME_TCP_PDU_TYPE_R2T:
		if (ch->plen != hdr_len)
			return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, plen));
		*hdr_total = hdr_len;
		return 0;
	case NVME_TCP_PDU_TYPE_C2H_TERM_REQ:
		if (ch->plen < hlen || ch->plen > hlen + HOST_TCP_TERM_DATA_MAX)
			return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, plen));
		*hdr_total = hlen;
		return 0;
	default:
		break;
	}
	/* C2HData: data digest iff negotiated, data at PDO after header and digest. */
	if (!!(ch->flags & NVME_TCP_CH_FLAGS_DDGSTF) != p->ddgst)
		return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, flags));
	ddgst_len = p->ddgst ? HOST_TCP_DGST_LEN : 0;
	if (ch->pdo < hdr_len)
		return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, pdo));
	if (ch->plen <= (uint32_t)ch->pdo + ddgst_len)
		return ch_reject(fes, fei, offsetof(struct nvme_tcp_common_pdu_hdr, plen));
	*hdr_total = ch->pdo;
	return 0;
}

bool host_tcp_hdgst_ok(const uint8_t *buf, uint32_t hlen)
{
	uint32_t crc = unvmf_crc32c(buf, hlen), got;

	memcpy(&got, buf + hlen, sizeof(got));
	return crc == got;
}

uint32_t host_tcp_payload_len(const struct nvme_tcp_common_pdu_hdr *ch, uint32_t hdr_total,
			      const struct host_tcp_params *p)
{
	uint32_t ddgst_len = 0;

	if (ch->pdu_type == NVME_TCP_PDU_TYPE_C2H_DATA && p->ddgst)
		ddgst_len = HOST_TCP_DGST_LEN;
	return ch->plen - hdr_total - ddgst_len;
}
