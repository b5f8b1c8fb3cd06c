/*
 * Bdev layer and backends: registry, channels, every I/O type with its data
 * checked, range and iov errors, fault hooks, deferred completion, the uring
 * overflow path. I/O runs on reactor 0 (started in the background); the test
 * thread hands work over by message and waits on a semaphore, then asserts
 * (cmocka's asserts must stay on the thread that runs the test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/loop.h>
#include <semaphore.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bdev/bdev.h"
#include "reactor/reactor.h"
#include "util/common.h"

#define WAIT_SECONDS 20

static void sem_wait_or_fail(sem_t *sem)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_SECONDS;
	while ((rc = sem_timedwait(sem, &ts)) < 0 && errno == EINTR)
		;
	assert_int_equal(rc, 0);
}

/* ---- running code on reactor 0 ---- */

struct call {
	void (*fn)(void *arg);
	void *arg;
	sem_t done;
};

static void call_trampoline(void *arg)
{
	struct call *call = arg;

	call->fn(call->arg);
	sem_post(&call->done);
}

static void run_on_reactor(void (*fn)(void *arg), void *arg)
{
	struct call call = {.fn = fn, .arg = arg};

	sem_init(&call.done, 0, 0);
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(0), call_trampoline, &call), 0);
	sem_wait_or_fail(&call.done);
	sem_destroy(&call.done);
}

struct channel_op {
	struct unvmf_bdev *bdev;
	struct unvmf_bdev_channel *ch;
	unsigned outstanding;
};

static void channel_get_msg(void *arg)
{
	struct channel_op *op = arg;

	op->ch = unvmf_bdev_channel_get(op->bdev);
}

static void channel_put_msg(void *arg)
{
	struct channel_op *op = arg;

	op->outstanding = unvmf_bdev_channel_outstanding(op->ch);
	unvmf_bdev_channel_put(op->ch);
}

static struct unvmf_bdev_channel *channel_open(struct unvmf_bdev *bdev)
{
	struct channel_op op = {.bdev = bdev};

	run_on_reactor(channel_get_msg, &op);
	assert_non_null(op.ch);
	return op.ch;
}

static void channel_close(struct unvmf_bdev_channel *ch)
{
	struct channel_op op = {.ch = ch};

	run_on_reactor(channel_put_msg, &op);
	assert_int_equal(op.outstanding, 0);
}

/* ---- batches of I/O ---- */

#define SLOT_IOV_MAX 8

struct io_slot {
	struct unvmf_bdev_io io;
	struct iovec iov[SLOT_IOV_MAX];
	int status;
	bool completed;
};

/* Fields below slots are written on the reactor and read after the semaphore. */
struct io_batch {
	struct unvmf_bdev_channel *ch;
	struct io_slot *slots;
	unsigned n;
	unsigned pending;
	bool in_submit;
	unsigned callbacks_in_submit;
	unsigned outstanding_after_submit;
	uint64_t start_us;
	uint64_t end_us;
	sem_t done;
};

/* The batch being run; reactor 0 only touches it. */
static struct io_batch *g_batch;

static void batch_io_cb(struct unvmf_bdev_io *io, int status)
{
	struct io_slot *slot = (struct io_slot *)((char *)io - offsetof(struct io_slot, io));
	struct io_batch *batch = g_batch;

	if (batch->in_submit)
		batch->callbacks_in_submit++;
	slot->status = status;
	slot->completed = true;
	if (--batch->pending == 0) {
		batch->end_us = unvmf_now_us();
		sem_post(&batch->done);
	}
}

static void batch_submit_msg(void *arg)
{
	struct io_batch *batch = arg;

	g_batch = batch;
	batch->pending = batch->n;
	batch->start_us = unvmf_now_us();
	for (unsigned i = 0; i < batch->n; i++) {
		batch->slots[i].io.cb = batch_io_cb;
		batch->in_submit = true;
		unvmf_bdev_submit(batch->ch, &batch->slots[i].io);
		batch->in_submit = false;
	}
	batch->outstanding_after_submit = unvmf_bdev_channel_outstanding(batch->ch);
}

/* Submits every slot in one reactor turn and waits for all callbacks. */
static void batch_run(struct io_batch *batch)
{
	sem_init(&batch->done, 0, 0);
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(0), batch_submit_msg, batch),
	                 0);
	sem_wait_or_fail(&batch->done);
	sem_destroy(&batch->done);
	assert_int_equal(batch->callbacks_in_submit, 0);
	/* Nothing completes inside submit, so every I/O was still outstanding. */
	assert_int_equal(batch->outstanding_after_submit, batch->n);
	for (unsigned i = 0; i < batch->n; i++)
		assert_true(batch->slots[i].completed);
}

/*
 * Describes one I/O; buf (if any) is cut into niov pieces of whole 512-byte
 * units, the last taking the remainder, so O_DIRECT accepts them.
 */
static void slot_set(struct io_slot *slot, enum unvmf_bdev_io_type type, uint64_t offset,
                     uint64_t num_blocks, void *buf, size_t len, int niov)
{
	memset(slot, 0, sizeof(*slot));
	slot->io.type = type;
	slot->io.offset_blocks = offset;
	slot->io.num_blocks = num_blocks;
	slot->status = 1;
	if (!buf)
		return;
	assert_true(niov >= 1 && niov <= SLOT_IOV_MAX);
	size_t units = len / 512, per = units / (size_t)niov, done = 0;

	assert_true(per >= 1);
	for (int i = 0; i < niov; i++) {
		size_t piece = (i == niov - 1) ? len - done : per * 512;

		slot->iov[i].iov_base = (char *)buf + done;
		slot->iov[i].iov_len = piece;
		done += piece;
	}
	slot->io.iov = slot->iov;
	slot->io.iovcnt = niov;
}

/* Runs one I/O and returns its status. */
static int io_one(struct unvmf_bdev_channel *ch, enum unvmf_bdev_io_type type, uint64_t offset,
                  uint64_t num_blocks, void *buf, size_t len, int niov)
{
	struct io_slot slot;
	struct io_batch batch = {.ch = ch, .slots = &slot, .n = 1};

	slot_set(&slot, type, offset, num_blocks, buf, len, niov);
	batch_run(&batch);
	return slot.status;
}

