/*
 * clients.c — see clients.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/log_throttle.h"
#include "common/stream.h"
#include "proto/frame.h"
#include "server/auth_policy.h"
#include "server/clients.h"
#include "server/transport.h"
#include "server/turn_budget.h"

#define MAX_OUTPUT_DEFAULT ((size_t)16 << 20)
#define MAX_OUTPUT_TOTAL_DEFAULT ((size_t)128 << 20)
#define MAX_SESSIONS_DEFAULT 1000
#define AUTH_TIMEOUT_DEFAULT_MS 5000
#define IDLE_TIMEOUT_DEFAULT_MS (5 * 60 * 1000)
/* A session holding less than this is never blamed for the total. */
#define OUTPUT_BLAME_MIN ((size_t)1 << 20)
/* Refused connections are logged at most this often. */
#define REFUSAL_LOG_EVERY_MS 10000

struct session {
	struct clients *owner;
	struct stream *stream;
	char peer[64];
	struct sockaddr_storage peer_addr; /* for the per-address cap */
	struct frame_decoder dec;
	struct client_scratch scratch;
	struct wire_writer out; /* the answer being encoded */
	uint64_t opened_ms;     /* uv_now at accept */
	uint64_t last_rx_ms;    /* uv_now of the last bytes received */
	enum {
		AUTH_NONE,
		AUTH_CHALLENGED,
		AUTH_DONE
	} auth;
	bool handshaking;        /* TLS: the handshake is not done yet */
	bool by_cert;            /* authenticated by its certificate */
	bool known;              /* the HELLO named a SCRAM credential */
	bool refusal_logged;     /* one log line per session, not a flood */
	struct credential who;   /* AUTH_CHALLENGED, AUTH_DONE */
	struct scram_exchange x; /* AUTH_CHALLENGED */
	bool closing;
	unsigned refs; /* the connection + pending work */
	struct session *prev, *next;
	/* Frames left for the next turn (turn_budget.h), reading paused;
	 * the backlog holds a reference. */
	bool backlogged;
	struct session *bl_prev, *bl_next;
	/* Answers encoded in this turn of the loop, not yet written; the
	 * list of such sessions holds a reference. */
	bool unflushed;
	struct session *flush_next;
};

struct clients {
	uv_loop_t *loop;
	struct clients_options opt;
	uv_tcp_t listener;
	uv_timer_t sweep; /* auth and idle timeouts, once a second */
	uint64_t refused;
	struct log_throttle refusal_log;
	struct service *svc;
	uint8_t fake_key[SCRAM_KEY_LEN]; /* salts of unknown names */
	struct session *sessions;
	unsigned n_sessions;
	/* Client work per turn of the loop (turn_budget.h): what is over
	 * waits in the backlog, or in the accept queue, for `resume`. */
	struct turn_budget turn;
	uv_prepare_t turn_end;    /* before every poll */
	uv_check_t after_io;      /* after the poll's callbacks */
	uv_idle_t resume;         /* active while work waits */
	struct session *to_flush; /* sessions with unflushed answers */
	struct session *bl_head, *bl_tail;
	bool accept_waiting;
	uint64_t deferred;
	unsigned handles_open; /* closing: of the five */
	unsigned closing;
	void (*on_closed)(void *arg);
	void *closed_arg;
};

static void session_close(struct session *s, const char *why);
static void session_reset(struct session *s, const char *why);
static void on_listener_closed(uv_handle_t *h);

/* ---- references ---------------------------------------------------------- */

static void session_ref(struct session *s)
{
	s->refs++;
}

static void session_free(struct session *s)
{
	frame_decoder_free(&s->dec);
	client_scratch_free(&s->scratch);
	wire_writer_free(&s->out);
	free(s);
}

static void session_unref(struct session *s)
{
	if (--s->refs == 0)
		session_free(s);
}

static bool session_is_open(struct session *s)
{
	return !s->closing;
}

/* ---- output -------------------------------------------------------------- */

