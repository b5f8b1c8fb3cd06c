/*
 * Host library against a scripted NVMe/TCP controller on 127.0.0.1 (the fake
 * sits at the socket seam; the host library is the real one). Covers the
 * connect sequence, in-capsule writes, writes split over several R2Ts and
 * MAXH2CDATA-sized H2CData PDUs, reads in several C2HData PDUs with and
 * without the SUCCESS flag, digests, a rejected Connect's exact status, and a
 * C2HTermReq failing the qpair with its FES recorded.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "unvmf/host.h"
#include "unvmf/nvme_tcp_spec.h"
#include "proto/trid.h"
#include "util/crc32c.h"

#define FAKE_DISK_SIZE (1u << 20)
#define FAKE_IN_CAPSULE 4096u
#define FAKE_MAXH2CDATA 16384u
#define FAKE_R2T_MAX 32768u
#define FAKE_OPC_TERMINATE 0x99	/* vendor opcode: the fake answers with C2HTermReq */

struct fake_ctrlr {
	int listen_fd;
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t lock;
	uint8_t disk[FAKE_DISK_SIZE];
	uint32_t cc;
	/* Behaviour knobs, set before connecting. */
	bool c2h_success;
	bool reject_connect;
	uint32_t c2h_chunk;
	bool corrupt_ddgst;	/* send C2HData with a wrong data digest */	/* C2HData payload size; large ones take the host's direct readv path */
	/* Observations. */
	uint32_t r2t_sent;
	uint32_t h2c_received;
	uint32_t in_capsule_writes;
	uint32_t connects;
	int nthreads;
	pthread_t conn_threads[16];
	volatile bool stop;
};

struct fake_conn {
	struct fake_ctrlr *f;
	int fd;
	bool hdgst;
	bool ddgst;
};

