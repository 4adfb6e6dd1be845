#include "resolve/zones.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "anycast/parse.h"
#include "config/config.h"
#include "core/compiler.h"
#include "dns/query.h"

#define MAX_TOKENS 40
#define TOKEN_MAX VD_CONFIG_LONG_MAX

/* Splits a copy of in at blanks into at most max tokens; -1 if more. */
static int tokenize(const char *in, char *buf, size_t cap, char **tok, int max)
{
	if (strlen(in) >= cap)
		return -1;
	strcpy(buf, in);
	int n = 0;
	/* strtok_r: lines are checked on the control thread (vipdnsctl
	 * reload) while the main thread may parse a SIGHUP reload. */
	char *save = NULL;
	for (char *p = strtok_r(buf, " \t", &save); p;
	     p = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		tok[n++] = p;
	}
	return n;
}

/*
 * Normalises a domain name ("Example.COM" -> "example.com.") into out.
 * Names reach libunbound inside quotes: quotes, blanks and control
 * characters are refused rather than escaped (no real zone needs them).
 */
static bool norm_name(const char *in, char *out, size_t cap, uint8_t *wire,
		      size_t *wire_len)
{
	for (const char *p = in; *p; p++)
		if (*p == '"' || *p == '\'' || isspace((unsigned char)*p) ||
		    (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	uint8_t w[VD_DNS_NAME_MAX];
	int n = vd_dns_name_from_str(in, w, sizeof(w));
	if (n < 0 || vd_dns_name_to_str(w, (size_t)n, out, cap) < 0)
		return false;
	if (wire) {
		memcpy(wire, w, (size_t)n);
		*wire_len = (size_t)n;
	}
	return true;
}

/* Appends to out at *o; false when it does not fit. */
static bool put(char *out, size_t cap, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool put(char *out, size_t cap, size_t *o, const char *fmt, ...)
{
	if (*o >= cap)
		return false;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + *o, cap - *o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *o) {
		*o = cap;
		return false;
	}
	*o += (size_t)n;
	return true;
}

/* "ADDR" or "ADDR@PORT" into "ADDR@PORT" (def_port when absent). */
static bool norm_server(const char *in, unsigned def_port, char *out,
			size_t cap, size_t *o)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *at = strchr(in, '@');
	size_t alen = at ? (size_t)(at - in) : strlen(in);
	if (alen == 0 || alen >= sizeof(addr))
		return false;
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	uint8_t bytes[16];
	int fam = vd_anycast_addr_family(addr, bytes);
	if (!fam)
		return false;
	unsigned long port = def_port;
	if (at && vd_anycast_parse_uint(at + 1, 1, 65535, &port) != 0)
		return false;
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(fam, bytes, text, sizeof(text)))
		return false;
	return put(out, cap, o, " %s@%lu", text, port);
}

/* forward-zone and stub-zone share their form; tls only forwards. */
static const char *check_servers(const char *in, char *out, size_t outlen,
				 bool forward)
{
	static const char *const why_fwd =
		"expected \"NAME ADDR[@PORT]... [first] [tls AUTH-NAME]\" "
		"with 1..16 IP addresses";
	static const char *const why_stub =
		"expected \"NAME ADDR[@PORT]... [first]\" with 1..16 IP "
		"addresses";
	const char *why = forward ? why_fwd : why_stub;
	char buf[TOKEN_MAX], *tok[MAX_TOKENS];
	int n = tokenize(in, buf, sizeof(buf), tok, MAX_TOKENS);
	if (n < 2)
		return why;
	char name[VD_DNS_NAME_MAX * 4 + 2];
	if (!norm_name(tok[0], name, sizeof(name), NULL, NULL))
		return "the zone is not a valid domain name";
	/* Keywords first: tls changes the servers' default port. */
	bool first = false;
	const char *tls = NULL;
	int n_addr = 0;
	for (int i = 1; i < n; i++) {
		if (!strcmp(tok[i], "first")) {
			if (first)
				return "\"first\" given twice";
			first = true;
		} else if (!strcmp(tok[i], "tls")) {
			if (!forward)
				return "tls is for forward-zone (stub-zone "
				       "servers are authoritative)";
			if (tls || i + 1 >= n)
				return "expected \"tls AUTH-NAME\" once";
			tls = tok[++i];
		} else {
			n_addr++;
		}
	}
	if (n_addr == 0 || n_addr > VD_ZONES_MAX_ADDRS)
		return why;
	char auth[VD_DNS_NAME_MAX * 4 + 2];
	if (tls && !norm_name(tls, auth, sizeof(auth), NULL, NULL))
		return "tls AUTH-NAME is not a valid domain name (the name "
		       "in the servers' certificate)";
	size_t o = 0;
	if (!put(out, outlen, &o, "%s", name))
		return "too long";
	for (int i = 1; i < n; i++) {
		if (!strcmp(tok[i], "first"))
			continue;
		if (!strcmp(tok[i], "tls")) {
			i++;
			continue;
		}
		if (!norm_server(tok[i], tls ? 853 : 53, out, outlen, &o))
			return o >= outlen ? "too long"
					   : "a server is not ADDR or "
					     "ADDR@PORT (IP addresses only: "
					     "the resolver must not depend "
					     "on itself to find them)";
	}
	if (first && !put(out, outlen, &o, " first"))
		return "too long";
	if (tls && !put(out, outlen, &o, " tls %s", auth))
		return "too long";
	return NULL;
}

