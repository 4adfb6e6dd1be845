/*
 * The answer cache (see cache.h for the contract).
 *
 * Readers run lock-free over a liburcu lock-free hash table; the only
 * stores they make are the hit counter and the CLOCK bit of the entry they
 * found.  Writers (insert, flushes, maintain, set_opts) serialise on one
 * mutex.  Inserts are rare next to lookups (one per recursion), so a single
 * writer lock costs little, and it buys three things: the byte budget is
 * exact instead of racy, the eviction structures need no lock-free design,
 * and the observer sees changes in the order they hit the table.  Memory is
 * allocated and filled before the lock is taken.
 *
 * One allocation per entry:
 *
 *   [struct vd_cache_slot][struct vd_cache_entry][key][pad][ttl_offs][wire]
 *
 * The slot is the writer-side bookkeeping (CLOCK ring, expiry heap
 * position); it lives in front of the public entry so the public struct
 * stays free of writer-only fields.
 *
 * Eviction when over budget: first entries past expiry + stale window,
 * oldest expiry first (a binary min-heap on expire_ns, O(log n) per change),
 * then CLOCK (second chance) over a ring in insertion order.  New entries go
 * just behind the hand, so they get a full revolution before inspection;
 * readers set the referenced bit, the hand clears it and moves on.  The
 * hand advances at most once per set bit plus once per eviction, so the
 * work is O(1) amortised per insert and lookup.
 */
#include "cache/cache.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <urcu/list.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"

/*
 * Charged on top of the allocation for what the entry costs elsewhere:
 * malloc's header and rounding (~16), the heap slot (16), and its share of
 * the hash table's bucket array (~16 at the resize threshold).
 */
#define VD_CACHE_OVERHEAD 48

/*
 * The bucket count is ours to set, from the byte budget, not liburcu's to
 * find.  Its automatic resizing (CDS_LFHT_AUTO_RESIZE) misjudges this
 * table: with node accounting it grows only when the count reaches eight
 * times the buckets at a power of two, so chains average up to eight nodes
 * (a cache miss each) just below every threshold; without accounting it
 * grows fourfold on any chain of three, which a full table at load factor
 * one meets by chance every few inserts, and so grows without bound.
 * The budget bounds the entry count: no entry charges less than about 220
 * bytes (struct, header, key, the smallest answer, VD_CACHE_OVERHEAD), so
 * one bucket per VD_CACHE_BYTES_PER_BUCKET of budget keeps the load
 * factor near or below one whatever the mix, and lookups cost the same at
 * 10k entries as at millions.  A bucket is 16 bytes: 6% of the budget,
 * counted in VD_CACHE_OVERHEAD.
 */
#define VD_CACHE_BYTES_PER_BUCKET 256UL
#define VD_CACHE_HT_MIN_BUCKETS 1024UL
/* 2^26 buckets = a 16 GiB budget; past it the load factor rises slowly.
 * Also the reserved (not committed) size of liburcu's mmap bucket
 * allocator, which it picks for tables bounded like this. */
#define VD_CACHE_HT_MAX_BUCKETS (1UL << 26)

/* Long flushes drop and retake the RCU read lock this often so grace
 * periods (and so the freeing of what was removed) keep progressing. */
#define VD_CACHE_RCU_BATCH 1024

#define VD_CACHE_HEAP_MIN 256

/* Writer-side bookkeeping in front of each entry; only used under c->lock. */
struct vd_cache_slot {
	struct cds_list_head ring; /* CLOCK ring, insertion order */
	size_t heap_pos;           /* index into c->heap */
};

#define VD_CACHE_SLOT_HDR                                                      \
	((sizeof(struct vd_cache_slot) + _Alignof(struct vd_cache_entry) - 1) & \
	 ~(_Alignof(struct vd_cache_entry) - 1))

_Static_assert(offsetof(struct vd_cache_entry, data) % _Alignof(uint16_t) == 0,
	       "ttl_offs in data[] needs 2-byte alignment");

