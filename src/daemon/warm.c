#include "daemon/warm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <urcu.h>

#include "core/clock.h"
#include "core/log.h"
#include "control/client.h"
#include "control/tls.h"
#include "daemon/daemon.h"
#include "dataplane/xdp/xdp_daemon.h"

/* A snapshot holds less than the cache it came from (no per-entry
 * overhead); twice the budget leaves room for one from a bigger node,
 * whose colder entries are then skipped. */
#define MAX_FILE_SLACK (1u << 20)
/* A peer that does not answer within this is skipped: warming must not
 * hold a node back from service for long. */
#define PEER_TIMEOUT_S 3
#define PEERS_TRIED_MAX 3

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

int vd_daemon_cache_export(struct vd_daemon *d, size_t n, uint8_t **buf,
			   size_t *len, size_t *entries)
{
	struct vd_snapshot_build_opts o = {.now_ns = vd_now_ns(),
					   .real_ns = real_ns(),
					   .max_entries = n,
					   .extra_hits = xdp_hits,
					   .extra_arg = d};
	rcu_read_lock();
	memcpy(o.digest, rcu_dereference(d->settings)->answer_digest,
	       sizeof(o.digest));
	rcu_read_unlock();
	return vd_snapshot_build(d->cache, &o, buf, len, entries);
}

static uint32_t neg_ttl_for(void *arg, const uint8_t *name, size_t len)
{
	struct vd_daemon *d = arg;
	rcu_read_lock();
	uint32_t t = vd_settings_max_neg_ttl(rcu_dereference(d->settings), name,
					     len);
	rcu_read_unlock();
	return t;
}

static void load_opts(struct vd_daemon *d, struct vd_snapshot_load_opts *o)
{
	o->neg_ttl_for = neg_ttl_for;
	o->neg_arg = d;
	rcu_read_lock();
	const struct vd_settings *st = rcu_dereference(d->settings);
	memcpy(o->digest, st->answer_digest, sizeof(o->digest));
	o->max_ttl = st->cfg.cache_max_ttl;
	o->max_neg_ttl = st->cfg.cache_max_negative_ttl;
	o->max_bytes = st->cfg.cache_size;
	rcu_read_unlock();
	o->now_ns = vd_now_ns();
	o->real_ns = real_ns();
}

int vd_daemon_cache_load(struct vd_daemon *d, const char *path,
			 struct vd_snapshot_counts *cnt, char *err,
			 size_t errlen)
{
	struct vd_snapshot_load_opts o;
	load_opts(d, &o);
	return vd_snapshot_load(d->cache, path, 2 * o.max_bytes + MAX_FILE_SLACK,
				&o, cnt, err, errlen);
}

/* One peer: healthy, then its hottest entries; true when some loaded. */
static bool warm_from(struct vd_daemon *d, SSL_CTX *ctx, const char *peer,
		      unsigned n)
{
	char name[64] = "?", why[512] = "", req[64];
	struct vd_ctl_chan ch;
	char *body = NULL;
	size_t body_len = 0;
	bool ok = false;
	/* One request per connection (proto.h). */
	if (vd_ctl_peer_open(ctx, peer, PEER_TIMEOUT_S, &ch, name, sizeof(name),
			     why, sizeof(why)) != 0)
		goto out;
	int rc = vd_ctl_exchange(&ch, "health\n", &body, &body_len, why,
				 sizeof(why));
	vd_ctl_chan_close(&ch);
	if (rc != 0 || strncmp(body, "healthy\n", 8) != 0) {
		if (rc == 0)
			snprintf(why, sizeof(why), "not healthy");
		goto out;
	}
	free(body);
	body = NULL;
	if (vd_ctl_peer_open(ctx, peer, PEER_TIMEOUT_S, &ch, name, sizeof(name),
			     why, sizeof(why)) != 0)
		goto out;
	snprintf(req, sizeof(req), "cache-export %u\n", n);
	rc = vd_ctl_exchange(&ch, req, &body, &body_len, why, sizeof(why));
	vd_ctl_chan_close(&ch);
	if (rc != 0)
		goto out;
	struct vd_snapshot_load_opts o;
	load_opts(d, &o);
	struct vd_snapshot_counts cnt = {0};
	uint64_t t0 = vd_now_ns();
	if (vd_snapshot_apply(d->cache, (const uint8_t *)body, body_len, &o,
			      &cnt, why, sizeof(why)) != 0)
		goto out;
	vd_log(VD_LOG_NOTICE,
	       "cache warmed from peer %s: loaded %zu of %zu entries (%zu "
	       "expired, %zu skipped) in %.1f ms",
	       name, cnt.loaded, cnt.entries, cnt.expired, cnt.skipped,
	       ms_since(t0));
	ok = cnt.loaded > 0;
	if (!ok)
		snprintf(why, sizeof(why), "nothing to load");
out:
	if (!ok)
		vd_log(VD_LOG_NOTICE, "cache warming from peer %s: %s", name,
		       why);
	free(body);
	return ok;
}

/* Every node behind one VIP has the same cluster-peer list, itself
 * included: its own entry is skipped by name (node-id). */
static void warm_from_peers(struct vd_daemon *d)
{
	const struct vd_config *cfg = &d->settings->cfg;
	if (!cfg->cache_warm_entries || cfg->n_cluster_peers == 0)
		return;
	char err[512] = "";
	SSL_CTX *ctx = vd_ctl_tls_ctx(false, cfg->cluster_cert, cfg->cluster_key,
				      cfg->cluster_ca, err, sizeof(err));
	if (!ctx) {
		vd_log(VD_LOG_WARNING, "cache warming: %s", err);
		return;
	}
	size_t own = strnlen((const char *)d->settings->nsid,
			     d->settings->nsid_len);
	unsigned tried = 0;
	for (size_t i = 0; i < cfg->n_cluster_peers && tried < PEERS_TRIED_MAX;
	     i++) {
		const char *peer = cfg->cluster_peers[i];
		size_t nl = strcspn(peer, "=");
		if (nl == own && !memcmp(peer, d->settings->nsid, own))
			continue;
		tried++;
		if (warm_from(d, ctx, peer, cfg->cache_warm_entries))
			break;
	}
	SSL_CTX_free(ctx);
}

void vd_daemon_warm_start(struct vd_daemon *d)
{
	const char *path = d->settings->cfg.cache_snapshot;
	if (!path[0]) {
		warm_from_peers(d);
		return;
	}
	char err[256] = "";
	struct vd_snapshot_counts cnt = {0};
	uint64_t t0 = vd_now_ns();
	int rc = vd_daemon_cache_load(d, path, &cnt, err, sizeof(err));
	if (rc == -ENOENT) {
		vd_log(VD_LOG_NOTICE, "cache snapshot %s: none", path);
		warm_from_peers(d);
		return;
	}
	if (rc != 0) {
		/* Kept aside for a post-mortem, out of the next start's way. */
		char aside[VD_CONFIG_STR_MAX + 16];
		snprintf(aside, sizeof(aside), "%s.rejected", path);
		bool moved = rc != -EACCES && rename(path, aside) == 0;
		vd_log(VD_LOG_WARNING,
		       "cache snapshot %s rejected whole: %s; not loaded%s%s",
		       path, err, moved ? ", file moved to " : "",
		       moved ? aside : "");
		warm_from_peers(d);
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
	if (cnt.loaded == 0)
		warm_from_peers(d);
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
