/*
 * DH-HMAC-CHAP, the controller's side (NVMe Base 2.0 "Authentication",
 * NVMe-oF 1.1 AUTH_Send / AUTH_Receive). One transaction per qpair:
 *
 *   NEGOTIATE --send negotiate--> CHALLENGE --receive--> REPLY --send reply-->
 *   SUCCESS1 --receive--> COMPLETED            (unidirectional)
 *                     \--> SUCCESS2 --send success2--> COMPLETED (bidirectional)
 *
 * Any refusal goes to FAILURE1 (the next AUTH_Receive carries the reason),
 * then FAILED; a host's failure2 goes to FAILED at once. A COMPLETED qpair may
 * re-authenticate (send negotiate again): it keeps running commands until that
 * transaction fails. Every state change goes through auth_set_state.
 */
#include "nvmf/auth.h"
#include "nvmf/nvmf_internal.h"
#include "proto/dhchap.h"
#include "reactor/reactor.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum unvmf_auth_state {
	UNVMF_AUTH_NEGOTIATE, /* waiting for the host's negotiate */
	UNVMF_AUTH_CHALLENGE, /* hash and group chosen: the next AUTH_Receive gets the challenge */
	UNVMF_AUTH_REPLY,     /* challenge sent: waiting for the host's reply */
	UNVMF_AUTH_SUCCESS1,  /* host verified: the next AUTH_Receive gets success1 */
	UNVMF_AUTH_SUCCESS2,  /* bidirectional: waiting for the host's success2 */
	UNVMF_AUTH_FAILURE1,  /* refused: the next AUTH_Receive gets failure1 */
	UNVMF_AUTH_COMPLETED, /* authenticated; a new negotiate re-authenticates */
	UNVMF_AUTH_FAILED, /* over: commands refused until the host (or the timer) ends the qpair */
	UNVMF_AUTH_STATE_COUNT,
};

static const char *const g_state_names[UNVMF_AUTH_STATE_COUNT] = {
    "negotiate", "challenge", "reply", "success1", "success2", "failure1", "completed", "failed"};

/* Entries into each state since start, for debugging a stuck transaction. */
static _Atomic uint64_t g_state_entries[UNVMF_AUTH_STATE_COUNT];

#define AUTH_MSG_MAX 16384             /* negotiate with 255 descriptors fits */
#define AUTH_TIMEOUT_DEFAULT_MS 120000 /* without KATO, as Linux and SPDK */
#define AUTH_POLL_US 100000

struct unvmf_qpair_auth {
	enum unvmf_auth_state state;
	bool authenticated; /* completed once: a re-authentication keeps commands flowing */
	uint8_t hash;
	uint8_t dhgroup;
	uint8_t fail_reason; /* failure1's explanation */
	uint16_t tid;
	uint32_t s1, s2;
	bool bidirectional;
	uint8_t c1[UNVMF_DHCHAP_HASH_MAX];
	uint8_t c2[UNVMF_DHCHAP_HASH_MAX];
	uint8_t sess[UNVMF_DHCHAP_DH_MAX];
	size_t sess_len;
	struct unvmf_dhchap_dh *dh;
	struct unvmf_dhchap_key key;
	struct unvmf_dhchap_key ckey;
	bool has_ckey;
	uint64_t deadline_us;
	struct unvmf_poller *poller;
};

static const char *qpair_subnqn(const struct unvmf_qpair *qpair)
{
	return qpair->ctrlr && qpair->ctrlr->subsys ? qpair->ctrlr->subsys->nqn : "?";
}

static const char *qpair_hostnqn(const struct unvmf_qpair *qpair)
{
	return qpair->ctrlr ? qpair->ctrlr->hostnqn : "?";
}

/* Drops what a transaction holds that is secret or costly: DH key, session key, secrets. */
static void auth_wipe(struct unvmf_qpair_auth *auth)
{
	unvmf_dhchap_dh_free(auth->dh);
	auth->dh = NULL;
	memset(auth->sess, 0, sizeof(auth->sess));
	auth->sess_len = 0;
	memset(auth->c1, 0, sizeof(auth->c1));
	memset(auth->c2, 0, sizeof(auth->c2));
	memset(&auth->key, 0, sizeof(auth->key));
	memset(&auth->ckey, 0, sizeof(auth->ckey));
}