static int fake_read(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fake_write(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends header (+digest), data (+digest) as one PDU with PDO right after the header. */
static int fake_send_pdu(struct fake_conn *c, void *hdr, uint32_t hlen, const void *data,
			 uint32_t dlen)
{
	struct nvme_tcp_common_pdu_hdr *ch = hdr;
	uint8_t buf[256 + 65536 + 8];
	uint32_t off = hlen, crc;
	bool hd = c->hdgst && ch->pdu_type != NVME_TCP_PDU_TYPE_C2H_TERM_REQ;

	if (hd)
		ch->flags |= NVME_TCP_CH_FLAGS_HDGSTF;
	if (dlen && c->ddgst)
		ch->flags |= NVME_TCP_CH_FLAGS_DDGSTF;
	ch->hlen = (uint8_t)hlen;
	ch->pdo = dlen ? (uint8_t)(hlen + (hd ? 4 : 0)) : 0;
	ch->plen = hlen + (hd ? 4 : 0) + dlen + (dlen && c->ddgst ? 4 : 0);
	memcpy(buf, hdr, hlen);
	if (hd) {
		crc = unvmf_crc32c(buf, hlen);
		memcpy(buf + off, &crc, 4);
		off += 4;
	}
	if (dlen)
		memcpy(buf + off, data, dlen);
	off += dlen;
	if (dlen && c->ddgst) {
		crc = unvmf_crc32c(data, dlen) ^ (c->f->corrupt_ddgst ? 1u : 0u);
		memcpy(buf + off, &crc, 4);
		off += 4;
	}
	return fake_write(c->fd, buf, off);
}

static int fake_send_resp(struct fake_conn *c, uint16_t cid, uint8_t sct, uint8_t sc, uint64_t v)
{
	struct nvme_tcp_rsp rsp;

	memset(&rsp, 0, sizeof(rsp));
	rsp.common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_RESP;
	rsp.rccqe.cid = cid;
	rsp.rccqe.cdw0 = (uint32_t)v;
	rsp.rccqe.cdw1 = (uint32_t)(v >> 32);
	rsp.rccqe.status.s.sct = sct;
	rsp.rccqe.status.s.sc = sc;
	return fake_send_pdu(c, &rsp, sizeof(rsp), NULL, 0);
}

/* Reads one PDU from the host: header into hdr, payload into data (returns its length). */
static int fake_recv_pdu(struct fake_conn *c, uint8_t *hdr, uint8_t *data, uint32_t *dlen)
{
	struct nvme_tcp_common_pdu_hdr *ch = (void *)hdr;
	uint32_t hd, rest, crc;

	if (fake_read(c->fd, hdr, 8))
		return -1;
	hd = (ch->flags & NVME_TCP_CH_FLAGS_HDGSTF) ? 4 : 0;
	if (fake_read(c->fd, hdr + 8, ch->hlen - 8u + hd))
		return -1;
	if (hd) {
		memcpy(&crc, hdr + ch->hlen, 4);
		assert_int_equal(crc, unvmf_crc32c(hdr, ch->hlen));
	}
	*dlen = 0;
	if (ch->plen > ch->hlen + hd) {
		uint32_t pad = ch->pdo - ch->hlen - hd, dd = (ch->flags & NVME_TCP_CH_FLAGS_DDGSTF) ? 4 : 0;
		uint8_t skip[128];

		if (pad && fake_read(c->fd, skip, pad))
			return -1;
		rest = ch->plen - ch->pdo - dd;
		if (fake_read(c->fd, data, rest))
			return -1;
		if (dd) {
			if (fake_read(c->fd, &crc, 4))
				return -1;
			assert_int_equal(crc, unvmf_crc32c(data, rest));
		}
		*dlen = rest;
	}
	return 0;
}

static int fake_read_cmd(struct fake_conn *c, const struct nvme_sqe *sqe, const uint8_t *icd,
			 uint32_t icd_len)
{
	struct fake_ctrlr *f = c->f;
	uint64_t off = (uint64_t)sqe->cdw10 * 512;
	uint32_t len = ((sqe->cdw12 & 0xffff) + 1) * 512;

	(void)icd;
	(void)icd_len;
	for (uint32_t done = 0; done < len;) {
		struct nvme_tcp_c2h_data_hdr h;
		uint32_t n = len - done < f->c2h_chunk ? len - done : f->c2h_chunk;

		memset(&h, 0, sizeof(h));
		h.common.pdu_type = NVME_TCP_PDU_TYPE_C2H_DATA;
		h.cccid = sqe->cid;
		h.datao = done;
		h.datal = n;
		if (done + n == len) {
			h.common.flags |= NVME_TCP_C2H_DATA_FLAGS_LAST_PDU;
			if (f->c2h_success)
				h.common.flags |= NVME_TCP_C2H_DATA_FLAGS_SUCCESS;
		}
		if (fake_send_pdu(c, &h, sizeof(h), f->disk + off + done, n))
			return -1;
		done += n;
	}
	return f->c2h_success ? 0 : fake_send_resp(c, sqe->cid, 0, 0, 0);
}

static int fake_write_cmd(struct fake_conn *c, const struct nvme_sqe *sqe, const uint8_t *icd,
			  uint32_t icd_len)
{
	struct fake_ctrlr *f = c->f;
	uint64_t off = (uint64_t)sqe->cdw10 * 512;
	uint32_t len = ((sqe->cdw12 & 0xffff) + 1) * 512;
	static uint8_t hdr[256], data[65536];

	if (icd_len) {
		assert_int_equal(icd_len, len);
		assert_int_equal(sqe->dptr.sgl1.unkeyed.type, NVME_SGL_TYPE_DATA_BLOCK);
		memcpy(f->disk + off, icd, len);
		f->in_capsule_writes++;
		return fake_send_resp(c, sqe->cid, 0, 0, 0);
	}
	assert_int_equal(sqe->dptr.sgl1.unkeyed.type, NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK);
	assert_int_equal(sqe->dptr.sgl1.unkeyed.length, len);
	for (uint32_t r2to = 0; r2to < len;) {
		struct nvme_tcp_r2t_hdr r2t;
		uint32_t r2tl = len - r2to < FAKE_R2T_MAX ? len - r2to : FAKE_R2T_MAX;
		uint32_t got = 0, dlen;

		memset(&r2t, 0, sizeof(r2t));
		r2t.common.pdu_type = NVME_TCP_PDU_TYPE_R2T;
		r2t.cccid = sqe->cid;
		r2t.ttag = (uint16_t)(0x100 + sqe->cid);
		r2t.r2to = r2to;
		r2t.r2tl = r2tl;
		if (fake_send_pdu(c, &r2t, sizeof(r2t), NULL, 0))
			return -1;
		f->r2t_sent++;
		while (got < r2tl) {
			const struct nvme_tcp_h2c_data_hdr *h = (const void *)hdr;

			if (fake_recv_pdu(c, hdr, data, &dlen))
				return -1;
			assert_int_equal(h->common.pdu_type, NVME_TCP_PDU_TYPE_H2C_DATA);
			assert_int_equal(h->cccid, sqe->cid);
			assert_int_equal(h->ttag, 0x100 + sqe->cid);
			assert_int_equal(h->datao, r2to + got);
			assert_int_equal(h->datal, dlen);
			assert_true(dlen <= FAKE_MAXH2CDATA);
			assert_int_equal(!!(h->common.flags & NVME_TCP_H2C_DATA_FLAGS_LAST_PDU),
					 got + dlen == r2tl);
			memcpy(f->disk + off + r2to + got, data, dlen);
			got += dlen;
			f->h2c_received++;
		}
		r2to += r2tl;
	}
	return fake_send_resp(c, sqe->cid, 0, 0, 0);
}

static int fake_admin_or_fabrics(struct fake_conn *c, const struct nvme_sqe *sqe, uint16_t qid)
{
	struct fake_ctrlr *f = c->f;
	const struct nvmf_capsule_cmd *fc = (const void *)sqe;
	static struct nvme_id_ctrl cd;

	if (sqe->opc == NVME_OPC_FABRICS) {
		const struct nvmf_property_get_cmd *pg = (const void *)sqe;
		const struct nvmf_property_set_cmd *ps = (const void *)sqe;

		switch (fc->fctype) {
		case NVMF_FCTYPE_PROPERTY_GET:
			if (pg->ofst == NVME_REG_CAP)
				return fake_send_resp(c, sqe->cid, 0, 0, 127 | (20ull << 24));
			if (pg->ofst == NVME_REG_VS)
				return fake_send_resp(c, sqe->cid, 0, 0, 0x10300);
			if (pg->ofst == NVME_REG_CC)
				return fake_send_resp(c, sqe->cid, 0, 0, f->cc);
			if (pg->ofst == NVME_REG_CSTS)
				return fake_send_resp(c, sqe->cid, 0, 0,
						      (f->cc & 1) | (((f->cc >> 14) & 3) ? 2u << 2 : 0));
			return fake_send_resp(c, sqe->cid, 0, 2, 0);
		case NVMF_FCTYPE_PROPERTY_SET:
			f->cc = (uint32_t)ps->value;
			return fake_send_resp(c, sqe->cid, 0, 0, 0);
		default:
			return fake_send_resp(c, sqe->cid, 0, 1, 0);
		}
	}
	(void)qid;
	switch (sqe->opc) {
	case NVME_OPC_IDENTIFY:
		memset(&cd, 0, sizeof(cd));
		memcpy(cd.sn, "FAKE0001            ", 20);
		cd.ioccsz = (FAKE_IN_CAPSULE + 64) / 16;
		cd.iorcsz = 1;
		cd.nn = 1;
		return fake_send_pdu(c, &(struct nvme_tcp_c2h_data_hdr){
					     .common = {.pdu_type = NVME_TCP_PDU_TYPE_C2H_DATA,
							.flags = NVME_TCP_C2H_DATA_FLAGS_LAST_PDU},
					     .cccid = sqe->cid, .datal = sizeof(cd)},
				     sizeof(struct nvme_tcp_c2h_data_hdr), &cd, sizeof(cd)) ||
		       fake_send_resp(c, sqe->cid, 0, 0, 0);
	case NVME_OPC_SET_FEATURES:
		return fake_send_resp(c, sqe->cid, 0, 0, (3u << 16) | 3u);
	case NVME_OPC_KEEP_ALIVE:
		return fake_send_resp(c, sqe->cid, 0, 0, 0);
	default:
		return fake_send_resp(c, sqe->cid, 0, 1, 0);
	}
}

static void *fake_conn_main(void *arg)
{
	struct fake_conn *c = arg;
	struct fake_ctrlr *f = c->f;
	static __thread uint8_t hdr[256], data[65536];
	struct nvme_tcp_ic_resp icr;
	const struct nvme_tcp_ic_req *icq = (const void *)hdr;
	uint16_t qid = 0;
	uint32_t dlen;

	if (fake_read(c->fd, hdr, 128))
		goto out_close;
	c->hdgst = !!(icq->dgst & NVME_TCP_DIGEST_HEADER);
	c->ddgst = !!(icq->dgst & NVME_TCP_DIGEST_DATA);
	memset(&icr, 0, sizeof(icr));
	icr.common.pdu_type = NVME_TCP_PDU_TYPE_IC_RESP;
	icr.common.hlen = 128;
	icr.common.plen = 128;
	icr.dgst = (uint8_t)((c->hdgst ? NVME_TCP_DIGEST_HEADER : 0) | (c->ddgst ? NVME_TCP_DIGEST_DATA : 0));
	icr.maxh2cdata = FAKE_MAXH2CDATA;
	if (fake_write(c->fd, &icr, sizeof(icr)))
		goto out_close;
	while (!f->stop) {
		const struct nvme_tcp_cmd *cmd = (const void *)hdr;
		const struct nvme_sqe *sqe = &cmd->ccsqe;
		int rc;

		if (fake_recv_pdu(c, hdr, data, &dlen))
			break;
		if (cmd->common.pdu_type != NVME_TCP_PDU_TYPE_CAPSULE_CMD)
			break;
		if (sqe->opc == NVME_OPC_FABRICS &&
		    ((const struct nvmf_capsule_cmd *)sqe)->fctype == NVMF_FCTYPE_CONNECT) {
			const struct nvmf_connect_cmd *cc = (const void *)sqe;

			assert_int_equal(dlen, sizeof(struct nvmf_connect_data));
			qid = cc->qid;
			pthread_mutex_lock(&f->lock);
			f->connects++;
			pthread_mutex_unlock(&f->lock);
			rc = f->reject_connect ? fake_send_resp(c, sqe->cid, 1, 0x84, 0) :
						 fake_send_resp(c, sqe->cid, 0, 0, 1);
		} else if (qid == 0) {
			rc = fake_admin_or_fabrics(c, sqe, qid);
		} else if (sqe->opc == NVME_OPC_READ) {
			rc = fake_read_cmd(c, sqe, data, dlen);
		} else if (sqe->opc == NVME_OPC_WRITE) {
			rc = fake_write_cmd(c, sqe, data, dlen);
		} else if (sqe->opc == FAKE_OPC_TERMINATE) {
			struct nvme_tcp_term_req_hdr t;
			uint32_t fei = 0x24;

			memset(&t, 0, sizeof(t));
			t.common.pdu_type = NVME_TCP_PDU_TYPE_C2H_TERM_REQ;
			t.fes = NVME_TCP_FES_PDU_SEQUENCE_ERROR;
			memcpy(t.fei, &fei, 4);
			fake_send_pdu(c, &t, sizeof(t), NULL, 0);
			break;
		} else {
			rc = fake_send_resp(c, sqe->cid, 0, 1, 0);
		}
		if (rc)
			break;
	}
out_close:
	close(c->fd);
	free(c);
	return NULL;
}

static void *fake_accept_main(void *arg)
{
	struct fake_ctrlr *f = arg;

	for (;;) {
		int fd = accept(f->listen_fd, NULL, NULL);
		struct fake_conn *c;

		if (fd < 0 || f->stop) {
			if (fd >= 0)
				close(fd);
			break;
		}
		c = calloc(1, sizeof(*c));
		c->f = f;
		c->fd = fd;
		pthread_create(&f->conn_threads[f->nthreads++], NULL, fake_conn_main, c);
	}
	return NULL;
}

static struct fake_ctrlr *fake_start(void)
{
	struct fake_ctrlr *f = calloc(1, sizeof(*f));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int one = 1;

	pthread_mutex_init(&f->lock, NULL);
	f->c2h_chunk = 3000;
	f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 16), 0);
	getsockname(f->listen_fd, (struct sockaddr *)&sa, &len);
	f->port = ntohs(sa.sin_port);
	for (uint32_t i = 0; i < FAKE_DISK_SIZE; i++)
		f->disk[i] = (uint8_t)(i * 7 + 3);
	pthread_create(&f->thread, NULL, fake_accept_main, f);
	return f;
}

