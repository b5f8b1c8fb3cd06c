/*
 * Secure channels of the target: which listeners require one, the keyring
 * (named configured PSKs, as SPDK's keyring_file_* methods make them) and
 * which key each host entry of a subsystem uses. Changed on reactor 0, read by TLS handshakes on
 * poll group threads: everything here is under the target lock. The keyring is a fixed table so
 * that a key never moves or outlives a wipe.
 */
#include "nvmf/nvmf_internal.h"
#include "proto/dhchap.h"
#include "util/log.h"
#include "util/tls_psk.h"

#include <errno.h>
#include <string.h>

struct keyring_slot {
	bool used;
	uint64_t order; /* insertion order, for the visitor */
	char name[UNVMF_KEY_NAME_BUF];
	char path[UNVMF_KEY_PATH_BUF];
	bool dhchap; /* a DH-HMAC-CHAP secret (dhkey), else a TLS PSK (key) */
	struct unvmf_psk_key key;
	struct unvmf_dhchap_key dhkey;
};

static struct keyring_slot g_keyring[UNVMF_KEYRING_MAX];
static uint64_t g_keyring_next;

static struct keyring_slot *keyring_find_locked(const char *name)
{
	for (unsigned i = 0; i < UNVMF_KEYRING_MAX; i++) {
		if (g_keyring[i].used && strcmp(g_keyring[i].name, name) == 0)
			return &g_keyring[i];
	}
	return NULL;
}

static int keyring_add(const char *name, const char *path, const struct unvmf_psk_key *key,
                       const struct unvmf_dhchap_key *dhkey)
{
	struct keyring_slot *slot = NULL;

	if (!name[0])
		return -EINVAL;
	if (strlen(name) >= UNVMF_KEY_NAME_BUF || strlen(path) >= UNVMF_KEY_PATH_BUF)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&g_tgt.lock);
	if (keyring_find_locked(name)) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -EEXIST;
	}
	for (unsigned i = 0; i < UNVMF_KEYRING_MAX && !slot; i++) {
		if (!g_keyring[i].used)
			slot = &g_keyring[i];
	}
	if (!slot) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOSPC;
	}
	slot->used = true;
	slot->order = g_keyring_next++;
	unvmf_strlcpy(slot->name, name, sizeof(slot->name));
	unvmf_strlcpy(slot->path, path, sizeof(slot->path));
	if (key)
		slot->key = *key;
	slot->dhchap = dhkey != NULL;
	if (dhkey)
		slot->dhkey = *dhkey;
	pthread_mutex_unlock(&g_tgt.lock);
	LOG_NOTICE("keyring: key '%s' added from %s", name, path);
	return 0;
}

int unvmf_keyring_add(const char *name, const char *path, const struct unvmf_psk_key *key)
{
	return keyring_add(name, path, key, NULL);
}

int unvmf_keyring_add_dhchap(const char *name, const char *path, const struct unvmf_dhchap_key *key)
{
	return keyring_add(name, path, NULL, key);
}

/* Under the lock: whether a host entry of some subsystem names the key. */
static bool keyring_in_use_locked(const char *name)
{
	struct unvmf_subsystem *subsys;
	struct unvmf_host_entry *h;

	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link)
	{
		TAILQ_FOREACH(h, &subsys->hosts, link)
		{
			if (strcmp(h->psk, name) == 0 || strcmp(h->dhchap_key, name) == 0 ||
			    strcmp(h->dhchap_ctrlr_key, name) == 0)
				return true;
		}
	}
	return false;
}

int unvmf_keyring_remove(const char *name)
{
	struct keyring_slot *slot;

	pthread_mutex_lock(&g_tgt.lock);
	slot = keyring_find_locked(name);
	if (!slot) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOENT;
	}
	if (keyring_in_use_locked(name)) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -EBUSY;
	}
	/* Wiped, not just marked free: the key bytes leave memory with the name. */
	memset(slot, 0, sizeof(*slot));
	pthread_mutex_unlock(&g_tgt.lock);
	LOG_NOTICE("keyring: key '%s' removed", name);
	return 0;
}

