/*
 * vipdnsd: the anycast full-service resolver daemon.
 *
 *   vipdnsd                   zero-config: 127.0.0.1 and ::1 port 53, built-in
 *                             root hints and trust anchor (or the config at
 *                             /etc/vipdns/vipdns.conf when that file exists)
 *   vipdnsd -c FILE           run with FILE
 *   vipdnsd -t [-c FILE]      check the configuration and exit
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urcu.h>

#include "anycast/birdconf.h"
#include "anycast/tunnel.h"
#include "config/config.h"
#include "control/server.h"
#include "core/log.h"
#include "daemon/cookies.h"
#include "daemon/daemon.h"
#include "daemon/notify.h"
#include "dataplane/socket/dot.h"
#include "metrics/metrics.h"
#include "resolve/nta.h"
#include "resolve/ubctx.h"
#include "vd_build.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vipdnsd [-c FILE] [-t] [--help-config] [--dump-config] [-V]\n"
		"  -c, --config FILE   configuration file (default %s if it exists,\n"
		"                      else built-in defaults)\n"
		"  -t, --check         check the configuration and exit\n"
		"      --help-config   list every option with its default\n"
		"      --dump-config   print the effective configuration\n"
		"      --bird-config   print the BIRD 2 config for the anycast\n"
		"                      options (bird-conf/README.md)\n"
		"      --tunnel-config DIR  render the tunnels' networkd, ip,\n"
		"                      strongSwan and nftables files into DIR\n"
		"                      (docs/tunnels.md)\n"
		"  -V, --version       print the version\n"
		"Signals: SIGHUP reloads the configuration (the cache is kept),\n"
		"SIGTERM stops after answering queries already taken, SIGUSR1 logs\n"
		"counters.\n",
		VD_CONFIG_DEFAULT_PATH);
}

static void write_pidfile(const char *path)
{
	if (!path[0])
		return;
	FILE *f = fopen(path, "w");
	if (!f) {
		vd_log(VD_LOG_WARNING, "pidfile %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

static void warn_stderr(void *arg, const char *msg)
{
	fprintf(stderr, "vipdnsd: warning: %s: %s\n", (const char *)arg, msg);
}

static void warn_log(void *arg, const char *msg)
{
	(void)arg;
	vd_log(VD_LOG_WARNING, "%s", msg);
}

int main(int argc, char **argv)
{
	enum { OPT_HELP_CONFIG = 256, OPT_HELP_CONFIG_MD, OPT_DUMP_CONFIG,
	       OPT_BIRD_CONFIG, OPT_TUNNEL_CONFIG };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"help-config", no_argument, NULL, OPT_HELP_CONFIG},
		{"help-config-markdown", no_argument, NULL, OPT_HELP_CONFIG_MD},
		{"dump-config", no_argument, NULL, OPT_DUMP_CONFIG},
		{"bird-config", no_argument, NULL, OPT_BIRD_CONFIG},
		{"tunnel-config", required_argument, NULL, OPT_TUNNEL_CONFIG},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL, *tunnel_dir = NULL;
	bool check = false, dump = false, bird = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vipdnsd %s\n", VD_VERSION);
			return 0;
		case OPT_HELP_CONFIG:
			vd_config_print_reference(stdout, false);
			return 0;
		case OPT_HELP_CONFIG_MD:
			vd_config_print_reference(stdout, true);
			return 0;
		case OPT_DUMP_CONFIG:
			dump = true;
			break;
		case OPT_BIRD_CONFIG:
			bird = true;
			break;
		case OPT_TUNNEL_CONFIG:
			tunnel_dir = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	/* Signals are taken synchronously by the main thread; every thread
	 * created from here on inherits the mask. */
	sigset_t set;
	vd_daemon_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct vd_config *cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "vipdnsd: out of memory\n");
		return 1;
	}
	vd_config_defaults(cfg);
	if (!path && access(VD_CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = VD_CONFIG_DEFAULT_PATH;
	if (path) {
		char err[512];
		if (vd_config_load(cfg, path, err, sizeof(err)) != 0) {
			fprintf(stderr, "vipdnsd: %s\n", err);
			free(cfg);
			return 1;
		}
	}
	if (dump) {
		vd_config_dump(stdout, cfg);
		free(cfg);
		return 0;
	}
	if (bird) { /* the BIRD 2 config for this one (src/anycast) */
		char err[512];
		int rc = vd_anycast_bird_render(stdout, cfg,
						path ? path : "built-in defaults",
						err, sizeof(err));
		if (rc != 0)
			fprintf(stderr, "vipdnsd: --bird-config: %s\n", err);
		free(cfg);
		return rc != 0;
	}
	if (tunnel_dir) { /* the host's tunnel files (src/anycast/tunnel.h) */
		char err[512];
		int n = vd_anycast_tunnel_render_dir(cfg, tunnel_dir, err,
						     sizeof(err));
		if (n < 0)
			fprintf(stderr, "vipdnsd: --tunnel-config: %s\n", err);
		else
			printf("%d tunnel(s) rendered into %s\n", n,
			       tunnel_dir);
		free(cfg);
		return n < 0;
	}
	if (check) {
		/* What the table alone cannot see: the tunnels' key files,
		 * local-data record data (libunbound parses it), the DoT
		 * certificate and key
		 * and whether an answer fits through them. */
		char err[512];
		const char *src = path ? path : "built-in defaults";
		if (vd_anycast_tunnel_check(cfg, true, warn_stderr,
					    (void *)src, err,
					    sizeof(err)) != 0 ||
		    vd_res_zones_probe(cfg, err, sizeof(err)) != 0 ||
		    vd_dot_load(cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "vipdnsd: %s: %s\n", src, err);
			free(cfg);
			return 1;
		}
		printf("%s: OK\n", path ? path : "built-in defaults");
		free(cfg);
		return 0;
	}

	vd_log_setup((enum vd_log_target)cfg->log_target,
		     (enum vd_log_level)cfg->log_level);
	vd_log(VD_LOG_NOTICE, "starting with %s",
	       path ? path : "built-in defaults (no config file)");
	{
		char err[512];
		(void)vd_anycast_tunnel_check(cfg, false, warn_log, NULL, err,
					      sizeof(err));
		if (vd_res_zones_probe(cfg, err, sizeof(err)) != 0) {
			vd_log(VD_LOG_CRIT, "%s: %s",
			       path ? path : "built-in defaults", err);
			free(cfg);
			return 1;
		}
		/* Before the first context: they take the anchors in force.
		 * A bad file costs its anchors, never the node (validating
		 * everything is the safe side). */
		if (vd_nta_init(cfg->nta_file, err, sizeof(err)) != 0)
			vd_log(VD_LOG_ERR, "nta-file: %s; starting without "
					   "negative trust anchors", err);
		/* A DoT listener without its certificate would be a port
		 * that refuses every client: a clear error instead. */
		if (vd_dot_load(cfg, err, sizeof(err)) != 0) {
			vd_log(VD_LOG_CRIT, "DNS over TLS: %s", err);
			free(cfg);
			return 1;
		}
		/* A bad secrets file leaves cookies unanswered (plain DNS),
		 * not the node down. */
		if (vd_cookies_init(cfg->cookie_secret_file, cfg->answer_cookie,
				    err, sizeof(err)) != 0)
			vd_log(VD_LOG_ERR, "cookie-secret-file: %s; answering "
					   "without cookies", err);
	}
	rcu_register_thread();
	if (vd_notify_init())
		vd_log(VD_LOG_INFO, "systemd notification socket in use%s",
		       vd_notify_watchdog_ns() ? ", watchdog on" : "");
	struct vd_daemon *d = calloc(1, sizeof(*d));
	struct vd_ctl *ctl = NULL;
	struct vd_metrics *metrics = NULL;
	int status = 1;
	if (!d)
		goto out;
	if (vd_daemon_init(d, cfg, path) != 0)
		goto out;
	/* Bound as root (the control socket's directory may need it); their
	 * threads only read counters and call thread-safe daemon entries. */
	if (vd_ctl_start(d, cfg, path, &ctl) != 0 ||
	    vd_metrics_start(d, cfg, &metrics) != 0)
		goto out;
	write_pidfile(cfg->pidfile);
	if (vd_daemon_drop_privileges(d) != 0)
		goto out;
	status = vd_daemon_run(d);
out:
	vd_ctl_stop(ctl);
	vd_metrics_stop(metrics);
	if (d)
		vd_daemon_fini(d);
	free(d);
	if (cfg->pidfile[0])
		(void)unlink(cfg->pidfile);
	free(cfg);
	vd_cookies_shutdown();
	vd_dot_unload();
	rcu_unregister_thread();
	vd_log(VD_LOG_NOTICE, "exiting with status %d", status);
	return status;
}
