#pragma once
/*
 * NVMe Base Specification wire formats (rev 1.4, plus the few 2.0 values we
 * need). References are to NVMe Base 1.4 unless stated otherwise.
 *
 * Layouts assume a little-endian host (x86-64) and GCC bit-field ordering
 * (first member in the least significant bits); multi-byte fields are used
 * directly with no byte swapping. Bit-fields on uint8_t/uint16_t/uint64_t
 * are a GNU extension to C11.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__x86_64__) && !defined(__i386__)
#error "unvmf wire formats assume little-endian x86"
#endif

#define NVME_NSID_ALL 0xffffffffu

/* Scatter Gather List descriptor (4.4). The identifier is byte 15. */
enum nvme_sgl_type {
	NVME_SGL_TYPE_DATA_BLOCK = 0x0,
	NVME_SGL_TYPE_BIT_BUCKET = 0x1,
	NVME_SGL_TYPE_SEGMENT = 0x2,
	NVME_SGL_TYPE_LAST_SEGMENT = 0x3,
	NVME_SGL_TYPE_KEYED_DATA_BLOCK = 0x4,
	NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK = 0x5,
	NVME_SGL_TYPE_VENDOR_SPECIFIC = 0xf,
};

enum nvme_sgl_subtype {
	NVME_SGL_SUBTYPE_ADDRESS = 0x0,
	NVME_SGL_SUBTYPE_OFFSET = 0x1,
	/* Transport-specific values, from the NVMe-oF transport bindings. */
	NVME_SGL_SUBTYPE_TRANSPORT = 0xa,
	NVME_SGL_SUBTYPE_INVALIDATE_KEY = 0xf,
};

struct nvme_sgl_desc {
	union {
		struct {
			uint8_t reserved[15];
			uint8_t subtype : 4;
			uint8_t type : 4;
		} generic;
		struct {
			uint64_t address;
			uint32_t length;
			uint8_t reserved[3];
			uint8_t subtype : 4;
			uint8_t type : 4;
		} unkeyed;
		/* Keyed SGL Data Block: 3-byte length, 4-byte key (NVMe-oF RDMA). */
		struct {
			uint64_t address;
			uint64_t length : 24;
			uint64_t key : 32;
			uint64_t subtype : 4;
			uint64_t type : 4;
		} keyed;
	};
};
static_assert(sizeof(struct nvme_sgl_desc) == 16, "sgl desc size");

/* PRP or SGL for Data Transfer (CDW0 bits 15:14). */
enum nvme_psdt {
	NVME_PSDT_PRP = 0,
	NVME_PSDT_SGL_MPTR_CONTIG = 1,
	NVME_PSDT_SGL_MPTR_SGL = 2,
};

enum nvme_fuse {
	NVME_FUSE_NORMAL = 0,
	NVME_FUSE_FIRST = 1,
	NVME_FUSE_SECOND = 2,
};

/* Submission Queue Entry (4.2). */
struct nvme_sqe {
	uint8_t opc;
	uint8_t fuse : 2;
	uint8_t rsvd1 : 4;
	uint8_t psdt : 2;
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	union {
		struct {
			uint64_t prp1;
			uint64_t prp2;
		} prp;
		struct nvme_sgl_desc sgl1;
	} dptr;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
static_assert(sizeof(struct nvme_sqe) == 64, "sqe size");
static_assert(offsetof(struct nvme_sqe, cid) == 2, "sqe cid");
static_assert(offsetof(struct nvme_sqe, nsid) == 4, "sqe nsid");
static_assert(offsetof(struct nvme_sqe, mptr) == 16, "sqe mptr");
static_assert(offsetof(struct nvme_sqe, dptr) == 24, "sqe dptr");
static_assert(offsetof(struct nvme_sqe, cdw10) == 40, "sqe cdw10");
static_assert(offsetof(struct nvme_sqe, cdw15) == 60, "sqe cdw15");

/* Completion Queue Entry DW3 bits 31:16, phase tag included (4.6.1). */
struct nvme_status {
	uint16_t p : 1;
	uint16_t sc : 8;
	uint16_t sct : 3;
	uint16_t crd : 2;
	uint16_t m : 1;
	uint16_t dnr : 1;
};
static_assert(sizeof(struct nvme_status) == 2, "status size");

struct nvme_cqe {
	uint32_t cdw0;
	uint32_t cdw1;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	union {
		uint16_t raw;
		struct nvme_status s;
	} status;
};
static_assert(sizeof(struct nvme_cqe) == 16, "cqe size");
static_assert(offsetof(struct nvme_cqe, sqhd) == 8, "cqe sqhd");
static_assert(offsetof(struct nvme_cqe, cid) == 12, "cqe cid");
static_assert(offsetof(struct nvme_cqe, status) == 14, "cqe status");

/* Status Code Type (4.6.1.2). */
enum nvme_sct {
	NVME_SCT_GENERIC = 0x0,
	NVME_SCT_COMMAND_SPECIFIC = 0x1,
	NVME_SCT_MEDIA_ERROR = 0x2,
	NVME_SCT_PATH = 0x3,
	NVME_SCT_VENDOR = 0x7,
};

/* Generic Command Status (4.6.1.2.1), including NVM command set values. */
enum nvme_generic_sc {
	NVME_SC_SUCCESS = 0x00,
	NVME_SC_INVALID_OPCODE = 0x01,
	NVME_SC_INVALID_FIELD = 0x02,
	NVME_SC_COMMAND_ID_CONFLICT = 0x03,
	NVME_SC_DATA_TRANSFER_ERROR = 0x04,
	NVME_SC_ABORTED_POWER_LOSS = 0x05,
	NVME_SC_INTERNAL_DEVICE_ERROR = 0x06,
	NVME_SC_ABORTED_BY_REQUEST = 0x07,
	NVME_SC_ABORTED_SQ_DELETION = 0x08,
	NVME_SC_ABORTED_FAILED_FUSED = 0x09,
	NVME_SC_ABORTED_MISSING_FUSED = 0x0a,
	NVME_SC_INVALID_NAMESPACE_OR_FORMAT = 0x0b,
	NVME_SC_COMMAND_SEQUENCE_ERROR = 0x0c,
	NVME_SC_INVALID_SGL_SEG_DESCRIPTOR = 0x0d,
	NVME_SC_INVALID_NUM_SGL_DESCRIPTORS = 0x0e,
	NVME_SC_DATA_SGL_LENGTH_INVALID = 0x0f,
	NVME_SC_METADATA_SGL_LENGTH_INVALID = 0x10,
	NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID = 0x11,
	NVME_SC_INVALID_CONTROLLER_MEM_BUF = 0x12,
	NVME_SC_INVALID_PRP_OFFSET = 0x13,
	NVME_SC_ATOMIC_WRITE_UNIT_EXCEEDED = 0x14,
	NVME_SC_OPERATION_DENIED = 0x15,
	NVME_SC_INVALID_SGL_OFFSET = 0x16,
	NVME_SC_HOSTID_INCONSISTENT_FORMAT = 0x18,
	NVME_SC_KEEP_ALIVE_EXPIRED = 0x19,
	NVME_SC_KEEP_ALIVE_INVALID = 0x1a,
	NVME_SC_ABORTED_PREEMPT = 0x1b,
	NVME_SC_SANITIZE_FAILED = 0x1c,
	NVME_SC_SANITIZE_IN_PROGRESS = 0x1d,
	NVME_SC_SGL_DATA_BLOCK_GRANULARITY_INVALID = 0x1e,
	NVME_SC_COMMAND_INVALID_IN_CMB = 0x1f,
	NVME_SC_NAMESPACE_IS_WRITE_PROTECTED = 0x20,
	NVME_SC_COMMAND_INTERRUPTED = 0x21,
	NVME_SC_TRANSIENT_TRANSPORT_ERROR = 0x22,

