/*
 * Limits a host must earn, over TCP on loopback, each with its counter in
 * nvmf_get_stats: a connection that never sends ICReq is closed after
 * icreq_timeout_ms; one that sends ICReq but never Connect after
 * connect_timeout_ms; a Connect asking a KATO above max_kato_ms is refused,
 * and a KATO 0 controller left idle is reclaimed after max_kato_ms; a host
 * beyond max_qpairs_per_host and a poll group beyond max_qpairs_per_group
 * get Controller Busy; capsules beyond the queue size end the connection
 * with C2HTermReq (PDU sequence error). A bystander host keeps doing I/O
 * through all of it.
 *
 * The target runs one reactor so the per-group limit counts every qpair.
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
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"
#include "unvmf/nvme_tcp_spec.h"
#include "unvmf/nvmf_spec.h"

#define SUBNQN "nqn.2024-11.io.unvmf:limits"
#define HOST_BYSTANDER "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000000b"
#define HOST_A "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000000a"
#define HOST_C "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000000c"
#define ICREQ_TIMEOUT_MS 400
#define CONNECT_TIMEOUT_MS 400
#define MAX_KATO_MS 4000
/* Raw admin queues send no Keep Alive: each test ends well within this. */
#define RAW_KATO_MS MAX_KATO_MS
#define MAX_QPAIRS_PER_HOST 3
#define MAX_QPAIRS_PER_GROUP 6
/* Generous: the limits fire within a fraction of this on any machine. */
#define CLOSE_BOUND_MS 15000

static struct tgt_proc g_tp;
static struct rpc_conn g_c;
static struct unvmf_host_ctrlr *g_by_ctrlr;
static struct unvmf_host_qpair *g_by_qp;

/* ---- counters ---- */

/* Sum over poll groups of a counter: "limits.x" in the group, or "tcp.a[.b]" in its TCP part. */
static long long stat_get(const char *path)
{
	json_t *resp = rpc_call(&g_c, "nvmf_get_stats", NULL), *g;
	long long sum = 0;
	size_t i;

	assert_non_null(resp);
	assert_int_equal(rpc_resp_code(resp), 0);
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "poll_groups"), i, g)
	{
		char buf[96], *part, *save = NULL;
		json_t *v;

		snprintf(buf, sizeof(buf), "%s", path);
		part = strtok_r(buf, ".", &save);
		if (strcmp(part, "tcp") == 0) {
			v = json_array_get(json_object_get(g, "transports"), 0);
			part = strtok_r(NULL, ".", &save);
		} else {
			v = g;
		}
		for (; part; part = strtok_r(NULL, ".", &save))
			v = json_object_get(v, part);
		/* Some maps list only what happened (c2h_term_sent): absent is 0. */
		assert_true(!v || json_is_integer(v));
		sum += v ? json_integer_value(v) : 0;
	}
	json_decref(resp);
	return sum;
}

/* ---- the bystander: a host library controller doing I/O throughout ---- */

