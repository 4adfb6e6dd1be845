/*
 * The client side of the control protocol (proto.h): vipdnsctl's, and the
 * daemon's own when it asks a peer over the cluster channel (warming its
 * cache from a healthy node).  Blocking I/O with timeouts.
 */
#ifndef VD_CONTROL_CLIENT_H
#define VD_CONTROL_CLIENT_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* One byte stream: a unix socket or a TLS connection. */
struct vd_ctl_chan {
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t have, off;
};

/* Sends req and reads the answer.  Returns 0 (OK, *body malloc'd and
 * NUL-terminated after body_len bytes), 1 (ERR, message in msg) or -errno
 * for transport failures (reason in msg). */
int vd_ctl_exchange(struct vd_ctl_chan *ch, const char *req, char **body,
		    size_t *body_len, char *msg, size_t msglen);
void vd_ctl_set_timeouts(int fd, int secs);
/* Non-blocking connect bounded by timeout, then blocking with timeouts.
 * Returns the fd or -1 with the reason in msg. */
int vd_ctl_tcp_connect(const struct sockaddr_storage *ss, socklen_t len,
		       int timeout, char *msg, size_t msglen);
/* Connects to a cluster-peer (NAME=ADDR@PORT) over mutual TLS, checking
 * that its certificate names NAME (written to name).  0, or -EINVAL (bad
 * peer string), -EHOSTUNREACH or -EPROTO with the reason in why. */
int vd_ctl_peer_open(SSL_CTX *ctx, const char *peer, int timeout,
		     struct vd_ctl_chan *ch, char *name, size_t namelen,
		     char *why, size_t whylen);
void vd_ctl_chan_close(struct vd_ctl_chan *ch);

#endif
