#pragma once
/*
 * A hostile host for the sim campaign (--hostile): one more host, on its own
 * node and with its own host NQN, that spends the seed on episodes of
 * misbehaviour, one at a time. Each episode sets up what it needs (a
 * controller, an I/O queue), does one hostile action, and checks that the
 * target answered it as the protocol says: only the offending command fails
 * (with the right status) or only the offending qpair ends (with the right
 * counter moving), within a bound. The well-behaved hosts of the seed are the
 * bystanders: sim_run.c checks that they never fail and that their data
 * verifies at the end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_host.h"

enum sim_hostile_action {
	SIM_HA_SGL_LONGER,	/* read with an SGL longer than the data: bytes past it untouched */
	SIM_HA_SGL_SHORTER,	/* read with an SGL shorter than the data: DATA_SGL_LENGTH_INVALID */
	SIM_HA_BAD_KEY,		/* write naming an rkey the host never registered */
	SIM_HA_BAD_OFFSET,	/* read whose address lies past the end of its MR */
	SIM_HA_CAPSULE_FLOOD,	/* twice the queue size of capsules, no receives for responses */
	SIM_HA_NO_RECV,		/* no receive posted for a response */
	SIM_HA_SHORT_CAPSULE,	/* a capsule shorter than a command */
	SIM_HA_BIG_CAPSULE,	/* a capsule longer than the target's receive buffers */
	SIM_HA_NO_CONNECT,	/* RDMA-CM connections that never send Fabrics Connect */
	SIM_HA_DUP_QID,		/* the same I/O qid connected twice on one controller */
	SIM_HA_AER_FLOOD,	/* more Asynchronous Event Requests than AERL allows */
	SIM_HA_ABORT_FLOOD,	/* a queue full of Aborts for commands that do not exist */
	SIM_HA_NUM,
};

enum sim_hostile_outcome {
	SIM_HO_OK,		/* the command succeeded; the qpair serves on */
	SIM_HO_STATUS,		/* the command failed with its status; the qpair serves on */
	SIM_HO_QP_ENDED,	/* the target ended the qpair */
	SIM_HO_WRONG,		/* anything else: wrong status, bytes past the data, ... */
	SIM_HO_HANG,		/* nothing happened within the bound */
	SIM_HO_NUM,
};

/* Which target counter moved while an episode ran (a bit each). */
enum sim_hostile_cause {
	SIM_HC_BEYOND_QUEUE = 1,	/* capsules_beyond_queue */
	SIM_HC_RNR = 2,			/* rnr_retry_exceeded */
	SIM_HC_CONNECT_TIMEOUT = 4,	/* connect_timeouts */
};

struct sim_hostile {
	struct sim_world *w;
	struct rdma_sim_node *node;
	const struct rdma_provider *prov;
	struct rdma_prov_ctx *ctx;
	struct rdma_prov_channel *ch;
	struct rdma_prov_pd *pd;
	uint64_t rng;
	uint16_t max_qsize;	/* the target's max_queue_depth */
	uint32_t capsule_size;	/* the target's receive buffer (command + in-capsule data) */
	bool no_srq;		/* the target's qpairs have their own receive queues */
	uint32_t connect_timeout_ms;	/* the target's; a step is one virtual ms */
	struct sim_hq *qs;	/* admin, I/O, and the extra ones of an episode */
	uint32_t num_qs;
	struct sim_episode *ep;
	bool stopped;
	char failure[256];	/* the first episode that went wrong, for the seed's verdict */
};

const char *sim_hostile_action_name(enum sim_hostile_action a);
const char *sim_hostile_outcome_name(enum sim_hostile_outcome o);
/* The outcome each action must have. */
enum sim_hostile_outcome sim_hostile_expected(enum sim_hostile_action a);

int sim_hostile_init(struct sim_hostile *x, struct sim_world *w, struct rdma_sim_node *node,
		     uint64_t seed, uint16_t max_qsize, uint32_t capsule_size, bool no_srq,
		     uint32_t connect_timeout_ms);
/* One step of the current episode (or the pause between two). */
void sim_hostile_poll(struct sim_hostile *x);
/* Ends the current episode (its outcome is not counted if it had none yet) and stops. */
void sim_hostile_stop(struct sim_hostile *x);
/* Frees every connection and the host's context; call after sim_hostile_stop. */
void sim_hostile_fini(struct sim_hostile *x);

/* The campaign: sums a seed's hostile figures, writes their table, counts what was missed. */
void sim_hostile_stats_merge(struct sim_stats *to, const struct sim_stats *from);
void sim_hostile_report(FILE *f, const struct sim_stats *t);
/*
 * Actions that never reached their expected outcome (and a capsule flood that
 * never moved capsules_beyond_queue); listed on f when not NULL.
 */
unsigned sim_hostile_unreached(const struct sim_stats *t, FILE *f);
