#include "daemon/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>
#include <urcu.h>

#include "anycast/anycast.h"
#include "core/clock.h"
#include "core/log.h"
#include "daemon/cookies.h"
#include "daemon/notify.h"
#include "daemon/privs.h"
#include "daemon/warm.h"
#include "resolve/engine.h"
#include "resolve/ubctx.h"
#include "resolve/zones.h"
#include "vd_build.h"
#include "dataplane/socket/dot.h"
#include "dataplane/socket/socket.h"
#include "dataplane/xdp/xdp_daemon.h"

/* Housekeeping period of the main thread (cache expiry and budget). */
#define MAINTAIN_MS 250

static void cache_opts(const struct vd_settings *st, struct vd_cache_opts *o)
{
	o->max_bytes = st->cfg.cache_size;
	o->stale_max_ns = st->stale_max_ns;
}

int vd_daemon_init(struct vd_daemon *d, const struct vd_config *cfg,
		   const char *config_path)
{
	char err[512] = "";
	memset(d, 0, sizeof(*d));
	/* First, while this is the only thread (privs.h). */
	int prc = vd_daemon_privs_prepare(cfg);
	if (prc != 0)
		return prc;
	snprintf(d->config_path, sizeof(d->config_path), "%s",
		 config_path ? config_path : "");
	if (evthread_use_pthreads() != 0) {
		vd_log(VD_LOG_CRIT, "libevent has no pthreads support");
		return -ENOTSUP;
	}
	struct vd_settings *st = vd_settings_new(cfg);
	if (!st)
		return -ENOMEM;
	rcu_assign_pointer(d->settings, st);

	struct vd_cache_opts co;
	cache_opts(st, &co);
	d->cache = vd_cache_create(&co);
	if (!d->cache) {
		vd_log(VD_LOG_CRIT, "cannot create the answer cache");
		return -ENOMEM;
	}

	/* The VIP addresses must exist before the listeners bind them. */
	int arc = vd_anycast_daemon_init(d, cfg, config_path);
	if (arc != 0)
		return arc;

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cfg->threads ? cfg->threads : (unsigned)(cpus > 0 ? cpus : 1);
	if (n > VD_DAEMON_MAX_WORKERS)
		n = VD_DAEMON_MAX_WORKERS;
	/* Before any socket: fds for every connection the limits allow. */
	int trc = vd_tcp_limits_init(cfg, n, err, sizeof(err));
	if (trc != 0) {
		vd_log(VD_LOG_CRIT, "%s", err);
		return trc;
	}
	d->rec = vd_rec_create(d, NULL, err, sizeof(err));
	if (!d->rec) {
		vd_log(VD_LOG_CRIT, "recursion: %s", err);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		d->workers[i] = vd_worker_new(d, i, st, err, sizeof(err));
		if (!d->workers[i]) {
			vd_log(VD_LOG_CRIT, "worker %u: %s", i, err);
			return -EINVAL;
		}
		d->n_workers++;
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		char a[80];
		vd_sock_addr_str((const struct sockaddr *)&cfg->listen[i].addr, a,
				 sizeof(a));
		vd_log(VD_LOG_NOTICE, "listening on %s (udp, tcp)", a);
	}
	vd_log(VD_LOG_NOTICE,
	       "%u worker threads, cache %zu bytes, dnssec %s, node-id \"%.*s\"",
	       d->n_workers, cfg->cache_size, cfg->dnssec ? "on" : "off",
	       (int)st->nsid_len, (const char *)st->nsid);
	/* Before the drop; a reload keeps CAP_BPF, CAP_NET_ADMIN and
	 * CAP_PERFMON for it (privs.c). */
	(void)vd_xdp_daemon_apply(d);
	return 0;
}

int vd_daemon_drop_privileges(struct vd_daemon *d)
{
	if (!d->settings->cfg.user[0])
		return 0;
	return vd_daemon_privs_drop(&d->settings->cfg);
}