int unvmf_keyring_foreach(int (*fn)(const char *name, const char *path, void *arg), void *arg)
{
	uint64_t last = 0;
	bool first = true;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	/* Slots are reused, so visit by insertion order: a few keys, a quadratic walk is fine. */
	for (;;) {
		struct keyring_slot *next = NULL;

		for (unsigned i = 0; i < UNVMF_KEYRING_MAX; i++) {
			struct keyring_slot *s = &g_keyring[i];

			if (s->used && (first || s->order > last) &&
			    (!next || s->order < next->order))
				next = s;
		}
		if (!next)
			break;
		first = false;
		last = next->order;
		rc = fn(next->name, next->path, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

static struct unvmf_host_entry *host_find_locked(struct unvmf_subsystem *subsys,
                                                 const char *hostnqn)
{
	struct unvmf_host_entry *h;

	TAILQ_FOREACH(h, &subsys->hosts, link)
	{
		if (strcmp(h->nqn, hostnqn) == 0)
			return h;
	}
	return NULL;
}

int unvmf_subsystem_set_host_psk(struct unvmf_subsystem *subsys, const char *hostnqn,
                                 const char *key_name)
{
	struct unvmf_host_entry *h;

	if (key_name && strlen(key_name) >= UNVMF_KEY_NAME_BUF)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&g_tgt.lock);
	h = host_find_locked(subsys, hostnqn);
	if (!h) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOENT;
	}
	if (key_name && key_name[0] &&
	    (!keyring_find_locked(key_name) || keyring_find_locked(key_name)->dhchap)) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOKEY;
	}
	unvmf_strlcpy(h->psk, key_name ? key_name : "", sizeof(h->psk));
	pthread_mutex_unlock(&g_tgt.lock);
	return 0;
}

