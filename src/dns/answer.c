/*
 * Answers: the once-per-recursion rewrite into the stored form, the
 * per-hit rewrite into a client's answer, and made-up error answers.
 */
#include <errno.h>
#include <string.h>

#include "core/compiler.h"
#include "dns/answer.h"
#include "dns/name_wire.h"
#include "dns/wire.h"

/* ---- name compression for the stored form ---------------------------- */

/* Offsets of label starts already written, usable as pointer targets.
 * Full means we stop compressing new suffixes, never that we fail. */
#define COMP_MAX 256

struct comp {
	unsigned n;
	uint16_t off[COMP_MAX];
	uint8_t rem[COMP_MAX]; /* wire length of the name from that label */
};

static bool bytes_eq_nocase(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (vd_dns_lower_byte(a[i]) != vd_dns_lower_byte(b[i]))
			return false;
	return true;
}

/*
 * Does the name at off in our own output equal name?  Our output only
 * holds pointers we wrote (always backwards), but the walk is bounded
 * anyway rather than trusting that.
 */
static bool out_name_eq(const uint8_t *buf, size_t buf_len, size_t off,
			const uint8_t *name, size_t len)
{
	size_t i = 0;

	for (unsigned steps = 0; steps < VD_DNS_NAME_MAX && off < buf_len;
	     steps++) {
		uint8_t c = buf[off];
		if ((c & 0xc0) == 0xc0) {
			if (buf_len - off < 2)
				return false;
			size_t t = (size_t)(c & 0x3f) << 8 | buf[off + 1];
			if (t >= off)
				return false;
			off = t;
			continue;
		}
		if (i >= len || name[i] != c)
			return false;
		if (c == 0)
			return i + 1 == len;
		if (c > len - i - 1 || c > buf_len - off - 1)
			return false;
		if (!bytes_eq_nocase(buf + off + 1, name + i + 1, c))
			return false;
		i += 1u + c;
		off += 1u + c;
	}
	return false;
}

/*
 * Writes an uncompressed wire name, replacing its longest suffix already
 * in the output with a pointer.  Matching is case-insensitive: the
 * question's case, which the client chose, then shows in the owner names
 * that point at it, as 0x20-checking clients expect.
 */
static void put_name(struct vd_wbuf *b, struct comp *cd, const uint8_t *name,
		     size_t len)
{
	size_t pos;
	int match = -1;

	for (pos = 0; name[pos] != 0; pos += 1u + name[pos]) {
		size_t rem = len - pos;
		for (unsigned j = 0; j < cd->n; j++) {
			if (cd->rem[j] == rem &&
			    out_name_eq(b->base, b->pos, cd->off[j], name + pos,
					rem)) {
				match = (int)j;
				goto found;
			}
		}
	}
found:
	for (size_t p = 0; p < pos; p += 1u + name[p]) {
		if (!b->err && b->pos <= 0x3fff && cd->n < COMP_MAX) {
			cd->off[cd->n] = (uint16_t)b->pos;
			cd->rem[cd->n] = (uint8_t)(len - p);
			cd->n++;
		}
		vd_wbuf_bytes(b, name + p, 1u + name[p]);
	}
	if (match >= 0)
		vd_wbuf_u16(b, (uint16_t)(0xc000u | cd->off[match]));
	else
		vd_wbuf_u8(b, 0);
}

/* ---- normalise ------------------------------------------------------- */

/* Copies (and re-compresses) one name from rdata. */
static int copy_rdata_name(struct vd_wire *r, struct vd_wbuf *b,
			   struct comp *cd)
{
	uint8_t name[VD_DNS_NAME_MAX];
	int n = vd_dns_name_unpack(r, name, true);
	if (n < 0)
		return n;
	put_name(b, cd, name, (size_t)n);
	return 0;
}

/*
 * Rewrites the rdata of one RR.  r spans the packet up to the end of
 * this rdata, positioned at its start, so names inside may still point
 * back into the packet but nothing can be read past the rdata.
 *
 * Only the RFC 1035 types that RFC 3597 section 4 lets a sender compress
 * have their names decompressed and re-encoded (we re-compress them, as
 * permitted).  Every other type is copied verbatim: it must not hold
 * pointers (RFC 3597), and libunbound never writes any there; SRV targets
 * and DNAME thus stay uncompressed as RFC 2782 and 6672 want.
 */
