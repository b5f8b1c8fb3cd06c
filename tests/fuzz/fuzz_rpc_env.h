#pragma once
/*
 * A live target for the JSON-RPC harnesses: tests/common/nvmf_loop's target
 * (one subsystem NVMF_LOOP_SUBNQN with namespace 1 on malloc bdev "Loop0",
 * the in-process LOOP transport) on a manual reactor, the TCP transport
 * registered (nvmf_create_transport can create it), and the target's whole
 * method table. Built for one input and torn down after it, so that nothing
 * an input created (bdevs, subsystems, transports, listeners) outlives it.
 */
#include <jansson.h>
#include <stdbool.h>

void fuzz_rpc_begin(void);
/* Shuts the target down; aborts if the teardown does not finish. */
void fuzz_rpc_end(void);
/*
 * Runs one request (borrowed) as the server would and steps the reactor
 * until its response; aborts if none ever comes.
 */
void fuzz_rpc_run(json_t *msg);
/* Runs method with params (borrowed) inside a JSON-RPC 2.0 envelope. */
void fuzz_rpc_call(const char *method, json_t *params);
/* Steps the reactor until *flag is set; false if it never was. */
bool fuzz_rpc_wait(volatile int *flag);
