/*
 * Persistent reservations (NVMe base, Reservations): Register, Acquire,
 * Release and Report on a namespace, the conflict check of the I/O path, the
 * notices to the hosts a command affected, and the PTPL file.
 *
 * Registrants are hosts, named by the host identifier they gave in Connect;
 * every controller of one host shares its registration. The dynamic
 * controller model gives no stable controller ID, so a report lists each
 * registrant with CNTLID FFFFh.
 */
#include "nvmf/reservation.h"
#include "nvmf/nvmf_internal.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESV_NOTICES_MAX (UNVMF_RESV_MAX_REGISTRANTS + 1)

/* Hosts to tell about a command's effect, gathered under mu, sent after. */
struct resv_notices {
	unsigned n;
	struct {
		uint8_t hostid[16];
		uint8_t type;
	} to[RESV_NOTICES_MAX];
};

static const uint8_t resv_zero_hostid[16];

static bool resv_type_valid(uint8_t t)
{
	return t >= UNVMF_RESV_WRITE_EXCLUSIVE && t <= UNVMF_RESV_EXCLUSIVE_ACCESS_ALL_REGS;
}

/* Types 5 and 6: every registrant holds the reservation. */
static bool resv_all_regs(uint8_t t)
{
	return t == UNVMF_RESV_WRITE_EXCLUSIVE_ALL_REGS ||
	       t == UNVMF_RESV_EXCLUSIVE_ACCESS_ALL_REGS;
}

/* Types 3 to 6: a registrant that is not the holder still has access. */
static bool resv_regs_access(uint8_t t)
{
	return t >= UNVMF_RESV_WRITE_EXCLUSIVE_REG_ONLY;
}

/* Types 1, 3 and 5 leave reads open to everyone. */
static bool resv_reads_open(uint8_t t)
{
	return t == UNVMF_RESV_WRITE_EXCLUSIVE || t == UNVMF_RESV_WRITE_EXCLUSIVE_REG_ONLY ||
	       t == UNVMF_RESV_WRITE_EXCLUSIVE_ALL_REGS;
}

static struct unvmf_resv_registrant *resv_find(struct unvmf_resv *resv, const uint8_t hostid[16])
{
	for (unsigned i = 0; i < resv->num_regs; i++) {
		if (memcmp(resv->regs[i].hostid, hostid, 16) == 0)
			return &resv->regs[i];
	}
	return NULL;
}

static bool resv_is_holder(const struct unvmf_resv *resv, const uint8_t hostid[16])
{
	if (resv->rtype == UNVMF_RESV_NONE)
		return false;
	if (resv_all_regs(resv->rtype))
		return true; /* callers ask only about registrants */
	return memcmp(resv->holder, hostid, 16) == 0;
}

static void resv_set_type(struct unvmf_resv *resv, uint8_t rtype, const uint8_t *holder)
{
	resv->rtype = rtype;
	if (holder)
		memcpy(resv->holder, holder, 16);
	else
		memset(resv->holder, 0, 16);
	atomic_store_explicit(&resv->io_type, rtype, memory_order_relaxed);
}

static void resv_notice_add(struct resv_notices *nt, const uint8_t hostid[16], uint8_t type)
{
	if (nt->n < RESV_NOTICES_MAX) {
		memcpy(nt->to[nt->n].hostid, hostid, 16);
		nt->to[nt->n].type = type;
		nt->n++;
	}
}

/* Every registrant but the issuer gets type. */
static void resv_notice_others(struct resv_notices *nt, const struct unvmf_resv *resv,
                               const uint8_t issuer[16], uint8_t type)
{
	for (unsigned i = 0; i < resv->num_regs; i++) {
		if (memcmp(resv->regs[i].hostid, issuer, 16) != 0)
			resv_notice_add(nt, resv->regs[i].hostid, type);
	}
}

static void resv_remove(struct unvmf_resv *resv, struct unvmf_resv_registrant *reg)
{
	unsigned i = (unsigned)(reg - resv->regs);

	memmove(&resv->regs[i], &resv->regs[i + 1], (resv->num_regs - i - 1) * sizeof(*reg));
	resv->num_regs--;
}

