#include "cache/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "dns/name_wire.h"
#include "dns/query.h"
#include "dns/wire.h"

static const uint8_t MAGIC[8] = {'V', 'D', 'N', 'S', 'S', 'N', 'A', 'P'};
#define HDR_LEN (8 + 4 + 4 + 8 + VD_SNAPSHOT_DIGEST_LEN)
#define ENTRY_HDR_LEN (2 + 2 + 1 + 1 + 4)
#define TRAILER_LEN (8 + 32)
#define ENTRY_F_SECURE 0x01u
/* A snapshot written up to this long "in the future" is a clock step
 * between two hosts or across a reboot, not a forgery; past it the file is
 * refused rather than trusting TTLs against a clock that went backwards. */
#define FUTURE_SLACK_NS (60 * VD_NS_PER_SEC)

static void put_u64(uint8_t *p, uint64_t v)
{
	vd_put_u32(p, (uint32_t)(v >> 32));
	vd_put_u32(p + 4, (uint32_t)v);
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)vd_get_u32(p) << 32 | vd_get_u32(p + 4);
}

static bool sha256(const uint8_t *p, size_t len, uint8_t md[32])
{
	unsigned int n = 0;
	return EVP_Digest(p, len, md, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* ------------------------------------------------------------ writing */

struct rec {
	size_t off; /* in the records buffer */
	uint32_t hits;
};

struct build {
	uint64_t now_ns;
	uint8_t *buf;
	size_t len, cap;
	struct rec *recs;
	size_t n, rcap;
	bool oom;
};

static bool cacheable(uint8_t kind)
{
	return kind == VD_DNS_ANSWER_POSITIVE || kind == VD_DNS_ANSWER_NODATA ||
	       kind == VD_DNS_ANSWER_NXDOMAIN;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

static int visit(void *arg, const struct vd_cache_entry *e)
{
	struct build *b = arg;
	if (e->expire_ns <= b->now_ns || !cacheable(e->meta.kind))
		return 0;
	size_t need = ENTRY_HDR_LEN + e->key_len + e->meta.wire_len;
	if (!grow((void **)&b->buf, &b->cap, b->len + need, 1) ||
	    !grow((void **)&b->recs, &b->rcap, b->n + 1, sizeof(*b->recs))) {
		b->oom = true;
		return 1;
	}
	uint8_t *p = b->buf + b->len;
	uint32_t hits = atomic_load_explicit(&e->hits, memory_order_relaxed);
	vd_put_u16(p, e->key_len);
	vd_put_u16(p + 2, e->meta.wire_len);
	p[4] = e->meta.secure ? ENTRY_F_SECURE : 0;
	p[5] = 0;
	vd_put_u32(p + 6, hits);
	memcpy(p + ENTRY_HDR_LEN, e->key, e->key_len);
	uint8_t *w = p + ENTRY_HDR_LEN + e->key_len;
	memcpy(w, e->wire, e->meta.wire_len);
	/* Counted down as a client would see them now (answer.h), so the
	 * file needs no clock but the wall clock of its header. */
	uint32_t elapsed = (uint32_t)((b->now_ns - e->stored_ns) / VD_NS_PER_SEC);
	for (size_t i = 0; i < e->meta.n_ttls; i++) {
		uint32_t t = vd_get_u32(w + e->ttl_offs[i]);
		vd_put_u32(w + e->ttl_offs[i], t > elapsed ? t - elapsed : 0);
	}
	b->recs[b->n++] = (struct rec){.off = b->len, .hits = hits};
	b->len += need;
	return 0;
}

static int by_hits_desc(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->hits != y->hits)
		return x->hits > y->hits ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

int vd_snapshot_build(struct vd_cache *c, const struct vd_snapshot_build_opts *o,
		      uint8_t **out, size_t *len, size_t *n_out)
{
	struct build b = {.now_ns = o->now_ns};
	vd_cache_foreach(c, visit, &b);
	int rc = -ENOMEM;
	if (b.oom)
		goto done;
	for (size_t i = 0; o->extra_hits && i < b.n; i++) {
		uint8_t *p = b.buf + b.recs[i].off;
		uint64_t h = b.recs[i].hits +
			     o->extra_hits(o->extra_arg, p + ENTRY_HDR_LEN,
					   vd_get_u16(p));
		b.recs[i].hits = h > UINT32_MAX ? UINT32_MAX : (uint32_t)h;
		vd_put_u32(p + 6, b.recs[i].hits);
	}
	if (b.n > 1) /* NULL with nothing visited: not for qsort */
		qsort(b.recs, b.n, sizeof(*b.recs), by_hits_desc);
	size_t n = o->max_entries && o->max_entries < b.n ? o->max_entries : b.n;
	size_t body = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = b.buf + b.recs[i].off;
		body += ENTRY_HDR_LEN + vd_get_u16(p) + vd_get_u16(p + 2);
	}
	size_t total = HDR_LEN + body + TRAILER_LEN;
	uint8_t *f = malloc(total);
	if (!f)
		goto done;
	memcpy(f, MAGIC, sizeof(MAGIC));
	vd_put_u32(f + 8, VD_SNAPSHOT_VERSION);
	vd_put_u32(f + 12, 0);
	put_u64(f + 16, o->real_ns);
	memcpy(f + 24, o->digest, VD_SNAPSHOT_DIGEST_LEN);
	size_t pos = HDR_LEN;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = b.buf + b.recs[i].off;
		size_t l = ENTRY_HDR_LEN + vd_get_u16(p) + vd_get_u16(p + 2);
		memcpy(f + pos, p, l);
		pos += l;
	}
	put_u64(f + pos, n);
	if (!sha256(f, pos + 8, f + pos + 8)) {
		free(f);
		rc = -EIO;
		goto done;
	}
	*out = f;
	*len = total;
	*n_out = n;
	rc = 0;
done:
	free(b.buf);
	free(b.recs);
	return rc;
}

int vd_snapshot_save(struct vd_cache *c, const char *path,
		     const struct vd_snapshot_build_opts *o, size_t *n_out,
		     char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;
	int rc = vd_snapshot_build(c, o, &buf, &len, &n);
	if (rc != 0) {
		snprintf(err, errlen, "cannot serialise the cache: %s",
			 strerror(-rc));
		return rc;
	}
	/* A reader never sees a half-written file: it is complete and on
	 * disk before it takes the name. */
	struct vd_atomic_file af;
	rc = vd_atomic_open(&af, path, 0640);
	if (rc == 0) {
		if (fwrite(buf, 1, len, af.f) != len) {
			rc = -EIO;
			vd_atomic_abort(&af);
		} else {
			rc = vd_atomic_commit(&af);
		}
	}
	free(buf);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	*n_out = n;
	return 0;
}

/* ------------------------------------------------------------ reading */

struct entry_view {
	const uint8_t *key;
	uint16_t key_len;
	const uint8_t *wire;
	uint16_t wire_len;
	bool secure;
};

/* The question a key stands for, as the normaliser wants it. */
static bool key_query(const uint8_t *key, size_t len, struct vd_dns_query *q)
{
	if (len <= VD_DNS_KEY_HDR || len > VD_DNS_KEY_MAX)
		return false;
	if (key[0] & ~(VD_DNS_KEY_F_DO | VD_DNS_KEY_F_CD))
		return false;
	size_t nlen = len - VD_DNS_KEY_HDR;
	const uint8_t *name = key + VD_DNS_KEY_HDR;
	if (!vd_dns_name_valid(name, nlen))
		return false;
	for (size_t i = 0; i < nlen; i++)
		if (name[i] != vd_dns_lower_byte(name[i]))
			return false; /* keys are lower-cased: not one of ours */
	memset(q, 0, sizeof(*q));
	q->qtype = vd_get_u16(key + 1);
	q->qclass = vd_get_u16(key + 3);
	q->qname_len = (uint8_t)nlen;
	memcpy(q->qname, name, nlen);
	q->question_len = (uint16_t)(nlen + 4);
	if (key[0] & VD_DNS_KEY_F_CD)
		q->flags |= VD_DNS_F_CD;
	if (key[0] & VD_DNS_KEY_F_DO) {
		q->has_edns = true;
		q->edns_flags = VD_DNS_EDNS_DO;
	}
	return true;
}

/* Next entry at *pos, bounds-checked; false at a malformed one. */
static bool next_entry(const uint8_t *buf, size_t end, size_t *pos,
		       struct entry_view *v)
{
	if (end - *pos < ENTRY_HDR_LEN)
		return false;
	const uint8_t *p = buf + *pos;
	v->key_len = vd_get_u16(p);
	v->wire_len = vd_get_u16(p + 2);
	if ((p[4] & ~ENTRY_F_SECURE) || p[5] != 0)
		return false;
	v->secure = p[4] & ENTRY_F_SECURE;
	size_t l = ENTRY_HDR_LEN + (size_t)v->key_len + v->wire_len;
	if (end - *pos < l)
		return false;
	v->key = p + ENTRY_HDR_LEN;
	v->wire = v->key + v->key_len;
	*pos += l;
	return true;
}

struct scratch {
	uint8_t out[VD_DNS_MSG_MAX];
	uint16_t ttl_offs[VD_DNS_ANSWER_MAX_RRS];
};

static int normalise(const struct entry_view *v,
		     const struct vd_snapshot_load_opts *o, struct scratch *s,
		     struct vd_dns_answer_meta *meta)
{
	struct vd_dns_query q;
	if (!key_query(v->key, v->key_len, &q))
		return -EBADMSG;
	/* The TTLs were clamped when first stored; only the ceilings apply
	 * again (they may have been lowered since).  Raising them to
	 * cache-min-ttl again would stretch a lifetime that already ran. */
	struct vd_dns_norm_opts no = {
		.strip_dnssec = !vd_dns_query_do(&q),
		.secure = v->secure,
		.min_ttl = 0,
		.max_ttl = o->max_ttl,
		.max_neg_ttl = o->neg_ttl_for
				       ? o->neg_ttl_for(o->neg_arg,
							v->key + VD_DNS_KEY_HDR,
							v->key_len - VD_DNS_KEY_HDR)
				       : o->max_neg_ttl,
		.servfail_ttl = 0,
	};
	return vd_dns_answer_normalise(v->wire, v->wire_len, &q, &no, s->out,
				       sizeof(s->out), s->ttl_offs,
				       VD_DNS_ANSWER_MAX_RRS, meta);
}

static int bad(char *err, size_t errlen, int rc, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return rc;
}

int vd_snapshot_apply(struct vd_cache *c, const uint8_t *buf, size_t len,
		      const struct vd_snapshot_load_opts *o,
		      struct vd_snapshot_counts *counts, char *err,
		      size_t errlen)
{
	struct vd_snapshot_counts cnt = {0};
	if (len < HDR_LEN + TRAILER_LEN)
		return bad(err, errlen, -EBADMSG, "truncated (no header)");
	if (memcmp(buf, MAGIC, sizeof(MAGIC)) != 0)
		return bad(err, errlen, -EPROTO, "not a vipdns cache snapshot");
	uint32_t version = vd_get_u32(buf + 8);
	if (version != VD_SNAPSHOT_VERSION) {
		snprintf(err, errlen, "format version %u (this build reads %u)",
			 version, VD_SNAPSHOT_VERSION);
		return -EPROTO;
	}
	size_t end = len - TRAILER_LEN;
	uint8_t md[32];
	if (!sha256(buf, end + 8, md) || memcmp(md, buf + end + 8, 32) != 0)
		return bad(err, errlen, -EBADMSG,
			   "checksum mismatch (damaged or truncated)");
	if (vd_get_u32(buf + 12) != 0)
		return bad(err, errlen, -EBADMSG, "reserved header bits set");
	if (memcmp(buf + 24, o->digest, VD_SNAPSHOT_DIGEST_LEN) != 0)
		return bad(err, errlen, -EPROTO,
			   "written under other answer settings (dnssec, trust "
			   "anchors, root hints or unbound-option differ)");
	uint64_t written = get_u64(buf + 16);
	if (written > o->real_ns + FUTURE_SLACK_NS)
		return bad(err, errlen, -EBADMSG,
			   "written in the future (clock went backwards?)");

	uint64_t delta = 0;
	if (o->real_ns > written)
		delta = (o->real_ns - written + VD_NS_PER_SEC - 1) / VD_NS_PER_SEC;
	struct scratch *s = malloc(sizeof(*s));
	size_t *take = NULL, take_cap = 0;
	if (!s)
		return bad(err, errlen, -ENOMEM, "out of memory");
	struct vd_dns_answer_meta meta;
	struct entry_view v;
	struct vd_cache_stats cs;
	vd_cache_get_stats(c, &cs);
	size_t bytes = (size_t)cs.bytes, n_take = 0;
	bool full = false;
	/* First pass: all of it or nothing; and, hottest first, the entries
	 * the budget has room for (past it they would only evict each
	 * other). */
	size_t pos = HDR_LEN, n = 0;
	while (pos < end) {
		size_t at = pos;
		if (!next_entry(buf, end, &pos, &v)) {
			snprintf(err, errlen, "entry %zu: malformed record", n);
			goto refuse;
		}
		int rc = normalise(&v, o, s, &meta);
		if (rc != 0) {
			snprintf(err, errlen, "entry %zu: unusable answer (%s)",
				 n, strerror(-rc));
			goto refuse;
		}
		n++;
		if (!cacheable(meta.kind)) {
			cnt.skipped++;
		} else if (meta.ttl <= delta) {
			cnt.expired++;
		} else if (full || bytes + vd_cache_charge(v.key_len, &meta) >
					   o->max_bytes) {
			full = true;
			cnt.skipped++;
		} else {
			if (!grow((void **)&take, &take_cap, n_take + 1,
				  sizeof(*take))) {
				snprintf(err, errlen, "out of memory");
				free(take);
				free(s);
				return -ENOMEM;
			}
			bytes += vd_cache_charge(v.key_len, &meta);
			take[n_take++] = at;
		}
	}
	if (get_u64(buf + end) != n) {
		snprintf(err, errlen, "entry count does not match the trailer");
		goto refuse;
	}
	cnt.entries = n;

	/* Coldest first: the XDP mirror, which hears every insert, gives a
	 * full set's oldest unanswered way to the newcomer, so the hottest
	 * names must come last to stay there. */
	for (size_t t = n_take; t-- > 0;) {
		pos = take[t];
		(void)next_entry(buf, end, &pos, &v);
		(void)normalise(&v, o, s, &meta);
		meta.ttl -= (uint32_t)delta;
		for (size_t i = 0; i < meta.n_ttls; i++) {
			uint32_t ttl = vd_get_u32(s->out + s->ttl_offs[i]);
			vd_put_u32(s->out + s->ttl_offs[i],
				   ttl > delta ? ttl - (uint32_t)delta : 0);
		}
		uint64_t h = vd_cache_hash(v.key, v.key_len);
		rcu_read_lock();
		const struct vd_cache_entry *cur =
			vd_cache_lookup(c, v.key, v.key_len, h);
		bool have = cur && o->now_ns < cur->expire_ns;
		rcu_read_unlock();
		if (have) {
			cnt.present++;
			continue;
		}
		if (vd_cache_insert(c, v.key, v.key_len, h, s->out, &meta,
				    s->ttl_offs, o->now_ns) == 0)
			cnt.loaded++;
		else
			cnt.skipped++;
	}
	free(take);
	free(s);
	if (counts)
		*counts = cnt;
	return 0;
refuse:
	free(take);
	free(s);
	return -EBADMSG;
}

int vd_snapshot_load(struct vd_cache *c, const char *path, size_t max_file,
		     const struct vd_snapshot_load_opts *o,
		     struct vd_snapshot_counts *counts, char *err,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		return -e;
	}
	struct stat st;
	int rc = 0;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = bad(err, errlen, -EINVAL, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > max_file) {
		snprintf(err, errlen, "%lld bytes, more than %zu",
			 (long long)st.st_size, max_file);
		rc = -EFBIG;
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf) {
		rc = bad(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EBADMSG;
			snprintf(err, errlen, "%s",
				 r < 0 ? strerror(errno) : "shrank while read");
			goto out;
		}
		got += (size_t)r;
	}
	rc = vd_snapshot_apply(c, buf, len, o, counts, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}
