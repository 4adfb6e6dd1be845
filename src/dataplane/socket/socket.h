/*
 * The socket data plane: kernel UDP and TCP sockets on every listen
 * address, one SO_REUSEPORT socket per worker so the kernel spreads
 * queries over workers without a shared queue.
 *
 * UDP: recvmmsg/sendmmsg in bursts; answers that wait for a recursion go
 * out later with sendto().  TCP (RFC 7766): several queries per
 * connection, answered as they complete (out of order), an idle timeout
 * and limits on connections per worker, per client prefix and in total
 * (tcp_limits.h), with the earliest-idle connection reclaimed under
 * pressure and the ACL applied at accept.  A TCP connection is reference
 * counted: each query waiting for a recursion holds one reference, so a
 * client that hangs up never leaves a waiter pointing at freed memory.
 */
#ifndef VD_DATAPLANE_SOCKET_SOCKET_H
#define VD_DATAPLANE_SOCKET_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct vd_worker;
struct vd_udp;
struct vd_tcp_listener;
struct vd_tcp_conn;

/* Open a bound (and for TCP, listening) socket for l.  Returns the fd or
 * a negative errno with the reason in err. */
int vd_sock_open_udp(const struct vd_listen *l, const struct vd_config *cfg,
		     char *err, size_t errlen);
int vd_sock_open_tcp(const struct vd_listen *l, const struct vd_config *cfg,
		     char *err, size_t errlen);
/* "203.0.113.1@53" / "2001:db8::1@53" */
void vd_sock_addr_str(const struct sockaddr *sa, char *out, size_t cap);

/*
 * Raises RLIMIT_NOFILE to what workers x the configured TCP limits need
 * plus a reserve for recursion, health and control, and sets the TCP
 * budget (per client prefix and in total) every worker shares.  Call once
 * at start, before any worker attaches a socket, as root if the hard
 * limit must grow.  Returns 0 or a negative errno with a reason fit for
 * the operator in err.  The budget is fixed until restart.
 */
int vd_tcp_limits_init(const struct vd_config *cfg, unsigned workers,
		       char *err, size_t errlen);
void vd_tcp_limits_fini(void); /* after every worker is freed */

/* Hand an fd to a worker's loop; the worker owns it from then on. */
struct vd_udp *vd_udp_attach(struct vd_worker *w, int fd);
void vd_udp_free(struct vd_udp *u);
/* tls: the listener speaks DNS over TLS (dot.h) on its connections. */
struct vd_tcp_listener *vd_tcp_attach(struct vd_worker *w, int fd, bool tls);
void vd_tcp_listener_free(struct vd_tcp_listener *l);
/* Stop reading new queries (planned stop); answers still go out. */
void vd_udp_pause(struct vd_udp *u);
void vd_tcp_listener_pause(struct vd_tcp_listener *l);

/* Closes every open connection of w (shutdown, after waiters are gone). */
void vd_tcp_close_all(struct vd_worker *w);
/* Frees this thread's burst buffers (worker thread exit). */
void vd_udp_thread_fini(void);

void vd_tcp_conn_ref(struct vd_tcp_conn *c);
void vd_tcp_conn_unref(struct vd_tcp_conn *c);
/* Queues a length-prefixed answer (if the connection is still open) and
 * drops the reference the waiting query held. */
void vd_tcp_conn_answer(struct vd_tcp_conn *c, const uint8_t *ans,
			size_t len);

#endif
