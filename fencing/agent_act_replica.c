/*
 * agent_act_replica.c — a replica created by the methods of the scope's
 * create_replica_methods, in order (fencing/replica_conf.h): pgbackrest
 * (a restore from the backup repository), basebackup (pg_basebackup from
 * the primary, agent_act_copy.c) and custom (the operator's command).
 * A method that fails leaves the data directory emptied for the next;
 * after the last, the action fails as a failed pg_basebackup always did
 * (the next tick tries the list again).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "fencing/agent_act_int.h"
#include "fencing/pgconf.h"

#define CREATE_TIMEOUT_MS 3600000

static void try_method(struct act *x);

static const char *method_now(const struct act *x)
{
	return x->method_i < x->n_methods
		       ? replica_method_name(x->methods[x->method_i])
		       : "basebackup";
}

/* The data directory emptied (not removed: it may be a mount point, and
 * keeps its owner and mode), then the next method. */
static void emptied(struct act *x, const struct spawn_result *r)
{
	if (act_spawn_ok(x, r, "emptying the data directory"))
		try_method(x);
}

bool act_replica_method_done(struct act *x, const struct spawn_result *r,
			     const char *what)
{
	struct agent *a = x->a;
	bool ok = r->exit_status == 0 && !r->term_signal && !r->timed_out;
	if (ok) {
		log_event(LOG_INFO, "replica_created", "method=%s node=%s",
			  method_now(x), a->conf->name);
		return true;
	}
	if (x->method_i + 1 >= x->n_methods) {
		act_spawn_ok(x, r, what);
		return false;
	}
	char q[900];
	log_event(LOG_WARN, "replica_method_failed",
		  "method=%s next=%s exit=%d signal=%d timed_out=%d output=%s",
		  method_now(x),
		  replica_method_name(x->methods[x->method_i + 1]),
		  r->exit_status, r->term_signal, r->timed_out,
		  act_one_line(r->output, q, sizeof(q)));
	x->method_i++;
	const char *argv[] = { "find",      a->conf->pg_data_dir,
			       "-mindepth", "1",
			       "-delete",   NULL };
	act_spawn(x, argv, 600000, emptied);
	return false;
}

/* pgBackRest wrote standby.signal and its own restore_command: ours
 * names the same stanza and config as the restore did. */
static void restored(struct act *x, const struct spawn_result *r)
{
	struct agent *a = x->a;
	char cmd[1200], err[256];
	if (!act_replica_method_done(x, r, "pgbackrest restore"))
		return;
	if (!replica_restore_command(&a->live.replica, a->conf->pg_data_dir,
				     cmd, sizeof(cmd)) ||
	    pgconf_auto_set(a->conf->pg_data_dir, "restore_command", cmd, err,
			    sizeof(err)) != 0) {
		act_fail(x, "pgconf_failed", "restore_command");
		return;
	}
	act_start_following(x, x->what.target);
}

static void pgbackrest_restore(struct act *x)
{
	struct agent *a = x->a;
	struct replica_argv v;
	replica_pgbackrest_argv(&v, &a->live.replica, a->conf->pg_data_dir);
	static const char *const env[] = { "LC_ALL=C", "LANG=C", NULL };
	act_spawn_fallible(x, v.argv, env, CREATE_TIMEOUT_MS, restored);
}

static void custom_done(struct act *x, const struct spawn_result *r)
{
	if (act_replica_method_done(x, r, "create_replica_command"))
		act_start_following(x, x->what.target);
}

/* The operator's command: DATADIR SCOPE NAME as its last arguments, and
 * the primary's conninfo (with the replication password) in the
 * environment only, which ps does not show to other users. */
static void custom_create(struct act *x)
{
	struct agent *a = x->a;
	char conninfo[2048] = "", script[1200];
	char v_dir[1100], v_scope[300], v_name[300], v_conn[2100];
	act_target_conninfo(a, x->what.target, conninfo, sizeof(conninfo));
	snprintf(script, sizeof(script), "exec %s \"$@\"",
		 a->live.replica.command);
	snprintf(v_dir, sizeof(v_dir), "TENURE_DATA_DIR=%s",
		 a->conf->pg_data_dir);
	snprintf(v_scope, sizeof(v_scope), "TENURE_SCOPE=%s", a->conf->scope);
	snprintf(v_name, sizeof(v_name), "TENURE_NAME=%s", a->conf->name);
	snprintf(v_conn, sizeof(v_conn), "TENURE_PRIMARY_CONNINFO=%s",
		 conninfo);
	const char *argv[] = { "/bin/sh",
			       "-c",
			       script,
			       "tenure-create-replica",
			       a->conf->pg_data_dir,
			       a->conf->scope,
			       a->conf->name,
			       NULL };
	const char *env[] = { "LC_ALL=C", "LANG=C", v_dir, v_scope,
			      v_name,     v_conn,   NULL };
	act_spawn_fallible(x, argv, env, CREATE_TIMEOUT_MS, custom_done);
	memset(v_conn, 0, sizeof(v_conn));
	memset(conninfo, 0, sizeof(conninfo));
}

static void try_method(struct act *x)
{
	mkdir(x->a->conf->pg_data_dir, 0700);
	log_event(LOG_INFO, "replica_method", "method=%s try=%zu of=%zu",
		  method_now(x), x->method_i + 1, x->n_methods);
	switch (x->methods[x->method_i]) {
	case REPLICA_PGBACKREST:
		pgbackrest_restore(x);
		break;
	case REPLICA_CUSTOM:
		custom_create(x);
		break;
	default:
		act_basebackup(x);
		break;
	}
}

void act_create_replica(struct act *x)
{
	x->n_methods = replica_methods(&x->a->live.replica, x->methods);
	x->method_i = 0;
	try_method(x);
}
