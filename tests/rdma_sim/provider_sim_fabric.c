/*
 * sim fabric: nodes, the seeded clock and scheduler, fault matching,
 * accounting and inspection. The step order is fixed: CM deliveries, then WR
 * execution per QP, then completions landing in CQs; QPs are visited in an
 * order shuffled from the seed each step, which is what reorders completions
 * across QPs.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "provider_sim_internal.h"
#include "util/log.h"

/* splitmix64: tiny, full-period, and good enough to shuffle a schedule. */
uint64_t sim_rand(struct rdma_sim_fabric *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t sim_rand_upto(struct rdma_sim_fabric *f, uint32_t max)
{
	if (max == 0)
		return 0;
	return (uint32_t)(sim_rand(f) % ((uint64_t)max + 1));
}

void sim_efd_signal(int efd)
{
	uint64_t one = 1;

	if (efd >= 0 && write(efd, &one, sizeof(one)) != sizeof(one))
		LOG_WARN("rdma sim: eventfd write failed");
}

void sim_efd_drain(int efd)
{
	uint64_t v;

	if (efd >= 0 && read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOG_WARN("rdma sim: eventfd read failed");
}

void rdma_sim_fabric_opts_init(struct rdma_sim_fabric_opts *opts)
{
	*opts = (struct rdma_sim_fabric_opts){
		.seed = 1,
		.rnr_delay = 2,
		.timeout_steps = 4,
		.timewait_steps = 3,
		.connect_timeout_steps = 20,
	};
}

int rdma_sim_fabric_create(const struct rdma_sim_fabric_opts *opts, struct rdma_sim_fabric **out)
{
	SIM_LOCKED();
	struct rdma_sim_fabric *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -ENOMEM;
	f->opts = *opts;
	if (f->opts.rnr_delay == 0)
		f->opts.rnr_delay = 1;
	if (f->opts.timeout_steps == 0)
		f->opts.timeout_steps = 1;
	f->rng = opts->seed;
	f->next_qpn = 0x100;
	f->next_key = 0x1000;
	f->next_fault_id = 1;
	TAILQ_INIT(&f->nodes);
	TAILQ_INIT(&f->ctxs);
	TAILQ_INIT(&f->channels);
	TAILQ_INIT(&f->ids);
	TAILQ_INIT(&f->pds);
	TAILQ_INIT(&f->mrs);
	TAILQ_INIT(&f->cqs);
	TAILQ_INIT(&f->srqs);
	TAILQ_INIT(&f->qps);
	TAILQ_INIT(&f->cm_sched);
	TAILQ_INIT(&f->faults);
	*out = f;
	return 0;
}

static void node_free(struct rdma_sim_node *node)
{
	struct rdma_prov_device *dev = node->dev;
	struct sim_async *a;

	while ((a = TAILQ_FIRST(&dev->events)) != NULL) {
		TAILQ_REMOVE(&dev->events, a, link);
		free(a);
	}
	close(dev->efd);
	free(dev);
	free(node);
}

int rdma_sim_fabric_destroy(struct rdma_sim_fabric *f)
{
	SIM_LOCKED();
	int leaked = (int)rdma_sim_counts_total(&f->counts);
	struct rdma_sim_node *node;
	struct sim_fault *fault;
	struct sim_cm_ev *e;

	if (leaked)
		LOG_WARN("rdma sim: fabric destroyed with %d objects alive", leaked);
	while (!TAILQ_EMPTY(&f->qps))
		sim_qp_free(TAILQ_FIRST(&f->qps));
	while (!TAILQ_EMPTY(&f->srqs))
		sim_srq_free(TAILQ_FIRST(&f->srqs));
	while (!TAILQ_EMPTY(&f->cqs))
		sim_cq_free(TAILQ_FIRST(&f->cqs));
	while (!TAILQ_EMPTY(&f->mrs)) {
		struct rdma_prov_mr *mr = TAILQ_FIRST(&f->mrs);

		TAILQ_REMOVE(&f->mrs, mr, link);
		free(mr);
	}
	while (!TAILQ_EMPTY(&f->pds)) {
		struct rdma_prov_pd *pd = TAILQ_FIRST(&f->pds);

		TAILQ_REMOVE(&f->pds, pd, link);
		free(pd);
	}
	while (!TAILQ_EMPTY(&f->ids))
		sim_id_free(TAILQ_FIRST(&f->ids));
	while (!TAILQ_EMPTY(&f->channels))
		sim_channel_free(TAILQ_FIRST(&f->channels));
	while ((e = TAILQ_FIRST(&f->cm_sched)) != NULL) {
		TAILQ_REMOVE(&f->cm_sched, e, link);
		free(e);
	}
	while (!TAILQ_EMPTY(&f->ctxs)) {
		struct rdma_prov_ctx *ctx = TAILQ_FIRST(&f->ctxs);

		TAILQ_REMOVE(&f->ctxs, ctx, link);
		free(ctx);
	}
	while ((node = TAILQ_FIRST(&f->nodes)) != NULL) {
		TAILQ_REMOVE(&f->nodes, node, link);
		node_free(node);
	}
	while ((fault = TAILQ_FIRST(&f->faults)) != NULL) {
		TAILQ_REMOVE(&f->faults, fault, link);
		free(fault);
	}
	free(f->order);
	free(f);
	return leaked;
}

struct rdma_sim_node *sim_node_find(struct rdma_sim_fabric *f, const char *addr)
{
	struct rdma_sim_node *node;

	if (addr == NULL)
		return NULL;
	TAILQ_FOREACH(node, &f->nodes, link)
		if (strcmp(node->addr, addr) == 0)
			return node;
	return NULL;
}

int rdma_sim_node_create(struct rdma_sim_fabric *f, const char *addr, struct rdma_sim_node **out)
{
	SIM_LOCKED();
	struct rdma_sim_node *node;
	struct rdma_prov_device *dev;

	if (strlen(addr) >= SIM_ADDR_MAX)
		return -ENAMETOOLONG;
	if (sim_node_find(f, addr) != NULL)
		return -EEXIST;
	node = calloc(1, sizeof(*node));
	dev = calloc(1, sizeof(*dev));
	if (node == NULL || dev == NULL)
		goto err_free;
	dev->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->efd < 0)
		goto err_free;
	TAILQ_INIT(&dev->events);
	dev->node = node;
	node->dev = dev;
	node->fabric = f;
	node->alive = true;
	memcpy(node->addr, addr, strlen(addr) + 1);
	TAILQ_INSERT_TAIL(&f->nodes, node, link);
	*out = node;
	return 0;

err_free:
	free(node);
	free(dev);
	return -ENOMEM;
}

uint64_t rdma_sim_fabric_now(const struct rdma_sim_fabric *f)
{
	SIM_LOCKED();
	return f->now;
}

uint64_t rdma_sim_fabric_rnr_naks(const struct rdma_sim_fabric *f)
{
	SIM_LOCKED();
	return f->rnr_naks;
}

void rdma_sim_fabric_set_delays(struct rdma_sim_fabric *f, uint32_t exec_delay_max,
				uint32_t cqe_delay_max)
{
	SIM_LOCKED();
	f->opts.exec_delay_max = exec_delay_max;
	f->opts.cqe_delay_max = cqe_delay_max;
}

/* The QPs in a seeded order for this step. */
static uint32_t fabric_qp_order(struct rdma_sim_fabric *f)
{
	uint32_t n = f->counts.qps, i = 0;
	struct rdma_prov_qp *qp;

	if (n > f->order_cap) {
		struct rdma_prov_qp **o = realloc(f->order, n * 2 * sizeof(*o));

		if (o == NULL)
			return 0;
		f->order = o;
		f->order_cap = n * 2;
	}
	TAILQ_FOREACH(qp, &f->qps, link)
		f->order[i++] = qp;
	for (uint32_t j = n; j > 1; j--) {
		uint32_t k = (uint32_t)(sim_rand(f) % j);
		struct rdma_prov_qp *t = f->order[j - 1];

		f->order[j - 1] = f->order[k];
		f->order[k] = t;
	}
	return n;
}

int rdma_sim_fabric_step(struct rdma_sim_fabric *f)
{
	SIM_LOCKED();
	int work = 0;
	uint32_t n;

	f->now++;
	work += sim_cm_step(f);
	n = fabric_qp_order(f);
	for (uint32_t i = 0; i < n; i++) {
		sim_data_step(f->order[i]);
		work += sim_qp_step_exec(f->order[i]);
	}
	n = fabric_qp_order(f);
	for (uint32_t i = 0; i < n; i++)
		work += sim_qp_step_deliver(f->order[i]);
	return work;
}

bool rdma_sim_fabric_idle(const struct rdma_sim_fabric *f)
{
	SIM_LOCKED();
	const struct rdma_prov_qp *qp;

	if (!TAILQ_EMPTY(&f->cm_sched))
		return false;
	TAILQ_FOREACH(qp, &f->qps, link)
		if (sim_qp_busy(qp))
			return false;
	return true;
}

uint64_t rdma_sim_fabric_run_until_idle(struct rdma_sim_fabric *f, uint64_t max_steps)
{
	SIM_LOCKED();
	uint64_t steps = 0;

	while (steps < max_steps && !rdma_sim_fabric_idle(f)) {
		rdma_sim_fabric_step(f);
		steps++;
	}
	return steps;
}

void rdma_sim_fabric_counts(const struct rdma_sim_fabric *f, struct rdma_sim_counts *out)
{
	SIM_LOCKED();
	*out = f->counts;
}

uint32_t rdma_sim_counts_total(const struct rdma_sim_counts *c)
{
	return c->ctxs + c->channels + c->ids + c->pds + c->mrs + c->cqs + c->srqs + c->qps;
}

void sim_async_push(struct rdma_prov_device *dev, const struct rdma_prov_async_event *ev)
{
	struct sim_async *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		LOG_ERR("rdma sim: dropping async event %s (no memory)",
			rdma_prov_async_event_name(ev->type));
		return;
	}
	a->ev = *ev;
	TAILQ_INSERT_TAIL(&dev->events, a, link);
	sim_efd_signal(dev->efd);
}