static void *buf_alloc(size_t len)
{
	void *p = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);

	assert_non_null(p);
	return p;
}

/* Byte i of block lba under pattern seed. */
static uint8_t pattern_byte(uint64_t lba, size_t i, uint8_t seed)
{
	return (uint8_t)(lba * 131u + i * 7u + seed);
}

static void pattern_fill(uint8_t *buf, uint64_t lba, uint64_t nblocks, uint32_t bs, uint8_t seed)
{
	for (uint64_t b = 0; b < nblocks; b++)
		for (size_t i = 0; i < bs; i++)
			buf[b * bs + i] = pattern_byte(lba + b, i, seed);
}

static bool pattern_check(const uint8_t *buf, uint64_t lba, uint64_t nblocks, uint32_t bs,
                          uint8_t seed)
{
	for (uint64_t b = 0; b < nblocks; b++)
		for (size_t i = 0; i < bs; i++)
			if (buf[b * bs + i] != pattern_byte(lba + b, i, seed))
				return false;
	return true;
}

static bool is_zero(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return false;
	return true;
}

/* Creates a sparse file of size bytes under dir; returns its fd (path in path). */
static int temp_file(const char *dir, size_t size, char *path, size_t path_len)
{
	int fd;

	snprintf(path, path_len, "%s/unvmf_bdev_test_XXXXXX", dir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* ---- uuid ---- */

static void test_uuid(void **state)
{
	uint8_t a[16], b[16], parsed[16];
	char text[37];

	unvmf_uuid_generate(a);
	unvmf_uuid_generate(b);
	assert_memory_not_equal(a, b, 16);
	assert_int_equal(a[6] >> 4, 4);
	assert_int_equal(a[8] & 0xc0, 0x80);

	unvmf_uuid_format(a, text);
	assert_int_equal(strlen(text), 36);
	assert_int_equal(text[8], '-');
	assert_int_equal(text[23], '-');
	assert_int_equal(unvmf_uuid_parse(text, parsed), 0);
	assert_memory_equal(a, parsed, 16);

	assert_int_equal(unvmf_uuid_parse("0123ABCD-4567-89ab-CDEF-0123456789ab", parsed), 0);
	unvmf_uuid_format(parsed, text);
	assert_string_equal(text, "0123abcd-4567-89ab-cdef-0123456789ab");

	memset(parsed, 0x77, 16);
	assert_int_equal(unvmf_uuid_parse("0123abcd-4567-89ab-cdef-0123456789a", parsed), -EINVAL);
	assert_int_equal(unvmf_uuid_parse("0123abcd-4567-89ab-cdef-0123456789abc", parsed),
	                 -EINVAL);
	assert_int_equal(unvmf_uuid_parse("0123abcd+4567-89ab-cdef-0123456789ab", parsed), -EINVAL);
	assert_int_equal(unvmf_uuid_parse("0123abcd-4567-89ab-cdef-0123456789ag", parsed), -EINVAL);
	assert_int_equal(unvmf_uuid_parse("", parsed), -EINVAL);
	assert_int_equal(unvmf_uuid_parse(NULL, parsed), -EINVAL);
	/* A failed parse leaves the output alone. */
	assert_int_equal(parsed[15], 0x77);
}

/* ---- registry ---- */

static void test_registry(void **state)
{
	static const uint8_t uuid[16] = {1,    2,  3,  4,  5,  6,  0x47, 8,
	                                 0x89, 10, 11, 12, 13, 14, 15,   16};
	char long_name[UNVMF_BDEV_NAME_MAX + 1];
	struct unvmf_bdev *r0, *r1, *dup = NULL, *b;
	bool seen0 = false, seen1 = false;

	assert_int_equal(unvmf_bdev_null_create("r0", 100, 512, uuid, &r0), 0);
	assert_memory_equal(r0->uuid, uuid, 16);
	assert_int_equal(r0->num_blocks, 100);
	assert_int_equal(r0->block_size, 512);
	assert_false(r0->volatile_cache);
	assert_int_equal(unvmf_bdev_malloc_create("r1", 8, 4096, NULL, &r1), 0);

	assert_int_equal(unvmf_bdev_null_create("r0", 100, 512, NULL, &dup), -EEXIST);
	assert_int_equal(unvmf_bdev_malloc_create("r0", 100, 512, NULL, &dup), -EEXIST);
	assert_null(dup);

	assert_int_equal(unvmf_bdev_null_create("bad", 100, 1024, NULL, &dup), -EINVAL);
	assert_int_equal(unvmf_bdev_null_create("bad", 100, 0, NULL, &dup), -EINVAL);
	assert_int_equal(unvmf_bdev_malloc_create("bad", 100, 520, NULL, &dup), -EINVAL);
	assert_int_equal(unvmf_bdev_null_create("bad", 0, 512, NULL, &dup), -EINVAL);
	assert_int_equal(unvmf_bdev_malloc_create("bad", 0, 4096, NULL, &dup), -EINVAL);
	assert_int_equal(unvmf_bdev_null_create("bad", UINT64_MAX, 512, NULL, &dup), -EINVAL);
	assert_int_equal(unvmf_bdev_null_create("", 100, 512, NULL, &dup), -EINVAL);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(unvmf_bdev_null_create(long_name, 100, 512, NULL, &dup), -EINVAL);
	assert_null(unvmf_bdev_find("bad"));

	assert_ptr_equal(unvmf_bdev_find("r0"), r0);
	assert_ptr_equal(unvmf_bdev_find("r1"), r1);
	assert_null(unvmf_bdev_find("r2"));
	for (b = unvmf_bdev_first(); b; b = unvmf_bdev_next(b)) {
		seen0 |= b == r0;
		seen1 |= b == r1;
	}
	assert_true(seen0 && seen1);

	/* Two claims (two namespaces): deletion waits for both releases. */
	assert_int_equal(unvmf_bdev_claim(r0), 0);
	assert_int_equal(unvmf_bdev_claim(r0), 0);
	assert_int_equal(unvmf_bdev_delete("r0"), -EBUSY);
	unvmf_bdev_release(r0);
	assert_int_equal(unvmf_bdev_delete("r0"), -EBUSY);
	unvmf_bdev_release(r0);
	assert_int_equal(unvmf_bdev_delete("r0"), 0);
	assert_null(unvmf_bdev_find("r0"));
	assert_int_equal(unvmf_bdev_delete("r0"), -ENOENT);
	assert_int_equal(unvmf_bdev_delete("never-created"), -ENOENT);
	assert_int_equal(unvmf_bdev_delete(NULL), -ENOENT);

	/* The name is free again. */
	assert_int_equal(unvmf_bdev_null_create("r0", 10, 4096, NULL, &r0), 0);
	assert_int_equal(unvmf_bdev_delete("r0"), 0);
	assert_int_equal(unvmf_bdev_delete("r1"), 0);
	assert_null(unvmf_bdev_first());
}

/* delete_all takes claimed bdevs too. */
static void test_delete_all(void **state)
{
	struct unvmf_bdev *a, *b;

	assert_int_equal(unvmf_bdev_null_create("all0", 10, 512, NULL, &a), 0);
	assert_int_equal(unvmf_bdev_malloc_create("all1", 10, 512, NULL, &b), 0);
	assert_int_equal(unvmf_bdev_claim(b), 0);
	unvmf_bdev_delete_all();
	assert_null(unvmf_bdev_first());
	assert_null(unvmf_bdev_find("all1"));
}

/* ---- data round trips ---- */

#define RT_LBA 4
#define RT_BLOCKS 16

/* After the round trip's writes: zeroes at blocks 2-4 and 9-12 of the range, pattern elsewhere. */
static bool rt_layout_ok(const uint8_t *buf, uint32_t bs)
{
	for (unsigned b = 0; b < RT_BLOCKS; b++) {
		const uint8_t *blk = buf + (size_t)b * bs;
		bool zero = (b >= 2 && b <= 4) || (b >= 9 && b <= 12);

		if (zero ? !is_zero(blk, bs) : !pattern_check(blk, RT_LBA + b, 1, bs, 0x5a))
			return false;
	}
	return true;
}

/* Every I/O type on bdev, data checked; file_fd (or -1) is the backing file, read directly. */
static void round_trip(struct unvmf_bdev *bdev, int file_fd)
{
	uint32_t bs = bdev->block_size;
	size_t len = (size_t)RT_BLOCKS * bs;
	uint8_t *wbuf = buf_alloc(len), *rbuf = buf_alloc(len);
	uint64_t last = bdev->num_blocks - 1;
	struct unvmf_bdev_channel *ch = channel_open(bdev);

	pattern_fill(wbuf, RT_LBA, RT_BLOCKS, bs, 0x5a);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE, RT_LBA, RT_BLOCKS, wbuf, len, 3), 0);
	memset(rbuf, 0xee, len);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, RT_LBA, RT_BLOCKS, rbuf, len, 5), 0);
	assert_true(pattern_check(rbuf, RT_LBA, RT_BLOCKS, bs, 0x5a));

	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE_ZEROES, RT_LBA + 2, 3, NULL, 0, 0), 0);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_UNMAP, RT_LBA + 9, 4, NULL, 0, 0), 0);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_FLUSH, 0, 0, NULL, 0, 0), 0);
	memset(rbuf, 0xee, len);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, RT_LBA, RT_BLOCKS, rbuf, len, 1), 0);
	assert_true(rt_layout_ok(rbuf, bs));
	if (file_fd >= 0) {
		memset(rbuf, 0xee, len);
		assert_int_equal(pread(file_fd, rbuf, len, (off_t)RT_LBA * bs), (ssize_t)len);
		assert_true(rt_layout_ok(rbuf, bs));
	}

	/* The last block is in range; one iovec per 512 bytes. */
	pattern_fill(wbuf, last, 1, bs, 0x33);
	assert_int_equal(
	    io_one(ch, UNVMF_BDEV_IO_WRITE, last, 1, wbuf, bs, bs / 512 > 8 ? 8 : (int)(bs / 512)),
	    0);
	memset(rbuf, 0, bs);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, last, 1, rbuf, bs, 1), 0);
	assert_true(pattern_check(rbuf, last, 1, bs, 0x33));
	/* Zeroes and unmap of zero blocks are no-ops that succeed. */
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE_ZEROES, last, 0, NULL, 0, 0), 0);

	channel_close(ch);
	free(wbuf);
	free(rbuf);
}

