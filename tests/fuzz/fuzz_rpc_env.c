/* A live target on a manual reactor for the JSON-RPC harnesses (fuzz_rpc_env.h). */
#include "fuzz_rpc_env.h"

#include <stdio.h>
#include <stdlib.h>

#include "nvmf_loop.h"
#include "rpc/rpc.h"
#include "transport/tcp/tcp_opts.h"

/* 10 s of virtual time: a method answers within a few reactor steps. */
#define FUZZ_RPC_MAX_STEPS 10000u

static struct nvmf_loop g_loop;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_rpc: %s\n", what);
		abort();
	}
}

void fuzz_rpc_begin(void)
{
	struct nvmf_loop_opts opts;
	static bool installed;

	nvmf_loop_opts_init(&opts);
	check(nvmf_loop_start(&g_loop, &opts) == 0, "target start");
	if (!installed) {
		/* The registries outlive a target: once per process. */
		check(unvmf_transport_register(&unvmf_tcp_transport_ops) == 0, "register TCP");
		unvmf_rpc_methods_install();
		installed = true;
	}
}

void fuzz_rpc_end(void)
{
	check(nvmf_loop_stop(&g_loop) == 0, "target shutdown never finished");
}

bool fuzz_rpc_wait(volatile int *flag)
{
	for (unsigned i = 0; i < FUZZ_RPC_MAX_STEPS && !*flag; i++)
		nvmf_loop_step();
	return *flag != 0;
}

static void rpc_done(void *ctx, json_t *response, int code, const char *message)
{
	*(int *)ctx = 1;
}

void fuzz_rpc_run(json_t *msg)
{
	int done = 0;

	unvmf_rpc_execute(msg, rpc_done, &done);
	check(fuzz_rpc_wait(&done), "a request was never answered");
}

void fuzz_rpc_call(const char *method, json_t *params)
{
	json_t *msg = json_pack("{s:s, s:s, s:i}", "jsonrpc", "2.0", "method", method, "id", 1);

	check(msg != NULL, "no memory");
	if (params)
		json_object_set(msg, "params", params);
	fuzz_rpc_run(msg);
	json_decref(msg);
}
