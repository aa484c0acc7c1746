/*
 * tclient_recv.c — what the client does with what comes back: answers to
 * requests, to watches and to HELLO, events, and the end of a connection
 * (see tclient.h for the rules it implements).
 *
 * Anything the codec refuses means the peer is broken or not a tenured:
 * the connection is dropped, which treats what was in flight on it the
 * same way as a lost connection.
 */
#include <stdio.h>
#include <string.h>

#include "proto/tclient_int.h"

/* The server did not execute the request and says so: safe to resend,
 * whatever the op. */
static bool retryable(int status)
{
	return status == CLIENT_ENOTLEADER || status == CLIENT_ENOQUORUM ||
	       status == CLIENT_EBUSY;
}

static struct treq *find_inflight(struct tclient *c, uint64_t id)
{
	for (struct tlist *e = c->inflight.next; e != &c->inflight; e = e->next)
		if (TLIST_ITEM(e, struct treq)->req.id == id)
			return TLIST_ITEM(e, struct treq);
	return NULL;
}

static struct tclient_watch *find_watch(struct tclient *c, uint64_t id,
					enum twatch_state state)
{
	for (struct tlist *e = c->watches.next; e != &c->watches; e = e->next) {
		struct tclient_watch *w = TLIST_ITEM(e, struct tclient_watch);
		if (w->state == state && w->id == id)
			return w;
	}
	return NULL;
}

/* ---- leader following --------------------------------------------------- */

static bool same_addr(struct client_str hint, const char *addr)
{
	return hint.len == strlen(addr) && !memcmp(hint.p, addr, hint.len);
}

/* A hint we just failed to reach is passed over like no hint at all:
 * every follower repeats it, and following it again from each of them
 * would keep the client off the endpoints it was given (behind a NAT or
 * a proxy, those are the addresses that work). */
static bool hint_usable(const struct tclient *c, const struct tconn *conn,
			struct client_str hint)
{
	if (same_addr(hint, c->shunned) && uv_now(c->loop) < c->shunned_until)
		return false;
	return hint.len && hint.len <= CLIENT_ADDR_MAX &&
	       !same_addr(hint, conn->addr);
}

/* Not followed as a hint for ms; not dialled as an endpoint either for
 * TCLIENT_LOST_SHUN_MS at most (tclient.h, "Connection"). */
static void shun(struct tclient *c, const char *addr, uint64_t now, uint64_t ms)
{
	snprintf(c->shunned, sizeof(c->shunned), "%s", addr);
	c->shunned_until = now + ms;
	c->skip_until = now +
			(ms < TCLIENT_LOST_SHUN_MS ? ms : TCLIENT_LOST_SHUN_MS);
}

void tclient_hint_failed(struct tclient *c, const char *addr, uint64_t now)
{
	/* c->cur is still the endpoint that gave the hint (or the one
	 * before a chain of hints): go on with the one after it. */
	c->cur = (c->cur + 1) % c->o.n_endpoints;
	shun(c, addr, now, TCLIENT_HINT_SHUN_MS);
	tclient_log(c, "info",
		    "leader hint %s could not be reached; back to "
		    "the configured endpoints (%s next), not following that "
		    "hint for %u ms",
		    addr, c->endpoints[c->cur], (unsigned)TCLIENT_HINT_SHUN_MS);
}

/* A server that names no leader (an election runs), or only the leader
 * just lost (which the followers go on naming until they elect another),
 * will name a usable one within an election timeout.  Moving on at once would make every
 * client bounce between the followers, each time with a whole handshake:
 * thousands of them after a leader change.  So it is asked again, after a
 * backoff, for up to connect_timeout_ms from its first such answer; one
 * that names none still may be cut off from the majority, and the next
 * endpoint is tried. */
static bool wait_for_a_leader(struct tclient *c, struct tconn *conn,
			      struct client_str hint)
{
	uint64_t now = uv_now(c->loop);

	/* It names a leader: worth waiting for only if that is the address
	 * of the connection just lost, passed over a moment more.  The
	 * followers name it because it died (then they soon name another)
	 * or because it came back and won (then it is followed when the
	 * moment is over); this follower is where to learn which.  A hint
	 * passed over because it could not be reached (a NAT, a proxy) will
	 * not change: the next endpoint at once. */
	if (hint.len) {
		conn->waiting = same_addr(hint, c->shunned) &&
				now < c->shunned_until &&
				c->shunned_until - now <= TCLIENT_LOST_SHUN_MS;
		return conn->waiting;
	}
	if (!conn->leaderless) {
		conn->leaderless = true;
		conn->leaderless_since = now;
	}
	conn->waiting = now - conn->leaderless_since < c->o.connect_timeout_ms;
	return conn->waiting;
}

