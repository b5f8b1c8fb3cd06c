/*
 * unvmf-rpc: command-line client for unvmf-tgt's JSON-RPC socket, in the
 * manner of SPDK's rpc.py: the common methods take rpc.py's positional
 * arguments and short options; every method also takes --NAME VALUE for any
 * parameter (VALUE as JSON when it parses as JSON, else as a string; NAME may
 * be dotted, e.g. --listen_address.trtype TCP; known string parameters such as
 * trsvcid or serial_number stay strings even when they look like numbers).
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

#define DEFAULT_SOCKET "/var/tmp/unvmf.sock"
#define MAX_ARGS 20

enum arg_kind {
	ARG_STRING,
	ARG_INT,
	ARG_TRUE,    /* a flag that sets true */
	ARG_FALSE,   /* a flag that sets false */
	ARG_JSON,    /* parsed as JSON, else a string */
	ARG_SIZE_MB, /* total size in MiB; becomes num_blocks with block_size */
};

struct cli_arg {
	const char *flag;     /* "-t"; NULL: positional */
	const char *longflag; /* "--trtype"; may be NULL */
	const char *path;     /* parameter, dotted for nested objects */
	enum arg_kind kind;
	bool required;
};

struct cli_method {
	const char *name;
	const char *usage;
	struct cli_arg args[MAX_ARGS];
};

#define POS(path, kind)                                                                            \
	{                                                                                          \
		NULL, NULL, path, kind, true                                                       \
	}
#define OPTPOS(path, kind)                                                                         \
	{                                                                                          \
		NULL, NULL, path, kind, false                                                      \
	}
#define OPT(f, l, path, kind)                                                                      \
	{                                                                                          \
		f, l, path, kind, false                                                            \
	}

#define TRID_OPTS(prefix)                                                                          \
	OPT("-t", "--trtype", prefix "trtype", ARG_STRING),                                        \
	    OPT("-a", "--traddr", prefix "traddr", ARG_STRING),                                    \
	    OPT("-f", "--adrfam", prefix "adrfam", ARG_STRING),                                    \
	    OPT("-s", "--trsvcid", prefix "trsvcid", ARG_STRING)

