/*
 * BPF_PROG_TEST_RUN tests of bpf/vd_xdp.bpf.c: a table of {input frame,
 * expected action, expected counter, expected output frame}.  Expected
 * answers come from the socket path's own vd_dns_answer_write(), so a
 * pass here means the fast path's bytes equal the socket path's.  IP and
 * UDP checksums of every answer are verified again from scratch.
 *
 *   test_xdp_prog            run the table, print "N passed, N failed"
 *   test_xdp_prog --bench N  also time hits and a miss, N runs each
 *
 * Needs root (CAP_BPF, CAP_NET_ADMIN).  Prints the verifier's processed
 * instruction count so growth shows in the test log.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "acl/acl.h"
#include "core/clock.h"
#include "dataplane/xdp/xdp.h"
#include "dns/answer.h"
#include "dns/query.h"
#include "vd_xdp.skel.h"

static int passed, failed;
static struct vd_xdp_bpf *skel;
static const char NSID[] = "node1";
static uint64_t seed; /* of the mirror's key hash, random per run */
/* The mirror, mapped as the loader maps it; small for the tests. */
#define TEST_SLOTS 1024
static struct vd_xdp_slots slots;
static void *slots_mem;
static size_t slots_len;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("  FAIL %s:%d: ", __FILE__, __LINE__);          \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
			return false;                                          \
		}                                                              \
	} while (0)

/* ---- wire builders --------------------------------------------------- */

struct buf {
	uint8_t b[4096];
	size_t len;
};

static void b8(struct buf *p, unsigned v) { p->b[p->len++] = (uint8_t)v; }
static void b16(struct buf *p, unsigned v) { b8(p, v >> 8); b8(p, v & 0xff); }
static void b32(struct buf *p, uint32_t v) { b16(p, v >> 16); b16(p, v & 0xffff); }
static void bbytes(struct buf *p, const void *d, size_t n)
{
	if (n == 0)
		return; /* d may be NULL (no EDNS options): memcpy forbids it */
	memcpy(p->b + p->len, d, n);
	p->len += n;
}

static void bname(struct buf *p, const char *s)
{
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		b8(p, (unsigned)l);
		bbytes(p, s, l);
		s += l;
		if (*s == '.')
			s++;
	}
	b8(p, 0);
}

struct qspec {
	uint16_t id, flags, qtype;
	const char *name;
	int edns;            /* 0 none, else the buffer size */
	bool do_bit;
	const uint8_t *opts; /* raw EDNS options */
	size_t opts_len;
};

static void build_query(struct buf *p, const struct qspec *q)
{
	p->len = 0;
	b16(p, q->id);
	b16(p, q->flags);
	b16(p, 1);
	b16(p, 0);
	b16(p, 0);
	b16(p, q->edns ? 1 : 0);
	bname(p, q->name);
	b16(p, q->qtype);
	b16(p, 1);
	if (q->edns) {
		b8(p, 0);
		b16(p, 41);
		b16(p, (unsigned)q->edns);
		b8(p, 0);
		b8(p, 0);
		b16(p, q->do_bit ? 0x8000 : 0);
		b16(p, (unsigned)q->opts_len);
		bbytes(p, q->opts, q->opts_len);
	}
}

/* Independent checksum: plain RFC 1071 over a byte range. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

struct addrs {
	int family;
	bool vlan;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto; /* 17 unless testing */
};

static const uint8_t MAC_A[6] = {2, 0, 0, 0, 0, 1}, MAC_B[6] = {2, 0, 0, 0, 0, 2};

/* Ethernet (+802.1Q) + IP + UDP around dns.  answer_ip: the header the
 * fast path writes (ID 0, DF, TTL 64); else a typical client's. */
static size_t build_frame(uint8_t *f, const struct addrs *a, const uint8_t *dns,
			  size_t dlen, bool answer)
{
	struct buf p = {.len = 0};
	bbytes(&p, answer ? MAC_A : MAC_B, 6);
	bbytes(&p, answer ? MAC_B : MAC_A, 6);
	if (a->vlan) {
		b16(&p, 0x8100);
		b16(&p, 42);
	}
	b16(&p, a->family == 4 ? 0x0800 : 0x86dd);
	size_t l3 = p.len;
	const uint8_t *src = answer ? a->dst : a->src;
	const uint8_t *dst = answer ? a->src : a->dst;
	size_t alen = a->family == 4 ? 4 : 16;
	uint8_t proto = a->proto ? a->proto : 17;
	if (a->family == 4) {
		b8(&p, 0x45);
		b8(&p, 0);
		b16(&p, (unsigned)(20 + 8 + dlen));
		b16(&p, answer ? 0 : 0x1234);
		b16(&p, 0x4000);
		b8(&p, 64);
		b8(&p, proto);
		b16(&p, 0);
		bbytes(&p, src, 4);
		bbytes(&p, dst, 4);
		uint16_t c = (uint16_t)~fold(sum16(p.b + l3, 20, 0));
		p.b[l3 + 10] = (uint8_t)(c >> 8);
		p.b[l3 + 11] = (uint8_t)c;
	} else {
		b32(&p, 0x60000000);
		b16(&p, (unsigned)(8 + dlen));
		b8(&p, proto);
		b8(&p, 64);
		bbytes(&p, src, 16);
		bbytes(&p, dst, 16);
	}
	size_t l4 = p.len;
	b16(&p, answer ? a->dport : a->sport);
	b16(&p, answer ? a->sport : a->dport);
	b16(&p, (unsigned)(8 + dlen));
	b16(&p, 0);
	bbytes(&p, dns, dlen);
	uint32_t s = sum16(src, alen, 0);
	s = sum16(dst, alen, s);
	s += 17 + (uint32_t)(8 + dlen);
	s = sum16(p.b + l4, 8 + dlen, s);
	uint16_t c = (uint16_t)~fold(s);
	if (c == 0)
		c = 0xffff;
	p.b[l4 + 6] = (uint8_t)(c >> 8);
	p.b[l4 + 7] = (uint8_t)c;
	memcpy(f, p.b, p.len);
	return p.len;
}

/* Verifies an answer frame's checksums from scratch. */
static bool checksums_ok(const uint8_t *f, size_t len, bool vlan)
{
	size_t l3 = vlan ? 18 : 14;
	if (len < l3 + 28)
		return false;
	uint32_t s;
	size_t l4, ulen;
	if ((f[l3] >> 4) == 4) {
		if (fold(sum16(f + l3, 20, 0)) != 0xffff)
			return false;
		l4 = l3 + 20;
		ulen = (size_t)(f[l4 + 4] << 8 | f[l4 + 5]);
		s = sum16(f + l3 + 12, 8, 0);
	} else {
		l4 = l3 + 40;
		ulen = (size_t)(f[l4 + 4] << 8 | f[l4 + 5]);
		s = sum16(f + l3 + 8, 32, 0);
	}
	if (l4 + ulen != len)
		return false;
	s += 17 + (uint32_t)ulen;
	s = sum16(f + l4, ulen, s);
	return fold(s) == 0xffff;
}

/* ---- mirror entries ----------------------------------------------------- */

struct stored {
	uint8_t wire[VD_DNS_MSG_MAX];
	uint16_t ttl_offs[VD_DNS_ANSWER_MAX_RRS];
	struct vd_dns_answer_meta meta;
	uint64_t stored_ns;
};

enum { E_WWW_A, E_WWW_AAAA, E_SIGNED, E_NX, E_OLD, E_EXPIRED, E_HOT, E_FUTURE,
       E_RACE1, E_RACE2, E_POP, E_RAND, E_N };
static struct stored st[E_N];
static struct vd_xdp_entry last_entry; /* what make_entry() placed */

