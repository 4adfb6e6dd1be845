/* The control commands, run on the control thread. */
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <urcu.h>

#include "anycast/anycast.h"
#include "control/ctl_internal.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "daemon/cookies.h"
#include "daemon/daemon.h"
#include "daemon/warm.h"
#include "dataplane/xdp/xdp_daemon.h"
#include "dns/query.h"
#include "resolve/engine.h"
#include "resolve/nta.h"
#include "resolve/ubctx.h"
#include "vd_build.h"

/* A recursion success this recent means recursion works. */
#define HEALTH_RECURSION_WINDOW_S 60

static pthread_mutex_t handlers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *cmd; /* points into vd_ctl_commands */
	vd_ctl_handler_fn fn;
	void *arg;
} handlers[8];
static size_t n_handlers;

int vd_ctl_set_handler(const char *cmd, vd_ctl_handler_fn fn, void *arg)
{
	const struct vd_ctl_cmd_info *info = vd_ctl_find_command(cmd);
	int rc = 0;
	if (!info)
		return -ENOENT;
	pthread_mutex_lock(&handlers_lock);
	for (size_t i = 0; i < n_handlers; i++) {
		if (handlers[i].cmd == info->name) {
			handlers[i].fn = fn;
			handlers[i].arg = arg;
			goto out;
		}
	}
	if (n_handlers >= VD_ARRAY_SIZE(handlers)) {
		rc = -ENOSPC;
		goto out;
	}
	handlers[n_handlers].cmd = info->name;
	handlers[n_handlers].fn = fn;
	handlers[n_handlers].arg = arg;
	n_handlers++;
out:
	pthread_mutex_unlock(&handlers_lock);
	return rc;
}

static void settings_snapshot(struct vd_ctl *c, char *node_id, size_t cap,
			      size_t *cache_size)
{
	rcu_read_lock();
	const struct vd_settings *st = rcu_dereference(c->d->settings);
	snprintf(node_id, cap, "%.*s", (int)st->nsid_len,
		 (const char *)st->nsid);
	*cache_size = st->cfg.cache_size;
	rcu_read_unlock();
}

