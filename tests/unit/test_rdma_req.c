/*
 * The RDMA request state machine on its own: every state forward, every
 * state drained after a QP error, and the seed's batched-write scenario.
 * The env below is the seam (what the qpair would do with the NIC); the
 * invariants are checked after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "transport/rdma/rdma_req.h"

#define FLUSH 5
#define RETRY_EXC 12

struct fake {
	struct rdma_req_set set;
	struct rdma_req_env env;
	uint32_t bufs_free;
	uint32_t credits;
	uint32_t reads_per_write;
	bool send_room;
	bool error;
	int executed;
	int rejected;
	int invariants;
	uint8_t parse_sc; /* > 0: the next capsule has a bad SGL with this status */
	int recv_released;
	int trapped;
	_Atomic int trap;
	uint64_t coverage[RDMA_REQ_NUM_STATES];
	enum unvmf_xfer next_xfer;
};

static int f_parse(void *ctx, struct rdma_req *req)
{
	struct fake *f = ctx;

	req->core.xfer = f->next_xfer;
	req->core.length = f->next_xfer == UNVMF_XFER_NONE ? 0 : 4096 * f->reads_per_write;
	if (f->parse_sc) {
		unvmf_req_set_status(&req->core, NVME_SCT_GENERIC, f->parse_sc);
		return 1;
	}
	return 0;
}

static int f_get_buffers(void *ctx, struct rdma_req *req)
{
	struct fake *f = ctx;

	if (f->bufs_free == 0)
		return -EAGAIN;
	f->bufs_free--;
	req->num_bufs = 1;
	req->reads_total = req->core.xfer == UNVMF_XFER_HOST_TO_CONTROLLER ? f->reads_per_write : 0;
	return 0;
}

static void f_put_buffers(void *ctx, struct rdma_req *req)
{
	struct fake *f = ctx;

	f->bufs_free += req->num_bufs;
	req->num_bufs = 0;
}

static uint32_t f_read_credits(void *ctx)
{
	return ((struct fake *)ctx)->credits;
}

static int f_post_reads(void *ctx, struct rdma_req *req, uint32_t n)
{
	struct fake *f = ctx;

	f->credits -= n;
	return (int)n;
}

static bool f_send_room(void *ctx, uint32_t n)
{
	return ((struct fake *)ctx)->send_room;
}

static int f_post_response(void *ctx, struct rdma_req *req)
{
	struct fake *f = ctx;

	if (!f->send_room)
		return -EAGAIN;
	return req->core.xfer == UNVMF_XFER_CONTROLLER_TO_HOST ? 1 : 0;
}

static void f_execute(void *ctx, struct rdma_req *req)
{
	((struct fake *)ctx)->executed++;
}

/* As the core's completion: the status lands in rsp and the request comes back at once. */
static void f_reject(void *ctx, struct rdma_req *req, uint8_t sct, uint8_t sc)
{
	struct fake *f = ctx;

	assert_int_equal(req->state, RDMA_REQ_EXECUTING);
	f->rejected++;
	memset(&req->core.rsp, 0, sizeof(req->core.rsp));
	unvmf_req_set_status(&req->core, sct, sc);
	rdma_req_exec_done(req);
}

static void f_release_recv(void *ctx, struct rdma_req *req)
{
	((struct fake *)ctx)->recv_released++;
}

static bool f_in_error(void *ctx)
{
	return ((struct fake *)ctx)->error;
}

static void f_fail(void *ctx, enum rdma_req_event cause, const char *why)
{
	struct fake *f = ctx;

	/* As rdma_qpair_set_error: the first cause wins. */
	if (!f->error)
		f->set.err_event = cause;
	f->error = true;
}

static void f_trapped(void *ctx, struct rdma_req *req)
{
	struct fake *f = ctx;

	f->trapped++;
	atomic_store(f->set.trap, -1);
	f_fail(ctx, RDMA_EV_QP_ERR_BY_INJECT, "trap");
}

static void f_invariant(void *ctx, const char *what)
{
	struct fake *f = ctx;

	f->invariants++;
	f_fail(ctx, RDMA_EV_QP_ERR_BY_LOCAL, what);
}

