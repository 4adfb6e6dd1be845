/* Unit tests for src/dns/answer.c: normalise, write and error answers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dns/answer.h"
#include "dns/name_wire.h"
#include "pkt.h"

#define QR 0x8000u
#define AA 0x0400u
#define TC 0x0200u
#define RD 0x0100u
#define RA 0x0080u
#define AD 0x0020u
#define CD 0x0010u

/* ---- a small independent reader for checking outputs ---------------- */

struct rr_view {
	unsigned sec;
	uint8_t owner[VD_DNS_NAME_MAX];
	int owner_len;
	uint16_t type, cls, rdlen;
	uint32_t ttl;
	size_t ttl_off, rd_off;
};

/* Walks a whole message; fails the test unless it parses to the byte. */
static size_t walk(const uint8_t *b, size_t len, struct rr_view *v,
		   size_t max)
{
	struct vd_wire w;
	uint8_t name[VD_DNS_NAME_MAX];
	vd_wire_init(&w, b, len);
	vd_wire_skip(&w, 4);
	unsigned qd = vd_wire_u16(&w);
	unsigned cnt[3] = { vd_wire_u16(&w), vd_wire_u16(&w),
			    vd_wire_u16(&w) };
	for (unsigned i = 0; i < qd; i++) {
		cr_assert_gt(vd_dns_name_unpack(&w, name, true), 0);
		vd_wire_skip(&w, 4);
	}
	size_t n = 0;
	for (unsigned s = 0; s < 3; s++)
		for (unsigned i = 0; i < cnt[s]; i++) {
			cr_assert_lt(n, max);
			struct vd_rr_dummy;
			v[n].sec = s;
			v[n].owner_len = vd_dns_name_unpack(&w, v[n].owner, true);
			cr_assert_gt(v[n].owner_len, 0);
			v[n].type = vd_wire_u16(&w);
			v[n].cls = vd_wire_u16(&w);
			v[n].ttl_off = w.pos;
			v[n].ttl = vd_wire_u32(&w);
			v[n].rdlen = vd_wire_u16(&w);
			v[n].rd_off = w.pos;
			vd_wire_skip(&w, v[n].rdlen);
			n++;
		}
	cr_assert_eq(w.err, 0, "message does not parse");
	cr_assert_eq(w.pos, len, "trailing bytes");
	return n;
}

/* Name inside the rdata of v (a compressible type) as uncompressed wire. */
static int rdata_name(const uint8_t *b, size_t len, const struct rr_view *v,
		      size_t skip, uint8_t *out)
{
	struct vd_wire w;
	vd_wire_init(&w, b, len);
	w.pos = v->rd_off + skip;
	return vd_dns_name_unpack(&w, out, true);
}

/* ---- a signed, compressed upstream answer ---------------------------- */

static const struct vd_dns_norm_opts norm_default = {
	.strip_dnssec = true,
	.secure = true,
	.min_ttl = 5,
	.max_ttl = 3600,
	.max_neg_ttl = 900,
	.servfail_ttl = 7,
};

static void rrsig(struct pkt *p, unsigned covered, uint32_t ttl)
{
	p_rr(p, 46, 1, ttl, 18 + 13 + 4);
	p_u16(p, covered);
	p_u8(p, 13);
	p_u8(p, 3);
	p_u32(p, ttl);
	p_u32(p, 2000000000);
	p_u32(p, 1900000000);
	p_u16(p, 4242);
	p_name(p, "example.com"); /* signer: never compressed */
	p_u32(p, 0xdeadbeef);
}

/* www.example.com A: CNAME to web.example.com, signed, with NS/NSEC/DS
 * in authority, glue and OPT in additional. */
static void signed_response(struct pkt *p, unsigned rcode)
{
	p_hdr(p, 0x4242, QR | RD | RA | AD | rcode, 1, 4, 3, 2);
	p_name(p, "www.example.com"); /* 12; example.com at 16, com at 24 */
	p_u16(p, 1);
	p_u16(p, 1);
	/* answer */
	p_ptr(p, 12);
	p_rr(p, 5, 1, 300, 6);
	size_t web = p->len;
	p_labels(p, "web", 0);
	p_ptr(p, 16);
	p_ptr(p, 12);
	rrsig(p, 5, 300);
	p_ptr(p, (unsigned)web);
	p_rr(p, 1, 1, 60, 4);
	p_u32(p, 0xc0000201);
	p_ptr(p, (unsigned)web);
	rrsig(p, 1, 60);
	/* authority */
	p_ptr(p, 16);
	p_rr(p, 2, 1, 86400, 6);
	size_t ns1 = p->len;
	p_labels(p, "ns1", 0);
	p_ptr(p, 16);
	p_ptr(p, 16);
	p_rr(p, 47, 1, 600, 18);
	p_name(p, "a.example.com"); /* NSEC next name: never compressed */
	p_bytes(p, "\0\1\100", 3);
	p_ptr(p, 16);
	p_rr(p, 43, 1, 600, 4);
	p_u32(p, 0x01020304);
	/* additional */
	p_ptr(p, (unsigned)ns1);
	p_rr(p, 1, 1, 100000, 4);
	p_u32(p, 0xc0000235);
	p_opt(p, 1232, 0, 0, 0x8000, NULL, 0);
}

