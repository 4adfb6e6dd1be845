/*
 * The daemon's side of the XDP fast path (see xdp_daemon.h).
 *
 * Prefetch for names only XDP serves: the user-space entry sees no hits,
 * so pipeline.c's maybe_prefetch() never fires for it.  The program counts
 * hits per mirrored entry and, when an entry is hit prefetch-min-hits
 * times inside its last prefetch-percent of TTL, posts its key once to a
 * ring buffer.  Each housekeeping tick drains it here and hands every key
 * to a worker (round robin) with event_base_once(): the resolver is per
 * worker and not thread safe, so the refresh must run on a worker's own
 * loop.  The entry's prefetching flag keeps this and the socket path from
 * both refreshing it.
 */
#include "dataplane/xdp/xdp_daemon.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <urcu.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "dataplane/xdp/xdp.h"
#include "dns/wire.h"
#include "resolve/resolve.h"
#include "vd_build.h"


#if VD_HAVE_XDP

/*
 * d->xdp is replaced by a reload, which may run on the control thread
 * (vipdnsctl reload) while the main thread ticks and the metrics and
 * anycast threads read counters: every use of it is under this lock.
 * Held only for short, non-blocking work (map reads, ring drains).
 */
static pthread_mutex_t xdp_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * Serialises apply (with its O(entries) mirror fill) and stop, so the
 * fill can run without xdp_lock: the tick, the metrics and the anycast
 * thread (which refreshes the VIPs' 2 s lifetime and reads the counters)
 * keep going meanwhile, and nothing frees d->xdp under the fill.  Order:
 * apply_lock, then xdp_lock.
 */
static pthread_mutex_t apply_lock = PTHREAD_MUTEX_INITIALIZER;

struct prefetch_job {
	struct vd_worker *w;
	uint16_t key_len;
	uint64_t hash;
	uint8_t key[VD_DNS_KEY_MAX];
};

static void settings_to_opts(const struct vd_settings *st,
			     struct vd_xdp_opts *o)
{
	const struct vd_config *cfg = &st->cfg;
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < cfg->n_xdp_interfaces && i < VD_XDP_MAX_IFACES;
	     i++) {
		/* The config validated the name (IFNAMSIZ). */
		snprintf(o->ifaces[i], sizeof(o->ifaces[i]), "%.*s",
			 (int)sizeof(o->ifaces[i]) - 1, cfg->xdp_interfaces[i]);
		o->n_ifaces++;
	}
	o->mode = cfg->xdp_mode == VD_CONFIG_XDP_NATIVE    ? VD_XDP_MODE_NATIVE
		  : cfg->xdp_mode == VD_CONFIG_XDP_GENERIC ? VD_XDP_MODE_GENERIC
							   : VD_XDP_MODE_AUTO;
	const struct vd_listen *vips = cfg->n_xdp_vips ? cfg->xdp_vips : cfg->listen;
	size_t n = cfg->n_xdp_vips ? cfg->n_xdp_vips : cfg->n_listen;
	for (size_t i = 0; i < n && i < VD_XDP_MAX_VIPS; i++)
		o->vips[o->n_vips++] = vips[i].addr;
	o->acl = &cfg->acl;
	o->edns_size = cfg->edns_buffer_size;
	o->nsid = st->nsid_len ? st->nsid : NULL;
	o->nsid_len = st->nsid_len;
	o->prefetch = cfg->prefetch;
	o->prefetch_percent = cfg->prefetch_percent;
	o->prefetch_min_hits = cfg->prefetch_min_hits;
	o->max_answer = cfg->xdp_max_answer;
	o->map_entries = cfg->xdp_map_entries;
}

int vd_xdp_daemon_apply(struct vd_daemon *d)
{
	struct vd_xdp_opts o;
	settings_to_opts(d->settings, &o);
	pthread_mutex_lock(&apply_lock);
	pthread_mutex_lock(&xdp_lock);
	int rc = vd_xdp_apply(&d->xdp, &o, d->cache);
	struct vd_xdp *x = d->xdp;
	pthread_mutex_unlock(&xdp_lock);
	if (rc == 0 && vd_xdp_fill(x) != 0)
		vd_log(VD_LOG_WARNING, "xdp: no memory to fill the mirror: "
				       "names reach it as the cache stores them");
	pthread_mutex_unlock(&apply_lock);
	if (rc != 0)
		vd_log(VD_LOG_ERR, "xdp: fast path off (%s); the socket path "
				   "answers everything", strerror(-rc));
	return rc;
}

/* On the worker's thread. */
static void run_prefetch(evutil_socket_t fd, short what, void *arg)
{
	struct prefetch_job *j = arg;
	struct vd_dns_query q;
	(void)fd;
	(void)what;
	memset(&q, 0, sizeof(q));
	q.flags = VD_DNS_F_RD;
	if (j->key[0] & VD_DNS_KEY_F_CD)
		q.flags |= VD_DNS_F_CD;
	if (j->key[0] & VD_DNS_KEY_F_DO) {
		q.has_edns = true;
		q.edns_flags = VD_DNS_EDNS_DO;
		q.edns_udp_size = VD_DNS_EDNS_DEFAULT;
	}
	q.qtype = vd_get_u16(j->key + 1);
	q.qclass = vd_get_u16(j->key + 3);
	q.qname_len = (uint8_t)(j->key_len - VD_DNS_KEY_HDR);
	memcpy(q.qname, j->key + VD_DNS_KEY_HDR, q.qname_len);
	q.question_len = (uint16_t)(q.qname_len + 4);

	rcu_read_lock();
	if (vd_res_prefetch(j->w->res, &q, j->key, j->key_len, j->hash) != 0) {
		const struct vd_cache_entry *e = vd_cache_lookup(
			j->w->daemon->cache, j->key, j->key_len, j->hash);
		if (e)
			atomic_store(&((struct vd_cache_entry *)e)->prefetching, 0);
	}
	rcu_read_unlock();
	free(j);
}

