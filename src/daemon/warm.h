/*
 * Warm restarts: the answer cache written to cache-snapshot on stop and
 * read back on start (cache/snapshot.h has the format), and the same on
 * demand for `vipdnsctl cache-save` / `cache-load`.
 */
#ifndef VD_DAEMON_WARM_H
#define VD_DAEMON_WARM_H

#include <stddef.h>

#include "cache/snapshot.h"

struct vd_daemon;

/* Writes the cache to path (absolute).  Any thread registered with RCU,
 * outside a read-side section.  0 or -errno with the reason in err. */
int vd_daemon_cache_save(struct vd_daemon *d, const char *path, size_t *n,
			 char *err, size_t errlen);
/* Loads path into the running cache (whole or not at all). */
int vd_daemon_cache_load(struct vd_daemon *d, const char *path,
			 struct vd_snapshot_counts *cnt, char *err,
			 size_t errlen);

/* Main thread, before the workers start (so before any announcement):
 * loads the configured snapshot and consumes it, so a crash later cannot
 * bring back answers flushed after this start.  Logs what it did. */
void vd_daemon_warm_start(struct vd_daemon *d);
/* Main thread, after the workers stopped: writes the snapshot. */
void vd_daemon_warm_stop(struct vd_daemon *d);

#endif
