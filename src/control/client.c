#include "control/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "control/proto.h"
#include "control/tls.h"
#include "core/addr.h"

static ssize_t chan_read_raw(struct vd_ctl_chan *ch, void *p, size_t n)
{
	if (ch->ssl) {
		size_t got = 0;
		int rc = SSL_read_ex(ch->ssl, p, n, &got);
		if (rc == 1)
			return (ssize_t)got;
		int e = SSL_get_error(ch->ssl, rc);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		/* A peer that closes without close_notify after a complete
		 * answer is fine: the length already told us where it ends. */
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)
			return 0;
		if (e == SSL_ERROR_SSL)
			errno = EPROTO;
		else if (errno == 0)
			errno = EIO;
		return -1;
	}
	ssize_t r;
	do
		r = read(ch->fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static int chan_getc(struct vd_ctl_chan *ch)
{
	if (ch->off == ch->have) {
		errno = 0;
		ssize_t r = chan_read_raw(ch, ch->buf, sizeof(ch->buf));
		if (r <= 0)
			return r == 0 ? -2 : -1;
		ch->have = (size_t)r;
		ch->off = 0;
	}
	return (unsigned char)ch->buf[ch->off++];
}

static int chan_write(struct vd_ctl_chan *ch, const char *p, size_t n)
{
	while (n) {
		ssize_t w;
		if (ch->ssl) {
			size_t done = 0;
			if (SSL_write_ex(ch->ssl, p, n, &done) != 1)
				return -EPROTO;
			w = (ssize_t)done;
		} else {
			w = write(ch->fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int vd_ctl_exchange(struct vd_ctl_chan *ch, const char *req, char **body,
		    size_t *body_len, char *msg, size_t msglen)
{
	char line[VD_CTL_HEADER_MAX];
	size_t n = 0;
	int rc = chan_write(ch, req, strlen(req));
	if (rc != 0) {
		snprintf(msg, msglen, "cannot send: %s", strerror(-rc));
		return rc;
	}
	for (;;) {
		int c = chan_getc(ch);
		if (c < 0) {
			snprintf(msg, msglen, "%s before an answer",
				 c == -2 ? "connection closed"
					 : errno == EAGAIN ? "timed out"
							   : strerror(errno));
			return -EPROTO;
		}
		if (c == '\n')
			break;
		if (n + 1 >= sizeof(line)) {
			snprintf(msg, msglen, "answer header too long");
			return -EBADMSG;
		}
		line[n++] = (char)c;
	}
	line[n] = '\0';
	rc = vd_ctl_parse_response(line, n, body_len, msg, msglen);
	if (rc == 1)
		return 1;
	if (rc < 0) {
		snprintf(msg, msglen, "not a vipdnsd control answer");
		return -EBADMSG;
	}
	*body = malloc(*body_len + 1);
	if (!*body) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < *body_len; i++) {
		int c = chan_getc(ch);
		if (c < 0) {
			snprintf(msg, msglen, "answer cut short (%zu of %zu "
				 "bytes)", i, *body_len);
			free(*body);
			*body = NULL;
			return -EPROTO;
		}
		(*body)[i] = (char)c;
	}
	(*body)[*body_len] = '\0';
	return 0;
}

void vd_ctl_set_timeouts(int fd, int secs)
{
	struct timeval tv = {secs, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int vd_ctl_tcp_connect(const struct sockaddr_storage *ss, socklen_t len,
		       int timeout, char *msg, size_t msglen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0) {
		snprintf(msg, msglen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)ss, len) != 0) {
		if (errno != EINPROGRESS) {
			snprintf(msg, msglen, "%s", strerror(errno));
			goto fail;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int r = poll(&pfd, 1, timeout * 1000);
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (r == 0) {
			snprintf(msg, msglen, "connect timed out after %d s",
				 timeout);
			goto fail;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr) {
			snprintf(msg, msglen, "%s", strerror(soerr ? soerr : errno));
			goto fail;
		}
	}
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	vd_ctl_set_timeouts(fd, timeout);
	return fd;
fail:
	close(fd);
	return -1;
}

int vd_ctl_peer_open(SSL_CTX *ctx, const char *peer, int timeout,
		     struct vd_ctl_chan *ch, char *name, size_t namelen,
		     char *why, size_t whylen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *eq = strchr(peer, '=');

	memset(ch, 0, sizeof(*ch));
	ch->fd = -1;
	if (!eq || (size_t)(eq - peer) >= namelen ||
	    vd_addr_parse(eq + 1, &ss, &sslen) != 0) {
		snprintf(why, whylen, "bad cluster-peer \"%s\"", peer);
		return -EINVAL;
	}
	memcpy(name, peer, (size_t)(eq - peer));
	name[eq - peer] = '\0';
	ch->fd = vd_ctl_tcp_connect(&ss, sslen, timeout, why, whylen);
	if (ch->fd < 0)
		return -EHOSTUNREACH;
	ch->ssl = SSL_new(ctx);
	if (!ch->ssl || SSL_set_fd(ch->ssl, ch->fd) != 1 ||
	    SSL_set1_host(ch->ssl, name) != 1 ||
	    SSL_set_tlsext_host_name(ch->ssl, name) != 1) {
		snprintf(why, whylen, "TLS setup failed");
		vd_ctl_chan_close(ch);
		return -EPROTO;
	}
	ERR_clear_error();
	if (SSL_connect(ch->ssl) != 1) {
		long v = SSL_get_verify_result(ch->ssl);
		if (v != X509_V_OK)
			snprintf(why, whylen, "TLS: certificate not accepted: %s",
				 X509_verify_cert_error_string(v));
		else {
			snprintf(why, whylen, "TLS handshake failed");
			vd_ctl_tls_error(why, whylen);
		}
		vd_ctl_chan_close(ch);
		return -EPROTO;
	}
	return 0;
}

void vd_ctl_chan_close(struct vd_ctl_chan *ch)
{
	if (ch->ssl) {
		SSL_shutdown(ch->ssl);
		SSL_free(ch->ssl);
		ch->ssl = NULL;
	}
	if (ch->fd >= 0)
		close(ch->fd);
	ch->fd = -1;
}
