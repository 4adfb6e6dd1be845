#include "anycast/birdctl.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"

#define LINE_MAX_BYTES 4096

struct reader {
	int fd;
	uint64_t deadline_ns;
	char buf[LINE_MAX_BYTES];
	size_t have;
};

/* One line without its newline into line; 0, or -errno. */
static int read_line(struct reader *r, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->have);
		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			size_t c = n < cap - 1 ? n : cap - 1;
			memcpy(line, r->buf, c);
			line[c] = '\0';
			memmove(r->buf, nl + 1, r->have - n - 1);
			r->have -= n + 1;
			return 0;
		}
		if (r->have == sizeof(r->buf))
			return -EMSGSIZE;
		uint64_t now = vd_now_ns();
		if (now >= r->deadline_ns)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		int ms = (int)((r->deadline_ns - now) / VD_NS_PER_MS) + 1;
		int rc = poll(&p, 1, ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
		ssize_t got = read(r->fd, r->buf + r->have,
				   sizeof(r->buf) - r->have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -ECONNRESET;
		r->have += (size_t)got;
	}
}

static bool coded(const char *l)
{
	return isdigit((unsigned char)l[0]) && isdigit((unsigned char)l[1]) &&
	       isdigit((unsigned char)l[2]) && isdigit((unsigned char)l[3]) &&
	       (l[4] == ' ' || l[4] == '-');
}

static void append(char *out, size_t cap, size_t *len, const char *s)
{
	if (!out || cap == 0)
		return;
	int n = snprintf(out + *len, cap - *len, "%s\n", s);
	if (n > 0)
		*len = *len + (size_t)n < cap - 1 ? *len + (size_t)n : cap - 1;
}

int vd_anycast_birdc(const char *path, const char *cmd, unsigned timeout_ms,
		     char *out, size_t cap)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	static struct reader zero;
	struct reader r = zero;
	char line[LINE_MAX_BYTES];
	size_t len = 0;
	int rc;

	if (out && cap)
		out[0] = '\0';
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	r.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r.fd < 0)
		return -errno;
	r.deadline_ns = vd_now_ns() + (uint64_t)timeout_ms * VD_NS_PER_MS;
	if (connect(r.fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		rc = -errno;
		goto out;
	}
	/* Greeting: "0001 BIRD 2.0.12 ready." */
	rc = read_line(&r, line, sizeof(line));
	if (rc != 0)
		goto out;
	if (strncmp(line, "0001 ", 5) != 0) {
		rc = -EPROTO;
		goto out;
	}
	char req[512];
	int n = snprintf(req, sizeof(req), "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(req) || strchr(cmd, '\n')) {
		rc = -EINVAL;
		goto out;
	}
	for (size_t off = 0; off < (size_t)n;) {
		ssize_t w = send(r.fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			goto out;
		}
		off += (size_t)w;
	}
	for (;;) {
		rc = read_line(&r, line, sizeof(line));
		if (rc != 0)
			goto out;
		if (line[0] == '+')
			continue; /* asynchronous message, not our reply */
		if (line[0] == ' ') {
			append(out, cap, &len, line + 1);
			continue;
		}
		if (!coded(line)) {
			rc = -EPROTO;
			goto out;
		}
		append(out, cap, &len, line + 5);
		if (line[4] == ' ') {
			rc = (line[0] - '0') * 1000 + (line[1] - '0') * 100 +
			     (line[2] - '0') * 10 + (line[3] - '0');
			goto out;
		}
	}
out:
	close(r.fd);
	return rc;
}
