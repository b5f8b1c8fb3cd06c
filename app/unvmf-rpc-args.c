/*
 * unvmf-rpc's command-line parser, with rpc.py's (argparse's) rules so that
 * rpc.py's command lines mean the same here: options and positional
 * arguments in any order, "--opt=value", "-xVALUE", a unique prefix of a long
 * option, '_' and '-' alike in long options, "--" ending the options. Beyond
 * rpc.py, any "--NAME VALUE" that is not one of the method's options sets
 * parameter NAME (dotted for nested objects; VALUE as JSON when it parses).
 */
#include "unvmf-rpc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const struct cli_method *cli_method_find(const char *name)
{
	for (size_t i = 0; i < g_cli_methods_count; i++) {
		if (strcmp(g_cli_methods[i].name, name) == 0)
			return &g_cli_methods[i];
	}
	return NULL;
}

static const char *param_metavar(const struct cli_opt *o, char *buf, size_t len)
{
	const char *last = strrchr(o->param, '.');
	size_t i;

	if (o->kind == CLI_SIZE_MB)
		return "TOTAL_SIZE_MB";
	last = last ? last + 1 : o->param;
	for (i = 0; last[i] && i + 1 < len; i++)
		buf[i] = (char)toupper((unsigned char)last[i]);
	buf[i] = '\0';
	return buf;
}

void cli_method_usage(FILE *f, const struct cli_method *m)
{
	char mv[64];

	fprintf(f, "%s", m->name);
	for (const struct cli_opt *o = m->opts; o->param; o++) {
		bool flag = o->kind == CLI_TRUE || o->kind == CLI_FALSE;

		if (o->flags & CLI_POSITIONAL)
			continue;
		fprintf(f, " %s%s%s%s%s%s%s", o->flags & CLI_REQUIRED ? "" : "[", o->shortopt ?: "",
		        o->shortopt && o->longopt ? "|" : "", o->longopt ?: "", flag ? "" : " ",
		        flag ? "" : param_metavar(o, mv, sizeof(mv)),
		        o->flags & CLI_REQUIRED ? "" : "]");
	}
	for (const struct cli_opt *o = m->opts; o->param; o++) {
		if (o->flags & CLI_POSITIONAL)
			fprintf(f, o->flags & CLI_REQUIRED ? " %s" : " [%s]",
			        param_metavar(o, mv, sizeof(mv)));
	}
	fprintf(f, "\n");
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

static json_t *params_get(json_t *params, const char *path)
{
	char buf[256];
	char *dot, *key = buf;

	if (strlen(path) >= sizeof(buf))
		return NULL;
	strcpy(buf, path);
	while (params && (dot = strchr(key, '.')) != NULL) {
		*dot = '\0';
		params = json_object_get(params, key);
		key = dot + 1;
	}
	return json_is_object(params) ? json_object_get(params, key) : NULL;
}

/*
 * Parameters that are strings whatever they look like, for --NAME VALUE: a
 * port, a serial number or a name may be all digits and the server refuses a
 * number there. Matched on the last component of a dotted name.
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

/* --NAME VALUE: JSON if it parses (a string parameter stays a string unless JSON-quoted). */
static json_t *generic_value(const char *name, const char *s)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);

	if (j && (!param_is_string(name) || json_is_string(j)))
		return j;
	json_decref(j);
	return json_string(s);
}

static json_t *list_value(const char *s)
{
	json_t *a = json_array();
	const char *p = s;

	while (a) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		json_array_append_new(a, json_stringn(p, n));
		if (!comma)
			break;
		p = comma + 1;
	}
	return a;
}

/* The JSON value of o for text s; NULL after a message. */
static json_t *opt_value(const struct cli_opt *o, const char *s, const char *what)
{
	char *end;
	long long v;
	double d;

	switch (o->kind) {
	case CLI_STRING:
		return json_string(s);
	case CLI_LIST:
		return list_value(s);
	case CLI_INT:
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || *end || end == s) {
			fprintf(stderr, "unvmf-rpc: %s: invalid int value: '%s'\n", what, s);
			return NULL;
		}
		return json_integer(v);
	case CLI_SIZE_MB:
		errno = 0;
		d = strtod(s, &end);
		if (errno || *end || end == s || !isfinite(d) || d <= 0) {
			fprintf(stderr, "unvmf-rpc: %s: invalid size: '%s'\n", what, s);
			return NULL;
		}
		return json_real(d);
	case CLI_TRUE:
	case CLI_FALSE:
		return json_boolean(o->kind == CLI_TRUE);
	}
	return NULL;
}