void vd_daemon_stats(struct vd_daemon *d, struct vd_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < d->n_workers; i++) {
		const struct vd_stats *s = &d->workers[i]->stats;
#define VD_STATS_SUM(name)                                                     \
	VD_STAT_ADD(out, name,                                                 \
		    atomic_load_explicit(&s->name, memory_order_relaxed));
		VD_STATS_FIELDS(VD_STATS_SUM)
#undef VD_STATS_SUM
		for (int r = 0; r < 16; r++)
			VD_STAT_ADD(out, rcode[r],
				    atomic_load_explicit(&s->rcode[r],
							 memory_order_relaxed));
		vd_stats_sum_extra(out, s);
	}
}

static void log_stats(struct vd_daemon *d)
{
	struct vd_stats s;
	struct vd_cache_stats cs;
	vd_daemon_stats(d, &s);
	vd_cache_get_stats(d->cache, &cs);
	vd_log(VD_LOG_NOTICE,
	       "stats: udp %llu tcp %llu hits %llu misses %llu stale %llu "
	       "prefetch %llu recursions %llu failures %llu coalesced %llu "
	       "over-limit %llu acl-refused %llu acl-dropped %llu malformed %llu "
	       "cache entries %llu bytes %llu evictions %llu",
	       (unsigned long long)s.queries_udp, (unsigned long long)s.queries_tcp,
	       (unsigned long long)s.cache_hits, (unsigned long long)s.cache_misses,
	       (unsigned long long)s.stale_served, (unsigned long long)s.prefetches,
	       (unsigned long long)s.recursions,
	       (unsigned long long)s.recursion_failures,
	       (unsigned long long)s.coalesced, (unsigned long long)s.over_limit,
	       (unsigned long long)s.refused_acl, (unsigned long long)s.dropped_acl,
	       (unsigned long long)s.dropped_malformed,
	       (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
	       (unsigned long long)cs.evictions);
	vd_xdp_daemon_log_stats(d);
}

/* Options a reload cannot apply to running workers: they need new
 * sockets or threads.  Named in the log so nobody waits for them. */
static void warn_restart_only(const struct vd_config *a, const struct vd_config *b)
{
	struct {
		const char *name;
		bool changed;
	} keys[] = {
		{"listen", a->n_listen != b->n_listen ||
				   memcmp(a->listen, b->listen,
					  sizeof(a->listen[0]) * a->n_listen) != 0},
		{"threads", a->threads != b->threads},
		{"max-recursions", a->max_recursions != b->max_recursions},
		{"user", strcmp(a->user, b->user) != 0},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].changed)
			vd_log(VD_LOG_WARNING,
			       "reload: %s changed; it takes effect at restart",
			       keys[i].name);
}

/* Options baked into libunbound contexts: a change renews them. */
static bool recursion_changed(const struct vd_config *a, const struct vd_config *b)
{
	return a->dnssec != b->dnssec ||
	       strcmp(a->root_hints, b->root_hints) != 0 ||
	       a->n_trust_anchor_files != b->n_trust_anchor_files ||
	       memcmp(a->trust_anchor_files, b->trust_anchor_files,
		      sizeof(a->trust_anchor_files)) != 0 ||
	       a->n_unbound_options != b->n_unbound_options ||
	       memcmp(a->unbound_options, b->unbound_options,
		      sizeof(a->unbound_options)) != 0 ||
	       a->qname_minimisation != b->qname_minimisation ||
	       a->aggressive_nsec != b->aggressive_nsec ||
	       a->use_caps_for_id != b->use_caps_for_id ||
	       a->edns_buffer_size != b->edns_buffer_size ||
	       a->cache_max_ttl != b->cache_max_ttl ||
	       a->cache_max_negative_ttl != b->cache_max_negative_ttl ||
	       a->n_neg_ttl_zones != b->n_neg_ttl_zones ||
	       memcmp(a->neg_ttl_zones, b->neg_ttl_zones,
		      sizeof(a->neg_ttl_zones)) != 0 ||
	       vd_zones_changed(a, b);
}

struct zone_flush {
	struct vd_daemon *d;
	size_t removed;
};

