/* Unit tests for src/cache/cache.c: single-threaded behaviour. */
#include <errno.h>
#include <stdio.h>

#include <criterion/criterion.h>

#include "cache_test_util.h"
#include "core/clock.h"

#define T_QA 1
#define T_QAAAA 28
#define T_QMX 15

static void setup(void)
{
	rcu_register_thread();
}

static void teardown(void)
{
	rcu_unregister_thread();
}

TestSuite(cache, .init = setup, .fini = teardown);

static struct vd_cache *mk(size_t max_bytes, uint64_t stale_ns)
{
	struct vd_cache_opts o = { .max_bytes = max_bytes,
				   .stale_max_ns = stale_ns };
	struct vd_cache *c = vd_cache_create(&o);
	cr_assert_not_null(c);
	return c;
}

Test(cache, insert_lookup_miss)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_key a = t_mkkey(0, T_QA, "www.example.com");
	struct t_key b = t_mkkey(0, T_QA, "ftp.example.com");

	cr_assert_eq(t_insert(c, &a, 0xaa, 100, 300, 10 * T_NS), 0);

	rcu_read_lock();
	const struct vd_cache_entry *e = vd_cache_lookup(c, a.b, a.len, a.hash);
	cr_assert_not_null(e);
	cr_assert_eq(e->key_len, a.len);
	cr_assert_arr_eq(e->key, a.b, a.len);
	cr_assert_eq(e->hash, a.hash);
	cr_assert_eq(e->meta.wire_len, 100);
	cr_assert_eq(e->meta.n_ttls, 2);
	cr_assert_eq(e->ttl_offs[0], 30);
	cr_assert_eq(e->ttl_offs[1], 46);
	cr_assert_eq((uintptr_t)e->ttl_offs % _Alignof(uint16_t), 0);
	for (size_t i = 0; i < 100; i++)
		cr_assert_eq(e->wire[i], 0xaa);
	cr_assert_eq(atomic_load(&e->hits), 1);
	cr_assert_eq(atomic_load(&e->referenced), 1);
	cr_assert_eq(atomic_load(&e->prefetching), 0);
	cr_assert_gt(e->charge, 100 + a.len);
	vd_cache_lookup(c, a.b, a.len, a.hash);
	cr_assert_eq(atomic_load(&e->hits), 2);

	cr_assert_null(vd_cache_lookup(c, b.b, b.len, b.hash));
	/* Same hash, different bytes: must not match. */
	cr_assert_null(vd_cache_lookup(c, b.b, b.len, a.hash));
	/* A prefix of the key is another key. */
	cr_assert_null(vd_cache_lookup(c, a.b, a.len - 1,
				       vd_cache_hash(a.b, a.len - 1)));
	rcu_read_unlock();

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.inserts, 1);
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, insert_without_ttls)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_key a = t_mkkey(0, T_QA, "x.test");
	uint8_t wire[13] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
	struct vd_dns_answer_meta m = { .wire_len = 13, .ttl = 5 };

	cr_assert_eq(vd_cache_insert(c, a.b, a.len, a.hash, wire, &m, NULL, 0),
		     0);
	rcu_read_lock();
	const struct vd_cache_entry *e = vd_cache_lookup(c, a.b, a.len, a.hash);
	cr_assert_not_null(e);
	cr_assert_arr_eq(e->wire, wire, 13);
	cr_assert_eq(e->meta.n_ttls, 0);
	rcu_read_unlock();
	vd_cache_destroy(c);
}

