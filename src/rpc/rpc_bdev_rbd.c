/*
 * Ceph RBD methods with SPDK's names and parameters: bdev_rbd_register_cluster,
 * bdev_rbd_unregister_cluster, bdev_rbd_get_clusters_info, bdev_rbd_create,
 * bdev_rbd_delete, bdev_rbd_resize. Built with UNVMF_RBD only.
 */
#include "rpc/rpc.h"
#include "bdev/bdev.h"
#include "bdev/bdev_rbd.h"
#include "util/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A JSON object of string values as NULL-terminated key, value pairs (borrowed strings). */
static int config_pairs(struct unvmf_rpc_request *req, const char *param, json_t *obj,
                        const char ***out)
{
	const char **kv;
	const char *k;
	json_t *v;
	size_t i = 0;

	*out = NULL;
	if (!obj)
		return 0;
	kv = calloc(2 * json_object_size(obj) + 1, sizeof(*kv));
	if (!kv) {
		unvmf_rpc_send_error(req, -ENOMEM, "out of memory");
		return -ENOMEM;
	}
	json_object_foreach(obj, k, v)
	{
		if (!json_is_string(v)) {
			unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
			                     "invalid parameter '%s': the value of '%s' is not a string",
			                     param, k);
			free(kv);
			return -EINVAL;
		}
		kv[i++] = k;
		kv[i++] = json_string_value(v);
	}
	*out = kv;
	return 0;
}

struct cluster_params {
	const char *name;
	const char *user_id;
	const char *config_file;
	const char *key_file;
	const char *core_mask;
	json_t *config_param;
};

static void rpc_bdev_rbd_register_cluster(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct cluster_params, name, 0, 0),
	    UNVMF_RPC_ROW("user_id", UNVMF_RPC_STRING, false, struct cluster_params, user_id, 0, 0),
	    UNVMF_RPC_ROW("config_file", UNVMF_RPC_STRING, false, struct cluster_params, config_file, 0, 4095),
	    UNVMF_RPC_ROW("key_file", UNVMF_RPC_STRING, false, struct cluster_params, key_file, 0, 4095),
	    /* SPDK pins librados' threads to these cores; librados' own threads float here. */
	    UNVMF_RPC_ROW("core_mask", UNVMF_RPC_STRING, false, struct cluster_params, core_mask, 0, 0),
	    UNVMF_RPC_ROW("config_param", UNVMF_RPC_OBJECT, false, struct cluster_params, config_param, 0, 0),
	};
	struct cluster_params p = {0};
	struct unvmf_rbd_conn_params conn = {0};
	const char **kv;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL) ||
	    config_pairs(req, "config_param", p.config_param, &kv))
		return;
	conn.user_id = p.user_id;
	conn.config_file = p.config_file;
	conn.key_file = p.key_file;
	conn.config = kv;
	rc = unvmf_rbd_cluster_register(p.name, &conn);
	free(kv);
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot register cluster %s: %s", p.name,
		                     rc == -EEXIST ? "the name is taken" : strerror(-rc));
		return;
	}
	unvmf_rpc_send_result(req, json_string(p.name));
}

struct name_params {
	const char *name;
};

static void rpc_bdev_rbd_unregister_cluster(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct name_params, name, 0, 0),
	};
	struct name_params p = {0};
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	rc = unvmf_rbd_cluster_unregister(p.name);
	if (rc == -EBUSY) {
		unvmf_rpc_send_error(req, rc, "cluster %s is in use by rbd bdevs; delete them first",
		                     p.name);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cluster %s: %s", p.name, strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

/* A cluster's connection parameters under SPDK's names; name_key names the cluster itself. */
static json_t *cluster_json(const struct unvmf_rbd_cluster_info *info, const char *name_key)
{
	json_t *o = json_pack("{s:s}", name_key, info->name);

	if (!o)
		return NULL;
	if (info->user_id)
		json_object_set_new(o, "user_id", json_string(info->user_id));
	if (info->config_file)
		json_object_set_new(o, "config_file", json_string(info->config_file));
	if (info->key_file)
		json_object_set_new(o, "key_file", json_string(info->key_file));
	if (info->config) {
		json_t *cfg = json_object();

		for (size_t i = 0; cfg && info->config[i]; i += 2)
			json_object_set_new(cfg, info->config[i], json_string(info->config[i + 1]));
		json_object_set_new(o, "config_param", cfg);
	}
	return o;
}

static void cluster_info_add(const struct unvmf_rbd_cluster_info *info, void *arg)
{
	json_t *o = cluster_json(info, "cluster_name");

	if (!o)
		return;
	json_object_set_new(o, "bdevs", json_integer(info->bdevs));
	json_array_append_new(arg, o);
}

static void rpc_bdev_rbd_get_clusters_info(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, false, struct name_params, name, 0, 0),
	};
	struct name_params p = {0};
	json_t *list;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	list = json_array();
	if (!list) {
		unvmf_rpc_send_error(req, -ENOMEM, "out of memory");
		return;
	}
	rc = unvmf_rbd_cluster_foreach(p.name, cluster_info_add, list);
	if (rc) {
		json_decref(list);
		unvmf_rpc_send_error(req, rc, "no cluster %s registered", p.name);
		return;
	}
	/* SPDK answers one object for a named cluster, a list otherwise. */
	if (p.name) {
		json_t *one = json_incref(json_array_get(list, 0));

		json_decref(list);
		unvmf_rpc_send_result(req, one);
		return;
	}
	unvmf_rpc_send_result(req, list);
}

