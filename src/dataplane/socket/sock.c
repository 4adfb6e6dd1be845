#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/socket/socket.h"

void vd_sock_addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(out, cap, "%s@%u", host, port);
}

static int fail(int fd, const char *what, const struct vd_listen *l,
		char *err, size_t errlen)
{
	int e = errno;
	char a[80];
	vd_sock_addr_str((const struct sockaddr *)&l->addr, a, sizeof(a));
	snprintf(err, errlen, "%s %s: %s", what, a, strerror(e));
	if (fd >= 0)
		close(fd);
	return -e;
}

static int set_int(int fd, int level, int opt, int value)
{
	return setsockopt(fd, level, opt, &value, sizeof(value));
}

/* Options both transports want. */
static int common_opts(int fd, int family)
{
	if (set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0)
		return -1;
	if (family == AF_INET6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0)
		return -1;
	/* Bind a VIP before it is configured on an interface: the anycast
	 * side adds and removes VIP addresses while listeners stay up. */
	if (family == AF_INET)
		(void)set_int(fd, IPPROTO_IP, IP_FREEBIND, 1);
	else
		(void)set_int(fd, IPPROTO_IPV6, IPV6_FREEBIND, 1);
	return 0;
}

static void set_buf(int fd, int force_opt, int opt, int bytes)
{
	if (bytes <= 0)
		return;
	/* The FORCE variant ignores net.core.[rw]mem_max, which cannot be
	 * raised inside a network namespace; it needs CAP_NET_ADMIN. */
	if (set_int(fd, SOL_SOCKET, force_opt, bytes) != 0)
		(void)set_int(fd, SOL_SOCKET, opt, bytes);
}

int vd_sock_open_udp(const struct vd_listen *l, const struct vd_config *cfg,
		     char *err, size_t errlen)
{
	int family = l->addr.ss_family;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(-1, "udp socket", l, err, errlen);
	if (common_opts(fd, family) != 0)
		return fail(fd, "udp setsockopt", l, err, errlen);
	/*
	 * Never fragment-by-PMTU answers and ignore ICMP-learned path MTUs:
	 * forged "fragmentation needed" messages would otherwise let an
	 * attacker force fragments and spoof the second one.
	 */
	if (family == AF_INET)
		(void)set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT);
	else
		(void)set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
			      IPV6_PMTUDISC_OMIT);
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, cfg->so_rcvbuf);
	set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg->so_sndbuf);
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0)
		return fail(fd, "udp bind", l, err, errlen);
	return fd;
}

int vd_sock_open_tcp(const struct vd_listen *l, const struct vd_config *cfg,
		     char *err, size_t errlen)
{
	(void)cfg;
	int family = l->addr.ss_family;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(-1, "tcp socket", l, err, errlen);
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) != 0 ||
	    common_opts(fd, family) != 0)
		return fail(fd, "tcp setsockopt", l, err, errlen);
	(void)set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	(void)set_int(fd, IPPROTO_TCP, TCP_FASTOPEN, 256);
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addr_len) != 0)
		return fail(fd, "tcp bind", l, err, errlen);
	if (listen(fd, 1024) != 0)
		return fail(fd, "tcp listen", l, err, errlen);
	return fd;
}