static void query_for(struct vd_dns_query *q, const char *wire, size_t len,
		      unsigned qtype)
{
	memset(q, 0, sizeof(*q));
	q->id = 0x1234;
	q->flags = RD;
	q->qtype = (uint16_t)qtype;
	q->qclass = 1;
	memcpy(q->qname, wire, len);
	q->qname_len = (uint8_t)len;
	q->question_len = (uint16_t)(len + 4);
}

#define WWW_MIXED "\3WwW\7ExAmple\3COM"

struct stored {
	uint8_t wire[4096];
	uint16_t ttl_offs[VD_DNS_ANSWER_MAX_RRS];
	struct vd_dns_answer_meta meta;
};

static int norm(const struct pkt *p, const struct vd_dns_query *q,
		const struct vd_dns_norm_opts *o, struct stored *s)
{
	return vd_dns_answer_normalise(p->b, p->len, q, o, s->wire,
				       sizeof(s->wire), s->ttl_offs,
				       VD_DNS_ANSWER_MAX_RRS, &s->meta);
}

Test(normalise, strips_dnssec_and_rewrites)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	struct rr_view v[16];
	uint8_t name[VD_DNS_NAME_MAX];

	signed_response(&p, 0);
	query_for(&q, WWW_MIXED, 17, 1);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_POSITIVE);
	cr_assert_eq(s.meta.rcode, 0);
	cr_assert_eq(s.meta.secure, 1);
	cr_assert_eq(s.meta.qname_len, 17);
	cr_assert_eq(s.meta.ttl, 60, "lifetime: smallest answer/authority TTL");

	const uint8_t *o = s.wire;
	cr_assert_eq(g_u16(o, 0), 0, "stored ID is 0");
	cr_assert_eq(g_u16(o, 2), QR | RD | RA | AD);
	cr_assert_eq(g_u16(o, 4), 1);
	cr_assert_eq(g_u16(o, 6), 2, "CNAME + A, RRSIGs gone");
	cr_assert_eq(g_u16(o, 8), 1, "NS only, NSEC and DS gone");
	cr_assert_eq(g_u16(o, 10), 1, "glue, OPT gone");
	cr_assert_arr_eq(o + 12, "\3www\7example\3com", 17, "lower-cased");
	cr_assert_eq(g_u16(o, 29), 1);
	cr_assert_eq(g_u16(o, 31), 1);

	size_t n = walk(o, s.meta.wire_len, v, 16);
	cr_assert_eq(n, 4);
	cr_assert_eq(s.meta.n_ttls, 4);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(s.ttl_offs[i], v[i].ttl_off, "ttl offset %zu", i);
	cr_assert_eq(v[0].type, 5);
	cr_assert_eq(v[0].ttl, 300);
	cr_assert_eq(o[33], 0xc0, "owner compressed against the question");
	cr_assert_eq(rdata_name(o, s.meta.wire_len, &v[0], 0, name), 17);
	cr_assert_arr_eq(name, "\3web\7example\3com", 17);
	cr_assert_eq(v[1].type, 1);
	cr_assert_eq(v[1].ttl, 60);
	cr_assert_arr_eq(v[1].owner, "\3web\7example\3com", 17);
	cr_assert_eq(g_u32(o, v[1].rd_off), 0xc0000201);
	cr_assert_eq(v[2].type, 2);
	cr_assert_eq(v[2].ttl, 3600, "clamped to max_ttl");
	cr_assert_arr_eq(v[2].owner, "\7example\3com", 13);
	cr_assert_eq(rdata_name(o, s.meta.wire_len, &v[2], 0, name), 17);
	cr_assert_arr_eq(name, "\3ns1\7example\3com", 17);
	cr_assert_eq(v[3].type, 1);
	cr_assert_eq(v[3].ttl, 3600);
	cr_assert_arr_eq(v[3].owner, "\3ns1\7example\3com", 17);
	cr_assert_lt(s.meta.wire_len, 140, "names were compressed");
}

Test(normalise, keeps_dnssec_for_do_clients)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	struct rr_view v[16];
	struct vd_dns_norm_opts o = norm_default;
	uint8_t name[VD_DNS_NAME_MAX];

	o.strip_dnssec = false;
	o.secure = false;
	signed_response(&p, 0);
	query_for(&q, WWW_MIXED, 17, 1);
	cr_assert_eq(norm(&p, &q, &o, &s), 0);
	cr_assert_eq(g_u16(s.wire, 2), QR | RD | RA, "no AD unless secure");
	cr_assert_eq(s.meta.secure, 0);
	cr_assert_eq(g_u16(s.wire, 6), 4);
	cr_assert_eq(g_u16(s.wire, 8), 3);
	cr_assert_eq(g_u16(s.wire, 10), 1);
	size_t n = walk(s.wire, s.meta.wire_len, v, 16);
	cr_assert_eq(n, 8);
	cr_assert_eq(s.meta.n_ttls, 8);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(s.ttl_offs[i], v[i].ttl_off);
	cr_assert_eq(v[1].type, 46);
	cr_assert_eq(v[1].rdlen, 35, "RRSIG rdata copied verbatim");
	cr_assert_arr_eq(s.wire + v[1].rd_off + 18, "\7example\3com", 13);
	cr_assert_eq(v[5].type, 47);
	cr_assert_eq(v[6].type, 43);
	cr_assert_eq(rdata_name(s.wire, s.meta.wire_len, &v[0], 0, name), 17);
}