static void fake_stop(struct fake_ctrlr *f)
{
	f->stop = true;
	shutdown(f->listen_fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	for (int i = 0; i < f->nthreads; i++)
		pthread_join(f->conn_threads[i], NULL);
	close(f->listen_fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct unvmf_trid trid_of(struct fake_ctrlr *f)
{
	struct unvmf_trid trid;
	char s[256];

	snprintf(s, sizeof(s), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%u subnqn:nqn.2024-11.io.unvmf:fake",
		 f->port);
	assert_int_equal(unvmf_trid_parse(&trid, s), 0);
	return trid;
}

struct io_done {
	int count;
	struct nvme_cqe last;
};

static void io_cb(void *arg, const struct nvme_cqe *cqe)
{
	struct io_done *d = arg;

	d->count++;
	d->last = *cqe;
}

static void wait_done(struct unvmf_host_qpair *qp, struct io_done *d, int want)
{
	for (int spins = 0; d->count < want && spins < 2000000; spins++)
		assert_true(unvmf_host_qpair_poll(qp, 0) >= 0);
	assert_int_equal(d->count, want);
}

static void run_io(bool digests, bool c2h_success, uint32_t c2h_chunk)
{
	struct fake_ctrlr *f = fake_start();
	struct unvmf_trid trid = trid_of(f);
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_opts opts;
	struct unvmf_host_error err;
	struct io_done d = {0};
	uint8_t *wbuf = malloc(65536), *rbuf = malloc(65536);
	struct iovec wiov[3], riov[2];

	f->c2h_success = c2h_success;
	f->c2h_chunk = c2h_chunk;
	unvmf_host_opts_init(&opts);
	opts.header_digest = digests;
	opts.data_digest = digests;
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), 0);
	assert_int_equal(unvmf_host_ctrlr_cntlid(ctrlr), 1);
	assert_int_equal(unvmf_host_ctrlr_in_capsule_size(ctrlr), FAKE_IN_CAPSULE);
	assert_int_equal(unvmf_host_ctrlr_num_io_queues(ctrlr), 4);
	assert_int_equal(unvmf_host_ctrlr_cap(ctrlr) & 0xffff, 127);
	assert_int_equal(unvmf_host_ctrlr_vs(ctrlr), 0x10300);
	assert_memory_equal(unvmf_host_ctrlr_data(ctrlr)->sn, "FAKE0001", 8);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 16, &qp, &err), 0);
	assert_int_equal(unvmf_host_qpair_qid(qp), 1);

	for (int i = 0; i < 65536; i++)
		wbuf[i] = (uint8_t)(i ^ 0x5a);
	/* 4 KiB: in-capsule. */
	wiov[0] = (struct iovec){wbuf, 4096};
	assert_int_equal(unvmf_host_write(qp, 1, 8, 8, wiov, 1, io_cb, &d), 0);
	wait_done(qp, &d, 1);
	assert_int_equal(d.last.status.raw & 0xfffe, 0);
	assert_int_equal(f->in_capsule_writes, 1);
	assert_memory_equal(f->disk + 8 * 512, wbuf, 4096);
	/* 64 KiB over three iovecs: two R2Ts of 32 KiB, four H2CData PDUs of 16 KiB. */
	wiov[0] = (struct iovec){wbuf, 1000};
	wiov[1] = (struct iovec){wbuf + 1000, 40000};
	wiov[2] = (struct iovec){wbuf + 41000, 65536 - 41000};
	assert_int_equal(unvmf_host_write(qp, 1, 256, 128, wiov, 3, io_cb, &d), 0);
	wait_done(qp, &d, 2);
	assert_int_equal(d.last.status.raw & 0xfffe, 0);
	assert_int_equal(f->r2t_sent, 2);
	assert_int_equal(f->h2c_received, 4);
	assert_memory_equal(f->disk + 256 * 512, wbuf, 65536);
	/* Read it back through two iovecs in c2h_chunk-byte C2HData PDUs. */
	memset(rbuf, 0, 65536);
	riov[0] = (struct iovec){rbuf, 12345};
	riov[1] = (struct iovec){rbuf + 12345, 65536 - 12345};
	assert_int_equal(unvmf_host_read(qp, 1, 256, 128, riov, 2, io_cb, &d), 0);
	wait_done(qp, &d, 3);
	assert_int_equal(d.last.status.raw & 0xfffe, 0);
	assert_memory_equal(rbuf, wbuf, 65536);
	/* Many reads at once: slots and cids recycle. */
	for (int round = 0; round < 4; round++) {
		int base = d.count;

		for (int i = 0; i < 15; i++) {
			riov[0] = (struct iovec){rbuf + i * 4096, 4096};
			assert_int_equal(unvmf_host_read(qp, 1, (uint64_t)i * 8, 8, riov, 1, io_cb, &d), 0);
		}
		assert_int_equal(unvmf_host_read(qp, 1, 0, 8, riov, 1, io_cb, &d), -EAGAIN);
		wait_done(qp, &d, base + 15);
		assert_memory_equal(rbuf, f->disk, 15 * 4096);
	}
	assert_int_equal(unvmf_host_keep_alive(ctrlr), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	free(wbuf);
	free(rbuf);
	fake_stop(f);
}

