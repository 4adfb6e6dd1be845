#include "resolve/resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <urcu.h>

#include "cache/cache.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "daemon/worker.h"
#include "dns/answer.h"
#include "resolve/engine.h"

#define RES_MAX_BUCKETS 65536u
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
/*
 * Recursions and waiters past the bounds that only clients on the node's
 * loopback may take.  The anycast health probe asks from loopback
 * (anycast/health.c) and must find out whether recursion works, not
 * whether the node is busy: shed like a client, an overloaded node would
 * withdraw its VIP and push its load onto the next node, which then
 * withdraws in turn.  Nothing from the wire has a loopback source (the
 * kernel and the XDP program drop martians).
 */
#define RES_LOCAL_RESERVE 16u

struct res_waiter {
	struct res_waiter *next;
	uint64_t start_ns;
	struct vd_dns_query q;
	struct vd_reply_to dest;
};

struct res_pending {
	struct res_pending *hnext;             /* hash chain */
	struct res_pending *prev, *next;       /* age list, oldest first;
						  the abandoned list once
						  given up */
	struct vd_res *res;
	uint64_t hash;
	uint64_t start_ns;
	struct res_waiter *waiters;
	unsigned n_waiters;
	bool abandoned; /* given up: waits for the engine to hand it back */
	bool prefetch;
	bool cd_plain;  /* CD=1, asked again without validation */
	int pf_slot;    /* prefetch context pair, or VD_REC_CLIENTS */
	unsigned gen;   /* vd_rec_gen() when started: who may join */
	uint16_t key_len;
	uint8_t key[VD_DNS_KEY_MAX];
	struct vd_dns_query q; /* the first asker: name and flags to resolve */
	struct vd_rec_req rq;  /* with the engine from submit to return */
};

/* Scratch for turning a result into answers. */
struct res_bufs {
	uint8_t norm[VD_DNS_MSG_MAX];
	uint16_t ttl_offs[VD_DNS_ANSWER_MAX_RRS];
	uint8_t out[VD_DNS_MSG_MAX];
};