/* A session keeps up to this much encoding buffer between answers. */
#define KEEP_OUTPUT (64 * 1024)

/* What the stream holds for the kernel (an answer goes to the stream as
 * soon as it is encoded). */
static size_t pending_output(const struct session *s)
{
	return stream_queued(s->stream) + s->out.len;
}

/* The total is summed only when a session holds much: rare, and then
 * worth a walk over the sessions. */
static bool over_total(struct session *s)
{
	struct clients *c = s->owner;
	size_t total = 0;

	if (pending_output(s) < OUTPUT_BLAME_MIN)
		return false;
	for (struct session *x = c->sessions; x; x = x->next)
		total += pending_output(x);
	return total > c->opt.max_output_total;
}

/* Writes what s encoded in this turn: to the kernel at once when it
 * takes it (no copy, no callback), else queued in the stream. */
static void flush_session(struct session *s)
{
	s->unflushed = false;
	if (s->closing || !s->out.len)
		return;
	int rv = stream_write(s->stream, s->out.buf, s->out.len);
	wire_writer_drop_front(&s->out, s->out.len, KEEP_OUTPUT);
	if (rv) {
		session_close(s, uv_strerror(rv));
		return;
	}
	if (pending_output(s) > s->owner->opt.max_output) {
		session_reset(s, "client is not reading its answers");
		return;
	}
	if (over_total(s)) {
		session_reset(s, "the witness holds too much unsent output and "
				 "this client is among the slowest readers");
	}
}

/* Every answer of the turn, one write per session: after a leader change
 * a reconnecting client's reads are answered together (one ReadIndex
 * round), and a write each was most of the witness's work then. */
static void flush_all(struct clients *c)
{
	while (c->to_flush) {
		struct session *s = c->to_flush;
		c->to_flush = s->flush_next;
		s->flush_next = NULL;
		flush_session(s);
		session_unref(s);
	}
}

/* The answer just encoded waits for the end of the turn (flush_all). */
static void queued(struct session *s)
{
	if (s->out.failed) {
		session_close(s, "out of memory for its answers");
		return;
	}
	if (pending_output(s) > s->owner->opt.max_output) {
		session_reset(s, "client is not reading its answers");
		return;
	}
	if (s->unflushed)
		return;
	s->unflushed = true;
	session_ref(s);
	s->flush_next = s->owner->to_flush;
	s->owner->to_flush = s;
}

static void session_respond(struct session *s, const struct client_response *r)
{
	if (s->closing)
		return;
	client_encode_response(&s->out, r);
	queued(s);
}

static void session_event(struct session *s, const struct client_event *e,
			  bool lease_kind)
{
	if (s->closing)
		return;
	client_encode_event(&s->out, e, lease_kind);
	queued(s);
}

static const struct service_session_ops ops = {
	.respond = session_respond,
	.event = session_event,
	.ref = session_ref,
	.unref = session_unref,
	.is_open = session_is_open,
};

const struct service_session_ops *clients_session_ops(void)
{
	return &ops;
}

/* ---- input ----------------------------------------------------------------- */

static void reply_error(struct session *s, uint64_t id, uint32_t op, int status,
			const char *msg)
{
	struct client_response r;
	memset(&r, 0, sizeof(r));
	r.id = id;
	r.op = op;
	r.status = (uint8_t)status;
	r.message.p = msg;
	r.message.len = strlen(msg);
	session_respond(s, &r);
}

/* ---- authentication ------------------------------------------------------ */

static void refuse_auth(struct session *s, const struct client_request *q,
			const char *msg, const char *why)
{
	reply_error(s, q->id, q->op, CLIENT_EUNAUTHORIZED, msg);
	session_close(s, why);
}

/* Without credentials, or to a session its certificate authenticated,
 * there is nothing to prove: an empty challenge. */
static void answer_open_hello(struct session *s, const struct client_request *q)
{
	struct client_response r = { .id = q->id, .op = q->op };
	session_respond(s, &r);
}

