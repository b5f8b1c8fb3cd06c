#pragma once
/*
 * A minimal NVMe/TCP host over a plain socket, for tests that must send what
 * the host library never would (SGLs longer than the data, bad digests, PDUs
 * out of order, odd sequences) and see every byte the target puts on the
 * wire. Header and data digests as the ICReq negotiated them; one command at
 * a time unless the test sends capsules itself. Every call returns 0 or
 * -errno (never asserts): the tests judge.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"

struct raw_tcp_host {
	int fd;
	bool hdgst, ddgst; /* negotiated by the ICReq */
	uint16_t cntlid;   /* from the admin queue's Connect */
	uint16_t next_cid;
	struct nvme_cqe last_cqe; /* the completion of the last Connect */
};

/* What one command's exchange carried back. */
struct raw_tcp_result {
	struct nvme_cqe cqe;
	uint32_t c2h_bytes;   /* sum of DATAL over the C2HData PDUs */
	uint32_t c2h_max_end; /* highest DATAO + DATAL seen */
	int c2h_pdus;
	bool success; /* ended by C2HData SUCCESS: no CapsuleResp came */
};

/* How a connection ended (raw_tcp_host_wait_end). */
struct raw_tcp_end {
	bool term_req; /* a C2HTermReq came before the close */
	uint16_t fes;
	uint32_t fei;
	uint32_t other_pdus; /* PDUs of other types read on the way */
};

/* TCP connect to 127.0.0.1:port, nothing sent; 0 or -errno. */
int raw_tcp_host_dial(struct raw_tcp_host *h, const char *port);
/* ICReq with the digests and HPDA asked for, ICResp checked; 0 or -errno. */
int raw_tcp_host_icreq(struct raw_tcp_host *h, bool hdgst, bool ddgst, uint8_t hpda);
/* Dial and ICReq without digests. */
int raw_tcp_host_open(struct raw_tcp_host *h, const char *port);
void raw_tcp_host_close(struct raw_tcp_host *h);

/* Raw bytes out / exactly len bytes in (10 s at most). */
int raw_tcp_host_send(struct raw_tcp_host *h, const void *buf, size_t len);
int raw_tcp_host_recv(struct raw_tcp_host *h, void *buf, size_t len);
/* One whole PDU into buf (cap bytes); its PLEN or -errno (-EMSGSIZE: larger than cap). */
int raw_tcp_host_recv_pdu(struct raw_tcp_host *h, void *buf, uint32_t cap);
/* The next PDU, which must be a CapsuleResp (its header digest checked when on). */
int raw_tcp_host_recv_rsp(struct raw_tcp_host *h, struct nvme_cqe *cqe);

/* One CapsuleCmd (sqe as given, cid included) with len bytes of in-capsule data. */
int raw_tcp_host_send_capsule(struct raw_tcp_host *h, const struct nvme_sqe *sqe, const void *icd,
                              uint32_t len);
/* Sets sqe's SGL to a Transport SGL Data Block (or in-capsule Data Block) of len bytes. */
void raw_tcp_host_sgl(struct nvme_sqe *sqe, bool in_capsule, uint32_t len);

/*
 * Fabrics Connect on qid (sqsize entries, 1-based) with the KATO given (ms),
 * to controller cntlid (0xffff: a new one); the completion in *cqe (and
 * h->last_cqe); h->cntlid set when an admin queue connected. 0 when the
 * exchange happened (whatever the status), -errno otherwise.
 */
int raw_tcp_host_connect_cqe(struct raw_tcp_host *h, uint16_t qid, uint16_t sqsize, uint32_t kato,
                             uint16_t cntlid, const char *subnqn, const char *hostnqn,
                             struct nvme_cqe *cqe);
/* The same with KATO 30 s on the admin queue; -EACCES when the Connect failed. */
int raw_tcp_host_connect(struct raw_tcp_host *h, uint16_t qid, uint16_t sqsize, const char *subnqn,
                         const char *hostnqn);
/* Property Get (set false) or Set of ofst; *out (optional) the value read. */
int raw_tcp_host_property(struct raw_tcp_host *h, bool set, uint32_t ofst, uint64_t value,
                          uint64_t *out);
/* CC.EN = 1 on the admin queue and waits for CSTS.RDY; 0 or -errno. */
int raw_tcp_host_enable(struct raw_tcp_host *h);
/*
 * Sends sqe with a Transport SGL Data Block of sgl_len bytes (the host's buffer
 * as the target sees it) and reads PDUs until the CapsuleResp, or the C2HData
 * SUCCESS flag, copying C2H data into buf (cap bytes). 0 or -errno.
 */
int raw_tcp_host_exec_c2h(struct raw_tcp_host *h, struct nvme_sqe *sqe, uint32_t sgl_len, void *buf,
                          size_t cap, struct raw_tcp_result *res);

/*
 * Reads until the target closes the connection (EOF or reset), noting a
 * C2HTermReq on the way; idle (optional) runs between reads. 0 once closed,
 * -ETIMEDOUT after timeout_ms.
 */
int raw_tcp_host_wait_end(struct raw_tcp_host *h, int timeout_ms, void (*idle)(void *arg),
                          void *arg, struct raw_tcp_end *end);
