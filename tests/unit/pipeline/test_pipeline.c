/*
 * src/pipeline/pipeline.c without a network (the harness of the resolve
 * tests: fake libunbound, fake TCP connections, AF_UNIX "UDP").  What a
 * query becomes: a cache answer, a recursion, or an answer at once.
 */
#include "../resolve/res_harness.h"

static const uint8_t ADDR1[4] = {203, 0, 113, 80};

static void setup_default(void)
{
	h_setup(NULL);
}

static void teardown(void)
{
	h_teardown();
}

/* Runs hq through the pipeline as a data plane would. */
static size_t handle(const struct h_query *hq, const struct vd_reply_to *dest,
		     uint8_t *out)
{
	rcu_read_lock();
	size_t n = vd_pipeline_handle(h.w, hq->wire.b, hq->wire.len, dest, out,
				      VD_DNS_MSG_MAX);
	rcu_read_unlock();
	return n;
}

static void store(const struct h_query *hq, uint32_t ttl, uint64_t at)
{
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, ttl, ADDR1);
	h_store(hq, &reply, at);
}

/* ---- 13b: RFC 1034 4.3.1, no recursion without RD ----------------- */

Test(rd, rd0_miss_is_refused_without_recursion, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 7, 0);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to udp = h_udp_dest(), tcp = h_tcp_dest(&conn);
	static uint8_t out[VD_DNS_MSG_MAX];

	size_t n = handle(&hq, &udp, out);
	cr_assert_gt(n, 0, "answered at once");
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_REFUSED);
	cr_assert_eq(out[2] & (VD_DNS_F_RD >> 8), 0, "RD copied (clear)");
	cr_assert_eq(fake_ub.n_calls, 0, "no recursion started");
	cr_assert_eq(vd_res_outstanding(h.w->res), 0);

	n = handle(&hq, &tcp, out);
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_REFUSED);
	cr_assert_eq(conn.inflight, 0, "no reference kept on the connection");
	cr_assert_eq(fake_ub.n_calls, 0);
	cr_assert_eq(h.w->stats.cache_misses, 2, "hits + misses = lookups");
}

Test(rd, rd0_expired_entry_is_refused_without_recursion,
     .init = setup_default, .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 7, 0);
	store(&hq, 0, vd_now_ns()); /* TTL 0: expired at once */
	struct vd_reply_to udp = h_udp_dest();
	static uint8_t out[VD_DNS_MSG_MAX];
	size_t n = handle(&hq, &udp, out);
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_REFUSED);
	cr_assert_eq(fake_ub.n_calls, 0);
}

Test(rd, rd0_hit_is_answered_from_cache, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 7, 0);
	store(&hq, 300, vd_now_ns());
	struct vd_reply_to udp = h_udp_dest();
	static uint8_t out[VD_DNS_MSG_MAX];
	size_t n = handle(&hq, &udp, out);
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ancount(out), 1);
	cr_assert_eq(out[2] & (VD_DNS_F_RD >> 8), 0);
	cr_assert_eq(fake_ub.n_calls, 0);
}

Test(rd, rd1_miss_is_recursed, .init = setup_default, .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 7, VD_DNS_F_RD);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	static uint8_t out[VD_DNS_MSG_MAX];
	cr_assert_eq(handle(&hq, &tcp, out), 0, "waits for the recursion");
	cr_assert_eq(fake_ub.n_calls, 1);
	cr_assert_str_eq(fake_ub.calls[0].name, "www.lab.");
	cr_assert_eq(conn.inflight, 1, "the waiter holds the connection");

	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	fake_fire(0, 0, reply.b, reply.len, 0, NULL);
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(conn.inflight, 0);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(conn.last[2] & (VD_DNS_F_RD >> 8), VD_DNS_F_RD >> 8);
}

/* ---- answers at once ---------------------------------------------- */

static void one_recursion(struct vd_config *cfg)
{
	cfg->max_recursions = 1;
	cfg->serve_stale = false;
}

