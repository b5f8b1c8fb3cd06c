#pragma once
/*
 * A target for tests of hostile or greedy TCP hosts (test_tcp_hostile.c,
 * test_tcp_limits.c): one reactor, a 4 MiB malloc namespace of 4 KiB blocks
 * in subsystem subnqn (any host) on a TCP listener of a free port, the TCP
 * transport created with the test's options, an RPC connection for the
 * counters, and a bystander controller of the host library (KATO 0) with an
 * I/O queue of 16 for the test's verified I/O.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_rpc_client.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

struct tcp_bystander_env {
	struct tgt_proc tp;
	struct rpc_conn c;
	struct unvmf_host_ctrlr *by_ctrlr;
	struct unvmf_host_qpair *by_qp;
};

/* transport_opts: what follows "trtype": "TCP" in the transport's params (", \"k\": v ..."). */
static inline int tcp_bystander_env_start(struct tcp_bystander_env *e, const char *subnqn,
                                          const char *transport_opts, const char *by_hostnqn)
{
	static const char *const args[] = {"-m", "0x1", NULL};
	struct unvmf_host_opts opts;
	struct unvmf_trid trid;

	memset(e, 0, sizeof(*e));
	if (tgt_proc_start_config(
	        &e->tp, args,
	        "{\"subsystems\": [\n"
	        " {\"subsystem\": \"bdev\", \"config\": [\n"
	        "  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", "
	        "\"num_blocks\": 1024, \"block_size\": 4096}}]},\n"
	        " {\"subsystem\": \"nvmf\", \"config\": [\n"
	        "  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\"%s}},\n"
	        "  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", "
	        "\"allow_any_host\": true}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", "
	        "\"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
	        "  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", "
	        "\"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": "
	        "\"127.0.0.1\", \"trsvcid\": \"@PORT@\"}}}]}]}\n",
	        transport_opts, subnqn, subnqn, subnqn))
		return -1;
	if (rpc_conn_open(&e->c, e->tp.rpc_sock))
		return -1;
	tgt_proc_trid(&e->tp, subnqn, &trid);
	unvmf_host_opts_init(&opts);
	snprintf(opts.hostnqn, sizeof(opts.hostnqn), "%s", by_hostnqn);
	opts.kato_ms = 0;
	opts.connect_timeout_ms = 3000;
	opts.admin_timeout_ms = 3000;
	if (unvmf_host_connect(&trid, &opts, &e->by_ctrlr, NULL))
		return -1;
	return unvmf_host_qpair_create(e->by_ctrlr, 16, &e->by_qp, NULL);
}

static inline int tcp_bystander_env_stop(struct tcp_bystander_env *e)
{
	if (e->by_qp)
		unvmf_host_qpair_destroy(e->by_qp);
	if (e->by_ctrlr)
		unvmf_host_disconnect(e->by_ctrlr);
	rpc_conn_close(&e->c);
	return tgt_proc_finish(&e->tp, 30);
}

/* A cmocka group teardown for a group whose setup put its environment in *state. */
static inline int tcp_bystander_env_teardown(void **state)
{
	return tcp_bystander_env_stop(*state);
}

/* A counter of nvmf_get_stats summed over poll groups (rpc_stat_sum's path); asserts. */
static inline long long tcp_bystander_env_stat(struct tcp_bystander_env *e, const char *path)
{
	long long v;

	assert_int_equal(rpc_stat_sum(&e->c, path, &v), 0);
	return v;
}

/*
 * Polls a counter until it reaches want (connections end asynchronously),
 * running work (the bystander's I/O) between polls; the last value read.
 */
static inline long long tcp_bystander_env_wait_stat(struct tcp_bystander_env *e, const char *path,
                                                    long long want, void (*work)(void))
{
	long long v = 0;

	for (int i = 0; i < 500; i++) {
		v = tcp_bystander_env_stat(e, path);
		if (v >= want)
			break;
		work();
		usleep(10000);
	}
	return v;
}
