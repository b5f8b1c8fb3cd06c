#pragma once
/*
 * Runs the built host tools (unvmf-perf, unvmf-identify from UNVMF_BIN_DIR,
 * else build/bin) as child processes for end-to-end tests, stdout and stderr
 * kept apart in files so a test can parse one and print the other on failure.
 */
#include <jansson.h>
#include <sys/types.h>

struct tool_proc {
	pid_t pid;
	char out_path[256];
	char err_path[256];
};

/* Starts tool with args (NULL-terminated, without argv[0]); 0 or -errno. */
int tool_proc_spawn(struct tool_proc *p, const char *tool, const char *const *args);
/*
 * Waits up to timeout_s for the exit: the exit status, 128 + signal if it was
 * killed by one, -1 if it had to be killed here after the timeout.
 */
int tool_proc_wait(struct tool_proc *p, int timeout_s);
/* The whole stdout / stderr so far, malloc'd and NUL-terminated ("" if none); caller frees. */
char *tool_proc_stdout(const struct tool_proc *p);
char *tool_proc_stderr(const struct tool_proc *p);
/* Removes the output files. */
void tool_proc_cleanup(struct tool_proc *p);
/* spawn + wait; *out (optional) gets stdout, *err (optional) stderr. */
int tool_run(const char *tool, const char *const *args, int timeout_s, char **out, char **err);
/*
 * tool_run expecting exit status want: 0 with *out and *err (optional, caller
 * frees); on another status, or no stdout, prints the status, stdout and
 * stderr and returns -1.
 */
int tool_run_expect(const char *tool, const char *const *args, int timeout_s, int want, char **out,
                    char **err);
/*
 * Runs tool expecting exit 0 and one JSON value on stdout (a tool's --json
 * output): the value (caller decrefs), or NULL after printing what went wrong.
 */
json_t *tool_run_json(const char *tool, const char *const *args, int timeout_s);