static const struct cli_method g_methods[] = {
    {"rpc_get_methods", "", {{0}}},
    {"unvmf_get_version", "", {{0}}},
    {"spdk_get_version", "", {{0}}},
    {"framework_wait_init", "", {{0}}},
    {"save_config", "  (prints the configuration; redirect it to a file for unvmf-tgt -c)", {{0}}},
    {"bdev_malloc_create",
     "[-b NAME] [-u UUID] TOTAL_SIZE_MB BLOCK_SIZE",
     {OPT("-b", "--name", "name", ARG_STRING), OPT("-u", "--uuid", "uuid", ARG_STRING),
      POS("__size_mb", ARG_SIZE_MB), POS("block_size", ARG_INT)}},
    {"bdev_null_create",
     "NAME TOTAL_SIZE_MB BLOCK_SIZE [-u UUID]",
     {POS("name", ARG_STRING), POS("__size_mb", ARG_SIZE_MB), POS("block_size", ARG_INT),
      OPT("-u", "--uuid", "uuid", ARG_STRING)}},
    {"bdev_uring_create",
     "FILENAME NAME [BLOCK_SIZE] [-u UUID]",
     {POS("filename", ARG_STRING), POS("name", ARG_STRING), OPTPOS("block_size", ARG_INT),
      OPT("-u", "--uuid", "uuid", ARG_STRING)}},
    {"bdev_aio_create",
     "FILENAME NAME [BLOCK_SIZE] [-u UUID]",
     {POS("filename", ARG_STRING), POS("name", ARG_STRING), OPTPOS("block_size", ARG_INT),
      OPT("-u", "--uuid", "uuid", ARG_STRING)}},
    {"bdev_malloc_delete", "NAME", {POS("name", ARG_STRING)}},
    {"bdev_null_delete", "NAME", {POS("name", ARG_STRING)}},
    {"bdev_uring_delete", "NAME", {POS("name", ARG_STRING)}},
    {"bdev_aio_delete", "NAME", {POS("name", ARG_STRING)}},
    {"bdev_get_bdevs", "[-b NAME]", {OPT("-b", "--name", "name", ARG_STRING)}},
    {"nvmf_create_transport",
     "-t TRTYPE [-q MAX_QUEUE_DEPTH] [-m MAX_IO_QPAIRS_PER_CTRLR] [-c IN_CAPSULE_DATA_SIZE]\n"
     "      [-i MAX_IO_SIZE] [-u IO_UNIT_SIZE] [-a MAX_AQ_DEPTH] [-n NUM_SHARED_BUFFERS]\n"
     "      [-b BUF_CACHE_SIZE] [-o (TCP: no C2H success)] [-s MAX_SRQ_DEPTH] [-r (no SRQ)]\n"
     "      [--ack-timeout N] [--retry-count N] [--rnr-retry-count N] ...",
     {OPT("-t", "--trtype", "trtype", ARG_STRING),
      OPT("-q", "--max-queue-depth", "max_queue_depth", ARG_INT),
      OPT("-m", "--max-io-qpairs-per-ctrlr", "max_io_qpairs_per_ctrlr", ARG_INT),
      OPT("-c", "--in-capsule-data-size", "in_capsule_data_size", ARG_INT),
      OPT("-i", "--max-io-size", "max_io_size", ARG_INT),
      OPT("-u", "--io-unit-size", "io_unit_size", ARG_INT),
      OPT("-a", "--max-aq-depth", "max_aq_depth", ARG_INT),
      OPT("-n", "--num-shared-buffers", "num_shared_buffers", ARG_INT),
      OPT("-b", "--buf-cache-size", "buf_cache_size", ARG_INT),
      OPT("-o", "--c2h-success-off", "c2h_success", ARG_FALSE),
      OPT("-s", "--max-srq-depth", "max_srq_depth", ARG_INT),
      OPT("-r", "--no-srq", "no_srq", ARG_TRUE)}},
    {"nvmf_get_transports", "[--trtype TRTYPE]", {{0}}},
    {"nvmf_create_subsystem",
     "NQN [-s SERIAL] [-d MODEL] [-a (allow any host)] [-m MAX_NAMESPACES]\n"
     "      [-i MIN_CNTLID] [-I MAX_CNTLID] [-r (ANA reporting)]",
     {POS("nqn", ARG_STRING), OPT("-s", "--serial-number", "serial_number", ARG_STRING),
      OPT("-d", "--model-number", "model_number", ARG_STRING),
      OPT("-a", "--allow-any-host", "allow_any_host", ARG_TRUE),
      OPT("-m", "--max-namespaces", "max_namespaces", ARG_INT),
      OPT("-i", "--min-cntlid", "min_cntlid", ARG_INT),
      OPT("-I", "--max-cntlid", "max_cntlid", ARG_INT),
      OPT("-r", "--ana-reporting", "ana_reporting", ARG_TRUE)}},
    {"nvmf_delete_subsystem", "NQN", {POS("nqn", ARG_STRING)}},
    {"nvmf_get_subsystems", "[NQN]", {OPTPOS("nqn", ARG_STRING)}},
    {"nvmf_subsystem_add_listener",
     "NQN -t TRTYPE -a TRADDR -s TRSVCID [-f ADRFAM]",
     {POS("nqn", ARG_STRING), TRID_OPTS("listen_address.")}},
    {"nvmf_subsystem_remove_listener",
     "NQN -t TRTYPE -a TRADDR -s TRSVCID [-f ADRFAM]",
     {POS("nqn", ARG_STRING), TRID_OPTS("listen_address.")}},
    {"nvmf_subsystem_add_ns",
     "NQN BDEV_NAME [-n NSID] [-u UUID] [-g NGUID] [-e EUI64]",
     {POS("nqn", ARG_STRING), POS("namespace.bdev_name", ARG_STRING),
      OPT("-n", "--nsid", "namespace.nsid", ARG_INT),
      OPT("-u", "--uuid", "namespace.uuid", ARG_STRING),
      OPT("-g", "--nguid", "namespace.nguid", ARG_STRING),
      OPT("-e", "--eui64", "namespace.eui64", ARG_STRING)}},
    {"nvmf_subsystem_remove_ns", "NQN NSID", {POS("nqn", ARG_STRING), POS("nsid", ARG_INT)}},
    {"nvmf_subsystem_add_host", "NQN HOST_NQN", {POS("nqn", ARG_STRING), POS("host", ARG_STRING)}},
    {"nvmf_subsystem_remove_host",
     "NQN HOST_NQN",
     {POS("nqn", ARG_STRING), POS("host", ARG_STRING)}},
    {"nvmf_subsystem_allow_any_host",
     "NQN -e|-d",
     {POS("nqn", ARG_STRING), OPT("-e", "--enable", "allow_any_host", ARG_TRUE),
      OPT("-d", "--disable", "allow_any_host", ARG_FALSE)}},
    {"nvmf_subsystem_get_controllers", "NQN", {POS("nqn", ARG_STRING)}},
    {"nvmf_subsystem_get_qpairs", "NQN", {POS("nqn", ARG_STRING)}},
    {"nvmf_get_stats", "", {{0}}},
    {"nvmf_set_max_subsystems",
     "-n MAX_SUBSYSTEMS",
     {OPT("-n", "--max-subsystems", "max_subsystems", ARG_INT)}},
    {"nvmf_discovery_add_referral",
     "-t TRTYPE -a TRADDR -s TRSVCID [-f ADRFAM] [-n SUBNQN] [--secure-channel]",
     {TRID_OPTS("address."), OPT("-n", "--subnqn", "subnqn", ARG_STRING),
      OPT(NULL, "--secure-channel", "secure_channel", ARG_TRUE)}},
    {"nvmf_discovery_remove_referral",
     "-t TRTYPE -a TRADDR -s TRSVCID [-f ADRFAM] [-n SUBNQN]",
     {TRID_OPTS("address."), OPT("-n", "--subnqn", "subnqn", ARG_STRING)}},
    {"nvmf_discovery_get_referrals", "", {{0}}},
    {"nvmf_tcp_inject_fault", "--fault KIND [--qpair-id ID] [--cntlid N] [--qid N]", {{0}}},
    {"nvmf_rdma_inject_fault", "--fault KIND [--qpair-id ID] [--cntlid N] [--qid N]", {{0}}},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: unvmf-rpc [-s SOCKET] [-t TIMEOUT_S] METHOD [ARGS] [--PARAM VALUE ...]\n"
	    "       unvmf-rpc [-s SOCKET] raw '{\"method\": ..., \"params\": {...}}'\n"
	    "       unvmf-rpc METHOD -h      usage of one method\n"
	    "  -s SOCKET   unvmf-tgt's RPC socket (default %s)\n"
	    "  -t TIMEOUT  seconds to wait for the reply (default 60)\n"
	    "--PARAM VALUE sets any parameter (VALUE is JSON if it parses, else a string;\n"
	    "PARAM may be dotted for nested objects, dashes read as underscores).\n"
	    "Exit status: 0 success, 1 the server returned an error, 2 usage or connection error.\n"
	    "\nmethods:\n",
	    DEFAULT_SOCKET);
	for (size_t i = 0; i < sizeof(g_methods) / sizeof(g_methods[0]); i++)
		fprintf(f, "  %s %s\n", g_methods[i].name, g_methods[i].usage);
	fprintf(f, "\n'unvmf-rpc rpc_get_methods' lists what the running target supports.\n");
}

