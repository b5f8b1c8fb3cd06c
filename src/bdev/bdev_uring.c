/*
 * Uring bdev: a regular file or a block device driven by io_uring, one ring
 * per channel (so no lock on the data path). O_DIRECT when the file system
 * takes it at the bdev's block size, buffered otherwise.
 *
 * Submission is batched: submit only fills SQEs; the channel's poll (run
 * every loop iteration while I/O is outstanding) hands them to the kernel,
 * reaps completions and refills from the overflow list. At most `depth` I/Os
 * hold an SQE or a CQE slot at once; the rest wait on the overflow list in
 * submission order, linked through io->next.
 *
 * WRITE_ZEROES and UNMAP degrade step by step when the file system refuses a
 * fallocate mode (EOPNOTSUPP): ZERO_RANGE, then PUNCH_HOLE, then writing
 * zeroes from a shared zero buffer, chunk after chunk. The bdev remembers a
 * refused mode so later I/Os skip it. An io's step lives in backend_state.
 */
#include "bdev/bdev.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/fs.h>
#include <liburing.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define URING_DEPTH 256
#define URING_ZERO_BUF_SIZE (1u << 20)

/* backend_state[0]: how the io is being carried out. */
enum uring_step {
	URING_STEP_PRIMARY = 0, /* the natural operation for the type */
	URING_STEP_BUFFERED,    /* READ/WRITE retried on the buffered fd after O_DIRECT's EINVAL */
	URING_STEP_PUNCH_HOLE,  /* WRITE_ZEROES after ZERO_RANGE was refused */
	URING_STEP_ZERO_FILL,   /* writes from the zero buffer; backend_state[1] = bytes done */
};

struct uring_bdev {
	struct unvmf_bdev bdev;
	char filename[PATH_MAX];
	int fd;
	/* Without O_DIRECT; equals fd when fd is buffered already. */
	int fd_buffered;
	bool direct;
	/* Shared by every channel's thread, hence atomic. */
	atomic_bool no_zero_range;
	atomic_bool no_punch_hole;
	atomic_bool warned_direct_einval;
	/* PROT_READ anonymous mapping: reads as zeroes forever. */
	void *zero_buf;
};

struct uring_channel {
	struct io_uring ring;
	/* I/Os holding an SQE (prepared or submitted) and not yet reaped. */
	unsigned inflight;
	struct unvmf_bdev_io *overflow_head;
	struct unvmf_bdev_io **overflow_tail;
	bool submit_error_logged;
};

static struct uring_bdev *uring_bdev_of(struct unvmf_bdev *bdev)
{
	return UNVMF_CONTAINER_OF(bdev, struct uring_bdev, bdev);
}

static uint64_t io_bytes(const struct uring_bdev *ub, const struct unvmf_bdev_io *io)
{
	return io->num_blocks * ub->bdev.block_size;
}

static uint64_t io_offset(const struct uring_bdev *ub, const struct unvmf_bdev_io *io)
{
	return io->offset_blocks * ub->bdev.block_size;
}

static void overflow_push(struct uring_channel *uc, struct unvmf_bdev_io *io)
{
	io->next = NULL;
	*uc->overflow_tail = io;
	uc->overflow_tail = &io->next;
}

static struct unvmf_bdev_io *overflow_pop(struct uring_channel *uc)
{
	struct unvmf_bdev_io *io = uc->overflow_head;

	if (io) {
		uc->overflow_head = io->next;
		if (!uc->overflow_head)
			uc->overflow_tail = &uc->overflow_head;
		io->next = NULL;
	}
	return io;
}

/* Skips steps the bdev already knows to be refused. */
static void uring_skip_refused(struct uring_bdev *ub, struct unvmf_bdev_io *io)
{
	if (io->type == UNVMF_BDEV_IO_WRITE_ZEROES && io->backend_state[0] == URING_STEP_PRIMARY &&
	    atomic_load_explicit(&ub->no_zero_range, memory_order_relaxed))
		io->backend_state[0] = URING_STEP_PUNCH_HOLE;
	if (io->backend_state[0] == URING_STEP_PUNCH_HOLE ||
	    (io->type == UNVMF_BDEV_IO_UNMAP && io->backend_state[0] == URING_STEP_PRIMARY)) {
		if (atomic_load_explicit(&ub->no_punch_hole, memory_order_relaxed))
			io->backend_state[0] = URING_STEP_ZERO_FILL;
	}
}

