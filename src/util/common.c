#include "util/common.h"
#include "util/log.h"

#include <string.h>

void unvmf_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	fprintf(stderr, "unvmf: invariant violated: %s at %s:%d (%s)\n", expr, file, line, func);
	fflush(stderr);
	abort();
}

void unvmf_str_pad(void *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len);

	memset(dst, ' ', len);
	memcpy(dst, src, n);
}

int unvmf_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size);

	if (n == size) {
		if (size > 0) {
			memcpy(dst, src, size - 1);
			dst[size - 1] = '\0';
		}
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}
