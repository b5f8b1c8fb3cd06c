/*
 * DH-HMAC-CHAP, the host's side: the transaction a queue runs after a Connect
 * response with AUTHREQ.ATR (negotiate, challenge, reply, success1, and
 * success2 when the host also authenticates the controller), and
 * re-authentication of the admin queue on request.
 */
#include "host/host_internal.h"
#include "proto/dhchap.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The largest message the controller sends: a challenge with a SHA-512 value and ffdhe8192. */
#define AUTH_RECV_LEN                                                                              \
	(sizeof(struct nvme_auth_challenge) + UNVMF_DHCHAP_HASH_MAX + UNVMF_DHCHAP_DH_MAX)

struct host_auth {
	struct unvmf_host_qpair *qp;
	uint32_t timeout_ms;
	struct unvmf_host_error *err;
	struct unvmf_dhchap_key key;
	struct unvmf_dhchap_key ckey;
	bool bidirectional;
	uint16_t tid;
	uint8_t hash, dhgroup;
	size_t hl, dhlen;
	uint32_t s1, s2;
	uint8_t c2[UNVMF_DHCHAP_HASH_MAX];
	uint8_t sess[UNVMF_DHCHAP_DH_MAX];
	struct unvmf_dhchap_dh *dh;
	uint8_t buf[AUTH_RECV_LEN + 2 * UNVMF_DHCHAP_HASH_MAX];
};

static int auth_exec(struct host_auth *a, uint8_t fctype, void *buf, uint32_t len)
{
	struct nvmf_auth_cmd cmd;
	struct nvme_cqe cqe;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_OPC_FABRICS;
	cmd.fctype = fctype;
	cmd.secp = NVME_AUTH_SECP_DHCHAP;
	cmd.spsp0 = NVME_AUTH_SPSP;
	cmd.spsp1 = NVME_AUTH_SPSP;
	cmd.len = len;
	memset(&cqe, 0, sizeof(cqe));
	rc = host_qpair_exec(a->qp, (const struct nvme_sqe *)&cmd, buf, len,
	                     fctype == NVMF_FCTYPE_AUTHENTICATION_SEND ? UNVMF_HOST_DIR_TO_CTRLR
	                                                               : UNVMF_HOST_DIR_FROM_CTRLR,
	                     &cqe, a->timeout_ms);
	if (rc == -EREMOTEIO && a->err) {
		a->err->has_cqe = true;
		a->err->cqe = cqe;
	}
	return rc;
}

/* Receives the next message; -EACCES (with the reason in err) for a failure1. */
static int auth_receive(struct host_auth *a, uint8_t want_id)
{
	const struct nvme_auth_failure *f = (const void *)a->buf;
	int rc;

	memset(a->buf, 0, AUTH_RECV_LEN);
	rc = auth_exec(a, NVMF_FCTYPE_AUTHENTICATION_RECV, a->buf, AUTH_RECV_LEN);
	if (rc)
		return rc;
	if (f->auth_type == NVME_AUTH_TYPE_COMMON && f->auth_id == NVME_AUTH_MSG_FAILURE1) {
		LOG_ERR("qid %u: the controller refused authentication: %s", a->qp->qid,
		        unvmf_dhchap_failure_name(f->rescode_exp));
		if (a->err)
			a->err->auth_failure = f->rescode_exp;
		return -EACCES;
	}
	if (f->auth_type != NVME_AUTH_TYPE_DHCHAP || f->auth_id != want_id || f->t_id != a->tid) {
		LOG_ERR("qid %u: unexpected authentication message %02x/%02x (transaction %u)",
		        a->qp->qid, f->auth_type, f->auth_id, f->t_id);
		return -EPROTO;
	}
	return 0;
}

