/*
 * A target built from a JSON config: max_io_size 256 KiB (so one write is
 * more than MAXH2CDATA and arrives in several H2CData PDUs), listeners on
 * IPv4 and IPv6 loopback, data checked through both.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_util.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define NQN "nqn.2024-11.io.unvmf:big"
#define BIG (256u * 1024)

static void write_config(const char *path, const char *port)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f,
		"{\"subsystems\": [\n"
		" {\"subsystem\": \"bdev\", \"config\": [\n"
		"  {\"method\": \"bdev_malloc_create\", \"params\": {\"name\": \"M0\", \"num_blocks\": 65536, \"block_size\": 4096}}]},\n"
		" {\"subsystem\": \"nvmf\", \"config\": [\n"
		"  {\"method\": \"nvmf_create_transport\", \"params\": {\"trtype\": \"TCP\", \"max_io_size\": %u, \"io_unit_size\": 8192}},\n"
		"  {\"method\": \"nvmf_create_subsystem\", \"params\": {\"nqn\": \"%s\", \"allow_any_host\": true, \"serial_number\": \"UNVMFBIG0001\"}},\n"
		"  {\"method\": \"nvmf_subsystem_add_ns\", \"params\": {\"nqn\": \"%s\", \"namespace\": {\"bdev_name\": \"M0\", \"nsid\": 1}}},\n"
		"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv4\", \"traddr\": \"127.0.0.1\", \"trsvcid\": \"%s\"}}},\n"
		"  {\"method\": \"nvmf_subsystem_add_listener\", \"params\": {\"nqn\": \"%s\", \"listen_address\": {\"trtype\": \"TCP\", \"adrfam\": \"IPv6\", \"traddr\": \"::1\", \"trsvcid\": \"%s\"}}}]}]}\n",
		BIG, NQN, NQN, NQN, port, NQN, port);
	fclose(f);
}

static void rw_through(struct tgt_proc *tp, enum nvmf_adrfam adrfam, const char *addr, uint8_t seed)
{
	struct unvmf_host_opts opts;
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_qpair *qp = NULL;
	struct unvmf_trid trid;
	uint8_t *w = malloc(BIG), *r = malloc(BIG);

	tgt_proc_trid(tp, NQN, &trid);
	trid.adrfam = adrfam;
	strcpy(trid.traddr, addr);
	unvmf_host_opts_init(&opts);
	opts.header_digest = opts.data_digest = seed & 1;
	assert_int_equal(unvmf_host_connect(&trid, &opts, &ctrlr, NULL), 0);
	assert_int_equal(unvmf_host_ctrlr_max_xfer(ctrlr), BIG);
	assert_memory_equal(unvmf_host_ctrlr_data(ctrlr)->sn, "UNVMFBIG0001", 12);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	for (uint32_t i = 0; i < BIG; i++)
		w[i] = (uint8_t)(i * 7 + seed + (i >> 12));
	assert_int_equal(e2e_write(qp, 1, seed * 64, BIG / 4096, w, BIG), 0);
	assert_int_equal(e2e_read(qp, 1, seed * 64, BIG / 4096, r, BIG), 0);
	assert_memory_equal(w, r, BIG);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
	free(w);
	free(r);
}

static void test_big_io_ipv4_ipv6(void **state)
{
	struct tgt_proc tp;
	char cfg[128];
	const char *args[8];

	tgt_proc_prepare(&tp);
	snprintf(cfg, sizeof(cfg), "/tmp/unvmf-test-%d-cfg.json", getpid());
	write_config(cfg, tp.port);
	args[0] = "-c";
	args[1] = cfg;
	args[2] = "-r";
	args[3] = tp.rpc_sock;
	args[4] = NULL;
	if (tgt_proc_exec(&tp, args, true) != 0) {
		tgt_proc_dump_log(&tp);
		fail();
	}
	rw_through(&tp, NVMF_ADRFAM_IPV4, "127.0.0.1", 1);
	rw_through(&tp, NVMF_ADRFAM_IPV6, "::1", 2);
	rw_through(&tp, NVMF_ADRFAM_IPV6, "::1", 3);
	assert_int_equal(tgt_proc_stop(&tp, 20), 0);
	unlink(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_big_io_ipv4_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