Test(normalise, rrsig_and_nsec_kept_when_asked)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;

	/* qtype RRSIG: signatures stay even for a DO=0 client. */
	p_hdr(&p, 1, QR | RD | RA, 1, 2, 0, 0);
	p_name(&p, "example.com");
	p_u16(&p, 46);
	p_u16(&p, 1);
	p_ptr(&p, 12);
	rrsig(&p, 1, 100);
	p_ptr(&p, 12);
	p_rr(&p, 47, 1, 100, 7);
	p_name(&p, "b.com"); /* uncompressed as it must be */
	query_for(&q, "\7example\3com", 13, 46);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(g_u16(s.wire, 6), 1);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_POSITIVE);
	/* qtype NSEC keeps NSEC, drops RRSIG. */
	p_set_u16(&p, 25, 47);
	q.qtype = 47;
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(g_u16(s.wire, 6), 1);
	cr_assert_eq(g_u16(s.wire, 31), 47);
	/* qtype ANY keeps RRSIG. */
	p_set_u16(&p, 25, 255);
	q.qtype = 255;
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(g_u16(s.wire, 6), 1);
	cr_assert_eq(g_u16(s.wire, 31), 46);
}

static void negative(struct pkt *p, unsigned rcode, uint32_t soa_ttl,
		     uint32_t minimum, bool with_soa)
{
	p_hdr(p, 9, QR | RD | RA | rcode, 1, 0, with_soa ? 2 : 0, 1);
	p_name(p, "nx.example.com"); /* example.com at 15 */
	p_u16(p, 1);
	p_u16(p, 1);
	if (with_soa) {
		p_ptr(p, 15);
		size_t rdlen_at = p->len + 8;
		p_rr(p, 6, 1, soa_ttl, 0);
		size_t start = p->len;
		p_labels(p, "ns", 0);
		p_ptr(p, 15);
		p_labels(p, "hostmaster", 0);
		p_ptr(p, 15);
		p_u32(p, 2024010101);
		p_u32(p, 7200);
		p_u32(p, 3600);
		p_u32(p, 1209600);
		p_u32(p, minimum);
		p_set_u16(p, rdlen_at, (unsigned)(p->len - start));
		p_ptr(p, 15);
		rrsig(p, 6, soa_ttl);
	}
	p_opt(p, 1232, 0, 0, 0x8000, NULL, 0);
}

Test(normalise, nxdomain_lifetime_from_soa)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	struct rr_view v[4];
	uint8_t name[VD_DNS_NAME_MAX];
	query_for(&q, "\2nx\7example\3com", 16, 1);

	negative(&p, 3, 3600, 300, true);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_NXDOMAIN);
	cr_assert_eq(s.meta.rcode, 3);
	cr_assert_eq(s.meta.ttl, 300, "min(SOA TTL, MINIMUM)");
	cr_assert_eq(g_u16(s.wire, 2) & 0xf, 3);
	cr_assert_eq(walk(s.wire, s.meta.wire_len, v, 4), 1, "RRSIG stripped");
	cr_assert_eq(v[0].ttl, 300, "stored SOA counts down from the lifetime");
	cr_assert_eq(rdata_name(s.wire, s.meta.wire_len, &v[0], 0, name), 16);
	cr_assert_arr_eq(name, "\2ns\7example\3com", 16);
	cr_assert_eq(g_u32(s.wire, v[0].rd_off + v[0].rdlen - 4), 300);

	negative(&p, 3, 2000, 5000, true);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.ttl, 900, "capped at max_neg_ttl");

	negative(&p, 3, 100, 5000, true);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.ttl, 100, "SOA TTL smaller than MINIMUM");
}

/* CNAME to a name with no data of the type: NOERROR, classified positive
 * (the answer section has the CNAME), but the negative part must live by
 * the SOA rules (RFC 2308 5), not by the SOA's TTL alone. */
Test(normalise, cname_to_nodata_uses_soa_minimum)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	struct rr_view v[4];
	query_for(&q, "\5alias\7example\3com", 19, 1);

	p_hdr(&p, 9, QR | RD | RA, 1, 1, 1, 0);
	p_name(&p, "alias.example.com"); /* example.com at 18 */
	p_u16(&p, 1);
	p_u16(&p, 1);
	p_ptr(&p, 12);
	size_t cname_rdlen = p.len + 8;
	p_rr(&p, 5, 1, 3000, 0);
	size_t start = p.len;
	p_labels(&p, "target", 0);
	p_ptr(&p, 18);
	p_set_u16(&p, cname_rdlen, (unsigned)(p.len - start));
	p_ptr(&p, 18);
	size_t soa_rdlen = p.len + 8;
	p_rr(&p, 6, 1, 600, 0);
	start = p.len;
	p_labels(&p, "ns", 0);
	p_ptr(&p, 18);
	p_labels(&p, "hostmaster", 0);
	p_ptr(&p, 18);
	p_u32(&p, 1);
	p_u32(&p, 7200);
	p_u32(&p, 3600);
	p_u32(&p, 1209600);
	p_u32(&p, 60); /* MINIMUM */
	p_set_u16(&p, soa_rdlen, (unsigned)(p.len - start));

	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_POSITIVE);
	cr_assert_eq(s.meta.ttl, 60, "lifetime %u, want the SOA MINIMUM",
		     s.meta.ttl);
	cr_assert_eq(walk(s.wire, s.meta.wire_len, v, 4), 2);
	cr_assert_eq(v[0].ttl, 3000, "the CNAME keeps its own TTL");
	cr_assert_eq(v[1].ttl, 60, "the stored SOA counts down from 60");
}

