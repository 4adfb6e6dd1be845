#include "anycast/anycast.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <urcu.h>

#include "anycast/birdconf.h"
#include "anycast/birdctl.h"
#include "anycast/health.h"
#include "anycast/links.h"
#include "anycast/parse.h"
#include "anycast/vip.h"
#include "config/config.h"
#include "control/server.h"
#include "core/clock.h"
#include "core/log.h"
#include "daemon/daemon.h"
#include "dataplane/xdp/xdp_daemon.h"
#include "metrics/registry.h"
#include "vd_build.h"
#if VD_HAVE_XDP
#include "dataplane/xdp/xdp.h"
#endif

#define MAX_VIPS VD_CONFIG_MAX_LIST
#define REFRESH_NS (500 * VD_NS_PER_MS)
#define BIRD_TIMEOUT_MS 3000
#define BIRD_POLL_NS (2 * VD_NS_PER_SEC)
#define MAX_SESSIONS 16

enum drain_phase {
	DRAIN_NONE,
	DRAIN_GSHUT,     /* announced with GRACEFUL_SHUTDOWN */
	DRAIN_WITHDRAWN, /* withdrawn, still answering */
};

static const char *const phase_names[] = {"no", "graceful-shutdown",
					  "withdrawn"};

struct vip_state {
	struct vd_anycast_vip vip;
	uint16_t port;
	bool listener;      /* a listen address covers the VIP */
	bool addr_ok;       /* last netlink refresh succeeded */
	bool healthy;       /* after rise/fall */
	unsigned ok_run, fail_run;
	uint64_t checks_ok, checks_fail;
	uint64_t changes;
	char last[192];     /* last probe result */
	bool announced;     /* as BIRD was last told successfully */
	bool gshut;
	bool degraded;      /* announced while unhealthy (health-degrade) */
};

struct session {
	char name[32];
	char state[16];
	char info[96];
};

struct vd_anycast {
	struct vd_daemon *d;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop;

	struct vip_state vips[MAX_VIPS];
	size_t n_vips;
	struct vd_anycast_canary canaries[VD_CONFIG_MAX_LIST];
	size_t n_canaries;
	unsigned interval_ms, timeout_ms, rise, fall, lifetime;
	bool degrade; /* health-degrade set: unhealthy VIPs stay, worse */
	unsigned drain_timeout_s, quiet_ms, gshut_ms;
	char ifname[VD_CONFIG_STR_MAX];
	char bird_socket[VD_CONFIG_STR_MAX];
	char announce_file[VD_CONFIG_STR_MAX];
	char bird_config[VD_CONFIG_STR_MAX];
	char config_path[4096];
	int ifindex;

	/* main thread only */
	struct vd_anycast_nl nl;
	uint64_t last_refresh_ns;
	uint64_t last_queries;
	_Atomic uint64_t last_query_ns; /* last time the query count moved */
	atomic_bool xdp_ok;

	/* drain */
	enum drain_phase phase;
	uint64_t phase_ns;       /* when the phase began */
	uint64_t applied_ns;     /* when BIRD last accepted a change */
	bool stopping;
	uint64_t stop_ns;

	/* BIRD */
	bool dirty;              /* the include must be (re)applied */
	bool bird_ok;
	char bird_err[160];
	uint64_t configures_ok, configures_fail;
	uint64_t last_poll_ns;
	struct session sessions[MAX_SESSIONS];
	size_t n_sessions;
	/* BFD sessions and tunnels (links.h); links_gen moves on reload so
	 * a poll started before it does not write back the old config. */
	struct vd_anycast_links links;
	uint64_t links_gen;
	bool want_bfd;
};

/* ------------------------------------------------------------ helpers */

/* Port the daemon answers the VIP on: an exact listen address, else a
 * wildcard of the family; 0 when none covers it. */
static uint16_t listen_port(const struct vd_config *cfg,
			    const struct vd_anycast_vip *v)
{
	uint16_t wild = 0;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct sockaddr_storage *ss = &cfg->listen[i].addr;
		if (ss->ss_family != v->family)
			continue;
		const uint8_t *a;
		uint16_t port;
		if (v->family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)ss;
			a = (const uint8_t *)&s4->sin_addr;
			port = ntohs(s4->sin_port);
		} else {
			const struct sockaddr_in6 *s6 = (const void *)ss;
			a = s6->sin6_addr.s6_addr;
			port = ntohs(s6->sin6_port);
		}
		size_t len = v->family == AF_INET ? 4 : 16;
		static const uint8_t zero[16];
		if (memcmp(a, v->addr, len) == 0)
			return port;
		if (memcmp(a, zero, len) == 0)
			wild = port;
	}
	return wild;
}

