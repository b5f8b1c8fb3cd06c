/*
 * Controller-only PDU rules (NVMe/TCP Transport Specification 1.0, 3.6.2.x):
 * H2CData against its R2T, the command SGL. No I/O here: see tcp_pdu.h.
 */
#include "transport/tcp/tcp_pdu.h"
#include "util/common.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static int pdu_reject(struct nvme_tcp_pdu_error *err, uint16_t fes, uint32_t fei)
{
	err->fes = fes;
	err->fei = fei;
	return -EPROTO;
}

int tcp_pdu_h2c_check(const struct nvme_tcp_h2c_data_hdr *h2c,
                      const struct nvme_tcp_pdu_layout *lay, const struct tcp_h2c_expect *exp,
                      uint32_t maxh2cdata, struct nvme_tcp_pdu_error *err)
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
