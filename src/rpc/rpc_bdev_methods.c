/* Block device methods: bdev_{malloc,null,uring,aio}_{create,delete}, bdev_get_bdevs. */
#include "rpc/rpc.h"
#include "bdev/bdev.h"
#include "util/common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct bdev_create_params {
	const char *name;
	const char *filename;
	const char *uuid;
	uint64_t num_blocks;
	uint32_t block_size;
};

static const char *bdev_product_name(const struct unvmf_bdev *bdev)
{
	if (strcmp(bdev->ops->type, "malloc") == 0)
		return "Malloc disk";
	if (strcmp(bdev->ops->type, "null") == 0)
		return "Null disk";
	if (strcmp(bdev->ops->type, "uring") == 0)
		return "URING bdev";
	if (strcmp(bdev->ops->type, "rbd") == 0)
		return "Ceph Rbd Disk";
	return bdev->ops->type;
}

static bool block_size_valid(uint32_t bs)
{
	return bs >= 512 && bs <= 65536 && (bs & (bs - 1)) == 0;
}

/* Checks shared by every create: name free, block size, uuid; fills uuid (NULL if absent). */
static int bdev_create_check(struct unvmf_rpc_request *req, const struct bdev_create_params *p,
                             bool need_block_size, uint8_t uuid[16], const uint8_t **uuid_out)
{
	*uuid_out = NULL;
	if (p->name && (!p->name[0] || strlen(p->name) >= UNVMF_BDEV_NAME_MAX)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'name': must be 1 to %d characters",
		                     UNVMF_BDEV_NAME_MAX - 1);
		return -EINVAL;
	}
	if ((need_block_size || p->block_size) && !block_size_valid(p->block_size)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'block_size': %u is not a power of two "
		                     "from 512 to 65536",
		                     p->block_size);
		return -EINVAL;
	}
	if (p->uuid) {
		if (unvmf_uuid_parse(p->uuid, uuid)) {
			unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
			                     "invalid parameter 'uuid': '%s' is not a UUID",
			                     p->uuid);
			return -EINVAL;
		}
		*uuid_out = uuid;
	}
	if (p->name && unvmf_bdev_find(p->name)) {
		unvmf_rpc_send_error(req, -EEXIST, "bdev %s already exists", p->name);
		return -EEXIST;
	}
	return 0;
}

static void bdev_create_reply(struct unvmf_rpc_request *req, const char *name, int rc)
{
	if (rc == 0) {
		unvmf_rpc_send_result(req, json_string(name));
		return;
	}
	unvmf_rpc_send_error(req, rc, "cannot create bdev %s: %s", name, strerror(-rc));
}

static const struct unvmf_rpc_param g_sized_spec[] = {
    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, false, struct bdev_create_params, name, 0, 0),
    UNVMF_RPC_ROW("num_blocks", UNVMF_RPC_UINT, true, struct bdev_create_params, num_blocks, 1, 0),
    UNVMF_RPC_ROW("block_size", UNVMF_RPC_UINT, true, struct bdev_create_params, block_size, 0, 0),
    UNVMF_RPC_ROW("uuid", UNVMF_RPC_STRING, false, struct bdev_create_params, uuid, 0, 0),
};

static void bdev_auto_name(const char *prefix, char *buf, size_t len)
{
	for (unsigned i = 0;; i++) {
		snprintf(buf, len, "%s%u", prefix, i);
		if (!unvmf_bdev_find(buf))
			return;
	}
}

static void rpc_bdev_malloc_create(struct unvmf_rpc_request *req, json_t *params)
{
	struct bdev_create_params p = {0};
	struct unvmf_bdev *bdev;
	uint8_t uuid_buf[16];
	const uint8_t *uuid;
	char name[UNVMF_BDEV_NAME_MAX];

	if (unvmf_rpc_decode_or_reply(req, params, g_sized_spec, UNVMF_ARRAY_SIZE(g_sized_spec), &p,
	                              NULL) ||
	    bdev_create_check(req, &p, true, uuid_buf, &uuid))
		return;
	if (p.num_blocks > UINT64_MAX / p.block_size) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'num_blocks': size overflows");
		return;
	}
	if (p.name)
		unvmf_strlcpy(name, p.name, sizeof(name));
	else
		bdev_auto_name("Malloc", name, sizeof(name));
	bdev_create_reply(req, name,
	                  unvmf_bdev_malloc_create(name, p.num_blocks, p.block_size, uuid, &bdev));
}

