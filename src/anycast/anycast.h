/*
 * The anycast subsystem: health decides, per VIP, whether BIRD announces
 * it (DESIGN.md principle 5; operator guide in docs/anycast.md).
 *
 *   VIP addresses   put on vip-interface over netlink with a short
 *                   lifetime, refreshed from the daemon's main-thread tick
 *                   (vip.h): they vanish within vip-lifetime seconds of a
 *                   crash, and BIRD's direct protocol takes the route away.
 *   health          its own thread probes each VIP every health-interval
 *                   (workers running, a listen address covering the VIP,
 *                   XDP attached when configured, the canary names
 *                   resolved through the VIP); health-rise / health-fall
 *                   consecutive results flip the VIP's state.
 *   BIRD            a state change rewrites the announce include and sends
 *                   `configure` on BIRD's control socket (birdconf.h,
 *                   birdctl.h); the BGP sessions and BFD stay up.
 *   drain           vipdnsctl drain or SIGTERM: GRACEFUL_SHUTDOWN community
 *                   for drain-gshut-time, then withdraw, keep answering;
 *                   SIGTERM exits once no query arrived for drain-quiet
 *                   (or after drain-timeout).  vipdnsctl undrain reverses.
 *
 * Threads: the vd_anycast_daemon_* entries run on the daemon's main
 * thread; control handlers on the control thread; metrics on the metrics
 * thread.  Shared state is under one mutex, never held across I/O.
 */
#ifndef VD_ANYCAST_ANYCAST_H
#define VD_ANYCAST_ANYCAST_H

#include <stdbool.h>
#include <stddef.h>

struct vd_daemon;
struct vd_config;
struct evbuffer;

/* Before the workers bind (the VIPs must exist to be bound): writes
 * bird.conf (when bird-config is set) and the announce include with
 * nothing announced, tells BIRD, then adds the VIP addresses.  Nothing
 * when anycast is off.  Returns 0 or a negative errno (logged). */
int vd_anycast_daemon_init(struct vd_daemon *d, const struct vd_config *cfg,
			   const char *config_path);
/* After the workers started: starts the health thread, registers the
 * control commands and the metrics. */
int vd_anycast_daemon_start(struct vd_daemon *d);
/* Main-thread tick (every 250 ms): refreshes the VIP lifetimes, samples
 * the query counters for drain. */
void vd_anycast_daemon_tick(struct vd_daemon *d);
/* New settings published: health and drain timers, canaries, bird.conf. */
void vd_anycast_daemon_reload(struct vd_daemon *d);
/* SIGTERM: starts a drain and returns true when anycast is on (the caller
 * keeps ticking until vd_anycast_daemon_stop_done()), else false. */
bool vd_anycast_daemon_begin_stop(struct vd_daemon *d);
bool vd_anycast_daemon_stop_done(struct vd_daemon *d);
/* True once every VIP has had a health check (whatever its result), or
 * when anycast is off: the point from which the node's state is known. */
bool vd_anycast_daemon_checked(struct vd_daemon *d);
/* Withdraws everything, removes the VIPs, stops the thread.  NULL-safe
 * (anycast off). */
void vd_anycast_daemon_stop(struct vd_daemon *d);

/* One line for `vipdnsctl status` / `health`, e.g. "2 of 2 VIPs
 * announced, BGP 1 of 1 established"; "not configured" when off. */
void vd_anycast_summary(struct vd_daemon *d, char *out, size_t cap);

/* Per-tunnel and per-neighbour BFD lines for `vipdnsctl status`
 * (links.h); nothing when anycast is off. */
void vd_anycast_links_text(struct vd_daemon *d, struct evbuffer *out);

#endif
