/*
 * Model of unvmf's NVMe/RDMA request state machine and its queues
 * (docs/RDMA-STATE-MACHINE.md, src/transport/rdma/rdma_req.c).
 *
 * Two requests share one qpair: one data buffer (so NEED_BUFFER is reached),
 * an RDMA READ depth of 1 and writes needing 2 READs (so a write is fetched
 * in two batches: the seed's case), WR counts per request, a QP error at any
 * moment, flush completions after it, and a bdev that completes whenever it
 * likes. Checked: every request is linked on exactly the queue its state
 * requires; no request is FREE while the NIC holds a WR naming it; buffer
 * conservation; and after a QP error every request reaches FREE and the
 * qpair is destroyed (LTL "drain", and no invalid end state).
 *
 * -DSPDK_PREFIX_BUG models SPDK before 4e45c5636b: membership is implied by
 * state, a batched write stays linked on PENDING_READ while it transfers, and
 * the error path moves it on without unlinking. spin must find a violation.
 */
#define N 2
#define BUFS 1
#define READ_DEPTH 1
#define READS_PER_WRITE 2

/* states */
#define FREE 0
#define NEW 1
#define NEED_BUFFER 2
#define DATA_TO_CTRLR_PENDING 3
#define TRANSFERRING_TO_CTRLR 4
#define READY_TO_EXECUTE 5
#define EXECUTING 6
#define EXECUTED 7
#define DATA_TO_HOST_PENDING 8
#define READY_TO_COMPLETE 9
#define COMPLETING 10
#define COMPLETED 11

/* queues */
#define QNONE 0
#define QFREE 1
#define QBUF 2
#define QREAD 3
#define QSEND 4
#define NQ 5

/* command kinds */
#define NODATA 0
#define WRITE 1
#define READ 2

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
bit destroyed = 0;

inline qof(s, out) {
	if
	:: s == FREE -> out = QFREE
	:: s == NEED_BUFFER -> out = QBUF
	:: s == DATA_TO_CTRLR_PENDING -> out = QREAD
	:: s == DATA_TO_HOST_PENDING || s == READY_TO_COMPLETE -> out = QSEND
	:: else -> out = QNONE
	fi
}

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
	inq[r].on[QNONE] = 0;
}

inline release(r) {
	if
	:: has_buf[r] -> has_buf[r] = 0; bufs_free++
	:: else -> skip
	fi
}

