/*
 * src/cache/snapshot.c: a cache written out and read back keeps its
 * answers and their remaining lifetimes; a file that is damaged, foreign
 * or malformed anywhere is refused whole and leaves the cache untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "cache/snapshot.h"
#include "cache_test_util.h"
#include "core/clock.h"
#include "dns/dns.h"
#include "dns/wire.h"

#define NOW (1000 * T_NS)            /* monotonic "now" of the writer */
#define REAL (1780000000ULL * T_NS)  /* its wall clock */

static const uint8_t DIGEST[VD_SNAPSHOT_DIGEST_LEN] = {1, 2, 3};

static void setup(void)
{
	rcu_register_thread();
}

static void teardown(void)
{
	rcu_unregister_thread();
}

TestSuite(snapshot, .init = setup, .fini = teardown);

static struct vd_cache *mk(size_t max_bytes)
{
	struct vd_cache_opts o = {.max_bytes = max_bytes};
	struct vd_cache *c = vd_cache_create(&o);
	cr_assert_not_null(c);
	return c;
}

/* A recursion result for (name, qtype): rcode NOERROR with one A record
 * of ttl, NXDOMAIN with an SOA (ttl, minimum ttl), or SERVFAIL. */
static size_t response(uint8_t *p, const char *name, uint16_t qtype,
		       int rcode, uint32_t ttl, bool ad)
{
	size_t n = 0;
	uint16_t flags = VD_DNS_F_QR | VD_DNS_F_RD | VD_DNS_F_RA |
			 (uint16_t)rcode | (ad ? VD_DNS_F_AD : 0);
	vd_put_u16(p, 0x1234);
	vd_put_u16(p + 2, flags);
	vd_put_u16(p + 4, 1);
	vd_put_u16(p + 6, rcode == 0 ? 1 : 0);
	vd_put_u16(p + 8, rcode == 3 ? 1 : 0);
	vd_put_u16(p + 10, 0);
	n = 12;
	n += t_name(p + n, name);
	vd_put_u16(p + n, qtype);
	vd_put_u16(p + n + 2, 1);
	n += 4;
	if (rcode == 0) {
		const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4,
				      203, 0, 113, 80};
		memcpy(p + n, rr, sizeof(rr));
		vd_put_u32(p + n + 6, ttl);
		n += sizeof(rr);
	} else if (rcode == 3) {
		/* owner = the question's name (simplest valid owner) */
		const uint8_t soa_head[] = {0xc0, 12, 0, 6, 0, 1};
		memcpy(p + n, soa_head, sizeof(soa_head));
		n += sizeof(soa_head);
		vd_put_u32(p + n, ttl);
		n += 4;
		uint8_t rdata[64];
		size_t r = 0;
		rdata[r++] = 0xc0;
		rdata[r++] = 12; /* mname */
		rdata[r++] = 0xc0;
		rdata[r++] = 12; /* rname */
		for (int i = 0; i < 4; i++, r += 4)
			vd_put_u32(rdata + r, 1);
		vd_put_u32(rdata + r, ttl); /* minimum */
		r += 4;
		vd_put_u16(p + n, (uint16_t)r);
		memcpy(p + n + 2, rdata, r);
		n += 2 + r;
	}
	return n;
}

/* Stores the normalised answer as a worker would, at now_ns. */
static struct t_key store(struct vd_cache *c, const char *name, uint16_t qtype,
			  int rcode, uint32_t ttl, bool secure, uint64_t now_ns)
{
	uint8_t pkt[512], out[VD_DNS_MSG_MAX];
	uint16_t offs[64];
	size_t len = response(pkt, name, qtype, rcode, ttl, false);
	struct vd_dns_query q = {.qtype = qtype, .qclass = 1};
	q.qname_len = (uint8_t)t_name(q.qname, name);
	q.question_len = (uint16_t)(q.qname_len + 4);
	struct vd_dns_norm_opts no = {.secure = secure, .max_ttl = 86400,
				      .max_neg_ttl = 3600, .servfail_ttl = 5};
	struct vd_dns_answer_meta meta;
	cr_assert_eq(vd_dns_answer_normalise(pkt, len, &q, &no, out,
					     sizeof(out), offs, 64, &meta),
		     0);
	struct t_key k = t_mkkey(0, qtype, name);
	cr_assert_eq(vd_cache_insert(c, k.b, k.len, k.hash, out, &meta, offs,
				     now_ns),
		     0);
	return k;
}

