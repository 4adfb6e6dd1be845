// SPDX-License-Identifier: BSD-2-Clause
/*
 * vipdns XDP fast path: answers cache hits for the VIP inside the driver.
 *
 * A UDP query to a VIP:port from a client the ACL allows is parsed with
 * bounded loops, its cache key built exactly as vd_dns_query_key() builds
 * it, and looked up in the mirror the daemon keeps of its answer cache
 * under the key's seeded 64-bit hash, the full key compared on a hit.
 * The hit path makes no call per byte, label, word or TTL: helpers and
 * BPF-to-BPF calls are counted (each return is dear on CPUs with return
 * thunks), loops that would multiply the verifier's work live in global
 * functions, which it checks once on their own.
 * On a fresh hit the frame becomes the answer in place (the rules of
 * vd_dns_answer_write(): query ID, RD/CD copied, the client's qname bytes,
 * TTLs lowered by whole seconds elapsed, AD only for DO/AD clients, OPT
 * with our buffer size, DO echoed and NSID when asked) and goes back out
 * with XDP_TX.  Everything else goes up unchanged with XDP_PASS and is
 * counted by reason: the socket path then answers exactly as before.
 *
 * All decisions are taken before the frame is touched.  Once it is
 * changed, the only failure left is an inconsistent mirror entry, which
 * user space never writes; such a frame is dropped and counted (ERROR).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vd_xdp_maps.h"
#include "vd_xdp_parse.h"
#include "vd_xdp_shared.h"

/* Load-time settings: the daemon fills them in before loading (a reload
 * that changes them reloads the program). */
const volatile __u16 vd_edns_size = 1232; /* edns-buffer-size */
const volatile __u32 vd_nsid_len = 0;     /* > VD_XDP_NSID_MAX: too long */
const volatile __u8 vd_nsid[VD_XDP_NSID_MAX] __attribute__((aligned(8))) = {};
/* Checksum of the NSID bytes as if at an even offset (folded). */
const volatile __u16 vd_nsid_csum = 0;
/* Seed of the mirror's key hash (vd_xdp_qkey_hash); the loader picks it
 * at random and hashes its keys with it. */
const volatile __u64 vd_hash_seed = 0;
/* Sets of the mirror - 1 (a power of two): max_entries / VD_XDP_WAYS. */
const volatile __u32 vd_set_mask = VD_XDP_MIRROR_ENTRIES / VD_XDP_WAYS - 1;

#define DNS_F_QR 0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_T_OPT 41
#define DNS_OPT_NSID 3
#define DNS_EDNS_DO 0x8000
#define DNS_UDP_MIN 512
#define QMASK (VD_XDP_QUERY_MAX - 1)
#define NS_PER_SEC 1000000000ULL

_Static_assert((VD_XDP_QUERY_MAX & QMASK) == 0, "query max: power of two");
_Static_assert(VD_XDP_NSID_MAX % 8 == 0, "NSID is copied in 8-byte words");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&vd_xdp_counters, &idx);
	if (c)
		*c += 1;
}

static __always_inline int pass(__u32 idx)
{
	count(idx);
	return XDP_PASS;
}

static __always_inline __u16 q16(const __u8 *q, __u32 pos)
{
	return (__u16)q[pos & QMASK] << 8 | q[(pos + 1) & QMASK];
}

/* What the query asked, beyond the key. */
struct vd_xdp_query {
	__u32 qend;      /* end of the question: 12 + name + 4 */
	__u32 name_len;
	__u16 flags;
	__u16 edns_size; /* client's buffer; valid when edns */
	__u16 edns_flags;
	__u8 edns;
	__u8 nsid;       /* empty NSID option present */
	__u64 qsum;      /* checksum of the question bytes, in place */
	__u64 hash;      /* the name's part of the key hash */
};

/* Word helpers.  The DNS bytes are read 8 at a time in host order; on a
 * little-endian host the first byte in memory is the low byte. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* the first n (1..7) bytes of a word */
#define HEAD_MASK(n) ((1ULL << (8 * (n))) - 1)
/* a ones'-complement sum of host-order words -> of big-endian words */
#define CSUM_TO_BE(x) ((__u16)(((x) << 8) | ((x) >> 8)))
#else
#define HEAD_MASK(n) (~0ULL << (64 - 8 * (n)))
#define CSUM_TO_BE(x) ((__u16)(x))
#endif

static __always_inline __u16 swap16(__u16 x)
{
	return (__u16)((x << 8) | (x >> 8));
}

/* Lower-cases the ASCII letters of 8 bytes at once (bytes >= 0x80 and
 * everything outside A-Z stay as they are, as in vd_dns_lower_byte()). */
