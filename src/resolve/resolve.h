/*
 * A worker's recursions.  The libunbound contexts are the node's, shared
 * by every worker (resolve/engine.h); what is the worker's stays here:
 * identical misses in flight are coalesced, one recursion per cache key
 * with every waiter answered from its result; results are normalised
 * into the answer cache; waiters that wait too long are answered stale
 * or SERVFAIL.  The number of outstanding recursions is bounded; past the
 * bound the caller answers explicitly.  Not thread safe: one vd_res per
 * worker, used on its loop.
 */
#ifndef VD_RESOLVE_RESOLVE_H
#define VD_RESOLVE_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "dns/query.h"
#include "pipeline/pipeline.h"

struct vd_res;
struct vd_worker;
struct vd_settings;

/* Sets up on the worker's loop, with the daemon's engine (w->daemon->rec).
 * Returns NULL and a reason in err on failure. */
struct vd_res *vd_res_create(struct vd_worker *w, const struct vd_settings *st,
			     char *err, size_t errlen);

/* Answers nobody: waiters are released.  The engine must be stopped
 * first (vd_rec_destroy()), so that nothing comes back meanwhile. */
void vd_res_destroy(struct vd_res *r);

/*
 * Resolves q for dest, joining an identical recursion in flight (a
 * prefetch too).  Returns 0: dest will get exactly one answer through
 * vd_pipeline_send() (the result, or fresh/stale/SERVFAIL through
 * vd_pipeline_answer_failure() when the recursion fails or is given up
 * at recursion-timeout), or is released unanswered by vd_res_destroy().
 * Returns -EBUSY when the bound on outstanding recursions or on waiting
 * clients is reached, or -ENOMEM; dest is then the caller's to answer.
 * Clients on loopback (the health probe) have a small reserve past the
 * bounds, so load shedding is not read as broken recursion.
 */
int vd_res_submit(struct vd_res *r, const struct vd_dns_query *q,
		  const uint8_t *key, size_t key_len, uint64_t hash,
		  const struct vd_reply_to *dest);

/* Refreshes a cache entry nobody waits for (prefetch).  Returns 0, -EBUSY
 * (already in flight or over half the bound), or -ENOMEM. */
int vd_res_prefetch(struct vd_res *r, const struct vd_dns_query *q,
		    const uint8_t *key, size_t key_len, uint64_t hash);

unsigned vd_res_outstanding(const struct vd_res *r);

/* Answers waiters that waited too long: stale after the client timeout,
 * SERVFAIL (or stale) after the recursion timeout.  Called by a timer. */
void vd_res_expire_waiters(struct vd_res *r, uint64_t now_ns);

/* The built-in root trust anchors (DS records, presentation format). */
extern const char *const vd_res_builtin_anchors[];

#endif
