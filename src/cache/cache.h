/*
 * The answer cache: the single source of truth for every data plane.
 *
 * Keys are vd_dns_query_key() bytes; values are normalised wire answers
 * (dns/answer.h).  Readers never take a lock: lookups run inside an RCU
 * read-side critical section over a liburcu lock-free hash table, and a
 * returned entry stays valid until the reader leaves that section.  Writers
 * (insert, flush, maintain) may run on any registered RCU thread
 * concurrently; replaced and removed entries are freed after a grace period.
 *
 * Every thread that calls into the cache (readers, writers, the thread
 * that destroys it) must be registered with rcu_register_thread()
 * (liburcu-memb flavour, <urcu.h>).  Lookups must run inside
 * rcu_read_lock(); every other function takes the read lock itself.
 * Writers (insert, flushes, maintain, set_opts) may also be called from
 * inside a read-side section the caller holds (a worker storing a
 * recursion result does): no writer ever waits for a grace period while
 * holding the writer mutex.  Only vd_cache_destroy() waits (rcu_barrier)
 * and must be called outside any read-side section.
 *
 * Writers serialise on one internal mutex; readers never take it.  The
 * budget therefore holds exactly after every insert/maintain.  Eviction
 * removes entries past expiry + stale window first (oldest expiry first),
 * then uses CLOCK (second chance) driven by the referenced bit.
 */
#ifndef VD_CACHE_CACHE_H
#define VD_CACHE_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu.h>
#include <urcu/rculfhash.h>

#include "dns/answer.h"

struct vd_cache;

struct vd_cache_opts {
	size_t max_bytes;      /* budget for entries, metadata included */
	uint64_t stale_max_ns; /* keep entries this long past expiry for
				* serve-stale (RFC 8767); 0 disables */
};

/* Read-only for everybody but the cache, except the atomics. */
struct vd_cache_entry {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint64_t hash;
	uint64_t stored_ns; /* CLOCK_MONOTONIC at insert */
	uint64_t expire_ns; /* stored_ns + meta.ttl seconds */
	_Atomic uint32_t hits;        /* lookups that found this entry */
	_Atomic uint8_t referenced;   /* CLOCK bit for eviction */
	_Atomic uint8_t prefetching;  /* a refresh is in flight */
	/* Serve-stale failure recheck (RFC 8767 4): until this time an
	 * expired entry is served stale without trying recursion again. */
	_Atomic uint64_t stale_retry_ns;
	uint16_t key_len;
	struct vd_dns_answer_meta meta;
	const uint8_t *key;
	const uint16_t *ttl_offs; /* meta.n_ttls entries */
	const uint8_t *wire;      /* meta.wire_len bytes */
	size_t charge;            /* bytes counted against the budget */
	uint8_t data[];           /* key, ttl_offs, wire: one allocation */
};

/*
 * Change events for mirrors of the cache (the XDP map): called
 * synchronously by the thread making the change, with the writer mutex
 * held (so events arrive in table order) and inside an RCU read section.
 * The observer must not call back into the cache's writers.  INSERT comes
 * for every new entry, replacements included (a replacement produces no
 * REMOVE for the old entry: the mirror overwrites by key).  REMOVE comes
 * for each entry that leaves without a successor (expiry, eviction,
 * flush), before it is queued for freeing; e stays valid for the call.
 * vd_cache_destroy() reports nothing: flush_all first if a mirror must
 * hear about it.
 */
enum vd_cache_event { VD_CACHE_EV_INSERT, VD_CACHE_EV_REMOVE };
typedef void (*vd_cache_observer_fn)(void *arg, enum vd_cache_event ev,
				     const struct vd_cache_entry *e);

struct vd_cache_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t inserts;
	uint64_t replaces;
	uint64_t evictions;     /* removed for the byte budget */
	uint64_t expirations;   /* removed past expiry (+ stale window) */
	uint64_t flushed;       /* removed by operator flushes */
	uint64_t buckets;       /* hash buckets (vd_cache_buckets_for) */
};

/* Returns NULL on allocation failure. */
struct vd_cache *vd_cache_create(const struct vd_cache_opts *opts);
/* Frees everything (waits with rcu_barrier() until the entries are freed).
 * No reader or writer may still use the cache.  NULL is a no-op. */
void vd_cache_destroy(struct vd_cache *c);
/* New budget or stale window (config reload).  Thread safe.  A smaller
 * budget is enforced by the next insert or vd_cache_maintain().  A larger
 * one grows the hash table to vd_cache_buckets_for() the new budget before
 * returning: the caller must be outside any RCU read section (it waits for
 * grace periods); readers and writers go on meanwhile. */
