#include "control/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <urcu.h>

#include "control/ctl_internal.h"
#include "control/tls.h"
#include "core/addr.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"

/* A request is one short line: a client that has not sent it by then
 * is gone or hostile.  Answers may be large (dump-cache) and slow to
 * read, hence the longer write timeout. */
#define CTL_READ_TIMEOUT_S 5
#define CTL_WRITE_TIMEOUT_S 60
/* From accept to a finished TLS handshake: a cluster peer on a working
 * network needs a few round trips; a silent client is cut off early. */
#define CTL_TLS_HANDSHAKE_TIMEOUT_S 2
/* Local vipdnsctl and remote TLS clients never share a budget. */
#define CTL_MAX_UNIX_CONNS 64
#define CTL_MAX_TLS_CONNS 32
/* TLS connections one source address may hold, authenticated or not:
 * a few at once is all vipdnsctl --cluster ever needs from one host. */
#define CTL_MAX_TLS_PER_SOURCE 4
#define CTL_MAX_GROUPS 256

struct ctl_conn {
	struct vd_ctl *c;
	struct bufferevent *bev;
	bool tls;
	bool closing;
	bool authorised; /* TLS: the certificate names a cluster-peer */
	char peer[160];  /* for the log: "unix:uid=..", "tls:NAME@ADDR" */
	struct sockaddr_storage src;       /* TLS: the client's address */
	struct ctl_conn *prev, *next;      /* TLS: c->tls_list */
};

static void conn_free(struct ctl_conn *cn)
{
	struct vd_ctl *c = cn->c;
	if (cn->tls) {
		c->tls_conns--;
		if (cn->prev)
			cn->prev->next = cn->next;
		else
			c->tls_list = cn->next;
		if (cn->next)
			cn->next->prev = cn->prev;
	} else {
		c->unix_conns--;
	}
	bufferevent_free(cn->bev);
	free(cn);
}

