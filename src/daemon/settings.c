#include "daemon/settings.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/clock.h"
#include "dns/query.h"
#include "resolve/resolve.h"

static void digest_str(EVP_MD_CTX *md, const char *tag, const char *v);

/* The zone and policy options change answers as much as the TTL caps:
 * two nodes forwarding a zone to different servers disagree. */
static bool zones_digest(EVP_MD_CTX *md, const struct vd_config *c)
{
#define ZLIST(f, n) {(const void *)c->f, sizeof(c->f[0]), c->n}
	const struct {
		const void *base;
		size_t item, count;
	} lists[] = {
		ZLIST(forward_zones, n_forward_zones),
		ZLIST(stub_zones, n_stub_zones),
		ZLIST(domain_insecure, n_domain_insecure),
		ZLIST(local_zones, n_local_zones),
		ZLIST(local_data, n_local_data),
		ZLIST(local_data_ptr, n_local_data_ptr),
		ZLIST(private_addresses, n_private_addresses),
		ZLIST(private_domains, n_private_domains),
		ZLIST(dns64_ignore_aaaa, n_dns64_ignore_aaaa),
	};
#undef ZLIST
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		uint64_t count = lists[i].count;
		if (EVP_DigestUpdate(md, &count, sizeof(count)) != 1 ||
		    EVP_DigestUpdate(md, lists[i].base,
				     lists[i].count * lists[i].item) != 1)
			return false;
	}
	uint8_t synth = c->dns64_synthall;
	return EVP_DigestUpdate(md, c->dns64_prefix, sizeof(c->dns64_prefix)) == 1 &&
	       EVP_DigestUpdate(md, &synth, 1) == 1;
}

static void policy_digest(struct vd_settings *s)
{
	const struct vd_config *c = &s->cfg;
	const uint64_t v[] = {c->cache_min_ttl, c->cache_max_ttl,
			      c->cache_max_negative_ttl, c->servfail_ttl,
			      c->serve_stale, c->stale_max_age,
			      c->stale_answer_ttl, c->stale_client_timeout_ms,
			      c->stale_refresh_time, c->recursion_timeout_ms};
	memset(s->policy_digest, 0, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, s->answer_digest, 32) == 1 &&
	    EVP_DigestUpdate(md, v, sizeof(v)) == 1 &&
	    EVP_DigestUpdate(md, c->neg_ttl_zones,
			     c->n_neg_ttl_zones * sizeof(c->neg_ttl_zones[0])) == 1 &&
	    zones_digest(md, c))
		(void)EVP_DigestFinal_ex(md, s->policy_digest, &n);
	EVP_MD_CTX_free(md);
}

/* The anchors' contents as read now (a file libunbound rewrites under
 * RFC 5011 changes it); unreadable files count by name. */
static void anchor_digest(const struct vd_config *cfg, uint8_t out[32])
{
	memset(out, 0, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return;
	}
	if (cfg->n_trust_anchor_files == 0)
		for (size_t i = 0; vd_res_builtin_anchors[i]; i++)
			EVP_DigestUpdate(md, vd_res_builtin_anchors[i],
					 strlen(vd_res_builtin_anchors[i]) + 1);
	for (size_t i = 0; i < cfg->n_trust_anchor_files; i++) {
		FILE *f = fopen(cfg->trust_anchor_files[i], "re");
		if (!f) {
			digest_str(md, "unreadable", cfg->trust_anchor_files[i]);
			continue;
		}
		char buf[4096];
		size_t got, total = 0;
		while ((got = fread(buf, 1, sizeof(buf), f)) > 0 &&
		       total < (1u << 20)) {
			EVP_DigestUpdate(md, buf, got);
			total += got;
		}
		fclose(f);
	}
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(md, out, &n) != 1)
		memset(out, 0, 32);
	EVP_MD_CTX_free(md);
}

struct vd_settings *vd_settings_new(const struct vd_config *cfg)
{
	struct vd_settings *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	const char *id = cfg->node_id;
	char host[VD_CONFIG_STR_MAX] = "";
	if (!id[0]) {
		if (gethostname(host, sizeof(host) - 1) != 0)
			host[0] = '\0';
		id = host;
	}
	size_t n = strnlen(id, sizeof(s->nsid));
	memcpy(s->nsid, id, n);
	s->nsid_len = (uint16_t)n;
	s->stale_max_ns = cfg->serve_stale
				  ? (uint64_t)cfg->stale_max_age * VD_NS_PER_SEC
				  : 0;
	s->stale_client_timeout_ns =
		(uint64_t)cfg->stale_client_timeout_ms * VD_NS_PER_MS;
	s->stale_refresh_ns = (uint64_t)cfg->stale_refresh_time * VD_NS_PER_SEC;
	s->neg_ttl_floor = cfg->cache_max_negative_ttl;
	for (size_t i = 0; i < cfg->n_neg_ttl_zones; i++) {
		struct vd_neg_zone *z = &s->neg_zones[s->n_neg_zones];
		size_t len;
		/* checked when the file was read */
		if (vd_config_neg_zone_parse(cfg->neg_ttl_zones[i], z->zone, &len,
					     &z->ttl) != 0)
			continue;
		z->len = (uint8_t)len;
		s->n_neg_zones++;
		if (z->ttl < s->neg_ttl_floor)
			s->neg_ttl_floor = z->ttl;
	}
	vd_settings_answer_digest(cfg, s->answer_digest);
	policy_digest(s);
	anchor_digest(cfg, s->anchor_digest);
	s->recursion_timeout_ns =
		(uint64_t)cfg->recursion_timeout_ms * VD_NS_PER_MS;
	return s;
}

uint32_t vd_settings_max_neg_ttl(const struct vd_settings *s,
				 const uint8_t *name, size_t len)
{
	uint32_t ttl = s->cfg.cache_max_negative_ttl;
	size_t best = 0;
	for (size_t i = 0; i < s->n_neg_zones; i++) {
		const struct vd_neg_zone *z = &s->neg_zones[i];
		if (z->len > best && vd_dns_name_in_zone(name, len, z->zone, z->len)) {
			best = z->len;
			ttl = z->ttl;
		}
	}
	return ttl;
}

static void digest_str(EVP_MD_CTX *md, const char *tag, const char *v)
{
	/* Length-prefixed so no two lists hash alike. */
	size_t n = strlen(v);
	EVP_DigestUpdate(md, tag, strlen(tag) + 1);
	EVP_DigestUpdate(md, &n, sizeof(n));
	EVP_DigestUpdate(md, v, n);
}

void vd_settings_answer_digest(const struct vd_config *cfg, uint8_t out[32])
{
	memset(out, 0, 32);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		/* All zero matches no snapshot digest anyone computed. */
		EVP_MD_CTX_free(md);
		return;
	}
	digest_str(md, "dnssec", cfg->dnssec ? "yes" : "no");
	for (size_t i = 0; i < cfg->n_trust_anchor_files; i++)
		digest_str(md, "trust-anchor-file", cfg->trust_anchor_files[i]);
	digest_str(md, "root-hints", cfg->root_hints);
	for (size_t i = 0; i < cfg->n_unbound_options; i++)
		digest_str(md, "unbound-option", cfg->unbound_options[i]);
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32)
		memset(out, 0, 32);
	EVP_MD_CTX_free(md);
}

void vd_settings_free(struct vd_settings *s)
{
	free(s);
}
