/*
 * tls_int.h — what tls_conn.c needs of tls.c's contexts (common/ only).
 */
#ifndef TENURE_COMMON_TLS_INT_H
#define TENURE_COMMON_TLS_INT_H

#include <openssl/ssl.h>

#include "common/tls.h"

/* The OpenSSL context in force: new connections take a reference. */
SSL_CTX *tls_context_ssl(const struct tls_context *ctx);
/* The configured server_name (NULL when none). */
const char *tls_context_server_name(const struct tls_context *ctx);
/* OpenSSL's reason for the oldest error in this thread's queue, or
 * fallback; clears the queue. */
const char *tls_openssl_reason(const char *fallback);
/* The names of cert as struct tls_peer_names lists them (none for NULL). */
void tls_cert_names(X509 *cert, struct tls_peer_names *out);

#endif
