/*
 * One seed: the target on manual reactors with a virtual clock, 1-4 hosts
 * at the provider seam, a random workload and the seed's fault schedule.
 * The target's own debug invariants (rdma_group_check: one queue per
 * request, counts, WR counts against the sim, buffer conservation) run
 * after every poll of every group; an assertion aborts the run, and the
 * campaign reports the seed with its replay line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdev/bdev.h"
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "sim.h"
#include "sim_host.h"
#include "sim_hostile.h"
#include "transport/rdma/rdma_internal.h"
#include "nvmf/transport.h"
#include "util/log.h"
#include "app/tgt_app.h"

#define SIM_STEP_US 1000u
#define SIM_NS_BLOCKS 8192u	/* 4 MiB: small enough that I/Os overlap */


bool g_sim_sgl_beyond_data;
bool g_sim_hostile;

struct sim_target {
	int ready;		/* 0 pending, 1 up, -1 failed */
	int rc;
	bool stopped;
	struct unvmf_transport_opts opts;
	struct unvmf_bdev *bdev;	/* namespace 1's: the bdev faults aim at */
	uint32_t num_ns;
};

static void fail(struct sim_result *res, const char *fmt, const char *arg)
{
	if (res->failed)
		return;
	res->failed = true;
	snprintf(res->why, sizeof(res->why), fmt, arg);
}

static void target_listen_done(void *arg, int rc)
{
	struct sim_target *t = arg;
	struct unvmf_trid trid = {.trtype = NVMF_TRTYPE_RDMA, .adrfam = NVMF_ADRFAM_IPV4};

	if (!rc) {
		unvmf_strlcpy(trid.traddr, "sim:tgt", sizeof(trid.traddr));
		snprintf(trid.trsvcid, sizeof(trid.trsvcid), "%d", SIM_PORT);
		rc = unvmf_subsystem_add_listener(unvmf_subsystem_find(SIM_SUBNQN), &trid);
	}
	t->rc = rc;
	t->ready = rc ? -1 : 1;
}

static void target_groups_done(void *arg, int rc)
{
	struct sim_target *t = arg;
	struct unvmf_subsystem *subsys;

	if (rc)
		goto fail;
	rc = unvmf_subsystem_create(SIM_SUBNQN, UNVMF_SUBSYSTEM_NVME, 4, &subsys);
	if (rc)
		goto fail;
	unvmf_subsystem_set_sn(subsys, "UNVMFSIM00000001");
	unvmf_subsystem_allow_any_host(subsys, true);
	for (uint32_t i = 0; i < t->num_ns; i++) {
		struct unvmf_bdev *bdev;
		char name[24];

		snprintf(name, sizeof(name), "Malloc%u", i);
		rc = unvmf_bdev_malloc_create(name, SIM_NS_BLOCKS, 512, NULL, &bdev);
		if (rc)
			goto fail;
		if (i == 0)
			t->bdev = bdev;
		rc = unvmf_subsystem_add_ns(subsys, bdev, i + 1, NULL, NULL, NULL);
		if (rc < 0)
			goto fail;
	}
	rc = unvmf_tgt_add_transport(&t->opts, target_listen_done, t);
	if (rc)
		goto fail;
	return;
fail:
	t->rc = rc;
	t->ready = -1;
}

static void target_shutdown_done(void *arg)
{
	struct sim_target *t = arg;

	unvmf_tgt_fini();
	unvmf_bdev_delete_all();
	t->stopped = true;
}

/*
 * --hostile: a Connect deadline short enough that bare connections end within the seed,
 * rnr_retry_count up to 7 (forever on the NIC: the target must bound it),
 * and an SRQ deep enough for the bystanders plus what one hostile qpair may
 * hold (two queue sizes).
 */
static void hostile_opts(struct unvmf_transport_opts *o, uint64_t *rng)
{
	o->limits.connect_timeout_ms = sim_range(rng, 300, 1000);
	/*
	 * A pool that never starves: with the small pools of the fault campaign a
	 * request (a Fabrics Connect's data too) can wait in NEED_BUFFER for more
	 * than a thousand steps, which would blur what the hostile host caused.
	 */
	o->num_shared_buffers = 1024;
	unvmf_rdma_opts(o)->rnr_retry_count = (uint8_t)sim_range(rng, 3, 7);
	unvmf_rdma_opts(o)->max_srq_depth = sim_range(rng, 512, 1024);
}

