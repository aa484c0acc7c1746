/*
 * transport_in.c — the connections other peers dial to us: accept (with
 * TLS, the handshake checks the certificate), check the hello (and that
 * the certificate names its sender), then decode Raft messages and hand
 * them to on_message.  Any
 * bad input closes that one connection with a logged reason
 * (docs/design.md rule 6); the listener and every other connection carry
 * on.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "common/addr.h"
#include "server/transport_cert.h"
#include "server/transport_hello.h"
#include "server/transport_int.h"

static void on_inbound_closed(void *arg)
{
	struct inbound *c = arg;
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
	stream_close(c->s, false, on_inbound_closed, c);
}

#define TRANSPORT_REFUSAL_LOG_MS 10000

#define N_REFUSAL_KINDS                              \
	(sizeof(((struct transport *)0)->refusals) / \
	 sizeof(((struct transport *)0)->refusals[0]))

/* The slot of why's kind: its own, a free one, or the last. */
static size_t refusal_slot(struct transport *t, const char *why)
{
	size_t k = sizeof(t->refusals[0].kind) - 1;

	for (size_t i = 0; i < N_REFUSAL_KINDS; i++) {
		if (strncmp(t->refusals[i].kind, why, k) == 0)
			return i;
		if (!t->refusals[i].kind[0]) {
			snprintf(t->refusals[i].kind, k + 1, "%s", why);
			return i;
		}
	}
	return N_REFUSAL_KINDS - 1;
}

/* Before its hello is accepted, a connection is anyone's: its refusals
 * are logged at most every 10 s per kind, the others counted.  Returns
 * how many went unlogged before this one, or -1: do not log it. */
static long long refusal_to_log(struct transport *t, const char *why)
{
	uint64_t skipped;
	if (!log_throttle_due(&t->refusals[refusal_slot(t, why)].log,
			      uv_now(t->loop), TRANSPORT_REFUSAL_LOG_MS,
			      &skipped))
		return -1;
	return (long long)skipped;
}

static void inbound_reject(struct inbound *c, const char *why)
{
	struct transport *t = c->t;
	char who[48] = "";
	long long unlogged = 0;

	if (c->from) {
		snprintf(who, sizeof(who), " (node %llu)",
			 (unsigned long long)c->from);
	} else if ((unlogged = refusal_to_log(t, why)) < 0) {
		inbound_close(c);
		return;
	}
	if (unlogged > 0) {
		transport_log(t, "warn",
			      "closing peer connection from %s: %s (and %lld "
			      "more of this kind since the last such line)",
			      c->remote, why, unlogged);
	} else {
		transport_log(t, "warn",
			      "closing peer connection from %s%s: %s",
			      c->remote, who, why);
	}
	inbound_close(c);
}

/* ---- frames -------------------------------------------------------------- */

static void inbound_hello(struct inbound *c, const struct frame *f)
{
	struct transport *t = c->t;
	struct transport_hello h;
	char why[640];
	const char *bad = transport_hello_decode(f, &h);

	if (!bad)
		bad = transport_hello_verify(&h, t->o.cluster_id, t->o.self,
					     t->auth_token, why, sizeof(why));
	if (!bad && t->o.tls)
		bad = transport_cert_check(c->cert, h.from,
					   t->o.members ? t->o.members(t->o.arg)
							: NULL,
					   why, sizeof(why));
	if (bad) {
		inbound_reject(c, bad);
		return;
	}
	/* Authenticated: only now may its word count (the leader hint). */
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

/* ---- stream callbacks ---------------------------------------------------- */

static void alloc_in(struct stream *s, size_t suggested, uv_buf_t *buf)
{
	struct inbound *c = stream_data(s);
	size_t n = suggested;
	void *space = c->closing ? NULL : frame_decoder_space(&c->dec, &n);

	/* An empty buffer makes the stream end with UV_ENOBUFS. */
	*buf = uv_buf_init(space, space ? (unsigned)n : 0);
}

static void on_in_read(struct stream *s, char *data, size_t n)
{
	struct inbound *c = stream_data(s);

	(void)data; /* at the start of the decoder's space */
	if (c->closing)
		return;
	frame_decoder_commit(&c->dec, n);
	inbound_drain(c);
}

/* TLS: the certificate verified against the CA; whom it names is judged
 * with the hello. */
static void on_in_ready(struct stream *s, const struct tls_peer_names *cert)
{
	struct inbound *c = stream_data(s);

	c->cert = cert;
}

/* The peer left (a restart, or it removed us): normal, but worth a line
 * when it had not even said hello.  A TLS failure is a refusal. */
static void on_in_end(struct stream *s, int status, const char *why)
{
	struct inbound *c = stream_data(s);

	if (c->closing)
		return;
	if (status == UV_ENOBUFS)
		inbound_reject(c, "out of memory for the input buffer");
	else if (status == UV_EPROTO && !c->from)
		inbound_reject(c, why);
	else if (c->from) {
		transport_log(c->t, "info",
			      "peer connection from %s (node "
			      "%llu) ended: %s",
			      c->remote, (unsigned long long)c->from, why);
		if (c->t->o.on_peer_down)
			c->t->o.on_peer_down(c->t->o.arg, c->from);
	} else
		transport_log(c->t, "info",
			      "peer connection from %s ended "
			      "before its hello: %s",
			      c->remote, why);
	inbound_close(c);
}

static const struct stream_callbacks in_callbacks = {
	.alloc = alloc_in,
	.read = on_in_read,
	.ready = on_in_ready,
	.end = on_in_end,
};

static void name_remote(struct inbound *c)
{
	struct sockaddr_storage sa;
	int len = sizeof(sa);

	if (uv_tcp_getpeername(stream_tcp(c->s), (struct sockaddr *)&sa,
			       &len) == 0)
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
	/* Until the hello, a frame may be no longer than a hello. */
	frame_decoder_init(&c->dec, TRANSPORT_HELLO_MAX);
	return c;
}

void inbound_on_connection(uv_stream_t *listener, int status)
{
	struct transport *t = listener->data;
	struct inbound *c;
	int rv;

	if (status < 0) {
		transport_log(t, "warn", "accepting a peer connection: %s",
			      uv_strerror(status));
		return;
	}
	c = inbound_new(t);
	rv = c ? stream_accept(listener, t->o.tls, &in_callbacks, c, &c->s)
	       : UV_ENOMEM;
	if (rv) {
		/* Nothing to close: the stream, if any, went with its
		 * failure.  Say why peers cannot connect. */
		transport_log(t, "error", "accepting a peer connection: %s",
			      uv_strerror(rv));
		if (c)
			frame_decoder_free(&c->dec);
		free(c);
		return;
	}
	t->handles++;
	c->next = t->inbound;
	t->inbound = c;
	name_remote(c);
	uv_tcp_nodelay(stream_tcp(c->s), 1);
	uv_tcp_keepalive(stream_tcp(c->s), 1, 15);
}
