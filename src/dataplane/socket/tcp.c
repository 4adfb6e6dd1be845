#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <urcu.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"
#include "daemon/worker.h"
#include "acl/acl.h"
#include "dataplane/socket/dot.h"
#include "dataplane/socket/socket.h"
#include "dataplane/socket/tcp_limits.h"
#include "pipeline/pipeline.h"

/* Queries one connection may have waiting for recursion before we stop
 * reading from it (RFC 7766 6.2.1.1 lets us pace pipelining clients). */
#define TCP_MAX_INFLIGHT 64
/* Answers queued for a client that does not read: past the high mark we
 * stop reading its queries until the output drains below the low mark,
 * so a zero-window client cannot make us buffer without bound. */
#define TCP_OUT_HIGH (256 * 1024)
#define TCP_OUT_LOW (64 * 1024)

/* After accept() failed for want of descriptors, the listener rests this
 * long: the pending connection stays queued and would wake it at once. */
#define TCP_ACCEPT_PAUSE_MS 100

struct vd_tcp_listener {
	struct vd_worker *w;
	bool tls;
	struct evconnlistener *lev;
	struct event *resume; /* re-enables lev after an EMFILE pause */
};

struct vd_tcp_conn {
	/* The worker's open connections, least recently used last; holds
	 * the last complete query's time (RFC 7766 6.2.3) and the count of
	 * queries waiting for recursion. */
	struct vd_tcp_lru_node lru;
	struct vd_worker *w;
	struct bufferevent *bev; /* NULL once closed */
	unsigned refs;           /* 1 while open + 1 per waiting query */
	bool eof;                /* client closed its side */
	bool paused;             /* too many queries waiting for recursion */
	bool out_full;           /* too many answers waiting to be read */
	bool tls;                /* DoT */
	bool handshaken;         /* TLS: counted once */
	uint64_t idle_ns;
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

/*
 * Connections per client prefix and in total, over every worker; set
 * once at start (vd_tcp_limits_init) before any worker runs, read-only
 * pointer afterwards (the table locks itself).
 */
static struct vd_tcp_clients *tcp_clients;

static struct vd_tcp_conn *conn_of(struct vd_tcp_lru_node *n)
{
	return (struct vd_tcp_conn *)((char *)n -
				      offsetof(struct vd_tcp_conn, lru));
}

void vd_tcp_conn_ref(struct vd_tcp_conn *c)
{
	c->refs++;
	c->lru.inflight++;
}

static void conn_put(struct vd_tcp_conn *c)
{
	vd_require(c->refs > 0);
	if (--c->refs == 0)
		free(c);
}

static void conn_close(struct vd_tcp_conn *c)
{
	if (!c->bev)
		return;
	bufferevent_free(c->bev); /* BEV_OPT_CLOSE_ON_FREE closes the fd */
	c->bev = NULL;
	vd_tcp_lru_remove(&c->w->tcp_lru, &c->lru);
	if (tcp_clients)
		vd_tcp_clients_release(tcp_clients,
				       (const struct sockaddr *)&c->peer);
	conn_put(c);
}

void vd_tcp_conn_unref(struct vd_tcp_conn *c)
{
	vd_require(c->lru.inflight > 0);
	c->lru.inflight--;
	conn_put(c);
}

static void conn_maybe_finish(struct vd_tcp_conn *c)
{
	if (c->bev && c->eof && c->lru.inflight == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_close(c);
}

static void write_answer(struct vd_tcp_conn *c, const uint8_t *ans, size_t len)
{
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_add(out, prefix, 2) != 0 || evbuffer_add(out, ans, len) != 0)
		VD_STAT_INC(&c->w->stats, send_errors);
}

static void conn_read(struct bufferevent *bev, void *arg);

static bool conn_may_read(const struct vd_tcp_conn *c)
{
	return c->bev && !c->paused && !c->out_full && !c->eof;
}

/*
 * Reading resumes from the event loop, never from the answer path: an
 * answer is sent from inside a recursion's completion, and handling the
 * queries that piled up could start (and synchronously complete) another
 * recursion while the first is still answering its waiters.
 */
static void conn_resume(struct vd_tcp_conn *c)
{
	if (!conn_may_read(c))
		return;
	bufferevent_enable(c->bev, EV_READ);
	bufferevent_trigger(c->bev, EV_READ,
			    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void vd_tcp_conn_answer(struct vd_tcp_conn *c, const uint8_t *ans, size_t len)
{
	c->refs++; /* closing below must not free c under us */
	if (c->bev && len > 0)
		write_answer(c, ans, len);
	vd_tcp_conn_unref(c);
	if (c->bev && c->paused && c->lru.inflight <= TCP_MAX_INFLIGHT) {
		c->paused = false;
		conn_resume(c);
	}
	conn_maybe_finish(c);
	conn_put(c);
}

/* A TLS connection's handshake is over (its first event or data). */
static void tls_established(struct vd_tcp_conn *c)
{
	if (!c->tls || c->handshaken || !c->bev)
		return;
	c->handshaken = true;
	VD_STAT_INC(&c->w->stats, tls_handshakes);
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl && SSL_session_reused(ssl))
		VD_STAT_INC(&c->w->stats, tls_resumed);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct vd_tcp_conn *c = arg;
	struct vd_worker *w = c->w;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t out[VD_DNS_MSG_MAX];

	tls_established(c);

	/* The loop may close the connection (bad framing); hold it. */
	c->refs++;
	rcu_read_lock();
	uint64_t now = vd_now_ns();
	while (conn_may_read(c)) {
		size_t avail = evbuffer_get_length(in);
		if (avail < 2)
			break;
		uint8_t hdr[2];
		evbuffer_copyout(in, hdr, 2);
		size_t msg_len = (size_t)hdr[0] << 8 | hdr[1];
		if (msg_len < VD_DNS_HEADER_LEN) {
			/* Not a DNS message: framing is lost, give up. */
			VD_STAT_INC(&w->stats, dropped_malformed);
			conn_close(c);
			break;
		}
		if (avail < 2 + msg_len)
			break;
		uint8_t *msg = evbuffer_pullup(in, (ssize_t)(2 + msg_len));
		if (!msg) {
			conn_close(c);
			break;
		}
		struct vd_reply_to dest = {
			.transport = VD_TRANSPORT_TCP,
			.tls = c->tls,
			.fd = -1,
			.peer = c->peer,
			.peer_len = c->peer_len,
			.conn = c,
		};
		size_t len = vd_pipeline_handle(w, msg + 2, msg_len, &dest, out,
						sizeof(out));
		evbuffer_drain(in, 2 + msg_len);
		if (c->bev)
			vd_tcp_lru_touch(&w->tcp_lru, &c->lru, now);
		if (len > 0 && c->bev)
			write_answer(c, out, len);
		if (c->bev && c->lru.inflight > TCP_MAX_INFLIGHT) {
			c->paused = true;
			bufferevent_disable(c->bev, EV_READ);
		}
		if (c->bev && evbuffer_get_length(bufferevent_get_output(c->bev)) >
				      TCP_OUT_HIGH) {
			c->out_full = true;
			bufferevent_disable(c->bev, EV_READ);
		}
	}
	/* Idle means no complete query (RFC 7766 6.2.3): a byte now and
	 * then must not hold a connection slot forever. */
	if (c->bev && now - c->lru.last_ns > c->idle_ns &&
	    c->lru.inflight == 0) {
		VD_STAT_INC(&w->stats, tcp_idle_closed);
		conn_close(c);
	}
	rcu_read_unlock();
	conn_put(c);
}

static void conn_write(struct bufferevent *bev, void *arg)
{
	struct vd_tcp_conn *c = arg;
	if (c->out_full &&
	    evbuffer_get_length(bufferevent_get_output(bev)) <= TCP_OUT_LOW) {
		c->out_full = false;
		conn_resume(c);
	}
	conn_maybe_finish(c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct vd_tcp_conn *c = arg;
	if (what & BEV_EVENT_CONNECTED) {
		tls_established(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		/* The client stopped reading its answers. */
		VD_STAT_INC(&c->w->stats, tcp_idle_closed);
		conn_close(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* Idle means nothing to read and nothing owed (RFC 7766
		 * 6.2.3); a client waiting for a slow recursion is not idle. */
		if (c->lru.inflight > 0) {
			bufferevent_enable(bev, EV_READ);
			return;
		}
		VD_STAT_INC(&c->w->stats, tcp_idle_closed);
		conn_close(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		conn_maybe_finish(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		/* A failed handshake or a bad record counts; a client that
		 * resets after its answers (while our session tickets were
		 * on the way) is just a close. */
		if (c->tls && (!c->handshaken || bufferevent_get_openssl_error(bev)))
			VD_STAT_INC(&c->w->stats, tls_errors);
		conn_close(c);
	}
}

/*
 * Under pressure (this worker at tcp-max-connections, or the descriptor
 * budget used up) the earliest-idle connection makes room (RFC 7766
 * 6.2.3): one that sent nothing for longest and waits for nothing.
 * Returns true if one was closed.
 */
static bool reclaim_idle(struct vd_worker *w)
{
	struct vd_tcp_lru_node *n = vd_tcp_lru_pick_idle(&w->tcp_lru);
	if (!n)
		return false;
	VD_STAT_INC(&w->stats, tcp_idle_closed);
	conn_close(conn_of(n));
	return true;
}

/*
 * Admission: the ACL first (a client we would not answer gets no
 * connection to hold), then its prefix's share, then room in this worker
 * and in the descriptor budget, reclaiming an idle connection for the
 * last two.  Returns true if the connection may be served.
 */
static bool tcp_admit(struct vd_worker *w, const struct sockaddr *sa,
		      const struct vd_config *cfg)
{
	switch (vd_acl_match(&cfg->acl, sa)) {
	case VD_ACL_ALLOW:
		break;
	case VD_ACL_REFUSE:
		VD_STAT_INC(&w->stats, refused_acl);
		return false;
	default:
		VD_STAT_INC(&w->stats, dropped_acl);
		return false;
	}
	while (w->tcp_lru.n >= cfg->tcp_max_connections)
		if (!reclaim_idle(w))
			goto full;
	if (!tcp_clients)
		return true; /* limits not set up: the worker's cap only */
	for (;;) {
		int rc = vd_tcp_clients_acquire(
			tcp_clients, sa, cfg->tcp_max_connections_per_client);
		if (rc == 0)
			return true;
		/* A client at its own limit does not push others out. */
		if (rc != -ENFILE || !reclaim_idle(w))
			goto full;
	}
full:
	VD_STAT_INC(&w->stats, tcp_rejected);
	return false;
}

static void tcp_accept(struct evconnlistener *lev, evutil_socket_t fd,
		       struct sockaddr *sa, int salen, void *arg)
{
	struct vd_tcp_listener *l = arg;
	struct vd_worker *w = l->w;
	(void)lev;
	rcu_read_lock();
	const struct vd_settings *st = vd_worker_settings(w);
	bool admit = tcp_admit(w, sa, &st->cfg);
	unsigned idle_ms = st->cfg.tcp_idle_timeout_ms;
	rcu_read_unlock();

	if (!admit) {
		close(fd);
		return;
	}
	struct vd_tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->w = w;
	c->refs = 1;
	c->peer_len = (socklen_t)VD_MIN((size_t)salen, sizeof(c->peer));
	memcpy(&c->peer, sa, c->peer_len);
	if (l->tls) {
		/* The context as published now; the connection keeps it
		 * through a reload (SSL_new takes a reference). */
		rcu_read_lock();
		SSL_CTX *ctx = vd_dot_ctx();
		SSL *ssl = ctx ? SSL_new(ctx) : NULL;
		rcu_read_unlock();
		if (ssl)
			c->bev = bufferevent_openssl_socket_new(
				w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
				BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			if (ssl)
				SSL_free(ssl);
			free(c);
			goto fail;
		}
		/* Clients that close without close_notify are common and
		 * harmless here: every message is length-delimited. */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->tls = true;
	} else {
		c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			free(c);
			goto fail;
		}
	}
	vd_tcp_lru_push(&w->tcp_lru, &c->lru, vd_now_ns());
	VD_STAT_INC(&w->stats, tcp_accepted);
	struct timeval idle = {.tv_sec = idle_ms / 1000,
			       .tv_usec = (idle_ms % 1000) * 1000};
	c->idle_ns = (uint64_t)idle_ms * VD_NS_PER_MS;
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* conn_write runs when the output drains to the low mark. */
	bufferevent_setwatermark(c->bev, EV_WRITE, TCP_OUT_LOW, 0);
	/* A query never exceeds 2 + 65535 bytes; bound what we buffer. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * (2 + VD_DNS_MSG_MAX));
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return;
fail:
	if (tcp_clients)
		vd_tcp_clients_release(tcp_clients, sa);
	close(fd);
}

static void tcp_resume(evutil_socket_t fd, short what, void *arg)
{
	struct vd_tcp_listener *l = arg;
	(void)fd;
	(void)what;
	if (!atomic_load(&l->w->stopping))
		evconnlistener_enable(l->lev);
}

/*
 * accept() failed.  Out of descriptors (the budget should prevent it,
 * but other parts of the process open files too), the pending connection
 * stays queued and the listener would spin: close an idle connection if
 * there is one, otherwise rest a moment.
 */
static void tcp_accept_error(struct evconnlistener *lev, void *arg)
{
	struct vd_tcp_listener *l = arg;
	int e = EVUTIL_SOCKET_ERROR();
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return;
	VD_STAT_INC(&l->w->stats, tcp_rejected);
	if (reclaim_idle(l->w))
		return;
	static _Atomic uint64_t last_log_ns;
	uint64_t now = vd_now_ns();
	if (now - atomic_load(&last_log_ns) > VD_NS_PER_SEC) {
		atomic_store(&last_log_ns, now);
		vd_log(VD_LOG_WARNING, "tcp accept: %s; pausing the listener",
		       strerror(e));
	}
	struct timeval tv = {0, TCP_ACCEPT_PAUSE_MS * 1000};
	evconnlistener_disable(lev);
	evtimer_add(l->resume, &tv);
}

struct vd_tcp_listener *vd_tcp_attach(struct vd_worker *w, int fd, bool tls)
{
	struct vd_tcp_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->w = w;
	l->tls = tls;
	l->resume = evtimer_new(w->base, tcp_resume, l);
	if (!l->resume) {
		free(l);
		return NULL;
	}
	l->lev = evconnlistener_new(w->base, tcp_accept, l,
				    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!l->lev) {
		event_free(l->resume);
		free(l);
		return NULL;
	}
	evconnlistener_set_error_cb(l->lev, tcp_accept_error);
	return l;
}

void vd_tcp_listener_pause(struct vd_tcp_listener *l)
{
	if (!l || !l->lev)
		return;
	evtimer_del(l->resume);
	evconnlistener_disable(l->lev);
}

void vd_tcp_listener_free(struct vd_tcp_listener *l)
{
	if (!l)
		return;
	if (l->lev)
		evconnlistener_free(l->lev);
	if (l->resume)
		event_free(l->resume);
	free(l);
}

void vd_tcp_close_all(struct vd_worker *w)
{
	while (w->tcp_lru.head)
		conn_close(conn_of(w->tcp_lru.head));
}

int vd_tcp_limits_init(const struct vd_config *cfg, unsigned workers,
		       char *err, size_t errlen)
{
	struct vd_fd_budget b;
	struct rlimit rl;
	vd_fd_budget_compute(workers, (unsigned)cfg->n_listen,
			     cfg->tcp_max_connections, cfg->max_recursions, &b);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		int e = errno;
		snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s",
			 strerror(e));
		return -e;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < b.need) {
		struct rlimit want = {.rlim_cur = b.need, .rlim_max = rl.rlim_max};
		/* Above the hard limit only with CAP_SYS_RESOURCE (root). */
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < b.need)
			want.rlim_max = b.need;
		if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
			int e = errno;
			snprintf(err, errlen,
				 "the configured limits need %lu file descriptors "
				 "(%u threads x tcp-max-connections %u, plus %lu "
				 "for listeners, recursion, health and control) "
				 "but RLIMIT_NOFILE is %llu (hard %llu) and cannot "
				 "be raised: %s; raise LimitNOFILE/ulimit -n or "
				 "lower tcp-max-connections, max-recursions or "
				 "threads",
				 b.need, workers, cfg->tcp_max_connections,
				 b.reserve, (unsigned long long)rl.rlim_cur,
				 (unsigned long long)rl.rlim_max, strerror(e));
			return -e;
		}
		vd_log(VD_LOG_INFO, "RLIMIT_NOFILE raised from %llu to %lu",
		       (unsigned long long)rl.rlim_cur, b.need);
		rl.rlim_cur = b.need;
	}
	/* Whatever the limit, the reserve stays out of the TCP budget, so
	 * client connections can never starve recursion, health or
	 * control of descriptors. */
	unsigned long have = rl.rlim_cur == RLIM_INFINITY ? b.need
							  : (unsigned long)rl.rlim_cur;
	unsigned long tcp = VD_MIN(have - b.reserve, b.tcp);
	tcp_clients = vd_tcp_clients_new((unsigned)tcp);
	if (!tcp_clients) {
		snprintf(err, errlen, "out of memory for the TCP client table");
		return -ENOMEM;
	}
	return 0;
}

void vd_tcp_limits_fini(void)
{
	vd_tcp_clients_free(tcp_clients);
	tcp_clients = NULL;
}