/*
 * The hostile host's verdict. The bystanders are judged by the end phase as
 * in every seed (all reconnect and settle, every acknowledged block reads back
 * intact, no byte past a read's data): their controllers may still restart
 * on a command timeout, as they do in fault-free seeds without a hostile host.
 */
static void hostile_verdict(struct sim_hostile *x, struct sim_result *res)
{
	if (x->failure[0])
		fail(res, "%s", x->failure);
}

/* One step of everything: fabric, both reactors, virtual time. */
static void world_step(struct sim_world *w)
{
	rdma_sim_fabric_step(w->fabric);
	for (unsigned i = 0; i < unvmf_reactor_count(); i++)
		unvmf_reactor_step(i);
	unvmf_clock_advance(SIM_STEP_US);
	w->step++;
	w->stats->steps++;
}

/* The target's id and QP of the connection whose host end is hqp. */
static struct rdma_qpair *target_qpair_of(struct rdma_prov_qp *hqp)
{
	struct rdma_prov_qp *peer = hqp ? rdma_sim_qp_peer(hqp) : NULL;
	struct rdma_transport *rt;
	struct rdma_qpair *rq;

	if (!peer || g_tgt.num_transports == 0)
		return NULL;
	rt = UNVMF_CONTAINER_OF(g_tgt.transports[0], struct rdma_transport, base);
	TAILQ_FOREACH(rq, &rt->conns, conn_link)
		if (rq->qp == peer)
			return rq;
	return NULL;
}

/* Applies f now; true if it took effect (its target existed). */
static bool fault_apply(struct sim_world *w, struct sim_host *hosts, uint32_t num_hosts,
			struct sim_target *t, const struct sim_fault *f, uint64_t *slow_until,
			int *sim_fault_id)
{
	struct sim_host *h = &hosts[f->host % num_hosts];
	struct rdma_prov_qp *hqp = sim_host_qp(h, f->qp);
	const struct rdma_provider *p = rdma_provider_get("sim");
	struct rdma_sim_fault sf = {0};
	struct rdma_qpair *rq;

	switch (f->kind) {
	case SIM_FAULT_QP_ERR_BEFORE:
	case SIM_FAULT_QP_ERR_AFTER:
	case SIM_FAULT_FAIL_WR:
	case SIM_FAULT_HOST_FAIL_WR: {
		struct rdma_prov_qp *qp = f->kind == SIM_FAULT_HOST_FAIL_WR
						  ? hqp
						  : (hqp ? rdma_sim_qp_peer(hqp) : NULL);

		if (!qp || h->cut)
			return false;
		sf.kind = f->kind == SIM_FAULT_QP_ERR_BEFORE  ? RDMA_SIM_FAULT_QP_ERR_BEFORE
			  : f->kind == SIM_FAULT_QP_ERR_AFTER ? RDMA_SIM_FAULT_QP_ERR_AFTER
							      : RDMA_SIM_FAULT_FAIL_WR;
		sf.qp_num = p->qp_num(qp);
		sf.opcode = (enum rdma_prov_wr_opcode)f->opcode;
		sf.nth = f->nth ? f->nth : 1;
		sf.status = (enum rdma_prov_wc_status)f->status;
		*sim_fault_id = rdma_sim_fault_add(w->fabric, &sf);
		return *sim_fault_id > 0;
	}
	case SIM_FAULT_DISCONNECT:
		rq = target_qpair_of(hqp);
		if (!rq || !rq->id || h->cut)
			return false;
		return rdma_sim_inject_disconnect(rq->id, false) == 0;
	case SIM_FAULT_DISCONNECT_BOTH: {
		struct rdma_prov_id *id = sim_host_id(h, f->qp);

		if (!id || h->cut)
			return false;
		return rdma_sim_inject_disconnect(id, true) == 0;
	}
	case SIM_FAULT_NODE_CUT:
		if (h->cut)
			return false;
		h->cut = true;
		h->cut_until = w->step + (f->arg ? f->arg : 1);
		rdma_sim_node_set_alive(h->node, false);
		return true;
	case SIM_FAULT_KEEPALIVE_STOP:
		if (h->state != SIM_H_UP)
			return false;
		h->ka_stopped = true;
		return true;
	case SIM_FAULT_BDEV_FAIL:
		t->bdev->inject_fail_status = -EIO;
		t->bdev->inject_fail_count = (int)(f->arg ? f->arg : 1);
		return true;
	case SIM_FAULT_BDEV_SLOW:
		t->bdev->inject_delay_us = f->arg;
		*slow_until = w->step + 300;
		return true;
	case SIM_FAULT_ERR_IN_STATE:
		/*
		 * Make the aimed-at wait happen: a slow bdev keeps requests in
		 * EXECUTING, slow completions fill send queues (PENDING_SEND).
		 */
		if (f->arg == RDMA_REQ_EXECUTING || f->arg == RDMA_REQ_EXECUTED) {
			t->bdev->inject_delay_us = 20000;
			*slow_until = w->step + 300;
		}
		if (f->arg == RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING ||
		    f->arg == RDMA_REQ_READY_TO_COMPLETE) {
			rdma_sim_fabric_set_delays(w->fabric, 1, 12);
			h->read_pct = 90;
			h->big_pct = 80;
		}
		return true;
	case SIM_FAULT_ASYNC:
		rq = target_qpair_of(hqp);
		if (!rq || !rq->qp || h->cut)
			return false;
		return rdma_sim_inject_async(rq->qp, RDMA_PROV_ASYNC_QP_FATAL) == 0;
	case SIM_FAULT_POST_FAIL:
		rq = target_qpair_of(hqp);
		if (!rq || !rq->qp || h->cut)
			return false;
		sf.kind = RDMA_SIM_FAULT_POST_FAIL;
		sf.qp_num = p->qp_num(rq->qp);
		sf.opcode = f->opcode == RDMA_PROV_WR_RECV ? RDMA_PROV_WR_ANY
							   : (enum rdma_prov_wr_opcode)f->opcode;
		sf.nth = f->nth ? f->nth : 1;
		*sim_fault_id = rdma_sim_fault_add(w->fabric, &sf);
		return *sim_fault_id > 0;
	case SIM_FAULT_NUM_KINDS:
		break;
	}
	return false;
}

