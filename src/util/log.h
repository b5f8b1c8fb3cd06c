#pragma once
/*
 * Logging: one line per event, prefixed with level and, by convention, the
 * object it concerns ("qpair 3 (cntlid 1, host nqn...)"). Thread-safe: each
 * line is formatted into a local buffer and written with one write(2).
 */
#include <stdarg.h>

enum unvmf_log_level {
	UNVMF_LOG_ERROR = 0,
	UNVMF_LOG_WARN,
	UNVMF_LOG_NOTICE,
	UNVMF_LOG_INFO,
	UNVMF_LOG_DEBUG,
};

void unvmf_log_set_level(enum unvmf_log_level level);
enum unvmf_log_level unvmf_log_get_level(void);
int unvmf_log_level_parse(const char *name, enum unvmf_log_level *out);
void unvmf_log(enum unvmf_log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define UNVMF_LOG(level, ...)                                                                      \
	do {                                                                                       \
		if ((level) <= unvmf_log_get_level())                                              \
			unvmf_log((level), __FILE__, __LINE__, __VA_ARGS__);                       \
	} while (0)
#define LOG_ERR(...) UNVMF_LOG(UNVMF_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...) UNVMF_LOG(UNVMF_LOG_WARN, __VA_ARGS__)
#define LOG_NOTICE(...) UNVMF_LOG(UNVMF_LOG_NOTICE, __VA_ARGS__)
#define LOG_INFO(...) UNVMF_LOG(UNVMF_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) UNVMF_LOG(UNVMF_LOG_DEBUG, __VA_ARGS__)
