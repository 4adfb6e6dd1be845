/*
 * The metrics registry and the Prometheus text exposition renderer
 * (format 0.0.4).
 *
 * A scrape builds one struct vd_metrics_out: collectors declare families
 * (name, type, help) and add samples to them; the renderer then writes each
 * family once, HELP and TYPE first, its samples together, in the order the
 * families were first declared.  Several collectors may add samples to the
 * same family (the socket data plane and the XDP data plane both feed
 * vipdns_queries_total with their own dataplane label) as long as they
 * declare the same type.
 *
 * Collectors are registered process-wide by the subsystem that owns the
 * numbers (the daemon core here; XDP and anycast register their own), so
 * this module never needs to know their structures.  Collectors run on
 * the metrics thread at scrape time: they read counters (relaxed atomics,
 * per-thread counters summed here), never take a lock a packet path takes.
 *
 * Thread safety: register/unregister/collect_all are serialised by one
 * mutex (a collector is never called after vd_metrics_unregister()
 * returns).  A vd_metrics_out belongs to one thread.
 */
#ifndef VD_METRICS_REGISTRY_H
#define VD_METRICS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

enum vd_metrics_type {
	VD_METRICS_COUNTER,
	VD_METRICS_GAUGE,
	VD_METRICS_HISTOGRAM,
};

struct vd_metrics_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]* */
	const char *value; /* any bytes; escaped when rendered */
};

struct vd_metrics_out;
struct vd_metrics_family;

struct vd_metrics_out *vd_metrics_out_new(void);
void vd_metrics_out_free(struct vd_metrics_out *o); /* NULL-safe */

/*
 * Declares (or finds) family name.  Returns NULL when name is not a valid
 * metric name, when it was declared before with another type, or on
 * allocation failure; the sample functions accept NULL and do nothing, so
 * a collector needs no error paths.  Counter names should end in _total.
 */
struct vd_metrics_family *vd_metrics_family(struct vd_metrics_out *o,
					    const char *name,
					    enum vd_metrics_type type,
					    const char *help);

void vd_metrics_sample(struct vd_metrics_family *f,
		       const struct vd_metrics_label *labels, size_t n_labels,
		       double value);
/* Exact for counters past 2^53. */
void vd_metrics_sample_u64(struct vd_metrics_family *f,
			   const struct vd_metrics_label *labels,
			   size_t n_labels, uint64_t value);
/*
 * One histogram series: counts[i] observations fell in (bounds[i-1],
 * bounds[i]] (not cumulative), counts[n_bounds] above the last bound.  Renders
 * cumulative _bucket lines with le labels, +Inf, _sum and _count.
 */
void vd_metrics_histogram(struct vd_metrics_family *f,
			  const struct vd_metrics_label *labels,
			  size_t n_labels, const double *bounds,
			  const uint64_t *counts, size_t n_bounds, double sum);

/* Writes the exposition text; *text is malloc'd and NUL-terminated (the
 * caller frees it).  Returns 0 or -ENOMEM. */
int vd_metrics_out_render(struct vd_metrics_out *o, char **text,
			  size_t *len);

/* Collectors. */
typedef void (*vd_metrics_collect_fn)(void *arg, struct vd_metrics_out *out);
/* name identifies the collector ("core", "xdp", "anycast").  Returns 0,
 * -EEXIST, -ENOSPC (too many) or -EINVAL. */
int vd_metrics_register(const char *name, vd_metrics_collect_fn fn,
			void *arg);
void vd_metrics_unregister(const char *name);
/* Runs every registered collector into o, in registration order. */
void vd_metrics_collect_all(struct vd_metrics_out *o);

#endif
