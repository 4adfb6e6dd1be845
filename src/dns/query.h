/*
 * Query parsing and the cache key.  Every byte comes from the network: the
 * parser is bounded, never reads past len, and reports what to do with the
 * packet as a verdict.  No I/O, no allocation.
 */
#ifndef VD_DNS_QUERY_H
#define VD_DNS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

/* Cache key: [flags][qtype BE16][qclass BE16][lower-cased qname wire]. */
#define VD_DNS_KEY_HDR 5
#define VD_DNS_KEY_MAX (VD_DNS_KEY_HDR + VD_DNS_NAME_MAX)
#define VD_DNS_KEY_F_DO 0x01u
#define VD_DNS_KEY_F_CD 0x02u

enum vd_dns_verdict {
	VD_DNS_QUERY_OK = 0,
	VD_DNS_QUERY_DROP,    /* no answer at all: QR=1, shorter than a header */
	VD_DNS_QUERY_FORMERR, /* malformed: answer FORMERR */
	VD_DNS_QUERY_NOTIMP,  /* opcode other than QUERY, meta qtypes MAILA/B */
	VD_DNS_QUERY_REFUSED, /* AXFR/IXFR: a resolver serves no transfers */
	VD_DNS_QUERY_BADVERS, /* EDNS version > 0 (RFC 6891 6.1.3) */
};

/* Bits of vd_dns_query.opts_seen: EDNS options present in the query. */
#define VD_DNS_SEEN_NSID 0x01u
#define VD_DNS_SEEN_COOKIE 0x02u
#define VD_DNS_SEEN_ECS 0x04u
#define VD_DNS_SEEN_PADDING 0x08u
#define VD_DNS_SEEN_OTHER 0x10u

struct vd_dns_query {
	uint16_t id;
	uint16_t flags;       /* header flags word, host order */
	uint16_t qtype;
	uint16_t qclass;
	uint8_t qname_len;    /* wire length of qname, 1..255; 0 = no question */
	uint8_t qname[VD_DNS_NAME_MAX]; /* exactly as received (0x20 case) */
	uint16_t question_len; /* qname_len + 4 when a question was parsed */
	/* EDNS(0), RFC 6891.  Valid when has_edns. */
	bool has_edns;
	uint8_t edns_version;
	uint16_t edns_udp_size; /* as advertised by the client */
	uint16_t edns_flags;    /* DO and friends */
	uint8_t opts_seen;      /* VD_DNS_SEEN_* */
	/* The first COOKIE option (RFC 7873), 8 or 16..40 bytes when
	 * VD_DNS_SEEN_COOKIE; a wrong length makes the query FORMERR. */
	uint8_t cookie_len;
	uint8_t cookie[40];
};

/*
 * Parses a query of len bytes.  Fills q as far as parsing got (id and
 * flags whenever len >= 12; the question whenever it was well formed) so an
 * error answer can echo them.  Returns the verdict.
 */
enum vd_dns_verdict vd_dns_query_parse(const uint8_t *pkt, size_t len,
				       struct vd_dns_query *q);

static inline bool vd_dns_query_do(const struct vd_dns_query *q)
{
	return q->has_edns && (q->edns_flags & VD_DNS_EDNS_DO);
}

/*
 * Builds the cache key for a parsed query into key (VD_DNS_KEY_MAX bytes).
 * Returns its length.  Everything that changes the answer bytes is in the
 * key: lower-cased qname, qtype, qclass, DO, CD.
 */
size_t vd_dns_query_key(const struct vd_dns_query *q, uint8_t *key);

/* Lower-cases an uncompressed wire name (ASCII A-Z only, RFC 4343). */
void vd_dns_name_lower(uint8_t *dst, const uint8_t *src, size_t len);

/*
 * Converts a presentation name ("www.Example.com." or "www.example.com")
 * to lower-cased wire form.  Returns the wire length or -EINVAL.
 */
int vd_dns_name_from_str(const char *str, uint8_t *out, size_t cap);

/* Converts a wire name (uncompressed) to presentation form with a
 * trailing dot; escapes non-printables as \DDD.  Returns length or -ENOSPC. */
int vd_dns_name_to_str(const uint8_t *name, size_t len, char *out, size_t cap);

/* True when name (wire, lower-cased) equals zone or lies below it. */
bool vd_dns_name_in_zone(const uint8_t *name, size_t name_len,
			 const uint8_t *zone, size_t zone_len);

#endif
