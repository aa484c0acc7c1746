/*
 * stream.c — see stream.h.
 *
 * Output goes through two buffers: the one handed to uv_write (in
 * flight) and the one filling behind it (queue); when the write
 * completes they swap.  Both keep their memory, so a steady stream of
 * writes allocates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/buf.h"
#include "common/stream.h"

/* A buffer grown past this by a burst is given back once it drains. */
#define KEEP_OUTPUT (64 * 1024)
/* What one socket read takes on a TLS stream (one full TLS record). */
#define TLS_READ_SIZE (16 * 1024 + 512)
/* What a plaintext read asks of alloc(). */
#define READ_SUGGESTED (64 * 1024)
/* One uv_try_write takes at most this much (uv_buf_t's length is an
 * unsigned int). */
#define TRY_WRITE_MAX (1u << 30)

struct stream {
	uv_tcp_t tcp;
	const struct stream_callbacks *cb;
	void *data;
	struct tls_conn *tls; /* NULL: plaintext */
	char *tls_in;         /* TLS: the socket's bytes, before decryption */
	struct buf queue;     /* waiting behind the write in flight */
	struct buf inflight;  /* handed to uv_write */
	struct buf early;     /* TLS: plaintext written before the handshake */
	uv_write_t wreq;
	uv_connect_t creq;
	bool writing;  /* inflight is with libuv */
	bool reading;  /* read() wanted */
	bool paused;   /* read() held back for now (stream_pause) */
	bool ended;    /* end() was called */
	bool closing;  /* stream_close() was called */
	bool flushing; /* ... and waits for the output to drain */
	int error;     /* why the stream cannot write any more */
	void (*closed)(void *arg);
	void *closed_arg;
};

static void close_now(struct stream *s);

void *stream_data(const struct stream *s)
{
	return s->data;
}

uv_tcp_t *stream_tcp(struct stream *s)
{
	return &s->tcp;
}

bool stream_input_waiting(struct stream *s)
{
	uv_os_fd_t fd;
	int n = 0;

	if (uv_fileno((const uv_handle_t *)&s->tcp, &fd))
		return false;
	return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

bool stream_is_tls(const struct stream *s)
{
	return s->tls != NULL;
}

size_t stream_queued(const struct stream *s)
{
	return s->inflight.len + s->queue.len + s->early.len;
}

/* ---- ending ------------------------------------------------------------ */

static void stop_socket_reads(struct stream *s)
{
	uv_read_stop((uv_stream_t *)&s->tcp);
}

static void end(struct stream *s, int status, const char *why)
{
	if (s->ended)
		return;
	s->ended = true;
	s->reading = false;
	if (!s->error)
		s->error = status == UV_EOF ? UV_EPIPE : status;
	stop_socket_reads(s);
	s->cb->end(s, status, why);
}

/* A failure: reported, or, once the caller has closed, the end of the
 * wait for a flush. */
static void fail(struct stream *s, int status, const char *why)
{
	if (s->closing) {
		s->error = status;
		close_now(s);
		return;
	}
	end(s, status, why);
}

static void tls_failed(struct stream *s)
{
	fail(s, UV_EPROTO, tls_conn_error(s->tls));
}

/* ---- writing ----------------------------------------------------------- */

static void on_written(uv_write_t *req, int status);

static void release_sent(struct buf *b)
{
	if (b->cap > KEEP_OUTPUT) {
		buf_free(b);
		buf_init(b);
	} else {
		buf_reset(b);
	}
}

static int start_write(struct stream *s)
{
	if (s->writing || s->queue.len == 0)
		return 0;
	struct buf next = s->queue;
	s->queue = s->inflight;
	s->inflight = next;
	uv_buf_t b = uv_buf_init(s->inflight.buf, (unsigned)s->inflight.len);
	s->wreq.data = s;
	int rv = uv_write(&s->wreq, (uv_stream_t *)&s->tcp, &b, 1, on_written);
	if (rv == 0)
		s->writing = true;
	return rv;
}

/* Bytes for the socket: to the kernel at once when nothing waits ahead
 * of them, the rest queued.  The fast path copies nothing. */
static int put(struct stream *s, const char *data, size_t len)
{
	if (!s->writing && s->queue.len == 0) {
		unsigned n = len > TRY_WRITE_MAX ? TRY_WRITE_MAX
						 : (unsigned)len;
		uv_buf_t b = uv_buf_init((char *)data, n);
		int w = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
		if (w < 0 && w != UV_EAGAIN)
			return w;
		if (w > 0) {
			data += w;
			len -= (size_t)w;
		}
		if (len == 0)
			return 0;
	}
	buf_put(&s->queue, data, len);
	if (s->queue.failed)
		return UV_ENOMEM;
	return start_write(s);
}

/* What TLS produced (handshake messages, records, alerts) goes out. */
static int send_tls_output(struct stream *s)
{
	const char *p;
	size_t n = tls_conn_output(s->tls, &p);
	if (n == 0)
		return 0;
	int rv = put(s, p, n);
	tls_conn_output_done(s->tls);
	return rv;
}

static int encrypt_and_put(struct stream *s, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = tls_conn_write(s->tls, data, len);
		if (n < 0)
			return UV_EPROTO;
		data += n;
		len -= (size_t)n;
		int rv = send_tls_output(s);
		if (rv)
			return rv;
	}
	return 0;
}

