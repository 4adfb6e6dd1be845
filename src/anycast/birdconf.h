/*
 * The BIRD 2 configuration vipdnsd generates (bird-conf/README.md shows a
 * rendered example and explains each part).
 *
 *   bird.conf           written from the vipdns config: router id, the
 *                       direct protocol that sees the VIP addresses, BFD,
 *                       one BGP protocol per bgp-neighbor and the export
 *                       filter.  Nothing is imported.
 *   announce include    two functions the export filter calls,
 *                       vd_announced() and vd_draining(), rewritten by
 *                       vipdnsd on every health or drain change and
 *                       followed by `configure`: BIRD re-runs the export
 *                       filter and sends the withdraw (or the
 *                       GRACEFUL_SHUTDOWN community) without touching the
 *                       BGP session or BFD.
 *
 * A route leaves the node only if it (1) comes from the direct protocol,
 * i.e. the VIP address is on the interface right now (vipdnsd refreshes
 * it, the kernel expires it when vipdnsd dies), (2) is one of the
 * configured VIP prefixes (the bound written into bird.conf itself, so a
 * stale or broken include cannot widen it) and (3) vd_announced() says so.
 */
#ifndef VD_ANYCAST_BIRDCONF_H
#define VD_ANYCAST_BIRDCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "anycast/parse.h"

struct vd_config;

/* Writes bird.conf for cfg to out; source names the vipdns config in the
 * header comment.  Returns 0, or -EINVAL with a reason in err (a value
 * that no longer parses). */
int vd_anycast_bird_render(FILE *out, const struct vd_config *cfg,
			   const char *source, char *err, size_t errlen);

/* Writes the announce include: VIP i is announced when announce[i], with
 * the GRACEFUL_SHUTDOWN community when also drain[i], made worse by
 * health-degrade when also degraded[i]. */
void vd_anycast_bird_render_announce(FILE *out,
				     const struct vd_anycast_vip *vips,
				     size_t n, const bool *announce,
				     const bool *drain, const bool *degraded);

/* Renders into path atomically (temporary file + rename).  0 or -errno. */
int vd_anycast_bird_write_announce(const char *path,
				   const struct vd_anycast_vip *vips, size_t n,
				   const bool *announce, const bool *drain,
				   const bool *degraded);
int vd_anycast_bird_write_config(const char *path, const struct vd_config *cfg,
				 const char *source, char *err, size_t errlen);

#endif