	NVME_SC_LBA_OUT_OF_RANGE = 0x80,
	NVME_SC_CAPACITY_EXCEEDED = 0x81,
	NVME_SC_NAMESPACE_NOT_READY = 0x82,
	NVME_SC_RESERVATION_CONFLICT = 0x83,
	NVME_SC_FORMAT_IN_PROGRESS = 0x84,
};

/* Command Specific Status (4.6.1.2.2). */
enum nvme_command_specific_sc {
	NVME_SC_COMPLETION_QUEUE_INVALID = 0x00,
	NVME_SC_INVALID_QUEUE_IDENTIFIER = 0x01,
	NVME_SC_INVALID_QUEUE_SIZE = 0x02,
	NVME_SC_ABORT_COMMAND_LIMIT_EXCEEDED = 0x03,
	NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED = 0x05,
	NVME_SC_INVALID_FIRMWARE_SLOT = 0x06,
	NVME_SC_INVALID_FIRMWARE_IMAGE = 0x07,
	NVME_SC_INVALID_INTERRUPT_VECTOR = 0x08,
	NVME_SC_INVALID_LOG_PAGE = 0x09,
	NVME_SC_INVALID_FORMAT = 0x0a,
	NVME_SC_FIRMWARE_REQUIRES_CONVENTIONAL_RESET = 0x0b,
	NVME_SC_INVALID_QUEUE_DELETION = 0x0c,
	NVME_SC_FEATURE_ID_NOT_SAVEABLE = 0x0d,
	NVME_SC_FEATURE_NOT_CHANGEABLE = 0x0e,
	NVME_SC_FEATURE_NOT_NAMESPACE_SPECIFIC = 0x0f,
	NVME_SC_NAMESPACE_ALREADY_ATTACHED = 0x18,
	NVME_SC_NAMESPACE_IS_PRIVATE = 0x19,
	NVME_SC_NAMESPACE_NOT_ATTACHED = 0x1a,
	NVME_SC_CONTROLLER_LIST_INVALID = 0x1c,