static __always_inline __u64 lower8(__u64 w)
{
	__u64 h = w & 0x7f7f7f7f7f7f7f7fULL;
	__u64 ge_a = h + 0x3f3f3f3f3f3f3f3fULL; /* top bit: h >= 'A' */
	__u64 gt_z = h + 0x2525252525252525ULL; /* top bit: h > 'Z' */
	__u64 up = ge_a & ~gt_z & ~w & 0x8080808080808080ULL;
	return w | (up >> 2);
}

/*
 * The question of the query at s->qbuf + VD_XDP_Q_OFF (dns_len bytes):
 * walks the qname's labels (<= 63 each, no pointers, <= 255 in all, inside
 * the message with room for qtype and qclass), then reads the question in
 * 8-byte words, unrolled (constant offsets, no calls): sums its bytes as
 * they stay in the frame into s->qsum (checksum, big-endian words), writes
 * the lower-cased name into s->qk.name (bytes past the name zeroed) and
 * mixes each name word into s->qhash (vd_xdp_mix from the seed).  Returns
 * the name's wire length, or 0 when the question is malformed.
 */
__attribute__((noinline)) int vd_xdp_question(struct vd_xdp_scratch *s,
					      __u32 dns_len)
{
	if (!s || dns_len > VD_XDP_QUERY_MAX)
		return 0;
	const __u8 *q = s->qbuf + VD_XDP_Q_OFF;
	/* The labels: a plain bounded loop (no call per label).  128 steps:
	 * a 255-byte name has at most 127 labels and the root. */
	__u32 off = 0;
	for (__u32 j = 0; j < 128; j++) {
		__u32 lpos = 12 + off;
		if (off >= VD_XDP_NAME_MAX || lpos >= dns_len)
			return 0; /* longer than 255, or past the message */
		__u8 c = q[lpos & QMASK];
		if (c == 0)
			break;
		/* Pointers (0xc0), the reserved 0x40/0x80 label types and
		 * lengths over 63 all end here. */
		if (c > 63)
			return 0;
		off += 1 + c;
	}
	__u32 name_len = off + 1;
	if (q[(12 + name_len - 1) & QMASK] != 0)
		return 0; /* 128 labels and no root: cannot happen, but say so */
	if (12 + name_len + 4 > dns_len)
		return 0;
	s->qk.name_len = name_len;

	/* The question in 8-byte words, unrolled (constant offsets, no
	 * calls): sum its bytes as they stay in the frame (checksum), write
	 * the lower-cased name into s->qk.name (bytes past the name zeroed)
	 * and mix each name word into the key hash. */
	/* nl: name_len unlinked from it (barrier + mask), so that what the
	 * unrolled blocks learn about nl is not carried back to name_len. */
	__u32 nl = name_len;
	barrier_var(nl);
	nl &= 0x1ff;
	__u32 qlen = nl + 4;
	__u32 qwords = (qlen + 7) / 8;
	__u32 nwords = (nl + 7) / 8;
	__u64 sum = 0, hash = vd_hash_seed;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < VD_XDP_NAME_WORDS + 1; i++) {
		if (i >= qwords)
			break;
		_Static_assert((VD_XDP_Q_OFF + 12) % 8 == 0, "question on a word");
		__u64 w = s->qw[(VD_XDP_Q_OFF + 12) / 8 + i];
		__u32 left = qlen - 8 * i;
		if (left < 8)
			w &= HEAD_MASK(left);
		sum += (w & 0xffffffff) + (w >> 32);
		if (i < VD_XDP_NAME_WORDS && i < nwords) {
			__u64 lw = lower8(w);
			left -= 4; /* bytes of the name from this word on */
			if (left < 8)
				lw &= HEAD_MASK(left);
			s->qk.name_w[i] = lw;
			hash = vd_xdp_mix(hash, lw);
		}
	}
	s->qhash = hash;
	s->qsum = CSUM_TO_BE(vd_xdp_csum_fold(sum));
	return (int)name_len;
}

/*
 * The ones'-complement sum of the whole DNS message at s->qbuf +
 * VD_XDP_Q_OFF (dns_len bytes), for verifying the query's UDP checksum:
 * whole 8-byte words of qbuf, the 4 bytes before the message and those past
 * its end masked off.  The message starts at an even offset of qbuf and of
 * the UDP datagram alike, so the 16-bit words line up.  Bounded by
 * VD_XDP_QUERY_MAX (65 words); a global function, verified once.  Returns
 * the sum folded to 16 bits, as big-endian words.
 */
