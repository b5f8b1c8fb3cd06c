/*
 * Subsystem methods: subsystems, namespaces, hosts, listeners, referrals and
 * controllers. Runs on reactor 0, which is the only thread that changes the
 * subsystem list, so lookups here need no lock; the core's getters and
 * visitors take the target lock where Connect also touches what they read.
 */
#include "rpc/rpc.h"
#include "nvmf/nvmf.h"
#include "nvmf/transport.h"
#include "util/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Namespace removals in flight: their subsystem must outlive them. */
struct ns_removal {
	struct unvmf_rpc_request *req;
	struct unvmf_subsystem *subsys;
	TAILQ_ENTRY(ns_removal) link;
};
static TAILQ_HEAD(, ns_removal) g_ns_removals = TAILQ_HEAD_INITIALIZER(g_ns_removals);

/* Finds an NVM subsystem (or the discovery one when allowed); replies on failure. */
static struct unvmf_subsystem *subsys_lookup(struct unvmf_rpc_request *req, const char *nqn,
                                             bool allow_discovery)
{
	struct unvmf_subsystem *subsys = unvmf_subsystem_find(nqn);

	if (!subsys) {
		unvmf_rpc_send_error(req, -ENODEV, "subsystem %s does not exist", nqn);
		return NULL;
	}
	if (unvmf_subsystem_get_type(subsys) == UNVMF_SUBSYSTEM_DISCOVERY && !allow_discovery) {
		unvmf_rpc_send_error(req, -EINVAL, "%s: not allowed on the discovery subsystem",
		                     unvmf_rpc_request_method(req));
		return NULL;
	}
	return subsys;
}

/* ---- nvmf_create_subsystem / nvmf_delete_subsystem ---- */

struct create_subsystem_params {
	const char *nqn;
	const char *tgt_name;
	const char *serial_number;
	const char *model_number;
	bool allow_any_host;
	bool ana_reporting;
	uint32_t max_namespaces;
	uint16_t min_cntlid;
	uint16_t max_cntlid;
};

static void rpc_nvmf_create_subsystem(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct create_subsystem_params, nqn, 0,
	                  NVMF_NQN_MAX_LEN),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct create_subsystem_params,
	                  tgt_name, 0, 0),
	    UNVMF_RPC_ROW("serial_number", UNVMF_RPC_STRING, false, struct create_subsystem_params,
	                  serial_number, 0, UNVMF_SN_LEN),
	    UNVMF_RPC_ROW("model_number", UNVMF_RPC_STRING, false, struct create_subsystem_params,
	                  model_number, 0, UNVMF_MN_LEN),
	    UNVMF_RPC_ROW("allow_any_host", UNVMF_RPC_BOOL, false, struct create_subsystem_params,
	                  allow_any_host, 0, 0),
	    UNVMF_RPC_ROW("ana_reporting", UNVMF_RPC_BOOL, false, struct create_subsystem_params,
	                  ana_reporting, 0, 0),
	    UNVMF_RPC_ROW("max_namespaces", UNVMF_RPC_UINT, false, struct create_subsystem_params,
	                  max_namespaces, 0, UNVMF_MAX_NAMESPACES),
	    UNVMF_RPC_ROW("min_cntlid", UNVMF_RPC_UINT, false, struct create_subsystem_params,
	                  min_cntlid, 1, 0xffef),
	    UNVMF_RPC_ROW("max_cntlid", UNVMF_RPC_UINT, false, struct create_subsystem_params,
	                  max_cntlid, 1, 0xffef),
	};
	struct create_subsystem_params p = {.min_cntlid = UNVMF_CNTLID_MIN,
	                                    .max_cntlid = UNVMF_CNTLID_MAX};
	struct unvmf_subsystem_opts opts;
	struct unvmf_subsystem *subsys;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (!unvmf_nqn_valid(p.nqn) || strcmp(p.nqn, NVMF_DISCOVERY_NQN) == 0) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'nqn': '%s' is not a valid subsystem NQN",
		                     p.nqn);
		return;
	}
	if (p.serial_number && !unvmf_subsystem_serial_valid(p.serial_number)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'serial_number': must be 1 to %d printable "
		                     "ASCII characters",
		                     UNVMF_SN_LEN);
		return;
	}
	if (p.model_number && !unvmf_subsystem_model_valid(p.model_number)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'model_number': must be 1 to %d printable "
		                     "ASCII characters",
		                     UNVMF_MN_LEN);
		return;
	}
	unvmf_subsystem_opts_init(&opts);
	opts.serial = p.serial_number;
	opts.model = p.model_number;
	opts.allow_any_host = p.allow_any_host;
	opts.ana_reporting = p.ana_reporting;
	opts.max_namespaces = p.max_namespaces;
	opts.min_cntlid = p.min_cntlid;
	opts.max_cntlid = p.max_cntlid;
	rc = unvmf_subsystem_create_nvme(p.nqn, &opts, &subsys);
	switch (rc) {
	case 0:
		unvmf_rpc_send_bool(req, true);
		return;
	case -ERANGE:
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameters: min_cntlid %u is above max_cntlid %u",
		                     p.min_cntlid, p.max_cntlid);
		return;
	case -EOPNOTSUPP:
		/* Stored but never shown to hosts (no ANA log, no ANA state), so not accepted. */
		unvmf_rpc_send_error(req, rc,
		                     "ana_reporting is not supported (unvmf has no ANA groups)");
		return;
	case -EEXIST:
		unvmf_rpc_send_error(req, rc, "subsystem %s already exists", p.nqn);
		return;
	case -ENOSPC:
		unvmf_rpc_send_error(req, rc,
		                     "cannot create subsystem %s: the target already has its "
		                     "maximum of %u subsystems (nvmf_set_max_subsystems)",
		                     p.nqn, unvmf_tgt_get_max_subsystems());
		return;
	default:
		unvmf_rpc_send_error(req, rc, "cannot create subsystem %s: %s", p.nqn,
		                     strerror(-rc));
	}
}

