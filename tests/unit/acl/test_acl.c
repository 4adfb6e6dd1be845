/* Unit tests for src/acl/acl.c: longest-prefix matching, v4-mapped
 * clients, replacement and the rule syntax. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "acl/acl.h"

static struct sockaddr_storage client(const char *addr)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return ss;
}

static enum vd_acl_action match(const struct vd_acl *acl, const char *addr)
{
	struct sockaddr_storage ss = client(addr);
	return vd_acl_match(acl, (struct sockaddr *)&ss);
}

static void add(struct vd_acl *acl, const char *spec)
{
	char err[128] = "";
	cr_assert_eq(vd_acl_add_str(acl, spec, err, sizeof(err)), 0,
		     "%s: %s", spec, err);
}

Test(acl, default_action_when_nothing_matches)
{
	struct vd_acl acl;
	vd_acl_init(&acl, VD_ACL_DROP);
	cr_assert_eq(match(&acl, "192.0.2.1"), VD_ACL_DROP);
	cr_assert_eq(match(&acl, "2001:db8::1"), VD_ACL_DROP);
	add(&acl, "192.0.2.0/24 allow");
	cr_assert_eq(match(&acl, "192.0.3.1"), VD_ACL_DROP);
	cr_assert_eq(match(&acl, "192.0.2.77"), VD_ACL_ALLOW);
}

Test(acl, longest_prefix_wins_whatever_the_order)
{
	struct vd_acl acl;
	vd_acl_init(&acl, VD_ACL_REFUSE);
	add(&acl, "10.0.0.0/8 allow");
	add(&acl, "10.1.2.3 drop");
	add(&acl, "10.1.0.0/16 refuse");
	add(&acl, "0.0.0.0/0 drop");
	cr_assert_eq(match(&acl, "10.9.9.9"), VD_ACL_ALLOW);
	cr_assert_eq(match(&acl, "10.1.9.9"), VD_ACL_REFUSE);
	cr_assert_eq(match(&acl, "10.1.2.3"), VD_ACL_DROP);
	cr_assert_eq(match(&acl, "11.0.0.1"), VD_ACL_DROP);
	for (size_t i = 1; i < acl.n_rules; i++)
		cr_assert_geq(acl.rules[i - 1].prefix_len,
			      acl.rules[i].prefix_len);
}

Test(acl, ipv6_and_partial_byte_prefixes)
{
	struct vd_acl acl;
	vd_acl_init(&acl, VD_ACL_REFUSE);
	add(&acl, "2001:db8::/32 allow");
	add(&acl, "2001:db8:8000::/33 drop");
	add(&acl, "192.0.2.128/25 drop");
	cr_assert_eq(match(&acl, "2001:db8:1::1"), VD_ACL_ALLOW);
	cr_assert_eq(match(&acl, "2001:db8:8001::1"), VD_ACL_DROP);
	cr_assert_eq(match(&acl, "2001:db9::1"), VD_ACL_REFUSE);
	cr_assert_eq(match(&acl, "192.0.2.127"), VD_ACL_REFUSE);
	cr_assert_eq(match(&acl, "192.0.2.128"), VD_ACL_DROP);
	/* An IPv6 rule never matches an IPv4 client and vice versa. */
	add(&acl, "::/0 allow");
	cr_assert_eq(match(&acl, "198.51.100.1"), VD_ACL_REFUSE);
}

Test(acl, v4_mapped_clients_use_ipv4_rules)
{
	struct vd_acl acl;
	vd_acl_init(&acl, VD_ACL_REFUSE);
	add(&acl, "192.0.2.0/24 allow");
	add(&acl, "127.0.0.1 drop");
	cr_assert_eq(match(&acl, "::ffff:192.0.2.9"), VD_ACL_ALLOW);
	cr_assert_eq(match(&acl, "::ffff:127.0.0.1"), VD_ACL_DROP);
	cr_assert_eq(match(&acl, "::ffff:198.51.100.1"), VD_ACL_REFUSE);
}

Test(acl, v4_mapped_rule_is_stored_as_ipv4)
{
	struct vd_acl acl;
	vd_acl_init(&acl, VD_ACL_REFUSE);
	add(&acl, "::ffff:192.0.2.0/120 allow");
	cr_assert_eq(acl.n_rules, 1);
	cr_assert_eq(acl.rules[0].family, AF_INET);
	cr_assert_eq(acl.rules[0].prefix_len, 24);
	cr_assert_eq(match(&acl, "192.0.2.1"), VD_ACL_ALLOW);
	cr_assert_eq(match(&acl, "::ffff:192.0.2.1"), VD_ACL_ALLOW);
}

Test(acl, same_prefix_replaces_action)
{
	struct vd_acl acl;
	vd_acl_init(&acl, VD_ACL_REFUSE);
	add(&acl, "127.0.0.0/8 allow");
	add(&acl, "::1 allow");
	add(&acl, "127.0.0.0/8 drop");
	add(&acl, "::1/128 refuse");
	cr_assert_eq(acl.n_rules, 2);
	cr_assert_eq(match(&acl, "127.0.0.1"), VD_ACL_DROP);
	cr_assert_eq(match(&acl, "::1"), VD_ACL_REFUSE);
}

