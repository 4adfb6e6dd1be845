/*
 * Fuzz target for cache snapshots (src/cache/snapshot.c).  A mutated file
 * almost never keeps a valid SHA-256, which would stop every input at the
 * checksum; so the target seals each input first (the trailer's digest
 * recomputed, the settings digest taken from the header) and the parser
 * proper sees it.  Whatever it accepts must come out of the cache again as
 * a snapshot that is accepted and loads the same number of entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <urcu.h>

#include "cache/snapshot.h"
#include "core/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 56
#define TRAILER 40
#define REAL (1780000000ULL * VD_NS_PER_SEC)
#define NOW (5000 * VD_NS_PER_SEC)

static struct vd_cache *a, *b;
static uint8_t buf[1 << 17];

static struct vd_cache *mk(void)
{
	struct vd_cache_opts o = {.max_bytes = 1 << 20};
	struct vd_cache *c = vd_cache_create(&o);
	if (!c)
		abort();
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!a) {
		rcu_register_thread();
		a = mk();
		b = mk();
	}
	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	struct vd_snapshot_load_opts o = {.max_ttl = 86400,
					  .max_neg_ttl = 3600,
					  .max_bytes = 1 << 20,
					  .now_ns = NOW,
					  .real_ns = REAL};
	if (size >= HDR + TRAILER) {
		unsigned int n;
		if (EVP_Digest(buf, size - 32, buf + size - 32, &n,
			       EVP_sha256(), NULL) != 1)
			abort();
		memcpy(o.digest, buf + 24, sizeof(o.digest));
	}
	char err[256];
	struct vd_snapshot_counts c1, c2;
	(void)vd_cache_flush_all(a);
	if (vd_snapshot_apply(a, buf, size, &o, &c1, err, sizeof(err)) != 0) {
		struct vd_cache_stats st;
		vd_cache_get_stats(a, &st);
		if (st.entries != 0)
			abort(); /* refused, yet something went in */
		return 0;
	}
	uint8_t *out = NULL;
	size_t len = 0, n = 0;
	struct vd_snapshot_build_opts bo = {.now_ns = NOW, .real_ns = REAL};
	memcpy(bo.digest, o.digest, sizeof(bo.digest));
	if (vd_snapshot_build(a, &bo, &out, &len, &n) != 0)
		abort();
	if (n != c1.loaded)
		abort();
	(void)vd_cache_flush_all(b);
	if (vd_snapshot_apply(b, out, len, &o, &c2, err, sizeof(err)) != 0 ||
	    c2.loaded != n)
		abort();
	free(out);
	return 0;
}