Test(cache, replace_keeps_one_entry_and_reports_insert)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_events ev = { 0 };
	struct t_key a = t_mkkey(0, T_QA, "www.example.com");

	vd_cache_set_observer(c, t_observe, &ev);
	cr_assert_eq(t_insert(c, &a, 0x11, 100, 300, 0), 0);
	cr_assert_eq(t_insert(c, &a, 0x22, 200, 600, T_NS), 0);

	rcu_read_lock();
	const struct vd_cache_entry *e = vd_cache_lookup(c, a.b, a.len, a.hash);
	cr_assert_not_null(e);
	cr_assert_eq(e->wire[0], 0x22);
	cr_assert_eq(e->meta.wire_len, 200);
	cr_assert_eq(e->expire_ns, T_NS + 600 * T_NS);
	size_t charge = e->charge;
	rcu_read_unlock();

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(st.inserts, 2);
	cr_assert_eq(st.replaces, 1);
	cr_assert_eq(st.bytes, charge);

	cr_assert_eq(ev.n, 2);
	cr_assert_eq(ev.ev[0], VD_CACHE_EV_INSERT);
	cr_assert_eq(ev.fill[0], 0x11);
	cr_assert_eq(ev.ev[1], VD_CACHE_EV_INSERT);
	cr_assert_eq(ev.fill[1], 0x22);
	t_check_stats(c);

	/* A removal reports the current entry. */
	cr_assert_eq(vd_cache_flush_all(c), 1);
	cr_assert_eq(ev.n, 3);
	cr_assert_eq(ev.ev[2], VD_CACHE_EV_REMOVE);
	cr_assert_eq(ev.fill[2], 0x22);
	vd_cache_destroy(c);
}

Test(cache, key_distinguishes_flags_type_and_name_case_is_callers)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_key k[] = {
		t_mkkey(0, T_QA, "a.test"),
		t_mkkey(VD_DNS_KEY_F_DO, T_QA, "a.test"),
		t_mkkey(VD_DNS_KEY_F_CD, T_QA, "a.test"),
		t_mkkey(VD_DNS_KEY_F_DO | VD_DNS_KEY_F_CD, T_QA, "a.test"),
		t_mkkey(0, T_QAAAA, "a.test"),
		t_mkkey(0, T_QA, "b.test"),
	};
	size_t n = sizeof(k) / sizeof(k[0]);

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(t_insert(c, &k[i], (uint8_t)(i + 1), 64, 60, 0), 0);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(t_get(c, &k[i]), (int)(i + 1), "key %zu", i);

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.entries, n);
	cr_assert_eq(st.replaces, 0);
	vd_cache_destroy(c);
}

Test(cache, expiry_fields)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_key a = t_mkkey(0, T_QA, "a.test");
	struct t_key z = t_mkkey(0, T_QA, "zero.test");
	uint64_t now = 1234 * T_NS + 5678;

	cr_assert_eq(t_insert(c, &a, 1, 64, 300, now), 0);
	cr_assert_eq(t_insert(c, &z, 2, 64, 0, now), 0);
	rcu_read_lock();
	const struct vd_cache_entry *e = vd_cache_lookup(c, a.b, a.len, a.hash);
	cr_assert_eq(e->stored_ns, now);
	cr_assert_eq(e->expire_ns, now + 300 * T_NS);
	cr_assert_eq(e->meta.ttl, 300);
	/* Returned past expiry too: the caller decides. */
	e = vd_cache_lookup(c, z.b, z.len, z.hash);
	cr_assert_not_null(e);
	cr_assert_eq(e->expire_ns, now);
	rcu_read_unlock();
	vd_cache_destroy(c);
}

