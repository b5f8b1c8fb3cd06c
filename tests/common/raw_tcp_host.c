#include "raw_tcp_host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unvmf/nvme_tcp_spec.h"
#include "unvmf/nvmf_spec.h"

#define RAW_TIMEOUT_MS 10000

static int raw_read(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, RAW_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(fd, (uint8_t *)buf + got, len - got);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

static int raw_write(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const uint8_t *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int raw_tcp_host_open(struct raw_tcp_host *h, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct nvme_tcp_ic_req ic;
	struct nvme_tcp_ic_resp rsp;
	int rc;

	memset(h, 0, sizeof(*h));
	h->next_cid = 1;
	h->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (h->fd < 0)
		return -errno;
	sa.sin_port = htons((uint16_t)atoi(port));
	if (connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail_errno;
	memset(&ic, 0, sizeof(ic));
	ic.common.pdu_type = NVME_TCP_PDU_TYPE_IC_REQ;
	ic.common.hlen = sizeof(ic);
	ic.common.plen = sizeof(ic);
	rc = raw_write(h->fd, &ic, sizeof(ic));
	if (rc == 0)
		rc = raw_read(h->fd, &rsp, sizeof(rsp));
	if (rc == 0 && rsp.common.pdu_type != NVME_TCP_PDU_TYPE_IC_RESP)
		rc = -EPROTO;
	if (rc) {
		raw_tcp_host_close(h);
		return rc;
	}
	return 0;
fail_errno:
	rc = -errno;
	raw_tcp_host_close(h);
	return rc;
}

void raw_tcp_host_close(struct raw_tcp_host *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* One CapsuleCmd, with icd_len bytes of in-capsule data when icd is given. */
static int send_capsule(struct raw_tcp_host *h, struct nvme_sqe *sqe, const void *icd,
                        uint32_t icd_len)
{
	struct nvme_tcp_cmd cmd;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	sqe->cid = h->next_cid++;
	cmd.common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd.common.hlen = sizeof(cmd);
	cmd.common.pdo = icd_len ? sizeof(cmd) : 0;
	cmd.common.plen = sizeof(cmd) + icd_len;
	cmd.ccsqe = *sqe;
	rc = raw_write(h->fd, &cmd, sizeof(cmd));
	if (rc == 0 && icd_len)
		rc = raw_write(h->fd, icd, icd_len);
	return rc;
}

int raw_tcp_host_exec_c2h(struct raw_tcp_host *h, struct nvme_sqe *sqe, uint32_t sgl_len,
                          void *buf, size_t cap, struct raw_tcp_result *res)
{
	int rc;

	memset(res, 0, sizeof(*res));
	sqe->psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	memset(&sqe->dptr.sgl1, 0, sizeof(sqe->dptr.sgl1));
	sqe->dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK;
	sqe->dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_TRANSPORT;
	sqe->dptr.sgl1.unkeyed.length = sgl_len;
	rc = send_capsule(h, sqe, NULL, 0);
	while (rc == 0) {
		struct nvme_tcp_common_pdu_hdr ch;
		uint8_t hdr[128];

		rc = raw_read(h->fd, &ch, sizeof(ch));
		if (rc)
			break;
		if (ch.hlen < sizeof(ch) || ch.hlen > sizeof(hdr) || ch.plen < ch.hlen)
			return -EPROTO;
		memcpy(hdr, &ch, sizeof(ch));
		rc = raw_read(h->fd, hdr + sizeof(ch), ch.hlen - sizeof(ch));
		if (rc)
			break;
		if (ch.pdu_type == NVME_TCP_PDU_TYPE_CAPSULE_RESP) {
			res->cqe = ((struct nvme_tcp_rsp *)hdr)->rccqe;
			return 0;
		}
		if (ch.pdu_type != NVME_TCP_PDU_TYPE_C2H_DATA)
			return -EPROTO;
		{
			struct nvme_tcp_c2h_data_hdr *c2h = (struct nvme_tcp_c2h_data_hdr *)hdr;
			uint32_t skip = ch.pdo > ch.hlen ? ch.pdo - ch.hlen : 0;
			uint8_t *tmp = malloc(c2h->datal + skip);

			if (!tmp)
				return -ENOMEM;
			rc = raw_read(h->fd, tmp, c2h->datal + skip);
			if (rc == 0 && (size_t)c2h->datao + c2h->datal <= cap)
				memcpy((uint8_t *)buf + c2h->datao, tmp + skip, c2h->datal);
			free(tmp);
			res->c2h_bytes += c2h->datal;
			res->c2h_pdus++;
			if (c2h->datao + c2h->datal > res->c2h_max_end)
				res->c2h_max_end = c2h->datao + c2h->datal;
			if (rc == 0 && (ch.flags & NVME_TCP_C2H_DATA_FLAGS_SUCCESS)) {
				res->cqe.cid = sqe->cid;
				res->success = true;
				return 0;
			}
		}
	}
	return rc;
}

int raw_tcp_host_connect(struct raw_tcp_host *h, uint16_t qid, uint16_t sqsize,
                         const char *subnqn, const char *hostnqn)
{
	struct nvmf_connect_data data;
	struct nvmf_connect_cmd cmd;
	struct nvme_tcp_common_pdu_hdr ch;
	struct nvme_tcp_rsp rsp;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.rsvd1 = NVME_PSDT_SGL_MPTR_CONTIG << 6;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
	cmd.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	cmd.sgl1.unkeyed.length = sizeof(data);
	cmd.qid = qid;
	cmd.sqsize = (uint16_t)(sqsize - 1);
	cmd.kato = qid ? 0 : 30000;
	memset(&data, 0, sizeof(data));
	memset(data.hostid, 0x5a, sizeof(data.hostid));
	data.cntlid = qid ? h->cntlid : NVMF_CNTLID_DYNAMIC;
	strncpy(data.subnqn, subnqn, sizeof(data.subnqn) - 1);
	strncpy(data.hostnqn, hostnqn, sizeof(data.hostnqn) - 1);
	rc = send_capsule(h, (struct nvme_sqe *)&cmd, &data, sizeof(data));
	if (rc == 0)
		rc = raw_read(h->fd, &ch, sizeof(ch));
	if (rc)
		return rc;
	if (ch.pdu_type != NVME_TCP_PDU_TYPE_CAPSULE_RESP || ch.hlen != sizeof(rsp))
		return -EPROTO;
	rsp.common = ch;
	rc = raw_read(h->fd, (uint8_t *)&rsp + sizeof(ch), sizeof(rsp) - sizeof(ch));
	if (rc)
		return rc;
	if (rsp.rccqe.status.raw >> 1)
		return -EACCES;
	if (qid == 0)
		h->cntlid = (uint16_t)rsp.rccqe.cdw0;
	return 0;
}

/* Property Get/Set carry FCTYPE where an SQE has NSID's first byte, ATTRIB/OFST/VALUE in CDW10-12. */
static int property(struct raw_tcp_host *h, uint8_t fctype, uint32_t ofst, uint32_t value,
                    uint32_t *out)
{
	struct nvme_sqe sqe = {.opc = NVME_OPC_FABRICS, .nsid = fctype, .cdw11 = ofst,
	                       .cdw12 = value};
	struct raw_tcp_result r;
	int rc = raw_tcp_host_exec_c2h(h, &sqe, 0, NULL, 0, &r);

	if (rc)
		return rc;
	if (r.cqe.status.raw >> 1)
		return -EIO;
	if (out)
		*out = r.cqe.cdw0;
	return 0;
}

int raw_tcp_host_enable(struct raw_tcp_host *h)
{
	/* CC: EN, 64-byte SQEs (IOSQES 6), 16-byte CQEs (IOCQES 4). */
	uint32_t csts = 0;
	int rc = property(h, NVMF_FCTYPE_PROPERTY_SET, 0x14, 0x00460001u, NULL);

	for (int i = 0; rc == 0 && i < 1000 && !(csts & 1); i++) {
		rc = property(h, NVMF_FCTYPE_PROPERTY_GET, 0x1c, 0, &csts);
		if (rc == 0 && !(csts & 1))
			usleep(1000);
	}
	return rc ? rc : ((csts & 1) ? 0 : -ETIMEDOUT);
}
