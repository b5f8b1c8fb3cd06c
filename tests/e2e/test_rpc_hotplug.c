/*
 * Runtime reconfiguration through RPC while hosts are connected: namespace
 * hot-add/remove during unvmf-perf on another namespace (no I/O error there),
 * the Namespace Attribute Changed event and changed-namespace log, the
 * Discovery Log Page Change event on a persistent discovery controller, and removal
 * of a listener, a host or a whole subsystem disconnecting only the affected
 * qpairs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "tool_proc.h"
#include "unvmf/host.h"
#include "util/common.h"

#define DEFAULT_NQN "nqn.2024-11.io.unvmf:default"
#define NQN1 "nqn.2016-06.io.spdk:cnode1"
#define HOST1 "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define HOST2 "nqn.2014-08.org.nvmexpress:uuid:22222222-2222-3333-4444-555555555555"
#define NQN2 "nqn.2016-06.io.spdk:cnode2"

static struct tgt_proc g_tp;
static struct rpc_conn g_c;
static char g_port2[16];

static void ok(const char *method, json_t *params)
{
	json_t *resp = rpc_call(&g_c, method, params);

	assert_non_null(resp);
	if (rpc_resp_code(resp))
		fail_msg("%s: %s", method, rpc_resp_message(resp));
	json_decref(resp);
}

static int group_setup(void **state)
{
	const char *args[] = {"-m", "0x3", NULL};

	if (tgt_proc_start_or_dump(&g_tp, args))
		return -1;
	snprintf(g_port2, sizeof(g_port2), "%d", tgt_proc_free_port());
	return rpc_conn_open(&g_c, g_tp.rpc_sock);
}

static int group_teardown(void **state)
{
	rpc_conn_close(&g_c);
	return tgt_proc_finish(&g_tp, 20);
}

static void test_ns_hotplug_during_perf(void **state)
{
	char trid[256];
	const char *args[] = {"-r", trid, "-q", "16", "-o", "4096", "-w", "randrw", "-t", "4", "-c",
	                      "0x1", "-P", "2", "--nsid", "1", "--verify", NULL};
	struct tool_proc perf;
	int rc;

	ok("bdev_malloc_create",
	   json_pack("{s:s, s:i, s:i}", "name", "Hot", "num_blocks", 8192, "block_size", 512));
	snprintf(trid, sizeof(trid), "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:%s subnqn:%s",
	         g_tp.port, DEFAULT_NQN);
	assert_int_equal(tool_proc_spawn(&perf, "unvmf-perf", args), 0);
	usleep(300000);
	/* Namespace 2 comes and goes while namespace 1 is under verified I/O. */
	for (int i = 0; i < 25; i++) {
		ok("nvmf_subsystem_add_ns", json_pack("{s:s, s:{s:s, s:i}}", "nqn", DEFAULT_NQN,
		                                      "namespace", "bdev_name", "Hot", "nsid", 2));
		usleep(20000);
		ok("nvmf_subsystem_remove_ns",
		   json_pack("{s:s, s:i}", "nqn", DEFAULT_NQN, "nsid", 2));
		usleep(20000);
	}
	rc = tool_proc_wait(&perf, 15);
	if (rc != 0) {
		char *out = tool_proc_stdout(&perf), *err = tool_proc_stderr(&perf);

		fail_msg("unvmf-perf failed during namespace hotplug (status %d):\n%s%s", rc,
		         out ? out : "", err ? err : "");
	}
	tool_proc_cleanup(&perf);
	/* The bdev is free again. */
	ok("bdev_malloc_delete", json_pack("{s:s}", "name", "Hot"));
}

static void aer_cb(void *arg, const struct nvme_cqe *cqe)
{
	struct e2e_io *io = arg;

	io->cqe = *cqe;
	io->done = 1;
}

static int wait_aer(struct unvmf_host_ctrlr *ctrlr, struct e2e_io *io)
{
	for (int i = 0; i < 500 && !io->done; i++) {
		unvmf_host_admin_poll(ctrlr);
		usleep(10000);
	}
	return io->done ? 0 : -1;
}

