/*
 * The NVMe/RDMA request state machine. Every state change goes through
 * rdma_req_move(); the queue a state lives on comes from rdma_state_queue[].
 * See docs/RDMA-STATE-MACHINE.md for the drain action of each state.
 */
#include "transport/rdma/rdma_req.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

const enum rdma_queue_kind rdma_state_queue[RDMA_REQ_NUM_STATES] = {
	[RDMA_REQ_FREE] = RDMA_QUEUE_FREE,
	[RDMA_REQ_NEW] = RDMA_QUEUE_NONE,
	[RDMA_REQ_NEED_BUFFER] = RDMA_QUEUE_PENDING_BUFFER,
	[RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING] = RDMA_QUEUE_PENDING_READ,
	[RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER] = RDMA_QUEUE_NONE,
	[RDMA_REQ_READY_TO_EXECUTE] = RDMA_QUEUE_NONE,
	[RDMA_REQ_EXECUTING] = RDMA_QUEUE_NONE,
	[RDMA_REQ_EXECUTED] = RDMA_QUEUE_NONE,
	[RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING] = RDMA_QUEUE_PENDING_SEND,
	[RDMA_REQ_READY_TO_COMPLETE] = RDMA_QUEUE_PENDING_SEND,
	[RDMA_REQ_COMPLETING] = RDMA_QUEUE_NONE,
	[RDMA_REQ_COMPLETED] = RDMA_QUEUE_NONE,
};

/*
 * Every move a request can make: bit t of rdma_req_moves[s] = s -> t is one.
 * rdma_req_move() refuses any other (an invariant violation), and the model
 * (tests/model) is checked against this table and against the moves
 * req_step() makes.
 */
#define TO(s) (1u << RDMA_REQ_##s)
const uint32_t rdma_req_moves[RDMA_REQ_NUM_STATES] = {
	[RDMA_REQ_FREE] = TO(NEW),
	/* parse: no data or in-capsule, needs buffers, bad SGL (reject), unparsable or error */
	[RDMA_REQ_NEW] = TO(READY_TO_EXECUTE) | TO(NEED_BUFFER) | TO(EXECUTING) | TO(COMPLETED),
	/* buffers for a write, for a read; no buffers to be had or an Abort (reject); error */
	[RDMA_REQ_NEED_BUFFER] = TO(DATA_TRANSFER_TO_CONTROLLER_PENDING) | TO(READY_TO_EXECUTE) |
				 TO(EXECUTING) | TO(COMPLETED),
	[RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING] =
		TO(TRANSFERRING_HOST_TO_CONTROLLER) | TO(COMPLETED),
	/* every READ in, READs left to post (the seed's batch), error */
	[RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER] =
		TO(READY_TO_EXECUTE) | TO(DATA_TRANSFER_TO_CONTROLLER_PENDING) | TO(COMPLETED),
	[RDMA_REQ_READY_TO_EXECUTE] = TO(EXECUTING) | TO(COMPLETED),
	[RDMA_REQ_EXECUTING] = TO(EXECUTED),
	[RDMA_REQ_EXECUTED] =
		TO(DATA_TRANSFER_TO_HOST_PENDING) | TO(READY_TO_COMPLETE) | TO(COMPLETED),
	/* posted (whole chain, or the part the provider took), error */
	[RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING] = TO(COMPLETING) | TO(COMPLETED),
	[RDMA_REQ_READY_TO_COMPLETE] = TO(COMPLETING) | TO(COMPLETED),
	[RDMA_REQ_COMPLETING] = TO(COMPLETED),
	[RDMA_REQ_COMPLETED] = TO(FREE),
};
#undef TO

static const char *const g_state_names[RDMA_REQ_NUM_STATES] = {
	"FREE", "NEW", "NEED_BUFFER", "DATA_TRANSFER_TO_CONTROLLER_PENDING",
	"TRANSFERRING_HOST_TO_CONTROLLER", "READY_TO_EXECUTE", "EXECUTING", "EXECUTED",
	"DATA_TRANSFER_TO_HOST_PENDING", "READY_TO_COMPLETE", "COMPLETING", "COMPLETED",
};