static void bystander_io(void)
{
	static uint8_t buf[4096];

	memset(buf, 0xb7, sizeof(buf));
	assert_int_equal(e2e_write(g_by_qp, 1, 8, 1, buf, sizeof(buf)), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(e2e_read(g_by_qp, 1, 8, 1, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 0xb7);
	assert_int_equal(buf[4095], 0xb7);
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

static int raw_icreq(void)
{
	struct nvme_tcp_ic_req ic;
	struct nvme_tcp_ic_resp resp;
	int fd = raw_connect();

	memset(&ic, 0, sizeof(ic));
	ic.common.pdu_type = NVME_TCP_PDU_TYPE_IC_REQ;
	ic.common.hlen = sizeof(ic);
	ic.common.plen = sizeof(ic);
	raw_write(fd, &ic, sizeof(ic));
	raw_read(fd, &resp, sizeof(resp));
	assert_int_equal(resp.common.pdu_type, NVME_TCP_PDU_TYPE_IC_RESP);
	return fd;
}

/* One CapsuleCmd without digests, data in-capsule (len may be 0). */
static void raw_send_capsule(int fd, const struct nvme_sqe *sqe, const void *data, uint32_t len)
{
	static uint8_t b[sizeof(struct nvme_tcp_cmd) + 4096];
	struct nvme_tcp_cmd *cmd = (struct nvme_tcp_cmd *)b;

	assert_true(len <= 4096);
	memset(b, 0, sizeof(*cmd));
	cmd->common.pdu_type = NVME_TCP_PDU_TYPE_CAPSULE_CMD;
	cmd->common.hlen = sizeof(*cmd);
	cmd->common.pdo = (uint8_t)(len ? sizeof(*cmd) : 0);
	cmd->common.plen = sizeof(*cmd) + len;
	memcpy(&cmd->ccsqe, sqe, sizeof(*sqe));
	if (len)
		memcpy(b + sizeof(*cmd), data, len);
	raw_write(fd, b, cmd->common.plen);
}

static struct nvme_cqe raw_read_rsp(int fd)
{
	struct nvme_tcp_rsp rsp;

	raw_read(fd, &rsp, sizeof(rsp));
	assert_int_equal(rsp.common.pdu_type, NVME_TCP_PDU_TYPE_CAPSULE_RESP);
	return rsp.rccqe;
}

/* Fabrics Connect; returns the completion. */
static struct nvme_cqe raw_fabric_connect(int fd, const char *hostnqn, uint16_t qid,
                                          uint16_t cntlid, uint16_t sqsize, uint32_t kato)
{
	struct nvmf_connect_cmd cmd;
	struct nvmf_connect_data d;
	struct nvme_cqe cqe;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.cid = 1;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.qid = qid;
	cmd.sqsize = sqsize;
	cmd.kato = kato;
	cmd.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
	cmd.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	cmd.sgl1.unkeyed.length = sizeof(d);
	memset(&d, 0, sizeof(d));
	d.cntlid = cntlid;
	d.hostid[0] = 1;
	strcpy(d.subnqn, SUBNQN);
	strcpy(d.hostnqn, hostnqn);
	raw_send_capsule(fd, (const struct nvme_sqe *)&cmd, &d, sizeof(d));
	cqe = raw_read_rsp(fd);
	assert_int_equal(cqe.cid, 1);
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
	raw_send_capsule(fd, &sqe, NULL, 0);
	cqe = raw_read_rsp(fd);
	assert_int_equal(cqe.cid, cid);
	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	return cqe.cdw0 | (uint64_t)cqe.cdw1 << 32;
}

/* A raw admin queue of hostnqn brought to CSTS.RDY; returns its fd, *cntlid the controller. */
static int raw_admin(const char *hostnqn, uint16_t sqsize, uint32_t kato, uint16_t *cntlid)
{
	int fd = raw_icreq();
	struct nvme_cqe cqe = raw_fabric_connect(fd, hostnqn, 0, 0xffff, sqsize, kato);
	uint16_t cid = 2;

	assert_int_equal(cqe.status.raw & 0xfffe, 0);
	*cntlid = (uint16_t)cqe.cdw0;
	raw_property(fd, true, NVME_REG_CC, (6u << 16) | (4u << 20) | 1u, cid++);
	for (int i = 0; i < 500; i++) {
		if (raw_property(fd, false, NVME_REG_CSTS, 0, cid++) & 1)
			return fd;
		usleep(10000);
	}
	fail_msg("CSTS.RDY not set");
	return -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Waits until the target closes fd (EOF or reset), keeping the bystander
 * busy meanwhile; the data read on the way is dropped. Fails past
 * CLOSE_BOUND_MS.
 */
static void expect_closed(int fd)
{
	uint64_t end = now_ms() + CLOSE_BOUND_MS;
	uint8_t b[256];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n;

		assert_true(now_ms() < end);
		n = poll(&p, 1, 100);
		if (n == 1) {
			ssize_t m = read(fd, b, sizeof(b));

			if (m == 0 || (m < 0 && errno == ECONNRESET))
				break;
			assert_true(m > 0);
		}
		bystander_io();
	}
	close(fd);
}

/* Polls a counter until it reaches want (connections end asynchronously); the bystander works on.
 */
static long long wait_stat(const char *path, long long want)
{
	long long v = 0;

	for (int i = 0; i < 500; i++) {
		v = stat_get(path);
		if (v >= want)
			break;
		bystander_io();
		usleep(10000);
	}
	return v;
}

static long long connected_qpairs(void)
{
	return stat_get("current_admin_qpairs") + stat_get("current_io_qpairs");
}

/* ---- tests ---- */

static void test_no_icreq_closed(void **state)
{
	long long ended0 = stat_get("tcp.conns_ended.icreq_timeout");
	int fd = raw_connect();

	(void)state;
	expect_closed(fd);
	assert_int_equal(wait_stat("tcp.conns_ended.icreq_timeout", ended0 + 1), ended0 + 1);
	bystander_io();
}

static void test_icreq_without_connect_closed(void **state)
{
	long long ended0 = stat_get("tcp.conns_ended.connect_timeout");
	long long core0 = stat_get("limits.connect_timeouts");
	int fd = raw_icreq();

	(void)state;
	expect_closed(fd);
	assert_int_equal(wait_stat("tcp.conns_ended.connect_timeout", ended0 + 1), ended0 + 1);
	assert_int_equal(stat_get("limits.connect_timeouts"), core0 + 1);
	bystander_io();
}

static void test_kato_above_max_refused(void **state)
{
	long long refused0 = stat_get("limits.connect_refused_kato");
	int fd = raw_icreq();
	struct nvme_cqe cqe = raw_fabric_connect(fd, HOST_A, 0, 0xffff, 31, MAX_KATO_MS + 1000);

	(void)state;
	assert_int_equal(cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(cqe.status.s.sc, NVMF_SC_INVALID_PARAM);
	assert_int_equal(cqe.status.s.dnr, 1);
	/* IPO names the KATO field of the Connect command. */
	assert_int_equal(cqe.cdw0 >> 16, offsetof(struct nvmf_connect_cmd, kato));
	assert_int_equal(stat_get("limits.connect_refused_kato"), refused0 + 1);
	close(fd);
	bystander_io();
}

static void test_kato_zero_idle_reclaimed(void **state)
{
	long long reclaimed0 = stat_get("limits.kato_zero_reclaims");
	long long ka0 = stat_get("tcp.conns_ended.keep_alive_timeout");
	uint16_t cntlid;
	int fd = raw_admin(HOST_A, 31, 0, &cntlid);

	(void)state;
	/* Keep-alive disabled, no I/O: reclaimed after MAX_KATO_MS idle. */
	expect_closed(fd);
	assert_int_equal(wait_stat("limits.kato_zero_reclaims", reclaimed0 + 1), reclaimed0 + 1);
	assert_int_equal(wait_stat("tcp.conns_ended.keep_alive_timeout", ka0 + 1), ka0 + 1);
	/* The bystander, also KATO 0 but busy, has lived through it. */
	bystander_io();
}

/* Host A takes its MAX_QPAIRS_PER_HOST qpairs; the next Connect is Controller Busy. */
static void test_host_qpair_limit(void **state)
{
	long long refused0 = stat_get("limits.connect_refused_host_limit");
	int fds[MAX_QPAIRS_PER_HOST], extra;
	uint16_t cntlid;
	struct nvme_cqe cqe;
	bool again = false;

	(void)state;
	fds[0] = raw_admin(HOST_A, 31, RAW_KATO_MS, &cntlid);
	for (int q = 1; q < MAX_QPAIRS_PER_HOST; q++) {
		fds[q] = raw_icreq();
		cqe = raw_fabric_connect(fds[q], HOST_A, (uint16_t)q, cntlid, 15, 0);
		assert_int_equal(cqe.status.raw & 0xfffe, 0);
	}
	extra = raw_icreq();
	cqe = raw_fabric_connect(extra, HOST_A, MAX_QPAIRS_PER_HOST, cntlid, 15, 0);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(cqe.status.s.sc, NVMF_SC_CONTROLLER_BUSY);
	assert_int_equal(cqe.status.s.dnr, 1);
	assert_int_equal(stat_get("limits.connect_refused_host_limit"), refused0 + 1);
	close(extra);
	bystander_io();

	/* The count is live: once an I/O queue goes, its place can be taken again. */
	close(fds[1]);
	for (int i = 0; i < 500 && !again; i++) {
		extra = raw_icreq();
		cqe = raw_fabric_connect(extra, HOST_A, 1, cntlid, 15, 0);
		again = (cqe.status.raw & 0xfffe) == 0;
		if (!again) {
			close(extra);
			bystander_io();
		}
	}
	assert_true(again);
	close(extra);
	for (int q = 0; q < MAX_QPAIRS_PER_HOST; q++) {
		if (q != 1)
			close(fds[q]);
	}
	bystander_io();
}

/*
 * The one poll group holds the bystander's 2 qpairs; host A fills its 3, host
 * C takes one more (6): host C's next Connect finds the group full.
 */
static void test_group_qpair_limit(void **state)
{
	long long refused0 = stat_get("limits.connect_refused_group_limit");
	int fds[MAX_QPAIRS_PER_HOST], cfd, extra;
	uint16_t cntlid, ccntlid;
	struct nvme_cqe cqe;

	(void)state;
	/* Earlier tests' connections are closing: wait until only the bystander's remain. */
	for (int i = 0; i < 500 && connected_qpairs() > 2; i++)
		bystander_io();
	assert_int_equal(connected_qpairs(), 2);
	fds[0] = raw_admin(HOST_A, 31, RAW_KATO_MS, &cntlid);
	for (int q = 1; q < MAX_QPAIRS_PER_HOST; q++) {
		fds[q] = raw_icreq();
		cqe = raw_fabric_connect(fds[q], HOST_A, (uint16_t)q, cntlid, 15, 0);
		assert_int_equal(cqe.status.raw & 0xfffe, 0);
	}
	cfd = raw_admin(HOST_C, 31, RAW_KATO_MS, &ccntlid);
	extra = raw_icreq();
	cqe = raw_fabric_connect(extra, HOST_C, 1, ccntlid, 15, 0);
	assert_int_equal(cqe.status.s.sct, NVME_SCT_COMMAND_SPECIFIC);
	assert_int_equal(cqe.status.s.sc, NVMF_SC_CONTROLLER_BUSY);
	assert_int_equal(cqe.status.s.dnr, 1);
	assert_int_equal(stat_get("limits.connect_refused_group_limit"), refused0 + 1);
	close(extra);
	close(cfd);
	for (int q = 0; q < MAX_QPAIRS_PER_HOST; q++)
		close(fds[q]);
	bystander_io();
}

/*
 * An admin queue of 2 entries: two Asynchronous Event Requests stay
 * outstanding, so a third command is beyond the queue size and ends the
 * connection with C2HTermReq, FES PDU sequence error.
 */
static void test_capsules_beyond_queue_size(void **state)
{
	long long over0 = stat_get("tcp.sq_overflows");
	long long term0 = stat_get("tcp.c2h_term_sent.pdu_sequence_error");
	struct nvme_tcp_term_req_hdr term;
	struct nvme_sqe sqe;
	uint16_t cntlid;
	int fd = raw_admin(HOST_A, 1, RAW_KATO_MS, &cntlid);

	(void)state;
	for (uint16_t cid = 100; cid < 103; cid++) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opc = NVME_OPC_ASYNC_EVENT_REQUEST;
		sqe.cid = cid;
		raw_send_capsule(fd, &sqe, NULL, 0);
	}
	raw_read(fd, &term, sizeof(term));
	assert_int_equal(term.common.pdu_type, NVME_TCP_PDU_TYPE_C2H_TERM_REQ);
	assert_int_equal(term.fes, NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	expect_closed(fd);
	assert_int_equal(wait_stat("tcp.sq_overflows", over0 + 1), over0 + 1);
	assert_int_equal(stat_get("tcp.c2h_term_sent.pdu_sequence_error"), term0 + 1);
	bystander_io();
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x1", NULL};
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;

	(void)state;
	if (tgt_proc_start_config(
	        &g_tp, args,
	        "{\"subsystems\": [\n"
	        " {\"subsystem\": \"bdev\", \"config\": [\n"
	        "  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", "
	        "\"num_blocks\": 1024, \"block_size\": 4096}}]},\n"
	        " {\"subsystem\": \"nvmf\", \"config\": [\n"
	        "  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\", "
	        "\"icreq_timeout_ms\": %d, \"connect_timeout_ms\": %d, \"max_kato_ms\": %d, "
	        "\"max_qpairs_per_host\": %d, \"max_qpairs_per_group\": %d}},\n"
	        "  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", "
	        "\"allow_any_host\": true}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", "
	        "\"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", "
	        "\"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": "
	        "\"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
	        ICREQ_TIMEOUT_MS, CONNECT_TIMEOUT_MS, MAX_KATO_MS, MAX_QPAIRS_PER_HOST,
	        MAX_QPAIRS_PER_GROUP, SUBNQN, SUBNQN, SUBNQN))
		return -1;
	if (rpc_conn_open(&g_c, g_tp.rpc_sock))
		return -1;
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	unvmf_host_opts_init(&opts);
	strcpy(opts.hostnqn, HOST_BYSTANDER);
	opts.kato_ms = 0;
	opts.connect_timeout_ms = 3000;
	opts.admin_timeout_ms = 3000;
	if (unvmf_host_connect(&trid, &opts, &g_by_ctrlr, NULL))
		return -1;
	return unvmf_host_qpair_create(g_by_ctrlr, 16, &g_by_qp, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	if (g_by_qp)
		unvmf_host_qpair_destroy(g_by_qp);
	if (g_by_ctrlr)
		unvmf_host_disconnect(g_by_ctrlr);
	rpc_conn_close(&g_c);
	return tgt_proc_finish(&g_tp, 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_icreq_closed),
	    cmocka_unit_test(test_icreq_without_connect_closed),
	    cmocka_unit_test(test_kato_above_max_refused),
	    cmocka_unit_test(test_kato_zero_idle_reclaimed),
	    cmocka_unit_test(test_host_qpair_limit),
	    cmocka_unit_test(test_group_qpair_limit),
	    cmocka_unit_test(test_capsules_beyond_queue_size),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