static void on_prefetch(void *arg, const uint8_t *key, size_t key_len)
{
	static unsigned next_worker;
	struct vd_daemon *d = arg;
	if (key_len > VD_DNS_KEY_MAX || key_len <= VD_DNS_KEY_HDR ||
	    d->n_workers == 0)
		return;
	uint64_t hash = vd_cache_hash(key, key_len);
	rcu_read_lock();
	const struct vd_cache_entry *e = vd_cache_lookup(d->cache, key, key_len,
							 hash);
	uint8_t expected = 0;
	bool mine = e && atomic_compare_exchange_strong(
				 &((struct vd_cache_entry *)e)->prefetching,
				 &expected, 1);
	rcu_read_unlock();
	if (!mine)
		return; /* gone, or a refresh is already in flight */
	struct prefetch_job *j = malloc(sizeof(*j));
	struct vd_worker *w = d->workers[next_worker++ % d->n_workers];
	const struct timeval now = {0, 0};
	if (j) {
		j->w = w;
		j->key_len = (uint16_t)key_len;
		j->hash = hash;
		memcpy(j->key, key, key_len);
	}
	if (!j || event_base_once(w->base, -1, EV_TIMEOUT, run_prefetch, j,
				  &now) != 0) {
		free(j);
		rcu_read_lock();
		e = vd_cache_lookup(d->cache, key, key_len, hash);
		if (e)
			atomic_store(&((struct vd_cache_entry *)e)->prefetching, 0);
		rcu_read_unlock();
	}
}

void vd_xdp_daemon_tick(struct vd_daemon *d)
{
	pthread_mutex_lock(&xdp_lock);
	(void)vd_xdp_drain_prefetch(d->xdp, on_prefetch, d);
	pthread_mutex_unlock(&xdp_lock);
}

bool vd_xdp_daemon_counters(struct vd_daemon *d,
			    uint64_t out[VD_XDP_CTR_MAX], size_t *attached)
{
	pthread_mutex_lock(&xdp_lock);
	bool on = d->xdp != NULL;
	if (on) {
		vd_xdp_get_counters(d->xdp, out);
		*attached = vd_xdp_attached(d->xdp);
	} else {
		memset(out, 0, sizeof(uint64_t) * VD_XDP_CTR_MAX);
		*attached = 0;
	}
	pthread_mutex_unlock(&xdp_lock);
	return on;
}

void vd_xdp_daemon_log_stats(struct vd_daemon *d)
{
	uint64_t c[VD_XDP_CTR_MAX];
	struct vd_xdp_mirror_stats ms;
	char line[1024];
	size_t n = 0;
	pthread_mutex_lock(&xdp_lock);
	if (!d->xdp) {
		pthread_mutex_unlock(&xdp_lock);
		return;
	}
	vd_xdp_get_counters(d->xdp, c);
	vd_xdp_get_mirror_stats(d->xdp, &ms);
	size_t attached = vd_xdp_attached(d->xdp);
	pthread_mutex_unlock(&xdp_lock);
	for (unsigned i = 0; i < VD_XDP_CTR_MAX && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %llu",
				      vd_xdp_counter_name(i),
				      (unsigned long long)c[i]);
	vd_log(VD_LOG_NOTICE,
	       "stats: xdp interfaces %zu%s mirrored %llu skipped %llu "
	       "removed %llu map-failures %llu",
	       attached, line, (unsigned long long)ms.mirrored,
	       (unsigned long long)ms.skipped, (unsigned long long)ms.removed,
	       (unsigned long long)ms.failures);
}

uint64_t vd_xdp_daemon_key_hits(struct vd_daemon *d, const uint8_t *key,
				size_t key_len)
{
	pthread_mutex_lock(&xdp_lock);
	uint64_t h = vd_xdp_key_hits(d->xdp, key, key_len);
	pthread_mutex_unlock(&xdp_lock);
	return h;
}

void vd_xdp_daemon_stop(struct vd_daemon *d)
{
	pthread_mutex_lock(&apply_lock);
	pthread_mutex_lock(&xdp_lock);
	vd_xdp_stop(d->xdp);
	d->xdp = NULL;
	pthread_mutex_unlock(&xdp_lock);
	pthread_mutex_unlock(&apply_lock);
}

#else /* !VD_HAVE_XDP */

int vd_xdp_daemon_apply(struct vd_daemon *d)
{
	if (d->settings->cfg.n_xdp_interfaces == 0)
		return 0;
	vd_log(VD_LOG_ERR, "xdp: this build has no XDP support (clang, "
			   "bpftool, libbpf missing); xdp-interface ignored");
	return -ENOTSUP;
}

void vd_xdp_daemon_tick(struct vd_daemon *d)
{
	(void)d;
}

void vd_xdp_daemon_log_stats(struct vd_daemon *d)
{
	(void)d;
}

bool vd_xdp_daemon_counters(struct vd_daemon *d,
			    uint64_t out[VD_XDP_CTR_MAX], size_t *attached)
{
	(void)d;
	memset(out, 0, sizeof(uint64_t) * VD_XDP_CTR_MAX);
	*attached = 0;
	return false;
}

uint64_t vd_xdp_daemon_key_hits(struct vd_daemon *d, const uint8_t *key,
				size_t key_len)
{
	(void)d;
	(void)key;
	(void)key_len;
	return 0;
}

void vd_xdp_daemon_stop(struct vd_daemon *d)
{
	(void)d;
}

#endif