	/* NVM command set (I/O) specific. */
	NVME_SC_CONFLICTING_ATTRIBUTES = 0x80,
	NVME_SC_INVALID_PROTECTION_INFO = 0x81,
	NVME_SC_ATTEMPTED_WRITE_TO_RO_RANGE = 0x82,
};

/* Media and Data Integrity Errors (4.6.1.2.3). */
enum nvme_media_error_sc {
	NVME_SC_WRITE_FAULT = 0x80,
	NVME_SC_UNRECOVERED_READ_ERROR = 0x81,
	NVME_SC_GUARD_CHECK_ERROR = 0x82,
	NVME_SC_APPLICATION_TAG_CHECK_ERROR = 0x83,
	NVME_SC_REFERENCE_TAG_CHECK_ERROR = 0x84,
	NVME_SC_COMPARE_FAILURE = 0x85,
	NVME_SC_ACCESS_DENIED = 0x86,
	NVME_SC_DEALLOCATED_OR_UNWRITTEN_BLOCK = 0x87,
};

/* Path Related Status (4.6.1.2.4). */
enum nvme_path_sc {
	NVME_SC_INTERNAL_PATH_ERROR = 0x00,
	NVME_SC_ASYMMETRIC_ACCESS_PERSISTENT_LOSS = 0x01,
	NVME_SC_ASYMMETRIC_ACCESS_INACCESSIBLE = 0x02,
	NVME_SC_ASYMMETRIC_ACCESS_TRANSITION = 0x03,
	NVME_SC_CONTROLLER_PATH_ERROR = 0x60,
	NVME_SC_HOST_PATH_ERROR = 0x70,
	NVME_SC_ABORTED_BY_HOST = 0x71,
};

/* Admin command opcodes (5, Figure 139). Overlaps the I/O opcode space. */
enum nvme_admin_opcode {
	NVME_OPC_DELETE_IO_SQ = 0x00,
	NVME_OPC_CREATE_IO_SQ = 0x01,
	NVME_OPC_GET_LOG_PAGE = 0x02,
	NVME_OPC_DELETE_IO_CQ = 0x04,
	NVME_OPC_CREATE_IO_CQ = 0x05,
	NVME_OPC_IDENTIFY = 0x06,
	NVME_OPC_ABORT = 0x08,
	NVME_OPC_SET_FEATURES = 0x09,
	NVME_OPC_GET_FEATURES = 0x0a,
	NVME_OPC_ASYNC_EVENT_REQUEST = 0x0c,
	NVME_OPC_NS_MANAGEMENT = 0x0d,
	NVME_OPC_FIRMWARE_COMMIT = 0x10,
	NVME_OPC_FIRMWARE_IMAGE_DOWNLOAD = 0x11,
	NVME_OPC_DEVICE_SELF_TEST = 0x14,
	NVME_OPC_NS_ATTACHMENT = 0x15,
	NVME_OPC_KEEP_ALIVE = 0x18,
	NVME_OPC_DIRECTIVE_SEND = 0x19,
	NVME_OPC_DIRECTIVE_RECEIVE = 0x1a,
	NVME_OPC_VIRTUALIZATION_MANAGEMENT = 0x1c,
	NVME_OPC_NVME_MI_SEND = 0x1d,
	NVME_OPC_NVME_MI_RECEIVE = 0x1e,
	NVME_OPC_DOORBELL_BUFFER_CONFIG = 0x7c,
	/* Fabrics commands share this opcode in both admin and I/O queues. */
	NVME_OPC_FABRICS = 0x7f,
	NVME_OPC_FORMAT_NVM = 0x80,
	NVME_OPC_SECURITY_SEND = 0x81,
	NVME_OPC_SECURITY_RECEIVE = 0x82,
	NVME_OPC_SANITIZE = 0x84,
	NVME_OPC_GET_LBA_STATUS = 0x86,
};

/* NVM command set I/O opcodes (6, Figure 346). */
enum nvme_io_opcode {
	NVME_OPC_FLUSH = 0x00,
	NVME_OPC_WRITE = 0x01,
	NVME_OPC_READ = 0x02,
	NVME_OPC_WRITE_UNCORRECTABLE = 0x04,
	NVME_OPC_COMPARE = 0x05,
	NVME_OPC_WRITE_ZEROES = 0x08,
	NVME_OPC_DATASET_MANAGEMENT = 0x09,
	NVME_OPC_VERIFY = 0x0c,
	NVME_OPC_RESERVATION_REGISTER = 0x0d,
	NVME_OPC_RESERVATION_REPORT = 0x0e,
	NVME_OPC_RESERVATION_ACQUIRE = 0x11,
	NVME_OPC_RESERVATION_RELEASE = 0x15,
};

/* Opcode bits 1:0 give the data transfer direction (Figure 139 note). */
enum nvme_data_direction {
	NVME_DATA_NONE = 0,
	NVME_DATA_HOST_TO_CONTROLLER = 1,
	NVME_DATA_CONTROLLER_TO_HOST = 2,
	NVME_DATA_BIDIRECTIONAL = 3,
};

static inline int nvme_opc_data_direction(uint8_t opc)
{
	return opc & 0x3;
}

/* Controller registers / fabrics properties (3.1). */
#define NVME_REG_CAP 0x00
#define NVME_REG_VS 0x08
#define NVME_REG_INTMS 0x0c
#define NVME_REG_INTMC 0x10
#define NVME_REG_CC 0x14
#define NVME_REG_CSTS 0x1c
#define NVME_REG_NSSR 0x20
#define NVME_REG_AQA 0x24
#define NVME_REG_ASQ 0x28
#define NVME_REG_ACQ 0x30

union nvme_cap_register {
	uint64_t raw;
	struct {
		uint64_t mqes : 16; /* zero-based */
		uint64_t cqr : 1;
		uint64_t ams : 2;
		uint64_t rsvd1 : 5;
		uint64_t to : 8; /* 500 ms units */
		uint64_t dstrd : 4;
		uint64_t nssrs : 1;
		uint64_t css : 8;
		uint64_t bps : 1;
		uint64_t rsvd2 : 2;
		uint64_t mpsmin : 4; /* 2^(12 + mpsmin) bytes */
		uint64_t mpsmax : 4;
		uint64_t pmrs : 1;
		uint64_t cmbs : 1;
		uint64_t rsvd3 : 6;
	} bits;
};
static_assert(sizeof(union nvme_cap_register) == 8, "cap size");

/* CAP.CSS bit 0: NVM command set. */
#define NVME_CAP_CSS_NVM (1u << 0)

union nvme_vs_register {
	uint32_t raw;
	struct {
		uint32_t ter : 8;
		uint32_t mnr : 8;
		uint32_t mjr : 16;
	} bits;
};
static_assert(sizeof(union nvme_vs_register) == 4, "vs size");

#define NVME_VERSION(mjr, mnr, ter)                                                                \
	(((uint32_t)(mjr) << 16) | ((uint32_t)(mnr) << 8) | (uint32_t)(ter))

union nvme_cc_register {
	uint32_t raw;
	struct {
		uint32_t en : 1;
		uint32_t rsvd1 : 3;
		uint32_t css : 3;
		uint32_t mps : 4;
		uint32_t ams : 3;
		uint32_t shn : 2;
		uint32_t iosqes : 4; /* log2 of SQ entry size */
		uint32_t iocqes : 4; /* log2 of CQ entry size */
		uint32_t rsvd2 : 8;
	} bits;
};
static_assert(sizeof(union nvme_cc_register) == 4, "cc size");

enum nvme_shn {
	NVME_SHN_NONE = 0,
	NVME_SHN_NORMAL = 1,
	NVME_SHN_ABRUPT = 2,
};

union nvme_csts_register {
	uint32_t raw;
	struct {
		uint32_t rdy : 1;
		uint32_t cfs : 1;
		uint32_t shst : 2;
		uint32_t nssro : 1;
		uint32_t pp : 1;
		uint32_t rsvd : 26;
	} bits;
};
static_assert(sizeof(union nvme_csts_register) == 4, "csts size");

enum nvme_shst {
	NVME_SHST_NORMAL = 0,
	NVME_SHST_OCCURRING = 1,
	NVME_SHST_COMPLETE = 2,
};

union nvme_aqa_register {
	uint32_t raw;
	struct {
		uint32_t asqs : 12;
		uint32_t rsvd1 : 4;
		uint32_t acqs : 12;
		uint32_t rsvd2 : 4;
	} bits;
};
static_assert(sizeof(union nvme_aqa_register) == 4, "aqa size");

/* Identify CNS values (5.15.1, CDW10 bits 7:0). */
enum nvme_cns {
	NVME_CNS_NAMESPACE = 0x00,
	NVME_CNS_CONTROLLER = 0x01,
	NVME_CNS_ACTIVE_NS_LIST = 0x02,
	NVME_CNS_NS_DESCRIPTOR_LIST = 0x03,
	NVME_CNS_NVM_SET_LIST = 0x04,
	/* NVMe 2.0: data for the command set in CDW11 CSI (bits 31:24). */
	NVME_CNS_IOCS_NAMESPACE = 0x05,
	NVME_CNS_IOCS_CONTROLLER = 0x06,
	NVME_CNS_INDEP_NAMESPACE = 0x08,
	NVME_CNS_IOCS = 0x1c,
};

/* Command Set Identifier (NVMe 2.0, CDW11 bits 31:24 of Identify). */
#define NVME_CSI_NVM 0x00

/* Older spellings still used by the host library. */
#define NVME_IDENTIFY_NS NVME_CNS_NAMESPACE
#define NVME_IDENTIFY_CTRLR NVME_CNS_CONTROLLER
#define NVME_IDENTIFY_ACTIVE_NS_LIST NVME_CNS_ACTIVE_NS_LIST
#define NVME_IDENTIFY_NS_ID_DESCRIPTOR_LIST NVME_CNS_NS_DESCRIPTOR_LIST

/* Power State Descriptor (Figure 250). */
struct nvme_power_state {
	uint16_t mp; /* centiwatts or 0.0001 W, per MXPS */
	uint8_t rsvd2;
	uint8_t flags;  /* bit 0 MXPS, bit 1 NOPS */
	uint32_t enlat; /* microseconds */
	uint32_t exlat;
	uint8_t rrt; /* bits 4:0 */
	uint8_t rrl;
	uint8_t rwt;
	uint8_t rwl;
	uint16_t idlp;
	uint8_t ips; /* bits 7:6 */
	uint8_t rsvd19;
	uint16_t actp;
	uint8_t apw_aps; /* bits 2:0 APW, bits 7:6 APS */
	uint8_t rsvd23[9];
};
static_assert(sizeof(struct nvme_power_state) == 32, "power state size");
static_assert(offsetof(struct nvme_power_state, enlat) == 4, "psd enlat");
static_assert(offsetof(struct nvme_power_state, idlp) == 16, "psd idlp");
static_assert(offsetof(struct nvme_power_state, actp) == 20, "psd actp");

/* Identify Controller data structure (Figure 251). */
struct nvme_id_ctrl {
	/* Controller capabilities and features */
	uint16_t vid;
	uint16_t ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts;
	uint16_t cntlid;
	uint32_t ver;
	uint32_t rtd3r;
	uint32_t rtd3e;
	uint32_t oaes;
	uint32_t ctratt;
	uint16_t rrls;
	uint8_t rsvd102[9];
	uint8_t cntrltype;
	uint8_t fguid[16];
	uint16_t crdt1;
	uint16_t crdt2;
	uint16_t crdt3;
	uint8_t rsvd134[119];
	/* Bytes 253..255 are defined by the NVMe-MI specification. */
	uint8_t nvmsr;
	uint8_t vwci;
	uint8_t mec;