static void load_params(struct vd_anycast *a, const struct vd_config *cfg)
{
	a->interval_ms = cfg->health_interval_ms;
	a->timeout_ms = cfg->health_timeout_ms;
	a->rise = cfg->health_rise;
	a->fall = cfg->health_fall;
	struct vd_anycast_degrade dg;
	const char *dwhy = NULL;
	a->degrade = vd_anycast_degrade_parse(cfg->health_degrade, &dg,
					      &dwhy) == 0 &&
		     dg.kind != VD_ANYCAST_DEGRADE_OFF;
	a->drain_timeout_s = cfg->drain_timeout;
	a->quiet_ms = cfg->drain_quiet_ms;
	a->gshut_ms = cfg->drain_gshut_ms;
	a->n_canaries = 0;
	for (size_t i = 0; i < cfg->n_health_canaries; i++)
		if (vd_anycast_canary_parse(cfg->health_canaries[i],
					    &a->canaries[a->n_canaries],
					    NULL) == 0)
			a->n_canaries++;
	if (a->n_canaries == 0) {
		(void)vd_anycast_canary_parse(". NS", &a->canaries[0], NULL);
		a->n_canaries = 1;
	}
	snprintf(a->bird_socket, sizeof(a->bird_socket), "%s", cfg->bird_socket);
	snprintf(a->bird_config, sizeof(a->bird_config), "%s", cfg->bird_config);
	vd_anycast_links_init(&a->links, cfg);
	a->links_gen++;
	a->want_bfd = false;
	for (size_t i = 0; i < a->links.n_nbs; i++)
		a->want_bfd |= a->links.nbs[i].bfd;
}

/* BFD sessions from BIRD and the tunnels' interfaces, outside the lock
 * (BIRD may take its time), written back unless a reload came between. */
static void poll_links(struct vd_anycast *a, const char *sock)
{
	struct vd_anycast_links *l = malloc(sizeof(*l));
	char *text = malloc(8192);
	if (!l || !text)
		goto out;
	pthread_mutex_lock(&a->lock);
	*l = a->links;
	uint64_t gen = a->links_gen;
	bool want_bfd = a->want_bfd;
	pthread_mutex_unlock(&a->lock);
	if (want_bfd) {
		int rc = vd_anycast_birdc(sock, "show bfd sessions",
					  BIRD_TIMEOUT_MS, text, 8192);
		vd_anycast_links_parse_bfd(l, rc >= 0 && rc < 8000 ? text
								  : NULL);
	}
	vd_anycast_links_update(l);
	pthread_mutex_lock(&a->lock);
	if (a->links_gen == gen)
		a->links = *l;
	pthread_mutex_unlock(&a->lock);
out:
	free(text);
	free(l);
}

static void write_bird_config(struct vd_anycast *a, const struct vd_config *cfg)
{
	char err[256];
	if (!cfg->bird_config[0])
		return;
	if (vd_anycast_bird_write_config(cfg->bird_config, cfg,
					 a->config_path[0] ? a->config_path
							   : "built-in defaults",
					 err, sizeof(err)) != 0)
		vd_log(VD_LOG_ERR, "anycast: cannot write bird-config: %s", err);
	else
		vd_log(VD_LOG_INFO, "anycast: wrote %s", cfg->bird_config);
}

/* A reload may rewrite the path under the lock: copy it out under it. */
static void bird_socket_of(struct vd_anycast *a, char out[VD_CONFIG_STR_MAX])
{
	pthread_mutex_lock(&a->lock);
	memcpy(out, a->bird_socket, VD_CONFIG_STR_MAX);
	pthread_mutex_unlock(&a->lock);
}

/* Writes the include for announce/drain and asks BIRD to reconfigure.
 * Called without the lock.  0 when BIRD took it. */
static int bird_apply(struct vd_anycast *a, const struct vd_anycast_vip *vips,
		      size_t n, const bool *announce, const bool *drain,
		      const bool *degraded, char *err, size_t errlen)
{
	char reply[1024];
	int rc = vd_anycast_bird_write_announce(a->announce_file, vips, n,
						announce, drain, degraded);
	if (rc != 0) {
		snprintf(err, errlen, "%.120s: %.60s", a->announce_file, strerror(-rc));
		return rc;
	}
	char sock[VD_CONFIG_STR_MAX];
	bird_socket_of(a, sock);
	rc = vd_anycast_birdc(sock, "configure", BIRD_TIMEOUT_MS, reply,
			      sizeof(reply));
	if (rc < 0) {
		snprintf(err, errlen, "BIRD at %.110s: %.60s", sock,
			 strerror(-rc));
		return rc;
	}
	if (rc >= 8000) {
		char *nl = strchr(reply, '\n');
		if (nl)
			*nl = '\0';
		snprintf(err, errlen, "BIRD refused configure (%d): %.100s", rc,
			 reply);
		return -EINVAL;
	}
	return 0;
}

