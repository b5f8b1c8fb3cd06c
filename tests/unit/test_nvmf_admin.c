/*
 * The core's admin commands (src/nvmf/admin.c) on an enabled controller of
 * the in-process target (tests/common/nvmf_loop): Identify by CNS with the
 * fields it fills, Get Log Page offsets and lengths, Get/Set Features
 * (Number of Queues, Keep Alive Timer, Volatile Write Cache) and the status
 * of every refusal.
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

static int setup(void **state)
{
	return nvmf_loop_fixture_open(state, NVMF_LOOP_CTRLR);
}

static int identify(struct nvmf_loop *f, uint8_t cns, uint32_t nsid, uint32_t len)
{
	struct nvme_sqe sqe = {.opc = NVME_OPC_IDENTIFY, .nsid = nsid, .cdw10 = cns};

	memset(f->buf, 0xee, sizeof(f->buf));
	return nvmf_loop_exec(&f->admin, &sqe, f->buf, len, UNVMF_XFER_CONTROLLER_TO_HOST, NULL);
}

/* Get Log Page of lid: len bytes (a multiple of 4) at offset, into f->buf. */
static int get_log(struct nvmf_loop *f, uint8_t lid, uint64_t offset, uint32_t len, bool rae)
{
	uint32_t numd = len / 4 - 1;
	struct nvme_sqe sqe = {
	    .opc = NVME_OPC_GET_LOG_PAGE,
	    .cdw10 = lid | (rae ? NVME_LOG_RAE : 0) | (numd << 16),
	    .cdw11 = numd >> 16,
	    .cdw12 = (uint32_t)offset,
	    .cdw13 = (uint32_t)(offset >> 32),
	};

	memset(f->buf, 0xee, sizeof(f->buf));
	return nvmf_loop_exec(&f->admin, &sqe, f->buf, len, UNVMF_XFER_CONTROLLER_TO_HOST, NULL);
}

static int features(struct nvmf_loop *f, bool set, uint32_t cdw10, uint32_t cdw11, uint32_t *cdw0)
{
	struct nvme_sqe sqe = {
	    .opc = set ? NVME_OPC_SET_FEATURES : NVME_OPC_GET_FEATURES,
	    .cdw10 = cdw10,
	    .cdw11 = cdw11,
	};
	struct nvme_cqe cqe;
	int rc = nvmf_loop_exec(&f->admin, &sqe, NULL, 0, UNVMF_XFER_NONE, &cqe);

	if (cdw0)
		*cdw0 = cqe.cdw0;
	return rc;
}

static void test_identify_controller(void **state)
{
	struct nvmf_loop *f = *state;
	const struct nvme_id_ctrl *cd = (const void *)f->buf;
	char want[41];

	assert_int_equal(identify(f, NVME_CNS_CONTROLLER, 0, 4096), OK);
	memset(want, ' ', 20);
	memcpy(want, NVMF_LOOP_SERIAL, strlen(NVMF_LOOP_SERIAL));
	assert_memory_equal(cd->sn, want, 20);
	assert_int_equal(cd->cntlid, f->cntlid);
	assert_int_equal(cd->ver, NVME_VERSION(1, 3, 0));
	/* 128 KiB max I/O in 4 KiB pages: 2^5. */
	assert_int_equal(cd->mdts, 5);
	assert_int_equal(cd->cntrltype, 1);
	assert_int_equal(cd->sqes, 0x66);
	assert_int_equal(cd->cqes, 0x44);
	assert_int_equal(cd->nn, NVMF_LOOP_MAX_NS);
	assert_int_equal(cd->oncs, NVME_ONCS_COMPARE | NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES |
	                               NVME_ONCS_RESERVATIONS);
	assert_int_equal(cd->ctratt & 1, 1); /* 128-bit host identifiers */
	assert_int_equal(cd->fuses, NVME_FUSES_COMPARE_AND_WRITE);
	assert_int_equal(cd->vwc, NVME_VWC_PRESENT);
	assert_int_equal(cd->elpe, 15);
	assert_int_equal(cd->aerl, UNVMF_MAX_AER - 1);
	assert_int_equal(cd->kas, 1);
	assert_int_equal(cd->maxcmd, 128);
	/* 64-byte SQE + 4 KiB in-capsule data, in 16-byte units. */
	assert_int_equal(cd->ioccsz, (64 + 4096) / 16);
	assert_int_equal(cd->iorcsz, 1);
	assert_string_equal(cd->subnqn, NVMF_LOOP_SUBNQN);
	/* Nothing beyond the 4 KiB structure is written. */
	assert_int_equal(f->buf[4096], 0xee);
}

