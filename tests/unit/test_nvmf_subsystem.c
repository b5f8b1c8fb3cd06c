/*
 * The core's subsystems (src/nvmf/subsystem.c) on the in-process target
 * (tests/common/nvmf_loop): creation rules, serial and model checks,
 * namespaces added and removed under a connected controller (I/O, the
 * Changed Namespace List), hosts and listeners with the controllers their
 * removal disconnects, and deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvmf_loop.h"

#define ST(sct, sc) NVMF_LOOP_STATUS(sct, sc)
#define OK ST(NVME_SCT_GENERIC, NVME_SC_SUCCESS)
#define OTHER_NQN "nqn.2024-11.io.unvmf:other"
#define OTHER_HOST "nqn.2014-08.org.nvmexpress:uuid:0d0d0d0d-1111-2222-3333-444444444444"

static int setup(void **state)
{
	return nvmf_loop_fixture_open(state, NVMF_LOOP_TARGET);
}

static void ctrlr_up(struct nvmf_loop *f)
{
	assert_int_equal(nvmf_loop_ctrlr_open(f, &f->admin, &f->cntlid), OK);
	assert_int_equal(nvmf_loop_io_open(f, &f->io, 1, f->cntlid), OK);
}

static int read_block(struct nvmf_loop *f, uint32_t nsid)
{
	struct nvme_sqe sqe = {.opc = NVME_OPC_READ, .nsid = nsid};

	return nvmf_loop_exec(&f->io, &sqe, f->buf, 512, UNVMF_XFER_CONTROLLER_TO_HOST, NULL);
}

/* The Changed Namespace List log's first entries (4 of them) into list. */
static void changed_ns(struct nvmf_loop *f, uint32_t list[4])
{
	struct nvme_sqe sqe = {.opc = NVME_OPC_GET_LOG_PAGE,
	                       .cdw10 = NVME_LOG_CHANGED_NS_LIST | (3u << 16)};

	assert_int_equal(
	    nvmf_loop_exec(&f->admin, &sqe, f->buf, 16, UNVMF_XFER_CONTROLLER_TO_HOST, NULL), OK);
	memcpy(list, f->buf, 16);
}

static void done_rc(void *arg, int rc)
{
	*(int *)arg = rc ? rc : 1;
}

static void wait_done(volatile int *done)
{
	for (int i = 0; i < 1000 && !*done; i++)
		nvmf_loop_step();
	assert_int_equal(*done, 1);
}

static void test_create_rules(void **state)
{
	struct unvmf_subsystem *s;
	char name[80];
	int done = 0;

	assert_int_equal(unvmf_subsystem_create("not an nqn", UNVMF_SUBSYSTEM_NVME, 0, &s),
	                 -EINVAL);
	assert_int_equal(unvmf_subsystem_create(NVMF_DISCOVERY_NQN, UNVMF_SUBSYSTEM_NVME, 0, &s),
	                 -EINVAL);
	assert_int_equal(unvmf_subsystem_create(NVMF_LOOP_SUBNQN, UNVMF_SUBSYSTEM_NVME, 0, &s),
	                 -EEXIST);
	assert_int_equal(
	    unvmf_subsystem_create(OTHER_NQN, UNVMF_SUBSYSTEM_NVME, UNVMF_MAX_NAMESPACES + 1, &s),
	    -EINVAL);
	assert_int_equal(unvmf_subsystem_create(OTHER_NQN, UNVMF_SUBSYSTEM_NVME, 0, &s), 0);
	assert_ptr_equal(unvmf_subsystem_find(OTHER_NQN), s);
	/* Defaults: 32 namespaces, no host, the project's serial and model. */
	assert_int_equal(s->max_namespaces, 32);
	assert_false(s->allow_any_host);
	assert_string_equal(s->serial, "UNVMF00000000000000");
	assert_string_equal(s->model, "unvmf Controller");
	/* Serial: 1 to 20 printable ASCII characters; model: 1 to 40. */
	assert_int_equal(unvmf_subsystem_set_sn(s, ""), -EINVAL);
	assert_int_equal(unvmf_subsystem_set_sn(s, "012345678901234567890"), -EINVAL);
	assert_int_equal(unvmf_subsystem_set_sn(s, "SN\x01"), -EINVAL);
	assert_string_equal(s->serial, "UNVMF00000000000000");
	assert_int_equal(unvmf_subsystem_set_sn(s, "01234567890123456789"), 0);
	assert_string_equal(s->serial, "01234567890123456789");
	memset(name, 'm', 41);
	name[41] = '\0';
	assert_int_equal(unvmf_subsystem_set_mn(s, name), -EINVAL);
	name[40] = '\0';
	assert_int_equal(unvmf_subsystem_set_mn(s, name), 0);
	assert_string_equal(s->model, name);
	/* Deleted at once without controllers. */
	assert_int_equal(unvmf_subsystem_delete(s, done_rc, &done), 0);
	assert_int_equal(done, 1);
	assert_null(unvmf_subsystem_find(OTHER_NQN));
}