/* An upstream answer for q, normalised the way the resolver does. */
static void make_entry(int idx, const struct qspec *qs, int rcode, int n_rr,
		       uint16_t rrtype, size_t rdlen, uint32_t ttl, bool secure,
		       int64_t age_ms, int64_t life_override_ms)
{
	struct buf qb, r;
	struct vd_dns_query q;
	build_query(&qb, qs);
	if (vd_dns_query_parse(qb.b, qb.len, &q) != VD_DNS_QUERY_OK)
		abort();
	r.len = 0;
	b16(&r, 0x4242);
	b16(&r, 0x8180 | (unsigned)rcode);
	b16(&r, 1);
	b16(&r, rcode == 3 ? 0 : (unsigned)n_rr);
	b16(&r, rcode == 3 ? 1 : 0);
	b16(&r, 0);
	bname(&r, qs->name);
	b16(&r, qs->qtype);
	b16(&r, 1);
	if (rcode == 3) { /* SOA in authority */
		b16(&r, 0xc00c + 3); /* "example.test" inside "nx.example.test" */
		b16(&r, 6);
		b16(&r, 1);
		b32(&r, 900);
		size_t at = r.len;
		b16(&r, 0);
		bname(&r, "ns.example.test");
		bname(&r, "hostmaster.example.test");
		b32(&r, 1);
		b32(&r, 3600);
		b32(&r, 600);
		b32(&r, 86400);
		b32(&r, 300);
		r.b[at] = (uint8_t)((r.len - at - 2) >> 8);
		r.b[at + 1] = (uint8_t)(r.len - at - 2);
	}
	for (int i = 0; rcode != 3 && i < n_rr; i++) {
		b16(&r, 0xc00c);
		b16(&r, i == n_rr - 1 && rrtype == 46 ? 46 : qs->qtype);
		b16(&r, 1);
		b32(&r, ttl + (uint32_t)i);
		size_t l = (i == n_rr - 1 && rrtype == 46) ? rdlen
			   : qs->qtype == 28                ? 16
							    : 4;
		b16(&r, (unsigned)l);
		for (size_t k = 0; k < l; k++)
			b8(&r, (unsigned)(k * 7 + (size_t)i + 1));
	}
	struct vd_dns_norm_opts no = {.strip_dnssec = !qs->do_bit,
				      .secure = secure,
				      .min_ttl = 0,
				      .max_ttl = 86400,
				      .max_neg_ttl = 3600,
				      .servfail_ttl = 5};
	struct stored *s = &st[idx];
	if (vd_dns_answer_normalise(r.b, r.len, &q, &no, s->wire,
				    sizeof(s->wire), s->ttl_offs,
				    VD_DNS_ANSWER_MAX_RRS, &s->meta) != 0)
		abort();
	uint8_t key[VD_DNS_KEY_MAX];
	size_t klen = vd_dns_query_key(&q, key);
	uint64_t now = vd_now_ns();
	s->stored_ns = now - (uint64_t)age_ms * VD_NS_PER_MS;
	uint64_t expire = s->stored_ns + (uint64_t)s->meta.ttl * VD_NS_PER_SEC;
	if (life_override_ms)
		expire = s->stored_ns + (uint64_t)life_override_ms * VD_NS_PER_MS;
	uint64_t k;
	struct vd_xdp_entry *vp = &last_entry;
	if (vd_xdp_entry_build(key, klen, s->wire, &s->meta, s->ttl_offs,
			       s->stored_ns, expire, VD_XDP_ANSWER_MAX, seed, &k,
			       vp) != 0)
		abort();
	if (vd_xdp_slots_put(&slots, vp, vd_now_ns()) < 0)
		abort();
}

/* What the socket path answers q with from entry idx. */
static size_t socket_answer(int idx, const uint8_t *dns, size_t dlen,
			    uint8_t *out)
{
	struct vd_dns_query q;
	if (vd_dns_query_parse(dns, dlen, &q) != VD_DNS_QUERY_OK)
		return 0;
	struct stored *s = &st[idx];
	uint64_t now = vd_now_ns();
	/* as pipeline.c: an entry stamped after now has aged 0 s */
	uint32_t elapsed = now > s->stored_ns
				   ? (uint32_t)((now - s->stored_ns) / VD_NS_PER_SEC)
				   : 0;
	struct vd_dns_resp_opts ro = {.max_size = vd_dns_client_max_size(&q, 1232),
				      .edns_size = 1232,
				      .nsid = (const uint8_t *)NSID,
				      .nsid_len = sizeof(NSID) - 1,
				      .ede = -1};
	return vd_dns_answer_write(s->wire, &s->meta, s->ttl_offs, &q, elapsed,
				   &ro, out, 4096);
}

/* ---- running ------------------------------------------------------------ */

static void counters(uint64_t out[VD_XDP_CTR_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	static uint64_t vals[1024];
	memset(out, 0, sizeof(uint64_t) * VD_XDP_CTR_MAX);
	int fd = bpf_map__fd(skel->maps.vd_xdp_counters);
	for (uint32_t i = 0; i < VD_XDP_CTR_MAX; i++) {
		if (bpf_map_lookup_elem(fd, &i, vals) != 0)
			continue;
		for (int c = 0; c < ncpu && c < 1024; c++)
			out[i] += vals[c];
	}
}

struct tcase {
	const char *name;
	struct addrs a;
	struct qspec q;
	int entry;           /* -1: no answer expected */
	int action;          /* XDP_TX or XDP_PASS */
	int counter;         /* enum vd_xdp_counter that must count it */
	/* edits to the built query frame */
	void (*mangle)(uint8_t *f, size_t *len, const struct addrs *a);
	/* keep the mangled frame's checksums as they are (else they are
	 * made right again, so a case tests what it means to) */
	bool raw_csum;
};

static size_t l3_of(const struct addrs *a) { return a->vlan ? 18 : 14; }
static size_t l4_of(const struct addrs *a)
{
	return l3_of(a) + (a->family == 4 ? 20 : 40);
}
static size_t dns_of(const struct addrs *a) { return l4_of(a) + 8; }

/* Makes the IPv4 header and UDP checksums of a (mangled) frame right again
 * where its lengths allow; an IPv4 UDP checksum of 0 ("none") stays 0. */
static void fix_checksums(uint8_t *f, size_t len, const struct addrs *a)
{
	size_t l3 = l3_of(a), l4 = l4_of(a);
	if (len < l4 + 8)
		return;
	bool v4 = (f[l3] >> 4) == 4;
	if (v4) {
		f[l3 + 10] = f[l3 + 11] = 0;
		uint16_t c = (uint16_t)~fold(sum16(f + l3, 20, 0));
		f[l3 + 10] = (uint8_t)(c >> 8);
		f[l3 + 11] = (uint8_t)c;
		if (f[l4 + 6] == 0 && f[l4 + 7] == 0)
			return;
	}
	size_t ulen = (size_t)(f[l4 + 4] << 8 | f[l4 + 5]);
	if (ulen < 8 || l4 + ulen > len)
		return;
	f[l4 + 6] = f[l4 + 7] = 0;
	uint32_t s = v4 ? sum16(f + l3 + 12, 8, 0) : sum16(f + l3 + 8, 32, 0);
	s += 17 + (uint32_t)ulen;
	s = sum16(f + l4, ulen, s);
	uint16_t c = (uint16_t)~fold(s);
	if (c == 0)
		c = 0xffff;
	f[l4 + 6] = (uint8_t)(c >> 8);
	f[l4 + 7] = (uint8_t)c;
}

static bool run_case(const struct tcase *t)
{
	uint8_t in[4096], out[4096], want[4096], dnsw[4096];
	struct buf qb;
	build_query(&qb, &t->q);
	size_t len = build_frame(in, &t->a, qb.b, qb.len, false);
	if (t->mangle) {
		t->mangle(in, &len, &t->a);
		if (!t->raw_csum)
			fix_checksums(in, len, &t->a);
	}
	uint64_t before[VD_XDP_CTR_MAX], after[VD_XDP_CTR_MAX];
	counters(before);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int rc = bpf_prog_test_run_opts(
		bpf_program__fd(skel->progs.vd_xdp_main), &o);
	CHECK(rc == 0, "test run: %s", strerror(errno));
	counters(after);
	CHECK((int)o.retval == t->action, "action %u, want %d", o.retval,
	      t->action);
	for (int i = 0; i < VD_XDP_CTR_MAX; i++) {
		uint64_t want_d = i == t->counter ? 1 : 0;
		CHECK(after[i] - before[i] == want_d, "counter %s moved by %llu",
		      vd_xdp_counter_name((unsigned)i),
		      (unsigned long long)(after[i] - before[i]));
	}
	if (t->action == XDP_PASS) {
		CHECK(o.data_size_out == len && memcmp(in, out, len) == 0,
		      "a passed frame was changed");
		return true;
	}
	size_t dl = socket_answer(t->entry, qb.b, qb.len, dnsw);
	CHECK(dl > 0, "socket path has no answer");
	size_t wl = build_frame(want, &t->a, dnsw, dl, true);
	CHECK(o.data_size_out == wl, "answer length %u, want %zu",
	      o.data_size_out, wl);
	for (size_t i = 0; i < wl; i++)
		CHECK(out[i] == want[i], "answer byte %zu (dns %ld): 0x%02x, want 0x%02x",
		      i, (long)i - (long)dns_of(&t->a), out[i], want[i]);
	CHECK(checksums_ok(out, o.data_size_out, t->a.vlan),
	      "checksums of the answer do not verify");
	return true;
}

/* ---- mangles ------------------------------------------------------------ */

static void m_arp(uint8_t *f, size_t *len, const struct addrs *a)
{
	(void)a;
	f[12] = 0x08;
	f[13] = 0x06;
	*len = 42;
}
static void m_tcp(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l3_of(a) + 9] = 6;
}
static void m_frag(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l3_of(a) + 6] = 0x20; /* MF */
}
static void m_frag6(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l3_of(a) + 6] = 44;
}
static void m_ihl(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l3_of(a)] = 0x46;
}
/* BPF_PROG_TEST_RUN refuses frames shorter than an Ethernet header, so
 * the shortest truncation it can show is a cut 802.1Q tag. */
