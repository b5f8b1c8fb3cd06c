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
