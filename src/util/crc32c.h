#pragma once
/* CRC32C (Castagnoli) as NVMe/TCP digests use it, computed by isa-l. */
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Running value: start with UNVMF_CRC32C_INIT, feed with _update, finish with _final. */
#define UNVMF_CRC32C_INIT 0xffffffffu
uint32_t unvmf_crc32c_update(uint32_t crc, const void *buf, size_t len);
static inline uint32_t unvmf_crc32c_final(uint32_t crc)
{
	return crc ^ 0xffffffffu;
}
uint32_t unvmf_crc32c(const void *buf, size_t len);
uint32_t unvmf_crc32c_iov(const struct iovec *iov, int iovcnt, size_t len);
