#pragma once
/*
 * NVMe over Fabrics wire formats: Fabrics commands, the discovery log page
 * and the NVMe/RDMA connection-manager private data. References are to
 * NVMe-oF 1.1 unless stated otherwise. Little-endian x86 only, as in
 * nvme_spec.h.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"

#define NVMF_DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"
/* NQN string length limits without the NUL (NVMe Base 1.4 7.9). */
#define NVMF_NQN_MAX_LEN 223
#define NVMF_NQN_MIN_LEN 11
/* Fixed-size NQN fields in Connect data and the discovery log. */
#define NVMF_NQN_FIELD_LEN 256
#define NVMF_TRSTRING_MAX_LEN 32
#define NVMF_TRADDR_MAX_LEN 256
#define NVMF_TRSVCID_MAX_LEN 32

/* Fabrics command types (6, Figure 19), carried in byte 4 of opcode 7Fh. */
enum nvmf_fctype {
	NVMF_FCTYPE_PROPERTY_SET = 0x00,
	NVMF_FCTYPE_CONNECT = 0x01,
	NVMF_FCTYPE_PROPERTY_GET = 0x04,
	NVMF_FCTYPE_AUTHENTICATION_SEND = 0x05,
	NVMF_FCTYPE_AUTHENTICATION_RECV = 0x06,
	NVMF_FCTYPE_DISCONNECT = 0x08,
};

/* Fabrics command specific status values, SCT 1 (Figure 16 / NVMe 2.0). */
enum nvmf_sc {
	NVMF_SC_INCOMPATIBLE_FORMAT = 0x80,
	NVMF_SC_CONTROLLER_BUSY = 0x81,
	NVMF_SC_INVALID_PARAM = 0x82,
	NVMF_SC_RESTART_DISCOVERY = 0x83,
	NVMF_SC_INVALID_HOST = 0x84,
	NVMF_SC_INVALID_QUEUE_TYPE = 0x85,
	NVMF_SC_LOG_RESTART_DISCOVERY = 0x90,
	NVMF_SC_AUTH_REQUIRED = 0x91,
};

/* Generic Fabrics command capsule (Figure 18). */
struct nvmf_capsule_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd2[35];
	uint8_t fabric_specific[24];
};
static_assert(sizeof(struct nvmf_capsule_cmd) == 64, "capsule cmd size");
static_assert(offsetof(struct nvmf_capsule_cmd, fctype) == 4, "capsule fctype");
static_assert(offsetof(struct nvmf_capsule_cmd, fabric_specific) == 40, "capsule fs");

/* Connect command (Figure 20). SQSIZE is zero-based. */
struct nvmf_connect_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd2[19];
	struct nvme_sgl_desc sgl1;
	uint16_t recfmt;
	uint16_t qid;
	uint16_t sqsize;
	uint8_t cattr;
	uint8_t rsvd3;
	uint32_t kato; /* milliseconds */
	uint8_t rsvd4[12];
};
static_assert(sizeof(struct nvmf_connect_cmd) == 64, "connect cmd size");
static_assert(offsetof(struct nvmf_connect_cmd, sgl1) == 24, "connect sgl1");
static_assert(offsetof(struct nvmf_connect_cmd, recfmt) == 40, "connect recfmt");
static_assert(offsetof(struct nvmf_connect_cmd, qid) == 42, "connect qid");
static_assert(offsetof(struct nvmf_connect_cmd, sqsize) == 44, "connect sqsize");
static_assert(offsetof(struct nvmf_connect_cmd, cattr) == 46, "connect cattr");
static_assert(offsetof(struct nvmf_connect_cmd, kato) == 48, "connect kato");

/* CATTR bits */
#define NVMF_CATTR_PRIORITY_URGENT (1u << 0)
#define NVMF_CATTR_DISABLE_SQ_FLOW_CONTROL (1u << 2)

/* Connect CNTLID: FFFFh asks for any controller (dynamic model). */
#define NVMF_CNTLID_DYNAMIC 0xffffu
#define NVMF_CNTLID_STATIC_ANY 0xfffeu
#define NVMF_CNTLID_MAX 0xffefu

/* Connect command data (Figure 21). */
struct nvmf_connect_data {
	uint8_t hostid[16];
	uint16_t cntlid;
	uint8_t rsvd18[238];
	char subnqn[256];
	char hostnqn[256];
	uint8_t rsvd768[256];
};
static_assert(sizeof(struct nvmf_connect_data) == 1024, "connect data size");
static_assert(offsetof(struct nvmf_connect_data, cntlid) == 16, "connect data cntlid");
static_assert(offsetof(struct nvmf_connect_data, subnqn) == 256, "connect data subnqn");
static_assert(offsetof(struct nvmf_connect_data, hostnqn) == 512, "connect data hostnqn");

