/*
 * src/resolve/resolve.c without a network: recursions go to the fake
 * libunbound of res_harness.h and the test decides how each one ends.
 * The rule under test throughout: every waiter of every recursion gets
 * exactly one answer and one release, whatever the path, and a failed
 * recursion never becomes a NOERROR answer.
 */
#include "res_harness.h"

static const uint8_t ADDR1[4] = {203, 0, 113, 80};
static const uint8_t ADDR2[4] = {203, 0, 113, 81};

static void no_stale(struct vd_config *cfg)
{
	cfg->serve_stale = false;
}

static void setup_default(void)
{
	h_setup(NULL);
}

static void setup_no_stale(void)
{
	h_setup(no_stale);
}

static void teardown(void)
{
	h_teardown();
}

static int submit(const struct h_query *hq, const struct vd_reply_to *dest)
{
	rcu_read_lock();
	if (dest->transport == VD_TRANSPORT_TCP)
		vd_tcp_conn_ref(dest->conn); /* as the pipeline does */
	int rc = vd_res_submit(h.w->res, &hq->q, hq->key, hq->key_len,
			       hq->hash, dest);
	if (rc != 0 && dest->transport == VD_TRANSPORT_TCP)
		vd_tcp_conn_unref(dest->conn);
	rcu_read_unlock();
	return rc;
}

static int prefetch(const struct h_query *hq)
{
	rcu_read_lock();
	int rc = vd_res_prefetch(h.w->res, &hq->q, hq->key, hq->key_len,
				 hq->hash);
	rcu_read_unlock();
	return rc;
}

/* An entry as maybe_prefetch() leaves it when it starts a refresh. */
static void mark_prefetching(const struct h_query *hq)
{
	const struct vd_cache_entry *e = h_lookup(hq);
	cr_assert_not_null(e);
	atomic_store(&((struct vd_cache_entry *)e)->prefetching, 1);
}

static unsigned prefetching(const struct h_query *hq)
{
	const struct vd_cache_entry *e = h_lookup(hq);
	cr_assert_not_null(e);
	return atomic_load(&e->prefetching);
}

/* Stores name's answer already expired: TTL 0 (cache-min-ttl is 0)
 * rather than a time in the past, which a monotonic clock just after
 * boot may not have. */
static void store_expired(const struct h_query *hq)
{
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 0, ADDR1);
	h_store(hq, &reply, vd_now_ns());
	cr_assert_eq(h_lookup(hq)->meta.ttl, 0);
}

/* ---- defect 1: a failed prefetch answers the clients that joined it */

static void prefetch_fails_with_two_joined(void)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	/* The refresh started in the entry's last seconds; it expired while
	 * the refresh was out, so clients missed and joined it. */
	store_expired(&hq);
	mark_prefetching(&hq);
	cr_assert_eq(prefetch(&hq), 0);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to udp = h_udp_dest(), tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &udp), 0);
	cr_assert_eq(submit(&hq, &tcp), 0);
	cr_assert_eq(fake_ub.n_calls, 1, "the clients joined the prefetch");
	cr_assert_eq(h.w->stats.coalesced, 2);

	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
	cr_assert_eq(conn.answers, 1, "TCP waiter answered once");
	cr_assert_eq(conn.inflight, 0, "TCP waiter released");
	cr_assert_eq(vd_res_outstanding(h.w->res), 0);
	cr_assert_eq(prefetching(&hq), 0, "a later hit may prefetch again");
}

Test(prefetch_failure, joined_waiters_get_servfail, .init = setup_no_stale,
     .fini = teardown)
{
	prefetch_fails_with_two_joined();
	uint8_t ans[VD_DNS_MSG_MAX];
	size_t n = h_udp_recv(ans, sizeof(ans));
	cr_assert_gt(n, 0, "UDP waiter answered");
	cr_assert_eq(h_rcode(ans), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h_udp_count(), 0, "exactly one UDP answer");
}