/* Queues the response and closes once it is written. */
static void respond(struct ctl_conn *cn, int rc, struct evbuffer *body,
		    const char *err)
{
	struct evbuffer *out = bufferevent_get_output(cn->bev);
	if (rc == 0) {
		evbuffer_add_printf(out, "OK %zu\n", evbuffer_get_length(body));
		evbuffer_add_buffer(out, body);
	} else {
		char msg[VD_CTL_HEADER_MAX - 8];
		snprintf(msg, sizeof(msg), "%s", err[0] ? err : strerror(-rc));
		vd_ctl_sanitize(msg);
		evbuffer_add_printf(out, "ERR %s\n", msg);
	}
	cn->closing = true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[VD_CTL_REQ_MAX + 1];
	char err[512] = "";
	size_t eol_len = 0;
	if (cn->closing) {
		/* Unread input at close would reset the connection and could
		 * destroy the answer before the client reads it. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len,
						    EVBUFFER_EOL_LF);
	if (p.pos < 0) {
		if (evbuffer_get_length(in) >= VD_CTL_REQ_MAX) {
			snprintf(err, sizeof(err),
				 "request too long (max %d bytes)",
				 VD_CTL_REQ_MAX - 1);
			vd_log(VD_LOG_INFO, "control %s: %s", cn->peer, err);
			respond(cn, -EINVAL, NULL, err);
		}
		return;
	}
	size_t len = (size_t)p.pos;
	if (len >= VD_CTL_REQ_MAX) {
		snprintf(err, sizeof(err), "request too long (max %d bytes)",
			 VD_CTL_REQ_MAX - 1);
		respond(cn, -EINVAL, NULL, err);
		return;
	}
	evbuffer_remove(in, line, len + eol_len);
	line[len] = '\0';

	struct vd_ctl_request req;
	if (vd_ctl_parse_request(line, len, &req, err, sizeof(err)) != 0) {
		vd_log(VD_LOG_INFO, "control %s: bad request: %s", cn->peer, err);
		respond(cn, -EINVAL, NULL, err);
		return;
	}
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		respond(cn, -ENOMEM, NULL, "out of memory");
		return;
	}
	enum vd_ctl_channel ch = cn->tls ? VD_CTL_CH_CLUSTER : VD_CTL_CH_LOCAL;
	int rc;
	if (cn->tls && !cn->authorised) {
		/* on_event refuses before any request; never run one. */
		rc = -EACCES;
		snprintf(err, sizeof(err), "not an authorised cluster peer");
	} else if (!vd_ctl_cmd_allowed(req.cmd, ch)) {
		rc = -EPERM;
		snprintf(err, sizeof(err),
			 "%s is not accepted over the cluster channel (local "
			 "control socket only)", req.cmd->name);
		vd_log(VD_LOG_WARNING, "cluster %s: %s: refused, local only",
		       cn->peer, line);
	} else {
		/* Every cluster command is on record with who sent it; a
		 * cookie secret is not (logs travel further than secrets may). */
		bool secret = !strcmp(req.cmd->name, "cookie-secret") &&
			      req.argc > 1;
		vd_log(cn->tls ? VD_LOG_NOTICE : VD_LOG_INFO, "%s %s: %s%s",
		       cn->tls ? "cluster" : "control", cn->peer,
		       secret ? "cookie-secret " : line,
		       secret ? req.argv[0] : "");
		rc = vd_ctl_run(cn->c, &req, body, err, sizeof(err));
	}
	if (rc == 0 && evbuffer_get_length(body) > VD_CTL_BODY_MAX) {
		rc = -E2BIG;
		snprintf(err, sizeof(err), "answer too large");
	}
	respond(cn, rc, body, err);
	evbuffer_free(body);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct ctl_conn *cn = arg;
	if (!cn->closing || evbuffer_get_length(bufferevent_get_output(bev)))
		return;
	if (cn->tls) {
		conn_free(cn);
		return;
	}
	/* Lingering close: a client still sending (an overlong request)
	 * would get a reset that can destroy the answer it has not read
	 * yet.  Half-close, then read and discard until it hangs up or the
	 * read timeout ends it. */
	shutdown(bufferevent_getfd(bev), SHUT_WR);
}

/*
 * The CA vouches for a certificate; which of the CA's certificates may
 * command this node is what cluster-peer says: the client's must carry
 * one of those names (subjectAltName DNS, else CN; no partial wildcards),
 * the same rule vipdnsctl applies to the nodes it reaches.  name gets
 * the matched peer, or the certificate's CN for the log.
 */
static bool tls_peer_known(struct vd_ctl *c, struct bufferevent *bev,
			   char *name, size_t cap)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *x = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
	bool ok = false;
	snprintf(name, cap, "?");
	if (!x)
		return false;
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		goto out;
	for (size_t i = 0; i < c->n_peer_names; i++) {
		if (X509_check_host(x, c->peer_names[i], 0,
				    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
				    NULL) == 1) {
			snprintf(name, cap, "%s", c->peer_names[i]);
			ok = true;
			goto out;
		}
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
				      NID_commonName, name, (int)cap) < 0)
		snprintf(name, cap, "?");
	vd_ctl_sanitize(name);
out:
	X509_free(x);
	return ok;
}

