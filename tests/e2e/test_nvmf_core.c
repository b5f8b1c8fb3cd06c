/*
 * The NVMe-oF core's admin and Connect semantics end to end over NVMe/TCP:
 * Abort (AER, I/O commands waiting for buffers, unknown cid, bad SQID), the
 * Error Information and SMART/Health logs, Number of Queues and Volatile
 * Write Cache features, and Connect refusals with their exact statuses.
 *
 * The target runs from a config with one data buffer (8 KiB, no per-group
 * cache), so a raw I/O queue can hold it with a write awaiting H2CData and
 * make the next command wait for a buffer: an in-flight command the Abort can
 * deterministically withdraw. max_io_qpairs_per_ctrlr is 4.
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

#define NQN "nqn.2024-11.io.unvmf:core"
#define LOCKED_NQN "nqn.2024-11.io.unvmf:locked"
#define HOST_OK "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000001"
#define HOST_BAD "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-0000-0000-0000-000000000002"
#define NS_BLOCKS 16384ull
#define MAX_IO 8192u
#define MAX_IO_QUEUES 4

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	const char *args[] = {"-m", "0x3", NULL};

	return tgt_proc_start_config(&g_tp, args,
		"{\"subsystems\": [\n"
		" {\"subsystem\": \"bdev\", \"config\": [\n"
		"  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", \"num_blocks\": %llu, \"block_size\": 512}}]},\n"
		" {\"subsystem\": \"nvmf\", \"config\": [\n"
		"  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\", \"max_io_size\": %u, \"io_unit_size\": %u,"
		" \"num_shared_buffers\": 1, \"buf_cache_size\": 0, \"in_capsule_data_size\": 4096, \"max_io_qpairs_per_ctrlr\": %u}},\n"
		"  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", \"allow_any_host\": true}},\n"
		"  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", \"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
		"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}},\n"
		"  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", \"allow_any_host\": false}},\n"
		"  {\"method\": \"nvmf_subsystem_add_host\", \"params\": {\"nqn\": \"%s\", \"host\": \"%s\"}},\n"
		"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
		NS_BLOCKS, MAX_IO, MAX_IO, MAX_IO_QUEUES, NQN, NQN, NQN, LOCKED_NQN, LOCKED_NQN, HOST_OK,
		LOCKED_NQN);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 20);
}

static struct unvmf_host_ctrlr *connect_core(struct unvmf_host_opts *opts)
{
	struct unvmf_host_opts o;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_trid trid;

	if (!opts) {
		unvmf_host_opts_init(&o);
		opts = &o;
	}
	tgt_proc_trid(&g_tp, NQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, opts, &ctrlr, NULL), 0);
	return ctrlr;
}

/* Runs an admin command; returns its CQE (status raw in cqe.status). */
static struct nvme_cqe admin(struct unvmf_host_ctrlr *ctrlr, const struct nvme_sqe *sqe, void *buf,
			     uint32_t len, enum unvmf_host_dir dir)
{
	struct nvme_cqe cqe;

	memset(&cqe, 0, sizeof(cqe));
	unvmf_host_admin_cmd(ctrlr, sqe, buf, len, dir, &cqe, 0);
	return cqe;
}

static struct nvme_cqe abort_cmd(struct unvmf_host_ctrlr *ctrlr, uint16_t sqid, uint16_t cid)
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_ABORT;
	sqe.cdw10 = sqid | ((uint32_t)cid << 16);
	return admin(ctrlr, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE);
}

static void assert_status(const struct nvme_cqe *cqe, uint8_t sct, uint8_t sc)
{
	assert_int_equal(cqe->status.s.sct, sct);
	assert_int_equal(cqe->status.s.sc, sc);
}

/* ---- raw NVMe/TCP queue ---- */