static void flush_zone_cb(const uint8_t *name, size_t len, void *arg)
{
	struct zone_flush *f = arg;
	f->removed += vd_cache_flush_zone(f->d->cache, name, len);
}

static int reload_locked(struct vd_daemon *d);

static int reload_here(struct vd_daemon *d)
{
	/* SIGHUP (main thread) and vipdnsctl reload (control thread) may
	 * race; each reload publishes and frees settings. */
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	int rc = reload_locked(d);
	pthread_mutex_unlock(&lock);
	return rc;
}

/*
 * Reloads asked from another thread run on the main thread.  After
 * `user = ...` only the main thread (and the threads it starts later)
 * holds the capabilities a reload may need (netlink for the VIPs, bpf()
 * for XDP): capabilities are per thread, and the control thread, started
 * before the drop, has none (privs.h).  The requester waits for the main
 * loop to run a reload begun after its request.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t main;
	bool open;           /* the main loop takes requests */
	uint64_t asked, done; /* generations */
	int rc;              /* of reload "done" */
} handoff = {.lock = PTHREAD_MUTEX_INITIALIZER,
	     .cond = PTHREAD_COND_INITIALIZER};

static void handoff_open(bool open)
{
	pthread_mutex_lock(&handoff.lock);
	handoff.main = pthread_self();
	handoff.open = open;
	pthread_cond_broadcast(&handoff.cond);
	pthread_mutex_unlock(&handoff.lock);
}

/* On the main thread, for a SIGHUP. */
static void handoff_reload(struct vd_daemon *d)
{
	pthread_mutex_lock(&handoff.lock);
	uint64_t gen = handoff.asked;
	pthread_mutex_unlock(&handoff.lock);
	int rc = reload_here(d);
	pthread_mutex_lock(&handoff.lock);
	handoff.done = gen;
	handoff.rc = rc;
	pthread_cond_broadcast(&handoff.cond);
	pthread_mutex_unlock(&handoff.lock);
}

int vd_daemon_reload(struct vd_daemon *d)
{
	pthread_mutex_lock(&handoff.lock);
	if (!handoff.open || pthread_equal(handoff.main, pthread_self())) {
		/* Before the main loop (still root, or the short window
		 * after the drop) or on the main thread itself. */
		pthread_mutex_unlock(&handoff.lock);
		return reload_here(d);
	}
	uint64_t gen = ++handoff.asked;
	/* Blocked everywhere, taken by the main loop's sigtimedwait(). */
	int rc = -pthread_kill(handoff.main, SIGHUP);
	while (rc == 0 && handoff.open && handoff.done < gen)
		pthread_cond_wait(&handoff.cond, &handoff.lock);
	if (rc == 0)
		rc = handoff.done >= gen ? handoff.rc : -ECANCELED;
	pthread_mutex_unlock(&handoff.lock);
	return rc;
}

