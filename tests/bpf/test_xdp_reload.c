/*
 * A reload switches the XDP program's ACL at once (review 15): the real
 * loader (vd_xdp_apply) runs in a private network namespace, attached to
 * its loopback in generic mode, and goes from ACL A to ACL B and back.
 * This file interposes libbpf's bpf_map_update_elem/bpf_map_delete_elem
 * (it defines them; the loader's calls bind to these), performs each map
 * write for real, and after every single write asks the attached program,
 * through BPF_PROG_TEST_RUN, about two clients:
 *
 *   c1 192.0.2.10     A: allowed   B: refused
 *   c2 198.51.100.7   A: refused   B: allowed
 *
 * Every moment must be all A or all B; a moment where both (or neither)
 * are allowed is a mixed table, the defect.  Both ACLs have more rules
 * than the program's small table, so the LPM trie is in use.
 *
 * Then the initial fill of a started program's mirror from a large cache
 * (review 8): it must not stall cache writers.  A thread waits until the
 * fill has begun, then stores one answer and flushes 200 names the fill
 * may not have reached yet.  The store must return while the fill is still
 * running (before, the fill held the mirror's lock for the whole walk and
 * the store's observer call waited for all of it).  After the fill most
 * names are in the mirror and no flushed one is.  (The walk never sees an
 * entry flushed before it gets there; the loader's per-key mark covers the
 * one entry it may hold at the moment of a flush, a window this test
 * cannot aim at.)
 *
 * Needs root (unshare, CAP_BPF, CAP_NET_ADMIN); exits 77 (skip) without.
 * Built with -DOLD_API it runs against a loader without vd_xdp_fill (the
 * fill inside vd_xdp_apply), to show the stall there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <urcu.h>

#include "acl/acl.h"
#include "cache/cache.h"
#include "core/clock.h"
#include "dataplane/xdp/xdp.h"
#include "dns/answer.h"

/* ---- the probe ------------------------------------------------------------ */

static int prog_fd = -1, ctr_fd = -1;
static bool observing;
static int steps, mixed;
static int state_a[2] = {1, 0}, state_b[2] = {0, 1};

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A query for probe.test A from src to 203.0.113.1:53, to lo's MAC (all
 * zero), checksums right. */
static size_t probe_frame(uint8_t *f, const char *src)
{
	static const uint8_t dns[] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0,
				      0, 0, 5, 'p', 'r', 'o', 'b', 'e', 4, 't',
				      'e', 's', 't', 0, 0, 1, 0, 1};
	size_t dl = sizeof(dns);
	memset(f, 0, 14);
	f[6] = 2; /* source MAC 02:00:00:00:00:01 */
	f[11] = 1;
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + 8 + dl) >> 8);
	ip[3] = (uint8_t)(20 + 8 + dl);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, "203.0.113.1", ip + 16);
	uint16_t c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	uint8_t *u = ip + 20;
	u[0] = 40000 >> 8;
	u[1] = 40000 & 0xff;
	u[2] = 0;
	u[3] = 53;
	u[4] = (uint8_t)((8 + dl) >> 8);
	u[5] = (uint8_t)(8 + dl);
	u[6] = u[7] = 0;
	memcpy(u + 8, dns, dl);
	uint32_t s = sum16(ip + 12, 8, 0) + 17 + (uint32_t)(8 + dl);
	c = (uint16_t)~fold(sum16(u, 8 + dl, s));
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	return 14 + 20 + 8 + dl;
}

static uint64_t acl_count(void)
{
	static uint64_t vals[1024];
	uint32_t k = VD_XDP_CTR_ACL;
	uint64_t n = 0;
	int ncpu = libbpf_num_possible_cpus();
	/* a plain lookup: not interposed */
	if (bpf_map_lookup_elem(ctr_fd, &k, vals) != 0)
		return 0;
	for (int c = 0; c < ncpu && c < 1024; c++)
		n += vals[c];
	return n;
}

/* 1 when the program lets src past the ACL (a miss), 0 when it refuses. */
static int allowed(const char *src)
{
	uint8_t in[128], out[256];
	size_t len = probe_frame(in, src);
	uint64_t before = acl_count();
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	if (bpf_prog_test_run_opts(prog_fd, &o) != 0) {
		perror("test run");
		exit(1);
	}
	return acl_count() == before;
}

static void observe(void)
{
	int st[2] = {allowed("192.0.2.10"), allowed("198.51.100.7")};
	steps++;
	if (memcmp(st, state_a, sizeof(st)) != 0 &&
	    memcmp(st, state_b, sizeof(st)) != 0) {
		mixed++;
		printf("  mixed after map write %d: c1 %s, c2 %s\n", steps,
		       st[0] ? "allowed" : "refused", st[1] ? "allowed" : "refused");
	}
}