struct nqn_params {
	const char *nqn;
	const char *tgt_name;
};

static const struct unvmf_rpc_param g_nqn_spec[] = {
    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct nqn_params, nqn, 0, 0),
    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct nqn_params, tgt_name, 0, 0),
};

static void delete_subsystem_done(void *arg, int rc)
{
	struct unvmf_rpc_request *req = arg;

	if (rc)
		unvmf_rpc_send_error(req, rc, "subsystem deletion failed: %s", strerror(-rc));
	else
		unvmf_rpc_send_bool(req, true);
}

static void rpc_nvmf_delete_subsystem(struct unvmf_rpc_request *req, json_t *params)
{
	struct nqn_params p = {0};
	struct unvmf_subsystem *subsys;
	struct ns_removal *r;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, g_nqn_spec, UNVMF_ARRAY_SIZE(g_nqn_spec), &p,
	                              NULL))
		return;
	subsys = subsys_lookup(req, p.nqn, false);
	if (!subsys)
		return;
	TAILQ_FOREACH(r, &g_ns_removals, link)
	{
		if (r->subsys == subsys) {
			unvmf_rpc_send_error(req, -EBUSY,
			                     "subsystem %s: a namespace removal is in progress; "
			                     "retry when it completes",
			                     p.nqn);
			return;
		}
	}
	/* Live controllers are disconnected first; the reply waits for them to go. */
	rc = unvmf_subsystem_delete(subsys, delete_subsystem_done, req);
	if (rc)
		unvmf_rpc_send_error(req, rc, "cannot delete subsystem %s: %s", p.nqn,
		                     strerror(-rc));
}

/* ---- nvmf_get_subsystems ---- */

static int listener_append(const struct unvmf_trid *trid, void *arg)
{
	json_array_append_new(arg, unvmf_rpc_trid_json(trid));
	return 0;
}

static int host_append(const char *hostnqn, const char *psk, void *arg)
{
	json_t *h = json_pack("{s:s}", "nqn", hostnqn);

	/* As SPDK: the keyring name of the host's TLS PSK, never the key. */
	if (h && psk[0])
		json_object_set_new(h, "psk", json_string(psk));
	json_array_append_new(arg, h);
	return 0;
}

static int ns_append(const struct unvmf_ns_info *ns, void *arg)
{
	char uuid[37], hex[33];
	json_t *n;

	unvmf_uuid_format(ns->uuid, uuid);
	n = json_pack("{s:i, s:s, s:s, s:s}", "nsid", (int)ns->nsid, "bdev_name", ns->bdev_name,
	              "name", ns->bdev_name, "uuid", uuid);
	if (n && ns->has_nguid) {
		unvmf_rpc_format_hex(ns->nguid, 16, hex);
		json_object_set_new(n, "nguid", json_string(hex));
	}
	if (n && ns->has_eui64) {
		unvmf_rpc_format_hex(ns->eui64, 8, hex);
		json_object_set_new(n, "eui64", json_string(hex));
	}
	json_array_append_new(arg, n);
	return 0;
}

