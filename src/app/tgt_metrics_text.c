/*
 * nvmf_get_stats and the subsystem methods' replies as Prometheus text
 * (exposition format 0.0.4). The JSON is what an operator already reads
 * through the RPC, so the two views cannot disagree: this file only renames
 * and labels. The format wants every sample of a family together under one
 * TYPE line, and the replies are ordered by poll group, so samples are
 * collected first and written out family by family.
 */
#include "app/tgt_metrics.h"
#include "util/common.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bucket i of struct unvmf_latency_hist counts latencies in [2^(i-1), 2^i) µs. */
#define METRICS_LATENCY_BUCKETS 32

struct metrics_sample {
	char *family;
	const char *type;
	const char *help;
	char *labels; /* "a=\"x\",b=\"y\"" or "" */
	char value[32];
	size_t seq; /* keeps the order of samples within a family */
};

struct metrics_set {
	struct metrics_sample *v;
	size_t len;
	size_t cap;
	bool failed;
};

/* Label values may hold any UTF-8; the format escapes backslash, quote and newline. */
static void label_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

/* labels: pairs of name, value, ended by NULL. */
static char *labels_format(const char *const *labels)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; labels && labels[i]; i += 2) {
		fprintf(f, "%s%s=\"", i ? "," : "", labels[i]);
		label_escape(f, labels[i + 1]);
		fputc('"', f);
	}
	if (fclose(f))
		return NULL;
	return out;
}

static void set_add(struct metrics_set *set, const char *family, const char *type, const char *help,
                    const char *const *labels, const char *value)
{
	struct metrics_sample *s;

	if (set->failed)
		return;
	if (set->len == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 256;
		struct metrics_sample *v = realloc(set->v, cap * sizeof(*v));

		if (!v) {
			set->failed = true;
			return;
		}
		set->v = v;
		set->cap = cap;
	}
	s = &set->v[set->len];
	s->family = strdup(family);
	s->labels = labels_format(labels);
	if (!s->family || !s->labels) {
		free(s->family);
		free(s->labels);
		set->failed = true;
		return;
	}
	s->type = type;
	s->help = help;
	unvmf_strlcpy(s->value, value, sizeof(s->value));
	s->seq = set->len++;
}

static void set_add_u64(struct metrics_set *set, const char *family, const char *type,
                        const char *help, const char *const *labels, uint64_t value)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)value);
	set_add(set, family, type, help, labels, v);
}