static void hex16(const uint8_t *d, char out[17])
{
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* "N DIGEST" of the anchors' names, for drift: expiries differ by the
 * moment each node took the command, the names must not. */
static void nta_summary(char *out, size_t cap)
{
	struct vd_nta t[VD_NTA_MAX];
	size_t n = vd_nta_list(t, VD_NTA_MAX, (int64_t)time(NULL));
	/* Order-free: XOR of per-name digests. */
	uint8_t acc[32] = {0};
	for (size_t i = 0; i < n; i++) {
		uint8_t d[32];
		unsigned dl = 0;
		if (EVP_Digest(t[i].name, t[i].name_len, d, &dl, EVP_sha256(),
			       NULL) != 1)
			continue;
		for (int k = 0; k < 32; k++)
			acc[k] ^= d[k];
	}
	char hex[17];
	hex16(acc, hex);
	snprintf(out, cap, "%zu %s", n, n ? hex : "none");
}

static int cmd_status(struct vd_ctl *c, struct evbuffer *out)
{
	char policy[17], anchors[17];
	size_t n_anchor_files;
	rcu_read_lock();
	const struct vd_settings *st = rcu_dereference(c->d->settings);
	hex16(st->policy_digest, policy);
	hex16(st->anchor_digest, anchors);
	n_anchor_files = st->cfg.n_trust_anchor_files;
	rcu_read_unlock();
	char anycast[256];
	vd_anycast_summary(c->d, anycast, sizeof(anycast));
	char ntas[64], cookies[256];
	nta_summary(ntas, sizeof(ntas));
	vd_cookies_describe(cookies, sizeof(cookies));
	struct vd_stats s;
	struct vd_cache_stats cs;
	char node[VD_CONFIG_STR_MAX];
	size_t budget;
	unsigned udp = 0, tcp = 0;

	vd_daemon_stats(c->d, &s);
	vd_cache_get_stats(c->d->cache, &cs);
	settings_snapshot(c, node, sizeof(node), &budget);
	for (unsigned i = 0; i < c->d->n_workers; i++) {
		udp += c->d->workers[i]->n_udp;
		tcp += c->d->workers[i]->n_tcp;
	}
	evbuffer_add_printf(out,
		"version: %s\n"
		"node-id: %s\n"
		"uptime: %" PRIu64 " s\n"
		"config: %s\n"
		"workers: %u\n"
		"sockets: %u udp, %u tcp (data plane: socket)\n"
		"queries: %" PRIu64 " udp, %" PRIu64 " tcp\n"
		"cache: %" PRIu64 " entries, %" PRIu64 " of %zu bytes\n"
		"recursions in flight: %" PRIu64 "\n"
		"control socket: %s\n"
		"metrics: %s\n"
		"cluster: %s\n"
		"anycast: %s\n"
		"answer-policy: %s\n"
		"trust-anchors: %s %s\n"
		"negative-trust-anchors: %s\n"
		"cookies: %s\n",
		VD_VERSION, node, (uint64_t)((vd_now_ns() - c->start_ns) / VD_NS_PER_SEC),
		c->config_path[0] ? c->config_path : "built-in defaults",
		c->d->n_workers, udp, tcp, s.queries_udp, s.queries_tcp,
		cs.entries, cs.bytes, budget, s.outstanding,
		c->path[0] ? c->path : "off",
		c->metrics_listen[0] ? c->metrics_listen : "off",
		c->cluster_listen[0] ? c->cluster_listen : "off", anycast,
		policy, n_anchor_files ? "files" : "built-in", anchors, ntas,
		cookies);
	vd_anycast_links_text(c->d, out);
	return 0;
}

static int cmd_stats(struct vd_ctl *c, struct evbuffer *out)
{
	static const char *const qt[] = {
#define QT_NAME(name, value) #name,
		VD_STATS_QTYPES(QT_NAME)
#undef QT_NAME
		"other",
	};
	struct vd_stats s;
	struct vd_cache_stats cs;
	vd_daemon_stats(c->d, &s);
	vd_cache_get_stats(c->d->cache, &cs);
#define PUT(name) evbuffer_add_printf(out, "%s=%" PRIu64 "\n", #name, s.name);
	VD_STATS_FIELDS(PUT)
#undef PUT
	for (unsigned i = 0; i < 16; i++)
		evbuffer_add_printf(out, "rcode.%u=%" PRIu64 "\n", i, s.rcode[i]);
	for (unsigned i = 0; i < VD_STATS_QT_N; i++)
		evbuffer_add_printf(out, "qtype.%s=%" PRIu64 "\n", qt[i],
				    s.qtype[i]);
	evbuffer_add_printf(out,
		"recursions_in_flight=%" PRIu64 "\n"
		"cache.entries=%" PRIu64 "\ncache.bytes=%" PRIu64 "\n"
		"cache.inserts=%" PRIu64 "\ncache.replaces=%" PRIu64 "\n"
		"cache.evictions=%" PRIu64 "\ncache.expirations=%" PRIu64 "\n"
		"cache.flushed=%" PRIu64 "\n",
		s.outstanding, cs.entries, cs.bytes, cs.inserts, cs.replaces,
		cs.evictions, cs.expirations, cs.flushed);
	uint64_t xc[VD_XDP_CTR_MAX];
	size_t xdp_ifaces;
	if (vd_xdp_daemon_counters(c->d, xc, &xdp_ifaces)) {
		static const char *const names[VD_XDP_CTR_MAX] = {
#define VD_XDP_CTR_NAME(id, name) [VD_XDP_CTR_##id] = name,
			VD_XDP_COUNTERS(VD_XDP_CTR_NAME)
#undef VD_XDP_CTR_NAME
		};
		evbuffer_add_printf(out, "xdp.interfaces=%zu\n", xdp_ifaces);
		for (unsigned k = 0; k < VD_XDP_CTR_MAX; k++)
			evbuffer_add_printf(out, "xdp.%s=%" PRIu64 "\n",
					    names[k], xc[k]);
	}
	return 0;
}

static int name_arg(const char *s, uint8_t *wire, char *err, size_t errlen)
{
	int n = vd_dns_name_from_str(s, wire, VD_DNS_NAME_MAX);
	if (n < 0) {
		snprintf(err, errlen, "not a domain name: \"%.64s\"", s);
		return -EINVAL;
	}
	return n;
}

/*
 * A flush must reach libunbound's caches too, or the next recursion
 * brings the flushed answer straight back.  libunbound cannot forget one
 * name, so the engine gets fresh contexts first; then the answer cache
 * is flushed, and nothing from the old caches can be stored again.
 */
static int renew_recursion(struct vd_ctl *c, char *err, size_t errlen)
{
	char why[256];
	int rc = vd_rec_renew(c->d->rec, why, sizeof(why));
	if (rc != 0)
		snprintf(err, errlen, "cannot renew the recursion state: %s",
			 why);
	return rc;
}

static int cmd_flush(struct vd_ctl *c, const struct vd_ctl_request *req,
		     struct evbuffer *out, char *err, size_t errlen)
{
	uint8_t wire[VD_DNS_NAME_MAX];
	int qtype = -1;
	int n = name_arg(req->argv[0], wire, err, errlen);
	if (n < 0)
		return n;
	if (req->argc > 1) {
		qtype = vd_ctl_qtype_parse(req->argv[1]);
		if (qtype < 0) {
			snprintf(err, errlen, "not a query type: \"%.32s\"",
				 req->argv[1]);
			return -EINVAL;
		}
	}
	int rc = renew_recursion(c, err, errlen);
	if (rc != 0)
		return rc;
	size_t removed = vd_cache_flush_name(c->d->cache, wire, (size_t)n, qtype);
	evbuffer_add_printf(out, "flushed %zu entries for %s%s%s\n", removed,
			    req->argv[0], req->argc > 1 ? " " : "",
			    req->argc > 1 ? req->argv[1] : "");
	return 0;
}

/* flush-zone and flush-negative: everything at or below ZONE, or only its
 * negative answers (what a zone's servers wrongly denying names left). */
static int cmd_flush_below(struct vd_ctl *c, const struct vd_ctl_request *req,
			   bool negative_only, struct evbuffer *out, char *err,
			   size_t errlen)
{
	uint8_t wire[VD_DNS_NAME_MAX];
	int n = name_arg(req->argv[0], wire, err, errlen);
	if (n < 0)
		return n;
	/* Also for flush-negative: libunbound's negative cache (and with
	 * harden-below-nxdomain its denial of the whole subtree) must go
	 * too, or the next recursion answers NXDOMAIN from it again. */
	int rc = renew_recursion(c, err, errlen);
	if (rc != 0)
		return rc;
	size_t removed =
		negative_only
			? vd_cache_flush_negative(c->d->cache, wire, (size_t)n)
			: vd_cache_flush_zone(c->d->cache, wire, (size_t)n);
	evbuffer_add_printf(out, "flushed %zu %sentries at or below %s\n",
			    removed, negative_only ? "negative " : "",
			    req->argv[0]);
	return 0;
}

/*
 * Negative trust anchors (RFC 7646).  Adding or removing one renews the
 * contexts (they take the anchors as domain-insecure) and flushes the
 * name's subtree, so the next answer below it is resolved under the new
 * rule on every plane: a bogus SERVFAIL cached before "nta add" must not
 * outlive it, nor an unvalidated answer cached before "nta remove".
 */
static int nta_apply(struct vd_ctl *c, const uint8_t *name, size_t len,
		     size_t *removed, char *err, size_t errlen)
{
	int rc = renew_recursion(c, err, errlen);
	if (rc == 0)
		*removed = vd_cache_flush_zone(c->d->cache, name, len);
	return rc;
}

static int cmd_nta(struct vd_ctl *c, const struct vd_ctl_request *req,
		   struct evbuffer *out, char *err, size_t errlen)
{
	const char *sub = req->argv[0];
	int64_t now = (int64_t)time(NULL);
	if (!strcmp(sub, "list") && req->argc == 1) {
		struct vd_nta t[VD_NTA_MAX];
		size_t n = vd_nta_list(t, VD_NTA_MAX, now);
		for (size_t i = 0; i < n; i++) {
			char name[VD_DNS_NAME_MAX * 4 + 2];
			if (vd_dns_name_to_str(t[i].name, t[i].name_len, name,
					       sizeof(name)) < 0)
				continue;
			evbuffer_add_printf(out, "%s expires in %" PRId64 " s\n",
					    name, t[i].expires - now);
		}
		evbuffer_add_printf(out, "%zu negative trust anchor(s)\n", n);
		return 0;
	}
	bool add = !strcmp(sub, "add");
	if ((!add && strcmp(sub, "remove") != 0) || req->argc < 2 ||
	    req->argc > (add ? 3 : 2)) {
		snprintf(err, errlen, "usage: nta add NAME [SECONDS] | nta "
				      "remove NAME | nta list");
		return -EINVAL;
	}
	uint8_t wire[VD_DNS_NAME_MAX];
	int n = name_arg(req->argv[1], wire, err, errlen);
	if (n < 0)
		return n;
	if (n == 1) {
		snprintf(err, errlen, "an NTA for the root would switch "
				      "validation off; set dnssec = no instead");
		return -EINVAL;
	}
	size_t removed = 0;
	char name[VD_DNS_NAME_MAX * 4 + 2];
	vd_dns_name_to_str(wire, (size_t)n, name, sizeof(name));
	if (!add) {
		int rc = vd_nta_remove(wire, (size_t)n, err, errlen);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			snprintf(err, errlen, "no negative trust anchor for %s",
				 name);
			return -ENOENT;
		}
		rc = nta_apply(c, wire, (size_t)n, &removed, err, errlen);
		if (rc != 0)
			return rc;
		vd_log(VD_LOG_NOTICE, "nta: %s removed; validated again",
		       name);
		evbuffer_add_printf(out, "nta %s removed; %zu entries flushed\n",
				    name, removed);
		return 0;
	}
	unsigned long secs = VD_NTA_DEFAULT_SECONDS;
	if (req->argc == 3) {
		char *end;
		errno = 0;
		secs = strtoul(req->argv[2], &end, 10);
		if (errno || *end || req->argv[2][0] == '-' || secs == 0 ||
		    secs > VD_NTA_MAX_SECONDS) {
			snprintf(err, errlen, "SECONDS must be 1..%u",
				 VD_NTA_MAX_SECONDS);
			return -EINVAL;
		}
	}
	char why[256] = "";
	int rc = vd_nta_add(wire, (size_t)n, (uint32_t)secs, now, why,
			    sizeof(why));
	if (rc == -EINVAL || rc == -ENOSPC) {
		snprintf(err, errlen, "%s", why);
		return rc;
	}
	/* Not persisted is no reason to keep a broken zone down. */
	if (rc != 0)
		vd_log(VD_LOG_WARNING, "nta: %s in force but not saved: %s",
		       name, why);
	rc = nta_apply(c, wire, (size_t)n, &removed, err, errlen);
	if (rc != 0)
		return rc;
	vd_log(VD_LOG_NOTICE, "nta: %s not validated for %lu s", name, secs);
	evbuffer_add_printf(out, "nta %s for %lu s; %zu entries flushed%s\n",
			    name, secs, removed, why[0] ? " (not saved)" : "");
	return 0;
}

