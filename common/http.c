/*
 * http.c — see http.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/http.h"
#include "common/http_request.h"
#include "common/log.h"
#include "common/log_throttle.h"
#include "common/stream.h"

#define REQUEST_MAX 8192
#define LOG_EVERY_MS 10000
#define HTTP_CAP_MIN 4
#define SHARE_MIN 8

enum conn_state {
	CONN_READING, /* the request is not complete */
	CONN_WAITING, /* the owner answers later (http_defer) */
	CONN_SENDING, /* answered, the response is being flushed */
	CONN_CLOSING, /* closed or reset: only the callback is to come */
};

struct http_conn {
	struct stream *stream;
	struct http_server *srv;
	char buf[REQUEST_MAX];
	size_t len;
	enum conn_state state;
	bool deferred; /* http_defer: http_deferred_answer frees it */
	bool gone;     /* closed while deferred: srv may be gone too */
	uint64_t opened_ms, answered_ms;
	struct sockaddr_storage peer; /* for the per-address share */
	struct http_conn *prev, *next;
};

/* A log line with a running total, at most every LOG_EVERY_MS. */
struct http_server {
	uv_tcp_t listener;
	uv_timer_t sweep; /* the timeouts; runs while connections are open */
	uv_loop_t *loop;
	struct http_options opt;
	char listen_addr[ADDR_HOST_MAX + 16];
	http_handler handler;
	http_request_handler full; /* http_start_full: writes allowed */
	void *arg;
	struct http_conn *conns;
	unsigned n_conns;
	struct log_throttle refused, timed_out; /* their log lines */
	bool closing;
	void (*on_closed)(void *arg);
	void *closed_arg;
};

static void on_listener_closed(uv_handle_t *h);

void http_printf(struct http_response *res, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&res->body, fmt, ap);
	va_end(ap);
}

unsigned http_connection_cap(uint64_t room)
{
	uint64_t cap = room / 8;
	if (cap < HTTP_CAP_MIN)
		return HTTP_CAP_MIN;
	return cap > HTTP_MAX_CONNECTIONS_DEFAULT ? HTTP_MAX_CONNECTIONS_DEFAULT
						  : (unsigned)cap;
}

void http_stats(const struct http_server *s, struct http_stats *out)
{
	out->connections = s->n_conns;
	out->refused = s->refused.total;
	out->timed_out = s->timed_out.total;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
}

/* Counts one more and logs the total, unless it did less than
 * LOG_EVERY_MS ago: a flood makes a line every 10 s, not one each. */
static void count_and_log(struct http_server *s, struct log_throttle *t,
			  const char *event, const char *why)
{
	if (!log_throttle_due(t, uv_now(s->loop), LOG_EVERY_MS, NULL))
		return;
	log_event(LOG_WARN, event,
		  "listen=%s connections=%u max=%u total=%llu reason=\"%s\" "
		  "(logged at most every %d s)",
		  s->listen_addr, s->n_conns, s->opt.max_connections,
		  (unsigned long long)t->total, why, LOG_EVERY_MS / 1000);
}

static void on_conn_closed(void *arg)
{
	struct http_conn *c = arg;
	struct http_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	if (c->deferred)
		c->gone = true; /* http_deferred_answer frees it */
	else
		free(c);
	if (!s->conns)
		uv_timer_stop(&s->sweep);
	if (s->closing && !s->conns)
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

/* flush: after the response is sent (a second call without it cuts the
 * wait short, as http_close does). */
static void conn_close(struct http_conn *c, bool flush)
{
	c->state = flush ? CONN_SENDING : CONN_CLOSING;
	stream_close(c->stream, flush, on_conn_closed, c);
}

static void send_response(struct http_conn *c, bool head,
			  struct http_response *res)
{
	char hdr[512];
	struct buf out;
	buf_init(&out);
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 res->status, reason(res->status),
			 res->content_type ? res->content_type
					   : "application/json",
			 res->headers ? res->headers : "", res->body.len);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		n = 0; /* headers too long: a caller's bug, sent without */
	/* one write, header and body together: two would meet Nagle's
	 * algorithm and the client's delayed ACK */
	buf_put(&out, hdr, (size_t)n);
	if (!head)
		buf_put(&out, res->body.buf, res->body.len);
	bool sent = !out.failed &&
		    stream_write(c->stream, out.buf, out.len) == 0;
	buf_free(&out);
	c->answered_ms = uv_now(c->srv->loop);
	conn_close(c, sent);
}

static void answer_plain(struct http_conn *c, int status, const char *msg)
{
	struct http_response res = { .status = status,
				     .content_type = "text/plain" };
	buf_init(&res.body);
	http_printf(&res, "%s\n", msg);
	send_response(c, false, &res);
	buf_free(&res.body);
}

static bool method_in(const char *m, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(m, *list) == 0)
			return true;
	return false;
}

static bool peer_on_loopback(const struct http_conn *c)
{
	char a[ADDR_HOST_MAX + 16];
	addr_format(&c->peer, a, sizeof(a));
	return addr_is_loopback(a);
}