static void test_ns_change_event(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_trid trid;
	struct e2e_io io = {0};
	uint32_t changed[1024], active[1024];

	ok("bdev_null_create",
	   json_pack("{s:s, s:i, s:i}", "name", "Ev", "num_blocks", 1024, "block_size", 512));
	tgt_proc_trid(&g_tp, DEFAULT_NQN, &trid);
	unvmf_host_opts_init(&opts);
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	/* Namespace attribute notices on. */
	assert_int_equal(unvmf_host_set_features(ctrlr, 0x0b, 1u << 8, 0, NULL, 0, NULL), 0);
	assert_int_equal(unvmf_host_aer_submit(ctrlr, aer_cb, &io), 0);

	ok("nvmf_subsystem_add_ns", json_pack("{s:s, s:{s:s, s:i}}", "nqn", DEFAULT_NQN,
	                                      "namespace", "bdev_name", "Ev", "nsid", 9));
	assert_int_equal(wait_aer(ctrlr, &io), 0);
	assert_int_equal(io.cqe.cdw0 & 0x7, 2);             /* notice */
	assert_int_equal((io.cqe.cdw0 >> 8) & 0xff, 0);     /* namespace attribute changed */
	assert_int_equal((io.cqe.cdw0 >> 16) & 0xff, 0x04); /* changed namespace list */
	memset(changed, 0, sizeof(changed));
	assert_int_equal(
	    unvmf_host_get_log_page(ctrlr, 0x04, 0xffffffff, 0, changed, sizeof(changed)), 0);
	assert_int_equal(changed[0], 9);
	assert_int_equal(unvmf_host_identify_active_ns_list(ctrlr, 0, active), 0);
	assert_int_equal(active[0], 1);
	assert_int_equal(active[1], 9);

	/* Removal raises it again (the log was read, so the event is unmasked). */
	memset(&io, 0, sizeof(io));
	assert_int_equal(unvmf_host_aer_submit(ctrlr, aer_cb, &io), 0);
	ok("nvmf_subsystem_remove_ns", json_pack("{s:s, s:i}", "nqn", DEFAULT_NQN, "nsid", 9));
	assert_int_equal(wait_aer(ctrlr, &io), 0);
	assert_int_equal((io.cqe.cdw0 >> 16) & 0xff, 0x04);
	memset(changed, 0, sizeof(changed));
	assert_int_equal(
	    unvmf_host_get_log_page(ctrlr, 0x04, 0xffffffff, 0, changed, sizeof(changed)), 0);
	assert_int_equal(changed[0], 9);
	assert_int_equal(unvmf_host_identify_active_ns_list(ctrlr, 0, active), 0);
	assert_int_equal(active[0], 1);
	assert_int_equal(active[1], 0);
	unvmf_host_disconnect(ctrlr);
	ok("bdev_null_delete", json_pack("{s:s}", "name", "Ev"));
}

static uint64_t discovery_genctr(struct unvmf_host_ctrlr *ctrlr)
{
	struct nvmf_discovery_log_header hdr;

	assert_int_equal(unvmf_host_get_log_page(ctrlr, 0x70, 0, 0, &hdr, sizeof(hdr)), 0);
	return hdr.genctr;
}

/* A discovery controller kept connected hears of each change once per log read. */
static void test_discovery_change_event(void **state)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr;
	struct unvmf_trid trid;
	struct nvme_id_ctrl cd;
	struct e2e_io io = {0};
	const char *nqn3 = "nqn.2016-06.io.spdk:cnode-disc-aen";
	uint64_t gen0, gen1;

	tgt_proc_trid(&g_tp, "nqn.2014-08.org.nvmexpress.discovery", &trid);
	unvmf_host_opts_init(&opts);
	opts.kato_ms = 30000;
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_identify_ctrlr(ctrlr, &cd), 0);
	assert_int_equal(cd.cntrltype, 2);
	assert_true(cd.oaes & (1u << 31));
	/* Discovery Log Page Change notices on. */
	assert_int_equal(unvmf_host_set_features(ctrlr, 0x0b, 1u << 31, 0, NULL, 0, NULL), 0);
	gen0 = discovery_genctr(ctrlr);
	assert_int_equal(unvmf_host_aer_submit(ctrlr, aer_cb, &io), 0);

	ok("nvmf_create_subsystem", json_pack("{s:s, s:b}", "nqn", nqn3, "allow_any_host", 1));
	assert_int_equal(wait_aer(ctrlr, &io), 0);
	assert_int_equal(io.cqe.cdw0 & 0x7, 2);             /* notice */
	assert_int_equal((io.cqe.cdw0 >> 8) & 0xff, 0xf0);  /* discovery log page change */
	assert_int_equal((io.cqe.cdw0 >> 16) & 0xff, 0x70); /* discovery log */

	/* Not read yet: a second change raises nothing (masked until the log is read). */
	memset(&io, 0, sizeof(io));
	assert_int_equal(unvmf_host_aer_submit(ctrlr, aer_cb, &io), 0);
	ok("nvmf_subsystem_add_listener",
	   json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}", "nqn", nqn3, "listen_address", "trtype", "TCP",
	             "adrfam", "IPv4", "traddr", "127.0.0.1", "trsvcid", g_tp.port));
	assert_int_not_equal(wait_aer(ctrlr, &io), 0);
	gen1 = discovery_genctr(ctrlr);
	assert_true(gen1 >= gen0 + 2);

	/* Read: the next change (the subsystem going away) is reported on the pending AER. */
	ok("nvmf_delete_subsystem", json_pack("{s:s}", "nqn", nqn3));
	assert_int_equal(wait_aer(ctrlr, &io), 0);
	assert_int_equal((io.cqe.cdw0 >> 8) & 0xff, 0xf0);
	assert_true(discovery_genctr(ctrlr) > gen1);
	unvmf_host_disconnect(ctrlr);
}

