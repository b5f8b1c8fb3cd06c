#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum unvmf_log_level g_level = UNVMF_LOG_NOTICE;
static const char *const g_names[] = {"ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};

void unvmf_log_set_level(enum unvmf_log_level level)
{
	g_level = level;
}

enum unvmf_log_level unvmf_log_get_level(void)
{
	return g_level;
}

int unvmf_log_level_parse(const char *name, enum unvmf_log_level *out)
{
	for (unsigned i = 0; i < sizeof(g_names) / sizeof(g_names[0]); i++) {
		if (strcasecmp(name, g_names[i]) == 0) {
			*out = (enum unvmf_log_level)i;
			return 0;
		}
	}
	return -1;
}

void unvmf_log(enum unvmf_log_level level, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	const char *base = strrchr(file, '/');
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, sizeof(buf), "[%ld.%06ld] %s %s:%d: ", (long)ts.tv_sec,
		     ts.tv_nsec / 1000, g_names[level], base ? base + 1 : file, line);
	if (n < 0)
		return;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	/* One write per line keeps lines from different threads whole. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}