static int copy_rdata(struct vd_wire *r, size_t rd_end, uint16_t type,
		      struct vd_wbuf *b, struct comp *cd, uint32_t *soa_min)
{
	int rc = 0;

	switch (type) {
	case VD_DNS_T_NS:
	case 3: /* MD */
	case 4: /* MF */
	case VD_DNS_T_CNAME:
	case 7: /* MB */
	case 8: /* MG */
	case 9: /* MR */
	case VD_DNS_T_PTR:
		rc = copy_rdata_name(r, b, cd);
		break;
	case 14: /* MINFO */
		rc = copy_rdata_name(r, b, cd);
		if (rc == 0)
			rc = copy_rdata_name(r, b, cd);
		break;
	case VD_DNS_T_MX:
		vd_wbuf_u16(b, vd_wire_u16(r));
		rc = copy_rdata_name(r, b, cd);
		break;
	case VD_DNS_T_SOA:
		rc = copy_rdata_name(r, b, cd);
		if (rc == 0)
			rc = copy_rdata_name(r, b, cd);
		/* serial, refresh, retry, expire, minimum */
		for (int i = 0; i < 5 && rc == 0; i++) {
			uint32_t v = vd_wire_u32(r);
			vd_wbuf_u32(b, v);
			*soa_min = v;
		}
		break;
	default:
		if (vd_wire_need(r, rd_end - r->pos) == 0) {
			vd_wbuf_bytes(b, r->base + r->pos, rd_end - r->pos);
			r->pos = rd_end;
		}
		break;
	}
	if (rc != 0 || r->err || r->pos != rd_end)
		return -EBADMSG;
	return 0;
}

/* Should this record go when the client did not ask for DNSSEC (RFC 4035
 * 3.2.1)?  Records the question asked for always stay. */
static bool strip_rr(uint16_t type, unsigned sec, uint16_t qtype)
{
	switch (type) {
	case VD_DNS_T_RRSIG:
		return qtype != VD_DNS_T_RRSIG && qtype != VD_DNS_T_ANY;
	case VD_DNS_T_NSEC:
		return qtype != VD_DNS_T_NSEC;
	case VD_DNS_T_NSEC3:
		return qtype != VD_DNS_T_NSEC3;
	case VD_DNS_T_DS:
		/* DS in a referral's authority section is proof material. */
		return sec == 1 && qtype != VD_DNS_T_DS;
	default:
		return false;
	}
}

static uint32_t clamp_ttl(uint32_t ttl, uint32_t max_ttl)
{
	/* RFC 2181 8: a TTL with the top bit set is read as zero. */
	if (ttl > 0x7fffffffu)
		ttl = 0;
	return ttl > max_ttl ? max_ttl : ttl;
}

int vd_dns_answer_normalise(const uint8_t *in, size_t len,
			    const struct vd_dns_query *q,
			    const struct vd_dns_norm_opts *opts, uint8_t *out,
			    size_t cap, uint16_t *ttl_offs, size_t max_ttls,
			    struct vd_dns_answer_meta *meta)
{
	struct vd_wire w;
	struct vd_wbuf b;
	struct comp cd;
	uint8_t name[VD_DNS_NAME_MAX];
	uint16_t count[3];
	uint16_t out_count[3] = { 0, 0, 0 };
	size_t n_ttls = 0;
	bool answered = false;
	bool have_soa = false;
	uint32_t soa_ttl = 0, soa_min = 0;
	size_t soa_ttl_off = 0;
	int rc = -EBADMSG;

	memset(meta, 0, sizeof(*meta));
	cd.n = 0;
	if (cap > VD_DNS_MSG_MAX)
		cap = VD_DNS_MSG_MAX; /* offsets and wire_len are 16-bit */
	if (max_ttls > VD_DNS_ANSWER_MAX_RRS)
		max_ttls = VD_DNS_ANSWER_MAX_RRS;
	if (vd_fails_assert(q->qname_len > 0 && vd_dns_name_valid(
						     q->qname, q->qname_len)))
		return -EINVAL;

