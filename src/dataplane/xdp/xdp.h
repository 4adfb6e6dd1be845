/*
 * The XDP fast path, user-space side: loads bpf/vd_xdp.bpf.c through its
 * libbpf skeleton, attaches it to the configured interfaces, and keeps
 * the kernel-side mirror of the answer cache in step with the cache
 * (DESIGN.md principle 1).
 *
 * Lifecycle and crash policy: the program is attached through bpf_link
 * file descriptors that only this process holds (never pinned).  A clean
 * exit closes them; so does the kernel when the process dies in any way
 * (kill -9, abort), which detaches the program at once: a dead daemon
 * never leaves a program answering from a mirror nobody updates.  Entries
 * carry their absolute expiry besides, and the program never serves one at
 * or past it.
 *
 * Threads: vd_xdp_apply, vd_xdp_stop and vd_xdp_drain_prefetch one at a
 * time (xdp_daemon.c locks around them); vd_xdp_fill may run beside
 * vd_xdp_drain_prefetch (the mirror's writers share its own lock) but not
 * beside apply or stop.  The cache observer it installs runs on whichever
 * thread changes the cache.  Counters may be read from any thread.
 */
#ifndef VD_DATAPLANE_XDP_XDP_H
#define VD_DATAPLANE_XDP_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "acl/acl.h"
#include "cache/cache.h"
#include "vd_xdp_shared.h"

#define VD_XDP_MAX_IFACES 64 /* = VD_CONFIG_MAX_LIST */
#define VD_XDP_IFNAME_MAX 16 /* IFNAMSIZ */

enum vd_xdp_mode {
	VD_XDP_MODE_AUTO = 0, /* driver (native) mode, else generic + warning */
	VD_XDP_MODE_NATIVE,   /* driver mode or fail */
	VD_XDP_MODE_GENERIC,  /* skb mode */
};

struct vd_xdp_opts {
	char ifaces[VD_XDP_MAX_IFACES][VD_XDP_IFNAME_MAX];
	size_t n_ifaces;       /* 0 = XDP off */
	enum vd_xdp_mode mode;
	struct sockaddr_storage vips[VD_XDP_MAX_VIPS]; /* port included */
	size_t n_vips;
	const struct vd_acl *acl; /* read during the call only */
	uint16_t edns_size;
	const uint8_t *nsid;   /* NULL or nsid_len bytes */
	uint16_t nsid_len;
	bool prefetch;
	unsigned prefetch_percent;
	unsigned prefetch_min_hits;
	unsigned max_answer;   /* <= VD_XDP_ANSWER_MAX */
	unsigned map_entries;
};

struct vd_xdp;

/*
 * Brings the fast path to opts: starts it (*xp NULL), updates it in place
 * (interfaces, VIPs, ACL, prefetch), reloads the program when a load-time
 * setting changed (EDNS size, NSID, map size, answer limit), or stops it
 * (no interfaces).  On failure the previous state is stopped, *xp is NULL
 * and the reason is logged; the socket path keeps answering everything.
 * Returns 0 or a negative errno.
 */
int vd_xdp_apply(struct vd_xdp **xp, const struct vd_xdp_opts *opts,
		 struct vd_cache *cache);

/*
 * Copies what the cache already holds into a freshly started program's
 * mirror (after vd_xdp_apply started or reloaded it; otherwise a no-op).
 * O(entries) memory writes, no system call per entry; takes the mirror's
 * lock per entry, never across the walk, so cache writers (workers
 * storing answers, whose observer calls take that lock) are not stalled.
 * Call it without holding locks other threads need; x must not be
 * stopped meanwhile.  Returns 0 or -ENOMEM.
 */
int vd_xdp_fill(struct vd_xdp *x);

/* Detaches, removes the cache observer and frees.  NULL-safe. */
void vd_xdp_stop(struct vd_xdp *x);

/* Called with the key of each entry the program asks to refresh. */
typedef void (*vd_xdp_prefetch_fn)(void *arg, const uint8_t *key,
				   size_t key_len);
/* Drains pending prefetch requests without blocking; returns how many.
 * Also sweeps an eighth of the mirror's slots for expired entries (call it
 * every housekeeping tick). */
size_t vd_xdp_drain_prefetch(struct vd_xdp *x, vd_xdp_prefetch_fn fn,
			     void *arg);

/* Sums the per-CPU counters (enum vd_xdp_counter).  Returns 0, or -ENODEV
 * when x is NULL (all zero). */
/* The answers XDP gave for a cache key since the key entered the mirror
 * (user space never sees those hits). */
uint64_t vd_xdp_key_hits(struct vd_xdp *x, const uint8_t *key,
			 size_t key_len);
