/*
 * Model of unvmf's NVMe/RDMA request state machine and its queues
 * (docs/RDMA-STATE-MACHINE.md, src/transport/rdma/rdma_req.c).
 *
 * The states, the queues, the queue of each state and the moves the code
 * allows are not written here: rdma_req_tables.pml is printed by
 * rdma-req-tables from the transport's own rdma_state_queue[] and
 * rdma_req_moves[] (check.sh). Every move below is MOVE(r, FROM, TO): spin
 * asserts that the request really is in FROM and that the code's table has
 * FROM -> TO, and check.sh compares the set of MOVEs written here with the
 * table and with the moves req_step() makes, both ways.
 *
 * Two requests share one qpair: one data buffer (so NEED_BUFFER is reached),
 * an RDMA READ depth of 1 and writes needing 2 READs (so a write is fetched
 * in two batches: the seed's case), WR counts per request, a QP error at any
 * moment, flush completions after it, and a bdev that completes whenever it
 * likes. Also: bad SGLs and Aborts answered through the core (reject: into
 * EXECUTING), posts the provider refuses whole or takes only part of (the
 * part it took is counted and waited for), a NIC that stops reporting once
 * the QP is in error (no flushes, ever), and the reclaim bound that then
 * destroys the QP and accounts its WRs as reaped.
 *
 * Checked: every request is linked on exactly the queue its state requires;
 * no request is FREE or COMPLETED while the NIC holds a WR naming it; buffer
 * conservation; and after a QP error every request reaches FREE and the
 * qpair is destroyed (LTL "drain", and no invalid end state), whatever the
 * NIC does.
 *
 * Negative controls (each must be rejected by spin):
 *   -DSPDK_PREFIX_BUG  SPDK before 4e45c5636b: membership implied by state, a
 *                      batched write stays linked on PENDING_READ while it
 *                      transfers, and the error path moves it without unlinking.
 *   -DABORT_BUG        an Abort answered by hand: the response is built and
 *                      the state set without the move function.
 *   -DPARTIAL_BUG      a post the provider took only part of is taken for
 *                      "no room, wait": the NIC still holds WRs of a request
 *                      the drain then completes.
 *   -DNO_RECLAIM       no reclaim bound: a NIC that stops reporting keeps the
 *                      qpair forever.
 */
#include "rdma_req_tables.pml"

#define N 2
#define BUFS 1
#define READ_DEPTH 1
#define READS_PER_WRITE 2

/* command kinds */
#define K_NODATA 0
#define K_WRITE 1
#define K_READ 2

typedef links { bit on[NQ] };

byte st[N];
byte q[N];		/* the queue recorded on the request */
links inq[N];		/* where it is really linked */
byte kind[N];
byte reads_left[N];
byte reads_out[N];
byte sends_out[N];
bit has_buf[N];
byte credits = READ_DEPTH;
byte bufs_free = BUFS;
bit qp_err = 0;
bit nic_silent = 0;	/* the NIC reports nothing more (dead HCA, removed device) */
bit reclaimed = 0;
bit destroyed = 0;

byte tmpq;

/* The one move function: unlink from the recorded queue, link where the new state says. */
inline move(r, ns) {
#ifdef SPDK_PREFIX_BUG
	/* SPDK: the queue to leave is inferred from the state. */
	qof(st[r], tmpq);
	inq[r].on[tmpq] = 0;
#else
	inq[r].on[q[r]] = 0;
#endif
	st[r] = ns;
	qof(ns, tmpq);
	q[r] = tmpq;
	inq[r].on[tmpq] = 1;
	inq[r].on[Q_NONE] = 0;
}

/* A move the code makes: from the state named, allowed by rdma_req_moves[]. */
#ifndef MOVE	/* check.sh defines it to list the moves */
#define MOVE(r, from, to) assert(st[r] == from); assert(MOVE_OK(from, to)); move(r, to)
#endif

inline release(r) {
	if
	:: has_buf[r] -> has_buf[r] = 0; bufs_free++
	:: else -> skip
	fi
}

inline check(r) {
	/* Linked on exactly the queue recorded, and that is the queue of its state. */
	assert(inq[r].on[Q_FREE] + inq[r].on[Q_PENDING_BUFFER] + inq[r].on[Q_PENDING_READ] + inq[r].on[Q_PENDING_SEND] <= 1);
	/* A free request is linked only on the free list. */
	assert(st[r] != S_FREE || inq[r].on[Q_FREE] + inq[r].on[Q_PENDING_BUFFER] + inq[r].on[Q_PENDING_READ] + inq[r].on[Q_PENDING_SEND] == 1);
#ifndef SPDK_PREFIX_BUG
	/* SPDK had no recorded queue; ours must agree with reality and with the state. */
	assert(q[r] == Q_NONE || inq[r].on[q[r]]);
	qof(st[r], tmpq);
	assert(q[r] == tmpq);
#endif
	/* The NIC never holds a WR naming a free or completed request. */
	assert(st[r] != S_FREE || (reads_out[r] == 0 && sends_out[r] == 0));
	assert(st[r] != S_COMPLETED || (reads_out[r] == 0 && sends_out[r] == 0));
}