static struct vd_snapshot_load_opts lopts(uint64_t now_ns, uint64_t real_ns)
{
	struct vd_snapshot_load_opts o = {.max_ttl = 86400,
					  .max_neg_ttl = 3600,
					  .max_bytes = 1 << 20,
					  .now_ns = now_ns,
					  .real_ns = real_ns};
	memcpy(o.digest, DIGEST, sizeof(DIGEST));
	return o;
}

static struct vd_snapshot_build_opts bopts(uint64_t now_ns, size_t max)
{
	struct vd_snapshot_build_opts o = {.now_ns = now_ns,
					   .real_ns = REAL,
					   .max_entries = max};
	memcpy(o.digest, DIGEST, sizeof(DIGEST));
	return o;
}

static uint8_t *build(struct vd_cache *c, uint64_t now_ns, size_t max,
		      size_t *len, size_t *n)
{
	uint8_t *buf = NULL;
	struct vd_snapshot_build_opts o = bopts(now_ns, max);
	cr_assert_eq(vd_snapshot_build(c, &o, &buf, len, n), 0);
	return buf;
}

static uint32_t first_ttl(const struct vd_cache_entry *e)
{
	return vd_get_u32(e->wire + e->ttl_offs[0]);
}

static const struct vd_cache_entry *find(struct vd_cache *c,
					 const struct t_key *k)
{
	return vd_cache_lookup(c, k->b, k->len, k->hash);
}

static size_t entries(struct vd_cache *c)
{
	struct vd_cache_stats st;
	vd_cache_get_stats(c, &st);
	return (size_t)st.entries;
}

Test(snapshot, round_trip_counts_ttls_down)
{
	struct vd_cache *a = mk(1 << 20);
	struct t_key www = store(a, "www.lab", 1, 0, 300, true, NOW);
	struct t_key nx = store(a, "nx.lab", 1, 3, 600, false, NOW);
	/* lifetime over by the time of writing: not written */
	(void)store(a, "short.lab", 1, 0, 60, false, NOW);
	(void)store(a, "fail.lab", 1, 2, 0, false, NOW);
	size_t len, n;
	/* written 100 s after the answers were stored */
	uint8_t *buf = build(a, NOW + 100 * T_NS, 0, &len, &n);
	cr_assert_eq(n, 2, "SERVFAIL is not written");

	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts o =
		lopts(7 * T_NS, REAL + 50 * T_NS + T_NS / 2);
	struct vd_snapshot_counts cnt;
	char err[256] = "";
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, &cnt, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cnt.entries, 2);
	cr_assert_eq(cnt.loaded, 2);
	rcu_read_lock();
	const struct vd_cache_entry *e = find(b, &www);
	cr_assert_not_null(e);
	/* 300 - 100 at writing, - 51 (50.5 s rounded up) at loading */
	cr_assert_eq(first_ttl(e), 149);
	cr_assert_eq(e->meta.ttl, 149);
	cr_assert_eq(e->expire_ns, 7 * T_NS + 149 * T_NS);
	cr_assert_eq(e->meta.secure, 1);
	cr_assert(vd_get_u16(e->wire + 2) & VD_DNS_F_AD, "AD kept");
	e = find(b, &nx);
	cr_assert_not_null(e);
	cr_assert_eq(e->meta.kind, VD_DNS_ANSWER_NXDOMAIN);
	cr_assert_eq(e->meta.ttl, 449);
	cr_assert_eq(first_ttl(e), 449, "the SOA counts down with it");
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(a);
	vd_cache_destroy(b);
}

