#pragma once
/*
 * The RDMA transport's public API: its ops table (for a list of transports to
 * register) and its own options, which live in unvmf_transport_opts.specific
 * and are set through the functions here (tests, embedders) or decoded from
 * JSON by the transport's opts_decode (nvmf_create_transport).
 */
#include <stdbool.h>
#include <stdint.h>

#include "nvmf/transport.h"

struct unvmf_rdma_opts {
	uint32_t max_srq_depth;
	bool no_srq;
	uint32_t num_cqe;
	int32_t acceptor_backlog;
	uint8_t ack_timeout; /* 4.096 us << n per try; 0 = infinite */
	uint8_t retry_count; /* 0..7; 7 = forever on Soft-RoCE */
	uint8_t rnr_retry_count;
	uint32_t max_read_depth; /* RDMA READs outstanding per qpair we ask for */
	/*
	 * A qpair in error whose NIC has not given back everything (flushes,
	 * LAST_WQE_REACHED) this long after the QP went to ERR is destroyed
	 * anyway, its outstanding WRs accounted as reaped.
	 */
	uint32_t reclaim_timeout_ms;
	const char *provider;    /* a registered RDMA provider's name: "verbs", "sim" */
	void *provider_ctx;      /* handed to the provider's ctx_open (sim: its node) */
};

extern const struct unvmf_transport_ops unvmf_rdma_transport_ops;

/*
 * The RDMA part of opts, which must have been set up by the RDMA transport's
 * opts_init (opts->trtype RDMA).
 */
struct unvmf_rdma_opts *unvmf_rdma_opts(struct unvmf_transport_opts *opts);
const struct unvmf_rdma_opts *unvmf_rdma_opts_const(const struct unvmf_transport_opts *opts);
/*
 * Selects the RDMA provider by name and the context its ctx_open gets
 * (the sim provider: the struct rdma_sim_node the target runs on). The name
 * must outlive opts (a string literal or the provider's own name).
 */
void unvmf_rdma_opts_set_provider(struct unvmf_transport_opts *opts, const char *provider,
                                  void *provider_ctx);