Test(cache, maintain_honours_stale_window)
{
	struct vd_cache *c = mk(1 << 20, 10 * T_NS);
	struct t_events ev = { 0 };
	struct t_key a = t_mkkey(0, T_QA, "short.test");
	struct t_key b = t_mkkey(0, T_QA, "long.test");
	uint64_t t0 = 100 * T_NS;

	vd_cache_set_observer(c, t_observe, &ev);
	cr_assert_eq(t_insert(c, &a, 1, 64, 10, t0), 0);
	cr_assert_eq(t_insert(c, &b, 2, 64, 100, t0), 0);

	/* Expired, but inside the stale window: kept for serve-stale. */
	vd_cache_maintain(c, t0 + 15 * T_NS);
	cr_assert(t_has(c, &a));
	cr_assert(t_has(c, &b));
	vd_cache_maintain(c, t0 + 20 * T_NS - 1);
	cr_assert(t_has(c, &a));

	vd_cache_maintain(c, t0 + 20 * T_NS);
	cr_assert_not(t_has(c, &a));
	cr_assert(t_has(c, &b));

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.expirations, 1);
	cr_assert_eq(st.entries, 1);
	cr_assert_eq(ev.removes, 1);
	cr_assert_eq(ev.fill[ev.n - 1], 1);

	/* Without a stale window entries go at expiry. */
	struct vd_cache_opts o = { .max_bytes = 1 << 20, .stale_max_ns = 0 };
	vd_cache_set_opts(c, &o);
	vd_cache_maintain(c, t0 + 100 * T_NS - 1);
	cr_assert(t_has(c, &b));
	vd_cache_maintain(c, t0 + 100 * T_NS);
	cr_assert_not(t_has(c, &b));
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, maintain_removes_in_expiry_order_many)
{
	struct vd_cache *c = mk(1 << 22, 0);
	char name[64];

	/* Shuffled TTLs exercise the heap's sifting in both directions. */
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%u.test", i);
		struct t_key k = t_mkkey(0, T_QA, name);
		cr_assert_eq(t_insert(c, &k, 1, 32, (i * 7919) % 1000 + 1, 0),
			     0);
	}
	for (unsigned i = 0; i < 1000; i += 3) {
		snprintf(name, sizeof(name), "n%u.test", i);
		struct t_key k = t_mkkey(0, T_QA, name);
		cr_assert_eq(vd_cache_flush_name(c, k.b + VD_DNS_KEY_HDR,
						 k.len - VD_DNS_KEY_HDR, -1),
			     1);
	}
	for (unsigned s = 0; s <= 1000; s += 50) {
		vd_cache_maintain(c, (uint64_t)s * T_NS);
		for (unsigned i = 0; i < 1000; i++) {
			snprintf(name, sizeof(name), "n%u.test", i);
			struct t_key k = t_mkkey(0, T_QA, name);
			bool want = i % 3 != 0 && (i * 7919) % 1000 + 1 > s;
			cr_assert_eq(t_has(c, &k), want, "i=%u s=%u", i, s);
		}
	}
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, budget_holds_under_10x_inserts)
{
	const size_t budget = 64 * 1024;
	struct vd_cache *c = mk(budget, 0);
	struct vd_cache_stats st;
	char name[64];
	uint64_t inserted = 0;

	for (unsigned i = 0; inserted < 10 * budget; i++) {
		snprintf(name, sizeof(name), "host%u.example.com", i);
		struct t_key k = t_mkkey(0, T_QA, name);
		cr_assert_eq(t_insert(c, &k, 1, (uint16_t)(100 + i % 900), 300,
				      0),
			     0);
		inserted += 100 + i % 900;
		vd_cache_get_stats(c, &st);
		cr_assert_leq(st.bytes, budget);
	}
	vd_cache_get_stats(c, &st);
	cr_assert_gt(st.evictions, 0);
	cr_assert_gt(st.entries, 0);
	cr_assert_eq(st.expirations, 0);
	t_check_stats(c);
	vd_cache_destroy(c);
}

static size_t charge_of(struct vd_cache *c, const struct t_key *k)
{
	rcu_read_lock();
	const struct vd_cache_entry *e = vd_cache_lookup(c, k->b, k->len,
							 k->hash);
	cr_assert_not_null(e);
	size_t charge = e->charge;
	rcu_read_unlock();
	return charge;
}

/* Keys of equal length so every entry has the same charge. */
static struct t_key nkey(unsigned i)
{
	char name[32];

	snprintf(name, sizeof(name), "h%04u.test", i);
	return t_mkkey(0, T_QA, name);
}