/* "vd_peer1  BGP  ---  up  10:00:00.000  Established" lines. */
static void parse_protocols(struct vd_anycast *a, char *text)
{
	struct session s[MAX_SESSIONS];
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char name[32], proto[16], table[32], state[16], since[32];
		int used = 0;
		if (sscanf(l, "%31s %15s %31s %15s %31s %n", name, proto, table,
			   state, since, &used) < 5 || strcmp(proto, "BGP") != 0)
			continue;
		if (n == MAX_SESSIONS)
			break;
		snprintf(s[n].name, sizeof(s[n].name), "%s", name);
		snprintf(s[n].state, sizeof(s[n].state), "%s", state);
		/* "since" may be date and time: the info is the rest,
		 * starting at its first capital letter. */
		const char *info = l + used;
		while (*info && !(*info >= 'A' && *info <= 'Z'))
			info++;
		snprintf(s[n].info, sizeof(s[n].info), "%s", info);
		n++;
	}
	pthread_mutex_lock(&a->lock);
	memcpy(a->sessions, s, n * sizeof(s[0]));
	a->n_sessions = n;
	pthread_mutex_unlock(&a->lock);
}

/* ------------------------------------------------------------ the thread */

/*
 * The canaries vote "any": the node's recursion works when one of them
 * resolves.  With "all", one canary zone whose servers die would fail
 * every node's check at once and the whole fleet would withdraw, taking
 * DNS away from every customer for one zone's outage; canaries in
 * independent zones tell "my recursion is broken" (all fail) from "that
 * zone is dead" (one fails).  why names the first pass and every failure.
 */
static bool canaries_pass(const struct vd_anycast_vip *vip, uint16_t port,
			  const struct vd_anycast_canary *canaries, size_t n,
			  unsigned timeout, char *why, size_t whylen)
{
	char ok_why[192] = "", failed[192] = "";
	size_t flen = 0;
	bool any = n == 0;
	/* All are asked, so the status shows a dead canary zone even while
	 * another one passes. */
	for (size_t c = 0; c < n; c++) {
		char r[192];
		if (vd_anycast_probe(vip, port, &canaries[c], timeout, r,
				     sizeof(r)) == 0) {
			if (!any)
				snprintf(ok_why, sizeof(ok_why), "%s", r);
			any = true;
		} else if (flen < sizeof(failed)) {
			int k = snprintf(failed + flen, sizeof(failed) - flen,
					 "%s%s", flen ? "; " : "", r);
			if (k > 0)
				flen += (size_t)k;
		}
	}
	if (any && flen)
		snprintf(why, whylen, "%s (failed: %s)", ok_why, failed);
	else if (any)
		snprintf(why, whylen, "%s", ok_why);
	else
		snprintf(why, whylen, "%s", failed);
	return any;
}

static void probe_all(struct vd_anycast *a)
{
	struct vd_daemon *d = a->d;
	size_t n;
	struct vd_anycast_vip vips[MAX_VIPS];
	uint16_t ports[MAX_VIPS];
	bool listener[MAX_VIPS], addr_ok[MAX_VIPS];
	struct vd_anycast_canary canaries[VD_CONFIG_MAX_LIST];
	size_t n_canaries;
	unsigned timeout;

	pthread_mutex_lock(&a->lock);
	n = a->n_vips;
	for (size_t i = 0; i < n; i++) {
		vips[i] = a->vips[i].vip;
		ports[i] = a->vips[i].port;
		listener[i] = a->vips[i].listener;
		addr_ok[i] = a->vips[i].addr_ok;
	}
	n_canaries = a->n_canaries;
	memcpy(canaries, a->canaries, n_canaries * sizeof(canaries[0]));
	timeout = a->timeout_ms;
	pthread_mutex_unlock(&a->lock);

	unsigned running = 0;
	for (unsigned w = 0; w < d->n_workers; w++)
		running += d->workers[w]->started &&
			   !atomic_load_explicit(&d->workers[w]->stopping,
						 memory_order_relaxed);
	bool xdp_ok = atomic_load(&a->xdp_ok);

	for (size_t i = 0; i < n; i++) {
		char why[192] = "ok";
		bool ok = true;
		if (running < d->n_workers) {
			snprintf(why, sizeof(why), "%u of %u workers running",
				 running, d->n_workers);
			ok = false;
		} else if (!listener[i]) {
			snprintf(why, sizeof(why), "no listen address covers %s",
				 vips[i].addr_str);
			ok = false;
		} else if (!addr_ok[i]) {
			snprintf(why, sizeof(why), "%s is not on the interface",
				 vips[i].addr_str);
			ok = false;
		} else if (!xdp_ok) {
			snprintf(why, sizeof(why), "XDP program not attached");
			ok = false;
		}
		if (ok)
			ok = canaries_pass(&vips[i], ports[i], canaries,
					   n_canaries, timeout, why, sizeof(why));

		pthread_mutex_lock(&a->lock);
		struct vip_state *v = &a->vips[i];
		snprintf(v->last, sizeof(v->last), "%s", why);
		if (ok) {
			v->checks_ok++;
			v->ok_run++;
			v->fail_run = 0;
			if (!v->healthy && v->ok_run >= a->rise) {
				v->healthy = true;
				v->changes++;
				vd_log(VD_LOG_NOTICE, "anycast: %s healthy (%s)",
				       v->vip.prefix_str, why);
			}
		} else {
			v->checks_fail++;
			v->fail_run++;
			v->ok_run = 0;
			if (v->healthy && v->fail_run >= a->fall) {
				v->healthy = false;
				v->changes++;
				vd_log(VD_LOG_WARNING,
				       "anycast: %s unhealthy: %s",
				       v->vip.prefix_str, why);
			} else if (!v->healthy && v->fail_run == 1) {
				vd_log(VD_LOG_INFO, "anycast: %s check failed: %s",
				       v->vip.prefix_str, why);
			}
		}
		pthread_mutex_unlock(&a->lock);
	}
}