/* Puts rq in error now with one of the causes the transport tells apart. */
static void err_cause_apply(struct sim_world *w, struct rdma_qpair *rq, enum sim_err_cause cause,
			    uint8_t status)
{
	const struct rdma_provider *p = rdma_provider_get("sim");
	struct rdma_sim_fault sf = {.qp_num = p->qp_num(rq->qp), .opcode = RDMA_PROV_WR_ANY, .nth = 1};

	switch (cause) {
	case SIM_ERR_QP_TO_ERR:
		rdma_qpair_inject_fault(&rq->qpair, "qp_error");
		break;
	case SIM_ERR_INJECT:
		rdma_qpair_inject_fault(&rq->qpair, "disconnect");
		break;
	case SIM_ERR_CM:
		rdma_sim_inject_disconnect(rq->id, false);
		break;
	case SIM_ERR_ASYNC:
		rdma_sim_inject_async(rq->qp, RDMA_PROV_ASYNC_QP_FATAL);
		break;
	case SIM_ERR_CORE:
		unvmf_qpair_disconnect(&rq->qpair, "sim: the core disconnects it");
		break;
	case SIM_ERR_WC:
		sf.kind = RDMA_SIM_FAULT_FAIL_WR;
		sf.status = status == RDMA_PROV_WC_WR_FLUSH_ERR ? RDMA_PROV_WC_RETRY_EXC_ERR
								: (enum rdma_prov_wc_status)status;
		/* A WR in flight fails now; with none, the next one the QP executes. */
		if (rdma_sim_fail_inflight(rq->qp, sf.status) != 0)
			rdma_sim_fault_add(w->fabric, &sf);
		break;
	case SIM_ERR_POST:
		sf.kind = RDMA_SIM_FAULT_POST_FAIL;
		rdma_sim_fault_add(w->fabric, &sf);
		break;
	case SIM_ERR_NUM_CAUSES:
		break;
	}
}

static bool state_is_transient(uint32_t st)
{
	return st == RDMA_REQ_NEW || st == RDMA_REQ_READY_TO_EXECUTE || st == RDMA_REQ_EXECUTED ||
	       st == RDMA_REQ_COMPLETED;
}