static void answer_hello(struct session *s, const struct client_request *q)
{
	struct clients *c = s->owner;
	/* A certificate-only credential is as unknown as a missing one:
	 * its name proves nothing without the certificate. */
	const struct credential *cred = credentials_find_scram(c->opt.creds,
							       q->user.p,
							       q->user.len);

	if (q->nonce.len != SCRAM_NONCE_LEN || q->user.len == 0) {
		refuse_auth(s, q,
			    "authentication required: name a credential "
			    "(--user) and send a nonce",
			    "hello without a user or nonce");
		return;
	}
	memset(&s->x, 0, sizeof(s->x));
	s->known = cred != NULL;
	if (cred) {
		s->who = *cred;
	} else {
		memset(&s->who, 0, sizeof(s->who));
		snprintf(s->who.name, sizeof(s->who.name), "%.*s",
			 (int)q->user.len, q->user.p);
		scram_fake_salt(c->fake_key, q->user.p, q->user.len,
				s->who.verifier.salt);
		s->who.verifier.iterations = SCRAM_ITERATIONS_DEFAULT;
	}
	s->x.user = s->who.name;
	s->x.user_len = strlen(s->who.name);
	memcpy(s->x.client_nonce, q->nonce.p, SCRAM_NONCE_LEN);
	memcpy(s->x.salt, s->who.verifier.salt, SCRAM_SALT_LEN);
	s->x.iterations = s->who.verifier.iterations;
	if (scram_random(s->x.server_nonce, SCRAM_NONCE_LEN)) {
		refuse_auth(s, q, "no random numbers for a nonce",
			    "CSPRNG failed");
		return;
	}
	struct client_response r = { .id = q->id, .op = q->op };
	r.auth.nonce.p = (const char *)s->x.server_nonce;
	r.auth.nonce.len = SCRAM_NONCE_LEN;
	r.auth.salt.p = (const char *)s->x.salt;
	r.auth.salt.len = SCRAM_SALT_LEN;
	r.auth.iterations = s->x.iterations;
	s->auth = AUTH_CHALLENGED;
	session_respond(s, &r);
}

/* The credential may have been revoked between HELLO and the proof. */
static bool still_valid(struct session *s)
{
	const struct credential *now = credentials_find(s->owner->opt.creds,
							s->who.name,
							strlen(s->who.name));
	return now && credential_same(now, &s->who);
}

static void answer_proof(struct session *s, const struct client_request *q)
{
	uint8_t sig[SCRAM_KEY_LEN];
	char role[CLIENT_NAME_MAX + 16];

	if (!s->known || !still_valid(s) || q->proof.len != SCRAM_KEY_LEN ||
	    !scram_server_check(&s->who.verifier, &s->x,
				(const uint8_t *)q->proof.p, sig)) {
		char why[CLIENT_NAME_MAX + 128];
		snprintf(why, sizeof(why), "authentication failed for \"%s\"%s",
			 s->who.name,
			 s->known ? ""
				  : " (no such credential, or one for "
				    "certificates only)");
		refuse_auth(s, q, "authentication failed: wrong name or secret",
			    why);
		return;
	}
	s->auth = AUTH_DONE;
	credential_role_text(&s->who, role, sizeof(role));
	log_event(LOG_INFO, "client_authenticated", "peer=%s name=%s role=%s",
		  s->peer, s->who.name, role);
	struct client_response r = { .id = q->id, .op = q->op };
	r.auth.signature.p = (const char *)sig;
	r.auth.signature.len = sizeof(sig);
	r.auth.role.p = role;
	r.auth.role.len = strlen(role);
	session_respond(s, &r);
}

/* HELLO and AUTH_PROOF, and what comes before authentication.  True when
 * the request is for the service. */
