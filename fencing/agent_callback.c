/*
 * agent_callback.c — the operator's callbacks (on_start, on_stop,
 * on_restart, on_reload, on_role_change), run in the background.
 *
 * A callback is told about something that already happened: it may not
 * hold anything up.  So each is spawned (spawn.h) and the agent goes on at
 * once; lease renewals and the fence timers never wait for one.  They run
 * one at a time, in the order the events happened (a script that moves a
 * virtual IP must see on_stop before on_start), each killed with its
 * process group after callback_timeout.  Patroni kills a running callback
 * when the next one comes; here it finishes (or times out) first, and at
 * most CALLBACK_QUEUE_MAX wait behind it (callback_queue.h says which one
 * gives way when more come; a dropped one is logged).
 * A failure is logged and changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/hook_cmd.h"
#include "fencing/spawn.h"

static const char *configured(const struct agent_conf *c, const char *name)
{
	const char *cmd = NULL;
	if (strcmp(name, "on_start") == 0)
		cmd = c->on_start;
	else if (strcmp(name, "on_stop") == 0)
		cmd = c->on_stop;
	else if (strcmp(name, "on_restart") == 0)
		cmd = c->on_restart;
	else if (strcmp(name, "on_reload") == 0)
		cmd = c->on_reload;
	else if (strcmp(name, "on_role_change") == 0)
		cmd = c->on_role_change;
	return cmd && cmd[0] ? cmd : NULL;
}

static void run_next(struct agent *a);

static void callback_done(void *arg, const struct spawn_result *r)
{
	struct agent *a = arg;
	struct agent_callbacks *q = &a->callbacks;
	char out[900];
	if (r->exit_status == 0 && !r->term_signal && !r->timed_out)
		log_event(LOG_INFO, "callback_done", "name=%s role=%s",
			  q->running.name, q->running.role);
	else
		log_event(LOG_WARN, "callback_failed",
			  "name=%s role=%s exit=%d signal=%d timed_out=%d "
			  "output=%s",
			  q->running.name, q->running.role, r->exit_status,
			  r->term_signal, r->timed_out,
			  log_quote(r->output, out, sizeof(out)));
	q->busy = false;
	run_next(a);
}

static bool start_one(struct agent *a, const struct callback_req *req)
{
	const char *cmd = configured(a->conf, req->name);
	if (!cmd)
		return false;
	struct hook_cmd h;
	hook_cmd_build(&h, a->conf, cmd, req->name, req->role);
	struct spawn_opts o = {
		.argv = h.argv,
		.env_extra = h.env,
		.timeout_ms = (uint64_t)a->conf->callback_timeout,
		.log_path = a->conf->pg_log_file
	};
	log_event(LOG_INFO, "callback", "name=%s role=%s cmd=\"%s\"", req->name,
		  req->role, cmd);
	int rc = spawn_run(a->loop, &o, callback_done, a);
	if (rc != 0) {
		log_event(LOG_WARN, "callback_failed",
			  "name=%s role=%s error=\"%s\"", req->name, req->role,
			  uv_strerror(rc));
		return false;
	}
	return true;
}

static void run_next(struct agent *a)
{
	struct agent_callbacks *q = &a->callbacks;
	while (!q->busy && callback_queue_pop(&q->waiting, &q->running))
		q->busy = start_one(a, &q->running);
}

/* What a callback says about Postgres' state, so that a fence after a
 * clean stop is not a second on_stop, and a node coming back as a standby
 * after it was the primary gets on_role_change (as Patroni does). */
static void note_state(struct agent_callbacks *q, const char *name,
		       const char *role)
{
	if (strcmp(name, "on_stop") == 0) {
		q->stopped = true;
	} else if (strcmp(name, "on_start") == 0 ||
		   strcmp(name, "on_role_change") == 0 ||
		   strcmp(name, "on_restart") == 0) {
		q->stopped = false;
		snprintf(q->role, sizeof(q->role), "%s", role);
	}
}

void agent_callback(struct agent *a, const char *name, const char *role)
{
	struct agent_callbacks *q = &a->callbacks;
	struct callback_req dropped;
	note_state(q, name, role);
	if (!configured(a->conf, name))
		return;
	if (callback_queue_push(&q->waiting, name, role, &dropped) ==
	    CALLBACK_QUEUED_DROPPING)
		log_event(LOG_WARN, "callback_dropped",
			  "name=%s role=%s why=\"%d newer callbacks wait\"",
			  dropped.name, dropped.role, CALLBACK_QUEUE_MAX);
	run_next(a);
}

const char *agent_role_name(const struct agent *a)
{
	return a->primary.held || a->pg_obs.state == PG_PRIMARY ? "primary"
								: "replica";
}

void agent_callback_stopped(struct agent *a, const char *role)
{
	/* a restart is one event for the scripts (Patroni's on_restart),
	 * not a stop and a start */
	if (!a->callbacks.stopped && !a->callbacks.restarting)
		agent_callback(a, "on_stop", role);
}

void agent_callback_restart(struct agent *a, bool begun)
{
	a->callbacks.restarting = begun;
}

void agent_callback_started(struct agent *a, const char *role)
{
	if (a->callbacks.restarting) {
		a->callbacks.restarting = false;
		agent_callback(a, "on_restart", role);
		return;
	}
	bool changed = a->callbacks.role[0] &&
		       strcmp(a->callbacks.role, role) != 0;
	agent_callback(a, changed ? "on_role_change" : "on_start", role);
}
