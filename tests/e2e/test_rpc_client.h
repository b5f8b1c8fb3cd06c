#pragma once
/*
 * A minimal JSON-RPC client over the target's UNIX socket for the RPC
 * end-to-end tests: raw bytes out, one JSON value at a time back (buffered, so
 * pipelined replies are read in order), bounded waits.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct rpc_conn {
	int fd;
	char *buf;
	size_t len, cap;
	int next_id;
};

/*
 * The target creates its socket file at bind() and accepts from listen() on:
 * a connect in between is refused, so a refusal is retried for a while.
 */
static inline int rpc_conn_open(struct rpc_conn *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int rc = 0;

	memset(c, 0, sizeof(*c));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int tries = 0; tries < 250; tries++) {
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return -errno;
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			rc = 0;
			break;
		}
		rc = -errno;
		close(c->fd);
		c->fd = -1;
		if (rc != -ECONNREFUSED)
			return rc;
		usleep(20000);
	}
	if (rc)
		return rc;
	c->cap = 1 << 16;
	c->buf = malloc(c->cap);
	c->next_id = 1;
	return 0;
}

static inline void rpc_conn_close(struct rpc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

/* Sends all of buf; returns 0 or -errno (EPIPE when the server closed on us). */
static inline int rpc_send_raw(struct rpc_conn *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int rpc_send_str(struct rpc_conn *c, const char *s)
{
	return rpc_send_raw(c, s, strlen(s));
}

/*
 * Next JSON value from the server, or NULL on timeout / EOF (*eof set when the
 * server closed the connection).
 */
static inline json_t *rpc_recv(struct rpc_conn *c, int timeout_ms, bool *eof)
{
	struct timespec t0, t;

	if (eof)
		*eof = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		json_error_t jerr;
		size_t skip = 0;
		json_t *v;

		while (skip < c->len && (c->buf[skip] == '\n' || c->buf[skip] == ' '))
			skip++;
		if (skip < c->len) {
			v = json_loadb(c->buf + skip, c->len - skip, JSON_DISABLE_EOF_CHECK, &jerr);
			if (v) {
				size_t used = skip + (size_t)jerr.position;

				memmove(c->buf, c->buf + used, c->len - used);
				c->len -= used;
				return v;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = timeout_ms -
		            ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return NULL;
		if (c->len + 4096 > c->cap) {
			c->cap *= 2;
			c->buf = realloc(c->buf, c->cap);
		}
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);

		if (n <= 0) {
			if (eof)
				*eof = true;
			return NULL;
		}
		c->len += (size_t)n;
	}
}

/* True if the server closed the connection within timeout_ms (after any pending replies). */
static inline bool rpc_wait_closed(struct rpc_conn *c, int timeout_ms)
{
	bool eof = false;
	json_t *v;

	while ((v = rpc_recv(c, timeout_ms, &eof)) != NULL)
		json_decref(v);
	return eof;
}

/* Calls method with params (stolen; may be NULL); returns the whole response or NULL. */
static inline json_t *rpc_call(struct rpc_conn *c, const char *method, json_t *params)
{
	json_t *req =
	    json_pack("{s:s, s:i, s:s}", "jsonrpc", "2.0", "id", c->next_id++, "method", method);
	char *text;
	json_t *resp;

	if (params)
		json_object_set_new(req, "params", params);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (rpc_send_str(c, text)) {
		free(text);
		return NULL;
	}
	free(text);
	resp = rpc_recv(c, 20000, NULL);
	return resp;
}

/* The error code of a response (0 for a result). */
static inline int rpc_resp_code(json_t *resp)
{
	json_t *err = json_object_get(resp, "error");

	return err ? (int)json_integer_value(json_object_get(err, "code")) : 0;
}

static inline const char *rpc_resp_message(json_t *resp)
{
	return json_string_value(json_object_get(json_object_get(resp, "error"), "message"));
}

/*
 * nvmf_get_stats summed over poll groups: path "a.b" names a counter of the
 * group ("limits.connect_timeouts"), "tcp.a.b" one of the group's TCP
 * transport part ("tcp.conns_ended.icreq_timeout"). An absent counter is 0
 * (some maps list only what happened). 0, or -1 when the call or a value failed.
 */
static inline int rpc_stat_sum(struct rpc_conn *c, const char *path, long long *sum)
{
	json_t *resp = rpc_call(c, "nvmf_get_stats", NULL), *g;
	size_t i;
	int rc = resp && rpc_resp_code(resp) == 0 ? 0 : -1;

	*sum = 0;
	json_array_foreach(json_object_get(json_object_get(resp, "result"), "poll_groups"), i, g)
	{
		char buf[96], *part, *save = NULL;
		json_t *v;

		snprintf(buf, sizeof(buf), "%s", path);
		part = strtok_r(buf, ".", &save);
		if (part && strcmp(part, "tcp") == 0) {
			v = json_array_get(json_object_get(g, "transports"), 0);
			part = strtok_r(NULL, ".", &save);
		} else {
			v = g;
		}
		for (; part; part = strtok_r(NULL, ".", &save))
			v = json_object_get(v, part);
		if (v && !json_is_integer(v))
			rc = -1;
		*sum += v ? json_integer_value(v) : 0;
	}
	json_decref(resp);
	return rc;
}

/* json_pack shortcut for params; aborts the test on a bad format. */
#define RPC_P(...) json_pack(__VA_ARGS__)
