/*
 * The node's recursion engine: one set of libunbound contexts that every
 * worker shares, so the delegation, infrastructure (RTT, lameness, EDNS)
 * and key caches are one, as in Unbound's own daemon, and what a recursion
 * learnt for one worker serves all of them.  libunbound's mesh also
 * merges identical questions from different workers into one upstream
 * query.
 *
 * The contexts run on the engine's own thread and event base.  A worker
 * hands it a request (vd_rec_submit) and gets that request back exactly
 * once, with the outcome filled in, in its mailbox: an eventfd on the
 * worker's base, so no libevent call crosses threads.  The worker keeps
 * everything about its clients (waiters, coalescing, timeouts, the answer
 * cache); the engine only asks libunbound.
 *
 * In inline mode (unit tests) the engine runs on the caller's base and
 * thread instead; requests are handed to libunbound at once and results
 * still come back through the mailbox, on the next loop turn.
 */
#ifndef VD_RESOLVE_ENGINE_H
#define VD_RESOLVE_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct vd_daemon;
struct res_ctxs;

/* A worker's inbox for requests coming back.  Thread safe. */
struct vd_rec_mbox {
	pthread_mutex_t lock;
	struct vd_rec_req *head, *tail;
	int efd; /* eventfd: readable while requests wait */
};

/* The pairs a request may use: clients' misses, or one of the two
 * prefetch pairs (resolve.c, prefetch_got_old(), says why two). */
#define VD_REC_CLIENTS (-1)

struct vd_rec_req {
	struct vd_rec_req *next; /* engine queue, then mailbox */
	struct vd_rec_mbox *mbox;
	/* The question.  qname points into the submitter's memory, which
	 * must stay unchanged until the request is back. */
	const uint8_t *qname;
	size_t qname_len;
	uint16_t qtype, qclass;
	int slot;   /* VD_REC_CLIENTS, 0 or 1 */
	bool plain; /* without validation (CD=1 after a bogus answer) */
	/* The outcome: the submitter's to read once the request is back. */
	bool not_started; /* libunbound refused it: no result fields */
	bool validating;  /* resolved by a validating context */
	int rcode, sec;
	uint8_t *packet; /* a copy (malloc), or NULL; vd_rec_req_clear() */
	size_t packet_len;
	char *why_bogus; /* a copy (malloc), or NULL */
	unsigned gen;    /* vd_rec_gen() of the contexts that resolved it */
	/* The engine's. */
	struct res_ctxs *pair;
};

struct vd_rec;

/*
 * Builds the contexts from d's settings.  base NULL: the engine gets a
 * thread and a base of its own (vd_rec_start()); otherwise it runs inline
 * on base.  Returns NULL with the reason in err (bad root hints or trust
 * anchor file, no memory).
 */
struct vd_rec *vd_rec_create(struct vd_daemon *d, struct event_base *base,
			     char *err, size_t errlen);
/* Starts the thread (no-op inline).  The calling thread must be
 * registered with RCU; the thread inherits its credentials, so start after
 * the privilege drop.  Returns 0 or a negative errno. */
int vd_rec_start(struct vd_rec *e);
/* Stops and joins the thread; requests still in libunbound stay there
 * and never come back.  Call once no worker submits any more. */
void vd_rec_stop(struct vd_rec *e);
/* Stops if needed and deletes the contexts.  Requests not yet back are
 * never returned: their submitters free them.  NULL-safe. */
void vd_rec_destroy(struct vd_rec *e);

/* Hands rq to libunbound.  It comes back to rq->mbox exactly once, with
 * not_started set if libunbound would not take it.  Thread safe. */
void vd_rec_submit(struct vd_rec *e, struct vd_rec_req *rq);

/* Bumped by every renew; results of an older generation are not to be
 * stored.  Thread safe. */
unsigned vd_rec_gen(const struct vd_rec *e);

/*
 * Swaps in fresh contexts (empty caches, current settings), as a flush or
 * a reload of recursion options needs: libunbound cannot forget one name.
 * Requests in flight finish on the old contexts with the old generation.
 * Waits until the swap is done and then for an RCU grace period, so that
 * a worker which checked a result's generation inside a read section has
 * also finished storing it: after return, nothing from the old caches can
 * enter the answer cache.  Call from an RCU-registered thread outside a
 * read section, never from a worker or the engine.  Returns 0 or a
 * negative errno (err).
 */
int vd_rec_renew(struct vd_rec *e, char *err, size_t errlen);

int vd_rec_mbox_init(struct vd_rec_mbox *m);
void vd_rec_mbox_fini(struct vd_rec_mbox *m);
/* Takes every request waiting, oldest first, and clears the eventfd. */
struct vd_rec_req *vd_rec_mbox_take(struct vd_rec_mbox *m);

/* Frees the outcome's copies; the request can be submitted again. */
void vd_rec_req_clear(struct vd_rec_req *rq);

#endif
