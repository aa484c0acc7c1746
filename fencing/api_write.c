/*
 * api_write.c — the API's writes (POST, PATCH): who may send them, where
 * each goes, and the writes that wait for the witnesses.
 *
 * A write changes the cluster, so it needs credentials (http_auth.h), and
 * a password must not cross the network in the clear: over plain HTTP it
 * is accepted from loopback only.  A refusal is logged at most every
 * LOG_EVERY_MS with the running total, so a guessing flood does not
 * flood the log too.  The writes themselves go to the witnesses through
 * the agent's client: the answer is deferred (common/http.h) until they
 * answer, so the agent's loop never waits.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/log_throttle.h"
#include "fencing/api_int.h"

#define LOG_EVERY_MS 10000
#define POLL_MS 100

static const char basic_challenge[] =
	"WWW-Authenticate: Basic realm=\"tenure\"\r\n";

static void refuse(struct http_response *res, int status, const char *msg,
		   const char *path)
{
	api_answer_error(res, status, msg, path);
	if (status == 401)
		res->headers = basic_challenge;
}

static void log_refusal(struct api_server *s, const char *path,
			const char *name, const char *why)
{
	if (!log_throttle_due(&s->auth_refusals, uv_now(s->poll.loop),
			      LOG_EVERY_MS, NULL))
		return;
	log_event(LOG_WARN, "http_write_refused",
		  "path=%s user=\"%s\" reason=\"%s\" total=%llu (logged at "
		  "most every %d s)",
		  path, name, why, (unsigned long long)s->auth_refusals.total,
		  LOG_EVERY_MS / 1000);
}

/* Whether r may write; res answered when not. */
static bool allowed(struct api_server *s, const struct http_request *r,
		    struct http_response *res)
{
	char name[HTTP_AUTH_NAME_MAX + 1];
	if (!r->tls && !r->loopback) {
		log_refusal(s, r->path, "", "plain HTTP off loopback");
		refuse(res, 403,
		       "credentials are accepted over HTTPS only, or on "
		       "loopback: set http_tls_cert_file",
		       r->path);
		return false;
	}
	struct http_auth *auth = s->writes_set ? s->writes.auth : NULL;
	switch (http_auth_check(auth, r->authorization, uv_now(s->poll.loop),
				name, sizeof(name))) {
	case HTTP_AUTH_OK:
		return true;
	case HTTP_AUTH_MISSING:
		refuse(res, 401,
		       auth ? "credentials required (HTTP Basic)"
			    : "writes need http_credentials_file in the "
			      "agent's configuration",
		       r->path);
		return false;
	case HTTP_AUTH_WRONG:
		log_refusal(s, r->path, name, "wrong name or password");
		refuse(res, 401, "wrong name or password", r->path);
		return false;
	case HTTP_AUTH_FORBIDDEN:
		log_refusal(s, r->path, name, "role may not write");
		refuse(res, 403,
		       "this credential's role may not write (admin "
		       "may)",
		       r->path);
		return false;
	case HTTP_AUTH_BUSY:
		log_refusal(s, r->path, name, "too many attempts");
		refuse(res, 503,
		       "too many authentication attempts: retry in a "
		       "second",
		       r->path);
		return false;
	}
	return false;
}

/* The path without its query string. */
static bool is_path(const struct http_request *r, const char *path)
{
	size_t n = strlen(path);
	return strncmp(r->path, path, n) == 0 &&
	       (r->path[n] == '\0' || r->path[n] == '?');
}

void api_write(struct api_server *s, const struct http_request *r,
	       struct http_response *res)
{
	static const char *const pg[] = { "/restart", "/reload",
					  "/reinitialize" };
	bool post = strcmp(r->method, "POST") == 0;
	bool del = strcmp(r->method, "DELETE") == 0;
	if (!allowed(s, r, res))
		return;
	if (post && is_path(r, "/switchover")) {
		api_handover(s, r, false, res);
		return;
	}
	if (post && is_path(r, "/failover")) {
		api_handover(s, r, true, res);
		return;
	}
	if (strcmp(r->method, "PATCH") == 0 && is_path(r, "/config")) {
		api_patch_config(s, r, res);
		return;
	}
	for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++)
		if (post && is_path(r, pg[i])) {
			api_pg_request(s, r, pg[i], res);
			return;
		}
	if (del && (is_path(r, "/switchover") || is_path(r, "/restart"))) {
		api_cancel(s, r,
			   is_path(r, "/restart") ? "/restart" : "/switchover",
			   res);
		return;
	}
	refuse(res, 405,
	       "no such write: POST /switchover, /failover, /restart, "
	       "/reload, /reinitialize; DELETE /switchover, /restart; "
	       "PATCH /config",
	       r->path);
}

