#include "acl/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0,
					     0, 0, 0, 0, 0xff, 0xff};

static const char *const action_names[] = {
	[VD_ACL_ALLOW] = "allow",
	[VD_ACL_REFUSE] = "refuse",
	[VD_ACL_DROP] = "drop",
};

void vd_acl_init(struct vd_acl *acl, enum vd_acl_action default_action)
{
	memset(acl, 0, sizeof(*acl));
	acl->default_action = (uint8_t)default_action;
}

int vd_acl_action_parse(const char *s)
{
	for (size_t i = 0; i < VD_ARRAY_SIZE(action_names); i++)
		if (strcmp(s, action_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *vd_acl_action_name(enum vd_acl_action action)
{
	if ((size_t)action >= VD_ARRAY_SIZE(action_names))
		return "?";
	return action_names[action];
}

static bool prefix_matches(const uint8_t *net, const uint8_t *addr,
			   unsigned prefix_len)
{
	unsigned full = prefix_len / 8, rest = prefix_len % 8;
	if (memcmp(net, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net[full] & mask) == (addr[full] & mask);
}

static bool host_bits_set(const uint8_t *addr, unsigned addr_bytes,
			  unsigned prefix_len)
{
	unsigned full = prefix_len / 8, rest = prefix_len % 8;
	if (rest && (addr[full] & (uint8_t)(0xff >> rest)))
		return true;
	for (unsigned i = full + (rest ? 1 : 0); i < addr_bytes; i++)
		if (addr[i])
			return true;
	return false;
}

/*
 * Total order: longest prefix first so vd_acl_match() can stop at the first
 * hit; ties broken by family and address only to make the array canonical
 * (two distinct prefixes of equal length never match the same client).
 */
static int rule_cmp(const struct vd_acl_rule *a, const struct vd_acl_rule *b)
{
	if (a->prefix_len != b->prefix_len)
		return a->prefix_len > b->prefix_len ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

int vd_acl_add(struct vd_acl *acl, int family, const void *addr,
	       unsigned prefix_len, enum vd_acl_action action)
{
	struct vd_acl_rule r = {0};
	if ((unsigned)action >= VD_ARRAY_SIZE(action_names))
		return -EINVAL;
	if (family == AF_INET) {
		if (prefix_len > 32)
			return -EINVAL;
		memcpy(r.addr, addr, 4);
	} else if (family == AF_INET6) {
		if (prefix_len > 128)
			return -EINVAL;
		memcpy(r.addr, addr, 16);
		/*
		 * Clients on dual-stack sockets are matched as IPv4 (see
		 * vd_acl_match), so a rule written in v4-mapped form would
		 * never match anyone; store it as the IPv4 rule it means.
		 */
		if (prefix_len >= 96 &&
		    memcmp(r.addr, v4_mapped_prefix, 12) == 0) {
			memmove(r.addr, r.addr + 12, 4);
			memset(r.addr + 4, 0, 12);
			family = AF_INET;
			prefix_len -= 96;
		}
	} else {
		return -EAFNOSUPPORT;
	}
	/* A set host bit is most likely a typo (10.1.2.3/8 for /32); widening
	 * it silently could open the resolver, so refuse it. */
	if (host_bits_set(r.addr, family == AF_INET ? 4 : 16, prefix_len))
		return -EINVAL;
	r.family = (uint8_t)family;
	r.prefix_len = (uint8_t)prefix_len;
	r.action = (uint8_t)action;

	size_t pos = 0;
	while (pos < acl->n_rules) {
		int c = rule_cmp(&acl->rules[pos], &r);
		if (c == 0) {
			acl->rules[pos].action = r.action;
			return 0;
		}
		if (c > 0)
			break;
		pos++;
	}
	if (acl->n_rules >= VD_ACL_MAX_RULES)
		return -ENOSPC;
	memmove(&acl->rules[pos + 1], &acl->rules[pos],
		(acl->n_rules - pos) * sizeof(acl->rules[0]));
	acl->rules[pos] = r;
	acl->n_rules++;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *arg)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, arg);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int vd_acl_add_str(struct vd_acl *acl, const char *spec, char *err,
		   size_t errlen)
{
	char addr_str[INET6_ADDRSTRLEN];
	char action_str[16];
	const char *p = spec, *start;
	size_t n;

	while (is_blank(*p))
		p++;
	start = p;
	while (*p && !is_blank(*p) && *p != '/')
		p++;
	n = (size_t)(p - start);
	if (n == 0 || n >= sizeof(addr_str)) {
		set_err(err, errlen, "expected \"PREFIX ACTION\" like "
				     "\"192.0.2.0/24 allow\", got \"%s\"",
			spec);
		return -EINVAL;
	}
	memcpy(addr_str, start, n);
	addr_str[n] = '\0';

	uint8_t addr[16] = {0};
	int family = strchr(addr_str, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr_str, addr) != 1) {
		set_err(err, errlen, "\"%s\" is not an IPv4 or IPv6 address",
			addr_str);
		return -EINVAL;
	}
	unsigned max_len = family == AF_INET ? 32 : 128;
	unsigned prefix_len = max_len; /* bare address: host route */
	if (*p == '/') {
		p++;
		if (*p < '0' || *p > '9') {
			set_err(err, errlen, "missing prefix length in \"%s\"",
				spec);
			return -EINVAL;
		}
		prefix_len = 0;
		/* Bounded by the digit count so it cannot overflow. */
		for (int digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits == 3) {
				set_err(err, errlen,
					"prefix length too long in \"%s\"",
					spec);
				return -EINVAL;
			}
			prefix_len = prefix_len * 10 + (unsigned)(*p - '0');
		}
		if (prefix_len > max_len) {
			set_err(err, errlen,
				family == AF_INET
					? "prefix length over 32 in \"%s\""
					: "prefix length over 128 in \"%s\"",
				spec);
			return -EINVAL;
		}
	}
	if (!is_blank(*p)) {
		set_err(err, errlen, "expected \"PREFIX ACTION\" like "
				     "\"192.0.2.0/24 allow\", got \"%s\"",
			spec);
		return -EINVAL;
	}
	while (is_blank(*p))
		p++;
	start = p;
	while (*p && !is_blank(*p))
		p++;
	n = (size_t)(p - start);
	while (is_blank(*p))
		p++;
	int action = -1;
	if (n < sizeof(action_str) && *p == '\0') {
		memcpy(action_str, start, n);
		action_str[n] = '\0';
		action = vd_acl_action_parse(action_str);
	}
	if (action < 0) {
		set_err(err, errlen,
			"expected action allow, refuse or drop in \"%s\"", spec);
		return -EINVAL;
	}

	int rc = vd_acl_add(acl, family, addr, prefix_len,
			    (enum vd_acl_action)action);
	if (rc == -ENOSPC) {
		char max[16];
		snprintf(max, sizeof(max), "%d", VD_ACL_MAX_RULES);
		set_err(err, errlen, "too many rules (max %s)", max);
	} else if (rc < 0) {
		set_err(err, errlen,
			"host bits set in \"%s\" (write the network address)",
			spec);
	}
	return rc;
}

int vd_acl_rule_format(const struct vd_acl_rule *rule, char *buf,
		       size_t buflen)
{
	char addr[INET6_ADDRSTRLEN];
	if (!inet_ntop(rule->family, rule->addr, addr, sizeof(addr)))
		return -errno;
	int n = snprintf(buf, buflen, "%s/%u %s", addr, rule->prefix_len,
			 vd_acl_action_name((enum vd_acl_action)rule->action));
	if (n < 0 || (size_t)n >= buflen)
		return -ENOSPC;
	return 0;
}

enum vd_acl_action vd_acl_match(const struct vd_acl *acl,
				const struct sockaddr *sa)
{
	const uint8_t *addr;
	int family;
	if (sa->sa_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)sa)
			       ->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		family = AF_INET6;
		/* Dual-stack sockets show IPv4 clients as ::ffff:a.b.c.d;
		 * the operator wrote IPv4 rules for them. */
		if (memcmp(addr, v4_mapped_prefix, 12) == 0) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		/* No rule can describe this client: that is exactly the
		 * "no rule matches" case the default action is for. */
		return (enum vd_acl_action)acl->default_action;
	}
	for (size_t i = 0; i < acl->n_rules; i++) {
		const struct vd_acl_rule *r = &acl->rules[i];
		if (r->family == family &&
		    prefix_matches(r->addr, addr, r->prefix_len))
			return (enum vd_acl_action)r->action;
	}
	return (enum vd_acl_action)acl->default_action;
}
