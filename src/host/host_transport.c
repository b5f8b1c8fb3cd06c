/*
 * The host library's transports: the one list that names them. The
 * controller code finds a trid's transport here by trtype and never names one.
 */
#include "host/host_internal.h"
#include "util/common.h"

static const struct host_transport_ops *const g_host_transports[] = {
    &g_host_tcp_ops,
#if UNVMF_WITH_RDMA
    &g_host_rdma_ops,
#endif
};

const struct host_transport_ops *host_transport_find(enum nvmf_trtype trtype)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_host_transports); i++) {
		if (g_host_transports[i]->trtype == trtype)
			return g_host_transports[i];
	}
	return NULL;
}