static int reload_locked(struct vd_daemon *d)
{
	char err[512];
	struct vd_config *cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	vd_config_defaults(cfg);
	if (d->config_path[0] &&
	    vd_config_load(cfg, d->config_path, err, sizeof(err)) != 0) {
		vd_log(VD_LOG_ERR, "reload failed, keeping the running config: %s",
		       err);
		free(cfg);
		return -EINVAL;
	}
	if (vd_res_zones_probe(cfg, err, sizeof(err)) != 0) {
		vd_log(VD_LOG_ERR, "reload failed, keeping the running config: "
				   "%s: %s", d->config_path, err);
		free(cfg);
		return -EINVAL;
	}
	struct vd_settings *old = d->settings;
	warn_restart_only(&old->cfg, cfg);
	bool old_cookie = old->cfg.answer_cookie;
	char old_cookie_file[VD_CONFIG_STR_MAX];
	memcpy(old_cookie_file, old->cfg.cookie_secret_file,
	       sizeof(old_cookie_file));
	bool renew = recursion_changed(&old->cfg, cfg);
	/* Zones and policy change answers: what the answer cache (and with
	 * it the XDP mirror) holds for the names they touch must go once
	 * the new contexts are in, or an old override outlives the
	 * reload.  Settled before cfg is freed. */
	struct zone_flush flush = {.d = d};
	bool flush_all = false;
	struct vd_config *zones_old = NULL;
	if (vd_zones_changed(&old->cfg, cfg)) {
		zones_old = malloc(sizeof(*zones_old));
		if (zones_old)
			memcpy(zones_old, &old->cfg, sizeof(*zones_old));
		else
			flush_all = true;
	}
	struct vd_settings *st = vd_settings_new(cfg);
	free(cfg);
	if (!st)
		return -ENOMEM;
	vd_log_setup((enum vd_log_target)st->cfg.log_target,
		     (enum vd_log_level)st->cfg.log_level);
	rcu_assign_pointer(d->settings, st);
	struct vd_cache_opts co;
	cache_opts(st, &co);
	vd_cache_set_opts(d->cache, &co);
	/* Workers may still hold the old settings inside a read section. */
	synchronize_rcu();
	vd_settings_free(old);
	if (renew) {
		vd_log(VD_LOG_NOTICE, "reload: recursion options changed; "
				      "renewing libunbound contexts");
		char rerr[256];
		if (vd_rec_renew(d->rec, rerr, sizeof(rerr)) != 0)
			vd_log(VD_LOG_ERR, "reload: recursion keeps its old "
					   "options: %s", rerr);
	}
	if (zones_old) {
		flush_all = vd_zones_diff(zones_old, &st->cfg, flush_zone_cb,
					  &flush);
		free(zones_old);
	}
	if (flush_all)
		flush.removed = vd_cache_flush_all(d->cache);
	if (zones_old || flush_all)
		vd_log(VD_LOG_NOTICE, "reload: zones or answer policy changed; "
				      "%zu cached answers flushed%s",
		       flush.removed, flush_all ? " (all)" : "");
	if (old_cookie != st->cfg.answer_cookie ||
	    strcmp(old_cookie_file, st->cfg.cookie_secret_file) != 0) {
		char cerr[320];
		if (vd_cookies_init(st->cfg.cookie_secret_file,
				    st->cfg.answer_cookie, cerr,
				    sizeof(cerr)) != 0)
			vd_log(VD_LOG_ERR, "reload: cookie-secret-file: %s; "
					   "answering without cookies",
			       cerr);
	}
	{
		/* DoT: certificate, key and ticket keys as the files are now
		 * (renewed certificates); open connections keep theirs. */
		char terr[512];
		if (vd_dot_load(&st->cfg, terr, sizeof(terr)) != 0)
			vd_log(VD_LOG_ERR, "reload: DNS over TLS keeps its old "
					   "certificate: %s",
			       terr);
	}
	(void)vd_xdp_daemon_apply(d); /* interfaces, VIPs, ACL */
	vd_anycast_daemon_reload(d);
	vd_log(VD_LOG_NOTICE, "configuration reloaded from %s",
	       d->config_path[0] ? d->config_path : "built-in defaults");
	return 0;
}

void vd_daemon_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/*
 * WATCHDOG=1 every half interval while this loop and every worker loop
 * tick; a worker stuck in a callback for a whole interval stops the pings
 * and systemd restarts the node (which withdraws its VIP).
 */
static void notify_watchdog(struct vd_daemon *d, uint64_t interval_ns,
			    uint64_t *last)
{
	uint64_t now = vd_now_ns();
	if (!interval_ns || now - *last < interval_ns / 2)
		return;
	for (unsigned i = 0; i < d->n_workers; i++)
		if (!vd_worker_alive(d->workers[i], now, interval_ns / 2)) {
			vd_log(VD_LOG_WARNING, "worker %u loop stalled: no "
					       "watchdog ping", i);
			*last = now;
			return;
		}
	*last = now;
	(void)vd_notify("WATCHDOG=1");
}