Test(snapshot, expired_since_writing_is_skipped)
{
	struct vd_cache *a = mk(1 << 20);
	(void)store(a, "a.lab", 1, 0, 300, false, NOW);
	struct t_key b_key = store(a, "b.lab", 1, 0, 3000, false, NOW);
	size_t len, n;
	uint8_t *buf = build(a, NOW, 0, &len, &n);
	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts o = lopts(NOW, REAL + 300 * T_NS);
	struct vd_snapshot_counts cnt;
	char err[256];
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, &cnt, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cnt.loaded, 1);
	cr_assert_eq(cnt.expired, 1, "300 s of 300: nothing left");
	rcu_read_lock();
	cr_assert_not_null(find(b, &b_key));
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(a);
	vd_cache_destroy(b);
}

/* The ceilings in force now apply; cache-min-ttl is not applied again. */
Test(snapshot, lowered_max_ttl_applies)
{
	struct vd_cache *a = mk(1 << 20);
	struct t_key k = store(a, "a.lab", 1, 0, 3000, false, NOW);
	size_t len, n;
	uint8_t *buf = build(a, NOW, 0, &len, &n);
	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts o = lopts(NOW, REAL);
	o.max_ttl = 600;
	char err[256];
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, NULL, err, sizeof(err)),
		     0, "%s", err);
	rcu_read_lock();
	cr_assert_eq(find(b, &k)->meta.ttl, 600);
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(a);
	vd_cache_destroy(b);
}

static uint8_t *two_entry_snapshot(size_t *len)
{
	struct vd_cache *a = mk(1 << 20);
	(void)store(a, "a.lab", 1, 0, 300, false, NOW);
	(void)store(a, "b.lab", 28, 3, 300, false, NOW);
	size_t n;
	uint8_t *buf = build(a, NOW, 0, len, &n);
	cr_assert_eq(n, 2);
	vd_cache_destroy(a);
	return buf;
}

static int apply_fresh(const uint8_t *buf, size_t len, char *err, size_t cap)
{
	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts o = lopts(NOW, REAL);
	int rc = vd_snapshot_apply(b, buf, len, &o, NULL, err, cap);
	if (rc != 0)
		cr_assert_eq(entries(b), 0, "refused whole: nothing inserted");
	vd_cache_destroy(b);
	return rc;
}

/* Every single-byte change and every truncation is refused. */
Test(snapshot, any_damage_refuses_all)
{
	size_t len;
	uint8_t *buf = two_entry_snapshot(&len);
	char err[256];
	cr_assert_eq(apply_fresh(buf, len, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x40;
		cr_assert_neq(apply_fresh(buf, len, err, sizeof(err)), 0,
			      "byte %zu flipped was accepted", i);
		buf[i] ^= 0x40;
	}
	for (size_t l = 0; l < len; l++)
		cr_assert_neq(apply_fresh(buf, l, err, sizeof(err)), 0,
			      "truncated to %zu accepted", l);
	free(buf);
}

static void reseal(uint8_t *buf, size_t len)
{
	unsigned int n;
	cr_assert_eq(EVP_Digest(buf, len - 32, buf + len - 32, &n, EVP_sha256(),
				NULL),
		     1);
}

/* A file whose checksum is right but whose content is not ours. */
Test(snapshot, foreign_and_malformed_refused)
{
	size_t len;
	uint8_t *buf = two_entry_snapshot(&len);
	char err[256];
	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts o = lopts(NOW, REAL);
	o.digest[0] ^= 1;
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, NULL, err, sizeof(err)),
		     -EPROTO);
	cr_assert(strstr(err, "other answer settings"), "%s", err);
	o = lopts(NOW, REAL - 3600 * T_NS);
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, NULL, err, sizeof(err)),
		     -EBADMSG);
	cr_assert(strstr(err, "future"), "%s", err);
	cr_assert_eq(entries(b), 0);
	vd_cache_destroy(b);

	uint8_t *m = malloc(len);
	/* version */
	memcpy(m, buf, len);
	m[11] = 2;
	reseal(m, len);
	cr_assert_eq(apply_fresh(m, len, err, sizeof(err)), -EPROTO);
	cr_assert(strstr(err, "version 2"), "%s", err);
	/* the second entry's question no longer matches its key: the first
	 * (good) one must not be inserted either */
	memcpy(m, buf, len);
	size_t first = 56 + 10 + vd_get_u16(m + 56) + vd_get_u16(m + 58);
	size_t klen = vd_get_u16(m + first);
	m[first + 10 + klen + 13] ^= 0x01; /* a letter of the wire's qname */
	reseal(m, len);
	cr_assert_eq(apply_fresh(m, len, err, sizeof(err)), -EBADMSG);
	cr_assert(strstr(err, "entry 1"), "%s", err);
	/* a key with upper case (keys are lower-cased) */
	memcpy(m, buf, len);
	m[56 + 10 + VD_DNS_KEY_HDR + 1] = 'A';
	reseal(m, len);
	cr_assert_eq(apply_fresh(m, len, err, sizeof(err)), -EBADMSG);
	/* a length running past the end */
	memcpy(m, buf, len);
	vd_put_u16(m + 58, 0xffff);
	reseal(m, len);
	cr_assert_eq(apply_fresh(m, len, err, sizeof(err)), -EBADMSG);
	/* the trailer's count */
	memcpy(m, buf, len);
	m[len - 33] ^= 1;
	reseal(m, len);
	cr_assert_eq(apply_fresh(m, len, err, sizeof(err)), -EBADMSG);
	cr_assert(strstr(err, "count"), "%s", err);
	free(m);
	free(buf);
}