static bool authenticate(struct session *s, const struct client_request *q)
{
	bool open = s->owner->opt.creds == NULL;

	if (q->op == CLIENT_OP_HELLO && (open || s->by_cert)) {
		answer_open_hello(s, q);
	} else if (q->op == CLIENT_OP_HELLO && s->auth == AUTH_NONE) {
		answer_hello(s, q);
	} else if (q->op == CLIENT_OP_AUTH_PROOF &&
		   s->auth == AUTH_CHALLENGED) {
		answer_proof(s, q);
	} else if (q->op == CLIENT_OP_HELLO || q->op == CLIENT_OP_AUTH_PROOF) {
		if (s->auth == AUTH_DONE || open)
			reply_error(s, q->id, q->op, CLIENT_EINVAL,
				    "already authenticated");
		else
			refuse_auth(s, q, "authentication out of order",
				    "authentication out of order");
	} else if (open || s->auth == AUTH_DONE) {
		return true;
	} else {
		refuse_auth(s, q,
			    "authentication required: this witness has "
			    "credentials (pass --user and --secret-file)",
			    "unauthenticated request");
	}
	return false;
}

/* The role's verdict; a refusal is answered and the session goes on. */
static bool authorized(struct session *s, const struct client_request *q)
{
	if (!s->owner->opt.creds)
		return true;
	const char *why = auth_policy_check(&s->who, q);
	if (!why)
		return true;
	if (!s->refusal_logged) {
		s->refusal_logged = true;
		log_event(LOG_WARN, "client_refused",
			  "peer=%s name=%s op=%s reason=\"%s\" (logged once "
			  "per session)",
			  s->peer, s->who.name, client_op_name(q->op), why);
	}
	reply_error(s, q->id, q->op, CLIENT_EUNAUTHORIZED, why);
	return false;
}

static void handle_frame(struct session *s, const struct frame *f)
{
	struct client_request q;
	if (client_decode_request(f, &q, &s->scratch)) {
		char msg[192];
		snprintf(msg, sizeof(msg), "invalid request: %s",
			 s->scratch.error);
		reply_error(s, f->request_id, f->type, CLIENT_EINVAL, msg);
		if (s->owner->opt.creds && s->auth != AUTH_DONE)
			session_close(s, "invalid request before "
					 "authentication");
		return;
	}
	bool was_done = s->auth == AUTH_DONE;
	if (!authenticate(s, &q) || !authorized(s, &q))
		goto raise_limit;
	service_handle(s->owner->svc, s, &q);
raise_limit:
	/* Authenticated now: full-size frames from here on. */
	if (!was_done && s->auth == AUTH_DONE)
		s->dec.limit = s->owner->opt.frame_limit;
}

static void on_alloc(struct stream *st, size_t hint, uv_buf_t *buf)
{
	struct session *s = stream_data(st);
	size_t n = hint;
	void *p = frame_decoder_space(&s->dec, &n);
	*buf = uv_buf_init(p, p ? (unsigned)n : 0);
}

/* ---- the turn's budget (turn_budget.h) ------------------------------------ */

static bool turn_spent(struct clients *c)
{
	return turn_budget_spent(&c->turn, uv_hrtime());
}

static void on_resume(uv_idle_t *h);

static void want_resume(struct clients *c)
{
	if (!uv_is_active((uv_handle_t *)&c->resume))
		uv_idle_start(&c->resume, on_resume);
}

/* The rest of s's frames wait for the next turn; so does what the
 * client sends meanwhile (in the kernel, which pushes back on it). */
static void backlog_push(struct session *s)
{
	struct clients *c = s->owner;

	s->backlogged = true;
	session_ref(s);
	stream_pause(s->stream);
	s->bl_next = NULL;
	s->bl_prev = c->bl_tail;
	if (c->bl_tail)
		c->bl_tail->bl_next = s;
	else
		c->bl_head = s;
	c->bl_tail = s;
	c->deferred++;
	want_resume(c);
}

/* Takes s off the backlog; the caller owns the backlog's reference. */
static void backlog_remove(struct session *s)
{
	struct clients *c = s->owner;

	if (s->bl_prev)
		s->bl_prev->bl_next = s->bl_next;
	else
		c->bl_head = s->bl_next;
	if (s->bl_next)
		s->bl_next->bl_prev = s->bl_prev;
	else
		c->bl_tail = s->bl_prev;
	s->bl_prev = s->bl_next = NULL;
	s->backlogged = false;
}

