#include "resolve/nta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "dns/query.h"

/* A file holds at most VD_NTA_MAX short lines; anything bigger is not
 * ours. */
#define FILE_MAX (VD_NTA_MAX * (VD_DNS_NAME_MAX * 4 + 32))

static struct {
	pthread_mutex_t lock;
	char path[4096];
	struct vd_nta t[VD_NTA_MAX];
	size_t n;
} tab = {.lock = PTHREAD_MUTEX_INITIALIZER};

int vd_nta_parse(const char *text, size_t len, int64_t now,
		 struct vd_nta *out, size_t cap, unsigned *bad_line)
{
	size_t n = 0;
	unsigned line = 0;
	size_t i = 0;
	while (i < len) {
		line++;
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		char buf[VD_DNS_NAME_MAX * 4 + 32];
		size_t l = e - i;
		const char *p = text + i;
		i = e + 1;
		if (l == 0 || p[0] == '#')
			continue;
		if (l >= sizeof(buf) || memchr(p, '\0', l))
			goto bad;
		memcpy(buf, p, l);
		buf[l] = '\0';
		char *sp = strchr(buf, ' ');
		if (!sp || sp == buf)
			goto bad;
		*sp = '\0';
		char *end;
		errno = 0;
		long long exp = strtoll(sp + 1, &end, 10);
		if (errno || *end || end == sp + 1 || exp < 0)
			goto bad;
		struct vd_nta a = {.expires = exp};
		int nl = vd_dns_name_from_str(buf, a.name, sizeof(a.name));
		if (nl < 0)
			goto bad;
		a.name_len = (size_t)nl;
		/* A far future expiry is someone's edit, not ours: cap it. */
		if (a.expires > now + (int64_t)VD_NTA_MAX_SECONDS)
			a.expires = now + (int64_t)VD_NTA_MAX_SECONDS;
		if (a.expires <= now)
			continue;
		if (n == cap)
			goto bad;
		out[n++] = a;
	}
	return (int)n;
bad:
	if (bad_line)
		*bad_line = line;
	return -EINVAL;
}

/* Caller holds tab.lock. */
static int save_locked(char *err, size_t errlen)
{
	if (!tab.path[0])
		return 0;
	struct vd_atomic_file af;
	int rc = vd_atomic_open(&af, tab.path, 0644);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", tab.path, strerror(-rc));
		return rc;
	}
	fprintf(af.f, "# vipdnsd negative trust anchors: NAME EXPIRY (unix time)\n");
	for (size_t i = 0; i < tab.n; i++) {
		char name[VD_DNS_NAME_MAX * 4 + 2];
		if (vd_dns_name_to_str(tab.t[i].name, tab.t[i].name_len, name,
				       sizeof(name)) < 0)
			continue;
		fprintf(af.f, "%s %" PRId64 "\n", name, tab.t[i].expires);
	}
	rc = vd_atomic_commit(&af);
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", tab.path, strerror(-rc));
	return rc;
}

int vd_nta_init(const char *path, char *err, size_t errlen)
{
	pthread_mutex_lock(&tab.lock);
	tab.n = 0;
	snprintf(tab.path, sizeof(tab.path), "%s", path ? path : "");
	int rc = 0;
	if (!tab.path[0])
		goto out;
	int fd = open(tab.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno != ENOENT) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", tab.path, strerror(errno));
		}
		goto out;
	}
	char *text = malloc(FILE_MAX);
	ssize_t len = text ? read(fd, text, FILE_MAX) : -1;
	close(fd);
	if (len < 0 || len == FILE_MAX) {
		rc = len < 0 ? -EIO : -EFBIG;
		snprintf(err, errlen, "%s: %s", tab.path,
			 len < 0 ? "cannot read it" : "too large");
		free(text);
		goto out;
	}
	unsigned bad = 0;
	int n = vd_nta_parse(text, (size_t)len, (int64_t)time(NULL), tab.t,
			     VD_NTA_MAX, &bad);
	free(text);
	if (n < 0) {
		rc = n;
		snprintf(err, errlen, "%s:%u: expected \"NAME EXPIRY\" (at most "
				      "%d anchors)",
			 tab.path, bad, VD_NTA_MAX);
		goto out;
	}
	tab.n = (size_t)n;
out:
	pthread_mutex_unlock(&tab.lock);
	return rc;
}

static size_t find_locked(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < tab.n; i++)
		if (tab.t[i].name_len == len && !memcmp(tab.t[i].name, name, len))
			return i;
	return SIZE_MAX;
}

int vd_nta_add(const uint8_t *name, size_t len, uint32_t seconds, int64_t now,
	       char *err, size_t errlen)
{
	if (len == 0 || len > VD_DNS_NAME_MAX || seconds == 0 ||
	    seconds > VD_NTA_MAX_SECONDS) {
		snprintf(err, errlen, "lifetime must be 1..%u seconds",
			 VD_NTA_MAX_SECONDS);
		return -EINVAL;
	}
	pthread_mutex_lock(&tab.lock);
	size_t i = find_locked(name, len);
	if (i == SIZE_MAX) {
		if (tab.n == VD_NTA_MAX) {
			pthread_mutex_unlock(&tab.lock);
			snprintf(err, errlen, "%d negative trust anchors in "
					      "force already",
				 VD_NTA_MAX);
			return -ENOSPC;
		}
		i = tab.n++;
		memcpy(tab.t[i].name, name, len);
		tab.t[i].name_len = len;
	}
	tab.t[i].expires = now + seconds;
	int rc = save_locked(err, errlen);
	pthread_mutex_unlock(&tab.lock);
	return rc;
}

int vd_nta_remove(const uint8_t *name, size_t len, char *err, size_t errlen)
{
	pthread_mutex_lock(&tab.lock);
	size_t i = find_locked(name, len);
	int rc = 0;
	if (i != SIZE_MAX) {
		tab.t[i] = tab.t[--tab.n];
		rc = save_locked(err, errlen);
		if (rc == 0)
			rc = 1;
	}
	pthread_mutex_unlock(&tab.lock);
	return rc;
}

size_t vd_nta_list(struct vd_nta *out, size_t cap, int64_t now)
{
	size_t n = 0;
	pthread_mutex_lock(&tab.lock);
	for (size_t i = 0; i < tab.n && n < cap; i++)
		if (tab.t[i].expires > now)
			out[n++] = tab.t[i];
	pthread_mutex_unlock(&tab.lock);
	return n;
}

size_t vd_nta_expire(struct vd_nta *out, size_t cap, int64_t now)
{
	size_t n = 0;
	pthread_mutex_lock(&tab.lock);
	for (size_t i = 0; i < tab.n;) {
		if (tab.t[i].expires <= now && n < cap) {
			out[n++] = tab.t[i];
			tab.t[i] = tab.t[--tab.n];
		} else {
			i++;
		}
	}
	if (n) {
		char err[256];
		(void)save_locked(err, sizeof(err)); /* the next save retries */
	}
	pthread_mutex_unlock(&tab.lock);
	return n;
}

bool vd_nta_due(int64_t now)
{
	bool due = false;
	pthread_mutex_lock(&tab.lock);
	for (size_t i = 0; i < tab.n && !due; i++)
		due = tab.t[i].expires <= now;
	pthread_mutex_unlock(&tab.lock);
	return due;
}