static void test_null_bdev(void **state)
{
	struct unvmf_bdev *bdev;
	struct unvmf_bdev_channel *ch;
	uint8_t *buf = buf_alloc(8 * 512);

	assert_int_equal(unvmf_bdev_null_create("null0", 1000, 512, NULL, &bdev), 0);
	ch = channel_open(bdev);
	memset(buf, 0xab, 8 * 512);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, 0, 8, buf, 8 * 512, 2), 0);
	for (size_t i = 0; i < 8 * 512; i++)
		assert_int_equal(buf[i], 0xab);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE, 992, 8, buf, 8 * 512, 4), 0);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE_ZEROES, 0, 1000, NULL, 0, 0), 0);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_UNMAP, 10, 20, NULL, 0, 0), 0);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_FLUSH, 0, 0, NULL, 0, 0), 0);
	channel_close(ch);
	assert_int_equal(unvmf_bdev_delete("null0"), 0);
	free(buf);
}

static struct unvmf_bdev *g_resized;
static unsigned g_resize_calls;

static void on_resize(struct unvmf_bdev *bdev)
{
	g_resized = bdev;
	g_resize_calls++;
}

static void test_null_resize(void **state)
{
	struct unvmf_bdev *bdev, *ram;
	struct unvmf_bdev_channel *ch;
	uint8_t *buf = buf_alloc(8 * 512);

	g_resize_calls = 0;
	unvmf_bdev_set_resize_listener(on_resize);
	assert_int_equal(unvmf_bdev_null_create("null_rs", 2048, 512, NULL, &bdev), 0);
	ch = channel_open(bdev);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE, 2048, 8, buf, 8 * 512, 1), -ERANGE);
	/* SPDK's unit: MiB. */
	assert_int_equal(unvmf_bdev_null_resize("null_rs", 2), 0);
	assert_int_equal(unvmf_bdev_num_blocks(bdev), 4096);
	assert_int_equal(g_resize_calls, 1);
	assert_ptr_equal(g_resized, bdev);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE, 2048, 8, buf, 8 * 512, 1), 0);
	/* The same size: nothing changes, nobody is told. */
	assert_int_equal(unvmf_bdev_null_resize("null_rs", 2), 0);
	assert_int_equal(g_resize_calls, 1);
	/* Shrinking, zero, unknown names and other backends are refused. */
	assert_int_equal(unvmf_bdev_null_resize("null_rs", 1), -EINVAL);
	assert_int_equal(unvmf_bdev_null_resize("null_rs", 0), -EINVAL);
	assert_int_equal(unvmf_bdev_null_resize("nope", 4), -ENOENT);
	assert_int_equal(unvmf_bdev_malloc_create("ram_rs", 64, 512, NULL, &ram), 0);
	assert_int_equal(unvmf_bdev_null_resize("ram_rs", 4), -ENODEV);
	assert_int_equal(unvmf_bdev_num_blocks(bdev), 4096);
	assert_int_equal(g_resize_calls, 1);
	channel_close(ch);
	unvmf_bdev_set_resize_listener(NULL);
	assert_int_equal(unvmf_bdev_delete("ram_rs"), 0);
	assert_int_equal(unvmf_bdev_delete("null_rs"), 0);
	free(buf);
}

