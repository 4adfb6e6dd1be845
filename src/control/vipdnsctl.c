/*
 * vipdnsctl: operator commands for vipdnsd.
 *
 *   vipdnsctl [-c FILE] [-s SOCKET] [-t SECONDS] COMMAND [ARG]...
 *   vipdnsctl [-c FILE] --cluster COMMAND [ARG]...
 *
 * Exit status: 0 done; 1 the daemon refused or failed the command (or
 * health is not "healthy"); 2 bad arguments or configuration; 3 a daemon
 * could not be reached or answered garbage (with --cluster: at least one
 * node, named on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "config/config.h"
#include "control/client.h"
#include "dns/cookie.h"
#include "dns/cookie.h"
#include "control/proto.h"
#include "control/tls.h"
#include "core/addr.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vipdnsctl [-c FILE] [-s SOCKET] [-t SECONDS] [--cluster] "
		"COMMAND [ARG]...\n"
		"  -c, --config FILE   vipdnsd configuration (default %s if it "
		"exists)\n"
		"  -s, --socket PATH   control socket (default: control-socket "
		"from the config)\n"
		"  -t, --timeout SECS  per daemon (default 5)\n"
		"      --cluster       send to every cluster-peer over TLS\n"
		"commands:\n",
		VD_CONFIG_DEFAULT_PATH);
	for (const struct vd_ctl_cmd_info *c = vd_ctl_commands; c->name; c++)
		fprintf(out, "  %-11s %-12s %s%s\n", c->name, c->usage, c->help,
			vd_ctl_cmd_allowed(c, VD_CTL_CH_CLUSTER) ? "" : " (local only)");
}

static int health_status(const char *cmd, const char *body)
{
	if (strcmp(cmd, "health") == 0 && strncmp(body, "healthy\n", 8) != 0)
		return EXIT_FAILED;
	return EXIT_OK;
}

static int run_local(const char *path, const char *cmd, const char *req,
		     int timeout)
{
	struct vd_ctl_chan ch = {.fd = -1};
	char msg[600];
	char *body = NULL;
	size_t body_len = 0;
	int status;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "vipdnsctl: socket path too long: %s\n", path);
		return EXIT_USAGE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ch.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ch.fd < 0 ||
	    connect(ch.fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;
		fprintf(stderr, "vipdnsctl: cannot reach vipdnsd at %s: %s%s\n",
			path, strerror(e),
			e == ENOENT || e == ECONNREFUSED
				? " (is it running? is control-socket set?)"
			: e == EACCES ? " (root or control-socket-group only)"
				      : "");
		status = EXIT_UNREACHABLE;
		goto out;
	}
	vd_ctl_set_timeouts(ch.fd, timeout);
	int rc = vd_ctl_exchange(&ch, req, &body, &body_len, msg, sizeof(msg));
	if (rc == 1) {
		fprintf(stderr, "vipdnsctl: %s: %s\n", cmd, msg);
		status = EXIT_FAILED;
	} else if (rc < 0) {
		fprintf(stderr, "vipdnsctl: %s: %s\n", path, msg);
		status = EXIT_UNREACHABLE;
	} else {
		fwrite(body, 1, body_len, stdout);
		status = health_status(cmd, body);
	}
out:
	free(body);
	if (ch.fd >= 0)
		close(ch.fd);
	return status;
}

/* Returns EXIT_OK, EXIT_FAILED or EXIT_UNREACHABLE for one node. */
static int run_peer(SSL_CTX *ctx, const char *peer, const char *cmd,
		    const char *req, int timeout, char **keep, char *why,
		    size_t whylen)
{
	char name[64];
	struct vd_ctl_chan ch;
	char *body = NULL;
	size_t body_len = 0;
	int status = EXIT_UNREACHABLE;
	const char *eq = strchr(peer, '=');

	int orc = vd_ctl_peer_open(ctx, peer, timeout, &ch, name, sizeof(name),
				   why, whylen);
	if (orc == -EINVAL)
		return EXIT_USAGE;
	if (orc != 0)
		goto out;
	int rc = vd_ctl_exchange(&ch, req, &body, &body_len, why, whylen);
	if (rc == 1) {
		status = EXIT_FAILED;
		goto out;
	}
	if (rc < 0)
		goto out;
	status = health_status(cmd, body);
	if (status != EXIT_OK)
		snprintf(why, whylen, "not healthy");
	/* Per-node answer, indented under its node line. */
	printf("%s (%s): ok\n", name, eq + 1);
	for (char *line = body; *line;) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		printf("  %.*s\n", (int)l, line);
		line += l + (nl ? 1 : 0);
	}
