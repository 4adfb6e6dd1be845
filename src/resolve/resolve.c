#include "resolve/resolve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>
#include <urcu.h>

#include "cache/cache.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/worker.h"
#include "dns/answer.h"
#include "resolve/ubctx.h"

#define RES_MAX_BUCKETS 65536u
/* RFC 8767 4 "failure recheck timer": after resolution of a stale name
 * failed (or was too slow), answer it stale at once for this long before
 * letting a client's query try the authorities again. */
#define RES_STALE_RECHECK_NS (30 * VD_NS_PER_SEC)
#define RES_FREELIST_MAX 1024u
/*
 * Clients waiting on all of a worker's recursions, per max-recursions:
 * past this a query is answered at once (stale or SERVFAIL, counted as
 * over_limit) instead of holding memory until its recursion ends.  The
 * factor is Unbound's (mesh.c drops a query when its reply addresses pass
 * 16 x num-queries-per-thread).  There is deliberately no bound per
 * recursion: a name everybody asks at once (a popular name expiring, a
 * client retrying) must not be SERVFAILed while its answer is on the way,
 * and Unbound has no such bound either; the worker-wide one already
 * limits the memory (one waiter is under 600 bytes).
 */
#define RES_MAX_WAITERS_PER_MAX_RECURSION 16u

struct res_waiter {
	struct res_waiter *next;
	uint64_t start_ns;
	struct vd_dns_query q;
	struct vd_reply_to dest;
};

/*
 * A pair of libunbound contexts.  Renewing (after a flush, or a reload
 * that changes recursion options) swaps in a fresh pair; the old one lives
 * on until the recursions started on it have called back.
 */
struct res_ctxs {
	struct ub_ctx *validating; /* NULL when dnssec = no */
	struct ub_ctx *plain;
	unsigned refs;             /* recursions in flight on this pair */
	struct res_ctxs *next;     /* retired pairs */
	struct vd_res *res;
};

struct res_pending {
	struct res_pending *hnext;             /* hash chain */
	struct res_pending *prev, *next;       /* age list, oldest first */
	struct vd_res *res;
	uint64_t hash;
	uint64_t start_ns;
	struct res_waiter *waiters;
	unsigned n_waiters;
	bool starting;      /* inside ub_resolve_event() */
	bool abandoned;     /* gave up, could not cancel: waits for res_done */
	bool finished_early; /* ...which already called res_done() */
	int async_id;       /* for ub_cancel() */
	struct ub_ctx *ctx; /* the context resolving it */
	bool prefetch;
	bool cd_plain;         /* CD=1, asked again without validation */
	int pf_slot;           /* prefetch context pair, or -1 */
	unsigned gen;          /* vd_res.gen when started */
	uint16_t key_len;
	uint8_t key[VD_DNS_KEY_MAX];
	struct vd_dns_query q; /* the first asker: name and flags to resolve */
	struct res_ctxs *ctxs; /* the pair ctx belongs to */
};

/* Scratch for turning a result into answers. */
struct res_bufs {
	uint8_t norm[VD_DNS_MSG_MAX];
	uint16_t ttl_offs[VD_DNS_ANSWER_MAX_RRS];
	uint8_t out[VD_DNS_MSG_MAX];
};

struct vd_res {
	struct vd_worker *w;
	struct res_ctxs *cur;
	/* Prefetches go through their own pairs, made on first use: see
	 * prefetch_got_old() for why there are two. */
	struct res_ctxs *pf[2];
	unsigned gen; /* bumped by vd_res_renew() */
	struct res_ctxs *retired;
	struct res_pending **buckets;
	size_t n_buckets;
	struct res_pending *oldest, *newest;
	unsigned outstanding;
	unsigned max_outstanding;
	unsigned waiting;     /* clients waiting, all recursions */
	unsigned max_waiting;
	unsigned done_depth;  /* res_done() nesting (see res_done) */
	bool dying;           /* vd_res_destroy() is tearing down */
	struct res_waiter *free_waiters;
	unsigned n_free_waiters;
	struct event *timer;
	struct res_bufs bufs;
};

static struct res_ctxs *ctxs_new(struct vd_res *r, const struct vd_settings *st,
				 char *err, size_t errlen);