Test(prefetch_failure, joined_waiters_get_stale, .init = setup_default,
     .fini = teardown)
{
	prefetch_fails_with_two_joined();
	uint8_t ans[VD_DNS_MSG_MAX];
	size_t n = h_udp_recv(ans, sizeof(ans));
	cr_assert_gt(n, 0, "UDP waiter answered");
	cr_assert_eq(h_rcode(ans), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ancount(ans), 1);
	cr_assert_eq(h_ede(ans, n), VD_DNS_EDE_STALE_ANSWER);
	cr_assert_eq(h_udp_count(), 0, "exactly one UDP answer");
}

Test(prefetch_failure, old_copy_answers_waiters_and_hands_on,
     .init = setup_default, .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 100, ADDR1);
	h_store(&hq, &reply, vd_now_ns());
	mark_prefetching(&hq);
	cr_assert_eq(prefetch(&hq), 0);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &tcp), 0);

	/* libunbound's own cached copy, expiring before the entry: not a
	 * refresh, so the other prefetch context is asked... */
	struct pkt old;
	h_reply(&old, "www.lab", 0, 50, ADDR2);
	fake_fire(0, 0, old.b, old.len, 0, NULL);
	cr_assert_eq(fake_ub.n_calls, 2, "second prefetch context asked");
	cr_assert_eq(prefetching(&hq), 1, "the second prefetch owns the flag");
	/* ...but the client that joined is answered with it all the same. */
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(conn.inflight, 0);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_NOERROR);

	/* The second context has an old copy too: nothing more to try. */
	fake_fire(1, 0, old.b, old.len, 0, NULL);
	cr_assert_eq(fake_ub.n_calls, 2);
	cr_assert_eq(prefetching(&hq), 0);
	cr_assert_eq(vd_res_outstanding(h.w->res), 0);
}

Test(prefetch, success_refreshes_and_answers_joined, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	store_expired(&hq);
	mark_prefetching(&hq);
	cr_assert_eq(prefetch(&hq), 0);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &tcp), 0);
	struct pkt fresh;
	h_reply(&fresh, "www.lab", 0, 300, ADDR2);
	fake_fire(0, 0, fresh.b, fresh.len, 0, NULL);
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(conn.inflight, 0);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_NOERROR);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_eq(e->meta.ttl, 300, "refreshed");
	cr_assert_eq(atomic_load(&e->prefetching), 0);
	cr_assert_eq(fake_ub.n_calls, 1);
}

Test(prefetch_failure, cancel_clears_prefetching, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 3600, ADDR1);
	h_store(&hq, &reply, vd_now_ns());
	mark_prefetching(&hq);
	cr_assert_eq(prefetch(&hq), 0);

	rcu_read_lock();
	vd_res_expire_waiters(h.w->res, vd_now_ns() +
					       h.d.settings->recursion_timeout_ns +
					       VD_NS_PER_SEC);
	rcu_read_unlock();
	cr_assert_eq(vd_res_outstanding(h.w->res), 0);
	cr_assert_eq(prefetching(&hq), 0);
	/* libunbound finishes the given-up work anyway: its late result
	 * replaces nothing and answers nobody. */
	struct pkt fresh;
	h_reply(&fresh, "www.lab", 0, 300, ADDR2);
	fake_fire(0, 0, fresh.b, fresh.len, 0, NULL);
	cr_assert_eq(h_lookup(&hq)->meta.ttl, 3600, "not replaced");
	cr_assert_eq(h_udp_count(), 0);
}

/* ---- every other path: one answer, one release -------------------- */

