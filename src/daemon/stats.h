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
	X(tcp_accepted)                                                        \
	X(tcp_rejected)                                                        \
	X(tcp_idle_closed)                                                     \
	X(send_errors)

struct vd_stats {
#define VD_STATS_DECLARE(name) _Atomic uint64_t name;
	VD_STATS_FIELDS(VD_STATS_DECLARE)
#undef VD_STATS_DECLARE
	_Atomic uint64_t rcode[16];
};

#define VD_STAT_ADD(st, field, n)                                              \
	atomic_store_explicit(                                                 \
		&(st)->field,                                                  \
		atomic_load_explicit(&(st)->field, memory_order_relaxed) + (n), \
		memory_order_relaxed)
#define VD_STAT_INC(st, field) VD_STAT_ADD(st, field, 1)

#endif
