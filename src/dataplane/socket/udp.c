#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <urcu.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "daemon/worker.h"
#include "dataplane/socket/socket.h"
#include "pipeline/pipeline.h"

#define UDP_BURST 32
/* Larger queries are not DNS queries a resolver needs to read. */
#define UDP_RX_MAX 4096
/* edns-buffer-size is at most 4096, so no UDP answer is larger. */
#define UDP_TX_MAX 4096
/* Bursts per wakeup before yielding to the rest of the loop. */
#define UDP_ROUNDS 8

struct vd_udp {
	struct vd_worker *w;
	int fd;
	struct event *ev;
};

/* Burst buffers: one set per worker thread, never on the heap per packet. */
struct udp_burst {
	uint8_t rx[UDP_BURST][UDP_RX_MAX];
	uint8_t tx[UDP_BURST][UDP_TX_MAX];
	struct sockaddr_storage peer[UDP_BURST];
	struct iovec rx_iov[UDP_BURST], tx_iov[UDP_BURST];
	struct mmsghdr rx_msg[UDP_BURST], tx_msg[UDP_BURST];
};
static _Thread_local struct udp_burst *burst;

static void send_all(struct vd_worker *w, int fd, struct mmsghdr *msg, int n)
{
	int done = 0;
	while (done < n) {
		int rc = sendmmsg(fd, msg + done, (unsigned)(n - done),
				  MSG_DONTWAIT);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			/* Skip the datagram the kernel refused; the client
			 * retries, and the rest of the burst still goes. */
			VD_STAT_INC(&w->stats, send_errors);
			done++;
			continue;
		}
		done += rc;
	}
}

static struct udp_burst *burst_new(void)
{
	struct udp_burst *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	/* What the kernel does not write back is set once: the buffers, and
	 * where recvmmsg() puts each peer address. */
	for (int i = 0; i < UDP_BURST; i++) {
		b->rx_iov[i].iov_base = b->rx[i];
		b->rx_iov[i].iov_len = UDP_RX_MAX;
		b->rx_msg[i].msg_hdr.msg_iov = &b->rx_iov[i];
		b->rx_msg[i].msg_hdr.msg_iovlen = 1;
		b->rx_msg[i].msg_hdr.msg_name = &b->peer[i];
		b->tx_iov[i].iov_base = b->tx[i];
		b->tx_msg[i].msg_hdr.msg_iov = &b->tx_iov[i];
		b->tx_msg[i].msg_hdr.msg_iovlen = 1;
	}
	return b;
}

static void udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct vd_udp *u = arg;
	struct vd_worker *w = u->w;
	(void)what;
	if (vd_unlikely(!burst)) {
		burst = burst_new();
		if (!burst)
			return;
	}
	struct udp_burst *b = burst;

	for (int round = 0; round < UDP_ROUNDS; round++) {
		/* recvmmsg() writes back msg_namelen, msg_flags and msg_len
		 * only; msg_control stays NULL (calloc). */
		for (int i = 0; i < UDP_BURST; i++)
			b->rx_msg[i].msg_hdr.msg_namelen = sizeof(b->peer[i]);
		int n = recvmmsg(fd, b->rx_msg, UDP_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		/* One clock read for the burst: the cache's "now" for every
		 * query in it, and the start of their answer_time. */
		uint64_t now = vd_now_ns();

		int m = 0;
		rcu_read_lock();
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &b->rx_msg[i].msg_hdr;
			if (h->msg_flags & MSG_TRUNC) {
				VD_STAT_INC(&w->stats, dropped_malformed);
				continue;
			}
			struct vd_reply_to dest = {
				.transport = VD_TRANSPORT_UDP,
				.fd = fd,
				.peer_len = h->msg_namelen,
			};
			memcpy(&dest.peer, &b->peer[i],
			       VD_MIN((size_t)h->msg_namelen, sizeof(dest.peer)));
			size_t len = vd_pipeline_handle_at(w, b->rx[i],
							   b->rx_msg[i].msg_len,
							   &dest, now, b->tx[m],
							   UDP_TX_MAX);
			if (len == 0)
				continue;
			b->tx_iov[m].iov_len = len;
			b->tx_msg[m].msg_hdr.msg_name = &b->peer[i];
			b->tx_msg[m].msg_hdr.msg_namelen = h->msg_namelen;
			m++;
		}
		rcu_read_unlock();
		if (m) {
			send_all(w, fd, b->tx_msg, m);
			/* Query in (burst read) -> answer out (burst sent). */
			vd_stats_observe_n(&w->stats.answer_time,
					   vd_now_ns() - now, (uint64_t)m);
		}
		if (n < UDP_BURST)
			return;
	}
}

struct vd_udp *vd_udp_attach(struct vd_worker *w, int fd)
{
	struct vd_udp *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->w = w;
	u->fd = fd;
	u->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, udp_read, u);
	if (!u->ev || event_add(u->ev, NULL) != 0) {
		if (u->ev)
			event_free(u->ev);
		free(u);
		return NULL;
	}
	return u;
}

void vd_udp_pause(struct vd_udp *u)
{
	if (u && u->ev)
		event_del(u->ev);
}

void vd_udp_free(struct vd_udp *u)
{
	if (!u)
		return;
	if (u->ev)
		event_free(u->ev);
	close(u->fd);
	free(u);
}

void vd_udp_thread_fini(void)
{
	free(burst);
	burst = NULL;
}
