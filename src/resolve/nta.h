/*
 * Negative trust anchors (RFC 7646), added at run time by the operator
 * when a zone's DNSSEC breaks (a DS left in the parent after the child
 * stopped signing, an expired signature): validation stops at and below
 * the name until the anchor expires or is removed.
 *
 * One table per process, shared by every libunbound context (a renewed
 * context takes the anchors in force as domain-insecure), persisted in
 * nta-file so a restart keeps them, and expiring by itself: an NTA that
 * nobody removes must not disable validation for ever.
 *
 * Thread safe.  The file format is one "NAME EXPIRY" line per anchor,
 * EXPIRY in seconds since the epoch; vd_nta_parse() reads it, bounded.
 */
#ifndef VD_RESOLVE_NTA_H
#define VD_RESOLVE_NTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

#define VD_NTA_MAX 64
#define VD_NTA_DEFAULT_SECONDS 3600u
#define VD_NTA_MAX_SECONDS 604800u /* a week, as BIND caps nta-lifetime */

struct vd_nta {
	uint8_t name[VD_DNS_NAME_MAX]; /* lower-cased wire */
	size_t name_len;
	int64_t expires; /* seconds since the epoch */
};

/*
 * Parses a file's text (len bytes, not NUL-terminated) into out (cap
 * entries), dropping anchors already expired at now.  Returns the count,
 * or -EINVAL with the 1-based line of the first bad line in *bad_line.
 */
int vd_nta_parse(const char *text, size_t len, int64_t now,
		 struct vd_nta *out, size_t cap, unsigned *bad_line);

/* Sets the file (""/NULL: kept in memory only) and loads what it holds.
 * 0, or -errno with a reason in err (the table is then empty). */
int vd_nta_init(const char *path, char *err, size_t errlen);

/* Adds or extends NAME for seconds (1..VD_NTA_MAX_SECONDS) from now and
 * saves the file.  0, -ENOSPC when the table is full, -EINVAL, or -errno
 * of the save (the anchor is then in force but not persisted). */
int vd_nta_add(const uint8_t *name, size_t len, uint32_t seconds, int64_t now,
	       char *err, size_t errlen);

/* 1 removed, 0 not present; saves the file. */
int vd_nta_remove(const uint8_t *name, size_t len, char *err, size_t errlen);

/* Copies the anchors in force at now into out (cap entries); returns the
 * count.  Anchors past their expiry are never returned. */
size_t vd_nta_list(struct vd_nta *out, size_t cap, int64_t now);

/* Removes the anchors expired at now into out (cap entries; the caller
 * flushes their names) and saves the file; returns the count. */
size_t vd_nta_expire(struct vd_nta *out, size_t cap, int64_t now);

/* True when some anchor expires at or before now: cheap, for a timer. */
bool vd_nta_due(int64_t now);

#endif