static void malloc_round_trip(uint32_t bs)
{
	struct unvmf_bdev *bdev;

	assert_int_equal(unvmf_bdev_malloc_create("malloc_rt", 64, bs, NULL, &bdev), 0);
	assert_int_equal(bdev->block_size, bs);
	round_trip(bdev, -1);
	assert_int_equal(unvmf_bdev_delete("malloc_rt"), 0);
}

static void test_malloc_round_trip_512(void **state)
{
	malloc_round_trip(512);
}

static void test_malloc_round_trip_4096(void **state)
{
	malloc_round_trip(4096);
}

/* 1 GiB must map without reserving it; large unmaps drop whole pages. */
static void test_malloc_1gib(void **state)
{
	const uint64_t blocks = (1ull << 30) / 4096;
	struct unvmf_bdev *bdev;
	struct unvmf_bdev_channel *ch;
	uint8_t *buf = buf_alloc(4096);

	assert_int_equal(unvmf_bdev_malloc_create("malloc_big", blocks, 4096, NULL, &bdev), 0);
	ch = channel_open(bdev);
	for (uint64_t lba = 0; lba < blocks; lba += blocks / 4 - 1) {
		pattern_fill(buf, lba, 1, 4096, 7);
		assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE, lba, 1, buf, 4096, 1), 0);
	}
	memset(buf, 0, 4096);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, blocks / 4 - 1, 1, buf, 4096, 1), 0);
	assert_true(pattern_check(buf, blocks / 4 - 1, 1, 4096, 7));
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_UNMAP, 1, blocks - 2, NULL, 0, 0), 0);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, blocks / 4 - 1, 1, buf, 4096, 1), 0);
	assert_true(is_zero(buf, 4096));
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, 0, 1, buf, 4096, 1), 0);
	assert_true(pattern_check(buf, 0, 1, 4096, 7));
	channel_close(ch);
	assert_int_equal(unvmf_bdev_delete("malloc_big"), 0);
	free(buf);
}

static void uring_round_trip(const char *dir, uint32_t bs)
{
	char path[256];
	int fd = temp_file(dir, 256 * 1024 + 100, path, sizeof(path));
	struct unvmf_bdev *bdev;

	assert_int_equal(unvmf_bdev_uring_create("uring_rt", path, bs, NULL, &bdev), 0);
	assert_true(bdev->volatile_cache);
	/* The partial tail is not exposed. */
	assert_int_equal(bdev->num_blocks, (256 * 1024) / bs);
	round_trip(bdev, fd);
	assert_int_equal(unvmf_bdev_delete("uring_rt"), 0);
	close(fd);
	unlink(path);
}

static void test_uring_round_trip_512(void **state)
{
	uring_round_trip("/tmp", 512);
}

static void test_uring_round_trip_4096(void **state)
{
	uring_round_trip("/tmp", 4096);
}

/* tmpfs refuses FALLOC_FL_ZERO_RANGE: WRITE_ZEROES falls back to punching a hole. */
static void test_uring_tmpfs(void **state)
{
	struct stat st;

	if (stat("/dev/shm", &st) || !S_ISDIR(st.st_mode))
		skip();
	uring_round_trip("/dev/shm", 512);
	uring_round_trip("/dev/shm", 4096);
}

/* A buffer O_DIRECT refuses (misaligned) is retried buffered and still lands. */
static void test_uring_misaligned_buffer(void **state)
{
	char path[256];
	int fd = temp_file("/tmp", 64 * 4096, path, sizeof(path));
	struct unvmf_bdev *bdev;
	struct unvmf_bdev_channel *ch;
	uint8_t *raw = buf_alloc(3 * 4096), *buf = raw + 3;

	assert_int_equal(unvmf_bdev_uring_create("uring_mis", path, 4096, NULL, &bdev), 0);
	ch = channel_open(bdev);
	pattern_fill(buf, 5, 2, 4096, 9);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE, 5, 2, buf, 2 * 4096, 1), 0);
	memset(buf, 0, 2 * 4096);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, 5, 2, buf, 2 * 4096, 1), 0);
	assert_true(pattern_check(buf, 5, 2, 4096, 9));
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_FLUSH, 0, 0, NULL, 0, 0), 0);
	assert_int_equal(pread(fd, raw, 2 * 4096, 5 * 4096), 2 * 4096);
	assert_true(pattern_check(raw, 5, 2, 4096, 9));
	channel_close(ch);
	assert_int_equal(unvmf_bdev_delete("uring_mis"), 0);
	free(raw);
	close(fd);
	unlink(path);
}

