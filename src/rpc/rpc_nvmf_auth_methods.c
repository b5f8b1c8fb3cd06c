/*
 * DH-HMAC-CHAP secrets of host entries: nvmf_subsystem_set_keys (SPDK's key
 * rotation) and the dhchap_key / dhchap_ctrlr_key of nvmf_subsystem_add_host.
 * Keys are keyring names (keyring_file_add_key of a file holding a DHHC-1
 * secret); a changed key applies to the next authentication of every queue.
 */
#include "rpc/rpc.h"
#include "nvmf/nvmf.h"
#include "util/common.h"

#include <errno.h>
#include <string.h>

int unvmf_rpc_host_dhchap_set(struct unvmf_rpc_request *req, struct unvmf_subsystem *subsys,
                              const char *hostnqn, const char *key, const char *ctrlr_key)
{
	int rc;

	if (!key && !ctrlr_key)
		return 0;
	rc = unvmf_subsystem_set_host_dhchap(subsys, hostnqn, key, ctrlr_key);
	if (rc == -ENOKEY)
		unvmf_rpc_send_error(req, rc,
		                     "no DH-HMAC-CHAP key '%s'%s%s%s (keyring_file_add_key of a "
		                     "DHHC-1 secret)",
		                     key ? key : "", ctrlr_key ? " or '" : "",
		                     ctrlr_key ? ctrlr_key : "", ctrlr_key ? "'" : "");
	else if (rc == -EINVAL)
		unvmf_rpc_send_error(req, rc, "dhchap_ctrlr_key needs dhchap_key");
	else if (rc == -ENOENT)
		unvmf_rpc_send_error(req, rc, "host %s is not in the allowed list", hostnqn);
	else if (rc)
		unvmf_rpc_send_error(req, rc, "cannot set DH-HMAC-CHAP keys of host %s: %s",
		                     hostnqn, strerror(-rc));
	return rc;
}

struct set_keys_params {
	const char *nqn;
	const char *host;
	const char *tgt_name;
	const char *dhchap_key;
	const char *dhchap_ctrlr_key;
};

static void rpc_nvmf_subsystem_set_keys(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("nqn", UNVMF_RPC_STRING, true, struct set_keys_params, nqn, 0, 0),
	    UNVMF_RPC_ROW("host", UNVMF_RPC_STRING, true, struct set_keys_params, host, 0, 0),
	    UNVMF_RPC_ROW("tgt_name", UNVMF_RPC_STRING, false, struct set_keys_params, tgt_name, 0, 0),
	    UNVMF_RPC_ROW("dhchap_key", UNVMF_RPC_STRING, false, struct set_keys_params, dhchap_key, 0, 0),
	    UNVMF_RPC_ROW("dhchap_ctrlr_key", UNVMF_RPC_STRING, false, struct set_keys_params, dhchap_ctrlr_key, 0, 0),
	};
	struct set_keys_params p = {0};
	struct unvmf_subsystem *subsys;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	subsys = unvmf_subsystem_find(p.nqn);
	if (!subsys || unvmf_subsystem_get_type(subsys) != UNVMF_SUBSYSTEM_NVME) {
		unvmf_rpc_send_error(req, -ENODEV, "subsystem %s does not exist", p.nqn);
		return;
	}
	/* As SPDK: keys left out are cleared (no key at all: authentication off for the host). */
	if (unvmf_rpc_host_dhchap_set(req, subsys, p.host, p.dhchap_key ? p.dhchap_key : "",
	                              p.dhchap_ctrlr_key))
		return;
	unvmf_rpc_send_bool(req, true);
}

static const struct unvmf_rpc_method g_auth_methods[] = {
    {"nvmf_subsystem_set_keys", rpc_nvmf_subsystem_set_keys},
};

void unvmf_rpc_register_nvmf_auth_methods(void)
{
	unvmf_rpc_register_methods(g_auth_methods, UNVMF_ARRAY_SIZE(g_auth_methods));
}
