/*
 * Bounded parse helpers of the XDP program.  Each returns 0 to go on, -1
 * on any bound failure (the caller counts MALFORMED and passes the frame
 * up untouched), or a positive enum vd_xdp_counter naming why the frame
 * goes up instead.  Nothing here writes to the frame.
 */
#ifndef VD_XDP_PARSE_H
#define VD_XDP_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vd_xdp_shared.h"

/* Where the layers of one frame start, and what the DNS message is. */
struct vd_xdp_pkt {
	__u32 l3_off;  /* IP header */
	__u32 l4_off;  /* UDP header */
	__u32 dns_off; /* DNS message */
	__u32 dns_len; /* as the UDP length says; frame may be longer (padding) */
	__u32 family;  /* 4 or 6 */
	__u32 pad;
	__u64 src_w[2];  /* source address, as the ACL table compares it */
};

struct vd_xdp_vlan {
	__be16 tci;
	__be16 proto;
};

/* Ethernet with at most one 802.1Q/802.1ad tag. */
static __always_inline int vd_xdp_parse_l2(void *data, void *end,
					   struct vd_xdp_pkt *p)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	__u16 proto = eth->h_proto;
	__u32 off = sizeof(*eth);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vd_xdp_vlan *vh = data + off;
		if ((void *)(vh + 1) > end)
			return -1;
		proto = vh->proto;
		off += sizeof(*vh);
	}
	p->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP))
		p->family = 4;
	else if (proto == bpf_htons(ETH_P_IPV6))
		p->family = 6;
	else
		return VD_XDP_CTR_NOT_IP;
	return 0;
}

/*
 * Sources the kernel's ingress checks refuse (ip_route_input's martians,
 * ipv6_rcv's loopback and v4-mapped checks), and multicast or broadcast
 * sources no query can come from.  The program answers a client the
 * kernel would have dropped, so these go up and the kernel decides:
 * IPv4 0/8, 127/8, 224/4 (multicast), 240/4 (reserved, 255.255.255.255
 * included); the ACL default may well allow them, so this is not its job.
 */
