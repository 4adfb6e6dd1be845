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
};

/* Returns NULL on allocation failure; takes a copy of cfg. */
struct vd_settings *vd_settings_new(const struct vd_config *cfg);
void vd_settings_free(struct vd_settings *s);

#endif
