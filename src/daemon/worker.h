/*
 * A worker: one thread, one libevent loop, its own SO_REUSEPORT sockets
 * and its recursions' waiters (the libunbound contexts are the node's,
 * resolve/engine.h).  Nothing of a worker is touched by another thread
 * except its counters (read-only), the loop-exit request and the
 * recursion mailbox.
 */
#ifndef VD_DAEMON_WORKER_H
#define VD_DAEMON_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/settings.h"
#include "daemon/stats.h"
#include "dataplane/socket/tcp_limits.h"

struct event_base;
struct event;
struct vd_daemon;
struct vd_res;
struct vd_udp;
struct vd_tcp_listener;
struct vd_tcp_conn;

#define VD_WORKER_MAX_SOCKETS 64

struct vd_worker {
	unsigned id;
	pthread_t thread;
	/*
	 * True from just before the thread is created until it is joined;
	 * read lock-free by the control and anycast threads.  run_lock
	 * orders starting against joining, so the two never race.
	 */
	_Atomic bool started;
	pthread_mutex_t run_lock;
	struct vd_daemon *daemon;
	struct event_base *base;
	struct vd_res *res;
	struct vd_udp *udp[VD_WORKER_MAX_SOCKETS];
	unsigned n_udp;
	struct vd_tcp_listener *tcp[VD_WORKER_MAX_SOCKETS];
	unsigned n_tcp;
	struct vd_tcp_lru tcp_lru; /* open TCP connections, LRU order */
	struct event *stop_timer;
	struct event *alive_timer;
	_Atomic uint64_t alive_ns; /* the loop's last tick (vd_worker_alive) */
	uint64_t stop_deadline_ns;
	_Atomic bool stopping; /* read by the anycast health thread */
	struct vd_stats stats;
};

/* Builds a worker: its loop, its recursion mailbox, one socket per
 * listen address and transport.  Returns NULL with the reason in err. */
struct vd_worker *vd_worker_new(struct vd_daemon *d, unsigned id,
				const struct vd_settings *st, char *err,
				size_t errlen);
/* The calling thread must be registered with RCU. */
int vd_worker_start(struct vd_worker *w);
/* Thread safe: stop reading, answer what was taken, end the loop. */
void vd_worker_request_stop(struct vd_worker *w);
void vd_worker_join(struct vd_worker *w);
/* True when w runs and its loop ticked within max_age_ns of now_ns: a
 * loop stuck in one callback stops ticking.  Thread safe. */
bool vd_worker_alive(const struct vd_worker *w, uint64_t now_ns,
		     uint64_t max_age_ns);
/* Joins if needed, then frees.  NULL-safe. */
void vd_worker_free(struct vd_worker *w);

/* The settings in force; valid inside an RCU read-side section. */
const struct vd_settings *vd_worker_settings(const struct vd_worker *w);

#endif
