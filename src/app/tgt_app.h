#pragma once
/*
 * unvmf-tgt's start-up and shutdown sequence, as a library so that tests and
 * the binary share it. Everything here runs on reactor 0.
 */
#include <stdbool.h>
#include <stdint.h>

struct unvmf_tgt_app_opts {
	uint64_t cpumask;
	bool busy_poll;
	uint32_t spin_us;		/* without busy_poll: polling after the last work before sleeping */
	const char *config_file;	/* NULL: the default configuration */
	const char *rpc_socket;		/* NULL: no RPC server */
	const char *metrics_addr;	/* NULL: no metrics endpoint; "PORT" or "ADDR:PORT" */
	bool enable_fault_injection;
	/* Default configuration. */
	const char *listen_addr;
	const char *listen_port;
	uint64_t malloc_size_mb;
	bool null_bdev;			/* a null namespace (benchmarks) instead of RAM */
	uint32_t block_size;
};

void unvmf_tgt_app_opts_init(struct unvmf_tgt_app_opts *opts);
/* Registers the built-in transports (tgt_transports.c); the first serves the default config. */
void unvmf_transports_register_all(void);
/* Runs the target until SIGINT/SIGTERM or unvmf_tgt_app_stop(); returns the exit status. */
int unvmf_tgt_app_run(const struct unvmf_tgt_app_opts *opts);
void unvmf_tgt_app_stop(void);
/* 1 once start-up (config or default) has finished, -1 if it failed or stopping, 0 while starting. */
int unvmf_tgt_app_init_state(void);

/* Hooks the control plane fills in (RPC server, config loader); NULL when absent. */
struct unvmf_tgt_app_hooks {
	/* Loads a JSON config; on failure prints file, method and reason and returns < 0. */
	void (*load_config)(const char *path, void (*done)(void *arg, int rc), void *arg);
	int (*rpc_start)(const char *path);
	void (*rpc_stop)(void);
	/* The Prometheus endpoint (tgt_metrics.c); NULL in a build without it. */
	int (*metrics_start)(const char *addr);
	void (*metrics_stop)(void);
};
extern struct unvmf_tgt_app_hooks g_tgt_app_hooks;
/* Fills g_tgt_app_hooks with the JSON-RPC server and config loader (src/rpc/). */
void unvmf_control_plane_install(void);
/* Registers the transports built into the target (tgt_transports.c). */
void unvmf_transports_register_all(void);
