/*
 * The controller's error staging (src/nvmf/ctrlr_log.c): records per qid,
 * numbering at collection, the 16-entry log keeping the newest, and errors
 * that found a qid's ring full still counted in Error Count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nvmf/nvmf_internal.h"

struct fixture {
	struct unvmf_ctrlr ctrlr;
	struct unvmf_qpair qpair[3];
	struct unvmf_req req;
};

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ctrlr.max_qid = 2;
	f->ctrlr.qlog = calloc(3, sizeof(*f->ctrlr.qlog));
	assert_non_null(f->ctrlr.qlog);
	f->ctrlr.listen_trid.trtype = NVMF_TRTYPE_TCP;
	for (uint16_t q = 0; q < 3; q++) {
		f->qpair[q].qid = q;
		f->qpair[q].ctrlr = &f->ctrlr;
	}
	return f;
}

static void fixture_free(struct fixture *f)
{
	free(f->ctrlr.qlog);
	free(f);
}

static bool post(struct fixture *f, uint16_t qid, uint8_t opc, uint16_t cid, uint64_t slba,
                 uint8_t sct, uint8_t sc)
{
	struct unvmf_req *req = &f->req;

	memset(req, 0, sizeof(*req));
	req->qpair = &f->qpair[qid];
	req->cmd.opc = opc;
	req->cmd.cid = cid;
	req->cmd.nsid = 1;
	req->cmd.cdw10 = (uint32_t)slba;
	req->cmd.cdw11 = (uint32_t)(slba >> 32);
	unvmf_req_set_status(req, sct, sc);
	return unvmf_ctrlr_error_post(&f->ctrlr, req);
}

static void test_record_fields(void **state)
{
	struct fixture *f = fixture_new();
	struct nvme_error_log_entry *e;

	assert_true(post(f, 1, NVME_OPC_READ, 7, 0x100000000ull + 5, NVME_SCT_GENERIC,
	                 NVME_SC_LBA_OUT_OF_RANGE));
	assert_true(post(f, 0, NVME_OPC_IDENTIFY, 3, 0, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	/* Staged, not numbered, until the admin thread collects. */
	assert_int_equal(f->ctrlr.num_errors, 0);
	unvmf_ctrlr_errors_collect(&f->ctrlr);
	assert_int_equal(f->ctrlr.num_errors, 2);
	assert_int_equal(f->ctrlr.err_count, 2);
	/* Collected by qid: the admin queue's first. */
	e = &f->ctrlr.errors[0];
	assert_int_equal(e->error_count, 1);
	assert_int_equal(e->sqid, 0);
	assert_int_equal(e->cid, 3);
	assert_int_equal(e->lba, 0);
	assert_int_equal(e->error_location, 0xffff);
	e = &f->ctrlr.errors[1];
	assert_int_equal(e->error_count, 2);
	assert_int_equal(e->sqid, 1);
	assert_int_equal(e->cid, 7);
	assert_int_equal(e->nsid, 1);
	assert_int_equal(e->lba, 0x100000000ull + 5);
	assert_int_equal(e->error_location, offsetof(struct nvme_sqe, cdw10));
	assert_int_equal(e->status, (NVME_SC_LBA_OUT_OF_RANGE << 1) | (1u << 15));
	assert_int_equal(e->trtype, NVMF_TRTYPE_TCP);
	fixture_free(f);
}

static void test_ring_full_still_counts(void **state)
{
	struct fixture *f = fixture_new();

	for (uint16_t i = 0; i < UNVMF_QUEUE_ERROR_RING; i++)
		assert_true(
		    post(f, 2, NVME_OPC_WRITE, i, i, NVME_SCT_MEDIA_ERROR, NVME_SC_WRITE_FAULT));
	/* Three more before anyone collects: no record, but counted. */
	for (uint16_t i = 0; i < 3; i++)
		assert_false(post(f, 2, NVME_OPC_WRITE, 100 + i, 0, NVME_SCT_MEDIA_ERROR,
		                  NVME_SC_WRITE_FAULT));
	unvmf_ctrlr_errors_collect(&f->ctrlr);
	assert_int_equal(f->ctrlr.num_errors, UNVMF_QUEUE_ERROR_RING);
	assert_int_equal(f->ctrlr.err_count, UNVMF_QUEUE_ERROR_RING + 3);
	assert_int_equal(f->ctrlr.errors[UNVMF_QUEUE_ERROR_RING - 1].cid,
	                 UNVMF_QUEUE_ERROR_RING - 1);
	/* Media errors carry the LBA. */
	assert_int_equal(f->ctrlr.errors[1].lba, 1);
	/* The ring has room again; the next one is numbered after the dropped ones. */
	assert_true(post(f, 2, NVME_OPC_WRITE, 200, 0, NVME_SCT_MEDIA_ERROR, NVME_SC_WRITE_FAULT));
	unvmf_ctrlr_errors_collect(&f->ctrlr);
	assert_int_equal(f->ctrlr.errors[f->ctrlr.num_errors - 1].error_count,
	                 UNVMF_QUEUE_ERROR_RING + 4);
	/* Collecting again finds nothing new. */
	unvmf_ctrlr_errors_collect(&f->ctrlr);
	assert_int_equal(f->ctrlr.err_count, UNVMF_QUEUE_ERROR_RING + 4);
	fixture_free(f);
}

static void test_log_keeps_newest(void **state)
{
	struct fixture *f = fixture_new();
	unsigned total = 0;

	for (unsigned round = 0; round < 10; round++) {
		for (uint16_t i = 0; i < UNVMF_QUEUE_ERROR_RING; i++) {
			assert_true(post(f, 1, NVME_OPC_READ, (uint16_t)total, 0, NVME_SCT_GENERIC,
			                 NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
			total++;
		}
		unvmf_ctrlr_errors_collect(&f->ctrlr);
	}
	assert_int_equal(f->ctrlr.num_errors, UNVMF_ARRAY_SIZE(f->ctrlr.errors));
	assert_int_equal(f->ctrlr.err_count, total);
	for (unsigned i = 0; i < f->ctrlr.num_errors; i++) {
		const struct nvme_error_log_entry *e = &f->ctrlr.errors[i];

		assert_int_equal(e->error_count, total - f->ctrlr.num_errors + 1 + i);
		assert_int_equal(e->cid, e->error_count - 1);
		assert_int_equal(e->error_location, offsetof(struct nvme_sqe, nsid));
	}
	fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_fields),
	    cmocka_unit_test(test_ring_full_still_counts),
	    cmocka_unit_test(test_log_keeps_newest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