/* --- faults --- */

int rdma_sim_fault_add(struct rdma_sim_fabric *f, const struct rdma_sim_fault *fault)
{
	SIM_LOCKED();
	struct sim_fault *sf;

	if (fault->nth == 0 && fault->wr_match == NULL)
		return -EINVAL;
	if (fault->kind == RDMA_SIM_FAULT_FAIL_WR &&
	    (fault->status == RDMA_PROV_WC_SUCCESS || fault->status >= RDMA_PROV_WC_STATUS_COUNT))
		return -EINVAL;
	sf = calloc(1, sizeof(*sf));
	if (sf == NULL)
		return -ENOMEM;
	sf->f = *fault;
	sf->id = f->next_fault_id++;
	TAILQ_INSERT_TAIL(&f->faults, sf, link);
	return sf->id;
}

int rdma_sim_fault_fired(const struct rdma_sim_fabric *f, int fault_id)
{
	SIM_LOCKED();
	const struct sim_fault *sf;

	TAILQ_FOREACH(sf, &f->faults, link)
		if (sf->id == fault_id)
			return sf->fired;
	return -ENOENT;
}

static bool fault_opcode_matches(enum rdma_prov_wr_opcode want, enum rdma_prov_wr_opcode got)
{
	return want == RDMA_PROV_WR_ANY || want == got;
}

