/*
 * Glue between the daemon and the XDP fast path: settings -> vd_xdp_opts,
 * prefetch requests from the program -> a worker's resolver, counters ->
 * the stats log and the other threads that report them.  Thread safe:
 * every function takes one lock around d->xdp, which a reload replaces.
 */
#ifndef VD_DATAPLANE_XDP_XDP_DAEMON_H
#define VD_DATAPLANE_XDP_XDP_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vd_xdp_shared.h"

struct vd_daemon;

/* Starts, updates or stops the fast path to match d->settings.  Failure is
 * logged and leaves the socket path answering everything: returns 0 or a
 * negative errno for the caller's information only. */
int vd_xdp_daemon_apply(struct vd_daemon *d);
/* Housekeeping tick: hands the program's prefetch requests to workers. */
void vd_xdp_daemon_tick(struct vd_daemon *d);
/* Logs one "xdp:" line with the counters (SIGUSR1 and exit). */
void vd_xdp_daemon_log_stats(struct vd_daemon *d);
/* Copies the program's counters (VD_XDP_CTR_*, summed over CPUs) and the
 * number of interfaces it is attached to.  Returns false (zeros) when the
 * fast path is off. */
bool vd_xdp_daemon_counters(struct vd_daemon *d,
			    uint64_t out[VD_XDP_CTR_MAX], size_t *attached);
/* The answers the program gave for a cache key (0 when the fast path is
 * off or the key is not mirrored).  Not from inside an RCU read-side
 * section: a stop running meanwhile may wait for a grace period. */
uint64_t vd_xdp_daemon_key_hits(struct vd_daemon *d, const uint8_t *key,
				size_t key_len);
/* Detaches and frees.  Before the cache is destroyed. */
void vd_xdp_daemon_stop(struct vd_daemon *d);

#endif