Test(normalise, nodata_and_no_soa)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	query_for(&q, "\2nx\7example\3com", 16, 1);

	negative(&p, 0, 3600, 600, true);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_NODATA);
	cr_assert_eq(s.meta.ttl, 600);

	negative(&p, 0, 3600, 600, false);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_NODATA);
	cr_assert_eq(s.meta.ttl, 7, "no SOA: the short SERVFAIL lifetime");
	cr_assert_eq(s.meta.n_ttls, 0);
	cr_assert_eq(s.meta.wire_len, 12 + 20);
}

Test(normalise, nodata_when_answer_has_only_other_types)
{
	/* DO client, qtype AAAA, only an RRSIG(A) in the answer: that is
	 * no data for AAAA. */
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	struct vd_dns_norm_opts o = norm_default;
	o.strip_dnssec = false;
	p_hdr(&p, 1, QR | RD | RA, 1, 1, 0, 0);
	p_name(&p, "example.com");
	p_u16(&p, 28);
	p_u16(&p, 1);
	p_ptr(&p, 12);
	rrsig(&p, 1, 100);
	query_for(&q, "\7example\3com", 13, 28);
	cr_assert_eq(norm(&p, &q, &o, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_NODATA);
}

Test(normalise, servfail_and_other)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	query_for(&q, "\2nx\7example\3com", 16, 1);
	negative(&p, 2, 0, 0, false);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_SERVFAIL);
	cr_assert_eq(s.meta.ttl, 7);
	cr_assert_eq(s.meta.rcode, 2);
	negative(&p, 5, 0, 0, false);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	cr_assert_eq(s.meta.kind, VD_DNS_ANSWER_OTHER);
	cr_assert_eq(s.meta.ttl, 7);
}

Test(normalise, ttl_floor_and_top_bit)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	struct vd_dns_norm_opts o = norm_default;
	struct rr_view v[4];
	o.min_ttl = 30;
	p_hdr(&p, 1, QR | RD | RA, 1, 2, 0, 0);
	p_name(&p, "a.b");
	p_u16(&p, 1);
	p_u16(&p, 1);
	p_ptr(&p, 12);
	p_rr(&p, 1, 1, 10, 4);
	p_u32(&p, 1);
	p_ptr(&p, 12);
	p_rr(&p, 1, 1, 0x80000001u, 4);
	p_u32(&p, 2);
	query_for(&q, "\1a\1b", 5, 1);
	cr_assert_eq(norm(&p, &q, &o, &s), 0);
	cr_assert_eq(walk(s.wire, s.meta.wire_len, v, 4), 2);
	cr_assert_eq(v[0].ttl, 30);
	cr_assert_eq(v[1].ttl, 30, "top bit set reads as 0, then floored");
	cr_assert_eq(s.meta.ttl, 30);
}

Test(normalise, rejects_mismatch_and_malformed)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	query_for(&q, WWW_MIXED, 17, 1);

	signed_response(&p, 0);
	q.qtype = 28;
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG, "qtype");
	q.qtype = 1;
	q.qclass = 3;
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG, "qclass");
	q.qclass = 1;
	q.qname[2] = 'x';
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG, "qname");
	query_for(&q, WWW_MIXED, 17, 1);

	signed_response(&p, 0);
	p_set_u16(&p, 2, RD | RA);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG, "QR=0");
	signed_response(&p, 0);
	p_set_u16(&p, 4, 0);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG, "QDCOUNT 0");
	signed_response(&p, 0);
	p_set_u16(&p, 4, 2);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG, "QDCOUNT 2");
	signed_response(&p, 0);
	p_set_u16(&p, 10, 3);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG, "ARCOUNT");

	/* Every truncation of the packet is refused. */
	signed_response(&p, 0);
	size_t full = p.len;
	for (size_t cut = 0; cut < full; cut++) {
		cr_assert_eq(vd_dns_answer_normalise(p.b, cut, &q,
						     &norm_default, s.wire,
						     sizeof(s.wire), s.ttl_offs,
						     256, &s.meta),
			     -EBADMSG, "cut at %zu", cut);
	}
}

Test(normalise, rejects_opt_in_answer_and_bad_rdata)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	query_for(&q, "\1a\1b", 5, 1);

	p_hdr(&p, 1, QR, 1, 1, 0, 0);
	p_name(&p, "a.b");
	p_u16(&p, 1);
	p_u16(&p, 1);
	p_opt(&p, 1232, 0, 0, 0, NULL, 0);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG);

	/* CNAME whose name ends before its rdlen does. */
	p_hdr(&p, 1, QR, 1, 1, 0, 0);
	p_name(&p, "a.b");
	p_u16(&p, 1);
	p_u16(&p, 1);
	p_ptr(&p, 12);
	p_rr(&p, 5, 1, 10, 4);
	p_ptr(&p, 12);
	p_u16(&p, 0);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG);
	/* ... or runs past it. */
	p_hdr(&p, 1, QR, 1, 1, 0, 0);
	p_name(&p, "a.b");
	p_u16(&p, 1);
	p_u16(&p, 1);
	p_ptr(&p, 12);
	p_rr(&p, 5, 1, 10, 2);
	p_name(&p, "c");
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG);
	/* Compression loop in an owner name. */
	p_hdr(&p, 1, QR, 1, 1, 0, 0);
	p_name(&p, "a.b");
	p_u16(&p, 1);
	p_u16(&p, 1);
	p_ptr(&p, (unsigned)p.len);
	p_rr(&p, 1, 1, 10, 4);
	p_u32(&p, 0);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), -EBADMSG);
}

