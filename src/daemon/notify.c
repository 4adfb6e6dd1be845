#include "daemon/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

static struct sockaddr_un addr;
static socklen_t addr_len;
static int fd = -1;
static uint64_t watchdog_ns;

bool vd_notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n = path ? strlen(path) : 0;
	if (n < 2 || n >= sizeof(addr.sun_path) ||
	    (path[0] != '/' && path[0] != '@'))
		return false;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, path, n);
	if (path[0] == '@')
		addr.sun_path[0] = '\0';
	/* An abstract name is exactly its bytes, no terminating NUL. */
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			       (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vd_log(VD_LOG_WARNING, "NOTIFY_SOCKET: %s", strerror(errno));
		return false;
	}
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	char *end = NULL;
	unsigned long long us = usec ? strtoull(usec, &end, 10) : 0;
	bool ours = !pid || strtol(pid, NULL, 10) == (long)getpid();
	if (usec && end && *end == '\0' && us > 0 && ours)
		watchdog_ns = us * 1000ull;
	return true;
}

int vd_notify(const char *state)
{
	if (fd < 0)
		return 0;
	ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
			   (const struct sockaddr *)&addr, addr_len);
	if (n < 0) {
		int e = errno;
		vd_log(VD_LOG_WARNING, "NOTIFY_SOCKET: %s", strerror(e));
		return -e;
	}
	return 0;
}

uint64_t vd_notify_watchdog_ns(void)
{
	return watchdog_ns;
}
