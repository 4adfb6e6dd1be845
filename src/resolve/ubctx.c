#include "resolve/ubctx.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <unbound-event.h>
#include <unbound.h>

#include "core/compiler.h"
#include "daemon/settings.h"
#include "dns/query.h"
#include "resolve/nta.h"
#include "resolve/resolve.h"
#include "resolve/zones.h"

/*
 * The IANA root KSKs (KSK-2017 and KSK-2024) as DS records; the same data
 * Debian ships in dns-root-data.  Used only when no trust-anchor-file is
 * configured, so a zero-config start validates.
 */
const char *const vd_res_builtin_anchors[] = {
	". IN DS 20326 8 2 "
	"E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
	". IN DS 38696 8 2 "
	"683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
	NULL,
};

static int set_opt(struct ub_ctx *ctx, const char *name, const char *value,
		   char *err, size_t errlen)
{
	int rc = ub_ctx_set_option(ctx, name, value);
	if (rc != 0) {
		snprintf(err, errlen, "libunbound option \"%s %s\": %s", name,
			 value, ub_strerror(rc));
		return -EINVAL;
	}
	return 0;
}

/*
 * Feeds the zones and policy options to libunbound as a config file: its
 * config reader is the only way in for forward/stub zones, DNS64 and a
 * working local-zone nodefault.  The text never touches the disk (a
 * memfd, read back through /proc/self/fd), and the reader keeps its
 * state in globals, so one context reads at a time.
 */