	/* Admin command set attributes and optional controller capabilities */
	uint16_t oacs;
	uint8_t acl;  /* zero-based */
	uint8_t aerl; /* zero-based */
	uint8_t frmw;
	uint8_t lpa;
	uint8_t elpe; /* zero-based */
	uint8_t npss; /* zero-based */
	uint8_t avscc;
	uint8_t apsta;
	uint16_t wctemp;
	uint16_t cctemp;
	uint16_t mtfa;
	uint32_t hmpre;
	uint32_t hmmin;
	uint8_t tnvmcap[16];
	uint8_t unvmcap[16];
	uint32_t rpmbs;
	uint16_t edstt;
	uint8_t dsto;
	uint8_t fwug;
	uint16_t kas; /* 100 ms units */
	uint16_t hctma;
	uint16_t mntmt;
	uint16_t mxtmt;
	uint32_t sanicap;
	uint32_t hmminds;
	uint16_t hmmaxd;
	uint16_t nsetidmax;
	uint16_t endgidmax;
	uint8_t anatt;
	uint8_t anacap;
	uint32_t anagrpmax;
	uint32_t nanagrpid;
	uint32_t pels;
	uint8_t rsvd356[156];

	/* NVM command set attributes */
	uint8_t sqes; /* bits 3:0 required, 7:4 maximum; log2 bytes */
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn;
	uint16_t oncs;
	uint16_t fuses;
	uint8_t fna;
	uint8_t vwc;
	uint16_t awun;
	uint16_t awupf;
	uint8_t nvscc;
	uint8_t nwpc;
	uint16_t acwu;
	uint8_t rsvd534[2];
	uint32_t sgls;
	uint32_t mnan;
	uint8_t rsvd544[224];
	char subnqn[256];
	uint8_t rsvd1024[768];

	/* NVMe over Fabrics attributes (NVMe-oF 1.1, 4.1) */
	uint32_t ioccsz; /* 16-byte units, SQE included */
	uint32_t iorcsz; /* 16-byte units */
	uint16_t icdoff; /* 16-byte units */
	uint8_t fcatt;
	uint8_t msdbd;
	uint16_t ofcs;
	uint8_t rsvd1806[242];