static struct res_waiter *waiter_get(struct vd_res *r)
{
	struct res_waiter *wt = r->free_waiters;
	if (wt) {
		r->free_waiters = wt->next;
		r->n_free_waiters--;
		return wt;
	}
	return malloc(sizeof(*wt));
}

static void waiter_put(struct vd_res *r, struct res_waiter *wt)
{
	if (r->n_free_waiters >= RES_FREELIST_MAX) {
		free(wt);
		return;
	}
	wt->next = r->free_waiters;
	r->free_waiters = wt;
	r->n_free_waiters++;
}

static struct res_pending **bucket_of(struct vd_res *r, uint64_t hash)
{
	return &r->buckets[hash & (r->n_buckets - 1)];
}

static struct res_pending *pending_find(struct vd_res *r, const uint8_t *key,
					size_t key_len, uint64_t hash)
{
	/* A recursion on a retired pair may answer from a flushed cache:
	 * new askers do not join it. */
	for (struct res_pending *p = *bucket_of(r, hash); p; p = p->hnext)
		if (p->gen == r->gen && !p->abandoned && p->hash == hash &&
		    p->key_len == key_len &&
		    memcmp(p->key, key, key_len) == 0)
			return p;
	return NULL;
}

static void pending_unlink(struct vd_res *r, struct res_pending *p)
{
	struct res_pending **pp = bucket_of(r, p->hash);
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	if (p->prev)
		p->prev->next = p->next;
	else
		r->oldest = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		r->newest = p->prev;
	r->outstanding--;
	VD_STAT_SET(&r->w->stats, outstanding, r->outstanding);
}

static void answer_failure(struct vd_res *r, struct res_pending *p,
			   struct res_waiter *wt, int ede, uint8_t *out)
{
	size_t n = vd_pipeline_answer_failure(r->w, &wt->q, p->key, p->key_len,
					      p->hash, &wt->dest, ede, out,
					      VD_DNS_MSG_MAX);
	vd_pipeline_send(r->w, &wt->dest, out, n);
	vd_stats_observe(&r->w->stats.answer_time, vd_now_ns() - wt->start_ns);
}

static void release_waiters(struct vd_res *r, struct res_pending *p)
{
	struct res_waiter *wt = p->waiters;
	while (wt) {
		struct res_waiter *next = wt->next;
		waiter_put(r, wt);
		wt = next;
	}
	p->waiters = NULL;
	r->waiting -= p->n_waiters;
	p->n_waiters = 0;
}

/*
 * A SERVFAIL to remember briefly (RFC 9520): made up here when libunbound
 * gave no usable packet, so repeated queries for a failing name do not
 * each start a recursion.
 */
static size_t synth_servfail(const struct res_pending *p,
			     const struct vd_settings *st, uint8_t *norm,
			     struct vd_dns_answer_meta *meta)
{
	struct vd_dns_query q = p->q;
	q.has_edns = false; /* stored answers carry no OPT */
	q.id = 0;
	memcpy(q.qname, p->key + VD_DNS_KEY_HDR, q.qname_len);
	struct vd_dns_resp_opts ro = {.max_size = VD_DNS_MSG_MAX, .ede = -1};
	size_t n = vd_dns_answer_error(&q, VD_DNS_RCODE_SERVFAIL, &ro, norm,
				       VD_DNS_MSG_MAX);
	memset(meta, 0, sizeof(*meta));
	meta->wire_len = (uint16_t)n;
	meta->qname_len = q.qname_len;
	meta->kind = VD_DNS_ANSWER_SERVFAIL;
	meta->rcode = VD_DNS_RCODE_SERVFAIL;
	meta->ttl = st->cfg.servfail_ttl;
	return n;
}

static void ctxs_free(struct res_ctxs *c)
{
	if (!c)
		return;
	if (c->validating)
		ub_ctx_delete(c->validating);
	if (c->plain)
		ub_ctx_delete(c->plain);
	free(c);
}