/* Every armed fault that matches counts the WR; the first one due fires. */
struct sim_fault *sim_fault_match(struct rdma_sim_fabric *f, struct rdma_prov_qp *qp,
				  enum rdma_prov_wr_opcode opcode, uint64_t wr_id, bool at_post)
{
	struct sim_fault *sf, *hit = NULL;

	TAILQ_FOREACH(sf, &f->faults, link) {
		bool due;

		if (sf->fired || (sf->f.kind == RDMA_SIM_FAULT_POST_FAIL) != at_post ||
		    (sf->f.qp_num != 0 && sf->f.qp_num != qp->qpn) ||
		    !fault_opcode_matches(sf->f.opcode, opcode))
			continue;
		if (sf->f.nth != 0)
			due = ++sf->seen == sf->f.nth;
		else
			due = sf->f.wr_match(wr_id, sf->f.match_arg);
		if (due && hit == NULL) {
			sf->fired = true;
			hit = sf;
		}
	}
	return hit;
}

int rdma_sim_inject_async(struct rdma_prov_qp *qp, enum rdma_prov_async_event_type type)
{
	SIM_LOCKED();

	if (type != RDMA_PROV_ASYNC_QP_FATAL && type != RDMA_PROV_ASYNC_QP_REQ_ERR &&
	    type != RDMA_PROV_ASYNC_QP_ACCESS_ERR)
		return -EINVAL;
	if (qp->state == RDMA_PROV_QPS_ERR || qp->fatal)
		return -EALREADY;
	if (type == RDMA_PROV_ASYNC_QP_FATAL)
		qp->fatal = true;
	else
		sim_qp_set_err(qp);
	sim_async_push(qp->pd->dev, &(struct rdma_prov_async_event){
					    .type = type, .qp = qp, .qp_ctx = qp->user_ctx});
	return 0;
}

