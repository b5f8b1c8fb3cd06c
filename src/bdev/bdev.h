#pragma once
/*
 * Block devices. A bdev is created and deleted on the control-plane thread
 * (reactor 0) and registered by name. I/O is submitted on a per-thread channel
 * and completes on that same thread, always later (never from inside
 * unvmf_bdev_submit), from the channel's poller. The caller owns the
 * unvmf_bdev_io (it is embedded in a request): no allocation per I/O.
 *
 * Submit from a message or from a poller that reports the iteration busy
 * (returns > 0): the channel's poller keeps the loop awake only from its next
 * run on, so an idle report in the same iteration could let the loop sleep
 * on a pending completion.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define UNVMF_BDEV_NAME_MAX 64

enum unvmf_bdev_io_type {
	UNVMF_BDEV_IO_READ,
	UNVMF_BDEV_IO_WRITE,
	UNVMF_BDEV_IO_FLUSH,
	UNVMF_BDEV_IO_WRITE_ZEROES,
	UNVMF_BDEV_IO_UNMAP,
};

/*
 * I/O statistics, SPDK's bdev_get_iostat counters. Each channel counts the
 * I/O it completes successfully (plain fields, on the channel's thread, no
 * lock); a channel that closes adds its counts to the bdev's retired totals.
 * Latencies are in microseconds (ticks at 1 MHz), from submit to the backend's
 * completion as the channel's poller sees it.
 */
struct unvmf_bdev_io_stat {
	uint64_t bytes_read, num_read_ops;
	uint64_t bytes_written, num_write_ops;
	uint64_t bytes_unmapped, num_unmap_ops;
	uint64_t num_write_zeroes_ops, num_flush_ops;
	uint64_t read_latency_ticks, max_read_latency_ticks, min_read_latency_ticks;
	uint64_t write_latency_ticks, max_write_latency_ticks, min_write_latency_ticks;
	uint64_t unmap_latency_ticks, max_unmap_latency_ticks, min_unmap_latency_ticks;
	uint64_t num_io_errors; /* completed with an error status (not in the counts above) */
};

struct unvmf_bdev;
struct unvmf_bdev_channel;
struct unvmf_bdev_io;

typedef void (*unvmf_bdev_io_cb)(struct unvmf_bdev_io *io, int status);

struct unvmf_bdev_io {
	enum unvmf_bdev_io_type type;
	uint64_t offset_blocks;
	uint64_t num_blocks;
	struct iovec *iov; /* READ/WRITE only; total length == num_blocks * block_size */
	int iovcnt;
	unvmf_bdev_io_cb cb;	/* status: 0 or a negative errno */
	/* Owned by the bdev layer while the I/O is outstanding. */
	struct unvmf_bdev_channel *ch;
	struct unvmf_bdev_io *next;
	int status;
	uint64_t submit_us;
	/* Backend scratch while outstanding (e.g. uring's fallback progress). */
	uint64_t backend_state[2];
};

struct unvmf_bdev_ops {
	const char *type;		/* "null", "malloc", "uring" */
	/* Per-thread backend state for a channel (e.g. an io_uring). May return NULL with no state. */
	int (*channel_create)(struct unvmf_bdev *bdev, void **ctx);
	void (*channel_destroy)(struct unvmf_bdev *bdev, void *ctx);
	/*
	 * Starts io. Synchronous backends call unvmf_bdev_io_done() before returning;
	 * the layer defers the callback. Asynchronous ones call it from their poll.
	 */
	void (*submit)(struct unvmf_bdev *bdev, void *ch_ctx, struct unvmf_bdev_io *io);
	/* Reaps completions; returns how many. NULL for synchronous backends. */
	int (*poll)(struct unvmf_bdev *bdev, void *ch_ctx);
	/*
	 * Frees the backend state and the bdev itself. Runs on the deleting
	 * thread, or on the thread that closes the last channel if one was open.
	 */
	void (*destruct)(struct unvmf_bdev *bdev);
	/* Writes the backend's own create parameters for save_config (a jansson json_t *). */
	void (*write_config)(struct unvmf_bdev *bdev, void *json_params);
};

struct unvmf_bdev {
	char name[UNVMF_BDEV_NAME_MAX];
	uint8_t uuid[16];
	uint32_t block_size;
	uint64_t num_blocks;
	bool volatile_cache;	/* has a write cache that FLUSH drains */
	const struct unvmf_bdev_ops *ops;
	void *ctx;
	/* The create method save_config writes (a static string); NULL: bdev_<ops->type>_create. */
	const char *create_method;
	/* Number of claims (namespaces) holding it; deletion is refused while > 0. */
	unsigned claims;
	/* Fault hooks for tests: fail the next N I/Os with status, or delay completions. */
	/*
	 * Set them on the thread that submits (they are plain fields). The delay
	 * is a latency floor: no callback before submit_us + inject_delay_us.
	 */
	int inject_fail_count;
	int inject_fail_status;
	uint64_t inject_delay_us;
	/* Owned by bdev.c, under the registry lock. */
	struct unvmf_bdev *next;
	unsigned channel_count;	/* open channels on any thread */
	struct unvmf_bdev_io_stat retired_stat; /* closed channels' counts */
	bool deleted;		/* unregistered; destructed when the last channel closes */
};