/* Handles the frames the decoder holds, within the turn's budget. */
static void drain(struct session *s)
{
	struct frame f;
	int rv = FRAME_NEED_MORE;

	session_ref(s); /* handle_frame may close it */
	while (!s->closing) {
		if (frame_decoder_held(&s->dec) && turn_spent(s->owner)) {
			backlog_push(s);
			break;
		}
		rv = frame_decoder_next(&s->dec, &f);
		if (rv != FRAME_READY)
			break;
		handle_frame(s, &f);
	}
	if (!s->closing && rv == FRAME_ERROR)
		session_close(s, frame_decoder_error(&s->dec));
	session_unref(s);
}

static void on_read(struct stream *st, char *data, size_t n)
{
	struct session *s = stream_data(st);
	(void)data; /* in the decoder's space, from on_alloc */
	frame_decoder_commit(&s->dec, n);
	s->last_rx_ms = uv_now(s->owner->loop);
	drain(s);
}

/* A certificate (verified against tls_ca_file by the handshake) naming a
 * `cert` credential authenticates its session at once, as that
 * credential; any other certificate leaves SCRAM to do it. */
static void authenticate_by_cert(struct session *s,
				 const struct tls_peer_names *peer)
{
	char role[CLIENT_NAME_MAX + 16], q[2 * TLS_NAME_MAX + 3];
	const struct credential *cred =
		credentials_match_cert(s->owner->opt.creds, peer);

	if (!cred) {
		/* the CA signed it, but its names may hold anything */
		log_event(LOG_INFO, "client_certificate_unmatched",
			  "peer=%s name=%s reason=\"no cert credential of "
			  "the certificate's names: SCRAM may still "
			  "authenticate\"",
			  s->peer, log_quote(peer->name[0], q, sizeof(q)));
		return;
	}
	s->who = *cred;
	s->auth = AUTH_DONE;
	s->by_cert = true;
	s->dec.limit = s->owner->opt.frame_limit;
	credential_role_text(&s->who, role, sizeof(role));
	log_event(LOG_INFO, "client_authenticated",
		  "peer=%s name=%s role=%s by=certificate", s->peer,
		  s->who.name, role);
}

static void on_ready(struct stream *st, const struct tls_peer_names *peer)
{
	struct session *s = stream_data(st);
	s->handshaking = false;
	if (s->owner->opt.creds && peer && peer->count > 0)
		authenticate_by_cert(s, peer);
}

static void on_end(struct stream *st, int status, const char *why)
{
	session_close(stream_data(st), status == UV_EOF ? NULL : why);
}

static const struct stream_callbacks session_callbacks = {
	.alloc = on_alloc,
	.read = on_read,
	.ready = on_ready,
	.end = on_end,
};

/* ---- lifecycle --------------------------------------------------------------- */

static void on_session_closed(void *arg)
{
	struct session *s = arg;
	struct clients *c = s->owner;
	if (s->prev)
		s->prev->next = s->next;
	else
		c->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	c->n_sessions--;
	session_unref(s);
	/* The listener goes last, so the owner outlives every session. */
	if (c->closing && c->n_sessions == 0)
		uv_close((uv_handle_t *)&c->listener, on_listener_closed);
}

static void session_end(struct session *s, const char *why, bool reset)
{
	if (s->closing)
		return;
	if (!reset && s->unflushed)
		flush_session(s); /* its last answers, e.g. why it is closed */
	if (s->closing)
		return; /* the flush failed and closed it */
	s->closing = true;
	if (s->backlogged) {
		backlog_remove(s);
		session_unref(s); /* the backlog's; the connection's is kept */
	}
	if (why)
		log_event(LOG_INFO, "client_closed", "peer=%s reason=\"%s\"",
			  s->peer, why);
	if (s->owner->svc)
		service_session_closed(s->owner->svc, s);
	if (reset)
		stream_reset(s->stream, on_session_closed, s);
	else
		stream_close(s->stream, false, on_session_closed, s);
}

