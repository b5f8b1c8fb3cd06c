/* sim resources: device, PD, MR, CQ, SRQ (QPs are in provider_sim_qp.c). */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "provider_sim_internal.h"
#include "util/log.h"

/* Limits the sim device advertises and enforces. */
#define SIM_MAX_QP_WR 4096
#define SIM_MAX_SGE 16
#define SIM_MAX_CQE 65536
#define SIM_MAX_SRQ_WR 4096
#define SIM_MAX_RD_ATOM 128

int sim_device_query(struct rdma_prov_device *dev, struct rdma_prov_device_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	snprintf(attr->name, sizeof(attr->name), "sim-%s", dev->node->addr);
	attr->max_qp_wr = SIM_MAX_QP_WR;
	attr->max_sge = SIM_MAX_SGE;
	attr->max_cqe = SIM_MAX_CQE;
	attr->max_srq_wr = SIM_MAX_SRQ_WR;
	attr->max_qp_rd_atom = SIM_MAX_RD_ATOM;
	attr->max_qp_init_rd_atom = SIM_MAX_RD_ATOM;
	return 0;
}

int sim_device_async_fd(struct rdma_prov_device *dev)
{
	return dev->efd;
}

int sim_device_get_async_event(struct rdma_prov_device *dev, struct rdma_prov_async_event *ev)
{
	struct sim_async *a = TAILQ_FIRST(&dev->events);

	if (a == NULL) {
		sim_efd_drain(dev->efd);
		return -EAGAIN;
	}
	TAILQ_REMOVE(&dev->events, a, link);
	*ev = a->ev;
	free(a);
	if (TAILQ_EMPTY(&dev->events))
		sim_efd_drain(dev->efd);
	return 0;
}

int sim_pd_alloc(struct rdma_prov_device *dev, struct rdma_prov_pd **out)
{
	struct rdma_sim_fabric *f = dev->node->fabric;
	struct rdma_prov_pd *pd;

	if (dev->node->device_failed)
		return -EIO;
	pd = calloc(1, sizeof(*pd));
	if (pd == NULL)
		return -ENOMEM;
	pd->dev = dev;
	TAILQ_INSERT_TAIL(&f->pds, pd, link);
	f->counts.pds++;
	*out = pd;
	return 0;
}

int sim_pd_free(struct rdma_prov_pd *pd)
{
	struct rdma_sim_fabric *f = pd->dev->node->fabric;

	if (pd->refs)
		return -EBUSY;
	TAILQ_REMOVE(&f->pds, pd, link);
	f->counts.pds--;
	free(pd);
	return 0;
}

int sim_mr_reg(struct rdma_prov_pd *pd, void *addr, size_t len, uint32_t access,
	       struct rdma_prov_mr **out)
{
	struct rdma_sim_fabric *f = pd->dev->node->fabric;
	struct rdma_prov_mr *mr;

	/* verbs: remote write requires local write. */
	if (addr == NULL || len == 0 ||
	    ((access & RDMA_PROV_ACCESS_REMOTE_WRITE) && !(access & RDMA_PROV_ACCESS_LOCAL_WRITE)))
		return -EINVAL;
	mr = calloc(1, sizeof(*mr));
	if (mr == NULL)
		return -ENOMEM;
	mr->pd = pd;
	mr->addr = (uint64_t)(uintptr_t)addr;
	mr->len = len;
	mr->access = access;
	/* lkey != rkey so that swapping them is caught. */
	mr->lkey = f->next_key;
	mr->rkey = f->next_key | 0x80000000u;
	f->next_key++;
	pd->refs++;
	TAILQ_INSERT_TAIL(&f->mrs, mr, link);
	f->counts.mrs++;
	*out = mr;
	return 0;
}

