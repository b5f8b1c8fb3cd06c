/*
 * Bdev layer: the registry (control plane, one mutex), per-thread channels,
 * and the I/O path (validation, fault hooks, deferred completion).
 *
 * Completion: backends call unvmf_bdev_io_done(), which only queues the io on
 * its channel's done list. The channel's single poller fires the callbacks,
 * so a callback never runs inside unvmf_bdev_submit and every completion of a
 * channel comes from one place, on the channel's thread.
 *
 * Lifetimes: a channel lives while it has references or outstanding I/O; a
 * put with I/O still outstanding (a caller bug, logged) keeps it until the
 * last callback. A bdev deleted while a channel is open leaves the registry at
 * once and is destructed when its last channel closes.
 */
#include "bdev/bdev.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

struct unvmf_bdev_channel {
	struct unvmf_bdev *bdev;
	void *ctx; /* backend per-channel state */
	struct unvmf_poller *poller;
	unsigned refs;
	/* Submitted and not yet called back, including those on the done list. */
	unsigned outstanding;
	/* Completed by the backend, callback not fired yet; FIFO through io->next. */
	struct unvmf_bdev_io *done_head;
	struct unvmf_bdev_io **done_tail;
	/* Set while the poller fires callbacks: a put then must not free the channel. */
	bool in_poll;
	/* This thread's channels, one per bdev. */
	struct unvmf_bdev_channel *next;
	/* Successful completions on this channel; only its thread writes or reads them. */
	struct unvmf_bdev_io_stat stat;
};

static pthread_mutex_t g_bdev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct unvmf_bdev *g_bdevs; /* under g_bdev_lock */

/* Channels are per thread, so the list needs no lock. */
/*
 * Channels of each reactor, indexed by reactor (not OS thread: in the
 * simulator's manual mode one OS thread runs every reactor). Only the owning
 * reactor touches its list. Code outside any reactor has no channels.
 */
#define BDEV_MAX_REACTORS 64
static struct unvmf_bdev_channel *g_reactor_channels[BDEV_MAX_REACTORS];

static struct unvmf_bdev_channel **thread_channels(void)
{
	struct unvmf_thread *thread = unvmf_thread_get();
	unsigned index = thread ? unvmf_thread_index(thread) : 0;

	UNVMF_ASSERT(index < BDEV_MAX_REACTORS);
	return &g_reactor_channels[index];
}

/* ---- uuid ---- */

