/*
 * agent_requests.c — the operator's requests in the scope
 * (fencing/requests.h): which one this agent carries out next, and its
 * result written back.
 *
 * A request runs only when decide() has nothing to do (failover, fencing
 * and the sync list always come first) and this agent has a fresh view;
 * it is one action (agent_act_restart.c), so nothing else runs meanwhile.
 * Its result goes to S/results/NAME; the ids of the requests done are
 * remembered too, since the next view may not hold the result yet.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"

static bool running(const struct agent *a)
{
	return a->pg_obs.state == PG_PRIMARY || a->pg_obs.state == PG_REPLICA;
}

static void begin(struct agent *a, struct decide_action *out,
		  enum decide_kind kind, const char *action, uint64_t id,
		  const char *target, const char *reason)
{
	memset(&a->req, 0, sizeof(a->req));
	snprintf(a->req.action, sizeof(a->req.action), "%s", action);
	a->req.id = id;
	out->kind = kind;
	snprintf(out->target, sizeof(out->target), "%s", target);
	out->reason = reason;
}

/* The primary deletes a rolling restart every node is done with (once:
 * a failed delete is retried only by a new agent). */
static void restart_cleanup(struct agent *a)
{
	const struct restart_request *r = &a->view.restart;
	if (!lease_primary_valid(a) || a->restart_deleted_id == r->id)
		return;
	a->restart_deleted_id = r->id;
	log_event(LOG_INFO, "restart_request_done", "id=%llu",
		  (unsigned long long)r->id);
	keys_delete(a, "restart", NULL, NULL);
}

static bool restart_next(struct agent *a, struct decide_action *out)
{
	const struct witness_view *v = &a->view;
	if (!v->restart_present)
		return false;
	enum restart_step s = restart_turn(&v->restart, v->members,
					   v->n_members, v->holder, v->results,
					   v->n_results, a->conf->name,
					   clock_wall_ms());
	if (s == RESTART_DONE)
		restart_cleanup(a);
	if (s != RESTART_MINE || a->restart_done_id == v->restart.id ||
	    !running(a))
		return false;
	begin(a, out, ACT_PG_RESTART, "restart", v->restart.id, "",
	      "restart requested (tenurectl cluster restart)");
	return true;
}

bool requests_next(struct agent *a, struct decide_action *out)
{
	const struct witness_view *v = &a->view;
	/* A re-copy first: it is what a broken replica needs, running or
	 * not.  Never the primary's (tenurectl refuses it too). */
	if (v->reinit_present && a->reinit_done_id != v->reinit.id &&
	    v->holder[0] && strcmp(v->holder, a->conf->name) != 0) {
		const char *from = v->reinit.from[0] ? v->reinit.from
						     : v->holder;
		begin(a, out, ACT_REINIT, "reinit", v->reinit.id, from,
		      "re-copy requested (tenurectl cluster reinit)");
		return true;
	}
	if (v->reload_present && a->reload_done_id != v->reload.id &&
	    running(a)) {
		begin(a, out, ACT_PG_RELOAD, "reload", v->reload.id, "",
		      "reload requested (tenurectl cluster reload)");
		return true;
	}
	return restart_next(a, out);
}

/* ---- the result -------------------------------------------------------------- */

static void request_key_gone(struct agent *a, int status, void *arg)
{
	(void)a;
	(void)status;
	(void)arg;
}

void requests_finished(struct agent *a)
{
	struct running_request *q = &a->req;
	struct node_result res = { .id = q->id,
				   .ok = !a->act_failed,
				   .gap_ms = q->gap_ms,
				   .time_ms = clock_wall_ms() };
	snprintf(res.action, sizeof(res.action), "%s", q->action);
	snprintf(res.role, sizeof(res.role), "%s", q->role);
	snprintf(res.detail, sizeof(res.detail), "%s",
		 a->act_failed ? "failed: see the agent's log" : q->detail);
	char json[1024], key[AGENT_KEY_MAX];
	if (node_result_encode(&res, json, sizeof(json))) {
		snprintf(key, sizeof(key), "results/%s", a->conf->name);
		keys_put(a, key, json, NULL, NULL);
	}
	log_event(res.ok ? LOG_INFO : LOG_WARN, "request_done",
		  "action=%s id=%llu ok=%d gap_ms=%llu", res.action,
		  (unsigned long long)res.id, res.ok,
		  (unsigned long long)res.gap_ms);
	if (strcmp(q->action, "restart") == 0) {
		a->restart_done_id = q->id;
	} else {
		if (strcmp(q->action, "reload") == 0)
			a->reload_done_id = q->id;
		else
			a->reinit_done_id = q->id;
		snprintf(key, sizeof(key), "%s/%s", q->action, a->conf->name);
		keys_delete(a, key, request_key_gone, NULL);
	}
	memset(q, 0, sizeof(*q));
}
