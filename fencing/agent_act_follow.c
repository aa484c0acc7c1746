/*
 * agent_act_follow.c — the actions on whom Postgres follows: a standby
 * re-pointed to a new primary or frozen (its walreceiver stopped), and
 * the planned switchover of this node, the primary, to a candidate.  The
 * helpers and the contract are in agent_act_int.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_act_int.h"
#include "fencing/controldata.h"
#include "fencing/pgconf.h"

/* ---- replication: re-point and freeze ---------------------------------- */

static void reloaded(struct act *x, int status, const char *error,
		     const struct pg_rows *rows)
{
	if (status != 0) {
		act_fail(x, "reload_failed", error);
		return;
	}
	agent_callback(x->a, "on_reload", "replica");
	act_finish(x);
}

static bool set_conninfo(struct act *x, const struct member *m,
			 const char *conninfo)
{
	char err[256];
	if (act_set_upstream(x->a, m, conninfo, err, sizeof(err)) == 0)
		return true;
	act_fail(x, "pgconf_failed", err);
	return false;
}

/* target is the primary, or the replica this standby cascades from
 * (decide_upstream).  A replication slot for this standby, when slots are
 * kept, belongs on target: on the upstream replica for a cascading
 * standby, never on the primary, whose slot it would leave unread. */
void act_repoint(struct act *x)
{
	const struct member *m = keys_find_member(x->a, x->what.target);
	char conninfo[1024], err[256];
	if (strcmp(x->what.target, STANDBY_CLUSTER_UPSTREAM) == 0) {
		/* a standby leader (decide.h rule 7) */
		log_event(LOG_INFO, "repoint", "upstream=%s",
			  STANDBY_CLUSTER_UPSTREAM);
		if (standby_cluster_follow(x->a, err, sizeof(err)) != 0)
			act_fail(x, "pgconf_failed", err);
		else
			act_query(x, "SELECT pg_reload_conf()", 5000, reloaded);
		return;
	}
	if (!m) {
		act_fail(x, "repoint_failed", "no record of the primary");
		return;
	}
	act_conninfo(x->a, m, conninfo, sizeof(conninfo));
	log_event(LOG_INFO, "repoint", "upstream=%s primary=%s", m->name,
		  x->a->view.holder);
	if (set_conninfo(x, m, conninfo))
		act_query(x, "SELECT pg_reload_conf()", 5000, reloaded);
}

static void freeze_poll(struct act *x, int status, const char *error,
			const struct pg_rows *rows);

static void freeze_wait(uv_timer_t *t)
{
	struct act *x = t->data;
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
	act_query(x, "SELECT pid, status FROM pg_stat_wal_receiver", 5000,
		  freeze_poll);
}

/* A walreceiver that stopped streaming and waits for orders ("waiting",
 * its upstream gone) is not shut down by the startup process when
 * primary_conninfo is cleared: it would wait forever, and the freeze
 * with it (no failover at all).  Once the reload had its chance, stop it
 * as Postgres' own shutdown does; with the conninfo empty the startup
 * process starts no other. */
#define FREEZE_TERM_AFTER_POLLS 20 /* 1 s */

static void stop_walreceiver(struct act *x, const char *pid_text,
			     const char *status)
{
	long pid = pid_text ? strtol(pid_text, NULL, 10) : 0;
	if (pid <= 1)
		return;
	int rc = kill((pid_t)pid, SIGTERM);
	log_event(rc == 0 ? LOG_WARN : LOG_ERROR, "walreceiver_stopped",
		  "pid=%ld status=%s why=\"still there %d ms after "
		  "primary_conninfo was cleared\"%s%s",
		  pid, status ? status : "?", FREEZE_TERM_AFTER_POLLS * 50,
		  rc == 0 ? "" : " error=", rc == 0 ? "" : strerror(errno));
}

/* Frozen means the walreceiver is gone: from then on this standby cannot
 * acknowledge anything for the old primary. */
static void freeze_poll(struct act *x, int status, const char *error,
			const struct pg_rows *rows)
{
	if (status == 0 && rows && rows->nrows == 0) {
		log_event(LOG_INFO, "frozen", "node=%s", x->a->conf->name);
		act_finish(x);
		return;
	}
	if (status == 0 && rows && x->polls == FREEZE_TERM_AFTER_POLLS)
		stop_walreceiver(x, pg_rows_get(rows, 0, 0),
				 pg_rows_get(rows, 0, 1));
	if (++x->polls > 100) {
		act_fail(x, "freeze_failed",
			 "the walreceiver did not stop in 5 s");
		return;
	}
	uv_timer_t *t = malloc(sizeof(*t));
	if (!t) {
		act_fail(x, "out_of_memory", "freeze");
		return;
	}
	uv_timer_init(x->a->loop, t);
	t->data = x;
	uv_timer_start(t, freeze_wait, 50, 0);
}

static void freeze_reloaded(struct act *x, int status, const char *error,
			    const struct pg_rows *rows)
{
	if (status != 0) {
		act_fail(x, "reload_failed", error);
		return;
	}
	agent_callback(x->a, "on_reload", "replica");
	freeze_poll(x, 1, NULL, NULL);
}

void act_freeze(struct act *x)
{
	if (set_conninfo(x, NULL, ""))
		act_query(x, "SELECT pg_reload_conf()", 5000, freeze_reloaded);
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
	act_role_changed(x, "replica");
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
	agent_callback_stopped(x->a, "primary");
	guard_disarm(x->a->guard);
	char prog[1024];
	const char *argv[] = { act_bin(x->a, "pg_controldata", prog,
				       sizeof(prog)),
			       "-D", x->a->conf->pg_data_dir, NULL };
	act_spawn(x, argv, 10000, switch_controldata);
}

static void switch_checkpointed(struct act *x, int status, const char *error,
				const struct pg_rows *rows)
{
	act_pg_stop(x, switch_stopped);
}

/* Planned: checkpoint (so the stop is quick), stop cleanly (the standbys
 * receive everything, the shutdown checkpoint included), wait for the
 * candidate to have it, release the lease: the candidate takes it. */
void act_switchover(struct act *x)
{
	log_event(LOG_INFO, "switchover_start", "candidate=%s", x->what.target);
	act_query(x, "CHECKPOINT", 60000, switch_checkpointed);
}
