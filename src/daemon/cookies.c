#include "daemon/cookies.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <urcu.h>

#include "core/atomic_file.h"
#include "core/log.h"

#define FILE_MAX 4096

static struct vd_cookie_secrets *published;
static struct {
	pthread_mutex_t lock;
	char path[4096];
	bool enabled;
	struct vd_cookie_secrets cur; /* the writers' copy */
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int vd_cookies_parse(const char *text, size_t len,
		     struct vd_cookie_secrets *out, unsigned *bad_line)
{
	memset(out, 0, sizeof(*out));
	unsigned line = 0;
	size_t i = 0;
	while (i < len) {
		line++;
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		const char *p = text + i;
		size_t l = e - i;
		i = e + 1;
		while (l && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '\r'))
			l--;
		if (l == 0 || p[0] == '#')
			continue;
		if (l != 2 * VD_DNS_COOKIE_SECRET_LEN ||
		    out->n == VD_COOKIE_SECRETS_MAX)
			goto bad;
		for (size_t k = 0; k < VD_DNS_COOKIE_SECRET_LEN; k++) {
			int hi = hexval(p[2 * k]), lo = hexval(p[2 * k + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			out->s[out->n][k] = (uint8_t)(hi << 4 | lo);
		}
		out->n++;
	}
	return (int)out->n;
bad:
	if (bad_line)
		*bad_line = line;
	return -EINVAL;
}

/* Caller holds st.lock.  Publishes st.cur (or nothing when disabled). */
static int publish_locked(void)
{
	struct vd_cookie_secrets *n = NULL;
	if (st.enabled && st.cur.n) {
		n = malloc(sizeof(*n));
		if (!n)
			return -ENOMEM;
		*n = st.cur;
	}
	struct vd_cookie_secrets *old = rcu_xchg_pointer(&published, n);
	if (old) {
		synchronize_rcu();
		/* Secrets do not linger in freed memory. */
		memset(old, 0, sizeof(*old));
		free(old);
	}
	return 0;
}

static int save_locked(char *err, size_t errlen)
{
	if (!st.path[0])
		return 0;
	struct vd_atomic_file af;
	int rc = vd_atomic_open(&af, st.path, 0600);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", st.path, strerror(-rc));
		return rc;
	}
	fprintf(af.f, "# vipdnsd DNS cookie secrets (RFC 9018): the first makes "
		      "cookies, all are accepted\n");
	for (size_t i = 0; i < st.cur.n; i++) {
		for (size_t k = 0; k < VD_DNS_COOKIE_SECRET_LEN; k++)
			fprintf(af.f, "%02x", st.cur.s[i][k]);
		fputc('\n', af.f);
	}
	rc = vd_atomic_commit(&af);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", st.path, strerror(-rc));
	return rc;
}

int vd_cookies_init(const char *path, bool enabled, char *err, size_t errlen)
{
	pthread_mutex_lock(&st.lock);
	snprintf(st.path, sizeof(st.path), "%s", path ? path : "");
	st.enabled = enabled;
	memset(&st.cur, 0, sizeof(st.cur));
	int rc = 0;
	if (!enabled)
		goto out;
	int fd = st.path[0] ? open(st.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
			    : -1;
	if (fd >= 0) {
		char text[FILE_MAX];
		ssize_t len = read(fd, text, sizeof(text));
		close(fd);
		unsigned bad = 0;
		if (len < 0 || len == (ssize_t)sizeof(text)) {
			rc = -EINVAL;
			snprintf(err, errlen, "%s: unreadable or too large",
				 st.path);
		} else if (vd_cookies_parse(text, (size_t)len, &st.cur, &bad) <= 0) {
			rc = -EINVAL;
			snprintf(err, errlen, "%s:%u: expected one secret of 32 "
					      "hex digits per line (at most %d)",
				 st.path, bad, VD_COOKIE_SECRETS_MAX);
		}
		memset(text, 0, sizeof(text));
		if (rc != 0)
			goto out;
	} else if (st.path[0] && errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", st.path, strerror(errno));
		goto out;
	}
	if (st.cur.n == 0) {
		if (getrandom(st.cur.s[0], VD_DNS_COOKIE_SECRET_LEN, 0) !=
		    VD_DNS_COOKIE_SECRET_LEN) {
			rc = -EIO;
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			goto out;
		}
		st.cur.n = 1;
		vd_log(VD_LOG_WARNING, "cookies: no cookie-secret-file yet; made "
				       "a random secret only this node knows "
				       "(share one: vipdnsctl --cluster "
				       "cookie-secret add new)");
		char why[300];
		if (save_locked(why, sizeof(why)) != 0)
			vd_log(VD_LOG_WARNING, "cookies: not saved: %s", why);
	}
out:
	if (rc != 0)
		memset(&st.cur, 0, sizeof(st.cur));
	int prc = publish_locked();
	pthread_mutex_unlock(&st.lock);
	return rc ? rc : prc;
}

const struct vd_cookie_secrets *vd_cookies_current(void)
{
	return rcu_dereference(published);
}

static int change_locked(char *err, size_t errlen)
{
	int rc = publish_locked();
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	return save_locked(err, errlen);
}

int vd_cookies_add(const uint8_t secret[VD_DNS_COOKIE_SECRET_LEN], char *err,
		   size_t errlen)
{
	pthread_mutex_lock(&st.lock);
	int rc = -EINVAL;
	if (!st.enabled) {
		snprintf(err, errlen, "answer-cookie is off");
		goto out;
	}
	for (size_t i = 0; i < st.cur.n; i++)
		if (!memcmp(st.cur.s[i], secret, VD_DNS_COOKIE_SECRET_LEN)) {
			rc = 0; /* a retried cluster command */
			goto out;
		}
	if (st.cur.n == VD_COOKIE_SECRETS_MAX) {
		rc = -ENOSPC;
		snprintf(err, errlen, "%d secrets held already: drop first",
			 VD_COOKIE_SECRETS_MAX);
		goto out;
	}
	if (st.cur.n == 0) { /* the active one failed to load */
		memcpy(st.cur.s[0], secret, VD_DNS_COOKIE_SECRET_LEN);
		st.cur.n = 1;
		rc = change_locked(err, errlen);
		goto out;
	}
	/* Staged right after the active one: "activate" takes it. */
	memmove(st.cur.s[2], st.cur.s[1],
		(st.cur.n - 1) * VD_DNS_COOKIE_SECRET_LEN);
	memcpy(st.cur.s[1], secret, VD_DNS_COOKIE_SECRET_LEN);
	st.cur.n++;
	rc = change_locked(err, errlen);
out:
	pthread_mutex_unlock(&st.lock);
	return rc;
}

int vd_cookies_activate(char *err, size_t errlen)
{
	pthread_mutex_lock(&st.lock);
	int rc = -EINVAL;
	if (!st.enabled || st.cur.n < 2) {
		snprintf(err, errlen, "no staged secret (cookie-secret add "
				      "first)");
		goto out;
	}
	uint8_t t[VD_DNS_COOKIE_SECRET_LEN];
	memcpy(t, st.cur.s[0], sizeof(t));
	memcpy(st.cur.s[0], st.cur.s[1], sizeof(t));
	memcpy(st.cur.s[1], t, sizeof(t));
	memset(t, 0, sizeof(t));
	rc = change_locked(err, errlen);
out:
	pthread_mutex_unlock(&st.lock);
	return rc;
}

int vd_cookies_drop(char *err, size_t errlen)
{
	pthread_mutex_lock(&st.lock);
	int rc = -EINVAL;
	if (!st.enabled) {
		snprintf(err, errlen, "answer-cookie is off");
		goto out;
	}
	memset(st.cur.s[1], 0,
	       (VD_COOKIE_SECRETS_MAX - 1) * VD_DNS_COOKIE_SECRET_LEN);
	st.cur.n = st.cur.n ? 1 : 0;
	rc = change_locked(err, errlen);
out:
	pthread_mutex_unlock(&st.lock);
	return rc;
}

void vd_cookies_describe(char *out, size_t cap)
{
	pthread_mutex_lock(&st.lock);
	size_t o = 0;
	if (!st.enabled || st.cur.n == 0)
		o = (size_t)snprintf(out, cap, "off");
	for (size_t i = 0; i < st.cur.n && st.enabled && o < cap; i++) {
		/* A fingerprint tells nodes' secrets apart; it is a hash, so
		 * status output never reveals them. */
		uint8_t d[32];
		unsigned dl = 0;
		EVP_Digest(st.cur.s[i], VD_DNS_COOKIE_SECRET_LEN, d, &dl,
			   EVP_sha256(), NULL);
		int w = snprintf(out + o, cap - o, "%s%s %02x%02x%02x%02x",
				 i ? ", " : "", i ? "accepted" : "active", d[0],
				 d[1], d[2], d[3]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	pthread_mutex_unlock(&st.lock);
}

void vd_cookies_shutdown(void)
{
	pthread_mutex_lock(&st.lock);
	struct vd_cookie_secrets *old = rcu_xchg_pointer(&published, NULL);
	pthread_mutex_unlock(&st.lock);
	if (old) {
		synchronize_rcu();
		memset(old, 0, sizeof(*old));
		free(old);
	}
}
