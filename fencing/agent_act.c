/*
 * agent_act.c — the actions decide() asks for, each a short chain of
 * asynchronous steps (a program run through spawn.h, a query through
 * pg.h, a request to the witnesses) ending in done().  Only one runs at a
 * time; the agent observes again afterwards, so a step that failed is
 * simply asked for again at the next tick.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/aside.h"
#include "fencing/controldata.h"
#include "fencing/fence_pg.h"
#include "fencing/flatjson.h"
#include "fencing/pgconf.h"
#include "fencing/roster.h"
#include "fencing/scope_keys.h"
#include "fencing/spawn.h"
#include "fencing/stonith.h"

/* WAL kept for standbys and for pg_rewind of an old primary. */
#define PG_WAL_KEEP "1GB"

struct act {
	struct agent *a;
	struct decide_action what;
	void (*done)(struct agent *a);
	int polls;
	uint64_t final_lsn;
	char sync_union[512];
	char extra_opts[512]; /* a standby's settings raised to its
				   primary's (agent_standby.c) */
	uint64_t copy_bytes;  /* move_aside: the directory's size */
};

static void history_put(struct agent *a, const char *old, const char *reason,
			uint64_t since_ms);
static void copy_refused(struct act *x, const char *msg);
static bool arm_watchdog(struct act *x);

static void finish(struct act *x)
{
	struct agent *a = x->a;
	void (*done)(struct agent *) = x->done;
	free(x);
	if (done)
		done(a);
}

/* A program's output as one quoted log field. */
static const char *one_line(const char *text, char *buf, size_t cap)
{
	char flat[400];
	snprintf(flat, sizeof(flat), "%s", text ? text : "");
	for (char *p = flat; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return log_quote(flat, buf, cap);
}

static void fail(struct act *x, const char *event, const char *detail)
{
	char q[900];
	log_event(LOG_ERROR, event, "action=%s target=%s detail=%s",
		  decide_kind_name(x->what.kind), x->what.target,
		  one_line(detail, q, sizeof(q)));
	/* The same step is asked for again after a pause, not at once. */
	x->a->retry_after = clock_now_ms() + 1000;
	finish(x);
}

static const char *bin(const struct agent *a, const char *prog, char *buf,
		       size_t cap)
{
	snprintf(buf, cap, "%s/%s", a->conf->pg_bin_dir, prog);
	return buf;
}

static void split_pg(const char *addr, char *host, size_t cap, char *port,
		     size_t pcap)
{
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
	if (n >= cap)
		n = cap - 1;
	memcpy(host, addr, n);
	host[n] = '\0';
	snprintf(port, pcap, "%s", colon ? colon + 1 : "5432");
}

void act_conninfo(struct agent *a, const struct member *m, char *buf,
		  size_t cap)
{
	char host[256], port[16];
	split_pg(m->pg, host, sizeof(host), port, sizeof(port));
	buf[0] = '\0';
	pgconf_conninfo_append(buf, cap, "host", host);
	pgconf_conninfo_append(buf, cap, "port", port);
	pgconf_conninfo_append(buf, cap, "user", a->conf->replication_user);
	pgconf_conninfo_append(buf, cap, "application_name", a->conf->name);
}

/* Run a program; next(x, result) continues the chain.  env: extra
 * NAME=VALUE entries, NULL-terminated, or NULL. */
typedef void (*step_fn)(struct act *x, const struct spawn_result *r);
struct step {
	struct act *x;
	step_fn next;
};

static void on_step(void *arg, const struct spawn_result *r)
{
	struct step *s = arg;
	struct act *x = s->x;
	step_fn next = s->next;
	free(s);
	next(x, r);
}

static void run_env(struct act *x, const char *const *argv,
		    const char *const *env, uint64_t timeout_ms, step_fn next)
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
		fail(x, "out_of_memory", argv[0]);
		return;
	}
	s->x = x;
	s->next = next;
	if (spawn_run(x->a->loop, &o, on_step, s) != 0) {
		free(s);
		fail(x, "spawn_failed", argv[0]);
	}
}

static void run(struct act *x, const char *const *argv, uint64_t timeout_ms,
		step_fn next)
{
	run_env(x, argv, NULL, timeout_ms, next);
}

/* A query on the local Postgres; next gets status 0 and rows, or not. */
typedef void (*query_fn)(struct act *x, int status, const char *error,
			 const struct pg_rows *rows);
struct qstep {
	struct act *x;
	query_fn next;
};

static void on_query(void *arg, int status, const char *error,
		     const struct pg_rows *rows)
{
	struct qstep *q = arg;
	struct act *x = q->x;
	query_fn next = q->next;
	free(q);
	next(x, status, error, rows);
}

static void query(struct act *x, const char *sql, uint64_t timeout_ms,
		  query_fn next)
{
	struct qstep *q = malloc(sizeof(*q));
	if (!q) {
		fail(x, "out_of_memory", sql);
		return;
	}
	q->x = x;
	q->next = next;
	if (pg_query(x->a->pg, sql, timeout_ms, on_query, q) != 0) {
		free(q);
		fail(x, "pg_query_failed", sql);
	}
}

static bool spawn_ok(struct act *x, const struct spawn_result *r,
		     const char *what)
{
	if (r->exit_status == 0 && !r->term_signal && !r->timed_out)
		return true;
	char detail[600];
	snprintf(detail, sizeof(detail),
		 "%s exit=%d signal=%d timed_out=%d: %s", what, r->exit_status,
		 r->term_signal, r->timed_out, r->output);
	fail(x, "command_failed", detail);
	return false;
}

/* ---- hooks ------------------------------------------------------------ */

/* Hooks get what Patroni's callbacks get (action, role, scope) as
 * arguments, and the same in TENURE_* variables. */