static const char *const g_event_names[RDMA_EV_NUM_EVENTS] = {
	"PROCESS",	     "READ_DONE",	"WRITE_DONE",	    "SEND_DONE",
	"WC_ERROR",	     "FLUSH",		"EXEC_DONE",	    "QP_ERR_BY_WC_ERROR",
	"QP_ERR_BY_FLUSH",   "QP_ERR_BY_CM",	"QP_ERR_BY_ASYNC",  "QP_ERR_BY_INJECT",
	"QP_ERR_BY_CORE",    "QP_ERR_BY_LOCAL",
};

static const char *const g_queue_names[RDMA_QUEUE_NUM] = {
	"NONE", "FREE", "PENDING_BUFFER", "PENDING_READ", "PENDING_SEND",
};

const char *rdma_req_state_name(enum rdma_req_state state)
{
	return state < RDMA_REQ_NUM_STATES ? g_state_names[state] : "?";
}

const char *rdma_req_event_name(enum rdma_req_event event)
{
	return event < RDMA_EV_NUM_EVENTS ? g_event_names[event] : "?";
}

const char *rdma_queue_name(enum rdma_queue_kind queue)
{
	return queue < RDMA_QUEUE_NUM ? g_queue_names[queue] : "?";
}

int rdma_req_set_init(struct rdma_req_set *set, uint32_t num_reqs, const struct rdma_req_env *env)
{
	memset(set, 0, sizeof(*set));
	set->reqs = calloc(num_reqs, sizeof(*set->reqs));
	if (!set->reqs)
		return -ENOMEM;
	set->num_reqs = num_reqs;
	set->env = env;
	set->err_event = RDMA_EV_QP_ERR_BY_LOCAL;
	for (unsigned q = 0; q < RDMA_QUEUE_NUM; q++)
		TAILQ_INIT(&set->queues[q].head);
	for (uint32_t i = 0; i < num_reqs; i++) {
		struct rdma_req *req = &set->reqs[i];

		req->set = set;
		req->index = (uint16_t)i;
		req->state = RDMA_REQ_FREE;
		req->queue = RDMA_QUEUE_FREE;
		TAILQ_INSERT_TAIL(&set->queues[RDMA_QUEUE_FREE].head, req, link);
		set->queues[RDMA_QUEUE_FREE].len++;
	}
	set->state_count[RDMA_REQ_FREE] = num_reqs;
	return 0;
}

void rdma_req_set_fini(struct rdma_req_set *set)
{
	UNVMF_ASSERT(rdma_req_set_drained(set));
	free(set->reqs);
	set->reqs = NULL;
	set->num_reqs = 0;
}

uint64_t *g_rdma_req_coverage;

void rdma_req_record(struct rdma_req *req, enum rdma_req_event event)
{
	if (req->set->coverage)
		req->set->coverage[req->state] |= 1ull << event;
	if (g_rdma_req_coverage)
		g_rdma_req_coverage[req->state] |= 1ull << event;
}

/*
 * Takes one from a count that must never go below zero. One compare, in every
 * build: a count at zero is left there (a wrapped count would make every
 * later decision about that qpair wrong) and the qpair goes to error.
 */
static void set_violated(struct rdma_req_set *set, const char *what)
{
	set->invariant_violations++;
	set->env->invariant(set->env->ctx, what);
}

static bool count_take(struct rdma_req_set *set, uint32_t *count, const char *what)
{
	if (unvmf_likely(*count > 0)) {
		(*count)--;
		return true;
	}
	set_violated(set, what);
	return false;
}

