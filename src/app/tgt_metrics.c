/*
 * The Prometheus endpoint: libmicrohttpd serves GET /metrics from its own
 * thread. The counters belong to the reactors (each poll group's to its own,
 * read only there), so the HTTP thread never reads them: it sends reactor 0 a
 * message and waits. Reactor 0 runs the same methods an operator runs
 * (nvmf_get_stats, which visits every poll group by message, then
 * nvmf_get_subsystems and each subsystem's qpairs and controllers) through
 * unvmf_rpc_call, and hands the replies back; the HTTP thread renders them.
 * So a scrape costs the reactors what one nvmf_get_stats call costs, the
 * numbers are those the RPC reports, and the I/O path stays lock-free.
 *
 * A scrape is shared by two owners (the waiting HTTP thread and the chain of
 * calls on reactor 0) and freed by the last to let go: a scrape that times
 * out leaves the chain to finish alone.
 */
#include "app/tgt_metrics.h"
#include "reactor/reactor.h"
#include "rpc/rpc.h"
#include "util/common.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define METRICS_SCRAPE_TIMEOUT_S 5

struct metrics_scrape {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	bool done;
	int rc;
	json_t *stats;
	json_t *subsystems; /* [{nqn, namespaces, qpairs, controllers}] */
	size_t next;        /* reactor 0: the subsystem being asked about */
	int step;           /* reactor 0: 0 qpairs, 1 controllers of subsystems[next] */
};

static struct {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	unsigned waiting; /* scrapes the HTTP thread waits for */
} g_metrics = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void scrape_put(struct metrics_scrape *sc)
{
	bool last;

	pthread_mutex_lock(&sc->lock);
	last = --sc->refs == 0;
	pthread_mutex_unlock(&sc->lock);
	if (!last)
		return;
	json_decref(sc->stats);
	json_decref(sc->subsystems);
	pthread_cond_destroy(&sc->cond);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

/* ---- reactor 0: the chain of calls ---- */

static void scrape_finish(struct metrics_scrape *sc, int rc)
{
	pthread_mutex_lock(&sc->lock);
	sc->rc = rc;
	sc->done = true;
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
	scrape_put(sc);
}

static json_t *response_result(json_t *response, int code)
{
	json_t *result = response ? json_object_get(response, "result") : NULL;

	return code == 0 && result ? json_incref(result) : NULL;
}

static void scrape_next_subsystem(struct metrics_scrape *sc);

static void scrape_subsystem_done(void *ctx, json_t *response, int code, const char *message)
{
	struct metrics_scrape *sc = ctx;
	json_t *s = json_array_get(sc->subsystems, sc->next);
	json_t *result = response_result(response, code);

	/* A subsystem deleted between the calls has no qpairs: an empty list, not a failure. */
	json_object_set_new(s, sc->step == 0 ? "qpairs" : "controllers",
	                    result && json_is_array(result) ? result : json_array());
	if (result && !json_is_array(result))
		json_decref(result);
	if (sc->step == 0) {
		sc->step = 1;
	} else {
		sc->step = 0;
		sc->next++;
	}
	scrape_next_subsystem(sc);
}

static void scrape_next_subsystem(struct metrics_scrape *sc)
{
	json_t *s = json_array_get(sc->subsystems, sc->next);
	json_t *params;

	if (!s) {
		scrape_finish(sc, 0);
		return;
	}
	params = json_pack("{s:O}", "nqn", json_object_get(s, "nqn"));
	if (!params) {
		scrape_finish(sc, -ENOMEM);
		return;
	}
	unvmf_rpc_call(sc->step == 0 ? "nvmf_subsystem_get_qpairs"
	                             : "nvmf_subsystem_get_controllers",
	               params, scrape_subsystem_done, sc);
	json_decref(params);
}

static void scrape_subsystems_done(void *ctx, json_t *response, int code, const char *message)
{
	struct metrics_scrape *sc = ctx;
	json_t *result = response_result(response, code), *s;
	size_t i;

	if (!result) {
		LOG_WARN("metrics: nvmf_get_subsystems: %s", message ? message : "no result");
		scrape_finish(sc, -EIO);
		return;
	}
	sc->subsystems = json_array();
	json_array_foreach(result, i, s)
	{
		const char *subtype = json_string_value(json_object_get(s, "subtype"));
		json_t *nqn = json_object_get(s, "nqn");

		/* The discovery subsystem has no I/O of its own to report. */
		if (!nqn || (subtype && strcmp(subtype, "Discovery") == 0))
			continue;
		json_array_append_new(
		    sc->subsystems,
		    json_pack("{s:O, s:I}", "nqn", nqn, "namespaces",
		              (json_int_t)json_array_size(json_object_get(s, "namespaces"))));
	}
	json_decref(result);
	scrape_next_subsystem(sc);
}

static void scrape_stats_done(void *ctx, json_t *response, int code, const char *message)
{
	struct metrics_scrape *sc = ctx;

	sc->stats = response_result(response, code);
	if (!sc->stats) {
		LOG_WARN("metrics: nvmf_get_stats: %s", message ? message : "no result");
		scrape_finish(sc, -EIO);
		return;
	}
	unvmf_rpc_call("nvmf_get_subsystems", NULL, scrape_subsystems_done, sc);
}

static void scrape_start(void *arg)
{
	unvmf_rpc_call("nvmf_get_stats", NULL, scrape_stats_done, arg);
}

/* ---- the HTTP thread ---- */

/* 0 with the rendered text in *text, or -errno (-ETIMEDOUT, -ESHUTDOWN). */
static int scrape_run(char **text)
{
	struct metrics_scrape *sc = calloc(1, sizeof(*sc));
	struct timespec deadline;
	int rc;

	if (!sc)
		return -ENOMEM;
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->cond, NULL);
	sc->refs = 2;
	pthread_mutex_lock(&g_metrics.lock);
	/* Reactor 0 stops the server before it stops polling: no message after that. */
	rc = g_metrics.stopping ? -ESHUTDOWN
	                        : unvmf_thread_send_msg(unvmf_reactor_thread(0), scrape_start, sc);
	if (rc == 0)
		g_metrics.waiting++;
	pthread_mutex_unlock(&g_metrics.lock);
	if (rc) {
		sc->refs = 1;
		scrape_put(sc);
		return rc;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += METRICS_SCRAPE_TIMEOUT_S;
	pthread_mutex_lock(&sc->lock);
	while (!sc->done && rc == 0) {
		/* tgt_metrics_stop wakes every scrape through g_metrics; poll it each 100 ms. */
		struct timespec step;

		clock_gettime(CLOCK_REALTIME, &step);
		step.tv_nsec += 100000000;
		if (step.tv_nsec >= 1000000000) {
			step.tv_sec++;
			step.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sc->cond, &sc->lock, &step);
		if (__atomic_load_n(&g_metrics.stopping, __ATOMIC_ACQUIRE))
			rc = -ESHUTDOWN;
		else if (step.tv_sec > deadline.tv_sec ||
		         (step.tv_sec == deadline.tv_sec && step.tv_nsec >= deadline.tv_nsec))
			rc = -ETIMEDOUT;
	}
	if (sc->done)
		rc = sc->rc;
	pthread_mutex_unlock(&sc->lock);
	if (rc == 0) {
		/* done: reactor 0 no longer touches the replies. */
		*text = tgt_metrics_render(sc->stats, sc->subsystems);
		if (!*text)
			rc = -ENOMEM;
	}
	pthread_mutex_lock(&g_metrics.lock);
	g_metrics.waiting--;
	pthread_cond_broadcast(&g_metrics.cond);
	pthread_mutex_unlock(&g_metrics.lock);
	scrape_put(sc);
	return rc;
}

static enum MHD_Result metrics_reply(struct MHD_Connection *conn, unsigned status, char *body,
                                     enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, mode);
	enum MHD_Result ret;

	if (!resp) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result metrics_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **req_cls)
{
	static const char text_type[] = "text/plain; version=0.0.4; charset=utf-8";
	char *text = NULL, msg[96];
	int rc;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return metrics_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n",
		                     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics") != 0)
		return metrics_reply(conn, MHD_HTTP_NOT_FOUND, "unvmf-tgt serves /metrics\n",
		                     MHD_RESPMEM_PERSISTENT, "text/plain");
	rc = scrape_run(&text);
	if (rc) {
		snprintf(msg, sizeof(msg), "cannot gather the statistics: %s\n", strerror(-rc));
		return metrics_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, msg, MHD_RESPMEM_MUST_COPY,
		                     "text/plain");
	}
	return metrics_reply(conn, MHD_HTTP_OK, text, MHD_RESPMEM_MUST_FREE, text_type);
}

