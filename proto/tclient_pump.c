/*
 * tclient_pump.c — the one place that decides what the client does next:
 * expire deadlines, fail what the breaker refuses, connect, move to the
 * leader, send, and arm the timer for the next thing that is due.
 *
 * It runs only from the timer callback (tclient_int.h), and it searches
 * its lists afresh after every user callback, because a callback may
 * queue, cancel or close anything.
 */
#include <string.h>

#include "proto/tclient_int.h"

/* ---- deadlines ------------------------------------------------------------ */

static struct treq *first_expired(struct tlist *l, uint64_t now)
{
	for (struct tlist *e = l->next; e != l; e = e->next)
		if (TLIST_ITEM(e, struct treq)->deadline <= now)
			return TLIST_ITEM(e, struct treq);
	return NULL;
}

/* An expired in-flight request is a failure of the cluster; one still
 * waiting to be sent is not (what kept it waiting — failed connects, an
 * open breaker, retried refusals — was counted already, or is no
 * failure). */
static void expire(struct tclient *c, uint64_t now)
{
	bool silent = false;
	struct treq *r;

	while (!c->closing && (r = first_expired(&c->inflight, now))) {
		if (c->conn && c->conn->rx_frames == r->rx_mark &&
		    tconn_silent(c->conn, now))
			silent = true;
		tclient_breaker_failure(c);
		tclient_finish(c, r, CLIENT_ETIMEOUT, NULL);
	}
	while (!c->closing && (r = first_expired(&c->pending, now)))
		tclient_finish(c, r, CLIENT_ETIMEOUT, NULL);
	/* Nothing at all came back for the silence limit while answers
	 * were owed: the server is frozen or the path is dead, and TCP
	 * would not tell us for minutes.  One late answer is not that: a
	 * server slowed by a reconnect storm keeps this connection (a new
	 * one would cost it a handshake more). */
	if (!c->closing && silent && c->conn)
		tconn_lost(c->conn,
			   "no answer from the server before a "
			   "request's deadline",
			   true);
}

/* ---- breaker refusals --------------------------------------------------- */

static struct treq *first_refused(struct tclient *c)
{
	struct tlist *l = &c->pending;

	for (struct tlist *e = l->next; e != l; e = e->next) {
		struct treq *r = TLIST_ITEM(e, struct treq);
		if (r->verdict || c->breaker == TBREAKER_OPEN)
			return r;
	}
	return NULL;
}

static void fail_refused(struct tclient *c)
{
	struct treq *r;

	while (!c->closing && (r = first_refused(c)))
		tclient_finish(c, r, r->verdict ? r->verdict : CLIENT_ECIRCUIT,
			       NULL);
}

/* ---- the connection ----------------------------------------------------- */

static bool has_work(const struct tclient *c)
{
	if (!tlist_empty(&c->pending))
		return true;
	for (struct tlist *e = c->watches.next; e != &c->watches; e = e->next)
		if (TLIST_ITEM(e, struct tclient_watch)->state == TWATCH_IDLE)
			return true;
	return false;
}

/* An endpoint at the address just lost or refused is passed over for a
 * while (tclient.h): another one answers sooner. */
static void skip_shunned_endpoint(struct tclient *c, uint64_t now)
{
	if (c->o.n_endpoints > 1 && now < c->skip_until &&
	    !strcmp(c->endpoints[c->cur], c->shunned))
		c->cur = (c->cur + 1) % c->o.n_endpoints;
}

static void dial(struct tclient *c, uint64_t now)
{
	bool hinted = c->redirect[0] != '\0';

	if (!hinted)
		skip_shunned_endpoint(c, now);
	const char *addr = hinted ? c->redirect : c->endpoints[c->cur];
	int rv = tconn_start(c, addr, hinted ? -1 : (long)c->cur);

	if (!rv) {
		if (hinted)
			c->redirect[0] = '\0'; /* one try; then the endpoints */
		return;
	}
	tclient_log(c, "warn", "cannot connect to %s: %s", addr,
		    uv_strerror(rv));
	if (hinted) {
		tclient_hint_failed(c, c->redirect, now);
		c->redirect[0] = '\0';
	} else {
		c->cur = (c->cur + 1) % c->o.n_endpoints;
	}
	c->conn_failures++;
	c->reconnect_at = tclient_reconnect_at(c, now);
	tclient_breaker_failure(c);
}

/* The current step of the handshake is overdue, and no answer to it
 * waits unread (then it is read first: a millisecond more). */
static bool handshake_late(struct tconn *conn, uint64_t now)
{
	if (conn->state == TCONN_READY || now < conn->ready_deadline)
		return false;
	if (conn->state != TCONN_CONNECTING && tconn_has_unread(conn)) {
		conn->ready_deadline = now + 1;
		return false;
	}
	return true;
}

