/*
 * Concurrency test for src/cache/cache.c: readers look up while writers
 * insert, replace, flush and expire.  Every stored answer carries its key
 * index, a version and a checksum, so a reader that sees a torn, freed or
 * misattributed entry fails (and ASan reports a use after free).
 */
#include <pthread.h>
#include <stdio.h>

#include <criterion/criterion.h>

#include "cache_test_util.h"
#include "core/clock.h"

#define S_KEYS 2048
#define S_READERS 4
#define S_WRITERS 2
#define S_BUDGET (256 * 1024)
#define S_RUN_NS (1000 * VD_NS_PER_MS)

static struct t_key s_keys[S_KEYS];
static struct vd_cache *s_cache;
static atomic_bool s_stop;
static atomic_ulong s_bad;
static atomic_ulong s_hits;
static atomic_ulong s_obs_ins, s_obs_rem;

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* [index u32][version u32][pattern...][fnv1a of all before, u32] */
static uint16_t make_wire(uint8_t *w, uint32_t idx, uint32_t ver,
			  uint64_t *rng)
{
	uint16_t len = (uint16_t)(16 + xorshift(rng) % 600);
	uint64_t fill = ver * 0x9e3779b97f4a7c15ULL + idx;

	memcpy(w, &idx, 4);
	memcpy(w + 4, &ver, 4);
	for (size_t i = 8; i < (size_t)len - 4; i++)
		w[i] = (uint8_t)(xorshift(&fill) >> 11);
	uint32_t sum = fnv1a(w, (size_t)len - 4);
	memcpy(w + len - 4, &sum, 4);
	return len;
}

static bool entry_ok(const struct vd_cache_entry *e, long want_idx)
{
	uint32_t idx, sum;
	size_t len = e->meta.wire_len;

	if (len < 16 || e->meta.n_ttls != 1 || e->ttl_offs[0] != len - 4)
		return false;
	memcpy(&idx, e->wire, 4);
	memcpy(&sum, e->wire + len - 4, 4);
	if (sum != fnv1a(e->wire, len - 4))
		return false;
	if (idx >= S_KEYS || (want_idx >= 0 && idx != (uint32_t)want_idx))
		return false;
	const struct t_key *k = &s_keys[idx];
	return e->key_len == k->len && memcmp(e->key, k->b, k->len) == 0 &&
	       e->hash == k->hash && e->expire_ns >= e->stored_ns;
}

static void observe(void *arg, enum vd_cache_event ev,
		    const struct vd_cache_entry *e)
{
	(void)arg;
	/* Reading the whole entry here catches a REMOVE after free. */
	if (!entry_ok(e, -1))
		atomic_fetch_add(&s_bad, 1);
	if (ev == VD_CACHE_EV_INSERT)
		atomic_fetch_add(&s_obs_ins, 1);
	else
		atomic_fetch_add(&s_obs_rem, 1);
}