static void auth_arm_deadline(struct unvmf_qpair *qpair)
{
	uint32_t ms =
	    qpair->ctrlr && qpair->ctrlr->kato_ms ? qpair->ctrlr->kato_ms : AUTH_TIMEOUT_DEFAULT_MS;

	qpair->auth->deadline_us = unvmf_now_us() + (uint64_t)ms * 1000;
}

/* A qpair whose authentication failed is given this long to read failure1 and leave. */
#define AUTH_FAILED_GRACE_US 1000000

static bool auth_transition_legal(enum unvmf_auth_state from, enum unvmf_auth_state to)
{
	if (to == UNVMF_AUTH_FAILURE1 || to == UNVMF_AUTH_FAILED)
		return from != UNVMF_AUTH_FAILED;
	switch (to) {
	case UNVMF_AUTH_CHALLENGE:
		return from == UNVMF_AUTH_NEGOTIATE || from == UNVMF_AUTH_COMPLETED;
	case UNVMF_AUTH_REPLY:
		return from == UNVMF_AUTH_CHALLENGE;
	case UNVMF_AUTH_SUCCESS1:
		return from == UNVMF_AUTH_REPLY;
	case UNVMF_AUTH_SUCCESS2:
		return from == UNVMF_AUTH_SUCCESS1;
	case UNVMF_AUTH_COMPLETED:
		/* From CHALLENGE or REPLY too: a re-authentication that times out. */
		return from >= UNVMF_AUTH_CHALLENGE && from <= UNVMF_AUTH_SUCCESS2;
	default:
		return false;
	}
}

/*
 * The one place the state changes. Entering COMPLETED or FAILURE1 is where a
 * transaction's outcome is counted and logged.
 */
static void auth_set_state(struct unvmf_qpair *qpair, enum unvmf_auth_state next)
{
	struct unvmf_qpair_auth *auth = qpair->auth;
	struct unvmf_poll_group_stats *stats = qpair->group ? &qpair->group->stats : NULL;

	if (!auth_transition_legal(auth->state, next)) {
		LOG_ERR("qpair %lu: authentication state %s -> %s is not a transition: failing it",
		        (unsigned long)qpair->id, g_state_names[auth->state], g_state_names[next]);
		next = UNVMF_AUTH_FAILED;
	}
	LOG_DEBUG("qpair %lu qid %u: authentication %s -> %s", (unsigned long)qpair->id, qpair->qid,
	          g_state_names[auth->state], g_state_names[next]);
	auth->state = next;
	g_state_entries[next]++;
	switch (next) {
	case UNVMF_AUTH_COMPLETED:
		auth_wipe(auth);
		unvmf_poller_unregister(&auth->poller);
		if (!auth->authenticated)
			LOG_INFO("qpair %lu qid %u: host %s authenticated to %s (%s, %s%s)",
			         (unsigned long)qpair->id, qpair->qid, qpair_hostnqn(qpair),
			         qpair_subnqn(qpair), unvmf_dhchap_hash_name(auth->hash),
			         unvmf_dhchap_dhgroup_name(auth->dhgroup),
			         auth->bidirectional ? ", bidirectional" : "");
		auth->authenticated = true;
		if (stats)
			stats->auth_successes++;
		break;
	case UNVMF_AUTH_FAILURE1:
		/* A failed re-authentication takes the qpair's authentication away. */
		auth->authenticated = false;
		auth_wipe(auth);
		break;
	case UNVMF_AUTH_FAILED:
		auth->authenticated = false;
		auth_wipe(auth);
		auth->deadline_us = unvmf_now_us() + AUTH_FAILED_GRACE_US;
		break;
	default:
		break;
	}
}