out:
	if (status != EXIT_OK && !(status == EXIT_FAILED && body))
		printf("%s (%s): FAILED: %s\n", name, eq + 1, why);
	if (keep && status == EXIT_OK && body) {
		*keep = body;
		body = NULL;
	}
	free(body);
	vd_ctl_chan_close(&ch);
	return status;
}

/* The value of "key: value" in a status body, into out. */
static bool status_value(const char *body, const char *key, char *out,
			 size_t cap)
{
	size_t kl = strlen(key);
	for (const char *l = body; l && *l;) {
		if (strncmp(l, key, kl) == 0 && l[kl] == ':' && l[kl + 1] == ' ') {
			size_t n = strcspn(l + kl + 2, "\n");
			snprintf(out, cap, "%.*s", (int)n, l + kl + 2);
			return true;
		}
		const char *nl = strchr(l, '\n');
		l = nl ? nl + 1 : NULL;
	}
	return false;
}

/*
 * Nodes behind one VIP must not disagree: after `--cluster status`, the
 * version, answer policy, (negative) trust anchors and cookie secrets of
 * every node that answered
 * are compared, and any difference is named on stderr (exit 1).
 */
static int drift_check(const struct vd_config *cfg, char **bodies)
{
	static const char *const keys[] = {"version", "answer-policy",
					   "trust-anchors",
					   "negative-trust-anchors", "cookies"};
	int rc = EXIT_OK;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		char first[128] = "", v[128], list[2048] = "";
		size_t used = 0;
		bool differ = false, any = false;
		for (size_t i = 0; i < cfg->n_cluster_peers; i++) {
			if (!bodies[i] ||
			    !status_value(bodies[i], keys[k], v, sizeof(v)))
				continue;
			if (!any)
				snprintf(first, sizeof(first), "%s", v);
			else if (strcmp(first, v) != 0)
				differ = true;
			any = true;
			const char *peer = cfg->cluster_peers[i];
			int w = snprintf(list + used, sizeof(list) - used,
					 "%s%.*s=%s", used ? ", " : "",
					 (int)strcspn(peer, "="), peer, v);
			if (w > 0 && (size_t)w < sizeof(list) - used)
				used += (size_t)w;
		}
		if (differ) {
			fprintf(stderr, "vipdnsctl: drift: %s differs: %s\n",
				keys[k], list);
			rc = EXIT_FAILED;
		}
	}
	return rc;
}

static int run_cluster(const struct vd_config *cfg, const char *cmd,
		       const char *req, int timeout)
{
	char err[512] = "";
	char failed[2048] = "";
	size_t used = 0;
	int worst = EXIT_OK;

	if (cfg->n_cluster_peers == 0) {
		fprintf(stderr, "vipdnsctl: --cluster: no cluster-peer in the "
			"configuration\n");
		return EXIT_USAGE;
	}
	SSL_CTX *ctx = vd_ctl_tls_ctx(false, cfg->cluster_cert, cfg->cluster_key,
				      cfg->cluster_ca, err, sizeof(err));
	if (!ctx) {
		fprintf(stderr, "vipdnsctl: --cluster: %s\n", err);
		return EXIT_USAGE;
	}
	char *bodies[VD_CONFIG_MAX_LIST] = {NULL};
	bool status = strcmp(cmd, "status") == 0;
	for (size_t i = 0; i < cfg->n_cluster_peers; i++) {
		char why[512] = "";
		const char *peer = cfg->cluster_peers[i];
		int st = run_peer(ctx, peer, cmd, req, timeout,
				  status ? &bodies[i] : NULL, why, sizeof(why));
		fflush(stdout);
		if (st == EXIT_OK)
			continue;
		if (st > worst)
			worst = st;
		size_t nl = strcspn(peer, "=");
		int w = snprintf(failed + used, sizeof(failed) - used,
				 "%s%.*s (%s)", used ? ", " : "", (int)nl, peer,
				 st == EXIT_UNREACHABLE ? "unreachable" : why);
		if (w > 0 && (size_t)w < sizeof(failed) - used)
			used += (size_t)w;
	}
	SSL_CTX_free(ctx);
	if (worst != EXIT_OK)
		fprintf(stderr, "vipdnsctl: %s failed on: %s\n", cmd, failed);
	if (status) {
		int d = drift_check(cfg, bodies);
		if (d > worst)
			worst = d;
		for (size_t i = 0; i < cfg->n_cluster_peers; i++)
			free(bodies[i]);
	}
	return worst;
}

