/*
 * agent_act_bootstrap.c — a new scope's first primary made from a backup
 * instead of initdb (bootstrap_method pgbackrest or custom,
 * fencing/bootstrap_conf.h), optionally to a point in time.
 *
 * With the primary lease taken (act_boot_leased), the data directory is
 * restored (pgBackRest's restore, or the operator's command), the
 * settings carried over from the source cluster that must not apply here
 * are cleared, and Postgres starts in archive recovery.  Once
 * pg_is_in_recovery() is false (the target reached and promoted, or the
 * end of the archive), the recovery settings are removed and the node
 * goes on as after initdb (the replication role, S/initialize): the other
 * members clone from it by their create_replica_methods.
 *
 * A failure anywhere leaves no half-made primary: Postgres is stopped
 * (immediate), the data directory emptied, the lease released, and
 * bootstrap_failed logged with the reason; the bootstrap is tried again
 * after RETRY_MS (by this node or another).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_act_int.h"
#include "fencing/pgconf.h"

#define RESTORE_TIMEOUT_MS (24ULL * 3600 * 1000)
#define RECOVERY_TIMEOUT_MS (24ULL * 3600 * 1000)
#define POLL_MS 1000
#define RETRY_MS 30000
#define LOG_TAIL 16384

/* Settings a restored copy brings from its source cluster that name that
 * cluster's members or its recovery: never this scope's. */
static const char *const carried[] = {
	"synchronous_standby_names",
	"primary_conninfo",
	"primary_slot_name",
};
static const char *const recovery_settings[] = {
	"restore_command",           "recovery_target",
	"recovery_target_name",      "recovery_target_time",
	"recovery_target_xid",       "recovery_target_lsn",
	"recovery_target_inclusive", "recovery_target_action",
	"recovery_target_timeline",
};

struct poll {
	uv_timer_t timer;
	struct act *x;
};

static void poll_later(struct act *x);

/* ---- giving up: nothing half-made stays ----------------------------------- */

static void released(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	a->act_failed = true;
	a->retry_after = clock_now_ms() + RETRY_MS;
	act_finish(x);
}

static void emptied(struct act *x, const struct spawn_result *r)
{
	if (r->exit_status != 0)
		log_event(LOG_ERROR, "bootstrap_cleanup_failed",
			  "dir=%s hint=\"empty it by hand before the next "
			  "bootstrap\"",
			  x->a->conf->pg_data_dir);
	lease_release_primary(x->a, released, x);
}

static void stopped(struct act *x, const struct spawn_result *r)
{
	const char *argv[] = { "find",      x->a->conf->pg_data_dir,
			       "-mindepth", "1",
			       "-delete",   NULL };
	act_spawn_fallible(x, argv, NULL, 600000, emptied);
}

static void give_up(struct act *x, const char *why)
{
	struct agent *a = x->a;
	char q[900], ctl[1024];
	log_event(LOG_ERROR, "bootstrap_failed",
		  "method=%s why=%s retry_in_ms=%d hint=\"the data directory "
		  "is emptied and the lease released; fix the backup or "
		  "bootstrap_target with 'tenurectl cluster edit-config "
		  "--scope %s'\"",
		  bootstrap_method_name(a->live.bootstrap.method),
		  act_one_line(why, q, sizeof(q)), RETRY_MS, a->conf->scope);
	const char *argv[] = { act_bin(a, "pg_ctl", ctl, sizeof(ctl)),
			       "stop",
			       "-D",
			       a->conf->pg_data_dir,
			       "-m",
			       "immediate",
			       "-w",
			       NULL };
	if (pgconf_postmaster_pid(a->conf->pg_data_dir) > 0)
		act_spawn_fallible(x, argv, NULL, 60000, stopped);
	else
		stopped(x, &(struct spawn_result){ 0 });
}

/* A FATAL or PANIC of the server at p, not one of a client turned away
 * while it starts or stops ("the database system is in recovery mode":
 * this agent's own polls), which come after the reason. */
static bool server_fatal(const char *p)
{
	if (strncmp(p, "FATAL:", 6) != 0 && strncmp(p, "PANIC:", 6) != 0)
		return false;
	const char *eol = strchr(p, '\n');
	const char *turned = strstr(p, "the database system is");
	return !turned || (eol && turned > eol);
}

/* The last FATAL or PANIC line of the server itself (into buf). */
static const char *last_fatal(const struct agent *a, char *buf, size_t cap)
{
	char tail[LOG_TAIL + 1];
	snprintf(buf, cap, "see %s",
		 a->conf->pg_log_file ? a->conf->pg_log_file : "its log");
	int fd = a->conf->pg_log_file
			 ? open(a->conf->pg_log_file, O_RDONLY | O_CLOEXEC)
			 : -1;
	if (fd < 0)
		return buf;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > LOG_TAIL ? end - LOG_TAIL : 0;
	ssize_t n = pread(fd, tail, LOG_TAIL, from);
	close(fd);
	tail[n > 0 ? n : 0] = '\0';
	const char *hit = NULL;
	for (const char *p = tail; (p = strpbrk(p, "FP")) != NULL; p++)
		if (server_fatal(p))
			hit = p;
	if (hit)
		snprintf(buf, cap, "%.*s", (int)strcspn(hit, "\n"), hit);
	return buf;
}

