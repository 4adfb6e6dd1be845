/*
 * The query pipeline: what every data plane calls with a packet, and
 * what the resolver calls to answer clients that waited for a recursion.
 * parse -> ACL -> cache (fresh hit / prefetch / stale) -> recursion.
 * The same rules make every answer whatever the data plane.
 */
#ifndef VD_PIPELINE_PIPELINE_H
#define VD_PIPELINE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cache/cache.h"
#include "dns/answer.h"
#include "dns/query.h"

struct vd_worker;
struct vd_tcp_conn;

enum vd_transport { VD_TRANSPORT_UDP = 0, VD_TRANSPORT_TCP = 1 };

/* Where an answer goes: copied into every waiter of a recursion. */
struct vd_reply_to {
	uint8_t transport;
	bool tls;                    /* TCP inside TLS (DoT, RFC 7858) */
	int fd;                      /* UDP: the socket the query came in on */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct vd_tcp_conn *conn;    /* TCP: holds a reference while waiting */
};

/*
 * Handles one query.  Returns the length of an answer written to out (cap
 * bytes, at least the transport's maximum), or 0 when nothing is to be
 * sent now: dropped, or waiting for a recursion (the answer then goes out
 * through vd_pipeline_send()).  A query without RD is answered from the
 * cache or REFUSED, never recursed (RFC 1034 4.3.1).  Caller holds
 * rcu_read_lock().
 */
size_t vd_pipeline_handle(struct vd_worker *w, const uint8_t *pkt,
			  size_t len, const struct vd_reply_to *dest,
			  uint8_t *out, size_t cap);

/*
 * The same for a batch reader: now is the batch's CLOCK_MONOTONIC time
 * (one clock read per batch, not per query), and the caller records the
 * answer_time of what it sends (vd_stats_observe_n()).
 */
size_t vd_pipeline_handle_at(struct vd_worker *w, const uint8_t *pkt,
			     size_t len, const struct vd_reply_to *dest,
			     uint64_t now, uint8_t *out, size_t cap);

/* Maximum answer size for a query arriving over dest's transport. */
uint16_t vd_pipeline_max_size(const struct vd_worker *w,
			      const struct vd_dns_query *q,
			      const struct vd_reply_to *dest);

/*
 * Answers q from a stored answer; stale selects the RFC 8767 form (EDE 3,
 * stale-answer-ttl).  Returns the length written.
 */
size_t vd_pipeline_answer_stored(struct vd_worker *w,
				 const struct vd_dns_query *q,
				 const struct vd_reply_to *dest,
				 const uint8_t *wire,
				 const struct vd_dns_answer_meta *meta,
				 const uint16_t *ttl_offs, uint32_t elapsed,
				 bool stale, uint8_t *out, size_t cap);

/*
 * Answers q when recursion could not: the cached answer as it is while
 * still fresh (another worker stored it meanwhile), a stale one when
 * serve-stale allows it, else SERVFAIL with ede (or -1).  Caller holds
 * rcu_read_lock().  Returns the length written.
 */
size_t vd_pipeline_answer_failure(struct vd_worker *w,
				  const struct vd_dns_query *q,
				  const uint8_t *key, size_t key_len,
				  uint64_t hash, const struct vd_reply_to *dest,
				  int ede, uint8_t *out, size_t cap);

/* Sends an answer made later (recursion done) to dest, and releases the
 * reference dest holds on a TCP connection. */
void vd_pipeline_send(struct vd_worker *w, const struct vd_reply_to *dest,
		      const uint8_t *ans, size_t len);
/* Releases dest without sending (shutdown). */
void vd_pipeline_release(struct vd_worker *w, const struct vd_reply_to *dest);

#endif