static void ctxs_reap(evutil_socket_t fd, short what, void *arg)
{
	struct res_ctxs *c = arg;
	struct vd_res *r = c->res;
	(void)fd;
	(void)what;
	for (struct res_ctxs **pp = &r->retired; *pp; pp = &(*pp)->next)
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
static void ctxs_put(struct vd_res *r, struct res_ctxs *c)
{
	vd_require(c->refs > 0);
	if (--c->refs > 0 || c == r->cur || c == r->pf[0] || c == r->pf[1])
		return;
	struct timeval now = {0, 0};
	if (event_base_once(r->w->base, -1, EV_TIMEOUT, ctxs_reap, c, &now) != 0)
		vd_log(VD_LOG_WARNING, "cannot schedule a retired libunbound "
				       "context for deletion; it leaks");
}

static int prefetch_start(struct vd_res *r, const struct vd_dns_query *q,
			  const uint8_t *key, size_t key_len, uint64_t hash,
			  int slot);

/* A prefetch that did not replace its entry lets a later hit try again. */
static void prefetch_clear(struct vd_res *r, const struct res_pending *p)
{
	const struct vd_cache_entry *e =
		vd_cache_lookup(r->w->daemon->cache, p->key, p->key_len, p->hash);
	if (e)
		atomic_store(&((struct vd_cache_entry *)e)->prefetching, 0);
}

/*
 * libunbound has no "skip the cache" flag, and the answer we want to
 * refresh came from its cache with the same expiry: asking the context
 * that fetched it hands the same answer back.  Prefetches therefore use
 * two contexts of their own, tried in turn.  In steady state a name's
 * refreshes alternate between them, so one of the two holds a copy at
 * least one refresh old, long expired, and goes to the authorities.  A
 * result that expires no later than the entry it should refresh is such
 * a cached copy: it is not stored, and the other context is asked.
 * Returns true when the result is not to be stored; *handed_on tells
 * whether a second prefetch took over the entry's prefetching flag.
 */
static bool prefetch_got_old(struct vd_res *r, const struct res_pending *p,
			     const struct vd_dns_answer_meta *meta, uint64_t now,
			     bool *handed_on)
{
	const struct vd_cache_entry *old =
		vd_cache_lookup(r->w->daemon->cache, p->key, p->key_len, p->hash);
	if (!old || now + (uint64_t)meta->ttl * VD_NS_PER_SEC >
			    old->expire_ns + VD_NS_PER_SEC)
		return false;
	if (p->pf_slot == 0 &&
	    prefetch_start(r, &p->q, p->key, p->key_len, p->hash, 1) == 0)
		*handed_on = true;
	return true;
}

/* Answers every waiter of p as a failed recursion: fresh or stale from
 * the cache when it can, else SERVFAIL with ede. */
static void answer_all_failure(struct vd_res *r, struct res_pending *p,
			       int ede, uint8_t *out)
{
	for (struct res_waiter *wt = p->waiters; wt; wt = wt->next)
		answer_failure(r, p, wt, ede, out);
}

/*
 * What libunbound reported, before anything reads the packet.  On error
 * (rcode != 0) unbound-event.h says not to inspect it: libunbound then
 * hands over its receive buffer as it stands, which can be the last
 * upstream reply, unvalidated, carrying the very question we asked.
 * RFC 8509 key-sentinel failures come as sec 0 with why_bogus set; any
 * why_bogus means the validator rejected the answer.
 */
static bool result_failed(int rcode, int sec, const char *why_bogus, int *ede)
{
	if (sec == 1 || why_bogus) {
		*ede = VD_DNS_EDE_DNSSEC_BOGUS;
		return true;
	}
	*ede = VD_DNS_EDE_NO_REACHABLE_AUTHORITY;
	return rcode != 0;
}

static int start_recursion(struct vd_res *r, struct res_pending *p);

/*
 * A CD=1 query the validating context answered bogus: the client asked
 * for the data unchecked, so the plain context resolves it; its waiters
 * stay joined.  Not when libunbound answered from inside
 * ub_resolve_event() (start_recursion() still owns p), nor for a retired
 * pair.  Returns true when the retry took over p.
 */
static bool cd_retry(struct vd_res *r, struct res_pending *p, int sec,
		     const char *why_bogus)
{
	if (!(p->q.flags & VD_DNS_F_CD) || p->cd_plain || p->starting ||
	    p->gen != r->gen || (sec != 1 && !why_bogus) ||
	    p->ctx != p->ctxs->validating)
		return false;
	ctxs_put(r, p->ctxs);
	p->cd_plain = true;
	if (start_recursion(r, p) == 0)
		return true;
	/* could not ask again: end it as the bogus result it is */
	p->ctxs->refs++;
	p->cd_plain = false;
	return false;
}

static void res_done(void *arg, int rcode, void *packet, int packet_len,
		     int sec, char *why_bogus, int was_ratelimited)
{
	struct res_pending *p = arg;
	struct vd_res *r = p->res;
	struct vd_worker *w = r->w;
	(void)was_ratelimited;

	if (r->dying) {
		/* ub_ctx_delete() fails what it could not cancel: nobody is
		 * left to answer, and the contexts are going anyway. */
		pending_unlink(r, p);
		for (struct res_waiter *wt = p->waiters; wt; wt = wt->next)
			vd_pipeline_release(w, &wt->dest);
		release_waiters(r, p);
		free(p);
		return;
	}
	if (cd_retry(r, p, sec, why_bogus))
		return;
	rcu_read_lock();
	const struct vd_settings *st = vd_worker_settings(w);
	uint64_t now = vd_now_ns();
	pending_unlink(r, p);
	/* Results from a retired pair answer their waiters but are not
	 * stored: they may come from the cache an operator just flushed. */
	bool current = p->gen == r->gen;
	ctxs_put(r, p->ctxs);
	int ede;
	bool failed = result_failed(rcode, sec, why_bogus, &ede);
	bool handed_on = false; /* a second prefetch owns the flag now */
	bool stored = false;    /* the entry was replaced (flag clear) */

	/*
	 * Answering a waiter must not lead back here, but should it ever
	 * (a data plane starting a recursion that libunbound completes
	 * synchronously), the nested call gets scratch of its own rather
	 * than overwrite the answer the outer one is still handing out.
	 * Without memory for it the waiters still get their one answer:
	 * a failure answer needs only the out buffer, which the outer call
	 * has finished with once it is sending.
	 */
	struct res_bufs *b = &r->bufs, *heap = NULL;
	if (r->done_depth > 0) {
		heap = malloc(sizeof(*heap));
		if (!heap) {
			VD_STAT_INC(&w->stats, recursion_failures);
			answer_all_failure(r, p, ede, r->bufs.out);
			goto out_unnested;
		}
		b = heap;
	}
	r->done_depth++;

	struct vd_dns_norm_opts no = {
		.strip_dnssec = !vd_dns_query_do(&p->q),
		.secure = sec == 2,
		.min_ttl = st->cfg.cache_min_ttl,
		.max_ttl = st->cfg.cache_max_ttl,
		.max_neg_ttl = st->cfg.cache_max_negative_ttl,
		.servfail_ttl = st->cfg.servfail_ttl,
	};
	struct vd_dns_answer_meta meta;
	int rc = -EIO;
	if (!failed) {
		rc = -EBADMSG;
		if (packet && packet_len > 0)
			rc = vd_dns_answer_normalise(
				packet, (size_t)packet_len, &p->q, &no, b->norm,
				sizeof(b->norm), b->ttl_offs,
				VD_ARRAY_SIZE(b->ttl_offs), &meta);
		failed = rc != 0 || meta.rcode == VD_DNS_RCODE_SERVFAIL;
	}

	vd_stats_observe(&w->stats.recursion_time, now - p->start_ns);
	if (!failed)
		VD_STAT_SET(&w->stats, last_recursion_ok_ns, now);
	if (failed) {
		VD_STAT_INC(&w->stats, recursion_failures);
		if (why_bogus)
			vd_log(VD_LOG_INFO, "bogus answer for key hash %016llx: %s",
			       (unsigned long long)p->hash, why_bogus);
		else if (rcode != 0)
			vd_log(VD_LOG_INFO, "recursion failed for key hash "
					    "%016llx: rcode %d",
			       (unsigned long long)p->hash, rcode);
		else if (rc != 0 && packet)
			vd_log(VD_LOG_INFO, "unusable recursion result (%s)",
			       strerror(-rc));
		/*
		 * An answer still in the cache beats SERVFAIL and must not be
		 * displaced by the failure: a fresh one (another worker stored
		 * it meanwhile, or the entry a failed prefetch was to refresh)
		 * is served as it is, an expired one within the serve-stale
		 * window (RFC 8767 4) as stale.  A failed prefetch stores
		 * nothing either way; its joined waiters are answered here.
		 */
		const struct vd_cache_entry *old = vd_cache_lookup(
			w->daemon->cache, p->key, p->key_len, p->hash);
		bool usable = old && old->meta.kind != VD_DNS_ANSWER_SERVFAIL &&
			      (now < old->expire_ns ||
			       (st->stale_max_ns &&
				now <= old->expire_ns + st->stale_max_ns));
		if (usable && now >= old->expire_ns)
			atomic_store_explicit(
				&((struct vd_cache_entry *)old)->stale_retry_ns,
				now + RES_STALE_RECHECK_NS, memory_order_relaxed);
		if (usable || p->prefetch) {
			answer_all_failure(r, p, ede, b->out);
			goto out;
		}
		if (rc != 0)
			synth_servfail(p, st, b->norm, &meta);
		rc = 0;
	}
	bool store = current;
	if (!failed && current && p->prefetch &&
	    prefetch_got_old(r, p, &meta, now, &handed_on))
		store = false; /* the waiters may still have it */
	int irc = store ? vd_cache_insert(w->daemon->cache, p->key, p->key_len,
					  p->hash, b->norm, &meta, b->ttl_offs,
					  now)
			: 0;
	if (irc != 0 && irc != -E2BIG)
		vd_log(VD_LOG_WARNING, "cache insert failed: %s", strerror(-irc));
	stored = store && irc == 0;
	for (struct res_waiter *wt = p->waiters; wt; wt = wt->next) {
		size_t n;
		if (failed)
			n = vd_pipeline_answer_failure(w, &wt->q, p->key,
						       p->key_len, p->hash,
						       &wt->dest, ede, b->out,
						       sizeof(b->out));
		else
			n = vd_pipeline_answer_stored(w, &wt->q, &wt->dest,
						      b->norm, &meta,
						      b->ttl_offs, 0, false,
						      b->out, sizeof(b->out));
		vd_pipeline_send(w, &wt->dest, b->out, n);
		vd_stats_observe(&w->stats.answer_time, now - wt->start_ns);
	}
out:
	r->done_depth--;
out_unnested:
	/* A stored refresh replaced the entry, whose flag starts clear (and
	 * may be another prefetch's by now); any other end of a prefetch
	 * clears the flag it was started under. */
	if (p->prefetch && !handed_on && !stored)
		prefetch_clear(r, p);
	release_waiters(r, p);
	if (p->starting)
		p->finished_early = true; /* start_recursion() frees it */
	else
		free(p);
	rcu_read_unlock();
	free(heap);
}

static int start_recursion(struct vd_res *r, struct res_pending *p)
{
	char name[VD_DNS_NAME_MAX * 4 + 2];
	if (vd_dns_name_to_str(p->key + VD_DNS_KEY_HDR,
			       p->key_len - VD_DNS_KEY_HDR, name,
			       sizeof(name)) < 0)
		return -EINVAL;
	/*
	 * CD=1 (RFC 4035 3.2.2) goes through the validating context too: its
	 * data is the same whenever it validates (secure or insecure), and
	 * then the plain context's cache stays cold and the authorities are
	 * not asked twice for what this worker already learnt.  Only an
	 * answer the validator rejects is asked again without validation
	 * (res_done), which is what a CD=1 client wants then.
	 */
	struct res_ctxs *pair = p->pf_slot >= 0 ? r->pf[p->pf_slot] : r->cur;
	struct ub_ctx *ctx = (p->cd_plain || !pair->validating)
				     ? pair->plain
				     : pair->validating;
	p->ctxs = pair;
	p->ctx = ctx;
	pair->refs++;
	/*
	 * libunbound may call res_done() before ub_resolve_event() returns
	 * (local data, its own cache); res_done() then leaves p for us to
	 * free, and writes nothing we read after the call but the flag.
	 */
	int async_id = 0;
	VD_STAT_INC(&r->w->stats, recursions);
	p->starting = true;
	int rc = ub_resolve_event(ctx, name, p->q.qtype, p->q.qclass, p,
				  res_done, &async_id);
	p->starting = false;
	if (p->finished_early) {
		free(p);
		return 0;
	}
	p->async_id = async_id;
	if (rc != 0) {
		/* No callback will come: the reference is ours to drop. */
		pair->refs--;
		vd_log(VD_LOG_ERR, "libunbound: cannot resolve %s: %s", name,
		       ub_strerror(rc));
		return -EIO;
	}
	return 0;
}

static struct res_pending *pending_new(struct vd_res *r,
				       const struct vd_dns_query *q,
				       const uint8_t *key, size_t key_len,
				       uint64_t hash)
{
	struct res_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->res = r;
	p->hash = hash;
	p->key_len = (uint16_t)key_len;
	memcpy(p->key, key, key_len);
	p->q = *q;
	p->pf_slot = -1;
	p->gen = r->gen;
	p->start_ns = vd_now_ns();
	struct res_pending **b = bucket_of(r, hash);
	p->hnext = *b;
	*b = p;
	p->prev = r->newest;
	if (r->newest)
		r->newest->next = p;
	else
		r->oldest = p;
	r->newest = p;
	r->outstanding++;
	VD_STAT_SET(&r->w->stats, outstanding, r->outstanding);
	return p;
}

int vd_res_submit(struct vd_res *r, const struct vd_dns_query *q,
		  const uint8_t *key, size_t key_len, uint64_t hash,
		  const struct vd_reply_to *dest)
{
	struct res_pending *p = pending_find(r, key, key_len, hash);
	bool fresh = p == NULL;
	if (fresh && r->outstanding >= r->max_outstanding)
		return -EBUSY;
	if (r->waiting >= r->max_waiting)
		return -EBUSY;

	struct res_waiter *wt = waiter_get(r);
	if (!wt)
		return -ENOMEM;
	wt->q = *q;
	wt->dest = *dest;
	wt->start_ns = vd_now_ns();
	if (!fresh) {
		VD_STAT_INC(&r->w->stats, coalesced);
		wt->next = p->waiters;
		p->waiters = wt;
		p->n_waiters++;
		r->waiting++;
		return 0;
	}
	p = pending_new(r, q, key, key_len, hash);
	if (!p) {
		waiter_put(r, wt);
		return -ENOMEM;
	}
	wt->next = NULL;
	p->waiters = wt;
	p->n_waiters = 1;
	r->waiting++;
	int rc = start_recursion(r, p);
	if (rc != 0) {
		pending_unlink(r, p);
		release_waiters(r, p);
		free(p);
		return rc;
	}
	return 0;
}

static int prefetch_start(struct vd_res *r, const struct vd_dns_query *q,
			  const uint8_t *key, size_t key_len, uint64_t hash,
			  int slot)
{
	/* Prefetch is a luxury: it never takes the last half of the bound
	 * that clients' misses need. */
	if (r->outstanding >= r->max_outstanding / 2 ||
	    pending_find(r, key, key_len, hash))
		return -EBUSY;
	if (!r->pf[slot]) {
		char err[256];
		rcu_read_lock();
		r->pf[slot] = ctxs_new(r, vd_worker_settings(r->w), err,
				       sizeof(err));
		rcu_read_unlock();
		if (!r->pf[slot]) {
			vd_log(VD_LOG_ERR, "prefetch context: %s", err);
			return -ENOMEM;
		}
	}
	struct res_pending *p = pending_new(r, q, key, key_len, hash);
	if (!p)
		return -ENOMEM;
	p->prefetch = true;
	p->pf_slot = slot;
	VD_STAT_INC(&r->w->stats, prefetches);
	int rc = start_recursion(r, p);
	if (rc != 0) {
		pending_unlink(r, p);
		free(p);
	}
	return rc;
}

int vd_res_prefetch(struct vd_res *r, const struct vd_dns_query *q,
		    const uint8_t *key, size_t key_len, uint64_t hash)
{
	return prefetch_start(r, q, key, key_len, hash, 0);
}

unsigned vd_res_outstanding(const struct vd_res *r)
{
	return r->outstanding;
}

/*
 * Gives up a recursion at recursion-timeout: its waiters are answered
 * (stale or SERVFAIL) and libunbound is told not to call back, so a name
 * whose servers never answer does not hold a place under max-recursions
 * for as long as libunbound keeps retrying.  Note that for contexts on an
 * event base ub_cancel() only suppresses the callback: libunbound's mesh
 * finishes the work on its own timeouts, so upstream work in flight can
 * exceed max-recursions by the recursions given up on within that time.
 */
static void cancel_pending(struct vd_res *r, struct res_pending *p)
{
	while (p->waiters) {
		struct res_waiter *wt = p->waiters;
		p->waiters = wt->next;
		p->n_waiters--;
		r->waiting--;
		VD_STAT_INC(&r->w->stats, recursion_timeouts);
		answer_failure(r, p, wt, VD_DNS_EDE_NO_REACHABLE_AUTHORITY,
				       r->bufs.out);
		waiter_put(r, wt);
	}
	/* Given up either way: a later hit may prefetch the entry again. */
	if (p->prefetch)
		prefetch_clear(r, p);
	int rc = ub_cancel(p->ctx, p->async_id);
	if (rc != 0) {
		/* The callback may still come: keep p for it. */
		vd_log(VD_LOG_WARNING, "libunbound: cannot cancel: %s",
		       ub_strerror(rc));
		p->abandoned = true;
		return;
	}
	pending_unlink(r, p);
	ctxs_put(r, p->ctxs);
	free(p);
}

void vd_res_expire_waiters(struct vd_res *r, uint64_t now_ns)
{
	const struct vd_settings *st = vd_worker_settings(r->w);
	uint64_t stale_after = st->stale_max_ns ? st->stale_client_timeout_ns : 0;
	uint64_t fail_after = st->recursion_timeout_ns;
	uint64_t first = stale_after ? VD_MIN(stale_after, fail_after) : fail_after;

	for (struct res_pending *p = r->oldest; p; p = p->next) {
		/* Later recursions started later and their waiters joined
		 * later still: nothing past here is due. */
		if (now_ns - p->start_ns < first)
			break;
		const struct vd_cache_entry *stale = NULL;
		bool looked = false;
		struct res_waiter **pp = &p->waiters;
		while (*pp) {
			struct res_waiter *wt = *pp;
			uint64_t age = now_ns - wt->start_ns;
			bool fail = age >= fail_after;
			if (!fail && stale_after && age >= stale_after) {
				if (!looked) {
					stale = vd_cache_lookup(r->w->daemon->cache,
								p->key, p->key_len,
								p->hash);
					looked = true;
				}
				if (!stale ||
				    stale->meta.kind == VD_DNS_ANSWER_SERVFAIL ||
				    now_ns > stale->expire_ns + st->stale_max_ns) {
					pp = &wt->next;
					continue;
				}
				/* Slow authorities: later askers get the stale
				 * answer at once while this recursion goes on.
				 * An entry still fresh (another worker stored
				 * it) is answered as it is, and later askers
				 * hit it anyway. */
				if (now_ns >= stale->expire_ns)
					atomic_store_explicit(
						&((struct vd_cache_entry *)stale)
							 ->stale_retry_ns,
						now_ns + RES_STALE_RECHECK_NS,
						memory_order_relaxed);
			} else if (!fail) {
				pp = &wt->next;
				continue;
			}
			if (fail)
				VD_STAT_INC(&r->w->stats, recursion_timeouts);
			*pp = wt->next;
			p->n_waiters--;
			r->waiting--;
			answer_failure(r, p, wt, VD_DNS_EDE_NO_REACHABLE_AUTHORITY,
				       r->bufs.out);
			waiter_put(r, wt);
		}
	}
	for (struct res_pending *p = r->oldest; p;) {
		struct res_pending *next = p->next;
		if (now_ns - p->start_ns < fail_after)
			break;
		if (!p->abandoned)
			cancel_pending(r, p);
		p = next;
	}
}

static void res_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vd_res *r = arg;
	(void)fd;
	(void)what;
	if (!r->oldest)
		return;
	rcu_read_lock();
	vd_res_expire_waiters(r, vd_now_ns());
	rcu_read_unlock();
}

