#include "resolve/engine.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>
#include <urcu.h>

#include "core/compiler.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "dns/dns.h"
#include "resolve/ubctx.h"

/*
 * A pair of libunbound contexts.  Renewing swaps in a fresh pair; the old
 * one lives on until the recursions started on it have called back.
 */
struct res_ctxs {
	struct ub_ctx *validating; /* NULL when dnssec = no */
	struct ub_ctx *plain;
	unsigned refs; /* recursions in flight on this pair */
	unsigned gen;
	struct res_ctxs *next; /* retired pairs */
	struct vd_rec *e;
};

struct vd_rec {
	struct vd_daemon *d;
	struct event_base *base;
	bool own_base; /* threaded mode */
	pthread_t thread;
	/* As for workers: run_lock orders starting against a renew run
	 * inline on an engine whose thread is not running. */
	pthread_mutex_t run_lock;
	bool started;
	/* Requests from workers, threaded mode: the same kind of queue as
	 * the workers' mailboxes, the other way round. */
	struct vd_rec_mbox inbox;
	struct event *wake;
	/* Engine thread only. */
	struct res_ctxs *cur;
	struct res_ctxs *pf[2]; /* made on first use */
	struct res_ctxs *retired;
	_Atomic unsigned gen;
};

/* Set while this thread deletes contexts: their callbacks then reach
 * requests whose owners may be gone, and must not touch them. */
static _Thread_local bool deleting;

static void ctxs_free(struct res_ctxs *c)
{
	if (!c)
		return;
	deleting = true;
	if (c->validating)
		ub_ctx_delete(c->validating);
	if (c->plain)
		ub_ctx_delete(c->plain);
	deleting = false;
	free(c);
}

static struct res_ctxs *ctxs_new(struct vd_rec *e, const struct vd_settings *st,
				 unsigned gen, char *err, size_t errlen)
{
	struct res_ctxs *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->e = e;
	c->gen = gen;
	c->plain = vd_res_ctx_new(e->base, st, false, err, errlen);
	if (!c->plain)
		goto fail;
	if (st->cfg.dnssec) {
		c->validating = vd_res_ctx_new(e->base, st, true, err, errlen);
		if (!c->validating)
			goto fail;
	}
	return c;
fail:
	ctxs_free(c);
	return NULL;
}

static bool ctxs_in_use(const struct vd_rec *e, const struct res_ctxs *c)
{
	return c == e->cur || c == e->pf[0] || c == e->pf[1];
}

