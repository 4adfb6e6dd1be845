#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/compiler.h"

static _Atomic int log_level = VD_LOG_NOTICE;
static _Atomic int log_target = VD_LOG_STDERR;
unsigned long vd_assert_failures;

static const char *const level_names[] = {
	[VD_LOG_CRIT] = "crit",       [VD_LOG_ERR] = "err",
	[VD_LOG_WARNING] = "warning", [VD_LOG_NOTICE] = "notice",
	[VD_LOG_INFO] = "info",       [VD_LOG_DEBUG] = "debug",
};

void vd_log_setup(enum vd_log_target target, enum vd_log_level level)
{
	if (target == VD_LOG_SYSLOG && atomic_load(&log_target) != VD_LOG_SYSLOG)
		openlog("vipdnsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&log_target, target);
	atomic_store(&log_level, level);
}

enum vd_log_level vd_log_get_level(void)
{
	return (enum vd_log_level)atomic_load_explicit(&log_level,
						      memory_order_relaxed);
}

int vd_log_level_parse(const char *s)
{
	for (size_t i = 0; i < VD_ARRAY_SIZE(level_names); i++)
		if (level_names[i] && strcmp(level_names[i], s) == 0)
			return (int)i;
	return -1;
}

void vd_log(enum vd_log_level level, const char *fmt, ...)
{
	if (!vd_log_enabled(level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (atomic_load(&log_target) == VD_LOG_SYSLOG) {
		syslog((int)level, "%s", msg);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char line[1200];
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ vipdnsd[%d] %s: %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(),
			 level_names[level], msg);
	if (n > 0) {
		size_t len = VD_MIN((size_t)n, sizeof(line) - 1);
		/* One write so lines from different threads never interleave. */
		ssize_t w = write(STDERR_FILENO, line, len);
		(void)w;
	}
}

bool vd_assert_failed(const char *file, int line, const char *expr)
{
	__atomic_fetch_add(&vd_assert_failures, 1, __ATOMIC_RELAXED);
	vd_log(VD_LOG_ERR, "%s:%d: assertion failed: %s", file, line, expr);
	return true;
}
