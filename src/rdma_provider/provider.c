/* Provider registry and the name tables shared by the providers and by logs. */
#include <errno.h>
#include <string.h>

#include "rdma_provider/provider.h"
#include "util/common.h"

/* Defined in provider_verbs.c. */
extern const struct rdma_provider rdma_provider_verbs;

/*
 * Providers added at run time. Written only by rdma_provider_register, which
 * runs before threads exist (program start-up), so lookups need no lock.
 */
static const struct rdma_provider *g_providers[4];
static unsigned g_num_providers;

int rdma_provider_register(const struct rdma_provider *p)
{
	if (rdma_provider_get(p->name) != NULL)
		return -EEXIST;
	if (g_num_providers == UNVMF_ARRAY_SIZE(g_providers))
		return -ENOSPC;
	g_providers[g_num_providers++] = p;
	return 0;
}

const struct rdma_provider *rdma_provider_get(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, rdma_provider_verbs.name) == 0)
		return &rdma_provider_verbs;
	for (unsigned i = 0; i < g_num_providers; i++) {
		if (strcmp(name, g_providers[i]->name) == 0)
			return g_providers[i];
	}
	return NULL;
}

static const char *const wc_status_names[RDMA_PROV_WC_STATUS_COUNT] = {
	[RDMA_PROV_WC_SUCCESS] = "SUCCESS",
	[RDMA_PROV_WC_LOC_LEN_ERR] = "LOC_LEN_ERR",
	[RDMA_PROV_WC_LOC_QP_OP_ERR] = "LOC_QP_OP_ERR",
	[RDMA_PROV_WC_LOC_EEC_OP_ERR] = "LOC_EEC_OP_ERR",
	[RDMA_PROV_WC_LOC_PROT_ERR] = "LOC_PROT_ERR",
	[RDMA_PROV_WC_WR_FLUSH_ERR] = "WR_FLUSH_ERR",
	[RDMA_PROV_WC_MW_BIND_ERR] = "MW_BIND_ERR",
	[RDMA_PROV_WC_BAD_RESP_ERR] = "BAD_RESP_ERR",
	[RDMA_PROV_WC_LOC_ACCESS_ERR] = "LOC_ACCESS_ERR",
	[RDMA_PROV_WC_REM_INV_REQ_ERR] = "REM_INV_REQ_ERR",
	[RDMA_PROV_WC_REM_ACCESS_ERR] = "REM_ACCESS_ERR",
	[RDMA_PROV_WC_REM_OP_ERR] = "REM_OP_ERR",
	[RDMA_PROV_WC_RETRY_EXC_ERR] = "RETRY_EXC_ERR",
	[RDMA_PROV_WC_RNR_RETRY_EXC_ERR] = "RNR_RETRY_EXC_ERR",
	[RDMA_PROV_WC_LOC_RDD_VIOL_ERR] = "LOC_RDD_VIOL_ERR",
	[RDMA_PROV_WC_REM_INV_RD_REQ_ERR] = "REM_INV_RD_REQ_ERR",
	[RDMA_PROV_WC_REM_ABORT_ERR] = "REM_ABORT_ERR",
	[RDMA_PROV_WC_INV_EECN_ERR] = "INV_EECN_ERR",
	[RDMA_PROV_WC_INV_EEC_STATE_ERR] = "INV_EEC_STATE_ERR",
	[RDMA_PROV_WC_FATAL_ERR] = "FATAL_ERR",
	[RDMA_PROV_WC_RESP_TIMEOUT_ERR] = "RESP_TIMEOUT_ERR",
	[RDMA_PROV_WC_GENERAL_ERR] = "GENERAL_ERR",
};

const char *rdma_prov_wc_status_name(enum rdma_prov_wc_status status)
{
	if ((unsigned)status >= RDMA_PROV_WC_STATUS_COUNT)
		return "UNKNOWN";
	return wc_status_names[status];
}

const char *rdma_prov_wr_opcode_name(enum rdma_prov_wr_opcode opcode)
{
	static const char *const names[] = {"SEND", "SEND_WITH_INV", "RDMA_WRITE", "RDMA_READ",
					    "RECV", "ANY"};

	return (unsigned)opcode < UNVMF_ARRAY_SIZE(names) ? names[opcode] : "UNKNOWN";
}

const char *rdma_prov_qp_state_name(enum rdma_prov_qp_state state)
{
	static const char *const names[] = {"RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR"};

	return (unsigned)state < UNVMF_ARRAY_SIZE(names) ? names[state] : "UNKNOWN";
}

const char *rdma_prov_cm_event_name(enum rdma_prov_cm_event_type type)
{
	static const char *const names[] = {
		"ROUTE_RESOLVED", "ADDR_ERROR",	 "ROUTE_ERROR",	   "CONNECT_REQUEST",
		"CONNECT_ERROR",  "UNREACHABLE", "REJECTED",	   "ESTABLISHED",
		"DISCONNECTED",	  "DEVICE_REMOVAL", "ADDR_CHANGE", "TIMEWAIT_EXIT",
		"OTHER",
	};

	return (unsigned)type < UNVMF_ARRAY_SIZE(names) ? names[type] : "UNKNOWN";
}

const char *rdma_prov_async_event_name(enum rdma_prov_async_event_type type)
{
	static const char *const names[] = {
		"QP_FATAL",   "QP_REQ_ERR",  "QP_ACCESS_ERR", "COMM_EST",	  "QP_LAST_WQE_REACHED",
		"SQ_DRAINED", "CQ_ERR",	     "SRQ_ERR",	      "SRQ_LIMIT_REACHED", "PORT_ACTIVE",
		"PORT_ERR",   "DEVICE_FATAL", "OTHER",
	};

	return (unsigned)type < UNVMF_ARRAY_SIZE(names) ? names[type] : "UNKNOWN";
}