static void *reader(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 7919 + 1;
	unsigned long hits = 0;

	rcu_register_thread();
	while (!atomic_load_explicit(&s_stop, memory_order_relaxed)) {
		uint32_t i = (uint32_t)(xorshift(&rng) % S_KEYS);
		rcu_read_lock();
		const struct vd_cache_entry *e = vd_cache_lookup(
			s_cache, s_keys[i].b, s_keys[i].len, s_keys[i].hash);
		if (e) {
			hits++;
			if (!entry_ok(e, i))
				atomic_fetch_add(&s_bad, 1);
		}
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	atomic_fetch_add(&s_hits, hits);
	return NULL;
}

static int visit_check(void *arg, const struct vd_cache_entry *e)
{
	(void)arg;
	if (!entry_ok(e, -1))
		atomic_fetch_add(&s_bad, 1);
	return 0;
}

static void *writer(void *arg)
{
	uint64_t rng = (uintptr_t)arg * 104729 + 3;
	uint8_t wire[1024];
	uint32_t ver = 0;
	uint8_t zone[256];
	size_t zone_len = t_name(zone, "z3.test");

	rcu_register_thread();
	while (!atomic_load_explicit(&s_stop, memory_order_relaxed)) {
		unsigned op = (unsigned)(xorshift(&rng) % 1000);
		uint32_t i = (uint32_t)(xorshift(&rng) % S_KEYS);
		uint64_t now = vd_now_ns();

		if (op < 950) {
			struct vd_dns_answer_meta m = { 0 };
			m.wire_len = make_wire(wire, i, ++ver, &rng);
			uint16_t off = (uint16_t)(m.wire_len - 4);
			m.n_ttls = 1;
			/* Short lives so maintain and insert expire some. */
			m.ttl = (uint32_t)(xorshift(&rng) % 3);
			if (vd_cache_insert(s_cache, s_keys[i].b, s_keys[i].len,
					    s_keys[i].hash, wire, &m, &off,
					    now) != 0)
				atomic_fetch_add(&s_bad, 1);
		} else if (op < 970) {
			const struct t_key *k = &s_keys[i];
			vd_cache_flush_name(s_cache, k->b + VD_DNS_KEY_HDR,
					    k->len - VD_DNS_KEY_HDR,
					    op % 2 ? 1 : -1);
		} else if (op < 980) {
			vd_cache_flush_zone(s_cache, zone, zone_len);
		} else if (op < 981) {
			vd_cache_flush_all(s_cache);
		} else if (op < 990) {
			vd_cache_foreach(s_cache, visit_check, NULL);
		} else {
			/* Time is explicit: look ahead so entries expire. */
			vd_cache_maintain(s_cache, now + xorshift(&rng) % 4 *
							       VD_NS_PER_SEC);
		}
	}
	rcu_unregister_thread();
	return NULL;
}

Test(cache_stress, readers_see_consistent_entries, .timeout = 60)
{
	pthread_t rd[S_READERS], wr[S_WRITERS];
	struct vd_cache_opts o = { .max_bytes = S_BUDGET,
				   .stale_max_ns = 1 * VD_NS_PER_SEC };
	char name[64];

	rcu_register_thread();
	for (unsigned i = 0; i < S_KEYS; i++) {
		snprintf(name, sizeof(name), "n%u.z%u.test", i, i % 8);
		s_keys[i] = t_mkkey(i % 4 == 0 ? VD_DNS_KEY_F_DO : 0,
				    (uint16_t)(i % 3 ? 1 : 28), name);
	}
	s_cache = vd_cache_create(&o);
	cr_assert_not_null(s_cache);
	vd_cache_set_observer(s_cache, observe, NULL);

	for (uintptr_t i = 0; i < S_READERS; i++)
		cr_assert_eq(pthread_create(&rd[i], NULL, reader, (void *)i), 0);
	for (uintptr_t i = 0; i < S_WRITERS; i++)
		cr_assert_eq(pthread_create(&wr[i], NULL, writer, (void *)i), 0);

	uint64_t end = vd_now_ns() + S_RUN_NS;
	struct vd_cache_stats st;
	while (vd_now_ns() < end) {
		/* Budget may overshoot by nothing: writers serialise. */
		vd_cache_get_stats(s_cache, &st);
		cr_assert_leq(st.bytes, S_BUDGET, "bytes %lu entries %lu",
			      (unsigned long)st.bytes, (unsigned long)st.entries);
		/* Shrink and grow the budget like a reload would. */
		o.max_bytes = o.max_bytes == S_BUDGET ? S_BUDGET / 2 : S_BUDGET;
		vd_cache_set_opts(s_cache, &o);
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	atomic_store(&s_stop, true);
	for (unsigned i = 0; i < S_READERS; i++)
		pthread_join(rd[i], NULL);
	for (unsigned i = 0; i < S_WRITERS; i++)
		pthread_join(wr[i], NULL);

	o.max_bytes = S_BUDGET;
	vd_cache_set_opts(s_cache, &o);
	cr_assert_eq(atomic_load(&s_bad), 0, "inconsistent entries seen");
	cr_assert_gt(atomic_load(&s_hits), 0);

	vd_cache_get_stats(s_cache, &st);
	cr_log_info("stress: %lu hits, %lu inserts, %lu replaces, %lu "
		    "evictions, %lu expirations, %lu flushed, %lu entries",
		    atomic_load(&s_hits), (unsigned long)st.inserts,
		    (unsigned long)st.replaces, (unsigned long)st.evictions,
		    (unsigned long)st.expirations, (unsigned long)st.flushed,
		    (unsigned long)st.entries);
	cr_assert_gt(st.replaces, 0);
	cr_assert_gt(st.evictions, 0);
	cr_assert_gt(st.flushed, 0);
	cr_assert_gt(st.expirations, 0);
	cr_assert_leq(st.bytes, S_BUDGET);
	t_check_stats(s_cache);
	cr_assert_eq(atomic_load(&s_obs_ins), st.inserts);
	cr_assert_eq(atomic_load(&s_obs_rem),
		     st.evictions + st.expirations + st.flushed);

	vd_cache_destroy(s_cache);
	rcu_unregister_thread();
}
