/*
 * tclient.c — see tclient.h.  The public calls, the circuit breaker,
 * backoff and the client's lifetime; the pump (what to do next) is in
 * tclient_pump.c, answers and events in tclient_recv.c, the socket in
 * tclient_conn.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/tclient_int.h"

/* ---- small services -------------------------------------------------------- */

uint64_t tclient_new_id(struct tclient *c)
{
	return ++c->next_id; /* never 0: the protocol reserves it */
}

void tclient_log(struct tclient *c, const char *level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->o.log(c->o.log_arg, level, msg);
}

/* xorshift64*: only for jitter, so clients that lost the same server do
 * not all come back in the same millisecond. */
uint64_t tclient_random(struct tclient *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545F4914F6CDD1Dull;
}

/* Equal jitter (tclient.h): a random wait in [d/2, d]. */
uint64_t tclient_backoff(struct tclient *c, unsigned attempt)
{
	uint64_t d = c->o.backoff_cap_ms;
	unsigned shift = attempt ? attempt - 1 : 0;

	if (shift < 63 && c->o.backoff_base_ms <= (d >> shift))
		d = c->o.backoff_base_ms << shift;
	return d / 2 + tclient_random(c) % (d - d / 2 + 1);
}

/* The first failure after an answer is a server gone (killed, moved):
 * the next endpoint is tried at once, and only a run of failures backs
 * off (the same waits as before, one failure later). */
uint64_t tclient_reconnect_at(struct tclient *c, uint64_t now)
{
	uint64_t spread = c->o.reconnect_spread_ms;

	if (c->conn_failures <= 1)
		return now + (spread ? tclient_random(c) % (spread + 1) : 0);
	return now + tclient_backoff(c, c->conn_failures - 1);
}

void tclient_kick(struct tclient *c)
{
	if (!c->closing)
		uv_timer_start(&c->timer, tclient_on_timer, 0, 0);
}

/* ---- circuit breaker --------------------------------------------------------- */

void tclient_breaker_failure(struct tclient *c)
{
	c->failures++;
	if (c->breaker == TBREAKER_OPEN)
		return;
	if (c->breaker == TBREAKER_HALF_OPEN ||
	    c->failures >= c->o.breaker_threshold) {
		c->breaker = TBREAKER_OPEN;
		c->open_until = uv_now(c->loop) + c->o.breaker_open_ms;
		c->trial = NULL;
		tclient_log(c, "warn",
			    "circuit breaker open for %llu ms after "
			    "%u consecutive failures",
			    (unsigned long long)c->o.breaker_open_ms,
			    c->failures);
	}
}

void tclient_breaker_success(struct tclient *c)
{
	if (c->breaker != TBREAKER_CLOSED)
		tclient_log(c, "info",
			    "circuit breaker closed: the cluster "
			    "answers again");
	c->breaker = TBREAKER_CLOSED;
	c->failures = 0;
	c->trial = NULL;
	c->conn_failures = 0;
}

/* Open turns half-open by time alone, checked whenever it matters. */
void tclient_breaker_tick(struct tclient *c, uint64_t now)
{
	if (c->breaker == TBREAKER_OPEN && now >= c->open_until) {
		c->breaker = TBREAKER_HALF_OPEN;
		c->trial = NULL;
		tclient_log(c, "info",
			    "circuit breaker half-open: trying "
			    "one request");
	}
}

/* 0 to let r through, or the status to fail it with at once. */
static int breaker_admit(struct tclient *c, struct treq *r, uint64_t now)
{
	tclient_breaker_tick(c, now);
	if (c->breaker == TBREAKER_OPEN)
		return CLIENT_ECIRCUIT;
	if (c->breaker == TBREAKER_HALF_OPEN) {
		if (c->trial)
			return CLIENT_ECIRCUIT;
		c->trial = r;
	}
	return 0;
}

/* ---- requests ------------------------------------------------------------------ */

void tclient_finish(struct tclient *c, struct treq *r, int status,
		    const struct client_response *resp)
{
	tlist_remove(&r->link);
	if (c->trial == r)
		c->trial = NULL;
	c->finishing_unknown = !resp && (r->on_wire || r->lost);
	c->finishing_lost = r->lost;
	r->cb(r->arg, status, resp);
	c->finishing_unknown = false;
	c->finishing_lost = 0;
	free(r);
}

bool tclient_outcome_unknown(const struct tclient *c)
{
	return c->finishing_unknown;
}

unsigned tclient_lost_attempts(const struct tclient *c)
{
	return c->finishing_lost;
}

static const size_t request_strings[] = {
	offsetof(struct client_request, user),
	offsetof(struct client_request, nonce),
	offsetof(struct client_request, proof),
	offsetof(struct client_request, client_name),
	offsetof(struct client_request, name),
	offsetof(struct client_request, holder),
	offsetof(struct client_request, key),
	offsetof(struct client_request, value),
	offsetof(struct client_request, lease),
	offsetof(struct client_request, prefix),
	offsetof(struct client_request, peer_addr),
	offsetof(struct client_request, to_name),
};
#define N_REQUEST_STRINGS (sizeof(request_strings) / sizeof(size_t))