#define MANY_IOS 1000

/* Four times the ring depth at once: most I/Os wait on the overflow list. */
static void test_uring_many_concurrent(void **state)
{
	char path[256];
	int fd = temp_file("/tmp", (size_t)2 * MANY_IOS * 4096, path, sizeof(path));
	struct unvmf_bdev *bdev;
	struct unvmf_bdev_channel *ch;
	struct io_slot *slots = calloc(MANY_IOS, sizeof(*slots));
	uint8_t *wbuf = buf_alloc((size_t)MANY_IOS * 4096),
	        *rbuf = buf_alloc((size_t)MANY_IOS * 4096);
	struct io_batch batch = {.slots = slots, .n = MANY_IOS};

	assert_non_null(slots);
	assert_int_equal(unvmf_bdev_uring_create("uring_many", path, 4096, NULL, &bdev), 0);
	ch = channel_open(bdev);
	batch.ch = ch;
	/* Every other block, so neighbours never share a request. */
	for (unsigned i = 0; i < MANY_IOS; i++) {
		pattern_fill(wbuf + (size_t)i * 4096, 2 * i, 1, 4096, 0x11);
		slot_set(&slots[i], UNVMF_BDEV_IO_WRITE, 2 * i, 1, wbuf + (size_t)i * 4096, 4096,
		         1 + i % 4);
	}
	batch_run(&batch);
	for (unsigned i = 0; i < MANY_IOS; i++)
		assert_int_equal(slots[i].status, 0);

	memset(rbuf, 0, (size_t)MANY_IOS * 4096);
	memset(&batch, 0, sizeof(batch));
	batch.ch = ch;
	batch.slots = slots;
	batch.n = MANY_IOS;
	for (unsigned i = 0; i < MANY_IOS; i++)
		slot_set(&slots[i], UNVMF_BDEV_IO_READ, 2 * i, 1, rbuf + (size_t)i * 4096, 4096, 1);
	batch_run(&batch);
	for (unsigned i = 0; i < MANY_IOS; i++) {
		assert_int_equal(slots[i].status, 0);
		assert_true(pattern_check(rbuf + (size_t)i * 4096, 2 * i, 1, 4096, 0x11));
	}
	assert_int_equal(unvmf_bdev_channel_outstanding(ch), 0);
	channel_close(ch);
	assert_int_equal(unvmf_bdev_delete("uring_many"), 0);
	free(slots);
	free(wbuf);
	free(rbuf);
	close(fd);
	unlink(path);
}

/*
 * Attaches a loop device (4096-byte logical blocks, autoclear) over backing_fd;
 * returns its open fd or -1 when loop devices are unavailable (not root, container).
 */
