#include "dataplane/socket/tcp_limits.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

void vd_tcp_lru_push(struct vd_tcp_lru *l, struct vd_tcp_lru_node *n,
		     uint64_t now)
{
	n->last_ns = now;
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	else
		l->tail = n;
	l->head = n;
	l->n++;
}

void vd_tcp_lru_remove(struct vd_tcp_lru *l, struct vd_tcp_lru_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
	l->n--;
}

void vd_tcp_lru_touch(struct vd_tcp_lru *l, struct vd_tcp_lru_node *n,
		      uint64_t now)
{
	n->last_ns = now;
	if (l->head == n)
		return;
	vd_tcp_lru_remove(l, n);
	vd_tcp_lru_push(l, n, now);
}

struct vd_tcp_lru_node *vd_tcp_lru_pick_idle(const struct vd_tcp_lru *l)
{
	/* From the least recent end: the first without a query in flight
	 * is the earliest idle.  Busy ones are few (each holds a
	 * recursion), so the walk is short. */
	for (struct vd_tcp_lru_node *n = l->tail; n; n = n->prev)
		if (n->inflight == 0)
			return n;
	return NULL;
}

/*
 * The prefix a connection counts against, as one 64-bit key: the family
 * in the top nibble, the prefix's bytes below it.  /56 is 7 bytes, so it
 * fits with the family; 0 never occurs and marks an empty slot.
 */
static int client_key(const struct sockaddr *sa, uint64_t *key)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					   0xff, 0xff};
	const uint8_t *a;
	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		goto v4;
	}
	if (sa->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		/* A dual-stack socket's IPv4 client is that IPv4 client. */
		a += 12;
		goto v4;
	}
	uint64_t k = 6;
	for (unsigned i = 0; i < VD_TCP_CLIENT_PREFIX6 / 8; i++)
		k = k << 8 | a[i];
	*key = k;
	return 0;
v4:
	*key = (uint64_t)4 << 32 | (uint64_t)a[0] << 24 | (uint64_t)a[1] << 16 |
	       (uint64_t)a[2] << 8 | a[3];
	return 0;
}

static size_t slot_of(const struct vd_tcp_clients *t, uint64_t key)
{
	/* Fibonacci hashing: consecutive addresses spread out. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & t->mask;
}

struct vd_tcp_clients *vd_tcp_clients_new(unsigned max_total)
{
	struct vd_tcp_clients *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	/* At most max_total prefixes are present at once; twice that many
	 * slots keep linear probing short, and the table can never fill. */
	size_t n = 64;
	while (n < 2 * (size_t)max_total)
		n <<= 1;
	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	t->max_total = max_total;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void vd_tcp_clients_free(struct vd_tcp_clients *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

/* The slot holding key, or the empty one where it would go. */
static size_t find(const struct vd_tcp_clients *t, uint64_t key)
{
	size_t i = slot_of(t, key);
	while (t->slots[i].key && t->slots[i].key != key)
		i = (i + 1) & t->mask;
	return i;
}

int vd_tcp_clients_acquire(struct vd_tcp_clients *t, const struct sockaddr *sa,
			   unsigned per_client)
{
	uint64_t key;
	int rc = client_key(sa, &key);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	if (t->total >= t->max_total) {
		rc = -ENFILE;
		goto out;
	}
	size_t i = find(t, key);
	if (per_client && t->slots[i].conns >= per_client) {
		rc = -EUSERS;
		goto out;
	}
	/* total < max_total <= slots / 2: there is always an empty slot. */
	t->slots[i].key = key;
	t->slots[i].conns++;
	t->total++;
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void vd_tcp_clients_release(struct vd_tcp_clients *t, const struct sockaddr *sa)
{
	uint64_t key;
	if (client_key(sa, &key) != 0)
		return;
	pthread_mutex_lock(&t->lock);
	size_t i = find(t, key);
	if (!t->slots[i].key || t->slots[i].conns == 0)
		goto out; /* not ours: a caller bug, but never underflow */
	t->total--;
	if (--t->slots[i].conns > 0)
		goto out;
	/* Backward-shift deletion keeps every probe chain unbroken
	 * without tombstones: move up each later entry whose home slot
	 * is not between the hole and itself. */
	size_t hole = i;
	t->slots[hole].key = 0;
	for (size_t j = (hole + 1) & t->mask; t->slots[j].key;
	     j = (j + 1) & t->mask) {
		size_t home = slot_of(t, t->slots[j].key);
		bool stays = hole <= j ? (hole < home && home <= j)
				       : (hole < home || home <= j);
		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		t->slots[j].key = 0;
		t->slots[j].conns = 0;
		hole = j;
	}
out:
	pthread_mutex_unlock(&t->lock);
}

unsigned vd_tcp_clients_count(struct vd_tcp_clients *t,
			      const struct sockaddr *sa)
{
	uint64_t key;
	if (client_key(sa, &key) != 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	unsigned n = t->slots[find(t, key)].conns;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void vd_fd_budget_compute(unsigned workers, unsigned n_listen,
			  unsigned tcp_max_connections,
			  unsigned max_recursions, struct vd_fd_budget *b)
{
	/* Each worker: a UDP and a TCP socket per listen address, its
	 * event loop's own descriptors (epoll, a notification pipe), and
	 * one outgoing socket per recursion in flight. */
	unsigned long per_worker = 2ul * n_listen + 4 + max_recursions +
				   VD_FD_RESERVE_PER_WORKER;
	b->reserve = VD_FD_RESERVE_FIXED + (unsigned long)workers * per_worker;
	b->tcp = (unsigned long)workers * tcp_max_connections;
	b->need = b->reserve + b->tcp;
}