/*
 * A registrant leaves (unregister or preempted). A holder of a type 1-4
 * reservation takes it along; with types 5 and 6 the reservation goes with
 * the last registrant. released: the reservation went with it.
 */
static void resv_unregister(struct unvmf_resv *resv, struct unvmf_resv_registrant *reg,
                            bool *released)
{
	bool holder = resv->rtype != UNVMF_RESV_NONE && !resv_all_regs(resv->rtype) &&
	              memcmp(resv->holder, reg->hostid, 16) == 0;

	resv_remove(resv, reg);
	*released = false;
	if (holder || (resv_all_regs(resv->rtype) && resv->num_regs == 0)) {
		resv_set_type(resv, UNVMF_RESV_NONE, NULL);
		*released = true;
	}
}

/* ---- the PTPL file ---- */

static void hex_put(char *dst, const uint8_t *src, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		dst[2 * i] = digits[src[i] >> 4];
		dst[2 * i + 1] = digits[src[i] & 15];
	}
	dst[2 * n] = '\0';
}

static int hex_get(uint8_t *dst, const char *src, size_t n)
{
	if (!src || strlen(src) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(src + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		dst[i] = (uint8_t)v;
	}
	return 0;
}

/*
 * Writes the state to ptpl_file through a temporary file and rename, so a
 * crash leaves the old or the new file, never a torn one. With PTPL off the
 * file records only that (a restart then starts with no registrants).
 */
static int resv_ptpl_save(struct unvmf_resv *resv)
{
	char hex[33], tmp[4096];
	json_t *root, *regs;
	int rc = -ENOMEM, fd;

	if (!resv->ptpl_file)
		return 0;
	root = json_object();
	regs = json_array();
	if (!root || !regs)
		goto out_free;
	json_object_set_new(root, "ptpl", json_boolean(resv->ptpl));
	if (resv->ptpl) {
		json_object_set_new(root, "rtype", json_integer(resv->rtype));
		json_object_set_new(root, "generation", json_integer(resv->gen));
		hex_put(hex, resv->holder, 16);
		json_object_set_new(root, "holder", json_string(hex));
		for (unsigned i = 0; i < resv->num_regs; i++) {
			json_t *r = json_object();

			if (!r)
				goto out_free;
			hex_put(hex, resv->regs[i].hostid, 16);
			json_object_set_new(r, "hostid", json_string(hex));
			json_object_set_new(r, "rkey",
			                    json_integer((json_int_t)resv->regs[i].rkey));
			json_array_append_new(regs, r);
		}
	}
	json_object_set(root, "registrants", regs);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", resv->ptpl_file) >= sizeof(tmp)) {
		rc = -ENAMETOOLONG;
		goto out_free;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out_log;
	}
	if (json_dumpfd(root, fd, JSON_INDENT(2)) != 0 || fsync(fd) != 0) {
		rc = -EIO;
		close(fd);
		unlink(tmp);
		goto out_log;
	}
	close(fd);
	if (rename(tmp, resv->ptpl_file) != 0) {
		rc = -errno;
		unlink(tmp);
		goto out_log;
	}
	rc = 0;
	goto out_free;
out_log:
	LOG_ERR("reservation state: cannot write %s: %s", resv->ptpl_file, strerror(-rc));
out_free:
	json_decref(regs);
	json_decref(root);
	return rc;
}