static void rpc_bdev_null_create(struct unvmf_rpc_request *req, json_t *params)
{
	struct bdev_create_params p = {0};
	struct unvmf_bdev *bdev;
	uint8_t uuid_buf[16];
	const uint8_t *uuid;
	uint64_t present;

	if (unvmf_rpc_decode_or_reply(req, params, g_sized_spec, UNVMF_ARRAY_SIZE(g_sized_spec), &p,
	                              &present))
		return;
	if (!(present & 1)) {
		/* SPDK requires the name for null bdevs. */
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "missing required parameter 'name'");
		return;
	}
	if (bdev_create_check(req, &p, true, uuid_buf, &uuid))
		return;
	bdev_create_reply(req, p.name,
	                  unvmf_bdev_null_create(p.name, p.num_blocks, p.block_size, uuid, &bdev));
}

#if UNVMF_WITH_URING
/* bdev_uring_create and bdev_aio_create: the same io_uring backend. */
static void rpc_bdev_uring_create(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("filename", UNVMF_RPC_STRING, true, struct bdev_create_params, filename,
	                  0, 4095),
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct bdev_create_params, name, 0, 0),
	    UNVMF_RPC_ROW("block_size", UNVMF_RPC_UINT, false, struct bdev_create_params,
	                  block_size, 0, 0),
	    UNVMF_RPC_ROW("uuid", UNVMF_RPC_STRING, false, struct bdev_create_params, uuid, 0, 0),
	};
	struct bdev_create_params p = {.block_size = 512};
	struct unvmf_bdev *bdev;
	uint8_t uuid_buf[16];
	const uint8_t *uuid;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL) ||
	    bdev_create_check(req, &p, false, uuid_buf, &uuid))
		return;
	rc = unvmf_bdev_uring_create(p.name, p.filename, p.block_size, uuid, &bdev);
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot create bdev %s on %s: %s", p.name, p.filename,
		                     strerror(-rc));
		return;
	}
	/*
	 * Saved under the method that made it: an SPDK built without liburing (the
	 * common case) has no bdev_uring_create, and its bdev_aio_create takes these
	 * parameters too.
	 */
	if (strcmp(unvmf_rpc_request_method(req), "bdev_aio_create") == 0)
		bdev->create_method = "bdev_aio_create";
	unvmf_rpc_send_result(req, json_string(p.name));
}
#endif

struct bdev_name_params {
	const char *name;
};

static const struct unvmf_rpc_param g_name_spec[] = {
    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct bdev_name_params, name, 0, 0),
};

void unvmf_rpc_bdev_delete_typed(struct unvmf_rpc_request *req, json_t *params, const char *type)
{
	struct bdev_name_params p = {0};
	struct unvmf_bdev *bdev;
	int rc;

	if (unvmf_rpc_decode_or_reply(req, params, g_name_spec, UNVMF_ARRAY_SIZE(g_name_spec), &p,
	                              NULL))
		return;
	bdev = unvmf_bdev_find(p.name);
	if (!bdev) {
		unvmf_rpc_send_error(req, -ENODEV, "bdev %s does not exist", p.name);
		return;
	}
	if (strcmp(bdev->ops->type, type) != 0) {
		unvmf_rpc_send_error(req, -EINVAL, "bdev %s is a %s bdev, not %s", p.name,
		                     bdev->ops->type, type);
		return;
	}
	if (bdev->claims) {
		unvmf_rpc_send_error(req, -EBUSY,
		                     "bdev %s is in use by %u namespace(s); remove the namespace "
		                     "first (nvmf_subsystem_remove_ns)",
		                     p.name, bdev->claims);
		return;
	}
	rc = unvmf_bdev_delete(p.name);
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot delete bdev %s: %s", p.name, strerror(-rc));
		return;
	}
	unvmf_rpc_send_bool(req, true);
}

static void rpc_bdev_malloc_delete(struct unvmf_rpc_request *req, json_t *params)
{
	unvmf_rpc_bdev_delete_typed(req, params, "malloc");
}

static void rpc_bdev_null_delete(struct unvmf_rpc_request *req, json_t *params)
{
	unvmf_rpc_bdev_delete_typed(req, params, "null");
}

#if UNVMF_WITH_URING
static void rpc_bdev_uring_delete(struct unvmf_rpc_request *req, json_t *params)
{
	unvmf_rpc_bdev_delete_typed(req, params, "uring");
}
#endif

/* ---- resize: the namespaces on the bdev announce their new size to hosts ---- */

struct bdev_resize_params {
	const char *name;
	uint64_t new_size; /* MiB */
};

static const struct unvmf_rpc_param g_resize_spec[] = {
    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, true, struct bdev_resize_params, name, 0, 0),
    UNVMF_RPC_ROW("new_size", UNVMF_RPC_UINT, true, struct bdev_resize_params, new_size, 1, 0),
};

static void bdev_resize_reply(struct unvmf_rpc_request *req, const char *name, int rc)
{
	if (rc == 0)
		unvmf_rpc_send_bool(req, true);
	else if (rc == -ENOENT)
		unvmf_rpc_send_error(req, -ENODEV, "bdev %s does not exist", name);
	else
		unvmf_rpc_send_error(req, rc, "cannot resize bdev %s: %s", name,
		                     rc == -EINVAL ? "the size can only grow" : strerror(-rc));
}

