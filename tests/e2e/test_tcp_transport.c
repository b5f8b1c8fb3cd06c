/*
 * NVMe/TCP target transport end to end: digests under queue depth across
 * reactors (host library), and raw-socket protocol checks the host library
 * never exercises (R2T flow bytes, header and data digest errors, bad H2CData,
 * HPDA alignment of C2HData, a host H2CTermReq).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e_util.h"
#include "tgt_proc.h"
#include "unvmf/host.h"
#include "unvmf/nvme_tcp_spec.h"
#include "unvmf/nvmf_spec.h"
#include "util/crc32c.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x3", "-s", "64", NULL};

	return tgt_proc_start_or_dump(&g_tp, args);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 20);
}

struct io_slot {
	struct e2e_io io;
	uint8_t *buf;
	uint32_t len;
	uint64_t lba;
};

static void pattern(uint8_t *b, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static void run_qd(struct unvmf_host_qpair *qp, struct io_slot *s, int n, bool write)
{
	int done = 0;

	for (int i = 0; i < n; i++) {
		struct iovec iov = {.iov_base = s[i].buf, .iov_len = s[i].len};

		memset(&s[i].io, 0, sizeof(s[i].io));
		if (write)
			assert_int_equal(unvmf_host_write(qp, 1, s[i].lba, s[i].len / 512, &iov, 1,
							  e2e_io_cb, &s[i].io), 0);
		else
			assert_int_equal(unvmf_host_read(qp, 1, s[i].lba, s[i].len / 512, &iov, 1,
							 e2e_io_cb, &s[i].io), 0);
	}
	for (int spins = 0; done < n && spins < 10000000; spins++) {
		assert_true(unvmf_host_qpair_poll(qp, 0) >= 0);
		done = 0;
		for (int i = 0; i < n; i++)
			done += s[i].io.done;
	}
	assert_int_equal(done, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(s[i].io.cqe.status.raw & 0xfffe, 0);
}

static void digests_at_depth(bool hd, bool dd)
{
	static const uint32_t sizes[] = {512, 4096, 8192, 12800, 65536, 131072, 1024, 32768};
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp[2];
	struct unvmf_trid trid;
	struct unvmf_host_error err;
	struct io_slot s[48];

	unvmf_host_opts_init(&opts);
	opts.header_digest = hd;
	opts.data_digest = dd;
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), 0);
	for (int q = 0; q < 2; q++)
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 64, &qp[q], NULL), 0);
	for (int q = 0; q < 2; q++) {
		for (int i = 0; i < 48; i++) {
			s[i].len = sizes[i % 8];
			s[i].lba = (uint64_t)(q * 48 + i) * 256;
			s[i].buf = malloc(s[i].len);
			pattern(s[i].buf, s[i].len, (uint32_t)(q * 100 + i + hd * 7 + dd * 13));
		}
		run_qd(qp[q], s, 48, true);
		for (int i = 0; i < 48; i++)
			memset(s[i].buf, 0xee, s[i].len);
		run_qd(qp[q], s, 48, false);
		for (int i = 0; i < 48; i++) {
			uint8_t *want = malloc(s[i].len);

			pattern(want, s[i].len, (uint32_t)(q * 100 + i + hd * 7 + dd * 13));
			assert_memory_equal(want, s[i].buf, s[i].len);
			free(want);
			free(s[i].buf);
		}
	}
	for (int q = 0; q < 2; q++)
		unvmf_host_qpair_destroy(qp[q]);
	unvmf_host_disconnect(ctrlr);
}

static void test_digests_at_depth(void **state)
{
	digests_at_depth(false, false);
	digests_at_depth(true, false);
	digests_at_depth(false, true);
	digests_at_depth(true, true);
}

/* ---- raw socket ---- */

