/*
 * The control server inside vipdnsd: the unix control socket (local
 * vipdnsctl) and, when cluster-listen is set, a mutual-TLS listener for
 * vipdnsctl --cluster.  Both speak control/proto.h.
 *
 * It runs on its own thread with its own libevent loop, so a slow client
 * or a long dump-cache never delays a worker or the main thread's cache
 * housekeeping; the thread is registered with RCU (flushes and dumps walk
 * the cache).  Access: on the unix socket the peer's credentials
 * (SO_PEERCRED, SO_PEERGROUPS) must be root, the daemon's own user, or a
 * member of control-socket-group, whatever the file mode says; on TLS the
 * peer must present a certificate signed by cluster-ca that names one of
 * the cluster-peer NAMEs, and only commands whose table entry admits
 * VD_CTL_CH_CLUSTER run (proto.h).  The unix socket and TLS have separate
 * connection budgets; TLS also a per-source cap and a handshake timeout.
 */
#ifndef VD_CONTROL_SERVER_H
#define VD_CONTROL_SERVER_H

#include <stddef.h>

#include "control/proto.h"

struct evbuffer;
struct vd_daemon;
struct vd_config;
struct vd_ctl;

/*
 * Binds the control socket (and the cluster listener) and starts the
 * thread.  Call as root, before privileges are dropped (the socket may
 * live in a root-owned directory).  *out is NULL when both are off.
 * Returns 0 or a negative errno (logged with the reason); a control
 * socket held by another running daemon is an error, a stale one is
 * replaced.
 */
int vd_ctl_start(struct vd_daemon *d, const struct vd_config *cfg,
		 const char *config_path, struct vd_ctl **out);
/* Stops the thread, closes the listeners, removes the socket file.
 * NULL-safe. */
void vd_ctl_stop(struct vd_ctl *c);

/*
 * Handlers other subsystems provide for their commands (the anycast
 * subsystem: drain, undrain, bird).  Until one is set those commands
 * answer "not available: anycast not configured".  fn runs on the control
 * thread; it appends its text to out and returns 0, or returns a negative
 * errno with a one-line reason in err.  Returns 0, -ENOENT (no such
 * command in the protocol table) or -ENOSPC.
 */
typedef int (*vd_ctl_handler_fn)(void *arg, const struct vd_ctl_request *req,
				 struct evbuffer *out, char *err,
				 size_t errlen);
int vd_ctl_set_handler(const char *cmd, vd_ctl_handler_fn fn, void *arg);

#endif