static void conn_step(struct tclient *c, uint64_t now)
{
	struct tconn *conn = c->conn;

	if (conn && handshake_late(conn, now))
		tconn_lost(conn, "not ready before the connect timeout", true);
	else if (conn && conn->draining && tlist_empty(&c->inflight))
		tconn_lost(conn, "drained, moving on", false);
	if (!c->closing && !c->conn && c->breaker != TBREAKER_OPEN &&
	    now >= c->reconnect_at && has_work(c))
		dial(c, now);
}

/* ---- sending ------------------------------------------------------------- */

static bool can_send(const struct tclient *c)
{
	return c->conn && c->conn->state == TCONN_READY && !c->conn->draining;
}

static void send_requests(struct tclient *c, uint64_t now)
{
	struct tlist *e = c->pending.next, *next;

	for (; e != &c->pending && can_send(c); e = next) {
		struct treq *r = TLIST_ITEM(e, struct treq);
		next = e->next;
		if (r->not_before > now)
			continue;
		/* A fresh id per attempt: ids are unique per connection. */
		r->req.id = tclient_new_id(c);
		if (!client_encode_request(&c->conn->out, &r->req)) {
			tconn_lost(c->conn, "out of memory", true);
			return;
		}
		r->rx_mark = c->conn->rx_frames;
		if (!c->conn->awaiting_since)
			c->conn->awaiting_since = now;
		r->on_wire = true;
		tlist_remove(e);
		tlist_push(&c->inflight, e);
	}
}

static void send_watches(struct tclient *c, uint64_t now)
{
	struct tlist *e = c->watches.next;

	for (; e != &c->watches && can_send(c); e = e->next) {
		struct tclient_watch *w = TLIST_ITEM(e, struct tclient_watch);
		struct client_request q = {
			.op = CLIENT_OP_WATCH,
			.watch_kind = (uint8_t)w->kind,
			.prefix = { w->prefix, w->prefix_len },
		};
		if (w->state != TWATCH_IDLE || w->not_before > now)
			continue;
		q.id = w->id = tclient_new_id(c);
		if (!client_encode_request(&c->conn->out, &q)) {
			tconn_lost(c->conn, "out of memory", true);
			return;
		}
		w->state = TWATCH_ASKED;
	}
}

/* ---- the timer ------------------------------------------------------------- */

static void earliest(uint64_t *wake, uint64_t t)
{
	if (t < *wake)
		*wake = t;
}

/* What is due next among the things only time can trigger. */
static uint64_t next_wake(const struct tclient *c)
{
	uint64_t wake = UINT64_MAX;
	bool ready = can_send(c);

	for (struct tlist *e = c->pending.next; e != &c->pending; e = e->next) {
		const struct treq *r = TLIST_ITEM(e, struct treq);
		earliest(&wake, r->deadline);
		if (ready)
			earliest(&wake, r->not_before);
	}
	for (struct tlist *e = c->inflight.next; e != &c->inflight; e = e->next)
		earliest(&wake, TLIST_ITEM(e, struct treq)->deadline);
	for (struct tlist *e = c->watches.next; e != &c->watches; e = e->next) {
		const struct tclient_watch *w =
			TLIST_ITEM(e, struct tclient_watch);
		if (ready && w->state == TWATCH_IDLE)
			earliest(&wake, w->not_before);
	}
	if (c->conn && c->conn->state != TCONN_READY)
		earliest(&wake, c->conn->ready_deadline);
	if (!c->conn && has_work(c))
		earliest(&wake, c->breaker == TBREAKER_OPEN ? c->open_until
							    : c->reconnect_at);
	return wake;
}

static void arm(struct tclient *c, uint64_t now)
{
	uint64_t wake = next_wake(c);

	if (wake == UINT64_MAX)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, tclient_on_timer,
			       wake > now ? wake - now : 0, 0);
}

static void pump(struct tclient *c)
{
	uint64_t now = uv_now(c->loop);

	expire(c, now);
	if (c->closing)
		return;
	tclient_breaker_tick(c, now);
	fail_refused(c);
	if (c->closing)
		return;
	conn_step(c, now);
	/* A failed dial may just have opened the breaker. */
	fail_refused(c);
	if (c->closing)
		return;
	/* Requests first: on a new connection after a leader change a lease
	 * renewal must not wait behind the re-creation of watches (which
	 * the server answers with reads). */
	if (can_send(c)) {
		send_requests(c, now);
		send_watches(c, now);
	}
	if (c->conn)
		tconn_flush(c->conn); /* may fail requests: callbacks */
	if (!c->closing)
		arm(c, now);
}

void tclient_on_timer(uv_timer_t *t)
{
	struct tclient *c = t->data;

	if (!c->closing)
		pump(c);
}
