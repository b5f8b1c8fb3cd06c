/*
 * Admin commands, on the admin qpair's thread. Responses are built in a
 * stack buffer and copied into the transport's data buffers.
 */
#include "nvmf/nvmf_internal.h"
#include "reactor/reactor.h"
#include "nvmf/transport.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

#define UNVMF_FIRMWARE_REVISION "0.1"
#define UNVMF_ACL 4		/* Abort commands outstanding */
#define UNVMF_ELPE 16		/* error log entries */
#define UNVMF_KAS_100MS 1

static void req_copy_to(struct unvmf_req *req, const void *src, size_t len)
{
	size_t off = 0;

	len = UNVMF_MIN(len, (size_t)req->length);
	for (int i = 0; i < req->iovcnt && off < len; i++) {
		size_t n = UNVMF_MIN(req->iov[i].iov_len, len - off);

		memcpy(req->iov[i].iov_base, (const char *)src + off, n);
		off += n;
	}
	unvmf_req_set_c2h_len(req, (uint32_t)UNVMF_MAX((size_t)req->c2h_len, off));
}

static void admin_done(struct unvmf_req *req, uint8_t sct, uint8_t sc)
{
	unvmf_req_set_status(req, sct, sc);
	unvmf_req_complete(req);
}

static unsigned log2u(uint64_t v)
{
	return v ? 63 - (unsigned)__builtin_clzll(v) : 0;
}

/* ---- Identify ---- */

static void identify_ctrlr(struct unvmf_req *req)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	struct unvmf_subsystem *subsys = ctrlr->subsys;
	struct unvmf_transport *t = req->qpair->transport;
	struct nvme_id_ctrl *cd = calloc(1, sizeof(*cd));

	if (!cd) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	unvmf_str_pad(cd->sn, sizeof(cd->sn), subsys->serial);
	unvmf_str_pad(cd->mn, sizeof(cd->mn), subsys->model);
	unvmf_str_pad(cd->fr, sizeof(cd->fr), UNVMF_FIRMWARE_REVISION);
	cd->rab = 6;
	cd->cmic = 0x2;		/* may have several controllers (dynamic model) */
	cd->mdts = (uint8_t)log2u(t->opts.max_io_size / 4096);
	cd->cntlid = ctrlr->cntlid;
	/*
	 * 1.3, as Linux's nvmet reports. Compare, fused Compare and Write, the
	 * effects log and the namespace notices are 1.3 features; the
	 * command-set Identify structures (CNS 05h/06h/08h/1Ch) come from 2.0
	 * and hosts find them without VER. The requirements 1.4 adds have not
	 * been checked one by one against this controller, and hosts key
	 * behaviour on VER, so it claims only the version that has.
	 */
	cd->ver = NVME_VERSION(1, 3, 0);
	/* Extended data for Get Log Page (offsets); Commands Supported and Effects. */
	cd->lpa = 0x4 | NVME_LPA_COMMAND_EFFECTS;
	cd->elpe = UNVMF_ELPE - 1;
	cd->sgls = 0x1 | (1u << 20);	/* SGLs without alignment; offset data blocks */
	cd->kas = UNVMF_KAS_100MS;
	cd->maxcmd = (uint16_t)t->opts.max_queue_depth;
	memcpy(cd->subnqn, subsys->nqn, strlen(subsys->nqn));
	cd->ioccsz = (uint32_t)((sizeof(struct nvme_sqe) + t->opts.in_capsule_data_size) / 16);
	cd->iorcsz = sizeof(struct nvme_cqe) / 16;
	cd->icdoff = 0;
	cd->msdbd = 1;
	if (subsys->type == UNVMF_SUBSYSTEM_DISCOVERY) {
		cd->cntrltype = 2;
		cd->maxcmd = (uint16_t)t->opts.max_aq_depth;
		/* A persistent discovery controller is told when the log changes. */
		cd->oaes = NVME_OAES_DISCOVERY_LOG_CHANGE;
		cd->aerl = UNVMF_MAX_AER - 1;
	} else {
		cd->cntrltype = 1;
		cd->oaes = NVME_OAES_NS_ATTR_CHANGED;
		cd->acl = UNVMF_ACL - 1;
		cd->aerl = UNVMF_MAX_AER - 1;
		cd->frmw = 0x3;	/* one slot, read-only */
		cd->sqes = 0x66;
		cd->cqes = 0x44;
		cd->nn = subsys->max_namespaces;
		cd->oncs = NVME_ONCS_COMPARE | NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES |
		           NVME_ONCS_RESERVATIONS;
		/* 128-bit host identifiers: Linux then asks for extended reservation reports. */
		cd->ctratt = 1;
		cd->vwc = NVME_VWC_PRESENT;
		/* Compare and Write, atomic against other writes to the range (range_lock.c). */
		cd->fuses = NVME_FUSES_COMPARE_AND_WRITE;
	}
	if (t->ops->cdata_init)
		t->ops->cdata_init(t, cd);
	req_copy_to(req, cd, sizeof(*cd));
	free(cd);
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static struct unvmf_ns *ns_lookup(struct unvmf_subsystem *subsys, uint32_t nsid)
{
	if (nsid == 0 || nsid > subsys->max_namespaces)
		return NULL;
	return __atomic_load_n(&subsys->ns[nsid - 1], __ATOMIC_ACQUIRE);
}