Test(waiters, timeout_answers_each_once, .init = setup_no_stale,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to udp = h_udp_dest(), tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &udp), 0);
	cr_assert_eq(submit(&hq, &tcp), 0);
	rcu_read_lock();
	vd_res_expire_waiters(h.w->res, vd_now_ns() +
					       h.d.settings->recursion_timeout_ns +
					       VD_NS_PER_SEC);
	rcu_read_unlock();
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(conn.inflight, 0);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h_udp_count(), 1);
	cr_assert_eq(h.w->stats.recursion_timeouts, 2);
	cr_assert_eq(vd_res_outstanding(h.w->res), 0);
	/* The result that comes after all answers nobody a second time. */
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	fake_fire(0, 0, reply.b, reply.len, 0, NULL);
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(h_udp_count(), 0);
	cr_assert_null(h_lookup(&hq), "a given-up result is not stored");
}

Test(waiters, renew_answers_from_the_old_context, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_tcp_conn conn = {0}, late = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn), tcp2 = h_tcp_dest(&late);
	cr_assert_eq(submit(&hq, &tcp), 0);
	char err[128];
	cr_assert_eq(vd_rec_renew(h.d.rec, err, sizeof(err)), 0, "%s", err);
	/* A flush happened: the next asker does not join the old recursion. */
	cr_assert_eq(submit(&hq, &tcp2), 0);
	cr_assert_eq(fake_ub.n_calls, 2);

	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(conn.inflight, 0);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(late.answers, 0);

	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	fake_fire(1, 0, reply.b, reply.len, 0, NULL);
	cr_assert_eq(late.answers, 1);
	cr_assert_eq(late.inflight, 0);
	cr_assert_eq(h_rcode(late.last), VD_DNS_RCODE_NOERROR);
	event_base_loop(h.w->base, EVLOOP_NONBLOCK); /* reap the old pair */
}

/* A flush renews the engine: what the old contexts still resolve answers
 * its waiters but never re-enters the flushed answer cache. */
Test(waiters, renew_keeps_old_results_out_of_the_cache,
     .init = setup_default, .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &tcp), 0);
	char err[128];
	cr_assert_eq(vd_rec_renew(h.d.rec, err, sizeof(err)), 0, "%s", err);
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	fake_fire(0, 0, reply.b, reply.len, 0, NULL);
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_NOERROR);
	cr_assert_null(h_lookup(&hq), "stored from the renewed contexts");
	event_base_loop(h.w->base, EVLOOP_NONBLOCK);
}

Test(waiters, destroy_releases_without_answer, .init = setup_default)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &tcp), 0);
	vd_res_destroy(h.w->res);
	h.w->res = NULL;
	cr_assert_eq(conn.answers, 0);
	cr_assert_eq(conn.inflight, 0);
	h_teardown();
}

/* 15: one name asked by more clients than any fixed per-name bound
 * (1024 before) all join its recursion and all get the answer. */
Test(waiters, popular_name_has_no_per_recursion_cap, .init = setup_default,
     .fini = teardown)
{
	enum { N = 3000 };
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_tcp_conn *conns = calloc(N, sizeof(*conns));
	cr_assert_not_null(conns);
	for (unsigned i = 0; i < N; i++) {
		struct vd_reply_to tcp = h_tcp_dest(&conns[i]);
		cr_assert_eq(submit(&hq, &tcp), 0, "asker %u not joined", i + 1);
	}
	cr_assert_eq(fake_ub.n_calls, 1);
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	fake_fire(0, 0, reply.b, reply.len, 0, NULL);
	for (unsigned i = 0; i < N; i++) {
		cr_assert_eq(conns[i].answers, 1);
		cr_assert_eq(conns[i].inflight, 0);
		cr_assert_eq(h_rcode(conns[i].last), VD_DNS_RCODE_NOERROR);
	}
	free(conns);
}

static void small_bound(struct vd_config *cfg)
{
	cfg->max_recursions = 2; /* 32 waiters in all */
}

