/*
 * agent_act_restart.c — the operator's requests on Postgres itself
 * (fencing/requests.h, chosen by agent_requests.c): a restart in place, a
 * reload, a re-copy of a replica.  The helpers and the contract are in
 * agent_act_int.h.
 *
 * A primary restarts inside its lease and stays the primary: the lease
 * is renewed by its own timer all along (agent_lease.c), and the fence
 * timer and the guard keep its deadline, so a lease lost meanwhile is
 * fenced as at any other time (docs/design.md rule 7).  Postgres is
 * started as a primary again only while the lease is still valid, and
 * checked again once it runs: the start may take long.  Everything else
 * (another node, the tick's decide()) waits, as for any action: one runs
 * at a time, and no agent takes a lease that is renewed.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_act_int.h"
#include "fencing/pgconf.h"

/* ---- restart ---------------------------------------------------------- */

static void primary_writable(struct act *x, int status, const char *error,
			     const struct pg_rows *rows)
{
	struct agent *a = x->a;
	if (status != 0) {
		agent_callback_restart(a, false);
		act_fail(x, "restart_failed", error);
		return;
	}
	a->req.gap_ms = clock_now_ms() - a->req.stop_ms;
	log_event(LOG_INFO, "restarted", "role=primary write_gap_ms=%llu",
		  (unsigned long long)a->req.gap_ms);
	agent_callback_started(a, "primary"); /* on_restart */
	act_finish(x);
}

static void primary_started(struct act *x, const struct spawn_result *r)
{
	struct agent *a = x->a;
	if (!act_spawn_ok(x, r, "pg_ctl start"))
		return;
	if (!lease_primary_valid(a)) {
		/* The lease ran out while Postgres started: it must not take
		 * writes (the fence timer may have fired before the start). */
		agent_callback_restart(a, false);
		act_fence(a, "the lease was lost during a restart");
		act_fail(x, "restart_failed", "the lease was lost meanwhile");
		return;
	}
	/* Answers as a primary, not in recovery: writes are accepted. */
	act_query(x, "SELECT NOT pg_is_in_recovery()", 10000, primary_writable);
}

static void restart_stopped(struct act *x, const struct spawn_result *r)
{
	struct agent *a = x->a;
	if (!act_spawn_ok(x, r, "pg_ctl stop"))
		return;
	pg_conn_reset(a->pg);
	if (strcmp(a->req.role, "primary") != 0) {
		act_start_following(x, a->view.holder);
		return;
	}
	if (!lease_primary_valid(a)) {
		/* Lost while stopping: it stays down, and the next tick
		 * follows whoever takes over. */
		agent_callback_restart(a, false);
		agent_callback_stopped(a, "primary");
		act_fail(x, "restart_failed",
			 "the lease was lost while Postgres stopped");
		return;
	}
	act_pg_start(x, false, true, primary_started);
}

void act_pg_restart(struct act *x)
{
	struct agent *a = x->a;
	snprintf(a->req.role, sizeof(a->req.role), "%s",
		 lease_primary_valid(a) ? "primary" : "replica");
	a->req.stop_ms = clock_now_ms();
	log_event(LOG_INFO, "restarting", "role=%s id=%llu", a->req.role,
		  (unsigned long long)a->req.id);
	/* on_restart once Postgres is back (agent_callback_started) */
	agent_callback_restart(a, true);
	act_pg_stop(x, restart_stopped);
}

/* ---- reload ------------------------------------------------------------ */

static void reloaded(struct act *x, int status, const char *error,
		     const struct pg_rows *rows)
{
	if (status != 0) {
		act_fail(x, "reload_failed", error);
		return;
	}
	log_event(LOG_INFO, "reloaded", "id=%llu",
		  (unsigned long long)x->a->req.id);
	agent_callback(x->a, "on_reload", x->a->req.role);
	act_finish(x);
}

void act_pg_reload(struct act *x)
{
	snprintf(x->a->req.role, sizeof(x->a->req.role), "%s",
		 lease_primary_valid(x->a) ? "primary" : "replica");
	act_query(x, "SELECT pg_reload_conf()", 10000, reloaded);
}

/* ---- reinit -------------------------------------------------------------- */

/* The data directory is aside: a fresh copy from the source, then a start
 * following it (decide() re-points a copy made from a replica). */
static void reinit_copy(struct act *x)
{
	struct agent *a = x->a;
	snprintf(a->req.detail, sizeof(a->req.detail), "copied from %.200s",
		 x->what.target);
	act_create_replica(x);
}

static void reinit_stopped(struct act *x, const struct spawn_result *r)
{
	if (r && !act_spawn_ok(x, r, "pg_ctl stop"))
		return;
	pg_conn_reset(x->a->pg);
	x->after_aside = reinit_copy;
	act_move_aside(x, "re-copy asked for (tenurectl cluster reinit)");
}

void act_reinit(struct act *x)
{
	struct agent *a = x->a;
	snprintf(a->req.role, sizeof(a->req.role), "replica");
	if (lease_primary_valid(a) || !x->what.target[0] ||
	    !keys_find_member(a, x->what.target)) {
		act_fail(x, "reinit_refused",
			 lease_primary_valid(a)
				 ? "this node is the primary"
				 : "no record of the source to copy from");
		return;
	}
	log_event(LOG_INFO, "reinit", "from=%s id=%llu", x->what.target,
		  (unsigned long long)a->req.id);
	if (!pgconf_is_initialized(a->conf->pg_data_dir))
		reinit_copy(x); /* nothing to move aside */
	else if (pgconf_postmaster_pid(a->conf->pg_data_dir) <= 0)
		reinit_stopped(x, NULL);
	else
		act_pg_stop(x, reinit_stopped);
}