Test(cache, clock_spares_recently_used_entry)
{
	/* Learn the charge of one entry, then size the budget for 10. */
	struct vd_cache *probe = mk(1 << 20, 0);
	struct t_key k0 = nkey(0);
	cr_assert_eq(t_insert(probe, &k0, 1, 200, 300, 0), 0);
	size_t charge = charge_of(probe, &k0);
	vd_cache_destroy(probe);

	struct vd_cache *c = mk(10 * charge + charge / 2, 0);
	for (unsigned i = 0; i < 10; i++) {
		struct t_key k = nkey(i);
		cr_assert_eq(t_insert(c, &k, 1, 200, 300, 0), 0);
	}
	/* Every entry fits; touch the oldest. */
	cr_assert(t_has(c, &k0));

	/* FIFO would now drop h0000 first. */
	for (unsigned i = 10; i < 15; i++) {
		struct t_key k = nkey(i);
		cr_assert_eq(t_insert(c, &k, 1, 200, 300, 0), 0);
	}
	k0 = nkey(0);
	cr_assert(t_has(c, &k0), "CLOCK must give the used entry a second chance");
	for (unsigned i = 1; i <= 5; i++) {
		struct t_key k = nkey(i);
		cr_assert_not(t_has(c, &k), "h%04u should be evicted", i);
	}
	for (unsigned i = 6; i < 15; i++) {
		struct t_key k = nkey(i);
		cr_assert(t_has(c, &k), "h%04u should be cached", i);
	}

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.evictions, 5);
	cr_assert_eq(st.entries, 10);
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, clock_with_every_entry_referenced_still_evicts)
{
	struct vd_cache *probe = mk(1 << 20, 0);
	struct t_key k0 = nkey(0);
	cr_assert_eq(t_insert(probe, &k0, 1, 200, 300, 0), 0);
	size_t charge = charge_of(probe, &k0);
	vd_cache_destroy(probe);

	struct vd_cache *c = mk(8 * charge, 0);
	for (unsigned i = 0; i < 8; i++) {
		struct t_key k = nkey(i);
		cr_assert_eq(t_insert(c, &k, 1, 200, 300, 0), 0);
		cr_assert(t_has(c, &k));
	}
	/* One revolution clears every bit, then the oldest goes. */
	struct t_key k8 = nkey(8);
	cr_assert_eq(t_insert(c, &k8, 1, 200, 300, 0), 0);
	cr_assert_not(t_has(c, &k0));
	for (unsigned i = 1; i <= 8; i++) {
		struct t_key k = nkey(i);
		cr_assert(t_has(c, &k), "h%04u", i);
	}
	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.evictions, 1);
	vd_cache_destroy(c);
}

Test(cache, insert_evicts_dead_entries_before_clock)
{
	struct vd_cache *probe = mk(1 << 20, 0);
	struct t_key k0 = nkey(0);
	cr_assert_eq(t_insert(probe, &k0, 1, 200, 300, 0), 0);
	size_t charge = charge_of(probe, &k0);
	vd_cache_destroy(probe);

	struct vd_cache *c = mk(4 * charge, 5 * T_NS);
	struct t_key k[5];
	for (unsigned i = 0; i < 4; i++) {
		k[i] = nkey(i);
		/* h0002 dies at 10 s + 5 s stale; the rest live long. */
		cr_assert_eq(t_insert(c, &k[i], 1, 200, i == 2 ? 10 : 300, 0),
			     0);
		/* Referenced entries must still lose to a dead one. */
		cr_assert(t_has(c, &k[i]));
	}
	k[4] = nkey(4);
	cr_assert_eq(t_insert(c, &k[4], 1, 200, 300, 20 * T_NS), 0);
	cr_assert_not(t_has(c, &k[2]));
	for (unsigned i = 0; i < 5; i++)
		if (i != 2)
			cr_assert(t_has(c, &k[i]), "h%04u", i);

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.expirations, 1);
	cr_assert_eq(st.evictions, 0);
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, shrinking_budget_applies_at_maintain)
{
	struct vd_cache *c = mk(1 << 20, 0);

	for (unsigned i = 0; i < 100; i++) {
		struct t_key k = nkey(i);
		cr_assert_eq(t_insert(c, &k, 1, 500, 300, 0), 0);
	}
	struct vd_cache_opts o = { .max_bytes = 8192, .stale_max_ns = 0 };
	vd_cache_set_opts(c, &o);
	vd_cache_maintain(c, 0);

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_leq(st.bytes, 8192);
	cr_assert_gt(st.entries, 0);
	cr_assert_eq(st.evictions, 100 - st.entries);
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, oversized_entry_is_e2big)
{
	struct vd_cache *c = mk(1000, 0);
	struct t_key a = t_mkkey(0, T_QA, "big.test");
	struct t_key b = t_mkkey(0, T_QA, "small.test");

	cr_assert_eq(t_insert(c, &b, 1, 100, 60, 0), 0);
	cr_assert_eq(t_insert(c, &a, 1, 2000, 60, 0), -E2BIG);
	/* Just over the budget with its overhead counted. */
	cr_assert_eq(t_insert(c, &a, 1, 990, 60, 0), -E2BIG);
	cr_assert_not(t_has(c, &a));
	cr_assert(t_has(c, &b), "a refused insert evicts nothing");

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.inserts, 1);
	cr_assert_eq(st.entries, 1);
	vd_cache_destroy(c);
}

