/*
 * Limits of the XDP fast path.  Each is a compile-time bound the verifier
 * relies on; each may be overridden with -D at build time (both the BPF
 * object and user space include this file, so they always agree).
 * Anything past a limit is not an error: the packet or entry simply stays
 * on the socket path.
 */
#ifndef VD_XDP_LIMITS_H
#define VD_XDP_LIMITS_H

/* Largest stored answer the mirror takes, whole message without OPT.
 * 1232 (DNS Flag Day 2020) is also the default edns-buffer-size, so every
 * answer that can go out over UDP unfragmented fits, DNSSEC-signed ones
 * included. */
#ifndef VD_XDP_ANSWER_MAX
#define VD_XDP_ANSWER_MAX 1232
#endif

/* Most RRs (TTL fields) in a mirrored answer.  A signed answer that fits in
 * 1232 bytes rarely has more than a dozen; 64 leaves a wide margin and keeps
 * the TTL loop short. */
#ifndef VD_XDP_MAX_TTLS
#define VD_XDP_MAX_TTLS 64
#endif

/* Longest DNS query message the program parses (header, question, OPT and
 * its options).  Bigger queries are legal but are not cache-hit material. */
#ifndef VD_XDP_QUERY_MAX
#define VD_XDP_QUERY_MAX 512
#endif

/* EDNS options walked in a query before giving up. */
#ifndef VD_XDP_MAX_OPTIONS
#define VD_XDP_MAX_OPTIONS 4
#endif

/* Longest NSID (node-id) the program can append; longer ones leave
 * NSID-asking queries to user space. */
#ifndef VD_XDP_NSID_MAX
#define VD_XDP_NSID_MAX 64
#endif

/* Default size of the mirror (entries); the config can change it. */
#ifndef VD_XDP_MIRROR_ENTRIES
#define VD_XDP_MIRROR_ENTRIES 65536
#endif

/* The program reads the coarse monotonic clock (bpf_ktime_get_coarse_ns:
 * no clock-source read, which costs a VM exit on some hypervisors), which
 * lags CLOCK_MONOTONIC by up to one scheduler tick (1/CONFIG_HZ).  An entry
 * is therefore treated as expired this long before its expiry, so the
 * program never serves one at or past it; answers' TTLs may read up to one
 * second high for a tick after a second boundary (allowed: TTLs within 1 s).
 * Must exceed the tick: 20 ms covers CONFIG_HZ >= 50. */
#ifndef VD_XDP_CLOCK_SLACK_NS
#define VD_XDP_CLOCK_SLACK_NS 20000000ULL
#endif

/* VIP, ACL and interface map sizes. */
#define VD_XDP_MAX_IFMACS 64 /* = VD_XDP_MAX_IFACES */
#define VD_XDP_MAX_VIPS 64
#define VD_XDP_MAX_ACL 512

/* Ring buffer for prefetch requests (bytes, power of two, >= page). */
#define VD_XDP_PREFETCH_RING (64 * 1024)

#endif