static int loop_attach(int backing_fd, char *dev, size_t dev_len)
{
	struct loop_config cfg = {.fd = (uint32_t)backing_fd, .block_size = 4096};
	int ctl, num, fd;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -1;
	num = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (num < 0)
		return -1;
	snprintf(dev, dev_len, "/dev/loop%d", num);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(fd, LOOP_CONFIGURE, &cfg) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A block device: size from BLKGETSIZE64, block size not below its logical one. */
static void test_uring_block_device(void **state)
{
	char path[256], dev[64];
	int fd = temp_file("/tmp", 1 << 20, path, sizeof(path));
	int loop_fd = loop_attach(fd, dev, sizeof(dev));
	struct unvmf_bdev *bdev = NULL;

	if (loop_fd < 0) {
		close(fd);
		unlink(path);
		skip();
	}
	assert_int_equal(unvmf_bdev_uring_create("uring_blk", dev, 512, NULL, &bdev), -EINVAL);
	assert_null(bdev);
	assert_int_equal(unvmf_bdev_uring_create("uring_blk", dev, 4096, NULL, &bdev), 0);
	assert_int_equal(bdev->num_blocks, 256);
	round_trip(bdev, loop_fd);
	assert_int_equal(unvmf_bdev_delete("uring_blk"), 0);
	close(loop_fd); /* the last closer: autoclear detaches it */
	close(fd);
	unlink(path);
}

static void test_uring_rescan(void **state)
{
	char path[256];
	int fd = temp_file("/tmp", 8192, path, sizeof(path));
	struct unvmf_bdev *bdev = NULL;

	g_resize_calls = 0;
	unvmf_bdev_set_resize_listener(on_resize);
	assert_int_equal(unvmf_bdev_uring_create("uring_rs", path, 512, NULL, &bdev), 0);
	assert_int_equal(unvmf_bdev_num_blocks(bdev), 16);
	/* The file grew (a partial block does not count). */
	assert_int_equal(ftruncate(fd, 65536 + 100), 0);
	assert_int_equal(unvmf_bdev_uring_rescan("uring_rs"), 0);
	assert_int_equal(unvmf_bdev_num_blocks(bdev), 128);
	assert_int_equal(g_resize_calls, 1);
	assert_ptr_equal(g_resized, bdev);
	/* A file that shrank is refused, the size stays. */
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(unvmf_bdev_uring_rescan("uring_rs"), -EINVAL);
	assert_int_equal(unvmf_bdev_num_blocks(bdev), 128);
	assert_int_equal(unvmf_bdev_uring_rescan("nope"), -ENOENT);
	unvmf_bdev_set_resize_listener(NULL);
	assert_int_equal(unvmf_bdev_delete("uring_rs"), 0);
	close(fd);
	unlink(path);
}

static void test_uring_create_errors(void **state)
{
	char path[256];
	int fd = temp_file("/tmp", 100, path, sizeof(path));
	struct unvmf_bdev *bdev = NULL;

	/* Smaller than one block. */
	assert_int_equal(unvmf_bdev_uring_create("uring_err", path, 512, NULL, &bdev), -EINVAL);
	assert_int_equal(ftruncate(fd, 8192), 0);
	assert_int_equal(unvmf_bdev_uring_create("uring_err", path, 1024, NULL, &bdev), -EINVAL);
	assert_int_equal(
	    unvmf_bdev_uring_create("uring_err", "/nonexistent/file", 512, NULL, &bdev), -ENOENT);
	assert_true(unvmf_bdev_uring_create("uring_err", "/tmp", 512, NULL, &bdev) < 0);
	assert_int_equal(unvmf_bdev_uring_create("uring_err", "/dev/null", 512, NULL, &bdev),
	                 -EINVAL);
	assert_null(bdev);
	assert_null(unvmf_bdev_find("uring_err"));

	/* Duplicate name: the second open file is closed again (ASan/fd-wise clean). */
	assert_int_equal(unvmf_bdev_uring_create("uring_err", path, 4096, NULL, &bdev), 0);
	assert_int_equal(bdev->num_blocks, 2);
	assert_int_equal(unvmf_bdev_uring_create("uring_err", path, 512, NULL, &bdev), -EEXIST);
	assert_int_equal(unvmf_bdev_delete("uring_err"), 0);
	close(fd);
	unlink(path);
}

/* ---- errors ---- */

static void range_and_iov_errors(struct unvmf_bdev *bdev)
{
	uint32_t bs = bdev->block_size;
	uint64_t nb = bdev->num_blocks;
	uint8_t *buf = buf_alloc(4 * (size_t)bs);
	struct unvmf_bdev_channel *ch = channel_open(bdev);
	struct io_slot slots[12];
	struct io_batch batch = {.ch = ch, .slots = slots, .n = UNVMF_ARRAY_SIZE(slots)};

	memset(buf, 0x42, 4 * (size_t)bs);
	slot_set(&slots[0], UNVMF_BDEV_IO_READ, nb, 1, buf, bs, 1);
	slot_set(&slots[1], UNVMF_BDEV_IO_WRITE, nb - 1, 2, buf, 2 * (size_t)bs, 1);
	/* offset + num_blocks wraps around. */
	slot_set(&slots[2], UNVMF_BDEV_IO_READ, UINT64_MAX, 2, buf, 2 * (size_t)bs, 1);
	slot_set(&slots[3], UNVMF_BDEV_IO_WRITE_ZEROES, 1, UINT64_MAX, NULL, 0, 0);
	slot_set(&slots[4], UNVMF_BDEV_IO_UNMAP, nb + 1, 0, NULL, 0, 0);
	/* iov totals that do not match num_blocks. */
	slot_set(&slots[5], UNVMF_BDEV_IO_READ, 0, 2, buf, bs, 1);
	slot_set(&slots[6], UNVMF_BDEV_IO_WRITE, 0, 1, buf, 2 * (size_t)bs, 2);
	slot_set(&slots[7], UNVMF_BDEV_IO_READ, 0, 1, NULL, 0, 0);
	slot_set(&slots[8], UNVMF_BDEV_IO_WRITE, 0, 1, buf, bs, 1);
	slots[8].io.iovcnt = -1;
	slot_set(&slots[9], UNVMF_BDEV_IO_WRITE, 0, 1, buf, bs, 1);
	slots[9].io.iov = NULL;
	/* Good ones mixed in, right at the edges. */
	slot_set(&slots[10], UNVMF_BDEV_IO_READ, nb - 4, 4, buf, 4 * (size_t)bs, 4);
	slot_set(&slots[11], UNVMF_BDEV_IO_UNMAP, nb, 0, NULL, 0, 0);
	batch_run(&batch);

	for (unsigned i = 0; i <= 4; i++)
		assert_int_equal(slots[i].status, -ERANGE);
	for (unsigned i = 5; i <= 9; i++)
		assert_int_equal(slots[i].status, -EINVAL);
	assert_int_equal(slots[10].status, 0);
	assert_int_equal(slots[11].status, 0);
	channel_close(ch);
	free(buf);
}

static void test_range_and_iov_errors(void **state)
{
	struct unvmf_bdev *bdev;
	char path[256];
	int fd;

	assert_int_equal(unvmf_bdev_null_create("err_null", 100, 512, NULL, &bdev), 0);
	range_and_iov_errors(bdev);
	assert_int_equal(unvmf_bdev_delete("err_null"), 0);

	assert_int_equal(unvmf_bdev_malloc_create("err_malloc", 100, 4096, NULL, &bdev), 0);
	range_and_iov_errors(bdev);
	assert_int_equal(unvmf_bdev_delete("err_malloc"), 0);

	fd = temp_file("/tmp", 100 * 512, path, sizeof(path));
	assert_int_equal(unvmf_bdev_uring_create("err_uring", path, 512, NULL, &bdev), 0);
	range_and_iov_errors(bdev);
	assert_int_equal(unvmf_bdev_delete("err_uring"), 0);
	close(fd);
	unlink(path);
}

/* ---- fault hooks ---- */

static void fault_fail(struct unvmf_bdev *bdev)
{
	uint32_t bs = bdev->block_size;
	uint8_t *buf = buf_alloc(3 * (size_t)bs);
	struct unvmf_bdev_channel *ch = channel_open(bdev);
	struct io_slot slots[3];
	struct io_batch batch = {.ch = ch, .slots = slots, .n = 3};

	pattern_fill(buf, 0, 3, bs, 0x77);
	for (unsigned i = 0; i < 3; i++)
		slot_set(&slots[i], UNVMF_BDEV_IO_WRITE, i, 1, buf + (size_t)i * bs, bs, 1);
	/* Set before the message that submits, which orders it for the reactor. */
	bdev->inject_fail_count = 2;
	bdev->inject_fail_status = -EIO;
	batch_run(&batch);
	assert_int_equal(slots[0].status, -EIO);
	assert_int_equal(slots[1].status, -EIO);
	assert_int_equal(slots[2].status, 0);
	assert_int_equal(bdev->inject_fail_count, 0);

	/* The failed writes never reached the backend. */
	memset(buf, 0xee, 3 * (size_t)bs);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, 0, 3, buf, 3 * (size_t)bs, 1), 0);
	assert_true(is_zero(buf, 2 * (size_t)bs));
	assert_true(pattern_check(buf + 2 * (size_t)bs, 2, 1, bs, 0x77));

	/* Any status and type; range errors win and do not consume an injected failure. */
	bdev->inject_fail_count = 1;
	bdev->inject_fail_status = -ENOSPC;
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, bdev->num_blocks, 1, buf, bs, 1), -ERANGE);
	assert_int_equal(bdev->inject_fail_count, 1);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_FLUSH, 0, 0, NULL, 0, 0), -ENOSPC);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_FLUSH, 0, 0, NULL, 0, 0), 0);
	channel_close(ch);
	free(buf);
}

