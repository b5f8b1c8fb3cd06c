/* Helpers of the NVMe/TCP harnesses: digest repair and socket feeding. */
#include "fuzz_tcp_stream.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "unvmf/nvme_tcp_spec.h"
#include "util/crc32c.h"

void fuzz_tcp_fix_digests(uint8_t *buf, size_t len)
{
	size_t pos = 0;

	while (len - pos >= sizeof(struct nvme_tcp_common_pdu_hdr)) {
		struct nvme_tcp_common_pdu_hdr ch;
		uint8_t *pdu = buf + pos;
		uint32_t dgst;

		memcpy(&ch, pdu, sizeof(ch));
		if (ch.plen < sizeof(ch) || ch.plen > len - pos)
			return;
		if ((ch.flags & NVME_TCP_CH_FLAGS_HDGSTF) && ch.hlen + 4u <= ch.plen) {
			dgst = unvmf_crc32c(pdu, ch.hlen);
			memcpy(pdu + ch.hlen, &dgst, sizeof(dgst));
		}
		if ((ch.flags & NVME_TCP_CH_FLAGS_DDGSTF) && ch.pdo && ch.pdo + 4u < ch.plen) {
			dgst = unvmf_crc32c(pdu + ch.pdo, ch.plen - 4u - ch.pdo);
			memcpy(pdu + ch.plen - 4, &dgst, sizeof(dgst));
		}
		pos += ch.plen;
	}
}

int fuzz_fd_write_all(int fd, const uint8_t *buf, size_t len, void (*step)(void))
{
	size_t off = 0;
	unsigned stalls = 0;

	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			stalls = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		/* The reader stopped reading (it closed, or waits for us): give up after a while.
		 */
		if (++stalls > 1000)
			return -ETIMEDOUT;
		fuzz_fd_drain(fd);
		step();
	}
	return 0;
}

size_t fuzz_fd_drain(int fd)
{
	uint8_t sink[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, sink, sizeof(sink))) > 0)
		total += (size_t)n;
	return total;
}
