/*
 * A worker without a network for the resolve and pipeline unit tests.
 *
 * The seam is the link: this header defines libunbound's entry points
 * (ub_resolve_event records the callback and lets the test fire it with
 * the rcode/packet/sec/why_bogus it chooses), the TCP connection calls
 * the pipeline makes (a fake connection counts answers and releases) and
 * vd_worker_settings (so daemon/worker.c and the real data planes are not
 * linked in).  resolve.c and pipeline.c run unchanged from libvipdns.
 * UDP answers go over an AF_UNIX datagram pair: sendto() on it queues
 * synchronously, so a test reads exactly what was sent, with no timing.
 *
 * Include from exactly one test file per executable.
 */
#ifndef VD_TEST_RES_HARNESS_H
#define VD_TEST_RES_HARNESS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unbound-event.h>
#include <unbound.h>
#include <unistd.h>
#include <urcu.h>

#include "cache/cache.h"
#include "core/clock.h"
#include "core/compiler.h"
#include "dataplane/socket/socket.h"
#include "daemon/daemon.h"
#include "daemon/settings.h"
#include "daemon/worker.h"
#include "dns/answer.h"
#include "dns/dns.h"
#include "dns/query.h"
#include "pipeline/pipeline.h"
#include "resolve/engine.h"
#include "resolve/resolve.h"

#include "../dns/pkt.h"

/* ---- fake libunbound ---------------------------------------------- */

#define FAKE_MAX_CALLS 64

struct fake_call {
	struct ub_ctx *ctx;
	char name[1024];
	int type, cls;
	void *mydata;
	ub_event_callback_type cb;
	int async_id;
	bool fired, cancelled;
};

static struct {
	struct fake_call calls[FAKE_MAX_CALLS];
	int n_calls;
	int n_cancels;
	int n_ctxs; /* live contexts */
} fake_ub;

struct ub_ctx *ub_ctx_create_event(struct event_base *base)
{
	(void)base;
	fake_ub.n_ctxs++;
	return malloc(1); /* only ever compared and freed */
}

void ub_ctx_delete(struct ub_ctx *ctx)
{
	if (ctx)
		fake_ub.n_ctxs--;
	free(ctx);
}

int ub_ctx_set_option(struct ub_ctx *ctx, const char *opt, const char *val)
{
	(void)ctx;
	(void)opt;
	(void)val;
	return 0;
}

int ub_ctx_add_ta(struct ub_ctx *ctx, const char *ta)
{
	(void)ctx;
	(void)ta;
	return 0;
}

int ub_ctx_add_ta_file(struct ub_ctx *ctx, const char *fname)
{
	(void)ctx;
	(void)fname;
	return 0;
}

const char *ub_strerror(int err)
{
	(void)err;
	return "fake libunbound error";
}

int ub_resolve_event(struct ub_ctx *ctx, const char *name, int rrtype,
		     int rrclass, void *mydata, ub_event_callback_type callback,
		     int *async_id)
{
	cr_assert_lt(fake_ub.n_calls, FAKE_MAX_CALLS);
	struct fake_call *c = &fake_ub.calls[fake_ub.n_calls++];
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->type = rrtype;
	c->cls = rrclass;
	c->mydata = mydata;
	c->cb = callback;
	c->async_id = fake_ub.n_calls;
	*async_id = c->async_id;
	return 0;
}

int ub_cancel(struct ub_ctx *ctx, int async_id)
{
	(void)ctx;
	cr_assert(async_id >= 1 && async_id <= fake_ub.n_calls);
	fake_ub.calls[async_id - 1].cancelled = true;
	fake_ub.n_cancels++;
	return 0;
}

static struct event_base *fake_loop; /* the test worker's */

/* Calls back recursion i as libunbound would, then lets the worker's
 * loop take the result from its mailbox. */