static void test_fault_fail(void **state)
{
	struct unvmf_bdev *bdev;
	char path[256];
	int fd;

	assert_int_equal(unvmf_bdev_malloc_create("fault_malloc", 16, 512, NULL, &bdev), 0);
	fault_fail(bdev);
	assert_int_equal(unvmf_bdev_delete("fault_malloc"), 0);

	fd = temp_file("/tmp", 16 * 4096, path, sizeof(path));
	assert_int_equal(unvmf_bdev_uring_create("fault_uring", path, 4096, NULL, &bdev), 0);
	fault_fail(bdev);
	assert_int_equal(unvmf_bdev_delete("fault_uring"), 0);
	close(fd);
	unlink(path);
}

static void outstanding_probe(void *arg)
{
	struct channel_op *op = arg;

	op->outstanding = unvmf_bdev_channel_outstanding(op->ch);
}

static void test_fault_delay(void **state)
{
	const uint64_t delay_us = 100 * 1000;
	struct unvmf_bdev *bdev;
	struct io_slot slots[4];
	struct io_batch batch = {.slots = slots, .n = 4};
	struct channel_op probe;
	uint8_t *buf = buf_alloc(4096);

	assert_int_equal(unvmf_bdev_null_create("delay_null", 16, 4096, NULL, &bdev), 0);
	batch.ch = channel_open(bdev);
	for (unsigned i = 0; i < 4; i++)
		slot_set(&slots[i], UNVMF_BDEV_IO_READ, i, 1, buf, 4096, 1);
	bdev->inject_delay_us = delay_us;
	batch_run(&batch);
	assert_true(batch.end_us - batch.start_us >= delay_us);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(slots[i].status, 0);

	/* Held completions count as outstanding; the probe message runs while they wait. */
	bdev->inject_delay_us = 300 * 1000;
	memset(&batch, 0, sizeof(batch));
	batch.ch = channel_open(bdev);
	batch.slots = slots;
	batch.n = 1;
	slot_set(&slots[0], UNVMF_BDEV_IO_FLUSH, 0, 0, NULL, 0, 0);
	sem_init(&batch.done, 0, 0);
	assert_int_equal(unvmf_thread_send_msg(unvmf_reactor_thread(0), batch_submit_msg, &batch),
	                 0);
	probe = (struct channel_op){.ch = batch.ch};
	run_on_reactor(outstanding_probe, &probe);
	assert_int_equal(probe.outstanding, 1);
	assert_false(slots[0].completed);
	sem_wait_or_fail(&batch.done);
	sem_destroy(&batch.done);
	assert_true(batch.end_us - batch.start_us >= 300 * 1000);
	bdev->inject_delay_us = 0;
	channel_close(batch.ch); /* the second get */
	channel_close(batch.ch);
	assert_int_equal(unvmf_bdev_delete("delay_null"), 0);
	free(buf);
}

/* ---- channels ---- */

struct lifetime_ctx {
	struct unvmf_bdev *bdev;
	struct unvmf_bdev_channel *ch;
	struct unvmf_bdev_io io;
	bool same_channel;
	unsigned outstanding_after_put;
	int status;
	sem_t done;
};

static void refcount_msg(void *arg)
{
	struct lifetime_ctx *ctx = arg;
	struct unvmf_bdev_channel *a = unvmf_bdev_channel_get(ctx->bdev);
	struct unvmf_bdev_channel *b = unvmf_bdev_channel_get(ctx->bdev);

	ctx->same_channel = a && a == b;
	unvmf_bdev_channel_put(b);
	unvmf_bdev_channel_put(a);
}

static void put_in_cb(struct unvmf_bdev_io *io, int status)
{
	struct lifetime_ctx *ctx =
	    (struct lifetime_ctx *)((char *)io - offsetof(struct lifetime_ctx, io));

	ctx->status = status;
	/* The last reference, from inside the channel's own poller. */
	unvmf_bdev_channel_put(ctx->ch);
	sem_post(&ctx->done);
}

static void put_in_cb_msg(void *arg)
{
	struct lifetime_ctx *ctx = arg;

	ctx->ch = unvmf_bdev_channel_get(ctx->bdev);
	ctx->io = (struct unvmf_bdev_io){.type = UNVMF_BDEV_IO_FLUSH, .cb = put_in_cb};
	unvmf_bdev_submit(ctx->ch, &ctx->io);
}

static void status_cb(struct unvmf_bdev_io *io, int status)
{
	struct lifetime_ctx *ctx =
	    (struct lifetime_ctx *)((char *)io - offsetof(struct lifetime_ctx, io));

	ctx->status = status;
	sem_post(&ctx->done);
}

/* A put with I/O in flight (a caller bug) keeps the channel until the callback. */
static void put_early_msg(void *arg)
{
	struct lifetime_ctx *ctx = arg;

	ctx->ch = unvmf_bdev_channel_get(ctx->bdev);
	ctx->io = (struct unvmf_bdev_io){.type = UNVMF_BDEV_IO_FLUSH, .cb = status_cb};
	unvmf_bdev_submit(ctx->ch, &ctx->io);
	ctx->outstanding_after_put = unvmf_bdev_channel_outstanding(ctx->ch);
	unvmf_bdev_channel_put(ctx->ch);
}

static void nothing(void *arg)
{
}

