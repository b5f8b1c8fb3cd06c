/*
 * save_config: the current state as the list of methods that recreates it,
 * in SPDK's layout, so that unvmf-tgt -c on the output rebuilds the same
 * keys, bdevs, transports, subsystems, namespaces, hosts (with their PSK
 * names), listeners (with secure_channel) and referrals.
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

#if UNVMF_WITH_RBD
	if (list)
		unvmf_rpc_rbd_config_save(list);
#endif
	for (struct unvmf_bdev *b = unvmf_bdev_first(); list && b; b = unvmf_bdev_next(b)) {
		char method[64];

		if (b->create_method)
			snprintf(method, sizeof(method), "%s", b->create_method);
		else
			snprintf(method, sizeof(method), "bdev_%s_create", b->ops->type);
		config_add(list, method, unvmf_rpc_bdev_create_params(b));
	}
	return list;
}

struct subsystem_config {
	json_t *list;
	const char *nqn;
};

static int host_config(const char *hostnqn, const char *psk, const char *dhchap_key,
                       const char *dhchap_ctrlr_key, void *arg)
{
	struct subsystem_config *c = arg;
	json_t *p = json_pack("{s:s, s:s}", "nqn", c->nqn, "host", hostnqn);

	if (p && psk[0])
		json_object_set_new(p, "psk", json_string(psk));
	if (p && dhchap_key[0])
		json_object_set_new(p, "dhchap_key", json_string(dhchap_key));
	if (p && dhchap_ctrlr_key[0])
		json_object_set_new(p, "dhchap_ctrlr_key", json_string(dhchap_ctrlr_key));
	config_add(c->list, "nvmf_subsystem_add_host", p);
	return 0;
}

static int ns_config(const struct unvmf_ns_info *ns, void *arg)
{
	struct subsystem_config *c = arg;
	char uuid[37], hex[33];
	json_t *n;

	unvmf_uuid_format(ns->uuid, uuid);
	n = json_pack("{s:i, s:s, s:s}", "nsid", (int)ns->nsid, "bdev_name", ns->bdev_name, "uuid",
	              uuid);
	if (n && ns->has_nguid) {
		unvmf_rpc_format_hex(ns->nguid, 16, hex);
		json_object_set_new(n, "nguid", json_string(hex));
	}
	if (n && ns->has_eui64) {
		unvmf_rpc_format_hex(ns->eui64, 8, hex);
		json_object_set_new(n, "eui64", json_string(hex));
	}
	config_add(c->list, "nvmf_subsystem_add_ns",
	           json_pack("{s:s, s:o*}", "nqn", c->nqn, "namespace", n));
	return 0;
}

static int listener_config(const struct unvmf_trid *trid, const struct unvmf_listen_opts *opts,
                           void *arg)
{
	struct subsystem_config *c = arg;

	config_add(c->list, "nvmf_subsystem_add_listener",
	           json_pack("{s:s, s:o*, s:b}", "nqn", c->nqn, "listen_address",
	                     unvmf_rpc_trid_json(trid), "secure_channel", opts->secure_channel));
	return 0;
}

static int subsystem_config(struct unvmf_subsystem *subsys, void *arg)
{
	struct unvmf_subsystem_info s;
	struct subsystem_config c = {.list = arg};

	unvmf_subsystem_get_info(subsys, &s);
	c.nqn = s.nqn;
	if (s.type == UNVMF_SUBSYSTEM_NVME) {
		config_add(c.list, "nvmf_create_subsystem",
		           json_pack("{s:s, s:s, s:s, s:b, s:i, s:i, s:i, s:b}", "nqn", s.nqn,
		                     "serial_number", s.serial, "model_number", s.model,
		                     "allow_any_host", s.allow_any_host, "max_namespaces",
		                     (int)s.max_namespaces, "min_cntlid", s.min_cntlid,
		                     "max_cntlid", s.max_cntlid, "ana_reporting", s.ana_reporting));
		unvmf_subsystem_foreach_host_keys(subsys, host_config, &c);
		unvmf_subsystem_foreach_ns(subsys, ns_config, &c);
	}
	unvmf_subsystem_foreach_listener_opts(subsys, listener_config, &c);
	return 0;
}

static int referral_config(const struct unvmf_trid *trid, bool secure_channel, void *arg)
{
	json_t *p = json_pack("{s:o*, s:b}", "address", unvmf_rpc_trid_json(trid), "secure_channel",
	                      secure_channel);

	if (p && trid->subnqn[0])
		json_object_set_new(p, "subnqn", json_string(trid->subnqn));
	config_add(arg, "nvmf_discovery_add_referral", p);
	return 0;
}

static json_t *nvmf_config(void)
{
	json_t *list = json_array();
	struct unvmf_transport *t;

	if (!list)
		return NULL;
	config_add(list, "nvmf_set_max_subsystems",
	           json_pack("{s:i}", "max_subsystems", (int)unvmf_tgt_get_max_subsystems()));
	for (unsigned i = 0; (t = unvmf_tgt_transport_get(i)); i++)
		config_add(list, "nvmf_create_transport", unvmf_rpc_transport_json(t));
	unvmf_tgt_foreach_subsystem(subsystem_config, list);
	unvmf_tgt_foreach_referral(referral_config, list);
	return list;
}

/* In dependency order: what a subsystem's methods refer to is created by an earlier one. */
static const struct {
	const char *name;
	const char *depends_on;
	json_t *(*config)(void);
} g_subsystems[] = {
    /* The keyring first: hosts name its keys. */
    {"keyring", NULL, unvmf_rpc_keyring_config},
    {"bdev", NULL, bdev_config},
    {"nvmf", "bdev", nvmf_config},
};

const char *unvmf_rpc_config_subsystem(unsigned i, const char **depends_on)
{
	if (i >= UNVMF_ARRAY_SIZE(g_subsystems))
		return NULL;
	*depends_on = g_subsystems[i].depends_on;
	return g_subsystems[i].name;
}

json_t *unvmf_rpc_config_subsystem_save(const char *name)
{
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(g_subsystems); i++) {
		if (strcmp(g_subsystems[i].name, name) == 0)
			return g_subsystems[i].config();
	}
	return NULL;
}

json_t *unvmf_rpc_config_save(void)
{
	json_t *subs = json_array();

	for (size_t i = 0; subs && i < UNVMF_ARRAY_SIZE(g_subsystems); i++)
		json_array_append_new(subs,
		                      json_pack("{s:s, s:o*}", "subsystem", g_subsystems[i].name,
		                                "config", g_subsystems[i].config()));
	return json_pack("{s:o*}", "subsystems", subs);
}
