/*
 * Logging to stderr or syslog with levels.  Thread safe: each message is
 * formatted into a stack buffer and written with one call.
 */
#ifndef VD_CORE_LOG_H
#define VD_CORE_LOG_H

enum vd_log_level {
	VD_LOG_CRIT = 2,
	VD_LOG_ERR = 3,
	VD_LOG_WARNING = 4,
	VD_LOG_NOTICE = 5,
	VD_LOG_INFO = 6,
	VD_LOG_DEBUG = 7,
};

enum vd_log_target {
	VD_LOG_STDERR = 0,
	VD_LOG_SYSLOG = 1,
};

/* Not thread safe: call before worker threads start (or from the thread
 * that owns reloads; a torn read of an int level is harmless). */
void vd_log_setup(enum vd_log_target target, enum vd_log_level level);
enum vd_log_level vd_log_get_level(void);
/* Parses "crit|err|warning|notice|info|debug"; returns -1 if unknown. */
int vd_log_level_parse(const char *s);

void vd_log(enum vd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vd_log_enabled(lvl) ((int)(lvl) <= (int)vd_log_get_level())

#endif
