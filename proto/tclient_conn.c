/*
 * tclient_conn.c — the client's one TCP connection: dialling, HELLO,
 * reading frames, writing buffered frames, closing (see tclient.h).
 *
 * A connection is detached from its client (conn->c = NULL) the moment
 * the client stops using it; libuv may still call its connect, read or
 * write callbacks until the close callback, and those then do nothing.
 * Its memory goes in the close callback, which is what the client's
 * handle count waits for at tclient_close().
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "proto/tclient_int.h"

/* ---- addresses ----------------------------------------------------------- */

int tclient_parse_addr(const char *s, struct sockaddr_storage *out)
{
	if (!s || strlen(s) > CLIENT_ADDR_MAX || addr_parse(s, out))
		return UV_EINVAL;
	/* Port 0 means "any" to a listener; nobody can be dialled there. */
	const struct sockaddr_in *in = (const struct sockaddr_in *)out;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)out;
	int port = out->ss_family == AF_INET6 ? ntohs(in6->sin6_port)
					      : ntohs(in->sin_port);
	return port ? 0 : UV_EINVAL;
}

/* ---- closing ------------------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
	struct tconn *conn = h->data;
	struct tclient *owner = conn->owner;

	frame_decoder_free(&conn->dec);
	wire_writer_free(&conn->out);
	free(conn);
	tclient_handle_closed(owner);
}

void tconn_close(struct tconn *conn)
{
	if (conn->c && conn->c->conn == conn)
		conn->c->conn = NULL;
	conn->c = NULL;
	uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
}

void tconn_lost(struct tconn *conn, const char *why, bool failure)
{
	struct tclient *c = conn->c;

	if (!c)
		return;
	tclient_log(c, failure ? "warn" : "info", "connection to %s: %s",
		    conn->addr, why);
	tconn_close(conn);
	tclient_on_conn_gone(c, conn, failure);
}

/* ---- writing ------------------------------------------------------------- */

struct twrite {
	uv_write_t req;
	unsigned char *buf;
};

static void on_write(uv_write_t *req, int status)
{
	struct twrite *w = (struct twrite *)req;
	struct tconn *conn = req->data;
	struct tclient *c = conn->c;

	free(w->buf);
	free(w);
	if (status && c) {
		tconn_lost(conn, uv_strerror(status), true);
		tclient_kick(c);
	}
}

/* Requests usually fit in the socket buffer: write them at once and keep
 * the buffer (no allocation, no deferred callback).  False when nothing
 * is left to write or the connection was lost. */
static bool write_now(struct tconn *conn)
{
	if (conn->tcp.write_queue_size)
		return true; /* keep the order: libuv still has bytes queued */
	uv_buf_t b = uv_buf_init((char *)conn->out.buf,
				 (unsigned)conn->out.len);
	int n = uv_try_write((uv_stream_t *)&conn->tcp, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		tconn_lost(conn, uv_strerror(n), true);
		return false;
	}
	wire_writer_drop_front(&conn->out, n > 0 ? (size_t)n : 0, 64 * 1024);
	return conn->out.len > 0;
}

/* The rest goes out in one libuv write; the buffer changes hands so
 * encoding can go on while libuv writes. */
void tconn_flush(struct tconn *conn)
{
	struct twrite *w;
	uv_buf_t buf;
	int rv;

	if (!conn->c || conn->state == TCONN_CONNECTING || !conn->out.len)
		return;
	if (!conn->out.failed && !write_now(conn))
		return;
	if (conn->out.failed || !(w = malloc(sizeof(*w)))) {
		tconn_lost(conn, "out of memory", true);
		return;
	}
	w->buf = conn->out.buf;
	w->req.data = conn;
	buf = uv_buf_init((char *)w->buf, (unsigned)conn->out.len);
	wire_writer_init(&conn->out);
	rv = uv_write(&w->req, (uv_stream_t *)&conn->tcp, &buf, 1, on_write);
	if (rv) {
		free(w->buf);
		free(w);
		tconn_lost(conn, uv_strerror(rv), true);
	}
}

/* ---- reading ------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tconn *conn = h->data;
	size_t n = suggested;
	void *space = conn->c ? frame_decoder_space(&conn->dec, &n) : NULL;

	/* A NULL buffer makes libuv report UV_ENOBUFS to on_read. */
	*buf = uv_buf_init(space, space ? (unsigned)n : 0);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct tconn *conn = s->data;
	struct tclient *c = conn->c;
	struct frame f;
	int rv = FRAME_NEED_MORE;

	(void)buf;
	if (!c || n == 0)
		return;
	if (n < 0) {
		tconn_lost(conn,
			   n == UV_EOF ? "closed by the server"
				       : uv_strerror((int)n),
			   true);
		tclient_kick(c);
		return;
	}
	frame_decoder_commit(&conn->dec, (size_t)n);
	/* A callback may close the client or drop this connection. */
	while (conn->c &&
	       (rv = frame_decoder_next(&conn->dec, &f)) == FRAME_READY) {
		conn->rx_frames++;
		tclient_on_frame(c, &f);
	}
	if (conn->c && rv == FRAME_ERROR)
		tconn_lost(conn, frame_decoder_error(&conn->dec), true);
	tclient_kick(c);
}