static int raw_open(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct nvme_tcp_ic_req ic;
	struct nvme_tcp_ic_resp resp;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	size_t got = 0;

	sa.sin_port = htons((uint16_t)atoi(g_tp.port));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&ic, 0, sizeof(ic));
	ic.common.pdu_type = NVME_TCP_PDU_TYPE_IC_REQ;
	ic.common.hlen = sizeof(ic);
	ic.common.plen = sizeof(ic);
	assert_int_equal(write(fd, &ic, sizeof(ic)), sizeof(ic));
	while (got < sizeof(resp)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(fd, (uint8_t *)&resp + got, sizeof(resp) - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(resp.common.pdu_type, NVME_TCP_PDU_TYPE_IC_RESP);
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

/* True if nothing arrives on fd within ms. */
static bool raw_quiet(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 0;
}

/* Sends a CapsuleCmd, with data in the capsule when data is given. */
static void raw_capsule(int fd, const struct nvme_sqe *sqe, const void *data, uint32_t len)
{
	uint8_t b[sizeof(struct nvme_tcp_cmd) + 4096];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;

	assert_true(!data || len <= 4096);
	memset(b, 0, sizeof(*cmd));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.pdo = data ? sizeof(*cmd) : 0;
	cmd->common.plen = (uint32_t)sizeof(*cmd) + (data ? len : 0);
	cmd->ccsqe = *sqe;
	if (data) {
		cmd->ccsqe.dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
		cmd->ccsqe.dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
		cmd->ccsqe.dptr.sgl1.unkeyed.address = 0;
		memcpy(b + sizeof(*cmd), data, len);
	} else if (len) {
		cmd->ccsqe.dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK;
		cmd->ccsqe.dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_TRANSPORT;
	}
	cmd->ccsqe.dptr.sgl1.unkeyed.length = len;
	assert_int_equal(write(fd, b, cmd->common.plen), (ssize_t)cmd->common.plen);
}

static struct nvme_cqe raw_rsp(int fd)
{
	struct nvme_tcp_rsp rsp;

	raw_read(fd, &rsp, sizeof(rsp));
	assert_int_equal(rsp.common.pdu_type, NVME_TCP_PDU_TYPE_CAPSULE_RESP);
	return rsp.rccqe;
}

struct raw_connect {
	uint16_t qid;
	uint16_t cntlid;
	uint16_t recfmt;
	const char *subnqn;
	const char *hostnqn;
};

/* Sends Fabrics Connect with in-capsule data and returns the response. */
static struct nvme_cqe raw_connect(int fd, const struct raw_connect *c)
{
	struct nvme_sqe sqe;
	struct nvmf_connect_cmd *cmd = (struct nvmf_connect_cmd *)&sqe;
	struct nvmf_connect_data d;

	memset(&sqe, 0, sizeof(sqe));
	cmd->opcode = NVME_OPC_FABRICS;
	cmd->cid = 0x21;
	cmd->fctype = NVMF_FCTYPE_CONNECT;
	cmd->recfmt = c->recfmt;
	cmd->qid = c->qid;
	cmd->sqsize = 31;
	cmd->kato = c->qid == 0 ? 10000 : 0;
	memset(&d, 0, sizeof(d));
	d.cntlid = c->cntlid;
	d.hostid[0] = 1;
	strcpy(d.subnqn, c->subnqn ? c->subnqn : NQN);
	strcpy(d.hostnqn, c->hostnqn ? c->hostnqn : HOST_OK);
	raw_capsule(fd, &sqe, &d, sizeof(d));
	return raw_rsp(fd);
}

static void assert_invalid_param(const struct nvme_cqe *cqe, bool iattr, uint16_t ipo)
{
	const struct nvmf_connect_rsp *rsp = (const struct nvmf_connect_rsp *)cqe;

	assert_status(cqe, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_PARAM);
	assert_int_equal(rsp->status_code_specific.invalid.iattr, iattr ? 1 : 0);
	assert_int_equal(rsp->status_code_specific.invalid.ipo, ipo);
}

/* An I/O queue of ctrlr on a raw socket. */
static int raw_io_queue(struct unvmf_host_ctrlr *ctrlr, uint16_t qid)
{
	struct raw_connect c = {.qid = qid, .cntlid = unvmf_host_ctrlr_cntlid(ctrlr),
				.hostnqn = unvmf_host_ctrlr_hostnqn(ctrlr)};
	int fd = raw_open();
	struct nvme_cqe cqe = raw_connect(fd, &c);

	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	return fd;
}

static void rw_sqe(struct nvme_sqe *sqe, uint8_t opc, uint16_t cid, uint64_t lba, uint32_t nlb)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opc = opc;
	sqe->cid = cid;
	sqe->nsid = 1;
	sqe->cdw10 = (uint32_t)lba;
	sqe->cdw11 = (uint32_t)(lba >> 32);
	sqe->cdw12 = nlb - 1;
}

/* ---- Abort ---- */

static void aer_cb(void *arg, const struct nvme_cqe *cqe)
{
	e2e_io_cb(arg, cqe);
}

static void test_abort_aer(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_core(NULL);
	struct e2e_io aer = {0};
	struct nvme_cqe cqe;
	int aborted = -1;

	assert_int_equal(unvmf_host_aer_submit(ctrlr, aer_cb, &aer), 0);
	/* The host picks the AER's cid: exactly one Abort of sqid 0 finds it. */
	for (int cid = 0; cid < 32; cid++) {
		cqe = abort_cmd(ctrlr, 0, (uint16_t)cid);
		assert_int_equal(cqe.status.raw & 0xfffe, 0);
		if ((cqe.cdw0 & 1) == 0) {
			assert_int_equal(aborted, -1);
			aborted = cid;
		}
	}
	assert_int_not_equal(aborted, -1);
	for (int i = 0; i < 100 && !aer.done; i++) {
		unvmf_host_admin_poll(ctrlr);
		usleep(1000);
	}
	assert_true(aer.done);
	assert_int_equal(aer.cqe.cid, aborted);
	assert_status(&aer.cqe, NVME_SCT_GENERIC, NVME_SC_ABORTED_BY_REQUEST);
	/* Gone now: a second Abort finds nothing. */
	cqe = abort_cmd(ctrlr, 0, (uint16_t)aborted);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0 & 1, 1);
	unvmf_host_disconnect(ctrlr);
}