static struct fake *fake_new(uint32_t nreqs)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->env = (struct rdma_req_env){
		.ctx = f,
		.parse = f_parse,
		.get_buffers = f_get_buffers,
		.put_buffers = f_put_buffers,
		.read_credits = f_read_credits,
		.post_reads = f_post_reads,
		.send_room = f_send_room,
		.post_response = f_post_response,
		.execute = f_execute,
		.reject = f_reject,
		.release_recv = f_release_recv,
		.in_error = f_in_error,
		.fail = f_fail,
		.trapped = f_trapped,
		.invariant = f_invariant,
	};
	f->bufs_free = 4;
	f->credits = 1;
	f->reads_per_write = 3;
	f->send_room = true;
	assert_int_equal(rdma_req_set_init(&f->set, nreqs, &f->env), 0);
	f->set.coverage = f->coverage;
	return f;
}

static void fake_free(struct fake *f)
{
	assert_int_equal(rdma_req_set_check(&f->set), 0);
	rdma_req_set_fini(&f->set);
	free(f);
}

#define CHECK(f) assert_int_equal(rdma_req_set_check(&(f)->set), 0)

static struct rdma_req *start(struct fake *f, enum unvmf_xfer xfer)
{
	static int recv_token;
	struct rdma_req *req;

	f->next_xfer = xfer;
	req = rdma_req_bind(&f->set, &recv_token);
	assert_non_null(req);
	rdma_req_process(req);
	CHECK(f);
	return req;
}

/* Completes one outstanding WR of req of the given kind, credits returned for READs. */
static void complete(struct fake *f, struct rdma_req *req, enum rdma_wr_kind kind, int status)
{
	if (kind == RDMA_WR_READ)
		f->credits++;
	rdma_req_wr_done(req, kind, status);
	CHECK(f);
}

static void test_no_data_command(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *req = start(f, UNVMF_XFER_NONE);

	assert_int_equal(req->state, RDMA_REQ_EXECUTING);
	assert_int_equal(f->executed, 1);
	rdma_req_exec_done(req);
	CHECK(f);
	assert_int_equal(req->state, RDMA_REQ_COMPLETING);
	assert_int_equal(req->wr_outstanding[RDMA_WR_SEND], 1);
	complete(f, req, RDMA_WR_SEND, 0);
	assert_int_equal(req->state, RDMA_REQ_FREE);
	assert_int_equal(f->recv_released, 1);
	fake_free(f);
}

static void test_read_command(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *req = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);

	assert_int_equal(req->state, RDMA_REQ_EXECUTING);
	assert_int_equal(f->bufs_free, 3);
	f->send_room = false;
	rdma_req_exec_done(req);
	CHECK(f);
	assert_int_equal(req->state, RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING);
	assert_int_equal(req->queue, RDMA_QUEUE_PENDING_SEND);
	f->send_room = true;
	assert_true(rdma_req_set_process_pending(&f->set) > 0);
	CHECK(f);
	assert_int_equal(req->state, RDMA_REQ_COMPLETING);
	complete(f, req, RDMA_WR_WRITE, 0);
	/* Buffers stay until the SEND is done too. */
	assert_int_equal(f->bufs_free, 3);
	complete(f, req, RDMA_WR_SEND, 0);
	assert_int_equal(req->state, RDMA_REQ_FREE);
	assert_int_equal(f->bufs_free, 4);
	fake_free(f);
}

