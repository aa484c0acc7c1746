/*
 * transport_out.c — the peers this node dials: connecting and
 * reconnecting with backoff, the hello, and buffering and writing Raft
 * messages over common/stream, plaintext or TLS (see transport.h for the
 * contract).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/transport_hello.h"
#include "server/transport_int.h"

static void peer_dial(struct peer *p);

/* ---- handle lifetime ----------------------------------------------------- */

static void peer_free(struct peer *p)
{
	wire_writer_free(&p->pending);
	free(p);
}

/* The timer or the stream is closed. */
static void peer_handle_gone(struct peer *p)
{
	struct transport *t = p->t;

	if (--p->handles == 0 && p->removed)
		peer_free(p);
	transport_handle_closed(t);
}

static void on_timer_closed(uv_handle_t *h)
{
	peer_handle_gone(h->data);
}

/* ---- reconnecting -------------------------------------------------------- */

static uint64_t prng_next(struct transport *t)
{
	t->prng ^= t->prng >> 12;
	t->prng ^= t->prng << 25;
	t->prng ^= t->prng >> 27;
	return t->prng * 0x2545F4914F6CDD1Dull;
}

/* 50 ms doubling to 2 s, plus up to a quarter more of jitter. */
static uint64_t backoff_ms(struct peer *p)
{
	/* attempts is unbounded: shift only while the result is small. */
	uint64_t base = p->attempts < 16 ? (uint64_t)TRANSPORT_BACKOFF_MIN_MS
						   << p->attempts
					 : TRANSPORT_BACKOFF_MAX_MS;

	if (base > TRANSPORT_BACKOFF_MAX_MS)
		base = TRANSPORT_BACKOFF_MAX_MS;
	return base + prng_next(p->t) % (base / 4 + 1);
}

static void on_redial(uv_timer_t *timer)
{
	struct peer *p = timer->data;

	p->stats.reconnects++;
	peer_dial(p);
}

/* No connection any more: the next attempt after the backoff. */
static void peer_idle(struct peer *p)
{
	p->state = PEER_IDLE;
	p->s = NULL;
	if (!p->removed && !p->t->closing) {
		uv_timer_start(&p->timer, on_redial, backoff_ms(p), 0);
		p->attempts++;
	}
}

static void on_stream_closed(void *arg)
{
	struct peer *p = arg;

	peer_idle(p);
	peer_handle_gone(p);
}

/* Close the connection; on_stream_closed schedules the next attempt.
 * What was not yet taken by the kernel is lost (Raft resends). */
static void peer_close_socket(struct peer *p)
{
	if (p->state != PEER_CONNECTING && p->state != PEER_CONNECTED)
		return;
	p->state = PEER_CLOSING;
	p->stats.dropped_msgs += p->pending_msgs;
	p->pending_msgs = 0;
	wire_writer_reset(&p->pending);
	stream_close(p->s, false, on_stream_closed, p);
}

/* A dial failed or a connection ended.  Logged once per outage so a dead
 * peer does not fill the log every two seconds. */
static void peer_lost(struct peer *p, const char *why)
{
	uint64_t now = uv_now(p->t->loop);

	/* A connection that lasted proves the peer accepts us: start the
	 * backoff over.  One that the peer closes at once (it refuses our
	 * hello) keeps backing off. */
	if (p->state == PEER_CONNECTED &&
	    now - p->connected_at >= TRANSPORT_BACKOFF_MAX_MS) {
		p->attempts = 0;
		p->said_down = false;
	}
	if (!p->said_down)
		transport_log(p->t, "warn",
			      "peer %llu at %s: %s; retrying "
			      "with backoff",
			      (unsigned long long)p->id, p->addr, why);
	p->said_down = true;
	peer_close_socket(p);
}

void peer_remove(struct peer *p)
{
	p->removed = true;
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, on_timer_closed);
	peer_close_socket(p);
}

/* ---- connecting ---------------------------------------------------------- */

