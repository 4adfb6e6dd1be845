/* Unit tests for src/dns/query.c: one test per verdict path. */
#include <criterion/criterion.h>
#include <string.h>

#include "dns/query.h"
#include "pkt.h"

#define RD 0x0100u

/* Header + question "Www.Example.com A IN". */
static void base_query(struct pkt *p, unsigned ar)
{
	p_hdr(p, 0xbeef, RD, 1, 0, 0, ar);
	p_name(p, "Www.Example.com");
	p_u16(p, 1);
	p_u16(p, 1);
}

static enum vd_dns_verdict parse(const struct pkt *p, struct vd_dns_query *q)
{
	return vd_dns_query_parse(p->b, p->len, q);
}

Test(query, plain_ok)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
	cr_assert_eq(q.id, 0xbeef);
	cr_assert_eq(q.flags, RD);
	cr_assert_eq(q.qtype, 1);
	cr_assert_eq(q.qclass, 1);
	cr_assert_eq(q.qname_len, 17);
	cr_assert_eq(q.question_len, 21);
	cr_assert_arr_eq(q.qname, "\3Www\7Example\3com", 17,
			 "qname kept exactly as received");
	cr_assert_not(q.has_edns);
	cr_assert_eq(q.opts_seen, 0);
}

Test(query, root_qname_ok)
{
	struct pkt p;
	struct vd_dns_query q;
	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	p_name(&p, ".");
	p_u16(&p, 2);
	p_u16(&p, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
	cr_assert_eq(q.qname_len, 1);
}

Test(query, edns_and_options)
{
	struct pkt p, o;
	struct vd_dns_query q;
	o.len = 0;
	p_u16(&o, 3); /* NSID, empty */
	p_u16(&o, 0);
	p_u16(&o, 10); /* COOKIE, client cookie */
	p_u16(&o, 8);
	p_bytes(&o, "\1\2\3\4\5\6\7\10", 8);
	p_u16(&o, 8); /* ECS */
	p_u16(&o, 4);
	p_bytes(&o, "\0\1\0\0", 4);
	p_u16(&o, 12); /* PADDING */
	p_u16(&o, 3);
	p_bytes(&o, "\0\0\0", 3);
	p_u16(&o, 65001); /* local/experimental */
	p_u16(&o, 1);
	p_u8(&o, 7);
	base_query(&p, 1);
	p_opt(&p, 4096, 0, 0, 0x8000, o.b, o.len);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
	cr_assert(q.has_edns);
	cr_assert_eq(q.edns_udp_size, 4096);
	cr_assert_eq(q.edns_version, 0);
	cr_assert_eq(q.edns_flags, 0x8000);
	cr_assert(vd_dns_query_do(&q));
	cr_assert_eq(q.opts_seen,
		     VD_DNS_SEEN_NSID | VD_DNS_SEEN_COOKIE | VD_DNS_SEEN_ECS |
			     VD_DNS_SEEN_PADDING | VD_DNS_SEEN_OTHER);
}

Test(query, drop_short_and_responses)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	cr_assert_eq(vd_dns_query_parse(p.b, 0, &q), VD_DNS_QUERY_DROP);
	cr_assert_eq(vd_dns_query_parse(p.b, 11, &q), VD_DNS_QUERY_DROP);
	p_set_u16(&p, 2, 0x8100);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_DROP);
	cr_assert_eq(q.id, 0xbeef);
}

Test(query, header_only_is_formerr)
{
	struct pkt p;
	struct vd_dns_query q;
	p_hdr(&p, 7, 0, 1, 0, 0, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	cr_assert_eq(q.id, 7);
	cr_assert_eq(q.qname_len, 0);
}

Test(query, opcode_not_query_is_notimp)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	p_set_u16(&p, 2, 4u << 11 | RD); /* NOTIFY */
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_NOTIMP);
	cr_assert_eq(q.id, 0xbeef);
	cr_assert_eq(q.flags, 4u << 11 | RD);
	p_set_u16(&p, 2, 5u << 11); /* UPDATE */
	p_set_u16(&p, 4, 0);        /* and a zone count of 0 */
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_NOTIMP);
}

