/*
 * RDMA counters for nvmf_get_stats: completions by WC status and by WR
 * opcode, the totals operators watch (req_cqe_error, req_cqe_flush_error,
 * resp_cqe_error, resp_cqe_flush_error, as mlx5 names them), and the depths
 * of the pending queues, per poll group and per qpair.
 * Thread: the group's reactor.
 */
#include "transport/rdma/rdma_internal.h"

#include <jansson.h>

void rdma_wc_count(struct rdma_wc_counters *c, enum rdma_wrid_type type,
                   enum rdma_prov_wc_status status)
{
	bool flush = status == RDMA_PROV_WC_WR_FLUSH_ERR;

	c->completions++;
	if ((unsigned)status < RDMA_PROV_WC_STATUS_COUNT)
		c->by_status[status]++;
	if (status == RDMA_PROV_WC_SUCCESS)
		return;
	if ((unsigned)type < RDMA_WRID_NUM_TYPES)
		c->errors_by_opcode[type]++;
	if (type == RDMA_WRID_RECV) {
		if (flush)
			c->resp_cqe_flush_error++;
		else
			c->resp_cqe_error++;
	} else {
		if (flush)
			c->req_cqe_flush_error++;
		else
			c->req_cqe_error++;
	}
}

static json_t *wc_json(const struct rdma_wc_counters *c)
{
	json_t *o = json_object(), *st = json_object(), *op = json_object();

	json_object_set_new(o, "completions", json_integer((json_int_t)c->completions));
	json_object_set_new(o, "req_cqe_error", json_integer((json_int_t)c->req_cqe_error));
	json_object_set_new(o, "req_cqe_flush_error",
	                    json_integer((json_int_t)c->req_cqe_flush_error));
	json_object_set_new(o, "resp_cqe_error", json_integer((json_int_t)c->resp_cqe_error));
	json_object_set_new(o, "resp_cqe_flush_error",
	                    json_integer((json_int_t)c->resp_cqe_flush_error));
	for (unsigned s = 1; s < RDMA_PROV_WC_STATUS_COUNT; s++) {
		if (c->by_status[s])
			json_object_set_new(st, rdma_prov_wc_status_name(s),
			                    json_integer((json_int_t)c->by_status[s]));
	}
	json_object_set_new(o, "errors_by_status", st);
	for (unsigned t = 1; t < RDMA_WRID_NUM_TYPES; t++) {
		if (c->errors_by_opcode[t])
			json_object_set_new(op, rdma_wrid_type_name(t),
			                    json_integer((json_int_t)c->errors_by_opcode[t]));
	}
	json_object_set_new(o, "errors_by_opcode", op);
	return o;
}

static const char *const g_qpair_state_names[] = {"NEW", "ACTIVE", "ERROR", "GONE"};

static json_t *qpair_json(const struct rdma_qpair *rq)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer((json_int_t)rq->qpair.id));
	json_object_set_new(o, "qid", json_integer(rq->qid));
	json_object_set_new(o, "qp_num", json_integer(rq->qp_num));
	json_object_set_new(o, "state", json_string(g_qpair_state_names[rq->state]));
	if (rq->error_reason[0])
		json_object_set_new(o, "error_reason", json_string(rq->error_reason));
	json_object_set_new(o, "requests", json_integer(rq->num_reqs));
	json_object_set_new(o, "read_depth", json_integer(rq->read_depth));
	json_object_set_new(o, "pending_buffer",
	                    json_integer(rq->set.queues[RDMA_QUEUE_PENDING_BUFFER].len));
	json_object_set_new(o, "pending_rdma_read",
	                    json_integer(rq->set.queues[RDMA_QUEUE_PENDING_READ].len));
	json_object_set_new(o, "pending_rdma_send",
	                    json_integer(rq->set.queues[RDMA_QUEUE_PENDING_SEND].len));
	json_object_set_new(o, "pending_free_request", json_integer(rq->incoming_len));
	json_object_set_new(o, "send_wrs_outstanding", json_integer(rq->sq_used));
	json_object_set_new(o, "wc", wc_json(&rq->wc));
	if (rq->qpair.ctrlr)
		json_object_set_new(o, "cntlid", json_integer(rq->qpair.ctrlr->cntlid));
	if (rq->set.reqs) {
		json_t *states = json_object();

		for (unsigned st = 0; st < RDMA_REQ_NUM_STATES; st++) {
			if (st != RDMA_REQ_FREE && rq->set.state_count[st])
				json_object_set_new(states, rdma_req_state_name(st),
				                    json_integer(rq->set.state_count[st]));
		}
		json_object_set_new(o, "requests_by_state", states);
	}
	return o;
}

