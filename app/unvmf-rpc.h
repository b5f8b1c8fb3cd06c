/*
 * unvmf-rpc's command lines: one option table per method (unvmf-rpc-methods.c,
 * written from SPDK's rpc.py by unvmf-rpc-methods.py) and the parser that
 * turns a command line into the request's params with rpc.py's meaning.
 */
#ifndef UNVMF_RPC_CLI_H
#define UNVMF_RPC_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cli_kind {
	CLI_STRING,  /* the value as a string */
	CLI_INT,     /* a decimal integer */
	CLI_LIST,    /* a comma-separated list, sent as an array of strings */
	CLI_TRUE,    /* a flag that sends true */
	CLI_FALSE,   /* a flag that sends false */
	CLI_SIZE_MB, /* rpc.py's TOTAL_SIZE in MiB: sends num_blocks = size / block_size */
};

enum cli_flags {
	CLI_POSITIONAL = 1 << 0,
	CLI_REQUIRED = 1 << 1,
};

/* How rpc.py prints a successful result, which scripts capture. */
enum cli_print {
	CLI_PRINT_NONE,   /* nothing */
	CLI_PRINT_JSON,   /* JSON, a string without its quotes */
	CLI_PRINT_DICT,   /* JSON */
	CLI_PRINT_CLIENT, /* a client-side command (save_config, load_config) prints itself */
};

struct cli_opt {
	const char *shortopt; /* "-t"; NULL for none */
	const char *longopt;  /* "--trtype"; NULL for none; both NULL: positional */
	const char *param;    /* request parameter, dotted for a member of an object */
	enum cli_kind kind;
	unsigned flags;     /* enum cli_flags */
	const char *absent; /* JSON sent when no option of this param is given, or NULL */
};

struct cli_method {
	const char *name;
	const struct cli_opt *opts; /* ends with an all-zero entry */
	enum cli_print print;
};

extern const struct cli_method g_cli_methods[];
extern const size_t g_cli_methods_count;

const struct cli_method *cli_method_find(const char *name);

/* Prints "METHOD [options] POSITIONAL..." built from the table. */
void cli_method_usage(FILE *f, const struct cli_method *m);

/*
 * Builds the params of method m (NULL: a method without a table, which takes
 * only --NAME VALUE) from argv; NULL after a message on stderr for a usage
 * error.
 */
json_t *cli_params_build(const struct cli_method *m, const char *name, int argc, char **argv);

#endif