/* Refuses the transaction: logged, counted, and reported in the next AUTH_Receive. */
static void auth_refuse(struct unvmf_qpair *qpair, uint8_t reason, const char *why)
{
	struct unvmf_qpair_auth *auth = qpair->auth;

	LOG_WARN("qpair %lu qid %u: authentication of host %s to %s refused: %s (%s)",
	         (unsigned long)qpair->id, qpair->qid, qpair_hostnqn(qpair), qpair_subnqn(qpair),
	         unvmf_dhchap_failure_name(reason), why);
	if (qpair->group)
		qpair->group->stats.auth_failures++;
	auth->fail_reason = reason;
	auth_set_state(qpair, UNVMF_AUTH_FAILURE1);
}

static int auth_timer_poll(void *arg)
{
	struct unvmf_qpair *qpair = arg;
	struct unvmf_qpair_auth *auth = qpair->auth;

	if (!auth || unvmf_now_us() < auth->deadline_us)
		return 0;
	unvmf_poller_unregister(&auth->poller);
	if (auth->state == UNVMF_AUTH_COMPLETED)
		return 0;
	if (auth->authenticated) {
		/* As SPDK: an abandoned re-authentication is not fatal. */
		LOG_WARN(
		    "qpair %lu qid %u: re-authentication of host %s to %s timed out in state %s",
		    (unsigned long)qpair->id, qpair->qid, qpair_hostnqn(qpair), qpair_subnqn(qpair),
		    g_state_names[auth->state]);
		auth_set_state(qpair, UNVMF_AUTH_COMPLETED);
		return 1;
	}
	if (auth->state != UNVMF_AUTH_FAILED) {
		LOG_WARN(
		    "qpair %lu qid %u: authentication of host %s to %s refused: timeout in state "
		    "%s",
		    (unsigned long)qpair->id, qpair->qid, qpair_hostnqn(qpair), qpair_subnqn(qpair),
		    g_state_names[auth->state]);
		if (qpair->group) {
			qpair->group->stats.auth_failures++;
			qpair->group->stats.auth_timeouts++;
		}
		auth_set_state(qpair, UNVMF_AUTH_FAILED);
	}
	unvmf_qpair_disconnect(qpair, "authentication not completed");
	return 1;
}

static int auth_timer_start(struct unvmf_qpair *qpair)
{
	struct unvmf_qpair_auth *auth = qpair->auth;

	auth_arm_deadline(qpair);
	if (auth->poller)
		return 0;
	auth->poller = unvmf_poller_register(auth_timer_poll, qpair, AUTH_POLL_US, "nvmf_auth");
	return auth->poller ? 0 : -ENOMEM;
}

int unvmf_auth_qpair_connected(struct unvmf_qpair *qpair, struct unvmf_ctrlr *ctrlr)
{
	struct unvmf_dhchap_key key, ckey;
	struct unvmf_qpair_auth *auth;
	bool has_ckey = false;

	if (ctrlr->subsys->type != UNVMF_SUBSYSTEM_NVME ||
	    unvmf_tgt_dhchap_keys_find(ctrlr->subsys->nqn, ctrlr->hostnqn, &key, &ckey,
	                               &has_ckey) != 0)
		return 0;
	memset(&key, 0, sizeof(key));
	memset(&ckey, 0, sizeof(ckey));
	auth = calloc(1, sizeof(*auth));
	if (!auth)
		return -ENOMEM;
	auth->state = UNVMF_AUTH_NEGOTIATE;
	qpair->auth = auth;
	g_state_entries[UNVMF_AUTH_NEGOTIATE]++;
	if (auth_timer_start(qpair)) {
		unvmf_auth_qpair_free(qpair);
		return -ENOMEM;
	}
	return 1;
}

bool unvmf_auth_qpair_allows(const struct unvmf_qpair *qpair)
{
	return !qpair->auth || qpair->auth->authenticated;
}

void unvmf_auth_qpair_free(struct unvmf_qpair *qpair)
{
	struct unvmf_qpair_auth *auth = qpair->auth;

	if (!auth)
		return;
	unvmf_poller_unregister(&auth->poller);
	auth_wipe(auth);
	free(auth);
	qpair->auth = NULL;
}

