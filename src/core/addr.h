/*
 * "ADDR@PORT" socket addresses, the form every vipdns option that names a
 * TCP endpoint uses (metrics-listen, cluster-listen, cluster-peer).  Shared
 * by config (validation), control (cluster) and metrics (listener).
 */
#ifndef VD_CORE_ADDR_H
#define VD_CORE_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/*
 * Parses "192.0.2.1@9153" or "2001:db8::1@9153" (the port is required:
 * these endpoints have no well-known default).  Returns 0, or -EINVAL with
 * ss untouched.  Pure: no name resolution.
 */
int vd_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* "192.0.2.1@9153" / "2001:db8::1@9153" into out (cap bytes, >= 64). */
void vd_addr_format(const struct sockaddr *sa, char *out, size_t cap);

#endif
