/*
 * Fuzz target for the answer path (src/dns/answer.c): the input plays a
 * libunbound response.  A query is derived from its question (or a fixed
 * one), the response is normalised with and without DNSSEC stripping,
 * and every stored form is written back out under several size limits
 * and ages.  Whatever comes out must be a well-formed message that fits.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/compiler.h"
#include "dns/answer.h"
#include "dns/query.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t stored[VD_DNS_MSG_MAX];
static uint8_t out[VD_DNS_MSG_MAX];
static uint16_t ttl_offs[VD_DNS_ANSWER_MAX_RRS];

/* The question of the input, as the query we asked; false if there is
 * none to take. */
static bool derive_query(const uint8_t *data, size_t size,
			 struct vd_dns_query *q)
{
	struct vd_wire w;
	uint8_t name[VD_DNS_NAME_MAX];

	memset(q, 0, sizeof(*q));
	vd_wire_init(&w, data, size);
	vd_wire_skip(&w, VD_DNS_HEADER_LEN);
	int n = vd_dns_name_unpack(&w, name, true);
	q->qtype = vd_wire_u16(&w);
	q->qclass = vd_wire_u16(&w);
	if (n < 0 || w.err)
		return false;
	memcpy(q->qname, name, (size_t)n);
	q->qname_len = (uint8_t)n;
	q->question_len = (uint16_t)(n + 4);
	return true;
}

static void check_stored(const struct vd_dns_query *q,
			 const struct vd_dns_norm_opts *no,
			 const struct vd_dns_answer_meta *meta)
{
	struct fuzz_msg m;
	uint8_t lower[VD_DNS_NAME_MAX];

	FUZZ_CHECK(fuzz_check_msg(stored, meta->wire_len, &m));
	FUZZ_CHECK(m.id == 0 && m.qd == 1 && m.opts == 0);
	FUZZ_CHECK(m.flags & VD_DNS_F_QR);
	FUZZ_CHECK(!(m.flags & VD_DNS_F_TC));
	FUZZ_CHECK(!!(m.flags & VD_DNS_F_AD) == no->secure);
	FUZZ_CHECK((m.flags & VD_DNS_F_RCODE_MASK) == meta->rcode);
	FUZZ_CHECK(meta->qname_len == q->qname_len);
	vd_dns_name_lower(lower, q->qname, q->qname_len);
	FUZZ_CHECK(memcmp(stored + VD_DNS_HEADER_LEN, lower,
			  q->qname_len) == 0);
	FUZZ_CHECK(m.qtype == q->qtype && m.qclass == q->qclass);
	FUZZ_CHECK(meta->n_ttls == m.n_rr);
	FUZZ_CHECK(meta->n_ttls <= VD_DNS_ANSWER_MAX_RRS);
	for (unsigned i = 0; i < m.n_rr; i++) {
		FUZZ_CHECK(ttl_offs[i] == m.ttl_off[i]);
		uint32_t t = vd_get_u32(stored + ttl_offs[i]);
		FUZZ_CHECK(t <= no->max_ttl);
		if (meta->kind == VD_DNS_ANSWER_POSITIVE)
			FUZZ_CHECK(t >= VD_MIN(no->min_ttl, no->max_ttl));
	}
	FUZZ_CHECK(meta->kind <= VD_DNS_ANSWER_OTHER);
	if (meta->kind == VD_DNS_ANSWER_NXDOMAIN ||
	    meta->kind == VD_DNS_ANSWER_NODATA)
		FUZZ_CHECK(meta->ttl <= no->max_neg_ttl);
	else
		FUZZ_CHECK(meta->ttl <= VD_MAX(no->max_ttl, no->servfail_ttl));
	if (meta->kind == VD_DNS_ANSWER_NODATA)
		FUZZ_CHECK(meta->rcode == 0);
}

static void check_written(const struct vd_dns_query *q,
			  const struct vd_dns_answer_meta *meta,
			  const struct vd_dns_resp_opts *ro, size_t n)
{
	struct fuzz_msg m;

	FUZZ_CHECK(n <= ro->max_size);
	if (n == 0)
		return;
	FUZZ_CHECK(fuzz_check_msg(out, n, &m));
	FUZZ_CHECK(m.id == q->id && m.qd == 1);
	FUZZ_CHECK(m.qname_len == q->qname_len &&
		   memcmp(m.qname, q->qname, q->qname_len) == 0);
	FUZZ_CHECK((m.flags & VD_DNS_F_RD) == (q->flags & VD_DNS_F_RD));
	FUZZ_CHECK((m.flags & VD_DNS_F_CD) == (q->flags & VD_DNS_F_CD));
	FUZZ_CHECK(m.opts == (q->has_edns ? 1 : 0));
	if (m.opts)
		FUZZ_CHECK((m.opt_ttl & VD_DNS_EDNS_DO) ==
			   (vd_dns_query_do(q) ? VD_DNS_EDNS_DO : 0));
	if (m.flags & VD_DNS_F_TC)
		FUZZ_CHECK(m.an == 0 && m.ns == 0 && m.n_rr == 0);
	else
		FUZZ_CHECK(m.n_rr == meta->n_ttls);
}

static bool name_rdata_type(uint16_t t)
{
	/* The types whose rdata names the rewrite re-encodes. */
	return t == VD_DNS_T_NS || (t >= 3 && t <= 9) || t == VD_DNS_T_PTR ||
	       t == 14 || t == VD_DNS_T_MX;
}

/*
 * Without stripping, the stored answer must hold the same records as the
 * input minus OPT, in order: same owner (ignoring case), type, class, and
 * byte-identical rdata for every type copied verbatim.
 */
