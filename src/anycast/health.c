#include "anycast/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/compiler.h"
#include "dns/query.h"

static const char *const rcode_names[16] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

/* The TCP leg of a probe: connect, send the length-prefixed query, read
 * the length-prefixed answer, all non-blocking under the probe's poll. */
struct tcp_probe {
	int fd;
	bool connected;
	uint8_t out[2 + 12 + VD_DNS_NAME_MAX + 4];
	size_t out_len, out_off;
	uint8_t len[2];
	size_t got, want; /* want: 0 until the length prefix is in */
	uint8_t in[1500];
};

static void tcp_start(struct tcp_probe *tp, const struct sockaddr_storage *src,
		      const struct sockaddr_storage *dst, socklen_t slen,
		      const uint8_t *q, size_t qlen)
{
	if (qlen + 2 > sizeof(tp->out))
		return;
	tp->out[0] = (uint8_t)(qlen >> 8);
	tp->out[1] = (uint8_t)qlen;
	memcpy(tp->out + 2, q, qlen);
	tp->out_len = qlen + 2;
	tp->fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (tp->fd < 0)
		return;
	if (bind(tp->fd, (const struct sockaddr *)src, slen) != 0 ||
	    (connect(tp->fd, (const struct sockaddr *)dst, slen) != 0 &&
	     errno != EINPROGRESS)) {
		close(tp->fd);
		tp->fd = -1;
	}
}

static short tcp_events(const struct tcp_probe *tp)
{
	return tp->out_off < tp->out_len ? POLLOUT : POLLIN;
}

/* Returns the answer's length once it is all in a (cap bytes), else -1
 * (not yet, or the connection failed: it is then closed and the UDP leg
 * goes on). */
