#pragma once
/*
 * Logging: one line per event, prefixed with level and, by convention, the
 * object it concerns ("qpair 3 (cntlid 1, host nqn...)"). Thread-safe: each
 * line is formatted into a local buffer and written with one write(2).
 */
#include <stdarg.h>
#include <stdbool.h>

enum unvmf_log_level {
	UNVMF_LOG_ERROR = 0,
	UNVMF_LOG_WARN,
	UNVMF_LOG_NOTICE,
	UNVMF_LOG_INFO,
	UNVMF_LOG_DEBUG,
};

void unvmf_log_set_level(enum unvmf_log_level level);
enum unvmf_log_level unvmf_log_get_level(void);
/* "ERROR", "WARN" (or SPDK's "WARNING"), "NOTICE", "INFO", "DEBUG", any case: 0 or -1. */
int unvmf_log_level_parse(const char *name, enum unvmf_log_level *out);
/* SPDK's spelling of a level ("WARNING" for UNVMF_LOG_WARN). */
const char *unvmf_log_level_name(enum unvmf_log_level level);
/*
 * Debug flags, one per layer (the folder a source file is in: "nvmf",
 * "tcp", "rdma", "rpc", ...). With no flag set every DEBUG line prints (at
 * level DEBUG); once one is set, only the DEBUG lines of flagged layers do.
 * SPDK's names for the same layers ("nvmf_tcp", "nvmf_rdma") are accepted;
 * "all" sets or clears every flag. 0, or -ENOENT for an unknown flag.
 */
int unvmf_log_flag_set(const char *name, bool enable);
/* Flag index i (NULL past the end) and whether it is set. */
const char *unvmf_log_flag_name(unsigned i, bool *enabled);
/* Whether each line starts with a timestamp (the default). */
void unvmf_log_set_timestamps(bool enable);

/*
 * TEXT: "[sec.usec] LEVEL file:line: message". JSON: one object per line,
 * {"ts": sec.usec, "level": "LEVEL", "file": "...", "line": n, "msg": "..."},
 * for log shippers that would otherwise parse the text with a regex. JSON
 * lines always carry ts: unvmf_log_set_timestamps is for the text format.
 */
enum unvmf_log_format {
	UNVMF_LOG_FORMAT_TEXT = 0,
	UNVMF_LOG_FORMAT_JSON,
};
void unvmf_log_set_format(enum unvmf_log_format format);
/* "text" or "json"; -1 for anything else. */
int unvmf_log_format_parse(const char *name, enum unvmf_log_format *out);
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