static json_t *subsystem_json(struct unvmf_subsystem *subsys)
{
	json_t *o = json_object(), *listeners = json_array(), *hosts = json_array();
	struct unvmf_subsystem_info info;

	if (!o || !listeners || !hosts) {
		json_decref(o);
		json_decref(listeners);
		json_decref(hosts);
		return NULL;
	}
	unvmf_subsystem_get_info(subsys, &info);
	json_object_set_new(o, "nqn", json_string(info.nqn));
	json_object_set_new(
	    o, "subtype",
	    json_string(info.type == UNVMF_SUBSYSTEM_DISCOVERY ? "Discovery" : "NVMe"));
	unvmf_subsystem_foreach_listener(subsys, listener_append, listeners);
	json_object_set_new(o, "listen_addresses", listeners);
	json_object_set_new(o, "allow_any_host", json_boolean(info.allow_any_host));
	unvmf_subsystem_foreach_host_psk(subsys, host_append, hosts);
	json_object_set_new(o, "hosts", hosts);
	if (info.type == UNVMF_SUBSYSTEM_DISCOVERY)
		return o;

	json_t *nss = json_array();

	json_object_set_new(o, "serial_number", json_string(info.serial));
	json_object_set_new(o, "model_number", json_string(info.model));
	json_object_set_new(o, "max_namespaces", json_integer(info.max_namespaces));
	json_object_set_new(o, "min_cntlid", json_integer(info.min_cntlid));
	json_object_set_new(o, "max_cntlid", json_integer(info.max_cntlid));
	json_object_set_new(o, "ana_reporting", json_boolean(info.ana_reporting));
	if (nss)
		unvmf_subsystem_foreach_ns(subsys, ns_append, nss);
	json_object_set_new(o, "namespaces", nss);
	return o;
}

static int subsystem_append(struct unvmf_subsystem *subsys, void *arg)
{
	json_array_append_new(arg, subsystem_json(subsys));
	return 0;
}

static void rpc_nvmf_get_subsystems(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, false, struct nqn_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct nqn_params, tgt_name, 0, 0),
	};
	struct nqn_params p = {0};
	struct unvmf_subsystem *subsys = NULL;
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (p.nqn && !(subsys = unvmf_subsystem_find(p.nqn))) {
		unvmf_rpc_send_error(req, -ENODEV, "subsystem %s does not exist", p.nqn);
		return;
	}
	list = json_array();
	if (list && subsys)
		subsystem_append(subsys, list);
	else if (list)
		unvmf_tgt_foreach_subsystem(subsystem_append, list);
	unvmf_rpc_send_result(req, list);
}

/* ---- listeners ---- */

struct listener_params {
	const char *nqn;
	const char *tgt_name;
	json_t *listen_address;
	bool secure_channel;
};

static int listener_decode(struct unvmf_rpc_request *req, json_t *params, struct listener_params *p,
                           struct unvmf_trid *trid)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct listener_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct listener_params, tgt_name, 0,
	                  0),
	    UNVMF_RPC_ROW("listen_address", UNVMF_RPC_OBJECT, true, struct listener_params,
	                  listen_address, 0, 0),
	    UNVMF_RPC_ROW("secure_channel", UNVMF_RPC_BOOL, false, struct listener_params,
	                  secure_channel, 0, 0),
	};
	char err[256];

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), p, NULL))
		return -EINVAL;
	if (unvmf_rpc_decode_trid(p->listen_address, "listen_address", trid, err, sizeof(err))) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "%s", err);
		return -EINVAL;
	}
	return 0;
}