/* ---- interposed libbpf calls ------------------------------------------- */

int bpf_map_update_elem(int fd, const void *key, const void *value,
			__u64 flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (__u32)fd;
	a.key = (__u64)(unsigned long)key;
	a.value = (__u64)(unsigned long)value;
	a.flags = flags;
	if (syscall(__NR_bpf, BPF_MAP_UPDATE_ELEM, &a, sizeof(a)) != 0)
		return -errno;
	if (observing)
		observe();
	return 0;
}

int bpf_map_delete_elem(int fd, const void *key)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (__u32)fd;
	a.key = (__u64)(unsigned long)key;
	if (syscall(__NR_bpf, BPF_MAP_DELETE_ELEM, &a, sizeof(a)) != 0)
		return -errno;
	if (observing)
		observe();
	return 0;
}

/* ---- the fill ------------------------------------------------------------- */

#define FILL_N 100000
#define FLUSH_N 200

/* A stored answer for nameN.fill.test A: one A RR, TTL 300. */
struct answer {
	uint8_t key[64];
	size_t key_len;
	uint8_t wire[128];
	uint16_t ttl_off;
	struct vd_dns_answer_meta meta;
	uint8_t name[48];
	size_t name_len;
};

static void make_answer(struct answer *a, unsigned n)
{
	char label[16];
	int ll = snprintf(label, sizeof(label), "name%u", n);
	size_t p = 0;
	a->name[p++] = (uint8_t)ll;
	memcpy(a->name + p, label, (size_t)ll);
	p += (size_t)ll;
	memcpy(a->name + p, "\4fill\4test", 11);
	p += 11;
	a->name_len = p;
	a->key[0] = 0;
	memcpy(a->key + 1, "\0\1\0\1", 4);
	memcpy(a->key + 5, a->name, p);
	a->key_len = 5 + p;
	uint8_t *w = a->wire;
	static const uint8_t hdr[12] = {0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
	memcpy(w, hdr, 12);
	memcpy(w + 12, a->name, p);
	size_t q = 12 + p;
	memcpy(w + q, "\0\1\0\1", 4);
	q += 4;
	static const uint8_t rr[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c,
				       0, 4, 203, 0, 113, 9};
	memcpy(w + q, rr, 16);
	a->ttl_off = (uint16_t)(q + 6);
	memset(&a->meta, 0, sizeof(a->meta));
	a->meta.wire_len = (uint16_t)(q + 16);
	a->meta.n_ttls = 1;
	a->meta.qname_len = (uint8_t)p;
	a->meta.kind = VD_DNS_ANSWER_POSITIVE;
	a->meta.ttl = 300;
}

static int insert(struct vd_cache *c, unsigned n)
{
	struct answer a;
	make_answer(&a, n);
	return vd_cache_insert(c, a.key, a.key_len, vd_cache_hash(a.key, a.key_len),
			       a.wire, &a.meta, &a.ttl_off, vd_now_ns());
}

struct filler {
	struct vd_cache *cache;
	struct vd_xdp *x;
	atomic_int fill_done;
	atomic_int stored_during_fill; /* 1 yes, 0 no, -1 never started */
};

/* How many entries the fill has written so far (at most max counted). */
static uint64_t fill_progress(struct filler *f, uint64_t max)
{
#ifndef OLD_API
	struct vd_xdp_mirror_stats ms;
	(void)max;
	vd_xdp_get_mirror_stats(f->x, &ms);
	return ms.mirrored;
#else
	/* the old mirror: a hash map, found by name */
	(void)f;
	static int fd = -1;
	__u32 id = 0;
	while (fd < 0 && bpf_map_get_next_id(id, &id) == 0) {
		int m = bpf_map_get_fd_by_id(id);
		struct bpf_map_info mi;
		__u32 ml = sizeof(mi);
		memset(&mi, 0, sizeof(mi));
		if (m >= 0 && bpf_obj_get_info_by_fd(m, &mi, &ml) == 0 &&
		    strcmp(mi.name, "vd_xdp_mirror") == 0)
			fd = m;
		else if (m >= 0)
			close(m);
	}
	uint64_t k, n = 0;
	void *prev = NULL;
	while (fd >= 0 && n < max && bpf_map_get_next_key(fd, prev, &k) == 0) {
		static uint64_t cur;
		cur = k;
		prev = &cur;
		n++;
	}
	return n;
#endif
}

static void *fill_writer(void *arg)
{
	struct filler *f = arg;
	rcu_register_thread();
	/* bounded: the fill of FILL_N entries takes well under this */
	for (long spins = 0; fill_progress(f, 1) == 0; spins++) {
		if (atomic_load(&f->fill_done) || spins > 50000000) {
			rcu_unregister_thread();
			return NULL;
		}
		sched_yield();
	}
	int ok = insert(f->cache, FILL_N) == 0;
	/* the store returned: had the fill written everything yet? */
	atomic_store(&f->stored_during_fill,
		     ok && fill_progress(f, FILL_N) < FILL_N);
	/* flush names from the end of the range, while the walk runs */
	for (unsigned i = 0; i < FLUSH_N; i++) {
		struct answer a;
		make_answer(&a, FILL_N - 1 - i);
		(void)vd_cache_flush_name(f->cache, a.name, a.name_len, -1);
	}
	rcu_unregister_thread();
	return NULL;
}

/* 1 if the program answers nameN.fill.test A from the mirror. */
static int served(unsigned n)
{
	struct answer a;
	make_answer(&a, n);
	uint8_t in[256], out[512];
	size_t len = probe_frame(in, "192.0.2.10");
	/* swap in this name's question (same frame layout, longer name) */
	uint8_t dns[128];
	static const uint8_t hdr[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(dns, hdr, 12);
	memcpy(dns + 12, a.name, a.name_len);
	memcpy(dns + 12 + a.name_len, "\0\1\0\1", 4);
	size_t dl = 12 + a.name_len + 4;
	uint8_t *ip = in + 14, *u = in + 34;
	ip[2] = (uint8_t)((20 + 8 + dl) >> 8);
	ip[3] = (uint8_t)(20 + 8 + dl);
	ip[10] = ip[11] = 0;
	uint16_t c = (uint16_t)~fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	u[4] = (uint8_t)((8 + dl) >> 8);
	u[5] = (uint8_t)(8 + dl);
	u[6] = u[7] = 0;
	memcpy(u + 8, dns, dl);
	uint32_t sm = sum16(ip + 12, 8, 0) + 17 + (uint32_t)(8 + dl);
	c = (uint16_t)~fold(sum16(u, 8 + dl, sm));
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	len = 34 + 8 + dl;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (uint32_t)len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	if (bpf_prog_test_run_opts(prog_fd, &o) != 0)
		return -1;
	return o.retval == XDP_TX;
}

/* ---- setup --------------------------------------------------------------- */

/* ACL with default refuse, allow NET/24, and 10 unrelated rules (more
 * than VD_XDP_FAST_ACL: the trie is used). */
static void make_acl(struct vd_acl *acl, const char *net)
{
	char spec[64], err[128];
	vd_acl_init(acl, VD_ACL_REFUSE);
	snprintf(spec, sizeof(spec), "%s/24 allow", net);
	if (vd_acl_add_str(acl, spec, err, sizeof(err)) != 0)
		abort();
	for (int i = 0; i < 10; i++) {
		snprintf(spec, sizeof(spec), "10.%d.0.0/16 drop", i);
		if (vd_acl_add_str(acl, spec, err, sizeof(err)) != 0)
			abort();
	}
}

static int find_program(void)
{
	int ifindex = (int)if_nametoindex("lo");
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (bpf_xdp_query(ifindex, 0, &q) != 0)
		return -1;
	__u32 id = q.skb_prog_id ? q.skb_prog_id : q.prog_id;
	prog_fd = bpf_prog_get_fd_by_id(id);
	if (prog_fd < 0)
		return -1;
	__u32 ids[64];
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	__u32 len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
		return -1;
	for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);
		struct bpf_map_info mi;
		__u32 ml = sizeof(mi);
		memset(&mi, 0, sizeof(mi));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &mi, &ml) == 0 &&
		    strcmp(mi.name, "vd_xdp_counters") == 0) {
			ctr_fd = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
	}
	return -1;
}

