/*
 * Settings: a loaded configuration plus the values derived from it once
 * (nanosecond intervals, NSID bytes).  Immutable once published; a reload
 * publishes a new one with rcu_assign_pointer() and frees the old one
 * after a grace period, so workers read it without locks.
 */
#ifndef VD_DAEMON_SETTINGS_H
#define VD_DAEMON_SETTINGS_H

#include <stdint.h>

#include "config/config.h"

struct vd_settings {
	struct vd_config cfg;
	uint8_t nsid[VD_CONFIG_STR_MAX];
	uint16_t nsid_len;
	uint64_t stale_max_ns;            /* 0 when serve-stale is off */
	uint64_t stale_client_timeout_ns; /* 0: only on failure */
	uint64_t stale_refresh_ns;        /* 0: every query retries */
	uint64_t recursion_timeout_ns;
	/* cache-max-negative-ttl-zone, parsed */
	struct vd_neg_zone {
		uint8_t zone[255];
		uint8_t len;
		uint32_t ttl;
	} neg_zones[VD_CONFIG_MAX_LIST];
	size_t n_neg_zones;
	uint32_t neg_ttl_floor; /* the smallest negative cap of all */
	/* vd_settings_answer_digest() of cfg */
	uint8_t answer_digest[32];
	/* Config drift (vipdnsctl --cluster status): everything that decides
	 * what a client gets (the answer digest, TTL caps, serve-stale), and
	 * the trust anchors in force (the files' contents, or the built-in
	 * ones).  Nodes behind one VIP must show the same. */
	uint8_t policy_digest[32];
	uint8_t anchor_digest[32];
};

/* The negative-answer cap for a lower-cased wire name: the most specific
 * cache-max-negative-ttl-zone covering it, else cache-max-negative-ttl. */
uint32_t vd_settings_max_neg_ttl(const struct vd_settings *s,
				 const uint8_t *name, size_t len);

/*
 * SHA-256 over the settings that decide which answers are right: DNSSEC
 * validation, trust anchors, root hints, unbound-option lines.  A cache
 * snapshot carries it, and one written under other settings is not
 * loaded (a node validating must never take answers cached without).
 * Options added later that change answers (local data, forwarding,
 * policy) must be added here.
 */
void vd_settings_answer_digest(const struct vd_config *cfg, uint8_t out[32]);

/* Returns NULL on allocation failure; takes a copy of cfg. */
struct vd_settings *vd_settings_new(const struct vd_config *cfg);
void vd_settings_free(struct vd_settings *s);

#endif