/* Armed SIM_FAULT_ERR_IN_STATE faults: fires the first one whose state some qpair has now. */
static void state_faults_poll(struct sim_world *w, struct sim_fault **armed, uint32_t *num)
{
	struct rdma_transport *rt;
	struct rdma_qpair *rq;

	if (*num == 0 || g_tgt.num_transports == 0)
		return;
	rt = UNVMF_CONTAINER_OF(g_tgt.transports[0], struct rdma_transport, base);
	for (uint32_t i = 0; i < *num; i++) {
		const struct sim_fault *f = armed[i];
		uint32_t st = f->arg % RDMA_REQ_NUM_STATES;

		if (st == RDMA_REQ_FREE) {
			armed[i--] = armed[--*num];
			continue;
		}
		/*
		 * A state left within one step: the transport's trap fires at the
		 * transition. The send-queue waits are occupied only while a send
		 * queue is full, which the hosts rarely cause: the operator's cause
		 * aims at them through the trap too.
		 */
		if (state_is_transient(st) ||
		    ((st == RDMA_REQ_READY_TO_COMPLETE || st == RDMA_REQ_DATA_TRANSFER_TO_HOST_PENDING) &&
		     f->nth % SIM_ERR_NUM_CAUSES == SIM_ERR_INJECT)) {
			char kind[64];

			snprintf(kind, sizeof(kind), "qp_error_in_state:%s", rdma_req_state_name(st));
			if (rdma_transport_arm_trap(rt, kind, 0, -1, -1, NULL, 0) != -EBUSY)
				armed[i--] = armed[--*num];
			continue;
		}
		TAILQ_FOREACH(rq, &rt->conns, conn_link) {
			if (rq->state != RDMA_QPAIR_ACTIVE || !rq->set.reqs ||
			    rq->set.state_count[st] == 0)
				continue;
			if (w->verbose)
				fprintf(stderr, "sim: step %lu: qpair %lu has a request in %s: cause %u\n",
					(unsigned long)w->step, (unsigned long)rq->qpair.id,
					rdma_req_state_name(st), f->nth % SIM_ERR_NUM_CAUSES);
			err_cause_apply(w, rq, (enum sim_err_cause)(f->nth % SIM_ERR_NUM_CAUSES),
					f->status);
			armed[i] = armed[--*num];
			return;
		}
	}
}

static bool hosts_ready_idle(struct sim_host *hosts, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (hosts[i].state != SIM_H_UP || hosts[i].cut || !sim_host_idle(&hosts[i]))
			return false;
		for (uint32_t q = 0; q <= hosts[i].num_ioq; q++)
			if (hosts[i].qps[q].state != SIM_Q_READY)
				return false;
	}
	return true;
}

/* The first failed ownership check of any poll group of the target, or NULL. */
static const char *target_violation(void)
{
	struct rdma_transport *rt;

	if (g_tgt.num_transports == 0)
		return NULL;
	rt = UNVMF_CONTAINER_OF(g_tgt.transports[0], struct rdma_transport, base);
	for (unsigned i = 0; i < g_tgt.num_groups; i++) {
		struct unvmf_transport_poll_group *tg =
			g_tgt.groups[i] ? g_tgt.groups[i]->tgroups[rt->base.slot] : NULL;

		if (tg && (rdma_group_from(tg)->stats.ownership_violations ||
			   rdma_group_from(tg)->stats.invariant_violations))
			return rdma_group_from(tg)->first_violation;
	}
	return NULL;
}

/* The end check: every block whose last acknowledged write is known reads back intact. */
static void verify_all(struct sim_world *w, struct sim_host *hosts, uint32_t n,
		       struct sim_result *res)
{
	uint32_t lba = 0, chunk = w->max_io / 512;
	uint64_t deadline = w->step + 20000;

	uint32_t nsid = 1;

	while (nsid <= w->num_ns && !res->failed) {
		uint32_t len = UNVMF_MIN(chunk, w->ns[nsid - 1].num_blocks - lba);
		bool posted = false;

		for (uint32_t i = 0; i < n && !posted; i++)
			posted = sim_host_submit_read(&hosts[i], nsid, lba, len);
		if (posted)
			lba += len;
		if (lba == w->ns[nsid - 1].num_blocks) {
			lba = 0;
			nsid++;
		}
		for (uint32_t i = 0; i < n; i++)
			sim_host_poll(&hosts[i]);
		world_step(w);
		if (w->step > deadline)
			fail(res, "%s", "end check: read-back did not finish");
	}
	while (!hosts_ready_idle(hosts, n) && w->step < deadline) {
		for (uint32_t i = 0; i < n; i++)
			sim_host_poll(&hosts[i]);
		world_step(w);
	}
}