static uint64_t json_u64(const json_t *obj, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(obj, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* ---- poll groups ---- */

struct group_metric {
	const char *key; /* in the poll group object */
	const char *family;
	const char *type;
	const char *help;
};

static const struct group_metric g_group_metrics[] = {
    {"current_qpairs", "unvmf_poll_group_qpairs", "gauge", "Connected qpairs (admin and I/O)"},
    {"current_admin_qpairs", "unvmf_poll_group_admin_qpairs", "gauge", "Connected admin qpairs"},
    {"current_io_qpairs", "unvmf_poll_group_io_qpairs", "gauge", "Connected I/O qpairs"},
    {"qpairs", "unvmf_poll_group_qpairs_accepted_total", "counter",
     "Qpairs handed to the poll group since start"},
    {"completed_nvme_io", "unvmf_poll_group_commands_completed_total", "counter",
     "Commands completed: I/O, admin and fabrics, any status"},
    {"bytes_read", "unvmf_poll_group_read_bytes_total", "counter", "Bytes read by hosts"},
    {"bytes_written", "unvmf_poll_group_written_bytes_total", "counter", "Bytes written by hosts"},
    {"errors", "unvmf_poll_group_command_errors_total", "counter",
     "Commands completed with an error status"},
    {"keep_alive_expiries", "unvmf_poll_group_keep_alive_expiries_total", "counter",
     "Controllers ended because their host sent no keep-alive within KATO"},
    {"pending_bdev_io", "unvmf_poll_group_pending_bdev_io", "gauge",
     "I/Os submitted to the bdevs and not yet completed"},
};

static const struct group_metric g_limit_metrics[] = {
    {"connect_timeouts", "unvmf_connect_timeouts_total", "counter",
     "Qpairs ended for sending no Fabrics Connect in time"},
    {"kato_zero_reclaims", "unvmf_kato_zero_reclaims_total", "counter",
     "Controllers with keep-alive disabled reclaimed as idle"},
};

static const struct {
	const char *key;
	const char *reason;
} g_refusals[] = {
    {"connect_refused_host_limit", "host_limit"},
    {"connect_refused_group_limit", "group_limit"},
    {"connect_refused_kato", "kato"},
};

/* "0.000001" for 1 µs: exact, unlike %g, for every power of two of µs. */
static void seconds_from_us(char *out, size_t len, uint64_t us)
{
	snprintf(out, len, "%llu.%06llu", (unsigned long long)(us / 1000000),
	         (unsigned long long)(us % 1000000));
}

static void group_latency_add(struct metrics_set *set, const json_t *lat, const char *group)
{
	static const char fam[] = "unvmf_poll_group_command_latency_seconds";
	static const char help[] = "Command latency, execution start to completion (all queues)";
	uint64_t counts[METRICS_LATENCY_BUCKETS] = {0}, cum = 0;
	const json_t *b, *buckets = json_object_get(lat, "buckets");
	char le[32], name[64], sum[48];
	size_t i;
	uint64_t sum_us = json_u64(lat, "sum_us");

	json_array_foreach(buckets, i, b)
	{
		uint64_t lt = json_u64(b, "lt_us");
		unsigned bit = 0;

		while (bit + 1 < METRICS_LATENCY_BUCKETS && (1ull << bit) < lt)
			bit++;
		counts[bit] += json_u64(b, "count");
	}
	snprintf(name, sizeof(name), "%s_bucket", fam);
	for (unsigned k = 0; k < METRICS_LATENCY_BUCKETS; k++) {
		const char *labels[] = {"group", group, "le", le, NULL};

		cum += counts[k];
		seconds_from_us(le, sizeof(le), 1ull << k);
		set_add_u64(set, name, "histogram", help, labels, cum);
	}
	{
		const char *labels[] = {"group", group, "le", "+Inf", NULL};

		set_add_u64(set, name, "histogram", help, labels, json_u64(lat, "count"));
	}
	{
		const char *labels[] = {"group", group, NULL};

		snprintf(name, sizeof(name), "%s_sum", fam);
		seconds_from_us(sum, sizeof(sum), sum_us);
		set_add(set, name, "histogram", help, labels, sum);
		snprintf(name, sizeof(name), "%s_count", fam);
		set_add_u64(set, name, "histogram", help, labels, json_u64(lat, "count"));
	}
}

/*
 * A transport's counters, whatever they are: the transport owns its stats
 * object (poll_group_dump_stats) and adding a counter there must not need an
 * edit here. Integers become unvmf_transport_<path>; an object whose members
 * are all integers (counts by WC status, by reason) becomes one family with
 * the member names as a label. Strings and arrays (per-qpair detail, which
 * would explode the series count) are left to the RPC.
 */
static bool name_has(const char *name, const char *part)
{
	return strstr(name, part) != NULL;
}

static const char *transport_type(const char *name)
{
	size_t len = strlen(name);

	if (len > 6 && strcmp(name + len - 6, "_total") == 0)
		return "counter";
	if (name_has(name, "current") || name_has(name, "pending") || name_has(name, "outstanding"))
		return "gauge";
	return "counter";
}

static bool object_all_integers(const json_t *obj)
{
	const char *k;
	const json_t *v;

	json_object_foreach((json_t *)obj, k, v)
	{
		if (!json_is_integer(v))
			return false;
	}
	return true;
}

static const char *map_label(const char *key)
{
	if (name_has(key, "status"))
		return "status";
	if (name_has(key, "opcode"))
		return "opcode";
	return "reason";
}

static void transport_family(char *out, size_t len, const char *path)
{
	const char *type = transport_type(path);
	size_t plen = strlen(path);
	bool suffix =
	    strcmp(type, "counter") == 0 && !(plen > 6 && strcmp(path + plen - 6, "_total") == 0);

	snprintf(out, len, "unvmf_transport_%s%s", path, suffix ? "_total" : "");
	for (char *p = out; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			*p = '_';
	}
}

static void transport_walk(struct metrics_set *set, const json_t *obj, const char *prefix,
                           const char *group, const char *trtype)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		char path[128], fam[176];

		/* Per-state event coverage is a debugging aid, not an operations signal. */
		if (strcmp(key, "state_events") == 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", prefix, key);
		if (json_is_integer(v)) {
			const char *labels[] = {"group", group, "trtype", trtype, NULL};

			transport_family(fam, sizeof(fam), path);
			set_add_u64(set, fam, transport_type(fam),
			            "Transport counter (nvmf_get_stats)", labels,
			            json_u64(obj, key));
		} else if (json_is_object(v) && object_all_integers(v)) {
			const char *k;
			const json_t *c;

			transport_family(fam, sizeof(fam), path);
			json_object_foreach((json_t *)v, k, c)
			{
				const char *labels[] = {"group",        group, "trtype", trtype,
				                        map_label(key), k,     NULL};

				set_add_u64(set, fam, transport_type(fam),
				            "Transport counter by kind (nvmf_get_stats)", labels,
				            json_u64(v, k));
			}
		} else if (json_is_object(v)) {
			char sub[128];

			if ((size_t)snprintf(sub, sizeof(sub), "%.120s_", path) >= sizeof(sub))
				continue;
			transport_walk(set, v, sub, group, trtype);
		}
	}
}

static void group_add(struct metrics_set *set, const json_t *g)
{
	const json_t *reactor = json_object_get(g, "reactor");
	const json_t *limits = json_object_get(g, "limits");
	const json_t *t;
	char group[24];
	size_t i;

	snprintf(group, sizeof(group), "%llu", (unsigned long long)json_u64(g, "thread"));
	const char *labels[] = {"group", group, NULL};

	for (i = 0; i < UNVMF_ARRAY_SIZE(g_group_metrics); i++) {
		const struct group_metric *m = &g_group_metrics[i];

		set_add_u64(set, m->family, m->type, m->help, labels, json_u64(g, m->key));
	}
	group_latency_add(set, json_object_get(g, "latency"), group);
	{
		const char *status;
		const json_t *n;

		json_object_foreach((json_t *)json_object_get(g, "errors_by_status"), status, n)
		{
			const char *sl[] = {"group", group, "status", status, NULL};

			set_add_u64(set, "unvmf_poll_group_command_errors_by_status_total", "counter",
			            "Commands completed with an error, by status (SCT/SC in hex)", sl,
			            json_is_integer(n) ? (uint64_t)json_integer_value(n) : 0);
		}
	}
	set_add_u64(set, "unvmf_reactor_iterations_total", "counter",
	            "Poll loop iterations of the group's reactor", labels,
	            json_u64(reactor, "iterations"));
	set_add_u64(set, "unvmf_reactor_busy_iterations_total", "counter",
	            "Poll loop iterations that found work", labels,
	            json_u64(reactor, "busy_iterations"));
	set_add_u64(set, "unvmf_reactor_sleeps_total", "counter",
	            "Times the reactor slept for lack of work", labels,
	            json_u64(reactor, "sleeps"));
	for (i = 0; limits && i < UNVMF_ARRAY_SIZE(g_limit_metrics); i++) {
		const struct group_metric *m = &g_limit_metrics[i];

		set_add_u64(set, m->family, m->type, m->help, labels, json_u64(limits, m->key));
	}
	for (i = 0; limits && i < UNVMF_ARRAY_SIZE(g_refusals); i++) {
		const char *rl[] = {"group", group, "reason", g_refusals[i].reason, NULL};

		set_add_u64(set, "unvmf_limits_connect_refused_total", "counter",
		            "Fabrics Connects refused by the limits, by reason", rl,
		            json_u64(limits, g_refusals[i].key));
	}
	json_array_foreach(json_object_get(g, "transports"), i, t)
	{
		const char *trtype = json_string_value(json_object_get(t, "trtype"));

		transport_walk(set, t, "", group, trtype ? trtype : "unknown");
	}
}

/* ---- subsystems ---- */

static void subsystem_add(struct metrics_set *set, const json_t *s)
{
	const char *nqn = json_string_value(json_object_get(s, "nqn"));
	const json_t *qpairs = json_object_get(s, "qpairs");
	uint64_t requests = 0, rd = 0, wr = 0, errors = 0;
	const json_t *q;
	size_t i;

	if (!nqn)
		return;
	const char *labels[] = {"nqn", nqn, NULL};

	json_array_foreach(qpairs, i, q)
	{
		const json_t *st = json_object_get(q, "stats");

		requests += json_u64(st, "requests");
		rd += json_u64(st, "bytes_read");
		wr += json_u64(st, "bytes_written");
		errors += json_u64(st, "errors");
	}
	set_add_u64(set, "unvmf_subsystem_namespaces", "gauge", "Namespaces of the subsystem",
	            labels, json_u64(s, "namespaces"));
	set_add_u64(set, "unvmf_subsystem_controllers", "gauge", "Controllers of the subsystem",
	            labels, json_array_size(json_object_get(s, "controllers")));
	set_add_u64(set, "unvmf_subsystem_qpairs", "gauge", "Connected qpairs of the subsystem",
	            labels, json_array_size(qpairs));
	/* Sums over the qpairs connected now: they drop when a qpair goes, so gauges. */
	set_add_u64(set, "unvmf_subsystem_connected_requests", "gauge",
	            "Commands of the subsystem's connected qpairs", labels, requests);
	set_add_u64(set, "unvmf_subsystem_connected_read_bytes", "gauge",
	            "Bytes read through the subsystem's connected qpairs", labels, rd);
	set_add_u64(set, "unvmf_subsystem_connected_written_bytes", "gauge",
	            "Bytes written through the subsystem's connected qpairs", labels, wr);
	set_add_u64(set, "unvmf_subsystem_connected_errors", "gauge",
	            "Errors of the subsystem's connected qpairs", labels, errors);
}

/* ---- output ---- */

static int sample_cmp(const void *a, const void *b)
{
	const struct metrics_sample *x = a, *y = b;
	int c = strcmp(x->family, y->family);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A histogram's _bucket/_sum/_count share the family name without the suffix. */
static size_t family_base_len(const struct metrics_sample *s)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	size_t len = strlen(s->family);

	if (strcmp(s->type, "histogram") != 0)
		return len;
	for (size_t i = 0; i < UNVMF_ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && strcmp(s->family + len - sl, suffixes[i]) == 0)
			return len - sl;
	}
	return len;
}

