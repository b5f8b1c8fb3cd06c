/*
 * Runtime fault injection (unvmf-tgt --enable-fault-injection): the switch,
 * and the walk that hands a fault to each matching qpair of a poll group.
 * The transport decides what the fault means; the core only selects qpairs.
 */
#include "nvmf/nvmf_internal.h"
#include "nvmf/transport.h"

void unvmf_tgt_set_fault_injection(bool enabled)
{
	g_tgt.fault_injection = enabled;
}

bool unvmf_tgt_fault_injection_enabled(void)
{
	return g_tgt.fault_injection;
}

void unvmf_poll_group_inject_fault(struct unvmf_poll_group *group,
                                   struct unvmf_transport *transport,
                                   const struct unvmf_qpair_match *match, const char *fault,
                                   struct unvmf_inject_result *res)
{
	struct unvmf_qpair *q, *tmp;

	/* The transport may start tearing the qpair down from inject_fault. */
	TAILQ_FOREACH_SAFE(q, &group->qpairs, group_link, tmp)
	{
		int rc;

		if (q->transport != transport)
			continue;
		if (match->qpair_id >= 0 && q->id != (uint64_t)match->qpair_id)
			continue;
		if (match->cntlid >= 0 && (!q->ctrlr || q->ctrlr->cntlid != match->cntlid))
			continue;
		if (match->qid >= 0 && q->qid != match->qid)
			continue;
		res->matched++;
		rc = transport->ops->inject_fault(q, fault);
		if (rc == 0)
			res->injected++;
		else if (!res->first_error)
			res->first_error = rc;
	}
}
