/*
 * Fuzz target for the cookie secrets file (src/daemon/cookies.c), read at
 * every start: whatever it accepts is bounded, and each secret makes a
 * cookie that the set it came from then validates.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cookies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_cookie_secrets s;
	unsigned bad = 0;
	int n = vd_cookies_parse((const char *)data, size, &s, &bad);
	if (n < 0) {
		if (bad == 0)
			abort();
		return 0;
	}
	if (n > VD_COOKIE_SECRETS_MAX || (size_t)n != s.n)
		abort();
	static const uint8_t ip[4] = {198, 51, 100, 7};
	for (int i = 0; i < n; i++) {
		uint8_t opt[24] = {1, 2, 3, 4, 5, 6, 7, 8};
		vd_dns_cookie_make(s.s[i], opt, ip, 4, 1000000, opt + 8);
		enum vd_dns_cookie_verdict v = vd_dns_cookie_check(
			(const uint8_t(*)[VD_DNS_COOKIE_SECRET_LEN])s.s, s.n,
			opt, sizeof(opt), ip, 4, 1000000);
		/* Made by the active secret: echo; by another: renew (or
		 * valid when two lines hold the same secret). */
		if (v != VD_DNS_COOKIE_VALID && (i == 0 || v != VD_DNS_COOKIE_RENEW))
			abort();
	}
	return 0;
}