int sim_mr_dereg(struct rdma_prov_mr *mr)
{
	struct rdma_sim_fabric *f = mr->pd->dev->node->fabric;

	mr->pd->refs--;
	TAILQ_REMOVE(&f->mrs, mr, link);
	f->counts.mrs--;
	free(mr);
	return 0;
}

uint32_t sim_mr_lkey(const struct rdma_prov_mr *mr)
{
	return mr->lkey;
}

uint32_t sim_mr_rkey(const struct rdma_prov_mr *mr)
{
	return mr->rkey;
}

struct rdma_prov_mr *sim_mr_find(struct rdma_prov_pd *pd, uint32_t key, bool remote)
{
	struct rdma_prov_mr *mr;

	TAILQ_FOREACH(mr, &pd->dev->node->fabric->mrs, link)
		if (mr->pd == pd && (remote ? mr->rkey : mr->lkey) == key)
			return mr;
	return NULL;
}

int sim_wq_init(struct sim_wq *wq, uint32_t cap, uint32_t max_sge)
{
	memset(wq, 0, sizeof(*wq));
	if (max_sge == 0)
		max_sge = 1;
	wq->slots = calloc(cap, sizeof(*wq->slots));
	wq->sges = calloc((size_t)cap * max_sge, sizeof(*wq->sges));
	if (wq->slots == NULL || wq->sges == NULL) {
		sim_wq_fini(wq);
		return -ENOMEM;
	}
	wq->cap = cap;
	wq->max_sge = max_sge;
	return 0;
}

void sim_wq_fini(struct sim_wq *wq)
{
	free(wq->slots);
	free(wq->sges);
	wq->slots = NULL;
	wq->sges = NULL;
}

/* --- CQ --- */

int sim_cq_create(struct rdma_prov_device *dev, uint32_t cqe, bool with_fd,
		  struct rdma_prov_cq **out)
{
	struct rdma_sim_fabric *f = dev->node->fabric;
	struct rdma_prov_cq *cq;

	if (cqe == 0 || cqe > SIM_MAX_CQE)
		return -EINVAL;
	if (dev->node->device_failed)
		return -EIO;
	cq = calloc(1, sizeof(*cq));
	if (cq == NULL)
		return -ENOMEM;
	cq->ring = calloc(cqe, sizeof(*cq->ring));
	if (cq->ring == NULL)
		goto err_free_cq;
	cq->efd = -1;
	if (with_fd) {
		cq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (cq->efd < 0)
			goto err_free_ring;
	}
	cq->dev = dev;
	cq->cap = cqe;
	TAILQ_INSERT_TAIL(&f->cqs, cq, link);
	f->counts.cqs++;
	*out = cq;
	return 0;

err_free_ring:
	free(cq->ring);
err_free_cq:
	free(cq);
	return -ENOMEM;
}

void sim_cq_free(struct rdma_prov_cq *cq)
{
	struct rdma_sim_fabric *f = cq->dev->node->fabric;

	TAILQ_REMOVE(&f->cqs, cq, link);
	f->counts.cqs--;
	if (cq->efd >= 0)
		close(cq->efd);
	free(cq->ring);
	free(cq);
}

int sim_cq_destroy(struct rdma_prov_cq *cq)
{
	if (cq->refs)
		return -EBUSY;
	sim_cq_free(cq);
	return 0;
}

void sim_cq_push(struct rdma_prov_cq *cq, const struct sim_cqe *cqe)
{
	cq->ring[(cq->head + cq->count) % cq->cap] = *cqe;
	cq->count++;
	if (cq->armed) {
		cq->armed = false;
		sim_efd_signal(cq->efd);
	}
}

/* verbs drops a destroyed QP's completions from its CQs; so do we. */
void sim_cq_purge_qp(struct rdma_prov_cq *cq, const struct rdma_prov_qp *qp)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < cq->count; i++) {
		struct sim_cqe *c = &cq->ring[(cq->head + i) % cq->cap];

		if (c->qp != qp)
			cq->ring[(cq->head + kept++) % cq->cap] = *c;
	}
	cq->count = kept;
}