int sim_run_seed(uint64_t seed, const struct sim_schedule *sched, struct sim_stats *stats,
		 struct sim_result *res, bool verbose)
{
	static const uint32_t io_sizes[] = {16384, 32768, 65536, 131072};
	static const uint32_t units[] = {4096, 8192, 16384, 32768};
	/* Two reactors, two poll groups: qpairs of one host land on both. */
	struct unvmf_reactor_opts ropts = {.cpumask = 0x3};
	struct rdma_sim_fabric_opts fo;
	struct sim_target t = {0};
	struct sim_world w = {0};
	struct sim_host hosts[SIM_MAX_HOSTS] = {0};
	struct sim_hostile hostile = {0};
	struct rdma_sim_node *tnode, *hnode[SIM_MAX_HOSTS], *xnode;
	struct sim_schedule gen;
	uint64_t rng = seed * 0x2545f4914f6cdd1dull + 1, slow_until = 0, deadline;
	uint32_t num_hosts, steps, need, next_fault = 0, num_armed = 0;
	struct sim_fault *armed[SIM_MAX_FAULTS];
	int fault_ids[SIM_MAX_FAULTS] = {0};
	int leaked;
	char name[16];

	memset(res, 0, sizeof(*res));
	unvmf_log_set_level(verbose ? UNVMF_LOG_WARN : UNVMF_LOG_ERROR);
	/* Topology and target options. */
	num_hosts = sim_range(&rng, 1, SIM_MAX_HOSTS);
	steps = sim_range(&rng, 600, 2000);
	w.max_io = io_sizes[sim_range(&rng, 0, 3)];
	w.icd = 4096;
	w.kato_ms = 300;
	w.ka_every = 100;
	w.cmd_timeout = 1500;
	w.verbose = verbose;
	w.stats = stats;
	/* Several namespaces: one host's data must never show up in another's. */
	w.num_ns = t.num_ns = sim_range(&rng, 1, SIM_MAX_NS);
	for (uint32_t i = 0; i < w.num_ns; i++) {
		w.ns[i].nsid = i + 1;
		w.ns[i].num_blocks = SIM_NS_BLOCKS;
		w.ns[i].tag = calloc(SIM_NS_BLOCKS, sizeof(uint32_t));
		w.ns[i].busy = calloc(SIM_NS_BLOCKS, 1);
	}
	unvmf_transports_register_all();
	unvmf_transport_ops_find(NVMF_TRTYPE_RDMA)->opts_init(&t.opts);
	t.opts.max_io_size = w.max_io;
	do
		t.opts.io_unit_size = units[sim_range(&rng, 0, 3)];
	while (t.opts.io_unit_size > w.max_io ||
	       UNVMF_DIV_ROUND_UP(w.max_io, t.opts.io_unit_size) > UNVMF_MAX_IOV);
	need = UNVMF_DIV_ROUND_UP(w.max_io, t.opts.io_unit_size);
	t.opts.buf_cache_size = sim_range(&rng, 0, 8);
	/* Small pools make requests wait in NEED_BUFFER; never smaller than one I/O + the caches. */
	t.opts.num_shared_buffers = sim_range(&rng, 0, 1)
					    ? need + 2 * t.opts.buf_cache_size + sim_range(&rng, 0, need)
					    : 1024;
	t.opts.max_queue_depth = sim_range(&rng, 4, 32);
	t.opts.max_aq_depth = 32;
	t.opts.in_capsule_data_size = w.icd;
	unvmf_rdma_opts(&t.opts)->no_srq = sim_range(&rng, 0, 1);
	unvmf_rdma_opts(&t.opts)->max_srq_depth = sim_range(&rng, 16, 256);
	unvmf_rdma_opts(&t.opts)->num_cqe = 4096;
	unvmf_rdma_opts(&t.opts)->max_read_depth = sim_range(&rng, 1, 16);
	unvmf_rdma_opts(&t.opts)->retry_count = (uint8_t)sim_range(&rng, 1, 7);
	unvmf_rdma_opts(&t.opts)->rnr_retry_count = (uint8_t)sim_range(&rng, 1, 7);
	/* 4.096 us x 2^8..2^14: 1 to 68 steps of 1 ms per transport retry. */
	unvmf_rdma_opts(&t.opts)->ack_timeout = (uint8_t)sim_range(&rng, 8, 14);
	unvmf_rdma_opts(&t.opts)->provider = "sim";
	if (g_sim_hostile)
		hostile_opts(&t.opts, &rng);
	if (g_sim_hostile && sched && sched->num) {
		fail(res, "%s", "--hostile runs without faults");
		goto out_free;
	}
	if (!sched && g_sim_hostile) {
		/* No faults: whatever a bystander sees is the hostile host's doing. */
		gen.num = 0;
		sched = &gen;
	}
	if (!sched) {
		sim_schedule_generate(seed, steps, num_hosts, &gen);
		sched = &gen;
	}