void unvmf_uuid_generate(uint8_t uuid[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(uuid + got, 16 - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* getrandom() cannot fail on Linux >= 3.17 with a valid buffer; keep going
			 * anyway. */
			LOG_ERR("uuid: getrandom: %s", strerror(errno));
			for (; got < 16; got++)
				uuid[got] = (uint8_t)(rand() & 0xff);
			break;
		}
		got += (size_t)n;
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* variant RFC 4122 */
}

void unvmf_uuid_format(const uint8_t uuid[16], char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[uuid[i] >> 4];
		*p++ = hex[uuid[i] & 0xf];
	}
	*p = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int unvmf_uuid_parse(const char *s, uint8_t uuid[16])
{
	uint8_t out[16];
	int byte = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (int i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = hex_value(s[i]);
		lo = hex_value(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[byte++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(uuid, out, 16);
	return 0;
}

/* ---- registry ---- */

int unvmf_bdev_init(struct unvmf_bdev *bdev, const char *name, uint64_t num_blocks,
                    uint32_t block_size, const uint8_t *uuid)
{
	if (!name || !name[0] || strlen(name) >= UNVMF_BDEV_NAME_MAX)
		return -EINVAL;
	if (block_size != 512 && block_size != 4096)
		return -EINVAL;
	/* The byte size must fit in 64 bits for the range checks and the backends. */
	if (num_blocks == 0 || num_blocks > UINT64_MAX / block_size)
		return -EINVAL;
	(void)unvmf_strlcpy(bdev->name, name, sizeof(bdev->name));
	bdev->num_blocks = num_blocks;
	bdev->block_size = block_size;
	unvmf_bdev_io_stat_init(&bdev->retired_stat);
	if (uuid)
		memcpy(bdev->uuid, uuid, 16);
	else
		unvmf_uuid_generate(bdev->uuid);
	return 0;
}

static struct unvmf_bdev *registry_find_locked(const char *name)
{
	for (struct unvmf_bdev *b = g_bdevs; b; b = b->next) {
		if (strcmp(b->name, name) == 0)
			return b;
	}
	return NULL;
}

int unvmf_bdev_register(struct unvmf_bdev *bdev)
{
	struct unvmf_bdev **tail;

	if (!bdev || !bdev->ops || !bdev->name[0])
		return -EINVAL;
	pthread_mutex_lock(&g_bdev_lock);
	if (registry_find_locked(bdev->name)) {
		pthread_mutex_unlock(&g_bdev_lock);
		return -EEXIST;
	}
	/* Appended, so listings show bdevs in creation order. */
	for (tail = &g_bdevs; *tail; tail = &(*tail)->next)
		;
	bdev->next = NULL;
	bdev->claims = 0;
	bdev->channel_count = 0;
	bdev->deleted = false;
	*tail = bdev;
	pthread_mutex_unlock(&g_bdev_lock);
	LOG_INFO("bdev %s: registered (%s, %" PRIu64 " blocks of %u bytes)", bdev->name,
	         bdev->ops->type, bdev->num_blocks, bdev->block_size);
	return 0;
}

struct unvmf_bdev *unvmf_bdev_find(const char *name)
{
	struct unvmf_bdev *bdev;

	if (!name)
		return NULL;
	pthread_mutex_lock(&g_bdev_lock);
	bdev = registry_find_locked(name);
	pthread_mutex_unlock(&g_bdev_lock);
	return bdev;
}

struct unvmf_bdev *unvmf_bdev_first(void)
{
	struct unvmf_bdev *bdev;

	pthread_mutex_lock(&g_bdev_lock);
	bdev = g_bdevs;
	pthread_mutex_unlock(&g_bdev_lock);
	return bdev;
}

struct unvmf_bdev *unvmf_bdev_next(struct unvmf_bdev *bdev)
{
	struct unvmf_bdev *next;

	pthread_mutex_lock(&g_bdev_lock);
	next = bdev->next;
	pthread_mutex_unlock(&g_bdev_lock);
	return next;
}

static void registry_unlink_locked(struct unvmf_bdev *bdev)
{
	for (struct unvmf_bdev **pp = &g_bdevs; *pp; pp = &(*pp)->next) {
		if (*pp == bdev) {
			*pp = bdev->next;
			bdev->next = NULL;
			return;
		}
	}
}

/*
 * Called with the lock held on a bdev just unlinked. Returns true if the
 * caller must destruct it now (after dropping the lock); otherwise the last
 * channel put will.
 */
static bool bdev_mark_deleted_locked(struct unvmf_bdev *bdev)
{
	bdev->deleted = true;
	return bdev->channel_count == 0;
}

static void bdev_destruct(struct unvmf_bdev *bdev)
{
	LOG_INFO("bdev %s: deleted", bdev->name);
	bdev->ops->destruct(bdev);
}

int unvmf_bdev_delete(const char *name)
{
	struct unvmf_bdev *bdev;
	bool destruct_now;

	if (!name)
		return -ENOENT;
	pthread_mutex_lock(&g_bdev_lock);
	bdev = registry_find_locked(name);
	if (!bdev) {
		pthread_mutex_unlock(&g_bdev_lock);
		return -ENOENT;
	}
	if (bdev->claims > 0) {
		pthread_mutex_unlock(&g_bdev_lock);
		return -EBUSY;
	}
	registry_unlink_locked(bdev);
	destruct_now = bdev_mark_deleted_locked(bdev);
	pthread_mutex_unlock(&g_bdev_lock);
	if (destruct_now)
		bdev_destruct(bdev);
	else
		LOG_NOTICE("bdev %s: deleted with a channel open; freed when it closes", name);
	return 0;
}

void unvmf_bdev_delete_all(void)
{
	struct unvmf_bdev *doomed = NULL, *b, *next;

	/* Deciding under the lock that marks them keeps a racing channel close from destructing
	 * too. */
	pthread_mutex_lock(&g_bdev_lock);
	for (b = g_bdevs; b; b = next) {
		next = b->next;
		b->next = NULL;
		if (bdev_mark_deleted_locked(b)) {
			b->next = doomed;
			doomed = b;
		} else {
			LOG_WARN(
			    "bdev %s: %u channel(s) still open at shutdown; freed when they close",
			    b->name, b->channel_count);
		}
	}
	g_bdevs = NULL;
	pthread_mutex_unlock(&g_bdev_lock);
	for (b = doomed; b; b = next) {
		next = b->next;
		b->next = NULL;
		bdev_destruct(b);
	}
}

int unvmf_bdev_claim(struct unvmf_bdev *bdev)
{
	int rc = 0;

	pthread_mutex_lock(&g_bdev_lock);
	if (bdev->deleted)
		rc = -ENOENT;
	else
		bdev->claims++;
	pthread_mutex_unlock(&g_bdev_lock);
	return rc;
}

void unvmf_bdev_release(struct unvmf_bdev *bdev)
{
	pthread_mutex_lock(&g_bdev_lock);
	UNVMF_ASSERT(bdev->claims > 0);
	if (bdev->claims > 0)
		bdev->claims--;
	pthread_mutex_unlock(&g_bdev_lock);
}

/* ---- channels ---- */

static int channel_poll(void *arg);

static void channel_destroy(struct unvmf_bdev_channel *ch)
{
	struct unvmf_bdev *bdev = ch->bdev;
	bool destruct_now;

	UNVMF_ASSERT(ch->refs == 0 && ch->outstanding == 0 && !ch->done_head);
	for (struct unvmf_bdev_channel **pp = thread_channels(); *pp; pp = &(*pp)->next) {
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	}
	unvmf_poller_unregister(&ch->poller);
	if (bdev->ops->channel_destroy)
		bdev->ops->channel_destroy(bdev, ch->ctx);

	pthread_mutex_lock(&g_bdev_lock);
	unvmf_bdev_io_stat_add(&bdev->retired_stat, &ch->stat);
	UNVMF_ASSERT(bdev->channel_count > 0);
	bdev->channel_count--;
	destruct_now = bdev->deleted && bdev->channel_count == 0;
	pthread_mutex_unlock(&g_bdev_lock);
	free(ch);
	if (destruct_now)
		bdev_destruct(bdev);
}

struct unvmf_bdev_channel *unvmf_bdev_channel_get(struct unvmf_bdev *bdev)
{
	struct unvmf_bdev_channel *ch;
	int rc;

	for (ch = *thread_channels(); ch; ch = ch->next) {
		if (ch->bdev == bdev) {
			ch->refs++;
			return ch;
		}
	}
	if (!unvmf_thread_get()) {
		LOG_ERR("bdev %s: channel requested outside a reactor thread", bdev->name);
		return NULL;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->bdev = bdev;
	ch->refs = 1;
	ch->done_tail = &ch->done_head;
	unvmf_bdev_io_stat_init(&ch->stat);
	if (bdev->ops->channel_create) {
		rc = bdev->ops->channel_create(bdev, &ch->ctx);
		if (rc) {
			LOG_ERR("bdev %s: channel: %s", bdev->name, strerror(-rc));
			goto out_free;
		}
	}
	ch->poller = unvmf_poller_register(channel_poll, ch, 0, "bdev_channel");
	if (!ch->poller)
		goto out_destroy_ctx;

	pthread_mutex_lock(&g_bdev_lock);
	bdev->channel_count++;
	pthread_mutex_unlock(&g_bdev_lock);
	ch->next = *thread_channels();
	*thread_channels() = ch;
	return ch;

out_destroy_ctx:
	if (bdev->ops->channel_destroy)
		bdev->ops->channel_destroy(bdev, ch->ctx);
out_free:
	free(ch);
	return NULL;
}

void unvmf_bdev_channel_put(struct unvmf_bdev_channel *ch)
{
	if (!ch)
		return;
	UNVMF_ASSERT(ch->refs > 0);
	if (ch->refs == 0)
		return;
	if (--ch->refs > 0)
		return;
	if (ch->outstanding > 0) {
		/* The poller destroys it after the last callback. */
		LOG_WARN("bdev %s: channel released with %u I/O outstanding", ch->bdev->name,
		         ch->outstanding);
		return;
	}
	if (ch->in_poll)
		return; /* the poller destroys it when its pass ends */
	channel_destroy(ch);
}

unsigned unvmf_bdev_channel_outstanding(const struct unvmf_bdev_channel *ch)
{
	return ch->outstanding;
}

/* ---- I/O ---- */

static bool io_range_ok(const struct unvmf_bdev *bdev, const struct unvmf_bdev_io *io)
{
	uint64_t n = unvmf_bdev_num_blocks(bdev);

	return io->offset_blocks <= n && io->num_blocks <= n - io->offset_blocks;
}

static bool io_iov_ok(const struct unvmf_bdev *bdev, const struct unvmf_bdev_io *io)
{
	uint64_t want = io->num_blocks * bdev->block_size; /* fits: range checked first */
	uint64_t total = 0;

	if (io->iovcnt < 0 || io->iovcnt > IOV_MAX || (io->iovcnt > 0 && !io->iov))
		return false;
	for (int i = 0; i < io->iovcnt; i++) {
		if (io->iov[i].iov_len > want - total)
			return false;
		total += io->iov[i].iov_len;
	}
	return total == want;
}

void unvmf_bdev_io_done(struct unvmf_bdev_io *io, int status)
{
	struct unvmf_bdev_channel *ch = io->ch;

	UNVMF_ASSERT(ch);
	io->status = status;
	io->next = NULL;
	*ch->done_tail = io;
	ch->done_tail = &io->next;
}

void unvmf_bdev_submit(struct unvmf_bdev_channel *ch, struct unvmf_bdev_io *io)
{
	struct unvmf_bdev *bdev = ch->bdev;

	io->ch = ch;
	io->next = NULL;
	io->status = 0;
	io->submit_us = unvmf_now_us();
	io->backend_state[0] = 0;
	io->backend_state[1] = 0;
	ch->outstanding++;

	if (unvmf_unlikely(!io_range_ok(bdev, io))) {
		unvmf_bdev_io_done(io, -ERANGE);
		return;
	}
	if (io->type == UNVMF_BDEV_IO_READ || io->type == UNVMF_BDEV_IO_WRITE) {
		if (unvmf_unlikely(!io_iov_ok(bdev, io))) {
			unvmf_bdev_io_done(io, -EINVAL);
			return;
		}
	} else if (unvmf_unlikely(io->type != UNVMF_BDEV_IO_FLUSH &&
	                          io->type != UNVMF_BDEV_IO_WRITE_ZEROES &&
	                          io->type != UNVMF_BDEV_IO_UNMAP)) {
		unvmf_bdev_io_done(io, -EINVAL);
		return;
	}
	if (unvmf_unlikely(bdev->inject_fail_count > 0)) {
		bdev->inject_fail_count--;
		unvmf_bdev_io_done(io, bdev->inject_fail_status);
		return;
	}
	bdev->ops->submit(bdev, ch->ctx, io);
}

/* ---- statistics ---- */

void unvmf_bdev_io_stat_init(struct unvmf_bdev_io_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->min_read_latency_ticks = UINT64_MAX;
	st->min_write_latency_ticks = UINT64_MAX;
	st->min_unmap_latency_ticks = UINT64_MAX;
}

static uint64_t u64_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void unvmf_bdev_io_stat_add(struct unvmf_bdev_io_stat *sum, const struct unvmf_bdev_io_stat *add)
{
	sum->bytes_read += add->bytes_read;
	sum->num_read_ops += add->num_read_ops;
	sum->bytes_written += add->bytes_written;
	sum->num_write_ops += add->num_write_ops;
	sum->bytes_unmapped += add->bytes_unmapped;
	sum->num_unmap_ops += add->num_unmap_ops;
	sum->num_write_zeroes_ops += add->num_write_zeroes_ops;
	sum->num_flush_ops += add->num_flush_ops;
	sum->read_latency_ticks += add->read_latency_ticks;
	sum->write_latency_ticks += add->write_latency_ticks;
	sum->unmap_latency_ticks += add->unmap_latency_ticks;
	sum->max_read_latency_ticks =
	    u64_max(sum->max_read_latency_ticks, add->max_read_latency_ticks);
	sum->max_write_latency_ticks =
	    u64_max(sum->max_write_latency_ticks, add->max_write_latency_ticks);
	sum->max_unmap_latency_ticks =
	    u64_max(sum->max_unmap_latency_ticks, add->max_unmap_latency_ticks);
	sum->min_read_latency_ticks =
	    u64_min(sum->min_read_latency_ticks, add->min_read_latency_ticks);
	sum->min_write_latency_ticks =
	    u64_min(sum->min_write_latency_ticks, add->min_write_latency_ticks);
	sum->min_unmap_latency_ticks =
	    u64_min(sum->min_unmap_latency_ticks, add->min_unmap_latency_ticks);
	sum->num_io_errors += add->num_io_errors;
}

void unvmf_bdev_io_stat_add_thread(const struct unvmf_bdev *bdev, struct unvmf_bdev_io_stat *sum)
{
	if (!unvmf_thread_get())
		return;
	for (struct unvmf_bdev_channel *ch = *thread_channels(); ch; ch = ch->next) {
		if (ch->bdev == bdev)
			unvmf_bdev_io_stat_add(sum, &ch->stat);
	}
}

void unvmf_bdev_io_stat_add_retired(struct unvmf_bdev *bdev, struct unvmf_bdev_io_stat *sum)
{
	pthread_mutex_lock(&g_bdev_lock);
	unvmf_bdev_io_stat_add(sum, &bdev->retired_stat);
	pthread_mutex_unlock(&g_bdev_lock);
}

/* Counts one finished I/O on its channel: plain adds, the channel's thread only. */
static void channel_count_io(struct unvmf_bdev_channel *ch, const struct unvmf_bdev_io *io,
                             uint64_t now)
{
	struct unvmf_bdev_io_stat *st = &ch->stat;
	uint64_t bytes = io->num_blocks * ch->bdev->block_size;
	uint64_t lat = now > io->submit_us ? now - io->submit_us : 0;

	if (unvmf_unlikely(io->status != 0)) {
		st->num_io_errors++;
		return;
	}
	switch (io->type) {
	case UNVMF_BDEV_IO_READ:
		st->bytes_read += bytes;
		st->num_read_ops++;
		st->read_latency_ticks += lat;
		st->max_read_latency_ticks = u64_max(st->max_read_latency_ticks, lat);
		st->min_read_latency_ticks = u64_min(st->min_read_latency_ticks, lat);
		break;
	case UNVMF_BDEV_IO_WRITE:
		st->bytes_written += bytes;
		st->num_write_ops++;
		st->write_latency_ticks += lat;
		st->max_write_latency_ticks = u64_max(st->max_write_latency_ticks, lat);
		st->min_write_latency_ticks = u64_min(st->min_write_latency_ticks, lat);
		break;
	case UNVMF_BDEV_IO_UNMAP:
		st->bytes_unmapped += bytes;
		st->num_unmap_ops++;
		st->unmap_latency_ticks += lat;
		st->max_unmap_latency_ticks = u64_max(st->max_unmap_latency_ticks, lat);
		st->min_unmap_latency_ticks = u64_min(st->min_unmap_latency_ticks, lat);
		break;
	case UNVMF_BDEV_IO_WRITE_ZEROES:
		st->num_write_zeroes_ops++;
		break;
	case UNVMF_BDEV_IO_FLUSH:
		st->num_flush_ops++;
		break;
	}
}

/*
 * Fires the callbacks of the done list. The list is detached first, so
 * I/O submitted by a callback completes on a later pass (no unbounded loop);
 * held (delayed) ones go back on the list in order.
 */
static int channel_complete(struct unvmf_bdev_channel *ch)
{
	struct unvmf_bdev_io *io, *next;
	uint64_t delay = ch->bdev->inject_delay_us;
	/* One clock read per pass serves the delay and every latency of the pass. */
	uint64_t now = ch->done_head ? unvmf_now_us() : 0;
	int fired = 0;

	io = ch->done_head;
	ch->done_head = NULL;
	ch->done_tail = &ch->done_head;
	for (; io; io = next) {
		next = io->next;
		if (delay && now < io->submit_us + delay) {
			io->next = NULL;
			*ch->done_tail = io;
			ch->done_tail = &io->next;
			continue;
		}
		UNVMF_ASSERT(ch->outstanding > 0);
		ch->outstanding--;
		io->next = NULL;
		fired++;
		channel_count_io(ch, io, now);
		io->cb(io, io->status);
	}
	return fired;
}

static int channel_poll(void *arg)
{
	struct unvmf_bdev_channel *ch = arg;
	struct unvmf_bdev *bdev = ch->bdev;
	int work = 0;

	ch->in_poll = true;
	if (bdev->ops->poll && ch->outstanding > 0) {
		int rc = bdev->ops->poll(bdev, ch->ctx);

		if (rc > 0)
			work += rc;
	}
	if (ch->done_head)
		work += channel_complete(ch);
	ch->in_poll = false;

	if (ch->refs == 0 && ch->outstanding == 0) {
		channel_destroy(ch);
		return 1;
	}
	/*
	 * Outstanding I/O keeps the loop awake: an async backend's completions
	 * and held (delayed) callbacks have no fd to wake a sleeping reactor.
	 */
	return work + (ch->outstanding > 0);
}

/* ---- resize ---- */

static unvmf_bdev_resize_fn g_resize_listener;

void unvmf_bdev_set_resize_listener(unvmf_bdev_resize_fn fn)
{
	g_resize_listener = fn;
}

int unvmf_bdev_resize(struct unvmf_bdev *bdev, uint64_t num_blocks)
{
	uint64_t old = unvmf_bdev_num_blocks(bdev);

	if (num_blocks == 0 || num_blocks > UINT64_MAX / bdev->block_size)
		return -EINVAL;
	/*
	 * Only growing: a namespace that shrank under I/O in flight would turn
	 * accepted commands into out-of-range ones half way (SPDK refuses too).
	 */
	if (num_blocks < old)
		return -EINVAL;
	if (num_blocks == old)
		return 0;
	__atomic_store_n(&bdev->num_blocks, num_blocks, __ATOMIC_RELEASE);
	LOG_NOTICE("bdev %s: resized from %lu to %lu blocks", bdev->name, (unsigned long)old,
	           (unsigned long)num_blocks);
	if (g_resize_listener)
		g_resize_listener(bdev);
	return 0;
}