/* The worker-wide bound stays, and a miss over it is told apart. */
Test(waiters, worker_bound_still_holds, .fini = teardown)
{
	h_setup(small_bound);
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_tcp_conn conns[33] = {{0}};
	for (unsigned i = 0; i < 32; i++) {
		struct vd_reply_to tcp = h_tcp_dest(&conns[i]);
		cr_assert_eq(submit(&hq, &tcp), 0);
	}
	struct vd_reply_to tcp = h_tcp_dest(&conns[32]);
	cr_assert_eq(submit(&hq, &tcp), -EBUSY);
	cr_assert_eq(conns[32].inflight, 0);
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
	for (unsigned i = 0; i < 32; i++)
		cr_assert_eq(conns[i].answers, 1);
}

/* ---- defect 13: failures are failures ----------------------------- */

/* libunbound failed (rcode SERVFAIL) and its buffer still holds the last
 * upstream reply, which answers our very question with NOERROR. */
static void fire_servfail_with_stale_buffer(struct vd_tcp_conn *conn)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_reply_to tcp = h_tcp_dest(conn);
	cr_assert_eq(submit(&hq, &tcp), 0);
	struct pkt lure;
	h_reply(&lure, "www.lab", 0, 86400, ADDR2);
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, lure.b, lure.len, 0, NULL);

	cr_assert_eq(conn->answers, 1);
	cr_assert_eq(conn->inflight, 0);
	cr_assert_eq(h_rcode(conn->last), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h_ancount(conn->last), 0);
	cr_assert_eq(h.w->stats.recursion_failures, 1);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_not_null(e, "the failure is remembered briefly (RFC 9520)");
	cr_assert_eq(e->meta.rcode, VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(e->meta.kind, VD_DNS_ANSWER_SERVFAIL);
	cr_assert_leq(e->meta.ttl, h.d.settings->cfg.servfail_ttl);
}

Test(failure, rcode_error_packet_not_served, .init = setup_default,
     .fini = teardown)
{
	struct vd_tcp_conn conn = {0};
	fire_servfail_with_stale_buffer(&conn);
}

Test(failure, rcode_error_packet_not_served_no_stale, .init = setup_no_stale,
     .fini = teardown)
{
	struct vd_tcp_conn conn = {0};
	fire_servfail_with_stale_buffer(&conn);
}

Test(failure, rcode_error_on_prefetch_keeps_entry, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct pkt reply, lure;
	h_reply(&reply, "www.lab", 0, 100, ADDR1);
	h_store(&hq, &reply, vd_now_ns());
	mark_prefetching(&hq);
	cr_assert_eq(prefetch(&hq), 0);
	h_reply(&lure, "www.lab", 0, 86400, ADDR2);
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, lure.b, lure.len, 0, NULL);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_not_null(e);
	cr_assert_eq(e->meta.ttl, 100, "the entry was not replaced");
	cr_assert_eq(atomic_load(&e->prefetching), 0);
}

/* RFC 8509 3.2: root-key-sentinel-not-ta-<tag> for a key we trust is
 * SERVFAIL; libunbound reports it as sec 0 with why_bogus set. */
Test(failure, why_bogus_with_sec_0_is_servfail, .init = setup_no_stale,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "root-key-sentinel-not-ta-20326.lab", 1, VD_DNS_F_RD);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &tcp), 0);
	struct pkt reply;
	h_reply(&reply, "root-key-sentinel-not-ta-20326.lab", 0, 300, ADDR1);
	fake_fire(0, 0, reply.b, reply.len, 0,
		  "validation failure: key sentinel not-ta");
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(conn.inflight, 0);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h_ede(conn.last, conn.last_len), VD_DNS_EDE_DNSSEC_BOGUS);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert(!e || e->meta.rcode == VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h.w->stats.recursion_failures, 1);
}

Test(failure, bogus_is_servfail, .init = setup_no_stale, .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.bogus.example", 1, VD_DNS_F_RD);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	cr_assert_eq(submit(&hq, &tcp), 0);
	struct pkt reply;
	h_reply(&reply, "www.bogus.example", 0, 300, ADDR1);
	fake_fire(0, 0, reply.b, reply.len, 1, "signature crypto failed");
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_SERVFAIL);
	cr_assert_eq(h_ede(conn.last, conn.last_len), VD_DNS_EDE_DNSSEC_BOGUS);
}