static void lifetime_run(void (*fn)(void *arg), struct lifetime_ctx *ctx)
{
	ctx->status = 1;
	sem_init(&ctx->done, 0, 0);
	run_on_reactor(fn, ctx);
	sem_wait_or_fail(&ctx->done);
	/* Lets the poller finish its pass (and free the channel) before we go on. */
	run_on_reactor(nothing, NULL);
	sem_destroy(&ctx->done);
}

static void test_channel_lifetimes(void **state)
{
	struct lifetime_ctx ctx = {0};
	char path[256];
	int fd = temp_file("/tmp", 16 * 4096, path, sizeof(path));

	assert_int_equal(unvmf_bdev_uring_create("life", path, 4096, NULL, &ctx.bdev), 0);
	run_on_reactor(refcount_msg, &ctx);
	assert_true(ctx.same_channel);

	lifetime_run(put_in_cb_msg, &ctx);
	assert_int_equal(ctx.status, 0);

	lifetime_run(put_early_msg, &ctx);
	assert_int_equal(ctx.status, 0);
	assert_int_equal(ctx.outstanding_after_put, 1);

	/* Not from a reactor thread. */
	assert_null(unvmf_bdev_channel_get(ctx.bdev));
	assert_int_equal(unvmf_bdev_delete("life"), 0);
	close(fd);
	unlink(path);
}

/* A bdev deleted with a channel open leaves the registry now and is freed at the last put. */
static void test_delete_with_open_channel(void **state)
{
	struct unvmf_bdev *bdev, *again;
	struct unvmf_bdev_channel *ch;
	uint8_t *buf = buf_alloc(512);

	assert_int_equal(unvmf_bdev_malloc_create("open_del", 8, 512, NULL, &bdev), 0);
	ch = channel_open(bdev);
	assert_int_equal(unvmf_bdev_delete("open_del"), 0);
	assert_null(unvmf_bdev_find("open_del"));
	assert_int_equal(unvmf_bdev_malloc_create("open_del", 8, 512, NULL, &again), 0);
	/* The old one still serves its channel. */
	pattern_fill(buf, 3, 1, 512, 1);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_WRITE, 3, 1, buf, 512, 1), 0);
	memset(buf, 0, 512);
	assert_int_equal(io_one(ch, UNVMF_BDEV_IO_READ, 3, 1, buf, 512, 1), 0);
	assert_true(pattern_check(buf, 3, 1, 512, 1));
	channel_close(ch); /* frees the old bdev (ASan reports a leak otherwise) */
	assert_int_equal(unvmf_bdev_delete("open_del"), 0);
	free(buf);
}

/* ---- save_config ---- */

static void check_config(struct unvmf_bdev *bdev, const char *filename)
{
	json_t *params = json_object();
	char uuid[37];

	assert_non_null(params);
	bdev->ops->write_config(bdev, params);
	unvmf_uuid_format(bdev->uuid, uuid);
	assert_string_equal(json_string_value(json_object_get(params, "name")), bdev->name);
	assert_string_equal(json_string_value(json_object_get(params, "uuid")), uuid);
	assert_int_equal(json_integer_value(json_object_get(params, "block_size")),
	                 bdev->block_size);
	if (filename) {
		assert_string_equal(json_string_value(json_object_get(params, "filename")),
		                    filename);
		assert_null(json_object_get(params, "num_blocks"));
		assert_int_equal(json_object_size(params), 4);
	} else {
		assert_int_equal(json_integer_value(json_object_get(params, "num_blocks")),
		                 bdev->num_blocks);
		assert_int_equal(json_object_size(params), 4);
	}
	json_decref(params);
}

static void test_write_config(void **state)
{
	struct unvmf_bdev *n, *m, *u;
	char path[256];
	int fd = temp_file("/tmp", 4096 * 4, path, sizeof(path));

	assert_int_equal(unvmf_bdev_null_create("cfg_null", 123, 512, NULL, &n), 0);
	assert_int_equal(unvmf_bdev_malloc_create("cfg_malloc", 7, 4096, NULL, &m), 0);
	assert_int_equal(unvmf_bdev_uring_create("cfg_uring", path, 512, NULL, &u), 0);
	assert_string_equal(n->ops->type, "null");
	assert_string_equal(m->ops->type, "malloc");
	assert_string_equal(u->ops->type, "uring");
	check_config(n, NULL);
	check_config(m, NULL);
	check_config(u, path);
	unvmf_bdev_delete_all();
	close(fd);
	unlink(path);
}

/* ---- main ---- */

static int reactors_setup(void **state)
{
	struct unvmf_reactor_opts opts = {.cpumask = 0x1};

	if (unvmf_reactors_init(&opts))
		return -1;
	if (unvmf_reactors_start_background()) {
		unvmf_reactors_fini();
		return -1;
	}
	return 0;
}

static int reactors_teardown(void **state)
{
	unvmf_reactors_stop();
	unvmf_reactors_join();
	unvmf_reactors_fini();
	unvmf_bdev_delete_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_delete_all),
	    cmocka_unit_test(test_null_bdev),
	    cmocka_unit_test(test_null_resize),
	    cmocka_unit_test(test_malloc_round_trip_512),
	    cmocka_unit_test(test_malloc_round_trip_4096),
	    cmocka_unit_test(test_malloc_1gib),
	    cmocka_unit_test(test_uring_round_trip_512),
	    cmocka_unit_test(test_uring_round_trip_4096),
	    cmocka_unit_test(test_uring_tmpfs),
	    cmocka_unit_test(test_uring_misaligned_buffer),
	    cmocka_unit_test(test_uring_many_concurrent),
	    cmocka_unit_test(test_uring_block_device),
	    cmocka_unit_test(test_uring_create_errors),
	    cmocka_unit_test(test_uring_rescan),
	    cmocka_unit_test(test_range_and_iov_errors),
	    cmocka_unit_test(test_fault_fail),
	    cmocka_unit_test(test_fault_delay),
	    cmocka_unit_test(test_channel_lifetimes),
	    cmocka_unit_test(test_delete_with_open_channel),
	    cmocka_unit_test(test_write_config),
	};

	return cmocka_run_group_tests(tests, reactors_setup, reactors_teardown);
}