static void test_identify_namespace(void **state)
{
	struct nvmf_loop *f = *state;
	const struct nvme_id_ns *ns = (const void *)f->buf;
	static const uint8_t zero[4096];

	assert_int_equal(identify(f, NVME_CNS_NAMESPACE, 1, 4096), OK);
	assert_int_equal(ns->nsze, 2048);
	assert_int_equal(ns->ncap, 2048);
	assert_int_equal(ns->nuse, 2048);
	assert_int_equal(ns->nlbaf, 0);
	assert_int_equal(ns->flbas, 0);
	assert_int_equal(ns->lbaf[0].lbads, 9);
	/* An allocated but inactive NSID: all zeroes, success. */
	assert_int_equal(identify(f, NVME_CNS_NAMESPACE, 2, 4096), OK);
	assert_memory_equal(f->buf, zero, 4096);
	/* Beyond NN, or 0: Invalid Namespace or Format. */
	assert_int_equal(identify(f, NVME_CNS_NAMESPACE, NVMF_LOOP_MAX_NS + 1, 4096),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	assert_int_equal(identify(f, NVME_CNS_NAMESPACE, 0, 4096),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
}

static void test_identify_active_ns_list_and_descriptors(void **state)
{
	struct nvmf_loop *f = *state;
	const uint32_t *list = (const void *)f->buf;
	const struct nvme_ns_id_desc *d = (const void *)f->buf;

	assert_int_equal(identify(f, NVME_CNS_ACTIVE_NS_LIST, 0, 4096), OK);
	assert_int_equal(list[0], 1);
	assert_int_equal(list[1], 0);
	/* Only NSIDs above the one given. */
	assert_int_equal(identify(f, NVME_CNS_ACTIVE_NS_LIST, 1, 4096), OK);
	assert_int_equal(list[0], 0);
	assert_int_equal(identify(f, NVME_CNS_ACTIVE_NS_LIST, 0xfffffffe, 4096),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));

	/* No EUI-64 or NGUID given: the UUID descriptor alone, the bdev's UUID. */
	assert_int_equal(identify(f, NVME_CNS_NS_DESCRIPTOR_LIST, 1, 4096), OK);
	assert_int_equal(d->nidt, NVME_NIDT_UUID);
	assert_int_equal(d->nidl, 16);
	assert_memory_equal(f->buf + sizeof(*d), f->subsys->ns[0]->uuid, 16);
	assert_int_equal(f->buf[sizeof(*d) + 16], 0);
	assert_int_equal(identify(f, NVME_CNS_NS_DESCRIPTOR_LIST, 2, 4096),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
}

static void test_identify_refusals(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_sqe sqe = {.opc = NVME_OPC_IDENTIFY, .cdw10 = NVME_CNS_CONTROLLER};

	/* Shorter than the 4 KiB structure, or in the wrong direction. */
	assert_int_equal(identify(f, NVME_CNS_CONTROLLER, 0, 4092),
	                 ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	assert_int_equal(
	    nvmf_loop_exec(&f->admin, &sqe, f->buf, 4096, UNVMF_XFER_HOST_TO_CONTROLLER, NULL),
	    ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	/* CNSes the controller does not implement (NVM Set List, the I/O command set's active
	 * list). */
	assert_int_equal(identify(f, 0x07, 0, 4096), ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	assert_int_equal(identify(f, NVME_CNS_NVM_SET_LIST, 0, 4096),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
}

static int identify_csi(struct nvmf_loop *f, uint8_t cns, uint32_t nsid, uint8_t csi)
{
	struct nvme_sqe sqe = {
	    .opc = NVME_OPC_IDENTIFY, .nsid = nsid, .cdw10 = cns, .cdw11 = (uint32_t)csi << 24};

	memset(f->buf, 0xee, sizeof(f->buf));
	return nvmf_loop_exec(&f->admin, &sqe, f->buf, 4096, UNVMF_XFER_CONTROLLER_TO_HOST, NULL);
}

static bool all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b[i])
			return false;
	}
	return true;
}

static void test_identify_command_set_structures(void **state)
{
	struct nvmf_loop *f = *state;
	const struct nvme_id_ns_indep *ind = (const void *)f->buf;
	const uint64_t *vec = (const void *)f->buf;

	/* CNS 05h, NVM: no protection information, no extended formats: all zero. */
	assert_int_equal(identify_csi(f, NVME_CNS_IOCS_NAMESPACE, 1, NVME_CSI_NVM), OK);
	assert_true(all_zero(f->buf, 4096));
	assert_int_equal(f->buf[4096], 0xee);
	assert_int_equal(identify_csi(f, NVME_CNS_IOCS_NAMESPACE, 2, NVME_CSI_NVM), OK);
	assert_true(all_zero(f->buf, 4096));
	assert_int_equal(identify_csi(f, NVME_CNS_IOCS_NAMESPACE, 0, NVME_CSI_NVM),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	assert_int_equal(
	    identify_csi(f, NVME_CNS_IOCS_NAMESPACE, NVMF_LOOP_MAX_NS + 1, NVME_CSI_NVM),
	    ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	/* Key Value (01h) and Zoned (02h) are not implemented. */
	assert_int_equal(identify_csi(f, NVME_CNS_IOCS_NAMESPACE, 1, 0x02),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	/* CNS 06h, NVM: no limits beyond the commands' own fields. */
	assert_int_equal(identify_csi(f, NVME_CNS_IOCS_CONTROLLER, 0, NVME_CSI_NVM), OK);
	assert_true(all_zero(f->buf, sizeof(struct nvme_id_ctrl_nvm)));
	assert_int_equal(identify_csi(f, NVME_CNS_IOCS_CONTROLLER, 0, 0x01),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	/* CNS 08h: an active namespace is shared and ready; an unused NSID is zeroes. */
	assert_int_equal(identify_csi(f, NVME_CNS_INDEP_NAMESPACE, 1, 0), OK);
	assert_int_equal(ind->nmic, 1);
	assert_int_equal(ind->nstat, 1);
	assert_int_equal(ind->nsfeat, 0);
	assert_int_equal(ind->anagrpid, 0);
	assert_true(all_zero(ind->rsvd15, sizeof(ind->rsvd15)));
	assert_int_equal(identify_csi(f, NVME_CNS_INDEP_NAMESPACE, 2, 0), OK);
	assert_true(all_zero(f->buf, 4096));
	assert_int_equal(identify_csi(f, NVME_CNS_INDEP_NAMESPACE, 0, 0),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT));
	/* CNS 1Ch: one combination, the NVM command set alone. */
	assert_int_equal(identify_csi(f, NVME_CNS_IOCS, 0, 0), OK);
	assert_int_equal(vec[0], 1);
	assert_true(all_zero(f->buf + 8, 4096 - 8));
}

static void test_command_effects_log(void **state)
{
	struct nvmf_loop *f = *state;
	const struct nvme_cmd_effects_log *log = (const void *)f->buf;
	const struct nvme_id_ctrl *cd = (const void *)f->buf;
	const uint8_t admin[] = {0x02, 0x06, 0x08, 0x09, 0x0a, 0x0c, 0x18};
	unsigned n_acs = 0, n_iocs = 0;

	assert_int_equal(identify(f, NVME_CNS_CONTROLLER, 0, 4096), OK);
	assert_true(cd->lpa & NVME_LPA_COMMAND_EFFECTS);
	assert_int_equal(get_log(f, NVME_LOG_COMMAND_EFFECTS, 0, 4096, false), OK);
	for (size_t i = 0; i < sizeof(admin); i++)
		assert_int_equal(log->acs[admin[i]], NVME_CMD_EFFECTS_CSUPP);
	assert_int_equal(log->iocs[NVME_OPC_READ], NVME_CMD_EFFECTS_CSUPP);
	assert_int_equal(log->iocs[NVME_OPC_FLUSH], NVME_CMD_EFFECTS_CSUPP);
	assert_int_equal(log->iocs[NVME_OPC_COMPARE], NVME_CMD_EFFECTS_CSUPP);
	assert_int_equal(log->iocs[NVME_OPC_WRITE], NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
	assert_int_equal(log->iocs[NVME_OPC_WRITE_ZEROES],
	                 NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
	assert_int_equal(log->iocs[NVME_OPC_DATASET_MANAGEMENT],
	                 NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
	/* Nothing else is claimed. */
	for (unsigned i = 0; i < 256; i++) {
		n_acs += log->acs[i] != 0;
		n_iocs += log->iocs[i] != 0;
	}
	assert_int_equal(n_acs, sizeof(admin));
	for (unsigned opc = NVME_OPC_RESERVATION_REGISTER; opc <= NVME_OPC_RESERVATION_RELEASE; opc++)
		if (opc == 0x0d || opc == 0x0e || opc == 0x11 || opc == 0x15)
			assert_int_equal(log->iocs[opc], NVME_CMD_EFFECTS_CSUPP);
	assert_int_equal(n_iocs, 10);
	assert_true(all_zero(log->rsvd2048, sizeof(log->rsvd2048)));
	/* Every listed admin opcode is really implemented: none answers Invalid Opcode. */
	for (size_t i = 0; i < sizeof(admin); i++) {
		struct nvme_sqe sqe = {.opc = admin[i]};

		if (admin[i] == NVME_OPC_ASYNC_EVENT_REQUEST || admin[i] == NVME_OPC_ABORT)
			continue; /* held, or needs an I/O queue: covered elsewhere */
		assert_int_not_equal(nvmf_loop_exec(&f->admin, &sqe, f->buf, 4096,
		                                    (admin[i] & 3) == 2
		                                        ? UNVMF_XFER_CONTROLLER_TO_HOST
		                                        : UNVMF_XFER_NONE,
		                                    NULL),
		                     ST(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE));
	}
	/* A part of the page at an offset. */
	assert_int_equal(get_log(f, NVME_LOG_COMMAND_EFFECTS, 1024 + 4 * NVME_OPC_WRITE, 4, false),
	                 OK);
	assert_int_equal(*(const uint32_t *)f->buf, NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC);
}

static void test_get_log_page_offsets_and_lengths(void **state)
{
	struct nvmf_loop *f = *state;
	uint8_t full[64];

	/* Firmware Slot: AFI 1, slot 1 holds the revision, space padded. */
	assert_int_equal(get_log(f, NVME_LOG_FIRMWARE_SLOT, 0, 512, false), OK);
	assert_int_equal(f->buf[0], 1);
	assert_memory_equal(f->buf + 8, "0.1     ", 8);
	assert_int_equal(f->buf[16], 0);
	/* Exactly len bytes are written. */
	assert_int_equal(f->buf[512], 0xee);
	memcpy(full, f->buf, sizeof(full));
	/* The same bytes read from offset 8 land at the start. */
	assert_int_equal(get_log(f, NVME_LOG_FIRMWARE_SLOT, 8, 8, false), OK);
	assert_memory_equal(f->buf, full + 8, 8);
	assert_int_equal(f->buf[8], 0xee);
	/* Past the page's 512 bytes: zeroes, still success. */
	assert_int_equal(get_log(f, NVME_LOG_FIRMWARE_SLOT, 508, 16, false), OK);
	for (int i = 0; i < 16; i++)
		assert_int_equal(f->buf[i], 0);
	/* An offset that is not dword aligned. */
	assert_int_equal(get_log(f, NVME_LOG_FIRMWARE_SLOT, 2, 8, false),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	/* NUMD asks for more than the buffer holds. */
	{
		struct nvme_sqe sqe = {.opc = NVME_OPC_GET_LOG_PAGE,
		                       .cdw10 = NVME_LOG_FIRMWARE_SLOT | ((512 / 4 - 1) << 16)};

		assert_int_equal(nvmf_loop_exec(&f->admin, &sqe, f->buf, 256,
		                                UNVMF_XFER_CONTROLLER_TO_HOST, NULL),
		                 ST(NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID));
	}
	/* A log page the controller does not have; the discovery log on an NVM subsystem. */
	assert_int_equal(get_log(f, NVME_LOG_DEVICE_SELF_TEST, 0, 512, false),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVME_SC_INVALID_LOG_PAGE));
	assert_int_equal(get_log(f, NVME_LOG_DISCOVERY, 0, 512, false),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVME_SC_INVALID_LOG_PAGE));
}

static void test_error_and_health_logs(void **state)
{
	struct nvmf_loop *f = *state;
	const struct nvme_error_log_entry *e = (const void *)f->buf;
	const struct nvme_health_log *h = (const void *)f->buf;
	struct nvme_cqe cqe;

	/* Nothing failed yet. */
	assert_int_equal(get_log(f, NVME_LOG_ERROR, 0, 64, false), OK);
	assert_int_equal(e->error_count, 0);
	/* A refused Identify (cid 9) is recorded, and its completion says so (M bit). */
	{
		struct nvme_sqe sqe = {.opc = NVME_OPC_IDENTIFY, .cid = 9, .cdw10 = 0x7f};

		assert_int_equal(nvmf_loop_exec(&f->admin, &sqe, f->buf, 4096,
		                                UNVMF_XFER_CONTROLLER_TO_HOST, &cqe),
		                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
		assert_int_equal(cqe.status.s.m, 1);
		assert_int_equal(cqe.status.s.dnr, 1);
		assert_int_equal(cqe.cid, 9);
		assert_int_equal(cqe.sqid, 0);
	}
	assert_int_equal(get_log(f, NVME_LOG_ERROR, 0, 128, false), OK);
	assert_int_equal(e[0].error_count, 1);
	assert_int_equal(e[0].sqid, 0);
	assert_int_equal(e[0].cid, 9);
	assert_int_equal(e[0].status, (NVME_SC_INVALID_FIELD << 1) | (1u << 15));
	assert_int_equal(e[1].error_count, 0);
	/* The second entry alone, by offset. */
	assert_int_equal(get_log(f, NVME_LOG_ERROR, 64, 64, false), OK);
	assert_int_equal(e[0].error_count, 0);

	/* SMART / Health: the error above counted, no I/O yet. */
	assert_int_equal(get_log(f, NVME_LOG_HEALTH, 0, 512, false), OK);
	assert_int_equal(h->num_err_log_entries[0], 1);
	assert_int_equal(h->host_reads[0], 0);
	assert_int_equal(h->avail_spare, 100);
	assert_int_equal(h->spare_thresh, 10);
	assert_int_equal(h->temperature[0] | (h->temperature[1] << 8), 310);
}

static void test_features_number_of_queues(void **state)
{
	struct nvmf_loop *f = *state;
	uint32_t cdw0 = 0;

	/* Until set: every queue the transport allows (4), 0's based. */
	assert_int_equal(features(f, false, NVME_FEAT_NUMBER_OF_QUEUES, 0, &cdw0), OK);
	assert_int_equal(cdw0, 3 | (3u << 16));
	/* Asking for 2 SQs and 3 CQs grants the smaller, 2 of each. */
	assert_int_equal(features(f, true, NVME_FEAT_NUMBER_OF_QUEUES, 1 | (2u << 16), &cdw0), OK);
	assert_int_equal(cdw0, 1 | (1u << 16));
	/* Asking for more than there are grants the limit. */
	assert_int_equal(features(f, true, NVME_FEAT_NUMBER_OF_QUEUES, 99 | (99u << 16), &cdw0),
	                 OK);
	assert_int_equal(cdw0, 3 | (3u << 16));
	/* 65536 queues (0xffff, 0's based) is reserved. */
	assert_int_equal(features(f, true, NVME_FEAT_NUMBER_OF_QUEUES, 0xffff, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	/* Saving is refused: nothing is saveable. */
	assert_int_equal(features(f, true, NVME_FEAT_NUMBER_OF_QUEUES | (1u << 31), 0, NULL),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVME_SC_FEATURE_ID_NOT_SAVEABLE));
	/* SEL 3, supported capabilities: changeable. */
	assert_int_equal(features(f, false, NVME_FEAT_NUMBER_OF_QUEUES | (3u << 8), 0, &cdw0), OK);
	assert_int_equal(cdw0, 0x4);
}

static void test_features_number_of_queues_after_io_queue(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvmf_loop_qpair *io = nvmf_loop_qpair_spare(f);
	uint32_t cdw0 = 0;

	assert_int_equal(features(f, true, NVME_FEAT_NUMBER_OF_QUEUES, 0, &cdw0), OK);
	assert_int_equal(cdw0, 0);
	assert_int_equal(nvmf_loop_io_open(f, io, 1, f->cntlid), 0);
	/* Only before an I/O queue exists. */
	assert_int_equal(features(f, true, NVME_FEAT_NUMBER_OF_QUEUES, 3 | (3u << 16), NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR));
	assert_int_equal(nvmf_loop_qpair_close(io), 0);
}

static void test_features_keep_alive_timer(void **state)
{
	struct nvmf_loop *f = *state;
	uint32_t cdw0 = 1;

	assert_int_equal(features(f, false, NVME_FEAT_KEEP_ALIVE_TIMER, 0, &cdw0), OK);
	assert_int_equal(cdw0, 0);
	/* Rounded up to the 100 ms granularity (KAS). */
	assert_int_equal(features(f, true, NVME_FEAT_KEEP_ALIVE_TIMER, 1250, &cdw0), OK);
	assert_int_equal(cdw0, 1300);
	assert_int_equal(features(f, false, NVME_FEAT_KEEP_ALIVE_TIMER, 0, &cdw0), OK);
	assert_int_equal(cdw0, 1300);
	assert_int_equal(f->admin.qpair.ctrlr->kato_ms, 1300);
	assert_int_equal(features(f, true, NVME_FEAT_KEEP_ALIVE_TIMER, 0, &cdw0), OK);
	assert_int_equal(cdw0, 0);
}

static void test_features_volatile_write_cache(void **state)
{
	struct nvmf_loop *f = *state;
	uint32_t cdw0 = 0;

	/* On by default. */
	assert_int_equal(features(f, false, NVME_FEAT_VOLATILE_WRITE_CACHE, 0, &cdw0), OK);
	assert_int_equal(cdw0, 1);
	assert_int_equal(features(f, true, NVME_FEAT_VOLATILE_WRITE_CACHE, 0, &cdw0), OK);
	assert_int_equal(cdw0, 0);
	assert_int_equal(features(f, false, NVME_FEAT_VOLATILE_WRITE_CACHE, 0, &cdw0), OK);
	assert_int_equal(cdw0, 0);
	assert_false(atomic_load(&f->admin.qpair.ctrlr->vwc_enabled));
	/* Only WCE (bit 0) counts. */
	assert_int_equal(features(f, true, NVME_FEAT_VOLATILE_WRITE_CACHE, 0xfffffffe, &cdw0), OK);
	assert_int_equal(cdw0, 0);
	assert_int_equal(features(f, true, NVME_FEAT_VOLATILE_WRITE_CACHE, 1, &cdw0), OK);
	assert_int_equal(cdw0, 1);
}

static void test_features_other(void **state)
{
	struct nvmf_loop *f = *state;
	uint32_t cdw0 = 0;

	assert_int_equal(features(f, false, NVME_FEAT_TEMPERATURE_THRESHOLD, 0, &cdw0), OK);
	assert_int_equal(cdw0, 0x157);
	assert_int_equal(features(f, true, NVME_FEAT_ASYNC_EVENT_CONFIGURATION, 0x100, &cdw0), OK);
	assert_int_equal(features(f, false, NVME_FEAT_ASYNC_EVENT_CONFIGURATION, 0, &cdw0), OK);
	assert_int_equal(cdw0, 0x100);
	/* The host identifier is set by Connect: not changeable. */
	assert_int_equal(features(f, true, NVME_FEAT_HOST_IDENTIFIER, 1, NULL),
	                 ST(NVME_SCT_COMMAND_SPECIFIC, NVME_SC_FEATURE_NOT_CHANGEABLE));
	/* A feature the controller does not have. */
	assert_int_equal(features(f, false, NVME_FEAT_LBA_RANGE_TYPE, 0, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
}

static void test_unknown_admin_opcode(void **state)
{
	struct nvmf_loop *f = *state;
	struct nvme_sqe sqe = {.opc = NVME_OPC_FORMAT_NVM};

	assert_int_equal(nvmf_loop_exec(&f->admin, &sqe, NULL, 0, UNVMF_XFER_NONE, NULL),
	                 ST(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identify_controller, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_identify_namespace, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_identify_active_ns_list_and_descriptors, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_identify_refusals, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_identify_command_set_structures, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_command_effects_log, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_get_log_page_offsets_and_lengths, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_error_and_health_logs, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_features_number_of_queues, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_features_number_of_queues_after_io_queue, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_features_keep_alive_timer, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_features_volatile_write_cache, setup,
	                                    nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_features_other, setup, nvmf_loop_fixture_close),
	    cmocka_unit_test_setup_teardown(test_unknown_admin_opcode, setup,
	                                    nvmf_loop_fixture_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
