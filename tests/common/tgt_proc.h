#pragma once
/*
 * Runs unvmf-tgt as a child process for end-to-end tests: a free port, a
 * private RPC socket, readiness by polling the port, and a stop that checks
 * the target exited cleanly (status 0, which under ASan also means no leak).
 */
#include <stdbool.h>
#include <sys/types.h>

#include "proto/trid.h"

struct tgt_proc {
	pid_t pid;
	char port[16];
	char rpc_sock[108];
	char log_path[256];
	/* The config file tgt_proc_start_config wrote ("" if none); removed by tgt_proc_finish. */
	char config_path[256];
};

/* Picks a free TCP port on 127.0.0.1 (bind to 0, read it back, close). */
int tgt_proc_free_port(void);
/*
 * Starts build/bin/unvmf-tgt with the default config on a free port plus the
 * given extra arguments (NULL-terminated), waits up to 10 s for the port.
 * With extra args containing "-c", the default config is not used and the
 * caller's config must listen on tp->port (use tgt_proc_prepare + tgt_proc_exec).
 */
int tgt_proc_start(struct tgt_proc *tp, const char *const *extra_args);
/* Picks the port and socket only (for configs that must name them). */
void tgt_proc_prepare(struct tgt_proc *tp);
int tgt_proc_exec(struct tgt_proc *tp, const char *const *args, bool wait_port);
/*
 * The setup of a test group: tgt_proc_start, printing the target's log when it
 * fails to come up. 0, or -1 (what a cmocka group setup returns).
 */
int tgt_proc_start_or_dump(struct tgt_proc *tp, const char *const *extra_args);
/*
 * Starts unvmf-tgt from a JSON config: json_fmt is formatted like printf, then
 * every "@PORT@" in it becomes tp->port (the port is picked here, so the config
 * cannot know it before). The file goes to /tmp (tp->config_path), the target
 * gets "-c <file> -r <tp->rpc_sock>" plus extra_args (NULL-terminated, may be
 * NULL) and is ready when the port accepts. 0, or -1 after printing the log.
 */
int tgt_proc_start_config(struct tgt_proc *tp, const char *const *extra_args, const char *json_fmt,
                          ...) __attribute__((format(printf, 3, 4)));
/*
 * The teardown of a test group: SIGTERM, wait up to timeout_s, remove the
 * config file; on an unclean exit print the log and the status. 0 when the
 * target exited with status 0, else -1.
 */
int tgt_proc_finish(struct tgt_proc *tp, int timeout_s);
/* SIGTERM, wait up to timeout; returns the exit status, or -1 if it had to be killed. */
int tgt_proc_stop(struct tgt_proc *tp, int timeout_s);
/* The same with another signal (SIGINT: what Ctrl-C sends). */
int tgt_proc_stop_signal(struct tgt_proc *tp, int sig, int timeout_s);
/* True when the target's log holds an ASan/LSan/UBSan report. */
bool tgt_proc_log_has_sanitizer_report(const struct tgt_proc *tp);
/* Fills trid for subnqn (NULL: discovery) on tp's port. */
void tgt_proc_trid(const struct tgt_proc *tp, const char *subnqn, struct unvmf_trid *trid);
/* Prints the target's log (on failure). */
void tgt_proc_dump_log(const struct tgt_proc *tp);
/* True while the process runs. */
bool tgt_proc_alive(struct tgt_proc *tp);