int main(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("needs root (unshare a network namespace): skipped\n");
		return 77;
	}
	/* lo up in the private namespace */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
		perror("lo up");
		return 1;
	}
	close(s);
	rcu_register_thread();
	struct vd_cache_opts co = {.max_bytes = 1 << 20};
	struct vd_cache *cache = vd_cache_create(&co);
	static struct vd_acl a, b, allow_all;
	vd_acl_init(&allow_all, VD_ACL_ALLOW);
	make_acl(&a, "192.0.2.0");
	make_acl(&b, "198.51.100.0");

	static struct vd_xdp_opts o;
	memset(&o, 0, sizeof(o));
	snprintf(o.ifaces[0], sizeof(o.ifaces[0]), "lo");
	o.n_ifaces = 1;
	o.mode = VD_XDP_MODE_GENERIC;
	struct sockaddr_in *v = (struct sockaddr_in *)&o.vips[0];
	v->sin_family = AF_INET;
	v->sin_port = htons(53);
	inet_pton(AF_INET, "203.0.113.1", &v->sin_addr);
	o.n_vips = 1;
	o.acl = &a;
	o.edns_size = 1232;
	o.max_answer = 1232;
	o.map_entries = 1024;

	struct vd_xdp *x = NULL;
	int passed = 0, failed = 0;
	if (!cache || vd_xdp_apply(&x, &o, cache) != 0 || find_program() != 0) {
		printf("cannot start the fast path on lo\n0 passed, 1 failed\n");
		return 1;
	}
	int st[2] = {allowed("192.0.2.10"), allowed("198.51.100.7")};
	bool ok = memcmp(st, state_a, sizeof(st)) == 0;
	printf("%s ACL A in force after start\n", ok ? "ok  " : "FAIL");
	ok ? passed++ : failed++;

	const struct vd_acl *seq[] = {&b, &a, &b};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		const int *want = seq[i] == &a ? state_a : state_b;
		o.acl = seq[i];
		steps = mixed = 0;
		observing = true;
		int rc = vd_xdp_apply(&x, &o, cache);
		observing = false;
		st[0] = allowed("192.0.2.10");
		st[1] = allowed("198.51.100.7");
		/* steps > 0: the interposition saw the loader's writes (else
		 * this test would prove nothing) */
		ok = rc == 0 && x && steps > 0 && mixed == 0 &&
		     memcmp(st, want, sizeof(st)) == 0;
		printf("%s reload to ACL %s: %d map writes, each moment all old "
		       "or all new (%d mixed)\n", ok ? "ok  " : "FAIL",
		       seq[i] == &a ? "A" : "B", steps, mixed);
		ok ? passed++ : failed++;
	}
	vd_xdp_stop(x);
	x = NULL;
	close(prog_fd);
	close(ctr_fd);
	prog_fd = ctr_fd = -1;

	/* The fill. */
	vd_cache_destroy(cache);
	co.max_bytes = (size_t)1 << 30;
	cache = vd_cache_create(&co);
	bool filled = cache != NULL;
	for (unsigned i = 0; filled && i < FILL_N; i++)
		filled = insert(cache, i) == 0;
	struct vd_cache_stats cs;
	if (cache)
		vd_cache_get_stats(cache, &cs);
	filled = filled && cs.entries == FILL_N;
	o.acl = &allow_all;
	o.map_entries = 131072; /* 1.3 slots a name: a few lose their way */
	static struct filler f;
	f.cache = cache;
	atomic_store(&f.stored_during_fill, -1);
	pthread_t th;
