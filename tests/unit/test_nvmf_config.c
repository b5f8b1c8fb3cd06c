/*
 * The core's control-plane API (src/nvmf: subsystem.c, tgt.c, ctrlr.c):
 * creating an NVM subsystem with its options (validation of the cntlid
 * range, serial, model, duplicate NQN, max_subsystems), the max_subsystems
 * setter, and the getters and visitors that hand out copies. Runs on the
 * test's thread, which plays reactor 0; nothing here needs a poller.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvmf/nvmf_internal.h"

#define NQN_A "nqn.2024-11.io.unvmf:test-a"
#define NQN_B "nqn.2024-11.io.unvmf:test-b"
#define NQN_C "nqn.2024-11.io.unvmf:test-c"

static int setup(void **state)
{
	struct unvmf_tgt_opts opts = {0};

	return unvmf_tgt_init(&opts);
}

static int teardown(void **state)
{
	unvmf_tgt_fini();
	unvmf_bdev_delete_all();
	return 0;
}

static struct unvmf_subsystem *create_ok(const char *nqn, const struct unvmf_subsystem_opts *opts)
{
	struct unvmf_subsystem *subsys = NULL;

	assert_int_equal(unvmf_subsystem_create_nvme(nqn, opts, &subsys), 0);
	assert_non_null(subsys);
	return subsys;
}

static int create_rc(const char *nqn, const struct unvmf_subsystem_opts *opts)
{
	struct unvmf_subsystem *subsys = NULL;
	int rc = unvmf_subsystem_create_nvme(nqn, opts, &subsys);

	if (rc)
		assert_null(subsys);
	return rc;
}

static void test_create_defaults(void **state)
{
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem_info info;
	struct unvmf_subsystem *subsys;

	unvmf_subsystem_opts_init(&opts);
	subsys = create_ok(NQN_A, &opts);
	unvmf_subsystem_get_info(subsys, &info);
	assert_string_equal(info.nqn, NQN_A);
	assert_int_equal(info.type, UNVMF_SUBSYSTEM_NVME);
	assert_string_equal(info.serial, "UNVMF00000000000000");
	assert_string_equal(info.model, "unvmf Controller");
	assert_false(info.allow_any_host);
	assert_false(info.ana_reporting);
	assert_int_equal(info.max_namespaces, 32);
	assert_int_equal(info.min_cntlid, UNVMF_CNTLID_MIN);
	assert_int_equal(info.max_cntlid, UNVMF_CNTLID_MAX);
	assert_ptr_equal(unvmf_subsystem_find(NQN_A), subsys);
	assert_int_equal(unvmf_tgt_num_subsystems(), 1);
}

static void test_create_applies_every_option(void **state)
{
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem_info info;
	struct unvmf_subsystem *subsys;

	unvmf_subsystem_opts_init(&opts);
	opts.serial = "SN-0001";
	opts.model = "Model X";
	opts.allow_any_host = true;
	opts.max_namespaces = 8;
	opts.min_cntlid = 5;
	opts.max_cntlid = 9;
	subsys = create_ok(NQN_A, &opts);
	unvmf_subsystem_get_info(subsys, &info);
	assert_string_equal(info.serial, "SN-0001");
	assert_string_equal(info.model, "Model X");
	assert_true(info.allow_any_host);
	assert_int_equal(info.max_namespaces, 8);
	assert_int_equal(unvmf_subsystem_get_max_namespaces(subsys), 8);
	assert_int_equal(info.min_cntlid, 5);
	assert_int_equal(info.max_cntlid, 9);
	/* The first controller gets the bottom of the range. */
	assert_int_equal(subsys->next_cntlid, 5);
	assert_true(unvmf_subsystem_host_allowed(subsys, "nqn.2014-08.org.example:any"));
}

static void test_create_rejects_bad_cntlid_range(void **state)
{
	struct unvmf_subsystem_opts opts;

	unvmf_subsystem_opts_init(&opts);
	opts.min_cntlid = 10;
	opts.max_cntlid = 9;
	assert_int_equal(create_rc(NQN_A, &opts), -ERANGE);
	opts.min_cntlid = 0;
	opts.max_cntlid = 9;
	assert_int_equal(create_rc(NQN_A, &opts), -ERANGE);
	opts.min_cntlid = 1;
	opts.max_cntlid = UNVMF_CNTLID_MAX + 1;
	assert_int_equal(create_rc(NQN_A, &opts), -ERANGE);
	assert_null(unvmf_subsystem_find(NQN_A));
	assert_int_equal(unvmf_tgt_num_subsystems(), 0);

	/* A range of one ID is a valid range. */
	opts.min_cntlid = 7;
	opts.max_cntlid = 7;
	create_ok(NQN_A, &opts);
}

