/*
 * The transports built into unvmf-tgt: the one list that names them. Each
 * transport brings its own options, discovery entry and fault injection
 * through its ops table; the first one serves the default configuration.
 * Referencing each ops table here is also what links it in from its static
 * library; a build without RDMA (UNVMF_RDMA=OFF) has no RDMA library to name.
 */
#include "app/tgt_app.h"
#include "nvmf/transport.h"
#include "transport/tcp/tcp_opts.h"
#include "util/common.h"
#include "util/log.h"
#if UNVMF_WITH_RDMA
#include "transport/rdma/rdma_opts.h"
#endif

#include <string.h>

static const struct unvmf_transport_ops *const g_builtin_transports[] = {
    &unvmf_tcp_transport_ops,
#if UNVMF_WITH_RDMA
    &unvmf_rdma_transport_ops,
#endif
};

void unvmf_transports_register_all(void)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_builtin_transports); i++) {
		int rc = unvmf_transport_register(g_builtin_transports[i]);

		if (rc)
			LOG_ERR("transport %s: cannot register: %s", g_builtin_transports[i]->name,
			        strerror(-rc));
	}
}
