/*
 * C2HData SUCCESS and SQ flow control. By default (NVMe/TCP's rule) a host
 * that keeps SQ flow control gets a CapsuleResp with SQHD after every read.
 * With the transport's c2h_success_sq_flow_control (what SPDK's target does)
 * reads end with SUCCESS also for such hosts, as SPDK's and Linux's hosts
 * are, yet they still get SQHD: a CapsuleResp at least once per quarter of
 * the queue, with a head that accounts for every command since the previous
 * one. And many capsules sent in one segment are all answered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "raw_tcp_host.h"
#include "tgt_proc.h"
#include "unvmf/host.h"
#include "unvmf/nvme_tcp_spec.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5b"

static struct tgt_proc g_tp;      /* c2h_success_sq_flow_control on */
static struct tgt_proc g_tp_spec; /* the default: SUCCESS only without flow control */

static int group_setup(void **state)
{
	if (tgt_proc_start_or_dump(&g_tp_spec, NULL))
		return -1;
	return tgt_proc_start_config(
	    &g_tp, NULL,
	    "{\"subsystems\": [\n"
	    " {\"subsystem\": \"bdev\", \"config\": [\n"
	    "  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", "
	    "\"num_blocks\": 65536, \"block_size\": 512}}]},\n"
	    " {\"subsystem\": \"nvmf\", \"config\": [\n"
	    "  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\", "
	    "\"c2h_success_sq_flow_control\": true}},\n"
	    "  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", "
	    "\"allow_any_host\": true}},\n"
	    "  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", "
	    "\"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
	    "  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", "
	    "\"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": "
	    "\"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
	    SUBNQN, SUBNQN, SUBNQN);
}

static int group_teardown(void **state)
{
	int a = tgt_proc_finish(&g_tp, 20), b = tgt_proc_finish(&g_tp_spec, 20);

	return a ? a : b;
}

/* An admin queue and one I/O queue of sq entries with SQ flow control on (CATTR 0). */
static void queues_open_to(const struct tgt_proc *tp, struct raw_tcp_host *admin,
                           struct raw_tcp_host *io, uint16_t sq)
{
	assert_int_equal(raw_tcp_host_open(admin, tp->port), 0);
	assert_int_equal(raw_tcp_host_connect(admin, 0, 32, SUBNQN, HOSTNQN), 0);
	assert_int_equal(raw_tcp_host_enable(admin), 0);
	assert_int_equal(raw_tcp_host_open(io, tp->port), 0);
	io->cntlid = admin->cntlid;
	assert_int_equal(raw_tcp_host_connect(io, 1, sq, SUBNQN, HOSTNQN), 0);
}

static void queues_open(struct raw_tcp_host *admin, struct raw_tcp_host *io, uint16_t sq)
{
	queues_open_to(&g_tp, admin, io, sq);
}

/* The default follows NVMe/TCP: with flow control on, every read gets its CapsuleResp. */
static void test_default_resp_with_sq_flow_control(void **state)
{
	struct raw_tcp_host admin, io;
	uint8_t buf[512];
	int last_sqhd = -1;

	queues_open_to(&g_tp_spec, &admin, &io, 32);
	for (int i = 0; i < 20; i++) {
		struct nvme_sqe sqe = {.opc = NVME_OPC_READ, .nsid = 1, .cdw10 = (uint32_t)i};
		struct raw_tcp_result r;

		assert_int_equal(
		    raw_tcp_host_exec_c2h(&io, &sqe, sizeof(buf), buf, sizeof(buf), &r), 0);
		assert_int_equal(r.c2h_bytes, sizeof(buf));
		assert_false(r.success);
		/* One step per command: nothing went unreported. */
		if (last_sqhd >= 0)
			assert_int_equal(r.cqe.sqhd, (last_sqhd + 1) % 32);
		last_sqhd = r.cqe.sqhd;
	}
	raw_tcp_host_close(&io);
	raw_tcp_host_close(&admin);
}