static struct client_str *req_str(struct client_request *q, size_t i)
{
	return (struct client_str *)(void *)((char *)q + request_strings[i]);
}

/* One allocation holds the request and copies of all its strings. */
static struct treq *copy_request(const struct client_request *req)
{
	struct client_request q = *req;
	size_t total = 0, used = 0;
	struct treq *r;

	for (size_t i = 0; i < N_REQUEST_STRINGS; i++)
		total += req_str(&q, i)->len;
	if (!(r = calloc(1, sizeof(*r) + total)))
		return NULL;
	r->req = q;
	for (size_t i = 0; i < N_REQUEST_STRINGS; i++) {
		struct client_str *s = req_str(&r->req, i);
		if (!s->len) {
			s->p = "";
			continue;
		}
		memcpy(r->strings + used, s->p, s->len);
		s->p = r->strings + used;
		used += s->len;
	}
	tlist_init(&r->link);
	return r;
}

/* HELLO, AUTH_PROOF, WATCH and CANCEL belong to the connection and to
 * watches, which the library manages: sent by a caller they would not
 * survive a reconnect. */
static bool op_for_callers(uint32_t op)
{
	return op > CLIENT_OP_HELLO && op < CLIENT_OP_END &&
	       op != CLIENT_OP_WATCH && op != CLIENT_OP_CANCEL &&
	       op != CLIENT_OP_AUTH_PROOF;
}

int tclient_request(struct tclient *c, const struct client_request *req,
		    uint64_t timeout_ms, tclient_cb cb, void *arg)
{
	struct treq *r;
	uint64_t now;

	if (c->closing)
		return UV_ESHUTDOWN;
	if (!req || !cb || !op_for_callers(req->op))
		return UV_EINVAL;
	if (!(r = copy_request(req)))
		return UV_ENOMEM;
	/* The caller may have been busy since the loop last looked at the
	 * clock: a deadline counts from now, not from then. */
	uv_update_time(c->loop);
	now = uv_now(c->loop);
	r->cb = cb;
	r->arg = arg;
	r->deadline = now + (timeout_ms ? timeout_ms : c->o.timeout_ms);
	r->not_before = now;
	r->verdict = breaker_admit(c, r, now);
	tlist_push(&c->pending, &r->link);
	tclient_kick(c);
	return 0;
}

/* ---- watches ------------------------------------------------------------------- */

int tclient_watch(struct tclient *c, enum tclient_watch_kind kind,
		  const char *prefix, tclient_watch_cb cb, void *arg,
		  struct tclient_watch **out)
{
	size_t len = prefix ? strlen(prefix) : 0;
	struct tclient_watch *w;

	if (c->closing)
		return UV_ESHUTDOWN;
	if ((kind != TCLIENT_WATCH_KEYS && kind != TCLIENT_WATCH_LEASES) ||
	    !cb || !out)
		return UV_EINVAL;
	if (!(w = calloc(1, sizeof(*w) + len + 1)))
		return UV_ENOMEM;
	w->c = c;
	w->kind = kind;
	w->state = TWATCH_IDLE;
	w->not_before = uv_now(c->loop);
	w->cb = cb;
	w->arg = arg;
	w->prefix_len = len;
	if (len)
		memcpy(w->prefix, prefix, len);
	tlist_push(&c->watches, &w->link);
	*out = w;
	tclient_kick(c);
	return 0;
}

/* The CANCEL's answer is ignored (its id matches nothing): there is
 * nothing to do about a failed cancel but stop listening, which the
 * client does anyway. */
static void send_cancel(struct tclient *c, const struct tclient_watch *w)
{
	struct client_request q = {
		.op = CLIENT_OP_CANCEL,
		.watch_id = w->id,
	};

	if (!c->conn || c->conn->state != TCONN_READY)
		return;
	if (w->state != TWATCH_ASKED && w->state != TWATCH_ACTIVE)
		return;
	q.id = tclient_new_id(c);
	if (!client_encode_request(&c->conn->out, &q))
		c->conn->out.failed = true;
	tclient_kick(c);
}

void tclient_watch_cancel(struct tclient_watch *w)
{
	if (!w)
		return;
	send_cancel(w->c, w);
	tlist_remove(&w->link);
	free(w);
}

/* ---- creating ------------------------------------------------------------------ */

static int check_options(const struct tclient_options *o)
{
	struct sockaddr_storage sa;

	if (!o || !o->endpoints || !o->n_endpoints)
		return UV_EINVAL;
	for (size_t i = 0; i < o->n_endpoints; i++)
		if (tclient_parse_addr(o->endpoints[i], &sa))
			return UV_EINVAL;
	if (o->user && strlen(o->user) > CLIENT_NAME_MAX)
		return UV_EINVAL;
	if (o->user && o->user[0] && (!o->secret || !o->secret[0]))
		return UV_EINVAL;
	if (o->client_name && strlen(o->client_name) > CLIENT_NAME_MAX)
		return UV_EINVAL;
	return 0;
}