int vd_xdp_get_counters(struct vd_xdp *x, uint64_t out[VD_XDP_CTR_MAX]);
const char *vd_xdp_counter_name(unsigned i);

struct vd_xdp_mirror_stats {
	uint64_t mirrored;  /* map writes */
	uint64_t skipped;   /* entries not fit for the fast path */
	uint64_t removed;
	uint64_t failures;  /* no slot: its set holds names XDP serves */
};
void vd_xdp_get_mirror_stats(struct vd_xdp *x, struct vd_xdp_mirror_stats *st);

/* Number of interfaces the program is attached to. */
size_t vd_xdp_attached(const struct vd_xdp *x);

/* ---- the mirror's entry format (mirror.c, no libbpf) ------------------ */

/*
 * The cache key (vd_dns_query_key() bytes) in the program's form, and
 * back.  vd_xdp_qkey_from_key returns 0 or -E2BIG / -EINVAL (not a key);
 * vd_xdp_key_from_qkey writes the key bytes (up to VD_XDP_KEY_SIZE) and
 * returns their length, or 0 for an inconsistent qkey.
 */
int vd_xdp_qkey_from_key(const uint8_t *key, size_t key_len,
			 struct vd_xdp_qkey *qk);
size_t vd_xdp_key_from_qkey(const struct vd_xdp_qkey *qk, uint8_t *key);

/*
 * Converts a cache entry into the map key (the seeded hash of its cache
 * key) and value.  Returns 0, or -E2BIG (answer above max_answer, too many
 * RRs, key too long) or -EINVAL (not a positive or negative answer,
 * inconsistent entry): such entries stay on the socket path only.
 */
int vd_xdp_entry_build(const uint8_t *key, size_t key_len,
		       const uint8_t *wire,
		       const struct vd_dns_answer_meta *meta,
		       const uint16_t *ttl_offs, uint64_t stored_ns,
		       uint64_t expire_ns, unsigned max_answer, uint64_t seed,
		       uint64_t *k, struct vd_xdp_entry *v);

/*
 * The mirror's slots (the mmapped vd_xdp_mirror array, n_slots a power of
 * two, sets of VD_XDP_WAYS).  Pure memory operations: one writer at a
 * time (the caller serialises), the program reads concurrently under the
 * seqlock (vd_xdp_shared.h).
 */
struct vd_xdp_slots {
	struct vd_xdp_entry *base;
	uint32_t n_slots;
	uint32_t set_mask;
	uint32_t sweep_pos;
};
/* 0, or -EINVAL unless n_slots is a power of two >= VD_XDP_WAYS. */
int vd_xdp_slots_init(struct vd_xdp_slots *t, void *base, uint32_t n_slots);
/* The slot count for xdp-map-entries: the next power of two. */
uint32_t vd_xdp_slots_for(unsigned entries);
/* Places v (from vd_xdp_entry_build) by the admission rules in mirror.c.
 * Returns the slot index, or -ENOSPC when every way of its set holds an
 * entry XDP is serving (v stays on the socket path), or -EINVAL. */
int vd_xdp_slots_put(struct vd_xdp_slots *t, const struct vd_xdp_entry *v,
		     uint64_t now_ns);
/* The answers XDP gave from the key's slot (0 when it has none).  Under
 * the writers' lock. */
uint64_t vd_xdp_slots_hits(const struct vd_xdp_slots *t,
			   const struct vd_xdp_qkey *qk, uint64_t khash);
/* Empties the key's slot; 0 or -ENOENT. */
int vd_xdp_slots_del(struct vd_xdp_slots *t, const struct vd_xdp_qkey *qk,
		     uint64_t khash);
/* Empties expired slots, looking at up to budget slots from where the last
 * call stopped (round robin); returns how many it emptied. */
size_t vd_xdp_slots_sweep(struct vd_xdp_slots *t, uint64_t now_ns,
			  size_t budget);
/* Slots holding a servable entry (O(n_slots), for tests and stats). */
size_t vd_xdp_slots_used(const struct vd_xdp_slots *t, uint64_t now_ns);

/* A VIP socket address in the program's form; 0 or -EAFNOSUPPORT. */
int vd_xdp_vip_from_sa(const struct sockaddr_storage *ss, struct vd_xdp_vip *v);

/* The run-time settings the program reads from opts: prefetch, and the
 * VIPs and the ACL as small tables when they fit (VD_XDP_FAST_*), else the
 * modes that send the program to the maps (which set_vips/set_acl keep
 * full in any case). */
void vd_xdp_conf_build(const struct vd_xdp_opts *o, struct vd_xdp_conf *c);

/* Ones'-complement sum of len bytes as 16-bit big-endian words starting
 * at an even offset, folded to 16 bits (not inverted). */
uint16_t vd_xdp_csum16(const uint8_t *p, size_t len);

#endif