static void run_hook(struct act *x, const char *cmd, const char *action,
		     const char *role, step_fn next)
{
	char script[1200], v_action[64], v_role[64], v_scope[300], v_name[300];
	char host[256], port[16], v_host[300], v_port[40];
	snprintf(script, sizeof(script), "exec %s \"$@\"", cmd);
	snprintf(v_action, sizeof(v_action), "TENURE_ACTION=%s", action);
	snprintf(v_role, sizeof(v_role), "TENURE_ROLE=%s", role);
	snprintf(v_scope, sizeof(v_scope), "TENURE_SCOPE=%s",
		 x->a->conf->scope);
	snprintf(v_name, sizeof(v_name), "TENURE_NAME=%s", x->a->conf->name);
	/* Where this node's Postgres listens (pg_listen, the address the
	 * standbys replicate from): what a hook repointing a router needs. */
	split_pg(x->a->conf->pg_listen, host, sizeof(host), port, sizeof(port));
	snprintf(v_host, sizeof(v_host), "TENURE_PG_HOST=%s", host);
	snprintf(v_port, sizeof(v_port), "TENURE_PG_PORT=%s", port);
	const char *env[] = { v_action, v_role, v_scope, v_name,
			      v_host,   v_port, NULL };
	const char *argv[] = { "/bin/sh",         "-c",   script,
			       "tenure-hook",     action, role,
			       x->a->conf->scope, NULL };
	run_env(x, argv, env, 60000, next);
}

static void hook_done(struct act *x, const struct spawn_result *r)
{
	char q[900];
	if (r->exit_status != 0)
		log_event(LOG_WARN, "hook_failed", "exit=%d output=%s",
			  r->exit_status, one_line(r->output, q, sizeof(q)));
	finish(x);
}

static void role_changed(struct act *x, const char *role)
{
	const char *cmd = x->a->conf->on_role_change;
	if (cmd && cmd[0])
		run_hook(x, cmd, "on_role_change", role, hook_done);
	else
		finish(x);
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
		finish(x);
	}
}

/* pg_ctl start -W returns before the postmaster has written its pid
 * file: wait for it, so that the next observation does not take a
 * starting server for a stopped one (and start it again). */