	vd_wire_init(&w, in, len);
	vd_wire_skip(&w, 2); /* the ID means nothing once stored */
	uint16_t flags = vd_wire_u16(&w);
	uint16_t qdcount = vd_wire_u16(&w);
	for (unsigned s = 0; s < 3; s++)
		count[s] = vd_wire_u16(&w);
	if (w.err || !(flags & VD_DNS_F_QR) ||
	    (flags & VD_DNS_F_OPCODE_MASK) != 0 || qdcount != 1)
		goto out;

	int n = vd_dns_name_unpack(&w, name, true);
	uint16_t qtype = vd_wire_u16(&w);
	uint16_t qclass = vd_wire_u16(&w);
	if (n < 0 || w.err ||
	    !vd_dns_name_eq(name, (size_t)n, q->qname, q->qname_len) ||
	    qtype != q->qtype || qclass != q->qclass)
		goto out;

	vd_wbuf_init(&b, out, cap);
	vd_wbuf_bytes(&b, (const uint8_t[VD_DNS_HEADER_LEN]){ 0 },
		      VD_DNS_HEADER_LEN);
	vd_dns_name_lower(name, q->qname, q->qname_len);
	put_name(&b, &cd, name, q->qname_len);
	vd_wbuf_u16(&b, qtype);
	vd_wbuf_u16(&b, qclass);

	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < count[s]; i++) {
			n = vd_dns_name_unpack(&w, name, true);
			uint16_t type = vd_wire_u16(&w);
			uint16_t rclass = vd_wire_u16(&w);
			uint32_t ttl = vd_wire_u32(&w);
			uint16_t rdlen = vd_wire_u16(&w);
			if (n < 0 || vd_wire_need(&w, rdlen))
				goto out;
			size_t rd_end = w.pos + rdlen;
			if (type == VD_DNS_T_OPT) {
				/* OPT belongs to the hop, not the answer;
				 * outside the additional section it is a
				 * broken message. */
				if (s != 2)
					goto out;
				w.pos = rd_end;
				continue;
			}
			if (opts->strip_dnssec && strip_rr(type, s, q->qtype)) {
				w.pos = rd_end;
				continue;
			}
			if (n_ttls >= max_ttls) {
				rc = -ENOSPC;
				goto out;
			}
			put_name(&b, &cd, name, (size_t)n);
			vd_wbuf_u16(&b, type);
			vd_wbuf_u16(&b, rclass);
			ttl = clamp_ttl(ttl, opts->max_ttl);
			ttl_offs[n_ttls++] = (uint16_t)b.pos;
			vd_wbuf_u32(&b, ttl);
			size_t rdlen_off = b.pos;
			vd_wbuf_u16(&b, 0);

			struct vd_wire r = w;
			r.len = rd_end;
			uint32_t minimum = 0;
			if (copy_rdata(&r, rd_end, type, &b, &cd, &minimum))
				goto out;
			w.pos = rd_end;
			if (!b.err)
				vd_put_u16(out + rdlen_off,
					   (uint16_t)(b.pos - rdlen_off - 2));
			out_count[s]++;

			if (s == 0 && (type == q->qtype ||
				       type == VD_DNS_T_CNAME ||
				       type == VD_DNS_T_DNAME ||
				       q->qtype == VD_DNS_T_ANY))
				answered = true;
			if (s == 1 && type == VD_DNS_T_SOA && !have_soa) {
				have_soa = true;
				soa_ttl = ttl;
				soa_min = minimum;
				soa_ttl_off = ttl_offs[n_ttls - 1];
			}
		}
	}
	/* Bytes after the last RR are ignored: they cannot be part of any
	 * record the counts announced. */
	if (b.err) {
		rc = -ENOSPC;
		goto out;
	}

	unsigned rcode = flags & VD_DNS_F_RCODE_MASK;
	size_t n_main = (size_t)out_count[0] + out_count[1];
	uint32_t life;
	enum vd_dns_answer_kind kind;
	if (rcode == VD_DNS_RCODE_NXDOMAIN)
		kind = VD_DNS_ANSWER_NXDOMAIN;
	else if (rcode == VD_DNS_RCODE_NOERROR)
		kind = answered ? VD_DNS_ANSWER_POSITIVE : VD_DNS_ANSWER_NODATA;
	else if (rcode == VD_DNS_RCODE_SERVFAIL)
		kind = VD_DNS_ANSWER_SERVFAIL;
	else
		kind = VD_DNS_ANSWER_OTHER;

	switch (kind) {
	case VD_DNS_ANSWER_POSITIVE:
		life = UINT32_MAX;
		for (size_t i = 0; i < n_ttls; i++) {
			uint32_t t = vd_get_u32(out + ttl_offs[i]);
			t = VD_MIN(VD_MAX(t, opts->min_ttl), opts->max_ttl);
			vd_put_u32(out + ttl_offs[i], t);
			if (i < n_main)
				life = VD_MIN(life, t);
		}
		if (n_main == 0)
			life = opts->servfail_ttl;
		if (have_soa) {
			/* A CNAME chain ending in no data (RFC 2308 5): the
			 * negative part lives by the SOA rules, not longer. */
			uint32_t neg = VD_MIN(VD_MIN(soa_ttl, soa_min),
					      opts->max_neg_ttl);
			vd_put_u32(out + soa_ttl_off, neg);
			life = VD_MIN(life, neg);
		}
		break;
	case VD_DNS_ANSWER_NXDOMAIN:
	case VD_DNS_ANSWER_NODATA:
		if (have_soa) {
			/* RFC 2308 5: the lesser of the SOA's TTL and its
			 * MINIMUM field; the stored SOA counts down from
			 * that too, so clients see the same lifetime. */
			life = VD_MIN(VD_MIN(soa_ttl, soa_min),
				      opts->max_neg_ttl);
			vd_put_u32(out + soa_ttl_off, life);
		} else {
			/* RFC 2308 5 says a negative answer without SOA
			 * should not be cached; keeping it as briefly as a
			 * SERVFAIL still absorbs a burst of repeats. */
			life = VD_MIN(opts->servfail_ttl, opts->max_neg_ttl);
		}
		break;
	default:
		life = opts->servfail_ttl;
		break;
	}

	uint16_t hflags = VD_DNS_F_QR | VD_DNS_F_RD | VD_DNS_F_RA |
			  (uint16_t)rcode;
	if (opts->secure)
		hflags |= VD_DNS_F_AD;
	vd_put_u16(out, 0);
	vd_put_u16(out + 2, hflags);
	vd_put_u16(out + 4, 1);
	vd_put_u16(out + 6, out_count[0]);
	vd_put_u16(out + 8, out_count[1]);
	vd_put_u16(out + 10, out_count[2]);

	meta->wire_len = (uint16_t)b.pos;
	meta->n_ttls = (uint16_t)n_ttls;
	meta->qname_len = q->qname_len;
	meta->kind = (uint8_t)kind;
	meta->rcode = (uint8_t)rcode;
	meta->secure = opts->secure;
	meta->ttl = life;
	rc = 0;
