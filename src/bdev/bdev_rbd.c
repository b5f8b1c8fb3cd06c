/*
 * The RBD backend. librbd completes I/O on its own threads: its callback
 * only appends the I/O to its channel's completion list under the list's
 * own mutex; the channel's poll, on the reactor that submitted the I/O,
 * takes the list and finishes each I/O there. No reactor or bdev-layer state
 * is touched from a librbd thread.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_rbd_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <rbd/librbd.h>
#include <stdlib.h>
#include <string.h>

struct rbd_bdev {
	struct unvmf_bdev bdev;
	struct rbd_conn *conn; /* the registered cluster's, or &own */
	struct rbd_conn own;
	char *cluster_name;
	char *pool_name;
	char *rbd_name;
	rados_ioctx_t ioctx;
	rbd_image_t image;
};

struct rbd_channel {
	pthread_mutex_t lock;
	struct unvmf_bdev_io *done_head; /* completed by librbd, not yet finished */
};

/* The I/O's channel while librbd holds it (backend_state is the layer's scratch for us). */
static struct rbd_channel *io_channel(struct unvmf_bdev_io *io)
{
	return (struct rbd_channel *)(uintptr_t)io->backend_state[0];
}

static struct rbd_bdev *rbd_bdev_of(struct unvmf_bdev *bdev)
{
	return UNVMF_CONTAINER_OF(bdev, struct rbd_bdev, bdev);
}

static int rbd_channel_create(struct unvmf_bdev *bdev, void **ctx)
{
	struct rbd_channel *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return -ENOMEM;
	pthread_mutex_init(&rc->lock, NULL);
	*ctx = rc;
	return 0;
}

static void rbd_channel_destroy(struct unvmf_bdev *bdev, void *ctx)
{
	struct rbd_channel *rc = ctx;

	/* The layer destroys a channel only with nothing outstanding. */
	UNVMF_ASSERT(!rc->done_head);
	pthread_mutex_destroy(&rc->lock);
	free(rc);
}

/* librbd's thread: hand the I/O back, nothing else. */
static void rbd_complete_cb(rbd_completion_t c, void *arg)
{
	struct unvmf_bdev_io *io = arg;
	struct rbd_channel *ch = io_channel(io);
	ssize_t ret = rbd_aio_get_return_value(c);

	rbd_aio_release(c);
	io->status = ret < 0 ? (int)ret : 0;
	pthread_mutex_lock(&ch->lock);
	io->next = ch->done_head;
	ch->done_head = io;
	pthread_mutex_unlock(&ch->lock);
}