static void set_defaults(struct tclient_options *o)
{
	if (!o->timeout_ms)
		o->timeout_ms = TCLIENT_TIMEOUT_DEFAULT_MS;
	if (!o->connect_timeout_ms)
		o->connect_timeout_ms = TCLIENT_CONNECT_TIMEOUT_DEFAULT_MS;
	if (!o->backoff_base_ms)
		o->backoff_base_ms = TCLIENT_BACKOFF_BASE_DEFAULT_MS;
	if (!o->backoff_cap_ms)
		o->backoff_cap_ms = TCLIENT_BACKOFF_CAP_DEFAULT_MS;
	if (o->backoff_cap_ms < o->backoff_base_ms)
		o->backoff_cap_ms = o->backoff_base_ms;
	if (!o->breaker_threshold)
		o->breaker_threshold = TCLIENT_BREAKER_THRESHOLD_DEFAULT;
	if (!o->breaker_open_ms)
		o->breaker_open_ms = TCLIENT_BREAKER_OPEN_DEFAULT_MS;
	if (!o->frame_limit)
		o->frame_limit = FRAME_LIMIT_DEFAULT;
}

static void free_client(struct tclient *c)
{
	if (c->endpoints)
		for (size_t i = 0; i < c->o.n_endpoints; i++)
			free(c->endpoints[i]);
	free(c->endpoints);
	free(c->user);
	scram_client_keys_clear(&c->keys);
	if (c->secret) {
		memset(c->secret, 0, strlen(c->secret));
		free(c->secret);
	}
	free(c->client_name);
	client_scratch_free(&c->scratch);
	free(c);
}

/* The options point into the caller's memory: keep our own copies. */
static int copy_strings(struct tclient *c, const struct tclient_options *o)
{
	c->endpoints = calloc(o->n_endpoints, sizeof(char *));
	c->user = strdup(o->user ? o->user : "");
	c->secret = strdup(o->secret ? o->secret : "");
	c->client_name = strdup(o->client_name ? o->client_name : "");
	if (!c->endpoints || !c->user || !c->secret || !c->client_name)
		return UV_ENOMEM;
	for (size_t i = 0; i < o->n_endpoints; i++)
		if (!(c->endpoints[i] = strdup(o->endpoints[i])))
			return UV_ENOMEM;
	c->o.endpoints = (const char *const *)c->endpoints;
	c->o.user = c->user;
	c->o.secret = c->secret;
	c->o.client_name = c->client_name;
	return 0;
}

int tclient_new(uv_loop_t *loop, const struct tclient_options *o,
		struct tclient **out)
{
	struct tclient *c;
	int rv = check_options(o);

	if (rv)
		return rv;
	if (!(c = calloc(1, sizeof(*c))))
		return UV_ENOMEM;
	c->loop = loop;
	c->o = *o;
	set_defaults(&c->o);
	if ((rv = copy_strings(c, o))) {
		free_client(c);
		return rv;
	}
	tlist_init(&c->pending);
	tlist_init(&c->inflight);
	tlist_init(&c->watches);
	c->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)c) | 1;
	if ((rv = uv_timer_init(loop, &c->timer))) {
		free_client(c);
		return rv;
	}
	c->timer.data = c;
	c->handles = 1;
	*out = c;
	return 0;
}

/* ---- closing ------------------------------------------------------------------- */

void tclient_handle_closed(struct tclient *c)
{
	if (--c->handles)
		return;
	if (c->on_closed)
		c->on_closed(c->closed_arg);
	free_client(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	tclient_handle_closed(h->data);
}

static void fail_list(struct tclient *c, struct tlist *l, int status)
{
	while (!tlist_empty(l))
		tclient_finish(c, TLIST_ITEM(l->next, struct treq), status,
			       NULL);
}

static struct tclient_watch *first_live_watch(struct tclient *c)
{
	for (struct tlist *e = c->watches.next; e != &c->watches; e = e->next)
		if (TLIST_ITEM(e, struct tclient_watch)->state != TWATCH_ENDED)
			return TLIST_ITEM(e, struct tclient_watch);
	return NULL;
}

/* Tell each watch once; a callback may cancel any watch, so search again
 * after every call. */
void tclient_end_watches(struct tclient *c, int status)
{
	struct tclient_watch *w;

	while ((w = first_live_watch(c))) {
		w->state = TWATCH_ENDED;
		w->cb(w->arg, TCLIENT_WATCH_ENDED, status, NULL);
	}
}

void tclient_fail_waiting(struct tclient *c, int status)
{
	fail_list(c, &c->pending, status);
}

void tclient_close(struct tclient *c, void (*on_closed)(void *arg), void *arg)
{
	if (c->closing)
		return;
	c->closing = true;
	c->on_closed = on_closed;
	c->closed_arg = arg;
	if (c->conn)
		tconn_close(c->conn);
	fail_list(c, &c->inflight, CLIENT_ESHUTDOWN);
	fail_list(c, &c->pending, CLIENT_ESHUTDOWN);
	tclient_end_watches(c, CLIENT_ESHUTDOWN);
	while (!tlist_empty(&c->watches)) {
		struct tlist *e = c->watches.next;
		tlist_remove(e);
		free(TLIST_ITEM(e, struct tclient_watch));
	}
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}
