/*
 * The core's controllers (src/nvmf/ctrlr.c) through the in-process target
 * (tests/common/nvmf_loop): Fabrics Connect of admin and I/O queues with
 * every refusal's status and Invalid Parameter location, Property Get/Set
 * (CAP, VS, CC, CSTS), a reset through CC.EN, keep-alive expiry, and the
 * admin queue taking its I/O queues with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nvmf_loop.h"

#define ST(sct, sc) NVMF_LOOP_STATUS(sct, sc)
#define OK ST(NVME_SCT_GENERIC, NVME_SC_SUCCESS)
#define INVALID_PARAM ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_PARAM)

static int setup(void **state)
{
	return nvmf_loop_fixture_open(state, NVMF_LOOP_TARGET);
}

/* Connect on a fresh queue; the whole completion in *cqe. */
static int connect_raw(struct nvmf_loop *f, struct nvmf_loop_qpair *lq,
                       const struct nvmf_connect_cmd *cmd, const struct nvmf_connect_data *data,
                       uint32_t len, struct nvme_cqe *cqe)
{
	assert_int_equal(nvmf_loop_qpair_open(f, lq), 0);
	return nvmf_loop_exec(lq, (const struct nvme_sqe *)cmd, (void *)data, len,
	                      UNVMF_XFER_HOST_TO_CONTROLLER, cqe);
}

static void connect_init(struct nvmf_connect_cmd *cmd, struct nvmf_connect_data *data, uint16_t qid,
                         uint16_t cntlid)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = NVME_OPC_FABRICS;
	cmd->fctype = NVMF_FCTYPE_CONNECT;
	cmd->qid = qid;
	cmd->sqsize = 31;
	memset(data, 0, sizeof(*data));
	data->cntlid = cntlid;
	strcpy(data->subnqn, NVMF_LOOP_SUBNQN);
	strcpy(data->hostnqn, NVMF_LOOP_HOSTNQN);
}

static void assert_invalid_param(const struct nvme_cqe *cqe, bool in_data, uint16_t offset)
{
	const struct nvmf_connect_rsp *rsp = (const void *)cqe;

	assert_int_equal(rsp->status_code_specific.invalid.iattr, in_data ? 1 : 0);
	assert_int_equal(rsp->status_code_specific.invalid.ipo, offset);
}

/* Runs one refused admin Connect and checks status and location; the queue is closed after. */
static void expect_refused(struct nvmf_loop *f, const struct nvmf_connect_cmd *cmd,
                           const struct nvmf_connect_data *data, uint32_t len, int status,
                           int in_data, uint16_t offset)
{
	struct nvmf_loop_qpair *lq = nvmf_loop_qpair_spare(f);
	struct nvme_cqe cqe;

	assert_int_equal(connect_raw(f, lq, cmd, data, len, &cqe), status);
	if (in_data >= 0)
		assert_invalid_param(&cqe, in_data, offset);
	/* A refused Connect leaves the queue unconnected and creates no controller. */
	assert_int_equal(lq->qpair.state, UNVMF_QPAIR_UNCONNECTED);
	assert_null(lq->qpair.ctrlr);
	assert_true(TAILQ_EMPTY(&f->subsys->ctrlrs));
	assert_int_equal(nvmf_loop_qpair_close(lq), 0);
}