inline check_all() {
	check(0);
	check(1);
	assert(bufs_free + has_buf[0] + has_buf[1] == BUFS);
}

/* A WR completion: success, or (any time) an error that puts the QP in ERR; flush once in ERR. */
inline wr_completes() {
	if
	:: !qp_err -> skip
	:: !qp_err -> qp_err = 1	/* e.g. RETRY_EXC_ERR on this WR */
	:: qp_err -> skip		/* WR_FLUSH_ERR */
	fi
}

/* The NIC still reports completions: always, until the QP is in error and it goes silent. */
#define NIC_REPORTS (!qp_err || !nic_silent)

#define STEP(r) \
	:: atomic { st[r] == S_FREE && !qp_err -> \
		if :: kind[r] = K_NODATA :: kind[r] = K_WRITE :: kind[r] = K_READ fi; \
		MOVE(r, S_FREE, S_NEW); check_all() } \
	:: atomic { st[r] == S_NEW -> \
		if \
		:: qp_err -> MOVE(r, S_NEW, S_COMPLETED) \
		:: !qp_err -> qp_err = 1; MOVE(r, S_NEW, S_COMPLETED)	/* unparsable capsule */ \
		:: !qp_err -> MOVE(r, S_NEW, S_EXECUTING)	/* bad SGL: rdma_req_reject */ \
		:: !qp_err && kind[r] == K_NODATA -> MOVE(r, S_NEW, S_READY_TO_EXECUTE) \
		:: !qp_err && kind[r] != K_NODATA -> MOVE(r, S_NEW, S_NEED_BUFFER) \
		fi; check_all() } \
	:: atomic { st[r] == S_NEED_BUFFER && qp_err -> MOVE(r, S_NEED_BUFFER, S_COMPLETED); check_all() } \
	:: atomic { st[r] == S_NEED_BUFFER -> ABORT(r); check_all() } \
	:: atomic { st[r] == S_NEED_BUFFER && !qp_err && bufs_free > 0 -> \
		bufs_free--; has_buf[r] = 1; \
		if \
		:: kind[r] == K_WRITE -> reads_left[r] = READS_PER_WRITE; \
			MOVE(r, S_NEED_BUFFER, S_DATA_TRANSFER_TO_CONTROLLER_PENDING) \
		:: else -> MOVE(r, S_NEED_BUFFER, S_READY_TO_EXECUTE) \
		fi; check_all() } \
	:: atomic { st[r] == S_DATA_TRANSFER_TO_CONTROLLER_PENDING && qp_err -> \
		MOVE(r, S_DATA_TRANSFER_TO_CONTROLLER_PENDING, S_COMPLETED); check_all() } \
	:: atomic { st[r] == S_DATA_TRANSFER_TO_CONTROLLER_PENDING && !qp_err && credits > 0 -> \
		if \
		:: credits--; reads_out[r]++; reads_left[r]--; SPDK_BATCH_MOVE(r) \
		:: qp_err = 1	/* the provider refused the READ: nothing posted */ \
		fi; check_all() } \
	:: atomic { st[r] == S_TRANSFERRING_HOST_TO_CONTROLLER && reads_out[r] > 0 && NIC_REPORTS -> \
		wr_completes(); reads_out[r]--; credits++; \
		if \
		:: reads_out[r] > 0 -> skip \
		:: reads_out[r] == 0 && qp_err -> MOVE(r, S_TRANSFERRING_HOST_TO_CONTROLLER, S_COMPLETED) \
		:: reads_out[r] == 0 && !qp_err && reads_left[r] > 0 -> SPDK_BATCH_BACK(r) \
		:: reads_out[r] == 0 && !qp_err && reads_left[r] == 0 -> \
			MOVE(r, S_TRANSFERRING_HOST_TO_CONTROLLER, S_READY_TO_EXECUTE) \
		fi; check_all() } \
	:: atomic { st[r] == S_TRANSFERRING_HOST_TO_CONTROLLER && reads_out[r] == 0 && qp_err -> \
		MOVE(r, S_TRANSFERRING_HOST_TO_CONTROLLER, S_COMPLETED); check_all() } \
	:: atomic { st[r] == S_READY_TO_EXECUTE -> \
		if \
		:: qp_err -> MOVE(r, S_READY_TO_EXECUTE, S_COMPLETED) \
		:: else -> MOVE(r, S_READY_TO_EXECUTE, S_EXECUTING) \
		fi; check_all() } \
	:: atomic { st[r] == S_EXECUTING -> MOVE(r, S_EXECUTING, S_EXECUTED); check_all() } \
	:: atomic { st[r] == S_EXECUTED -> \
		if \
		:: qp_err -> MOVE(r, S_EXECUTED, S_COMPLETED) \
		:: !qp_err && kind[r] == K_READ && has_buf[r] -> MOVE(r, S_EXECUTED, S_DATA_TRANSFER_TO_HOST_PENDING) \
		:: !qp_err -> MOVE(r, S_EXECUTED, S_READY_TO_COMPLETE)	/* no data, or an error status */ \
		fi; check_all() } \
	:: atomic { st[r] == S_DATA_TRANSFER_TO_HOST_PENDING -> \
		if \
		:: qp_err -> MOVE(r, S_DATA_TRANSFER_TO_HOST_PENDING, S_COMPLETED) \
		:: !qp_err -> sends_out[r] = 2; MOVE(r, S_DATA_TRANSFER_TO_HOST_PENDING, S_COMPLETING) \
		:: !qp_err -> qp_err = 1	/* refused whole: nothing is the NIC's */ \
		:: !qp_err -> sends_out[r] = 1; qp_err = 1; PARTIAL_POSTED(r)	/* the WRITE taken, not the SEND */ \
		fi; check_all() } \
	:: atomic { st[r] == S_READY_TO_COMPLETE -> \
		if \
		:: qp_err -> MOVE(r, S_READY_TO_COMPLETE, S_COMPLETED) \
		:: !qp_err -> sends_out[r] = 1; MOVE(r, S_READY_TO_COMPLETE, S_COMPLETING) \
		:: !qp_err -> qp_err = 1	/* refused */ \
		fi; check_all() } \
	:: atomic { st[r] == S_COMPLETING && sends_out[r] > 0 && NIC_REPORTS -> \
		wr_completes(); sends_out[r]--; \
		if \
		:: sends_out[r] == 0 -> MOVE(r, S_COMPLETING, S_COMPLETED) \
		:: else -> skip \
		fi; check_all() } \
	:: atomic { st[r] == S_COMPLETING && sends_out[r] == 0 -> MOVE(r, S_COMPLETING, S_COMPLETED); check_all() } \
	:: atomic { st[r] == S_COMPLETED -> release(r); MOVE(r, S_COMPLETED, S_FREE); check_all() }