/* ---- dialling ------------------------------------------------------------ */

/* HELLO goes first and alone: a server that refuses it closes the
 * connection, and anything sent behind it would be lost with an unknown
 * outcome. */
void tconn_send_hello(struct tconn *conn)
{
	struct tclient *c = conn->c;
	struct client_request hello = {
		.op = CLIENT_OP_HELLO,
		.user = { c->user, strlen(c->user) },
		.nonce = { (const char *)conn->client_nonce, SCRAM_NONCE_LEN },
		.client_name = { c->client_name, strlen(c->client_name) },
	};

	if (scram_random(conn->client_nonce, SCRAM_NONCE_LEN)) {
		tconn_lost(conn, "no random numbers for a nonce", true);
		return;
	}
	hello.id = conn->hello_id = tclient_new_id(c);
	conn->state = TCONN_HELLO;
	if (!client_encode_request(&conn->out, &hello))
		conn->out.failed = true;
	tconn_flush(conn);
}

bool tconn_send_proof(struct tconn *conn, const struct client_auth_body *ch)
{
	struct tclient *c = conn->c;
	struct scram_exchange x = {
		.user = c->user,
		.user_len = strlen(c->user),
		.iterations = (uint32_t)ch->iterations,
	};
	uint8_t proof[SCRAM_KEY_LEN];

	if (ch->nonce.len != SCRAM_NONCE_LEN ||
	    ch->salt.len != SCRAM_SALT_LEN ||
	    ch->iterations > SCRAM_ITERATIONS_MAX)
		return false;
	memcpy(x.client_nonce, conn->client_nonce, SCRAM_NONCE_LEN);
	memcpy(x.server_nonce, ch->nonce.p, SCRAM_NONCE_LEN);
	memcpy(x.salt, ch->salt.p, SCRAM_SALT_LEN);
	if (scram_client_proof(c->secret, strlen(c->secret), &x, proof,
			       conn->expected_signature))
		return false;
	struct client_request q = {
		.op = CLIENT_OP_AUTH_PROOF,
		.proof = { (const char *)proof, sizeof(proof) },
	};
	q.id = conn->hello_id = tclient_new_id(c);
	conn->state = TCONN_PROOF;
	if (!client_encode_request(&conn->out, &q))
		conn->out.failed = true;
	tconn_flush(conn);
	return true;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct tconn *conn = req->data;
	struct tclient *c = conn->c;
	int rv;

	if (!c)
		return;
	if (status) {
		tconn_lost(conn, uv_strerror(status), true);
		tclient_kick(c);
		return;
	}
	rv = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
	if (rv) {
		tconn_lost(conn, uv_strerror(rv), true);
	} else if (c->user[0]) {
		tconn_send_hello(conn);
	} else {
		conn->state = TCONN_READY;
	}
	tclient_kick(c);
}

static struct tconn *conn_alloc(struct tclient *c, const char *addr, long ep)
{
	struct tconn *conn = calloc(1, sizeof(*conn));

	if (!conn)
		return NULL;
	conn->owner = c;
	conn->ep = ep;
	conn->state = TCONN_CONNECTING;
	conn->ready_deadline = uv_now(c->loop) + c->o.connect_timeout_ms;
	frame_decoder_init(&conn->dec, c->o.frame_limit);
	wire_writer_init(&conn->out);
	snprintf(conn->addr, sizeof(conn->addr), "%s", addr);
	conn->tcp.data = conn;
	conn->connect_req.data = conn;
	return conn;
}

int tconn_start(struct tclient *c, const char *addr, long ep)
{
	struct sockaddr_storage sa;
	struct tconn *conn;
	int rv = tclient_parse_addr(addr, &sa);

	if (rv)
		return rv;
	if (!(conn = conn_alloc(c, addr, ep)))
		return UV_ENOMEM;
	rv = uv_tcp_init(c->loop, &conn->tcp);
	if (rv) {
		free(conn);
		return rv;
	}
	c->handles++;
	/* Requests are small and latency matters more than packet count. */
	uv_tcp_nodelay(&conn->tcp, 1);
	uv_tcp_keepalive(&conn->tcp, 1, 10);
	rv = uv_tcp_connect(&conn->connect_req, &conn->tcp,
			    (const struct sockaddr *)&sa, on_connect);
	if (rv) {
		tconn_close(conn);
		return rv;
	}
	conn->c = c;
	c->conn = conn;
	return 0;
}