__attribute__((noinline)) int vd_xdp_msg_sum(struct vd_xdp_scratch *s,
					     __u32 dns_len)
{
	if (!s || dns_len > VD_XDP_QUERY_MAX)
		return 0;
	__u32 end = VD_XDP_Q_OFF + dns_len;
	__u32 nw = (end + 7) / 8;
	__u64 sum = 0;
	_Static_assert(VD_XDP_Q_OFF == 4, "the first word's head is masked");
	for (__u32 i = 0; i < (VD_XDP_Q_OFF + VD_XDP_QUERY_MAX + 7) / 8; i++) {
		if (i >= nw)
			break;
		__u64 w = s->qw[i];
		if (i == 0)
			w &= ~HEAD_MASK(VD_XDP_Q_OFF);
		__u32 left = end - 8 * i;
		if (left < 8)
			w &= HEAD_MASK(left);
		sum += (w & 0xffffffff) + (w >> 32);
	}
	return CSUM_TO_BE(vd_xdp_csum_fold(sum));
}

/*
 * The query's UDP checksum verifies: pseudo header, UDP header (with the
 * checksum field) and the message (msum, vd_xdp_msg_sum) sum to 0xffff.
 * The kernel drops datagrams that fail (__udp4_lib_rcv, udp6); answering
 * one would answer bytes the client never sent.  IPv4's 0 means "no
 * checksum" and is legal (RFC 768); IPv6 forbids it (RFC 8200 8.1), and
 * the kernel drops those too.
 */
static __always_inline int udp_csum_ok(void *data, void *end,
				       const struct vd_xdp_pkt *p, __u32 msum)
{
	struct udphdr *udp = data + (p->l4_off & 0xff);
	if ((void *)(udp + 1) > end)
		return 0;
	if (udp->check == 0)
		return p->family == 4;
	__u64 sum = msum + IPPROTO_UDP + bpf_ntohs(udp->len);
	const __u16 *u = (const __u16 *)udp;
	sum += bpf_ntohs(u[0]) + bpf_ntohs(u[1]) + bpf_ntohs(u[2]) +
	       bpf_ntohs(u[3]);
	if (p->family == 4) {
		struct iphdr *ip = data + (p->l3_off & 0xff);
		if ((void *)(ip + 1) > end)
			return 0;
		const __u16 *w = (const __u16 *)&ip->saddr;
#pragma clang loop unroll(full)
		for (int k = 0; k < 4; k++)
			sum += bpf_ntohs(w[k]);
	} else {
		struct ipv6hdr *ip6 = data + (p->l3_off & 0xff);
		if ((void *)(ip6 + 1) > end)
			return 0;
		const __u16 *w = (const __u16 *)&ip6->saddr;
#pragma clang loop unroll(full)
		for (int k = 0; k < 16; k++)
			sum += bpf_ntohs(w[k]);
	}
	return vd_xdp_csum_fold(sum) == 0xffff;
}

/* The frame is addressed to the receiving interface's own MAC, as the
 * loader recorded it (vd_xdp_ifmacs); an interface without a record
 * answers nothing here. */
static __always_inline int to_our_mac(struct xdp_md *ctx, void *data,
				      void *end)
{
	__u32 ifindex = ctx->ingress_ifindex;
	const struct vd_xdp_ifmac *m = bpf_map_lookup_elem(&vd_xdp_ifmacs,
							    &ifindex);
	struct ethhdr *eth = data;
	if (!m || (void *)(eth + 1) > end)
		return 0;
	return *(const __u32 *)m->mac == *(const __u32 *)eth->h_dest &&
	       *(const __u16 *)&m->mac[4] == *(const __u16 *)&eth->h_dest[4];
}

/*
 * The DNS query at s->qbuf + VD_XDP_Q_OFF (dns_len bytes): header checks, the qname's
 * labels, then one pass over the question in 8-byte words that sums its
 * bytes for the UDP checksum and writes the lower-cased name into s->qk;
 * qtype/qclass; then at most one additional RR that must be an OPT we can
 * answer for.  s->qk.flags is the caller's.
 */
static __always_inline int parse_dns(struct vd_xdp_scratch *s, __u32 dns_len,
				     struct vd_xdp_query *qq)
{
	const __u8 *q = s->qbuf + VD_XDP_Q_OFF;
	__u16 flags = q16(q, 2);
	if (flags & DNS_F_QR)
		return VD_XDP_CTR_NOT_QUERY;
	if (flags & DNS_F_OPCODE)
		return VD_XDP_CTR_NOT_QUERY;
	if (q16(q, 4) != 1 || q16(q, 6) != 0 || q16(q, 8) != 0)
		return -1; /* QDCOUNT != 1, answers or authority in a query */
	__u16 arcount = q16(q, 10);
	if (arcount > 1)
		return VD_XDP_CTR_EDNS_OTHER;
	qq->flags = flags;

