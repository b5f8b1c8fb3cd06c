/*
 * Registered RADOS clusters: a name, how to connect, and one connected
 * rados_t shared by the bdevs that name the cluster. Guarded by one mutex:
 * the RPC thread registers and creates, while the last bdev on a cluster may
 * be destructed on a reactor thread.
 */
#include "bdev/bdev_rbd_internal.h"
#include "util/common.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct rbd_cluster {
	struct rbd_conn conn;
	char *name;
	struct rbd_cluster *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rbd_cluster *g_clusters;

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void conn_params_free(struct unvmf_rbd_conn_params *p)
{
	free((char *)p->user_id);
	free((char *)p->config_file);
	free((char *)p->key_file);
	if (p->config) {
		for (size_t i = 0; p->config[i]; i++)
			free((char *)p->config[i]);
		free((char **)p->config);
	}
	memset(p, 0, sizeof(*p));
}

static int conn_params_copy(struct unvmf_rbd_conn_params *dst,
                            const struct unvmf_rbd_conn_params *src)
{
	size_t n = 0;
	char **kv = NULL;

	memset(dst, 0, sizeof(*dst));
	while (src->config && src->config[n])
		n++;
	if (n % 2)
		return -EINVAL; /* keys and values come in pairs */
	if (n) {
		kv = calloc(n + 1, sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			kv[i] = strdup(src->config[i]);
			if (!kv[i])
				goto fail_nomem;
		}
	}
	dst->config = (const char *const *)kv;
	dst->user_id = dup_or_null(src->user_id);
	dst->config_file = dup_or_null(src->config_file);
	dst->key_file = dup_or_null(src->key_file);
	if ((src->user_id && !dst->user_id) || (src->config_file && !dst->config_file) ||
	    (src->key_file && !dst->key_file))
		goto fail_nomem;
	return 0;

fail_nomem:
	if (!dst->config && kv) {
		for (size_t i = 0; i < n; i++)
			free(kv[i]);
		free(kv);
	}
	conn_params_free(dst);
	return -ENOMEM;
}

int rbd_conn_open(struct rbd_conn *c, const struct unvmf_rbd_conn_params *p, const char *who)
{
	int rc = conn_params_copy(&c->params, p);

	if (rc)
		return rc;
	rc = rados_create(&c->rados, c->params.user_id);
	if (rc < 0)
		goto free_params;
	/* An explicit file, or librados' search path (/etc/ceph/ceph.conf, $CEPH_CONF). */
	rc = rados_conf_read_file(c->rados, c->params.config_file);
	if (rc < 0 && c->params.config_file) {
		LOG_ERR("rbd %s: cannot read %s: %s", who, c->params.config_file, strerror(-rc));
		goto shutdown;
	}
	if (c->params.key_file) {
		rc = rados_conf_set(c->rados, "keyring", c->params.key_file);
		if (rc < 0)
			goto shutdown;
	}
	for (size_t i = 0; c->params.config && c->params.config[i]; i += 2) {
		rc = rados_conf_set(c->rados, c->params.config[i], c->params.config[i + 1]);
		if (rc < 0) {
			LOG_ERR("rbd %s: config %s=%s: %s", who, c->params.config[i],
			        c->params.config[i + 1], strerror(-rc));
			goto shutdown;
		}
	}
	rc = rados_connect(c->rados);
	if (rc < 0) {
		LOG_ERR("rbd %s: cannot connect to the cluster: %s", who, strerror(-rc));
		goto shutdown;
	}
	return 0;

shutdown:
	rados_shutdown(c->rados);
	c->rados = NULL;
free_params:
	conn_params_free(&c->params);
	return rc < 0 ? rc : -EIO;
}

void rbd_conn_close(struct rbd_conn *c)
{
	if (c->rados)
		rados_shutdown(c->rados);
	c->rados = NULL;
	conn_params_free(&c->params);
}

static struct rbd_cluster *cluster_find_locked(const char *name)
{
	for (struct rbd_cluster *c = g_clusters; c; c = c->next) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

int unvmf_rbd_cluster_register(const char *name, const struct unvmf_rbd_conn_params *p)
{
	struct rbd_cluster *c;
	int rc;

	if (!name || !name[0])
		return -EINVAL;
	pthread_mutex_lock(&g_lock);
	c = cluster_find_locked(name);
	pthread_mutex_unlock(&g_lock);
	if (c)
		return -EEXIST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(name);
	if (!c->name) {
		free(c);
		return -ENOMEM;
	}
	/* Connecting takes a round trip to the monitors: not under the lock. */
	rc = rbd_conn_open(&c->conn, p, name);
	if (rc) {
		free(c->name);
		free(c);
		return rc;
	}
	pthread_mutex_lock(&g_lock);
	if (cluster_find_locked(name)) {
		pthread_mutex_unlock(&g_lock);
		rbd_conn_close(&c->conn);
		free(c->name);
		free(c);
		return -EEXIST;
	}
	c->next = g_clusters;
	g_clusters = c;
	pthread_mutex_unlock(&g_lock);
	LOG_NOTICE("rbd cluster %s registered", name);
	return 0;
}

int unvmf_rbd_cluster_unregister(const char *name)
{
	struct rbd_cluster **pp, *c = NULL;

	pthread_mutex_lock(&g_lock);
	for (pp = &g_clusters; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			c = *pp;
			break;
		}
	}
	if (!c) {
		pthread_mutex_unlock(&g_lock);
		return -ENOENT;
	}
	if (c->conn.refs) {
		pthread_mutex_unlock(&g_lock);
		return -EBUSY;
	}
	*pp = c->next;
	pthread_mutex_unlock(&g_lock);
	rbd_conn_close(&c->conn);
	free(c->name);
	free(c);
	return 0;
}

struct rbd_conn *rbd_cluster_get(const char *name)
{
	struct rbd_cluster *c;

	pthread_mutex_lock(&g_lock);
	c = cluster_find_locked(name);
	if (c)
		c->conn.refs++;
	pthread_mutex_unlock(&g_lock);
	return c ? &c->conn : NULL;
}

void rbd_cluster_put(struct rbd_conn *conn)
{
	pthread_mutex_lock(&g_lock);
	UNVMF_ASSERT(conn->refs > 0);
	conn->refs--;
	pthread_mutex_unlock(&g_lock);
}

int unvmf_rbd_cluster_foreach(const char *name,
                              void (*fn)(const struct unvmf_rbd_cluster_info *info, void *arg),
                              void *arg)
{
	int found = 0;

	pthread_mutex_lock(&g_lock);
	for (struct rbd_cluster *c = g_clusters; c; c = c->next) {
		struct unvmf_rbd_cluster_info info = {
		    .name = c->name,
		    .user_id = c->conn.params.user_id,
		    .config_file = c->conn.params.config_file,
		    .key_file = c->conn.params.key_file,
		    .config = c->conn.params.config,
		    .bdevs = c->conn.refs,
		};

		if (name && strcmp(name, c->name) != 0)
			continue;
		fn(&info, arg);
		found++;
	}
	pthread_mutex_unlock(&g_lock);
	return found || !name ? 0 : -ENOENT;
}