static ssize_t tcp_step(struct tcp_probe *tp, uint8_t *a, size_t cap)
{
	if (tp->out_off < tp->out_len) {
		ssize_t n = send(tp->fd, tp->out + tp->out_off,
				 tp->out_len - tp->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			goto fail;
		if (n > 0)
			tp->out_off += (size_t)n;
		return -1;
	}
	if (tp->want == 0) {
		ssize_t n = recv(tp->fd, tp->len + tp->got, 2 - tp->got, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			goto fail;
		if (n > 0)
			tp->got += (size_t)n;
		if (tp->got < 2)
			return -1;
		tp->want = (size_t)tp->len[0] << 8 | tp->len[1];
		tp->got = 0;
		if (tp->want == 0 || tp->want > sizeof(tp->in) || tp->want > cap)
			goto fail;
		return -1;
	}
	ssize_t n = recv(tp->fd, tp->in + tp->got, tp->want - tp->got, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		goto fail;
	if (n > 0)
		tp->got += (size_t)n;
	if (tp->got < tp->want)
		return -1;
	memcpy(a, tp->in, tp->want);
	return (ssize_t)tp->want;
fail:
	close(tp->fd);
	tp->fd = -1;
	return -1;
}

int vd_anycast_probe(const struct vd_anycast_vip *vip, uint16_t port,
		     const struct vd_anycast_canary *canary,
		     unsigned timeout_ms, char *why, size_t whylen)
{
	uint8_t q[12 + sizeof(canary->wire) + 4], a[1500];
	char name[VD_DNS_NAME_MAX * 4 + 2];
	uint16_t id;
	int fd = -1, rc;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)vd_now_ns();
	/* header: id, RD, one question */
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01;
	q[5] = 1;
	if (vd_fails_assert(canary->wire_len > 0 &&
			    canary->wire_len <= sizeof(canary->wire)))
		return -EINVAL;
	memcpy(q + 12, canary->wire, canary->wire_len);
	if (canary->random_label) {
		static const char hex[] = "0123456789abcdef";
		uint32_t r;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r = (uint32_t)vd_now_ns();
		for (int i = 0; i < 8; i++)
			q[12 + VD_ANYCAST_CANARY_RANDOM_OFF + i] =
				(uint8_t)hex[(r >> (28 - 4 * i)) & 0xf];
	}
	if (vd_dns_name_to_str(q + 12, canary->wire_len, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "%s", canary->name);
	int nl = canary->wire_len;
	size_t qlen = 12 + (size_t)nl;
	q[qlen++] = (uint8_t)(canary->qtype >> 8);
	q[qlen++] = (uint8_t)canary->qtype;
	q[qlen++] = 0;
	q[qlen++] = 1; /* IN */

	struct sockaddr_storage src, dst;
	socklen_t slen;
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	if (vip->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&src;
		struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;
		s4->sin_family = d4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(&d4->sin_addr, vip->addr, 4);
		d4->sin_port = htons(port);
		slen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&src;
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;
		s6->sin6_family = d6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		memcpy(&d6->sin6_addr, vip->addr, 16);
		d6->sin6_port = htons(port);
		slen = sizeof(*s6);
	}
	/* From loopback: the daemon's default ACL admits it, the answer
	 * cannot leave the node, and the resolver keeps a reserve past
	 * max-recursions for it (resolve.c), so a busy node is not read as a
	 * broken one. */
	fd = socket(vip->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, slen) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, slen) != 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen) {
		rc = -errno;
		snprintf(why, whylen, "send to %s: %s", vip->addr_str,
			 strerror(errno));
		goto out;
	}
	/*
	 * A node under heavy UDP load can drop the probe in a full socket
	 * buffer although it answers what it reads: after half the timeout
	 * the same question (same name, so it joins the recursion the UDP
	 * one started) also goes over TCP, whose queue is not the UDP one's,
	 * and whichever answer comes first counts.
	 */
	uint64_t start = vd_now_ns();
	uint64_t deadline = start + (uint64_t)timeout_ms * VD_NS_PER_MS;
	uint64_t tcp_at = start + (uint64_t)timeout_ms * VD_NS_PER_MS / 2;
	struct tcp_probe tp = {.fd = -1};
	bool tcp_tried = false;
	for (;;) {
		uint64_t now = vd_now_ns();
		if (now >= deadline) {
			rc = -ETIMEDOUT;
			snprintf(why, whylen, "%s: no answer in %u ms%s", name,
				 timeout_ms, tcp_tried ? " (udp, tcp)" : "");
			goto out;
		}
		if (!tcp_tried && now >= tcp_at) {
			tcp_tried = true;
			tcp_start(&tp, &src, &dst, slen, q, qlen);
		}
		uint64_t until = tcp_tried ? deadline : tcp_at;
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = tp.fd, .events = tcp_events(&tp)}};
		int pr = poll(p, tp.fd >= 0 ? 2 : 1,
			      (int)((until - now) / VD_NS_PER_MS) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* the checks above end it */
		ssize_t n = -1;
		if (p[0].revents & POLLIN) {
			n = recv(fd, a, sizeof(a), 0);
			if (n < 0) {
				rc = -errno;
				snprintf(why, whylen, "%s: %s", name,
					 strerror(errno));
				goto out;
			}
		} else if (tp.fd >= 0 && p[1].revents) {
			n = tcp_step(&tp, a, sizeof(a));
		}
		/* Only our answer: same ID, QR set, the question echoed. */
		if (n < (ssize_t)qlen || a[0] != q[0] || a[1] != q[1] ||
		    !(a[2] & 0x80) || memcmp(a + 12, q + 12, qlen - 12) != 0)
			continue;
		unsigned rcode = a[3] & 0x0f;
		const char *via = p[0].revents & POLLIN ? "" : " (over tcp)";
		if (rcode == 0 || rcode == 3) {
			snprintf(why, whylen, "%s: %s%s", name,
				 rcode_names[rcode], via);
			rc = 0;
		} else {
			snprintf(why, whylen, "%s: %s%s", name,
				 rcode_names[rcode] ? rcode_names[rcode]
						    : "rcode?",
				 via);
			rc = -EIO;
		}
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (tp.fd >= 0)
		close(tp.fd);
	return rc;
}