static void session_close(struct session *s, const char *why)
{
	session_end(s, why, false);
}

/* For a client that does not read: a plain close would leave the unsent
 * answers in the kernel's buffers until TCP gives up; a reset frees them
 * at once (the client was not going to read them). */
static void session_reset(struct session *s, const char *why)
{
	session_end(s, why, true);
}

static void describe_peer(struct session *s)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getpeername(stream_tcp(s->stream), (struct sockaddr *)&ss,
			       &len) == 0) {
		addr_format(&ss, s->peer, sizeof(s->peer));
		s->peer_addr = ss;
	} else
		snprintf(s->peer, sizeof(s->peer), "?");
}

/* Over the cap: accept and close at once, so the connection neither
 * waits in the backlog nor holds a descriptor. */
static void log_refusal(struct clients *c, const char *why)
{
	if (!log_throttle_due(&c->refusal_log, uv_now(c->loop),
			      REFUSAL_LOG_EVERY_MS, NULL))
		return;
	log_event(LOG_WARN, "client_refused_connection",
		  "sessions=%u max=%u refused_total=%llu reason=\"%s\" "
		  "(logged at most every %d s)",
		  c->n_sessions, c->opt.max_sessions,
		  (unsigned long long)c->refused, why,
		  REFUSAL_LOG_EVERY_MS / 1000);
}

static void refuse_connection(struct clients *c, uv_stream_t *server,
			      const char *why)
{
	stream_refuse(server);
	c->refused++;
	log_refusal(c, why);
}

/* No one address may take more than a quarter of the connections, nor
 * (with credentials) the connections still to authenticate more than
 * half: a flood from one host, or of strangers, leaves room for everyone
 * else. */
static const char *over_share(struct clients *c, const struct session *s)
{
	unsigned share = c->opt.max_sessions / 4, same = 0, unauth = 0;
	unsigned unauth_share = c->opt.max_sessions / 2;

	if (share < 8)
		share = 8;
	if (unauth_share < 2 * share)
		unauth_share = 2 * share;
	for (const struct session *x = c->sessions; x; x = x->next) {
		if (x->closing)
			continue;
		same += addr_same_host(&x->peer_addr, &s->peer_addr);
		unauth += x->auth != AUTH_DONE;
	}
	if (same > share)
		return "too many connections from one address";
	if (c->opt.creds && unauth > unauth_share)
		return "too many connections waiting to authenticate";
	return NULL;
}

/* Once a second: sessions that did not complete their TLS handshake or
 * authenticate in time, and idle ones (nothing in flight, no watch: refs
 * is the connection's alone). */
static void on_sweep(uv_timer_t *t)
{
	struct clients *c = t->data;
	uint64_t now = uv_now(c->loop);

	for (struct session *s = c->sessions, *next; s; s = next) {
		next = s->next;
		if (s->closing)
			continue;
		bool late = now - s->opened_ms >= c->opt.auth_timeout_ms;
		if (s->handshaking && late)
			session_close(s, "did not complete the TLS handshake "
					 "in time");
		else if (c->opt.creds && s->auth != AUTH_DONE && late)
			session_close(s, "did not authenticate in time");
		else if (s->refs == 1 && stream_queued(s->stream) == 0 &&
			 now - s->last_rx_ms >= c->opt.idle_timeout_ms)
			session_close(s, "idle");
	}
}

/* After a leader change every agent of a fleet dials the new leader
 * within milliseconds.  A connection the accept queue has no room for is
 * dropped by the kernel, and its client's TCP retries only after a second
 * or more: longer than an agent's lease leaves it.  So the queue may hold
 * as many as the witness serves, and never fewer than a burst a small cap
 * must still see in time to refuse (accepted and reset at once, not left
 * to TCP's retries); the kernel caps it at net.core.somaxconn
 * (docs/operations.md). */