	/* One call (not one per label or word), and a global function:
	 * the verifier checks it once, on its own, and its result is a
	 * plain number to the caller, whatever paths it took inside. */
	__u32 name_len = vd_xdp_question(s, dns_len);
	if (name_len == 0 || name_len > VD_XDP_NAME_MAX)
		return -1;
	__u32 pos = 12 + name_len;
	if (pos + 4 > dns_len)
		return -1;
	barrier_var(pos); /* keep the & QMASK below: the verifier wants it */
	qq->hash = s->qhash;
	qq->name_len = name_len;
	qq->qend = pos + 4;
	qq->qsum = s->qsum;
	__builtin_memcpy(s->qk.qtc, &q[pos & QMASK], 4);
	s->qk.pad[0] = 0;
	s->qk.pad[1] = 0;
	pos += 4;

	if (arcount == 0) {
		/* The socket path ignores trailing bytes; they are rare
		 * enough to leave to it. */
		return pos == dns_len ? 0 : -1;
	}
	/* OPT: root owner, type 41, class = buffer size, TTL = ext-rcode,
	 * version, flags; then rdlen and options (RFC 6891 6.1.2). */
	if (pos + 11 > dns_len)
		return -1;
	if (q[pos & QMASK] != 0 || q16(q, pos + 1) != DNS_T_OPT)
		return VD_XDP_CTR_EDNS_OTHER; /* TSIG, named owner... */
	qq->edns = 1;
	qq->edns_size = q16(q, pos + 3);
	if (q[(pos + 6) & QMASK] != 0)
		return VD_XDP_CTR_EDNS_OTHER; /* version: BADVERS */
	qq->edns_flags = q16(q, pos + 7);
	__u32 rdlen = q16(q, pos + 9);
	pos += 11;
	if (pos + rdlen != dns_len)
		return -1;
	for (__u32 j = 0; j < VD_XDP_MAX_OPTIONS; j++) {
		if (pos >= dns_len)
			break;
		if (pos + 4 > dns_len)
			return -1;
		__u16 code = q16(q, pos);
		__u16 olen = q16(q, pos + 2);
		pos += 4 + olen;
		if (pos > dns_len)
			return -1;
		if (code != DNS_OPT_NSID || olen != 0)
			return VD_XDP_CTR_EDNS_OPTION;
		qq->nsid = 1;
	}
	if (pos != dns_len)
		return VD_XDP_CTR_EDNS_OPTION; /* more options than we walk */
	return 0;
}

/* The entry's full key equals the query's (hash collisions are misses):
 * the header word, then the name's words, unrolled. */
static __always_inline int same_key(const struct vd_xdp_entry *e,
				    const struct vd_xdp_scratch *s)
{
	if (e->qkey.hdr != s->qk.hdr)
		return 0;
	__u32 nwords = ((__u32)s->qk.name_len + 7) / 8;
	/* A plain loop: small code (an unrolled one costs instruction
	 * cache on every packet); nwords is a fresh load, so what the loop
	 * learns about it changes nothing the verifier tracks precisely. */
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < VD_XDP_NAME_WORDS; i++) {
		if (i >= nwords)
			break;
		if (e->qkey.name_w[i] != s->qk.name_w[i])
			return 0;
	}
	return 1;
}

/* Writes our OPT record into s->opt; returns its length. */
static __always_inline __u32 build_opt(struct vd_xdp_scratch *s,
				       const struct vd_xdp_query *qq)
{
	__u8 *o = s->opt;
	__u32 nsid_len = qq->nsid ? vd_nsid_len : 0;
	__u32 rdlen = nsid_len ? 4 + nsid_len : 0;
	__u16 size = vd_edns_size < DNS_UDP_MIN ? DNS_UDP_MIN : vd_edns_size;
	__u16 eflags = qq->edns_flags & DNS_EDNS_DO;

	o[0] = 0;
	o[1] = 0;
	o[2] = DNS_T_OPT;
	o[3] = size >> 8;
	o[4] = size & 0xff;
	o[5] = 0; /* extended rcode */
	o[6] = 0; /* version */
	o[7] = eflags >> 8;
	o[8] = eflags & 0xff;
	o[9] = rdlen >> 8;
	o[10] = rdlen & 0xff;
	if (nsid_len) {
		o[11] = 0;
		o[12] = DNS_OPT_NSID;
		o[13] = nsid_len >> 8;
		o[14] = nsid_len & 0xff;
		/* All of it (only nsid_len bytes go out), through volatile
		 * loads: a plain copy lets the compiler fold in the
		 * initializer instead of what the loader wrote. */
		for (__u32 w = 0; w < VD_XDP_NSID_MAX / 8; w++)
			*(__u64 *)(o + 15 + 8 * w) =
				*(const volatile __u64 *)&vd_nsid[8 * w];
	}
	return 11 + rdlen;
}

/* What vd_xdp_ttls() wrote: the new TTLs at even and odd offsets of the
 * tail, for the checksum. */
struct vd_xdp_ttl_sums {
	__u64 even;
	__u64 odd;
};