Test(normalise, no_space)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	signed_response(&p, 0);
	query_for(&q, WWW_MIXED, 17, 1);
	cr_assert_eq(vd_dns_answer_normalise(p.b, p.len, &q, &norm_default,
					     s.wire, 60, s.ttl_offs, 256,
					     &s.meta),
		     -ENOSPC);
	cr_assert_eq(vd_dns_answer_normalise(p.b, p.len, &q, &norm_default,
					     s.wire, sizeof(s.wire),
					     s.ttl_offs, 3, &s.meta),
		     -ENOSPC);
	cr_assert_eq(vd_dns_answer_normalise(p.b, p.len, &q, &norm_default,
					     s.wire, sizeof(s.wire),
					     s.ttl_offs, 4, &s.meta),
		     0);
}

/* ---- write -------------------------------------------------------------- */

static const struct vd_dns_resp_opts resp_default = {
	.max_size = 1232,
	.edns_size = 1232,
	.nsid = NULL,
	.ede = -1,
};

/* A large valid RRset is an answer like any other, not a failure: 1000
 * A records (12 kB compressed, over 256 RRs) normalise and are written
 * back in full over TCP, and truncated for a UDP client. */
Test(normalise, large_rrset_is_served)
{
	static struct pkt p; /* more than the helper's 8 kB: built by hand */
	static uint8_t in[20000], wire[VD_DNS_MSG_MAX], out[VD_DNS_MSG_MAX];
	static uint16_t offs[VD_DNS_ANSWER_MAX_RRS];
	struct vd_dns_query q;
	struct vd_dns_answer_meta m;
	const unsigned n = 1000;

	p_hdr(&p, 0x1234, 0x8180, 1, 0, 0, 0);
	p_name(&p, "www.example.com");
	p_u16(&p, 1);
	p_u16(&p, 1);
	memcpy(in, p.b, p.len);
	size_t len = p.len;
	for (unsigned i = 0; i < n; i++) {
		static const uint8_t rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44,
					      0, 4, 192, 0, 2, 0 };
		memcpy(in + len, rr, sizeof(rr));
		in[len + sizeof(rr) - 1] = (uint8_t)i;
		in[len + sizeof(rr) - 2] = (uint8_t)(i >> 8);
		len += sizeof(rr);
	}
	in[6] = (uint8_t)(n >> 8);
	in[7] = (uint8_t)n;
	query_for(&q, "\3www\7example\3com", 17, 1);
	cr_assert_eq(vd_dns_answer_normalise(in, len, &q, &norm_default, wire,
					     sizeof(wire), offs,
					     VD_DNS_ANSWER_MAX_RRS, &m),
		     0);
	cr_assert_eq(m.kind, VD_DNS_ANSWER_POSITIVE);
	cr_assert_eq(m.n_ttls, n);
	cr_assert_eq(g_u16(wire, 6), n);

	struct vd_dns_resp_opts tcp = resp_default;
	tcp.max_size = 65535;
	size_t w = vd_dns_answer_write(wire, &m, offs, &q, 0, &tcp, out,
				       sizeof(out));
	cr_assert_gt(w, 12 * n);
	cr_assert_eq(g_u16(out, 6), n, "every record over TCP");
	cr_assert_eq(out[2] & 0x02, 0, "no TC over TCP");
	w = vd_dns_answer_write(wire, &m, offs, &q, 0, &resp_default, out,
				sizeof(out));
	cr_assert_leq(w, 1232);
	cr_assert_neq(out[2] & 0x02, 0, "TC for a UDP client");
}

static void stored_positive(struct stored *s)
{
	struct pkt p;
	struct vd_dns_query q;
	signed_response(&p, 0);
	query_for(&q, WWW_MIXED, 17, 1);
	cr_assert_eq(norm(&p, &q, &norm_default, s), 0);
}

