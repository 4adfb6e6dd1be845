/* Unit tests for src/dataplane/socket/tcp_limits.c: connections per
 * client prefix and in total, the least-recently-used order and which
 * connection is reclaimed under pressure, the descriptor budget. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/socket/tcp_limits.h"

static struct sockaddr_storage peer(const char *addr)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(40000);
		cr_assert_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(40000);
		cr_assert_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
	return ss;
}

static int acquire(struct vd_tcp_clients *t, const char *addr, unsigned lim)
{
	struct sockaddr_storage ss = peer(addr);
	return vd_tcp_clients_acquire(t, (struct sockaddr *)&ss, lim);
}

static void release(struct vd_tcp_clients *t, const char *addr)
{
	struct sockaddr_storage ss = peer(addr);
	vd_tcp_clients_release(t, (struct sockaddr *)&ss);
}

static unsigned count(struct vd_tcp_clients *t, const char *addr)
{
	struct sockaddr_storage ss = peer(addr);
	return vd_tcp_clients_count(t, (struct sockaddr *)&ss);
}

Test(tcp_clients, one_client_is_capped_others_are_not)
{
	struct vd_tcp_clients *t = vd_tcp_clients_new(4000);
	cr_assert_not_null(t);
	/* One host opening 3000 connections gets its share only. */
	unsigned ok = 0;
	for (int i = 0; i < 3000; i++)
		ok += acquire(t, "192.0.2.10", 32) == 0;
	cr_assert_eq(ok, 32);
	cr_assert_eq(acquire(t, "192.0.2.10", 32), -EUSERS);
	cr_assert_eq(count(t, "192.0.2.10"), 32);
	/* Its neighbours in the same /24 are other clients. */
	cr_assert_eq(acquire(t, "192.0.2.200", 32), 0);
	cr_assert_eq(acquire(t, "192.0.2.201", 32), 0);
	cr_assert_eq(count(t, "192.0.2.200"), 1);
	/* A closed connection frees its slot. */
	release(t, "192.0.2.10");
	cr_assert_eq(count(t, "192.0.2.10"), 31);
	cr_assert_eq(acquire(t, "192.0.2.10", 32), 0);
	cr_assert_eq(t->total, 34);
	vd_tcp_clients_free(t);
}

Test(tcp_clients, ipv6_counts_per_56)
{
	struct vd_tcp_clients *t = vd_tcp_clients_new(100);
	cr_assert_eq(acquire(t, "2001:db8:c::10", 2), 0);
	/* Same /56, other host and other /64: the same client. */
	cr_assert_eq(acquire(t, "2001:db8:c:ff::1", 2), 0);
	cr_assert_eq(acquire(t, "2001:db8:c:42::99", 2), -EUSERS);
	/* Next /56 is another client. */
	cr_assert_eq(acquire(t, "2001:db8:c:100::1", 2), 0);
	cr_assert_eq(count(t, "2001:db8:c::"), 2);
	vd_tcp_clients_free(t);
}

Test(tcp_clients, mapped_ipv4_is_the_ipv4_client)
{
	struct vd_tcp_clients *t = vd_tcp_clients_new(100);
	cr_assert_eq(acquire(t, "192.0.2.10", 2), 0);
	cr_assert_eq(acquire(t, "::ffff:192.0.2.10", 2), 0);
	cr_assert_eq(acquire(t, "::ffff:192.0.2.10", 2), -EUSERS);
	cr_assert_eq(count(t, "192.0.2.10"), 2);
	/* ...and not some IPv6 client whose /56 starts with zeros. */
	cr_assert_eq(count(t, "::1"), 0);
	vd_tcp_clients_free(t);
}

Test(tcp_clients, total_budget_keeps_the_reserve)
{
	struct vd_tcp_clients *t = vd_tcp_clients_new(3);
	cr_assert_eq(acquire(t, "192.0.2.1", 0), 0);
	cr_assert_eq(acquire(t, "192.0.2.2", 0), 0);
	cr_assert_eq(acquire(t, "192.0.2.3", 0), 0);
	cr_assert_eq(acquire(t, "192.0.2.4", 0), -ENFILE);
	release(t, "192.0.2.2");
	cr_assert_eq(acquire(t, "192.0.2.4", 0), 0);
	vd_tcp_clients_free(t);
}

Test(tcp_clients, no_limit_when_zero)
{
	struct vd_tcp_clients *t = vd_tcp_clients_new(500);
	for (int i = 0; i < 500; i++)
		cr_assert_eq(acquire(t, "203.0.113.7", 0), 0);
	cr_assert_eq(count(t, "203.0.113.7"), 500);
	vd_tcp_clients_free(t);
}

Test(tcp_clients, release_of_unknown_client_is_harmless)
{
	struct vd_tcp_clients *t = vd_tcp_clients_new(10);
	release(t, "198.51.100.1");
	cr_assert_eq(t->total, 0);
	cr_assert_eq(acquire(t, "198.51.100.1", 1), 0);
	release(t, "198.51.100.1");
	release(t, "198.51.100.1");
	cr_assert_eq(t->total, 0);
	vd_tcp_clients_free(t);
}