int stream_write(struct stream *s, const void *data, size_t len)
{
	if (s->closing || s->ended || s->error)
		return s->error ? s->error : UV_EPIPE;
	if (len == 0)
		return 0;
	int rv;
	if (!s->tls) {
		rv = put(s, data, len);
	} else if (!tls_conn_handshake_done(s->tls)) {
		buf_put(&s->early, data, len);
		rv = s->early.failed ? UV_ENOMEM : 0;
	} else {
		rv = encrypt_and_put(s, data, len);
	}
	if (rv)
		s->error = rv;
	return rv;
}

static bool output_drained(const struct stream *s)
{
	return !s->writing && s->queue.len == 0 && s->early.len == 0;
}

static void on_written(uv_write_t *req, int status)
{
	struct stream *s = req->data;
	s->writing = false;
	if (uv_is_closing((uv_handle_t *)&s->tcp))
		return; /* close_now() is under way: nothing more to send */
	release_sent(&s->inflight);
	int rv = status < 0 ? status : start_write(s);
	if (rv) {
		fail(s, rv, uv_strerror(rv));
		return;
	}
	if (s->flushing && output_drained(s))
		close_now(s);
}

/* ---- reading ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct stream *s = h->data;
	if (s->tls)
		*buf = uv_buf_init(s->tls_in, TLS_READ_SIZE);
	else
		s->cb->alloc(s, suggested, buf);
}

/* Decrypted bytes go to read() until TLS has no more or the caller
 * stops, ends or closes the stream from inside read(). */
static void deliver_plaintext(struct stream *s)
{
	while (s->reading && !s->paused && !s->ended && !s->closing) {
		uv_buf_t b = uv_buf_init(NULL, 0);
		s->cb->alloc(s, READ_SUGGESTED, &b);
		if (b.len == 0) {
			end(s, UV_ENOBUFS, "no buffer to read into");
			return;
		}
		ssize_t n = tls_conn_read(s->tls, b.base, b.len);
		if (n > 0) {
			s->cb->read(s, b.base, (size_t)n);
			continue;
		}
		if (n == TLS_CLOSED)
			end(s, UV_EOF, "the peer closed the TLS connection");
		else if (n == TLS_ERROR)
			tls_failed(s);
		return;
	}
}

/* The data written while the handshake ran goes first, then ready().
 * Returns whether plaintext may be delivered now. */
static bool handshake_completed(struct stream *s)
{
	int rv = 0;
	if (s->early.len)
		rv = encrypt_and_put(s, s->early.buf, s->early.len);
	buf_free(&s->early);
	buf_init(&s->early);
	if (rv) {
		s->error = rv;
		fail(s, rv,
		     rv == UV_EPROTO ? tls_conn_error(s->tls)
				     : uv_strerror(rv));
		return false;
	}
	if (s->closing) {
		if (s->flushing && output_drained(s))
			close_now(s);
		return false;
	}
	if (!s->reading || s->paused)
		stop_socket_reads(s);
	if (s->cb->ready)
		s->cb->ready(s, tls_conn_peer_names(s->tls));
	return true;
}

