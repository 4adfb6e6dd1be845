/*
 * libFuzzer target for the anycast option parsers (src/anycast/parse.c):
 * any bytes as the value of a vip, bgp-neighbor or health-canary line.
 * The operator writes these, and the BIRD config generator and the
 * health checker read the stored strings back with the same functions,
 * so whatever a parser accepts must be self-consistent: a prefix it
 * prints must parse back to itself, a neighbour's options must satisfy
 * the rules the parser states, and a canary's wire name must be one the
 * probe can send.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "anycast/parse.h"
#include "anycast/tunnel.h"
#include "dns/name_wire.h"
#include "dns/query.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_vip(const char *s)
{
	struct vd_anycast_vip v, again;
	const char *why = NULL;

	if (vd_anycast_vip_parse(s, &v, &why) != 0) {
		FUZZ_CHECK(why && *why);
		return;
	}
	FUZZ_CHECK(v.family == AF_INET || v.family == AF_INET6);
	unsigned bits = v.family == AF_INET ? 32 : 128;
	FUZZ_CHECK(v.plen >= 1 && v.plen <= bits);
	for (unsigned b = v.plen; b < bits; b++)
		FUZZ_CHECK(!(v.net[b / 8] & (0x80u >> (b % 8))));
	FUZZ_CHECK(memchr(v.addr_str, '\0', sizeof(v.addr_str)));
	FUZZ_CHECK(memchr(v.prefix_str, '\0', sizeof(v.prefix_str)));
	/* The prefix is what BIRD announces: it must read back as itself. */
	FUZZ_CHECK(vd_anycast_vip_parse(v.prefix_str, &again, NULL) == 0);
	FUZZ_CHECK(again.family == v.family && again.plen == v.plen);
	FUZZ_CHECK(memcmp(again.addr, v.net, sizeof(v.net)) == 0);
	FUZZ_CHECK(strcmp(again.prefix_str, v.prefix_str) == 0);
	/* The address string is what goes on the VIP interface. */
	FUZZ_CHECK(vd_anycast_vip_parse(v.addr_str, &again, NULL) == 0);
	FUZZ_CHECK(memcmp(again.addr, v.addr, sizeof(v.addr)) == 0);
}

static int family_of(const char *a)
{
	uint8_t b[16];

	if (inet_pton(AF_INET, a, b) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, a, b) == 1)
		return AF_INET6;
	return 0;
}

static void check_neighbor(const char *s)
{
	struct vd_anycast_neighbor nb;
	const char *why = NULL;

	if (vd_anycast_neighbor_parse(s, &nb, &why) != 0) {
		FUZZ_CHECK(why && *why);
		return;
	}
	FUZZ_CHECK(family_of(nb.addr) == nb.family);
	FUZZ_CHECK(nb.remote_as >= 1);
	FUZZ_CHECK(!nb.source[0] || family_of(nb.source) == nb.family);
	FUZZ_CHECK(!nb.next_hop6[0] || family_of(nb.next_hop6) == AF_INET6);
	FUZZ_CHECK(nb.multihop_ttl <= 255);
	FUZZ_CHECK(!nb.multihop_ttl || nb.multihop);
	FUZZ_CHECK(!nb.hold || (nb.hold >= 3 && nb.hold <= 65535));
	FUZZ_CHECK(nb.keepalive <= 65535);
	FUZZ_CHECK(!nb.hold || !nb.keepalive || nb.keepalive * 3 <= nb.hold);
	/* over a tunnel the source is the tunnel's inner address */
	FUZZ_CHECK(!(nb.multihop && nb.bfd) || nb.source[0] || nb.tunnel[0]);
	FUZZ_CHECK(nb.carry4 || nb.carry6);
	FUZZ_CHECK(!(nb.carry4 && nb.family == AF_INET6));
	/* IPv6 over IPv4 needs a next hop: given, or the tunnel's inner6
	 * (the config check refuses a tunnel without one) */
	if (nb.carry6 && nb.family == AF_INET)
		FUZZ_CHECK(nb.next_hop6[0] || nb.tunnel[0]);
	size_t tl = strnlen(nb.tunnel, sizeof(nb.tunnel));
	FUZZ_CHECK(tl < sizeof(nb.tunnel));
	FUZZ_CHECK(strspn(nb.tunnel, "abcdefghijklmnopqrstuvwxyz0123456789_-") == tl);
	/* The password lands inside a double-quoted BIRD string. */
	size_t pw = strnlen(nb.password, sizeof(nb.password));
	FUZZ_CHECK(pw < sizeof(nb.password));
	for (size_t i = 0; i < pw; i++)
		FUZZ_CHECK(nb.password[i] > 0x20 && nb.password[i] < 0x7f &&
			   nb.password[i] != '"' && nb.password[i] != '\\');
}