	rdma_sim_fabric_opts_init(&fo);
	fo.seed = seed;
	fo.step_us = SIM_STEP_US;
	fo.exec_delay_max = sim_range(&rng, 0, 3);
	fo.cqe_delay_max = sim_range(&rng, 0, 1) ? sim_range(&rng, 0, 3) : sim_range(&rng, 4, 12);
	/* The NIC moves READ/WRITE bytes late and retransmits; every buffer has one WR owner. */
	fo.late_data_max = sim_range(&rng, 0, 3) ? sim_range(&rng, 1, 16) : 0;
	fo.retransmit_pct = sim_range(&rng, 0, 50);
	fo.strict_ownership = true;
	if (rdma_sim_fabric_create(&fo, &w.fabric) || rdma_sim_node_create(w.fabric, "sim:tgt", &tnode)) {
		fail(res, "%s", "fabric setup");
		goto out_free;
	}
	unvmf_rdma_opts_set_provider(&t.opts, "sim", tnode);
	unvmf_clock_set_virtual(true, 1000000);
	if (unvmf_reactors_init(&ropts) || unvmf_reactors_manual_begin()) {
		fail(res, "%s", "reactors setup");
		goto out_fabric;
	}
	if (unvmf_tgt_init(&(struct unvmf_tgt_opts){0}) ||
	    unvmf_tgt_create_poll_groups(target_groups_done, &t)) {
		fail(res, "%s", "target init");
		goto out_reactors;
	}
	for (deadline = 10000; t.ready == 0 && deadline--;)
		world_step(&w);
	if (t.ready != 1) {
		fail(res, "%s", "target did not come up");
		goto out_target;
	}
	for (uint32_t i = 0; i < num_hosts; i++) {
		snprintf(name, sizeof(name), "sim:h%u", i);
		if (rdma_sim_node_create(w.fabric, name, &hnode[i]) ||
		    sim_host_init(&hosts[i], &w, i, hnode[i])) {
			fail(res, "%s", "host setup");
			goto out_hosts;
		}
		hosts[i].rng = sim_rand(&rng);
		hosts[i].num_ioq = sim_range(&rng, 1, SIM_MAX_IOQ);
		hosts[i].qsize = (uint16_t)sim_range(&rng, 2, UNVMF_MIN(16u, t.opts.max_queue_depth));
		hosts[i].read_depth = (uint8_t)sim_range(&rng, 1, 16);
		hosts[i].reconnect_at = sim_range(&rng, 0, 20);
		/* Some hosts stream big reads: their WRITE chains fill the send queue (PENDING_SEND). */
		hosts[i].read_pct = (uint8_t)(sim_range(&rng, 0, 2) ? 50 : 90);
		hosts[i].big_pct = (uint8_t)(sim_range(&rng, 0, 2) ? 10 : 80);
		/* Host i mostly on namespace i % num_ns, some on all of them. */
		hosts[i].ns_mask = (uint8_t)(sim_range(&rng, 0, 2)
						     ? 1u << (i % w.num_ns)
						     : (1u << w.num_ns) - 1);
	}

	if (g_sim_hostile &&
	    (rdma_sim_node_create(w.fabric, "sim:evil", &xnode) ||
	     sim_hostile_init(&hostile, &w, xnode, seed, (uint16_t)t.opts.max_queue_depth,
			      RDMA_CAPSULE_CMD_SIZE + t.opts.in_capsule_data_size,
			      unvmf_rdma_opts(&t.opts)->no_srq, t.opts.limits.connect_timeout_ms))) {
		fail(res, "%s", "hostile host setup");
		goto out_hosts;
	}