Test(query, qdcount_0_and_2)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	p_set_u16(&p, 4, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	base_query(&p, 0);
	p_set_u16(&p, 4, 2);
	p_name(&p, "b");
	p_u16(&p, 1);
	p_u16(&p, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
}

Test(query, compressed_qname_is_formerr)
{
	struct pkt p;
	struct vd_dns_query q;
	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	p_labels(&p, "a", 0);
	p_ptr(&p, 12);
	p_u16(&p, 1);
	p_u16(&p, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	/* And a forward pointer. */
	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	p_ptr(&p, 14);
	p_name(&p, "a");
	p_u16(&p, 1);
	p_u16(&p, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
}

static void p_label_n(struct pkt *p, size_t n)
{
	p_u8(p, (unsigned)n);
	for (size_t i = 0; i < n; i++)
		p_u8(p, 'x');
}

Test(query, label_64_and_name_256)
{
	struct pkt p;
	struct vd_dns_query q;
	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	p_label_n(&p, 64);
	p_u8(&p, 0);
	p_u16(&p, 1);
	p_u16(&p, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);

	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		p_label_n(&p, 63);
	p_label_n(&p, 62);
	p_u8(&p, 0);
	p_u16(&p, 1);
	p_u16(&p, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);

	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		p_label_n(&p, 63);
	p_label_n(&p, 61);
	p_u8(&p, 0);
	p_u16(&p, 1);
	p_u16(&p, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
	cr_assert_eq(q.qname_len, 255);
}

Test(query, truncated_question)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	for (size_t cut = 12; cut < p.len; cut++) {
		cr_assert_eq(vd_dns_query_parse(p.b, cut, &q),
			     VD_DNS_QUERY_FORMERR, "cut at %zu", cut);
		cr_assert_eq(q.qname_len, 0);
	}
}

Test(query, answer_or_authority_records_formerr)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	p_set_u16(&p, 6, 1);
	p_name(&p, "www.example.com");
	p_rr(&p, 1, 1, 60, 4);
	p_u32(&p, 0x01020304);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	cr_assert_eq(q.qname_len, 17, "question is kept for the echo");
	p_set_u16(&p, 6, 0);
	p_set_u16(&p, 8, 1);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
}

Test(query, two_opts_formerr)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 2);
	p_opt(&p, 1232, 0, 0, 0, NULL, 0);
	p_opt(&p, 1232, 0, 0, 0, NULL, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
}

Test(query, opt_non_root_owner_formerr)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 1);
	p_name(&p, "x");
	p_rr(&p, 41, 1232, 0, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	/* A pointer to the qname as OPT owner is not the root either. */
	base_query(&p, 1);
	p_ptr(&p, 12);
	p_rr(&p, 41, 1232, 0, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
}

Test(query, bad_option_lengths)
{
	struct pkt p;
	struct vd_dns_query q;
	/* Option claims 10 bytes, rdata holds 4 + 2. */
	const uint8_t over[] = { 0, 3, 0, 10, 'a', 'b' };
	base_query(&p, 1);
	p_opt(&p, 1232, 0, 0, 0, over, sizeof(over));
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	/* Three stray bytes: not even an option header. */
	const uint8_t stray[] = { 0, 3, 0, 0, 0, 10, 0 };
	base_query(&p, 1);
	p_opt(&p, 1232, 0, 0, 0, stray, sizeof(stray));
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	/* OPT rdlen runs past the packet. */
	base_query(&p, 1);
	p_opt(&p, 1232, 0, 0, 0, NULL, 0);
	p_set_u16(&p, p.len - 2, 8);
	p_u16(&p, 3);
	p_u16(&p, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
}

Test(query, truncated_additional)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 1);
	size_t qend = p.len;
	p_opt(&p, 1232, 0, 0, 0, "\0\3\0\0", 4);
	for (size_t cut = qend; cut < p.len; cut++)
		cr_assert_eq(vd_dns_query_parse(p.b, cut, &q),
			     VD_DNS_QUERY_FORMERR, "cut at %zu", cut);
	/* ARCOUNT larger than what is there. */
	base_query(&p, 2);
	p_opt(&p, 1232, 0, 0, 0, NULL, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
}

Test(query, tsig_is_skipped)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 2);
	p_opt(&p, 1232, 0, 0, 0, NULL, 0);
	p_name(&p, "key.example");
	p_rr(&p, 250, 255, 0, 5);
	p_bytes(&p, "abcde", 5);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
	cr_assert(q.has_edns);
}

Test(query, trailing_garbage_ignored)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	p_bytes(&p, "\xff\xff\xff", 3);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
}

Test(query, classes)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 0);
	p_set_u16(&p, p.len - 2, 3); /* CH */
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_REFUSED);
	cr_assert_eq(q.qclass, 3);
	p_set_u16(&p, p.len - 2, 4660); /* unknown */
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_REFUSED);
	p_set_u16(&p, p.len - 2, 255); /* ANY */
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_REFUSED);
}

Test(query, meta_qtypes)
{
	struct pkt p;
	struct vd_dns_query q;
	const struct {
		unsigned type;
		enum vd_dns_verdict v;
	} cases[] = {
		{ 252, VD_DNS_QUERY_REFUSED }, { 251, VD_DNS_QUERY_REFUSED },
		{ 253, VD_DNS_QUERY_NOTIMP },  { 254, VD_DNS_QUERY_NOTIMP },
		{ 255, VD_DNS_QUERY_OK },      { 28, VD_DNS_QUERY_OK },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base_query(&p, 0);
		p_set_u16(&p, p.len - 4, cases[i].type);
		cr_assert_eq(parse(&p, &q), cases[i].v, "qtype %u",
			     cases[i].type);
	}
}

