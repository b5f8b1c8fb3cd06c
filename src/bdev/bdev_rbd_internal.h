/* Shared by the RBD bdev and its cluster registry (src/bdev only). */
#pragma once
#include "bdev/bdev_rbd.h"

#include <rados/librados.h>

/* One RADOS connection and the parameters it was made from (owned copies). */
struct rbd_conn {
	rados_t rados;
	struct unvmf_rbd_conn_params params;
	unsigned refs; /* bdevs using a registered cluster's connection */
};

int rbd_conn_open(struct rbd_conn *c, const struct unvmf_rbd_conn_params *p, const char *who);
void rbd_conn_close(struct rbd_conn *c);
/* A registered cluster's connection with a reference taken, or NULL. */
struct rbd_conn *rbd_cluster_get(const char *name);
void rbd_cluster_put(struct rbd_conn *conn);