static void test_abort_io(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_core(NULL);
	struct unvmf_host_qpair *qp = NULL;
	struct nvme_tcp_r2t_hdr r2t;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint16_t qid;
	int fd;

	/* Unknown cid on a connected I/O queue: success, "not aborted". */
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	qid = unvmf_host_qpair_qid(qp);
	cqe = abort_cmd(ctrlr, qid, 0x1234);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0 & 1, 1);

	/* A queue that is not connected, and one beyond any the controller has. */
	cqe = abort_cmd(ctrlr, MAX_IO_QUEUES, 1);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	assert_int_equal(cqe.cdw0 & 1, 1);
	cqe = abort_cmd(ctrlr, 0xffff, 1);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);

	/*
	 * A command in flight: a write (cid 1) takes the only data buffer and
	 * waits for H2CData we hold back; a read (cid 2) then waits for a buffer.
	 */
	fd = raw_io_queue(ctrlr, MAX_IO_QUEUES);
	rw_sqe(&sqe, NVME_OPC_WRITE, 1, 64, MAX_IO / 512);
	raw_capsule(fd, &sqe, NULL, MAX_IO);
	raw_read(fd, &r2t, sizeof(r2t));
	assert_int_equal(r2t.common.pdu_type, NVME_TCP_PDU_TYPE_R2T);
	assert_int_equal(r2t.cccid, 1);
	assert_int_equal(r2t.r2to, 0);
	assert_int_equal(r2t.r2tl, MAX_IO);
	rw_sqe(&sqe, NVME_OPC_READ, 2, 64, MAX_IO / 512);
	raw_capsule(fd, &sqe, NULL, MAX_IO);
	assert_true(raw_quiet(fd, 200));

	cqe = abort_cmd(ctrlr, MAX_IO_QUEUES, 2);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0 & 1, 0);
	cqe = raw_rsp(fd);
	assert_int_equal(cqe.cid, 2);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_ABORTED_BY_REQUEST);

	/* The write is mid-transfer: not withdrawn, and it completes normally. */
	cqe = abort_cmd(ctrlr, MAX_IO_QUEUES, 1);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0 & 1, 1);
	{
		uint8_t b[sizeof(struct nvme_tcp_h2c_data_hdr) + MAX_IO];
		struct nvme_tcp_h2c_data_hdr *h2c = (struct nvme_tcp_h2c_data_hdr *)b;

		memset(b, 0x5a, sizeof(b));
		memset(h2c, 0, sizeof(*h2c));
		h2c->common.pdu_type = NVME_TCP_PDU_TYPE_H2C_DATA;
		h2c->common.flags = NVME_TCP_H2C_DATA_FLAGS_LAST_PDU;
		h2c->common.hlen = sizeof(*h2c);
		h2c->common.pdo = sizeof(*h2c);
		h2c->common.plen = sizeof(b);
		h2c->cccid = 1;
		h2c->ttag = r2t.ttag;
		h2c->datao = 0;
		h2c->datal = MAX_IO;
		assert_int_equal(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
	}
	cqe = raw_rsp(fd);
	assert_int_equal(cqe.cid, 1);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	close(fd);
	{
		uint8_t buf[MAX_IO];

		assert_int_equal(e2e_read(qp, 1, 64, MAX_IO / 512, buf, sizeof(buf)), 0);
		assert_int_equal(buf[0], 0x5a);
		assert_int_equal(buf[MAX_IO - 1], 0x5a);
	}
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

/*
 * Abort Command Limit: ACL is 3 (four Aborts at a time). Five Aborts of I/O
 * commands in one TCP segment are parsed in one poll, before any of the
 * first four has its answer back from the I/O queue's thread, so the fifth
 * finds the limit reached.
 */
static void test_abort_limit(void **state)
{
	struct raw_connect c = {.qid = 0, .cntlid = 0xffff};
	uint8_t b[5 * sizeof(struct nvme_tcp_cmd)];
	struct nvmf_connect_rsp *rsp;
	struct nvme_cqe cqe;
	bool seen[5] = {false};
	int afd = raw_open(), fd;

	cqe = raw_connect(afd, &c);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	rsp = (struct nvmf_connect_rsp *)&cqe;
	c.cntlid = rsp->status_code_specific.success.cntlid;
	{
		struct nvme_sqe sqe;
		struct nvmf_property_set_cmd *ps = (struct nvmf_property_set_cmd *)&sqe;
		union nvme_cc_register cc = {.raw = 0};

		cc.bits.en = 1;
		cc.bits.iosqes = 6;
		cc.bits.iocqes = 4;
		memset(&sqe, 0, sizeof(sqe));
		ps->opcode = NVME_OPC_FABRICS;
		ps->cid = 0x30;
		ps->fctype = NVMF_FCTYPE_PROPERTY_SET;
		ps->ofst = NVME_REG_CC;
		ps->value = cc.raw;
		raw_capsule(afd, &sqe, NULL, 0);
		cqe = raw_rsp(afd);
		assert_int_equal(cqe.status.raw & 0xfffe, 0);
	}
	c.qid = 1;
	fd = raw_open();
	cqe = raw_connect(fd, &c);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);

	memset(b, 0, sizeof(b));
	for (int i = 0; i < 5; i++) {
		struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)(b + i * sizeof(*cmd));

		cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
		cmd->common.hlen = sizeof(*cmd);
		cmd->common.plen = sizeof(*cmd);
		cmd->ccsqe.opc = NVME_OPC_ABORT;
		cmd->ccsqe.cid = (uint16_t)(0x40 + i);
		cmd->ccsqe.cdw10 = 1 | ((uint32_t)(0x100 + i) << 16);
	}
	assert_int_equal(write(afd, b, sizeof(b)), (ssize_t)sizeof(b));
	for (int i = 0; i < 5; i++) {
		cqe = raw_rsp(afd);
		assert_true(cqe.cid >= 0x40 && cqe.cid < 0x45);
		assert_false(seen[cqe.cid - 0x40]);
		seen[cqe.cid - 0x40] = true;
		if (cqe.cid == 0x44) {
			assert_status(&cqe, NVME_SCT_COMMAND_SPECIFIC,
				      NVME_SC_ABORT_COMMAND_LIMIT_EXCEEDED);
		} else {
			/* Nothing of that cid on the queue: not aborted. */
			assert_int_equal(cqe.status.raw & 0xfffe, 0);
			assert_int_equal(cqe.cdw0 & 1, 1);
		}
	}
	close(fd);
	close(afd);
}