static void rpc_nvmf_subsystem_add_listener(struct unvmf_rpc_request *req, json_t *params)
{
	struct listener_params p = {0};
	struct unvmf_subsystem *subsys;
	struct unvmf_trid trid;
	int rc;

	if (listener_decode(req, params, &p, &trid))
		return;
	subsys = subsys_lookup(req, p.nqn, true);
	if (!subsys)
		return;
	if (!unvmf_tgt_find_transport(trid.trtype)) {
		unvmf_rpc_send_error(req, -EPROTONOSUPPORT,
		                     "transport %s does not exist; create it with "
		                     "nvmf_create_transport first",
		                     unvmf_trtype_str(trid.trtype));
		return;
	}
	if (unvmf_subsystem_has_listener(subsys, &trid)) {
		unvmf_rpc_send_error(req, -EEXIST, "subsystem %s already listens on %s %s:%s",
		                     p.nqn, unvmf_trtype_str(trid.trtype), trid.traddr,
		                     trid.trsvcid);
		return;
	}
	rc = unvmf_subsystem_add_listener_ext(
	    subsys, &trid, &(struct unvmf_listen_opts){.secure_channel = p.secure_channel});
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot listen on %s %s:%s: %s",
		                     unvmf_trtype_str(trid.trtype), trid.traddr, trid.trsvcid,
		                     strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static void rpc_nvmf_subsystem_remove_listener(struct unvmf_rpc_request *req, json_t *params)
{
	struct listener_params p = {0};
	struct unvmf_subsystem *subsys;
	struct unvmf_trid trid;
	int rc;

	if (listener_decode(req, params, &p, &trid))
		return;
	subsys = subsys_lookup(req, p.nqn, true);
	if (!subsys)
		return;
	/* Qpairs that came in through this address are disconnected; others keep running. */
	rc = unvmf_subsystem_remove_listener(subsys, &trid);
	if (rc == -ENOENT) {
		unvmf_rpc_send_error(req, rc, "subsystem %s has no listener on %s %s:%s", p.nqn,
		                     unvmf_trtype_str(trid.trtype), trid.traddr, trid.trsvcid);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot remove the listener: %s", strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static int listener_info_append(const struct unvmf_trid *trid, void *arg)
{
	/* Every path is optimized: unvmf has no ANA groups to set otherwise. */
	json_array_append_new(arg,
	                      json_pack("{s:o*, s:b, s:[{s:i, s:s}]}", "address",
	                                unvmf_rpc_trid_json(trid), "secure_channel", false,
	                                "ana_states", "ana_group", 1, "ana_state", "optimized"));
	return 0;
}

static void rpc_nvmf_subsystem_get_listeners(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct nqn_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct nqn_params, tgt_name, 0, 0),
	};
	struct nqn_params p = {0};
	struct unvmf_subsystem *subsys;
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	subsys = subsys_lookup(req, p.nqn, true);
	if (!subsys)
		return;
	list = json_array();
	if (list)
		unvmf_subsystem_foreach_listener(subsys, listener_info_append, list);
	unvmf_rpc_send_result(req, list);
}

struct ana_state_params {
	const char *nqn;
	const char *tgt_name;
	json_t *listen_address;
	const char *ana_state;
};

/* Only "optimized" can be set: it is the state every unvmf path reports. */
static void rpc_nvmf_subsystem_listener_set_ana_state(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct ana_state_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct ana_state_params, tgt_name, 0,
	                  0),
	    UNVMF_RPC_ROW("listen_address", UNVMF_RPC_OBJECT, true, struct ana_state_params,
	                  listen_address, 0, 0),
	    UNVMF_RPC_ROW("ana_state", UNVMF_RPC_STRING, true, struct ana_state_params, ana_state,
	                  0, 32),
	};
	struct ana_state_params p = {0};
	struct unvmf_subsystem *subsys;
	struct unvmf_trid trid;
	char err[256];

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (unvmf_rpc_decode_trid(p.listen_address, "listen_address", &trid, err, sizeof(err))) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "%s", err);
		return;
	}
	if (strcmp(p.ana_state, "optimized") != 0) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "invalid parameter 'ana_state': '%s' is not supported (unvmf has "
		    "no ANA groups; every path is optimized)",
		    p.ana_state);
		return;
	}
	subsys = subsys_lookup(req, p.nqn, false);
	if (!subsys)
		return;
	if (!unvmf_subsystem_has_listener(subsys, &trid)) {
		unvmf_rpc_send_error(req, -ENOENT, "subsystem %s has no listener on %s %s:%s",
		                     p.nqn, unvmf_trtype_str(trid.trtype), trid.traddr,
		                     trid.trsvcid);
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

/* ---- namespaces ---- */

struct add_ns_params {
	const char *nqn;
	const char *tgt_name;
	json_t *namespace;
};

struct ns_params {
	const char *bdev_name;
	const char *uuid;
	const char *nguid;
	const char *eui64;
	const char *ptpl_file;
	uint32_t nsid;
};

static void rpc_nvmf_subsystem_add_ns(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct add_ns_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct add_ns_params, tgt_name, 0,
	                  0),
	    UNVMF_RPC_ROW("namespace", UNVMF_RPC_OBJECT, true, struct add_ns_params, namespace, 0,
	                  0),
	};
	static const struct unvmf_rpc_param ns_spec[] = {
	    UNVMF_RPC_ROW("bdev_name", UNVMF_RPC_STRING, true, struct ns_params, bdev_name, 0, 0),
	    UNVMF_RPC_ROW("nsid", UNVMF_RPC_UINT, false, struct ns_params, nsid, 0, 0xfffffffe),
	    UNVMF_RPC_ROW("uuid", UNVMF_RPC_STRING, false, struct ns_params, uuid, 0, 0),
	    UNVMF_RPC_ROW("nguid", UNVMF_RPC_STRING, false, struct ns_params, nguid, 0, 0),
	    UNVMF_RPC_ROW("eui64", UNVMF_RPC_STRING, false, struct ns_params, eui64, 0, 0),
	    UNVMF_RPC_ROW("ptpl_file", UNVMF_RPC_STRING, false, struct ns_params, ptpl_file, 0, 0),
	};
	struct add_ns_params p = {0};
	struct ns_params n = {0};
	struct unvmf_subsystem *subsys;
	struct unvmf_bdev *bdev;
	uint8_t uuid[16], nguid[16], eui64[8];
	char err[256];
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (unvmf_json_params_decode(NULL, p.namespace, ns_spec, UNVMF_ARRAY_SIZE(ns_spec), &n,
	                             NULL, err, sizeof(err))) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "namespace: %s", err);
		return;
	}
	if (n.uuid && unvmf_uuid_parse(n.uuid, uuid)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "namespace: invalid parameter 'uuid': '%s' is not a UUID",
		                     n.uuid);
		return;
	}
	if (n.nguid && unvmf_rpc_parse_hex(n.nguid, nguid, sizeof(nguid))) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "namespace: invalid parameter 'nguid': expected 32 hex digits");
		return;
	}
	if (n.eui64 && unvmf_rpc_parse_hex(n.eui64, eui64, sizeof(eui64))) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "namespace: invalid parameter 'eui64': expected 16 hex digits");
		return;
	}
	subsys = subsys_lookup(req, p.nqn, false);
	if (!subsys)
		return;
	if (n.nsid > unvmf_subsystem_get_max_namespaces(subsys)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "namespace: invalid parameter 'nsid': %u is above the "
		                     "subsystem's max_namespaces %u",
		                     n.nsid, unvmf_subsystem_get_max_namespaces(subsys));
		return;
	}
	bdev = unvmf_bdev_find(n.bdev_name);
	if (!bdev) {
		unvmf_rpc_send_error(req, -ENODEV, "bdev %s does not exist", n.bdev_name);
		return;
	}
	/* The namespace-attribute-changed event goes out from inside the core. */
	rc = unvmf_subsystem_add_ns_ptpl(subsys, bdev, n.nsid, n.uuid ? uuid : NULL,
	                                 n.nguid ? nguid : NULL, n.eui64 ? eui64 : NULL,
	                                 n.ptpl_file);
	if (rc == -EEXIST) {
		unvmf_rpc_send_error(req, rc, "subsystem %s already has namespace %u", p.nqn,
		                     n.nsid);
		return;
	}
	if (rc == -ENOSPC) {
		unvmf_rpc_send_error(req, rc,
		                     "subsystem %s has no free namespace ID (max_namespaces %u)",
		                     p.nqn, unvmf_subsystem_get_max_namespaces(subsys));
		return;
	}
	if (rc < 0) {
		unvmf_rpc_send_error(req, rc, "cannot add bdev %s to %s: %s", n.bdev_name, p.nqn,
		                     strerror(-rc));
		return;
	}
	unvmf_rpc_send_result(req, json_integer(rc));
}

