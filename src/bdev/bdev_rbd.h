/*
 * Ceph RBD images as bdevs, through librbd. Clusters are registered by name
 * (one RADOS connection each, shared by every bdev that names it); a bdev
 * that names no cluster gets its own connection from its own parameters.
 * Reactor 0 (the RPC thread) creates, resizes and deletes; I/O runs on any
 * reactor and completes on the one that submitted it.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct unvmf_bdev;

/* How to reach a cluster; NULL fields take librados' defaults. */
struct unvmf_rbd_conn_params {
	const char *user_id;     /* without "client.", e.g. "admin" */
	const char *config_file; /* ceph.conf */
	const char *key_file;    /* keyring */
	/* "key", "value" pairs for rados_conf_set, NULL-terminated; may be NULL. */
	const char *const *config;
};

int unvmf_rbd_cluster_register(const char *name, const struct unvmf_rbd_conn_params *p);
/* -EBUSY while a bdev uses it. */
int unvmf_rbd_cluster_unregister(const char *name);

struct unvmf_rbd_cluster_info {
	const char *name;
	const char *user_id;
	const char *config_file;
	const char *key_file;
	const char *const *config;
	unsigned bdevs; /* bdevs on it now */
};
/* Calls fn for each registered cluster (name NULL) or the one named; -ENOENT if none. */
int unvmf_rbd_cluster_foreach(const char *name,
                              void (*fn)(const struct unvmf_rbd_cluster_info *info, void *arg),
                              void *arg);

struct unvmf_rbd_bdev_params {
	const char *name;
	const char *pool_name;
	const char *rbd_name;
	uint32_t block_size;
	const char *cluster_name;         /* a registered cluster, or NULL */
	struct unvmf_rbd_conn_params own; /* when cluster_name is NULL */
	const uint8_t *uuid;              /* NULL: generated */
};

int unvmf_bdev_rbd_create(const struct unvmf_rbd_bdev_params *p, struct unvmf_bdev **out);
/* Grows the image to new_size_mib (never shrinks it) and tells the namespaces. */
int unvmf_bdev_rbd_resize(const char *name, uint64_t new_size_mib);
bool unvmf_bdev_is_rbd(const struct unvmf_bdev *bdev);