Test(failure, success_is_served_and_cached, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_reply_to udp = h_udp_dest();
	cr_assert_eq(submit(&hq, &udp), 0);
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	fake_fire(0, 0, reply.b, reply.len, 0, NULL);
	uint8_t ans[VD_DNS_MSG_MAX];
	size_t n = h_udp_recv(ans, sizeof(ans));
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(ans), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ancount(ans), 1);
	cr_assert_eq(h_udp_count(), 0);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_not_null(e);
	cr_assert_eq(e->meta.rcode, VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h.w->stats.recursion_failures, 0);
}

/* ---- 15: a fresh entry at failure time is a normal answer --------- */

static void fail_with_fresh_entry(void)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_reply_to udp = h_udp_dest();
	cr_assert_eq(submit(&hq, &udp), 0);
	/* Another worker's recursion for the name finished first. */
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	h_store(&hq, &reply, vd_now_ns());
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);

	uint8_t ans[VD_DNS_MSG_MAX];
	size_t n = h_udp_recv(ans, sizeof(ans));
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(ans), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ancount(ans), 1);
	cr_assert_neq(h_ede(ans, n), VD_DNS_EDE_STALE_ANSWER, "not stale");
	cr_assert_gt(h_first_ttl(ans, n), 250, "its own TTL, not stale-answer-ttl");
	cr_assert_eq(h_udp_count(), 0);
	cr_assert_eq(h.w->stats.stale_served, 0);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_eq(e->meta.rcode, VD_DNS_RCODE_NOERROR,
		     "the failure did not displace the answer");
}

Test(fresh_on_failure, served_fresh, .init = setup_default, .fini = teardown)
{
	fail_with_fresh_entry();
}

Test(fresh_on_failure, served_fresh_no_stale, .init = setup_no_stale,
     .fini = teardown)
{
	fail_with_fresh_entry();
}

Test(fresh_on_failure, expired_entry_served_stale, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	store_expired(&hq);
	struct vd_reply_to udp = h_udp_dest();
	cr_assert_eq(submit(&hq, &udp), 0);
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
	uint8_t ans[VD_DNS_MSG_MAX];
	size_t n = h_udp_recv(ans, sizeof(ans));
	cr_assert_gt(n, 0);
	cr_assert_eq(h_rcode(ans), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ede(ans, n), VD_DNS_EDE_STALE_ANSWER);
	cr_assert_eq(h_first_ttl(ans, n), h.d.settings->cfg.stale_answer_ttl);
	cr_assert_eq(h.w->stats.stale_served, 1);
}

/* ---- stale-refresh-time: RFC 8767's failure recheck timer ----------- */

static void fail_stale_refresh(void)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	store_expired(&hq);
	struct vd_reply_to udp = h_udp_dest();
	cr_assert_eq(submit(&hq, &udp), 0);
	fake_fire(0, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
	uint8_t ans[VD_DNS_MSG_MAX];
	cr_assert_gt(h_udp_recv(ans, sizeof(ans)), 0);
}

static uint64_t recheck_in(void)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_not_null(e);
	uint64_t at = atomic_load(&e->stale_retry_ns), now = vd_now_ns();
	return at > now ? at - now : 0;
}

Test(stale_refresh, default_is_30_seconds, .init = setup_default,
     .fini = teardown)
{
	fail_stale_refresh();
	uint64_t in = recheck_in();
	/* 30 s +-25%, by name (jitter against a thundering herd) */
	cr_assert_geq(in, 22 * VD_NS_PER_SEC);
	cr_assert_leq(in, 37500 * VD_NS_PER_MS);
}

static void refresh_3s(struct vd_config *cfg)
{
	cfg->stale_refresh_time = 3;
}

