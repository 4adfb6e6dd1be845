/*
 * src/dns/cookie.c against RFC 9018 Appendix A (every example: IPv4 and
 * IPv6 clients, a renewed cookie, reserved bytes a client set, a secret
 * rolled over) and the SipHash-2-4 reference vectors; the lifetime window
 * of RFC 9018 4.3 including the wrap of the 32-bit timestamp.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "dns/cookie.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static size_t ip(const char *s, uint8_t *out)
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	cr_assert_eq(inet_pton(AF_INET6, s, out), 1, "%s", s);
	return 16;
}

Test(cookie, siphash_reference_vectors)
{
	/* The SipHash paper's vectors: key 00..0f, messages 00..(len-1). */
	uint8_t key[16], msg[16];
	for (int i = 0; i < 16; i++)
		key[i] = msg[i] = (uint8_t)i;
	cr_assert_eq(vd_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
	cr_assert_eq(vd_siphash24(key, msg, 1), 0x74f839c593dc67fdULL);
	cr_assert_eq(vd_siphash24(key, msg, 8), 0x93f5f5799a932462ULL);
	cr_assert_eq(vd_siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
}

struct vec {
	const char *secret, *client, *ip;
	uint32_t at;
	const char *want;
};

Test(cookie, rfc9018_appendix_a_made)
{
	const struct vec v[] = {
		{"e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
		 "198.51.100.100", 1559731985, "010000005cf79f111f8130c3eee29480"},
		{"e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957",
		 "198.51.100.100", 1559734385, "010000005cf7a871d4a564a1442aca77"},
		{"e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86",
		 "203.0.113.203", 1559734700, "010000005cf7a9acf73a7810aca2381e"},
		{"445536bcd2513298075a5d379663c962", "22681ab97d52c298",
		 "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
		 "010000005cf7c609a6bb79d16625507a"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t secret[16], client[8], addr[16], want[16], got[16];
		unhex(v[i].secret, secret);
		unhex(v[i].client, client);
		unhex(v[i].want, want);
		size_t al = ip(v[i].ip, addr);
		vd_dns_cookie_make(secret, client, addr, al, v[i].at, got);
		cr_assert_eq(memcmp(got, want, 16), 0, "A.%zu", i + 1);
	}
}

static enum vd_dns_cookie_verdict check(const char *const *secrets, size_t n,
					const char *cookie, const char *from,
					uint32_t now)
{
	uint8_t s[4][16], opt[40], addr[16];
	for (size_t i = 0; i < n; i++)
		unhex(secrets[i], s[i]);
	size_t len = unhex(cookie, opt);
	size_t al = ip(from, addr);
	return vd_dns_cookie_check((const uint8_t(*)[16])s, n, opt, len, addr,
				   al, now);
}

Test(cookie, rfc9018_appendix_a_checked)
{
	const char *a = "e5e973e5a6b2a43f48e7dc849e37bfcf";
	const char *olds = "dd3bdf9344b678b185a6f5cb60fca715";
	const char *news = "445536bcd2513298075a5d379663c962";
	/* A.1: the client's first query carries only its own cookie. */
	cr_assert_eq(check(&a, 1, "2464c4abcf10c957", "198.51.100.100",
			   1559731985),
		     VD_DNS_COOKIE_NONE);
	/* A.2: the cookie from A.1, 40 minutes on: valid, renew it. */
	cr_assert_eq(check(&a, 1, "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
			   "198.51.100.100", 1559734385),
		     VD_DNS_COOKIE_RENEW);
	/* ...and a minute after it was made: echo it. */
	cr_assert_eq(check(&a, 1, "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
			   "198.51.100.100", 1559732045),
		     VD_DNS_COOKIE_VALID);
	/* A.3: reserved bytes the client set are part of the hash. */
	cr_assert_eq(check(&a, 1, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
			   "203.0.113.203", 1559727985 + 60),
		     VD_DNS_COOKIE_VALID);
	cr_assert_eq(check(&a, 1, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
			   "203.0.113.204", 1559727985 + 60),
		     VD_DNS_COOKIE_BAD, "another address");
	/* A.4: made by the old secret; after the roll the old one is still
	 * accepted (renewed with the new), without it the cookie is bad. */
	const char *both[] = {news, olds};
	const char *only_new[] = {news};
	const char *c4 = "22681ab97d52c298010000005cf7c57926556bd0934c72f8";
	const char *v6 = "2001:db8:220:1:59de:d0f4:8769:82b8";
	cr_assert_eq(check(both, 2, c4, v6, 0x5cf7c579 + 60), VD_DNS_COOKIE_RENEW);
	cr_assert_eq(check(only_new, 1, c4, v6, 0x5cf7c579 + 60),
		     VD_DNS_COOKIE_BAD);
}

Test(cookie, lifetime_window_and_wrap)
{
	const char *s = "e5e973e5a6b2a43f48e7dc849e37bfcf";
	uint8_t secret[16], client[8] = {1, 2, 3, 4, 5, 6, 7, 8}, addr[4] = {192, 0, 2, 1};
	unhex(s, secret);
	const struct {
		uint32_t made, now;
		enum vd_dns_cookie_verdict want;
	} cases[] = {
		{1000000, 1000000, VD_DNS_COOKIE_VALID},
		{1000000, 1000000 + 1800, VD_DNS_COOKIE_VALID},
		{1000000, 1000000 + 1801, VD_DNS_COOKIE_RENEW},
		{1000000, 1000000 + 3600, VD_DNS_COOKIE_RENEW},
		{1000000, 1000000 + 3601, VD_DNS_COOKIE_BAD},
		{1000000 + 300, 1000000, VD_DNS_COOKIE_VALID}, /* skew */
		{1000000 + 301, 1000000, VD_DNS_COOKIE_BAD},
		{4294964696u, 1000, VD_DNS_COOKIE_RENEW},      /* wrapped */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t opt[24];
		memcpy(opt, client, 8);
		vd_dns_cookie_make(secret, client, addr, 4, cases[i].made, opt + 8);
		cr_assert_eq(vd_dns_cookie_check((const uint8_t(*)[16])secret, 1,
						 opt, 24, addr, 4, cases[i].now),
			     cases[i].want, "case %zu", i);
	}
	/* Other servers' lengths and versions are not ours. */
	uint8_t opt[40] = {0};
	cr_assert_eq(vd_dns_cookie_check((const uint8_t(*)[16])secret, 1, opt,
					 16, addr, 4, 1000),
		     VD_DNS_COOKIE_BAD);
	cr_assert_eq(vd_dns_cookie_check((const uint8_t(*)[16])secret, 1, opt,
					 40, addr, 4, 1000),
		     VD_DNS_COOKIE_BAD);
	cr_assert(vd_dns_cookie_len_ok(8) && vd_dns_cookie_len_ok(16) &&
		  vd_dns_cookie_len_ok(40));
	cr_assert(!vd_dns_cookie_len_ok(0) && !vd_dns_cookie_len_ok(9) &&
		  !vd_dns_cookie_len_ok(15) && !vd_dns_cookie_len_ok(41));
}
