/*
 * Compare and fused Compare and Write over NVMe/TCP: unvmf-tgt on two
 * reactors (its default 64 MiB RAM namespace) driven by the host library.
 *
 * The statuses as a host sees them, the pair carried by R2T as well as in
 * the capsule, and atomicity under concurrency: several I/O queues (spread
 * over both reactors, so over two threads sharing the namespace) run
 * read-then-Compare-and-Write loops and a plain writer on one LBA range. Every
 * write puts a unique image (one id stamped over the whole range) there, so:
 * - no two successful Compare and Writes may have compared the same image
 *   (that would be a lost update: both read it, both wrote);
 * - the image a successful one compared must be whole and one somebody wrote
 *   (else the compare saw, and matched, a torn range);
 * - the range is whole at the end.
 * UNVMF_CW_TRIES sets the number of Compare and Write attempts (default 20000).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e_util.h"
#include "tgt_proc.h"
#include "unvmf/host.h"

#define SUBNQN "nqn.2024-11.io.unvmf:default"
#define BS 512u
#define CW_LBA 1000u
#define CW_BLOCKS 8u
#define IMG (CW_BLOCKS * BS)
#define NUM_CW 4
/*
 * One plain writer: two would tear the range between themselves (writes are
 * atomic per block only, AWUN 0), which no Compare and Write can prevent.
 */
#define NUM_PLAIN 1
#define NUM_CLIENTS (NUM_CW + NUM_PLAIN)

static struct tgt_proc g_tp;

static int group_setup(void **state)
{
	static const char *const args[] = {"-m", "0x3", NULL};

	return tgt_proc_start_or_dump(&g_tp, args);
}

static int group_teardown(void **state)
{
	return tgt_proc_finish(&g_tp, 20);
}

static struct unvmf_host_ctrlr *connect_ctrlr(void)
{
	struct unvmf_host_ctrlr *ctrlr = NULL;
	struct unvmf_host_opts o;
	struct unvmf_trid trid;

	unvmf_host_opts_init(&o);
	o.num_io_queues = NUM_CLIENTS + 1;
	tgt_proc_trid(&g_tp, SUBNQN, &trid);
	assert_int_equal(unvmf_host_connect(&trid, &o, &ctrlr, NULL), 0);
	return ctrlr;
}

static struct nvme_sqe rw_sqe(uint8_t opc, uint64_t lba, uint32_t nlb, uint8_t fuse)
{
	struct nvme_sqe sqe = {0};

	sqe.opc = opc;
	sqe.fuse = fuse;
	sqe.nsid = 1;
	sqe.cdw10 = (uint32_t)lba;
	sqe.cdw11 = (uint32_t)(lba >> 32);
	sqe.cdw12 = nlb - 1;
	return sqe;
}

/* Submits a fused Compare (cmp) and Write (wr) of nlb blocks at lba. */
static void submit_cw(struct unvmf_host_qpair *qp, uint64_t lba, uint32_t nlb, void *cmp, void *wr,
                      unvmf_host_cb cb1, void *a1, unvmf_host_cb cb2, void *a2)
{
	struct nvme_sqe c = rw_sqe(NVME_OPC_COMPARE, lba, nlb, NVME_FUSE_FIRST);
	struct nvme_sqe w = rw_sqe(NVME_OPC_WRITE, lba, nlb, NVME_FUSE_SECOND);
	struct iovec ic = {.iov_base = cmp, .iov_len = (size_t)nlb * BS};
	struct iovec iw = {.iov_base = wr, .iov_len = (size_t)nlb * BS};

	assert_int_equal(unvmf_host_submit_cmd(qp, &c, &ic, 1, cb1, a1), 0);
	assert_int_equal(unvmf_host_submit_cmd(qp, &w, &iw, 1, cb2, a2), 0);
}

static int cw_sync(struct unvmf_host_qpair *qp, uint64_t lba, uint32_t nlb, void *cmp, void *wr,
                   int *s2)
{
	struct e2e_io a = {0}, b = {0};
	int s1;

	submit_cw(qp, lba, nlb, cmp, wr, e2e_io_cb, &a, e2e_io_cb, &b);
	s1 = e2e_wait(qp, &a, 10000);
	*s2 = e2e_wait(qp, &b, 10000);
	return s1;
}