static inline void fake_fire(int i, int rcode, const void *packet, size_t len,
			     int sec, const char *why_bogus)
{
	cr_assert_lt(i, fake_ub.n_calls);
	struct fake_call *c = &fake_ub.calls[i];
	cr_assert(!c->fired && !c->cancelled, "recursion %d already ended", i);
	c->fired = true;
	c->cb(c->mydata, rcode, (void *)packet, (int)len, sec,
	      (char *)why_bogus, 0);
	cr_assert_eq(event_base_loop(fake_loop, EVLOOP_NONBLOCK), 0);
}

/* ---- fake TCP connections ----------------------------------------- */

struct vd_tcp_conn {
	int inflight; /* references held by waiters */
	int answers;
	uint8_t last[VD_DNS_MSG_MAX];
	size_t last_len;
};

void vd_tcp_conn_ref(struct vd_tcp_conn *c)
{
	c->inflight++;
}

void vd_tcp_conn_unref(struct vd_tcp_conn *c)
{
	cr_assert_gt(c->inflight, 0, "released a connection twice");
	c->inflight--;
}

void vd_tcp_conn_answer(struct vd_tcp_conn *c, const uint8_t *ans,
			size_t len)
{
	c->answers++;
	memcpy(c->last, ans, len);
	c->last_len = len;
	vd_tcp_conn_unref(c);
}

/* ---- the worker --------------------------------------------------- */

const struct vd_settings *vd_worker_settings(const struct vd_worker *w)
{
	return rcu_dereference(w->daemon->settings);
}

static struct {
	struct vd_daemon d;
	struct vd_worker *w;
	int udp_rx, udp_tx;
	struct sockaddr_un rx_addr;
	socklen_t rx_len;
} h;

/* tweak may change the defaults before the settings are made. */
static inline void h_setup(void (*tweak)(struct vd_config *cfg))
{
	memset(&fake_ub, 0, sizeof(fake_ub));
	memset(&h, 0, sizeof(h));
	rcu_register_thread();
	struct vd_config cfg;
	vd_config_defaults(&cfg);
	cfg.acl.default_action = VD_ACL_ALLOW; /* AF_UNIX test clients */
	snprintf(cfg.node_id, sizeof(cfg.node_id), "test");
	if (tweak)
		tweak(&cfg);
	h.d.settings = vd_settings_new(&cfg);
	cr_assert_not_null(h.d.settings);
	struct vd_cache_opts co = {.max_bytes = 1 << 20,
				   .stale_max_ns = h.d.settings->stale_max_ns};
	h.d.cache = vd_cache_create(&co);
	cr_assert_not_null(h.d.cache);
	h.w = calloc(1, sizeof(*h.w));
	cr_assert_not_null(h.w);
	h.w->daemon = &h.d;
	h.w->base = event_base_new();
	cr_assert_not_null(h.w->base);
	fake_loop = h.w->base;
	char err[256];
	/* Inline: the engine runs on the test's thread and loop. */
	h.d.rec = vd_rec_create(&h.d, h.w->base, err, sizeof(err));
	cr_assert_not_null(h.d.rec, "%s", err);
	h.w->res = vd_res_create(h.w, h.d.settings, err, sizeof(err));
	cr_assert_not_null(h.w->res, "%s", err);

	h.udp_rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	h.udp_tx = socket(AF_UNIX, SOCK_DGRAM, 0);
	cr_assert(h.udp_rx >= 0 && h.udp_tx >= 0);
	h.rx_addr.sun_family = AF_UNIX;
	/* abstract name: nothing in the file system to clean up */
	int n = snprintf(h.rx_addr.sun_path + 1, sizeof(h.rx_addr.sun_path) - 1,
			 "vd-test-%d", (int)getpid());
	h.rx_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			       (size_t)n);
	cr_assert_eq(bind(h.udp_rx, (struct sockaddr *)&h.rx_addr, h.rx_len),
		     0, "bind: %s", strerror(errno));
}