Test(limits, over_max_recursions_answered_and_counted, .fini = teardown)
{
	h_setup(one_recursion);
	struct h_query a, b;
	h_query(&a, "www.lab", 1, VD_DNS_F_RD);
	h_query(&b, "mx.lab", 2, VD_DNS_F_RD);
	struct vd_tcp_conn ca = {0}, cb = {0};
	struct vd_reply_to ta = h_tcp_dest(&ca), tb = h_tcp_dest(&cb);
	static uint8_t out[VD_DNS_MSG_MAX];
	cr_assert_eq(handle(&a, &ta, out), 0);
	size_t n = handle(&b, &tb, out);
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(cb.inflight, 0);
	cr_assert_eq(h.w->stats.over_limit, 1);
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
	cr_assert_eq(ca.answers, 1);
	cr_assert_eq(ca.inflight, 0);
}

/* The node's health probe asks from loopback: a full max-recursions must
 * not shed it, or an overloaded node reads as broken and withdraws.
 * Clients from elsewhere are still shed. */
Test(limits, loopback_probe_not_shed, .fini = teardown)
{
	h_setup(one_recursion);
	struct h_query a, probe, other;
	h_query(&a, "www.lab", 1, VD_DNS_F_RD);
	h_query(&probe, "canary.lab", 2, VD_DNS_F_RD);
	h_query(&other, "mx.lab", 3, VD_DNS_F_RD);
	struct vd_tcp_conn ca = {0}, cp = {0}, co = {0};
	struct vd_reply_to ta = h_tcp_dest(&ca), tp = h_tcp_dest(&cp),
			   to = h_tcp_dest(&co);
	struct sockaddr_in lo = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	memcpy(&tp.peer, &lo, sizeof(lo));
	tp.peer_len = sizeof(lo);
	static uint8_t out[VD_DNS_MSG_MAX];
	cr_assert_eq(handle(&a, &ta, out), 0);
	cr_assert_eq(handle(&probe, &tp, out), 0, "the probe was shed");
	cr_assert_eq(fake_ub.n_calls, 2);
	size_t n = handle(&other, &to, out);
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h.w->stats.over_limit, 1);
	struct pkt reply;
	h_reply(&reply, "canary.lab", 0, 300, ADDR1);
	fake_fire(1, 0, reply.b, reply.len, 0, NULL);
	cr_assert_eq(cp.answers, 1);
	cr_assert_eq(h_rcode(cp.last), VD_DNS_RCODE_NOERROR);
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
	cr_assert_eq(ca.answers, 1);
}

/* 15: the failure answer of a name whose entry is still fresh is that
 * entry, as a normal answer (no EDE 3, its own TTL). */
Test(failure_answer, fresh_entry_is_not_stale, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 7, VD_DNS_F_RD);
	store(&hq, 300, vd_now_ns());
	struct vd_reply_to udp = h_udp_dest();
	static uint8_t out[VD_DNS_MSG_MAX];
	rcu_read_lock();
	size_t n = vd_pipeline_answer_failure(h.w, &hq.q, hq.key, hq.key_len,
					      hq.hash, &udp,
					      VD_DNS_EDE_NO_REACHABLE_AUTHORITY,
					      out, sizeof(out));
	rcu_read_unlock();
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ede(out, n), -1);
	cr_assert_gt(h_first_ttl(out, n), 250);
	cr_assert_eq(h.w->stats.stale_served, 0);
}

Test(failure_answer, nothing_cached_is_servfail_with_ede,
     .init = setup_default, .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 7, VD_DNS_F_RD);
	struct vd_reply_to udp = h_udp_dest();
	static uint8_t out[VD_DNS_MSG_MAX];
	rcu_read_lock();
	size_t n = vd_pipeline_answer_failure(h.w, &hq.q, hq.key, hq.key_len,
					      hq.hash, &udp,
					      VD_DNS_EDE_NO_REACHABLE_AUTHORITY,
					      out, sizeof(out));
	rcu_read_unlock();
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(out), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h_ede(out, n), VD_DNS_EDE_NO_REACHABLE_AUTHORITY);
}