static void on_tls_connected(struct ctl_conn *cn)
{
	char name[64], addr[sizeof(cn->peer)];
	/* "tls:ADDR" until now */
	snprintf(addr, sizeof(addr), "%s", cn->peer + 4);
	/* Past the handshake: the usual request and answer timeouts. */
	struct timeval rt = {CTL_READ_TIMEOUT_S, 0}, wt = {CTL_WRITE_TIMEOUT_S, 0};
	bufferevent_set_timeouts(cn->bev, &rt, &wt);
	if (tls_peer_known(cn->c, cn->bev, name, sizeof(name))) {
		cn->authorised = true;
		snprintf(cn->peer, sizeof(cn->peer), "tls:%.63s@%.90s", name, addr);
		vd_log(VD_LOG_INFO, "cluster %s: authenticated", cn->peer);
		return;
	}
	vd_log(VD_LOG_WARNING,
	       "cluster tls:%s: certificate \"%s\" names no cluster-peer%s; "
	       "refused", addr, name,
	       cn->c->n_peer_names ? "" : " (none configured)");
	respond(cn, -EACCES, NULL,
		"permission denied: certificate names no cluster-peer of "
		"this node");
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn *cn = arg;
	(void)bev;
	if ((what & BEV_EVENT_CONNECTED) && cn->tls) {
		on_tls_connected(cn);
		return;
	}
	if (what & BEV_EVENT_ERROR && cn->tls) {
		char err[256] = "TLS";
		vd_ctl_tls_error(err, sizeof(err));
		vd_log(VD_LOG_INFO, "control %s: %s", cn->peer, err);
	} else if (what & BEV_EVENT_TIMEOUT) {
		vd_log(VD_LOG_INFO, "control %s: timed out", cn->peer);
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(cn);
}

/*
 * Root, the daemon's own user, or a member (primary or supplementary
 * group) of control-socket-group.  The kernel's record of the peer at
 * connect time, not anything the client says.
 */
static bool peer_allowed(struct vd_ctl *c, int fd, char *who, size_t cap)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(who, cap, "unix:unknown");
		return false;
	}
	snprintf(who, cap, "unix:uid=%u,pid=%d", (unsigned)cr.uid, (int)cr.pid);
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	if (!c->have_group)
		return false;
	if (cr.gid == c->group)
		return true;
	gid_t groups[CTL_MAX_GROUPS];
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == c->group)
			return true;
	return false;
}

static struct ctl_conn *conn_new(struct vd_ctl *c, struct bufferevent *bev,
				 bool tls)
{
	struct ctl_conn *cn = calloc(1, sizeof(*cn));
	if (!cn) {
		bufferevent_free(bev);
		return NULL;
	}
	cn->c = c;
	cn->bev = bev;
	cn->tls = tls;
	struct timeval rt = {CTL_READ_TIMEOUT_S, 0}, wt = {CTL_WRITE_TIMEOUT_S, 0};
	if (tls) {
		c->tls_conns++;
		cn->next = c->tls_list;
		if (cn->next)
			cn->next->prev = cn;
		c->tls_list = cn;
		/* Until the handshake ends (on_tls_connected). */
		rt.tv_sec = wt.tv_sec = CTL_TLS_HANDSHAKE_TIMEOUT_S;
	} else {
		c->unix_conns++;
	}
	bufferevent_set_timeouts(bev, &rt, &wt);
	bufferevent_setcb(bev, on_read, on_write, on_event, cn);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return cn;
}

static void on_unix_accept(struct evconnlistener *lev, evutil_socket_t fd,
			   struct sockaddr *sa, int salen, void *arg)
{
	struct vd_ctl *c = arg;
	(void)lev;
	(void)sa;
	(void)salen;
	if (c->unix_conns >= CTL_MAX_UNIX_CONNS) {
		close(fd);
		return;
	}
	struct bufferevent *bev =
		bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		close(fd);
		return;
	}
	struct ctl_conn *cn = conn_new(c, bev, false);
	if (!cn)
		return;
	if (!peer_allowed(c, fd, cn->peer, sizeof(cn->peer))) {
		vd_log(VD_LOG_WARNING, "control %s: permission denied",
		       cn->peer);
		respond(cn, -EACCES, NULL,
			"permission denied: root, the daemon's user or "
			"control-socket-group only");
	}
}

static bool same_host(const struct sockaddr_storage *a,
		      const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			      &((const struct sockaddr_in6 *)b)->sin6_addr,
			      sizeof(struct in6_addr)) == 0;
	return false;
}

