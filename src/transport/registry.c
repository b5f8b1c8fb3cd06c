/*
 * The list of compiled-in transports. Referencing each ops table here is what
 * links them in from the static library.
 */
#include "transport/transport.h"

extern const struct unvmf_transport_ops unvmf_tcp_transport_ops;
extern const struct unvmf_transport_ops unvmf_rdma_transport_ops;

void unvmf_transports_register_all(void);
void unvmf_transports_register_all(void)
{
	unvmf_transport_register(&unvmf_tcp_transport_ops);
	unvmf_transport_register(&unvmf_rdma_transport_ops);
}
