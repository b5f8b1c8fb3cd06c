/*
 * End to end over NVMe/TCP on 127.0.0.1: unvmf-tgt (default configuration,
 * 64 MiB RAM namespace) driven by the host library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define NS_BLOCKS (64ull * 1024 * 1024 / 512)

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	return tgt_proc_start_or_dump(&g_tp, NULL);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 20);
}

static struct unvmf_host_ctrlr *connect_default(struct unvmf_host_opts *opts)
{
	struct unvmf_host_opts o;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_trid trid;
	struct unvmf_host_error err;

	if (!opts) {
		unvmf_host_opts_init(&o);
		opts = &o;
	}
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, opts, &ctrlr, &err), 0);
	return ctrlr;
}

static void test_identify(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_default(NULL);
	const struct nvme_id_ctrl *cd = unvmf_host_ctrlr_data(ctrlr);
	struct nvme_id_ns ns;
	uint32_t list[1024];
	uint8_t desc[4096];
	struct nvme_ns_id_desc *d;

	assert_memory_equal(cd->subnqn, SUBNQN, sizeof(SUBNQN));
	assert_int_not_equal(cd->cntlid, 0);
	assert_int_equal(cd->ver, NVME_VERSION(1, 3, 0));
	assert_int_equal(cd->nn, 32);
	assert_true(cd->oncs & NVME_ONCS_DSM);
	assert_true(cd->oncs & NVME_ONCS_WRITE_ZEROES);
	assert_int_equal(cd->cntrltype, 1);
	assert_int_equal(unvmf_host_ctrlr_vs(ctrlr), NVME_VERSION(1, 3, 0));

	assert_int_equal(unvmf_host_identify_ns(ctrlr, 1, &ns), 0);
	assert_int_equal(ns.nsze, NS_BLOCKS);
	assert_int_equal(ns.lbaf[0].lbads, 9);
	/* An inactive NSID in range reads as zeroes; out of range is an error. */
	assert_int_equal(unvmf_host_identify_ns(ctrlr, 2, &ns), 0);
	assert_int_equal(ns.nsze, 0);
	assert_int_equal(unvmf_host_identify_ns(ctrlr, 33, &ns), -EREMOTEIO);

	assert_int_equal(unvmf_host_identify_active_ns_list(ctrlr, 0, list), 0);
	assert_int_equal(list[0], 1);
	assert_int_equal(list[1], 0);

	assert_int_equal(unvmf_host_identify_ns_id_desc(ctrlr, 1, desc), 0);
	d = (struct nvme_ns_id_desc *)desc;
	assert_int_equal(d->nidt, NVME_NIDT_UUID);
	assert_int_equal(d->nidl, 16);
	unvmf_host_disconnect(ctrlr);
}

static void test_discovery(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct nvmf_discovery_log_header *log = NULL;
	struct nvmf_discovery_log_entry *e;
	struct unvmf_trid trid;
	uint32_t len = 0;
	bool found = false;

	unvmf_host_opts_init(&opts);
	tgt_proc_trid(&g_tp, NULL, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_true(unvmf_host_ctrlr_is_discovery(ctrlr));
	assert_int_equal(unvmf_host_get_discovery_log(ctrlr, &log, &len), 0);
	assert_true(log->numrec >= 2);
	e = (struct nvmf_discovery_log_entry *)(log + 1);
	assert_int_equal(e[0].subtype, NVMF_SUBTYPE_DISCOVERY_CURRENT);
	for (uint64_t i = 0; i < log->numrec; i++) {
		if (e[i].subtype == NVMF_SUBTYPE_NVME &&
		    strncmp(e[i].subnqn, SUBNQN, sizeof(SUBNQN)) == 0) {
			assert_int_equal(e[i].trtype, NVMF_TRTYPE_TCP);
			assert_int_equal(atoi(e[i].trsvcid), atoi(g_tp.port));
			found = true;
		}
	}
	assert_true(found);
	free(log);
	unvmf_host_disconnect(ctrlr);
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 9)) & 0xff);
}