/* Ends the transaction from the host's side (failure2) and returns rc. */
static int auth_abort(struct host_auth *a, uint8_t reason, int rc)
{
	struct nvme_auth_failure f = {
	    .auth_type = NVME_AUTH_TYPE_COMMON,
	    .auth_id = NVME_AUTH_MSG_FAILURE2,
	    .t_id = a->tid,
	    .rescode = NVME_AUTH_FAILURE_REASON,
	    .rescode_exp = reason,
	};

	(void)auth_exec(a, NVMF_FCTYPE_AUTHENTICATION_SEND, &f, sizeof(f));
	return rc;
}

static int auth_negotiate(struct host_auth *a, uint32_t digests, uint32_t dhgroups)
{
	/* The header's flexible array holds the one protocol descriptor offered. */
	_Alignas(struct nvme_auth_negotiate) uint8_t
	    msg[sizeof(struct nvme_auth_negotiate) + sizeof(struct nvme_auth_protocol_desc)];
	struct nvme_auth_negotiate *hdr = (struct nvme_auth_negotiate *)msg;
	struct nvme_auth_protocol_desc *desc = &hdr->desc[0];

	memset(msg, 0, sizeof(msg));
	hdr->auth_type = NVME_AUTH_TYPE_COMMON;
	hdr->auth_id = NVME_AUTH_MSG_NEGOTIATE;
	hdr->t_id = a->tid;
	hdr->napd = 1;
	desc->authid = NVME_AUTH_PROTOCOL_DHCHAP;
	for (uint8_t h = NVME_AUTH_HASH_SHA256; h <= NVME_AUTH_HASH_SHA512; h++) {
		if (!digests || (digests & (1u << h)))
			desc->idlist[desc->halen++] = h;
	}
	for (uint8_t g = 0; g < NVME_AUTH_DHGROUP_COUNT; g++) {
		if (!dhgroups || (dhgroups & (1u << g)))
			desc->idlist[NVME_AUTH_IDLIST_HASHES + desc->dhlen++] = g;
	}
	return auth_exec(a, NVMF_FCTYPE_AUTHENTICATION_SEND, msg, sizeof(msg));
}

/* Checks the challenge (hash and group among those offered) and answers it with the reply. */
static int auth_reply(struct host_auth *a, uint32_t digests, uint32_t dhgroups)
{
	const struct nvme_auth_challenge *ch = (const void *)a->buf;
	struct unvmf_host_ctrlr *ctrlr = a->qp->ctrlr;
	uint8_t c1[UNVMF_DHCHAP_HASH_MAX], pub[UNVMF_DHCHAP_DH_MAX];
	struct nvme_auth_reply *rep;
	size_t len;
	int rc;

	a->hash = ch->hashid;
	a->dhgroup = ch->dhgid;
	a->hl = unvmf_dhchap_hash_len(ch->hashid);
	a->dhlen = unvmf_dhchap_dhgroup_len(ch->dhgid);
	if (!a->hl || ch->hl != a->hl || (digests && !(digests & (1u << ch->hashid))))
		return auth_abort(a, NVME_AUTH_FAIL_HASH_UNUSABLE, -EPROTO);
	if (ch->dhgid >= NVME_AUTH_DHGROUP_COUNT || ch->dhvlen != a->dhlen ||
	    (dhgroups && !(dhgroups & (1u << ch->dhgid))))
		return auth_abort(a, NVME_AUTH_FAIL_DHGROUP_UNUSABLE, -EPROTO);
	a->s1 = ch->seqnum;
	memcpy(c1, ch->cval, a->hl);
	if (a->dhlen) {
		rc = unvmf_dhchap_dh_generate(a->dhgroup, &a->dh, pub);
		if (rc == 0)
			rc = unvmf_dhchap_dh_derive(a->dh, ch->cval + a->hl, a->dhlen, a->sess);
		if (rc)
			return auth_abort(a, NVME_AUTH_FAIL_DHGROUP_UNUSABLE, rc);
	}
	len = sizeof(*rep) + 2 * a->hl + a->dhlen;
	rep = (void *)a->buf;
	memset(a->buf, 0, len);
	rep->auth_type = NVME_AUTH_TYPE_DHCHAP;
	rep->auth_id = NVME_AUTH_MSG_REPLY;
	rep->t_id = a->tid;
	rep->hl = (uint8_t)a->hl;
	rep->dhvlen = (uint16_t)a->dhlen;
	rc = unvmf_dhchap_response(UNVMF_DHCHAP_ROLE_HOST, &a->key, a->hash, c1, a->sess, a->dhlen,
	                           a->s1, a->tid, ctrlr->hostnqn, ctrlr->trid.subnqn, rep->rval);
	if (rc)
		return auth_abort(a, NVME_AUTH_FAIL_FAILED, rc);
	if (a->bidirectional) {
		do {
			rc = unvmf_dhchap_random(&a->s2, sizeof(a->s2));
		} while (rc == 0 && a->s2 == 0);
		if (rc == 0)
			rc = unvmf_dhchap_random(a->c2, a->hl);
		if (rc)
			return auth_abort(a, NVME_AUTH_FAIL_FAILED, rc);
		rep->cvalid = 1;
		rep->seqnum = a->s2;
		memcpy(rep->rval + a->hl, a->c2, a->hl);
	}
	memcpy(rep->rval + 2 * a->hl, pub, a->dhlen);
	return auth_exec(a, NVMF_FCTYPE_AUTHENTICATION_SEND, a->buf, (uint32_t)len);
}

