#pragma once
/*
 * A seeded TCP fault proxy for NVMe/TCP tests: listens on 127.0.0.1, forwards
 * every accepted connection to the target, and on the way re-chunks the byte
 * stream at random sizes (partial PDUs on both sides), can stall one
 * direction (a slow reader), flip one byte at a given offset, or reset both
 * connections at a given offset. One thread per connection pair.
 */
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

enum fault_kind {
	FAULT_NONE,
	FAULT_RESET,		/* RST both sides when `offset` bytes have passed in `dir` */
	FAULT_CORRUPT,		/* flip a bit of the byte at `offset` in `dir` */
	FAULT_SLOW,		/* stall `dir` for stall_ms every 64 KiB */
	FAULT_NUM_KINDS,
};

enum fault_dir {
	FAULT_HOST_TO_TARGET,
	FAULT_TARGET_TO_HOST,
};

struct fault_plan {
	enum fault_kind kind;
	enum fault_dir dir;
	uint64_t offset;
	uint32_t stall_ms;
	uint64_t seed;		/* chunk sizes */
	/* Which accepted connection the fault applies to (0 = first); others pass through re-chunked. */
	unsigned conn_index;
	/* Keep a copy of every byte that passes (up to 4 MiB per direction and connection). */
	bool record;
};

struct fault_proxy;

/* Starts a proxy to 127.0.0.1:target_port; *listen_port receives its own port. */
int fault_proxy_start(const struct fault_plan *plan, int target_port, int *listen_port,
		      struct fault_proxy **out);
/* True once the fault fired. */
bool fault_proxy_fired(struct fault_proxy *proxy);
/* Closes everything and joins the threads (the recordings stay readable). */
void fault_proxy_join(struct fault_proxy *proxy);
/* Connections accepted so far. */
unsigned fault_proxy_num_conns(struct fault_proxy *proxy);
/* After fault_proxy_join: the bytes of connection conn in dir (plan.record); their count. */
size_t fault_proxy_recorded(struct fault_proxy *proxy, unsigned conn, enum fault_dir dir,
			    const uint8_t **buf);
/* fault_proxy_join, then frees everything. */
void fault_proxy_stop(struct fault_proxy *proxy);
const char *fault_kind_name(enum fault_kind kind);