static const struct cli_method *method_find(const char *name)
{
	for (size_t i = 0; i < sizeof(g_methods) / sizeof(g_methods[0]); i++) {
		if (strcmp(g_methods[i].name, name) == 0)
			return &g_methods[i];
	}
	return NULL;
}

/* Sets params[path] (dotted) to value, creating the objects on the way; steals value. */
static int params_set(json_t *params, const char *path, json_t *value)
{
	char buf[256];
	char *dot, *key = buf;
	json_t *obj = params;

	if (!value || strlen(path) >= sizeof(buf)) {
		json_decref(value);
		return -EINVAL;
	}
	strcpy(buf, path);
	while ((dot = strchr(key, '.')) != NULL) {
		json_t *child;

		*dot = '\0';
		child = json_object_get(obj, key);
		if (!json_is_object(child)) {
			child = json_object();
			json_object_set_new(obj, key, child);
		}
		obj = child;
		key = dot + 1;
	}
	return json_object_set_new(obj, key, value) ? -ENOMEM : 0;
}

/* True if params[path] (dotted) is set, e.g. by --NAME instead of the positional argument. */
static bool params_has(json_t *params, const char *path)
{
	char buf[256];
	char *dot, *key = buf;

	if (strlen(path) >= sizeof(buf))
		return false;
	strcpy(buf, path);
	while (params && (dot = strchr(key, '.')) != NULL) {
		*dot = '\0';
		params = json_object_get(params, key);
		key = dot + 1;
	}
	return json_is_object(params) && json_object_get(params, key) != NULL;
}