int vd_daemon_run(struct vd_daemon *d)
{
	int erc = vd_rec_start(d->rec);
	if (erc != 0) {
		vd_log(VD_LOG_CRIT, "cannot start the recursion thread: %s",
		       strerror(-erc));
		return 1;
	}
	/* Before any worker answers and before any announcement: a node
	 * joins the VIP with what it knew when it stopped. */
	vd_daemon_warm_start(d);
	for (unsigned i = 0; i < d->n_workers; i++) {
		int rc = vd_worker_start(d->workers[i]);
		if (rc != 0) {
			vd_log(VD_LOG_CRIT, "cannot start worker %u: %s", i,
			       strerror(-rc));
			for (unsigned j = 0; j < i; j++)
				vd_worker_request_stop(d->workers[j]);
			return 1;
		}
	}
	if (vd_anycast_daemon_start(d) != 0) {
		for (unsigned i = 0; i < d->n_workers; i++)
			vd_worker_request_stop(d->workers[i]);
		return 1;
	}
	vd_log(VD_LOG_NOTICE, "vipdnsd %s ready", VD_VERSION);
	handoff_open(true);
	/* systemd: ready once the listeners are up and, with anycast, every
	 * VIP has had its first health check (until then BIRD announces
	 * nothing anyway); a unit ordered after vipdnsd then finds a node
	 * whose state is known. */
	bool notified_ready = false;
	uint64_t watchdog_ns = vd_notify_watchdog_ns();
	uint64_t last_ping = 0;

	sigset_t set;
	vd_daemon_signal_set(&set);
	bool draining = false; /* SIGTERM taken, anycast drain running */
	for (;;) {
		struct timespec tick = {.tv_sec = 0,
					.tv_nsec = MAINTAIN_MS * VD_NS_PER_MS};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			/* Anycast: withdraw and drain first; a second
			 * signal stops at once. */
			if (!draining && vd_anycast_daemon_begin_stop(d)) {
				draining = true;
				(void)vd_notify("STOPPING=1\nSTATUS=draining");
				continue;
			}
			vd_log(VD_LOG_NOTICE, "signal %d: stopping", sig);
			break;
		}
		if (sig == SIGHUP)
			handoff_reload(d);
		else if (sig == SIGUSR1)
			log_stats(d);
		vd_cache_maintain(d->cache, vd_now_ns());
		vd_xdp_daemon_tick(d);
		vd_anycast_daemon_tick(d);
		if (draining && vd_anycast_daemon_stop_done(d)) {
			vd_log(VD_LOG_NOTICE, "drained: stopping");
			break;
		}
		if (!notified_ready && vd_anycast_daemon_checked(d)) {
			notified_ready = true;
			(void)vd_notify("READY=1\nSTATUS=serving");
		}
		notify_watchdog(d, watchdog_ns, &last_ping);
	}
	(void)vd_notify("STOPPING=1\nSTATUS=stopping");
	handoff_open(false); /* waiting requesters give up */
	for (unsigned i = 0; i < d->n_workers; i++)
		vd_worker_request_stop(d->workers[i]);
	for (unsigned i = 0; i < d->n_workers; i++)
		vd_worker_join(d->workers[i]);
	/* After the workers: their drain waits on its results. */
	vd_rec_stop(d->rec);
	/* Nothing changes the cache any more: the snapshot is exact. */
	vd_daemon_warm_stop(d);
	log_stats(d);
	return 0;
}

void vd_daemon_fini(struct vd_daemon *d)
{
	vd_xdp_daemon_stop(d); /* detach first: its mirror needs the cache */
	vd_anycast_daemon_stop(d); /* withdraw, remove the VIPs */
	for (unsigned i = 0; i < d->n_workers; i++)
		vd_worker_join(d->workers[i]);
	/* Before the workers' recursion state, which it may still hold. */
	vd_rec_destroy(d->rec);
	d->rec = NULL;
	for (unsigned i = 0; i < d->n_workers; i++)
		vd_worker_free(d->workers[i]);
	d->n_workers = 0;
	vd_tcp_limits_fini();
	if (d->cache)
		vd_cache_destroy(d->cache);
	d->cache = NULL;
	vd_settings_free(d->settings);
	d->settings = NULL;
}