static bool same_sockaddr(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		const struct sockaddr_in *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* Dialling a local port nobody listens on can, rarely, connect the
 * socket to itself (TCP simultaneous open, when the kernel picks that
 * very port as our source port).  It would look connected forever. */
static bool connected_to_self(struct peer *p)
{
	struct sockaddr_storage local, remote;
	int llen = sizeof(local), rlen = sizeof(remote);

	uv_tcp_t *tcp = stream_tcp(p->s);

	if (uv_tcp_getsockname(tcp, (struct sockaddr *)&local, &llen) ||
	    uv_tcp_getpeername(tcp, (struct sockaddr *)&remote, &rlen))
		return false;
	return same_sockaddr(&local, &remote);
}

static void alloc_out(struct stream *s, size_t suggested, uv_buf_t *buf)
{
	struct peer *p = stream_data(s);

	(void)suggested;
	*buf = uv_buf_init(p->read_buf, sizeof(p->read_buf));
}

/* The acceptor never writes (beyond its TLS handshake): data from it is
 * a protocol error. */
static void on_out_read(struct stream *s, char *data, size_t n)
{
	struct peer *p = stream_data(s);

	(void)data;
	(void)n;
	if (p->state == PEER_CONNECTED)
		peer_lost(p, "sent data on a connection we dialled (protocol "
			     "error)");
}

/* We read only to notice at once when the peer closes (it restarted, or
 * refused our hello or our certificate). */
static void on_out_end(struct stream *s, int status, const char *why)
{
	struct peer *p = stream_data(s);

	if (p->state != PEER_CONNECTING && p->state != PEER_CONNECTED)
		return;
	if (status == UV_EOF && p->state == PEER_CONNECTED)
		peer_lost(p, "connection closed by the peer (a restart, or it "
			     "refused our hello: see its log)");
	else
		peer_lost(p, why);
}

static bool queue_hello(struct peer *p)
{
	struct transport *t = p->t;
	const char *token = t->auth_token ? t->auth_token : "";
	const char *client = t->o.advertise_client ? t->o.advertise_client : "";
	struct transport_hello h = {
		.cluster_id = t->o.cluster_id,
		.from = t->o.self,
		.to = p->id,
		.token = token,
		.token_len = strlen(token),
		.client_addr = client,
		.client_addr_len = strnlen(client, TRANSPORT_CLIENT_ADDR_MAX),
	};

	return transport_hello_encode(&p->pending, &h);
}

/* Connected, and with TLS the acceptor's certificate names this peer:
 * the hello goes first, then whatever Raft sends. */
static void on_out_ready(struct stream *s, const struct tls_peer_names *cert)
{
	struct peer *p = stream_data(s);
	uv_tcp_t *tcp = stream_tcp(s);

	(void)cert;
	if (p->state != PEER_CONNECTING)
		return;
	p->state = PEER_CONNECTED;
	p->connected_at = uv_now(p->t->loop);
	if (connected_to_self(p)) {
		peer_lost(p, "connected to itself (nobody listens there)");
		return;
	}
	uv_tcp_nodelay(tcp, 1);
	uv_tcp_keepalive(tcp, 1, 15);
	if (!queue_hello(p)) {
		peer_lost(p, "cannot set up the connection");
		return;
	}
	transport_log(p->t, "info", "connected to peer %llu at %s%s",
		      (unsigned long long)p->id, p->addr,
		      stream_is_tls(s) ? " (TLS)" : "");
	peer_flush(p);
}

static const struct stream_callbacks out_callbacks = {
	.alloc = alloc_out,
	.read = on_out_read,
	.ready = on_out_ready,
	.end = on_out_end,
};

static void peer_dial(struct peer *p)
{
	struct transport *t = p->t;
	char err[256];
	int rv = stream_connect(t->loop, (const struct sockaddr *)&p->sa,
				t->o.tls, p->tls_name, &out_callbacks, p, &p->s,
				err, sizeof(err));

	if (rv) {
		/* Nothing was created: no stream to close. */
		if (!p->said_down)
			transport_log(t, "warn",
				      "peer %llu at %s: %s; retrying with "
				      "backoff",
				      (unsigned long long)p->id, p->addr, err);
		p->said_down = true;
		peer_idle(p);
		return;
	}
	p->handles++;
	t->handles++;
	p->state = PEER_CONNECTING;
}

/* What a peer's certificate must name: the member name of "name=addr",
 * else the address's host (an IP literal, possibly in brackets). */
static void set_tls_name(struct peer *p, const char *config_addr)
{
	const char *eq = strchr(config_addr, '=');
	const char *host = config_addr;
	size_t len;

	if (eq) {
		len = (size_t)(eq - config_addr);
	} else if (host[0] == '[') {
		host++;
		len = strcspn(host, "]");
	} else {
		len = strcspn(host, ":");
	}
	snprintf(p->tls_name, sizeof(p->tls_name), "%.*s", (int)len, host);
}

struct peer *peer_create(struct transport *t, const struct raft_server *s)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->t = t;
	p->id = s->id;
	p->stats.id = s->id;
	snprintf(p->addr, sizeof(p->addr), "%s", s->addr);
	set_tls_name(p, s->addr);
	wire_writer_init(&p->pending);
	uv_timer_init(t->loop, &p->timer);
	p->timer.data = p;
	p->handles = 1;
	t->handles++;
	/* Port 0 parses (a listener may ask for any port) but cannot be
	 * dialled. */
	p->addr_ok = transport_parse_addr(transport_dial_addr(s->addr),
					  &p->sa) == 0 &&
		     transport_sockaddr_port(&p->sa) != 0;
	if (p->addr_ok)
		peer_dial(p);
	else
		transport_log(t, "error",
			      "peer %llu has address \"%s\", not "
			      "host:port with an IP address and a port: it "
			      "will not be contacted",
			      (unsigned long long)s->id, s->addr);
	return p;
}

