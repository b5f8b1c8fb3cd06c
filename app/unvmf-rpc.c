/*
 * unvmf-rpc: command-line client for unvmf-tgt's JSON-RPC socket that takes
 * SPDK rpc.py's command lines: the same global options (-s, -t, -r, -v,
 * --dry-run), for every method unvmf has the same option names (short and
 * long, v25.09 and master spellings), positional arguments and defaults
 * (unvmf-rpc-methods.c), rpc.py's client-side save_config and load_config,
 * and results printed as rpc.py prints them. Any method also takes
 * --NAME VALUE for any parameter (unvmf-rpc-args.c).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "unvmf-rpc.h"

#define DEFAULT_SOCKET "/var/tmp/unvmf.sock"

struct cli_conn {
	const char *sock;
	double timeout_s;
	int conn_retries;
	bool dry_run;
	int next_id;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: unvmf-rpc [-s SOCKET] [-t TIMEOUT_S] [-r RETRIES] [--dry-run] METHOD [ARGS]\n"
	    "       unvmf-rpc [-s SOCKET] raw '{\"method\": ..., \"params\": {...}}'\n"
	    "       unvmf-rpc METHOD -h      usage of one method\n"
	    "  -s SOCKET   unvmf-tgt's RPC socket (default $UNVMF_RPC_SOCKET or %s)\n"
	    "  -t TIMEOUT  seconds to wait for the reply (default 60)\n"
	    "  -r RETRIES  retry connecting RETRIES times, 0.2 s apart (default 0)\n"
	    "  -v, --verbose LEVEL  accepted for rpc.py's command lines; no effect\n"
	    "  --dry-run   print the request instead of sending it\n"
	    "METHOD takes rpc.py's arguments (SPDK v25.09 and master spellings); any\n"
	    "--PARAM VALUE that is not one of its options sets that parameter (VALUE is JSON\n"
	    "if it parses, else a string; PARAM may be dotted for nested objects).\n"
	    "Exit status: 0 success, 1 the server returned an error, 2 usage or connection error.\n"
	    "\nmethods:\n",
	    DEFAULT_SOCKET);
	for (size_t i = 0; i < g_cli_methods_count; i++) {
		fprintf(f, "  ");
		cli_method_usage(f, &g_cli_methods[i]);
	}
	fprintf(f, "\n'unvmf-rpc rpc_get_methods' lists what the running target supports.\n");
}

static int sock_connect(const struct cli_conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = -1;

	if (strlen(c->sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "unvmf-rpc: socket path too long: %s\n", c->sock);
		return -1;
	}
	strcpy(sa.sun_path, c->sock);
	for (int attempt = 0; attempt <= c->conn_retries; attempt++) {
		if (attempt)
			usleep(200000);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	fprintf(stderr, "unvmf-rpc: cannot connect to %s: %s (is unvmf-tgt running?)\n", c->sock,
	        strerror(errno));
	return -1;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends request and returns the first JSON value the server answers with, or NULL. */
