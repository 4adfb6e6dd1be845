/*
 * src/resolve/ubctx.c with the real libunbound: the answer cache's TTL
 * caps reach libunbound's own caches, whose answers would otherwise bring
 * back what the answer cache already let go (a negative answer kept for
 * libunbound's default hour, with harden-below-nxdomain for a subtree).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <event2/event.h>
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