static struct res_ctxs *ctxs_new(struct vd_res *r, const struct vd_settings *st,
				 char *err, size_t errlen)
{
	struct res_ctxs *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->res = r;
	c->plain = vd_res_ctx_new(r->w->base, st, false, err, errlen);
	if (!c->plain)
		goto fail;
	if (st->cfg.dnssec) {
		c->validating = vd_res_ctx_new(r->w->base, st, true, err, errlen);
		if (!c->validating)
			goto fail;
	}
	return c;
fail:
	ctxs_free(c);
	return NULL;
}

int vd_res_renew(struct vd_res *r, const struct vd_settings *st, char *err,
		 size_t errlen)
{
	struct res_ctxs *fresh = ctxs_new(r, st, err, errlen);
	if (!fresh)
		return -EINVAL;
	struct res_ctxs *old[3] = {r->cur, r->pf[0], r->pf[1]};
	r->cur = fresh;
	r->pf[0] = r->pf[1] = NULL; /* made again on first use */
	r->gen++;
	for (size_t i = 0; i < VD_ARRAY_SIZE(old); i++) {
		if (!old[i])
			continue;
		if (old[i]->refs == 0) {
			ctxs_free(old[i]); /* from the loop, not libunbound */
		} else {
			old[i]->next = r->retired;
			r->retired = old[i];
		}
	}
	return 0;
}