Test(stale_refresh, configured_window, .fini = teardown)
{
	h_setup(refresh_3s);
	fail_stale_refresh();
	uint64_t in = recheck_in();
	cr_assert_geq(in, 2200 * VD_NS_PER_MS);
	cr_assert_leq(in, 3750 * VD_NS_PER_MS);
}

static void refresh_off(struct vd_config *cfg)
{
	cfg->stale_refresh_time = 0;
}

/* Names that failed together ask again at different times. */
Test(stale_refresh, jittered_across_names, .init = setup_default,
     .fini = teardown)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	char name[32];
	for (int i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "n%d.lab", i);
		struct h_query hq;
		h_query(&hq, name, 1, VD_DNS_F_RD);
		struct pkt reply;
		h_reply(&reply, name, 0, 0, ADDR1);
		h_store(&hq, &reply, vd_now_ns());
		struct vd_reply_to udp = h_udp_dest();
		int before = fake_ub.n_calls;
		cr_assert_eq(submit(&hq, &udp), 0);
		fake_fire(before, VD_DNS_RCODE_SERVFAIL, NULL, 0, 0, NULL);
		uint8_t ans[VD_DNS_MSG_MAX];
		cr_assert_gt(h_udp_recv(ans, sizeof(ans)), 0);
		uint64_t at = atomic_load(&h_lookup(&hq)->stale_retry_ns);
		lo = VD_MIN(lo, at);
		hi = VD_MAX(hi, at);
	}
	cr_assert_gt(hi - lo, 5 * VD_NS_PER_SEC,
		     "64 names spread over more than 5 s of the 15 s window");
}

/* 0: every query past expiry tries the authorities again. */
Test(stale_refresh, zero_disables, .fini = teardown)
{
	h_setup(refresh_off);
	fail_stale_refresh();
	cr_assert_eq(recheck_in(), 0);
}

/* A client waiting past stale-client-timeout while another worker
 * stored a fresh answer gets that answer, not a stale one, and the
 * entry is not marked as failing. */
Test(fresh_on_failure, slow_recursion_with_fresh_entry, .init = setup_default,
     .fini = teardown)
{
	struct h_query hq;
	h_query(&hq, "www.lab", 1, VD_DNS_F_RD);
	struct vd_reply_to udp = h_udp_dest();
	cr_assert_eq(submit(&hq, &udp), 0);
	struct pkt reply;
	h_reply(&reply, "www.lab", 0, 300, ADDR1);
	h_store(&hq, &reply, vd_now_ns());
	const struct vd_settings *st = h.d.settings;
	cr_assert_gt(st->stale_client_timeout_ns, 0);
	rcu_read_lock();
	vd_res_expire_waiters(h.w->res,
			      vd_now_ns() + st->stale_client_timeout_ns +
				      VD_NS_PER_MS);
	rcu_read_unlock();
	uint8_t ans[VD_DNS_MSG_MAX];
	size_t n = h_udp_recv(ans, sizeof(ans));
	cr_assert_gt(n, 0, "answered at stale-client-timeout");
	cr_assert_eq(h_rcode(ans), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ede(ans, n), -1);
	cr_assert_gt(h_first_ttl(ans, n), 250);
	cr_assert_eq(h_udp_count(), 0);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_eq(atomic_load(&e->stale_retry_ns), 0,
		     "a fresh entry is not put in the failure recheck window");
	cr_assert_eq(vd_res_outstanding(h.w->res), 1, "the recursion goes on");
	struct pkt fresh;
	h_reply(&fresh, "www.lab", 0, 300, ADDR2);
	fake_fire(0, 0, fresh.b, fresh.len, 0, NULL);
	cr_assert_eq(h_udp_count(), 0, "no second answer");
}

/* ---- 14: CD=1 shares the validating context's cache --------------- */

/* A CD=1 miss is resolved by the validating context, like any other, so
 * the worker learns delegations and keys once; only a bogus result is
 * asked again without validation, and that answer reaches the client. */
