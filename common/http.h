/*
 * http.h — a deliberately small HTTP/1.1 server for health checks, status
 * and Prometheus metrics (GET and HEAD; one request per connection), and
 * for a few authenticated writes (POST, PATCH, PUT, DELETE) where the
 * owner asks for them with http_start_full.
 *
 * Contract
 * --------
 * Loop thread only.  Plaintext, or TLS with the caller's context
 * (common/stream.h carries both).  Each request line is parsed, headers are
 * skipped (a body that Content-Length announces is awaited, then
 * ignored), and the handler fills a response (status, content type,
 * body).  Requests over 8 KiB, with a NUL byte in their header block or
 * otherwise malformed get 400 and the connection closes; nothing a
 * client sends can affect other connections.  Responses carry
 * Content-Length and Connection: close.
 *
 * Bounds on a hostile or broken client (common/http_request.h frames a
 * request):
 *   - at most max_connections at once, of which a quarter (at least 8)
 *     from one address; more are accepted and closed at once, so that
 *     the backlog pins no descriptor;
 *   - the whole request (a TLS handshake included) within
 *     header_timeout_ms of the accept, else the connection is closed;
 *   - the response taken by the client within write_timeout_ms of the
 *     answer, else the connection is reset (its buffers freed).
 *   - a write's answer may be deferred (http_defer): the connection then
 *     waits for the owner, who must answer it (http_deferred_answer) —
 *     the owner bounds that wait, not the sweep.
 * Each is counted (http_stats) and logged with its total, at most every
 * 10 s per listener and kind (events http_refused_connection,
 * http_timed_out).
 *
 * Errors: http_start returns 0 or a negative errno (libuv's codes are
 * negative errno on Linux) with a message in err; a bad request becomes an
 * HTTP status, never a return value.
 */
#ifndef TENURE_COMMON_HTTP_H
#define TENURE_COMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/tls.h"

#define HTTP_MAX_CONNECTIONS_DEFAULT 64
#define HTTP_HEADER_TIMEOUT_DEFAULT_MS 5000
#define HTTP_WRITE_TIMEOUT_DEFAULT_MS 10000

struct http_response {
	int status;               /* 200, 404, 503 ... */
	const char *content_type; /* default "application/json" */
	struct buf body;          /* the handler appends */
	/* Extra header lines, each ending in "\r\n" (a static string),
	 * e.g. WWW-Authenticate; NULL: none. */
	const char *headers;
};

typedef void (*http_handler)(void *arg, const char *method, const char *path,
			     struct http_response *res);

/* Longest Authorization value passed on: a Basic token of a long name and
 * password fits. */
#define HTTP_AUTHORIZATION_MAX 1024

struct http_conn;

/* One complete request, for http_start_full's handler; valid during the
 * handler's call only. */
struct http_request {
	const char *method; /* GET, HEAD, OPTIONS, POST, PATCH, PUT, DELETE */
	const char *path;   /* with its query string */
	const char *authorization; /* the header's value, or NULL */
	const char *body;          /* Content-Length bytes, not NUL-safe */
	size_t body_len;
	bool tls;               /* came over HTTPS */
	bool loopback;          /* from a loopback address */
	struct http_conn *conn; /* for http_defer */
};

typedef void (*http_request_handler)(void *arg, const struct http_request *r,
				     struct http_response *res);

struct http_options {
	const char *listen_addr; /* "host:port" */
	/* NULL: plaintext.  Otherwise TLS only, with the caller's context,
	 * kept until http_close's callback; a tls_context_reload() applies
	 * to the connections accepted after it. */
	struct tls_context *tls;
	unsigned max_connections;   /* 0: HTTP_MAX_CONNECTIONS_DEFAULT */
	uint64_t header_timeout_ms; /* 0: HTTP_HEADER_TIMEOUT_DEFAULT_MS */
	uint64_t write_timeout_ms;  /* 0: HTTP_WRITE_TIMEOUT_DEFAULT_MS */
};

struct http_stats {
	unsigned connections; /* open now */
	uint64_t refused;     /* over the caps, or failed at accept */
	uint64_t timed_out;   /* request or response not in time */
};

struct http_server;

int http_start(uv_loop_t *loop, const struct http_options *o, http_handler h,
	       void *arg, struct http_server **out, char *err, size_t errlen);
/* The same, with the whole request (headers the handler needs, the body,
 * how it came) and the write methods accepted. */
int http_start_full(uv_loop_t *loop, const struct http_options *o,
		    http_request_handler h, void *arg, struct http_server **out,
		    char *err, size_t errlen);

/* From the handler: the answer comes later (the response the handler
 * filled is dropped).  The connection waits for http_deferred_answer,
 * which must be called exactly once, even after http_close (then it only
 * frees what is left). */
struct http_conn *http_defer(const struct http_request *r);
void http_deferred_answer(struct http_conn *c, struct http_response *res);

void http_close(struct http_server *s, void (*on_closed)(void *arg), void *arg);
void http_stats(const struct http_server *s, struct http_stats *out);

/* The connections an HTTP listener may hold out of `room` descriptors
 * left for accepted connections of every kind (common/fd_budget.h): an
 * eighth, at least 4 and at most HTTP_MAX_CONNECTIONS_DEFAULT, so that
 * health checks never starve a daemon's other listeners. */
unsigned http_connection_cap(uint64_t room);

/* printf into a response body. */
void http_printf(struct http_response *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