void rdma_req_move(struct rdma_req *req, enum rdma_req_state state)
{
	struct rdma_req_set *set = req->set;
	enum rdma_queue_kind to = rdma_state_queue[state];

	/* The queues stay consistent either way; the qpair goes to error. */
	if (unvmf_unlikely(!(rdma_req_moves[req->state] & (1u << state))))
		set_violated(set, "a move the state table does not allow");
	if (req->queue != RDMA_QUEUE_NONE) {
		struct rdma_req_queue *q = &set->queues[req->queue];

		TAILQ_REMOVE(&q->head, req, link);
		count_take(set, &q->len, "a queue length went below zero");
	}
	count_take(set, &set->state_count[req->state], "a per-state count went below zero");
	/*
	 * A write whose READ batch finished with READs still to post goes back
	 * to the head of PENDING_READ: it keeps its turn for credits.
	 */
	if (to != RDMA_QUEUE_NONE) {
		struct rdma_req_queue *q = &set->queues[to];

		if (req->state == RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER &&
		    state == RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING)
			TAILQ_INSERT_HEAD(&q->head, req, link);
		else
			TAILQ_INSERT_TAIL(&q->head, req, link);
		q->len++;
	}
	req->queue = to;
	req->state = state;
	set->state_count[state]++;
	if (state == RDMA_REQ_FREE)
		req->generation++;
	/* At the transition itself, so that states left within one step can be aimed at too. */
	if (unvmf_unlikely(set->trap != NULL) &&
	    atomic_load_explicit(set->trap, memory_order_relaxed) == (int)state)
		set->env->trapped(set->env->ctx, req);
}

/* Whether the qpair is in error; if so, req records the cause in its current state. */
static bool req_meets_error(struct rdma_req *req, bool err)
{
	if (err)
		rdma_req_record(req, req->set->err_event);
	return err;
}

static uint32_t req_wrs(const struct rdma_req *req)
{
	uint32_t n = 0;

	for (unsigned k = 0; k < RDMA_WR_NUM_KINDS; k++)
		n += req->wr_outstanding[k];
	return n;
}

struct rdma_req *rdma_req_bind(struct rdma_req_set *set, void *recv)
{
	struct rdma_req *req = TAILQ_FIRST(&set->queues[RDMA_QUEUE_FREE].head);

	if (!req)
		return NULL;
	req->recv = recv;
	req->num_sgl = 0;
	req->in_capsule = false;
	req->invalidate = false;
	req->num_bufs = 0;
	req->reads_total = 0;
	req->reads_posted = 0;
	memset(&req->core.rsp, 0, sizeof(req->core.rsp));
	rdma_req_move(req, RDMA_REQ_NEW);
	return req;
}

static bool is_head(struct rdma_req *req)
{
	return TAILQ_FIRST(&req->set->queues[req->queue].head) == req;
}