static void test_connect_admin_refusals(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_connect_data data;
	struct nvmf_connect_cmd cmd;

	connect_init(&cmd, &data, 0, 0xffff);
	strcpy(data.subnqn, "nqn.2024-11.io.unvmf:nobody");
	expect_refused(f, &cmd, &data, sizeof(data), INVALID_PARAM, 1,
	               offsetof(struct nvmf_connect_data, subnqn));

	connect_init(&cmd, &data, 0, 0xffff);
	strcpy(data.hostnqn, "not-an-nqn");
	expect_refused(f, &cmd, &data, sizeof(data), INVALID_PARAM, 1,
	               offsetof(struct nvmf_connect_data, hostnqn));

	/* The static controller model is not offered. */
	connect_init(&cmd, &data, 0, 1);
	expect_refused(f, &cmd, &data, sizeof(data), INVALID_PARAM, 1,
	               offsetof(struct nvmf_connect_data, cntlid));

	connect_init(&cmd, &data, 0, 0xffff);
	cmd.sqsize = 0;
	expect_refused(f, &cmd, &data, sizeof(data), INVALID_PARAM, 0,
	               offsetof(struct nvmf_connect_cmd, sqsize));
	/* The admin queue holds at most 128 entries (max_aq_depth). */
	cmd.sqsize = 128;
	expect_refused(f, &cmd, &data, sizeof(data), INVALID_PARAM, 0,
	               offsetof(struct nvmf_connect_cmd, sqsize));

	connect_init(&cmd, &data, 0, 0xffff);
	cmd.recfmt = 1;
	expect_refused(f, &cmd, &data, sizeof(data),
	               ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INCOMPATIBLE_FORMAT), -1, 0);

	/* Connect data shorter than its 1024 bytes. */
	connect_init(&cmd, &data, 0, 0xffff);
	expect_refused(f, &cmd, &data, 512, ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID),
	               -1, 0);

	/* A host the subsystem does not list once any-host is off. */
	unvmf_subsystem_allow_any_host(f->subsys, false);
	connect_init(&cmd, &data, 0, 0xffff);
	expect_refused(f, &cmd, &data, sizeof(data),
	               ST(NVME_SCT_COMMAND_SPECIFIC, NVMF_SC_INVALID_HOST), -1, 0);
}

static void test_connect_admin_creates_controller(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *second = nvmf_loop_qpair_spare(f);
	struct unvmf_ctrlr *ctrlr;
	uint16_t cntlid2 = 0;

	assert_int_equal(nvmf_loop_qpair_open(f, &f->admin), 0);
	assert_int_equal(nvmf_loop_connect(&f->admin, 0, 31, NVMF_LOOP_SUBNQN, NVMF_LOOP_HOSTNQN,
	                                   0xffff, &f->cntlid),
	                 OK);
	ctrlr = f->admin.qpair.ctrlr;
	assert_non_null(ctrlr);
	assert_int_equal(f->cntlid, 1);
	assert_int_equal(ctrlr->cntlid, 1);
	assert_string_equal(ctrlr->hostnqn, NVMF_LOOP_HOSTNQN);
	assert_int_equal(ctrlr->hostid[0], 0xa0);
	assert_int_equal(ctrlr->hostid[15], 0xaf);
	assert_int_equal(f->admin.qpair.sq_size, 32);
	assert_int_equal(f->admin.qpair.state, UNVMF_QPAIR_ACTIVE);
	assert_int_equal(ctrlr->max_qid, 4);
	assert_false(ctrlr->cc.bits.en);
	/* Connect on a connected queue is out of sequence. */
	assert_int_equal(
	    nvmf_loop_connect(&f->admin, 0, 31, NVMF_LOOP_SUBNQN, NVMF_LOOP_HOSTNQN, 0xffff, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR));
	/* Another admin queue makes another controller, the next cntlid. */
	assert_int_equal(nvmf_loop_qpair_open(f, second), 0);
	assert_int_equal(
	    nvmf_loop_connect(second, 0, 31, NVMF_LOOP_SUBNQN, NVMF_LOOP_HOSTNQN, 0xfffe, &cntlid2),
	    OK);
	assert_int_equal(cntlid2, 2);
	assert_int_equal(nvmf_loop_qpair_close(second), 0);
}

static int prop_get(struct nvmf_loop_qpair *lq, uint32_t ofst, uint8_t size, uint64_t *value)
{
	struct nvmf_property_get_cmd cmd;
	struct nvme_cqe cqe;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_PROPERTY_GET;
	cmd.attrib.size = size;
	cmd.ofst = ofst;
	rc = nvmf_loop_exec(lq, (const struct nvme_sqe *)&cmd, NULL, 0, UNVMF_XFER_NONE, &cqe);
	*value = ((const struct nvmf_property_get_rsp *)&cqe)->value;
	return rc;
}