/* libmicrohttpd's complaints go through our log (and its format), not straight to stderr. */
static void metrics_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	if (len && msg[len - 1] == '\n')
		msg[len - 1] = '\0';
	LOG_WARN("metrics: %s", msg);
}

int tgt_metrics_start(const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	char addr[INET6_ADDRSTRLEN] = "";
	int rc;

	rc = tgt_metrics_parse_addr(spec, &ss, &len);
	if (rc) {
		LOG_ERR("metrics: '%s' is not PORT, ADDR:PORT or [ADDR6]:PORT", spec);
		return rc;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	g_metrics.stopping = false;
	/* The logger first: libmicrohttpd uses its own for anything before it. */
	g_metrics.daemon = MHD_start_daemon(
	    flags,
	    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                   : ((struct sockaddr_in *)&ss)->sin_port),
	    NULL, NULL, metrics_handle, NULL, MHD_OPTION_EXTERNAL_LOGGER, metrics_mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)10, MHD_OPTION_END);
	if (!g_metrics.daemon) {
		/* libmicrohttpd logged why (metrics_mhd_log); it leaves no errno to return. */
		return -EIO;
	}
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
	LOG_NOTICE("metrics: serving http://%s%s%s:%u/metrics", ss.ss_family == AF_INET6 ? "[" : "",
	           addr, ss.ss_family == AF_INET6 ? "]" : "",
	           ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                          : ((struct sockaddr_in *)&ss)->sin_port));
	return 0;
}

void tgt_metrics_stop(void)
{
	if (!g_metrics.daemon)
		return;
	/*
	 * A scrape waits for reactor 0, which is this thread: wake it with 503
	 * before joining the HTTP thread, or each would wait for the other.
	 */
	pthread_mutex_lock(&g_metrics.lock);
	__atomic_store_n(&g_metrics.stopping, true, __ATOMIC_RELEASE);
	while (g_metrics.waiting)
		pthread_cond_wait(&g_metrics.cond, &g_metrics.lock);
	pthread_mutex_unlock(&g_metrics.lock);
	MHD_stop_daemon(g_metrics.daemon);
	g_metrics.daemon = NULL;
}