/* ---- logs ---- */

static void test_error_log(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_core(NULL);
	struct unvmf_host_qpair *qp = NULL;
	struct nvme_error_log_entry log[2];
	struct nvme_health_log health;
	uint8_t buf[1024];
	struct iovec iov = {.iov_base = buf, .iov_len = 1024};
	struct e2e_io io = {0};
	uint16_t want_status;

	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	/* Nothing failed on this controller yet. */
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_ERROR, 0xffffffff, 0, log,
						 sizeof(log)), 0);
	assert_int_equal(log[0].error_count, 0);

	/* Past the end: LBA Out of Range, with More set (the log has the rest). */
	assert_int_equal(unvmf_host_read(qp, 1, NS_BLOCKS - 1, 2, &iov, 1, e2e_io_cb, &io), 0);
	assert_int_equal(e2e_wait(qp, &io, 5000),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	assert_int_equal(io.cqe.status.s.m, 1);
	assert_int_equal(io.cqe.status.s.dnr, 1);
	want_status = (uint16_t)((io.cqe.status.raw & 0xfffe) & ~(1u << 14));

	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_ERROR, 0xffffffff, 0, log,
						 sizeof(log)), 0);
	assert_int_equal(log[0].error_count, 1);
	assert_int_equal(log[0].sqid, unvmf_host_qpair_qid(qp));
	assert_int_equal(log[0].cid, io.cqe.cid);
	assert_int_equal(log[0].status, want_status);
	assert_int_equal((log[0].status >> 1) & 0xff, NVME_SC_LBA_OUT_OF_RANGE);
	assert_int_equal((log[0].status >> 9) & 0x7, NVME_SCT_GENERIC);
	assert_int_equal(log[0].error_location, offsetof(struct nvme_sqe, cdw10));
	assert_int_equal(log[0].lba, NS_BLOCKS - 1);
	assert_int_equal(log[0].nsid, 1);
	assert_int_equal(log[0].trtype, NVMF_TRTYPE_TCP);
	assert_int_equal(log[1].error_count, 0);

	/* A bad namespace: a second entry, newest first, no LBA. */
	assert_int_equal(e2e_read(qp, 9, 0, 1, buf, 512),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_ERROR, 0xffffffff, 0, log,
						 sizeof(log)), 0);
	assert_int_equal(log[0].error_count, 2);
	assert_int_equal(log[0].nsid, 9);
	assert_int_equal(log[0].lba, 0);
	assert_int_equal(log[0].error_location, offsetof(struct nvme_sqe, nsid));
	assert_int_equal((log[0].status >> 1) & 0xff, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
	assert_int_equal(log[1].error_count, 1);
	assert_int_equal(log[1].lba, NS_BLOCKS - 1);

	/* An admin error lands on sqid 0. */
	assert_int_equal(unvmf_host_get_features(ctrlr, 0x77, 0, NULL, 0, NULL), -EREMOTEIO);
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_ERROR, 0xffffffff, 0, log,
						 sizeof(log)), 0);
	assert_int_equal(log[0].error_count, 3);
	assert_int_equal(log[0].sqid, 0);
	assert_int_equal((log[0].status >> 1) & 0xff, NVME_SC_INVALID_FIELD);

	/* SMART counts the same errors. */
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_HEALTH, 0xffffffff, 0, &health,
						 sizeof(health)), 0);
	assert_int_equal(health.num_err_log_entries[0], 3);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

