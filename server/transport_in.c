/*
 * transport_in.c — the connections other peers dial to us: accept, check
 * the hello, then decode Raft messages and hand them to on_message.  Any
 * bad input closes that one connection with a logged reason
 * (docs/design.md rule 6); the listener and every other connection carry
 * on.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/addr.h"
#include "server/transport_hello.h"
#include "server/transport_int.h"

static void on_inbound_closed(uv_handle_t *h)
{
	struct inbound *c = h->data;
	struct transport *t = c->t;
	struct inbound **pp = &t->inbound;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	frame_decoder_free(&c->dec);
	peer_scratch_free(&c->scratch);
	free(c);
	transport_handle_closed(t);
}

void inbound_close(struct inbound *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, on_inbound_closed);
}

static void inbound_reject(struct inbound *c, const char *why)
{
	char who[48] = "";

	if (c->from)
		snprintf(who, sizeof(who), " (node %llu)",
			 (unsigned long long)c->from);
	transport_log(c->t, "warn", "closing peer connection from %s%s: %s",
		      c->remote, who, why);
	inbound_close(c);
}

/* ---- frames -------------------------------------------------------------- */

static void inbound_hello(struct inbound *c, const struct frame *f)
{
	struct transport *t = c->t;
	struct transport_hello h;
	char why[192];
	const char *bad = transport_hello_decode(f, &h);

	if (!bad)
		bad = transport_hello_verify(&h, t->o.cluster_id, t->o.self,
					     t->auth_token, why, sizeof(why));
	if (bad) {
		inbound_reject(c, bad);
		return;
	}
	c->from = h.from;
	transport_learn_client_addr(t, h.from, h.client_addr,
				    h.client_addr_len);
	/* Only now may frames be as large as Raft messages need. */
	c->dec.limit = t->o.frame_limit;
	transport_log(t, "info", "accepted peer %llu from %s",
		      (unsigned long long)c->from, c->remote);
}

static void inbound_deliver(struct inbound *c, const struct raft_message *m)
{
	struct transport *t = c->t;
	struct peer *p;
	char why[160];

	/* The hello vouched for one sender and this node as receiver; a
	 * message claiming otherwise is forged or misrouted. */
	if (m->from != c->from || m->to != t->o.self) {
		snprintf(why, sizeof(why),
			 "%s from node %llu to node %llu on "
			 "a connection authenticated as node %llu",
			 raft_msg_type_name(m->type),
			 (unsigned long long)m->from, (unsigned long long)m->to,
			 (unsigned long long)c->from);
		inbound_reject(c, why);
		return;
	}
	p = transport_find_peer(t, c->from);
	if (p)
		p->stats.received_msgs++;
	if (t->o.on_message)
		t->o.on_message(t->o.arg, m);
}

static void inbound_frame(struct inbound *c, const struct frame *f)
{
	struct raft_message m;
	int rv;

	if (!c->from) {
		inbound_hello(c, f);
		return;
	}
	if (f->type == TRANSPORT_HELLO_TYPE) {
		inbound_reject(c, "second hello on one connection");
		return;
	}
	rv = peer_decode(f, &m, &c->scratch);
	if (rv == PEER_ENOMEM)
		inbound_reject(c, "out of memory decoding a message");
	else if (rv != PEER_OK)
		inbound_reject(c, c->scratch.error);
	else
		inbound_deliver(c, &m);
}

/* Every complete frame now; a frame points into the decoder, which is
 * only compacted by the next alloc callback. */
static void inbound_drain(struct inbound *c)
{
	struct frame f;
	int rv = FRAME_NEED_MORE;

	while (!c->closing &&
	       (rv = frame_decoder_next(&c->dec, &f)) == FRAME_READY)
		inbound_frame(c, &f);
	if (!c->closing && rv == FRAME_ERROR)
		inbound_reject(c, frame_decoder_error(&c->dec));
}

/* ---- libuv callbacks ----------------------------------------------------- */

static void alloc_in(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct inbound *c = h->data;
	size_t n = suggested;
	void *space = c->closing ? NULL : frame_decoder_space(&c->dec, &n);

	/* A NULL buffer makes libuv report UV_ENOBUFS to on_in_read. */
	*buf = uv_buf_init(space, space ? (unsigned)n : 0);
}

/* The peer left (a restart, or it removed us): normal, but worth a line
 * when it had not even said hello. */
static void inbound_ended(struct inbound *c, int err)
{
	if (c->from)
		transport_log(c->t, "info",
			      "peer connection from %s (node "
			      "%llu) ended: %s",
			      c->remote, (unsigned long long)c->from,
			      uv_strerror(err));
	else
		transport_log(c->t, "info",
			      "peer connection from %s ended "
			      "before its hello: %s",
			      c->remote, uv_strerror(err));
	inbound_close(c);
}

static void on_in_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct inbound *c = s->data;

	if (c->closing || nread == 0)
		return;
	if (nread > 0) {
		frame_decoder_commit(&c->dec, (size_t)nread);
		inbound_drain(c);
	} else if (nread == UV_ENOBUFS) {
		inbound_reject(c, "out of memory for the input buffer");
	} else {
		inbound_ended(c, (int)nread);
	}
}

static void name_remote(struct inbound *c)
{
	struct sockaddr_storage sa;
	int len = sizeof(sa);

	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0)
		addr_format(&sa, c->remote, sizeof(c->remote));
	else
		snprintf(c->remote, sizeof(c->remote), "(unknown address)");
}

static struct inbound *inbound_new(struct transport *t)
{
	struct inbound *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->t = t;
	uv_tcp_init(t->loop, &c->tcp);
	c->tcp.data = c;
	t->handles++;
	c->next = t->inbound;
	t->inbound = c;
	/* Until the hello, a frame may be no longer than a hello. */
	frame_decoder_init(&c->dec, TRANSPORT_HELLO_MAX);
	return c;
}

void inbound_on_connection(uv_stream_t *listener, int status)
{
	struct transport *t = listener->data;
	struct inbound *c;

	if (status < 0) {
		transport_log(t, "warn", "accepting a peer connection: %s",
			      uv_strerror(status));
		return;
	}
	c = inbound_new(t);
	if (!c) {
		/* libuv stops listening until we accept; nothing to
		 * accept into, so say why peers cannot connect. */
		transport_log(t, "error",
			      "out of memory accepting a peer "
			      "connection");
		return;
	}
	if (uv_accept(listener, (uv_stream_t *)&c->tcp)) {
		snprintf(c->remote, sizeof(c->remote), "(not accepted)");
		inbound_reject(c, "accept failed");
		return;
	}
	name_remote(c);
	uv_tcp_nodelay(&c->tcp, 1);
	uv_tcp_keepalive(&c->tcp, 1, 15);
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_in, on_in_read))
		inbound_reject(c, "cannot read from the connection");
}
