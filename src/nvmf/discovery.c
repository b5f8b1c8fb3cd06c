/*
 * The discovery log page, built on demand for one host: one entry per
 * listener of every subsystem that host may use, one for the discovery
 * subsystem at the address the host came in through, and the referrals.
 */
#include "nvmf/nvmf_internal.h"
#include "nvmf/transport.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

/*
 * secure: a secure channel is required there (TREQ); the transport's
 * listener_discover reads TREQ to fill its TSAS security type.
 */
static void entry_fill(struct nvmf_discovery_log_entry *e, const struct unvmf_trid *trid,
		       uint8_t subtype, const char *nqn, uint16_t portid, bool secure)
{
	const struct unvmf_transport_ops *ops;

	memset(e, 0, sizeof(*e));
	e->trtype = (uint8_t)trid->trtype;
	e->adrfam = (uint8_t)trid->adrfam;
	e->subtype = subtype;
	e->treq = secure ? NVMF_TREQ_SECURE_CHANNEL_REQUIRED : NVMF_TREQ_SECURE_CHANNEL_NOT_REQUIRED;
	e->portid = portid;
	e->cntlid = 0xffff;
	e->asqsz = 32;
	unvmf_str_pad(e->trsvcid, sizeof(e->trsvcid), trid->trsvcid);
	unvmf_str_pad(e->traddr, sizeof(e->traddr), trid->traddr);
	memset(e->subnqn, 0, sizeof(e->subnqn));
	memcpy(e->subnqn, nqn, strnlen(nqn, sizeof(e->subnqn)));
	/* TSAS is the transport's; a trtype this build lacks keeps it zero. */
	ops = unvmf_transport_ops_find(trid->trtype);
	if (ops && ops->listener_discover)
		ops->listener_discover(trid, e);
}

/* Under g_tgt.lock: whether some subsystem requires a secure channel at addr. */
static bool addr_secure_locked(const struct unvmf_trid *addr)
{
	struct unvmf_subsystem *subsys;
	struct unvmf_listener *l;

	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link) {
		TAILQ_FOREACH(l, &subsys->listeners, link) {
			if (l->secure_channel && unvmf_trid_same_addr(&l->trid, addr))
				return true;
		}
	}
	return false;
}

/* Port ids: stable per listen address across the log, derived from its position. */
static uint16_t port_id(const struct unvmf_trid *trid)
{
	uint32_t h = 2166136261u;

	for (const char *p = trid->traddr; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (const char *p = trid->trsvcid; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h ^= trid->trtype;
	return (uint16_t)(h % 0xfff0);
}

void unvmf_discovery_log(const char *hostnqn, const struct unvmf_trid *local, void *buf,
			 uint64_t offset, uint32_t length)
{
	struct nvmf_discovery_log_header hdr;
	struct nvmf_discovery_log_entry entry;
	struct unvmf_subsystem *subsys;
	struct unvmf_listener *l;
	struct unvmf_referral *r;
	uint64_t numrec = 0;
	uint64_t pos = sizeof(hdr);

#define EMIT(e)                                                                                    \
	do {                                                                                       \
		if (pos + sizeof(e) > offset && pos < offset + length) {                           \
			uint64_t s = pos > offset ? pos - offset : 0;                              \
			uint64_t from = pos > offset ? 0 : offset - pos;                           \
			uint64_t n = UNVMF_MIN(sizeof(e) - from, (uint64_t)length - s);            \
			memcpy((uint8_t *)buf + s, (const uint8_t *)&(e) + from, n);               \
		}                                                                                  \
		pos += sizeof(e);                                                                  \
		numrec++;                                                                          \
	} while (0)

	pthread_mutex_lock(&g_tgt.lock);
	if (local->trtype) {
		entry_fill(&entry, local, NVMF_SUBTYPE_DISCOVERY_CURRENT, NVMF_DISCOVERY_NQN,
			   port_id(local), addr_secure_locked(local));
		entry.eflags = 0;
		EMIT(entry);
	}
	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link) {
		if (subsys->type != UNVMF_SUBSYSTEM_NVME || subsys->deleting)
			continue;
		if (!unvmf_subsystem_host_allowed(subsys, hostnqn))
			continue;
		TAILQ_FOREACH(l, &subsys->listeners, link) {
			entry_fill(&entry, &l->trid, NVMF_SUBTYPE_NVME, subsys->nqn,
				   port_id(&l->trid), l->secure_channel);
			EMIT(entry);
		}
	}
	TAILQ_FOREACH(r, &g_tgt.referrals, link) {
		entry_fill(&entry, &r->trid, NVMF_SUBTYPE_DISCOVERY_REFERRAL,
			   r->trid.subnqn[0] ? r->trid.subnqn : NVMF_DISCOVERY_NQN,
			   port_id(&r->trid), r->secure_channel);
		EMIT(entry);
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.genctr = g_tgt.discovery_genctr;
	hdr.numrec = numrec;
	hdr.recfmt = 0;
	pthread_mutex_unlock(&g_tgt.lock);
#undef EMIT

	if (offset < sizeof(hdr)) {
		uint64_t n = UNVMF_MIN(sizeof(hdr) - offset, (uint64_t)length);

		memcpy(buf, (uint8_t *)&hdr + offset, n);
	}
}

int unvmf_tgt_add_referral(const struct unvmf_trid *trid, bool secure)
{
	struct unvmf_referral *r;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(r, &g_tgt.referrals, link) {
		if (unvmf_trid_same_addr(&r->trid, trid) && strcmp(r->trid.subnqn, trid->subnqn) == 0) {
			pthread_mutex_unlock(&g_tgt.lock);
			return -EEXIST;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOMEM;
	}
	r->trid = *trid;
	r->secure_channel = secure;
	TAILQ_INSERT_TAIL(&g_tgt.referrals, r, link);
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
	return 0;
}

int unvmf_tgt_remove_referral(const struct unvmf_trid *trid)
{
	struct unvmf_referral *r;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(r, &g_tgt.referrals, link) {
		if (unvmf_trid_same_addr(&r->trid, trid) &&
		    (!trid->subnqn[0] || strcmp(r->trid.subnqn, trid->subnqn) == 0))
			break;
	}
	if (!r) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOENT;
	}
	TAILQ_REMOVE(&g_tgt.referrals, r, link);
	free(r);
	unvmf_discovery_changed_locked();
	pthread_mutex_unlock(&g_tgt.lock);
	return 0;
}