const char *vd_zones_check_forward(const char *in, char *out, size_t outlen)
{
	return check_servers(in, out, outlen, true);
}

const char *vd_zones_check_stub(const char *in, char *out, size_t outlen)
{
	return check_servers(in, out, outlen, false);
}

/* libunbound 1.17's local-zone types (util/data/localzone.c). */
static const char *const local_zone_types[] = {
	"deny",          "refuse",          "static",
	"transparent",   "typetransparent", "redirect",
	"nodefault",     "inform",          "inform_deny",
	"inform_redirect", "always_transparent", "always_refuse",
	"always_nxdomain", "always_nodata", "always_deny",
	"always_null",   "noview",          NULL,
};

const char *vd_zones_check_local_zone(const char *in, char *out, size_t outlen)
{
	char buf[TOKEN_MAX], *tok[3];
	int n = tokenize(in, buf, sizeof(buf), tok, 3);
	if (n != 2)
		return "expected \"NAME TYPE\" (TYPE static, transparent, "
		       "redirect, refuse, deny, always_nxdomain, nodefault, ...)";
	char name[VD_DNS_NAME_MAX * 4 + 2];
	if (!norm_name(tok[0], name, sizeof(name), NULL, NULL))
		return "the zone is not a valid domain name";
	for (size_t i = 0; local_zone_types[i]; i++) {
		if (strcasecmp(tok[1], local_zone_types[i]) != 0)
			continue;
		if ((size_t)snprintf(out, outlen, "%s %s", name,
				     local_zone_types[i]) >= outlen)
			return "too long";
		return NULL;
	}
	return "unknown type (expected static, transparent, typetransparent, "
	       "redirect, refuse, deny, inform, inform_deny, inform_redirect, "
	       "always_transparent, always_refuse, always_nxdomain, "
	       "always_nodata, always_deny, always_null, noview or nodefault)";
}

/* RR types a local-data line may name; others as TYPEnnn (RFC 3597). */
static const char *const rr_types[] = {
	"A", "NS", "CNAME", "SOA", "PTR", "HINFO", "MINFO", "MX", "TXT", "RP",
	"AFSDB", "AAAA", "LOC", "SRV", "NAPTR", "KX", "CERT", "DNAME", "APL",
	"DS", "SSHFP", "IPSECKEY", "RRSIG", "NSEC", "DNSKEY", "DHCID", "NSEC3",
	"NSEC3PARAM", "TLSA", "SMIMEA", "HIP", "CDS", "CDNSKEY", "OPENPGPKEY",
	"CSYNC", "ZONEMD", "SVCB", "HTTPS", "SPF", "NID", "L32", "L64", "LP",
	"EUI48", "EUI64", "URI", "CAA", "NULL", "WKS", NULL,
};

static bool is_rr_type(const char *t)
{
	for (size_t i = 0; rr_types[i]; i++)
		if (!strcasecmp(t, rr_types[i]))
			return true;
	unsigned long v;
	return !strncasecmp(t, "TYPE", 4) &&
	       vd_anycast_parse_uint(t + 4, 1, 65535, &v) == 0 && v != 41 &&
	       (v < 128 || v > 255); /* OPT and the meta types */
}

static bool is_class(const char *t)
{
	unsigned long v;
	return !strcasecmp(t, "IN") || !strcasecmp(t, "CH") ||
	       !strcasecmp(t, "HS") ||
	       (!strncasecmp(t, "CLASS", 5) &&
		vd_anycast_parse_uint(t + 5, 1, 65535, &v) == 0);
}