/* The whole request for a full handler. */
static void handle_full(struct http_conn *c, const char *method,
			const char *path, struct http_response *res)
{
	static char auth[HTTP_AUTHORIZATION_MAX];
	size_t hdr = http_request_header_len(c->buf, c->len);
	struct http_request r = {
		.method = method,
		.path = path,
		.body = c->buf + hdr,
		.body_len = c->len - hdr,
		.tls = stream_is_tls(c->stream),
		.loopback = peer_on_loopback(c),
		.conn = c,
	};
	if (http_request_header(c->buf, hdr, "Authorization", auth,
				sizeof(auth)))
		r.authorization = auth;
	c->srv->full(c->srv->arg, &r, res);
}

/* "GET /path HTTP/1.1" once the request is complete. */
static void handle_request(struct http_conn *c)
{
	static const char *const reads[] = { "GET", "HEAD", "OPTIONS", NULL };
	static const char *const writes[] = { "POST", "PATCH", "PUT", "DELETE",
					      NULL };
	char method[8], path[1024];
	if (sscanf(c->buf, "%7s %1023s HTTP/1.%*d", method, path) != 2) {
		answer_plain(c, 400, "malformed request line");
		return;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (!method_in(method, reads) &&
	    !(c->srv->full && method_in(method, writes))) {
		answer_plain(c, 405,
			     c->srv->full ? "only GET, HEAD, OPTIONS, POST, "
					    "PATCH, PUT and DELETE"
					  : "only GET, HEAD and OPTIONS");
		return;
	}
	struct http_response res = { .status = 404 };
	buf_init(&res.body);
	if (c->srv->full)
		handle_full(c, method, path, &res);
	else
		c->srv->handler(c->srv->arg, method, path, &res);
	if (c->deferred)
		c->state = CONN_WAITING;
	else
		send_response(c, head, &res);
	buf_free(&res.body);
}

struct http_conn *http_defer(const struct http_request *r)
{
	r->conn->deferred = true;
	return r->conn;
}

void http_deferred_answer(struct http_conn *c, struct http_response *res)
{
	if (c->gone) {
		free(c);
		return;
	}
	c->deferred = false;
	send_response(c, false, res);
}

static void on_alloc(struct stream *st, size_t hint, uv_buf_t *buf)
{
	struct http_conn *c = stream_data(st);
	(void)hint;
	*buf = uv_buf_init(c->buf + c->len,
			   (unsigned)(REQUEST_MAX - 1 - c->len));
}

static void on_read(struct stream *st, char *data, size_t nread)
{
	struct http_conn *c = stream_data(st);
	(void)data; /* it is c->buf + c->len */
	if (c->state != CONN_READING)
		return;
	c->len += nread;
	c->buf[c->len] = '\0';
	enum http_request_state rs = http_request_scan(c->buf, c->len,
						       REQUEST_MAX - 1);
	if (rs == HTTP_REQUEST_PARTIAL)
		return;
	stream_read_stop(st);
	switch (rs) {
	case HTTP_REQUEST_COMPLETE:
		handle_request(c);
		break;
	case HTTP_REQUEST_NUL:
		answer_plain(c, 400, "NUL byte in the request");
		break;
	case HTTP_REQUEST_BAD_LENGTH:
		answer_plain(c, 400, "malformed Content-Length");
		break;
	default:
		answer_plain(c, 400, "request too large");
	}
}

/* The peer closed, reset, or failed its TLS handshake. */
static void on_end(struct stream *st, int status, const char *why)
{
	(void)status;
	(void)why;
	conn_close(stream_data(st), false);
}

static const struct stream_callbacks conn_callbacks = {
	.alloc = on_alloc,
	.read = on_read,
	.end = on_end,
};

/* A request still incomplete after header_timeout_ms (slow headers, a
 * body that never comes, a TLS handshake that never ends) is closed; a
 * response still unsent write_timeout_ms after the answer (a client that
 * does not read) is reset, which frees what the kernel holds for it. */
static void on_sweep(uv_timer_t *t)
{
	struct http_server *s = t->data;
	uint64_t now = uv_now(s->loop);

	for (struct http_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->state == CONN_READING &&
		    now - c->opened_ms >= s->opt.header_timeout_ms) {
			count_and_log(s, &s->timed_out, "http_timed_out",
				      "request not complete in time");
			conn_close(c, false);
		} else if (c->state == CONN_SENDING &&
			   now - c->answered_ms >= s->opt.write_timeout_ms) {
			count_and_log(s, &s->timed_out, "http_timed_out",
				      "response not read in time");
			c->state = CONN_CLOSING;
			stream_reset(c->stream, on_conn_closed, c);
		}
	}
}

/* Over a cap: accept and close at once, so the connection neither waits
 * in the backlog nor holds a descriptor. */
static void refuse_connection(struct http_server *s, uv_stream_t *server,
			      const char *why)
{
	stream_refuse(server);
	count_and_log(s, &s->refused, "http_refused_connection", why);
}

/* No one address may hold more than a quarter of the connections (at
 * least SHARE_MIN): a flood from one host leaves room for the others. */
