/*
 * transport_out.c — the peers this node dials: connecting and
 * reconnecting with backoff, the hello, and buffering and writing Raft
 * messages (see transport.h for the contract).
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
	wire_writer_free(&p->inflight);
	free(p);
}

static void on_peer_handle_closed(uv_handle_t *h)
{
	struct peer *p = h->data;
	struct transport *t = p->t;

	if (--p->handles == 0 && p->removed)
		peer_free(p);
	transport_handle_closed(t);
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

static void on_tcp_closed(uv_handle_t *h)
{
	struct peer *p = h->data;

	p->state = PEER_IDLE;
	if (!p->removed && !p->t->closing) {
		uv_timer_start(&p->timer, on_redial, backoff_ms(p), 0);
		p->attempts++;
	}
	on_peer_handle_closed(h);
}

/* Close the socket; on_tcp_closed schedules the next attempt.  What was
 * never written is lost (Raft resends); what is being written is counted
 * by on_write, which libuv calls before on_tcp_closed. */
static void peer_close_socket(struct peer *p)
{
	if (p->state != PEER_CONNECTING && p->state != PEER_CONNECTED)
		return;
	p->state = PEER_CLOSING;
	p->stats.dropped_msgs += p->pending_msgs;
	p->pending_msgs = 0;
	wire_writer_reset(&p->pending);
	uv_close((uv_handle_t *)&p->tcp, on_tcp_closed);
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
	uv_close((uv_handle_t *)&p->timer, on_peer_handle_closed);
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

	if (uv_tcp_getsockname(&p->tcp, (struct sockaddr *)&local, &llen) ||
	    uv_tcp_getpeername(&p->tcp, (struct sockaddr *)&remote, &rlen))
		return false;
	return same_sockaddr(&local, &remote);
}

static void alloc_out(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct peer *p = h->data;

	*buf = uv_buf_init(p->read_buf, sizeof(p->read_buf));
}

/* We only read to notice at once when the peer closes (it restarted or
 * refused our hello): the acceptor never writes. */
static void on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct peer *p = s->data;

	if (nread == 0 || p->state != PEER_CONNECTED)
		return;
	if (nread > 0)
		peer_lost(p, "sent data on a connection we dialled (protocol "
			     "error)");
	else if (nread == UV_EOF)
		peer_lost(p, "connection closed by the peer (a restart, or it "
			     "refused our hello: see its log)");
	else
		peer_lost(p, uv_strerror((int)nread));
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

static void on_connect(uv_connect_t *req, int status)
{
	struct peer *p = req->data;

	if (status == UV_ECANCELED || p->state != PEER_CONNECTING)
		return;
	if (status < 0) {
		peer_lost(p, uv_strerror(status));
		return;
	}
	p->state = PEER_CONNECTED;
	p->connected_at = uv_now(p->t->loop);
	if (connected_to_self(p)) {
		peer_lost(p, "connected to itself (nobody listens there)");
		return;
	}
	uv_tcp_nodelay(&p->tcp, 1);
	uv_tcp_keepalive(&p->tcp, 1, 15);
	if (uv_read_start((uv_stream_t *)&p->tcp, alloc_out, on_out_read) ||
	    !queue_hello(p)) {
		peer_lost(p, "cannot set up the connection");
		return;
	}
	transport_log(p->t, "info", "connected to peer %llu at %s",
		      (unsigned long long)p->id, p->addr);
	peer_flush(p);
}

static void peer_dial(struct peer *p)
{
	struct transport *t = p->t;
	int rv;

	uv_tcp_init(t->loop, &p->tcp);
	p->tcp.data = p;
	p->handles++;
	t->handles++;
	p->connect_req.data = p;
	p->state = PEER_CONNECTING;
	rv = uv_tcp_connect(&p->connect_req, &p->tcp,
			    (const struct sockaddr *)&p->sa, on_connect);
	if (rv)
		peer_lost(p, uv_strerror(rv));
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
	wire_writer_init(&p->pending);
	wire_writer_init(&p->inflight);
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

static void release_inflight(struct peer *p)
{
	p->inflight_msgs = 0;
	if (p->inflight.cap > TRANSPORT_KEEP_BUFFER)
		wire_writer_free(&p->inflight);
	else
		wire_writer_reset(&p->inflight);
}

static void on_write(uv_write_t *req, int status)
{
	struct peer *p = req->data;

	p->writing = false;
	if (status == 0) {
		p->stats.sent_msgs += p->inflight_msgs;
		p->stats.sent_bytes += p->inflight.len;
	} else {
		p->stats.dropped_msgs += p->inflight_msgs;
	}
	release_inflight(p);
	if (status && status != UV_ECANCELED && p->state == PEER_CONNECTED) {
		peer_lost(p, uv_strerror(status));
		return;
	}
	/* What accumulated during this write goes out now, as one write. */
	peer_flush(p);
}

void peer_flush(struct peer *p)
{
	struct wire_writer w;
	uv_buf_t buf;
	int rv;

	if (p->state != PEER_CONNECTED || p->writing || p->pending.len == 0)
		return;
	w = p->inflight;
	p->inflight = p->pending;
	p->pending = w;
	p->inflight_msgs = p->pending_msgs;
	p->pending_msgs = 0;
	buf = uv_buf_init((char *)p->inflight.buf, (unsigned)p->inflight.len);
	p->write_req.data = p;
	rv = uv_write(&p->write_req, (uv_stream_t *)&p->tcp, &buf, 1, on_write);
	if (rv) {
		p->stats.dropped_msgs += p->inflight_msgs;
		release_inflight(p);
		peer_lost(p, uv_strerror(rv));
		return;
	}
	p->writing = true;
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
	    p->pending.len + p->inflight.len <= p->t->o.max_buffered) {
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
