/*
 * api_handover.c — POST /switchover and POST /failover, Patroni's
 * bodies ({"leader", "candidate", "scheduled_at"}) turned into the
 * request `tenurectl cluster switchover|failover` writes (S/switchover,
 * ctl/ctl_pgcluster.c): the agents do the handover, this only asks and
 * watches, like the CLI.
 *
 * As Patroni: a switchover needs the current leader's name; a failover
 * needs a candidate, and is done as a switchover while there is a leader.
 * The answer comes when the candidate holds the lease (200, "Successfully
 * switched over to ..."), or after handover_wait_ms (503, "... status
 * unknown": the request may still complete).  A switchover with
 * scheduled_at (ISO 8601 with a zone, api_body.h) is written with at_ms,
 * as `tenurectl cluster switchover --scheduled` does, and answered 202
 * "Switchover scheduled" at once: the agents hold it until then.  As
 * Patroni: a failover is not scheduled, nor anything while paused.
 */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "fencing/api_body.h"
#include "fencing/api_int.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"
#include "fencing/scope_keys.h"

#define WAIT_DEFAULT_MS 30000

struct body {
	char leader[MEMBER_STR_MAX];
	char candidate[MEMBER_STR_MAX];
	char scheduled_at[64];
};

static bool body_field(void *arg, const char *key,
		       const struct flatjson_value *v, char *err, size_t errlen)
{
	struct body *b = arg;
	char *dst = strcmp(key, "leader") == 0      ? b->leader
		    : strcmp(key, "candidate") == 0 ? b->candidate
						    : NULL;
	if (strcmp(key, "scheduled_at") == 0) {
		if (v->type == FLATJSON_NULL)
			return true;
		if (v->type != FLATJSON_STRING || v->len == 0 ||
		    v->len >= sizeof(b->scheduled_at)) {
			snprintf(err, errlen, "scheduled_at must be a time");
			return false;
		}
		memcpy(b->scheduled_at, v->str, v->len + 1);
		return true;
	}
	if (!dst || v->type == FLATJSON_NULL)
		return true;
	if (v->type != FLATJSON_STRING || v->len >= MEMBER_STR_MAX) {
		snprintf(err, errlen, "%s must be a node name", key);
		return false;
	}
	memcpy(dst, v->str, v->len + 1);
	return true;
}

static const struct member *find(const struct api_view *v, const char *name)
{
	if (strcmp(api_self(v)->name, name) == 0)
		return api_self(v);
	for (size_t i = 0; i < v->n_members; i++)
		if (strcmp(v->members[i].name, name) == 0)
			return &v->members[i];
	return NULL;
}

/* Why name cannot take over, or NULL. */
static const char *unfit(const struct api_view *v, const char *name, char *why,
			 size_t cap)
{
	const struct member *m = find(v, name);
	if (v->leader && strcmp(name, v->leader) == 0)
		snprintf(why, cap, "%s is the leader already", name);
	else if (!m)
		snprintf(why, cap, "no member named %s", name);
	else if (m->role != MEMBER_REPLICA || !m->healthy)
		snprintf(why, cap, "%s is not a healthy running replica", name);
	else if (m->nofailover)
		snprintf(why, cap, "%s is tagged nofailover", name);
	else
		return NULL;
	return why;
}

/* The members as one array (self's live record included), for
 * roster_best_candidate; freed by the caller. */
static struct member *all_members(const struct api_view *v, size_t *n)
{
	struct member *m = calloc(v->n_members + 1, sizeof(*m));
	const struct member *self = api_self(v);
	*n = 0;
	if (!m)
		return NULL;
	if (self->name[0])
		m[(*n)++] = *self;
	for (size_t i = 0; i < v->n_members; i++)
		if (strcmp(v->members[i].name, self->name) != 0)
			m[(*n)++] = v->members[i];
	return m;
}

static bool pick(const struct api_view *v, char *out, size_t cap)
{
	size_t n;
	struct member *m = all_members(v, &n);
	const struct member *best = m ? roster_best_candidate(m, n,
							      v->sync_standbys)
				      : NULL;
	if (best)
		snprintf(out, cap, "%s", best->name);
	free(m);
	return best != NULL;
}

/* Checks b against the view and fills p; false with status and reason. */
static bool plan(const struct api_view *v, struct body *b, bool failover,
		 struct api_pending *p, int *status, char *why, size_t cap)
{
	bool has_leader = v->leader && v->leader[0];
	*status = 412;
	if (failover && !b->candidate[0]) {
		*status = 400;
		snprintf(why, cap, "failover needs a candidate");
		return false;
	}
	if (!failover && !b->leader[0]) {
		*status = 400;
		snprintf(why, cap, "switchover needs the leader's name");
		return false;
	}
	if (!failover && !has_leader) {
		*status = 503;
		snprintf(why, cap, "the cluster has no leader: use /failover");
		return false;
	}
	if (b->leader[0] && (!has_leader || strcmp(b->leader, v->leader))) {
		snprintf(why, cap,
			 "leader name does not match: the leader is %s",
			 has_leader ? v->leader : "nobody");
		return false;
	}
	if (!b->candidate[0] && !pick(v, b->candidate, sizeof(b->candidate))) {
		snprintf(why, cap,
			 "no replica may take over (none is healthy"
			 " and, in synchronous mode, synchronous)");
		return false;
	}
	if (unfit(v, b->candidate, why, cap))
		return false;
	/* as tenurectl and Patroni: with a leader it hands over in order */
	snprintf(p->kind, sizeof(p->kind), "%s",
		 has_leader ? "switchover" : "failover");
	snprintf(p->candidate, sizeof(p->candidate), "%s", b->candidate);
	struct flatjson_writer w;
	flatjson_begin(&w, p->value, sizeof(p->value));
	flatjson_put_str(&w, "kind", p->kind);
	flatjson_put_str(&w, "from", has_leader ? v->leader : "");
	flatjson_put_str(&w, "candidate", p->candidate);
	flatjson_put_u64(&w, "requested_ms", clock_wall_ms());
	if (p->at_ms)
		flatjson_put_u64(&w, "at_ms", p->at_ms);
	flatjson_put_str(&w, "by", "rest-api");
	return flatjson_end(&w) > 0;
}