static void hit(struct vd_cache *c, const struct t_key *k, int times)
{
	rcu_read_lock();
	for (int i = 0; i < times; i++)
		cr_assert_not_null(find(c, k));
	rcu_read_unlock();
}

static uint64_t last_insert_hash;

static void remember(void *arg, enum vd_cache_event ev,
		     const struct vd_cache_entry *e)
{
	(void)arg;
	if (ev == VD_CACHE_EV_INSERT)
		last_insert_hash = e->hash;
}

/* Hottest first, so a smaller cache (or a peer asking for N) gets the
 * entries that matter, and the budget stops the load instead of evicting. */
Test(snapshot, hottest_first_and_budget)
{
	struct vd_cache *a = mk(1 << 20);
	struct t_key k[8];
	char name[32];
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "n%d.lab", i);
		k[i] = store(a, name, 1, 0, 300, false, NOW);
		hit(a, &k[i], i * 3);
	}
	size_t len, n;
	uint8_t *buf = build(a, NOW, 2, &len, &n);
	cr_assert_eq(n, 2);
	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts o = lopts(NOW, REAL);
	char err[256];
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, NULL, err, sizeof(err)),
		     0, "%s", err);
	rcu_read_lock();
	cr_assert_not_null(find(b, &k[7]));
	cr_assert_not_null(find(b, &k[6]));
	cr_assert_null(find(b, &k[5]));
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(b);

	buf = build(a, NOW, 0, &len, &n);
	cr_assert_eq(n, 8);
	struct vd_cache_stats st;
	vd_cache_get_stats(a, &st);
	/* inserted coldest first: the XDP mirror keeps the last ones */
	b = mk(1 << 20);
	vd_cache_set_observer(b, remember, NULL);
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, NULL, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(last_insert_hash, k[7].hash, "the hottest comes last");
	vd_cache_destroy(b);

	b = mk(1 << 20);
	o.max_bytes = (size_t)st.bytes / 2; /* room for about four */
	struct vd_snapshot_counts cnt;
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, &cnt, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_geq(cnt.loaded, 3);
	cr_assert_leq(cnt.loaded, 4);
	cr_assert_eq(cnt.loaded + cnt.skipped, 8);
	cr_assert_eq(entries(b), cnt.loaded, "nothing evicted");
	rcu_read_lock();
	cr_assert_not_null(find(b, &k[7]), "the hottest is in");
	cr_assert_null(find(b, &k[0]), "the coldest is not");
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(a);
	vd_cache_destroy(b);
}