static void test_io_plain(void **state)
{
	(void)state;
	run_io(false, false, 3000);
}

static void test_io_digests_c2h_success(void **state)
{
	(void)state;
	run_io(true, true, 3000);
	run_io(true, false, 40000);
	run_io(false, true, 65536);
}

static void test_data_digest_error_status(void **state)
{
	struct fake_ctrlr *f = fake_start();
	struct unvmf_trid trid = trid_of(f);
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_opts opts;
	struct io_done d = {0};
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};

	(void)state;
	unvmf_host_opts_init(&opts);
	opts.data_digest = true;
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 8, &qp, NULL), 0);
	f->corrupt_ddgst = true;
	assert_int_equal(unvmf_host_read(qp, 1, 0, 8, &iov, 1, io_cb, &d), 0);
	wait_done(qp, &d, 1);
	assert_int_equal(d.last.status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(d.last.status.s.sc, NVME_SC_DATA_TRANSFER_ERROR);
	/* The connection survives a data digest error. */
	f->corrupt_ddgst = false;
	assert_int_equal(unvmf_host_read(qp, 1, 0, 8, &iov, 1, io_cb, &d), 0);
	wait_done(qp, &d, 2);
	assert_int_equal(d.last.status.raw & 0xfffe, 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	fake_stop(f);
}

static void test_connect_rejected_status(void **state)
{
	struct fake_ctrlr *f = fake_start();
	struct unvmf_trid trid = trid_of(f);
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err;

	(void)state;
	f->reject_connect = true;
	assert_int_equal(unvmf_host_connect(&trid, NULL, &ctrlr, &err), -EREMOTEIO);
	assert_null(ctrlr);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_CONNECT);
	assert_true(err.has_cqe);
	assert_int_equal(err.cqe.status.s.sct, 1);
	assert_int_equal(err.cqe.status.s.sc, 0x84);
	assert_string_equal(unvmf_host_status_str(1, 0x84), "Connect Invalid Host");
	fake_stop(f);
}

