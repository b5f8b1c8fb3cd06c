#pragma once
/*
 * The Prometheus endpoint of unvmf-tgt (tgt_metrics.c, built with
 * UNVMF_METRICS): GET /metrics answers in the text exposition format, built
 * from the replies of nvmf_get_stats, nvmf_get_subsystems and the
 * per-subsystem qpair and controller methods (tgt_metrics_text.c renders them).
 */
#include <jansson.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * "PORT" (loopback), "ADDR:PORT" or "[ADDR6]:PORT" into a socket address;
 * -EINVAL when it is none of them.
 */
int tgt_metrics_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len);
/* Reactor 0: starts the HTTP thread on spec; 0 or -errno. */
int tgt_metrics_start(const char *spec);
/* Reactor 0: answers every waiting scrape with 503, then joins the HTTP thread. */
void tgt_metrics_stop(void);

/*
 * The exposition text for the replies (borrowed): stats is nvmf_get_stats's
 * result, subsystems an array of objects {"nqn", "qpairs": [...],
 * "controllers": [...], "namespaces": n}. Returns malloc'd text or NULL.
 */
char *tgt_metrics_render(const json_t *stats, const json_t *subsystems);
