/* src/daemon/settings.c: the answer digest a cache snapshot is checked
 * against changes with every setting that decides what an answer may be,
 * and with nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "daemon/settings.h"
#include "dns/query.h"

static struct vd_config *cfg_new(void)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	cr_assert_not_null(cfg);
	vd_config_defaults(cfg);
	return cfg;
}

static bool same(const struct vd_config *a, const struct vd_config *b)
{
	uint8_t x[32], y[32];
	vd_settings_answer_digest(a, x);
	vd_settings_answer_digest(b, y);
	return memcmp(x, y, 32) == 0;
}

Test(answer_digest, follows_answer_settings_only)
{
	struct vd_config *a = cfg_new(), *b = cfg_new();
	cr_assert(same(a, b));
	uint8_t zero[32] = {0}, d[32];
	vd_settings_answer_digest(a, d);
	cr_assert_neq(memcmp(d, zero, 32), 0);

	b->cache_size *= 2;
	b->threads = 7;
	b->serve_stale = !b->serve_stale;
	cr_assert(same(a, b), "cache size, threads, serve-stale: same answers");

	b->dnssec = !a->dnssec;
	cr_assert(!same(a, b), "validation on/off");
	b->dnssec = a->dnssec;

	snprintf(b->root_hints, sizeof(b->root_hints), "/etc/lab.hints");
	cr_assert(!same(a, b), "other root hints");
	b->root_hints[0] = '\0';

	b->n_trust_anchor_files = 1;
	snprintf(b->trust_anchor_files[0], sizeof(b->trust_anchor_files[0]),
		 "/etc/lab.anchor");
	cr_assert(!same(a, b), "other trust anchors");
	b->n_trust_anchor_files = 0;

	b->n_unbound_options = 1;
	snprintf(b->unbound_options[0], sizeof(b->unbound_options[0]),
		 "local-zone: lab. static");
	cr_assert(!same(a, b), "an unbound-option line");
	free(a);
	free(b);
}

Test(neg_ttl_zones, most_specific_zone_wins)
{
	struct vd_config *cfg = cfg_new();
	cfg->cache_max_negative_ttl = 3600;
	snprintf(cfg->neg_ttl_zones[0], sizeof(cfg->neg_ttl_zones[0]), "io. 60");
	snprintf(cfg->neg_ttl_zones[1], sizeof(cfg->neg_ttl_zones[1]),
		 "example.io 5");
	cfg->n_neg_ttl_zones = 2;
	struct vd_settings *st = vd_settings_new(cfg);
	cr_assert_not_null(st);
	uint8_t n[256];
	int l = vd_dns_name_from_str("a.b.example.io", n, sizeof(n));
	cr_assert_eq(vd_settings_max_neg_ttl(st, n, (size_t)l), 5);
	l = vd_dns_name_from_str("other.io", n, sizeof(n));
	cr_assert_eq(vd_settings_max_neg_ttl(st, n, (size_t)l), 60);
	l = vd_dns_name_from_str("io", n, sizeof(n));
	cr_assert_eq(vd_settings_max_neg_ttl(st, n, (size_t)l), 60);
	l = vd_dns_name_from_str("bio", n, sizeof(n));
	cr_assert_eq(vd_settings_max_neg_ttl(st, n, (size_t)l), 3600,
		     "label boundary: bio. is not under io.");
	cr_assert_eq(st->neg_ttl_floor, 5, "libunbound gets the smallest cap");
	vd_settings_free(st);
	free(cfg);
}