static void identify_ns(struct unvmf_req *req)
{
	struct unvmf_subsystem *subsys = req->qpair->ctrlr->subsys;
	uint32_t nsid = req->cmd.nsid;
	struct nvme_id_ns *nsd;
	struct unvmf_ns *ns;

	if (nsid == 0 || (nsid > subsys->max_namespaces && nsid != 0xffffffff)) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	nsd = calloc(1, sizeof(*nsd));
	if (!nsd) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	/* An allocated-but-inactive NSID returns zeroes (NVMe base 5.15.2.1). */
	ns = nsid == 0xffffffff ? NULL : ns_lookup(subsys, nsid);
	if (ns) {
		struct unvmf_bdev *bdev = ns->bdev;

		uint64_t nblocks = unvmf_bdev_num_blocks(bdev);

		nsd->nsze = nblocks;
		nsd->ncap = nblocks;
		nsd->nuse = nblocks;
		nsd->nlbaf = 0;
		nsd->flbas = 0;
		nsd->nmic = 1;	/* may be shared by controllers */
		/* Every reservation type, IEKEY per 1.3; PTPL with a state file. */
		nsd->rescap = 0xfe | (ns->resv.ptpl_file ? 1 : 0);
		nsd->lbaf[0].lbads = (uint8_t)log2u(bdev->block_size);
		nsd->noiob = 0;
		if (ns->has_nguid)
			memcpy(nsd->nguid, ns->nguid, 16);
		if (ns->has_eui64)
			memcpy(nsd->eui64, ns->eui64, 8);
	}
	req_copy_to(req, nsd, sizeof(*nsd));
	free(nsd);
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static void identify_active_ns_list(struct unvmf_req *req)
{
	struct unvmf_subsystem *subsys = req->qpair->ctrlr->subsys;
	uint32_t list[1024] = {0};
	unsigned n = 0;

	if (req->cmd.nsid >= 0xfffffffe) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	for (uint32_t nsid = req->cmd.nsid + 1; nsid <= subsys->max_namespaces && n < 1024; nsid++) {
		if (ns_lookup(subsys, nsid))
			list[n++] = nsid;
	}
	req_copy_to(req, list, sizeof(list));
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static size_t ns_desc_add(uint8_t *buf, size_t off, uint8_t nidt, const void *id, uint8_t len)
{
	struct nvme_ns_id_desc *d = (struct nvme_ns_id_desc *)(buf + off);

	d->nidt = nidt;
	d->nidl = len;
	memcpy(buf + off + sizeof(*d), id, len);
	return off + sizeof(*d) + len;
}

static void identify_ns_desc_list(struct unvmf_req *req)
{
	struct unvmf_ns *ns = ns_lookup(req->qpair->ctrlr->subsys, req->cmd.nsid);
	uint8_t buf[4096] = {0};
	size_t off = 0;

	if (!ns) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	if (ns->has_eui64)
		off = ns_desc_add(buf, off, NVME_NIDT_EUI64, ns->eui64, 8);
	if (ns->has_nguid)
		off = ns_desc_add(buf, off, NVME_NIDT_NGUID, ns->nguid, 16);
	off = ns_desc_add(buf, off, NVME_NIDT_UUID, ns->uuid, 16);
	req_copy_to(req, buf, sizeof(buf));
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

/*
 * The NVMe 2.0 command-set Identify structures (CNS 05h, 06h, 08h, 1Ch).
 * The version stays 1.3 (see identify_ctrlr): hosts ask for these from the
 * structure itself, not from VER (Linux sends CNS 06h to any 1.1+
 * controller), and a controller that answers them is what such a host needs.
 */
static uint8_t identify_csi(const struct unvmf_req *req)
{
	return (uint8_t)(req->cmd.cdw11 >> 24);
}

/* As CNS 00h: 0 or past the table is invalid; an unused NSID reads as zeroes. */
static bool identify_nsid_ok(struct unvmf_req *req)
{
	struct unvmf_subsystem *subsys = req->qpair->ctrlr->subsys;
	uint32_t nsid = req->cmd.nsid;

	if (nsid == 0 || (nsid > subsys->max_namespaces && nsid != 0xffffffff)) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return false;
	}
	return true;
}

static void identify_zeroes(struct unvmf_req *req)
{
	static const uint8_t zero[4096];

	req_copy_to(req, zero, sizeof(zero));
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

/*
 * CNS 05h, CSI NVM: the NVM command set's namespace data is protection
 * information and extended LBA formats (LBSTM, PIC, ELBAF); unvmf has
 * neither, and zero is what each field says for "none".
 */
static void identify_iocs_ns(struct unvmf_req *req)
{
	if (!identify_nsid_ok(req))
		return;
	if (identify_csi(req) != NVME_CSI_NVM) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	identify_zeroes(req);
}

/*
 * CNS 06h, CSI NVM: size limits of Verify, Write Zeroes, Write Uncorrectable
 * and Dataset Management. Zero is "no limit beyond the command's own
 * fields", which holds: Write Zeroes runs any NLB, DSM any 256 ranges.
 */
static void identify_iocs_ctrlr(struct unvmf_req *req)
{
	struct nvme_id_ctrl_nvm nvm;

	if (identify_csi(req) != NVME_CSI_NVM) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	memset(&nvm, 0, sizeof(nvm));
	req_copy_to(req, &nvm, sizeof(nvm));
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

/* CNS 08h: what every command set shares; for an unused NSID all zero. */
static void identify_indep_ns(struct unvmf_req *req)
{
	struct unvmf_ns *ns;
	struct nvme_id_ns_indep d;

	if (!identify_nsid_ok(req))
		return;
	memset(&d, 0, sizeof(d));
	ns = req->cmd.nsid == 0xffffffff ? NULL
	                                 : ns_lookup(req->qpair->ctrlr->subsys, req->cmd.nsid);
	if (ns) {
		d.nmic = 1;  /* may be shared by controllers, as CNS 00h says */
		d.nstat = 1; /* ready: a namespace is usable as soon as it is attached */
	}
	req_copy_to(req, &d, sizeof(d));
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

/* CNS 1Ch: the I/O command set combinations; one, the NVM command set alone. */
static void identify_iocs(struct unvmf_req *req)
{
	uint64_t vectors[512] = {1};

	req_copy_to(req, vectors, sizeof(vectors));
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static void admin_identify(struct unvmf_req *req)
{
	uint8_t cns = req->cmd.cdw10 & 0xff;
	bool discovery = req->qpair->ctrlr->subsys->type == UNVMF_SUBSYSTEM_DISCOVERY;

	if (req->length < 4096 || req->xfer != UNVMF_XFER_CONTROLLER_TO_HOST) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID);
		return;
	}
	if (discovery && cns != NVME_CNS_CONTROLLER) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	switch (cns) {
	case NVME_CNS_CONTROLLER:
		identify_ctrlr(req);
		return;
	case NVME_CNS_NAMESPACE:
		identify_ns(req);
		return;
	case NVME_CNS_ACTIVE_NS_LIST:
		identify_active_ns_list(req);
		return;
	case NVME_CNS_NS_DESCRIPTOR_LIST:
		identify_ns_desc_list(req);
		return;
	case NVME_CNS_IOCS_NAMESPACE:
		identify_iocs_ns(req);
		return;
	case NVME_CNS_IOCS_CONTROLLER:
		identify_iocs_ctrlr(req);
		return;
	case NVME_CNS_INDEP_NAMESPACE:
		identify_indep_ns(req);
		return;
	case NVME_CNS_IOCS:
		identify_iocs(req);
		return;
	default:
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
}

/* ---- Get Log Page ---- */

static void log_copy(struct unvmf_req *req, const void *page, uint64_t page_len, uint64_t offset,
		     uint32_t len)
{
	uint8_t zero[512] = {0};
	size_t done = 0;

	/* Bytes past the page's end read as zero. */
	if (offset < page_len) {
		size_t n = (size_t)UNVMF_MIN((uint64_t)len, page_len - offset);

		req_copy_to(req, (const uint8_t *)page + offset, n);
		done = n;
	}
	while (done < len) {
		size_t n = UNVMF_MIN(sizeof(zero), len - done);
		size_t off = 0;

		for (int i = 0; i < req->iovcnt; i++) {
			size_t s = req->iov[i].iov_len;

			if (done >= off && done < off + s) {
				size_t m = UNVMF_MIN(n, off + s - done);

				memcpy((uint8_t *)req->iov[i].iov_base + (done - off), zero, m);
				n = m;
				break;
			}
			off += s;
		}
		done += n;
	}
	unvmf_req_set_c2h_len(req, (uint32_t)done);
}

static void log_changed_ns(struct unvmf_req *req, uint64_t offset, uint32_t len, bool rae)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	struct nvme_changed_ns_list list = {0};

	memcpy(list.nsid, ctrlr->changed_ns, ctrlr->num_changed_ns * sizeof(uint32_t));
	log_copy(req, &list, sizeof(list), offset, len);
	ctrlr->num_changed_ns = 0;
	if (!rae)
		ctrlr->ns_changed_masked = false;
}

/*
 * Reservation Notification: the oldest entry, which reading consumes; Number
 * of Available Log Pages counts those left behind it. Empty: all zero.
 */
static void log_resv_notification(struct unvmf_req *req, uint64_t offset, uint32_t len, bool rae)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	uint8_t page[64] = {0};

	if (ctrlr->num_resv_log > 0) {
		memcpy(page, &ctrlr->resv_log[0].count, 8);
		page[8] = ctrlr->resv_log[0].type;
		page[9] = (uint8_t)UNVMF_MIN(ctrlr->num_resv_log - 1, 255u);
		memcpy(page + 12, &ctrlr->resv_log[0].nsid, 4);
		memmove(&ctrlr->resv_log[0], &ctrlr->resv_log[1],
		        (ctrlr->num_resv_log - 1) * sizeof(ctrlr->resv_log[0]));
		ctrlr->num_resv_log--;
	}
	log_copy(req, page, sizeof(page), offset, len);
	if (!rae)
		ctrlr->resv_masked = false;
}

/*
 * Commands Supported and Effects: every command unvmf_ctrlr_exec_admin and
 * unvmf_io_exec implement (Fabrics commands are not listed: they have their
 * own opcode space). The ones that change logical block content say so
 * (LBCC); none changes namespace capability, inventory or controller
 * capability, and none needs submission restrictions (CSE 0).
 */
static void log_cmd_effects(struct unvmf_req *req, uint64_t offset, uint32_t len)
{
	static const uint8_t admin[] = {NVME_OPC_GET_LOG_PAGE, NVME_OPC_IDENTIFY,
	                                NVME_OPC_ABORT,        NVME_OPC_SET_FEATURES,
	                                NVME_OPC_GET_FEATURES, NVME_OPC_ASYNC_EVENT_REQUEST,
	                                NVME_OPC_KEEP_ALIVE};
	static const uint8_t io_read[] = {NVME_OPC_READ,
	                                  NVME_OPC_FLUSH,
	                                  NVME_OPC_COMPARE,
	                                  NVME_OPC_RESERVATION_REGISTER,
	                                  NVME_OPC_RESERVATION_REPORT,
	                                  NVME_OPC_RESERVATION_ACQUIRE,
	                                  NVME_OPC_RESERVATION_RELEASE};
	static const uint8_t io_write[] = {NVME_OPC_WRITE, NVME_OPC_WRITE_ZEROES,
	                                   NVME_OPC_DATASET_MANAGEMENT};
	struct nvme_cmd_effects_log *log = calloc(1, sizeof(*log));

	if (!log) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	for (size_t i = 0; i < sizeof(admin); i++)
		log->acs[admin[i]] = NVME_CMD_EFFECTS_CSUPP;
	for (size_t i = 0; i < sizeof(io_read); i++)
		log->iocs[io_read[i]] = NVME_CMD_EFFECTS_CSUPP;
	for (size_t i = 0; i < sizeof(io_write); i++)
		log->iocs[io_write[i]] = NVME_CMD_EFFECTS_CSUPP | NVME_CMD_EFFECTS_LBCC;
	log_copy(req, log, sizeof(*log), offset, len);
	free(log);
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static void log_error(struct unvmf_req *req, uint64_t offset, uint32_t len)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	struct nvme_error_log_entry entries[UNVMF_ELPE];

	unvmf_ctrlr_errors_collect(ctrlr);
	memset(entries, 0, sizeof(entries));
	/* Newest first (NVMe base 5.14.1.1). */
	for (unsigned i = 0; i < ctrlr->num_errors; i++)
		entries[i] = ctrlr->errors[ctrlr->num_errors - 1 - i];
	log_copy(req, entries, sizeof(entries), offset, len);
}

static void put_u128(uint8_t dst[16], uint64_t v)
{
	memset(dst, 0, 16);
	for (unsigned i = 0; i < 8; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
}

/* Data Units: thousands of 512-byte units, rounded up (NVMe base 5.14.1.2). */
static uint64_t data_units(uint64_t units_512)
{
	return UNVMF_DIV_ROUND_UP(units_512, 1000);
}

static void log_health(struct unvmf_req *req, uint64_t offset, uint32_t len)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	uint64_t rd_units = 0, wr_units = 0, rd_cmds = 0, wr_cmds = 0;
	struct nvme_health_log h;

	/* Each qid's counters have one writer; the sum is as current as the loads. */
	for (unsigned qid = 0; qid <= ctrlr->max_qid; qid++) {
		struct unvmf_ctrlr_queue_log *q = &ctrlr->qlog[qid];

		rd_units += atomic_load_explicit(&q->read_units, memory_order_relaxed);
		wr_units += atomic_load_explicit(&q->write_units, memory_order_relaxed);
		rd_cmds += atomic_load_explicit(&q->read_cmds, memory_order_relaxed);
		wr_cmds += atomic_load_explicit(&q->write_cmds, memory_order_relaxed);
	}
	unvmf_ctrlr_errors_collect(ctrlr);
	memset(&h, 0, sizeof(h));
	put_u128(h.data_units_read, data_units(rd_units));
	put_u128(h.data_units_written, data_units(wr_units));
	put_u128(h.host_reads, rd_cmds);
	put_u128(h.host_writes, wr_cmds);
	put_u128(h.num_err_log_entries, ctrlr->err_count);
	h.temperature[0] = (uint8_t)(310 & 0xff);	/* 310 K: a plausible reading */
	h.temperature[1] = (uint8_t)(310 >> 8);
	h.avail_spare = 100;
	h.spare_thresh = 10;
	log_copy(req, &h, sizeof(h), offset, len);
}

static void log_firmware(struct unvmf_req *req, uint64_t offset, uint32_t len)
{
	struct nvme_firmware_slot_log fw;

	memset(&fw, 0, sizeof(fw));
	fw.afi = 1;
	unvmf_str_pad(fw.frs[0], sizeof(fw.frs[0]), UNVMF_FIRMWARE_REVISION);
	log_copy(req, &fw, sizeof(fw), offset, len);
}

static void log_discovery(struct unvmf_req *req, uint64_t offset, uint32_t len)
{
	uint8_t *buf = calloc(1, len);

	if (!buf) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	unvmf_discovery_log(req->qpair->ctrlr->hostnqn, &req->qpair->local, buf, offset, len);
	req_copy_to(req, buf, len);
	free(buf);
}

static void admin_get_log_page(struct unvmf_req *req)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	uint8_t lid = req->cmd.cdw10 & 0xff;
	bool rae = (req->cmd.cdw10 >> 15) & 1;
	uint64_t numd = (((uint64_t)(req->cmd.cdw11 & 0xffff) << 16) | (req->cmd.cdw10 >> 16)) + 1;
	uint64_t offset = req->cmd.cdw12 | ((uint64_t)req->cmd.cdw13 << 32);
	uint64_t len = numd * 4;
	bool discovery = ctrlr->subsys->type == UNVMF_SUBSYSTEM_DISCOVERY;

	if (req->xfer != UNVMF_XFER_CONTROLLER_TO_HOST || len > req->length) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID);
		return;
	}
	if (offset & 3) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	if (discovery) {
		if (lid != NVME_LOG_DISCOVERY) {
			admin_done(req, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_INVALID_LOG_PAGE);
			return;
		}
		log_discovery(req, offset, (uint32_t)len);
		/* Read: the next change is reported again (unless RAE keeps it masked). */
		if (!rae)
			ctrlr->discovery_changed_masked = false;
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
		return;
	}
	switch (lid) {
	case NVME_LOG_ERROR:
		log_error(req, offset, (uint32_t)len);
		break;
	case NVME_LOG_HEALTH:
		log_health(req, offset, (uint32_t)len);
		break;
	case NVME_LOG_FIRMWARE_SLOT:
		log_firmware(req, offset, (uint32_t)len);
		break;
	case NVME_LOG_CHANGED_NS_LIST:
		log_changed_ns(req, offset, (uint32_t)len, rae);
		break;
	case NVME_LOG_COMMAND_EFFECTS:
		log_cmd_effects(req, offset, (uint32_t)len);
		return;
	case NVME_LOG_RESERVATION_NOTIFICATION:
		log_resv_notification(req, offset, (uint32_t)len, rae);
		break;
	default:
		admin_done(req, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_INVALID_LOG_PAGE);
		return;
	}
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

/* ---- Features ---- */

static void admin_features(struct unvmf_req *req, bool set)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	uint8_t fid = req->cmd.cdw10 & 0xff;
	uint8_t sel = (req->cmd.cdw10 >> 8) & 0x7;
	uint32_t cdw11 = req->cmd.cdw11;
	bool discovery = ctrlr->subsys->type == UNVMF_SUBSYSTEM_DISCOVERY;

	if (set && (req->cmd.cdw10 >> 31)) {
		admin_done(req, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_FEATURE_ID_NOT_SAVEABLE);
		return;
	}
	if (!set && sel == 3) {
		/* Supported capabilities: everything we keep is changeable, nothing saveable. */
		req->rsp.cdw0 = 0x4;
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
		return;
	}
	if (discovery && fid != NVME_FEAT_KEEP_ALIVE_TIMER &&
	    fid != NVME_FEAT_ASYNC_EVENT_CONFIGURATION) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	switch (fid) {
	case NVME_FEAT_NUMBER_OF_QUEUES:
		if (set) {
			uint32_t nsqr = cdw11 & 0xffff, ncqr = cdw11 >> 16;

			if (nsqr == 0xffff || ncqr == 0xffff) {
				admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
				return;
			}
			pthread_mutex_lock(&g_tgt.lock);
			/* Only before any I/O queue exists (NVMe base 5.21.1.7). */
			if (ctrlr->io_queue_created) {
				pthread_mutex_unlock(&g_tgt.lock);
				admin_done(req, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
				return;
			}
			ctrlr->num_io_queues = (uint16_t)UNVMF_MIN(UNVMF_MIN(nsqr, ncqr) + 1,
								  (uint32_t)ctrlr->max_qid);
			pthread_mutex_unlock(&g_tgt.lock);
		}
		/* NSQA and NCQA, 0's based; Connect then refuses a qid beyond them. */
		req->rsp.cdw0 = (uint32_t)(ctrlr->num_io_queues - 1) |
				((uint32_t)(ctrlr->num_io_queues - 1) << 16);
		break;
	case NVME_FEAT_KEEP_ALIVE_TIMER:
		if (set)
			unvmf_ctrlr_set_kato(ctrlr, cdw11);
		req->rsp.cdw0 = ctrlr->kato_ms;
		break;
	case NVME_FEAT_ASYNC_EVENT_CONFIGURATION:
		if (set)
			ctrlr->aec = cdw11;
		req->rsp.cdw0 = ctrlr->aec;
		break;
	case NVME_FEAT_VOLATILE_WRITE_CACHE:
		/*
		 * Identify says a volatile write cache is present (the uring
		 * backend writes to the page cache), so WCE is changeable (SEL 3
		 * reports it so) and not saveable. WCE=0 is honoured: io.c
		 * flushes every write on such a backend before completing it.
		 */
		if (set)
			atomic_store_explicit(&ctrlr->vwc_enabled, cdw11 & 1, memory_order_relaxed);
		req->rsp.cdw0 = atomic_load_explicit(&ctrlr->vwc_enabled, memory_order_relaxed) ? 1 : 0;
		break;
	case NVME_FEAT_ARBITRATION:
	case NVME_FEAT_POWER_MANAGEMENT:
	case NVME_FEAT_ERROR_RECOVERY:
	case NVME_FEAT_INTERRUPT_COALESCING:
	case NVME_FEAT_WRITE_ATOMICITY:
		/* Accepted and reported as their defaults: nothing here depends on them. */
		req->rsp.cdw0 = 0;
		break;
	case NVME_FEAT_TEMPERATURE_THRESHOLD:
		req->rsp.cdw0 = set ? cdw11 & 0xffff : 0x157;	/* 343 K */
		break;
	case NVME_FEAT_RESERVATION_NOTIFICATION_MASK:
		/* One mask for all the controller's namespaces (any NSID sets it). */
		if (set)
			ctrlr->resv_mask = cdw11 & 0xe;
		req->rsp.cdw0 = ctrlr->resv_mask;
		break;
	case NVME_FEAT_RESERVATION_PERSISTENCE: {
		struct unvmf_ns *ns = ns_lookup(ctrlr->subsys, req->cmd.nsid);

		/* Changed only by Reservation Register's CPTPL. */
		if (set) {
			admin_done(req, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_FEATURE_NOT_CHANGEABLE);
			return;
		}
		if (!ns) {
			admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
			return;
		}
		req->rsp.cdw0 = unvmf_resv_ptpl_state(&ns->resv);
		break;
	}
	case NVME_FEAT_HOST_IDENTIFIER:
		if (set) {
			admin_done(req, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_FEATURE_NOT_CHANGEABLE);
			return;
		}
		if (!(cdw11 & 1) || req->length < 16) {
			/* Only the 128-bit host identifier exists on fabrics. */
			admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
			return;
		}
		req_copy_to(req, ctrlr->hostid, 16);
		break;
	default:
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

/* ---- Asynchronous events ---- */

static void aer_try_complete(struct unvmf_ctrlr *ctrlr)
{
	while (ctrlr->num_aer > 0 && ctrlr->num_events > 0) {
		struct unvmf_req *req = ctrlr->aer[--ctrlr->num_aer];

		req->rsp.cdw0 = ctrlr->events[0].cdw0;
		memmove(&ctrlr->events[0], &ctrlr->events[1],
			(ctrlr->num_events - 1) * sizeof(ctrlr->events[0]));
		ctrlr->num_events--;
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
	}
}

static void admin_aer(struct unvmf_req *req)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;

	if (ctrlr->num_aer >= UNVMF_MAX_AER) {
		admin_done(req, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED);
		return;
	}
	ctrlr->aer[ctrlr->num_aer++] = req;
	aer_try_complete(ctrlr);
}

void unvmf_ctrlr_aer_abort_all(struct unvmf_ctrlr *ctrlr)
{
	while (ctrlr->num_aer > 0) {
		struct unvmf_req *req = ctrlr->aer[--ctrlr->num_aer];

		admin_done(req, NVME_SCT_GENERIC, NVME_SC_ABORTED_SQ_DELETION);
	}
}

/*
 * Notices (AER type 2) a controller owes its host. Each kind is reported once
 * and then masked until the host reads the kind's log page (NVMe base 5.2:
 * further events of the type are not reported until then), and only when the
 * host enabled the kind in Asynchronous Event Configuration.
 */
enum ctrlr_notice {
	CTRLR_NOTICE_NS_CHANGED,	/* Namespace Attribute Changed, log 04h */
	CTRLR_NOTICE_DISCOVERY_CHANGED, /* Discovery Log Page Change, log 70h */
	CTRLR_NOTICE_RESERVATION,       /* I/O command specific, log 80h (reservation.c) */
};

struct ctrlr_notice_msg {
	struct unvmf_ctrlr *ctrlr;
	enum ctrlr_notice kind;
	uint32_t nsid;    /* CTRLR_NOTICE_NS_CHANGED, CTRLR_NOTICE_RESERVATION */
	uint8_t resv_type; /* CTRLR_NOTICE_RESERVATION: enum unvmf_resv_notice */
};

static void ctrlr_changed_ns_add(struct unvmf_ctrlr *ctrlr, uint32_t nsid)
{
	for (unsigned i = 0; i < ctrlr->num_changed_ns; i++) {
		if (ctrlr->changed_ns[i] == nsid)
			return;
	}
	if (ctrlr->num_changed_ns < UNVMF_ARRAY_SIZE(ctrlr->changed_ns)) {
		ctrlr->changed_ns[ctrlr->num_changed_ns++] = nsid;
	} else {
		/* Overflow: the spec's marker, the host rescans everything. */
		ctrlr->changed_ns[0] = 0xffffffff;
		ctrlr->num_changed_ns = 1;
	}
}

/*
 * A reservation notice: an entry in the log unless masked, and an AER of type
 * I/O command specific (no AEC bit governs it) until the host reads log 80h.
 */
static void ctrlr_resv_notice(struct unvmf_ctrlr *ctrlr, uint8_t type, uint32_t nsid)
{
	if (ctrlr->resv_mask & (1u << type))
		return;
	if (ctrlr->num_resv_log == UNVMF_ARRAY_SIZE(ctrlr->resv_log)) {
		/* Full: the oldest goes; the count shows the host what it missed. */
		memmove(&ctrlr->resv_log[0], &ctrlr->resv_log[1],
		        (ctrlr->num_resv_log - 1) * sizeof(ctrlr->resv_log[0]));
		ctrlr->num_resv_log--;
	}
	ctrlr->resv_log_count = ctrlr->resv_log_count == UINT64_MAX ? 1 : ctrlr->resv_log_count + 1;
	ctrlr->resv_log[ctrlr->num_resv_log].count = ctrlr->resv_log_count;
	ctrlr->resv_log[ctrlr->num_resv_log].type = type;
	ctrlr->resv_log[ctrlr->num_resv_log].nsid = nsid;
	ctrlr->num_resv_log++;
	if (!ctrlr->resv_masked && ctrlr->num_events < UNVMF_ARRAY_SIZE(ctrlr->events)) {
		ctrlr->resv_masked = true;
		ctrlr->events[ctrlr->num_events++].cdw0 =
		    nvme_aer_cdw0(NVME_AER_TYPE_IO, 0, NVME_LOG_RESERVATION_NOTIFICATION);
		aer_try_complete(ctrlr);
	}
}

static void ctrlr_notice_msg(void *arg)
{
	struct ctrlr_notice_msg *msg = arg;
	struct unvmf_ctrlr *ctrlr = msg->ctrlr;
	bool *masked;
	uint32_t aec_bit;
	uint8_t info, lid;

	if (!ctrlr->admin_qpair || ctrlr->failed)
		goto put;
	if (msg->kind == CTRLR_NOTICE_RESERVATION) {
		ctrlr_resv_notice(ctrlr, msg->resv_type, msg->nsid);
		goto put;
	}
	switch (msg->kind) {
	case CTRLR_NOTICE_NS_CHANGED:
		ctrlr_changed_ns_add(ctrlr, msg->nsid);
		masked = &ctrlr->ns_changed_masked;
		aec_bit = NVME_OAES_NS_ATTR_CHANGED;
		info = NVME_AER_NOTICE_NS_ATTR_CHANGED;
		lid = NVME_LOG_CHANGED_NS_LIST;
		break;
	case CTRLR_NOTICE_DISCOVERY_CHANGED:
		masked = &ctrlr->discovery_changed_masked;
		aec_bit = NVME_OAES_DISCOVERY_LOG_CHANGE;
		info = NVME_AER_NOTICE_DISCOVERY_LOG_CHANGE;
		lid = NVME_LOG_DISCOVERY;
		break;
	default:
		UNVMF_ASSERT(false);
		goto put;
	}
	if ((ctrlr->aec & aec_bit) && !*masked &&
	    ctrlr->num_events < UNVMF_ARRAY_SIZE(ctrlr->events)) {
		*masked = true;
		ctrlr->events[ctrlr->num_events++].cdw0 =
		    nvme_aer_cdw0(NVME_AER_TYPE_NOTICE, info, lid);
		aer_try_complete(ctrlr);
	}
put:
	unvmf_ctrlr_put(ctrlr);
	free(msg);
}

/* Under g_tgt.lock: hands the notice to the controller's admin thread. */
static void ctrlr_notice_locked(struct unvmf_ctrlr *ctrlr, enum ctrlr_notice kind, uint32_t nsid,
                                uint8_t resv_type)
{
	struct ctrlr_notice_msg *msg;

	if (!ctrlr->admin_group)
		return;
	msg = calloc(1, sizeof(*msg));
	if (!msg)
		return;
	msg->ctrlr = ctrlr;
	msg->kind = kind;
	msg->nsid = nsid;
	msg->resv_type = resv_type;
	unvmf_ctrlr_get_locked(ctrlr);
	if (unvmf_thread_send_msg(ctrlr->admin_group->thread, ctrlr_notice_msg, msg)) {
		ctrlr->refs--;
		free(msg);
	}
}

void unvmf_subsystem_ns_changed(struct unvmf_subsystem *subsys, uint32_t nsid)
{
	pthread_mutex_lock(&g_tgt.lock);
	unvmf_subsystem_ns_changed_locked(subsys, nsid);
	pthread_mutex_unlock(&g_tgt.lock);
}

void unvmf_subsystem_ns_changed_locked(struct unvmf_subsystem *subsys, uint32_t nsid)
{
	struct unvmf_ctrlr *ctrlr;

	TAILQ_FOREACH(ctrlr, &subsys->ctrlrs, link)
		ctrlr_notice_locked(ctrlr, CTRLR_NOTICE_NS_CHANGED, nsid, 0);
}

void unvmf_discovery_changed_locked(void)
{
	struct unvmf_ctrlr *ctrlr;

	g_tgt.discovery_genctr++;
	if (!g_tgt.discovery)
		return;
	TAILQ_FOREACH(ctrlr, &g_tgt.discovery->ctrlrs, link)
		ctrlr_notice_locked(ctrlr, CTRLR_NOTICE_DISCOVERY_CHANGED, 0, 0);
}

void unvmf_ctrlr_resv_notice_locked(struct unvmf_ctrlr *ctrlr, uint8_t type, uint32_t nsid)
{
	ctrlr_notice_locked(ctrlr, CTRLR_NOTICE_RESERVATION, nsid, type);
}

/* ---- Abort ---- */

/*
 * Abort of an I/O command: the admin thread finds the qpair of SQID by id
 * (under g_tgt.lock), the qpair's own thread asks its transport to withdraw
 * the command, and the answer comes back to the admin thread by message. The
 * Abort itself stays executing meanwhile, so the admin qpair (and with it the
 * controller) cannot go away before the reply; the I/O qpair is looked up by
 * id on its thread, so a message never reaches a freed one.
 */
struct abort_msg {
	struct unvmf_req *req;			/* the Abort command */
	struct unvmf_thread *admin_thread;
	struct unvmf_poll_group *group;		/* the I/O qpair's */
	uint64_t qpair_id;
	uint16_t cid;
	int rc;					/* 0 aborted, else not */
};

static void abort_reply_msg(void *arg)
{
	struct abort_msg *msg = arg;
	struct unvmf_req *req = msg->req;

	req->qpair->ctrlr->num_aborts--;
	/* cdw0 bit 0: 0 = the command was aborted, 1 = it was not. */
	req->rsp.cdw0 = msg->rc == 0 ? 0 : 1;
	free(msg);
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

static void abort_on_group_msg(void *arg)
{
	struct abort_msg *msg = arg;
	struct unvmf_qpair *qpair;

	msg->rc = -ENOENT;
	TAILQ_FOREACH(qpair, &msg->group->qpairs, group_link) {
		if (qpair->id != msg->qpair_id)
			continue;
		if (qpair->state == UNVMF_QPAIR_ACTIVE && qpair->transport->ops->qpair_abort_request)
			msg->rc = qpair->transport->ops->qpair_abort_request(qpair, msg->cid);
		break;
	}
	/*
	 * Fails only without memory or once the reactors stop, which waits for
	 * every qpair to have drained; the Abort then never completes and the
	 * host's timeout handles it.
	 */
	if (unvmf_thread_send_msg(msg->admin_thread, abort_reply_msg, msg) != 0) {
		LOG_ERR("qpair %lu: cannot return the Abort of cid %u to the admin thread",
			(unsigned long)msg->qpair_id, msg->cid);
		free(msg);
	}
}

static bool abort_aer(struct unvmf_ctrlr *ctrlr, uint16_t cid)
{
	for (unsigned i = 0; i < ctrlr->num_aer; i++) {
		struct unvmf_req *aer = ctrlr->aer[i];

		if (aer->cmd.cid != cid)
			continue;
		ctrlr->aer[i] = ctrlr->aer[--ctrlr->num_aer];
		admin_done(aer, NVME_SCT_GENERIC, NVME_SC_ABORTED_BY_REQUEST);
		return true;
	}
	return false;
}

static void admin_abort(struct unvmf_req *req)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	uint16_t sqid = req->cmd.cdw10 & 0xffff;
	uint16_t cid = req->cmd.cdw10 >> 16;
	struct abort_msg *msg;

	req->rsp.cdw0 = 1;
	if (ctrlr->num_aborts >= UNVMF_ACL) {
		admin_done(req, NVME_SCT_COMMAND_SPECIFIC, NVME_SC_ABORT_COMMAND_LIMIT_EXCEEDED);
		return;
	}
	if (sqid == 0) {
		/* Every admin command but AER completes before the next one runs. */
		req->rsp.cdw0 = abort_aer(ctrlr, cid) ? 0 : 1;
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
		return;
	}
	msg = calloc(1, sizeof(*msg));
	if (!msg) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	pthread_mutex_lock(&g_tgt.lock);
	if (sqid <= ctrlr->max_qid && ctrlr->qpairs[sqid].group) {
		msg->group = ctrlr->qpairs[sqid].group;
		msg->qpair_id = ctrlr->qpairs[sqid].id;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	if (!msg->group) {
		/* No such submission queue: the SQID field is in error (as QEMU's controller). */
		free(msg);
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return;
	}
	msg->req = req;
	msg->admin_thread = req->qpair->group->thread;
	msg->cid = cid;
	ctrlr->num_aborts++;
	if (unvmf_thread_send_msg(msg->group->thread, abort_on_group_msg, msg) != 0) {
		ctrlr->num_aborts--;
		free(msg);
		/* Not aborted; the command completes as it would have. */
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
	}
}

void unvmf_ctrlr_exec_admin(struct unvmf_req *req)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	bool discovery = ctrlr->subsys->type == UNVMF_SUBSYSTEM_DISCOVERY;

	if (!ctrlr->cc.bits.en && !discovery) {
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
		return;
	}
	switch (req->cmd.opc) {
	case NVME_OPC_IDENTIFY:
		admin_identify(req);
		return;
	case NVME_OPC_GET_LOG_PAGE:
		admin_get_log_page(req);
		return;
	case NVME_OPC_GET_FEATURES:
		admin_features(req, false);
		return;
	case NVME_OPC_SET_FEATURES:
		admin_features(req, true);
		return;
	case NVME_OPC_KEEP_ALIVE:
		atomic_store(&ctrlr->last_keepalive_us, unvmf_now_us());
		admin_done(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
		return;
	case NVME_OPC_ASYNC_EVENT_REQUEST:
		admin_aer(req);
		return;
	case NVME_OPC_ABORT:
		if (discovery)
			break;
		admin_abort(req);
		return;
	default:
		break;
	}
	admin_done(req, NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
}
