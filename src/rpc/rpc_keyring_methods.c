/*
 * SPDK's keyring_file_* methods: named TLS PSKs read from key files (the
 * interchange format, "NVMeTLSkey-1:01:...:"), used by
 * nvmf_subsystem_add_host's "psk". The file is read once, when the key is
 * added; save_config writes back the name and path, never the key.
 */
#include "rpc/rpc.h"
#include "nvmf/nvmf.h"
#include "util/common.h"
#include "util/tls_psk.h"
#include "proto/dhchap.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct key_params {
	const char *name;
	const char *path;
};

static void rpc_keyring_file_add_key(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct key_params, name, 0,
	                  UNVMF_KEY_NAME_BUF - 1),
	    UNVMF_RPC_ROW("path", UNVMF_RPC_STRING, true, struct key_params, path, 0,
	                  UNVMF_KEY_PATH_BUF - 1),
	};
	struct key_params p = {0};
	struct unvmf_psk_key key;
	struct stat st;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (!p.name[0]) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'name': empty");
		return;
	}
	/* As SPDK: a relative path would depend on the target's working directory. */
	if (p.path[0] != '/') {
		unvmf_rpc_send_error(req, -EINVAL, "Non-absolute paths are not allowed: %s",
		                     p.path);
		return;
	}
	rc = unvmf_psk_file_load(p.path, &key);
	if (rc == -EINVAL) {
		/* Not a TLS PSK: a DH-HMAC-CHAP secret, as SPDK's keyring holds either. */
		struct unvmf_dhchap_key dhkey;

		rc = unvmf_dhchap_file_load(p.path, &dhkey);
		if (rc == 0) {
			rc = unvmf_keyring_add_dhchap(p.name, p.path, &dhkey);
			memset(&dhkey, 0, sizeof(dhkey));
			goto out_added;
		}
	}
	if (rc == -EACCES && stat(p.path, &st) == 0) {
		unvmf_rpc_send_error(req, rc, "Invalid permissions for key file '%s': 0%o", p.path,
		                     (unsigned)(st.st_mode & 07777));
		return;
	}
	if (rc == -EINVAL) {
		unvmf_rpc_send_error(req, rc,
		                     "key file '%s' holds neither a PSK in the interchange format "
		                     "(NVMeTLSkey-1:<hh>:<base64>:) nor a DH-HMAC-CHAP secret "
		                     "(DHHC-1:<hh>:<base64>:)",
		                     p.path);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot read key file '%s': %s", p.path,
		                     strerror(-rc));
		return;
	}
	rc = unvmf_keyring_add(p.name, p.path, &key);
	memset(&key, 0, sizeof(key));
out_added:
	if (rc == -EEXIST) {
		unvmf_rpc_send_error(req, rc, "Key '%s' already exists", p.name);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot add key '%s': %s", p.name, strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static void rpc_keyring_file_remove_key(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct key_params, name, 0, 0),
	};
	struct key_params p = {0};
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	rc = unvmf_keyring_remove(p.name);
	if (rc == -ENOENT) {
		unvmf_rpc_send_error(req, rc, "Key '%s' does not exist", p.name);
		return;
	}
	if (rc == -EBUSY) {
		unvmf_rpc_send_error(
		    req, rc,
		    "Key '%s' is in use by a host entry (nvmf_subsystem_remove_host "
		    "first)",
		    p.name);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot remove key '%s': %s", p.name, strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static int key_append(const char *name, const char *path, void *arg)
{
	json_array_append_new(
	    arg, json_pack("{s:s, s:s, s:b}", "name", name, "path", path, "removed", false));
	return 0;
}

static void rpc_keyring_get_keys(struct unvmf_rpc_request *req, json_t *params)
{
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, NULL, 0, NULL, NULL))
		return;
	list = json_array();
	if (list)
		unvmf_keyring_foreach(key_append, list);
	unvmf_rpc_send_result(req, list);
}

static const struct unvmf_rpc_method g_keyring_methods[] = {
    {"keyring_file_add_key", rpc_keyring_file_add_key},
    {"keyring_file_remove_key", rpc_keyring_file_remove_key},
    {"keyring_get_keys", rpc_keyring_get_keys},
};

void unvmf_rpc_register_keyring_methods(void)
{
	unvmf_rpc_register_methods(g_keyring_methods, UNVMF_ARRAY_SIZE(g_keyring_methods));
}

static int key_config(const char *name, const char *path, void *arg)
{
	json_array_append_new(arg,
	                      json_pack("{s:s, s:{s:s, s:s}}", "method", "keyring_file_add_key",
	                                "params", "name", name, "path", path));
	return 0;
}

json_t *unvmf_rpc_keyring_config(void)
{
	json_t *list = json_array();

	if (list)
		unvmf_keyring_foreach(key_config, list);
	return list;
}