/* Reads one after the other: most end with SUCCESS, every 8th (32 / 4) with SQHD. */
static void test_success_with_sq_flow_control(void **state)
{
	enum { SQ = 32, READS = 80, EVERY = SQ / 4 };
	struct raw_tcp_host admin, io;
	uint8_t buf[512];
	int success = 0, rsps = 0, in_a_row = 0, max_in_a_row = 0, since_rsp = 0;
	int last_sqhd = -1;

	queues_open(&admin, &io, SQ);
	for (int i = 0; i < READS; i++) {
		struct nvme_sqe sqe = {.opc = NVME_OPC_READ, .nsid = 1, .cdw10 = (uint32_t)i};
		struct raw_tcp_result r;

		assert_int_equal(
		    raw_tcp_host_exec_c2h(&io, &sqe, sizeof(buf), buf, sizeof(buf), &r), 0);
		assert_int_equal(r.c2h_bytes, sizeof(buf));
		assert_int_equal(r.cqe.status.raw >> 1, 0);
		since_rsp++;
		if (r.success) {
			success++;
			in_a_row++;
			max_in_a_row = in_a_row > max_in_a_row ? in_a_row : max_in_a_row;
			continue;
		}
		rsps++;
		in_a_row = 0;
		/* The head moved by every command since the last CQE, the skipped ones included. */
		assert_int_not_equal(r.cqe.sqhd, 0xffff);
		if (last_sqhd >= 0)
			assert_int_equal(r.cqe.sqhd, (last_sqhd + since_rsp) % SQ);
		last_sqhd = r.cqe.sqhd;
		since_rsp = 0;
	}
	assert_int_equal(max_in_a_row, EVERY - 1);
	assert_int_equal(rsps, READS / EVERY);
	assert_int_equal(success, READS - READS / EVERY);
	raw_tcp_host_close(&io);
	raw_tcp_host_close(&admin);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * 96 read capsules in one write (one segment on loopback): the target takes
 * them from one receive and answers every one, each exactly once.
 */
static void test_many_capsules_in_one_segment(void **state)
{
	enum { SQ = 128, N = 96 };
	struct raw_tcp_host admin, io;
	static struct nvme_tcp_cmd cmds[N];
	int done[N] = {0}, completed = 0, rsps = 0;
	uint8_t data[512];

	queues_open(&admin, &io, SQ);
	for (int i = 0; i < N; i++) {
		struct nvme_tcp_cmd *c = &cmds[i];

		memset(c, 0, sizeof(*c));
		c->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
		c->common.hlen = sizeof(*c);
		c->common.plen = sizeof(*c);
		c->ccsqe.opc = NVME_OPC_READ;
		c->ccsqe.nsid = 1;
		c->ccsqe.cid = (uint16_t)(1000 + i);
		c->ccsqe.cdw10 = (uint32_t)i;
		c->ccsqe.psdt = NVME_PSDT_SGL_MPTR_CONTIG;
		c->ccsqe.dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK;
		c->ccsqe.dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_TRANSPORT;
		c->ccsqe.dptr.sgl1.unkeyed.length = sizeof(data);
	}
	assert_int_equal(write_all(io.fd, cmds, sizeof(cmds)), 0);
	while (completed < N) {
		union {
			struct nvme_tcp_common_pdu_hdr ch;
			struct nvme_tcp_rsp rsp;
			struct nvme_tcp_c2h_data_hdr c2h;
		} h;
		uint16_t cid;

		assert_int_equal(read_all(io.fd, &h.ch, sizeof(h.ch)), 0);
		assert_true(h.ch.hlen >= sizeof(h.ch) && h.ch.hlen <= sizeof(h));
		assert_int_equal(
		    read_all(io.fd, (uint8_t *)&h + sizeof(h.ch), h.ch.hlen - sizeof(h.ch)), 0);
		if (h.ch.pdu_type == NVME_TCP_PDU_TYPE_C2H_DATA) {
			assert_int_equal(h.c2h.datal, sizeof(data));
			assert_int_equal(h.ch.pdo, h.ch.hlen);
			assert_int_equal(read_all(io.fd, data, sizeof(data)), 0);
			if (!(h.ch.flags & NVME_TCP_C2H_DATA_FLAGS_SUCCESS))
				continue;
			cid = h.c2h.cccid;
		} else {
			assert_int_equal(h.ch.pdu_type, NVME_TCP_PDU_TYPE_CAPSULE_RESP);
			assert_int_equal(h.rsp.rccqe.status.raw >> 1, 0);
			cid = h.rsp.rccqe.cid;
			rsps++;
		}
		assert_true(cid >= 1000 && cid < 1000 + N);
		assert_int_equal(done[cid - 1000], 0);
		done[cid - 1000] = 1;
		completed++;
	}
	/* One CapsuleResp (SQHD) per 32 reads of a 128-entry queue. */
	assert_int_equal(rsps, N / (SQ / 4));
	raw_tcp_host_close(&io);
	raw_tcp_host_close(&admin);
}

/* The host library with SQ flow control on reads back what it wrote through the mixed answers. */
static void test_host_library_mixed_completions(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_host_error err;
	struct unvmf_host_opts o;
	struct unvmf_trid trid;
	uint8_t *wbuf = malloc(4096), *rbuf = malloc(4096);

	assert_non_null(wbuf);
	assert_non_null(rbuf);
	unvmf_host_opts_init(&o);
	o.disable_sq_flow_control = false;
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &o, &ctrlr, &err), 0);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 8, &qp, NULL), 0);
	for (int i = 0; i < 40; i++) {
		memset(wbuf, 0x40 + i, 4096);
		assert_int_equal(e2e_write(qp, 1, 4096 + (uint64_t)i * 8, 8, wbuf, 4096), 0);
		memset(rbuf, 0, 4096);
		assert_int_equal(e2e_read(qp, 1, 4096 + (uint64_t)i * 8, 8, rbuf, 4096), 0);
		assert_memory_equal(rbuf, wbuf, 4096);
	}
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	free(wbuf);
	free(rbuf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_resp_with_sq_flow_control),
	    cmocka_unit_test(test_success_with_sq_flow_control),
	    cmocka_unit_test(test_many_capsules_in_one_segment),
	    cmocka_unit_test(test_host_library_mixed_completions),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