struct remove_ns_params {
	const char *nqn;
	const char *tgt_name;
	uint32_t nsid;
};

static void remove_ns_done(void *arg, int rc)
{
	struct ns_removal *r = arg;
	struct unvmf_rpc_request *req = r->req;

	TAILQ_REMOVE(&g_ns_removals, r, link);
	free(r);
	if (rc)
		unvmf_rpc_send_error(req, rc, "namespace removal failed: %s", strerror(-rc));
	else
		unvmf_rpc_send_bool(req, true);
}

static void rpc_nvmf_subsystem_remove_ns(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct remove_ns_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct remove_ns_params, tgt_name, 0,
	                  0),
	    UNVMF_RPC_ROW("nsid", UNVMF_RPC_UINT, true, struct remove_ns_params, nsid, 1,
	                  0xfffffffe),
	};
	struct remove_ns_params p = {0};
	struct unvmf_subsystem *subsys;
	struct ns_removal *r;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	subsys = subsys_lookup(req, p.nqn, false);
	if (!subsys)
		return;
	if (!unvmf_subsystem_has_ns(subsys, p.nsid)) {
		unvmf_rpc_send_error(req, -ENOENT, "subsystem %s has no namespace %u", p.nqn,
		                     p.nsid);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	r->req = req;
	r->subsys = subsys;
	TAILQ_INSERT_TAIL(&g_ns_removals, r, link);
	/* Hosts get the event at once; the reply waits until in-flight I/O on it drained. */
	rc = unvmf_subsystem_remove_ns(subsys, p.nsid, remove_ns_done, r);
	if (rc) {
		TAILQ_REMOVE(&g_ns_removals, r, link);
		free(r);
		unvmf_rpc_send_error(req, rc, "cannot remove namespace %u: %s", p.nsid,
		                     strerror(-rc));
	}
}

