#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum unvmf_log_level g_level = UNVMF_LOG_NOTICE;
static const char *const g_names[] = {"ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};
static bool g_timestamps = true;

/* The layers (source folders) a DEBUG line can come from, and SPDK's names for them. */
static const struct {
	const char *name;
	const char *spdk_name;
} g_flags[] = {
    {"nvmf", NULL},   {"tcp", "nvmf_tcp"},     {"rdma", "nvmf_rdma"}, {"bdev", NULL},
    {"rpc", NULL},    {"reactor", NULL},       {"sock", NULL},        {"proto", NULL},
    {"host", "nvme"}, {"rdma_provider", NULL}, {"app", NULL},         {"util", NULL},
};
#define LOG_NUM_FLAGS (sizeof(g_flags) / sizeof(g_flags[0]))
static bool g_flag_on[LOG_NUM_FLAGS];
static unsigned g_flags_set;
static enum unvmf_log_format g_format = UNVMF_LOG_FORMAT_TEXT;

void unvmf_log_set_format(enum unvmf_log_format format)
{
	g_format = format;
}

int unvmf_log_format_parse(const char *name, enum unvmf_log_format *out)
{
	if (strcasecmp(name, "text") == 0)
		*out = UNVMF_LOG_FORMAT_TEXT;
	else if (strcasecmp(name, "json") == 0)
		*out = UNVMF_LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

/* The JSON string escape of src into dst (always terminated); returns the length written. */
static size_t log_json_escape(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *src && n + 7 < cap; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == '"' || c == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c == '\n') {
			dst[n++] = '\\';
			dst[n++] = 'n';
		} else if (c < 0x20) {
			memcpy(dst + n, "\\u00", 4);
			dst[n + 4] = hex[c >> 4];
			dst[n + 5] = hex[c & 0xf];
			n += 6;
		} else {
			dst[n++] = (char)c;
		}
	}
	dst[n] = '\0';
	return n;
}

static void log_json(enum unvmf_log_level level, const struct timespec *ts, const char *file,
                     int line, const char *msg)
{
	char buf[2560];
	int n;

	n = snprintf(buf, sizeof(buf), "{\"ts\":%ld.%06ld,\"level\":\"%s\",\"file\":\"",
	             (long)ts->tv_sec, ts->tv_nsec / 1000, g_names[level]);
	n += (int)log_json_escape(buf + n, sizeof(buf) - (size_t)n - 64, file);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\",\"line\":%d,\"msg\":\"", line);
	n += (int)log_json_escape(buf + n, sizeof(buf) - (size_t)n - 4, msg);
	memcpy(buf + n, "\"}\n", 3);
	n += 3;
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

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
	if (strcasecmp(name, "WARNING") == 0) {
		*out = UNVMF_LOG_WARN;
		return 0;
	}
	for (unsigned i = 0; i < sizeof(g_names) / sizeof(g_names[0]); i++) {
		if (strcasecmp(name, g_names[i]) == 0) {
			*out = (enum unvmf_log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *unvmf_log_level_name(enum unvmf_log_level level)
{
	return level == UNVMF_LOG_WARN ? "WARNING" : g_names[level];
}

int unvmf_log_flag_set(const char *name, bool enable)
{
	bool all = strcmp(name, "all") == 0;
	bool found = false;

	for (unsigned i = 0; i < LOG_NUM_FLAGS; i++) {
		if (!all && strcmp(name, g_flags[i].name) != 0 &&
		    !(g_flags[i].spdk_name && strcmp(name, g_flags[i].spdk_name) == 0))
			continue;
		found = true;
		if (g_flag_on[i] != enable) {
			g_flag_on[i] = enable;
			g_flags_set += enable ? 1 : -1u;
		}
	}
	return found ? 0 : -ENOENT;
}

const char *unvmf_log_flag_name(unsigned i, bool *enabled)
{
	if (i >= LOG_NUM_FLAGS)
		return NULL;
	*enabled = g_flag_on[i];
	return g_flags[i].name;
}

void unvmf_log_set_timestamps(bool enable)
{
	g_timestamps = enable;
}

/* Whether the layer of file (its folder's name) is flagged. */
static bool log_file_flagged(const char *file, const char *base)
{
	const char *dir = base;

	if (dir == file)
		return false;
	while (dir > file && dir[-1] != '/')
		dir--;
	for (unsigned i = 0; i < LOG_NUM_FLAGS; i++) {
		size_t len = strlen(g_flags[i].name);

		if (g_flag_on[i] && (size_t)(base - dir) == len &&
		    strncmp(dir, g_flags[i].name, len) == 0)
			return true;
	}
	return false;
}

void unvmf_log(enum unvmf_log_level level, const char *file, int line, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	const char *base = strrchr(file, '/');
	va_list ap;
	int n;

	if (level == UNVMF_LOG_DEBUG && g_flags_set && !(base && log_file_flagged(file, base)))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (g_format == UNVMF_LOG_FORMAT_JSON) {
		va_start(ap, fmt);
		n = vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		if (n >= 0)
			log_json(level, &ts, base ? base + 1 : file, line, buf);
		return;
	}
	if (g_timestamps)
		n = snprintf(buf, sizeof(buf), "[%ld.%06ld] %s %s:%d: ", (long)ts.tv_sec,
		             ts.tv_nsec / 1000, g_names[level], base ? base + 1 : file, line);
	else
		n = snprintf(buf, sizeof(buf), "%s %s:%d: ", g_names[level], base ? base + 1 : file,
		             line);
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