Test(cd, through_validating_context_plain_only_when_bogus,
     .init = setup_no_stale, .fini = teardown)
{
	struct h_query plain_q, cd_q;
	h_query(&plain_q, "www.lab", 1, VD_DNS_F_RD);
	h_query(&cd_q, "www.bogus.example", 2, VD_DNS_F_RD | VD_DNS_F_CD);
	struct vd_tcp_conn conn = {0};
	struct vd_reply_to tcp = h_tcp_dest(&conn);
	struct vd_reply_to udp = h_udp_dest();
	cr_assert_eq(submit(&plain_q, &udp), 0);
	cr_assert_eq(submit(&cd_q, &tcp), 0);
	cr_assert_eq(fake_ub.n_calls, 2);
	cr_assert_eq(fake_ub.calls[1].ctx, fake_ub.calls[0].ctx,
		     "CD=1 asks the validating context");

	struct pkt reply;
	h_reply(&reply, "www.bogus.example", 0, 300, ADDR2);
	fake_fire(1, 0, reply.b, reply.len, 1, "signature crypto failed");
	cr_assert_eq(conn.answers, 0, "no answer yet: asked again");
	cr_assert_eq(fake_ub.n_calls, 3);
	cr_assert_neq(fake_ub.calls[2].ctx, fake_ub.calls[0].ctx,
		      "the retry goes to the plain context");
	cr_assert_str_eq(fake_ub.calls[2].name, fake_ub.calls[1].name);

	fake_fire(2, 0, reply.b, reply.len, 0, NULL);
	cr_assert_eq(conn.answers, 1);
	cr_assert_eq(conn.inflight, 0);
	cr_assert_eq(h_rcode(conn.last), VD_DNS_RCODE_NOERROR);
	cr_assert_eq(h_ancount(conn.last), 1);
	const struct vd_cache_entry *e = h_lookup(&cd_q);
	cr_assert_not_null(e);
	cr_assert_eq(e->meta.rcode, VD_DNS_RCODE_NOERROR);

	/* A CD=1 answer that validates is served from the first result. */
	struct h_query cd2;
	h_query(&cd2, "www.secure.example", 3, VD_DNS_F_RD | VD_DNS_F_CD);
	struct vd_tcp_conn conn2 = {0};
	struct vd_reply_to tcp2 = h_tcp_dest(&conn2);
	cr_assert_eq(submit(&cd2, &tcp2), 0);
	cr_assert_eq(fake_ub.calls[3].ctx, fake_ub.calls[0].ctx);
	h_reply(&reply, "www.secure.example", 0, 300, ADDR1);
	fake_fire(3, 0, reply.b, reply.len, 2, NULL);
	cr_assert_eq(conn2.answers, 1);
	cr_assert_eq(fake_ub.n_calls, 4, "no second recursion");
	fake_fire(0, 0, reply.b, reply.len, 0, NULL); /* www.lab, any answer */
}

/* ---- 14: one recursion state for every worker --------------------- */

/* Two workers' misses and CD=1 queries reach libunbound through the same
 * context, so what one worker's recursion learns (delegations, keys,
 * server state) serves the other; each result goes back to the worker
 * whose client asked. */