Test(write, echoes_id_case_and_lowers_ttls)
{
	struct stored s;
	struct vd_dns_query q;
	struct rr_view v[8];
	uint8_t out[2048];
	stored_positive(&s);
	query_for(&q, WWW_MIXED, 17, 1);
	q.flags = CD; /* RD clear, CD set */

	size_t n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 50,
				       &resp_default, out, sizeof(out));
	cr_assert_eq(n, s.meta.wire_len);
	cr_assert_eq(g_u16(out, 0), 0x1234);
	cr_assert_eq(g_u16(out, 2), QR | RA | CD, "RD/CD from query, no AD");
	cr_assert_arr_eq(out + 12, WWW_MIXED, 17);
	cr_assert_eq(walk(out, n, v, 8), 4);
	cr_assert_eq(v[0].ttl, 250);
	cr_assert_eq(v[1].ttl, 10);
	cr_assert_eq(v[2].ttl, 3550);
	/* The CNAME owner points at the question, so shows its case. */
	cr_assert_arr_eq(v[0].owner, WWW_MIXED, 17);
	/* The stored copy is untouched. */
	cr_assert_eq(g_u16(s.wire, 0), 0);
	cr_assert_eq(g_u32(s.wire, s.ttl_offs[0]), 300);

	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 100000,
				&resp_default, out, sizeof(out));
	walk(out, n, v, 8);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(v[i].ttl, 0, "floor at 0");

	struct vd_dns_resp_opts o = resp_default;
	o.ttl_override = 30;
	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 100000, &o,
				out, sizeof(out));
	walk(out, n, v, 8);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(v[i].ttl, 30, "stale override");
}

Test(write, ad_kept_for_do_or_ad)
{
	struct stored s;
	struct vd_dns_query q;
	uint8_t out[2048];
	stored_positive(&s);
	query_for(&q, WWW_MIXED, 17, 1);
	q.flags = RD | AD;
	vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &resp_default,
			    out, sizeof(out));
	cr_assert_eq(g_u16(out, 2), QR | RD | RA | AD);

	q.flags = RD;
	q.has_edns = true;
	q.edns_flags = 0x8000;
	size_t n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0,
				       &resp_default, out, sizeof(out));
	cr_assert_eq(g_u16(out, 2), QR | RD | RA | AD);
	cr_assert_eq(n, s.meta.wire_len + 11u);

	q.edns_flags = 0;
	vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &resp_default,
			    out, sizeof(out));
	cr_assert_eq(g_u16(out, 2), QR | RD | RA);
}

/* Finds the OPT in a message; returns its rr_view index or -1. */
static int find_opt(const uint8_t *b, size_t n, struct rr_view *v, size_t max)
{
	size_t cnt = walk(b, n, v, max);
	int at = -1;
	for (size_t i = 0; i < cnt; i++)
		if (v[i].type == 41) {
			cr_assert_eq(at, -1, "two OPTs");
			cr_assert_eq(v[i].sec, 2);
			cr_assert_eq(v[i].owner_len, 1);
			at = (int)i;
		}
	return at;
}

Test(write, opt_with_nsid_and_ede)
{
	struct stored s;
	struct vd_dns_query q;
	struct rr_view v[8];
	uint8_t out[2048];
	struct vd_dns_resp_opts o = resp_default;
	stored_positive(&s);
	query_for(&q, WWW_MIXED, 17, 1);
	q.has_edns = true;
	q.edns_flags = 0x8000;
	q.opts_seen = VD_DNS_SEEN_NSID | VD_DNS_SEEN_COOKIE;
	o.nsid = (const uint8_t *)"node1";
	o.nsid_len = 5;
	o.ede = VD_DNS_EDE_STALE_ANSWER;
	o.edns_size = 1400;

	size_t n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o,
				       out, sizeof(out));
	cr_assert_eq(n, s.meta.wire_len + 11u + 9u + 6u);
	cr_assert_eq(g_u16(out, 10), 2, "ARCOUNT grew by one");
	int i = find_opt(out, n, v, 8);
	cr_assert_eq(i, 4);
	cr_assert_eq(v[i].cls, 1400);
	cr_assert_eq(v[i].ttl, 0x00008000, "ext-rcode 0, version 0, DO");
	const uint8_t want[] = { 0, 3, 0, 5, 'n', 'o', 'd', 'e', '1',
				 0, 15, 0, 2, 0, 3 };
	cr_assert_eq(v[i].rdlen, sizeof(want));
	cr_assert_arr_eq(out + v[i].rd_off, want, sizeof(want));

	/* No NSID unless the client asked. */
	q.opts_seen = 0;
	o.ede = -1;
	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o, out,
				sizeof(out));
	i = find_opt(out, n, v, 8);
	cr_assert_eq(v[i].rdlen, 0);
}

Test(write, truncates_to_max_size)
{
	struct stored s;
	struct vd_dns_query q;
	struct rr_view v[8];
	uint8_t out[2048];
	struct vd_dns_resp_opts o = resp_default;
	stored_positive(&s);
	query_for(&q, WWW_MIXED, 17, 1);

	o.max_size = (uint16_t)(s.meta.wire_len - 1);
	size_t n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o,
				       out, sizeof(out));
	cr_assert_eq(n, 12u + 21u);
	cr_assert_eq(g_u16(out, 0), 0x1234);
	cr_assert_eq(g_u16(out, 2), QR | RD | RA | TC);
	cr_assert_eq(g_u16(out, 4), 1);
	cr_assert_eq(g_u16(out, 6), 0);
	cr_assert_eq(g_u16(out, 8), 0);
	cr_assert_eq(g_u16(out, 10), 0);
	cr_assert_arr_eq(out + 12, WWW_MIXED, 17);
	cr_assert_eq(g_u16(out, 29), 1);

	/* Exactly fitting is not truncated. */
	o.max_size = s.meta.wire_len;
	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o, out,
				sizeof(out));
	cr_assert_eq(n, s.meta.wire_len);
	cr_assert_eq(g_u16(out, 2) & TC, 0);

	/* With EDNS the OPT counts, and survives truncation. */
	q.has_edns = true;
	q.edns_flags = 0x8000;
	o.ede = 0;
	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o, out,
				sizeof(out));
	cr_assert_eq(n, 12u + 21u + 17u);
	cr_assert_eq(g_u16(out, 2) & TC, TC);
	cr_assert_eq(g_u16(out, 10), 1);
	cr_assert_eq(find_opt(out, n, v, 8), 0);
	cr_assert_eq(v[0].ttl, 0x8000);

	/* cap too small for anything. */
	cr_assert_eq(vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0,
					 &o, out, 20),
		     0);
	/* cap below max_size acts as the limit. */
	o.max_size = 4096;
	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o, out,
				s.meta.wire_len);
	cr_assert_eq(g_u16(out, 2) & TC, TC);
	cr_assert_leq(n, s.meta.wire_len);
}

