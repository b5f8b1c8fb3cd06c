#include "util/crc32c.h"

#include <isa-l/crc.h>

/*
 * isa-l's crc32_iscsi takes and returns the un-inverted register, which is
 * what lets us chain it over scattered buffers.
 */
uint32_t unvmf_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return crc32_iscsi((unsigned char *)buf, (int)len, crc);
}

uint32_t unvmf_crc32c(const void *buf, size_t len)
{
	return unvmf_crc32c_final(unvmf_crc32c_update(UNVMF_CRC32C_INIT, buf, len));
}

uint32_t unvmf_crc32c_iov(const struct iovec *iov, int iovcnt, size_t len)
{
	uint32_t crc = UNVMF_CRC32C_INIT;

	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		crc = unvmf_crc32c_update(crc, iov[i].iov_base, n);
		len -= n;
	}
	return unvmf_crc32c_final(crc);
}
