#pragma once
/*
 * A minimal NVMe/TCP host over a plain socket, for tests that must send what
 * the host library never would (SGLs longer than the data, odd sequences) and
 * see every byte the target puts on the wire. No digests; one command at a time.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unvmf/nvme_spec.h"

struct raw_tcp_host {
	int fd;
	uint16_t cntlid; /* from the admin queue's Connect */
	uint16_t next_cid;
};

/* What one command's exchange carried back. */
struct raw_tcp_result {
	struct nvme_cqe cqe;
	uint32_t c2h_bytes; /* sum of DATAL over the C2HData PDUs */
	uint32_t c2h_max_end; /* highest DATAO + DATAL seen */
	int c2h_pdus;
	bool success; /* ended by C2HData SUCCESS: no CapsuleResp came */
};

/* TCP connect to 127.0.0.1:port and the ICReq/ICResp exchange; 0 or -errno. */
int raw_tcp_host_open(struct raw_tcp_host *h, const char *port);
void raw_tcp_host_close(struct raw_tcp_host *h);
/* Fabrics Connect on qid (sqsize entries, 1-based); fills h->cntlid for qid 0. */
int raw_tcp_host_connect(struct raw_tcp_host *h, uint16_t qid, uint16_t sqsize,
                         const char *subnqn, const char *hostnqn);
/* CC.EN = 1 on the admin queue and waits for CSTS.RDY; 0 or -errno. */
int raw_tcp_host_enable(struct raw_tcp_host *h);
/*
 * Sends sqe with a Transport SGL Data Block of sgl_len bytes (the host's buffer
 * as the target sees it) and reads PDUs until the CapsuleResp, or the C2HData
 * SUCCESS flag, copying C2H data into buf (cap bytes). 0 or -errno.
 */
int raw_tcp_host_exec_c2h(struct raw_tcp_host *h, struct nvme_sqe *sqe, uint32_t sgl_len,
                          void *buf, size_t cap, struct raw_tcp_result *res);