static void test_identify_and_statuses(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_ctrlr();
	const struct nvme_id_ctrl *cd = unvmf_host_ctrlr_data(ctrlr);
	struct unvmf_host_qpair *qp = NULL;
	/* 16 blocks: 8 KiB, past the 4 KiB in-capsule data, so both halves come by R2T. */
	static uint8_t old[8192], new[8192], rd[8192];
	struct e2e_io a = {0}, b = {0};
	struct nvme_sqe sqe;
	int s2;

	assert_true(cd->fuses & NVME_FUSES_COMPARE_AND_WRITE);
	assert_true(cd->oncs & NVME_ONCS_COMPARE);
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &qp, NULL), 0);
	memset(old, 0xa1, sizeof(old));
	memset(new, 0xb2, sizeof(new));
	assert_int_equal(e2e_write(qp, 1, 200, 16, old, sizeof(old)), 0);
	/* Plain Compare. */
	sqe = rw_sqe(NVME_OPC_COMPARE, 200, 16, 0);
	assert_int_equal(e2e_cmd(qp, &sqe, old, sizeof(old)), 0);
	assert_int_equal(e2e_cmd(qp, &sqe, new, sizeof(new)),
	                 E2E_STATUS(NVME_SCT_MEDIA_ERROR, NVME_SC_COMPARE_FAILURE));
	/* Compare and Write, by R2T and in the capsule. */
	assert_int_equal(cw_sync(qp, 200, 16, old, new, &s2), 0);
	assert_int_equal(s2, 0);
	assert_int_equal(e2e_read(qp, 1, 200, 16, rd, sizeof(rd)), 0);
	assert_memory_equal(rd, new, sizeof(new));
	assert_int_equal(cw_sync(qp, 200, 16, old, new, &s2),
	                 E2E_STATUS(NVME_SCT_MEDIA_ERROR, NVME_SC_COMPARE_FAILURE));
	assert_int_equal(s2, E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_ABORTED_FAILED_FUSED));
	assert_int_equal(cw_sync(qp, 200, 2, new, old, &s2), 0);
	assert_int_equal(s2, 0);
	/* A lone SECOND, and a FIRST followed by a plain Read. */
	sqe = rw_sqe(NVME_OPC_WRITE, 200, 1, NVME_FUSE_SECOND);
	assert_int_equal(e2e_cmd(qp, &sqe, old, BS),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_ABORTED_MISSING_FUSED));
	sqe = rw_sqe(NVME_OPC_COMPARE, 200, 1, NVME_FUSE_FIRST);
	{
		struct iovec ic = {.iov_base = old, .iov_len = BS};
		struct iovec ir = {.iov_base = rd, .iov_len = BS};

		assert_int_equal(unvmf_host_submit_cmd(qp, &sqe, &ic, 1, e2e_io_cb, &a), 0);
		assert_int_equal(unvmf_host_read(qp, 1, 200, 1, &ir, 1, e2e_io_cb, &b), 0);
	}
	assert_int_equal(e2e_wait(qp, &a, 10000),
	                 E2E_STATUS(NVME_SCT_GENERIC, NVME_SC_ABORTED_MISSING_FUSED));
	assert_int_equal(e2e_wait(qp, &b, 10000), 0);
	unvmf_host_qpair_destroy(qp);
	unvmf_host_disconnect(ctrlr);
}

/* ---- atomicity ---- */

enum client_state { CLIENT_IDLE, CLIENT_READING, CLIENT_FUSED, CLIENT_WRITING };

struct client {
	struct unvmf_host_qpair *qp;
	unsigned id;
	bool cw;
	enum client_state state;
	unsigned pending;
	struct nvme_cqe c1, c2;
	uint64_t seq;
	uint64_t (*img)[IMG / 8]; /* [3]: read, compare, write */
};

struct run {
	struct client clients[NUM_CLIENTS];
	unsigned tries, max_tries;
	unsigned successes, compare_failures;
	uint64_t *pre; /* pre-image ids of the successful ones */
	unsigned bad_pre;
};

static uint64_t img_id(unsigned writer, uint64_t seq)
{
	return ((uint64_t)writer + 1) << 48 | seq;
}

static void img_fill(uint64_t *img, uint64_t id)
{
	for (unsigned i = 0; i < IMG / 8; i++)
		img[i] = id;
}

/* The image's id when it is whole, 0 when torn. */
static uint64_t img_whole(const uint64_t *img)
{
	for (unsigned i = 1; i < IMG / 8; i++) {
		if (img[i] != img[0])
			return 0;
	}
	return img[0] ? img[0] : 1;
}

static void cb1(void *arg, const struct nvme_cqe *cqe)
{
	struct client *c = arg;

	c->c1 = *cqe;
	c->pending--;
}

static void cb2(void *arg, const struct nvme_cqe *cqe)
{
	struct client *c = arg;

	c->c2 = *cqe;
	c->pending--;
}

static void client_start(struct client *c)
{
	struct iovec iov = {.iov_base = c->img[0], .iov_len = IMG};

	if (!c->cw) {
		img_fill(c->img[2], img_id(c->id, c->seq++));
		iov.iov_base = c->img[2];
		c->pending = 1;
		c->state = CLIENT_WRITING;
		assert_int_equal(unvmf_host_write(c->qp, 1, CW_LBA, CW_BLOCKS, &iov, 1, cb1, c), 0);
		return;
	}
	c->pending = 1;
	c->state = CLIENT_READING;
	assert_int_equal(unvmf_host_read(c->qp, 1, CW_LBA, CW_BLOCKS, &iov, 1, cb1, c), 0);
}

static bool pre_image_known(const struct run *r, uint64_t id)
{
	unsigned writer = (unsigned)(id >> 48);
	uint64_t seq = id & ((1ull << 48) - 1);

	if (id == 1) /* the initial all-zero range */
		return true;
	if (writer == 0 || writer > NUM_CLIENTS)
		return false;
	return seq < r->clients[writer - 1].seq;
}

