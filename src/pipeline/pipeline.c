#include "pipeline/pipeline.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "acl/acl.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "daemon/cookies.h"
#include "daemon/daemon.h"
#include "daemon/worker.h"
#include "dataplane/socket/socket.h"
#include "resolve/resolve.h"

uint16_t vd_pipeline_max_size(const struct vd_worker *w,
			      const struct vd_dns_query *q,
			      const struct vd_reply_to *dest)
{
	if (dest->transport == VD_TRANSPORT_TCP)
		return VD_DNS_MSG_MAX;
	return vd_dns_client_max_size(
		q, vd_worker_settings(w)->cfg.edns_buffer_size);
}

/* The client's address as cookies hash it: 4 bytes for IPv4, also when
 * it arrived v4-mapped on an IPv6 socket (another node may see it on an
 * IPv4 one). */
static size_t client_ip(const struct vd_reply_to *dest, uint8_t ip[16])
{
	if (dest->peer.ss_family == AF_INET) {
		memcpy(ip, &((const struct sockaddr_in *)&dest->peer)->sin_addr, 4);
		return 4;
	}
	if (dest->peer.ss_family != AF_INET6)
		return 0;
	const uint8_t *a =
		((const struct sockaddr_in6 *)&dest->peer)->sin6_addr.s6_addr;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (!memcmp(a, mapped, 12)) {
		memcpy(ip, a + 12, 4);
		return 4;
	}
	memcpy(ip, a, 16);
	return 16;
}

/*
 * DNS cookies (RFC 7873, RFC 9018): made per answer, never cached.  A
 * valid fresh server cookie is echoed; otherwise the client gets a new
 * one made with the active secret.  Returns the verdict on the query's
 * cookie (NONE when it has none or cookies are off).
 */
static enum vd_dns_cookie_verdict cookie_opts(const struct vd_dns_query *q,
					      const struct vd_reply_to *dest,
					      struct vd_dns_resp_opts *ro)
{
	if (!(q->opts_seen & VD_DNS_SEEN_COOKIE))
		return VD_DNS_COOKIE_NONE;
	const struct vd_cookie_secrets *cs = vd_cookies_current();
	uint8_t ip[16];
	size_t ip_len = client_ip(dest, ip);
	if (!cs || cs->n == 0 || ip_len == 0)
		return VD_DNS_COOKIE_NONE;
	uint32_t now = (uint32_t)time(NULL);
	enum vd_dns_cookie_verdict v = vd_dns_cookie_check(
		(const uint8_t(*)[VD_DNS_COOKIE_SECRET_LEN])cs->s, cs->n,
		q->cookie, q->cookie_len, ip, ip_len, now);
	if (v == VD_DNS_COOKIE_VALID) {
		memcpy(ro->cookie, q->cookie, q->cookie_len);
		ro->cookie_len = q->cookie_len;
		return v;
	}
	memcpy(ro->cookie, q->cookie, VD_DNS_COOKIE_CLIENT_LEN);
	vd_dns_cookie_make(cs->s[0], q->cookie, ip, ip_len, now,
			   ro->cookie + VD_DNS_COOKIE_CLIENT_LEN);
	ro->cookie_len = VD_DNS_COOKIE_CLIENT_LEN + VD_DNS_COOKIE_SERVER_LEN;
	return v;
}

static enum vd_dns_cookie_verdict resp_opts(const struct vd_worker *w,
					    const struct vd_dns_query *q,
					    const struct vd_reply_to *dest,
					    struct vd_dns_resp_opts *ro)
{
	const struct vd_settings *st = vd_worker_settings(w);
	memset(ro, 0, sizeof(*ro));
	ro->max_size = vd_pipeline_max_size(w, q, dest);
	ro->edns_size = st->cfg.edns_buffer_size;
	ro->nsid = st->nsid_len ? st->nsid : NULL;
	ro->nsid_len = st->nsid_len;
	ro->ede = -1;
	/* RFC 8467 4.1: pad on encrypted transports, to clients that pad. */
	if (dest->tls && st->cfg.pad_responses &&
	    (q->opts_seen & VD_DNS_SEEN_PADDING))
		ro->pad_block = 468;
	return cookie_opts(q, dest, ro);
}