/* A TTL as libunbound reads one: digits, or digits with s/m/h/d/w units. */
static bool is_ttl(const char *t)
{
	if (!isdigit((unsigned char)*t))
		return false;
	for (; *t; t++)
		if (!isdigit((unsigned char)*t) && !strchr("smhdwSMHDW", *t))
			return false;
	return true;
}

const char *vd_zones_check_local_data(const char *in, char *out, size_t outlen)
{
	static const char *const why =
		"expected \"OWNER [TTL] [CLASS] TYPE RDATA\" like "
		"\"www.example. 300 IN A 192.0.2.1\"";
	/* Rendered inside one kind of quote: it may hold the other, and
	 * must not end in a backslash that could take the closing one. */
	if (strchr(in, '"') && strchr(in, '\''))
		return "mixes ' and \" quotes (libunbound's config reader "
		       "cannot quote that)";
	size_t inlen = strlen(in);
	if (inlen && in[inlen - 1] == '\\')
		return "ends in a backslash";
	char buf[TOKEN_MAX], *tok[MAX_TOKENS];
	int n = tokenize(in, buf, sizeof(buf), tok, MAX_TOKENS);
	if (n < 0)
		n = MAX_TOKENS; /* TXT with many strings: the head is enough */
	if (n < 3)
		return why;
	char owner[VD_DNS_NAME_MAX * 4 + 2];
	if (!strcmp(tok[0], "@") ||
	    !norm_name(tok[0], owner, sizeof(owner), NULL, NULL))
		return "the owner is not a valid domain name (write it in "
		       "full: there is no $ORIGIN)";
	int i = 1;
	if (i < n && is_ttl(tok[i]))
		i++;
	/* libunbound reads TTL before class only ("IN 300" fails there). */
	if (i < n && is_class(tok[i]))
		i++;
	if (i >= n || !is_rr_type(tok[i]))
		return "no known RR type after the owner (A, AAAA, CNAME, "
		       "TXT, MX, PTR, SRV, ... or TYPEnnn)";
	const char *type = tok[i++];
	int rd = n - i; /* rdata tokens */
	if (rd < 1)
		return "the record has no data";
	uint8_t b[16];
	if (!strcasecmp(type, "A") &&
	    (rd != 1 || vd_anycast_addr_family(tok[i], b) != AF_INET))
		return "an A record takes one IPv4 address";
	if (!strcasecmp(type, "AAAA") &&
	    (rd != 1 || vd_anycast_addr_family(tok[i], b) != AF_INET6))
		return "an AAAA record takes one IPv6 address";
	if ((!strcasecmp(type, "CNAME") || !strcasecmp(type, "PTR") ||
	     !strcasecmp(type, "NS") || !strcasecmp(type, "DNAME")) &&
	    (rd != 1 || !norm_name(tok[i], owner, sizeof(owner), NULL, NULL)))
		return "this record takes one domain name";
	if (!strcasecmp(type, "MX") &&
	    (rd != 2 || !isdigit((unsigned char)tok[i][0]) ||
	     !norm_name(tok[i + 1], owner, sizeof(owner), NULL, NULL)))
		return "an MX record takes \"PREFERENCE NAME\"";
	/* Kept as written: libunbound parses the rdata (and the daemon
	 * tries every line on a scratch context before using it). */
	if ((size_t)snprintf(out, outlen, "%s", in) >= outlen)
		return "too long";
	return NULL;
}

const char *vd_zones_check_local_data_ptr(const char *in, char *out,
					  size_t outlen)
{
	char buf[TOKEN_MAX], *tok[3];
	int n = tokenize(in, buf, sizeof(buf), tok, 3);
	uint8_t b[16];
	int fam;
	if (n != 2 || !(fam = vd_anycast_addr_family(tok[0], b)))
		return "expected \"ADDR NAME\" like \"192.0.2.1 www.example.\"";
	char name[VD_DNS_NAME_MAX * 4 + 2], text[INET6_ADDRSTRLEN];
	if (!norm_name(tok[1], name, sizeof(name), NULL, NULL))
		return "the name is not a valid domain name";
	inet_ntop(fam, b, text, sizeof(text));
	if ((size_t)snprintf(out, outlen, "%s %s", text, name) >= outlen)
		return "too long";
	return NULL;
}

