/*
 * The core collector: what the daemon itself counts.  Names follow the
 * Prometheus conventions and, where letsencrypt/unbound_exporter has an
 * established name, that name under our prefix (unbound_X -> vipdns_X)
 * so dashboards built for Unbound map over.  docs/metrics.md lists them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <urcu.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "daemon/daemon.h"
#include "dataplane/xdp/xdp_daemon.h"
#include "metrics/metrics.h"
#include "vd_build.h"

static const char *const rcode_names[16] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15",
};

static const char *const qtype_names[VD_STATS_QT_N] = {
#define QT_NAME(name, value) #name,
	VD_STATS_QTYPES(QT_NAME)
#undef QT_NAME
	"other",
};

/* Wall-clock start, taken the first time the collector runs after the
 * daemon started (vd_metrics_start calls it once). */
static double start_wall;
static uint64_t start_mono;

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void counter(struct vd_metrics_out *o, const char *name,
		    const char *help, uint64_t v)
{
	vd_metrics_sample_u64(vd_metrics_family(o, name, VD_METRICS_COUNTER, help),
			      NULL, 0, v);
}

static void gauge(struct vd_metrics_out *o, const char *name,
		  const char *help, double v)
{
	vd_metrics_sample(vd_metrics_family(o, name, VD_METRICS_GAUGE, help),
			  NULL, 0, v);
}

static void histogram(struct vd_metrics_out *o, const char *name,
		      const char *help, const struct vd_stats_hist *h)
{
	static const uint32_t bounds_us[] = VD_STATS_HIST_BOUNDS_US;
	double bounds[VD_STATS_HIST_N - 1];
	uint64_t counts[VD_STATS_HIST_N];
	_Static_assert(VD_ARRAY_SIZE(bounds_us) == VD_STATS_HIST_N - 1,
		       "histogram bounds and buckets disagree");
	for (size_t i = 0; i < VD_STATS_HIST_N - 1; i++)
		bounds[i] = bounds_us[i] / 1e6;
	for (size_t i = 0; i < VD_STATS_HIST_N; i++)
		counts[i] = VD_STAT_GET(h, bucket[i]);
	vd_metrics_histogram(
		vd_metrics_family(o, name, VD_METRICS_HISTOGRAM, help), NULL, 0,
		bounds, counts, VD_STATS_HIST_N - 1,
		(double)VD_STAT_GET(h, sum_ns) / 1e9);
}

