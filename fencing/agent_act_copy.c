/*
 * agent_act_copy.c — the actions that make or mend this node's data
 * directory: bootstrap (initdb) and adoption of existing data, a copy of
 * the primary (pg_basebackup), crash recovery and pg_rewind of an old
 * primary, and the data directory moved aside (or removed) for a fresh
 * copy.  The helpers and the contract are in agent_act_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/scram.h"
#include "fencing/agent_act_int.h"
#include "fencing/aside.h"
#include "fencing/pgconf.h"
#include "fencing/roster.h"

static void copy_refused(struct act *x, const char *msg);

/* ---- bootstrap --------------------------------------------------------- */

/* Adopted (agent_adopt.c): S/initialize is in (or will be written by
 * ACT_MARK_INIT), then as after a bootstrap. */
static void adopt_marked(struct agent *a, int status, void *arg)
{
	struct act *x = arg;
	act_history_put(a, "", "adopted existing data", 0);
	adopt_log(a);
	a->promotions++;
	act_role_changed(x, "primary");
}

static void boot_role(struct act *x, int status, const char *error,
		      const struct pg_rows *rows)
{
	if (status != 0) {
		act_fail(x,
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
	act_history_put(x->a, "", "bootstrap", 0);
	log_event(LOG_INFO, "bootstrapped", "node=%s", x->a->conf->name);
	x->a->promotions++;
	act_role_changed(x, "primary");
}

/* " PASSWORD '<SCRAM verifier>'" for the replication role, or "": the
 * server stores the verifier as it is (PostgreSQL's own format), so the
 * password itself never reaches it, nor its logs. */
static bool role_password_clause(const struct agent *a, char *out, size_t cap)
{
	struct scram_verifier v;
	char text[SCRAM_VERIFIER_TEXT_MAX];

	out[0] = '\0';
	if (!a->replication_password)
		return true;
	if (scram_verifier_make(a->replication_password,
				strlen(a->replication_password),
				SCRAM_ITERATIONS_DEFAULT, &v) ||
	    scram_verifier_format(&v, text, sizeof(text)))
		return false;
	/* tenure's text form differs from PostgreSQL's in the prefix only */
	const char *rest = strchr(text, '$');
	snprintf(out, cap, " PASSWORD 'SCRAM-SHA-256%s'", rest ? rest : "");
	return rest != NULL;
}

static void boot_started(struct act *x, const struct spawn_result *r)
{
	if (act_spawn_ok(x, r, "pg_ctl start"))
		act_boot_primary_up(x);
}

void act_boot_primary_up(struct act *x)
{
	agent_callback_started(x->a, "primary");
	char sql[1024], pw[SCRAM_VERIFIER_TEXT_MAX + 32];
	const char *user = x->a->conf->replication_user;
	if (!role_password_clause(x->a, pw, sizeof(pw))) {
		act_fail(x, "bootstrap_failed",
			 "cannot derive the replication password's verifier");
		return;
	}
	/* An adopted cluster may have the role already: its password is
	 * set to ours too, or the standbys could not log in. */
	if (pw[0])
		snprintf(sql, sizeof(sql),
			 "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE "
			 "rolname = '%s') THEN CREATE ROLE \"%s\" WITH "
			 "REPLICATION LOGIN%s; ELSE ALTER ROLE \"%s\" WITH%s; "
			 "END IF; END$$",
			 user, user, pw, user, pw);
	else
		snprintf(sql, sizeof(sql),
			 "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE "
			 "rolname = '%s') THEN CREATE ROLE \"%s\" WITH "
			 "REPLICATION LOGIN; END IF; END$$",
			 user, user);
	act_query(x, sql, 30000, boot_role);
}

static void boot_initdb_done(struct act *x, const struct spawn_result *r)
{
	if (act_spawn_ok(x, r, "initdb") && act_arm_watchdog(x))
		act_pg_start(x, false, true, boot_started);
}

/* Existing data of a former primary: as bootstrap, without initdb. */
void act_adopt_leased(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	if (!ok)
		act_finish(x); /* someone else adopts or bootstraps */
	else if (act_arm_watchdog(x))
		act_pg_start(x, false, true, boot_started);
}

void act_init_marked(struct agent *a, int status, void *arg)
{
	act_finish(arg);
}

void act_boot_leased(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	if (!ok) {
		act_finish(x); /* someone else bootstraps */
		return;
	}
	if (act_bootstrap_not_initdb(a)) {
		act_bootstrap_restore(x); /* agent_act_bootstrap.c */
		return;
	}
	char initdb[1024], pwfile[1100];
	mkdir(a->conf->pg_data_dir, 0700);
	/* With a password, every connection must give it (scram-sha-256 on
	 * the socket and on loopback); without, trust as before. */
	bool pw = a->pg_password != NULL;
	snprintf(pwfile, sizeof(pwfile), "--pwfile=%s",
		 pw ? a->conf->pg_superuser_password_file : "");
	const char *argv[] = { act_bin(a, "initdb", initdb, sizeof(initdb)),
			       "-D",
			       a->conf->pg_data_dir,
			       "-U",
			       a->conf->pg_superuser,
			       "-A",
			       pw ? "scram-sha-256" : "trust",
			       "-k",
			       "-E",
			       "UTF8",
			       "--no-instructions",
			       pw ? pwfile : NULL,
			       NULL };
	act_spawn(x, argv, 300000, boot_initdb_done);
}

/* ---- copy, recover, rewind -------------------------------------------- */

/* A copy from a clonefrom replica that failed is not tried from it again
 * until a copy succeeds: the next one comes from the primary (or another
 * clonefrom replica), so a replica that cannot serve copies holds up
 * nothing. */
static void basebackup_done(struct act *x, const struct spawn_result *r)
{
	struct agent *a = x->a;
	bool from_replica = strcmp(x->copy_source, x->what.target) != 0;
	if (!act_replica_method_done(x, r, "pg_basebackup")) {
		if (from_replica)
			snprintf(a->clone_skip, sizeof(a->clone_skip), "%s",
				 x->copy_source);
		return;
	}
	a->clone_skip[0] = '\0';
	act_start_following(x, x->what.target);
}

void act_basebackup(struct act *x)
{
	struct agent *a = x->a;
	if (strcmp(x->what.target, STANDBY_CLUSTER_UPSTREAM) == 0) {
		act_standby_basebackup(x);
		return;
	}
	const struct member *m = roster_clone_source(a->view.members,
						     a->view.n_members,
						     a->conf->name,
						     x->what.target,
						     a->clone_skip);
	if (!m) {
		act_fail(x, "basebackup_failed", "no record of the primary");
		return;
	}
	snprintf(x->copy_source, sizeof(x->copy_source), "%s", m->name);
	log_event(LOG_INFO, "copy_source", "from=%s primary=%s clonefrom=%s",
		  m->name, x->what.target,
		  strcmp(m->name, x->what.target) ? "true" : "false");
	char host[256], port[16], prog[1024], msg[300];
	uint64_t free_bytes;
	if (a->copy_need_bytes &&
	    aside_free_bytes(a->conf->pg_data_dir, &free_bytes) == 0 &&
	    !aside_room(a->conf->pg_data_dir, a->copy_need_bytes, free_bytes,
			msg, sizeof(msg))) {
		copy_refused(x, msg);
		return;
	}
	roster_split_pg(m->pg, host, sizeof(host), port, sizeof(port));
	mkdir(a->conf->pg_data_dir, 0700);
	const char *argv[] = { act_bin(a, "pg_basebackup", prog, sizeof(prog)),
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
	/* The password through the environment, never on a command line
	 * (ps shows those to every user). */
	char pw[300];
	snprintf(pw, sizeof(pw), "PGPASSWORD=%s",
		 a->replication_password ? a->replication_password : "");
	const char *env[] = { "LC_ALL=C", "LANG=C",
			      a->replication_password ? pw : NULL, NULL };
	act_spawn_env(x, argv, env, 3600000, basebackup_done);
	memset(pw, 0, sizeof(pw));
}

static void recovered(struct act *x, const struct spawn_result *r)
{
	if (act_spawn_ok(x, r, "postgres --single (crash recovery)"))
		act_finish(x);
}

/* pg_rewind needs a cleanly shut down target: a crashed old primary
 * replays its WAL in single-user mode first (no connections accepted). */
void act_recover(struct act *x)
{
	struct agent *a = x->a;
	char prog[1024], err[256];
	pgconf_standby_signal(a->conf->pg_data_dir, false, err, sizeof(err));
	/* wal_keep_size as at every start: the checkpoint at the end must
	 * not recycle the WAL pg_rewind will read next. */
	const char *argv[] = { act_bin(a, "postgres", prog, sizeof(prog)),
			       "--single",
			       "-D",
			       a->conf->pg_data_dir,
			       "-c",
			       "archive_mode=off",
			       "-c",
			       "wal_keep_size=" PG_WAL_KEEP,
			       "template1",
			       NULL };
	act_spawn(x, argv, 600000, recovered);
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
	a->act_failed = true;
	log_event(LOG_ERROR, "copy_refused", "why=\"%s\"", msg);
	/* asked again in a while: free space does not come every second */
	a->retry_after = clock_now_ms() + 30000;
	act_finish(x);
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

/* The directory is out of the way: a re-copy asked for by the operator
 * goes on at once, anything else ends (the next tick copies). */
static void aside_done(struct act *x)
{
	if (x->after_aside)
		x->after_aside(x);
	else
		act_finish(x);
}

static void removed(struct act *x, const struct spawn_result *r)
{
	char q[900];
	if (r->exit_status != 0)
		log_event(LOG_ERROR, "remove_failed",
			  "output=%s hint=\"remove "
			  "it by hand\"",
			  act_one_line(r->output, q, sizeof(q)));
	aside_done(x);
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
		act_fail(x, "move_aside_failed", doomed);
		return;
	}
	log_event(LOG_ERROR, "data_dir_removed",
		  "dir=%s kept=%s why=\"%s: re-copying from the primary; the "
		  "earlier copy is kept, this one is removed\"",
		  a->conf->pg_data_dir, kept, why);
	copy_begins(x);
	const char *argv[] = { "rm", "-rf", "--", doomed, NULL };
	act_spawn(x, argv, 3600000, removed);
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
		act_fail(x, "move_aside_failed", aside);
		return;
	}
	log_event(LOG_ERROR, "data_dir_moved_aside",
		  "from=%s to=%s why=\"%s: re-copying from the primary\"",
		  a->conf->pg_data_dir, aside, why);
	copy_begins(x);
	aside_done(x);
}

void act_move_aside(struct act *x, const char *why)
{
	x->what.reason = why;
	const char *argv[] = { "du", "-sk", x->a->conf->pg_data_dir, NULL };
	act_spawn(x, argv, 600000, sized);
}

static void rewound(struct act *x, const struct spawn_result *r)
{
	struct agent *a = x->a;
	bool ok = r->exit_status == 0 && !r->term_signal && !r->timed_out;
	if (!ok && !strstr(r->output, "connection to server") &&
	    ++a->rewind_failures >= 2) {
		char q[900];
		log_event(LOG_ERROR, "rewind_failed", "output=%s",
			  act_one_line(r->output, q, sizeof(q)));
		act_move_aside(x, "pg_rewind failed twice");
		return;
	}
	if (!act_spawn_ok(x, r, "pg_rewind"))
		return;
	a->rewound = true;
	a->rewind_failures = 0;
	act_start_following(x, x->what.target);
}

void act_rewind(struct act *x)
{
	struct agent *a = x->a;
	const struct member *m = keys_find_member(a, x->what.target);
	if (!m) {
		act_fail(x, "rewind_failed", "no record of the primary");
		return;
	}
	char host[256], port[16], prog[1024], src[1024] = "";
	roster_split_pg(m->pg, host, sizeof(host), port, sizeof(port));
	pgconf_conninfo_append(src, sizeof(src), "host", host);
	pgconf_conninfo_append(src, sizeof(src), "port", port);
	pgconf_conninfo_append(src, sizeof(src), "user", a->conf->pg_superuser);
	if (a->pg_password)
		pgconf_conninfo_append(src, sizeof(src), "password",
				       a->pg_password);
	pgconf_conninfo_append(src, sizeof(src), "dbname",
			       a->conf->pg_database);
	char source[1100];
	snprintf(source, sizeof(source), "--source-server=%s", src);
	const char *argv[] = { act_bin(a, "pg_rewind", prog, sizeof(prog)),
			       "-D", a->conf->pg_data_dir, source, NULL };
	act_spawn(x, argv, 3600000, rewound);
}

void act_restart_stopped(struct act *x, const struct spawn_result *r)
{
	if (!act_spawn_ok(x, r, "pg_ctl stop"))
		return;
	agent_callback_stopped(x->a, "replica");
	x->a->rewound = false;
	act_rewind(x);
}
