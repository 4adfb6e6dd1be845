/*
 * The one header shared by the XDP program (bpf/vd_xdp.bpf.c) and user
 * space (src/dataplane/xdp/).  It defines every map key and value and the
 * counter numbering.  Rules: fixed-width __u8/__u16/__u32/__u64 only,
 * explicit padding, no pointers, no bool, and a _Static_assert on every
 * size, so a layout change breaks the build on both sides at once.
 *
 * Byte order: fields named *_be are network order; everything else is
 * host order (the program runs on the host that wrote the map).
 */
#ifndef VD_XDP_SHARED_H
#define VD_XDP_SHARED_H

#include <linux/types.h>

#include "vd_xdp_limits.h"

/*
 * The mirror's map key is a 64-bit hash (vd_xdp_qkey_hash below) of the
 * cache key, which is vd_dns_query_key() (src/dns/query.h):
 * [flags u8: DO=1, CD=2][qtype BE16][qclass BE16][lower-cased qname wire].
 * The value keeps that key in full (struct vd_xdp_qkey) and the program
 * compares it after the lookup, so two names whose hashes collide never
 * serve each other's answer: the loser is a miss and goes to user space.
 * The hash is seeded (a random rodata value the loader also keeps), so
 * clients cannot aim names at a popular entry's slot.
 */
#define VD_XDP_KEY_HDR 5
#define VD_XDP_NAME_MAX 255
#define VD_XDP_NAME_WORDS 32 /* 256 bytes: a name padded to 8-byte words */
#define VD_XDP_KEY_SIZE (VD_XDP_KEY_HDR + VD_XDP_NAME_MAX) /* cache key */
#define VD_XDP_KEY_F_DO 0x01
#define VD_XDP_KEY_F_CD 0x02

/*
 * The cache key in the form both sides hash and compare: one 8-byte
 * header word, then the lower-cased wire name zero-padded to whole 8-byte
 * words (bytes past name_len are always zero, so whole words compare).
 */
struct vd_xdp_qkey {
	union {
		struct {
			__u8 flags;    /* VD_XDP_KEY_F_* */
			__u8 name_len; /* wire length, root label included */
			__u8 qtc[4];   /* qtype, qclass as on the wire (BE) */
			__u8 pad[2];   /* zero */
		};
		__u64 hdr;             /* the above as one word */
	};
	union {
		__u8 name[8 * VD_XDP_NAME_WORDS];
		__u64 name_w[VD_XDP_NAME_WORDS];
	};
};
_Static_assert(sizeof(struct vd_xdp_qkey) == 264, "vd_xdp_qkey layout");

/* The hash: words are read in host order (the program and the daemon run
 * on one host); a multiply-xorshift per word and a murmur3 finaliser.
 * The same code is compiled into the BPF program (which mixes the name
 * words as it reads them in vd_xdp_question(), then calls
 * vd_xdp_hash_final) and into user space (vd_xdp_qkey_hash);
 * tests/bpf/test_xdp_prog.c checks that both agree on random keys. */
#ifdef __bpf__
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define VD_XDP_INLINE static __always_inline
#else
#define VD_XDP_INLINE static inline
#endif

VD_XDP_INLINE __u64 vd_xdp_mix(__u64 h, __u64 w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return h;
}

/* The name's words are mixed in first (from seed), the header word
 * (flags, name_len, qtype, qclass) last: the program knows the flags only
 * after the name, and mixes the words as it lower-cases them. */
