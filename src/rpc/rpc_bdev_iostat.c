/*
 * bdev_get_iostat, in SPDK's reply shape: {"tick_rate", "ticks", "bdevs":
 * [{"name", "bytes_read", "num_read_ops", ...}]}. The counters are the bdev
 * channels' own (one channel per bdev and reactor, counted on the I/O path
 * without locks): a message on every reactor adds that reactor's channels,
 * then the closed channels' totals are added on the control plane. Ticks are
 * microseconds (tick_rate 1000000), as in nvmf_get_stats.
 */
#include "rpc/rpc.h"
#include "bdev/bdev.h"
#include "reactor/reactor.h"
#include "util/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define IOSTAT_TICK_RATE 1000000

struct iostat_walk {
	struct unvmf_rpc_request *req;
	size_t count;
	struct unvmf_bdev **bdevs; /* compared on the reactors, never read there */
	struct unvmf_bdev_io_stat *stats;
};

static void iostat_on_thread(void *arg)
{
	struct iostat_walk *w = arg;

	for (size_t i = 0; i < w->count; i++)
		unvmf_bdev_io_stat_add_thread(w->bdevs[i], &w->stats[i]);
}

static uint64_t min_or_zero(uint64_t v)
{
	return v == UINT64_MAX ? 0 : v;
}

static json_t *iostat_json(const char *name, const struct unvmf_bdev_io_stat *s)
{
	json_t *o = json_object();

#define PUT(key, v) json_object_set_new(o, key, json_integer((json_int_t)(v)))
	json_object_set_new(o, "name", json_string(name));
	PUT("bytes_read", s->bytes_read);
	PUT("num_read_ops", s->num_read_ops);
	PUT("bytes_written", s->bytes_written);
	PUT("num_write_ops", s->num_write_ops);
	PUT("bytes_unmapped", s->bytes_unmapped);
	PUT("num_unmap_ops", s->num_unmap_ops);
	PUT("bytes_copied", 0);
	PUT("num_copy_ops", 0);
	PUT("read_latency_ticks", s->read_latency_ticks);
	PUT("max_read_latency_ticks", s->max_read_latency_ticks);
	PUT("min_read_latency_ticks", min_or_zero(s->min_read_latency_ticks));
	PUT("write_latency_ticks", s->write_latency_ticks);
	PUT("max_write_latency_ticks", s->max_write_latency_ticks);
	PUT("min_write_latency_ticks", min_or_zero(s->min_write_latency_ticks));
	PUT("unmap_latency_ticks", s->unmap_latency_ticks);
	PUT("max_unmap_latency_ticks", s->max_unmap_latency_ticks);
	PUT("min_unmap_latency_ticks", min_or_zero(s->min_unmap_latency_ticks));
	PUT("copy_latency_ticks", 0);
	PUT("max_copy_latency_ticks", 0);
	PUT("min_copy_latency_ticks", 0);
	/* unvmf's own additions. */
	PUT("num_write_zeroes_ops", s->num_write_zeroes_ops);
	PUT("num_flush_ops", s->num_flush_ops);
	PUT("num_io_errors", s->num_io_errors);
#undef PUT
	return o;
}

static void iostat_walk_free(struct iostat_walk *w)
{
	free(w->bdevs);
	free(w->stats);
	free(w);
}

static void iostat_done(void *arg)
{
	struct iostat_walk *w = arg;
	json_t *list = json_array();

	for (size_t i = 0; list && i < w->count; i++) {
		/* A bdev deleted during the walk is left out. */
		struct unvmf_bdev *b;

		for (b = unvmf_bdev_first(); b && b != w->bdevs[i]; b = unvmf_bdev_next(b))
			;
		if (!b)
			continue;
		unvmf_bdev_io_stat_add_retired(b, &w->stats[i]);
		json_array_append_new(list, iostat_json(b->name, &w->stats[i]));
	}
	unvmf_rpc_send_result(w->req,
	                      json_pack("{s:i, s:I, s:o*}", "tick_rate", IOSTAT_TICK_RATE, "ticks",
	                                (json_int_t)unvmf_now_us(), "bdevs", list));
	iostat_walk_free(w);
}

/* Adds bdev to the walk once; 0 or -ENOMEM. */
static int iostat_walk_add(struct iostat_walk *w, struct unvmf_bdev *bdev, size_t cap)
{
	for (size_t i = 0; i < w->count; i++) {
		if (w->bdevs[i] == bdev)
			return 0;
	}
	if (w->count >= cap)
		return -ENOMEM;
	w->bdevs[w->count] = bdev;
	unvmf_bdev_io_stat_init(&w->stats[w->count]);
	w->count++;
	return 0;
}