/* Heap elements carry the key so sifting does not touch the entries. */
struct vd_cache_heap_item {
	uint64_t expire_ns;
	struct vd_cache_slot *slot;
};

struct vd_cache {
	struct cds_lfht *ht;
	/* Bucket count asked of the table; set at create, raised by
	 * vd_cache_set_opts() under resize_lock, read by stats. */
	_Atomic size_t buckets;
	pthread_mutex_t resize_lock;

	/* Read without the lock (early -E2BIG, stats); written under it. */
	_Atomic size_t max_bytes;
	_Atomic uint64_t stale_max_ns;

	pthread_mutex_t lock; /* writers only: everything below */
	struct cds_list_head ring;
	struct cds_list_head *hand; /* next to inspect; &ring = wrap around */
	struct vd_cache_heap_item *heap;
	size_t heap_len;
	size_t heap_cap;
	vd_cache_observer_fn observer;
	void *observer_arg;

	/* Changed under the lock, read by anyone (stats). */
	_Atomic uint64_t entries;
	_Atomic uint64_t bytes;
	_Atomic uint64_t inserts;
	_Atomic uint64_t replaces;
	_Atomic uint64_t evictions;
	_Atomic uint64_t expirations;
	_Atomic uint64_t flushed;
};

/* ---- hashing: SipHash-1-3 with a per-process random key ---------------- */

/*
 * Keys are query names chosen by clients, so a fixed hash would let anyone
 * pile entries into one chain.  SipHash is a keyed PRF built for exactly
 * this; the 1-3 variant (one compression, three finalisation rounds) is the
 * speed/strength point Python and Rust settled on for hash tables.  The key
 * is process-wide because vd_cache_hash() takes no cache argument.
 */
static uint64_t vd_cache_sip_k0, vd_cache_sip_k1;
static pthread_once_t vd_cache_sip_once = PTHREAD_ONCE_INIT;

static void vd_cache_sip_seed(void)
{
	uint64_t k[2];
	ssize_t n = getrandom(k, sizeof(k), GRND_NONBLOCK);

	if (n != (ssize_t)sizeof(k)) {
		/* Early boot without entropy: weaker, but still unknown to
		 * clients, and the cache keeps working. */
		vd_log(VD_LOG_WARNING, "cache: getrandom failed, hash seed "
				       "derived from clock and pid");
		k[0] = vd_now_ns() ^ ((uint64_t)getpid() << 32);
		k[1] = (uint64_t)(uintptr_t)&k ^ 0x9e3779b97f4a7c15ULL * k[0];
	}
	vd_cache_sip_k0 = k[0];
	vd_cache_sip_k1 = k[1];
}

#define VD_ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define VD_SIPROUND                                                            \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = VD_ROTL64(v1, 13);                                        \
		v1 ^= v0;                                                      \
		v0 = VD_ROTL64(v0, 32);                                        \
		v2 += v3;                                                      \
		v3 = VD_ROTL64(v3, 16);                                        \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = VD_ROTL64(v3, 21);                                        \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = VD_ROTL64(v1, 17);                                        \
		v1 ^= v2;                                                      \
		v2 = VD_ROTL64(v2, 32);                                        \
	} while (0)

uint64_t vd_cache_hash(const uint8_t *key, size_t len)
{
	pthread_once(&vd_cache_sip_once, vd_cache_sip_seed);

	uint64_t k0 = vd_cache_sip_k0, k1 = vd_cache_sip_k1;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	size_t whole = len & ~(size_t)7;

	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m;
		memcpy(&m, key + i, sizeof(m));
		m = le64toh(m);
		v3 ^= m;
		VD_SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)key[whole + i] << (8 * i);
	v3 ^= b;
	VD_SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	VD_SIPROUND;
	VD_SIPROUND;
	VD_SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- entries ---------------------------------------------------------- */

static inline struct vd_cache_entry *slot_entry(struct vd_cache_slot *s)
{
	return (struct vd_cache_entry *)((char *)s + VD_CACHE_SLOT_HDR);
}