/* ---- hosts ---- */

struct host_params {
	const char *nqn;
	const char *tgt_name;
	const char *host;
	const char *psk; /* keyring name (add only) */
	const char *dhchap_key; /* keyring names (add only) */
	const char *dhchap_ctrlr_key;
};

static const struct unvmf_rpc_param g_host_spec[] = {
    UNVMF_RPC_ROW("psk", UNVMF_RPC_STRING, false, struct host_params, psk, 0, 0),
    UNVMF_RPC_ROW("dhchap_key", UNVMF_RPC_STRING, false, struct host_params, dhchap_key, 0, 0),
    UNVMF_RPC_ROW("dhchap_ctrlr_key", UNVMF_RPC_STRING, false, struct host_params,
                  dhchap_ctrlr_key, 0, 0),
    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct host_params, nqn, 0, 0),
    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct host_params, tgt_name, 0, 0),
    UNVMF_RPC_ROW("host", UNVMF_RPC_STRING, true, struct host_params, host, 0, NVMF_NQN_MAX_LEN),
};

static void rpc_nvmf_subsystem_add_host(struct unvmf_rpc_request *req, json_t *params)
{
	struct host_params p = {0};
	struct unvmf_subsystem *subsys;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, g_host_spec, UNVMF_ARRAY_SIZE(g_host_spec), &p,
	                              NULL))
		return;
	if (!unvmf_nqn_valid(p.host)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'host': '%s' is not a valid NQN", p.host);
		return;
	}
	subsys = subsys_lookup(req, p.nqn, false);
	if (!subsys)
		return;
	rc = unvmf_subsystem_add_host(subsys, p.host);
	if (rc == -EEXIST) {
		unvmf_rpc_send_error(req, rc, "host %s is already allowed on %s", p.host, p.nqn);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot add host %s: %s", p.host, strerror(-rc));
		return;
	}
	/* The host's TLS PSK, by keyring name: without the key, no host entry either. */
	rc = p.psk ? unvmf_subsystem_set_host_psk(subsys, p.host, p.psk) : 0;
	if (rc) {
		unvmf_subsystem_remove_host(subsys, p.host);
		unvmf_rpc_send_error(req, rc, "cannot use psk '%s' for host %s: %s", p.psk, p.host,
		                     rc == -ENOKEY ? "no such key (keyring_file_add_key)"
		                                   : strerror(-rc));
		return;
	}
	rc = unvmf_rpc_host_dhchap_set(req, subsys, p.host, p.dhchap_key, p.dhchap_ctrlr_key);
	if (rc) {
		unvmf_subsystem_remove_host(subsys, p.host);
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static void rpc_nvmf_subsystem_remove_host(struct unvmf_rpc_request *req, json_t *params)
{
	struct host_params p = {0};
	struct unvmf_subsystem *subsys;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, g_host_spec, UNVMF_ARRAY_SIZE(g_host_spec), &p,
	                              NULL))
		return;
	subsys = subsys_lookup(req, p.nqn, false);
	if (!subsys)
		return;
	/* That host's controllers are disconnected unless any host is allowed. */
	rc = unvmf_subsystem_remove_host(subsys, p.host);
	if (rc == -ENOENT) {
		unvmf_rpc_send_error(req, rc, "host %s is not in the allowed list of %s", p.host,
		                     p.nqn);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot remove host %s: %s", p.host, strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

struct allow_any_params {
	const char *nqn;
	const char *tgt_name;
	bool allow_any_host;
};

static void rpc_nvmf_subsystem_allow_any_host(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct allow_any_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct allow_any_params, tgt_name, 0,
	                  0),
	    UNVMF_RPC_ROW("allow_any_host", UNVMF_RPC_BOOL, true, struct allow_any_params,
	                  allow_any_host, 0, 0),
	};
	struct allow_any_params p = {0};
	struct unvmf_subsystem *subsys;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	subsys = subsys_lookup(req, p.nqn, false);
	if (!subsys)
		return;
	unvmf_subsystem_allow_any_host(subsys, p.allow_any_host);
	unvmf_rpc_send_bool(req, true);
}

