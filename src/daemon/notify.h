/*
 * The systemd service notification protocol (sd_notify(3)), spoken
 * directly: one datagram of "KEY=VALUE" lines to the unix socket named by
 * NOTIFY_SOCKET ('@' for the abstract namespace).  No libsystemd: the
 * protocol is stable and this is all of it we need.  Outside systemd
 * (NOTIFY_SOCKET unset) every call does nothing.
 *
 * vipdnsd sends READY=1 once its listeners are up and, with anycast, every
 * VIP has had its first health check; STOPPING=1 when a stop (drain)
 * begins; WATCHDOG=1 every half WATCHDOG_USEC while the main loop and
 * every worker loop are alive.  Main thread only.
 */
#ifndef VD_DAEMON_NOTIFY_H
#define VD_DAEMON_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC (WATCHDOG_PID, when set, must be
 * ours).  Returns true when a notification socket is configured. */
bool vd_notify_init(void);
/* Sends state (e.g. "READY=1\nSTATUS=serving").  Returns 0 or -errno;
 * 0 without a socket. */
int vd_notify(const char *state);
/* The watchdog interval in ns, 0 when systemd asked for none. */
uint64_t vd_notify_watchdog_ns(void);

#endif
