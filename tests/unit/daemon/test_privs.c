/* Unit tests for src/daemon/privs.c: which capabilities the configured
 * features keep after `user = ...`, and which runtime directories the
 * daemon gives to that user.  The drop itself needs root and runs in
 * tests/integration/test_privdrop.sh. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include <linux/capability.h>

#include "config/config.h"
#include "daemon/privs.h"
#include "vd_build.h"

#define BIT(c) (UINT64_C(1) << (c))

static struct vd_config *cfg_new(void)
{
	struct vd_config *cfg = malloc(sizeof(*cfg));
	cr_assert_not_null(cfg);
	vd_config_defaults(cfg);
	return cfg;
}

Test(daemon_privs, plain_resolver_keeps_nothing)
{
	/* Port 53 is bound before the drop and listen is restart-only:
	 * no CAP_NET_BIND_SERVICE. */
	struct vd_config *cfg = cfg_new();
	cr_assert_eq(vd_daemon_privs_needed(cfg), 0);
	char s[64];
	vd_daemon_privs_str(0, s, sizeof(s));
	cr_assert_str_eq(s, "none");
	free(cfg);
}

Test(daemon_privs, anycast_keeps_net_admin_only)
{
	struct vd_config *cfg = cfg_new();
	cfg->anycast = true;
	cr_assert_eq(vd_daemon_privs_needed(cfg), BIT(CAP_NET_ADMIN));
	free(cfg);
}

Test(daemon_privs, xdp_keeps_bpf_perfmon_net_admin)
{
#if VD_HAVE_XDP
	struct vd_config *cfg = cfg_new();
	snprintf(cfg->xdp_interfaces[0], sizeof(cfg->xdp_interfaces[0]), "eth0");
	cfg->n_xdp_interfaces = 1;
	uint64_t want = BIT(CAP_NET_ADMIN) | BIT(CAP_BPF) | BIT(CAP_PERFMON);
	cr_assert_eq(vd_daemon_privs_needed(cfg), want);
	cfg->anycast = true;
	cr_assert_eq(vd_daemon_privs_needed(cfg), want);
	char s[64];
	vd_daemon_privs_str(want, s, sizeof(s));
	cr_assert_str_eq(s, "cap_net_admin,cap_bpf,cap_perfmon");
	free(cfg);
#else
	cr_skip_test("built without XDP");
#endif
}

Test(daemon_privs, runtime_dirs)
{
	struct vd_config *cfg = cfg_new();
	char dirs[VD_PRIVS_MAX_DIRS][VD_CONFIG_STR_MAX];
	/* default: the control socket's /run/vipdns and the cache
	 * snapshot's /var/lib/vipdns (written after the drop) */
	cr_assert_eq(vd_daemon_privs_dir_list(cfg, dirs, VD_PRIVS_MAX_DIRS), 2);
	cr_assert_str_eq(dirs[0], "/run/vipdns");
	cr_assert_str_eq(dirs[1], "/var/lib/vipdns");
	/* anycast: the announce include (same directory) and bird.conf */
	cfg->anycast = true;
	snprintf(cfg->bird_config, sizeof(cfg->bird_config),
		 "/run/vipdns-bird/bird.conf");
	cr_assert_eq(vd_daemon_privs_dir_list(cfg, dirs, VD_PRIVS_MAX_DIRS), 3);
	cr_assert_str_eq(dirs[0], "/run/vipdns");
	cr_assert_str_eq(dirs[1], "/var/lib/vipdns");
	cr_assert_str_eq(dirs[2], "/run/vipdns-bird");
	/* nothing to manage: no socket, no snapshot, a relative name, the
	 * root */
	cfg->control_socket[0] = '\0';
	cfg->cache_snapshot[0] = '\0';
	/* the negative trust anchors' file keeps its directory */
	cr_assert_eq(vd_daemon_privs_dir_list(cfg, dirs, VD_PRIVS_MAX_DIRS), 3);
	cr_assert_str_eq(dirs[0], "/var/lib/vipdns");
	cfg->nta_file[0] = '\0';
	cfg->cookie_secret_file[0] = '\0';
	snprintf(cfg->bird_announce_file, sizeof(cfg->bird_announce_file),
		 "announce.conf");
	snprintf(cfg->bird_config, sizeof(cfg->bird_config), "/bird.conf");
	cr_assert_eq(vd_daemon_privs_dir_list(cfg, dirs, VD_PRIVS_MAX_DIRS), 0);
	/* without anycast the BIRD files are not vipdnsd's */
	cfg->anycast = false;
	snprintf(cfg->bird_config, sizeof(cfg->bird_config), "/etc/bird/x");
	cr_assert_eq(vd_daemon_privs_dir_list(cfg, dirs, VD_PRIVS_MAX_DIRS), 0);
	free(cfg);
}
