/*
 * tls.c — TLS contexts: loading, checking and reloading the PEM files
 * (see tls.h).  The per-connection engine is in tls_conn.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/tls_int.h"

struct tls_context {
	SSL_CTX *ssl;
	struct tls_config cfg; /* the strings are ours */
};

static void say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *tls_openssl_reason(const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r ? r : fallback;
}

SSL_CTX *tls_context_ssl(const struct tls_context *ctx)
{
	return ctx->ssl;
}

const char *tls_context_server_name(const struct tls_context *ctx)
{
	return ctx->cfg.server_name;
}

/* An encrypted key would make OpenSSL prompt on the terminal: a daemon
 * must fail instead, and say so. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/* fopen() first, so that a missing or unreadable file is reported as such
 * rather than as OpenSSL's "no start line". */
static bool readable(const char *option, const char *path, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		say(err, errlen, "cannot read %s \"%s\": %s", option, path,
		    strerror(errno));
		return false;
	}
	fclose(f);
	return true;
}

static bool load_cert(SSL_CTX *ssl, const char *path, char *err, size_t errlen)
{
	if (!readable("cert_file", path, err, errlen))
		return false;
	if (SSL_CTX_use_certificate_chain_file(ssl, path) != 1) {
		say(err, errlen,
		    "cert_file \"%s\": not a PEM certificate (%s): it must "
		    "start with -----BEGIN CERTIFICATE-----",
		    path, tls_openssl_reason("unreadable"));
		return false;
	}
	return true;
}

/* The key is parsed on its own first, so that "not a key" and "not the
 * certificate's key" are told apart. */
static bool load_key(SSL_CTX *ssl, const char *path, const char *cert_path,
		     char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		say(err, errlen, "cannot read key_file \"%s\": %s", path,
		    strerror(errno));
		return false;
	}
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (!key) {
		say(err, errlen,
		    "key_file \"%s\": not an unencrypted PEM private key (%s)",
		    path, tls_openssl_reason("unreadable"));
		return false;
	}
	bool ok = SSL_CTX_use_PrivateKey(ssl, key) == 1 &&
		  SSL_CTX_check_private_key(ssl) == 1;
	EVP_PKEY_free(key);
	if (!ok) {
		ERR_clear_error();
		say(err, errlen,
		    "key_file \"%s\" is not the private key of the "
		    "certificate in cert_file \"%s\": give the key the "
		    "certificate was made for",
		    path, cert_path);
	}
	return ok;
}

static bool load_ca(SSL_CTX *ssl, const char *path, char *err, size_t errlen)
{
	if (!readable("ca_file", path, err, errlen))
		return false;
	if (SSL_CTX_load_verify_file(ssl, path) != 1) {
		say(err, errlen,
		    "ca_file \"%s\": no PEM certificate in it (%s)", path,
		    tls_openssl_reason("unreadable"));
		return false;
	}
	return true;
}

/* Our own certificate must verify against ca_file: one CA signs the whole
 * cluster, and a certificate it did not sign (or an expired one) would
 * only fail later, at every peer's handshake, with a vaguer message. */
static bool cert_trusted(SSL_CTX *ssl, const struct tls_config *cfg, char *err,
			 size_t errlen)
{
	X509 *cert = SSL_CTX_get0_certificate(ssl);
	STACK_OF(X509) *chain = NULL;
	SSL_CTX_get0_chain_certs(ssl, &chain);
	X509_STORE_CTX *sc = X509_STORE_CTX_new();
	if (!sc || X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ssl), cert,
				       chain) != 1) {
		X509_STORE_CTX_free(sc);
		say(err, errlen, "out of memory checking cert_file \"%s\"",
		    cfg->cert_file);
		return false;
	}
	bool ok = X509_verify_cert(sc) == 1;
	if (!ok)
		say(err, errlen,
		    "cert_file \"%s\" does not verify against ca_file "
		    "\"%s\": %s",
		    cfg->cert_file, cfg->ca_file,
		    X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(sc)));
	X509_STORE_CTX_free(sc);
	ERR_clear_error();
	return ok;
}

static bool cert_current(SSL_CTX *ssl, const char *path, char *err,
			 size_t errlen)
{
	X509 *cert = SSL_CTX_get0_certificate(ssl);
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
		say(err, errlen, "cert_file \"%s\" has expired: renew it",
		    path);
		return false;
	}
	return true;
}

static bool options_consistent(const struct tls_config *cfg, char *err,
			       size_t errlen)
{
	if (!cfg->cert_file != !cfg->key_file) {
		say(err, errlen, "%s is set without %s: give both",
		    cfg->cert_file ? "cert_file" : "key_file",
		    cfg->cert_file ? "key_file" : "cert_file");
		return false;
	}
	if (cfg->server && !cfg->cert_file) {
		say(err, errlen,
		    "TLS on a listener needs cert_file and key_file");
		return false;
	}
	if ((cfg->verify_peer || cfg->ask_peer) && !cfg->ca_file) {
		say(err, errlen,
		    "verifying clients' certificates needs ca_file (the CA "
		    "that signs them)");
		return false;
	}
	return true;
}

static void settings(SSL_CTX *ssl, const struct tls_config *cfg)
{
	SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
	/* Every connection is long-lived or one request: resumption would
	 * buy nothing and tickets cost bytes on every handshake. */
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ssl, 0);
	SSL_CTX_set_options(ssl, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	/* Idle connections (most client sessions) give their buffers back. */
	SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(ssl, no_passphrase);
	int verify = SSL_VERIFY_NONE;
	if (cfg->verify_peer)
		verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	else if (cfg->ask_peer)
		verify = SSL_VERIFY_PEER;
	SSL_CTX_set_verify(ssl, verify, NULL);
}