static size_t counted(struct vd_worker *w, const uint8_t *ans, size_t n)
{
	if (n >= VD_DNS_HEADER_LEN) {
		VD_STAT_INC(&w->stats, rcode[ans[3] & 0x0f]);
		if (ans[2] & (VD_DNS_F_TC >> 8))
			VD_STAT_INC(&w->stats, truncated);
	}
	return n;
}

size_t vd_pipeline_answer_stored(struct vd_worker *w,
				 const struct vd_dns_query *q,
				 const struct vd_reply_to *dest,
				 const uint8_t *wire,
				 const struct vd_dns_answer_meta *meta,
				 const uint16_t *ttl_offs, uint32_t elapsed,
				 bool stale, uint8_t *out, size_t cap)
{
	struct vd_dns_resp_opts ro;
	resp_opts(w, q, dest, &ro);
	if (stale) {
		/* RFC 8767 4: a short TTL so clients come back soon, and
		 * RFC 8914 EDE 3 so operators can tell. */
		ro.ede = VD_DNS_EDE_STALE_ANSWER;
		ro.ttl_override = vd_worker_settings(w)->cfg.stale_answer_ttl;
		VD_STAT_INC(&w->stats, stale_served);
	}
	return vd_dns_answer_write(wire, meta, ttl_offs, q, elapsed, &ro, out,
				   cap);
}

static size_t answer_entry(struct vd_worker *w, const struct vd_dns_query *q,
			   const struct vd_reply_to *dest,
			   const struct vd_cache_entry *e, uint64_t now,
			   bool stale, uint8_t *out, size_t cap)
{
	uint32_t elapsed = now > e->stored_ns
				   ? (uint32_t)((now - e->stored_ns) / VD_NS_PER_SEC)
				   : 0;
	return vd_pipeline_answer_stored(w, q, dest, e->wire, &e->meta,
					 e->ttl_offs, elapsed, stale, out, cap);
}

size_t vd_pipeline_answer_failure(struct vd_worker *w,
				  const struct vd_dns_query *q,
				  const uint8_t *key, size_t key_len,
				  uint64_t hash, const struct vd_reply_to *dest,
				  int ede, uint8_t *out, size_t cap)
{
	const struct vd_settings *st = vd_worker_settings(w);
	uint64_t now = vd_now_ns();
	const struct vd_cache_entry *e =
		vd_cache_lookup(w->daemon->cache, key, key_len, hash);
	if (e && e->meta.kind != VD_DNS_ANSWER_SERVFAIL) {
		/* Still fresh (another worker stored it meanwhile, or the
		 * entry a failed prefetch was to refresh): the normal answer,
		 * not one labelled stale. */
		if (now < e->expire_ns)
			return answer_entry(w, q, dest, e, now, false, out, cap);
		if (st->stale_max_ns && now <= e->expire_ns + st->stale_max_ns)
			return answer_entry(w, q, dest, e, now, true, out, cap);
	}
	struct vd_dns_resp_opts ro;
	resp_opts(w, q, dest, &ro);
	ro.ede = ede;
	return vd_dns_answer_error(q, VD_DNS_RCODE_SERVFAIL, &ro, out, cap);
}

static void maybe_prefetch(struct vd_worker *w, const struct vd_settings *st,
			   const struct vd_dns_query *q, const uint8_t *key,
			   size_t key_len, uint64_t hash,
			   const struct vd_cache_entry *e, uint64_t now)
{
	if (!st->cfg.prefetch || e->meta.kind == VD_DNS_ANSWER_SERVFAIL ||
	    atomic_load_explicit(&e->prefetching, memory_order_relaxed))
		return;
	uint64_t left = e->expire_ns - now;
	uint64_t window = (uint64_t)e->meta.ttl * VD_NS_PER_SEC / 100 *
			  st->cfg.prefetch_percent;
	if (left > window ||
	    atomic_load_explicit(&e->hits, memory_order_relaxed) <
		    st->cfg.prefetch_min_hits)
		return;
	/* One worker wins the flag; the entry's replacement starts clear. */
	uint8_t expected = 0;
	struct vd_cache_entry *me = (struct vd_cache_entry *)e;
	if (!atomic_compare_exchange_strong(&me->prefetching, &expected, 1))
		return;
	if (vd_res_prefetch(w->res, q, key, key_len, hash) != 0)
		atomic_store(&me->prefetching, 0);
}