/* ---- checks common to both commands ---- */

/* 0 when the command may proceed; otherwise req is completed. */
static int auth_cmd_check(struct unvmf_req *req, uint32_t *len)
{
	const struct nvmf_auth_cmd *cmd = (const struct nvmf_auth_cmd *)&req->cmd;
	struct unvmf_qpair *qpair = req->qpair;

	if (qpair->state != UNVMF_QPAIR_ACTIVE || !qpair->auth ||
	    qpair->auth->state == UNVMF_AUTH_FAILED) {
		/* Before Connect, a host without a secret, or after a refusal: nothing to do. */
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_COMMAND_SEQUENCE_ERROR);
		return -EINVAL;
	}
	if (cmd->secp != NVME_AUTH_SECP_DHCHAP || cmd->spsp0 != NVME_AUTH_SPSP ||
	    cmd->spsp1 != NVME_AUTH_SPSP || cmd->len == 0 || cmd->len > AUTH_MSG_MAX) {
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		return -EINVAL;
	}
	if (req->length < cmd->len) {
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_DATA_SGL_LENGTH_INVALID);
		return -EINVAL;
	}
	*len = cmd->len;
	return 0;
}

static void req_copy_from(struct unvmf_req *req, void *dst, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < req->iovcnt && off < len; i++) {
		size_t n = UNVMF_MIN(req->iov[i].iov_len, len - off);

		memcpy((char *)dst + off, req->iov[i].iov_base, n);
		off += n;
	}
}

static void req_copy_to(struct unvmf_req *req, const void *src, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < req->iovcnt && off < len; i++) {
		size_t n = UNVMF_MIN(req->iov[i].iov_len, len - off);

		memcpy(req->iov[i].iov_base, (const char *)src + off, n);
		off += n;
	}
	unvmf_req_set_c2h_len(req, (uint32_t)off);
}

/* ---- AUTH_Send ---- */

/* The strongest id in offered (ids, n of them) that allowed has, as SPDK; -1 if none. */
static int auth_pick(const uint8_t *ids, unsigned n, uint32_t allowed, const uint8_t *order,
                     unsigned norder)
{
	for (unsigned o = 0; o < norder; o++) {
		if (!(allowed & (1u << order[o])))
			continue;
		for (unsigned i = 0; i < n; i++) {
			if (ids[i] == order[o])
				return order[o];
		}
	}
	return -1;
}

static void auth_negotiate(struct unvmf_qpair *qpair, const uint8_t *msg, uint32_t len)
{
	static const uint8_t hash_order[] = {NVME_AUTH_HASH_SHA512, NVME_AUTH_HASH_SHA384,
	                                     NVME_AUTH_HASH_SHA256};
	static const uint8_t dh_order[] = {NVME_AUTH_DHGROUP_8192, NVME_AUTH_DHGROUP_6144,
	                                   NVME_AUTH_DHGROUP_4096, NVME_AUTH_DHGROUP_3072,
	                                   NVME_AUTH_DHGROUP_2048, NVME_AUTH_DHGROUP_NULL};
	const struct nvme_auth_negotiate *neg = (const void *)msg;
	struct unvmf_qpair_auth *auth = qpair->auth;
	const struct nvme_auth_protocol_desc *desc = NULL;
	uint32_t digests, dhgroups;
	int hash, group;

	auth->tid = neg->t_id;
	if (len < sizeof(*neg) || len != sizeof(*neg) + (uint32_t)neg->napd * sizeof(*desc) ||
	    neg->napd == 0) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "negotiate length");
		return;
	}
	if (neg->sc_c != 0) {
		auth_refuse(qpair, NVME_AUTH_FAIL_CONCAT_MISMATCH, "secure channel concatenation");
		return;
	}
	for (unsigned i = 0; i < neg->napd && !desc; i++) {
		if (neg->desc[i].authid == NVME_AUTH_PROTOCOL_DHCHAP)
			desc = &neg->desc[i];
	}
	if (!desc) {
		auth_refuse(qpair, NVME_AUTH_FAIL_PROTOCOL_UNUSABLE, "no DH-HMAC-CHAP descriptor");
		return;
	}
	if (desc->halen > NVME_AUTH_IDLIST_HASHES || desc->dhlen > NVME_AUTH_IDLIST_HASHES) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "identifier list length");
		return;
	}
	unvmf_tgt_get_dhchap_allowed(&digests, &dhgroups);
	hash = auth_pick(desc->idlist, desc->halen, digests, hash_order, sizeof(hash_order));
	if (hash < 0) {
		auth_refuse(qpair, NVME_AUTH_FAIL_HASH_UNUSABLE, "no hash function in common");
		return;
	}
	group = auth_pick(desc->idlist + NVME_AUTH_IDLIST_HASHES, desc->dhlen, dhgroups, dh_order,
	                  sizeof(dh_order));
	if (group < 0) {
		auth_refuse(qpair, NVME_AUTH_FAIL_DHGROUP_UNUSABLE, "no DH group in common");
		return;
	}
	/* The secrets of now: nvmf_subsystem_set_keys takes effect at the next transaction. */
	if (unvmf_tgt_dhchap_keys_find(qpair_subnqn(qpair), qpair_hostnqn(qpair), &auth->key,
	                               &auth->ckey, &auth->has_ckey) != 0) {
		auth_refuse(qpair, NVME_AUTH_FAIL_FAILED,
		            "the host has no DH-HMAC-CHAP key any more");
		return;
	}
	auth->hash = (uint8_t)hash;
	auth->dhgroup = (uint8_t)group;
	auth_set_state(qpair, UNVMF_AUTH_CHALLENGE);
}

