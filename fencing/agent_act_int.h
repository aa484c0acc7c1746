/*
 * agent_act_int.h — what the files of the agent's actions share (the
 * actions decide() asks for, agent_int.h act_run()):
 *   agent_act.c          the helpers below (finish, fail, programs,
 *                        queries, hooks, the role change), start and stop,
 *                        fencing, and the dispatch act_run()
 *   agent_act_bootstrap.c a new scope's first primary from a backup
 *   agent_act_copy.c     bootstrap and adoption; a copy of the primary
 *                        (pg_basebackup), crash recovery, pg_rewind, the
 *                        data directory moved aside for a fresh copy
 *   agent_act_follow.c   a standby re-pointed or frozen; the planned
 *                        switchover of the primary
 *   agent_act_promote.c  taking the lease and promoting: pre_promote, the
 *                        STONITH step, the watchdog, synchronous mode at
 *                        promotion, the history, a lease reclaimed
 *   agent_act_standby.c  a standby cluster's copy of the main cluster
 *   agent_act_sync.c     the synchronous standbys (S/sync and Postgres'
 *                        synchronous_standby_names)
 * Only these files include it.
 *
 * Contract
 * --------
 * An action is one struct act, made by act_run() and passed along its
 * chain of asynchronous steps; loop thread only, one action at a time.
 * Every action ends with exactly one act_finish(x), which frees x and
 * then calls x->done: a step that called it, or anything that may call it,
 * touches x no more.
 *
 * Errors: act_fail() logs the event at LOG_ERROR with the action, its
 * target and the detail, puts off the next action by a second
 * (a->retry_after; decide() asks for the step again) and finishes.
 * act_spawn() and act_query() run next exactly once, later, unless they
 * cannot start: then they have failed the action and next never runs.
 * act_spawn_ok() is true when the program exited 0 in time; false when it
 * did not, and then it has failed the action.
 */
#ifndef TENURE_FENCING_AGENT_ACT_INT_H
#define TENURE_FENCING_AGENT_ACT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fencing/agent_int.h"
#include "fencing/decide.h"
#include "fencing/pg.h"
#include "fencing/spawn.h"

/* WAL kept beyond what the slots hold (agent_slots.c): the moments no
 * slot covers yet, a promotion's first seconds before the new primary's
 * slots for the others are read back, a member not seen by the primary
 * yet.  pg_basebackup streams its WAL through a temporary slot of its own
 * and pg_rewind's old primary has its slot from the promotion on, so
 * neither needs more. */
#define PG_WAL_KEEP "128MB"

struct act {
	struct agent *a;
	struct decide_action what;
	void (*done)(struct agent *a);
	int polls;
	uint64_t final_lsn;
	char sync_union[512];
	char extra_opts[512]; /* a standby's settings raised to its
				   primary's (agent_standby.c) */
	uint64_t copy_bytes;  /* act_move_aside: the directory's size */
	/* act_move_aside: the next step once the directory is aside
	 * (NULL: the action ends there) */
	void (*after_aside)(struct act *x);
	char copy_source[MEMBER_STR_MAX]; /* act_basebackup: copied from */
	/* act_create_replica: the methods in force and the one tried */
	enum replica_method methods[REPLICA_N_METHODS];
	size_t n_methods, method_i;
};

/* agent_act.c: the helpers. */
void act_finish(struct act *x);
void act_fail(struct act *x, const char *event, const char *detail);
/* A program's output as one quoted log field (in buf). */
const char *act_one_line(const char *text, char *buf, size_t cap);
/* PROG in pg_bin_dir (in buf). */
const char *act_bin(const struct agent *a, const char *prog, char *buf,
		    size_t cap);
/* primary_conninfo (conninfo) and primary_slot_name for following m
 * (NULL: none) in postgresql.auto.conf.  0 or -1 with err. */
int act_set_upstream(struct agent *a, const struct member *m,
		     const char *conninfo, char *err, size_t errlen);
/* A program run (in the C locale, its output appended to pg_log_file);
 * next gets its result. */
typedef void (*act_step_fn)(struct act *x, const struct spawn_result *r);
/* act_spawn with env (NAME=VALUE, NULL-terminated) added to the
 * environment; the C locale is the caller's to include. */
void act_spawn_env(struct act *x, const char *const *argv,
		   const char *const *env, uint64_t timeout_ms,
		   act_step_fn next);
void act_spawn(struct act *x, const char *const *argv, uint64_t timeout_ms,
	       act_step_fn next);
/* act_spawn_env, but a program that cannot be started reaches next as
 * an exit status 127 (with the reason as its output), called at once,
 * instead of failing the action: for steps with a fallback. */