Test(cache, bad_arguments)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_key a = t_mkkey(0, T_QA, "a.test");
	uint8_t wire[16] = { 0 };
	struct vd_dns_answer_meta m = { .wire_len = 16, .n_ttls = 1 };

	/* TTL offsets promised but missing. */
	cr_assert_eq(vd_cache_insert(c, a.b, a.len, a.hash, wire, &m, NULL, 0),
		     -EINVAL);
	m.n_ttls = 0;
	cr_assert_eq(vd_cache_insert(c, a.b, a.len, a.hash ^ 1, wire, &m, NULL,
				     0),
		     -EINVAL);
	cr_assert_eq(vd_cache_insert(c, a.b, VD_DNS_KEY_HDR,
				     vd_cache_hash(a.b, VD_DNS_KEY_HDR), wire,
				     &m, NULL, 0),
		     -EINVAL);
	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.inserts, 0);
	vd_cache_destroy(c);
	vd_cache_destroy(NULL);
}

Test(cache, flush_name_all_types_and_one_type)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_key k[] = {
		t_mkkey(0, T_QA, "www.example.com"),
		t_mkkey(VD_DNS_KEY_F_DO, T_QA, "www.example.com"),
		t_mkkey(0, T_QAAAA, "www.example.com"),
		t_mkkey(0, T_QMX, "www.example.com"),
		t_mkkey(0, T_QA, "example.com"),
		t_mkkey(0, T_QA, "a.www.example.com"),
	};
	uint8_t name[256];
	size_t name_len = t_name(name, "www.example.com");

	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(t_insert(c, &k[i], 1, 64, 60, 0), 0);

	/* One type: both DO variants of A go, AAAA and MX stay. */
	cr_assert_eq(vd_cache_flush_name(c, name, name_len, T_QA), 2);
	cr_assert_not(t_has(c, &k[0]));
	cr_assert_not(t_has(c, &k[1]));
	cr_assert(t_has(c, &k[2]));
	cr_assert(t_has(c, &k[3]));

	cr_assert_eq(vd_cache_flush_name(c, name, name_len, T_QA), 0);
	cr_assert_eq(vd_cache_flush_name(c, name, name_len, -1), 2);
	cr_assert_not(t_has(c, &k[2]));
	cr_assert_not(t_has(c, &k[3]));
	/* Neither the parent nor a child is the name. */
	cr_assert(t_has(c, &k[4]));
	cr_assert(t_has(c, &k[5]));

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.flushed, 4);
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, flush_zone_respects_label_boundaries)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_events ev = { 0 };
	const char *gone[] = { "example.com", "sub.example.com",
			       "a.b.sub.example.com" };
	const char *kept[] = { "badexample.com", "example.org", "com",
			       "example.com.evil.net", "xexample.com",
			       "sub.badexample.com" };
	uint8_t zone[256];
	size_t zone_len = t_name(zone, "example.com");

	vd_cache_set_observer(c, t_observe, &ev);
	for (size_t i = 0; i < 3; i++) {
		struct t_key k = t_mkkey(0, T_QA, gone[i]);
		cr_assert_eq(t_insert(c, &k, 1, 64, 60, 0), 0);
		k = t_mkkey(VD_DNS_KEY_F_DO, T_QAAAA, gone[i]);
		cr_assert_eq(t_insert(c, &k, 1, 64, 60, 0), 0);
	}
	for (size_t i = 0; i < 6; i++) {
		struct t_key k = t_mkkey(0, T_QA, kept[i]);
		cr_assert_eq(t_insert(c, &k, 1, 64, 60, 0), 0);
	}

	cr_assert_eq(vd_cache_flush_zone(c, zone, zone_len), 6);
	cr_assert_eq(ev.removes, 6);
	for (size_t i = 0; i < 3; i++) {
		struct t_key k = t_mkkey(0, T_QA, gone[i]);
		cr_assert_not(t_has(c, &k), "%s", gone[i]);
	}
	for (size_t i = 0; i < 6; i++) {
		struct t_key k = t_mkkey(0, T_QA, kept[i]);
		cr_assert(t_has(c, &k), "%s", kept[i]);
	}

	/* The root covers everything. */
	zone_len = t_name(zone, ".");
	cr_assert_eq(vd_cache_flush_zone(c, zone, zone_len), 6);
	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(st.flushed, 12);
	vd_cache_destroy(c);
}

