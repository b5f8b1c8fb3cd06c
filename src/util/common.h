#pragma once
/* Small definitions used everywhere. */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/queue.h>

/* glibc's sys/queue.h lacks the _SAFE iterators (removal while walking). */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                                 \
	for ((var) = TAILQ_FIRST((head)); (var) && ((tvar) = TAILQ_NEXT((var), field), 1);          \
	     (var) = (tvar))
#endif
#ifndef STAILQ_FOREACH_SAFE
#define STAILQ_FOREACH_SAFE(var, head, field, tvar)                                                \
	for ((var) = STAILQ_FIRST((head)); (var) && ((tvar) = STAILQ_NEXT((var), field), 1);        \
	     (var) = (tvar))
#endif

#define UNVMF_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define UNVMF_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNVMF_MIN(a, b) ((a) < (b) ? (a) : (b))
#define UNVMF_MAX(a, b) ((a) > (b) ? (a) : (b))
#define UNVMF_DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define UNVMF_ALIGN_UP(n, a) (((n) + (a) - 1) & ~((__typeof__(n))(a) - 1))
#define unvmf_likely(x) __builtin_expect(!!(x), 1)
#define unvmf_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Invariant checks: compiled in debug builds and in builds configured with
 * UNVMF_INVARIANTS=ON. They guard conditions that must be impossible by
 * construction; anything that can happen in production is handled, never
 * asserted (counts that must not go below zero are checked in every build).
 */
#if defined(UNVMF_DEBUG) || defined(UNVMF_INVARIANTS)
#define UNVMF_ASSERT(cond)                                                                         \
	do {                                                                                       \
		if (unvmf_unlikely(!(cond)))                                                       \
			unvmf_assert_fail(#cond, __FILE__, __LINE__, __func__);                    \
	} while (0)
#else
#define UNVMF_ASSERT(cond)                                                                         \
	do {                                                                                       \
		(void)sizeof(cond);                                                                \
	} while (0)
#endif

__attribute__((noreturn)) void unvmf_assert_fail(const char *expr, const char *file, int line,
						 const char *func);

/* Copies a C string into a fixed, space-padded identify field (no NUL). */
void unvmf_str_pad(void *dst, size_t len, const char *src);
/* strnlen-bounded copy that always NUL-terminates; returns -1 if src did not fit. */
int unvmf_strlcpy(char *dst, const char *src, size_t size);