/* Move the connection to the leader (or to the next endpoint) once the
 * requests already on this one are answered.  The first redirect of a
 * connection decides; later ones would only repeat it.  True when the
 * next attempt goes to another server. */
static bool follow(struct tclient *c, struct client_str hint)
{
	struct tconn *conn = c->conn;

	if (!conn)
		return false;
	if (conn->draining)
		return true;
	if (hint_usable(c, conn, hint)) {
		memcpy(c->redirect, hint.p, hint.len);
		c->redirect[hint.len] = '\0';
		tclient_log(c, "info",
			    "%s is not the leader; following it to "
			    "%s",
			    conn->addr, c->redirect);
	} else if (c->o.n_endpoints > 1 && !wait_for_a_leader(c, conn, hint)) {
		c->cur = (size_t)(conn->ep + 1) % c->o.n_endpoints;
		tclient_log(c, "info",
			    "%s is not the leader and names none "
			    "we can reach; trying %s",
			    conn->addr, c->endpoints[c->cur]);
	} else {
		return false; /* nowhere else to go: retry here after a backoff */
	}
	conn->draining = true;
	return true;
}

/* ---- answers -------------------------------------------------------------- */

static bool decode(struct tclient *c, const struct frame *f, uint32_t op,
		   struct client_response *resp)
{
	if (client_decode_response(f, op, resp, &c->scratch) == 0)
		return true;
	tconn_lost(c->conn, c->scratch.error, true);
	return false;
}

/* moved: the next attempt goes to another server than the one that
 * refused or lost this one (tclient.h, "Requests"): the first such retry
 * of a request goes at once, since the other server knows something this
 * one did not; every other retry backs off. */
static void retry_later(struct tclient *c, struct treq *r, bool moved)
{
	uint64_t now = uv_now(c->loop);

	r->attempts++;
	r->on_wire = false;
	if (moved && !r->raced) {
		r->raced = true;
		r->not_before = now;
	} else {
		r->not_before = now + tclient_backoff(c, r->attempts);
	}
	/* Asked again while the server waits for a leader: every fifth of
	 * the connect timeout, so that a fleet waiting at one follower
	 * through an election sends it a few requests each, not a flood; and
	 * no slower (no growing backoff), since its answer changes the moment
	 * it hears the new leader, and a client still backing off then would
	 * reach the leader long after the election. */
	if (!moved && c->conn && c->conn->waiting)
		r->not_before = now + c->o.connect_timeout_ms / 5;
	tlist_remove(&r->link);
	tlist_push(&c->pending, &r->link);
}

static void on_answer(struct tclient *c, struct treq *r, const struct frame *f)
{
	struct client_response resp;

	if (!decode(c, f, r->req.op, &resp))
		return;
	tclient_breaker_success(c);
	/* Only a leader serves a log write: one that answered it other
	 * than "not the leader" was the leader then. */
	if (c->o.ask_successor && c->conn && !c->conn->successor_id &&
	    !c->conn->draining && client_op_writes_log(r->req.op) &&
	    !retryable(resp.status))
		tconn_ask_successor(c->conn);
	if (c->conn && resp.status != CLIENT_ENOTLEADER)
		c->conn->waiting = false; /* it has a leader, or is one */
	if (retryable(resp.status)) {
		bool moved = resp.status == CLIENT_ENOTLEADER &&
			     follow(c, resp.leader_client);
		retry_later(c, r, moved);
		return;
	}
	tclient_finish(c, r, resp.status, &resp);
}

static void on_watch_answer(struct tclient *c, struct tclient_watch *w,
			    const struct frame *f)
{
	struct client_response resp;

	if (!decode(c, f, CLIENT_OP_WATCH, &resp))
		return;
	tclient_breaker_success(c);
	if (resp.status == CLIENT_OK) {
		enum tclient_watch_note note = w->was_ready
						       ? TCLIENT_WATCH_RESYNC
						       : TCLIENT_WATCH_READY;
		w->state = TWATCH_ACTIVE;
		w->attempts = 0;
		w->was_ready = true;
		w->cb(w->arg, note, CLIENT_OK, NULL);
	} else if (retryable(resp.status)) {
		if (resp.status == CLIENT_ENOTLEADER)
			follow(c, resp.leader_client);
		w->state = TWATCH_IDLE;
		w->attempts++;
		w->not_before = uv_now(c->loop) +
				tclient_backoff(c, w->attempts);
	} else {
		w->state = TWATCH_ENDED;
		w->cb(w->arg, TCLIENT_WATCH_ENDED, resp.status, NULL);
	}
}