/* Room for one more TLS client from sa?  Logs (rate-limited) why not. */
static bool tls_admit(struct vd_ctl *c, const struct sockaddr *sa)
{
	static uint64_t last_log_ns; /* control thread only */
	const char *why = NULL;
	unsigned same = 0;
	if (c->tls_conns >= CTL_MAX_TLS_CONNS)
		why = "too many TLS control connections";
	for (const struct ctl_conn *cn = c->tls_list; cn && !why; cn = cn->next)
		if (same_host(&cn->src, sa) && ++same >= CTL_MAX_TLS_PER_SOURCE)
			why = "too many TLS control connections from this address";
	if (!why)
		return true;
	uint64_t now = vd_now_ns();
	if (now - last_log_ns > VD_NS_PER_SEC) {
		char a[80];
		last_log_ns = now;
		vd_addr_format(sa, a, sizeof(a));
		vd_log(VD_LOG_WARNING, "cluster tls:%s: %s; closed", a, why);
	}
	return false;
}

static void on_tls_accept(struct evconnlistener *lev, evutil_socket_t fd,
			  struct sockaddr *sa, int salen, void *arg)
{
	struct vd_ctl *c = arg;
	(void)lev;
	if (!tls_admit(c, sa)) {
		close(fd);
		return;
	}
	SSL *ssl = SSL_new(c->tls);
	if (!ssl) {
		close(fd);
		return;
	}
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		c->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		close(fd);
		return;
	}
	/* We close after the answer; the client reads by length. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	struct ctl_conn *cn = conn_new(c, bev, true);
	if (cn) {
		char a[80];
		memcpy(&cn->src, sa,
		       VD_MIN((size_t)salen, sizeof(cn->src)));
		vd_addr_format(sa, a, sizeof(a));
		snprintf(cn->peer, sizeof(cn->peer), "tls:%s", a);
	}
}

static void nta_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vd_ctl_nta_expire(arg);
}

static void *ctl_main(void *arg)
{
	struct vd_ctl *c = arg;
	rcu_register_thread();
	event_base_dispatch(c->base);
	rcu_unregister_thread();
	return NULL;
}

/* A socket file another daemon still answers on is not ours to take. */
static int claim_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		vd_log(VD_LOG_CRIT, "control-socket %s exists and is not a "
		       "socket", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		vd_log(VD_LOG_CRIT, "control-socket %s is in use by another "
		       "running daemon; give each daemon its own control-socket",
		       path);
		return -EADDRINUSE;
	}
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int open_unix(struct vd_ctl *c, const struct vd_config *cfg)
{
	int rc, fd = -1;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(c->path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, c->path, strlen(c->path) + 1);

	/* The usual /run/vipdns may not exist without systemd's
	 * RuntimeDirectory; make the last component only. */
	char dir[sizeof(sun.sun_path)];
	memcpy(dir, sun.sun_path, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			rc = -errno;
			vd_log(VD_LOG_CRIT, "control-socket directory %s: %s",
			       dir, strerror(errno));
			return rc;
		}
	}
	rc = claim_path(c->path);
	if (rc != 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(c->path, cfg->control_socket_mode) != 0 ||
	    (c->have_group && chown(c->path, (uid_t)-1, c->group) != 0)) {
		rc = -errno;
		vd_log(VD_LOG_CRIT, "control-socket %s: %s", c->path,
		       strerror(errno));
		close(fd);
		return rc;
	}
	c->unix_lev = evconnlistener_new(c->base, on_unix_accept, c,
					 LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (!c->unix_lev) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

static int open_tls(struct vd_ctl *c, const struct vd_config *cfg)
{
	char err[512] = "";
	struct sockaddr_storage ss;
	socklen_t len;
	if (vd_addr_parse(cfg->cluster_listen, &ss, &len) != 0)
		return -EINVAL;
	c->tls = vd_ctl_tls_ctx(true, cfg->cluster_cert, cfg->cluster_key,
				cfg->cluster_ca, err, sizeof(err));
	if (!c->tls) {
		vd_log(VD_LOG_CRIT, "cluster-listen: %s", err);
		return -EINVAL;
	}
	c->tls_lev = evconnlistener_new_bind(
		c->base, on_tls_accept, c,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		16, (struct sockaddr *)&ss, (int)len);
	if (!c->tls_lev) {
		int e = errno;
		vd_log(VD_LOG_CRIT, "cluster-listen %s: %s", cfg->cluster_listen,
		       strerror(e));
		return e ? -e : -EADDRNOTAVAIL;
	}
	return 0;
}

int vd_ctl_start(struct vd_daemon *d, const struct vd_config *cfg,
		 const char *config_path, struct vd_ctl **out)
{
	int rc;
	*out = NULL;
	if (!cfg->control_socket[0] && !cfg->cluster_listen[0])
		return 0;
	struct vd_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->start_ns = vd_now_ns();
	snprintf(c->path, sizeof(c->path), "%s", cfg->control_socket);
	snprintf(c->config_path, sizeof(c->config_path), "%s",
		 config_path ? config_path : "");
	snprintf(c->cluster_listen, sizeof(c->cluster_listen), "%s",
		 cfg->cluster_listen);
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s",
		 cfg->metrics_listen);
	for (size_t i = 0; i < cfg->n_cluster_peers; i++) {
		/* NAME=ADDR@PORT, checked by the config parser */
		const char *p = cfg->cluster_peers[i];
		size_t n = strcspn(p, "=");
		if (n == 0 || n >= sizeof(c->peer_names[0]))
			continue;
		memcpy(c->peer_names[c->n_peer_names], p, n);
		c->peer_names[c->n_peer_names][n] = '\0';
		c->n_peer_names++;
	}
	if (cfg->control_socket_group[0]) {
		struct group *gr = getgrnam(cfg->control_socket_group);
		if (!gr) {
			vd_log(VD_LOG_CRIT, "control-socket-group %s: no such "
			       "group", cfg->control_socket_group);
			rc = -EINVAL;
			goto fail;
		}
		c->group = gr->gr_gid;
		c->have_group = true;
	}
	c->base = event_base_new();
	if (!c->base) {
		rc = -ENOMEM;
		goto fail;
	}
	if (c->path[0] && (rc = open_unix(c, cfg)) != 0)
		goto fail;
	c->nta_timer = event_new(c->base, -1, EV_PERSIST, nta_tick, c);
	struct timeval second = {1, 0};
	if (!c->nta_timer || event_add(c->nta_timer, &second) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	if (cfg->cluster_listen[0] && (rc = open_tls(c, cfg)) != 0)
		goto fail;
	rc = -pthread_create(&c->thread, NULL, ctl_main, c);
	if (rc != 0)
		goto fail;
	c->started = true;
	pthread_setname_np(c->thread, "vd-control");
	if (c->path[0])
		vd_log(VD_LOG_NOTICE, "control socket %s (mode %04o%s%s)",
		       c->path, cfg->control_socket_mode,
		       c->have_group ? ", group " : "",
		       c->have_group ? cfg->control_socket_group : "");
	if (c->tls_lev)
		vd_log(c->n_peer_names ? VD_LOG_NOTICE : VD_LOG_WARNING,
		       "cluster control (mutual TLS) on %s; %zu cluster-peer "
		       "names may command this node%s",
		       c->cluster_listen, c->n_peer_names,
		       c->n_peer_names ? "" : ": none, every client is refused");
	*out = c;
	return 0;
fail:
	vd_ctl_stop(c);
	return rc;
}

void vd_ctl_stop(struct vd_ctl *c)
{
	if (!c)
		return;
	if (c->started) {
		/* Thread safe: evthread_use_pthreads() ran at daemon init. */
		event_base_loopbreak(c->base);
		pthread_join(c->thread, NULL);
	}
	if (c->unix_lev) {
		evconnlistener_free(c->unix_lev);
		(void)unlink(c->path);
	}
	if (c->tls_lev)
		evconnlistener_free(c->tls_lev);
	if (c->nta_timer)
		event_free(c->nta_timer);
	/* Connections still open belong to the base; freeing it drops
	 * their events, and the process is ending. */
	if (c->base)
		event_base_free(c->base);
	SSL_CTX_free(c->tls);
	free(c);
}