static void m_trunc_eth(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)a;
	f[12] = 0x81;
	f[13] = 0x00;
	*l = 16;
}
static void m_trunc_ip(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)f;
	*l = l3_of(a) + 12;
}
static void m_trunc_udp(uint8_t *f, size_t *l, const struct addrs *a)
{
	size_t l4 = l4_of(a);
	*l = l4 + 4;
	if (a->family == 4) {
		f[l3_of(a) + 2] = 0;
		f[l3_of(a) + 3] = 24;
	}
}
static void m_udp_len(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l4_of(a) + 5] += 1;
}
static void m_udp_len_short(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l4_of(a) + 5] -= 3;
}
static void m_ip_len(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l3_of(a) + 2] += 1;
}
static void m_short_dns(uint8_t *f, size_t *l, const struct addrs *a)
{
	*l = dns_of(a) + 5;
	f[l3_of(a) + 2] = 0;
	f[l3_of(a) + 3] = 20 + 8 + 5;
	f[l4_of(a) + 4] = 0;
	f[l4_of(a) + 5] = 8 + 5;
}
static void m_compress(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[dns_of(a) + 12] = 0xc0; /* qname starts with a pointer */
	f[dns_of(a) + 13] = 0x0c;
}
static void m_label64(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[dns_of(a) + 12] = 0x40;
}
static void m_hdr(uint8_t *f, const struct addrs *a, size_t off, uint8_t v)
{
	f[dns_of(a) + off] = v;
}
static void m_qd0(uint8_t *f, size_t *l, const struct addrs *a) { (void)l; m_hdr(f, a, 5, 0); }
static void m_qd2(uint8_t *f, size_t *l, const struct addrs *a) { (void)l; m_hdr(f, a, 5, 2); }
static void m_an1(uint8_t *f, size_t *l, const struct addrs *a) { (void)l; m_hdr(f, a, 7, 1); }
static void m_ar2(uint8_t *f, size_t *l, const struct addrs *a) { (void)l; m_hdr(f, a, 11, 2); }
static void m_qr(uint8_t *f, size_t *l, const struct addrs *a) { (void)l; m_hdr(f, a, 2, 0x81); }
static void m_notify(uint8_t *f, size_t *l, const struct addrs *a) { (void)l; m_hdr(f, a, 2, 0x20); }
static void m_trailing(uint8_t *f, size_t *l, const struct addrs *a)
{
	/* two bytes more in UDP and IP lengths */
	f[*l] = 0xab;
	f[*l + 1] = 0xcd;
	*l += 2;
	f[l4_of(a) + 5] += 2;
	f[l3_of(a) + 3] += 2;
}
static void m_noterm(uint8_t *f, size_t *l, const struct addrs *a)
{
	/* cut the message inside the qname */
	size_t cut = 6;
	*l -= cut;
	f[l4_of(a) + 5] -= (uint8_t)cut;
	f[l3_of(a) + 3] -= (uint8_t)cut;
	f[dns_of(a) + 11] = 0; /* no OPT any more */
}

/* Ingress checks the kernel does and the fast path must not skip. */
static void m_other_mac(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	(void)a;
	f[5] ^= 0x10; /* another host's unicast MAC */
}
static void m_bcast_mac(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	(void)a;
	memset(f, 0xff, 6);
}
static void m_mcast_mac(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	(void)a;
	static const uint8_t m[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	memcpy(f, m, 6);
}
static void m_bad_udp_csum(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l4_of(a) + 7] ^= 0x01;
}
static void m_bad_dns_byte(uint8_t *f, size_t *l, const struct addrs *a)
{
	/* the last byte of the message (qclass / OPT), checksum untouched:
	 * what the sum over the whole query must catch */
	(void)a;
	f[*l - 1] ^= 0x01;
}
static void m_bad_ip_csum(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l3_of(a) + 10] ^= 0x01;
}
static void m_no_udp_csum(uint8_t *f, size_t *l, const struct addrs *a)
{
	(void)l;
	f[l4_of(a) + 6] = f[l4_of(a) + 7] = 0;
}
static void m_src(uint8_t *f, const struct addrs *a, const char *addr)
{
	size_t l3 = l3_of(a);
	if (a->family == 4)
		inet_pton(AF_INET, addr, f + l3 + 12);
	else
		inet_pton(AF_INET6, addr, f + l3 + 8);
}
#define M_SRC(fn, addr)                                                        \
	static void fn(uint8_t *f, size_t *l, const struct addrs *a)           \
	{                                                                      \
		(void)l;                                                       \
		m_src(f, a, addr);                                             \
	}
M_SRC(m_src_lo4, "127.0.0.1")
M_SRC(m_src_zero4, "0.1.2.3")
M_SRC(m_src_mcast4, "224.0.0.251")
M_SRC(m_src_bcast4, "255.255.255.255")
M_SRC(m_src_class_e, "240.0.0.1")
M_SRC(m_src_lo6, "::1")
M_SRC(m_src_any6, "::")
M_SRC(m_src_mcast6, "ff02::1")
M_SRC(m_src_ll6, "fe80::1")
M_SRC(m_src_mapped6, "::ffff:192.0.2.10")
M_SRC(m_src_nat64, "64:ff9b::c000:20a") /* well-known NAT64: a real client */