int main(int argc, char **argv)
{
	enum { OPT_CLUSTER = 256 };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"cluster", no_argument, NULL, OPT_CLUSTER},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *sock = NULL;
	bool cluster = false;
	int timeout = 5, opt;
	char req[VD_CTL_REQ_MAX + 1], err[512];
	int status = EXIT_USAGE;

	/* '+': options end at the command, whose arguments are its own. */
	while ((opt = getopt_long(argc, argv, "+c:s:t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 't':
			timeout = atoi(optarg);
			if (timeout < 1 || timeout > 3600) {
				fprintf(stderr, "vipdnsctl: -t: expected 1..3600 "
					"seconds, got \"%s\"\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_CLUSTER:
			cluster = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vipdnsctl: no command given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	/* "cookie-secret add new": the secret is made here, so that with
	 * --cluster every node is given the same one. */
	char fresh[2 * VD_DNS_COOKIE_SECRET_LEN + 1];
	if (!strcmp(cmd, "cookie-secret") && argc - optind == 3 &&
	    !strcmp(argv[optind + 1], "add") && !strcmp(argv[optind + 2], "new")) {
		uint8_t r[VD_DNS_COOKIE_SECRET_LEN];
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			fprintf(stderr, "vipdnsctl: getrandom: %s\n",
				strerror(errno));
			return EXIT_USAGE;
		}
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(fresh + 2 * i, 3, "%02x", r[i]);
		memset(r, 0, sizeof(r));
		argv[optind + 2] = fresh;
	}
	if (vd_ctl_format_request((unsigned)(argc - optind), argv + optind, req,
				  sizeof(req), err, sizeof(err)) < 0) {
		fprintf(stderr, "vipdnsctl: %s (see vipdnsctl --help)\n", err);
		return EXIT_USAGE;
	}
	if (cluster &&
	    !vd_ctl_cmd_allowed(vd_ctl_find_command(cmd), VD_CTL_CH_CLUSTER)) {
		fprintf(stderr, "vipdnsctl: %s cannot be sent with --cluster\n",
			cmd);
		return EXIT_USAGE;
	}

	struct vd_config *cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		fprintf(stderr, "vipdnsctl: out of memory\n");
		return EXIT_USAGE;
	}
	vd_config_defaults(cfg);
	if (!config && access(VD_CONFIG_DEFAULT_PATH, F_OK) == 0)
		config = VD_CONFIG_DEFAULT_PATH;
	if (config && vd_config_load(cfg, config, err, sizeof(err)) != 0) {
		fprintf(stderr, "vipdnsctl: %s\n", err);
		goto out;
	}
	if (cluster) {
		status = run_cluster(cfg, cmd, req, timeout);
		goto out;
	}
	if (!sock)
		sock = cfg->control_socket;
	if (!sock[0]) {
		fprintf(stderr, "vipdnsctl: no control socket: control-socket "
			"is empty in %s; use -s PATH\n",
			config ? config : "the defaults");
		goto out;
	}
	status = run_local(sock, cmd, req, timeout);
out:
	free(cfg);
	return status;
}