static int raw_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_port = htons((uint16_t)atoi(g_tp.port));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void raw_read(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(fd, (uint8_t *)buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void raw_write(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static int raw_icreq_hpda(bool hd, bool dd, uint8_t hpda)
{
	struct nvme_tcp_ic_req ic;
	struct nvme_tcp_ic_resp resp;
	int fd = raw_connect();

	memset(&ic, 0, sizeof(ic));
	ic.common.pdu_type = NVME_TCP_PDU_TYPE_IC_REQ;
	ic.common.hlen = sizeof(ic);
	ic.common.plen = sizeof(ic);
	ic.hpda = hpda;
	ic.dgst = (uint8_t)((hd ? NVME_TCP_DIGEST_HEADER : 0) | (dd ? NVME_TCP_DIGEST_DATA : 0));
	raw_write(fd, &ic, sizeof(ic));
	raw_read(fd, &resp, sizeof(resp));
	assert_int_equal(resp.common.pdu_type, NVME_TCP_PDU_TYPE_IC_RESP);
	assert_int_equal(resp.dgst, ic.dgst);
	assert_int_equal(resp.cpda, 0);
	assert_true(resp.maxh2cdata >= 4096 && resp.maxh2cdata % 4 == 0);
	return fd;
}

static int raw_icreq(bool hd, bool dd)
{
	return raw_icreq_hpda(hd, dd, 0);
}

static void connect_sqe(struct nvmf_connect_cmd *cmd, uint16_t cid, bool in_capsule)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = NVME_OPC_FABRICS;
	cmd->cid = cid;
	cmd->fctype = NVMF_FCTYPE_CONNECT;
	cmd->sqsize = 31;
	cmd->kato = 10000;
	cmd->sgl1.unkeyed.type = in_capsule ? NVME_SGL_TYPE_DATA_BLOCK :
					      NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK;
	cmd->sgl1.unkeyed.subtype = in_capsule ? NVME_SGL_SUBTYPE_OFFSET :
						 NVME_SGL_SUBTYPE_TRANSPORT;
	cmd->sgl1.unkeyed.length = sizeof(struct nvmf_connect_data);
}

static void connect_data(struct nvmf_connect_data *d)
{
	memset(d, 0, sizeof(*d));
	d->cntlid = 0xffff;
	d->hostid[0] = 1;
	strcpy(d->subnqn, SUBNQN);
	strcpy(d->hostnqn, HOSTNQN);
}

/* Reads one CapsuleResp (with a header digest if hd) and returns its CQE. */
static struct nvme_cqe read_rsp(int fd, bool hd)
{
	uint8_t b[64];
	struct nvme_tcp_rsp *rsp = (struct nvme_tcp_rsp *)b;

	raw_read(fd, b, sizeof(*rsp) + (hd ? 4 : 0));
	assert_int_equal(rsp->common.pdu_type, NVME_TCP_PDU_TYPE_CAPSULE_RESP);
	if (hd) {
		uint32_t crc = unvmf_crc32c(b, sizeof(*rsp)), got;

		memcpy(&got, b + sizeof(*rsp), 4);
		assert_int_equal(crc, got);
	}
	return rsp->rccqe;
}

static void expect_term(int fd, uint16_t fes, uint32_t fei)
{
	uint8_t b[152];
	struct nvme_tcp_term_req_hdr *t = (struct nvme_tcp_term_req_hdr *)b;
	uint32_t got_fei;
	ssize_t m;

	raw_read(fd, b, sizeof(*t));
	assert_int_equal(t->common.pdu_type, NVME_TCP_PDU_TYPE_C2H_TERM_REQ);
	assert_int_equal(t->fes, fes);
	memcpy(&got_fei, t->fei, 4);
	assert_int_equal(got_fei, fei);
	assert_true(t->common.plen > sizeof(*t) && t->common.plen <= 152);
	raw_read(fd, b + sizeof(*t), t->common.plen - sizeof(*t));
	do {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		assert_int_equal(poll(&p, 1, 5000), 1);
		m = read(fd, b, sizeof(b));
	} while (m > 0);
	assert_true(m == 0 || errno == ECONNRESET);
}

/* Connect through R2T/H2CData, byte by byte as the spec lays them out. */
static void test_raw_r2t_connect(void **state)
{
	uint8_t b[2048];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	struct nvme_tcp_r2t_hdr r2t;
	struct nvme_tcp_h2c_data_hdr *h2c = (struct nvme_tcp_h2c_data_hdr *)b;
	struct nvme_cqe cqe;
	int fd = raw_icreq(false, false);

	memset(b, 0, sizeof(b));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.plen = sizeof(*cmd);
	connect_sqe((struct nvmf_connect_cmd *)&cmd->ccsqe, 0x55, false);
	raw_write(fd, b, sizeof(*cmd));
	raw_read(fd, &r2t, sizeof(r2t));
	assert_int_equal(r2t.common.pdu_type, NVME_TCP_PDU_TYPE_R2T);
	assert_int_equal(r2t.common.plen, sizeof(r2t));
	assert_int_equal(r2t.cccid, 0x55);
	assert_int_equal(r2t.r2to, 0);
	assert_int_equal(r2t.r2tl, 1024);

	/* Split in two H2CData PDUs, the second sent in two writes. */
	memset(b, 0, sizeof(b));
	h2c->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_DATA;
	h2c->common.hlen = sizeof(*h2c);
	h2c->common.pdo = sizeof(*h2c);
	h2c->common.plen = sizeof(*h2c) + 512;
	h2c->cccid = 0x55;
	h2c->ttag = r2t.ttag;
	h2c->datao = 0;
	h2c->datal = 512;
	{
		struct nvmf_connect_data d;

		connect_data(&d);
		memcpy(b + sizeof(*h2c), &d, 512);
		raw_write(fd, b, sizeof(*h2c) + 512);
		h2c->datao = 512;
		h2c->common.flags = NVME_TCP_H2C_DATA_FLAGS_LAST_PDU;
		memcpy(b + sizeof(*h2c), (uint8_t *)&d + 512, 512);
		raw_write(fd, b, 30);
		usleep(20000);
		raw_write(fd, b + 30, sizeof(*h2c) + 512 - 30);
	}
	cqe = read_rsp(fd, false);
	assert_int_equal(cqe.cid, 0x55);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);

	/* An H2CData nobody asked for: TTAG is the bad field. */
	h2c->common.flags = 0;
	h2c->datao = 0;
	raw_write(fd, b, sizeof(*h2c) + 512);
	expect_term(fd, NVME_TCP_FES_INVALID_HEADER_FIELD,
		    offsetof(struct nvme_tcp_h2c_data_hdr, ttag));
	close(fd);
}

/* H2CData outside its R2T: Data Transfer Out of Range. */
static void test_raw_h2c_out_of_range(void **state)
{
	uint8_t b[2048];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	struct nvme_tcp_r2t_hdr r2t;
	struct nvme_tcp_h2c_data_hdr *h2c = (struct nvme_tcp_h2c_data_hdr *)b;
	int fd = raw_icreq(false, false);

	memset(b, 0, sizeof(b));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.plen = sizeof(*cmd);
	connect_sqe((struct nvmf_connect_cmd *)&cmd->ccsqe, 3, false);
	raw_write(fd, b, sizeof(*cmd));
	raw_read(fd, &r2t, sizeof(r2t));
	memset(b, 0, sizeof(b));
	h2c->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_DATA;
	h2c->common.hlen = sizeof(*h2c);
	h2c->common.pdo = sizeof(*h2c);
	h2c->common.plen = sizeof(*h2c) + 1024;
	h2c->cccid = 3;
	h2c->ttag = r2t.ttag;
	h2c->datao = 512;
	h2c->datal = 1024;
	raw_write(fd, b, sizeof(*h2c) + 1024);
	expect_term(fd, NVME_TCP_FES_DATA_TRANSFER_OUT_OF_RANGE,
		    offsetof(struct nvme_tcp_h2c_data_hdr, datao));
	close(fd);
}

/* A CapsuleCmd whose header digest is wrong: HDGST error, connection closed. */
static void test_raw_header_digest_error(void **state)
{
	uint8_t b[256];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	uint32_t crc;
	int fd = raw_icreq(true, false);

	memset(b, 0, sizeof(b));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.flags = NVME_TCP_CH_FLAGS_HDGSTF;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.plen = sizeof(*cmd) + 4;
	connect_sqe((struct nvmf_connect_cmd *)&cmd->ccsqe, 1, false);
	crc = unvmf_crc32c(b, sizeof(*cmd)) ^ 1;
	memcpy(b + sizeof(*cmd), &crc, 4);
	raw_write(fd, b, sizeof(*cmd) + 4);
	expect_term(fd, NVME_TCP_FES_HDGST_ERROR, 0);
	close(fd);
}

/*
 * In-capsule data with a wrong data digest: the command fails with Transient
 * Transport Error and the connection lives on (a good Connect then succeeds).
 */
static void test_raw_data_digest_error(void **state)
{
	uint8_t b[2048];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	struct nvmf_connect_data d;
	struct nvme_cqe cqe;
	uint32_t crc, len = sizeof(*cmd) + sizeof(d) + 4;
	int fd = raw_icreq(false, true);

	for (int round = 0; round < 2; round++) {
		memset(b, 0, sizeof(b));
		cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
		cmd->common.flags = NVME_TCP_CH_FLAGS_DDGSTF;
		cmd->common.hlen = sizeof(*cmd);
		cmd->common.pdo = sizeof(*cmd);
		cmd->common.plen = len;
		connect_sqe((struct nvmf_connect_cmd *)&cmd->ccsqe, (uint16_t)(10 + round), true);
		connect_data(&d);
		memcpy(b + sizeof(*cmd), &d, sizeof(d));
		crc = unvmf_crc32c(&d, sizeof(d)) ^ (round == 0 ? 0x100u : 0);
		memcpy(b + sizeof(*cmd) + sizeof(d), &crc, 4);
		raw_write(fd, b, len);
		cqe = read_rsp(fd, false);
		assert_int_equal(cqe.cid, 10 + round);
		if (round == 0) {
			assert_int_equal(cqe.status.s.sct, NVME_SCT_GENERIC);
			assert_int_equal(cqe.status.s.sc, NVME_SC_TRANSIENT_TRANSPORT_ERROR);
		} else {
			assert_int_equal(cqe.status.raw & 0xfffe, 0);
		}
	}
	close(fd);
}

/* In-capsule data beyond the admin capsule size: Data Transfer Limit Exceeded at PLEN. */
static void test_raw_in_capsule_too_big(void **state)
{
	static uint8_t b[72 + 8196];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	int fd = raw_icreq(false, false);

	memset(b, 0, sizeof(b));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.pdo = sizeof(*cmd);
	cmd->common.plen = sizeof(b);
	raw_write(fd, b, sizeof(b));
	expect_term(fd, NVME_TCP_FES_DATA_TRANSFER_LIMIT_EXCEEDED,
		    offsetof(struct nvme_tcp_common_pdu_hdr, plen));
	close(fd);
}

/* ---- raw socket: whole queues ---- */

/* Sends one CapsuleCmd with in-capsule data (len may be 0), with the digests negotiated. */
static void raw_send_capsule(int fd, bool hd, bool dd, const struct nvme_sqe *sqe, const void *data,
			     uint32_t len)
{
	static uint8_t b[sizeof(struct nvme_tcp_cmd) + 4 + 8192 + 4];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;
	uint32_t off = sizeof(*cmd) + (hd ? 4 : 0), crc;
	bool ddgst = dd && len;

	assert_true(len <= 8192);
	memset(b, 0, sizeof(*cmd));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.flags = (uint8_t)((hd ? NVME_TCP_CH_FLAGS_HDGSTF : 0) |
				      (ddgst ? NVME_TCP_CH_FLAGS_DDGSTF : 0));
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.pdo = (uint8_t)(len ? off : 0);
	cmd->common.plen = off + len + (ddgst ? 4 : 0);
	memcpy(&cmd->ccsqe, sqe, sizeof(*sqe));
	if (hd) {
		crc = unvmf_crc32c(b, sizeof(*cmd));
		memcpy(b + sizeof(*cmd), &crc, 4);
	}
	if (len)
		memcpy(b + off, data, len);
	if (ddgst) {
		crc = unvmf_crc32c(data, len);
		memcpy(b + off + len, &crc, 4);
	}
	raw_write(fd, b, cmd->common.plen);
}

static void raw_sqe_sgl(struct nvme_sqe *sqe, bool in_capsule, uint32_t len)
{
	sqe->psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	sqe->dptr.sgl1.unkeyed.type = in_capsule ? NVME_SGL_TYPE_DATA_BLOCK :
						   NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK;
	sqe->dptr.sgl1.unkeyed.subtype = in_capsule ? NVME_SGL_SUBTYPE_OFFSET :
						      NVME_SGL_SUBTYPE_TRANSPORT;
	sqe->dptr.sgl1.unkeyed.length = len;
}

/* Fabrics Connect of qid on fd (in-capsule data); returns the completion. */
static struct nvme_cqe raw_fabric_connect(int fd, bool hd, bool dd, uint16_t qid, uint16_t cntlid,
					  uint16_t cid)
{
	struct nvmf_connect_cmd cmd;
	struct nvmf_connect_data d;
	struct nvme_cqe cqe;

	connect_sqe(&cmd, cid, true);
	cmd.qid = qid;
	connect_data(&d);
	d.cntlid = cntlid;
	raw_send_capsule(fd, hd, dd, (const struct nvme_sqe *)&cmd, &d, sizeof(d));
	cqe = read_rsp(fd, hd);
	assert_int_equal(cqe.cid, cid);
	return cqe;
}

static uint64_t raw_property(int fd, bool set, uint32_t ofst, uint64_t value, uint16_t cid)
{
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;

	memset(&sqe, 0, sizeof(sqe));
	if (set) {
		struct nvmf_property_set_cmd *c = (struct nvmf_property_set_cmd *)&sqe;

		c->opcode = NVME_OPC_FABRICS;
		c->cid = cid;
		c->fctype = NVMF_FCTYPE_PROPERTY_SET;
		c->ofst = ofst;
		c->value = value;
	} else {
		struct nvmf_property_get_cmd *c = (struct nvmf_property_get_cmd *)&sqe;

		c->opcode = NVME_OPC_FABRICS;
		c->cid = cid;
		c->fctype = NVMF_FCTYPE_PROPERTY_GET;
		c->ofst = ofst;
	}
	raw_send_capsule(fd, false, false, &sqe, NULL, 0);
	cqe = read_rsp(fd, false);
	assert_int_equal(cqe.cid, cid);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	return cqe.cdw0 | (uint64_t)cqe.cdw1 << 32;
}

/* Brings the admin queue on fd (no digests) to CSTS.RDY; returns the controller ID. */
static uint16_t raw_admin_enable(int fd)
{
	struct nvme_cqe cqe = raw_fabric_connect(fd, false, false, 0, 0xffff, 1);
	uint16_t cid = 2;

	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	raw_property(fd, true, NVME_REG_CC, (6u << 16) | (4u << 20) | 1u, cid++);
	for (int i = 0; i < 500; i++) {
		if (raw_property(fd, false, NVME_REG_CSTS, 0, cid++) & 1)
			return (uint16_t)cqe.cdw0;
		usleep(10000);
	}
	fail_msg("CSTS.RDY not set");
	return 0;
}

/* Reads one whole PDU into b; returns its PLEN. */
static uint32_t raw_recv_pdu(int fd, uint8_t *b, uint32_t cap)
{
	struct nvme_tcp_common_pdu_hdr *ch = (struct nvme_tcp_common_pdu_hdr *)b;

	raw_read(fd, b, sizeof(*ch));
	assert_true(ch->plen >= sizeof(*ch) && ch->plen <= cap);
	raw_read(fd, b + sizeof(*ch), ch->plen - sizeof(*ch));
	return ch->plen;
}

/*
 * An I/O queue whose ICReq asked HPDA 7: every C2HData must put its data at a
 * PDO that is a multiple of (7 + 1) * 4 = 32 bytes, padding zeroed, and the
 * data read back must be what was written (digests checked when on).
 */
static void raw_hpda_read(bool hd, bool dd)
{
	enum { LEN = 4096, LBA = 4096 };
	static uint8_t want[LEN], got[LEN], b[256 + LEN + 4];
	int afd = raw_icreq(false, false), fd;
	uint32_t received = 0, pdus = 0;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint16_t cntlid = raw_admin_enable(afd);

	fd = raw_icreq_hpda(hd, dd, 7);
	cqe = raw_fabric_connect(fd, hd, dd, 1, cntlid, 1);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	for (uint32_t i = 0; i < LEN; i++)
		want[i] = (uint8_t)(i * 7 + hd * 3 + dd * 5 + 1);

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_WRITE;
	sqe.cid = 2;
	sqe.nsid = 1;
	sqe.cdw10 = LBA;
	sqe.cdw12 = LEN / 512 - 1;
	raw_sqe_sgl(&sqe, true, LEN);
	raw_send_capsule(fd, hd, dd, &sqe, want, LEN);
	cqe = read_rsp(fd, hd);
	assert_int_equal(cqe.cid, 2);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);

	sqe.opc = NVME_OPC_READ;
	sqe.cid = 3;
	raw_sqe_sgl(&sqe, false, LEN);
	raw_send_capsule(fd, hd, dd, &sqe, NULL, 0);
	for (;;) {
		struct nvme_tcp_common_pdu_hdr *ch = (struct nvme_tcp_common_pdu_hdr *)b;
		struct nvme_tcp_c2h_data_hdr *c2h = (struct nvme_tcp_c2h_data_hdr *)b;
		uint32_t plen = raw_recv_pdu(fd, b, sizeof(b)), crc;

		if (ch->pdu_type == NVME_TCP_PDU_TYPE_CAPSULE_RESP) {
			cqe = ((struct nvme_tcp_rsp *)b)->rccqe;
			break;
		}
		assert_int_equal(ch->pdu_type, NVME_TCP_PDU_TYPE_C2H_DATA);
		assert_int_equal(ch->hlen, sizeof(*c2h));
		assert_int_equal(ch->pdo % 32, 0);
		assert_true(ch->pdo >= sizeof(*c2h) + (hd ? 4u : 0u));
		assert_int_equal(!!(ch->flags & NVME_TCP_CH_FLAGS_HDGSTF), hd);
		assert_int_equal(!!(ch->flags & NVME_TCP_CH_FLAGS_DDGSTF), dd);
		assert_int_equal(c2h->cccid, 3);
		assert_int_equal(c2h->datao, received);
		assert_true(c2h->datal > 0 && received + c2h->datal <= LEN);
		assert_int_equal(plen, ch->pdo + c2h->datal + (dd ? 4u : 0u));
		if (hd) {
			memcpy(&crc, b + sizeof(*c2h), 4);
			assert_int_equal(crc, unvmf_crc32c(b, sizeof(*c2h)));
		}
		for (uint32_t i = sizeof(*c2h) + (hd ? 4u : 0u); i < ch->pdo; i++)
			assert_int_equal(b[i], 0);
		if (dd) {
			memcpy(&crc, b + ch->pdo + c2h->datal, 4);
			assert_int_equal(crc, unvmf_crc32c(b + ch->pdo, c2h->datal));
		}
		memcpy(got + received, b + ch->pdo, c2h->datal);
		received += c2h->datal;
		pdus++;
		/* SUCCESS on the last C2HData stands in for the CapsuleResp. */
		if (ch->flags & NVME_TCP_C2H_DATA_FLAGS_SUCCESS) {
			assert_true(ch->flags & NVME_TCP_C2H_DATA_FLAGS_LAST_PDU);
			memset(&cqe, 0, sizeof(cqe));
			cqe.cid = c2h->cccid;
			break;
		}
	}
	assert_int_equal(cqe.cid, 3);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_true(pdus >= 1);
	assert_int_equal(received, LEN);
	assert_memory_equal(want, got, LEN);
	close(fd);
	close(afd);
}

