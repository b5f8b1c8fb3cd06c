#pragma once
/* Helpers of the NVMe/TCP harnesses (fuzz_tcp_target.c, fuzz_tcp_host.c). */
#include <stddef.h>
#include <stdint.h>

/*
 * Walks buf as a stream of PDUs (common header PLEN by PLEN) and rewrites the
 * header digest (HDGSTF) and data digest (DDGSTF) of every whole PDU to the
 * right CRC32C, so that inputs get past the digest checks to what lies
 * behind them. Stops at the first PDU that is not whole or has PLEN < 8.
 */
void fuzz_tcp_fix_digests(uint8_t *buf, size_t len);

/* Writes all of buf to the non-blocking fd, calling step() while it is full; 0 or -errno. */
int fuzz_fd_write_all(int fd, const uint8_t *buf, size_t len, void (*step)(void));
/* Reads and drops what fd (non-blocking) holds; the bytes read, 0 at EOF too. */
size_t fuzz_fd_drain(int fd);