/* ---- sending ------------------------------------------------------------- */

static void release_pending(struct peer *p)
{
	p->pending_msgs = 0;
	if (p->pending.cap > TRANSPORT_KEEP_BUFFER)
		wire_writer_free(&p->pending);
	else
		wire_writer_reset(&p->pending);
}

void peer_flush(struct peer *p)
{
	int rv;

	if (p->state != PEER_CONNECTED || p->pending.len == 0)
		return;
	rv = stream_write(p->s, p->pending.buf, p->pending.len);
	if (rv) {
		p->stats.dropped_msgs += p->pending_msgs;
		release_pending(p);
		peer_lost(p, uv_strerror(rv));
		return;
	}
	p->stats.sent_msgs += p->pending_msgs;
	p->stats.sent_bytes += p->pending.len;
	release_pending(p);
}

static void drop_too_big(struct peer *p, size_t len)
{
	p->stats.dropped_msgs++;
	/* Raft will resend the same message: say it once, not each time. */
	if (p->said_too_big)
		return;
	p->said_too_big = true;
	transport_log(p->t, "error",
		      "dropping a message of %zu bytes for "
		      "peer %llu: over the frame limit of %zu bytes (keep the "
		      "Raft batch and snapshot chunk sizes below it)",
		      len, (unsigned long long)p->id, p->t->o.frame_limit);
}

void peer_send(struct peer *p, const struct raft_message *m)
{
	size_t mark = p->pending.len, len;
	bool ok;

	if (p->state != PEER_CONNECTED) {
		p->stats.dropped_msgs++;
		return;
	}
	ok = peer_encode(&p->pending, m);
	len = p->pending.len - mark - FRAME_HEADER_SIZE;
	if (ok && len <= p->t->o.frame_limit &&
	    p->pending.len + stream_queued(p->s) <= p->t->o.max_buffered) {
		p->pending_msgs++;
		transport_schedule_flush(p->t);
		return;
	}
	/* Take the partial or refused frame back out: the buffer must hold
	 * whole frames only. */
	p->pending.len = mark;
	p->pending.failed = false;
	if (ok && len > p->t->o.frame_limit)
		drop_too_big(p, len);
	else
		p->stats.dropped_msgs++;
}