static int resv_ptpl_load(struct unvmf_resv *resv)
{
	json_error_t jerr;
	json_t *root = json_load_file(resv->ptpl_file, 0, &jerr), *regs, *r;
	uint8_t holder[16] = {0};
	json_int_t rtype;
	size_t i;
	int rc = -EINVAL;

	if (!root) {
		if (access(resv->ptpl_file, F_OK) != 0)
			return 0; /* nothing persisted yet */
		LOG_ERR("reservation state %s: %s (line %d)", resv->ptpl_file, jerr.text,
		        jerr.line);
		return -EINVAL;
	}
	resv->ptpl = json_is_true(json_object_get(root, "ptpl"));
	if (!resv->ptpl) {
		rc = 0;
		goto out;
	}
	regs = json_object_get(root, "registrants");
	rtype = json_integer_value(json_object_get(root, "rtype"));
	if (!json_is_array(regs) || json_array_size(regs) > UNVMF_RESV_MAX_REGISTRANTS ||
	    (rtype != 0 && !resv_type_valid((uint8_t)rtype)) ||
	    hex_get(holder, json_string_value(json_object_get(root, "holder")), 16))
		goto out_bad;
	json_array_foreach(regs, i, r)
	{
		struct unvmf_resv_registrant *reg = &resv->regs[i];

		if (hex_get(reg->hostid, json_string_value(json_object_get(r, "hostid")), 16) ||
		    !json_is_integer(json_object_get(r, "rkey")))
			goto out_bad;
		reg->rkey = (uint64_t)json_integer_value(json_object_get(r, "rkey"));
	}
	resv->num_regs = (unsigned)json_array_size(regs);
	resv->gen = (uint32_t)json_integer_value(json_object_get(root, "generation"));
	resv_set_type(resv, (uint8_t)rtype, resv_all_regs((uint8_t)rtype) ? NULL : holder);
	rc = 0;
	goto out;
out_bad:
	LOG_ERR("reservation state %s: malformed", resv->ptpl_file);
	resv->num_regs = 0;
	resv->ptpl = false;
out:
	json_decref(root);
	return rc;
}

int unvmf_resv_init(struct unvmf_resv *resv, const char *ptpl_file)
{
	int rc;

	memset(resv, 0, sizeof(*resv));
	rc = pthread_mutex_init(&resv->mu, NULL);
	if (rc)
		return -rc;
	if (!ptpl_file)
		return 0;
	resv->ptpl_file = strdup(ptpl_file);
	if (!resv->ptpl_file) {
		rc = -ENOMEM;
		goto err_mutex;
	}
	rc = resv_ptpl_load(resv);
	if (rc)
		goto err_free;
	return 0;

err_free:
	free(resv->ptpl_file);
err_mutex:
	pthread_mutex_destroy(&resv->mu);
	return rc;
}

void unvmf_resv_fini(struct unvmf_resv *resv)
{
	free(resv->ptpl_file);
	resv->ptpl_file = NULL;
	pthread_mutex_destroy(&resv->mu);
}

uint32_t unvmf_resv_ptpl_state(struct unvmf_resv *resv)
{
	uint32_t v;

	pthread_mutex_lock(&resv->mu);
	v = resv->ptpl ? 1 : 0;
	pthread_mutex_unlock(&resv->mu);
	return v;
}

/* ---- commands ---- */

static int req_copy_from(struct unvmf_req *req, void *dst, size_t len)
{
	size_t off = 0;

	if (req->xfer != UNVMF_XFER_HOST_TO_CONTROLLER || req->length < len)
		return -EINVAL;
	for (int i = 0; i < req->iovcnt && off < len; i++) {
		size_t n = UNVMF_MIN(req->iov[i].iov_len, len - off);

		memcpy((uint8_t *)dst + off, req->iov[i].iov_base, n);
		off += n;
	}
	return off == len ? 0 : -EINVAL;
}