void vd_cache_set_opts(struct vd_cache *c, const struct vd_cache_opts *opts);
/* fn NULL = none.  Takes effect for the next change. */
void vd_cache_set_observer(struct vd_cache *c, vd_cache_observer_fn fn,
			   void *arg);

/* The hash table's bucket count for a byte budget: one bucket per 256
 * bytes (no entry charges less), a power of two in [1024, 2^26].  The
 * table never resizes itself; the budget sets its size, so a lookup walks
 * about one node whatever the number of entries. */
size_t vd_cache_buckets_for(size_t max_bytes);

/* SipHash-1-3 of key under a random per-process key (seeded from
 * getrandom() on first use), so clients cannot aim names at one chain.
 * Thread safe; the value differs between runs. */
uint64_t vd_cache_hash(const uint8_t *key, size_t len);

/*
 * Looks key up.  The caller holds rcu_read_lock().  Returns the entry even
 * when past expire_ns (the caller decides between fresh, stale and miss),
 * or NULL.  Counts a hit and sets the CLOCK bit.  Lock-free.  The entry is
 * immutable (but for its atomics) and valid until rcu_read_unlock().
 */
const struct vd_cache_entry *vd_cache_lookup(struct vd_cache *c,
					     const uint8_t *key, size_t key_len,
					     uint64_t hash);

/*
 * Stores a copy of (key, wire, meta, ttl_offs), replacing any entry with
 * the same key; expiry is now_ns + meta->ttl seconds.  hash must be
 * vd_cache_hash(key, key_len).  Keeps the byte budget (evicting if needed,
 * never the new entry).  The caller keeps ownership of its buffers.
 * Returns 0, -ENOMEM, -EINVAL (bad arguments), or -E2BIG when the entry
 * alone exceeds the budget.
 */
int vd_cache_insert(struct vd_cache *c, const uint8_t *key, size_t key_len,
		    uint64_t hash, const uint8_t *wire,
		    const struct vd_dns_answer_meta *meta,
		    const uint16_t *ttl_offs, uint64_t now_ns);

/* The bytes an entry of this key length and answer counts against the
 * budget (vd_cache_entry.charge). */
size_t vd_cache_charge(size_t key_len, const struct vd_dns_answer_meta *m);

/* Removals; each returns how many entries it removed.  name is lower-cased
 * uncompressed wire.  flush_name matches the exact name (every class and
 * DO/CD variant, one qtype or all); flush_zone matches the zone name and
 * every name below it at a label boundary ("example.com" does not cover
 * "badexample.com"; the root covers everything).  O(entries) under the
 * writer mutex: meant for operator actions, readers are not blocked. */
size_t vd_cache_flush_name(struct vd_cache *c, const uint8_t *name,
			   size_t name_len, int qtype /* -1 = all */);
size_t vd_cache_flush_zone(struct vd_cache *c, const uint8_t *zone,
			   size_t zone_len);
/* Like flush_zone, but only negative answers (NXDOMAIN, NODATA): what a
 * zone's servers wrongly denying names left behind, without losing the
 * zone's good answers. */
size_t vd_cache_flush_negative(struct vd_cache *c, const uint8_t *zone,
			       size_t zone_len);
size_t vd_cache_flush_all(struct vd_cache *c);

/*
 * Housekeeping, from one thread every few hundred milliseconds: removes
 * entries at or past expire_ns + stale_max_ns and evicts (CLOCK) down to the
 * budget.  Costs O(log n) per removed entry, not a walk.
 */
void vd_cache_maintain(struct vd_cache *c, uint64_t now_ns);

/* Counters are read one by one without a lock: each is exact, the set may
 * be from slightly different moments while writers run.  inserts counts
 * every successful insert, replacements included, so at rest
 * entries == inserts - replaces - evictions - expirations - flushed. */
void vd_cache_get_stats(struct vd_cache *c, struct vd_cache_stats *st);

/* Visits every entry (inside an RCU read section the cache takes itself;
 * entries changed concurrently may or may not be seen).  Stops early when fn
 * returns nonzero.  fn may look up but must not destroy the cache. */
typedef int (*vd_cache_visit_fn)(void *arg, const struct vd_cache_entry *e);
void vd_cache_foreach(struct vd_cache *c, vd_cache_visit_fn fn, void *arg);

#endif
