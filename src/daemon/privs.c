/*
 * Giving up root while keeping the capabilities the features need (see
 * privs.h for the order).  Raw capset(2) rather than libcap: three calls
 * and one header do not justify a dependency.
 *
 * Why each capability (measured on kernel 6.18, README "Privileges"):
 *   CAP_NET_ADMIN  anycast: RTM_NEWADDR/RTM_DELADDR for the VIPs (refreshed
 *                  twice a second; without it the VIPs expire after
 *                  vip-lifetime and BIRD withdraws the node).  XDP: loading
 *                  an XDP program and attaching it (bpf_link_create).
 *   CAP_BPF        XDP: creating the maps and BTF, loading the program.
 *   CAP_PERFMON    XDP: with CAP_BPF and CAP_NET_ADMIN only, the verifier
 *                  refuses our program (EACCES): a loader without
 *                  CAP_PERFMON gets the stricter checks (no pointer
 *                  leaks, Spectre v1/v4 masking) it does not pass.
 * Not kept: CAP_NET_BIND_SERVICE (listen is restart-only, every socket is
 * bound before the drop), CAP_SYS_ADMIN (nothing here needs it once
 * CAP_BPF and CAP_PERFMON exist), CAP_CHOWN/CAP_DAC_* (runtime directories
 * are given to the user instead).
 */
#include "daemon/privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "core/log.h"
#include "vd_build.h"

#define BIT(c) (UINT64_C(1) << (c))

uint64_t vd_daemon_privs_needed(const struct vd_config *cfg)
{
	uint64_t caps = 0;
	if (cfg->anycast)
		caps |= BIT(CAP_NET_ADMIN);
#if VD_HAVE_XDP
	/* A reload reloads the program when a load-time setting changes,
	 * and attaches it to interfaces added to xdp-interface. */
	if (cfg->n_xdp_interfaces > 0)
		caps |= BIT(CAP_NET_ADMIN) | BIT(CAP_BPF) | BIT(CAP_PERFMON);
#endif
	return caps;
}

static const struct {
	int cap;
	const char *name;
} cap_names[] = {
	{CAP_NET_ADMIN, "cap_net_admin"},
	{CAP_BPF, "cap_bpf"},
	{CAP_PERFMON, "cap_perfmon"},
};

void vd_daemon_privs_str(uint64_t caps, char *buf, size_t len)
{
	size_t off = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
		if (!(caps & BIT(cap_names[i].cap)))
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "",
				 cap_names[i].name);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
	if (off == 0)
		snprintf(buf, len, "none");
}

/* The parent directory of path into dir; false when there is none worth
 * managing (a relative name in the cwd, or the root directory). */
static bool parent_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!path[0] || !slash || slash == path)
		return false;
	size_t n = (size_t)(slash - path);
	if (n >= len)
		return false;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return true;
}

size_t vd_daemon_privs_dir_list(const struct vd_config *cfg,
				char dirs[][VD_CONFIG_STR_MAX], size_t max)
{
	/* nta-file and cookie-secret-file: rewritten after the drop by
	 * vipdnsctl nta and cookie-secret. */
	const char *files[VD_PRIVS_MAX_DIRS] = {
		cfg->control_socket, cfg->cache_snapshot, cfg->nta_file,
		cfg->answer_cookie ? cfg->cookie_secret_file : NULL, NULL, NULL};
	if (cfg->anycast) {
		files[4] = cfg->bird_announce_file;
		files[5] = cfg->bird_config;
	}
	size_t n = 0;
	for (size_t i = 0; i < VD_PRIVS_MAX_DIRS && n < max; i++) {
		if (!files[i] || !parent_of(files[i], dirs[n], VD_CONFIG_STR_MAX))
			continue;
		bool dup = false;
		for (size_t j = 0; j < n; j++)
			dup |= strcmp(dirs[j], dirs[n]) == 0;
		if (!dup)
			n++;
	}
	return n;
}

/* ------------------------------------------------------------ capsets */

static int capset_all(uint64_t permitted, uint64_t effective)
{
	struct __user_cap_header_struct h = {.version =
						     _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	data[0].permitted = (uint32_t)permitted;
	data[1].permitted = (uint32_t)(permitted >> 32);
	data[0].effective = (uint32_t)effective;
	data[1].effective = (uint32_t)(effective >> 32);
	if (syscall(SYS_capset, &h, data) != 0)
		return -errno;
	return 0;
}

static int capget_all(uint64_t *permitted, uint64_t *effective)
{
	struct __user_cap_header_struct h = {.version =
						     _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &h, data) != 0)
		return -errno;
	*permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
	*effective = (uint64_t)data[1].effective << 32 | data[0].effective;
	return 0;
}

