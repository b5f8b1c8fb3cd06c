#pragma once
/*
 * The core's qpair limits as options of a transport (test_qpair_limits_opts.c
 * for TCP, test_rdma_limits_opts.c for RDMA): one table row per transport,
 * the same checks for each. Defaults an operator can live with; the limits
 * decoded beside one of the transport's own options and dumped back
 * (nvmf_get_transports, save_config); a bad value, a limit's or the
 * transport's own, refused by name with nothing of the call applied.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "nvmf/transport.h"

struct limits_opts_case {
	const struct unvmf_transport_ops *ops;
	const char *own; /* one of the transport's own options, unsigned */
	uint32_t own_default, own_value;
	uint32_t (*own_get)(const struct unvmf_transport_opts *o);
	const char *own_bad; /* one of its own options, and a value it refuses */
	uint32_t own_bad_value;
	const char *foreign; /* a name it must not accept */
};

static inline void limits_opts_check_defaults(const struct limits_opts_case *c)
{
	struct unvmf_transport_opts o;

	c->ops->opts_init(&o);
	assert_int_equal(o.limits.connect_timeout_ms, 10000);
	assert_int_equal(o.limits.max_qpairs_per_host, 1024);
	assert_int_equal(o.limits.max_qpairs_per_group, 4096);
	assert_int_equal(o.limits.max_kato_ms, 600000);
	assert_int_equal(c->own_get(&o), c->own_default);
	assert_true(c->ops->opts_accepts("connect_timeout_ms"));
	assert_true(c->ops->opts_accepts("max_qpairs_per_host"));
	assert_true(c->ops->opts_accepts("max_qpairs_per_group"));
	assert_true(c->ops->opts_accepts("max_kato_ms"));
	assert_true(c->ops->opts_accepts(c->own));
	assert_false(c->ops->opts_accepts(c->foreign));
}

static inline void limits_opts_check_decode_dump(const struct limits_opts_case *c)
{
	struct unvmf_transport_opts o;
	json_t *p = json_pack("{s:i, s:i, s:i, s:i, s:i}", c->own, (int)c->own_value,
	                      "connect_timeout_ms", 300, "max_qpairs_per_host", 7,
	                      "max_qpairs_per_group", 0, "max_kato_ms", 30000);
	json_t *d = json_object();
	char err[128] = "";

	c->ops->opts_init(&o);
	assert_int_equal(c->ops->opts_decode(&o, p, err, sizeof(err)), 0);
	assert_int_equal(c->own_get(&o), c->own_value);
	assert_int_equal(o.limits.connect_timeout_ms, 300);
	assert_int_equal(o.limits.max_qpairs_per_host, 7);
	assert_int_equal(o.limits.max_qpairs_per_group, 0);
	assert_int_equal(o.limits.max_kato_ms, 30000);
	c->ops->opts_dump(&o, d);
	assert_int_equal(json_integer_value(json_object_get(d, c->own)), c->own_value);
	assert_int_equal(json_integer_value(json_object_get(d, "connect_timeout_ms")), 300);
	assert_int_equal(json_integer_value(json_object_get(d, "max_qpairs_per_host")), 7);
	assert_int_equal(json_integer_value(json_object_get(d, "max_qpairs_per_group")), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "max_kato_ms")), 30000);
	json_decref(p);
	json_decref(d);
}

/* A bad limit beside a good own option, and the reverse: refused by name, nothing applied. */
static inline void limits_opts_check_bad_value(const struct limits_opts_case *c)
{
	struct unvmf_transport_opts o;
	json_t *p1 =
	    json_pack("{s:i, s:i}", c->own, (int)c->own_value, "connect_timeout_ms", 3600001);
	json_t *p2 =
	    json_pack("{s:i, s:i}", "connect_timeout_ms", 300, c->own_bad, (int)c->own_bad_value);
	char err[128] = "";

	c->ops->opts_init(&o);
	assert_int_equal(c->ops->opts_decode(&o, p1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "connect_timeout_ms"));
	assert_int_equal(c->ops->opts_decode(&o, p2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, c->own_bad));
	assert_int_equal(c->own_get(&o), c->own_default);
	assert_int_equal(o.limits.connect_timeout_ms, 10000);
	json_decref(p1);
	json_decref(p2);
}
