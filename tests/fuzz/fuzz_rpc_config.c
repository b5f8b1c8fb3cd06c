/*
 * The JSON config loader (rpc_config_load.c) on a file an operator (or
 * whoever can write it) supplies: unvmf_rpc_config_load() reads it from a
 * path, orders its entries and runs each through the method table against a
 * live target (fuzz_rpc_env.h), as unvmf-tgt --config does at start-up.
 *
 * Input: the file's contents (handed over as a memfd, /proc/self/fd/N).
 * Checked beyond the sanitizers: the load always reports back and the
 * target shuts down cleanly afterwards.
 */
#include "fuzz.h"
#include "fuzz_rpc_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rpc/rpc.h"

static void load_done(void *arg, int rc)
{
	*(int *)arg = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd, done = 0;

	if (size > 65536)
		return 0;
	fd = memfd_create("fuzz_config", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		perror("fuzz_rpc_config: memfd");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fuzz_rpc_begin();
	unvmf_rpc_config_load(path, load_done, &done);
	if (!fuzz_rpc_wait(&done)) {
		fprintf(stderr, "fuzz_rpc_config: the load never reported back\n");
		abort();
	}
	fuzz_rpc_end();
	close(fd);
	return 0;
}