static void check_same_records(const uint8_t *in, size_t len,
			       const struct vd_dns_answer_meta *meta)
{
	struct vd_wire a, b;
	uint8_t na[VD_DNS_NAME_MAX], nb[VD_DNS_NAME_MAX];

	vd_wire_init(&a, in, len);
	vd_wire_init(&b, stored, meta->wire_len);
	vd_wire_skip(&a, 6);
	vd_wire_skip(&b, 6);
	unsigned total = 0;
	for (int s = 0; s < 3; s++)
		total += vd_wire_u16(&a);
	vd_wire_skip(&b, 6);
	FUZZ_CHECK(vd_dns_name_unpack(&a, na, true) > 0);
	FUZZ_CHECK(vd_dns_name_unpack(&b, nb, true) > 0);
	vd_wire_skip(&a, 4);
	vd_wire_skip(&b, 4);
	unsigned seen = 0;
	for (unsigned i = 0; i < total; i++) {
		int la = vd_dns_name_unpack(&a, na, true);
		uint16_t ta = vd_wire_u16(&a), ca = vd_wire_u16(&a);
		vd_wire_skip(&a, 4);
		uint16_t ra = vd_wire_u16(&a);
		size_t rd_a = a.pos;
		vd_wire_skip(&a, ra);
		FUZZ_CHECK(la > 0 && !a.err);
		if (ta == VD_DNS_T_OPT)
			continue;
		int lb = vd_dns_name_unpack(&b, nb, true);
		uint16_t tb = vd_wire_u16(&b), cb = vd_wire_u16(&b);
		vd_wire_skip(&b, 4);
		uint16_t rb = vd_wire_u16(&b);
		size_t rd_b = b.pos;
		vd_wire_skip(&b, rb);
		FUZZ_CHECK(lb > 0 && !b.err);
		FUZZ_CHECK(vd_dns_name_eq(na, (size_t)la, nb, (size_t)lb));
		FUZZ_CHECK(ta == tb && ca == cb);
		if (!name_rdata_type(ta) && ta != VD_DNS_T_SOA)
			FUZZ_CHECK(ra == rb &&
				   memcmp(in + rd_a, stored + rd_b, ra) == 0);
		seen++;
	}
	FUZZ_CHECK(seen == meta->n_ttls);
	FUZZ_CHECK(b.pos == meta->wire_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_dns_query q, client;
	struct vd_dns_answer_meta meta;
	static const uint8_t nsid[] = "node-7";
	static const uint16_t sizes[] = { 0, 12, 40, 512, 1232, 65535 };
	static const uint32_t ages[] = { 0, 7, 0xffffffffu };

	if (!derive_query(data, size, &q)) {
		/* Nothing to derive: still feed the bytes to a fixed
		 * question, which must then be refused cleanly. */
		memset(&q, 0, sizeof(q));
		memcpy(q.qname, "\7example\3com", 13);
		q.qname_len = 13;
		q.question_len = 17;
		q.qtype = VD_DNS_T_A;
		q.qclass = VD_DNS_C_IN;
	}
	/* The client: same name in another case, header bits and EDNS
	 * picked from the input so they vary with it. */
	uint8_t salt = size ? data[size - 1] : 0;
	client = q;
	for (size_t i = 0; i < client.qname_len; i++)
		if ((salt ^ i) & 1 && client.qname[i] >= 'a' &&
		    client.qname[i] <= 'z')
			client.qname[i] = (uint8_t)(client.qname[i] - 32);
	client.id = (uint16_t)(salt * 257u);
	client.flags = (salt & 2 ? VD_DNS_F_RD : 0) |
		       (salt & 4 ? VD_DNS_F_CD : 0) |
		       (salt & 8 ? VD_DNS_F_AD : 0);
	client.has_edns = salt & 16;
	client.edns_flags = salt & 32 ? VD_DNS_EDNS_DO : 0;
	client.edns_udp_size = 1232;
	client.opts_seen = salt & 64 ? VD_DNS_SEEN_NSID : 0;

	for (int strip = 0; strip < 2; strip++) {
		struct vd_dns_norm_opts no = {
			.strip_dnssec = strip,
			.secure = salt & 128,
			.min_ttl = strip ? 30 : 0,
			.max_ttl = 86400,
			.max_neg_ttl = 900,
			.servfail_ttl = 5,
		};
		int rc = vd_dns_answer_normalise(data, size, &q, &no, stored,
						 sizeof(stored), ttl_offs,
						 VD_DNS_ANSWER_MAX_RRS, &meta);
		FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOSPC);
		if (rc != 0)
			continue;
		check_stored(&q, &no, &meta);
		if (!strip)
			check_same_records(data, size, &meta);
		for (size_t s = 0; s < VD_ARRAY_SIZE(sizes); s++) {
			for (size_t a = 0; a < VD_ARRAY_SIZE(ages); a++) {
				struct vd_dns_resp_opts ro = {
					.max_size = sizes[s],
					.edns_size = 1232,
					.nsid = salt & 1 ? nsid : NULL,
					.nsid_len = 6,
					.ede = a == 1 ? VD_DNS_EDE_STALE_ANSWER
						      : -1,
					.ttl_override = a == 2 ? 30 : 0,
				};
				size_t n = vd_dns_answer_write(
					stored, &meta, ttl_offs, &client,
					ages[a], &ro, out, sizeof(out));
				check_written(&client, &meta, &ro, n);
				if (sizes[s] >= VD_DNS_UDP_MIN)
					FUZZ_CHECK(n > 0);
			}
		}
	}
	return 0;
}