static void client_progress(struct run *r, struct client *c)
{
	uint8_t sct, sc;

	if (c->pending)
		return;
	switch (c->state) {
	case CLIENT_IDLE:
		if (r->tries < r->max_tries)
			client_start(c);
		return;
	case CLIENT_WRITING:
		assert_int_equal(c->c1.status.raw & 0xfffe, 0);
		c->state = CLIENT_IDLE;
		return;
	case CLIENT_READING:
		assert_int_equal(c->c1.status.raw & 0xfffe, 0);
		/* Compare against what was read (torn or not), write a fresh image. */
		memcpy(c->img[1], c->img[0], IMG);
		img_fill(c->img[2], img_id(c->id, c->seq++));
		c->pending = 2;
		c->state = CLIENT_FUSED;
		r->tries++;
		submit_cw(c->qp, CW_LBA, CW_BLOCKS, c->img[1], c->img[2], cb1, c, cb2, c);
		return;
	case CLIENT_FUSED:
		sct = c->c1.status.s.sct;
		sc = c->c1.status.s.sc;
		if (sct == NVME_SCT_GENERIC && sc == NVME_SC_SUCCESS) {
			uint64_t id = img_whole(c->img[1]);

			assert_int_equal(c->c2.status.raw & 0xfffe, 0);
			if (!id || !pre_image_known(r, id))
				r->bad_pre++;
			r->pre[r->successes++] = id;
		} else {
			assert_int_equal(sct, NVME_SCT_MEDIA_ERROR);
			assert_int_equal(sc, NVME_SC_COMPARE_FAILURE);
			assert_int_equal(c->c2.status.s.sc, NVME_SC_ABORTED_FAILED_FUSED);
			r->compare_failures++;
		}
		c->state = CLIENT_IDLE;
		return;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_atomic_under_concurrent_writers(void **state)
{
	struct unvmf_host_ctrlr *ctrlr = connect_ctrlr();
	struct unvmf_host_qpair *check = NULL;
	const char *env = getenv("UNVMF_CW_TRIES");
	static uint64_t images[NUM_CLIENTS][3][IMG / 8];
	static uint64_t final[IMG / 8];
	struct run *r = calloc(1, sizeof(*r));
	unsigned dups = 0;
	struct timespec t0, t1;
	bool busy = true;

	assert_non_null(r);
	r->max_tries = env ? (unsigned)strtoul(env, NULL, 0) : 20000;
	r->pre = calloc(r->max_tries + NUM_CLIENTS, sizeof(*r->pre));
	assert_non_null(r->pre);
	memset(final, 0, sizeof(final));
	assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &check, NULL), 0);
	assert_int_equal(e2e_write(check, 1, CW_LBA, CW_BLOCKS, final, IMG), 0);
	for (unsigned i = 0; i < NUM_CLIENTS; i++) {
		struct client *c = &r->clients[i];

		c->id = i;
		c->cw = i < NUM_CW;
		c->img = images[i];
		/* Queues alternate between the two reactors. */
		assert_int_equal(unvmf_host_qpair_create(ctrlr, 0, &c->qp, NULL), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned iter = 0; busy; iter++) {
		busy = false;
		/* Keep Alive goes out from here: a long run on a loaded machine outlasts KATO. */
		if (iter % 64 == 0)
			assert_true(unvmf_host_admin_poll(ctrlr) >= 0);
		for (unsigned i = 0; i < NUM_CLIENTS; i++) {
			struct client *c = &r->clients[i];

			assert_true(unvmf_host_qpair_poll(c->qp, 0) >= 0);
			client_progress(r, c);
			busy |= c->pending || c->state != CLIENT_IDLE;
		}
		busy |= r->tries < r->max_tries;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	qsort(r->pre, r->successes, sizeof(*r->pre), cmp_u64);
	/* Torn pre-images (id 0) are counted in bad_pre already. */
	for (unsigned i = 1; i < r->successes; i++)
		dups += r->pre[i] && r->pre[i] == r->pre[i - 1];
	assert_int_equal(e2e_read(check, 1, CW_LBA, CW_BLOCKS, final, IMG), 0);
	print_message("compare and write: %u tries, %u succeeded, %u compare failures, %u lost "
	              "updates, %u torn or unknown pre-images, %.1f s\n",
	              r->tries, r->successes, r->compare_failures, dups, r->bad_pre,
	              (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_int_equal(r->successes + r->compare_failures, r->tries);
	assert_true(r->successes > 0);
	assert_int_equal(dups, 0);
	assert_int_equal(r->bad_pre, 0);
	assert_int_not_equal(img_whole(final), 0);
	for (unsigned i = 0; i < NUM_CLIENTS; i++)
		unvmf_host_qpair_destroy(r->clients[i].qp);
	unvmf_host_qpair_destroy(check);
	unvmf_host_disconnect(ctrlr);
	free(r->pre);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identify_and_statuses),
	    cmocka_unit_test(test_atomic_under_concurrent_writers),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
