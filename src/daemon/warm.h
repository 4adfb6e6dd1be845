/*
 * Warm restarts: the answer cache written to cache-snapshot on stop and
 * read back on start (cache/snapshot.h has the format), and the same on
 * demand for `vipdnsctl cache-save` / `cache-load`.
 */
#ifndef VD_DAEMON_WARM_H
#define VD_DAEMON_WARM_H

#include <stddef.h>
#include <stdint.h>

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

/* cache-export's bound: a snapshot of this many answers fits the control
 * protocol's body limit with room to spare. */
#define VD_WARM_EXPORT_MAX 1000000u

/* The hottest n fresh answers as a snapshot in a malloc'd buffer. */
int vd_daemon_cache_export(struct vd_daemon *d, size_t n, uint8_t **buf,
			   size_t *len, size_t *entries);

/* Main thread, before the workers start (so before any announcement):
 * loads the configured snapshot and consumes it, so a crash later cannot
 * bring back answers flushed after this start; when that loaded nothing
 * and cache-warm-entries is set, asks the cluster peers in turn for their
 * hottest entries.  Logs what it did. */
void vd_daemon_warm_start(struct vd_daemon *d);
/* Main thread, after the workers stopped: writes the snapshot. */
void vd_daemon_warm_stop(struct vd_daemon *d);

#endif