/* Loading into a running cache never replaces a fresh answer by an older
 * one from the file. */
Test(snapshot, fresh_entries_kept)
{
	struct vd_cache *a = mk(1 << 20);
	(void)store(a, "a.lab", 1, 0, 300, false, NOW);
	size_t len, n;
	uint8_t *buf = build(a, NOW, 0, &len, &n);
	struct vd_cache *b = mk(1 << 20);
	struct t_key k = store(b, "a.lab", 1, 0, 1000, false, NOW);
	struct vd_snapshot_load_opts o = lopts(NOW, REAL);
	struct vd_snapshot_counts cnt;
	char err[256];
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &o, &cnt, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cnt.present, 1);
	cr_assert_eq(cnt.loaded, 0);
	rcu_read_lock();
	cr_assert_eq(find(b, &k)->meta.ttl, 1000);
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(a);
	vd_cache_destroy(b);
}

Test(snapshot, file_save_and_load)
{
	char dir[] = "/tmp/vd-snap-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/cache.snapshot", dir);
	struct vd_cache *a = mk(1 << 20);
	struct t_key k = store(a, "a.lab", 1, 0, 300, false, NOW);
	size_t n;
	char err[256] = "";
	struct vd_snapshot_build_opts bo = bopts(NOW, 0);
	cr_assert_eq(vd_snapshot_save(a, path, &bo, &n, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(n, 1);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_neq(access(tmp, F_OK), 0, "no temporary file left");
	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts o = lopts(NOW, REAL);
	struct vd_snapshot_counts cnt;
	cr_assert_eq(vd_snapshot_load(b, path, 1 << 20, &o, &cnt, err,
				      sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(cnt.loaded, 1);
	rcu_read_lock();
	cr_assert_not_null(find(b, &k));
	rcu_read_unlock();
	cr_assert_eq(vd_snapshot_load(b, path, 16, &o, &cnt, err, sizeof(err)),
		     -EFBIG);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(vd_snapshot_load(b, path, 1 << 20, &o, &cnt, err,
				      sizeof(err)),
		     -ENOENT);
	cr_assert_eq(rmdir(dir), 0);
	vd_cache_destroy(a);
	vd_cache_destroy(b);
}

/* Hits the cache never saw (XDP's) count for the order too. */
static uint64_t xdp_like(void *arg, const uint8_t *key, size_t key_len)
{
	const struct t_key *k = arg;
	return key_len == k->len && memcmp(key, k->b, key_len) == 0 ? 100 : 0;
}

Test(snapshot, extra_hits_order)
{
	struct vd_cache *a = mk(1 << 20);
	struct t_key k0 = store(a, "cold.lab", 1, 0, 300, false, NOW);
	struct t_key k1 = store(a, "user.lab", 1, 0, 300, false, NOW);
	hit(a, &k1, 5);
	struct vd_snapshot_build_opts o = bopts(NOW, 1);
	uint8_t *buf;
	size_t len, n;
	cr_assert_eq(vd_snapshot_build(a, &o, &buf, &len, &n), 0);
	struct vd_cache *b = mk(1 << 20);
	struct vd_snapshot_load_opts lo = lopts(NOW, REAL);
	char err[256];
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &lo, NULL, err, sizeof(err)),
		     0, "%s", err);
	rcu_read_lock();
	cr_assert_not_null(find(b, &k1), "without XDP: the user-space hits");
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(b);

	o.extra_hits = xdp_like;
	o.extra_arg = &k0;
	cr_assert_eq(vd_snapshot_build(a, &o, &buf, &len, &n), 0);
	b = mk(1 << 20);
	cr_assert_eq(vd_snapshot_apply(b, buf, len, &lo, NULL, err, sizeof(err)),
		     0, "%s", err);
	rcu_read_lock();
	cr_assert_not_null(find(b, &k0), "the name XDP answered is hottest");
	cr_assert_null(find(b, &k1));
	rcu_read_unlock();
	free(buf);
	vd_cache_destroy(a);
	vd_cache_destroy(b);
}