#define LISTEN_BACKLOG_MIN 1024

static int listen_backlog(unsigned max_sessions)
{
	if (max_sessions < LISTEN_BACKLOG_MIN)
		return LISTEN_BACKLOG_MIN;
	return max_sessions < 65535 ? (int)max_sessions : 65535;
}

static void accept_one(struct clients *c)
{
	uv_stream_t *server = (uv_stream_t *)&c->listener;

	if (c->n_sessions >= c->opt.max_sessions) {
		refuse_connection(c, server, "too many client connections");
		return;
	}
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return;
	s->opened_ms = s->last_rx_ms = uv_now(c->loop);
	s->owner = c;
	s->refs = 1;
	s->handshaking = c->opt.tls != NULL;
	frame_decoder_init(&s->dec, c->opt.creds ? CLIENTS_PREAUTH_FRAME_LIMIT
						 : c->opt.frame_limit);
	wire_writer_init(&s->out);
	if (stream_accept(server, c->opt.tls, &session_callbacks, s,
			  &s->stream)) {
		session_free(s);
		return;
	}
	s->next = c->sessions;
	if (c->sessions)
		c->sessions->prev = s;
	c->sessions = s;
	c->n_sessions++;
	uv_tcp_nodelay(stream_tcp(s->stream), 1);
	describe_peer(s);
	const char *why = over_share(c, s);
	if (why) {
		c->refused++;
		log_refusal(c, why);
		session_close(s, NULL); /* logged above, rate-limited */
	}
}

/* Over the turn's budget, the connection stays in the accept queue (libuv
 * stops polling the listener until it is accepted) for the next turn. */
static void on_connection(uv_stream_t *server, int status)
{
	struct clients *c = server->data;
	if (status < 0 || c->closing)
		return;
	if (turn_spent(c)) {
		c->accept_waiting = true;
		c->deferred++;
		want_resume(c);
		return;
	}
	accept_one(c);
}

/* A new turn, after the timers: the waiting connection first (it has
 * waited longest), then the backlog in order, within the budget. */
static void on_resume(uv_idle_t *h)
{
	struct clients *c = h->data;

	turn_budget_end(&c->turn);
	if (c->accept_waiting) {
		c->accept_waiting = false;
		turn_spent(c);   /* starts the turn's clock */
		if (!c->closing) /* closing: the listener's close drops it */
			accept_one(c);
	}
	while (c->bl_head && !turn_spent(c)) {
		struct session *s = c->bl_head;
		backlog_remove(s);
		drain(s);
		if (!s->backlogged && !s->closing)
			stream_resume(s->stream);
		session_unref(s); /* the backlog's */
	}
	if (!c->bl_head && !c->accept_waiting)
		uv_idle_stop(h);
}

static void on_turn_end(uv_prepare_t *h)
{
	struct clients *c = h->data;
	flush_all(c); /* what the timers and idle callbacks answered */
	turn_budget_end(&c->turn);
}

static void on_after_io(uv_check_t *h)
{
	flush_all(h->data);
}

static void free_owner(uv_handle_t *h)
{
	free(h->data);
}

