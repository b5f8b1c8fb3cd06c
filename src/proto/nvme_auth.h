#pragma once
/*
 * NVMe in-band authentication on the wire (NVMe Base 2.0, "Authentication";
 * NVMe-oF 1.1, AUTH_Send / AUTH_Receive): the DH-HMAC-CHAP messages host and
 * controller exchange in the data of those two Fabrics commands. All
 * multi-byte fields are little endian.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* AUTH_Send / AUTH_Receive CDW10: SECP, SPSP0, SPSP1 for DH-HMAC-CHAP. */
#define NVME_AUTH_SECP_DHCHAP 0xe9
#define NVME_AUTH_SPSP 0x01

/* Connect response DW0 bits 31:16 (AUTHREQ): authentication transaction required. */
#define NVMF_CONNECT_AUTHREQ_ATR 0x0002

/* Message types (AUTH-Type) and identifiers (AUTH-Id). */
enum nvme_auth_type {
	NVME_AUTH_TYPE_COMMON = 0x00, /* negotiate, failure1, failure2 */
	NVME_AUTH_TYPE_DHCHAP = 0x01, /* challenge, reply, success1, success2 */
};

enum nvme_auth_msg_id {
	NVME_AUTH_MSG_NEGOTIATE = 0x00,
	NVME_AUTH_MSG_CHALLENGE = 0x01,
	NVME_AUTH_MSG_REPLY = 0x02,
	NVME_AUTH_MSG_SUCCESS1 = 0x03,
	NVME_AUTH_MSG_SUCCESS2 = 0x04,
	NVME_AUTH_MSG_FAILURE2 = 0xf0,
	NVME_AUTH_MSG_FAILURE1 = 0xf1,
};

/* Hash function identifiers (also the <XX> of a DHHC-1 secret, 0 = untransformed). */
enum nvme_auth_hash {
	NVME_AUTH_HASH_NONE = 0x00,
	NVME_AUTH_HASH_SHA256 = 0x01,
	NVME_AUTH_HASH_SHA384 = 0x02,
	NVME_AUTH_HASH_SHA512 = 0x03,
};
#define NVME_AUTH_HASH_COUNT 4

/* Diffie-Hellman group identifiers. */
enum nvme_auth_dhgroup {
	NVME_AUTH_DHGROUP_NULL = 0x00,
	NVME_AUTH_DHGROUP_2048 = 0x01,
	NVME_AUTH_DHGROUP_3072 = 0x02,
	NVME_AUTH_DHGROUP_4096 = 0x03,
	NVME_AUTH_DHGROUP_6144 = 0x04,
	NVME_AUTH_DHGROUP_8192 = 0x05,
};
#define NVME_AUTH_DHGROUP_COUNT 6

/* Failure reason code (always "authentication failure") and its explanations. */
#define NVME_AUTH_FAILURE_REASON 0x01
enum nvme_auth_failure_exp {
	NVME_AUTH_FAIL_FAILED = 0x01,
	NVME_AUTH_FAIL_PROTOCOL_UNUSABLE = 0x02,
	NVME_AUTH_FAIL_CONCAT_MISMATCH = 0x03,
	NVME_AUTH_FAIL_HASH_UNUSABLE = 0x04,
	NVME_AUTH_FAIL_DHGROUP_UNUSABLE = 0x05,
	NVME_AUTH_FAIL_INCORRECT_PAYLOAD = 0x06,
	NVME_AUTH_FAIL_INCORRECT_MESSAGE = 0x07,
};

/* The authentication protocol identifier of DH-HMAC-CHAP in a negotiate descriptor. */
#define NVME_AUTH_PROTOCOL_DHCHAP 0x01
#define NVME_AUTH_IDLIST_HASHES 30 /* idlist[0..29]: hash ids; idlist[30..59]: DH group ids */

struct nvme_auth_protocol_desc {
	uint8_t authid;
	uint8_t rsvd;
	uint8_t halen;
	uint8_t dhlen;
	uint8_t idlist[60];
};
static_assert(sizeof(struct nvme_auth_protocol_desc) == 64, "auth descriptor");

struct nvme_auth_negotiate {
	uint8_t auth_type;
	uint8_t auth_id;
	uint16_t rsvd;
	uint16_t t_id;
	uint8_t sc_c;
	uint8_t napd;
	struct nvme_auth_protocol_desc desc[];
};
static_assert(sizeof(struct nvme_auth_negotiate) == 8, "negotiate header");

/* Followed by hl bytes of challenge, then dhvlen bytes of the controller's DH value. */
struct nvme_auth_challenge {
	uint8_t auth_type;
	uint8_t auth_id;
	uint16_t rsvd1;
	uint16_t t_id;
	uint8_t hl;
	uint8_t rsvd2;
	uint8_t hashid;
	uint8_t dhgid;
	uint16_t dhvlen;
	uint32_t seqnum;
	uint8_t cval[];
};
static_assert(sizeof(struct nvme_auth_challenge) == 16, "challenge header");

/* Followed by hl bytes of response, hl bytes of the host's challenge, dhvlen bytes of DH value. */
struct nvme_auth_reply {
	uint8_t auth_type;
	uint8_t auth_id;
	uint16_t rsvd1;
	uint16_t t_id;
	uint8_t hl;
	uint8_t rsvd2;
	uint8_t cvalid;
	uint8_t rsvd3;
	uint16_t dhvlen;
	uint32_t seqnum;
	uint8_t rval[];
};
static_assert(sizeof(struct nvme_auth_reply) == 16, "reply header");

/* Followed by hl bytes of the controller's response when rvalid. */
struct nvme_auth_success1 {
	uint8_t auth_type;
	uint8_t auth_id;
	uint16_t rsvd1;
	uint16_t t_id;
	uint8_t hl;
	uint8_t rsvd2;
	uint8_t rvalid;
	uint8_t rsvd3[7];
	uint8_t rval[];
};
static_assert(sizeof(struct nvme_auth_success1) == 16, "success1 header");

struct nvme_auth_success2 {
	uint8_t auth_type;
	uint8_t auth_id;
	uint16_t rsvd1;
	uint16_t t_id;
	uint8_t rsvd2[10];
};
static_assert(sizeof(struct nvme_auth_success2) == 16, "success2");

struct nvme_auth_failure {
	uint8_t auth_type;
	uint8_t auth_id;
	uint16_t rsvd1;
	uint16_t t_id;
	uint8_t rescode;
	uint8_t rescode_exp;
};
static_assert(sizeof(struct nvme_auth_failure) == 8, "failure");

/* AUTH_Send / AUTH_Receive: CDW10 (byte 40 on) and CDW11 (transfer / allocation length). */
struct nvmf_auth_cmd {
	uint8_t opcode;
	uint8_t rsvd1;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd2[19];
	uint8_t dptr[16];
	uint8_t rsvd3;
	uint8_t spsp0;
	uint8_t spsp1;
	uint8_t secp; /* CDW10 bits 31:24 */
	uint32_t len; /* TL (send) or AL (receive) */
	uint8_t rsvd4[16];
};
static_assert(sizeof(struct nvmf_auth_cmd) == 64, "auth cmd");
static_assert(offsetof(struct nvmf_auth_cmd, secp) == 43, "SECP is CDW10 bits 31:24");