/* Which events each request state has seen (destroyed and live qpairs): the drain map. */
static json_t *coverage_json(const struct rdma_group *rg)
{
	json_t *o = json_object();
	const struct rdma_qpair *rq;

	for (unsigned st = 0; st < RDMA_REQ_NUM_STATES; st++) {
		uint64_t bits = rg->coverage[st];
		json_t *events;

		TAILQ_FOREACH(rq, &rg->qpairs, link)
		bits |= rq->coverage[st];
		if (!bits)
			continue;
		events = json_array();
		for (unsigned ev = 0; ev < RDMA_EV_NUM_EVENTS; ev++) {
			if (bits & (1ull << ev))
				json_array_append_new(events, json_string(rdma_req_event_name(ev)));
		}
		json_object_set_new(o, rdma_req_state_name(st), events);
	}
	return o;
}

void rdma_group_dump_stats(struct unvmf_transport_poll_group *tgroup, void *json_obj)
{
	struct rdma_group *rg = rdma_group_from(tgroup);
	const struct rdma_group_stats *s = &rg->stats;
	json_t *obj = json_obj, *qpairs = json_array();
	const struct rdma_qpair *rq;
	uint64_t pend_buf = 0, pend_read = 0, pend_send = 0, pend_free = 0;

	TAILQ_FOREACH(rq, &rg->qpairs, link)
	{
		pend_buf += rq->set.queues[RDMA_QUEUE_PENDING_BUFFER].len;
		pend_read += rq->set.queues[RDMA_QUEUE_PENDING_READ].len;
		pend_send += rq->set.queues[RDMA_QUEUE_PENDING_SEND].len;
		pend_free += rq->incoming_len;
		json_array_append_new(qpairs, qpair_json(rq));
	}
	json_object_set_new(obj, "trtype", json_string("RDMA"));
	json_object_set_new(obj, "provider", json_string(rg->rt->prov->name));
	json_object_set_new(obj, "qpairs_current", json_integer((json_int_t)s->qpairs_current));
	json_object_set_new(obj, "qpairs_total", json_integer((json_int_t)s->qpairs_total));
	json_object_set_new(obj, "qpairs_destroyed", json_integer((json_int_t)s->qpairs_destroyed));
	json_object_set_new(obj, "polls", json_integer((json_int_t)s->polls));
	json_object_set_new(obj, "recvs", json_integer((json_int_t)s->recvs));
	json_object_set_new(obj, "sends_posted", json_integer((json_int_t)s->sends_posted));
	json_object_set_new(obj, "reads_posted", json_integer((json_int_t)s->reads_posted));
	json_object_set_new(obj, "writes_posted", json_integer((json_int_t)s->writes_posted));
	json_object_set_new(obj, "recv_no_free_request",
	                    json_integer((json_int_t)s->recv_no_free_request));
	json_object_set_new(obj, "faults_fired", json_integer((json_int_t)s->faults_fired));
	json_object_set_new(obj, "ownership_violations",
	                    json_integer((json_int_t)s->ownership_violations));
	/* What hostile hosts cost them: their qpair (docs/SECURITY.md, "Limits and hostile hosts").
	 */
	json_object_set_new(obj, "capsules_beyond_queue",
	                    json_integer((json_int_t)s->capsules_beyond_queue));
	json_object_set_new(
	    obj, "rnr_retry_exceeded",
	    json_integer((json_int_t)rg->wc.by_status[RDMA_PROV_WC_RNR_RETRY_EXC_ERR]));
	json_object_set_new(obj, "invariant_violations",
	                    json_integer((json_int_t)s->invariant_violations));
	json_object_set_new(obj, "qpairs_reclaimed", json_integer((json_int_t)s->qpairs_reclaimed));
	json_object_set_new(obj, "wrs_reclaimed", json_integer((json_int_t)s->wrs_reclaimed));
	json_object_set_new(obj, "device_errors", json_integer((json_int_t)s->device_errors));
	json_object_set_new(obj, "pending_buffer", json_integer((json_int_t)pend_buf));
	json_object_set_new(obj, "pending_rdma_read", json_integer((json_int_t)pend_read));
	json_object_set_new(obj, "pending_rdma_send", json_integer((json_int_t)pend_send));
	json_object_set_new(obj, "pending_free_request", json_integer((json_int_t)pend_free));
	/* The seed's counters at the top level, where an operator looks first. */
	json_object_set_new(obj, "req_cqe_error", json_integer((json_int_t)rg->wc.req_cqe_error));
	json_object_set_new(obj, "req_cqe_flush_error",
	                    json_integer((json_int_t)rg->wc.req_cqe_flush_error));
	json_object_set_new(obj, "wc", wc_json(&rg->wc));
	json_object_set_new(obj, "qpairs", qpairs);
	json_object_set_new(obj, "state_events", coverage_json(rg));
}
