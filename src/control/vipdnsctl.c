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
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config/config.h"
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

/* One byte stream: a unix socket or a TLS connection. */
struct chan {
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t have, off;
};

static ssize_t chan_read_raw(struct chan *ch, void *p, size_t n)
{
	if (ch->ssl) {
		size_t got = 0;
		int rc = SSL_read_ex(ch->ssl, p, n, &got);
		if (rc == 1)
			return (ssize_t)got;
		int e = SSL_get_error(ch->ssl, rc);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		/* A peer that closes without close_notify after a complete
		 * answer is fine: the length already told us where it ends. */
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)
			return 0;
		if (e == SSL_ERROR_SSL)
			errno = EPROTO;
		else if (errno == 0)
			errno = EIO;
		return -1;
	}
	ssize_t r;
	do
		r = read(ch->fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static int chan_getc(struct chan *ch)
{
	if (ch->off == ch->have) {
		errno = 0;
		ssize_t r = chan_read_raw(ch, ch->buf, sizeof(ch->buf));
		if (r <= 0)
			return r == 0 ? -2 : -1;
		ch->have = (size_t)r;
		ch->off = 0;
	}
	return (unsigned char)ch->buf[ch->off++];
}

static int chan_write(struct chan *ch, const char *p, size_t n)
{
	while (n) {
		ssize_t w;
		if (ch->ssl) {
			size_t done = 0;
			if (SSL_write_ex(ch->ssl, p, n, &done) != 1)
				return -EPROTO;
			w = (ssize_t)done;
		} else {
			w = write(ch->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Sends req and reads the answer.  Returns 0 (OK, *body malloc'd), 1 (ERR,
 * message in msg) or -errno for transport failures (reason in msg).
 */
static int exchange(struct chan *ch, const char *req, char **body,
		    size_t *body_len, char *msg, size_t msglen)
{
	char line[VD_CTL_HEADER_MAX];
	size_t n = 0;
	int rc = chan_write(ch, req, strlen(req));
	if (rc != 0) {
		snprintf(msg, msglen, "cannot send: %s", strerror(-rc));
		return rc;
	}
	for (;;) {
		int c = chan_getc(ch);
		if (c < 0) {
			snprintf(msg, msglen, "%s before an answer",
				 c == -2 ? "connection closed"
					 : errno == EAGAIN ? "timed out"
							   : strerror(errno));
			return -EPROTO;
		}
		if (c == '\n')
			break;
		if (n + 1 >= sizeof(line)) {
			snprintf(msg, msglen, "answer header too long");
			return -EBADMSG;
		}
		line[n++] = (char)c;
	}
	line[n] = '\0';
	rc = vd_ctl_parse_response(line, n, body_len, msg, msglen);
	if (rc == 1)
		return 1;
	if (rc < 0) {
		snprintf(msg, msglen, "not a vipdnsd control answer");
		return -EBADMSG;
	}
	*body = malloc(*body_len + 1);
	if (!*body) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < *body_len; i++) {
		int c = chan_getc(ch);
		if (c < 0) {
			snprintf(msg, msglen, "answer cut short (%zu of %zu "
				 "bytes)", i, *body_len);
			free(*body);
			*body = NULL;
			return -EPROTO;
		}
		(*body)[i] = (char)c;
	}
	(*body)[*body_len] = '\0';
	return 0;
}

static void set_timeouts(int fd, int secs)
{
	struct timeval tv = {secs, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
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
	struct chan ch = {.fd = -1};
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
	set_timeouts(ch.fd, timeout);
	int rc = exchange(&ch, req, &body, &body_len, msg, sizeof(msg));
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

/* Non-blocking connect bounded by timeout, then blocking with timeouts. */
static int tcp_connect(const struct sockaddr_storage *ss, socklen_t len,
		       int timeout, char *msg, size_t msglen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0) {
		snprintf(msg, msglen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, len) != 0) {
		if (errno != EINPROGRESS) {
			snprintf(msg, msglen, "%s", strerror(errno));
			goto fail;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int r = poll(&pfd, 1, timeout * 1000);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (r == 0) {
			snprintf(msg, msglen, "connect timed out after %d s",
				 timeout);
			goto fail;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr) {
			snprintf(msg, msglen, "%s", strerror(soerr ? soerr : errno));
			goto fail;
		}
	}
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	set_timeouts(fd, timeout);
	return fd;
fail:
	close(fd);
	return -1;
}

/* Returns EXIT_OK, EXIT_FAILED or EXIT_UNREACHABLE for one node. */
static int run_peer(SSL_CTX *ctx, const char *peer, const char *cmd,
		    const char *req, int timeout, char *why, size_t whylen)
{
	char name[64];
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct chan ch = {.fd = -1};
	char *body = NULL;
	size_t body_len = 0;
	int status = EXIT_UNREACHABLE;
	const char *eq = strchr(peer, '=');

	(void)cmd;
	if (!eq || (size_t)(eq - peer) >= sizeof(name) ||
	    vd_addr_parse(eq + 1, &ss, &sslen) != 0) {
		snprintf(why, whylen, "bad cluster-peer \"%s\"", peer);
		return EXIT_USAGE;
	}
	memcpy(name, peer, (size_t)(eq - peer));
	name[eq - peer] = '\0';
	ch.fd = tcp_connect(&ss, sslen, timeout, why, whylen);
	if (ch.fd < 0)
		goto out;
	ch.ssl = SSL_new(ctx);
	if (!ch.ssl || SSL_set_fd(ch.ssl, ch.fd) != 1 ||
	    SSL_set1_host(ch.ssl, name) != 1 ||
	    SSL_set_tlsext_host_name(ch.ssl, name) != 1) {
		snprintf(why, whylen, "TLS setup failed");
		goto out;
	}
	ERR_clear_error();
	if (SSL_connect(ch.ssl) != 1) {
		long v = SSL_get_verify_result(ch.ssl);
		if (v != X509_V_OK)
			snprintf(why, whylen, "TLS: certificate not accepted: %s",
				 X509_verify_cert_error_string(v));
		else {
			snprintf(why, whylen, "TLS handshake failed");
			vd_ctl_tls_error(why, whylen);
		}
		goto out;
	}
	int rc = exchange(&ch, req, &body, &body_len, why, whylen);
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
	free(body);
	if (ch.ssl) {
		SSL_shutdown(ch.ssl);
		SSL_free(ch.ssl);
	}
	if (ch.fd >= 0)
		close(ch.fd);
	return status;
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
	for (size_t i = 0; i < cfg->n_cluster_peers; i++) {
		char why[512] = "";
		const char *peer = cfg->cluster_peers[i];
		int st = run_peer(ctx, peer, cmd, req, timeout, why, sizeof(why));
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
