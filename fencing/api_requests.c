/*
 * api_requests.c — POST /restart, /reload and /reinitialize on node X:
 * Patroni's meaning (this node's Postgres), done as `tenurectl cluster
 * restart|reload|reinit X` does it, through the scope's requests
 * (fencing/requests.h), which the agents carry out (agent_requests.c).
 *
 *   /restart       S/restart for this node alone (with the body's
 *                  schedule, restart_pending and role).  Now: the answer
 *                  waits for this node's result in S/results/NAME (200
 *                  "restarted successfully", 503 with the detail), at
 *                  most "timeout" (60 s); as Patroni, conditions that do
 *                  not hold (role, restart_pending) are 503 "restart
 *                  conditions are not satisfied".  Scheduled: 202
 *                  "Restart scheduled"; the conditions are looked at
 *                  then.  S/restart is one for the whole cluster, so
 *                  another pending restart (any node's) is 409.
 *   /reload        S/reload/NAME, 202 "reload scheduled" at once (as
 *                  Patroni); the result follows in S/results/NAME.
 *   /reinitialize  S/reinit/NAME (re-copied from the primary), 200
 *                  "reinitialize started" once written; refused on the
 *                  primary and without one (503, Patroni's words); one
 *                  pending already is 503 unless "force" replaces it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "fencing/api_body.h"
#include "fencing/api_int.h"

#define RESTART_WAIT_MS 60000

static const char *self_name(const struct api_view *v)
{
	return api_self(v)->name;
}

static bool is_leader(const struct api_view *v)
{
	return v->leader && v->leader[0] &&
	       strcmp(v->leader, self_name(v)) == 0;
}

/* A new pending write of value to SCOPE/suffix; NULL when answered. */
static struct api_pending *pending(struct api_server *s,
				   const struct http_request *r,
				   const char *suffix, const char *value,
				   struct http_response *res)
{
	struct api_pending *p = api_pending_new(s, r, res);
	if (!p)
		return NULL;
	api_pending_key(p, suffix);
	snprintf(p->value, sizeof(p->value), "%s", value);
	return p;
}

/* CAS (only when absent) or, forced, PUT of p->value at p->key. */
static void write_request(struct api_pending *p, bool replace,
			  api_witness_cb cb)
{
	struct client_request q = { .op = replace ? CLIENT_OP_PUT
						  : CLIENT_OP_CAS };
	q.key = (struct client_str){ p->key, strlen(p->key) };
	q.value = (struct client_str){ p->value, strlen(p->value) };
	api_witness_call(p, &q, cb);
}

static bool refused(struct api_pending *p, int status)
{
	char msg[400];
	if (status == CLIENT_OK || status == CLIENT_COMPARE_FAILED)
		return false;
	snprintf(msg, sizeof(msg), "the witnesses refused the request: %s",
		 client_status_name(status));
	api_pending_error(p, 503, msg, p->key);
	return true;
}

/* ---- POST /restart ----------------------------------------------------------- */

static void restart_answered(struct api_pending *p, int status,
			     const struct client_response *r)
{
	(void)status; /* the lease holder deletes it too */
	(void)r;
	api_pending_answer(p, p->status, "text/plain", p->value);
}

/* This node's result for p->id: answered after S/restart is deleted (a
 * cluster without a primary has nobody else to do it). */
static void restart_watch(struct api_pending *p, const struct api_view *v,
			  uint64_t now)
{
	const struct node_result *res = v->result;
	if (res && res->id == p->id && strcmp(res->action, "restart") == 0) {
		p->watching = false;
		p->status = res->ok ? 200 : 503;
		if (res->ok)
			snprintf(p->value, sizeof(p->value),
				 "restarted successfully\n");
		else
			snprintf(p->value, sizeof(p->value),
				 "restart failed: %s\n", res->detail);
		struct client_request q = { .op = CLIENT_OP_DELETE };
		q.key = (struct client_str){ p->key, strlen(p->key) };
		api_witness_call(p, &q, restart_answered);
	} else if (now >= p->deadline_ms) {
		api_pending_answer(p, 503, "text/plain",
				   "restart status unknown: no result yet "
				   "(the agent goes on with it; see GET "
				   "/patroni and its log)\n");
	}
}

static void restart_written(struct api_pending *p, int status,
			    const struct client_response *r)
{
	char msg[2400];
	if (refused(p, status))
		return;
	if (status == CLIENT_COMPARE_FAILED) {
		snprintf(msg, sizeof(msg),
			 "Another restart is already scheduled or in "
			 "progress: %.*s",
			 r && r->present ? (int)r->kv.value.len : 0,
			 r && r->present ? r->kv.value.p : "");
		api_pending_error(p, 409, msg, p->key);
	} else if (p->at_ms) {
		api_pending_answer(p, 202, "text/plain", "Restart scheduled\n");
	} else {
		p->watching = true;
		p->watch = restart_watch;
		api_poll_start(p->s);
	}
}

