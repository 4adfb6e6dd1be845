#include "anycast/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns/query.h"

#define MAX_TOKENS 24

static int fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -EINVAL;
}

int vd_anycast_degrade_parse(const char *s, struct vd_anycast_degrade *out,
			     const char **why)
{
	memset(out, 0, sizeof(*out));
	if (!s[0])
		return 0;
	char kind[16];
	unsigned long long v;
	char tail;
	if (sscanf(s, "%15s %llu %c", kind, &v, &tail) != 2)
		return fail(why, "expected med N or prepend N");
	if (!strcmp(kind, "med")) {
		if (v < 1 || v > 4294967295ull)
			return fail(why, "med: 1..4294967295");
		out->kind = VD_ANYCAST_DEGRADE_MED;
	} else if (!strcmp(kind, "prepend")) {
		if (v < 1 || v > 8)
			return fail(why, "prepend: 1..8 times");
		out->kind = VD_ANYCAST_DEGRADE_PREPEND;
	} else {
		return fail(why, "expected med N or prepend N");
	}
	out->value = (uint32_t)v;
	return 0;
}

int vd_anycast_vip_parse(const char *s, struct vd_anycast_vip *out,
			 const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(s) >= sizeof(buf))
		return fail(why, "expected ADDR or ADDR/LEN");
	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		out->plen = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		out->plen = 128;
	} else {
		return fail(why, "expected an IPv4 or IPv6 address, ADDR[/LEN]");
	}
	if (slash) {
		char *end;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end || l > out->plen || l == 0)
			return fail(why, "bad prefix length");
		out->plen = (unsigned)l;
	}
	unsigned bytes = out->family == AF_INET ? 4 : 16;
	memcpy(out->net, out->addr, bytes);
	for (unsigned b = 0; b < bytes * 8; b++)
		if (b >= out->plen)
			out->net[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	inet_ntop(out->family, out->addr, out->addr_str, sizeof(out->addr_str));
	char net[INET6_ADDRSTRLEN];
	inet_ntop(out->family, out->net, net, sizeof(net));
	snprintf(out->prefix_str, sizeof(out->prefix_str), "%s/%u", net,
		 out->plen);
	return 0;
}

int vd_anycast_addr_family(const char *s, uint8_t bytes[16])
{
	uint8_t b[16];
	if (!bytes)
		bytes = b;
	if (inet_pton(AF_INET, s, bytes) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, bytes) == 1)
		return AF_INET6;
	return 0;
}

int vd_anycast_parse_uint(const char *s, unsigned long min, unsigned long max,
			  unsigned long *v)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	unsigned long x = strtoul(s, &end, 10);
	if (errno || *end || x < min || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

/* BIRD strings are double-quoted; keep secrets to a safe alphabet. */
static bool safe_secret(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 79)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return false;
	}
	return true;
}