static void test_properties(void **state)
{
	struct nvmf_loop *f = *state;
	union nvme_cap_register cap;
	union nvme_csts_register csts;
	struct nvmf_loop_qpair *raw = nvmf_loop_qpair_spare(f);
	uint64_t v = 0;

	/* Before Connect there is no controller to ask. */
	assert_int_equal(nvmf_loop_qpair_open(f, raw), 0);
	assert_int_equal(prop_get(raw, NVME_REG_VS, 0, &v),
	                 ST(NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR));
	assert_int_equal(nvmf_loop_qpair_close(raw), 0);

	assert_int_equal(nvmf_loop_ctrlr_open(f, &f->admin, &f->cntlid), 0);
	assert_int_equal(prop_get(&f->admin, NVME_REG_CAP, 1, &v), OK);
	cap.raw = v;
	assert_int_equal(cap.bits.mqes, 127);
	assert_int_equal(cap.bits.cqr, 1);
	assert_int_equal(cap.bits.css, 1);
	assert_int_equal(prop_get(&f->admin, NVME_REG_VS, 0, &v), OK);
	assert_int_equal(v, NVME_VERSION(1, 3, 0));
	assert_int_equal(prop_get(&f->admin, NVME_REG_CC, 0, &v), OK);
	assert_int_equal(v, 1u | (6u << 16) | (4u << 20));
	assert_int_equal(prop_get(&f->admin, NVME_REG_CSTS, 0, &v), OK);
	csts.raw = (uint32_t)v;
	assert_int_equal(csts.bits.rdy, 1);
	assert_int_equal(csts.bits.shst, NVME_SHST_NORMAL);
	/* CAP is 8 bytes, the others 4: the wrong size is refused with the offset. */
	assert_int_equal(prop_get(&f->admin, NVME_REG_CAP, 0, &v), INVALID_PARAM);
	assert_int_equal(prop_get(&f->admin, NVME_REG_VS, 1, &v), INVALID_PARAM);
	/* A register fabrics controllers do not have. */
	assert_int_equal(prop_get(&f->admin, NVME_REG_AQA, 0, &v), INVALID_PARAM);
	/* Only CC can be set. */
	{
		struct nvmf_property_set_cmd cmd;
		struct nvme_cqe cqe;

		memset(&cmd, 0, sizeof(cmd));
		cmd.opcode = NVME_OPC_FABRICS;
		cmd.fctype = NVMF_FCTYPE_PROPERTY_SET;
		cmd.ofst = NVME_REG_CSTS;
		assert_int_equal(nvmf_loop_exec(&f->admin, (const struct nvme_sqe *)&cmd, NULL, 0,
		                                UNVMF_XFER_NONE, &cqe),
		                 INVALID_PARAM);
		assert_invalid_param(&cqe, false, offsetof(struct nvmf_property_set_cmd, ofst));
	}
	/* Shutdown: SHST complete, then the register reads back. */
	assert_int_equal(nvmf_loop_set_cc(&f->admin, 1u | (6u << 16) | (4u << 20) | (1u << 14)),
	                 OK);
	assert_int_equal(prop_get(&f->admin, NVME_REG_CSTS, 0, &v), OK);
	csts.raw = (uint32_t)v;
	assert_int_equal(csts.bits.shst, NVME_SHST_COMPLETE);
}

