/*
 * agent_act.c — the actions decide() asks for, each a short chain of
 * asynchronous steps (a program run through spawn.h, a query through
 * pg.h, a request to the witnesses) ending in done().  Only one runs at a
 * time; the agent observes again afterwards, so a step that failed is
 * simply asked for again at the next tick.
 *
 * This file holds the helpers every action uses, start and stop, fencing
 * and the dispatch; the families of actions are in agent_act_copy.c,
 * agent_act_follow.c, agent_act_promote.c and agent_act_sync.c
 * (agent_act_int.h says what each holds and what the helpers promise).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_act_int.h"
#include "fencing/fence_pg.h"
#include "fencing/hook_cmd.h"
#include "fencing/pgconf.h"
#include "fencing/roster.h"
#include "fencing/spawn.h"

void act_finish(struct act *x)
{
	struct agent *a = x->a;
	void (*done)(struct agent *) = x->done;
	free(x);
	if (done)
		done(a);
}

/* A program's output as one quoted log field. */
const char *act_one_line(const char *text, char *buf, size_t cap)
{
	char flat[400];
	snprintf(flat, sizeof(flat), "%s", text ? text : "");
	for (char *p = flat; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return log_quote(flat, buf, cap);
}

void act_fail(struct act *x, const char *event, const char *detail)
{
	char q[900];
	log_event(LOG_ERROR, event, "action=%s target=%s detail=%s",
		  decide_kind_name(x->what.kind), x->what.target,
		  act_one_line(detail, q, sizeof(q)));
	x->a->act_failed = true;
	/* The same step is asked for again after a pause, not at once. */
	x->a->retry_after = clock_now_ms() + 1000;
	act_finish(x);
}

const char *act_bin(const struct agent *a, const char *prog, char *buf,
		    size_t cap)
{
	snprintf(buf, cap, "%s/%s", a->conf->pg_bin_dir, prog);
	return buf;
}

void act_conninfo(struct agent *a, const struct member *m, char *buf,
		  size_t cap)
{
	char host[256], port[16];
	roster_split_pg(m->pg, host, sizeof(host), port, sizeof(port));
	buf[0] = '\0';
	pgconf_conninfo_append(buf, cap, "host", host);
	pgconf_conninfo_append(buf, cap, "port", port);
	pgconf_conninfo_append(buf, cap, "user", a->conf->replication_user);
	/* Kept in postgresql.auto.conf (mode 0600, the data directory's
	 * owner only), as the walreceiver needs it at every start. */
	if (a->replication_password)
		pgconf_conninfo_append(buf, cap, "password",
				       a->replication_password);
	pgconf_conninfo_append(buf, cap, "application_name", a->conf->name);
}

int act_set_upstream(struct agent *a, const struct member *m,
		     const char *conninfo, char *err, size_t errlen)
{
	char slot[SLOT_NAME_MAX];
	if (pgconf_auto_set(a->conf->pg_data_dir, "primary_conninfo", conninfo,
			    err, errlen) != 0)
		return -1;
	/* this node's slot on m (agent_slots.c): WAL kept for it while
	 * it is down, whatever wal_keep_size says */
	return pgconf_auto_set(a->conf->pg_data_dir, "primary_slot_name",
			       slots_follow_name(a, m, slot), err, errlen);
}

/* Run a program; next(x, result) continues the chain.  env: extra
 * NAME=VALUE entries, NULL-terminated, or NULL. */
struct step {
	struct act *x;
	act_step_fn next;
};

static void on_step(void *arg, const struct spawn_result *r)
{
	struct step *s = arg;
	struct act *x = s->x;
	act_step_fn next = s->next;
	free(s);
	next(x, r);
}

static void run_env(struct act *x, const char *const *argv,
		    const char *const *env, uint64_t timeout_ms,
		    act_step_fn next, bool fallible)
{
	struct step *s = malloc(sizeof(*s));
	char line[1024];
	log_event(LOG_INFO, "run", "cmd=\"%s\"",
		  spawn_format_argv(argv, line, sizeof(line)));
	static const char *const c_locale[] = { "LC_ALL=C", "LANG=C", NULL };
	struct spawn_opts o = { .argv = argv,
				.timeout_ms = timeout_ms,
				.log_path = x->a->conf->pg_log_file,
				.env_extra = env ? env : c_locale };
	if (!s) {
		act_fail(x, "out_of_memory", argv[0]);
		return;
	}
	s->x = x;
	s->next = next;
	int rc = spawn_run(x->a->loop, &o, on_step, s);
	if (rc != 0 && fallible) {
		/* a program that cannot run fails like one that exits 127
		 * (the shell's "not found"): the caller tries another way */
		char msg[300];
		snprintf(msg, sizeof(msg), "cannot run %s: %s", argv[0],
			 uv_strerror(rc));
		struct spawn_result r = { .exit_status = 127, .output = msg };
		free(s);
		next(x, &r);
	} else if (rc != 0) {
		free(s);
		act_fail(x, "spawn_failed", argv[0]);
	}
}

void act_spawn_env(struct act *x, const char *const *argv,
		   const char *const *env, uint64_t timeout_ms,
		   act_step_fn next)
{
	run_env(x, argv, env, timeout_ms, next, false);
}

void act_spawn_fallible(struct act *x, const char *const *argv,
			const char *const *env, uint64_t timeout_ms,
			act_step_fn next)
{
	run_env(x, argv, env, timeout_ms, next, true);
}

void act_spawn(struct act *x, const char *const *argv, uint64_t timeout_ms,
	       act_step_fn next)
{
	run_env(x, argv, NULL, timeout_ms, next, false);
}

/* A query on the local Postgres; next gets status 0 and rows, or not. */
struct qstep {
	struct act *x;
	act_query_fn next;
};

static void on_query(void *arg, int status, const char *error,
		     const struct pg_rows *rows)
{
	struct qstep *q = arg;
	struct act *x = q->x;
	act_query_fn next = q->next;
	free(q);
	next(x, status, error, rows);
}

void act_query(struct act *x, const char *sql, uint64_t timeout_ms,
	       act_query_fn next)
{
	struct qstep *q = malloc(sizeof(*q));
	if (!q) {
		act_fail(x, "out_of_memory", sql);
		return;
	}
	q->x = x;
	q->next = next;
	if (pg_query(x->a->pg, sql, timeout_ms, on_query, q) != 0) {
		free(q);
		act_fail(x, "pg_query_failed", sql);
	}
}

bool act_spawn_ok(struct act *x, const struct spawn_result *r, const char *what)
{
	if (r->exit_status == 0 && !r->term_signal && !r->timed_out)
		return true;
	char detail[600];
	snprintf(detail, sizeof(detail),
		 "%s exit=%d signal=%d timed_out=%d: %s", what, r->exit_status,
		 r->term_signal, r->timed_out, r->output);
	act_fail(x, "command_failed", detail);
	return false;
}

/* ---- hooks ------------------------------------------------------------ */

/* pre_promote: Patroni's arguments and the TENURE_* environment
 * (hook_cmd.h); the action waits for its verdict. */
void act_run_hook(struct act *x, const char *cmd, const char *action,
		  const char *role, act_step_fn next)
{
	struct hook_cmd h;
	hook_cmd_build(&h, x->a->conf, cmd, action, role);
	run_env(x, h.argv, h.env, 60000, next, false);
}

/* on_role_change runs in the background: the action ends now. */
void act_role_changed(struct act *x, const char *role)
{
	agent_callback(x->a, "on_role_change", role);
	act_finish(x);
}

/* ---- start / stop -------------------------------------------------------- */

static void postmaster_poll(uv_timer_t *t)
{
	struct act *x = t->data;
	pid_t pid = pgconf_postmaster_pid(x->a->conf->pg_data_dir);
	/* A server that exits before its pid file (a bad setting) says so
	 * in its log: no point waiting the full 10 s for it. */
	if ((pid > 0 && kill(pid, 0) == 0) || ++x->polls > 200 ||
	    (x->polls % 4 == 0 && startfail_log_fatal(x->a))) {
		uv_close((uv_handle_t *)t, (uv_close_cb)free);
		act_finish(x);
	}
}

/* pg_ctl start -W returns before the postmaster has written its pid
 * file: wait for it, so that the next observation does not take a
 * starting server for a stopped one (and start it again). */
static void started(struct act *x, const struct spawn_result *r)
{
	if (!act_spawn_ok(x, r, "pg_ctl start"))
		return;
	agent_callback_started(x->a, "replica");
	uv_timer_t *t = malloc(sizeof(*t));
	if (!t) {
		act_finish(x);
		return;
	}
	uv_timer_init(x->a->loop, t);
	t->data = x;
	x->polls = 0;
	uv_timer_start(t, postmaster_poll, 0, 50);
}

/* The postgres options of every start: replication settings every node
 * needs, whatever postgresql.conf says (wal_log_hints makes pg_rewind
 * possible), then the operator's pg_options. */
static void pg_opts(const struct agent *a, char *opts, size_t cap)
{
	char host[256], port[16];
	roster_split_pg(a->conf->pg_listen, host, sizeof(host), port,
			sizeof(port));
	snprintf(opts, cap,
		 "-c listen_addresses=%s -c port=%s -c wal_level=replica "
		 "-c hot_standby=on -c wal_log_hints=on -c max_wal_senders=10 "
		 "-c max_replication_slots=20 -c wal_keep_size=" PG_WAL_KEEP " "
		 "-c cluster_name=%s %s",
		 host, port, a->conf->name,
		 a->conf->pg_options ? a->conf->pg_options : "");
}

void act_pg_start(struct act *x, bool standby, bool wait, act_step_fn next)
{
	struct agent *a = x->a;
	char opts[2600], ctl[1024];
	/* the raised settings last: the last -c of a name wins */
	pg_opts(a, opts, sizeof(opts) - sizeof(x->extra_opts));
	strcat(opts, x->extra_opts);
	char err[256];
	if (pgconf_standby_signal(a->conf->pg_data_dir, standby, err,
				  sizeof(err)) != 0) {
		act_fail(x, "standby_signal_failed", err);
		return;
	}
	if (archive_before_start(a, err, sizeof(err)) != 0) {
		act_fail(x, "pgconf_failed", err);
		return;
	}
	const char *argv[] = { act_bin(a, "pg_ctl", ctl, sizeof(ctl)),
			       "start",
			       "-D",
			       a->conf->pg_data_dir,
			       "-l",
			       a->conf->pg_log_file,
			       wait ? "-w" : "-W",
			       "-t",
			       "120",
			       "-o",
			       opts,
			       NULL };
	act_spawn(x, argv, 130000, next);
}

static void following_opts(void *arg, const char *opts)
{
	struct act *x = arg;
	snprintf(x->extra_opts, sizeof(x->extra_opts), "%s", opts);
	act_pg_start(x, true, false, started);
}

void act_start_following(struct act *x, const char *target)
{
	struct agent *a = x->a;
	char conninfo[1024] = "", err[256], opts[2048];
	const struct member *m = target[0] ? keys_find_member(a, target) : NULL;
	bool main_cluster = strcmp(target, STANDBY_CLUSTER_UPSTREAM) == 0;
	if (m)
		act_conninfo(a, m, conninfo, sizeof(conninfo));
	if ((main_cluster ? standby_cluster_follow(a, err, sizeof(err))
			  : act_set_upstream(a, m, conninfo, err,
					     sizeof(err))) != 0) {
		act_fail(x, "pgconf_failed", err);
		return;
	}
	/* every start counts (after a copy or a rewind too): reset when it
	 * is seen running */
	startfail_begin(a);
	pg_opts(a, opts, sizeof(opts));
	standby_settings_check(a, opts, following_opts, x);
}

static void stopped(struct act *x, const struct spawn_result *r)
{
	if (!act_spawn_ok(x, r, "pg_ctl stop"))
		return;
	agent_callback_stopped(x->a, agent_role_name(x->a));
	act_finish(x);
}

void act_pg_stop(struct act *x, act_step_fn next)
{
	char ctl[1024];
	const char *argv[] = { act_bin(x->a, "pg_ctl", ctl, sizeof(ctl)),
			       "stop",
			       "-D",
			       x->a->conf->pg_data_dir,
			       "-m",
			       "fast",
			       "-w",
			       "-t",
			       "60",
			       NULL };
	act_spawn(x, argv, 70000, next);
}

void act_stop_pg(struct agent *a, void (*done)(struct agent *a))
{
	struct act *x = calloc(1, sizeof(*x));
	if (!x) {
		done(a);
		return;
	}
	x->a = a;
	x->done = done;
	if (!pgconf_is_initialized(a->conf->pg_data_dir)) {
		act_finish(x); /* nothing to stop: no data directory yet */
		return;
	}
	act_pg_stop(x, stopped);
}

/* ---- fencing -------------------------------------------------------------- */

void act_fence(struct agent *a, const char *why)
{
	char msg[256];
	int rc = fence_pg_kill(a->conf->pg_data_dir, msg, sizeof(msg));
	a->fence_actions++;
	a->demotions++;
	log_event(rc == 0 ? LOG_WARN : LOG_ERROR, "fenced",
		  "why=\"%s\" token=%llu result=\"%s\"", why,
		  (unsigned long long)a->primary.token, msg);
	if (rc != 0)
		return; /* the guard stays armed and will try again */
	agent_callback_stopped(a, "primary");
	guard_disarm(a->guard);
	if (a->wd_on) {
		watchdog_disarm(&a->wd);
		a->wd_on = false;
	}
	pg_conn_reset(a->pg);
	/* Tell a candidate that no STONITH is needed for this token. */
	char demoted[AGENT_KEY_MAX];
	snprintf(demoted, sizeof(demoted), "%s %llu", a->conf->name,
		 (unsigned long long)a->primary.token);
	keys_put(a, "demoted", demoted, NULL, NULL);
}

/* ---- dispatch -------------------------------------------------------------- */

void act_run(struct agent *a, const struct decide_action *what,
	     void (*done)(struct agent *a))
{
	struct act *x = calloc(1, sizeof(*x));
	if (!x) {
		done(a);
		return;
	}
	x->a = a;
	x->what = *what;
	x->done = done;
	a->act_failed = false;
	switch (what->kind) {
	case ACT_FENCE:
		act_fence(a, what->reason);
		act_finish(x);
		return;
	case ACT_BOOTSTRAP:
		lease_acquire_primary(a, act_boot_leased, x);
		return;
	case ACT_ADOPT:
		if (lease_primary_valid(a))
			act_adopt_leased(a, true, CLIENT_OK, x);
		else
			lease_acquire_primary(a, act_adopt_leased, x);
		return;
	case ACT_MARK_INIT:
		adopt_mark_initialized(a, act_init_marked, x);
		return;
	case ACT_BASEBACKUP:
		act_create_replica(x);
		return;
	case ACT_START:
		act_start_following(x, what->target);
		return;
	case ACT_RECLONE:
		act_move_aside(x, what->reason);
		return;
	case ACT_RECOVER:
		act_recover(x);
		return;
	case ACT_REWIND:
		act_rewind(x);
		return;
	case ACT_REPOINT:
		act_repoint(x);
		return;
	case ACT_FREEZE:
		act_freeze(x);
		return;
	case ACT_ACQUIRE:
		/* Who must have stopped before we may promote: the newest
		 * history entry says who became primary last, whatever this
		 * agent happened to see. */
		snprintf(a->old_primary, sizeof(a->old_primary), "%s",
			 a->view.hist_primary[0] ? a->view.hist_primary
						 : a->view.last_primary);
		a->old_token = a->view.hist_primary[0] ? a->view.hist_token
						       : a->view.last_token;
		a->old_seen_ms = optime_last_seen_ms(&a->view, a->old_primary);
		lease_acquire_primary(a, act_acquired, x);
		return;
	case ACT_PROMOTE:
		act_promote(x);
		return;
	case ACT_RECLAIM:
		lease_acquire_primary(a, act_reclaimed, x);
		return;
	case ACT_SET_SYNC:
		act_set_sync(x);
		return;
	case ACT_SYNC_KEY:
		keys_put(a, "sync", x->what.target, act_sync_final, x);
		return;
	case ACT_SWITCHOVER:
		act_switchover(x);
		return;
	case ACT_RESTART_STANDBY:
		act_pg_stop(x, act_restart_stopped);
		return;
	case ACT_PG_RESTART:
		act_pg_restart(x);
		return;
	case ACT_PG_RELOAD:
		act_pg_reload(x);
		return;
	case ACT_REINIT:
		act_reinit(x);
		return;
	case ACT_NONE:
		break;
	}
	act_finish(x);
}