static void test_read_write_sizes(void **state)
{
	static const uint32_t sizes[] = {512, 4096, 8192, 12288, 65536, 131072};
	struct unvmf_host_ctrlr *ctrlr = connect_default(NULL);
	struct unvmf_host_qpair *qp = NULL;
	uint8_t *wbuf = malloc(131072), *rbuf = malloc(131072);

	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t nb = sizes[i] / 512;
		uint64_t lba = 1000 + i * 512;

		fill(wbuf, sizes[i], i + 1);
		memset(rbuf, 0xee, sizes[i]);
		assert_int_equal(e2e_write(qp, 1, lba, nb, wbuf, sizes[i]), 0);
		assert_int_equal(e2e_read(qp, 1, lba, nb, rbuf, sizes[i]), 0);
		assert_memory_equal(wbuf, rbuf, sizes[i]);
	}
	/* Write Zeroes, then Dataset Management deallocate, read back as zeroes (RAM backend). */
	{
		struct e2e_io io = {0};
		struct nvme_dsm_range range = {.length = 8, .starting_lba = 1000};
		struct iovec iov = {.iov_base = &range, .iov_len = sizeof(range)};

		assert_int_equal(unvmf_host_write_zeroes(qp, 1, 1512, 8, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, 5000), 0);
		assert_int_equal(e2e_read(qp, 1, 1512, 8, rbuf, 4096), 0);
		for (int k = 0; k < 4096; k++)
			assert_int_equal(rbuf[k], 0);
		memset(&io, 0, sizeof(io));
		assert_int_equal(unvmf_host_dsm(qp, 1, 1, &iov, 1, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, 5000), 0);
		assert_int_equal(e2e_read(qp, 1, 1000, 8, rbuf, 4096), 0);
		for (int k = 0; k < 4096; k++)
			assert_int_equal(rbuf[k], 0);
		memset(&io, 0, sizeof(io));
		assert_int_equal(unvmf_host_flush(qp, 1, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, 5000), 0);
	}
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	free(wbuf);
	free(rbuf);
}

static void test_many_qpairs(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qps[64];
	uint8_t buf[4096], rbuf[4096];

	unvmf_host_opts_init(&opts);
	opts.num_io_queues = 64;
	opts.io_queue_size = 16;
	ctrlr = connect_default(&opts);
	assert_true(unvmf_host_ctrlr_num_io_queues(ctrlr) >= 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qps[i], NULL), 0);
	for (int i = 0; i < 64; i++) {
		fill(buf, sizeof(buf), 100 + i);
		assert_int_equal(e2e_write(qps[i], 1, 20000 + i * 8, 8, buf, sizeof(buf)), 0);
	}
	for (int i = 0; i < 64; i++) {
		fill(buf, sizeof(buf), 100 + i);
		assert_int_equal(e2e_read(qps[63 - i], 1, 20000 + i * 8, 8, rbuf,
					  sizeof(rbuf)), 0);
		assert_memory_equal(buf, rbuf, sizeof(buf));
	}
	for (int i = 0; i < 64; i++)
		unvmf_host_qpair_destroy(qps[i]);
	unvmf_host_disconnect(ctrlr);
}

static void test_bad_connect(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_error err;
	struct unvmf_trid trid;
	struct nvmf_connect_rsp *rsp = (struct nvmf_connect_rsp *)&err.cqe;

	unvmf_host_opts_init(&opts);
	/* Unknown subsystem: Connect Invalid Parameters pointing at SUBNQN in the data. */
	tgt_proc_trid(&g_tp, "nqn.2024-11.io.unvmf:nope", &trid);
	memset(&err, 0, sizeof(err));
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), -EREMOTEIO);
	assert_int_equal(err.stage, UNVMF_HOST_STAGE_CONNECT);
	assert_true(err.has_cqe);
	assert_int_equal(err.cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(err.cqe.status.s.sc, NVMF_SC_INVALID_PARAM);
	assert_int_equal(rsp->status_code_specific.invalid.iattr, 1);
	assert_int_equal(rsp->status_code_specific.invalid.ipo,
			 offsetof(struct nvmf_connect_data, subnqn));

	/* Admin queue larger than the target allows: IPO points at SQSIZE. */
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	opts.admin_queue_size = 1024;
	opts.exact_queue_size = true;
	memset(&err, 0, sizeof(err));
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), -EREMOTEIO);
	assert_int_equal(err.cqe.status.s.sc, NVMF_SC_INVALID_PARAM);
	assert_int_equal(rsp->status_code_specific.invalid.iattr, 0);
	assert_int_equal(rsp->status_code_specific.invalid.ipo,
			 offsetof(struct nvmf_connect_cmd, sqsize));

	/* I/O queue larger than max_queue_depth (CAP.MQES). */
	unvmf_host_opts_init(&opts);
	opts.exact_queue_size = true;
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, &err), 0);
	memset(&err, 0, sizeof(err));
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 4096, &qp, &err), -EREMOTEIO);
	assert_int_equal(err.cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(err.cqe.status.s.sc, NVMF_SC_INVALID_PARAM);
	assert_int_equal(rsp->status_code_specific.invalid.ipo,
			 offsetof(struct nvmf_connect_cmd, sqsize));
	unvmf_host_disconnect(ctrlr);
}