static void test_create_rejects_bad_strings(void **state)
{
	struct unvmf_subsystem_opts opts;

	unvmf_subsystem_opts_init(&opts);
	assert_int_equal(create_rc("not-an-nqn", &opts), -EINVAL);
	assert_int_equal(create_rc(NVMF_DISCOVERY_NQN, &opts), -EINVAL);
	opts.serial = "";
	assert_int_equal(create_rc(NQN_A, &opts), -EINVAL);
	opts.serial = "123456789012345678901"; /* 21 characters */
	assert_int_equal(create_rc(NQN_A, &opts), -EINVAL);
	opts.serial = "12345678901234567890";
	opts.model = "tab\there";
	assert_int_equal(create_rc(NQN_A, &opts), -EINVAL);
	opts.model = NULL;
	opts.max_namespaces = UNVMF_MAX_NAMESPACES + 1;
	assert_int_equal(create_rc(NQN_A, &opts), -EINVAL);
	opts.max_namespaces = 0;
	opts.ana_reporting = true;
	assert_int_equal(create_rc(NQN_A, &opts), -EOPNOTSUPP);
	assert_int_equal(unvmf_tgt_num_subsystems(), 0);

	opts.ana_reporting = false;
	create_ok(NQN_A, &opts);
}

static void test_create_rejects_duplicate_nqn(void **state)
{
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem_info info;
	struct unvmf_subsystem *first;

	unvmf_subsystem_opts_init(&opts);
	opts.serial = "FIRST";
	first = create_ok(NQN_A, &opts);
	opts.serial = "SECOND";
	assert_int_equal(create_rc(NQN_A, &opts), -EEXIST);
	assert_ptr_equal(unvmf_subsystem_find(NQN_A), first);
	unvmf_subsystem_get_info(first, &info);
	assert_string_equal(info.serial, "FIRST");
	assert_int_equal(unvmf_tgt_num_subsystems(), 1);
}

static void test_max_subsystems(void **state)
{
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem *b;

	unvmf_subsystem_opts_init(&opts);
	assert_int_equal(unvmf_tgt_get_max_subsystems(), 1024);
	assert_int_equal(unvmf_tgt_set_max_subsystems(0), -EINVAL);
	assert_int_equal(unvmf_tgt_set_max_subsystems(2), 0);
	assert_int_equal(unvmf_tgt_get_max_subsystems(), 2);
	create_ok(NQN_A, &opts);
	b = create_ok(NQN_B, &opts);
	assert_int_equal(create_rc(NQN_C, &opts), -ENOSPC);
	assert_null(unvmf_subsystem_find(NQN_C));
	/* Never below what exists; the old limit stays. */
	assert_int_equal(unvmf_tgt_set_max_subsystems(1), -EBUSY);
	assert_int_equal(unvmf_tgt_get_max_subsystems(), 2);

	assert_int_equal(unvmf_subsystem_delete(b, NULL, NULL), 0);
	assert_int_equal(unvmf_tgt_num_subsystems(), 1);
	assert_int_equal(unvmf_tgt_set_max_subsystems(1), 0);
	assert_int_equal(create_rc(NQN_C, &opts), -ENOSPC);
}

struct visit_log {
	char names[8][UNVMF_NQN_BUF];
	unsigned count;
	unsigned stop_after; /* 0: never */
};

static int log_subsystem(struct unvmf_subsystem *subsys, void *arg)
{
	struct visit_log *log = arg;
	struct unvmf_subsystem_info info;

	unvmf_subsystem_get_info(subsys, &info);
	strcpy(log->names[log->count++], info.nqn);
	return log->count == log->stop_after ? 42 : 0;
}

static int log_host(const char *hostnqn, void *arg)
{
	struct visit_log *log = arg;

	strcpy(log->names[log->count++], hostnqn);
	return 0;
}

static void test_foreach_subsystem_order_and_stop(void **state)
{
	struct unvmf_subsystem_opts opts;
	struct visit_log log = {0};

	unvmf_subsystem_opts_init(&opts);
	create_ok(NQN_B, &opts);
	create_ok(NQN_A, &opts);
	assert_int_equal(unvmf_tgt_foreach_subsystem(log_subsystem, &log), 0);
	assert_int_equal(log.count, 3);
	assert_string_equal(log.names[0], NVMF_DISCOVERY_NQN);
	assert_string_equal(log.names[1], NQN_B);
	assert_string_equal(log.names[2], NQN_A);

	memset(&log, 0, sizeof(log));
	log.stop_after = 2;
	assert_int_equal(unvmf_tgt_foreach_subsystem(log_subsystem, &log), 42);
	assert_int_equal(log.count, 2);
}

static void test_foreach_host_in_order(void **state)
{
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem *subsys;
	struct visit_log log = {0};

	unvmf_subsystem_opts_init(&opts);
	subsys = create_ok(NQN_A, &opts);
	assert_int_equal(unvmf_subsystem_add_host(subsys, "nqn.2014-08.org.example:h2"), 0);
	assert_int_equal(unvmf_subsystem_add_host(subsys, "nqn.2014-08.org.example:h1"), 0);
	assert_int_equal(unvmf_subsystem_foreach_host(subsys, log_host, &log), 0);
	assert_int_equal(log.count, 2);
	assert_string_equal(log.names[0], "nqn.2014-08.org.example:h2");
	assert_string_equal(log.names[1], "nqn.2014-08.org.example:h1");
}

