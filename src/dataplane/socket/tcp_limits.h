/*
 * What bounds the TCP data plane, kept apart from the sockets so that it
 * can be tested without a loop or a peer:
 *
 *  - the worker's connections in least-recently-used order, so that under
 *    pressure the earliest-idle one is reclaimed (RFC 7766 6.2.3);
 *  - the open connections per client prefix (/32 for IPv4, /56 for IPv6,
 *    an IPv4-mapped IPv6 peer counts as its IPv4 address) and in total,
 *    shared by every worker: SO_REUSEPORT spreads one client's
 *    connections over all workers, so a per-worker count would let it
 *    hold the limit times the workers;
 *  - the file descriptors the configured limits need (RLIMIT_NOFILE).
 */
#ifndef VD_DATAPLANE_SOCKET_TCP_LIMITS_H
#define VD_DATAPLANE_SOCKET_TCP_LIMITS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- least-recently-used order (one worker's, no locking) ---- */

struct vd_tcp_lru_node {
	struct vd_tcp_lru_node *prev, *next; /* prev = more recent */
	uint64_t last_ns;  /* last complete query, or the accept */
	unsigned inflight; /* queries waiting for recursion: not idle */
};

struct vd_tcp_lru {
	struct vd_tcp_lru_node *head; /* most recently used */
	struct vd_tcp_lru_node *tail; /* least recently used */
	unsigned n;
};

/* Adds n as the most recent, with last_ns = now. */
void vd_tcp_lru_push(struct vd_tcp_lru *l, struct vd_tcp_lru_node *n,
		     uint64_t now);
/* A complete query arrived on n: it becomes the most recent. */
void vd_tcp_lru_touch(struct vd_tcp_lru *l, struct vd_tcp_lru_node *n,
		      uint64_t now);
void vd_tcp_lru_remove(struct vd_tcp_lru *l, struct vd_tcp_lru_node *n);
/* The connection to reclaim: the least recently used one with nothing in
 * flight (a client waiting for a slow recursion is not idle), or NULL. */
struct vd_tcp_lru_node *vd_tcp_lru_pick_idle(const struct vd_tcp_lru *l);

/* ---- connections per client prefix, all workers ---- */

#define VD_TCP_CLIENT_PREFIX4 32
#define VD_TCP_CLIENT_PREFIX6 56

struct vd_tcp_clients_slot {
	uint64_t key; /* 0 = empty; see client_key() in tcp_limits.c */
	uint32_t conns;
};

struct vd_tcp_clients {
	pthread_mutex_t lock; /* taken at accept and close only */
	struct vd_tcp_clients_slot *slots;
	size_t mask;      /* slots - 1; a power of two */
	unsigned total;   /* open connections, every client */
	unsigned max_total;
};

/* Room for max_total connections (the descriptor budget) from as many
 * distinct prefixes.  Returns NULL on allocation failure. */
struct vd_tcp_clients *vd_tcp_clients_new(unsigned max_total);
void vd_tcp_clients_free(struct vd_tcp_clients *t); /* NULL-safe */
/*
 * Counts one more connection from sa if its prefix holds fewer than
 * per_client (0 = no per-client limit) and the total is below max_total.
 * Returns 0, -EUSERS (that client is at its limit), -ENFILE (the total
 * budget is used up) or -EAFNOSUPPORT.  Thread safe.
 */
int vd_tcp_clients_acquire(struct vd_tcp_clients *t, const struct sockaddr *sa,
			   unsigned per_client);
/* Undoes one successful acquire for sa.  Thread safe. */
void vd_tcp_clients_release(struct vd_tcp_clients *t,
			    const struct sockaddr *sa);
/* Open connections from sa's prefix (for tests and status). */
unsigned vd_tcp_clients_count(struct vd_tcp_clients *t,
			      const struct sockaddr *sa);

/* ---- file descriptors ---- */

/* Descriptors kept out of the TCP budget whatever the settings: control
 * socket and its clients, metrics, BIRD, health probes, logs, config and
 * trust anchor files, libunbound's own files. */
#define VD_FD_RESERVE_FIXED 512
/* Per worker on top of its listeners: libunbound's outgoing sockets, one
 * per recursion in flight at most plus its TCP pool. */
#define VD_FD_RESERVE_PER_WORKER 64

struct vd_fd_budget {
	unsigned long reserve; /* everything but client TCP connections */
	unsigned long tcp;     /* workers x tcp-max-connections */
	unsigned long need;    /* reserve + tcp */
};

void vd_fd_budget_compute(unsigned workers, unsigned n_listen,
			  unsigned tcp_max_connections,
			  unsigned max_recursions, struct vd_fd_budget *b);

#endif