static SSL_CTX *load_ssl(const struct tls_config *cfg, char *err, size_t errlen)
{
	if (!options_consistent(cfg, err, errlen))
		return NULL;
	ERR_clear_error();
	SSL_CTX *ssl = SSL_CTX_new(TLS_method());
	if (!ssl) {
		say(err, errlen, "cannot create a TLS context: %s",
		    tls_openssl_reason("out of memory"));
		return NULL;
	}
	settings(ssl, cfg);
	bool ok = true;
	if (cfg->cert_file)
		ok = load_cert(ssl, cfg->cert_file, err, errlen) &&
		     load_key(ssl, cfg->key_file, cfg->cert_file, err, errlen);
	if (ok && cfg->ca_file)
		ok = load_ca(ssl, cfg->ca_file, err, errlen);
	if (ok && !cfg->ca_file) {
		/* Without them a client trusts nothing: its handshakes fail
		 * with "unable to get local issuer certificate". */
		SSL_CTX_set_default_verify_paths(ssl);
		ERR_clear_error();
	}
	if (ok && cfg->cert_file)
		ok = cfg->ca_file
			     ? cert_trusted(ssl, cfg, err, errlen)
			     : cert_current(ssl, cfg->cert_file, err, errlen);
	if (!ok) {
		SSL_CTX_free(ssl);
		return NULL;
	}
	return ssl;
}

static void config_free(struct tls_config *c)
{
	free((char *)c->cert_file);
	free((char *)c->key_file);
	free((char *)c->ca_file);
	free((char *)c->server_name);
	memset(c, 0, sizeof(*c));
}

static bool copy_str(const char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

static bool config_copy(struct tls_config *dst, const struct tls_config *src)
{
	*dst = *src;
	bool ok = copy_str(&dst->cert_file, src->cert_file) &
		  copy_str(&dst->key_file, src->key_file) &
		  copy_str(&dst->ca_file, src->ca_file) &
		  copy_str(&dst->server_name, src->server_name);
	if (!ok)
		config_free(dst);
	return ok;
}

struct tls_context *tls_context_load(const struct tls_config *cfg, char *err,
				     size_t errlen)
{
	struct tls_context *ctx = calloc(1, sizeof(*ctx));
	if (!ctx || !config_copy(&ctx->cfg, cfg)) {
		free(ctx);
		say(err, errlen, "out of memory loading the TLS files");
		return NULL;
	}
	ctx->ssl = load_ssl(&ctx->cfg, err, errlen);
	if (!ctx->ssl) {
		tls_context_free(ctx);
		return NULL;
	}
	return ctx;
}

int tls_context_reload(struct tls_context *ctx, const struct tls_config *cfg,
		       char *err, size_t errlen)
{
	struct tls_config next;
	if (!config_copy(&next, cfg ? cfg : &ctx->cfg)) {
		say(err, errlen, "out of memory reloading the TLS files");
		return -1;
	}
	SSL_CTX *ssl = load_ssl(&next, err, errlen);
	if (!ssl) {
		config_free(&next);
		return -1;
	}
	/* Connections made on the old context hold references to it:
	 * OpenSSL frees it when the last of them is freed. */
	SSL_CTX_free(ctx->ssl);
	ctx->ssl = ssl;
	config_free(&ctx->cfg);
	ctx->cfg = next;
	return 0;
}

void tls_context_free(struct tls_context *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl);
	config_free(&ctx->cfg);
	free(ctx);
}

static void add_name(struct tls_peer_names *p, const unsigned char *s, int len)
{
	if (p->count >= TLS_PEER_NAMES_MAX || len <= 0 || len >= TLS_NAME_MAX ||
	    memchr(s, '\0', (size_t)len))
		return;
	memcpy(p->name[p->count], s, (size_t)len);
	p->name[p->count][len] = '\0';
	p->count++;
}

static void add_common_name(struct tls_peer_names *p, X509 *cert)
{
	X509_NAME *subject = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (i < 0)
		return;
	ASN1_STRING *cn = X509_NAME_ENTRY_get_data(
		X509_NAME_get_entry(subject, i));
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, cn);
	if (len > 0)
		add_name(p, utf8, len);
	OPENSSL_free(utf8);
}

static void add_dns_names(struct tls_peer_names *p, X509 *cert)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL,
					       NULL);
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_DNS)
			add_name(p, ASN1_STRING_get0_data(g->d.dNSName),
				 ASN1_STRING_length(g->d.dNSName));
	}
	GENERAL_NAMES_free(sans);
}

void tls_cert_names(X509 *cert, struct tls_peer_names *out)
{
	out->count = 0;
	if (!cert)
		return;
	add_common_name(out, cert);
	add_dns_names(out, cert);
}

void tls_context_cert_names(const struct tls_context *ctx,
			    struct tls_peer_names *out)
{
	tls_cert_names(SSL_CTX_get0_certificate(ctx->ssl), out);
}

/* As a connecting side checks a server (tls_conn.c's expect_name, which
 * OpenSSL carries out with the same function): DNS SANs, or the CN when
 * there are none. */
bool tls_context_cert_carries(const struct tls_context *ctx, const char *name)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx->ssl);
	bool ok = cert && X509_check_host(cert, name, 0, 0, NULL) == 1;
	ERR_clear_error();
	return ok;
}

bool tls_context_has_cert(const struct tls_context *ctx)
{
	return ctx && ctx->cfg.cert_file != NULL;
}

bool tls_peer_names_include(const struct tls_peer_names *p, const char *name)
{
	for (unsigned i = 0; p && i < p->count; i++)
		if (strcmp(p->name[i], name) == 0)
			return true;
	return false;
}