static inline struct vd_cache_slot *entry_slot(struct vd_cache_entry *e)
{
	return (struct vd_cache_slot *)((char *)e - VD_CACHE_SLOT_HDR);
}

static void entry_free_rcu(struct rcu_head *head)
{
	struct vd_cache_entry *e = caa_container_of(head, struct vd_cache_entry,
						    rcu);
	free(entry_slot(e));
}

struct vd_cache_layout {
	size_t ttl_off;  /* in data[] */
	size_t wire_off; /* in data[] */
	size_t alloc;
};

static struct vd_cache_layout entry_layout(size_t key_len,
					   const struct vd_dns_answer_meta *m)
{
	struct vd_cache_layout l;

	l.ttl_off = (key_len + _Alignof(uint16_t) - 1) &
		    ~(_Alignof(uint16_t) - 1);
	l.wire_off = l.ttl_off + (size_t)m->n_ttls * sizeof(uint16_t);
	l.alloc = VD_CACHE_SLOT_HDR + offsetof(struct vd_cache_entry, data) +
		  l.wire_off + m->wire_len;
	return l;
}

size_t vd_cache_charge(size_t key_len, const struct vd_dns_answer_meta *m)
{
	return entry_layout(key_len, m).alloc + VD_CACHE_OVERHEAD;
}

static struct vd_cache_slot *slot_new(const uint8_t *key, size_t key_len,
				      uint64_t hash, const uint8_t *wire,
				      const struct vd_dns_answer_meta *meta,
				      const uint16_t *ttl_offs, uint64_t now_ns)
{
	struct vd_cache_layout l = entry_layout(key_len, meta);
	struct vd_cache_slot *s = malloc(l.alloc);
	if (!s)
		return NULL;

	struct vd_cache_entry *e = slot_entry(s);
	uint64_t life = (uint64_t)meta->ttl * VD_NS_PER_SEC;

	cds_lfht_node_init(&e->node);
	e->hash = hash;
	e->stored_ns = now_ns;
	e->expire_ns = now_ns > UINT64_MAX - life ? UINT64_MAX : now_ns + life;
	atomic_init(&e->hits, 0);
	atomic_init(&e->referenced, 0);
	atomic_init(&e->prefetching, 0);
	atomic_init(&e->stale_retry_ns, 0);
	e->key_len = (uint16_t)key_len;
	e->meta = *meta;
	e->charge = l.alloc + VD_CACHE_OVERHEAD;

	memcpy(e->data, key, key_len);
	e->key = e->data;
	e->ttl_offs = (const uint16_t *)(void *)(e->data + l.ttl_off);
	if (meta->n_ttls)
		memcpy(e->data + l.ttl_off, ttl_offs,
		       (size_t)meta->n_ttls * sizeof(uint16_t));
	memcpy(e->data + l.wire_off, wire, meta->wire_len);
	e->wire = e->data + l.wire_off;
	return s;
}

struct vd_cache_key_ref {
	const uint8_t *key;
	size_t len;
};

static int key_match(struct cds_lfht_node *node, const void *arg)
{
	const struct vd_cache_entry *e =
		caa_container_of(node, struct vd_cache_entry, node);
	const struct vd_cache_key_ref *k = arg;

	return e->key_len == k->len && memcmp(e->key, k->key, k->len) == 0;
}

/* ---- counters (written under the lock, read anywhere) ----------------- */

static inline uint64_t ctr_get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static inline void ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	/* One writer at a time, so load+store is enough and avoids a locked
	 * instruction. */
	atomic_store_explicit(c, ctr_get(c) + v, memory_order_relaxed);
}

static inline void ctr_sub(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, ctr_get(c) - v, memory_order_relaxed);
}

/* ---- expiry heap (under the lock) ------------------------------------- */

static inline void heap_set(struct vd_cache *c, size_t i,
			    struct vd_cache_heap_item it)
{
	c->heap[i] = it;
	it.slot->heap_pos = i;
}

static void heap_sift_up(struct vd_cache *c, size_t i)
{
	struct vd_cache_heap_item it = c->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (c->heap[parent].expire_ns <= it.expire_ns)
			break;
		heap_set(c, i, c->heap[parent]);
		i = parent;
	}
	heap_set(c, i, it);
}

