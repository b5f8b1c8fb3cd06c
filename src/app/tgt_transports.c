/*
 * The transports built into unvmf-tgt. Referencing each ops table here is what
 * links them in from their static libraries; a build without RDMA
 * (UNVMF_RDMA=OFF) has no RDMA library to name.
 */
#include "app/tgt_app.h"
#include "nvmf/transport.h"
#include "transport/tcp/tcp_transport.h"
#if UNVMF_WITH_RDMA
#include "transport/rdma/rdma_transport.h"
#endif

void unvmf_transports_register_all(void)
{
	unvmf_transport_register(&unvmf_tcp_transport_ops);
#if UNVMF_WITH_RDMA
	unvmf_transport_register(&unvmf_rdma_transport_ops);
#endif
}