/* Why this node is not to restart now, Patroni's status, or 0. */
static int restart_unfit(const struct api_view *v,
			 const struct api_restart_body *b, char *why,
			 size_t cap)
{
	bool primary = is_leader(v);
	if (b->at_ms && v->paused) {
		snprintf(why, cap,
			 "Can't schedule restart in the paused state");
		return 400;
	}
	if (b->at_ms)
		return 0;
	if ((strcmp(b->role, "primary") == 0 && !primary) ||
	    (strcmp(b->role, "replica") == 0 && primary) ||
	    (b->pending && !api_self(v)->pending_restart)) {
		snprintf(why, cap, "restart conditions are not satisfied");
		return 503;
	}
	if (!v->pg_running) {
		snprintf(why, cap, "postgres is not running");
		return 503;
	}
	return 0;
}

static void restart(struct api_server *s, const struct http_request *r,
		    const struct api_view *v, struct http_response *res)
{
	struct api_restart_body b;
	struct restart_request q = { .id = clock_wall_ms() };
	char why[600], value[2048];
	int status = api_body_restart(r->body, r->body_len, q.id, &b, why,
				      sizeof(why));
	if (!status)
		status = restart_unfit(v, &b, why, sizeof(why));
	if (status) {
		api_answer_error(res, status, why, "/restart");
		return;
	}
	q.at_ms = b.at_ms;
	q.pending = b.pending;
	snprintf(q.role, sizeof(q.role), "%s", b.role);
	snprintf(q.nodes, sizeof(q.nodes), "%s", self_name(v));
	snprintf(q.by, sizeof(q.by), "rest-api");
	if (!restart_request_encode(&q, value, sizeof(value))) {
		api_answer_error(res, 400, "node name too long", "/restart");
		return;
	}
	struct api_pending *p = pending(s, r, "restart", value, res);
	if (!p)
		return;
	p->id = q.id;
	p->at_ms = q.at_ms;
	p->deadline_ms = uv_now(s->poll.loop) +
			 (b.timeout_ms ? b.timeout_ms : RESTART_WAIT_MS);
	write_request(p, false, restart_written);
}

/* ---- POST /reload, POST /reinitialize --------------------------------------- */

static void reload_written(struct api_pending *p, int status,
			   const struct client_response *r)
{
	(void)r;
	/* one pending already does what was asked */
	if (!refused(p, status))
		api_pending_answer(p, 202, "text/plain", "reload scheduled\n");
}

static void reinit_written(struct api_pending *p, int status,
			   const struct client_response *r)
{
	(void)r;
	if (refused(p, status))
		return;
	if (status == CLIENT_COMPARE_FAILED)
		api_pending_error(p, 503,
				  "reinitialize already in progress "
				  "(\"force\": true replaces it)",
				  p->key);
	else
		api_pending_answer(p, 200, "text/plain",
				   "reinitialize started\n");
}

/* S/ACTION/NAME with a fresh id. */
static void node_request(struct api_server *s, const struct http_request *r,
			 const struct api_view *v, const char *action,
			 bool replace, api_witness_cb cb,
			 struct http_response *res)
{
	struct node_request q = { .id = clock_wall_ms() };
	char suffix[MEMBER_STR_MAX + 32], value[512];
	snprintf(suffix, sizeof(suffix), "%s/%s", action, self_name(v));
	node_request_encode(&q, value, sizeof(value));
	struct api_pending *p = pending(s, r, suffix, value, res);
	if (p)
		write_request(p, replace, cb);
}

static void reinit(struct api_server *s, const struct http_request *r,
		   const struct api_view *v, struct http_response *res)
{
	char why[400];
	bool force;
	int status = api_body_reinit(r->body, r->body_len, &force, why,
				     sizeof(why));
	if (!status && !(v->leader && v->leader[0])) {
		status = 503;
		snprintf(why, sizeof(why),
			 "Cluster has no leader, can not reinitialize");
	} else if (!status && is_leader(v)) {
		status = 503;
		snprintf(why, sizeof(why),
			 "I am the leader, can not reinitialize");
	}
	if (status) {
		api_answer_error(res, status, why, "/reinitialize");
		return;
	}
	node_request(s, r, v, "reinit", force, reinit_written, res);
}

void api_pg_request(struct api_server *s, const struct http_request *r,
		    const char *path, struct http_response *res)
{
	struct api_view v;
	memset(&v, 0, sizeof(v));
	s->fill(s->arg, &v);
	if (!api_self(&v)->name[0]) {
		api_answer_error(res, 503, "this node has no record yet", path);
		return;
	}
	if (strcmp(path, "/restart") == 0) {
		restart(s, r, &v, res);
	} else if (strcmp(path, "/reinitialize") == 0) {
		reinit(s, r, &v, res);
	} else if (!v.pg_running) {
		api_answer_error(res, 503, "postgres is not running", path);
	} else {
		node_request(s, r, &v, "reload", false, reload_written, res);
	}
}