/*
 * The TTLs of the answer in the frame, tail at frame offset tail_off:
 * each lowered by the whole seconds elapsed, written straight into the
 * frame (4-byte stores, no helper call).  Their checksum is summed into
 * *ts (the tail's precomputed sum takes them as zero): a 32-bit value
 * sums to itself modulo 0xffff, one at an odd offset to its byte swap.
 * A global function: verified once on its own, one call per hit.
 * Returns 0, or -1 for an inconsistent entry.
 */
__attribute__((noinline)) int vd_xdp_ttls(struct xdp_md *ctx,
					  const struct vd_xdp_entry *e,
					  __u32 tail_off, __u32 elapsed,
					  struct vd_xdp_ttl_sums *ts)
{
	if (!ctx || !e || !ts)
		return -1;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *tail = data + (tail_off & 0x3ff);
	__u32 n_ttls = e->n_ttls;
	__u64 even = 0, odd = 0;
	for (__u32 i = 0; i < VD_XDP_MAX_TTLS; i++) {
		if (i >= n_ttls)
			break;
		__u32 off = e->ttl_offs[i];
		if (off > VD_XDP_ANSWER_MAX - 4)
			return -1;
		__u8 *t = tail + off;
		if ((void *)(t + 4) > end)
			return -1;
		/* unaligned 4-byte accesses: fine for the JIT */
		__u32 old = bpf_ntohl(*(const __u32 *)&e->tail[off]);
		__u32 ttl = old > elapsed ? old - elapsed : 0;
		if (off & 1)
			odd += ttl;
		else
			even += ttl;
		*(__u32 *)t = bpf_htonl(ttl);
	}
	ts->even = even;
	ts->odd = odd;
	return 0;
}

static __always_inline void maybe_prefetch(const struct vd_xdp_conf *conf,
					   struct vd_xdp_entry *e, __u64 now,
					   __u64 hits)
{
	if (!conf->prefetch || e->prefetch_sent)
		return;
	__u64 window = (__u64)e->ttl * NS_PER_SEC / 100 * conf->prefetch_percent;
	if (e->expire_ns - now > window || hits < conf->prefetch_min_hits)
		return;
	/* One request per entry: its replacement starts with 0 again. */
	if (__sync_val_compare_and_swap(&e->prefetch_sent, 0, 1) != 0)
		return;
	bpf_ringbuf_output(&vd_xdp_prefetch, &e->qkey, sizeof(e->qkey), 0);
}

/* The destination is a VIP: exact address, or the family's wildcard
 * (all-zero address), on the VIP's port. */
static __always_inline int is_vip(const struct vd_xdp_conf *conf,
				  struct vd_xdp_vip *vip)
{
	if (conf->vip_mode == VD_XDP_VIP_TABLE) {
		__u32 n = conf->n_vips;
		const __u32 *a = (const __u32 *)vip->addr; /* 4-aligned */
		int found = 0;
#pragma clang loop unroll(full)
		for (__u32 i = 0; i < VD_XDP_FAST_VIPS; i++) {
			const struct vd_xdp_vip *v = &conf->vips[i];
			if (i >= n || v->family != vip->family ||
			    v->port_be != vip->port_be)
				continue;
			const __u32 *w = (const __u32 *)v->addr;
			__u32 any = w[0] | w[1] | w[2] | w[3];
			__u32 diff = (w[0] ^ a[0]) | (w[1] ^ a[1]) |
				     (w[2] ^ a[2]) | (w[3] ^ a[3]);
			found |= diff == 0 || any == 0;
		}
		return found;
	}
	if (bpf_map_lookup_elem(&vd_xdp_vips, vip))
		return 1;
	__builtin_memset(vip->addr, 0, sizeof(vip->addr));
	return bpf_map_lookup_elem(&vd_xdp_vips, vip) != NULL;
}

/* The ACL allows the client (action ALLOW, 0). */
static __always_inline int acl_allows(const struct vd_xdp_conf *conf,
				      __u32 half, const struct vd_xdp_pkt *p,
				      const struct vd_xdp_acl_key *src)
{
	__u32 mode = conf->acl_mode;
	if (mode == VD_XDP_ACL_ALL)
		return 1;
	if (mode == VD_XDP_ACL_TABLE) {
		__u32 n = conf->n_acl;
		__u64 a0 = p->src_w[0], a1 = p->src_w[1];
		__u32 act = conf->acl_default;
		int found = 0;
		/* longest prefix first: the first match decides */
#pragma clang loop unroll(full)
		for (__u32 i = 0; i < VD_XDP_FAST_ACL; i++) {
			const struct vd_xdp_acl_rule *r = &conf->acl[i];
			if (found || i >= n || r->family != src->family)
				continue;
			if ((a0 & *(const __u64 *)&r->mask[0]) ==
				    *(const __u64 *)&r->addr[0] &&
			    (a1 & *(const __u64 *)&r->mask[8]) ==
				    *(const __u64 *)&r->addr[8]) {
				act = r->action;
				found = 1;
			}
		}
		return act == 0;
	}
	/* the trie of the half the settings came from */
	__u32 *act = half ? bpf_map_lookup_elem(&vd_xdp_acl1, src)
			  : bpf_map_lookup_elem(&vd_xdp_acl0, src);
	return act && *act == 0;
}