static void heap_sift_down(struct vd_cache *c, size_t i)
{
	struct vd_cache_heap_item it = c->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= c->heap_len)
			break;
		if (child + 1 < c->heap_len &&
		    c->heap[child + 1].expire_ns < c->heap[child].expire_ns)
			child++;
		if (it.expire_ns <= c->heap[child].expire_ns)
			break;
		heap_set(c, i, c->heap[child]);
		i = child;
	}
	heap_set(c, i, it);
}

static int heap_reserve(struct vd_cache *c)
{
	if (c->heap_len < c->heap_cap)
		return 0;

	size_t cap = c->heap_cap ? c->heap_cap * 2 : VD_CACHE_HEAP_MIN;
	struct vd_cache_heap_item *h = realloc(c->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	c->heap = h;
	c->heap_cap = cap;
	return 0;
}

/* Gives memory back after mass removals (flushes, expiry waves). */
static void heap_trim(struct vd_cache *c)
{
	size_t cap = c->heap_cap;

	/* Halving only below a quarter full keeps grow/trim from flapping. */
	while (cap > VD_CACHE_HEAP_MIN && c->heap_len < cap / 4)
		cap /= 2;
	if (cap == c->heap_cap)
		return;

	struct vd_cache_heap_item *h = realloc(c->heap, cap * sizeof(*h));
	if (!h)
		return; /* keep the larger array */
	c->heap = h;
	c->heap_cap = cap;
}

/* Caller made room with heap_reserve(). */
static void heap_push(struct vd_cache *c, struct vd_cache_slot *s)
{
	struct vd_cache_heap_item it = { slot_entry(s)->expire_ns, s };

	heap_set(c, c->heap_len++, it);
	heap_sift_up(c, c->heap_len - 1);
}

static void heap_remove(struct vd_cache *c, struct vd_cache_slot *s)
{
	size_t i = s->heap_pos;

	vd_require(i < c->heap_len && c->heap[i].slot == s);
	c->heap_len--;
	if (i == c->heap_len)
		return;
	heap_set(c, i, c->heap[c->heap_len]);
	if (i > 0 && c->heap[(i - 1) / 2].expire_ns > c->heap[i].expire_ns)
		heap_sift_up(c, i);
	else
		heap_sift_down(c, i);
}

/* ---- table changes (under the lock, inside an RCU read section) ------- */

static inline void notify(struct vd_cache *c, enum vd_cache_event ev,
			  const struct vd_cache_entry *e)
{
	if (c->observer)
		c->observer(c->observer_arg, ev, e);
}

/* Takes s out of the writer structures and the accounting, not the table. */
static void slot_detach(struct vd_cache *c, struct vd_cache_slot *s)
{
	if (c->hand == &s->ring)
		c->hand = s->ring.next;
	cds_list_del(&s->ring);
	heap_remove(c, s);
	ctr_sub(&c->bytes, slot_entry(s)->charge);
	ctr_sub(&c->entries, 1);
}

static void slot_remove(struct vd_cache *c, struct vd_cache_slot *s,
			_Atomic uint64_t *reason)
{
	struct vd_cache_entry *e = slot_entry(s);

	/* Only lock holders delete, so the node must still be linked. */
	int r = cds_lfht_del(c->ht, &e->node);
	vd_require(r == 0);
	slot_detach(c, s);
	if (reason)
		ctr_add(reason, 1);
	notify(c, VD_CACHE_EV_REMOVE, e);
	call_rcu(&e->rcu, entry_free_rcu);
}

/* Expiry with the stale window; saturates instead of wrapping. */
static inline bool past_stale(uint64_t expire_ns, uint64_t stale_ns,
			      uint64_t now_ns)
{
	if (expire_ns > UINT64_MAX - stale_ns)
		return false;
	return now_ns >= expire_ns + stale_ns;
}

/*
 * Removes entries until incoming more bytes fit the budget: dead entries
 * (past the stale window at now_ns) first, then CLOCK.  keep (the entry an
 * insert is about to replace, or NULL) is never chosen and its charge
 * counts as free.  Making room before adding, rather than trimming after,
 * keeps the bytes counter itself within budget at every moment.
 */
static void evict_to_budget(struct vd_cache *c, uint64_t now_ns,
			    size_t incoming, struct vd_cache_slot *keep)
{
	uint64_t max = atomic_load_explicit(&c->max_bytes, memory_order_relaxed);
	uint64_t stale =
		atomic_load_explicit(&c->stale_max_ns, memory_order_relaxed);

	max += keep ? slot_entry(keep)->charge : 0;
	if (incoming > max)
		return; /* cannot happen: insert checked under the lock */
	max -= incoming;

	/* Stopping at keep (dead, but about to be replaced) merely hands
	 * the rest of the work to CLOCK; it is rare. */
	while (ctr_get(&c->bytes) > max && c->heap_len > 0 &&
	       c->heap[0].slot != keep &&
	       past_stale(c->heap[0].expire_ns, stale, now_ns))
		slot_remove(c, c->heap[0].slot, &c->expirations);

	/*
	 * Second chances are bounded by one revolution: readers re-setting
	 * bits behind the hand cannot keep it spinning.  keep alone left means
	 * bytes <= its charge <= max, so the n == 1 exit is only a guard.
	 */
	uint64_t chances = ctr_get(&c->entries);
	while (ctr_get(&c->bytes) > max) {
		uint64_t n = ctr_get(&c->entries);
		if (n == 0 || (n == 1 && keep))
			break;

		struct cds_list_head *pos = c->hand;
		if (pos == &c->ring)
			pos = pos->next;
		c->hand = pos->next;

		struct vd_cache_slot *s =
			caa_container_of(pos, struct vd_cache_slot, ring);
		if (s == keep)
			continue;

		struct vd_cache_entry *e = slot_entry(s);
		if (chances > 0 &&
		    atomic_load_explicit(&e->referenced, memory_order_relaxed)) {
			atomic_store_explicit(&e->referenced, 0,
					      memory_order_relaxed);
			chances--;
			continue;
		}
		slot_remove(c, s, &c->evictions);
	}
}

/* ---- public ----------------------------------------------------------- */

struct vd_cache *vd_cache_create(const struct vd_cache_opts *opts)
{
	struct vd_cache *c = NULL;

	if (vd_fails_assert(opts))
		return NULL;
	pthread_once(&vd_cache_sip_once, vd_cache_sip_seed);

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	if (pthread_mutex_init(&c->resize_lock, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	CDS_INIT_LIST_HEAD(&c->ring);
	c->hand = &c->ring;
	atomic_init(&c->max_bytes, opts->max_bytes);
	atomic_init(&c->stale_max_ns, opts->stale_max_ns);

	atomic_init(&c->buckets, vd_cache_buckets_for(opts->max_bytes));
	c->ht = cds_lfht_new(atomic_load(&c->buckets), VD_CACHE_HT_MIN_BUCKETS,
			     VD_CACHE_HT_MAX_BUCKETS, 0, NULL);
	if (!c->ht) {
		pthread_mutex_destroy(&c->resize_lock);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

void vd_cache_destroy(struct vd_cache *c)
{
	if (!c)
		return;

	pthread_mutex_lock(&c->lock);
	/* The mirror is torn down by its owner; callers wanting REMOVE events
	 * call vd_cache_flush_all() first. */
	c->observer = NULL;
	rcu_read_lock();
	while (!cds_list_empty(&c->ring))
		slot_remove(c, caa_container_of(c->ring.next,
						struct vd_cache_slot, ring),
			    NULL);
	rcu_read_unlock();
	pthread_mutex_unlock(&c->lock);

	/* Every entry is queued for call_rcu; wait until all are freed. */
	rcu_barrier();
	if (cds_lfht_destroy(c->ht, NULL) != 0)
		vd_log(VD_LOG_ERR, "cache: hash table not empty at destroy");
	free(c->heap);
	pthread_mutex_destroy(&c->resize_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void vd_cache_set_opts(struct vd_cache *c, const struct vd_cache_opts *opts)
{
	if (vd_fails_assert(c && opts))
		return;
	pthread_mutex_lock(&c->lock);
	atomic_store_explicit(&c->max_bytes, opts->max_bytes,
			      memory_order_relaxed);
	atomic_store_explicit(&c->stale_max_ns, opts->stale_max_ns,
			      memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);

	/* A larger budget gets its buckets now; a smaller one keeps them
	 * (shrinking saves little and would cost a resize on the next
	 * increase).  The resize is concurrent with readers and writers;
	 * only its caller waits, for grace periods, outside any read section
	 * and outside c->lock so inserts go on meanwhile. */
	size_t want = vd_cache_buckets_for(opts->max_bytes);
	pthread_mutex_lock(&c->resize_lock);
	if (want > atomic_load(&c->buckets)) {
		cds_lfht_resize(c->ht, want);
		atomic_store(&c->buckets, want);
	}
	pthread_mutex_unlock(&c->resize_lock);
}

size_t vd_cache_buckets_for(size_t max_bytes)
{
	size_t want = max_bytes / VD_CACHE_BYTES_PER_BUCKET;
	size_t n = VD_CACHE_HT_MIN_BUCKETS;

	while (n < want && n < VD_CACHE_HT_MAX_BUCKETS)
		n <<= 1;
	return n;
}

void vd_cache_set_observer(struct vd_cache *c, vd_cache_observer_fn fn,
			   void *arg)
{
	if (vd_fails_assert(c))
		return;
	pthread_mutex_lock(&c->lock);
	c->observer = fn;
	c->observer_arg = arg;
	pthread_mutex_unlock(&c->lock);
}

const struct vd_cache_entry *vd_cache_lookup(struct vd_cache *c,
					     const uint8_t *key, size_t key_len,
					     uint64_t hash)
{
	struct vd_cache_key_ref ref = { key, key_len };
	struct cds_lfht_iter iter;

	cds_lfht_lookup(c->ht, (unsigned long)hash, key_match, &ref, &iter);
	struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
	if (!node)
		return NULL;

	struct vd_cache_entry *e =
		caa_container_of(node, struct vd_cache_entry, node);
	atomic_fetch_add_explicit(&e->hits, 1, memory_order_relaxed);
	/* Hot entries are read by every core: store only on a change so the
	 * line stays shared. */
	if (!atomic_load_explicit(&e->referenced, memory_order_relaxed))
		atomic_store_explicit(&e->referenced, 1, memory_order_relaxed);
	return e;
}

int vd_cache_insert(struct vd_cache *c, const uint8_t *key, size_t key_len,
		    uint64_t hash, const uint8_t *wire,
		    const struct vd_dns_answer_meta *meta,
		    const uint16_t *ttl_offs, uint64_t now_ns)
{
	struct vd_cache_slot *s = NULL;
	struct vd_cache_slot *old = NULL;
	struct vd_cache_key_ref ref = { key, key_len };
	struct cds_lfht_iter iter;
	struct cds_lfht_node *old_node;
	int ret;

	if (vd_fails_assert(c && key && wire && meta))
		return -EINVAL;
	if (vd_fails_assert(key_len > VD_DNS_KEY_HDR &&
			    key_len <= VD_DNS_KEY_MAX))
		return -EINVAL;
	if (vd_fails_assert(meta->n_ttls <= VD_DNS_ANSWER_MAX_RRS &&
			    (meta->n_ttls == 0 || ttl_offs)))
		return -EINVAL;
	/* A wrong hash would let two entries share a key in different
	 * chains; one SipHash over ~30 bytes is cheap next to an insert. */
	if (vd_fails_assert(hash == vd_cache_hash(key, key_len)))
		return -EINVAL;

	/* Refuse before allocating; rechecked under the lock in case a
	 * reload shrank the budget meanwhile. */
	size_t charge = entry_layout(key_len, meta).alloc + VD_CACHE_OVERHEAD;
	if (charge > atomic_load_explicit(&c->max_bytes, memory_order_relaxed))
		return -E2BIG;

	s = slot_new(key, key_len, hash, wire, meta, ttl_offs, now_ns);
	if (!s)
		return -ENOMEM;
	struct vd_cache_entry *e = slot_entry(s);

	pthread_mutex_lock(&c->lock);
	if (charge > atomic_load_explicit(&c->max_bytes, memory_order_relaxed)) {
		ret = -E2BIG;
		goto out_unlock;
	}
	ret = heap_reserve(c);
	if (ret < 0)
		goto out_unlock;

	rcu_read_lock();
	/* Writers are serialised, so what this finds is what add_replace
	 * will replace; knowing it first lets eviction spare it and count
	 * its bytes as freed. */
	cds_lfht_lookup(c->ht, (unsigned long)hash, key_match, &ref, &iter);
	old_node = cds_lfht_iter_get_node(&iter);
	if (old_node)
		old = entry_slot(
			caa_container_of(old_node, struct vd_cache_entry, node));
	evict_to_budget(c, now_ns, e->charge, old);

	struct cds_lfht_node *replaced = cds_lfht_add_replace(
		c->ht, (unsigned long)hash, key_match, &ref, &e->node);
	vd_require(replaced == old_node);
	/* A replacement is one INSERT for the observer: the mirror overwrites
	 * by key, and a REMOVE after it would delete the new value. */
	if (old) {
		slot_detach(c, old);
		ctr_add(&c->replaces, 1);
		call_rcu(&slot_entry(old)->rcu, entry_free_rcu);
	}
	/* Behind the hand: the newest entry is inspected last. */
	cds_list_add_tail(&s->ring, c->hand);
	heap_push(c, s);
	ctr_add(&c->bytes, e->charge);
	ctr_add(&c->entries, 1);
	ctr_add(&c->inserts, 1);
	notify(c, VD_CACHE_EV_INSERT, e);
	rcu_read_unlock();
	s = NULL; /* owned by the table */
	ret = 0;

out_unlock:
	pthread_mutex_unlock(&c->lock);
	free(s);
	return ret;
}

/* ---- flushes ---------------------------------------------------------- */

typedef bool (*vd_cache_pred_fn)(const struct vd_cache_entry *e,
				 const void *arg);

/* Walks the ring (not the table): under the lock it is exact and allows
 * dropping the RCU read lock between batches. */
static size_t flush_if(struct vd_cache *c, vd_cache_pred_fn pred,
		       const void *arg)
{
	struct vd_cache_slot *s, *next;
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	rcu_read_lock();
	cds_list_for_each_entry_safe(s, next, &c->ring, ring) {
		if (!pred(slot_entry(s), arg))
			continue;
		slot_remove(c, s, &c->flushed);
		if (++n % VD_CACHE_RCU_BATCH == 0) {
			rcu_read_unlock();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();
	heap_trim(c);
	pthread_mutex_unlock(&c->lock);
	return n;
}

struct vd_cache_name_arg {
	const uint8_t *name;
	size_t len;
	int qtype;
};

static bool match_name(const struct vd_cache_entry *e, const void *arg)
{
	const struct vd_cache_name_arg *a = arg;
	const uint8_t *k = e->key;

	if (a->qtype >= 0 && (((unsigned)k[1] << 8) | k[2]) != (unsigned)a->qtype)
		return false;
	return (size_t)e->key_len - VD_DNS_KEY_HDR == a->len &&
	       memcmp(k + VD_DNS_KEY_HDR, a->name, a->len) == 0;
}

/*
 * True when the wire name equals zone or ends with it at a label boundary.
 * Comparing at label starts only is what keeps "badexample.com" out of
 * "example.com".  Both are lower-cased (cache keys are).
 */
static bool name_in_zone(const uint8_t *name, size_t len, const uint8_t *zone,
			 size_t zone_len)
{
	size_t pos = 0;

	while (pos < len) {
		if (len - pos == zone_len &&
		    memcmp(name + pos, zone, zone_len) == 0)
			return true;
		if (name[pos] == 0)
			break;
		pos += (size_t)name[pos] + 1;
	}
	return false;
}

static bool match_zone(const struct vd_cache_entry *e, const void *arg)
{
	const struct vd_cache_name_arg *a = arg;

	return name_in_zone(e->key + VD_DNS_KEY_HDR,
			    (size_t)e->key_len - VD_DNS_KEY_HDR, a->name,
			    a->len);
}

static bool match_negative(const struct vd_cache_entry *e, const void *arg)
{
	return (e->meta.kind == VD_DNS_ANSWER_NXDOMAIN ||
		e->meta.kind == VD_DNS_ANSWER_NODATA) &&
	       match_zone(e, arg);
}

static bool match_all(const struct vd_cache_entry *e, const void *arg)
{
	(void)e;
	(void)arg;
	return true;
}

size_t vd_cache_flush_name(struct vd_cache *c, const uint8_t *name,
			   size_t name_len, int qtype)
{
	struct vd_cache_name_arg a = { name, name_len, qtype };

	if (vd_fails_assert(c && name && name_len > 0))
		return 0;
	return flush_if(c, match_name, &a);
}

size_t vd_cache_flush_zone(struct vd_cache *c, const uint8_t *zone,
			   size_t zone_len)
{
	struct vd_cache_name_arg a = { zone, zone_len, -1 };

	if (vd_fails_assert(c && zone && zone_len > 0))
		return 0;
	return flush_if(c, match_zone, &a);
}

size_t vd_cache_flush_negative(struct vd_cache *c, const uint8_t *zone,
			       size_t zone_len)
{
	struct vd_cache_name_arg a = { zone, zone_len, -1 };

	if (vd_fails_assert(c && zone && zone_len > 0))
		return 0;
	return flush_if(c, match_negative, &a);
}

size_t vd_cache_flush_all(struct vd_cache *c)
{
	if (vd_fails_assert(c))
		return 0;
	return flush_if(c, match_all, NULL);
}

/* ---- housekeeping, stats, iteration ----------------------------------- */

void vd_cache_maintain(struct vd_cache *c, uint64_t now_ns)
{
	size_t n = 0;

	if (vd_fails_assert(c))
		return;
	uint64_t stale =
		atomic_load_explicit(&c->stale_max_ns, memory_order_relaxed);

	pthread_mutex_lock(&c->lock);
	rcu_read_lock();
	while (c->heap_len > 0 &&
	       past_stale(c->heap[0].expire_ns, stale, now_ns)) {
		slot_remove(c, c->heap[0].slot, &c->expirations);
		if (++n % VD_CACHE_RCU_BATCH == 0) {
			rcu_read_unlock();
			rcu_read_lock();
		}
	}
	/* After a reload shrank the budget. */
	evict_to_budget(c, now_ns, 0, NULL);
	rcu_read_unlock();
	heap_trim(c);
	pthread_mutex_unlock(&c->lock);
}

void vd_cache_get_stats(struct vd_cache *c, struct vd_cache_stats *st)
{
	if (vd_fails_assert(c && st))
		return;
	st->entries = ctr_get(&c->entries);
	st->bytes = ctr_get(&c->bytes);
	st->inserts = ctr_get(&c->inserts);
	st->replaces = ctr_get(&c->replaces);
	st->evictions = ctr_get(&c->evictions);
	st->expirations = ctr_get(&c->expirations);
	st->flushed = ctr_get(&c->flushed);
	st->buckets = atomic_load_explicit(&c->buckets, memory_order_relaxed);
}

void vd_cache_foreach(struct vd_cache *c, vd_cache_visit_fn fn, void *arg)
{
	struct cds_lfht_iter iter;
	struct vd_cache_entry *e;

	if (vd_fails_assert(c && fn))
		return;
	rcu_read_lock();
	cds_lfht_for_each_entry(c->ht, &iter, e, node) {
		if (fn(arg, e))
			break;
	}
	rcu_read_unlock();
}