inline check(r) {
	/* Linked on exactly the queue recorded, and that is the queue of its state. */
	assert(inq[r].on[QFREE] + inq[r].on[QBUF] + inq[r].on[QREAD] + inq[r].on[QSEND] <= 1);
	/* A free request is linked only on the free list. */
	assert(st[r] != FREE || inq[r].on[QFREE] + inq[r].on[QBUF] + inq[r].on[QREAD] + inq[r].on[QSEND] == 1);
#ifndef SPDK_PREFIX_BUG
	/* SPDK had no recorded queue; ours must agree with reality and with the state. */
	assert(q[r] == QNONE || inq[r].on[q[r]]);
	qof(st[r], tmpq);
	assert(q[r] == tmpq);
#endif
	/* The NIC never holds a WR naming a free request. */
	assert(st[r] != FREE || (reads_out[r] == 0 && sends_out[r] == 0));
	assert(st[r] != COMPLETED || (reads_out[r] == 0 && sends_out[r] == 0));
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

#define STEP(r) \
	:: atomic { st[r] == FREE && !qp_err -> \
		if :: kind[r] = NODATA :: kind[r] = WRITE :: kind[r] = READ fi; \
		move(r, NEW); check_all() } \
	:: atomic { st[r] == NEW -> \
		if \
		:: qp_err -> move(r, COMPLETED) \
		:: !qp_err && kind[r] == NODATA -> move(r, READY_TO_EXECUTE) \
		:: !qp_err && kind[r] != NODATA -> move(r, NEED_BUFFER) \
		fi; check_all() } \
	:: atomic { st[r] == NEED_BUFFER && qp_err -> move(r, COMPLETED); check_all() } \
	:: atomic { st[r] == NEED_BUFFER && !qp_err && bufs_free > 0 -> \
		bufs_free--; has_buf[r] = 1; \
		if \
		:: kind[r] == WRITE -> reads_left[r] = READS_PER_WRITE; move(r, DATA_TO_CTRLR_PENDING) \
		:: else -> move(r, READY_TO_EXECUTE) \
		fi; check_all() } \
	:: atomic { st[r] == DATA_TO_CTRLR_PENDING && qp_err -> release(r); move(r, COMPLETED); check_all() } \
	:: atomic { st[r] == DATA_TO_CTRLR_PENDING && !qp_err && credits > 0 -> \
		credits--; reads_out[r]++; reads_left[r]--; \
		SPDK_BATCH_MOVE(r); check_all() } \
	:: atomic { st[r] == TRANSFERRING_TO_CTRLR && reads_out[r] > 0 -> \
		wr_completes(); reads_out[r]--; credits++; \
		if \
		:: reads_out[r] > 0 -> skip \
		:: reads_out[r] == 0 && qp_err -> release(r); move(r, COMPLETED) \
		:: reads_out[r] == 0 && !qp_err && reads_left[r] > 0 -> SPDK_BATCH_BACK(r) \
		:: reads_out[r] == 0 && !qp_err && reads_left[r] == 0 -> move(r, READY_TO_EXECUTE) \
		fi; check_all() } \
	:: atomic { st[r] == READY_TO_EXECUTE -> \
		if :: qp_err -> release(r); move(r, COMPLETED) :: else -> move(r, EXECUTING) fi; \
		check_all() } \
	:: atomic { st[r] == EXECUTING -> move(r, EXECUTED); check_all() } \
	:: atomic { st[r] == EXECUTED -> \
		if \
		:: qp_err -> release(r); move(r, COMPLETED) \
		:: !qp_err && kind[r] == READ -> move(r, DATA_TO_HOST_PENDING) \
		:: !qp_err && kind[r] != READ -> move(r, READY_TO_COMPLETE) \
		fi; check_all() } \
	:: atomic { (st[r] == DATA_TO_HOST_PENDING || st[r] == READY_TO_COMPLETE) -> \
		if \
		:: qp_err -> release(r); move(r, COMPLETED) \
		:: !qp_err && st[r] == DATA_TO_HOST_PENDING -> sends_out[r] = 2; move(r, COMPLETING) \
		:: !qp_err && st[r] == READY_TO_COMPLETE -> sends_out[r] = 1; move(r, COMPLETING) \
		fi; check_all() } \
	:: atomic { st[r] == COMPLETING && sends_out[r] > 0 -> \
		wr_completes(); sends_out[r]--; \
		if \
		:: sends_out[r] == 0 -> release(r); move(r, COMPLETED) \
		:: else -> skip \
		fi; check_all() } \
	:: atomic { st[r] == COMPLETED -> move(r, FREE); check_all() }

#ifdef SPDK_PREFIX_BUG
/* A batched write stays linked on PENDING_READ while it transfers (SPDK kept it there). */
#define SPDK_BATCH_MOVE(r) \
	if \
	:: reads_left[r] > 0 -> st[r] = TRANSFERRING_TO_CTRLR; q[r] = QREAD \
	:: else -> inq[r].on[QREAD] = 0; st[r] = TRANSFERRING_TO_CTRLR; q[r] = QNONE \
	fi
#define SPDK_BATCH_BACK(r) st[r] = DATA_TO_CTRLR_PENDING; q[r] = QREAD
#else
#define SPDK_BATCH_MOVE(r) move(r, TRANSFERRING_TO_CTRLR)
#define SPDK_BATCH_BACK(r) move(r, DATA_TO_CTRLR_PENDING)
#endif

active proctype qpair()
{
	byte r;

	for (r : 0 .. N - 1) {
		st[r] = FREE; q[r] = QFREE; inq[r].on[QFREE] = 1
	}
	do
	STEP(0)
	STEP(1)
	:: atomic { !qp_err -> qp_err = 1 }	/* CM disconnect, QP fatal, keep-alive, injected */
	:: atomic { qp_err && st[0] == FREE && st[1] == FREE -> \
		assert(reads_out[0] + reads_out[1] + sends_out[0] + sends_out[1] == 0); \
		assert(bufs_free == BUFS); \
		destroyed = 1; break }
	od
}

ltl drain { [] (qp_err -> <> destroyed) }