/* ---- controllers ---- */

static int ctrlr_append(const struct unvmf_ctrlr_info *ctrlr, void *arg)
{
	char hostid[37];

	unvmf_uuid_format(ctrlr->hostid, hostid);
	json_array_append_new(
	    arg,
	    json_pack("{s:i, s:s, s:s, s:i, s:o, s:o, s:i}", "cntlid", ctrlr->cntlid, "hostnqn",
	              ctrlr->hostnqn, "hostid", hostid, "num_io_qpairs", (int)ctrlr->num_io_qpairs,
	              "listen_address", unvmf_rpc_trid_json(&ctrlr->listen_trid), "host_address",
	              unvmf_rpc_trid_json(&ctrlr->host_trid), "kato_ms", (int)ctrlr->kato_ms));
	return 0;
}

static void rpc_nvmf_subsystem_get_controllers(struct unvmf_rpc_request *req, json_t *params)
{
	struct nqn_params p = {0};
	struct unvmf_subsystem *subsys;
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, g_nqn_spec, UNVMF_ARRAY_SIZE(g_nqn_spec), &p,
	                              NULL))
		return;
	subsys = subsys_lookup(req, p.nqn, true);
	if (!subsys)
		return;
	list = json_array();
	if (list)
		unvmf_subsystem_foreach_ctrlr(subsys, ctrlr_append, list);
	unvmf_rpc_send_result(req, list);
}

/* ---- nvmf_set_max_subsystems ---- */

struct max_subsys_params {
	uint32_t max_subsystems;
};

static void rpc_nvmf_set_max_subsystems(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("max_subsystems", UNVMF_RPC_UINT, true, struct max_subsys_params,
	                  max_subsystems, 1, 65535),
	};
	struct max_subsys_params p = {0};
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	rc = unvmf_tgt_set_max_subsystems(p.max_subsystems);
	if (rc == -EBUSY) {
		unvmf_rpc_send_error(req, rc,
		                     "max_subsystems %u is below the %u subsystems that exist",
		                     p.max_subsystems, unvmf_tgt_num_subsystems());
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot set max_subsystems: %s", strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

/* ---- discovery referrals ---- */

struct referral_params {
	const char *tgt_name;
	json_t *address;
	const char *subnqn;
	bool secure_channel;
};

static int referral_decode(struct unvmf_rpc_request *req, json_t *params, struct referral_params *p,
                           struct unvmf_trid *trid)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct referral_params, tgt_name, 0,
	                  0),
	    UNVMF_RPC_ROW("address", UNVMF_RPC_OBJECT, true, struct referral_params, address, 0, 0),
	    UNVMF_RPC_ROW("subnqn", UNVMF_RPC_STRING, false, struct referral_params, subnqn, 0,
	                  NVMF_NQN_MAX_LEN),
	    UNVMF_RPC_ROW("secure_channel", UNVMF_RPC_BOOL, false, struct referral_params,
	                  secure_channel, 0, 0),
	};
	char err[256];

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), p, NULL))
		return -EINVAL;
	if (unvmf_rpc_decode_trid(p->address, "address", trid, err, sizeof(err))) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS, "%s", err);
		return -EINVAL;
	}
	if (p->subnqn) {
		if (!unvmf_nqn_valid(p->subnqn)) {
			unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
			                     "invalid parameter 'subnqn': '%s' is not a valid NQN",
			                     p->subnqn);
			return -EINVAL;
		}
		unvmf_strlcpy(trid->subnqn, p->subnqn, sizeof(trid->subnqn));
	}
	return 0;
}

