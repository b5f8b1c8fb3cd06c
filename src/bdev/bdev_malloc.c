/*
 * Malloc bdev: RAM, one anonymous mapping. MAP_NORESERVE lets a large bdev
 * (1 GiB and up) be created on a machine that will only ever touch part of
 * it; untouched pages read as zeroes. All I/O completes synchronously.
 */
#include "bdev/bdev.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct malloc_bdev {
	struct unvmf_bdev bdev;
	uint8_t *data;
	size_t size;
};

static struct malloc_bdev *malloc_bdev_of(struct unvmf_bdev *bdev)
{
	return UNVMF_CONTAINER_OF(bdev, struct malloc_bdev, bdev);
}

static void malloc_copy(struct malloc_bdev *mb, struct unvmf_bdev_io *io, bool write)
{
	uint8_t *p = mb->data + io->offset_blocks * mb->bdev.block_size;

	for (int i = 0; i < io->iovcnt; i++) {
		size_t len = io->iov[i].iov_len;

		if (write)
			memcpy(p, io->iov[i].iov_base, len);
		else
			memcpy(io->iov[i].iov_base, p, len);
		p += len;
	}
}

/*
 * Zeroes a range. Whole pages are dropped instead (reads of a dropped page of
 * a private anonymous mapping see zeroes), so unmapping gives memory back.
 */
static void malloc_zero(struct malloc_bdev *mb, uint64_t off, uint64_t len)
{
	uint8_t *start = mb->data + off, *end = start + len;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uint8_t *pstart = (uint8_t *)UNVMF_ALIGN_UP((uintptr_t)start, page);
	uint8_t *pend = (uint8_t *)((uintptr_t)end & ~(page - 1));

	if (len >= 16 * page && pend > pstart &&
	    madvise(pstart, (size_t)(pend - pstart), MADV_DONTNEED) == 0) {
		memset(start, 0, (size_t)(pstart - start));
		memset(pend, 0, (size_t)(end - pend));
		return;
	}
	memset(start, 0, len);
}

static void malloc_submit(struct unvmf_bdev *bdev, void *ch_ctx, struct unvmf_bdev_io *io)
{
	struct malloc_bdev *mb = malloc_bdev_of(bdev);

	/* Range and iov totals were validated by the layer. */
	switch (io->type) {
	case UNVMF_BDEV_IO_READ:
		malloc_copy(mb, io, false);
		break;
	case UNVMF_BDEV_IO_WRITE:
		malloc_copy(mb, io, true);
		break;
	case UNVMF_BDEV_IO_WRITE_ZEROES:
	case UNVMF_BDEV_IO_UNMAP:
		malloc_zero(mb, io->offset_blocks * bdev->block_size,
		            io->num_blocks * bdev->block_size);
		break;
	case UNVMF_BDEV_IO_FLUSH:
		break;
	default:
		unvmf_bdev_io_done(io, -EINVAL);
		return;
	}
	unvmf_bdev_io_done(io, 0);
}

static void malloc_destruct(struct unvmf_bdev *bdev)
{
	struct malloc_bdev *mb = malloc_bdev_of(bdev);

	munmap(mb->data, mb->size);
	free(mb);
}

static void malloc_write_config(struct unvmf_bdev *bdev, void *json_params)
{
	json_t *params = json_params;
	char uuid[37];

	unvmf_uuid_format(bdev->uuid, uuid);
	json_object_set_new(params, "name", json_string(bdev->name));
	json_object_set_new(params, "num_blocks", json_integer((json_int_t)bdev->num_blocks));
	json_object_set_new(params, "block_size", json_integer(bdev->block_size));
	json_object_set_new(params, "uuid", json_string(uuid));
}

static const struct unvmf_bdev_ops malloc_ops = {
    .type = "malloc",
    .submit = malloc_submit,
    .destruct = malloc_destruct,
    .write_config = malloc_write_config,
};

int unvmf_bdev_malloc_create(const char *name, uint64_t num_blocks, uint32_t block_size,
                             const uint8_t *uuid, struct unvmf_bdev **out)
{
	struct malloc_bdev *mb = calloc(1, sizeof(*mb));
	int rc;

	if (!mb)
		return -ENOMEM;
	rc = unvmf_bdev_init(&mb->bdev, name, num_blocks, block_size, uuid);
	if (rc)
		goto out_free;
	if (num_blocks > SIZE_MAX / block_size) {
		rc = -EINVAL;
		goto out_free;
	}
	mb->size = (size_t)num_blocks * block_size;
	mb->data = mmap(NULL, mb->size, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mb->data == MAP_FAILED) {
		rc = -errno;
		LOG_ERR("bdev %s: cannot map %zu bytes: %s", name, mb->size, strerror(errno));
		goto out_free;
	}
	mb->bdev.ops = &malloc_ops;
	rc = unvmf_bdev_register(&mb->bdev);
	if (rc)
		goto out_unmap;
	if (out)
		*out = &mb->bdev;
	return 0;

out_unmap:
	munmap(mb->data, mb->size);
out_free:
	free(mb);
	return rc;
}