static json_t *value_parse(const char *s, enum arg_kind kind, const char *what)
{
	char *end;
	long long v;

	switch (kind) {
	case ARG_STRING:
		return json_string(s);
	case ARG_INT:
	case ARG_SIZE_MB:
		errno = 0;
		v = strtoll(s, &end, 0);
		if (errno || *end || end == s) {
			fprintf(stderr, "unvmf-rpc: %s: '%s' is not an integer\n", what, s);
			return NULL;
		}
		return json_integer(v);
	case ARG_JSON: {
		json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

		return j ? j : json_string(s);
	}
	default:
		return NULL;
	}
}

/*
 * Parameters that are strings whatever they look like: a port, a serial
 * number or a name may be all digits ("--listen_address.trsvcid 4420",
 * "--serial_number 123"), and the server refuses a number there. Matched on
 * the last component of a dotted name.
 */
static bool param_is_string(const char *name)
{
	static const char *const strings[] = {
	    "trsvcid", "serial_number", "model_number", "name",      "nqn",      "host",
	    "uuid",    "nguid",         "eui64",        "bdev_name", "traddr",   "adrfam",
	    "trtype",  "hostnqn",       "subnqn",       "filename",  "tgt_name", "provider",
	};
	const char *last = strrchr(name, '.');

	last = last ? last + 1 : name;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		if (strcmp(strings[i], last) == 0)
			return true;
	}
	return false;
}

/* A string parameter's value: taken as is, or unquoted when given as a JSON string. */
static json_t *string_value(const char *s)
{
	if (s[0] == '"') {
		json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

		if (json_is_string(j))
			return j;
		json_decref(j);
	}
	return json_string(s);
}

/* Builds params from the method's arguments; returns NULL (after a message) on a usage error. */
static json_t *params_build(const struct cli_method *m, int argc, char **argv)
{
	json_t *params = json_object();
	const struct cli_arg *pos[MAX_ARGS];
	size_t npos = 0, next_pos = 0;

	if (m) {
		for (size_t i = 0; i < MAX_ARGS && m->args[i].path; i++) {
			if (!m->args[i].flag && !m->args[i].longflag)
				pos[npos++] = &m->args[i];
		}
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_arg *match = NULL;

		for (size_t k = 0; m && k < MAX_ARGS && m->args[k].path; k++) {
			const struct cli_arg *c = &m->args[k];

			if ((c->flag && strcmp(c->flag, a) == 0) ||
			    (c->longflag && strcmp(c->longflag, a) == 0))
				match = c;
		}
		if (match) {
			json_t *v;

			if (match->kind == ARG_TRUE || match->kind == ARG_FALSE) {
				v = json_boolean(match->kind == ARG_TRUE);
			} else {
				if (i + 1 >= argc) {
					fprintf(stderr, "unvmf-rpc: %s needs a value\n", a);
					goto err;
				}
				v = value_parse(argv[++i], match->kind, a);
				if (!v)
					goto err;
			}
			params_set(params, match->path, v);
		} else if (strncmp(a, "--", 2) == 0 && a[2]) {
			char name[256];

			if (i + 1 >= argc) {
				fprintf(stderr, "unvmf-rpc: %s needs a value\n", a);
				goto err;
			}
			snprintf(name, sizeof(name), "%s", a + 2);
			for (char *p = name; *p; p++) {
				if (*p == '-')
					*p = '_';
			}
			i++;
			params_set(params, name,
			           param_is_string(name) ? string_value(argv[i])
			                                 : value_parse(argv[i], ARG_JSON, a));
		} else if (a[0] == '-' && a[1] && next_pos == npos) {
			fprintf(stderr, "unvmf-rpc: unknown option %s\n", a);
			goto err;
		} else if (next_pos < npos) {
			json_t *v = value_parse(a, pos[next_pos]->kind, pos[next_pos]->path);

			if (!v)
				goto err;
			params_set(params, pos[next_pos]->path, v);
			next_pos++;
		} else {
			fprintf(stderr, "unvmf-rpc: unexpected argument '%s'\n", a);
			goto err;
		}
	}
	for (size_t k = next_pos; k < npos; k++) {
		/* --num_blocks stands in for rpc.py's size in MiB. */
		bool given =
		    params_has(params, pos[k]->path) ||
		    (strcmp(pos[k]->path, "__size_mb") == 0 && params_has(params, "num_blocks"));

		if (pos[k]->required && !given) {
			fprintf(stderr, "unvmf-rpc: missing argument %s\nusage: unvmf-rpc %s %s\n",
			        pos[k]->path[0] == '_' ? "TOTAL_SIZE_MB" : pos[k]->path, m->name,
			        m->usage);
			goto err;
		}
	}
	/* rpc.py style sizes: MiB and block size give num_blocks. */
	json_t *size = json_object_get(params, "__size_mb");

	if (size) {
		json_int_t bs = json_integer_value(json_object_get(params, "block_size"));
		json_int_t mb = json_integer_value(size);

		if (bs <= 0 || mb <= 0) {
			fprintf(stderr, "unvmf-rpc: size and block size must be positive\n");
			goto err;
		}
		json_object_set_new(params, "num_blocks", json_integer(mb * 1024 * 1024 / bs));
		json_object_del(params, "__size_mb");
	}
	return params;
err:
	json_decref(params);
	return NULL;
}