/* Connect response (Figure 22/23). */
struct nvmf_connect_rsp {
	union {
		struct {
			uint16_t cntlid;
			uint16_t authreq;
		} success;
		/* Invalid Parameter: IATTR 1 = in Connect data, IPO = byte offset. */
		struct {
			uint8_t iattr : 1;
			uint8_t rsvd : 7;
			uint8_t rsvd2;
			uint16_t ipo;
		} invalid;
		uint32_t raw;
	} status_code_specific;
	uint32_t rsvd0;
	uint16_t sqhd;
	uint16_t rsvd1;
	uint16_t cid;
	union {
		uint16_t raw;
		struct nvme_status s;
	} status;
};
static_assert(sizeof(struct nvmf_connect_rsp) == 16, "connect rsp size");
static_assert(offsetof(struct nvmf_connect_rsp, sqhd) == 8, "connect rsp sqhd");
static_assert(offsetof(struct nvmf_connect_rsp, cid) == 12, "connect rsp cid");
static_assert(offsetof(struct nvmf_connect_rsp, status) == 14, "connect rsp status");

/* Property Get/Set ATTRIB.SIZE (Figures 24, 28). */
enum nvmf_property_size {
	NVMF_PROPERTY_SIZE_4 = 0,
	NVMF_PROPERTY_SIZE_8 = 1,
};

struct nvmf_property_attrib {
	uint8_t size : 3;
	uint8_t rsvd : 5;
};

struct nvmf_property_get_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd2[35];
	struct nvmf_property_attrib attrib;
	uint8_t rsvd3[3];
	uint32_t ofst;
	uint8_t rsvd4[16];
};
static_assert(sizeof(struct nvmf_property_get_cmd) == 64, "property get size");
static_assert(offsetof(struct nvmf_property_get_cmd, attrib) == 40, "property get attrib");
static_assert(offsetof(struct nvmf_property_get_cmd, ofst) == 44, "property get ofst");

struct nvmf_property_get_rsp {
	uint64_t value;
	uint16_t sqhd;
	uint16_t rsvd1;
	uint16_t cid;
	union {
		uint16_t raw;
		struct nvme_status s;
	} status;
};
static_assert(sizeof(struct nvmf_property_get_rsp) == 16, "property get rsp size");
static_assert(offsetof(struct nvmf_property_get_rsp, cid) == 12, "property get rsp cid");

struct nvmf_property_set_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd2[35];
	struct nvmf_property_attrib attrib;
	uint8_t rsvd3[3];
	uint32_t ofst;
	uint64_t value;
	uint8_t rsvd4[8];
};
static_assert(sizeof(struct nvmf_property_set_cmd) == 64, "property set size");
static_assert(offsetof(struct nvmf_property_set_cmd, attrib) == 40, "property set attrib");
static_assert(offsetof(struct nvmf_property_set_cmd, ofst) == 44, "property set ofst");
static_assert(offsetof(struct nvmf_property_set_cmd, value) == 48, "property set value");

/* Discovery log page (NVMe-oF 1.1 5.3, NVMe Base 2.0 5.16.1.23). */
enum nvmf_trtype {
	NVMF_TRTYPE_RDMA = 0x1,
	NVMF_TRTYPE_FC = 0x2,
	NVMF_TRTYPE_TCP = 0x3,
	NVMF_TRTYPE_INTRA_HOST = 0xfe,
};

enum nvmf_adrfam {
	NVMF_ADRFAM_IPV4 = 0x1,
	NVMF_ADRFAM_IPV6 = 0x2,
	NVMF_ADRFAM_IB = 0x3,
	NVMF_ADRFAM_FC = 0x4,
	NVMF_ADRFAM_INTRA_HOST = 0xfe,
};

enum nvmf_subtype {
	NVMF_SUBTYPE_DISCOVERY_REFERRAL = 0x1,
	NVMF_SUBTYPE_NVME = 0x2,
	NVMF_SUBTYPE_DISCOVERY_CURRENT = 0x3,
};

/* TREQ: bits 1:0 secure channel requirement, bit 2 SQ flow control. */
#define NVMF_TREQ_SECURE_CHANNEL_NOT_SPECIFIED 0x0u
#define NVMF_TREQ_SECURE_CHANNEL_REQUIRED 0x1u
#define NVMF_TREQ_SECURE_CHANNEL_NOT_REQUIRED 0x2u
#define NVMF_TREQ_SECURE_CHANNEL_MASK 0x3u
#define NVMF_TREQ_DISABLE_SQ_FLOW_CONTROL (1u << 2)

/* EFLAGS (NVMe Base 2.0). */
#define NVMF_EFLAGS_DUPLICATE_RETURN_INFO (1u << 0)
#define NVMF_EFLAGS_EXPLICIT_PERSISTENT_CONNECTION (1u << 1)
#define NVMF_EFLAGS_NO_CDC_CONNECTIVITY (1u << 2)

enum nvmf_rdma_qptype {
	NVMF_RDMA_QPTYPE_RELIABLE_CONNECTED = 0x1,
	NVMF_RDMA_QPTYPE_RELIABLE_DATAGRAM = 0x2,
};

