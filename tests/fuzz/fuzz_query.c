/*
 * Fuzz target for the query parser (src/dns/query.c, name.c): parse,
 * then exercise what the data plane does with the result (cache key,
 * error answer) and check the invariants others rely on.
 */
#include <stdint.h>
#include <string.h>

#include "dns/answer.h"
#include "dns/cookie.h"
#include "dns/query.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned verdict_rcode(enum vd_dns_verdict v)
{
	switch (v) {
	case VD_DNS_QUERY_FORMERR:
		return VD_DNS_RCODE_FORMERR;
	case VD_DNS_QUERY_NOTIMP:
		return VD_DNS_RCODE_NOTIMP;
	case VD_DNS_QUERY_REFUSED:
		return VD_DNS_RCODE_REFUSED;
	case VD_DNS_QUERY_BADVERS:
		return VD_DNS_RCODE_BADVERS;
	default:
		return VD_DNS_RCODE_SERVFAIL;
	}
}

static void check_names(const struct vd_dns_query *q)
{
	uint8_t lower[VD_DNS_NAME_MAX], back[VD_DNS_NAME_MAX];
	char str[4 * VD_DNS_NAME_MAX + 2];

	FUZZ_CHECK(q->qname_len >= 1);
	FUZZ_CHECK(q->question_len == q->qname_len + 4u);
	FUZZ_CHECK(vd_dns_name_valid(q->qname, q->qname_len));
	/* Presentation round trip must give back the lower-cased name. */
	vd_dns_name_lower(lower, q->qname, q->qname_len);
	int n = vd_dns_name_to_str(q->qname, q->qname_len, str, sizeof(str));
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(str));
	int m = vd_dns_name_from_str(str, back, sizeof(back));
	FUZZ_CHECK(m == q->qname_len);
	FUZZ_CHECK(memcmp(back, lower, (size_t)m) == 0);
	FUZZ_CHECK(vd_dns_name_in_zone(lower, q->qname_len,
				       (const uint8_t *)"", 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_dns_query q;
	uint8_t key[VD_DNS_KEY_MAX];
	uint8_t out[1024];
	struct fuzz_msg m;
	static const uint8_t nsid[] = "fuzz";
	struct vd_dns_resp_opts ro = {
		.max_size = VD_DNS_UDP_MIN,
		.edns_size = VD_DNS_EDNS_DEFAULT,
		.nsid = nsid,
		.nsid_len = 4,
		.ede = VD_DNS_EDE_OTHER,
	};

	enum vd_dns_verdict v = vd_dns_query_parse(data, size, &q);
	FUZZ_CHECK(v >= VD_DNS_QUERY_OK && v <= VD_DNS_QUERY_BADVERS);
	if (v == VD_DNS_QUERY_DROP)
		return 0;
	FUZZ_CHECK(size >= VD_DNS_HEADER_LEN);
	FUZZ_CHECK(!(q.flags & VD_DNS_F_QR));
	if (q.qname_len)
		check_names(&q);
	else
		FUZZ_CHECK(q.question_len == 0);
	if (v == VD_DNS_QUERY_OK) {
		FUZZ_CHECK(q.qname_len > 0 && q.qclass == VD_DNS_C_IN);
		FUZZ_CHECK(!q.has_edns || q.edns_version == 0);
		size_t n = vd_dns_query_key(&q, key);
		FUZZ_CHECK(n <= VD_DNS_KEY_MAX);
		FUZZ_CHECK(n == VD_DNS_KEY_HDR + (size_t)q.qname_len);
		FUZZ_CHECK((key[0] & ~(VD_DNS_KEY_F_DO | VD_DNS_KEY_F_CD)) == 0);
		for (size_t i = VD_DNS_KEY_HDR; i < n; i++)
			FUZZ_CHECK(key[i] < 'A' || key[i] > 'Z');
	}
	if (v == VD_DNS_QUERY_BADVERS)
		FUZZ_CHECK(q.has_edns && q.edns_version > 0);
	/* A kept cookie has a length RFC 7873 allows, and any bytes in it
	 * check out to some verdict without reading past it. */
	if (q.opts_seen & VD_DNS_SEEN_COOKIE) {
		FUZZ_CHECK(vd_dns_cookie_len_ok(q.cookie_len));
		static const uint8_t secret[1][16] = {{1, 2, 3}};
		static const uint8_t ip[16] = {192, 0, 2, 1};
		enum vd_dns_cookie_verdict cv = vd_dns_cookie_check(
			secret, 1, q.cookie, q.cookie_len, ip, 4, 1000000);
		FUZZ_CHECK(cv >= VD_DNS_COOKIE_NONE && cv <= VD_DNS_COOKIE_RENEW);
		FUZZ_CHECK((cv == VD_DNS_COOKIE_NONE) == (q.cookie_len == 8));
		memcpy(ro.cookie, q.cookie, 8);
		vd_dns_cookie_make(secret[0], q.cookie, ip, 16, 1000000,
				   ro.cookie + 8);
		ro.cookie_len = 24;
	} else {
		FUZZ_CHECK(q.cookie_len == 0);
	}

	unsigned rcode = verdict_rcode(v);
	size_t n = vd_dns_answer_error(&q, rcode, &ro, out, sizeof(out));
	FUZZ_CHECK(n >= VD_DNS_HEADER_LEN && n <= ro.max_size);
	FUZZ_CHECK(fuzz_check_msg(out, n, &m));
	FUZZ_CHECK(m.id == q.id);
	FUZZ_CHECK(m.flags & VD_DNS_F_QR);
	FUZZ_CHECK((m.flags & VD_DNS_F_RCODE_MASK) == (rcode & 0xf));
	FUZZ_CHECK(m.an == 0 && m.ns == 0);
	FUZZ_CHECK(m.qd == (q.qname_len ? 1 : 0));
	if (m.qd)
		FUZZ_CHECK(m.qname_len == q.qname_len &&
			   memcmp(m.qname, q.qname, q.qname_len) == 0);
	FUZZ_CHECK(m.opts == (q.has_edns || rcode > 15));
	if (m.opts)
		FUZZ_CHECK(m.opt_ttl >> 24 == rcode >> 4);
	/* A cap below a header must fail cleanly, not overrun. */
	FUZZ_CHECK(vd_dns_answer_error(&q, rcode, &ro, out, 11) == 0);
	return 0;
}