static inline void h_teardown(void)
{
	vd_rec_destroy(h.d.rec);
	vd_res_destroy(h.w->res);
	event_base_free(h.w->base);
	free(h.w);
	rcu_barrier();
	vd_cache_destroy(h.d.cache);
	vd_settings_free(h.d.settings);
	close(h.udp_rx);
	close(h.udp_tx);
	rcu_unregister_thread();
}

static inline struct vd_reply_to h_udp_dest(void)
{
	struct vd_reply_to d;
	memset(&d, 0, sizeof(d));
	d.transport = VD_TRANSPORT_UDP;
	d.fd = h.udp_tx;
	memcpy(&d.peer, &h.rx_addr, h.rx_len);
	d.peer_len = h.rx_len;
	return d;
}

static inline struct vd_reply_to h_tcp_dest(struct vd_tcp_conn *c)
{
	struct vd_reply_to d;
	memset(&d, 0, sizeof(d));
	d.transport = VD_TRANSPORT_TCP;
	d.conn = c;
	return d;
}

/* Next UDP answer, or 0 when none was sent. */
static inline size_t h_udp_recv(uint8_t *buf, size_t cap)
{
	ssize_t n = recv(h.udp_rx, buf, cap, MSG_DONTWAIT);
	return n < 0 ? 0 : (size_t)n;
}

static inline unsigned h_udp_count(void)
{
	uint8_t buf[VD_DNS_MSG_MAX];
	unsigned n = 0;
	while (h_udp_recv(buf, sizeof(buf)) > 0)
		n++;
	return n;
}

/* ---- queries, keys, answers --------------------------------------- */

struct h_query {
	struct pkt wire;
	struct vd_dns_query q;
	uint8_t key[VD_DNS_KEY_MAX];
	size_t key_len;
	uint64_t hash;
};

/* A query for name A IN with EDNS and the given header flags (RD...). */
static inline void h_query(struct h_query *hq, const char *name, unsigned id,
			   unsigned flags)
{
	p_hdr(&hq->wire, id, flags, 1, 0, 0, 1);
	p_name(&hq->wire, name);
	p_u16(&hq->wire, VD_DNS_T_A);
	p_u16(&hq->wire, VD_DNS_C_IN);
	/* EDNS (so answers can carry EDE), DO=0: root, OPT, 1232, 0, 0 */
	p_u8(&hq->wire, 0);
	p_u16(&hq->wire, VD_DNS_T_OPT);
	p_u16(&hq->wire, 1232);
	p_u32(&hq->wire, 0);
	p_u16(&hq->wire, 0);
	cr_assert_eq(vd_dns_query_parse(hq->wire.b, hq->wire.len, &hq->q),
		     VD_DNS_QUERY_OK);
	hq->key_len = vd_dns_query_key(&hq->q, hq->key);
	hq->hash = vd_cache_hash(hq->key, hq->key_len);
}

/* What an authority (or libunbound) would send for name: one A record,
 * rcode as given (the answer section is kept whatever the rcode). */
static inline void h_reply(struct pkt *p, const char *name, unsigned rcode,
			   uint32_t ttl, const uint8_t addr[4])
{
	p_hdr(p, 0x4242, VD_DNS_F_QR | VD_DNS_F_RD | VD_DNS_F_RA | rcode, 1, 1,
	      0, 0);
	p_name(p, name);
	p_u16(p, VD_DNS_T_A);
	p_u16(p, VD_DNS_C_IN);
	p_ptr(p, 12);
	p_u16(p, VD_DNS_T_A);
	p_u16(p, VD_DNS_C_IN);
	p_u32(p, ttl);
	p_u16(p, 4);
	p_bytes(p, addr, 4);
}

