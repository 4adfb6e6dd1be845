#include "dataplane/socket/dot.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <urcu.h>

#include "config/config.h"
#include "core/log.h"

#define TICKET_KEY_LEN 80
#define TICKET_NAME_LEN 16

struct ticket_key {
	uint8_t name[TICKET_NAME_LEN];
	uint8_t aes[32];
	uint8_t hmac[32];
};

struct ticket_keys {
	size_t n;
	struct ticket_key k[VD_CONFIG_MAX_LIST];
};

static SSL_CTX *published;
static int keys_index = -1;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

bool vd_dot_enabled(const struct vd_config *cfg)
{
	return cfg->tls_service_key[0] && cfg->tls_service_pem[0];
}

bool vd_dot_listener(const struct vd_config *cfg, const struct vd_listen *l)
{
	if (!vd_dot_enabled(cfg))
		return false;
	in_port_t port = l->addr.ss_family == AF_INET
				 ? ((const struct sockaddr_in *)&l->addr)->sin_port
				 : ((const struct sockaddr_in6 *)&l->addr)->sin6_port;
	return ntohs(port) == cfg->tls_port;
}

static void ssl_errors(char *err, size_t errlen)
{
	size_t o = strlen(err);
	unsigned long e;
	while ((e = ERR_get_error()) != 0 && o + 3 < errlen) {
		err[o++] = ':';
		err[o++] = ' ';
		ERR_error_string_n(e, err + o, errlen - o);
		o = strlen(err);
	}
}

/* RFC 7858 3.2 and RFC 9461: "dot"; a client that offers other protocols
 * only is served without ALPN rather than cut off. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	for (unsigned i = 0; i < inlen;) {
		unsigned l = in[i];
		if (i + 1 + l > inlen)
			break;
		if (l == 3 && !memcmp(in + i + 1, "dot", 3)) {
			*out = in + i + 1;
			*outlen = 3;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/*
 * Session tickets under the fleet's keys: the first key encrypts, any
 * decrypts (2 = "decrypted with an old key, issue a new ticket").  An
 * unknown name means a full handshake, never a failure.
 */
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
		     EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
	const struct ticket_keys *tk =
		SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keys_index);
	if (!tk || tk->n == 0)
		return 0;
	const struct ticket_key *k = NULL;
	int rc = 1;
	if (enc) {
		k = &tk->k[0];
		memcpy(name, k->name, TICKET_NAME_LEN);
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
			return -1;
		if (EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes,
				       iv) != 1)
			return -1;
	} else {
		for (size_t i = 0; i < tk->n && !k; i++)
			if (!memcmp(name, tk->k[i].name, TICKET_NAME_LEN)) {
				k = &tk->k[i];
				rc = i == 0 ? 1 : 2;
			}
		if (!k)
			return 0;
		if (EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k->aes,
				       iv) != 1)
			return -1;
	}
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
						  (void *)k->hmac, sizeof(k->hmac)),
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	return rc;
}

static void keys_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
		      long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr) {
		OPENSSL_cleanse(ptr, sizeof(struct ticket_keys));
		free(ptr);
	}
}

static int read_key(const char *path, struct ticket_key *k, char *err,
		    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "tls-session-ticket-keys %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	uint8_t buf[TICKET_KEY_LEN + 1];
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != TICKET_KEY_LEN) {
		snprintf(err, errlen, "tls-session-ticket-keys %s: expected "
				      "exactly %d bytes of random data (head "
				      "-c %d /dev/urandom), got %zd",
			 path, TICKET_KEY_LEN, TICKET_KEY_LEN, n);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(k->name, buf, TICKET_NAME_LEN);
	memcpy(k->aes, buf + 16, 32);
	memcpy(k->hmac, buf + 48, 32);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static SSL_CTX *build(const struct vd_config *cfg, char *err, size_t errlen)
{
	err[0] = '\0';
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, errlen, "TLS context");
		ssl_errors(err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No renegotiation (a client-driven CPU sink), the server's cipher
	 * order, no compression; a client closing without close_notify is
	 * an end of stream (OpenSSL 3 would call it an error, and every
	 * message here is length-delimited, so no truncation goes unseen). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_service_pem) != 1) {
		snprintf(err, errlen, "tls-service-pem %s", cfg->tls_service_pem);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_service_key,
					SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls-service-key %s (or it does not match "
				      "the certificate)",
			 cfg->tls_service_key);
		goto fail;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (cfg->n_tls_ticket_keys) {
		struct ticket_keys *tk = calloc(1, sizeof(*tk));
		if (!tk) {
			snprintf(err, errlen, "out of memory");
			goto fail_quiet;
		}
		for (size_t i = 0; i < cfg->n_tls_ticket_keys; i++)
			if (read_key(cfg->tls_ticket_keys[i], &tk->k[tk->n++], err,
				     errlen) != 0) {
				keys_free(NULL, tk, NULL, 0, 0, NULL);
				goto fail_quiet;
			}
		SSL_CTX_set_ex_data(ctx, keys_index, tk);
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	}
	return ctx;
fail:
	ssl_errors(err, errlen);
fail_quiet:
	SSL_CTX_free(ctx);
	return NULL;
}

int vd_dot_load(const struct vd_config *cfg, char *err, size_t errlen)
{
	pthread_mutex_lock(&load_lock);
	if (keys_index < 0)
		keys_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
						      keys_free);
	SSL_CTX *ctx = NULL;
	int rc = 0;
	if (vd_dot_enabled(cfg)) {
		ctx = build(cfg, err, errlen);
		if (!ctx) {
			rc = -EINVAL;
			goto out;
		}
	}
	SSL_CTX *old = rcu_xchg_pointer(&published, ctx);
	if (old) {
		/* Connections accepted with it hold their own references. */
		synchronize_rcu();
		SSL_CTX_free(old);
	}
out:
	pthread_mutex_unlock(&load_lock);
	return rc;
}

SSL_CTX *vd_dot_ctx(void)
{
	return rcu_dereference(published);
}

void vd_dot_unload(void)
{
	pthread_mutex_lock(&load_lock);
	SSL_CTX *old = rcu_xchg_pointer(&published, NULL);
	if (old) {
		synchronize_rcu();
		SSL_CTX_free(old);
	}
	pthread_mutex_unlock(&load_lock);
}
