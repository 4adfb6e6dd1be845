#include "dns/cookie.h"

#include <string.h>

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3)                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = rotl(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = rotl(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = rotl(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = rotl(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = rotl(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = rotl(v2, 32);                                             \
	} while (0)

uint64_t vd_siphash24(const uint8_t key[16], const uint8_t *data, size_t len)
{
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = le64(data + i);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	/* The last block: the remaining bytes, the length in the top byte. */
	uint64_t b = (uint64_t)(len & 0xff) << 56;
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)data[whole + i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Client | Version | Reserved | Timestamp | IP: at most 8 + 8 + 16. */
static uint64_t cookie_hash(const uint8_t *secret, const uint8_t *client,
			    const uint8_t head[8], const uint8_t *ip,
			    size_t ip_len)
{
	uint8_t in[32];
	memcpy(in, client, 8);
	memcpy(in + 8, head, 8);
	memcpy(in + 16, ip, ip_len);
	return vd_siphash24(secret, in, 16 + ip_len);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void vd_dns_cookie_make(const uint8_t secret[VD_DNS_COOKIE_SECRET_LEN],
			const uint8_t client[VD_DNS_COOKIE_CLIENT_LEN],
			const uint8_t *ip, size_t ip_len, uint32_t now,
			uint8_t out[VD_DNS_COOKIE_SERVER_LEN])
{
	out[0] = 1; /* version */
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(now >> 24);
	out[5] = (uint8_t)(now >> 16);
	out[6] = (uint8_t)(now >> 8);
	out[7] = (uint8_t)now;
	put_le64(out + 8, cookie_hash(secret, client, out, ip, ip_len));
}

enum vd_dns_cookie_verdict
vd_dns_cookie_check(const uint8_t (*secrets)[VD_DNS_COOKIE_SECRET_LEN],
		    size_t n, const uint8_t *opt, size_t len, const uint8_t *ip,
		    size_t ip_len, uint32_t now)
{
	if (len == VD_DNS_COOKIE_CLIENT_LEN)
		return VD_DNS_COOKIE_NONE;
	/* Ours are exactly 16 bytes, version 1: anything else some other
	 * server made (or nobody did). */
	if (len != VD_DNS_COOKIE_CLIENT_LEN + VD_DNS_COOKIE_SERVER_LEN ||
	    opt[8] != 1 || (ip_len != 4 && ip_len != 16))
		return VD_DNS_COOKIE_BAD;
	const uint8_t *server = opt + 8;
	uint32_t ts = (uint32_t)server[4] << 24 | (uint32_t)server[5] << 16 |
		      (uint32_t)server[6] << 8 | server[7];
	/* Serial arithmetic (RFC 1982): the stamp may wrap. */
	uint32_t age = now - ts;
	bool future = (int32_t)age < 0;
	if (future ? (uint32_t)-age > VD_DNS_COOKIE_SKEW
		   : age > VD_DNS_COOKIE_LIFETIME)
		return VD_DNS_COOKIE_BAD;
	uint8_t mac[8];
	for (size_t i = 0; i < n; i++) {
		put_le64(mac, cookie_hash(secrets[i], opt, server, ip, ip_len));
		/* Compared in constant time: a forger must not learn how
		 * many leading bytes of a guess were right. */
		uint8_t diff = 0;
		for (int k = 0; k < 8; k++)
			diff |= (uint8_t)(mac[k] ^ server[8 + k]);
		if (diff)
			continue;
		if (i == 0 && (future || age <= VD_DNS_COOKIE_RENEW_AFTER))
			return VD_DNS_COOKIE_VALID;
		return VD_DNS_COOKIE_RENEW;
	}
	return VD_DNS_COOKIE_BAD;
}