struct ns_log {
	struct unvmf_ns_info ns[4];
	char bdev_names[4][64];
	unsigned count;
};

static int log_ns(const struct unvmf_ns_info *ns, void *arg)
{
	struct ns_log *log = arg;

	log->ns[log->count] = *ns;
	strcpy(log->bdev_names[log->count], ns->bdev_name);
	log->count++;
	return 0;
}

static void test_foreach_ns_copies(void **state)
{
	static const uint8_t nguid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem *subsys;
	struct unvmf_bdev *b0, *b1;
	struct ns_log log = {0};

	unvmf_subsystem_opts_init(&opts);
	opts.max_namespaces = 4;
	subsys = create_ok(NQN_A, &opts);
	assert_int_equal(unvmf_bdev_null_create("null0", 1024, 512, NULL, &b0), 0);
	assert_int_equal(unvmf_bdev_null_create("null1", 1024, 512, NULL, &b1), 0);
	assert_int_equal(unvmf_subsystem_add_ns(subsys, b0, 3, NULL, nguid, NULL), 3);
	assert_int_equal(unvmf_subsystem_add_ns(subsys, b1, 0, NULL, NULL, NULL), 1);
	assert_true(unvmf_subsystem_has_ns(subsys, 1));
	assert_false(unvmf_subsystem_has_ns(subsys, 2));
	assert_true(unvmf_subsystem_has_ns(subsys, 3));
	assert_false(unvmf_subsystem_has_ns(subsys, 0));
	assert_false(unvmf_subsystem_has_ns(subsys, 5));

	assert_int_equal(unvmf_subsystem_foreach_ns(subsys, log_ns, &log), 0);
	assert_int_equal(log.count, 2);
	assert_int_equal(log.ns[0].nsid, 1);
	assert_string_equal(log.bdev_names[0], "null1");
	assert_false(log.ns[0].has_nguid);
	assert_memory_equal(log.ns[0].uuid, b1->uuid, 16);
	assert_int_equal(log.ns[1].nsid, 3);
	assert_string_equal(log.bdev_names[1], "null0");
	assert_true(log.ns[1].has_nguid);
	assert_memory_equal(log.ns[1].nguid, nguid, 16);
	assert_false(log.ns[1].has_eui64);
}

struct ctrlr_log {
	struct unvmf_ctrlr_info info[2];
	unsigned count;
};

static int log_ctrlr(const struct unvmf_ctrlr_info *ctrlr, void *arg)
{
	struct ctrlr_log *log = arg;

	log->info[log->count++] = *ctrlr;
	return 0;
}

static void test_foreach_ctrlr_counts_io_qpairs(void **state)
{
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem *subsys;
	struct unvmf_ctrlr ctrlr = {0};
	struct ctrlr_log log = {0};

	unvmf_subsystem_opts_init(&opts);
	subsys = create_ok(NQN_A, &opts);
	/* A controller as Connect leaves it: admin qpair on qid 0, I/O qpairs on 1 and 3. */
	ctrlr.subsys = subsys;
	ctrlr.cntlid = 17;
	strcpy(ctrlr.hostnqn, "nqn.2014-08.org.example:h1");
	ctrlr.hostid[0] = 0xab;
	ctrlr.kato_ms = 5000;
	ctrlr.max_qid = 3;
	ctrlr.qpairs = calloc(4, sizeof(*ctrlr.qpairs));
	assert_non_null(ctrlr.qpairs);
	ctrlr.qpairs[0].id = 10;
	ctrlr.qpairs[1].id = 11;
	ctrlr.qpairs[3].id = 13;
	TAILQ_INSERT_TAIL(&subsys->ctrlrs, &ctrlr, link);

	assert_int_equal(unvmf_subsystem_foreach_ctrlr(subsys, log_ctrlr, &log), 0);
	TAILQ_REMOVE(&subsys->ctrlrs, &ctrlr, link);
	free(ctrlr.qpairs);
	assert_int_equal(log.count, 1);
	assert_int_equal(log.info[0].cntlid, 17);
	assert_string_equal(log.info[0].hostnqn, "nqn.2014-08.org.example:h1");
	assert_int_equal(log.info[0].hostid[0], 0xab);
	assert_int_equal(log.info[0].kato_ms, 5000);
	assert_int_equal(log.info[0].num_io_qpairs, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_applies_every_option, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_rejects_bad_cntlid_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_rejects_bad_strings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_rejects_duplicate_nqn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_subsystems, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_subsystem_order_and_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_host_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_ns_copies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreach_ctrlr_counts_io_qpairs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