static void test_connect_io_queue(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_connect_data data;
	struct nvmf_connect_cmd cmd;
	struct nvmf_loop_qpair *io = nvmf_loop_qpair_spare(f);
	struct nvmf_loop_qpair *io2 = nvmf_loop_qpair_spare(f);
	struct nvme_cqe cqe;

	/* Admin queue connected, controller not enabled yet. */
	assert_int_equal(nvmf_loop_qpair_open(f, &f->admin), 0);
	assert_int_equal(nvmf_loop_connect(&f->admin, 0, 31, NVMF_LOOP_SUBNQN, NVMF_LOOP_HOSTNQN,
	                                   0xffff, &f->cntlid),
	                 OK);
	connect_init(&cmd, &data, 1, f->cntlid);
	assert_int_equal(connect_raw(f, io, &cmd, &data, sizeof(data), &cqe),
	                 ST(NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR));
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
	assert_int_equal(nvmf_loop_set_cc(&f->admin, 1u | (6u << 16) | (4u << 20)), OK);

	/* A controller that does not exist. */
	connect_init(&cmd, &data, 1, f->cntlid + 1);
	assert_int_equal(connect_raw(f, io, &cmd, &data, sizeof(data), &cqe), INVALID_PARAM);
	assert_invalid_param(&cqe, true, offsetof(struct nvmf_connect_data, cntlid));
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
	/* The right cntlid from another host. */
	connect_init(&cmd, &data, 1, f->cntlid);
	strcpy(data.hostnqn,
	       "nqn.2014-08.org.nvmexpress:uuid:99999999-1111-2222-3333-444444444444");
	assert_int_equal(connect_raw(f, io, &cmd, &data, sizeof(data), &cqe), INVALID_PARAM);
	assert_invalid_param(&cqe, true, offsetof(struct nvmf_connect_data, cntlid));
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
	/* Beyond the 4 I/O queues. */
	connect_init(&cmd, &data, 5, f->cntlid);
	assert_int_equal(connect_raw(f, io, &cmd, &data, sizeof(data), &cqe), INVALID_PARAM);
	assert_invalid_param(&cqe, false, offsetof(struct nvmf_connect_cmd, qid));
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
	/* Deeper than max_queue_depth (128). */
	connect_init(&cmd, &data, 1, f->cntlid);
	cmd.sqsize = 128;
	assert_int_equal(connect_raw(f, io, &cmd, &data, sizeof(data), &cqe), INVALID_PARAM);
	assert_invalid_param(&cqe, false, offsetof(struct nvmf_connect_cmd, sqsize));
	assert_int_equal(nvmf_loop_qpair_close(io), 0);

	assert_int_equal(nvmf_loop_io_open(f, io, 4, f->cntlid), OK);
	assert_int_equal(io->qpair.qid, 4);
	assert_int_equal(io->qpair.sq_size, 64);
	assert_ptr_equal(io->qpair.ctrlr, f->admin.qpair.ctrlr);
	assert_int_equal(f->admin.qpair.ctrlr->refs, 2);
	/* The same qid twice. */
	connect_init(&cmd, &data, 4, f->cntlid);
	assert_int_equal(connect_raw(f, io2, &cmd, &data, sizeof(data), &cqe), INVALID_PARAM);
	assert_invalid_param(&cqe, false, offsetof(struct nvmf_connect_cmd, qid));
	assert_int_equal(nvmf_loop_qpair_close(io2), 0);
	/* Property Get is an admin queue command. */
	{
		uint64_t v;

		assert_int_equal(prop_get(io, NVME_REG_VS, 0, &v),
		                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	}
	/* Closing the I/O queue frees its qid. */
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
	assert_int_equal(f->admin.qpair.ctrlr->refs, 1);
	assert_int_equal(nvmf_loop_io_open(f, io, 4, f->cntlid), OK);
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
}

static void test_number_of_queues_limits_connect(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_sqe sqe = {.opc = NVME_OPC_SET_FEATURES,
	                       .cdw10 = NVME_FEAT_NUMBER_OF_QUEUES,
	                       .cdw11 = 1 | (1u << 16)};
	struct nvmf_loop_qpair *io = nvmf_loop_qpair_spare(f);

	assert_int_equal(nvmf_loop_ctrlr_open(f, &f->admin, &f->cntlid), 0);
	assert_int_equal(nvmf_loop_exec(&f->admin, &sqe, NULL, 0, UNVMF_XFER_NONE, NULL), OK);
	/* Two granted: qid 3 is refused, qid 2 accepted. */
	assert_int_equal(nvmf_loop_io_open(f, io, 3, f->cntlid), INVALID_PARAM);
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
	assert_int_equal(nvmf_loop_io_open(f, io, 2, f->cntlid), OK);
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
}

static void test_reset_disconnects_io_queues(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *io = nvmf_loop_qpair_spare(f);

	assert_int_equal(nvmf_loop_ctrlr_open(f, &f->admin, &f->cntlid), 0);
	assert_int_equal(nvmf_loop_io_open(f, io, 1, f->cntlid), OK);
	/* CC.EN 1 -> 0: the I/O queues go, the admin queue stays. */
	assert_int_equal(nvmf_loop_set_cc(&f->admin, (6u << 16) | (4u << 20)), OK);
	for (int i = 0; i < 4; i++)
		nvmf_loop_step();
	assert_true(io->finished);
	assert_false(f->admin.finished);
	assert_int_equal(f->admin.qpair.ctrlr->csts.bits.rdy, 0);
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
	/* Enabled again, an I/O queue connects again on the same qid. */
	assert_int_equal(nvmf_loop_set_cc(&f->admin, 1u | (6u << 16) | (4u << 20)), OK);
	assert_int_equal(nvmf_loop_io_open(f, io, 1, f->cntlid), OK);
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
}

static void test_admin_queue_takes_io_queues(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *io[2] = {nvmf_loop_qpair_spare(f), nvmf_loop_qpair_spare(f)};

	assert_int_equal(nvmf_loop_ctrlr_open(f, &f->admin, &f->cntlid), 0);
	assert_int_equal(nvmf_loop_io_open(f, io[0], 1, f->cntlid), OK);
	assert_int_equal(nvmf_loop_io_open(f, io[1], 2, f->cntlid), OK);
	assert_int_equal(nvmf_loop_qpair_close(&f->admin), 0);
	for (int i = 0; i < 4; i++)
		nvmf_loop_step();
	assert_true(io[0]->finished);
	assert_true(io[1]->finished);
	/* The last queue gone, the controller is freed. */
	assert_true(TAILQ_EMPTY(&f->subsys->ctrlrs));
}

static void test_keep_alive_expiry(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_sqe kato = {
	    .opc = NVME_OPC_SET_FEATURES, .cdw10 = NVME_FEAT_KEEP_ALIVE_TIMER, .cdw11 = 200};
	struct nvme_sqe ka = {.opc = NVME_OPC_KEEP_ALIVE};
	struct nvmf_loop_qpair *io = nvmf_loop_qpair_spare(f);

	assert_int_equal(nvmf_loop_ctrlr_open(f, &f->admin, &f->cntlid), 0);
	assert_int_equal(nvmf_loop_io_open(f, io, 1, f->cntlid), OK);
	assert_int_equal(nvmf_loop_exec(&f->admin, &kato, NULL, 0, UNVMF_XFER_NONE, NULL), OK);
	/* Keep-alives every 150 ms (steps are 1 ms) keep it alive for a second-> */
	for (int i = 0; i < 1000; i++) {
		if (i % 150 == 0)
			assert_int_equal(
			    nvmf_loop_exec(&f->admin, &ka, NULL, 0, UNVMF_XFER_NONE, NULL), OK);
		nvmf_loop_step();
	}
	assert_false(f->admin.finished);
	assert_false(io->finished);
	/* Then silence: within KATO plus a check period, every queue goes. */
	for (int i = 0; i < 300; i++)
		nvmf_loop_step();
	assert_true(f->admin.finished);
	assert_true(io->finished);
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_connect_admin_refusals, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_connect_admin_creates_controller, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_properties, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_connect_io_queue, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_number_of_queues_limits_connect, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_reset_disconnects_io_queues, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_admin_queue_takes_io_queues, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_keep_alive_expiry, setup, nvmf_loop_fixture_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