void vd_metrics_core_collect(void *arg, struct vd_metrics_out *o)
{
	struct vd_daemon *d = arg;
	struct vd_stats s;
	struct vd_cache_stats cs;
	struct vd_metrics_family *f;
	uint64_t now = vd_now_ns();

	if (!start_mono) {
		start_mono = now;
		start_wall = wall_now();
	}
	vd_daemon_stats(d, &s);
	vd_cache_get_stats(d->cache, &cs);

	size_t max_bytes = 0;
	unsigned max_rec = 0, n_listen = 0;
	rcu_read_lock();
	const struct vd_settings *st = rcu_dereference(d->settings);
	if (st) {
		max_bytes = st->cfg.cache_size;
		max_rec = st->cfg.max_recursions;
	}
	rcu_read_unlock();
	for (unsigned i = 0; i < d->n_workers; i++)
		n_listen += d->workers[i]->n_udp;

	f = vd_metrics_family(o, "vipdns_build_info", VD_METRICS_GAUGE,
			      "Always 1; the version label says which build runs.");
	vd_metrics_sample(f, (struct vd_metrics_label[]){{"version", VD_VERSION}},
			  1, 1);
	gauge(o, "vipdns_start_time_seconds",
	      "Start time of the daemon, seconds since the Unix epoch.",
	      start_wall);
	counter(o, "vipdns_time_up_seconds_total",
		"Seconds since the daemon started.",
		(now - start_mono) / VD_NS_PER_SEC);
	gauge(o, "vipdns_workers", "Worker threads answering queries.",
	      d->n_workers);

	/* Queries by transport and data plane; other data planes (XDP,
	 * DPDK) add their own series to this family from their collector. */
	f = vd_metrics_family(o, "vipdns_queries_total", VD_METRICS_COUNTER,
			      "Queries received, by transport and data plane.");
	vd_metrics_sample_u64(f, (struct vd_metrics_label[]){
				      {"transport", "udp"}, {"dataplane", "socket"}},
			      2, s.queries_udp);
	vd_metrics_sample_u64(f, (struct vd_metrics_label[]){
				      {"transport", "tcp"}, {"dataplane", "socket"}},
			      2, s.queries_tcp);
	/* XDP answers are queries too; every other outcome goes up to the
	 * socket path and is counted there again. */
	uint64_t xc[VD_XDP_CTR_MAX];
	size_t xdp_ifaces;
	bool xdp_on = vd_xdp_daemon_counters(d, xc, &xdp_ifaces);
	if (xdp_on)
		vd_metrics_sample_u64(f, (struct vd_metrics_label[]){
					      {"transport", "udp"},
					      {"dataplane", "xdp"}},
				      2, xc[VD_XDP_CTR_HIT]);
	f = vd_metrics_family(o, "vipdns_listeners", VD_METRICS_GAUGE,
			      "Sockets answering queries, by transport and data "
			      "plane (one per address per worker).");
	vd_metrics_sample(f, (struct vd_metrics_label[]){
				 {"transport", "udp"}, {"dataplane", "socket"}},
			  2, n_listen);
	n_listen = 0;
	for (unsigned i = 0; i < d->n_workers; i++)
		n_listen += d->workers[i]->n_tcp;
	vd_metrics_sample(f, (struct vd_metrics_label[]){
				 {"transport", "tcp"}, {"dataplane", "socket"}},
			  2, n_listen);

	f = vd_metrics_family(o, "vipdns_query_types_total", VD_METRICS_COUNTER,
			      "Queries by query type (common types, the rest as "
			      "other).");
	for (unsigned i = 0; i < VD_STATS_QT_N; i++)
		vd_metrics_sample_u64(
			f, (struct vd_metrics_label[]){{"type", qtype_names[i]}},
			1, s.qtype[i]);

	f = vd_metrics_family(o, "vipdns_answer_rcodes_total", VD_METRICS_COUNTER,
			      "Answers sent, from cache or from recursion, by "
			      "response code.");
	for (unsigned i = 0; i < 16; i++)
		if (i <= 5 || s.rcode[i])
			vd_metrics_sample_u64(
				f,
				(struct vd_metrics_label[]){{"rcode", rcode_names[i]}},
				1, s.rcode[i]);
	counter(o, "vipdns_answers_truncated_total",
		"UDP answers sent with TC=1 because they did not fit.",
		s.truncated);

	/* DNS over TLS */
	counter(o, "vipdns_tls_queries_total",
		"Queries received over DNS over TLS (also counted in "
		"vipdns_queries_total as tcp).", s.queries_tls);
	counter(o, "vipdns_tls_handshakes_total",
		"DoT handshakes completed.", s.tls_handshakes);
	counter(o, "vipdns_tls_resumptions_total",
		"DoT handshakes that resumed a session (a ticket from this or "
		"another node with the same tls-session-ticket-keys).",
		s.tls_resumed);
	counter(o, "vipdns_tls_errors_total",
		"DoT connections ended by a failed handshake or a bad record.",
		s.tls_errors);

	/* DNS cookies: how queries' cookies checked out (RFC 7873) */
	f = vd_metrics_family(o, "vipdns_cookies_total", VD_METRICS_COUNTER,
			      "Queries with a COOKIE option by result: new "
			      "(client cookie only), valid, renewed (valid, "
			      "old or from an accepted secret), bad (BADCOOKIE "
			      "over UDP).");
	{
		const struct {
			const char *name;
			uint64_t v;
		} ck[] = {{"new", s.cookies_new},
			  {"valid", s.cookies_valid},
			  {"renewed", s.cookies_renewed},
			  {"bad", s.cookies_bad}};
		for (size_t i = 0; i < 4; i++)
			vd_metrics_sample_u64(
				f,
				(struct vd_metrics_label[]){{"result", ck[i].name}},
				1, ck[i].v);
	}

	/* cache */
	counter(o, "vipdns_cache_hits_total",
		"Queries answered from a fresh cache entry.", s.cache_hits);
	counter(o, "vipdns_cache_misses_total",
		"Cache lookups that found no fresh entry.", s.cache_misses);
	counter(o, "vipdns_expired_total",
		"Stale (expired) answers served (RFC 8767).", s.stale_served);
	counter(o, "vipdns_prefetches_total",
		"Cache entries refreshed before expiry.", s.prefetches);
	gauge(o, "vipdns_cache_entries", "Entries in the answer cache.",
	      (double)cs.entries);
	gauge(o, "vipdns_cache_bytes",
	      "Bytes charged to the answer cache budget.", (double)cs.bytes);
	gauge(o, "vipdns_cache_max_bytes", "The answer cache budget (cache-size).",
	      (double)max_bytes);
	counter(o, "vipdns_cache_inserts_total",
		"Entries stored, replacements included.", cs.inserts);
	counter(o, "vipdns_cache_evictions_total",
		"Entries removed to keep the byte budget.", cs.evictions);
	counter(o, "vipdns_cache_expirations_total",
		"Entries removed past expiry and the stale window.",
		cs.expirations);
	counter(o, "vipdns_cache_flushed_total",
		"Entries removed by operator flushes.", cs.flushed);

	/* recursion */
	counter(o, "vipdns_recursions_total", "Recursive resolutions started.",
		s.recursions);
	counter(o, "vipdns_recursion_failures_total",
		"Resolutions that ended in SERVFAIL, bogus or an unusable "
		"result.", s.recursion_failures);
	counter(o, "vipdns_recursion_timeouts_total",
		"Waiting clients answered because recursion-timeout passed.",
		s.recursion_timeouts);
	counter(o, "vipdns_recursions_coalesced_total",
		"Misses that joined an identical resolution in flight.",
		s.coalesced);
	gauge(o, "vipdns_request_list_current_all",
	      "Recursive resolutions in flight (prefetches included).",
	      (double)s.outstanding);
	gauge(o, "vipdns_request_list_limit",
	      "Bound on resolutions in flight (max-recursions x workers).",
	      (double)max_rec * d->n_workers);
	counter(o, "vipdns_request_list_exceeded_total",
		"Misses answered at once (SERVFAIL or stale) because the bound "
		"was reached.", s.over_limit);
	double last_ok = 0;
	if (s.last_recursion_ok_ns && s.last_recursion_ok_ns <= now)
		last_ok = wall_now() -
			  (double)(now - s.last_recursion_ok_ns) / 1e9;
	gauge(o, "vipdns_recursion_last_success_seconds",
	      "When a resolution last succeeded, seconds since the Unix epoch "
	      "(0 = never).", last_ok);

	/* refusals and drops */
	f = vd_metrics_family(o, "vipdns_queries_refused_total",
			      VD_METRICS_COUNTER,
			      "Queries answered REFUSED by policy, by reason.");
	vd_metrics_sample_u64(f, (struct vd_metrics_label[]){{"reason", "acl"}}, 1,
			      s.refused_acl);
	f = vd_metrics_family(o, "vipdns_queries_dropped_total",
			      VD_METRICS_COUNTER,
			      "Queries not answered at all, by reason.");
	vd_metrics_sample_u64(f, (struct vd_metrics_label[]){{"reason", "acl"}}, 1,
			      s.dropped_acl);
	vd_metrics_sample_u64(f,
			      (struct vd_metrics_label[]){{"reason", "malformed"}},
			      1, s.dropped_malformed);
	counter(o, "vipdns_unwanted_queries_total",
		"Queries refused or dropped by the access control list.",
		s.refused_acl + s.dropped_acl);
	counter(o, "vipdns_send_errors_total", "Answers the kernel did not take.",
		s.send_errors);
	f = vd_metrics_family(o, "vipdns_tcp_connections_total",
			      VD_METRICS_COUNTER,
			      "Client TCP connections, by outcome.");
	vd_metrics_sample_u64(f,
			      (struct vd_metrics_label[]){{"outcome", "accepted"}},
			      1, s.tcp_accepted);
	vd_metrics_sample_u64(f,
			      (struct vd_metrics_label[]){{"outcome", "rejected"}},
			      1, s.tcp_rejected);
	vd_metrics_sample_u64(f,
			      (struct vd_metrics_label[]){{"outcome", "idle_closed"}},
			      1, s.tcp_idle_closed);

	histogram(o, "vipdns_response_time_seconds",
		  "Time from query to answer, cache hits and recursions alike.",
		  &s.answer_time);
	histogram(o, "vipdns_recursion_time_seconds",
		  "Time recursive resolutions took (prefetches included).",
		  &s.recursion_time);
	if (xdp_on) {
		static const char *const names[VD_XDP_CTR_MAX] = {
#define VD_XDP_CTR_NAME(id, name) [VD_XDP_CTR_##id] = name,
			VD_XDP_COUNTERS(VD_XDP_CTR_NAME)
#undef VD_XDP_CTR_NAME
		};
		f = vd_metrics_family(o, "vipdns_xdp_packets_total",
				      VD_METRICS_COUNTER,
				      "Packets the XDP program saw, by outcome "
				      "(hit = answered in the driver; the rest "
				      "went up to the socket path).");
		for (unsigned k = 0; k < VD_XDP_CTR_MAX; k++)
			vd_metrics_sample_u64(f, (struct vd_metrics_label[]){
						      {"outcome", names[k]}},
					      1, xc[k]);
		gauge(o, "vipdns_xdp_interfaces",
		      "Interfaces the XDP program is attached to.",
		      (double)xdp_ifaces);
	}
}