const char *vd_zones_check_name(const char *in, char *out, size_t outlen)
{
	if (!norm_name(in, out, outlen, NULL, NULL))
		return "expected a domain name";
	return NULL;
}

/* ADDR[/LEN] into "ADDR/LEN" with host bits cleared; family into *fam. */
static const char *norm_prefix(const char *in, char *out, size_t outlen,
			       int *fam_out, unsigned *len_out)
{
	static const char *const why = "expected ADDR or ADDR/LEN";
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(in, '/');
	size_t alen = slash ? (size_t)(slash - in) : strlen(in);
	if (alen == 0 || alen >= sizeof(addr))
		return why;
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	uint8_t b[16];
	int fam = vd_anycast_addr_family(addr, b);
	if (!fam)
		return why;
	unsigned bits = fam == AF_INET ? 32 : 128;
	unsigned long len = bits;
	if (slash && vd_anycast_parse_uint(slash + 1, 0, bits, &len) != 0)
		return fam == AF_INET ? "prefix length must be 0..32"
				      : "prefix length must be 0..128";
	for (unsigned i = (unsigned)len; i < bits; i++)
		b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	char text[INET6_ADDRSTRLEN];
	inet_ntop(fam, b, text, sizeof(text));
	if ((size_t)snprintf(out, outlen, "%s/%lu", text, len) >= outlen)
		return "too long";
	*fam_out = fam;
	*len_out = (unsigned)len;
	return NULL;
}

const char *vd_zones_check_prefix(const char *in, char *out, size_t outlen)
{
	int fam;
	unsigned len;
	return norm_prefix(in, out, outlen, &fam, &len);
}

const char *vd_zones_check_dns64_prefix(const char *in, char *out,
					size_t outlen)
{
	int fam;
	unsigned len;
	if (!*in)
		return NULL; /* off */
	const char *why = norm_prefix(in, out, outlen, &fam, &len);
	if (why || fam != AF_INET6 || !strchr(in, '/'))
		return "expected an IPv6 prefix like 64:ff9b::/96";
	/* RFC 6052 section 2.2. */
	if (len != 32 && len != 40 && len != 48 && len != 56 && len != 64 &&
	    len != 96)
		return "the prefix length must be 32, 40, 48, 56, 64 or 96 "
		       "(RFC 6052)";
	return NULL;
}

/* --------------------------------------------------------- rendering */

bool vd_zones_any(const struct vd_config *cfg)
{
	return cfg->n_forward_zones || cfg->n_stub_zones ||
	       cfg->n_domain_insecure || cfg->n_local_zones ||
	       cfg->n_local_data || cfg->n_local_data_ptr ||
	       cfg->n_private_addresses || cfg->n_private_domains ||
	       cfg->dns64_prefix[0] || cfg->n_dns64_ignore_aaaa;
}

/* A stored item of a list option, by index. */
#define ITEM(cfg, f, i) ((const char *)(cfg)->f[i])

static bool render_servers(const char *item, const char *clause,
			   const char *prefix, char *out, size_t cap, size_t *o)
{
	char buf[TOKEN_MAX], *tok[MAX_TOKENS];
	int n = tokenize(item, buf, sizeof(buf), tok, MAX_TOKENS);
	if (n < 2)
		return false;
	const char *tls = NULL;
	bool first = false;
	for (int i = 1; i < n; i++) {
		if (!strcmp(tok[i], "first"))
			first = true;
		else if (!strcmp(tok[i], "tls") && i + 1 < n)
			tls = tok[i + 1];
	}
	bool ok = put(out, cap, o, "%s:\n\tname: \"%s\"\n", clause, tok[0]);
	for (int i = 1; ok && i < n; i++) {
		if (!strcmp(tok[i], "first"))
			continue;
		if (!strcmp(tok[i], "tls")) {
			i++;
			continue;
		}
		/* The certificate's name is compared without the root dot. */
		ok = put(out, cap, o, "\t%s-addr: %s%s%.*s\n", prefix, tok[i],
			 tls ? "#" : "", tls ? (int)strlen(tls) - 1 : 0,
			 tls ? tls : "");
	}
	if (ok && first)
		ok = put(out, cap, o, "\t%s-first: yes\n", prefix);
	if (ok && tls)
		ok = put(out, cap, o, "\t%s-tls-upstream: yes\n", prefix);
	return ok;
}