out:
	return rc;
}

/* ---- client answers --------------------------------------------------- */

struct opt_plan {
	bool nsid;
	bool ede;
	bool cookie;
	bool pad;
	uint16_t pad_len; /* bytes of zeros in the PADDING option */
};

static size_t opt_len(const struct vd_dns_resp_opts *opts,
		      const struct opt_plan *p)
{
	size_t n = 11;
	if (p->nsid)
		n += 4u + opts->nsid_len;
	if (p->ede)
		n += 6;
	if (p->cookie)
		n += 4u + opts->cookie_len;
	if (p->pad)
		n += 4u + p->pad_len;
	return n;
}

static void plan_opt(const struct vd_dns_query *q,
		     const struct vd_dns_resp_opts *opts, struct opt_plan *p)
{
	p->nsid = opts && opts->nsid && (q->opts_seen & VD_DNS_SEEN_NSID);
	p->ede = opts && opts->ede >= 0 && opts->ede <= 0xffff;
	p->cookie = opts && opts->cookie_len &&
		    opts->cookie_len <= sizeof(opts->cookie);
	p->pad = false;
	p->pad_len = 0;
}

/* Sizes the PADDING option so a reply of body bytes plus OPT reaches a
 * multiple of the block, or limit when the next multiple is past it. */
static void plan_pad(const struct vd_dns_resp_opts *opts, struct opt_plan *p,
		     size_t body, size_t limit)
{
	p->pad = false;
	p->pad_len = 0;
	if (!opts || !opts->pad_block)
		return;
	size_t base = body + opt_len(opts, p) + 4;
	if (base > limit)
		return;
	size_t target = (base + opts->pad_block - 1) / opts->pad_block *
			opts->pad_block;
	if (target > limit)
		target = limit;
	p->pad = true;
	p->pad_len = (uint16_t)(target - base);
}

