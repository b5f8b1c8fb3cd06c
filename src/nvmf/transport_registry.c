/*
 * The registry of transport implementations. Transports register their ops
 * table (the application's built-in list, or a test's own transport); the core
 * and the RPC layer find them by trtype or by name and never name one.
 */
#include "nvmf/nvmf_internal.h"
#include "nvmf/transport.h"
#include "util/common.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define TRANSPORT_OPS_MAX 8

static const struct unvmf_transport_ops *g_transport_ops[TRANSPORT_OPS_MAX];
static unsigned g_num_transport_ops;

int unvmf_transport_register(const struct unvmf_transport_ops *ops)
{
	for (unsigned i = 0; i < g_num_transport_ops; i++) {
		if (g_transport_ops[i] == ops)
			return 0;
		if (g_transport_ops[i]->trtype == ops->trtype ||
		    strcasecmp(g_transport_ops[i]->name, ops->name) == 0)
			return -EEXIST;
	}
	if (g_num_transport_ops == TRANSPORT_OPS_MAX)
		return -ENOSPC;
	g_transport_ops[g_num_transport_ops++] = ops;
	return 0;
}

const struct unvmf_transport_ops *unvmf_transport_ops_find(enum nvmf_trtype trtype)
{
	for (unsigned i = 0; i < g_num_transport_ops; i++) {
		if (g_transport_ops[i]->trtype == trtype)
			return g_transport_ops[i];
	}
	return NULL;
}

const struct unvmf_transport_ops *unvmf_transport_ops_find_by_name(const char *name)
{
	for (unsigned i = 0; i < g_num_transport_ops; i++) {
		if (strcasecmp(g_transport_ops[i]->name, name) == 0)
			return g_transport_ops[i];
	}
	return NULL;
}

const struct unvmf_transport_ops *unvmf_transport_ops_get(unsigned index)
{
	return index < g_num_transport_ops ? g_transport_ops[index] : NULL;
}

const char *unvmf_transport_trtype_name(enum nvmf_trtype trtype)
{
	const struct unvmf_transport_ops *ops = unvmf_transport_ops_find(trtype);

	return ops ? ops->name : unvmf_trtype_str(trtype);
}

struct unvmf_transport *unvmf_tgt_transport_get(unsigned index)
{
	return index < g_tgt.num_transports ? g_tgt.transports[index] : NULL;
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
	unvmf_qpair_limits_defaults(&o->limits);
}
