/*
 * Runtime fault injection over NVMe/TCP (nvmf_tcp_inject_fault): the chosen
 * qpair is reset under I/O, only that controller notices, the target keeps
 * serving, and the RPC is refused on a target started without
 * --enable-fault-injection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"

static void connect_pair(struct tgt_proc *tp, struct unvmf_host_ctrlr **c, struct unvmf_host_qpair **q)
{
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;

	unvmf_host_opts_init(&opts);
	tgt_proc_trid(tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &opts, c, NULL), 0);
	assert_int_equal(unvmf_host_qpair_create(*c, 32, q, NULL), 0);
}

static void test_reset_one_qpair(void **state)
{
	const char *args[] = {"--enable-fault-injection", NULL};
	struct tgt_proc tp;
	struct rpc_conn rc;
	struct unvmf_host_ctrlr *victim, *bystander;
	struct unvmf_host_qpair *vq, *bq;
	static uint8_t buf[65536];
	json_t *resp;
	int poll_rc = 0;

	assert_int_equal(tgt_proc_start(&tp, args), 0);
	connect_pair(&tp, &victim, &vq);
	connect_pair(&tp, &bystander, &bq);
	assert_int_equal(e2e_write(vq, 1, 0, 128, buf, sizeof(buf)), 0);

	assert_int_equal(rpc_conn_open(&rc, tp.rpc_sock), 0);
	resp = rpc_call(&rc, "nvmf_tcp_inject_fault",
			RPC_P("{s:s, s:i, s:i}", "fault", "reset", "cntlid",
			      unvmf_host_ctrlr_cntlid(victim), "qid", unvmf_host_qpair_qid(vq)));
	assert_int_equal(rpc_resp_code(resp), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "result"),
							   "injected")), 1);
	json_decref(resp);

	/* The victim's I/O queue dies... */
	for (int i = 0; i < 300 && poll_rc >= 0; i++) {
		poll_rc = unvmf_host_qpair_poll(vq, 0);
		usleep(10000);
	}
	assert_true(poll_rc < 0);
	/* ...the other controller never notices, and the target still accepts new ones. */
	assert_int_equal(e2e_write(bq, 1, 256, 128, buf, sizeof(buf)), 0);
	assert_int_equal(e2e_read(bq, 1, 0, 128, buf, sizeof(buf)), 0);
	unvmf_host_qpair_destroy(vq);
	unvmf_host_disconnect(victim);
	connect_pair(&tp, &victim, &vq);
	assert_int_equal(e2e_read(vq, 1, 0, 128, buf, sizeof(buf)), 0);

	/* Unknown fault kinds are refused with a message. */
	resp = rpc_call(&rc, "nvmf_tcp_inject_fault", RPC_P("{s:s}", "fault", "meteor"));
	assert_int_not_equal(rpc_resp_code(resp), 0);
	json_decref(resp);
	rpc_conn_close(&rc);

	unvmf_host_qpair_destroy(vq);
	unvmf_host_disconnect(victim);
	unvmf_host_qpair_destroy(bq);
	unvmf_host_disconnect(bystander);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);
}

static void test_refused_without_flag(void **state)
{
	struct tgt_proc tp;
	struct rpc_conn rc;
	json_t *resp;

	assert_int_equal(tgt_proc_start(&tp, NULL), 0);
	assert_int_equal(rpc_conn_open(&rc, tp.rpc_sock), 0);
	resp = rpc_call(&rc, "nvmf_tcp_inject_fault", RPC_P("{s:s}", "fault", "reset"));
	assert_int_equal(rpc_resp_code(resp), -1);
	assert_non_null(strstr(rpc_resp_message(resp), "enable-fault-injection"));
	json_decref(resp);
	rpc_conn_close(&rc);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_one_qpair),
		cmocka_unit_test(test_refused_without_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