static void put_opt(struct vd_wbuf *b, const struct vd_dns_query *q,
		    const struct vd_dns_resp_opts *opts,
		    const struct opt_plan *p, uint8_t ext_rcode)
{
	uint16_t size = opts ? opts->edns_size : VD_DNS_EDNS_DEFAULT;

	vd_wbuf_u8(b, 0); /* owner: root */
	vd_wbuf_u16(b, VD_DNS_T_OPT);
	vd_wbuf_u16(b, size < VD_DNS_UDP_MIN ? VD_DNS_UDP_MIN : size);
	vd_wbuf_u8(b, ext_rcode);
	vd_wbuf_u8(b, 0); /* version */
	vd_wbuf_u16(b, vd_dns_query_do(q) ? VD_DNS_EDNS_DO : 0);
	vd_wbuf_u16(b, (uint16_t)(opt_len(opts, p) - 11));
	if (p->nsid) {
		vd_wbuf_u16(b, VD_DNS_OPT_NSID);
		vd_wbuf_u16(b, opts->nsid_len);
		vd_wbuf_bytes(b, opts->nsid, opts->nsid_len);
	}
	if (p->ede) {
		vd_wbuf_u16(b, VD_DNS_OPT_EDE);
		vd_wbuf_u16(b, 2);
		vd_wbuf_u16(b, (uint16_t)opts->ede);
	}
	if (p->cookie) {
		vd_wbuf_u16(b, VD_DNS_OPT_COOKIE);
		vd_wbuf_u16(b, opts->cookie_len);
		vd_wbuf_bytes(b, opts->cookie, opts->cookie_len);
	}
	if (p->pad) {
		vd_wbuf_u16(b, VD_DNS_OPT_PADDING);
		vd_wbuf_u16(b, p->pad_len);
		for (uint16_t i = 0; i < p->pad_len; i++)
			vd_wbuf_u8(b, 0);
	}
}

static void put_header(struct vd_wbuf *b, uint16_t id, uint16_t flags,
		       uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar)
{
	vd_wbuf_u16(b, id);
	vd_wbuf_u16(b, flags);
	vd_wbuf_u16(b, qd);
	vd_wbuf_u16(b, an);
	vd_wbuf_u16(b, ns);
	vd_wbuf_u16(b, ar);
}