/* Registry (control-plane thread). Name must be unique. */
int unvmf_bdev_register(struct unvmf_bdev *bdev);
struct unvmf_bdev *unvmf_bdev_find(const char *name);
struct unvmf_bdev *unvmf_bdev_first(void);
struct unvmf_bdev *unvmf_bdev_next(struct unvmf_bdev *bdev);
/*
 * -EBUSY if claimed, -ENOENT if unknown; otherwise unregisters and destructs
 * (at once, or when its last open channel is put).
 */
int unvmf_bdev_delete(const char *name);
/* Deletes every bdev (shutdown), claimed or not. */
void unvmf_bdev_delete_all(void);
int unvmf_bdev_claim(struct unvmf_bdev *bdev);
void unvmf_bdev_release(struct unvmf_bdev *bdev);

/*
 * For backends: checks name (non-empty, fits), block_size (512 or 4096) and
 * num_blocks (> 0), then fills those fields and the uuid (random if NULL).
 * -EINVAL on a bad argument. Uniqueness is checked by unvmf_bdev_register.
 * ops->destruct must free the bdev itself too: the backend allocated it.
 */
int unvmf_bdev_init(struct unvmf_bdev *bdev, const char *name, uint64_t num_blocks,
		    uint32_t block_size, const uint8_t *uuid);

/* Backends. uuid may be NULL (a random one is made). */
int unvmf_bdev_null_create(const char *name, uint64_t num_blocks, uint32_t block_size,
			   const uint8_t *uuid, struct unvmf_bdev **out);
int unvmf_bdev_malloc_create(const char *name, uint64_t num_blocks, uint32_t block_size,
			     const uint8_t *uuid, struct unvmf_bdev **out);
/* filename: a regular file or a block device; its size sets num_blocks. */
int unvmf_bdev_uring_create(const char *name, const char *filename, uint32_t block_size,
			    const uint8_t *uuid, struct unvmf_bdev **out);

/*
 * num_blocks as the I/O path reads it: a resize changes it on the control
 * plane while other threads check ranges against it.
 */
static inline uint64_t unvmf_bdev_num_blocks(const struct unvmf_bdev *bdev)
{
	return __atomic_load_n(&bdev->num_blocks, __ATOMIC_ACQUIRE);
}

/*
 * Resize (control-plane thread): grows num_blocks (-EINVAL to shrink, 0 for
 * the same size), then calls the resize listener, which the NVMe-oF core sets
 * to announce a Namespace Attribute Changed on every namespace of the bdev.
 */
typedef void (*unvmf_bdev_resize_fn)(struct unvmf_bdev *bdev);
void unvmf_bdev_set_resize_listener(unvmf_bdev_resize_fn fn);
int unvmf_bdev_resize(struct unvmf_bdev *bdev, uint64_t num_blocks);
/* SPDK's bdev_null_resize: new size in MiB; -ENOENT, -ENODEV (not a null bdev), -EINVAL. */
int unvmf_bdev_null_resize(const char *name, uint64_t new_size_mib);
/* SPDK's bdev_aio_rescan for the io_uring backend: takes the file's size again. */
int unvmf_bdev_uring_rescan(const char *name);

/* Channels: one per (bdev, thread); get/put on the thread that uses it. */
struct unvmf_bdev_channel *unvmf_bdev_channel_get(struct unvmf_bdev *bdev);
void unvmf_bdev_channel_put(struct unvmf_bdev_channel *ch);
/* Number of I/Os submitted on ch and not yet called back. */
unsigned unvmf_bdev_channel_outstanding(const struct unvmf_bdev_channel *ch);

/* A stat with nothing counted (min latencies at UINT64_MAX: none seen). */
void unvmf_bdev_io_stat_init(struct unvmf_bdev_io_stat *st);
/* sum += add */
void unvmf_bdev_io_stat_add(struct unvmf_bdev_io_stat *sum, const struct unvmf_bdev_io_stat *add);
/*
 * Adds to *sum the counters of bdev's channels open on the calling reactor
 * (run it on every reactor: channels are their reactor's own; bdev is only
 * compared, never read, so it may be a bdev deleted meanwhile).
 */
void unvmf_bdev_io_stat_add_thread(const struct unvmf_bdev *bdev, struct unvmf_bdev_io_stat *sum);
/* Adds to *sum the counters of bdev's closed channels (control-plane thread). */
void unvmf_bdev_io_stat_add_retired(struct unvmf_bdev *bdev, struct unvmf_bdev_io_stat *sum);

/* Validates range against the bdev (-ERANGE), then starts io; io->cb always runs later. */
void unvmf_bdev_submit(struct unvmf_bdev_channel *ch, struct unvmf_bdev_io *io);
/* Backends call this when an I/O finishes (any time, on the channel's thread). */
void unvmf_bdev_io_done(struct unvmf_bdev_io *io, int status);

/* Hex form "xxxxxxxx-xxxx-..." of a uuid (buf of 37 bytes), and parse. */
void unvmf_uuid_format(const uint8_t uuid[16], char *buf);
int unvmf_uuid_parse(const char *s, uint8_t uuid[16]);
void unvmf_uuid_generate(uint8_t uuid[16]);
