/*
 * The node's DNS cookie secrets (RFC 7873, RFC 9018 5): secrets[0] makes
 * server cookies, the others are still accepted.  Every node behind a VIP
 * must hold the same ones, so they are set over the cluster channel
 * (vipdnsctl --cluster cookie-secret ...) and kept in cookie-secret-file.
 *
 * Rolling them over the fleet, as Unbound's add/activate/drop:
 *   add NEW   every node accepts NEW (a cookie from a node that already
 *             makes them must validate everywhere first);
 *   activate  NEW makes cookies, the old one is still accepted;
 *   drop      after an hour (a cookie's lifetime) the old one goes.
 *
 * Readers (workers, per query) take the current set inside an RCU read
 * section; changes publish a new set and free the old after a grace
 * period.  Changes are serialised here.
 */
#ifndef VD_DAEMON_COOKIES_H
#define VD_DAEMON_COOKIES_H

#include <stddef.h>
#include <stdint.h>

#include "dns/cookie.h"

#define VD_COOKIE_SECRETS_MAX 4

struct vd_cookie_secrets {
	size_t n; /* 0: cookies off (answer-cookie = no) */
	uint8_t s[VD_COOKIE_SECRETS_MAX][VD_DNS_COOKIE_SECRET_LEN];
};

/* Parses a secrets file: one 32-hex-digit secret per line, the first the
 * active one, '#' comments.  Returns the count or -EINVAL with the
 * 1-based bad line in *bad_line.  Pure. */
int vd_cookies_parse(const char *text, size_t len,
		     struct vd_cookie_secrets *out, unsigned *bad_line);

/*
 * Loads path ("" = memory only).  With enabled and no file, a random
 * secret is made (and saved): cookies then work, but only this node
 * validates them until the fleet is given a shared one.  0 or -errno with
 * err; enabled = false publishes an empty set (no cookies).
 */
int vd_cookies_init(const char *path, bool enabled, char *err, size_t errlen);

/* The current set; NULL or n == 0 means no cookies.  Caller holds
 * rcu_read_lock(). */
const struct vd_cookie_secrets *vd_cookies_current(void);

/* Control operations; each saves the file.  0 or -errno with err. */
int vd_cookies_add(const uint8_t secret[VD_DNS_COOKIE_SECRET_LEN], char *err,
		   size_t errlen);
int vd_cookies_activate(char *err, size_t errlen);
int vd_cookies_drop(char *err, size_t errlen);

/* "active XXXXXXXX, accepted YYYYYYYY ..." with short fingerprints (never
 * the secrets). */
void vd_cookies_describe(char *out, size_t cap);

/* Frees the published set at exit. */
void vd_cookies_shutdown(void);

#endif
