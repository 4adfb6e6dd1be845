#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <urcu.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "core/log.h"
#include "daemon/worker.h"
#include "dataplane/socket/socket.h"
#include "pipeline/pipeline.h"

/* Queries one connection may have waiting for recursion before we stop
 * reading from it (RFC 7766 6.2.1.1 lets us pace pipelining clients). */
#define TCP_MAX_INFLIGHT 64
/* Answers queued for a client that does not read: past the high mark we
 * stop reading its queries until the output drains below the low mark,
 * so a zero-window client cannot make us buffer without bound. */
#define TCP_OUT_HIGH (256 * 1024)
#define TCP_OUT_LOW (64 * 1024)

struct vd_tcp_listener {
	struct vd_worker *w;
	struct evconnlistener *lev;
};

struct vd_tcp_conn {
	struct vd_worker *w;
	struct bufferevent *bev; /* NULL once closed */
	unsigned refs;           /* 1 while open + 1 per waiting query */
	unsigned inflight;
	struct vd_tcp_conn *prev, *next; /* the worker's open connections */
	bool eof;                /* client closed its side */
	bool paused;             /* too many queries waiting for recursion */
	bool out_full;           /* too many answers waiting to be read */
	uint64_t last_msg_ns;    /* last complete query (RFC 7766 6.2.3) */
	uint64_t idle_ns;
	struct sockaddr_storage peer;
	socklen_t peer_len;
};

void vd_tcp_conn_ref(struct vd_tcp_conn *c)
{
	c->refs++;
	c->inflight++;
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
	if (c->prev)
		c->prev->next = c->next;
	else
		c->w->tcp_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->w->tcp_conns--;
	conn_put(c);
}

void vd_tcp_conn_unref(struct vd_tcp_conn *c)
{
	vd_require(c->inflight > 0);
	c->inflight--;
	conn_put(c);
}

static void conn_maybe_finish(struct vd_tcp_conn *c)
{
	if (c->bev && c->eof && c->inflight == 0 &&
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
	if (c->bev && c->paused && c->inflight <= TCP_MAX_INFLIGHT) {
		c->paused = false;
		conn_resume(c);
	}
	conn_maybe_finish(c);
	conn_put(c);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct vd_tcp_conn *c = arg;
	struct vd_worker *w = c->w;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t out[VD_DNS_MSG_MAX];

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
			.fd = -1,
			.peer = c->peer,
			.peer_len = c->peer_len,
			.conn = c,
		};
		size_t len = vd_pipeline_handle(w, msg + 2, msg_len, &dest, out,
						sizeof(out));
		evbuffer_drain(in, 2 + msg_len);
		c->last_msg_ns = now;
		if (len > 0 && c->bev)
			write_answer(c, out, len);
		if (c->bev && c->inflight > TCP_MAX_INFLIGHT) {
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
	if (c->bev && now - c->last_msg_ns > c->idle_ns && c->inflight == 0) {
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
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		/* The client stopped reading its answers. */
		VD_STAT_INC(&c->w->stats, tcp_idle_closed);
		conn_close(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/* Idle means nothing to read and nothing owed (RFC 7766
		 * 6.2.3); a client waiting for a slow recursion is not idle. */
		if (c->inflight > 0) {
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
	if (what & BEV_EVENT_ERROR)
		conn_close(c);
}

static void tcp_accept(struct evconnlistener *lev, evutil_socket_t fd,
		       struct sockaddr *sa, int salen, void *arg)
{
	struct vd_tcp_listener *l = arg;
	struct vd_worker *w = l->w;
	(void)lev;
	rcu_read_lock();
	const struct vd_settings *st = vd_worker_settings(w);
	unsigned max_conns = st->cfg.tcp_max_connections;
	unsigned idle_ms = st->cfg.tcp_idle_timeout_ms;
	rcu_read_unlock();

	if (w->tcp_conns >= max_conns) {
		VD_STAT_INC(&w->stats, tcp_rejected);
		close(fd);
		return;
	}
	struct vd_tcp_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->refs = 1;
	c->peer_len = (socklen_t)VD_MIN((size_t)salen, sizeof(c->peer));
	memcpy(&c->peer, sa, c->peer_len);
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	w->tcp_conns++;
	c->next = w->tcp_list;
	if (c->next)
		c->next->prev = c;
	w->tcp_list = c;
	VD_STAT_INC(&w->stats, tcp_accepted);
	struct timeval idle = {.tv_sec = idle_ms / 1000,
			       .tv_usec = (idle_ms % 1000) * 1000};
	c->idle_ns = (uint64_t)idle_ms * VD_NS_PER_MS;
	c->last_msg_ns = vd_now_ns();
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* conn_write runs when the output drains to the low mark. */
	bufferevent_setwatermark(c->bev, EV_WRITE, TCP_OUT_LOW, 0);
	/* A query never exceeds 2 + 65535 bytes; bound what we buffer. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * (2 + VD_DNS_MSG_MAX));
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

struct vd_tcp_listener *vd_tcp_attach(struct vd_worker *w, int fd)
{
	struct vd_tcp_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->w = w;
	l->lev = evconnlistener_new(w->base, tcp_accept, l,
				    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!l->lev) {
		free(l);
		return NULL;
	}
	return l;
}

void vd_tcp_listener_pause(struct vd_tcp_listener *l)
{
	if (l && l->lev)
		evconnlistener_disable(l->lev);
}

void vd_tcp_listener_free(struct vd_tcp_listener *l)
{
	if (!l)
		return;
	if (l->lev)
		evconnlistener_free(l->lev);
	free(l);
}

void vd_tcp_close_all(struct vd_worker *w)
{
	while (w->tcp_list)
		conn_close(w->tcp_list);
}