/* One step from the current state; returns true if the request should be looked at again. */
static bool req_step(struct rdma_req *req)
{
	const struct rdma_req_env *env = req->set->env;
	void *ctx = env->ctx;
	bool err;
	int rc;

	/* The states whose step never consults the error: drain records them. */
	switch (req->state) {
	case RDMA_REQ_FREE:
	case RDMA_REQ_EXECUTING:
	case RDMA_REQ_COMPLETING:
	case RDMA_REQ_COMPLETED:
		err = false;
		break;
	case RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER:
		err = req->wr_outstanding[RDMA_WR_READ] == 0 &&
		      req_meets_error(req, env->in_error(ctx));
		break;
	default:
		err = req_meets_error(req, env->in_error(ctx));
		break;
	}
	switch (req->state) {
	case RDMA_REQ_FREE:
		return false;
	case RDMA_REQ_NEW:
		if (err) {
			rdma_req_move(req, RDMA_REQ_COMPLETED);
			return true;
		}
		rc = env->parse(ctx, req);
		if (rc > 0) {
			/* A bad SGL: parse left the status in core.rsp. */
			rdma_req_reject(req, req->core.rsp.status.s.sct, req->core.rsp.status.s.sc);
		} else if (rc < 0) {
			env->fail(ctx, RDMA_EV_QP_ERR_BY_LOCAL, "unparsable capsule");
			rdma_req_move(req, RDMA_REQ_COMPLETED);
		} else if (req->core.xfer == UNVMF_XFER_NONE || req->in_capsule) {
			rdma_req_move(req, RDMA_REQ_READY_TO_EXECUTE);
		} else {
			rdma_req_move(req, RDMA_REQ_NEED_BUFFER);
		}
		return true;
	case RDMA_REQ_NEED_BUFFER:
		if (err) {
			rdma_req_move(req, RDMA_REQ_COMPLETED);
			return true;
		}
		/* FIFO: only the head takes buffers, so big requests are not starved. */
		if (!is_head(req))
			return false;
		rc = env->get_buffers(ctx, req);
		if (rc == -EAGAIN)
			return false;
		if (rc < 0) {
			rdma_req_reject(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
			return true;
		}
		if (req->core.xfer == UNVMF_XFER_HOST_TO_CONTROLLER)
			rdma_req_move(req, RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING);
		else
			rdma_req_move(req, RDMA_REQ_READY_TO_EXECUTE);
		return true;
	case RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING: {
		uint32_t credits, n;

		if (err) {
			rdma_req_move(req, RDMA_REQ_COMPLETED);
			return true;
		}
		if (!is_head(req))
			return false;
		credits = env->read_credits(ctx);
		if (credits == 0)
			return false;
		n = UNVMF_MIN(credits, req->reads_total - req->reads_posted);
		UNVMF_ASSERT(n > 0);
		rc = env->post_reads(ctx, req, n);
		if (rc <= 0) {
			env->fail(ctx, RDMA_EV_QP_ERR_BY_LOCAL, "posting RDMA READs failed");
			return true;
		}
		req->reads_posted += (uint32_t)rc;
		req->wr_outstanding[RDMA_WR_READ] += (uint32_t)rc;
		rdma_req_move(req, RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER);
		return true;
	}
	case RDMA_REQ_TRANSFERRING_HOST_TO_CONTROLLER:
		/* Whatever happened, the NIC still reads into our buffers until its READs complete. */
		if (req->wr_outstanding[RDMA_WR_READ] > 0)
			return false;
		if (err)
			rdma_req_move(req, RDMA_REQ_COMPLETED);
		else if (req->reads_posted < req->reads_total)
			rdma_req_move(req, RDMA_REQ_DATA_TRANSFER_TO_CONTROLLER_PENDING);
		else
			rdma_req_move(req, RDMA_REQ_READY_TO_EXECUTE);
		return true;
	case RDMA_REQ_READY_TO_EXECUTE:
		if (err) {
			rdma_req_move(req, RDMA_REQ_COMPLETED);
			return true;
		}
		rdma_req_move(req, RDMA_REQ_EXECUTING);
		/* May complete at once: rdma_req_exec_done() then moves it to EXECUTED. */
		env->execute(ctx, req);
		return true;
	case RDMA_REQ_EXECUTING:
		/* A bdev cannot be cancelled: drain waits here too. */
		return false;
	case RDMA_REQ_EXECUTED:
		if (err)
			rdma_req_move(req, RDMA_REQ_COMPLETED);
		else if (req->core.xfer == UNVMF_XFER_CONTROLLER_TO_HOST && req->num_bufs > 0 &&
			 req->core.rsp.status.raw == 0)
			rdma_req_move(req, RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING);
		else
			rdma_req_move(req, RDMA_REQ_READY_TO_COMPLETE);
		return true;
	case RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING:
	case RDMA_REQ_READY_TO_COMPLETE:
		if (err) {
			rdma_req_move(req, RDMA_REQ_COMPLETED);
			return true;
		}
		if (!is_head(req))
			return false;
		/*
		 * The capsule is used up (the command has run): its receive goes
		 * back before the response can reach the host, so the host's next
		 * capsule, sent when it sees the response, finds one posted.
		 */
		if (req->recv) {
			env->release_recv(ctx, req);
			req->recv = NULL;
		}
		rc = env->post_response(ctx, req);
		if (rc == RDMA_POST_NO_ROOM)
			return false;
		if (rc < 0) {
			env->fail(ctx, RDMA_EV_QP_ERR_BY_LOCAL, "posting the response failed");
			/* Part of the chain may be the NIC's (env counted it): wait for it. */
			if (req_wrs(req) > 0)
				rdma_req_move(req, RDMA_REQ_COMPLETING);
			return true;
		}
		req->wr_outstanding[RDMA_WR_WRITE] += (uint32_t)rc;
		req->wr_outstanding[RDMA_WR_SEND] += 1;
		rdma_req_move(req, RDMA_REQ_COMPLETING);
		return true;
	case RDMA_REQ_COMPLETING:
		/* The NIC reads our buffers for WRITEs and the response for SEND until they complete. */
		if (req_wrs(req) > 0)
			return false;
		rdma_req_move(req, RDMA_REQ_COMPLETED);
		return true;
	case RDMA_REQ_COMPLETED:
		if (unvmf_unlikely(req_wrs(req) > 0)) {
			/* The NIC still names its buffers: keep them (the reclaim ends the QP). */
			set_violated(req->set, "a request completed while the NIC holds its WRs");
			return false;
		}
		if (req->num_bufs)
			env->put_buffers(ctx, req);
		if (req->recv) {
			env->release_recv(ctx, req);
			req->recv = NULL;
		}
		rdma_req_move(req, RDMA_REQ_FREE);
		return false;
	case RDMA_REQ_NUM_STATES:
		break;
	}
	UNVMF_ASSERT(false);
	return false;
}

void rdma_req_process(struct rdma_req *req)
{
	while (req_step(req))
		;
}

void rdma_req_wr_done(struct rdma_req *req, enum rdma_wr_kind kind, int wc_status)
{
	static const enum rdma_req_event done_event[RDMA_WR_NUM_KINDS] = {
		[RDMA_WR_READ] = RDMA_EV_READ_DONE,
		[RDMA_WR_WRITE] = RDMA_EV_WRITE_DONE,
		[RDMA_WR_SEND] = RDMA_EV_SEND_DONE,
	};
	const struct rdma_req_env *env = req->set->env;

	/* A completion it has none of out: charging it would wrap the count. */
	if (!count_take(req->set, &req->wr_outstanding[kind],
	                "a completion for a request with none of that kind out"))
		return;
	if (wc_status == 0) {
		rdma_req_record(req, done_event[kind]);
	} else {
		/* 5 = IBV_WC_WR_FLUSH_ERR: the QP is already in error. */
		bool flush = wc_status == 5;

		rdma_req_record(req, flush ? RDMA_EV_FLUSH : RDMA_EV_WC_ERROR);
		if (!env->in_error(env->ctx))
			env->fail(env->ctx,
				  flush ? RDMA_EV_QP_ERR_BY_FLUSH : RDMA_EV_QP_ERR_BY_WC_ERROR,
				  flush ? "QP in error (flushed completion)" : "work completion error");
	}
	rdma_req_process(req);
}

void rdma_req_exec_done(struct rdma_req *req)
{
	UNVMF_ASSERT(req->state == RDMA_REQ_EXECUTING);
	rdma_req_record(req, RDMA_EV_EXEC_DONE);
	rdma_req_move(req, RDMA_REQ_EXECUTED);
	/* If execute() completed synchronously, req_step's caller keeps the loop going. */
	rdma_req_process(req);
}

void rdma_req_reject(struct rdma_req *req, uint8_t sct, uint8_t sc)
{
	const struct rdma_req_env *env = req->set->env;

	if (unvmf_unlikely(req_wrs(req) > 0)) {
		set_violated(req->set, "a request the NIC holds WRs of was rejected");
		return;
	}
	/* EXECUTING is where the core's completion finds it (rdma_req_exec_done). */
	rdma_req_move(req, RDMA_REQ_EXECUTING);
	env->reject(env->ctx, req, sct, sc);
}

int rdma_req_set_process_pending(struct rdma_req_set *set)
{
	static const enum rdma_queue_kind order[] = {
		RDMA_QUEUE_PENDING_SEND, RDMA_QUEUE_PENDING_READ, RDMA_QUEUE_PENDING_BUFFER,
	};
	int progressed = 0;

	for (unsigned i = 0; i < UNVMF_ARRAY_SIZE(order); i++) {
		struct rdma_req_queue *q = &set->queues[order[i]];

		for (;;) {
			struct rdma_req *head = TAILQ_FIRST(&q->head);
			uint64_t gen;
			enum rdma_req_state before;

			if (!head)
				break;
			gen = head->generation;
			before = head->state;
			rdma_req_record(head, RDMA_EV_PROCESS);
			rdma_req_process(head);
			if (head->state == before && head->generation == gen)
				break;
			progressed++;
		}
	}
	return progressed;
}

void rdma_req_set_drain(struct rdma_req_set *set)
{
	for (uint32_t i = 0; i < set->num_reqs; i++) {
		struct rdma_req *req = &set->reqs[i];

		if (req->state == RDMA_REQ_FREE)
			continue;
		rdma_req_record(req, set->err_event);
		rdma_req_process(req);
	}
}

bool rdma_req_set_drained(const struct rdma_req_set *set)
{
	if (set->state_count[RDMA_REQ_FREE] != set->num_reqs)
		return false;
	for (uint32_t i = 0; i < set->num_reqs; i++) {
		if (req_wrs(&set->reqs[i]) > 0)
			return false;
	}
	return true;
}

int rdma_req_set_check(const struct rdma_req_set *set)
{
	uint32_t counted[RDMA_QUEUE_NUM] = {0};
	uint32_t in_none = 0, total = 0;

	for (unsigned q = 1; q < RDMA_QUEUE_NUM; q++) {
		const struct rdma_req *req;
		uint32_t n = 0;

		TAILQ_FOREACH(req, &set->queues[q].head, link) {
			if (req->queue != q) {
				LOG_ERR("request %u linked on %s but records %s", req->index,
					rdma_queue_name(q), rdma_queue_name(req->queue));
				return -EFAULT;
			}
			if (++n > set->num_reqs) {
				LOG_ERR("queue %s is corrupt (cycle)", rdma_queue_name(q));
				return -EFAULT;
			}
		}
		if (n != set->queues[q].len) {
			LOG_ERR("queue %s: %u linked, length says %u", rdma_queue_name(q), n,
				set->queues[q].len);
			return -EFAULT;
		}
		total += n;
	}
	for (uint32_t i = 0; i < set->num_reqs; i++) {
		const struct rdma_req *req = &set->reqs[i];

		if (req->queue != rdma_state_queue[req->state]) {
			LOG_ERR("request %u in %s records queue %s (state requires %s)", req->index,
				rdma_req_state_name(req->state), rdma_queue_name(req->queue),
				rdma_queue_name(rdma_state_queue[req->state]));
			return -EFAULT;
		}
		counted[req->queue]++;
		if (req->queue == RDMA_QUEUE_NONE)
			in_none++;
		if ((req->state == RDMA_REQ_FREE || req->state == RDMA_REQ_COMPLETED) &&
		    req_wrs(req) > 0) {
			LOG_ERR("request %u is %s while the NIC holds %u of its WRs", req->index,
				rdma_req_state_name(req->state), req_wrs(req));
			return -EFAULT;
		}
	}
	for (unsigned q = 1; q < RDMA_QUEUE_NUM; q++) {
		if (counted[q] != set->queues[q].len) {
			LOG_ERR("queue %s: %u requests record it, %u linked", rdma_queue_name(q),
				counted[q], set->queues[q].len);
			return -EFAULT;
		}
	}
	if (total + in_none != set->num_reqs) {
		LOG_ERR("queues hold %u and %u are in flight, but the qpair has %u requests", total,
			in_none, set->num_reqs);
		return -EFAULT;
	}
	return 0;
}