#ifdef OLD_API
	ok = filled && pthread_create(&th, NULL, fill_writer, &f) == 0;
	ok = ok && vd_xdp_apply(&x, &o, cache) == 0;
	f.x = x;
#else
	ok = filled && vd_xdp_apply(&x, &o, cache) == 0;
	f.x = x;
	ok = ok && pthread_create(&th, NULL, fill_writer, &f) == 0;
	ok = ok && vd_xdp_fill(x) == 0;
#endif
	atomic_store(&f.fill_done, 1);

	if (filled)
		pthread_join(th, NULL);
	ok = ok && find_program() == 0;
	int during = atomic_load(&f.stored_during_fill);

	printf("%s a cache store during the fill of %d entries returned while "
	       "the fill ran (%s)\n", ok && during == 1 ? "ok  " : "FAIL", FILL_N,
	       during == 1 ? "yes" : during == 0 ? "no: it waited for the fill"
						 : "fill never seen");
	ok && during == 1 ? passed++ : failed++;
	/* Sets of 4 ways at 0.76 names a slot: a name can lose its way to a
	 * later one (admission rule 3; about 1 in 8 do), so filled names are
	 * sampled across the range and most must be there. */
	int back = 0, hit = 0;
	for (unsigned i = 0; ok && i < FLUSH_N; i++) {
		back += served(FILL_N - 1 - i) == 1;
		hit += served(i * ((FILL_N - FLUSH_N) / FLUSH_N)) == 1;
	}
	bool ok2 = ok && back == 0 && hit >= FLUSH_N * 3 / 4;
	printf("%s after the fill: %d of %d filled names sampled are served, "
	       "none of %d names flushed during it (%d)\n",
	       ok2 ? "ok  " : "FAIL", hit, FLUSH_N, FLUSH_N, back);
	ok2 ? passed++ : failed++;

	vd_xdp_stop(x);
	vd_cache_destroy(cache);
	rcu_unregister_thread();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