SEC("xdp")
int vd_xdp_main(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct vd_xdp_pkt p = {};
	struct vd_xdp_vip vip = {};
	struct vd_xdp_acl_key src = {};
	struct vd_xdp_query qq = {};
	__u32 l4_len = 0;
	__u32 zero = 0;
	int rc;

	rc = vd_xdp_parse_l2(data, end, &p);
	if (rc)
		return pass(rc < 0 ? VD_XDP_CTR_MALFORMED : rc);
	if (p.family == 4)
		rc = vd_xdp_parse_ipv4(data, end, &p, &vip, &src, &l4_len);
	else
		rc = vd_xdp_parse_ipv6(data, end, &p, &vip, &src, &l4_len);
	if (rc)
		return pass(rc < 0 ? VD_XDP_CTR_MALFORMED : rc);
	rc = vd_xdp_parse_udp(data, end, &p, l4_len, &vip);
	if (rc)
		return pass(VD_XDP_CTR_MALFORMED);

	/* One read of the active half; everything below uses that half. */
	__u32 *active = bpf_map_lookup_elem(&vd_xdp_active, &zero);
	__u32 half = active ? *active & 1 : 0;
	struct vd_xdp_conf *conf = bpf_map_lookup_elem(&vd_xdp_config, &half);
	if (!conf)
		return pass(VD_XDP_CTR_ERROR);
	if (!is_vip(conf, &vip))
		return pass(VD_XDP_CTR_NOT_VIP);
	/* The kernel takes only frames to our MAC as its own (PACKET_HOST);
	 * checked here, after the VIP, so other traffic pays no lookup. */
	if (!to_our_mac(ctx, data, end))
		return pass(VD_XDP_CTR_NOT_HOST);
	/* The ACL before any DNS parsing, as on the socket path; clients
	 * that get REFUSED or nothing are the socket path's business. */
	if (!acl_allows(conf, half, &p, &src))
		return pass(VD_XDP_CTR_ACL);

	__u32 dns_len = p.dns_len;
	if (dns_len < 12)
		return pass(VD_XDP_CTR_MALFORMED);
	if (dns_len > VD_XDP_QUERY_MAX)
		return pass(VD_XDP_CTR_TOO_LONG);
	struct vd_xdp_scratch *s = bpf_map_lookup_elem(&vd_xdp_scratch_map, &zero);
	if (!s)
		return pass(VD_XDP_CTR_ERROR);
	if (bpf_xdp_load_bytes(ctx, p.dns_off, s->qbuf + VD_XDP_Q_OFF, dns_len))
		return pass(VD_XDP_CTR_MALFORMED);
	if (!udp_csum_ok(data, end, &p, (__u32)vd_xdp_msg_sum(s, dns_len)))
		return pass(VD_XDP_CTR_BAD_CSUM);
	rc = parse_dns(s, dns_len, &qq);
	if (rc)
		return pass(rc < 0 ? VD_XDP_CTR_MALFORMED : rc);
	__u8 kf = 0;
	if (qq.edns && (qq.edns_flags & DNS_EDNS_DO))
		kf |= VD_XDP_KEY_F_DO;
	if (qq.flags & DNS_F_CD)
		kf |= VD_XDP_KEY_F_CD;
	s->qk.flags = kf;

	__u64 hkey = vd_xdp_hash_final(qq.hash, s->qk.hdr);
	/* The set's ways (array lookups: inlined, no helper call). */
	__u32 base = ((__u32)hkey & vd_set_mask) * VD_XDP_WAYS;
	struct vd_xdp_entry *e = NULL;
#pragma clang loop unroll(full)
	for (__u32 w = 0; w < VD_XDP_WAYS; w++) {
		__u32 idx = base + w;
		struct vd_xdp_entry *c = bpf_map_lookup_elem(&vd_xdp_mirror, &idx);
		if (!e && c && c->khash == hkey)
			e = c;
	}
	if (!e)
		return pass(VD_XDP_CTR_MISS);
	/* Seqlock read side (vd_xdp_shared.h).  The atomic add of 0 is the
	 * read and a full barrier on every JIT: nothing of the slot below is
	 * read before it.  Odd: user space is rewriting the slot. */
	__u64 seq = __sync_fetch_and_add(&e->seq, 0);
	if (seq & 1)
		return pass(VD_XDP_CTR_TORN);
	if (!same_key(e, s))
		return pass(VD_XDP_CTR_MISS);
	__u64 now = bpf_ktime_get_coarse_ns();
	if (now + VD_XDP_CLOCK_SLACK_NS >= e->expire_ns)
		return pass(VD_XDP_CTR_EXPIRED); /* serve-stale is user space's */
	__u32 tail_len = e->tail_len;
	__u32 n_ttls = e->n_ttls;
	if (tail_len > VD_XDP_ANSWER_MAX || n_ttls > VD_XDP_MAX_TTLS ||
	    e->qname_len != qq.name_len)
		return pass(VD_XDP_CTR_ERROR);

	/* Sizes: the client's buffer clamped to [512, ours], 512 without
	 * EDNS (vd_dns_client_max_size); too big goes up for TC=1. */
	/* Our OPT: 11 bytes, written straight into the frame below; with
	 * NSID, built in the scratch and stored with the node-id. */
	__u32 olen = 0;
	__u32 nsid = 0;
	if (qq.edns) {
		if (qq.nsid && vd_nsid_len > VD_XDP_NSID_MAX)
			return pass(VD_XDP_CTR_NSID);
		nsid = qq.nsid && vd_nsid_len;
		olen = nsid ? build_opt(s, &qq) : 11;
	}
	__u32 max_size = DNS_UDP_MIN;
	if (qq.edns) {
		max_size = qq.edns_size < DNS_UDP_MIN ? DNS_UDP_MIN : qq.edns_size;
		if (max_size > vd_edns_size)
			max_size = vd_edns_size;
	}
	__u32 qend = qq.qend;
	__u32 new_len = qend + tail_len + olen;
	if (new_len > max_size)
		return pass(VD_XDP_CTR_TOO_BIG);

	__u64 hits = __sync_fetch_and_add(&e->hits, 1) + 1;
	maybe_prefetch(conf, e, now, hits);
	/* The coarse clock lags CLOCK_MONOTONIC, which user space stamped
	 * stored_ns with, by up to a tick: right after a (re)insert now can
	 * read before stored_ns, and the unsigned difference would wrap to a
	 * huge age and every TTL to 0.  Clamp as the socket path does
	 * (pipeline.c): not yet stored means no time elapsed. */
	__u64 stored = e->stored_ns;
	__u32 elapsed = now > stored ? (now - stored) / NS_PER_SEC : 0;

	/* ---- from here on the frame changes ---- */
	int delta = (int)(p.dns_off + new_len) - (int)(end - data);
	if (bpf_xdp_adjust_tail(ctx, delta))
		return pass(VD_XDP_CTR_NO_ROOM);
	__u32 tail_off = p.dns_off + qend;
	if (tail_len && bpf_xdp_store_bytes(ctx, tail_off, e->tail, tail_len))
		goto error;
	if (olen > sizeof(s->opt))
		goto error;
	if (nsid && bpf_xdp_store_bytes(ctx, tail_off + tail_len, s->opt, olen))
		goto error;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	/* The OPT record's fixed part (RFC 6891 6.1.2): root owner, type,
	 * our buffer size as class, TTL = ext-rcode 0, version 0, DO echoed;
	 * rdlen.  Its checksum, as if at an even offset, from the values. */
	__u16 osize = vd_edns_size < DNS_UDP_MIN ? DNS_UDP_MIN : vd_edns_size;
	__u16 oflags = qq.edns_flags & DNS_EDNS_DO;
	__u32 ordlen = olen > 11 ? olen - 11 : 0;
	if (olen && !nsid) {
		__u8 *o = data + ((tail_off + tail_len) & 0x7ff);
		if ((void *)(o + 11) > end)
			goto error;
		o[0] = 0;
		o[1] = 0;
		o[2] = DNS_T_OPT;
		o[3] = osize >> 8;
		o[4] = osize & 0xff;
		o[5] = 0;
		o[6] = 0;
		o[7] = oflags >> 8;
		o[8] = oflags & 0xff;
		o[9] = 0;  /* rdlen: no options */
		o[10] = 0;
	}

	/* TTLs, written straight into the frame: each lowered by the whole
	 * seconds elapsed.  Their checksum is added here (the tail's
	 * precomputed sum takes them as zero); a 32-bit value sums to
	 * itself modulo 0xffff, and one at an odd offset to its swap. */
	struct vd_xdp_ttl_sums ts = {};
	if (vd_xdp_ttls(ctx, e, tail_off, elapsed, &ts) != 0)
		goto error;
	__u64 ttl_even = ts.even, ttl_odd = ts.odd;

	/* UDP checksum, incrementally: what stays (question), what was
	 * precomputed (tail), what changes (TTLs, header, OPT). */
	__u64 sum = qq.qsum;
	__u64 tsum = (__u64)e->tail_csum + vd_xdp_csum_fold(ttl_even) +
		     swap16(vd_xdp_csum_fold(ttl_odd));
	__u16 tc = vd_xdp_csum_fold(tsum);
	sum += (qend & 1) ? swap16(tc) : tc;
	/* OPT: the fixed 11 or 15 bytes here, the NSID bytes precomputed. */
	if (olen) {
		/* byte pairs (0,1) (2,3) ... of the 11 (or 15) bytes */
		__u64 os = ((__u32)DNS_T_OPT << 8 | osize >> 8) +
			   ((__u32)(osize & 0xff) << 8) + (oflags >> 8) +
			   ((__u32)(oflags & 0xff) << 8 | ordlen >> 8) +
			   ((ordlen & 0xff) << 8);
		if (nsid) { /* option code 3, option length */
			__u32 nl = olen - 15;
			os += ((__u32)DNS_OPT_NSID << 8 | nl >> 8) +
			      ((nl & 0xff) << 8);
		}
		__u16 o16 = vd_xdp_csum_fold(os);
		__u32 opt_pos = qend + tail_len;
		sum += (opt_pos & 1) ? swap16(o16) : o16;
		if (olen > 15) {
			__u16 ns = vd_nsid_csum;
			sum += ((opt_pos + 15) & 1) ? swap16(ns) : ns;
		}
	}

	/* DNS header: the query's ID, stored flags with the client's RD and
	 * CD, AD only for clients that showed they understand it. */
	__u16 flags = e->flags & ~(DNS_F_RD | DNS_F_CD | DNS_F_TC);
	flags |= qq.flags & (DNS_F_RD | DNS_F_CD);
	if (!(qq.edns && (qq.edns_flags & DNS_EDNS_DO)) && !(qq.flags & DNS_F_AD))
		flags &= ~DNS_F_AD;
	__u16 hdr[6];
	hdr[0] = (__u16)s->qbuf[VD_XDP_Q_OFF] << 8 | s->qbuf[VD_XDP_Q_OFF + 1];
	hdr[1] = flags;
	hdr[2] = 1;
	hdr[3] = e->ancount;
	hdr[4] = e->nscount;
	hdr[5] = e->arcount + (qq.edns ? 1 : 0);

	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		goto error;
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	__u32 udp_len = 8 + new_len;
	sum += udp_len + 17; /* pseudo header: length, protocol */
	if (p.family == 4) {
		struct iphdr *ip = data + (p.l3_off & 0xff);
		if ((void *)(ip + 1) > end)
			goto error;
		__be32 a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->tos = 0;
		ip->tot_len = bpf_htons(20 + udp_len);
		ip->id = 0;
		ip->frag_off = bpf_htons(0x4000); /* DF */
		ip->ttl = 64;
		ip->check = 0;
		__u64 isum = 0;
		__u16 *w = (__u16 *)ip;
		for (int k = 0; k < 10; k++)
			isum += bpf_ntohs(w[k]);
		ip->check = bpf_htons(~vd_xdp_csum_fold(isum));
		sum += bpf_ntohs(w[6]) + bpf_ntohs(w[7]) + bpf_ntohs(w[8]) +
		       bpf_ntohs(w[9]);
	} else {
		struct ipv6hdr *ip6 = data + (p.l3_off & 0xff);
		if ((void *)(ip6 + 1) > end)
			goto error;
		struct in6_addr a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->payload_len = bpf_htons(udp_len);
		ip6->hop_limit = 64;
		__u16 *w = (__u16 *)&ip6->saddr;
		for (int k = 0; k < 16; k++)
			sum += bpf_ntohs(w[k]);
	}
	struct udphdr *udp = data + (p.l4_off & 0xff);
	if ((void *)(udp + 1) > end)
		goto error;
	__be16 port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	udp->len = bpf_htons(udp_len);
	sum += bpf_ntohs(udp->source) + bpf_ntohs(udp->dest) + udp_len;
	__u16 *dh = (void *)(udp + 1);
	if ((void *)(dh + 6) > end)
		goto error;
	for (int k = 0; k < 6; k++) {
		dh[k] = bpf_htons(hdr[k]);
		sum += hdr[k];
	}
	__u16 csum = ~vd_xdp_csum_fold(sum);
	udp->check = bpf_htons(csum ? csum : 0xffff);
	/* Every read of the slot is above (the atomic is a full barrier
	 * again).  A changed count means user space rewrote the slot while
	 * the answer was built from it: part of it may be another name's.
	 * The frame is no longer the query, so it cannot go up: drop it, the
	 * client asks again. */
	if (__sync_fetch_and_add(&e->seq, 0) != seq) {
		count(VD_XDP_CTR_TORN);
		return XDP_DROP;
	}
	count(VD_XDP_CTR_HIT);
	return XDP_TX;
error:
	count(VD_XDP_CTR_ERROR);
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