Test(cache, flush_all_then_reuse)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_events ev = { 0 };

	vd_cache_set_observer(c, t_observe, &ev);
	for (unsigned i = 0; i < 3000; i++) {
		struct t_key k = nkey(i);
		cr_assert_eq(t_insert(c, &k, 1, 64, 60, 0), 0);
	}
	cr_assert_eq(vd_cache_flush_all(c), 3000);
	cr_assert_eq(ev.removes, 3000);
	cr_assert_eq(vd_cache_flush_all(c), 0);

	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.entries, 0);
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(st.flushed, 3000);

	struct t_key k = nkey(7);
	cr_assert_not(t_has(c, &k));
	cr_assert_eq(t_insert(c, &k, 9, 64, 60, 0), 0);
	cr_assert_eq(t_get(c, &k), 9);
	/* Observer removed: no more events. */
	vd_cache_set_observer(c, NULL, NULL);
	cr_assert_eq(vd_cache_flush_all(c), 1);
	cr_assert_eq(ev.removes, 3000);
	t_check_stats(c);
	vd_cache_destroy(c);
}

Test(cache, hash_is_stable_and_spreads)
{
	struct t_key a = t_mkkey(0, T_QA, "www.example.com");
	struct t_key b = t_mkkey(VD_DNS_KEY_F_DO, T_QA, "www.example.com");

	cr_assert_eq(vd_cache_hash(a.b, a.len), vd_cache_hash(a.b, a.len));
	cr_assert_neq(a.hash, b.hash);

	/* Every length 0..64 (all tail sizes) differs from its neighbours. */
	uint8_t buf[64];
	memset(buf, 0, sizeof(buf));
	uint64_t prev = vd_cache_hash(buf, 0);
	for (size_t len = 1; len <= sizeof(buf); len++) {
		uint64_t h = vd_cache_hash(buf, len);
		cr_assert_neq(h, prev, "len %zu", len);
		prev = h;
	}

	/* Single-bit input changes flip about half the output bits. */
	unsigned long flips = 0, trials = 0;
	for (size_t i = 0; i < a.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t k[VD_DNS_KEY_MAX];
			memcpy(k, a.b, a.len);
			k[i] ^= (uint8_t)(1u << bit);
			flips += (unsigned long)__builtin_popcountll(
				vd_cache_hash(k, a.len) ^ a.hash);
			trials++;
		}
	}
	double avg = (double)flips / (double)trials;
	cr_assert(avg > 28.0 && avg < 36.0, "avalanche %f", avg);
}

static int stop_after_three(void *arg, const struct vd_cache_entry *e)
{
	unsigned *n = arg;

	(void)e;
	return ++*n == 3;
}

Test(cache, foreach_visits_all_and_stops_early)
{
	struct vd_cache *c = mk(1 << 20, 0);

	for (unsigned i = 0; i < 10; i++) {
		struct t_key k = nkey(i);
		cr_assert_eq(t_insert(c, &k, 1, 64, 60, 0), 0);
	}
	struct t_sum sum = { 0 };
	vd_cache_foreach(c, t_sum_visit, &sum);
	cr_assert_eq(sum.entries, 10);
	unsigned n = 0;
	vd_cache_foreach(c, stop_after_three, &n);
	cr_assert_eq(n, 3);
	vd_cache_destroy(c);
}

/*
 * The hash table is sized from the budget (it does not resize itself): a
 * budget full of the smallest entries the cache can hold must not load it
 * past about one entry per bucket, or lookups slow down with the size.
 */
