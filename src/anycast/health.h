/*
 * Health probes for one VIP: a DNS query through the real path, sent from
 * the node's loopback address to the VIP itself (so the daemon's socket
 * data plane, its ACL, the cache and recursion all take part), answered
 * NOERROR or NXDOMAIN within the timeout.
 *
 * Blocking; run on the anycast thread only.
 */
#ifndef VD_ANYCAST_HEALTH_H
#define VD_ANYCAST_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "anycast/parse.h"

/*
 * Asks canary through vip (UDP, port).  Returns 0 when it passed, else
 * -errno (-ETIMEDOUT, -EPROTO for a bad answer, -EIO for SERVFAIL and the
 * like); why gets a short human reason either way.
 */
int vd_anycast_probe(const struct vd_anycast_vip *vip, uint16_t port,
		     const struct vd_anycast_canary *canary,
		     unsigned timeout_ms, char *why, size_t whylen);

#endif