/* SPDK's bdev_null_resize: {"name", "new_size" in MiB}. */
static void rpc_bdev_null_resize(struct unvmf_rpc_request *req, json_t *params)
{
	struct bdev_resize_params p = {0};

	if (unvmf_rpc_decode_or_reply(req, params, g_resize_spec, UNVMF_ARRAY_SIZE(g_resize_spec),
	                              &p, NULL))
		return;
	bdev_resize_reply(req, p.name, unvmf_bdev_null_resize(p.name, p.new_size));
}

#if UNVMF_WITH_URING
/* SPDK's bdev_aio_rescan (and bdev_uring_rescan): the file's size again. */
static void rpc_bdev_uring_rescan(struct unvmf_rpc_request *req, json_t *params)
{
	struct bdev_name_params p = {0};

	if (unvmf_rpc_decode_or_reply(req, params, g_name_spec, UNVMF_ARRAY_SIZE(g_name_spec), &p,
	                              NULL))
		return;
	bdev_resize_reply(req, p.name, unvmf_bdev_uring_rescan(p.name));
}
#endif

json_t *unvmf_rpc_bdev_create_params(struct unvmf_bdev *bdev)
{
	char uuid[37];
	json_t *p;

	/* The backend knows its create parameters (a uring bdev has a filename, no num_blocks). */
	if (bdev->ops->write_config) {
		p = json_object();
		if (p)
			bdev->ops->write_config(bdev, p);
		return p;
	}
	unvmf_uuid_format(bdev->uuid, uuid);
	return json_pack("{s:s, s:I, s:i, s:s}", "name", bdev->name, "num_blocks",
	                 (json_int_t)bdev->num_blocks, "block_size", (int)bdev->block_size, "uuid",
	                 uuid);
}

static json_t *bdev_info(struct unvmf_bdev *bdev)
{
	char uuid[37];
	json_t *driver = json_object();

	unvmf_uuid_format(bdev->uuid, uuid);
	if (driver)
		json_object_set_new(driver, bdev->ops->type, unvmf_rpc_bdev_create_params(bdev));
	return json_pack("{s:s, s:[], s:s, s:i, s:I, s:s, s:b, s:i, s:{s:b, s:b, s:b, s:b, s:b}, "
	                 "s:o*}",
	                 "name", bdev->name, "aliases", "product_name", bdev_product_name(bdev),
	                 "block_size", (int)bdev->block_size, "num_blocks",
	                 (json_int_t)bdev->num_blocks, "uuid", uuid, "claimed", bdev->claims > 0,
	                 "num_claims", (int)bdev->claims, "supported_io_types", "read", 1, "write",
	                 1, "flush", 1, "write_zeroes", 1, "unmap", 1, "driver_specific", driver);
}

static void rpc_bdev_get_bdevs(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, false, struct bdev_name_params, name, 0, 0),
	};
	struct bdev_name_params p = {0};
	struct unvmf_bdev *bdev;
	json_t *list;

	if (unvmf_rpc_decode_or_reply(req, params, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		return;
	if (p.name) {
		bdev = unvmf_bdev_find(p.name);
		if (!bdev) {
			unvmf_rpc_send_error(req, -ENODEV, "bdev %s does not exist", p.name);
			return;
		}
		unvmf_rpc_send_result(req, json_pack("[o]", bdev_info(bdev)));
		return;
	}
	list = json_array();
	for (bdev = unvmf_bdev_first(); list && bdev; bdev = unvmf_bdev_next(bdev))
		json_array_append_new(list, bdev_info(bdev));
	unvmf_rpc_send_result(req, list);
}

static const struct unvmf_rpc_method g_bdev_methods[] = {
    {"bdev_malloc_create", rpc_bdev_malloc_create}, {"bdev_malloc_delete", rpc_bdev_malloc_delete},
    {"bdev_null_create", rpc_bdev_null_create},     {"bdev_null_delete", rpc_bdev_null_delete},
/* The io_uring backend is built only with liburing (UNVMF_URING). */
#if UNVMF_WITH_URING
    {"bdev_uring_create", rpc_bdev_uring_create},   {"bdev_uring_delete", rpc_bdev_uring_delete},
    {"bdev_aio_create", rpc_bdev_uring_create},     {"bdev_aio_delete", rpc_bdev_uring_delete},
    {"bdev_aio_rescan", rpc_bdev_uring_rescan},     {"bdev_uring_rescan", rpc_bdev_uring_rescan},
#endif
    {"bdev_null_resize", rpc_bdev_null_resize},     {"bdev_get_bdevs", rpc_bdev_get_bdevs},
};

void unvmf_rpc_register_bdev_methods(void)
{
	unvmf_rpc_register_methods(g_bdev_methods, UNVMF_ARRAY_SIZE(g_bdev_methods));
}