static void test_write_in_batches(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *a, *b;

	/* Read depth 1, 3 READs per write: each write needs three batches. */
	a = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	assert_int_equal(a->state, RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER);
	assert_int_equal(a->queue, RDMA_QUEUE_NONE);
	b = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	assert_int_equal(b->state, RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING);
	/*
	 * a's batch completes with READs left: it goes back to the head of
	 * PENDING_READ, ahead of b, and takes the returned credit at once.
	 */
	complete(f, a, RDMA_WR_READ, 0);
	assert_int_equal(a->state, RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER);
	assert_int_equal(a->reads_posted, 2);
	assert_int_equal(b->state, RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING);
	assert_ptr_equal(TAILQ_FIRST(&f->set.queues[RDMA_QUEUE_PENDING_READ].head), b);
	complete(f, a, RDMA_WR_READ, 0);
	rdma_req_set_process_pending(&f->set);
	complete(f, a, RDMA_WR_READ, 0);
	assert_int_equal(a->state, RDMA_REQ_EXECUTING);
	rdma_req_set_process_pending(&f->set);
	CHECK(f);
	assert_int_equal(b->state, RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER);
	rdma_req_exec_done(a);
	complete(f, a, RDMA_WR_SEND, 0);
	for (int i = 0; i < 3; i++) {
		complete(f, b, RDMA_WR_READ, 0);
		rdma_req_set_process_pending(&f->set);
	}
	assert_int_equal(b->state, RDMA_REQ_EXECUTING);
	rdma_req_exec_done(b);
	complete(f, b, RDMA_WR_SEND, 0);
	assert_true(rdma_req_set_drained(&f->set));
	fake_free(f);
}

static void test_need_buffer_fifo(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *a, *b, *c;

	f->bufs_free = 1;
	a = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
	b = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
	c = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
	assert_int_equal(a->state, RDMA_REQ_EXECUTING);
	assert_int_equal(b->state, RDMA_REQ_NEED_BUFFER);
	assert_int_equal(c->state, RDMA_REQ_NEED_BUFFER);
	rdma_req_exec_done(a);
	complete(f, a, RDMA_WR_WRITE, 0);
	complete(f, a, RDMA_WR_SEND, 0);
	rdma_req_set_process_pending(&f->set);
	CHECK(f);
	assert_int_equal(b->state, RDMA_REQ_EXECUTING);
	assert_int_equal(c->state, RDMA_REQ_NEED_BUFFER);
	f->error = true;
	rdma_req_set_drain(&f->set);
	CHECK(f);
	rdma_req_exec_done(b);
	CHECK(f);
	assert_true(rdma_req_set_drained(&f->set));
	assert_int_equal(f->bufs_free, 1);
	fake_free(f);
}

/* Drives a fresh request into `target` (on a qpair with the given resources). */
static struct rdma_req *drive_to(struct fake *f, enum rdma_req_state target)
{
	struct rdma_req *req;

	switch (target) {
	case RDMA_REQ_NEW:
		f->next_xfer = UNVMF_XFER_NONE;
		req = rdma_req_bind(&f->set, f);
		return req;
	case RDMA_REQ_NEED_BUFFER:
		f->bufs_free = 0;
		return start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
	case RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING:
		f->credits = 0;
		return start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	case RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER:
		return start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	case RDMA_REQ_EXECUTING:
		return start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
	case RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING:
		req = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
		f->send_room = false;
		rdma_req_exec_done(req);
		return req;
	case RDMA_REQ_READY_TO_COMPLETE:
		req = start(f, UNVMF_XFER_NONE);
		f->send_room = false;
		rdma_req_exec_done(req);
		return req;
	case RDMA_REQ_COMPLETING:
		req = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
		rdma_req_exec_done(req);
		return req;
	default:
		fail_msg("state %s is transient and not driven to directly", rdma_req_state_name(target));
		return NULL;
	}
}

/* Flushes every WR the NIC still holds, as a QP in ERR does. */
static void flush_all(struct fake *f)
{
	for (uint32_t i = 0; i < f->set.num_reqs; i++) {
		struct rdma_req *req = &f->set.reqs[i];

		for (unsigned k = 0; k < RDMA_WR_NUM_KINDS; k++) {
			while (req->wr_outstanding[k] > 0)
				complete(f, req, (enum rdma_wr_kind)k, FLUSH);
		}
	}
}