void act_spawn_fallible(struct act *x, const char *const *argv,
			const char *const *env, uint64_t timeout_ms,
			act_step_fn next);
/* A query on the local Postgres; next gets status 0 and rows, or not. */
typedef void (*act_query_fn)(struct act *x, int status, const char *error,
			     const struct pg_rows *rows);
void act_query(struct act *x, const char *sql, uint64_t timeout_ms,
	       act_query_fn next);
bool act_spawn_ok(struct act *x, const struct spawn_result *r,
		  const char *what);
/* A hook the action waits for (pre_promote), run with Patroni's
 * arguments (hook_cmd.h); next gets its result. */
void act_run_hook(struct act *x, const char *cmd, const char *action,
		  const char *role, act_step_fn next);
/* The end of a promotion or a demotion: the on_role_change callback is
 * started in the background (agent_callback), then act_finish(). */
void act_role_changed(struct act *x, const char *role);
/* pg_ctl start, as a standby or not, waiting for it to accept
 * connections (-w) or not (-W); x->extra_opts go last. */
void act_pg_start(struct act *x, bool standby, bool wait, act_step_fn next);
/* Start as a standby of target ("" for none); finishes once the
 * postmaster runs (or after 10 s, or a fatal line in its log). */
void act_start_following(struct act *x, const char *target);
/* pg_ctl stop -m fast. */
void act_pg_stop(struct act *x, act_step_fn next);

/* agent_act_copy.c: the steps act_run() begins with. */
void act_boot_leased(struct agent *a, bool ok, int status, void *arg);
void act_adopt_leased(struct agent *a, bool ok, int status, void *arg);
void act_init_marked(struct agent *a, int status, void *arg);
void act_basebackup(struct act *x);
/* agent_act_standby.c: a standby leader's copy of the main cluster
 * (pg_basebackup from its hosts), then started following it. */
void act_standby_basebackup(struct act *x);
/* A new primary's Postgres accepts connections (after initdb, an
 * adoption or a restore): the replication role, S/initialize, the
 * history entry, the role change; the action ends. */
void act_boot_primary_up(struct act *x);
/* agent_act_bootstrap.c: the lease taken, the data from a backup
 * (bootstrap_method pgbackrest or custom), recovery to its end, then
 * act_boot_primary_up; on a failure nothing half-made stays. */
void act_bootstrap_restore(struct act *x);
/* bootstrap_method is not initdb, or SCOPE/config is refused (what it
 * says about the bootstrap is unknown: act_bootstrap_restore gives up
 * rather than run initdb where a restore may have been meant). */
bool act_bootstrap_not_initdb(const struct agent *a);
/* agent_act_replica.c: a replica created by the scope's
 * create_replica_methods in order (replica_conf.h), then started
 * following what.target. */
void act_create_replica(struct act *x);
/* A method's run ended: true when it worked (logged replica_created);
 * false when it failed and the next method is on its way.  When it was
 * the last, act_spawn_ok fails the action as before. */
bool act_replica_method_done(struct act *x, const struct spawn_result *r,
			     const char *what);
void act_move_aside(struct act *x, const char *why);
void act_recover(struct act *x);
void act_rewind(struct act *x);
void act_restart_stopped(struct act *x, const struct spawn_result *r);

/* agent_act_follow.c */
void act_repoint(struct act *x);
void act_freeze(struct act *x);
void act_switchover(struct act *x);

/* agent_act_promote.c */
/* The lease taken (or not): the action ends. */
void act_acquired(struct agent *a, bool ok, int status, void *arg);
void act_promote(struct act *x);
void act_reclaimed(struct agent *a, bool ok, int status, void *arg);
/* S/history/TOKEN for this node's new term as the primary. */
void act_history_put(struct agent *a, const char *old, const char *reason,
		     uint64_t since_ms);
/* True when armed (or none is configured); false when the promotion was
 * refused instead (the lease is being released and the action ends). */
bool act_arm_watchdog(struct act *x);

/* agent_act_restart.c: the operator's requests (agent_requests.c) */
void act_pg_restart(struct act *x);
void act_pg_reload(struct act *x);
void act_reinit(struct act *x);

/* agent_act_sync.c */
void act_set_sync(struct act *x);
void act_sync_final(struct agent *a, int status, void *arg);
/* synchronous_standby_names for the names in list ("" for none, or
 * DECIDE_SYNC_NOBODY when strict). */
void act_format_sync(const char *list, int count, bool strict, char *out,
		     size_t cap);

#endif