static void check_canary(const char *s)
{
	struct vd_anycast_canary c;
	const char *why = NULL;
	char str[4 * VD_DNS_NAME_MAX + 2];
	static const uint8_t rnd[] = VD_ANYCAST_CANARY_RANDOM_LABEL;

	if (vd_anycast_canary_parse(s, &c, &why) != 0) {
		FUZZ_CHECK(why && *why);
		return;
	}
	FUZZ_CHECK(c.wire_len >= 1 && c.wire_len <= sizeof(c.wire));
	FUZZ_CHECK(vd_dns_name_valid(c.wire, c.wire_len));
	FUZZ_CHECK(c.qtype == 1 || c.qtype == 2 || c.qtype == 6 ||
		   c.qtype == 15 || c.qtype == 16 || c.qtype == 28);
	FUZZ_CHECK(memchr(c.name, '\0', sizeof(c.name)));
	FUZZ_CHECK(c.random_label == (c.name[0] == '*'));
	if (c.random_label) {
		/* The probe writes its hex digits at a fixed offset into a
		 * label of exactly this shape. */
		FUZZ_CHECK(c.name[1] == '.');
		FUZZ_CHECK(c.wire[0] == sizeof(rnd) - 1);
		FUZZ_CHECK(memcmp(c.wire + 1, rnd, sizeof(rnd) - 1) == 0);
		FUZZ_CHECK(VD_ANYCAST_CANARY_RANDOM_OFF + 8 <= c.wire_len);
	}
	FUZZ_CHECK(!strchr(c.name + 1, '*'));
	int n = vd_dns_name_to_str(c.wire, c.wire_len, str, sizeof(str));
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(str));
}

static void check_degrade(const char *s)
{
	struct vd_anycast_degrade dg;
	const char *why = NULL;
	if (vd_anycast_degrade_parse(s, &dg, &why) != 0) {
		FUZZ_CHECK(why && *why);
		return;
	}
	/* What the BIRD filter is rendered from: a MED in range, at most
	 * eight prepends, nothing for an empty value. */
	if (dg.kind == VD_ANYCAST_DEGRADE_MED)
		FUZZ_CHECK(dg.value >= 1);
	else if (dg.kind == VD_ANYCAST_DEGRADE_PREPEND)
		FUZZ_CHECK(dg.value >= 1 && dg.value <= 8);
	else
		FUZZ_CHECK(dg.kind == VD_ANYCAST_DEGRADE_OFF && s[0] == '\0');
}

static void check_tunnel(const char *s)
{
	struct vd_anycast_tunnel t;
	const char *why = NULL;
	if (vd_anycast_tunnel_parse(s, &t, &why) != 0) {
		FUZZ_CHECK(why && *why);
		return;
	}
	/* The name becomes an interface, a BIRD string and a swanctl
	 * section: it must stay inside the alphabet all three take. */
	size_t n = strlen(t.name);
	FUZZ_CHECK(n >= 1 && n <= 15);
	FUZZ_CHECK(strspn(t.name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n);
	FUZZ_CHECK(t.kind == VD_TUNNEL_GRE || t.kind == VD_TUNNEL_IPSEC);
	FUZZ_CHECK(t.underlay_family == AF_INET ||
		   t.underlay_family == AF_INET6);
	FUZZ_CHECK(t.inner4.family == AF_INET && t.inner4.plen <= 31);
	/* Never an MTU the underlay cannot carry or IPv6 cannot use. */
	FUZZ_CHECK(t.mtu >= 576 && t.mtu <= t.max_mtu);
	FUZZ_CHECK(t.mtu + vd_anycast_tunnel_overhead(&t) <=
		   t.underlay_mtu + 15 + 2);
	if (t.inner6.family)
		FUZZ_CHECK(t.mtu >= 1280 && t.inner6.plen <= 127);
	FUZZ_CHECK(vd_anycast_tunnel_mss(&t, AF_INET) + 40 == t.mtu);
	if (t.kind == VD_TUNNEL_IPSEC) {
		FUZZ_CHECK(t.ike[0] && t.esp[0]);
		FUZZ_CHECK((t.psk_file[0] != 0) != (t.cert[0] != 0));
		FUZZ_CHECK(!strpbrk(t.psk_file, " \t\"{}#"));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact-size copy plus NUL so ASan sees any over-read; the option
	 * values reach the parsers as C strings. */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_vip(s);
	check_neighbor(s);
	check_canary(s);
	check_degrade(s);
	check_tunnel(s);
	free(s);
	return 0;
}