static void started(struct act *x, const struct spawn_result *r)
{
	if (!spawn_ok(x, r, "pg_ctl start"))
		return;
	uv_timer_t *t = malloc(sizeof(*t));
	if (!t) {
		finish(x);
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
	split_pg(a->conf->pg_listen, host, sizeof(host), port, sizeof(port));
	snprintf(opts, cap,
		 "-c listen_addresses=%s -c port=%s -c wal_level=replica "
		 "-c hot_standby=on -c wal_log_hints=on -c max_wal_senders=10 "
		 "-c max_replication_slots=10 -c wal_keep_size=" PG_WAL_KEEP " "
		 "-c cluster_name=%s %s",
		 host, port, a->conf->name,
		 a->conf->pg_options ? a->conf->pg_options : "");
}

static void pg_start(struct act *x, bool standby, bool wait, step_fn next)
{
	struct agent *a = x->a;
	char opts[2600], ctl[1024];
	/* the raised settings last: the last -c of a name wins */
	pg_opts(a, opts, sizeof(opts) - sizeof(x->extra_opts));
	strcat(opts, x->extra_opts);
	char err[256];
	if (pgconf_standby_signal(a->conf->pg_data_dir, standby, err,
				  sizeof(err)) != 0) {
		fail(x, "standby_signal_failed", err);
		return;
	}
	const char *argv[] = { bin(a, "pg_ctl", ctl, sizeof(ctl)),
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
	run(x, argv, 130000, next);
}

static void following_opts(void *arg, const char *opts)
{
	struct act *x = arg;
	snprintf(x->extra_opts, sizeof(x->extra_opts), "%s", opts);
	pg_start(x, true, false, started);
}

static void start_following(struct act *x, const char *target)
{
	struct agent *a = x->a;
	char conninfo[1024] = "", err[256], opts[2048];
	const struct member *m = target[0] ? keys_find_member(a, target) : NULL;
	if (m)
		act_conninfo(a, m, conninfo, sizeof(conninfo));
	if (pgconf_auto_set(a->conf->pg_data_dir, "primary_conninfo", conninfo,
			    err, sizeof(err)) != 0) {
		fail(x, "pgconf_failed", err);
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
	if (!spawn_ok(x, r, "pg_ctl stop"))
		return;
	finish(x);
}

static void pg_stop(struct act *x, step_fn next)
{
	char ctl[1024];
	const char *argv[] = { bin(x->a, "pg_ctl", ctl, sizeof(ctl)),
			       "stop",
			       "-D",
			       x->a->conf->pg_data_dir,
			       "-m",
			       "fast",
			       "-w",
			       "-t",
			       "60",
			       NULL };
	run(x, argv, 70000, next);
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
		finish(x); /* nothing to stop: no data directory yet */
		return;
	}
	pg_stop(x, stopped);
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

/* ---- bootstrap --------------------------------------------------------- */

/* Adopted (agent_adopt.c): S/initialize is in (or will be written by
 * ACT_MARK_INIT), then as after a bootstrap. */
static void adopt_marked(struct agent *a, int status, void *arg)
{
	struct act *x = arg;
	history_put(a, "", "adopted existing data", 0);
	adopt_log(a);
	a->promotions++;
	role_changed(x, "primary");
}

static void boot_role(struct act *x, int status, const char *error,
		      const struct pg_rows *rows)
{
	if (status != 0) {
		fail(x,
		     x->what.kind == ACT_ADOPT ? "adopt_failed"
					       : "bootstrap_failed",
		     error);
		return;
	}
	if (x->what.kind == ACT_ADOPT) {
		adopt_mark_initialized(x->a, adopt_marked, x);
		return;
	}
	keys_put(x->a, "initialize", x->a->conf->name, NULL, NULL);
	history_put(x->a, "", "bootstrap", 0);
	log_event(LOG_INFO, "bootstrapped", "node=%s", x->a->conf->name);
	x->a->promotions++;
	role_changed(x, "primary");
}

static void boot_started(struct act *x, const struct spawn_result *r)
{
	if (!spawn_ok(x, r, "pg_ctl start"))
		return;
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE "
		 "rolname = '%s') THEN CREATE ROLE \"%s\" WITH REPLICATION "
		 "LOGIN; END IF; END$$",
		 x->a->conf->replication_user, x->a->conf->replication_user);
	query(x, sql, 30000, boot_role);
}

static void boot_initdb_done(struct act *x, const struct spawn_result *r)
{
	if (spawn_ok(x, r, "initdb") && arm_watchdog(x))
		pg_start(x, false, true, boot_started);
}

/* Existing data of a former primary: as bootstrap, without initdb. */
static void adopt_leased(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	if (!ok)
		finish(x); /* someone else adopts or bootstraps */
	else if (arm_watchdog(x))
		pg_start(x, false, true, boot_started);
}

static void init_marked(struct agent *a, int status, void *arg)
{
	finish(arg);
}

static void boot_leased(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	if (!ok) {
		finish(x); /* someone else bootstraps */
		return;
	}
	char initdb[1024];
	mkdir(a->conf->pg_data_dir, 0700);
	const char *argv[] = { bin(a, "initdb", initdb, sizeof(initdb)),
			       "-D",
			       a->conf->pg_data_dir,
			       "-U",
			       a->conf->pg_superuser,
			       "-A",
			       "trust",
			       "-k",
			       "-E",
			       "UTF8",
			       "--no-instructions",
			       NULL };
	run(x, argv, 300000, boot_initdb_done);
}

/* ---- copy, recover, rewind -------------------------------------------- */

static void basebackup_done(struct act *x, const struct spawn_result *r)
{
	if (spawn_ok(x, r, "pg_basebackup"))
		start_following(x, x->what.target);
}

static void do_basebackup(struct act *x)
{
	struct agent *a = x->a;
	const struct member *m = keys_find_member(a, x->what.target);
	if (!m) {
		fail(x, "basebackup_failed", "no record of the primary");
		return;
	}
	char host[256], port[16], prog[1024], msg[300];
	uint64_t free_bytes;
	if (a->copy_need_bytes &&
	    aside_free_bytes(a->conf->pg_data_dir, &free_bytes) == 0 &&
	    !aside_room(a->conf->pg_data_dir, a->copy_need_bytes, free_bytes,
			msg, sizeof(msg))) {
		copy_refused(x, msg);
		return;
	}
	split_pg(m->pg, host, sizeof(host), port, sizeof(port));
	mkdir(a->conf->pg_data_dir, 0700);
	const char *argv[] = { bin(a, "pg_basebackup", prog, sizeof(prog)),
			       "-D",
			       a->conf->pg_data_dir,
			       "-h",
			       host,
			       "-p",
			       port,
			       "-U",
			       a->conf->replication_user,
			       "-X",
			       "stream",
			       "-c",
			       "fast",
			       "-w",
			       NULL };
	run(x, argv, 3600000, basebackup_done);
}

static void recovered(struct act *x, const struct spawn_result *r)
{
	if (spawn_ok(x, r, "postgres --single (crash recovery)"))
		finish(x);
}

/* pg_rewind needs a cleanly shut down target: a crashed old primary
 * replays its WAL in single-user mode first (no connections accepted). */
static void do_recover(struct act *x)
{
	struct agent *a = x->a;
	char prog[1024], err[256];
	pgconf_standby_signal(a->conf->pg_data_dir, false, err, sizeof(err));
	/* wal_keep_size as at every start: the checkpoint at the end must
	 * not recycle the WAL pg_rewind will read next. */
	const char *argv[] = { bin(a, "postgres", prog, sizeof(prog)),
			       "--single",
			       "-D",
			       a->conf->pg_data_dir,
			       "-c",
			       "archive_mode=off",
			       "-c",
			       "wal_keep_size=" PG_WAL_KEEP,
			       "template1",
			       NULL };
	run(x, argv, 600000, recovered);
}

/* A fresh copy of the data directory (pg_rewind cannot always do it:
 * the WAL back to the common checkpoint is gone; or the data diverged or
 * is damaged).  The directory is kept aside (DATADIR.diverged-SECONDS)
 * only when no earlier copy is: the first one holds what the node had
 * when it left the primary's history, later ones only an earlier copy of
 * the primary (aside.h).  Nothing moves when the file system has no room
 * for a fresh copy beside what stays. */
static void copy_refused(struct act *x, const char *msg)
{
	struct agent *a = x->a;
	snprintf(a->copy_problem, sizeof(a->copy_problem), "%s", msg);
	log_event(LOG_ERROR, "copy_refused", "why=\"%s\"", msg);
	/* asked again in a while: free space does not come every second */
	a->retry_after = clock_now_ms() + 30000;
	finish(x);
}

static void copy_begins(struct act *x)
{
	struct agent *a = x->a;
	a->copy_need_bytes = x->copy_bytes;
	a->copy_problem[0] = '\0';
	a->copies++;
	a->copied_ms = clock_now_ms();
	a->rewind_failures = 0;
	a->start_failures = 0;
	a->start_failed_ms = 0;
	a->rewound = false;
}

static void removed(struct act *x, const struct spawn_result *r)
{
	char q[900];
	if (r->exit_status != 0)
		log_event(LOG_ERROR, "remove_failed",
			  "output=%s hint=\"remove "
			  "it by hand\"",
			  one_line(r->output, q, sizeof(q)));
	finish(x);
}

/* An earlier copy is kept already: this directory goes (renamed first,
 * so that a crash half-way never leaves half a directory in its place). */
static void remove_current(struct act *x, const char *kept, const char *why)
{
	struct agent *a = x->a;
	char doomed[1200];
	snprintf(doomed, sizeof(doomed), "%s.removing-%llu",
		 a->conf->pg_data_dir,
		 (unsigned long long)(clock_wall_ms() / 1000));
	if (rename(a->conf->pg_data_dir, doomed) != 0) {
		fail(x, "move_aside_failed", doomed);
		return;
	}
	log_event(LOG_ERROR, "data_dir_removed",
		  "dir=%s kept=%s why=\"%s: re-copying from the primary; the "
		  "earlier copy is kept, this one is removed\"",
		  a->conf->pg_data_dir, kept, why);
	copy_begins(x);
	const char *argv[] = { "rm", "-rf", "--", doomed, NULL };
	run(x, argv, 3600000, removed);
}

static void sized(struct act *x, const struct spawn_result *r)
{
	struct agent *a = x->a;
	const char *why = x->what.reason ? x->what.reason : "";
	char kept[1200], aside[1200], msg[300];
	uint64_t free_bytes = 0;
	x->copy_bytes = r->exit_status == 0
				? strtoull(r->output, NULL, 10) * 1024
				: 0;
	if (aside_find(a->conf->pg_data_dir, kept, sizeof(kept)) == 1) {
		remove_current(x, kept, why);
		return;
	}
	if (aside_free_bytes(a->conf->pg_data_dir, &free_bytes) == 0 &&
	    !aside_room(a->conf->pg_data_dir, x->copy_bytes, free_bytes, msg,
			sizeof(msg))) {
		copy_refused(x, msg);
		return;
	}
	snprintf(aside, sizeof(aside), "%s.diverged-%llu", a->conf->pg_data_dir,
		 (unsigned long long)(clock_wall_ms() / 1000));
	if (rename(a->conf->pg_data_dir, aside) != 0) {
		fail(x, "move_aside_failed", aside);
		return;
	}
	log_event(LOG_ERROR, "data_dir_moved_aside",
		  "from=%s to=%s why=\"%s: re-copying from the primary\"",
		  a->conf->pg_data_dir, aside, why);
	copy_begins(x);
	finish(x);
}

static void move_aside(struct act *x, const char *why)
{
	x->what.reason = why;
	const char *argv[] = { "du", "-sk", x->a->conf->pg_data_dir, NULL };
	run(x, argv, 600000, sized);
}

static void rewound(struct act *x, const struct spawn_result *r)
{
	struct agent *a = x->a;
	bool ok = r->exit_status == 0 && !r->term_signal && !r->timed_out;
	if (!ok && !strstr(r->output, "connection to server") &&
	    ++a->rewind_failures >= 2) {
		char q[900];
		log_event(LOG_ERROR, "rewind_failed", "output=%s",
			  one_line(r->output, q, sizeof(q)));
		move_aside(x, "pg_rewind failed twice");
		return;
	}
	if (!spawn_ok(x, r, "pg_rewind"))
		return;
	a->rewound = true;
	a->rewind_failures = 0;
	start_following(x, x->what.target);
}

static void do_rewind(struct act *x)
{
	struct agent *a = x->a;
	const struct member *m = keys_find_member(a, x->what.target);
	if (!m) {
		fail(x, "rewind_failed", "no record of the primary");
		return;
	}
	char host[256], port[16], prog[1024], src[1024] = "";
	split_pg(m->pg, host, sizeof(host), port, sizeof(port));
	pgconf_conninfo_append(src, sizeof(src), "host", host);
	pgconf_conninfo_append(src, sizeof(src), "port", port);
	pgconf_conninfo_append(src, sizeof(src), "user", a->conf->pg_superuser);
	pgconf_conninfo_append(src, sizeof(src), "dbname",
			       a->conf->pg_database);
	char source[1100];
	snprintf(source, sizeof(source), "--source-server=%s", src);
	const char *argv[] = { bin(a, "pg_rewind", prog, sizeof(prog)), "-D",
			       a->conf->pg_data_dir, source, NULL };
	run(x, argv, 3600000, rewound);
}

static void restart_stopped(struct act *x, const struct spawn_result *r)
{
	if (!spawn_ok(x, r, "pg_ctl stop"))
		return;
	x->a->rewound = false;
	do_rewind(x);
}

/* ---- replication: re-point and freeze ---------------------------------- */

static void reloaded(struct act *x, int status, const char *error,
		     const struct pg_rows *rows)
{
	if (status != 0)
		fail(x, "reload_failed", error);
	else
		finish(x);
}

static bool set_conninfo(struct act *x, const char *conninfo)
{
	char err[256];
	if (pgconf_auto_set(x->a->conf->pg_data_dir, "primary_conninfo",
			    conninfo, err, sizeof(err)) == 0)
		return true;
	fail(x, "pgconf_failed", err);
	return false;
}

static void do_repoint(struct act *x)
{
	const struct member *m = keys_find_member(x->a, x->what.target);
	char conninfo[1024];
	if (!m) {
		fail(x, "repoint_failed", "no record of the primary");
		return;
	}
	act_conninfo(x->a, m, conninfo, sizeof(conninfo));
	if (set_conninfo(x, conninfo))
		query(x, "SELECT pg_reload_conf()", 5000, reloaded);
}

static void freeze_poll(struct act *x, int status, const char *error,
			const struct pg_rows *rows);

static void freeze_wait(uv_timer_t *t)
{
	struct act *x = t->data;
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
	query(x, "SELECT count(*) FROM pg_stat_wal_receiver", 5000,
	      freeze_poll);
}

/* Frozen means the walreceiver is gone: from then on this standby cannot
 * acknowledge anything for the old primary. */
static void freeze_poll(struct act *x, int status, const char *error,
			const struct pg_rows *rows)
{
	const char *v = status == 0 ? pg_rows_get(rows, 0, 0) : NULL;
	if (v && strcmp(v, "0") == 0) {
		log_event(LOG_INFO, "frozen", "node=%s", x->a->conf->name);
		finish(x);
		return;
	}
	if (++x->polls > 100) {
		fail(x, "freeze_failed", "the walreceiver did not stop in 5 s");
		return;
	}
	uv_timer_t *t = malloc(sizeof(*t));
	if (!t) {
		fail(x, "out_of_memory", "freeze");
		return;
	}
	uv_timer_init(x->a->loop, t);
	t->data = x;
	uv_timer_start(t, freeze_wait, 50, 0);
}

static void freeze_reloaded(struct act *x, int status, const char *error,
			    const struct pg_rows *rows)
{
	if (status != 0)
		fail(x, "reload_failed", error);
	else
		freeze_poll(x, 1, NULL, NULL);
}

static void do_freeze(struct act *x)
{
	if (set_conninfo(x, ""))
		query(x, "SELECT pg_reload_conf()", 5000, freeze_reloaded);
}

/* ---- taking the lease and promoting ------------------------------------ */

static void acquired(struct agent *a, bool ok, int status, void *arg)
{
	finish(arg);
}

/* The history stays bounded: the oldest entries beyond the newest
 * SCOPE_HISTORY_KEEP go once a new one is in. */
static void history_written(struct agent *a, int status, void *arg)
{
	if (status == CLIENT_OK)
		keys_prune(a, "history/", SCOPE_HISTORY_KEEP);
}

/* One entry per new primary, keyed by its token (so LIST returns them in
 * order): the cluster's history, and how a candidate knows whom to fence. */
static void history_put(struct agent *a, const char *old, const char *reason,
			uint64_t since_ms)
{
	uint64_t now = clock_wall_ms();
	char json[1024], key[64];
	struct flatjson_writer w;
	flatjson_begin(&w, json, sizeof(json));
	flatjson_put_u64(&w, "time_ms", now);
	flatjson_put_str(&w, "old", old);
	flatjson_put_str(&w, "new", a->conf->name);
	flatjson_put_str(&w, "reason", reason);
	flatjson_put_u64(&w, "token", a->primary.token);
	flatjson_put_u64(&w, "unavailable_ms",
			 since_ms && now > since_ms ? now - since_ms : 0);
	if (!flatjson_end(&w))
		return;
	snprintf(key, sizeof(key), "history/%020llu",
		 (unsigned long long)a->primary.token);
	keys_put(a, key, json, history_written, NULL);
}

/* A switchover to another node that did not happen: this node (the
 * last primary) took the role back, and the request ends here, with the
 * reason in the history for `tenurectl cluster switchover` to show. */
static void history_switch_failed(struct agent *a)
{
	const struct witness_view *v = &a->view;
	char reason[600];
	snprintf(reason, sizeof(reason),
		 "switchover to %s failed: it did "
		 "not take the primary lease within %lld ms (see its agent's "
		 "log); %s took the role back",
		 v->switch_candidate, (long long)(2 * a->live.lease_ttl),
		 a->conf->name);
	char q[800];
	log_event(LOG_WARN, "switchover_failed", "candidate=%s reason=%s",
		  v->switch_candidate, log_quote(reason, q, sizeof(q)));
	history_put(a, a->old_primary, reason, v->switch_requested_ms);
	keys_delete(a, "switchover", NULL, NULL);
}

static void history_promoted(struct agent *a)
{
	const struct witness_view *v = &a->view;
	bool planned = v->switch_candidate[0] &&
		       strcmp(v->switch_candidate, a->conf->name) == 0;
	a->switch_done_ms = v->switch_requested_ms;
	if (v->switch_candidate[0] && !planned && !v->switch_is_failover &&
	    strcmp(a->old_primary, a->conf->name) == 0) {
		history_switch_failed(a);
		return;
	}
	if (planned) {
		/* A failover replaces a primary that may have died long
		 * before the request: the outage runs from its last sign of
		 * life. */
		uint64_t since = v->switch_requested_ms;
		uint64_t bar = optime_view_bar(v);
		if (v->switch_force)
			log_event(
				LOG_WARN, "forced_failover",
				"node=%s behind_bytes=%llu note=\"promoted "
				"as the operator forced: commits beyond "
				"this node's position are lost\"",
				a->conf->name,
				(unsigned long long)(bar > a->pg_obs.received_lsn
							     ? bar - a->pg_obs.received_lsn
							     : 0));
		if (v->switch_is_failover && a->old_seen_ms &&
		    a->old_seen_ms < since)
			since = a->old_seen_ms;
		history_put(a, a->old_primary,
			    !v->switch_is_failover ? "switchover"
			    : v->switch_force      ? "forced failover"
						   : "manual failover",
			    since);
		keys_delete(a, "switchover", NULL, NULL);
		a->switchovers++;
		return;
	}
	/* The old primary's agent stopped it and said so (S/demoted): a
	 * planned handover, not a failure. */
	char confirmed[AGENT_KEY_MAX];
	snprintf(confirmed, sizeof(confirmed), "%s %llu", a->old_primary,
		 (unsigned long long)a->old_token);
	bool stopped = a->old_primary[0] && strcmp(v->demoted, confirmed) == 0;
	/* Never 0 after an outage: with no sign of life of the old primary
	 * known, its lease had at least a TTL to run out (a lower bound). */
	uint64_t since = a->old_seen_ms;
	if (!since && !stopped && a->old_primary[0])
		since = clock_wall_ms() - (uint64_t)a->live.lease_ttl;
	history_put(a, a->old_primary,
		    stopped ? "primary stopped" : "primary lease expired",
		    since);
	if (a->old_primary[0] && strcmp(a->old_primary, a->conf->name) != 0)
		a->failovers++;
}

static void checkpointed(struct act *x, int status, const char *error,
			 const struct pg_rows *rows)
{
	if (status != 0)
		log_event(LOG_WARN, "checkpoint_failed",
			  "after=promotion err=\"%s\"", error ? error : "");
	role_changed(x, "primary");
}

static void promoted(struct act *x, int status, const char *error,
		     const struct pg_rows *rows)
{
	const char *v = status == 0 ? pg_rows_get(rows, 0, 0) : NULL;
	if (!v || v[0] != 't') {
		fail(x, "promote_failed", error ? error : "pg_promote said no");
		return;
	}
	struct agent *a = x->a;
	a->promotions++;
	a->promoted_ms = clock_wall_ms();
	a->rewound = false;
	log_event(LOG_INFO, "promoted", "node=%s token=%llu", a->conf->name,
		  (unsigned long long)a->primary.token);
	history_promoted(a);
	char left[MEMBER_STR_MAX];
	if (a->old_primary[0] &&
	    strcmp(unguarded_name(&a->view, left, sizeof(left)),
		   a->old_primary) == 0)
		keys_delete(a, "unguarded", NULL, NULL); /* switched off */
	/* PostgreSQL 15's pg_rewind reads the new timeline from pg_control,
	 * which only a checkpoint updates: without it the old primary would
	 * be told "no rewind required" and could never follow us. */
	query(x, "CHECKPOINT", 600000, checkpointed);
}

static void refuse_promotion(struct act *x, const char *why, bool veto_self);

/* Maintenance mode, the agent back: its running primary has the lease
 * again (and the watchdog, when configured: without it the lease goes
 * again and the next tick fences). */
static void reclaimed(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	if (!ok || !arm_watchdog(x)) {
		if (!ok)
			finish(x);
		return;
	}
	log_event(LOG_INFO, "reclaimed",
		  "node=%s token=%llu note=\"the "
		  "primary left running in maintenance mode has its lease "
		  "again\"",
		  a->conf->name, (unsigned long long)a->primary.token);
	history_put(a, a->conf->name, "agent restarted in maintenance mode", 0);
	keys_delete(a, "unguarded", NULL, NULL);
	finish(x);
}

/* Shorter than what is left of the lease: a host that stops feeding it
 * is reset before anyone else can be promoted.  False when the device
 * cannot be armed: then this node must not become primary, and it must
 * not sit on the lease either (a cluster without a primary while a
 * standby with a working watchdog waits): it releases the lease. */
static bool arm_watchdog(struct act *x)
{
	struct agent *a = x->a;
	if (!a->conf->watchdog_device || !a->conf->watchdog_device[0] ||
	    a->wd_on)
		return true;
	char note[256];
	uint64_t left = lease_primary_left_ms(a);
	int timeout_s = left >= 2000 ? (int)(left / 1000) : 1;
	if (watchdog_open(a->conf->watchdog_device, timeout_s, &a->wd, note,
			  sizeof(note)) != 0) {
		char why[400], q[600];
		log_event(LOG_ERROR, "watchdog_failed", "device=%s detail=%s",
			  a->conf->watchdog_device,
			  one_line(note, q, sizeof(q)));
		snprintf(why, sizeof(why), "watchdog %s cannot be armed: %s",
			 a->conf->watchdog_device, note);
		/* out of the running for a while: another standby, whose
		 * watchdog works, becomes the candidate meanwhile */
		refuse_promotion(x, why, true);
		return false;
	}
	a->wd_on = true;
	log_event(LOG_INFO, "watchdog_armed",
		  "device=%s timeout_s=%d note=\"%s\"",
		  a->conf->watchdog_device, timeout_s, note);
	return true;
}

static void format_sync(const char *list, int count, char *out, size_t cap);

static void promote_reloaded(struct act *x, int status, const char *error,
			     const struct pg_rows *rows)
{
	if (status != 0) {
		fail(x, "reload_failed", error);
		return;
	}
	query(x, "SELECT pg_promote(true, 60)", 70000, promoted);
}

/* Synchronous mode: the first commit after the promotion already waits
 * for a standby S/sync names (the others, once they follow): none is
 * acknowledged on this node alone while S/sync still promises a failover
 * to one of them.  The primary's first sync step then narrows as usual. */
static void promote_with_sync(struct act *x)
{
	struct agent *a = x->a;
	char others[512] = "", name[MEMBER_STR_MAX], setting[600], err[256];
	size_t len = 0;
	for (const char *p = a->view.sync;
	     len < sizeof(others) &&
	     (p = roster_list_next(p, name, sizeof(name)));)
		if (name[0] && strcmp(name, a->conf->name) != 0)
			len += (size_t)snprintf(others + len,
						sizeof(others) - len, "%s%s",
						len ? "," : "", name);
	format_sync(others, (int)a->live.synchronous_node_count, setting,
		    sizeof(setting));
	a->sync_since_lsn = 0;
	if (pgconf_auto_set(a->conf->pg_data_dir, "synchronous_standby_names",
			    setting, err, sizeof(err)) != 0) {
		fail(x, "pgconf_failed", err);
		return;
	}
	log_event(LOG_INFO, "sync_standbys", "names=\"%s\" when=promotion",
		  others);
	query(x, "SELECT pg_reload_conf()", 5000, promote_reloaded);
}

static void promote_now(struct act *x)
{
	struct agent *a = x->a;
	if (!lease_primary_valid(a)) {
		fail(x, "promote_refused", "the lease is no longer valid");
		return;
	}
	if (!arm_watchdog(x))
		return;
	if (a->live.synchronous_mode)
		promote_with_sync(x);
	else
		query(x, "SELECT pg_promote(true, 60)", 70000, promoted);
}

/* Releasing after a refused promotion lets another standby try.  A node
 * its own pre_promote hook vetoed (or whose watchdog cannot be armed)
 * stays out of the running for a while;
 * one that could not fence the old primary tries again shortly (the old
 * primary must be fenced by someone before anyone is promoted). */
static void refuse_promotion(struct act *x, const char *why, bool veto_self)
{
	struct agent *a = x->a;
	log_event(LOG_ERROR, "promotion_refused", "node=%s why=\"%s\"",
		  a->conf->name, why);
	if (veto_self)
		a->veto_until = clock_now_ms() + 30000;
	else
		a->retry_after = clock_now_ms() + 2000;
	lease_release_primary(a, acquired, x);
}

static void fenced_old(void *arg, bool ok, const char *message)
{
	struct act *x = arg;
	log_event(ok ? LOG_WARN : LOG_ERROR, "stonith",
		  "target=%s ok=%d message=\"%s\"", x->a->old_primary, ok,
		  message);
	if (ok)
		promote_now(x);
	else
		refuse_promotion(x,
				 "STONITH of the old primary failed: NOT "
				 "promoting (fencing = required)",
				 false);
}

/* Fencing required: unless the old primary's agent wrote that it stopped
 * (S/demoted = "NAME TOKEN"), it is switched off before we promote. */
static void promote_fence_step(struct act *x)
{
	struct agent *a = x->a;
	char confirmed[AGENT_KEY_MAX], left[MEMBER_STR_MAX];
	snprintf(confirmed, sizeof(confirmed), "%s %llu", a->old_primary,
		 (unsigned long long)a->old_token);
	/* Maintenance mode left the old primary running without its agent:
	 * nothing stops it but a switch, whatever `fencing` says. */
	bool running = a->old_primary[0] &&
		       strcmp(a->old_primary, a->conf->name) != 0 &&
		       strcmp(unguarded_name(&a->view, left, sizeof(left)),
			      a->old_primary) == 0;
	if (running &&
	    (!a->conf->stonith_command || !a->conf->stonith_command[0])) {
		refuse_promotion(x,
				 "the old primary was left running without "
				 "its agent in maintenance mode and no "
				 "stonith_command can switch it off: start its "
				 "agent again (it takes its lease back), or "
				 "stop "
				 "its Postgres and delete S/unguarded",
				 false);
		return;
	}
	if (!running && (a->conf->fencing == 0 || !a->old_primary[0] ||
			 strcmp(a->old_primary, a->conf->name) == 0 ||
			 strcmp(a->view.demoted, confirmed) == 0)) {
		promote_now(x);
		return;
	}
	if (!a->conf->stonith_command || !a->conf->stonith_command[0]) {
		refuse_promotion(x, "fencing = required but no stonith_command",
				 false);
		return;
	}
	a->fence_actions++;
	if (stonith_fence(a->loop, a->conf->stonith_command, a->old_primary,
			  60000, fenced_old, x) != 0)
		refuse_promotion(x, "could not run stonith_command", false);
}

static void pre_promote_done(struct act *x, const struct spawn_result *r)
{
	if (r->exit_status != 0 || r->term_signal || r->timed_out)
		refuse_promotion(x, "the pre_promote hook vetoed it", true);
	else
		promote_fence_step(x);
}

static void do_promote(struct act *x)
{
	const char *hook = x->a->conf->pre_promote;
	if (hook && hook[0])
		run_hook(x, hook, "pre_promote", "replica", pre_promote_done);
	else
		promote_fence_step(x);
}

/* ---- synchronous standbys ------------------------------------------------ */

static void format_sync(const char *list, int count, char *out, size_t cap)
{
	if (!list[0]) {
		out[0] = '\0';
		return;
	}
	size_t len = (size_t)snprintf(out, cap, "ANY %d (",
				      decide_sync_count(count, list));
	char name[MEMBER_STR_MAX];
	const char *sep = "";
	for (const char *p = list;
	     len < cap && (p = roster_list_next(p, name, sizeof(name)));
	     sep = ",")
		len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", sep,
					name);
	if (len < cap)
		snprintf(out + len, cap - len, ")");
}

static void union_lists(const char *a, const char *b, char *out, size_t cap)
{
	snprintf(out, cap, "%s", a);
	char name[MEMBER_STR_MAX];
	for (const char *p = b;
	     (p = roster_list_next(p, name, sizeof(name)));) {
		if (name[0] && !roster_in_list(out, name)) {
			size_t len = strlen(out);
			snprintf(out + len, cap - len, "%s%s", len ? "," : "",
				 name);
		}
	}
}

static void sync_final(struct agent *a, int status, void *arg)
{
	struct act *x = arg;
	if (status == CLIENT_OK) {
		snprintf(a->view.sync, sizeof(a->view.sync), "%s",
			 x->what.target);
		a->view.sync_present = true;
	}
	finish(x);
}

static void sync_removed(struct agent *a, int status, void *arg)
{
	if (status == CLIENT_OK || status == CLIENT_NOT_FOUND) {
		a->view.sync[0] = '\0';
		a->view.sync_present = false;
		log_event(LOG_INFO, "sync_key_removed",
			  "why=\"asynchronous mode\"");
	}
	finish(arg);
}

/* Every commit acknowledged before Postgres waited for the new list is
 * at or below this position (decide.c sync_caught_up). */
static void sync_marked(struct act *x, int status, const char *error,
			const struct pg_rows *rows)
{
	const char *v = status == 0 ? pg_rows_get(rows, 0, 0) : NULL;
	if (!v) {
		fail(x, "sync_position_failed", error ? error : "no answer");
		return;
	}
	x->a->sync_since_lsn = strtoull(v, NULL, 10);
	finish(x);
}

static void sync_reloaded(struct act *x, int status, const char *error,
			  const struct pg_rows *rows)
{
	if (status != 0) {
		fail(x, "reload_failed", error);
		return;
	}
	/* Postgres now waits for the new list (a reload is applied before
	 * the next commit starts waiting); only then may S/sync shrink,
	 * or, in asynchronous mode, go. */
	if (!x->a->live.synchronous_mode && x->a->view.sync_present)
		keys_delete(x->a, "sync", sync_removed, x);
	else if (!x->a->live.synchronous_mode || !x->what.target[0])
		finish(x);
	else /* S/sync names them later (ACT_SYNC_KEY), once caught up */
		query(x,
		      "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint",
		      5000, sync_marked);
}

static void sync_widened(struct agent *a, int status, void *arg)
{
	struct act *x = arg;
	if (status != CLIENT_OK) {
		fail(x, "sync_key_failed", client_status_name(status));
		return;
	}
	char setting[600], err[256];
	format_sync(x->what.target, (int)a->live.synchronous_node_count,
		    setting, sizeof(setting));
	if (pgconf_auto_set(a->conf->pg_data_dir, "synchronous_standby_names",
			    setting, err, sizeof(err)) != 0) {
		fail(x, "pgconf_failed", err);
		return;
	}
	log_event(LOG_INFO, "sync_standbys", "names=\"%s\"", x->what.target);
	query(x, "SELECT pg_reload_conf()", 5000, sync_reloaded);
}

/* Synchronous mode keeps one invariant: every acknowledged commit is on
 * some node S/sync names (a failover waits for all of them to stop and
 * promotes the most advanced).  So:
 *   - Postgres to wait for nobody: S/sync emptied first (no failover may
 *     count on it), then Postgres changed;
 *   - Postgres to wait for others: S/sync, if it names anyone, widened
 *     to old and new first, then Postgres changed, and its position noted;
 *     S/sync narrows to the new list later (ACT_SYNC_KEY), once one of
 *     them has reached that position. */
static void do_set_sync(struct act *x)
{
	struct agent *a = x->a;
	if (!a->live.synchronous_mode) {
		sync_widened(a, CLIENT_OK, x);
		return;
	}
	if (!x->what.target[0]) {
		if (a->view.sync[0])
			keys_put(a, "sync", "", sync_widened, x);
		else
			sync_widened(a, CLIENT_OK, x);
		return;
	}
	union_lists(a->view.sync, x->what.target, x->sync_union,
		    sizeof(x->sync_union));
	if (!a->view.sync[0] || strcmp(x->sync_union, a->view.sync) == 0)
		sync_widened(a, CLIENT_OK, x);
	else
		keys_put(a, "sync", x->sync_union, sync_widened, x);
}

/* ---- switchover ---------------------------------------------------------- */

static void switch_released(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	char demoted[AGENT_KEY_MAX];
	snprintf(demoted, sizeof(demoted), "%s %llu", a->conf->name,
		 (unsigned long long)a->primary.token);
	keys_put(a, "demoted", demoted, NULL, NULL);
	a->demotions++;
	role_changed(x, "replica");
}

static void switch_caught_up(struct agent *a, bool ok);

static void switch_poll(uv_timer_t *t)
{
	struct act *x = t->data;
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
	keys_read_view(x->a, switch_caught_up);
	/* keys_read_view's callback has no argument: the act is kept on
	 * the agent while this runs. */
	x->a->switch_act = x;
}

static void switch_wait(struct act *x)
{
	uv_timer_t *t = malloc(sizeof(*t));
	if (!t) {
		lease_release_primary(x->a, switch_released, x);
		return;
	}
	uv_timer_init(x->a->loop, t);
	t->data = x;
	uv_timer_start(t, switch_poll, 100, 0);
}

static void switch_caught_up(struct agent *a, bool ok)
{
	struct act *x = a->switch_act;
	a->switch_act = NULL;
	const struct member *c = keys_find_member(a, x->what.target);
	bool done = c && c->replayed_lsn >= x->final_lsn;
	/* A candidate whose record went (its agent died or hangs) will not
	 * catch up: release now, and the take-back (decide.h rule 6) or
	 * another candidate ends the wait without a primary sooner. */
	if (done || (ok && !c) || ++x->polls >= 100) {
		log_event(done ? LOG_INFO : LOG_WARN, "switchover_handover",
			  "candidate=%s caught_up=%d", x->what.target, done);
		lease_release_primary(a, switch_released, x);
	} else {
		switch_wait(x);
	}
}

static void switch_controldata(struct act *x, const struct spawn_result *r)
{
	struct controldata cd;
	char err[128];
	if (r->exit_status == 0 &&
	    controldata_parse(r->output, &cd, err, sizeof(err)))
		x->final_lsn = cd.checkpoint_lsn;
	switch_wait(x);
}

static void switch_stopped(struct act *x, const struct spawn_result *r)
{
	if (r->exit_status != 0) {
		/* Could not stop cleanly: stopping writes matters more. */
		act_fence(x->a, "switchover: pg_ctl stop failed");
	}
	guard_disarm(x->a->guard);
	char prog[1024];
	const char *argv[] = { bin(x->a, "pg_controldata", prog, sizeof(prog)),
			       "-D", x->a->conf->pg_data_dir, NULL };
	run(x, argv, 10000, switch_controldata);
}

static void switch_checkpointed(struct act *x, int status, const char *error,
				const struct pg_rows *rows)
{
	pg_stop(x, switch_stopped);
}

/* Planned: checkpoint (so the stop is quick), stop cleanly (the standbys
 * receive everything, the shutdown checkpoint included), wait for the
 * candidate to have it, release the lease: the candidate takes it. */
static void do_switchover(struct act *x)
{
	log_event(LOG_INFO, "switchover_start", "candidate=%s", x->what.target);
	query(x, "CHECKPOINT", 60000, switch_checkpointed);
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
	switch (what->kind) {
	case ACT_FENCE:
		act_fence(a, what->reason);
		finish(x);
		return;
	case ACT_BOOTSTRAP:
		lease_acquire_primary(a, boot_leased, x);
		return;
	case ACT_ADOPT:
		if (lease_primary_valid(a))
			adopt_leased(a, true, CLIENT_OK, x);
		else
			lease_acquire_primary(a, adopt_leased, x);
		return;
	case ACT_MARK_INIT:
		adopt_mark_initialized(a, init_marked, x);
		return;
	case ACT_BASEBACKUP:
		do_basebackup(x);
		return;
	case ACT_START:
		start_following(x, what->target);
		return;
	case ACT_RECLONE:
		move_aside(x, what->reason);
		return;
	case ACT_RECOVER:
		do_recover(x);
		return;
	case ACT_REWIND:
		do_rewind(x);
		return;
	case ACT_REPOINT:
		do_repoint(x);
		return;
	case ACT_FREEZE:
		do_freeze(x);
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
		lease_acquire_primary(a, acquired, x);
		return;
	case ACT_PROMOTE:
		do_promote(x);
		return;
	case ACT_RECLAIM:
		lease_acquire_primary(a, reclaimed, x);
		return;
	case ACT_SET_SYNC:
		do_set_sync(x);
		return;
	case ACT_SYNC_KEY:
		keys_put(a, "sync", x->what.target, sync_final, x);
		return;
	case ACT_SWITCHOVER:
		do_switchover(x);
		return;
	case ACT_RESTART_STANDBY:
		pg_stop(x, restart_stopped);
		return;
	case ACT_NONE:
		break;
	}
	finish(x);
}