Test(query, badvers_only_after_valid_parse)
{
	struct pkt p;
	struct vd_dns_query q;
	base_query(&p, 1);
	p_opt(&p, 1232, 0, 1, 0x8000, NULL, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_BADVERS);
	cr_assert_eq(q.edns_version, 1);
	cr_assert(q.has_edns);
	/* Version 1 and a broken option: FORMERR wins. */
	base_query(&p, 1);
	p_opt(&p, 1232, 0, 1, 0, "\0\3\0\7", 4);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_FORMERR);
	/* Version 1 and class CH: BADVERS comes first. */
	base_query(&p, 1);
	p_set_u16(&p, p.len - 2, 3);
	p_opt(&p, 1232, 0, 1, 0, NULL, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_BADVERS);
}

Test(query, key_lowercases_and_carries_do_cd)
{
	struct pkt p;
	struct vd_dns_query q, q2;
	uint8_t k1[VD_DNS_KEY_MAX], k2[VD_DNS_KEY_MAX];
	base_query(&p, 0);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
	size_t n = vd_dns_query_key(&q, k1);
	cr_assert_eq(n, VD_DNS_KEY_HDR + 17);
	const uint8_t want[] = "\0\0\1\0\1\3www\7example\3com";
	cr_assert_arr_eq(k1, want, VD_DNS_KEY_HDR + 17);

	/* DO via EDNS and CD in the header change the key. */
	base_query(&p, 1);
	p_set_u16(&p, 2, RD | 0x0010);
	p_opt(&p, 1232, 0, 0, 0x8000, NULL, 0);
	cr_assert_eq(parse(&p, &q2), VD_DNS_QUERY_OK);
	cr_assert_eq(vd_dns_query_key(&q2, k2), n);
	cr_assert_eq(k2[0], VD_DNS_KEY_F_DO | VD_DNS_KEY_F_CD);
	cr_assert_arr_eq(k1 + 1, k2 + 1, n - 1);

	/* Different case only: same key. */
	base_query(&p, 0);
	p.b[13] = 'W';
	p.b[14] = 'W';
	p.b[18] = 'X';
	cr_assert_eq(parse(&p, &q2), VD_DNS_QUERY_OK);
	vd_dns_query_key(&q2, k2);
	cr_assert_arr_eq(k1, k2, n);

	/* EDNS without DO: flag byte 0. */
	base_query(&p, 1);
	p_opt(&p, 1232, 0, 0, 0, NULL, 0);
	cr_assert_eq(parse(&p, &q2), VD_DNS_QUERY_OK);
	vd_dns_query_key(&q2, k2);
	cr_assert_eq(k2[0], 0);
}

/* RFC 7873 5.2.2: a COOKIE of 8 or 16..40 bytes is kept for the answer;
 * any other length is FORMERR; only the first COOKIE counts (5.2). */
Test(query, cookie_lengths_and_first_wins)
{
	const size_t lens[] = {0, 1, 7, 8, 9, 15, 16, 24, 40, 41};
	const bool ok[] = {false, false, false, true, false,
			   false, true, true, true, false};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct pkt p, o;
		struct vd_dns_query q;
		uint8_t c[41];
		for (size_t k = 0; k < sizeof(c); k++)
			c[k] = (uint8_t)(k + 1);
		o.len = 0;
		p_u16(&o, 10);
		p_u16(&o, (uint16_t)lens[i]);
		p_bytes(&o, c, lens[i]);
		base_query(&p, 1);
		p_opt(&p, 1232, 0, 0, 0, o.b, o.len);
		enum vd_dns_verdict v = parse(&p, &q);
		if (!ok[i]) {
			cr_assert_eq(v, VD_DNS_QUERY_FORMERR, "%zu bytes", lens[i]);
			continue;
		}
		cr_assert_eq(v, VD_DNS_QUERY_OK, "%zu bytes", lens[i]);
		cr_assert_eq(q.cookie_len, lens[i]);
		cr_assert_eq(memcmp(q.cookie, c, lens[i]), 0);
	}
	struct pkt p, o;
	struct vd_dns_query q;
	o.len = 0;
	p_u16(&o, 10);
	p_u16(&o, 8);
	p_bytes(&o, "AAAAAAAA", 8);
	p_u16(&o, 10);
	p_u16(&o, 3); /* a second, malformed one: ignored */
	p_bytes(&o, "BBB", 3);
	base_query(&p, 1);
	p_opt(&p, 1232, 0, 0, 0, o.b, o.len);
	cr_assert_eq(parse(&p, &q), VD_DNS_QUERY_OK);
	cr_assert_eq(q.cookie_len, 8);
	cr_assert_eq(memcmp(q.cookie, "AAAAAAAA", 8), 0);
}