static int load_zones(struct ub_ctx *ctx, const struct vd_config *cfg,
		      char *err, size_t errlen)
{
	static pthread_mutex_t reader = PTHREAD_MUTEX_INITIALIZER;
	size_t cap = vd_zones_render_max();
	char *text = malloc(cap);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int len = vd_zones_render(cfg, text, cap);
	if (len < 0) {
		free(text);
		snprintf(err, errlen, "zones: cannot render the libunbound "
				      "configuration");
		return -EINVAL;
	}
	int rc = -EIO;
	int fd = memfd_create("vipdns-zones", MFD_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "zones: memfd_create: %s", strerror(errno));
		free(text);
		return -errno;
	}
	ssize_t w = write(fd, text, (size_t)len);
	free(text);
	if (w != len) {
		snprintf(err, errlen, "zones: cannot write the libunbound "
				      "configuration");
		goto out;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pthread_mutex_lock(&reader);
	int ub = ub_ctx_config(ctx, path);
	pthread_mutex_unlock(&reader);
	if (ub != 0) {
		/* Every value was checked at parse time; what is left is
		 * record data only libunbound parses (see vd_res_zones_probe). */
		snprintf(err, errlen, "zones: libunbound refused the zone "
				      "options: %s", ub_strerror(ub));
		rc = -EINVAL;
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

static bool any_tls_forward(const struct vd_config *cfg)
{
	for (size_t i = 0; i < cfg->n_forward_zones; i++)
		if (strstr(cfg->forward_zones[i], " tls "))
			return true;
	return false;
}

int vd_res_zones_probe(const struct vd_config *cfg, char *err, size_t errlen)
{
	if (cfg->n_local_data == 0 && cfg->n_local_data_ptr == 0)
		return 0;
	/* ub_ctx_data_add() parses one record as the config reader would,
	 * and says which one is wrong. */
	struct ub_ctx *ctx = ub_ctx_create();
	if (!ctx) {
		snprintf(err, errlen, "libunbound: cannot create a context");
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; !rc && i < cfg->n_local_data; i++) {
		int ub = ub_ctx_data_add(ctx, cfg->local_data[i]);
		if (ub != 0) {
			/* Its code says nothing (a syntax error comes back
			 * as out of memory); libunbound logs the detail. */
			snprintf(err, errlen, "local-data \"%s\": libunbound "
					      "cannot parse this record",
				 cfg->local_data[i]);
			rc = -EINVAL;
		}
	}
	ub_ctx_delete(ctx);
	return rc;
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

struct ub_ctx *vd_res_ctx_new(struct event_base *base,
			      const struct vd_settings *st, bool validate,
			      char *err, size_t errlen)
{
	const struct vd_config *cfg = &st->cfg;
	struct ub_ctx *ctx = ub_ctx_create_event(base);
	if (!ctx) {
		snprintf(err, errlen, "libunbound: cannot create a context");
		return NULL;
	}
	char num[32], max_ttl[16], max_neg[16];
	snprintf(num, sizeof(num), "%u", (unsigned)cfg->edns_buffer_size);
	/* libunbound's own caches answer its recursions: an NXDOMAIN it kept
	 * longer than the answer cache may would come straight back (and,
	 * with harden-below-nxdomain, for the whole subtree).  Its negative
	 * cap is the smallest of ours, per-zone ones included (it has no
	 * per-zone cap); 0 there would mean no cap at all. */
	snprintf(max_ttl, sizeof(max_ttl), "%u", (unsigned)cfg->cache_max_ttl);
	snprintf(max_neg, sizeof(max_neg), "%u",
		 (unsigned)VD_MAX(st->neg_ttl_floor, 1u));
	if (vd_zones_any(cfg) && load_zones(ctx, cfg, err, errlen) != 0)
		goto fail;
	const char *modules = validate ? "validator iterator" : "iterator";
	if (cfg->dns64_prefix[0])
		modules = validate ? "dns64 validator iterator" : "dns64 iterator";
	const struct {
		const char *name;
		const char *value;
	} opts[] = {
		{"module-config:", modules},
		{"qname-minimisation:", yesno(cfg->qname_minimisation)},
		{"aggressive-nsec:", yesno(cfg->aggressive_nsec)},
		{"use-caps-for-id:", yesno(cfg->use_caps_for_id)},
		{"harden-glue:", "yes"},
		{"harden-dnssec-stripped:", "yes"},
		{"harden-below-nxdomain:", "yes"},
		{"harden-large-queries:", "yes"},
		{"harden-short-bufsize:", "yes"},
		{"edns-buffer-size:", num},
		{"cache-max-ttl:", max_ttl},
		{"cache-max-negative-ttl:", max_neg},
		/* Staleness, prefetch and minimal answers are the answer
		 * cache's business; libunbound's caches serve recursion. */
		{"serve-expired:", "no"},
		{"prefetch:", "no"},
		{"minimal-responses:", "yes"},
	};
	for (size_t i = 0; i < VD_ARRAY_SIZE(opts); i++)
		if (set_opt(ctx, opts[i].name, opts[i].value, err, errlen))
			goto fail;
	if (cfg->root_hints[0]) {
		if (access(cfg->root_hints, R_OK) != 0) {
			snprintf(err, errlen, "root-hints %s: %s", cfg->root_hints,
				 strerror(errno));
			goto fail;
		}
		if (set_opt(ctx, "root-hints:", cfg->root_hints, err, errlen))
			goto fail;
	}
	if (any_tls_forward(cfg)) {
		if (access(cfg->tls_cert_bundle, R_OK) != 0) {
			snprintf(err, errlen, "tls-cert-bundle %s: %s (needed "
					      "by forward-zone ... tls)",
				 cfg->tls_cert_bundle, strerror(errno));
			goto fail;
		}
		if (set_opt(ctx, "tls-cert-bundle:", cfg->tls_cert_bundle, err,
			    errlen))
			goto fail;
	}
	for (size_t i = 0; i < cfg->n_unbound_options; i++) {
		const char *raw = cfg->unbound_options[i];
		const char *colon = strchr(raw, ':');
		if (!colon || (size_t)(colon - raw) + 2 > VD_CONFIG_STR_MAX) {
			snprintf(err, errlen,
				 "unbound-option \"%s\": expected \"name: value\"",
				 raw);
			goto fail;
		}
		char name[VD_CONFIG_STR_MAX];
		memcpy(name, raw, (size_t)(colon - raw) + 1);
		name[colon - raw + 1] = '\0';
		const char *value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (set_opt(ctx, name, value, err, errlen))
			goto fail;
	}
	if (!validate)
		return ctx;
	/* Negative trust anchors in force when the context is made; adding
	 * or removing one renews the contexts (control/commands.c). */
	struct vd_nta nta[VD_NTA_MAX];
	size_t n_nta = vd_nta_list(nta, VD_NTA_MAX, (int64_t)time(NULL));
	for (size_t i = 0; i < n_nta; i++) {
		char name[VD_DNS_NAME_MAX * 4 + 2];
		if (vd_dns_name_to_str(nta[i].name, nta[i].name_len, name,
				       sizeof(name)) < 0 ||
		    set_opt(ctx, "domain-insecure:", name, err, errlen))
			goto fail;
	}
	if (cfg->n_trust_anchor_files == 0) {
		for (size_t i = 0; vd_res_builtin_anchors[i]; i++) {
			int rc = ub_ctx_add_ta(ctx, vd_res_builtin_anchors[i]);
			if (rc != 0) {
				snprintf(err, errlen, "built-in trust anchor: %s",
					 ub_strerror(rc));
				goto fail;
			}
		}
		return ctx;
	}
	for (size_t i = 0; i < cfg->n_trust_anchor_files; i++) {
		const char *f = cfg->trust_anchor_files[i];
		/* libunbound reads the file on first use; fail now instead. */
		if (access(f, R_OK) != 0) {
			snprintf(err, errlen, "trust-anchor-file %s: %s", f,
				 strerror(errno));
			goto fail;
		}
		int rc = ub_ctx_add_ta_file(ctx, f);
		if (rc != 0) {
			snprintf(err, errlen, "trust-anchor-file %s: %s", f,
				 ub_strerror(rc));
			goto fail;
		}
	}
	return ctx;
fail:
	ub_ctx_delete(ctx);
	return NULL;
}