struct create_params {
	const char *name;
	const char *user_id;
	const char *pool_name;
	const char *rbd_name;
	uint32_t block_size;
	json_t *config;
	const char *cluster_name;
	const char *uuid;
};

static void rpc_bdev_rbd_create(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, false, struct create_params, name, 0, UNVMF_BDEV_NAME_MAX - 1),
	    UNVMF_RPC_ROW("user_id", UNVMF_RPC_STRING, false, struct create_params, user_id, 0, 0),
	    UNVMF_RPC_ROW("pool_name", UNVMF_RPC_STRING, true, struct create_params, pool_name, 0, 0),
	    UNVMF_RPC_ROW("rbd_name", UNVMF_RPC_STRING, true, struct create_params, rbd_name, 0, 0),
	    UNVMF_RPC_ROW("block_size", UNVMF_RPC_UINT, true, struct create_params, block_size, 512, 65536),
	    UNVMF_RPC_ROW("config", UNVMF_RPC_OBJECT, false, struct create_params, config, 0, 0),
	    UNVMF_RPC_ROW("cluster_name", UNVMF_RPC_STRING, false, struct create_params, cluster_name, 0, 0),
	    UNVMF_RPC_ROW("uuid", UNVMF_RPC_STRING, false, struct create_params, uuid, 0, 0),
	};
	struct create_params p = {0};
	struct unvmf_rbd_bdev_params bp = {0};
	uint8_t uuid[16];
	char name[UNVMF_BDEV_NAME_MAX];
	const char **kv = NULL;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (p.block_size & (p.block_size - 1)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'block_size': %u is not a power of two",
		                     p.block_size);
		return;
	}
	if (p.uuid && unvmf_uuid_parse(p.uuid, uuid)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'uuid': '%s' is not a UUID", p.uuid);
		return;
	}
	if (p.cluster_name && (p.config || p.user_id)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'cluster_name': the cluster's own user_id and "
		                     "config apply; give one or the other");
		return;
	}
	if (config_pairs(req, "config", p.config, &kv))
		return;
	/* SPDK names an unnamed rbd bdev Ceph0, Ceph1, ... */
	if (p.name) {
		unvmf_strlcpy(name, p.name, sizeof(name));
	} else {
		for (unsigned i = 0;; i++) {
			snprintf(name, sizeof(name), "Ceph%u", i);
			if (!unvmf_bdev_find(name))
				break;
		}
	}
	bp.name = name;
	bp.pool_name = p.pool_name;
	bp.rbd_name = p.rbd_name;
	bp.block_size = p.block_size;
	bp.cluster_name = p.cluster_name;
	bp.own.user_id = p.user_id;
	bp.own.config = kv;
	bp.uuid = p.uuid ? uuid : NULL;
	rc = unvmf_bdev_rbd_create(&bp, NULL);
	free(kv);
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot create rbd bdev %s on %s/%s: %s", name,
		                     p.pool_name, p.rbd_name, strerror(-rc));
		return;
	}
	unvmf_rpc_send_result(req, json_string(name));
}

static void rpc_bdev_rbd_delete(struct unvmf_rpc_request *req, json_t *params)
{
	unvmf_rpc_bdev_delete_typed(req, params, "rbd");
}

struct resize_params {
	const char *name;
	uint64_t new_size;
};

static void rpc_bdev_rbd_resize(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct resize_params, name, 0, 0),
	    UNVMF_RPC_ROW("new_size", UNVMF_RPC_UINT, true, struct resize_params, new_size, 1, 0),
	};
	struct resize_params p = {0};
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	rc = unvmf_bdev_rbd_resize(p.name, p.new_size);
	if (rc == -EINVAL) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'new_size': %llu MiB is smaller than the "
		                     "image, or %s is not an rbd bdev",
		                     (unsigned long long)p.new_size, p.name);
		return;
	}
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot resize %s: %s", p.name, strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static const struct unvmf_rpc_method g_rbd_methods[] = {
    {"bdev_rbd_register_cluster", rpc_bdev_rbd_register_cluster},
    {"bdev_rbd_unregister_cluster", rpc_bdev_rbd_unregister_cluster},
    {"bdev_rbd_get_clusters_info", rpc_bdev_rbd_get_clusters_info},
    {"bdev_rbd_create", rpc_bdev_rbd_create},
    {"bdev_rbd_delete", rpc_bdev_rbd_delete},
    {"bdev_rbd_resize", rpc_bdev_rbd_resize},
};

void unvmf_rpc_register_rbd_methods(void)
{
	unvmf_rpc_register_methods(g_rbd_methods, UNVMF_ARRAY_SIZE(g_rbd_methods));
}

/* save_config: the clusters before the bdevs that name them. */
static void cluster_config_add(const struct unvmf_rbd_cluster_info *info, void *arg)
{
	json_t *p = cluster_json(info, "name");

	if (p)
		json_array_append_new(arg, json_pack("{s:s, s:o}", "method",
		                                     "bdev_rbd_register_cluster", "params", p));
}

void unvmf_rpc_rbd_config_save(json_t *list)
{
	unvmf_rbd_cluster_foreach(NULL, cluster_config_add, list);
}