int vd_anycast_neighbor_parse(const char *s, struct vd_anycast_neighbor *out,
			      const char **why)
{
	char buf[512];
	char *tok[MAX_TOKENS];
	size_t n = 0;
	unsigned long v;
	bool fam_given = false;

	if (strlen(s) >= sizeof(buf))
		return fail(why, "too long");
	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_TOKENS)
			return fail(why, "too many words");
		tok[n++] = t;
	}
	if (n < 3 || strcmp(tok[1], "as") != 0)
		return fail(why, "expected ADDR as ASN [multihop [TTL]] "
				 "[source ADDR] [password SECRET] [hold S] "
				 "[keepalive S] [bfd] [next-hop6 ADDR] "
				 "[tunnel NAME] [v4|v6|dual]");
	out->family = vd_anycast_addr_family(tok[0], NULL);
	if (!out->family)
		return fail(why, "neighbour address is not an IP address");
	snprintf(out->addr, sizeof(out->addr), "%s", tok[0]);
	if (vd_anycast_parse_uint(tok[2], 1, 4294967295ul, &v) != 0)
		return fail(why, "AS number must be 1..4294967295");
	out->remote_as = (uint32_t)v;

	for (size_t i = 3; i < n; i++) {
		const char *k = tok[i];
		const char *arg = i + 1 < n ? tok[i + 1] : NULL;
		if (!strcmp(k, "multihop")) {
			out->multihop = true;
			if (arg && vd_anycast_parse_uint(arg, 1, 255, &v) == 0) {
				out->multihop_ttl = (unsigned)v;
				i++;
			}
		} else if (!strcmp(k, "source")) {
			if (!arg || vd_anycast_addr_family(arg, NULL) != out->family)
				return fail(why, "source needs an address of "
						 "the neighbour's family");
			snprintf(out->source, sizeof(out->source), "%s", arg);
			i++;
		} else if (!strcmp(k, "password")) {
			if (!arg || !safe_secret(arg))
				return fail(why, "password: 1..79 printable "
						 "characters, no quotes, "
						 "backslashes or spaces");
			snprintf(out->password, sizeof(out->password), "%s",
				 arg);
			i++;
		} else if (!strcmp(k, "hold")) {
			if (!arg || vd_anycast_parse_uint(arg, 3, 65535, &v) != 0)
				return fail(why, "hold: seconds, 3..65535");
			out->hold = (unsigned)v;
			i++;
		} else if (!strcmp(k, "keepalive")) {
			if (!arg || vd_anycast_parse_uint(arg, 1, 65535, &v) != 0)
				return fail(why, "keepalive: seconds, 1..65535");
			out->keepalive = (unsigned)v;
			i++;
		} else if (!strcmp(k, "bfd")) {
			out->bfd = true;
		} else if (!strcmp(k, "extended-next-hop")) {
			/* Removed: BIRD sends the IPv6 routes of an IPv4
			 * session with the IPv4-mapped next hop
			 * ::ffff:a.b.c.d, which a router accepts and its
			 * kernel refuses, failing the whole ECMP route. */
			return fail(why, "extended-next-hop is gone: it "
					 "announced IPv6 VIPs with an "
					 "IPv4-mapped next hop routers cannot "
					 "install; give next-hop6 ADDR (this "
					 "node's IPv6 address on the link or "
					 "tunnel)");
		} else if (!strcmp(k, "next-hop6")) {
			if (!arg || vd_anycast_addr_family(arg, NULL) != AF_INET6)
				return fail(why, "next-hop6 needs an IPv6 "
						 "address");
			snprintf(out->next_hop6, sizeof(out->next_hop6), "%s",
				 arg);
			i++;
		} else if (!strcmp(k, "tunnel")) {
			if (!arg || !arg[0] || strlen(arg) > 15 ||
			    strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
				    strlen(arg))
				return fail(why, "tunnel needs a tunnel's NAME");
			snprintf(out->tunnel, sizeof(out->tunnel), "%s", arg);
			i++;
		} else if (!strcmp(k, "v4") || !strcmp(k, "v6") ||
			   !strcmp(k, "dual")) {
			fam_given = true;
			out->carry4 = k[1] == '4' || k[0] == 'd';
			out->carry6 = k[1] == '6' || k[0] == 'd';
		} else {
			return fail(why, "unknown neighbour option");
		}
	}
	if (out->keepalive && out->hold && out->keepalive * 3 > out->hold)
		return fail(why, "keepalive must be at most a third of hold");
	if (out->multihop && out->bfd && !out->source[0] && !out->tunnel[0])
		return fail(why, "multihop with bfd needs source ADDR (BFD "
				 "over several hops needs a fixed local "
				 "address)");
	bool six_over_four = out->next_hop6[0] != '\0';
	if (six_over_four && out->family != AF_INET)
		return fail(why, "next-hop6 applies to IPv4 sessions");
	if (!fam_given) {
		out->carry4 = out->family == AF_INET;
		out->carry6 = out->family == AF_INET6 || six_over_four;
	}
	/* Over a tunnel the next hop can come from its inner6 (checked
	 * against the tunnel by vd_anycast_tunnel_check). */
	if (out->carry6 && out->family == AF_INET && !six_over_four &&
	    !out->tunnel[0])
		return fail(why, "IPv6 over an IPv4 session needs "
				 "next-hop6 ADDR");
	if (out->carry4 && out->family == AF_INET6)
		return fail(why, "IPv4 routes over an IPv6 session are not "
				 "supported; add an IPv4 neighbour");
	return 0;
}

static const struct {
	const char *name;
	uint16_t type;
} qtypes[] = {
	{"A", 1}, {"NS", 2}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28},
};

int vd_anycast_canary_parse(const char *s, struct vd_anycast_canary *out,
			    const char **why)
{
	char name[300], type[16] = "A";
	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(name) ||
	    sscanf(s, "%299s %15s", name, type) < 1)
		return fail(why, "expected NAME [TYPE]");
	size_t n = strlen(name);
	if (n > 253 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.*") != n)
		return fail(why, "bad name (letters, digits, - _ . and a "
				 "leading *.)");
	if (strchr(name + (name[0] == '*' ? 1 : 0), '*') ||
	    (name[0] == '*' && name[1] != '.') || strstr(name, ".."))
		return fail(why, "bad name: '*' only as a leading \"*.\" "
				 "label, no empty labels");
	out->random_label = name[0] == '*';
	snprintf(out->name, sizeof(out->name), "%.*s",
		 (int)sizeof(out->name) - 1, name);
	/* The name as the probe will send it, by the resolver's own name
	 * code: empty labels, labels over 63 bytes and names over 255 (a
	 * "*." one counted with the probe's label) fail here, not in every
	 * probe with the VIPs withdrawn. */
	char probe[sizeof(name) + sizeof(VD_ANYCAST_CANARY_RANDOM_LABEL)];
	snprintf(probe, sizeof(probe), "%s%s",
		 out->random_label ? VD_ANYCAST_CANARY_RANDOM_LABEL : "",
		 name + (out->random_label ? 1 : 0));
	int wl = vd_dns_name_from_str(probe, out->wire, sizeof(out->wire));
	if (wl < 0)
		return fail(why, "bad name: empty label, label over 63 bytes "
				 "or name over 255 bytes (a leading \"*.\" "
				 "counts as a 13-byte label)");
	out->wire_len = (uint16_t)wl;
	out->qtype = 0;
	for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
		if (!strcasecmp(type, qtypes[i].name))
			out->qtype = qtypes[i].type;
	if (!out->qtype)
		return fail(why, "type must be A, AAAA, NS, SOA, MX or TXT");
	return 0;
}
