/*
 * Parsers for the anycast options' values (vip, bgp-neighbor,
 * health-canary).  Pure: no I/O, no name resolution.  The config table
 * validates with them (config.c) and the anycast subsystem and the BIRD
 * config generator read the stored strings back with them, so both agree
 * on one syntax.
 */
#ifndef VD_ANYCAST_PARSE_H
#define VD_ANYCAST_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* vip = ADDR[/LEN]; LEN defaults to 32 (IPv4) or 128 (IPv6). */
struct vd_anycast_vip {
	int family;           /* AF_INET or AF_INET6 */
	uint8_t addr[16];     /* the address put on the VIP interface */
	uint8_t net[16];      /* addr with host bits cleared: the prefix */
	unsigned plen;
	char addr_str[INET6_ADDRSTRLEN];
	char prefix_str[INET6_ADDRSTRLEN + 4]; /* "203.0.113.1/32" */
};

/*
 * bgp-neighbor = ADDR as ASN [OPTION]...
 *   multihop [TTL]         eBGP multihop (default: directly connected)
 *   source ADDR            local address of the session
 *   password SECRET        TCP MD5 (RFC 2385); no spaces or quotes
 *   hold SECONDS           hold time (3..65535; keepalive defaults to 1/3)
 *   keepalive SECONDS
 *   bfd                    BFD on the session (BIRD's protocol bfd)
 *   next-hop6 ADDR         IPv4 session: also carry the IPv6 VIPs, with
 *                          this IPv6 next hop (MP-BGP, RFC 4760)
 *   v4 | v6 | dual         address families to carry (default: the
 *                          neighbour's own; dual with next-hop6)
 *   tunnel NAME            the session runs over tunnel NAME (tunnel.h):
 *                          bound to its interface, sourced from its inner
 *                          address; IPv6 carried over an IPv4 session gets
 *                          the tunnel's inner6 as next hop unless
 *                          next-hop6 says otherwise
 * (extended-next-hop, which sent IPv6 VIPs with an IPv4-mapped next hop,
 * is refused with a reason that points to next-hop6.)
 */
struct vd_anycast_neighbor {
	int family;
	char addr[INET6_ADDRSTRLEN];
	uint32_t remote_as;
	bool multihop;
	unsigned multihop_ttl; /* 0 = BIRD's default */
	char source[INET6_ADDRSTRLEN];
	char password[80];
	unsigned hold, keepalive; /* 0 = BIRD's defaults */
	bool bfd;
	char next_hop6[INET6_ADDRSTRLEN];
	bool carry4, carry6;
	char tunnel[16]; /* "" = not over a tunnel */
};

/* health-canary = NAME [TYPE]; a leading "*." asks a fresh random label
 * under NAME each time, so the cache cannot answer it and the check
 * proves recursion to the authorities works. */
/* A "*." canary is probed as VD_ANYCAST_CANARY_RANDOM_LABEL (eight hex
 * digits filled per probe) in place of the '*'. */
#define VD_ANYCAST_CANARY_RANDOM_LABEL "vdhc-00000000"
#define VD_ANYCAST_CANARY_RANDOM_OFF 6 /* first hex digit, in wire[] */

struct vd_anycast_canary {
	char name[256]; /* as written, "*." included */
	/* What the probe asks: encoded once by the parser, so a name the
	 * probe could not send never passes a config check. */
	uint8_t wire[255];
	uint16_t wire_len;
	uint16_t qtype;
	bool random_label;
};

/*
 * health-degrade = med N | prepend N: what an unhealthy VIP gets instead
 * of a withdraw.  It stays announced, made worse (MED N, or the node's AS
 * prepended N times), so routers use it only when no healthy node is
 * left: a fault every node sees at once (a canary zone dying) then
 * degrades the fleet instead of taking DNS away from everybody.
 */
enum vd_anycast_degrade_kind {
	VD_ANYCAST_DEGRADE_OFF = 0, /* "": withdraw */
	VD_ANYCAST_DEGRADE_MED,
	VD_ANYCAST_DEGRADE_PREPEND,
};
struct vd_anycast_degrade {
	enum vd_anycast_degrade_kind kind;
	uint32_t value; /* MED 1..4294967295, or prepends 1..8 */
};

/* Shared by the anycast and tunnel parsers: the address family of s
 * (AF_INET, AF_INET6, or 0 when it is neither), its bytes into bytes when
 * not NULL; and a decimal in [min, max] (no sign, no trailing text):
 * 0 or -EINVAL. */
int vd_anycast_addr_family(const char *s, uint8_t bytes[16]);
int vd_anycast_parse_uint(const char *s, unsigned long min, unsigned long max,
			  unsigned long *v);

/* Each returns 0, or -EINVAL with a reason (a static string) in *why. */
int vd_anycast_degrade_parse(const char *s, struct vd_anycast_degrade *out,
			     const char **why);
int vd_anycast_vip_parse(const char *s, struct vd_anycast_vip *out,
			 const char **why);
int vd_anycast_neighbor_parse(const char *s, struct vd_anycast_neighbor *out,
			      const char **why);
int vd_anycast_canary_parse(const char *s, struct vd_anycast_canary *out,
			    const char **why);

#endif