/* --- node faults --- */

void rdma_sim_node_set_alive(struct rdma_sim_node *node, bool alive)
{
	SIM_LOCKED();
	node->alive = alive;
}

void rdma_sim_node_fail_device_silent(struct rdma_sim_node *node)
{
	SIM_LOCKED();
	struct rdma_prov_qp *qp;

	TAILQ_FOREACH(qp, &node->fabric->qps, link)
	if (qp->pd->dev == node->dev) {
		qp->no_flush = true;
		qp->no_last_wqe = true;
	}
	node->cq_poll_fails = true;
	rdma_sim_node_fail_device(node);
}

void rdma_sim_node_fail_device(struct rdma_sim_node *node)
{
	SIM_LOCKED();
	struct rdma_sim_fabric *f = node->fabric;
	struct rdma_prov_qp *qp;
	struct rdma_prov_id *id;

	if (node->device_failed)
		return;
	node->device_failed = true;
	TAILQ_FOREACH(qp, &f->qps, link)
		if (qp->pd->dev == node->dev)
			sim_qp_set_err(qp);
	sim_async_push(node->dev, &(struct rdma_prov_async_event){
					  .type = RDMA_PROV_ASYNC_DEVICE_FATAL});
	TAILQ_FOREACH(id, &f->ids, link) {
		if (id->ctx->node != node)
			continue;
		sim_cm_schedule(f, id->ch, 0, &(struct rdma_prov_cm_event){
			.type = RDMA_PROV_CM_EVENT_DEVICE_REMOVAL, .id = id});
	}
}

/* --- inspection --- */

static int wq_report(const struct sim_wq *wq, bool recv, struct rdma_prov_wr_info *out, int max,
		     int *n)
{
	int counted = 0;

	for (uint64_t i = wq->head; i < wq->tail; i++) {
		const struct sim_slot *s = &wq->slots[i % wq->cap];
		enum rdma_prov_wr_where where;

		switch (s->state) {
		case SIM_SLOT_POSTED:
			where = RDMA_PROV_WR_WHERE_POSTED;
			break;
		case SIM_SLOT_DONE:
			where = RDMA_PROV_WR_WHERE_DONE;
			break;
		case SIM_SLOT_IN_CQ:
			where = RDMA_PROV_WR_WHERE_IN_CQ;
			break;
		default:
			where = RDMA_PROV_WR_WHERE_UNSIGNALED_DONE;
			break;
		}
		if (where != RDMA_PROV_WR_WHERE_UNSIGNALED_DONE)
			counted++;
		if (*n < max)
			out[*n] = (struct rdma_prov_wr_info){
				.wr_id = s->wr_id,
				.opcode = recv ? RDMA_PROV_WR_RECV : s->opcode,
				.where = where,
			};
		(*n)++;
	}
	return counted;
}

int rdma_sim_qp_outstanding(struct rdma_prov_qp *qp, struct rdma_prov_wr_info *out, int max)
{
	SIM_LOCKED();
	int n = 0;

	return wq_report(&qp->sq, false, out, max, &n) + wq_report(&qp->rq, true, out, max, &n);
}

int rdma_sim_srq_outstanding(struct rdma_prov_srq *srq, uint64_t *wr_ids, int max)
{
	SIM_LOCKED();
	int n = 0;

	for (uint64_t i = srq->wq.exec; i < srq->wq.tail; i++, n++)
		if (n < max)
			wr_ids[n] = srq->wq.slots[i % srq->wq.cap].wr_id;
	return n;
}

struct rdma_prov_qp *rdma_sim_qp_by_num(struct rdma_sim_fabric *f, uint32_t qp_num)
{
	SIM_LOCKED();
	struct rdma_prov_qp *qp;

	TAILQ_FOREACH(qp, &f->qps, link)
		if (qp->qpn == qp_num)
			return qp;
	return NULL;
}

struct rdma_prov_qp *rdma_sim_qp_peer(struct rdma_prov_qp *qp)
{
	SIM_LOCKED();
	return qp->peer;
}

struct rdma_sim_fabric *rdma_sim_qp_fabric(struct rdma_prov_qp *qp)
{
	SIM_LOCKED();
	return qp->fabric;
}