/* Moves the drain along and tells BIRD what health and drain want. */
static void reconcile(struct vd_anycast *a)
{
	struct vd_anycast_vip vips[MAX_VIPS];
	bool announce[MAX_VIPS], drain[MAX_VIPS], degraded[MAX_VIPS];
	bool change = false;
	uint64_t now = vd_now_ns();
	size_t n;

	pthread_mutex_lock(&a->lock);
	if (a->phase == DRAIN_GSHUT &&
	    (a->applied_ns >= a->phase_ns || !a->bird_ok) &&
	    now - a->phase_ns >= (uint64_t)a->gshut_ms * VD_NS_PER_MS) {
		a->phase = DRAIN_WITHDRAWN;
		a->phase_ns = now;
		vd_log(VD_LOG_NOTICE, "anycast: drain: withdrawing");
	}
	n = a->n_vips;
	for (size_t i = 0; i < n; i++) {
		const struct vip_state *v = &a->vips[i];
		vips[i] = v->vip;
		/* Degraded: unhealthy, still announced, worse; a VIP never
		 * checked yet stays withdrawn (rise has not been seen). */
		degraded[i] = a->degrade && !v->healthy &&
			      v->checks_ok + v->checks_fail > 0;
		announce[i] = (v->healthy || degraded[i]) &&
			      a->phase != DRAIN_WITHDRAWN;
		drain[i] = a->phase == DRAIN_GSHUT;
		change |= announce[i] != v->announced ||
			  (announce[i] && drain[i] != v->gshut) ||
			  (announce[i] && degraded[i] != v->degraded);
	}
	change |= a->dirty;
	pthread_mutex_unlock(&a->lock);
	if (!change)
		return;

	char err[256] = "";
	int rc = bird_apply(a, vips, n, announce, drain, degraded, err,
			    sizeof(err));

	pthread_mutex_lock(&a->lock);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++) {
			struct vip_state *v = &a->vips[i];
			if (announce[i] != v->announced ||
			    (announce[i] && drain[i] != v->gshut) ||
			    (announce[i] && degraded[i] != v->degraded))
				vd_log(VD_LOG_NOTICE, "anycast: %s %s%s%s",
				       v->vip.prefix_str,
				       announce[i] ? "announced" : "withdrawn",
				       announce[i] && drain[i]
					       ? " with GRACEFUL_SHUTDOWN"
					       : "",
				       announce[i] && degraded[i]
					       ? " degraded (health-degrade)"
					       : "");
			v->announced = announce[i];
			v->gshut = announce[i] && drain[i];
			v->degraded = announce[i] && degraded[i];
		}
		a->dirty = false;
		a->bird_ok = true;
		a->bird_err[0] = '\0';
		a->applied_ns = vd_now_ns();
		a->configures_ok++;
	} else {
		/* Retried every interval; BIRD reads the include itself
		 * when it (re)starts. */
		if (a->bird_ok || !a->bird_err[0])
			vd_log(VD_LOG_WARNING, "anycast: %s", err);
		a->bird_ok = false;
		snprintf(a->bird_err, sizeof(a->bird_err), "%.*s",
			 (int)sizeof(a->bird_err) - 1, err);
		a->dirty = true;
		a->configures_fail++;
	}
	pthread_mutex_unlock(&a->lock);
}

