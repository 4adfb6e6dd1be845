/* Helpers shared by the cache unit tests: keys, answers, an observer. */
#ifndef VD_TEST_CACHE_UTIL_H
#define VD_TEST_CACHE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cache/cache.h"
#include "dns/query.h"

#define T_NS 1000000000ULL

/* "www.example.com" -> lower-cased wire; "" or "." is the root.  Local so
 * the cache tests do not depend on the dns module. */
static inline size_t t_name(uint8_t *out, const char *str)
{
	size_t n = 0;

	while (*str && *str != '.') {
		const char *dot = strchr(str, '.');
		size_t l = dot ? (size_t)(dot - str) : strlen(str);
		out[n++] = (uint8_t)l;
		for (size_t i = 0; i < l; i++) {
			char ch = str[i];
			out[n++] = (uint8_t)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		str += l;
		if (*str == '.')
			str++;
	}
	out[n++] = 0;
	return n;
}

struct t_key {
	uint8_t b[VD_DNS_KEY_MAX];
	size_t len;
	uint64_t hash;
};

static inline struct t_key t_mkkey(uint8_t flags, uint16_t qtype,
				 const char *name)
{
	struct t_key k;

	k.b[0] = flags;
	k.b[1] = (uint8_t)(qtype >> 8);
	k.b[2] = (uint8_t)qtype;
	k.b[3] = 0;
	k.b[4] = 1; /* IN */
	k.len = VD_DNS_KEY_HDR + t_name(k.b + VD_DNS_KEY_HDR, name);
	k.hash = vd_cache_hash(k.b, k.len);
	return k;
}

/* Inserts an answer of wire_len bytes filled with fill, two TTL offsets. */
static inline int t_insert(struct vd_cache *c, const struct t_key *k,
			   uint8_t fill, uint16_t wire_len, uint32_t ttl,
			   uint64_t now_ns)
{
	uint8_t wire[4096];
	uint16_t offs[2] = { 30, 46 };
	struct vd_dns_answer_meta m = { 0 };

	cr_assert(wire_len <= sizeof(wire));
	memset(wire, fill, wire_len);
	m.wire_len = wire_len;
	m.n_ttls = 2;
	m.qname_len = (uint8_t)(k->len - VD_DNS_KEY_HDR);
	m.ttl = ttl;
	return vd_cache_insert(c, k->b, k->len, k->hash, wire, &m, offs, now_ns);
}

/* Looks up inside its own read section; returns the wire's fill byte or
 * -1 when absent. */
static inline int t_get(struct vd_cache *c, const struct t_key *k)
{
	int ret = -1;

	rcu_read_lock();
	const struct vd_cache_entry *e = vd_cache_lookup(c, k->b, k->len,
							 k->hash);
	if (e)
		ret = e->meta.wire_len ? e->wire[0] : 0;
	rcu_read_unlock();
	return ret;
}

static inline bool t_has(struct vd_cache *c, const struct t_key *k)
{
	return t_get(c, k) >= 0;
}

/* Records observer events. */
#define T_MAX_EVENTS 4096
struct t_events {
	size_t n;
	size_t inserts;
	size_t removes;
	enum vd_cache_event ev[T_MAX_EVENTS];
	uint8_t fill[T_MAX_EVENTS];
};

static inline void t_observe(void *arg, enum vd_cache_event ev,
			     const struct vd_cache_entry *e)
{
	struct t_events *t = arg;

	if (ev == VD_CACHE_EV_INSERT)
		t->inserts++;
	else
		t->removes++;
	if (t->n < T_MAX_EVENTS) {
		t->ev[t->n] = ev;
		t->fill[t->n] = e->meta.wire_len ? e->wire[0] : 0;
		t->n++;
	}
}

/* Counts entries and sums their charge with vd_cache_foreach(). */
struct t_sum {
	uint64_t entries;
	uint64_t bytes;
};

static inline int t_sum_visit(void *arg, const struct vd_cache_entry *e)
{
	struct t_sum *s = arg;

	s->entries++;
	s->bytes += e->charge;
	return 0;
}

static inline void t_check_stats(struct vd_cache *c)
{
	struct vd_cache_stats st;
	struct t_sum sum = { 0 };

	vd_cache_get_stats(c, &st);
	vd_cache_foreach(c, t_sum_visit, &sum);
	cr_assert_eq(st.entries, sum.entries);
	cr_assert_eq(st.bytes, sum.bytes);
	cr_assert_eq(st.entries, st.inserts - st.replaces - st.evictions -
					 st.expirations - st.flushed);
}

#endif