static json_t *rpc_roundtrip(const struct cli_conn *c, json_t *request)
{
	char *text = json_dumps(request, JSON_COMPACT);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	json_t *resp = NULL;
	long long deadline = now_ms() + (long long)(c->timeout_s * 1000);
	int fd = -1;

	if (!text || !buf)
		goto out;
	fd = sock_connect(c);
	if (fd < 0)
		goto out;
	if (send_all(fd, text, strlen(text))) {
		fprintf(stderr, "unvmf-rpc: send: %s\n", strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		json_error_t jerr;
		ssize_t n;
		long long left = deadline - now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			fprintf(stderr, "unvmf-rpc: no reply within %g s\n", c->timeout_s);
			goto out;
		}
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				goto out;
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0) {
			fprintf(stderr, "unvmf-rpc: the server closed the connection\n");
			goto out;
		}
		len += (size_t)n;
		resp = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
		if (resp)
			break;
		if (json_error_code(&jerr) != json_error_premature_end_of_input) {
			fprintf(stderr, "unvmf-rpc: bad reply: %s\n", jerr.text);
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(buf);
	return resp;
}

static void print_error(json_t *err)
{
	fprintf(stderr, "error: %s (code %lld)\n",
	        json_string_value(json_object_get(err, "message")) ?: "(no message)",
	        (long long)json_integer_value(json_object_get(err, "code")));
}

/*
 * One call: 0 with *result (a new reference), 1 after printing the server's
 * error, 2 after a connection error. With --dry-run prints the request (as
 * rpc.py does) and gives a null result.
 */
static int cli_call(struct cli_conn *c, const char *method, json_t *params, json_t **result)
{
	json_t *request, *resp, *err;
	int rc = 0;

	*result = NULL;
	request =
	    json_pack("{s:s, s:i, s:s}", "jsonrpc", "2.0", "id", ++c->next_id, "method", method);
	if (params && json_object_size(params))
		json_object_set(request, "params", params);
	if (c->dry_run) {
		json_t *shown = json_pack("{s:s, s:O?}", "method", method, "params", params);
		char *s = json_dumps(shown, JSON_INDENT(2));

		printf("Request:\n%s\n", s ? s : "");
		free(s);
		json_decref(shown);
		json_decref(request);
		*result = json_null();
		return 0;
	}
	resp = rpc_roundtrip(c, request);
	json_decref(request);
	if (!resp)
		return 2;
	err = json_object_get(resp, "error");
	if (err) {
		print_error(err);
		rc = 1;
	} else {
		*result = json_incref(json_object_get(resp, "result"));
		if (!*result)
			*result = json_null();
	}
	json_decref(resp);
	return rc;
}

static void print_json(json_t *v, enum cli_print how, int indent)
{
	char *s;

	if (how == CLI_PRINT_NONE || json_is_null(v))
		return;
	if (how == CLI_PRINT_JSON && json_is_string(v)) {
		puts(json_string_value(v));
		return;
	}
	s = json_dumps(v, (indent < 0 ? JSON_COMPACT : JSON_INDENT(indent)) | JSON_ENCODE_ANY);
	if (s)
		puts(s);
	free(s);
}

/* rpc.py's save_config: framework_get_subsystems, then each one's framework_get_config. */
static int cli_save_config(struct cli_conn *c, json_t *params)
{
	json_t *subs, *want = json_object_get(params, "subsystems"), *out, *s;
	json_t *batches = json_object_get(params, "with_batches");
	json_int_t indent = json_object_get(params, "indent")
	                        ? json_integer_value(json_object_get(params, "indent"))
	                        : 2;
	size_t i;
	int rc = cli_call(c, "framework_get_subsystems", NULL, &subs);

	if (rc || c->dry_run) {
		json_decref(subs);
		return rc;
	}
	out = json_pack("{s:[]}", "subsystems");
	json_array_foreach(subs, i, s)
	{
		const char *name = json_string_value(json_object_get(s, "subsystem"));
		json_t *p, *cfg, *w;
		size_t k;
		bool wanted = !want;

		json_array_foreach(want, k, w) wanted |=
		    json_equal(w, json_object_get(s, "subsystem"));
		if (!name || !wanted)
			continue;
		p = json_pack("{s:s}", "name", name);
		if (batches)
			json_object_set(p, "with_batches", batches);
		rc = cli_call(c, "framework_get_config", p, &cfg);
		json_decref(p);
		if (rc)
			break;
		json_array_append_new(json_object_get(out, "subsystems"),
		                      json_pack("{s:s, s:o}", "subsystem", name, "config", cfg));
	}
	if (!rc)
		print_json(out, CLI_PRINT_DICT, (int)indent);
	json_decref(out);
	json_decref(subs);
	return rc;
}

/*
 * rpc.py's load_config: every method of the file (-j FILE or stdin) in file
 * order, subsystems without config skipped; stops at the first error.
 */
static int cli_load_config(struct cli_conn *c, json_t *params)
{
	const char *path = json_string_value(json_object_get(params, "json_conf"));
	json_error_t jerr;
	json_t *root = path ? json_load_file(path, 0, &jerr) : json_loadf(stdin, 0, &jerr);
	json_t *sub, *e;
	size_t i, k;
	int rc = 0;

	if (!json_is_array(json_object_get(root, "subsystems"))) {
		fprintf(stderr, "unvmf-rpc: load_config: %s: %s\n", path ? path : "stdin",
		        root ? "expected {\"subsystems\": [...]}" : jerr.text);
		json_decref(root);
		return 2;
	}
	json_array_foreach(json_object_get(root, "subsystems"), i, sub)
	{
		json_array_foreach(json_object_get(sub, "config"), k, e)
		{
			const char *method = json_string_value(json_object_get(e, "method"));
			json_t *result;

			if (!method) {
				fprintf(stderr, "unvmf-rpc: load_config: an entry has no method\n");
				rc = 2;
				goto out;
			}
			rc = cli_call(c, method, json_object_get(e, "params"), &result);
			json_decref(result);
			if (rc) {
				fprintf(stderr, "unvmf-rpc: load_config: stopped at %s\n", method);
				goto out;
			}
		}
	}
out:
	json_decref(root);
	return rc;
}

static int cli_raw(struct cli_conn *c, const char *text)
{
	json_error_t jerr;
	json_t *request = json_loads(text, 0, &jerr), *resp;
	char *s;
	int rc;

	if (!json_is_object(request)) {
		fprintf(stderr, "unvmf-rpc: raw: not a JSON object: %s\n",
		        request ? "" : jerr.text);
		json_decref(request);
		return 2;
	}
	if (!json_object_get(request, "jsonrpc"))
		json_object_set_new(request, "jsonrpc", json_string("2.0"));
	if (!json_object_get(request, "id"))
		json_object_set_new(request, "id", json_integer(1));
	resp = rpc_roundtrip(c, request);
	json_decref(request);
	if (!resp)
		return 2;
	rc = json_object_get(resp, "error") ? 1 : 0;
	if (rc)
		print_error(json_object_get(resp, "error"));
	s = json_dumps(resp, JSON_INDENT(2));
	if (s)
		puts(s);
	free(s);
	json_decref(resp);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"dry-run", no_argument, NULL, 'D'},
	    {"verbose", required_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct cli_conn c = {.sock = getenv("UNVMF_RPC_SOCKET") ?: DEFAULT_SOCKET, .timeout_s = 60};
	const struct cli_method *m;
	const char *method;
	json_t *params, *result;
	char *end;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+s:t:r:p:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.sock = optarg;
			break;
		case 't':
			c.timeout_s = strtod(optarg, &end);
			if (*end || c.timeout_s <= 0) {
				fprintf(stderr, "unvmf-rpc: bad timeout '%s'\n", optarg);
				return 2;
			}
			break;
		case 'r':
			c.conn_retries = atoi(optarg);
			break;
		case 'p':
			fprintf(stderr,
			        "unvmf-rpc: -p: unvmf-tgt serves RPC on a UNIX socket only\n");
			return 2;
		case 'v':
		case 'V':
			break;
		case 'D':
			c.dry_run = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	method = argv[optind++];
	if (strcmp(method, "raw") == 0) {
		if (optind + 1 != argc) {
			fprintf(stderr, "usage: unvmf-rpc raw '{json}'\n");
			return 2;
		}
		return cli_raw(&c, argv[optind]);
	}
	m = cli_method_find(method);
	if (optind < argc &&
	    (strcmp(argv[optind], "-h") == 0 || strcmp(argv[optind], "--help") == 0)) {
		printf("usage: unvmf-rpc ");
		if (m)
			cli_method_usage(stdout, m);
		else
			printf("%s [--PARAM VALUE ...]\n", method);
		return 0;
	}
	params = cli_params_build(m, method, argc - optind, argv + optind);
	if (!params)
		return 2;
	if (m && strcmp(m->name, "save_config") == 0)
		rc = cli_save_config(&c, params);
	else if (m && strcmp(m->name, "load_config") == 0)
		rc = cli_load_config(&c, params);
	else {
		rc = cli_call(&c, method, params, &result);
		if (rc == 0 && !c.dry_run)
			print_json(result, m ? m->print : CLI_PRINT_DICT, 2);
		json_decref(result);
	}
	json_decref(params);
	return rc;
}
