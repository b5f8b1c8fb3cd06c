/* Transport option defaults (the list of built-in transports is the app's: src/app). */
#include "nvmf/transport.h"

#include <string.h>

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
