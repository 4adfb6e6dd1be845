/*
 * src/anycast/health.c: the probe's TCP leg.  A node whose UDP socket
 * buffer is full drops the probe although it answers what it reads; the
 * probe then asks the same question over TCP and passes on that answer.
 *
 * The "node" here is two sockets on 127.0.0.1 and one port: a UDP one
 * that reads nothing (a full queue, as far as the probe can tell) and a
 * TCP listener that a thread answers NOERROR from.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "anycast/health.h"
#include "anycast/parse.h"

static int tcp_l = -1, udp_s = -1;
static uint16_t port;

static int read_full(int fd, uint8_t *b, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, b + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Answers one query over TCP: the query back with QR set, NOERROR. */
static void *serve_tcp(void *arg)
{
	(void)arg;
	/* Bounded: a probe that never tries TCP must fail the test, not
	 * hang it. */
	struct pollfd p = {.fd = tcp_l, .events = POLLIN};
	if (poll(&p, 1, 2000) != 1)
		return NULL;
	int c = accept(tcp_l, NULL, NULL);
	if (c < 0)
		return NULL;
	uint8_t len[2], m[512];
	if (read_full(c, len, 2) == 0) {
		size_t n = (size_t)len[0] << 8 | len[1];
		if (n <= sizeof(m) && read_full(c, m, n) == 0) {
			m[2] |= 0x80; /* QR */
			m[3] = 0x80;  /* RA, NOERROR */
			(void)!write(c, len, 2);
			(void)!write(c, m, n);
		}
	}
	close(c);
	return NULL;
}

static void setup(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	tcp_l = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(tcp_l >= 0);
	cr_assert_eq(bind(tcp_l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(tcp_l, 4), 0);
	cr_assert_eq(getsockname(tcp_l, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	udp_s = socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert(udp_s >= 0);
	cr_assert_eq(bind(udp_s, (struct sockaddr *)&a, sizeof(a)), 0,
		     "UDP port %u taken", port);
}

static void teardown(void)
{
	close(tcp_l);
	close(udp_s);
}

Test(probe, udp_dropped_tcp_answers, .init = setup, .fini = teardown)
{
	struct vd_anycast_vip vip;
	const char *why = NULL;
	cr_assert_eq(vd_anycast_vip_parse("127.0.0.1/32", &vip, &why), 0,
		     "%s", why);
	struct vd_anycast_canary canary;
	cr_assert_eq(vd_anycast_canary_parse("*.canary.lab A", &canary, &why),
		     0, "%s", why);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, serve_tcp, NULL), 0);
	char reason[256];
	int rc = vd_anycast_probe(&vip, port, &canary, 600, reason,
				  sizeof(reason));
	pthread_join(t, NULL);
	cr_assert_eq(rc, 0, "probe failed: %s", reason);
	cr_assert(strstr(reason, "over tcp"), "%s", reason);
}

/* Neither leg answers: a timeout, named as such. */
Test(probe, nothing_answers_times_out, .init = setup, .fini = teardown)
{
	struct vd_anycast_vip vip;
	const char *why = NULL;
	cr_assert_eq(vd_anycast_vip_parse("127.0.0.1/32", &vip, &why), 0);
	struct vd_anycast_canary canary;
	cr_assert_eq(vd_anycast_canary_parse("canary.lab A", &canary, &why), 0);
	char reason[256];
	/* the listener accepts (backlog) but nobody answers */
	int rc = vd_anycast_probe(&vip, port, &canary, 300, reason,
				  sizeof(reason));
	cr_assert_eq(rc, -ETIMEDOUT, "%s", reason);
	cr_assert(strstr(reason, "no answer in 300 ms"), "%s", reason);
}
