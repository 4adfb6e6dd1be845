/*
 * Cache snapshots: the answer cache written to a file (warm restarts,
 * `vipdnsctl cache-save` / `cache-load`) and read back.
 *
 * The file is the fresh, cacheable entries of a cache, hottest first, each
 * as its cache key and stored wire answer with the TTLs counted down to the
 * moment of writing.  A header carries the writer's wall-clock time and
 * the digest of the settings that decide what an answer may be (see
 * vd_settings_answer_digest()); a trailer carries the entry count and a
 * SHA-256 over everything before it.  Format (integers big-endian):
 *
 *   "VDNSSNAP" u32 version=1 u32 0 u64 written_unix_ns u8 digest[32]
 *   entry*:    u16 key_len u16 wire_len u8 flags u8 0 u32 hits key wire
 *   trailer:   u64 entries u8 sha256[32]
 *
 * A file is taken whole or not at all: a bad checksum, another version, a
 * digest from other settings, a time in the future or one malformed entry
 * rejects it before anything is inserted.  Every entry's wire goes through
 * the same normaliser as a recursion result, so a file can never put in
 * the cache what a recursion could not.  On loading, TTLs are counted down
 * by the wall-clock time since writing (rounded up) and an entry whose
 * lifetime has run out is skipped.  SERVFAIL and other failure answers are
 * never written: a failure is not worth keeping across a restart.
 */
#ifndef VD_CACHE_SNAPSHOT_H
#define VD_CACHE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "dns/answer.h"

#define VD_SNAPSHOT_DIGEST_LEN 32
#define VD_SNAPSHOT_VERSION 1u

struct vd_snapshot_counts {
	size_t entries; /* in the file */
	size_t loaded;  /* inserted */
	size_t expired; /* lifetime ran out since writing */
	size_t skipped; /* failure answers, or past the cache's budget */
	size_t present; /* the cache already had a fresh answer: kept */
};

/* What the loader needs from the settings now in force. */
struct vd_snapshot_load_opts {
	uint8_t digest[VD_SNAPSHOT_DIGEST_LEN]; /* must equal the file's */
	uint32_t max_ttl;      /* cache-max-ttl */
	uint32_t max_neg_ttl;  /* cache-max-negative-ttl */
	/* when set, the negative cap for an entry's (lower-cased wire) name
	 * instead of max_neg_ttl: per-zone caps */
	uint32_t (*neg_ttl_for)(void *arg, const uint8_t *name, size_t len);
	void *neg_arg;
	size_t max_bytes;      /* stop inserting past this many cache bytes */
	uint64_t now_ns;       /* CLOCK_MONOTONIC, for the cache */
	uint64_t real_ns;      /* CLOCK_REALTIME, against the file's time */
};

/* Hits a cache entry had that the cache did not count (answers the XDP
 * program gave from its mirror).  Called outside any RCU read section. */
typedef uint64_t (*vd_snapshot_hits_fn)(void *arg, const uint8_t *key,
					size_t key_len);

struct vd_snapshot_build_opts {
	uint8_t digest[VD_SNAPSHOT_DIGEST_LEN];
	uint64_t now_ns;     /* CLOCK_MONOTONIC: which entries are fresh */
	uint64_t real_ns;    /* CLOCK_REALTIME: the time written */
	size_t max_entries;  /* the hottest this many; 0 = all */
	vd_snapshot_hits_fn extra_hits; /* NULL = the cache's count only */
	void *extra_arg;
};

/*
 * Serialises c into a malloc'd buffer (*out, *len; the caller frees): the
 * entries fresh at now_ns, hottest first (the cache's hits plus
 * extra_hits).  *n_out gets the entry count.  Returns 0 or -ENOMEM.  Walks
 * the cache inside one RCU read section, copying only: no I/O and no
 * callback happens there.
 */
int vd_snapshot_build(struct vd_cache *c, const struct vd_snapshot_build_opts *o,
		      uint8_t **out, size_t *len, size_t *n_out);

/* Builds and writes path atomically (a temporary file beside it, fsync,
 * rename, fsync of the directory).  Returns 0 or -errno with the reason
 * in err. */
int vd_snapshot_save(struct vd_cache *c, const char *path,
		     const struct vd_snapshot_build_opts *o, size_t *n_out,
		     char *err, size_t errlen);

/*
 * Checks a whole snapshot in buf and, only when all of it is good, inserts
 * its entries into c.  Returns 0, or -EBADMSG (damaged, truncated,
 * malformed), -EPROTO (another version or other settings: foreign) with
 * the reason in err, and then c is untouched.  An entry whose key already
 * has a fresh answer in c leaves that answer alone (it is newer).  counts
 * may be NULL.  The calling thread is an RCU reader (cache.h) outside any
 * read-side section.
 */
int vd_snapshot_apply(struct vd_cache *c, const uint8_t *buf, size_t len,
		      const struct vd_snapshot_load_opts *o,
		      struct vd_snapshot_counts *counts, char *err,
		      size_t errlen);

/* Reads path (at most max_file bytes) and applies it.  -ENOENT when there
 * is no file; otherwise as vd_snapshot_apply() or -errno. */
int vd_snapshot_load(struct vd_cache *c, const char *path, size_t max_file,
		     const struct vd_snapshot_load_opts *o,
		     struct vd_snapshot_counts *counts, char *err,
		     size_t errlen);

#endif