Test(acl, binary_api)
{
	struct vd_acl acl;
	uint8_t net[4] = {192, 0, 2, 0}, host[4] = {192, 0, 2, 1};
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
	vd_acl_init(&acl, VD_ACL_REFUSE);
	cr_assert_eq(vd_acl_add(&acl, AF_INET, net, 24, VD_ACL_ALLOW), 0);
	cr_assert_eq(vd_acl_add(&acl, AF_INET, host, 24, VD_ACL_ALLOW),
		     -EINVAL);
	cr_assert_eq(vd_acl_add(&acl, AF_INET, net, 33, VD_ACL_ALLOW), -EINVAL);
	cr_assert_eq(vd_acl_add(&acl, AF_INET6, v6, 129, VD_ACL_ALLOW),
		     -EINVAL);
	cr_assert_eq(vd_acl_add(&acl, AF_INET6, v6, 32, (enum vd_acl_action)7),
		     -EINVAL);
	cr_assert_eq(vd_acl_add(&acl, AF_UNIX, net, 8, VD_ACL_ALLOW),
		     -EAFNOSUPPORT);
	cr_assert_eq(acl.n_rules, 1);
}

Test(acl, full_table)
{
	struct vd_acl acl;
	char spec[64], err[128];
	vd_acl_init(&acl, VD_ACL_REFUSE);
	for (unsigned i = 0; i < VD_ACL_MAX_RULES; i++) {
		snprintf(spec, sizeof(spec), "10.%u.%u.0/24 allow", i / 256,
			 i % 256);
		add(&acl, spec);
	}
	cr_assert_eq(vd_acl_add_str(&acl, "192.0.2.0/24 allow", err,
				    sizeof(err)),
		     -ENOSPC);
	cr_assert_str_eq(err, "too many rules (max 256)");
	/* Replacing an existing rule still works when full. */
	add(&acl, "10.0.5.0/24 drop");
	cr_assert_eq(match(&acl, "10.0.5.1"), VD_ACL_DROP);
}

Test(acl, bad_specs_rejected_with_reason)
{
	static const struct {
		const char *spec;
		const char *reason;
	} bad[] = {
		{"", "expected \"PREFIX ACTION\""},
		{"allow", "is not an IPv4 or IPv6 address"},
		{"192.0.2.0/24", "expected \"PREFIX ACTION\""},
		{"192.0.2.0/24 permit", "expected action allow, refuse or drop"},
		{"192.0.2.0/24 allow extra", "expected action"},
		{"192.0.2.0/33 allow", "prefix length over 32"},
		{"2001:db8::/129 allow", "prefix length over 128"},
		{"192.0.2.0/ allow", "missing prefix length"},
		{"192.0.2.0/0024 allow", "prefix length too long"},
		{"192.0.2.0/-1 allow", "missing prefix length"},
		{"192.0.2.0/24x allow", "expected \"PREFIX ACTION\""},
		{"192.0.2.1/24 allow", "host bits set"},
		{"2001:db8::1/32 allow", "host bits set"},
		{"300.0.0.0/8 allow", "is not an IPv4"},
		{"2001:db8:::/32 allow", "is not an IPv4"},
		{"example.com allow", "is not an IPv4"},
		{"192.0.2.0/24 ALLOW", "expected action"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vd_acl acl;
		char err[160] = "";
		vd_acl_init(&acl, VD_ACL_REFUSE);
		cr_assert_neq(vd_acl_add_str(&acl, bad[i].spec, err,
					     sizeof(err)),
			      0, "accepted \"%s\"", bad[i].spec);
		cr_assert(strstr(err, bad[i].reason), "\"%s\": got \"%s\"",
			  bad[i].spec, err);
		cr_assert_eq(acl.n_rules, 0);
	}
}

Test(acl, whitespace_and_host_routes)
{
	struct vd_acl acl;
	vd_acl_init(&acl, VD_ACL_REFUSE);
	add(&acl, "  192.0.2.1 \t drop  ");
	cr_assert_eq(acl.rules[0].prefix_len, 32);
	add(&acl, "2001:db8::5 allow");
	cr_assert_eq(acl.rules[0].prefix_len, 128);
	cr_assert_eq(match(&acl, "192.0.2.1"), VD_ACL_DROP);
	cr_assert_eq(match(&acl, "192.0.2.2"), VD_ACL_REFUSE);
}

Test(acl, format_round_trip)
{
	struct vd_acl a, b;
	char buf[80];
	vd_acl_init(&a, VD_ACL_REFUSE);
	vd_acl_init(&b, VD_ACL_REFUSE);
	add(&a, "192.0.2.0/24 allow");
	add(&a, "2001:db8::/32 drop");
	add(&a, "0.0.0.0/0 refuse");
	for (size_t i = 0; i < a.n_rules; i++) {
		cr_assert_eq(vd_acl_rule_format(&a.rules[i], buf, sizeof(buf)),
			     0);
		add(&b, buf);
	}
	cr_assert_eq(a.n_rules, b.n_rules);
	cr_assert_eq(memcmp(a.rules, b.rules, a.n_rules * sizeof(a.rules[0])),
		     0);
	cr_assert_eq(vd_acl_rule_format(&a.rules[0], buf, 8), -ENOSPC);
}

Test(acl, unknown_family_gets_default)
{
	struct vd_acl acl;
	struct sockaddr sa = {.sa_family = AF_UNIX};
	vd_acl_init(&acl, VD_ACL_DROP);
	add(&acl, "0.0.0.0/0 allow");
	cr_assert_eq(vd_acl_match(&acl, &sa), VD_ACL_DROP);
}