static void test_qp_error_in_every_state(void **state)
{
	static const enum rdma_req_state states[] = {
		RDMA_REQ_NEW,
		RDMA_REQ_NEED_BUFFER,
		RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING,
		RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER,
		RDMA_REQ_EXECUTING,
		RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING,
		RDMA_REQ_READY_TO_COMPLETE,
		RDMA_REQ_COMPLETING,
	};

	for (unsigned i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct fake *f = fake_new(8);
		uint32_t bufs_before = f->bufs_free;
		struct rdma_req *req = drive_to(f, states[i]);
		struct rdma_req *other;

		assert_int_equal(req->state, states[i]);
		bufs_before = states[i] == RDMA_REQ_NEED_BUFFER ? 0 : bufs_before;
		/* A healthy neighbour in EXECUTING too, as on a busy qpair. */
		f->bufs_free += 1;
		bufs_before += 1;
		f->credits += 1;
		other = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);

		f->error = true;
		f->set.err_event = RDMA_EV_QP_ERR_BY_CORE;
		rdma_req_set_drain(&f->set);
		CHECK(f);
		flush_all(f);
		if (req->state == RDMA_REQ_EXECUTING)
			rdma_req_exec_done(req);
		if (other->state == RDMA_REQ_EXECUTING)
			rdma_req_exec_done(other);
		CHECK(f);
		assert_true(rdma_req_set_drained(&f->set));
		assert_int_equal(f->bufs_free, bufs_before);
		assert_true(f->coverage[states[i]] & (1ull << RDMA_EV_QP_ERR_BY_CORE));
		fake_free(f);
	}
}

/* A WC error (e.g. retry exceeded) on one WR: the qpair fails, its siblings flush. */
static void test_wc_error_then_flush(void **state)
{
	struct fake *f = fake_new(8);
	struct rdma_req *a = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	struct rdma_req *b = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);

	rdma_req_exec_done(b);
	assert_int_equal(b->state, RDMA_REQ_COMPLETING);
	complete(f, a, RDMA_WR_READ, RETRY_EXC);
	assert_true(f->error);
	assert_int_equal(a->state, RDMA_REQ_FREE);
	rdma_req_set_drain(&f->set);
	flush_all(f);
	assert_true(rdma_req_set_drained(&f->set));
	fake_free(f);
}

/*
 * The seed (SPDK #3463): with the QP going to ERR, one write waits in
 * DATA_TRANSFER_TO_CONTROLLER_PENDING and another is in
 * TRANSFERRING_HOST_TO_CONTROLLER with READs still to issue.
 */
static void test_seed_batched_write_qp_error(void **state)
{
	struct fake *f = fake_new(8);
	struct rdma_req *a = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	struct rdma_req *b = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);

	assert_int_equal(a->state, RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER);
	assert_true(a->reads_posted < a->reads_total);
	assert_int_equal(b->state, RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING);
	/* The READ in flight fails with retry exceeded; the QP goes to ERR. */
	complete(f, a, RDMA_WR_READ, RETRY_EXC);
	rdma_req_set_drain(&f->set);
	CHECK(f);
	/* Nothing left on PENDING_READ, no request on two queues, everything FREE. */
	assert_int_equal(f->set.queues[RDMA_QUEUE_PENDING_READ].len, 0);
	assert_true(rdma_req_set_drained(&f->set));
	assert_int_equal(f->bufs_free, 4);
	/* Late processing of the pending queues after the drain touches nothing. */
	assert_int_equal(rdma_req_set_process_pending(&f->set), 0);
	fake_free(f);
}

/*
 * The drain event names the cause: a READ failing with retry exceeded puts a
 * neighbour waiting for buffers through QP_ERR_BY_WC_ERROR; a flush arriving
 * first (the QP went to ERR underneath) gives QP_ERR_BY_FLUSH.
 */
