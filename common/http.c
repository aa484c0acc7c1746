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
#include "common/stream.h"

#define REQUEST_MAX 8192

struct http_conn {
	struct stream *stream;
	struct http_server *srv;
	char buf[REQUEST_MAX];
	size_t len;
	bool answered;
	struct http_conn *prev, *next;
};

struct http_server {
	uv_tcp_t listener;
	uv_loop_t *loop;
	struct tls_context *tls; /* NULL: plaintext */
	http_handler handler;
	void *arg;
	struct http_conn *conns;
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

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
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
	free(c);
	if (s->closing && !s->conns)
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

/* flush: after the response is sent (a second call without it cuts the
 * wait short, as http_close does). */
static void conn_close(struct http_conn *c, bool flush)
{
	stream_close(c->stream, flush, on_conn_closed, c);
}

static void send_response(struct http_conn *c, bool head,
			  struct http_response *res)
{
	char hdr[256];
	struct buf out;
	buf_init(&out);
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 res->status, reason(res->status),
			 res->content_type ? res->content_type
					   : "application/json",
			 res->body.len);
	/* one write, header and body together: two would meet Nagle's
	 * algorithm and the client's delayed ACK */
	buf_put(&out, hdr, (size_t)n);
	if (!head)
		buf_put(&out, res->body.buf, res->body.len);
	bool sent = !out.failed &&
		    stream_write(c->stream, out.buf, out.len) == 0;
	buf_free(&out);
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

/* "GET /path HTTP/1.1" once the header block is complete. */
static void handle_request(struct http_conn *c)
{
	char method[8], path[1024];
	c->answered = true;
	if (sscanf(c->buf, "%7s %1023s HTTP/1.%*d", method, path) != 2) {
		answer_plain(c, 400, "malformed request line");
		return;
	}
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0 && strcmp(method, "OPTIONS")) {
		answer_plain(c, 405, "only GET, HEAD and OPTIONS");
		return;
	}
	struct http_response res = { .status = 404 };
	buf_init(&res.body);
	c->srv->handler(c->srv->arg, method, path, &res);
	send_response(c, head, &res);
	buf_free(&res.body);
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
	if (c->answered)
		return;
	c->len += nread;
	c->buf[c->len] = '\0';
	if (strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n")) {
		stream_read_stop(st);
		handle_request(c);
	} else if (c->len >= REQUEST_MAX - 1) {
		stream_read_stop(st);
		c->answered = true;
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

static void on_connection(uv_stream_t *server, int status)
{
	struct http_server *s = server->data;
	if (status < 0 || s->closing)
		return;
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = s;
	if (stream_accept(server, s->tls, &conn_callbacks, c, &c->stream)) {
		free(c);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
}

static void free_owner(uv_handle_t *h)
{
	free(h->data);
}

int http_start(uv_loop_t *loop, const char *listen_addr,
	       struct tls_context *tls, http_handler h, void *arg,
	       struct http_server **out, char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	if (addr_parse(listen_addr, &addr)) {
		snprintf(err, errlen,
			 "invalid HTTP address \"%s\": use "
			 "host:port, e.g. 127.0.0.1:7201",
			 listen_addr);
		return -EINVAL;
	}
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->tls = tls;
	s->handler = h;
	s->arg = arg;
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	int rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
	if (rv) {
		snprintf(err, errlen, "cannot listen for HTTP on %s: %s%s",
			 listen_addr, uv_strerror(rv),
			 rv == UV_EADDRINUSE ? " (another process uses that "
					       "port: stop it or pick another "
					       "listen_http)"
			 : rv == UV_EADDRNOTAVAIL ? " (not an address of this "
						    "host: fix listen_http)"
						  : "");
		uv_close((uv_handle_t *)&s->listener, free_owner);
		return rv;
	}
	*out = s;
	return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	void (*cb)(void *) = s->on_closed;
	void *arg = s->closed_arg;
	free(s);
	if (cb)
		cb(arg);
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