	/* The workload with its faults. */
	while (w.step < steps) {
		while (next_fault < sched->num && sched->faults[next_fault].at <= w.step) {
			const struct sim_fault *f = &sched->faults[next_fault];

			if (fault_apply(&w, hosts, num_hosts, &t, f, &slow_until,
					&fault_ids[next_fault++]))
				stats->faults_by_kind[f->kind]++;
			if (f->kind == SIM_FAULT_ERR_IN_STATE)
				armed[num_armed++] = (struct sim_fault *)f;
		}
		state_faults_poll(&w, armed, &num_armed);
		if (slow_until && w.step >= slow_until) {
			t.bdev->inject_delay_us = 0;
			slow_until = 0;
		}
		for (uint32_t i = 0; i < num_hosts; i++)
			sim_host_poll(&hosts[i]);
		if (g_sim_hostile)
			sim_hostile_poll(&hostile);
		world_step(&w);
	}
	if (g_sim_hostile) {
		sim_hostile_stop(&hostile);
		hostile_verdict(&hostile, res);
	}

	for (uint32_t i = 0; i < next_fault; i++) {
		const struct sim_fault *f = &sched->faults[i];

		if (fault_ids[i] > 0 && rdma_sim_fault_fired(w.fabric, fault_ids[i]) == 1) {
			stats->faults_fired++;
			if (f->kind == SIM_FAULT_FAIL_WR)
				stats->fail_wr_fired[f->opcode % 8][f->status % 32]++;
		}
	}

	/* End phase: faults off, everyone back, then everything acknowledged must read back. */
	w.quiesce = true;
	if (g_tgt.num_transports)
		atomic_store(&UNVMF_CONTAINER_OF(g_tgt.transports[0], struct rdma_transport, base)
				      ->trap.state,
			     -1);
	t.bdev->inject_delay_us = 0;
	t.bdev->inject_fail_count = 0;
	for (deadline = w.step + 20000; !hosts_ready_idle(hosts, num_hosts) && w.step < deadline;) {
		for (uint32_t i = 0; i < num_hosts; i++)
			sim_host_poll(&hosts[i]);
		world_step(&w);
	}
	if (!hosts_ready_idle(hosts, num_hosts))
		fail(res, "%s", "end: hosts could not reconnect and settle");
	else
		verify_all(&w, hosts, num_hosts, res);
	if (target_violation())
		fail(res, "target ownership violation: %s", target_violation());
	if (w.corruptions)
		fail(res, "data: %s", w.corruption);
	if (rdma_sim_fabric_violation(w.fabric))
		fail(res, "nic: %s", rdma_sim_fabric_violation(w.fabric));

out_hosts:
	for (uint32_t i = 0; i < num_hosts; i++)
		sim_host_close(&hosts[i]);
	/* Every target qpair must drain and go once its host has disconnected. */
	for (deadline = w.step + 20000; atomic_load(&g_tgt.live_qpairs) && w.step < deadline;)
		world_step(&w);
	if (atomic_load(&g_tgt.live_qpairs))
		fail(res, "%s", "end: target qpairs never finished draining after the hosts left");
	for (uint32_t i = 0; i < num_hosts; i++)
		sim_host_fini(&hosts[i]);
	if (g_sim_hostile)
		sim_hostile_fini(&hostile);
out_target:
	unvmf_tgt_shutdown(target_shutdown_done, &t);
	for (deadline = w.step + 20000; !t.stopped && w.step < deadline;)
		world_step(&w);
	if (!t.stopped)
		fail(res, "%s", "end: target shutdown did not finish");
out_reactors:
	unvmf_reactors_manual_end();
	unvmf_reactors_fini();
	unvmf_clock_set_virtual(false, 0);
out_fabric:
	leaked = rdma_sim_fabric_destroy(w.fabric);
	if (leaked > 0 && t.stopped) {
		snprintf(name, sizeof(name), "%d", leaked);
		fail(res, "end: %s sim objects leaked", name);
	}
out_free:
	for (uint32_t i = 0; i < SIM_MAX_NS; i++) {
		free(w.ns[i].tag);
		free(w.ns[i].busy);
	}
	return res->failed ? -1 : 0;
}