size_t vd_dns_answer_write(const uint8_t *stored,
			   const struct vd_dns_answer_meta *meta,
			   const uint16_t *ttl_offs,
			   const struct vd_dns_query *q, uint32_t elapsed,
			   const struct vd_dns_resp_opts *opts, uint8_t *out,
			   size_t cap)
{
	size_t qend = VD_DNS_HEADER_LEN + (size_t)meta->qname_len + 4;
	size_t limit = VD_MIN(cap, (size_t)opts->max_size);
	struct opt_plan plan;
	struct vd_wbuf b;

	if (vd_fails_assert(meta->wire_len >= qend &&
			    meta->qname_len == q->qname_len))
		return 0;
	plan_opt(q, opts, &plan);
	size_t olen = q->has_edns ? opt_len(opts, &plan) : 0;

	uint16_t flags = vd_get_u16(stored + 2);
	flags &= (uint16_t) ~(VD_DNS_F_RD | VD_DNS_F_CD | VD_DNS_F_TC);
	flags |= q->flags & (VD_DNS_F_RD | VD_DNS_F_CD);
	/* RFC 6840 5.8: AD only for clients that show they understand it. */
	if (!vd_dns_query_do(q) && !(q->flags & VD_DNS_F_AD))
		flags &= (uint16_t)~VD_DNS_F_AD;

	/* NSID and EDE are extras (RFC 5001, 8914): an answer that fits
	 * without them goes out without them rather than truncated. */
	if (q->has_edns && (size_t)meta->wire_len + olen > limit &&
	    (plan.nsid || plan.ede)) {
		struct opt_plan lean = plan;
		lean.nsid = lean.ede = false;
		size_t lean_len = opt_len(opts, &lean);
		if ((size_t)meta->wire_len + lean_len <= limit) {
			plan = lean;
			olen = lean_len;
		}
	}
	if ((size_t)meta->wire_len + olen <= limit) {
		for (size_t i = 0; i < meta->n_ttls; i++)
			if (vd_fails_assert(ttl_offs[i] >= qend &&
					    ttl_offs[i] + 4u <= meta->wire_len))
				return 0;
		memcpy(out, stored, meta->wire_len);
		vd_put_u16(out, q->id);
		vd_put_u16(out + 2, flags);
		/* Same name, possibly other case: echo the client's bytes
		 * (0x20 randomisation). */
		memcpy(out + VD_DNS_HEADER_LEN, q->qname, q->qname_len);
		for (size_t i = 0; i < meta->n_ttls; i++) {
			uint8_t *p = out + ttl_offs[i];
			uint32_t t = vd_get_u32(p);
			if (opts->ttl_override)
				t = opts->ttl_override;
			else
				t = t > elapsed ? t - elapsed : 0;
			vd_put_u32(p, t);
		}
		if (!q->has_edns)
			return meta->wire_len;
		plan_pad(opts, &plan, meta->wire_len, limit);
		olen = opt_len(opts, &plan);
		vd_put_u16(out + 10, (uint16_t)(vd_get_u16(out + 10) + 1));
		vd_wbuf_init(&b, out + meta->wire_len, olen);
		put_opt(&b, q, opts, &plan, 0);
		return b.err ? 0 : meta->wire_len + olen;
	}

	/* Too big: header, question and OPT with TC=1, so the client
	 * retries over TCP (RFC 7766).  Options go first if even that does
	 * not fit. */
	if (q->has_edns && qend + olen > limit) {
		plan.nsid = plan.ede = false;
		olen = opt_len(opts, &plan);
	}
	if (qend + olen > limit)
		return 0;
	vd_wbuf_init(&b, out, limit);
	put_header(&b, q->id, flags | VD_DNS_F_TC, 1, 0, 0, q->has_edns);
	vd_wbuf_bytes(&b, q->qname, q->qname_len);
	vd_wbuf_bytes(&b, stored + VD_DNS_HEADER_LEN + meta->qname_len, 4);
	if (q->has_edns)
		put_opt(&b, q, opts, &plan, 0);
	return b.err ? 0 : b.pos;
}

size_t vd_dns_answer_error(const struct vd_dns_query *q, unsigned rcode,
			   const struct vd_dns_resp_opts *opts, uint8_t *out,
			   size_t cap)
{
	struct opt_plan plan;
	struct vd_wbuf b;
	size_t limit = cap;

	if (!q)
		return 0;
	if (opts && opts->max_size)
		limit = VD_MIN(limit, (size_t)opts->max_size);
	bool with_q = q->qname_len > 0 && q->question_len > 0;
	bool with_opt = q->has_edns || rcode > VD_DNS_F_RCODE_MASK;
	plan_opt(q, opts, &plan);

	size_t qlen = with_q ? (size_t)q->qname_len + 4 : 0;
	size_t olen = with_opt ? opt_len(opts, &plan) : 0;
	if (with_opt && VD_DNS_HEADER_LEN + qlen + olen > limit) {
		plan.nsid = plan.ede = false;
		olen = opt_len(opts, &plan);
	}
	if (VD_DNS_HEADER_LEN + qlen + olen > limit)
		return 0;
	if (with_opt) {
		plan_pad(opts, &plan, VD_DNS_HEADER_LEN + qlen, limit);
		olen = opt_len(opts, &plan);
	}

	uint16_t flags = VD_DNS_F_QR | VD_DNS_F_RA |
			 (q->flags & (VD_DNS_F_OPCODE_MASK | VD_DNS_F_RD |
				      VD_DNS_F_CD)) |
			 (uint16_t)(rcode & VD_DNS_F_RCODE_MASK);
	vd_wbuf_init(&b, out, limit);
	put_header(&b, q->id, flags, with_q, 0, 0, with_opt);
	if (with_q) {
		vd_wbuf_bytes(&b, q->qname, q->qname_len);
		vd_wbuf_u16(&b, q->qtype);
		vd_wbuf_u16(&b, q->qclass);
	}
	/* RFC 6891 6.1.3: the upper 8 bits of a 12-bit rcode live in OPT. */
	if (with_opt)
		put_opt(&b, q, opts, &plan, (uint8_t)(rcode >> 4));
	return b.err ? 0 : b.pos;
}
