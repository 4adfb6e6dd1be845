/*
 * DNS over TLS (RFC 7858): the service's TLS context.  Listeners on
 * tls-port (853) of the listen addresses speak TLS 1.2/1.3 with ALPN
 * "dot" (RFC 9461 names it) and carry the same length-prefixed DNS as
 * plain TCP, into the same pipeline and cache.
 *
 * Session resumption across the anycast fleet: with tls-session-ticket-keys
 * every node encrypts tickets under the same key (the first file) and
 * decrypts under any of them (rotation: add the new file last, then move
 * it first, then drop the old), so a client's ticket from one node resumes
 * on any node behind the VIP.  Without them OpenSSL's per-process keys
 * resume on this node only.
 *
 * Unbound's option names: tls-service-key, tls-service-pem, tls-port,
 * tls-session-ticket-keys (80-byte files: 16 name, 32 AES, 32 HMAC).
 *
 * The context is published under RCU: a reload (SIGHUP) builds a new one
 * from the files as they are now and swaps it in; connections keep the
 * one they were accepted with (OpenSSL counts the references).
 */
#ifndef VD_DATAPLANE_SOCKET_DOT_H
#define VD_DATAPLANE_SOCKET_DOT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct vd_config;
struct vd_listen;

/* True when cfg serves DoT at all (a key and a certificate are set). */
bool vd_dot_enabled(const struct vd_config *cfg);

/* True when the listen entry l is a DoT one (its port is tls-port). */
bool vd_dot_listener(const struct vd_config *cfg, const struct vd_listen *l);

/* Builds the context from cfg's files and publishes it (replacing and
 * freeing the previous one).  0, or -errno with the reason in err; the
 * previous context stays on failure. */
int vd_dot_load(const struct vd_config *cfg, char *err, size_t errlen);

/* The published context, NULL when DoT is off.  Caller holds
 * rcu_read_lock(); SSL_new() takes its own reference. */
SSL_CTX *vd_dot_ctx(void);

/* Unpublishes and frees the context (at exit). */
void vd_dot_unload(void);

#endif