static void test_namespaces(void **state)
{
	struct nvmf_loop *f = *state;
	struct unvmf_bdev *b;
	uint32_t list[4];
	int done = 0;

	ctrlr_up(f);
	assert_int_equal(unvmf_bdev_malloc_create("Loop1", 64, 512, NULL, &b), 0);
	assert_int_equal(read_block(f, 2),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	/* NSID 0 takes the first free one. */
	assert_int_equal(unvmf_subsystem_add_ns(f->subsys, b, 0, NULL, NULL, NULL), 2);
	assert_int_equal(unvmf_subsystem_add_ns(f->subsys, b, 2, NULL, NULL, NULL), -EEXIST);
	assert_int_equal(
	    unvmf_subsystem_add_ns(f->subsys, b, NVMF_LOOP_MAX_NS + 1, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(unvmf_subsystem_add_ns(f->subsys, b, 0xffffffff, NULL, NULL, NULL),
	                 -EINVAL);
	for (int i = 0; i < 4; i++)
		nvmf_loop_step();
	assert_int_equal(read_block(f, 2), OK);
	/* The controller was told: NSID 2 in its Changed Namespace List, once. */
	changed_ns(f, list);
	assert_int_equal(list[0], 2);
	assert_int_equal(list[1], 0);
	/* Reading the log cleared it. */
	changed_ns(f, list);
	assert_int_equal(list[0], 0);

	assert_int_equal(unvmf_subsystem_remove_ns(f->subsys, 0, done_rc, &done), -EINVAL);
	assert_int_equal(unvmf_subsystem_remove_ns(f->subsys, 3, done_rc, &done), -ENOENT);
	assert_int_equal(unvmf_subsystem_remove_ns(f->subsys, 2, done_rc, &done), 0);
	/* Gone for I/O at once; released once the poll group's channel has drained. */
	assert_int_equal(read_block(f, 2),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	wait_done(&done);
	assert_int_equal(unvmf_subsystem_remove_ns(f->subsys, 2, NULL, NULL), -ENOENT);
	changed_ns(f, list);
	assert_int_equal(list[0], 2);
	/* Namespace 1 was not touched. */
	assert_int_equal(read_block(f, 1), OK);
	/* The slots fill up: then there is no free NSID. */
	for (uint32_t nsid = 2; nsid <= NVMF_LOOP_MAX_NS; nsid++)
		assert_int_equal(unvmf_subsystem_add_ns(f->subsys, b, nsid, NULL, NULL, NULL),
		                 (int)nsid);
	assert_int_equal(unvmf_subsystem_add_ns(f->subsys, b, 0, NULL, NULL, NULL), -ENOSPC);
}

static void test_hosts(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *other = nvmf_loop_qpair_spare(f);

	assert_int_equal(unvmf_subsystem_add_host(f->subsys, "bad host"), -EINVAL);
	assert_int_equal(unvmf_subsystem_add_host(f->subsys, NVMF_LOOP_HOSTNQN), 0);
	assert_int_equal(unvmf_subsystem_add_host(f->subsys, NVMF_LOOP_HOSTNQN), -EEXIST);
	assert_int_equal(unvmf_subsystem_add_host(g_tgt.discovery, NVMF_LOOP_HOSTNQN), -EINVAL);
	unvmf_subsystem_allow_any_host(f->subsys, false);
	assert_true(unvmf_subsystem_host_allowed(f->subsys, NVMF_LOOP_HOSTNQN));
	assert_false(unvmf_subsystem_host_allowed(f->subsys, OTHER_HOST));

	ctrlr_up(f);
	assert_int_equal(nvmf_loop_qpair_open(f, other), 0);
	assert_int_equal(
	    nvmf_loop_connect(other, 0, 31, NVMF_LOOP_SUBNQN, OTHER_HOST, 0xffff, NULL),
	    ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST));
	assert_int_equal(nvmf_loop_qpair_close(other), 0);

	assert_int_equal(unvmf_subsystem_remove_host(f->subsys, OTHER_HOST), -ENOENT);
	/* Removing the host drops its controller: both of its queues go. */
	assert_int_equal(unvmf_subsystem_remove_host(f->subsys, NVMF_LOOP_HOSTNQN), 0);
	for (int i = 0; i < 4; i++)
		nvmf_loop_step();
	assert_true(f->admin.finished);
	assert_true(f->io.finished);
	assert_false(unvmf_subsystem_host_allowed(f->subsys, NVMF_LOOP_HOSTNQN));
}

static void test_host_removed_with_any_host_keeps_controller(void **state)
{
	struct nvmf_loop *f = *state;

	assert_int_equal(unvmf_subsystem_add_host(f->subsys, NVMF_LOOP_HOSTNQN), 0);
	ctrlr_up(f);
	/* With any host allowed the host may stay connected. */
	assert_int_equal(unvmf_subsystem_remove_host(f->subsys, NVMF_LOOP_HOSTNQN), 0);
	for (int i = 0; i < 4; i++)
		nvmf_loop_step();
	assert_false(f->admin.finished);
	assert_int_equal(read_block(f, 1), OK);
}

static void test_listeners(void **state)
{
	struct nvmf_loop *f = *state;
	struct unvmf_trid addr2 = f->listen, tcp = f->listen;
	struct nvmf_loop_qpair *late = nvmf_loop_qpair_spare(f);
	struct nvme_cqe cqe;

	unvmf_strlcpy(addr2.trsvcid, "2", sizeof(addr2.trsvcid));
	tcp.trtype = NVMF_TRTYPE_TCP;
	assert_true(unvmf_subsystem_has_listener(f->subsys, &f->listen));
	assert_false(unvmf_subsystem_has_listener(f->subsys, &addr2));
	assert_int_equal(unvmf_subsystem_add_listener(f->subsys, &f->listen), -EEXIST);
	/* No TCP transport in this target. */
	assert_int_equal(unvmf_subsystem_add_listener(f->subsys, &tcp), -EPROTONOSUPPORT);
	assert_int_equal(unvmf_subsystem_add_listener(f->subsys, &addr2), 0);
	assert_int_equal(unvmf_subsystem_remove_listener(f->subsys, &addr2), 0);
	assert_int_equal(unvmf_subsystem_remove_listener(f->subsys, &addr2), -ENOENT);

	ctrlr_up(f);
	/* Removing the address the controller came through drops it. */
	assert_int_equal(unvmf_subsystem_remove_listener(f->subsys, &f->listen), 0);
	for (int i = 0; i < 4; i++)
		nvmf_loop_step();
	assert_true(f->admin.finished);
	assert_true(f->io.finished);
	/* A Connect arriving on it now is refused at the subsystem NQN. */
	assert_int_equal(nvmf_loop_qpair_open(f, late), 0);
	{
		struct nvmf_connect_cmd cmd = {
		    .opcode = NVME_OPC_FABRICS, .fctype = NVMF_FCTYPE_CONNECT, .sqsize = 31};
		struct nvmf_connect_data data;

		memset(&data, 0, sizeof(data));
		data.cntlid = 0xffff;
		strcpy(data.subnqn, NVMF_LOOP_SUBNQN);
		strcpy(data.hostnqn, NVMF_LOOP_HOSTNQN);
		assert_int_equal(nvmf_loop_exec(late, (const struct nvme_sqe *)&cmd, &data,
		                                sizeof(data), UNVMF_XFER_HOST_TO_CONTROLLER, &cqe),
		                 ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_PARAM));
		assert_int_equal(
		    ((struct nvmf_connect_rsp *)&cqe)->status_code_specific.invalid.ipo,
		    offsetof(struct nvmf_connect_data, subnqn));
	}
	assert_int_equal(nvmf_loop_qpair_close(late), 0);
}

static void test_delete_with_controller(void **state)
{
	struct nvmf_loop *f = *state;
	int done = 0;

	ctrlr_up(f);
	assert_int_equal(unvmf_subsystem_delete(f->subsys, done_rc, &done), 0);
	assert_null(unvmf_subsystem_find(NVMF_LOOP_SUBNQN));
	/* A second delete while the first waits for the controller. */
	assert_int_equal(unvmf_subsystem_delete(f->subsys, NULL, NULL), -EBUSY);
	wait_done(&done);
	assert_true(f->admin.finished);
	assert_true(f->io.finished);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_rules, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_namespaces, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_hosts, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_host_removed_with_any_host_keeps_controller, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_listeners, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_delete_with_controller, setup,
	                                    nvmf_loop_fixture_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
