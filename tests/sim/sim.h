#pragma once
/*
 * tests/sim: the seeded fault-simulation campaign of the NVMe/RDMA target.
 *
 *   sim_main.c    command line, campaign (one forked child per seed), shrinker, report
 *   sim_run.c     one seed: topology, workload, fault schedule, invariants, end checks
 *   sim_host.c    hosts played at the provider seam, event-driven (never busy-waits)
 *   sim_faults.c  fault schedule: generation, text form (the replay line), arming
 *
 * Everything runs on one thread: the target's reactors in manual mode with a
 * virtual clock, the sim fabric stepped explicitly, the hosts polled in
 * between. Same seed + same schedule => same run.
 */
#include <stdbool.h>
#include <stdint.h>

#include "transport/rdma/rdma_req.h"

#define SIM_MAX_FAULTS 64
#define SIM_MAX_HOSTS 4
#define SIM_MAX_IOQ 8
/* Sizes of the hostile-host tables (sim_hostile.h checks them against its enums). */
#define SIM_HOSTILE_ACTIONS 12
#define SIM_HOSTILE_OUTCOMES 5
#define SIM_HOSTILE_CAUSES 3

enum sim_fault_kind {
	SIM_FAULT_QP_ERR_BEFORE,	/* target QP to ERR before its nth WR of opcode */
	SIM_FAULT_QP_ERR_AFTER,		/* ... after it */
	SIM_FAULT_FAIL_WR,		/* the nth WR of opcode completes with status */
	SIM_FAULT_HOST_FAIL_WR,		/* the same on the host's QP */
	SIM_FAULT_DISCONNECT,		/* CM DISCONNECTED on the target side only */
	SIM_FAULT_DISCONNECT_BOTH,	/* CM disconnect seen by both */
	SIM_FAULT_NODE_CUT,		/* the host vanishes for arg steps, no disconnect */
	SIM_FAULT_KEEPALIVE_STOP,	/* the host stops keep-alives: the target's KATO expires */
	SIM_FAULT_BDEV_FAIL,		/* the next arg bdev I/Os fail */
	SIM_FAULT_BDEV_SLOW,		/* bdev completions take at least arg us, for a while */
	/*
	 * From `at` on, the first target qpair with a request waiting in state
	 * arg is put in error with the cause nth % SIM_ERR_NUM_CAUSES (enum
	 * sim_err_cause). For the states a request passes through within one
	 * poll (NEW, READY_TO_EXECUTE, EXECUTED, COMPLETED) the transport's own
	 * trap is armed instead: it fires at the transition itself.
	 */
	SIM_FAULT_ERR_IN_STATE,
	SIM_FAULT_ASYNC,		/* QP_FATAL on the target's QP */
	SIM_FAULT_POST_FAIL,		/* the target's nth post_send of opcode is refused */
	SIM_FAULT_NUM_KINDS,
};

/* How SIM_FAULT_ERR_IN_STATE puts the qpair in error: one per QP_ERR_BY_* cause. */
enum sim_err_cause {
	SIM_ERR_QP_TO_ERR,	/* QP to ERR under the transport: QP_ERR_BY_FLUSH */
	SIM_ERR_INJECT,		/* nvmf_rdma_inject_fault "disconnect": QP_ERR_BY_INJECT */
	SIM_ERR_CM,		/* CM DISCONNECTED on the target's id: QP_ERR_BY_CM */
	SIM_ERR_ASYNC,		/* QP_FATAL: QP_ERR_BY_ASYNC */
	SIM_ERR_CORE,		/* the core disconnects it: QP_ERR_BY_CORE */
	SIM_ERR_WC,		/* the QP's next WR fails: QP_ERR_BY_WC_ERROR */
	SIM_ERR_POST,		/* its next post_send is refused: QP_ERR_BY_LOCAL */
	SIM_ERR_NUM_CAUSES,
};

/* The target WR opcodes of the fail_wr matrix (RDMA_PROV_WR_ANY is a match mode, not an opcode). */
#define SIM_MATRIX_OPS 5
extern const uint8_t g_sim_matrix_ops[SIM_MATRIX_OPS];

struct sim_fault {
	enum sim_fault_kind kind;
	uint32_t at;		/* simulation step at which it is armed / applied */
	uint8_t host;
	uint8_t qp;		/* 0 = admin, 1.. = I/O qpair */
	uint8_t opcode;		/* enum rdma_prov_wr_opcode */
	uint8_t status;		/* enum rdma_prov_wc_status */
	uint32_t nth;
	uint32_t arg;
};

struct sim_schedule {
	struct sim_fault faults[SIM_MAX_FAULTS];
	uint32_t num;
};

/* Figures a seed adds to the campaign (lives in shared memory across forks). */
struct sim_stats {
	uint64_t seeds;
	uint64_t steps;
	uint64_t ios;
	uint64_t ios_ok;
	uint64_t reconnects;
	uint64_t faults_by_kind[SIM_FAULT_NUM_KINDS];
	uint64_t faults_fired;
	uint64_t wc_error_status[32];
	/* Target-side fail_wr faults that fired, by [opcode][status] (the WC-error matrix). */
	uint64_t fail_wr_fired[8][32];
	uint64_t coverage[RDMA_REQ_NUM_STATES];
	uint64_t failures;
	/* --hostile: episodes by [enum sim_hostile_action][enum sim_hostile_outcome]. */
	uint64_t hostile[SIM_HOSTILE_ACTIONS][SIM_HOSTILE_OUTCOMES];
	/* ... and which target counter moved, by [action][cause bit]. */
	uint64_t hostile_cause[SIM_HOSTILE_ACTIONS][SIM_HOSTILE_CAUSES];
};

#define SIM_WHY_LEN 512

struct sim_result {
	bool failed;
	char why[SIM_WHY_LEN];
};

/* sim_faults.c */
const char *sim_fault_kind_name(enum sim_fault_kind kind);
void sim_schedule_generate(uint64_t seed, uint32_t steps, uint32_t hosts, struct sim_schedule *s);
/* Text form: "kind:at:host:qp:opcode:status:nth:arg,..." ("-" = empty). */
int sim_schedule_format(const struct sim_schedule *s, char *buf, size_t len);
int sim_schedule_parse(const char *text, struct sim_schedule *s);

/* Hosts also send reads whose SGL is longer than their data (--sgl-beyond-data). */
extern bool g_sim_sgl_beyond_data;
/* One more host that misbehaves on purpose; the others must not notice (--hostile). */
extern bool g_sim_hostile;

/* sim_run.c: runs one seed with schedule s (NULL = generate from the seed). */
int sim_run_seed(uint64_t seed, const struct sim_schedule *s, struct sim_stats *stats,
		 struct sim_result *res, bool verbose);

/* 64-bit mixer used for every random choice (splitmix64). */
static inline uint64_t sim_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t sim_range(uint64_t *state, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(sim_rand(state) % (uint64_t)(hi - lo + 1));
}