/* Fills one SQE for io's current step; false if the ring has no room. */
static bool uring_prep(struct uring_bdev *ub, struct uring_channel *uc, struct unvmf_bdev_io *io)
{
	struct io_uring_sqe *sqe;
	uint64_t off = io_offset(ub, io);
	uint64_t len = io_bytes(ub, io);

	if (uc->inflight >= URING_DEPTH)
		return false;
	/* Cannot be NULL while inflight < the SQ size; handled all the same. */
	sqe = io_uring_get_sqe(&uc->ring);
	if (unvmf_unlikely(!sqe))
		return false;
	uring_skip_refused(ub, io);
	switch (io->type) {
	case UNVMF_BDEV_IO_READ:
		io_uring_prep_readv(
		    sqe, io->backend_state[0] == URING_STEP_BUFFERED ? ub->fd_buffered : ub->fd,
		    io->iov, (unsigned)io->iovcnt, off);
		break;
	case UNVMF_BDEV_IO_WRITE:
		io_uring_prep_writev(
		    sqe, io->backend_state[0] == URING_STEP_BUFFERED ? ub->fd_buffered : ub->fd,
		    io->iov, (unsigned)io->iovcnt, off);
		break;
	case UNVMF_BDEV_IO_FLUSH:
		io_uring_prep_fsync(sqe, ub->fd, 0);
		break;
	case UNVMF_BDEV_IO_WRITE_ZEROES:
	case UNVMF_BDEV_IO_UNMAP:
		if (io->backend_state[0] == URING_STEP_ZERO_FILL) {
			uint64_t done = io->backend_state[1];
			unsigned chunk =
			    (unsigned)UNVMF_MIN(len - done, (uint64_t)URING_ZERO_BUF_SIZE);

			io_uring_prep_write(sqe, ub->fd, ub->zero_buf, chunk, off + done);
		} else if (io->type == UNVMF_BDEV_IO_WRITE_ZEROES &&
		           io->backend_state[0] == URING_STEP_PRIMARY) {
			io_uring_prep_fallocate(sqe, ub->fd,
			                        FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			                        (off_t)off, (off_t)len);
		} else {
			io_uring_prep_fallocate(sqe, ub->fd,
			                        FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			                        (off_t)off, (off_t)len);
		}
		break;
	default:
		/* The layer validated the type; keep the SQE harmless. */
		io_uring_prep_nop(sqe);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	uc->inflight++;
	return true;
}

/* A new io: behind any overflowed ones, so submission order holds. */
static void uring_start(struct uring_bdev *ub, struct uring_channel *uc, struct unvmf_bdev_io *io)
{
	if (uc->overflow_head || !uring_prep(ub, uc, io))
		overflow_push(uc, io);
}

/* The next step of an io already started: it just freed its slot, so it rarely waits. */
static void uring_continue(struct uring_bdev *ub, struct uring_channel *uc,
                           struct unvmf_bdev_io *io)
{
	if (!uring_prep(ub, uc, io))
		overflow_push(uc, io);
}

static void uring_submit(struct unvmf_bdev *bdev, void *ch_ctx, struct unvmf_bdev_io *io)
{
	struct uring_bdev *ub = uring_bdev_of(bdev);
	struct uring_channel *uc = ch_ctx;

	/* fallocate refuses an empty range, and an empty write reads as a short one. */
	if (unvmf_unlikely(io->num_blocks == 0 && io->type != UNVMF_BDEV_IO_FLUSH)) {
		unvmf_bdev_io_done(io, 0);
		return;
	}
	uring_start(ub, uc, io);
}

/* Handles one CQE: finishes io, or moves it to its next step. */
static void uring_complete(struct uring_bdev *ub, struct uring_channel *uc,
                           struct unvmf_bdev_io *io, int res)
{
	enum uring_step step = (enum uring_step)io->backend_state[0];

	switch (io->type) {
	case UNVMF_BDEV_IO_READ:
	case UNVMF_BDEV_IO_WRITE:
		if (res == -EINVAL && ub->direct && step == URING_STEP_PRIMARY) {
			/* Buffers or lengths O_DIRECT cannot take: correct, only slower, buffered.
			 */
			if (!atomic_exchange(&ub->warned_direct_einval, true))
				LOG_WARN("bdev %s: O_DIRECT refused an I/O (alignment); "
				         "retrying such I/O buffered",
				         ub->bdev.name);
			io->backend_state[0] = URING_STEP_BUFFERED;
			uring_continue(ub, uc, io);
			return;
		}
		if (res >= 0 && (uint64_t)res != io_bytes(ub, io))
			res = -EIO; /* short transfer inside the file: it shrank under us */
		break;
	case UNVMF_BDEV_IO_WRITE_ZEROES:
	case UNVMF_BDEV_IO_UNMAP:
		if (step == URING_STEP_ZERO_FILL) {
			if (res == 0)
				res = -EIO;
			if (res < 0)
				break;
			io->backend_state[1] += (uint64_t)res;
			if (io->backend_state[1] < io_bytes(ub, io)) {
				uring_continue(ub, uc, io);
				return;
			}
			res = 0;
			break;
		}
		if (res == -EOPNOTSUPP) {
			if (io->type == UNVMF_BDEV_IO_WRITE_ZEROES && step == URING_STEP_PRIMARY) {
				atomic_store(&ub->no_zero_range, true);
				io->backend_state[0] = URING_STEP_PUNCH_HOLE;
			} else {
				atomic_store(&ub->no_punch_hole, true);
				io->backend_state[0] = URING_STEP_ZERO_FILL;
				io->backend_state[1] = 0;
			}
			uring_continue(ub, uc, io);
			return;
		}
		break;
	default:
		break;
	}
	unvmf_bdev_io_done(io, res < 0 ? res : 0);
}

static int uring_flush_sq(struct unvmf_bdev *bdev, struct uring_channel *uc)
{
	int rc;

	if (!io_uring_sq_ready(&uc->ring))
		return 0;
	rc = io_uring_submit(&uc->ring);
	if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
		/* Unsubmitted SQEs stay in the ring; the next poll retries them. */
		if (!uc->submit_error_logged)
			LOG_ERR("bdev %s: io_uring_submit: %s", bdev->name, strerror(-rc));
		uc->submit_error_logged = true;
	}
	return rc > 0 ? rc : 0;
}

