/*
 * The list of compiled-in transports. Referencing each ops table here is what
 * links them in from the static library.
 */
#include "nvmf/transport.h"

#include <string.h>

extern const struct unvmf_transport_ops unvmf_tcp_transport_ops;
extern const struct unvmf_transport_ops unvmf_rdma_transport_ops;

void unvmf_transports_register_all(void);
void unvmf_transports_register_all(void)
{
	unvmf_transport_register(&unvmf_tcp_transport_ops);
	unvmf_transport_register(&unvmf_rdma_transport_ops);
}

void unvmf_transport_opts_defaults(struct unvmf_transport_opts *o, enum nvmf_trtype trtype)
{
	memset(o, 0, sizeof(*o));
	o->trtype = trtype;
	o->max_queue_depth = 128;
	o->max_aq_depth = 128;
	o->max_io_qpairs_per_ctrlr = 127;
	o->in_capsule_data_size = 4096;
	o->max_io_size = 131072;
	o->io_unit_size = 8192;
	o->abort_timeout_sec = 1;
}
