/*
 * An in-process transport at the core's seam (nvmf/transport.h) and the
 * target around it, on one manual reactor. The transport owns nothing but
 * its qpairs' containers: a request's data is the caller's buffer, handed to
 * the core at once, so there is never a request of its own to abort or to
 * drain, and a disconnect lets go of the qpair at once.
 */
#include "nvmf_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/reactor.h"
#include "util/log.h"

#define LOOP_STEP_US 1000u
#define LOOP_MAX_STEPS 100000u

struct nvmf_loop_req {
	struct unvmf_req req;
	bool done;
};

static int loop_create(const struct unvmf_transport_opts *opts, struct unvmf_transport **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void loop_destroy(struct unvmf_transport *transport)
{
	free(transport);
}

/* Connections are made by nvmf_loop_qpair_open, not accepted: nothing to open. */
static int loop_listen(struct unvmf_transport *transport, const struct unvmf_trid *trid)
{
	return 0;
}

static void loop_stop_listen(struct unvmf_transport *transport, const struct unvmf_trid *trid)
{
}

static struct unvmf_transport_poll_group *loop_poll_group_create(struct unvmf_transport *transport,
                                                                 struct unvmf_poll_group *group)
{
	return calloc(1, sizeof(struct unvmf_transport_poll_group));
}

static void loop_poll_group_destroy(struct unvmf_transport_poll_group *tgroup)
{
	free(tgroup);
}

static int loop_poll_group_poll(struct unvmf_transport_poll_group *tgroup)
{
	return 0;
}

static int loop_poll_group_add(struct unvmf_transport_poll_group *tgroup, struct unvmf_qpair *qpair)
{
	UNVMF_CONTAINER_OF(qpair, struct nvmf_loop_qpair, qpair)->added = true;
	return 0;
}

static void loop_req_complete(struct unvmf_req *req)
{
	struct nvmf_loop_qpair *lq = UNVMF_CONTAINER_OF(req->qpair, struct nvmf_loop_qpair, qpair);

	lq->completions++;
	UNVMF_CONTAINER_OF(req, struct nvmf_loop_req, req)->done = true;
}

static void loop_qpair_disconnect(struct unvmf_qpair *qpair)
{
	struct nvmf_loop_qpair *lq = UNVMF_CONTAINER_OF(qpair, struct nvmf_loop_qpair, qpair);

	if (lq->finished)
		return;
	unvmf_qpair_teardown_begin(qpair);
	unvmf_qpair_fini(qpair);
	lq->finished = true;
}

static int loop_qpair_abort_request(struct unvmf_qpair *qpair, uint16_t cid)
{
	return -ENOENT;
}

static void loop_poll_group_dump_stats(struct unvmf_transport_poll_group *tgroup, void *json_obj)
{
}

static int loop_inject_fault(struct unvmf_qpair *qpair, const char *kind)
{
	return -EOPNOTSUPP;
}

static void loop_opts_init(struct unvmf_transport_opts *opts)
{
	unvmf_transport_opts_defaults(opts, NVMF_TRTYPE_INTRA_HOST);
}

static const struct unvmf_transport_ops g_loop_ops = {
    .name = "LOOP",
    .trtype = NVMF_TRTYPE_INTRA_HOST,
    .opts_init = loop_opts_init,
    .create = loop_create,
    .destroy = loop_destroy,
    .listen = loop_listen,
    .stop_listen = loop_stop_listen,
    .poll_group_create = loop_poll_group_create,
    .poll_group_destroy = loop_poll_group_destroy,
    .poll_group_poll = loop_poll_group_poll,
    .poll_group_add = loop_poll_group_add,
    .req_complete = loop_req_complete,
    .qpair_disconnect = loop_qpair_disconnect,
    .qpair_abort_request = loop_qpair_abort_request,
    .poll_group_dump_stats = loop_poll_group_dump_stats,
    .inject_fault = loop_inject_fault,
};

void nvmf_loop_opts_init(struct nvmf_loop_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->ns_blocks = 2048;
	opts->block_size = 512;
	opts->max_io_qpairs = 4;
	opts->max_io_size = 131072;
}

void nvmf_loop_step(void)
{
	unvmf_reactor_step(0);
	unvmf_clock_advance(LOOP_STEP_US);
}

static void loop_done_rc(void *arg, int rc)
{
	int *out = arg;

	*out = rc ? rc : 1;
}

/* Steps until *flag is non-zero; 0 or -ETIMEDOUT. */
static int loop_wait(volatile int *flag)
{
	for (unsigned i = 0; i < LOOP_MAX_STEPS && !*flag; i++)
		nvmf_loop_step();
	return *flag ? 0 : -ETIMEDOUT;
}

static int loop_target_build(struct nvmf_loop *loop, const struct nvmf_loop_opts *opts)
{
	struct unvmf_transport_opts topts;
	int done = 0, rc;

	unvmf_transport_register(&g_loop_ops);
	g_loop_ops.opts_init(&topts);
	topts.max_io_qpairs_per_ctrlr = opts->max_io_qpairs;
	topts.max_io_size = opts->max_io_size;
	rc = unvmf_tgt_add_transport(&topts, loop_done_rc, &done);
	if (rc)
		return rc;
	rc = loop_wait(&done);
	if (rc)
		return rc;
	if (done != 1)
		return done;
	loop->transport = unvmf_tgt_find_transport(NVMF_TRTYPE_INTRA_HOST);
	rc =
	    unvmf_bdev_malloc_create("Loop0", opts->ns_blocks, opts->block_size, NULL, &loop->bdev);
	if (rc)
		return rc;
	rc = unvmf_subsystem_create(NVMF_LOOP_SUBNQN, UNVMF_SUBSYSTEM_NVME, NVMF_LOOP_MAX_NS,
	                            &loop->subsys);
	if (rc)
		return rc;
	unvmf_subsystem_set_sn(loop->subsys, NVMF_LOOP_SERIAL);
	unvmf_subsystem_allow_any_host(loop->subsys, true);
	rc = unvmf_subsystem_add_ns(loop->subsys, loop->bdev, 1, NULL, NULL, NULL);
	if (rc < 0)
		return rc;
	memset(&loop->listen, 0, sizeof(loop->listen));
	loop->listen.trtype = NVMF_TRTYPE_INTRA_HOST;
	loop->listen.adrfam = NVMF_ADRFAM_INTRA_HOST;
	unvmf_strlcpy(loop->listen.traddr, "loop", sizeof(loop->listen.traddr));
	unvmf_strlcpy(loop->listen.trsvcid, "1", sizeof(loop->listen.trsvcid));
	return unvmf_subsystem_add_listener(loop->subsys, &loop->listen);
}

int nvmf_loop_start(struct nvmf_loop *loop, const struct nvmf_loop_opts *opts)
{
	struct unvmf_reactor_opts ropts = {.cpumask = 0x1};
	struct unvmf_tgt_opts tgt_opts = {0};
	int done = 0, rc;

	memset(loop, 0, sizeof(*loop));
	unvmf_log_set_level(UNVMF_LOG_ERROR);
	unvmf_clock_set_virtual(true, 1000000);
	rc = unvmf_reactors_init(&ropts);
	if (rc)
		goto restore_clock;
	rc = unvmf_reactors_manual_begin();
	if (rc)
		goto fini_reactors;
	rc = unvmf_tgt_init(&tgt_opts);
	if (rc)
		goto end_manual;
	rc = unvmf_tgt_create_poll_groups(loop_done_rc, &done);
	if (!rc)
		rc = loop_wait(&done);
	if (!rc && done != 1)
		rc = done;
	if (!rc)
		rc = loop_target_build(loop, opts);
	if (rc)
		nvmf_loop_stop(loop);
	return rc;

end_manual:
	unvmf_reactors_manual_end();
fini_reactors:
	unvmf_reactors_fini();
restore_clock:
	unvmf_clock_set_virtual(false, 0);
	return rc;
}

static void loop_shutdown_done(void *arg)
{
	*(int *)arg = 1;
}

int nvmf_loop_stop(struct nvmf_loop *loop)
{
	int done = 0, rc;

	unvmf_tgt_shutdown(loop_shutdown_done, &done);
	rc = loop_wait(&done);
	unvmf_tgt_fini();
	unvmf_bdev_delete_all();
	unvmf_reactors_manual_end();
	unvmf_reactors_fini();
	unvmf_clock_set_virtual(false, 0);
	memset(loop, 0, sizeof(*loop));
	return rc;
}

struct nvmf_loop_qpair *nvmf_loop_qpair_spare(struct nvmf_loop *loop)
{
	if (loop->num_spare >= NVMF_LOOP_SPARE_QPAIRS)
		return NULL;
	return &loop->spare[loop->num_spare++];
}

int nvmf_loop_qpair_open(struct nvmf_loop *loop, struct nvmf_loop_qpair *lq)
{
	memset(lq, 0, sizeof(*lq));
	unvmf_qpair_init(&lq->qpair, loop->transport);
	lq->qpair.local = loop->listen;
	lq->qpair.peer = loop->listen;
	unvmf_tgt_new_qpair(&lq->qpair);
	for (unsigned i = 0; i < LOOP_MAX_STEPS && !lq->added && !lq->finished; i++)
		nvmf_loop_step();
	return lq->added ? 0 : -ETIMEDOUT;
}

int nvmf_loop_qpair_close(struct nvmf_loop_qpair *lq)
{
	if (!lq->finished)
		unvmf_qpair_disconnect(&lq->qpair, "closed by the test");
	/* Messages the core sent on the way (a controller's other queues) run too. */
	for (unsigned i = 0; i < 16; i++)
		nvmf_loop_step();
	return lq->finished ? 0 : -ETIMEDOUT;
}

struct nvmf_loop_req *nvmf_loop_submit(struct nvmf_loop_qpair *lq, const struct nvme_sqe *sqe,
                                       void *buf, uint32_t len, enum unvmf_xfer xfer)
{
	struct nvmf_loop_req *r = nvmf_loop_arrive(lq, sqe, buf, len, xfer);

	if (r)
		nvmf_loop_req_exec(r);
	return r;
}

void nvmf_loop_req_exec(struct nvmf_loop_req *r)
{
	unvmf_req_exec(&r->req);
}

struct nvmf_loop_req *nvmf_loop_arrive(struct nvmf_loop_qpair *lq, const struct nvme_sqe *sqe,
                                       void *buf, uint32_t len, enum unvmf_xfer xfer)
{
	struct nvmf_loop_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->req.qpair = &lq->qpair;
	r->req.cmd = *sqe;
	r->req.xfer = xfer;
	r->req.length = len;
	if (len) {
		r->req.iov[0].iov_base = buf;
		r->req.iov[0].iov_len = len;
		r->req.iovcnt = 1;
	}
	unvmf_req_fused_arrive(&r->req);
	return r;
}

bool nvmf_loop_req_done(const struct nvmf_loop_req *r, struct nvme_cqe *cqe)
{
	if (r->done && cqe)
		*cqe = r->req.rsp;
	return r->done;
}

void nvmf_loop_req_free(struct nvmf_loop_req *r)
{
	free(r);
}

int nvmf_loop_exec(struct nvmf_loop_qpair *lq, const struct nvme_sqe *sqe, void *buf, uint32_t len,
                   enum unvmf_xfer xfer, struct nvme_cqe *cqe)
{
	struct nvmf_loop_req *r = nvmf_loop_submit(lq, sqe, buf, len, xfer);
	int rc;

	if (!r)
		return -ENOMEM;
	for (unsigned i = 0; i < LOOP_MAX_STEPS && !r->done; i++)
		nvmf_loop_step();
	if (!r->done) {
		/* Still the core's: leave it allocated rather than free what it holds. */
		return -ETIMEDOUT;
	}
	if (cqe)
		*cqe = r->req.rsp;
	rc = NVMF_LOOP_STATUS(r->req.rsp.status.s.sct, r->req.rsp.status.s.sc);
	free(r);
	return rc;
}

int nvmf_loop_connect(struct nvmf_loop_qpair *lq, uint16_t qid, uint16_t sqsize, const char *subnqn,
                      const char *hostnqn, uint16_t cntlid_in, uint16_t *cntlid)
{
	struct nvmf_connect_data data;
	struct nvmf_connect_cmd cmd;
	struct nvme_cqe cqe;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_CONNECT;
	cmd.qid = qid;
	cmd.sqsize = sqsize;
	memset(&data, 0, sizeof(data));
	for (int i = 0; i < 16; i++)
		data.hostid[i] = (uint8_t)(0xa0 + i);
	data.cntlid = cntlid_in;
	unvmf_strlcpy(data.subnqn, subnqn, sizeof(data.subnqn));
	unvmf_strlcpy(data.hostnqn, hostnqn, sizeof(data.hostnqn));
	rc = nvmf_loop_exec(lq, (const struct nvme_sqe *)&cmd, &data, sizeof(data),
	                    UNVMF_XFER_HOST_TO_CONTROLLER, &cqe);
	if (rc == 0 && cntlid)
		*cntlid = ((struct nvmf_connect_rsp *)&cqe)->status_code_specific.success.cntlid;
	return rc;
}

int nvmf_loop_set_cc(struct nvmf_loop_qpair *lq, uint32_t cc)
{
	struct nvmf_property_set_cmd cmd;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = NVMF_FCTYPE_PROPERTY_SET;
	cmd.attrib.size = 0;
	cmd.ofst = NVME_REG_CC;
	cmd.value = cc;
	return nvmf_loop_exec(lq, (const struct nvme_sqe *)&cmd, NULL, 0, UNVMF_XFER_NONE, NULL);
}

int nvmf_loop_ctrlr_open(struct nvmf_loop *loop, struct nvmf_loop_qpair *admin, uint16_t *cntlid)
{
	union nvme_cc_register cc = {.raw = 0};
	int rc;

	rc = nvmf_loop_qpair_open(loop, admin);
	if (rc)
		return rc;
	rc = nvmf_loop_connect(admin, 0, 31, NVMF_LOOP_SUBNQN, NVMF_LOOP_HOSTNQN, 0xffff, cntlid);
	if (rc)
		return rc;
	cc.bits.en = 1;
	cc.bits.iosqes = 6;
	cc.bits.iocqes = 4;
	return nvmf_loop_set_cc(admin, cc.raw);
}

int nvmf_loop_io_open(struct nvmf_loop *loop, struct nvmf_loop_qpair *io, uint16_t qid,
                      uint16_t cntlid)
{
	int rc = nvmf_loop_qpair_open(loop, io);

	if (rc)
		return rc;
	return nvmf_loop_connect(io, qid, 63, NVMF_LOOP_SUBNQN, NVMF_LOOP_HOSTNQN, cntlid, NULL);
}

int nvmf_loop_fixture_open(void **state, enum nvmf_loop_level level)
{
	struct nvmf_loop_opts opts;
	struct nvmf_loop *loop = calloc(1, sizeof(*loop));
	int rc;

	if (!loop)
		return -1;
	nvmf_loop_opts_init(&opts);
	rc = nvmf_loop_start(loop, &opts);
	if (rc)
		goto free_loop;
	if (level >= NVMF_LOOP_CTRLR)
		rc = nvmf_loop_ctrlr_open(loop, &loop->admin, &loop->cntlid);
	if (!rc && level >= NVMF_LOOP_IO)
		rc = nvmf_loop_io_open(loop, &loop->io, 1, loop->cntlid);
	if (rc)
		goto stop_loop;
	*state = loop;
	return 0;

stop_loop:
	nvmf_loop_stop(loop);
free_loop:
	free(loop);
	return -1;
}

int nvmf_loop_fixture_close(void **state)
{
	struct nvmf_loop *loop = *state;
	int rc = nvmf_loop_stop(loop);

	free(loop);
	return rc ? -1 : 0;
}