static int cmd_cookie_secret(const struct vd_ctl_request *req,
			     struct evbuffer *out, char *err, size_t errlen)
{
	const char *sub = req->argv[0];
	int rc;
	if (!strcmp(sub, "add") && req->argc == 2) {
		const char *hex = req->argv[1];
		uint8_t secret[VD_DNS_COOKIE_SECRET_LEN];
		struct vd_cookie_secrets parsed;
		if (strlen(hex) != 2 * VD_DNS_COOKIE_SECRET_LEN ||
		    vd_cookies_parse(hex, strlen(hex), &parsed, NULL) != 1) {
			snprintf(err, errlen, "expected 32 hex digits (or \"new\")");
			return -EINVAL;
		}
		memcpy(secret, parsed.s[0], sizeof(secret));
		memset(&parsed, 0, sizeof(parsed));
		rc = vd_cookies_add(secret, err, errlen);
		memset(secret, 0, sizeof(secret));
	} else if (!strcmp(sub, "activate") && req->argc == 1) {
		rc = vd_cookies_activate(err, errlen);
	} else if (!strcmp(sub, "drop") && req->argc == 1) {
		rc = vd_cookies_drop(err, errlen);
	} else if (!strcmp(sub, "list") && req->argc == 1) {
		rc = 0;
	} else {
		snprintf(err, errlen, "usage: cookie-secret add HEX|new | "
				      "activate | drop | list");
		return -EINVAL;
	}
	if (rc != 0)
		return rc;
	char desc[256];
	vd_cookies_describe(desc, sizeof(desc));
	if (strcmp(sub, "list") != 0)
		vd_log(VD_LOG_NOTICE, "cookies: %s: now %s", sub, desc);
	evbuffer_add_printf(out, "cookies: %s\n", desc);
	return 0;
}