int sim_cq_poll(struct rdma_prov_cq *cq, struct rdma_prov_wc *wc, int max)
{
	int n = 0;

	if (cq->dev->node->cq_poll_fails)
		return -EIO;
	while (n < max && cq->count > 0) {
		struct sim_cqe *c = &cq->ring[cq->head];
		struct sim_wq *wq = c->sq ? &c->qp->sq : &c->qp->rq;

		wc[n++] = c->wc;
		/* Slots up to this one (unsignaled ones included) are free again. */
		wq->head = c->idx + 1;
		cq->head = (cq->head + 1) % cq->cap;
		cq->count--;
	}
	return n;
}

int sim_cq_fd(struct rdma_prov_cq *cq)
{
	return cq->efd;
}

int sim_cq_arm(struct rdma_prov_cq *cq)
{
	if (cq->efd < 0)
		return -EINVAL;
	sim_efd_drain(cq->efd);
	cq->armed = true;
	/* Completions already waiting would never raise the fd: report them now. */
	if (cq->count > 0) {
		cq->armed = false;
		sim_efd_signal(cq->efd);
	}
	return 0;
}

/* --- SRQ --- */

int sim_srq_create(struct rdma_prov_pd *pd, uint32_t max_wr, uint32_t max_sge,
		   struct rdma_prov_srq **out)
{
	struct rdma_sim_fabric *f = pd->dev->node->fabric;
	struct rdma_prov_srq *srq;
	int rc;

	if (max_wr == 0 || max_wr > SIM_MAX_SRQ_WR || max_sge > SIM_MAX_SGE)
		return -EINVAL;
	srq = calloc(1, sizeof(*srq));
	if (srq == NULL)
		return -ENOMEM;
	rc = sim_wq_init(&srq->wq, max_wr, max_sge);
	if (rc) {
		free(srq);
		return rc;
	}
	srq->pd = pd;
	pd->refs++;
	TAILQ_INSERT_TAIL(&f->srqs, srq, link);
	f->counts.srqs++;
	*out = srq;
	return 0;
}

void sim_srq_free(struct rdma_prov_srq *srq)
{
	struct rdma_sim_fabric *f = srq->pd->dev->node->fabric;

	srq->pd->refs--;
	TAILQ_REMOVE(&f->srqs, srq, link);
	f->counts.srqs--;
	sim_wq_fini(&srq->wq);
	free(srq);
}

int sim_srq_destroy(struct rdma_prov_srq *srq)
{
	if (srq->refs)
		return -EBUSY;
	sim_srq_free(srq);
	return 0;
}

int sim_srq_post_recv(struct rdma_prov_srq *srq, struct rdma_prov_recv_wr *wr,
		      struct rdma_prov_recv_wr **bad_wr)
{
	struct sim_wq *wq = &srq->wq;

	for (; wr != NULL; wr = wr->next) {
		struct sim_slot *s;

		if (wr->num_sge > wq->max_sge) {
			*bad_wr = wr;
			return -EINVAL;
		}
		if (wq->tail - wq->exec == wq->cap) {
			*bad_wr = wr;
			return -ENOMEM;
		}
		sim_data_check_post(srq->pd, RDMA_PROV_WR_RECV, wr->wr_id, wr->sg_list, wr->num_sge);
		s = &wq->slots[wq->tail % wq->cap];
		*s = (struct sim_slot){
			.wr_id = wr->wr_id,
			.opcode = RDMA_PROV_WR_RECV,
			.state = SIM_SLOT_POSTED,
			.signaled = true,
			.num_sge = wr->num_sge,
		};
		if (wr->num_sge)
			memcpy(&wq->sges[(wq->tail % wq->cap) * wq->max_sge], wr->sg_list,
			       wr->num_sge * sizeof(*wr->sg_list));
		wq->tail++;
	}
	return 0;
}
