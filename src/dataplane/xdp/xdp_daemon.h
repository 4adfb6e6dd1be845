/*
 * Glue between the daemon and the XDP fast path: settings -> vd_xdp_opts,
 * prefetch requests from the program -> a worker's resolver, counters ->
 * the stats log.  All functions run on the daemon's main thread.
 */
#ifndef VD_DATAPLANE_XDP_XDP_DAEMON_H
#define VD_DATAPLANE_XDP_XDP_DAEMON_H

struct vd_daemon;

/* Starts, updates or stops the fast path to match d->settings.  Failure is
 * logged and leaves the socket path answering everything: returns 0 or a
 * negative errno for the caller's information only. */
int vd_xdp_daemon_apply(struct vd_daemon *d);
/* Housekeeping tick: hands the program's prefetch requests to workers. */
void vd_xdp_daemon_tick(struct vd_daemon *d);
/* Logs one "xdp:" line with the counters (SIGUSR1 and exit). */
void vd_xdp_daemon_log_stats(struct vd_daemon *d);
/* Detaches and frees.  Before the cache is destroyed. */
void vd_xdp_daemon_stop(struct vd_daemon *d);

#endif
