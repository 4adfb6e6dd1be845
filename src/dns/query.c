/*
 * Query parsing: one bounded pass over untrusted bytes that ends in a
 * verdict.  Every read goes through the sticky wire cursor.
 */
#include <errno.h>
#include <string.h>

#include "dns/cookie.h"
#include "dns/name_wire.h"
#include "dns/query.h"

/* Walks the options of an OPT RR's rdata (RFC 6891 6.1.2). */
static int parse_edns_options(struct vd_wire *w, size_t rdlen,
			      struct vd_dns_query *q)
{
	struct vd_wire o;

	if (vd_wire_need(w, rdlen))
		return -EMSGSIZE;
	vd_wire_init(&o, w->base + w->pos, rdlen);
	while (vd_wire_avail(&o) > 0) {
		uint16_t code = vd_wire_u16(&o);
		uint16_t olen = vd_wire_u16(&o);
		/* An option that overruns the rdata (or a stray byte or
		 * three at the end) is a malformed OPT. */
		vd_wire_skip(&o, olen);
		if (o.err)
			return -EBADMSG;
		switch (code) {
		case VD_DNS_OPT_NSID:
			q->opts_seen |= VD_DNS_SEEN_NSID;
			break;
		case VD_DNS_OPT_COOKIE:
			/* RFC 7873 5.2.2: a malformed cookie is FORMERR; only
			 * the first one counts (5.2). */
			if (q->opts_seen & VD_DNS_SEEN_COOKIE)
				break;
			if (!vd_dns_cookie_len_ok(olen))
				return -EBADMSG;
			q->opts_seen |= VD_DNS_SEEN_COOKIE;
			q->cookie_len = (uint8_t)olen;
			memcpy(q->cookie, o.base + o.pos - olen, olen);
			break;
		case VD_DNS_OPT_ECS:
			q->opts_seen |= VD_DNS_SEEN_ECS;
			break;
		case VD_DNS_OPT_PADDING:
			q->opts_seen |= VD_DNS_SEEN_PADDING;
			break;
		default:
			q->opts_seen |= VD_DNS_SEEN_OTHER;
			break;
		}
	}
	vd_wire_skip(w, rdlen);
	return 0;
}

/* Parses one additional RR.  Returns 0 or a negative errno. */
static int parse_additional(struct vd_wire *w, struct vd_dns_query *q)
{
	uint8_t owner[VD_DNS_NAME_MAX];

	/* Compression is allowed here (a TSIG key name could point back at
	 * the question), under the strict backwards rule. */
	int n = vd_dns_name_unpack(w, owner, true);
	if (n < 0)
		return n;
	uint16_t type = vd_wire_u16(w);
	uint16_t rclass = vd_wire_u16(w);
	uint32_t ttl = vd_wire_u32(w);
	uint16_t rdlen = vd_wire_u16(w);
	if (w->err)
		return w->err;
	if (type != VD_DNS_T_OPT) {
		/* TSIG, SIG(0) and anything else: we do no transaction
		 * signatures, so the record is skipped (bounded) and the
		 * query answered unsigned, as RFC 8945 5.2 lets a server
		 * that does not know the key do in effect. */
		vd_wire_skip(w, rdlen);
		return w->err;
	}
	/* RFC 6891 6.1.1: one OPT at most, owner the root. */
	if (q->has_edns || n != 1)
		return -EBADMSG;
	q->has_edns = true;
	q->edns_udp_size = rclass;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_flags = (uint16_t)ttl;
	/* The extended-rcode byte means nothing in a query: ignored. */
	return parse_edns_options(w, rdlen, q);
}

enum vd_dns_verdict vd_dns_query_parse(const uint8_t *pkt, size_t len,
				       struct vd_dns_query *q)
{
	struct vd_wire w;
	uint8_t name[VD_DNS_NAME_MAX];