static int uring_poll(struct unvmf_bdev *bdev, void *ch_ctx)
{
	struct uring_bdev *ub = uring_bdev_of(bdev);
	struct uring_channel *uc = ch_ctx;
	struct io_uring_cqe *cqe;
	unsigned head, reaped = 0;
	int work;

	work = uring_flush_sq(bdev, uc);
	io_uring_for_each_cqe(&uc->ring, head, cqe)
	{
		struct unvmf_bdev_io *io = io_uring_cqe_get_data(cqe);

		reaped++;
		UNVMF_ASSERT(uc->inflight > 0);
		uc->inflight--;
		uring_complete(ub, uc, io, cqe->res);
	}
	if (reaped)
		io_uring_cq_advance(&uc->ring, reaped);
	while (uc->overflow_head && uc->inflight < URING_DEPTH) {
		struct unvmf_bdev_io *io = overflow_pop(uc);

		if (!uring_prep(ub, uc, io)) {
			/* Back at the head; retried on the next poll. */
			io->next = uc->overflow_head;
			uc->overflow_head = io;
			if (!io->next)
				uc->overflow_tail = &io->next;
			break;
		}
	}
	work += uring_flush_sq(bdev, uc);
	return work + (int)reaped;
}

static int uring_channel_create(struct unvmf_bdev *bdev, void **ctx)
{
	struct uring_channel *uc = calloc(1, sizeof(*uc));
	int rc;

	if (!uc)
		return -ENOMEM;
	rc = io_uring_queue_init(URING_DEPTH, &uc->ring, 0);
	if (rc < 0) {
		LOG_ERR("bdev %s: io_uring_queue_init: %s", bdev->name, strerror(-rc));
		free(uc);
		return rc;
	}
	uc->overflow_tail = &uc->overflow_head;
	*ctx = uc;
	return 0;
}

static void uring_channel_destroy(struct unvmf_bdev *bdev, void *ctx)
{
	struct uring_channel *uc = ctx;

	/* The layer destroys a channel only with nothing outstanding. */
	UNVMF_ASSERT(uc->inflight == 0 && !uc->overflow_head);
	io_uring_queue_exit(&uc->ring);
	free(uc);
}

static void uring_destruct(struct unvmf_bdev *bdev)
{
	struct uring_bdev *ub = uring_bdev_of(bdev);

	if (ub->fd_buffered >= 0 && ub->fd_buffered != ub->fd)
		close(ub->fd_buffered);
	if (ub->fd >= 0)
		close(ub->fd);
	if (ub->zero_buf && ub->zero_buf != MAP_FAILED)
		munmap(ub->zero_buf, URING_ZERO_BUF_SIZE);
	free(ub);
}

static void uring_write_config(struct unvmf_bdev *bdev, void *json_params)
{
	struct uring_bdev *ub = uring_bdev_of(bdev);
	json_t *params = json_params;
	char uuid[37];

	unvmf_uuid_format(bdev->uuid, uuid);
	json_object_set_new(params, "name", json_string(bdev->name));
	json_object_set_new(params, "filename", json_string(ub->filename));
	json_object_set_new(params, "block_size", json_integer(bdev->block_size));
	json_object_set_new(params, "uuid", json_string(uuid));
}

static const struct unvmf_bdev_ops uring_ops = {
    .type = "uring",
    .channel_create = uring_channel_create,
    .channel_destroy = uring_channel_destroy,
    .submit = uring_submit,
    .poll = uring_poll,
    .destruct = uring_destruct,
    .write_config = uring_write_config,
};