/* ---- recovery done: as after initdb --------------------------------------- */

static int auto_remove(struct agent *a, const char *const *names, size_t n,
		       char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (pgconf_auto_set(a->conf->pg_data_dir, names[i], NULL, err,
				    errlen) != 0)
			return -1;
	return 0;
}

static void recovered(struct act *x)
{
	struct agent *a = x->a;
	char err[300];
	/* a copy of this data directory (a replica's pg_basebackup) must
	 * not stop at the same target, nor read the source's archive */
	if (auto_remove(a, recovery_settings,
			sizeof(recovery_settings) / sizeof(*recovery_settings),
			err, sizeof(err)) != 0) {
		give_up(x, err);
		return;
	}
	log_event(LOG_INFO, "bootstrap_restored", "method=%s type=%s node=%s",
		  bootstrap_method_name(a->live.bootstrap.method),
		  bootstrap_target_type(a->live.bootstrap.target_kind),
		  a->conf->name);
	act_boot_primary_up(x);
}

static void recovery_read(void *arg, int status, const char *error,
			  const struct pg_rows *rows)
{
	struct act *x = arg;
	const char *v = status == 0 && rows && rows->nrows > 0
				? pg_rows_get(rows, 0, 0)
				: NULL;
	if (v && strcmp(v, "f") == 0)
		recovered(x);
	else
		poll_later(x);
}

static void poll_closed(uv_handle_t *h)
{
	struct poll *p = h->data;
	struct act *x = p->x;
	struct agent *a = x->a;
	free(p);
	char why[600];
	pid_t pid = pgconf_postmaster_pid(a->conf->pg_data_dir);
	x->polls++;
	if ((pid <= 0 || kill(pid, 0) != 0) && x->polls > 5) {
		char line[500];
		snprintf(why, sizeof(why),
			 "Postgres stopped during recovery: %s",
			 last_fatal(a, line, sizeof(line)));
		give_up(x, why);
		return;
	}
	if ((uint64_t)x->polls * POLL_MS > RECOVERY_TIMEOUT_MS) {
		give_up(x, "recovery did not end within 24 hours");
		return;
	}
	if (pg_query(a->pg, "SELECT pg_is_in_recovery()", 5000, recovery_read,
		     x) != 0)
		poll_later(x);
}

static void poll_due(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, poll_closed);
}

static void poll_later(struct act *x)
{
	struct poll *p = malloc(sizeof(*p));
	if (!p) {
		give_up(x, "out of memory");
		return;
	}
	p->x = x;
	uv_timer_init(x->a->loop, &p->timer);
	p->timer.data = p;
	uv_timer_start(&p->timer, poll_due, POLL_MS, 0);
}

static void recovery_started(struct act *x, const struct spawn_result *r)
{
	char why[700];
	if (r->exit_status != 0 || r->term_signal || r->timed_out) {
		snprintf(why, sizeof(why), "pg_ctl start exit=%d: %s",
			 r->exit_status, r->output);
		give_up(x, why);
		return;
	}
	x->polls = 0;
	log_event(LOG_INFO, "bootstrap_recovering",
		  "node=%s why=\"waiting for pg_is_in_recovery() to be "
		  "false\"",
		  x->a->conf->name);
	poll_later(x);
}

/* ---- restored: settings, then the start ------------------------------------ */

/* pgBackRest's own restore_command has no --pg1-path (a relative %p
 * needs it): ours reads the stanza restored from. */
static int restore_command(struct agent *a, char *err, size_t errlen)
{
	struct replica_conf from = a->live.replica;
	char cmd[1200];
	snprintf(from.stanza, sizeof(from.stanza), "%s",
		 bootstrap_stanza(&a->live.bootstrap, &a->live.replica));
	if (!replica_restore_command(&from, a->conf->pg_data_dir, cmd,
				     sizeof(cmd))) {
		snprintf(err, errlen, "restore_command: too long");
		return -1;
	}
	return pgconf_auto_set(a->conf->pg_data_dir, "restore_command", cmd,
			       err, errlen);
}