static void rpc_nvmf_discovery_add_referral(struct unvmf_rpc_request *req, json_t *params)
{
	struct referral_params p = {0};
	struct unvmf_trid trid;
	int rc;

	if (referral_decode(req, params, &p, &trid))
		return;
	rc = unvmf_tgt_add_referral(&trid, p.secure_channel);
	if (rc == -EEXIST) {
		unvmf_rpc_send_error(req, rc, "a referral to %s %s:%s already exists",
		                     unvmf_trtype_str(trid.trtype), trid.traddr, trid.trsvcid);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot add the referral: %s", strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static void rpc_nvmf_discovery_remove_referral(struct unvmf_rpc_request *req, json_t *params)
{
	struct referral_params p = {0};
	struct unvmf_trid trid;
	int rc;

	if (referral_decode(req, params, &p, &trid))
		return;
	rc = unvmf_tgt_remove_referral(&trid);
	if (rc == -ENOENT) {
		unvmf_rpc_send_error(req, rc, "no referral to %s %s:%s",
		                     unvmf_trtype_str(trid.trtype), trid.traddr, trid.trsvcid);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot remove the referral: %s", strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static int referral_append(const struct unvmf_trid *trid, bool secure_channel, void *arg)
{
	json_array_append_new(arg,
	                      json_pack("{s:o, s:b, s:s}", "address", unvmf_rpc_trid_json(trid),
	                                "secure_channel", secure_channel, "subnqn",
	                                trid->subnqn[0] ? trid->subnqn : NVMF_DISCOVERY_NQN));
	return 0;
}

static void rpc_nvmf_discovery_get_referrals(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct referral_params, tgt_name, 0,
	                  0),
	};
	struct referral_params p = {0};
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	list = json_array();
	if (list)
		unvmf_tgt_foreach_referral(referral_append, list);
	unvmf_rpc_send_result(req, list);
}

static const struct unvmf_rpc_method g_nvmf_methods[] = {
    {"nvmf_create_subsystem", rpc_nvmf_create_subsystem},
    {"nvmf_delete_subsystem", rpc_nvmf_delete_subsystem},
    {"nvmf_get_subsystems", rpc_nvmf_get_subsystems},
    {"nvmf_subsystem_add_listener", rpc_nvmf_subsystem_add_listener},
    {"nvmf_subsystem_remove_listener", rpc_nvmf_subsystem_remove_listener},
    {"nvmf_subsystem_get_listeners", rpc_nvmf_subsystem_get_listeners},
    {"nvmf_subsystem_listener_set_ana_state", rpc_nvmf_subsystem_listener_set_ana_state},
    {"nvmf_subsystem_add_ns", rpc_nvmf_subsystem_add_ns},
    {"nvmf_subsystem_remove_ns", rpc_nvmf_subsystem_remove_ns},
    {"nvmf_subsystem_add_host", rpc_nvmf_subsystem_add_host},
    {"nvmf_subsystem_remove_host", rpc_nvmf_subsystem_remove_host},
    {"nvmf_subsystem_allow_any_host", rpc_nvmf_subsystem_allow_any_host},
    {"nvmf_subsystem_get_controllers", rpc_nvmf_subsystem_get_controllers},
    {"nvmf_set_max_subsystems", rpc_nvmf_set_max_subsystems},
    {"nvmf_discovery_add_referral", rpc_nvmf_discovery_add_referral},
    {"nvmf_discovery_remove_referral", rpc_nvmf_discovery_remove_referral},
    {"nvmf_discovery_get_referrals", rpc_nvmf_discovery_get_referrals},
};

void unvmf_rpc_register_nvmf_methods(void)
{
	unvmf_rpc_register_methods(g_nvmf_methods, UNVMF_ARRAY_SIZE(g_nvmf_methods));
}