/* scheduled_at into *at_ms: 0, or the status to answer (Patroni's). */
static int schedule(const struct api_view *v, const struct body *b,
		    bool failover, uint64_t *at_ms, char *why, size_t cap)
{
	if (failover) {
		snprintf(why, cap, "Failover can't be scheduled");
		return 400;
	}
	if (v->paused) {
		snprintf(why, cap,
			 "Can't schedule switchover in the paused state");
		return 400;
	}
	return api_body_schedule(b->scheduled_at, "switchover", clock_wall_ms(),
				 at_ms, why, cap);
}

static void write_request(struct api_pending *p, uint64_t expected);

static void on_written(struct api_pending *p, int status,
		       const struct client_response *r)
{
	char msg[600];
	if (status == CLIENT_OK && p->at_ms) {
		api_pending_answer(p, 202, "text/plain",
				   "Switchover scheduled\n");
		return;
	}
	if (status == CLIENT_OK) {
		p->watching = true;
		p->watch = api_handover_poll;
		api_poll_start(p->s);
		return;
	}
	if (status == CLIENT_COMPARE_FAILED && r && r->present && !p->retried &&
	    scope_request_stale(r->kv.value.p, r->kv.value.len,
				clock_wall_ms())) {
		p->retried = true;
		write_request(p, r->kv.mod_revision);
		return;
	}
	if (status == CLIENT_COMPARE_FAILED) {
		snprintf(msg, sizeof(msg),
			 "a switchover or failover is already pending in %s",
			 p->key);
		api_pending_error(p, 409, msg, p->key);
		return;
	}
	snprintf(msg, sizeof(msg), "the witnesses refused the request: %s",
		 client_status_name(status));
	api_pending_error(p, 503, msg, p->key);
}

static void write_request(struct api_pending *p, uint64_t expected)
{
	struct client_request q = { .op = CLIENT_OP_CAS };
	q.key = (struct client_str){ p->key, strlen(p->key) };
	q.value = (struct client_str){ p->value, strlen(p->value) };
	q.expected_revision = expected; /* 0: only if none is pending */
	api_witness_call(p, &q, on_written);
}

void api_handover(struct api_server *s, const struct http_request *r,
		  bool failover, struct http_response *res)
{
	const char *path = failover ? "/failover" : "/switchover";
	struct body b = { 0 };
	struct api_view v;
	char why[400];
	int status;
	if (!flatjson_parse(r->body, r->body_len, body_field, &b, why,
			    sizeof(why))) {
		api_answer_error(res, 400, why, path);
		return;
	}
	memset(&v, 0, sizeof(v));
	s->fill(s->arg, &v);
	struct api_pending tmp = { 0 };
	if (b.scheduled_at[0] &&
	    (status = schedule(&v, &b, failover, &tmp.at_ms, why,
			       sizeof(why)))) {
		api_answer_error(res, status, why, path);
		return;
	}
	if (!plan(&v, &b, failover, &tmp, &status, why, sizeof(why))) {
		api_answer_error(res, status, why, path);
		return;
	}
	struct api_pending *p = api_pending_new(s, r, res);
	if (!p)
		return;
	memcpy(p->kind, tmp.kind, sizeof(p->kind));
	memcpy(p->candidate, tmp.candidate, sizeof(p->candidate));
	memcpy(p->value, tmp.value, sizeof(p->value));
	p->at_ms = tmp.at_ms;
	api_pending_key(p, "switchover");
	uint64_t wait = s->writes.handover_wait_ms ? s->writes.handover_wait_ms
						   : WAIT_DEFAULT_MS;
	p->deadline_ms = uv_now(s->poll.loop) + wait;
	write_request(p, 0);
}

void api_handover_poll(struct api_pending *p, const struct api_view *v,
		       uint64_t now)
{
	char msg[600];
	bool failover = strcmp(p->kind, "failover") == 0;
	if (v->leader && strcmp(v->leader, p->candidate) == 0) {
		snprintf(msg, sizeof(msg), "Successfully %s to \"%s\"\n",
			 failover ? "failed over" : "switched over",
			 p->candidate);
		api_pending_answer(p, 200, "text/plain", msg);
	} else if (now >= p->deadline_ms) {
		snprintf(msg, sizeof(msg),
			 "%s status unknown: %s does not hold the lease yet "
			 "(see GET /cluster and /history)\n",
			 failover ? "Failover" : "Switchover", p->candidate);
		api_pending_answer(p, 503, "text/plain", msg);
	}
}