Test(cache, buckets_follow_the_budget)
{
	cr_assert_eq(vd_cache_buckets_for(0), 1024);
	cr_assert_eq(vd_cache_buckets_for(64u << 20), (64u << 20) / 256);
	cr_assert_eq(vd_cache_buckets_for((64u << 20) + 256), (128u << 20) / 256);
	cr_assert_eq(vd_cache_buckets_for(SIZE_MAX), 1UL << 26);

	size_t budget = 4u << 20;
	struct vd_cache *c = mk(budget, 0);
	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.buckets, vd_cache_buckets_for(budget));

	/* One-letter names, a bare header and question: the least charge. */
	char name[16];
	for (unsigned i = 0; i < 200000; i++) {
		snprintf(name, sizeof(name), "%x", i);
		struct t_key k = t_mkkey(0, T_QA, name);
		struct vd_dns_answer_meta m = { 0 };
		uint8_t wire[12 + 16 + 4] = { 0 };
		m.wire_len = (uint16_t)(12 + (k.len - VD_DNS_KEY_HDR) + 4);
		m.qname_len = (uint8_t)(k.len - VD_DNS_KEY_HDR);
		m.ttl = 300;
		cr_assert_eq(vd_cache_insert(c, k.b, k.len, k.hash, wire, &m,
					     NULL, T_NS),
			     0);
	}
	vd_cache_get_stats(c, &st);
	cr_assert_gt(st.evictions, 0, "the budget must be full");
	cr_assert_leq(st.entries * 4, st.buckets * 5,
		      "%llu entries in %llu buckets",
		      (unsigned long long)st.entries,
		      (unsigned long long)st.buckets);

	/* A reload with a larger budget grows the table at once. */
	struct vd_cache_opts o = { .max_bytes = budget * 8, .stale_max_ns = 0 };
	vd_cache_set_opts(c, &o);
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.buckets, vd_cache_buckets_for(budget * 8));
	/* and still finds what it held */
	struct t_key k = t_mkkey(0, T_QA, "30d3f"); /* one of the last */
	cr_assert_eq(t_get(c, &k), 0);
	/* a smaller one keeps the buckets it has */
	o.max_bytes = budget;
	vd_cache_set_opts(c, &o);
	vd_cache_get_stats(c, &st);
	cr_assert_eq(st.buckets, vd_cache_buckets_for(budget * 8));
	vd_cache_destroy(c);
}

static int insert_kind(struct vd_cache *c, const struct t_key *k, uint8_t kind)
{
	uint8_t wire[64] = { 0 };
	uint16_t offs[1] = { 30 };
	struct vd_dns_answer_meta m = { 0 };
	m.wire_len = sizeof(wire);
	m.n_ttls = 1;
	m.qname_len = (uint8_t)(k->len - VD_DNS_KEY_HDR);
	m.ttl = 60;
	m.kind = kind;
	return vd_cache_insert(c, k->b, k->len, k->hash, wire, &m, offs, 0);
}

/* The .io repair: only the zone's denials go, its good answers and other
 * zones' denials stay. */
Test(cache, flush_negative_takes_only_denials_in_zone)
{
	struct vd_cache *c = mk(1 << 20, 0);
	struct t_key nx = t_mkkey(0, T_QA, "www.example.io");
	struct t_key nodata = t_mkkey(0, T_QAAAA, "v4.example.io");
	struct t_key apex = t_mkkey(0, T_QA, "io");
	struct t_key pos = t_mkkey(0, T_QA, "ok.example.io");
	struct t_key fail = t_mkkey(0, T_QA, "f.example.io");
	struct t_key other = t_mkkey(0, T_QA, "www.example.org");
	cr_assert_eq(insert_kind(c, &nx, VD_DNS_ANSWER_NXDOMAIN), 0);
	cr_assert_eq(insert_kind(c, &nodata, VD_DNS_ANSWER_NODATA), 0);
	cr_assert_eq(insert_kind(c, &apex, VD_DNS_ANSWER_NXDOMAIN), 0);
	cr_assert_eq(insert_kind(c, &pos, VD_DNS_ANSWER_POSITIVE), 0);
	cr_assert_eq(insert_kind(c, &fail, VD_DNS_ANSWER_SERVFAIL), 0);
	cr_assert_eq(insert_kind(c, &other, VD_DNS_ANSWER_NXDOMAIN), 0);
	uint8_t zone[256];
	size_t zone_len = t_name(zone, "io");
	cr_assert_eq(vd_cache_flush_negative(c, zone, zone_len), 3);
	cr_assert_not(t_has(c, &nx));
	cr_assert_not(t_has(c, &nodata));
	cr_assert_not(t_has(c, &apex));
	cr_assert(t_has(c, &pos));
	cr_assert(t_has(c, &fail));
	cr_assert(t_has(c, &other));
	t_check_stats(c);
	vd_cache_destroy(c);
}
