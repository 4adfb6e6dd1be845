/*
 * Zones and answer policy the operator configures, with Unbound's names
 * and meanings: forward-zone, stub-zone, domain-insecure, local-zone,
 * local-data, local-data-ptr, private-address, private-domain and DNS64.
 *
 * Each value is checked (and normalised) here when the config is parsed,
 * so a bad line fails as "file:line: reason".  libunbound learns them from
 * an Unbound config text rendered here: its ub_ctx_set_option() refuses
 * forward-zone, stub-zone and dns64-prefix and silently ignores
 * "local-zone: NAME nodefault", while its config reader takes all of them.
 *
 * Pure: no I/O, no libunbound (the fuzzers link this).
 */
#ifndef VD_RESOLVE_ZONES_H
#define VD_RESOLVE_ZONES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

struct vd_config;

/* Addresses one forward-zone or stub-zone line may list. */
#define VD_ZONES_MAX_ADDRS 16

/*
 * Checkers for the config table.  Each takes one value as written, writes
 * the normalised form into out (outlen bytes) and returns NULL, or returns
 * a reason naming what was expected.
 *
 *   forward-zone    NAME ADDR[@PORT]... [first] [tls AUTH-NAME]
 *   stub-zone       NAME ADDR[@PORT]... [first]
 *   local-zone      NAME TYPE
 *   local-data      OWNER [TTL] [CLASS] TYPE RDATA...
 *   local-data-ptr  ADDR NAME
 *   domain names    NAME            (domain-insecure, private-domain, ...)
 *   private-address ADDR[/LEN]
 *   dns64-prefix    IPV6-ADDR/LEN   (RFC 6052 lengths)
 */
const char *vd_zones_check_forward(const char *in, char *out, size_t outlen);
const char *vd_zones_check_stub(const char *in, char *out, size_t outlen);
const char *vd_zones_check_local_zone(const char *in, char *out, size_t outlen);
const char *vd_zones_check_local_data(const char *in, char *out, size_t outlen);
const char *vd_zones_check_local_data_ptr(const char *in, char *out,
					  size_t outlen);
const char *vd_zones_check_name(const char *in, char *out, size_t outlen);
const char *vd_zones_check_prefix(const char *in, char *out, size_t outlen);
const char *vd_zones_check_dns64_prefix(const char *in, char *out,
					size_t outlen);

/* True when cfg configures anything rendered by vd_zones_render(). */
bool vd_zones_any(const struct vd_config *cfg);

/*
 * Renders cfg's zones and policy as Unbound config text ("server:" and
 * "forward-zone:"/"stub-zone:" clauses) into out.  Returns the length, or
 * -ENOSPC when cap is too small (the text is then cut).
 */
int vd_zones_render(const struct vd_config *cfg, char *out, size_t cap);

/* Upper bound on vd_zones_render()'s output for any valid config. */
size_t vd_zones_render_max(void);

/*
 * Zone-option changes between two configs change answers.  Calls fn with
 * every name whose cached answers may now be wrong (the zone, owner or
 * PTR name of each line present in one config but not the other, as
 * lower-cased wire), and returns true when a change affects names
 * anywhere (private-address, private-domain, DNS64): then the whole
 * cache must go.  Returns false with no calls when nothing changed.
 */
bool vd_zones_diff(const struct vd_config *a, const struct vd_config *b,
		   void (*fn)(const uint8_t *name, size_t len, void *arg),
		   void *arg);

/* True when the two configs differ in any option of this module. */
bool vd_zones_changed(const struct vd_config *a, const struct vd_config *b);

#endif
