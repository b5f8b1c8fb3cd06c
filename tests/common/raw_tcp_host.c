#include "raw_tcp_host.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "unvmf/nvme_tcp_spec.h"
#include "unvmf/nvmf_spec.h"
#include "util/crc32c.h"

#define RAW_TIMEOUT_MS 10000
#define RAW_DGST_LEN 4u

int raw_tcp_host_recv(struct raw_tcp_host *h, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = h->fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, RAW_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = read(h->fd, (uint8_t *)buf + got, len - got);
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

int raw_tcp_host_send(struct raw_tcp_host *h, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(h->fd, (const uint8_t *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

int raw_tcp_host_dial(struct raw_tcp_host *h, const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, rc;

	memset(h, 0, sizeof(*h));
	h->next_cid = 1;
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -errno;
	sa.sin_port = htons((uint16_t)atoi(port));
	if (connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		raw_tcp_host_close(h);
		return rc;
	}
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

int raw_tcp_host_icreq(struct raw_tcp_host *h, bool hdgst, bool ddgst, uint8_t hpda)
{
	struct nvme_tcp_ic_req ic;
	struct nvme_tcp_ic_resp rsp;
	int rc;

	memset(&ic, 0, sizeof(ic));
	ic.common.pdu_type = NVME_TCP_PDU_TYPE_IC_REQ;
	ic.common.hlen = sizeof(ic);
	ic.common.plen = sizeof(ic);
	ic.hpda = hpda;
	ic.dgst =
	    (uint8_t)((hdgst ? NVME_TCP_DIGEST_HEADER : 0) | (ddgst ? NVME_TCP_DIGEST_DATA : 0));
	rc = raw_tcp_host_send(h, &ic, sizeof(ic));
	if (rc == 0)
		rc = raw_tcp_host_recv(h, &rsp, sizeof(rsp));
	if (rc)
		return rc;
	if (rsp.common.pdu_type != NVME_TCP_PDU_TYPE_IC_RESP || rsp.dgst != ic.dgst ||
	    rsp.cpda != 0 || rsp.maxh2cdata < 4096 || rsp.maxh2cdata % 4)
		return -EPROTO;
	h->hdgst = hdgst;
	h->ddgst = ddgst;
	return 0;
}

int raw_tcp_host_open(struct raw_tcp_host *h, const char *port)
{
	int rc = raw_tcp_host_dial(h, port);

	if (rc == 0 && (rc = raw_tcp_host_icreq(h, false, false, 0)) != 0)
		raw_tcp_host_close(h);
	return rc;
}

void raw_tcp_host_close(struct raw_tcp_host *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

int raw_tcp_host_recv_pdu(struct raw_tcp_host *h, void *buf, uint32_t cap)
{
	struct nvme_tcp_common_pdu_hdr *ch = buf;
	int rc;

	if (cap < sizeof(*ch))
		return -EMSGSIZE;
	rc = raw_tcp_host_recv(h, buf, sizeof(*ch));
	if (rc)
		return rc;
	if (ch->plen < sizeof(*ch))
		return -EPROTO;
	if (ch->plen > cap)
		return -EMSGSIZE;
	rc = raw_tcp_host_recv(h, (uint8_t *)buf + sizeof(*ch), ch->plen - sizeof(*ch));
	return rc ? rc : (int)ch->plen;
}

int raw_tcp_host_recv_rsp(struct raw_tcp_host *h, struct nvme_cqe *cqe)
{
	uint8_t b[sizeof(struct nvme_tcp_rsp) + RAW_DGST_LEN];
	struct nvme_tcp_rsp *rsp = (struct nvme_tcp_rsp *)b;
	int rc = raw_tcp_host_recv_pdu(h, b, sizeof(b));

	if (rc < 0)
		return rc;
	if (rsp->common.pdu_type != NVME_TCP_PDU_TYPE_CAPSULE_RESP ||
	    rsp->common.hlen != sizeof(*rsp) ||
	    (uint32_t)rc != sizeof(*rsp) + (h->hdgst ? RAW_DGST_LEN : 0))
		return -EPROTO;
	if (h->hdgst) {
		uint32_t got;

		memcpy(&got, b + sizeof(*rsp), sizeof(got));
		if (got != unvmf_crc32c(b, sizeof(*rsp)))
			return -EBADMSG;
	}
	*cqe = rsp->rccqe;
	return 0;
}

int raw_tcp_host_send_capsule(struct raw_tcp_host *h, const struct nvme_sqe *sqe, const void *icd,
                              uint32_t len)
{
	struct nvme_tcp_cmd cmd;
	uint32_t off = sizeof(cmd) + (h->hdgst ? RAW_DGST_LEN : 0), crc;
	bool ddgst = h->ddgst && len;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd.common.flags = (uint8_t)((h->hdgst ? NVME_TCP_CH_FLAGS_HDGSTF : 0) |
	                             (ddgst ? NVME_TCP_CH_FLAGS_DDGSTF : 0));
	cmd.common.hlen = sizeof(cmd);
	cmd.common.pdo = (uint8_t)(len ? off : 0);
	cmd.common.plen = off + len + (ddgst ? RAW_DGST_LEN : 0);
	cmd.ccsqe = *sqe;
	rc = raw_tcp_host_send(h, &cmd, sizeof(cmd));
	if (rc == 0 && h->hdgst) {
		crc = unvmf_crc32c(&cmd, sizeof(cmd));
		rc = raw_tcp_host_send(h, &crc, sizeof(crc));
	}
	if (rc == 0 && len)
		rc = raw_tcp_host_send(h, icd, len);
	if (rc == 0 && ddgst) {
		crc = unvmf_crc32c(icd, len);
		rc = raw_tcp_host_send(h, &crc, sizeof(crc));
	}
	return rc;
}

void raw_tcp_host_sgl(struct nvme_sqe *sqe, bool in_capsule, uint32_t len)
{
	sqe->psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	memset(&sqe->dptr.sgl1, 0, sizeof(sqe->dptr.sgl1));
	sqe->dptr.sgl1.unkeyed.type =
	    in_capsule ? NVME_SGL_TYPE_DATA_BLOCK : NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK;
	sqe->dptr.sgl1.unkeyed.subtype =
	    in_capsule ? NVME_SGL_SUBTYPE_OFFSET : NVME_SGL_SUBTYPE_TRANSPORT;
	sqe->dptr.sgl1.unkeyed.length = len;
}

int raw_tcp_host_exec_c2h(struct raw_tcp_host *h, struct nvme_sqe *sqe, uint32_t sgl_len, void *buf,
                          size_t cap, struct raw_tcp_result *res)
{
	int rc;

	memset(res, 0, sizeof(*res));
	sqe->cid = h->next_cid++;
	raw_tcp_host_sgl(sqe, false, sgl_len);
	rc = raw_tcp_host_send_capsule(h, sqe, NULL, 0);
	while (rc == 0) {
		struct nvme_tcp_common_pdu_hdr ch;
		uint8_t hdr[128];

		rc = raw_tcp_host_recv(h, &ch, sizeof(ch));
		if (rc)
			break;
		if (ch.hlen < sizeof(ch) || ch.hlen > sizeof(hdr) || ch.plen < ch.hlen)
			return -EPROTO;
		memcpy(hdr, &ch, sizeof(ch));
		rc = raw_tcp_host_recv(h, hdr + sizeof(ch), ch.hlen - sizeof(ch));
		if (rc)
			break;
		if (ch.pdu_type == NVME_TCP_PDU_TYPE_CAPSULE_RESP) {
			if (h->hdgst)
				rc = raw_tcp_host_recv(h, hdr + ch.hlen, RAW_DGST_LEN);
			res->cqe = ((struct nvme_tcp_rsp *)hdr)->rccqe;
			return rc;
		}
		if (ch.pdu_type != NVME_TCP_PDU_TYPE_C2H_DATA)
			return -EPROTO;
		{
			struct nvme_tcp_c2h_data_hdr *c2h = (struct nvme_tcp_c2h_data_hdr *)hdr;
			uint32_t skip = ch.pdo > ch.hlen ? ch.pdo - ch.hlen : 0;
			uint32_t tail = (ch.flags & NVME_TCP_CH_FLAGS_DDGSTF) ? RAW_DGST_LEN : 0;
			uint8_t *tmp = malloc(c2h->datal + skip + tail);

			if (!tmp)
				return -ENOMEM;
			rc = raw_tcp_host_recv(h, tmp, c2h->datal + skip + tail);
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

int raw_tcp_host_connect_cqe(struct raw_tcp_host *h, uint16_t qid, uint16_t sqsize, uint32_t kato,
                             uint16_t cntlid, const char *subnqn, const char *hostnqn,
                             struct nvme_cqe *cqe)
{
	struct nvmf_connect_data data;
	struct nvmf_connect_cmd cmd;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.cid = h->next_cid++;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.qid = qid;
	cmd.sqsize = (uint16_t)(sqsize - 1);
	cmd.kato = kato;
	memset(&data, 0, sizeof(data));
	memset(data.hostid, 0x5a, sizeof(data.hostid));
	data.cntlid = cntlid;
	strncpy(data.subnqn, subnqn, sizeof(data.subnqn) - 1);
	strncpy(data.hostnqn, hostnqn, sizeof(data.hostnqn) - 1);
	raw_tcp_host_sgl((struct nvme_sqe *)&cmd, true, sizeof(data));
	rc = raw_tcp_host_send_capsule(h, (struct nvme_sqe *)&cmd, &data, sizeof(data));
	if (rc == 0)
		rc = raw_tcp_host_recv_rsp(h, &h->last_cqe);
	if (rc)
		return rc;
	if (h->last_cqe.cid != cmd.cid)
		return -EPROTO;
	if (qid == 0 && (h->last_cqe.status.raw >> 1) == 0)
		h->cntlid = (uint16_t)h->last_cqe.cdw0;
	if (cqe)
		*cqe = h->last_cqe;
	return 0;
}

int raw_tcp_host_connect(struct raw_tcp_host *h, uint16_t qid, uint16_t sqsize, const char *subnqn,
                         const char *hostnqn)
{
	int rc =
	    raw_tcp_host_connect_cqe(h, qid, sqsize, qid ? 0 : 30000,
	                             qid ? h->cntlid : NVMF_CNTLID_DYNAMIC, subnqn, hostnqn, NULL);

	if (rc == 0 && (h->last_cqe.status.raw >> 1))
		return -EACCES;
	return rc;
}

int raw_tcp_host_property(struct raw_tcp_host *h, bool set, uint32_t ofst, uint64_t value,
                          uint64_t *out)
{
	/* Property Get/Set: FCTYPE where an SQE has NSID's first byte, ATTRIB/OFST/VALUE in
	 * CDW10-12. */
	struct nvme_sqe sqe = {
	    .opc = NVME_OPC_FABRICS,
	    .nsid = set ? NVMF_FCTYPE_PROPERTY_SET : NVMF_FCTYPE_PROPERTY_GET,
	    .cdw10 = ofst == NVME_REG_CAP ? 1 : 0, /* CAP is 8 bytes */
	    .cdw11 = ofst,
	    .cdw12 = (uint32_t)value,
	    .cdw13 = (uint32_t)(value >> 32),
	};
	struct nvme_cqe cqe;
	int rc;

	sqe.cid = h->next_cid++;
	rc = raw_tcp_host_send_capsule(h, &sqe, NULL, 0);
	if (rc == 0)
		rc = raw_tcp_host_recv_rsp(h, &cqe);
	if (rc)
		return rc;
	if (cqe.cid != sqe.cid)
		return -EPROTO;
	if (cqe.status.raw >> 1)
		return -EIO;
	if (out)
		*out = cqe.cdw0 | (uint64_t)cqe.cdw1 << 32;
	return 0;
}

int raw_tcp_host_enable(struct raw_tcp_host *h)
{
	/* CC: EN, 64-byte SQEs (IOSQES 6), 16-byte CQEs (IOCQES 4). */
	uint64_t csts = 0;
	int rc = raw_tcp_host_property(h, true, NVME_REG_CC, 0x00460001u, NULL);

	for (int i = 0; rc == 0 && i < 1000 && !(csts & 1); i++) {
		rc = raw_tcp_host_property(h, false, NVME_REG_CSTS, 0, &csts);
		if (rc == 0 && !(csts & 1))
			usleep(1000);
	}
	return rc ? rc : ((csts & 1) ? 0 : -ETIMEDOUT);
}

static uint64_t raw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int raw_tcp_host_wait_end(struct raw_tcp_host *h, int timeout_ms, void (*idle)(void *arg),
                          void *arg, struct raw_tcp_end *end)
{
	uint64_t deadline = raw_now_ms() + (uint64_t)timeout_ms;
	uint8_t acc[512];
	size_t have = 0;
	uint32_t skip = 0;

	memset(end, 0, sizeof(*end));
	while (raw_now_ms() < deadline) {
		struct pollfd p = {.fd = h->fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 20) != 1) {
			if (idle)
				idle(arg);
			continue;
		}
		n = read(h->fd, acc + have, sizeof(acc) - have);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		have += (size_t)n;
		/* Whole PDUs off the front: a TermReq is kept, anything else skipped. */
		for (;;) {
			struct nvme_tcp_common_pdu_hdr ch;
			size_t take;

			if (skip) {
				take = skip < have ? skip : have;
				memmove(acc, acc + take, have - take);
				have -= take;
				skip -= (uint32_t)take;
				if (skip)
					break;
				continue;
			}
			if (have < sizeof(ch))
				break;
			memcpy(&ch, acc, sizeof(ch));
			if (ch.pdu_type == NVME_TCP_PDU_TYPE_C2H_TERM_REQ &&
			    ch.plen >= sizeof(struct nvme_tcp_term_req_hdr) &&
			    ch.plen <= sizeof(acc)) {
				const struct nvme_tcp_term_req_hdr *t = (const void *)acc;

				if (have < ch.plen)
					break;
				end->term_req = true;
				end->fes = t->fes;
				memcpy(&end->fei, t->fei, sizeof(end->fei));
				skip = ch.plen;
				continue;
			}
			end->other_pdus++;
			skip = ch.plen > sizeof(ch) ? ch.plen : sizeof(ch);
		}
	}
	return -ETIMEDOUT;
}