static void test_bad_commands(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_default(NULL);
	struct unvmf_host_qpair *qp = NULL;
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint8_t *buf = calloc(1, 262144);

	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	/* Past the end of the namespace. */
	assert_int_equal(e2e_read(qp, 1, NS_BLOCKS - 1, 2, buf, 1024),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	/* A namespace that does not exist. */
	assert_int_equal(e2e_read(qp, 7, 0, 1, buf, 512),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	assert_int_equal(e2e_read(qp, 0, 0, 1, buf, 512),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	/* An I/O opcode we do not implement (Verify, 0x0c). */
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = 0x0c;
	sqe.nsid = 1;
	assert_int_equal(e2e_cmd(qp, &sqe, NULL, 0),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE));
	/* More than max_io_size (128 KiB) in one command. */
	assert_int_equal(e2e_read(qp, 1, 0, 512, buf, 262144),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	/* Data shorter than NLB needs. */
	assert_int_equal(e2e_read(qp, 1, 0, 8, buf, 512),
			 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	/* Write Zeroes and Dataset Management past the end, or starting beyond it. */
	{
		struct e2e_io io = {0};
		struct nvme_dsm_range ranges[2] = {
		    {.length = 8, .starting_lba = 100},
		    {.length = 2, .starting_lba = NS_BLOCKS - 1},
		};
		struct iovec iov = {.iov_base = ranges, .iov_len = sizeof(ranges)};
		uint8_t pattern[512], back[512];

		assert_int_equal(unvmf_host_write_zeroes(qp, 1, NS_BLOCKS - 4, 8, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, 5000),
				 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
		memset(&io, 0, sizeof(io));
		assert_int_equal(unvmf_host_write_zeroes(qp, 1, NS_BLOCKS, 1, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, 5000),
				 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
		/* One bad range fails the command before any range is deallocated. */
		memset(pattern, 0xa7, sizeof(pattern));
		assert_int_equal(e2e_write(qp, 1, 100, 1, pattern, sizeof(pattern)), 0);
		memset(&io, 0, sizeof(io));
		assert_int_equal(unvmf_host_dsm(qp, 1, 2, &iov, 1, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, 5000),
				 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
		assert_int_equal(e2e_read(qp, 1, 100, 1, back, sizeof(back)), 0);
		assert_memory_equal(pattern, back, sizeof(back));
		ranges[0].starting_lba = NS_BLOCKS + 10;
		ranges[1].starting_lba = 0;
		ranges[1].length = 0;
		memset(&io, 0, sizeof(io));
		assert_int_equal(unvmf_host_dsm(qp, 1, 2, &iov, 1, e2e_io_cb, &io), 0);
		assert_int_equal(e2e_wait(qp, &io, 5000),
				 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_OUT_OF_RANGE));
	}

	/* Admin: unknown opcode, unknown log page, bad CNS, unknown feature. */
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = 0xc1;
	assert_int_equal(unvmf_host_admin_cmd(ctrlr, &sqe, NULL, 0, UNVMF_HOST_DIR_NONE, &cqe, 0),
			 -EREMOTEIO);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(cqe.status.s.sc, NVME_SC_INVALID_OPCODE);
	assert_int_equal(unvmf_host_get_log_page(ctrlr, 0x42, 0xffffffff, 0, buf, 512), -EREMOTEIO);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_GET_LOG_PAGE;
	sqe.nsid = 0xffffffff;
	sqe.cdw10 = 0x42 | ((512 / 4 - 1) << 16);
	assert_int_equal(unvmf_host_admin_cmd(ctrlr, &sqe, buf, 512, UNVMF_HOST_DIR_FROM_CTRLR, &cqe,
					      0), -EREMOTEIO);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(cqe.status.s.sc, NVME_SC_INVALID_LOG_PAGE);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_IDENTIFY;
	sqe.cdw10 = 0x55;
	assert_int_equal(unvmf_host_admin_cmd(ctrlr, &sqe, buf, 4096, UNVMF_HOST_DIR_FROM_CTRLR,
					      &cqe, 0), -EREMOTEIO);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_GENERIC);
	assert_int_equal(cqe.status.s.sc, NVME_SC_INVALID_FIELD);
	assert_int_equal(unvmf_host_get_features(ctrlr, 0x77, 0, NULL, 0, NULL), -EREMOTEIO);

	/* Good admin paths still work: logs and features. */
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_HEALTH, 0xffffffff, 0, buf, 512), 0);
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_ERROR, 0xffffffff, 0, buf, 64), 0);
	assert_int_equal(unvmf_host_get_log_page(ctrlr, NVME_LOG_FIRMWARE_SLOT, 0xffffffff, 0, buf,
						 512), 0);
	{
		uint32_t dw0 = 0;

		assert_int_equal(unvmf_host_get_features(ctrlr, NVME_FEAT_VOLATILE_WRITE_CACHE, 0,
							 NULL, 0, &dw0), 0);
		assert_int_equal(dw0, 1);
		assert_int_equal(unvmf_host_set_features(ctrlr, NVME_FEAT_KEEP_ALIVE_TIMER, 15000, 0,
							 NULL, 0, NULL), 0);
		assert_int_equal(unvmf_host_get_features(ctrlr, NVME_FEAT_KEEP_ALIVE_TIMER, 0, NULL, 0,
							 &dw0), 0);
		assert_int_equal(dw0, 15000);
	}
	/* Still healthy after all that. */
	fill(buf, 4096, 9);
	assert_int_equal(e2e_write(qp, 1, 8, 8, buf, 4096), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	free(buf);
}

static void test_keepalive_timeout(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_host_qpair *qp = NULL;
	uint8_t buf[512];
	int rc = 0;

	unvmf_host_opts_init(&opts);
	opts.kato_ms = 1000;
	ctrlr = connect_default(&opts);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	/* No keep alive for 3 s: the target must tear the controller down. */
	sleep(3);
	for (int i = 0; i < 200 && rc >= 0; i++) {
		rc = unvmf_host_qpair_poll(qp, 0);
		usleep(10000);
	}
	assert_true(rc < 0);
	assert_int_not_equal(e2e_read(qp, 1, 0, 1, buf, sizeof(buf)), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	/* And the target still serves a new controller. */
	ctrlr = connect_default(NULL);
	unvmf_host_disconnect(ctrlr);
}

static void test_disconnect_mid_io(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_default(NULL);
	struct unvmf_host_qpair *qp = NULL;
	static uint8_t bufs[32][65536];
	struct e2e_io ios[32];

	assert_int_equal(unvmf_host_qpair_create(ctrlr, 64, &qp, NULL), 0);
	for (int i = 0; i < 32; i++) {
		struct iovec iov = {.iov_base = bufs[i], .iov_len = sizeof(bufs[i])};

		memset(&ios[i], 0, sizeof(ios[i]));
		assert_int_equal(unvmf_host_write(qp, 1, 40000 + i * 128, 128, &iov, 1, e2e_io_cb,
						  &ios[i]), 0);
	}
	unvmf_host_qpair_poll(qp, 1);
	/* Gone with writes in every stage of flight. */
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	ctrlr = connect_default(NULL);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	assert_int_equal(e2e_read(qp, 1, 40000, 128, bufs[0], 65536), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

/* Raw NVMe/TCP: a hostile ICReq is answered with C2HTermReq, and only that connection dies. */
static int raw_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons((uint16_t)atoi(g_tp.port));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static ssize_t raw_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		n = read(fd, (uint8_t *)buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void expect_term_req(int fd, uint16_t fes)
{
	uint8_t buf[256];
	struct nvme_tcp_term_req_hdr *t = (struct nvme_tcp_term_req_hdr *)buf;
	ssize_t n = raw_read_all(fd, buf, sizeof(*t), 5000);

	assert_true(n >= (ssize_t)sizeof(*t));
	assert_int_equal(t->common.pdu_type, NVME_TCP_PDU_TYPE_C2H_TERM_REQ);
	assert_int_equal(t->fes, fes);
	/* Then the target closes. */
	{
		uint8_t rest[512];
		ssize_t m;
		struct pollfd p = {.fd = fd, .events = POLLIN};

		do {
			assert_true(poll(&p, 1, 5000) == 1);
			m = read(fd, rest, sizeof(rest));
		} while (m > 0);
		assert_true(m == 0 || (m < 0 && errno == ECONNRESET));
	}
}

static void test_bad_pdus(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_default(NULL);
	struct unvmf_host_qpair *qp = NULL;
	struct nvme_tcp_ic_req icreq;
	uint8_t buf[4096];
	int fd;

	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);

	/* ICReq with an unknown PFV. */
	fd = raw_connect();
	memset(&icreq, 0, sizeof(icreq));
	icreq.common.pdu_type = NVME_TCP_PDU_TYPE_IC_REQ;
	icreq.common.hlen = sizeof(icreq);
	icreq.common.plen = sizeof(icreq);
	icreq.pfv = 7;
	assert_int_equal(write(fd, &icreq, sizeof(icreq)), sizeof(icreq));
	expect_term_req(fd, NVME_TCP_FES_INVALID_HEADER_FIELD);
	close(fd);

	/* A CapsuleCmd before ICReq. */
	fd = raw_connect();
	memset(buf, 0, sizeof(buf));
	{
		struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)buf;

		cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
		cmd->common.hlen = sizeof(*cmd);
		cmd->common.plen = sizeof(*cmd);
		assert_int_equal(write(fd, cmd, sizeof(*cmd)), sizeof(*cmd));
	}
	expect_term_req(fd, NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	close(fd);

	/* ICReq with a wrong HLEN. */
	fd = raw_connect();
	icreq.pfv = 0;
	icreq.common.hlen = 100;
	assert_int_equal(write(fd, &icreq, sizeof(icreq)), sizeof(icreq));
	expect_term_req(fd, NVME_TCP_FES_INVALID_HEADER_FIELD);
	close(fd);

	/* Garbage: an unknown PDU type after a good ICReq. */
	fd = raw_connect();
	icreq.common.hlen = sizeof(icreq);
	assert_int_equal(write(fd, &icreq, sizeof(icreq)), sizeof(icreq));
	assert_int_equal(raw_read_all(fd, buf, sizeof(struct nvme_tcp_ic_resp), 5000),
			 sizeof(struct nvme_tcp_ic_resp));
	memset(buf, 0, 64);
	buf[0] = 0x33;
	buf[2] = 8;
	buf[4] = 8;
	assert_int_equal(write(fd, buf, 8), 8);
	expect_term_req(fd, NVME_TCP_FES_INVALID_HEADER_FIELD);
	close(fd);

	/* The well-behaved connection never noticed. */
	fill(buf, 4096, 3);
	assert_int_equal(e2e_write(qp, 1, 16, 8, buf, 4096), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

/*
 * After a normal shutdown (CC.SHN) the host owes no keep-alives: the target
 * must not expire the controller while the host takes its time to leave
 * (the interop rig caught this on RDMA, where teardown is slow).
 */
static void test_no_keepalive_expiry_after_shutdown(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr;
	union nvme_cc_register cc;
	union nvme_csts_register csts;
	uint64_t v = 0;

	unvmf_host_opts_init(&opts);
	opts.kato_ms = 1000;
	ctrlr = connect_default(&opts);
	assert_int_equal(unvmf_host_property_get(ctrlr, NVME_REG_CC, false, &v), 0);
	cc.raw = (uint32_t)v;
	cc.bits.shn = NVME_SHN_NORMAL;
	assert_int_equal(unvmf_host_property_set(ctrlr, NVME_REG_CC, false, cc.raw), 0);
	assert_int_equal(unvmf_host_property_get(ctrlr, NVME_REG_CSTS, false, &v), 0);
	csts.raw = (uint32_t)v;
	assert_int_equal(csts.bits.shst, NVME_SHST_COMPLETE);
	/* Three keep-alive periods with no keep-alive: the queue must still answer. */
	sleep(3);
	assert_int_equal(unvmf_host_property_get(ctrlr, NVME_REG_CSTS, false, &v), 0);
	unvmf_host_disconnect(ctrlr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_read_write_sizes),
		cmocka_unit_test(test_many_qpairs),
		cmocka_unit_test(test_bad_connect),
		cmocka_unit_test(test_bad_commands),
		cmocka_unit_test(test_bad_pdus),
		cmocka_unit_test(test_disconnect_mid_io),
		cmocka_unit_test(test_keepalive_timeout),
		cmocka_unit_test(test_no_keepalive_expiry_after_shutdown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