static void *health_thread(void *arg)
{
	struct vd_anycast *a = arg;
	uint64_t next_probe = 0;
	for (;;) {
		uint64_t now = vd_now_ns();
		pthread_mutex_lock(&a->lock);
		bool stop = a->stop;
		bool draining = a->phase != DRAIN_NONE;
		uint64_t interval = (uint64_t)a->interval_ms * VD_NS_PER_MS;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			break;
		/* No probes while draining: they would count as traffic,
		 * and the health state to come back to is kept. */
		if (!draining && now >= next_probe) {
			probe_all(a);
			next_probe = now + interval;
		}
		reconcile(a);
		if (now - a->last_poll_ns >= BIRD_POLL_NS) {
			char text[8192];
			a->last_poll_ns = now;
			char sock[VD_CONFIG_STR_MAX];
			bird_socket_of(a, sock);
			int rc = vd_anycast_birdc(sock, "show protocols",
						  BIRD_TIMEOUT_MS, text,
						  sizeof(text));
			poll_links(a, sock);
			if (rc >= 0 && rc < 8000) {
				parse_protocols(a, text);
			} else {
				pthread_mutex_lock(&a->lock);
				a->n_sessions = 0;
				a->bird_ok = false;
				if (!a->bird_err[0])
					snprintf(a->bird_err,
						 sizeof(a->bird_err),
						 "BIRD at %.80s: %.50s",
						 a->bird_socket,
						 rc < 0 ? strerror(-rc)
							: "refused");
				pthread_mutex_unlock(&a->lock);
			}
		}
		/* Wake at least every 100 ms (drain steps), sooner when
		 * signalled. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * (long)VD_NS_PER_MS;
		if (ts.tv_nsec >= (long)VD_NS_PER_SEC) {
			ts.tv_sec++;
			ts.tv_nsec -= (long)VD_NS_PER_SEC;
		}
		pthread_mutex_lock(&a->lock);
		if (!a->stop)
			pthread_cond_timedwait(&a->cond, &a->lock, &ts);
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

/* ------------------------------------------------------------ control */

static int start_drain(struct vd_anycast *a)
{
	pthread_mutex_lock(&a->lock);
	int was = a->phase;
	if (a->phase == DRAIN_NONE) {
		a->phase = DRAIN_GSHUT;
		a->phase_ns = vd_now_ns();
		vd_log(VD_LOG_NOTICE, "anycast: drain: announcing "
				      "GRACEFUL_SHUTDOWN, withdraw in %u ms",
		       a->gshut_ms);
	}
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return was;
}

static int ctl_drain(void *arg, const struct vd_ctl_request *req,
		     struct evbuffer *out, char *err, size_t errlen)
{
	struct vd_anycast *a = arg;
	(void)req, (void)err, (void)errlen;
	int was = start_drain(a);
	if (was != DRAIN_NONE)
		evbuffer_add_printf(out, "already draining (%s)\n",
				    phase_names[was]);
	else
		evbuffer_add_printf(out,
				    "draining: GRACEFUL_SHUTDOWN now, withdraw "
				    "in %u ms; still answering (undrain "
				    "reverses)\n",
				    a->gshut_ms);
	return 0;
}

static int ctl_undrain(void *arg, const struct vd_ctl_request *req,
		       struct evbuffer *out, char *err, size_t errlen)
{
	struct vd_anycast *a = arg;
	(void)req;
	pthread_mutex_lock(&a->lock);
	if (a->stopping) {
		pthread_mutex_unlock(&a->lock);
		snprintf(err, errlen, "stopping: cannot undrain");
		return -EBUSY;
	}
	int was = a->phase;
	a->phase = DRAIN_NONE;
	a->phase_ns = vd_now_ns();
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (was != DRAIN_NONE)
		vd_log(VD_LOG_NOTICE, "anycast: undrain: announcing healthy VIPs");
	evbuffer_add_printf(out, "%s\n",
			    was == DRAIN_NONE
				    ? "not draining"
				    : "undrained: healthy VIPs announced again");
	return 0;
}

static void state_text(struct vd_anycast *a, struct evbuffer *out)
{
	pthread_mutex_lock(&a->lock);
	evbuffer_add_printf(out, "draining: %s\n", phase_names[a->phase]);
	evbuffer_add_printf(out, "bird: %s%s%s (socket %s, %" PRIu64
				 " configures ok, %" PRIu64 " failed)\n",
			    a->bird_ok ? "reachable" : "NOT reachable",
			    a->bird_err[0] ? ": " : "", a->bird_err,
			    a->bird_socket, a->configures_ok,
			    a->configures_fail);
	for (size_t i = 0; i < a->n_vips; i++) {
		const struct vip_state *v = &a->vips[i];
		evbuffer_add_printf(out,
				    "vip %s: %s%s%s, health %s (%u ok / %u "
				    "failed in a row), last check: %s\n",
				    v->vip.prefix_str,
				    v->announced ? "announced" : "withdrawn",
				    v->gshut ? " (graceful shutdown)" : "",
				    v->degraded ? " (degraded)" : "",
				    v->healthy ? "up" : "down", v->ok_run,
				    v->fail_run, v->last);
	}
	for (size_t i = 0; i < a->n_sessions; i++)
		evbuffer_add_printf(out, "bgp %s: %s %s\n", a->sessions[i].name,
				    a->sessions[i].state, a->sessions[i].info);
	vd_anycast_links_status(&a->links, out);
	pthread_mutex_unlock(&a->lock);
}

static int ctl_bird(void *arg, const struct vd_ctl_request *req,
		    struct evbuffer *out, char *err, size_t errlen)
{
	struct vd_anycast *a = arg;
	static const char *const cmds[] = {"show protocols",
					   "show route all"};
	(void)req, (void)err, (void)errlen;
	state_text(a, out);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *text = malloc(65536);
		if (!text)
			return -ENOMEM;
		char sock[VD_CONFIG_STR_MAX];
		bird_socket_of(a, sock);
		int rc = vd_anycast_birdc(sock, cmds[i], BIRD_TIMEOUT_MS, text,
					  65536);
		evbuffer_add_printf(out, "\n# birdc %s\n", cmds[i]);
		if (rc < 0)
			evbuffer_add_printf(out, "(BIRD not reachable: %s)\n",
					    strerror(-rc));
		else
			evbuffer_add_printf(out, "%s", text);
		free(text);
	}
	return 0;
}

/* ------------------------------------------------------------ metrics */

static void collect(void *arg, struct vd_metrics_out *o)
{
	struct vd_anycast *a = arg;
	struct vd_metrics_family *ann = vd_metrics_family(
		o, "vipdns_anycast_announced", VD_METRICS_GAUGE,
		"1 while BIRD has been told to announce the VIP.");
	struct vd_metrics_family *hl = vd_metrics_family(
		o, "vipdns_anycast_healthy", VD_METRICS_GAUGE,
		"1 while the VIP passes its health checks (after rise/fall).");
	struct vd_metrics_family *chk = vd_metrics_family(
		o, "vipdns_anycast_health_checks_total", VD_METRICS_COUNTER,
		"Health checks per VIP by result.");
	struct vd_metrics_family *dr = vd_metrics_family(
		o, "vipdns_anycast_draining", VD_METRICS_GAUGE,
		"0 serving, 1 graceful-shutdown announced, 2 withdrawn.");
	struct vd_metrics_family *br = vd_metrics_family(
		o, "vipdns_anycast_bird_up", VD_METRICS_GAUGE,
		"1 when BIRD's control socket answered the last request.");
	struct vd_metrics_family *cf = vd_metrics_family(
		o, "vipdns_anycast_bird_configures_total", VD_METRICS_COUNTER,
		"BIRD reconfigurations requested, by result.");
	struct vd_metrics_family *bs = vd_metrics_family(
		o, "vipdns_anycast_bgp_session_up", VD_METRICS_GAUGE,
		"1 when BIRD reports the BGP session Established.");

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n_vips; i++) {
		const struct vip_state *v = &a->vips[i];
		struct vd_metrics_label l[2] = {{"vip", v->vip.prefix_str},
						{"result", "pass"}};
		vd_metrics_sample(ann, l, 1, v->announced);
		vd_metrics_sample(hl, l, 1, v->healthy);
		vd_metrics_sample_u64(chk, l, 2, v->checks_ok);
		l[1].value = "fail";
		vd_metrics_sample_u64(chk, l, 2, v->checks_fail);
	}
	vd_metrics_sample(dr, NULL, 0, a->phase);
	vd_metrics_sample(br, NULL, 0, a->bird_ok);
	struct vd_metrics_label r = {"result", "ok"};
	vd_metrics_sample_u64(cf, &r, 1, a->configures_ok);
	r.value = "failed";
	vd_metrics_sample_u64(cf, &r, 1, a->configures_fail);
	for (size_t i = 0; i < a->n_sessions; i++) {
		struct vd_metrics_label l = {"protocol", a->sessions[i].name};
		vd_metrics_sample(bs, &l, 1,
				  strncmp(a->sessions[i].info, "Established",
					  11) == 0);
	}
	vd_anycast_links_collect(&a->links, o);
	pthread_mutex_unlock(&a->lock);
}

