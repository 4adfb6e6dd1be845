/*
 * DNS server cookies (RFC 7873) made the interoperable way (RFC 9018):
 * Version 1 | Reserved | Timestamp | SipHash-2-4(Client Cookie | Version |
 * Reserved | Timestamp | Client IP, Server Secret).  Every node behind a
 * VIP holding the same secret validates every other node's cookie, and so
 * does any other RFC 9018 implementation given the secret.
 *
 * Pure: no I/O, no clock (the caller passes the time), no allocation.
 */
#ifndef VD_DNS_COOKIE_H
#define VD_DNS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VD_DNS_COOKIE_CLIENT_LEN 8
#define VD_DNS_COOKIE_SERVER_LEN 16 /* what RFC 9018 makes */
#define VD_DNS_COOKIE_MAX 40        /* client 8 + server 8..32 */
#define VD_DNS_COOKIE_SECRET_LEN 16

/* RFC 9018 4.3: a cookie lives an hour, may come from 5 minutes in the
 * future (clock skew across the fleet), and is renewed after half an hour. */
#define VD_DNS_COOKIE_LIFETIME 3600u
#define VD_DNS_COOKIE_SKEW 300u
#define VD_DNS_COOKIE_RENEW_AFTER 1800u

/* SipHash-2-4 of len bytes under a 16-byte key (the reference's byte order:
 * key and result little-endian). */
uint64_t vd_siphash24(const uint8_t key[16], const uint8_t *data, size_t len);

/* RFC 7873 5.2.2: a COOKIE option is 8 bytes, or 16 to 40. */
static inline bool vd_dns_cookie_len_ok(size_t len)
{
	return len == VD_DNS_COOKIE_CLIENT_LEN ||
	       (len >= 16 && len <= VD_DNS_COOKIE_MAX);
}

/*
 * Makes the 16-byte server cookie for client (8 bytes) at address ip
 * (4 or 16 bytes) at time now (seconds since the epoch, mod 2^32).
 */
void vd_dns_cookie_make(const uint8_t secret[VD_DNS_COOKIE_SECRET_LEN],
			const uint8_t client[VD_DNS_COOKIE_CLIENT_LEN],
			const uint8_t *ip, size_t ip_len, uint32_t now,
			uint8_t out[VD_DNS_COOKIE_SERVER_LEN]);

enum vd_dns_cookie_verdict {
	VD_DNS_COOKIE_NONE,    /* client cookie only */
	VD_DNS_COOKIE_BAD,     /* a server cookie none of the secrets made,
				* expired, from the future, or not ours */
	VD_DNS_COOKIE_VALID,   /* made by secrets[0], still fresh: echo it */
	VD_DNS_COOKIE_RENEW,   /* valid, but old or made by an older secret:
				* answer with a new one */
};

/*
 * Checks the COOKIE option opt (len bytes, vd_dns_cookie_len_ok) of a query
 * from ip against n secrets (secrets[0] is the one cookies are made with,
 * the rest are still accepted, RFC 9018 5) at time now.  Reserved bytes
 * are hashed as received.
 */
enum vd_dns_cookie_verdict
vd_dns_cookie_check(const uint8_t (*secrets)[VD_DNS_COOKIE_SECRET_LEN],
		    size_t n, const uint8_t *opt, size_t len, const uint8_t *ip,
		    size_t ip_len, uint32_t now);

#endif
