/*
 * Giving up root (`user = ...`) while keeping what the configured features
 * still do after the drop: the VIP refresh (RTM_NEWADDR twice a second)
 * and XDP reloads.  README "Privileges" lists the capabilities per feature.
 *
 * Order, all on the main thread:
 *   vd_daemon_privs_prepare()  before any thread starts: no-new-privs, and
 *                              the bounding set cut to the kept set, so
 *                              every thread created later inherits both;
 *   vd_daemon_privs_dirs()     runtime directories owned by the user;
 *   vd_daemon_privs_drop()     setgid/setuid keeping only the kept set, on
 *                              the main thread.  Threads started before it
 *                              (control, metrics) end with no capability.
 */
#ifndef VD_DAEMON_PRIVS_H
#define VD_DAEMON_PRIVS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"

#define VD_PRIVS_MAX_DIRS 6

/* Capabilities (a mask of 1 << CAP_x) the features of cfg need after the
 * drop.  Pure: reads cfg only. */
uint64_t vd_daemon_privs_needed(const struct vd_config *cfg);

/* The runtime directories of cfg (the parents of control-socket and
 * cache-snapshot, and with anycast of bird-announce-file and bird-config), deduplicated, into
 * dirs[VD_PRIVS_MAX_DIRS][len].  Returns how many.  Pure. */
size_t vd_daemon_privs_dir_list(const struct vd_config *cfg,
				char dirs[][VD_CONFIG_STR_MAX], size_t max);

/* The mask as text, "cap_net_admin,cap_bpf" or "none", into buf. */
void vd_daemon_privs_str(uint64_t caps, char *buf, size_t len);

/* 0 or -errno.  No-op when cfg has no user. */
int vd_daemon_privs_prepare(const struct vd_config *cfg);

/* Creates each runtime directory missing (its last component, 0755) and
 * gives it, and an existing one owned by root that is not world-writable,
 * to uid:gid.  0 or -errno (logged). */
int vd_daemon_privs_dirs(const struct vd_config *cfg, uid_t uid, gid_t gid);

/* Becomes cfg->user with its groups and exactly
 * vd_daemon_privs_needed(cfg) permitted and effective; checks root cannot
 * come back.  0 or -errno (logged). */
int vd_daemon_privs_drop(const struct vd_config *cfg);

#endif