static bool equal_const_time(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static void auth_reply(struct unvmf_qpair *qpair, const uint8_t *msg, uint32_t len)
{
	const struct nvme_auth_reply *rep = (const void *)msg;
	struct unvmf_qpair_auth *auth = qpair->auth;
	size_t hl = unvmf_dhchap_hash_len(auth->hash);
	size_t dhlen = unvmf_dhchap_dhgroup_len(auth->dhgroup);
	uint8_t expect[UNVMF_DHCHAP_HASH_MAX];
	int rc;

	if (len < sizeof(*rep) || rep->hl != hl || rep->dhvlen != dhlen ||
	    len < sizeof(*rep) + 2 * hl + dhlen) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "reply length");
		return;
	}
	if (rep->cvalid && rep->seqnum == 0) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD,
		            "bidirectional with sequence 0");
		return;
	}
	if (dhlen) {
		rc = unvmf_dhchap_dh_derive(auth->dh, rep->rval + 2 * hl, dhlen, auth->sess);
		if (rc) {
			auth_refuse(qpair, NVME_AUTH_FAIL_DHGROUP_UNUSABLE,
			            "host DH value refused");
			return;
		}
		auth->sess_len = dhlen;
	}
	rc = unvmf_dhchap_response(UNVMF_DHCHAP_ROLE_HOST, &auth->key, auth->hash, auth->c1,
	                           auth->sess, auth->sess_len, auth->s1, auth->tid,
	                           qpair_hostnqn(qpair), qpair_subnqn(qpair), expect);
	if (rc || !equal_const_time(expect, rep->rval, hl)) {
		memset(expect, 0, sizeof(expect));
		auth_refuse(qpair, NVME_AUTH_FAIL_FAILED,
		            rc ? "response not computed" : "wrong host secret (response mismatch)");
		return;
	}
	memset(expect, 0, sizeof(expect));
	auth->bidirectional = rep->cvalid != 0;
	if (auth->bidirectional) {
		if (!auth->has_ckey) {
			auth_refuse(
			    qpair, NVME_AUTH_FAIL_FAILED,
			    "the host asks to authenticate the controller, which has no key");
			return;
		}
		memcpy(auth->c2, rep->rval + hl, hl);
		auth->s2 = rep->seqnum;
	}
	auth_set_state(qpair, UNVMF_AUTH_SUCCESS1);
}