static const uint8_t OPT_NSID[] = {0, 3, 0, 0};
static const uint8_t OPT_COOKIE[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t OPT_ECS[] = {0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2};
static const uint8_t OPT_PAD[] = {0, 12, 0, 2, 0, 0};
static uint8_t OPT_BIG[600];

static void m_ednsver(uint8_t *f, size_t *l, const struct addrs *a)
{
	/* OPT version byte: 11 bytes from the end (no options) */
	f[*l - 11 + 6] = 1;
	(void)a;
}

/* Prefetch requests seen */
static struct vd_xdp_prefetch_req cb_req;
static int cb_count;
static int cb(void *c, void *d, size_t s)
{
	(void)c;
	if (s >= sizeof(cb_req))
		memcpy(&cb_req, d, sizeof(cb_req));
	cb_count++;
	return 0;
}

/* The race test's writer: rewrites one slot alternately with two entries
 * of the same name until told to stop. */
struct race_arg {
	struct vd_xdp_entry v[2];
	atomic_int stop;
	unsigned long writes;
};

/* Pins the calling thread to one CPU (best effort): the race needs the
 * writer and the program on two CPUs at once, not time-sliced on one. */
static void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *race_writer(void *arg)
{
	struct race_arg *ra = arg;
	pin_to(1);
	while (!atomic_load(&ra->stop)) {
		if (vd_xdp_slots_put(&slots, &ra->v[ra->writes & 1], vd_now_ns()) < 0)
			break;
		ra->writes++;
		/* a breath between rewrites, so that clean reads happen too */
		for (volatile int spin = 0; spin < 300; spin++)
			;
	}
	return NULL;
}

static char long_name[400];
static struct vd_xdp_conf tc; /* the settings as tables (see main) */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Loads the program with node-id nsid and fills VIPs, ACL, settings and
 * the mirror (entries E_*).  0 or -1 (printed). */
static int setup(const uint8_t *nsid, unsigned nsid_len, bool print_insns)
{
	skel = vd_xdp_bpf__open();
	if (!skel) {
		printf("cannot open the skeleton: %s\n0 passed, 1 failed\n",
		       strerror(errno));
		return -1;
	}
	skel->rodata->vd_edns_size = 1232;
	skel->rodata->vd_hash_seed = seed;
	/* as the loader does: a node-id above the limit is flagged by its
	 * length only, and NSID queries go up */
	skel->rodata->vd_nsid_len =
		nsid_len > VD_XDP_NSID_MAX ? VD_XDP_NSID_MAX + 1 : nsid_len;
	if (nsid_len <= VD_XDP_NSID_MAX) {
		memcpy((void *)skel->rodata->vd_nsid, nsid, nsid_len);
		skel->rodata->vd_nsid_csum = vd_xdp_csum16(nsid, nsid_len);
	}
	skel->rodata->vd_set_mask = TEST_SLOTS / VD_XDP_WAYS - 1;
	bpf_map__set_max_entries(skel->maps.vd_xdp_mirror, TEST_SLOTS);
	if (vd_xdp_bpf__load(skel) != 0) {
		printf("the kernel refused the program: %s\n0 passed, 1 failed\n",
		       strerror(errno));
		return -1;
	}
	if (slots_mem)
		munmap(slots_mem, slots_len);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	slots_len = (TEST_SLOTS * sizeof(struct vd_xdp_entry) + page - 1) &
		    ~(page - 1);
	slots_mem = mmap(NULL, slots_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(skel->maps.vd_xdp_mirror), 0);
	if (slots_mem == MAP_FAILED ||
	    vd_xdp_slots_init(&slots, slots_mem, TEST_SLOTS) != 0) {
		printf("cannot map the mirror: %s\n0 passed, 1 failed\n",
		       strerror(errno));
		return -1;
	}
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (print_insns &&
	    bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.vd_xdp_main),
				   &info, &ilen) == 0)
		printf("verifier: vd_xdp_main processed %u insns (%u xlated "
		       "insns, %u bytes jited)\n",
		       info.verified_insns, info.xlated_prog_len / 8,
		       info.jited_prog_len);

	/* VIPs, ACL, prefetch settings */
	struct vd_xdp_vip vip = {.family = 4, .port_be = htons(53)};
	inet_pton(AF_INET, "203.0.113.1", vip.addr);
	uint32_t one = 1;
	bpf_map_update_elem(bpf_map__fd(skel->maps.vd_xdp_vips), &vip, &one, 0);
	memset(&vip, 0, sizeof(vip));
	vip.family = 6;
	vip.port_be = htons(53);
	inet_pton(AF_INET6, "2001:db8::1", vip.addr);
	bpf_map_update_elem(bpf_map__fd(skel->maps.vd_xdp_vips), &vip, &one, 0);
	struct {
		int fam;
		const char *addr;
		unsigned plen;
		uint32_t act;
	} acl[] = {{4, "0.0.0.0", 0, 1},     {6, "::", 0, 1},
		   {4, "192.0.2.0", 24, 0},  {4, "192.0.2.99", 32, 1},
		   {6, "2001:db8:c::", 48, 0}};
	for (size_t i = 0; i < sizeof(acl) / sizeof(acl[0]); i++) {
		struct vd_xdp_acl_key k = {.prefixlen = 8 + acl[i].plen,
					   .family = (uint8_t)acl[i].fam};
		inet_pton(acl[i].fam == 4 ? AF_INET : AF_INET6, acl[i].addr,
			  k.addr);
		bpf_map_update_elem(bpf_map__fd(skel->maps.vd_xdp_acl0), &k,
				    &acl[i].act, 0);
	}
	uint32_t zero = 0;
	struct vd_xdp_conf conf = {.prefetch = 1, .prefetch_percent = 10,
				   .prefetch_min_hits = 2};
	bpf_map_update_elem(bpf_map__fd(skel->maps.vd_xdp_config), &zero, &conf, 0);
	/* BPF_PROG_TEST_RUN runs the program as if received on the
	 * namespace's loopback; its "MAC" is the queries' destination. */
	struct vd_xdp_ifmac im = {{0}};
	memcpy(im.mac, MAC_B, 6);
	uint32_t lo = if_nametoindex("lo");
	bpf_map_update_elem(bpf_map__fd(skel->maps.vd_xdp_ifmacs), &lo, &im, 0);

	/* The mirror */
	struct qspec qa = {.name = "www.example.test", .qtype = 1};
	make_entry(E_WWW_A, &qa, 0, 2, 1, 0, 300, true, 200, 0);
	struct qspec q6 = {.name = "www.example.test", .qtype = 28};
	make_entry(E_WWW_AAAA, &q6, 0, 1, 28, 0, 300, false, 200, 0);
	struct qspec qs = {.name = "signed.example.test", .qtype = 1,
			   .edns = 1232, .do_bit = true};
	make_entry(E_SIGNED, &qs, 0, 4, 46, 1000, 3600, true, 200, 0);
	struct qspec qn = {.name = "nx.example.test", .qtype = 1};
	make_entry(E_NX, &qn, 3, 0, 0, 0, 0, false, 200, 0);
	struct qspec qo = {.name = "old.example.test", .qtype = 1};
	make_entry(E_OLD, &qo, 0, 3, 1, 0, 300, false, 5500, 0);
	struct qspec qe = {.name = "expired.example.test", .qtype = 1};
	make_entry(E_EXPIRED, &qe, 0, 1, 1, 0, 300, false, 3000, 1000);
	struct qspec qh = {.name = "hot.example.test", .qtype = 1};
	make_entry(E_HOT, &qh, 0, 1, 1, 0, 100, false, 95500, 0);
	/* Stamped after the program's clock: bpf_ktime_get_coarse_ns() lags
	 * CLOCK_MONOTONIC by up to a tick, so right after an insert the
	 * program reads a "now" before stored_ns.  A whole second ahead makes
	 * that certain whatever the scheduling; the TTLs must stay full. */
	struct qspec qf = {.name = "fresh.example.test", .qtype = 1};
	make_entry(E_FUTURE, &qf, 0, 2, 1, 0, 300, false, -1000, 0);

	return 0;
}