void vd_ctl_nta_expire(struct vd_ctl *c)
{
	int64_t now = (int64_t)time(NULL);
	if (!vd_nta_due(now))
		return;
	struct vd_nta t[VD_NTA_MAX];
	size_t n = vd_nta_expire(t, VD_NTA_MAX, now);
	char err[320];
	if (n && renew_recursion(c, err, sizeof(err)) != 0)
		vd_log(VD_LOG_ERR, "nta: expiry: %s", err);
	for (size_t i = 0; i < n; i++) {
		char name[VD_DNS_NAME_MAX * 4 + 2];
		vd_dns_name_to_str(t[i].name, t[i].name_len, name, sizeof(name));
		size_t removed = vd_cache_flush_zone(c->d->cache, t[i].name,
						     t[i].name_len);
		vd_log(VD_LOG_NOTICE, "nta: %s expired; validated again (%zu "
				      "entries flushed)",
		       name, removed);
	}
}

struct dump_ctx {
	struct evbuffer *out;
	uint64_t now;
	size_t n;
	bool truncated;
};

static const char *kind_name(uint8_t kind)
{
	static const char *const names[] = {"positive", "nodata", "nxdomain",
					    "servfail", "other"};
	return kind < VD_ARRAY_SIZE(names) ? names[kind] : "?";
}