enum nvmf_rdma_prtype {
	NVMF_RDMA_PRTYPE_NONE = 0x1,
	NVMF_RDMA_PRTYPE_IB = 0x2,
	NVMF_RDMA_PRTYPE_ROCE = 0x3,
	NVMF_RDMA_PRTYPE_ROCE2 = 0x4,
	NVMF_RDMA_PRTYPE_IWARP = 0x5,
};

enum nvmf_rdma_cms {
	NVMF_RDMA_CMS_RDMA_CM = 0x1,
};

enum nvmf_tcp_sectype {
	NVMF_TCP_SECTYPE_NONE = 0x0,
	NVMF_TCP_SECTYPE_TLS = 0x1, /* TLS 1.2 */
	NVMF_TCP_SECTYPE_TLS13 = 0x2,
};

/* Transport Specific Address Subtype. */
union nvmf_tsas {
	uint8_t raw[256];
	struct {
		uint8_t rdma_qptype;
		uint8_t rdma_prtype;
		uint8_t rdma_cms;
		uint8_t rsvd3[5];
		uint16_t rdma_pkey;
		uint8_t rsvd10[246];
	} rdma;
	struct {
		uint8_t sectype;
		uint8_t rsvd1[255];
	} tcp;
};
static_assert(sizeof(union nvmf_tsas) == 256, "tsas size");
static_assert(offsetof(union nvmf_tsas, rdma.rdma_pkey) == 8, "tsas rdma pkey");

struct nvmf_discovery_log_entry {
	uint8_t trtype;
	uint8_t adrfam;
	uint8_t subtype;
	uint8_t treq;
	uint16_t portid;
	uint16_t cntlid;
	uint16_t asqsz;
	uint16_t eflags;
	uint8_t rsvd12[20];
	char trsvcid[32];
	uint8_t rsvd64[192];
	char subnqn[256];
	char traddr[256];
	union nvmf_tsas tsas;
};
static_assert(sizeof(struct nvmf_discovery_log_entry) == 1024, "disc entry size");
static_assert(offsetof(struct nvmf_discovery_log_entry, portid) == 4, "disc portid");
static_assert(offsetof(struct nvmf_discovery_log_entry, cntlid) == 6, "disc cntlid");
static_assert(offsetof(struct nvmf_discovery_log_entry, asqsz) == 8, "disc asqsz");
static_assert(offsetof(struct nvmf_discovery_log_entry, eflags) == 10, "disc eflags");
static_assert(offsetof(struct nvmf_discovery_log_entry, trsvcid) == 32, "disc trsvcid");
static_assert(offsetof(struct nvmf_discovery_log_entry, subnqn) == 256, "disc subnqn");
static_assert(offsetof(struct nvmf_discovery_log_entry, traddr) == 512, "disc traddr");
static_assert(offsetof(struct nvmf_discovery_log_entry, tsas) == 768, "disc tsas");

/* Log page header; entries start at byte 1024. */
struct nvmf_discovery_log_header {
	uint64_t genctr;
	uint64_t numrec;
	uint16_t recfmt;
	uint8_t rsvd18[1006];
};
static_assert(sizeof(struct nvmf_discovery_log_header) == 1024, "disc header size");
static_assert(offsetof(struct nvmf_discovery_log_header, recfmt) == 16, "disc recfmt");

/*
 * NVMe/RDMA transport binding: RDMA_CM private data exchanged on
 * connect request, accept and reject (NVMe-oF 1.1 7.3.3 / RDMA transport
 * spec 3.2).
 */
struct nvmf_rdma_request_private_data {
	uint16_t recfmt;
	uint16_t qid;
	uint16_t hrqsize; /* one-based */
	uint16_t hsqsize; /* zero-based, like Connect SQSIZE */
	uint16_t cntlid;
	uint8_t reserved[22];
};
static_assert(sizeof(struct nvmf_rdma_request_private_data) == 32, "rdma req pdata size");
static_assert(offsetof(struct nvmf_rdma_request_private_data, cntlid) == 8, "rdma pdata cntlid");

struct nvmf_rdma_accept_private_data {
	uint16_t recfmt;
	uint16_t crqsize; /* one-based */
	uint8_t reserved[28];
};
static_assert(sizeof(struct nvmf_rdma_accept_private_data) == 32, "rdma accept pdata size");

struct nvmf_rdma_reject_private_data {
	uint16_t recfmt;
	uint16_t sts;
};
static_assert(sizeof(struct nvmf_rdma_reject_private_data) == 4, "rdma reject pdata size");

enum nvmf_rdma_cm_status {
	NVMF_RDMA_CM_INVALID_LENGTH = 0x01,
	NVMF_RDMA_CM_INVALID_RECFMT = 0x02,
	NVMF_RDMA_CM_INVALID_QID = 0x03,
	NVMF_RDMA_CM_INVALID_HSQSIZE = 0x04,
	NVMF_RDMA_CM_INVALID_HRQSIZE = 0x05,
	NVMF_RDMA_CM_NO_RESOURCES = 0x06,
	NVMF_RDMA_CM_INVALID_IRD = 0x07,
	NVMF_RDMA_CM_INVALID_ORD = 0x08,
};