struct vd_res {
	struct vd_worker *w;
	struct vd_rec *e;        /* the node's recursion engine */
	struct vd_rec_mbox mbox; /* where the engine hands results back */
	struct event *mbox_ev;
	struct res_pending **buckets;
	size_t n_buckets;
	struct res_pending *oldest, *newest;
	struct res_pending *abandoned; /* given up, not yet back */
	unsigned outstanding;
	unsigned max_outstanding;
	unsigned waiting;     /* clients waiting, all recursions */
	unsigned max_waiting;
	struct res_waiter *free_waiters;
	unsigned n_free_waiters;
	struct event *timer;
	struct res_bufs bufs;
};

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
	/* A recursion started before a renew may answer from a flushed
	 * cache: new askers do not join it. */
	unsigned gen = vd_rec_gen(r->e);
	for (struct res_pending *p = *bucket_of(r, hash); p; p = p->hnext)
		if (p->gen == gen && p->hash == hash &&
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

/*
 * RFC 8767 4, the "failure recheck timer" (stale-refresh-time): once the
 * refresh of a stale name failed or was too slow, the name is answered
 * stale at once for this long instead of every client waiting for the
 * same failure again.  The entry is shared by all workers, hence atomic;
 * a lost race between two workers only moves the deadline by a moment.
 */
static void stale_recheck_later(const struct vd_settings *st,
				const struct vd_cache_entry *e, uint64_t now)
{
	if (!st->stale_refresh_ns)
		return;
	/* Spread by +-25% per name and node (the cache hash is keyed per
	 * process): names that failed together at an outage's start must
	 * not all ask again in the same second on every node once it ends. */
	uint64_t w = st->stale_refresh_ns / 1024 * (768 + (e->hash >> 17) % 513);
	atomic_store_explicit(&((struct vd_cache_entry *)e)->stale_retry_ns,
			      now + w, memory_order_relaxed);
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

static void start_recursion(struct vd_res *r, struct res_pending *p);

/*
 * A CD=1 query the validating context answered bogus: the client asked
 * for the data unchecked, so the plain context resolves it; its waiters
 * stay joined.  Returns true when the retry took over p.
 */
static bool cd_retry(struct vd_res *r, struct res_pending *p)
{
	const struct vd_rec_req *rq = &p->rq;
	if (!(p->q.flags & VD_DNS_F_CD) || p->cd_plain || rq->not_started ||
	    !rq->validating || (rq->sec != 1 && !rq->why_bogus))
		return false;
	vd_rec_req_clear(&p->rq);
	p->cd_plain = true;
	start_recursion(r, p);
	return true;
}

/* p came back from the engine: answer its waiters, store the result. */
static void res_done(struct vd_res *r, struct res_pending *p)
{
	struct vd_worker *w = r->w;
	const struct vd_rec_req *rq = &p->rq;
	if (cd_retry(r, p))
		return;
	const struct vd_settings *st = vd_worker_settings(w);
	uint64_t now = vd_now_ns();
	pending_unlink(r, p);
	/*
	 * Results from contexts a renew replaced answer their waiters but
	 * are not stored: they may come from the cache an operator just
	 * flushed.  The check and the insert below sit in one RCU read
	 * section, which vd_rec_renew() waits out before the flush.
	 */
	bool current = rq->gen == vd_rec_gen(r->e);
	int ede;
	bool failed = result_failed(rq->rcode, rq->sec, rq->why_bogus, &ede);
	bool handed_on = false; /* a second prefetch owns the flag now */
	bool stored = false;    /* the entry was replaced (flag clear) */
	struct res_bufs *b = &r->bufs;

	if (rq->not_started) {
		VD_STAT_INC(&w->stats, recursion_failures);
		answer_all_failure(r, p, VD_DNS_EDE_OTHER, b->out);
		goto out;
	}
	struct vd_dns_norm_opts no = {
		.strip_dnssec = !vd_dns_query_do(&p->q),
		.secure = rq->sec == 2,
		.min_ttl = st->cfg.cache_min_ttl,
		.max_ttl = st->cfg.cache_max_ttl,
		.max_neg_ttl = vd_settings_max_neg_ttl(
			st, p->key + VD_DNS_KEY_HDR, p->key_len - VD_DNS_KEY_HDR),
		.servfail_ttl = st->cfg.servfail_ttl,
	};
	struct vd_dns_answer_meta meta;
	int rc = -EIO;
	if (!failed) {
		rc = -EBADMSG;
		if (rq->packet && rq->packet_len > 0)
			rc = vd_dns_answer_normalise(
				rq->packet, rq->packet_len, &p->q, &no, b->norm,
				sizeof(b->norm), b->ttl_offs,
				VD_ARRAY_SIZE(b->ttl_offs), &meta);
		failed = rc != 0 || meta.rcode == VD_DNS_RCODE_SERVFAIL;
	}

	vd_stats_observe(&w->stats.recursion_time, now - p->start_ns);
	if (!failed)
		VD_STAT_SET(&w->stats, last_recursion_ok_ns, now);
	if (failed) {
		VD_STAT_INC(&w->stats, recursion_failures);
		if (rq->why_bogus)
			vd_log(VD_LOG_INFO, "bogus answer for key hash %016llx: %s",
			       (unsigned long long)p->hash, rq->why_bogus);
		else if (rq->rcode != 0)
			vd_log(VD_LOG_INFO, "recursion failed for key hash "
					    "%016llx: rcode %d",
			       (unsigned long long)p->hash, rq->rcode);
		else if (rc != 0 && rq->packet)
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
			stale_recheck_later(st, old, now);
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
	/* A stored refresh replaced the entry, whose flag starts clear (and
	 * may be another prefetch's by now); any other end of a prefetch
	 * clears the flag it was started under. */
	if (p->prefetch && !handed_on && !stored)
		prefetch_clear(r, p);
	release_waiters(r, p);
	vd_rec_req_clear(&p->rq);
	free(p);
}

static void abandoned_unlink(struct vd_res *r, struct res_pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		r->abandoned = p->next;
	if (p->next)
		p->next->prev = p->prev;
}

/* The engine's results, on the worker's loop. */
static void res_mbox(evutil_socket_t fd, short what, void *arg)
{
	struct vd_res *r = arg;
	(void)fd;
	(void)what;
	struct vd_rec_req *rq = vd_rec_mbox_take(&r->mbox);
	rcu_read_lock();
	while (rq) {
		struct vd_rec_req *next = rq->next;
		struct res_pending *p = (struct res_pending *)(void *)
			((char *)rq - offsetof(struct res_pending, rq));
		if (p->abandoned) {
			/* Its waiters were answered when it was given up. */
			abandoned_unlink(r, p);
			vd_rec_req_clear(&p->rq);
			free(p);
		} else {
			res_done(r, p);
		}
		rq = next;
	}
	rcu_read_unlock();
}

static void start_recursion(struct vd_res *r, struct res_pending *p)
{
	struct vd_rec_req *rq = &p->rq;
	memset(rq, 0, sizeof(*rq));
	rq->mbox = &r->mbox;
	rq->qname = p->key + VD_DNS_KEY_HDR;
	rq->qname_len = p->key_len - VD_DNS_KEY_HDR;
	rq->qtype = p->q.qtype;
	rq->qclass = p->q.qclass;
	/*
	 * CD=1 (RFC 4035 3.2.2) goes through the validating context too: its
	 * data is the same whenever it validates (secure or insecure), and
	 * then the plain context's cache stays cold and the authorities are
	 * not asked twice for what the node already learnt.  Only an answer
	 * the validator rejects is asked again without validation (cd_retry),
	 * which is what a CD=1 client wants then.
	 */
	rq->plain = p->cd_plain;
	rq->slot = p->pf_slot;
	VD_STAT_INC(&r->w->stats, recursions);
	vd_rec_submit(r->e, rq);
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
	p->pf_slot = VD_REC_CLIENTS;
	p->gen = vd_rec_gen(r->e);
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

static bool from_loopback(const struct vd_reply_to *d)
{
	if (d->peer.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)&d->peer;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (d->peer.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&d->peer;
		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	}
	return false;
}

int vd_res_submit(struct vd_res *r, const struct vd_dns_query *q,
		  const uint8_t *key, size_t key_len, uint64_t hash,
		  const struct vd_reply_to *dest)
{
	struct res_pending *p = pending_find(r, key, key_len, hash);
	bool fresh = p == NULL;
	unsigned reserve = from_loopback(dest) ? RES_LOCAL_RESERVE : 0;
	if (fresh && r->outstanding >= r->max_outstanding + reserve)
		return -EBUSY;
	if (r->waiting >= r->max_waiting + reserve)
		return -EBUSY;
	if (fresh && key_len <= VD_DNS_KEY_HDR)
		return -EINVAL;

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
	start_recursion(r, p);
	return 0;
}

static int prefetch_start(struct vd_res *r, const struct vd_dns_query *q,
			  const uint8_t *key, size_t key_len, uint64_t hash,
			  int slot)
{
	/* Prefetch is a luxury: it never takes the last half of the bound
	 * that clients' misses need. */
	if (r->outstanding >= r->max_outstanding / 2 ||
	    key_len <= VD_DNS_KEY_HDR || pending_find(r, key, key_len, hash))
		return -EBUSY;
	struct res_pending *p = pending_new(r, q, key, key_len, hash);
	if (!p)
		return -ENOMEM;
	p->prefetch = true;
	p->pf_slot = slot;
	VD_STAT_INC(&r->w->stats, prefetches);
	start_recursion(r, p);
	return 0;
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
 * (stale or SERVFAIL) and it leaves the table, so a name whose servers
 * never answer does not hold a place under max-recursions for as long as
 * libunbound keeps retrying.  libunbound has no way to stop the work (for
 * contexts on an event base ub_cancel() only suppresses the callback, and
 * its mesh finishes on its own timeouts), so the request stays with the
 * engine until it comes back, and is freed then: upstream work in flight
 * can exceed max-recursions by the recursions given up on meanwhile.
 */
static void abandon_pending(struct vd_res *r, struct res_pending *p)
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
	pending_unlink(r, p);
	p->abandoned = true;
	p->prev = NULL;
	p->next = r->abandoned;
	if (r->abandoned)
		r->abandoned->prev = p;
	r->abandoned = p;
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
					stale_recheck_later(st, stale, now_ns);
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
		abandon_pending(r, p);
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

struct vd_res *vd_res_create(struct vd_worker *w, const struct vd_settings *st,
			     char *err, size_t errlen)
{
	struct vd_res *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->w = w;
	r->e = w->daemon->rec;
	r->mbox.efd = -1;
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
	if (vd_rec_mbox_init(&r->mbox) != 0) {
		snprintf(err, errlen, "cannot make the recursion mailbox");
		goto fail;
	}
	r->mbox_ev = event_new(w->base, r->mbox.efd, EV_READ | EV_PERSIST,
			       res_mbox, r);
	if (!r->mbox_ev || event_add(r->mbox_ev, NULL) != 0) {
		snprintf(err, errlen, "cannot watch the recursion mailbox");
		goto fail;
	}
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

static void pending_free_list(struct vd_res *r, struct res_pending *p)
{
	while (p) {
		struct res_pending *next = p->next;
		for (struct res_waiter *wt = p->waiters; wt; wt = wt->next)
			vd_pipeline_release(r->w, &wt->dest);
		release_waiters(r, p);
		vd_rec_req_clear(&p->rq);
		free(p);
		p = next;
	}
}

void vd_res_destroy(struct vd_res *r)
{
	if (!r)
		return;
	if (r->timer)
		event_free(r->timer);
	if (r->mbox_ev)
		event_free(r->mbox_ev);
	/* Whatever came back unread is in the lists below too. */
	if (r->mbox.efd >= 0)
		(void)vd_rec_mbox_take(&r->mbox);
	vd_rec_mbox_fini(&r->mbox);
	pending_free_list(r, r->oldest);
	pending_free_list(r, r->abandoned);
	struct res_waiter *wt = r->free_waiters;
	while (wt) {
		struct res_waiter *next = wt->next;
		free(wt);
		wt = next;
	}
	free(r->buckets);
	free(r);
}
