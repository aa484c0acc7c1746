/*
 * http.h — a deliberately small HTTP/1.1 server for health checks, status
 * and Prometheus metrics (GET and HEAD; one request per connection).
 *
 * Contract
 * --------
 * Loop thread only.  Plaintext, or TLS with the caller's context
 * (common/stream.h carries both).  Each request line is parsed, headers are skipped, and
 * the handler fills a response (status, content type, body).  Requests over
 * 8 KiB or malformed ones get 400 and the connection closes; nothing a
 * client sends can affect other connections.  Responses carry
 * Content-Length and Connection: close.
 *
 * Errors: http_start returns 0 or a negative errno (libuv's codes are
 * negative errno on Linux) with a message in err; a bad request becomes an
 * HTTP status, never a return value; nothing is logged.
 */
#ifndef TENURE_COMMON_HTTP_H
#define TENURE_COMMON_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "common/buf.h"
#include "common/tls.h"

struct http_response {
	int status;               /* 200, 404, 503 ... */
	const char *content_type; /* default "application/json" */
	struct buf body;          /* the handler appends */
};

typedef void (*http_handler)(void *arg, const char *method, const char *path,
			     struct http_response *res);

struct http_server;

/* Listens on listen_addr ("host:port"); with tls (not NULL: the caller's,
 * kept until http_close's callback) over TLS only, a tls_context_reload()
 * applying to the connections accepted after it. */
int http_start(uv_loop_t *loop, const char *listen_addr,
	       struct tls_context *tls, http_handler h, void *arg,
	       struct http_server **out, char *err, size_t errlen);
void http_close(struct http_server *s, void (*on_closed)(void *arg), void *arg);
/* printf into a response body. */
void http_printf(struct http_response *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
