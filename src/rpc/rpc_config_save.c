/*
 * save_config: the current state as the list of methods that recreates it,
 * in SPDK's layout, so that unvmf-tgt -c on the output rebuilds the same
 * bdevs, transports, subsystems, namespaces, hosts, listeners and referrals.
 */
#include "rpc/rpc.h"
#include "bdev/bdev.h"
#include "nvmf/nvmf.h"
#include "nvmf/transport.h"
#include "util/common.h"

#include <string.h>

static void config_add(json_t *list, const char *method, json_t *params)
{
	json_array_append_new(list, json_pack("{s:s, s:o*}", "method", method, "params", params));
}

static json_t *bdev_config(void)
{
	json_t *list = json_array();

	for (struct unvmf_bdev *b = unvmf_bdev_first(); list && b; b = unvmf_bdev_next(b)) {
		char method[64];

		snprintf(method, sizeof(method), "bdev_%s_create", b->ops->type);
		config_add(list, method, unvmf_rpc_bdev_create_params(b));
	}
	return list;
}

static void subsystem_config_locked(json_t *list, struct unvmf_subsystem *s)
{
	struct unvmf_host_entry *h;
	struct unvmf_listener *l;

	if (s->type == UNVMF_SUBSYSTEM_NVME) {
		config_add(list, "nvmf_create_subsystem",
		           json_pack("{s:s, s:s, s:s, s:b, s:i, s:i, s:i, s:b}", "nqn", s->nqn,
		                     "serial_number", s->serial, "model_number", s->model,
		                     "allow_any_host", s->allow_any_host, "max_namespaces",
		                     (int)s->max_namespaces, "min_cntlid", s->min_cntlid,
		                     "max_cntlid", s->max_cntlid, "ana_reporting",
		                     s->ana_reporting));
		TAILQ_FOREACH(h, &s->hosts, link)
		config_add(list, "nvmf_subsystem_add_host",
		           json_pack("{s:s, s:s}", "nqn", s->nqn, "host", h->nqn));
		for (uint32_t i = 0; i < s->max_namespaces; i++) {
			struct unvmf_ns *ns = s->ns[i];
			char uuid[37], hex[33];
			json_t *n;

			if (!ns)
				continue;
			unvmf_uuid_format(ns->uuid, uuid);
			n = json_pack("{s:i, s:s, s:s}", "nsid", (int)ns->nsid, "bdev_name",
			              ns->bdev->name, "uuid", uuid);
			if (n && ns->has_nguid) {
				unvmf_rpc_format_hex(ns->nguid, 16, hex);
				json_object_set_new(n, "nguid", json_string(hex));
			}
			if (n && ns->has_eui64) {
				unvmf_rpc_format_hex(ns->eui64, 8, hex);
				json_object_set_new(n, "eui64", json_string(hex));
			}
			config_add(list, "nvmf_subsystem_add_ns",
			           json_pack("{s:s, s:o*}", "nqn", s->nqn, "namespace", n));
		}
	}
	TAILQ_FOREACH(l, &s->listeners, link)
	config_add(list, "nvmf_subsystem_add_listener",
	           json_pack("{s:s, s:o*}", "nqn", s->nqn, "listen_address",
	                     unvmf_rpc_trid_json(&l->trid)));
}

static json_t *nvmf_config(void)
{
	json_t *list = json_array();
	struct unvmf_subsystem *s;
	struct unvmf_referral *r;
	struct unvmf_transport *t;

	if (!list)
		return NULL;
	config_add(list, "nvmf_set_max_subsystems",
	           json_pack("{s:i}", "max_subsystems", (int)g_tgt.opts.max_subsystems));
	for (unsigned i = 0; (t = unvmf_tgt_transport_get(i)); i++)
		config_add(list, "nvmf_create_transport", unvmf_rpc_transport_json(t));
	pthread_mutex_lock(&g_tgt.lock);
	if (g_tgt.discovery)
		subsystem_config_locked(list, g_tgt.discovery);
	TAILQ_FOREACH(s, &g_tgt.subsystems, link)
	subsystem_config_locked(list, s);
	TAILQ_FOREACH(r, &g_tgt.referrals, link)
	{
		json_t *p = json_pack("{s:o*, s:b}", "address", unvmf_rpc_trid_json(&r->trid),
		                      "secure_channel", r->secure_channel);

		if (p && r->trid.subnqn[0])
			json_object_set_new(p, "subnqn", json_string(r->trid.subnqn));
		config_add(list, "nvmf_discovery_add_referral", p);
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return list;
}

json_t *unvmf_rpc_config_save(void)
{
	return json_pack("{s:[{s:s, s:o*}, {s:s, s:o*}]}", "subsystems", "subsystem", "bdev",
	                 "config", bdev_config(), "subsystem", "nvmf", "config", nvmf_config());
}