int main(int argc, char **argv)
{
	long bench = 0;
	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		bench = atol(argv[2]);

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = vd_now_ns();
	if (setup((const uint8_t *)NSID, sizeof(NSID) - 1, true) != 0)
		return 1;

	struct addrs v4 = {.family = 4, .sport = 40000, .dport = 53};
	inet_pton(AF_INET, "192.0.2.10", v4.src);
	inet_pton(AF_INET, "203.0.113.1", v4.dst);
	struct addrs v6 = {.family = 6, .sport = 40001, .dport = 53};
	inet_pton(AF_INET6, "2001:db8:c::10", v6.src);
	inet_pton(AF_INET6, "2001:db8::1", v6.dst);
	struct addrs v4vlan = v4, v6vlan = v6;
	v4vlan.vlan = v6vlan.vlan = true;
	struct addrs v4other = v4, v4port = v4, v4deny = v4, v4refuse = v4;
	inet_pton(AF_INET, "203.0.113.2", v4other.dst);
	v4port.dport = 5353;
	inet_pton(AF_INET, "198.51.100.7", v4deny.src);
	inet_pton(AF_INET, "192.0.2.99", v4refuse.src);

	/* 33 labels of 7 = 264 bytes of name */
	long_name[0] = '\0';
	for (int i = 0; i < 33; i++)
		strcat(long_name, i ? ".abcdefg" : "abcdefg");

	const int TX = XDP_TX, PASS = XDP_PASS;
#define Q(...) ((struct qspec){__VA_ARGS__})
	struct tcase cases[] = {
		/* hits */
		{"hit v4, no EDNS", v4, Q(.id = 0x1111, .flags = 0x0100, .name = "www.example.test", .qtype = 1), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL},
		{"hit v4, 0x20 case echo, EDNS", v4, Q(.id = 0xbeef, .flags = 0x0100, .name = "WwW.ExAmPlE.tEsT", .qtype = 1, .edns = 1232), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL},
		{"hit v4, RD clear, AD asked (AD kept)", v4, Q(.id = 0x2222, .flags = 0x0020, .name = "www.example.test", .qtype = 1, .edns = 4096), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL},
		{"hit v4, NSID asked", v4, Q(.id = 0x3333, .flags = 0x0100, .name = "www.example.test", .qtype = 1, .edns = 1400, .opts = OPT_NSID, .opts_len = sizeof(OPT_NSID)), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL},
		{"hit v6 AAAA, EDNS", v6, Q(.id = 0x4444, .flags = 0x0100, .name = "www.EXAMPLE.test", .qtype = 28, .edns = 1232), E_WWW_AAAA, TX, VD_XDP_CTR_HIT, NULL},
		{"hit v6, no EDNS", v6, Q(.id = 0x4445, .flags = 0x0100, .name = "www.example.test", .qtype = 28), E_WWW_AAAA, TX, VD_XDP_CTR_HIT, NULL},
		{"hit v4 in 802.1Q", v4vlan, Q(.id = 0x5555, .flags = 0x0100, .name = "www.example.test", .qtype = 1, .edns = 1232), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL},
		{"hit v6 in 802.1Q", v6vlan, Q(.id = 0x5556, .flags = 0x0100, .name = "Www.example.test", .qtype = 28), E_WWW_AAAA, TX, VD_XDP_CTR_HIT, NULL},
		{"hit DO=1 signed ~1.1 KB answer", v4, Q(.id = 0x6666, .flags = 0x0100, .name = "signed.example.TEST", .qtype = 1, .edns = 1232, .do_bit = true), E_SIGNED, TX, VD_XDP_CTR_HIT, NULL},
		{"hit DO=1 signed, v6", v6, Q(.id = 0x6667, .flags = 0x0110, .name = "signed.example.test", .qtype = 1, .edns = 1232, .do_bit = true), -1, PASS, VD_XDP_CTR_MISS, NULL},
		{"hit NXDOMAIN + SOA", v4, Q(.id = 0x7777, .flags = 0x0100, .name = "nx.example.test", .qtype = 1, .edns = 1232), E_NX, TX, VD_XDP_CTR_HIT, NULL},
		{"hit, stored_ns ahead of the coarse clock: TTLs full", v4, Q(.id = 0x8889, .flags = 0x0100, .name = "fresh.example.test", .qtype = 1, .edns = 1232), E_FUTURE, TX, VD_XDP_CTR_HIT, NULL},
		{"hit, TTLs lowered by 5 s", v4, Q(.id = 0x8888, .flags = 0x0100, .name = "old.example.test", .qtype = 1), E_OLD, TX, VD_XDP_CTR_HIT, NULL},
		/* pass: cache */
		{"signed answer > client's 512", v4, Q(.id = 1, .flags = 0x0100, .name = "signed.example.test", .qtype = 1, .edns = 512, .do_bit = true), -1, PASS, VD_XDP_CTR_TOO_BIG, NULL},
		{"CD=1 is another key: miss", v4, Q(.id = 2, .flags = 0x0110, .name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MISS, NULL},
		{"unknown name: miss", v4, Q(.id = 3, .flags = 0x0100, .name = "nope.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MISS, NULL},
		{"expired entry", v4, Q(.id = 4, .flags = 0x0100, .name = "expired.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_EXPIRED, NULL},
		/* pass: not ours */
		{"ARP", v4, Q(.name = "a.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_IP, m_arp},
		{"TCP to the VIP", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_UDP, m_tcp},
		{"UDP to another address", v4other, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_VIP, NULL},
		{"UDP to another port", v4port, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_VIP, NULL},
		{"IPv4 fragment", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_FRAGMENT, m_frag},
		{"IPv6 fragment header", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_FRAGMENT, m_frag6},
		{"IPv4 options", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_IP_OPTIONS, m_ihl},
		{"client outside the ACL", v4deny, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_ACL, NULL},
		{"client with a refuse rule", v4refuse, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_ACL, NULL},
		/* pass: malformed, never XDP_TX */
		{"truncated 802.1Q tag", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_trunc_eth},
		{"truncated IPv4 header", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_trunc_ip},
		{"truncated IPv6 header", v6, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_trunc_ip},
		{"truncated UDP header", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_trunc_udp},
		{"UDP length past the datagram", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_udp_len},
		{"UDP length short of the datagram", v6, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_udp_len_short},
		{"IP length past the frame", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_ip_len},
		{"DNS shorter than a header", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_short_dns},
		{"compression pointer in the question", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_compress},
		{"label longer than 63", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_label64},
		{"name longer than 255", v4, Q(.name = long_name, .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, NULL},
		{"QDCOUNT 0", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_qd0},
		{"QDCOUNT 2", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_qd2},
		{"ANCOUNT 1", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_an1},
		{"trailing bytes", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MALFORMED, m_trailing},
		{"message ends inside the qname", v4, Q(.name = "www.example.test", .qtype = 1, .edns = 1232), -1, PASS, VD_XDP_CTR_MALFORMED, m_noterm},
		{"QR=1 (a response)", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_QUERY, m_qr},
		{"opcode NOTIFY", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_QUERY, m_notify},
		/* pass: EDNS the fast path leaves to user space */
		{"EDNS cookie", v4, Q(.name = "www.example.test", .qtype = 1, .edns = 1232, .opts = OPT_COOKIE, .opts_len = sizeof(OPT_COOKIE)), -1, PASS, VD_XDP_CTR_EDNS_OPTION, NULL},
		{"EDNS client subnet", v4, Q(.name = "www.example.test", .qtype = 1, .edns = 1232, .opts = OPT_ECS, .opts_len = sizeof(OPT_ECS)), -1, PASS, VD_XDP_CTR_EDNS_OPTION, NULL},
		{"EDNS padding", v6, Q(.name = "www.example.test", .qtype = 28, .edns = 1232, .opts = OPT_PAD, .opts_len = sizeof(OPT_PAD)), -1, PASS, VD_XDP_CTR_EDNS_OPTION, NULL},
		{"EDNS version 1", v4, Q(.name = "www.example.test", .qtype = 1, .edns = 1232), -1, PASS, VD_XDP_CTR_EDNS_OTHER, m_ednsver},
		{"ARCOUNT 2", v4, Q(.name = "www.example.test", .qtype = 1, .edns = 1232), -1, PASS, VD_XDP_CTR_EDNS_OTHER, m_ar2},
		/* pass: the kernel's own ingress checks */
		{"frame to another host's MAC", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_HOST, m_other_mac},
		{"frame to the broadcast MAC", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_NOT_HOST, m_bcast_mac},
		{"frame to a multicast MAC, v6", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_NOT_HOST, m_mcast_mac},
		{"source 127.0.0.1 from the wire", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_lo4},
		{"source in 0.0.0.0/8", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_zero4},
		{"multicast source", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_mcast4},
		{"broadcast source", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_bcast4},
		{"class E source", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_class_e},
		{"source ::1 from the wire", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_lo6},
		{"source ::", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_any6},
		{"source ff02::1", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_mcast6},
		{"source fe80::1", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_ll6},
		{"source v4-mapped", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_MARTIAN, m_src_mapped6},
		{"source NAT64 64:ff9b::/96 is a client (ACL decides)", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_ACL, m_src_nat64},
		{"IPv4 header checksum wrong", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_BAD_CSUM, m_bad_ip_csum, true},
		{"UDP checksum wrong, v4", v4, Q(.name = "www.example.test", .qtype = 1, .edns = 1232), -1, PASS, VD_XDP_CTR_BAD_CSUM, m_bad_udp_csum, true},
		{"UDP checksum wrong, v6", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_BAD_CSUM, m_bad_udp_csum, true},
		{"query byte flipped under a right-looking checksum, v4", v4, Q(.name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_BAD_CSUM, m_bad_dns_byte, true},
		{"query byte flipped, v6 with EDNS", v6, Q(.name = "www.example.test", .qtype = 28, .edns = 1232), -1, PASS, VD_XDP_CTR_BAD_CSUM, m_bad_dns_byte, true},
		{"UDP checksum 0 in IPv6 (forbidden)", v6, Q(.name = "www.example.test", .qtype = 28), -1, PASS, VD_XDP_CTR_BAD_CSUM, m_no_udp_csum, true},
		{"UDP checksum 0 in IPv4 (none): answered", v4, Q(.id = 0x9999, .flags = 0x0100, .name = "www.example.test", .qtype = 1), E_WWW_A, TX, VD_XDP_CTR_HIT, m_no_udp_csum, true},
		{"query above 512 bytes", v4, Q(.name = "www.example.test", .qtype = 1, .edns = 1232, .opts = OPT_BIG, .opts_len = sizeof(OPT_BIG)), -1, PASS, VD_XDP_CTR_TOO_LONG, NULL},
	};
	OPT_BIG[1] = 12;
	OPT_BIG[2] = (sizeof(OPT_BIG) - 4) >> 8;
	OPT_BIG[3] = (sizeof(OPT_BIG) - 4) & 0xff;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = run_case(&cases[i]);
		printf("%s %s\n", ok ? "ok  " : "FAIL", cases[i].name);
		ok ? passed++ : failed++;
	}

	/* The same table again with the VIPs and the ACL as the settings'
	 * small tables (what the loader writes for small configurations,
	 * built by its own vd_xdp_conf_build): every outcome must match the
	 * map and trie lookups'. */
	{
		static struct vd_acl acl;
		static const uint8_t n24[4] = {192, 0, 2, 0}, h99[4] = {192, 0, 2, 99};
		uint8_t n48[16];
		inet_pton(AF_INET6, "2001:db8:c::", n48);
		vd_acl_init(&acl, VD_ACL_REFUSE);
		bool ok = vd_acl_add(&acl, AF_INET, n24, 24, VD_ACL_ALLOW) == 0 &&
			  vd_acl_add(&acl, AF_INET, h99, 32, VD_ACL_REFUSE) == 0 &&
			  vd_acl_add(&acl, AF_INET6, n48, 48, VD_ACL_ALLOW) == 0;
		struct vd_xdp_opts xo;
		memset(&xo, 0, sizeof(xo));
		struct sockaddr_in *s4 = (struct sockaddr_in *)&xo.vips[0];
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		inet_pton(AF_INET, "203.0.113.1", &s4->sin_addr);
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&xo.vips[1];
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
		xo.n_vips = 2;
		xo.acl = &acl;
		xo.prefetch = true;
		xo.prefetch_percent = 10;
		xo.prefetch_min_hits = 2;
		vd_xdp_conf_build(&xo, &tc);
		ok = ok && tc.vip_mode == VD_XDP_VIP_TABLE && tc.n_vips == 2 &&
		     tc.acl_mode == VD_XDP_ACL_TABLE && tc.n_acl == 3 &&
		     tc.acl[0].family == 6 && tc.acl[0].mask[5] == 0xff &&
		     tc.acl[0].mask[6] == 0 && tc.acl[1].mask[3] == 0xff &&
		     tc.acl[1].action == VD_ACL_REFUSE && tc.acl[2].mask[3] == 0 &&
		     tc.acl_default == VD_ACL_REFUSE;
		printf("%s settings: small VIP and ACL tables built "
		       "(longest prefix first)\n", ok ? "ok  " : "FAIL");
		if (!ok)
			printf("  vip_mode %u n_vips %u acl_mode %u n_acl %u "
			       "acl[0] fam %u mask3 %u\n", tc.vip_mode, tc.n_vips,
			       tc.acl_mode, tc.n_acl, tc.acl[0].family,
			       tc.acl[0].mask[3]);
		ok ? passed++ : failed++;
		uint32_t zero = 0;
		int cfd = bpf_map__fd(skel->maps.vd_xdp_config);
		struct vd_xdp_conf saved;
		bpf_map_lookup_elem(cfd, &zero, &saved);
		/* (the maps would answer the same; in table mode the program
		 * does not look at them) */
		struct vd_xdp_conf tmp = tc;
		bpf_map_update_elem(cfd, &zero, &tmp, 0);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			bool cok = run_case(&cases[i]);
			printf("%s [tables] %s\n", cok ? "ok  " : "FAIL", cases[i].name);
			cok ? passed++ : failed++;
		}
		bpf_map_update_elem(cfd, &zero, &saved, 0);
	}

	/* Prefetch: the second hit inside the last 10% asks for a refresh,
	 * once. */
	{
		struct tcase hot = {"hot", v4, Q(.id = 9, .flags = 0x0100, .name = "hot.example.test", .qtype = 1), E_HOT, TX, VD_XDP_CTR_HIT, NULL};
		int fd = bpf_map__fd(skel->maps.vd_xdp_prefetch);
		struct ring_buffer *rb = ring_buffer__new(fd, cb, NULL, NULL);
		bool ok = rb != NULL;
		ok = ok && run_case(&hot);
		ok = ok && ring_buffer__consume(rb) >= 0 && cb_count == 0;
		ok = ok && run_case(&hot);
		ok = ok && ring_buffer__consume(rb) >= 0 && cb_count == 1;
		ok = ok && run_case(&hot);
		ok = ok && ring_buffer__consume(rb) >= 0 && cb_count == 1;
		uint8_t key[VD_XDP_KEY_SIZE];
		size_t klen = vd_xdp_key_from_qkey(&cb_req.key, key);
		ok = ok && klen == 5 + 18 &&
		     memcmp(key + 5, "\3hot\7example\4test", 18) == 0 &&
		     key[2] == 1 && key[4] == 1 && key[0] == 0;
		printf("%s prefetch request after the 2nd hit in the window\n",
		       ok ? "ok  " : "FAIL");
		ok ? passed++ : failed++;
		ring_buffer__free(rb);
	}

	/* The key hash: user space (vd_xdp_entry_build -> vd_xdp_qkey_hash)
	 * and the program (a word per bpf_loop step + vd_xdp_hash_final)
	 * must agree on every key.  Random names (every length modulo 8,
	 * labels up to 63), random case in the query, random type, DO and
	 * CD: each must be a hit answered byte for byte as the socket path
	 * would. */
	{
		static const char alpha[] =
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
		static char name[300], qname[300];
		unsigned rs = (unsigned)seed;
		int bad = 0, n = 200;
		for (int it = 0; it < n && !bad; it++) {
			size_t len = 0, wire = 1;
			unsigned target = 2 + (unsigned)(rand_r(&rs) % 250);
			while (wire < target) {
				size_t l = 1 + (size_t)(rand_r(&rs) % 63);
				if (wire + l + 1 > target)
					l = target - wire - 1;
				if (l == 0)
					break;
				if (len)
					name[len++] = '.';
				for (size_t k = 0; k < l; k++)
					name[len++] = alpha[rand_r(&rs) % 64];
				wire += l + 1;
			}
			name[len] = '\0';
			for (size_t k = 0; k <= len; k++) {
				char c = name[k];
				if (rand_r(&rs) & 1)
					c = (c >= 'a' && c <= 'z') ? (char)(c - 32)
					    : (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
				qname[k] = c;
			}
			static const uint16_t types[] = {1, 28, 65280, 65534};
			uint16_t qt = types[rand_r(&rs) % 4];
			bool do_bit = rand_r(&rs) & 1;
			uint16_t fl = (rand_r(&rs) & 1) ? 0x0110 : 0x0100;
			struct qspec qr = {.name = name, .qtype = qt, .flags = fl,
					   .edns = 1232, .do_bit = do_bit};
			make_entry(E_RAND, &qr, 0, 1, qt, 0, 300, true, 100, 0);
			struct tcase t = {"hash agreement", v4,
					  Q(.id = (uint16_t)it, .flags = fl, .name = qname, .qtype = qt, .edns = 1232, .do_bit = do_bit),
					  E_RAND, TX, VD_XDP_CTR_HIT, NULL};
			if (!run_case(&t)) {
				printf("  (name %s, type %u, DO %d, flags 0x%04x)\n",
				       qname, qt, do_bit, fl);
				bad = 1;
			}
			/* served once: it would hold its way for good */
			(void)vd_xdp_slots_del(&slots, &last_entry.qkey,
					       last_entry.khash);
		}
		printf("%s key hash agrees between user space and the program "
		       "(%d random keys)\n", bad ? "FAIL" : "ok  ", n);
		bad ? failed++ : passed++;
	}

	/* A hash collision never serves another name: the entry of
	 * www.example.test A stored under the hash of other.example.test A
	 * is a miss for other.example.test. */
	{
		struct buf qb;
		struct vd_dns_query q;
		uint8_t key[VD_DNS_KEY_MAX];
		struct vd_xdp_qkey qk;
		build_query(&qb, &Q(.name = "other.example.test", .qtype = 1));
		bool ok = vd_dns_query_parse(qb.b, qb.len, &q) == VD_DNS_QUERY_OK;
		size_t klen = ok ? vd_dns_query_key(&q, key) : 0;
		ok = ok && vd_xdp_qkey_from_key(key, klen, &qk) == 0;
		uint64_t other = vd_xdp_qkey_hash(&qk, seed);
		build_query(&qb, &Q(.name = "www.example.test", .qtype = 1));
		ok = ok && vd_dns_query_parse(qb.b, qb.len, &q) == VD_DNS_QUERY_OK;
		klen = vd_dns_query_key(&q, key);
		uint64_t k;
		static struct vd_xdp_entry v;
		struct stored *sw = &st[E_WWW_A];
		ok = ok && vd_xdp_entry_build(key, klen, sw->wire, &sw->meta,
					      sw->ttl_offs, sw->stored_ns,
					      sw->stored_ns + 300 * VD_NS_PER_SEC,
					      VD_XDP_ANSWER_MAX, seed, &k, &v) == 0;
		v.khash = other;
		ok = ok && vd_xdp_slots_put(&slots, &v, vd_now_ns()) >= 0;
		struct tcase t = {"collision", v4, Q(.id = 7, .flags = 0x0100, .name = "other.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MISS, NULL};
		ok = ok && run_case(&t);
		(void)vd_xdp_slots_del(&slots, &v.qkey, other);
		printf("%s same hash, other name: miss (full key compared)\n",
		       ok ? "ok  " : "FAIL");
		ok ? passed++ : failed++;
	}

	/* The seqlock, read side: a slot user space is rewriting (odd
	 * count) is never read; the query goes up untouched. */
	{
		struct vd_xdp_entry *slot = NULL;
		for (uint32_t i = 0; i < TEST_SLOTS && !slot; i++)
			if (slots.base[i].khash != 0 &&
			    memcmp(slots.base[i].qkey.name, "\3www\7example\4test", 18) == 0 &&
			    slots.base[i].qkey.qtc[1] == 1)
				slot = &slots.base[i];
		bool ok = slot != NULL;
		if (ok)
			__atomic_fetch_add(&slot->seq, 1, __ATOMIC_SEQ_CST);
		struct tcase t = {"odd seq", v4, Q(.id = 0x0dd, .flags = 0x0100, .name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_TORN, NULL};
		ok = ok && run_case(&t);
		if (slot)
			__atomic_fetch_add(&slot->seq, 1, __ATOMIC_SEQ_CST);
		struct tcase t2 = {"even again", v4, Q(.id = 0x0dd, .flags = 0x0100, .name = "www.example.test", .qtype = 1), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL};
		ok = ok && run_case(&t2);
		printf("%s slot being rewritten (odd seq): passed up, not read\n",
		       ok ? "ok  " : "FAIL");
		ok ? passed++ : failed++;
	}

	/* The seqlock under a real race: a thread rewrites one name's slot
	 * over and over, alternating two different answers (1 and 3 RRs),
	 * while the program answers that name.  Every frame it sends must be
	 * exactly one of the two answers; frames built across a rewrite are
	 * dropped (torn).  Bounded: a fixed number of runs. */
	{
		struct race_arg ra = {0};
		struct qspec qr = {.name = "race.example.test", .qtype = 1};
		make_entry(E_RACE1, &qr, 0, 1, 1, 0, 300, false, 100, 0);
		ra.v[0] = last_entry;
		make_entry(E_RACE2, &qr, 0, 3, 1, 0, 600, false, 100, 0);
		ra.v[1] = last_entry;
		/* the answers must differ beyond the TTLs */
		bool ok = ra.v[0].tail_len != ra.v[1].tail_len;
		pthread_t th;
		cpu_set_t saved_cpus;
		pthread_getaffinity_np(pthread_self(), sizeof(saved_cpus), &saved_cpus);
		pin_to(0);
		ok = ok && pthread_create(&th, NULL, race_writer, &ra) == 0;
		int runs = 20000, sent = 0, torn = 0, wrong = 0;
		struct buf qb;
		build_query(&qb, &Q(.id = 0x7ace, .flags = 0x0100, .name = "race.example.test", .qtype = 1));
		static uint8_t in[512], out[4096], want[2][4096], dnsw[4096];
		size_t len = build_frame(in, &v4, qb.b, qb.len, false);
		for (int r = 0; ok && r < runs; r++) {
			size_t wl[2];
			for (int k = 0; k < 2; k++) {
				size_t dl = socket_answer(E_RACE1 + k, qb.b, qb.len, dnsw);
				wl[k] = build_frame(want[k], &v4, dnsw, dl, true);
			}
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
				    .data_size_in = (uint32_t)len, .data_out = out,
				    .data_size_out = sizeof(out), .repeat = 1);
			if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.vd_xdp_main), &o) != 0) {
				ok = false;
				break;
			}
			if (o.retval == XDP_DROP || o.retval == XDP_PASS) {
				torn++;
				continue;
			}
			sent++;
			bool m0 = o.data_size_out == wl[0] && memcmp(out, want[0], wl[0]) == 0;
			bool m1 = o.data_size_out == wl[1] && memcmp(out, want[1], wl[1]) == 0;
			if (!m0 && !m1)
				wrong++;
		}
		atomic_store(&ra.stop, 1);
		pthread_join(th, NULL);
		pthread_setaffinity_np(pthread_self(), sizeof(saved_cpus), &saved_cpus);
		ok = ok && wrong == 0 && sent > 0;
		printf("%s seqlock under a rewriting thread: %d runs, %d answers "
		       "sent, %d torn and not sent, %d wrong (%lu rewrites)\n",
		       ok ? "ok  " : "FAIL", runs, sent, torn, wrong, ra.writes);
		ok ? passed++ : failed++;
		(void)vd_xdp_slots_del(&slots, &ra.v[0].qkey, ra.v[0].khash);
	}

	/* Admission (the mirror holds what XDP can serve, popular names
	 * first): with a name XDP serves in place, twice the mirror's size
	 * in one-off names arrive; the served name keeps its slot.  Then a
	 * new name arrives into the full mirror and still finds room (an
	 * expired slot, or one of a one-off name XDP never served). */
	{
		struct tcase hot = {"pop", v4, Q(.id = 0x909, .flags = 0x0100, .name = "pop.example.test", .qtype = 1), E_POP, TX, VD_XDP_CTR_HIT, NULL};
		struct qspec qp = {.name = "pop.example.test", .qtype = 1};
		make_entry(E_POP, &qp, 0, 1, 1, 0, 300, false, 100, 0);
		bool ok = run_case(&hot);
		static struct stored one;
		static char nm[64];
		int declined = 0;
		for (int i = 0; i < 2 * TEST_SLOTS; i++) {
			snprintf(nm, sizeof(nm), "oneoff%d.example.test", i);
			struct qspec qo = {.name = nm, .qtype = 1};
			/* make_entry aborts on a refusal: build it here */
			struct buf qb2;
			struct vd_dns_query q;
			build_query(&qb2, &qo);
			(void)one;
			if (vd_dns_query_parse(qb2.b, qb2.len, &q) != VD_DNS_QUERY_OK)
				abort();
			uint8_t key[VD_DNS_KEY_MAX];
			size_t klen = vd_dns_query_key(&q, key);
			uint64_t k;
			static struct vd_xdp_entry v;
			struct stored *sp = &st[E_POP]; /* any answer will do */
			if (vd_xdp_entry_build(key, klen, sp->wire, &sp->meta,
					       sp->ttl_offs, sp->stored_ns,
					       sp->stored_ns + 300 * VD_NS_PER_SEC,
					       VD_XDP_ANSWER_MAX, seed, &k, &v) != 0) {
				/* qname_len differs: rebuild the answer */
				make_entry(E_RAND, &qo, 0, 1, 1, 0, 300, false, 100, 0);
				continue;
			}
			declined += vd_xdp_slots_put(&slots, &v, vd_now_ns()) < 0;
		}
		hot.q.id = 0x90a;
		ok = ok && run_case(&hot);
		printf("%s %d one-off names into %d slots: the served name kept "
		       "its slot (%d one-offs found no room)\n", ok ? "ok  " : "FAIL",
		       2 * TEST_SLOTS, TEST_SLOTS, declined);
		ok ? passed++ : failed++;
		struct qspec ql = {.name = "late.example.test", .qtype = 1};
		make_entry(E_RAND, &ql, 0, 2, 1, 0, 300, false, 100, 0); /* aborts if refused */
		struct tcase late = {"late", v4, Q(.id = 0x90b, .flags = 0x0100, .name = "late.example.test", .qtype = 1), E_RAND, TX, VD_XDP_CTR_HIT, NULL};
		ok = run_case(&late);
		printf("%s a new name into the full mirror: admitted and served\n",
		       ok ? "ok  " : "FAIL");
		ok ? passed++ : failed++;
		/* expiry: the sweep empties expired slots (not a day later) */
		struct qspec qx = {.name = "gone.example.test", .qtype = 1};
		make_entry(E_RAND, &qx, 0, 1, 1, 0, 300, false, 3000, 1000);
		size_t used0 = vd_xdp_slots_used(&slots, 0);
		size_t cleared = vd_xdp_slots_sweep(&slots, vd_now_ns(), TEST_SLOTS);
		size_t exp_used = vd_xdp_slots_used(&slots, 0);
		ok = cleared >= 1 && exp_used == used0 - cleared;
		struct tcase ex = {"expired gone", v4, Q(.id = 4, .flags = 0x0100, .name = "gone.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_MISS, NULL};
		ok = ok && run_case(&ex);
		printf("%s sweep empties expired slots (%zu)\n", ok ? "ok  " : "FAIL",
		       cleared);
		ok ? passed++ : failed++;
	}

	/* An ACL that allows everyone skips the trie (VD_XDP_ACL_ALL): a
	 * client the trie would refuse is answered then, and refused again
	 * once the flag is cleared. */
	{
		int cfd = bpf_map__fd(skel->maps.vd_xdp_config);
		uint32_t zero = 0;
		struct vd_xdp_conf conf = {.prefetch = 1, .prefetch_percent = 10,
					   .prefetch_min_hits = 2};
		conf.acl_mode = VD_XDP_ACL_ALL;
		bool ok = bpf_map_update_elem(cfd, &zero, &conf, 0) == 0;
		struct tcase t1 = {"acl_all", v4deny, Q(.id = 8, .flags = 0x0100, .name = "www.example.test", .qtype = 1), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL};
		ok = ok && run_case(&t1);
		conf.acl_mode = VD_XDP_ACL_TRIE;
		ok = ok && bpf_map_update_elem(cfd, &zero, &conf, 0) == 0;
		struct tcase t2 = {"acl", v4deny, Q(.id = 8, .flags = 0x0100, .name = "www.example.test", .qtype = 1), -1, PASS, VD_XDP_CTR_ACL, NULL};
		ok = ok && run_case(&t2);
		printf("%s allow-all ACL flag skips the trie; cleared, the trie "
		       "decides again\n", ok ? "ok  " : "FAIL");
		ok ? passed++ : failed++;
	}

	if (bench > 0) {
		/* Cost per answered hit.  BPF_PROG_TEST_RUN with repeat would
		 * rerun the program on its own answer (a QR=1 pass), so each
		 * hit is one run (repeat=1) of a fresh query, and the cost is
		 * read two ways:
		 *  - "stats": the kernel's own run-time accounting of the
		 *    program (BPF_ENABLE_STATS: run_time_ns / run_cnt), which
		 *    times the program alone (plus two clock reads; the
		 *    XDP_PASS-only program shows what those cost);
		 *  - "test-run": the mean of the test run's duration, which
		 *    also counts the test-run machinery of a repeat=1 run; a
		 *    program that only returns XDP_PASS, timed the same way,
		 *    shows that fixed part.
		 * The figure the benchmark compares is the "stats" one. */
		static const struct {
			const char *what;
			const char *name;
			uint16_t qtype;
			int edns;
			bool do_bit;
		} b[] = {{"hit A, 2 RRs, EDNS", "www.example.test", 1, 1232, false},
			 {"hit ~1.1 KB signed, DO", "signed.example.test", 1, 1232, true},
			 {"miss (parse + lookup)", "nope.example.test", 1, 1232, false}};
		/* the settings as the daemon writes them for the lab's
		 * configuration: VIPs and ACL as small tables */
		uint32_t zero = 0;
		bpf_map_update_elem(bpf_map__fd(skel->maps.vd_xdp_config), &zero,
				    &tc, 0);
		int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		int prog_fd = bpf_program__fd(skel->progs.vd_xdp_main);
		/* r0 = XDP_PASS; exit */
		struct bpf_insn nop[] = {
			{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS},
			{.code = BPF_JMP | BPF_EXIT},
		};
		int nop_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "vd_nop", "GPL", nop,
					   2, NULL);
		/* Cases (and the XDP_PASS-only program) take turns, one
		 * round each, 20 rounds: drift and other load on the machine
		 * hit every case alike.  The median of a case's round means
		 * is its figure; the best round is shown beside it. */
		enum { NC = sizeof(b) / sizeof(b[0]) + 1, ROUNDS = 20 };
		static uint8_t in[NC][512];
		size_t len[NC];
		double sts[NC][ROUNDS], tr[NC][ROUNDS];
		uint64_t n[NC];
		for (size_t k = 0; k < NC; k++) {
			size_t bk = k == NC - 1 ? 0 : k;
			struct buf qb;
			build_query(&qb, &Q(.id = 1, .flags = 0x0100, .name = b[bk].name, .qtype = b[bk].qtype, .edns = b[bk].edns, .do_bit = b[bk].do_bit));
			len[k] = build_frame(in[k], &v4, qb.b, qb.len, false);
			n[k] = 0;
		}
		long per_round = bench / ROUNDS > 0 ? bench / ROUNDS : 1;
		for (int rd = -1; rd < ROUNDS; rd++) { /* round -1: warm-up */
			for (size_t k = 0; k < NC; k++) {
				int fd = k == NC - 1 ? nop_fd : prog_fd;
				if (fd < 0)
					continue;
				static uint8_t out[4096];
				struct bpf_prog_info i0, i1;
				uint32_t il = sizeof(i0);
				uint64_t total = 0, m = 0;
				memset(&i0, 0, sizeof(i0));
				memset(&i1, 0, sizeof(i1));
				bpf_obj_get_info_by_fd(fd, &i0, &il);
				for (long r = 0; r < per_round; r++) {
					LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in[k],
						    .data_size_in = (uint32_t)len[k],
						    .data_out = out,
						    .data_size_out = sizeof(out),
						    .repeat = 1);
					if (bpf_prog_test_run_opts(fd, &o) == 0) {
						total += o.duration;
						m++;
					}
				}
				il = sizeof(i1);
				bpf_obj_get_info_by_fd(fd, &i1, &il);
				if (rd < 0)
					continue;
				uint64_t cnt = i1.run_cnt - i0.run_cnt;
				sts[k][rd] = cnt ? (double)(i1.run_time_ns - i0.run_time_ns) / (double)cnt : 0.0;
				tr[k][rd] = m ? (double)total / (double)m : 0.0;
				n[k] += m;
			}
		}
		for (size_t k = 0; k < NC; k++) {
			const char *what = k == NC - 1 ? "XDP_PASS-only program" : b[k].what;
			if ((k == NC - 1 ? nop_fd : prog_fd) < 0)
				continue;
			qsort(sts[k], ROUNDS, sizeof(sts[k][0]), cmp_double);
			qsort(tr[k], ROUNDS, sizeof(tr[k][0]), cmp_double);
			printf("bench: %-26s stats %.1f ns per run (best round %.1f); "
			       "test-run %.1f ns (best %.1f) (repeat=1, %llu runs)\n",
			       what, stats_fd >= 0 ? sts[k][ROUNDS / 2] : 0.0,
			       stats_fd >= 0 ? sts[k][0] : 0.0, tr[k][ROUNDS / 2],
			       tr[k][0], (unsigned long long)n[k]);
			if (k != 2)
				continue;
			/* A pass leaves the frame as it was, so repeat works
			 * here and shows the fixed cost of repeat=1. */
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in[k],
				    .data_size_in = (uint32_t)len[k],
				    .repeat = (uint32_t)bench);
			if (bpf_prog_test_run_opts(prog_fd, &o) == 0)
				printf("bench: %-26s test-run %u ns per run (repeat=%ld)\n",
				       what, o.duration, bench);
		}
		if (nop_fd >= 0)
			close(nop_fd);
		if (stats_fd >= 0)
			close(stats_fd);
	}

	/* A node-id longer than VD_XDP_NSID_MAX: the program cannot append
	 * it, so queries asking for NSID go up (counter "nsid"); the others
	 * are still answered.  Needs its own load (the node-id is rodata).
	 *
	 * Not testable here: "no-room" (bpf_xdp_adjust_tail refusing to
	 * grow).  BPF_PROG_TEST_RUN gives every frame a page with room for
	 * any answer up to VD_XDP_ANSWER_MAX (1232 + headers), and frames
	 * past one page need a frags-aware program. */
	{
		static uint8_t long_nsid[VD_XDP_NSID_MAX + 1];
		memset(long_nsid, 'n', sizeof(long_nsid));
		vd_xdp_bpf__destroy(skel);
		skel = NULL;
		bool ok = setup(long_nsid, sizeof(long_nsid), false) == 0;
		struct tcase t1 = {"nsid too long", v4, Q(.id = 0x3334, .flags = 0x0100, .name = "www.example.test", .qtype = 1, .edns = 1232, .opts = OPT_NSID, .opts_len = sizeof(OPT_NSID)), -1, PASS, VD_XDP_CTR_NSID, NULL};
		ok = ok && run_case(&t1);
		printf("%s NSID asked, node-id of %zu bytes (> %d): passed to "
		       "user space\n", ok ? "ok  " : "FAIL", sizeof(long_nsid),
		       VD_XDP_NSID_MAX);
		ok ? passed++ : failed++;
		struct tcase t2 = {"no NSID asked, long node-id", v4, Q(.id = 0x3335, .flags = 0x0100, .name = "www.example.test", .qtype = 1, .edns = 1232), E_WWW_A, TX, VD_XDP_CTR_HIT, NULL};
		ok = skel && run_case(&t2);
		printf("%s no NSID asked, long node-id: answered by XDP\n",
		       ok ? "ok  " : "FAIL");
		ok ? passed++ : failed++;
	}

	vd_xdp_bpf__destroy(skel);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