/* success1: with a controller key, its response must be the one the controller's secret gives. */
static int auth_success(struct host_auth *a)
{
	const struct nvme_auth_success1 *s = (const void *)a->buf;
	struct unvmf_host_ctrlr *ctrlr = a->qp->ctrlr;
	uint8_t expect[UNVMF_DHCHAP_HASH_MAX];
	struct nvme_auth_success2 s2;
	uint8_t diff = 0;
	int rc;

	if (!a->bidirectional)
		return 0;
	if (!s->rvalid || s->hl != a->hl)
		return auth_abort(a, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, -EPROTO);
	rc = unvmf_dhchap_response(UNVMF_DHCHAP_ROLE_CTRLR, &a->ckey, a->hash, a->c2, a->sess,
	                           a->dhlen, a->s2, a->tid, ctrlr->hostnqn, ctrlr->trid.subnqn,
	                           expect);
	if (rc)
		return auth_abort(a, NVME_AUTH_FAIL_FAILED, rc);
	for (size_t i = 0; i < a->hl; i++)
		diff |= expect[i] ^ s->rval[i];
	memset(expect, 0, sizeof(expect));
	if (diff) {
		LOG_ERR("qid %u: the controller's DH-HMAC-CHAP response is wrong: it does not hold "
		        "the controller secret given",
		        a->qp->qid);
		return auth_abort(a, NVME_AUTH_FAIL_FAILED, -EKEYREJECTED);
	}
	memset(&s2, 0, sizeof(s2));
	s2.auth_type = NVME_AUTH_TYPE_DHCHAP;
	s2.auth_id = NVME_AUTH_MSG_SUCCESS2;
	s2.t_id = a->tid;
	return auth_exec(a, NVMF_FCTYPE_AUTHENTICATION_SEND, &s2, sizeof(s2));
}

static int auth_run(struct host_auth *a)
{
	const struct unvmf_host_opts *opts = &a->qp->ctrlr->opts;
	int rc;

	if (!opts->dhchap_key[0]) {
		LOG_ERR("qid %u: the controller requires DH-HMAC-CHAP authentication and no secret "
		        "was given",
		        a->qp->qid);
		return -EACCES;
	}
	if (unvmf_dhchap_secret_parse(opts->dhchap_key, &a->key) != 0 ||
	    (opts->dhchap_ctrlr_key[0] &&
	     unvmf_dhchap_secret_parse(opts->dhchap_ctrlr_key, &a->ckey) != 0))
		return -EINVAL;
	a->bidirectional = opts->dhchap_ctrlr_key[0] != '\0';
	rc = unvmf_dhchap_random(&a->tid, sizeof(a->tid));
	if (rc)
		return rc;
	rc = auth_negotiate(a, opts->dhchap_digests, opts->dhchap_dhgroups);
	if (rc == 0)
		rc = auth_receive(a, NVME_AUTH_MSG_CHALLENGE);
	if (rc == 0)
		rc = auth_reply(a, opts->dhchap_digests, opts->dhchap_dhgroups);
	if (rc == 0)
		rc = auth_receive(a, NVME_AUTH_MSG_SUCCESS1);
	if (rc == 0)
		rc = auth_success(a);
	return rc;
}

