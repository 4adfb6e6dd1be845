/*
 * One libunbound context on a worker's event base, configured from the
 * settings: the options vipdnsd always sets, root hints, unbound-option
 * lines, and trust anchors (the built-in root KSKs unless files are
 * configured).  Internal to src/resolve/.
 */
#ifndef VD_RESOLVE_UBCTX_H
#define VD_RESOLVE_UBCTX_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct ub_ctx;
struct vd_settings;

/* validate selects "validator iterator" (else "iterator" only, for CD=1
 * queries).  Returns the context, or NULL with the reason in err (bad
 * option, unreadable root hints or trust anchor file). */
struct ub_ctx *vd_res_ctx_new(struct event_base *base,
			      const struct vd_settings *st, bool validate,
			      char *err, size_t errlen);

/*
 * Tries every local-data line of cfg on a scratch context: libunbound
 * parses record data only when a context first resolves, where a bad
 * line would fail every query.  Called by -t, at start and on reload.
 * 0, or -EINVAL with the line named in err.
 */
struct vd_config;
int vd_res_zones_probe(const struct vd_config *cfg, char *err, size_t errlen);

#endif