/* ------------------------------------------------------------ lifecycle */

static void refresh_vips(struct vd_anycast *a, bool log_errors)
{
	bool ok[MAX_VIPS];
	for (size_t i = 0; i < a->n_vips; i++) {
		int rc = vd_anycast_vip_set(&a->nl, a->ifindex, &a->vips[i].vip,
					    a->lifetime);
		ok[i] = rc == 0;
		if (rc != 0 && (log_errors || a->vips[i].addr_ok))
			vd_log(VD_LOG_ERR, "anycast: cannot put %s on %s: %s",
			       a->vips[i].vip.prefix_str, a->ifname,
			       strerror(-rc));
	}
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n_vips; i++)
		a->vips[i].addr_ok = ok[i];
	pthread_mutex_unlock(&a->lock);
}

int vd_anycast_daemon_init(struct vd_daemon *d, const struct vd_config *cfg,
			   const char *config_path)
{
	if (!cfg->anycast)
		return 0;
	struct vd_anycast *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->nl.fd = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	a->d = d;
	snprintf(a->config_path, sizeof(a->config_path), "%s",
		 config_path ? config_path : "");
	snprintf(a->ifname, sizeof(a->ifname), "%s", cfg->vip_interface);
	snprintf(a->announce_file, sizeof(a->announce_file), "%s",
		 cfg->bird_announce_file);
	a->lifetime = cfg->vip_lifetime;
	atomic_store(&a->xdp_ok, true);
	load_params(a, cfg);
	for (size_t i = 0; i < cfg->n_vips; i++) {
		struct vip_state *v = &a->vips[a->n_vips];
		if (vd_anycast_vip_parse(cfg->vips[i], &v->vip, NULL) != 0)
			continue;
		v->port = listen_port(cfg, &v->vip);
		v->listener = v->port != 0;
		snprintf(v->last, sizeof(v->last), "not checked yet");
		if (!v->listener)
			vd_log(VD_LOG_WARNING,
			       "anycast: no listen address covers %s; it will "
			       "stay withdrawn",
			       v->vip.addr_str);
		a->n_vips++;
	}
	d->anycast = a;

	/* Withdrawn first, then the addresses: a BIRD still holding the
	 * previous run's include must not announce before health says so. */
	write_bird_config(a, cfg);
	bool none[MAX_VIPS] = {false};
	char err[256];
	if (bird_apply(a, &a->vips[0].vip, 0, none, none, none, err,
		       sizeof(err)) != 0) {
		/* the include must exist for BIRD to start at all */
		struct vd_anycast_vip tmp[MAX_VIPS];
		for (size_t i = 0; i < a->n_vips; i++)
			tmp[i] = a->vips[i].vip;
		if (vd_anycast_bird_write_announce(a->announce_file, tmp,
						   a->n_vips, none, none,
						   none) != 0) {
			vd_log(VD_LOG_CRIT, "anycast: cannot write %s",
			       a->announce_file);
			return -EIO;
		}
		vd_log(VD_LOG_WARNING, "anycast: %s (will retry)", err);
		a->dirty = true;
	} else {
		a->bird_ok = true;
	}

	int rc = vd_anycast_nl_open(&a->nl);
	if (rc != 0) {
		vd_log(VD_LOG_CRIT, "anycast: netlink: %s", strerror(-rc));
		return rc;
	}
	rc = vd_anycast_nl_link_up(&a->nl, a->ifname);
	if (rc < 0) {
		vd_log(VD_LOG_CRIT, "anycast: vip-interface %s: %s", a->ifname,
		       strerror(-rc));
		return rc;
	}
	a->ifindex = rc;
	refresh_vips(a, true);
	a->last_refresh_ns = vd_now_ns();
	for (size_t i = 0; i < a->n_vips; i++)
		if (!a->vips[i].addr_ok)
			return -EIO;
	vd_log(VD_LOG_NOTICE,
	       "anycast: %zu VIP(s) on %s (lifetime %u s), BIRD at %s, "
	       "health every %u ms (rise %u, fall %u)",
	       a->n_vips, a->ifname, a->lifetime, a->bird_socket,
	       a->interval_ms, a->rise, a->fall);
	return 0;
}

