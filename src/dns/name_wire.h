/*
 * Internal to src/dns (and its tests and fuzz targets): reading names out
 * of packets.  Not part of the interface other subsystems code against.
 */
#ifndef VD_DNS_NAME_WIRE_H
#define VD_DNS_NAME_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"
#include "dns/wire.h"

/*
 * Reads the name at w->pos (w->base is the whole packet, so compression
 * pointers resolve against it) into out as uncompressed wire form, and
 * moves w past the name as it sits in the packet (past the first pointer).
 *
 * Rules: a pointer must point below the byte where the pointer itself
 * sits, below every target followed before it, and not into the 12-byte
 * header; so every jump goes strictly backwards and loops are impossible
 * without a counter.  Labels are at most 63 bytes, the whole name at most
 * 255; label types 0x40 and 0x80 are rejected.  With allow_ptr false any
 * pointer is an error (a query's question has nothing before it to point
 * to).
 *
 * Returns the wire length (1..255), -EMSGSIZE when the packet ends inside
 * the name, or -EBADMSG when the name breaks a rule.  On failure w->err is
 * set too, so a caller may simply check the cursor at the end.
 */
int vd_dns_name_unpack(struct vd_wire *w, uint8_t out[VD_DNS_NAME_MAX],
		       bool allow_ptr);

/*
 * Checks that name is a well-formed uncompressed wire name of exactly len
 * bytes.  Returns true when it is.
 */
bool vd_dns_name_valid(const uint8_t *name, size_t len);

/* Case-insensitive (ASCII) equality of two uncompressed wire names. */
bool vd_dns_name_eq(const uint8_t *a, size_t a_len, const uint8_t *b,
		    size_t b_len);

static inline uint8_t vd_dns_lower_byte(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

#endif
