/*
 * Mutual TLS for cluster control (OpenSSL 3).  Both sides present a
 * certificate signed by the cluster CA and verify the other's; the client
 * also checks that the server's certificate names the peer it meant to
 * reach (cluster-peer NAME), so one node cannot stand in for another.
 */
#ifndef VD_CONTROL_TLS_H
#define VD_CONTROL_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* Returns a context (TLS 1.2 minimum, peer verification required) or NULL
 * with the reason (OpenSSL's included) in err. */
SSL_CTX *vd_ctl_tls_ctx(bool server, const char *cert, const char *key,
			const char *ca, char *err, size_t errlen);

/* Appends OpenSSL's queued errors (and clears them) to err. */
void vd_ctl_tls_error(char *err, size_t errlen);

#endif