	struct nvme_power_state psd[32];
	uint8_t vs[1024];
};
static_assert(sizeof(struct nvme_id_ctrl) == 4096, "id ctrl size");
static_assert(offsetof(struct nvme_id_ctrl, vid) == 0, "id ctrl vid");
static_assert(offsetof(struct nvme_id_ctrl, sn) == 4, "id ctrl sn");
static_assert(offsetof(struct nvme_id_ctrl, mn) == 24, "id ctrl mn");
static_assert(offsetof(struct nvme_id_ctrl, fr) == 64, "id ctrl fr");
static_assert(offsetof(struct nvme_id_ctrl, rab) == 72, "id ctrl rab");
static_assert(offsetof(struct nvme_id_ctrl, cmic) == 76, "id ctrl cmic");
static_assert(offsetof(struct nvme_id_ctrl, mdts) == 77, "id ctrl mdts");
static_assert(offsetof(struct nvme_id_ctrl, cntlid) == 78, "id ctrl cntlid");
static_assert(offsetof(struct nvme_id_ctrl, ver) == 80, "id ctrl ver");
static_assert(offsetof(struct nvme_id_ctrl, oaes) == 92, "id ctrl oaes");
static_assert(offsetof(struct nvme_id_ctrl, ctratt) == 96, "id ctrl ctratt");
static_assert(offsetof(struct nvme_id_ctrl, cntrltype) == 111, "id ctrl cntrltype");
static_assert(offsetof(struct nvme_id_ctrl, fguid) == 112, "id ctrl fguid");
static_assert(offsetof(struct nvme_id_ctrl, crdt1) == 128, "id ctrl crdt1");
static_assert(offsetof(struct nvme_id_ctrl, nvmsr) == 253, "id ctrl nvmsr");
static_assert(offsetof(struct nvme_id_ctrl, oacs) == 256, "id ctrl oacs");
static_assert(offsetof(struct nvme_id_ctrl, lpa) == 261, "id ctrl lpa");
static_assert(offsetof(struct nvme_id_ctrl, elpe) == 262, "id ctrl elpe");
static_assert(offsetof(struct nvme_id_ctrl, wctemp) == 266, "id ctrl wctemp");
static_assert(offsetof(struct nvme_id_ctrl, hmpre) == 272, "id ctrl hmpre");
static_assert(offsetof(struct nvme_id_ctrl, tnvmcap) == 280, "id ctrl tnvmcap");
static_assert(offsetof(struct nvme_id_ctrl, rpmbs) == 312, "id ctrl rpmbs");
static_assert(offsetof(struct nvme_id_ctrl, kas) == 320, "id ctrl kas");
static_assert(offsetof(struct nvme_id_ctrl, sanicap) == 328, "id ctrl sanicap");
static_assert(offsetof(struct nvme_id_ctrl, anatt) == 342, "id ctrl anatt");
static_assert(offsetof(struct nvme_id_ctrl, anagrpmax) == 344, "id ctrl anagrpmax");
static_assert(offsetof(struct nvme_id_ctrl, pels) == 352, "id ctrl pels");
static_assert(offsetof(struct nvme_id_ctrl, sqes) == 512, "id ctrl sqes");
static_assert(offsetof(struct nvme_id_ctrl, cqes) == 513, "id ctrl cqes");
static_assert(offsetof(struct nvme_id_ctrl, maxcmd) == 514, "id ctrl maxcmd");
static_assert(offsetof(struct nvme_id_ctrl, nn) == 516, "id ctrl nn");
static_assert(offsetof(struct nvme_id_ctrl, oncs) == 520, "id ctrl oncs");
static_assert(offsetof(struct nvme_id_ctrl, fuses) == 522, "id ctrl fuses");
static_assert(offsetof(struct nvme_id_ctrl, vwc) == 525, "id ctrl vwc");
static_assert(offsetof(struct nvme_id_ctrl, acwu) == 532, "id ctrl acwu");
static_assert(offsetof(struct nvme_id_ctrl, sgls) == 536, "id ctrl sgls");
static_assert(offsetof(struct nvme_id_ctrl, mnan) == 540, "id ctrl mnan");
static_assert(offsetof(struct nvme_id_ctrl, subnqn) == 768, "id ctrl subnqn");
static_assert(offsetof(struct nvme_id_ctrl, ioccsz) == 1792, "id ctrl ioccsz");
static_assert(offsetof(struct nvme_id_ctrl, iorcsz) == 1796, "id ctrl iorcsz");
static_assert(offsetof(struct nvme_id_ctrl, icdoff) == 1800, "id ctrl icdoff");
static_assert(offsetof(struct nvme_id_ctrl, fcatt) == 1802, "id ctrl fcatt");
static_assert(offsetof(struct nvme_id_ctrl, msdbd) == 1803, "id ctrl msdbd");
static_assert(offsetof(struct nvme_id_ctrl, ofcs) == 1804, "id ctrl ofcs");
static_assert(offsetof(struct nvme_id_ctrl, psd) == 2048, "id ctrl psd");
static_assert(offsetof(struct nvme_id_ctrl, vs) == 3072, "id ctrl vs");

/* CMIC */
#define NVME_CMIC_MULTI_PORT (1u << 0)
#define NVME_CMIC_MULTI_CONTROLLER (1u << 1)
#define NVME_CMIC_SRIOV (1u << 2)
#define NVME_CMIC_ANA_REPORTING (1u << 3)

/* OAES */
#define NVME_OAES_NS_ATTR_CHANGED (1u << 8)
#define NVME_OAES_FW_ACTIVATION (1u << 9)
#define NVME_OAES_ANA_CHANGE (1u << 11)
#define NVME_OAES_DISCOVERY_LOG_CHANGE (1u << 31)

/* CTRATT */
#define NVME_CTRATT_HOST_ID_128BIT (1u << 0)

/* CNTRLTYPE (NVMe 1.4; 0 means not reported) */
#define NVME_CNTRLTYPE_IO 1
#define NVME_CNTRLTYPE_DISCOVERY 2
#define NVME_CNTRLTYPE_ADMIN 3

/* OACS */
#define NVME_OACS_SECURITY (1u << 0)
#define NVME_OACS_FORMAT (1u << 1)
#define NVME_OACS_FIRMWARE (1u << 2)
#define NVME_OACS_NS_MANAGEMENT (1u << 3)
#define NVME_OACS_DEVICE_SELF_TEST (1u << 4)
#define NVME_OACS_DIRECTIVES (1u << 5)
#define NVME_OACS_VIRTUALIZATION (1u << 7)
#define NVME_OACS_DOORBELL_BUFFER_CONFIG (1u << 8)

/* FRMW */
#define NVME_FRMW_SLOT1_READ_ONLY (1u << 0)
#define NVME_FRMW_NUM_SLOTS_SHIFT 1
#define NVME_FRMW_ACTIVATE_NO_RESET (1u << 4)

/* LPA */
#define NVME_LPA_SMART_PER_NS (1u << 0)
#define NVME_LPA_COMMAND_EFFECTS (1u << 1)
#define NVME_LPA_EXTENDED_DATA (1u << 2)
#define NVME_LPA_TELEMETRY (1u << 3)
#define NVME_LPA_PERSISTENT_EVENT (1u << 4)

/* ONCS */
#define NVME_ONCS_COMPARE (1u << 0)
#define NVME_ONCS_WRITE_UNCORRECTABLE (1u << 1)
#define NVME_ONCS_DSM (1u << 2)
#define NVME_ONCS_WRITE_ZEROES (1u << 3)
#define NVME_ONCS_SAVE_FEATURES (1u << 4)
#define NVME_ONCS_RESERVATIONS (1u << 5)
#define NVME_ONCS_TIMESTAMP (1u << 6)
#define NVME_ONCS_VERIFY (1u << 7)

/* FUSES */
#define NVME_FUSES_COMPARE_AND_WRITE (1u << 0)

/* VWC: bits 2:1 report Flush with NSID FFFFFFFFh behaviour (1.4). */
#define NVME_VWC_PRESENT (1u << 0)
#define NVME_VWC_FLUSH_BROADCAST_SUPPORTED (3u << 1)

/* SGLS: bits 1:0 are an enumeration, the rest flags. */
#define NVME_SGLS_SUPPORTED (1u << 0)
#define NVME_SGLS_SUPPORTED_DWORD_ALIGNED (2u << 0)
#define NVME_SGLS_SUPPORT_MASK (3u << 0)
#define NVME_SGLS_KEYED (1u << 2)
#define NVME_SGLS_BIT_BUCKET (1u << 16)
#define NVME_SGLS_METADATA_BYTE_ALIGNED (1u << 17)
#define NVME_SGLS_OVERSIZED_DATA (1u << 18)
#define NVME_SGLS_METADATA_SINGLE_DESC (1u << 19)
#define NVME_SGLS_ADDRESS_AS_OFFSET (1u << 20)
#define NVME_SGLS_TRANSPORT_DATA_BLOCK (1u << 21)

/* FCATT bit 0: 0 = dynamic controller model, 1 = static. */
#define NVME_FCATT_STATIC_MODEL (1u << 0)

/* LBA Format data structure (Figure 247). */
struct nvme_lbaf {
	uint32_t ms : 16;
	uint32_t lbads : 8; /* log2 of LBA data size */
	uint32_t rp : 2;
	uint32_t rsvd : 6;
};
static_assert(sizeof(struct nvme_lbaf) == 4, "lbaf size");

/* Identify Namespace data structure (Figure 245). */
struct nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf; /* zero-based */
	uint8_t flbas;
	uint8_t mc;
	uint8_t dpc;
	uint8_t dps;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint8_t dlfeat;
	uint16_t nawun;
	uint16_t nawupf;
	uint16_t nacwu;
	uint16_t nabsn;
	uint16_t nabo;
	uint16_t nabspf;
	uint16_t noiob;
	uint8_t nvmcap[16];
	uint16_t npwg;
	uint16_t npwa;
	uint16_t npdg;
	uint16_t npda;
	uint16_t nows;
	uint8_t rsvd74[18];
	uint32_t anagrpid;
	uint8_t rsvd96[3];
	uint8_t nsattr;
	uint16_t nvmsetid;
	uint16_t endgid;
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct nvme_lbaf lbaf[16];
	uint8_t rsvd192[192];
	uint8_t vs[3712];
};
static_assert(sizeof(struct nvme_id_ns) == 4096, "id ns size");
static_assert(offsetof(struct nvme_id_ns, nsze) == 0, "id ns nsze");
static_assert(offsetof(struct nvme_id_ns, ncap) == 8, "id ns ncap");
static_assert(offsetof(struct nvme_id_ns, nuse) == 16, "id ns nuse");
static_assert(offsetof(struct nvme_id_ns, nsfeat) == 24, "id ns nsfeat");
static_assert(offsetof(struct nvme_id_ns, nlbaf) == 25, "id ns nlbaf");
static_assert(offsetof(struct nvme_id_ns, flbas) == 26, "id ns flbas");
static_assert(offsetof(struct nvme_id_ns, nmic) == 30, "id ns nmic");
static_assert(offsetof(struct nvme_id_ns, dlfeat) == 33, "id ns dlfeat");
static_assert(offsetof(struct nvme_id_ns, noiob) == 46, "id ns noiob");
static_assert(offsetof(struct nvme_id_ns, nvmcap) == 48, "id ns nvmcap");
static_assert(offsetof(struct nvme_id_ns, nows) == 72, "id ns nows");
static_assert(offsetof(struct nvme_id_ns, anagrpid) == 92, "id ns anagrpid");
static_assert(offsetof(struct nvme_id_ns, nsattr) == 99, "id ns nsattr");
static_assert(offsetof(struct nvme_id_ns, endgid) == 102, "id ns endgid");
static_assert(offsetof(struct nvme_id_ns, nguid) == 104, "id ns nguid");
static_assert(offsetof(struct nvme_id_ns, eui64) == 120, "id ns eui64");
static_assert(offsetof(struct nvme_id_ns, lbaf) == 128, "id ns lbaf");
static_assert(offsetof(struct nvme_id_ns, vs) == 384, "id ns vs");