int vd_zones_render(const struct vd_config *cfg, char *out, size_t cap)
{
	size_t o = 0;
	bool ok = put(out, cap, &o, "server:\n");
	for (size_t i = 0; ok && i < cfg->n_domain_insecure; i++)
		ok = put(out, cap, &o, "\tdomain-insecure: \"%s\"\n",
			 ITEM(cfg, domain_insecure, i));
	for (size_t i = 0; ok && i < cfg->n_local_zones; i++) {
		const char *item = ITEM(cfg, local_zones, i);
		const char *sp = strrchr(item, ' ');
		if (!sp)
			return -EINVAL;
		ok = put(out, cap, &o, "\tlocal-zone: \"%.*s\" %s\n",
			 (int)(sp - item), item, sp + 1);
	}
	for (size_t i = 0; ok && i < cfg->n_local_data; i++) {
		const char *item = ITEM(cfg, local_data, i);
		char q = strchr(item, '"') ? '\'' : '"';
		ok = put(out, cap, &o, "\tlocal-data: %c%s%c\n", q, item, q);
	}
	for (size_t i = 0; ok && i < cfg->n_local_data_ptr; i++)
		ok = put(out, cap, &o, "\tlocal-data-ptr: \"%s\"\n",
			 ITEM(cfg, local_data_ptr, i));
	for (size_t i = 0; ok && i < cfg->n_private_addresses; i++)
		ok = put(out, cap, &o, "\tprivate-address: %s\n",
			 ITEM(cfg, private_addresses, i));
	for (size_t i = 0; ok && i < cfg->n_private_domains; i++)
		ok = put(out, cap, &o, "\tprivate-domain: \"%s\"\n",
			 ITEM(cfg, private_domains, i));
	if (ok && cfg->dns64_prefix[0])
		ok = put(out, cap, &o, "\tdns64-prefix: %s\n\tdns64-synthall: %s\n",
			 cfg->dns64_prefix, cfg->dns64_synthall ? "yes" : "no");
	for (size_t i = 0; ok && i < cfg->n_dns64_ignore_aaaa; i++)
		ok = put(out, cap, &o, "\tdns64-ignore-aaaa: \"%s\"\n",
			 ITEM(cfg, dns64_ignore_aaaa, i));
	for (size_t i = 0; ok && i < cfg->n_forward_zones; i++)
		ok = render_servers(ITEM(cfg, forward_zones, i), "forward-zone",
				    "forward", out, cap, &o);
	for (size_t i = 0; ok && i < cfg->n_stub_zones; i++)
		ok = render_servers(ITEM(cfg, stub_zones, i), "stub-zone",
				    "stub", out, cap, &o);
	return ok ? (int)o : -ENOSPC;
}

size_t vd_zones_render_max(void)
{
	/* Per item: the item plus at most 16 lines of keyword overhead. */
	const struct vd_config *c = NULL;
	size_t items = VD_ARRAY_SIZE(c->forward_zones) +
		       VD_ARRAY_SIZE(c->stub_zones) +
		       VD_ARRAY_SIZE(c->domain_insecure) +
		       VD_ARRAY_SIZE(c->local_zones) +
		       VD_ARRAY_SIZE(c->local_data) +
		       VD_ARRAY_SIZE(c->local_data_ptr) +
		       VD_ARRAY_SIZE(c->private_addresses) +
		       VD_ARRAY_SIZE(c->private_domains) +
		       VD_ARRAY_SIZE(c->dns64_ignore_aaaa) + 1;
	return items * (VD_CONFIG_LONG_MAX + 16 * 40) + 64;
}

/* ------------------------------------------------------------- changes */

struct list_ref {
	const char *base;
	size_t item, count;
};

#define LIST_REF(cfg, f, n)                                                    \
	((struct list_ref){(const char *)(cfg)->f, sizeof((cfg)->f[0]),        \
			   (cfg)->n})

static bool list_has(struct list_ref l, const char *s)
{
	for (size_t i = 0; i < l.count; i++)
		if (!strcmp(l.base + i * l.item, s))
			return true;
	return false;
}

static bool list_eq(struct list_ref a, struct list_ref b)
{
	if (a.count != b.count)
		return false;
	for (size_t i = 0; i < a.count; i++)
		if (strcmp(a.base + i * a.item, b.base + i * b.item))
			return false;
	return true;
}

/* The name an item is about: its first token, or for local-data-ptr the
 * reverse name of its address. */