static void ctxs_reap(evutil_socket_t fd, short what, void *arg)
{
	struct res_ctxs *c = arg;
	struct vd_rec *e = c->e;
	(void)fd;
	(void)what;
	for (struct res_ctxs **pp = &e->retired; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	ctxs_free(c);
}

/*
 * Drops a recursion's reference.  A retired pair whose last recursion
 * ended is deleted from the next loop turn, never from inside its own
 * callback (libunbound is still on the stack).
 */
static void ctxs_put(struct vd_rec *e, struct res_ctxs *c)
{
	vd_require(c->refs > 0);
	if (--c->refs > 0 || ctxs_in_use(e, c))
		return;
	struct timeval now = {0, 0};
	if (event_base_once(e->base, -1, EV_TIMEOUT, ctxs_reap, c, &now) != 0)
		vd_log(VD_LOG_WARNING, "cannot schedule a retired libunbound "
				       "context for deletion; it leaks");
}

static void retire(struct vd_rec *e, struct res_ctxs *c)
{
	if (!c)
		return;
	if (c->refs == 0) {
		ctxs_free(c); /* from the loop, not from libunbound */
		return;
	}
	c->next = e->retired;
	e->retired = c;
}

static void push(struct vd_rec_mbox *m, struct vd_rec_req *rq)
{
	rq->next = NULL;
	pthread_mutex_lock(&m->lock);
	bool was_empty = m->head == NULL;
	if (m->tail)
		m->tail->next = rq;
	else
		m->head = rq;
	m->tail = rq;
	pthread_mutex_unlock(&m->lock);
	if (was_empty) {
		uint64_t one = 1;
		/* Only EAGAIN at a counter near 2^64 can fail: the fd is
		 * readable then anyway. */
		(void)!write(m->efd, &one, sizeof(one));
	}
}

static void rec_done(void *arg, int rcode, void *packet, int packet_len,
		     int sec, char *why_bogus, int was_ratelimited)
{
	struct vd_rec_req *rq = arg;
	(void)was_ratelimited;
	if (deleting)
		return;
	struct vd_rec *e = rq->pair->e;
	rq->rcode = rcode;
	rq->sec = sec;
	rq->packet = NULL;
	rq->packet_len = 0;
	/* unbound-event.h: on error the packet is not to be inspected; the
	 * submitter must know there was one, not what it held. */
	if (packet && packet_len > 0) {
		rq->packet = malloc((size_t)packet_len);
		if (rq->packet) {
			memcpy(rq->packet, packet, (size_t)packet_len);
			rq->packet_len = (size_t)packet_len;
		} else if (rcode == 0) {
			rq->rcode = 2; /* SERVFAIL: the answer cannot be kept */
		}
	}
	rq->why_bogus = why_bogus ? strdup(why_bogus) : NULL;
	if (why_bogus && !rq->why_bogus)
		rq->sec = 1; /* still bogus without the reason */
	ctxs_put(e, rq->pair);
	rq->pair = NULL;
	push(rq->mbox, rq);
}

static void not_started(struct vd_rec_req *rq)
{
	rq->not_started = true;
	push(rq->mbox, rq);
}

static void resolve_one(struct vd_rec *e, struct vd_rec_req *rq)
{
	rq->not_started = false;
	rq->packet = NULL;
	rq->why_bogus = NULL;
	struct res_ctxs *pair = e->cur;
	if (rq->slot >= 0) {
		vd_require(rq->slot < 2);
		if (!e->pf[rq->slot]) {
			char err[256];
			rcu_read_lock();
			e->pf[rq->slot] = ctxs_new(
				e, rcu_dereference(e->d->settings),
				atomic_load(&e->gen), err, sizeof(err));
			rcu_read_unlock();
			if (!e->pf[rq->slot]) {
				vd_log(VD_LOG_ERR, "prefetch context: %s", err);
				not_started(rq);
				return;
			}
		}
		pair = e->pf[rq->slot];
	}
	char name[VD_DNS_NAME_MAX * 4 + 2];
	if (vd_dns_name_to_str(rq->qname, rq->qname_len, name, sizeof(name)) <
	    0) {
		not_started(rq);
		return;
	}
	struct ub_ctx *ctx =
		(rq->plain || !pair->validating) ? pair->plain : pair->validating;
	rq->validating = ctx == pair->validating;
	rq->gen = pair->gen;
	rq->pair = pair;
	pair->refs++;
	int async_id;
	/* libunbound may call rec_done() before this returns (local data,
	 * its own cache); rq may then be back with its owner already, so
	 * nothing here touches it after a successful call. */
	int rc = ub_resolve_event(ctx, name, rq->qtype, rq->qclass, rq,
				  rec_done, &async_id);
	if (rc != 0) {
		/* No callback will come: the reference is ours to drop. */
		ctxs_put(e, pair);
		rq->pair = NULL;
		vd_log(VD_LOG_ERR, "libunbound: cannot resolve %s: %s", name,
		       ub_strerror(rc));
		not_started(rq);
	}
}

static void rec_wake(evutil_socket_t fd, short what, void *arg)
{
	struct vd_rec *e = arg;
	(void)fd;
	(void)what;
	struct vd_rec_req *rq = vd_rec_mbox_take(&e->inbox);
	while (rq) {
		struct vd_rec_req *next = rq->next;
		resolve_one(e, rq);
		rq = next;
	}
}

void vd_rec_submit(struct vd_rec *e, struct vd_rec_req *rq)
{
	if (!e->own_base) {
		resolve_one(e, rq);
		return;
	}
	push(&e->inbox, rq);
}

unsigned vd_rec_gen(const struct vd_rec *e)
{
	return atomic_load(&e->gen);
}

struct vd_rec *vd_rec_create(struct vd_daemon *d, struct event_base *base,
			     char *err, size_t errlen)
{
	struct vd_rec *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->d = d;
	e->inbox.efd = -1;
	pthread_mutex_init(&e->run_lock, NULL);
	if (base) {
		e->base = base;
	} else {
		e->own_base = true;
		e->base = event_base_new();
		if (!e->base || vd_rec_mbox_init(&e->inbox) != 0) {
			snprintf(err, errlen, "cannot make the recursion loop");
			goto fail;
		}
		e->wake = event_new(e->base, e->inbox.efd, EV_READ | EV_PERSIST,
				    rec_wake, e);
		if (!e->wake || event_add(e->wake, NULL) != 0) {
			snprintf(err, errlen, "cannot watch the recursion queue");
			goto fail;
		}
	}
	rcu_read_lock();
	e->cur = ctxs_new(e, rcu_dereference(d->settings), 0, err, errlen);
	rcu_read_unlock();
	if (!e->cur)
		goto fail;
	return e;
fail:
	vd_rec_destroy(e);
	return NULL;
}

static void *rec_main(void *arg)
{
	struct vd_rec *e = arg;
	rcu_register_thread();
	event_base_loop(e->base, EVLOOP_NO_EXIT_ON_EMPTY);
	rcu_unregister_thread();
	return NULL;
}

int vd_rec_start(struct vd_rec *e)
{
	if (!e->own_base)
		return 0;
	pthread_mutex_lock(&e->run_lock);
	int rc = pthread_create(&e->thread, NULL, rec_main, e);
	e->started = rc == 0;
	pthread_mutex_unlock(&e->run_lock);
	if (rc != 0)
		return -rc;
	pthread_setname_np(e->thread, "vd-recursion");
	return 0;
}

void vd_rec_stop(struct vd_rec *e)
{
	pthread_mutex_lock(&e->run_lock);
	bool started = e->started;
	pthread_mutex_unlock(&e->run_lock);
	if (!started)
		return;
	/* The base is notifiable: evthread_use_pthreads() ran before it was
	 * made (vd_daemon_init). */
	event_base_loopexit(e->base, NULL);
	pthread_join(e->thread, NULL);
	pthread_mutex_lock(&e->run_lock);
	e->started = false;
	pthread_mutex_unlock(&e->run_lock);
}

void vd_rec_destroy(struct vd_rec *e)
{
	if (!e)
		return;
	vd_rec_stop(e);
	ctxs_free(e->cur);
	ctxs_free(e->pf[0]);
	ctxs_free(e->pf[1]);
	while (e->retired) {
		struct res_ctxs *next = e->retired->next;
		ctxs_free(e->retired);
		e->retired = next;
	}
	if (e->wake)
		event_free(e->wake);
	if (e->own_base && e->base)
		event_base_free(e->base);
	vd_rec_mbox_fini(&e->inbox);
	pthread_mutex_destroy(&e->run_lock);
	free(e);
}

struct renew_call {
	struct vd_rec *e;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done, abandoned;
	int rc;
	char err[256];
};

static void renew_call_free(struct renew_call *call)
{
	pthread_mutex_destroy(&call->lock);
	pthread_cond_destroy(&call->cond);
	free(call);
}

static void renew_in_loop(evutil_socket_t fd, short what, void *arg)
{
	struct renew_call *call = arg;
	struct vd_rec *e = call->e;
	(void)fd;
	(void)what;
	char err[sizeof(call->err)] = "";
	unsigned gen = atomic_load(&e->gen) + 1;
	rcu_read_lock();
	struct res_ctxs *fresh =
		ctxs_new(e, rcu_dereference(e->d->settings), gen, err,
			 sizeof(err));
	rcu_read_unlock();
	if (fresh) {
		struct res_ctxs *old[3] = {e->cur, e->pf[0], e->pf[1]};
		e->cur = fresh;
		e->pf[0] = e->pf[1] = NULL; /* made again on first use */
		atomic_store(&e->gen, gen);
		for (size_t i = 0; i < VD_ARRAY_SIZE(old); i++)
			retire(e, old[i]);
	}
	pthread_mutex_lock(&call->lock);
	call->rc = fresh ? 0 : -EINVAL;
	snprintf(call->err, sizeof(call->err), "%s", err);
	call->done = true;
	bool abandoned = call->abandoned;
	pthread_cond_signal(&call->cond);
	pthread_mutex_unlock(&call->lock);
	if (abandoned)
		renew_call_free(call);
}

int vd_rec_renew(struct vd_rec *e, char *err, size_t errlen)
{
	struct renew_call *call = calloc(1, sizeof(*call));
	if (!call) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	call->e = e;
	pthread_mutex_init(&call->lock, NULL);
	pthread_cond_init(&call->cond, NULL);
	struct timeval now = {0, 0};
	pthread_mutex_lock(&e->run_lock);
	if (!e->started) {
		/* Inline, or a thread not running and unable to start
		 * under the lock: nobody else is in the loop. */
		renew_in_loop(-1, 0, call);
	} else if (event_base_once(e->base, -1, EV_TIMEOUT, renew_in_loop,
				   call, &now) != 0) {
		call->done = true;
		call->rc = -EIO;
		snprintf(call->err, sizeof(call->err),
			 "cannot reach the recursion thread");
	}
	pthread_mutex_unlock(&e->run_lock);

	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&call->lock);
	while (!call->done)
		if (pthread_cond_timedwait(&call->cond, &call->lock,
					   &deadline) == ETIMEDOUT)
			break;
	int rc = call->done ? call->rc : -ETIMEDOUT;
	snprintf(err, errlen, "%s",
		 call->done ? call->err : "the recursion thread did not answer");
	/* Not done: the engine frees call when it gets to it. */
	bool keep = !call->done;
	call->abandoned = keep;
	pthread_mutex_unlock(&call->lock);
	if (!keep)
		renew_call_free(call);
	if (rc == 0)
		synchronize_rcu();
	return rc;
}

int vd_rec_mbox_init(struct vd_rec_mbox *m)
{
	memset(m, 0, sizeof(*m));
	m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->efd < 0)
		return -errno;
	pthread_mutex_init(&m->lock, NULL);
	return 0;
}

void vd_rec_mbox_fini(struct vd_rec_mbox *m)
{
	if (m->efd < 0)
		return;
	close(m->efd);
	m->efd = -1;
	pthread_mutex_destroy(&m->lock);
}

struct vd_rec_req *vd_rec_mbox_take(struct vd_rec_mbox *m)
{
	uint64_t n;
	(void)!read(m->efd, &n, sizeof(n));
	pthread_mutex_lock(&m->lock);
	struct vd_rec_req *rq = m->head;
	m->head = m->tail = NULL;
	pthread_mutex_unlock(&m->lock);
	return rq;
}

void vd_rec_req_clear(struct vd_rec_req *rq)
{
	free(rq->packet);
	free(rq->why_bogus);
	rq->packet = NULL;
	rq->packet_len = 0;
	rq->why_bogus = NULL;
}