/* I/O Command Set Independent Identify Namespace (NVMe 2.0 Figure 280, CNS 08h). */
struct nvme_id_ns_indep {
	uint8_t nsfeat;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint32_t anagrpid;
	uint8_t nsattr;
	uint8_t rsvd9;
	uint16_t nvmsetid;
	uint16_t endgid;
	uint8_t nstat; /* bit 0: namespace ready */
	uint8_t rsvd15[4081];
};
static_assert(sizeof(struct nvme_id_ns_indep) == 4096, "id ns indep size");
static_assert(offsetof(struct nvme_id_ns_indep, anagrpid) == 4, "id ns indep anagrpid");
static_assert(offsetof(struct nvme_id_ns_indep, nstat) == 14, "id ns indep nstat");

/* NVM Command Set Identify Controller (NVM command set 2.0 Figure 113, CNS 06h CSI 0). */
struct nvme_id_ctrl_nvm {
	uint8_t vsl;
	uint8_t wzsl;
	uint8_t wusl;
	uint8_t dmrl;
	uint32_t dmrsl;
	uint64_t dmsl;
	uint8_t rsvd16[4080];
};
static_assert(sizeof(struct nvme_id_ctrl_nvm) == 4096, "id ctrl nvm size");
static_assert(offsetof(struct nvme_id_ctrl_nvm, dmsl) == 8, "id ctrl nvm dmsl");