/* Stores reply for hq as a finished recursion would, at time now. */
static inline void h_store(const struct h_query *hq, const struct pkt *reply,
			   uint64_t now)
{
	const struct vd_settings *st = h.d.settings;
	struct vd_dns_norm_opts no = {
		.strip_dnssec = true,
		.min_ttl = st->cfg.cache_min_ttl,
		.max_ttl = st->cfg.cache_max_ttl,
		.max_neg_ttl = st->cfg.cache_max_negative_ttl,
		.servfail_ttl = st->cfg.servfail_ttl,
	};
	static uint8_t norm[VD_DNS_MSG_MAX];
	uint16_t offs[VD_DNS_ANSWER_MAX_RRS];
	struct vd_dns_answer_meta meta;
	cr_assert_eq(vd_dns_answer_normalise(reply->b, reply->len, &hq->q, &no,
					     norm, sizeof(norm), offs,
					     VD_ARRAY_SIZE(offs), &meta),
		     0);
	rcu_read_lock();
	cr_assert_eq(vd_cache_insert(h.d.cache, hq->key, hq->key_len, hq->hash,
				     norm, &meta, offs, now),
		     0);
	rcu_read_unlock();
}

static inline const struct vd_cache_entry *h_lookup(const struct h_query *hq)
{
	/* The caller keeps the entry only for its atomics and fields, read
	 * at once on this thread; nothing frees it under a single thread. */
	rcu_read_lock();
	const struct vd_cache_entry *e =
		vd_cache_lookup(h.d.cache, hq->key, hq->key_len, hq->hash);
	rcu_read_unlock();
	return e;
}

static inline unsigned h_rcode(const uint8_t *ans)
{
	return ans[3] & 0x0f;
}

static inline unsigned h_ancount(const uint8_t *ans)
{
	return (unsigned)ans[6] << 8 | ans[7];
}

/* TTL of the first answer record (the question is a name + 4 bytes, the
 * record's owner is a 2-byte pointer in answers we write). */
static inline uint32_t h_first_ttl(const uint8_t *ans, size_t len)
{
	size_t off = 12;
	while (off < len && ans[off] != 0)
		off += 1u + ans[off];
	off += 1 + 4; /* root label, qtype, qclass */
	off += 2 + 4; /* owner pointer, type, class */
	cr_assert_leq(off + 4, len);
	return (uint32_t)ans[off] << 24 | (uint32_t)ans[off + 1] << 16 |
	       (uint32_t)ans[off + 2] << 8 | ans[off + 3];
}

static inline size_t h_skip_name(const uint8_t *m, size_t len, size_t off)
{
	while (off < len) {
		if ((m[off] & 0xc0) == 0xc0)
			return off + 2;
		if (m[off] == 0)
			return off + 1;
		off += 1u + m[off];
	}
	return len;
}

/* The EDE info code (RFC 8914) of an answer, or -1 when it has none. */
static inline int h_ede(const uint8_t *m, size_t len)
{
	unsigned counts = ((unsigned)m[6] << 8 | m[7]) +
			  ((unsigned)m[8] << 8 | m[9]) +
			  ((unsigned)m[10] << 8 | m[11]);
	size_t off = h_skip_name(m, len, 12) + 4;
	for (unsigned i = 0; i < counts && off < len; i++) {
		off = h_skip_name(m, len, off);
		cr_assert_leq(off + 10, len);
		unsigned type = (unsigned)m[off] << 8 | m[off + 1];
		size_t rdlen = (size_t)m[off + 8] << 8 | m[off + 9];
		size_t rd = off + 10;
		off = rd + rdlen;
		if (type != VD_DNS_T_OPT)
			continue;
		for (size_t o = rd; o + 4 <= off;) {
			unsigned code = (unsigned)m[o] << 8 | m[o + 1];
			size_t olen = (size_t)m[o + 2] << 8 | m[o + 3];
			if (code == 15 && olen >= 2)
				return m[o + 4] << 8 | m[o + 5];
			o += 4 + olen;
		}
	}
	return -1;
}

#endif
