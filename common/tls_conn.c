/*
 * tls_conn.c — the per-connection TLS engine over memory BIOs (see tls.h).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/tls_int.h"

/* A write buffer grown past this by one large write is given back. */
#define OUTPUT_KEEP (32 * 1024)

struct tls_conn {
	SSL *ssl;
	BIO *in;  /* ciphertext from the network, read by OpenSSL */
	BIO *out; /* ciphertext written by OpenSSL, for the network */
	bool server;
	bool done;
	char expected[TLS_NAME_MAX]; /* what the server must be */
	char error[384];
	struct tls_peer_names peer;
};

static BIO *memory_bio(void)
{
	BIO *b = BIO_new(BIO_s_mem());
	/* An empty buffer means "wait for more", not end of file. */
	if (b)
		BIO_set_mem_eof_return(b, -1);
	return b;
}

static bool is_ip(const char *s)
{
	unsigned char a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The connecting side checks the server's certificate against a name:
 * OpenSSL then refuses the handshake on a mismatch. */
static bool expect_name(struct tls_conn *c, const char *name, char *err,
			size_t errlen)
{
	if (!name || !*name || strlen(name) >= sizeof(c->expected)) {
		snprintf(err, errlen,
			 "no usable name to check the server's certificate "
			 "against: set server_name");
		return false;
	}
	snprintf(c->expected, sizeof(c->expected), "%s", name);
	SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	bool ok;
	if (is_ip(name)) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
						   name) == 1;
	} else {
		ok = SSL_set1_host(c->ssl, name) == 1 &&
		     SSL_set_tlsext_host_name(c->ssl, name) == 1;
	}
	if (!ok)
		snprintf(err, errlen,
			 "cannot check the server's name \"%s\": %s", name,
			 tls_openssl_reason("invalid name"));
	return ok;
}

struct tls_conn *tls_conn_new(struct tls_context *ctx, bool server,
			      const char *peer_name, char *err, size_t errlen)
{
	struct tls_conn *c = calloc(1, sizeof(*c));
	BIO *in = memory_bio(), *out = memory_bio();
	ERR_clear_error();
	if (c)
		c->ssl = SSL_new(tls_context_ssl(ctx));
	if (!c || !c->ssl || !in || !out) {
		snprintf(err, errlen, "out of memory for a TLS connection");
		BIO_free(in);
		BIO_free(out);
		if (c)
			SSL_free(c->ssl);
		free(c);
		return NULL;
	}
	SSL_set_bio(c->ssl, in, out); /* the SSL owns them now */
	c->in = in;
	c->out = out;
	c->server = server;
	if (server) {
		SSL_set_accept_state(c->ssl);
		return c;
	}
	SSL_set_connect_state(c->ssl);
	const char *name = tls_context_server_name(ctx);
	if (!expect_name(c, name ? name : peer_name, err, errlen)) {
		tls_conn_free(c);
		return NULL;
	}
	return c;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	free(c);
}

int tls_conn_feed(struct tls_conn *c, const void *data, size_t len)
{
	if (BIO_ctrl_pending(c->in) + len > TLS_INPUT_MAX) {
		snprintf(c->error, sizeof(c->error),
			 "TLS: over %d bytes received and not read",
			 TLS_INPUT_MAX);
		return TLS_ERROR;
	}
	if (len && BIO_write(c->in, data, (int)len) != (int)len) {
		snprintf(c->error, sizeof(c->error), "TLS: out of memory");
		return TLS_ERROR;
	}
	return 0;
}

/* OpenSSL names a received alert "tlsv13 alert certificate required":
 * that is the peer refusing, which an operator must read as such. */
static void reason_failed(struct tls_conn *c, const char *what,
			  const char *reason)
{
	if (strstr(reason, " alert "))
		snprintf(c->error, sizeof(c->error),
			 "TLS %s failed: the %s refused the connection (%s)",
			 what, c->server ? "client" : "server", reason);
	else
		snprintf(c->error, sizeof(c->error), "TLS %s failed: %s", what,
			 reason);
}

/* Whose certificate failed, and why, in the words an operator can act
 * on: the verification result first (it names the certificate problem),
 * then OpenSSL's reason (alerts, protocol errors). */
static int failed(struct tls_conn *c, const char *what)
{
	long v = SSL_get_verify_result(c->ssl);
	const char *whose = c->server ? "the client's" : "the server's";
	if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(c->error, sizeof(c->error),
			 "TLS %s failed: %s certificate is not for \"%s\"",
			 what, whose, c->expected);
	else if (v != X509_V_OK)
		snprintf(c->error, sizeof(c->error),
			 "TLS %s failed: %s certificate: %s", what, whose,
			 X509_verify_cert_error_string(v));
	else
		reason_failed(c, what, tls_openssl_reason("connection error"));
	ERR_clear_error();
	return TLS_ERROR;
}

static void collect_peer_names(struct tls_conn *c)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	tls_cert_names(cert, &c->peer);
}

int tls_conn_handshake(struct tls_conn *c)
{
	if (c->done)
		return 1;
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->done = true;
		collect_peer_names(c);
		return 1;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return TLS_AGAIN;
	return failed(c, "handshake");
}

bool tls_conn_handshake_done(const struct tls_conn *c)
{
	return c->done;
}

ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t cap)
{
	if (!c->done) {
		int h = tls_conn_handshake(c);
		if (h != 1)
			return h;
	}
	ERR_clear_error();
	int n = SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return TLS_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_CLOSED;
	default:
		return failed(c, "read");
	}
}

ssize_t tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
	if (!c->done) {
		snprintf(c->error, sizeof(c->error),
			 "TLS: a write before the handshake completed");
		return TLS_ERROR;
	}
	if (len == 0)
		return 0;
	int n = len > TLS_WRITE_CHUNK ? TLS_WRITE_CHUNK : (int)len;
	ERR_clear_error();
	int w = SSL_write(c->ssl, data, n);
	if (w > 0)
		return w;
	return failed(c, "write");
}

void tls_conn_close_notify(struct tls_conn *c)
{
	if (!c->done || (SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN))
		return;
	ERR_clear_error();
	SSL_shutdown(c->ssl);
	ERR_clear_error();
}

size_t tls_conn_output(struct tls_conn *c, const char **data)
{
	char *p = NULL;
	long n = BIO_get_mem_data(c->out, &p);
	*data = p;
	return n > 0 ? (size_t)n : 0;
}

void tls_conn_output_done(struct tls_conn *c)
{
	BUF_MEM *m = NULL;
	BIO_get_mem_ptr(c->out, &m);
	if (!m || m->max <= OUTPUT_KEEP) {
		(void)BIO_reset(c->out);
		return;
	}
	BIO *fresh = memory_bio();
	if (!fresh) {
		(void)BIO_reset(c->out);
		return;
	}
	SSL_set0_wbio(c->ssl, fresh); /* frees the old one */
	c->out = fresh;
}

const struct tls_peer_names *tls_conn_peer_names(const struct tls_conn *c)
{
	return &c->peer;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->error;
}
