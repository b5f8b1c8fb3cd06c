/*
 * Null bdev: every I/O succeeds at once and touches no data. Reads leave the
 * caller's buffer as it was (zero-copy null, for measuring the target alone).
 */
#include "bdev/bdev.h"
#include "util/common.h"

#include <errno.h>
#include <jansson.h>

static void null_submit(struct unvmf_bdev *bdev, void *ch_ctx, struct unvmf_bdev_io *io)
{
	unvmf_bdev_io_done(io, 0);
}

static void null_destruct(struct unvmf_bdev *bdev)
{
	free(bdev);
}

static void null_write_config(struct unvmf_bdev *bdev, void *json_params)
{
	json_t *params = json_params;
	char uuid[37];

	unvmf_uuid_format(bdev->uuid, uuid);
	json_object_set_new(params, "name", json_string(bdev->name));
	json_object_set_new(params, "num_blocks", json_integer((json_int_t)bdev->num_blocks));
	json_object_set_new(params, "block_size", json_integer(bdev->block_size));
	json_object_set_new(params, "uuid", json_string(uuid));
}

static const struct unvmf_bdev_ops null_ops = {
    .type = "null",
    .submit = null_submit,
    .destruct = null_destruct,
    .write_config = null_write_config,
};

int unvmf_bdev_null_create(const char *name, uint64_t num_blocks, uint32_t block_size,
                           const uint8_t *uuid, struct unvmf_bdev **out)
{
	struct unvmf_bdev *bdev = calloc(1, sizeof(*bdev));
	int rc;

	if (!bdev)
		return -ENOMEM;
	rc = unvmf_bdev_init(bdev, name, num_blocks, block_size, uuid);
	if (rc)
		goto out_free;
	bdev->ops = &null_ops;
	rc = unvmf_bdev_register(bdev);
	if (rc)
		goto out_free;
	if (out)
		*out = bdev;
	return 0;

out_free:
	free(bdev);
	return rc;
}

int unvmf_bdev_null_resize(const char *name, uint64_t new_size_mib)
{
	struct unvmf_bdev *bdev = unvmf_bdev_find(name);

	if (!bdev)
		return -ENOENT;
	if (bdev->ops != &null_ops)
		return -ENODEV;
	if (new_size_mib == 0 || new_size_mib > UINT64_MAX / (1024 * 1024))
		return -EINVAL;
	return unvmf_bdev_resize(bdev, new_size_mib * 1024 * 1024 / bdev->block_size);
}
