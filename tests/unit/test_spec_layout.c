/*
 * Wire-format headers: the layouts are checked by static_assert inside the
 * headers; this checks bit-field placement, which static_assert cannot see.
 */
#include <stdio.h>
#include <string.h>

#include "unvmf/nvme_spec.h"
#include "unvmf/nvme_tcp_spec.h"
#include "unvmf/nvmf_spec.h"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void check_status(void)
{
	struct nvme_cqe cqe;

	memset(&cqe, 0, sizeof(cqe));
	cqe.status.s.sct = NVME_SCT_COMMAND_SPECIFIC;
	cqe.status.s.sc = NVMF_SC_INVALID_PARAM;
	CHECK(cqe.status.raw == ((NVME_SCT_COMMAND_SPECIFIC << 9) | (NVMF_SC_INVALID_PARAM << 1)));

	cqe.status.raw = 0;
	cqe.status.s.p = 1;
	cqe.status.s.dnr = 1;
	cqe.status.s.m = 1;
	cqe.status.s.crd = 2;
	CHECK(cqe.status.raw == (1u | (1u << 15) | (1u << 14) | (2u << 12)));
}

static void check_sqe(void)
{
	struct nvme_sqe sqe;
	uint8_t raw[64];

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = NVME_OPC_WRITE;
	sqe.psdt = NVME_PSDT_SGL_MPTR_CONTIG;
	sqe.fuse = 1;
	sqe.dptr.sgl1.unkeyed.type = NVME_SGL_TYPE_DATA_BLOCK;
	sqe.dptr.sgl1.unkeyed.subtype = NVME_SGL_SUBTYPE_OFFSET;
	sqe.dptr.sgl1.unkeyed.length = 0x1000;
	memcpy(raw, &sqe, sizeof(raw));
	CHECK(raw[1] == ((1u << 6) | 1u));
	CHECK(raw[24 + 15] == 0x01);
	CHECK(raw[24 + 8] == 0x00 && raw[24 + 9] == 0x10);
	CHECK(nvme_opc_data_direction(NVME_OPC_WRITE) == NVME_DATA_HOST_TO_CONTROLLER);
	CHECK(nvme_opc_data_direction(NVME_OPC_READ) == NVME_DATA_CONTROLLER_TO_HOST);
	CHECK(nvme_opc_data_direction(NVME_OPC_FLUSH) == NVME_DATA_NONE);

	memset(&sqe, 0, sizeof(sqe));
	sqe.dptr.sgl1.keyed.type = NVME_SGL_TYPE_KEYED_DATA_BLOCK;
	sqe.dptr.sgl1.keyed.subtype = NVME_SGL_SUBTYPE_INVALIDATE_KEY;
	sqe.dptr.sgl1.keyed.length = 0xabcdef;
	sqe.dptr.sgl1.keyed.key = 0x11223344;
	memcpy(raw, &sqe, sizeof(raw));
	CHECK(raw[32] == 0xef && raw[33] == 0xcd && raw[34] == 0xab);
	CHECK(raw[35] == 0x44 && raw[38] == 0x11);
	CHECK(raw[39] == 0x4f);
}

static void check_registers(void)
{
	union nvme_cap_register cap = {.raw = 0};
	union nvme_cc_register cc = {.raw = 0};
	union nvme_csts_register csts = {.raw = 0};

	cap.bits.mqes = 127;
	cap.bits.to = 30;
	cap.bits.css = 1;
	cap.bits.mpsmax = 4;
	CHECK(cap.raw == (127ull | (30ull << 24) | (1ull << 37) | (4ull << 52)));

	cc.raw = 0x00460001;
	CHECK(cc.bits.en == 1 && cc.bits.iosqes == 6 && cc.bits.iocqes == 4);
	cc.raw = NVME_SHN_NORMAL << 14;
	CHECK(cc.bits.shn == NVME_SHN_NORMAL);

	csts.bits.rdy = 1;
	csts.bits.shst = NVME_SHST_COMPLETE;
	CHECK(csts.raw == 0x9);

	CHECK(NVME_VERSION(1, 3, 0) == 0x00010300);
}

static void check_misc(void)
{
	struct nvme_lbaf lbaf;
	struct nvmf_connect_rsp rsp;
	struct nvmf_property_get_cmd pg;
	uint8_t raw[64];

	memset(&lbaf, 0, sizeof(lbaf));
	lbaf.lbads = 12;
	lbaf.rp = 2;
	memcpy(raw, &lbaf, sizeof(lbaf));
	CHECK(raw[2] == 12 && raw[3] == 2);

	memset(&rsp, 0, sizeof(rsp));
	rsp.status_code_specific.invalid.iattr = 1;
	rsp.status_code_specific.invalid.ipo = 0x2c;
	CHECK(rsp.status_code_specific.raw == (1u | (0x2cu << 16)));

	memset(&pg, 0, sizeof(pg));
	pg.attrib.size = NVMF_PROPERTY_SIZE_8;
	memcpy(raw, &pg, sizeof(raw));
	CHECK(raw[40] == 1);

	CHECK(nvme_aer_cdw0(NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_ATTR_CHANGED,
	                    NVME_LOG_CHANGED_NS_LIST) == 0x00040002);
	CHECK(strlen(NVMF_DISCOVERY_NQN) <= NVMF_NQN_MAX_LEN);
}

int main(void)
{
	check_status();
	check_sqe();
	check_registers();
	check_misc();
	return failures ? 1 : 0;
}