int clients_start(uv_loop_t *loop, const struct clients_options *o,
		  struct clients **out, char *err, size_t errlen)
{
	struct sockaddr_storage addr;
	if (transport_parse_addr(o->listen_addr, &addr)) {
		snprintf(err, errlen,
			 "invalid client address \"%s\": use "
			 "host:port, e.g. 127.0.0.1:7101",
			 o->listen_addr);
		return -EINVAL;
	}
	struct clients *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->opt = *o;
	if (scram_random(c->fake_key, sizeof(c->fake_key))) {
		free(c);
		snprintf(err, errlen, "no random numbers (CSPRNG failed)");
		return -EIO;
	}
	if (!c->opt.max_output)
		c->opt.max_output = MAX_OUTPUT_DEFAULT;
	if (!c->opt.max_output_total)
		c->opt.max_output_total = MAX_OUTPUT_TOTAL_DEFAULT;
	if (!c->opt.max_sessions)
		c->opt.max_sessions = MAX_SESSIONS_DEFAULT;
	if (!c->opt.auth_timeout_ms)
		c->opt.auth_timeout_ms = AUTH_TIMEOUT_DEFAULT_MS;
	if (!c->opt.idle_timeout_ms)
		c->opt.idle_timeout_ms = IDLE_TIMEOUT_DEFAULT_MS;
	uv_tcp_init(loop, &c->listener);
	c->listener.data = c;
	int rv = uv_tcp_bind(&c->listener, (struct sockaddr *)&addr, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&c->listener,
			       listen_backlog(c->opt.max_sessions),
			       on_connection);
	if (rv) {
		snprintf(err, errlen, "cannot listen for clients on %s: %s%s",
			 o->listen_addr, uv_strerror(rv),
			 rv == UV_EADDRINUSE ? " (another process uses that "
					       "port: stop it or pick another "
					       "--listen-client)"
					     : "");
		uv_close((uv_handle_t *)&c->listener, free_owner);
		return rv;
	}
	uv_timer_init(loop, &c->sweep);
	c->sweep.data = c;
	uv_timer_start(&c->sweep, on_sweep, 1000, 1000);
	turn_budget_init(&c->turn, TURN_BUDGET_DEFAULT_NS);
	uv_idle_init(loop, &c->resume);
	c->resume.data = c;
	uv_prepare_init(loop, &c->turn_end);
	c->turn_end.data = c;
	uv_prepare_start(&c->turn_end, on_turn_end);
	uv_unref((uv_handle_t *)&c->turn_end);
	uv_check_init(loop, &c->after_io);
	c->after_io.data = c;
	uv_check_start(&c->after_io, on_after_io);
	uv_unref((uv_handle_t *)&c->after_io);
	*out = c;
	return 0;
}

void clients_attach(struct clients *c, struct service *svc)
{
	c->svc = svc;
}

unsigned clients_count(const struct clients *c)
{
	return c->n_sessions;
}

uint64_t clients_deferred(const struct clients *c)
{
	return c->deferred;
}

void clients_set_credentials(struct clients *c, struct credentials *creds)
{
	credentials_free(c->opt.creds);
	c->opt.creds = creds;
	for (struct session *s = c->sessions; s; s = s->next) {
		if (s->auth == AUTH_NONE)
			continue;
		if (!creds) {
			/* Open now: every session may do everything. */
			continue;
		}
		if (s->auth == AUTH_DONE && !still_valid(s))
			session_close(s, "credential revoked or changed");
	}
}

static void on_handle_closed(uv_handle_t *h);

static void on_listener_closed(uv_handle_t *h)
{
	struct clients *c = h->data;
	/* The timer and the turn's handles go last of all. */
	flush_all(c); /* drops the references of closed sessions */
	c->handles_open = 4;
	uv_close((uv_handle_t *)&c->sweep, on_handle_closed);
	uv_close((uv_handle_t *)&c->resume, on_handle_closed);
	uv_close((uv_handle_t *)&c->turn_end, on_handle_closed);
	uv_close((uv_handle_t *)&c->after_io, on_handle_closed);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct clients *c = h->data;
	if (--c->handles_open)
		return;
	void (*cb)(void *) = c->on_closed;
	void *arg = c->closed_arg;
	credentials_free(c->opt.creds);
	free(c);
	if (cb)
		cb(arg);
}

void clients_close(struct clients *c, void (*on_closed)(void *arg), void *arg)
{
	c->on_closed = on_closed;
	c->closed_arg = arg;
	c->closing = 1;
	uv_read_stop((uv_stream_t *)&c->listener);
	for (struct session *s = c->sessions; s; s = s->next)
		session_close(s, "witness shutting down");
	if (c->n_sessions == 0)
		uv_close((uv_handle_t *)&c->listener, on_listener_closed);
}