static __always_inline int vd_xdp_martian4(const __u8 *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

/* IPv6 ff00::/8 (multicast), fe80::/10 (link-local: a VIP is global, and
 * replies to those are the kernel's scoped business), and everything whose
 * first 80 bits are zero: ::, ::1 from the wire, ::ffff:0:0/96
 * (v4-mapped, dropped by ipv6_rcv) and the obsolete v4-compatible ones. */
static __always_inline int vd_xdp_martian6(const __u8 *a)
{
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return 1;
	__u32 z = 0;
#pragma clang loop unroll(full)
	for (int i = 0; i < 10; i++)
		z |= a[i];
	return z == 0;
}

/* The IPv4 header's checksum verifies (RFC 1071: the sum of its ten
 * 16-bit words folds to 0xffff).  The kernel drops a header that does not
 * (ip_rcv_core); so must we: a corrupted header may hold a wrong address. */
static __always_inline int vd_xdp_ipv4_csum_ok(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u64 sum = 0;
#pragma clang loop unroll(full)
	for (int k = 0; k < 10; k++)
		sum += w[k]; /* host order: a fold is byte order neutral */
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* IPv4 without options, not a fragment, carrying UDP.  Fills vip with the
 * destination and l4_off; *l4_len gets the IP payload length. */
static __always_inline int vd_xdp_parse_ipv4(void *data, void *end,
					     struct vd_xdp_pkt *p,
					     struct vd_xdp_vip *vip,
					     struct vd_xdp_acl_key *src,
					     __u32 *l4_len)
{
	struct iphdr *ip = data + p->l3_off;
	if ((void *)(ip + 1) > end)
		return -1;
	if (ip->version != 4)
		return -1;
	if (ip->ihl != 5)
		return VD_XDP_CTR_IP_OPTIONS;
	if (ip->frag_off & bpf_htons(0x3fff)) /* MF or an offset */
		return VD_XDP_CTR_FRAGMENT;
	if (ip->protocol != IPPROTO_UDP)
		return VD_XDP_CTR_NOT_UDP;
	__u32 tot = bpf_ntohs(ip->tot_len);
	if (tot < sizeof(*ip) + sizeof(struct udphdr) ||
	    (void *)ip + tot > end)
		return -1;
	if (!vd_xdp_ipv4_csum_ok(ip))
		return VD_XDP_CTR_BAD_CSUM;
	if (vd_xdp_martian4((const __u8 *)&ip->saddr))
		return VD_XDP_CTR_MARTIAN;
	vip->family = 4;
	__builtin_memcpy(vip->addr, &ip->daddr, 4);
	src->prefixlen = 8 + 32;
	src->family = 4;
	__builtin_memcpy(src->addr, &ip->saddr, 4);
	p->src_w[0] = 0;
	p->src_w[1] = 0;
	__builtin_memcpy(p->src_w, &ip->saddr, 4);
	p->l4_off = p->l3_off + sizeof(*ip);
	*l4_len = tot - sizeof(*ip);
	return 0;
}

/* IPv6 whose next header is UDP (extension headers go up). */
static __always_inline int vd_xdp_parse_ipv6(void *data, void *end,
					     struct vd_xdp_pkt *p,
					     struct vd_xdp_vip *vip,
					     struct vd_xdp_acl_key *src,
					     __u32 *l4_len)
{
	struct ipv6hdr *ip6 = data + p->l3_off;
	if ((void *)(ip6 + 1) > end)
		return -1;
	if (ip6->version != 6)
		return -1;
	if (ip6->nexthdr == IPPROTO_FRAGMENT)
		return VD_XDP_CTR_FRAGMENT;
	if (ip6->nexthdr == IPPROTO_HOPOPTS || ip6->nexthdr == IPPROTO_ROUTING ||
	    ip6->nexthdr == IPPROTO_DSTOPTS)
		return VD_XDP_CTR_IP_OPTIONS;
	if (ip6->nexthdr != IPPROTO_UDP)
		return VD_XDP_CTR_NOT_UDP;
	__u32 plen = bpf_ntohs(ip6->payload_len);
	if (plen < sizeof(struct udphdr) || (void *)(ip6 + 1) + plen > end)
		return -1;
	if (vd_xdp_martian6(ip6->saddr.in6_u.u6_addr8))
		return VD_XDP_CTR_MARTIAN;
	vip->family = 6;
	__builtin_memcpy(vip->addr, &ip6->daddr, 16);
	src->prefixlen = 8 + 128;
	src->family = 6;
	__builtin_memcpy(src->addr, &ip6->saddr, 16);
	__builtin_memcpy(p->src_w, &ip6->saddr, 16);
	p->l4_off = p->l3_off + sizeof(*ip6);
	*l4_len = plen;
	return 0;
}

/* The UDP header: its length must be exactly the IP payload. */
static __always_inline int vd_xdp_parse_udp(void *data, void *end,
					    struct vd_xdp_pkt *p, __u32 l4_len,
					    struct vd_xdp_vip *vip)
{
	struct udphdr *udp = data + p->l4_off;
	if ((void *)(udp + 1) > end)
		return -1;
	if (bpf_ntohs(udp->len) != l4_len)
		return -1;
	vip->port_be = udp->dest;
	p->dns_off = p->l4_off + sizeof(*udp);
	p->dns_len = l4_len - sizeof(*udp);
	return 0;
}

static __always_inline __u8 vd_xdp_lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
}

/* Ones'-complement helpers.  Sums are of 16-bit big-endian words, kept
 * unfolded in a __u64 until the end; a byte at an even offset from the
 * start of the UDP header is the high half of its word. */
static __always_inline __u64 vd_xdp_csum_byte(__u64 sum, __u32 pos, __u8 b)
{
	return sum + ((pos & 1) ? (__u32)b : (__u32)b << 8);
}

static __always_inline __u16 vd_xdp_csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Contribution of 4 bytes (big-endian value v) starting at pos. */
static __always_inline __u32 vd_xdp_csum_u32(__u32 pos, __u32 v)
{
	__u32 hi = v >> 16, lo = v & 0xffff;
	__u32 s = hi + lo;
	if (pos & 1) /* words straddle: bytes land in the other halves */
		s = ((s & 0xff) << 8) + (s >> 8);
	return s;
}

#endif
