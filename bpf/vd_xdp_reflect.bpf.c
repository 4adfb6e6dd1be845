// SPDX-License-Identifier: BSD-2-Clause
/*
 * The ceiling of a lab path, for benchmarks/xdp_bench.sh: a minimal XDP_TX
 * reflector.  An IPv4 UDP datagram to port 53 goes back where it came
 * from as a "response": Ethernet, IP and UDP endpoints swapped, QR set,
 * UDP checksum cleared (optional in IPv4), nothing else looked at or
 * changed.  Everything else passes.  It answers nothing a resolver could;
 * it measures what answering in XDP costs at the least.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int vd_xdp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *dns = (void *)(udp + 1);
	if ((void *)(dns + 12) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(53) ||
	    (dns[2] & 0x80))
		return XDP_PASS;
	__u8 mac[ETH_ALEN];
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	__be32 a = ip->saddr; /* the IP checksum does not change */
	ip->saddr = ip->daddr;
	ip->daddr = a;
	__be16 p = udp->source;
	udp->source = udp->dest;
	udp->dest = p;
	udp->check = 0;
	dns[2] |= 0x80; /* QR */
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