int vd_daemon_privs_prepare(const struct vd_config *cfg)
{
	if (!cfg->user[0])
		return 0;
	uint64_t keep = vd_daemon_privs_needed(cfg);
	/* The daemon never executes anything: nothing it runs may gain
	 * privileges through setuid bits or file capabilities. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		int e = errno;
		vd_log(VD_LOG_CRIT, "no-new-privs: %s", strerror(e));
		return -e;
	}
	/* The bounding set limits only what a thread can gain later; root's
	 * effective set (binding port 53, loading XDP at start) stays until
	 * the drop.  Done before any thread starts, so all inherit it. */
	for (int c = 0; c < 64; c++) {
		if (keep & BIT(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			int e = errno;
			vd_log(VD_LOG_CRIT, "cannot drop capability %d from the "
					    "bounding set: %s",
			       c, strerror(e));
			return -e;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ directories */

static int own_dir(const char *dir, uid_t uid, gid_t gid)
{
	struct stat st;
	if (mkdir(dir, 0755) == 0) {
		if (chown(dir, uid, gid) != 0)
			return -errno;
		vd_log(VD_LOG_INFO, "created %s for uid %u", dir, (unsigned)uid);
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	if (lstat(dir, &st) != 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid == uid)
		return 0;
	/* A shared directory (/tmp, a sticky or world-writable one) or one
	 * another user owns is not ours to take: the files in it must then
	 * be made writable by hand. */
	if (st.st_uid != 0 || (st.st_mode & (S_ISVTX | S_IWOTH))) {
		vd_log(VD_LOG_WARNING,
		       "%s is not vipdnsd's to take (owner %u, mode %04o): "
		       "files vipdnsd rewrites there must be writable by uid %u",
		       dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
		       (unsigned)uid);
		return 0;
	}
	if (chown(dir, uid, gid) != 0)
		return -errno;
	vd_log(VD_LOG_INFO, "%s now owned by uid %u", dir, (unsigned)uid);
	return 0;
}

int vd_daemon_privs_dirs(const struct vd_config *cfg, uid_t uid, gid_t gid)
{
	char dirs[VD_PRIVS_MAX_DIRS][VD_CONFIG_STR_MAX];
	size_t n = vd_daemon_privs_dir_list(cfg, dirs, VD_PRIVS_MAX_DIRS);
	for (size_t i = 0; i < n; i++) {
		int rc = own_dir(dirs[i], uid, gid);
		if (rc != 0) {
			vd_log(VD_LOG_CRIT, "runtime directory %s: %s", dirs[i],
			       strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ the drop */

int vd_daemon_privs_drop(const struct vd_config *cfg)
{
	int rc = 0;
	const char *user = cfg->user;
	uint64_t keep = vd_daemon_privs_needed(cfg);
	char names[64];
	vd_daemon_privs_str(keep, names, sizeof(names));

	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		vd_log(VD_LOG_CRIT, "user %s: %s", user,
		       errno ? strerror(errno) : "no such user");
		return -EINVAL;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (uid == 0) {
		vd_log(VD_LOG_WARNING, "user %s is root: nothing dropped", user);
		return 0;
	}
	if ((rc = vd_daemon_privs_dirs(cfg, uid, gid)) != 0)
		return rc;
	/* The user's own groups stay: membership in BIRD's group is how the
	 * daemon reaches BIRD's control socket. */
	if (initgroups(user, gid) != 0 || setgid(gid) != 0) {
		rc = -errno;
		goto fail;
	}
	/* Keep the permitted set across setuid on this thread only; glibc
	 * runs setuid on every thread, and the others (control, metrics),
	 * without keep-caps, lose every capability. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setuid(uid) != 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = capset_all(keep, keep)) != 0)
		goto fail;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
		rc = -errno;
		goto fail;
	}
	/* A process that can get root back has not dropped anything. */
	if (setuid(0) == 0) {
		vd_log(VD_LOG_CRIT, "privileges could be regained after drop");
		return -EPERM;
	}
	uint64_t prm = 0, eff = 0;
	if ((rc = capget_all(&prm, &eff)) != 0)
		goto fail;
	if (prm != keep || eff != keep) {
		vd_log(VD_LOG_CRIT,
		       "capabilities after the drop: permitted %#llx effective "
		       "%#llx, wanted %#llx",
		       (unsigned long long)prm, (unsigned long long)eff,
		       (unsigned long long)keep);
		return -EPERM;
	}
	vd_log(VD_LOG_NOTICE, "running as %s (uid %u), capabilities kept: %s",
	       user, (unsigned)uid, names);
	return 0;
fail:
	vd_log(VD_LOG_CRIT, "cannot become %s: %s", user, strerror(-rc));
	return rc;
}
