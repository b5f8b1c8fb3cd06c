#pragma once
/*
 * The libFuzzer entry points every harness here defines (tests/fuzz/fuzz_*.c).
 * In the fuzz build (UNVMF_FUZZ, clang) libFuzzer calls them; in every other
 * build fuzz_main.c does, replaying the committed corpora (ctest fuzz.*).
 *
 * A harness keeps no state from one input to the next that could change what
 * the next one does, other than what it set up once (a target, a listener):
 * libFuzzer's findings must replay from one file.
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: run once before the first input (defined weak by the driver). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
