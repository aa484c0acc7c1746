/*
 * tclient_conn.c — the client's one connection, plaintext or TLS
 * (common/stream.h): dialling, HELLO, reading frames, writing frames,
 * closing (see tclient.h).
 *
 * A connection is detached from its client (conn->c = NULL) the moment
 * the client stops using it, and its stream is closed then: the stream
 * calls nothing after that but its close callback, where the memory
 * goes, which is what the client's handle count waits for at
 * tclient_close().
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/stream.h"
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

static void on_conn_closed(void *arg)
{
	struct tconn *conn = arg;
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
	stream_close(conn->stream, false, on_conn_closed, conn);
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

/* The stream offers the frames to the kernel at once and queues what it
 * does not take, so the buffer is kept for the next ones. */
void tconn_flush(struct tconn *conn)
{
	if (!conn->c || conn->state == TCONN_CONNECTING || !conn->out.len)
		return;
	if (conn->out.failed) {
		tconn_lost(conn, "out of memory", true);
		return;
	}
	int rv = stream_write(conn->stream, conn->out.buf, conn->out.len);
	wire_writer_drop_front(&conn->out, conn->out.len, 64 * 1024);
	if (rv)
		tconn_lost(conn, uv_strerror(rv), true);
}

/* ---- the handshake's pace ------------------------------------------------ */

/* Bytes from the server wait in the kernel: it answered, and this loop
 * has not read them yet (stream.h).  Dropping such a connection would
 * throw away work the server did and make it do it again. */
bool tconn_has_unread(struct tconn *conn)
{
	return stream_input_waiting(conn->stream);
}

uint64_t tclient_silence_ms(const struct tclient *c)
{
	return 2 * c->o.connect_timeout_ms;
}

bool tconn_silent(struct tconn *conn, uint64_t now)
{
	return conn->awaiting_since &&
	       now - conn->awaiting_since >= tclient_silence_ms(conn->c) &&
	       !tconn_has_unread(conn);
}

/* A step of the handshake answered (or TCP connected): the server is
 * alive, and the next step gets the silence limit of its own. */
void tconn_progress(struct tconn *conn)
{
	conn->ready_deadline = uv_now(conn->c->loop) +
			       tclient_silence_ms(conn->c);
}

/* ---- reading ------------------------------------------------------------- */

static void on_alloc(struct stream *st, size_t suggested, uv_buf_t *buf)
{
	struct tconn *conn = stream_data(st);
	size_t n = suggested;
	void *space = frame_decoder_space(&conn->dec, &n);

	/* No buffer ends the stream (UV_ENOBUFS). */
	*buf = uv_buf_init(space, space ? (unsigned)n : 0);
}

static void on_read(struct stream *st, char *data, size_t n)
{
	struct tconn *conn = stream_data(st);
	struct tclient *c = conn->c;
	struct frame f;
	int rv = FRAME_NEED_MORE;

	(void)data; /* in the decoder's space, from on_alloc */
	frame_decoder_commit(&conn->dec, n);
	/* A callback may close the client or drop this connection. */
	while (conn->c &&
	       (rv = frame_decoder_next(&conn->dec, &f)) == FRAME_READY) {
		conn->rx_frames++;
		conn->awaiting_since = 0;
		tclient_on_frame(c, &f);
	}
	if (conn->c && rv == FRAME_ERROR)
		tconn_lost(conn, frame_decoder_error(&conn->dec), true);
	tclient_kick(c);
}

static void on_end(struct stream *st, int status, const char *why)
{
	struct tconn *conn = stream_data(st);
	struct tclient *c = conn->c;

	const char *eof = "closed by the server";

	/* A witness with TLS closes a plaintext connection at its first
	 * bytes, with nothing to say in a language we would understand. */
	if (!stream_is_tls(st) && conn->rx_frames == 0)
		eof = "closed by the server before any answer (a witness "
		      "that speaks TLS does that: give this client the CA "
		      "file of the witnesses' certificates, tenurectl "
		      "--cacert)";
	tconn_lost(conn, status == UV_EOF ? eof : why, true);
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

/* Queued, not written: it is asked from inside the handling of an
 * answer, and a write that fails there would end the connection under
 * that answer's request.  The pump flushes it. */
void tconn_ask_successor(struct tconn *conn)
{
	struct client_request q = { .op = CLIENT_OP_SUCCESSOR };

	q.id = conn->successor_id = tclient_new_id(conn->c);
	if (!client_encode_request(&conn->out, &q))
		conn->out.failed = true;
	tclient_kick(conn->c);
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
	if (scram_client_proof_kept(c->secret, strlen(c->secret), &c->keys, &x,
				    proof, conn->expected_signature))
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

/* Connected, and with TLS the server's certificate verified. */
static void on_ready(struct stream *st, const struct tls_peer_names *peer)
{
	struct tconn *conn = stream_data(st);
	struct tclient *c = conn->c;

	(void)peer; /* the name was checked by the handshake */
	tconn_progress(conn);
	if (c->user[0])
		tconn_send_hello(conn);
	else
		conn->state = TCONN_READY;
	tclient_kick(c);
}

static const struct stream_callbacks conn_callbacks = {
	.alloc = on_alloc,
	.read = on_read,
	.ready = on_ready,
	.end = on_end,
};

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
	return conn;
}

int tconn_start(struct tclient *c, const char *addr, long ep)
{
	struct sockaddr_storage sa;
	struct tconn *conn;
	char host[INET6_ADDRSTRLEN], err[256] = "";
	int rv = tclient_parse_addr(addr, &sa);

	if (rv)
		return rv;
	/* The server's certificate must carry the endpoint's IP address
	 * (an IP SAN): endpoints are IP literals, and a leader hint is an
	 * address too. */
	if (c->o.tls &&
	    uv_ip_name((const struct sockaddr *)&sa, host, sizeof(host)))
		return UV_EINVAL;
	if (!(conn = conn_alloc(c, addr, ep)))
		return UV_ENOMEM;
	rv = stream_connect(c->loop, (const struct sockaddr *)&sa, c->o.tls,
			    c->o.tls ? host : NULL, &conn_callbacks, conn,
			    &conn->stream, err, sizeof(err));
	if (rv) {
		if (err[0])
			tclient_log(c, "warn", "connection to %s: %s", addr,
				    err);
		frame_decoder_free(&conn->dec);
		wire_writer_free(&conn->out);
		free(conn);
		return rv;
	}
	c->handles++;
	/* Requests are small and latency matters more than packet count. */
	uv_tcp_nodelay(stream_tcp(conn->stream), 1);
	uv_tcp_keepalive(stream_tcp(conn->stream), 1, 10);
	conn->c = c;
	c->conn = conn;
	return 0;
}
