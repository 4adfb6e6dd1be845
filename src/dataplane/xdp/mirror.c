/*
 * The mirror's entry format: a stored answer (dns/answer.h) split the way
 * bpf/vd_xdp.bpf.c wants it.  Pure functions, unit-testable without BPF.
 */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "dataplane/xdp/xdp.h"
#include "dns/wire.h"

uint16_t vd_xdp_csum16(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

int vd_xdp_qkey_from_key(const uint8_t *key, size_t key_len,
			 struct vd_xdp_qkey *qk)
{
	if (key_len <= VD_XDP_KEY_HDR || key_len > VD_XDP_KEY_SIZE)
		return key_len > VD_XDP_KEY_SIZE ? -E2BIG : -EINVAL;
	memset(qk, 0, sizeof(*qk));
	qk->flags = key[0];
	qk->name_len = (uint8_t)(key_len - VD_XDP_KEY_HDR);
	memcpy(qk->qtc, key + 1, 4);
	memcpy(qk->name, key + VD_XDP_KEY_HDR, qk->name_len);
	return 0;
}

size_t vd_xdp_key_from_qkey(const struct vd_xdp_qkey *qk, uint8_t *key)
{
	if (qk->name_len == 0 || qk->name[qk->name_len - 1] != 0)
		return 0;
	key[0] = qk->flags;
	memcpy(key + 1, qk->qtc, 4);
	memcpy(key + VD_XDP_KEY_HDR, qk->name, qk->name_len);
	return VD_XDP_KEY_HDR + (size_t)qk->name_len;
}

int vd_xdp_entry_build(const uint8_t *key, size_t key_len,
		       const uint8_t *wire,
		       const struct vd_dns_answer_meta *meta,
		       const uint16_t *ttl_offs, uint64_t stored_ns,
		       uint64_t expire_ns, unsigned max_answer, uint64_t seed,
		       uint64_t *k, struct vd_xdp_entry *v)
{
	/* SERVFAIL and other rcodes are cached briefly and may turn into
	 * stale answers: user space decides those. */
	if (meta->kind != VD_DNS_ANSWER_POSITIVE &&
	    meta->kind != VD_DNS_ANSWER_NODATA &&
	    meta->kind != VD_DNS_ANSWER_NXDOMAIN)
		return -EINVAL;
	if (max_answer > VD_XDP_ANSWER_MAX)
		max_answer = VD_XDP_ANSWER_MAX;
	size_t qend = VD_DNS_HEADER_LEN + (size_t)meta->qname_len + 4;
	if (key_len > VD_XDP_KEY_SIZE || meta->wire_len > max_answer ||
	    meta->n_ttls > VD_XDP_MAX_TTLS)
		return -E2BIG;
	if (key_len != VD_XDP_KEY_HDR + (size_t)meta->qname_len ||
	    meta->wire_len < qend)
		return -EINVAL;

	memset(v, 0, sizeof(*v));
	if (vd_xdp_qkey_from_key(key, key_len, &v->qkey) != 0)
		return -EINVAL;
	*k = vd_xdp_qkey_hash(&v->qkey, seed);
	if (*k == 0)
		return -EINVAL; /* 0 marks an empty slot: 1 in 2^64, socket path */
	v->khash = *k;
	v->stored_ns = stored_ns;
	v->expire_ns = expire_ns;
	v->ttl = meta->ttl;
	v->flags = vd_get_u16(wire + 2);
	v->ancount = vd_get_u16(wire + 6);
	v->nscount = vd_get_u16(wire + 8);
	v->arcount = vd_get_u16(wire + 10);
	v->tail_len = (uint16_t)(meta->wire_len - qend);
	v->n_ttls = meta->n_ttls;
	v->qname_len = meta->qname_len;
	v->kind = meta->kind;
	for (size_t i = 0; i < meta->n_ttls; i++) {
		if (ttl_offs[i] < qend || ttl_offs[i] + 4u > meta->wire_len)
			return -EINVAL;
		v->ttl_offs[i] = (uint16_t)(ttl_offs[i] - qend);
	}
	memcpy(v->tail, wire + qend, v->tail_len);
	/* The checksum takes the TTL fields as zero: the program adds the
	 * values it writes.  (Copy, so overlapping TTLs cannot matter.) */
	uint8_t t[VD_XDP_ANSWER_MAX];
	memcpy(t, v->tail, v->tail_len);
	for (size_t i = 0; i < meta->n_ttls; i++)
		memset(t + v->ttl_offs[i], 0, 4);
	v->tail_csum = vd_xdp_csum16(t, v->tail_len);
	return 0;
}

/* ---- the slots ----------------------------------------------------------- */

/*
 * Seqlock write side (vd_xdp_shared.h): odd, then the release fence orders
 * that store before every store into the slot; the data; even again with
 * release, so a reader that sees the new even count sees all of the data.
 * The program's hits counter is written like the rest: an increment it
 * makes meanwhile may be lost, which only delays a prefetch.
 */
static void slot_write(struct vd_xdp_entry *slot, const struct vd_xdp_entry *v,
		       uint64_t hits)
{
	uint64_t seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	const size_t from = offsetof(struct vd_xdp_entry, khash);
	memcpy((uint8_t *)slot + from, (const uint8_t *)v + from,
	       sizeof(*v) - from);
	__atomic_store_n(&slot->hits, hits, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->prefetch_sent, v->prefetch_sent,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&slot->seq, seq + 2, __ATOMIC_RELEASE);
}

static void slot_clear(struct vd_xdp_entry *slot)
{
	uint64_t seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	slot->khash = 0;
	slot->expire_ns = 0;
	memset(&slot->qkey, 0, sizeof(slot->qkey));
	__atomic_store_n(&slot->seq, seq + 2, __ATOMIC_RELEASE);
}

static bool slot_is(const struct vd_xdp_entry *slot, uint64_t khash,
		    const struct vd_xdp_qkey *qk)
{
	return slot->khash == khash &&
	       memcmp(&slot->qkey, qk, sizeof(*qk)) == 0;
}

static bool slot_free(const struct vd_xdp_entry *slot, uint64_t now_ns)
{
	return slot->khash == 0 || slot->expire_ns <= now_ns;
}

int vd_xdp_slots_init(struct vd_xdp_slots *t, void *base, uint32_t n_slots)
{
	memset(t, 0, sizeof(*t));
	if (n_slots < VD_XDP_WAYS || (n_slots & (n_slots - 1)) != 0)
		return -EINVAL;
	t->base = base;
	t->n_slots = n_slots;
	t->set_mask = n_slots / VD_XDP_WAYS - 1;
	return 0;
}

uint32_t vd_xdp_slots_for(unsigned entries)
{
	uint32_t n = VD_XDP_WAYS;
	while (n < entries && n < (1u << 31))
		n <<= 1;
	return n;
}

/*
 * Admission and replacement, all decided here (user space is the
 * authority; the kernel never evicts):
 *  1. the key's own slot: rewritten in place, keeping half its hits (a
 *     refreshed hot name stays ahead of names XDP never served);
 *  2. else an empty or expired way: the mirror holds only servable
 *     entries, and an expired one takes no room;
 *  3. else the oldest way XDP never answered from (hits 0): one-off names
 *     give way to each other;
 *  4. else nothing: every way holds a name XDP is serving, and a name
 *     that never was popular here does not push one out.  A flood of
 *     random names therefore cannot evict the hot set.
 */
int vd_xdp_slots_put(struct vd_xdp_slots *t, const struct vd_xdp_entry *v,
		     uint64_t now_ns)
{
	if (!t->base || v->khash == 0)
		return -EINVAL;
	uint32_t first = ((uint32_t)v->khash & t->set_mask) * VD_XDP_WAYS;
	struct vd_xdp_entry *ways = t->base + first;
	int pick = -1;
	for (int w = 0; w < VD_XDP_WAYS; w++) {
		if (slot_is(&ways[w], v->khash, &v->qkey)) {
			uint64_t hits = __atomic_load_n(&ways[w].hits,
							__ATOMIC_RELAXED);
			slot_write(&ways[w], v, hits / 2);
			return (int)(first + (uint32_t)w);
		}
	}
	for (int w = 0; w < VD_XDP_WAYS && pick < 0; w++)
		if (slot_free(&ways[w], now_ns))
			pick = w;
	for (int w = 0; w < VD_XDP_WAYS && pick < 0; w++) {
		if (__atomic_load_n(&ways[w].hits, __ATOMIC_RELAXED) != 0)
			continue;
		int oldest = w;
		for (int o = w + 1; o < VD_XDP_WAYS; o++)
			if (__atomic_load_n(&ways[o].hits, __ATOMIC_RELAXED) == 0 &&
			    ways[o].stored_ns < ways[oldest].stored_ns)
				oldest = o;
		pick = oldest;
	}
	if (pick < 0)
		return -ENOSPC;
	slot_write(&ways[pick], v, 0);
	return (int)(first + (uint32_t)pick);
}

uint64_t vd_xdp_slots_hits(const struct vd_xdp_slots *t,
			   const struct vd_xdp_qkey *qk, uint64_t khash)
{
	if (!t->base)
		return 0;
	const struct vd_xdp_entry *ways =
		t->base + ((uint32_t)khash & t->set_mask) * VD_XDP_WAYS;
	for (int w = 0; w < VD_XDP_WAYS; w++)
		if (slot_is(&ways[w], khash, qk))
			return __atomic_load_n(&ways[w].hits, __ATOMIC_RELAXED);
	return 0;
}

int vd_xdp_slots_del(struct vd_xdp_slots *t, const struct vd_xdp_qkey *qk,
		     uint64_t khash)
{
	if (!t->base)
		return -EINVAL;
	struct vd_xdp_entry *ways =
		t->base + ((uint32_t)khash & t->set_mask) * VD_XDP_WAYS;
	for (int w = 0; w < VD_XDP_WAYS; w++) {
		if (slot_is(&ways[w], khash, qk)) {
			slot_clear(&ways[w]);
			return 0;
		}
	}
	return -ENOENT;
}

size_t vd_xdp_slots_sweep(struct vd_xdp_slots *t, uint64_t now_ns,
			  size_t budget)
{
	size_t cleared = 0;
	if (!t->base)
		return 0;
	for (size_t i = 0; i < budget && i < t->n_slots; i++) {
		struct vd_xdp_entry *slot = &t->base[t->sweep_pos];
		t->sweep_pos = (t->sweep_pos + 1) & (t->n_slots - 1);
		if (slot->khash != 0 && slot->expire_ns <= now_ns) {
			slot_clear(slot);
			cleared++;
		}
	}
	return cleared;
}

size_t vd_xdp_slots_used(const struct vd_xdp_slots *t, uint64_t now_ns)
{
	size_t n = 0;
	for (uint32_t i = 0; t->base && i < t->n_slots; i++)
		n += !slot_free(&t->base[i], now_ns);
	return n;
}

/* ---- run-time settings (vd_xdp_conf) ------------------------------------ */

int vd_xdp_vip_from_sa(const struct sockaddr_storage *ss, struct vd_xdp_vip *v)
{
	memset(v, 0, sizeof(*v));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		v->family = 4;
		v->port_be = s->sin_port;
		memcpy(v->addr, &s->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		v->family = 6;
		v->port_be = s->sin6_port;
		memcpy(v->addr, &s->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* Every client allowed: the program looks nothing up. */
static bool acl_allows_all(const struct vd_acl *acl)
{
	if (!acl)
		return true;
	if (acl->default_action != VD_ACL_ALLOW)
		return false;
	for (size_t i = 0; i < acl->n_rules; i++)
		if (acl->rules[i].action != VD_ACL_ALLOW)
			return false;
	return true;
}

/* The ACL as the program's fast table: rules longest prefix first (the
 * first match is the longest, as in the trie); a later rule for the same
 * prefix replaces an earlier one, as in the trie.  Returns false when it
 * does not fit (the trie is used then). */
static bool acl_table(const struct vd_acl *acl, struct vd_xdp_conf *c)
{
	struct vd_xdp_acl_rule t[VD_XDP_FAST_ACL];
	unsigned plen[VD_XDP_FAST_ACL];
	size_t n = 0;
	for (size_t i = 0; i < acl->n_rules; i++) {
		const struct vd_acl_rule *r = &acl->rules[i];
		struct vd_xdp_acl_rule x;
		memset(&x, 0, sizeof(x));
		x.family = r->family == AF_INET ? 4 : 6;
		x.action = r->action;
		unsigned bits = r->prefix_len;
		unsigned alen = x.family == 4 ? 4 : 16;
		for (unsigned b = 0; b < 16; b++) {
			unsigned m = bits >= 8 * (b + 1) ? 8
				     : bits > 8 * b    ? bits - 8 * b
							: 0;
			x.mask[b] = (uint8_t)(0xff00u >> m);
			x.addr[b] = (uint8_t)((b < alen ? r->addr[b] : 0) & x.mask[b]);
		}
		size_t j = 0;
		while (j < n && !(t[j].family == x.family && plen[j] == bits &&
				  memcmp(t[j].addr, x.addr, 16) == 0))
			j++;
		if (j == n) {
			if (n == VD_XDP_FAST_ACL)
				return false;
			n++;
		}
		t[j] = x;
		plen[j] = bits;
	}
	for (size_t i = 1; i < n; i++) /* stable: longest prefix first */
		for (size_t j = i; j > 0 && plen[j - 1] < plen[j]; j--) {
			struct vd_xdp_acl_rule tr = t[j];
			unsigned tp = plen[j];
			t[j] = t[j - 1];
			plen[j] = plen[j - 1];
			t[j - 1] = tr;
			plen[j - 1] = tp;
		}
	memcpy(c->acl, t, n * sizeof(t[0]));
	c->n_acl = (uint32_t)n;
	c->acl_default = acl->default_action;
	return true;
}

void vd_xdp_conf_build(const struct vd_xdp_opts *o, struct vd_xdp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->prefetch = o->prefetch;
	c->prefetch_percent = o->prefetch_percent;
	c->prefetch_min_hits = o->prefetch_min_hits;
	if (acl_allows_all(o->acl))
		c->acl_mode = VD_XDP_ACL_ALL;
	else if (acl_table(o->acl, c))
		c->acl_mode = VD_XDP_ACL_TABLE;
	else
		c->acl_mode = VD_XDP_ACL_TRIE;
	size_t nv = 0;
	for (size_t i = 0; i < o->n_vips && nv <= VD_XDP_FAST_VIPS; i++) {
		struct vd_xdp_vip v;
		if (vd_xdp_vip_from_sa(&o->vips[i], &v) != 0)
			continue;
		if (nv < VD_XDP_FAST_VIPS)
			c->vips[nv] = v;
		nv++;
	}
	if (nv <= VD_XDP_FAST_VIPS) {
		c->vip_mode = VD_XDP_VIP_TABLE;
		c->n_vips = (uint32_t)nv;
	} else {
		c->vip_mode = VD_XDP_VIP_MAP;
		memset(c->vips, 0, sizeof(c->vips));
	}
}
