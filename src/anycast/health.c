#include "anycast/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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
	/* From loopback: the daemon's default ACL admits it, and the answer
	 * cannot leave the node. */
	fd = socket(vip->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, slen) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, slen) != 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen) {
		rc = -errno;
		snprintf(why, whylen, "send to %s: %s", vip->addr_str,
			 strerror(errno));
		goto out;
	}
	uint64_t deadline = vd_now_ns() + (uint64_t)timeout_ms * VD_NS_PER_MS;
	for (;;) {
		uint64_t now = vd_now_ns();
		if (now >= deadline) {
			rc = -ETIMEDOUT;
			snprintf(why, whylen, "%s: no answer in %u ms", name,
				 timeout_ms);
			goto out;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, (int)((deadline - now) / VD_NS_PER_MS) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* the deadline check above ends it */
		ssize_t n = recv(fd, a, sizeof(a), 0);
		if (n < 0) {
			rc = -errno;
			snprintf(why, whylen, "%s: %s", name, strerror(errno));
			goto out;
		}
		/* Only our answer: same ID, QR set, the question echoed. */
		if (n < (ssize_t)qlen || a[0] != q[0] || a[1] != q[1] ||
		    !(a[2] & 0x80) || memcmp(a + 12, q + 12, qlen - 12) != 0)
			continue;
		unsigned rcode = a[3] & 0x0f;
		if (rcode == 0 || rcode == 3) {
			snprintf(why, whylen, "%s: %s", name, rcode_names[rcode]);
			rc = 0;
		} else {
			snprintf(why, whylen, "%s: %s", name,
				 rcode_names[rcode] ? rcode_names[rcode] : "rcode?");
			rc = -EIO;
		}
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