static uint64_t u128_low(const uint8_t v[16])
{
	uint64_t r = 0;

	for (int i = 15; i >= 8; i--)
		assert_int_equal(v[i], 0);
	for (int i = 7; i >= 0; i--)
		r = (r << 8) | v[i];
	return r;
}

static void test_health_counters(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_core(NULL);
	struct unvmf_host_qpair *qp[2];
	struct nvme_health_log h;
	uint8_t buf[MAX_IO];

	for (int q = 0; q < 2; q++)
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp[q], NULL), 0);
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_HEALTH, 0xffffffff, 0, &h,
						 sizeof(h)), 0);
	assert_int_equal(u128_low(h.data_units_read), 0);
	assert_int_equal(u128_low(h.host_writes), 0);

	/* 63 writes of 16 blocks = 1008 units (2 data units), 62 reads = 992 (1), over two queues. */
	memset(buf, 0x33, sizeof(buf));
	for (int i = 0; i < 63; i++)
		assert_int_equal(e2e_write(qp[i & 1], 1, (uint64_t)i * 16, 16, buf, sizeof(buf)), 0);
	for (int i = 0; i < 62; i++)
		assert_int_equal(e2e_read(qp[i & 1], 1, (uint64_t)i * 16, 16, buf, sizeof(buf)), 0);
	/* A single 512-byte write: 1009 units, still 2; a failed read counts nowhere. */
	assert_int_equal(e2e_write(qp[0], 1, 5000, 1, buf, 512), 0);
	assert_int_equal(e2e_read(qp[0], 1, NS_BLOCKS, 1, buf, 512),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_HEALTH, 0xffffffff, 0, &h,
						 sizeof(h)), 0);
	assert_int_equal(u128_low(h.data_units_written), 2);
	assert_int_equal(u128_low(h.data_units_read), 1);
	assert_int_equal(u128_low(h.host_writes), 64);
	assert_int_equal(u128_low(h.host_reads), 62);
	assert_int_equal(u128_low(h.num_err_log_entries), 1);
	assert_int_equal(h.temperature[0] | (h.temperature[1] << 8), 310);

	/* 9 more reads (144 units): 1136, past 1000 again for reads → 2. */
	for (int i = 0; i < 9; i++)
		assert_int_equal(e2e_read(qp[1], 1, (uint64_t)i * 16, 16, buf, sizeof(buf)), 0);
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_HEALTH, 0xffffffff, 0, &h,
						 sizeof(h)), 0);
	assert_int_equal(u128_low(h.data_units_read), 2);
	assert_int_equal(u128_low(h.host_reads), 71);
	for (int q = 0; q < 2; q++)
		unvmf_host_qpair_destroy(qp[q]);
	unvmf_host_disconnect(ctrlr);
}