/* Polls qp until the target has dropped it (true) or timeout (false). */
static bool qpair_dropped(struct unvmf_host_qpair *qp, int timeout_ms)
{
	static uint8_t buf[4096];

	for (int i = 0; i < timeout_ms / 10; i++) {
		if (unvmf_host_qpair_poll(qp, 0) < 0)
			return true;
		usleep(10000);
	}
	/* A read must fail too once the connection is gone. */
	return e2e_read(qp, 1, 0, 8, buf, sizeof(buf)) != 0;
}

static void connect_io(const char *nqn, const char *port, const char *hostnqn,
                       struct unvmf_host_ctrlr **ctrlr, struct unvmf_host_qpair **qp)
{
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;
	static uint8_t buf[4096];

	tgt_proc_trid(&g_tp, nqn, &trid);
	unvmf_strlcpy(trid.trsvcid, port, sizeof(trid.trsvcid));
	unvmf_host_opts_init(&opts);
	if (hostnqn)
		unvmf_strlcpy(opts.hostnqn, hostnqn, sizeof(opts.hostnqn));
	assert_int_equal(unvmf_host_connect(&trid, &opts, ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(*ctrlr, 0, qp, NULL), 0);
	assert_int_equal(e2e_read(*qp, 1, 0, 8, buf, sizeof(buf)), 0);
}

static void test_remove_listener_host_subsystem_disconnects_only_affected(void **state)
{
	struct unvmf_host_ctrlr *keep_c, *a_c, *b_c;
	struct unvmf_host_qpair *keep_q, *a_q, *b_q;
	static uint8_t buf[4096];
	json_t *resp;

	ok("bdev_malloc_create",
	   json_pack("{s:s, s:i, s:i}", "name", "S1", "num_blocks", 4096, "block_size", 512));
	ok("nvmf_create_subsystem", json_pack("{s:s}", "nqn", NQN1));
	ok("nvmf_subsystem_add_ns",
	   json_pack("{s:s, s:{s:s}}", "nqn", NQN1, "namespace", "bdev_name", "S1"));
	ok("nvmf_subsystem_add_host", json_pack("{s:s, s:s}", "nqn", NQN1, "host", HOST1));
	ok("nvmf_subsystem_add_listener",
	   json_pack("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP",
	             "traddr", "127.0.0.1", "trsvcid", g_port2));

	/* One connection elsewhere that must survive everything below. */
	connect_io(DEFAULT_NQN, g_tp.port, NULL, &keep_c, &keep_q);

	/* Listener removal drops the qpairs that came through it. */
	connect_io(NQN1, g_port2, HOST1, &a_c, &a_q);
	ok("nvmf_subsystem_remove_listener",
	   json_pack("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP",
	             "traddr", "127.0.0.1", "trsvcid", g_port2));
	assert_true(qpair_dropped(a_q, 3000));
	unvmf_host_qpair_destroy(a_q);
	unvmf_host_disconnect(a_c);
	assert_int_equal(e2e_read(keep_q, 1, 0, 8, buf, sizeof(buf)), 0);

	/* Host removal drops that host's controllers. */
	ok("nvmf_subsystem_add_listener",
	   json_pack("{s:s, s:{s:s, s:s, s:s}}", "nqn", NQN1, "listen_address", "trtype", "TCP",
	             "traddr", "127.0.0.1", "trsvcid", g_port2));
	connect_io(NQN1, g_port2, HOST1, &b_c, &b_q);
	ok("nvmf_subsystem_remove_host", json_pack("{s:s, s:s}", "nqn", NQN1, "host", HOST1));
	assert_true(qpair_dropped(b_q, 3000));
	unvmf_host_qpair_destroy(b_q);
	unvmf_host_disconnect(b_c);
	assert_int_equal(e2e_read(keep_q, 1, 0, 8, buf, sizeof(buf)), 0);

	/* Deleting a subsystem with a live connection disconnects it, then replies. */
	ok("nvmf_subsystem_allow_any_host",
	   json_pack("{s:s, s:b}", "nqn", NQN1, "allow_any_host", 1));
	connect_io(NQN1, g_port2, NULL, &a_c, &a_q);
	resp = rpc_call(&g_c, "nvmf_subsystem_get_controllers", json_pack("{s:s}", "nqn", NQN1));
	assert_int_equal(json_array_size(json_object_get(resp, "result")), 1);
	json_decref(resp);
	ok("nvmf_delete_subsystem", json_pack("{s:s}", "nqn", NQN1));
	assert_true(qpair_dropped(a_q, 3000));
	unvmf_host_qpair_destroy(a_q);
	unvmf_host_disconnect(a_c);
	/* Its bdev is released: deletable now. */
	ok("bdev_malloc_delete", json_pack("{s:s}", "name", "S1"));
	assert_int_equal(e2e_read(keep_q, 1, 0, 8, buf, sizeof(buf)), 0);
	unvmf_host_qpair_destroy(keep_q);
	unvmf_host_disconnect(keep_c);
}

static void listener(const char *method, const char *nqn, const char *port)
{
	ok(method, json_pack("{s:s, s:{s:s, s:s, s:s}}", "nqn", nqn, "listen_address", "trtype",
	                     "TCP", "traddr", "127.0.0.1", "trsvcid", port));
}

/*
 * The selection is by listener and by host, not by subsystem: on one
 * subsystem with two listeners and two allowed hosts, removing one listener
 * spares the qpairs that came through the other, and removing one host
 * spares the other host's controller.
 */
static void test_removal_spares_same_subsystem_peers(void **state)
{
	struct unvmf_host_ctrlr *via2_c, *via3_c, *h1_c, *h2_c;
	struct unvmf_host_qpair *via2_q, *via3_q, *h1_q, *h2_q;
	static uint8_t buf[4096];
	char port3[16];

	snprintf(port3, sizeof(port3), "%d", tgt_proc_free_port());
	ok("bdev_malloc_create",
	   json_pack("{s:s, s:i, s:i}", "name", "S2", "num_blocks", 4096, "block_size", 512));
	ok("nvmf_create_subsystem", json_pack("{s:s}", "nqn", NQN2));
	ok("nvmf_subsystem_add_ns",
	   json_pack("{s:s, s:{s:s}}", "nqn", NQN2, "namespace", "bdev_name", "S2"));
	ok("nvmf_subsystem_add_host", json_pack("{s:s, s:s}", "nqn", NQN2, "host", HOST1));
	ok("nvmf_subsystem_add_host", json_pack("{s:s, s:s}", "nqn", NQN2, "host", HOST2));
	listener("nvmf_subsystem_add_listener", NQN2, g_port2);
	listener("nvmf_subsystem_add_listener", NQN2, port3);

	/* Same host, same subsystem, two listeners: only port2's qpairs go. */
	connect_io(NQN2, g_port2, HOST1, &via2_c, &via2_q);
	connect_io(NQN2, port3, HOST1, &via3_c, &via3_q);
	listener("nvmf_subsystem_remove_listener", NQN2, g_port2);
	assert_true(qpair_dropped(via2_q, 3000));
	for (int i = 0; i < 20; i++)
		assert_int_equal(e2e_read(via3_q, 1, 0, 8, buf, sizeof(buf)), 0);
	unvmf_host_qpair_destroy(via2_q);
	unvmf_host_disconnect(via2_c);
	unvmf_host_qpair_destroy(via3_q);
	unvmf_host_disconnect(via3_c);

	/* Same listener, same subsystem, two hosts: only HOST1's controller goes. */
	connect_io(NQN2, port3, HOST1, &h1_c, &h1_q);
	connect_io(NQN2, port3, HOST2, &h2_c, &h2_q);
	ok("nvmf_subsystem_remove_host", json_pack("{s:s, s:s}", "nqn", NQN2, "host", HOST1));
	assert_true(qpair_dropped(h1_q, 3000));
	for (int i = 0; i < 20; i++)
		assert_int_equal(e2e_read(h2_q, 1, 0, 8, buf, sizeof(buf)), 0);
	unvmf_host_qpair_destroy(h1_q);
	unvmf_host_disconnect(h1_c);
	unvmf_host_qpair_destroy(h2_q);
	unvmf_host_disconnect(h2_c);

	ok("nvmf_delete_subsystem", json_pack("{s:s}", "nqn", NQN2));
	ok("bdev_malloc_delete", json_pack("{s:s}", "name", "S2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ns_hotplug_during_perf),
	    cmocka_unit_test(test_ns_change_event),
	    cmocka_unit_test(test_discovery_change_event),
	    cmocka_unit_test(test_remove_listener_host_subsystem_disconnects_only_affected),
	    cmocka_unit_test(test_removal_spares_same_subsystem_peers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