static void req_copy_to(struct unvmf_req *req, const void *src, size_t len)
{
	size_t off = 0;

	len = UNVMF_MIN(len, (size_t)req->length);
	for (int i = 0; i < req->iovcnt && off < len; i++) {
		size_t n = UNVMF_MIN(req->iov[i].iov_len, len - off);

		memcpy(req->iov[i].iov_base, (const uint8_t *)src + off, n);
		off += n;
	}
	unvmf_req_set_c2h_len(req, (uint32_t)off);
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Status of a reservation command: SC in the low byte, SCT above (0 success). */
#define RESV_OK 0
#define RESV_CONFLICT NVME_SC_RESERVATION_CONFLICT
#define RESV_INVALID NVME_SC_INVALID_FIELD

static int resv_register(struct unvmf_resv *resv, const uint8_t hostid[16], uint32_t cdw10,
                         const uint8_t data[16], struct resv_notices *nt)
{
	uint8_t rrega = cdw10 & 7, cptpl = (uint8_t)(cdw10 >> 30);
	bool iekey = (cdw10 >> 3) & 1, released;
	uint64_t crkey = get_le64(data), nrkey = get_le64(data + 8);
	struct unvmf_resv_registrant *reg = resv_find(resv, hostid);

	if (cptpl == 1 || (cptpl == 3 && !resv->ptpl_file) || rrega > 2)
		return RESV_INVALID;
	switch (rrega) {
	case 0: /* register */
		if (reg)
			return reg->rkey == nrkey ? RESV_OK : RESV_CONFLICT;
		if (resv->num_regs == UNVMF_RESV_MAX_REGISTRANTS)
			return NVME_SC_INTERNAL_DEVICE_ERROR;
		reg = &resv->regs[resv->num_regs++];
		memcpy(reg->hostid, hostid, 16);
		reg->rkey = nrkey;
		break;
	case 1: /* unregister */
		if (!reg || (!iekey && reg->rkey != crkey))
			return RESV_CONFLICT;
		{
			uint8_t t = resv->rtype;

			resv_unregister(resv, reg, &released);
			/* Registrants of a type 3-6 reservation learn it is gone. */
			if (released && resv_regs_access(t))
				resv_notice_others(nt, resv, hostid,
				                   UNVMF_RESV_NOTICE_RESERVATION_RELEASED);
		}
		break;
	case 2: /* replace */
		if (!reg || (!iekey && reg->rkey != crkey))
			return RESV_CONFLICT;
		reg->rkey = nrkey;
		break;
	}
	if (cptpl >= 2)
		resv->ptpl = cptpl == 3;
	resv->gen++;
	return RESV_OK;
}

/* Unregisters every registrant with key (except the issuer); true if any. */
static bool resv_preempt_key(struct unvmf_resv *resv, const uint8_t issuer[16], uint64_t key,
                             struct resv_notices *nt)
{
	bool any = false, released;

	for (unsigned i = 0; i < resv->num_regs;) {
		struct unvmf_resv_registrant *reg = &resv->regs[i];

		if (reg->rkey != key || memcmp(reg->hostid, issuer, 16) == 0) {
			i++;
			continue;
		}
		resv_notice_add(nt, reg->hostid, UNVMF_RESV_NOTICE_REGISTRATION_PREEMPTED);
		resv_unregister(resv, reg, &released);
		any = true;
	}
	return any;
}

/* Unregisters every registrant but the issuer. */
static void resv_preempt_others(struct unvmf_resv *resv, const uint8_t issuer[16],
                                struct resv_notices *nt)
{
	for (unsigned i = 0; i < resv->num_regs;) {
		struct unvmf_resv_registrant *reg = &resv->regs[i];

		if (memcmp(reg->hostid, issuer, 16) == 0) {
			i++;
			continue;
		}
		resv_notice_add(nt, reg->hostid, UNVMF_RESV_NOTICE_REGISTRATION_PREEMPTED);
		resv_remove(resv, reg);
	}
}

static int resv_acquire(struct unvmf_resv *resv, const uint8_t hostid[16], uint32_t cdw10,
                        const uint8_t data[16], struct resv_notices *nt)
{
	uint8_t racqa = cdw10 & 7, rtype = (uint8_t)(cdw10 >> 8);
	uint64_t crkey = get_le64(data), prkey = get_le64(data + 8);
	struct unvmf_resv_registrant *reg = resv_find(resv, hostid);
	const struct unvmf_resv_registrant *h;
	uint8_t old = resv->rtype;

	if (racqa > 2 || !resv_type_valid(rtype))
		return RESV_INVALID;
	/* IEKEY is obsolete for Acquire: the current key is always checked. */
	if (!reg || reg->rkey != crkey)
		return RESV_CONFLICT;
	if (racqa == 0) {
		if (resv->rtype == UNVMF_RESV_NONE) {
			resv_set_type(resv, rtype, resv_all_regs(rtype) ? NULL : hostid);
			return RESV_OK;
		}
		return resv_is_holder(resv, hostid) && resv->rtype == rtype ? RESV_OK
		                                                            : RESV_CONFLICT;
	}
	/* Preempt (and abort: see unvmf_resv_exec). */
	if (resv->rtype == UNVMF_RESV_NONE) {
		if (!resv_preempt_key(resv, hostid, prkey, nt))
			return RESV_CONFLICT;
		resv->gen++;
		return RESV_OK;
	}
	if (resv_all_regs(resv->rtype)) {
		if (prkey == 0) {
			resv_preempt_others(resv, hostid, nt);
			resv_set_type(resv, rtype, resv_all_regs(rtype) ? NULL : hostid);
			resv->gen++;
			return RESV_OK;
		}
		if (!resv_preempt_key(resv, hostid, prkey, nt))
			return RESV_CONFLICT;
		resv->gen++;
		return RESV_OK;
	}
	h = resv_find(resv, resv->holder);
	if (h && h->rkey == prkey) {
		/* The holder's key: its registrations go and the issuer holds rtype. */
		resv_preempt_key(resv, hostid, prkey, nt);
		resv_set_type(resv, rtype, resv_all_regs(rtype) ? NULL : hostid);
		/* Registrants left of a changed reservation are told it was preempted. */
		if (old != rtype || resv_regs_access(old))
			resv_notice_others(nt, resv, hostid,
			                   UNVMF_RESV_NOTICE_RESERVATION_PREEMPTED);
		resv->gen++;
		return RESV_OK;
	}
	if (prkey == 0)
		return RESV_INVALID;
	if (!resv_preempt_key(resv, hostid, prkey, nt))
		return RESV_CONFLICT;
	resv->gen++;
	return RESV_OK;
}

static int resv_release(struct unvmf_resv *resv, const uint8_t hostid[16], uint32_t cdw10,
                        const uint8_t data[8], struct resv_notices *nt)
{
	uint8_t rrela = cdw10 & 7, rtype = (uint8_t)(cdw10 >> 8);
	struct unvmf_resv_registrant *reg = resv_find(resv, hostid);
	uint8_t old = resv->rtype;

	if (rrela > 1)
		return RESV_INVALID;
	if (!reg || reg->rkey != get_le64(data))
		return RESV_CONFLICT;
	if (rrela == 1) {
		/* Clear: every other registrant learns the reservation was preempted. */
		resv_notice_others(nt, resv, hostid, UNVMF_RESV_NOTICE_RESERVATION_PREEMPTED);
		resv->num_regs = 0;
		resv_set_type(resv, UNVMF_RESV_NONE, NULL);
		resv->gen++;
		return RESV_OK;
	}
	if (old == UNVMF_RESV_NONE || !resv_is_holder(resv, hostid))
		return RESV_OK;
	if (old != rtype)
		return RESV_INVALID;
	resv_set_type(resv, UNVMF_RESV_NONE, NULL);
	if (resv_regs_access(old))
		resv_notice_others(nt, resv, hostid, UNVMF_RESV_NOTICE_RESERVATION_RELEASED);
	return RESV_OK;
}

/*
 * Reservation Report. NVMe over Fabrics hosts have 128-bit host identifiers,
 * so only the extended data structure (EDS) can carry them; the 64-bit one
 * is refused with Host Identifier Inconsistent Format as the spec requires.
 */
static int resv_report(struct unvmf_resv *resv, struct unvmf_req *req)
{
	uint32_t len = ((req->cmd.cdw10) + 1) * 4;
	bool eds = req->cmd.cdw11 & 1;
	size_t size = 64 + (size_t)UNVMF_RESV_MAX_REGISTRANTS * 64;
	uint8_t *buf;

	if (!eds)
		return NVME_SC_HOSTID_INCONSISTENT_FORMAT;
	if (req->xfer != UNVMF_XFER_CONTROLLER_TO_HOST || req->length < len)
		return NVME_SC_DATA_SGL_LENGTH_INVALID;
	buf = calloc(1, size);
	if (!buf)
		return NVME_SC_INTERNAL_DEVICE_ERROR;
	memcpy(buf, &resv->gen, 4);
	buf[4] = resv->rtype;
	buf[5] = (uint8_t)resv->num_regs;
	buf[6] = (uint8_t)(resv->num_regs >> 8);
	buf[9] = resv->ptpl ? 1 : 0;
	for (unsigned i = 0; i < resv->num_regs; i++) {
		uint8_t *e = buf + 64 + (size_t)i * 64;

		e[0] = 0xff; /* CNTLID FFFFh: dynamic controllers */
		e[1] = 0xff;
		e[2] = resv_is_holder(resv, resv->regs[i].hostid) ? 1 : 0;
		memcpy(e + 8, &resv->regs[i].rkey, 8);
		memcpy(e + 16, resv->regs[i].hostid, 16);
	}
	req_copy_to(req, buf, UNVMF_MIN((size_t)len, 64 + (size_t)resv->num_regs * 64));
	free(buf);
	return RESV_OK;
}

static void resv_notices_send(struct unvmf_subsystem *subsys, uint32_t nsid,
                              const struct resv_notices *nt)
{
	struct unvmf_ctrlr *ctrlr;

	if (nt->n == 0)
		return;
	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(ctrlr, &subsys->ctrlrs, link)
	{
		for (unsigned i = 0; i < nt->n; i++) {
			if (memcmp(ctrlr->hostid, nt->to[i].hostid, 16) == 0)
				unvmf_ctrlr_resv_notice_locked(ctrlr, nt->to[i].type, nsid);
		}
	}
	pthread_mutex_unlock(&g_tgt.lock);
}

void unvmf_resv_exec(struct unvmf_req *req)
{
	struct unvmf_ctrlr *ctrlr = req->qpair->ctrlr;
	struct unvmf_resv *resv = &req->ns->resv;
	struct resv_notices *nt;
	uint8_t data[16];
	int sc;

	nt = calloc(1, sizeof(*nt));
	if (!nt) {
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	/*
	 * A host that gave no identifier cannot be told apart from another
	 * such host: it may read the state but not change it.
	 */
	if (req->cmd.opc != NVME_OPC_RESERVATION_REPORT &&
	    memcmp(ctrlr->hostid, resv_zero_hostid, 16) == 0) {
		sc = NVME_SC_COMMAND_SEQUENCE_ERROR;
		goto out_done;
	}
	if (req->cmd.opc != NVME_OPC_RESERVATION_REPORT &&
	    req_copy_from(req, data, req->cmd.opc == NVME_OPC_RESERVATION_RELEASE ? 8 : 16)) {
		sc = NVME_SC_DATA_SGL_LENGTH_INVALID;
		goto out_done;
	}
	pthread_mutex_lock(&resv->mu);
	switch (req->cmd.opc) {
	case NVME_OPC_RESERVATION_REGISTER:
		sc = resv_register(resv, ctrlr->hostid, req->cmd.cdw10, data, nt);
		break;
	case NVME_OPC_RESERVATION_ACQUIRE:
		/*
		 * Preempt and Abort acts as Preempt: commands the preempted
		 * hosts already have in flight complete; the next ones conflict.
		 */
		sc = resv_acquire(resv, ctrlr->hostid, req->cmd.cdw10, data, nt);
		break;
	case NVME_OPC_RESERVATION_RELEASE:
		sc = resv_release(resv, ctrlr->hostid, req->cmd.cdw10, data, nt);
		break;
	default:
		sc = resv_report(resv, req);
		break;
	}
	if (sc == RESV_OK && req->cmd.opc != NVME_OPC_RESERVATION_REPORT &&
	    resv_ptpl_save(resv) != 0)
		sc = NVME_SC_INTERNAL_DEVICE_ERROR;
	pthread_mutex_unlock(&resv->mu);
	if (sc == RESV_OK)
		resv_notices_send(ctrlr->subsys, req->ns->nsid, nt);
out_done:
	free(nt);
	unvmf_req_complete_status(req, NVME_SCT_GENERIC, (uint8_t)sc);
}

bool unvmf_resv_io_conflict(struct unvmf_req *req, bool write)
{
	struct unvmf_resv *resv = &req->ns->resv;
	const uint8_t *hostid = req->qpair->ctrlr->hostid;
	bool ok;

	pthread_mutex_lock(&resv->mu);
	if (resv->rtype == UNVMF_RESV_NONE) {
		ok = true;
	} else if (!write && resv_reads_open(resv->rtype)) {
		ok = true;
	} else if (resv_find(resv, hostid)) {
		ok = resv_regs_access(resv->rtype) || resv_is_holder(resv, hostid);
	} else {
		ok = false;
	}
	pthread_mutex_unlock(&resv->mu);
	return !ok;
}