/* ---- features ---- */

static struct nvme_cqe features(struct unvmf_host_ctrlr *ctrlr, bool set, uint32_t cdw10,
				uint32_t cdw11)
{
	struct nvme_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = set ? NVME_OPC_SET_FEATURES : NVME_OPC_GET_FEATURES;
	sqe.cdw10 = cdw10;
	sqe.cdw11 = cdw11;
	return admin(ctrlr, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE);
}

static void test_features(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp[2];
	struct nvme_cqe cqe;
	uint8_t w[4096], r[4096];
	int fd;

	unvmf_host_opts_init(&opts);
	opts.num_io_queues = 2;
	ctrlr = connect_core(&opts);
	/* The host asked for 2: NSQA = NCQA = 1 (0's based). */
	cqe = features(ctrlr, false, NVME_FEAT_NUMBER_OF_QUEUES, 0);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0, 0x00010001);
	/* More than the transport allows: granted its limit. */
	cqe = features(ctrlr, true, NVME_FEAT_NUMBER_OF_QUEUES, 0x00ff00ff);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0, ((MAX_IO_QUEUES - 1) << 16) | (MAX_IO_QUEUES - 1));
	/* The smaller of NSQR and NCQR. */
	cqe = features(ctrlr, true, NVME_FEAT_NUMBER_OF_QUEUES, 0x00020001);
	assert_int_equal(cqe.cdw0, 0x00010001);
	cqe = features(ctrlr, true, NVME_FEAT_NUMBER_OF_QUEUES, 0xffff);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);

	for (int q = 0; q < 2; q++)
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp[q], NULL), 0);
	/* qid 3 is beyond the 2 granted, though within the transport's 4. */
	fd = raw_open();
	{
		struct raw_connect c = {.qid = 3, .cntlid = unvmf_host_ctrlr_cntlid(ctrlr),
					.hostnqn = unvmf_host_ctrlr_hostnqn(ctrlr)};

		cqe = raw_connect(fd, &c);
		assert_invalid_param(&cqe, false, offsetof(struct nvmf_connect_cmd, qid));
	}
	close(fd);
	/* Number of Queues is fixed once I/O queues exist. */
	cqe = features(ctrlr, true, NVME_FEAT_NUMBER_OF_QUEUES, 0x00030003);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
	cqe = features(ctrlr, false, NVME_FEAT_NUMBER_OF_QUEUES, 0);
	assert_int_equal(cqe.cdw0, 0x00010001);

	/* Unknown feature identifiers. */
	cqe = features(ctrlr, false, 0x77, 0);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	cqe = features(ctrlr, true, 0x77, 0);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);

	/* Volatile Write Cache: present, on, changeable, not saveable. */
	cqe = features(ctrlr, false, NVME_FEAT_VOLATILE_WRITE_CACHE, 0);
	assert_int_equal(cqe.cdw0, 1);
	assert_int_equal(unvmf_host_ctrlr_data(ctrlr)->vwc & NVME_VWC_PRESENT, NVME_VWC_PRESENT);
	cqe = features(ctrlr, false, NVME_FEAT_VOLATILE_WRITE_CACHE | (3u << 8), 0);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	assert_int_equal(cqe.cdw0, 0x4);
	cqe = features(ctrlr, true, NVME_FEAT_VOLATILE_WRITE_CACHE | (1u << 31), 0);
	assert_status(&cqe, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_FEATURE_ID_NOT_SAVEABLE);
	cqe = features(ctrlr, true, NVME_FEAT_VOLATILE_WRITE_CACHE, 0);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	cqe = features(ctrlr, false, NVME_FEAT_VOLATILE_WRITE_CACHE, 0);
	assert_int_equal(cqe.cdw0, 0);
	/* Write-through: writes and Write Zeroes still complete and read back. */
	memset(w, 0xc3, sizeof(w));
	assert_int_equal(e2e_write(qp[0], 1, 300, 8, w, sizeof(w)), 0);
	assert_int_equal(e2e_read(qp[1], 1, 300, 8, r, sizeof(r)), 0);
	assert_memory_equal(w, r, sizeof(w));
	{
		struct e2e_io io = {0};

		assert_int_equal(unvmf_host_write_zeroes(qp[0], 1, 300, 8, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp[0], &io, 5000), 0);
		assert_int_equal(e2e_read(qp[0], 1, 300, 8, r, sizeof(r)), 0);
		memset(w, 0, sizeof(w));
		assert_memory_equal(w, r, sizeof(w));
	}
	cqe = features(ctrlr, true, NVME_FEAT_VOLATILE_WRITE_CACHE, 1);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	cqe = features(ctrlr, false, NVME_FEAT_VOLATILE_WRITE_CACHE, 0);
	assert_int_equal(cqe.cdw0, 1);
	for (int q = 0; q < 2; q++)
		unvmf_host_qpair_destroy(qp[q]);
	unvmf_host_disconnect(ctrlr);
}