/* NSFEAT */
#define NVME_NSFEAT_THIN_PROVISIONING (1u << 0)
#define NVME_NSFEAT_NS_ATOMICS (1u << 1)
#define NVME_NSFEAT_DEALLOC_ERROR (1u << 2)
#define NVME_NSFEAT_GUID_NEVER_REUSED (1u << 3)
#define NVME_NSFEAT_OPTIMAL_PERF (1u << 4)

/* FLBAS bits 3:0 select the LBA format in use. */
#define NVME_FLBAS_FORMAT_MASK 0xfu

/* NMIC bit 0: namespace may be attached to more than one controller. */
#define NVME_NMIC_SHARED (1u << 0)

/* DLFEAT bits 2:0 = 001b: deallocated blocks read as zeroes. */
#define NVME_DLFEAT_READ_ZEROES 0x1u

/* Namespace Identification Descriptor (Figure 249). */
struct nvme_ns_id_desc {
	uint8_t nidt;
	uint8_t nidl;
	uint16_t reserved;
	uint8_t nid[];
};
static_assert(sizeof(struct nvme_ns_id_desc) == 4, "ns id desc header size");

enum nvme_nidt {
	NVME_NIDT_EUI64 = 0x1,
	NVME_NIDT_NGUID = 0x2,
	NVME_NIDT_UUID = 0x3,
	NVME_NIDT_CSI = 0x4, /* NVMe 2.0 */
};

#define NVME_NIDT_EUI64_LEN 8
#define NVME_NIDT_NGUID_LEN 16
#define NVME_NIDT_UUID_LEN 16
#define NVME_NIDT_CSI_LEN 1

/* Log page identifiers (5.14.1). */
enum nvme_log_page {
	NVME_LOG_ERROR = 0x01,
	NVME_LOG_HEALTH = 0x02,
	NVME_LOG_FIRMWARE_SLOT = 0x03,
	NVME_LOG_CHANGED_NS_LIST = 0x04,
	NVME_LOG_COMMAND_EFFECTS = 0x05,
	NVME_LOG_DEVICE_SELF_TEST = 0x06,
	NVME_LOG_TELEMETRY_HOST = 0x07,
	NVME_LOG_TELEMETRY_CONTROLLER = 0x08,
	NVME_LOG_ANA = 0x0c,
	NVME_LOG_DISCOVERY = 0x70, /* NVMe-oF */
	NVME_LOG_RESERVATION_NOTIFICATION = 0x80,
	NVME_LOG_SANITIZE_STATUS = 0x81,
};

/* Error Information log entry (Figure 194). */
struct nvme_error_log_entry {
	uint64_t error_count;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* status field with phase tag in bit 0 */
	uint16_t error_location;
	uint64_t lba;
	uint32_t nsid;
	uint8_t vs;
	uint8_t trtype;
	uint8_t rsvd30[2];
	uint64_t command_specific;
	uint16_t trtype_specific;
	uint8_t rsvd42[22];
};
static_assert(sizeof(struct nvme_error_log_entry) == 64, "error log entry size");
static_assert(offsetof(struct nvme_error_log_entry, status) == 12, "error log status");
static_assert(offsetof(struct nvme_error_log_entry, lba) == 16, "error log lba");
static_assert(offsetof(struct nvme_error_log_entry, nsid) == 24, "error log nsid");
static_assert(offsetof(struct nvme_error_log_entry, trtype) == 29, "error log trtype");
static_assert(offsetof(struct nvme_error_log_entry, command_specific) == 32, "error log csi");
static_assert(offsetof(struct nvme_error_log_entry, trtype_specific) == 40, "error log tsi");

/* SMART / Health Information log (Figure 196). Counters are 128-bit LE. */
struct nvme_health_log {
	uint8_t critical_warning;
	uint8_t temperature[2]; /* kelvin, unaligned */
	uint8_t avail_spare;
	uint8_t spare_thresh;
	uint8_t percent_used;
	uint8_t endurance_group_critical_warning;
	uint8_t rsvd7[25];
	uint8_t data_units_read[16];
	uint8_t data_units_written[16];
	uint8_t host_reads[16];
	uint8_t host_writes[16];
	uint8_t ctrl_busy_time[16];
	uint8_t power_cycles[16];
	uint8_t power_on_hours[16];
	uint8_t unsafe_shutdowns[16];
	uint8_t media_errors[16];
	uint8_t num_err_log_entries[16];
	uint32_t warning_temp_time;
	uint32_t crit_comp_time;
	uint16_t temp_sensor[8];
	uint32_t thm_temp1_trans_count;
	uint32_t thm_temp2_trans_count;
	uint32_t thm_temp1_total_time;
	uint32_t thm_temp2_total_time;
	uint8_t rsvd232[280];
};
static_assert(sizeof(struct nvme_health_log) == 512, "health log size");
static_assert(offsetof(struct nvme_health_log, temperature) == 1, "health temperature");
static_assert(offsetof(struct nvme_health_log, percent_used) == 5, "health percent_used");
static_assert(offsetof(struct nvme_health_log, data_units_read) == 32, "health dur");
static_assert(offsetof(struct nvme_health_log, power_on_hours) == 128, "health poh");
static_assert(offsetof(struct nvme_health_log, num_err_log_entries) == 176, "health nerr");
static_assert(offsetof(struct nvme_health_log, warning_temp_time) == 192, "health wtt");
static_assert(offsetof(struct nvme_health_log, temp_sensor) == 200, "health temp sensor");
static_assert(offsetof(struct nvme_health_log, thm_temp1_trans_count) == 216, "health tmt");