Test(shared, workers_share_one_context, .init = setup_no_stale,
     .fini = teardown)
{
	struct vd_worker *w2 = calloc(1, sizeof(*w2));
	cr_assert_not_null(w2);
	w2->daemon = &h.d;
	w2->base = h.w->base;
	char err[256];
	w2->res = vd_res_create(w2, h.d.settings, err, sizeof(err));
	cr_assert_not_null(w2->res, "%s", err);

	struct h_query a, b;
	h_query(&a, "a.lab", 1, VD_DNS_F_RD);
	h_query(&b, "b.lab", 2, VD_DNS_F_RD | VD_DNS_F_CD);
	struct vd_tcp_conn c1 = {0}, c2 = {0};
	struct vd_reply_to t1 = h_tcp_dest(&c1), t2 = h_tcp_dest(&c2);
	cr_assert_eq(submit(&a, &t1), 0);
	vd_tcp_conn_ref(&c2);
	rcu_read_lock();
	cr_assert_eq(vd_res_submit(w2->res, &b.q, b.key, b.key_len, b.hash,
				   &t2),
		     0);
	rcu_read_unlock();
	cr_assert_eq(fake_ub.n_calls, 2);
	cr_assert_eq(fake_ub.calls[1].ctx, fake_ub.calls[0].ctx,
		     "the second worker has contexts of its own");
	cr_assert_eq(fake_ub.n_ctxs, 2, "one validating and one plain context "
					 "for the node");

	struct pkt ra, rb;
	h_reply(&rb, "b.lab", 0, 300, ADDR2);
	fake_fire(1, 0, rb.b, rb.len, 0, NULL);
	cr_assert_eq(c2.answers, 1, "the second worker answered its client");
	cr_assert_eq(c1.answers, 0);
	cr_assert_eq(vd_res_outstanding(w2->res), 0);
	cr_assert_eq(vd_res_outstanding(h.w->res), 1);
	h_reply(&ra, "a.lab", 0, 300, ADDR1);
	fake_fire(0, 0, ra.b, ra.len, 0, NULL);
	cr_assert_eq(c1.answers, 1);
	cr_assert_eq(c1.inflight + c2.inflight, 0);
	vd_res_destroy(w2->res);
	free(w2);
}

/* ---- cache-max-negative-ttl-zone: the most specific zone's cap ------- */

static void neg_zone_cap(struct vd_config *cfg)
{
	cfg->cache_max_negative_ttl = 3600;
	snprintf(cfg->neg_ttl_zones[0], sizeof(cfg->neg_ttl_zones[0]),
		 "lab. 7");
	cfg->n_neg_ttl_zones = 1;
}

/* NXDOMAIN for name with an SOA of TTL 300, MINIMUM 60. */
static void nxdomain(struct pkt *p, const char *name)
{
	p_hdr(p, 0x4242, VD_DNS_F_QR | VD_DNS_F_RD | VD_DNS_F_RA | 3, 1, 0, 1,
	      0);
	p_name(p, name);
	p_u16(p, VD_DNS_T_A);
	p_u16(p, VD_DNS_C_IN);
	p_ptr(p, 12);
	p_u16(p, 6);
	p_u16(p, VD_DNS_C_IN);
	p_u32(p, 300);
	p_u16(p, 2 + 2 + 20);
	p_ptr(p, 12);
	p_ptr(p, 12);
	for (int i = 0; i < 4; i++)
		p_u32(p, 1);
	p_u32(p, 60);
}

static uint32_t negative_lifetime(const char *name)
{
	struct h_query hq;
	h_query(&hq, name, 1, VD_DNS_F_RD);
	struct vd_reply_to udp = h_udp_dest();
	int before = fake_ub.n_calls;
	cr_assert_eq(submit(&hq, &udp), 0);
	struct pkt nx = {0};
	nxdomain(&nx, name);
	fake_fire(before, 0, nx.b, nx.len, 0, NULL);
	uint8_t ans[VD_DNS_MSG_MAX];
	cr_assert_gt(h_udp_recv(ans, sizeof(ans)), 0);
	cr_assert_eq(h_rcode(ans), VD_DNS_RCODE_NXDOMAIN);
	const struct vd_cache_entry *e = h_lookup(&hq);
	cr_assert_not_null(e);
	return e->meta.ttl;
}

Test(neg_ttl_zone, capped_inside_the_zone_only, .fini = teardown)
{
	h_setup(neg_zone_cap);
	cr_assert_eq(negative_lifetime("nx.lab"), 7);
	cr_assert_eq(negative_lifetime("nx.example"), 60, "SOA MINIMUM");
}