int unvmf_subsystem_get_host_psk(struct unvmf_subsystem *subsys, const char *hostnqn, char *name,
                                 size_t name_len)
{
	struct unvmf_host_entry *h;
	int rc = -ENOENT;

	pthread_mutex_lock(&g_tgt.lock);
	h = host_find_locked(subsys, hostnqn);
	if (h && h->psk[0]) {
		unvmf_strlcpy(name, h->psk, name_len);
		rc = 0;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

/* Under the lock: the key hostnqn's entry in subsys names, or NULL. */
static const struct keyring_slot *host_key_locked(struct unvmf_subsystem *subsys,
                                                  const char *hostnqn)
{
	struct unvmf_host_entry *h = host_find_locked(subsys, hostnqn);

	const struct keyring_slot *slot = h && h->psk[0] ? keyring_find_locked(h->psk) : NULL;

	return slot && !slot->dhchap ? slot : NULL;
}

int unvmf_tgt_tls_psk_find(const char *subnqn, const char *hostnqn, struct unvmf_psk_key *key)
{
	const struct keyring_slot *slot = NULL;
	struct unvmf_subsystem *subsys;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(subsys, &g_tgt.subsystems, link)
	{
		if (subsys->deleting || subsys->type != UNVMF_SUBSYSTEM_NVME)
			continue;
		/* A discovery controller has no host list: any subsystem's key of the host will do.
		 */
		if (strcmp(subnqn, NVMF_DISCOVERY_NQN) != 0 && strcmp(subnqn, subsys->nqn) != 0)
			continue;
		slot = host_key_locked(subsys, hostnqn);
		if (slot)
			break;
	}
	if (slot)
		*key = slot->key;
	pthread_mutex_unlock(&g_tgt.lock);
	return slot ? 0 : -ENOKEY;
}

bool unvmf_subsystem_listener_secure(struct unvmf_subsystem *subsys, const struct unvmf_trid *trid)
{
	struct unvmf_listener *l;
	bool secure = false;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(l, &subsys->listeners, link)
	{
		if (unvmf_trid_same_addr(&l->trid, trid)) {
			secure = l->secure_channel;
			break;
		}
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return secure;
}

int unvmf_subsystem_foreach_host_psk(struct unvmf_subsystem *subsys,
                                     int (*fn)(const char *hostnqn, const char *psk, void *arg),
                                     void *arg)
{
	struct unvmf_host_entry *h;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(h, &subsys->hosts, link)
	{
		rc = fn(h->nqn, h->psk, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

int unvmf_subsystem_foreach_listener_opts(struct unvmf_subsystem *subsys,
                                          int (*fn)(const struct unvmf_trid *trid,
                                                    const struct unvmf_listen_opts *opts,
                                                    void *arg),
                                          void *arg)
{
	struct unvmf_listener *l;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(l, &subsys->listeners, link)
	{
		struct unvmf_listen_opts opts = {.secure_channel = l->secure_channel};

		rc = fn(&l->trid, &opts, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

void unvmf_keyring_wipe(void)
{
	pthread_mutex_lock(&g_tgt.lock);
	memset(g_keyring, 0, sizeof(g_keyring));
	g_keyring_next = 0;
	pthread_mutex_unlock(&g_tgt.lock);
}

/* Under the lock: the DH-HMAC-CHAP secret named name, NULL if none (or a PSK). */
static const struct keyring_slot *dhchap_find_locked(const char *name)
{
	const struct keyring_slot *slot = name[0] ? keyring_find_locked(name) : NULL;

	return slot && slot->dhchap ? slot : NULL;
}

int unvmf_subsystem_set_host_dhchap(struct unvmf_subsystem *subsys, const char *hostnqn,
                                    const char *key, const char *ctrlr_key)
{
	struct unvmf_host_entry *h;

	key = key ? key : "";
	ctrlr_key = ctrlr_key ? ctrlr_key : "";
	if (strlen(key) >= UNVMF_KEY_NAME_BUF || strlen(ctrlr_key) >= UNVMF_KEY_NAME_BUF)
		return -ENAMETOOLONG;
	if (ctrlr_key[0] && !key[0])
		return -EINVAL;
	pthread_mutex_lock(&g_tgt.lock);
	h = host_find_locked(subsys, hostnqn);
	if (!h) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOENT;
	}
	if ((key[0] && !dhchap_find_locked(key)) ||
	    (ctrlr_key[0] && !dhchap_find_locked(ctrlr_key))) {
		pthread_mutex_unlock(&g_tgt.lock);
		return -ENOKEY;
	}
	unvmf_strlcpy(h->dhchap_key, key, sizeof(h->dhchap_key));
	unvmf_strlcpy(h->dhchap_ctrlr_key, ctrlr_key, sizeof(h->dhchap_ctrlr_key));
	pthread_mutex_unlock(&g_tgt.lock);
	return 0;
}

int unvmf_subsystem_foreach_host_keys(struct unvmf_subsystem *subsys,
                                      int (*fn)(const char *hostnqn, const char *psk,
                                                const char *key, const char *ctrlr_key, void *arg),
                                      void *arg)
{
	struct unvmf_host_entry *h;
	int rc = 0;

	pthread_mutex_lock(&g_tgt.lock);
	TAILQ_FOREACH(h, &subsys->hosts, link)
	{
		rc = fn(h->nqn, h->psk, h->dhchap_key, h->dhchap_ctrlr_key, arg);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return rc;
}

int unvmf_tgt_dhchap_keys_find(const char *subnqn, const char *hostnqn,
                               struct unvmf_dhchap_key *key, struct unvmf_dhchap_key *ckey,
                               bool *has_ckey)
{
	const struct keyring_slot *k = NULL, *ck = NULL;
	struct unvmf_subsystem *subsys;
	struct unvmf_host_entry *h;

	pthread_mutex_lock(&g_tgt.lock);
	subsys = unvmf_subsystem_find(subnqn);
	h = subsys && subsys->type == UNVMF_SUBSYSTEM_NVME ? host_find_locked(subsys, hostnqn)
	                                                   : NULL;
	if (h) {
		k = dhchap_find_locked(h->dhchap_key);
		ck = dhchap_find_locked(h->dhchap_ctrlr_key);
	}
	if (k) {
		*key = k->dhkey;
		*has_ckey = ck != NULL;
		if (ck)
			*ckey = ck->dhkey;
	}
	pthread_mutex_unlock(&g_tgt.lock);
	return k ? 0 : -ENOKEY;
}

#define DHCHAP_ALL_DIGESTS                                                                         \
	((1u << NVME_AUTH_HASH_SHA256) | (1u << NVME_AUTH_HASH_SHA384) |                           \
	 (1u << NVME_AUTH_HASH_SHA512))
#define DHCHAP_ALL_DHGROUPS ((1u << NVME_AUTH_DHGROUP_COUNT) - 1)

void unvmf_tgt_set_dhchap_allowed(uint32_t digests, uint32_t dhgroups)
{
	pthread_mutex_lock(&g_tgt.lock);
	if (digests)
		g_tgt.dhchap_digests = digests & DHCHAP_ALL_DIGESTS;
	if (dhgroups)
		g_tgt.dhchap_dhgroups = dhgroups & DHCHAP_ALL_DHGROUPS;
	pthread_mutex_unlock(&g_tgt.lock);
}

void unvmf_tgt_get_dhchap_allowed(uint32_t *digests, uint32_t *dhgroups)
{
	pthread_mutex_lock(&g_tgt.lock);
	/* 0 until set: everything, as SPDK's defaults. */
	*digests = g_tgt.dhchap_digests ? g_tgt.dhchap_digests : DHCHAP_ALL_DIGESTS;
	*dhgroups = g_tgt.dhchap_dhgroups ? g_tgt.dhchap_dhgroups : DHCHAP_ALL_DHGROUPS;
	pthread_mutex_unlock(&g_tgt.lock);
}
