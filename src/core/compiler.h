/* Small compiler and assertion helpers shared by every subsystem. */
#ifndef VD_CORE_COMPILER_H
#define VD_CORE_COMPILER_H

#include <stdbool.h>
#include <stdlib.h>

#include "core/log.h"

#define VD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define VD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define vd_likely(x) __builtin_expect(!!(x), 1)
#define vd_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Two tiers of assertion.  vd_require() guards invariants whose breach
 * would corrupt shared state: the process aborts (an anycast node that dies
 * withdraws its VIP).  vd_fails_assert() guards conditions the packet path
 * can survive: it logs, counts and lets the caller bail out.
 */
#define vd_require(cond)                                                       \
	do {                                                                   \
		if (vd_unlikely(!(cond))) {                                    \
			vd_log(VD_LOG_CRIT, "%s:%d: requirement failed: %s",   \
			       __FILE__, __LINE__, #cond);                     \
			abort();                                               \
		}                                                              \
	} while (0)

extern unsigned long vd_assert_failures;
bool vd_assert_failed(const char *file, int line, const char *expr);

#define vd_fails_assert(cond)                                                  \
	(vd_unlikely(!(cond)) ? vd_assert_failed(__FILE__, __LINE__, #cond)   \
			      : false)

#endif