static void test_drain_records_cause(void **state)
{
	for (int flush_first = 0; flush_first < 2; flush_first++) {
		struct fake *f = fake_new(8);
		struct rdma_req *a, *b;
		enum rdma_req_event want = flush_first ? RDMA_EV_QP_ERR_BY_FLUSH
						       : RDMA_EV_QP_ERR_BY_WC_ERROR;

		f->bufs_free = 1;
		a = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
		b = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
		assert_int_equal(b->state, RDMA_REQ_NEED_BUFFER);
		complete(f, a, RDMA_WR_READ, flush_first ? FLUSH : RETRY_EXC);
		assert_int_equal(f->set.err_event, want);
		assert_true(f->coverage[RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER] &
			    (1ull << (flush_first ? RDMA_EV_FLUSH : RDMA_EV_WC_ERROR)));
		rdma_req_set_drain(&f->set);
		CHECK(f);
		assert_true(f->coverage[RDMA_REQ_NEED_BUFFER] & (1ull << want));
		assert_false(f->coverage[RDMA_REQ_NEED_BUFFER] & (1ull << RDMA_EV_QP_ERR_BY_CORE));
		assert_true(rdma_req_set_drained(&f->set));
		fake_free(f);
	}
}

/* The poll's retry of a pending head is recorded as PROCESS in the state it waits in. */
static void test_pending_retry_recorded(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *a;

	f->bufs_free = 0;
	a = start(f, UNVMF_XFER_CONTROLLER_TO_HOST);
	assert_int_equal(a->state, RDMA_REQ_NEED_BUFFER);
	assert_false(f->coverage[RDMA_REQ_NEED_BUFFER] & (1ull << RDMA_EV_PROCESS));
	assert_int_equal(rdma_req_set_process_pending(&f->set), 0);
	assert_true(f->coverage[RDMA_REQ_NEED_BUFFER] & (1ull << RDMA_EV_PROCESS));
	f->bufs_free = 1;
	assert_int_equal(rdma_req_set_process_pending(&f->set), 1);
	assert_int_equal(a->state, RDMA_REQ_EXECUTING);
	rdma_req_exec_done(a);
	complete(f, a, RDMA_WR_WRITE, 0);
	complete(f, a, RDMA_WR_SEND, 0);
	fake_free(f);
}

/*
 * The operator's trap fires at the transition itself: a request passing
 * through READY_TO_EXECUTE fails its qpair there and is never executed; a
 * disarmed trap (-1) never fires.
 */
static void test_trap_at_transition(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *a;

	atomic_init(&f->trap, -1);
	f->set.trap = &f->trap;
	a = start(f, UNVMF_XFER_NONE);
	assert_int_equal(f->trapped, 0);
	rdma_req_exec_done(a);
	complete(f, a, RDMA_WR_SEND, 0);
	atomic_store(&f->trap, RDMA_REQ_READY_TO_EXECUTE);
	a = start(f, UNVMF_XFER_NONE);
	assert_int_equal(f->trapped, 1);
	assert_int_equal(f->executed, 1);
	assert_int_equal(a->state, RDMA_REQ_FREE);
	assert_int_equal(f->set.err_event, RDMA_EV_QP_ERR_BY_INJECT);
	assert_true(f->coverage[RDMA_REQ_READY_TO_EXECUTE] & (1ull << RDMA_EV_QP_ERR_BY_INJECT));
	assert_int_equal(atomic_load(&f->trap), -1);
	fake_free(f);
}

/* A bad SGL is answered through the core's completion (SQHD, stats), never executed. */
static void test_bad_sgl_through_core(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *req;

	f->parse_sc = NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID;
	req = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	assert_int_equal(f->rejected, 1);
	assert_int_equal(f->executed, 0);
	assert_int_equal(req->state, RDMA_REQ_COMPLETING);
	assert_int_equal(req->core.rsp.status.s.sc, NVME_SC_SGL_DESCRIPTOR_TYPE_INVALID);
	assert_true(f->coverage[RDMA_REQ_EXECUTING] & (1ull << RDMA_EV_EXEC_DONE));
	complete(f, req, RDMA_WR_SEND, 0);
	assert_int_equal(req->state, RDMA_REQ_FREE);
	/* No buffers: the abort path of a command waiting for them goes the same way. */
	f->parse_sc = 0;
	f->bufs_free = 0;
	req = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	assert_int_equal(req->state, RDMA_REQ_NEED_BUFFER);
	rdma_req_reject(req, NVME_SCT_GENERIC, NVME_SC_ABORTED_BY_REQUEST);
	CHECK(f);
	assert_int_equal(f->rejected, 2);
	assert_int_equal(req->state, RDMA_REQ_COMPLETING);
	assert_int_equal(req->set->queues[RDMA_QUEUE_PENDING_BUFFER].len, 0);
	complete(f, req, RDMA_WR_SEND, 0);
	fake_free(f);
}