/* A refused secret will be refused again: fail what waits for it rather
 * than retry until the deadlines. */
static void auth_failed(struct tclient *c, int status, const char *why,
			int why_len)
{
	struct tconn *conn = c->conn;

	tclient_log(c, "warn", "%s: authentication as \"%s\" failed: %s (%.*s)",
		    conn->addr, c->user, client_status_name(status), why_len,
		    why);
	tconn_lost(conn, "authentication failed", true);
	tclient_fail_waiting(c, status);
	if (!c->closing)
		tclient_end_watches(c, status);
}

/* The challenge (HELLO's answer) or the signature (AUTH_PROOF's). */
static void on_auth_answer(struct tclient *c, const struct frame *f)
{
	struct tconn *conn = c->conn;
	bool hello = conn->state == TCONN_HELLO;
	struct client_response resp;

	if (!decode(c, f, hello ? CLIENT_OP_HELLO : CLIENT_OP_AUTH_PROOF,
		    &resp))
		return;
	if (retryable(resp.status)) {
		tconn_lost(conn, "authentication answered by a busy server",
			   true);
	} else if (resp.status != CLIENT_OK) {
		auth_failed(c, resp.status, resp.message.p,
			    (int)resp.message.len);
	} else if (hello && resp.auth.nonce.len == 0 &&
		   tls_context_has_cert(c->o.tls)) {
		/* TLS with our certificate: a witness that verified it has
		 * authenticated us by it (and the handshake verified the
		 * witness). */
		conn->state = TCONN_READY;
		tclient_breaker_success(c);
	} else if (hello && resp.auth.nonce.len == 0) {
		/* A witness with credentials always challenges: one that
		 * does not is misconfigured or not the witness we trust. */
		auth_failed(c, CLIENT_EUNAUTHORIZED,
			    "the server asked for no proof (it has no "
			    "credentials_file) while this client has a secret",
			    -1);
	} else if (hello) {
		tconn_progress(conn);
		if (!tconn_send_proof(conn, &resp.auth))
			auth_failed(c, CLIENT_EUNAUTHORIZED,
				    "unusable challenge", -1);
	} else if (!scram_client_check(conn->expected_signature,
				       (const uint8_t *)resp.auth.signature.p,
				       resp.auth.signature.len)) {
		auth_failed(c, CLIENT_EUNAUTHORIZED,
			    "the server's signature is wrong: it does not "
			    "hold this credential",
			    -1);
	} else {
		conn->state = TCONN_READY;
		tclient_breaker_success(c);
	}
}

/* What the leader named (tclient.h, ask_successor); anything but an
 * address other than its own (an older witness's "unknown op", a
 * follower since) forgets the last one. */
static void on_successor_answer(struct tclient *c, const struct frame *f)
{
	struct tconn *conn = c->conn;
	struct client_response resp;

	if (!decode(c, f, CLIENT_OP_SUCCESSOR, &resp))
		return;
	struct client_str next = resp.successor_body.client_addr;
	c->successor[0] = c->successor_of[0] = '\0';
	if (resp.status != CLIENT_OK || !next.len ||
	    next.len > CLIENT_ADDR_MAX || same_addr(next, conn->addr))
		return;
	memcpy(c->successor, next.p, next.len);
	c->successor[next.len] = '\0';
	snprintf(c->successor_of, sizeof(c->successor_of), "%s", conn->addr);
}

static void on_event(struct tclient *c, const struct frame *f)
{
	struct tclient_watch *w = find_watch(c, f->request_id, TWATCH_ACTIVE);
	struct client_event e;

	if (!w)
		return; /* cancelled, or from before a re-watch */
	if (client_decode_event(f, w->kind == TCLIENT_WATCH_LEASES, &e,
				&c->scratch)) {
		tconn_lost(c->conn, c->scratch.error, true);
		return;
	}
	w->cb(w->arg, TCLIENT_WATCH_EVENT, CLIENT_OK, &e);
}