static bool over_share(const struct http_server *s, const struct http_conn *c)
{
	unsigned share = s->opt.max_connections / 4, same = 0;

	if (share < SHARE_MIN)
		share = SHARE_MIN;
	for (const struct http_conn *x = s->conns; x; x = x->next)
		same += x->state != CONN_CLOSING &&
			addr_same_host(&x->peer, &c->peer);
	return same > share;
}

/* A quarter of the shorter timeout, so that a connection outlives its
 * deadline by a quarter at most; at most a second. */
static uint64_t sweep_every(const struct http_server *s)
{
	uint64_t t = s->opt.header_timeout_ms < s->opt.write_timeout_ms
			     ? s->opt.header_timeout_ms
			     : s->opt.write_timeout_ms;
	t /= 4;
	return t < 1 ? 1 : t > 1000 ? 1000 : t;
}

static void add_conn(struct http_server *s, struct http_conn *c)
{
	int len = sizeof(c->peer);

	if (uv_tcp_getpeername(stream_tcp(c->stream),
			       (struct sockaddr *)&c->peer, &len) != 0)
		memset(&c->peer, 0, sizeof(c->peer));
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	if (!uv_is_active((uv_handle_t *)&s->sweep))
		uv_timer_start(&s->sweep, on_sweep, sweep_every(s),
			       sweep_every(s));
}

static void on_connection(uv_stream_t *server, int status)
{
	struct http_server *s = server->data;
	if (s->closing)
		return;
	if (status < 0) {
		/* out of descriptors, most likely: libuv dropped what waited */
		count_and_log(s, &s->refused, "http_refused_connection",
			      uv_strerror(status));
		return;
	}
	if (s->n_conns >= s->opt.max_connections) {
		refuse_connection(s, server, "too many HTTP connections");
		return;
	}
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	c->opened_ms = uv_now(s->loop);
	if (stream_accept(server, s->opt.tls, &conn_callbacks, c, &c->stream)) {
		free(c);
		return;
	}
	add_conn(s, c);
	if (over_share(s, c)) {
		count_and_log(s, &s->refused, "http_refused_connection",
			      "too many HTTP connections from one address");
		conn_close(c, false);
	}
}

static void free_owner(uv_handle_t *h)
{
	free(h->data);
}

static void set_defaults(struct http_options *o)
{
	if (!o->max_connections)
		o->max_connections = HTTP_MAX_CONNECTIONS_DEFAULT;
	if (!o->header_timeout_ms)
		o->header_timeout_ms = HTTP_HEADER_TIMEOUT_DEFAULT_MS;
	if (!o->write_timeout_ms)
		o->write_timeout_ms = HTTP_WRITE_TIMEOUT_DEFAULT_MS;
}

static int start(uv_loop_t *loop, const struct http_options *o, http_handler h,
		 http_request_handler full, void *arg, struct http_server **out,
		 char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	if (addr_parse(o->listen_addr, &addr)) {
		snprintf(err, errlen,
			 "invalid HTTP address \"%s\": use "
			 "host:port, e.g. 127.0.0.1:7201",
			 o->listen_addr);
		return -EINVAL;
	}
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->opt = *o;
	set_defaults(&s->opt);
	addr_format(&addr, s->listen_addr, sizeof(s->listen_addr));
	s->opt.listen_addr = s->listen_addr;
	s->handler = h;
	s->full = full;
	s->arg = arg;
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	int rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
	if (rv) {
		snprintf(err, errlen, "cannot listen for HTTP on %s: %s%s",
			 o->listen_addr, uv_strerror(rv),
			 rv == UV_EADDRINUSE ? " (another process uses that "
					       "port: stop it or pick another "
					       "listen_http)"
			 : rv == UV_EADDRNOTAVAIL ? " (not an address of this "
						    "host: fix listen_http)"
						  : "");
		uv_close((uv_handle_t *)&s->listener, free_owner);
		return rv;
	}
	uv_timer_init(loop, &s->sweep);
	s->sweep.data = s;
	*out = s;
	return 0;
}

int http_start(uv_loop_t *loop, const struct http_options *o, http_handler h,
	       void *arg, struct http_server **out, char *err, size_t errlen)
{
	return start(loop, o, h, NULL, arg, out, err, errlen);
}

int http_start_full(uv_loop_t *loop, const struct http_options *o,
		    http_request_handler h, void *arg, struct http_server **out,
		    char *err, size_t errlen)
{
	return start(loop, o, NULL, h, arg, out, err, errlen);
}

static void on_sweep_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	void (*cb)(void *) = s->on_closed;
	void *arg = s->closed_arg;
	free(s);
	if (cb)
		cb(arg);
}

/* The sweep timer goes last of all. */
static void on_listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	uv_close((uv_handle_t *)&s->sweep, on_sweep_closed);
}

void http_close(struct http_server *s, void (*on_closed)(void *arg), void *arg)
{
	s->closing = true;
	s->on_closed = on_closed;
	s->closed_arg = arg;
	if (!s->conns) {
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		return;
	}
	/* a connection's memory goes in on_conn_closed, from the loop */
	for (struct http_conn *c = s->conns; c; c = c->next)
		conn_close(c, false);
}