void unvmf_auth_send(struct unvmf_req *req)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_qpair_auth *auth;
	uint8_t *msg;
	uint32_t len;

	if (auth_cmd_check(req, &len))
		return;
	auth = qpair->auth;
	msg = calloc(1, len < sizeof(struct nvme_auth_failure) ? 16 : len);
	if (!msg) {
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	req_copy_from(req, msg, len);
	auth_arm_deadline(qpair);
	if (len < 6) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "message too short");
		goto out_complete;
	}
	if (msg[0] == NVME_AUTH_TYPE_COMMON && msg[1] == NVME_AUTH_MSG_NEGOTIATE) {
		if (auth->state != UNVMF_AUTH_NEGOTIATE && auth->state != UNVMF_AUTH_COMPLETED) {
			auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_MESSAGE,
			            "negotiate in the middle of a transaction");
			goto out_complete;
		}
		if (auth->state == UNVMF_AUTH_COMPLETED && !auth->poller &&
		    auth_timer_start(qpair)) {
			auth_refuse(qpair, NVME_AUTH_FAIL_FAILED, "no timer");
			goto out_complete;
		}
		auth_negotiate(qpair, msg, len);
		goto out_complete;
	}
	if (msg[0] == NVME_AUTH_TYPE_COMMON && msg[1] == NVME_AUTH_MSG_FAILURE2) {
		const struct nvme_auth_failure *f = (const void *)msg;

		LOG_WARN("qpair %lu qid %u: host %s ended authentication to %s: %s (failure2)",
		         (unsigned long)qpair->id, qpair->qid, qpair_hostnqn(qpair),
		         qpair_subnqn(qpair),
		         len >= sizeof(*f) ? unvmf_dhchap_failure_name(f->rescode_exp) : "?");
		if (qpair->group)
			qpair->group->stats.auth_failures++;
		auth_set_state(qpair, UNVMF_AUTH_FAILED);
		goto out_complete;
	}
	if (msg[0] != NVME_AUTH_TYPE_DHCHAP) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_MESSAGE, "unknown message type");
		goto out_complete;
	}
	if ((uint16_t)(msg[4] | msg[5] << 8) != auth->tid) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "transaction identifier");
		goto out_complete;
	}
	if (msg[1] == NVME_AUTH_MSG_REPLY && auth->state == UNVMF_AUTH_REPLY)
		auth_reply(qpair, msg, len);
	else if (msg[1] == NVME_AUTH_MSG_SUCCESS2 && auth->state == UNVMF_AUTH_SUCCESS2)
		auth_set_state(qpair, UNVMF_AUTH_COMPLETED);
	else
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_MESSAGE, "unexpected message");
out_complete:
	free(msg);
	unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}

/* ---- AUTH_Receive ---- */

/* Builds the challenge into buf (at least its size); its length, or 0 after a refusal. */
static size_t auth_challenge(struct unvmf_qpair *qpair, uint8_t *buf, size_t al)
{
	struct nvme_auth_challenge *ch = (void *)buf;
	struct unvmf_qpair_auth *auth = qpair->auth;
	size_t hl = unvmf_dhchap_hash_len(auth->hash);
	size_t dhlen = unvmf_dhchap_dhgroup_len(auth->dhgroup);
	size_t size = sizeof(*ch) + hl + dhlen;

	if (al < size) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "receive buffer too small");
		return 0;
	}
	do {
		if (unvmf_dhchap_random(&auth->s1, sizeof(auth->s1)) ||
		    unvmf_dhchap_random(auth->c1, hl)) {
			auth_refuse(qpair, NVME_AUTH_FAIL_FAILED, "no random bytes");
			return 0;
		}
	} while (auth->s1 == 0);
	memset(ch, 0, size);
	ch->auth_type = NVME_AUTH_TYPE_DHCHAP;
	ch->auth_id = NVME_AUTH_MSG_CHALLENGE;
	ch->t_id = auth->tid;
	ch->hl = (uint8_t)hl;
	ch->hashid = auth->hash;
	ch->dhgid = auth->dhgroup;
	ch->dhvlen = (uint16_t)dhlen;
	ch->seqnum = auth->s1;
	memcpy(ch->cval, auth->c1, hl);
	if (dhlen && unvmf_dhchap_dh_generate(auth->dhgroup, &auth->dh, ch->cval + hl)) {
		auth_refuse(qpair, NVME_AUTH_FAIL_DHGROUP_UNUSABLE, "DH key not generated");
		return 0;
	}
	auth_set_state(qpair, UNVMF_AUTH_REPLY);
	return size;
}