static void test_raw_hpda_c2h_alignment(void **state)
{
	raw_hpda_read(false, false);
	raw_hpda_read(true, true);
}

/*
 * A host's H2CTermReq: the target closes that connection without answering
 * (no C2HTermReq to a terminating host) and the controller's other connection
 * goes on working.
 */
static void test_raw_h2c_term_req_closes_only_it(void **state)
{
	uint8_t b[sizeof(struct nvme_tcp_term_req_hdr) + 8];
	struct nvme_tcp_term_req_hdr *t = (struct nvme_tcp_term_req_hdr *)b;
	int afd = raw_icreq(false, false), fd;
	struct pollfd p;
	uint16_t cntlid = raw_admin_enable(afd);
	struct nvme_cqe cqe;
	ssize_t n;

	fd = raw_icreq(false, false);
	cqe = raw_fabric_connect(fd, false, false, 1, cntlid, 1);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);

	memset(b, 0, sizeof(b));
	t->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_TERM_REQ;
	t->common.hlen = sizeof(*t);
	t->common.plen = sizeof(b);
	t->fes = NVME_TCP_FES_INVALID_HEADER_FIELD;
	t->fei[0] = 2;
	raw_write(fd, b, sizeof(b));
	p.fd = fd;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 5000), 1);
	n = read(fd, b, sizeof(b));
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd);

	/* The admin queue of the same controller still answers. */
	assert_true(raw_property(afd, false, NVME_REG_CSTS, 0, 100) & 1);
	close(afd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests_at_depth),
		cmocka_unit_test(test_raw_r2t_connect),
		cmocka_unit_test(test_raw_h2c_out_of_range),
		cmocka_unit_test(test_raw_header_digest_error),
		cmocka_unit_test(test_raw_data_digest_error),
		cmocka_unit_test(test_raw_in_capsule_too_big),
		cmocka_unit_test(test_raw_hpda_c2h_alignment),
		cmocka_unit_test(test_raw_h2c_term_req_closes_only_it),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