/* "--max_queue-depth" and "--max-queue-depth" are the same option (rpc.py: '_' reads as '-'). */
static bool long_equal(const char *a, const char *b, size_t n, bool prefix)
{
	size_t i;

	for (i = 0; i < n && a[i] && b[i]; i++) {
		char x = a[i] == '_' ? '-' : a[i], y = b[i] == '_' ? '-' : b[i];

		if (x != y)
			return false;
	}
	return i == n && (prefix || b[i] == '\0');
}

/* The long option named by arg[0..n), exact or a unique prefix; NULL if none; *ambiguous. */
static const struct cli_opt *long_find(const struct cli_method *m, const char *arg, size_t n,
                                       bool *ambiguous)
{
	const struct cli_opt *found = NULL;

	*ambiguous = false;
	if (!m)
		return NULL;
	for (const struct cli_opt *o = m->opts; o->param; o++) {
		if (o->longopt && long_equal(arg, o->longopt, n, false))
			return o;
	}
	for (const struct cli_opt *o = m->opts; o->param; o++) {
		if (o->longopt && long_equal(arg, o->longopt, n, true)) {
			if (found && strcmp(found->longopt, o->longopt) != 0)
				*ambiguous = true;
			found = o;
		}
	}
	return *ambiguous ? NULL : found;
}

static const struct cli_opt *short_find(const struct cli_method *m, const char *arg, size_t n)
{
	for (const struct cli_opt *o = m ? m->opts : NULL; o && o->param; o++) {
		if (o->shortopt && strlen(o->shortopt) == n && strncmp(o->shortopt, arg, n) == 0)
			return o;
	}
	return NULL;
}

static bool looks_negative_number(const char *a)
{
	return a[0] == '-' && (isdigit((unsigned char)a[1]) || a[1] == '.');
}

/* Sets o from value text; 0 or -1 after a message. */
static int opt_set(json_t *params, const struct cli_opt *o, const char *text, const char *what)
{
	json_t *v = opt_value(o, text, what);

	if (!v)
		return -1;
	return params_set(params, o->kind == CLI_SIZE_MB ? "__size_mb" : o->param, v) ? -1 : 0;
}

/* Checks what rpc.py would refuse, adds the values rpc.py sends when absent, sizes in blocks. */
static int params_finish(const struct cli_method *m, json_t *params)
{
	char mv[64];
	json_t *size;

	for (const struct cli_opt *o = m->opts; o->param; o++) {
		const char *p = o->kind == CLI_SIZE_MB ? "__size_mb" : o->param;

		if ((o->flags & CLI_REQUIRED) && !params_get(params, p) &&
		    !params_get(params, o->param)) {
			fprintf(stderr, "unvmf-rpc: %s: missing argument %s\nusage: unvmf-rpc ",
			        m->name,
			        o->longopt ?: o->shortopt ?: param_metavar(o, mv, sizeof(mv)));
			cli_method_usage(stderr, m);
			return -1;
		}
		if (o->absent && !params_get(params, o->param))
			params_set(params, o->param, json_loads(o->absent, JSON_DECODE_ANY, NULL));
	}
	size = json_object_get(params, "__size_mb");
	if (size) {
		json_int_t bs = json_integer_value(json_object_get(params, "block_size"));

		if (bs <= 0) {
			fprintf(stderr, "unvmf-rpc: %s: the block size must be positive\n",
			        m->name);
			return -1;
		}
		/* rpc.py: int(total_size * 1024 * 1024) // block_size */
		json_object_set_new(
		    params, "num_blocks",
		    json_integer((json_int_t)(json_real_value(size) * 1024 * 1024) / bs));
		json_object_del(params, "__size_mb");
	}
	return 0;
}