static size_t handle(struct vd_worker *w, const uint8_t *pkt, size_t len,
		     const struct vd_reply_to *dest, uint64_t now, uint8_t *out,
		     size_t cap)
{
	const struct vd_settings *st = vd_worker_settings(w);
	struct vd_stats *s = &w->stats;
	if (dest->transport == VD_TRANSPORT_UDP)
		VD_STAT_INC(s, queries_udp);
	else
		VD_STAT_INC(s, queries_tcp);
	if (dest->tls)
		VD_STAT_INC(s, queries_tls); /* also counted as TCP */

	/* The ACL comes first: a dropped client costs no parsing. */
	enum vd_acl_action act =
		vd_acl_match(&st->cfg.acl, (const struct sockaddr *)&dest->peer);
	if (act == VD_ACL_DROP) {
		VD_STAT_INC(s, dropped_acl);
		return 0;
	}

	struct vd_dns_query q;
	enum vd_dns_verdict v = vd_dns_query_parse(pkt, len, &q);
	if (v == VD_DNS_QUERY_DROP) {
		VD_STAT_INC(s, dropped_malformed);
		return 0;
	}
	if (q.qname_len)
		VD_STAT_INC(s, qtype[vd_stats_qtype_slot(q.qtype)]);
	struct vd_dns_resp_opts ro;
	enum vd_dns_cookie_verdict cv = resp_opts(w, &q, dest, &ro);
	if (act == VD_ACL_REFUSE) {
		VD_STAT_INC(s, refused_acl);
		ro.ede = VD_DNS_EDE_PROHIBITED;
		/* Anybody can reach this answer with a forged source: keep it
		 * small (no NSID) so it amplifies as little as possible. */
		ro.nsid = NULL;
		ro.nsid_len = 0;
		return counted(w, out,
			       vd_dns_answer_error(&q, VD_DNS_RCODE_REFUSED, &ro,
						   out, cap));
	}
	switch (v) {
	case VD_DNS_QUERY_OK:
		break;
	case VD_DNS_QUERY_FORMERR:
		VD_STAT_INC(s, formerr);
		return counted(w, out,
			       vd_dns_answer_error(&q, VD_DNS_RCODE_FORMERR, &ro,
						   out, cap));
	case VD_DNS_QUERY_NOTIMP:
		return counted(w, out,
			       vd_dns_answer_error(&q, VD_DNS_RCODE_NOTIMP, &ro,
						   out, cap));
	case VD_DNS_QUERY_REFUSED:
		return counted(w, out,
			       vd_dns_answer_error(&q, VD_DNS_RCODE_REFUSED, &ro,
						   out, cap));
	case VD_DNS_QUERY_BADVERS:
		return counted(w, out,
			       vd_dns_answer_error(&q, VD_DNS_RCODE_BADVERS, &ro,
						   out, cap));
	default:
		VD_STAT_INC(s, dropped_malformed);
		return 0;
	}

	if (q.opts_seen & VD_DNS_SEEN_COOKIE) {
		switch (cv) {
		case VD_DNS_COOKIE_NONE:
			VD_STAT_INC(s, cookies_new);
			break;
		case VD_DNS_COOKIE_BAD:
			VD_STAT_INC(s, cookies_bad);
			break;
		case VD_DNS_COOKIE_VALID:
			VD_STAT_INC(s, cookies_valid);
			break;
		case VD_DNS_COOKIE_RENEW:
			VD_STAT_INC(s, cookies_renewed);
			break;
		}
		/*
		 * RFC 7873 5.2.4: a server cookie we did not make (another
		 * secret, expired, forged) over UDP gets BADCOOKIE with a
		 * good one, as BIND answers: the client retries with it, and
		 * a forged source gains a small answer.  Over TCP the
		 * address is proven: answer normally (with a new cookie).
		 */
		if (cv == VD_DNS_COOKIE_BAD && dest->transport == VD_TRANSPORT_UDP) {
			ro.nsid = NULL;
			ro.nsid_len = 0;
			/* Counted as cookies_bad, not by its header rcode
			 * bits (7 of the 12-bit 23 would read YXRRSET). */
			return vd_dns_answer_error(&q, VD_DNS_RCODE_BADCOOKIE,
						   &ro, out, cap);
		}
	}

	uint8_t key[VD_DNS_KEY_MAX];
	size_t key_len = vd_dns_query_key(&q, key);
	uint64_t hash = vd_cache_hash(key, key_len);
	const struct vd_cache_entry *e =
		vd_cache_lookup(w->daemon->cache, key, key_len, hash);
	if (e && now < e->expire_ns) {
		VD_STAT_INC(s, cache_hits);
		maybe_prefetch(w, st, &q, key, key_len, hash, e, now);
		return counted(w, out,
			       answer_entry(w, &q, dest, e, now, false, out, cap));
	}
	/* Resolution of this stale name failed recently: answer stale now
	 * rather than make the client wait for the same failure again. */
	if (e && st->stale_max_ns && e->meta.kind != VD_DNS_ANSWER_SERVFAIL &&
	    now < atomic_load_explicit(&e->stale_retry_ns, memory_order_relaxed) &&
	    now <= e->expire_ns + st->stale_max_ns) {
		/* Counted as a hit (and as stale): hits + misses = lookups. */
		VD_STAT_INC(s, cache_hits);
		return counted(w, out,
			       answer_entry(w, &q, dest, e, now, true, out, cap));
	}
	VD_STAT_INC(s, cache_misses);

	/*
	 * RFC 1034 4.3.1: recursion only when the client asked for it.  A
	 * non-recursive query from an allowed client is answered from the
	 * cache (above, as the XDP fast path does for every hit whatever RD
	 * says) and REFUSED otherwise.  That is Unbound's allow_snoop (its
	 * plain allow refuses RD=0 even from the cache).  A separate ACL
	 * action for snooping would need the XDP program to weigh RD
	 * against the ACL per packet; hits are not secrets a resolver of
	 * allowed clients keeps from them, so there is none.  No EDE: nothing is prohibited,
	 * there is just nothing to answer without recursing.
	 */
	if (!(q.flags & VD_DNS_F_RD))
		return counted(w, out,
			       vd_dns_answer_error(&q, VD_DNS_RCODE_REFUSED, &ro,
						   out, cap));

	if (dest->transport == VD_TRANSPORT_TCP)
		vd_tcp_conn_ref(dest->conn);
	int rc = vd_res_submit(w->res, &q, key, key_len, hash, dest);
	if (rc == 0)
		return 0;
	if (dest->transport == VD_TRANSPORT_TCP)
		vd_tcp_conn_unref(dest->conn);
	if (rc == -EBUSY)
		VD_STAT_INC(s, over_limit);
	return counted(w, out,
		       vd_pipeline_answer_failure(w, &q, key, key_len, hash, dest,
						  -1, out, cap));
}