static void tls_received(struct stream *s, const char *data, size_t n)
{
	if (tls_conn_feed(s->tls, data, n) < 0) {
		tls_failed(s);
		return;
	}
	if (!tls_conn_handshake_done(s->tls)) {
		int h = tls_conn_handshake(s->tls);
		/* even on failure: the alert tells the peer why */
		int rv = send_tls_output(s);
		if (h == TLS_ERROR) {
			tls_failed(s);
			return;
		}
		if (rv) {
			fail(s, rv, uv_strerror(rv));
			return;
		}
		if (h == TLS_AGAIN || !handshake_completed(s))
			return;
	}
	deliver_plaintext(s);
	/* reading may answer (a key update) */
	if (!uv_is_closing((uv_handle_t *)&s->tcp)) {
		int rv = send_tls_output(s);
		if (rv)
			fail(s, rv, uv_strerror(rv));
	}
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct stream *s = st->data;
	if (n == 0 || uv_is_closing((uv_handle_t *)&s->tcp))
		return;
	if (n == UV_EOF && s->tls && !tls_conn_handshake_done(s->tls))
		fail(s, UV_EPROTO,
		     "connection closed during the TLS handshake");
	else if (n == UV_EOF)
		fail(s, UV_EOF, "connection closed by the peer");
	else if (n < 0)
		fail(s, (int)n, uv_strerror((int)n));
	else if (s->tls)
		tls_received(s, buf->base, (size_t)n);
	else if (s->reading && !s->paused && !s->closing)
		s->cb->read(s, buf->base, (size_t)n);
}

void stream_pause(struct stream *s)
{
	if (s->paused)
		return;
	s->paused = true;
	if (!s->tls || tls_conn_handshake_done(s->tls))
		stop_socket_reads(s);
}

void stream_resume(struct stream *s)
{
	if (!s->paused)
		return;
	s->paused = false;
	if (!s->reading || s->ended || s->closing)
		return;
	int rv = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
	/* EALREADY: a pause before the TLS handshake was done left the
	 * socket reading (the handshake needs it); that is no failure */
	if (rv && rv != UV_EALREADY) {
		fail(s, rv, uv_strerror(rv));
		return;
	}
	/* TLS may hold plaintext it decrypted before the pause */
	if (s->tls && tls_conn_handshake_done(s->tls))
		deliver_plaintext(s);
}

void stream_read_stop(struct stream *s)
{
	s->reading = false;
	if (!s->tls || tls_conn_handshake_done(s->tls))
		stop_socket_reads(s);
}

/* ---- opening and closing ----------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
	struct stream *s = h->data;
	void (*closed)(void *) = s->closed;
	void *arg = s->closed_arg;
	tls_conn_free(s->tls);
	free(s->tls_in);
	buf_free(&s->queue);
	buf_free(&s->inflight);
	buf_free(&s->early);
	free(s);
	if (closed)
		closed(arg);
}

/* close_notify goes only when it can go at once, behind nothing: a close
 * never waits for a peer that does not read. */
static void send_close_notify(struct stream *s)
{
	if (!s->tls || s->error || !output_drained(s) ||
	    !tls_conn_handshake_done(s->tls))
		return;
	tls_conn_close_notify(s->tls);
	const char *p;
	size_t n = tls_conn_output(s->tls, &p);
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
	if (n)
		uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
	tls_conn_output_done(s->tls);
}

static void close_now(struct stream *s)
{
	if (uv_is_closing((uv_handle_t *)&s->tcp))
		return;
	s->flushing = false;
	send_close_notify(s);
	uv_close((uv_handle_t *)&s->tcp, on_closed);
}

void stream_close(struct stream *s, bool flush, void (*closed)(void *arg),
		  void *arg)
{
	if (s->closing) {
		if (!flush && s->flushing)
			close_now(s);
		return;
	}
	s->closing = true;
	s->reading = false;
	s->closed = closed;
	s->closed_arg = arg;
	if (flush && !s->error && !output_drained(s)) {
		s->flushing = true;
		/* a handshake still running must finish for the data to go */
		if (!s->tls || tls_conn_handshake_done(s->tls))
			stop_socket_reads(s);
		return;
	}
	close_now(s);
}

