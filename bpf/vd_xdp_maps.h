/*
 * Maps of the XDP fast path.  BTF-defined; user space reaches them through
 * the skeleton (skel->maps.NAME).  Layouts live in vd_xdp_shared.h.
 */
#ifndef VD_XDP_MAPS_H
#define VD_XDP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "vd_xdp_shared.h"

/* The mirror of the daemon's answer cache: slots in sets of VD_XDP_WAYS,
 * the set chosen by vd_xdp_qkey_hash(key) & vd_set_mask (see
 * vd_xdp_shared.h for why an array and the seqlock).  User space sets
 * max_entries (xdp-map-entries rounded up to a power of two) before load
 * and writes the slots through mmap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, VD_XDP_MIRROR_ENTRIES);
	__type(key, __u32);
	__type(value, struct vd_xdp_entry);
} vd_xdp_mirror SEC(".maps");

/* Destination address:port pairs answered here; anything else passes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VD_XDP_MAX_VIPS);
	__type(key, struct vd_xdp_vip);
	__type(value, __u32);
} vd_xdp_vips SEC(".maps");

/*
 * The ACL and the settings are double-buffered so a reload switches them
 * at once: user space fills the inactive half (trie and settings element
 * 1 - active) while the program reads the active one, then flips
 * vd_xdp_active with one map write.  A program run that read the old
 * index finishes on the old half; that half is rewritten only by the next
 * reload, long after (runs take microseconds and cannot sleep).
 */
/* Client ACL, longest prefix match; only ALLOW is answered here.  One
 * trie per half: a trie rewritten in place would be old and new rules
 * mixed (a client of each allowed) until the last update. */
struct vd_xdp_acl_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, VD_XDP_MAX_ACL);
	__type(key, struct vd_xdp_acl_key);
	__type(value, __u32);
};
struct vd_xdp_acl_trie vd_xdp_acl0 SEC(".maps");
struct vd_xdp_acl_trie vd_xdp_acl1 SEC(".maps");

/* ifindex -> the interface's own MAC; frames to other MACs go up. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VD_XDP_MAX_IFMACS);
	__type(key, __u32);
	__type(value, struct vd_xdp_ifmac);
} vd_xdp_ifmacs SEC(".maps");

/* Run-time settings, one element per half. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct vd_xdp_conf);
} vd_xdp_config SEC(".maps");

/* The active half (0 or 1), one element. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} vd_xdp_active SEC(".maps");

/* Outcome counters (enum vd_xdp_counter), per CPU: no shared cache line
 * on the packet path; user space sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VD_XDP_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vd_xdp_counters SEC(".maps");

/* Per-CPU scratch: the query copied out of the frame, the key being
 * built and the OPT record being written.  Keeps the 512-byte stack
 * free.  qbuf has spare bytes so word reads near its end stay inside. */
struct vd_xdp_scratch {
	struct vd_xdp_qkey qk;
	__u64 qsum;  /* vd_xdp_question(): checksum of the question */
	__u64 qhash; /* vd_xdp_question(): the name's part of the key hash */
	/* The DNS message is loaded at qbuf + 4, so the question (message
	 * byte 12) starts at qw[2]: whole aligned words. */
	union {
		__u8 qbuf[4 + VD_XDP_QUERY_MAX + 12];
		__u64 qw[(4 + VD_XDP_QUERY_MAX + 12) / 8];
	};
	union {
		__u8 opt[11 + 4 + VD_XDP_NSID_MAX + 1];
		__u64 opt_w[(11 + 4 + VD_XDP_NSID_MAX + 1 + 7) / 8];
	};
};
#define VD_XDP_Q_OFF 4 /* q = qbuf + VD_XDP_Q_OFF */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vd_xdp_scratch);
} vd_xdp_scratch_map SEC(".maps");

/* Prefetch requests (struct vd_xdp_prefetch_req), drained by the daemon's
 * housekeeping tick. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, VD_XDP_PREFETCH_RING);
} vd_xdp_prefetch SEC(".maps");

#endif