static void test_connect_refused(void **state)
{
	struct fake_ctrlr *f = fake_start();
	struct unvmf_trid trid = trid_of(f);
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err;

	(void)state;
	fake_stop(f);
	assert_true(unvmf_host_connect(&trid, NULL, &ctrlr, &err) < 0);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_SOCKET);
}

static void test_c2h_term_req_fails_qpair(void **state)
{
	struct fake_ctrlr *f = fake_start();
	struct unvmf_trid trid = trid_of(f);
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct io_done d = {0}, d2 = {0};
	uint8_t buf[4096];
	struct iovec iov = {buf, sizeof(buf)};
	struct nvme_sqe sqe;
	int rc = 0;

	(void)state;
	assert_int_equal(unvmf_host_connect(&trid, NULL, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 8, &qp, NULL), 0);
	/* A read the fake never answers, then the command that makes it terminate. */
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = FAKE_OPC_TERMINATE;
	sqe.nsid = 1;
	assert_int_equal(unvmf_host_submit_cmd(qp, &sqe, NULL, 0, io_cb, &d), 0);
	assert_int_equal(unvmf_host_read(qp, 1, 0, 8, &iov, 1, io_cb, &d2), 0);
	for (int spins = 0; spins < 2000000 && rc >= 0; spins++)
		rc = unvmf_host_qpair_poll(qp, 0);
	assert_int_equal(rc, -ECONNABORTED);
	assert_int_equal(unvmf_host_qpair_term_fes(qp), NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.last.status.s.sc, NVME_SC_ABORTED_SQ_DELETION);
	assert_int_equal(d2.count + d.count, 2);
	assert_int_equal(unvmf_host_qpair_outstanding(qp), 0);
	assert_int_equal(unvmf_host_qpair_poll(qp, 0), -ECONNABORTED);
	assert_int_equal(unvmf_host_read(qp, 1, 0, 8, &iov, 1, io_cb, &d2), -ENXIO);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	fake_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_plain),
		cmocka_unit_test(test_io_digests_c2h_success),
		cmocka_unit_test(test_data_digest_error_status),
		cmocka_unit_test(test_connect_rejected_status),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_c2h_term_req_fails_qpair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
