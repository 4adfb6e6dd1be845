#include "control/tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

void vd_ctl_tls_error(char *err, size_t errlen)
{
	unsigned long e;
	size_t n = strlen(err);
	while ((e = ERR_get_error()) != 0) {
		if (n + 3 >= errlen)
			continue;
		snprintf(err + n, errlen - n, ": ");
		n += 2;
		ERR_error_string_n(e, err + n, errlen - n);
		n = strlen(err);
	}
}

SSL_CTX *vd_ctl_tls_ctx(bool server, const char *cert, const char *key,
			const char *ca, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	if (!cert[0] || !key[0] || !ca[0]) {
		snprintf(err, errlen, "cluster-cert, cluster-key and cluster-ca "
			 "must all be set");
		return NULL;
	}
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "cannot create a TLS context");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "cluster-cert %s", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "cluster-key %s", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "cluster-key %s does not match "
			 "cluster-cert %s", key, cert);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		snprintf(err, errlen, "cluster-ca %s", ca);
		goto fail;
	}
	/* Mutual: a client without a certificate from our CA gets nothing. */
	SSL_CTX_set_verify(ctx,
			   SSL_VERIFY_PEER |
				   (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
			   NULL);
	if (server) {
		/* The client's CA list hint; one CA. */
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	return ctx;
fail:
	vd_ctl_tls_error(err, errlen);
	SSL_CTX_free(ctx);
	return NULL;
}
