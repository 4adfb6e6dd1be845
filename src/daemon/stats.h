/*
 * Per-worker counters.  Each is written by its worker only (a plain
 * relaxed load+store, no locked instruction on the packet path) and read
 * by anybody with relaxed loads; readers sum over workers.
 */
#ifndef VD_DAEMON_STATS_H
#define VD_DAEMON_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#define VD_STATS_FIELDS(X)                                                     \
	X(queries_udp)                                                         \
	X(queries_tcp)                                                         \
	X(cache_hits)                                                          \
	X(cache_misses)                                                        \
	X(stale_served)                                                        \
	X(prefetches)                                                          \
	X(recursions)                                                          \
	X(recursion_failures)                                                  \
	X(recursion_timeouts)                                                  \
	X(coalesced)                                                           \
	X(over_limit)                                                          \
	X(refused_acl)                                                         \
	X(dropped_acl)                                                         \
	X(dropped_malformed)                                                   \
	X(formerr)                                                             \
	X(truncated)                                                           \
	X(queries_tls)                                                         \
	X(tls_handshakes)                                                      \
	X(tls_resumed)                                                         \
	X(tls_errors)                                                          \
	X(cookies_new)                                                         \
	X(cookies_valid)                                                       \
	X(cookies_renewed)                                                     \
	X(cookies_bad)                                                         \
	X(tcp_accepted)                                                        \
	X(tcp_rejected)                                                        \
	X(tcp_idle_closed)                                                     \
	X(send_errors)

/* Query types counted by name (X(name, value)); the rest count as other.
 * The common types of a resolver's traffic, as in Unbound's statistics. */
#define VD_STATS_QTYPES(X)                                                     \
	X(A, 1) X(NS, 2) X(CNAME, 5) X(SOA, 6) X(PTR, 12) X(MX, 15)            \
	X(TXT, 16) X(AAAA, 28) X(SRV, 33) X(NAPTR, 35) X(DS, 43)               \
	X(RRSIG, 46) X(DNSKEY, 48) X(SVCB, 64) X(HTTPS, 65) X(ANY, 255)

enum vd_stats_qtype {
#define VD_STATS_QT_ENUM(name, value) VD_STATS_QT_##name,
	VD_STATS_QTYPES(VD_STATS_QT_ENUM)
#undef VD_STATS_QT_ENUM
	VD_STATS_QT_OTHER,
	VD_STATS_QT_N
};

static inline unsigned vd_stats_qtype_slot(uint16_t qtype)
{
	switch (qtype) {
#define VD_STATS_QT_CASE(name, value)                                          \
	case value:                                                            \
		return VD_STATS_QT_##name;
		VD_STATS_QTYPES(VD_STATS_QT_CASE)
#undef VD_STATS_QT_CASE
	default:
		return VD_STATS_QT_OTHER;
	}
}

/*
 * Latency histograms: per-bucket (not cumulative) counts and the sum in
 * nanoseconds; the metrics endpoint makes them cumulative at scrape time.
 * Upper bounds in microseconds; the last bucket is +Inf.
 */
#define VD_STATS_HIST_BOUNDS_US                                                \
	{100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,         \
	 250000, 500000, 1000000, 2500000, 5000000, 10000000}
#define VD_STATS_HIST_N 17 /* 16 bounds + +Inf */

struct vd_stats_hist {
	_Atomic uint64_t bucket[VD_STATS_HIST_N];
	_Atomic uint64_t sum_ns;
};

struct vd_stats {
#define VD_STATS_DECLARE(name) _Atomic uint64_t name;
	VD_STATS_FIELDS(VD_STATS_DECLARE)
#undef VD_STATS_DECLARE
	_Atomic uint64_t rcode[16];
	_Atomic uint64_t qtype[VD_STATS_QT_N];
	struct vd_stats_hist answer_time;    /* query in -> answer out */
	struct vd_stats_hist recursion_time; /* recursion start -> result */
	/* Gauges, stored (not added) by the owning worker; a sum over
	 * workers for outstanding, the latest for last_recursion_ok_ns. */
	_Atomic uint64_t outstanding;          /* recursions in flight */
	_Atomic uint64_t last_recursion_ok_ns; /* CLOCK_MONOTONIC; 0 = never */
};

#define VD_STAT_ADD(st, field, n)                                              \
	atomic_store_explicit(                                                 \
		&(st)->field,                                                  \
		atomic_load_explicit(&(st)->field, memory_order_relaxed) + (n), \
		memory_order_relaxed)
#define VD_STAT_INC(st, field) VD_STAT_ADD(st, field, 1)
#define VD_STAT_SET(st, field, v)                                              \
	atomic_store_explicit(&(st)->field, (v), memory_order_relaxed)

#define VD_STAT_GET(st, field)                                                 \
	atomic_load_explicit(&(st)->field, memory_order_relaxed)

/* Adds the arrays and gauges of s into out (vd_daemon_stats()). */
static inline void vd_stats_sum_extra(struct vd_stats *out,
				      const struct vd_stats *s)
{
	for (unsigned i = 0; i < VD_STATS_QT_N; i++)
		VD_STAT_ADD(out, qtype[i], VD_STAT_GET(s, qtype[i]));
	for (unsigned i = 0; i < VD_STATS_HIST_N; i++) {
		VD_STAT_ADD(out, answer_time.bucket[i],
			    VD_STAT_GET(s, answer_time.bucket[i]));
		VD_STAT_ADD(out, recursion_time.bucket[i],
			    VD_STAT_GET(s, recursion_time.bucket[i]));
	}
	VD_STAT_ADD(out, answer_time.sum_ns, VD_STAT_GET(s, answer_time.sum_ns));
	VD_STAT_ADD(out, recursion_time.sum_ns,
		    VD_STAT_GET(s, recursion_time.sum_ns));
	VD_STAT_ADD(out, outstanding, VD_STAT_GET(s, outstanding));
	uint64_t ok = VD_STAT_GET(s, last_recursion_ok_ns);
	if (ok > VD_STAT_GET(out, last_recursion_ok_ns))
		VD_STAT_SET(out, last_recursion_ok_ns, ok);
}

/* Records one latency; the owning worker only (load+store, no RMW). */
static inline void vd_stats_observe(struct vd_stats_hist *h, uint64_t ns)
{
	static const uint32_t bounds_us[] = VD_STATS_HIST_BOUNDS_US;
	unsigned i = 0;
	uint64_t us = ns / 1000;
	while (i < VD_STATS_HIST_N - 1 && us > bounds_us[i])
		i++;
	VD_STAT_INC(h, bucket[i]);
	VD_STAT_ADD(h, sum_ns, ns);
}

/* n latencies of ns each (a batch answered together). */
static inline void vd_stats_observe_n(struct vd_stats_hist *h, uint64_t ns,
				      uint64_t n)
{
	static const uint32_t bounds_us[] = VD_STATS_HIST_BOUNDS_US;
	unsigned i = 0;
	uint64_t us = ns / 1000;
	while (i < VD_STATS_HIST_N - 1 && us > bounds_us[i])
		i++;
	VD_STAT_ADD(h, bucket[i], n);
	VD_STAT_ADD(h, sum_ns, ns * n);
}

#endif