static int sock_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "unvmf-rpc: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "unvmf-rpc: cannot connect to %s: %s (is unvmf-tgt running?)\n",
		        path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
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

/* Sends request and returns the first JSON value the server answers with, or NULL. */
static json_t *rpc_roundtrip(const char *sock, json_t *request, int timeout_s)
{
	char *text = json_dumps(request, JSON_COMPACT);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	json_t *resp = NULL;
	time_t deadline = time(NULL) + timeout_s;
	int fd = -1;

	if (!text || !buf)
		goto out;
	fd = sock_connect(sock);
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
		int left = (int)(deadline - time(NULL));

		if (left <= 0 || poll(&pfd, 1, left * 1000) <= 0) {
			fprintf(stderr, "unvmf-rpc: no reply within %d s\n", timeout_s);
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

static int print_response(json_t *resp, bool whole)
{
	json_t *err = json_object_get(resp, "error");

	if (err) {
		fprintf(stderr, "error: %s (code %lld)\n",
		        json_string_value(json_object_get(err, "message")) ?: "(no message)",
		        (long long)json_integer_value(json_object_get(err, "code")));
		if (whole) {
			char *s = json_dumps(resp, JSON_INDENT(2));

			if (s)
				puts(s);
			free(s);
		}
		return 1;
	}
	char *s = json_dumps(whole ? resp : json_object_get(resp, "result"),
	                     JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s)
		puts(s);
	free(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = getenv("UNVMF_RPC_SOCKET") ?: DEFAULT_SOCKET;
	const struct cli_method *m;
	json_t *request, *params, *resp;
	int timeout_s = 60;
	const char *method;
	int c, rc;

	while ((c = getopt(argc, argv, "+s:t:h")) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout_s = atoi(optarg);
			if (timeout_s <= 0) {
				fprintf(stderr, "unvmf-rpc: bad timeout '%s'\n", optarg);
				return 2;
			}
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
		json_error_t jerr;

		if (optind + 1 != argc) {
			fprintf(stderr, "usage: unvmf-rpc raw '{json}'\n");
			return 2;
		}
		request = json_loads(argv[optind], 0, &jerr);
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
		resp = rpc_roundtrip(sock, request, timeout_s);
		json_decref(request);
		if (!resp)
			return 2;
		rc = print_response(resp, true);
		json_decref(resp);
		return rc;
	}
	m = method_find(method);
	if (optind < argc &&
	    (strcmp(argv[optind], "-h") == 0 || strcmp(argv[optind], "--help") == 0)) {
		printf("usage: unvmf-rpc %s %s\n", method, m ? m->usage : "[--PARAM VALUE ...]");
		return 0;
	}
	params = params_build(m, argc - optind, argv + optind);
	if (!params)
		return 2;
	request = json_pack("{s:s, s:i, s:s}", "jsonrpc", "2.0", "id", 1, "method", method);
	if (json_object_size(params))
		json_object_set(request, "params", params);
	json_decref(params);
	resp = rpc_roundtrip(sock, request, timeout_s);
	json_decref(request);
	if (!resp)
		return 2;
	rc = print_response(resp, false);
	json_decref(resp);
	return rc;
}