struct vd_res *vd_res_create(struct vd_worker *w, const struct vd_settings *st,
			     char *err, size_t errlen)
{
	struct vd_res *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->w = w;
	r->max_outstanding = st->cfg.max_recursions;
	r->max_waiting = r->max_outstanding * RES_MAX_WAITERS_PER_MAX_RECURSION;
	r->n_buckets = 64;
	while (r->n_buckets < 2ull * r->max_outstanding &&
	       r->n_buckets < RES_MAX_BUCKETS)
		r->n_buckets <<= 1;
	r->buckets = calloc(r->n_buckets, sizeof(*r->buckets));
	if (!r->buckets) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->cur = ctxs_new(r, st, err, errlen);
	if (!r->cur)
		goto fail;
	r->timer = event_new(w->base, -1, EV_PERSIST, res_tick, r);
	struct timeval tick = {.tv_sec = 0, .tv_usec = 100 * 1000};
	if (!r->timer || event_add(r->timer, &tick) != 0) {
		snprintf(err, errlen, "cannot arm the recursion timer");
		goto fail;
	}
	return r;
fail:
	vd_res_destroy(r);
	return NULL;
}

void vd_res_destroy(struct vd_res *r)
{
	if (!r)
		return;
	if (r->timer)
		event_free(r->timer);
	/*
	 * ub_ctx_delete() calls back every query it still holds (as a
	 * failure): cancel ours first, and let res_done() treat any it
	 * could not cancel as a teardown.  The pendings are ours to release.
	 */
	r->dying = true;
	for (struct res_pending *p = r->oldest; p; p = p->next)
		if (!p->abandoned && p->ctx)
			(void)ub_cancel(p->ctx, p->async_id);
	ctxs_free(r->cur);
	ctxs_free(r->pf[0]);
	ctxs_free(r->pf[1]);
	while (r->retired) {
		struct res_ctxs *next = r->retired->next;
		ctxs_free(r->retired);
		r->retired = next;
	}
	struct res_pending *p = r->oldest;
	while (p) {
		struct res_pending *next = p->next;
		for (struct res_waiter *wt = p->waiters; wt; wt = wt->next)
			vd_pipeline_release(r->w, &wt->dest);
		release_waiters(r, p);
		free(p);
		p = next;
	}
	struct res_waiter *wt = r->free_waiters;
	while (wt) {
		struct res_waiter *next = wt->next;
		free(wt);
		wt = next;
	}
	free(r->buckets);
	free(r);
}
