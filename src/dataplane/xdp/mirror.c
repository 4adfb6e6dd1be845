/*
 * The mirror's entry format: a stored answer (dns/answer.h) split the way
 * bpf/vd_xdp.bpf.c wants it.  Pure functions, unit-testable without BPF.
 */
#include <errno.h>
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