int vd_anycast_daemon_start(struct vd_daemon *d)
{
	struct vd_anycast *a = d->anycast;
	if (!a)
		return 0;
	atomic_store(&a->last_query_ns, vd_now_ns());
	int rc = pthread_create(&a->thread, NULL, health_thread, a);
	if (rc != 0) {
		vd_log(VD_LOG_CRIT, "anycast: cannot start the health thread: %s",
		       strerror(rc));
		return -rc;
	}
	a->started = true;
	(void)vd_ctl_set_handler("drain", ctl_drain, a);
	(void)vd_ctl_set_handler("undrain", ctl_undrain, a);
	(void)vd_ctl_set_handler("bird", ctl_bird, a);
	(void)vd_metrics_register("anycast", collect, a);
	return 0;
}

void vd_anycast_daemon_tick(struct vd_daemon *d)
{
	struct vd_anycast *a = d->anycast;
	if (!a)
		return;
	uint64_t now = vd_now_ns();
	if (now - a->last_refresh_ns >= REFRESH_NS) {
		refresh_vips(a, false);
		a->last_refresh_ns = now;
	}
	struct vd_stats s;
	vd_daemon_stats(d, &s);
	/* Traffic the XDP program answers never reaches the workers: a
	 * drain that only watched them could end while queries still
	 * arrive.  Every packet the program saw counts. */
	uint64_t xc[VD_XDP_CTR_MAX];
	size_t attached;
	bool xdp_on = vd_xdp_daemon_counters(d, xc, &attached);
	uint64_t q = s.queries_udp + s.queries_tcp + xc[VD_XDP_CTR_HIT];
	if (q != a->last_queries) {
		a->last_queries = q;
		atomic_store(&a->last_query_ns, now);
	}
	bool xdp_ok = true;
	rcu_read_lock();
	const struct vd_settings *st = rcu_dereference(d->settings);
	if (st->cfg.n_xdp_interfaces)
		xdp_ok = xdp_on && attached == st->cfg.n_xdp_interfaces;
	rcu_read_unlock();
	atomic_store(&a->xdp_ok, xdp_ok);
}

