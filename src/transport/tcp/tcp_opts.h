#pragma once
/*
 * The TCP transport's public API: its ops table (for a list of transports to
 * register) and its own options, which live in unvmf_transport_opts.specific
 * and are set through the accessor here or decoded from JSON by the
 * transport's opts_decode (nvmf_create_transport).
 */
#include <stdbool.h>
#include <stdint.h>

#include "nvmf/transport.h"

struct unvmf_tcp_opts {
	bool c2h_success;          /* skip CapsuleResp after a successful read */
	/*
	 * Also for hosts that keep SQ flow control (Linux and SPDK hosts do).
	 * NVMe/TCP ties SUCCESS to disabled SQHD updates, so this is off by
	 * default; SPDK's target does it anyway. With it, a CapsuleResp still
	 * carries SQHD at least once per quarter of the queue.
	 */
	bool c2h_success_sq_flow_control;
	uint32_t sock_priority;    /* SO_PRIORITY; 0 = the default */
	uint32_t ack_timeout_ms;   /* TCP_USER_TIMEOUT; 0 = the kernel's */
	uint32_t icreq_timeout_ms; /* accept to ICReq; 0 = no deadline */
};

extern const struct unvmf_transport_ops unvmf_tcp_transport_ops;

/* The TCP part of opts, which must have been set up by the TCP transport's opts_init. */
struct unvmf_tcp_opts *unvmf_tcp_opts(struct unvmf_transport_opts *opts);
const struct unvmf_tcp_opts *unvmf_tcp_opts_const(const struct unvmf_transport_opts *opts);
