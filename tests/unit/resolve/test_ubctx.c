/*
 * src/resolve/ubctx.c with the real libunbound: the answer cache's TTL
 * caps reach libunbound's own caches, whose answers would otherwise bring
 * back what the answer cache already let go (a negative answer kept for
 * libunbound's default hour, with harden-below-nxdomain for a subtree).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#include "daemon/settings.h"
#include "resolve/ubctx.h"

static char *option(struct ub_ctx *ctx, const char *name)
{
	char *v = NULL;
	cr_assert_eq(ub_ctx_get_option(ctx, name, &v), 0, "%s", name);
	v[strcspn(v, "\n")] = '\0';
	return v;
}

Test(ubctx, ttl_caps_reach_libunbound)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	cr_assert_not_null(cfg);
	vd_config_defaults(cfg);
	cfg->cache_max_ttl = 7200;
	cfg->cache_max_negative_ttl = 900;
	snprintf(cfg->neg_ttl_zones[0], sizeof(cfg->neg_ttl_zones[0]), "io. 60");
	cfg->n_neg_ttl_zones = 1;
	struct vd_settings *st = vd_settings_new(cfg);
	cr_assert_not_null(st);
	struct event_base *base = event_base_new();
	char err[256] = "";
	struct ub_ctx *ctx = vd_res_ctx_new(base, st, false, err, sizeof(err));
	cr_assert_not_null(ctx, "%s", err);
	char *v = option(ctx, "cache-max-ttl");
	cr_assert_str_eq(v, "7200");
	free(v);
	v = option(ctx, "cache-max-negative-ttl");
	cr_assert_str_eq(v, "60", "the smallest cap, per-zone ones included");
	free(v);
	ub_ctx_delete(ctx);
	event_base_free(base);
	vd_settings_free(st);
	free(cfg);
}

static struct vd_settings *settings_from(const char *text)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	cr_assert_not_null(cfg);
	vd_config_defaults(cfg);
	char err[512] = "";
	cr_assert_eq(vd_config_parse_string(cfg, "t.conf", text, err,
					    sizeof(err)),
		     0, "%s", err);
	struct vd_settings *st = vd_settings_new(cfg);
	cr_assert_not_null(st);
	free(cfg);
	return st;
}

struct answer {
	int err, rcode, n;
	char first[64];
	bool done;
};

static void on_answer(void *arg, int rcode, void *pkt, int len, int sec,
		      char *why_bogus, int was_ratelimited)
{
	struct answer *a = arg;
	(void)pkt;
	(void)sec;
	(void)why_bogus;
	(void)was_ratelimited;
	a->done = true;
	a->rcode = rcode;
	a->n = len;
}

/* Resolves on the context's event base; local answers never leave it. */
static struct answer resolve(struct event_base *base, struct ub_ctx *ctx,
			     const char *name, int type)
{
	struct answer a = {0};
	a.err = ub_resolve_event(ctx, name, type, 1, &a, on_answer, NULL);
	cr_assert_eq(a.err, 0, "%s: %s", name, ub_strerror(a.err));
	for (int i = 0; i < 100 && !a.done; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert(a.done, "%s: no local answer", name);
	return a;
}

/* The zone options reach libunbound through its config reader, which
 * takes what ub_ctx_set_option() refuses (forward-zone, stub-zone,
 * dns64-prefix) and local-zone nodefault, which set_option ignores. */
Test(ubctx, zone_options_reach_libunbound)
{
	struct vd_settings *st = settings_from(
		"forward-zone = vpc.internal 192.0.2.53 first\n"
		"stub-zone = corp. 198.51.100.8@5353\n"
		"local-zone = test. nodefault\n"
		"local-zone = home.arpa. static\n"
		"local-data = \"www.home.arpa. 300 A 192.0.2.80\"\n"
		"local-data-ptr = \"192.0.2.80 www.home.arpa.\"\n"
		"private-address = 10.0.0.0/8\n"
		"dns64-prefix = 64:ff9b::/96\n");
	struct event_base *base = event_base_new();
	char err[256] = "";
	struct ub_ctx *ctx = vd_res_ctx_new(base, st, true, err, sizeof(err));
	cr_assert_not_null(ctx, "%s", err);
	char *v = option(ctx, "module-config");
	cr_assert_str_eq(v, "dns64 validator iterator");
	free(v);
	v = option(ctx, "private-address");
	cr_assert_str_eq(v, "10.0.0.0/8");
	free(v);
	struct answer a = resolve(base, ctx, "www.home.arpa.", 1);
	cr_assert_gt(a.n, 12, "a local answer packet");
	a = resolve(base, ctx, "80.2.0.192.in-addr.arpa.", 12);
	cr_assert_gt(a.n, 12);
	ub_ctx_delete(ctx);
	event_base_free(base);
	vd_settings_free(st);
}

/* Record data only libunbound parses: a bad line is named at -t, start
 * and reload instead of failing every query once a context starts. */
Test(ubctx, bad_local_data_is_named_before_use)
{
	struct vd_settings *st = settings_from(
		"local-data = \"ok.home.arpa. A 192.0.2.1\"\n"
		"local-data = \"srv.home.arpa. SRV 0 5 not-a-port x.home.arpa.\"\n");
	char err[256] = "";
	cr_assert_neq(vd_res_zones_probe(&st->cfg, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "srv.home.arpa."), "%s", err);
	vd_settings_free(st);

	st = settings_from("local-data = \"ok.home.arpa. A 192.0.2.1\"\n");
	cr_assert_eq(vd_res_zones_probe(&st->cfg, err, sizeof(err)), 0, "%s",
		     err);
	vd_settings_free(st);
}

/* What the set_option path got wrong: with "test. nodefault" the default
 * local zone must be gone, so test. is resolved (here through a stub
 * to a closed loopback port: the query leaves, nothing answers) instead
 * of answered NXDOMAIN on the spot. */
Test(ubctx, nodefault_removes_the_default_local_zone)
{
	static struct answer late; /* may be written after the test's frame */
	/* The stub: a bound UDP socket nobody reads, so the query waits for
	 * libunbound's timeout (no ICMP error cutting it short). */
	int silent = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_geq(silent, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	cr_assert_eq(bind(silent, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(silent, (struct sockaddr *)&sa, &sl), 0);
	char stub[64];
	snprintf(stub, sizeof(stub), "stub-zone = test. 127.0.0.1@%u\n",
		 (unsigned)ntohs(sa.sin_port));
	struct vd_settings *st = settings_from(stub);
	struct event_base *base = event_base_new();
	char err[256] = "";
	struct ub_ctx *ctx = vd_res_ctx_new(base, st, false, err, sizeof(err));
	cr_assert_not_null(ctx, "%s", err);
	struct answer a = resolve(base, ctx, "x.test.", 1);
	cr_assert_gt(a.n, 12, "the default test. zone answers locally");
	ub_ctx_delete(ctx);
	vd_settings_free(st);

	char text[128];
	snprintf(text, sizeof(text), "%slocal-zone = test. nodefault\n", stub);
	st = settings_from(text);
	ctx = vd_res_ctx_new(base, st, false, err, sizeof(err));
	cr_assert_not_null(ctx, "%s", err);
	cr_assert_eq(ub_resolve_event(ctx, "x.test.", 1, 1, &late, on_answer,
				      NULL),
		     0);
	for (int i = 0; i < 100 && !late.done; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert_not(late.done, "x.test. answered locally despite nodefault");
	ub_ctx_delete(ctx);
	event_base_free(base);
	vd_settings_free(st);
	close(silent);
}