static void restored(struct act *x, const struct spawn_result *r,
		     const char *what)
{
	struct agent *a = x->a;
	char why[900];
	if (r->exit_status != 0 || r->term_signal || r->timed_out) {
		/* pgBackRest's ERROR line, not the warnings before it: the
		 * log line has room for a few hundred bytes */
		const char *e = strstr(r->output, "ERROR:");
		snprintf(why, sizeof(why),
			 "%s exit=%d signal=%d timed_out=%d: %s", what,
			 r->exit_status, r->term_signal, r->timed_out,
			 e ? e : r->output);
		give_up(x, why);
		return;
	}
	if (!pgconf_is_initialized(a->conf->pg_data_dir)) {
		snprintf(why, sizeof(why), "%s left no PG_VERSION in %s", what,
			 a->conf->pg_data_dir);
		give_up(x, why);
		return;
	}
	if (auto_remove(a, carried, sizeof(carried) / sizeof(*carried), why,
			sizeof(why)) != 0 ||
	    archive_settings_own(a, why, sizeof(why)) != 0 ||
	    (a->live.bootstrap.method == BOOTSTRAP_PGBACKREST &&
	     restore_command(a, why, sizeof(why)) != 0)) {
		give_up(x, why);
		return;
	}
	startfail_begin(a);
	act_pg_start(x, false, false, recovery_started);
}

static void pgbackrest_done(struct act *x, const struct spawn_result *r)
{
	restored(x, r, "pgbackrest restore");
}

static void custom_done(struct act *x, const struct spawn_result *r)
{
	restored(x, r, "bootstrap_command");
}

static void pgbackrest_restore(struct act *x)
{
	struct agent *a = x->a;
	struct bootstrap_argv v;
	bootstrap_pgbackrest_argv(&v, &a->live.bootstrap, &a->live.replica,
				  a->conf->pg_data_dir);
	static const char *const env[] = { "LC_ALL=C", "LANG=C", NULL };
	act_spawn_fallible(x, v.argv, env, RESTORE_TIMEOUT_MS, pgbackrest_done);
}

/* The operator's command: DATADIR SCOPE NAME as its last arguments, the
 * target as written in TENURE_BOOTSTRAP_TARGET.  It must leave a data
 * directory that Postgres can start (with recovery.signal and recovery
 * settings of its own when it wants recovery to a point). */
static void custom_restore(struct act *x)
{
	struct agent *a = x->a;
	char script[1200], v_dir[1100], v_scope[300], v_name[300], target[200];
	char v_target[240];
	snprintf(script, sizeof(script), "exec %s \"$@\"",
		 a->live.bootstrap.command);
	snprintf(v_dir, sizeof(v_dir), "TENURE_DATA_DIR=%s",
		 a->conf->pg_data_dir);
	snprintf(v_scope, sizeof(v_scope), "TENURE_SCOPE=%s", a->conf->scope);
	snprintf(v_name, sizeof(v_name), "TENURE_NAME=%s", a->conf->name);
	bootstrap_conf_value(&a->live.bootstrap, BOOTSTRAP_KEY_TARGET, target,
			     sizeof(target));
	snprintf(v_target, sizeof(v_target), "TENURE_BOOTSTRAP_TARGET=%s",
		 target);
	const char *argv[] = { "/bin/sh",
			       "-c",
			       script,
			       "tenure-bootstrap",
			       a->conf->pg_data_dir,
			       a->conf->scope,
			       a->conf->name,
			       NULL };
	const char *env[] = { "LC_ALL=C", "LANG=C", v_dir, v_scope,
			      v_name,     v_target, NULL };
	act_spawn_fallible(x, argv, env, RESTORE_TIMEOUT_MS, custom_done);
}

static bool scope_refused(const struct agent *a)
{
	return a->scope_refused[0] &&
	       strcmp(a->scope_refused, a->view.config) == 0;
}

bool act_bootstrap_not_initdb(const struct agent *a)
{
	return a->live.bootstrap.method != BOOTSTRAP_INITDB || scope_refused(a);
}

void act_bootstrap_restore(struct act *x)
{
	struct agent *a = x->a;
	const struct bootstrap_conf *b = &a->live.bootstrap;
	const char *from = bootstrap_stanza(b, &a->live.replica);
	mkdir(a->conf->pg_data_dir, 0700);
	if (scope_refused(a)) {
		give_up(x,
			"SCOPE/config is refused (event=scope_config_refused): "
			"its bootstrap settings are unknown, so neither "
			"initdb nor a restore runs");
		return;
	}
	if (!act_arm_watchdog(x))
		return;
	log_event(LOG_INFO, "bootstrap_restore",
		  "method=%s stanza=%s type=%s node=%s",
		  bootstrap_method_name(b->method),
		  b->method == BOOTSTRAP_PGBACKREST ? from : "-",
		  bootstrap_target_type(b->target_kind), a->conf->name);
	if (b->method == BOOTSTRAP_PGBACKREST &&
	    replica_archives(&a->live.replica) &&
	    strcmp(from, a->live.replica.stanza) == 0)
		log_event(LOG_WARN, "bootstrap_same_stanza",
			  "stanza=%s why=\"this scope will archive into the "
			  "stanza it restores from: right only when the "
			  "source cluster is gone for good; otherwise give "
			  "this scope a pgbackrest_stanza of its own\"",
			  from);
	if (b->method == BOOTSTRAP_PGBACKREST)
		pgbackrest_restore(x);
	else
		custom_restore(x);
}
