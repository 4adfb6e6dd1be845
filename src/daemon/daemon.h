/*
 * The daemon: owns the settings, the shared answer cache and the workers,
 * and runs the lifecycle (start, SIGHUP reload, SIGTERM stop) from the
 * main thread.
 */
#ifndef VD_DAEMON_DAEMON_H
#define VD_DAEMON_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "cache/cache.h"
#include "daemon/settings.h"
#include "daemon/stats.h"
#include "daemon/worker.h"

#define VD_DAEMON_MAX_WORKERS 64

struct vd_xdp;
struct vd_anycast;
struct vd_rec;

struct vd_daemon {
	struct vd_settings *settings; /* RCU: rcu_dereference() to read */
	struct vd_cache *cache;
	struct vd_rec *rec; /* the recursion engine every worker shares */
	struct vd_xdp *xdp; /* NULL: XDP fast path off (dataplane/xdp/) */
	struct vd_anycast *anycast; /* NULL: anycast off (anycast/) */
	struct vd_worker *workers[VD_DAEMON_MAX_WORKERS];
	unsigned n_workers;
	char config_path[4096]; /* "" = built-in defaults */
};

/*
 * Creates the cache and the workers, binds every listener and builds the
 * libunbound contexts.  Returns 0 or a negative errno (logged).  Call as
 * root before vd_daemon_drop_privileges().
 */
int vd_daemon_init(struct vd_daemon *d, const struct vd_config *cfg,
		   const char *config_path);
int vd_daemon_drop_privileges(struct vd_daemon *d);
/* The signals the main thread takes synchronously (TERM, INT, HUP, USR1):
 * blocked in main() before any thread starts, waited for in run. */
void vd_daemon_signal_set(sigset_t *set);
/* Starts the worker threads, then runs signals and housekeeping on the
 * calling thread until SIGTERM/SIGINT.  Returns the exit status. */
int vd_daemon_run(struct vd_daemon *d);
/* Releases everything; safe after a failed init. */
void vd_daemon_fini(struct vd_daemon *d);

/* Rereads the config file (thread safe: callers are serialised; the caller
 * must be an RCU-registered thread outside a read section); on error logs
 * "file:line: reason" and keeps the
 * running settings.  Returns 0 or -EINVAL.  Once vd_daemon_run() runs, a
 * call from another thread is carried out by the main thread (which holds
 * the capabilities kept after the drop) and waits for it; -ECANCELED when
 * the daemon stops first. */
int vd_daemon_reload(struct vd_daemon *d);

/* Sums every worker's counters into out. */
void vd_daemon_stats(struct vd_daemon *d, struct vd_stats *out);

#endif