void vd_anycast_daemon_reload(struct vd_daemon *d)
{
	struct vd_anycast *a = d->anycast;
	if (!a)
		return;
	const struct vd_config *cfg = &d->settings->cfg;
	if (!cfg->anycast || cfg->n_vips != a->n_vips ||
	    strcmp(cfg->vip_interface, a->ifname) != 0 ||
	    strcmp(cfg->bird_announce_file, a->announce_file) != 0)
		vd_log(VD_LOG_WARNING, "reload: anycast, vip, vip-interface or "
				       "bird-announce-file changed; they take "
				       "effect at restart");
	pthread_mutex_lock(&a->lock);
	load_params(a, cfg);
	a->dirty = true; /* bird.conf may have changed: reconfigure */
	pthread_mutex_unlock(&a->lock);
	write_bird_config(a, cfg);
	pthread_mutex_lock(&a->lock);
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

bool vd_anycast_daemon_begin_stop(struct vd_daemon *d)
{
	struct vd_anycast *a = d->anycast;
	if (!a)
		return false;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	a->stop_ns = vd_now_ns();
	pthread_mutex_unlock(&a->lock);
	(void)start_drain(a);
	vd_log(VD_LOG_NOTICE, "anycast: draining before exit (at most %u s; "
			      "signal again to exit now)",
	       a->drain_timeout_s);
	return true;
}

bool vd_anycast_daemon_checked(struct vd_daemon *d)
{
	struct vd_anycast *a = d->anycast;
	if (!a)
		return true;
	pthread_mutex_lock(&a->lock);
	bool all = true;
	for (size_t i = 0; i < a->n_vips; i++)
		all = all && a->vips[i].checks_ok + a->vips[i].checks_fail > 0;
	pthread_mutex_unlock(&a->lock);
	return all;
}

bool vd_anycast_daemon_stop_done(struct vd_daemon *d)
{
	struct vd_anycast *a = d->anycast;
	if (!a)
		return true;
	uint64_t now = vd_now_ns();
	pthread_mutex_lock(&a->lock);
	/* Withdrawn: BIRD took the change, or BIRD is gone (then nothing
	 * announces the VIPs from here either). */
	bool told = !a->dirty && a->applied_ns >= a->phase_ns;
	bool withdrawn = a->phase == DRAIN_WITHDRAWN && (told || !a->bird_ok);
	uint64_t since = told ? a->applied_ns : a->phase_ns;
	uint64_t quiet_ns = (uint64_t)a->quiet_ms * VD_NS_PER_MS;
	uint64_t last_q = atomic_load(&a->last_query_ns);
	bool quiet = withdrawn && now - since >= quiet_ns &&
		     now - last_q >= quiet_ns;
	bool timeout = now - a->stop_ns >=
		       (uint64_t)a->drain_timeout_s * VD_NS_PER_SEC;
	pthread_mutex_unlock(&a->lock);
	if (quiet)
		vd_log(VD_LOG_NOTICE, "anycast: drained: no query for %u ms",
		       a->quiet_ms);
	else if (timeout)
		vd_log(VD_LOG_WARNING, "anycast: drain-timeout (%u s) reached "
				       "with traffic still arriving",
		       a->drain_timeout_s);
	return quiet || timeout;
}

void vd_anycast_daemon_stop(struct vd_daemon *d)
{
	struct vd_anycast *a = d->anycast;
	if (!a)
		return;
	if (a->started) {
		vd_metrics_unregister("anycast");
		(void)vd_ctl_set_handler("drain", NULL, NULL);
		(void)vd_ctl_set_handler("undrain", NULL, NULL);
		(void)vd_ctl_set_handler("bird", NULL, NULL);
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	/* Withdraw whatever is left, then take the addresses away. */
	struct vd_anycast_vip vips[MAX_VIPS];
	bool none[MAX_VIPS] = {false};
	bool any = false;
	for (size_t i = 0; i < a->n_vips; i++) {
		vips[i] = a->vips[i].vip;
		any |= a->vips[i].announced;
	}
	char err[256];
	if (any && bird_apply(a, vips, a->n_vips, none, none, none, err,
			      sizeof(err)) != 0)
		vd_log(VD_LOG_WARNING, "anycast: final withdraw: %s", err);
	if (a->nl.fd >= 0)
		for (size_t i = 0; i < a->n_vips; i++)
			(void)vd_anycast_vip_del(&a->nl, a->ifindex, &vips[i]);
	vd_anycast_nl_close(&a->nl);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
	d->anycast = NULL;
}

void vd_anycast_summary(struct vd_daemon *d, char *out, size_t cap)
{
	struct vd_anycast *a = d ? d->anycast : NULL;
	if (!a) {
		snprintf(out, cap, "not configured");
		return;
	}
	pthread_mutex_lock(&a->lock);
	size_t ann = 0, up = 0;
	for (size_t i = 0; i < a->n_vips; i++)
		ann += a->vips[i].announced;
	for (size_t i = 0; i < a->n_sessions; i++)
		up += strncmp(a->sessions[i].info, "Established", 11) == 0;
	char links[96];
	vd_anycast_links_summary(&a->links, links, sizeof(links));
	snprintf(out, cap,
		 "%zu of %zu VIPs announced, draining %s, BIRD %s, BGP %zu of "
		 "%zu established%s%s",
		 ann, a->n_vips, phase_names[a->phase],
		 a->bird_ok ? "reachable" : "NOT reachable", up,
		 a->n_sessions, links[0] ? ", " : "", links);
	pthread_mutex_unlock(&a->lock);
}

void vd_anycast_links_text(struct vd_daemon *d, struct evbuffer *out)
{
	struct vd_anycast *a = d ? d->anycast : NULL;
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	vd_anycast_links_status(&a->links, out);
	pthread_mutex_unlock(&a->lock);
}
