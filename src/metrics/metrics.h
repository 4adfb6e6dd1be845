/*
 * The metrics endpoint: Prometheus /metrics and the status page / on
 * metrics-listen, served by libmicrohttpd.
 *
 * libmicrohttpd runs in external-polling mode on a thread of ours
 * (MHD_run_wait) rather than its internal thread: our thread registers
 * with RCU, so collectors may read RCU-protected state (the settings)
 * safely.  Scrapes read per-worker counters with relaxed loads and sum
 * them; nothing on the packet path takes a lock or waits for a scrape.
 */
#ifndef VD_METRICS_METRICS_H
#define VD_METRICS_METRICS_H

#include <stddef.h>

#include "metrics/registry.h"

struct vd_daemon;
struct vd_config;
struct vd_metrics;

/*
 * Registers the daemon's core collector and, when cfg->metrics_listen is
 * set, binds it and starts serving.  *out is NULL when metrics are off.
 * Returns 0 or a negative errno (logged).  d must outlive the endpoint.
 */
int vd_metrics_start(struct vd_daemon *d, const struct vd_config *cfg,
		     struct vd_metrics **out);
/* Stops serving, joins the thread, unregisters the core collector.
 * NULL-safe. */
void vd_metrics_stop(struct vd_metrics *m);

/* The core collector (daemon counters, cache, recursion, build info);
 * arg is a struct vd_daemon.  Exposed for tests. */
void vd_metrics_core_collect(void *arg, struct vd_metrics_out *out);

/* One full scrape of every registered collector; *text is malloc'd. */
int vd_metrics_scrape(char **text, size_t *len);

/* The status page (HTML, JavaScript that polls /metrics). */
extern const char vd_metrics_status_page[];

#endif