/*
 * Counts that would go below zero stay at zero and fail the qpair, in every
 * build: this file is also built without UNVMF_DEBUG (tests/sim/CMakeLists.txt).
 */
static void test_underflow_fails_qpair(void **state)
{
	struct fake *f = fake_new(4);
	struct rdma_req *req = start(f, UNVMF_XFER_NONE);

	/* A second SEND completion for a request that has one out (a duplicate CQE). */
	rdma_req_exec_done(req);
	assert_int_equal(req->state, RDMA_REQ_COMPLETING);
	complete(f, req, RDMA_WR_SEND, 0);
	assert_int_equal(req->state, RDMA_REQ_FREE);
	assert_int_equal(f->invariants, 0);
	rdma_req_wr_done(req, RDMA_WR_SEND, 0);
	assert_int_equal(req->wr_outstanding[RDMA_WR_SEND], 0);
	assert_int_equal(req->state, RDMA_REQ_FREE);
	assert_int_equal(f->invariants, 1);
	assert_int_equal(f->set.invariant_violations, 1);
	assert_true(f->error);
	assert_int_equal(f->set.err_event, RDMA_EV_QP_ERR_BY_LOCAL);
	/* A queue whose length says empty while a request is linked on it. */
	f->error = false;
	f->bufs_free = 0;
	req = start(f, UNVMF_XFER_HOST_TO_CONTROLLER);
	assert_int_equal(req->state, RDMA_REQ_NEED_BUFFER);
	f->set.queues[RDMA_QUEUE_PENDING_BUFFER].len = 0;
	f->error = true;
	rdma_req_process(req);
	assert_int_equal(req->state, RDMA_REQ_FREE);
	assert_int_equal(f->set.queues[RDMA_QUEUE_PENDING_BUFFER].len, 0);
	assert_int_equal(f->invariants, 2);
	/* A state count at zero for the state a request leaves. */
	f->error = false;
	req = start(f, UNVMF_XFER_NONE);
	assert_int_equal(req->state, RDMA_REQ_EXECUTING);
	f->set.state_count[RDMA_REQ_EXECUTING] = 0;
	f->error = true;
	rdma_req_exec_done(req);
	assert_int_equal(f->set.state_count[RDMA_REQ_EXECUTING], 0);
	assert_int_equal(f->invariants, 3);
	rdma_req_set_fini(&f->set);
	free(f);
}

/* A move outside rdma_req_moves[] is refused as an invariant violation, in every build. */
static void test_move_outside_table(void **state)
{
	struct fake *f = fake_new(2);
	struct rdma_req *req = &f->set.reqs[0];

	rdma_req_move(req, RDMA_REQ_COMPLETING);
	assert_int_equal(f->invariants, 1);
	assert_true(f->error);
	/* The queues still agree with the states. */
	assert_int_equal(rdma_req_set_check(&f->set), 0);
	rdma_req_move(req, RDMA_REQ_COMPLETED);
	rdma_req_move(req, RDMA_REQ_FREE);
	assert_int_equal(f->invariants, 1);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_data_command),
		cmocka_unit_test(test_read_command),
		cmocka_unit_test(test_write_in_batches),
		cmocka_unit_test(test_need_buffer_fifo),
		cmocka_unit_test(test_qp_error_in_every_state),
		cmocka_unit_test(test_wc_error_then_flush),
		cmocka_unit_test(test_seed_batched_write_qp_error),
		cmocka_unit_test(test_drain_records_cause),
		cmocka_unit_test(test_pending_retry_recorded),
		cmocka_unit_test(test_trap_at_transition),
		cmocka_unit_test(test_bad_sgl_through_core),
		cmocka_unit_test(test_underflow_fails_qpair),
		cmocka_unit_test(test_move_outside_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