/* Firmware Slot Information log (Figure 198). */
struct nvme_firmware_slot_log {
	uint8_t afi;
	uint8_t rsvd1[7];
	char frs[7][8];
	uint8_t rsvd64[448];
};
static_assert(sizeof(struct nvme_firmware_slot_log) == 512, "fw slot log size");
static_assert(offsetof(struct nvme_firmware_slot_log, frs) == 8, "fw slot frs");

/* Changed Namespace List log (Figure 199): 0xffffffff first = more than 1024. */
struct nvme_changed_ns_list {
	uint32_t nsid[1024];
};
static_assert(sizeof(struct nvme_changed_ns_list) == 4096, "changed ns list size");

/* Commands Supported and Effects log (Figure 200). */
struct nvme_cmd_effects_log {
	uint32_t acs[256];
	uint32_t iocs[256];
	uint8_t rsvd2048[2048];
};
static_assert(sizeof(struct nvme_cmd_effects_log) == 4096, "cmd effects log size");
static_assert(offsetof(struct nvme_cmd_effects_log, iocs) == 1024, "cmd effects iocs");

#define NVME_CMD_EFFECTS_CSUPP (1u << 0)
#define NVME_CMD_EFFECTS_LBCC (1u << 1)
#define NVME_CMD_EFFECTS_NCC (1u << 2)
#define NVME_CMD_EFFECTS_NIC (1u << 3)
#define NVME_CMD_EFFECTS_CCC (1u << 4)

/* Get Log Page CDW10 bit 15: retain asynchronous event. */
#define NVME_LOG_RAE (1u << 15)

/* Feature identifiers (5.21.1). */
enum nvme_feature {
	NVME_FEAT_ARBITRATION = 0x01,
	NVME_FEAT_POWER_MANAGEMENT = 0x02,
	NVME_FEAT_LBA_RANGE_TYPE = 0x03,
	NVME_FEAT_TEMPERATURE_THRESHOLD = 0x04,
	NVME_FEAT_ERROR_RECOVERY = 0x05,
	NVME_FEAT_VOLATILE_WRITE_CACHE = 0x06,
	NVME_FEAT_NUMBER_OF_QUEUES = 0x07,
	NVME_FEAT_INTERRUPT_COALESCING = 0x08,
	NVME_FEAT_INTERRUPT_VECTOR_CONFIGURATION = 0x09,
	NVME_FEAT_WRITE_ATOMICITY = 0x0a,
	NVME_FEAT_ASYNC_EVENT_CONFIGURATION = 0x0b,
	NVME_FEAT_AUTONOMOUS_POWER_STATE_TRANSITION = 0x0c,
	NVME_FEAT_HOST_MEM_BUFFER = 0x0d,
	NVME_FEAT_TIMESTAMP = 0x0e,
	NVME_FEAT_KEEP_ALIVE_TIMER = 0x0f,
	NVME_FEAT_HOST_IDENTIFIER = 0x81,
	NVME_FEAT_RESERVATION_NOTIFICATION_MASK = 0x82,
	NVME_FEAT_RESERVATION_PERSISTENCE = 0x83,
};

/* Get Features CDW10 bits 10:8 (SEL). */
enum nvme_feat_select {
	NVME_FEAT_SEL_CURRENT = 0x0,
	NVME_FEAT_SEL_DEFAULT = 0x1,
	NVME_FEAT_SEL_SAVED = 0x2,
	NVME_FEAT_SEL_SUPPORTED_CAPABILITIES = 0x3,
};

#define NVME_FEAT_FID_MASK 0xffu
#define NVME_FEAT_SEL_SHIFT 8
#define NVME_FEAT_SEL_MASK 0x7u
/* Set Features CDW10 bit 31. */
#define NVME_FEAT_SAVE (1u << 31)

/* Supported-capabilities bits returned for SEL=3 (Figure 282). */
#define NVME_FEAT_CAP_SAVEABLE (1u << 0)
#define NVME_FEAT_CAP_NS_SPECIFIC (1u << 1)
#define NVME_FEAT_CAP_CHANGEABLE (1u << 2)

/* Asynchronous Event Request completion DW0 (5.2). */
enum nvme_aer_type {
	NVME_AER_TYPE_ERROR = 0x0,
	NVME_AER_TYPE_SMART = 0x1,
	NVME_AER_TYPE_NOTICE = 0x2,
	NVME_AER_TYPE_IO = 0x6,
	NVME_AER_TYPE_VENDOR = 0x7,
};

enum nvme_aer_notice_info {
	NVME_AER_NOTICE_NS_ATTR_CHANGED = 0x00,
	NVME_AER_NOTICE_FW_ACTIVATED = 0x01,
	NVME_AER_NOTICE_TELEMETRY_LOG_CHANGED = 0x02,
	NVME_AER_NOTICE_ANA_CHANGE = 0x03,
	NVME_AER_NOTICE_DISCOVERY_LOG_CHANGE = 0xf0,
};

static inline uint32_t nvme_aer_cdw0(uint8_t type, uint8_t info, uint8_t log_page)
{
	return (uint32_t)(type & 0x7) | ((uint32_t)info << 8) | ((uint32_t)log_page << 16);
}

/* Dataset Management range (Figure 364). */
struct nvme_dsm_range {
	uint32_t attributes;
	uint32_t length; /* in logical blocks */
	uint64_t starting_lba;
};
static_assert(sizeof(struct nvme_dsm_range) == 16, "dsm range size");
static_assert(offsetof(struct nvme_dsm_range, starting_lba) == 8, "dsm range slba");

/* DSM CDW11 attribute bits; CDW10 bits 7:0 hold the zero-based range count. */
#define NVME_DSM_ATTR_INTEGRAL_READ (1u << 0)
#define NVME_DSM_ATTR_INTEGRAL_WRITE (1u << 1)
#define NVME_DSM_ATTR_DEALLOCATE (1u << 2)
#define NVME_DSM_MAX_RANGES 256

/* Read/Write/Write Zeroes CDW12 bits. */
#define NVME_RW_NLB_MASK 0xffffu /* zero-based */
#define NVME_RW_DEAC (1u << 25)  /* Write Zeroes only */
#define NVME_RW_FUA (1u << 30)
#define NVME_RW_LR (1u << 31)
