/*
 * Answers: turning a recursion result into a stored ("normalised") wire
 * answer once, and turning a stored answer into a client's answer on every
 * hit.  Also the answers the daemon makes up itself (FORMERR, SERVFAIL...).
 * No I/O, no allocation.
 */
#ifndef VD_DNS_ANSWER_H
#define VD_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/query.h"

/* Room for every RR a message can carry (and so every TTL offset): the
 * smallest RR is 11 bytes (root owner, fixed part, empty RDATA) after a
 * header and the shortest question.  A bound any smaller turns a large
 * valid answer (a big TXT or A RRset, an ANY) into a failure. */
#define VD_DNS_ANSWER_MAX_RRS ((VD_DNS_MSG_MAX - VD_DNS_HEADER_LEN - 5) / 11)

enum vd_dns_answer_kind {
	VD_DNS_ANSWER_POSITIVE = 0, /* NOERROR with data for the question */
	VD_DNS_ANSWER_NODATA,       /* NOERROR, empty answer (RFC 2308) */
	VD_DNS_ANSWER_NXDOMAIN,     /* NXDOMAIN (RFC 2308) */
	VD_DNS_ANSWER_SERVFAIL,     /* cached briefly (RFC 9520) */
	VD_DNS_ANSWER_OTHER,        /* REFUSED etc.: cached like SERVFAIL */
};

/*
 * What the cache keeps next to the stored wire answer.  The stored wire
 * has ID 0, no OPT record, the qname lower-cased at offset 12, and TTLs
 * as they were at store time (already clamped to the configured bounds).
 */
struct vd_dns_answer_meta {
	uint16_t wire_len;
	uint16_t n_ttls;   /* entries in the TTL offset array */
	uint8_t qname_len; /* the question name sits at offset 12 */
	uint8_t kind;      /* enum vd_dns_answer_kind */
	uint8_t rcode;
	uint8_t secure;    /* validated: AD is set in the stored header */
	uint32_t ttl;      /* lifetime in seconds (entry expiry) */
};

struct vd_dns_norm_opts {
	bool strip_dnssec; /* query had DO=0: drop RRSIG/NSEC/NSEC3 not asked for */
	bool secure;       /* validator said secure: set AD */
	uint32_t min_ttl;  /* floor for positive TTLs */
	uint32_t max_ttl;  /* ceiling for every TTL */
	uint32_t max_neg_ttl;  /* ceiling for NXDOMAIN/NODATA lifetime */
	uint32_t servfail_ttl; /* lifetime of SERVFAIL/other-rcode entries */
};

/*
 * Normalises a recursion result (any ID, may carry OPT and DNSSEC records,
 * may be compressed) for question q into out.  The rewrite decompresses and
 * re-compresses names (pointers only backwards), drops OPT, drops DNSSEC
 * records when asked, clamps TTLs, and writes the offset of every RR's TTL
 * field into ttl_offs (max_ttls entries).  Fails with -EBADMSG when in is
 * malformed or does not answer q, -ENOSPC when out or ttl_offs is too small.
 */
int vd_dns_answer_normalise(const uint8_t *in, size_t len,
			    const struct vd_dns_query *q,
			    const struct vd_dns_norm_opts *opts, uint8_t *out,
			    size_t cap, uint16_t *ttl_offs, size_t max_ttls,
			    struct vd_dns_answer_meta *meta);

/* Per-answer choices made by the data plane. */
struct vd_dns_resp_opts {
	uint16_t max_size;  /* the reply may not exceed this: UDP = client's
			     * EDNS size clamped to [512, edns_size], 512 without
			     * EDNS; TCP = 65535 */
	uint16_t edns_size; /* advertised in our OPT */
	const uint8_t *nsid; /* node identity for NSID; NULL = none */
	uint16_t nsid_len;
	int ede;            /* EDE info-code to attach, or -1 */
	/* COOKIE option to attach (client cookie + our server cookie), made
	 * per answer and never stored: 0 = none.  Kept when the extras
	 * above are dropped for size. */
	uint8_t cookie_len;
	uint8_t cookie[40];
	/* EDNS padding (RFC 7830): pad the reply to a multiple of this many
	 * bytes (468, RFC 8467), within max_size; 0 = none. */
	uint16_t pad_block;
	uint32_t ttl_override; /* nonzero: every TTL becomes this (stale) */
};

/*
 * Writes the client's answer for q from a stored answer: the query's ID,
 * RD and CD bits, the query's exact qname bytes, every TTL lowered by
 * elapsed seconds (floor 0) or replaced by ttl_override, AD kept only when
 * the client set DO or AD, an OPT record when the query had EDNS (echoing
 * DO, with NSID when the client asked and opts->nsid is set, with EDE when
 * opts->ede >= 0).  When the answer exceeds opts->max_size the reply is
 * header + question + OPT with TC=1.  Returns the length written, or 0 if
 * cap is too small even for the truncated form.
 */
size_t vd_dns_answer_write(const uint8_t *stored,
			   const struct vd_dns_answer_meta *meta,
			   const uint16_t *ttl_offs,
			   const struct vd_dns_query *q, uint32_t elapsed,
			   const struct vd_dns_resp_opts *opts, uint8_t *out,
			   size_t cap);

/*
 * Writes an answer made up by the daemon: rcode (FORMERR, NOTIMP,
 * REFUSED, SERVFAIL, BADVERS...) for q.  The question is echoed when q has
 * one; OPT is added when the query had EDNS (always for BADVERS, whose
 * upper rcode bits live in OPT).  Returns the length, or 0 if q has no
 * usable ID (never for a parse that got past the header).
 */
size_t vd_dns_answer_error(const struct vd_dns_query *q, unsigned rcode,
			   const struct vd_dns_resp_opts *opts, uint8_t *out,
			   size_t cap);

/* Max size the data plane should assume for the client (see max_size). */
static inline uint16_t vd_dns_client_max_size(const struct vd_dns_query *q,
					      uint16_t our_edns_size)
{
	if (!q->has_edns)
		return VD_DNS_UDP_MIN;
	uint16_t s = q->edns_udp_size < VD_DNS_UDP_MIN ? VD_DNS_UDP_MIN
						       : q->edns_udp_size;
	return s > our_edns_size ? our_edns_size : s;
}

#endif