/* ---- pending writes ----------------------------------------------------- */

struct api_pending *api_pending_new(struct api_server *s,
				    const struct http_request *r,
				    struct http_response *res)
{
	struct api_pending *p = calloc(1, sizeof(*p));
	if (!p) {
		refuse(res, 503, "out of memory", r->path);
		return NULL;
	}
	p->s = s;
	p->pause = -1;
	p->conn = http_defer(r);
	p->next = s->pending;
	s->pending = p;
	return p;
}

static void unlink_pending(struct api_pending *p)
{
	struct api_pending **at = &p->s->pending;
	while (*at && *at != p)
		at = &(*at)->next;
	if (*at)
		*at = p->next;
}

void api_pending_answer(struct api_pending *p, int status,
			const char *content_type, const char *body)
{
	struct http_response res = { .status = status,
				     .content_type = content_type };
	buf_init(&res.body);
	http_printf(&res, "%s", body);
	http_deferred_answer(p->conn, &res);
	buf_free(&res.body);
	p->conn = NULL;
	if (p->s)
		unlink_pending(p);
	p->s = NULL;
	if (!p->in_flight)
		free(p);
}

const char *api_body_text(struct buf *b)
{
	buf_put(b, "", 1);
	return b->buf;
}

void api_pending_error(struct api_pending *p, int status, const char *msg,
		       const char *path)
{
	struct http_response res = { 0 };
	buf_init(&res.body);
	api_answer_error(&res, status, msg, path);
	api_pending_answer(p, status, "application/json",
			   api_body_text(&res.body));
	buf_free(&res.body);
}

void api_pending_key(struct api_pending *p, const char *suffix)
{
	snprintf(p->key, sizeof(p->key), "%s/%s", p->s->writes.scope, suffix);
}

struct witness_call {
	struct api_pending *p;
	api_witness_cb cb;
};

static void on_witness(void *arg, int status, const struct client_response *r)
{
	struct witness_call *c = arg;
	struct api_pending *p = c->p;
	api_witness_cb cb = c->cb;
	free(c);
	p->in_flight = false;
	if (!p->s) { /* answered at close already */
		free(p);
		return;
	}
	cb(p, status, r);
}

bool api_witness_call(struct api_pending *p, const struct client_request *q,
		      api_witness_cb cb)
{
	struct witness_call *c = calloc(1, sizeof(*c));
	if (c && p->s->writes_set && p->s->writes.tc) {
		c->p = p;
		c->cb = cb;
		if (tclient_request(p->s->writes.tc, q, 0, on_witness, c) ==
		    0) {
			p->in_flight = true;
			return true;
		}
	}
	free(c);
	api_pending_error(p, 503, "cannot reach the witnesses", p->key);
	return false;
}

static void on_poll(uv_timer_t *t)
{
	struct api_server *s = t->data;
	struct api_view v;
	bool watching = false;
	memset(&v, 0, sizeof(v));
	s->fill(s->arg, &v);
	for (struct api_pending *p = s->pending, *next; p; p = next) {
		next = p->next;
		if (p->watching)
			p->watch(p, &v, uv_now(t->loop));
	}
	for (struct api_pending *p = s->pending; p; p = p->next)
		watching |= p->watching;
	if (!watching) {
		uv_timer_stop(t);
		s->poll_on = false;
	}
}

void api_poll_start(struct api_server *s)
{
	if (s->poll_on)
		return;
	s->poll_on = true;
	uv_timer_start(&s->poll, on_poll, POLL_MS, POLL_MS);
}

static void poll_closed(uv_handle_t *h)
{
	struct api_server *s = h->data;
	s->closed_write_done(s);
}

void api_write_close(struct api_server *s, void (*done)(struct api_server *s))
{
	while (s->pending)
		api_pending_error(s->pending, 503, "the agent is stopping",
				  s->pending->key);
	s->closed_write_done = done;
	uv_close((uv_handle_t *)&s->poll, poll_closed);
}