VD_XDP_INLINE __u64 vd_xdp_hash_final(__u64 h, __u64 hdr_word)
{
	h = vd_xdp_mix(h, hdr_word);
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

VD_XDP_INLINE __u64 vd_xdp_qkey_hash(const struct vd_xdp_qkey *k, __u64 seed)
{
	__u32 nwords = ((__u32)k->name_len + 7) / 8;
	__u64 h = seed;
	for (__u32 i = 0; i < VD_XDP_NAME_WORDS; i++) {
		if (i >= nwords)
			break;
		h = vd_xdp_mix(h, k->name_w[i]);
	}
	return vd_xdp_hash_final(h, k->hdr);
}

/*
 * The mirror is a BPF_F_MMAPABLE array of slots in sets of VD_XDP_WAYS
 * (set = key hash & vd_set_mask): user space writes the slots in place
 * through its mapping, the program reads them in place.  Nothing is ever
 * freed or recycled behind a reader's back by the kernel: a hash map
 * recycles elements at once (preallocated ones through a free list,
 * others through bpf_mem_alloc, SLAB_TYPESAFE_BY_RCU-like), so an element
 * the program found could become another name's between the key compare
 * and the copy.  Instead every slot carries a sequence count (seqlock):
 * user space makes it odd, rewrites the slot, makes it even again; the
 * program reads it (even) before the key compare and again after the
 * copy, and drops a frame it built from a slot that changed meanwhile.
 */
#define VD_XDP_WAYS 4

/*
 * A mirrored answer.  The stored answer (src/dns/answer.h) is split so the
 * program never has to copy what the query already holds: the header
 * fields, then the "tail", everything after the question.  The question
 * itself stays in the packet with the client's own case (0x20 echo); the
 * key match guarantees it is the same name, type and class.
 *
 * ttl_offs[] are offsets of the TTL fields relative to the tail's start.
 * tail_csum is the ones'-complement sum of tail[0..tail_len) with every
 * TTL field taken as zero, folded to 16 bits as if the tail started at an
 * even offset; the program adds the TTLs it writes and swaps the bytes
 * when the question has odd length.  hits and prefetch_sent are the only
 * fields the program writes.
 */
struct vd_xdp_entry {
	__u64 seq;           /* seqlock: odd while user space writes */
	__u64 hits;          /* answered by XDP (atomic add) */
	__u64 khash;         /* vd_xdp_qkey_hash(qkey); 0: empty slot */
	struct vd_xdp_qkey qkey; /* the full key, compared on every hit */
	__u64 stored_ns;     /* CLOCK_MONOTONIC (read coarse by the program) */
	__u64 expire_ns;     /* never served at or past this */
	__u32 ttl;           /* lifetime in seconds, for the prefetch window */
	__u32 prefetch_sent; /* 0 -> 1 once the program asked for a refresh */
	__u16 flags;         /* stored header flags word */
	__u16 ancount;
	__u16 nscount;
	__u16 arcount;       /* without OPT: the stored form has none */
	__u16 tail_len;
	__u16 n_ttls;
	__u16 tail_csum;
	__u8 qname_len;
	__u8 kind;           /* enum vd_dns_answer_kind */
	__u16 ttl_offs[VD_XDP_MAX_TTLS];
	__u8 tail[VD_XDP_ANSWER_MAX];
	__u8 pad[(8 - (VD_XDP_ANSWER_MAX % 8)) % 8];
};
_Static_assert(sizeof(struct vd_xdp_entry) ==
		       264 + 64 + 2 * VD_XDP_MAX_TTLS + VD_XDP_ANSWER_MAX +
			       (8 - (VD_XDP_ANSWER_MAX % 8)) % 8,
	       "vd_xdp_entry layout");
_Static_assert(VD_XDP_MAX_TTLS % 4 == 0, "ttl_offs keeps tail 8-aligned");
_Static_assert(sizeof(struct vd_xdp_entry) % 8 == 0,
	       "slots are laid out back to back in the mmapped array");

/* A VIP: destination address and UDP port the program answers on.  An
 * all-zero address of a family is a wildcard for that family and port. */
struct vd_xdp_vip {
	__u8 family;   /* 4 or 6 */
	__u8 pad;
	__u16 port_be;
	__u8 addr[16]; /* IPv4 in the first 4 bytes, rest zero */
};
_Static_assert(sizeof(struct vd_xdp_vip) == 20, "vd_xdp_vip layout");

/* ACL (LPM trie) key.  prefixlen counts bits of family+addr: a rule for
 * PREFIX/LEN is stored with prefixlen 8 + LEN; the default action of a
 * family is the /0 entry (prefixlen 8).  Value: enum vd_acl_action as
 * __u32; the program answers only ALLOW (0). */
struct vd_xdp_acl_key {
	__u32 prefixlen;
	__u8 family;   /* 4 or 6 */
	__u8 addr[16];
	__u8 pad[3];
};
_Static_assert(sizeof(struct vd_xdp_acl_key) == 24, "vd_xdp_acl_key layout");

/* Small VIP and ACL sets are kept in the settings themselves and scanned
 * (a few compares) instead of looked up in the hash map and the LPM trie
 * (a helper call and a hash or trie walk each). */
#define VD_XDP_FAST_VIPS 4
#define VD_XDP_FAST_ACL 8

/* An ACL rule of the fast table: addr is the prefix with its host bits
 * clear, mask its netmask, both in network order. */
struct vd_xdp_acl_rule {
	__u8 family;   /* 4 or 6 */
	__u8 action;   /* enum vd_acl_action; the program answers only 0 */
	__u8 pad[2];
	__u8 addr[16];
	__u8 mask[16];
};
_Static_assert(sizeof(struct vd_xdp_acl_rule) == 36, "vd_xdp_acl_rule layout");

enum vd_xdp_vip_mode {
	VD_XDP_VIP_MAP = 0,   /* the vd_xdp_vips map */
	VD_XDP_VIP_TABLE = 1, /* vips[0..n_vips) */
};
enum vd_xdp_acl_mode {
	VD_XDP_ACL_TRIE = 0,  /* the vd_xdp_acl LPM trie */
	VD_XDP_ACL_ALL = 1,   /* every client allowed: nothing to look up */
	VD_XDP_ACL_TABLE = 2, /* acl[0..n_acl), longest prefix first, then
			       * acl_default */
};

/* Run-time settings (array map, one element); a reload rewrites it (after
 * the maps, so a mode never points at a map not yet filled). */
struct vd_xdp_conf {
	__u32 prefetch;          /* 0 = never ask for refreshes */
	__u32 prefetch_percent;  /* window: this % of the TTL before expiry */
	__u32 prefetch_min_hits; /* XDP hits needed to ask */
	__u32 acl_mode;          /* enum vd_xdp_acl_mode */
	__u32 vip_mode;          /* enum vd_xdp_vip_mode */
	__u32 n_vips;
	__u32 n_acl;
	__u32 acl_default;       /* enum vd_acl_action */
	struct vd_xdp_vip vips[VD_XDP_FAST_VIPS];
	struct vd_xdp_acl_rule acl[VD_XDP_FAST_ACL];
};
_Static_assert(sizeof(struct vd_xdp_conf) ==
		       32 + 20 * VD_XDP_FAST_VIPS + 36 * VD_XDP_FAST_ACL,
	       "vd_xdp_conf layout");

/* The interface's own MAC (vd_xdp_ifmac map, by ifindex), written by the
 * loader before it attaches there.  The kernel answers only frames to it
 * (PACKET_HOST): broadcast, multicast and other hosts' frames that reach
 * the program (promiscuous mode, a bridge, a flooding switch) go up. */
struct vd_xdp_ifmac {
	__u8 mac[6];
	__u8 pad[2];
};
_Static_assert(sizeof(struct vd_xdp_ifmac) == 8, "vd_xdp_ifmac layout");

/* Prefetch request from the program (ring buffer record): the key of an
 * entry hit in its prefetch window often enough. */
struct vd_xdp_prefetch_req {
	struct vd_xdp_qkey key;
};
_Static_assert(sizeof(struct vd_xdp_prefetch_req) == 264,
	       "vd_xdp_prefetch_req layout");

/* Per-CPU counters by outcome, one slot each in an array map.  Every
 * packet counts exactly once.  PASS_* went up to the kernel stack. */
#define VD_XDP_COUNTERS(X)                                                     \
	X(HIT, "hit")               /* answered with XDP_TX */                \
	X(MISS, "miss")             /* valid query, key not in the mirror */ \
	X(EXPIRED, "expired")       /* in the mirror but at/past expiry */   \
	X(NOT_IP, "not-ip")         /* not IPv4/IPv6 (ARP, LLDP...) */        \
	X(NOT_UDP, "not-udp")       /* TCP, ICMP... */                        \
	X(NOT_VIP, "not-vip")       /* UDP, but not to a VIP:port */          \
	X(FRAGMENT, "fragment")     /* IPv4 fragment */                       \
	X(IP_OPTIONS, "ip-options") /* IPv4 options, IPv6 ext headers */     \
	X(ACL, "acl")               /* client not allowed by the ACL */      \
	X(MALFORMED, "malformed")   /* bad lengths, bad name, bad counts */  \
	X(NOT_QUERY, "not-query")   /* QR=1 or opcode != QUERY */             \
	X(EDNS_OPTION, "edns-option") /* cookie, ECS, padding, other */      \
	X(EDNS_OTHER, "edns-other") /* EDNS version > 0, TSIG, odd OPT */    \
	X(TOO_LONG, "too-long")     /* query above VD_XDP_QUERY_MAX */        \
	X(TOO_BIG, "too-big")       /* answer above the client's buffer */   \
	X(NSID, "nsid")             /* NSID asked, node-id too long */        \
	X(NO_ROOM, "no-room")       /* frame could not grow */                \
	X(ERROR, "error")           /* inconsistent entry: dropped */         \
	X(NOT_HOST, "not-host")     /* not to the interface's own MAC */      \
	X(MARTIAN, "martian")       /* source the kernel would not accept */ \
	X(BAD_CSUM, "bad-checksum") /* IPv4 header or UDP checksum wrong */  \
	X(TORN, "torn")             /* slot rewritten under the read */

enum vd_xdp_counter {
#define VD_XDP_CTR_ENUM(id, name) VD_XDP_CTR_##id,
	VD_XDP_COUNTERS(VD_XDP_CTR_ENUM)
#undef VD_XDP_CTR_ENUM
	VD_XDP_CTR_MAX
};

#endif