/* Many clients in and out: deleting from the middle of probe chains must
 * never lose another client's count (backward-shift deletion). */
Test(tcp_clients, churn_keeps_every_count)
{
	enum { N = 2000 };
	static unsigned expect[N];
	memset(expect, 0, sizeof(expect));
	struct vd_tcp_clients *t = vd_tcp_clients_new(N * 3);
	char a[32];
	unsigned seed = 12345, total = 0;
	for (int round = 0; round < 40000; round++) {
		seed = seed * 1103515245u + 12345u;
		unsigned i = (seed >> 8) % N;
		snprintf(a, sizeof(a), "10.%u.%u.1", i >> 8, i & 255);
		if ((seed >> 4) & 1 && expect[i] < 3) {
			cr_assert_eq(acquire(t, a, 3), 0);
			expect[i]++;
			total++;
		} else if (expect[i] > 0) {
			release(t, a);
			expect[i]--;
			total--;
		}
	}
	for (unsigned i = 0; i < N; i++) {
		snprintf(a, sizeof(a), "10.%u.%u.1", i >> 8, i & 255);
		cr_assert_eq(count(t, a), expect[i], "client %u", i);
	}
	cr_assert_eq(t->total, total);
	vd_tcp_clients_free(t);
}

Test(tcp_lru, earliest_idle_is_reclaimed)
{
	struct vd_tcp_lru l = {0};
	struct vd_tcp_lru_node n[4] = {{0}};
	for (int i = 0; i < 4; i++)
		vd_tcp_lru_push(&l, &n[i], 100 + (uint64_t)i);
	cr_assert_eq(l.n, 4);
	/* Accept order: n[0] is the least recent. */
	cr_assert_eq(vd_tcp_lru_pick_idle(&l), &n[0]);
	/* A query on n[0] makes it the most recent; n[1] is next. */
	vd_tcp_lru_touch(&l, &n[0], 200);
	cr_assert_eq(n[0].last_ns, 200);
	cr_assert_eq(l.head, &n[0]);
	cr_assert_eq(vd_tcp_lru_pick_idle(&l), &n[1]);
	/* A connection waiting for a recursion is not idle. */
	n[1].inflight = 1;
	cr_assert_eq(vd_tcp_lru_pick_idle(&l), &n[2]);
	vd_tcp_lru_remove(&l, &n[2]);
	cr_assert_eq(vd_tcp_lru_pick_idle(&l), &n[3]);
	cr_assert_eq(l.n, 3);
}

Test(tcp_lru, all_busy_means_nothing_to_reclaim)
{
	struct vd_tcp_lru l = {0};
	struct vd_tcp_lru_node n[3] = {{0}};
	cr_assert_null(vd_tcp_lru_pick_idle(&l));
	for (int i = 0; i < 3; i++) {
		vd_tcp_lru_push(&l, &n[i], 1);
		n[i].inflight = 2;
	}
	cr_assert_null(vd_tcp_lru_pick_idle(&l));
	n[2].inflight = 0;
	cr_assert_eq(vd_tcp_lru_pick_idle(&l), &n[2]);
}

Test(tcp_lru, list_stays_linked)
{
	struct vd_tcp_lru l = {0};
	struct vd_tcp_lru_node n[5] = {{0}};
	for (int i = 0; i < 5; i++)
		vd_tcp_lru_push(&l, &n[i], (uint64_t)i);
	vd_tcp_lru_touch(&l, &n[2], 10); /* middle */
	vd_tcp_lru_touch(&l, &n[0], 11); /* tail */
	vd_tcp_lru_touch(&l, &n[0], 12); /* already head */
	vd_tcp_lru_remove(&l, &n[4]);    /* was head before the touches */
	/* Expected order, most recent first: 0 2 3 1. */
	struct vd_tcp_lru_node *order[] = {&n[0], &n[2], &n[3], &n[1]};
	struct vd_tcp_lru_node *p = l.head, *prev = NULL;
	for (size_t i = 0; i < 4; i++, prev = p, p = p->next) {
		cr_assert_eq(p, order[i], "position %zu", i);
		cr_assert_eq(p->prev, prev);
	}
	cr_assert_null(p);
	cr_assert_eq(l.tail, &n[1]);
	cr_assert_eq(l.n, 4);
}

Test(fd_budget, covers_every_connection_the_limits_allow)
{
	struct vd_fd_budget b;
	vd_fd_budget_compute(2, 4, 1024, 2048, &b);
	cr_assert_eq(b.tcp, 2048);
	/* Listeners, loops and recursion stay out of the TCP budget. */
	cr_assert_geq(b.reserve, VD_FD_RESERVE_FIXED + 2 * (8 + 2048));
	cr_assert_eq(b.need, b.reserve + b.tcp);
	/* The default soft limit (1024) is far below what one worker's
	 * default TCP limit alone needs: it must be raised at start. */
	cr_assert_gt(b.need, 1024);
}