void tclient_on_frame(struct tclient *c, const struct frame *f)
{
	struct tconn *conn = c->conn;
	struct tclient_watch *w;
	struct treq *r;

	if (conn->state == TCONN_HELLO || conn->state == TCONN_PROOF) {
		if (f->type == CLIENT_RESPONSE &&
		    f->request_id == conn->hello_id)
			on_auth_answer(c, f);
		else
			tconn_lost(conn, "answered before authentication",
				   true);
	} else if (f->type == CLIENT_EVENT) {
		on_event(c, f);
	} else if (f->type != CLIENT_RESPONSE) {
		tconn_lost(conn, "unexpected frame type from the server", true);
	} else if (conn->successor_id && f->request_id == conn->successor_id) {
		on_successor_answer(c, f);
	} else if ((r = find_inflight(c, f->request_id))) {
		on_answer(c, r, f);
	} else if ((w = find_watch(c, f->request_id, TWATCH_ASKED))) {
		on_watch_answer(c, w, f);
	}
	/* Anything else answers what we gave up on (an expired request, a
	 * cancel): nobody is waiting for it. */
}

/* ---- the end of a connection --------------------------------------------- */

/* Idempotent requests go back in line; the others may have been executed,
 * and only the caller can find out (CLIENT_EUNKNOWN). */
static void requeue_inflight(struct tclient *c)
{
	while (!c->closing && !tlist_empty(&c->inflight)) {
		struct treq *r = TLIST_ITEM(c->inflight.next, struct treq);
		if (client_op_idempotent(r->req.op)) {
			r->lost++; /* it may have run: resent anyway */
			retry_later(c, r, true);
		} else {
			tclient_finish(c, r, CLIENT_EUNKNOWN, NULL);
		}
	}
}

static void reset_watches(struct tclient *c)
{
	uint64_t now = uv_now(c->loop);

	for (struct tlist *e = c->watches.next; e != &c->watches; e = e->next) {
		struct tclient_watch *w = TLIST_ITEM(e, struct tclient_watch);
		if (w->state == TWATCH_ASKED || w->state == TWATCH_ACTIVE) {
			w->state = TWATCH_IDLE;
			w->not_before = now;
		}
	}
}

/* After losing a server that served us, the next endpoint is drawn among
 * the others (one that could not be reached goes on in list order):
 * when a leader dies, which follower wins the election is not known yet,
 * and a fleet that all took the next endpoint in list order would wait
 * at one follower, and all have to move again (a handshake each) when the
 * other one wins.  Spread, half of it is where the leader will be. */
static void pick_another_endpoint(struct tclient *c, const char *lost)
{
	size_t n = 0, pick;

	for (size_t i = 0; i < c->o.n_endpoints; i++)
		n += strcmp(c->endpoints[i], lost) != 0;
	if (n == 0)
		return;
	pick = (size_t)(tclient_random(c) % n);
	for (size_t i = 0; i < c->o.n_endpoints; i++)
		if (strcmp(c->endpoints[i], lost) != 0 && pick-- == 0) {
			c->cur = i;
			return;
		}
}

/* The leader at lost named the witness that campaigns first when it
 * dies: that endpoint is dialled next.  Only an endpoint: the address is
 * the witness's own, and a client given other addresses (a proxy, a NAT)
 * may not be meant to reach it directly.  Used once. */
static void go_to_successor(struct tclient *c, const char *lost)
{
	if (!c->successor[0] || strcmp(c->successor_of, lost) != 0)
		return;
	for (size_t i = 0; i < c->o.n_endpoints; i++)
		if (strcmp(c->endpoints[i], c->successor) == 0) {
			c->cur = i;
			tclient_log(c, "info",
				    "lost the leader %s; dialling %s first, "
				    "the witness it named to campaign first",
				    lost, c->successor);
			break;
		}
	c->successor[0] = c->successor_of[0] = '\0';
}

void tclient_on_conn_gone(struct tclient *c, const struct tconn *conn,
			  bool failure)
{
	uint64_t now = uv_now(c->loop);

	reset_watches(c);
	if (failure) {
		if (conn->ep >= 0) {
			/* Followers go on naming a leader that died until
			 * they elect another one: following them back there
			 * is a wasted connect (a whole connect timeout when
			 * its host is gone). */
			c->cur = (size_t)(conn->ep + 1) % c->o.n_endpoints;
			shun(c, conn->addr, now, TCLIENT_LOST_SHUN_MS);
		} else {
			tclient_hint_failed(c, conn->addr, now);
		}
		if (conn->state == TCONN_READY) {
			pick_another_endpoint(c, conn->addr);
			go_to_successor(c, conn->addr);
		}
		c->conn_failures++;
		c->reconnect_at = tclient_reconnect_at(c, now);
		tclient_breaker_failure(c);
	} else {
		c->reconnect_at = now;
	}
	requeue_inflight(c);
	tclient_kick(c);
}