static bool item_name(const char *item, bool ptr, uint8_t *wire, size_t *len)
{
	char first[TOKEN_MAX];
	size_t k = strcspn(item, " \t");
	if (k == 0 || k >= sizeof(first))
		return false;
	memcpy(first, item, k);
	first[k] = '\0';
	char *tok[1] = {first};
	if (!ptr) {
		int n = vd_dns_name_from_str(tok[0], wire, VD_DNS_NAME_MAX);
		if (n < 0)
			return false;
		*len = (size_t)n;
		return true;
	}
	uint8_t b[16];
	int fam = vd_anycast_addr_family(tok[0], b);
	char rev[80];
	size_t o = 0;
	if (fam == AF_INET) {
		o = (size_t)snprintf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa.",
				     b[3], b[2], b[1], b[0]);
	} else if (fam == AF_INET6) {
		for (int i = 15; i >= 0; i--)
			o += (size_t)snprintf(rev + o, sizeof(rev) - o, "%x.%x.",
					      b[i] & 0xf, b[i] >> 4);
		snprintf(rev + o, sizeof(rev) - o, "ip6.arpa.");
	} else {
		return false;
	}
	int n = vd_dns_name_from_str(rev, wire, VD_DNS_NAME_MAX);
	if (n < 0)
		return false;
	*len = (size_t)n;
	return true;
}

/* Calls fn for each item of a missing from b and of b missing from a. */
static bool diff_names(struct list_ref a, struct list_ref b, bool ptr,
		       void (*fn)(const uint8_t *, size_t, void *), void *arg)
{
	bool any = false;
	struct list_ref sides[2][2] = {{a, b}, {b, a}};
	for (int s = 0; s < 2; s++) {
		struct list_ref x = sides[s][0], y = sides[s][1];
		for (size_t i = 0; i < x.count; i++) {
			const char *item = x.base + i * x.item;
			if (list_has(y, item))
				continue;
			uint8_t wire[VD_DNS_NAME_MAX];
			size_t len;
			if (item_name(item, ptr, wire, &len))
				fn(wire, len, arg);
			any = true;
		}
	}
	return any;
}

bool vd_zones_diff(const struct vd_config *a, const struct vd_config *b,
		   void (*fn)(const uint8_t *name, size_t len, void *arg),
		   void *arg)
{
	(void)diff_names(LIST_REF(a, forward_zones, n_forward_zones),
			 LIST_REF(b, forward_zones, n_forward_zones), false, fn,
			 arg);
	(void)diff_names(LIST_REF(a, stub_zones, n_stub_zones),
			 LIST_REF(b, stub_zones, n_stub_zones), false, fn, arg);
	(void)diff_names(LIST_REF(a, domain_insecure, n_domain_insecure),
			 LIST_REF(b, domain_insecure, n_domain_insecure), false,
			 fn, arg);
	(void)diff_names(LIST_REF(a, local_zones, n_local_zones),
			 LIST_REF(b, local_zones, n_local_zones), false, fn, arg);
	(void)diff_names(LIST_REF(a, local_data, n_local_data),
			 LIST_REF(b, local_data, n_local_data), false, fn, arg);
	(void)diff_names(LIST_REF(a, local_data_ptr, n_local_data_ptr),
			 LIST_REF(b, local_data_ptr, n_local_data_ptr), true, fn,
			 arg);
	/* These filter or rewrite answers for any name. */
	return !list_eq(LIST_REF(a, private_addresses, n_private_addresses),
			LIST_REF(b, private_addresses, n_private_addresses)) ||
	       !list_eq(LIST_REF(a, private_domains, n_private_domains),
			LIST_REF(b, private_domains, n_private_domains)) ||
	       !list_eq(LIST_REF(a, dns64_ignore_aaaa, n_dns64_ignore_aaaa),
			LIST_REF(b, dns64_ignore_aaaa, n_dns64_ignore_aaaa)) ||
	       strcmp(a->dns64_prefix, b->dns64_prefix) != 0 ||
	       a->dns64_synthall != b->dns64_synthall;
}

static void count_name(const uint8_t *name, size_t len, void *arg)
{
	(void)name;
	(void)len;
	(*(size_t *)arg)++;
}

bool vd_zones_changed(const struct vd_config *a, const struct vd_config *b)
{
	size_t n = 0;
	bool global = vd_zones_diff(a, b, count_name, &n);
	return global || n > 0 || strcmp(a->tls_cert_bundle, b->tls_cert_bundle);
}
