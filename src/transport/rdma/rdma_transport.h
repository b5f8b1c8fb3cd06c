#pragma once
/* The NVMe/RDMA transport as the target's list of transports names it (src/app). */
#include "nvmf/transport.h"

extern const struct unvmf_transport_ops unvmf_rdma_transport_ops;