/* An answer that fits without its extras (EDE, NSID) is sent without
 * them rather than truncated: the client would otherwise retry over TCP
 * for the sake of an informational option. */
Test(write, drops_extras_before_truncating)
{
	struct stored s;
	struct vd_dns_query q;
	uint8_t out[2048];
	struct vd_dns_resp_opts o = resp_default;
	stored_positive(&s);
	query_for(&q, WWW_MIXED, 17, 1);
	q.has_edns = true;
	q.edns_flags = 0x8000;
	o.ede = 3;

	/* Room for the answer and a bare OPT (11 bytes), not for EDE. */
	o.max_size = (uint16_t)(s.meta.wire_len + 11);
	size_t n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o,
				       out, sizeof(out));
	cr_assert_eq(n, s.meta.wire_len + 11u, "got %zu", n);
	cr_assert_eq(g_u16(out, 2) & TC, 0, "not truncated");
	cr_assert_eq(g_u16(out, n - 2), 0, "OPT without options");

	/* With room, EDE is there. */
	o.max_size = 4096;
	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o, out,
				sizeof(out));
	cr_assert_gt(n, s.meta.wire_len + 11u);
}

Test(write, negative_answer)
{
	struct pkt p;
	struct vd_dns_query q;
	struct stored s;
	struct rr_view v[4];
	uint8_t out[1024];
	query_for(&q, "\2NX\7example\3com", 16, 1);
	negative(&p, 3, 3600, 300, true);
	cr_assert_eq(norm(&p, &q, &norm_default, &s), 0);
	size_t n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 100,
				       &resp_default, out, sizeof(out));
	cr_assert_eq(g_u16(out, 2), QR | RD | RA | 3, "AD cleared, NXDOMAIN");
	cr_assert_eq(walk(out, n, v, 4), 1);
	cr_assert_eq(v[0].ttl, 200);
	cr_assert_arr_eq(out + 12, "\2NX", 3);
}

/* ---- error ---------------------------------------------------------------- */

static void parsed_query(struct vd_dns_query *q, bool edns)
{
	struct pkt p;
	p_hdr(&p, 0xabcd, RD | CD, 1, 0, 0, edns);
	p_name(&p, "Foo.Example");
	p_u16(&p, 16);
	p_u16(&p, 1);
	if (edns)
		p_opt(&p, 4096, 0, 0, 0x8000, "\0\3\0\0", 4);
	cr_assert_eq(vd_dns_query_parse(p.b, p.len, q), VD_DNS_QUERY_OK);
}

Test(error, formerr_echoes_question)
{
	struct vd_dns_query q;
	uint8_t out[512];
	parsed_query(&q, false);
	size_t n = vd_dns_answer_error(&q, VD_DNS_RCODE_FORMERR, &resp_default,
				       out, sizeof(out));
	cr_assert_eq(n, 12u + 13u + 4u);
	cr_assert_eq(g_u16(out, 0), 0xabcd);
	cr_assert_eq(g_u16(out, 2), QR | RD | CD | RA | 1);
	cr_assert_eq(g_u16(out, 4), 1);
	cr_assert_eq(g_u16(out, 6) | g_u16(out, 8) | g_u16(out, 10), 0);
	cr_assert_arr_eq(out + 12, "\3Foo\7Example\0\0\20\0\1", 17);
}

Test(error, notimp_echoes_opcode_without_question)
{
	struct pkt p;
	struct vd_dns_query q;
	uint8_t out[512];
	p_hdr(&p, 77, 4u << 11 | 0x0400u, 1, 0, 0, 0); /* NOTIFY, AA */
	p_name(&p, "example");
	p_u16(&p, 6);
	p_u16(&p, 1);
	cr_assert_eq(vd_dns_query_parse(p.b, p.len, &q), VD_DNS_QUERY_NOTIMP);
	size_t n = vd_dns_answer_error(&q, VD_DNS_RCODE_NOTIMP, &resp_default,
				       out, sizeof(out));
	cr_assert_eq(n, 12);
	cr_assert_eq(g_u16(out, 0), 77);
	cr_assert_eq(g_u16(out, 2), QR | 4u << 11 | RA | 4, "AA not echoed");
	cr_assert_eq(g_u16(out, 4), 0);
}