static void rbd_submit(struct unvmf_bdev *bdev, void *ch_ctx, struct unvmf_bdev_io *io)
{
	struct rbd_bdev *rb = rbd_bdev_of(bdev);
	uint64_t off = io->offset_blocks * bdev->block_size;
	uint64_t len = io->num_blocks * bdev->block_size;
	rbd_completion_t c;
	int rc;

	io->backend_state[0] = (uint64_t)(uintptr_t)ch_ctx;
	rc = rbd_aio_create_completion(io, rbd_complete_cb, &c);
	if (rc < 0) {
		unvmf_bdev_io_done(io, rc);
		return;
	}
	switch (io->type) {
	case UNVMF_BDEV_IO_READ:
		rc = rbd_aio_readv(rb->image, io->iov, io->iovcnt, off, c);
		break;
	case UNVMF_BDEV_IO_WRITE:
		rc = rbd_aio_writev(rb->image, io->iov, io->iovcnt, off, c);
		break;
	case UNVMF_BDEV_IO_FLUSH:
		rc = rbd_aio_flush(rb->image, c);
		break;
	case UNVMF_BDEV_IO_WRITE_ZEROES:
		rc = rbd_aio_write_zeroes(rb->image, off, len, c, 0, 0);
		break;
	case UNVMF_BDEV_IO_UNMAP:
		rc = rbd_aio_discard(rb->image, off, len, c);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	if (rc < 0) {
		/* Not queued: librbd will not call back. */
		rbd_aio_release(c);
		unvmf_bdev_io_done(io, rc);
	}
}

static int rbd_poll(struct unvmf_bdev *bdev, void *ch_ctx)
{
	struct rbd_channel *ch = ch_ctx;
	struct unvmf_bdev_io *io, *next;
	int n = 0;

	if (!__atomic_load_n(&ch->done_head, __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&ch->lock);
	io = ch->done_head;
	ch->done_head = NULL;
	pthread_mutex_unlock(&ch->lock);
	for (; io; io = next, n++) {
		next = io->next;
		io->next = NULL;
		unvmf_bdev_io_done(io, io->status);
	}
	return n;
}

static void rbd_bdev_free(struct rbd_bdev *rb)
{
	if (rb->image)
		rbd_close(rb->image);
	if (rb->ioctx)
		rados_ioctx_destroy(rb->ioctx);
	if (rb->conn == &rb->own)
		rbd_conn_close(&rb->own);
	else if (rb->conn)
		rbd_cluster_put(rb->conn);
	free(rb->cluster_name);
	free(rb->pool_name);
	free(rb->rbd_name);
	free(rb);
}

static void rbd_destruct(struct unvmf_bdev *bdev)
{
	rbd_bdev_free(rbd_bdev_of(bdev));
}

static void rbd_write_config(struct unvmf_bdev *bdev, void *json_params)
{
	struct rbd_bdev *rb = rbd_bdev_of(bdev);
	json_t *params = json_params;
	const struct unvmf_rbd_conn_params *p = &rb->conn->params;
	char uuid[37];

	unvmf_uuid_format(bdev->uuid, uuid);
	json_object_set_new(params, "name", json_string(bdev->name));
	json_object_set_new(params, "pool_name", json_string(rb->pool_name));
	json_object_set_new(params, "rbd_name", json_string(rb->rbd_name));
	json_object_set_new(params, "block_size", json_integer(bdev->block_size));
	json_object_set_new(params, "uuid", json_string(uuid));
	if (rb->cluster_name) {
		json_object_set_new(params, "cluster_name", json_string(rb->cluster_name));
		return;
	}
	if (p->user_id)
		json_object_set_new(params, "user_id", json_string(p->user_id));
	if (p->config_file || p->key_file || p->config) {
		json_t *cfg = json_object();

		if (p->config_file)
			json_object_set_new(cfg, "config_file", json_string(p->config_file));
		if (p->key_file)
			json_object_set_new(cfg, "key_file", json_string(p->key_file));
		for (size_t i = 0; p->config && p->config[i]; i += 2)
			json_object_set_new(cfg, p->config[i], json_string(p->config[i + 1]));
		json_object_set_new(params, "config", cfg);
	}
}

static const struct unvmf_bdev_ops rbd_ops = {
    .type = "rbd",
    .channel_create = rbd_channel_create,
    .channel_destroy = rbd_channel_destroy,
    .submit = rbd_submit,
    .poll = rbd_poll,
    .destruct = rbd_destruct,
    .write_config = rbd_write_config,
};

bool unvmf_bdev_is_rbd(const struct unvmf_bdev *bdev)
{
	return bdev->ops == &rbd_ops;
}

static int rbd_bdev_open(struct rbd_bdev *rb, const struct unvmf_rbd_bdev_params *p)
{
	int rc;

	if (p->cluster_name) {
		rb->cluster_name = strdup(p->cluster_name);
		if (!rb->cluster_name)
			return -ENOMEM;
		rb->conn = rbd_cluster_get(p->cluster_name);
		if (!rb->conn) {
			LOG_ERR("rbd bdev %s: no cluster %s registered", p->name, p->cluster_name);
			return -ENOENT;
		}
	} else {
		rc = rbd_conn_open(&rb->own, &p->own, p->name);
		if (rc)
			return rc;
		rb->conn = &rb->own;
	}
	rc = rados_ioctx_create(rb->conn->rados, p->pool_name, &rb->ioctx);
	if (rc < 0) {
		LOG_ERR("rbd bdev %s: pool %s: %s", p->name, p->pool_name, strerror(-rc));
		rb->ioctx = NULL;
		return rc;
	}
	rc = rbd_open(rb->ioctx, p->rbd_name, &rb->image, NULL);
	if (rc < 0) {
		LOG_ERR("rbd bdev %s: image %s/%s: %s", p->name, p->pool_name, p->rbd_name,
		        strerror(-rc));
		rb->image = NULL;
		return rc;
	}
	return 0;
}

int unvmf_bdev_rbd_create(const struct unvmf_rbd_bdev_params *p, struct unvmf_bdev **out)
{
	struct rbd_bdev *rb;
	uint64_t size;
	int rc;

	if (!p->name || !p->pool_name || !p->rbd_name || !p->block_size)
		return -EINVAL;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	rb->pool_name = strdup(p->pool_name);
	rb->rbd_name = strdup(p->rbd_name);
	if (!rb->pool_name || !rb->rbd_name) {
		rc = -ENOMEM;
		goto free_bdev;
	}
	rc = rbd_bdev_open(rb, p);
	if (rc)
		goto free_bdev;
	rc = rbd_get_size(rb->image, &size);
	if (rc < 0)
		goto free_bdev;
	if (size < p->block_size) {
		LOG_ERR("rbd bdev %s: image %s/%s holds %llu bytes, less than one block", p->name,
		        p->pool_name, p->rbd_name, (unsigned long long)size);
		rc = -EINVAL;
		goto free_bdev;
	}
	rc = unvmf_bdev_init(&rb->bdev, p->name, size / p->block_size, p->block_size, p->uuid);
	if (rc)
		goto free_bdev;
	rb->bdev.ops = &rbd_ops;
	rc = unvmf_bdev_register(&rb->bdev);
	if (rc)
		goto free_bdev;
	LOG_NOTICE("rbd bdev %s: %s/%s, %llu blocks of %u bytes", p->name, p->pool_name,
	           p->rbd_name, (unsigned long long)rb->bdev.num_blocks, p->block_size);
	if (out)
		*out = &rb->bdev;
	return 0;

free_bdev:
	rbd_bdev_free(rb);
	return rc;
}

int unvmf_bdev_rbd_resize(const char *name, uint64_t new_size_mib)
{
	struct unvmf_bdev *bdev = unvmf_bdev_find(name);
	struct rbd_bdev *rb;
	uint64_t bytes, cur;
	int rc;

	if (!bdev)
		return -ENOENT;
	if (bdev->ops != &rbd_ops)
		return -EINVAL;
	rb = rbd_bdev_of(bdev);
	if (new_size_mib > UINT64_MAX / (1024 * 1024))
		return -EINVAL;
	bytes = new_size_mib * 1024 * 1024;
	rc = rbd_get_size(rb->image, &cur);
	if (rc < 0)
		return rc;
	/* Shrinking would cut data a host may still address. */
	if (bytes < cur)
		return -EINVAL;
	if (bytes > cur) {
		rc = rbd_resize(rb->image, bytes);
		if (rc < 0)
			return rc;
	}
	return unvmf_bdev_resize(bdev, bytes / bdev->block_size);
}