static size_t auth_success1(struct unvmf_qpair *qpair, uint8_t *buf, size_t al)
{
	struct nvme_auth_success1 *s = (void *)buf;
	struct unvmf_qpair_auth *auth = qpair->auth;
	size_t hl = unvmf_dhchap_hash_len(auth->hash);
	size_t size = sizeof(*s) + (auth->bidirectional ? hl : 0);

	if (al < size) {
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_PAYLOAD, "receive buffer too small");
		return 0;
	}
	memset(s, 0, size);
	s->auth_type = NVME_AUTH_TYPE_DHCHAP;
	s->auth_id = NVME_AUTH_MSG_SUCCESS1;
	s->t_id = auth->tid;
	s->hl = (uint8_t)hl;
	if (auth->bidirectional) {
		if (unvmf_dhchap_response(UNVMF_DHCHAP_ROLE_CTRLR, &auth->ckey, auth->hash,
		                          auth->c2, auth->sess, auth->sess_len, auth->s2, auth->tid,
		                          qpair_hostnqn(qpair), qpair_subnqn(qpair), s->rval)) {
			auth_refuse(qpair, NVME_AUTH_FAIL_FAILED,
			            "controller response not computed");
			return 0;
		}
		s->rvalid = 1;
		auth_set_state(qpair, UNVMF_AUTH_SUCCESS2);
	} else {
		auth_set_state(qpair, UNVMF_AUTH_COMPLETED);
	}
	return size;
}

static size_t auth_failure1(struct unvmf_qpair *qpair, uint8_t *buf)
{
	struct nvme_auth_failure *f = (void *)buf;
	struct unvmf_qpair_auth *auth = qpair->auth;

	memset(f, 0, sizeof(*f));
	f->auth_type = NVME_AUTH_TYPE_COMMON;
	f->auth_id = NVME_AUTH_MSG_FAILURE1;
	f->t_id = auth->tid;
	f->rescode = NVME_AUTH_FAILURE_REASON;
	f->rescode_exp = auth->fail_reason;
	auth_set_state(qpair, UNVMF_AUTH_FAILED);
	return sizeof(*f);
}

void unvmf_auth_recv(struct unvmf_req *req)
{
	struct unvmf_qpair *qpair = req->qpair;
	struct unvmf_qpair_auth *auth;
	uint8_t *buf;
	size_t size = 0;
	uint32_t al;

	if (auth_cmd_check(req, &al))
		return;
	auth = qpair->auth;
	/* Room for the largest message, whatever the host allows, so a refusal always fits. */
	buf = calloc(1, sizeof(struct nvme_auth_challenge) + UNVMF_DHCHAP_HASH_MAX +
	                    UNVMF_DHCHAP_DH_MAX);
	if (!buf) {
		unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	auth_arm_deadline(qpair);
	switch (auth->state) {
	case UNVMF_AUTH_CHALLENGE:
		size = auth_challenge(qpair, buf, al);
		break;
	case UNVMF_AUTH_SUCCESS1:
		size = auth_success1(qpair, buf, al);
		break;
	case UNVMF_AUTH_FAILURE1:
		break;
	default:
		auth_refuse(qpair, NVME_AUTH_FAIL_INCORRECT_MESSAGE, "nothing to receive now");
		break;
	}
	if (!size && auth->state == UNVMF_AUTH_FAILURE1)
		size = auth_failure1(qpair, buf);
	req_copy_to(req, buf, UNVMF_MIN(size, (size_t)al));
	memset(buf, 0, size);
	free(buf);
	unvmf_req_complete_status(req, NVME_SCT_GENERIC, NVME_SC_SUCCESS);
}