#ifdef SPDK_PREFIX_BUG
/* A batched write stays linked on PENDING_READ while it transfers (SPDK kept it there). */
#define SPDK_BATCH_MOVE(r) \
	if \
	:: reads_left[r] > 0 -> st[r] = S_TRANSFERRING_HOST_TO_CONTROLLER; q[r] = Q_PENDING_READ \
	:: else -> inq[r].on[Q_PENDING_READ] = 0; st[r] = S_TRANSFERRING_HOST_TO_CONTROLLER; q[r] = Q_NONE \
	fi
#define SPDK_BATCH_BACK(r) st[r] = S_DATA_TRANSFER_TO_CONTROLLER_PENDING; q[r] = Q_PENDING_READ
#else
#define SPDK_BATCH_MOVE(r) MOVE(r, S_DATA_TRANSFER_TO_CONTROLLER_PENDING, S_TRANSFERRING_HOST_TO_CONTROLLER)
#define SPDK_BATCH_BACK(r) MOVE(r, S_TRANSFERRING_HOST_TO_CONTROLLER, S_DATA_TRANSFER_TO_CONTROLLER_PENDING)
#endif

#ifdef ABORT_BUG
/* The Abort's response built by hand: the state set, the queue never left. */
#define ABORT(r) st[r] = S_READY_TO_COMPLETE
#else
/* An Abort of a command still waiting for buffers: answered through the core (reject). */
#define ABORT(r) MOVE(r, S_NEED_BUFFER, S_EXECUTING)
#endif

#ifdef PARTIAL_BUG
/* The old "-EAGAIN after a partial post": taken for no room, the request waits to post again. */
#define PARTIAL_POSTED(r) skip
#else
/* What the provider took is the NIC's: wait for its completions in COMPLETING. */
#define PARTIAL_POSTED(r) MOVE(r, S_DATA_TRANSFER_TO_HOST_PENDING, S_COMPLETING)
#endif

active proctype qpair()
{
	byte r;

	for (r : 0 .. N - 1) {
		st[r] = S_FREE; q[r] = Q_FREE; inq[r].on[Q_FREE] = 1
	}
	do
	STEP(0)
	STEP(1)
	:: atomic { !qp_err -> qp_err = 1 }	/* CM disconnect, QP fatal, keep-alive, injected */
	:: atomic { qp_err && !nic_silent -> nic_silent = 1 }	/* no flush, no completion, ever */
#ifndef NO_RECLAIM
	/*
	 * The reclaim bound (rdma_reclaim.c): past reclaim_timeout_ms the QP is
	 * destroyed and every WR it held counts as reaped.
	 */
	:: atomic { qp_err && !reclaimed && reads_out[0] + reads_out[1] + sends_out[0] + sends_out[1] > 0 -> \
		reclaimed = 1; reads_out[0] = 0; reads_out[1] = 0; sends_out[0] = 0; sends_out[1] = 0; \
		credits = READ_DEPTH; check_all() }
#endif
	:: atomic { qp_err && st[0] == S_FREE && st[1] == S_FREE -> \
		assert(reads_out[0] + reads_out[1] + sends_out[0] + sends_out[1] == 0); \
		assert(bufs_free == BUFS); \
		destroyed = 1; break }
	od
}

ltl drain { [] (qp_err -> <> destroyed) }