static int dump_one(void *arg, const struct vd_cache_entry *e)
{
	static const char *const rcodes[16] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14",
		"RCODE15"};
	struct dump_ctx *dc = arg;
	char name[VD_DNS_NAME_MAX * 4 + 2], type[16], flags[24];
	if (e->key_len <= VD_DNS_KEY_HDR)
		return 0;
	if (evbuffer_get_length(dc->out) > VD_CTL_BODY_MAX - 4096) {
		dc->truncated = true;
		return 1;
	}
	if (vd_dns_name_to_str(e->key + VD_DNS_KEY_HDR,
			       e->key_len - VD_DNS_KEY_HDR, name,
			       sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	unsigned qtype = (unsigned)e->key[1] << 8 | e->key[2];
	unsigned qclass = (unsigned)e->key[3] << 8 | e->key[4];
	snprintf(flags, sizeof(flags), "%s%s%s",
		 e->key[0] & VD_DNS_KEY_F_DO ? "DO," : "",
		 e->key[0] & VD_DNS_KEY_F_CD ? "CD," : "",
		 e->meta.secure ? "AD," : "");
	size_t fl = strlen(flags);
	if (fl)
		flags[fl - 1] = '\0';
	else
		snprintf(flags, sizeof(flags), "-");
	/* Past expiry: how long ago, marked, since it is only servable
	 * stale. */
	long long ttl = e->expire_ns >= dc->now
				? (long long)((e->expire_ns - dc->now) / VD_NS_PER_SEC)
				: -(long long)((dc->now - e->expire_ns) / VD_NS_PER_SEC) - 1;
	char cls[16];
	if (qclass == 1)
		snprintf(cls, sizeof(cls), "IN");
	else
		snprintf(cls, sizeof(cls), "CLASS%u", qclass);
	evbuffer_add_printf(dc->out, "%s %s %s %s %lld%s %s %s %u %u\n", name,
			    vd_ctl_qtype_name(qtype, type, sizeof(type)), cls,
			    flags, ttl,
			    ttl < 0 ? "(stale)" : "", rcodes[e->meta.rcode & 15],
			    kind_name(e->meta.kind), (unsigned)e->meta.wire_len,
			    (unsigned)atomic_load_explicit(&e->hits,
							   memory_order_relaxed));
	dc->n++;
	return 0;
}

static int cmd_dump_cache(struct vd_ctl *c, struct evbuffer *out)
{
	struct dump_ctx dc = {.out = out, .now = vd_now_ns()};
	evbuffer_add_printf(out, "; name type class flags ttl rcode kind size "
				 "hits\n");
	vd_cache_foreach(c->d->cache, dump_one, &dc);
	evbuffer_add_printf(out, "; %zu entries%s\n", dc.n,
			    dc.truncated ? " (truncated: answer size limit)"
					 : "");
	return 0;
}

/* The file is the daemon's, read and written as its user: only the local
 * channel (root or the control group) may name one. */
static int snapshot_path(struct vd_ctl *c, const struct vd_ctl_request *req,
			 char *path, size_t cap, char *err, size_t errlen)
{
	if (req->argc > 0) {
		snprintf(path, cap, "%s", req->argv[0]);
	} else {
		rcu_read_lock();
		snprintf(path, cap, "%s",
			 rcu_dereference(c->d->settings)->cfg.cache_snapshot);
		rcu_read_unlock();
		if (!path[0]) {
			snprintf(err, errlen, "no FILE and no cache-snapshot "
					      "configured");
			return -EINVAL;
		}
	}
	if (path[0] != '/') {
		snprintf(err, errlen, "FILE must be an absolute path");
		return -EINVAL;
	}
	return 0;
}

static int cmd_cache_save(struct vd_ctl *c, const struct vd_ctl_request *req,
			  struct evbuffer *out, char *err, size_t errlen)
{
	char path[VD_CONFIG_STR_MAX];
	int rc = snapshot_path(c, req, path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	size_t n = 0;
	rc = vd_daemon_cache_save(c->d, path, &n, err, errlen);
	if (rc != 0)
		return rc;
	evbuffer_add_printf(out, "wrote %zu entries to %s\n", n, path);
	return 0;
}

static int cmd_cache_load(struct vd_ctl *c, const struct vd_ctl_request *req,
			  struct evbuffer *out, char *err, size_t errlen)
{
	char path[VD_CONFIG_STR_MAX];
	int rc = snapshot_path(c, req, path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	struct vd_snapshot_counts n = {0};
	char why[256] = "";
	rc = vd_daemon_cache_load(c->d, path, &n, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "%s rejected: %s", path, why);
		return rc;
	}
	evbuffer_add_printf(out,
			    "loaded %zu of %zu entries (%zu expired, %zu "
			    "skipped, %zu already cached)\n",
			    n.loaded, n.entries, n.expired, n.skipped, n.present);
	return 0;
}

/* A node warming its cache asks a peer for this over the cluster
 * channel before it announces (daemon/warm.c). */
static int cmd_cache_export(struct vd_ctl *c, const struct vd_ctl_request *req,
			    struct evbuffer *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(req->argv[0], &end, 10);
	if (errno || *end || end == req->argv[0] || n == 0 ||
	    n > VD_WARM_EXPORT_MAX) {
		snprintf(err, errlen, "N: expected 1..%u", VD_WARM_EXPORT_MAX);
		return -EINVAL;
	}
	uint8_t *buf = NULL;
	size_t len = 0, got = 0;
	int rc = vd_daemon_cache_export(c->d, (size_t)n, &buf, &len, &got);
	if (rc != 0) {
		snprintf(err, errlen, "cannot serialise the cache: %s",
			 strerror(-rc));
		return rc;
	}
	rc = evbuffer_add(out, buf, len) == 0 ? 0 : -ENOMEM;
	free(buf);
	if (rc != 0)
		snprintf(err, errlen, "out of memory");
	return rc;
}

static int cmd_reload(struct vd_ctl *c, struct evbuffer *out, char *err,
		      size_t errlen)
{
	/* Parsed here first only to hand the reason back to the operator;
	 * vd_daemon_reload() parses again and applies. */
	if (c->config_path[0]) {
		struct vd_config *cfg = malloc(sizeof(*cfg));
		if (!cfg)
			return -ENOMEM;
		int rc = vd_config_load(cfg, c->config_path, err, errlen);
		if (rc == 0 && vd_res_zones_probe(cfg, err, errlen) != 0)
			rc = -EINVAL;
		free(cfg);
		if (rc != 0) {
			char reason[400];
			snprintf(reason, sizeof(reason), "%s", err);
			snprintf(err, errlen,
				 "reload failed, running config kept: %s",
				 reason);
			return rc;
		}
	}
	int rc = vd_daemon_reload(c->d);
	if (rc != 0) {
		snprintf(err, errlen, "reload failed (%s), running config kept",
			 strerror(-rc));
		return rc;
	}
	evbuffer_add_printf(out, "reloaded %s\n",
			    c->config_path[0] ? c->config_path
					      : "built-in defaults");
	return 0;
}

static int cmd_health(struct vd_ctl *c, struct evbuffer *out)
{
	char anycast[256];
	vd_anycast_summary(c->d, anycast, sizeof(anycast));
	char ntas[64], cookies[256];
	nta_summary(ntas, sizeof(ntas));
	vd_cookies_describe(cookies, sizeof(cookies));
	struct vd_stats s;
	unsigned running = 0, udp = 0, tcp = 0;
	bool healthy = true, degraded = false;
	char rec[160];
	uint64_t now = vd_now_ns();

	vd_daemon_stats(c->d, &s);
	for (unsigned i = 0; i < c->d->n_workers; i++) {
		running += c->d->workers[i]->started;
		udp += c->d->workers[i]->n_udp;
		tcp += c->d->workers[i]->n_tcp;
	}
	if (running == 0 || running < c->d->n_workers || udp == 0 || tcp == 0)
		healthy = false;
	if (s.last_recursion_ok_ns &&
	    now - s.last_recursion_ok_ns <=
		    HEALTH_RECURSION_WINDOW_S * VD_NS_PER_SEC) {
		snprintf(rec, sizeof(rec), "ok (last success %" PRIu64 " s ago)",
			 (uint64_t)((now - s.last_recursion_ok_ns) / VD_NS_PER_SEC));
	} else if (s.recursions == 0) {
		snprintf(rec, sizeof(rec), "not tried yet (no cache miss so far)");
	} else {
		degraded = true;
		if (s.last_recursion_ok_ns)
			snprintf(rec, sizeof(rec),
				 "no success for %" PRIu64 " s (%" PRIu64
				 " failures, %" PRIu64 " timeouts in total)",
				 (uint64_t)((now - s.last_recursion_ok_ns) / VD_NS_PER_SEC),
				 s.recursion_failures, s.recursion_timeouts);
		else
			snprintf(rec, sizeof(rec),
				 "never succeeded (%" PRIu64 " failures, %" PRIu64
				 " timeouts)",
				 s.recursion_failures, s.recursion_timeouts);
	}
	uint64_t xc[VD_XDP_CTR_MAX];
	size_t xdp_ifaces;
	char xdp[96] = "not configured";
	if (vd_xdp_daemon_counters(c->d, xc, &xdp_ifaces))
		snprintf(xdp, sizeof(xdp),
			 "attached to %zu interface(s), %" PRIu64 " answered",
			 xdp_ifaces, xc[VD_XDP_CTR_HIT]);
	evbuffer_add_printf(out,
		"%s\n"
		"workers: %u of %u running\n"
		"listeners: %u udp, %u tcp sockets (data plane: socket)\n"
		"recursion: %s\n"
		"recursions in flight: %" PRIu64 "\n"
		"xdp: %s\n"
		"anycast: %s\n",
		!healthy ? "unhealthy" : degraded ? "degraded" : "healthy",
		running, c->d->n_workers, udp, tcp, rec, s.outstanding, xdp,
		anycast);
	return 0;
}

int vd_ctl_run(struct vd_ctl *c, const struct vd_ctl_request *req,
	       struct evbuffer *out, char *err, size_t errlen)
{
	const char *name = req->cmd->name;

	pthread_mutex_lock(&handlers_lock);
	for (size_t i = 0; i < n_handlers; i++) {
		if (handlers[i].cmd == name && handlers[i].fn) {
			vd_ctl_handler_fn fn = handlers[i].fn;
			void *arg = handlers[i].arg;
			pthread_mutex_unlock(&handlers_lock);
			return fn(arg, req, out, err, errlen);
		}
	}
	pthread_mutex_unlock(&handlers_lock);

	if (!strcmp(name, "status"))
		return cmd_status(c, out);
	if (!strcmp(name, "stats"))
		return cmd_stats(c, out);
	if (!strcmp(name, "flush"))
		return cmd_flush(c, req, out, err, errlen);
	if (!strcmp(name, "flush-zone"))
		return cmd_flush_below(c, req, false, out, err, errlen);
	if (!strcmp(name, "flush-negative"))
		return cmd_flush_below(c, req, true, out, err, errlen);
	if (!strcmp(name, "flush-all")) {
		int rc = renew_recursion(c, err, errlen);
		if (rc != 0)
			return rc;
		size_t n = vd_cache_flush_all(c->d->cache);
		evbuffer_add_printf(out, "flushed %zu entries\n", n);
		return 0;
	}
	if (!strcmp(name, "dump-cache"))
		return cmd_dump_cache(c, out);
	if (!strcmp(name, "cache-export"))
		return cmd_cache_export(c, req, out, err, errlen);
	if (!strcmp(name, "cache-save"))
		return cmd_cache_save(c, req, out, err, errlen);
	if (!strcmp(name, "cache-load"))
		return cmd_cache_load(c, req, out, err, errlen);
	if (!strcmp(name, "reload"))
		return cmd_reload(c, out, err, errlen);
	if (!strcmp(name, "nta"))
		return cmd_nta(c, req, out, err, errlen);
	if (!strcmp(name, "cookie-secret"))
		return cmd_cookie_secret(req, out, err, errlen);
	if (!strcmp(name, "health"))
		return cmd_health(c, out);
	if (!strcmp(name, "drain") || !strcmp(name, "undrain") ||
	    !strcmp(name, "bird")) {
		snprintf(err, errlen, "not available: anycast not configured");
		return -ENOTSUP;
	}
	/* The protocol layer only admits known names; keep a clear answer
	 * should the two lists ever drift apart. */
	snprintf(err, errlen, "unknown command \"%.32s\"", name);
	return -EINVAL;
}
