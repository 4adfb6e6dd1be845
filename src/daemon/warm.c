#include "daemon/warm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <urcu.h>

#include "core/clock.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "dataplane/xdp/xdp_daemon.h"

/* A snapshot holds less than the cache it came from (no per-entry
 * overhead); twice the budget leaves room for one from a bigger node,
 * whose colder entries are then skipped. */
#define MAX_FILE_SLACK (1u << 20)

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * VD_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static double ms_since(uint64_t t0)
{
	return (double)(vd_now_ns() - t0) / (double)VD_NS_PER_MS;
}

static uint64_t xdp_hits(void *arg, const uint8_t *key, size_t key_len)
{
	return vd_xdp_daemon_key_hits(arg, key, key_len);
}

int vd_daemon_cache_save(struct vd_daemon *d, const char *path, size_t *n,
			 char *err, size_t errlen)
{
	/* Hotness counts the answers XDP gave as well: on a node with the
	 * fast path the cache sees almost none of its hits itself. */
	struct vd_snapshot_build_opts o = {.now_ns = vd_now_ns(),
					   .real_ns = real_ns(),
					   .extra_hits = xdp_hits,
					   .extra_arg = d};
	rcu_read_lock();
	memcpy(o.digest, rcu_dereference(d->settings)->answer_digest,
	       sizeof(o.digest));
	rcu_read_unlock();
	return vd_snapshot_save(d->cache, path, &o, n, err, errlen);
}

int vd_daemon_cache_load(struct vd_daemon *d, const char *path,
			 struct vd_snapshot_counts *cnt, char *err,
			 size_t errlen)
{
	struct vd_snapshot_load_opts o;
	rcu_read_lock();
	const struct vd_settings *st = rcu_dereference(d->settings);
	memcpy(o.digest, st->answer_digest, sizeof(o.digest));
	o.max_ttl = st->cfg.cache_max_ttl;
	o.max_neg_ttl = st->cfg.cache_max_negative_ttl;
	o.max_bytes = st->cfg.cache_size;
	rcu_read_unlock();
	o.now_ns = vd_now_ns();
	o.real_ns = real_ns();
	return vd_snapshot_load(d->cache, path, 2 * o.max_bytes + MAX_FILE_SLACK,
				&o, cnt, err, errlen);
}

void vd_daemon_warm_start(struct vd_daemon *d)
{
	const char *path = d->settings->cfg.cache_snapshot;
	if (!path[0])
		return;
	char err[256] = "";
	struct vd_snapshot_counts cnt = {0};
	uint64_t t0 = vd_now_ns();
	int rc = vd_daemon_cache_load(d, path, &cnt, err, sizeof(err));
	if (rc == -ENOENT) {
		vd_log(VD_LOG_NOTICE, "cache snapshot %s: none, starting cold",
		       path);
		return;
	}
	if (rc != 0) {
		/* Kept aside for a post-mortem, out of the next start's way. */
		char aside[VD_CONFIG_STR_MAX + 16];
		snprintf(aside, sizeof(aside), "%s.rejected", path);
		bool moved = rc != -EACCES && rename(path, aside) == 0;
		vd_log(VD_LOG_WARNING,
		       "cache snapshot %s rejected whole: %s; starting cold%s%s",
		       path, err, moved ? ", file moved to " : "",
		       moved ? aside : "");
		return;
	}
	vd_log(VD_LOG_NOTICE,
	       "cache snapshot %s: loaded %zu of %zu entries (%zu expired, "
	       "%zu skipped, %zu already cached) in %.1f ms",
	       path, cnt.loaded, cnt.entries, cnt.expired, cnt.skipped,
	       cnt.present, ms_since(t0));
	if (unlink(path) != 0)
		vd_log(VD_LOG_WARNING,
		       "cache snapshot %s: cannot remove it after loading (%s); "
		       "a crash before the next clean stop would load it again",
		       path, strerror(errno));
}

void vd_daemon_warm_stop(struct vd_daemon *d)
{
	const char *path = d->settings->cfg.cache_snapshot;
	if (!path[0])
		return;
	char err[256] = "";
	size_t n = 0;
	uint64_t t0 = vd_now_ns();
	int rc = vd_daemon_cache_save(d, path, &n, err, sizeof(err));
	if (rc != 0) {
		vd_log(VD_LOG_WARNING, "cache snapshot not written: %s", err);
		return;
	}
	vd_log(VD_LOG_NOTICE, "cache snapshot %s: wrote %zu entries in %.1f ms",
	       path, n, ms_since(t0));
}