/*
 * A regular file takes O_DIRECT only if its file system aligns direct I/O at
 * block_size or finer; otherwise every I/O would fail with EINVAL.
 */
static bool uring_file_direct_ok(int fd, uint32_t block_size)
{
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN))
		return stx.stx_dio_offset_align != 0 && stx.stx_dio_offset_align <= block_size;
#endif
	/* Unknown: keep O_DIRECT; an I/O it refuses is retried buffered. */
	return true;
}

static int uring_open(struct uring_bdev *ub, const char *name, uint32_t block_size, uint64_t *size)
{
	struct stat st;
	int flags;

	ub->fd = open(ub->filename, O_RDWR | O_DIRECT | O_CLOEXEC);
	ub->direct = ub->fd >= 0;
	if (ub->fd < 0 && errno == EINVAL)
		ub->fd = open(ub->filename, O_RDWR | O_CLOEXEC);
	if (ub->fd < 0) {
		int rc = -errno;

		LOG_ERR("bdev %s: cannot open %s: %s", name, ub->filename, strerror(errno));
		return rc;
	}
	if (fstat(ub->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		int lbs = 0;

		if (ioctl(ub->fd, BLKGETSIZE64, size) < 0 || ioctl(ub->fd, BLKSSZGET, &lbs) < 0)
			return -errno;
		if (lbs <= 0 || block_size < (uint32_t)lbs) {
			LOG_ERR("bdev %s: block size %u is below %s's logical block size %d", name,
			        block_size, ub->filename, lbs);
			return -EINVAL;
		}
	} else if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		if (ub->direct && !uring_file_direct_ok(ub->fd, block_size)) {
			flags = fcntl(ub->fd, F_GETFL);
			if (flags < 0 || fcntl(ub->fd, F_SETFL, flags & ~O_DIRECT) < 0)
				return -errno;
			ub->direct = false;
		}
	} else {
		LOG_ERR("bdev %s: %s is neither a regular file nor a block device", name,
		        ub->filename);
		return -EINVAL;
	}
	if (ub->direct) {
		ub->fd_buffered = open(ub->filename, O_RDWR | O_CLOEXEC);
		if (ub->fd_buffered < 0)
			return -errno;
	} else {
		ub->fd_buffered = ub->fd;
	}
	return 0;
}

int unvmf_bdev_uring_create(const char *name, const char *filename, uint32_t block_size,
                            const uint8_t *uuid, struct unvmf_bdev **out)
{
	struct uring_bdev *ub;
	uint64_t size = 0;
	int rc;

	if (block_size != 512 && block_size != 4096)
		return -EINVAL;
	if (!filename || !filename[0] || strlen(filename) >= sizeof(ub->filename))
		return -EINVAL;
	ub = calloc(1, sizeof(*ub));
	if (!ub)
		return -ENOMEM;
	ub->fd = -1;
	ub->fd_buffered = -1;
	(void)unvmf_strlcpy(ub->filename, filename, sizeof(ub->filename));
	rc = uring_open(ub, name ? name : "?", block_size, &size);
	if (rc)
		goto out_destruct;
	rc = unvmf_bdev_init(&ub->bdev, name, size / block_size, block_size, uuid);
	if (rc) {
		if (size / block_size == 0)
			LOG_ERR("bdev %s: %s is smaller than one block", name ? name : "?",
			        filename);
		goto out_destruct;
	}
	ub->bdev.volatile_cache = true;
	ub->zero_buf =
	    mmap(NULL, URING_ZERO_BUF_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ub->zero_buf == MAP_FAILED) {
		rc = -errno;
		goto out_destruct;
	}
	ub->bdev.ops = &uring_ops;
	rc = unvmf_bdev_register(&ub->bdev);
	if (rc)
		goto out_destruct;
	LOG_INFO("bdev %s: %s, %s I/O", name, filename, ub->direct ? "direct" : "buffered");
	if (out)
		*out = &ub->bdev;
	return 0;

out_destruct:
	uring_destruct(&ub->bdev);
	return rc;
}

int unvmf_bdev_uring_rescan(const char *name)
{
	struct unvmf_bdev *bdev = unvmf_bdev_find(name);
	struct uring_bdev *ub;
	uint64_t size;
	struct stat st;

	if (!bdev)
		return -ENOENT;
	if (bdev->ops != &uring_ops)
		return -ENODEV;
	ub = UNVMF_CONTAINER_OF(bdev, struct uring_bdev, bdev);
	if (fstat(ub->fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(ub->fd, BLKGETSIZE64, &size) < 0)
			return -errno;
	} else {
		size = (uint64_t)st.st_size;
	}
	/* A partial last block is not addressable, as at creation. */
	return unvmf_bdev_resize(bdev, size / bdev->block_size);
}