size_t vd_pipeline_handle(struct vd_worker *w, const uint8_t *pkt,
			  size_t len, const struct vd_reply_to *dest,
			  uint8_t *out, size_t cap)
{
	/* Answers made now are timed here; answers that waited for a
	 * recursion are timed by resolve when they go out. */
	uint64_t t0 = vd_now_ns();
	size_t n = handle(w, pkt, len, dest, t0, out, cap);
	if (n)
		vd_stats_observe(&w->stats.answer_time, vd_now_ns() - t0);
	return n;
}

size_t vd_pipeline_handle_at(struct vd_worker *w, const uint8_t *pkt,
			     size_t len, const struct vd_reply_to *dest,
			     uint64_t now, uint8_t *out, size_t cap)
{
	return handle(w, pkt, len, dest, now, out, cap);
}

void vd_pipeline_send(struct vd_worker *w, const struct vd_reply_to *dest,
		      const uint8_t *ans, size_t len)
{
	counted(w, ans, len);
	if (dest->transport == VD_TRANSPORT_TCP) {
		vd_tcp_conn_answer(dest->conn, ans, len);
		return;
	}
	if (len == 0)
		return;
	ssize_t n = sendto(dest->fd, ans, len, MSG_DONTWAIT,
			   (const struct sockaddr *)&dest->peer, dest->peer_len);
	if (n < 0)
		VD_STAT_INC(&w->stats, send_errors);
}

void vd_pipeline_release(struct vd_worker *w, const struct vd_reply_to *dest)
{
	(void)w;
	if (dest->transport == VD_TRANSPORT_TCP)
		vd_tcp_conn_unref(dest->conn);
}
