/*
 * Fabrics Connect and the Host NQN: an empty one (what SPDK's initiator
 * sends by default) is accepted where the subsystem allows any host and
 * refused where it has a host list; every refusal is counted by reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "nvmf_loop.h"

#define ST(sct, sc) NVMF_LOOP_STATUS(sct, sc)
#define OK ST(NVME_SCT_GENERIC, NVME_SC_SUCCESS)
#define OTHER_HOST "nqn.2014-08.org.nvmexpress:uuid:0d0d0d0d-1111-2222-3333-444444444444"

static int setup(void **state)
{
	return nvmf_loop_fixture_open(state, NVMF_LOOP_TARGET);
}

static uint64_t refusals(enum unvmf_connect_refusal reason)
{
	const char *name;

	return unvmf_tgt_connect_refusals(reason, &name);
}

static void test_empty_hostnqn_any_host(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *q = nvmf_loop_qpair_spare(f);
	uint16_t cntlid = 0;

	assert_int_equal(nvmf_loop_qpair_open(f, q), 0);
	assert_int_equal(nvmf_loop_connect(q, 0, 31, NVMF_LOOP_SUBNQN, "", 0xffff, &cntlid), OK);
	assert_int_not_equal(cntlid, 0xffff);
	assert_int_equal(nvmf_loop_qpair_close(q), 0);
}

static void test_empty_hostnqn_host_list(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *q = nvmf_loop_qpair_spare(f);
	uint64_t empty = refusals(UNVMF_CONNECT_REFUSED_EMPTY_HOSTNQN);
	uint64_t other = refusals(UNVMF_CONNECT_REFUSED_HOST_NOT_ALLOWED);
	const char *name;

	assert_int_equal(unvmf_subsystem_add_host(f->subsys, NVMF_LOOP_HOSTNQN), 0);
	unvmf_subsystem_allow_any_host(f->subsys, false);
	assert_int_equal(nvmf_loop_qpair_open(f, q), 0);
	assert_int_equal(nvmf_loop_connect(q, 0, 31, NVMF_LOOP_SUBNQN, "", 0xffff, NULL),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST));
	assert_int_equal(refusals(UNVMF_CONNECT_REFUSED_EMPTY_HOSTNQN), empty + 1);
	assert_int_equal(nvmf_loop_connect(q, 0, 31, NVMF_LOOP_SUBNQN, OTHER_HOST, 0xffff, NULL),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST));
	assert_int_equal(refusals(UNVMF_CONNECT_REFUSED_HOST_NOT_ALLOWED), other + 1);
	/* The listed host still gets in on the same queue. */
	assert_int_equal(
	    nvmf_loop_connect(q, 0, 31, NVMF_LOOP_SUBNQN, NVMF_LOOP_HOSTNQN, 0xffff, NULL), OK);
	assert_int_equal(nvmf_loop_qpair_close(q), 0);
	unvmf_tgt_connect_refusals(UNVMF_CONNECT_REFUSED_EMPTY_HOSTNQN, &name);
	assert_string_equal(name, "empty_hostnqn");
}

static void test_unknown_subsystem_counted(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *q = nvmf_loop_qpair_spare(f);
	uint64_t before = refusals(UNVMF_CONNECT_REFUSED_UNKNOWN_SUBSYSTEM);

	assert_int_equal(nvmf_loop_qpair_open(f, q), 0);
	assert_int_equal(nvmf_loop_connect(q, 0, 31, "nqn.2024-11.io.unvmf:nobody",
	                                   NVMF_LOOP_HOSTNQN, 0xffff, NULL),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_PARAM));
	assert_int_equal(refusals(UNVMF_CONNECT_REFUSED_UNKNOWN_SUBSYSTEM), before + 1);
	assert_int_equal(nvmf_loop_qpair_close(q), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_empty_hostnqn_any_host, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_empty_hostnqn_host_list, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_unknown_subsystem_counted, setup,
	                                    nvmf_loop_fixture_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