/* ---- Connect refusals ---- */

static void test_connect_invalid_host(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_error err;
	struct unvmf_trid trid;

	tgt_proc_trid(&g_tp, LOCKED_NQN, &trid);
	unvmf_host_opts_init(&opts);
	strcpy(opts.hostnqn, HOST_BAD);
	memset(&err, 0, sizeof(err));
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), -EREMOTEIO);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_CONNECT);
	assert_true(err.has_cqe);
	assert_status(&err.cqe, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST);
	/* The host on the list gets in. */
	strcpy(opts.hostnqn, HOST_OK);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), 0);
	unvmf_host_disconnect(ctrlr);
}

static void test_connect_bad_params(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_core(NULL);
	struct unvmf_host_qpair *qp = NULL;
	uint16_t cntlid = unvmf_host_ctrlr_cntlid(ctrlr);
	const char *hostnqn = unvmf_host_ctrlr_hostnqn(ctrlr);
	struct nvme_cqe cqe;
	int fd;

	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	assert_int_equal(unvmf_host_qpair_qid(qp), 1);

	/* I/O queue for a controller that does not exist: CNTLID in the data. */
	fd = raw_open();
	{
		struct raw_connect c = {.qid = 1, .cntlid = (uint16_t)(cntlid + 100),
					.hostnqn = hostnqn};

		cqe = raw_connect(fd, &c);
		assert_invalid_param(&cqe, true, offsetof(struct nvmf_connect_data, cntlid));
		/* The connection lives on: the same CNTLID with another host NQN. */
		c.cntlid = cntlid;
		c.hostnqn = HOST_BAD;
		cqe = raw_connect(fd, &c);
		assert_invalid_param(&cqe, true, offsetof(struct nvmf_connect_data, cntlid));
		/* qid beyond max_io_qpairs_per_ctrlr. */
		c.hostnqn = hostnqn;
		c.qid = MAX_IO_QUEUES + 1;
		cqe = raw_connect(fd, &c);
		assert_invalid_param(&cqe, false, offsetof(struct nvmf_connect_cmd, qid));
		/* qid 1 is the host library's. */
		c.qid = 1;
		cqe = raw_connect(fd, &c);
		assert_invalid_param(&cqe, false, offsetof(struct nvmf_connect_cmd, qid));
		/* A record format we do not know. */
		c.qid = 2;
		c.recfmt = 1;
		cqe = raw_connect(fd, &c);
		assert_status(&cqe, NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INCOMPATIBLE_FORMAT);
		/* All of that left qid 2 free. */
		c.recfmt = 0;
		cqe = raw_connect(fd, &c);
		assert_int_equal(cqe.status.raw & 0xfffe, 0);
		/* A second Connect on a connected queue. */
		c.qid = 3;
		cqe = raw_connect(fd, &c);
		assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
	}
	close(fd);

	/* Admin Connect naming a controller: this target is dynamic only (FFFFh). */
	fd = raw_open();
	{
		struct raw_connect c = {.qid = 0, .cntlid = 5};

		cqe = raw_connect(fd, &c);
		assert_invalid_param(&cqe, true, offsetof(struct nvmf_connect_data, cntlid));
	}
	close(fd);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

/* An admin queue that never set CC.EN: its I/O queues are refused. */
static void test_connect_io_before_enable(void **state)
{
	struct raw_connect c = {.qid = 0, .cntlid = 0xffff};
	struct nvmf_connect_rsp *rsp;
	struct nvme_cqe cqe;
	int afd = raw_open(), fd;

	cqe = raw_connect(afd, &c);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	rsp = (struct nvmf_connect_rsp *)&cqe;
	c.cntlid = rsp->status_code_specific.success.cntlid;
	c.qid = 1;
	fd = raw_open();
	cqe = raw_connect(fd, &c);
	assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
	close(fd);
	/* Admin commands but Fabrics ones wait for CC.EN too. */
	{
		struct nvme_sqe sqe;

		memset(&sqe, 0, sizeof(sqe));
		sqe.opc = NVME_OPC_KEEP_ALIVE;
		sqe.cid = 0x22;
		raw_capsule(afd, &sqe, NULL, 0);
		cqe = raw_rsp(afd);
		assert_int_equal(cqe.cid, 0x22);
		assert_status(&cqe, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
	}
	close(afd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abort_aer),
		cmocka_unit_test(test_abort_io),
		cmocka_unit_test(test_abort_limit),
		cmocka_unit_test(test_error_log),
		cmocka_unit_test(test_health_counters),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_connect_invalid_host),
		cmocka_unit_test(test_connect_bad_params),
		cmocka_unit_test(test_connect_io_before_enable),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