void stream_reset(struct stream *s, void (*closed)(void *arg), void *arg)
{
	if (uv_is_closing((uv_handle_t *)&s->tcp))
		return;
	if (!s->closing) {
		s->closing = true;
		s->closed = closed;
		s->closed_arg = arg;
	}
	s->reading = false;
	s->flushing = false;
	if (uv_tcp_close_reset(&s->tcp, on_closed) != 0)
		uv_close((uv_handle_t *)&s->tcp, on_closed);
}

static struct stream *stream_new(uv_loop_t *loop, struct tls_context *tls,
				 bool server, const char *server_name,
				 const struct stream_callbacks *cb, void *data,
				 char *err, size_t errlen)
{
	struct stream *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (tls) {
		s->tls = tls_conn_new(tls, server, server_name, err, errlen);
		s->tls_in = malloc(TLS_READ_SIZE);
		if (!s->tls || !s->tls_in) {
			if (s->tls && !s->tls_in)
				snprintf(err, errlen, "out of memory");
			tls_conn_free(s->tls);
			free(s->tls_in);
			free(s);
			return NULL;
		}
	}
	uv_tcp_init(loop, &s->tcp);
	s->tcp.data = s;
	s->cb = cb;
	s->data = data;
	s->reading = true;
	buf_init(&s->queue);
	buf_init(&s->inflight);
	buf_init(&s->early);
	return s;
}

/* A stream that never reached its caller goes without a callback. */
static void discard(struct stream *s)
{
	s->closing = true;
	uv_close((uv_handle_t *)&s->tcp, on_closed);
}

int stream_accept(uv_stream_t *listener, struct tls_context *tls,
		  const struct stream_callbacks *cb, void *data,
		  struct stream **out)
{
	char err[256];
	struct stream *s = stream_new(listener->loop, tls, true, NULL, cb, data,
				      err, sizeof(err));
	if (!s)
		return UV_ENOMEM;
	int rv = uv_accept(listener, (uv_stream_t *)&s->tcp);
	if (rv == 0)
		rv = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
	if (rv) {
		discard(s);
		return rv;
	}
	*out = s;
	return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct stream *s = req->data;
	if (uv_is_closing((uv_handle_t *)&s->tcp))
		return;
	int rv = status;
	/* a TLS stream closed with flush still needs its handshake */
	if (rv == 0 && (!s->closing || s->tls))
		rv = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
	if (rv) {
		fail(s, rv, uv_strerror(rv));
		return;
	}
	if (!s->tls) {
		if (s->cb->ready && !s->closing)
			s->cb->ready(s, NULL);
		return;
	}
	/* the client speaks first: its hello */
	int h = tls_conn_handshake(s->tls);
	rv = send_tls_output(s);
	if (h == TLS_ERROR)
		tls_failed(s);
	else if (rv)
		fail(s, rv, uv_strerror(rv));
}

int stream_connect(uv_loop_t *loop, const struct sockaddr *addr,
		   struct tls_context *tls, const char *server_name,
		   const struct stream_callbacks *cb, void *data,
		   struct stream **out, char *err, size_t errlen)
{
	struct stream *s = stream_new(loop, tls, false, server_name, cb, data,
				      err, errlen);
	if (!s)
		return tls ? UV_EINVAL : UV_ENOMEM;
	s->creq.data = s;
	int rv = uv_tcp_connect(&s->creq, &s->tcp, addr, on_connect);
	if (rv) {
		snprintf(err, errlen, "cannot connect: %s", uv_strerror(rv));
		discard(s);
		return rv;
	}
	*out = s;
	return 0;
}

static void free_refused(uv_handle_t *h)
{
	free(h);
}

void stream_refuse(uv_stream_t *listener)
{
	uv_tcp_t *t = malloc(sizeof(*t));

	if (!t)
		return;
	uv_tcp_init(listener->loop, t);
	if (uv_accept(listener, (uv_stream_t *)t) != 0 ||
	    uv_tcp_close_reset(t, free_refused) != 0)
		uv_close((uv_handle_t *)t, free_refused);
}