int host_qpair_authenticate(struct unvmf_host_qpair *qp, uint32_t timeout_ms,
                            struct unvmf_host_error *err)
{
	struct host_auth *a;
	int rc;

	if (!unvmf_dhchap_supported())
		return -EOPNOTSUPP;
	/* Heap: a challenge with ffdhe8192 is too big for the stacks this runs on. */
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->qp = qp;
	a->timeout_ms = timeout_ms;
	a->err = err;
	if (err)
		err->has_cqe = false;
	rc = auth_run(a);
	if (rc) {
		LOG_ERR("qid %u: DH-HMAC-CHAP authentication to %s failed: %d", qp->qid,
		        qp->ctrlr->trid.subnqn, rc);
		if (err) {
			err->stage = UNVMF_HOST_STAGE_AUTH;
			err->rc = rc;
		}
	} else {
		LOG_INFO("qid %u: authenticated to %s (%s, %s%s)", qp->qid, qp->ctrlr->trid.subnqn,
		         unvmf_dhchap_hash_name(a->hash), unvmf_dhchap_dhgroup_name(a->dhgroup),
		         a->bidirectional ? ", controller authenticated too" : "");
	}
	unvmf_dhchap_dh_free(a->dh);
	memset(a, 0, sizeof(*a));
	free(a);
	return rc;
}

int unvmf_host_ctrlr_reauthenticate(struct unvmf_host_ctrlr *ctrlr, struct unvmf_host_error *err)
{
	if (!ctrlr->auth_required)
		return -EOPNOTSUPP;
	return host_qpair_authenticate(ctrlr->admin, ctrlr->opts.admin_timeout_ms, err);
}

int unvmf_host_opts_set_dhchap_files(struct unvmf_host_opts *opts, const char *key_path,
                                     const char *ctrlr_key_path)
{
	struct unvmf_dhchap_key key;
	int rc;

	if (!unvmf_dhchap_supported())
		return -EOPNOTSUPP;
	rc = unvmf_dhchap_file_load(key_path, &key);
	if (rc == 0)
		rc = unvmf_dhchap_secret_format(&key, opts->dhchap_key, sizeof(opts->dhchap_key));
	if (rc == 0 && ctrlr_key_path) {
		rc = unvmf_dhchap_file_load(ctrlr_key_path, &key);
		if (rc == 0)
			rc = unvmf_dhchap_secret_format(&key, opts->dhchap_ctrlr_key,
			                                sizeof(opts->dhchap_ctrlr_key));
	}
	memset(&key, 0, sizeof(key));
	return rc;
}

/* Bitmask of the comma-separated names in list (by name_to_id); -EINVAL for an unknown name. */
static int names_mask(const char *list, int (*name_to_id)(const char *), uint32_t *mask)
{
	char buf[128], *save = NULL;

	if (unvmf_strlcpy(buf, list, sizeof(buf)))
		return -EINVAL;
	*mask = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int id = name_to_id(t);

		if (id < 0)
			return -EINVAL;
		*mask |= 1u << id;
	}
	return *mask ? 0 : -EINVAL;
}

int unvmf_host_opts_set_dhchap_lists(struct unvmf_host_opts *opts, const char *digests,
                                     const char *dhgroups)
{
	if (digests && names_mask(digests, unvmf_dhchap_hash_by_name, &opts->dhchap_digests))
		return -EINVAL;
	if (dhgroups && names_mask(dhgroups, unvmf_dhchap_dhgroup_by_name, &opts->dhchap_dhgroups))
		return -EINVAL;
	return 0;
}