struct iostat_params {
	const char *name;
	bool per_channel;
	const char *reset_mode;
};

static void rpc_bdev_get_iostat(struct unvmf_rpc_request *req, json_t *params)
{
	static const struct unvmf_rpc_param spec[] = {
	    UNVMF_RPC_ROW("name", UNVMF_RPC_STRING, false, struct iostat_params, name, 0, 0),
	    UNVMF_RPC_ROW("per_channel", UNVMF_RPC_BOOL, false, struct iostat_params, per_channel, 0, 0),
	    UNVMF_RPC_ROW("reset_mode", UNVMF_RPC_STRING, false, struct iostat_params, reset_mode, 0, 0),
	};
	struct iostat_params p = {0};
	json_t *rest = json_is_object(params) ? json_deep_copy(params) : json_incref(params);
	json_t *names = json_object_get(rest, "names"), *n;
	struct iostat_walk *w = NULL;
	struct unvmf_bdev *bdev;
	size_t cap = 0, i;
	int rc;

	/* "names" (SPDK master): a list of bdev names, an array the decoder does not type. */
	if (names)
		json_incref(names);
	json_object_del(rest, "names");
	if (unvmf_rpc_decode_or_reply(req, rest, spec, UNVMF_ARRAY_SIZE(spec), &p, NULL))
		goto out;
	if (p.per_channel) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "invalid parameter 'per_channel': per-channel statistics are not "
		    "reported (unvmf's channels are per reactor and summed); use "
		    "false");
		goto out;
	}
	if (p.reset_mode && strcmp(p.reset_mode, "none") != 0) {
		unvmf_rpc_send_error(
		    req, UNVMF_RPC_INVALID_PARAMS,
		    "invalid parameter 'reset_mode': '%s': resetting I/O statistics "
		    "is not supported; unvmf accepts only \"none\"",
		    p.reset_mode);
		goto out;
	}
	if (names && !json_is_array(names)) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INVALID_PARAMS,
		                     "invalid parameter 'names': expected an array of bdev names");
		goto out;
	}
	for (bdev = unvmf_bdev_first(); bdev; bdev = unvmf_bdev_next(bdev))
		cap++;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->bdevs = calloc(cap + 1, sizeof(*w->bdevs))) ||
	    !(w->stats = calloc(cap + 1, sizeof(*w->stats)))) {
		unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR, "out of memory");
		goto out;
	}
	w->req = req;
	if (p.name || names) {
		json_array_foreach(names, i, n)
		{
			if (!json_is_string(n)) {
				unvmf_rpc_send_error(
				    req, UNVMF_RPC_INVALID_PARAMS,
				    "invalid parameter 'names': expected an array of "
				    "bdev names");
				goto out;
			}
		}
		for (i = 0; i <= json_array_size(names); i++) {
			const char *want = i < json_array_size(names)
			                       ? json_string_value(json_array_get(names, i))
			                       : p.name;

			if (!want)
				continue;
			bdev = unvmf_bdev_find(want);
			if (!bdev) {
				unvmf_rpc_send_error(req, -ENODEV, "bdev %s does not exist", want);
				goto out;
			}
			if (iostat_walk_add(w, bdev, cap)) {
				unvmf_rpc_send_error(req, UNVMF_RPC_INTERNAL_ERROR,
				                     "out of memory");
				goto out;
			}
		}
	} else {
		for (bdev = unvmf_bdev_first(); bdev; bdev = unvmf_bdev_next(bdev))
			iostat_walk_add(w, bdev, cap);
	}
	rc = unvmf_for_each_thread(iostat_on_thread, w, iostat_done);
	if (rc) {
		unvmf_rpc_send_error(req, rc, "cannot visit the reactors: %s", strerror(-rc));
		goto out;
	}
	w = NULL; /* iostat_done frees it */
out:
	if (w)
		iostat_walk_free(w);
	json_decref(names);
	json_decref(rest);
}

static const struct unvmf_rpc_method g_iostat_methods[] = {
    {"bdev_get_iostat", rpc_bdev_get_iostat},
};

void unvmf_rpc_register_bdev_iostat_methods(void)
{
	unvmf_rpc_register_methods(g_iostat_methods, UNVMF_ARRAY_SIZE(g_iostat_methods));
}