Test(error, edns_nsid_ede)
{
	struct vd_dns_query q;
	struct rr_view v[2];
	uint8_t out[512];
	struct vd_dns_resp_opts o = resp_default;
	o.nsid = (const uint8_t *)"n";
	o.nsid_len = 1;
	o.ede = VD_DNS_EDE_PROHIBITED;
	parsed_query(&q, true);
	size_t n = vd_dns_answer_error(&q, VD_DNS_RCODE_REFUSED, &o, out,
				       sizeof(out));
	cr_assert_eq(n, 12u + 17u + 11u + 5u + 6u);
	cr_assert_eq(g_u16(out, 2) & 0xf, 5);
	cr_assert_eq(find_opt(out, n, v, 2), 0);
	cr_assert_eq(v[0].ttl, 0x8000);
	const uint8_t want[] = { 0, 3, 0, 1, 'n', 0, 15, 0, 2, 0, 18 };
	cr_assert_arr_eq(out + v[0].rd_off, want, sizeof(want));
}

Test(error, badvers_encoding)
{
	struct pkt p;
	struct vd_dns_query q;
	struct rr_view v[2];
	uint8_t out[512];
	p_hdr(&p, 5, RD, 1, 0, 0, 1);
	p_name(&p, "a");
	p_u16(&p, 1);
	p_u16(&p, 1);
	p_opt(&p, 1232, 0, 2, 0x8000, NULL, 0);
	cr_assert_eq(vd_dns_query_parse(p.b, p.len, &q), VD_DNS_QUERY_BADVERS);
	size_t n = vd_dns_answer_error(&q, VD_DNS_RCODE_BADVERS, &resp_default,
				       out, sizeof(out));
	cr_assert_eq(g_u16(out, 2) & 0xf, 0, "low rcode bits of 16 are 0");
	cr_assert_eq(g_u16(out, 10), 1);
	cr_assert_eq(find_opt(out, n, v, 2), 0);
	cr_assert_eq(v[0].ttl >> 24, 1, "ext-rcode 1: 1 << 4 | 0 = 16");
	cr_assert_eq((v[0].ttl >> 16) & 0xff, 0, "we speak version 0");
	cr_assert_eq(v[0].ttl & 0x8000, 0x8000, "DO echoed");
	cr_assert_eq(v[0].cls, 1232);

	/* BADVERS always carries OPT, even if has_edns got lost. */
	q.has_edns = false;
	n = vd_dns_answer_error(&q, VD_DNS_RCODE_BADVERS, &resp_default, out,
				sizeof(out));
	cr_assert_eq(find_opt(out, n, v, 2), 0);
	cr_assert_eq(v[0].ttl, 0x01000000);
}

Test(error, small_cap_and_opts_null)
{
	struct vd_dns_query q;
	uint8_t out[512];
	parsed_query(&q, false);
	cr_assert_eq(vd_dns_answer_error(&q, 2, NULL, out, 20), 0);
	cr_assert_eq(vd_dns_answer_error(&q, 2, NULL, out, 29), 29);
	cr_assert_eq(vd_dns_answer_error(NULL, 2, NULL, out, 29), 0);
}

/* The per-answer COOKIE (RFC 7873) goes after NSID and EDE, and stays when
 * those extras are dropped to fit; BADCOOKIE's upper rcode bits go in OPT. */
Test(write, cookie_kept_when_extras_go)
{
	struct stored s;
	struct vd_dns_query q;
	struct rr_view v[8];
	uint8_t out[2048];
	struct vd_dns_resp_opts o = resp_default;
	stored_positive(&s);
	query_for(&q, WWW_MIXED, 17, 1);
	q.has_edns = true;
	q.opts_seen = VD_DNS_SEEN_NSID | VD_DNS_SEEN_COOKIE;
	o.nsid = (const uint8_t *)"node1";
	o.nsid_len = 5;
	o.cookie_len = 24;
	for (int k = 0; k < 24; k++)
		o.cookie[k] = (uint8_t)(0xa0 + k);
	size_t n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o,
				       out, sizeof(out));
	cr_assert_eq(n, s.meta.wire_len + 11u + 9u + 28u);
	int i = find_opt(out, n, v, 8);
	cr_assert_eq(v[i].rdlen, 9 + 28);
	const uint8_t *c = out + v[i].rd_off + 9;
	cr_assert_eq(g_u16(c, 0), 10);
	cr_assert_eq(g_u16(c, 2), 24);
	cr_assert_arr_eq(c + 4, o.cookie, 24);

	/* Room for the answer and the cookie but not NSID: NSID goes. */
	o.max_size = (uint16_t)(s.meta.wire_len + 11u + 28u);
	n = vd_dns_answer_write(s.wire, &s.meta, s.ttl_offs, &q, 0, &o, out,
				sizeof(out));
	i = find_opt(out, n, v, 8);
	cr_assert_eq(v[i].rdlen, 28);
	cr_assert_eq(g_u16(out + v[i].rd_off, 0), 10);

	/* BADCOOKIE = 23: 7 in the header, 1 in OPT's extended rcode. */
	o.max_size = 0;
	n = vd_dns_answer_error(&q, VD_DNS_RCODE_BADCOOKIE, &o, out, sizeof(out));
	cr_assert_eq(out[3] & 0x0f, 7);
	i = find_opt(out, n, v, 8);
	cr_assert_eq(v[i].ttl >> 24, 1);
	cr_assert_eq(g_u16(out + v[i].rd_off + v[i].rdlen - 28, 0), 10);
}