json_t *cli_params_build(const struct cli_method *m, const char *name, int argc, char **argv)
{
	json_t *params = json_object();
	const struct cli_opt *pos[32];
	size_t npos = 0, next_pos = 0;
	bool options_end = false;

	for (const struct cli_opt *o = m ? m->opts : NULL; o && o->param && npos < 32; o++) {
		if (o->flags & CLI_POSITIONAL)
			pos[npos++] = o;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_opt *o;
		bool ambiguous;

		if (!options_end && strcmp(a, "--") == 0) {
			options_end = true;
		} else if (!options_end && strncmp(a, "--", 2) == 0) {
			const char *eq = strchr(a, '=');
			size_t n = eq ? (size_t)(eq - a) : strlen(a);

			o = long_find(m, a, n, &ambiguous);
			if (ambiguous) {
				fprintf(stderr, "unvmf-rpc: %s: ambiguous option: %.*s\n", name,
				        (int)n, a);
				goto err;
			}
			if (o && (o->kind == CLI_TRUE || o->kind == CLI_FALSE)) {
				if (eq) {
					fprintf(stderr, "unvmf-rpc: %s: %.*s takes no value\n",
					        name, (int)n, a);
					goto err;
				}
				params_set(params, o->param, json_boolean(o->kind == CLI_TRUE));
				continue;
			}
			if (!eq && i + 1 >= argc) {
				fprintf(stderr, "unvmf-rpc: %s: %s needs a value\n", name, a);
				goto err;
			}
			if (o) {
				if (opt_set(params, o, eq ? eq + 1 : argv[++i], a))
					goto err;
			} else {
				/* --NAME VALUE for any parameter: dashes read as underscores. */
				char pname[256];

				snprintf(pname, sizeof(pname), "%.*s", (int)(n - 2), a + 2);
				for (char *p = pname; *p; p++) {
					if (*p == '-')
						*p = '_';
				}
				if (params_set(params, pname,
				               generic_value(pname, eq ? eq + 1 : argv[++i])))
					goto err;
			}
		} else if (!options_end && a[0] == '-' && a[1] &&
		           ((o = short_find(m, a, strlen(a))) || !looks_negative_number(a))) {
			/* "-t1" may be an option of its own (nvmf_set_crdt); else -x, -xVALUE,
			 * -abc. */
			if (o) {
				if (o->kind == CLI_TRUE || o->kind == CLI_FALSE) {
					params_set(params, o->param,
					           json_boolean(o->kind == CLI_TRUE));
				} else if (i + 1 >= argc) {
					fprintf(stderr, "unvmf-rpc: %s: %s needs a value\n", name,
					        a);
					goto err;
				} else if (opt_set(params, o, argv[++i], a)) {
					goto err;
				}
				continue;
			}
			for (const char *c = a + 1; *c; c++) {
				char opt[3] = {'-', *c, '\0'};

				o = short_find(m, opt, 2);
				if (!m)
					goto unknown_method;
				if (!o) {
					fprintf(
					    stderr,
					    "unvmf-rpc: %s: unknown option %s\nusage: unvmf-rpc ",
					    name, opt);
					cli_method_usage(stderr, m);
					goto err;
				}
				if (o->kind == CLI_TRUE || o->kind == CLI_FALSE) {
					params_set(params, o->param,
					           json_boolean(o->kind == CLI_TRUE));
					continue;
				}
				if (c[1]) {
					if (opt_set(params, o, c + 1, opt))
						goto err;
				} else if (i + 1 >= argc) {
					fprintf(stderr, "unvmf-rpc: %s: %s needs a value\n", name,
					        opt);
					goto err;
				} else if (opt_set(params, o, argv[++i], opt)) {
					goto err;
				}
				break;
			}
		} else if (!m) {
			goto unknown_method;
		} else if (next_pos < npos) {
			char mv[64];

			if (opt_set(params, pos[next_pos], a,
			            param_metavar(pos[next_pos], mv, sizeof(mv))))
				goto err;
			next_pos++;
		} else {
			fprintf(stderr, "unvmf-rpc: %s: unexpected argument '%s'\n", name, a);
			goto err;
		}
	}
	if (m && params_finish(m, params))
		goto err;
	return params;
unknown_method:
	/* Without a table rpc.py's arguments cannot be mapped: say so rather than guess. */
	fprintf(stderr,
	        "unvmf-rpc: %s: not a method unvmf has ('unvmf-rpc -h' lists them); only "
	        "--NAME VALUE parameters can be sent to it\n",
	        name);
err:
	json_decref(params);
	return NULL;
}