	memset(q, 0, sizeof(*q));
	if (len < VD_DNS_HEADER_LEN)
		return VD_DNS_QUERY_DROP;
	vd_wire_init(&w, pkt, len);
	q->id = vd_wire_u16(&w);
	q->flags = vd_wire_u16(&w);
	uint16_t qdcount = vd_wire_u16(&w);
	uint16_t ancount = vd_wire_u16(&w);
	uint16_t nscount = vd_wire_u16(&w);
	uint16_t arcount = vd_wire_u16(&w);

	/* A response sent to us: answering it could start a loop between
	 * two servers, so it gets nothing. */
	if (q->flags & VD_DNS_F_QR)
		return VD_DNS_QUERY_DROP;
	/* NOTIFY, UPDATE, IQUERY...: the sections mean other things there,
	 * so we do not parse them; the answer carries no question. */
	if ((q->flags & VD_DNS_F_OPCODE_MASK) >> VD_DNS_F_OPCODE_SHIFT !=
	    VD_DNS_OPCODE_QUERY)
		return VD_DNS_QUERY_NOTIMP;
	if (qdcount != 1)
		return VD_DNS_QUERY_FORMERR;

	int n = vd_dns_name_unpack(&w, name, false);
	if (n < 0)
		return VD_DNS_QUERY_FORMERR;
	uint16_t qtype = vd_wire_u16(&w);
	uint16_t qclass = vd_wire_u16(&w);
	if (w.err)
		return VD_DNS_QUERY_FORMERR;
	memcpy(q->qname, name, (size_t)n);
	q->qname_len = (uint8_t)n;
	q->question_len = (uint16_t)(n + 4);
	q->qtype = qtype;
	q->qclass = qclass;

	/* A query carries its question and at most EDNS/TSIG in the
	 * additional section.  RFC 1035 does not forbid answer or authority
	 * records in a QUERY, but nothing legitimate sends them to a
	 * resolver and we would ignore them anyway; refusing to guess is
	 * the safer reading (Knot and Unbound reject them too). */
	if (ancount != 0 || nscount != 0)
		return VD_DNS_QUERY_FORMERR;
	/* Each RR needs at least 11 bytes, so the cursor bounds this loop
	 * long before arcount does. */
	for (unsigned i = 0; i < arcount; i++) {
		if (parse_additional(&w, q) != 0)
			return VD_DNS_QUERY_FORMERR;
	}
	/* Bytes after the last RR are ignored rather than refused: some
	 * middleboxes pad datagrams, and the records we need all parsed. */

	/* RFC 6891 6.1.3: an unknown version gets BADVERS, decided only
	 * once the rest of the query is known to be well formed. */
	if (q->has_edns && q->edns_version > 0)
		return VD_DNS_QUERY_BADVERS;
	/* A recursive resolver for the Internet serves class IN.  CH (the
	 * version.bind family), HS and unknown or meta classes are refused
	 * rather than FORMERR: the query is well formed, we just do not
	 * serve it. */
	if (qclass != VD_DNS_C_IN)
		return VD_DNS_QUERY_REFUSED;
	if (qtype == VD_DNS_T_AXFR || qtype == VD_DNS_T_IXFR)
		return VD_DNS_QUERY_REFUSED;
	if (qtype == VD_DNS_T_MAILA || qtype == VD_DNS_T_MAILB)
		return VD_DNS_QUERY_NOTIMP;
	return VD_DNS_QUERY_OK;
}

size_t vd_dns_query_key(const struct vd_dns_query *q, uint8_t *key)
{
	uint8_t f = 0;

	if (vd_dns_query_do(q))
		f |= VD_DNS_KEY_F_DO;
	if (q->flags & VD_DNS_F_CD)
		f |= VD_DNS_KEY_F_CD;
	key[0] = f;
	vd_put_u16(key + 1, q->qtype);
	vd_put_u16(key + 3, q->qclass);
	vd_dns_name_lower(key + VD_DNS_KEY_HDR, q->qname, q->qname_len);
	return VD_DNS_KEY_HDR + (size_t)q->qname_len;
}