/* Histogram parts must follow each other: sort by base name, then _bucket, _sum, _count. */
static int histogram_part(const struct metrics_sample *s)
{
	size_t base = family_base_len(s);

	if (strcmp(s->type, "histogram") != 0)
		return 0;
	if (strcmp(s->family + base, "_bucket") == 0)
		return 0;
	return strcmp(s->family + base, "_sum") == 0 ? 1 : 2;
}

static int sample_cmp_base(const void *a, const void *b)
{
	const struct metrics_sample *x = a, *y = b;
	size_t lx = family_base_len(x), ly = family_base_len(y);
	int c = strncmp(x->family, y->family, lx < ly ? lx : ly);

	if (c)
		return c;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	if (histogram_part(x) != histogram_part(y))
		return histogram_part(x) - histogram_part(y);
	return sample_cmp(a, b);
}

char *tgt_metrics_render(const json_t *stats, const json_t *subsystems)
{
	struct metrics_set set = {0};
	const json_t *g, *s;
	char *out = NULL;
	size_t len = 0, i;
	FILE *f;

	{
		const char *labels[] = {"version", UNVMF_VERSION_STRING, NULL};

		set_add_u64(&set, "unvmf_build_info", "gauge", "unvmf-tgt's version", labels, 1);
	}
	json_array_foreach(json_object_get(stats, "poll_groups"), i, g)
	{
		group_add(&set, g);
	}
	{
		const char *reason;
		const json_t *n;

		/* The target's, not a poll group's: every refused Fabrics Connect by reason. */
		json_object_foreach((json_t *)json_object_get(stats, "connect_refusals"), reason, n)
		{
			const char *labels[] = {"reason", reason, NULL};

			set_add_u64(&set, "unvmf_connect_refused_total", "counter",
			            "Fabrics Connects refused, by reason", labels,
			            json_is_integer(n) && json_integer_value(n) > 0
			                ? (uint64_t)json_integer_value(n)
			                : 0);
		}
	}
	json_array_foreach(subsystems, i, s)
	{
		subsystem_add(&set, s);
	}
	if (set.failed)
		goto out_free;
	qsort(set.v, set.len, sizeof(*set.v), sample_cmp_base);
	f = open_memstream(&out, &len);
	if (!f)
		goto out_free;
	for (i = 0; i < set.len; i++) {
		const struct metrics_sample *m = &set.v[i];
		size_t base = family_base_len(m);

		if (i == 0 || family_base_len(&set.v[i - 1]) != base ||
		    strncmp(set.v[i - 1].family, m->family, base) != 0) {
			fprintf(f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)base, m->family,
			        m->help, (int)base, m->family, m->type);
		}
		if (m->labels[0])
			fprintf(f, "%s{%s} %s\n", m->family, m->labels, m->value);
		else
			fprintf(f, "%s %s\n", m->family, m->value);
	}
	if (fclose(f)) {
		free(out);
		out = NULL;
	}
out_free:
	for (i = 0; i < set.len; i++) {
		free(set.v[i].family);
		free(set.v[i].labels);
	}
	free(set.v);
	return out;
}
